/* test-agent.c — the tool's argv and environment, timezone, Claude conversation lookup, sandbox
 * settings, the sandbox context (rendering, CLAUDE.md block, settings merge, writing), the SSH relay. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "session/agent.h"
#include "session/sandbox-context.h"
#include "unit-tmp.h"
#include "util.h"

static char tmp[256];

static int setup(void **state)
{
        unit_tmpdir(tmp, sizeof(tmp), "agent");
        return 0;
}

static int teardown(void **state)
{
        return unit_rmrf(tmp);
}

static char *joined(char **v)
{
        size_t len = 1;
        for (char **p = v; *p; p++)
                len += strlen(*p) + 1;
        char *s = calloc(1, len);
        for (char **p = v; *p; p++) {
                if (p != v)
                        strcat(s, " ");
                strcat(s, *p);
        }
        return s;
}

static const char *getenv_in(char **envp, const char *name)
{
        size_t n = strlen(name);
        for (char **e = envp; *e; e++)
                if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
                        return *e + n + 1;
        return NULL;
}

static struct agent_command *build(const struct agent_launch *l)
{
        struct agent_command *c = NULL;
        struct coi_error err = { 0 };
        if (agent_command_build(l, &c, &err) < 0)
                fail_msg("%s", err.msg);
        return c;
}

static void test_claude_argv(void **state)
{
        struct agent_launch l = { .session_id = "11111111-2222-4333-8444-555555555555" };
        _cleanup_(agent_command_freep) struct agent_command *c = build(&l);
        _cleanup_free_ char *s = joined(c->argv);
        assert_string_equal(s, "claude --verbose --permission-mode bypassPermissions --session-id "
                               "11111111-2222-4333-8444-555555555555");

        struct agent_launch i = {
                .session_id = "x", .permission_mode = "interactive", .model = "opus", .binary = "/opt/claude"
        };
        _cleanup_(agent_command_freep) struct agent_command *ci = build(&i);
        _cleanup_free_ char *si = joined(ci->argv);
        assert_string_equal(si, "/opt/claude --verbose --session-id x --model opus");

        struct agent_launch r = { .session_id = "x", .resume = true, .resume_tool_id = "conv-1" };
        _cleanup_(agent_command_freep) struct agent_command *cr = build(&r);
        _cleanup_free_ char *sr = joined(cr->argv);
        assert_string_equal(sr, "claude --verbose --permission-mode bypassPermissions --resume conv-1");

        struct agent_launch r2 = { .resume = true };
        _cleanup_(agent_command_freep) struct agent_command *cr2 = build(&r2);
        assert_string_equal(cr2->argv[strv_length(cr2->argv) - 1], "--resume");
}

static void test_argv_is_not_a_shell_string(void **state)
{
        struct agent_launch l = { .session_id = "x", .model = "a b; rm -rf / $(x)" };
        _cleanup_(agent_command_freep) struct agent_command *c = build(&l);
        size_t n = strv_length(c->argv);
        assert_string_equal(c->argv[n - 1], "a b; rm -rf / $(x)");
        assert_string_equal(c->argv[n - 2], "--model");
}

static void test_opencode_and_debug(void **state)
{
        struct agent_launch o = { .tool = "opencode", .session_id = "x", .model = "anthropic/claude" };
        _cleanup_(agent_command_freep) struct agent_command *c = build(&o);
        _cleanup_free_ char *s = joined(c->argv);
        assert_string_equal(s, "opencode --model anthropic/claude");
        struct agent_launch d = { .debug = true };
        _cleanup_(agent_command_freep) struct agent_command *cd = build(&d);
        _cleanup_free_ char *sd = joined(cd->argv);
        assert_string_equal(sd, "bash");

        struct agent_command *none = NULL;
        struct coi_error err = { 0 };
        struct agent_launch bad = { .tool = "aider" };
        assert_int_equal(agent_command_build(&bad, &none, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "aider"));
        struct agent_launch badmode = { .session_id = "x", .permission_mode = "yolo" };
        assert_int_equal(agent_command_build(&badmode, &none, &err), -EINVAL);
        struct agent_launch noid = { 0 };
        assert_int_equal(agent_command_build(&noid, &none, &err), -EINVAL);
}

static void test_environment_is_exactly_what_is_configured(void **state)
{
        char *host[] = { "ANTHROPIC_API_KEY=sk-1", "SECRET=no", "GH_TOKEN=gh", "HOME=/root", NULL };
        char *fwd[] = { "ANTHROPIC_API_KEY", "GH_TOKEN", "UNSET_ON_HOST", NULL };
        struct config_env env[] = { { .name = "GH_TOKEN", .value = "override" },
                                    { .name = "FOO", .value = "a=b c" } };
        struct agent_launch l = { .session_id = "x",
                                  .home = "/home/code",
                                  .user = "code",
                                  .term = "xterm",
                                  .host_environ = host,
                                  .forward_env = fwd,
                                  .environment = env,
                                  .n_environment = 2,
                                  .timezone = "Europe/Berlin",
                                  .ssh_agent = true };
        _cleanup_(agent_command_freep) struct agent_command *c = build(&l);
        assert_string_equal(getenv_in(c->envp, "ANTHROPIC_API_KEY"), "sk-1");
        /* forward_env wins over [defaults] environment, as in code-on-incus */
        assert_string_equal(getenv_in(c->envp, "GH_TOKEN"), "gh");
        assert_string_equal(getenv_in(c->envp, "FOO"), "a=b c");
        assert_string_equal(getenv_in(c->envp, "TZ"), "Europe/Berlin");
        assert_string_equal(getenv_in(c->envp, "SSH_AUTH_SOCK"), AGENT_SSH_SOCK_PATH);
        assert_string_equal(getenv_in(c->envp, "HOME"), "/home/code");
        assert_string_equal(getenv_in(c->envp, "TERM"), "xterm");
        assert_string_equal(getenv_in(c->envp, "IS_SANDBOX"), "1");
        assert_null(getenv_in(c->envp, "SECRET"));
        assert_null(getenv_in(c->envp, "UNSET_ON_HOST"));
        const char *allowed[] = { "PATH",         "HOME",       "USER",
                                  "TERM",         "IS_SANDBOX", "ANTHROPIC_API_KEY",
                                  "GH_TOKEN",     "FOO",        "TZ",
                                  "SSH_AUTH_SOCK" };
        assert_int_equal(strv_length(c->envp), ELEMENTSOF(allowed));

        /* no ssh agent, no timezone: neither variable */
        struct agent_launch bare = { .session_id = "x", .host_environ = host };
        _cleanup_(agent_command_freep) struct agent_command *b = build(&bare);
        assert_null(getenv_in(b->envp, "SSH_AUTH_SOCK"));
        assert_null(getenv_in(b->envp, "TZ"));
        assert_null(getenv_in(b->envp, "ANTHROPIC_API_KEY"));

        /* an explicit TZ in [defaults] environment wins over [timezone] */
        struct config_env tz[] = { { .name = "TZ", .value = "Asia/Tokyo" } };
        struct agent_launch t = {
                .session_id = "x", .environment = tz, .n_environment = 1, .timezone = "UTC"
        };
        _cleanup_(agent_command_freep) struct agent_command *ct = build(&t);
        assert_string_equal(getenv_in(ct->envp, "TZ"), "Asia/Tokyo");

        struct config_env term[] = { { .name = "TERM", .value = "xterm-kitty" } };
        struct agent_launch k = {
                .session_id = "x", .term = "xterm-ghostty", .environment = term, .n_environment = 1
        };
        _cleanup_(agent_command_freep) struct agent_command *ck = build(&k);
        assert_string_equal(getenv_in(ck->envp, "TERM"), "xterm-256color");
        assert_string_equal(agent_sanitize_term("screen"), "screen");
        assert_string_equal(agent_sanitize_term(NULL), "xterm-256color");

        char *badfwd[] = { "A=B", NULL };
        struct agent_launch bf = { .session_id = "x", .forward_env = badfwd };
        struct agent_command *none = NULL;
        struct coi_error err = { 0 };
        assert_int_equal(agent_command_build(&bf, &none, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "A=B"));
}

