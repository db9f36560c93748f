"""coi-runtime as an OCI runtime, driven like runc: run, create/start/state/kill/delete, exec, pause,
list/ps, failures that must leave nothing behind, config errors, features, cgroup limits on this host.

Every test has its own --root under /tmp and unique container ids; fixtures delete -f what is left,
remove the state root and the containers' cgroups under /sys/fs/cgroup/unified even when a test fails.
"""
import ctypes
import json
import os
import pathlib
import shutil
import signal
import subprocess
import time
import uuid

import pytest

from bundle import CGROUP2, pid_alive, wait_for

def sleeper(args=("sleep", "300"), **extra):
    cfg = {"process": {"args": list(args)}}
    cfg.update(extra)
    return cfg


def assert_nothing_left(rt, cid, pid=None):
    assert not (rt.root / cid).exists(), f"state directory {rt.root / cid} is left"
    assert not (CGROUP2 / cid).exists(), f"cgroup {CGROUP2 / cid} is left"
    assert cid not in rt.ids()
    if pid:
        assert not pid_alive(pid), f"process {pid} is still alive"


# ---- run ----------------------------------------------------------------------------------------

def test_run_prints_output_and_exits_0(rt, bundle, ids):
    cid = ids()
    r = rt("run", "--bundle", bundle({"process": {"args": ["echo", "hello from the container"]}}), cid)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hello from the container\n"
    assert_nothing_left(rt, cid)


def test_run_exits_with_the_container_exit_code(rt, bundle, ids):
    cid = ids()
    r = rt("run", "-b", bundle({"process": {"args": ["sh", "-c", "exit 3"]}}), cid)
    assert r.returncode == 3, r.stderr
    assert_nothing_left(rt, cid)


def test_run_killed_container_exits_128_plus_signal(rt, bundle, ids):
    cid = ids()
    p = subprocess.Popen(rt.cmd("run", "-b", bundle(sleeper()), cid), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: rt("state", cid).returncode == 0 and rt.state(cid)["status"] == "running",
                 what="the container to run")
        rt("kill", cid, "KILL", check=True)
        out, err = p.communicate(timeout=20)
        assert p.returncode == 128 + signal.SIGKILL, err
    finally:
        p.kill()
        p.wait()


def test_run_forwards_signals_to_the_container(rt, bundle, ids):
    cid = ids()
    script = "trap 'echo got TERM; exit 42' TERM; while true; do sleep 0.1; done"
    p = subprocess.Popen(rt.cmd("run", "-b", bundle({"process": {"args": ["sh", "-c", script]}}), cid),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: rt("state", cid).returncode == 0 and rt.state(cid)["status"] == "running",
                 what="the container to run")
        time.sleep(0.3)  # let sh install its trap
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=20)
        assert p.returncode == 42, err
        assert "got TERM" in out
    finally:
        p.kill()
        p.wait()


def test_run_detached_then_delete_force(rt, bundle, ids):
    cid = ids()
    rt("run", "-d", "-b", bundle(sleeper()), cid, check=True)
    st = rt.state(cid)
    assert st["status"] == "running"
    assert pid_alive(st["pid"])
    assert (CGROUP2 / cid).is_dir()
    rt("delete", "--force", cid, check=True)
    assert_nothing_left(rt, cid, st["pid"])


# ---- lifecycle ------------------------------------------------------------------------------------

