"""Container networking (issue 7), without touching any real network.

The test process moves itself into a fresh network namespace (unshare(CLONE_NEWNET), undone at the end
with setns), which plays the host: bridge, NAT and the DNS forwarder live there. A second namespace plays
the internet ("outside": dnsmasq answering the test names, HTTP servers on 203.0.113.x and on the
private 192.168.77.10), reached over a veth that is the host's only route. Each container is a process in
a namespace of its own. Nothing routes to the machine's real uplink: every packet stays in namespaces made
here, and they are torn down even when a test fails.
"""
import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from conftest import BUILD, run

CLONE_NEWNET = 0x40000000
LIBC = ctypes.CDLL(None, use_errno=True)
NET_CLI = BUILD / "tests" / "net-cli"

OUT_PUBLIC = "203.0.113.10"   # allowed.test
OUT_OTHER = "203.0.113.20"    # other.test
OUT_SHORT = "203.0.113.30"    # short.test, TTL 2 s
OUT_WILD = "203.0.113.40"     # a.wild.test
OUT_DNS = "203.0.113.53"
OUT_PRIVATE = "192.168.77.10"  # private.test
OUT_METADATA = "169.254.169.254"
HOST_UPLINK = "198.51.100.1"
PORT = 8000

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("dnsmasq") is None or shutil.which("nft") is None,
    reason="needs root, dnsmasq (dnsmasq-base) and nft")

# Runs inside a container's namespace: `dns NAME [tcp]` prints rcode and addresses as JSON,
# `connect IP` prints "ok" or the error's name. Every operation has a timeout.
PROBE = r"""
import json, random, socket, struct, sys
def dns(name, tcp):
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
    if tcp:
        s = socket.create_connection(("DNS", 53), timeout=4)
        s.sendall(struct.pack(">H", len(q)) + q)
        n = struct.unpack(">H", s.recv(2))[0]
        a = b""
        while len(a) < n:
            chunk = s.recv(n - len(a))
            if not chunk:
                break
            a += chunk
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(4)
        s.sendto(q, ("DNS", 53))
        a = s.recv(4096)
    rcode = a[3] & 15
    an = struct.unpack(">H", a[6:8])[0]
    o = len(q)
    addrs = []
    for _ in range(an):
        if a[o] & 0xc0 == 0xc0:
            o += 2
        else:
            while a[o]:
                o += a[o] + 1
            o += 1
        t, c, ttl, l = struct.unpack(">HHIH", a[o:o + 10])
        o += 10
        if t == 1:
            addrs.append(socket.inet_ntoa(a[o:o + 4]))
        o += l
    print(json.dumps({"rcode": rcode, "addrs": addrs}))
if sys.argv[1] == "dns":
    dns(sys.argv[2], len(sys.argv) > 3)
else:
    try:
        s = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=2)
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        print("ok" if s.recv(12).startswith(b"HTTP/1.0 200") else "bad-answer")
    except OSError as e:
        print(type(e).__name__)
"""


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
    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []
        self.env = dict(os.environ, COI_NET_STATE_DIR=str(tmp / "state"),
                        COI_NET_RESOLV_CONF=str(tmp / "resolv.conf"))
        # the first resolver refuses the connection (nothing listens there): the forwarder must move on
        (tmp / "resolv.conf").write_text(f"search lab\nnameserver 198.51.100.2\nnameserver {OUT_DNS}\n")
        (tmp / "www").mkdir()
        (tmp / "www" / "index.html").write_text("hello\n")

    def cli(self, *args, check=True):
        r = subprocess.run([str(NET_CLI), *map(str, args)], capture_output=True, text=True, timeout=30,
                           env=self.env)
        if check and r.returncode != 0:
            pytest.fail(f"net-cli {' '.join(map(str, args))}: {r.returncode}\n{r.stdout}\n{r.stderr}")
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
                        f"{OUT_DNS}:53" in sh(*o, "ss", "-Hlun", check=False).stdout, 10)
        assert ok, "the outside namespace's servers did not start"

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


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not NET_CLI.exists():
        pytest.fail(f"{NET_CLI} is not built: run ninja -C {BUILD} tests/net-cli")
    real_before = sh("nft", "list", "ruleset").stdout
    real_links = sh("ip", "-o", "link", "show").stdout
    if "table inet coi" in real_before or "coibr0" in real_links:
        pytest.skip("this machine runs coi's network already; its traces could not be told apart")
    home = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    if LIBC.unshare(CLONE_NEWNET) != 0:
        os.close(home)
        pytest.skip(f"unshare(CLONE_NEWNET): {os.strerror(ctypes.get_errno())}")
    lab = Lab(tmp_path_factory.mktemp("net"))
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


