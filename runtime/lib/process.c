/* process.c — the last steps of every process the runtime starts in a container, shared by the init
 * and exec'd processes: limits, cwd, fds, no_new_privs, seccomp, privilege drop, wait for start, execve. */
#include <limits.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "capabilities.h"
#include "console.h"
#include "hooks.h"
#include "process.h"
#include "state.h"
#include "sync.h"
#include "util.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *const phase_name[_PHASE_MAX] = { "clone", "idmaps",       "mounts", "filter wait",
                                                    "pivot", "caps+seccomp", "ready" };

const char *phase_to_string(enum phase phase)
{
        return phase >= 0 && phase < _PHASE_MAX ? phase_name[phase] : "?";
}

static int apply_rlimits(const struct oci_process *proc, struct coi_error *err)
{
        for (size_t i = 0; i < proc->n_rlimits; i++) {
                const struct oci_rlimit *rl = &proc->rlimits[i];
                struct rlimit cur, want = { .rlim_cur = rl->soft, .rlim_max = rl->hard };
                if (setrlimit(rl->resource, &want) == 0)
                        continue;
                int e = errno;
                if (e == EPERM && getrlimit(rl->resource, &cur) == 0 && want.rlim_max > cur.rlim_max)
                        return coi_error_set(err, EPERM,
                                             "rlimit %s: hard %llu above current hard limit %llu (raising "
                                             "needs CAP_SYS_RESOURCE)",
                                             rl->type, (unsigned long long)rl->hard,
                                             (unsigned long long)cur.rlim_max);
                errno = e;
                return coi_error_set(err, e, "rlimit %s (soft %llu, hard %llu): %m", rl->type,
                                     (unsigned long long)rl->soft, (unsigned long long)rl->hard);
        }
        return 0;
}

/* The container's variable, never the runtime's own (env_get(NULL, …) would read ours). */
static const char *container_env_get(char *const *env, const char *key)
{
        static char *const none[] = { NULL };
        return env_get(env ? env : none, key);
}

/* execve with the PATH lookup done in the container's environment, not the runtime's. */
static int exec_in_container(const struct oci_process *proc, char *const *env, struct coi_error *err)
{
        static char *const empty[] = { NULL };
        if (!env)
                env = empty;
        const char *cmd = proc->args[0];
        if (strchr(cmd, '/')) {
                execve(cmd, proc->args, env);
                return coi_error_set(err, errno, "exec %s in the container: %m", cmd);
        }
        const char *path = container_env_get(env, "PATH");
        if (!path || !*path)
                path = DEFAULT_PATH;
        int saved = ENOENT;
        char full[4096];
        for (const char *p = path; p; p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL) {
                size_t dlen = strcspn(p, ":");
                if (dlen == 0 || dlen + strlen(cmd) + 2 > sizeof(full))
                        continue;
                snprintf(full, sizeof(full), "%.*s/%s", (int)dlen, p, cmd);
                execve(full, proc->args, env);
                if (errno == EACCES)
                        saved = EACCES;
                else if (errno != ENOENT && errno != ENOTDIR)
                        return coi_error_set(err, errno, "exec %s in the container: %m", full);
        }
        return coi_error_set(err, saved, "exec %s in the container: %s (PATH=%s)", cmd,
                             saved == ENOENT ? "not found" : "permission denied", path);
}

/* As runc does: a process without HOME gets its user's home from the container's /etc/passwd, else "/".
 * Read after pivot_root, so it is the container's file. */
static char **env_with_home(const struct oci_process *proc)
{
        if (container_env_get(proc->env, "HOME"))
                return proc->env;
        char home[2048] = "/", line[4096];
        _cleanup_fclose_ FILE *f = fopen("/etc/passwd", "re");
        while (f && fgets(line, sizeof(line), f)) {
                char *field[7] = { line }; /* name:password:uid:gid:gecos:home:shell */
                size_t n = 1;
                for (char *p = line; *p && n < 7; p++)
                        if (*p == ':') {
                                *p = '\0';
                                field[n++] = p + 1;
                        }
                char *end;
                if (n < 7 || strtoul(field[2], &end, 10) != proc->user.uid || end == field[2] || *end)
                        continue;
                field[5][strcspn(field[5], "\n")] = '\0';
                if (*field[5])
                        snprintf(home, sizeof(home), "%s", field[5]);
                break;
        }
        size_t n = strv_length(proc->env);
        char **env = calloc(n + 2, sizeof(char *)); /* never freed: we exec or exit */
        char *entry = xasprintf("HOME=%s", home);
        if (!env || !entry) {
                free(env);
                free(entry);
                return proc->env;
        }
        if (n)
                memcpy(env, proc->env, n * sizeof(char *));
        env[n] = entry;
        return env;
}