def test_create_start_kill_delete_lifecycle(rt, bundle, ids, tmp_path):
    cid = ids()
    pid_file = tmp_path / "init.pid"
    r = rt("create", "--bundle", bundle(sleeper()), "--pid-file", pid_file, cid)
    assert r.returncode == 0, r.stderr
    st = rt.state(cid)
    assert st["status"] == "created"
    assert st["id"] == cid
    assert st["pid"] == int(pid_file.read_text())
    assert pid_alive(st["pid"])
    assert st["bundle"].endswith("bundle1")

    rt("start", cid, check=True)
    assert rt.state(cid)["status"] == "running"
    r = rt("start", cid)
    assert r.returncode == 1
    assert "not created" in r.stderr

    r = rt("delete", cid)
    assert r.returncode == 1, "a running container must not be deleted without --force"
    assert "running" in r.stderr

    rt("kill", cid, "SIGKILL", check=True)
    wait_for(lambda: rt.state(cid)["status"] == "stopped", what="status stopped")
    rt("delete", cid, check=True)
    r = rt("state", cid)
    assert r.returncode == 1
    assert f"container {cid} does not exist" in r.stderr
    assert_nothing_left(rt, cid, st["pid"])


def test_kill_default_is_sigterm_and_names_are_accepted(rt, bundle, ids):
    cid = ids()
    script = "trap 'echo usr1 > /dev/null' USR1; trap 'exit 0' TERM; while true; do sleep 0.1; done"
    rt("run", "-d", "-b", bundle({"process": {"args": ["sh", "-c", script]}}), cid, check=True)
    time.sleep(0.3)
    for name in ("SIGUSR1", "usr1", "10"):
        rt("kill", cid, name, check=True)
    assert rt.state(cid)["status"] == "running"
    r = rt("kill", cid, "SIGNOPE")
    assert r.returncode == 1
    assert "SIGNOPE" in r.stderr
    rt("kill", cid, check=True)  # SIGTERM
    wait_for(lambda: rt.state(cid)["status"] == "stopped", what="SIGTERM to stop the container")


def test_duplicate_id_and_invalid_id_are_refused(rt, bundle, ids):
    cid = ids()
    b = bundle(sleeper())
    rt("create", "-b", b, cid, check=True)
    r = rt("create", "-b", b, cid)
    assert r.returncode == 1
    assert f"container {cid} already exists" in r.stderr
    assert rt.state(cid)["status"] == "created", "the failed second create must not harm the first"
    r = rt("create", "-b", b, "../escape")
    assert r.returncode == 1
    assert "invalid container id" in r.stderr


# ---- hooks ----------------------------------------------------------------------------------------

def test_hooks_get_the_state_and_may_call_the_runtime(rt, bundle, ids, tmp_path, runtime_bin):
    cid = ids()
    out = tmp_path / "hooks"
    out.mkdir()

    def hook(name, extra=""):
        return {"path": "/bin/sh", "args": ["sh", "-c", f"cat > {out}/{name}.json{extra}"]}

    # createRuntime runs while create holds the container's lock: `state` must still answer.
    query = f"; {runtime_bin} --root {rt.root} state {cid} > {out}/queried.json"
    hooks = {"createRuntime": [hook("createRuntime", query)], "poststart": [hook("poststart")],
             "poststop": [hook("poststop")]}
    rt("run", "-d", "-b", bundle(sleeper(hooks=hooks)), cid, check=True, timeout=30)
    created = json.loads((out / "createRuntime.json").read_text())
    assert created["id"] == cid
    assert created["status"] == "creating"
    assert created["pid"] == rt.state(cid)["pid"]
    assert json.loads((out / "queried.json").read_text())["pid"] == created["pid"]
    assert json.loads((out / "poststart.json").read_text())["status"] == "running"
    assert not (out / "poststop.json").exists()
    rt("delete", "-f", cid, check=True)
    assert json.loads((out / "poststop.json").read_text())["status"] == "stopped"