static void test_timezone(void **state)
{
        struct coi_error err = { 0 };
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL, *f = NULL;
        assert_int_equal(agent_timezone("utc", NULL, NULL, NULL, &a, &err), 0);
        assert_string_equal(a, "UTC");
        assert_int_equal(agent_timezone("fixed", "America/New_York", NULL, NULL, &b, &err), 0);
        assert_string_equal(b, "America/New_York");
        char *none = NULL;
        assert_int_equal(agent_timezone("fixed", "../../etc/passwd", NULL, NULL, &none, &err), -EINVAL);
        assert_int_equal(agent_timezone("fixed", "", NULL, NULL, &none, &err), -EINVAL);
        assert_int_equal(agent_timezone("mars", NULL, NULL, NULL, &none, &err), -EINVAL);

        char *tzenv[] = { "TZ=:Europe/Paris", NULL };
        assert_int_equal(agent_timezone("host", NULL, tzenv, tmp, &c, &err), 0);
        assert_string_equal(c, "Europe/Paris");

        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/etc", tmp);
        assert_int_equal(mkdir(p, 0755), 0);
        char *empty[] = { NULL };
        assert_int_equal(agent_timezone("host", NULL, empty, tmp, &d, &err), 0);
        assert_string_equal(d, "UTC"); /* nothing to go by */
        snprintf(p, sizeof(p), "%s/etc/timezone", tmp);
        unit_put(p, "Africa/Cairo\n");
        assert_int_equal(agent_timezone("host", NULL, empty, tmp, &e, &err), 0);
        assert_string_equal(e, "Africa/Cairo");
        snprintf(p, sizeof(p), "%s/etc/localtime", tmp);
        assert_int_equal(symlink("/usr/share/zoneinfo/Australia/Sydney", p), 0);
        assert_int_equal(agent_timezone("host", NULL, empty, tmp, &f, &err), 0);
        assert_string_equal(f, "Australia/Sydney");
}