/* Moves fd above the preserved range so close_range can't leave it open in the container. */
static int move_above(int *fd, int floor)
{
        if (*fd < 0 || *fd >= floor)
                return 0;
        int n = fcntl(*fd, F_DUPFD_CLOEXEC, floor);
        if (n < 0)
                return -errno;
        closep(fd);
        *fd = n;
        return 0;
}

/* Closes every fd >= from except those in keep. */
static void close_fds_except(int from, const int *keep, size_t n)
{
        for (int lo = from;;) {
                int next = INT_MAX; /* the lowest fd to keep at or above lo */
                for (size_t i = 0; i < n; i++)
                        if (keep[i] >= lo && keep[i] < next)
                                next = keep[i];
                unsigned hi = next == INT_MAX ? ~0u : (unsigned)next - 1;
                if (next > lo && close_range((unsigned)lo, hi, 0) < 0)
                        for (int fd = lo; fd < 65536 && (unsigned)fd <= hi; fd++)
                                (void)close(fd); /* EBADF for most: no close_range, so try them all */
                if (next == INT_MAX)
                        return;
                lo = next + 1;
        }
}

/* create → start: block until `start` opens exec.fifo for reading. While we wait here, `exec` may
 * already run processes in the container, and one with CAP_SYS_PTRACE over us (no user namespace)
 * can open /proc/1/fd/N. So first every fd goes except stdio, the preserved fds and what the wait
 * needs: the fifo's O_PATH fd (a detached mount of the fifo alone where the runtime could make one:
 * it reads back as "/", and ".." of a fifo leads nowhere) and, only when the container has no /proc
 * to reopen that fd through, the state directory. The sync socket goes too: after READY nobody
 * listens, and later errors go to the log callback (sync_child_fail). */
static int wait_for_start(struct finalize *f, struct coi_error *err)
{
        bool have_proc = access("/proc/self/fd", F_OK) == 0;
        if (!have_proc && f->fifo_dirfd < 0)
                return coi_error_set(err, ENOENT,
                                     "open exec.fifo to wait for start: no /proc in the container");
        if (have_proc)
                f->fifo_dirfd = -1; /* closed below */
        int keep[2] = { f->fifo_fd, f->fifo_dirfd };
        close_fds_except(3 + f->preserve_fds, keep, 2);
        f->sync_fd = -1;

        char path[64];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", f->fifo_fd);
        _cleanup_close_ int w = have_proc ? open(path, O_WRONLY | O_CLOEXEC)
                                          : openat(f->fifo_dirfd, FIFO_FILE, O_WRONLY | O_CLOEXEC);
        if (w < 0)
                return coi_error_set(err, errno, "open exec.fifo to wait for start: %m");
        if (write(w, "0", 1) != 1)
                return coi_error_set(err, errno, "write exec.fifo: %m");
        closep(&f->fifo_fd);
        closep(&f->fifo_dirfd);
        return 0;
}

