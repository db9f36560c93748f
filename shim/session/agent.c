/* agent.c — the AI tool's command line and environment inside the sandbox, the timezone it is given,
 * the Claude conversation to resume, the settings that switch off its prompts, the SSH agent relay. */
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "json-util.h"
#include "agent.h"
#include "util.h"

extern char **environ;

void agent_command_free(struct agent_command *c)
{
        if (!c)
                return;
        strv_free(c->argv);
        strv_free(c->envp);
        free(c);
}

static bool env_name_valid(const char *name)
{
        if (!name || !*name || (name[0] >= '0' && name[0] <= '9'))
                return false;
        for (const char *p = name; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      *p == '_'))
                        return false;
        return true;
}

/* Sets NAME=VALUE in envp, replacing an earlier value of NAME. */
static int env_set(char ***envp, const char *name, const char *value)
{
        _cleanup_free_ char *entry = xasprintf("%s=%s", name, value);
        if (!entry)
                return -ENOMEM;
        size_t len = strlen(name);
        for (char **e = *envp; e && *e; e++)
                if (strncmp(*e, name, len) == 0 && (*e)[len] == '=') {
                        free(*e);
                        *e = TAKE_PTR(entry);
                        return 0;
                }
        return strv_push(envp, entry);
}

static int build_argv(const struct agent_launch *l, const char *tool, char ***argv, struct coi_error *err)
{
        const char *binary = l->binary && *l->binary ? l->binary : tool;
        bool has_model = l->model && *l->model;
        int r = 0;
        if (l->debug)
                return strv_push(argv, "bash");
        if (streq(tool, "claude")) {
                r = r ?: strv_push(argv, binary);
                r = r ?: strv_push(argv, "--verbose");
                if (!streq(l->permission_mode, "interactive")) {
                        r = r ?: strv_push(argv, "--permission-mode");
                        r = r ?: strv_push(argv, "bypassPermissions");
                }
                if (l->resume) {
                        r = r ?: strv_push(argv, "--resume");
                        if (l->resume_tool_id && *l->resume_tool_id)
                                r = r ?: strv_push(argv, l->resume_tool_id);
                } else {
                        if (!l->session_id || !*l->session_id)
                                return coi_error_set(err, EINVAL, "claude: a new session needs a session id");
                        r = r ?: strv_push(argv, "--session-id");
                        r = r ?: strv_push(argv, l->session_id);
                }
                if (has_model) {
                        r = r ?: strv_push(argv, "--model");
                        r = r ?: strv_push(argv, l->model);
                }
        } else {
                /* opencode keeps its sessions in its own database and has no resume flag; its permissions
                 * come from the settings file (agent_sandbox_settings). */
                r = r ?: strv_push(argv, binary);
                if (has_model) {
                        r = r ?: strv_push(argv, "--model");
                        r = r ?: strv_push(argv, l->model);
                }
        }
        return r < 0 ? coi_error_set(err, ENOMEM, "%s command: out of memory", tool) : 0;
}

/* Terminal types the container's terminfo may lack become xterm-256color (they all support it). */
const char *agent_sanitize_term(const char *term)
{
        static const char *const unknown[] = { "xterm-ghostty", "wezterm",       "alacritty",      "kitty",
                                               "xterm-kitty",   "tmux-256color", "screen-256color" };
        if (!term || !*term)
                return "xterm-256color";
        for (size_t i = 0; i < ELEMENTSOF(unknown); i++)
                if (startswith(term, unknown[i]))
                        return "xterm-256color";
        return term;
}

/* Same precedence as code-on-incus: the fixed variables, the agent socket, TZ, then [defaults]
 * environment (may override TZ), then forward_env (the host's value wins over a configured one). */
