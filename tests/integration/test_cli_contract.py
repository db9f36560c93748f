"""coi's command line against code-on-incus 0.8's contract (compat_contract.py): every command coi has
answers --help/-h and refuses an unknown flag as cobra does, every --format refuses a bad value, every
contract command exists (or is named below as missing on purpose), the contract's error cases that need
no container backend, and the global flags before and after the command word.

The commands are found by walking coi's own help ("Available Commands:"), so a command added to the
table is tested without touching this file. Every test has a scratch HOME, COI_DATA_DIR, COI_IMAGES_DIR
and workspace; nothing here starts a container (the image store is empty, so nothing could)."""
import os
import pathlib
import re
import subprocess
import tempfile

import pytest

import compat_contract as contract
from conftest import BUILD, ROOT, coi_runner

COI = BUILD / "shim" / "coi"
COMPAT_MD = ROOT / "docs" / "compat.md"

# Contract commands coi does not have, on purpose, and why. Each must say "differs on purpose" in its
# section of docs/compat.md (checked below); anything else missing is a failure, not an expected one.
MISSING_ON_PURPOSE = {
    ("completion", "powershell"): "coi runs on Linux only; the issue asks for bash, zsh and fish",
}


def scratch_env(root):
    """The environment of a user who has never run coi: everything under root."""
    root = pathlib.Path(root)
    for d in ("home", "data", "images", "ws"):
        (root / d).mkdir(exist_ok=True)
    env = {
        "HOME": str(root / "home"),
        "COI_DATA_DIR": str(root / "data"),
        "COI_IMAGES_DIR": str(root / "images"),
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG": "C.UTF-8",
    }
    # conftest points coi's network state at this run's network namespace; keep that.
    for k in ("COI_NET_STATE_DIR", "COI_NET_RESOLV_CONF"):
        if k in os.environ:
            env[k] = os.environ[k]
    return env


