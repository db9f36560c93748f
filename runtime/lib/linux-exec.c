/* linux-exec.c — a process exec'd into a running container: the init's namespaces joined through its
 * pidfd, its cgroup and root entered, the sync with the parent until the process has exec'd. */
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "console.h"
#include "linux-internal.h"
#include "process.h"
#include "sync.h"
#include "util.h"

static const char *const ns_proc_name[_OCI_NS_MAX] = {
        [OCI_NS_PID] = "pid", [OCI_NS_NETWORK] = "net", [OCI_NS_MOUNT] = "mnt",     [OCI_NS_IPC] = "ipc",
        [OCI_NS_UTS] = "uts", [OCI_NS_USER] = "user",   [OCI_NS_CGROUP] = "cgroup", [OCI_NS_TIME] = "time",
};

struct exec_child {
        struct coi_context *ctx;
        const struct linux_exec *exec;
        int sync_fd;
        int pidfd;
        int rootfd; /* the container's root as the init sees it (/proc/PID/root) */
        int ns_flags;
        bool setgroups_denied;
};

static int exec_run(struct exec_child *c, struct coi_error *err)
{
        const struct linux_exec *e = c->exec;
        const struct oci_process *proc = e->process;
        int r;
        /* Before joining anything: a process of the container (same uid once we join) could otherwise
         * ptrace us and take the fds we hold (the init's pidfd, its root). execve resets it. */
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return coi_error_set(err, errno, "prctl(PR_SET_DUMPABLE): %m");
        /* Written while we are still the host's root: lowering it later would need CAP_SYS_RESOURCE. */
        if (proc->has_oom_score_adj) {
                char buf[16];
                snprintf(buf, sizeof(buf), "%d", proc->oom_score_adj);
                r = write_file_at(AT_FDCWD, "/proc/self/oom_score_adj", buf, err);
                if (r < 0)
                        return r;
        }
        /* All of the init's namespaces at once through its pidfd; the kernel orders the user namespace
         * first (kernel 5.8). */
        if (c->ns_flags && setns(c->pidfd, c->ns_flags) < 0)
                return coi_error_set(err, errno, "join the namespaces of the container's init (pid %d): %m",
                                     (int)e->init_pid);
        closep(&c->pidfd);
        if (c->ns_flags & CLONE_NEWUSER) {
                r = become_userns_root(err);
                if (r < 0)
                        return r;
        }
        if (!e->no_new_keyring) {
                r = join_session_keyring(e->id, err);
                if (r < 0)
                        return r;
        }
        /* The init's root, also after a no_pivot chroot: the mount namespace's own root may be the host's. */
        if (fchdir(c->rootfd) < 0 || chroot(".") < 0 || chdir("/") < 0)
                return coi_error_set(err, errno, "enter the container's root: %m");
        closep(&c->rootfd);
        /* pid namespace membership takes effect for children only. */
        if (c->ns_flags & (CLONE_NEWPID | CLONE_NEWTIME)) {
                pid_t pid = clone3_fork(CLONE_PARENT, -1);
                if (pid < 0)
                        return coi_error_set(err, errno, "fork into the container's pid namespace: %m");
                if (pid > 0) {
                        r = sync_send(c->sync_fd, SYNC_INIT_PID, pid, NULL, 0, NULL, 0);
                        if (r < 0) {
                                /* The runtime would not know the process: it must not run. */
                                (void)kill(pid, SIGKILL);
                                return coi_error_set(err, -r, "report the exec'd process's pid: %m");
                        }
                        _exit(0);
                }
        }
        int slave = -1;
        if (proc->terminal) {
                if (e->console_socket_fd < 0)
                        return coi_error_set(err, EINVAL,
                                             "exec: a terminal was asked for but no console socket");
                r = console_create(e->console_socket_fd, proc, &slave, err);
                if (r < 0)
                        return r;
        }
        int console_socket_fd = e->console_socket_fd;
        closep(&console_socket_fd);
        struct finalize f = {
                .ctx = c->ctx,
                .config = e->config,
                .proc = proc,
                .seccomp = e->seccomp,
                .sync_fd = c->sync_fd,
                .fifo_fd = -1,
                .fifo_dirfd = -1,
                .console_slave = slave,
                .preserve_fds = e->preserve_fds,
                .setgroups_denied = c->setgroups_denied,
                .report_ready = true,
        };
        r = finalize_and_exec(&f, err);
        c->sync_fd = f.sync_fd;
        closep(&f.console_slave);
        return r;
}

