"""System containers as a user drives them: `coi container launch` of the systemd-minimal image boots
systemd to `running` in its own user namespace (ids shifted on the host), exec works, stop shuts systemd
down cleanly and leaves no mount, cgroup or process behind, persistent containers keep their changes and
ephemeral ones don't, and the shared image rootfs is never written.

The image comes from images/systemd-minimal/build (cached mmdebstrap tar), imported once per session into
a temporary store (COI_IMAGES_DIR); every module has its own data dir (COI_DATA_DIR)."""
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest

from conftest import BUILD, ROOT, host_network, coi_runner

COI = BUILD / "shim" / "coi"
CGROUP_PARENT = pathlib.Path("/sys/fs/cgroup/unified/coi")
if not (pathlib.Path("/sys/fs/cgroup/unified").is_dir()):
    CGROUP_PARENT = pathlib.Path("/sys/fs/cgroup/coi")


def _has_container_command():
    if not COI.exists():
        return False
    r = subprocess.run([str(COI), "help", "container"], capture_output=True, text=True)
    return r.returncode == 0


pytestmark = [
    pytest.mark.skipif(not _has_container_command(), reason="`coi container` is not wired into build/shim/coi yet"),
    pytest.mark.skipif(os.geteuid() != 0, reason="system containers need root (id maps, mounts, cgroups)"),
]


@pytest.fixture(scope="session")
def image_store(tmp_path_factory):
    """A store holding the systemd-minimal image, imported once for the whole session."""
    r = subprocess.run(host_network([ROOT / "images" / "systemd-minimal" / "build"]), capture_output=True, text=True,
                       timeout=900)
    if r.returncode != 0:
        pytest.skip(f"images/systemd-minimal/build failed: {r.stderr[-500:]}")
    tar = r.stdout.strip()
    store = tmp_path_factory.mktemp("images")
    imp = subprocess.run([str(COI), "image", "import", tar, "--alias", "systemd-minimal"], capture_output=True,
                         text=True, env=dict(os.environ, COI_IMAGES_DIR=str(store)), timeout=600)
    assert imp.returncode == 0, imp.stderr
    return store


@pytest.fixture(scope="module")
def data_dir():
    # The container's root is an unprivileged uid on the host and must traverse the path to its rootfs:
    # pytest's own temporary directories are 0700 (and other sessions reset that), so use our own.
    d = pathlib.Path(tempfile.mkdtemp(prefix="coi-systest-", dir="/tmp"))
    d.chmod(0o711)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def coi(image_store, data_dir):
    env = dict(os.environ, COI_IMAGES_DIR=str(image_store), COI_DATA_DIR=str(data_dir))

    return coi_runner(env)


def leftovers(data_dir, name, pid=None):
    """What a container could leave behind on the host: mounts, its cgroup, its init."""
    left = []
    cdir = str(data_dir / "containers" / name)
    with open("/proc/self/mountinfo") as f:
        left += [line.split()[4] for line in f if line.split()[4].startswith(cdir)]
    if (CGROUP_PARENT / name).exists():
        left.append(str(CGROUP_PARENT / name))
    if pid:
        # A zombie is no leftover: it holds nothing, and the host's init reaps it (this machine's pid 1
        # does so only every few seconds).
        try:
            status = pathlib.Path(f"/proc/{pid}/status").read_text()
            if "\nState:\tZ" not in status and "systemd" in status.splitlines()[0]:
                left.append(f"process {pid}: {status.splitlines()[0]}")
        except OSError:
            pass
    return left


@pytest.fixture
def launch(coi, data_dir):
    """launch(ephemeral=False) → name of a started container; deleted (--force) at the end, and checked
    to leave nothing behind."""
    made = []

    def new(ephemeral=False, prefix="sys"):
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        coi("container", "launch", "systemd-minimal", name, "--ephemeral" if ephemeral else "--persistent")
        made.append(name)
        return name

    yield new
    for name in made:
        coi("container", "delete", "--force", name, check=False)
        assert leftovers(data_dir, name) == []
        assert not (data_dir / "containers" / name).exists()


def info(coi, name):
    return json.loads(coi("container", "info", name, "--format", "json").stdout)


def capture(coi, name, *cmd, user=None):
    args = ["container", "exec", name, "--capture"]
    if user is not None:
        args += ["--user", str(user)]
    r = coi(*args, "--", *cmd)
    return json.loads(r.stdout)


def wait_booted(coi, name, timeout=30):
    """`systemctl is-system-running --wait` once systemd's bus is up; returns its answer."""
    deadline = time.monotonic() + timeout
    while True:
        out = capture(coi, name, "systemctl", "is-system-running", "--wait")
        state = out["stdout"].strip()
        if state in ("running", "degraded", "maintenance", "stopping") or time.monotonic() > deadline:
            return state
        # Before systemd has opened its private bus, systemctl can't connect yet.
        time.sleep(0.05)


