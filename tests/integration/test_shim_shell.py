"""`coi shell` as a user at a terminal sees it, driven through a host tmux (send-keys / capture-pane):
the agent's tmux session inside the container comes up in the workspace, the session is saved on every
way out (exit, SIGTERM, a lost terminal), --resume brings the saved ~/.claude back (or attaches to the
session's persistent container while it still runs), an agent that exits leaves a shell in its pane, and a
persistent container restarted with `coi container start` gets its workspace mounts back.

The test image has no Claude Code: most tests use --debug (bash instead of the agent) or a stand-in agent
([tool] binary). test_claude_code_login_screen runs the real Claude Code of the coi-default image (built
with `coi build` when it is missing).

Every coi here runs in a network namespace of its own with only lo (no way out): sessions get a network,
and no test may reach a real address. The host tmux uses a socket of its own (other suites on the machine
may restart the default tmux server)."""
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest

from conftest import host_network, coi_runner
from test_shim_run import COI, IMAGE, build_test_image_tar, env, pytestmark, ssh_agent  # noqa: F401

TMUX = shutil.which("tmux")
TMUX_SOCKET = f"coi-tests-{os.getpid()}"
pytestmark = pytestmark + [pytest.mark.skipif(not TMUX, reason="tmux is not installed on the host"),
                           pytest.mark.skipif(not shutil.which("nsenter") or not shutil.which("ip"),
                                              reason="nsenter and ip are needed for an offline network namespace")]


def tmux(*args, **kw):
    return subprocess.run([TMUX, "-L", TMUX_SOCKET, *args], **kw)


@pytest.fixture(scope="module")
def offline(env):
    """A network namespace with only lo for coi (and the sessions' bridge) to run in; yields the
    command prefix. Containers are killed inside it before it goes."""
    name = f"coi-test-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
    state = pathlib.Path(tempfile.mkdtemp(prefix="coi-net-", dir="/tmp"))
    before = env.get("COI_NET_STATE_DIR")
    env["COI_NET_STATE_DIR"] = str(state)
    prefix = ["nsenter", f"--net=/run/netns/{name}"]
    yield prefix
    subprocess.run(prefix + [str(COI), "kill", "-a", "-f"], capture_output=True, env=env, timeout=120)
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    # env outlives this fixture (its own teardown runs coi again): give it back its state directory,
    # or that coi recreates this one after its removal.
    if before is None:
        env.pop("COI_NET_STATE_DIR", None)
    else:
        env["COI_NET_STATE_DIR"] = before
    shutil.rmtree(state, ignore_errors=True)


@pytest.fixture
def run(env, offline, workspace):
    """coi in the offline namespace, in the workspace."""
    return coi_runner(env, cwd=workspace, prefix=offline)


