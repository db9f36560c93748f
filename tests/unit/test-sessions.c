/* test-sessions.c — the session store: atomic saves (a crashed save is never a session), metadata
 * fields, --resume of this workspace only, --resume=ID errors, listing, deletion, credential lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <utime.h>

#include "session/sessions.h"
#include "unit-tmp.h"
#include "util.h"
#include "session/workspace.h"

static char tmp[256];
static char dir[300];

static int setup(void **state)
{
        unit_tmpdir(tmp, sizeof(tmp), "sess");
        snprintf(dir, sizeof(dir), "%s/sessions-claude", tmp);
        return 0;
}

static int teardown(void **state)
{
        return unit_rmrf(tmp);
}

static bool exists(const char *rel_fmt, const char *a)
{
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/", dir);
        size_t o = strlen(p);
        const char *s = strstr(rel_fmt, "%s/%s");
        snprintf(p + o, sizeof(p) - o, "%s%s", a, s + 5);
        struct stat st;
        return lstat(p, &st) == 0;
}

/* Saves a session the way the caller will: stage, copy state in, commit. */
static void save(const char *id, const char *ws, int slot, const char *state_text)
{
        struct coi_error err = { 0 };
        _cleanup_free_ char *staging = NULL;
        assert_int_equal(session_stage_begin(dir, id, &staging, &err), 0);
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/.claude", staging);
        assert_int_equal(mkdir(p, 0700), 0);
        snprintf(p, sizeof(p), "%s/.claude/state.txt", staging);
        unit_put(p, state_text);
        _cleanup_free_ char *name = workspace_container_name(ws, slot, "coi-");
        struct session_meta m = { .session_id = (char *)id,
                                  .container_name = name,
                                  .workspace = (char *)ws,
                                  .tool = "claude",
                                  .slot = slot,
                                  .profile_name = "" };
        assert_int_equal(session_stage_commit(dir, staging, &m, &err), 0);
}

/* Makes a session's saved_at the given time (what a save at that moment would have written). */
static void set_saved_at(const char *id, const char *when)
{
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s/metadata.json", dir, id);
        _cleanup_free_ char *data = NULL;
        struct coi_error err = { 0 };
        assert_int_equal(read_file_at(AT_FDCWD, p, 0, &data, NULL, &err), 0);
        char *s = strstr(data, "\"saved_at\": \"");
        assert_non_null(s);
        s += strlen("\"saved_at\": \"");
        char *e = strchr(s, '"');
        _cleanup_free_ char *out = xasprintf("%.*s%s%s", (int)(s - data), data, when, e);
        unit_put(p, out);
}

static void test_id(void **state)
{
        char id[37], id2[37];
        struct coi_error err = { 0 };
        assert_int_equal(session_id_new(id, &err), 0);
        assert_int_equal(session_id_new(id2, &err), 0);
        assert_int_equal(strlen(id), 36);
        assert_int_equal(id[14], '4');
        assert_true(strchr("89ab", id[19]) != NULL);
        assert_string_not_equal(id, id2);
        assert_int_equal(session_id_check(id, &err), 0);
        assert_int_equal(session_id_check("../etc", &err), -EINVAL);
        assert_int_equal(session_id_check("a/b", &err), -EINVAL);
        assert_int_equal(session_id_check(".tmp-x", &err), -EINVAL);
        assert_int_equal(session_id_check("", &err), -EINVAL);
        _cleanup_free_ char *d = sessions_dir_for("/home/u/.coi", "opencode");
        assert_string_equal(d, "/home/u/.coi/sessions-opencode");
}

