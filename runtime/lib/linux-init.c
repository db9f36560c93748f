/* linux-init.c — the container's init after clone: namespaces joined or unshared (staged start), then its
 * setup sequence inside them: host name, rootfs and mounts, hooks, pivot_root, console, sysctl, exec. */
#include <sched.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "console.h"
#include "hooks.h"
#include "linux-internal.h"
#include "mounts.h"
#include "process.h"
#include "sync.h"
#include "util.h"

static int open_joined_namespaces(const struct oci_linux *l, int fds[_OCI_NS_MAX], struct coi_error *err)
{
        for (int t = 0; t < _OCI_NS_MAX; t++) {
                fds[t] = -1;
                if (!l->namespaces[t].present || !l->namespaces[t].path)
                        continue;
                fds[t] = open(l->namespaces[t].path, O_RDONLY | O_CLOEXEC);
                if (fds[t] < 0)
                        return coi_error_set(err, errno, "open %s namespace %s: %m", oci_namespace_name(t),
                                             l->namespaces[t].path);
        }
        return 0;
}

/* Staged start: join what the config names by path (user first: it decides our privileges over the
 * others), unshare the user namespace and let the parent map it, then unshare the rest. Sets
 * *ret_fork when the caller must fork so that pid/time namespaces apply. */
static int staged_enter(struct init_child *c, struct sync_msg *go, bool *ret_fork, struct coi_error *err)
{
        const struct linux_spawn *s = c->spawn;
        const struct oci_linux *l = &s->config->linux_;
        int fds[_OCI_NS_MAX];
        /* All opened before joining any: a path may live in a namespace we are about to leave. */
        int r = open_joined_namespaces(l, fds, err);
        if (r < 0)
                return r;
        if (fds[OCI_NS_USER] >= 0 && setns(fds[OCI_NS_USER], CLONE_NEWUSER) < 0)
                r = coi_error_set(err, errno, "join user namespace %s: %m", l->namespaces[OCI_NS_USER].path);
        for (int t = 0; r == 0 && t < _OCI_NS_MAX; t++)
                if (t != OCI_NS_USER && fds[t] >= 0 && setns(fds[t], ns_clone_flag[t]) < 0)
                        r = coi_error_set(err, errno, "join %s namespace %s: %m", oci_namespace_name(t),
                                          l->namespaces[t].path);
        for (int t = 0; t < _OCI_NS_MAX; t++)
                closep(&fds[t]);
        if (r < 0)
                return r;
        if (c->unshare_flags & CLONE_NEWUSER) {
                if (unshare(CLONE_NEWUSER) < 0)
                        return coi_error_set(err, errno, "unshare the user namespace: %m");
                r = sync_send(c->sync_fd, SYNC_USERNS_READY, 0, NULL, 0, NULL, 0);
                if (r < 0)
                        return coi_error_set(err, -r, "sync with the runtime: %m");
        }
        r = sync_expect(c->sync_fd, SYNC_GO, "the runtime", go, err);
        if (r < 0)
                return r;
        uint64_t rest = c->unshare_flags & ~(uint64_t)CLONE_NEWUSER;
        if ((c->unshare_flags & CLONE_NEWUSER) && (rest & CLONE_NEWIPC)) {
                rest &= ~(uint64_t)CLONE_NEWIPC;
                c->late_ipc = true;
        }
        if (rest && unshare((int)rest) < 0)
                return coi_error_set(err, errno, "unshare namespaces 0x%llx: %m", (unsigned long long)rest);
        if ((rest & CLONE_NEWTIME) && l->has_time_offsets) {
                char buf[128];
                snprintf(buf, sizeof(buf), "monotonic %lld %lld\nboottime %lld %lld\n",
                         (long long)l->monotonic_secs, (long long)l->monotonic_nsecs,
                         (long long)l->boottime_secs, (long long)l->boottime_nsecs);
                r = write_file_at(AT_FDCWD, "/proc/self/timens_offsets", buf, err);
                if (r < 0)
                        return r;
        }
        /* pid and time namespaces apply to children only. */
        *ret_fork = (rest & (CLONE_NEWPID | CLONE_NEWTIME)) || l->namespaces[OCI_NS_PID].path ||
                    l->namespaces[OCI_NS_TIME].path;
        return 0;
}

