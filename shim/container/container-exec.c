/* container-exec.c — `exec` into a running system container: its environment, the user's groups from the
 * container's own /etc/group, its stdio passed through or captured into buffers (a helper child), its exit
 * code; and the default working directory of an exec. */
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <poll.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "container-internal.h"
#include "util.h"

void container_exec_result_done(struct container_exec_result *r)
{
        free(r->out);
        free(r->err_out);
        r->out = r->err_out = NULL;
}

static int exit_code(int status)
{
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return 255;
}

static int build_env(const struct container_exec_options *o, char ***ret, struct coi_error *err)
{
        if (o->exact_env) {
                *ret = strv_copy(o->env);
                return *ret || !o->env ? 0 : coi_error_set(err, ENOMEM, "exec environment: %m");
        }
        const char *term = getenv("TERM");
        _cleanup_strv_ char **env = NULL;
        _cleanup_free_ char *t = xasprintf("TERM=%s", o->capture || !term || !*term ? "dumb" : term);
        int r = t ? 0 : -ENOMEM;
        r = r ?: strv_push(&env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        r = r ?: strv_push(&env, o->uid == 0 ? "HOME=/root" : "HOME=/");
        r = r ?: strv_push(&env, t);
        for (char *const *e = o->env; r == 0 && e && *e; e++)
                r = strv_push(&env, *e);
        if (r < 0)
                return coi_error_set(err, ENOMEM, "exec environment: %m");
        *ret = TAKE_PTR(env);
        return 0;
}

/* The container's /etc/FILE, opened inside its root (symlinks resolve there), if it is a regular file. */
static FILE *open_etc(int root, const char *file)
{
        _cleanup_free_ char *path = xasprintf("etc/%s", file);
        _cleanup_close_ int fd = path ? openat2_in_root(root, path, O_RDONLY | O_NONBLOCK | O_NOCTTY) : -1;
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return NULL;
        FILE *f = fdopen(fd, "re");
        if (f)
                TAKE_FD(fd);
        return f;
}

/* The supplementary groups of uid as the container's /etc/passwd and /etc/group name them (what a login
 * there gives: `docker` for the sandbox user), besides gid. None when the files or the user are missing. */
static size_t user_groups(struct container_store *s, const char *name, uid_t uid, gid_t gid, uint32_t *gids,
                          size_t max)
{
        struct coi_state st = { 0 };
        struct coi_error e = { 0 };
        if (coi_container_state(&s->ctx, name, &st, &e) < 0)
                return 0;
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/root", (int)st.pid);
        coi_state_free(&st);
        _cleanup_close_ int root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        _cleanup_fclose_ FILE *pw = root < 0 ? NULL : open_etc(root, "passwd");
        _cleanup_free_ char *user = NULL;
        for (struct passwd *p; pw && !user && (p = fgetpwent(pw));)
                if (p->pw_uid == uid)
                        user = strdup(p->pw_name);
        _cleanup_fclose_ FILE *gr = user ? open_etc(root, "group") : NULL;
        size_t n = 0;
        for (struct group *g; gr && n < max && (g = fgetgrent(gr));)
                for (char **m = g->gr_mem; g->gr_gid != gid && m && *m; m++)
                        if (streq(*m, user)) {
                                gids[n++] = g->gr_gid;
                                break;
                        }
        return n;
}

struct exec_report {
        int r;
        int status;
        struct coi_error e;
};

/* Reads both pipes to EOF (the process may fill either first) into growing buffers. */
static int drain(int fds[2], char *bufs[2], size_t lens[2], struct coi_error *err)
{
        size_t caps[2] = { 0, 0 };
        int open_n = 2;
        while (open_n > 0) {
                struct pollfd p[2] = { { .fd = fds[0], .events = POLLIN },
                                       { .fd = fds[1], .events = POLLIN } };
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return coi_error_set(err, errno, "poll the exec output: %m");
                }
                for (int i = 0; i < 2; i++) {
                        if (fds[i] < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        if (caps[i] - lens[i] < 4097) {
                                size_t nc = caps[i] ? caps[i] * 2 : 8192;
                                char *nb = realloc(bufs[i], nc);
                                if (!nb)
                                        return coi_error_set(err, ENOMEM, "exec output: %m");
                                bufs[i] = nb;
                                caps[i] = nc;
                        }
                        ssize_t n = read(fds[i], bufs[i] + lens[i], caps[i] - lens[i] - 1);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0) {
                                close(fds[i]);
                                fds[i] = -1;
                                open_n--;
                                continue;
                        }
                        lens[i] += (size_t)n;
                }
        }
        for (int i = 0; i < 2; i++) {
                if (!bufs[i] && !(bufs[i] = malloc(1)))
                        return coi_error_set(err, ENOMEM, "exec output: %m");
                bufs[i][lens[i]] = '\0';
        }
        return 0;
}

/* --capture: the exec runs in a child whose stdout/stderr are pipes we read here; the child sends back
 * the wait status (or the error) on a third pipe. */
