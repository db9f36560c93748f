/* hooks.c — OCI hooks: each one runs as its own process with its args and env, the state document on
 * stdin, its output kept (the tail goes into errors), and a timeout after which it is killed. */
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "hooks.h"
#include "util.h"

#define TAIL_SIZE 512

struct tail {
        char buf[TAIL_SIZE];
        size_t len;
};

static void tail_append(struct tail *t, const char *data, size_t n)
{
        if (n >= TAIL_SIZE) {
                memcpy(t->buf, data + n - TAIL_SIZE, TAIL_SIZE);
                t->len = TAIL_SIZE;
                return;
        }
        if (t->len + n > TAIL_SIZE) {
                size_t drop = t->len + n - TAIL_SIZE;
                memmove(t->buf, t->buf + drop, t->len - drop);
                t->len -= drop;
        }
        memcpy(t->buf + t->len, data, n);
        t->len += n;
}

/* The output's last line(s), for an error message: "" or ": <text>". */
static const char *tail_text(struct tail *t, char *out, size_t size)
{
        size_t n = t->len;
        while (n > 0 && (t->buf[n - 1] == '\n' || t->buf[n - 1] == ' '))
                n--;
        if (n == 0)
                return "";
        snprintf(out, size, ": %.*s", (int)n, t->buf);
        return out;
}

static void posix_spawn_file_actions_destroyp(posix_spawn_file_actions_t **fa)
{
        if (*fa)
                posix_spawn_file_actions_destroy(*fa);
}

static void posix_spawnattr_destroyp(posix_spawnattr_t **a)
{
        if (*a)
                posix_spawnattr_destroy(*a);
}

static int run_one(const struct oci_hook *h, const char *kind, const char *state_json, struct coi_error *err)
{
        /* stdin is a socket: send(MSG_NOSIGNAL) means a hook that never reads can't SIGPIPE us. */
        int in[2], out[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0)
                return coi_error_set(err, errno, "hook %s (%s): socketpair: %m", h->path, kind);
        _cleanup_close_ int in_parent = in[0], in_child = in[1];
        if (pipe2(out, O_CLOEXEC) < 0)
                return coi_error_set(err, errno, "hook %s (%s): pipe: %m", h->path, kind);
        _cleanup_close_ int out_parent = out[0], out_child = out[1];

        posix_spawn_file_actions_t fa_storage;
        if (posix_spawn_file_actions_init(&fa_storage) != 0)
                return coi_error_set(err, ENOMEM, "hook %s (%s): %m", h->path, kind);
        _cleanup_(posix_spawn_file_actions_destroyp) posix_spawn_file_actions_t *fa = &fa_storage;
        posix_spawn_file_actions_adddup2(fa, in_child, 0);
        posix_spawn_file_actions_adddup2(fa, out_child, 1);
        posix_spawn_file_actions_adddup2(fa, out_child, 2);
        posix_spawn_file_actions_addclosefrom_np(fa, 3);

        char *default_argv[] = { h->path, NULL };
        char *empty_env[] = { NULL };
        /* Its own process group, so a timeout kills what the hook started too. */
        posix_spawnattr_t attr_storage;
        if (posix_spawnattr_init(&attr_storage) != 0)
                return coi_error_set(err, ENOMEM, "hook %s (%s): %m", h->path, kind);
        _cleanup_(posix_spawnattr_destroyp) posix_spawnattr_t *attr = &attr_storage;
        posix_spawnattr_setflags(attr, POSIX_SPAWN_SETPGROUP);
        posix_spawnattr_setpgroup(attr, 0);
        pid_t pid;
        int r = posix_spawn(&pid, h->path, fa, attr, h->args && h->args[0] ? h->args : default_argv,
                            h->env ? h->env : empty_env);
        if (r != 0)
                return coi_error_set(err, r, "hook %s (%s): %m", h->path, kind);
        closep(&in_child);
        closep(&out_child);
        _cleanup_close_ int pidfd = pidfd_open_(pid);

        /* The state is small (a few hundred bytes), far below the socket buffer: this never blocks. */
        for (size_t off = 0, len = strlen(state_json); off < len;) {
                ssize_t k = send(in_parent, state_json + off, len - off, MSG_NOSIGNAL);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        if (errno != EPIPE) /* a hook that ignores its stdin is fine */
                                r = -errno;
                        break;
                }
                off += (size_t)k;
        }
        closep(&in_parent);

        struct tail tail = { .len = 0 };
        uint64_t deadline =
                h->has_timeout && h->timeout > 0 ? now_ns() + (uint64_t)h->timeout * 1000000000ull : 0;
        bool timed_out = false, exited = pidfd < 0;
        while (!exited || out_parent >= 0) {
                int timeout_ms = exited ? 0 : -1; /* once it exited, only drain what is already there */
                if (deadline && !exited) {
                        uint64_t now = now_ns();
                        if (now >= deadline) {
                                timed_out = true;
                                break;
                        }
                        timeout_ms = (int)((deadline - now) / 1000000u) + 1;
                }
                struct pollfd p[2];
                int np = 0, io = -1, ip = -1;
                if (out_parent >= 0) {
                        io = np;
                        p[np++] = (struct pollfd){ out_parent, POLLIN, 0 };
                }
                if (!exited) {
                        ip = np;
                        p[np++] = (struct pollfd){ pidfd, POLLIN, 0 };
                }
                int n = poll(p, (nfds_t)np, timeout_ms);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0 && exited)
                        break;
                if (n < 0)
                        break;
                if (io >= 0 && p[io].revents) {
                        char buf[4096];
                        ssize_t k = read(out_parent, buf, sizeof(buf));
                        if (k > 0)
                                tail_append(&tail, buf, (size_t)k);
                        else if (k == 0 || errno != EINTR)
                                closep(&out_parent), out_parent = -1;
                }
                if (ip >= 0 && (p[ip].revents & POLLIN))
                        exited = true;
        }
        if (timed_out)
                (void)kill(-pid, SIGKILL); /* its group; fails only once all of it is gone */
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        char text[TAIL_SIZE + 4];
        if (timed_out)
                return coi_error_set(err, ETIMEDOUT, "hook %s (%s): timed out after %d s%s", h->path, kind,
                                     h->timeout, tail_text(&tail, text, sizeof(text)));
        if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
                return coi_error_set(err, EIO, "hook %s (%s): exited with status %d%s", h->path, kind,
                                     WEXITSTATUS(status), tail_text(&tail, text, sizeof(text)));
        if (WIFSIGNALED(status))
                return coi_error_set(err, EIO, "hook %s (%s): killed by signal %d%s", h->path, kind,
                                     WTERMSIG(status), tail_text(&tail, text, sizeof(text)));
        if (r < 0)
                return coi_error_set(err, -r, "hook %s (%s): write the state to its stdin: %m", h->path,
                                     kind);
        return 0;
}

int hooks_run(struct coi_context *ctx, const struct oci_config *config, enum oci_hook_kind kind,
              const char *state_json, struct coi_error *err)
{
        const char *name = oci_hook_name(kind);
        for (size_t i = 0; i < config->n_hooks[kind]; i++) {
                const struct oci_hook *h = &config->hooks[kind][i];
                uint64_t t0 = now_ns();
                int r = run_one(h, name, state_json ? state_json : "{}", err);
                if (r < 0)
                        return r;
                log_debug(ctx, "hook %s (%s): done in %.1f ms", h->path, name, (double)(now_ns() - t0) / 1e6);
        }
        return 0;
}
