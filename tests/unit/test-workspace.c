/* test-workspace.c — workspace path, owner, container name, mount target and protected paths
 * (symlinks, "..", worktrees, missing paths) against real temporary directories. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "unit-tmp.h"
#include "util.h"
#include "session/workspace.h"

static char tmp[256];

static int setup(void **state)
{
        unit_tmpdir(tmp, sizeof(tmp), "ws");
        /* realpath, so the expectations below hold when /tmp is itself a symlink */
        char *r = realpath(tmp, NULL);
        snprintf(tmp, sizeof(tmp), "%s", r);
        free(r);
        return 0;
}

static int teardown(void **state)
{
        return unit_rmrf(tmp);
}

static void mk(const char *rel)
{
        char p[PATH_MAX * 2];
        snprintf(p, sizeof(p), "%s/%s", tmp, rel);
        struct coi_error err = { 0 };
        assert_int_equal(mkdir_p_at(AT_FDCWD, p, 0755, &err), 0);
}

static void put(const char *rel, const char *content)
{
        char p[PATH_MAX * 2];
        snprintf(p, sizeof(p), "%s/%s", tmp, rel);
        unit_put(p, content);
}

static void link_(const char *target, const char *rel)
{
        char p[PATH_MAX * 2];
        snprintf(p, sizeof(p), "%s/%s", tmp, rel);
        assert_int_equal(symlink(target, p), 0);
}

static char *P(const char *rel)
{
        static char bufs[8][PATH_MAX * 2];
        static int i;
        char *b = bufs[i++ % 8];
        snprintf(b, PATH_MAX * 2, "%s/%s", tmp, rel);
        return b;
}

static struct workspace *resolve(const char *arg)
{
        struct workspace_options o = { .cwd = tmp, .set_ids = true, .uid = 1000, .gid = 1000 };
        struct workspace *ws = NULL;
        struct coi_error err = { 0 };
        assert_int_equal(workspace_resolve(arg, &o, &ws, &err), 0);
        return ws;
}

static const struct protected_mount *find(const struct protected_list *l, const char *rel)
{
        for (size_t i = 0; i < l->n; i++)
                if (streq(l->v[i].rel, rel))
                        return &l->v[i];
        return NULL;
}

static char *defaults[] = { ".git/hooks", ".git/config", ".husky", ".vscode", NULL };

static void test_abs_path_is_lexical_like_go(void **state)
{
        _cleanup_free_ char *a = workspace_abs_path("proj/../other/./x//", "/home/u");
        assert_string_equal(a, "/home/u/other/x");
        _cleanup_free_ char *b = workspace_abs_path(".", "/home/u/proj");
        assert_string_equal(b, "/home/u/proj");
        _cleanup_free_ char *c = workspace_abs_path("/../..", "/x");
        assert_string_equal(c, "/");
        _cleanup_free_ char *d = workspace_abs_path(NULL, "/w");
        assert_string_equal(d, "/w");
}

static void test_container_name_matches_code_on_incus(void **state)
{
        /* sha256("/home/user/project") starts with these 8 hex digits (computed with sha256sum). */
        _cleanup_free_ char *n = workspace_container_name("/home/user/project", 3, "coi-");
        FILE *p = popen("printf %s /home/user/project | sha256sum | cut -c1-8", "r");
        char want[16] = "";
        assert_non_null(fgets(want, sizeof(want), p));
        pclose(p);
        want[8] = '\0';
        char expect[64];
        snprintf(expect, sizeof(expect), "coi-%s-3", want);
        assert_string_equal(n, expect);

        char hash[9];
        int slot = 0;
        assert_int_equal(workspace_parse_container_name(n, "coi-", hash, &slot), 0);
        assert_string_equal(hash, want);
        assert_int_equal(slot, 3);
        assert_int_equal(workspace_parse_container_name("coi-zzzzzzzz-1", "coi-", hash, &slot), -EINVAL);
        assert_int_equal(workspace_parse_container_name("other-12345678-1", "coi-", hash, &slot), -EINVAL);

        char *env[] = { "COI_CONTAINER_PREFIX=coi-test-", NULL };
        assert_string_equal(workspace_container_prefix(env), "coi-test-");
        char *empty[] = { "COI_CONTAINER_PREFIX=", NULL };
        assert_string_equal(workspace_container_prefix(empty), "coi-");
}

