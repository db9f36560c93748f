"""Attacks on coi-runtime's escape defences, each run from inside a real container.

- /proc/self/exe (CVE-2019-5736 class): a container process that runs the runtime's own binary must
  not be able to write the host binary through /proc/PID/exe.
- fd leaks and a host cwd (CVE-2024-21626 class): no host fd or directory reaches the container.
- masked paths and /dev/null (CVE-2025-31133 class): a fake /dev/null in the rootfs never turns a
  masked path into a host file.
- readonly paths stay read-only, even after a remount attempt; no_new_privs, the bounding set and
  seccomp are what the config says.
"""
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import time

import pytest

from bundle import Runtime, user_namespace

pytestmark = pytest.mark.usefixtures("runtime_bin")


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def with_fds(fds, directory, cmd):
    """Runs cmd with each fd in fds (e.g. "3 4") open on directory, inherited like a careless caller's."""
    redirs = " ".join(f'{fd}<"$0"' for fd in fds.split())
    return subprocess.run(["sh", "-c", f'exec {redirs}; exec "$@"', str(directory), *map(str, cmd)],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


@pytest.fixture
def runtime_copy(tmp_path, runtime_bin):
    """A copy of coi-runtime owned by root, 0755: the attack may destroy it, never the build."""
    copy = tmp_path / "bin" / "coi-runtime"
    copy.parent.mkdir()
    shutil.copy(runtime_bin, copy)
    os.chmod(copy, 0o755)
    return copy


def copy_libraries(binary, rootfs):
    """Copies what the dynamic loader needs to run binary into rootfs (same paths as on the host)."""
    out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True).stdout
    for line in out.splitlines():
        path = next((w for w in line.split() if w.startswith("/")), None)
        if path:
            dest = pathlib.Path(rootfs) / path.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, dest)


# The attack (CVE-2019-5736 shape): the runtime binary runs inside the container as an ordinary process
# (exec'd through /proc/self/exe by an `exec` whose command is /proc/self/exe; it blocks opening a fifo
# nobody writes; the only process whose exe is not busybox). A second, detached process keeps a read fd
# on that process's /proc/PID/exe, kills it and, once no runtime process runs the file any more (no
# ETXTBSY), writes through the fd's magic link. It writes what it managed to /tmp/result.
ATTACK = r"""
P=
for d in /proc/[0-9]*; do case "$(readlink $d/exe 2>/dev/null)" in *busybox*|"") ;; *) P=${d#/proc/};; esac; done
[ -n "$P" ] || { echo "no-runtime-process"; exit 0; }
echo "exe=$(readlink /proc/$P/exe)"
exec 3</proc/$P/exe || { echo "open-refused"; exit 0; }
kill -9 $P
i=0
until (echo PWNED >/proc/self/fd/3) 2>/dev/null; do
    i=$((i+1)); [ $i -ge 150 ] && { echo "write-refused"; exit 0; }; sleep 0.01
done
echo "write-succeeded"
"""


@pytest.mark.parametrize("userns", [False, True], ids=["host-root", "userns"])
def test_proc_self_exe_cannot_overwrite_the_runtime(rt, bundle, ids, runtime_copy, userns, tmp_path):
    """host-root: only the sealed copy protects the binary. userns (root mapped to an unprivileged
    range, binary owned by host root): the runtime skips the copy, and the kernel must refuse."""
    linux = user_namespace() if userns else {}
    if userns:
        linux["namespaces"] = [{"type": t} for t in ("pid", "ipc", "uts", "mount", "cgroup", "user")]
    else:
        linux["namespaces"] = [{"type": t} for t in ("pid", "ipc", "uts", "mount", "cgroup")]
    caps = ["CAP_KILL", "CAP_DAC_OVERRIDE", "CAP_SYS_PTRACE", "CAP_FOWNER"]
    b = bundle({"process": {"args": ["sleep", "1000"],
                            "capabilities": {k: caps for k in ("bounding", "effective", "permitted")},
                            "noNewPrivileges": False},
                "root": {"readonly": False}, "linux": linux})
    rootfs = b / "rootfs"
    copy_libraries(runtime_copy, rootfs)
    os.mkfifo(rootfs / "tmp" / "coi-blocked-on-fifo")
    (rootfs / "attack.sh").write_text(ATTACK)
    if userns:
        # The container's root is an unprivileged host uid: it must be able to reach and write the rootfs.
        host = linux["uidMappings"][0]["hostID"]
        for d in (tmp_path, *tmp_path.parents):
            if d == pathlib.Path("/tmp"):
                break
            os.chmod(d, os.stat(d).st_mode | 0o711)
        subprocess.run(["chown", "-R", f"{host}:{host}", str(rootfs)], check=True)
    before = sha256(runtime_copy)
    # Every process that enters the container comes from the copy: the attack may destroy it.
    attacker = Runtime(runtime_copy, rt.root)
    cid = ids("exe")
    result = rootfs / "tmp" / "result"
    r = attacker("run", "-d", "--bundle", b, cid)
    assert r.returncode == 0, r.stderr
    try:
        r = attacker("exec", "-d", cid, "/proc/self/exe", "update", "-r", "/tmp/coi-blocked-on-fifo", "x")
        assert r.returncode == 0, r.stderr
        r = attacker("exec", "-d", cid, "sh", "-c", "sh /attack.sh >/tmp/result.tmp 2>&1; mv /tmp/result.tmp /tmp/result")
        assert r.returncode == 0, r.stderr
        deadline = time.monotonic() + 20
        while not result.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        out = result.read_text() if result.exists() else "(no result)"
    finally:
        attacker("delete", "-f", cid)
    assert "exe=" in out and "no-runtime-process" not in out, out  # the attack really ran
    assert "write-succeeded" not in out, out
    assert sha256(runtime_copy) == before, "the host runtime binary was modified from inside the container"


