"""Managing sessions as a user does: `coi list` (text and code-on-incus's JSON), `kill`, `shutdown`,
`persist`, `file push/pull`, `tmux send/capture/list` (their help and errors as code-on-incus 0.8 has them), and `clean --orphans` after coi was killed with
SIGKILL mid-run leaves no container, mount, cgroup, runtime state or id allocation behind."""
import json
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

import compat_contract
from conftest import coi_runner
from test_shim_run import COI, IMAGE, build_test_image_tar, env, pytestmark  # noqa: F401

CGROUP_PARENT = pathlib.Path("/sys/fs/cgroup/unified/coi")
if not pathlib.Path("/sys/fs/cgroup/unified").is_dir():
    CGROUP_PARENT = pathlib.Path("/sys/fs/cgroup/coi")


@pytest.fixture
def workspace():
    d = pathlib.Path(tempfile.mkdtemp(prefix="coi-ws-", dir="/tmp"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def coi(env, workspace):
    return coi_runner(env, cwd=workspace)


@pytest.fixture
def background(coi):
    """A running persistent session (bash in tmux), killed afterwards; yields its container name."""
    names = []

    def start(*extra):
        r = coi("shell", "--debug", "--background", "--image", IMAGE, *extra)
        name = r.stderr.split("Created background tmux session: coi-")[1].split()[0]
        names.append(name)
        return name

    yield start
    for n in names:
        coi("kill", "-f", n, check=False)


def active(coi):
    return {c["name"]: c for c in json.loads(coi("list", "--format", "json").stdout)["active_containers"]}


def test_list_json_has_code_on_incus_fields(coi, background, workspace):
    name = background("--persistent")
    c = active(coi)[name]
    assert set(c) >= {"name", "status", "created_at", "image", "persistent", "ipv4"}
    assert c["status"] == "Running" and c["image"] == IMAGE and c["persistent"] is True
    assert c["workspace"] == str(workspace)
    assert c["pool"] == "" and c["alias"] == IMAGE
    assert len(c["ipv4"].split(".")) == 4  # its address on coi's bridge
    saved = json.loads(coi("list", "--all", "--format", "json").stdout)["saved_sessions"]
    assert saved and all(set(x) == {"ID", "SavedAt", "Workspace"} for x in saved)
    assert str(workspace) in {x["Workspace"] for x in saved}
    assert "saved_sessions" not in json.loads(coi("list", "--format", "json").stdout)
    assert name in active(coi) and name in coi("-w", "/", "list").stdout  # global flags, either side
    assert coi("list", "-w", "/").stdout == coi("-w", "/", "list").stdout
    text = coi("list").stdout
    assert f"  {name} (persistent)\n    Status: Running" in text
    assert "Saved Sessions:" in coi("list", "-a").stdout


def test_kill_removes_the_container(coi, background):
    name = background()
    r = coi("kill", "-f", name)
    assert f"Killed {name}" in r.stdout
    assert name not in active(coi)


def test_kill_asks_first_for_several(coi, background):
    a, b = background(), background()
    r = coi("kill", a, b, input="n\n")
    assert "Kill 2 container(s)? [y/N]" in r.stdout and "Cancelled." in r.stdout
    assert {a, b} <= set(active(coi))
    r = coi("kill", a, input="")  # one name: at once, as code-on-incus
    assert "[y/N]" not in r.stdout and f"Killed {a}" in r.stdout
    assert a not in active(coi) and b in active(coi)


def test_kill_and_shutdown_of_a_missing_container(coi, background):
    for verb, past in (("kill", "killed"), ("shutdown", "shutdown"), ("persist", "persisted")):
        r = coi(verb, "coi-nonexistent", check=False, input="")
        assert r.returncode == 1, (verb, r.stdout, r.stderr)
        assert "Container coi-nonexistent does not exist" in r.stderr
        assert f"No containers were {past}" in r.stdout
        assert f"failed to {verb} specified containers" in r.stderr
    name = background()
    r = coi("kill", "-f", name, "coi-nonexistent")  # one of them done: success
    assert f"Killed {name}" in r.stdout and "Killed 1 container(s)" in r.stdout
    assert "Container coi-nonexistent does not exist" in r.stderr


def test_shutdown_all(coi, background):
    a, b = background(), background()
    r = coi("shutdown", "-a", "-f", "--timeout", "10")
    assert "Shutdown 2 container(s)" in r.stdout
    assert not {a, b} & set(active(coi))


def test_persist(coi, background):
    name = background()
    assert active(coi)[name]["persistent"] is False
    coi("persist", name)
    assert active(coi)[name]["persistent"] is True


@pytest.fixture
def bare(tmp_path):
    """coi with a HOME and data directory of its own: no container, no saved session."""
    (tmp_path / "home").mkdir()
    e = dict(os.environ, HOME=str(tmp_path / "home"), COI_DATA_DIR=str(tmp_path / "data"))
    return coi_runner(e, cwd=tmp_path)


def test_errors_without_containers(bare):
    """code-on-incus's exit codes and key words (compat_contract.ERROR_CASES)."""
    for verb in ("kill", "shutdown", "persist"):
        r = bare(verb, check=False)
        assert r.returncode == 1 and "no container names provided" in r.stderr and "coi list" in r.stderr
        r = bare(verb, "-a", input="")
        assert "No containers to" in r.stdout
    r = bare("info", check=False)
    assert r.returncode == 1 and "no sessions found" in r.stderr and "coi list --all" in r.stderr
    r = bare("info", "nope", check=False)
    assert r.returncode == 1 and "session not found: nope" in r.stderr
    r = bare("info", "a", "b", check=False)
    assert r.returncode == 1 and "accepts at most 1 arg(s), received 2" in r.stderr
    r = bare("unfreeze", "coi-nonexistent", check=False)
    assert r.returncode == 1 and "not found" in r.stderr
    assert bare("unfreeze").stdout == "No frozen containers\n"
    r = bare("list", "--format", "yaml", check=False)
    assert r.returncode == 2 and "invalid format 'yaml': must be 'text' or 'json'" in r.stderr
    r = bare("list", "--bogus", check=False)
    assert r.returncode == 1 and "unknown flag: --bogus" in r.stderr and "Usage:" in r.stderr
    r = bare("list", "-z", check=False)
    assert r.returncode == 1 and "unknown shorthand flag: 'z' in -z" in r.stderr
    r = bare("shutdown", "--timeout", "soon", "x", check=False)
    assert r.returncode == 1 and 'invalid argument "soon" for "--timeout" flag' in r.stderr


def test_help_and_global_flags_everywhere(bare, tmp_path):
    for cmd in ("list", "info", "kill", "shutdown", "persist", "unfreeze", "clean", "attach", "shell", "run"):
        r = bare(cmd, "--help")
        assert f"Usage:\n  coi {cmd}" in r.stdout and r.stdout == bare(cmd, "-h").stdout
        assert "Global Flags:" in r.stdout and "-w, --workspace" in r.stdout
    assert json.loads(bare("list", "--format", "json", "-w", tmp_path, "--slot", "2").stdout) == \
        {"active_containers": []}
    r = bare("--profile", "nope", "list", check=False)
    assert r.returncode == 1 and "nope" in r.stderr and "not found" in r.stderr
    r = bare("clean", "--pools", "--dry-run")
    assert "storage pool" in r.stdout and "Nothing to clean." in r.stdout


def test_file_push_and_pull(coi, background, tmp_path):
    name = background()
    src = tmp_path / "in.txt"
    src.write_text("pushed\n")
    coi("file", "push", src, f"{name}:/home/code/in.txt")
    r = coi("tmux", "send", name, "stat -c %U:%s ~/in.txt > ~/stat.txt; cp -r /etc/apt ~/aptcopy")
    assert r.returncode == 0
    time.sleep(1)
    coi("file", "pull", f"{name}:/home/code/stat.txt", tmp_path / "stat.txt")
    assert (tmp_path / "stat.txt").read_text() == "code:7\n"
    r = coi("file", "pull", f"{name}:/home/code/aptcopy", tmp_path / "apt", check=False)
    assert r.returncode == 2 and "source is a directory, use -r flag" in r.stderr
    r = coi("file", "push", tmp_path, f"{name}:/home/code/dir", check=False)
    assert r.returncode == 2 and "source is a directory, use -r flag" in r.stderr
    coi("file", "pull", "-r", f"{name}:/home/code/aptcopy", tmp_path / "apt")
    assert (tmp_path / "apt" / "sources.list").exists() or any((tmp_path / "apt").iterdir())


def test_file_pull_does_not_follow_symlinks_out_of_the_container(coi, background, tmp_path):
    name = background()
    coi("tmux", "send", name, "ln -s /../../../../etc/shadow ~/evil")
    time.sleep(1)
    coi("file", "pull", f"{name}:/home/code/evil", tmp_path / "evil", check=False)
    # The link resolves inside the container's root: its own /etc/shadow at most, never the host's.
    if (tmp_path / "evil").exists():
        got = (tmp_path / "evil").read_text()
        assert got != pathlib.Path("/etc/shadow").read_text()
        assert "code:" in got


def test_tmux_send_capture_list(coi, background):
    name = background()
    coi("tmux", "send", name, "echo captured-$((3*5))")
    deadline = time.monotonic() + 10
    while "captured-15" not in coi("tmux", "capture", name).stdout and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "captured-15" in coi("tmux", "capture", name).stdout
    assert f"  - {name} (tmux session: coi-{name})\n" in coi("tmux", "list").stdout
    sessions = json.loads(coi("tmux", "list", "--format", "json").stdout)
    assert {"container": name, "session": f"coi-{name}"} in sessions
    assert all(set(s) == set(compat_contract.JSON_FIELDS[("tmux", "list")]["[]"]) for s in sessions)


FILE_TMUX_COMMANDS = [p for p in compat_contract.COMMANDS if p[:1] in (("file",), ("tmux",))]


@pytest.mark.parametrize("path", FILE_TMUX_COMMANDS, ids=" ".join)
def test_help_of_every_file_and_tmux_command(coi, path):
    spec = compat_contract.COMMANDS[path]
    for h in ("--help", "-h"):
        r = coi(*path, h)
        assert r.stderr == ""
        if spec["group"]:
            assert f"Usage:\n  coi {path[0]} [command]\n" in r.stdout
            assert all(f"  {p[1]} " in r.stdout for p in FILE_TMUX_COMMANDS if len(p) == 2 and p[0] == path[0])
        else:
            assert f"Usage:\n  coi {path[0]} {spec['use']} [flags]\n" in r.stdout
        for short, long, _kind, _default in spec["flags"]:
            assert (f"  -{short}, --{long}" if short else f"      --{long}") in r.stdout
    if spec["group"]:
        assert "Available Commands:" in coi(*path).stdout  # bare: the help, exit 0


@pytest.mark.parametrize("case", [c for c in compat_contract.ERROR_CASES if c["argv"][0] in ("file", "tmux")],
                         ids=lambda c: " ".join(c["argv"]))
def test_file_and_tmux_errors_as_upstream(coi, case):
    r = coi(*case["argv"], check=False)
    assert r.returncode == case["exit"], r.stderr
    assert all(words in r.stderr for words in case["contains"]), r.stderr
    assert len(r.stderr.splitlines()) == 1


def test_file_remote_must_name_a_container_and_an_absolute_path(coi, tmp_path):
    for remote in ("c:relative", ":/abs", "nocolon"):
        r = coi("file", "push", "/etc/hostname", remote, check=False)
        assert r.returncode == 2 and "destination must be in format 'container:path'" in r.stderr
        r = coi("file", "pull", remote, tmp_path / "out", check=False)
        assert r.returncode == 2 and "source must be in format 'container:path'" in r.stderr
    r = coi("file", "push", "/etc/hostname", check=False)
    assert r.returncode == 1 and r.stderr.endswith("coi: accepts 2 arg(s), received 1\n")


def test_tmux_list_without_sessions(coi):
    assert coi("tmux", "list", "--format", "json").stdout == "[]\n"
    assert coi("tmux", "list").stdout == "No active sessions\n"
    r = coi("tmux", "list", "--format", "yaml", check=False)
    assert (r.returncode, r.stderr) == (2, "coi: invalid format 'yaml': must be 'text' or 'json'\n")

def leftovers(env, name):
    data = pathlib.Path(env["COI_DATA_DIR"])
    found = []
    if (data / "containers" / name).exists():
        found.append("container dir")
    if name in pathlib.Path("/proc/self/mountinfo").read_text():
        found.append("mounts")
    if (CGROUP_PARENT / name).exists():
        found.append("cgroup")
    if (pathlib.Path("/run/coi/runtime") / name).exists():
        found.append("runtime state")
    idmap = data / "idmap.json"
    if idmap.exists() and name in json.loads(idmap.read_text()).get("allocations", {}):
        found.append("id allocation")
    return found


def test_clean_orphans_after_kill_9(env, coi, workspace):
    p = subprocess.Popen([str(COI), "run", "--image", IMAGE, "--", "sleep", "300"], cwd=workspace, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    name = None
    while time.monotonic() < deadline and not name:
        running = [n for n, c in active(coi).items() if c["status"] == "Running"]
        name = running[0] if running else None
        time.sleep(0.2)
    assert name
    p.send_signal(signal.SIGKILL)
    p.wait()
    # The container outlives coi: kill it the way a crash of the host user's session would leave it.
    coi("kill", "-f", name)
    # A second crash, harder: coi killed while the container runs, then the container's init too.
    p = subprocess.Popen([str(COI), "run", "--image", IMAGE, "--slot", "3", "--", "sleep", "300"], cwd=workspace,
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    name = None
    while time.monotonic() < deadline and not name:
        running = [n for n, c in active(coi).items() if c["status"] == "Running" and n.endswith("-3")]
        name = running[0] if running else None
        time.sleep(0.2)
    assert name
    p.send_signal(signal.SIGKILL)
    p.wait()
    procs = (CGROUP_PARENT / name / "cgroup.procs")
    if (CGROUP_PARENT / name / "cgroup.kill").exists():
        (CGROUP_PARENT / name / "cgroup.kill").write_text("1")
    deadline = time.monotonic() + 10
    while procs.exists() and time.monotonic() < deadline:
        try:
            if not any(pathlib.Path(d, "cgroup.procs").read_text().strip() for d, _, _ in os.walk(procs.parent)):
                break
        except FileNotFoundError:
            break
        time.sleep(0.1)
    # Wait until the dead init is reaped (the host's pid 1 reaps every few seconds).
    deadline = time.monotonic() + 30
    while active(coi).get(name, {}).get("status") == "Running" and time.monotonic() < deadline:
        time.sleep(0.3)
    assert leftovers(env, name)  # something is left to clean
    dry = coi("clean", "--orphans", "--dry-run")
    assert name in dry.stdout
    assert leftovers(env, name)
    coi("clean", "--orphans", "-f")
    assert leftovers(env, name) == []
    # Cleanup never writes the workspace. What coi itself put there (empty placeholders of the missing
    # protected paths, normally removed when the session ends) stays after a kill -9: empty, nothing else.
    left = sorted(str(p.relative_to(workspace)) for p in workspace.rglob("*"))
    assert set(left) <= {".git", ".git/hooks", ".git/config", ".husky", ".vscode"}
    assert all((workspace / p).is_dir() or (workspace / p).stat().st_size == 0 for p in left)