static bool needs_state_sync(const struct oci_config *config)
{
        return config->n_hooks[OCI_HOOK_PRESTART] || config->n_hooks[OCI_HOOK_CREATE_RUNTIME] ||
               config->n_hooks[OCI_HOOK_CREATE_CONTAINER] || config->n_hooks[OCI_HOOK_START_CONTAINER];
}

/* 1. Namespaces: made by clone3 already (direct), or joined/unshared here (staged); then the parent's GO,
 * which carries the setgroups state and the idmapped trees. */
static int enter_namespaces(struct init_child *c, struct sync_msg *go, struct coi_error *err)
{
        int r;
        if (!c->staged) {
                /* The network namespace is the slowest to make (devices, sysctl tables: most of the
                 * clone): we make it here instead of clone3, so that the parent writes our id maps and
                 * compiles the seccomp filter meanwhile. We are in the new user namespace already (with
                 * all capabilities there, mapped or not), so it owns the netns as if clone3 had made it.
                 * (A helper making it in parallel with our mounts was measured: no gain on 2 loaded CPUs,
                 * where the parent's work already fills the second one.) */
                if (c->unshare_flags && unshare((int)c->unshare_flags) < 0)
                        return coi_error_set(err, errno, "unshare the network namespace: %m");
                return sync_expect(c->sync_fd, SYNC_GO, "the runtime", go, err);
        }
        bool fork_again = false;
        r = staged_enter(c, go, &fork_again, err);
        if (r < 0 || !fork_again)
                return r;
        /* CLONE_PARENT: the init becomes the runtime's child (it can reap it); we exit. */
        pid_t pid = clone3_fork(CLONE_PARENT, -1);
        if (pid < 0)
                return coi_error_set(err, errno, "fork into the new pid namespace: %m");
        if (pid == 0)
                return 0;
        r = sync_send(c->sync_fd, SYNC_INIT_PID, pid, NULL, 0, NULL, 0);
        if (r < 0) {
                /* The runtime would not know the init: it must not run. */
                (void)kill(pid, SIGKILL);
                return coi_error_set(err, -r, "report the init's pid to the runtime: %m");
        }
        _exit(0);
}

/* 2. The container's root, in its user namespace, with its ipc namespace and session keyring. */
static int become_container_root(struct init_child *c, struct coi_error *err)
{
        const struct linux_spawn *s = c->spawn;
        const struct oci_linux *l = &s->config->linux_;
        int r;
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return coi_error_set(err, errno, "prctl(PR_SET_DUMPABLE): %m");
        if (l->namespaces[OCI_NS_USER].present) {
                r = become_userns_root(err);
                if (r < 0)
                        return r;
        }
        /* The ipc namespace's mqueue root takes its creator's ids: made now, /dev/mqueue belongs to the
         * container's root instead of the unmapped host root (nobody:nogroup inside). */
        if (c->late_ipc && unshare(CLONE_NEWIPC) < 0)
                return coi_error_set(err, errno, "unshare the ipc namespace: %m");
        if (!s->no_new_keyring)
                return join_session_keyring(s->id, err);
        return 0;
}

/* The parent's idmapped trees (GO's fds), indexed by config mount (GO's payload: their indices); NULL
 * when there are none. */
static int idmapped_trees_by_mount(const struct oci_config *config, const struct sync_msg *go, int **ret,
                                   struct coi_error *err)
{
        *ret = NULL;
        if (!go->n_fds)
                return 0;
        int *fds = malloc(config->n_mounts * sizeof(int));
        if (!fds)
                return coi_error_set(err, ENOMEM, "idmapped mounts: %m");
        for (size_t i = 0; i < config->n_mounts; i++)
                fds[i] = -1;
        const uint32_t *idx = (const uint32_t *)(void *)go->payload;
        for (size_t i = 0; i < go->n_fds && (i + 1) * sizeof(uint32_t) <= go->len; i++)
                if (idx[i] < config->n_mounts)
                        fds[idx[i]] = go->fds[i];
        *ret = fds;
        return 0;
}

