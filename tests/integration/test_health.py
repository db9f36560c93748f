"""coi health, coi version and coi completion bash as a user (or a script) runs them: the JSON report
code-on-incus scripts parse, exit codes that agree with the statuses, this hybrid host's missing memory
controller, a missing image, orphaned mounts and runtime states, low disk; the version lines; the bash
completion script sourced in a real bash."""
import json
import os
import pathlib
import re
import subprocess

import pytest

from conftest import BUILD

COI = BUILD / "shim" / "coi"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces and idmapped mounts need root")

CHECKS = {"os", "kernel_version", "namespaces", "idmapped_mounts", "cgroup_availability", "seccomp",
          "subordinate_ids", "image", "lsm", "nftables", "disk_space", "orphaned_resources"}
EXIT = {"healthy": 0, "degraded": 1, "unhealthy": 2}


def coi(*args, env=None, prefix=()):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([*prefix, str(COI), *map(str, args)], capture_output=True, text=True, timeout=60, env=e)


def health_json(env=None, prefix=()):
    r = coi("health", "--format", "json", env=env, prefix=prefix)
    assert r.returncode in (0, 1, 2), r.stderr
    return r.returncode, json.loads(r.stdout)


def hybrid_without_memory():
    unified = pathlib.Path("/sys/fs/cgroup/unified/cgroup.controllers")
    if pathlib.Path("/sys/fs/cgroup/cgroup.controllers").exists() or not unified.exists():
        return False
    return "memory" not in unified.read_text().split()


