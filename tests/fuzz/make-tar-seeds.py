#!/usr/bin/python3
"""Writes the seed corpora of fuzz-tar (tests/fuzz/corpus/tar/): small archives of every entry type the
unpacker handles, OCI whiteouts, xattrs, the three tar dialects, each compression libarchive reads, and
the hostile archives of tests/security/hostile_tars.py uncompressed (aiming at /tmp, read-only in the
harness); and of fuzz-oci-layout (tests/fuzz/corpus/oci-layout/): OCI layouts in that harness's input
form. Deterministic: run it again after changing it and commit what changed.

    tests/fuzz/make-tar-seeds.py
"""
import json
import bz2
import gzip
import io
import lzma
import pathlib
import sys
import tarfile

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "security"))
import hostile_tars  # noqa: E402


def entry(name, kind="file", data=b"x\n", target=None, mode=0o644, uid=0, gid=0, xattrs=None, dev=(1, 3)):
    ti = tarfile.TarInfo(name)
    ti.mode, ti.uid, ti.gid, ti.mtime = mode, uid, gid, 1700000000
    ti.uname = ti.gname = ""
    if xattrs:
        ti.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in xattrs.items()}
    if kind == "file":
        ti.size = len(data)
        return ti, data
    ti.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
               "chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE, "fifo": tarfile.FIFOTYPE}[kind]
    if target is not None:
        ti.linkname = target
    ti.devmajor, ti.devminor = dev
    return ti, None