class Container:
    def __init__(self, lab, name, proc, dns):
        self.lab, self.name, self.proc, self.dns_addr = lab, name, proc, dns

    def probe(self, *args):
        script = PROBE.replace('"DNS"', repr(self.dns_addr))
        r = sh("nsenter", "-t", str(self.proc.pid), "-n", "python3", "-c", script, *map(str, args), timeout=30)
        return r.stdout.strip()

    def dns(self, name, tcp=False):
        return json.loads(self.probe("dns", name, *(["tcp"] if tcp else [])))

    def connect(self, ip, port=PORT):
        return self.probe("connect", ip, port)


@pytest.fixture
def container(lab):
    made = []

    def make(name, *args):
        proc = new_netns_process()
        made.append((name, proc))
        out = lab.cli("attach", name, "--pid", proc.pid, *args).stdout
        dns = re.search(r"dns (\S+)", out).group(1)
        return Container(lab, name, proc, dns)

    yield make
    for name, proc in made:
        lab.cli("detach", name, check=False)
        proc.kill()
        proc.wait(timeout=5)


def test_restricted_reaches_internet_not_private_or_host(lab, container):
    c = container("r1")
    assert c.dns("other.test") == {"rcode": 0, "addrs": [OUT_OTHER]}
    assert c.dns("other.test", tcp=True) == {"rcode": 0, "addrs": [OUT_OTHER]}
    assert c.connect(OUT_PUBLIC) == "ok"
    assert c.connect(OUT_PRIVATE) != "ok"
    assert c.connect(OUT_METADATA) != "ok"
    assert c.connect(HOST_UPLINK, PORT + 1) != "ok"
    assert c.connect(c.dns_addr, PORT + 1) != "ok"


def test_restricted_with_local_access_reaches_private(lab, container):
    c = container("r2", "--allow-local-network-access")
    assert c.connect(OUT_PRIVATE) == "ok"
    assert c.connect(HOST_UPLINK, PORT + 1) == "ok"


def test_open_mode_and_its_switches(lab, container):
    c = container("o1", "--mode", "open")
    assert c.connect(OUT_PRIVATE) == "ok"
    assert c.connect(OUT_METADATA) == "ok"
    m = container("o2", "--mode", "open", "--block-metadata-endpoint")
    assert m.connect(OUT_METADATA) != "ok"
    assert m.connect(OUT_PRIVATE) == "ok"
    p = container("o3", "--mode", "open", "--block-private-networks")
    assert p.connect(OUT_PRIVATE) != "ok"
    assert p.connect(HOST_UPLINK, PORT + 1) != "ok"
    assert p.connect(OUT_PUBLIC) == "ok"


def test_allowlist_only_listed_names_and_literal_ips(lab, container):
    c = container("a1", "--mode", "allowlist", "--allow", "allowed.test", "--allow", "*.wild.test",
                  "--allow", OUT_PRIVATE)
    # before any lookup, even the allowed name's address is closed
    assert c.connect(OUT_PUBLIC) != "ok"
    assert c.dns("allowed.test") == {"rcode": 0, "addrs": [OUT_PUBLIC]}
    assert c.connect(OUT_PUBLIC) == "ok"
    assert c.dns("a.wild.test", tcp=True) == {"rcode": 0, "addrs": [OUT_WILD]}
    assert c.connect(OUT_WILD) == "ok"
    # not listed: refused by DNS, and its address stays closed when dialled directly
    assert c.dns("other.test")["rcode"] == 5
    assert c.dns("wild.test")["rcode"] == 5
    assert c.connect(OUT_OTHER) != "ok"
    # a literal IP is allowed even in a private range
    assert c.connect(OUT_PRIVATE) == "ok"
    log = lab.cli("log", "a1").stdout
    assert '"name":"other.test"' in log and '"verdict":"refused"' in log
    assert "allowed.test" not in log
    show = json.loads(lab.cli("show", "a1", "--format", "json").stdout)
    assert show[0]["mode"] == "allowlist"
    assert OUT_PUBLIC in [e["addr"] for e in show[0]["learned"]]


def test_rejected_packets_are_logged(lab, container):
    c = container("g1", "--mode", "allowlist")
    follow = subprocess.Popen([str(NET_CLI), "log", "g1", "--follow", "--timeout", "4"], env=lab.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)  # bound to the NFLOG group by then
        assert c.connect(OUT_OTHER) != "ok"
        out, errs = follow.communicate(timeout=10)
    finally:
        follow.kill()
    assert follow.returncode == 0, errs
    assert re.search(rf"g1 10\.88\.\d+\.\d+ -> {re.escape(OUT_OTHER)} tcp/{PORT} rejected", out), out


def test_allowlist_ttl_expiry_closes_access(lab, container):
    c = container("t1", "--mode", "allowlist", "--allow", "short.test")
    assert c.dns("short.test") == {"rcode": 0, "addrs": [OUT_SHORT]}
    assert c.connect(OUT_SHORT) == "ok"
    assert wait_until(lambda: c.connect(OUT_SHORT) != "ok", 6, step=0.5), "access outlived the TTL"
    # asking again opens it again
    assert c.dns("short.test")["rcode"] == 0
    assert c.connect(OUT_SHORT) == "ok"


