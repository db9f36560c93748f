/* container.c — the lifecycle of coi's system containers: the store, names, ids, start (rootfs, runtime
 * container, network, limits, systemd's bus, the max_duration watcher), stop with a clean systemd
 * shutdown, delete, launch, orphans. */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "json-util.h"
#include "container-internal.h"
#include "container-limits.h"
#include "container-net.h"
#include "image/image.h"
#include "rootfs.h"
#include "seccomp-profile.h"
#include "system-config.h"
#include "util.h"

/* ---- cgroups ------------------------------------------------------------------------------------- */

/* The cgroup2 mount the runtime uses: /sys/fs/cgroup on a pure v2 host, else its unified mount. */
static const char *cgroup2_root(void)
{
        static struct coi_cgroup_hierarchy h;
        struct coi_error e;
        if (!h.mount_point[0] && coi_cgroup_detect(&h, &e) < 0)
                return "/sys/fs/cgroup";
        return h.mount_point;
}

/* Removes a container's cgroup (and what systemd left under it), then the coi parent once empty. */
static int cgroup_remove_tree(const char *path, struct coi_error *err)
{
        if (access(path, F_OK) == 0) {
                int r = coi_cgroup_destroy(path, err);
                if (r < 0)
                        return r;
        }
        _cleanup_free_ char *parent = xasprintf("%s%s", cgroup2_root(), SYSTEM_CGROUP_PARENT);
        if (parent)
                (void)rmdir(parent); /* EBUSY while another container has its group there */
        return 0;
}

static char *container_cgroup(const char *name)
{
        return xasprintf("%s%s/%s", cgroup2_root(), SYSTEM_CGROUP_PARENT, name);
}

/* ---- start --------------------------------------------------------------------------------------- */

/* The container's network goes in between create and start: init exists (its namespaces too) but
 * has not run yet. */
static int attach_network(struct container_store *s, const struct container_info *m, const char *rootfs,
                          const struct container_network *net, struct coi_error *err)
{
        struct coi_state st = { 0 };
        int r = coi_container_state(&s->ctx, m->name, &st, err);
        if (r < 0)
                return r;
        pid_t pid = st.pid;
        coi_state_free(&st);
        return container_network_attach(m->name, pid, rootfs, &m->ids, net, err);
}

struct start_child {
        struct container_store *s;
        const struct container_info *m;
        const char *rootfs;
        const struct container_network *net;
        const char *config_json;
};

/* In the starting child, whose stderr is console.log: what the runtime can report nowhere else (an
 * init failing after start) goes there. */
static void log_to_console(enum coi_log_level level, const char *msg, void *userdata)
{
        if (level <= COI_LOG_WARNING)
                dprintf(STDERR_FILENO, "coi-runtime: %s\n", msg);
}

