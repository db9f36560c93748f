"""The same bundle under coi-runtime and under runc: what the container sees must match, so every
difference from runc is a deliberate one (and would be listed here as such).

runc runs inside the cgroup2-only mount namespace (peers.View), coi-runtime on the host; both get the
same bundle directory and config.json.
"""
import difflib
import json
import os
import shutil
import uuid

import pytest

from bundle import Runtime, user_namespace
from conftest import run
from peers import View

RUNC = shutil.which("runc")
pytestmark = pytest.mark.skipif(RUNC is None, reason="runc is not installed")

PROBE = r"""
grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|Seccomp|NoNewPrivs|Groups|Umask):' /proc/self/status
echo "uid_map: $(cat /proc/self/uid_map | tr -s ' ')"
echo "gid_map: $(cat /proc/self/gid_map | tr -s ' ')"
echo "setgroups: $(cat /proc/self/setgroups)"
echo "hostname: $(hostname)"
echo "id: $(id)"
echo "cwd: $(pwd)"
echo "env: $(env | sort | tr '\n' ' ')"
echo "nofile: $(ulimit -n) $(ulimit -Hn)"
for ns in cgroup ipc mnt net pid uts user; do
  [ "$(readlink /proc/1/ns/$ns)" = "$(readlink /proc/self/ns/$ns)" ] && echo "ns $ns: same as pid 1"
done
echo "pid: $$"
cut -d' ' -f5,6,9 /proc/self/mountinfo | sed 's/,relatime//; s/,noatime//'
ls -la /dev | awk '{print $1, $3, $4, $NF}'
"""

CASES = {
    "default": {},
    "userns": {"linux": dict(user_namespace(), namespaces=[{"type": t} for t in
                                                         ("pid", "network", "ipc", "uts", "mount", "user")])},
    "user-and-caps": {"process": {"user": {"uid": 1000, "gid": 1000, "additionalGids": [27, 44], "umask": 63},
                                  "cwd": "/tmp", "env": ["PATH=/bin", "A=b"],
                                  "capabilities": {"bounding": ["CAP_CHOWN", "CAP_KILL"],
                                                   "permitted": ["CAP_KILL"], "effective": ["CAP_KILL"],
                                                   "inheritable": ["CAP_KILL"], "ambient": ["CAP_KILL"]},
                                  "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 512, "soft": 256}]}},
    "seccomp-and-nnp": {"process": {"noNewPrivileges": True},
                        "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW",
                                              "syscalls": [{"names": ["kexec_load"], "action": "SCMP_ACT_ERRNO"}]}}},
    "readonly-root-masked": {"root": {"readonly": True},
                             "linux": {"maskedPaths": ["/proc/kcore", "/proc/keys", "/sys/firmware"],
                                       "readonlyPaths": ["/proc/sys", "/proc/bus"]}},
}


# Deliberate differences: runc's line → ours, and why.
DELIBERATE = {
    # runc makes the ipc namespace before switching to the user namespace's gid 0, so the mqueue root is
    # root:nogroup inside; coi-runtime makes it as the namespace's root: root:root.
    "drwxrwxrwt root 65534 mqueue": "drwxrwxrwt root root mqueue",
}


@pytest.fixture(scope="module")
def view():
    v = View()
    yield v
    v.close()


@pytest.mark.parametrize("case", list(CASES))
def test_container_sees_the_same_as_under_runc(case, bundle, ids, view, runtime_bin, tmp_path):
    cfg = CASES[case]
    b = bundle(dict(cfg, process=dict(cfg.get("process", {}), args=["sh", "-c", PROBE]),
                    hostname="parity"))
    conf = json.loads((b / "config.json").read_text())
    if any(ns["type"] == "user" for ns in conf["linux"]["namespaces"]):
        os.chmod(tmp_path, 0o755)
        for d in tmp_path.parents:
            if str(d) == "/tmp":
                break
            os.chmod(d, os.stat(d).st_mode | 0o711)
        run(["chown", "-R", "100000:100000", b / "rootfs"])
    ours = Runtime(runtime_bin, f"/run/coi-parity-{uuid.uuid4().hex[:8]}")
    try:
        mine = ours("run", "--bundle", b, ids("parity"))
    finally:
        ours.cleanup()
    runc_root = f"/run/runc-parity-{uuid.uuid4().hex[:8]}"
    theirs = run(view.cmd([RUNC, "--root", runc_root, "run", "--bundle", b, ids("runc")]), check=False)
    run(view.cmd(["rm", "-rf", runc_root]), check=False)
    assert theirs.returncode == 0, theirs.stderr
    assert mine.returncode == 0, mine.stderr
    expected = [DELIBERATE.get(line, line) for line in theirs.stdout.splitlines()]
    diff = list(difflib.unified_diff(expected, mine.stdout.splitlines(), "runc (with the deliberate differences)", "coi-runtime",
                                     lineterm="", n=0))
    assert not diff, "\n".join(diff)