def test_live_allow_and_deny_take_effect_within_a_second(lab, container):
    c = container("l1", "--mode", "allowlist")
    assert c.dns("other.test")["rcode"] == 5
    lab.cli("allow", "-c", "l1", "other.test")
    t0 = time.monotonic()
    assert wait_until(lambda: c.dns("other.test")["rcode"] == 0, 1)
    assert c.connect(OUT_OTHER) == "ok"
    assert time.monotonic() - t0 < 1.5
    lab.cli("deny", "-c", "l1", "other.test")
    t0 = time.monotonic()
    assert wait_until(lambda: c.connect(OUT_OTHER) != "ok", 1)
    assert c.dns("other.test")["rcode"] == 5
    assert time.monotonic() - t0 < 1.5
    # literal addresses
    lab.cli("allow", "-c", "l1", OUT_PUBLIC)
    assert c.connect(OUT_PUBLIC) == "ok"
    lab.cli("deny", "-c", "l1", f"{OUT_PUBLIC}/32")
    assert c.connect(OUT_PUBLIC) != "ok"
    shown = json.loads(lab.cli("show", "l1", "--format", "json").stdout)[0]
    assert shown["allow"] == [] and shown["deny"] == ["other.test", f"{OUT_PUBLIC}/32"]
    assert shown["allowed_prefixes"] == [] and shown["denied_prefixes"] == [f"{OUT_PUBLIC}/32"]
    # deny also works in restricted mode, for names and addresses
    r = container("l2")
    lab.cli("deny", "-c", "l2", "other.test")
    lab.cli("deny", "-c", "l2", OUT_PUBLIC)
    assert r.dns("other.test")["rcode"] == 5
    assert r.connect(OUT_PUBLIC) != "ok"
    assert lab.cli("allow", "-c", "l2", "not a name", check=False).returncode != 0


def test_teardown_leaves_nothing(lab):
    assert host_state() == lab.empty
    proc = new_netns_process()
    try:
        lab.cli("attach", "td1", "--pid", proc.pid, "--mode", "allowlist", "--allow", "allowed.test")
        lab.cli("attach", "td2", "--pid", proc.pid, "--mode", "open", check=False)  # same netns: eth0 taken
        assert host_state() != lab.empty
        assert lab.cli("attach", "td1", "--pid", proc.pid, check=False).returncode != 0  # already there
        lab.cli("detach", "td1")
        lab.cli("detach", "td2")
        assert host_state() == lab.empty
        assert not (lab.tmp / "state" / "containers" / "td1").exists()
        assert not (lab.tmp / "state" / "dns.pid").exists()
        lab.cli("detach", "td1")  # idempotent
    finally:
        proc.kill()
        proc.wait(timeout=5)


def test_orphans_after_kill_9_are_removed(lab):
    proc = new_netns_process()
    lab.cli("attach", "k1", "--pid", proc.pid, "--mode", "allowlist", "--allow", "allowed.test")
    keep = new_netns_process()
    try:
        lab.cli("attach", "k2", "--pid", keep.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=5)
        # the namespace dies asynchronously; its veth goes with it
        assert wait_until(lambda: "k1" in lab.cli("prune").stdout or
                          not (lab.tmp / "state" / "containers" / "k1").exists(), 5)
        assert "ct-k1" not in sh("nft", "list", "ruleset").stdout
        assert "ct-k2" in sh("nft", "list", "ruleset").stdout  # the living one is untouched
        lab.cli("detach", "k2")
        assert host_state() == lab.empty
    finally:
        keep.kill()
        keep.wait(timeout=5)
        lab.cli("prune", check=False)


def test_setup_teardown_time(lab):
    """Mean time of attach + detach of one container (the figure for docs/performance.md): cold (the first
    container also makes the bridge, the table and the forwarder; the last removes them) and warm."""
    n = 10
    proc = new_netns_process()
    keep = new_netns_process()

    def cycle():
        t0 = time.monotonic()
        lab.cli("attach", "bench", "--pid", proc.pid)
        t1 = time.monotonic()
        lab.cli("detach", "bench")
        return t1 - t0, time.monotonic() - t1

    try:
        cold = [cycle() for _ in range(n)]
        lab.cli("attach", "keep", "--pid", keep.pid)
        warm = [cycle() for _ in range(n)]
        for label, runs in (("cold", cold), ("warm", warm)):
            up = sum(r[0] for r in runs) / n
            down = sum(r[1] for r in runs) / n
            print(f"\nnetwork {label}: setup {up * 1000:.1f} ms, teardown {down * 1000:.1f} ms (mean of {n})")
            assert up < 2 and down < 2
    finally:
        lab.cli("detach", "keep", check=False)
        for p in (proc, keep):
            p.kill()
            p.wait(timeout=5)
