"""containerd drives coi-runtime through its runc shim: `ctr run --runc-binary <coi-runtime>`.

containerd runs with its own root, state and socket in a temporary directory, inside the cgroup2-only
mount namespace (peers.View). The image is a busybox rootfs imported into podman and saved as an OCI
archive, as a user without a registry would make one. `--cpu-shares 0`: ctr asks for cpu.weight by
default and this host's cgroup2 has no cpu controller.
"""
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import run
from peers import View, busybox_tar, remove_cgroup_tree

pytestmark = pytest.mark.skipif(not (shutil.which("containerd") and shutil.which("ctr") and shutil.which("podman")),
                                reason="containerd, ctr or podman is not installed")

IMAGE = "localhost/coi-ctr-bb:latest"


class Containerd:
    def __init__(self, tmp, view, runtime):
        self.tmp, self.view, self.runtime = tmp, view, str(runtime)
        self.sock = tmp / "containerd.sock"

    def ctr(self, *args, check=True, timeout=60):
        return run(self.view.cmd(["ctr", "-a", self.sock, *args]), check=check, timeout=timeout)

    def run(self, cid, *argv, check=True, extra=("--rm",)):
        return self.ctr("run", "--cpu-shares", "0", "--runc-binary", self.runtime, *extra, IMAGE, cid,
                        *argv, check=check)


@pytest.fixture(scope="module")
def containerd(tmp_path_factory, runtime_bin):
    tmp = tmp_path_factory.mktemp("containerd")
    (tmp / "config.toml").write_text(f"""version = 2
root = "{tmp}/root"
state = "{tmp}/state"
[grpc]
  address = "{tmp}/containerd.sock"
[ttrpc]
  address = "{tmp}/containerd.sock.ttrpc"
[debug]
  address = "{tmp}/debug.sock"
[plugins."io.containerd.grpc.v1.cri"]
  disable_cgroup = true
""")
    view = View()
    log = open(tmp / "containerd.log", "w")
    daemon = subprocess.Popen(view.cmd(["containerd", "--config", tmp / "config.toml"]), stdout=log, stderr=log)
    c = Containerd(tmp, view, runtime_bin)
    try:
        deadline = time.monotonic() + 20
        while c.ctr("version", check=False).returncode != 0:
            assert time.monotonic() < deadline, (tmp / "containerd.log").read_text()[-2000:]
            time.sleep(0.1)
        runroot = tempfile.mkdtemp(prefix="coi-ctr-", dir="/tmp")  # podman wants a runroot under 50 chars
        pm = ["podman", "--root", tmp / "podman", "--runroot", runroot, "--cgroup-manager=cgroupfs",
              "--events-backend=file"]
        run(view.cmd(pm + ["import", busybox_tar(tmp), IMAGE]))
        run(view.cmd(pm + ["save", "--format", "oci-archive", "-o", tmp / "bb-oci.tar", IMAGE]))
        run(view.cmd(pm + ["system", "reset", "-f"]), check=False)
        shutil.rmtree(runroot, ignore_errors=True)
        c.ctr("image", "import", "--base-name", IMAGE.rsplit(":", 1)[0], tmp / "bb-oci.tar")
        yield c
    finally:
        for line in c.ctr("task", "ls", "-q", check=False).stdout.split():
            c.ctr("task", "kill", "-s", "SIGKILL", line, check=False)
        time.sleep(0.2)
        for line in c.ctr("containers", "ls", "-q", check=False).stdout.split():
            c.ctr("task", "delete", "-f", line, check=False)
            c.ctr("containers", "delete", line, check=False)
        daemon.terminate()
        daemon.wait(timeout=20)
        log.close()
        # containerd's shims are daemons of their own; they exit with their containers.
        view.close()
        remove_cgroup_tree("default")
        run(["umount", "-R", tmp / "root"], check=False)
        shutil.rmtree(tmp, ignore_errors=True)


def test_ctr_run_prints_output(containerd):
    r = containerd.run("coi-ctr-echo", "echo", "hello-from-containerd")
    assert r.stdout.strip() == "hello-from-containerd"


def test_ctr_run_returns_exit_code(containerd):
    r = containerd.run("coi-ctr-exit", "sh", "-c", "exit 5", check=False)
    assert r.returncode == 5


def test_ctr_detached_task_exec_and_kill(containerd):
    containerd.run("coi-ctr-bg", "sleep", "300", extra=["-d"])
    try:
        tasks = containerd.ctr("task", "ls").stdout
        assert any(line.split()[:3][-1] == "RUNNING" for line in tasks.splitlines() if "coi-ctr-bg" in line)
        r = containerd.ctr("task", "exec", "--exec-id", "e1", "coi-ctr-bg", "sh", "-c", "echo in; cat /proc/1/comm")
        assert r.stdout.split() == ["in", "sleep"]
        containerd.ctr("task", "kill", "-s", "SIGKILL", "coi-ctr-bg")
        deadline = time.monotonic() + 10
        while "RUNNING" in containerd.ctr("task", "ls").stdout:
            assert time.monotonic() < deadline, "task still running after SIGKILL"
            time.sleep(0.05)
    finally:
        containerd.ctr("task", "delete", "-f", "coi-ctr-bg", check=False)
        containerd.ctr("containers", "delete", "coi-ctr-bg", check=False)
