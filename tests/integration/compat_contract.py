# The command-line contract of code-on-incus 0.8 that coi keeps (issue 18), as data.
# Read by the CLI tests and the table-driven CLI; docs/compat.md explains it and lists coi's status.
"""code-on-incus 0.8 command-line contract, as plain data (no logic).

Conventions
-----------
* A command path is a tuple of words after ``coi``: ``()`` is the root,
  ``("container", "exec")`` is ``coi container exec``.
* A flag is ``(short, long, kind, default)``: ``short`` is the one-letter
  shorthand or ``None``; ``long`` has no dashes; ``kind`` is the pflag type
  (``bool``, ``string``, ``int``, ``stringArray``, ``stringSlice``);
  ``default`` is the value upstream declares (the help shows it as
  ``(default "text")`` unless it is the type's zero value).
* ``-h/--help`` is on every command and is not listed per command.
* Exit codes: 0 success; 1 any plain error (cobra's own parse errors included);
  2 the usage errors upstream raises on purpose (bad ``--format`` and the like);
  health uses 0/1/2 for healthy/degraded/unhealthy.
"""

UPSTREAM = {
    "project": "code-on-incus",
    "release": "0.8.1",  # 0.8.0 2026-04-16, 0.8.1 2026-05-07; the CLI did not change between them
    # root.go and schema.go as of this commit: 0.8 command set, before the 0.9 additions
    # (trust/untrust/validate/audit, version --format, build --all, update core/patterns/sigma).
    "reference_commit": "02d5f96c4864dc8814a903e6eccbce27bc8ef48d",
    "binary_name": "coi",
    "version_line": "code-on-incus (coi) v{version}",
    "version_url_line": "https://github.com/mensfeld/code-on-incus",
    "cobra_version_flag_output": "coi version {version}",
}

# Root's persistent flags: accepted by every command, before or after the subcommand word.
PERSISTENT_FLAGS = (
    ("w", "workspace", "string", "."),
    (None, "slot", "int", 0),
    (None, "image", "string", ""),
    (None, "persistent", "bool", False),
    (None, "resume", "string", ""),
    (None, "continue", "string", ""),
    (None, "profile", "string", ""),
)

# Flags that take an optional value (pflag NoOptDefVal): "--resume" alone means "--resume=auto";
# a value must then be attached with "=", a following word is not taken as the value.
NO_OPT_DEFAULTS = {
    "resume": "auto",
    "continue": "auto",
}

# Flags on the root only (not inherited by subcommands).
ROOT_LOCAL_FLAGS = (
    ("v", "version", "bool", False),
)

