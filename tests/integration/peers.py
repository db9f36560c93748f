"""Peer programs (podman, containerd) for the tests, run the way LAB.md says they must be run here.

On a hybrid-cgroup host podman, containerd and runc write the machine's cgroup v1 hierarchies. They run
only inside one long-lived private mount namespace whose /sys/fs/cgroup is the cgroup2 mount (a pure
cgroup-v2 host, as they see it). `View` keeps such a namespace alive with a sleeper; `view.cmd(argv)`
prefixes nsenter. On a pure-v2 host the prefix is empty.
"""
import os
import pathlib
import shutil
import subprocess
import tarfile
import time

CGROUP2_HYBRID = pathlib.Path("/sys/fs/cgroup/unified")
APPLETS = ["sh", "echo", "cat", "id", "hostname", "sleep", "ls", "true", "grep", "head", "readlink", "cut"]


class View:
    def __init__(self):
        self.proc = None
        if (CGROUP2_HYBRID / "cgroup.procs").exists():
            self.proc = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c",
                                          f"mount --bind {CGROUP2_HYBRID} /sys/fs/cgroup && exec sleep infinity"])
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    if os.readlink(f"/proc/{self.proc.pid}/exe").endswith("sleep"):
                        return
                except OSError:
                    pass
                time.sleep(0.01)
            self.close()
            raise RuntimeError("could not set up the cgroup2-only mount namespace")

    def cmd(self, argv):
        prefix = ["nsenter", "-t", str(self.proc.pid), "-m"] if self.proc else []
        return prefix + [str(a) for a in argv]

    def close(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def busybox_tar(tmp):
    """A tar of a busybox rootfs (static busybox + applet symlinks), for `podman import`."""
    rootfs = pathlib.Path(tmp) / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy("/bin/busybox", rootfs / "bin" / "busybox")
    for a in APPLETS:
        os.symlink("busybox", rootfs / "bin" / a)
    out = pathlib.Path(tmp) / "busybox.tar"
    with tarfile.open(out, "w") as tar:
        tar.add(rootfs, arcname=".")
    return out


def remove_cgroup_tree(name):
    """rmdir a peer's leftover group (podman's libpod_parent, containerd's default) bottom-up."""
    root = pathlib.Path("/sys/fs/cgroup/unified" if (CGROUP2_HYBRID / "cgroup.procs").exists()
                        else "/sys/fs/cgroup") / name
    if not root.is_dir():
        return
    for sub in sorted((d for d in root.rglob("*") if d.is_dir()), key=lambda d: -len(d.parts)):
        try:
            sub.rmdir()
        except OSError:
            pass
    try:
        root.rmdir()
    except OSError:
        pass
