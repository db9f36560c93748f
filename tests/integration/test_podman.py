"""podman drives coi-runtime as its OCI runtime: run, run -it (console socket), exec, stop, ps, rm.

podman runs inside one long-lived mount namespace that shows only cgroup2 at /sys/fs/cgroup (on the
hybrid hosts we build on, podman would otherwise create groups in the machine's v1 hierarchies), with
its own storage in a temporary directory and --network=none (its default network edits the host's
nftables). Where runc is installed, the same container is also run under runc and what the container
sees is compared, so any difference from runc is deliberate.
"""
import os
import shutil
import time

import pytest

from conftest import run, run_in_pty
from peers import View, busybox_tar, remove_cgroup_tree

pytestmark = pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not installed")

# No pids controller on hybrid hosts (--pids-limit=-1); RLIMIT_NOFILE/NPROC above the machine's hard
# limits can't be granted without CAP_SYS_RESOURCE, so ask for ones below them.
RUN_FLAGS = ["--network=none", "--pids-limit=-1", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
class Podman:
    def __init__(self, tmp, view, runtime):
        self.tmp = tmp
        self.view = view
        self.runtime = str(runtime)

    def cmd(self, *args, runtime=None):
        return self.view.cmd(["podman", "--root", f"{self.tmp}/storage", "--runroot", f"{self.tmp}/run",
                              "--cgroup-manager=cgroupfs", "--events-backend=file",
                              "--runtime", runtime or self.runtime, *args])

    def __call__(self, *args, check=True, runtime=None, timeout=60):
        return run(self.cmd(*args, runtime=runtime), check=check, timeout=timeout)


@pytest.fixture(scope="module")
def podman(tmp_path_factory, runtime_bin):
    tmp = tmp_path_factory.mktemp("podman")
    view = View()
    p = Podman(tmp, view, runtime_bin)
    try:
        p("import", str(busybox_tar(tmp)), "localhost/coi-test-bb")
        yield p
    finally:
        p("rm", "-af", "-t", "0", check=False)
        p("rm", "-af", "-t", "0", runtime="/usr/sbin/runc", check=False)
        p("system", "reset", "-f", check=False)
        view.close()
        remove_cgroup_tree("libpod_parent")
        shutil.rmtree(tmp, ignore_errors=True)


def test_run_rm_prints_output(podman):
    r = podman("run", "--rm", *RUN_FLAGS, "localhost/coi-test-bb", "echo", "hello")
    assert r.stdout == "hello\n"


def test_run_returns_exit_code(podman):
    r = podman("run", "--rm", *RUN_FLAGS, "localhost/coi-test-bb", "sh", "-c", "exit 7", check=False)
    assert r.returncode == 7


def test_run_interactive_tty(podman):
    """run -it goes through --console-socket: the process gets a real terminal."""
    text, code = run_in_pty(podman.cmd("run", "--rm", "-it", *RUN_FLAGS, "localhost/coi-test-bb", "sh", "-c",
                                       "[ -t 0 ] && echo tty-yes; readlink /proc/self/fd/0"))
    assert "tty-yes" in text
    assert "/dev/pts/" in text
    assert code == 0


def test_detached_exec_stop_ps_rm(podman):
    name = "coi-test-detached"
    podman("run", "-d", "--name", name, *RUN_FLAGS, "localhost/coi-test-bb", "sleep", "300")
    try:
        ps = podman("ps", "--format", "{{.Names}} {{.Status}}")
        assert any(line.startswith(name + " Up") for line in ps.stdout.splitlines())
        r = podman("exec", name, "sh", "-c", "echo from-exec; cat /proc/1/cmdline | head -c 5")
        assert r.stdout.startswith("from-exec\nsleep")
        t0 = time.monotonic()
        podman("stop", "-t", "2", name)
        assert time.monotonic() - t0 < 20
        ps = podman("ps", "-a", "--format", "{{.Names}} {{.Status}}")
        assert any(line.startswith(name + " Exited") for line in ps.stdout.splitlines())
    finally:
        podman("rm", "-f", name, check=False)
    assert name not in podman("ps", "-a", "--format", "{{.Names}}").stdout.split()


PROBE = ("grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|Seccomp|NoNewPrivs):' /proc/self/status; "
         "cat /proc/self/uid_map /proc/self/gid_map; hostname; id; "
         "grep -E ' / | /proc | /sys | /dev ' /proc/self/mountinfo | cut -d' ' -f5,9")


@pytest.mark.skipif(not os.path.exists("/usr/sbin/runc"), reason="runc is not installed")
def test_container_sees_what_runc_shows(podman):
    """Same image, same flags: capabilities, seccomp mode, id maps, hostname and mounts match runc's."""
    args = ["run", "--rm", "--hostname", "probe", *RUN_FLAGS, "localhost/coi-test-bb", "sh", "-c", PROBE]
    ours = podman(*args).stdout
    theirs = podman(*args, runtime="/usr/sbin/runc").stdout
    assert ours == theirs