static int exec_captured(struct container_store *s, const char *name, const struct coi_exec_options *xo,
                         struct container_exec_result *ret, struct coi_error *err)
{
        int out[2] = { -1, -1 }, errp[2] = { -1, -1 }, rep[2] = { -1, -1 };
        if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC) < 0) {
                int r = coi_error_set(err, errno, "pipe: %m");
                int all[] = { out[0], out[1], errp[0], errp[1], rep[0], rep[1] };
                for (size_t i = 0; i < ELEMENTSOF(all); i++)
                        closep(&all[i]);
                return r;
        }
        pid_t pid = fork();
        if (pid < 0) {
                int r = coi_error_set(err, errno, "fork to exec in %s: %m", name);
                int all[] = { out[0], out[1], errp[0], errp[1], rep[0], rep[1] };
                for (size_t i = 0; i < ELEMENTSOF(all); i++)
                        closep(&all[i]);
                return r;
        }
        if (pid == 0) {
                struct exec_report rp = { 0 };
                int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (nullfd < 0 || dup2(nullfd, 0) < 0 || dup2(out[1], 1) < 0 || dup2(errp[1], 2) < 0)
                        rp.r = coi_error_set(&rp.e, errno, "set up the exec's stdio: %m");
                else
                        rp.r = coi_container_exec(&s->ctx, name, xo, &rp.status, &rp.e);
                if (write(rep[1], &rp, sizeof(rp)) < 0)
                        _exit(2);
                _exit(0);
        }
        close(out[1]);
        close(errp[1]);
        close(rep[1]);
        _cleanup_close_ int repfd = rep[0];
        int fds[2] = { out[0], errp[0] };
        char *bufs[2] = { NULL, NULL };
        size_t lens[2] = { 0, 0 };
        int r = drain(fds, bufs, lens, err);
        closep(&fds[0]);
        closep(&fds[1]);
        struct exec_report rp = { 0 };
        ssize_t n;
        do
                n = read(repfd, &rp, sizeof(rp));
        while (n < 0 && errno == EINTR);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        if (r == 0 && n != (ssize_t)sizeof(rp))
                r = coi_error_set(err, EIO, "exec in %s: the helper process died", name);
        if (r == 0 && rp.r < 0) {
                rp.e.msg[sizeof(rp.e.msg) - 1] = '\0';
                r = coi_error_set(err, rp.e.code ? rp.e.code : EIO, "%s", rp.e.msg);
        }
        if (r < 0) {
                free(bufs[0]);
                free(bufs[1]);
                return r;
        }
        ret->exit_code = exit_code(rp.status);
        ret->out = bufs[0];
        ret->out_len = lens[0];
        ret->err_out = bufs[1];
        ret->err_len = lens[1];
        return 0;
}

int container_exec(struct container_store *s, const char *name, const struct container_exec_options *opts,
                   struct container_exec_result *ret, struct coi_error *err)
{
        *ret = (struct container_exec_result){ 0 };
        int r = container_validate_name(name, err);
        if (r < 0)
                return r;
        _cleanup_(container_info_freep) struct container_info *m = NULL;
        r = container_metadata_read(s, name, &m, err);
        if (r < 0)
                return r;
        if (!streq(m->status, "running"))
                return coi_error_set(err, EINVAL, "container %s is %s, not running", name, m->status);
        _cleanup_strv_ char **env = NULL;
        r = build_env(opts, &env, err);
        if (r < 0)
                return r;
        char user[32];
        snprintf(user, sizeof(user), "%u:%u", (unsigned)opts->uid, (unsigned)opts->gid);
        uint32_t gids[64]; /* as many groups as a login gets in practice */
        struct coi_exec_options xo = {
                .args = opts->args,
                .env = env,
                .cwd = opts->cwd ? opts->cwd : "/",
                .user = user,
                .additional_gids = gids,
                .n_additional_gids = user_groups(s, name, opts->uid, opts->gid, gids, ELEMENTSOF(gids)),
        };
        if (opts->capture)
                return exec_captured(s, name, &xo, ret, err);
        int status = 0;
        r = coi_container_exec(&s->ctx, name, &xo, &status, err);
        if (r < 0)
                return r;
        ret->exit_code = exit_code(status);
        return 0;
}

const char *container_default_cwd(struct container_store *s, const char *name)
{
        _cleanup_(container_info_freep) struct container_info *m = NULL;
        struct coi_error e = { 0 };
        if (container_info_get(s, name, &m, &e) < 0 || m->pid <= 0)
                return "/";
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/root", (int)m->pid);
        _cleanup_close_ int root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int ws = root < 0 ? -1 : openat2_in_root(root, "workspace", O_PATH | O_DIRECTORY);
        return ws >= 0 ? "/workspace" : "/";
}

static bool gen_bytes(yajl_gen g, const char *key, const char *data, size_t len)
{
        return yajl_gen_string(g, (const unsigned char *)key, strlen(key)) == yajl_gen_status_ok &&
               yajl_gen_string(g, (const unsigned char *)data, len) == yajl_gen_status_ok;
}

int container_exec_result_print_json(const struct container_exec_result *res)
{
        yajl_gen g = yajl_gen_alloc(NULL);
        if (!g) {
                fprintf(stderr, "coi: exec output: out of memory\n");
                return 1;
        }
        const unsigned char *buf;
        size_t len;
        bool ok = yajl_gen_map_open(g) == yajl_gen_status_ok &&
                  gen_bytes(g, "stdout", res->out, res->out_len) &&
                  gen_bytes(g, "stderr", res->err_out, res->err_len) &&
                  yajl_gen_string(g, (const unsigned char *)"exit_code", 9) == yajl_gen_status_ok &&
                  yajl_gen_integer(g, res->exit_code) == yajl_gen_status_ok &&
                  yajl_gen_map_close(g) == yajl_gen_status_ok &&
                  yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok;
        if (ok)
                printf("%.*s\n", (int)len, buf);
        yajl_gen_free(g);
        if (!ok) {
                fprintf(stderr, "coi: exec output: cannot encode as JSON\n");
                return 1;
        }
        return 0;
}