def tar_bytes(entries, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for ti, data in entries:
            tar.addfile(ti, io.BytesIO(data) if data is not None else None)
    raw = buf.getvalue()
    # Keep the end-of-archive marker but not the padding to tarfile's 10 KiB records: small seeds.
    end = len(raw.rstrip(b"\0"))
    end = (end + 511) // 512 * 512
    return raw[:end] + b"\0" * 1024


CAPS_V2 = bytes.fromhex("0100000200200000000000000000000000000000")  # v2, cap_net_raw permitted+effective

SEEDS = {
    "basic.tar": [entry("etc", "dir", mode=0o755), entry("etc/hostname", data=b"box\n"),
                  entry("bin/sh", data=b"#!/bin/sh\n", mode=0o755), entry("usr/bin/sh", "symlink", target="/bin/sh"),
                  entry("bin/dash", "hardlink", target="bin/sh"), entry("run/fifo", "fifo"),
                  entry("dev/null", "chr", mode=0o666, dev=(1, 3)), entry("dev/loop0", "blk", dev=(7, 0))],
    "owners-modes.tar": [entry("home/user", "dir", mode=0o700, uid=1000, gid=1000),
                         entry("home/user/.profile", uid=1000, gid=1000, mode=0o600),
                         entry("usr/bin/passwd", mode=0o4755), entry("usr/bin/wall", mode=0o2755, gid=5),
                         entry("tmp", "dir", mode=0o1777), entry("big-id", uid=4294967290, gid=70000)],
    "whiteouts.tar": [entry("etc", "dir", mode=0o755), entry("etc/.wh.motd"), entry("var/cache/.wh..wh..opq"),
                      entry("var/cache/new"), entry("opt/.wh.opt-link"), entry(".wh.root-file")],
    "xattrs.tar": [entry("bin/ping", mode=0o755, xattrs={"security.capability": CAPS_V2.decode("latin-1"),
                                                          "user.note": "hi"}),
                   entry("data", "dir", xattrs={"trusted.overlay.opaque": "y", "user.x": ""})],
    "links.tar": [entry("a/b/c", "dir"), entry("a/link", "symlink", target="b/c"), entry("a/link/f"),
                  entry("abs", "symlink", target="/a/b"), entry("abs/g"), entry("h", "hardlink", target="a/b/c/f"),
                  entry("dangling", "symlink", target="nowhere/x"), entry("loop", "symlink", target="loop"),
                  entry("a/b", "symlink", target="."), entry("a/b/c", "file")],
    "replace.tar": [entry("x", "dir"), entry("x/y"), entry("x", "file"), entry("z", "symlink", target="x"),
                    entry("z", "dir"), entry("f"), entry("f", "hardlink", target="f"), entry("./", "dir", mode=0o700)],
    "gnu-longname.tar": ([entry("d" * 150 + "/" + "f" * 120), entry("l" * 120, "symlink", target="t" * 200)],
                         tarfile.GNU_FORMAT),
    "ustar.tar": ([entry("usr/share/doc/readme"), entry("empty", data=b"")], tarfile.USTAR_FORMAT),
}


def layout(index, *blobs):
    """fuzz-oci-layout's input: index.json and the blobs, "\n----\n" between; @blobN@ = blob N's digest."""
    docs = [index] + list(blobs)
    return b"\n----\n".join(d if isinstance(d, bytes) else json.dumps(d).encode() for d in docs)


def oci_layout_seeds(out):
    out.mkdir(parents=True, exist_ok=True)
    m_type = "application/vnd.oci.image.manifest.v1+json"
    i_type = "application/vnd.oci.image.index.v1+json"
    layer0 = tar_bytes([entry("etc", "dir"), entry("etc/os-release", data=b"ID=fuzz\n"), entry("bin/sh", mode=0o755)])
    layer1 = tar_bytes([entry("etc/.wh.os-release"), entry("var/.wh..wh..opq"), entry("var/new")])
    config = {"architecture": "amd64", "os": "linux"}

    def manifest(*layers):
        return {"schemaVersion": 2, "mediaType": m_type, "config": {"digest": "@blob2@"},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d} for d in layers]}

    def index(digest, media=m_type, platform=None):
        m = {"mediaType": media, "digest": digest}
        if platform is not None:
            m["platform"] = platform
        return {"schemaVersion": 2, "manifests": [m]}

    amd64 = {"os": "linux", "architecture": "amd64"}
    seeds = {
        "two-layers": layout(index("@blob3@", platform=amd64), layer0, layer1, config,
                             manifest("@blob0@", "@blob1@")),
        "gzip-layer": layout(index("@blob3@"), gzip.compress(layer0, mtime=0), b"", config, manifest("@blob0@")),
        "nested-index": layout(index("@blob4@", media=i_type), layer0, b"", config, manifest("@blob0@"),
                               index("@blob3@", platform=amd64)),
        "multi-arch": layout({"schemaVersion": 2, "manifests": [
            {"mediaType": m_type, "digest": "@blob3@", "platform": {"os": "linux", "architecture": "arm64"}},
            {"mediaType": m_type, "digest": "@blob3@", "platform": amd64}]}, layer0, b"", config,
            manifest("@blob0@")),
        "bad-digest": layout(index("sha256:" + "0" * 64), layer0),
        "traversal-digest": layout(index("sha256:../../../../etc/passwd"), layer0),
        "hostile-layer": layout(index("@blob3@"), (out.parent / "tar" / "hostile-symlink_then_file.tar").read_bytes(),
                                b"", config, manifest("@blob0@")),
    }
    for name, data in seeds.items():
        (out / name).write_bytes(data)


def main():
    out = HERE / "corpus" / "tar"
    out.mkdir(parents=True, exist_ok=True)
    for name, spec in SEEDS.items():
        entries, fmt = spec if isinstance(spec, tuple) else (spec, tarfile.PAX_FORMAT)
        (out / name).write_bytes(tar_bytes(entries, fmt))
    plain = (out / "basic.tar").read_bytes()
    (out / "basic.tar.gz").write_bytes(gzip.compress(plain, mtime=0))
    (out / "basic.tar.xz").write_bytes(lzma.compress(plain))
    (out / "basic.tar.bz2").write_bytes(bz2.compress(plain))
    for name, (builder, _) in hostile_tars.HOSTILE.items():
        if name == "huge_path":
            continue  # 6 KiB of one name: the short seeds reach the same check
        gz = out / f"hostile-{name}.tar.gz"
        builder(str(gz), "/tmp")
        raw = gzip.decompress(gz.read_bytes())
        gz.unlink()
        end = (len(raw.rstrip(b"\0")) + 511) // 512 * 512
        (out / f"hostile-{name}.tar").write_bytes(raw[:end] + b"\0" * 1024)
    oci_layout_seeds(HERE / "corpus" / "oci-layout")


if __name__ == "__main__":
    main()