static int start_in_child(void *userdata, struct coi_error *err)
{
        const struct start_child *c = userdata;
        struct container_store *s = c->s;
        const char *name = c->m->name, *cdir = c->m->dir;
        int r = 0;
        _cleanup_free_ char *log = xasprintf("%s/%s", cdir, CONTAINER_CONSOLE_LOG);
        int logfd =
                log ? open(log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600) : -1;
        int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (logfd < 0 || nullfd < 0)
                r = coi_error_set(err, errno, "open %s: %m", log ? log : "console log");
        if (r == 0 && (setsid() < 0 || dup2(nullfd, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0))
                r = coi_error_set(err, errno, "set up the stdio of %s: %m", name);
        struct coi_create_options o = { .bundle = cdir, .config_json = c->config_json };
        s->ctx.log = log_to_console; /* this child's copy of the store */
        s->ctx.log_level = COI_LOG_WARNING;
        if (r == 0)
                r = coi_container_create(&s->ctx, name, &o, err);
        if (r == 0 && c->net) {
                r = attach_network(s, c->m, c->rootfs, c->net, err);
                if (r < 0) {
                        struct coi_error e2 = { 0 };
                        coi_container_delete(&s->ctx, name, true, &e2);
                }
        }
        if (r == 0) {
                r = coi_container_start(&s->ctx, name, err);
                if (r < 0) {
                        struct coi_error e2 = { 0 };
                        coi_container_delete(&s->ctx, name, true, &e2);
                }
        }
        return r;
}

/* Creates and starts the runtime container in a child that first calls setsid(), so the container's
 * init is in no terminal's session, and whose stdio (inherited by init) is console.log and /dev/null.
 * The init is a child of that child (CLONE_PARENT) and is reparented when it exits. */
static int runtime_create_and_start(struct container_store *s, const struct container_info *m,
                                    const char *rootfs, const struct container_network *net,
                                    const char *config_json, struct coi_error *err)
{
        struct start_child c = { .s = s, .m = m, .rootfs = rootfs, .net = net, .config_json = config_json };
        return container_run_in_child(start_in_child, &c, "start", "starting", m->name, err);
}

/* The runtime binds the rootfs from inside the container's user namespace, whose root is an ordinary
 * uid on the host: every directory above the rootfs must let others through (x), or that fails with a
 * bare EACCES. Say which one instead. */
static int check_traversable(const char *dir, uint32_t uid, struct coi_error *err)
{
        _cleanup_free_ char *p = strdup(dir);
        if (!p)
                return coi_error_set(err, ENOMEM, "%s: %m", dir);
        for (char *slash = p; slash;) {
                slash = strchr(slash + 1, '/');
                if (slash)
                        *slash = '\0';
                struct stat st;
                if (stat(*p ? p : "/", &st) < 0)
                        return coi_error_set(err, errno, "stat %s: %m", p);
                if (S_ISDIR(st.st_mode) && !(st.st_mode & S_IXOTH))
                        return coi_error_set(
                                err, EACCES,
                                "%s (mode %04o) is not searchable by others: the container's root "
                                "(uid %u on the host) must reach its rootfs through it (chmod o+x, "
                                "or choose another COI_DATA_DIR)",
                                p, (unsigned)(st.st_mode & 07777), uid);
                if (slash)
                        *slash = '/';
        }
        return 0;
}

/* Returns once systemd in the container listens on its private bus (what systemctl talks to), so an
 * exec right after launch finds it; gives up silently after timeout_ms (an init that is not systemd). */
static void wait_for_systemd_bus(struct container_store *s, const char *name, int timeout_ms)
{
        struct coi_state st = { 0 };
        struct coi_error e = { 0 };
        if (coi_container_state(&s->ctx, name, &st, &e) < 0)
                return;
        pid_t pid = st.pid;
        coi_state_free(&st);
        char path[96];
        snprintf(path, sizeof(path), "/proc/%d/root/run/systemd/private", (int)pid);
        uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;
        while (access(path, F_OK) < 0 && errno == ENOENT && now_ns() < deadline)
                nanosleep(&(struct timespec){ .tv_nsec = 5000000 }, NULL);
}

/* The watcher: waits for init's exit or the deadline, then stops the container as [limits.runtime] says. */
static void watch(struct container_store *s, const char *name, int pidfd, const struct limits *l)
{
        uint64_t deadline = now_ns() + l->max_duration_ms * 1000000u;
        for (;;) {
                uint64_t now = now_ns();
                if (now >= deadline)
                        break;
                uint64_t left_ms = (deadline - now) / 1000000u + 1;
                struct pollfd p = { .fd = pidfd, .events = POLLIN };
                int r = poll(&p, 1, left_ms > INT32_MAX ? INT32_MAX : (int)left_ms);
                if (r > 0)
                        return; /* init exited: this run is over */
                if (r < 0 && errno != EINTR)
                        return;
        }
        char when[32];
        limits_format_duration(l->max_duration_ms, when, sizeof(when));
        if (!l->auto_stop) {
                fprintf(stderr, "coi: %s reached limits.runtime.max_duration (%s); auto_stop is off\n", name,
                        when);
                return;
        }
        fprintf(stderr, "coi: %s reached limits.runtime.max_duration (%s): stopping it%s\n", name, when,
                l->stop_graceful ? "" : " (kill)");
        struct coi_error e = { 0 };
        if (container_stop(s, name, CONTAINER_STOP_TIMEOUT, !l->stop_graceful, NULL, &e) < 0)
                fprintf(stderr, "coi: stop %s at its max_duration: %s\n", name, e.msg);
}

/* After a start with a max_duration: a detached watcher (a daemon of its own) that stops name when the time
 * has passed (SIGRTMIN+3 and up to CONTAINER_STOP_TIMEOUT s when stop_graceful, else at once; only a line
 * in console.log when auto_stop is off). It ends with init (pidfd), so a restart gets a fresh one. */
static int watch_max_duration(struct container_store *s, const char *name, pid_t init, const struct limits *l,
                              struct coi_error *err)
{
        if (!l->max_duration_ms)
                return 0;
        _cleanup_close_ int pidfd = pidfd_open_(init);
        if (pidfd < 0)
                return coi_error_set(err, errno, "watch %s for its max_duration: pidfd of init %d: %m", name,
                                     (int)init);
        _cleanup_free_ char *log = xasprintf("%s/%s/%s", s->path, "containers", name);
        pid_t pid = fork();
        if (pid < 0)
                return coi_error_set(err, errno, "watch %s for its max_duration: fork: %m", name);
        if (pid == 0) {
                /* A daemon of its own: nothing of the caller's (a terminal, the pipes a test reads)
                 * stays open in it; what it says goes to the container's console.log. */
                if (setsid() < 0 || fork() != 0)
                        _exit(0);
                _cleanup_free_ char *path = log ? xasprintf("%s/%s", log, CONTAINER_CONSOLE_LOG) : NULL;
                int fd = path ? open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600) : -1;
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null < 0 || dup2(null, 0) < 0 || dup2(fd >= 0 ? fd : null, 1) < 0 ||
                    dup2(fd >= 0 ? fd : null, 2) < 0)
                        _exit(1);
                for (int i = 3; i < 1024; i++)
                        if (i != pidfd && i != s->dirfd && i != s->cdirfd)
                                close(i);
                signal(SIGINT, SIG_IGN);
                signal(SIGHUP, SIG_IGN);
                watch(s, name, pidfd, l);
                _exit(0);
        }
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        return 0;
}

