"""`coi container` as scripts written for code-on-incus 0.8 call it: a host directory added to a running
container as a named disk device (there at once, back after a restart, host ids shown as themselves with
--shift, read-only with --readonly), one-line errors, exec's --group, --format raw, --tty and
working-directory default, `exists`/`running` as exit codes, and --help on every subcommand.

Uses the test image of test_shim_run.py; containers are launched without a network."""
import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

import pytest

import compat_contract
from conftest import coi_runner
from test_shim_run import COI, IMAGE, env, pytestmark, workspace  # noqa: F401

NAME = "cmount-1"


@pytest.fixture
def coi(env):
    return coi_runner(env)


@pytest.fixture(scope="module")
def hostbase():
    """Where the host directories live: removed only after the container, whose recorded devices keep
    pointing at them (a start refuses a device whose source is gone, as Incus does)."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="coi-mount-", dir="/tmp"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def box(env, hostbase):
    """A persistent container, running."""
    r = subprocess.run([str(COI), "container", "launch", IMAGE, NAME, "--persistent"], capture_output=True,
                       text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    yield NAME
    subprocess.run([str(COI), "container", "delete", NAME, "--force"], capture_output=True, env=env, timeout=120)


@pytest.fixture
def fresh(env, hostbase):
    """A second persistent container of its own, for tests that stop and restart it (box collects devices
    whose sources other tests remove)."""
    name = "cmount-2"
    r = subprocess.run([str(COI), "container", "launch", IMAGE, name, "--persistent"], capture_output=True,
                       text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    yield name
    subprocess.run([str(COI), "container", "delete", name, "--force"], capture_output=True, env=env, timeout=120)


@pytest.fixture
def hostdir(hostbase, request):
    """A host directory owned by uid/gid 1000 (the image's `code` user) holding a file of 1000's."""
    d = hostbase / request.node.name[5:40]
    d.mkdir(mode=0o755)
    (d / "from-host").write_text("hello\n")
    for p in (d, d / "from-host"):
        os.chown(p, 1000, 1000)
    return d


def owners(coi, path):
    """{file name: "uid:gid"} of a directory inside the container."""
    r = coi("container", "exec", NAME, "--", "sh", "-c", f"cd {path} && stat -c '%n %u:%g' *")
    return dict(line.split() for line in r.stdout.splitlines())


def test_mount_into_a_running_container_is_there_at_once_with_host_ids(coi, box, hostdir):
    r = coi("container", "mount", NAME, "data", hostdir, "/mnt/data")
    assert r.stderr == f"Disk mounted: {hostdir} -> {NAME}:/mnt/data\n"
    assert owners(coi, "/mnt/data") == {"from-host": "1000:1000"}
    coi("container", "exec", NAME, "--user", "1000", "--", "touch", "/mnt/data/by-code")
    coi("container", "exec", NAME, "--", "touch", "/mnt/data/by-root")
    st = {p.name: (p.stat().st_uid, p.stat().st_gid) for p in hostdir.iterdir()}
    assert st == {"from-host": (1000, 1000), "by-code": (1000, 1000), "by-root": (0, 0)}


def test_mount_without_shift_shows_host_ids_as_nobody(coi, box, hostdir):
    coi("container", "mount", NAME, "raw", hostdir, "/mnt/raw", "--shift=false")
    assert owners(coi, "/mnt/raw") == {"from-host": "65534:65534"}


def test_devices_come_back_after_a_restart_and_apply_to_a_stopped_container(coi, box, hostdir):
    coi("container", "mount", NAME, "again", hostdir, "/srv/again")
    coi("container", "stop", NAME)
    other = hostdir / "sub"
    other.mkdir()
    (other / "later").write_text("x")
    r = coi("container", "mount", NAME, "later", other, "/srv/later")
    assert r.stderr == f"Disk mounted: {other} -> {NAME}:/srv/later\n"
    coi("container", "start", NAME)
    assert "from-host" in owners(coi, "/srv/again")
    assert "later" in owners(coi, "/srv/later")


def test_mount_errors_are_one_line(coi, box, hostdir):
    coi("container", "mount", NAME, "dup", hostdir, "/mnt/dup")
    r = coi("container", "mount", NAME, "dup", hostdir, "/mnt/other", check=False)
    assert r.returncode == 1
    assert r.stderr == f"coi: container {NAME} already has a device named dup (/mnt/dup)\n"
    missing = hostdir / "nothing-here"
    r = coi("container", "mount", NAME, "gone", missing, "/mnt/gone", check=False)
    assert r.returncode == 1
    assert r.stderr == f"coi: mount source {missing}: No such file or directory\n"
    r = coi("container", "mount", "no-such-box", "d", hostdir, "/mnt/d", check=False)
    assert r.returncode == 1 and r.stderr == "coi: container no-such-box not found\n"
    r = coi("container", "mount", NAME, "rel", hostdir, "mnt/rel", check=False)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "mnt/rel" in r.stderr
    r = coi("container", "mount", NAME, "d", hostdir, check=False)
    assert r.returncode == 1 and r.stderr.endswith("coi: accepts 4 arg(s), received 3\n")
    # A failed mount leaves no device behind: the name is free.
    coi("container", "mount", NAME, "gone", hostdir, "/mnt/gone")


def test_mount_target_symlink_stays_inside_the_container(coi, box, hostdir):
    """A symlink in the container pointing at a host path resolves inside the container's root."""
    outside = pathlib.Path(tempfile.mkdtemp(prefix="coi-mount-outside-", dir="/tmp"))
    try:
        coi("container", "exec", NAME, "--", "ln", "-sfn", str(outside), "/escape")
        # Dangling inside the container (the path exists only on the host): refused, nothing made.
        r = coi("container", "mount", NAME, "esc", hostdir, "/escape/in", check=False)
        assert r.returncode == 1
        assert r.stderr == f"coi: mount point /escape/in in {NAME}: No such file or directory\n"
        coi("container", "exec", NAME, "--", "mkdir", "-p", str(outside))
        coi("container", "mount", NAME, "esc", hostdir, "/escape/in")
        assert list(outside.iterdir()) == []  # nothing made on the host
        assert "from-host" in owners(coi, f"{outside}/in")  # the container's own directory of that name
    finally:
        shutil.rmtree(outside, ignore_errors=True)


def test_a_device_comes_with_a_session_restart_inside_the_workspace(env, workspace, hostdir):
    e = dict(env, SUDO_UID="1234", SUDO_GID="1234")

    def run(*args, check=True):
        r = subprocess.run([str(COI), *map(str, args)], capture_output=True, text=True, env=e, cwd=workspace,
                           timeout=180)
        assert not check or r.returncode == 0, r.stderr
        return r
    run("run", "--persistent", "--image", IMAGE, "--", "true")
    names = re.findall(r'"name":\s*"(coi-[0-9a-f]{8}-\d+)"', run("list", "--format", "json").stdout)
    assert len(names) == 1
    try:
        run("container", "mount", names[0], "extra", hostdir, "/workspace/extra")
        r = run("run", "--persistent", "--image", IMAGE, "--", "stat", "-c", "%n %u", "/workspace/extra/from-host")
        assert r.stdout.strip() == "/workspace/extra/from-host 1000"
        # the mount point was made through the workspace's idmapped mount: it belongs to the workspace's owner
        assert (workspace / "extra").stat().st_uid == 1234
    finally:
        run("container", "delete", "--force", names[0], check=False)


def test_exec_user_and_group(coi, box):
    def ids(*flags):
        return coi("container", "exec", NAME, *flags, "--", "sh", "-c", "echo $(id -u) $(id -g)").stdout.strip()
    assert ids() == "0 0"
    assert ids("--user", "1000") == "1000 1000"
    assert ids("--group", "5") == "0 5"
    assert ids("--user", "1000", "--group", "5") == "1000 5"
    assert ids("--user", "1000:7") == "1000 7"
    r = coi("container", "exec", NAME, "--group", "x", "--", "true", check=False)
    assert r.returncode == 1 and r.stderr.endswith('coi: invalid argument "x" for "--group" flag: not an integer\n')
    r = coi("container", "exec", NAME, "--user", "code", "--", "true", check=False)
    assert r.returncode == 1 and 'invalid argument "code" for "--user" flag' in r.stderr


def test_exec_capture_raw_passes_output_and_exit_code(coi, box):
    r = coi("container", "exec", NAME, "--capture", "--format", "raw", "--", "sh", "-c",
            "printf 'a  b\\n\\n'; echo oops >&2; exit 3", check=False)
    assert (r.returncode, r.stdout, r.stderr) == (3, "a  b\n\n", "oops\n")
    r = coi("container", "exec", NAME, "--capture", "--format=json", "--", "sh", "-c", "echo hi; exit 4")
    assert '"stdout":"hi\\n"' in r.stdout and '"exit_code":4' in r.stdout
    r = coi("container", "exec", NAME, "--format", "raw", "--", "true", check=False)
    assert (r.returncode, r.stderr) == (2, "coi: --format flag requires --capture flag\n")
    r = coi("container", "exec", NAME, "--capture", "--format", "xml", "--", "true", check=False)
    assert (r.returncode, r.stderr) == (2, "coi: invalid format 'xml': must be 'json' or 'raw'\n")


def test_exec_cwd_defaults_to_workspace_when_there(coi, box):
    pwd = ["--", "pwd"]
    coi("container", "exec", NAME, "--", "rm", "-rf", "/workspace")
    assert coi("container", "exec", NAME, *pwd).stdout == "/\n"
    coi("container", "exec", NAME, "--", "mkdir", "/workspace")
    assert coi("container", "exec", NAME, *pwd).stdout == "/workspace\n"
    assert coi("container", "exec", NAME, "--cwd", "/tmp", *pwd).stdout == "/tmp\n"


def test_mount_readonly(coi, fresh, hostdir):
    coi("container", "mount", fresh, "ro", hostdir, "/mnt/ro", "--readonly")
    r = coi("container", "exec", fresh, "--capture", "--", "sh", "-c", "cat /mnt/ro/from-host; touch /mnt/ro/x")
    out = json.loads(r.stdout)
    assert out["stdout"] == "hello\n" and out["exit_code"] != 0 and "Read-only file system" in out["stderr"]
    assert not (hostdir / "x").exists()
    # Still read-only after a restart (recorded with the device).
    coi("container", "stop", fresh)
    coi("container", "start", fresh)
    r = coi("container", "exec", fresh, "--", "touch", "/mnt/ro/x", check=False)
    assert r.returncode != 0 and "Read-only file system" in r.stderr
    assert not (hostdir / "x").exists()


def test_exists_and_running_answer_with_the_exit_code_alone(coi, fresh):
    def answer(verb, name):
        r = coi("container", verb, name, check=False)
        return r.returncode, r.stdout + r.stderr
    assert answer("exists", fresh) == (0, "")
    assert answer("running", fresh) == (0, "")
    assert answer("exists", "no-such-box") == (1, "")
    assert answer("running", "no-such-box") == (1, "")
    assert answer("exists", "Not_A_Name!") == (1, "")
    coi("container", "stop", fresh)
    assert answer("exists", fresh) == (0, "")
    assert answer("running", fresh) == (1, "")
    r = coi("container", "exists", check=False)
    assert r.returncode == 1 and r.stderr.endswith("coi: accepts 1 arg(s), received 0\n")


def test_exec_tty_uses_this_terminal_and_excludes_capture(coi, box):
    r = coi("container", "exec", "no-such-box", "--tty", "--capture", "--", "ls", check=False)
    assert (r.returncode, r.stderr) == (2, "coi: --tty and --capture flags are mutually exclusive\n")
    # coi's --tty: the command gets our stdio as it is (here pipes, so no terminal inside).
    r = coi("container", "exec", NAME, "-t", "--", "sh", "-c", "read x; echo got $x; test -t 0", input="hi\n",
            check=False)
    assert (r.returncode, r.stdout) == (1, "got hi\n")


CONTAINER_COMMANDS = [p for p in compat_contract.COMMANDS if p[:1] == ("container",)]
# Upstream flags coi leaves out on purpose (docs/compat.md says why).
LEFT_OUT = {("container", "launch"): {"storage"}}


@pytest.mark.parametrize("path", CONTAINER_COMMANDS, ids=" ".join)
def test_help_of_every_container_command(coi, path):
    spec = compat_contract.COMMANDS[path]
    for h in ("--help", "-h"):
        r = coi(*path, h)
        assert r.stderr == ""
        if spec["group"]:
            assert "Usage:\n  coi container [command]\n" in r.stdout
            assert all(f"  {p[1]} " in r.stdout for p in CONTAINER_COMMANDS if len(p) == 2)
        else:
            assert f"Usage:\n  coi container {spec['use']} [flags]\n" in r.stdout
        for short, long, _kind, _default in spec["flags"]:
            if long in LEFT_OUT.get(path, ()):
                assert f"--{long}" not in r.stdout
                continue
            assert (f"  -{short}, --{long}" if short else f"      --{long}") in r.stdout
        assert "Global Flags:" in r.stdout and "-w, --workspace string" in r.stdout
