"""Container networking (issue 7), the plumbing (shim/net/ through `coi network`), without touching any
real network: the world is netlab.py's (a host namespace, an "outside" one playing the internet); each
container here is a process in a network namespace of its own.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from conftest import BUILD
from netlab import (HOST_UPLINK, OUT_METADATA, OUT_OTHER, OUT_PRIVATE, OUT_PUBLIC, OUT_SHORT, OUT_WILD, PORT,
                    host_state, lab_in_new_netns, new_netns_process, sh, wait_until)

COI = BUILD / "shim" / "coi"

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


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not COI.exists():
        pytest.fail(f"{COI} is not built: run ninja -C {BUILD}")
    with lab_in_new_netns(tmp_path_factory.mktemp("net"), [COI, "network"]) as lab:
        yield lab


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
    follow = subprocess.Popen([str(COI), "network", "log", "g1", "--follow", "--timeout", "4"], env=lab.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)  # bound to the NFLOG group by then
        assert c.connect(OUT_OTHER) != "ok"
        out, errs = follow.communicate(timeout=10)
    finally:
        follow.kill()
    assert follow.returncode == 0, errs
    assert re.search(rf"g1 10\.209\.\d+\.\d+ -> {re.escape(OUT_OTHER)} tcp/{PORT} rejected", out), out


def test_allowlist_ttl_expiry_closes_access(lab, container):
    c = container("t1", "--mode", "allowlist", "--allow", "short.test")
    assert c.dns("short.test") == {"rcode": 0, "addrs": [OUT_SHORT]}
    assert c.connect(OUT_SHORT) == "ok"
    assert wait_until(lambda: c.connect(OUT_SHORT) != "ok", 6, step=0.5), "access outlived the TTL"
    # asking again opens it again
    assert c.dns("short.test")["rcode"] == 0
    assert c.connect(OUT_SHORT) == "ok"


def test_live_allow_and_deny_take_effect_in_a_running_container(lab, container):
    """No restart: the running container sees the change (bounded wait; how fast is a benchmark's
    question, not a pass/fail one on a loaded machine)."""
    c = container("l1", "--mode", "allowlist")
    assert c.dns("other.test")["rcode"] == 5
    lab.cli("allow", "-c", "l1", "other.test")
    assert wait_until(lambda: c.dns("other.test")["rcode"] == 0, 10)
    assert c.connect(OUT_OTHER) == "ok"
    lab.cli("deny", "-c", "l1", "other.test")
    assert wait_until(lambda: c.connect(OUT_OTHER) != "ok", 10)
    assert c.dns("other.test")["rcode"] == 5
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
    assert lab.settled()
    proc = new_netns_process()
    try:
        lab.cli("attach", "td1", "--pid", proc.pid, "--mode", "allowlist", "--allow", "allowed.test")
        lab.cli("attach", "td2", "--pid", proc.pid, "--mode", "open", check=False)  # same netns: eth0 taken
        assert host_state() != lab.empty
        assert lab.cli("attach", "td1", "--pid", proc.pid, check=False).returncode != 0  # already there
        lab.cli("detach", "td1")
        lab.cli("detach", "td2")
        assert not (lab.tmp / "state" / "containers" / "td1").exists()
        # the host pieces linger for the next container (NET_LINGER_MS), then go with the forwarder
        assert "coibr0" in sh("ip", "-o", "link", "show").stdout
        assert lab.settled()
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
        assert lab.settled()
    finally:
        keep.kill()
        keep.wait(timeout=5)
        lab.cli("prune", check=False)


def test_rules_left_without_their_record_are_cleaned(lab):
    """A record lost (its state directory wiped or changed) leaves the container's chain, sets and map
    element with no owner: the next attach of that name takes them over, and prune removes them."""
    proc = new_netns_process()
    try:
        lab.cli("attach", "lost1", "--pid", proc.pid, "--mode", "allowlist", "--allow", "allowed.test")
        (lab.tmp / "state" / "containers" / "lost1").unlink()
        assert "ct-lost1" in sh("nft", "list", "ruleset").stdout
        sh("ip", "link", "del", next(n for n in host_state()["links"] if n.startswith("coi-")))
        lab.cli("attach", "lost1", "--pid", proc.pid)  # not "File exists"
        assert sh("nft", "list", "ruleset").stdout.count("chain ct-lost1") == 1
        lab.cli("detach", "lost1")
        lab.cli("attach", "lost2", "--pid", proc.pid)
        (lab.tmp / "state" / "containers" / "lost2").unlink()
        assert "removed 1 " in lab.cli("prune").stdout
        assert "table inet coi" not in sh("nft", "list", "ruleset").stdout  # and the host pieces with it
    finally:
        proc.kill()
        proc.wait(timeout=5)
        lab.cli("prune", check=False)
    assert lab.settled()


def test_usage_errors_change_nothing(lab):
    """The verbs as a command table: help for the bare group, the parser's exit codes, nothing set up."""
    before = host_state()
    r = lab.cli("--help")
    assert all(f"  {verb} " in r.stdout for verb in ("allow", "attach", "deny", "detach", "log", "prune", "show"))
    assert "--mode string" in lab.cli("attach", "--help").stdout

    def fails(*args):
        r = lab.cli(*args, check=False)
        return r.returncode, r.stderr.splitlines()[-1] if r.stderr else ""

    assert fails("attach", "u1", "--pid", "1", "--mode", "wide") == \
        (2, "coi: invalid mode 'wide': must be 'restricted', 'allowlist' or 'open'")
    assert fails("attach", "u1") == (2, "coi: network attach: --pid PID or --netns PATH is required")
    assert fails("show", "--format", "yaml") == (2, "coi: invalid format 'yaml': must be 'text' or 'json'")
    assert fails("log", "--follow", "--timeout", "soon") == (2, 'coi: --timeout must be a number of seconds, got "soon"')
    assert fails("allow") == (1, "coi: accepts 1 arg(s), received 0")
    assert fails("detach", "a", "b") == (1, "coi: accepts 1 arg(s), received 2")
    assert host_state() == before
