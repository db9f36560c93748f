"""coi image import/export/list/info/alias/delete as a user drives them: a busybox rootfs packed with
GNU tar (gzip, xz, zstd), an OCI layout written by hand (two layers, whiteouts, a nested index), an
Incus unified tarball. Every test has its own store (COI_IMAGES_DIR in a temporary directory)."""
import gzip
import hashlib
import io
import json
import os
import pathlib
import shutil
import signal
import subprocess
import tarfile
import time

import pytest

from conftest import BUILD, coi_runner

COI = BUILD / "shim" / "coi"
BUSYBOX = pathlib.Path("/bin/busybox")
CAP = "security.capability"


def _has_image_command():
    if not COI.exists():
        return False
    r = subprocess.run([str(COI), "image", "--help"], capture_output=True, text=True)
    return r.returncode == 0


pytestmark = [
    pytest.mark.skipif(not _has_image_command(), reason="`coi image` is not in build/shim/coi yet"),
    pytest.mark.skipif(os.geteuid() != 0, reason="owners and file capabilities need root"),
]


@pytest.fixture
def store(tmp_path):
    return tmp_path / "store"


@pytest.fixture
def coi(store):
    env = dict(os.environ, COI_IMAGES_DIR=str(store))

    return coi_runner(env)


def tree(root):
    """path -> (kind, mode, uid, gid, symlink target or content digest, file capability) for a rootfs."""
    root = pathlib.Path(root)
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = pathlib.Path(dirpath, n)
            st = p.lstat()
            if p.is_symlink():
                kind, extra = "l", os.readlink(p)
            elif p.is_dir():
                kind, extra = "d", None
            else:
                kind, extra = "f", hashlib.sha256(p.read_bytes()).hexdigest()
            try:
                cap = os.getxattr(p, CAP, follow_symlinks=False)
            except OSError:
                cap = None
            out[str(p.relative_to(root))] = (kind, st.st_mode & 0o7777, st.st_uid, st.st_gid, extra, cap)
    return out


