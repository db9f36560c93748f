"""coi build as a user drives it. The full default recipe (images/default) takes minutes, so `coi build` is
pointed at a small recipe with COI_BUILD_RECIPE_DIR: tests/integration/build-recipe, which is
images/systemd-minimal's cached rootfs tar plus /etc/coi-test-recipe. The code path is the same: run
RECIPE/build OUT.tar, import, record the recipe hash. Profile builds run a script or commands in a chroot
of a copy of that image. Every test has its own store (COI_IMAGES_DIR) and $HOME."""
import json
import os
import pathlib
import shutil
import signal
import subprocess
import time

import pytest

from conftest import BUILD, ROOT, host_network, coi_runner

COI = BUILD / "shim" / "coi"
RECIPE = ROOT / "tests" / "integration" / "build-recipe"
SYSTEMD_MINIMAL = ROOT / "images" / "systemd-minimal" / "build"


def _has_build_command():
    if not COI.exists():
        return False
    r = subprocess.run([str(COI), "build", "--help"], capture_output=True, text=True)
    return r.returncode == 0


pytestmark = [
    pytest.mark.skipif(not _has_build_command(), reason="`coi build` is not in build/shim/coi yet"),
    pytest.mark.skipif(os.geteuid() != 0, reason="mmdebstrap, chroot and image owners need root"),
    pytest.mark.skipif(shutil.which("mmdebstrap") is None, reason="mmdebstrap is not installed"),
]