def test_failing_create_runtime_hook_fails_create_and_leaves_nothing(rt, bundle, ids):
    cid = ids()
    hooks = {"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "echo hook says no >&2; exit 9"]}]}
    r = rt("create", "-b", bundle(sleeper(hooks=hooks)), cid)
    assert r.returncode == 1
    assert "hook says no" in r.stderr or "/bin/sh" in r.stderr
    assert_nothing_left(rt, cid)


# ---- exec -----------------------------------------------------------------------------------------

def test_exec_joins_the_running_container(rt, bundle, ids):
    cid = ids()
    rt("run", "-d", "-b", bundle(sleeper(hostname="inside-coi")), cid, check=True)
    init = rt.state(cid)["pid"]
    r = rt("exec", cid, "hostname", check=True)
    assert r.stdout.strip() == "inside-coi"
    r = rt("exec", cid, "readlink", "/proc/self/ns/pid", check=True)
    assert r.stdout.strip() == os.readlink(f"/proc/{init}/ns/pid")
    r = rt("exec", cid, "cat", "/proc/1/cmdline", check=True)
    assert r.stdout.split("\0")[0] == "sleep", "pid 1 seen by exec must be the container's init"


def test_exec_exit_code_env_cwd(rt, bundle, ids):
    cid = ids()
    rt("run", "-d", "-b", bundle(sleeper()), cid, check=True)
    assert rt("exec", cid, "sh", "-c", "exit 7").returncode == 7
    r = rt("exec", "-e", "FOO=bar", "--cwd", "/proc", cid, "sh", "-c", "echo $FOO; pwd", check=True)
    assert r.stdout.split() == ["bar", "/proc"]


def test_exec_user_and_additional_gids(rt, bundle, ids):
    cid = ids()
    rt("run", "-d", "-b", bundle(sleeper()), cid, check=True)
    r = rt("exec", "-u", "1000:1000", "-g", "44", "--additional-gids", "45", cid, "sh", "-c",
           "id -u; id -g; sed -n 's/^Groups:[[:space:]]*//p' /proc/self/status", check=True)
    assert r.stdout.split() == ["1000", "1000", "44", "45"]
    r = rt("exec", "-g", "x", cid, "true")
    assert r.returncode != 0 and "--additional-gids x: expected a gid" in r.stderr


def test_exec_with_process_file(rt, bundle, ids, tmp_path):
    cid = ids()
    rt("run", "-d", "-b", bundle(sleeper()), cid, check=True)
    proc = {"args": ["sh", "-c", "echo $GREETING"], "env": ["GREETING=hi there", "PATH=/bin"], "cwd": "/",
            "user": {"uid": 0, "gid": 0}}
    (tmp_path / "process.json").write_text(json.dumps(proc))
    r = rt("exec", "--process", tmp_path / "process.json", cid, check=True)
    assert r.stdout == "hi there\n"


def test_exec_forwards_signals_and_reports_them(rt, bundle, ids):
    cid = ids()
    rt("run", "-d", "-b", bundle(sleeper()), cid, check=True)
    script = "trap 'exit 43' TERM; echo ready; while true; do sleep 0.1; done"
    p = subprocess.Popen(rt.cmd("exec", cid, "sh", "-c", script), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "ready\n"
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=20)
        assert p.returncode == 43
    finally:
        p.kill()
        p.wait()
    r = rt("exec", cid, "sh", "-c", "kill -KILL $$")
    assert r.returncode == 128 + signal.SIGKILL


def test_exec_into_created_container_works(rt, bundle, ids):
    """As with runc: the init waits for start, and exec'd processes already run beside it."""
    cid = ids()
    rt("create", "-b", bundle(sleeper()), cid, check=True)
    r = rt("exec", cid, "sh", "-c", "echo in-created; cat /proc/1/comm")
    assert r.returncode == 0, r.stderr
    assert "in-created" in r.stdout
    assert rt.state(cid)["status"] == "created"


def test_exec_into_stopped_container_is_refused(rt, bundle, ids):
    cid = ids()
    rt("run", "-d", "-b", bundle(sleeper()), cid, check=True)
    rt("kill", cid, "KILL", check=True)
    wait_for(lambda: rt.state(cid)["status"] == "stopped", what="status stopped")
    r = rt("exec", cid, "true")
    assert r.returncode == 1
    assert "stopped" in r.stderr


# ---- pause / resume, list, ps -----------------------------------------------------------------------

def test_pause_stops_progress_and_resume_continues(rt, bundle, ids):
    cid = ids()
    counter = "i=0; while true; do i=$((i+1)); echo $i > /tmp/n; sleep 0.02; done"
    cfg = {"process": {"args": ["sh", "-c", counter]}, "root": {"readonly": False}}
    b = bundle(cfg)
    rt("run", "-d", "-b", b, cid, check=True)
    n = b / "rootfs" / "tmp" / "n"

    def value():
        try:
            return int(n.read_text() or 0)
        except (OSError, ValueError):
            return 0

    wait_for(lambda: value() > 2, what="the counter to start")
    rt("pause", cid, check=True)
    assert rt.state(cid)["status"] == "paused"
    before = value()
    time.sleep(0.5)
    assert value() == before, "a paused container must not make progress"
    r = rt("pause", cid)
    assert r.returncode == 1

    rt("resume", cid, check=True)
    assert rt.state(cid)["status"] == "running"
    wait_for(lambda: value() > before + 2, what="the counter to go on after resume")
    r = rt("resume", cid)
    assert r.returncode == 1
    assert "not paused" in r.stderr


def test_delete_force_of_paused_container(rt, bundle, ids):
    cid = ids()
    rt("run", "-d", "-b", bundle(sleeper()), cid, check=True)
    pid = rt.state(cid)["pid"]
    rt("pause", cid, check=True)
    rt("delete", "-f", cid, check=True)
    assert_nothing_left(rt, cid, pid)


def test_list_and_ps(rt, bundle, ids):
    a, b = ids("a"), ids("b")
    bd = bundle({"process": {"args": ["sh", "-c", "sleep 300 & sleep 300 & wait"]}})
    rt("run", "-d", "-b", bd, a, check=True)
    rt("create", "-b", bd, b, check=True)
    assert sorted(rt.ids()) == sorted([a, b])
    listed = {s["id"]: s for s in json.loads(rt("list", "--format", "json", check=True).stdout)}
    assert listed[a]["status"] == "running"
    assert listed[b]["status"] == "created"
    table = rt("list", check=True).stdout.splitlines()
    assert table[0].split()[:3] == ["ID", "PID", "STATUS"]
    assert any(line.split()[0] == a and line.split()[2] == "running" for line in table[1:])

    init = rt.state(a)["pid"]
    wait_for(lambda: len(json.loads(rt("ps", "--format", "json", a, check=True).stdout)) == 3,
             what="three processes in the container (sh and two sleeps)")
    pids = json.loads(rt("ps", "--format", "json", a, check=True).stdout)
    assert init in pids
    assert all(pid_alive(p) for p in pids)
    assert "sleep 300" in rt("ps", a, check=True).stdout


def test_list_of_empty_root(rt):
    r = rt("list", "--format", "json", check=True)
    assert json.loads(r.stdout) == []


# ---- failures leave nothing behind ---------------------------------------------------------------------

def test_missing_binary_fails_and_leaves_nothing(rt, bundle, ids):
    cid = ids()
    r = rt("run", "-b", bundle({"process": {"args": ["/bin/no-such-program"]}}), cid)
    assert r.returncode != 0
    assert "/bin/no-such-program" in r.stderr
    assert_nothing_left(rt, cid)


def test_failure_after_start_is_told_on_the_containers_stderr(rt, bundle, ids, tmp_path):
    """After start nobody can return an error any more: the init says why on the container's stderr."""
    cid = ids()
    stderr = tmp_path / "container-stderr"
    with open(stderr, "w") as f:  # create's stderr becomes the container's
        r = subprocess.run(rt.cmd("create", "-b", bundle({"process": {"args": ["/bin/no-such-program"]}}), cid),
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=f, timeout=60)
    assert r.returncode == 0
    assert stderr.read_text() == ""
    rt("start", cid, check=True)
    wait_for(lambda: "/bin/no-such-program" in stderr.read_text(), what="the init's error")
    assert stderr.read_text().count("coi-runtime:") == 1, stderr.read_text()


def test_missing_bind_source_fails_create_naming_it(rt, bundle, ids):
    cid = ids()
    mount = {"destination": "/mnt", "type": "bind", "source": "/nonexistent-coi-test-source",
             "options": ["bind"]}
    b = bundle(sleeper())
    cfg = json.loads((b / "config.json").read_text())
    cfg["mounts"].append(mount)
    (b / "config.json").write_text(json.dumps(cfg))
    r = rt("create", "-b", b, cid)
    assert r.returncode == 1
    assert "/nonexistent-coi-test-source" in r.stderr
    assert_nothing_left(rt, cid)


def test_symlinked_mount_destination_never_reaches_the_host(rt, bundle, ids, tmp_path):
    cid = ids()
    outside = tmp_path / "host-dir"
    outside.mkdir()
    b = bundle(sleeper())
    os.symlink(str(outside), b / "rootfs" / "escape")
    cfg = json.loads((b / "config.json").read_text())
    cfg["mounts"].append({"destination": "/escape", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]})
    (b / "config.json").write_text(json.dumps(cfg))
    r = rt("create", "-b", b, cid)
    if r.returncode != 0:
        assert "/escape" in r.stderr
        assert_nothing_left(rt, cid)
    # Whatever the runtime did, the host directory the symlink names got no mount.
    mounts = pathlib.Path("/proc/self/mountinfo").read_text()
    assert str(outside) not in mounts


