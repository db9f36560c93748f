/* linux.c — starting the container's init: clone into new namespaces (or stage the joins), id maps, the
 * parent's side of the sync protocol (sync.c), hooks at their points; the init's side is linux-init.c. */
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "linux-internal.h"
#include "mounts.h"
#include "process.h"
#include "state.h"
#include "sync.h"
#include "util.h"

/* ---- the id maps and the parent's other writes to /proc/PID ------------------------------------------ */

static int write_proc_file(pid_t pid, const char *file, const char *data, struct coi_error *err)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, data, strlen(data)) < 0)
                return coi_error_set(err, errno, "write %s: %m", path);
        return 0;
}

static int format_map(const struct oci_id_mapping *maps, size_t n, char *buf, size_t size)
{
        size_t off = 0;
        for (size_t i = 0; i < n; i++) {
                int k = snprintf(buf + off, size - off, "%u %u %u\n", maps[i].container_id, maps[i].host_id,
                                 maps[i].size);
                if (k < 0 || (size_t)k >= size - off)
                        return -E2BIG;
                off += (size_t)k;
        }
        return 0;
}

/* newuidmap/newgidmap: how an unprivileged caller gets more than its own id mapped (/etc/subuid). */
static int run_idmap_helper(const char *helper, pid_t pid, const struct oci_id_mapping *maps, size_t n,
                            struct coi_error *err)
{
        _cleanup_strv_ char **argv = NULL;
        char buf[32];
        if (strv_push(&argv, helper) < 0)
                return coi_error_set(err, ENOMEM, "%s: %m", helper);
        snprintf(buf, sizeof(buf), "%d", (int)pid);
        if (strv_push(&argv, buf) < 0)
                return coi_error_set(err, ENOMEM, "%s: %m", helper);
        for (size_t i = 0; i < n; i++) {
                uint32_t v[3] = { maps[i].container_id, maps[i].host_id, maps[i].size };
                for (int k = 0; k < 3; k++) {
                        snprintf(buf, sizeof(buf), "%u", v[k]);
                        if (strv_push(&argv, buf) < 0)
                                return coi_error_set(err, ENOMEM, "%s: %m", helper);
                }
        }
        extern char **environ;
        pid_t child;
        int r = posix_spawnp(&child, helper, NULL, NULL, argv, environ);
        if (r != 0)
                return coi_error_set(err, r, "run %s: %m", helper);
        int status = 0;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR)
                ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return coi_error_set(err, EPERM,
                                     "%s for pid %d failed (status %d): are the ids in /etc/sub%cid?", helper,
                                     (int)pid, status, helper[3]);
        return 0;
}

/* Writes the new user namespace's maps from outside it (only the parent namespace may). */
static int write_id_maps(pid_t pid, const struct oci_linux *l, bool *ret_setgroups_denied,
                         struct coi_error *err)
{
        char buf[8192];
        *ret_setgroups_denied = false;
        if (l->n_uid_mappings == 0 || l->n_gid_mappings == 0)
                return coi_error_set(err, EINVAL,
                                     "a new user namespace needs linux.uidMappings and gidMappings");
        bool root = geteuid() == 0;
        bool own_single = l->n_uid_mappings == 1 && l->n_gid_mappings == 1 && l->uid_mappings[0].size == 1 &&
                          l->gid_mappings[0].size == 1 && l->uid_mappings[0].host_id == geteuid() &&
                          l->gid_mappings[0].host_id == getegid();
        if (!root && !own_single) {
                int r = run_idmap_helper("newuidmap", pid, l->uid_mappings, l->n_uid_mappings, err);
                if (r < 0)
                        return r;
                return run_idmap_helper("newgidmap", pid, l->gid_mappings, l->n_gid_mappings, err);
        }
        if (!root) {
                /* An unprivileged process may map its own gid only after giving up setgroups(2) for the
                 * namespace, or it could drop a group that denies it access (kernel 3.19). */
                int r = write_proc_file(pid, "setgroups", "deny", err);
                if (r < 0)
                        return r;
                *ret_setgroups_denied = true;
        }
        if (format_map(l->uid_mappings, l->n_uid_mappings, buf, sizeof(buf)) < 0)
                return coi_error_set(err, E2BIG, "linux.uidMappings: too many entries");
        int r = write_proc_file(pid, "uid_map", buf, err);
        if (r < 0)
                return r;
        if (format_map(l->gid_mappings, l->n_gid_mappings, buf, sizeof(buf)) < 0)
                return coi_error_set(err, E2BIG, "linux.gidMappings: too many entries");
        return write_proc_file(pid, "gid_map", buf, err);
}

