"""A tool embeds the runtime: libcoi-runtime installed with its header and pkg-config file, a program
built with `pkg-config --cflags --libs coi-runtime` only, running a container through the public API.
"""
import os
import pathlib
import shutil
import uuid

import pytest

from bundle import CGROUP2, make_bundle, remove_cgroup
from conftest import BUILD, run

pytestmark = pytest.mark.skipif(shutil.which("pkg-config") is None or shutil.which("cc") is None,
                                reason="pkg-config or cc is not installed")

EMBEDDER = r"""
#include <coi-runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

static void log_to_stderr(enum coi_log_level level, const char *msg, void *data)
{
        (void)data;
        fprintf(stderr, "embedder log %d: %s\n", (int)level, msg);
}

int main(int argc, char **argv)
{
        if (argc != 4)
                return 2;
        struct coi_context ctx = { .state_root = argv[1], .log = log_to_stderr, .log_level = COI_LOG_WARNING };
        struct coi_create_options opts = { .bundle = argv[2] };
        struct coi_error err = { 0 };
        pid_t pid;
        if (coi_container_run(&ctx, argv[3], &opts, &pid, &err) < 0) {
                fprintf(stderr, "run: %s\n", err.msg);
                return 1;
        }
        int status = 0;
        if (coi_container_wait(&ctx, argv[3], &status, &err) < 0) {
                fprintf(stderr, "wait: %s\n", err.msg);
                return 1;
        }
        if (coi_container_delete(&ctx, argv[3], false, &err) < 0) {
                fprintf(stderr, "delete: %s\n", err.msg);
                return 1;
        }
        char **ids = NULL;
        if (coi_container_list(&ctx, &ids, &err) < 0)
                return 1;
        printf("exit=%d left=%s\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1, ids && ids[0] ? ids[0] : "none");
        coi_strv_free(ids);
        /* Errors name the object. */
        if (coi_container_start(&ctx, "does-not-exist", &err) == 0)
                return 1;
        printf("error=%s\n", err.msg);
        return 0;
}
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    dest = tmp_path_factory.mktemp("destdir")
    run(["meson", "install", "-C", BUILD, "--quiet", "--destdir", dest])
    pcs = list(dest.rglob("coi-runtime.pc"))
    assert len(pcs) == 1, "meson install put no coi-runtime.pc"
    yield dest, pcs[0].parent
    shutil.rmtree(dest, ignore_errors=True)


def test_pkg_config_builds_and_runs_an_embedder(installed, tmp_path):
    dest, pcdir = installed
    env = dict(os.environ, PKG_CONFIG_PATH=str(pcdir), PKG_CONFIG_SYSROOT_DIR=str(dest))
    flags = run(["pkg-config", "--cflags", "--libs", "coi-runtime"], env=env).stdout.split()
    assert any(f.startswith("-I") for f in flags) and "-lcoi-runtime" in flags
    src = tmp_path / "embedder.c"
    src.write_text(EMBEDDER)
    exe = tmp_path / "embedder"
    run(["cc", "-std=gnu11", "-Wall", "-Werror", "-o", exe, src, *flags], env=env)
    libdir = next(f[2:] for f in flags if f.startswith("-L"))
    bundle = make_bundle(tmp_path / "bundle", {"process": {"args": ["sh", "-c", "echo hello-embedded; exit 4"]}})
    cid = f"coitest-embed-{uuid.uuid4().hex[:8]}"
    try:
        r = run([exe, tmp_path / "state", bundle, cid], check=False, env=dict(os.environ, LD_LIBRARY_PATH=libdir))
    finally:
        remove_cgroup(CGROUP2 / cid)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[:2] == ["hello-embedded", "exit=4 left=none"]
    assert "does-not-exist" in r.stdout.splitlines()[2]
    # Only the public API is exported.
    so = next(pathlib.Path(libdir).glob("libcoi-runtime.so.*"))
    syms = run(["nm", "-D", "--defined-only", so]).stdout.split()
    names = {s.split("@")[0] for s in syms if not s.isupper() and len(s) > 2 and s[0] != "0"}
    assert names and all(n.startswith("coi_") for n in names), sorted(names)