def test_json_report_has_code_on_incus_shape_and_exit_code_agrees():
    code, d = health_json()
    assert set(d) == {"status", "timestamp", "checks", "summary"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", d["timestamp"])
    assert set(d["checks"]) == CHECKS
    for name, c in d["checks"].items():
        assert c["name"] == name
        assert c["status"] in ("ok", "warning", "failed")
        assert isinstance(c["message"], str) and c["message"]
        assert isinstance(c.get("details", {}), dict)
    statuses = [c["status"] for c in d["checks"].values()]
    assert d["summary"] == {"total": len(statuses), "passed": statuses.count("ok"),
                            "warnings": statuses.count("warning"), "failed": statuses.count("failed")}
    expected = "unhealthy" if "failed" in statuses else "degraded" if "warning" in statuses else "healthy"
    assert d["status"] == expected
    assert code == EXIT[expected]


def test_this_machine_namespaces_idmap_seccomp_nftables_pass():
    _, d = health_json()
    c = d["checks"]
    assert c["namespaces"]["status"] == "ok"
    assert all(c["namespaces"]["details"][ns] for ns in ("user", "mnt", "pid", "net", "uts", "ipc", "cgroup", "time"))
    assert c["idmapped_mounts"]["status"] == "ok"
    assert c["seccomp"]["status"] == "ok" and "errno" in c["seccomp"]["details"]["actions"]
    assert c["nftables"]["status"] == "ok"
    release = os.uname().release
    assert c["kernel_version"]["details"]["kernel"] == release
    assert c["kernel_version"]["details"]["major"] == int(release.split(".")[0])


@pytest.mark.skipif(not hybrid_without_memory(), reason="needs a hybrid host without memory in cgroup2")
def test_hybrid_host_without_memory_controller_is_degraded():
    code, d = health_json()
    cg = d["checks"]["cgroup_availability"]
    assert cg["status"] == "warning"
    assert "memory" in cg["message"] and "limits can't be enforced" in cg["message"]
    assert cg["details"]["layout"] == "hybrid"
    assert "memory" in cg["details"]["missing_controllers"]
    assert d["status"] in ("degraded", "unhealthy")
    assert code >= 1


def test_text_output_names_the_warning_and_summary_matches_json():
    _, d = health_json()
    r = coi("health")
    assert r.returncode == EXIT[d["status"]]
    assert f"STATUS: {d['status'].upper()}" in r.stdout
    if d["checks"]["cgroup_availability"]["status"] == "warning":
        assert re.search(r"\[WARN\] cgroup v2 +: .*limits can't be enforced", r.stdout)
    assert "missing_controllers:" not in r.stdout
    v = coi("health", "-v")
    assert "layout:" in v.stdout and "available_gb:" in v.stdout


def test_missing_image_is_a_warning_telling_to_build(tmp_path):
    code, d = health_json(env={"COI_IMAGES_DIR": str(tmp_path)})
    img = d["checks"]["image"]
    assert img["status"] == "warning"
    assert "coi-default" in img["message"] and "coi build" in img["message"]
    assert img["details"]["exists"] is False
    assert code >= 1
    r = coi("health", env={"COI_IMAGES_DIR": str(tmp_path)})
    assert re.search(r"\[WARN\] Default image +: coi-default not found - run 'coi build'", r.stdout)


def test_a_failed_check_makes_it_unhealthy_exit_2():
    # An image store on procfs: that filesystem can't be idmapped.
    code, d = health_json(env={"COI_IMAGES_DIR": "/proc/sys"})
    assert d["checks"]["idmapped_mounts"]["status"] == "failed"
    assert d["status"] == "unhealthy"
    assert code == 2


def test_idmap_probe_leaves_no_temporary_directory(tmp_path):
    before = set(pathlib.Path("/tmp").glob("coi-health-*"))
    _, d = health_json(env={"COI_IMAGES_DIR": str(tmp_path / "missing")})
    assert d["checks"]["idmapped_mounts"]["status"] == "ok"
    assert set(pathlib.Path("/tmp").glob("coi-health-*")) == before


def test_orphaned_mount_and_runtime_state_are_counted_not_removed(tmp_path):
    data, rt = tmp_path / "data", tmp_path / "rt"
    (data / "containers" / "ghost" / "rootfs").mkdir(parents=True)
    (rt / "gone").mkdir(parents=True)
    (rt / "gone" / "state.json").write_text("{}")
    env = {"COI_DATA_DIR": str(data), "COI_RUNTIME_DIR": str(rt)}
    _, clean = health_json(env={"COI_DATA_DIR": str(data), "COI_RUNTIME_DIR": str(tmp_path / "none")})
    # (cgroups under the shared coi parent may belong to other containers running on this machine)
    assert clean["checks"]["orphaned_resources"]["details"]["orphaned_mounts"] == 0
    assert clean["checks"]["orphaned_resources"]["details"]["orphaned_runtime_states"] == 0
    # The leftover mount exists only in a private mount namespace made for this test.
    script = f"mount -t tmpfs none {data}/containers/ghost/rootfs && exec \"$@\""
    code, d = health_json(env=env, prefix=("unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"))
    o = d["checks"]["orphaned_resources"]
    assert o["status"] == "warning"
    assert o["details"]["orphaned_mounts"] == 1
    assert o["details"]["orphaned_runtime_states"] == 1
    assert "coi clean --orphans" in o["message"]
    assert code >= 1
    assert (rt / "gone" / "state.json").exists()


@pytest.mark.parametrize("size,status", [("512m", "failed"), ("3g", "warning")])
def test_low_disk_space_where_the_data_lives(tmp_path, size, status):
    data = tmp_path / "data"
    data.mkdir()
    script = f"mount -t tmpfs -o size={size} none {data} && exec \"$@\""
    code, d = health_json(env={"COI_DATA_DIR": str(data)},
                          prefix=("unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"))
    disk = d["checks"]["disk_space"]
    assert disk["status"] == status
    assert disk["details"]["path"] == str(data)
    assert disk["details"]["available_gb"] < 5
    assert code == 2 if status == "failed" else code >= 1


def test_bad_format_is_a_usage_error():
    r = coi("health", "--format", "yaml")
    assert (r.returncode, r.stdout, r.stderr) == (2, "", "coi: invalid format 'yaml': must be 'text' or 'json'\n")
    r = coi("health", "--bogus")
    assert r.returncode == 1 and r.stderr.endswith("coi: unknown flag: --bogus\n")
    r = coi("health", "--help")
    assert r.returncode == 0 and "2 = unhealthy" in r.stdout and "--format string" in r.stdout


def test_health_runs_when_the_config_is_broken(tmp_path):
    """code-on-incus runs health on the built-in defaults; every other command refuses the config."""
    (tmp_path / ".coi").mkdir()
    (tmp_path / ".coi" / "config.toml").write_text('[container]\nimgae = "x"\n')
    env = {"HOME": str(tmp_path)}
    assert coi("config", "show", env=env).returncode == 1
    r = coi("health", "--format", "json", env=env)
    assert r.returncode in (0, 1, 2), r.stderr
    assert set(json.loads(r.stdout)["checks"]) == CHECKS


def test_update_says_how_coi_is_updated():
    version = coi("version").stdout.split()[2]
    for args in (("update", "--check"), ("update",), ("update", "-f"), ("update", "--force", "--check")):
        r = coi(*args)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0] == f"Current version: {version}"
        assert "git pull && tools/quickstart --install-only" in lines[1]
    assert "update " in coi("--help").stdout
    r = coi("update", "--bogus")
    assert r.returncode == 1 and "unknown flag: --bogus" in r.stderr