# Every command path of 0.8. Keys of each entry:
#   use      cobra's Use line (name + argument placeholders), shown in "Usage:"
#   purpose  one line, our words (coi may print its own wording)
#   group    True when the command only holds subcommands (bare: prints its help, exit 0)
#   args     cobra argument rule: none | any | exact:N | min:N | max:N | range:A-B
#   flags    local flags (see module docstring)
#   aliases  other names the command answers to
#   hidden   not listed in the parent's help
COMMANDS = {
    (): dict(
        use="coi", purpose="Start an interactive session (same as coi shell)", group=False,
        args="any", flags=(), aliases=(), hidden=False),
    ("attach",): dict(
        use="attach [container-name]", purpose="Attach to a running session's tmux", group=False,
        args="any",
        flags=((None, "bash", "bool", False), (None, "slot", "int", 0)),
        aliases=(), hidden=False),
    ("build",): dict(
        use="build", purpose="Build the default image or a profile's image", group=False,
        args="none",
        flags=(("f", "force", "bool", False), (None, "compression", "string", "")),
        aliases=(), hidden=False),
    ("clean",): dict(
        use="clean", purpose="Remove stopped containers, saved sessions and orphaned resources",
        group=False, args="any",
        flags=(("a", "all", "bool", False), ("f", "force", "bool", False),
               (None, "sessions", "bool", False), (None, "orphans", "bool", False),
               (None, "pools", "bool", False), (None, "dry-run", "bool", False)),
        aliases=(), hidden=False),
    ("completion",): dict(
        use="completion", purpose="Print a shell completion script", group=True,
        args="none", flags=(), aliases=(), hidden=False),
    ("completion", "bash"): dict(
        use="bash", purpose="Completion script for bash", group=False, args="none",
        flags=((None, "no-descriptions", "bool", False),), aliases=(), hidden=False),
    ("completion", "zsh"): dict(
        use="zsh", purpose="Completion script for zsh", group=False, args="none",
        flags=((None, "no-descriptions", "bool", False),), aliases=(), hidden=False),
    ("completion", "fish"): dict(
        use="fish", purpose="Completion script for fish", group=False, args="none",
        flags=((None, "no-descriptions", "bool", False),), aliases=(), hidden=False),
    ("completion", "powershell"): dict(
        use="powershell", purpose="Completion script for PowerShell", group=False, args="none",
        flags=((None, "no-descriptions", "bool", False),), aliases=(), hidden=False),
    ("container",): dict(
        use="container", purpose="Low-level container operations", group=True,
        args="none", flags=(), aliases=(), hidden=False),
    ("container", "launch"): dict(
        use="launch <image> <name>", purpose="Create and start a container from an image",
        group=False, args="exact:2",
        flags=((None, "ephemeral", "bool", False), ("s", "storage", "string", "")),
        aliases=(), hidden=False),
    ("container", "start"): dict(
        use="start <name>", purpose="Start a stopped container", group=False, args="exact:1",
        flags=(), aliases=(), hidden=False),
    ("container", "stop"): dict(
        use="stop <name>", purpose="Stop a running container", group=False, args="exact:1",
        flags=(("f", "force", "bool", False),), aliases=(), hidden=False),
    ("container", "delete"): dict(
        use="delete <name>", purpose="Delete a container", group=False, args="exact:1",
        flags=(("f", "force", "bool", False),), aliases=(), hidden=False),
    ("container", "exec"): dict(
        use="exec <name> -- <command>", purpose="Run a command in a container", group=False,
        args="min:2",
        flags=((None, "user", "int", 0), (None, "group", "int", 0),
               (None, "env", "stringArray", []), (None, "cwd", "string", ""),
               (None, "capture", "bool", False), (None, "format", "string", "json"),
               ("t", "tty", "bool", False)),
        aliases=(), hidden=False),
    ("container", "exists"): dict(
        use="exists <name>", purpose="Exit 0 if the container exists, else 1", group=False,
        args="exact:1", flags=(), aliases=(), hidden=False),
    ("container", "running"): dict(
        use="running <name>", purpose="Exit 0 if the container runs, else 1", group=False,
        args="exact:1", flags=(), aliases=(), hidden=False),
    ("container", "mount"): dict(
        use="mount <name> <device-name> <source> <path>",
        purpose="Add a host directory to a container as a disk device", group=False,
        args="exact:4",
        flags=((None, "shift", "bool", True), (None, "readonly", "bool", False)),
        aliases=(), hidden=False),
    ("container", "list"): dict(
        use="list", purpose="List all containers (raw)", group=False, args="any",
        flags=((None, "format", "string", "text"),), aliases=(), hidden=False),
    ("container", "info"): dict(
        use="info <name>", purpose="Show one container's details", group=False, args="exact:1",
        flags=((None, "format", "string", "text"),), aliases=(), hidden=False),
    ("file",): dict(
        use="file", purpose="Copy files into and out of containers", group=True, args="none",
        flags=(), aliases=(), hidden=False),
    ("file", "push"): dict(
        use="push <local-path> <container>:<remote-path>",
        purpose="Copy a host file or directory into a container", group=False, args="exact:2",
        flags=(("r", "recursive", "bool", False),), aliases=(), hidden=False),
    ("file", "pull"): dict(
        use="pull <container>:<remote-path> <local-path>",
        purpose="Copy a file or directory out of a container", group=False, args="exact:2",
        flags=(("r", "recursive", "bool", False),), aliases=(), hidden=False),
    ("health",): dict(
        use="health", purpose="Check the host's dependencies and setup", group=False,
        args="any",
        flags=((None, "format", "string", "text"), ("v", "verbose", "bool", False)),
        aliases=(), hidden=False),
    ("help",): dict(
        use="help [command]", purpose="Help for any command", group=False, args="any",
        flags=(), aliases=(), hidden=False),
    ("image",): dict(
        use="image", purpose="Manage images", group=True, args="none", flags=(),
        aliases=(), hidden=False),
    ("image", "list"): dict(
        use="list", purpose="List images", group=False, args="any",
        flags=(("a", "all", "bool", False), (None, "prefix", "string", ""),
               (None, "format", "string", "text")),
        aliases=(), hidden=False),
    ("image", "publish"): dict(
        use="publish <container> <alias>", purpose="Turn a stopped container into an image",
        group=False, args="exact:2",
        flags=((None, "description", "string", ""), (None, "compression", "string", "")),
        aliases=(), hidden=False),
    ("image", "delete"): dict(
        use="delete <alias>", purpose="Delete an image", group=False, args="exact:1",
        flags=(), aliases=(), hidden=False),
    ("image", "exists"): dict(
        use="exists <alias>", purpose="Exit 0 if the image exists, else 1", group=False,
        args="exact:1", flags=(), aliases=(), hidden=False),
    ("image", "cleanup"): dict(
        use="cleanup <prefix>", purpose="Keep only the newest N versions of an image family",
        group=False, args="exact:1",
        flags=((None, "keep", "int", 0),), aliases=(), hidden=False),
    ("image", "info"): dict(
        use="info <alias>", purpose="Show one image's details", group=False, args="exact:1",
        flags=((None, "format", "string", "text"),), aliases=(), hidden=False),
    ("info",): dict(
        use="info [session-id]", purpose="Show a saved session (default: the newest)",
        group=False, args="max:1", flags=(), aliases=(), hidden=False),
    ("kill",): dict(
        use="kill [container-name...]", purpose="Force-stop and delete containers", group=False,
        args="any",
        flags=(("f", "force", "bool", False), ("a", "all", "bool", False)),
        aliases=(), hidden=False),
    ("list",): dict(
        use="list", purpose="List active containers (and saved sessions with --all)",
        group=False, args="any",
        flags=(("a", "all", "bool", False), (None, "format", "string", "text")),
        aliases=(), hidden=False),
    ("monitor",): dict(
        use="monitor [container]", purpose="Show a container's security monitoring snapshot",
        group=False, args="any",
        flags=((None, "format", "string", "text"), (None, "json", "bool", False),
               (None, "watch", "int", 0)),
        aliases=(), hidden=False),
    ("persist",): dict(
        use="persist [container-name...]", purpose="Make ephemeral containers persistent",
        group=False, args="any",
        flags=(("f", "force", "bool", False), ("a", "all", "bool", False)),
        aliases=(), hidden=False),
    ("profile",): dict(
        use="profile", purpose="Manage profiles", group=True, args="none", flags=(),
        aliases=(), hidden=False),
    ("profile", "list"): dict(
        use="list", purpose="List profiles", group=False, args="any",
        flags=((None, "format", "string", "text"),), aliases=(), hidden=False),
    ("profile", "info"): dict(
        use="info <name>", purpose="Show a profile's settings", group=False, args="exact:1",
        flags=(), aliases=(), hidden=False),
    ("profile", "show"): dict(
        use="show <name>", purpose="Old name of profile info", group=False, args="exact:1",
        flags=(), aliases=(), hidden=True),
    ("profile", "create"): dict(
        use="create <name>", purpose="Create a profile directory with a config.toml",
        group=False, args="exact:1",
        flags=((None, "image", "string", ""), (None, "inherits", "string", ""),
               (None, "persistent", "bool", False), (None, "user", "bool", False),
               (None, "project", "bool", False)),
        aliases=(), hidden=False),
    ("profile", "edit"): dict(
        use="edit <name>", purpose="Open a profile's config.toml in the editor", group=False,
        args="exact:1", flags=(), aliases=(), hidden=False),
    ("profile", "delete"): dict(
        use="delete <name>", purpose="Delete a profile directory", group=False, args="exact:1",
        flags=(("f", "force", "bool", False),), aliases=(), hidden=False),
    ("run",): dict(
        use="run <command> [args...]", purpose="Run a command in an ephemeral container",
        group=False, args="min:1", flags=(), aliases=(), hidden=False),
    ("schema",): dict(
        use="schema", purpose="Print JSON Schemas of the configuration formats", group=True,
        args="none", flags=(), aliases=(), hidden=False),
    ("schema", "profile"): dict(
        use="profile", purpose="Print the JSON Schema of a profile config.toml", group=False,
        args="any", flags=(), aliases=(), hidden=False),
    ("shell",): dict(
        use="shell", purpose="Start an interactive AI coding session", group=False,
        args="max:1",
        flags=((None, "debug", "bool", False), (None, "background", "bool", False),
               (None, "tmux", "bool", True), (None, "container", "string", ""),
               (None, "tool", "string", "")),
        aliases=(), hidden=False),
    ("shutdown",): dict(
        use="shutdown [container-name...]", purpose="Stop containers gracefully, then delete them",
        group=False, args="any",
        flags=(("f", "force", "bool", False), ("a", "all", "bool", False),
               (None, "timeout", "int", 60)),
        aliases=(), hidden=False),
    ("snapshot",): dict(
        use="snapshot", purpose="Manage container snapshots", group=True, args="none",
        flags=(), aliases=(), hidden=False),
    ("snapshot", "create"): dict(
        use="create [name]", purpose="Snapshot a container", group=False, args="max:1",
        flags=(("c", "container", "string", ""), (None, "stateful", "bool", False)),
        aliases=(), hidden=False),
    ("snapshot", "list"): dict(
        use="list", purpose="List a container's snapshots", group=False, args="any",
        flags=(("c", "container", "string", ""), (None, "format", "string", "text"),
               ("a", "all", "bool", False)),
        aliases=(), hidden=False),
    ("snapshot", "restore"): dict(
        use="restore <name>", purpose="Roll a stopped container back to a snapshot",
        group=False, args="exact:1",
        flags=(("c", "container", "string", ""), ("f", "force", "bool", False),
               (None, "stateful", "bool", False)),
        aliases=(), hidden=False),
    ("snapshot", "delete"): dict(
        use="delete <name>", purpose="Delete a snapshot (or all with --all)", group=False,
        args="max:1",
        flags=(("c", "container", "string", ""), ("f", "force", "bool", False),
               ("a", "all", "bool", False)),
        aliases=(), hidden=False),
    ("snapshot", "info"): dict(
        use="info <name>", purpose="Show one snapshot's details", group=False, args="exact:1",
        flags=(("c", "container", "string", ""), (None, "format", "string", "text")),
        aliases=(), hidden=False),
    ("tmux",): dict(
        use="tmux", purpose="Talk to the agents' tmux sessions", group=True, args="none",
        flags=(), aliases=(), hidden=False),
    ("tmux", "send"): dict(
        use="send <session-name> <command>", purpose="Type a command into a session",
        group=False, args="exact:2", flags=(), aliases=(), hidden=False),
    ("tmux", "capture"): dict(
        use="capture <session-name>", purpose="Print a session's current screen", group=False,
        args="exact:1", flags=(), aliases=(), hidden=False),
    ("tmux", "list"): dict(
        use="list", purpose="List the running agents' tmux sessions", group=False, args="any",
        flags=((None, "format", "string", "text"),), aliases=(), hidden=False),
    ("unfreeze",): dict(
        use="unfreeze [container-name]",
        purpose="Thaw a frozen container (no name: every frozen one)", group=False,
        args="max:1", flags=(), aliases=(), hidden=False),
    ("update",): dict(
        use="update", purpose="Check for and install a newer release", group=False, args="any",
        flags=((None, "check", "bool", False), ("f", "force", "bool", False)),
        aliases=(), hidden=False),
    ("version",): dict(
        use="version", purpose="Print the version", group=False, args="any", flags=(),
        aliases=(), hidden=False),
}

