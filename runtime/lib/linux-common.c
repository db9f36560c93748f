/* linux-common.c — the process primitives that starting the init (linux.c, linux-init.c) and exec
 * (linux-exec.c) share: clone3, the namespace flags, the session keyring, entering a cgroup, reaping. */
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "linux-internal.h"
#include "util.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

struct clone3_args {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
                set_tid_size, cgroup;
};

pid_t clone3_fork(uint64_t flags, int cgroup_fd)
{
        /* With CLONE_PARENT the kernel takes the exit signal from us and refuses one given here. */
        struct clone3_args a = { .flags = flags, .exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD };
        if (cgroup_fd >= 0) {
                a.flags |= CLONE_INTO_CGROUP;
                a.cgroup = (uint64_t)cgroup_fd;
        }
        return (pid_t)syscall(SYS_clone3, &a, sizeof(a));
}

const int ns_clone_flag[_OCI_NS_MAX] = {
        [OCI_NS_PID] = CLONE_NEWPID,       [OCI_NS_NETWORK] = CLONE_NEWNET, [OCI_NS_MOUNT] = CLONE_NEWNS,
        [OCI_NS_IPC] = CLONE_NEWIPC,       [OCI_NS_UTS] = CLONE_NEWUTS,     [OCI_NS_USER] = CLONE_NEWUSER,
        [OCI_NS_CGROUP] = CLONE_NEWCGROUP, [OCI_NS_TIME] = CLONE_NEWTIME,
};

/* A new session keyring, named after the container, joined by the init and by exec'd processes (as runc
 * does, unless --no-new-keyring). Otherwise they keep the caller's session keyring: the keys a user or
 * service on the host put there (credentials, tokens) would be possessed, thus readable, inside the
 * container. Made with the container's credentials, so its owner is the container's root. A kernel
 * without keys (ENOSYS) has nothing to leak. */
int join_session_keyring(const char *id, struct coi_error *err)
{
        char name[64 + 1024];
        snprintf(name, sizeof(name), "_ses.%s", id && *id ? id : "coi");
        if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name) < 0 && errno != ENOSYS) {
                if (errno == EDQUOT)
                        return coi_error_set(err, EDQUOT,
                                             "create the session keyring %s: the owner's key quota is used "
                                             "up (kernel.keys.maxkeys/maxbytes; or --no-new-keyring): %m",
                                             name);
                return coi_error_set(err, errno, "create the session keyring %s: %m", name);
        }
        return 0;
}

int write_cgroup_procs(const char *cgroup_path, struct coi_error *err)
{
        _cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", cgroup_path);
        if (!procs)
                return coi_error_set(err, ENOMEM, "cgroup %s: %m", cgroup_path);
        return write_file_at(AT_FDCWD, procs, "0", err);
}

void reap(pid_t pid)
{
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}

void spawn_parent_cleanup(struct spawn_parent *p)
{
        if (p->done)
                return;
        /* Our children until reaped, so kill fails only for ones already gone. */
        if (p->init > 0 && p->init != p->child) {
                (void)kill(p->init, SIGKILL);
                reap(p->init);
        }
        if (p->child > 0) {
                (void)kill(p->child, SIGKILL);
                reap(p->child);
        }
}