def test_version_has_code_on_incus_first_line():
    r = coi("version")
    assert r.returncode == 0
    lines = [line for line in r.stdout.splitlines() if line]
    assert len(lines) == 2
    assert re.fullmatch(r"code-on-incus \(coi\) v\d+\.\d+\.\d+", lines[0])
    # --version / -v are cobra's one line, as upstream
    version = lines[0].rsplit(" v", 1)[1]
    assert coi("--version").stdout == f"coi version {version}\n"
    assert coi("-v").stdout == f"coi version {version}\n"


def complete(script, *words):
    """Words as typed so far (the last is the one being completed) → what bash would offer."""
    quoted = " ".join("'" + w + "'" for w in words)
    prog = (f"source {script}\nCOMP_WORDS=({quoted})\nCOMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))\n"
            "compopt() { :; }\n_coi\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n")
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", prog], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return [w for w in r.stdout.splitlines() if w]


@pytest.fixture
def completion(tmp_path):
    r = coi("completion", "bash")
    assert r.returncode == 0
    path = tmp_path / "coi.bash"
    path.write_text(r.stdout)
    return path


def test_completion_script_is_valid_bash(completion):
    r = subprocess.run(["bash", "-n", str(completion)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["bash", "--norc", "-c", f"source {completion} && complete -p coi"],
                       capture_output=True, text=True)
    assert "-F _coi" in r.stdout


def test_completion_offers_commands_subcommands_flags_and_values(completion):
    assert complete(completion, "coi", "co") == ["completion", "config", "container"]
    assert complete(completion, "coi", "he") == ["health", "help"]
    assert complete(completion, "coi", "completion", "") == ["bash", "fish", "zsh"]
    # global flags before the command words, and a flag's value is not taken for a command
    assert complete(completion, "coi", "-w", "completion", "completion", "") == ["bash", "fish", "zsh"]
    assert complete(completion, "coi", "completion", "bash", "--no") == ["--no-descriptions"]
    assert "--workspace" in complete(completion, "coi", "completion", "bash", "--")


def test_completion_covers_every_command_coi_lists(completion):
    r = coi("--help")
    commands = r.stdout[r.stdout.index("Available Commands:"):r.stdout.index("Flags:")]
    listed = re.findall(r"^  (\S+)\s", commands, re.M)
    assert "health" in listed and "completion" in listed
    offered = complete(completion, "coi", "")
    assert set(listed) <= set(offered)


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_parse_and_offer_the_commands(shell, tmp_path):
    r = coi("completion", shell)
    assert r.returncode == 0
    script = tmp_path / f"coi.{shell}"
    script.write_text(r.stdout)
    check = subprocess.run([shell, "-n", str(script)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    if shell == "fish":
        out = subprocess.run(["fish", "-c", f"source {script}; complete -C 'coi completion '"],
                             capture_output=True, text=True).stdout
    else:  # _coi with zsh's completion builtins replaced by printers
        out = subprocess.run(["zsh", "-c", "compadd() { print -rl -- \"$@\" }; _describe() { print -rl -- ${(P)2} }; "
                              f"compdef() {{}}; source {script}; words=(coi completion ''); CURRENT=3; _coi"],
                             capture_output=True, text=True).stdout
    assert [line.split("\t")[0].split(":")[0] for line in out.splitlines()] == ["bash", "fish", "zsh"]


def test_completion_rejects_other_shells():
    r = coi("completion", "powershell")
    assert r.returncode == 0  # cobra: an unknown word below a group shows the group's help
    assert "bash" in r.stdout and "zsh" in r.stdout and "fish" in r.stdout