# Hidden flags (accepted, not shown in help).
HIDDEN_FLAGS = {
    ("update",): ((None, "version", "string", ""),),
}

# Flags cobra insists on (missing: 'required flag(s) "keep" not set', exit 1).
REQUIRED_FLAGS = {
    ("image", "cleanup"): ("keep",),
}

# Commands with --format and the values each accepts. Any other value: exit 2 and a message
# containing "invalid format". No command of 0.8 accepts "table" (image list dropped it in 0.8.0).
FORMATS = {
    ("list",): ("text", "json"),
    ("container", "list"): ("text", "json"),
    ("container", "info"): ("text", "json"),
    ("container", "exec"): ("json", "raw"),  # only together with --capture
    ("image", "list"): ("text", "json"),
    ("image", "info"): ("text", "json"),
    ("health",): ("text", "json"),
    ("monitor",): ("text", "json"),
    ("profile", "list"): ("text", "json"),
    ("snapshot", "list"): ("text", "json"),
    ("snapshot", "info"): ("text", "json"),
    ("tmux", "list"): ("text", "json"),
}

# Upstream's message for a bad --format (exit 2); {value} is what the user gave.
INVALID_FORMAT_MESSAGE = "invalid format '{value}': must be 'text' or 'json'"
INVALID_EXEC_FORMAT_MESSAGE = "invalid format '{value}': must be 'json' or 'raw'"

