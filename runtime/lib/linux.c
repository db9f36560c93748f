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
                closep(&fds[i]); /* the child has its own now */
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

/* The child's requests until it is ready: the staged init's pid, the createRuntime point (then the
 * state for its hooks), READY. With wait_for_start it is ready when it waits on exec.fifo; without,
 * once it has exec'd (its end of the socket closes on exec). */
static int serve_until_ready(struct coi_context *ctx, const struct linux_spawn *spawn, int sync_fd,
                             struct spawn_parent *p, uint64_t start, struct coi_error *err)
{
        _cleanup_free_ char *state_json = NULL;
        bool ready = false;
        while (!ready || !spawn->wait_for_start) {
                _cleanup_(sync_msg_done) struct sync_msg m = { 0 };
                int r = sync_recv(sync_fd, &m);
                if (r == -EPIPE) {
                        if (ready)
                                return 0; /* exec'd: the socket was O_CLOEXEC */
                        int status = 0;
                        pid_t w = waitpid(p->init, &status, WNOHANG);
                        return coi_error_set(err, ECHILD, "the container's init exited before it was ready%s",
                                             w == p->init && WIFSIGNALED(status) ? " (killed by a signal)"
                                                                                 : "");
                }
                if (r < 0)
                        return coi_error_set(err, -r, "read the sync socket of the container's init: %m");
                switch (m.hdr.type) {
                case SYNC_ERROR:
                        return coi_error_set(err, m.hdr.value ? m.hdr.value : EIO, "%s", m.payload);
                case SYNC_INIT_PID:
                        /* Staged: the middle process forked the init (as our child) and exits. */
                        p->init = m.hdr.value;
                        reap(p->child);
                        p->child = 0;
                        break;
                case SYNC_CREATE_RUNTIME:
                        if (spawn->on_create_runtime) {
                                r = spawn->on_create_runtime(spawn->userdata, p->init, err);
                                if (r < 0)
                                        return r;
                        }
                        free(state_json);
                        state_json = NULL;
                        r = make_state_json(spawn, p->init, &state_json, err);
                        if (r < 0)
                                return r;
                        r = sync_send(sync_fd, SYNC_RESUME, 0, state_json, strlen(state_json) + 1, NULL, 0);
                        if (r < 0)
                                return coi_error_set(err, -r, "resume the container's init: %m");
                        break;
                case SYNC_READY:
                        ready = true;
                        log_timings(ctx, start, &m);
                        break;
                default:
                        return coi_error_set(err, EPROTO,
                                             "unexpected sync message %u from the container's init",
                                             m.hdr.type);
                }
        }
        return 0;
}

/* How the init gets its namespaces. */
struct ns_plan {
        uint64_t new_flags; /* the namespaces to make */
        bool new_userns;
        /* Joins by path, a time namespace (its offsets are written before any process enters it) or a
         * cgroup entered by path: the staged start (join, unshare, fork for pid/time) instead of the
         * direct one (clone3 makes them all at once). */
        bool staged;
        /* Direct path with a new user namespace: the network and ipc namespaces are made by the child
         * (init_run), off our critical path; owned by the new user namespace just as with clone3. */
        uint64_t late_flags;
        bool late_ipc;
};

static struct ns_plan plan_namespaces(const struct linux_spawn *spawn)
{
        const struct oci_linux *l = &spawn->config->linux_;
        struct ns_plan p = { 0 };
        bool joins = false;
        for (int t = 0; t < _OCI_NS_MAX; t++) {
                if (!l->namespaces[t].present)
                        continue;
                if (l->namespaces[t].path)
                        joins = true;
                else
                        p.new_flags |= (uint64_t)ns_clone_flag[t];
        }
        p.new_userns = p.new_flags & CLONE_NEWUSER;
        p.staged = joins || (p.new_flags & CLONE_NEWTIME) || (spawn->cgroup_path && spawn->cgroup_dirfd < 0);
        p.late_flags = !p.staged && p.new_userns ? (p.new_flags & CLONE_NEWNET) : 0;
        p.late_ipc = !p.staged && p.new_userns && (p.new_flags & CLONE_NEWIPC);
        return p;
}

/* exec.fifo: writable by the container's (mapped) root; the init reopens it through an O_PATH fd we
 * hand down (*ret_fd), so it never needs to search the state directory. */
