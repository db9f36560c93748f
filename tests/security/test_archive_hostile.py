"""`coi image import` of hostile tarballs: nothing is ever written outside the image's rootfs, errors
name the archive and the entry, and a refused archive leaves no image (and no temporary directory)
in the store. The tarballs come from hostile_tars.py (Python's tarfile)."""
import hashlib
import os
import pathlib
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from conftest import BUILD  # noqa: E402
from hostile_tars import HOSTILE  # noqa: E402

COI = BUILD / "shim" / "coi"


def _has_image_command():
    if not COI.exists():
        return False
    r = subprocess.run([str(COI), "image", "--help"], capture_output=True, text=True)
    return r.returncode == 0


pytestmark = pytest.mark.skipif(not _has_image_command(), reason="`coi image` is not in build/shim/coi yet")

# What the one error line must contain, besides "coi: hostile.tar.gz: entry ".
ERRORS = {
    "dotdot_escape": ["entry etc/../../", "path escapes the root"],
    "symlink_then_file": ["entry link/pwned: parent link is a symlink to a missing directory"],
    "hardlink_to_etc_passwd": ["entry passwd: hardlink target /etc/passwd: No such file or directory"],
    "hardlink_dotdot": ["entry passwd: hardlink target escapes the root"],
    "hardlink_through_symlink": ["entry shadow: hardlink target hostetc/passwd: No such file or directory"],
    "symlinked_parent_dir": ["entry data/sub/: parent data is a symlink to a missing directory"],
    "huge_path": ["entry dddddddd", "path is longer than PATH_MAX (4096 bytes)"],
    "long_component": ["entry xxxxxxxx", "has a component longer than 255 bytes"],
    "root_replaced_by_symlink": ["the root can only be a directory"],
}