# JSON documents scripts read (field names exactly; "?" = left out when empty/unknown).
JSON_FIELDS = {
    ("list",): {
        "top": ("active_containers", "saved_sessions?"),
        "active_containers[]": ("name", "status", "created_at", "image", "persistent", "ipv4",
                                "pool", "alias", "workspace?"),
        # Go struct without json tags: the keys are the Go field names.
        "saved_sessions[]": ("ID", "SavedAt", "Workspace"),
    },
    ("profile", "list"): {
        "[]": ("name", "image", "persistent", "inherits?", "source?"),
    },
    ("tmux", "list"): {
        "[]": ("container", "session"),
    },
    ("snapshot", "list"): {
        "top": ("container", "snapshots"),
    },
    ("container", "exec"): {  # with --capture (json)
        "top": ("stdout", "stderr", "exit_code"),
    },
    ("image", "publish"): {
        "top": ("fingerprint", "alias"),
    },
    ("health",): {
        "top": ("status", "checks", "summary"),
    },
}

# COI_* (and legacy) environment variables 0.8 reads.
ENVIRONMENT = (
    "COI_CONFIG",             # an extra config file, trusted
    "COI_CONTAINER",          # snapshot/monitor: the container when -c/arg is not given
    "COI_CONTAINER_PREFIX",   # container name prefix (default "coi-")
    "COI_LIMIT_CPU", "COI_LIMIT_CPU_ALLOWANCE", "COI_LIMIT_MEMORY", "COI_LIMIT_MEMORY_SWAP",
    "COI_LIMIT_DISK_READ", "COI_LIMIT_DISK_WRITE", "COI_LIMIT_DURATION",
    "COI_USE_DUMMY",          # test hook: a dummy agent instead of the real one
    "CLAUDE_ON_INCUS_IMAGE", "CLAUDE_ON_INCUS_PERSISTENT",
    "CLAUDE_ON_INCUS_SESSIONS_DIR", "CLAUDE_ON_INCUS_STORAGE_DIR",
)

