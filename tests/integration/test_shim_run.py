"""`coi run` as a CI job uses it: the command's output and exit code come through, the workspace is
mounted idmapped at /workspace (files the sandbox user creates belong to the host user), protected paths
are read-only even for the container's root, and two slots run side by side.

The test image (systemd + git + tmux + sudo + a `code` user, uid 1000) is an mmdebstrap tar cached in
$COI_TEST_CACHE like images/systemd-minimal/build, imported once per session as "coi-default"-like alias
"coi-test"; tests pass --image coi-test."""
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import BUILD, cached_rootfs_tar, coi_runner

COI = BUILD / "shim" / "coi"
IMAGE = "coi-test"
PACKAGES = "systemd,systemd-sysv,dbus,ca-certificates,procps,git,tmux,sudo,less"
HOOKS = [
    'rm -f "$1"/etc/machine-id && touch "$1"/etc/machine-id',
    'chroot "$1" useradd -m -u 1000 -s /bin/bash code',
    'echo "code ALL=(ALL) NOPASSWD:ALL" > "$1"/etc/sudoers.d/code && chmod 0440 "$1"/etc/sudoers.d/code',
]


def build_test_image_tar():
    """The cached rootfs tar of the test image (built with mmdebstrap on the first call, ~1-2 min)."""
    return cached_rootfs_tar("shim-test", PACKAGES, HOOKS, timeout=1200)


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
    for k in ("SUDO_UID", "SUDO_GID", "COI_CONTAINER"):
        e.pop(k, None)
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
    base = coi_runner(env, cwd=workspace)

    def run(*args, user=1234, **kw):
        return base(*args, extra_env={"SUDO_UID": str(user), "SUDO_GID": str(user)} if user is not None else None,
                    **kw)
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


def test_root_without_sudo_acts_for_the_checkouts_owner(coi, workspace):
    """A CI job as root in the runner user's checkout (no SUDO_UID): the launch works, the workspace's
    files are the agent's, what it writes belongs to the checkout's owner, protected paths still hold."""
    r = coi("run", "--image", IMAGE, "--", "sh", "-c",
            "stat -c %U /workspace/README; echo data > /workspace/by-ci; "
            "echo x > /workspace/.git/hooks/pre-commit || echo HOOKS-READ-ONLY", user=None)
    assert r.stdout.split() == ["code", "HOOKS-READ-ONLY"], r.stdout + r.stderr
    st = (workspace / "by-ci").stat()
    assert (st.st_uid, st.st_gid) == (1234, 1234)
    assert not (workspace / ".git/hooks/pre-commit").exists()


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
        r = coi("run", "--persistent", "--image", IMAGE, "--", "sh", "-c",
                "cat ~/p; ls /workspace; grep -c 'BEGIN COI Sandbox Context' ~/.claude/CLAUDE.md")
        assert "Restarting existing persistent container" in r.stderr
        assert r.stdout.split() == ["kept", "README", "1"]  # the context block is replaced, not stacked
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


def test_run_command_line(coi):
    """Flags before the command (with or without --); everything after the command is its own."""
    r = coi("run", "--image", IMAGE, "sh", "-c", "echo $0 $1", "-w", "--format")
    assert r.stdout.split() == ["-w", "--format"]
    r = coi("-w", ".", "run", "--format", "json", "--image", IMAGE, "--", "printf", "%s\\n", "--help")
    assert json.loads(r.stdout) == {"stdout": "--help\n", "stderr": "", "exit_code": 0}
    r = coi("run", check=False)
    assert r.returncode == 1 and "requires at least 1 arg(s), only received 0" in r.stderr
    r = coi("run", "--format", "yaml", "--", "true", check=False)
    assert r.returncode == 2 and "invalid format 'yaml'" in r.stderr
    r = coi("run", "--bogus", "--", "true", check=False)
    assert r.returncode == 1 and "unknown flag: --bogus" in r.stderr


def test_run_true_is_fast(coi):
    times = []
    for _ in range(3):
        t0 = time.monotonic()
        coi("run", "--image", IMAGE, "--", "true")
        times.append(time.monotonic() - t0)
    print(f"coi run -- true: {', '.join(f'{t:.3f}' for t in times)} s")
    assert min(times) < 2.0