int finalize_and_exec(struct finalize *f, struct coi_error *err)
{
        const struct oci_process *proc = f->proc;
        int r;

        /* Limits first: everything after runs under them, and raising a hard limit fails clearly. */
        r = apply_rlimits(proc, err);
        if (r < 0)
                return r;
        /* The ABI the program expects (linux32 for 32-bit userlands). */
        if (f->config && f->config->linux_.has_personality && personality(f->config->linux_.personality) < 0)
                return coi_error_set(err, errno, "personality 0x%lx: %m", f->config->linux_.personality);
        /* Files the process creates get the mode it asked for, not ours. */
        umask(proc->user.has_umask ? (mode_t)proc->user.umask : 022);
        /* The terminal becomes stdio before anything can print. */
        if (f->console_slave >= 0) {
                r = console_make_controlling(TAKE_FD(f->console_slave), err);
                if (r < 0)
                        return r;
        }
        /* cwd is resolved in the container's root, and must be inside it (CVE-2024-21626: a host
         * directory fd as cwd would hand the host filesystem to the container). */
        const char *cwd = proc->cwd && *proc->cwd ? proc->cwd : "/";
        if (chdir(cwd) < 0)
                return coi_error_set(err, errno, "chdir to process.cwd %s in the container: %m", cwd);
        char here[4096];
        if (!getcwd(here, sizeof(here)) || here[0] != '/')
                return coi_error_set(err, EPERM, "process.cwd %s is not inside the container's root", cwd);
        char **env = env_with_home(proc);

        /* No runtime fd may reach the container: ours move above the preserved range, the preserved
         * ones lose O_CLOEXEC, everything else gets it. */
        int floor = 3 + f->preserve_fds;
        if (move_above(&f->sync_fd, floor) < 0 || move_above(&f->fifo_fd, floor) < 0 ||
            move_above(&f->fifo_dirfd, floor) < 0)
                return coi_error_set(err, errno, "move the runtime's fds above the preserved range: %m");
        for (int fd = 3; fd < floor; fd++)
                if (fcntl(fd, F_SETFD, 0) < 0 && errno != EBADF)
                        return coi_error_set(err, errno, "preserved fd %d: %m", fd);
        if (close_range((unsigned)floor, ~0u, CLOSE_RANGE_CLOEXEC) < 0) {
                for (int fd = floor; fd < 65536; fd++)
                        if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 && errno != EBADF)
                                return coi_error_set(err, errno, "mark fd %d close-on-exec: %m", fd);
        }

        /* Still not dumpable (set when the child started) while we hold privileges: nothing in the
         * container can ptrace us or read our /proc files; execve makes the new program dumpable. */
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return coi_error_set(err, errno, "prctl(PR_SET_DUMPABLE): %m");
        /* no_new_privs: setuid binaries and file capabilities can't regain what we drop below. */
        if (proc->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return coi_error_set(err, errno, "prctl(PR_SET_NO_NEW_PRIVS): %m");
        /* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which the drop below removes: then
         * (only then) the filter goes first and must allow the remaining setup syscalls. */
        if (f->seccomp && !proc->no_new_privileges) {
                r = seccomp_program_install(f->seccomp, err);
                if (r < 0)
                        return r;
        }
        /* The last privilege transition: bounding set, user, groups, the capability sets. */
        r = capabilities_apply(&proc->caps, proc->user.uid, proc->user.gid, proc->user.additional_gids,
                               proc->user.n_additional_gids, f->setgroups_denied, err);
        if (r < 0)
                return r;
        if (f->timings)
                f->timings[PHASE_CAPS] = now_ns();

        if (f->report_ready) {
                if (f->timings)
                        f->timings[PHASE_READY] = now_ns();
                r = sync_send(f->sync_fd, SYNC_READY, 0, f->timings,
                              f->timings ? sizeof(uint64_t) * _PHASE_MAX : 0, NULL, 0);
                if (r < 0)
                        return coi_error_set(err, -r, "report readiness to the runtime: %m");
        }
        if (f->fifo_fd >= 0) {
                r = wait_for_start(f, err);
                if (r < 0)
                        return r;
        }
        /* startContainer hooks: after start, in the container, before the user's program. */
        if (f->start_hooks && f->config->n_hooks[OCI_HOOK_START_CONTAINER]) {
                r = hooks_run(f->ctx, f->config, OCI_HOOK_START_CONTAINER, f->state_json, err);
                if (r < 0)
                        return r;
        }
        /* seccomp last, right before execve: the fewer syscalls the filter must allow for us. */
        if (f->seccomp && proc->no_new_privileges) {
                r = seccomp_program_install(f->seccomp, err);
                if (r < 0)
                        return r;
        }
        return exec_in_container(proc, env, err);
}

int become_userns_root(struct coi_error *err)
{
        if (setresgid(0, 0, 0) < 0)
                return coi_error_set(err, errno, "setresgid 0 in the user namespace (is gid 0 mapped?): %m");
        if (setresuid(0, 0, 0) < 0)
                return coi_error_set(err, errno, "setresuid 0 in the user namespace (is uid 0 mapped?): %m");
        return 0;
}