/* ---- linux_container_spawn (parent side) --------------------------------------------------------- */

static int open_container_userns(const struct linux_spawn *s, pid_t pid, int *ret_fd, struct coi_error *err)
{
        const struct oci_namespace *ns = &s->config->linux_.namespaces[OCI_NS_USER];
        *ret_fd = -1;
        if (!ns->present)
                return 0;
        char path[64];
        const char *p = ns->path;
        if (!p) {
                snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
                p = path;
        }
        *ret_fd = open(p, O_RDONLY | O_CLOEXEC);
        if (*ret_fd < 0)
                return coi_error_set(err, errno, "open the container's user namespace %s: %m", p);
        return 0;
}

/* The parent's share of the id work: maps, oom_score_adj, idmapped mounts; then GO. */
static int parent_setup_child(const struct linux_spawn *s, pid_t pid, bool new_userns, int sync_fd,
                              struct coi_error *err)
{
        const struct oci_config *config = s->config;
        bool denied = false;
        int r;
        if (new_userns) {
                r = write_id_maps(pid, &config->linux_, &denied, err);
                if (r < 0)
                        return r;
        }
        if (config->process.has_oom_score_adj) {
                char buf[16];
                snprintf(buf, sizeof(buf), "%d", config->process.oom_score_adj);
                r = write_proc_file(pid, "oom_score_adj", buf, err);
                if (r < 0)
                        return r;
        }
        size_t n = 0;
        for (size_t i = 0; i < config->n_mounts; i++)
                n += mounts_is_idmapped(&config->mounts[i]);
        if (n > SYNC_MAX_FDS)
                return coi_error_set(err, E2BIG, "more than %d idmapped mounts", SYNC_MAX_FDS);
        _cleanup_free_ int *fds = n ? calloc(n, sizeof(int)) : NULL;
        _cleanup_free_ uint32_t *idx = n ? calloc(n, sizeof(uint32_t)) : NULL;
        _cleanup_close_ int userns = -1;
        if (n && (!fds || !idx))
                return coi_error_set(err, ENOMEM, "idmapped mounts: %m");
        if (n) {
                r = open_container_userns(s, pid, &userns, err);
                if (r < 0)
                        return r;
        }
        size_t k = 0;
        for (size_t i = 0; r >= 0 && i < config->n_mounts; i++) {
                if (!mounts_is_idmapped(&config->mounts[i]))
                        continue;
                r = mounts_open_idmapped(&config->mounts[i], s->bundle, userns, &fds[k], err);
                if (r >= 0)
                        idx[k++] = (uint32_t)i;
        }
        if (r >= 0) {
                r = sync_send(sync_fd, SYNC_GO, denied, idx, k * sizeof(uint32_t), fds, k);
                if (r < 0)
                        r = coi_error_set(err, -r, "sync with the container's init: %m");
        }
        for (size_t i = 0; i < k; i++)
                close(fds[i]);
        return r;
}

static int make_state_json(const struct linux_spawn *s, pid_t pid, char **ret_json, struct coi_error *err)
{
        struct coi_state st = { .status = COI_STATUS_CREATED, .pid = pid };
        snprintf(st.id, sizeof(st.id), "%s", s->id ? s->id : "");
        snprintf(st.bundle, sizeof(st.bundle), "%s", s->bundle ? s->bundle : "");
        snprintf(st.rootfs, sizeof(st.rootfs), "%s", s->rootfs ? s->rootfs : "");
        st.annotations = s->config->annotations;
        return state_oci_json(&st, s->config->oci_version ? s->config->oci_version : "1.1.0", ret_json, err);
}

static int send_seccomp(struct coi_context *ctx, const struct oci_seccomp *config, int sync_fd,
                        struct coi_error *err)
{
        _cleanup_(seccomp_program_done) struct seccomp_program prog = { 0 };
        int r = seccomp_program_build(ctx, config, &prog, err);
        if (r < 0)
                return r;
        size_t size = prog.len * sizeof(struct sock_filter);
        if (size > SYNC_MAX_PAYLOAD)
                return coi_error_set(err, E2BIG, "linux.seccomp: the filter has %u instructions, too many",
                                     (unsigned)prog.len);
        r = sync_send(sync_fd, SYNC_SECCOMP, (int32_t)prog.flags, prog.filter, size, NULL, 0);
        /* The child failed meanwhile (it does not wait for the filter to set its mounts up): its error
         * is in the socket, and the caller's receive loop reports it. */
        if (r == -EPIPE || r == -ECONNRESET)
                return 0;
        if (r < 0)
                return coi_error_set(err, -r, "send the seccomp filter to the container's init: %m");
        return 0;
}