def coi_with(env, workspace, *args, config=None, home=None, extra_env=None, timeout=120):
    """coi as the host user 1234, with a config file and a HOME of this test."""
    e = dict(env, SUDO_UID="1234", SUDO_GID="1234", **(extra_env or {}))
    if config is not None:
        # Inside the test's own base directory (env's fixture removes it), not loose in /tmp.
        base = pathlib.Path(env["COI_DATA_DIR"]).parent
        path = pathlib.Path(tempfile.mkdtemp(prefix="cfg-", dir=base)) / "config.toml"
        path.write_text(config)
        e["COI_CONFIG"] = str(path)
    if home is not None:
        e["HOME"] = str(home)
    return subprocess.run([str(COI), *map(str, args)], capture_output=True, text=True, env=e, timeout=timeout,
                          cwd=workspace)


def managed_block(text):
    begin = text.index("# BEGIN COI Sandbox Context")
    end = text.index("# END COI Sandbox Context")
    return text[:begin], text[begin:end]


def test_sandbox_context_describes_the_session(env, workspace, tmp_path):
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".claude/CLAUDE.md").write_text("My own rules for Claude.\n")
    r = coi_with(env, workspace, "run", "--image", IMAGE, "--network", "open", "--", "sh", "-c",
                 "cat ~/SANDBOX_CONTEXT.md; echo =====; cat ~/.claude/CLAUDE.md; echo =====; "
                 "stat -c %U ~/SANDBOX_CONTEXT.md ~/.claude/CLAUDE.md",
                 config='[network]\nmode = "restricted"\n[defaults]\nforward_env = ["COI_TEST_FWD"]\n',
                 home=tmp_path, extra_env={"COI_TEST_FWD": "secret-value"})
    assert r.returncode == 0, r.stderr
    page, claude_md, owners = r.stdout.split("=====\n")
    assert "| Workspace | /workspace |" in page
    assert "| Network | open: no network restrictions |" in page  # --network wins over the config
    assert "`.git/hooks`" in page  # a protected path, read-only
    assert "`COI_TEST_FWD`" in page and "secret-value" not in page  # names only
    mine, block = managed_block(claude_md)
    assert mine.startswith("My own rules for Claude.")
    assert "| Workspace | /workspace |" in block
    assert owners.split() == ["code", "code"]
    assert (tmp_path / ".claude/CLAUDE.md").read_text() == "My own rules for Claude.\n"  # host file untouched


