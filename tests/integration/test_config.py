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
    # listing resolves every profile, so it fails the same way (code-on-incus: exit 1)
    r = user.coi("profile", "list", check=False)
    assert r.returncode == 1 and "profile inheritance cycle detected involving" in r.stderr


def test_profile_in_two_places_names_both(user):
    home = write(user.home / ".coi/profiles/dup/config.toml", "")
    proj = write(user.ws / ".coi/profiles/dup/config.toml", "")
    r = user.coi("profile", "list", check=False)
    assert r.returncode == 1
    assert f'profile "dup" defined in multiple locations:\n  {home}\n  {proj}\n' in r.stderr
    r = user.coi("profile", "info", "dup", check=False)
    assert r.returncode == 1 and 'profile "dup" defined in multiple locations' in r.stderr


def test_profile_create_flags(user):
    r = user.coi("profile", "create", "img", "--image", "coi-rust", "--persistent", "--inherits", "base")
    path = user.home / ".coi/profiles/img/config.toml"
    assert path.read_text() == 'inherits = "base"\n\n[container]\nimage = "coi-rust"\npersistent = true\n'
    user.coi("profile", "create", "base")
    s = show(user, env={})
    out = user.coi("config", "show", "--profile", "img").stdout
    assert 'container.image = "coi-rust"' in out and "container.persistent = true" in out
    assert s["container.persistent"][0] == "false"  # the global --persistent is not what create wrote

    user.coi("profile", "create", "eph", "--persistent=false")
    assert (user.home / ".coi/profiles/eph/config.toml").read_text() == "[container]\npersistent = false\n"

    # -w names the workspace whose .coi is used, as the global flag does everywhere
    other = user.ws.parent / "other"
    (other / ".coi").mkdir(parents=True)
    user.coi("profile", "create", "there", "-w", str(other))
    assert (other / ".coi/profiles/there/config.toml").read_text() == ""
    user.coi("profile", "create", "proj", "--project")
    assert (user.ws / ".coi/profiles/proj/config.toml").exists()

    def fails(*args):
        r = user.coi(*args, check=False)
        return r.returncode, r.stderr.splitlines()[-1] if r.stderr else ""

    assert fails("profile", "create", "x", "--user", "--project") == \
        (1, "coi: --user and --project are mutually exclusive")
    code, msg = fails("profile", "create", "default")
    assert code == 1 and "reserved" in msg
    assert fails("profile", "create") == (1, "coi: accepts 1 arg(s), received 0")
    assert fails("profile", "create", "a/b")[0] == 1
    assert not (user.home / ".coi/profiles/x").exists()


def test_profile_list_json_and_formats(user):
    write(user.home / ".coi/profiles/zeta/config.toml", '[container]\npersistent = true\n')
    write(user.home / ".coi/profiles/alpha/config.toml", 'inherits = "zeta"\n')
    entries = json.loads(user.coi("profile", "list", "--format", "json").stdout)
    # sorted by name; image "" when the profile sets none, persistent null when not set
    assert [e["name"] for e in entries] == ["alpha", "default", "zeta"]
    alpha = entries[0]
    assert alpha == {"name": "alpha", "image": "", "persistent": True, "inherits": "zeta",
                     "source": str(user.home / ".coi/profiles/alpha/config.toml")}
    assert "inherits" not in entries[2]
    assert entries[1]["image"] == "coi-default" and entries[1]["source"] == "(built-in)"
    assert json.loads(user.coi("profile", "list", "--json").stdout) == entries
    text = user.coi("profile", "list").stdout.splitlines()
    assert [line.split()[:3] for line in text[1:]] == [["alpha", "(default)", "true"],
                                                         ["default", "coi-default", "false"],
                                                         ["zeta", "(default)", "true"]]
    r = user.coi("profile", "list", "--format", "yaml", check=False)
    assert (r.returncode, r.stderr) == (2, "coi: invalid format 'yaml': must be 'text' or 'json'\n")
    r = user.coi("config", "show", "--format", "yaml", check=False)
    assert r.returncode == 2 and "invalid format 'yaml'" in r.stderr


def test_profile_and_config_help_and_names(user):
    write(user.home / ".coi/profiles/p/config.toml", '[container]\nimage = "pimg"\n')
    for args in (("profile",), ("profile", "--help"), ("profile", "bogus")):
        r = user.coi(*args)
        assert "Available Commands:" in r.stdout and "create" in r.stdout
        assert "  show " not in r.stdout  # info's old name: accepted, not listed
    r = user.coi("profile", "info", "--help")
    assert r.returncode == 0 and "coi profile info <name>" in r.stdout
    assert user.coi("profile", "show", "p").stdout == user.coi("profile", "info", "p").stdout
    assert "Source:  " in user.coi("profile", "info", "p").stdout
    r = user.coi("profile", "info", "nope", check=False)
    assert (r.returncode, r.stderr) == (1, "coi: profile 'nope' not found\n")
    r = user.coi("profile", "edit", "default", check=False)
    assert (r.returncode, r.stderr) == (1, "coi: cannot edit built-in profile 'default'\n")
    r = user.coi("config")
    assert "Available Commands:" in r.stdout and "show" in r.stdout
    r = user.coi("config", "show", "extra", check=False)
    assert r.returncode == 1 and 'unknown command "extra" for "coi config show"' in r.stderr
    # the global --profile works before the command too
    assert 'container.image = "pimg"' in user.coi("--profile", "p", "config", "show").stdout
    r = user.coi("--profile", "nope", "config", "show", check=False)
    assert (r.returncode, r.stderr) == (1, "coi: profile 'nope' not found\n")


def test_schemas_describe_every_key_the_loader_knows(user):
    """`coi schema config|profile` come from the loader's key table: every key `config show` lists has
    a property of its type, and a profile's schema has its own root keys."""
    import json
    config = json.loads(user.coi("schema", "config").stdout)
    profile = json.loads(user.coi("schema", "profile").stdout)
    types = {"true": "boolean", "false": "boolean", "[": "array", '"': "string"}
    for key, (value, _origin) in show(user).items():
        node = config
        for part in key.split("."):
            assert node["type"] == "object" and node["additionalProperties"] is False, key
            node = node["properties"][part]
        expected = types.get(value[:1] if value[:1] in '["' else value, None)
        if expected:
            assert node["type"] == expected, (key, node)
    assert {"inherits", "context", "model", "forward_env", "environment", "mounts"} <= set(profile["properties"])
    assert "defaults" not in profile["properties"]  # a profile sets them at its root
    assert profile["properties"]["network"]["properties"]["mode"]["enum"] == ["restricted", "allowlist", "open"]
