"""Hostile tarballs for `coi image import`, written with Python's tarfile (no extraction on our side).

Each builder takes the output path and `outside`, an absolute directory the archive tries to reach,
and writes one gzip'd tar. HOSTILE maps a short name to (builder, expectation): "error" means the
import must fail naming the entry, "inside" means the documented behaviour is to keep everything
inside the root (the import succeeds), "skip" means the entry is dropped with a warning.
"""
import io
import tarfile


def _add(tar, name, kind="file", data=b"pwned\n", target=None, mode=0o644, devmajor=1, devminor=3):
    ti = tarfile.TarInfo(name)
    ti.mode = mode
    ti.uid = ti.gid = 0
    ti.mtime = 1700000000
    if kind == "file":
        ti.size = len(data)
        tar.addfile(ti, io.BytesIO(data))
        return
    ti.type = {
        "dir": tarfile.DIRTYPE,
        "symlink": tarfile.SYMTYPE,
        "hardlink": tarfile.LNKTYPE,
        "chr": tarfile.CHRTYPE,
        "blk": tarfile.BLKTYPE,
    }[kind]
    if target is not None:
        ti.linkname = target
    ti.devmajor, ti.devminor = devmajor, devminor
    tar.addfile(ti)


def _write(path, entries):
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, "etc", "dir", mode=0o755)
        _add(tar, "etc/hostname", data=b"box\n")
        for e in entries:
            _add(tar, **e)


def absolute_path(path, outside):
    _write(path, [dict(name=f"{outside}/pwned")])


def dotdot_escape(path, outside):
    _write(path, [dict(name="etc/../../../../../../../../" + outside.lstrip("/") + "/pwned")])


def symlink_then_file(path, outside):
    _write(path, [dict(name="link", kind="symlink", target=outside), dict(name="link/pwned")])


def symlink_parent_chain(path, outside):
    # up -> ../../../.. ; up2 -> up/.. ; then files written through both: clamped at the root
    _write(path, [
        dict(name="up", kind="symlink", target="../../../../../../.."),
        dict(name="up2", kind="symlink", target="up/../up/.."),
        dict(name="up/pwned"),
        dict(name="up2/" + outside.lstrip("/") + "-pwned"),
    ])


def hardlink_to_etc_passwd(path, outside):
    _write(path, [dict(name="passwd", kind="hardlink", target="/etc/passwd")])


def hardlink_dotdot(path, outside):
    _write(path, [dict(name="passwd", kind="hardlink", target="../../../../../../etc/passwd")])


def hardlink_through_symlink(path, outside):
    _write(path, [
        dict(name="hostetc", kind="symlink", target="/etc"),
        dict(name="shadow", kind="hardlink", target="hostetc/passwd"),
    ])


def symlinked_parent_dir(path, outside):
    # a directory entry and a file below a symlink that points outside
    _write(path, [
        dict(name="data", kind="symlink", target=outside),
        dict(name="data/sub", kind="dir", mode=0o755),
        dict(name="data/sub/pwned"),
    ])


def symlinked_parent_dir_existing_inside(path, outside):
    # the same path exists inside the root: the symlink resolves there, never to the host
    _write(path, [
        dict(name=outside.lstrip("/"), kind="dir", mode=0o755),
        dict(name="data", kind="symlink", target=outside),
        dict(name="data/pwned"),
    ])


def device_node(path, outside):
    _write(path, [dict(name="dev/sda", kind="blk", mode=0o666, devmajor=8, devminor=0),
                  dict(name="dev/mem", kind="chr", mode=0o666, devmajor=1, devminor=1)])


def setuid_file(path, outside):
    _write(path, [dict(name="bin/rootme", data=b"#!/bin/sh\nid\n", mode=0o4755),
                  dict(name="bin/groupme", data=b"#!/bin/sh\nid\n", mode=0o2755)])


def huge_path(path, outside):
    long = "/".join(["d" * 200] * 30) + "/pwned"  # 6 KiB, more than PATH_MAX
    _write(path, [dict(name=long)])


def long_component(path, outside):
    _write(path, [dict(name="x" * 300)])


def root_replaced_by_symlink(path, outside):
    _write(path, [dict(name="./", kind="symlink", target=outside)])


def replace_symlink_with_dir(path, outside):
    # a later directory entry over a symlink must replace the link, not follow it
    _write(path, [
        dict(name="opt", kind="symlink", target=outside),
        dict(name="opt", kind="dir", mode=0o755),
        dict(name="opt/pwned"),
    ])


HOSTILE = {
    "absolute_path": (absolute_path, "inside"),
    "dotdot_escape": (dotdot_escape, "error"),
    "symlink_then_file": (symlink_then_file, "error"),
    "symlink_parent_chain": (symlink_parent_chain, "inside"),
    "hardlink_to_etc_passwd": (hardlink_to_etc_passwd, "error"),
    "hardlink_dotdot": (hardlink_dotdot, "error"),
    "hardlink_through_symlink": (hardlink_through_symlink, "error"),
    "symlinked_parent_dir": (symlinked_parent_dir, "error"),
    "symlinked_parent_dir_existing_inside": (symlinked_parent_dir_existing_inside, "inside"),
    "device_node": (device_node, "skip"),
    "setuid_file": (setuid_file, "skip"),
    "huge_path": (huge_path, "error"),
    "long_component": (long_component, "error"),
    "root_replaced_by_symlink": (root_replaced_by_symlink, "error"),
    "replace_symlink_with_dir": (replace_symlink_with_dir, "inside"),
}
