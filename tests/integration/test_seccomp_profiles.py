"""Which seccomp profile a container gets ([security] seccomp_profile, `coi run --nesting`), seen from
inside: the strict profile refuses a nested user namespace, the default profile allows it, a profile file
given by path is applied, a bad value is an error naming the key, and systemd boots under strict."""
import pathlib

import pytest

from conftest import coi_runner
from test_shim_run import IMAGE, env, workspace  # noqa: F401 (fixtures)

NESTED = "unshare -U true 2>&1 && echo nested-ok"


def config(env, text):
    p = pathlib.Path(env["HOME"]) / "seccomp-test.toml"
    p.write_text(text)
    return {"COI_CONFIG": str(p)}


@pytest.fixture
def coi(env, workspace):  # noqa: F811
    return coi_runner(env, cwd=workspace)


def run(coi, *args, extra=None, check=True):
    return coi("run", "--image", IMAGE, *args, check=check,
               extra_env=dict(extra or {}, SUDO_UID="1234", SUDO_GID="1234"))


def test_run_is_strict_by_default(coi):
    r = run(coi, "--", "sh", "-c", NESTED, check=False)
    assert "nested-ok" not in r.stdout and "Operation not permitted" in r.stdout, r.stdout + r.stderr


def test_run_with_nesting_gets_the_default_profile(coi):
    r = run(coi, "--nesting", "--", "sh", "-c", NESTED)
    assert "nested-ok" in r.stdout, r.stdout + r.stderr


def test_configured_default_applies_to_run(coi, env):
    r = run(coi, "--", "sh", "-c", NESTED, extra=config(env, '[security]\nseccomp_profile = "default"\n'))
    assert "nested-ok" in r.stdout, r.stdout + r.stderr


def test_profile_file_by_path(coi, env, tmp_path):
    profile = tmp_path / "deny-setpriority.json"
    profile.write_text('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": '
                       '[{"names": ["setpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}')
    r = run(coi, "--", "sh", "-c", "nice -n 1 true 2>&1; " + NESTED,
            extra=config(env, f'[security]\nseccomp_profile = "{profile}"\n'), check=False)
    assert "Operation not permitted" in r.stdout.splitlines()[0], r.stdout + r.stderr
    assert "nested-ok" in r.stdout, r.stdout  # only what the file says: no strict rules


def test_bad_value_is_an_error_naming_the_key(coi, env):
    r = run(coi, "--", "true", extra=config(env, '[security]\nseccomp_profile = "paranoid"\n'), check=False)
    assert r.returncode != 0
    assert "seccomp_profile" in r.stderr and "paranoid" in r.stderr, r.stderr


def test_systemd_boots_under_strict(coi):
    """The same units fail under strict as under default (systemd copes with the refused calls)."""
    show = "systemctl is-system-running --wait; systemctl --failed --plain --no-legend | cut -d' ' -f1 | sort"
    strict = run(coi, "--wait", "--", "sh", "-c", show, check=False).stdout.split()
    default = run(coi, "--wait", "--nesting", "--", "sh", "-c", show, check=False).stdout.split()
    assert strict and strict[0] in ("running", "degraded"), strict
    assert strict == default
