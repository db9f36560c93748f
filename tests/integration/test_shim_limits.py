"""[limits.*] as a user meets them on this host: a bad value is refused naming the key and the accepted
forms; a limit whose cgroup controller the host lacks fails naming the controller, or runs after one
warning with [limits] best_effort; where the host has the controller the limit is in the container's
cgroup; max_duration stops the sandbox on time; `coi container info` shows usage against each limit.
The limits biting (OOM kill, fork failure, CPU and I/O throttling) are proven in tests/vm."""
import json
import os
import time

import pytest

from conftest import coi_runner
from test_shim_run import IMAGE, env, workspace  # noqa: F401 (fixtures)


@pytest.fixture
def coi(env, workspace):  # noqa: F811
    """coi in the workspace as the host user 1234 (sudo), with extra variables per call."""
    base = coi_runner(dict(env, SUDO_UID="1234", SUDO_GID="1234"), cwd=workspace)
    return base


def host_controllers():
    for mount in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        try:
            with open(f"{mount}/cgroup.controllers") as f:
                return f.read().split()
        except OSError:
            continue
    return []


HAS_MEMORY_PIDS = {"memory", "pids"} <= set(host_controllers())


def test_bad_value_names_the_key_and_the_forms(coi):
    r = coi("run", "--image", IMAGE, "--limit-memory", "2 GB", "--", "true", check=False)
    assert r.returncode == 1
    assert 'limits.memory.limit = "2 GB" (flag --limit-memory): not a size' in r.stderr
    assert '"2GiB"' in r.stderr and '"50%"' in r.stderr
    r = coi("run", "--image", IMAGE, "--", "true", check=False, extra_env={"COI_LIMIT_DURATION": "soon"})
    assert r.returncode == 1
    assert 'limits.runtime.max_duration = "soon" (env COI_LIMIT_DURATION)' in r.stderr
    assert '"1h30m"' in r.stderr


def test_flag_beats_environment(coi):
    """COI_LIMIT_MEMORY is wrong, the flag replaces it: the run gets past the check."""
    r = coi("run", "--image", IMAGE, "--limit-memory", "2 GiB", "--", "true", check=False,
            extra_env={"COI_LIMIT_MEMORY": "64MiB"})
    assert 'limits.memory.limit = "2 GiB" (flag --limit-memory)' in r.stderr


# Read inside the container, in its own cgroup2 mount (its cgroup namespace's root is its group).
INSIDE_LIMITS = "cd \"$(awk '$(NF-2) == \"cgroup2\" {print $5}' /proc/self/mountinfo)\" && cat memory.max pids.max"


def test_cgroup_limits_in_the_container_or_named_controller(coi):
    args = ["run", "--image", IMAGE, "--limit-memory", "256MiB", "--limit-memory-enforce", "hard",
            "--limit-processes", "200", "--", "sh", "-c", INSIDE_LIMITS]
    r = coi(*args, check=False)
    if HAS_MEMORY_PIDS:
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == [str(256 << 20), "200"]
    else:
        # A hybrid host (this lab): the cgroup2 hierarchy lacks both; nothing is started.
        assert r.returncode == 1
        assert "memory (limits.memory.limit)" in r.stderr
        assert "pids (limits.runtime.max_processes)" in r.stderr
        assert "best_effort" in r.stderr
        assert "(none)" in coi("list").stdout


def test_best_effort_warns_once_and_runs(coi, env):
    home = env["HOME"]
    os.makedirs(f"{home}/.coi", exist_ok=True)
    with open(f"{home}/.coi/config.toml", "w") as f:
        f.write("[limits]\nbest_effort = true\n")
    try:
        r = coi("run", "--image", IMAGE, "--limit-memory", "256MiB", "--limit-processes", "200", "--", "echo",
                "ran", check=False)
    finally:
        os.unlink(f"{home}/.coi/config.toml")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ran"
    warnings = [line for line in r.stderr.splitlines() if "limits not enforced" in line]
    if HAS_MEMORY_PIDS:
        assert warnings == []
    else:
        assert len(warnings) == 1, r.stderr
        assert "memory (limits.memory.limit)" in warnings[0]


def test_max_duration_stops_the_sandbox_on_time(coi):
    t0 = time.monotonic()
    r = coi("run", "--image", IMAGE, "--limit-duration", "3s", "--", "sleep", "120", check=False)
    took = time.monotonic() - t0
    assert r.returncode != 0
    assert took < 30, f"the sandbox ran {took:.1f} s with max_duration 3s"
    assert took >= 3
    assert "(none)" in coi("list").stdout


def test_info_shows_usage_against_the_limits(coi, workspace):
    coi("run", "--image", IMAGE, "--persistent", "--limit-duration", "1h", "--", "true")
    names = [c["name"] for c in json.loads(coi("container", "list", "--format", "json").stdout)]
    name = next(n for n in names if n.startswith("coi-"))
    try:
        coi("container", "start", name, check=False)
        r = coi("container", "info", name)
        assert "Limits (used / limit):" in r.stdout
        line = next(x for x in r.stdout.splitlines() if "running time" in x)
        assert "1h, then a clean stop" in line
        doc = json.loads(coi("container", "info", name, "--format", "json").stdout)
        assert {"resource": "running time"}.items() <= doc["limits"][0].items()
    finally:
        coi("container", "delete", "-f", name, check=False)