def test_auto_context_false_leaves_claude_md_alone(env, workspace, tmp_path):
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".claude/CLAUDE.md").write_text("Only mine.\n")
    r = coi_with(env, workspace, "run", "--image", IMAGE, "--", "sh", "-c",
                 "cat ~/.claude/CLAUDE.md; test -f ~/SANDBOX_CONTEXT.md && echo PAGE",
                 config="[tool]\nauto_context = false\n", home=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Only mine.\nPAGE\n"


def test_context_file_replaces_the_page_and_profile_context_is_appended(env, workspace, tmp_path):
    (tmp_path / "mine.md").write_text("# Our own sandbox page\n")
    r = coi_with(env, workspace, "run", "--image", IMAGE, "--", "cat", "/home/code/SANDBOX_CONTEXT.md",
                 config=f'[tool]\ncontext_file = "{tmp_path}/mine.md"\n', home=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "# Our own sandbox page\n"
    r = coi_with(env, workspace, "run", "--image", IMAGE, "--", "true",
                 config=f'[tool]\ncontext_file = "{tmp_path}/missing.md"\n', home=tmp_path)
    assert r.returncode != 0 and "missing.md" in r.stderr


def test_profile_context_is_appended(env, workspace, tmp_path):
    prof = tmp_path / "profiles" / "ctx"
    prof.mkdir(parents=True)
    (prof / "config.toml").write_text('context = "CONTEXT.md"\n')
    (prof / "CONTEXT.md").write_text("Deploys go through the staging cluster.\n")
    (tmp_path / "config.toml").write_text("")
    e = dict(env, SUDO_UID="1234", SUDO_GID="1234", COI_CONFIG=str(tmp_path / "config.toml"))
    r = subprocess.run([str(COI), "run", "--profile", "ctx", "--image", IMAGE, "--", "cat", "/home/code/SANDBOX_CONTEXT.md"],
                       capture_output=True, text=True, env=e, cwd=workspace, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "| Workspace | /workspace |" in r.stdout
    assert r.stdout.endswith("Deploys go through the staging cluster.\n")


def test_opencode_gets_the_page_in_its_instructions(env, workspace, tmp_path):
    import json
    cfg = tmp_path / ".config/opencode"
    cfg.mkdir(parents=True)
    (cfg / "opencode.json").write_text('{"theme": "mine", "instructions": ["~/notes.md"]}')
    r = coi_with(env, workspace, "run", "--image", IMAGE, "--tool", "opencode", "--", "cat",
                 "/home/code/.config/opencode/opencode.json", home=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["theme"] == "mine"
    assert doc["instructions"] == ["~/notes.md", "/home/code/SANDBOX_CONTEXT.md"]
    assert doc["permission"] == {"*": "allow"}


def test_run_gets_timezone_environment_and_forwarded_variables(env, workspace):
    r = coi_with(env, workspace, "run", "--image", IMAGE, "-e", "FLAG=f", "--", "sh", "-c",
                 "echo $TZ $FOO $COI_TEST_FWD $FLAG",
                 config='[timezone]\nmode = "fixed"\nname = "America/Denver"\n'
                        '[defaults]\nenvironment = { FOO = "configured" }\nforward_env = ["COI_TEST_FWD"]\n',
                 extra_env={"COI_TEST_FWD": "from-host"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["America/Denver", "configured", "from-host", "f"]


@pytest.fixture
def ssh_agent(tmp_path):
    """An ssh-agent of the host user 1234 holding one key: (socket, key comment, dir with ssh-add)."""
    if not shutil.which("ssh-agent") or not shutil.which("ssh-keygen"):
        pytest.skip("needs openssh-client on the host")
    d = pathlib.Path(tempfile.mkdtemp(prefix="coi-agent-", dir="/tmp"))
    os.chown(d, 1234, 1234)
    d.chmod(0o700)
    bindir = pathlib.Path(tempfile.mkdtemp(prefix="coi-sshbin-", dir="/tmp"))
    bindir.chmod(0o755)
    shutil.copy(shutil.which("ssh-add"), bindir / "ssh-add")  # the test image has no openssh-client
    user = ["setpriv", "--reuid", "1234", "--regid", "1234", "--clear-groups"]
    sock = d / "agent.sock"
    out = subprocess.run([*user, "ssh-agent", "-a", str(sock)], capture_output=True, text=True, check=True).stdout
    pid = int(out.split("SSH_AGENT_PID=")[1].split(";")[0])
    try:
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "coi-test-key", "-f", str(d / "key")],
                       check=True, capture_output=True)  # as root: uid 1234 has no passwd entry
        os.chown(d / "key", 1234, 1234)
        subprocess.run([*user, "env", f"SSH_AUTH_SOCK={sock}", "ssh-add", str(d / "key")], check=True,
                       capture_output=True)
        yield sock, "coi-test-key", bindir
    finally:
        os.kill(pid, 15)
        shutil.rmtree(d, ignore_errors=True)
        shutil.rmtree(bindir, ignore_errors=True)


def test_ssh_agent_is_forwarded(env, workspace, ssh_agent):
    sock, comment, bindir = ssh_agent
    r = coi_with(env, workspace, "run", "--image", IMAGE, "--mount", f"{bindir}:/opt/ssh:ro", "--", "sh", "-c",
                 "/opt/ssh/ssh-add -l; grep 'SSH agent' ~/SANDBOX_CONTEXT.md",
                 config="[ssh]\nforward_agent = true\n", extra_env={"SSH_AUTH_SOCK": str(sock)})
    assert r.returncode == 0, r.stderr
    assert comment in r.stdout
    assert "forwarded from the host" in r.stdout
    assert not list(pathlib.Path("/run").glob("coi-ssh-*"))  # the relay is gone with the container
    r = coi_with(env, workspace, "run", "--image", IMAGE, "--mount", f"{bindir}:/opt/ssh:ro", "--",
                 "/opt/ssh/ssh-add", "-l", extra_env={"SSH_AUTH_SOCK": str(sock)})
    assert r.returncode == 2 and comment not in r.stdout  # forward_agent is off by default


def test_ssh_agent_of_another_user_is_not_forwarded(env, workspace, tmp_path):
    if not shutil.which("ssh-agent"):
        pytest.skip("needs openssh-client on the host")
    sock = tmp_path / "root-agent.sock"
    out = subprocess.run(["ssh-agent", "-a", str(sock)], capture_output=True, text=True, check=True).stdout
    pid = int(out.split("SSH_AGENT_PID=")[1].split(";")[0])
    try:
        r = coi_with(env, workspace, "run", "--image", IMAGE, "--", "sh", "-c", "echo sock=$SSH_AUTH_SOCK",
                     config="[ssh]\nforward_agent = true\n", extra_env={"SSH_AUTH_SOCK": str(sock)})
    finally:
        os.kill(pid, 15)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "sock="
    assert "SSH agent forwarding is enabled but the SSH_AUTH_SOCK socket is not yours" in r.stderr


if __name__ == "__main__":
    print(build_test_image_tar())
