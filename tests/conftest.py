"""Shared pytest fixtures: where the built binaries are, and helpers to run them as a user would."""
import os
import pathlib
import pty
import select
import subprocess
import time
import sys
import uuid

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD = pathlib.Path(os.environ.get("COI_BUILD_DIR", ROOT / "build"))

# tests/integration/bundle.py (bundles, the Runtime wrapper) is shared by every suite.
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from bundle import CGROUP2, Runtime, make_bundle, remove_cgroup  # noqa: E402


# Every test runs in a network namespace of its own (made here, before any test or fixture): whatever
# coi, a peer runtime or a test does to "the host's" network (bridge, NAT, nftables, the DNS forwarder)
# happens there and goes with it; nothing can reach a real address. Only the builds of test images,
# which need Debian's and npm's registries, go back to the original namespace, through host_network().
# coi's network state follows the namespace: a directory of this run, not /run/coi/net.
_HOST_NETNS_FD = None
CLONE_NEWNET = 0x40000000


def pytest_configure(config):
    global _HOST_NETNS_FD
    if os.geteuid() != 0 or _HOST_NETNS_FD is not None:
        return
    import ctypes
    import tempfile
    fd = os.open("/proc/self/ns/net", os.O_RDONLY)
    if ctypes.CDLL(None, use_errno=True).unshare(CLONE_NEWNET) != 0:
        os.close(fd)
        raise pytest.UsageError(f"unshare(CLONE_NEWNET): {os.strerror(ctypes.get_errno())}")
    _HOST_NETNS_FD = fd
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    state = tempfile.mkdtemp(prefix="coi-test-net-", dir="/run" if os.path.isdir("/run") else None)
    resolv = os.path.join(state, "upstream-resolv.conf")
    with open(resolv, "w") as f:
        f.write("nameserver 192.0.2.53\n")  # TEST-NET-1: unroutable here, never answered
    os.environ["COI_NET_STATE_DIR"] = os.path.join(state, "state")
    os.environ["COI_NET_RESOLV_CONF"] = resolv
    config._coi_net_state = state


def pytest_unconfigure(config):
    state = getattr(config, "_coi_net_state", None)
    if not state:
        return
    import shutil
    import signal
    pidfile = os.path.join(state, "state", "dns.pid")
    try:
        os.kill(int(open(pidfile).read()), signal.SIGTERM)
    except (OSError, ValueError):
        pass
    shutil.rmtree(state, ignore_errors=True)


def host_network(cmd):
    """cmd, run in the machine's own network namespace (for builds that fetch packages)."""
    if _HOST_NETNS_FD is None:
        return [str(c) for c in cmd]
    return ["nsenter", f"--net=/proc/{os.getpid()}/fd/{_HOST_NETNS_FD}", "--", *[str(c) for c in cmd]]


def cached_rootfs_tar(name, packages, hooks, timeout=1800):
    """A minbase bookworm rootfs tar with packages and customize hooks, built with mmdebstrap on the
    first call and cached in $COI_TEST_CACHE under name and a hash of what goes in (skips without
    mmdebstrap, or when the build fails, with mmdebstrap's own error)."""
    import hashlib
    import shutil
    cache = pathlib.Path(os.environ.get("COI_TEST_CACHE", "/var/cache/coi-tests"))
    h = hashlib.sha256((packages + "\n" + "\n".join(hooks)).encode()).hexdigest()[:12]
    out = cache / f"{name}-{h}.tar"
    if out.exists() and out.stat().st_size > 0:
        return out
    if not shutil.which("mmdebstrap"):
        pytest.skip("mmdebstrap is not installed")
    cache.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".tmp.{os.getpid()}")
    cmd = ["mmdebstrap", "--quiet", "--format=tar", "--variant=minbase", f"--include={packages}"]
    cmd += [f"--customize-hook={hk}" for hk in hooks]
    cmd += ["bookworm", str(tmp)]
    r = subprocess.run(host_network(cmd), capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        tmp.unlink(missing_ok=True)
        pytest.skip(f"mmdebstrap of {name} failed: {r.stderr[-500:]}")
    tmp.rename(out)
    return out


def _binary(rel):
    path = BUILD / rel
    if not path.exists():
        pytest.fail(f"{path} is not built: run ninja -C {BUILD}")
    return path


@pytest.fixture(scope="session")
def runtime_bin():
    """Path of build/runtime/coi-runtime."""
    return _binary("runtime/coi-runtime")


@pytest.fixture(scope="session")
def coi_bin():
    """Path of build/shim/coi."""
    return _binary("shim/coi")


def run(cmd, check=True, timeout=60, **kw):
    """Runs a command, capturing text output; fails the test with the output when check is set."""
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        pytest.fail(f"{' '.join(map(str, cmd))} exited {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}")
    return r


def coi_runner(env, cwd=None, prefix=(), timeout=120):
    """run(*args, check=True, timeout, input=None, extra_env=None, cwd) → the finished `coi ARGS…` (the
    build's binary, env + extra_env, prefix before it, e.g. nsenter); with check, a failure fails the
    test with the command's output. run.env is env."""
    def run(*args, check=True, timeout=timeout, input=None, extra_env=None, cwd=cwd, **kw):
        r = subprocess.run([*map(str, prefix), str(BUILD / "shim" / "coi"), *map(str, args)], capture_output=True,
                           text=True, env=dict(env, **(extra_env or {})), cwd=cwd, timeout=timeout, input=input,
                           **kw)
        if check and r.returncode != 0:
            pytest.fail(f"coi {' '.join(map(str, args))} exited {r.returncode}\n{r.stdout}\n{r.stderr}")
        return r
    run.env = env
    return run


def run_in_pty(argv, stdin_text=b"", timeout=30):
    """Runs argv on a fresh pty (a user's terminal): returns (output text, exit code)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(str(argv[0]), [str(a) for a in argv])
    if stdin_text:
        os.write(fd, stdin_text)
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return out.decode(errors="replace"), os.waitstatus_to_exitcode(status)


@pytest.fixture
def ids():
    """Unique container ids; their cgroups are removed at the end whatever happened."""
    made = []

    def new(prefix="c"):
        cid = f"coitest-{prefix}-{uuid.uuid4().hex[:8]}"
        made.append(cid)
        return cid

    yield new
    for cid in made:
        remove_cgroup(CGROUP2 / cid)


@pytest.fixture
def rt(runtime_bin):
    r = Runtime(runtime_bin, f"/tmp/coi-rt-test-{uuid.uuid4().hex[:8]}")
    yield r
    r.cleanup()


@pytest.fixture
def bundle(tmp_path, runtime_bin):
    """bundle(config_dict, name=…) → a busybox bundle built on `coi-runtime spec`."""
    count = [0]

    def make(config=None, **kw):
        count[0] += 1
        return make_bundle(tmp_path / f"bundle{count[0]}", config, runtime_bin=runtime_bin, **kw)

    return make
