"""kill -9 at a random point of a start, exec or stop (of coi itself, of a child it forked, or of the
container's init), then `coi clean`: mounts, cgroups, links, nftables, state files, id blocks and
processes are back to the baseline, and the workspace is byte-identical (cleanup never writes it).

Short variant: 30 cycles; COI_STRESS_FULL=1: 500. COI_STRESS_SEED repeats a run's random choices."""
import collections
import json
import os
import random
import signal
import subprocess
import time

import pytest

from world import COI, IMAGE, baseline, clean, coi, settled, variant, world  # noqa: F401 (a fixture)

CYCLES = int(os.environ.get("COI_STRESS_CYCLES", variant(30, 500)))
SCENARIOS = ("run", "launch", "exec", "stop")
TARGETS = ("coi", "child", "init")


def children():
    """{ppid: [pid, ...]} of every process."""
    kids = collections.defaultdict(list)
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            stat = open(f"/proc/{p}/stat").read()
        except OSError:
            continue
        kids[int(stat.rsplit(")", 1)[1].split()[1])].append(int(p))
    return kids


def descendants(pid):
    kids, out, todo = children(), [], [pid]
    while todo:
        for c in kids.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def init_pids(world):
    """Container init pids from the runtime's state files."""
    out = []
    root = world["env"]["COI_RUNTIME_DIR"]
    for name in os.listdir(root) if os.path.isdir(root) else []:
        try:
            pid = json.load(open(os.path.join(root, name, "state.json"))).get("pid", 0)
        except (OSError, ValueError):
            continue
        if pid > 0:
            out.append(pid)
    return out


def _holds(pid, proc):
    """Whether process pid has proc's stdout pipe open."""
    try:
        want = os.readlink(f"/proc/self/fd/{proc.stdout.fileno()}")
        return any(os.readlink(f"/proc/{pid}/fd/{fd}") == want for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


def pick_victim(rng, target, proc, world):
    """(pid, what) for the target, falling back to coi itself when the target does not exist (yet)."""
    inits = init_pids(world)
    if target == "init" and inits:
        return rng.choice(inits), "init"
    if target == "child":
        # Children live for milliseconds (the runtime's clone before exec, a forked step): watch for one.
        deadline = time.monotonic() + 0.3
        while proc.poll() is None and time.monotonic() < deadline:
            kids = [p for p in descendants(proc.pid) if p not in inits]
            if kids:
                return rng.choice(kids), "child"
            time.sleep(0.002)
    return proc.pid, "coi"


def command(scenario, name):
    if scenario == "run":
        return ["run", "--image", IMAGE, "--", "sleep", "0.3"]
    if scenario == "launch":
        return ["container", "launch", IMAGE, name, "--network", "restricted"]
    if scenario == "exec":
        return ["container", "exec", name, "--", "sh", "-c", "sleep 0.2"]
    return ["container", "stop", name]


def test_kill_9_anywhere_then_clean_restores_the_baseline(world):
    seed = int(os.environ.get("COI_STRESS_SEED", time.time_ns() % 2**32))
    rng = random.Random(seed)
    env = dict(world["env"], SUDO_UID="1234", SUDO_GID="1234")
    base = baseline(world)
    hits = collections.Counter()
    started = time.monotonic()
    for cycle in range(CYCLES):
        scenario, target = rng.choice(SCENARIOS), rng.choice(TARGETS)
        name = f"{world['prefix']}{cycle:08x}-1"
        if scenario in ("exec", "stop"):
            coi(world, "container", "launch", IMAGE, name, "--network", "restricted")
        delay = rng.uniform(0, {"run": 0.5, "launch": 0.35, "exec": 0.3, "stop": 0.2}[scenario])
        proc = subprocess.Popen([str(COI), *command(scenario, name)], env=env, cwd=world["ws"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(delay)
        if proc.poll() is None:
            pid, what = pick_victim(rng, target, proc, world)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                what = "gone"
        else:
            what = "finished"
        point = f"{scenario}: {what}"
        hits[point] += 1
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            alive = proc.poll() is None
            proc.kill()
            holders = [p for p in descendants(1) if p != os.getpid() and _holds(p, proc)]
            for p in holders:
                os.kill(p, signal.SIGKILL)  # the leak is reported; don't leave it running
            try:
                out, _ = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                out = "(output held open)"
            pytest.fail(f"cycle {cycle} (seed {seed}, {point} after {delay:.2f}s): coi {scenario} "
                        f"{'did not end' if alive else 'ended, but processes it left hold its output'} within "
                        f"60 s; left: {holders}\n{out}")
        problem = clean(world)
        d = settled(world, base)
        if problem or d:
            pytest.fail(f"cycle {cycle} (seed {seed}, {point} after {delay:.2f}s): {problem or ''}\n"
                        f"left behind: {json.dumps(d, indent=1, default=str)}\ncoi's output:\n{out}")
    took = time.monotonic() - started
    print(f"\n{CYCLES} cycles in {took:.0f} s (seed {seed}); kill points:")
    for point, n in sorted(hits.items()):
        print(f"  {point}: {n}")