/* 3. Host and domain name, inside the uts namespace only. */
static int set_host_names(const struct oci_config *config, struct coi_error *err)
{
        bool uts = config->linux_.namespaces[OCI_NS_UTS].present;
        if (config->hostname && *config->hostname) {
                if (!uts)
                        return coi_error_set(err, EINVAL, "hostname is set but there is no uts namespace");
                if (sethostname(config->hostname, strlen(config->hostname)) < 0)
                        return coi_error_set(err, errno, "sethostname %s: %m", config->hostname);
        }
        if (config->domainname && *config->domainname) {
                if (!uts)
                        return coi_error_set(err, EINVAL, "domainname is set but there is no uts namespace");
                if (setdomainname(config->domainname, strlen(config->domainname)) < 0)
                        return coi_error_set(err, errno, "setdomainname %s: %m", config->domainname);
        }
        return 0;
}

/* 4. The rootfs and every mount, still seeing the host's tree (bind sources live there). GO's idmapped
 * trees are attached now and closed. */
static int prepare_rootfs(struct init_child *c, struct sync_msg *go, struct coi_error *err)
{
        const struct linux_spawn *s = c->spawn;
        const struct oci_config *config = s->config;
        if (!config->linux_.namespaces[OCI_NS_MOUNT].present)
                return coi_error_set(err, EINVAL, "linux.namespaces: a mount namespace is required");
        _cleanup_free_ int *idmapped = NULL;
        int r = idmapped_trees_by_mount(config, go, &idmapped, err);
        if (r < 0)
                return r;
        struct mounts_setup ms = {
                .config = config,
                .rootfs = s->rootfs,
                .bundle = s->bundle,
                .cgroup_path = s->cgroup_path,
                .idmapped_fds = idmapped,
                .in_userns = config->linux_.namespaces[OCI_NS_USER].present,
        };
        r = mounts_prepare_rootfs(&ms, err);
        sync_msg_done(go); /* closes the idmapped trees: attached now */
        return r;
}

/* 5. The filter, which the parent compiled while we set the mounts up (msg holds it), or the one the
 * caller built; NULL for none. */
static int receive_seccomp(struct init_child *c, struct sync_msg *msg, struct seccomp_program *received,
                           const struct seccomp_program **ret, struct coi_error *err)
{
        const struct linux_spawn *s = c->spawn;
        *ret = s->seccomp;
        if (!s->seccomp_config)
                return 0;
        int r = sync_expect(c->sync_fd, SYNC_SECCOMP, "the runtime", msg, err);
        if (r < 0)
                return r;
        received->filter = (struct sock_filter *)(void *)msg->payload;
        received->len = (unsigned short)(msg->len / sizeof(struct sock_filter));
        received->flags = (unsigned)msg->hdr.value;
        *ret = received;
        return 0;
}

/* 6. createRuntime (in the parent) and createContainer (here, in the container's namespaces, before
 * pivot_root: hook paths still resolve in the runtime's view). resume gets the state JSON for the
 * hooks still to come (startContainer). */
static int create_hooks(struct init_child *c, struct sync_msg *resume, struct coi_error *err)
{
        const struct oci_config *config = c->spawn->config;
        if (!needs_state_sync(config))
                return 0;
        int r = sync_send(c->sync_fd, SYNC_CREATE_RUNTIME, 0, NULL, 0, NULL, 0);
        if (r < 0)
                return coi_error_set(err, -r, "sync with the runtime: %m");
        r = sync_expect(c->sync_fd, SYNC_RESUME, "the runtime", resume, err);
        if (r < 0)
                return r;
        if (config->n_hooks[OCI_HOOK_CREATE_CONTAINER])
                return hooks_run(c->ctx, config, OCI_HOOK_CREATE_CONTAINER, resume->payload, err);
        return 0;
}

