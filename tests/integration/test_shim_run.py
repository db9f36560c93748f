"""`coi run` as a CI job uses it: the command's output and exit code come through, the workspace is
mounted idmapped at /workspace (files the sandbox user creates belong to the host user), protected paths
are read-only even for the container's root, and two slots run side by side.

The test image (systemd + git + tmux + sudo + a `code` user, uid 1000) is an mmdebstrap tar cached in
$COI_TEST_CACHE like images/systemd-minimal/build, imported once per session as "coi-default"-like alias
"coi-test"; tests pass --image coi-test."""
import hashlib
import os
import pathlib
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import BUILD, ROOT

COI = BUILD / "shim" / "coi"
IMAGE = "coi-test"
PACKAGES = "systemd,systemd-sysv,dbus,ca-certificates,procps,git,tmux,sudo,less"
HOOKS = [
    'chroot "$1" systemctl mask systemd-remount-fs.service sys-kernel-debug.mount sys-kernel-tracing.mount',
    'rm -f "$1"/etc/machine-id && touch "$1"/etc/machine-id',
    'chroot "$1" useradd -m -u 1000 -s /bin/bash code',
    'echo "code ALL=(ALL) NOPASSWD:ALL" > "$1"/etc/sudoers.d/code && chmod 0440 "$1"/etc/sudoers.d/code',
]


def build_test_image_tar():
    """The cached rootfs tar of the test image (built with mmdebstrap on the first call, ~1-2 min)."""
    cache = pathlib.Path(os.environ.get("COI_TEST_CACHE", "/var/cache/coi-tests"))
    h = hashlib.sha256((PACKAGES + "\n" + "\n".join(HOOKS)).encode()).hexdigest()[:12]
    out = cache / f"shim-test-{h}.tar"
    if out.exists() and out.stat().st_size > 0:
        return out
    if not shutil.which("mmdebstrap"):
        pytest.skip("mmdebstrap is not installed")
    cache.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".tmp.{os.getpid()}")
    cmd = ["mmdebstrap", "--quiet", "--format=tar", "--variant=minbase", f"--include={PACKAGES}"]
    cmd += [f"--customize-hook={hk}" for hk in HOOKS]
    cmd += ["bookworm", str(tmp)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    if r.returncode != 0:
        tmp.unlink(missing_ok=True)
        pytest.skip(f"mmdebstrap of the test image failed: {r.stderr[-500:]}")
    tmp.rename(out)
    return out


if __name__ == "__main__":
    print(build_test_image_tar())
