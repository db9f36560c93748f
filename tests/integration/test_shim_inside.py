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
