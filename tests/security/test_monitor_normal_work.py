"""The security monitor (issue 20) under normal work: a git clone of a local repository, a parallel C
build, a test suite, name lookups and HTTP fetches run in coi containers with [monitoring] enabled and
must end with no pause, no kill and no HIGH or CRITICAL event. And the monitor's cost while the
container idles: under 2 % of one core, measured from its /proc/PID/stat over 60 s (printed)."""
import json
import os
import time

from monitorlab import IMAGE, lab, menv, start_shell  # noqa: F401
from netlab import OUT_PUBLIC, PORT

# TMPDIR in the home: `coi run` starts the command while systemd boots, and its tmp.mount may still
# put a fresh tmpfs over /tmp under gcc's temporary files.
C_BUILD = r"""
set -e
export TMPDIR=$HOME/tmp; mkdir -p $TMPDIR
mkdir -p ~/proj && cd ~/proj
for i in $(seq 1 60); do
  printf '#include <stdio.h>\nint f%d(int x) { int s = 0; for (int k = 0; k < x; k++) s += k * %d; return s; }\n' $i $i > f$i.c
done
printf 'int main(void) { return 0; }\n' > main.c
printf 'SRCS := $(wildcard *.c)\nOBJS := $(SRCS:.c=.o)\nprog: $(OBJS)\n\t$(CC) -o $@ $^\n%%.o: %%.c\n\t$(CC) -O2 -c $< -o $@\n' > Makefile
make -s -j4
./prog
"""

TESTS = r"""
set -e
export TMPDIR=$HOME/tmp; mkdir -p $TMPDIR
mkdir -p ~/suite && cd ~/suite
cat > test_math.py <<'PY'
import unittest, subprocess, os, tempfile
class T(unittest.TestCase):
    def test_add(self): self.assertEqual(1 + 1, 2)
    def test_files(self):
        with tempfile.TemporaryDirectory() as d:
            for i in range(200):
                open(os.path.join(d, f"f{i}"), "w").write("x" * 1000)
            self.assertEqual(len(os.listdir(d)), 200)
    def test_subprocess(self): self.assertEqual(subprocess.run(["true"]).returncode, 0)
PY
python3 -m unittest -q 2>&1
"""


def high_or_critical(menv, name):  # noqa: F811
    return [e for e in menv.audit(name) if e["level"] in ("high", "critical")]


def run_work(menv, script):  # noqa: F811
    before = set(p.name for p in (menv.base / "home" / ".coi" / "audit").glob("*.jsonl")) \
        if (menv.base / "home" / ".coi" / "audit").exists() else set()
    r = menv.coi("run", "--image", IMAGE, "--", "bash", "-c", script, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "FROZEN" not in r.stderr and "KILLED" not in r.stderr
    audit = menv.base / "home" / ".coi" / "audit"
    names = [p.name[:-len(".jsonl")] for p in audit.glob("*.jsonl") if p.name not in before] if audit.exists() else []
    for n in names:
        assert high_or_critical(menv, n) == [], json.dumps(menv.audit(n), indent=1)
    return r


def test_git_clone_of_a_local_repository(menv):  # noqa: F811
    run_work(menv, "set -e; cd ~; git init -q src; cd src; for i in $(seq 50); do echo $i > f$i; done; "
                   "git add .; git -c user.email=a@b -c user.name=a commit -qm init; cd ~; "
                   "git clone -q ~/src clone; test -f clone/f50; git -C /workspace status --short")


def test_parallel_c_build(menv):  # noqa: F811
    run_work(menv, C_BUILD)


def test_a_test_suite(menv):  # noqa: F811
    r = run_work(menv, TESTS)
    assert "OK" in r.stdout


def test_lookups_and_fetches(menv, lab):  # noqa: F811
    r = run_work(menv, "for i in 1 2 3 4 5; do getent hosts allowed.test other.test; "
                       f"python3 -c \"import urllib.request as u; print(u.urlopen('http://{OUT_PUBLIC}:{PORT}/').status)\"; "
                       "done")
    assert r.stdout.count("200") == 5


def test_idle_cpu_under_two_percent(menv):  # noqa: F811
    name, p = start_shell(menv)
    try:
        pidfile = menv.base / "data" / "containers" / name / "monitor.pid"
        assert pidfile.exists()
        pid = int(pidfile.read_text())
        hz = os.sysconf("SC_CLK_TCK")

        def cpu():
            f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            return (int(f[11]) + int(f[12])) / hz
        time.sleep(5)  # past the boot
        c0, t0 = cpu(), time.monotonic()
        time.sleep(60)
        c1, t1 = cpu(), time.monotonic()
        share = (c1 - c0) / (t1 - t0) * 100
        print(f"\nmonitor idle CPU: {share:.3f} % of one core ({c1 - c0:.2f} s CPU in {t1 - t0:.0f} s)")
        assert share < 2.0
    finally:
        menv.coi("kill", "-f", name)
        p.kill()
        p.wait(timeout=60)


def test_container_launch_and_start_bring_the_monitor(menv):  # noqa: F811
    name = "coi-montest-plain"
    pidfile = menv.base / "data" / "containers" / name / "monitor.pid"
    try:
        r = menv.coi("container", "launch", IMAGE, name, timeout=300)
        assert r.returncode == 0, r.stderr
        assert json.loads(menv.coi("monitor", name, "--format", "json").stdout)["monitor"]["running"]
        first = int(pidfile.read_text())
        assert menv.coi("container", "stop", name, "--force", timeout=120).returncode == 0
        # it ends with the container's init
        deadline = time.monotonic() + 10
        while os.path.exists(f"/proc/{first}") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not os.path.exists(f"/proc/{first}")
        assert menv.coi("container", "start", name, timeout=300).returncode == 0
        snap = json.loads(menv.coi("monitor", name, "--format", "json").stdout)
        assert snap["monitor"]["running"] and snap["monitor"]["pid"] != first
    finally:
        menv.coi("container", "delete", name, "--force", timeout=120)