static void test_symlinked_workspace_hashes_the_link_path(void **state)
{
        mk("real/proj");
        link_("real", "link");
        _cleanup_(workspace_freep) struct workspace *ws = resolve("link/proj");
        assert_string_equal(ws->path, P("link/proj"));
        assert_string_equal(ws->real_path, P("real/proj"));
        char h[9];
        workspace_hash(P("link/proj"), h);
        assert_string_equal(ws->hash, h);
        workspace_hash(P("real/proj"), h);
        assert_string_not_equal(ws->hash, h);
}

static void test_pwd_is_used_like_go_getwd(void **state)
{
        mk("real/proj");
        link_("real", "link");
        char cwd[PATH_MAX];
        assert_non_null(getcwd(cwd, sizeof(cwd)));
        assert_int_equal(chdir(P("real/proj")), 0);
        char pwd[PATH_MAX + 8];
        snprintf(pwd, sizeof(pwd), "PWD=%s", P("link/proj"));
        char *env[] = { pwd, NULL };
        struct workspace_options o = { .environ = env, .set_ids = true, .uid = 1 };
        struct workspace *ws = NULL;
        struct coi_error err = { 0 };
        int r = workspace_resolve(NULL, &o, &ws, &err);
        /* a stale PWD (another directory) is not believed */
        char stale[PATH_MAX + 8];
        snprintf(stale, sizeof(stale), "PWD=%s", tmp);
        char *env2[] = { stale, NULL };
        struct workspace_options o2 = { .environ = env2, .set_ids = true, .uid = 1 };
        struct workspace *ws2 = NULL;
        int r2 = workspace_resolve(".", &o2, &ws2, &err);
        assert_int_equal(chdir(cwd), 0);
        assert_int_equal(r, 0);
        assert_string_equal(ws->path, P("link/proj"));
        assert_int_equal(r2, 0);
        assert_string_equal(ws2->path, P("real/proj"));
        workspace_free(ws);
        workspace_free(ws2);
}

static void test_workspace_must_be_a_directory(void **state)
{
        put("file", "x");
        struct workspace_options o = { .cwd = tmp, .set_ids = true };
        struct workspace *ws = NULL;
        struct coi_error err = { 0 };
        assert_int_equal(workspace_resolve("file", &o, &ws, &err), -ENOTDIR);
        assert_non_null(strstr(err.msg, "file is not a directory"));
        assert_int_equal(workspace_resolve("missing", &o, &ws, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "missing"));
}

static void test_owner_from_sudo(void **state)
{
        struct coi_error err = { 0 };
        uid_t u;
        gid_t g;
        char *sudo[] = { "SUDO_UID=1001", "SUDO_GID=1002", NULL };
        struct stat root_dir = { .st_uid = 0, .st_gid = 0 }, user_dir = { .st_uid = 1234, .st_gid = 1235 };
        assert_int_equal(workspace_owner(sudo, 0, 0, &root_dir, &u, &g, &err), 0);
        assert_int_equal(u, 1001);
        assert_int_equal(g, 1002);
        /* sudo wins over the directory's owner */
        assert_int_equal(workspace_owner(sudo, 0, 0, &user_dir, &u, &g, &err), 0);
        assert_int_equal(u, 1001);
        /* not root: SUDO_UID means nothing, and neither does the directory's owner */
        assert_int_equal(workspace_owner(sudo, 1000, 1000, &user_dir, &u, &g, &err), 0);
        assert_int_equal(u, 1000);
        assert_int_equal(g, 1000);
        char *none[] = { NULL };
        assert_int_equal(workspace_owner(none, 0, 0, &root_dir, &u, &g, &err), 0);
        assert_int_equal(u, 0);
        /* root without sudo in a CI runner's checkout: its owner */
        assert_int_equal(workspace_owner(none, 0, 0, &user_dir, &u, &g, &err), 0);
        assert_int_equal(u, 1234);
        assert_int_equal(g, 1235);
        char *bad[] = { "SUDO_UID=abc", NULL };
        assert_int_equal(workspace_owner(bad, 0, 0, &root_dir, &u, &g, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "SUDO_UID=abc"));
}