def test_systemd_cgroup_is_refused_clearly(rt, bundle, ids):
    cid = ids()
    r = rt("run", "-b", bundle({"process": {"args": ["true"]}}), cid, flags=["--systemd-cgroup"])
    assert r.returncode == 1
    assert "--systemd-cgroup is not supported" in r.stderr
    assert_nothing_left(rt, cid)


def has_controller(name):
    try:
        return name in (CGROUP2 / "cgroup.controllers").read_text().split()
    except OSError:
        return False


def test_memory_limit_fails_on_hybrid_host_naming_the_controller(rt, bundle, ids):
    if has_controller("memory"):
        pytest.skip("this host's cgroup2 has the memory controller: the limit works")
    cid = ids()
    b = bundle({"process": {"args": ["echo", "ok"]}, "linux": {"resources": {"memory": {"limit": 64 << 20}}}})
    r = rt("run", "-b", b, cid)
    assert r.returncode == 1
    assert '"memory"' in r.stderr or "memory controller" in r.stderr
    assert "memory.max" in r.stderr
    assert_nothing_left(rt, cid)


def test_memory_limit_is_best_effort_with_the_flag_or_annotation(rt, bundle, ids):
    cfg = {"process": {"args": ["echo", "ok"]}, "linux": {"resources": {"memory": {"limit": 64 << 20}}}}
    cid = ids()
    r = rt("run", "-b", bundle(cfg), cid, flags=["--cgroup-best-effort"])
    assert r.returncode == 0, r.stderr
    assert r.stdout == "ok\n"
    if not has_controller("memory"):
        assert "memory" in r.stderr, "the skipped limit must be reported as a warning"
    cid = ids()
    cfg["annotations"] = {"run.coi.cgroup.best-effort": "true"}
    r = rt("run", "-b", bundle(cfg), cid)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "ok\n"


