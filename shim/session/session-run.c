/* session-run.c — the flow shared by `coi shell` and `coi run`: config, workspace, slot, the container
 * with its workspace and protected mounts and network, state and credentials in and out, stop. */
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "agent.h"
#include "placeholders.h"
#include "container/container-limits.h"
#include "container/seccomp-profile.h"
#include "sandbox-context.h"
#include "monitor/monitor.h"
#include "session-run.h"
#include "slots.h"
#include "util.h"

/* ---- small helpers ------------------------------------------------------------------------------- */

char *session_host_home(void)
{
        const char *sudo_user = getenv("SUDO_USER");
        if (getuid() == 0 && sudo_user && *sudo_user) {
                struct passwd *pw = getpwnam(sudo_user);
                if (pw && pw->pw_dir)
                        return strdup(pw->pw_dir);
        }
        const char *home = getenv("HOME");
        if (home && *home)
                return strdup(home);
        struct passwd *pw = getpwuid(getuid());
        return strdup(pw && pw->pw_dir ? pw->pw_dir : "/root");
}

char *session_dir_for_tool(const struct config *cfg, const char *tool)
{
        _cleanup_free_ char *copy =
                strdup(cfg->paths.sessions_dir ? cfg->paths.sessions_dir : "/root/.coi/sessions");
        if (!copy)
                return NULL;
        return sessions_dir_for(dirname(copy), tool);
}

char **session_code_env(const char *term)
{
        _cleanup_strv_ char **env = NULL;
        _cleanup_free_ char *t = xasprintf("TERM=%s", agent_sanitize_term(term ? term : ""));
        int r = t ? 0 : -ENOMEM;
        r = r ?: strv_push(&env, "PATH=" AGENT_DEFAULT_PATH);
        r = r ?: strv_push(&env, "HOME=" SESSION_CODE_HOME);
        r = r ?: strv_push(&env, "USER=code");
        r = r ?: strv_push(&env, t);
        r = r ?: strv_push(&env, "IS_SANDBOX=1");
        r = r ?: strv_push(&env, "container=coi");
        r = r ?: strv_push(&env, SESSION_TMUX_TMPDIR);
        return r < 0 ? NULL : TAKE_PTR(env);
}

void session_agent_launch(const struct session *s, struct agent_launch *al)
{
        al->home = SESSION_CODE_HOME;
        al->user = s->code_user;
        al->forward_env = s->cfg->defaults.forward_env;
        al->environment = s->cfg->defaults.environment;
        al->n_environment = s->cfg->defaults.n_environment;
        al->timezone = s->timezone;
        al->ssh_agent = s->ssh_agent;
}

/* Copies regular files and directories of src into dst (created, owned uid:gid); symlinks, devices,
 * fifos and sockets are skipped, nothing is followed: the source may be written by the sandbox. */
