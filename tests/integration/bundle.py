"""Builds OCI bundles for tests: a busybox rootfs plus a config.json made from a dict.

    from bundle import make_bundle, Runtime
    b = make_bundle(tmp_path / "b", {"process": {"args": ["echo", "hi"]}}, runtime_bin=runtime_bin)
    rt = Runtime(runtime_bin, tmp_path / "state")
    r = rt("run", "--bundle", b, "c1")

The config is `coi-runtime spec` (when runtime_bin is given, else a built-in equivalent) with the dict
merged in: nested dicts merge key by key, any other value (lists included) replaces, and None deletes
the key. The rootfs holds the static busybox with one symlink per applet in /bin.
"""
import copy
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import time

BUSYBOX = "/bin/busybox"
APPLETS = ["sh", "echo", "cat", "id", "hostname", "sleep", "ls", "true", "false", "grep", "head", "readlink",
           "ps", "kill", "env", "pwd", "touch", "mkdir", "stat", "test", "wc", "date", "mount", "umount", "tail",
           "awk", "sed", "tr", "printf", "seq", "uname", "find", "rm", "ln", "chmod", "whoami", "nproc"]

# What `coi-runtime spec` gives, for when no runtime binary is at hand (terminal off: tests capture output).
DEFAULT_CONFIG = {
    "ociVersion": "1.1.0",
    "process": {
        "terminal": False,
        "user": {"uid": 0, "gid": 0},
        "args": ["sh"],
        "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "cwd": "/",
        "capabilities": {k: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
                         for k in ("bounding", "effective", "permitted")},
        "noNewPrivileges": True,
    },
    "root": {"path": "rootfs", "readonly": True},
    "hostname": "coi",
    "mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    ],
    "linux": {
        "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount", "cgroup")],
        "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
        "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
}


def merge(base, overlay):
    """Returns base with overlay merged in (dicts key by key, None deletes, anything else replaces)."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def make_rootfs(rootfs, applets=APPLETS, files=None):
    """A busybox rootfs at rootfs; files maps a path inside (e.g. "etc/motd") to its text."""
    rootfs = pathlib.Path(rootfs)
    for d in ("bin", "proc", "sys", "dev", "tmp", "etc", "root", "run", "var"):
        (rootfs / d).mkdir(parents=True, exist_ok=True)
    shutil.copy(BUSYBOX, rootfs / "bin" / "busybox")
    for a in applets:
        link = rootfs / "bin" / a
        if not link.exists():
            os.symlink("busybox", link)
    (rootfs / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (rootfs / "etc" / "group").write_text("root:x:0:\n")
    for path, text in (files or {}).items():
        p = rootfs / path.lstrip("/")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return rootfs


def base_config(runtime_bin=None):
    """`coi-runtime spec` with the terminal turned off, or DEFAULT_CONFIG without a runtime."""
    if runtime_bin is None:
        return copy.deepcopy(DEFAULT_CONFIG)
    tmp = pathlib.Path(f"/tmp/coi-spec-{os.getpid()}")
    tmp.mkdir(exist_ok=True)
    try:
        (tmp / "config.json").unlink(missing_ok=True)
        subprocess.run([str(runtime_bin), "spec", "--bundle", str(tmp)], check=True, capture_output=True)
        config = json.loads((tmp / "config.json").read_text())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    config["process"]["terminal"] = False
    return config


def make_bundle(path, config=None, runtime_bin=None, applets=APPLETS, files=None, raw_config=None):
    """Creates path/rootfs and path/config.json; raw_config (text) is written as is instead of a dict."""
    path = pathlib.Path(path)
    path.mkdir(parents=True, exist_ok=True)
    make_rootfs(path / "rootfs", applets, files)
    if raw_config is not None:
        (path / "config.json").write_text(raw_config)
    else:
        full = merge(base_config(runtime_bin), config or {})
        (path / "config.json").write_text(json.dumps(full, indent=2))
    return path


def user_namespace(size=65536, host_start=None):
    """The linux.* fragment for a user namespace mapping 0..size-1 to root's /etc/subuid range."""
    if host_start is None:
        host_start = 100000
        try:
            for line in open("/etc/subuid"):
                name, start, count = line.strip().split(":")
                if name == "root" and int(count) >= size:
                    host_start = int(start)
                    break
        except OSError:
            pass
    m = [{"containerID": 0, "hostID": host_start, "size": size}]
    return {"uidMappings": m, "gidMappings": m}


class Runtime:
    """coi-runtime with its own --root; rt("state", "c1") runs it and returns the CompletedProcess."""

    def __init__(self, binary, root, global_flags=()):
        self.binary = str(binary)
        self.root = pathlib.Path(root)
        self.global_flags = list(global_flags)

    def cmd(self, *args, flags=()):
        return [self.binary, "--root", str(self.root), *self.global_flags, *flags, *map(str, args)]

    def __call__(self, *args, check=False, timeout=60, flags=(), **kw):
        # Files, not pipes: a detached container inherits stdout/stderr and would keep pipes open.
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            p = subprocess.run(self.cmd(*args, flags=flags), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                               timeout=timeout, **kw)
            out.seek(0)
            err.seek(0)
            r = subprocess.CompletedProcess(p.args, p.returncode, out.read(), err.read())
        if check and r.returncode != 0:
            raise AssertionError(f"coi-runtime {' '.join(map(str, args))} exited {r.returncode}\n"
                                 f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}")
        return r

    def state(self, cid):
        return json.loads(self("state", cid, check=True).stdout)

    def ids(self):
        r = self("list", "-q")
        return r.stdout.split() if r.returncode == 0 else []

    def cleanup(self):
        """delete -f every container, then the state root; the cgroups they made go with them."""
        for cid in self.ids():
            self("delete", "-f", cid)
        shutil.rmtree(self.root, ignore_errors=True)


def remove_cgroup(path):
    """rmdir a cgroup2 directory bottom-up (only under /sys/fs/cgroup/unified or a pure-v2 mount)."""
    p = pathlib.Path(path)
    if not p.exists():
        return
    try:
        (p / "cgroup.kill").write_text("1")
        deadline = time.monotonic() + 5
        while "populated 1" in (p / "cgroup.events").read_text() and time.monotonic() < deadline:
            time.sleep(0.02)
    except OSError:
        pass
    for sub in sorted((d for d in p.rglob("*") if d.is_dir()), key=lambda d: -len(d.parts)):
        try:
            sub.rmdir()
        except OSError:
            pass
    try:
        p.rmdir()
    except OSError:
        pass


CGROUP2 = pathlib.Path("/sys/fs/cgroup/unified") if pathlib.Path("/sys/fs/cgroup/unified/cgroup.procs").exists() \
    else pathlib.Path("/sys/fs/cgroup")


def wait_for(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False