def test_created_init_holds_no_runtime_fd(rt, bundle, ids, tmp_path):
    """While a container is created its init (still the runtime, waiting for start) must hold no fd of
    the runtime's: a process exec'd into it with CAP_SYS_PTRACE as root (no user namespace) can read
    /proc/1/fd. Nothing may point at the state root, the bundle on the host or the cgroup tree."""
    b = bundle({"process": {"args": ["sh", "-c", "echo started > /tmp/started; sleep 300"]},
                "root": {"readonly": False}})
    cid = ids("fd1")
    rt("create", "--bundle", b, cid, check=True)
    show = "for f in /proc/1/fd/*; do echo \"${f##*/} $(readlink $f)\"; done; echo done"
    r = rt("exec", "--cap", "CAP_SYS_PTRACE", "--user", "0:0", cid, "sh", "-c", show, timeout=30)
    assert r.returncode == 0, r.stderr
    assert rt.state(cid)["status"] == "created"
    links = [line.split(" ", 1) for line in r.stdout.splitlines() if " " in line]
    assert links and r.stdout.rstrip().endswith("done"), r.stdout  # the init's fds were readable
    assert {"0", "1", "2"} <= {fd for fd, _ in links}, r.stdout
    for fd, target in links:
        for outside in (str(rt.root), str(b), "/sys/fs/cgroup"):
            assert outside not in target, f"fd {fd} of the created init points outside: {target}"
    rt("start", cid, check=True)
    deadline = time.monotonic() + 10
    while not (b / "rootfs" / "tmp" / "started").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (b / "rootfs" / "tmp" / "started").exists(), "the container did not run after start"
    assert rt.state(cid)["status"] == "running"
    rt("delete", "-f", cid, check=True)


def test_no_host_fd_reaches_the_container(rt, bundle, ids, tmp_path):
    """An fd the caller leaks (here: a host directory on fd 5) never appears inside."""
    secret = tmp_path / "host-secret"
    secret.mkdir()
    (secret / "marker").write_text("host")
    b = bundle({"process": {"args": ["sh", "-c", "ls /proc/self/fd; ls /proc/self/fd/5/ 2>&1; true"]}})
    r = with_fds("5", secret, rt.cmd("run", "--bundle", b, ids("fd")))
    assert r.returncode == 0, r.stderr
    assert "marker" not in r.stdout
    fds = sorted(int(x) for x in r.stdout.split() if x.isdigit())
    assert fds == [0, 1, 2, 3], r.stdout  # 3 is ls's own directory fd


def test_preserve_fds_passes_exactly_what_was_asked(rt, bundle, ids, tmp_path):
    shared = tmp_path / "shared-dir"
    shared.mkdir()
    b = bundle({"process": {"args": ["sh", "-c", "for f in /proc/self/fd/*; do echo ${f##*/} $(readlink $f); done"]}})
    r = with_fds("3 4", shared, rt.cmd("run", "--preserve-fds", "1", "--bundle", b, ids("pfd")))
    assert r.returncode == 0, r.stderr
    links = dict(line.split(" ", 1) for line in r.stdout.splitlines() if " " in line)
    assert links.get("3", "").endswith("shared-dir"), r.stdout  # preserved, as asked
    assert [fd for fd, target in links.items() if fd != "3" and "shared-dir" in target] == [], r.stdout


def test_cwd_through_a_leaked_fd_stays_inside(rt, bundle, ids, tmp_path):
    """runc's CVE-2024-21626: cwd = /proc/self/fd/N of a leaked host directory."""
    secret = tmp_path / "host-dir"
    secret.mkdir()
    (secret / "host-only-file").write_text("x")
    b = bundle({"process": {"cwd": "/proc/self/fd/5", "args": ["sh", "-c", "pwd; ls"]}})
    r = with_fds("5", secret, rt.cmd("run", "--bundle", b, ids("cwd")))
    assert "host-only-file" not in r.stdout
    if r.returncode != 0:
        assert "cwd" in r.stderr or "/proc/self/fd/5" in r.stderr, r.stderr