# ---- config errors, features, spec, logging --------------------------------------------------------------

def test_malformed_config_names_the_file(rt, bundle, ids):
    cid = ids()
    b = bundle(raw_config='{"ociVersion": "1.1.0", "process": {')
    r = rt("create", "-b", b, cid)
    assert r.returncode == 1
    assert str(b / "config.json") in r.stderr
    assert r.stderr.count("coi-runtime:") == 1, "the error is printed once"
    assert_nothing_left(rt, cid)


def test_unsupported_config_field_names_file_and_json_path(rt, bundle, ids):
    cid = ids()
    b = bundle({"process": {"args": ["true"], "apparmorProfile": "docker-default"}})
    r = rt("create", "-b", b, cid)
    assert r.returncode == 1
    assert str(b / "config.json") in r.stderr
    assert "process.apparmorProfile: not supported by coi-runtime" in r.stderr
    assert_nothing_left(rt, cid)


def test_errors_go_to_the_json_log(rt, bundle, ids, tmp_path):
    cid = ids()
    log = tmp_path / "log.json"
    r = rt("state", cid, flags=["--log", log, "--log-format", "json"])
    assert r.returncode == 1
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert lines[-1]["level"] == "error"
    assert f"container {cid} does not exist" in lines[-1]["msg"]
    assert lines[-1]["time"].endswith("Z")


