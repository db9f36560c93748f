"""A new user's machine: a freshly unpacked minbase Debian bookworm (git, sudo and ca-certificates only,
as root) gets coi from a copy of this checkout with the README's first command, and what it installed
works. Catches every build or install step that only works because this machine already had a package.

The minbase tar is made once with mmdebstrap and cached in $COI_TEST_CACHE (as the test images are);
downloaded .debs are kept in $COI_TEST_CACHE/cleanroom-apt, so a CI run spends its time installing and
building, not downloading. Every step runs in a mount namespace of its own (proc, sys, dev mounted for
the chroot there and gone with it) in the machine's network namespace (apt needs Debian's archive).
The full check by hand, quickstart with the image build and then tests/run in such a chroot, is in
docs/install.md."""
import json
import os
import pathlib
import shlex
import shutil
import subprocess
import tempfile

import pytest

from conftest import ROOT, host_network

CACHE = pathlib.Path(os.environ.get("COI_TEST_CACHE", "/var/cache/coi-tests"))
PACKAGES = "git,sudo,ca-certificates"
SRC = "/src/coi"  # where the checkout is copied inside the chroot

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="chroot, mounts and apt need root"),
    pytest.mark.skipif(shutil.which("mmdebstrap") is None, reason="mmdebstrap is not installed"),
]


def minbase_tar():
    """The cached minbase bookworm tar (mmdebstrap on the first call, about a minute)."""
    out = CACHE / f"cleanroom-minbase-{PACKAGES.replace(',', '-')}.tar"
    if out.exists() and out.stat().st_size > 0:
        return out
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".tmp.{os.getpid()}")
    cmd = ["mmdebstrap", "--quiet", "--format=tar", "--variant=minbase", f"--include={PACKAGES}",
           "bookworm", str(tmp)]
    r = subprocess.run(host_network(cmd), capture_output=True, text=True, timeout=1200)
    if r.returncode != 0:
        tmp.unlink(missing_ok=True)
        pytest.fail(f"mmdebstrap of the minbase tar failed (exit {r.returncode}):\n{r.stderr[-3000:]}")
    tmp.rename(out)
    return out


def copy_checkout(dest):
    """The files git knows of (tracked and untracked-not-ignored) as they are in the work tree."""
    r = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                       capture_output=True, check=True)
    for rel in filter(None, r.stdout.decode().split("\0")):
        src = ROOT / rel
        if not os.path.lexists(src):  # deleted in the work tree, not yet in the index
            continue
        dst = dest / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), dst)
        else:
            shutil.copy2(src, dst)


class Chroot:
    def __init__(self, root, apt_cache):
        self.root = root
        self.apt_cache = apt_cache

    def run(self, step, script, timeout=1500):
        """Runs script with bash as root in the chroot (cwd SRC); fails the test naming the step and
        showing its last lines when it exits non-zero. Returns the finished process."""
        r = pathlib.Path(self.root)
        # pivot_root, not chroot: the kernel refuses new user namespaces to a chrooted process, and
        # coi needs them. The old root is detached before the step runs.
        mounts = f"""set -e
mount --bind {r} {r}
mount -t proc proc {r}/proc
mount --rbind /sys {r}/sys
mount --rbind /dev {r}/dev
mount -t tmpfs -o mode=755 tmpfs {r}/run
mount --bind {self.apt_cache} {r}/var/cache/apt/archives
cd {r}
pivot_root . mnt
exec /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \\
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    /bin/bash -c {shlex.quote(f"umount -l /mnt && cd {SRC} && {script}")}
"""
        cmd = host_network(["unshare", "--mount", "--propagation", "private", "/bin/bash", "-c", mounts])
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
        if p.returncode != 0:
            lines = (p.stdout + p.stderr).splitlines()[-40:]
            pytest.fail(f"clean room, step `{step}` exited {p.returncode}; its last lines:\n" + "\n".join(lines))
        return p


