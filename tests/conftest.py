"""Shared pytest fixtures: where the built binaries are, and helpers to run them as a user would."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD = pathlib.Path(os.environ.get("COI_BUILD_DIR", ROOT / "build"))


def _binary(rel):
    path = BUILD / rel
    if not path.exists():
        pytest.fail(f"{path} is not built: run ninja -C {BUILD}")
    return path


@pytest.fixture(scope="session")
def runtime_bin():
    """Path of build/runtime/coi-runtime."""
    return _binary("runtime/coi-runtime")


@pytest.fixture(scope="session")
def coi_bin():
    """Path of build/shim/coi."""
    return _binary("shim/coi")


def run(cmd, check=True, timeout=60, **kw):
    """Runs a command, capturing text output; fails the test with the output when check is set."""
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        pytest.fail(f"{' '.join(map(str, cmd))} exited {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}")
    return r
