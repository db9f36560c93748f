"""The stress suite's world: a mount namespace of its own (beside the network namespace tests/conftest.py
makes), the test image imported into a data directory of the run, and the short or full variant
(COI_STRESS_FULL=1: 500 kill cycles, 20 containers for 5 minutes). Test modules import it first."""
import ctypes
import os
import pathlib
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest

from conftest import BUILD
from snapshot import diff, snapshot
from test_shim_run import IMAGE, build_test_image_tar

CLONE_NEWNS = 0x00020000
FULL = os.environ.get("COI_STRESS_FULL") == "1"
COI = BUILD / "shim" / "coi"
BINARIES = (COI, BUILD / "runtime" / "coi-runtime")


def _own_mount_namespace():
    """Mounts made by coi (and left by a kill) land in this namespace only: the baseline is exact, and
    other work on the machine mounting meanwhile can't disturb it. Done once, at collection (one thread)."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        raise RuntimeError(f"unshare(CLONE_NEWNS): {os.strerror(ctypes.get_errno())}")
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)


_own_mount_namespace()


def variant(short, full):
    return full if FULL else short


_WORLD = []


@pytest.fixture(scope="session")
def world():
    """env (a data dir with the test image, a runtime dir, a HOME, a container-name prefix of this run),
    a workspace owned by uid 1234, and the base directory. One per run: every module importing this
    fixture gets the first one (the image import takes most of a minute)."""
    if _WORLD:
        yield _WORLD[0]
        return
    if os.geteuid() != 0:
        pytest.skip("system containers need root")
    if not COI.exists():
        pytest.fail(f"{COI} is not built")
    tar = build_test_image_tar()
    base = pathlib.Path(tempfile.mkdtemp(prefix="coi-stress-", dir="/tmp"))
    base.chmod(0o711)
    (base / "data").mkdir(mode=0o711)
    (base / "home").mkdir()
    ws = base / "ws"
    ws.mkdir(mode=0o755)
    subprocess.run(["git", "init", "-q", str(ws)], check=True)
    (ws / "README").write_text("hello\n")
    (ws / "src").mkdir()
    (ws / "src" / "main.c").write_text("int main(void) { return 0; }\n")
    os.symlink("src/main.c", ws / "link")
    for p in [ws, *ws.rglob("*")]:
        os.lchown(p, 1234, 1234)
    prefix = f"coistress{uuid.uuid4().hex[:4]}-"
    env = dict(os.environ, COI_IMAGES_DIR=str(base / "images"), COI_DATA_DIR=str(base / "data"),
               COI_RUNTIME_DIR=str(base / "runtime"), HOME=str(base / "home"), COI_CONTAINER_PREFIX=prefix)
    for k in ("SUDO_UID", "SUDO_GID", "SUDO_USER", "COI_CONTAINER", "SSH_AUTH_SOCK"):
        env.pop(k, None)
    r = subprocess.run([str(COI), "image", "import", str(tar), "--alias", IMAGE, "--allow-setid"],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    _WORLD.append({"env": env, "prefix": prefix, "ws": ws, "base": base})
    yield _WORLD[0]
    for args in (("kill", "--all", "--force"), ("clean", "--all", "--force")):
        subprocess.run([str(COI), *args], capture_output=True, env=env, timeout=300)
    shutil.rmtree(base, ignore_errors=True)


SETTLE_S = 15  # the DNS forwarder takes the bridge and the table down 2 s after the last container


def coi(world, *args, timeout=120, check=True, env=None):
    r = subprocess.run([str(COI), *map(str, args)], capture_output=True, text=True, env=env or world["env"],
                       timeout=timeout, cwd=world["ws"])
    if check and r.returncode != 0:
        pytest.fail(f"coi {' '.join(map(str, args))} exited {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def clean(world):
    """What a user does after a crash: clean, kill what still runs, clean again. None, or what failed."""
    for args in (("clean", "--all", "--force"), ("kill", "--all", "--force"), ("clean", "--all", "--force")):
        r = coi(world, *args, check=False)
        if r.returncode != 0 or "coi:" in r.stderr:
            return f"coi {' '.join(args)} exited {r.returncode}: {r.stderr.strip()}"
    return None


def now(world):
    return snapshot(world["env"], world["prefix"], BINARIES, [world["ws"]], {os.getpid()})


def settled(world, base):
    """The diff against the baseline, once empty or after SETTLE_S."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        d = diff(base, now(world))
        if not d or time.monotonic() > deadline:
            return d
        time.sleep(0.2)


def baseline(world):
    """The snapshot after a warm-up (a session with a network, a launched container exec'd and deleted:
    the store's files exist) and a clean, once the network's pieces are gone again."""
    coi(world, "run", "--image", IMAGE, "--", "true", env=dict(world["env"], SUDO_UID="1234", SUDO_GID="1234"))
    name = f"{world['prefix']}ffffffff-1"
    coi(world, "container", "launch", IMAGE, name, "--network", "restricted")
    coi(world, "container", "exec", name, "--", "true")
    coi(world, "container", "delete", name, "--force")
    assert clean(world) is None
    time.sleep(SETTLE_S / 3)
    base = now(world)
    assert not settled(world, base)
    return base