# How cobra (as configured by 0.8) reports errors it finds itself. All exit 1. For flag and
# argument errors the command's usage block goes to stderr first, then the message line; an
# unknown command prints only the message. No "Error: " prefix (the root silences cobra's
# own printing and main prints the bare error).
COBRA_ERRORS = {
    "unknown_flag": "unknown flag: --{name}",
    "unknown_shorthand": "unknown shorthand flag: '{c}' in -{c}",
    "missing_value": "flag needs an argument: --{name}",
    "missing_short_value": "flag needs an argument: '{c}' in -{c}",
    "bad_int": 'invalid argument "{value}" for "--{name}" flag',
    "unknown_command": 'unknown command "{word}" for "{path}"',
    "exact_args": "accepts {n} arg(s), received {got}",
    "min_args": "requires at least {n} arg(s), only received {got}",
    "max_args": "accepts at most {n} arg(s), received {got}",
    "no_args": 'unknown command "{word}" for "{path}"',
    "required_flag": 'required flag(s) "{name}" not set',
}
COBRA_ERROR_EXIT = 1

# The error behaviour issue 18 names, as upstream 0.8 has it. Keys:
#   argv          words after "coi"
#   setup         what the test prepares first (None: a fresh HOME and workspace)
#   exit          upstream's exit code
#   contains      key words that must appear in stdout+stderr (upstream's wording)
#   needs_incus   True when upstream gets there only with a container backend present
ERROR_CASES = (
    dict(argv=["kill", "coi-nonexistent"], setup=None, exit=1,
         contains=["does not exist", "No containers were killed",
                   "failed to kill specified containers"], needs_incus=True),
    dict(argv=["shutdown", "coi-nonexistent"], setup=None, exit=1,
         contains=["does not exist", "No containers were shutdown",
                   "failed to shutdown specified containers"], needs_incus=True),
    dict(argv=["kill"], setup=None, exit=1,
         contains=["no container names provided", "coi list"], needs_incus=False),
    dict(argv=["shutdown"], setup=None, exit=1,
         contains=["no container names provided", "coi list"], needs_incus=False),
    dict(argv=["persist"], setup=None, exit=1,
         contains=["no container names provided", "coi list"], needs_incus=False),
    dict(argv=["tmux", "send", "coi-nonexistent", "echo hi"], setup=None, exit=1,
         contains=["container coi-nonexistent is not running"], needs_incus=True),
    dict(argv=["tmux", "capture", "coi-nonexistent"], setup=None, exit=1,
         contains=["container coi-nonexistent is not running"], needs_incus=True),
    dict(argv=["info"], setup=None, exit=1,
         contains=["no sessions found", "coi list --all"], needs_incus=False),
    dict(argv=["info", "nope"], setup=None, exit=1,
         contains=["session not found: nope"], needs_incus=False),
    dict(argv=["attach", "coi-nonexistent"], setup=None, exit=1,
         contains=["not found or not running"], needs_incus=True),
    dict(argv=["unfreeze", "coi-nonexistent"], setup=None, exit=1,
         contains=["not found"], needs_incus=True),
    dict(argv=["file", "push", "/etc/hostname", "nocolon"], setup=None, exit=2,
         contains=["destination must be in format 'container:path'"], needs_incus=False),
    dict(argv=["file", "pull", "nocolon", "out"], setup=None, exit=2,
         contains=["source must be in format 'container:path'"], needs_incus=False),
    dict(argv=["container", "exec", "c1", "--tty", "--capture", "--", "ls"], setup=None, exit=2,
         contains=["--tty and --capture flags are mutually exclusive"], needs_incus=False),
    dict(argv=["container", "exec", "c1", "--format", "raw", "--", "ls"], setup=None, exit=2,
         contains=["--format flag requires --capture flag"], needs_incus=False),
    dict(argv=["container", "exec", "c1", "--capture", "--format", "yaml", "--", "ls"],
         setup=None, exit=2, contains=["invalid format 'yaml'", "'json' or 'raw'"],
         needs_incus=False),
    dict(argv=["image", "cleanup", "pfx", "--keep", "0"], setup=None, exit=2,
         contains=["--keep must be > 0"], needs_incus=False),
    dict(argv=["image", "cleanup", "pfx"], setup=None, exit=1,
         contains=['required flag(s) "keep" not set'], needs_incus=False),
    dict(argv=["image", "list", "--prefix", "no-such-prefix-"], setup=None, exit=0,
         contains=["No images found with prefix 'no-such-prefix-'"], needs_incus=True),
    dict(argv=["build", "--profile", "MISSING"], setup=None, exit=1,
         contains=["MISSING", "not found"], needs_incus=False),
    dict(argv=["build"], setup="a profile whose [container.build] base image does not exist",
         exit=1, contains=["build failed"], needs_incus=True),
    dict(argv=["--profile", "nope", "list"], setup=None, exit=1,
         contains=["nope", "not found"], needs_incus=False),
    dict(argv=["profile", "info", "nope"], setup=None, exit=1,
         contains=["profile 'nope' not found"], needs_incus=False),
    dict(argv=["profile", "create", "x", "--user", "--project"], setup=None, exit=1,
         contains=["--user and --project are mutually exclusive"], needs_incus=False),
    dict(argv=["profile", "create", "default"], setup=None, exit=1,
         contains=["reserved"], needs_incus=False),
    dict(argv=["profile", "list"], setup="profiles a and b inheriting from each other", exit=1,
         contains=["profile inheritance cycle detected"], needs_incus=False),
    dict(argv=["profile", "list"],
         setup="profile dup in both ~/.coi/profiles and ./.coi/profiles", exit=1,
         contains=['profile "dup" defined in multiple locations'], needs_incus=False),
    dict(argv=["list"], setup="a .coi.toml in the workspace", exit=1,
         contains=[".coi.toml", ".coi/config.toml", "mkdir -p .coi && mv .coi.toml .coi/config.toml"],
         needs_incus=False),
    dict(argv=["list"], setup='~/.coi/config.toml: [defaults] image = "x"', exit=1,
         contains=["config error in", '[defaults] image = "x" is no longer supported in 0.8.0',
                   "Move it under [container]"], needs_incus=False),
    dict(argv=["list"], setup="~/.coi/config.toml: [defaults] persistent = true", exit=1,
         contains=["[defaults] persistent = true is no longer supported in 0.8.0",
                   "Move it under [container]"], needs_incus=False),
    dict(argv=["list"], setup='~/.coi/config.toml: [build] script = "b.sh"', exit=1,
         contains=["Top-level [build] is no longer supported in 0.8.0",
                   "[container.build]"], needs_incus=False),
    dict(argv=["list"], setup='~/.coi/profiles/old/config.toml: image = "x"', exit=1,
         contains=["profile error in", 'Root-level image = "x" is no longer supported in 0.8.0',
                   "Move it under [container]"], needs_incus=False),
    dict(argv=["list"], setup="~/.coi/profiles/old/config.toml: persistent = true", exit=1,
         contains=["Root-level persistent = true is no longer supported in 0.8.0"],
         needs_incus=False),
    dict(argv=["list"], setup='~/.coi/profiles/old/config.toml: [build] script = "b.sh"', exit=1,
         contains=["Root-level [build] is no longer supported in 0.8.0", "[container.build]"],
         needs_incus=False),
    dict(argv=["health"], setup='~/.coi/config.toml: [defaults] image = "x"', exit=None,
         contains=[], needs_incus=True),  # health runs on defaults when the config is broken
    dict(argv=["list", "--format", "yaml"], setup=None, exit=2,
         contains=["invalid format 'yaml'"], needs_incus=False),
    dict(argv=["list", "--bogus"], setup=None, exit=1,
         contains=["unknown flag: --bogus", "Usage:"], needs_incus=False),
    dict(argv=["list", "-z"], setup=None, exit=1,
         contains=["unknown shorthand flag: 'z' in -z"], needs_incus=False),
    dict(argv=["bogus"], setup=None, exit=1,
         contains=['unknown command "bogus" for "coi"'], needs_incus=False),
)

# --help / -h: help text on stdout, exit 0, for every path in COMMANDS (groups list their
# subcommands under "Available Commands:"); a bare group prints the same help, exit 0.
HELP_EXIT = 0
