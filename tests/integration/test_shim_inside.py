"""Inside the sandbox it feels like a real machine (issue 25): the container's own name resolves (sudo
says nothing), Docker stores its layers with overlay2, `coi run --wait` runs the command once systemd has
booted (without it, at once), and `coi shell` starts the agent only after the boot.

Most tests use the test image of test_shim_run (coi-test: systemd, sudo, tmux, a `code` user); the
Docker test needs docker.io, so it uses coi-default from the default image store (built with `coi build`
when it is missing, skipped only when that can't run)."""
import pathlib
import re
import subprocess
import time

import pytest

from test_shim_run import COI, IMAGE, coi, env, pytestmark, workspace  # noqa: F401
from test_shim_shell import Terminal, default_image, offline, terminal, tmux  # noqa: F401


def test_own_name_resolves_and_sudo_is_quiet(coi):
    r = coi("run", "--image", IMAGE, "--", "sh", "-c",
            'hostname; getent hosts "$(hostname)"; sudo true && echo sudo-ok; cat /etc/hosts')
    name, resolved, *rest = r.stdout.splitlines()
    assert name.startswith("coi-")
    assert resolved.split() == ["127.0.1.1", name]
    assert "sudo-ok" in rest
    assert "unable to resolve host" not in r.stderr
    hosts = rest[rest.index("sudo-ok") + 1:]
    assert hosts[0].split() == ["127.0.0.1", "localhost"]  # the image's own lines stay


def test_own_name_line_once_after_restarts(coi):
    """A persistent container restarted twice keeps one line for its name, and what the user added."""
    coi("run", "--persistent", "--image", IMAGE, "--", "sh", "-c",
        "echo '10.1.2.3 build-cache' | sudo tee -a /etc/hosts")
    try:
        coi("run", "--persistent", "--image", IMAGE, "--", "true")
        r = coi("run", "--persistent", "--image", IMAGE, "--", "sh", "-c", 'hostname; cat /etc/hosts')
        assert "Restarting existing persistent container" in r.stderr
        name, *hosts = r.stdout.splitlines()
        assert [h for h in hosts if name in h.split()] == [f"127.0.1.1\t{name}"]
        assert "10.1.2.3 build-cache" in hosts
    finally:
        coi("kill", "-a", "-f")


def test_own_name_resolves_in_a_plain_container(env, tmp_path):
    """`coi container launch` (any image, no session) gets the line too."""
    run = lambda *a, **kw: subprocess.run([str(COI), *a], capture_output=True, text=True, env=env,  # noqa: E731
                                          timeout=120, **kw)
    name = "inside-hosts"
    r = run("container", "launch", IMAGE, name)
    assert r.returncode == 0, r.stderr
    try:
        r = run("container", "exec", name, "--", "getent", "hosts", name)
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == ["127.0.1.1", name]
    finally:
        run("container", "delete", "--force", name)


# ---- waiting for the boot ---------------------------------------------------------------------------

# A unit that keeps the boot going for 3 s: without a wait, a command sees systemd still starting.
SLOW_UNIT = ("printf '[Service]\\nType=oneshot\\nExecStart=/bin/sleep 3\\n' > /etc/systemd/system/coi-slow.service"
             " && ln -sf /etc/systemd/system/coi-slow.service /etc/systemd/system/multi-user.target.wants/")
BOOTED = ("running", "degraded")


def test_run_wait_runs_the_command_after_the_boot(coi):
    coi("run", "--persistent", "--image", IMAGE, "--", "sudo", "sh", "-c", SLOW_UNIT)
    try:
        # the fast path stays: without --wait the command runs while systemd is still booting
        r = coi("run", "--persistent", "--image", IMAGE, "--", "sh", "-c",
                "systemctl is-system-running; sudo systemctl is-active coi-slow", check=False)
        assert (r.stdout.split() or ["(no answer)"])[0] not in BOOTED, r.stdout + r.stderr
        r = coi("run", "--persistent", "--wait", "--image", IMAGE, "--", "sh", "-c",
                "systemctl is-system-running; sudo systemctl is-active coi-slow dbus", check=False)
        assert r.returncode == 0, r.stderr
        assert r.stdout.split()[0] in BOOTED, r.stdout + r.stderr
        assert r.stdout.split()[1:] == ["inactive", "active"]  # the oneshot has run; the system bus is up
        assert "Failed to connect to bus" not in r.stderr
    finally:
        coi("kill", "-a", "-f")