static int start_locked(struct container_store *s, const struct container_info *m,
                        const struct container_mount *mounts, size_t n_mounts, bool no_wait,
                        struct coi_error *err)
{
        const char *name = m->name;
        int r = check_traversable(m->dir, m->ids.uid, err);
        if (r < 0)
                return r;
        struct coi_state st = { 0 };
        struct coi_error e = { 0 };
        if (coi_container_state(&s->ctx, name, &st, &e) == 0) {
                enum coi_status status = st.status;
                coi_state_free(&st);
                if (status != COI_STATUS_STOPPED)
                        return coi_error_set(err, EBUSY, "container %s is already %s", name,
                                             coi_status_to_string(status));
                /* Debris of a run whose stop never happened (host crash, kill -9 of coi). */
                r = coi_container_delete(&s->ctx, name, true, err);
                if (r < 0)
                        return r;
        }
        r = rootfs_unmount(m->dir, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *cg = container_cgroup(name);
        if (!cg)
                return coi_error_set(err, ENOMEM, "cgroup of %s: %m", name);
        r = cgroup_remove_tree(cg, err);
        if (r < 0)
                return coi_error_prefix(err, "container %s: leftover cgroup: ", name);

        _cleanup_(image_store_freep) struct image_store *images = NULL;
        r = image_store_open(NULL, false, &images, err);
        if (r < 0)
                return r;
        _cleanup_close_ int image_fd = -1;
        r = image_rootfs_open(images, m->image, &image_fd, err);
        if (r < 0)
                return coi_error_prefix(err, "container %s: ", name);
        _cleanup_free_ char *seccomp_spec = NULL, *seccomp = NULL;
        const char *seccomp_origin = NULL;
        r = seccomp_profile_recorded(s->cdirfd, name, &seccomp_spec, err);
        r = r ?: seccomp_profile_load(seccomp_spec, &seccomp, &seccomp_origin, err);
        if (r < 0)
                return r;
        _cleanup_(container_network_record_done) struct container_network_record net = { 0 };
        bool has_net = false;
        r = container_network_load(s->cdirfd, name, &net, &has_net, err);
        if (r < 0)
                return r;

        struct limits limits;
        bool has_limits = false;
        r = container_limits_load(s->cdirfd, name, &limits, &has_limits, err);
        if (r < 0)
                return r;
        /* io.max goes on the disks behind the upper layer and the bind mounts. */
        const char *paths[CONTAINER_MAX_DISKS];
        size_t n_paths = 0;
        paths[n_paths++] = m->dir;
        for (size_t i = 0; i < n_mounts && n_paths < CONTAINER_MAX_DISKS; i++)
                paths[n_paths++] = mounts[i].source;
        dev_t disks[CONTAINER_MAX_DISKS];
        size_t n_disks = has_limits ? container_limits_disks(paths, n_paths, disks) : 0;

        r = rootfs_mount(m->dir, image_fd, &m->ids, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *rootfs = xasprintf("%s/%s", m->dir, ROOTFS_MOUNT);
        _cleanup_free_ char *json = NULL;
        struct system_config c = {
                .name = name,
                .rootfs = rootfs,
                .ids = m->ids,
                .seccomp_json = seccomp,
                .seccomp_origin = seccomp_origin,
                /* strict means no nesting: the masks can be locked (seccomp-profile.h) */
                .lock_mounts = streq(seccomp_spec, SECCOMP_PROFILE_STRICT),
                .limits = has_limits ? &limits : NULL,
                .io_devices = disks,
                .n_io_devices = n_disks,
        };
        if (!rootfs)
                r = coi_error_set(err, ENOMEM, "rootfs of %s: %m", name);
        r = r ?: rootfs_write_machine_id(m->dir, &m->ids, err);
        r = r ?: rootfs_write_hostname(m->dir, &m->ids, name, err);
        r = r ?: rootfs_write_hosts(m->dir, &m->ids, name, err);
        r = r ?: attach_docker_data(rootfs, m, err);
        r = r ?: attach_mounts(rootfs, m, mounts, n_mounts, err);
        r = r ?: system_config_json(&c, &json, err);
        r = r ?: runtime_create_and_start(s, m, rootfs, has_net ? &net.net : NULL, json, err);
        if (r < 0) {
                struct coi_error e2 = { 0 };
                if (rootfs)
                        unmount_below(rootfs, &e2);
                rootfs_unmount(m->dir, &e2);
                return r;
        }
        if (has_limits && limits.max_duration_ms) {
                struct coi_state now = { 0 };
                r = coi_container_state(&s->ctx, name, &now, err);
                pid_t init = now.pid;
                coi_state_free(&now);
                r = r ?: watch_max_duration(s, name, init, &limits, err);
                if (r < 0)
                        return r; /* the caller's stop cleans up */
        }
        if (!no_wait)
                wait_for_systemd_bus(s, name, CONTAINER_BUS_TIMEOUT_MS);
        return 0;
}

int container_start(struct container_store *s, const char *name, struct coi_error *err)
{
        return container_start_with(s, name, NULL, 0, false, err);
}

int container_start_with(struct container_store *s, const char *name, const struct container_mount *mounts,
                         size_t n_mounts, bool no_wait, struct coi_error *err)
{
        _cleanup_close_ int lock = -1;
        _cleanup_(container_info_freep) struct container_info *m = NULL;
        int r = lock_and_read(s, name, &lock, &m, err);
        if (r < 0)
                return r;
        /* The devices `coi container mount` added come with every start, after the caller's mounts. */
        _cleanup_(mounts_record_freep) struct mounts_record *rec = NULL;
        _cleanup_free_ struct container_mount *all = NULL;
        size_t n_all = 0;
        r = add_recorded_devices(s, name, mounts, n_mounts, &rec, &all, &n_all, err);
        if (r < 0)
                return r;
        return start_locked(s, m, all ? all : mounts, all ? n_all : n_mounts, no_wait, err);
}

int container_start_recorded(struct container_store *s, const char *name, struct coi_error *err)
{
        int r = container_validate_name(name, err);
        if (r < 0)
                return r;
        _cleanup_(mounts_record_freep) struct mounts_record *rec = NULL;
        const struct container_mount *mounts = NULL;
        size_t n = 0;
        r = mounts_recorded(s, name, &rec, &mounts, &n, err);
        return r ?: container_start_with(s, name, mounts, n, false, err);
}

char *container_rootfs_path(struct container_store *s, const char *name)
{
        return xasprintf("%s/containers/%s/%s", s->path, name, ROOTFS_MOUNT);
}

int container_ids(struct container_store *s, const char *name, struct idmap_allocation *ret,
                  struct coi_error *err)
{
        _cleanup_(container_info_freep) struct container_info *m = NULL;
        int r = container_metadata_read(s, name, &m, err);
        if (r < 0)
                return r;
        *ret = m->ids;
        return 0;
}

void container_wait_ready(struct container_store *s, const char *name, int timeout_ms)
{
        wait_for_systemd_bus(s, name, timeout_ms);
}

/* systemctl is-system-running in the container, as root: its answer (first line), "" when none. */
static void system_state(struct container_store *s, const char *name, char *state, size_t size)
{
        char *argv[] = { "systemctl", "is-system-running", NULL };
        struct container_exec_options xo = { .args = argv, .cwd = "/", .capture = true };
        struct container_exec_result res = { 0 };
        struct coi_error e = { 0 };
        state[0] = '\0';
        if (container_exec(s, name, &xo, &res, &e) == 0 && res.out)
                snprintf(state, size, "%.*s", (int)strcspn(res.out, "\n"), res.out);
        container_exec_result_done(&res);
}

int container_wait_booted(struct container_store *s, const char *name, int timeout_ms, char *state,
                          size_t size)
{
        static const char *const final[] = { "running", "degraded", "maintenance", "stopping", NULL };
        uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;
        wait_for_systemd_bus(s, name, timeout_ms);
        /* Polled rather than `is-system-running --wait`, which could block past any deadline. */
        long delay_ms = 10;
        for (;;) {
                system_state(s, name, state, size);
                if (!state[0] || strv_contains((char **) final, state))
                        return state[0] ? 0 : -ENOENT; /* no answer: no systemctl, or no systemd */
                if (now_ns() >= deadline)
                        return -ETIME;
                nanosleep(&(struct timespec){ .tv_nsec = delay_ms * 1000000 }, NULL);
                delay_ms = delay_ms * 2 > 100 ? 100 : delay_ms * 2;
        }
}

char *container_cgroup_path(const char *name)
{
        return container_cgroup(name);
}

int container_set_ephemeral(struct container_store *s, const char *name, bool ephemeral,
                            struct coi_error *err)
{
        _cleanup_close_ int lock = -1;
        _cleanup_(container_info_freep) struct container_info *m = NULL;
        int r = lock_and_read(s, name, &lock, &m, err);
        if (r < 0)
                return r;
        m->ephemeral = ephemeral;
        return container_metadata_write(s, m, err);
}

int container_set_network(struct container_store *s, const char *name, const struct container_network *net,
                          struct coi_error *err)
{
        _cleanup_close_ int lock = -1;
        int r = container_validate_name(name, err);
        r = r ?: container_lock(s, name, &lock, err);
        return r ?: container_network_save(s->cdirfd, name, net, err);
}

int container_unfreeze(struct container_store *s, const char *name, struct coi_error *err)
{
        int r = container_validate_name(name, err);
        return r ?: coi_container_resume(&s->ctx, name, err);
}

/* Adds the names of dir's sub-directories; with only, just those already in *only (NULL = all). */
static void push_dir_names(char ***list, const char *dir, char **only)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.' && de->d_type == DT_DIR &&
                    (!only || strv_contains(only, de->d_name)))
                        strv_push(list, de->d_name);
}