static void test_save_writes_metadata_and_state(void **state)
{
        save("s1", "/home/u/proj", 2, "hello");
        assert_true(exists("%s/%s/.claude/state.txt", "s1"));
        _cleanup_(session_meta_freep) struct session_meta *m = NULL;
        struct coi_error err = { 0 };
        assert_int_equal(session_load(dir, "s1", &m, &err), 0);
        assert_string_equal(m->session_id, "s1");
        assert_string_equal(m->workspace, "/home/u/proj");
        assert_string_equal(m->tool, "claude");
        assert_int_equal(m->slot, 2);
        assert_false(m->persistent);
        assert_true(strlen(m->saved_at) >= 20);
        assert_string_equal(m->created_at, m->saved_at);
        _cleanup_free_ char *name = workspace_container_name("/home/u/proj", 2, "coi-");
        assert_string_equal(m->container_name, name);
        /* no staging directory is left behind */
        _cleanup_(session_meta_list_freep) struct session_meta **l = NULL;
        size_t n;
        assert_int_equal(sessions_list(dir, &l, &n, &err), 0);
        assert_int_equal(n, 1);
        char cmd[400];
        snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s' | grep -v '^s1$')\"", dir);
        assert_int_equal(system(cmd), 0);
}

static void test_resave_replaces_state_and_keeps_created_at(void **state)
{
        save("s1", "/home/u/proj", 1, "old");
        set_saved_at("s1", "2020-01-01T00:00:00Z");
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/s1/metadata.json", dir);
        /* created_at of the first save */
        _cleanup_(session_meta_freep) struct session_meta *first = NULL;
        struct coi_error err = { 0 };
        assert_int_equal(session_load(dir, "s1", &first, &err), 0);
        save("s1", "/home/u/proj", 1, "new");
        _cleanup_(session_meta_freep) struct session_meta *m = NULL;
        assert_int_equal(session_load(dir, "s1", &m, &err), 0);
        assert_string_equal(m->created_at, first->created_at);
        assert_string_not_equal(m->saved_at, "2020-01-01T00:00:00Z");
        _cleanup_free_ char *data = NULL;
        snprintf(p, sizeof(p), "%s/s1/.claude/state.txt", dir);
        assert_int_equal(read_file_at(AT_FDCWD, p, 0, &data, NULL, &err), 0);
        assert_string_equal(data, "new");
}

static void test_crashed_save_is_never_a_session(void **state)
{
        struct coi_error err = { 0 };
        save("good", "/w", 1, "x");
        /* A save that died after staging and copying, before the commit. */
        _cleanup_free_ char *staging = NULL;
        assert_int_equal(session_stage_begin(dir, "crashed", &staging, &err), 0);
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/metadata.json", staging);
        unit_put(p, "{\"session_id\": \"crashed\", \"workspace\": \"/w\", \"saved_at\": "
                    "\"2099-01-01T00:00:00Z\"}");
        /* ... and one that died while re-saving "good": the old "good" is intact. */
        _cleanup_free_ char *staging2 = NULL;
        assert_int_equal(session_stage_begin(dir, "good", &staging2, &err), 0);
        snprintf(p, sizeof(p), "%s/half-written", staging2);
        unit_put(p, "x");

        _cleanup_(session_meta_list_freep) struct session_meta **l = NULL;
        size_t n;
        assert_int_equal(sessions_list(dir, &l, &n, &err), 0);
        assert_int_equal(n, 1);
        assert_string_equal(l[0]->session_id, "good");
        _cleanup_(session_meta_freep) struct session_meta *latest = NULL;
        assert_int_equal(session_find_latest(dir, "/w", &latest, &err), 0);
        assert_string_equal(latest->session_id, "good");
        assert_true(exists("%s/%s/.claude/state.txt", "good"));
        struct session_meta *none = NULL;
        assert_int_equal(session_find(dir, "crashed", "/w", &none, &err), -ENOENT);

        /* stale cleanup removes both staging directories, and nothing else */
        assert_int_equal(sessions_remove_stale(dir, 0, &err), 0);
        struct stat st;
        assert_int_equal(stat(staging, &st), -1);
        assert_int_equal(stat(staging2, &st), -1);
        assert_true(exists("%s/%s/metadata.json", "good"));
        /* and a fresh staging dir survives a cleanup with an age limit */
        _cleanup_free_ char *staging3 = NULL;
        assert_int_equal(session_stage_begin(dir, "new", &staging3, &err), 0);
        assert_int_equal(sessions_remove_stale(dir, 3600, &err), 0);
        assert_int_equal(stat(staging3, &st), 0);
        session_stage_abort(staging3);
        assert_int_equal(stat(staging3, &st), -1);
}