static void test_resolve_uses_sudo_owner(void **state)
{
        mk("ws");
        char *env[] = { "SUDO_UID=1234", "SUDO_GID=5678", NULL };
        struct workspace_options o = { .cwd = tmp, .environ = env, .set_ids = true, .uid = 0, .gid = 0 };
        struct workspace *ws = NULL;
        struct coi_error err = { 0 };
        assert_int_equal(workspace_resolve("ws", &o, &ws, &err), 0);
        assert_int_equal(ws->uid, 1234);
        assert_int_equal(ws->gid, 5678);
        workspace_free(ws);
}

static void test_mount_target(void **state)
{
        struct workspace ws = { .path = "/home/u/proj", .real_path = "/home/u/proj" };
        struct coi_error err = { 0 };
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;
        assert_int_equal(workspace_mount_target(&ws, false, &a, &err), 0);
        assert_string_equal(a, "/workspace");
        assert_int_equal(workspace_mount_target(&ws, true, &b, &err), 0);
        assert_string_equal(b, "/home/u/proj");
        struct workspace bad = { .path = "/etc/app", .real_path = "/etc/app" };
        assert_int_equal(workspace_mount_target(&bad, true, &c, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "/etc"));
        struct workspace ok = { .path = "/etcetera", .real_path = "/etcetera" };
        assert_int_equal(workspace_mount_target(&ok, true, &c, &err), 0);
}

static struct protected_list *protect(struct workspace *ws, struct protect_options *o, int expect)
{
        struct protected_list *l = NULL;
        struct coi_error err = { 0 };
        int r = workspace_protected_paths(ws, "/workspace", o, &l, &err);
        if (r != expect)
                fail_msg("got %d (%s), expected %d", r, err.msg, expect);
        return l;
}

static void test_existing_paths_are_protected(void **state)
{
        mk("ws/.git/hooks");
        put("ws/.git/config", "[core]\n");
        mk("ws/.vscode");
        _cleanup_(workspace_freep) struct workspace *ws = resolve("ws");
        struct protect_options o = { .protected_paths = defaults };
        _cleanup_(protected_list_freep) struct protected_list *l = protect(ws, &o, 0);
        assert_int_equal(l->n, 4);
        const struct protected_mount *h = find(l, ".git/hooks");
        assert_string_equal(h->host, P("ws/.git/hooks"));
        assert_string_equal(h->container, "/workspace/.git/hooks");
        assert_int_equal(h->kind, PROTECT_DIR);
        assert_false(h->must_create);
        const struct protected_mount *c = find(l, ".git/config");
        assert_int_equal(c->kind, PROTECT_FILE);
        assert_false(c->must_create);
        /* .husky does not exist: still protected, as a directory placeholder */
        const struct protected_mount *hu = find(l, ".husky");
        assert_non_null(hu);
        assert_true(hu->must_create);
        assert_int_equal(hu->kind, PROTECT_DIR);
        assert_string_equal(hu->container, "/workspace/.husky");
        assert_null(l->warnings);
}