static void log_timings(struct coi_context *ctx, uint64_t start, const struct sync_msg *ready)
{
        if (!ctx || !ctx->timings || ready->len < sizeof(uint64_t) * _PHASE_MAX)
                return;
        uint64_t t[_PHASE_MAX];
        memcpy(t, ready->payload, sizeof(t));
        char line[512];
        size_t off = 0;
        uint64_t prev = start;
        for (int i = 0; i < _PHASE_MAX && off < sizeof(line); i++) {
                if (!t[i])
                        continue;
                off += (size_t)snprintf(line + off, sizeof(line) - off, "%s%s %.2f ms", off ? ", " : "",
                                        phase_to_string(i), (double)(t[i] - prev) / 1e6);
                prev = t[i];
        }
        coi_log(ctx, COI_LOG_INFO, "spawn: %s", line);
}

int linux_container_spawn(struct coi_context *ctx, const struct linux_spawn *spawn, pid_t *ret_pid,
                          struct coi_error *err)
{
        const struct oci_config *config = spawn->config;
        const struct oci_linux *l = &config->linux_;
        uint64_t start = now_ns();
        int r;
        if (!config->has_process || !config->process.args || !config->process.args[0])
                return coi_error_set(err, EINVAL, "process.args is empty: nothing to run");

        /* Which namespaces are new and which are joined decides between the direct path (clone3 makes
         * them all at once) and the staged one (join by path, then unshare, then fork for pid/time). */
        uint64_t new_flags = 0;
        bool joins = false;
        for (int t = 0; t < _OCI_NS_MAX; t++) {
                if (!l->namespaces[t].present)
                        continue;
                if (l->namespaces[t].path)
                        joins = true;
                else
                        new_flags |= (uint64_t)ns_clone_flag[t];
        }
        bool new_userns = new_flags & CLONE_NEWUSER;
        /* Time offsets must be written before any process enters the time namespace. */
        bool staged = joins || (new_flags & CLONE_NEWTIME) || (spawn->cgroup_path && spawn->cgroup_dirfd < 0);