static void test_claude_conversation(void **state)
{
        _cleanup_free_ char *pd = agent_claude_project_dir("/home/u/my.proj");
        assert_string_equal(pd, "-home-u-my-proj");
        struct coi_error err = { 0 };
        char *id = (char *)"unset";
        assert_int_equal(agent_claude_find_conversation(tmp, "/workspace", &id, &err), 0);
        assert_null(id);
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/projects/-workspace", tmp);
        assert_int_equal(mkdir_p_at(AT_FDCWD, p, 0755, &err), 0);
        snprintf(p, sizeof(p), "%s/projects/-workspace/old.jsonl", tmp);
        unit_put(p, "{}");
        struct timespec t[2] = { { .tv_sec = 1000 }, { .tv_sec = 1000 } };
        assert_int_equal(utimensat(AT_FDCWD, p, t, 0), 0);
        snprintf(p, sizeof(p), "%s/projects/-workspace/new.jsonl", tmp);
        unit_put(p, "{}");
        snprintf(p, sizeof(p), "%s/projects/-workspace/notes.txt", tmp);
        unit_put(p, "x");
        assert_int_equal(agent_claude_find_conversation(tmp, "/workspace", &id, &err), 0);
        assert_string_equal(id, "new");
        free(id);
}

static void test_sandbox_settings(void **state)
{
        struct coi_error err = { 0 };
        _cleanup_free_ char *c = NULL, *ci = NULL, *o = NULL, *oi = NULL;
        assert_int_equal(agent_sandbox_settings("claude", "bypass", NULL, NULL, &c, &err), 0);
        assert_non_null(strstr(c, "\"defaultMode\": \"bypassPermissions\""));
        assert_non_null(strstr(c, "\"effortLevel\": \"medium\""));
        assert_int_equal(agent_sandbox_settings("claude", "interactive", "high", NULL, &ci, &err), 0);
        assert_null(strstr(ci, "bypassPermissions"));
        assert_non_null(strstr(ci, "\"effortLevel\": \"high\""));
        assert_int_equal(
                agent_sandbox_settings("opencode", NULL, NULL, "/home/code/SANDBOX_CONTEXT.md", &o, &err), 0);
        assert_non_null(strstr(o, "\"*\": \"allow\""));
        assert_non_null(strstr(o, "\"instructions\""));
        assert_non_null(strstr(o, "/home/code/SANDBOX_CONTEXT.md"));
        assert_int_equal(agent_sandbox_settings("opencode", "interactive", NULL, NULL, &oi, &err), 0);
        assert_null(strstr(oi, "allow"));
        assert_null(strstr(oi, "instructions"));
}