static void test_missing_paths_get_placeholders_by_name(void **state)
{
        mk("ws");
        _cleanup_(workspace_freep) struct workspace *ws = resolve("ws");
        char *extra[] = { ".idea", ".claude/settings.json", "Makefile.local.mk", NULL };
        struct protect_options o = { .protected_paths = defaults, .additional_protected_paths = extra };
        _cleanup_(protected_list_freep) struct protected_list *l = protect(ws, &o, 0);
        assert_int_equal(l->n, 7);
        for (size_t i = 0; i < l->n; i++)
                assert_true(l->v[i].must_create);
        assert_int_equal(find(l, ".git/hooks")->kind, PROTECT_DIR);
        assert_int_equal(find(l, ".git/config")->kind, PROTECT_FILE);
        assert_int_equal(find(l, ".husky")->kind, PROTECT_DIR);
        assert_int_equal(find(l, ".vscode")->kind, PROTECT_DIR);
        assert_int_equal(find(l, ".idea")->kind, PROTECT_DIR);
        assert_int_equal(find(l, ".claude/settings.json")->kind, PROTECT_FILE);
        assert_string_equal(find(l, ".git/config")->host, P("ws/.git/config"));
        /* no .git at all: the placeholder for .git/hooks starts at .git, which coi creates */
        assert_string_equal(find(l, ".git/hooks")->first_missing, P("ws/.git"));
        assert_string_equal(find(l, ".husky")->first_missing, P("ws/.husky"));
        assert_string_equal(find(l, ".claude/settings.json")->first_missing, P("ws/.claude"));
}

static void test_config_worktree_files_are_protected(void **state)
{
        mk("ws/.git/hooks");
        mk("ws/.git/worktrees/feature");
        put("ws/.git/config", "[extensions]\n\tworktreeConfig = true\n");
        put("ws/.git/config.worktree", "");
        put("ws/.git/worktrees/feature/config.worktree", "");
        mk("ws/.git/worktrees/other"); /* no config.worktree: nothing to protect */
        _cleanup_(workspace_freep) struct workspace *ws = resolve("ws");
        struct protect_options o = { .protected_paths = defaults };
        _cleanup_(protected_list_freep) struct protected_list *l = protect(ws, &o, 0);
        const struct protected_mount *m = find(l, ".git/config.worktree");
        assert_non_null(m);
        assert_string_equal(m->container, "/workspace/.git/config.worktree");
        assert_int_equal(m->kind, PROTECT_FILE);
        assert_non_null(find(l, ".git/worktrees/feature/config.worktree"));
        assert_null(find(l, ".git/worktrees/other/config.worktree"));
        assert_null(find(l, ".git/hooks")->first_missing);
}

static void test_switches(void **state)
{
        mk("ws/.git/hooks");
        _cleanup_(workspace_freep) struct workspace *ws = resolve("ws");
        struct protect_options off = { .protected_paths = defaults, .disable_protection = true };
        _cleanup_(protected_list_freep) struct protected_list *l = protect(ws, &off, 0);
        assert_int_equal(l->n, 0);
        struct protect_options hooks = { .protected_paths = defaults, .writable_hooks = true };
        _cleanup_(protected_list_freep) struct protected_list *h = protect(ws, &hooks, 0);
        assert_int_equal(h->n, 3);
        assert_null(find(h, ".git/hooks"));
        assert_non_null(find(h, ".git/config"));
        /* duplicates (also spelled differently) are listed once */
        char *extra[] = { "./.vscode/", ".vscode", NULL };
        struct protect_options dup = { .protected_paths = defaults, .additional_protected_paths = extra };
        _cleanup_(protected_list_freep) struct protected_list *d = protect(ws, &dup, 0);
        assert_int_equal(d->n, 4);
}

static void test_dotdot_and_absolute_refused(void **state)
{
        mk("ws");
        _cleanup_(workspace_freep) struct workspace *ws = resolve("ws");
        struct coi_error err = { 0 };
        struct protected_list *l = NULL;
        char *dd[] = { "../secret", NULL };
        struct protect_options o = { .additional_protected_paths = dd };
        assert_int_equal(workspace_protected_paths(ws, "/workspace", &o, &l, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "../secret"));
        char *mid[] = { ".git/../../x", NULL };
        o.additional_protected_paths = mid;
        assert_int_equal(workspace_protected_paths(ws, "/workspace", &o, &l, &err), -EINVAL);
        char *abs[] = { "/etc/passwd", NULL };
        o.additional_protected_paths = abs;
        assert_int_equal(workspace_protected_paths(ws, "/workspace", &o, &l, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "relative"));
        char *dot[] = { ".", NULL };
        o.additional_protected_paths = dot;
        assert_int_equal(workspace_protected_paths(ws, "/workspace", &o, &l, &err), -EINVAL);
        assert_null(l);
}

