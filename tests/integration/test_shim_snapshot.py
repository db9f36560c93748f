"""`coi snapshot create|list|restore|delete|info` as a user of code-on-incus 0.8 drives it: checkpoint a
persistent container, roll it back, branch a new container from a snapshot (`restore NAME --as NEW`), and
the snapshot never follows a symlink the container planted towards a host file.

Uses the test image and store layout of test_shim_run.py (cached mmdebstrap tar, COI_DATA_DIR in /tmp)."""
import hashlib
import json
import os
import pathlib
import shutil
import struct
import subprocess
import tempfile
import uuid

import pytest

import compat_contract
from conftest import coi_runner
from test_shim_run import COI, IMAGE, env  # noqa: F401 (env: the test image in a store of its own)

pytestmark = [
    pytest.mark.skipif(not COI.exists() or subprocess.run([str(COI), "snapshot", "--help"],
                                                          capture_output=True).returncode != 0,
                       reason="`coi snapshot` is not wired into build/shim/coi"),
    pytest.mark.skipif(os.geteuid() != 0, reason="system containers need root (id maps, mounts, cgroups)"),
]


@pytest.fixture
def coi(env):
    return coi_runner(env, cwd="/")


@pytest.fixture
def containers(coi):
    """Unique container names; every one is deleted at the end whatever happened."""
    made = []

    def new(name=None):
        made.append(name or f"snap-{uuid.uuid4().hex[:8]}")
        return made[-1]
    yield new
    for name in made:
        coi("container", "delete", name, "--force", check=False)


def cdir(env, name):
    return pathlib.Path(env["COI_DATA_DIR"]) / "containers" / name


def run_in(coi, name, script):
    """(exit code, stdout) of a shell script run as root in the container."""
    doc = json.loads(coi("container", "exec", name, "--capture", "--", "sh", "-c", script).stdout)
    return doc["exit_code"], doc["stdout"]


def sh(coi, name, script):
    code, _ = run_in(coi, name, script)
    assert code == 0, script


def out(coi, name, script):
    code, stdout = run_in(coi, name, script)
    assert code == 0, script
    return stdout


def launched(coi, containers):
    name = containers()
    coi("container", "launch", IMAGE, name, "--persistent")
    return name


def test_restore_brings_back_the_snapshot_state(coi, containers):
    c = launched(coi, containers)
    sh(coi, c, "echo original > /root/notes.txt && mkdir /root/keep && echo k > /root/keep/k")
    r = coi("snapshot", "create", "cp1", "-c", c)
    assert f"Created snapshot 'cp1' for container '{c}'" in r.stderr
    sh(coi, c, "echo changed > /root/notes.txt && rm -rf /root/keep && echo later > /root/later.txt")
    coi("container", "stop", c)
    r = coi("snapshot", "restore", "cp1", "-c", c, "-f")
    assert f"Restored container '{c}' from snapshot 'cp1'" in r.stderr
    coi("container", "start", c)
    assert "original" in out(coi, c, "cat /root/notes.txt")
    assert "k" in out(coi, c, "cat /root/keep/k")
    assert run_in(coi, c, "test -e /root/later.txt")[0] == 1


def test_restore_refuses_a_running_container(coi, containers):
    c = launched(coi, containers)
    coi("snapshot", "create", "s", "-c", c)
    r = coi("snapshot", "restore", "s", "-c", c, "-f", check=False)
    assert r.returncode == 1
    assert "must be stopped" in r.stderr and c in r.stderr


def test_restore_without_force_asks_and_a_no_aborts(coi, containers):
    c = launched(coi, containers)
    sh(coi, c, "echo one > /root/v")
    coi("snapshot", "create", "s", "-c", c)
    sh(coi, c, "echo two > /root/v")
    coi("container", "stop", c)
    r = coi("snapshot", "restore", "s", "-c", c, input="n\n")
    assert "Continue? [y/N]" in r.stderr and "Aborted" in r.stderr
    coi("container", "start", c)
    assert "two" in out(coi, c, "cat /root/v")


def test_snapshot_of_running_container_leaves_it_running(coi, containers):
    c = launched(coi, containers)
    coi("snapshot", "create", "live", "-c", c)
    info = json.loads(coi("container", "info", c, "--format", "json").stdout)
    assert info["status"] == "running"
    assert "ok" in out(coi, c, "echo ok")


