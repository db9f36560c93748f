"""coi config show and coi profile, driven as a user would: a temporary HOME and workspace, TOML files
written by hand, the output and exit codes checked. Skipped until `coi config` is wired into coi."""
import json
import os
import subprocess

import pytest

from conftest import BUILD, run

COI = BUILD / "shim" / "coi"


def _has_config_command():
    if not COI.exists():
        return False
    r = subprocess.run([str(COI), "help", "config"], capture_output=True, text=True)
    return r.returncode == 0


pytestmark = pytest.mark.skipif(not _has_config_command(), reason="`coi config` is not in build/shim/coi yet")


@pytest.fixture
def user(tmp_path):
    """A user with an empty HOME and a workspace to run coi in; never the real ~/.coi."""
    home = tmp_path / "home"
    ws = tmp_path / "ws"
    home.mkdir()
    ws.mkdir()

    class User:
        pass

    u = User()
    u.home, u.ws = home, ws
    u.env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}

    def coi(*args, check=True, env=None, stdin=None):
        e = dict(u.env, **(env or {}))
        return run([COI, *args], check=check, cwd=ws, env=e, input=stdin)

    u.coi = coi
    return u


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def show(u, **kw):
    """config show as {key: (value text, origin)}."""
    out = {}
    for line in u.coi("config", "show", **kw).stdout.splitlines():
        if line.startswith("#"):
            continue
        left, _, origin = line.partition("  # ")
        key, _, value = left.partition(" = ")
        out[key] = (value, origin)
    return out


def test_defaults_say_default(user):
    s = show(user)
    assert s["container.image"] == ('"coi-default"', "default")
    assert s["network.mode"] == ('"restricted"', "default")
    assert s["paths.sessions_dir"] == (f'"{user.home}/.coi/sessions"', "default")


def test_each_layer_overrides_the_previous_and_names_itself(user):
    write(user.home / ".coi/config.toml", '[container]\nimage = "from-user"\npersistent = true\n')
    assert show(user)["container.image"] == ('"from-user"', "~/.coi/config.toml:2")  # files in HOME show as ~/

    p = write(user.ws / ".coi/config.toml", '\n[container]\nimage = "from-project"\n')
    s = show(user)
    assert s["container.image"] == ('"from-project"', f"{p}:3")
    assert s["container.persistent"] == ("true", "~/.coi/config.toml:3")

    x = write(user.ws.parent / "explicit.toml", 'container.image = "from-coi-config"\n')
    s = show(user, env={"COI_CONFIG": str(x)})
    assert s["container.image"] == ('"from-coi-config"', f"{x}:1")

    s = show(user, env={"COI_CONFIG": str(x), "CLAUDE_ON_INCUS_IMAGE": "from-env", "COI_LIMIT_CPU": "2"})
    assert s["container.image"] == ('"from-env"', "env CLAUDE_ON_INCUS_IMAGE")
    assert s["limits.cpu.count"] == ('"2"', "env COI_LIMIT_CPU")


def test_json_output_has_value_and_source(user):
    write(user.home / ".coi/config.toml", '[network]\nallowed_domains = ["example.com"]\n')
    r = user.coi("config", "show", "--format", "json")
    d = json.loads(r.stdout)
    assert d["network.allowed_domains"] == {"value": ["example.com"], "source": "~/.coi/config.toml:2"}
    assert d["ssh.forward_agent"] == {"value": False, "source": "default"}


def test_unknown_key_is_refused_with_a_suggestion(user):
    write(user.home / ".coi/config.toml", '# my config\n[container]\nimgae = "x"\n')
    r = user.coi("config", "show", check=False)
    assert r.returncode == 1
    assert r.stdout == ""
    assert '~/.coi/config.toml:3:1: unknown key "imgae" in [container] (did you mean "image"?)' in r.stderr


def test_wrong_type_is_refused_with_its_position(user):
    cfg = write(user.ws / ".coi/config.toml", '[container]\npersistent = "yes"\n')
    r = user.coi("config", "show", check=False)
    assert r.returncode == 1
    assert f"{cfg}:2:14: [container] persistent: expected a boolean, got string" in r.stderr


def test_profile_lifecycle(user):
    r = user.coi("profile", "create", "base")
    assert f"Created profile 'base' at {user.home}/.coi/profiles/base/config.toml" in r.stderr
    base = user.home / ".coi/profiles/base/config.toml"
    base.write_text('[container]\nimage = "base-img"\n[limits.memory]\nlimit = "2GiB"\n')
    user.coi("profile", "create", "child", "--inherits", "base")
    child = user.home / ".coi/profiles/child/config.toml"
    assert child.read_text() == 'inherits = "base"\n'

    listing = user.coi("profile", "list").stdout.splitlines()
    assert listing[0].split() == ["NAME", "IMAGE", "PERSISTENT", "INHERITS", "SOURCE"]
    rows = {line.split()[0]: line.split() for line in listing[1:]}
    assert rows["child"] == ["child", "base-img", "-", "base", str(child)]
    assert rows["default"][-1] == "(built-in)"

    entries = json.loads(user.coi("profile", "list", "--format", "json").stdout)
    assert {"name": "child", "image": "base-img", "persistent": None, "inherits": "base",
            "source": str(child)} in entries

    s = show(user, env={})
    assert s["limits.memory.limit"][1] == "default"
    out = user.coi("config", "show", "--profile", "child").stdout
    assert 'limits.memory.limit = "2GiB"  # ~/.coi/profiles/base/config.toml:4' in out

    r = user.coi("profile", "create", "child", check=False)
    assert r.returncode == 1 and "already exists" in r.stderr

    r = user.coi("profile", "delete", "child", stdin="n\n")
    assert "Aborted." in r.stderr and child.exists()
    user.coi("profile", "delete", "child", stdin="y\n")
    assert not child.parent.exists()
    r = user.coi("profile", "delete", "child", "--force", check=False)
    assert r.returncode == 1 and "profile 'child' not found" in r.stderr


def test_profile_created_in_project_when_it_has_a_coi_dir(user):
    (user.ws / ".coi").mkdir()
    user.coi("profile", "create", "local")
    assert (user.ws / ".coi/profiles/local/config.toml").exists()
    user.coi("profile", "create", "mine", "--user")
    assert (user.home / ".coi/profiles/mine/config.toml").exists()


def test_profile_edit_runs_the_editor_and_checks_the_result(user, tmp_path):
    user.coi("profile", "create", "p")
    editor = write(tmp_path / "ed.sh", '#!/bin/sh\nprintf \'[container]\\nimgae = "x"\\n\' >> "$1"\n')
    editor.chmod(0o755)
    r = user.coi("profile", "edit", "p", env={"EDITOR": str(editor)})
    path = user.home / ".coi/profiles/p/config.toml"
    assert 'imgae = "x"' in path.read_text()
    assert 'Warning: ~/.coi/profiles/p/config.toml:2:1: unknown key "imgae" in [container] (did you mean "image"?)' in r.stderr


def test_profile_cycle_names_the_chain(user):
    write(user.home / ".coi/profiles/a/config.toml", 'inherits = "b"\n')
    write(user.home / ".coi/profiles/b/config.toml", 'inherits = "a"\n')
    r = user.coi("config", "show", "--profile", "a", check=False)
    assert r.returncode == 1
    assert 'profile inheritance cycle detected involving "a": a -> b -> a' in r.stderr
