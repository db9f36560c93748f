"""`coi run` and `coi shell` get the network of their [network] mode (issue 7: "coi run gets the same
network isolation as coi shell"), in netlab.py's world: this module's process moves into a namespace
of its own that plays the host, with an "outside" namespace playing the internet. What the tests look
at is what the agent would see inside the container: name resolution through /etc/resolv.conf, TCP
connections, and what is left on the host afterwards."""
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import time

import pytest

from netlab import (HOST_UPLINK, OUT_METADATA, OUT_OTHER, OUT_PRIVATE, OUT_PUBLIC, PORT, host_state,
                    lab_in_new_netns, wait_until)
from conftest import coi_runner
from test_shim_run import COI, IMAGE, build_test_image_tar, env, pytestmark  # noqa: F401

pytestmark = pytestmark + [pytest.mark.skipif(
    shutil.which("dnsmasq") is None or shutil.which("nft") is None, reason="needs dnsmasq (dnsmasq-base) and nft")]

# Inside the test image (bash, coreutils, getent; no python): one line per probe.
CONNECT_AS = ('timeout 3 bash -c \'exec 3<>/dev/tcp/{ip}/{port} && printf "GET / HTTP/1.0\\r\\n\\r\\n" >&3 '
              '&& head -c 12 <&3\' 2>/dev/null | grep -q "HTTP/1.0 200" && echo {key}=ok || echo {key}=closed')


class CONNECT:
    @staticmethod
    def format(ip, port, key=None):
        return CONNECT_AS.format(ip=ip, port=port, key=key or ip)
RESOLVE = "getent hosts {name} | awk '{{print \"{name}=\" $1}}' | grep . || echo {name}=none"


@pytest.fixture(scope="module")
def lab(env, tmp_path_factory):
    with lab_in_new_netns(tmp_path_factory.mktemp("shimnet"), [COI, "network"]) as lab:
        yield lab


@pytest.fixture
def workspace():
    d = pathlib.Path(tempfile_dir()) / "ws"
    d.mkdir()
    subprocess.run(["git", "init", "-q", str(d)], check=True)
    for p in [d, *d.rglob("*")]:
        os.lchown(p, 1234, 1234)
    yield d
    shutil.rmtree(d.parent, ignore_errors=True)


def tempfile_dir():
    import tempfile
    d = tempfile.mkdtemp(prefix="coi-netws-", dir="/tmp")
    os.chmod(d, 0o755)
    return d


@pytest.fixture
def coi(env, lab, workspace):
    e = dict(env, SUDO_UID="1234", SUDO_GID="1234", **{k: v for k, v in lab.env.items() if k.startswith("COI_NET")})

    run = coi_runner(e, cwd=workspace)
    yield run
    subprocess.run([str(COI), "kill", "-a", "-f"], capture_output=True, env=e, timeout=120)


def config(workspace, text):
    d = workspace / ".coi"
    d.mkdir(exist_ok=True)
    (d / "config.toml").write_text(text)


def probe(coi, *lines, args=()):
    """Runs the probes in one `coi run`; returns {subject: answer} and the run's stderr."""
    r = coi("run", "--image", IMAGE, *args, "--", "bash", "-c", "; ".join(lines))
    found = dict(line.split("=", 1) for line in r.stdout.split() if "=" in line)
    return found, r.stderr


def test_run_in_restricted_mode_reaches_the_internet_not_private_ranges(coi, lab):
    seen, err = probe(coi, RESOLVE.format(name="other.test"), "cat /etc/resolv.conf | grep -c nameserver",
                      CONNECT.format(ip=OUT_PUBLIC, port=PORT), CONNECT.format(ip=OUT_PRIVATE, port=PORT),
                      CONNECT.format(ip=OUT_METADATA, port=PORT), CONNECT.format(ip=HOST_UPLINK, port=PORT + 1))
    assert "Network mode: restricted (blocking local/internal networks)" in err
    assert seen["other.test"] == OUT_OTHER  # through the forwarder named in /etc/resolv.conf
    assert seen[OUT_PUBLIC] == "ok"
    assert seen[OUT_PRIVATE] == "closed"
    assert seen[OUT_METADATA] == "closed"
    assert seen[HOST_UPLINK] == "closed"