def test_list_and_info_text_and_json(coi, containers):
    c = launched(coi, containers)
    coi("snapshot", "create", "first", "-c", c)
    r = coi("snapshot", "create", "-c", c)  # auto-named
    auto = r.stderr.split("'")[1]
    assert auto.startswith("snap-") and len(auto) == len("snap-20260101-120000")
    text = coi("snapshot", "list", "-c", c).stdout
    assert f"Snapshots for {c}:" in text
    assert "NAME" in text and "CREATED" in text and "STATEFUL" in text
    assert "first" in text and auto in text and "Total: 2 snapshots" in text
    doc = json.loads(coi("snapshot", "list", "-c", c, "--format", "json").stdout)
    assert doc["container"] == c
    assert [s["name"] for s in doc["snapshots"]] == ["first", auto]
    assert all(s["stateful"] is False and s["created_at"].endswith("Z") for s in doc["snapshots"])
    text = coi("snapshot", "info", "first", "-c", c).stdout
    assert "Snapshot: first" in text and f"Container: {c}" in text and "Stateful: no" in text
    doc = json.loads(coi("snapshot", "info", "first", "-c", c, "--format", "json").stdout)
    assert doc["container"] == c and doc["snapshot"]["name"] == "first"
    alldoc = json.loads(coi("snapshot", "list", "--all", "--format", "json").stdout)
    assert [s["name"] for s in alldoc[c]] == ["first", auto]


def test_delete_one_and_all(coi, containers, env):
    c = launched(coi, containers)
    for n in ("a", "b", "c"):
        coi("snapshot", "create", n, "-c", c)
    r = coi("snapshot", "delete", "a", "-c", c)
    assert f"Deleted snapshot 'a' from container '{c}'" in r.stderr
    assert not (cdir(env, c) / "snapshots/a").exists()
    names = [s["name"] for s in json.loads(coi("snapshot", "list", "-c", c, "--json").stdout)["snapshots"]]
    assert names == ["b", "c"]
    r = coi("snapshot", "info", "a", "-c", c, check=False)
    assert r.returncode == 1 and "snapshot 'a' not found" in r.stderr
    coi("snapshot", "delete", "--all", "-c", c, "-f")
    assert json.loads(coi("snapshot", "list", "-c", c, "--json").stdout)["snapshots"] == []
    r = coi("snapshot", "delete", "-c", c, check=False)
    assert r.returncode == 2 and "snapshot name required" in r.stderr


def test_branch_gets_the_files_its_own_ids_and_is_independent(coi, containers, env):
    c = launched(coi, containers)
    sh(coi, c, "echo from-snapshot > /root/shared.txt && chown 1000:1000 /root/shared.txt")
    coi("snapshot", "create", "base", "-c", c)
    b = containers()
    r = coi("snapshot", "restore", "base", "--as", b, "-c", c)
    assert f"Created container '{b}'" in r.stderr
    ci = json.loads(coi("container", "info", c, "--format", "json").stdout)
    bi = json.loads(coi("container", "info", b, "--format", "json").stdout)
    assert bi["status"] == "stopped" and bi["ephemeral"] is False and bi["image"] == ci["image"]
    assert abs(bi["uid"] - ci["uid"]) >= 65536 and abs(bi["gid"] - ci["gid"]) >= 65536
    # On the host, the branch's copy belongs to its own block, at the same offset.
    st = os.lstat(cdir(env, b) / "upper/root/shared.txt")
    assert (st.st_uid, st.st_gid) == (bi["uid"] + 1000, bi["gid"] + 1000)
    coi("container", "start", b)
    assert "from-snapshot" in out(coi, b, "cat /root/shared.txt")
    assert out(coi, b, "stat -c %u:%g /root/shared.txt").strip() == "1000:1000"
    assert out(coi, b, "cat /etc/hostname").strip() == b
    assert out(coi, b, "cat /etc/machine-id") != out(coi, c, "cat /etc/machine-id")
    sh(coi, b, "echo branch-only > /root/shared.txt")
    assert "from-snapshot" in out(coi, c, "cat /root/shared.txt")