static void test_settings_merge_keeps_user_settings(void **state)
{
        struct coi_error err = { 0 };
        _cleanup_free_ char *m = NULL;
        const char *user = "{\"theme\": \"dark\", \"instructions\": [\"AGENTS.md\"], \"permission\": "
                           "{\"bash\": \"ask\"},"
                           " \"n\": 3, \"x\": null}";
        const char *ours =
                "{\"permission\": {\"*\": \"allow\"}, \"instructions\": [\"/h/SANDBOX_CONTEXT.md\", "
                "\"AGENTS.md\"]}";
        assert_int_equal(sandbox_settings_merge(user, ours, &m, &err), 0);
        assert_non_null(strstr(m, "\"theme\": \"dark\""));
        assert_non_null(strstr(m, "\"bash\": \"ask\""));
        assert_non_null(strstr(m, "\"*\": \"allow\""));
        assert_non_null(strstr(m, "\"n\": 3"));
        char *first = strstr(m, "AGENTS.md");
        assert_non_null(first);
        assert_null(strstr(first + 1, "AGENTS.md")); /* united, not duplicated */
        assert_non_null(strstr(m, "/h/SANDBOX_CONTEXT.md"));
        _cleanup_free_ char *e = NULL;
        assert_int_equal(sandbox_settings_merge(NULL, ours, &e, &err), 0);
        assert_non_null(strstr(e, "allow"));
        char *none = NULL;
        assert_int_equal(sandbox_settings_merge("[1]", ours, &none, &err), -EINVAL);
        assert_int_equal(sandbox_settings_merge("{broken", ours, &none, &err), -EINVAL);
}

static void test_context_render(void **state)
{
        char *prot[] = { ".git/hooks", ".vscode", NULL };
        char *fwd[] = { "GH_TOKEN", NULL };
        struct sandbox_context_info in = { .workspace = "/workspace",
                                           .home = "/home/code",
                                           .persistent = false,
                                           .network_mode = "restricted",
                                           .protected_paths = prot,
                                           .forwarded_env = fwd,
                                           .memory_limit = "2GiB",
                                           .max_duration = "2h",
                                           .tool = "claude",
                                           .container_name = "coi-abcdef12-1",
                                           .timezone = "Europe/Berlin" };
        struct coi_error err = { 0 };
        _cleanup_free_ char *md = NULL;
        assert_int_equal(sandbox_context_render(&in, &md, &err), 0);
        assert_true(startswith(md, "# COI Sandbox Environment"));
        assert_non_null(strstr(md, "| Workspace | /workspace |"));
        assert_non_null(strstr(md, "ephemeral"));
        assert_non_null(strstr(md, "restricted"));
        assert_non_null(strstr(md, "`.git/hooks`, `.vscode`"));
        assert_non_null(strstr(md, "`GH_TOKEN`"));
        assert_non_null(strstr(md, "2GiB memory"));
        assert_non_null(strstr(md, "after 2h"));
        assert_non_null(strstr(md, "Europe/Berlin"));
        assert_non_null(strstr(md, "coi-abcdef12-1"));

        char p1[PATH_MAX], p2[PATH_MAX];
        snprintf(p1, sizeof(p1), "%s/CONTEXT.md", tmp);
        unit_put(p1, "Use pnpm only.");
        snprintf(p2, sizeof(p2), "%s/custom.md", tmp);
        unit_put(p2, "# My sandbox\n");
        char *ctx[] = { p1, NULL };
        in.profile_context_files = ctx;
        in.persistent = true;
        _cleanup_free_ char *md2 = NULL;
        assert_int_equal(sandbox_context_render(&in, &md2, &err), 0);
        assert_non_null(strstr(md2, "persistent"));
        assert_non_null(strstr(md2, "Use pnpm only.\n"));
        assert_true(strstr(md2, "Use pnpm") > strstr(md2, "Limitations"));
        in.custom_file = p2;
        _cleanup_free_ char *md3 = NULL;
        assert_int_equal(sandbox_context_render(&in, &md3, &err), 0);
        assert_true(startswith(md3, "# My sandbox\n"));
        assert_null(strstr(md3, "COI Sandbox Environment"));
        assert_non_null(strstr(md3, "Use pnpm only."));
        char missing[PATH_MAX];
        snprintf(missing, sizeof(missing), "%s/nope.md", tmp);
        in.custom_file = missing;
        char *none = NULL;
        assert_int_equal(sandbox_context_render(&in, &none, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "nope.md"));
}