def test_shell_starts_the_agent_after_the_boot(env, terminal, offline, workspace):
    from conftest import coi_runner
    run = coi_runner(env, cwd=workspace, prefix=offline)
    run("run", "--persistent", "--image", IMAGE, "--", "sudo", "sh", "-c", SLOW_UNIT)
    try:
        t = terminal("shell", "--debug", "--persistent", "--image", IMAGE)
        t.wait_for("code@", timeout=60)
        t.send("echo state=$(systemctl is-system-running)")
        deadline = time.monotonic() + 30
        while not (m := re.search(r"^state=(\w*)", t.screen(), re.M)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert m and m.group(1) in BOOTED, t.screen()
        t.send("exit")
        t.wait_for("COI-EXIT=0", timeout=60)
    finally:
        run("kill", "-a", "-f", check=False)


def test_commands_get_the_users_groups(coi):
    """What coi runs gets the user's supplementary groups from the container's own /etc/group, as a
    login there would: a group the user joins shows in the next command's `id`."""
    coi("run", "--persistent", "--image", IMAGE, "--", "sh", "-c",
        "sudo groupadd coi-extra && sudo usermod -aG coi-extra,sudo \"$(id -un)\"")
    try:
        r = coi("run", "--persistent", "--image", IMAGE, "--", "sh", "-c", "id -un; id -Gn")
        user, groups = r.stdout.splitlines()
        assert {"coi-extra", "sudo", user} <= set(groups.split()), r.stdout
    finally:
        coi("kill", "-a", "-f")


# ---- Docker inside ----------------------------------------------------------------------------------

# As the sandbox user, a member of group docker (sudo only to start the daemon): a base image from three
# files of the container's own, a Dockerfile with two RUN layers on it, built with the classic builder and
# with BuildKit, run.
DOCKER_BUILD = r"""
set -e
sudo systemctl start docker
echo driver=$(docker info -f '{{.Driver}}')
b=$(mktemp -d)
mkdir -p $b/bin $b/lib/x86_64-linux-gnu $b/lib64
cp /usr/bin/dash $b/bin/sh
cp /lib/x86_64-linux-gnu/libc.so.6 $b/lib/x86_64-linux-gnu/
cp /lib64/ld-linux-x86-64.so.2 $b/lib64/
tar -C $b -c . | docker import - coi-base:1 >/dev/null
d=$(mktemp -d)
printf 'FROM coi-base:1\nRUN echo one > /one\nRUN echo two > /two\n' > $d/Dockerfile
docker build -q --network none -t two-layer $d >/dev/null
DOCKER_BUILDKIT=1 docker build -q --network none -t two-layer-bk $d >/dev/null
for i in two-layer two-layer-bk; do
    echo $i layers=$(docker image inspect -f '{{len .RootFS.Layers}}' $i) \
         $(docker run --rm --network none $i sh -c 'read a < /one; read b < /two; echo $a-$b')
done
"""


def test_docker_builds_on_overlay2(env, workspace, default_image):
    from conftest import coi_runner
    e = {k: v for k, v in env.items() if k != "COI_IMAGES_DIR"}  # the default store, where coi-default is
    run = coi_runner(e, cwd=workspace, timeout=600)
    # --nesting: a `coi run` job gets the strict seccomp profile (no pivot_root, locked masks) otherwise
    r = run("run", "--nesting", "--wait", "--image", "coi-default", "--", "sh", "-c", DOCKER_BUILD, check=False,
            extra_env={"SUDO_UID": "1234", "SUDO_GID": "1234"})
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert "driver=overlay2" in lines, r.stdout
    assert "two-layer layers=3 one-two" in lines  # the base's layer and one per RUN
    assert "two-layer-bk layers=3 one-two" in lines
    assert "unable to resolve host" not in r.stderr
