"""20 containers at once, each looping launch → exec → stop → delete (with a filtered network) for a
while: no command fails, the DNS forwarder's fds don't grow, and everything is back to the baseline
at the end. Short variant: 60 s; COI_STRESS_FULL=1: 300 s (COI_STRESS_PARALLEL_S overrides)."""
import concurrent.futures
import os
import subprocess
import time

from world import COI, IMAGE, baseline, settled, variant, world  # noqa: F401 (a fixture)

CONTAINERS = 20
SECONDS = float(os.environ.get("COI_STRESS_PARALLEL_S", variant(60, 300)))


def forwarder_fds(env):
    """Open fds of the network's DNS forwarder, None while there is none."""
    try:
        pid = int(open(os.path.join(env["COI_NET_STATE_DIR"], "dns.pid")).read())
        return len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, ValueError):
        return None


def loop(env, name, deadline):
    """(rounds, errors) of one container's launch/exec/stop/delete loop until deadline."""
    rounds, errors = 0, []
    steps = (("container", "launch", IMAGE, name, "--network", "restricted"),
             ("container", "exec", name, "--", "sh", "-c", "hostname > /root/h && cat /root/h"),
             ("container", "exec", name, "--", "true"),
             ("container", "stop", name),
             ("container", "delete", name))
    while time.monotonic() < deadline and len(errors) < 3:
        for args in steps:
            r = subprocess.run([str(COI), *args], capture_output=True, text=True, env=env, timeout=300)
            if r.returncode != 0:
                info = subprocess.run([str(COI), "container", "info", name], capture_output=True, text=True,
                                      env=env, timeout=60)
                errors.append(f"coi {' '.join(args[:2])} {name} (round {rounds}) exited {r.returncode}: "
                              f"{r.stderr.strip()[-300:]}\n  info: {(info.stdout + info.stderr).strip()[-600:]}")
                subprocess.run([str(COI), "container", "delete", name, "--force"], capture_output=True, env=env,
                               timeout=300)
                break
        else:
            rounds += 1
    return rounds, errors


def test_twenty_containers_looping_at_once_fail_nothing_and_leave_nothing(world):
    env = world["env"]
    base = baseline(world)
    names = [f"{world['prefix']}{0xa0000000 + i:08x}-1" for i in range(CONTAINERS)]
    deadline = time.monotonic() + SECONDS
    samples = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=CONTAINERS) as pool:
        futures = [pool.submit(loop, env, n, deadline) for n in names]
        while not all(f.done() for f in futures):
            n = forwarder_fds(env)
            if n is not None:
                samples.append(n)
            time.sleep(1)
        results = [f.result() for f in futures]
    errors = [e for _, errs in results for e in errs]
    rounds = sum(r for r, _ in results)
    print(f"\n{CONTAINERS} containers for {SECONDS:.0f} s: {rounds} rounds of launch/exec/exec/stop/delete, "
          f"forwarder fds {min(samples, default=0)}..{max(samples, default=0)}")
    assert not errors, "\n".join(errors)
    assert rounds >= CONTAINERS
    third = max(1, len(samples) // 3)
    assert max(samples[-third:], default=0) <= max(samples[:third], default=0) + 4, samples
    left = settled(world, base)
    assert not left, left