# ---- session keyring, personality ------------------------------------------------------------------

KEYRING_PROBE = r"""
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/keyctl.h>
int main(void)
{
        char buf[512];
        long n = syscall(SYS_keyctl, KEYCTL_DESCRIBE, KEY_SPEC_SESSION_KEYRING, buf, sizeof(buf));
        if (n < 0) {
                perror("keyctl describe");
                return 1;
        }
        printf("%s\n", buf);
        return 0;
}
"""


@pytest.fixture(scope="module")
def keyring_probe(tmp_path_factory):
    """A static program that prints the description of its session keyring (type;uid;gid;perm;name)."""
    if shutil.which("cc") is None:
        pytest.skip("no C compiler to build the keyring probe")
    d = tmp_path_factory.mktemp("keyring-probe")
    (d / "probe.c").write_text(KEYRING_PROBE)
    r = subprocess.run(["cc", "-static", "-O2", "-o", d / "keyring-probe", d / "probe.c"], capture_output=True,
                       text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot build a static keyring probe: {r.stderr[-300:]}")
    return d / "keyring-probe"


def in_session_keyring(name):
    """preexec_fn: the runtime starts in a session keyring of its own, like a user's login session."""
    def join():
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.syscall(250, 1, name.encode()) < 0:  # keyctl(KEYCTL_JOIN_SESSION_KEYRING, name)
            raise OSError(ctypes.get_errno(), "keyctl join")
    return join


def keyring_bundle(bundle, probe, args=("/probe",)):
    b = bundle({"process": {"args": list(args)}, "linux": {"seccomp": None}})
    shutil.copy(probe, b / "rootfs" / "probe")
    return b


def test_container_gets_a_session_keyring_of_its_own(rt, bundle, ids, keyring_probe):
    host = f"coi-test-host-{uuid.uuid4().hex[:8]}"
    cid = ids()
    r = rt("run", "-b", keyring_bundle(bundle, keyring_probe), cid, preexec_fn=in_session_keyring(host))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith("keyring;"), r.stdout
    assert r.stdout.strip().endswith(f";_ses.{cid}"), r.stdout
    assert host not in r.stdout


def test_exec_gets_a_new_session_keyring_too(rt, bundle, ids, keyring_probe):
    host = f"coi-test-host-{uuid.uuid4().hex[:8]}"
    cid = ids()
    b = keyring_bundle(bundle, keyring_probe, args=("sleep", "300"))
    rt("run", "-d", "-b", b, cid, check=True, preexec_fn=in_session_keyring(host))
    try:
        r = rt("exec", cid, "/probe", preexec_fn=in_session_keyring(host))
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip().endswith(f";_ses.{cid}"), r.stdout
    finally:
        rt("delete", "-f", cid)


def test_no_new_keyring_keeps_the_callers_session_keyring(rt, bundle, ids, keyring_probe):
    host = f"coi-test-host-{uuid.uuid4().hex[:8]}"
    cid = ids()
    b = keyring_bundle(bundle, keyring_probe, args=("sleep", "300"))
    rt("run", "-d", "--no-new-keyring", "-b", b, cid, check=True, preexec_fn=in_session_keyring(host))
    try:
        r = rt("exec", cid, "/probe", preexec_fn=in_session_keyring(host))
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip().endswith(f";{host}"), r.stdout
    finally:
        rt("delete", "-f", cid)
    cid = ids()
    r = rt("run", "--no-new-keyring", "-b", keyring_bundle(bundle, keyring_probe), cid,
           preexec_fn=in_session_keyring(host))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith(f";{host}"), r.stdout


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="LINUX32 shows as i686 on x86_64 only")
@pytest.mark.parametrize("domain, machine", [("LINUX32", "i686"), ("LINUX", "x86_64")])
def test_personality_domain_is_applied(rt, bundle, ids, domain, machine):
    b = bundle({"process": {"args": ["uname", "-m"]}, "linux": {"personality": {"domain": domain}}})
    r = rt("run", "-b", b, ids())
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{machine}\n"