def test_run_in_open_mode_reaches_private_ranges(coi, lab):
    seen, err = probe(coi, CONNECT.format(ip=OUT_PRIVATE, port=PORT), CONNECT.format(ip=OUT_PUBLIC, port=PORT),
                      args=("--network", "open"))
    assert "Network mode: open" in err
    assert seen == {OUT_PRIVATE: "ok", OUT_PUBLIC: "ok"}


def test_run_in_allowlist_mode_from_the_config(coi, lab, workspace):
    config(workspace, '[network]\nmode = "allowlist"\nallowed_domains = ["allowed.test"]\n')
    seen, err = probe(coi, CONNECT.format(ip=OUT_PUBLIC, port=PORT, key="before"),
                      RESOLVE.format(name="allowed.test"), CONNECT.format(ip=OUT_PUBLIC, port=PORT, key="after"),
                      RESOLVE.format(name="other.test"), CONNECT.format(ip=OUT_OTHER, port=PORT))
    assert "Network mode: allowlist (domain-based filtering)" in err
    # closed until the forwarder answered the name, open from then on
    assert (seen["before"], seen["allowed.test"], seen["after"]) == ("closed", OUT_PUBLIC, "ok")
    assert seen["other.test"] == "none"
    assert seen[OUT_OTHER] == "closed"


def test_allowlist_without_domains_is_refused(coi, lab, workspace):
    config(workspace, '[network]\nmode = "allowlist"\nallowed_domains = []\n')
    r = coi("run", "--image", IMAGE, "--", "true", check=False)
    assert r.returncode != 0
    assert "allowlist mode requires at least one allowed domain" in r.stderr
    assert coi("list", "--format", "json").stdout.count('"name"') == 0


def test_bad_network_flag_is_one_clear_line(coi, lab):
    r = coi("run", "--network", "everything", "--image", IMAGE, "--", "true", check=False)
    assert r.returncode != 0
    assert r.stderr.strip() == 'coi: invalid --network "everything": restricted, allowlist or open'


def test_network_goes_with_the_container(coi, lab):
    assert lab.settled()
    coi("run", "--image", IMAGE, "--", "true")
    assert not list((pathlib.Path(coi.env["COI_NET_STATE_DIR"]) / "containers").glob("*"))
    assert not re.search(r"^\d+: coi-", subprocess.run(["ip", "-o", "link"], capture_output=True,
                                                       text=True).stdout, re.M)  # its veth at once
    assert lab.settled()  # the bridge, the table and the forwarder after NET_LINGER_MS


def test_live_allow_reaches_a_running_session(coi, lab, workspace):
    config(workspace, '[network]\nmode = "allowlist"\nallowed_domains = ["allowed.test"]\n')
    p = subprocess.Popen([str(COI), "run", "--image", IMAGE, "--", "sleep", "300"], env=coi.env, cwd=workspace,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def name():
            r = subprocess.run([str(COI), "list", "--format", "json"], capture_output=True, text=True, env=coi.env)
            names = re.findall(r'"name":\s*"(coi-[0-9a-f]{8}-\d+)"', r.stdout)
            return names[0] if names else None
        cname = wait_until(name, 30, step=0.2)
        assert cname, "the session's container never showed up"

        def sees(what):
            r = subprocess.run([str(COI), "container", "exec", cname, "--", "bash", "-c", what],
                               capture_output=True, text=True, env=coi.env, timeout=30)
            return r.stdout.strip()
        assert wait_until(lambda: sees(RESOLVE.format(name="other.test")) == "other.test=none", 10)
        coi("network", "allow", "-c", cname, "other.test")
        assert wait_until(lambda: sees(RESOLVE.format(name="other.test")) == f"other.test={OUT_OTHER}", 1.5)
        assert sees(CONNECT.format(ip=OUT_OTHER, port=PORT)) == f"{OUT_OTHER}=ok"
        shown = json.loads(coi("network", "show", cname, "--format", "json").stdout)[0]
        assert shown["mode"] == "allowlist" and "other.test" in shown["allow"]
    finally:
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=60)
    assert lab.settled()