static void test_claude_md_block_is_replaced_not_stacked(void **state)
{
        struct coi_error err = { 0 };
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;
        assert_int_equal(sandbox_context_claude_md(NULL, "ctx v1\n", &a, &err), 0);
        assert_string_equal(a, SANDBOX_CONTEXT_BEGIN "\nctx v1\n" SANDBOX_CONTEXT_END "\n");
        const char *host = "# My rules\nBe terse.\n";
        _cleanup_free_ char *with_host = xasprintf("%s\n%s", host, a);
        assert_int_equal(sandbox_context_claude_md(with_host, "ctx v2", &b, &err), 0);
        assert_string_equal(b, "# My rules\nBe terse.\n\n" SANDBOX_CONTEXT_BEGIN
                               "\nctx v2\n" SANDBOX_CONTEXT_END "\n");
        assert_null(strstr(b, "ctx v1"));
        assert_int_equal(sandbox_context_claude_md(b, "ctx v3", &c, &err), 0);
        const char *first = strstr(c, SANDBOX_CONTEXT_BEGIN);
        assert_null(strstr(first + 1, SANDBOX_CONTEXT_BEGIN));
        assert_non_null(strstr(c, "Be terse."));
}

static char *slurp(const char *path)
{
        char *data = NULL;
        struct coi_error err = { 0 };
        if (read_file_at(AT_FDCWD, path, 0, &data, NULL, &err) < 0)
                fail_msg("%s", err.msg);
        return data;
}

/* The sandbox owns its home: links it planted are replaced, never written through. */
static void test_install_never_follows_the_sandboxs_links(void **state)
{
        char home[300], outside[300], p[400];
        snprintf(home, sizeof(home), "%s/home", tmp);
        snprintf(outside, sizeof(outside), "%s/outside", tmp);
        assert_int_equal(mkdir(home, 0755), 0);
        unit_put(outside, "host file\n");
        snprintf(p, sizeof(p), "%s/.claude", home);
        assert_int_equal(mkdir(p, 0700), 0);
        snprintf(p, sizeof(p), "%s/.claude/CLAUDE.md", home);
        assert_int_equal(symlink(outside, p), 0);
        snprintf(p, sizeof(p), "%s/" SANDBOX_CONTEXT_FILE, home);
        assert_int_equal(symlink(outside, p), 0);
        _cleanup_close_ int fd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct sandbox_context_files f = { .tool = "claude",
                                           .page = "the page\n",
                                           .link = true,
                                           .settings_overlay = "{\"a\": true}",
                                           .uid = getuid(),
                                           .gid = getgid() };
        struct coi_error err = { 0 };
        assert_int_equal(sandbox_context_install(fd, &f, &err), 0);
        _cleanup_free_ char *host = slurp(outside);
        assert_string_equal(host, "host file\n");
        snprintf(p, sizeof(p), "%s/" SANDBOX_CONTEXT_FILE, home);
        _cleanup_free_ char *page = slurp(p);
        assert_string_equal(page, "the page\n");
        snprintf(p, sizeof(p), "%s/.claude/CLAUDE.md", home);
        _cleanup_free_ char *md = slurp(p);
        assert_string_equal(md, SANDBOX_CONTEXT_BEGIN "\nthe page\n" SANDBOX_CONTEXT_END "\n");
        struct stat st;
        assert_int_equal(lstat(p, &st), 0);
        assert_true(S_ISREG(st.st_mode));

        /* A directory the sandbox replaced by a link is refused, not followed. */
        snprintf(p, sizeof(p), "%s/.config", home);
        assert_int_equal(symlink(tmp, p), 0);
        f.tool = "opencode";
        assert_int_not_equal(sandbox_context_install(fd, &f, &err), 0);
        snprintf(p, sizeof(p), "%s/opencode", tmp);
        assert_int_equal(access(p, F_OK), -1);
}