        /* exec.fifo: writable by the container's (mapped) root; the init reopens it through an O_PATH
         * fd we hand down, so it never needs to search the state directory. */
        _cleanup_close_ int fifo = -1;
        if (spawn->wait_for_start) {
                if (fchmodat(spawn->state_dirfd, FIFO_FILE, 0622, 0) < 0) {
                        if (errno != ENOENT || mkfifoat(spawn->state_dirfd, FIFO_FILE, 0622) < 0 ||
                            fchmodat(spawn->state_dirfd, FIFO_FILE, 0622, 0) < 0)
                                return coi_error_set(err, errno, "create exec.fifo of %s: %m", spawn->id);
                }
                /* The init holds this fd while it waits (see wait_for_start): a detached clone of the
                 * fifo's mount, if we may make one (not rootless), shows no host path. */
                fifo = (int)syscall(SYS_open_tree, spawn->state_dirfd, FIFO_FILE,
                                    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
                if (fifo < 0)
                        fifo = openat(spawn->state_dirfd, FIFO_FILE, O_PATH | O_CLOEXEC);
                if (fifo < 0)
                        return coi_error_set(err, errno, "open exec.fifo of %s: %m", spawn->id);
        }

        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return coi_error_set(err, errno, "sync socketpair: %m");
        _cleanup_close_ int sync_fd = sv[0], child_end = sv[1];

        _cleanup_(spawn_parent_cleanup) struct spawn_parent p = { 0 };
        /* Direct path: the network namespace is unshared by the child (init_run), off our critical path;
         * only with a new user namespace, which then owns it just as with clone3. */
        uint64_t late_flags = !staged && new_userns ? (new_flags & CLONE_NEWNET) : 0;
        bool late_ipc = !staged && new_userns && (new_flags & CLONE_NEWIPC);
        p.child = clone3_fork(staged ? 0 : new_flags & ~late_flags & ~(late_ipc ? (uint64_t)CLONE_NEWIPC : 0),
                              spawn->cgroup_dirfd);
        bool enter_cgroup = spawn->cgroup_dirfd < 0 && spawn->cgroup_path;
        if (p.child < 0 && spawn->cgroup_dirfd >= 0) {
                /* No CLONE_INTO_CGROUP here: the staged path enters the cgroup by writing cgroup.procs,
                 * before it unshares the user namespace (the host's root owns the file). */
                staged = enter_cgroup = true;
                p.child = clone3_fork(0, -1);
        }
        if (p.child < 0)
                return coi_error_set(err, errno, "clone the container's init: %m");
        if (p.child == 0) {
                closep(&sync_fd);
                struct init_child c = {
                        .ctx = ctx,
                        .spawn = spawn,
                        .sync_fd = TAKE_FD(child_end),
                        .fifo_fd = TAKE_FD(fifo),
                        .staged = staged,
                        .unshare_flags = staged ? new_flags : late_flags,
                        .late_ipc = late_ipc,
                };
                struct coi_error cerr = { 0 };
                if (enter_cgroup) {
                        int r2 = spawn->cgroup_dirfd >= 0
                                         ? write_file_at(spawn->cgroup_dirfd, "cgroup.procs", "0", &cerr)
                                         : write_cgroup_procs(spawn->cgroup_path, &cerr);
                        if (r2 < 0)
                                sync_child_fail(ctx, c.sync_fd, &cerr);
                }
                /* The caller's directory fds must never reach the container. */
                if (spawn->cgroup_dirfd >= 0)
                        close(spawn->cgroup_dirfd);
                if (!spawn->wait_for_start && spawn->state_dirfd >= 0)
                        close(spawn->state_dirfd);
                init_run(&c, &cerr);
                sync_child_fail(ctx, c.sync_fd, &cerr);
        }
        closep(&child_end);
        closep(&fifo);
        p.init = p.child;

        /* The child exists: map its user namespace (staged: once it has unshared it). */
        struct sync_msg m = { 0 };
        if (staged && new_userns) {
                r = sync_expect(sync_fd, SYNC_USERNS_READY, "the container's init", &m, err);
                sync_msg_done(&m);
                if (r < 0)
                        return r;
        }
        r = parent_setup_child(spawn, p.child, new_userns, sync_fd, err);
        if (r < 0)
                return r;
        /* The filter compiles now, while the child sets its mounts up, instead of before clone. */
        if (spawn->seccomp_config) {
                r = send_seccomp(ctx, spawn->seccomp_config, sync_fd, err);
                if (r < 0)
                        return r;
        }
        if (!staged && spawn->on_spawned) {
                r = spawn->on_spawned(spawn->userdata, p.init, err);
                if (r < 0)
                        return r;
        }

        _cleanup_free_ char *state_json = NULL;
        bool ready = false;
        for (;;) {
                r = sync_recv(sync_fd, &m);
                if (r == -EPIPE) {
                        if (ready && !spawn->wait_for_start)
                                break; /* exec'd: the socket was O_CLOEXEC */
                        int status = 0;
                        pid_t w = waitpid(p.init, &status, WNOHANG);
                        return coi_error_set(err, ECHILD, "the container's init exited before it was ready%s",
                                             w == p.init && WIFSIGNALED(status) ? " (killed by a signal)"
                                                                                : "");
                }
                if (r < 0)
                        return coi_error_set(err, -r, "read the sync socket of the container's init: %m");
                switch (m.hdr.type) {
                case SYNC_ERROR:
                        r = coi_error_set(err, m.hdr.value ? m.hdr.value : EIO, "%s", m.payload);
                        sync_msg_done(&m);
                        return r;
                case SYNC_INIT_PID:
                        /* Staged: the middle process forked the init (as our child) and exits. */
                        p.init = m.hdr.value;
                        reap(p.child);
                        p.child = 0;
                        break;
                case SYNC_CREATE_RUNTIME:
                        if (spawn->on_create_runtime) {
                                r = spawn->on_create_runtime(spawn->userdata, p.init, err);
                                if (r < 0) {
                                        sync_msg_done(&m);
                                        return r;
                                }
                        }
                        r = make_state_json(spawn, p.init, &state_json, err);
                        if (r < 0) {
                                sync_msg_done(&m);
                                return r;
                        }
                        r = sync_send(sync_fd, SYNC_RESUME, 0, state_json, strlen(state_json) + 1, NULL, 0);
                        if (r < 0) {
                                sync_msg_done(&m);
                                return coi_error_set(err, -r, "resume the container's init: %m");
                        }
                        break;
                case SYNC_READY:
                        ready = true;
                        log_timings(ctx, start, &m);
                        break;
                default:
                        sync_msg_done(&m);
                        return coi_error_set(err, EPROTO,
                                             "unexpected sync message %u from the container's init",
                                             m.hdr.type);
                }
                sync_msg_done(&m);
                if (ready && spawn->wait_for_start)
                        break;
        }
        p.done = true;
        *ret_pid = p.init;
        return 0;
}