def test_systemd_boots_to_running(coi, launch):
    name = launch()
    # launch returns once systemd's bus is up: the very first exec reaches it.
    state = coi("container", "exec", name, "--", "systemctl", "is-system-running", "--wait", check=False).stdout.strip()
    if state != "running":
        failed = capture(coi, name, "systemctl", "--failed", "--no-pager")["stdout"]
        print(failed)
        pytest.fail(f"is-system-running: {state}\n{failed}")
    assert capture(coi, name, "hostname")["stdout"].strip() == name
    assert capture(coi, name, "sh", "-c", "echo $container")["stdout"].strip() == "coi"
    machine_id = capture(coi, name, "cat", "/etc/machine-id")["stdout"].strip()
    assert len(machine_id) == 32 and int(machine_id, 16)


def test_journal_has_this_boot(coi, launch):
    name = launch()
    wait_booted(coi, name)
    r = capture(coi, name, "sh", "-c", "journalctl -b --no-pager | head")
    assert r["exit_code"] == 0, r
    lines = r["stdout"].splitlines()
    assert len(lines) == 10
    assert any("Journal started" in line for line in lines), lines


def test_exec_returns_the_exit_code(coi, launch):
    name = launch()
    assert coi("container", "exec", name, "--", "true").returncode == 0
    assert coi("container", "exec", name, "--", "sh", "-c", "exit 7", check=False).returncode == 7
    r = coi("container", "exec", name, "--env", "FOO=bar", "--cwd", "/etc", "--", "sh", "-c",
            'echo "$FOO $PWD $HOME $(id -u)"')
    assert r.stdout.strip() == "bar /etc /root 0"


def test_exec_capture_prints_json(coi, launch):
    name = launch()
    out = capture(coi, name, "sh", "-c", "echo out; echo err >&2; exit 3")
    assert out == {"stdout": "out\n", "stderr": "err\n", "exit_code": 3}
    big = capture(coi, name, "sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x; head -c 200000 /dev/zero | tr '\\0' y >&2")
    assert big["stdout"] == "x" * 300000 and big["stderr"] == "y" * 200000
    assert capture(coi, name, "id", "-u", user=1000)["stdout"].strip() == "1000"


def test_files_are_owned_by_root_inside_and_shifted_on_the_host(coi, launch, data_dir):
    name = launch()
    base = info(coi, name)["uid"]
    assert base >= 1000000
    out = capture(coi, name, "sh", "-c", "echo hi > /root/made-inside && stat -c '%u:%g' /root/made-inside /etc/passwd")
    assert out["stdout"].split() == ["0:0", "0:0"]
    st = (data_dir / "containers" / name / "upper" / "root" / "made-inside").stat()
    assert (st.st_uid, st.st_gid) == (base, info(coi, name)["gid"])
    # The init runs with the container's map.
    pid = info(coi, name)["pid"]
    assert pathlib.Path(f"/proc/{pid}/uid_map").read_text().split() == ["0", str(base), "65536"]


def test_two_containers_get_disjoint_id_ranges(coi, launch, data_dir):
    a, b = launch(), launch()
    ra, rb = info(coi, a), info(coi, b)
    for key in ("uid", "gid"):
        lo, hi = sorted([ra[key], rb[key]])
        assert hi >= lo + 65536, (ra, rb)
    table = json.loads((data_dir / "idmap.json").read_text())["allocations"]
    assert table[a]["uid"] == ra["uid"] and table[b]["uid"] == rb["uid"]


def test_concurrent_launches_never_share_ids(coi, image_store, data_dir):
    names = [f"par-{i}-{uuid.uuid4().hex[:6]}" for i in range(4)]
    env = dict(os.environ, COI_IMAGES_DIR=str(image_store), COI_DATA_DIR=str(data_dir))
    procs = [subprocess.Popen([str(COI), "container", "launch", "systemd-minimal", n, "--ephemeral"], env=env,
                              stderr=subprocess.PIPE, text=True) for n in names]
    try:
        for p in procs:
            assert p.wait(timeout=60) == 0, p.stderr.read()
        starts = sorted(info(coi, n)["uid"] for n in names)
        assert all(b - a >= 65536 for a, b in zip(starts, starts[1:])), starts
    finally:
        for n in names:
            coi("container", "delete", "--force", n, check=False)
    assert json.loads((data_dir / "idmap.json").read_text())["allocations"] == {}


def test_stop_shuts_systemd_down_cleanly_and_leaves_nothing(coi, launch, data_dir):
    name = launch()
    wait_booted(coi, name)
    pid = info(coi, name)["pid"]
    assert (CGROUP_PARENT / name).is_dir()
    t0 = time.monotonic()
    r = coi("container", "stop", name, "--timeout", "10")
    elapsed = time.monotonic() - t0
    assert "killed" not in r.stderr, r.stderr
    assert elapsed < 10
    assert leftovers(data_dir, name, pid) == []
    assert info(coi, name)["status"] == "stopped"
    assert "stopped" in coi("container", "list").stdout