def snapshot(root):
    """Every path below root with its type, mode and content digest: to prove nothing changed."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = pathlib.Path(dirpath, n)
            st = p.lstat()
            digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() and not p.is_symlink() else None
            out[str(p.relative_to(root))] = (st.st_mode, st.st_nlink, digest)
    return out


@pytest.fixture
def env(tmp_path):
    store = tmp_path / "store"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "sentinel").write_text("untouched\n")
    e = dict(os.environ, COI_IMAGES_DIR=str(store))

    def coi(*args):
        return subprocess.run([str(COI), *map(str, args)], capture_output=True, text=True, env=e, timeout=60)

    return tmp_path, store, outside, coi


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_archive_stays_inside(env, case):
    tmp_path, store, outside, coi = env
    build, expect = HOSTILE[case]
    tar = tmp_path / "hostile.tar.gz"
    build(tar, str(outside))
    before = snapshot(outside)
    passwd = pathlib.Path("/etc/passwd").stat()
    root_pwned = pathlib.Path("/pwned").exists()  # where an unclamped `up -> ../../..` chain would write

    r = coi("image", "import", tar, "--alias", "img")

    assert snapshot(outside) == before, "the archive wrote outside the root"
    assert not pathlib.Path(str(outside) + "-pwned").exists()
    assert not (tmp_path / "pwned").exists() and pathlib.Path("/pwned").exists() == root_pwned
    after = pathlib.Path("/etc/passwd").stat()
    assert (after.st_nlink, after.st_mtime_ns) == (passwd.st_nlink, passwd.st_mtime_ns)
    if expect == "error":
        assert r.returncode == 1, r.stdout + r.stderr
        lines = r.stderr.strip().splitlines()
        assert lines[-1].startswith("coi: hostile.tar.gz: entry "), r.stderr
        for want in ERRORS[case]:
            assert want in lines[-1], r.stderr
        assert len(lines[-1]) < 1100
        assert os.listdir(store) == [], "a refused archive left something in the store"
        assert coi("image", "list", "--format", "json").stdout.split() == ["[", "]"]
    else:
        assert r.returncode == 0, r.stderr
        assert sorted(os.listdir(store)) == ["img"]
        assert (store / "img" / "rootfs" / "etc" / "hostname").read_text() == "box\n"


def test_absolute_path_is_made_relative(env):
    tmp_path, store, outside, coi = env
    HOSTILE["absolute_path"][0](tmp_path / "a.tar.gz", str(outside))
    assert coi("image", "import", tmp_path / "a.tar.gz", "--alias", "img").returncode == 0
    rootfs = store / "img" / "rootfs"
    assert (rootfs / str(outside).lstrip("/") / "pwned").read_text() == "pwned\n"
    assert not (outside / "pwned").exists()


def test_symlink_chains_are_clamped_at_the_root(env):
    tmp_path, store, outside, coi = env
    HOSTILE["symlink_parent_chain"][0](tmp_path / "a.tar.gz", str(outside))
    assert coi("image", "import", tmp_path / "a.tar.gz", "--alias", "img").returncode == 0
    rootfs = store / "img" / "rootfs"
    assert (rootfs / "pwned").read_text() == "pwned\n"
    assert os.readlink(rootfs / "up") == "../../../../../../.."  # stored as written
    assert (rootfs / (str(outside).lstrip("/") + "-pwned")).exists()


def test_symlinked_parent_resolves_inside_the_root(env):
    tmp_path, store, outside, coi = env
    HOSTILE["symlinked_parent_dir_existing_inside"][0](tmp_path / "a.tar.gz", str(outside))
    assert coi("image", "import", tmp_path / "a.tar.gz", "--alias", "img").returncode == 0
    rootfs = store / "img" / "rootfs"
    assert os.readlink(rootfs / "data") == str(outside)
    assert (rootfs / str(outside).lstrip("/") / "pwned").read_text() == "pwned\n"
    assert not (outside / "pwned").exists()


def test_symlink_replaced_by_directory_is_not_followed(env):
    tmp_path, store, outside, coi = env
    HOSTILE["replace_symlink_with_dir"][0](tmp_path / "a.tar.gz", str(outside))
    assert coi("image", "import", tmp_path / "a.tar.gz", "--alias", "img").returncode == 0
    opt = store / "img" / "rootfs" / "opt"
    assert opt.is_dir() and not opt.is_symlink()
    assert (opt / "pwned").exists()


def test_device_nodes_are_skipped_unless_allowed(env):
    tmp_path, store, outside, coi = env
    HOSTILE["device_node"][0](tmp_path / "d.tar.gz", str(outside))
    r = coi("image", "import", tmp_path / "d.tar.gz", "--alias", "img")
    assert r.returncode == 0
    assert "skipped 2 device node(s)" in r.stderr
    assert not (store / "img" / "rootfs" / "dev" / "sda").exists()
    if os.geteuid() != 0:
        pytest.skip("creating device nodes needs root")
    r = coi("image", "import", tmp_path / "d.tar.gz", "--alias", "img2", "--allow-devices")
    assert r.returncode == 0, r.stderr
    st = (store / "img2" / "rootfs" / "dev" / "sda").lstat()
    assert os.major(st.st_rdev) == 8 and os.minor(st.st_rdev) == 0


def test_setid_bits_are_dropped_unless_allowed(env):
    tmp_path, store, outside, coi = env
    HOSTILE["setuid_file"][0](tmp_path / "s.tar.gz", str(outside))
    r = coi("image", "import", tmp_path / "s.tar.gz", "--alias", "img")
    assert r.returncode == 0
    assert "dropped setuid/setgid bits of 2 file(s)" in r.stderr
    assert (store / "img" / "rootfs" / "bin" / "rootme").stat().st_mode & 0o7777 == 0o755
    assert (store / "img" / "rootfs" / "bin" / "groupme").stat().st_mode & 0o7777 == 0o755
    r = coi("image", "import", tmp_path / "s.tar.gz", "--alias", "img2", "--allow-setid")
    assert r.returncode == 0
    assert (store / "img2" / "rootfs" / "bin" / "rootme").stat().st_mode & 0o7777 == 0o4755
    assert (store / "img2" / "rootfs" / "bin" / "groupme").stat().st_mode & 0o7777 == 0o2755


def test_not_an_archive_leaves_nothing(env):
    tmp_path, store, outside, coi = env
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(os.urandom(4096))
    r = coi("image", "import", junk, "--alias", "img")
    assert r.returncode == 1
    assert r.stderr.startswith("coi: junk.tar.gz: ")
    assert os.listdir(store) == []


def test_only_tar_and_cpio_are_read(env):
    """An mtree spec (or zip, iso, …) is no rootfs: refused, nothing read from the host paths it names."""
    tmp_path, store, outside, coi = env
    spec = tmp_path / "spec.tar"
    spec.write_text(f"#mtree\n./stolen type=file mode=0644 contents={outside}/sentinel\n")
    r = coi("image", "import", spec, "--alias", "img")
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1].startswith("coi: spec.tar: ")
    assert os.listdir(store) == []


def test_truncated_archive_leaves_nothing(env):
    tmp_path, store, outside, coi = env
    HOSTILE["setuid_file"][0](tmp_path / "t.tar.gz", str(outside))
    data = (tmp_path / "t.tar.gz").read_bytes()
    (tmp_path / "t.tar.gz").write_bytes(data[: len(data) // 2])
    r = coi("image", "import", tmp_path / "t.tar.gz", "--alias", "img")
    assert r.returncode == 1
    assert r.stderr.startswith("coi: t.tar.gz: ")
    assert os.listdir(store) == []