static bool same_namespace(pid_t pid, const char *name)
{
        char path[64];
        struct stat a, b;
        snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, name);
        if (stat(path, &a) < 0)
                return true; /* the kernel lacks it: nothing to join */
        snprintf(path, sizeof(path), "/proc/self/ns/%s", name);
        if (stat(path, &b) < 0)
                return true;
        return a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

int linux_exec_spawn(struct coi_context *ctx, const struct linux_exec *exec, pid_t *ret_pid,
                     struct coi_error *err)
{
        const struct oci_process *proc = exec->process;
        if (!proc || !proc->args || !proc->args[0])
                return coi_error_set(err, EINVAL, "exec: no command given");
        pid_t ipid = exec->init_pid;
        struct exec_child c = { .ctx = ctx, .exec = exec, .sync_fd = -1, .pidfd = -1, .rootfd = -1 };

        _cleanup_close_ int pidfd = pidfd_open_(ipid);
        if (pidfd < 0)
                return coi_error_set(err, errno, "open the container's init (pid %d): %m", (int)ipid);
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/root", (int)ipid);
        _cleanup_close_ int rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return coi_error_set(err, errno, "open the container's root %s: %m", path);
        for (int t = 0; t < _OCI_NS_MAX; t++)
                if (!same_namespace(ipid, ns_proc_name[t]))
                        c.ns_flags |= ns_clone_flag[t];
        /* The init's setgroups state: with "deny", setgroups(2) fails, so the drop must not call it. */
        snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)ipid);
        _cleanup_free_ char *sg = NULL;
        if (read_file_at(AT_FDCWD, path, 64, &sg, NULL, NULL) == 0)
                c.setgroups_denied = startswith(sg, "deny");

        _cleanup_close_ int cgroup_fd = -1;
        if (exec->cgroup_path) {
                cgroup_fd = open(exec->cgroup_path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
                if (cgroup_fd < 0)
                        return coi_error_set(err, errno, "open the container's cgroup %s: %m",
                                             exec->cgroup_path);
        }
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return coi_error_set(err, errno, "sync socketpair: %m");
        _cleanup_close_ int sync_fd = sv[0], child_end = sv[1];

        _cleanup_(spawn_parent_cleanup) struct spawn_parent p = { 0 };
        p.child = clone3_fork(0, cgroup_fd);
        bool enter_cgroup = false;
        if (p.child < 0 && cgroup_fd >= 0) {
                enter_cgroup = true;
                p.child = clone3_fork(0, -1);
        }
        if (p.child < 0)
                return coi_error_set(err, errno, "fork the exec'd process: %m");
        if (p.child == 0) {
                closep(&sync_fd);
                struct coi_error cerr = { 0 };
                c.sync_fd = TAKE_FD(child_end);
                c.pidfd = TAKE_FD(pidfd);
                c.rootfd = TAKE_FD(rootfd);
                if (enter_cgroup && write_cgroup_procs(exec->cgroup_path, &cerr) < 0)
                        sync_child_fail(ctx, c.sync_fd, &cerr);
                closep(&cgroup_fd);
                if (exec_run(&c, &cerr) < 0) /* returns only on failure */
                        sync_child_fail(ctx, c.sync_fd, &cerr);
                _exit(127);
        }
        closep(&child_end);
        p.init = p.child;
        bool ready = false;
        for (;;) {
                struct sync_msg m = { 0 };
                int r = sync_recv(sync_fd, &m);
                if (r == -EPIPE) {
                        if (ready)
                                break;
                        return coi_error_set(err, ECHILD, "the exec'd process exited before it was ready");
                }
                if (r < 0)
                        return coi_error_set(err, -r, "read the sync socket of the exec'd process: %m");
                if (m.hdr.type == SYNC_ERROR) {
                        r = coi_error_set(err, m.hdr.value ? m.hdr.value : EIO, "%s", m.payload);
                        sync_msg_done(&m);
                        return r;
                }
                if (m.hdr.type == SYNC_INIT_PID) {
                        p.init = m.hdr.value;
                        reap(p.child);
                        p.child = 0;
                } else if (m.hdr.type == SYNC_READY) {
                        ready = true;
                }
                sync_msg_done(&m);
        }
        p.done = true;
        *ret_pid = p.init;
        return 0;
}