static void test_symlink_inside_protects_target(void **state)
{
        mk("ws/config/vscode");
        link_("config/vscode", "ws/.vscode");
        _cleanup_(workspace_freep) struct workspace *ws = resolve("ws");
        char *only[] = { ".vscode", NULL };
        struct protect_options o = { .protected_paths = only };
        _cleanup_(protected_list_freep) struct protected_list *l = protect(ws, &o, 0);
        assert_int_equal(l->n, 1);
        assert_string_equal(l->v[0].host, P("ws/config/vscode"));
        assert_string_equal(l->v[0].container, "/workspace/config/vscode");
        assert_false(l->v[0].must_create);
}

static void test_symlink_outside_refused(void **state)
{
        mk("ws");
        mk("elsewhere/hooks");
        link_(P("elsewhere"), "ws/.husky");
        _cleanup_(workspace_freep) struct workspace *ws = resolve("ws");
        char *only[] = { ".husky", NULL };
        struct protect_options o = { .protected_paths = only };
        struct protected_list *l = NULL;
        struct coi_error err = { 0 };
        assert_int_equal(workspace_protected_paths(ws, "/workspace", &o, &l, &err), -EPERM);
        assert_non_null(strstr(err.msg, ".husky"));
        assert_non_null(strstr(err.msg, "outside the workspace"));
        /* a symlinked parent leading out is refused too */
        link_(P("elsewhere"), "ws/.git");
        char *hooks[] = { ".git/hooks", NULL };
        o.protected_paths = hooks;
        assert_int_equal(workspace_protected_paths(ws, "/workspace", &o, &l, &err), -EPERM);
}

static void test_dangling_symlink_inside_gets_placeholder_at_target(void **state)
{
        mk("ws");
        link_("not-yet", "ws/.vscode");
        _cleanup_(workspace_freep) struct workspace *ws = resolve("ws");
        char *only[] = { ".vscode", NULL };
        struct protect_options o = { .protected_paths = only };
        _cleanup_(protected_list_freep) struct protected_list *l = protect(ws, &o, 0);
        assert_int_equal(l->n, 1);
        assert_string_equal(l->v[0].host, P("ws/not-yet"));
        assert_true(l->v[0].must_create);
        /* dangling and pointing outside: refused */
        link_("/nonexistent-coi/x", "ws/.husky");
        char *h[] = { ".husky", NULL };
        o.protected_paths = h;
        struct protected_list *l2 = NULL;
        struct coi_error err = { 0 };
        assert_int_equal(workspace_protected_paths(ws, "/workspace", &o, &l2, &err), -EPERM);
}

static void make_worktree(const char *ws_rel, const char *main_rel, bool back_pointer)
{
        char b[PATH_MAX * 2];
        snprintf(b, sizeof(b), "%s/.git/worktrees/wt", main_rel);
        mk(b);
        snprintf(b, sizeof(b), "%s/.git/objects", main_rel);
        mk(b);
        snprintf(b, sizeof(b), "%s/.git/hooks", main_rel);
        mk(b);
        snprintf(b, sizeof(b), "%s/.git/config", main_rel);
        put(b, "[core]\n");
        mk(ws_rel);
        char content[PATH_MAX * 2];
        snprintf(content, sizeof(content), "gitdir: %s/%s/.git/worktrees/wt\n", tmp, main_rel);
        snprintf(b, sizeof(b), "%s/.git", ws_rel);
        put(b, content);
        snprintf(b, sizeof(b), "%s/.git/worktrees/wt/config.worktree", main_rel);
        put(b, "");
        snprintf(b, sizeof(b), "%s/.git/worktrees/wt/commondir", main_rel);
        put(b, "../..\n");
        snprintf(b, sizeof(b), "%s/.git/worktrees/wt/gitdir", main_rel);
        snprintf(content, sizeof(content), "%s/%s/.git\n", tmp, back_pointer ? ws_rel : "someone-else");
        put(b, content);
}

