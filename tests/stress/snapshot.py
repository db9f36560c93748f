"""What coi leaves on the machine, as a comparable snapshot: mounts, cgroup2 directories, links, nftables
objects, state files, id-block allocations, processes and their open fds, and the workspace's bytes.

The stress suite runs in a mount and network namespace of its own (conftest.py), so mounts, links and
nftables are compared whole; cgroups and processes are shared with the machine and filtered to the
suite's container-name prefix and binaries."""
import hashlib
import json
import os
import pathlib
import subprocess

CGROUP2 = pathlib.Path("/sys/fs/cgroup/unified")


def mounts():
    """(mount point, fs type, source) of every mount of this mount namespace."""
    out = set()
    for line in open("/proc/self/mountinfo"):
        left, right = line.split(" - ", 1)
        f = left.split()
        r = right.split()
        out.add((f[4], r[0], r[1]))
    return out


def cgroups(prefix):
    """cgroup2 directories of the suite's containers (coi puts NAME at /coi/NAME; the runtime's own tests
    and other users of the machine have theirs elsewhere or under other names)."""
    base = CGROUP2 / "coi"
    if not base.is_dir():
        return set()
    out = set()
    for top in base.iterdir():
        if top.is_dir() and top.name.startswith(prefix):
            out.add(str(top.relative_to(CGROUP2)))
            for d, subdirs, _ in os.walk(top):
                out.update(str(pathlib.Path(d, s).relative_to(CGROUP2)) for s in subdirs)
    return out


def links():
    r = subprocess.run(["ip", "-j", "link"], capture_output=True, text=True, check=True)
    return {(x["ifname"], x.get("link_type", "")) for x in json.loads(r.stdout)}


def nft_objects():
    """(family, table[, kind, name]) of every table, chain, set and map of the ruleset."""
    r = subprocess.run(["nft", "-j", "list", "ruleset"], capture_output=True, text=True, check=True)
    out = set()
    for item in json.loads(r.stdout)["nftables"]:
        for kind in ("table", "chain", "set", "map", "flowtable", "counter"):
            if kind in item:
                o = item[kind]
                out.add((kind, o["family"], o.get("table", o["name"]), o["name"]))
    return out


def tree(path, skip=()):
    """Relative paths (with a trailing / for directories) below path, skipping top-level names in skip."""
    root = pathlib.Path(path)
    if not root.exists():
        return set()
    out = set()
    for d, subdirs, files in os.walk(root):
        rel = pathlib.Path(d).relative_to(root)
        if rel == pathlib.Path("."):
            subdirs[:] = [s for s in subdirs if s not in skip]
            files = [f for f in files if f not in skip]
        out.update(f"{rel / s}/" for s in subdirs)
        out.update(str(rel / f) for f in files)
    return out


def allocations(data_dir):
    """The subordinate-id blocks recorded in idmap.json (container name → block)."""
    try:
        doc = json.loads((pathlib.Path(data_dir) / "idmap.json").read_text())
    except FileNotFoundError:
        return {}
    return {k: json.dumps(v, sort_keys=True) for k, v in doc.get("allocations", {}).items()}


def _proc_cgroup(pid):
    try:
        for line in open(f"/proc/{pid}/cgroup"):
            if line.startswith("0::"):
                return line[3:].strip()
    except OSError:
        pass
    return ""


def processes(binaries, prefix, marker, skip=()):
    """Processes running one of coi's binaries with marker (an environment entry of the suite's) in their
    environment, or living in a cgroup of the suite's containers: (pid, command line, open fds)."""
    out = set()
    binaries = {str(b) for b in binaries}
    for p in pathlib.Path("/proc").iterdir():
        if not p.name.isdigit() or int(p.name) in skip:
            continue
        try:
            exe = os.readlink(p / "exe").removesuffix(" (deleted)")
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            nfds = len(os.listdir(p / "fd"))
        except OSError:
            continue  # gone meanwhile, or a kernel thread
        try:
            ours = exe in binaries and marker in (p / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if ours or _proc_cgroup(p.name).startswith(f"/coi/{prefix}"):
            out.add((int(p.name), cmd, nfds))
    return out


def workspace_entries(path):
    """Every entry below path: name, mode, owner, size and the SHA-256 of its content or link target."""
    root = pathlib.Path(path)
    out = set()
    for d, subdirs, files in os.walk(root):
        for name in subdirs + files:
            p = pathlib.Path(d, name)
            st = p.lstat()
            if p.is_symlink():
                data = os.readlink(p).encode()
            elif p.is_file():
                data = p.read_bytes()
            else:
                data = b""
            out.add(f"{p.relative_to(root)} {st.st_mode:o} {st.st_uid}:{st.st_gid} {st.st_size} "
                    f"{hashlib.sha256(data).hexdigest()[:16]}")
    return out


def snapshot(env, prefix, binaries, workspaces=(), skip_pids=()):
    """Everything compared against the baseline, as {aspect: comparable value}."""
    data = env["COI_DATA_DIR"]
    return {
        "mounts": mounts(),
        "cgroups": cgroups(prefix),
        "links": links(),
        "nftables": nft_objects(),
        "data dir": tree(data, skip=("images",)),
        # The runtime keeps up to 4 emptied state directories (.spare-N) for the next creates: bounded.
        "runtime state": {p for p in tree(env["COI_RUNTIME_DIR"]) if not p.startswith(".spare-")},
        "runtime spares over 4": len(list(pathlib.Path(env["COI_RUNTIME_DIR"]).glob(".spare-*"))) > 4,
        "network state": tree(env["COI_NET_STATE_DIR"], skip=("dns.log",)),
        "home": tree(env["HOME"]),
        "run": {p.name for p in pathlib.Path("/run").glob("coi-ssh-*")},
        "id allocations": allocations(data),
        "processes": {(cmd, nfds) for _, cmd, nfds in processes(binaries, prefix, f"COI_DATA_DIR={data}".encode(), skip_pids)},
        "workspaces": {f"{w}/{e}" for w in workspaces for e in workspace_entries(w)},
    }


def diff(base, now):
    """{aspect: "+added -removed"} of what differs from the baseline."""
    out = {}
    for k, b in base.items():
        n = now[k]
        if b == n:
            continue
        if isinstance(b, set):
            out[k] = {"added": sorted(map(str, n - b)), "removed": sorted(map(str, b - n))}
        elif isinstance(b, dict):
            out[k] = {x: (b.get(x), n.get(x)) for x in set(b) | set(n) if b.get(x) != n.get(x)}
        else:
            out[k] = (b, n)
    return out
