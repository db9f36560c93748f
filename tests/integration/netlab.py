"""The test world of coi's network tests, shared by the plumbing tests (test_network.py) and the shim's
(test_shim_network.py), built without touching any real network.

The test process moves itself into a fresh network namespace (unshare(CLONE_NEWNET), undone at the end
with setns), which plays the host: bridge, NAT and the DNS forwarder live there. A second namespace plays
the internet ("outside": dnsmasq answering the test names, HTTP servers on 203.0.113.x and on the
private 192.168.77.10), reached over a veth that is the host's only route. Containers are processes in
namespaces of their own. Nothing routes to the machine's real uplink: every packet stays in namespaces made
here, and they are torn down even when a test fails.
"""
import contextlib
import ctypes
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import run

CLONE_NEWNET = 0x40000000
LIBC = ctypes.CDLL(None, use_errno=True)

OUT_PUBLIC = "203.0.113.10"   # allowed.test
OUT_OTHER = "203.0.113.20"    # other.test
OUT_SHORT = "203.0.113.30"    # short.test, TTL 2 s
OUT_WILD = "203.0.113.40"     # a.wild.test
OUT_DNS = "203.0.113.53"
OUT_PRIVATE = "192.168.77.10"  # private.test
OUT_METADATA = "169.254.169.254"
HOST_UPLINK = "198.51.100.1"
PORT = 8000


def sh(*cmd, check=True, timeout=20):
    return run(list(cmd), check=check, timeout=timeout)


def ns_popen(pid, cmd, **kw):
    return subprocess.Popen(["nsenter", "-t", str(pid), "-n", *cmd], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, **kw)


def new_netns_process():
    """A sleeping process in a namespace of its own; its namespace lives as long as it does."""
    p = subprocess.Popen(["unshare", "-n", "sleep", "600"])
    mine = os.stat("/proc/self/ns/net").st_ino
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            if os.stat(f"/proc/{p.pid}/ns/net").st_ino != mine:
                return p
        except FileNotFoundError:
            pass
        time.sleep(0.01)
    p.kill()
    pytest.fail("unshare -n did not make a namespace")


def wait_until(fn, seconds, step=0.05):
    deadline = time.monotonic() + seconds
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(step)


def host_state():
    """What the network configuration of the (test) host shows of coi."""
    links = sh("ip", "-o", "link", "show").stdout
    return {
        "ruleset": sh("nft", "list", "ruleset").stdout,
        "links": sorted(re.findall(r"^\d+: ([^:@]+)", links, re.M)),
        "addrs": sh("ip", "-o", "-4", "addr", "show").stdout.count("\n"),
    }