int session_copy_tree(int src, int dst, uid_t uid, gid_t gid, int depth, struct coi_error *err)
{
        if (depth > 64)
                return coi_error_set(err, ELOOP, "copy: directories nested too deep");
        int sfd = dup(src);
        if (sfd < 0)
                return coi_error_set(err, errno, "dup: %m");
        _cleanup_closedir_ DIR *d = fdopendir(sfd);
        if (!d) {
                close(sfd);
                return coi_error_set(err, errno, "opendir: %m");
        }
        int r = 0;
        struct dirent *de;
        while (r == 0 && (de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                struct stat st;
                if (fstatat(src, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        if (mkdirat(dst, de->d_name, 0700) < 0 && errno != EEXIST) {
                                r = coi_error_set(err, errno, "mkdir %s: %m", de->d_name);
                                break;
                        }
                        _cleanup_close_ int s2 =
                                openat(src, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        _cleanup_close_ int d2 =
                                openat(dst, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (s2 < 0 || d2 < 0) {
                                r = coi_error_set(err, errno, "open directory %s: %m", de->d_name);
                                break;
                        }
                        if (fchown(d2, uid, gid) < 0 || fchmod(d2, st.st_mode & 0777) < 0) {
                                r = coi_error_set(err, errno, "chown %s: %m", de->d_name);
                                break;
                        }
                        r = session_copy_tree(s2, d2, uid, gid, depth + 1, err);
                } else if (S_ISREG(st.st_mode)) {
                        _cleanup_close_ int in = openat(src, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                        if (in < 0)
                                continue;
                        unlinkat(dst, de->d_name, 0);
                        _cleanup_close_ int out =
                                openat(dst, de->d_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                                       st.st_mode & 0777);
                        if (out < 0) {
                                r = coi_error_set(err, errno, "create %s: %m", de->d_name);
                                break;
                        }
                        char buf[65536];
                        ssize_t n;
                        while ((n = read(in, buf, sizeof(buf))) > 0)
                                if (write_all(out, buf, (size_t)n) < 0) {
                                        r = coi_error_set(err, errno, "write %s: %m", de->d_name);
                                        break;
                                }
                        if (r == 0 && fchown(out, uid, gid) < 0)
                                r = coi_error_set(err, errno, "chown %s: %m", de->d_name);
                }
        }
        return r;
}

/* The tool's state directory relative to the home: what a saved session holds. */
static const char *tool_state_dir(const char *tool)
{
        return streq(tool, "opencode") ? ".local/share/opencode" : ".claude";
}

/* ---- network ------------------------------------------------------------------------------------- */

/* The container's network from [network] (and --network), said on stderr as code-on-incus says it. */
static int network_options(const struct session_flags *f, const struct config *cfg,
                           struct container_network *ret, struct coi_error *err)
{
        const char *mode = f->network ? f->network : cfg->network.mode;
        struct net_policy p = { .allow_local_network_access = cfg->network.allow_local_network_access };
        if (net_mode_from_string(mode ? mode : "restricted", &p.mode) < 0)
                return coi_error_set(err, EINVAL, "unknown network mode: %s", mode);
        /* open means no restrictions (code-on-incus): the block_* switches count there only when the user
         * set them, not as their defaults (true, for restricted mode's sake). */
        const char *o_meta = config_origin(cfg, "network.block_metadata_endpoint");
        const char *o_priv = config_origin(cfg, "network.block_private_networks");
        p.block_metadata_endpoint =
                cfg->network.block_metadata_endpoint && o_meta && !streq(o_meta, "default");
        p.block_private_networks = cfg->network.block_private_networks && o_priv && !streq(o_priv, "default");
        *ret = (struct container_network){ .policy = p };
        switch (p.mode) {
        case NET_MODE_OPEN:
                fprintf(stderr, "Network mode: open (no restrictions)\n");
                break;
        case NET_MODE_RESTRICTED:
                fprintf(stderr, "Network mode: restricted (blocking local/internal networks)\n");
                break;
        case NET_MODE_ALLOWLIST:
                if (strv_length(cfg->network.allowed_domains) == 0)
                        return coi_error_set(err, EINVAL,
                                             "allowlist mode requires at least one allowed domain");
                fprintf(stderr, "Network mode: allowlist (domain-based filtering)\n");
                ret->allowed = cfg->network.allowed_domains;
                break;
        }
        return 0;
}

/* ---- start --------------------------------------------------------------------------------------- */

static int slot_state_cb(const char *name, enum slot_state *ret, void *userdata, struct coi_error *err)
{
        struct container_store *store = userdata;
        _cleanup_(container_info_freep) struct container_info *info = NULL;
        struct coi_error e = { 0 };
        int r = container_info_get(store, name, &info, &e);
        if (r == -ENOENT) {
                *ret = SLOT_FREE;
                return 0;
        }
        if (r < 0) {
                *err = e;
                return r;
        }
        *ret = streq(info->status, "stopped") ? SLOT_STOPPED : SLOT_RUNNING;
        return 0;
}

void session_free(struct session *s)
{
        if (!s)
                return;
        config_free(s->cfg);
        workspace_free(s->ws);
        container_store_free(s->store);
        protected_list_free(s->prot);
        free(s->name);
        free(s->target);
        free(s->tool);
        free(s->sessions_dir);
        free(s->code_user);
        free(s->network_mode);
        free(s->timezone);
        free(s);
}

/* Creates a missing protected path's placeholder (a directory, or an empty file) with its missing
 * parents, owned by the workspace owner; records the topmost created path for removal at the end. */
static int make_placeholder(struct session *s, const struct protected_mount *pm, struct coi_error *err)
{
        _cleanup_free_ char *p = strdup(pm->host);
        if (!p)
                return coi_error_set(err, ENOMEM, "%s: %m", pm->host);
        /* Recorded before it exists: a kill at any later point leaves `coi clean` the path to remove. */
        if (pm->first_missing) {
                char hash[9];
                workspace_hash(s->ws->path, hash);
                int r = placeholder_note(s->store, hash, pm->first_missing, err);
                if (r < 0)
                        return r;
        }
        /* Parents: every component after the workspace root. */
        /* Walk from below the workspace root (or from / for a worktree's git directory elsewhere). */
        size_t rl = strlen(s->ws->real_path);
        bool inside = strncmp(p, s->ws->real_path, rl) == 0 && p[rl] == '/';
        for (char *slash = strchr(inside ? p + rl + 1 : p + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
                *slash = '\0';
                if (mkdir(p, 0755) == 0) {
                        if (lchown(p, s->ws->uid, s->ws->gid) < 0)
                                return coi_error_set(err, errno, "chown %s: %m", p);
                } else if (errno != EEXIST) {
                        return coi_error_set(err, errno, "create %s: %m", p);
                }
                *slash = '/';
        }
        if (pm->kind == PROTECT_DIR) {
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return coi_error_set(err, errno, "create %s: %m", p);
        } else {
                _cleanup_close_ int fd = open(p, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (fd < 0)
                        return coi_error_set(err, errno, "create %s: %m", p);
        }
        if (lchown(p, s->ws->uid, s->ws->gid) < 0)
                return coi_error_set(err, errno, "chown %s: %m", p);
        return 0;
}

/* The placeholders go, unless another running session of this workspace has them mounted. */
static void drop_placeholders(struct session *s)
{
        for (int slot = 1; slot <= SLOT_MAX; slot++) {
                _cleanup_free_ char *other = workspace_container_name(s->ws->path, slot, NULL);
                enum slot_state st = SLOT_FREE;
                struct coi_error e = { 0 };
                if (other && (!s->name || !streq(other, s->name)) &&
                    slot_state_cb(other, &st, s->store, &e) == 0 && st == SLOT_RUNNING)
                        return;
        }
        char hash[9];
        workspace_hash(s->ws->path, hash);
        placeholders_release(s->store, hash);
}

/* ~/SANDBOX_CONTEXT.md from the session's facts, linked into the tool unless [tool] auto_context = false,
 * and the tool's sandbox settings. A context file the user named that is missing fails the session;
 * a home file that cannot be written (an opencode.json with comments) is a warning. */
static int install_context(struct session *s, int home, uid_t cu, gid_t cg, struct coi_error *err)
{
        const struct config *c = s->cfg;
        _cleanup_strv_ char **prot = NULL, **fwd = NULL, **extra = NULL;
        int r = 0;
        for (size_t i = 0; r == 0 && i < s->prot->n; i++)
                r = strv_push(&prot, s->prot->v[i].rel);
        for (char **e = c->defaults.forward_env; r == 0 && e && *e; e++)
                if (getenv(*e))
                        r = strv_push(&fwd, *e);
        for (size_t i = 0; r == 0 && i < c->mounts.n_default; i++)
                r = strv_push(&extra, c->mounts.default_[i].container);
        if (r < 0)
                return coi_error_set(err, ENOMEM, "sandbox context: %m");
        struct sandbox_context_info info = { .workspace = s->target,
                                             .home = SESSION_CODE_HOME,
                                             .user = s->code_user,
                                             .persistent = s->persistent,
                                             .network_mode = s->network_mode,
                                             .ssh_agent = s->ssh_agent,
                                             .protected_paths = prot,
                                             .forwarded_env = fwd,
                                             .extra_mounts = extra,
                                             .timezone = s->timezone,
                                             .cpu_limit = c->limits.cpu.count,
                                             .memory_limit = c->limits.memory.limit,
                                             .max_duration = c->limits.runtime.max_duration,
                                             .tool = s->tool,
                                             .container_name = s->name,
                                             .custom_file = c->tool.context_file,
                                             .profile_context_files = c->context_files };
        _cleanup_free_ char *page = NULL, *settings = NULL;
        r = sandbox_context_render(&info, &page, err);
        if (r < 0)
                return coi_error_prefix(err, "sandbox context: ");
        bool known = streq(s->tool, "claude") || streq(s->tool, "opencode");
        const char *link = c->tool.auto_context ? SESSION_CODE_HOME "/" SANDBOX_CONTEXT_FILE : NULL;
        if (known) {
                r = agent_sandbox_settings(s->tool, c->tool.permission_mode, c->tool.claude.effort_level,
                                           link, &settings, err);
                if (r < 0)
                        return r;
        }
        struct sandbox_context_files f = { .tool = s->tool,
                                           .page = page,
                                           .link = link != NULL,
                                           .settings_overlay = settings,
                                           .uid = cu,
                                           .gid = cg };
        struct coi_error e = { 0 };
        if (sandbox_context_install(home, &f, &e) < 0)
                fprintf(stderr, "Warning: sandbox context: %s\n", e.msg);
        return 0;
}

static int copy_in(struct session *s, const char *resume_dir, struct coi_error *err)
{
        _cleanup_free_ char *rootfs = container_rootfs_path(s->store, s->name);
        if (!rootfs)
                return coi_error_set(err, ENOMEM, "rootfs: %m");
        _cleanup_close_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return coi_error_set(err, errno, "open %s: %m", rootfs);
        uid_t cu = s->ids.uid + s->code_uid;
        gid_t cg = s->ids.gid + s->code_gid;
        _cleanup_close_ int home = -1;
        int r = sandbox_mkdirs_at(rootfd, &SESSION_CODE_HOME[1], cu, cg, &home, err);
        if (r < 0)
                return r;
        if (resume_dir) {
                _cleanup_free_ char *src = xasprintf("%s/%s", resume_dir, tool_state_dir(s->tool));
                _cleanup_close_ int sfd =
                        src ? open(src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
                if (sfd >= 0) {
                        _cleanup_close_ int dfd = -1;
                        r = sandbox_mkdirs_at(home, tool_state_dir(s->tool), cu, cg, &dfd, err);
                        r = r ?: session_copy_tree(sfd, dfd, cu, cg, 0, err);
                        if (r < 0)
                                return coi_error_prefix(err, "restore session %s: ", s->id);
                        s->resumed = true;
                }
        }
        _cleanup_free_ char *host_home = session_host_home();
        struct credential_file *cf = NULL;
        size_t n = 0;
        r = host_home ? credential_files(s->tool, host_home, &cf, &n, err)
                      : coi_error_set(err, ENOMEM, "home: %m");
        if (r < 0)
                return r;
        for (size_t i = 0; r == 0 && i < n; i++) {
                _cleanup_close_ int in = open(cf[i].host, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                struct stat st;
                if (in < 0 || fstat(in, &st) < 0 || !S_ISREG(st.st_mode))
                        continue;
                _cleanup_free_ char *rel = strdup(cf[i].container_rel);
                if (!rel) {
                        r = coi_error_set(err, ENOMEM, "credentials: %m");
                        break;
                }
                char *slash = strrchr(rel, '/');
                const char *base = rel;
                _cleanup_close_ int dfd = -1;
                if (slash) {
                        *slash = '\0';
                        base = slash + 1;
                        r = sandbox_mkdirs_at(home, rel, cu, cg, &dfd, err);
                } else {
                        dfd = dup(home);
                }
                if (r < 0 || dfd < 0)
                        break;
                unlinkat(dfd, base, 0);
                _cleanup_close_ int out =
                        openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                               cf[i].secret ? 0600 : 0644);
                if (out < 0) {
                        r = coi_error_set(err, errno, "copy %s into the container: %m", cf[i].host);
                        break;
                }
                char buf[65536];
                ssize_t k;
                while ((k = read(in, buf, sizeof(buf))) > 0)
                        if (write_all(out, buf, (size_t)k) < 0)
                                break;
                if (fchown(out, cu, cg) < 0)
                        r = coi_error_set(err, errno, "chown %s: %m", cf[i].container_rel);
        }
        credential_files_free(cf, n);
        return r ?: install_context(s, home, cu, cg, err);
}

/* [ssh] forward_agent: the invoking user's agent socket ($SSH_AUTH_SOCK), relayed into the sandbox (see
 * agent_ssh_relay_start). Only a socket of the workspace owner: under sudo, $SSH_AUTH_SOCK must not hand
 * the sandbox another user's (or root's) socket. 1 and the resolved path, or 0 after saying why. */
static int ssh_agent_socket(const struct session *s, char **ret)
{
        if (!s->cfg->ssh.forward_agent)
                return 0;
        const char *sock = getenv("SSH_AUTH_SOCK");
        _cleanup_free_ char *real = sock && *sock ? realpath(sock, NULL) : NULL;
        struct stat st;
        const char *why = !sock || !*sock                 ? "SSH_AUTH_SOCK is not set"
                          : !real || lstat(real, &st) < 0 ? "SSH_AUTH_SOCK names nothing"
                          : !S_ISSOCK(st.st_mode)         ? "SSH_AUTH_SOCK is not a socket"
                          : st.st_uid != s->ws->uid       ? "the SSH_AUTH_SOCK socket is not yours"
                                                          : NULL;
        if (why) {
                fprintf(stderr, "Warning: SSH agent forwarding is enabled but %s; continuing without it\n",
                        why);
                return 0;
        }
        *ret = TAKE_PTR(real);
        return 1;
}

/* A resumed persistent session whose container of this workspace still runs continues there (as `coi
 * attach` would): nothing is launched or copied in. 1 if so, 0 if the container does not run. */
static int continue_running(struct session *s, const struct session_meta *meta, struct coi_error *err)
{
        if (!meta->persistent || !meta->container_name)
                return 0;
        _cleanup_free_ char *expected = workspace_container_name(s->ws->path, meta->slot, NULL);
        _cleanup_(container_info_freep) struct container_info *info = NULL;
        struct coi_error e = { 0 };
        if (!expected || !streq(expected, meta->container_name) ||
            container_info_get(s->store, meta->container_name, &info, &e) < 0 ||
            !streq(info->status, "running"))
                return 0;
        s->name = strdup(meta->container_name);
        if (!s->name)
                return coi_error_set(err, ENOMEM, "session: %m");
        s->slot = meta->slot;
        s->reused = s->resumed = s->running = true;
        fprintf(stderr, "Session %s is still running in container %s: attaching\n", s->id, s->name);
        int r = container_ids(s->store, s->name, &s->ids, err);
        return r < 0 ? r : 1;
}

/* Step 1: the configuration (with --env and --mount), the workspace, the store, the tool and the code
 * user, persistence, the time zone. */
static int load_settings(struct session *s, const struct session_flags *f, struct coi_error *err)
{
        struct config_load_options lo = { .profile = f->profile };
        int r = config_load(&lo, &s->cfg, err);
        for (char **e = f->env; r == 0 && e && *e; e++)
                r = config_set_from_flag(s->cfg, "defaults.environment", *e, "--env", err);
        for (char **m = f->mounts; r == 0 && m && *m; m++)
                r = config_set_from_flag(s->cfg, "mounts.default", *m, "--mount", err);
        for (char **k = f->settings; r == 0 && k && k[0] && k[1] && k[2]; k += 3)
                r = config_set_from_flag(s->cfg, k[0], k[1], k[2], err);
        r = r ?: workspace_resolve(f->workspace, NULL, &s->ws, err);
        r = r ?: container_store_open(&s->store, err);
        if (r < 0)
                return r;
        s->tool = strdup(f->tool ? f->tool : s->cfg->tool.name ? s->cfg->tool.name : "claude");
        s->sessions_dir = s->tool ? session_dir_for_tool(s->cfg, s->tool) : NULL;
        s->code_user = strdup(s->cfg->incus.code_user ? s->cfg->incus.code_user : "code");
        if (!s->tool || !s->sessions_dir || !s->code_user)
                return coi_error_set(err, ENOMEM, "session: %m");
        s->code_uid = s->code_gid = (uid_t)s->cfg->incus.code_uid;
        s->persistent = f->persistent || s->cfg->container.persistent;
        struct coi_error tze = { 0 };
        if (agent_timezone(s->cfg->timezone.mode, s->cfg->timezone.name, NULL, NULL, &s->timezone, &tze) < 0)
                fprintf(stderr, "Warning: %s; TZ is not set\n", tze.msg);
        return 0;
}

/* Step 1b: [limits.*] checked and held against what this host can enforce: a limit it can't enforce
 * fails here, before anything is made, or (best effort) is dropped after one warning. */
static int plan_limits(struct session *s, struct coi_error *err)
{
        struct limits_host host;
        int r = limits_host_read(&host, err);
        r = r ?: limits_from_config(s->cfg, &host, &s->limits, err);
        if (r < 0)
                return r;
        struct container_limits_gaps gaps;
        r = container_limits_check(s->store, &s->limits, &gaps, err);
        if (r < 0)
                return r;
        if (gaps.n)
                fprintf(stderr, "Warning: limits not enforced (best effort): %s missing; %s\n", gaps.text,
                        gaps.where);
        s->has_limits = limits_any(&s->limits);
        return 0;
}

/* Step 2: the session's id: the resumed session's (*ret_meta: its metadata), or a new one. */
static int choose_id(struct session *s, const struct session_flags *f, struct session_meta **ret_meta,
                     struct coi_error *err)
{
        if (!f->resume) {
                char id[37];
                int r = session_id_new(id, err);
                if (r < 0)
                        return r;
                snprintf(s->id, sizeof(s->id), "%s", id);
                return 0;
        }
        int r = f->resume_id ? session_find(s->sessions_dir, f->resume_id, s->ws->path, ret_meta, err)
                             : session_find_latest(s->sessions_dir, s->ws->path, ret_meta, err);
        if (r < 0)
                return r;
        snprintf(s->id, sizeof(s->id), "%s", (*ret_meta)->session_id);
        if (!f->persistent && (*ret_meta)->persistent)
                s->persistent = true;
        return 0;
}

/* Step 3: where the workspace goes in the container and which paths in it are protected. */
static int protect_workspace(struct session *s, struct coi_error *err)
{
        int r = workspace_mount_target(s->ws, s->cfg->paths.preserve_workspace_path, &s->target, err);
        struct protect_options po = {
                .protected_paths = s->cfg->security.protected_paths,
                .additional_protected_paths = s->cfg->security.additional_protected_paths,
                .disable_protection = s->cfg->security.disable_protection,
                .writable_hooks = s->cfg->git.writable_hooks,
        };
        r = r ?: workspace_protected_paths(s->ws, s->target, &po, &s->prot, err);
        if (r < 0)
                return r;
        for (char **w = s->prot->warnings; w && *w; w++)
                fprintf(stderr, "Warning: %s\n", *w);
        return 0;
}

/* The container's mounts: the first n_recorded are recorded for a later plain `coi container start`
 * (create[i]: the placeholder kind to make again), the SSH agent relay's socket after them is not. */
struct session_mounts {
        struct container_mount *v;
        const char **create;
        size_t n, n_recorded;
        char *agent_sock, *relay_sock;
};

static void session_mounts_done(struct session_mounts *m)
{
        free(m->v);
        free(m->create);
        free(m->agent_sock);
        free(m->relay_sock);
}

/* Step 4: the workspace, [[mounts.default]] and --mount, a linked worktree's git directory, then each
 * protected path read-only on top (all idmapped: the host owner is the container's code user), and the
 * SSH agent relay's socket last. */
static int plan_mounts(struct session *s, struct session_mounts *m, struct coi_error *err)
{
        size_t cap = s->prot->n + 3 + s->cfg->mounts.n_default;
        m->v = calloc(cap, sizeof(*m->v));
        m->create = calloc(cap, sizeof(*m->create));
        if (!m->v || !m->create)
                return coi_error_set(err, ENOMEM, "mounts: %m");
        struct container_mount base = { .idmap = true,
                                        .host_uid = s->ws->uid,
                                        .host_gid = s->ws->gid,
                                        .container_uid = s->code_uid,
                                        .container_gid = s->code_gid };
        m->v[m->n] = base;
        m->v[m->n].source = s->ws->real_path;
        m->v[m->n++].target = s->target;
        /* [[mounts.default]] and --mount: idmapped like the workspace; a missing host directory is
         * created (as code-on-incus does), owned by the workspace owner. */
        for (size_t i = 0; i < s->cfg->mounts.n_default; i++) {
                const struct config_mount *cm = &s->cfg->mounts.default_[i];
                if (!cm->host || cm->host[0] != '/' || !cm->container || cm->container[0] != '/')
                        return coi_error_set(err, EINVAL, "mount %s:%s: both paths must be absolute",
                                             cm->host ? cm->host : "", cm->container ? cm->container : "");
                if (mkdir(cm->host, 0755) == 0 && chown(cm->host, s->ws->uid, s->ws->gid) < 0)
                        return coi_error_set(err, errno, "chown %s: %m", cm->host);
                m->v[m->n] = base;
                m->v[m->n].source = cm->host;
                m->v[m->n].target = cm->container;
                m->v[m->n++].readonly = cm->readonly;
        }
        if (s->prot->git_common_dir) {
                m->v[m->n] = base;
                m->v[m->n].source = m->v[m->n].target = s->prot->git_common_dir;
                m->n++;
        }
        for (size_t i = 0; i < s->prot->n; i++) {
                const struct protected_mount *pm = &s->prot->v[i];
                if (pm->must_create) {
                        int r = make_placeholder(s, pm, err);
                        if (r < 0)
                                return r;
                }
                m->create[m->n] = !pm->must_create ? NULL : pm->kind == PROTECT_DIR ? "dir" : "file";
                m->v[m->n] = base;
                m->v[m->n].source = pm->host;
                m->v[m->n].target = pm->container;
                m->v[m->n++].readonly = true;
        }

        /* The relay's directory is coi's (root's, 0700); the relay starts once the container's name is
         * known. */
        m->n_recorded = m->n;
        if (ssh_agent_socket(s, &m->agent_sock) > 0) {
                char tmpl[] = "/run/coi-ssh-XXXXXX";
                char tmpl2[] = "/tmp/coi-ssh-XXXXXX";
                const char *dir = mkdtemp(tmpl) ?: mkdtemp(tmpl2);
                m->relay_sock = dir ? xasprintf("%s/agent.sock", dir) : NULL;
                if (!m->relay_sock)
                        return coi_error_set(err, errno ?: ENOMEM, "SSH agent relay directory: %m");
                m->v[m->n] = base;
                m->v[m->n].source = m->relay_sock;
                m->v[m->n++].target = AGENT_SSH_SOCK_PATH;
                s->ssh_agent = true;
        }
        return 0;
}

/* Step 5: a slot, then the container on it: the persistent one restarted, or a new one launched (with
 * the SSH agent relay started first). Two sessions of one workspace starting at once may pick the same
 * free slot: the launch's name claim (mkdir) decides, and the loser chooses again. */
static int launch_on_slot(struct session *s, const struct session_flags *f,
                          const struct session_start_options *o, const struct session_mounts *m,
                          const struct container_network *net, struct coi_error *err)
{
        /* Chosen at every start: a persistent container a `run` job left behind gets "default" again
         * when a shell restarts it. */
        const char *seccomp = seccomp_profile_choose(s->cfg->security.seccomp_profile, o->job, o->nesting);
        int r = seccomp_profile_check(seccomp, err);
        if (r < 0)
                return coi_error_prefix(err, "[security] seccomp_profile: ");
        for (int attempt = 0;; attempt++) {
                struct slot_request sr = { .workspace = s->ws->path,
                                           .slot = f->slot,
                                           .persistent = s->persistent,
                                           .state = slot_state_cb,
                                           .userdata = s->store };
                struct slot_choice sc = { 0 };
                r = slot_choose(&sr, &sc, err);
                if (r < 0)
                        break;
                s->slot = sc.slot;
                s->reused = sc.reused;
                s->name = workspace_container_name(s->ws->path, s->slot, NULL);
                if (!s->name)
                        return coi_error_set(err, ENOMEM, "container name: %m");
                if (sc.moved)
                        fprintf(stderr, "Slot %d is busy, using slot %d\n", f->slot, s->slot);
                else if (f->slot == 0)
                        fprintf(stderr, "Auto-allocated slot %d\n", s->slot);

                if (m->relay_sock) {
                        _cleanup_free_ char *cgroup = container_cgroup_path(s->name);
                        r = cgroup ? agent_ssh_relay_start(m->agent_sock, m->relay_sock, s->ws->uid,
                                                           s->ws->gid, cgroup, &s->ssh_relay, err)
                                   : coi_error_set(err, ENOMEM, "cgroup path: %m");
                        if (r < 0)
                                break;
                }
                if (s->reused) {
                        fprintf(stderr, "Restarting existing persistent container %s...\n", s->name);
                        r = container_set_network(s->store, s->name, net, err);
                        r = r
                                    ?: container_set_limits(s->store, s->name,
                                                            s->has_limits ? &s->limits : NULL, err);
                        r = r ?: container_set_seccomp(s->store, s->name, seccomp, err);
                        r = r ?: container_start_with(s->store, s->name, m->v, m->n, o->no_wait, err);
                } else {
                        const char *image = f->image ? f->image : s->cfg->container.image;
                        fprintf(stderr, "Launching container %s from image %s...\n", s->name, image);
                        struct container_launch_options lo = { .image = image,
                                                               .name = s->name,
                                                               .ephemeral = !s->persistent,
                                                               .mounts = m->v,
                                                               .n_mounts = m->n,
                                                               .no_wait = o->no_wait,
                                                               .network = net,
                                                               .limits = s->has_limits ? &s->limits : NULL,
                                                               .seccomp_profile = seccomp };
                        r = container_launch(s->store, &lo, err);
                }
                if (r < 0) {
                        agent_ssh_relay_stop(s->ssh_relay);
                        s->ssh_relay = 0;
                }
                if (r == -EEXIST && !s->reused && attempt < SLOT_MAX) {
                        free(s->name);
                        s->name = NULL;
                        continue;
                }
                break;
        }
        if (r < 0)
                drop_placeholders(s);
        return r;
}

char *session_audit_dir(void)
{
        _cleanup_free_ char *home = session_host_home();
        return home ? xasprintf("%s/.coi/audit", home) : NULL;
}

int session_monitor_start(struct container_store *store, const struct config *c, const char *name,
                          struct coi_error *err)
{
        if (!c->monitoring.enabled)
                return 0;
        _cleanup_free_ char *audit = session_audit_dir();
        if (!audit)
                return coi_error_set(err, ENOMEM, "audit dir: %m");
        struct monitor_config mc = { .name = name,
                                     .audit_dir = audit,
                                     .tty = isatty(STDERR_FILENO) ? ttyname(STDERR_FILENO) : NULL,
                                     .auto_pause_on_high = c->monitoring.auto_pause_on_high,
                                     .auto_kill_on_critical = c->monitoring.auto_kill_on_critical,
                                     .poll_interval_sec = (int)c->monitoring.poll_interval_sec,
                                     .file_read_threshold_mb = c->monitoring.file_read_threshold_mb,
                                     .upload_threshold_mb = c->monitoring.upload_threshold_mb,
                                     .dns_query_threshold = (int)c->monitoring.nft.dns_query_threshold };
        return monitor_start(store, &mc, err);
}

/* Step 5b: [monitoring] enabled: the security monitor watches the container from the host before the
 * agent's first command runs; a monitor that can't start fails the session (it was asked for). */
static int start_monitor(struct session *s, struct coi_error *err)
{
        return session_monitor_start(s->store, s->cfg, s->name, err);
}

/* Step 6: the mounts recorded, the ids known, the tool's state copied in, the session's metadata saved. */
static int settle_in(struct session *s, const struct session_flags *f, const struct session_start_options *o,
                     const struct session_meta *meta, const struct session_mounts *m, struct coi_error *err)
{
        int r = container_record_mounts(s->store, s->name, m->v, m->create, m->n_recorded, err);
        r = r ?: container_ids(s->store, s->name, &s->ids, err);
        if (r == 0) {
                _cleanup_free_ char *resume_dir = meta ? xasprintf("%s/%s", s->sessions_dir, s->id) : NULL;
                r = copy_in(s, resume_dir, err);
        }
        if (r == 0 && o->save_metadata) {
                struct session_meta sm = { .session_id = s->id,
                                           .container_name = s->name,
                                           .persistent = s->persistent,
                                           .profile_name = (char *)(f->profile ? f->profile : ""),
                                           .workspace = s->ws->path,
                                           .tool = s->tool,
                                           .slot = s->slot };
                r = session_save_metadata(s->sessions_dir, &sm, err);
        }
        return r;
}

int session_start(const struct session_flags *f, const struct session_start_options *o, struct session **ret,
                  struct coi_error *err)
{
        _cleanup_(session_freep) struct session *s = calloc(1, sizeof(*s));
        if (!s)
                return coi_error_set(err, ENOMEM, "session: %m");
        _cleanup_(session_meta_freep) struct session_meta *meta = NULL;
        int r = load_settings(s, f, err);
        r = r ?: plan_limits(s, err);
        r = r ?: choose_id(s, f, &meta, err);
        r = r ?: protect_workspace(s, err);
        if (r < 0)
                return r;
        /* A persistent session resumed while its container still runs: attach to it as it is. */
        r = meta ? continue_running(s, meta, err) : 0;
        if (r != 0) {
                if (r > 0)
                        *ret = TAKE_PTR(s);
                return r < 0 ? r : 0;
        }
        _cleanup_(session_mounts_done) struct session_mounts mounts = { 0 };
        struct container_network net;
        r = plan_mounts(s, &mounts, err);
        r = r ?: network_options(f, s->cfg, &net, err);
        if (r < 0)
                return r;
        s->network_mode = strdup(net_mode_to_string(net.policy.mode));
        if (!s->network_mode)
                return coi_error_set(err, ENOMEM, "session: %m");
        s->started_ns = now_ns();
        r = launch_on_slot(s, f, o, &mounts, &net, err);
        if (r < 0)
                return r;
        r = start_monitor(s, err);
        if (r < 0) {
                struct coi_error e = { 0 };
                session_stop(s, true, &e);
                return r;
        }
        r = settle_in(s, f, o, meta, &mounts, err);
        if (r < 0) {
                struct coi_error e = { 0 };
                session_stop(s, true, &e);
                return r;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

void session_wait_booted(const struct session *s)
{
        char state[64];
        if (container_wait_booted(s->store, s->name, CONTAINER_BOOT_TIMEOUT_MS, state, sizeof(state)) ==
            -ETIME)
                fprintf(stderr, "coi: %s has not finished booting after %d s (systemd: %s); going on\n",
                        s->name, CONTAINER_BOOT_TIMEOUT_MS / 1000, state);
}

/* ---- save, stop ---------------------------------------------------------------------------------- */

int session_save(struct session *s, struct coi_error *err)
{
        _cleanup_free_ char *rootfs = container_rootfs_path(s->store, s->name);
        if (!rootfs)
                return coi_error_set(err, ENOMEM, "rootfs: %m");
        _cleanup_close_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return coi_error_set(err, errno, "save session %s: container %s has no mounted root (%s): %m",
                                     s->id, s->name, rootfs);
        _cleanup_free_ char *state = xasprintf("%s/%s", SESSION_CODE_HOME, tool_state_dir(s->tool));
        if (!state)
                return coi_error_set(err, ENOMEM, "save: %m");
        _cleanup_close_ int src = openat2_in_root(rootfd, state, O_RDONLY | O_DIRECTORY);
        _cleanup_free_ char *staging = NULL;
        int r = session_stage_begin(s->sessions_dir, s->id, &staging, err);
        if (r < 0)
                return r;
        if (src >= 0) {
                _cleanup_close_ int st = open(staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                _cleanup_close_ int dfd = -1;
                r = st < 0 ? coi_error_set(err, errno, "open %s: %m", staging) : 0;
                r = r ?: sandbox_mkdirs_at(st, tool_state_dir(s->tool), getuid(), getgid(), &dfd, err);
                r = r ?: session_copy_tree(src, dfd, getuid(), getgid(), 0, err);
        }
        struct session_meta m = { .session_id = s->id,
                                  .container_name = s->name,
                                  .persistent = s->persistent,
                                  .profile_name = s->cfg->profile ? s->cfg->profile : "",
                                  .workspace = s->ws->path,
                                  .tool = s->tool,
                                  .slot = s->slot };
        r = r ?: session_stage_commit(s->sessions_dir, staging, &m, err);
        if (r < 0)
                session_stage_abort(staging);
        return r;
}

int session_stop(struct session *s, bool force, struct coi_error *err)
{
        struct container_stop_result res = { 0 };
        /* `run` execs before systemd is up; a clean shutdown needs its signal handler in place. */
        if (!force)
                container_wait_ready(s->store, s->name, CONTAINER_BUS_TIMEOUT_MS);
        int r = container_stop(s->store, s->name, CONTAINER_STOP_TIMEOUT, force, &res, err);
        uint64_t max = s->limits.max_duration_ms;
        if (max && s->limits.auto_stop && s->started_ns && now_ns() - s->started_ns >= max * 1000000u) {
                /* The watcher stopped it (container.c); an ephemeral one is gone already. */
                char when[32];
                fprintf(stderr, "Container %s was stopped: it reached limits.runtime.max_duration (%s)\n",
                        s->name, limits_format_duration(max, when, sizeof(when)));
                if (r == -ENOENT)
                        r = 0;
        }
        agent_ssh_relay_stop(s->ssh_relay);
        s->ssh_relay = 0;
        if (r == 0 && !s->persistent) {
                /* An ephemeral container is gone after its stop; make sure of it. */
                struct coi_error e = { 0 };
                container_delete(s->store, s->name, true, &e);
        }
        drop_placeholders(s);
        return r;
}