static void test_commit_refuses_foreign_staging(void **state)
{
        struct coi_error err = { 0 };
        _cleanup_free_ char *staging = NULL;
        assert_int_equal(session_stage_begin(dir, "a", &staging, &err), 0);
        struct session_meta m = { .session_id = "b", .workspace = "/w" };
        assert_int_equal(session_stage_commit(dir, staging, &m, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "not a staging directory"));
        assert_int_equal(session_stage_commit(dir, "/etc", &m, &err), -EINVAL);
}

static void test_resume_latest_of_this_workspace_only(void **state)
{
        save("a-old", "/ws/one", 1, "x");
        save("a-new", "/ws/one", 2, "x");
        save("b-newest", "/ws/two", 1, "x");
        set_saved_at("a-old", "2026-01-01T10:00:00Z");
        set_saved_at("a-new", "2026-01-01T12:00:00+01:00"); /* 11:00 UTC: newer than a-old */
        set_saved_at("b-newest", "2026-06-01T00:00:00Z");
        struct coi_error err = { 0 };
        _cleanup_(session_meta_freep) struct session_meta *m = NULL;
        assert_int_equal(session_find_latest(dir, "/ws/one", &m, &err), 0);
        assert_string_equal(m->session_id, "a-new");
        struct session_meta *none = NULL;
        assert_int_equal(session_find_latest(dir, "/ws/three", &none, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "/ws/three"));

        _cleanup_(session_meta_list_freep) struct session_meta **l = NULL;
        size_t n;
        assert_int_equal(sessions_list(dir, &l, &n, &err), 0);
        assert_int_equal(n, 3);
        assert_string_equal(l[0]->session_id, "b-newest");
        assert_string_equal(l[1]->session_id, "a-new");
        assert_string_equal(l[2]->session_id, "a-old");
}

static void test_resume_by_id(void **state)
{
        save("mine", "/ws/one", 1, "x");
        save("theirs", "/ws/two", 1, "x");
        struct coi_error err = { 0 };
        _cleanup_(session_meta_freep) struct session_meta *m = NULL;
        assert_int_equal(session_find(dir, "mine", "/ws/one", &m, &err), 0);
        struct session_meta *none = NULL;
        assert_int_equal(session_find(dir, "nope", "/ws/one", &none, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "session nope not found"));
        assert_int_equal(session_find(dir, "theirs", "/ws/one", &none, &err), -EACCES);
        assert_non_null(strstr(err.msg, "theirs"));
        assert_non_null(strstr(err.msg, "/ws/two"));
        assert_int_equal(session_find(dir, "../x", "/ws/one", &none, &err), -EINVAL);
}

static void test_code_on_incus_metadata_is_read(void **state)
{
        /* A session written by code-on-incus: no workspace-independent fields of ours, matched by the
         * hash in the container name when "workspace" is absent. */
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/legacy", dir);
        struct coi_error err = { 0 };
        assert_int_equal(mkdir_p_at(AT_FDCWD, p, 0700, &err), 0);
        _cleanup_free_ char *name = workspace_container_name("/ws/one", 1, "coi-");
        _cleanup_free_ char *json =
                xasprintf("{\n  \"session_id\": \"legacy\",\n  \"container_name\": \"%s\",\n"
                          "  \"persistent\": true,\n  \"saved_at\": \"2026-01-01T00:00:00Z\"\n}\n",
                          name);
        snprintf(p, sizeof(p), "%s/legacy/metadata.json", dir);
        unit_put(p, json);
        _cleanup_(session_meta_freep) struct session_meta *m = NULL;
        assert_int_equal(session_find_latest(dir, "/ws/one", &m, &err), 0);
        assert_string_equal(m->session_id, "legacy");
        assert_true(m->persistent);
        assert_int_equal(m->slot, 0);
        struct session_meta *none = NULL;
        assert_int_equal(session_find_latest(dir, "/ws/two", &none, &err), -ENOENT);
        /* a symlink posing as a session is not one */
        char link[PATH_MAX];
        snprintf(link, sizeof(link), "%s/linked", dir);
        assert_int_equal(symlink("legacy", link), 0);
        _cleanup_(session_meta_list_freep) struct session_meta **l = NULL;
        size_t n;
        assert_int_equal(sessions_list(dir, &l, &n, &err), 0);
        assert_int_equal(n, 1);
        assert_int_equal(session_load(dir, "linked", &none, &err), -ENOTDIR);
}