static int build_env(const struct agent_launch *l, char ***envp, struct coi_error *err)
{
        int r = 0;
        r = r ?: env_set(envp, "PATH", AGENT_DEFAULT_PATH);
        r = r ?: env_set(envp, "HOME", l->home ? l->home : "/home/code");
        r = r ?: env_set(envp, "USER", l->user ? l->user : "code");
        r = r ?: env_set(envp, "TERM", agent_sanitize_term(l->term));
        r = r ?: env_set(envp, "IS_SANDBOX", "1");
        if (l->ssh_agent)
                r = r ?: env_set(envp, "SSH_AUTH_SOCK", AGENT_SSH_SOCK_PATH);
        if (l->timezone && *l->timezone)
                r = r ?: env_set(envp, "TZ", l->timezone);
        if (r < 0)
                return coi_error_set(err, ENOMEM, "environment: out of memory");
        for (size_t i = 0; i < l->n_environment; i++) {
                const struct config_env *e = &l->environment[i];
                if (!env_name_valid(e->name))
                        return coi_error_set(err, EINVAL,
                                             "[defaults] environment: \"%s\" is not a variable name",
                                             e->name ? e->name : "");
                if (env_set(envp, e->name, e->value ? e->value : "") < 0)
                        return coi_error_set(err, ENOMEM, "environment: out of memory");
        }
        for (char *const *n = l->forward_env; n && *n; n++) {
                if (!env_name_valid(*n))
                        return coi_error_set(err, EINVAL, "forward_env: \"%s\" is not a variable name", *n);
                const char *v = env_get(l->host_environ, *n);
                if (v && env_set(envp, *n, v) < 0)
                        return coi_error_set(err, ENOMEM, "environment: out of memory");
        }
        /* A TERM set in [defaults] environment is sanitized too. */
        for (char **e = *envp; e && *e; e++)
                if (startswith(*e, "TERM=") && !streq(agent_sanitize_term(*e + 5), *e + 5) &&
                    env_set(envp, "TERM", "xterm-256color") < 0)
                        return coi_error_set(err, ENOMEM, "environment: out of memory");
        return 0;
}