static int open_exec_fifo(const struct linux_spawn *spawn, int *ret_fd, struct coi_error *err)
{
        if (fchmodat(spawn->state_dirfd, FIFO_FILE, 0622, 0) < 0) {
                if (errno != ENOENT || mkfifoat(spawn->state_dirfd, FIFO_FILE, 0622) < 0 ||
                    fchmodat(spawn->state_dirfd, FIFO_FILE, 0622, 0) < 0)
                        return coi_error_set(err, errno, "create exec.fifo of %s: %m", spawn->id);
        }
        /* The init holds this fd while it waits (see wait_for_start): a detached clone of the fifo's
         * mount, if we may make one (not rootless), shows no host path. */
        int fd = (int)syscall(SYS_open_tree, spawn->state_dirfd, FIFO_FILE,
                              OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (fd < 0)
                fd = openat(spawn->state_dirfd, FIFO_FILE, O_PATH | O_CLOEXEC);
        if (fd < 0)
                return coi_error_set(err, errno, "open exec.fifo of %s: %m", spawn->id);
        *ret_fd = fd;
        return 0;
}

/* The child after clone: into the cgroup unless clone3 put it there, then the init's whole setup
 * (linux-init.c). Never returns: it execs, or reports its error and exits. */
static _Noreturn void run_init_child(struct init_child *c, bool enter_cgroup)
{
        const struct linux_spawn *spawn = c->spawn;
        struct coi_error err = { 0 };
        if (enter_cgroup) {
                int r = spawn->cgroup_dirfd >= 0
                                ? write_file_at(spawn->cgroup_dirfd, "cgroup.procs", "0", &err)
                                : write_cgroup_procs(spawn->cgroup_path, &err);
                if (r < 0)
                        sync_child_fail(c->ctx, c->sync_fd, &err);
        }
        /* The caller's directory fds must never reach the container. */
        int cgroup_dirfd = spawn->cgroup_dirfd;
        closep(&cgroup_dirfd);
        int state_dirfd = spawn->wait_for_start ? -1 : spawn->state_dirfd;
        closep(&state_dirfd);
        if (init_run(c, &err) < 0) /* returns only on failure */
                sync_child_fail(c->ctx, c->sync_fd, &err);
        _exit(127);
}

/* The parent from clone to "set up": map the child's user namespace (staged: once it has unshared it),
 * send GO and the seccomp filter, then serve the child's requests until it is ready. */
static int parent_drive_child(struct coi_context *ctx, const struct linux_spawn *spawn,
                              const struct ns_plan *plan, int sync_fd, struct spawn_parent *p, uint64_t start,
                              struct coi_error *err)
{
        int r;
        if (plan->staged && plan->new_userns) {
                _cleanup_(sync_msg_done) struct sync_msg m = { 0 };
                r = sync_expect(sync_fd, SYNC_USERNS_READY, "the container's init", &m, err);
                if (r < 0)
                        return r;
        }
        r = parent_setup_child(spawn, p->child, plan->new_userns, sync_fd, err);
        if (r < 0)
                return r;
        /* The filter compiles now, while the child sets its mounts up, instead of before clone. */
        if (spawn->seccomp_config) {
                r = send_seccomp(ctx, spawn->seccomp_config, sync_fd, err);
                if (r < 0)
                        return r;
        }
        if (!plan->staged && spawn->on_spawned) {
                r = spawn->on_spawned(spawn->userdata, p->init, err);
                if (r < 0)
                        return r;
        }
        return serve_until_ready(ctx, spawn, sync_fd, p, start, err);
}

int linux_container_spawn(struct coi_context *ctx, const struct linux_spawn *spawn, pid_t *ret_pid,
                          struct coi_error *err)
{
        const struct oci_config *config = spawn->config;
        uint64_t start = now_ns();
        if (!config->has_process || !config->process.args || !config->process.args[0])
                return coi_error_set(err, EINVAL, "process.args is empty: nothing to run");
        struct ns_plan plan = plan_namespaces(spawn);
        _cleanup_close_ int fifo = -1;
        if (spawn->wait_for_start) {
                int r = open_exec_fifo(spawn, &fifo, err);
                if (r < 0)
                        return r;
        }
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return coi_error_set(err, errno, "sync socketpair: %m");
        _cleanup_close_ int sync_fd = sv[0], child_end = sv[1];

        _cleanup_(spawn_parent_cleanup) struct spawn_parent p = { 0 };
        uint64_t clone_flags = plan.staged ? 0 : plan.new_flags & ~plan.late_flags;
        if (plan.late_ipc)
                clone_flags &= ~(uint64_t)CLONE_NEWIPC;
        p.child = clone3_fork(clone_flags, spawn->cgroup_dirfd);
        bool enter_cgroup = spawn->cgroup_dirfd < 0 && spawn->cgroup_path;
        if (p.child < 0 && spawn->cgroup_dirfd >= 0) {
                /* No CLONE_INTO_CGROUP here: the staged path enters the cgroup by writing cgroup.procs,
                 * before it unshares the user namespace (the host's root owns the file). */
                plan.staged = enter_cgroup = true;
                plan.late_flags = 0;
                plan.late_ipc = false;
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
                        .staged = plan.staged,
                        .unshare_flags = plan.staged ? plan.new_flags : plan.late_flags,
                        .late_ipc = plan.late_ipc,
                };
                run_init_child(&c, enter_cgroup);
        }
        closep(&child_end);
        closep(&fifo);
        p.init = p.child;

        int r = parent_drive_child(ctx, spawn, &plan, sync_fd, &p, start, err);
        if (r < 0)
                return r;
        p.done = true;
        *ret_pid = p.init;
        return 0;
}
