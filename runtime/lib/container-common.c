/* container-common.c — helpers the lifecycle verbs and exec share: --timings phases, opening a
 * container by id (state dir, lock, record, live status), the config snapshot, hooks, waiting. */
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "container.h"
#include "create-config.h"
#include "hooks.h"
#include "util.h"

#define LOCK_TIMEOUT_MS        10000
#define BEST_EFFORT_ANNOTATION "run.coi.cgroup.best-effort"

struct timer timer_start(const struct coi_context *ctx, const char *verb)
{
        uint64_t now = ctx->timings ? now_ns() : 0;
        return (struct timer){ ctx, verb, now, now };
}

void timer_phase(struct timer *t, const char *phase)
{
        if (!t->ctx->timings)
                return;
        uint64_t now = now_ns();
        coi_log(t->ctx, COI_LOG_INFO, "timing: %s %-16s %8.3f ms (total %8.3f ms)", t->verb, phase,
                (double)(now - t->last) / 1e6, (double)(now - t->start) / 1e6);
        t->last = now;
}

int pidfd_send_signal_(int pidfd, int signo)
{
        return (int)syscall(SYS_pidfd_send_signal, pidfd, signo, NULL, 0);
}

void unlock_and_close(int *lockfd)
{
        if (*lockfd >= 0)
                (void)flock(*lockfd, LOCK_UN); /* our own lock: fails only for a bad fd */
        closep(lockfd);
}

void handle_done(struct handle *h)
{
        closep(&h->rootfd);
        closep(&h->dirfd);
        unlock_and_close(&h->lockfd);
        state_record_done(&h->rec);
}

int handle_open(struct coi_context *ctx, const char *id, int lock, struct handle *h, struct coi_error *err)
{
        *h = (struct handle){ .rootfd = -1, .dirfd = -1, .lockfd = -1 };
        int r = state_validate_id(id, err);
        if (r < 0)
                return r;
        r = state_root_open(ctx, false, &h->rootfd, err);
        if (r == -ENOENT)
                return coi_error_set(err, ENOENT, "container %s does not exist", id);
        if (r < 0)
                return r;
        r = state_dir_open(h->rootfd, id, &h->dirfd, err);
        if (r < 0)
                return r;
        if (lock) {
                r = state_lock(h->dirfd, id, lock > 1, LOCK_TIMEOUT_MS, &h->lockfd, err);
                if (r < 0)
                        return r;
        }
        r = state_read(h->dirfd, id, &h->rec, err);
        if (r < 0)
                return r;
        h->status = state_status(h->dirfd, &h->rec);
        return 0;
}

int load_snapshot(const struct handle *h, struct oci_config **ret_config, struct coi_error *err)
{
        _cleanup_free_ char *json = NULL;
        size_t len = 0;
        int r = read_file_at(h->dirfd, CONFIG_FILE, CONFIG_MAX_BYTES, &json, &len, err);
        if (r < 0)
                return coi_error_prefix(err, "config of container %s: ", h->rec.pub.id);
        _cleanup_free_ char *origin = xasprintf("%s/config.json", h->rec.pub.bundle);
        return oci_config_parse(json, len, origin ? origin : CONFIG_FILE, ret_config, err);
}

int create_config_load(const struct coi_create_options *opts, const char *bundle, struct create_config *ret,
                       struct coi_error *err)
{
        _cleanup_free_ char *json = NULL;
        size_t len = 0;
        int r;
        _cleanup_(oci_config_freep) struct oci_config *config = NULL;
        if (opts && opts->config_json) {
                json = strdup(opts->config_json);
                if (!json)
                        return coi_error_set(err, ENOMEM, "config: %m");
                len = strlen(json);
                r = oci_config_parse(json, len, "config (given in memory)", &config, err);
        } else {
                _cleanup_free_ char *path = xasprintf("%s/config.json", bundle);
                if (!path)
                        return coi_error_set(err, ENOMEM, "config.json: %m");
                r = read_file_at(AT_FDCWD, path, CONFIG_MAX_BYTES, &json, &len, err);
                if (r == 0)
                        r = oci_config_parse(json, len, path, &config, err);
        }
        if (r < 0)
                return r;
        *ret = (struct create_config){ .json = TAKE_PTR(json), .len = len, .config = TAKE_PTR(config) };
        return 0;
}

void create_config_done(struct create_config *c)
{
        free(c->json);
        oci_config_free(c->config);
        *c = (struct create_config){ 0 };
}

int run_hooks(struct coi_context *ctx, const struct oci_config *config, enum oci_hook_kind kind,
              const struct state_record *rec, enum coi_status status, struct coi_error *err)
{
        if (!config || config->n_hooks[kind] == 0)
                return 0;
        struct state_record named = *rec;
        state_resolve_owner(&named);
        struct coi_state st = named.pub;
        st.status = status;
        _cleanup_free_ char *json = NULL;
        int r = state_oci_json(&st, rec->oci_version, &json, err);
        if (r < 0)
                return r;
        return hooks_run(ctx, config, kind, json, err);
}

/* Waits (bounded) until pid has exited, via its pidfd; reaps it if it is our child. */
int wait_exit(pid_t pid, int timeout_ms, int *ret_status)
{
        _cleanup_close_ int pidfd = pidfd_open_(pid);
        if (pidfd < 0)
                return errno == ESRCH ? 0 : -errno;
        for (;;) {
                struct pollfd p = { pidfd, POLLIN, 0 };
                int r = poll(&p, 1, timeout_ms);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return -errno;
                if (r == 0)
                        return -ETIMEDOUT;
                break;
        }
        siginfo_t si = { 0 };
        int status = 0;
        if (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) == 0) {
                if (si.si_code == CLD_EXITED)
                        status = (si.si_status & 0xff) << 8;
                else
                        status = (si.si_status & 0x7f) | (si.si_code == CLD_DUMPED ? 0x80 : 0);
        }
        if (ret_status)
                *ret_status = status;
        return 0;
}

int connect_console_socket(const char *path, int fd_given, int *ret_fd, struct coi_error *err)
{
        if (fd_given > 0) {
                int fd = fcntl(fd_given, F_DUPFD_CLOEXEC, 3);
                if (fd < 0)
                        return coi_error_set(err, errno, "console socket fd %d: %m", fd_given);
                *ret_fd = fd;
                return 0;
        }
        struct sockaddr_un addr = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof(addr.sun_path))
                return coi_error_set(err, ENAMETOOLONG, "console socket %s: path too long", path);
        strcpy(addr.sun_path, path);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return coi_error_set(err, errno, "console socket %s: socket: %m", path);
        if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
                return coi_error_set(err, errno, "connect to console socket %s: %m", path);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int write_pid_file(const char *path, pid_t pid, struct coi_error *err)
{
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
        int r = state_write_file(AT_FDCWD, path, buf, (size_t)n, 0644, err);
        return r < 0 ? coi_error_prefix(err, "pid file: ") : 0;
}

bool best_effort(const struct coi_context *ctx, const struct oci_config *config)
{
        const char *v = config ? oci_config_annotation(config, BEST_EFFORT_ANNOTATION) : NULL;
        return ctx->cgroup_best_effort || (v && streq(v, "true"));
}