static void test_early_metadata(void **state)
{
        struct coi_error err = { 0 };
        struct session_meta m = { .session_id = "early",
                                  .workspace = "/w",
                                  .container_name = "coi-00000000-1",
                                  .persistent = true,
                                  .tool = "claude",
                                  .slot = 1 };
        assert_int_equal(session_save_metadata(dir, &m, &err), 0);
        _cleanup_(session_meta_freep) struct session_meta *l = NULL;
        assert_int_equal(session_load(dir, "early", &l, &err), 0);
        assert_true(l->persistent);
        assert_string_equal(l->created_at, l->saved_at);
}

static void test_delete(void **state)
{
        save("a", "/w", 1, "x");
        save("b", "/w", 2, "x");
        struct coi_error err = { 0 };
        assert_int_equal(session_delete(dir, "a", &err), 0);
        assert_false(exists("%s/%s", "a"));
        assert_int_equal(session_delete(dir, "a", &err), -ENOENT);
        assert_non_null(strstr(err.msg, "session a"));
        assert_int_equal(session_delete(dir, "..", &err), -EINVAL);
        _cleanup_free_ char *staging = NULL;
        assert_int_equal(session_stage_begin(dir, "c", &staging, &err), 0);
        size_t n = 99;
        assert_int_equal(sessions_delete_all(dir, &n, &err), 0);
        assert_int_equal(n, 1);
        assert_false(exists("%s/%s", "b"));
        struct stat st;
        assert_int_equal(stat(staging, &st), -1);
        assert_int_equal(stat(dir, &st), 0); /* the directory itself stays */
        char missing[400];
        snprintf(missing, sizeof(missing), "%s/none", tmp);
        assert_int_equal(sessions_delete_all(missing, &n, &err), 0);
        assert_int_equal(n, 0);
}

static void test_credentials(void **state)
{
        struct credential_file *v = NULL;
        size_t n = 0;
        struct coi_error err = { 0 };
        assert_int_equal(credential_files("claude", "/home/u", &v, &n, &err), 0);
        const char *want[] = { "/home/u/.claude/.credentials.json", "/home/u/.claude/config.yml",
                               "/home/u/.claude/settings.json", "/home/u/.claude/CLAUDE.md",
                               "/home/u/.claude.json" };
        assert_int_equal(n, ELEMENTSOF(want));
        for (size_t i = 0; i < n; i++) {
                assert_string_equal(v[i].host, want[i]);
                assert_string_equal(v[i].container_rel, want[i] + strlen("/home/u/"));
        }
        assert_true(v[0].secret);
        assert_false(v[2].secret);
        credential_files_free(v, n);
        assert_int_equal(credential_files("opencode", "/h", &v, &n, &err), 0);
        bool auth = false, cfg = false;
        for (size_t i = 0; i < n; i++) {
                assert_true(startswith(v[i].host, "/h/.config/opencode/") ||
                            startswith(v[i].host, "/h/.local/share/opencode/"));
                auth |= streq(v[i].host, "/h/.local/share/opencode/auth.json") && v[i].secret;
                cfg |= streq(v[i].host, "/h/.config/opencode/opencode.json");
        }
        assert_true(auth && cfg);
        credential_files_free(v, n);
        assert_int_equal(credential_files("aider", "/h", &v, &n, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "aider"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_id),
                T(test_save_writes_metadata_and_state),
                T(test_resave_replaces_state_and_keeps_created_at),
                T(test_crashed_save_is_never_a_session),
                T(test_commit_refuses_foreign_staging),
                T(test_resume_latest_of_this_workspace_only),
                T(test_resume_by_id),
                T(test_code_on_incus_metadata_is_read),
                T(test_early_metadata),
                T(test_delete),
                cmocka_unit_test(test_credentials),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