@pytest.fixture
def workspace():
    d = pathlib.Path(tempfile.mkdtemp(prefix="coi-ws-", dir="/tmp"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


class Terminal:
    """A host tmux session standing for the user's terminal."""

    def __init__(self, env, cwd, args, prefix=()):
        self.name = f"coi-test-{uuid.uuid4().hex[:8]}"
        self.log = pathlib.Path(tempfile.mktemp(prefix="coi-shell-", suffix=".log", dir="/tmp"))
        envs = " ".join(f"{k}={v}" for k, v in env.items() if k.startswith("COI_") or k in ("HOME", "SUDO_UID", "SUDO_GID"))
        cmd = f"cd {cwd} && env {envs} {' '.join(prefix)} {COI} {' '.join(args)} 2>{self.log}; echo COI-EXIT=$?; sleep 60"
        tmux("new-session", "-d", "-s", self.name, "-x", "120", "-y", "40", cmd, check=True)

    def send(self, text, enter=True):
        tmux("send-keys", "-t", self.name, text, *(["Enter"] if enter else []), check=True)

    def detach(self):
        """Ctrl+b d: tmux's detach, seen by the tmux inside the container."""
        tmux("send-keys", "-t", self.name, "C-b", "d", check=True)

    def screen(self):
        return tmux("capture-pane", "-t", self.name, "-p", capture_output=True, text=True).stdout

    def wait_for(self, text, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s = self.screen()
            if text in s:
                return s
            time.sleep(0.2)
        pytest.fail(f"{text!r} never appeared on the terminal:\n{self.screen()}\nstderr:\n{self.stderr()}")

    def coi_pid(self):
        """The pid of our `coi shell`: the child of this terminal's shell (never another coi on the host)."""
        pane = int(tmux("display-message", "-p", "-t", self.name, "#{pane_pid}",
                        capture_output=True, text=True, check=True).stdout)
        children = pathlib.Path(f"/proc/{pane}/task/{pane}/children").read_text().split()
        # nsenter execs coi: the same pid
        pids = [int(c) for c in children if pathlib.Path(f"/proc/{c}/comm").read_text().strip() == "coi"]
        assert len(pids) == 1, f"expected one coi under the terminal's shell {pane}, found {pids}"
        return pids[0]

    def stderr(self):
        return self.log.read_text() if self.log.exists() else ""

    def close(self):
        tmux("kill-session", "-t", self.name, capture_output=True)
        self.log.unlink(missing_ok=True)


@pytest.fixture
def terminal(env, workspace, offline):
    opened = []

    def open_(*args, env_=None):
        t = Terminal(env_ or env, workspace, [str(a) for a in args], prefix=offline)
        opened.append(t)
        return t

    yield open_
    for t in opened:
        t.close()


def sessions(env):
    d = pathlib.Path(env["HOME"]) / ".coi" / "sessions-claude"
    return {p.name: json.loads((p / "metadata.json").read_text()) for p in d.iterdir() if not p.name.startswith(".")} \
        if d.exists() else {}


def container_gone(env, name, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = subprocess.run([str(COI), "list", "--format", "json"], capture_output=True, text=True, env=env)
        if name not in r.stdout:
            return True
        time.sleep(0.3)
    return False


def test_shell_shows_prompt_in_workspace_and_saves_on_exit(env, terminal, workspace):
    t = terminal("shell", "--debug", "--image", IMAGE)
    t.wait_for("code@")
    t.send("echo hello-$((6*7)); pwd; echo $TMUX | cut -c1-13")
    t.wait_for("hello-42")
    screen = t.wait_for("/var/tmp/tmux")  # we are inside the container's tmux
    assert "\n/workspace\n" in screen
    t.send("mkdir -p ~/.claude && echo remembered > ~/.claude/note; exit")
    t.wait_for("COI-EXIT=0")
    saved = [m for m in sessions(env).values() if m["workspace"] == str(workspace)]
    assert len(saved) == 1
    meta = saved[0]
    assert meta["container_name"].startswith("coi-") and meta["persistent"] is False
    d = pathlib.Path(env["HOME"]) / ".coi" / "sessions-claude" / meta["session_id"]
    assert (d / ".claude" / "note").read_text() == "remembered\n"
    assert container_gone(env, meta["container_name"])


def test_resume_restores_claude_dir(env, terminal, workspace):
    t = terminal("shell", "--debug", "--image", IMAGE)
    t.wait_for("code@")
    t.send("mkdir -p ~/.claude && echo first-run > ~/.claude/note; exit")
    t.wait_for("COI-EXIT=0")
    first = [m for m in sessions(env).values() if m["workspace"] == str(workspace)]
    assert len(first) == 1
    t2 = terminal("shell", "--debug", "--image", IMAGE, "--resume")
    t2.wait_for("code@")
    t2.send("cat ~/.claude/note")
    t2.wait_for("first-run\r\n".strip())
    t2.send("exit")
    t2.wait_for("COI-EXIT=0")
    again = [m for m in sessions(env).values() if m["workspace"] == str(workspace)]
    assert [m["session_id"] for m in again] == [first[0]["session_id"]]  # the same session, saved again


@pytest.mark.parametrize("how", ["SIGTERM", "lost terminal"])
def test_session_saved_when_interrupted(env, terminal, workspace, how):
    t = terminal("shell", "--debug", "--image", IMAGE)
    t.wait_for("code@")
    t.send("mkdir -p ~/.claude && echo before-interrupt > ~/.claude/note")
    time.sleep(0.5)
    if how == "SIGTERM":
        os.kill(t.coi_pid(), 15)
    else:
        t.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        saved = [m for m in sessions(env).values() if m["workspace"] == str(workspace)]
        d = pathlib.Path(env["HOME"]) / ".coi" / "sessions-claude" / saved[0]["session_id"] if saved else None
        if d and (d / ".claude" / "note").exists():
            break
        time.sleep(0.3)
    assert (d / ".claude" / "note").read_text() == "before-interrupt\n"
    assert container_gone(env, saved[0]["container_name"])


def test_background_then_attach(env, terminal, workspace, run):
    r = run("shell", "--debug", "--background", "--image", IMAGE, "--persistent")
    assert "Created background tmux session: coi-coi-" in r.stderr
    name = r.stderr.split("Created background tmux session: coi-")[1].split()[0]
    try:
        t = terminal("attach", name)
        t.wait_for("code@")
        t.send("echo attached-$((1+1))")
        t.wait_for("attached-2")
        t2 = terminal("shell", "--container", name)  # an existing container: its running session
        t2.wait_for("attached-2")
    finally:
        run("kill", "-f", name, check=False)


def test_shell_command_line(run):
    """As code-on-incus: a word after shell is a mistaken session id; the root has no shell flags."""
    r = run("shell", "abc123", check=False)
    assert r.returncode == 1 and "did you mean --resume=abc123?" in r.stderr
    r = run("--debug", check=False)
    assert r.returncode == 1 and "unknown flag: --debug" in r.stderr
    for args in (("shell", "--container", "coi-nonexistent"), ("attach", "coi-nonexistent")):
        r = run(*args, check=False)
        assert r.returncode == 1 and "container coi-nonexistent not found or not running" in r.stderr
    r = run("shell", "--tool", "vim", check=False)
    assert r.returncode == 2 and 'unknown tool "vim"' in r.stderr
    r = run("shell", "--help")
    assert "Usage:\n  coi shell [flags]" in r.stdout and "--background" in r.stdout


# ---- the agent's pane, --model ---------------------------------------------------------------------

@pytest.fixture
def fake_agent(env, tmp_path_factory):
    """A stand-in for claude ([tool] binary, mounted read-only with --mount): writes its arguments to
    /workspace/agent-args, says something and exits 3. Yields (config env, mount flag)."""
    d = tmp_path_factory.mktemp("agent")
    d.chmod(0o755)
    agent = d / "claude"
    agent.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > /workspace/agent-args\n'
                     'echo "stand-in agent: no credentials"\nexit 3\n')
    agent.chmod(0o755)
    config = d / "config.toml"
    config.write_text('[tool]\nbinary = "/opt/agent/claude"\n')
    return {"COI_CONFIG": str(config)}, f"--mount={d}:/opt/agent:ro", config


def agent_args(workspace, timeout=60):
    f = workspace / "agent-args"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if f.exists() and f.read_text().endswith("\n"):
            return f.read_text().split("\n")[:-1]
        time.sleep(0.2)
    pytest.fail("the agent never started")


def test_agent_exit_leaves_a_shell_in_its_pane(env, terminal, workspace, fake_agent):
    cfg_env, mount, _ = fake_agent
    t = terminal("shell", "--image", IMAGE, mount, env_=dict(env, **cfg_env))
    screen = t.wait_for("[coi] /opt/agent/claude exited with status 3")
    assert "stand-in agent: no credentials" in screen  # what the agent said stays readable
    t.wait_for("code@")
    time.sleep(1)
    assert "COI-EXIT" not in t.screen()  # the session is still there
    t.send("echo still-here-$((40+2)); pwd")
    t.wait_for("still-here-42")
    args = agent_args(workspace)
    assert args[:3] == ["--verbose", "--permission-mode", "bypassPermissions"]
    assert "--session-id" in args and "--model" not in args  # the built-in default model is not passed
    t.send("exit")
    t.wait_for("COI-EXIT=0")


@pytest.mark.parametrize("how", ["flag", "config"])
def test_model_is_passed_when_the_user_sets_it(env, run, workspace, fake_agent, how):
    cfg_env, mount, config = fake_agent
    if how == "config":
        config.write_text(config.read_text() + '[defaults]\nmodel = "claude-opus-4-1"\n')
        extra = []
    else:
        extra = ["--model", "claude-opus-4-1"]
    r = run("shell", "--background", "--image", IMAGE, mount, *extra, extra_env=cfg_env)
    name = r.stderr.split("Created background tmux session: coi-")[1].split()[0]
    try:
        args = agent_args(workspace)
        assert args[args.index("--model") + 1] == "claude-opus-4-1"
    finally:
        run("kill", "-f", name, check=False)


def test_background_agent_gets_context_timezone_and_ssh_agent(env, run, workspace, tmp_path_factory, ssh_agent):
    """The agent of a detached session: its ~/SANDBOX_CONTEXT.md, TZ, and the host's SSH agent, which
    stays reachable after `coi shell --background` returned and is gone with the container."""
    sock, comment, bindir = ssh_agent
    d = tmp_path_factory.mktemp("agent")
    d.chmod(0o755)
    (d / "claude").write_text("#!/bin/sh\n{ cat ~/SANDBOX_CONTEXT.md; echo \"TZ=$TZ\"; /opt/ssh/ssh-add -l; } "
                              "> /workspace/out.tmp 2>&1; mv /workspace/out.tmp /workspace/out\n")
    (d / "claude").chmod(0o755)
    (d / "config.toml").write_text('[tool]\nbinary = "/opt/agent/claude"\n[ssh]\nforward_agent = true\n'
                                   '[timezone]\nmode = "fixed"\nname = "Asia/Tokyo"\n')
    os.chown(workspace, 1234, 1234)
    user = {"SUDO_UID": "1234", "SUDO_GID": "1234", "SSH_AUTH_SOCK": str(sock), "COI_CONFIG": str(d / "config.toml")}
    r = run("shell", "--background", "--image", IMAGE, f"--mount={d}:/opt/agent:ro", f"--mount={bindir}:/opt/ssh:ro",
            extra_env=user)
    name = r.stderr.split("Created background tmux session: coi-")[1].split()[0]
    try:
        deadline = time.monotonic() + 60
        while not (workspace / "out").exists():
            assert time.monotonic() < deadline, "the agent never wrote its report"
            time.sleep(0.2)
        out = (workspace / "out").read_text()
        assert "| Container name | " + name + " |" in out
        assert "| SSH agent | forwarded from the host (SSH_AUTH_SOCK) |" in out
        assert "TZ=Asia/Tokyo" in out
        assert comment in out  # the key of the host's agent, through the relay
    finally:
        run("kill", "-f", name, check=False)
    deadline = time.monotonic() + 10
    while list(pathlib.Path("/run").glob("coi-ssh-*")):
        assert time.monotonic() < deadline, "the SSH agent relay outlived its container"
        time.sleep(0.2)


# ---- persistent sessions: resume while running, restart with `coi container start` -----------------

def test_resume_of_a_running_persistent_session_attaches(env, terminal, workspace, run):
    t = terminal("shell", "--debug", "--persistent", "--image", IMAGE)
    t.wait_for("code@")
    t.send("MARK=first-shell-$((6*7))")
    t.detach()
    t.wait_for("COI-EXIT=0")
    assert "Detached" in t.stderr()
    name = next(m["container_name"] for m in sessions(env).values() if m["workspace"] == str(workspace))
    t2 = terminal("shell", "--debug", "--resume", "--image", IMAGE)
    t2.wait_for("code@")
    t2.send("echo $MARK")
    t2.wait_for("first-shell-42")  # the same shell in the same tmux session: nothing new was started
    assert f"still running in container {name}: attaching" in t2.stderr()
    mine = [c for c in json.loads(run("list", "--format", "json").stdout)["active_containers"]
            if c["name"].startswith(name.rsplit("-", 1)[0] + "-")]
    assert [c["name"] for c in mine] == [name]  # no second slot
    t2.send("exit")
    t2.wait_for("COI-EXIT=0")
    assert f"Stopping persistent container {name}" in t2.stderr()


def test_container_start_brings_the_workspace_mounts_back(env, terminal, workspace, run):
    subprocess.run(["git", "init", "-q", str(workspace)], check=True)
    (workspace / "README").write_text("hello from the host\n")
    t = terminal("shell", "--debug", "--persistent", "--image", IMAGE)
    t.wait_for("code@")
    t.send("exit")
    t.wait_for("COI-EXIT=0")
    name = next(m["container_name"] for m in sessions(env).values() if m["workspace"] == str(workspace))
    assert not (workspace / ".vscode").exists()  # the session's placeholder went with it
    try:
        run("container", "start", name)
        r = run("container", "exec", name, "--user", "1000:1000", "--", "sh", "-c",
                "cat /workspace/README; echo x > /workspace/.git/hooks/pre-commit; echo hooks=$?; "
                "mkdir /workspace/.vscode/x; echo vscode=$?; echo y > /workspace/new-file", check=False)
        assert "hello from the host" in r.stdout, r.stderr
        assert "hooks=0" not in r.stdout and "vscode=0" not in r.stdout  # protected paths still read-only
        assert r.stderr.count("Read-only file system") == 2, r.stderr
        assert not (workspace / ".git/hooks/pre-commit").exists()
        assert (workspace / "new-file").read_text() == "y\n"  # the workspace itself is writable
    finally:
        run("kill", "-f", name, check=False)


def test_container_start_refuses_a_workspace_changed_under_a_mount(env, terminal, workspace, run, tmp_path):
    subprocess.run(["git", "init", "-q", str(workspace)], check=True)
    t = terminal("shell", "--debug", "--persistent", "--image", IMAGE)
    t.wait_for("code@")
    t.send("exit")
    t.wait_for("COI-EXIT=0")
    name = next(m["container_name"] for m in sessions(env).values() if m["workspace"] == str(workspace))
    outside = tmp_path / "outside"
    (outside / "hooks").mkdir(parents=True)
    shutil.rmtree(workspace / ".git")
    (workspace / ".git").symlink_to(outside)  # .git/hooks now leads out of the workspace
    try:
        r = run("container", "start", name, check=False)
        assert r.returncode != 0
        assert "changed since the launch" in r.stderr
    finally:
        run("kill", "-f", name, check=False)


# ---- the real Claude Code ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def default_image():
    """coi-default in the default image store: the one there, else built with the real `coi build`
    (about 4-5 minutes; needs the Debian and npm registries, skipped when they can't be reached)."""
    e = {k: v for k, v in os.environ.items() if k not in ("COI_IMAGES_DIR", "COI_DATA_DIR")}
    if "coi-default" in subprocess.run([str(COI), "image", "list"], capture_output=True, text=True, env=e).stdout:
        return
    # The tests' own network namespace reaches nothing: the build (and this check) use the machine's.
    probe = "import socket, sys; socket.create_connection((sys.argv[1], 443), timeout=10).close()"
    for host in ("deb.debian.org", "registry.npmjs.org"):
        r = subprocess.run(host_network(["/usr/bin/python3", "-c", probe, host]), capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"coi-default is not built and {host} can't be reached to build it: "
                        f"{r.stderr.strip().splitlines()[-1:]}")
    r = subprocess.run(host_network([COI, "build"]), capture_output=True, text=True, env=e, timeout=1800)
    assert r.returncode == 0, f"coi build failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"


def test_claude_code_login_screen(env, terminal, workspace, default_image):
    """`coi shell` in a git repository with no API key: Claude Code comes up in tmux and shows its
    onboarding. With no way out of the namespace its first step (the connectivity check) is what it
    shows; it exits, and the pane stays with its text readable and a shell below it."""
    subprocess.run(["git", "init", "-q", str(workspace)], check=True)
    e = {k: v for k, v in env.items() if k != "COI_IMAGES_DIR"}  # the default store, where coi-default is
    t = terminal("shell", env_=e)
    screen = t.wait_for("Welcome to Claude Code", timeout=180)
    screen = t.wait_for("[coi] claude exited with status", timeout=120)
    # Claude Code's own onboarding (the image takes the newest release from npm): offline, its first step,
    # the connectivity check, is what it shows (2.1.x); a release that went straight on would show its
    # theme or login choice
    assert any(text in screen for text in ("Unable to connect to Anthropic services", "Choose the text style",
                                           "Select login method")), screen
    t.wait_for("code@")
    time.sleep(1)
    assert "COI-EXIT" not in t.screen()
    assert "Welcome to Claude Code" in t.screen()
    t.send("exit")
    t.wait_for("COI-EXIT=0", timeout=60)