/* 8. The console: a pty of the container's devpts, its slave on /dev/console (*ret_slave, or -1). The
 * console socket goes either way. */
static int setup_console(const struct linux_spawn *s, int *ret_slave, struct coi_error *err)
{
        const struct oci_config *config = s->config;
        _cleanup_close_ int socket_fd = s->console_socket_fd;
        _cleanup_close_ int slave = -1;
        *ret_slave = -1;
        if (!config->process.terminal)
                return 0;
        if (socket_fd < 0)
                return coi_error_set(err, EINVAL, "process.terminal is set but there is no console socket");
        int r = console_create(socket_fd, &config->process, &slave, err);
        if (r == 0)
                r = mounts_bind_console(slave, err);
        if (r < 0)
                return r;
        *ret_slave = TAKE_FD(slave);
        return 0;
}

/* Annotation: "true" locks the runtime's mounts in a container with its own user and mount namespaces. */
#define LOCK_MOUNTS_ANNOTATION "run.coi.lock-mounts"

/* 9b. Locks every mount made so far. They were made in a mount namespace owned by the container's own
 * user namespace, so its root could unmount a mask (uncovering /sys/firmware, /proc/keys, …) or remount a
 * read-only path read-write. The kernel locks mounts (MNT_LOCKED, and their ro/nosuid/nodev/noexec
 * flags) when it copies a mount namespace into a less privileged user namespace: a short-lived child
 * makes a nested user namespace and a copy of our mount namespace owned by it, and we move into that
 * copy. We keep our user namespace, and its capabilities cover the nested one (its parent), so new
 * mounts, umounts of new mounts and nested namespaces still work; only the runtime's mounts are fixed.
 * The price: with masks locked over /proc and /sys the kernel refuses a new proc or sysfs mount
 * (mount_too_revealing), which nested container runtimes need; hence opt-in, by annotation. */
static int lock_mounts(struct coi_error *err)
{
        int go[2], done[2];
        if (pipe2(go, O_CLOEXEC) < 0)
                return coi_error_set(err, errno, "lock the mounts: pipe: %m");
        if (pipe2(done, O_CLOEXEC) < 0) {
                int e = errno;
                close(go[0]);
                close(go[1]);
                return coi_error_set(err, e, "lock the mounts: pipe: %m");
        }
        _cleanup_close_ int go_r = go[0], go_w = go[1], done_r = done[0], done_w = done[1];
        pid_t pid = fork();
        if (pid < 0)
                return coi_error_set(err, errno, "lock the mounts: fork: %m");
        if (pid == 0) {
                /* Our own ends of the pipes first, whatever happens below: holding done's write end
                 * would keep the read under it from ever seeing EOF (a hang seen with an earlier build).
                 * Then only the two pipe ends stay open: it becomes dumpable, so that the parent may open
                 * its /proc/PID/ns/mnt, and must hold nothing of the host's then. */
                close(go[0]);
                close(done[1]);
                int keep_lo = go[1] < done[0] ? go[1] : done[0], keep_hi = go[1] < done[0] ? done[0] : go[1];
                close_range(3, keep_lo - 1, 0);
                close_range(keep_lo + 1, keep_hi - 1, 0);
                close_range(keep_hi + 1, ~0U, 0);
                char c = 0;
                if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0 || unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
                        c = (char)errno;
                if (write(go_w, &c, 1) != 1)
                        _exit(1);
                (void)!read(done_r, &c, 1); /* until the parent has moved in (or gave up: EOF) */
                _exit(0);
        }
        closep(&go_w);
        closep(&done_r);
        char c = 0;
        int r = 0;
        ssize_t n = read(go_r, &c, 1);
        if (n != 1)
                r = coi_error_set(err, EIO, "lock the mounts: the helper process died");
        else if (c != 0)
                r = coi_error_set(err, c, "lock the mounts: unshare a user and mount namespace: %m");
        if (r == 0) {
                char path[64];
                snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
                _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        r = coi_error_set(err, errno, "lock the mounts: open %s: %m", path);
                else if (setns(fd, CLONE_NEWNS) < 0)
                        r = coi_error_set(err, errno, "lock the mounts: join the locked copy: %m");
        }
        closep(&done_w);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        return r;
}