@pytest.fixture(scope="module")
def installed():
    """A fresh minbase chroot in which `tools/quickstart --install-only` ran (install-deps, build,
    install into /usr/local)."""
    tar = minbase_tar()
    apt_cache = CACHE / "cleanroom-apt"
    (apt_cache / "partial").mkdir(parents=True, exist_ok=True)
    root = pathlib.Path(tempfile.mkdtemp(prefix="coi-cleanroom-", dir="/var/tmp"))
    try:
        subprocess.run(["tar", "-xf", str(tar), "-C", str(root)], check=True, capture_output=True)
        copy_checkout(root / SRC.lstrip("/"))
        # A chroot is not a booted machine: package scripts must not start services on the host.
        policy = root / "usr/sbin/policy-rc.d"
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        (root / "etc/resolv.conf").unlink(missing_ok=True)
        shutil.copyfile("/etc/resolv.conf", root / "etc/resolv.conf")
        chroot = Chroot(root, apt_cache)
        chroot.run("tools/quickstart --install-only", "tools/quickstart --install-only")
        yield chroot
    finally:
        # The mounts lived in the steps' own namespaces: nothing is mounted below root here.
        with open("/proc/self/mountinfo") as f:
            assert str(root) not in f.read(), f"{root} still has mounts"
        subprocess.run(["rm", "-rf", "--one-file-system", str(root)], check=True)


def test_installed_coi_prints_its_version(installed):
    p = installed.run("coi version", "command -v coi && coi version && coi --version")
    lines = p.stdout.splitlines()
    assert lines[0] == "/usr/local/bin/coi"
    assert lines[1].startswith("code-on-incus (coi) v")
    assert lines[3] == "coi version " + lines[1].rsplit(" v", 1)[1]


def test_installed_coi_health_finds_no_failure(installed):
    """Degraded at most: on a new machine the default image is not built yet."""
    p = installed.run("coi health", "coi health --format json; echo exit=$?")
    out, _, code = p.stdout.rpartition("exit=")
    assert int(code) in (0, 1), p.stdout
    report = json.loads(out)
    failed = [c for c in report["checks"].values() if c["status"] not in ("ok", "warning")]
    assert not failed, failed
    assert report["checks"]["image"]["status"] == "warning"


def test_installed_runtime_writes_a_spec(installed):
    p = installed.run("coi-runtime spec", "d=$(mktemp -d) && cd $d && coi-runtime spec && cat config.json")
    spec = json.loads(p.stdout)
    assert spec["ociVersion"].startswith("1.")
    assert spec["process"]["args"]


def test_installed_coi_finds_its_seccomp_profile_and_recipe(installed):
    """Installed, nothing on the side: the profile is compiled in, the recipe is in /usr/local/share."""
    p = installed.run("coi build --help", "coi build --help")
    assert "/usr/local/share/coi/images/default" in p.stdout
    installed.run("installed recipe", "test -x /usr/local/share/coi/images/default/build")


def test_quickstart_without_a_terminal_says_how_to_open_the_shell(installed):
    """Run again from a script (stdin no terminal), with a default image present: every step is already
    done, and instead of failing on `coi shell` it prints the command that opens it."""
    r = subprocess.run(host_network([ROOT / "images/systemd-minimal/build"]), capture_output=True, text=True,
                       timeout=1200)
    assert r.returncode == 0, r.stderr
    os.link(r.stdout.strip(), installed.root / "root/minimal.tar")
    installed.run("coi image import", "coi image import /root/minimal.tar --alias coi-default")
    p = installed.run("tools/quickstart (no terminal)", "mkdir -p /root/project && cd /root/project && "
                      f"{SRC}/tools/quickstart")
    assert "quickstart: installed coi-runtime" in p.stdout
    assert "no terminal on stdin" in p.stdout
    assert "cd /root/project && coi shell" in p.stdout
    assert "==> mmdebstrap" not in p.stdout  # the image was there: nothing rebuilt
