"""What the monitor's test suites share: an image with the tools attacks and normal work need (bash,
perl, python3, socat, nc, gcc, make, git), a coi environment with [monitoring] enabled, and netlab's
world (this process in a network namespace of its own playing the host, an "outside" namespace playing
the internet), so every packet of an attack stays in namespaces the test made."""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "integration"))

from conftest import BUILD, cached_rootfs_tar  # noqa: E402
from netlab import OUT_DNS, lab_in_new_netns  # noqa: E402

COI = BUILD / "shim" / "coi"
IMAGE = "coi-monitor-test"
PACKAGES = ("systemd,systemd-sysv,dbus,ca-certificates,procps,git,sudo,python3,perl,socat,netcat-openbsd,"
            "gcc,make,libc6-dev")
HOOKS = [
    'rm -f "$1"/etc/machine-id && touch "$1"/etc/machine-id',
    'chroot "$1" useradd -m -u 1000 -s /bin/bash code',
    'echo "code ALL=(ALL) NOPASSWD:ALL" > "$1"/etc/sudoers.d/code && chmod 0440 "$1"/etc/sudoers.d/code',
]
CONFIG = """[monitoring]
enabled = true
auto_pause_on_high = true
auto_kill_on_critical = true
upload_threshold_mb = 20.0
"""


def image_tar():
    """The cached rootfs tar of the monitor's test image (mmdebstrap on the first call, ~2-3 min)."""
    return cached_rootfs_tar("monitor-test", PACKAGES, HOOKS)


class Env:
    """A scratch coi world (images, data, HOME) with the test image and the lab's network variables."""

    def __init__(self, lab):
        self.base = pathlib.Path(tempfile.mkdtemp(prefix="coi-montest-", dir="/tmp"))
        self.base.chmod(0o711)
        (self.base / "data").mkdir(mode=0o711)
        (self.base / "home" / ".coi").mkdir(parents=True)
        (self.base / "home" / ".coi" / "config.toml").write_text(CONFIG)
        self.env = dict(os.environ, COI_IMAGES_DIR=str(self.base / "images"), COI_DATA_DIR=str(self.base / "data"),
                        HOME=str(self.base / "home"), SUDO_UID="1234", SUDO_GID="1234",
                        **{k: v for k, v in lab.env.items() if k.startswith("COI_NET")})
        # only the outside's dnsmasq upstream (netlab's first resolver is a dead one the forwarder waits
        # 2 s for: its failover is test_shim_network's business)
        (self.base / "resolv.conf").write_text(f"nameserver {OUT_DNS}\n")
        self.env["COI_NET_RESOLV_CONF"] = str(self.base / "resolv.conf")
        for k in ("SUDO_USER", "COI_CONTAINER"):
            self.env.pop(k, None)
        self.ws = self.base / "ws"
        self.ws.mkdir()
        self.ws.chmod(0o755)
        subprocess.run(["git", "init", "-q", str(self.ws)], check=True)
        (self.ws / "README").write_text("hello\n")
        os.lchown(self.ws, 1234, 1234)
        for p in self.ws.rglob("*"):
            os.lchown(p, 1234, 1234)
        r = self.coi("image", "import", str(image_tar()), "--alias", IMAGE, "--allow-setid", timeout=900)
        assert r.returncode == 0, r.stderr

    def coi(self, *args, timeout=120, **kw):
        return subprocess.run([str(COI), *map(str, args)], capture_output=True, text=True, env=self.env,
                              cwd=self.ws, timeout=timeout, **kw)

    def popen(self, *args):
        return subprocess.Popen([str(COI), *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=self.env, cwd=self.ws)

    def audit(self, name):
        path = self.base / "home" / ".coi" / "audit" / f"{name}.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def close(self):
        self.coi("kill", "-a", "-f", timeout=120)
        self.coi("clean", "--orphans", "-f", timeout=120)
        shutil.rmtree(self.base, ignore_errors=True)


def start_shell(e, persistent=True):
    """A persistent container with a long-running `sleep` session; returns (name, the coi process)."""
    p = e.popen("run", "--image", IMAGE, "--persistent", "--", "sleep", "600")
    name = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and name is None:
        r = e.coi("list", "--format", "json")
        for c in json.loads(r.stdout or "{}").get("active_containers", []):
            if c["status"] == "Running":
                name = c["name"]
        time.sleep(0.2)
    assert name, "the container did not come up"
    # the monitor is up before the session's command runs (session_start waits for it)
    return name, p


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not COI.exists():
        pytest.skip("build/shim/coi is not built")
    if os.geteuid() != 0:
        pytest.skip("system containers need root")
    if shutil.which("dnsmasq") is None or shutil.which("nft") is None:
        pytest.skip("needs dnsmasq (dnsmasq-base) and nft")
    with lab_in_new_netns(tmp_path_factory.mktemp("monlab"), [COI, "network"]) as lab:
        yield lab


@pytest.fixture(scope="module")
def menv(lab):
    e = Env(lab)
    yield e
    e.close()