def test_stop_kills_after_the_timeout(coi, launch, data_dir):
    name = launch()
    wait_booted(coi, name)
    # An init that ignores the shutdown signal: systemd frozen, so only SIGKILL of the cgroup ends it.
    pid = info(coi, name)["pid"]
    os.kill(pid, 19)  # SIGSTOP
    r = coi("container", "stop", name, "--timeout", "1")
    assert "did not shut down within 1 s: killed" in r.stderr
    assert leftovers(data_dir, name, pid) == []


def test_persistent_container_keeps_its_files(coi, launch):
    name = launch()
    coi("container", "exec", name, "--", "sh", "-c", "echo kept > /root/note")
    coi("container", "stop", name)
    coi("container", "start", name)
    assert capture(coi, name, "cat", "/root/note")["stdout"] == "kept\n"


def test_ephemeral_container_is_gone_after_stop(coi, launch, data_dir):
    name = launch(ephemeral=True)
    coi("container", "exec", name, "--", "sh", "-c", "echo lost > /root/note")
    pid = info(coi, name)["pid"]
    coi("container", "stop", name)
    r = coi("container", "info", name, check=False)
    assert r.returncode == 1 and f"container {name} not found" in r.stderr
    assert not (data_dir / "containers" / name).exists()
    assert name not in json.loads((data_dir / "idmap.json").read_text())["allocations"]
    assert leftovers(data_dir, name, pid) == []
    coi("container", "launch", "systemd-minimal", name, "--ephemeral")
    assert capture(coi, name, "cat", "/root/note")["exit_code"] != 0
    coi("container", "stop", name)


def test_image_rootfs_is_never_written(coi, launch, image_store):
    rootfs = next(image_store.glob("*/rootfs"))
    os_release = (rootfs / "usr/lib/os-release")
    before = hashlib.sha256(os_release.read_bytes()).hexdigest(), sorted(os.listdir(rootfs / "etc"))
    name = launch()
    coi("container", "exec", name, "--", "sh", "-c",
        "echo changed >> /usr/lib/os-release && rm /etc/debian_version && touch /etc/new-file")
    assert capture(coi, name, "tail", "-n1", "/usr/lib/os-release")["stdout"] == "changed\n"
    coi("container", "stop", name)
    after = hashlib.sha256(os_release.read_bytes()).hexdigest(), sorted(os.listdir(rootfs / "etc"))
    assert after == before
    assert os.stat(rootfs / "etc").st_uid == 0


def test_delete_of_a_running_container_needs_force(coi, launch, data_dir):
    name = launch()
    r = coi("container", "delete", name, check=False)
    assert r.returncode == 1 and f"container {name} is running" in r.stderr
    coi("container", "delete", "--force", name)
    assert not (data_dir / "containers" / name).exists()
    assert name not in json.loads((data_dir / "idmap.json").read_text())["allocations"]


def test_errors_name_the_object(coi, data_dir):
    r = coi("container", "launch", "systemd-minimal", "bad_name!", check=False)
    assert r.returncode == 1 and 'invalid container name "bad_name!"' in r.stderr
    r = coi("container", "launch", "no-such-image", "ok-name", check=False)
    assert r.returncode == 1 and "no-such-image" in r.stderr
    assert not (data_dir / "containers" / "ok-name").exists()
    r = coi("container", "start", "missing-one", check=False)
    assert r.returncode == 1 and "container missing-one not found" in r.stderr
    r = coi("container", "exec", "missing-one", "--", "true", check=False)
    assert r.returncode == 1 and "missing-one" in r.stderr
    assert coi("container", "launch", "only-one-arg", check=False).returncode == 2
    assert coi("container", "stop", "x", "--timeout", "soon", check=False).returncode == 2
    assert coi("container", "frobnicate", check=False).returncode == 2


def test_launch_of_an_existing_name_fails(coi, launch):
    name = launch()
    r = coi("container", "launch", "systemd-minimal", name, check=False)
    assert r.returncode == 1 and f"container {name} already exists" in r.stderr
    assert info(coi, name)["status"] == "running"