int agent_command_build(const struct agent_launch *l, struct agent_command **ret, struct coi_error *err)
{
        const char *tool = l->tool && *l->tool ? l->tool : "claude";
        if (!streq(tool, "claude") && !streq(tool, "opencode"))
                return coi_error_set(err, EINVAL, "unknown tool \"%s\" (known: claude, opencode)", tool);
        if (l->permission_mode && !streq(l->permission_mode, "bypass") &&
            !streq(l->permission_mode, "interactive"))
                return coi_error_set(err, EINVAL, "permission_mode \"%s\": expected bypass or interactive",
                                     l->permission_mode);
        struct agent_launch copy = *l;
        if (!copy.permission_mode)
                copy.permission_mode = "bypass";
        _cleanup_(agent_command_freep) struct agent_command *c = calloc(1, sizeof(*c));
        if (!c)
                return coi_error_set(err, ENOMEM, "%s command: out of memory", tool);
        int r = build_argv(&copy, tool, &c->argv, err);
        if (r < 0)
                return r;
        if ((r = build_env(&copy, &c->envp, err)) < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

int agent_environment(const struct agent_launch *l, char ***ret, struct coi_error *err)
{
        _cleanup_strv_ char **envp = NULL;
        int r = build_env(l, &envp, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(envp);
        return 0;
}

/* ---- timezone ---- */

static bool tz_name_valid(const char *s)
{
        if (!s || !*s || s[0] == '/' || strstr(s, "..") || strlen(s) > 128)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      *p == '_' || *p == '-' || *p == '+' || *p == '/'))
                        return false;
        return true;
}

int agent_timezone(const char *mode, const char *name, char *const *host_environ, const char *root,
                   char **ret, struct coi_error *err)
{
        if (!root)
                root = "";
        if (!mode || !*mode)
                mode = "host";
        if (streq(mode, "utc")) {
                *ret = strdup("UTC");
        } else if (streq(mode, "fixed")) {
                if (!tz_name_valid(name))
                        return coi_error_set(err, EINVAL,
                                             "[timezone] name \"%s\" is not a zone name like "
                                             "Europe/Berlin",
                                             name ? name : "");
                *ret = strdup(name);
        } else if (streq(mode, "host")) {
                const char *tz = env_get(host_environ, "TZ");
                if (tz && *tz == ':')
                        tz++;
                _cleanup_free_ char *found = NULL;
                if (tz && tz_name_valid(tz))
                        found = strdup(tz);
                if (!found) {
                        _cleanup_free_ char *lt = xasprintf("%s/etc/localtime", root);
                        char target[PATH_MAX];
                        ssize_t n = lt ? readlink(lt, target, sizeof(target) - 1) : -1;
                        if (n > 0) {
                                target[n] = '\0';
                                const char *z = strstr(target, "zoneinfo/");
                                if (z && tz_name_valid(z + strlen("zoneinfo/")))
                                        found = strdup(z + strlen("zoneinfo/"));
                        }
                }
                if (!found) {
                        _cleanup_free_ char *tf = xasprintf("%s/etc/timezone", root);
                        _cleanup_free_ char *data = NULL;
                        struct coi_error ignore = { 0 };
                        if (tf && read_file_at(AT_FDCWD, tf, 4096, &data, NULL, &ignore) == 0) {
                                data[strcspn(data, "\r\n")] = '\0';
                                if (tz_name_valid(data))
                                        found = TAKE_PTR(data);
                        }
                }
                *ret = found ? TAKE_PTR(found) : strdup("UTC");
        } else {
                return coi_error_set(err, EINVAL, "[timezone] mode \"%s\": expected host, fixed or utc",
                                     mode);
        }
        return *ret ? 0 : coi_error_set(err, ENOMEM, "timezone: out of memory");
}

/* ---- Claude conversations ---- */

char *agent_claude_project_dir(const char *container_workspace)
{
        char *s = strdup(container_workspace);
        for (char *p = s; p && *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
                        *p = '-';
        return s;
}

int agent_claude_find_conversation(const char *state_dir, const char *container_workspace, char **ret,
                                   struct coi_error *err)
{
        _cleanup_free_ char *proj = agent_claude_project_dir(container_workspace);
        _cleanup_free_ char *path = proj ? xasprintf("%s/projects/%s", state_dir, proj) : NULL;
        if (!path)
                return coi_error_set(err, ENOMEM, "claude conversation: out of memory");
        *ret = NULL;
        _cleanup_close_ int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return errno == ENOENT || errno == ENOTDIR ? 0 : coi_error_set(err, errno, "%s: %m", path);
        _cleanup_closedir_ DIR *d = fdopendir(dup(dfd));
        if (!d)
                return coi_error_set(err, errno, "%s: %m", path);
        _cleanup_free_ char *best = NULL;
        struct timespec best_t = { 0 };
        for (struct dirent *de; (de = readdir(d));) {
                size_t n = strlen(de->d_name);
                if (n <= 6 || de->d_name[0] == '.' || !streq(de->d_name + n - 6, ".jsonl"))
                        continue;
                struct stat st;
                if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                        continue;
                bool newer = !best || st.st_mtim.tv_sec > best_t.tv_sec ||
                             (st.st_mtim.tv_sec == best_t.tv_sec && st.st_mtim.tv_nsec > best_t.tv_nsec);
                if (!newer)
                        continue;
                free(best);
                best = strndup(de->d_name, n - 6);
                best_t = st.st_mtim;
                if (!best) {
                        return coi_error_set(err, ENOMEM, "claude conversation: out of memory");
                }
        }
        *ret = TAKE_PTR(best);
        return 0;
}

/* ---- sandbox settings ---- */

static int gs(yajl_gen g, const char *s)
{
        return yajl_gen_string(g, (const unsigned char *)s, strlen(s)) == yajl_gen_status_ok ? 0 : -ENOMEM;
}
static int gb(yajl_gen g, bool b)
{
        return yajl_gen_bool(g, b) == yajl_gen_status_ok ? 0 : -ENOMEM;
}
static int gopen(yajl_gen g)
{
        return yajl_gen_map_open(g) == yajl_gen_status_ok ? 0 : -ENOMEM;
}
static int gclose(yajl_gen g)
{
        return yajl_gen_map_close(g) == yajl_gen_status_ok ? 0 : -ENOMEM;
}

int agent_sandbox_settings(const char *tool, const char *permission_mode, const char *effort_level,
                           const char *context_path, char **ret_json, struct coi_error *err)
{
        bool bypass = !permission_mode || !streq(permission_mode, "interactive");
        _cleanup_(yajl_gen_freep) yajl_gen g = yajl_gen_alloc(NULL);
        if (!g)
                return coi_error_set(err, ENOMEM, "sandbox settings: out of memory");
        yajl_gen_config(g, yajl_gen_beautify, 1);
        yajl_gen_config(g, yajl_gen_indent_string, "  ");
        int r = gopen(g);
        if (streq(tool, "claude")) {
                const char *effort = effort_level && *effort_level ? effort_level : "medium";
                if (bypass) {
                        r = r ?: gs(g, "allowDangerouslySkipPermissions") ?: gb(g, true);
                        r = r ?: gs(g, "bypassPermissionsModeAccepted") ?: gb(g, true);
                        r = r ?: gs(g, "permissions") ?: gopen(g);
                        r = r ?: gs(g, "defaultMode") ?: gs(g, "bypassPermissions");
                        r = r ?: gclose(g);
                }
                r = r ?: gs(g, "effortLevel") ?: gs(g, effort);
                r = r ?: gs(g, "env") ?: gopen(g);
                r = r ?: gs(g, "CLAUDE_CODE_EFFORT_LEVEL") ?: gs(g, effort);
                r = r ?: gclose(g);
        } else if (streq(tool, "opencode")) {
                if (bypass) {
                        r = r ?: gs(g, "permission") ?: gopen(g);
                        r = r ?: gs(g, "*") ?: gs(g, "allow");
                        r = r ?: gclose(g);
                }
                if (context_path && *context_path) {
                        r = r ?: gs(g, "instructions");
                        r = r ?: (yajl_gen_array_open(g) == yajl_gen_status_ok ? 0 : -ENOMEM);
                        r = r ?: gs(g, context_path);
                        r = r ?: (yajl_gen_array_close(g) == yajl_gen_status_ok ? 0 : -ENOMEM);
                }
        } else {
                return coi_error_set(err, EINVAL, "unknown tool \"%s\" (known: claude, opencode)", tool);
        }
        r = r ?: gclose(g);
        const unsigned char *buf;
        size_t len;
        if (r < 0 || yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
                return coi_error_set(err, ENOMEM, "sandbox settings: cannot generate JSON");
        *ret_json = strndup((const char *)buf, len);
        return *ret_json ? 0 : coi_error_set(err, ENOMEM, "sandbox settings: out of memory");
}

/* ---- SSH agent relay ---- */

static volatile sig_atomic_t relay_stop;

static void relay_on_term(int sig)
{
        (void)sig;
        relay_stop = 1;
}

/* One connection: to the agent as uid:gid, bytes both ways until both sides are done. Never returns. */
static void relay_connection(int client, const char *agent_path, uid_t uid, gid_t gid)
{
        if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
                _exit(1);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", agent_path);
        int agent = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (agent < 0 || connect(agent, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                _exit(1);
        int fds[2] = { client, agent };
        bool open_[2] = { true, true };
        char buf[16384];
        while (open_[0] || open_[1]) {
                struct pollfd p[2] = { { .fd = open_[0] ? fds[0] : -1, .events = POLLIN },
                                       { .fd = open_[1] ? fds[1] : -1, .events = POLLIN } };
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        _exit(1);
                }
                for (int i = 0; i < 2; i++) {
                        if (!open_[i] || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        ssize_t n = read(fds[i], buf, sizeof(buf));
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0) {
                                open_[i] = false;
                                shutdown(fds[1 - i], SHUT_WR);
                                continue;
                        }
                        if (write_all(fds[1 - i], buf, (size_t)n) < 0)
                                _exit(0);
                }
        }
        _exit(0);
}

/* The relay's loop (in its own process): accept, fork a connection, watch alive_path. Never returns. */
static void relay_loop(int lfd, const char *agent_path, const char *listen_path, uid_t uid, gid_t gid,
                       const char *alive_path)
{
        struct sigaction sa = { .sa_handler = relay_on_term };
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGINT, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        signal(SIGPIPE, SIG_IGN);
        signal(SIGCHLD, SIG_IGN); /* connections are reaped by the kernel */
        struct timespec start;
        clock_gettime(CLOCK_MONOTONIC, &start);
        bool seen = false;
        while (!relay_stop) {
                bool alive = access(alive_path, F_OK) == 0;
                struct timespec now;
                clock_gettime(CLOCK_MONOTONIC, &now);
                if ((seen && !alive) || (!seen && !alive && now.tv_sec - start.tv_sec > 60))
                        break;
                seen = seen || alive;
                struct pollfd p = { .fd = lfd, .events = POLLIN };
                if (poll(&p, 1, 1000) <= 0)
                        continue;
                int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0)
                        continue;
                pid_t pid = fork();
                if (pid == 0) {
                        close(lfd);
                        relay_connection(c, agent_path, uid, gid);
                }
                close(c);
        }
        unlink(listen_path);
        _cleanup_free_ char *dir = strdup(listen_path);
        if (dir)
                rmdir(dirname(dir)); /* the session's directory for it, when empty */
        _exit(0);
}

int agent_ssh_relay_start(const char *agent_path, const char *listen_path, uid_t uid, gid_t gid,
                          const char *alive_path, pid_t *ret_pid, struct coi_error *err)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(listen_path) >= sizeof(sa.sun_path) || strlen(agent_path) >= sizeof(sa.sun_path))
                return coi_error_set(err, ENAMETOOLONG, "SSH agent relay: socket path too long");
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", listen_path);
        _cleanup_close_ int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (lfd < 0)
                return coi_error_set(err, errno, "SSH agent relay: socket: %m");
        unlink(listen_path);
        if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return coi_error_set(err, errno, "SSH agent relay: bind %s: %m", listen_path);
        if (chown(listen_path, uid, gid) < 0 || chmod(listen_path, 0600) < 0 || listen(lfd, 16) < 0) {
                int e = errno;
                unlink(listen_path);
                return coi_error_set(err, e, "SSH agent relay: %s: %m", listen_path);
        }
        pid_t pid = fork();
        if (pid < 0) {
                int e = errno;
                unlink(listen_path);
                return coi_error_set(err, e, "SSH agent relay: fork: %m");
        }
        if (pid == 0) {
                /* Detached: it outlives a `coi shell` that detaches, and holds none of our fds (a pipe
                 * of whoever runs coi would otherwise stay open). */
                setsid();
                int high = fcntl(lfd, F_DUPFD_CLOEXEC, 10);
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (high < 0 || null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
                        _exit(1);
                int keep = dup2(high, 3);
                if (keep < 0)
                        _exit(1);
                close_range(4, ~0u, 0);
                relay_loop(keep, agent_path, listen_path, uid, gid, alive_path);
        }
        *ret_pid = pid;
        return 0;
}

void agent_ssh_relay_stop(pid_t pid)
{
        if (pid <= 0)
                return;
        kill(pid, SIGTERM);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}