def run_coi(env, *args, cwd=None):
    return subprocess.run([str(COI), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=60)


def available_commands(help_text):
    """The names under "Available Commands:" of a help text."""
    names, inside = [], False
    for line in help_text.splitlines():
        if line == "Available Commands:":
            inside = True
        elif inside and not line.strip():
            break
        elif inside:
            names.append(line.split()[0])
    return names


def usage_lines(help_text):
    """The indented lines of the "Usage:" section."""
    lines = help_text.splitlines()
    if "Usage:" not in lines:
        return []
    out = []
    for line in lines[lines.index("Usage:") + 1:]:
        if not line.startswith("  "):
            break
        out.append(line.strip())
    return out


def walk():
    """Every command path coi lists, from the root's help down, as tuples of words."""
    if not COI.exists():
        return []
    with tempfile.TemporaryDirectory(prefix="coi-contract-walk-") as d:
        env = scratch_env(d)
        paths, todo = [()], [()]
        while todo:
            path = todo.pop(0)
            r = run_coi(env, *path, "--help", cwd=env["HOME"])
            for name in available_commands(r.stdout):
                child = (*path, name)
                if child not in paths and len(child) < 4:
                    paths.append(child)
                    todo.append(child)
        return paths


COI_PATHS = walk()


def ids(path):
    return " ".join(path) or "(root)"


def has_path(env, path):
    """True if `coi PATH --help` is that command's help (an unknown word below a group prints the
    group's help instead, an unknown top-level word fails)."""
    r = run_coi(env, *path, "--help", cwd=env["HOME"])
    want = " ".join(("coi", *path))
    return r.returncode == 0 and any(u == want or u.startswith(want + " ") for u in usage_lines(r.stdout))


@pytest.fixture
def user(tmp_path):
    """coi as a fresh user runs it: scratch HOME/COI_DATA_DIR/COI_IMAGES_DIR, cwd = the workspace."""
    env = scratch_env(tmp_path)
    u = coi_runner(env, cwd=tmp_path / "ws", timeout=60)
    u.home = tmp_path / "home"
    u.ws = tmp_path / "ws"
    return u


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_the_walk_found_the_commands():
    assert COI.exists(), f"{COI} is not built"
    assert ("completion", "bash") in COI_PATHS and ("version",) in COI_PATHS, COI_PATHS


# ---- (a) help and an unknown flag, on every command coi has ----------------------------------------

@pytest.mark.parametrize("path", COI_PATHS, ids=ids)
def test_help(user, path):
    r = user(*path, "--help", check=False)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    out = r.stdout
    # the description first, then a blank line and Usage: naming the command
    assert out.splitlines()[0].strip() and not out.startswith("Usage:"), out
    assert "\n\nUsage:\n" in out, out
    want = " ".join(("coi", *path))
    assert any(u == want or u.startswith(want + " ") for u in usage_lines(out)), out
    assert "  -h, --help " in out, out
    # -h is the same, and so is `coi help PATH`
    h = user(*path, "-h", check=False)
    assert (h.returncode, h.stdout) == (0, out)
    if path:
        h = user("help", *path, check=False)
        assert (h.returncode, h.stdout) == (0, out)


@pytest.mark.parametrize("path", COI_PATHS, ids=ids)
def test_unknown_flag(user, path):
    r = user(*path, "--no-such-flag", check=False)
    assert r.returncode == contract.COBRA_ERROR_EXIT, (r.stdout, r.stderr)
    last = r.stderr.rstrip("\n").splitlines()[-1]
    # coi prefixes its errors with "coi: "; the message itself is cobra's
    assert last.removeprefix("coi: ") == contract.COBRA_ERRORS["unknown_flag"].format(name="no-such-flag"), r.stderr


GROUPS = [p for p in COI_PATHS if p and p in contract.COMMANDS and contract.COMMANDS[p]["group"]]


@pytest.mark.parametrize("path", GROUPS, ids=ids)
def test_bare_group_prints_its_help(user, path):
    r = user(*path, check=False)
    assert (r.returncode, r.stdout) == (contract.HELP_EXIT, user(*path, "--help", check=False).stdout)
    assert r.stdout and r.stderr == ""


# ---- (b) --format yaml ---------------------------------------------------------------------------

def format_argv(path):
    """path with what it needs to reach its --format check: its required arguments."""
    if path == ("container", "exec"):
        return [*path, "c1", "--capture", "--format", "yaml", "--", "ls"]
    rule = contract.COMMANDS[path]["args"]
    n = int(rule.split(":")[1]) if rule.startswith(("exact:", "min:")) else 0
    return [*path, *[f"arg{i}" for i in range(n)], "--format", "yaml"]


@pytest.mark.parametrize("path", [p for p in contract.FORMATS if p not in MISSING_ON_PURPOSE], ids=ids)
def test_bad_format(user, path):
    r = user(*format_argv(path), check=False)
    assert r.returncode == 2, (r.stdout, r.stderr)
    values = contract.FORMATS[path]
    message = (contract.INVALID_EXEC_FORMAT_MESSAGE if values == ("json", "raw") else
               contract.INVALID_FORMAT_MESSAGE).format(value="yaml")
    assert message in r.stderr, r.stderr


# ---- (c) every contract command exists -----------------------------------------------------------

@pytest.mark.parametrize("path", [p for p in contract.COMMANDS if p not in MISSING_ON_PURPOSE], ids=ids)
def test_contract_command_exists(user, path):
    assert has_path(user.env, path), f"coi {' '.join(path)} is missing (add it, or list it in " \
                                     f"MISSING_ON_PURPOSE with docs/compat.md saying why)"


@pytest.mark.parametrize("path", [p for p in contract.COMMANDS if p not in MISSING_ON_PURPOSE and p != ()],
                         ids=ids)
def test_usage_line_is_upstreams(user, path):
    """The Usage: line is cobra's: the path, Use's placeholders, " [flags]" when there are flags."""
    r = user(*path, "--help", check=False)
    spec = contract.COMMANDS[path]
    want = " ".join(("coi", *path[:-1], spec["use"]))
    if spec["group"]:
        want = " ".join(("coi", *path, "[command]"))
    assert want in [u.removesuffix(" [flags]") for u in usage_lines(r.stdout)], r.stdout


@pytest.mark.parametrize("path", list(MISSING_ON_PURPOSE), ids=ids)
def test_missing_on_purpose_is_documented(user, path):
    text = COMPAT_MD.read_text()
    m = re.search(r"^### `coi " + re.escape(" ".join(path)) + r"`\n(.*?)(?=^### |\Z)", text, re.S | re.M)
    assert m, f"docs/compat.md has no section for coi {' '.join(path)}"
    assert "differs on purpose" in m.group(1), m.group(1)
    # and it is still missing: once it exists, drop it from MISSING_ON_PURPOSE
    assert not has_path(user.env, path)


# ---- (d) the contract's error cases that need no container backend -------------------------------

def setup_none(u):
    pass


def setup_cycle(u):
    write(u.home / ".coi/profiles/a/config.toml", 'inherits = "b"\n')
    write(u.home / ".coi/profiles/b/config.toml", 'inherits = "a"\n')


def setup_dup(u):
    write(u.home / ".coi/profiles/dup/config.toml", "")
    write(u.ws / ".coi/profiles/dup/config.toml", "")


def config_file(rel, text):
    def setup(u):
        write(u.home / rel, text)
    return setup


SETUPS = {
    None: setup_none,
    "profiles a and b inheriting from each other": setup_cycle,
    "profile dup in both ~/.coi/profiles and ./.coi/profiles": setup_dup,
    "a .coi.toml in the workspace": lambda u: write(u.ws / ".coi.toml", '[defaults]\nimage = "x"\n'),
    '~/.coi/config.toml: [defaults] image = "x"': config_file(".coi/config.toml", '[defaults]\nimage = "x"\n'),
    "~/.coi/config.toml: [defaults] persistent = true":
        config_file(".coi/config.toml", "[defaults]\npersistent = true\n"),
    '~/.coi/config.toml: [build] script = "b.sh"': config_file(".coi/config.toml", '[build]\nscript = "b.sh"\n'),
    '~/.coi/profiles/old/config.toml: image = "x"': config_file(".coi/profiles/old/config.toml", 'image = "x"\n'),
    "~/.coi/profiles/old/config.toml: persistent = true":
        config_file(".coi/profiles/old/config.toml", "persistent = true\n"),
    '~/.coi/profiles/old/config.toml: [build] script = "b.sh"':
        config_file(".coi/profiles/old/config.toml", '[build]\nscript = "b.sh"\n'),
}

LOCAL_CASES = [c for c in contract.ERROR_CASES if not c["needs_incus"]]


def case_id(c):
    setup = f" [{c['setup']}]" if c["setup"] else ""
    return " ".join(c["argv"]) + setup


@pytest.mark.parametrize("case", LOCAL_CASES, ids=[case_id(c) for c in LOCAL_CASES])
def test_error_case(user, case):
    assert case["setup"] in SETUPS, f"no fixture for the contract's setup {case['setup']!r}: add one to SETUPS"
    SETUPS[case["setup"]](user)
    r = user(*case["argv"], check=False)
    out = r.stdout + r.stderr
    assert r.returncode == case["exit"], out
    for words in case["contains"]:
        assert words in out, out


# ---- (e) global flags before and after the command word ------------------------------------------

def global_flag_args(u, flag):
    short, name, kind, _ = flag
    if name == "profile":
        write(u.home / ".coi/profiles/p/config.toml", "")
        return ["--profile", "p"]
    return {"workspace": ["-w", str(u.ws)], "slot": ["--slot", "2"], "image": ["--image", "x"],
            "persistent": ["--persistent"], "resume": ["--resume=auto"], "continue": ["--continue=auto"]}[name]


@pytest.mark.parametrize("command", [["version"], ["list"]], ids=" ".join)
@pytest.mark.parametrize("flag", contract.PERSISTENT_FLAGS, ids=lambda f: f[1])
def test_global_flag_before_and_after_the_command(user, command, flag):
    args = global_flag_args(user, flag)
    before = user(*args, *command, check=False)
    after = user(*command, *args, check=False)
    assert before.returncode == 0, before.stderr
    assert after.returncode == 0, after.stderr
    assert before.stdout == after.stdout


def test_workspace_flag_both_places(user, tmp_path):
    """The brief's own example: coi -w DIR list and coi list -w DIR."""
    d = tmp_path / "elsewhere"
    d.mkdir()
    before = user("-w", d, "list", check=False)
    after = user("list", "-w", d, check=False)
    assert (before.returncode, after.returncode) == (0, 0), (before.stderr, after.stderr)
    assert before.stdout == after.stdout


def test_resume_alone_takes_no_word(user):
    """--resume alone is --resume=auto: the next word is the command, not the value."""
    r = user("--resume", "version", check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(contract.UPSTREAM["version_line"].format(version="")), r.stdout
