/* container.c — the lifecycle of coi's system containers: name claim, ids, metadata.json, rootfs mounts,
 * the runtime container (libcoi-runtime), clean systemd shutdown, exec, and the cleanup after each step. */
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "cgroup.h"
#include "container-net.h"
#include "container.h"
#include "json-util.h"
#include "userns.h"
#include "image.h"
#include "rootfs.h"
#include "system-config.h"
#include "util.h"

struct container_store {
        char *path; /* the data dir */
        int dirfd;  /* the data dir (idmap table) */
        int cdirfd; /* containers/ */
        struct coi_context ctx;
};

static int pidfd_open_(pid_t pid)
{
        return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* ---- store and names ----------------------------------------------------------------------------- */

int container_store_open(struct container_store **ret, struct coi_error *err)
{
        const char *env = getenv("COI_DATA_DIR");
        const char *path = env && *env ? env : CONTAINER_DATA_DEFAULT;
        int r = mkdir_p_at(AT_FDCWD, path, 0711, err);
        if (r < 0)
                return coi_error_prefix(err, "data directory: ");
        struct container_store *s = calloc(1, sizeof(*s));
        if (!s)
                return coi_error_set(err, ENOMEM, "data directory %s: %m", path);
        s->dirfd = s->cdirfd = -1;
        s->path = strdup(path);
        s->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->dirfd < 0) {
                r = coi_error_set(err, errno, "open data directory %s: %m", path);
                container_store_free(s);
                return r;
        }
        if (mkdirat(s->dirfd, "containers", 0711) < 0 && errno != EEXIST) {
                r = coi_error_set(err, errno, "mkdir %s/containers: %m", path);
                container_store_free(s);
                return r;
        }
        s->cdirfd = openat(s->dirfd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (s->cdirfd < 0 || !s->path) {
                r = coi_error_set(err, s->path ? errno : ENOMEM, "open %s/containers: %m", path);
                container_store_free(s);
                return r;
        }
        const char *rt = getenv("COI_RUNTIME_DIR");
        s->ctx.state_root = rt && *rt ? rt : CONTAINER_RUNTIME_ROOT;
        *ret = s;
        return 0;
}

void container_store_free(struct container_store *s)
{
        if (!s)
                return;
        closep(&s->dirfd);
        closep(&s->cdirfd);
        free(s->path);
        free(s);
}

int container_validate_name(const char *name, struct coi_error *err)
{
        size_t len = strlen(name);
        bool ok = len > 0 && len <= CONTAINER_NAME_MAX && name[len - 1] != '-' && name[0] != '-';
        for (size_t i = 0; ok && i < len; i++) {
                char c = name[i];
                ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
        }
        if (!ok)
                return coi_error_set(err, EINVAL,
                                     "invalid container name \"%s\": use letters, digits and '-' (not first "
                                     "or last), at most %d characters",
                                     name, CONTAINER_NAME_MAX);
        return 0;
}

static char *container_dir(const struct container_store *s, const char *name)
{
        return xasprintf("%s/containers/%s", s->path, name);
}

/* An exclusive flock on the container's directory: one lifecycle operation at a time. */
int container_lock(const struct container_store *s, const char *name, int *ret_fd, struct coi_error *err)
{
        int fd = openat(s->cdirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                if (errno == ENOENT)
                        return coi_error_set(err, ENOENT, "container %s not found", name);
                return coi_error_set(err, errno, "open container %s: %m", name);
        }
        if (flock(fd, LOCK_EX) < 0) {
                int r = coi_error_set(err, errno, "lock container %s: %m", name);
                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

/* ---- metadata.json ------------------------------------------------------------------------------- */

void container_info_free(struct container_info *info)
{
        if (!info)
                return;
        free(info->name);
        free(info->image);
        free(info->created);
        free(info->dir);
        free(info->cgroup);
        free(info);
}

void container_info_list_free(struct container_info **list)
{
        for (size_t i = 0; list && list[i]; i++)
                container_info_free(list[i]);
        free(list);
}

static bool gs(yajl_gen g, const char *str)
{
        return yajl_gen_string(g, (const unsigned char *)(str ? str : ""), strlen(str ? str : "")) ==
               yajl_gen_status_ok;
}

static bool gen_info(yajl_gen g, const struct container_info *m, bool live)
{
        bool ok = yajl_gen_map_open(g) == yajl_gen_status_ok && gs(g, "name") && gs(g, m->name) &&
                  gs(g, "image") && gs(g, m->image) && gs(g, "created") && gs(g, m->created) &&
                  gs(g, "ephemeral") && yajl_gen_bool(g, m->ephemeral) == yajl_gen_status_ok &&
                  gs(g, "uid") && yajl_gen_integer(g, m->ids.uid) == yajl_gen_status_ok && gs(g, "gid") &&
                  yajl_gen_integer(g, m->ids.gid) == yajl_gen_status_ok && gs(g, "ids") &&
                  yajl_gen_integer(g, IDMAP_RANGE_SIZE) == yajl_gen_status_ok;
        if (live)
                ok = ok && gs(g, "status") && gs(g, m->status) && gs(g, "pid") &&
                     yajl_gen_integer(g, m->pid) == yajl_gen_status_ok && gs(g, "dir") && gs(g, m->dir) &&
                     gs(g, "cgroup") &&
                     (m->cgroup ? gs(g, m->cgroup) : yajl_gen_null(g) == yajl_gen_status_ok);
        return ok && yajl_gen_map_close(g) == yajl_gen_status_ok;
}

static int metadata_write(const struct container_store *s, const struct container_info *m,
                          struct coi_error *err)
{
        _cleanup_(yajl_gen_freep) yajl_gen g = yajl_gen_alloc(NULL);
        if (!g)
                return coi_error_set(err, ENOMEM, "metadata of %s: %m", m->name);
        yajl_gen_config(g, yajl_gen_beautify, 1);
        const unsigned char *buf;
        size_t len;
        if (!gen_info(g, m, false) || yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
                return coi_error_set(err, ENOMEM, "metadata of %s: %m", m->name);
        _cleanup_free_ char *path = xasprintf("%s/%s", m->name, CONTAINER_METADATA);
        if (!path)
                return coi_error_set(err, ENOMEM, "metadata of %s: %m", m->name);
        return write_file_atomic_at(s->cdirfd, path, buf, len, 0644, err);
}

static const char *json_str(yajl_val root, const char *key)
{
        const char *path[] = { key, NULL };
        yajl_val v = yajl_tree_get(root, path, yajl_t_string);
        return v ? v->u.string : NULL;
}

static long long json_int(yajl_val root, const char *key, long long def)
{
        const char *path[] = { key, NULL };
        yajl_val v = yajl_tree_get(root, path, yajl_t_number);
        return v && YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : def;
}

/* The recorded metadata plus the live status from the runtime. */
static int metadata_read(const struct container_store *s, const char *name, struct container_info **ret,
                         struct coi_error *err)
{
        _cleanup_free_ char *path = xasprintf("%s/%s", name, CONTAINER_METADATA);
        _cleanup_free_ char *data = NULL;
        if (!path)
                return coi_error_set(err, ENOMEM, "metadata of %s: %m", name);
        int r = read_file_at(s->cdirfd, path, 1 << 20, &data, NULL, err);
        if (r == -ENOENT) {
                struct stat st;
                if (fstatat(s->cdirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return coi_error_set(err, ENOENT, "container %s not found", name);
                return coi_error_set(err, ENOENT, "container %s has no %s (an interrupted launch: delete it)",
                                     name, CONTAINER_METADATA);
        }
        if (r < 0)
                return r;
        char ebuf[256] = "";
        _cleanup_(yajl_tree_freep) yajl_val root = yajl_tree_parse(data, ebuf, sizeof(ebuf));
        if (!root || !YAJL_IS_OBJECT(root))
                return coi_error_set(err, EINVAL, "%s/containers/%s: %s", s->path, path,
                                     *ebuf ? ebuf : "not an object");
        _cleanup_(container_info_freep) struct container_info *m = calloc(1, sizeof(*m));
        if (!m)
                return coi_error_set(err, ENOMEM, "metadata of %s: %m", name);
        const char *ephemeral_path[] = { "ephemeral", NULL };
        yajl_val eph = yajl_tree_get(root, ephemeral_path, yajl_t_any);
        m->name = strdup(name);
        m->image = strdup(json_str(root, "image") ?: "");
        m->created = strdup(json_str(root, "created") ?: "");
        m->dir = container_dir(s, name);
        m->ephemeral = eph && YAJL_IS_TRUE(eph);
        long long uid = json_int(root, "uid", -1), gid = json_int(root, "gid", -1);
        if (!m->name || !m->image || !m->created || !m->dir)
                return coi_error_set(err, ENOMEM, "metadata of %s: %m", name);
        if (uid < 0 || gid < 0 || uid > UINT32_MAX || gid > UINT32_MAX)
                return coi_error_set(err, EINVAL, "%s/containers/%s: no valid uid/gid", s->path, path);
        m->ids = (struct idmap_allocation){ (uint32_t)uid, (uint32_t)gid };
        m->status = "stopped";
        struct coi_state st = { 0 };
        struct coi_error e = { 0 };
        if (coi_container_state((struct coi_context *)&s->ctx, name, &st, &e) == 0) {
                m->status = coi_status_to_string(st.status);
                m->pid = st.status == COI_STATUS_STOPPED ? 0 : st.pid;
                if (st.cgroup_path[0])
                        m->cgroup = strdup(st.cgroup_path);
                coi_state_free(&st);
        }
        *ret = TAKE_PTR(m);
        return 0;
}

int container_info_get(struct container_store *s, const char *name, struct container_info **ret,
                       struct coi_error *err)
{
        int r = container_validate_name(name, err);
        if (r < 0)
                return r;
        return metadata_read(s, name, ret, err);
}

static int compare_info(const void *a, const void *b)
{
        return strcmp((*(struct container_info *const *)a)->name, (*(struct container_info *const *)b)->name);
}

int container_list(struct container_store *s, struct container_info ***ret_list, struct coi_error *err)
{
        int fd = openat(s->cdirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return coi_error_set(err, errno, "open %s/containers: %m", s->path);
        DIR *d = fdopendir(fd);
        if (!d) {
                int r = coi_error_set(err, errno, "open %s/containers: %m", s->path);
                close(fd);
                return r;
        }
        struct container_info **list = calloc(1, sizeof(*list));
        size_t n = 0;
        int r = list ? 0 : coi_error_set(err, ENOMEM, "list containers: %m");
        struct dirent *de;
        while (r == 0 && (de = readdir(d))) {
                if (de->d_name[0] == '.' || container_validate_name(de->d_name, NULL) < 0)
                        continue;
                struct container_info *m = NULL;
                struct coi_error e = { 0 };
                if (metadata_read(s, de->d_name, &m, &e) < 0)
                        continue; /* an interrupted launch or a vanished ephemeral container */
                struct container_info **grown = realloc(list, (n + 2) * sizeof(*list));
                if (!grown) {
                        container_info_free(m);
                        r = coi_error_set(err, ENOMEM, "list containers: %m");
                        break;
                }
                list = grown;
                list[n++] = m;
                list[n] = NULL;
        }
        closedir(d);
        if (r < 0) {
                container_info_list_free(list);
                return r;
        }
        qsort(list, n, sizeof(*list), compare_info);
        *ret_list = list;
        return 0;
}

int container_info_json(struct container_info *const *infos, size_t n, bool list, char **ret_json,
                        struct coi_error *err)
{
        _cleanup_(yajl_gen_freep) yajl_gen g = yajl_gen_alloc(NULL);
        if (!g)
                return coi_error_set(err, ENOMEM, "container JSON: %m");
        yajl_gen_config(g, yajl_gen_beautify, 1);
        bool ok = !list || yajl_gen_array_open(g) == yajl_gen_status_ok;
        for (size_t i = 0; ok && i < n; i++)
                ok = gen_info(g, infos[i], true);
        ok = ok && (!list || yajl_gen_array_close(g) == yajl_gen_status_ok);
        const unsigned char *buf;
        size_t len;
        if (!ok || yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
                return coi_error_set(err, ENOMEM, "container JSON: %m");
        *ret_json = strndup((const char *)buf, len);
        return *ret_json ? 0 : coi_error_set(err, ENOMEM, "container JSON: %m");
}

/* ---- cgroups ------------------------------------------------------------------------------------- */

/* The cgroup2 mount the runtime uses: /sys/fs/cgroup on a pure v2 host, else its unified mount. */
static const char *cgroup2_root(void)
{
        static struct cgroup_hierarchy h;
        struct coi_error e;
        if (!h.mount_point[0] && cgroup_hierarchy_detect(&h, &e) < 0)
                return "/sys/fs/cgroup";
        return h.mount_point;
}

/* Removes a container's cgroup (and what systemd left under it), then the coi parent once empty. */
static int cgroup_remove_tree(const char *path, struct coi_error *err)
{
        if (access(path, F_OK) == 0) {
                int r = cgroup_destroy(path, err);
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

/* Creates and starts the runtime container in a child that first calls setsid(), so the container's
 * init is in no terminal's session, and whose stdio (inherited by init) is console.log and /dev/null.
 * The init is a child of that child (CLONE_PARENT) and is reparented when it exits. */
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

static int runtime_create_and_start(struct container_store *s, const struct container_info *m,
                                    const char *rootfs, const struct container_network *net,
                                    const char *config_json, struct coi_error *err)
{
        const char *name = m->name, *cdir = m->dir;
        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return coi_error_set(err, errno, "pipe: %m");
        _cleanup_close_ int rd = pipefd[0];
        pid_t pid = fork();
        if (pid < 0) {
                int r = coi_error_set(err, errno, "fork to start %s: %m", name);
                close(pipefd[1]);
                return r;
        }
        if (pid == 0) {
                close(rd);
                struct coi_error e = { 0 };
                int r = 0;
                _cleanup_free_ char *log = xasprintf("%s/%s", cdir, CONTAINER_CONSOLE_LOG);
                int logfd =
                        log ? open(log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600)
                            : -1;
                int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (logfd < 0 || nullfd < 0)
                        r = coi_error_set(&e, errno, "open %s: %m", log ? log : "console log");
                if (r == 0 &&
                    (setsid() < 0 || dup2(nullfd, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0))
                        r = coi_error_set(&e, errno, "set up the stdio of %s: %m", name);
                struct coi_create_options o = { .bundle = cdir, .config_json = config_json };
                if (r == 0)
                        r = coi_container_create(&s->ctx, name, &o, &e);
                if (r == 0 && net) {
                        r = attach_network(s, m, rootfs, net, &e);
                        if (r < 0) {
                                struct coi_error e2 = { 0 };
                                coi_container_delete(&s->ctx, name, true, &e2);
                        }
                }
                if (r == 0) {
                        r = coi_container_start(&s->ctx, name, &e);
                        if (r < 0) {
                                struct coi_error e2 = { 0 };
                                coi_container_delete(&s->ctx, name, true, &e2);
                        }
                }
                if (r < 0 && write(pipefd[1], &e, sizeof(e)) < 0)
                        _exit(2);
                _exit(r < 0 ? 1 : 0);
        }
        close(pipefd[1]);
        struct coi_error e = { 0 };
        ssize_t n;
        do
                n = read(rd, &e, sizeof(e));
        while (n < 0 && errno == EINTR);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (n == (ssize_t)sizeof(e)) {
                e.msg[sizeof(e.msg) - 1] = '\0';
                return coi_error_set(err, e.code ? e.code : EIO, "%s", e.msg);
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return coi_error_set(err, EIO, "starting %s failed without a message (status %d)", name,
                                     status);
        return 0;
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

static int attach_mounts(const char *rootfs, const struct container_info *m,
                         const struct container_mount *mounts, size_t n, struct coi_error *err);
static int unmount_below(const char *dir, struct coi_error *err);

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
        _cleanup_free_ char *seccomp = NULL;
        r = system_config_find_seccomp(&seccomp, err);
        if (r < 0)
                return r;
        _cleanup_(container_network_record_done) struct container_network_record net = { 0 };
        bool has_net = false;
        r = container_network_load(s->cdirfd, name, &net, &has_net, err);
        if (r < 0)
                return r;

        r = rootfs_mount(m->dir, image_fd, &m->ids, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *rootfs = xasprintf("%s/%s", m->dir, ROOTFS_MOUNT);
        _cleanup_free_ char *json = NULL;
        struct system_config c = {
                .name = name, .rootfs = rootfs, .ids = m->ids, .seccomp_profile = seccomp
        };
        if (!rootfs)
                r = coi_error_set(err, ENOMEM, "rootfs of %s: %m", name);
        r = r ?: rootfs_write_machine_id(m->dir, &m->ids, err);
        r = r ?: rootfs_write_hostname(m->dir, &m->ids, name, err);
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
        if (!no_wait)
                wait_for_systemd_bus(s, name, CONTAINER_BUS_TIMEOUT_MS);
        return 0;
}

/* The usual opening of a verb on one container: a valid name, its lock held, its metadata read. */
static int lock_and_read(struct container_store *s, const char *name, int *ret_lock,
                         struct container_info **ret_m, struct coi_error *err)
{
        int r = container_validate_name(name, err);
        r = r ?: container_lock(s, name, ret_lock, err);
        return r ?: metadata_read(s, name, ret_m, err);
}

int container_start(struct container_store *s, const char *name, struct coi_error *err)
{
        return container_start_with(s, name, NULL, 0, false, err);
}

struct mounts_record;
static void mounts_record_freep(struct mounts_record **rec);
static int add_recorded_devices(const struct container_store *s, const char *name,
                                const struct container_mount *mounts, size_t n,
                                struct mounts_record **ret_rec, struct container_mount **ret_all,
                                size_t *ret_n, struct coi_error *err);

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

char *container_rootfs_path(struct container_store *s, const char *name)
{
        return xasprintf("%s/containers/%s/%s", s->path, name, ROOTFS_MOUNT);
}

int container_ids(struct container_store *s, const char *name, struct idmap_allocation *ret,
                  struct coi_error *err)
{
        _cleanup_(container_info_freep) struct container_info *m = NULL;
        int r = metadata_read(s, name, &m, err);
        if (r < 0)
                return r;
        *ret = m->ids;
        return 0;
}

/* ---- bind mounts into the rootfs ----------------------------------------------------------------- */

static int open_tree_(int dirfd, const char *path, unsigned flags)
{
        return (int)syscall(SYS_open_tree, dirfd, path, flags);
}

static int mount_setattr_(int dirfd, const char *path, unsigned flags, struct mount_attr *attr)
{
        return (int)syscall(SYS_mount_setattr, dirfd, path, flags, attr, sizeof(*attr));
}

static int move_mount_(int from_dirfd, const char *from, int to_dirfd, const char *to, unsigned flags)
{
        return (int)syscall(SYS_move_mount, from_dirfd, from, to_dirfd, to, flags);
}

/* A user namespace mapping exactly one uid and one gid, "FROM TO 1", for an idmapped mount: a file owned
 * by host id FROM appears as TO (here the container's shifted id), and TO's writes land as FROM. */
static int single_id_userns_fd(uint32_t uid_in, uint32_t uid_out, uint32_t gid_in, uint32_t gid_out,
                               int *ret_fd, struct coi_error *err)
{
        struct oci_id_mapping uid = { uid_in, uid_out, 1 }, gid = { gid_in, gid_out, 1 };
        return userns_fd_with_mappings(&uid, 1, &gid, 1, ret_fd, err);
}

static int create_entry(int parent, const char *name, bool file)
{
        if (!file)
                return mkdirat(parent, name, 0755);
        int fd = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -1;
        close(fd);
        return 0;
}

/* Creates a mount point (a directory, or an empty file); where the file system refuses a creator it does
 * not map (EOVERFLOW: an idmapped mount such as the workspace, or a file system the container mounted
 * itself such as its /tmp), as the owner of the parent directory. */
static int create_as_parent_owner(int parent, const char *name, bool file)
{
        if (create_entry(parent, name, file) == 0)
                return 0;
        struct stat st;
        if (errno != EOVERFLOW || fstat(parent, &st) < 0)
                return -1;
        /* The group first, while the fsuid is still 0; back to 0 restores the file capabilities. */
        int old_gid = setfsgid(st.st_gid), old_uid = setfsuid(st.st_uid);
        int r = create_entry(parent, name, file), saved = errno;
        setfsuid((uid_t)old_uid);
        setfsgid((gid_t)old_gid);
        errno = saved;
        return r;
}

/* The mount point of target under rootfs, resolved as the container will see it (symlinks stay inside).
 * A missing last component is created (a directory, or an empty file when the source is one), owned by
 * the container's root; missing parents are created as directories. */
static int open_target(int rootfd, const char *target, bool is_dir, const struct container_info *m,
                       int *ret_fd, struct coi_error *err)
{
        struct open_how how = { .flags = O_PATH | O_CLOEXEC,
                                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
        int fd = (int)syscall(SYS_openat2, rootfd, target, &how, sizeof(how));
        if (fd >= 0) {
                *ret_fd = fd;
                return 0;
        }
        if (errno != ENOENT)
                return coi_error_set(err, errno, "mount point %s in %s: %m", target, m->name);
        /* Walk down, creating what is missing. */
        _cleanup_free_ char *p = strdup(target);
        if (!p)
                return coi_error_set(err, ENOMEM, "%s: %m", target);
        for (char *slash = p + 1;; slash++) {
                slash = strchr(slash, '/');
                bool last = !slash;
                if (slash)
                        *slash = '\0';
                _cleanup_close_ int cur = (int)syscall(SYS_openat2, rootfd, p, &how, sizeof(how));
                if (cur < 0 && errno == ENOENT) {
                        char *base = strrchr(p, '/');
                        *base = '\0';
                        struct open_how dh = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                                               .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
                        _cleanup_close_ int parent =
                                (int)syscall(SYS_openat2, rootfd, *p ? p : "/", &dh, sizeof(dh));
                        *base = '/';
                        if (parent < 0)
                                return coi_error_set(err, errno, "mount point %s in %s: %m", p, m->name);
                        if (create_as_parent_owner(parent, base + 1, last && !is_dir) < 0 && errno != EEXIST)
                                return coi_error_set(err, errno, "create mount point %s in %s: %m", p,
                                                     m->name);
                        /* EOVERFLOW: a file system that does not map the container's root, where the
                         * mount point stays its parent's owner's. */
                        if (fchownat(parent, base + 1, m->ids.uid, m->ids.gid, AT_SYMLINK_NOFOLLOW) < 0 &&
                            errno != EOVERFLOW)
                                return coi_error_set(err, errno, "chown mount point %s in %s: %m", p,
                                                     m->name);
                } else if (cur < 0) {
                        return coi_error_set(err, errno, "mount point %s in %s: %m", p, m->name);
                }
                if (last)
                        break;
                *slash = '/';
        }
        fd = (int)syscall(SYS_openat2, rootfd, target, &how, sizeof(how));
        if (fd < 0)
                return coi_error_set(err, errno, "mount point %s in %s: %m", target, m->name);
        *ret_fd = fd;
        return 0;
}

/* A detached clone of cm->source with the mount's attributes set (nosuid, nodev, read-only, idmapped),
 * ready to be moved to its mount point. */
static int clone_source(const struct container_info *m, const struct container_mount *cm, int *ret_tree,
                        bool *ret_is_dir, struct coi_error *err)
{
        if (!cm->target || cm->target[0] != '/')
                return coi_error_set(err, EINVAL, "mount target %s is not absolute",
                                     cm->target ? cm->target : "");
        _cleanup_close_ int tree =
                open_tree_(AT_FDCWD, cm->source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
        if (tree < 0)
                return coi_error_set(err, errno, "clone a mount of %s: %m", cm->source);
        struct stat st;
        if (fstat(tree, &st) < 0)
                return coi_error_set(err, errno, "stat %s: %m", cm->source);
        struct mount_attr attr = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV };
        if (cm->readonly)
                attr.attr_set |= MOUNT_ATTR_RDONLY;
        _cleanup_close_ int userns = -1;
        int r = 0;
        if (cm->shift) {
                /* The container's own map: host id X appears as X, the container's X writes X. */
                struct oci_id_mapping uid = { 0, m->ids.uid, IDMAP_RANGE_SIZE },
                                      gid = { 0, m->ids.gid, IDMAP_RANGE_SIZE };
                r = userns_fd_with_mappings(&uid, 1, &gid, 1, &userns, err);
        } else if (cm->idmap) {
                /* The container's id X is host id m->ids.uid + X: map the host owner onto it. */
                r = single_id_userns_fd(cm->host_uid, m->ids.uid + cm->container_uid, cm->host_gid,
                                        m->ids.gid + cm->container_gid, &userns, err);
        }
        if (r < 0)
                return r;
        if (userns >= 0) {
                attr.attr_set |= MOUNT_ATTR_IDMAP;
                attr.userns_fd = (uint64_t)userns;
        }
        if (mount_setattr_(tree, "", AT_EMPTY_PATH, &attr) < 0)
                return coi_error_set(err, errno, "set up the %s%smount of %s: %m",
                                     cm->readonly ? "read-only " : "", userns >= 0 ? "idmapped " : "",
                                     cm->source);
        *ret_is_dir = S_ISDIR(st.st_mode);
        *ret_tree = TAKE_FD(tree);
        return 0;
}

/* Moves the clone tree to cm->target resolved under rootfd (created when missing). */
static int move_to_target(int tree, bool is_dir, int rootfd, const struct container_info *m,
                          const struct container_mount *cm, struct coi_error *err)
{
        _cleanup_close_ int target = -1;
        int r = open_target(rootfd, cm->target, is_dir, m, &target, err);
        if (r < 0)
                return r;
        if (move_mount_(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return coi_error_set(err, errno, "mount %s at %s in %s: %m", cm->source, cm->target, m->name);
        return 0;
}

static int attach_one(int rootfd, const struct container_info *m, const struct container_mount *cm,
                      struct coi_error *err)
{
        _cleanup_close_ int tree = -1;
        bool is_dir = false;
        int r = clone_source(m, cm, &tree, &is_dir, err);
        return r ?: move_to_target(tree, is_dir, rootfd, m, cm, err);
}

static int attach_mounts(const char *rootfs, const struct container_info *m,
                         const struct container_mount *mounts, size_t n, struct coi_error *err)
{
        if (!rootfs || n == 0)
                return 0;
        _cleanup_close_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return coi_error_set(err, errno, "open %s: %m", rootfs);
        for (size_t i = 0; i < n; i++) {
                int r = attach_one(rootfd, m, &mounts[i], err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Unmounts every mount strictly below dir (deepest first), as listed in /proc/self/mountinfo. */
static int unmount_below(const char *dir, struct coi_error *err)
{
        size_t dl = strlen(dir);
        for (int pass = 0; pass < 64; pass++) {
                _cleanup_(fclosep) FILE *f = fopen("/proc/self/mountinfo", "re");
                if (!f)
                        return coi_error_set(err, errno, "open /proc/self/mountinfo: %m");
                _cleanup_free_ char *line = NULL, *deepest = NULL;
                size_t cap = 0;
                while (getline(&line, &cap, f) > 0) {
                        char mp[4096];
                        if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
                                continue;
                        /* mountinfo escapes space, tab, newline and backslash as \ooo; our paths have none */
                        if (strncmp(mp, dir, dl) != 0 || mp[dl] != '/')
                                continue;
                        if (!deepest || strlen(mp) > strlen(deepest)) {
                                free(deepest);
                                deepest = strdup(mp);
                                if (!deepest)
                                        return coi_error_set(err, ENOMEM, "mountinfo: %m");
                        }
                }
                if (!deepest)
                        return 0;
                if (umount2(deepest, UMOUNT_NOFOLLOW) < 0 && errno != EINVAL &&
                    umount2(deepest, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL)
                        return coi_error_set(err, errno, "unmount %s: %m", deepest);
        }
        return coi_error_set(err, EBUSY, "%s: too many mounts below it", dir);
}

void container_wait_ready(struct container_store *s, const char *name, int timeout_ms)
{
        wait_for_systemd_bus(s, name, timeout_ms);
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
        return metadata_write(s, m, err);
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
        DIR *d = opendir(dir);
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.' && de->d_type == DT_DIR &&
                    (!only || strv_contains(only, de->d_name)))
                        strv_push(list, de->d_name);
        closedir(d);
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
        r = metadata_read(s, name, &m, err);
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
        /* mkdir is the claim on the name. */
        if (mkdirat(s->cdirfd, name, 0711) < 0) {
                if (errno == EEXIST)
                        return coi_error_set(err, EEXIST, "container %s already exists", name);
                return coi_error_set(err, errno, "create container %s: %m", name);
        }
        _cleanup_close_ int lock = -1;
        r = container_lock(s, name, &lock, err);
        if (r < 0)
                return r;
        char created[32];
        rfc3339_now(created, sizeof(created));
        struct container_info m = {
                .name = (char *)name,
                .image = image->name,
                .created = created,
                .ephemeral = opts->ephemeral,
                .status = "stopped",
        };
        _cleanup_free_ char *dir = container_dir(s, name);
        m.dir = dir;
        if (!dir)
                r = coi_error_set(err, ENOMEM, "container %s: %m", name);
        r = r ?: idmap_allocate(s->dirfd, name, &m.ids, err);
        r = r ?: metadata_write(s, &m, err);
        r = r ?: container_network_save(s->cdirfd, name, opts->network, err);
        r = r ?: start_locked(s, &m, opts->mounts, opts->n_mounts, opts->no_wait, err);
        if (r < 0 && dir) {
                /* Nothing of a failed launch stays: mounts, cgroup, directory, ids. */
                struct coi_error e = { 0 };
                if (teardown(s, &m, true, &e) < 0)
                        coi_error_prefix(err, "(cleanup failed too: %s) ", e.msg);
        }
        return r;
}

/* ---- exec ---------------------------------------------------------------------------------------- */

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
        r = metadata_read(s, name, &m, err);
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
        struct coi_exec_options xo = {
                .args = opts->args,
                .env = env,
                .cwd = opts->cwd ? opts->cwd : "/",
                .user = user,
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

/* ---- for snapshots (shim/snapshot.c) ------------------------------------------------------------- */

int container_freeze(struct container_store *s, const char *name, struct coi_error *err)
{
        int r = container_validate_name(name, err);
        return r ?: coi_container_pause(&s->ctx, name, err);
}

int container_create_stopped(struct container_store *s, const char *image, const char *name,
                             container_populate_fn populate, void *userdata, struct coi_error *err)
{
        int r = container_validate_name(name, err);
        if (r < 0)
                return r;
        /* mkdir is the claim on the name; until metadata.json exists, start refuses it. */
        if (mkdirat(s->cdirfd, name, 0711) < 0) {
                if (errno == EEXIST)
                        return coi_error_set(err, EEXIST, "container %s already exists", name);
                return coi_error_set(err, errno, "create container %s: %m", name);
        }
        _cleanup_close_ int lock = -1;
        r = container_lock(s, name, &lock, err);
        if (r < 0)
                return r;
        char created[32];
        rfc3339_now(created, sizeof(created));
        _cleanup_free_ char *dir = container_dir(s, name);
        struct container_info m = { .name = (char *)name,
                                    .image = (char *)image,
                                    .created = created,
                                    .status = "stopped",
                                    .dir = dir };
        if (!dir)
                return coi_error_set(err, ENOMEM, "container %s: %m", name);
        r = idmap_allocate(s->dirfd, name, &m.ids, err);
        r = r ?: populate(dir, &m.ids, userdata, err);
        r = r ?: metadata_write(s, &m, err);
        if (r < 0) {
                struct coi_error e = { 0 };
                if (teardown(s, &m, true, &e) < 0)
                        coi_error_prefix(err, "(cleanup failed too: %s) ", e.msg);
        }
        return r;
}

/* ---- mounts recorded at launch, for a later plain start ---------------------------------------- */

#define CONTAINER_MOUNTS_FILE "mounts.json"
#define CONTAINER_DEVICE_MAX  64

static bool gen_mount(yajl_gen g, const struct container_mount *m, const char *create)
{
        bool ok = yajl_gen_map_open(g) == yajl_gen_status_ok && gs(g, "source") && gs(g, m->source) &&
                  gs(g, "target") && gs(g, m->target) && gs(g, "readonly") &&
                  yajl_gen_bool(g, m->readonly) == yajl_gen_status_ok && gs(g, "idmap") &&
                  yajl_gen_bool(g, m->idmap) == yajl_gen_status_ok && gs(g, "host_uid") &&
                  yajl_gen_integer(g, m->host_uid) == yajl_gen_status_ok && gs(g, "host_gid") &&
                  yajl_gen_integer(g, m->host_gid) == yajl_gen_status_ok && gs(g, "container_uid") &&
                  yajl_gen_integer(g, m->container_uid) == yajl_gen_status_ok && gs(g, "container_gid") &&
                  yajl_gen_integer(g, m->container_gid) == yajl_gen_status_ok && gs(g, "create") &&
                  gs(g, create ? create : "") && gs(g, "shift") &&
                  yajl_gen_bool(g, m->shift) == yajl_gen_status_ok;
        if (ok && m->device)
                ok = gs(g, "device") && gs(g, m->device);
        return ok && yajl_gen_map_close(g) == yajl_gen_status_ok;
}

/* mounts.json parsed: the entries' strings point into root. */
struct mounts_record {
        yajl_val root;
        struct container_mount *mounts;
        const char **create;
        size_t n;
};

static void mounts_record_done(struct mounts_record *rec)
{
        yajl_tree_free(rec->root);
        free(rec->mounts);
        free(rec->create);
        *rec = (struct mounts_record){ 0 };
}

/* containers/NAME/mounts.json; a container without one has an empty record and *ret_exists false. */
static int mounts_record_read(const struct container_store *s, const char *name, struct mounts_record *ret,
                              bool *ret_exists, struct coi_error *err)
{
        _cleanup_free_ char *path = xasprintf("%s/%s", name, CONTAINER_MOUNTS_FILE);
        _cleanup_free_ char *data = NULL;
        if (!path)
                return coi_error_set(err, ENOMEM, "mounts of %s: %m", name);
        *ret_exists = false;
        int r = read_file_at(s->cdirfd, path, 1 << 20, &data, NULL, err);
        if (r == -ENOENT) {
                /* Room for the one entry container_mount_device() may add. */
                ret->mounts = calloc(1, sizeof(*ret->mounts));
                ret->create = calloc(1, sizeof(*ret->create));
                return ret->mounts && ret->create ? 0 : coi_error_set(err, ENOMEM, "mounts of %s: %m", name);
        }
        if (r < 0)
                return r;
        *ret_exists = true;
        char ebuf[256] = "";
        ret->root = yajl_tree_parse(data, ebuf, sizeof(ebuf));
        if (!ret->root || !YAJL_IS_ARRAY(ret->root))
                return coi_error_set(err, EINVAL, "%s/containers/%s: %s", s->path, path,
                                     *ebuf ? ebuf : "not an array");
        size_t n = ret->root->u.array.len;
        ret->mounts = calloc(n + 1, sizeof(*ret->mounts));
        ret->create = calloc(n + 1, sizeof(*ret->create));
        if (!ret->mounts || !ret->create)
                return coi_error_set(err, ENOMEM, "mounts of %s: %m", name);
        for (size_t i = 0; i < n; i++) {
                yajl_val o = ret->root->u.array.values[i];
                const char *ro_path[] = { "readonly", NULL }, *id_path[] = { "idmap", NULL },
                           *shift_path[] = { "shift", NULL };
                yajl_val ro = yajl_tree_get(o, ro_path, yajl_t_any),
                         id = yajl_tree_get(o, id_path, yajl_t_any),
                         shift = yajl_tree_get(o, shift_path, yajl_t_any);
                long long ids[4] = { json_int(o, "host_uid", -1), json_int(o, "host_gid", -1),
                                     json_int(o, "container_uid", -1), json_int(o, "container_gid", -1) };
                struct container_mount *m = &ret->mounts[i];
                m->source = json_str(o, "source");
                m->target = json_str(o, "target");
                if (!m->source || m->source[0] != '/' || !m->target || m->target[0] != '/')
                        return coi_error_set(err, EINVAL,
                                             "%s/containers/%s: entry %zu has no absolute "
                                             "source and target",
                                             s->path, path, i);
                for (size_t k = 0; k < 4; k++)
                        if (ids[k] < 0 || ids[k] > UINT32_MAX)
                                return coi_error_set(err, EINVAL, "%s/containers/%s: entry %zu: bad ids",
                                                     s->path, path, i);
                m->readonly = ro && YAJL_IS_TRUE(ro);
                m->idmap = id && YAJL_IS_TRUE(id);
                m->shift = shift && YAJL_IS_TRUE(shift);
                m->host_uid = (uid_t)ids[0];
                m->host_gid = (gid_t)ids[1];
                m->container_uid = (uid_t)ids[2];
                m->container_gid = (gid_t)ids[3];
                m->device = json_str(o, "device");
                ret->create[i] = json_str(o, "create");
        }
        ret->n = n;
        return 0;
}

static int mounts_record_write(const struct container_store *s, const char *name,
                               const struct container_mount *mounts, const char *const *create, size_t n,
                               struct coi_error *err)
{
        _cleanup_(yajl_gen_freep) yajl_gen g = yajl_gen_alloc(NULL);
        bool ok =
                g && yajl_gen_config(g, yajl_gen_beautify, 1) && yajl_gen_array_open(g) == yajl_gen_status_ok;
        for (size_t i = 0; ok && i < n; i++)
                ok = gen_mount(g, &mounts[i], create ? create[i] : NULL);
        const unsigned char *buf;
        size_t len;
        if (!ok || yajl_gen_array_close(g) != yajl_gen_status_ok ||
            yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
                return coi_error_set(err, ENOMEM, "mounts of %s: %m", name);
        _cleanup_free_ char *path = xasprintf("%s/%s", name, CONTAINER_MOUNTS_FILE);
        if (!path)
                return coi_error_set(err, ENOMEM, "mounts of %s: %m", name);
        return write_file_atomic_at(s->cdirfd, path, buf, len, 0600, err);
}

static void strv_free_n(char **v, size_t n)
{
        for (size_t i = 0; v && i < n; i++)
                free(v[i]);
        free(v);
}

int container_record_mounts(struct container_store *s, const char *name, const struct container_mount *mounts,
                            const char *const *create, size_t n, struct coi_error *err)
{
        _cleanup_close_ int lock = -1;
        int r = container_validate_name(name, err);
        r = r ?: container_lock(s, name, &lock, err);
        if (r < 0)
                return r;
        /* The devices `coi container mount` added stay, after these mounts (a device may lie inside one). */
        _cleanup_(mounts_record_done) struct mounts_record old = { 0 };
        bool exists;
        r = mounts_record_read(s, name, &old, &exists, err);
        if (r < 0)
                return r;
        _cleanup_free_ struct container_mount *all = calloc(n + old.n + 1, sizeof(*all));
        _cleanup_free_ const char **all_create = calloc(n + old.n + 1, sizeof(*all_create));
        char **reals = calloc(n + 1, sizeof(*reals));
        if (!all || !all_create || !reals) {
                free(reals);
                return coi_error_set(err, ENOMEM, "mounts of %s: %m", name);
        }
        size_t k = 0;
        for (size_t i = 0; i < n; i++, k++) {
                /* As the start will check it: every symlink on the way resolved. */
                all[k] = mounts[i];
                reals[i] = realpath(mounts[i].source, NULL);
                if (reals[i])
                        all[k].source = reals[i];
                all_create[k] = create ? create[i] : NULL;
        }
        for (size_t i = 0; i < old.n; i++)
                if (old.mounts[i].device) {
                        all[k] = old.mounts[i];
                        all_create[k++] = old.create[i];
                }
        r = mounts_record_write(s, name, all, all_create, k, err);
        strv_free_n(reals, n);
        return r;
}

/* A recorded source must still be the path it was (launch resolved every symlink): the workspace may
 * have been changed since, by the sandbox too. A missing placeholder (create "dir" or "file") is made
 * again below its deepest existing ancestor, which must be unchanged as well. */
static int check_or_create_source(const char *source, const char *create, uid_t uid, gid_t gid,
                                  struct coi_error *err)
{
        _cleanup_free_ char *p = strdup(source);
        if (!p)
                return coi_error_set(err, ENOMEM, "%s: %m", source);
        size_t len = strlen(p);
        struct stat st;
        while (lstat(p, &st) < 0) {
                char *slash = strrchr(p, '/');
                if (errno != ENOENT || !create || !*create || !slash || slash == p)
                        return coi_error_set(err, errno, "mount source %s: %m", source);
                *slash = '\0';
        }
        _cleanup_free_ char *real = realpath(p, NULL);
        if (!real || !streq(real, p))
                return coi_error_set(err, EXDEV,
                                     "mount source %s changed since the launch (%s is not %s): start the "
                                     "session with coi shell --resume instead",
                                     source, p, real ? real : "resolvable");
        while (strlen(p) < len) {
                p[strlen(p)] = '/'; /* the next level */
                bool leaf = strlen(p) == len;
                int fd = -1;
                if (leaf && streq(create, "file"))
                        fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
                else if (mkdir(p, 0755) == 0)
                        fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0 || fchown(fd, uid, gid) < 0) {
                        int r = coi_error_set(err, errno, "create placeholder %s: %m", p);
                        if (fd >= 0)
                                close(fd);
                        return r;
                }
                close(fd);
        }
        return 0;
}

static void mounts_record_freep(struct mounts_record **rec)
{
        if (*rec)
                mounts_record_done(*rec);
        free(*rec);
}

/* mounts, then the devices recorded for name, unless mounts has devices already (container_start_recorded
 * passes the whole record). *ret_all is allocated only when there are devices; its strings point into
 * *ret_rec. A device whose source has gone (or moved behind a symlink) stops the start. */
static int add_recorded_devices(const struct container_store *s, const char *name,
                                const struct container_mount *mounts, size_t n,
                                struct mounts_record **ret_rec, struct container_mount **ret_all,
                                size_t *ret_n, struct coi_error *err)
{
        for (size_t i = 0; i < n; i++)
                if (mounts[i].device)
                        return 0;
        struct mounts_record *rec = calloc(1, sizeof(*rec));
        if (!rec)
                return coi_error_set(err, ENOMEM, "mounts of %s: %m", name);
        *ret_rec = rec;
        bool exists;
        int r = mounts_record_read(s, name, rec, &exists, err);
        if (r < 0)
                return r;
        _cleanup_free_ struct container_mount *all = calloc(n + rec->n + 1, sizeof(*all));
        if (!all)
                return coi_error_set(err, ENOMEM, "mounts of %s: %m", name);
        size_t k = n;
        for (size_t i = 0; i < n; i++)
                all[i] = mounts[i];
        for (size_t i = 0; i < rec->n; i++) {
                const struct container_mount *d = &rec->mounts[i];
                if (!d->device)
                        continue;
                r = check_or_create_source(d->source, NULL, 0, 0, err);
                if (r < 0)
                        return coi_error_prefix(err, "container %s: device %s: ", name, d->device);
                all[k++] = *d;
        }
        if (k > n) {
                *ret_all = TAKE_PTR(all);
                *ret_n = k;
        }
        return 0;
}

int container_start_recorded(struct container_store *s, const char *name, struct coi_error *err)
{
        int r = container_validate_name(name, err);
        if (r < 0)
                return r;
        _cleanup_(mounts_record_done) struct mounts_record rec = { 0 };
        bool exists;
        r = mounts_record_read(s, name, &rec, &exists, err);
        if (r < 0)
                return r;
        if (!exists)
                return container_start(s, name, err);
        for (size_t i = 0; i < rec.n; i++) {
                const struct container_mount *m = &rec.mounts[i];
                r = check_or_create_source(m->source, rec.create[i], m->host_uid, m->host_gid, err);
                if (r < 0 && m->device)
                        return coi_error_prefix(err, "container %s: device %s: ", name, m->device);
                if (r < 0)
                        return coi_error_prefix(err, "container %s: ", name);
        }
        return container_start_with(s, name, rec.mounts, rec.n, false, err);
}

/* ---- `coi container mount` ---------------------------------------------------------------------- */

/* Incus's rule for device names, roughly: a short word that is no path. */
static bool device_name_valid(const char *device)
{
        size_t len = strlen(device);
        bool ok = len > 0 && len <= CONTAINER_DEVICE_MAX && device[0] != '.' && device[0] != '-';
        for (size_t i = 0; ok && i < len; i++) {
                char c = device[i];
                ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                     c == '_' || c == '.';
        }
        return ok;
}

/* Mounts cm into the running container now. The clone is made here, in the host's namespaces; a
 * short-lived child joins the container's mount namespace, resolves the target under the container's
 * root (symlinks stay inside) and moves the clone there, so this process never changes namespace. */
static int hotplug_mount(struct container_store *s, const struct container_info *m,
                         const struct container_mount *cm, struct coi_error *err)
{
        char ns_path[64], root_path[64];
        snprintf(ns_path, sizeof(ns_path), "/proc/%d/ns/mnt", (int)m->pid);
        snprintf(root_path, sizeof(root_path), "/proc/%d/root", (int)m->pid);
        _cleanup_close_ int mntns = open(ns_path, O_RDONLY | O_CLOEXEC);
        if (mntns < 0)
                return coi_error_set(err, errno, "open %s (the init of %s): %m", ns_path, m->name);
        _cleanup_close_ int rootfd = open(root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return coi_error_set(err, errno, "open %s (the root of %s): %m", root_path, m->name);
        _cleanup_close_ int tree = -1;
        bool is_dir = false;
        int r = clone_source(m, cm, &tree, &is_dir, err);
        if (r < 0)
                return r;
        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return coi_error_set(err, errno, "pipe: %m");
        _cleanup_close_ int rd = pipefd[0];
        pid_t pid = fork();
        if (pid < 0) {
                r = coi_error_set(err, errno, "fork to mount into %s: %m", m->name);
                close(pipefd[1]);
                return r;
        }
        if (pid == 0) {
                struct coi_error e = { 0 };
                r = setns(mntns, CLONE_NEWNS) < 0
                            ? coi_error_set(&e, errno, "join the mount namespace of %s: %m", m->name)
                            : move_to_target(tree, is_dir, rootfd, m, cm, &e);
                if (r < 0 && write(pipefd[1], &e, sizeof(e)) < 0)
                        _exit(2);
                _exit(r < 0 ? 1 : 0);
        }
        close(pipefd[1]);
        struct coi_error e = { 0 };
        ssize_t n;
        do
                n = read(rd, &e, sizeof(e));
        while (n < 0 && errno == EINTR);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (n == (ssize_t)sizeof(e)) {
                e.msg[sizeof(e.msg) - 1] = '\0';
                return coi_error_set(err, e.code ? e.code : EIO, "%s", e.msg);
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return coi_error_set(err, EIO, "mounting into %s failed without a message (status %d)",
                                     m->name, status);
        return 0;
}

int container_mount_device(struct container_store *s, const char *name, const char *device,
                           const char *source, const char *target, bool shift, struct coi_error *err)
{
        if (!device_name_valid(device))
                return coi_error_set(err, EINVAL,
                                     "invalid device name \"%s\": use letters, digits, '-', '_' and '.' "
                                     "(not first), at most %d characters",
                                     device, CONTAINER_DEVICE_MAX);
        if (target[0] != '/' || streq(target, "/"))
                return coi_error_set(err, EINVAL, "mount target %s: expected an absolute path below /",
                                     target);
        _cleanup_close_ int lock = -1;
        _cleanup_(container_info_freep) struct container_info *m = NULL;
        int r = lock_and_read(s, name, &lock, &m, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *real = realpath(source, NULL);
        if (!real)
                return coi_error_set(err, errno, "mount source %s: %m", source);
        _cleanup_(mounts_record_done) struct mounts_record rec = { 0 };
        bool exists;
        r = mounts_record_read(s, name, &rec, &exists, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < rec.n; i++)
                if (rec.mounts[i].device && streq(rec.mounts[i].device, device))
                        return coi_error_set(err, EEXIST, "container %s already has a device named %s (%s)",
                                             name, device, rec.mounts[i].target);
        /* rec's arrays have room for one more. */
        rec.mounts[rec.n] = (struct container_mount){
                .source = real, .target = target, .shift = shift, .device = device
        };
        rec.create[rec.n] = NULL;
        if (!streq(m->status, "stopped") && m->pid > 0) {
                r = hotplug_mount(s, m, &rec.mounts[rec.n], err);
                if (r < 0)
                        return r;
        }
        return mounts_record_write(s, name, rec.mounts, rec.create, rec.n + 1, err);
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
        struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
        _cleanup_close_ int ws =
                root < 0 ? -1 : (int)syscall(SYS_openat2, root, "workspace", &how, sizeof(how));
        return ws >= 0 ? "/workspace" : "/";
}