@pytest.fixture(scope="module")
def base_tar():
    """images/systemd-minimal's rootfs tar (built once, ~1 min, then cached)."""
    r = subprocess.run(host_network([SYSTEMD_MINIMAL]), capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


@pytest.fixture
def recipe(tmp_path):
    """A copy of the test recipe, so a test can change it."""
    dst = tmp_path / "recipe"
    shutil.copytree(RECIPE, dst)
    return dst


@pytest.fixture
def store(tmp_path):
    return tmp_path / "store"


@pytest.fixture
def home(tmp_path):
    h = tmp_path / "home"
    (h / ".coi" / "profiles").mkdir(parents=True)
    return h


@pytest.fixture
def coi(tmp_path, store, home, recipe, base_tar):
    env = dict(os.environ, COI_IMAGES_DIR=str(store), COI_BUILD_RECIPE_DIR=str(recipe), HOME=str(home),
               COI_TEST_BASE_TAR=base_tar)
    env.pop("COI_CONFIG", None)

    run = coi_runner(env, cwd=tmp_path, timeout=600)
    return run


def profile(home, name, config, script=None):
    d = home / ".coi" / "profiles" / name
    d.mkdir(parents=True)
    (d / "config.toml").write_text(config)
    if script is not None:
        (d / "build.sh").write_text(script)
    return d


def info(coi, name):
    return json.loads(coi("image", "info", name, "--format", "json").stdout)


def leftovers(store):
    """What a build must never leave: work directories in the store and mounts below it."""
    tmp = sorted(p.name for p in store.iterdir() if p.name.startswith(".")) if store.exists() else []
    mounts = [line for line in pathlib.Path("/proc/self/mountinfo").read_text().splitlines()
              if str(store) in line]
    return tmp, mounts


def test_build_default_image_from_the_recipe(coi, store, recipe):
    r = coi("build")
    assert f"Building coi-default from {recipe}" in r.stdout
    # step lines with elapsed time; the recipe's own "==> " steps shown, other output condensed away
    assert f"] run {recipe}/build" in r.stdout
    assert "]   add /etc/coi-test-recipe" in r.stdout
    assert "] import as coi-default" in r.stdout
    assert "Built coi-default in" in r.stdout
    assert "some noise a condensed build hides" not in r.stdout

    rootfs = store / "coi-default" / "rootfs"
    assert (rootfs / "etc" / "coi-test-recipe").read_text() == (recipe / "marker").read_text()
    # our own build keeps setuid bits (sudo, passwd), unlike a plain import
    assert (rootfs / "usr" / "bin" / "passwd").stat().st_mode & 0o4000
    meta = info(coi, "coi-default")
    assert meta["name"] == "coi-default" and meta["size"] > 0
    record = json.loads((store / "coi-default" / "build.json").read_text())
    assert record["recipe"] == str(recipe)
    assert len(record["recipe_hash"]) == 64
    assert leftovers(store) == ([], [])


def test_existing_image_is_not_rebuilt(coi, store, recipe):
    coi("build")
    created = info(coi, "coi-default")["created"]
    r = coi("build")
    assert "Image coi-default already exists" in r.stdout
    assert "Use --force to rebuild it" in r.stdout
    assert "run " not in r.stdout
    assert info(coi, "coi-default")["created"] == created

    (recipe / "marker").write_text("changed\n")
    r = coi("build")
    assert "already exists" in r.stdout
    assert "has changed since" in r.stdout


def test_uninstalled_coi_finds_its_source_trees_recipe_from_anywhere(coi, store):
    """No --recipe, no $COI_BUILD_RECIPE_DIR, started from / : the build directory's coi takes
    images/default of the source tree meson built it from (it names it: the test recipe built the
    image, so the default recipe counts as changed)."""
    coi("build")
    env = {k: v for k, v in coi.env.items() if k != "COI_BUILD_RECIPE_DIR"}
    r = subprocess.run([str(COI), "build"], capture_output=True, text=True, env=env, cwd="/", timeout=60)
    assert r.returncode == 0, r.stderr
    assert f"The recipe {ROOT / 'images' / 'default'} has changed since" in r.stdout


def test_force_rebuilds_and_replaces(coi, store, recipe):
    coi("build")
    coi("image", "alias", "coi-default", "dflt")
    old_hash = json.loads((store / "coi-default" / "build.json").read_text())["recipe_hash"]
    (recipe / "marker").write_text("second build\n")
    r = coi("build", "--force")
    assert "Built coi-default" in r.stdout
    assert (store / "coi-default" / "rootfs" / "etc" / "coi-test-recipe").read_text() == "second build\n"
    assert "dflt" in info(coi, "coi-default")["aliases"]
    new_hash = json.loads((store / "coi-default" / "build.json").read_text())["recipe_hash"]
    assert new_hash != old_hash
    assert leftovers(store) == ([], [])


def test_failing_recipe_leaves_nothing(coi, store, recipe):
    r = coi("build", check=False, extra_env={"COI_TEST_RECIPE_FAIL": "1"})
    assert r.returncode == 1
    assert f"step 'run recipe': {recipe}/build" in r.stderr
    assert "failed with exit status 3" in r.stderr
    # the hidden output is shown when the step fails
    assert "some noise a condensed build hides" in r.stderr
    assert "coi-default not built" in r.stderr
    assert json.loads(coi("image", "list", "--format", "json").stdout) == []
    assert leftovers(store) == ([], [])


def test_recipe_leaving_a_process_behind(coi, store):
    start = time.monotonic()
    r = coi("build", extra_env={"COI_TEST_RECIPE_DAEMON": "1"})
    assert "Built coi-default" in r.stdout
    assert time.monotonic() - start < 120  # coi does not wait for what holds the output pipe
    assert subprocess.run(["pgrep", "-f", "sleep 4244"], capture_output=True).returncode == 1
    assert leftovers(store) == ([], [])


def test_failed_force_rebuild_keeps_the_old_image(coi, store, recipe):
    coi("build")
    before = info(coi, "coi-default")
    r = coi("build", "--force", check=False, extra_env={"COI_TEST_RECIPE_FAIL": "1"})
    assert r.returncode == 1
    assert info(coi, "coi-default") == before
    assert (store / "coi-default" / "rootfs" / "etc" / "coi-test-recipe").exists()
    assert leftovers(store) == ([], [])


def test_profile_script_builds_on_the_base(coi, store, home):
    coi("build")
    profile(home, "withfile", '[container]\nimage = "coi-withfile"\n\n[container.build]\nscript = "build.sh"\n',
            "#!/bin/sh\nset -e\necho '==> writing /opt/profile-file'\n"
            "echo \"pid $$, $(ls /proc/self/status)\" > /opt/profile-file\n"
            "echo hidden-line\n")
    r = coi("build", "--profile", "withfile")
    assert "Building coi-withfile for profile withfile on coi-default" in r.stdout
    assert "] copy base image coi-default" in r.stdout
    assert "] chroot: run " in r.stdout and "build.sh" in r.stdout
    assert "]   writing /opt/profile-file" in r.stdout
    assert "hidden-line" not in r.stdout

    # the script ran as PID 1 of its own PID namespace, with /proc mounted in the chroot
    made = store / "coi-withfile" / "rootfs" / "opt" / "profile-file"
    assert made.read_text() == "pid 1, /proc/self/status\n"
    assert not (store / "coi-default" / "rootfs" / "opt" / "profile-file").exists()
    assert not (store / "coi-withfile" / "rootfs" / "tmp" / "coi-build-script").exists()
    # the base's content is all there
    assert (store / "coi-withfile" / "rootfs" / "etc" / "coi-test-recipe").exists()
    record = json.loads((store / "coi-withfile" / "build.json").read_text())
    assert record["base"] == "coi-default" and record["profile"] == "withfile"
    assert leftovers(store) == ([], [])

    r = coi("build", "--profile", "withfile")
    assert "Image coi-withfile already exists" in r.stdout


def test_profile_commands_on_another_profiles_image(coi, store, home):
    coi("build")
    profile(home, "first", '[container]\nimage = "coi-first"\n[container.build]\ncommands = ["echo 1 > /opt/a"]\n')
    profile(home, "second", '[container]\nimage = "coi-second"\n[container.build]\nbase = "coi-first"\n'
            'commands = ["cat /opt/a > /opt/b", "echo 2 >> /opt/b"]\n')
    coi("build", "--profile", "first")
    r = coi("build", "--profile", "second")
    assert "] chroot: cat /opt/a > /opt/b" in r.stdout
    assert "] chroot: echo 2 >> /opt/b" in r.stdout
    assert (store / "coi-second" / "rootfs" / "opt" / "b").read_text() == "1\n2\n"
    assert not (store / "coi-first" / "rootfs" / "opt" / "b").exists()


def test_failing_profile_script_leaves_nothing(coi, store, home):
    coi("build")
    profile(home, "broken", '[container]\nimage = "coi-broken"\n[container.build]\nscript = "build.sh"\n',
            "echo '==> about to fail'\ntouch /opt/half\nsleep 4242 &\nexit 7\n")
    r = coi("build", "--profile", "broken", check=False)
    assert r.returncode == 1
    assert "step 'script " in r.stderr and "build.sh" in r.stderr
    assert "failed with exit status 7" in r.stderr
    assert "coi-broken not built" in r.stderr
    names = [i["name"] for i in json.loads(coi("image", "list", "--format", "json").stdout)]
    assert names == ["coi-default"]
    assert not (store / "coi-default" / "rootfs" / "opt" / "half").exists()
    assert leftovers(store) == ([], [])
    # what the script left running died with its PID namespace
    assert subprocess.run(["pgrep", "-f", "sleep 4242"], capture_output=True).returncode == 1


def test_failing_command_names_the_command(coi, store, home):
    coi("build")
    profile(home, "cmdfail", '[container]\nimage = "coi-cmdfail"\n[container.build]\n'
            'commands = ["true", "false", "touch /opt/never"]\n')
    r = coi("build", "--profile", "cmdfail", check=False)
    assert r.returncode == 1
    assert "step 'command 2/3': false failed with exit status 1" in r.stderr
    assert "touch /opt/never" not in r.stdout
    assert leftovers(store) == ([], [])


def test_build_cannot_write_the_hosts_resolv_conf(coi, store, home):
    coi("build")
    host = pathlib.Path("/etc/resolv.conf").read_bytes()
    profile(home, "dns", '[container]\nimage = "coi-dns"\n[container.build]\n'
            'commands = ["getent hosts deb.debian.org || true", "echo nameserver 192.0.2.1 > /etc/resolv.conf"]\n')
    r = coi("build", "--profile", "dns", check=False)
    assert r.returncode == 1
    assert "Read-only file system" in r.stderr
    assert pathlib.Path("/etc/resolv.conf").read_bytes() == host
    assert leftovers(store) == ([], [])


def test_interrupted_build_leaves_nothing(coi, store, home):
    coi("build")
    profile(home, "slow", '[container]\nimage = "coi-slow"\n[container.build]\nscript = "build.sh"\n',
            "echo '==> sleeping'\nsleep 4243\n")
    p = subprocess.Popen([str(COI), "build", "--profile", "slow"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=coi.env, cwd=store.parent)
    seen = ""
    deadline = time.monotonic() + 120
    while "sleeping" not in seen and time.monotonic() < deadline:
        seen += p.stdout.readline()
    assert "sleeping" in seen
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130
    assert "interrupted" in err
    assert "coi-slow" not in coi("image", "list").stdout
    assert leftovers(store) == ([], [])
    assert subprocess.run(["pgrep", "-f", "sleep 4243"], capture_output=True).returncode == 1


def test_profile_errors(coi, home):
    profile(home, "noimage", '[container.build]\ncommands = ["true"]\n')
    r = coi("build", "--profile", "noimage", check=False)
    assert r.returncode == 1
    assert "profile noimage names no image to build" in r.stderr

    profile(home, "nobuild", '[container]\nimage = "coi-nobuild"\n')
    r = coi("build", "--profile", "nobuild", check=False)
    assert r.returncode == 1
    assert "no [container.build] script or commands" in r.stderr

    profile(home, "nobase", '[container]\nimage = "coi-nobase"\n[container.build]\nbase = "nope"\n'
            'commands = ["true"]\n')
    r = coi("build", "--profile", "nobase", check=False)
    assert r.returncode == 1
    assert "build failed: " in r.stderr and "base image nope not found" in r.stderr

    # --profile is the global flag: a missing profile fails before anything runs
    r = coi("build", "--profile", "missing", check=False)
    assert (r.returncode, r.stderr) == (1, "coi: profile 'missing' not found\n")

    # upstream's --compression is accepted and says why it changes nothing here
    r = coi("build", "--profile", "nobuild", "--compression", "xz", check=False)
    assert r.returncode == 1
    assert "--compression has no effect" in r.stderr and "no [container.build] script" in r.stderr

    # cobra's parse errors: exit 1, the message after the usage
    r = coi("build", "--bogus", check=False)
    assert r.returncode == 1
    assert "Usage:" in r.stderr and r.stderr.endswith("coi: unknown flag: --bogus\n")
    r = coi("build", "extra", check=False)
    assert r.returncode == 1 and 'unknown command "extra" for "coi build"' in r.stderr
    r = coi("build", "--recipe", "/x", "--profile", "nobuild", check=False)
    assert (r.returncode, r.stderr) == (2, "coi: --recipe and --profile exclude each other\n")