def test_unknown_personality_domain_is_refused_by_name(rt, bundle, ids):
    b = bundle({"process": {"args": ["true"]}, "linux": {"personality": {"domain": "BSD"}}})
    r = rt("run", "-b", b, ids())
    assert r.returncode == 1
    assert "personality" in r.stderr and "BSD" in r.stderr, r.stderr


# ---- an unprivileged caller: several id ranges through newuidmap/newgidmap -------------------------

NOBODY = 65534
SUBID_START = 2000000000  # far from root's range in /etc/subuid


def edit_subid_files(line, add):
    for path in ("/etc/subuid", "/etc/subgid"):
        p = pathlib.Path(path)
        lines = p.read_text().splitlines() if p.exists() else []
        lines = [x for x in lines if x != line] + ([line] if add else [])
        p.write_text("".join(x + "\n" for x in lines))


@pytest.fixture
def unprivileged(tmp_path, ids):
    """nobody with a range in /etc/subuid and /etc/subgid (removed afterwards), a state root it owns and a
    cgroup delegated to it (an unprivileged caller can't create one at the top of the hierarchy)."""
    if os.geteuid() != 0 or not shutil.which("newuidmap") or not shutil.which("setpriv"):
        pytest.skip("needs root to set up, newuidmap and setpriv")
    line = f"nobody:{SUBID_START}:65536"
    edit_subid_files(line, add=True)
    cg = CGROUP2 / ids("rootless")
    cg.mkdir()
    for f in (cg, cg / "cgroup.procs", cg / "cgroup.threads", cg / "cgroup.subtree_control"):
        os.chown(f, NOBODY, NOBODY)
    state = tmp_path / "state"
    state.mkdir()
    os.chown(state, NOBODY, NOBODY)
    os.chmod(tmp_path, 0o755)
    for d in tmp_path.parents:  # the bundle must be reachable by nobody
        if str(d) == "/tmp":
            break
        os.chmod(d, os.stat(d).st_mode | 0o711)
    try:
        yield cg, state
    finally:
        edit_subid_files(line, add=False)