int container_orphan_candidates(struct container_store *s, char ***ret, struct coi_error *err)
{
        _cleanup_strv_ char **list = NULL;
        _cleanup_free_ char *cdir = xasprintf("%s/containers", s->path);
        _cleanup_free_ char *cgp = xasprintf("%s%s", cgroup2_root(), SYSTEM_CGROUP_PARENT);
        if (!cdir || !cgp)
                return coi_error_set(err, ENOMEM, "orphans: %m");
        push_dir_names(&list, cdir, NULL);
        /* idmap.json entries: read through idmap_lookup is per name; scan the file's keys cheaply. */
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        if (read_file_at(s->dirfd, IDMAP_TABLE_FILE, 1 << 22, &data, &len, err) == 0) {
                yajl_val root = yajl_tree_parse(data, NULL, 0);
                const char *path[] = { "allocations", NULL };
                yajl_val a = root ? yajl_tree_get(root, path, yajl_t_object) : NULL;
                for (size_t i = 0; a && i < a->u.object.len; i++)
                        strv_push(&list, a->u.object.keys[i]);
                yajl_tree_free(root);
        }
        /* The runtime's state root and the cgroup parent may be shared with another store (another
         * COI_DATA_DIR): their entries are this store's only when the name has a trace here. Nothing of
         * ours outlives both (the directory is removed last, the name claimed first). */
        _cleanup_strv_ char **ours = strv_copy(list);
        if (!ours && list)
                return coi_error_set(err, ENOMEM, "orphans: %m");
        push_dir_names(&list, s->ctx.state_root ? s->ctx.state_root : CONTAINER_RUNTIME_ROOT, ours);
        push_dir_names(&list, cgp, ours);
        *ret = TAKE_PTR(list);
        return 0;
}