def test_proc_sys_is_read_only_except_net(coi, launch):
    name = launch()
    out = capture(coi, name, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward && cat /proc/sys/net/ipv4/ip_forward")
    assert out["exit_code"] == 0 and out["stdout"] == "1\n", out
    out = capture(coi, name, "sh", "-c", "echo 1 > /proc/sys/vm/drop_caches")
    assert out["exit_code"] != 0 and "Read-only file system" in out["stderr"], out
    out = capture(coi, name, "sh", "-c", "cat /proc/keys /proc/timer_list 2>&1 | wc -c; mount | grep -c ' /sys .*ro,'")
    assert out["stdout"].split() == ["0", "1"], out


@pytest.mark.parametrize("delay", [0.002, 0.01, 0.03, 0.06])
def test_kill_9_during_launch_leaves_nothing_delete_cannot_remove(coi, image_store, data_dir, delay):
    name = f"kill-{uuid.uuid4().hex[:8]}"
    env = dict(os.environ, COI_IMAGES_DIR=str(image_store), COI_DATA_DIR=str(data_dir))
    p = subprocess.Popen([str(COI), "container", "launch", "systemd-minimal", name], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    p.kill()
    p.wait()
    # Whatever state it was left in, delete --force (what `coi clean` will do per container) cleans up.
    deadline = time.monotonic() + 5
    while True:
        r = coi("container", "delete", "--force", name, check=False)
        if r.returncode == 0 or "not found" in r.stderr or time.monotonic() > deadline:
            break
        time.sleep(0.1)  # the starter child may still be creating the runtime container
    assert r.returncode == 0 or f"container {name} not found" in r.stderr, r.stderr
    assert leftovers(data_dir, name) == []
    assert not (data_dir / "containers" / name).exists()
    assert name not in json.loads((data_dir / "idmap.json").read_text())["allocations"]
    assert not pathlib.Path(f"/run/coi/runtime/{name}").exists()


def test_boot_time(coi, launch):
    """launch → is-system-running = running, a few times; printed for docs/system-containers.md."""
    times = []
    for _ in range(3):
        t0 = time.monotonic()
        name = launch()
        state = wait_booted(coi, name)
        times.append(time.monotonic() - t0)
        assert state == "running"
        coi("container", "delete", "--force", name)
    print(f"boot to running: {', '.join(f'{t:.2f}' for t in times)} s")
    assert min(times) < 10


def test_clean_orphans_of_another_store_leaves_this_one_running(coi, launch, image_store):
    """Two stores (COI_DATA_DIR) share the runtime's state root and the cgroup parent: `coi clean --orphans`
    of one must take the other's running containers for what they are, not for orphans (a developer's
    live sessions while the test suite cleans its own store)."""
    name = launch(ephemeral=True)
    other = pathlib.Path(tempfile.mkdtemp(prefix="coi-systest-other-", dir="/tmp"))
    try:
        env = dict(os.environ, COI_IMAGES_DIR=str(image_store), COI_DATA_DIR=str(other))
        r = subprocess.run([str(COI), "clean", "--orphans", "-f"], capture_output=True, text=True, env=env,
                           timeout=120)
        assert r.returncode == 0, r.stderr
        assert name not in r.stdout
    finally:
        shutil.rmtree(other, ignore_errors=True)
    assert coi("container", "exec", name, "--", "true").returncode == 0
    info = coi("container", "info", name, "--format", "json").stdout
    assert '"status": "running"' in info or '"status":"running"' in info


def test_built_in_seccomp_profile_is_applied_without_any_file(coi, launch):
    """No $COI_SECCOMP_PROFILE, no /etc/coi/seccomp/default.json: the profile compiled into coi."""
    assert not pathlib.Path("/etc/coi/seccomp/default.json").exists()
    name = launch()
    out = capture(coi, name, "sh", "-c", "grep -E '^Seccomp(_filters)?:' /proc/self/status; mkdir /tmp/d && echo MKDIR")
    assert out["stdout"].split() == ["Seccomp:", "2", "Seccomp_filters:", "1", "MKDIR"], out


def test_seccomp_profile_file_overrides_the_built_in(coi, data_dir, tmp_path):
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mknod", "mknodat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}))
    name = f"sys-{uuid.uuid4().hex[:8]}"
    try:
        coi("container", "launch", "systemd-minimal", name, "--ephemeral",
            extra_env={"COI_SECCOMP_PROFILE": str(profile)})
        out = capture(coi, name, "sh", "-c", "mknod /tmp/fifo p || echo REFUSED")
        assert "REFUSED" in out["stdout"] and "Operation not permitted" in out["stderr"], out
    finally:
        coi("container", "delete", "--force", name, check=False)
    assert leftovers(data_dir, name) == []


def test_missing_seccomp_override_is_an_error_naming_it(coi, data_dir):
    name = f"sys-{uuid.uuid4().hex[:8]}"
    r = coi("container", "launch", "systemd-minimal", name, "--ephemeral", check=False,
            extra_env={"COI_SECCOMP_PROFILE": "/nonexistent/profile.json"})
    assert r.returncode != 0
    assert "$COI_SECCOMP_PROFILE" in r.stderr and "/nonexistent/profile.json" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert leftovers(data_dir, name) == []