class Lab:
    def __init__(self, tmp, cli_argv):
        self.tmp = tmp
        self.cli_argv = list(map(str, cli_argv))
        self.procs = []
        self.env = dict(os.environ, COI_NET_STATE_DIR=str(tmp / "state"),
                        COI_NET_RESOLV_CONF=str(tmp / "resolv.conf"))
        # the first resolver refuses the connection (nothing listens there): the forwarder must move on
        (tmp / "resolv.conf").write_text(f"search lab\nnameserver 198.51.100.2\nnameserver {OUT_DNS}\n")
        (tmp / "www").mkdir()
        (tmp / "www" / "index.html").write_text("hello\n")

    def cli(self, *args, check=True):
        r = subprocess.run([*self.cli_argv, *map(str, args)], capture_output=True, text=True, timeout=30,
                           env=self.env)
        if check and r.returncode != 0:
            pytest.fail(f"{' '.join(self.cli_argv + list(map(str, args)))}: {r.returncode}\n{r.stdout}\n"
                        f"{r.stderr}")
        return r

    def build(self):
        sh("ip", "link", "set", "lo", "up")
        out = new_netns_process()
        self.procs.append(out)
        self.outside = out.pid
        sh("ip", "link", "add", "uplink", "type", "veth", "peer", "name", "eth0", "netns", str(out.pid))
        sh("ip", "addr", "add", f"{HOST_UPLINK}/24", "dev", "uplink")
        sh("ip", "link", "set", "uplink", "up")
        sh("ip", "route", "add", "default", "via", "198.51.100.2")
        o = ["nsenter", "-t", str(out.pid), "-n"]
        sh(*o, "ip", "link", "set", "lo", "up")
        sh(*o, "ip", "link", "set", "eth0", "up")
        sh(*o, "ip", "addr", "add", "198.51.100.2/24", "dev", "eth0")
        for a in (OUT_PUBLIC, OUT_OTHER, OUT_SHORT, OUT_WILD, OUT_DNS, OUT_PRIVATE, OUT_METADATA):
            sh(*o, "ip", "addr", "add", f"{a}/32", "dev", "lo")
        for a in (OUT_PUBLIC, OUT_OTHER, OUT_SHORT, OUT_WILD, OUT_PRIVATE, OUT_METADATA):
            self.procs.append(ns_popen(out.pid, ["python3", "-m", "http.server", str(PORT), "--bind", a,
                                                 "--directory", str(self.tmp / "www")]))
        # a service on the host itself, which restricted containers must not reach
        self.procs.append(subprocess.Popen(["python3", "-m", "http.server", str(PORT + 1), "--bind", "0.0.0.0",
                                            "--directory", str(self.tmp / "www")],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self.procs.append(ns_popen(out.pid, [
            "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--user=root",
            f"--listen-address={OUT_DNS}", "--bind-interfaces", "--pid-file=",
            f"--host-record=allowed.test,{OUT_PUBLIC},300", f"--host-record=other.test,{OUT_OTHER},300",
            f"--host-record=short.test,{OUT_SHORT},2", f"--host-record=a.wild.test,{OUT_WILD},300",
            f"--host-record=private.test,{OUT_PRIVATE},300"]))
        # the host's own firewall, which coi must leave exactly as it is
        sh("nft", "add", "table", "ip", "hostfw")
        sh("nft", "add", "chain", "ip", "hostfw", "forward_host",
           "{ type filter hook forward priority 10; policy accept; }")
        sh("nft", "add", "rule", "ip", "hostfw", "forward_host", "ip", "daddr", "192.0.2.99", "drop")
        # the outside is up when its DNS answers and its servers listen (bounded)
        ok = wait_until(lambda: sh(*o, "ss", "-Hltun", check=False).stdout.count(f":{PORT} ") >= 6 and
                        f"{OUT_DNS}:53" in sh(*o, "ss", "-Hlun", check=False).stdout and
                        f":{PORT + 1} " in sh("ss", "-Hltn", check=False).stdout, 30)
        assert ok, "the outside namespace's servers (or the host's own service) did not start"

    def settled(self, seconds=6):
        """Whether the host is back to its state before any container, within seconds: the bridge, the
        table and the forwarder outlive the last container by NET_LINGER_MS (2 s)."""
        return wait_until(lambda: host_state() == self.empty, seconds, step=0.1)

    def teardown(self):
        self.cli("prune", check=False)
        pidfile = self.tmp / "state" / "dns.pid"
        if pidfile.exists():
            try:
                os.kill(int(pidfile.read_text()), signal.SIGKILL)
            except (ValueError, ProcessLookupError):
                pass
        for p in self.procs:
            p.kill()
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


@contextlib.contextmanager
def lab_in_new_netns(tmp, cli_argv):
    """Moves this process into a new network namespace, builds the world there and yields the Lab; on the
    way out tears it down, returns to the original namespace and checks coi left no trace in it."""
    real_before = sh("nft", "list", "ruleset").stdout
    real_links = sh("ip", "-o", "link", "show").stdout
    if "table inet coi" in real_before or "coibr0" in real_links:
        pytest.skip("this machine runs coi's network already; its traces could not be told apart")
    home = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    if LIBC.unshare(CLONE_NEWNET) != 0:
        os.close(home)
        pytest.skip(f"unshare(CLONE_NEWNET): {os.strerror(ctypes.get_errno())}")
    lab = Lab(tmp, cli_argv)
    try:
        lab.build()
        lab.empty = host_state()
        yield lab
    finally:
        try:
            lab.teardown()
        finally:
            assert LIBC.setns(home, CLONE_NEWNET) == 0, "could not return to the original network namespace"
            os.close(home)
    # nothing of coi ever reached the machine's own namespace (other engineers' tests may change the rest
    # of its ruleset meanwhile, so only coi's traces are compared)
    assert "table inet coi" not in sh("nft", "list", "ruleset").stdout
    links = sh("ip", "-o", "link", "show").stdout
    assert "coibr0" not in links and not re.search(r"^\d+: coi-", links, re.M)