int container_clean_orphan(struct container_store *s, const char *name, struct coi_error *err)
{
        int r = container_validate_name(name, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *dir = container_dir(s, name);
        _cleanup_free_ char *cg = container_cgroup(name);
        _cleanup_free_ char *rootfs = dir ? xasprintf("%s/%s", dir, ROOTFS_MOUNT) : NULL;
        if (!dir || !cg || !rootfs)
                return coi_error_set(err, ENOMEM, "container %s: %m", name);
        struct coi_error e = { 0 };
        r = coi_container_delete(&s->ctx, name, true, &e);
        if (r < 0 && r != -ENOENT)
                return coi_error_set(err, -r, "%s", e.msg);
        r = container_network_detach(name, err);
        r = r ?: unmount_below(rootfs, err);
        r = r ?: rootfs_unmount(dir, err);
        r = r ?: cgroup_remove_tree(cg, err);
        r = r ?: rootfs_remove_tree_at(s->cdirfd, name, dir, err);
        return r ?: idmap_release(s->dirfd, name, err);
}

/* ---- stop, delete -------------------------------------------------------------------------------- */

/* 0 when the process behind pidfd has exited, -ETIME after timeout_ms. */
static int wait_pidfd(int pidfd, int timeout_ms)
{
        uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;
        for (;;) {
                struct pollfd p = { .fd = pidfd, .events = POLLIN };
                uint64_t now = now_ns();
                int left = now >= deadline ? 0 : (int)((deadline - now) / 1000000u);
                int n = poll(&p, 1, left);
                if (n > 0)
                        return 0;
                if (n == 0)
                        return -ETIME;
                if (errno != EINTR)
                        return -errno;
        }
}

/* Everything after init is gone: the runtime container, mounts, cgroups; ephemeral: the container. */
static int teardown(struct container_store *s, const struct container_info *m, bool remove,
                    struct coi_error *err)
{
        int r = coi_container_delete(&s->ctx, m->name, true, err);
        if (r < 0 && r != -ENOENT)
                return r;
        r = container_network_detach(m->name, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *rootfs = xasprintf("%s/%s", m->dir, ROOTFS_MOUNT);
        r = rootfs ? unmount_below(rootfs, err) : coi_error_set(err, ENOMEM, "rootfs of %s: %m", m->name);
        r = r ?: rootfs_unmount(m->dir, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *cg = container_cgroup(m->name);
        if (!cg)
                return coi_error_set(err, ENOMEM, "cgroup of %s: %m", m->name);
        r = cgroup_remove_tree(cg, err);
        if (r < 0)
                return r;
        if (!remove)
                return 0;
        r = rootfs_remove_tree_at(s->cdirfd, m->name, m->dir, err);
        if (r < 0)
                return r;
        return idmap_release(s->dirfd, m->name, err);
}

static int stop_locked(struct container_store *s, const struct container_info *m, int timeout_s, bool force,
                       struct container_stop_result *ret, struct coi_error *err)
{
        struct container_stop_result res = { 0 };
        struct coi_state st = { 0 };
        struct coi_error e = { 0 };
        bool running = coi_container_state(&s->ctx, m->name, &st, &e) == 0 && st.status != COI_STATUS_STOPPED;
        pid_t pid = st.pid;
        coi_state_free(&st);
        if (running) {
                res.was_running = true;
                _cleanup_close_ int pidfd = pidfd_open_(pid);
                uint64_t t0 = now_ns();
                int r = -ETIME;
                if (pidfd < 0) {
                        r = 0; /* already gone */
                } else if (!force && st.status == COI_STATUS_RUNNING) {
                        /* systemd's "halt": a clean shutdown; in a pid namespace its final reboot(2)
                         * ends the namespace's init. */
                        if (coi_container_kill(&s->ctx, m->name, SIGRTMIN + 3, false, &e) == 0)
                                r = wait_pidfd(pidfd, timeout_s * 1000);
                }
                if (r == -ETIME) {
                        res.killed = true;
                        r = coi_container_kill(&s->ctx, m->name, SIGKILL, true, err);
                        if (r < 0 && r != -ESRCH)
                                return r;
                        if (pidfd >= 0 && wait_pidfd(pidfd, 10000) < 0)
                                return coi_error_set(err, ETIME,
                                                     "the init (pid %d) of %s survived SIGKILL for 10 s",
                                                     (int)pid, m->name);
                }
                res.seconds = (double)(now_ns() - t0) / 1e9;
        }
        int r = teardown(s, m, m->ephemeral, err);
        if (r < 0)
                return r;
        if (ret)
                *ret = res;
        return 0;
}

int container_stop(struct container_store *s, const char *name, int timeout_s, bool force,
                   struct container_stop_result *ret, struct coi_error *err)
{
        _cleanup_close_ int lock = -1;
        _cleanup_(container_info_freep) struct container_info *m = NULL;
        int r = lock_and_read(s, name, &lock, &m, err);
        return r < 0 ? r : stop_locked(s, m, timeout_s, force, ret, err);
}

int container_delete(struct container_store *s, const char *name, bool force, struct coi_error *err)
{
        int r = container_validate_name(name, err);
        if (r < 0)
                return r;
        _cleanup_close_ int lock = -1;
        r = container_lock(s, name, &lock, err);
        if (r < 0)
                return r;
        _cleanup_(container_info_freep) struct container_info *m = NULL;
        r = container_metadata_read(s, name, &m, err);
        if (r == -ENOENT) {
                /* An interrupted launch: the name is claimed but there is no metadata. */
                _cleanup_free_ char *dir = container_dir(s, name);
                if (!dir)
                        return coi_error_set(err, ENOMEM, "container %s: %m", name);
                struct coi_error e = { 0 };
                coi_container_delete(&s->ctx, name, true, &e);
                _cleanup_free_ char *cg = container_cgroup(name);
                r = cg ? 0 : coi_error_set(err, ENOMEM, "cgroup of %s: %m", name);
                r = r ?: container_network_detach(name, err);
                r = r ?: rootfs_unmount(dir, err);
                r = r ?: cgroup_remove_tree(cg, err);
                r = r ?: rootfs_remove_tree_at(s->cdirfd, name, dir, err);
                return r ?: idmap_release(s->dirfd, name, err);
        }
        if (r < 0)
                return r;
        if (!streq(m->status, "stopped") && !force)
                return coi_error_set(err, EBUSY, "container %s is %s: stop it first, or delete --force", name,
                                     m->status);
        if (!streq(m->status, "stopped"))
                return stop_locked(s, m, 0, true, NULL, err)
                               ?: (m->ephemeral ? 0 : teardown(s, m, true, err));
        return teardown(s, m, true, err);
}

/* ---- launch -------------------------------------------------------------------------------------- */

static void rfc3339_now(char *buf, size_t size)
{
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The opening of a new container: mkdir is the claim on the name (until metadata.json exists, start
 * refuses it), then its lock; *ret_dir is containers/NAME, created the time now (RFC 3339). */
static int claim_name(struct container_store *s, const char *name, int *ret_lock, char **ret_dir,
                      char created[static 32], struct coi_error *err)
{
        if (mkdirat(s->cdirfd, name, 0711) < 0) {
                if (errno == EEXIST)
                        return coi_error_set(err, EEXIST, "container %s already exists", name);
                return coi_error_set(err, errno, "create container %s: %m", name);
        }
        int r = container_lock(s, name, ret_lock, err);
        if (r < 0)
                return r;
        rfc3339_now(created, 32);
        *ret_dir = container_dir(s, name);
        return *ret_dir ? 0 : coi_error_set(err, ENOMEM, "container %s: %m", name);
}

/* Nothing of a failed creation stays: mounts, cgroup, directory, ids. Returns r (< 0). */
static int undo_create(struct container_store *s, const struct container_info *m, int r,
                       struct coi_error *err)
{
        struct coi_error e = { 0 };
        if (teardown(s, m, true, &e) < 0)
                coi_error_prefix(err, "(cleanup failed too: %s) ", e.msg);
        return r;
}

int container_launch(struct container_store *s, const struct container_launch_options *opts,
                     struct coi_error *err)
{
        const char *name = opts->name;
        int r = container_validate_name(name, err);
        if (r < 0)
                return r;
        _cleanup_(image_store_freep) struct image_store *images = NULL;
        r = image_store_open(NULL, false, &images, err);
        if (r < 0)
                return r;
        _cleanup_(image_info_freep) struct image_info *image = NULL;
        r = image_lookup(images, opts->image, &image, err);
        if (r < 0)
                return r;
        _cleanup_close_ int lock = -1;
        _cleanup_free_ char *dir = NULL;
        char created[32];
        r = claim_name(s, name, &lock, &dir, created, err);
        if (r < 0)
                return r;
        struct container_info m = {
                .name = (char *)name,
                .image = image->name,
                .created = created,
                .ephemeral = opts->ephemeral,
                .status = "stopped",
                .dir = dir,
        };
        r = idmap_allocate(s->dirfd, name, &m.ids, err);
        r = r ?: container_metadata_write(s, &m, err);
        r = r ?: container_network_save(s->cdirfd, name, opts->network, err);
        r = r ?: container_limits_save(s->cdirfd, name, opts->limits, err);
        r = r ?: seccomp_profile_save(s->cdirfd, name, opts->seccomp_profile, err);
        r = r ?: start_locked(s, &m, opts->mounts, opts->n_mounts, opts->no_wait, err);
        return r < 0 ? undo_create(s, &m, r, err) : 0;
}

/* ---- for snapshots (shim/snapshot.c) ------------------------------------------------------------- */

int container_freeze(struct container_store *s, const char *name, struct coi_error *err)
{
        int r = container_validate_name(name, err);
        return r ?: coi_container_pause(&s->ctx, name, err);
}

int container_create_stopped(struct container_store *s, const char *image, const char *name,
                             container_populate_fn populate, void *userdata, struct coi_error *err)
{
        _cleanup_close_ int lock = -1;
        _cleanup_free_ char *dir = NULL;
        char created[32];
        int r = container_validate_name(name, err);
        r = r ?: claim_name(s, name, &lock, &dir, created, err);
        if (r < 0)
                return r;
        struct container_info m = { .name = (char *)name,
                                    .image = (char *)image,
                                    .created = created,
                                    .status = "stopped",
                                    .dir = dir };
        r = idmap_allocate(s->dirfd, name, &m.ids, err);
        r = r ?: populate(dir, &m.ids, userdata, err);
        r = r ?: container_metadata_write(s, &m, err);
        return r < 0 ? undo_create(s, &m, r, err) : 0;
}