@pytest.fixture
def rootfs(tmp_path):
    """A small busybox rootfs with owners, a setgid dir, a hardlink and a file capability."""
    if not BUSYBOX.exists():
        pytest.skip("busybox-static is not installed")
    if not shutil.which("setcap"):
        pytest.skip("setcap (libcap2-bin) is not installed")
    r = tmp_path / "rootfs"
    for d in ("bin", "etc", "home/user", "tmp", "usr/bin"):
        (r / d).mkdir(parents=True)
    shutil.copy(BUSYBOX, r / "bin/busybox")
    for applet in ("sh", "ls", "cat"):
        os.symlink("busybox", r / "bin" / applet)
    (r / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n")
    os.link(r / "etc/passwd", r / "etc/passwd.hardlink")
    os.chown(r / "home/user", 1000, 1000)
    os.chmod(r / "home/user", 0o2750)
    os.chmod(r / "tmp", 0o1777)
    (r / "usr/bin/ping").write_bytes(b"\x7fELF fake ping\n")
    os.chmod(r / "usr/bin/ping", 0o755)
    subprocess.run(["setcap", "cap_net_raw+ep", str(r / "usr/bin/ping")], check=True)
    assert os.getxattr(r / "usr/bin/ping", CAP)
    return r


def pack(rootfs, out, compression):
    flag = {"gz": "--gzip", "xz": "--xz", "zst": "--zstd", "none": None}[compression]
    cmd = ["tar", "--xattrs", "--xattrs-include=*", "--numeric-owner", "-C", str(rootfs), "-cf", str(out)]
    if flag:
        cmd.insert(1, flag)
    subprocess.run(cmd + ["."], check=True)
    return out


@pytest.mark.parametrize("compression", ["gz", "xz", "zst"])
def test_import_busybox_rootfs(tmp_path, store, coi, rootfs, compression):
    archive = pack(rootfs, tmp_path / f"busybox.tar.{compression}", compression)
    r = coi("image", "import", archive, "--alias", "busybox")
    assert r.stdout.startswith("Imported busybox (rootfs, amd64,")

    assert tree(store / "busybox" / "rootfs") == tree(rootfs)
    info = json.loads(coi("image", "info", "busybox", "--format", "json").stdout)
    assert info["name"] == "busybox" and info["aliases"] == []
    assert info["format"] == "rootfs"
    assert info["architecture"] == "amd64"
    assert info["source"] == str(archive)
    assert info["digest"] == "sha256:" + hashlib.sha256(archive.read_bytes()).hexdigest()
    assert info["size"] >= BUSYBOX.stat().st_size
    assert info["created"].endswith("Z") and info["created"][10] == "T"
    rel = (store / "busybox" / "rootfs").stat()
    assert (rel.st_mode & 0o777, rel.st_uid) == (rootfs.stat().st_mode & 0o777, 0)
    # the image runs: busybox from the imported tree
    out = subprocess.run([str(store / "busybox/rootfs/bin/busybox"), "echo", "hi"], capture_output=True, text=True)
    assert out.stdout == "hi\n"


def test_export_then_import_gives_the_same_tree(tmp_path, store, coi, rootfs):
    coi("image", "import", pack(rootfs, tmp_path / "b.tar.gz", "gz"), "--alias", "one")
    for compression, suffix in (("zstd", "tar.zst"), ("xz", "tar.xz"), ("none", "tar"), ("gzip", "tgz")):
        out = tmp_path / f"export.{suffix}"
        r = coi("image", "export", "one", out, "--compression", compression)
        assert r.stdout == f"Exported one to {out} ({compression})\n"
        coi("image", "import", out, "--alias", f"again-{compression}")
        assert tree(store / f"again-{compression}" / "rootfs") == tree(rootfs)
        assert os.getxattr(store / f"again-{compression}/rootfs/usr/bin/ping", CAP) == \
            os.getxattr(rootfs / "usr/bin/ping", CAP)
    # GNU tar reads what we write, owners and capabilities included
    listing = subprocess.run(["tar", "--numeric-owner", "-tvf", str(tmp_path / "export.tar")],
                             capture_output=True, text=True, check=True).stdout
    assert "drwxr-s--- 1000/1000" in listing and "./home/user/" in listing
    assert " ./etc/passwd.hardlink link to ./etc/passwd" in listing or \
        " ./etc/passwd link to ./etc/passwd.hardlink" in listing
    # the compression follows the file name when not given
    coi("image", "export", "one", tmp_path / "auto.tar.xz")
    assert (tmp_path / "auto.tar.xz").read_bytes()[:6] == b"\xfd7zXZ\x00"


def test_id_shift_moves_owners_and_file_capabilities(tmp_path, store, coi, rootfs):
    coi("image", "import", pack(rootfs, tmp_path / "b.tar.gz", "gz"), "--alias", "shifted", "--id-shift", "100000")
    got = store / "shifted" / "rootfs"
    assert got.stat().st_uid == 100000
    assert (got / "home/user").stat().st_uid == 101000 and (got / "home/user").stat().st_gid == 101000
    assert (got / "bin/sh").lstat().st_uid == 100000
    # a v2 capability (host root) becomes v3 naming the shifted root, or a user namespace ignores it
    v2 = os.getxattr(rootfs / "usr/bin/ping", CAP)
    v3 = os.getxattr(got / "usr/bin/ping", CAP)
    assert len(v2) == 20 and len(v3) == 24
    assert v3[3] == 0x03 and v3[4:20] == v2[4:20]
    assert int.from_bytes(v3[20:24], "little") == 100000
    r = coi("image", "import", tmp_path / "b.tar.gz", "--alias", "x", "--id-shift", "-5", check=False)
    assert r.returncode == 2


def test_list_info_alias_delete(tmp_path, store, coi, rootfs):
    archive = pack(rootfs, tmp_path / "b.tar", "none")
    coi("image", "import", archive, "--alias", "beta")
    coi("image", "import", archive, "--alias", "alpha")
    assert [i["name"] for i in json.loads(coi("image", "list", "--format", "json").stdout)] == ["alpha", "beta"]
    text = coi("image", "list").stdout.splitlines()
    assert text[0].split() == ["NAME", "ALIASES", "FORMAT", "ARCH", "SIZE", "CREATED"]
    assert text[1].split()[:4] == ["alpha", "-", "rootfs", "amd64"]

    assert coi("image", "alias", "alpha", "a1").stdout == "Added alias a1 for alpha\n"
    assert json.loads(coi("image", "info", "a1", "--format", "json").stdout)["aliases"] == ["a1"]
    assert "Name:         alpha" in coi("image", "info", "a1").stdout

    # names and aliases are unique across the store
    r = coi("image", "alias", "beta", "a1", check=False)
    assert (r.returncode, r.stderr) == (1, "coi: a1 is already an alias of image alpha\n")
    r = coi("image", "alias", "beta", "alpha", check=False)
    assert (r.returncode, r.stderr) == (1, "coi: alpha is already the name of image alpha\n")
    r = coi("image", "import", archive, "--alias", "a1", check=False)
    assert r.returncode == 1 and "a1 is already an alias of image alpha" in r.stderr
    r = coi("image", "import", archive, "--alias", "beta", check=False)
    assert (r.returncode, r.stderr.splitlines()[-1]) == (1, "coi: image beta already exists (use --force to replace it)")

    # --force replaces the image and keeps its aliases
    coi("image", "alias", "beta", "b1")
    coi("image", "import", archive, "--alias", "beta", "--force")
    assert json.loads(coi("image", "info", "b1", "--format", "json").stdout)["name"] == "beta"
    assert sorted(os.listdir(store)) == ["alpha", "beta"]

    assert coi("image", "delete", "a1").stdout == "Deleted a1\n"
    assert [i["name"] for i in json.loads(coi("image", "list", "--format", "json").stdout)] == ["beta"]
    r = coi("image", "delete", "alpha", check=False)
    assert (r.returncode, r.stderr) == (1, f"coi: image alpha not found in {store}\n")
    assert sorted(os.listdir(store)) == ["beta"]


def test_interrupted_import_leaves_nothing(tmp_path, store):
    """Ctrl-C half-way through (the archive comes through a pipe, so "half-way" is exact)."""
    big = tmp_path / "big"
    big.mkdir()
    for i in range(6):
        (big / f"blob{i}").write_bytes(os.urandom(2 << 20))
    data = pack(big, tmp_path / "big.tar", "none").read_bytes()
    fifo = tmp_path / "pipe.tar"
    os.mkfifo(fifo)
    env = dict(os.environ, COI_IMAGES_DIR=str(store))
    p = subprocess.Popen([str(COI), "image", "import", str(fifo), "--alias", "cut"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with open(fifo, "wb") as w:
        w.write(data[: 5 << 20])
        w.flush()
        deadline = time.monotonic() + 10
        while not any(n.startswith(".tmp-") for n in (os.listdir(store) if store.exists() else [])):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.2)
        p.send_signal(signal.SIGINT)
        try:
            w.write(data[5 << 20:])
        except BrokenPipeError:
            pass
    out, err = p.communicate(timeout=30)
    assert p.returncode == 1, out + err
    assert err.splitlines()[-1] == "coi: pipe.tar: interrupted"
    assert os.listdir(store) == []


def test_usage_and_file_errors(tmp_path, store, coi):
    def rc(*args):
        r = coi(*args, check=False)
        return r.returncode, r.stderr.splitlines()[-1] if r.stderr else ""

    # cobra's wording and exit 1 for what the parser refuses, 2 for a bad --format or --compression
    assert rc("image", "import", "x.tar") == (1, 'coi: required flag(s) "alias" not set')
    assert rc("image", "import", "x.tar", "--alias", "n", "--bogus") == (1, "coi: unknown flag: --bogus")
    assert rc("image", "export", "n", "f.tar", "--compression", "lz4") == \
        (2, "coi: invalid compression 'lz4': must be 'none', 'gzip', 'xz' or 'zstd'")
    assert rc("image", "list", "--format", "yaml") == (2, "coi: invalid format 'yaml': must be 'text' or 'json'")
    assert rc("image", "info", "n", "--format", "table")[0] == 2
    assert rc("image", "info") == (1, "coi: accepts 1 arg(s), received 0")
    assert rc("image", "import", "x.tar", "--alias", "n", "--id-shift", "2147483648")[0] == 2
    # a group alone, or with a word naming none of its commands, shows its help
    for args in (("image",), ("image", "frobnicate"), ("image", "--help")):
        r = coi(*args)
        assert "Available Commands:" in r.stdout and "cleanup" in r.stdout and "import" in r.stdout
    assert "--keep int" in coi("image", "cleanup", "--help").stdout
    missing = tmp_path / "missing.tar.gz"
    assert rc("image", "import", missing, "--alias", "n") == (1, f"coi: {missing}: No such file or directory")
    assert rc("image", "import", missing, "--alias", "../evil")[1].startswith('coi: invalid image name "../evil"')
    assert rc("image", "info", "nope") == (1, f"coi: image nope not found in {store}")
    assert rc("image", "export", "nope", tmp_path / "o.tar") == (1, f"coi: image nope not found in {store}")
    assert not (tmp_path / "o.tar").exists()
    # ls and rm are coi's short names of list and delete
    assert json.loads(coi("image", "ls", "--format", "json").stdout) == []
    assert rc("image", "rm", "nope") == (1, f"coi: image nope not found in {store}")


def test_exists_is_an_exit_code(tmp_path, store, coi, rootfs):
    r = coi("image", "exists", "one", check=False)
    assert (r.returncode, r.stdout, r.stderr) == (1, "", "")
    coi("image", "import", pack(rootfs, tmp_path / "b.tar", "none"), "--alias", "one")
    coi("image", "alias", "one", "uno")
    for name in ("one", "uno"):
        r = coi("image", "exists", name)
        assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert coi("image", "exists", "on", check=False).returncode == 1


def test_list_prefix_and_all(tmp_path, store, coi, rootfs):
    archive = pack(rootfs, tmp_path / "b.tar", "none")
    for name in ("node-1", "node-2", "python-1"):
        coi("image", "import", archive, "--alias", name)
    coi("image", "alias", "python-1", "node-py")

    r = coi("image", "list", "--prefix", "node-")
    assert [line.split()[0] for line in r.stdout.splitlines()[1:]] == ["node-1", "node-2", "python-1"]
    got = json.loads(coi("image", "list", "--prefix", "node-2", "--format", "json").stdout)
    assert [i["name"] for i in got] == ["node-2"]
    assert json.loads(coi("image", "list", "--prefix", "rust-", "--format", "json").stdout) == []
    r = coi("image", "list", "--prefix", "rust-")
    assert (r.returncode, r.stdout) == (0, "No images found with prefix 'rust-'\n")
    # every image in coi's store is coi's: -a/--all lists the same
    assert coi("image", "list", "-a").stdout == coi("image", "list").stdout == coi("image", "list", "--all").stdout


def test_cleanup_keeps_the_newest(tmp_path, store, coi, rootfs):
    archive = pack(rootfs, tmp_path / "b.tar", "none")
    # versioned names (code-on-incus's -YYYYMMDD-HHMMSS) sort by their stamp, not by import order
    for name in ("app-20260103-000000", "app-20260101-120000", "app-20260102-090000", "other-20250101-000000"):
        coi("image", "import", archive, "--alias", name)

    r = coi("image", "cleanup", "app-", "--keep", "5")
    assert r.stderr.startswith("Cleanup complete:") and "Deleted" not in r.stderr
    assert sorted(os.listdir(store)) == ["app-20260101-120000", "app-20260102-090000", "app-20260103-000000",
                                         "other-20250101-000000"]

    r = coi("image", "cleanup", "app-", "--keep", "2")
    assert "Deleted 1 old version(s):\n  - app-20260101-120000\n" in r.stderr
    assert "Kept 2 recent version(s):\n  - app-20260103-000000\n  - app-20260102-090000\n" in r.stderr
    assert sorted(os.listdir(store)) == ["app-20260102-090000", "app-20260103-000000", "other-20250101-000000"]

    # without a stamp in the name, the time the image was made decides; an alias matches too
    coi("image", "import", archive, "--alias", "tool-a")
    time.sleep(1.1)
    coi("image", "import", archive, "--alias", "b-tool")
    coi("image", "alias", "b-tool", "tool-b")
    coi("image", "cleanup", "tool-", "--keep", "1")
    assert coi("image", "exists", "b-tool").returncode == 0
    assert coi("image", "exists", "tool-a", check=False).returncode == 1

    r = coi("image", "cleanup", "app-", "--keep", "0", check=False)
    assert (r.returncode, r.stderr) == (2, "coi: --keep must be > 0\n")
    r = coi("image", "cleanup", "app-", check=False)
    assert r.returncode == 1 and 'required flag(s) "keep" not set' in r.stderr
    assert sorted(os.listdir(store)) == ["app-20260102-090000", "app-20260103-000000", "b-tool",
                                         "other-20250101-000000"]


def test_publish_is_refused_with_the_way_to_go(coi):
    r = coi("image", "publish", "c1", "img", check=False)
    assert r.returncode == 1
    assert "image publish is not supported" in r.stderr and "coi build --profile" in r.stderr


# ---- OCI image layout, written by hand ----

def _layer(entries):
    """A gzip'd layer tar from (name, kind, data) tuples; returns (compressed bytes, diff id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, data in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1700000000
            if kind == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
            else:
                ti.size, ti.mode = len(data), 0o644
                t.addfile(ti, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0), "sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()


def _blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": "sha256:" + digest, "size": len(data)}


def make_oci_layout(layout):
    layout.mkdir()
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    l1, d1 = _layer([("etc", "dir", b""), ("etc/hostname", "file", b"oci\n"), ("etc/old", "file", b"old\n"),
                     ("opt", "dir", b""), ("opt/a", "file", b"a\n"), ("opt/sub", "dir", b""),
                     ("opt/sub/b", "file", b"b\n"), ("bin", "dir", b""), ("bin/tool", "file", b"v1\n")])
    l2, d2 = _layer([("etc/.wh.old", "file", b""), ("opt", "dir", b""), ("opt/.wh..wh..opq", "file", b""),
                     ("opt/c", "file", b"c\n"), ("bin/tool", "file", b"v2\n")])
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [d1, d2]}, "config": {}}).encode()
    gz = "application/vnd.oci.image.layer.v1.tar+gzip"
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": dict(_blob(layout, config), mediaType="application/vnd.oci.image.config.v1+json"),
        "layers": [dict(_blob(layout, l1), mediaType=gz), dict(_blob(layout, l2), mediaType=gz)],
    }).encode()
    # an arm64 manifest that must not be picked (its blob doesn't even exist)
    other = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1,
             "digest": "sha256:" + "0" * 64, "platform": {"architecture": "arm64", "os": "linux"}}
    mine = dict(_blob(layout, manifest), mediaType="application/vnd.oci.image.manifest.v1+json",
                platform={"architecture": "amd64", "os": "linux"})
    nested = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                         "manifests": [other, mine]}).encode()
    index = {"schemaVersion": 2, "manifests": [
        dict(_blob(layout, nested), mediaType="application/vnd.oci.image.index.v1+json")]}
    (layout / "index.json").write_text(json.dumps(index))
    return layout


def check_oci_rootfs(rootfs):
    assert (rootfs / "etc/hostname").read_text() == "oci\n"
    assert not (rootfs / "etc/old").exists()          # .wh.old
    assert sorted(os.listdir(rootfs / "opt")) == ["c"]  # opaque: a and sub/ from layer 1 are gone
    assert (rootfs / "bin/tool").read_text() == "v2\n"
    assert not any(".wh." in str(p) for p in rootfs.rglob("*"))


def test_import_oci_layout_directory_and_tar(tmp_path, store, coi):
    layout = make_oci_layout(tmp_path / "layout")
    r = coi("image", "import", layout, "--alias", "oci-dir")
    assert r.stdout.startswith("Imported oci-dir (oci, amd64,")
    assert "layer 1/2" in r.stderr and "layer 2/2" in r.stderr  # plain progress lines, not a terminal
    check_oci_rootfs(store / "oci-dir" / "rootfs")
    info = json.loads(coi("image", "info", "oci-dir", "--format", "json").stdout)
    assert info["digest"] == "sha256:" + hashlib.sha256((layout / "index.json").read_bytes()).hexdigest()

    archive = tmp_path / "layout.tar"
    subprocess.run(["tar", "-C", str(layout), "-cf", str(archive), "."], check=True)
    r = coi("image", "import", archive, "--alias", "oci-tar")
    assert r.stdout.startswith("Imported oci-tar (oci, amd64,")
    check_oci_rootfs(store / "oci-tar" / "rootfs")
    assert not (store / "oci-tar" / "oci").exists() and not (store / "oci-tar" / "rootfs" / "blobs").exists()
    info = json.loads(coi("image", "info", "oci-tar", "--format", "json").stdout)
    assert (info["format"], info["digest"]) == ("oci", "sha256:" + hashlib.sha256(archive.read_bytes()).hexdigest())


def test_oci_layer_with_wrong_digest_is_refused(tmp_path, store, coi):
    layout = make_oci_layout(tmp_path / "layout")
    manifest_digest = None
    for blob in (layout / "blobs/sha256").iterdir():
        data = blob.read_bytes()
        if data[:2] == b"\x1f\x8b":  # a gzip'd layer: replace it with other content
            blob.write_bytes(_layer([("pwned", "file", b"x\n")])[0])
        elif b'"layers"' in data:
            manifest_digest = blob.name
    assert manifest_digest
    r = coi("image", "import", layout, "--alias", "bad", check=False)
    assert r.returncode == 1
    assert "layout: layer 1/2 (sha256:" in r.stderr and "digest mismatch: expected sha256:" in r.stderr
    assert os.listdir(store) == []


def test_oci_index_without_my_platform(tmp_path, store, coi):
    layout = make_oci_layout(tmp_path / "layout")
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1, "digest": "sha256:" + "1" * 64,
         "platform": {"architecture": "s390x", "os": "linux"}}]}))
    r = coi("image", "import", layout, "--alias", "x", check=False)
    assert (r.returncode, r.stderr.splitlines()[-1]) == (1, "coi: layout: no manifest for linux/amd64 in the index")
    assert os.listdir(store) == []


def test_import_incus_unified_tarball(tmp_path, store, coi, rootfs):
    unified = tmp_path / "unified"
    (unified / "templates").mkdir(parents=True)
    (unified / "metadata.yaml").write_text("architecture: x86_64\ncreation_date: 1700000000\n"
                                           "properties:\n  os: busybox\n")
    (unified / "templates" / "hostname.tpl").write_text("{{ container.name }}\n")
    shutil.copytree(rootfs, unified / "rootfs", symlinks=True)
    subprocess.run(["setcap", "cap_net_raw+ep", str(unified / "rootfs/usr/bin/ping")], check=True)
    archive = pack(unified, tmp_path / "incus.tar.xz", "xz")
    r = coi("image", "import", archive, "--alias", "incus")
    assert r.stdout.startswith("Imported incus (incus, amd64,")
    got = store / "incus" / "rootfs"
    assert sorted(os.listdir(got)) == sorted(os.listdir(rootfs))
    assert tree(got)["usr/bin/ping"] == tree(rootfs)["usr/bin/ping"]
    assert (store / "incus" / "incus-metadata.yaml").read_text().startswith("architecture: x86_64")
    info = json.loads(coi("image", "info", "incus", "--format", "json").stdout)
    assert (info["format"], info["architecture"]) == ("incus", "amd64")