def test_kill_9_of_coi_then_kill_leaves_nothing(coi, lab, workspace):
    p = subprocess.Popen([str(COI), "run", "--persistent", "--image", IMAGE, "--", "sleep", "300"], env=coi.env,
                         cwd=workspace, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert wait_until(lambda: "table inet coi" in subprocess.run(["nft", "list", "tables"], capture_output=True,
                                                                 text=True).stdout, 30, step=0.2)
    time.sleep(0.5)
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=10)
    assert host_state() != lab.empty  # the container runs on, with its network
    coi("kill", "-a", "-f")
    coi("clean", "--orphans", "-f")
    assert lab.settled()


def test_restarted_persistent_container_gets_its_network_back(coi, lab, workspace):
    config(workspace, '[network]\nmode = "allowlist"\nallowed_domains = ["allowed.test"]\n')
    coi("run", "--persistent", "--image", IMAGE, "--", "true")
    names = re.findall(r'"name":\s*"(coi-[0-9a-f]{8}-\d+)"', coi("list", "--format", "json").stdout)
    assert len(names) == 1
    assert lab.settled()  # stopped: no network
    coi("container", "start", names[0])
    try:
        r = coi("container", "exec", names[0], "--", "bash", "-c",
                RESOLVE.format(name="allowed.test") + "; " + RESOLVE.format(name="other.test"))
        assert r.stdout.split() == [f"allowed.test={OUT_PUBLIC}", "other.test=none"]  # the recorded allowlist
    finally:
        coi("container", "stop", names[0])
    assert lab.settled()
    coi("container", "delete", names[0])


def test_low_level_launch_has_no_network_unless_asked(coi, lab):
    coi("container", "launch", IMAGE, "plain-1", "--ephemeral")
    try:
        links = coi("container", "exec", "plain-1", "--", "ls", "/sys/class/net").stdout.split()
        assert links == ["lo"]
        assert lab.settled()
    finally:
        coi("container", "stop", "plain-1")
    coi("container", "launch", IMAGE, "open-1", "--ephemeral", "--network", "open")
    try:
        r = coi("container", "exec", "open-1", "--", "bash", "-c", CONNECT.format(ip=OUT_PRIVATE, port=PORT))
        assert r.stdout.strip() == f"{OUT_PRIVATE}=ok"
    finally:
        coi("container", "stop", "open-1")
    assert lab.settled()
    r = coi("container", "launch", IMAGE, "bad-1", "--network", "wide", check=False)
    assert (r.returncode, r.stderr) == (2, "coi: invalid network 'wide': must be 'restricted', 'allowlist' or 'open'\n")


def test_clean_orphans_removes_a_network_whose_container_died(coi, lab):
    """A network whose namespace died without its teardown (the container was killed with coi): health
    counts it, a dry run only names it, `coi clean --orphans` removes it and the host is as before."""
    def orphaned():
        r = coi("health", "--format", "json", check=False)
        return json.loads(r.stdout)["checks"]["orphaned_resources"]["details"]["orphaned_networks"]

    assert orphaned() == 0
    p = subprocess.Popen(["unshare", "-n", "sleep", "300"])
    try:
        assert wait_until(lambda: os.readlink(f"/proc/{p.pid}/ns/net") != os.readlink("/proc/self/ns/net"), 5)
        coi("network", "attach", "orphan-1", "--pid", p.pid)
        assert orphaned() == 0  # its veth is there
    finally:
        p.kill()
        p.wait(timeout=10)
    assert wait_until(lambda: orphaned() == 1, 10, step=0.2)  # the veth went with the namespace
    r = coi("clean", "--orphans", "--dry-run")
    assert "Would clean orphaned network of orphan-1" in r.stdout
    assert orphaned() == 1
    r = coi("clean", "--orphans", "-f")
    assert "Cleaning orphaned network of orphan-1" in r.stdout
    assert orphaned() == 0
    assert not list((pathlib.Path(coi.env["COI_NET_STATE_DIR"]) / "containers").glob("*"))
    assert lab.settled()