static void test_install_merges_opencode_settings(void **state)
{
        char home[300], p[400];
        snprintf(home, sizeof(home), "%s/home", tmp);
        assert_int_equal(mkdir(home, 0755), 0);
        snprintf(p, sizeof(p), "%s/.config", home);
        assert_int_equal(mkdir(p, 0755), 0);
        snprintf(p, sizeof(p), "%s/.config/opencode", home);
        assert_int_equal(mkdir(p, 0755), 0);
        snprintf(p, sizeof(p), "%s/.config/opencode/opencode.json", home);
        unit_put(p, "{\"theme\": \"x\", \"instructions\": [\"a.md\"]}");
        _cleanup_free_ char *overlay = NULL;
        struct coi_error err = { 0 };
        assert_int_equal(agent_sandbox_settings("opencode", NULL, NULL, "/home/code/" SANDBOX_CONTEXT_FILE,
                                                &overlay, &err),
                         0);
        _cleanup_close_ int fd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct sandbox_context_files f = { .tool = "opencode",
                                           .page = "p",
                                           .link = true,
                                           .settings_overlay = overlay,
                                           .uid = getuid(),
                                           .gid = getgid() };
        assert_int_equal(sandbox_context_install(fd, &f, &err), 0);
        _cleanup_free_ char *json = slurp(p);
        assert_non_null(strstr(json, "\"theme\": \"x\""));
        char *a = strstr(json, "\"a.md\""), *b = strstr(json, "\"/home/code/" SANDBOX_CONTEXT_FILE "\"");
        assert_true(a && b && a < b);
        /* No CLAUDE.md for opencode. */
        snprintf(p, sizeof(p), "%s/.claude", home);
        assert_int_equal(access(p, F_OK), -1);
}

/* A fake agent answering "pong" to each connection; the relay in between. */
static void test_ssh_relay_passes_connections_and_ends_with_the_container(void **state)
{
        char agent[100], relay[100], alive[300];
        snprintf(agent, sizeof(agent), "%.60s/agent.sock", tmp);
        snprintf(relay, sizeof(relay), "%.60s/relay/r.sock", tmp);
        snprintf(alive, sizeof(alive), "%s/alive", tmp);
        assert_int_equal(mkdir(alive, 0755), 0);
        char rdir[300];
        snprintf(rdir, sizeof(rdir), "%s/relay", tmp);
        assert_int_equal(mkdir(rdir, 0700), 0);
        int a = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", agent);
        assert_int_equal(bind(a, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(listen(a, 4), 0);
        pid_t fake = fork();
        if (fake == 0) {
                for (;;) {
                        int c = accept(a, NULL, NULL);
                        char buf[16];
                        if (c >= 0 && read(c, buf, sizeof(buf)) > 0 && write(c, "pong", 4) == 4)
                                close(c);
                }
        }
        pid_t relay_pid = 0;
        struct coi_error err = { 0 };
        assert_int_equal(agent_ssh_relay_start(agent, relay, getuid(), getgid(), alive, &relay_pid, &err), 0);
        struct stat st;
        assert_int_equal(stat(relay, &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
        assert_int_equal(st.st_mode & 0777, 0600);
        for (int i = 0; i < 2; i++) {
                int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", relay);
                assert_int_equal(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
                assert_int_equal(write(c, "ping", 4), 4);
                char buf[8] = { 0 };
                assert_int_equal(read(c, buf, 4), 4);
                assert_string_equal(buf, "pong");
                close(c);
        }
        /* The container's cgroup is gone: the relay removes its socket and directory, and exits. */
        assert_int_equal(rmdir(alive), 0);
        int status = -1;
        for (int i = 0; i < 50 && waitpid(relay_pid, &status, WNOHANG) == 0; i++)
                usleep(100 * 1000);
        assert_true(WIFEXITED(status));
        assert_int_equal(access(relay, F_OK), -1);
        assert_int_equal(access(rdir, F_OK), -1);
        kill(fake, SIGKILL);
        waitpid(fake, NULL, 0);
        close(a);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_claude_argv),
                cmocka_unit_test(test_argv_is_not_a_shell_string),
                cmocka_unit_test(test_opencode_and_debug),
                cmocka_unit_test(test_environment_is_exactly_what_is_configured),
                T(test_timezone),
                T(test_claude_conversation),
                cmocka_unit_test(test_sandbox_settings),
                cmocka_unit_test(test_settings_merge_keeps_user_settings),
                T(test_context_render),
                cmocka_unit_test(test_claude_md_block_is_replaced_not_stacked),
                T(test_install_never_follows_the_sandboxs_links),
                T(test_install_merges_opencode_settings),
                T(test_ssh_relay_passes_connections_and_ends_with_the_container),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