static void test_worktree_protects_common_dir(void **state)
{
        make_worktree("wt", "main", true);
        _cleanup_(workspace_freep) struct workspace *ws = resolve("wt");
        struct protect_options o = { .protected_paths = defaults };
        _cleanup_(protected_list_freep) struct protected_list *l = protect(ws, &o, 0);
        assert_string_equal(l->git_common_dir, P("main/.git"));
        const struct protected_mount *h = find(l, ".git/hooks");
        assert_non_null(h);
        assert_string_equal(h->host, P("main/.git/hooks"));
        assert_string_equal(h->container, P("main/.git/hooks")); /* mounted at its host path */
        assert_false(h->must_create);
        const struct protected_mount *c = find(l, ".git/config");
        assert_string_equal(c->host, P("main/.git/config"));
        assert_int_equal(c->kind, PROTECT_FILE);
        /* the .git file itself: rewriting it would redirect the host's git to other hooks */
        const struct protected_mount *g = find(l, ".git");
        assert_non_null(g);
        assert_string_equal(g->host, P("wt/.git"));
        assert_string_equal(g->container, "/workspace/.git");
        assert_int_equal(g->kind, PROTECT_FILE);
        assert_null(l->warnings);
        assert_non_null(find(l, ".git/worktrees/wt/config.worktree"));
        assert_string_equal(find(l, ".git/worktrees/wt/config.worktree")->container,
                            P("main/.git/worktrees/wt/config.worktree"));
}

static void test_worktree_without_back_pointer_is_not_trusted(void **state)
{
        make_worktree("wt", "main", false);
        _cleanup_(workspace_freep) struct workspace *ws = resolve("wt");
        struct protect_options o = { .protected_paths = defaults };
        _cleanup_(protected_list_freep) struct protected_list *l = protect(ws, &o, 0);
        assert_null(l->git_common_dir);
        assert_null(find(l, ".git/hooks"));
        assert_non_null(find(l, ".git")); /* the pointer file stays read-only */
        assert_non_null(l->warnings);
        assert_non_null(strstr(l->warnings[0], "does not point back"));
}

static void test_git_file_without_gitdir_line(void **state)
{
        mk("ws");
        put("ws/.git", "nonsense\n");
        _cleanup_(workspace_freep) struct workspace *ws = resolve("ws");
        struct protect_options o = { .protected_paths = defaults };
        _cleanup_(protected_list_freep) struct protected_list *l = protect(ws, &o, 0);
        assert_non_null(find(l, ".git"));
        assert_null(find(l, ".git/config"));
        assert_non_null(l->warnings);
        assert_non_null(strstr(l->warnings[0], "gitdir"));
}

static void test_preserved_path_container_paths(void **state)
{
        mk("ws/.husky");
        _cleanup_(workspace_freep) struct workspace *ws = resolve("ws");
        char *only[] = { ".husky", NULL };
        struct protect_options o = { .protected_paths = only };
        struct protected_list *l = NULL;
        struct coi_error err = { 0 };
        assert_int_equal(workspace_protected_paths(ws, ws->path, &o, &l, &err), 0);
        assert_string_equal(l->v[0].container, P("ws/.husky"));
        protected_list_free(l);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_abs_path_is_lexical_like_go),
                cmocka_unit_test(test_container_name_matches_code_on_incus),
                T(test_symlinked_workspace_hashes_the_link_path),
                T(test_pwd_is_used_like_go_getwd),
                T(test_workspace_must_be_a_directory),
                cmocka_unit_test(test_owner_from_sudo),
                T(test_resolve_uses_sudo_owner),
                cmocka_unit_test(test_mount_target),
                T(test_existing_paths_are_protected),
                T(test_missing_paths_get_placeholders_by_name),
                T(test_config_worktree_files_are_protected),
                T(test_switches),
                T(test_dotdot_and_absolute_refused),
                T(test_symlink_inside_protects_target),
                T(test_symlink_outside_refused),
                T(test_dangling_symlink_inside_gets_placeholder_at_target),
                T(test_worktree_protects_common_dir),
                T(test_worktree_without_back_pointer_is_not_trusted),
                T(test_git_file_without_gitdir_line),
                T(test_preserved_path_container_paths),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