def test_branch_reshifts_file_capabilities_and_acls(coi, containers, env):
    c = launched(coi, containers)
    sh(coi, c, "echo x > /root/capfile")
    coi("container", "stop", c)
    ci = json.loads(coi("container", "info", c, "--format", "json").stdout)
    f = cdir(env, c) / "upper/root/capfile"
    # A v3 file capability (cap_net_raw) valid for the container's root, as setcap inside would write it.
    os.setxattr(f, "security.capability", struct.pack("<IIIIII", 0x03000001, 1 << 13, 0, 0, 0, ci["uid"]))
    # An ACL entry naming the container's group 4.
    acl = struct.pack("<I", 2) + b"".join(struct.pack("<HHI", t, p, i) for t, p, i in [
        (0x01, 6, 0xFFFFFFFF), (0x04, 4, 0xFFFFFFFF), (0x08, 4, ci["gid"] + 4), (0x10, 4, 0xFFFFFFFF),
        (0x20, 4, 0xFFFFFFFF)])
    os.setxattr(f, "system.posix_acl_access", acl)
    coi("snapshot", "create", "caps", "-c", c)
    b = containers()
    coi("snapshot", "restore", "caps", "--as", b, "-c", c)
    bi = json.loads(coi("container", "info", b, "--format", "json").stdout)
    g = cdir(env, b) / "upper/root/capfile"
    cap = os.getxattr(g, "security.capability")
    assert struct.unpack("<IIIIII", cap)[5] == bi["uid"]
    acl2 = os.getxattr(g, "system.posix_acl_access")
    entries = [struct.unpack("<HHI", acl2[4 + 8 * k:12 + 8 * k]) for k in range((len(acl2) - 4) // 8)]
    assert (0x08, 4, bi["gid"] + 4) in entries


def test_branch_to_an_existing_name_fails(coi, containers):
    c = launched(coi, containers)
    coi("snapshot", "create", "s", "-c", c)
    r = coi("snapshot", "restore", "s", "--as", c, "-c", c, check=False)
    assert r.returncode == 1 and "already exists" in r.stderr


@pytest.mark.parametrize("args,needle,code", [
    (["create", "../escape"], 'invalid snapshot name "../escape"', 1),
    (["info", "missing"], "snapshot 'missing' not found for container", 1),
    (["restore", "missing", "-f"], "snapshot 'missing' not found for container", 1),
    (["delete", "missing"], "snapshot 'missing' not found for container", 1),
    (["create", "--stateful", "live"], "stateful", 1),
])
def test_bad_names_and_unknown_snapshots(coi, containers, args, needle, code):
    c = launched(coi, containers)
    r = coi("snapshot", *args, "-c", c, check=False)
    assert r.returncode == code
    if code == 1:
        assert needle in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1


def test_unknown_container(coi):
    r = coi("snapshot", "list", "-c", "no-such-container", check=False)
    assert r.returncode == 1 and "container 'no-such-container' not found" in r.stderr
    r = coi("snapshot", "list", extra_env={"COI_CONTAINER": "no-such-container"}, check=False)
    assert r.returncode == 1 and "no-such-container" in r.stderr and "not found" in r.stderr


def test_container_from_the_workspace(coi, containers):
    ws = pathlib.Path(tempfile.mkdtemp(prefix="coi-snapws-", dir="/tmp"))
    try:
        r = coi("snapshot", "list", cwd=ws, check=False)
        assert r.returncode == 1 and "no COI containers found for current workspace" in r.stderr
        name = containers("coi-" + hashlib.sha256(str(ws).encode()).hexdigest()[:8] + "-1")
        coi("container", "launch", IMAGE, name, "--persistent")
        coi("snapshot", "create", "ws-snap", cwd=ws)
        doc = json.loads(coi("snapshot", "list", "--format", "json", cwd=ws).stdout)
        assert doc["container"] == name and [s["name"] for s in doc["snapshots"]] == ["ws-snap"]
    finally:
        shutil.rmtree(ws, ignore_errors=True)


def test_symlinks_to_host_paths_are_copied_as_links_never_followed(coi, containers, env):
    host = pathlib.Path(tempfile.mkdtemp(prefix="coi-hostsecret-", dir="/tmp"))
    try:
        secret = host / "shadow"
        secret.write_text("host-secret\n")
        secret.chmod(0o600)
        before = (secret.read_text(), secret.stat().st_mode, secret.stat().st_uid, secret.stat().st_mtime_ns)
        c = launched(coi, containers)
        # Links the container plants towards host paths (which mean something else inside it).
        sh(coi, c, f"ln -s {secret} /root/evil-file && ln -s {host} /root/evil-dir && "
                   f"ln -s ../../../../../..{secret} /root/evil-rel")
        coi("snapshot", "create", "s", "-c", c)
        snap = cdir(env, c) / "snapshots/s/upper/root"
        for link, target in [("evil-file", str(secret)), ("evil-dir", str(host)),
                             ("evil-rel", f"../../../../../..{secret}")]:
            assert (snap / link).is_symlink() and os.readlink(snap / link) == target
        copied = [p for p in (cdir(env, c) / "snapshots").rglob("*") if p.is_file() and not p.is_symlink()
                  and p.stat().st_size < 4096 and b"host-secret" in p.read_bytes()]
        assert copied == []
        coi("container", "stop", c)
        coi("snapshot", "restore", "s", "-c", c, "-f")
        b = containers()
        coi("snapshot", "restore", "s", "--as", b, "-c", c)
        for d in (cdir(env, c), cdir(env, b)):
            assert os.readlink(d / "upper/root/evil-file") == str(secret)
        after = (secret.read_text(), secret.stat().st_mode, secret.stat().st_uid, secret.stat().st_mtime_ns)
        assert after == before
        assert sorted(p.name for p in host.iterdir()) == ["shadow"]
    finally:
        shutil.rmtree(host, ignore_errors=True)


def test_deleting_the_container_deletes_its_snapshots(coi, containers, env):
    c = launched(coi, containers)
    coi("snapshot", "create", "s", "-c", c)
    assert (cdir(env, c) / "snapshots/s/metadata.json").exists()
    coi("container", "delete", c, "--force")
    assert not cdir(env, c).exists()


SNAPSHOT_COMMANDS = [p for p in compat_contract.COMMANDS if p[:1] == ("snapshot",)]


@pytest.mark.parametrize("path", SNAPSHOT_COMMANDS, ids=" ".join)
def test_help_of_every_snapshot_command(coi, path):
    spec = compat_contract.COMMANDS[path]
    for h in ("--help", "-h"):
        r = coi(*path, h)
        assert r.stderr == ""
        if spec["group"]:
            assert "Usage:\n  coi snapshot [command]\n" in r.stdout
            assert all(f"  {p[1]} " in r.stdout for p in SNAPSHOT_COMMANDS if len(p) == 2)
        else:
            assert f"Usage:\n  coi snapshot {spec['use']} [flags]\n" in r.stdout
        for short, long, _kind, _default in spec["flags"]:
            assert (f"  -{short}, --{long}" if short else f"      --{long}") in r.stdout
        assert "Global Flags:" in r.stdout and "-w, --workspace string" in r.stdout


def test_usage_errors(coi):
    # A bare group, or an unknown word below it: the group's help, exit 0.
    for args in ([], ["bogus"]):
        r = coi("snapshot", *args)
        assert "Available Commands:" in r.stdout and "  restore " in r.stdout
    # cobra's parse errors: the usage, then the reason, exit 1.
    r = coi("snapshot", "create", "-dash", "-c", "x", check=False)
    assert r.returncode == 1 and r.stderr.startswith("Usage:\n  coi snapshot create [name] [flags]\n")
    assert r.stderr.endswith("coi: unknown shorthand flag: 'd' in -dash\n")
    r = coi("snapshot", "info", "-c", "x", check=False)
    assert r.returncode == 1 and r.stderr.endswith("coi: accepts 1 arg(s), received 0\n")
    # The usage errors code-on-incus raises itself: exit 2, one line.
    r = coi("snapshot", "list", "--format", "yaml", check=False)
    assert (r.returncode, r.stderr) == (2, "coi: invalid format 'yaml': must be 'text' or 'json'\n")
    r = coi("snapshot", "delete", "-c", "x", check=False)
    assert r.returncode == 2
    assert r.stderr == "coi: snapshot name required (or use --all to delete all snapshots)\n"
    r = coi("snapshot", "delete", "a", "--all", "-c", "x", check=False)
    assert r.returncode == 2 and "mutually exclusive" in r.stderr