def test_fake_dev_null_never_unmasks_a_path(rt, bundle, ids):
    """The rootfs's /dev/null is a symlink to a host-writable proc file and /dev is not a tmpfs:
    masking /proc/kcore with it must not bind core_pattern (or anything else) in its place."""
    core_pattern = open("/proc/sys/kernel/core_pattern").read()
    b = bundle({"process": {"args": ["sh", "-c",
                                     "cat /proc/kcore 2>&1 | head -c 64; echo; "
                                     "echo '|/bin/evil' > /proc/kcore 2>&1; echo rc=$?"]},
                "linux": {"maskedPaths": ["/proc/kcore"]}})
    conf = json.loads((b / "config.json").read_text())
    conf["mounts"] = [m for m in conf["mounts"] if m["destination"] not in ("/dev", "/dev/pts", "/dev/shm",
                                                                          "/dev/mqueue")]
    (b / "config.json").write_text(json.dumps(conf))
    os.symlink("/proc/sys/kernel/core_pattern", b / "rootfs" / "dev" / "null")
    r = rt("run", "--bundle", b, ids("null"))
    assert open("/proc/sys/kernel/core_pattern").read() == core_pattern
    if r.returncode != 0:
        assert "/dev/null" in r.stderr, r.stderr
    else:
        assert "rc=0" not in r.stdout, r.stdout


def test_readonly_paths_stay_read_only(rt, bundle, ids):
    b = bundle({"process": {"args": ["sh", "-c",
                                     "echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo wrote; "
                                     "mount -o remount,rw /proc/sys 2>/dev/null && echo remounted; "
                                     "echo 1 > /proc/sysrq-trigger 2>/dev/null && echo sysrq; echo done"]},
                "linux": {"readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"]}})
    r = rt("run", "--bundle", b, ids("ro"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["done"]


def test_privileges_are_what_the_config_says(rt, bundle, ids):
    seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
    b = bundle({"process": {"args": ["sh", "-c", "grep -E '^(NoNewPrivs|CapBnd|CapEff|Seccomp):' /proc/self/status;"
                                                 "env pwd 2>&1; true"],
                            "noNewPrivileges": True,
                            "capabilities": {k: ["CAP_KILL"] for k in ("bounding", "effective", "permitted")}},
                "linux": {"seccomp": seccomp}})
    r = rt("run", "--bundle", b, ids("priv"))
    assert r.returncode == 0, r.stderr
    status = dict(line.split(":\t") for line in r.stdout.splitlines() if ":\t" in line)
    assert status["NoNewPrivs"] == "1"
    assert int(status["CapBnd"], 16) == 1 << 5  # CAP_KILL only
    assert int(status["CapEff"], 16) == 1 << 5  # root's exec: effective = permitted = the bounding set
    assert status["Seccomp"] == "2"
    assert "Operation not permitted" in r.stdout  # getcwd denied by the filter


@pytest.mark.parametrize("lock", [False, True], ids=["default", "lock-mounts"])
def test_lock_mounts_annotation(rt, bundle, ids, tmp_path, lock):
    """In a user namespace the container's root holds CAP_SYS_ADMIN over its mounts: without
    run.coi.lock-mounts it can unmount a mask and remount a read-only path read-write; with it both fail
    (the mounts are locked), while new mounts of its own still work."""
    linux = user_namespace()
    linux["namespaces"] = [{"type": t} for t in ("pid", "ipc", "uts", "mount", "user")]
    linux["maskedPaths"] = ["/proc/timer_list"]
    linux["readonlyPaths"] = ["/proc/sys"]
    caps = ["CAP_SYS_ADMIN"]
    script = ("umount /proc/timer_list && echo UNMASKED; mount -o remount,bind,rw /proc/sys && echo REMOUNTED; "
              "mount -t tmpfs x /tmp && echo MOUNTED; echo done")
    b = bundle({"process": {"args": ["sh", "-c", script],
                            "capabilities": {k: caps for k in ("bounding", "effective", "permitted")}},
                "root": {"readonly": False}, "linux": linux,
                "annotations": {"run.coi.lock-mounts": "true"} if lock else {}})
    host = linux["uidMappings"][0]["hostID"]
    for d in (tmp_path, *tmp_path.parents):
        if d == pathlib.Path("/tmp"):
            break
        os.chmod(d, os.stat(d).st_mode | 0o711)
    subprocess.run(["chown", "-R", f"{host}:{host}", str(b / "rootfs")], check=True)
    r = rt("run", "--bundle", b, ids("lock"))
    assert r.returncode == 0, r.stderr
    words = r.stdout.split()
    assert "MOUNTED" in words and "done" in words, r.stdout  # its own mounts work either way
    if lock:
        assert "UNMASKED" not in words and "REMOUNTED" not in words, r.stdout
    else:  # what the annotation exists for: without it both work
        assert "UNMASKED" in words and "REMOUNTED" in words, r.stdout