int init_run(struct init_child *c, struct coi_error *err)
{
        const struct linux_spawn *s = c->spawn;
        const struct oci_config *config = s->config;
        _cleanup_(sync_msg_done) struct sync_msg go = { 0 }, filter_msg = { 0 }, resume = { 0 };
        struct seccomp_program received = { 0 };
        const struct seccomp_program *seccomp = NULL;
        _cleanup_close_ int slave = -1;
        int r;
        c->timings[PHASE_CLONE] = now_ns();
        /* Not dumpable from the start: no process of the container may ptrace us or open our /proc
         * files while we hold fds of the host. An unprivileged parent must still write our id maps
         * (owned by root once we are not dumpable), so then it waits until after GO. */
        if (geteuid() == 0 && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return coi_error_set(err, errno, "prctl(PR_SET_DUMPABLE): %m");

        r = enter_namespaces(c, &go, err);
        if (r < 0)
                return r;
        c->timings[PHASE_IDMAPS] = now_ns();
        bool setgroups_denied = go.hdr.value != 0;
        r = become_container_root(c, err);
        if (r < 0)
                return r;
        r = set_host_names(config, err);
        if (r < 0)
                return r;
        r = prepare_rootfs(c, &go, err);
        if (r < 0)
                return r;
        c->timings[PHASE_MOUNTS] = now_ns();
        r = receive_seccomp(c, &filter_msg, &received, &seccomp, err);
        if (r < 0)
                return r;
        c->timings[PHASE_FILTER] = now_ns();
        r = create_hooks(c, &resume, err);
        if (r < 0)
                return r;

        /* 7. Into the rootfs; the host's tree is gone from this mount namespace afterwards. */
        r = mounts_pivot_root(s->rootfs, s->no_pivot, err);
        if (r < 0)
                return r;
        c->timings[PHASE_PIVOT] = now_ns();
        r = setup_console(s, &slave, err);
        if (r < 0)
                return r;
        /* 9. sysctl (before readonly paths make /proc/sys read-only), then masks and read-only views. */
        r = mounts_apply_sysctl(config, err);
        if (r == 0)
                r = mounts_finish_rootfs(config, err);
        const struct oci_namespace *ns = config->linux_.namespaces;
        const char *lock = oci_config_annotation(config, LOCK_MOUNTS_ANNOTATION);
        if (r == 0 && lock && streq(lock, "true") && ns[OCI_NS_USER].present && ns[OCI_NS_MOUNT].present &&
            !ns[OCI_NS_MOUNT].path)
                r = lock_mounts(err);
        if (r < 0)
                return r;

        /* 10. The process's own last steps, shared with exec'd processes: limits, fds, privileges, wait
         * for start, startContainer hooks, seccomp, execve. */
        struct finalize f = {
                .ctx = c->ctx,
                .config = config,
                .proc = &config->process,
                .seccomp = seccomp,
                .state_json = resume.payload,
                .sync_fd = c->sync_fd,
                .fifo_fd = c->fifo_fd,
                .fifo_dirfd = s->wait_for_start ? s->state_dirfd : -1,
                .console_slave = TAKE_FD(slave),
                .preserve_fds = s->preserve_fds,
                .setgroups_denied = setgroups_denied,
                .report_ready = true,
                .start_hooks = true,
                .timings = c->timings,
        };
        r = finalize_and_exec(&f, err);
        c->sync_fd = f.sync_fd;
        closep(&f.console_slave);
        return r;
}
