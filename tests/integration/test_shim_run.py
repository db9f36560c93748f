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

from conftest import BUILD, ROOT, host_network

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
    r = subprocess.run(host_network(cmd), capture_output=True, text=True, timeout=1200)
    if r.returncode != 0:
        tmp.unlink(missing_ok=True)
        pytest.skip(f"mmdebstrap of the test image failed: {r.stderr[-500:]}")
    tmp.rename(out)
    return out


def _has_run():
    return COI.exists() and subprocess.run([str(COI), "help", "run"], capture_output=True).returncode == 0


pytestmark = [
    pytest.mark.skipif(not _has_run(), reason="`coi run` is not wired into build/shim/coi"),
    pytest.mark.skipif(os.geteuid() != 0, reason="system containers need root (id maps, mounts, cgroups)"),
]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """COI_IMAGES_DIR with the test image, COI_DATA_DIR (0711, outside pytest's 0700 tmp), a HOME."""
    tar = build_test_image_tar()
    base = pathlib.Path(tempfile.mkdtemp(prefix="coi-shimtest-", dir="/tmp"))
    base.chmod(0o711)
    (base / "data").mkdir(mode=0o711)
    (base / "home").mkdir()
    e = dict(os.environ, COI_IMAGES_DIR=str(base / "images"), COI_DATA_DIR=str(base / "data"),
             HOME=str(base / "home"))
    e.pop("SUDO_UID", None)
    e.pop("SUDO_GID", None)
    r = subprocess.run([str(COI), "image", "import", str(tar), "--alias", IMAGE, "--allow-setid"],
                       capture_output=True, text=True, env=e, timeout=600)
    assert r.returncode == 0, r.stderr
    yield e
    subprocess.run([str(COI), "kill", "-a", "-f"], capture_output=True, env=e, timeout=120)
    subprocess.run([str(COI), "clean", "--orphans", "-f"], capture_output=True, env=e, timeout=120)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def workspace():
    """A git repository owned by uid 1234 (the 'host user' of the tests, passed as SUDO_UID)."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="coi-ws-", dir="/tmp"))
    d.chmod(0o755)
    subprocess.run(["git", "init", "-q", str(d)], check=True)
    (d / "README").write_text("hello\n")
    for p in [d, *d.rglob("*")]:
        os.lchown(p, 1234, 1234)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def coi(env, workspace):
    def run(*args, check=True, timeout=120, user=1234, **kw):
        e = dict(env, SUDO_UID=str(user), SUDO_GID=str(user)) if user is not None else env
        r = subprocess.run([str(COI), *map(str, args)], capture_output=True, text=True, env=e, timeout=timeout,
                           cwd=workspace, **kw)
        if check and r.returncode != 0:
            pytest.fail(f"coi {' '.join(map(str, args))} exited {r.returncode}\n{r.stdout}\n{r.stderr}")
        return r
    return run


def test_exit_code_comes_through(coi):
    r = coi("run", "--image", IMAGE, "--", "sh", "-c", "echo out; echo err >&2; exit 3", check=False)
    assert r.returncode == 3
    assert "out" in r.stdout
    assert "err" in r.stderr


def test_json_format(coi):
    r = coi("run", "--image", IMAGE, "--format", "json", "--", "sh", "-c", "echo hi; exit 4", check=False)
    assert r.returncode == 4
    import json
    doc = json.loads(r.stdout)
    assert doc == {"stdout": "hi\n", "stderr": "", "exit_code": 4}


def test_git_status_in_workspace(coi):
    r = coi("run", "--image", IMAGE, "--", "git", "status")
    assert "No commits yet" in r.stdout
    assert "README" in r.stdout


def test_runs_as_code_in_workspace(coi):
    r = coi("run", "--image", IMAGE, "--", "sh", "-c", "id -un; pwd; stat -c %U /workspace/README")
    assert r.stdout.split() == ["code", "/workspace", "code"]


def test_created_file_belongs_to_host_user(coi, workspace):
    coi("run", "--image", IMAGE, "--", "sh", "-c", "echo data > /workspace/made-inside")
    st = (workspace / "made-inside").stat()
    assert (st.st_uid, st.st_gid) == (1234, 1234)


def test_hooks_read_only_even_for_root(coi, workspace):
    script = ("sudo sh -c 'echo x > /workspace/.git/hooks/pre-commit' && echo WROTE; "
              "sudo mount -o remount,bind,rw /workspace/.git/hooks && echo REMOUNTED; "
              "sudo umount /workspace/.git/hooks && echo UNMOUNTED; "
              "echo x > /workspace/.git/config.new && echo WORKSPACE-WRITABLE; true")
    r = coi("run", "--image", IMAGE, "--", "sh", "-c", script)
    assert "WROTE" not in r.stdout
    assert "REMOUNTED" not in r.stdout
    assert "UNMOUNTED" not in r.stdout
    assert "WORKSPACE-WRITABLE" in r.stdout  # only the protected paths are read-only
    assert not (workspace / ".git/hooks/pre-commit").exists()


def test_missing_protected_paths_leave_nothing_behind(coi, workspace):
    r = coi("run", "--image", IMAGE, "--", "sh", "-c", "test -d /workspace/.vscode && ! touch /workspace/.vscode/x")
    assert r.returncode == 0
    assert not (workspace / ".vscode").exists()
    assert not (workspace / ".husky").exists()


def test_two_slots_side_by_side(env, workspace):
    e = dict(env, SUDO_UID="1234", SUDO_GID="1234")
    cmd = "echo {} > ~/mark; sleep 3; cat ~/mark; hostname"
    procs = [subprocess.Popen([str(COI), "run", "--image", IMAGE, "--slot", str(n), "--", "sh", "-c", cmd.format(n)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=workspace, env=e)
             for n in (1, 2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    (m1, h1), (m2, h2) = (o[0].split() for o in outs)
    assert (m1, m2) == ("1", "2"), outs  # separate homes
    assert h1.endswith("-1") and h2.endswith("-2") and h1[:-2] == h2[:-2], outs


def test_sigterm_ends_the_command_and_removes_the_container(env, workspace):
    e = dict(env, SUDO_UID="1234", SUDO_GID="1234")
    p = subprocess.Popen([str(COI), "run", "--image", IMAGE, "--slot", "5", "--", "sleep", "300"], cwd=workspace,
                         env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while "coi-" not in subprocess.run([str(COI), "list"], capture_output=True, text=True, env=e).stdout:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(0.3)
    p.terminate()
    p.communicate(timeout=30)
    assert p.returncode == 128 + 15
    assert "(none)" in subprocess.run([str(COI), "list"], capture_output=True, text=True, env=e).stdout


def test_persistent_container_is_reused_with_its_home(coi):
    coi("run", "--persistent", "--image", IMAGE, "--", "sh", "-c", "echo kept > ~/p")
    try:
        r = coi("run", "--persistent", "--image", IMAGE, "--", "sh", "-c", "cat ~/p; ls /workspace")
        assert "Restarting existing persistent container" in r.stderr
        assert r.stdout.split() == ["kept", "README"]
    finally:
        coi("kill", "-a", "-f")


def test_env_and_extra_mounts(coi, tmp_path):
    extra = tmp_path / "extra"
    r = coi("run", "-e", "FOO=bar", "--mount", f"{extra}:/data", "--image", IMAGE, "--",
            "sh", "-c", "echo $FOO; echo hi > /data/made")
    assert r.stdout.strip() == "bar"
    assert (extra / "made").stat().st_uid == 1234  # created on the host, idmapped like the workspace
    r = coi("run", "--mount", f"{extra}:/data:ro", "--image", IMAGE, "--", "sh", "-c", "echo x > /data/no",
            check=False)
    assert r.returncode != 0 and "Read-only file system" in r.stderr


def test_backend_incus_refused(coi):
    r = coi("run", "--backend", "incus", "--", "true", check=False)
    assert r.returncode == 2
    assert "the incus backend is not implemented yet" in r.stderr


def test_run_true_is_fast(coi):
    times = []
    for _ in range(3):
        t0 = time.monotonic()
        coi("run", "--image", IMAGE, "--", "true")
        times.append(time.monotonic() - t0)
    print(f"coi run -- true: {', '.join(f'{t:.3f}' for t in times)} s")
    assert min(times) < 2.0


if __name__ == "__main__":
    print(build_test_image_tar())