def run_as_nobody(runtime_bin, cg, state, *args):
    """coi-runtime as nobody, started in the delegated cgroup (moving a process needs write access to
    cgroup.procs of the common ancestor: that is the delegated group only if we start inside it)."""
    cmd = ["sh", "-c", f'echo $$ > {cg}/cgroup.procs && exec "$@"', "sh",
           "setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
           str(runtime_bin), "--root", str(state), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def rootless_bundle(bundle, cg, host_ranges):
    maps = [{"containerID": 0, "hostID": NOBODY, "size": 1}] + \
           [{"containerID": c, "hostID": h, "size": n} for c, h, n in host_ranges]
    return bundle({"process": {"args": ["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u"]},
                   "linux": {"namespaces": [{"type": t} for t in ("user", "pid", "network", "ipc", "uts",
                                                                  "mount", "cgroup")],
                             "uidMappings": maps, "gidMappings": maps,
                             "cgroupsPath": f"/{cg.name}/c"}})


def test_unprivileged_caller_gets_several_ranges_through_newuidmap(runtime_bin, bundle, unprivileged):
    cg, state = unprivileged
    b = rootless_bundle(bundle, cg, [(1, SUBID_START, 999), (1000, SUBID_START + 5000, 60000)])
    r = run_as_nobody(runtime_bin, cg, state, "run", "-b", b, "rl1")
    assert r.returncode == 0, r.stderr
    rows = [line.split() for line in r.stdout.splitlines()]
    expected = [["0", str(NOBODY), "1"], ["1", str(SUBID_START), "999"],
                ["1000", str(SUBID_START + 5000), "60000"]]
    assert rows[0:3] == expected, r.stdout  # uid_map
    assert rows[3:6] == expected, r.stdout  # gid_map
    assert rows[6] == ["0"]
    assert not (state / "rl1").exists()
    assert not (cg / "c").exists()


def test_unprivileged_caller_outside_its_subuid_range_is_refused(runtime_bin, bundle, unprivileged):
    cg, state = unprivileged
    b = rootless_bundle(bundle, cg, [(1, SUBID_START + 65536, 1000)])  # just past nobody's range
    r = run_as_nobody(runtime_bin, cg, state, "run", "-b", b, "rl2")
    assert r.returncode == 1
    assert "newuidmap" in r.stderr and "/etc/subuid" in r.stderr, r.stderr
    assert not (state / "rl2").exists()
    assert not (cg / "c").exists()


def test_features_is_valid_json(rt):
    r = rt("features", check=True)
    doc = json.loads(r.stdout)
    assert doc["ociVersionMin"].startswith("1.")
    assert "namespaces" in doc["linux"]


def test_spec_writes_config_and_refuses_to_overwrite(rt, tmp_path):
    rt("spec", "--bundle", tmp_path, check=True)
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["root"]["path"] == "rootfs"
    r = rt("spec", "--bundle", tmp_path)
    assert r.returncode == 1
    assert "exists" in r.stderr


def test_version_and_unknown_command(rt):
    assert "coi-runtime version" in rt("--version", check=True).stdout
    r = rt("frobnicate")
    assert r.returncode == 1
    assert "unknown command" in r.stderr


@pytest.mark.parametrize("propagation,tag", [("shared", "shared:"), ("unbindable", "unbindable"),
                                             ("private", None)])
def test_rootfs_propagation_is_the_containers_root(rt, bundle, ids, propagation, tag):
    """pivot_root refuses a shared parent and an unbindable / can't be bound onto itself: both are set on
    the new root after the pivot (runtime-tools' linux_rootfs_propagation)."""
    cid = ids()
    cfg = {"process": {"args": ["awk", "$5 == \"/\"", "/proc/self/mountinfo"]},
           "linux": {"rootfsPropagation": propagation}}
    r = rt("run", "--bundle", bundle(cfg), cid)
    assert r.returncode == 0, r.stderr
    fields = r.stdout.split(" - ")[0].split()[6:]
    if tag:
        assert any(f.startswith(tag) for f in fields), r.stdout
    else:
        assert not any(f.startswith(("shared:", "master:", "unbindable")) for f in fields), r.stdout
    assert_nothing_left(rt, cid)


def test_unknown_properties_are_ignored_known_unsupported_ones_refused(rt, bundle, ids):
    """The spec: a property it doesn't define MUST NOT be an error; a known one coi-runtime can't honour is
    refused by name."""
    cid = ids()
    r = rt("run", "--bundle", bundle({"process": {"args": ["echo", "ran"]}, "unknown": "x",
                                      "linux": {"futureThing": {"a": 1}}}), cid)
    assert r.returncode == 0 and r.stdout == "ran\n", r.stderr
    r = rt("run", "--bundle", bundle({"process": {"args": ["true"]}, "vm": {}}), ids())
    assert r.returncode != 0 and "vm: not supported by coi-runtime" in r.stderr
