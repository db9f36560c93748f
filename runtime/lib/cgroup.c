/* cgroup.c — the container's cgroup v2 directory: find the hierarchy, create, limit, freeze, kill, remove.
 * Every path goes through the detected cgroup2 mount and is checked to be on cgroup2: v1 is never touched. */
#include <dirent.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <time.h>

#include "cgroup-internal.h"
#include "util.h"

#define CGROUP_ROOT        "/sys/fs/cgroup"
#define CGROUP_HYBRID_ROOT "/sys/fs/cgroup/unified"
#define CGROUP_WAIT_MS     5000 /* bound on waiting for cgroup.events (freeze, thaw, empty) */
#define CGROUP_MAX_DEPTH   64   /* bound on recursion when walking a subtree */

/* What a resource block asks for, as controller names. */
enum {
        NEED_MEMORY = 1 << 0,
        NEED_CPU = 1 << 1,
        NEED_CPUSET = 1 << 2,
        NEED_PIDS = 1 << 3,
        NEED_IO = 1 << 4,
        NEED_HUGETLB = 1 << 5,
        NEED_RDMA = 1 << 6,
        NEED_MISC = 1 << 7,
};
static const char *const controller_names[] = { "memory", "cpu",     "cpuset", "pids",
                                                "io",     "hugetlb", "rdma",   "misc" };

static bool is_cgroup2_fd(int fd);
static const char *cgroup2_mount_point(void);
static int open_cgroup_dir(const char *path, struct coi_error *err);
static int check_relative_path(const char *rel, const char *what, struct coi_error *err);
static int proc_cgroup(pid_t pid, char **ret, struct coi_error *err);
static unsigned needed_controllers(const struct oci_resources *res);
static int enable_controllers(int dirfd, const char *path, unsigned need, struct coi_error *err);
static int wait_events(int dirfd, const char *path, const char *key, int want, struct coi_error *err);
static int read_events_value(int fd, const char *key);
static int collect_pids(int dirfd, const char *path, unsigned depth, pid_t **pids, size_t *n, size_t *cap,
                        struct coi_error *err);
static int open_dir_stream(int dirfd, const char *path, DIR **ret, struct coi_error *err);
static int remove_children(int dirfd, const char *path, unsigned depth, struct coi_error *err);
static int remove_dir(int dirfd, const char *name, const char *path, struct coi_error *err);
static int signal_pids(const char *path, int signo, struct coi_error *err);

int cgroup_hierarchy_detect(struct cgroup_hierarchy *ret, struct coi_error *err)
{
        struct cgroup_hierarchy h = { .layout = CGROUP_LAYOUT_NONE };
        const char *mount = cgroup2_mount_point();
        if (!mount)
                return coi_error_set(
                        err, ENOTSUP,
                        "no cgroup2 hierarchy at %s or %s (cgroup v1 only hosts are not supported)",
                        CGROUP_ROOT, CGROUP_HYBRID_ROOT);
        /* Hybrid: the v1 hierarchies beside "unified" belong to the host's manager; only "unified" is ours. */
        h.layout = streq(mount, CGROUP_ROOT) ? CGROUP_LAYOUT_UNIFIED : CGROUP_LAYOUT_HYBRID;
        snprintf(h.mount_point, sizeof(h.mount_point), "%s", mount);

        _cleanup_close_ int fd = open(h.mount_point, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return coi_error_set(err, errno, "open %s: %m", h.mount_point);
        _cleanup_free_ char *controllers = NULL;
        int r = cgroup_read_controllers(fd, h.mount_point, &controllers, err);
        if (r < 0)
                return r;
        if (strlen(controllers) >= sizeof(h.controllers))
                return coi_error_set(err, E2BIG, "%s/cgroup.controllers: too long", h.mount_point);
        strcpy(h.controllers, controllers);
        *ret = h;
        return 0;
}

int cgroup_resolve_path(const struct cgroup_hierarchy *h, const char *cgroups_path, const char *id,
                        char **ret_path, struct coi_error *err)
{
        _cleanup_free_ char *base = NULL, *rel = NULL;
        int r;

        if (h->layout == CGROUP_LAYOUT_NONE || !h->mount_point[0])
                return coi_error_set(err, ENOTSUP, "no cgroup2 hierarchy detected");

        if (!cgroups_path || !*cgroups_path) {
                if (!id || !*id || strchr(id, '/') || streq(id, ".") || streq(id, ".."))
                        return coi_error_set(err, EINVAL, "container id \"%s\" can't name a cgroup",
                                             id ? id : "");
                rel = strdup(id);
        } else if (cgroups_path[0] == '/') {
                rel = strdup(cgroups_path + 1);
        } else {
                /* "slice:prefix:name" is systemd's form: it names a unit to ask systemd for, not a path. */
                const char *c1 = strchr(cgroups_path, ':');
                const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (c2 && !strchr(c2 + 1, ':') && !strchr(cgroups_path, '/'))
                        return coi_error_set(
                                err, EINVAL,
                                "cgroupsPath \"%s\" is in systemd's \"slice:prefix:name\" form, "
                                "which needs --systemd-cgroup (not supported: coi-runtime manages "
                                "cgroupfs directly); use a path such as \"/coi/%s\"",
                                cgroups_path, id ? id : "ID");
                /* Relative: under the parent of our own cgroup, as runc does — our own cgroup holds
                 * processes, so no controller could be enabled below it (no internal processes rule). */
                r = proc_cgroup(0, &base, err);
                if (r < 0)
                        return r;
                char *slash = strrchr(base, '/');
                if (slash)
                        *slash = '\0';
                rel = base[0] ? xasprintf("%s/%s", base + (base[0] == '/'), cgroups_path)
                              : strdup(cgroups_path);
        }
        if (!rel)
                return coi_error_set(err, ENOMEM, "cgroupsPath: %m");

        /* Normalise: drop empty and "." components; ".." is refused so the result stays under the mount. */
        _cleanup_free_ char *clean = malloc(strlen(rel) + 1);
        if (!clean)
                return coi_error_set(err, ENOMEM, "cgroupsPath: %m");
        clean[0] = '\0';
        size_t len = 0;
        char *save = NULL;
        for (char *c = strtok_r(rel, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                if (streq(c, "."))
                        continue;
                if (streq(c, ".."))
                        return coi_error_set(
                                err, EINVAL,
                                "cgroupsPath \"%s\": \"..\" would leave the cgroup2 hierarchy at %s",
                                cgroups_path ? cgroups_path : id, h->mount_point);
                len += (size_t)sprintf(clean + len, "%s%s", len ? "/" : "", c);
        }
        if (!clean[0])
                return coi_error_set(err, EINVAL,
                                     "cgroupsPath \"%s\" names the root of the cgroup2 hierarchy at %s",
                                     cgroups_path ? cgroups_path : "", h->mount_point);
        char *path = xasprintf("%s/%s", h->mount_point, clean);
        if (!path)
                return coi_error_set(err, ENOMEM, "cgroupsPath: %m");
        *ret_path = path;
        return 0;
}

int cgroup_create(const struct cgroup_hierarchy *h, const char *path, const struct oci_resources *res,
                  int *ret_dirfd, struct coi_error *err)
{
        size_t mlen = strlen(h->mount_point);
        if (!mlen || strncmp(path, h->mount_point, mlen) != 0 || path[mlen] != '/')
                return coi_error_set(err, EINVAL, "cgroup %s is not under the cgroup2 hierarchy at %s", path,
                                     h->mount_point);
        const char *rel = path + mlen + 1;
        int r = check_relative_path(rel, path, err);
        if (r < 0)
                return r;

        _cleanup_close_ int fd = open(h->mount_point, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return coi_error_set(err, errno, "open %s: %m", h->mount_point);
        if (!is_cgroup2_fd(fd))
                return coi_error_set(err, EINVAL, "%s is not a cgroup2 mount; refusing to create %s",
                                     h->mount_point, path);

        /* Walk down one level at a time: enable what the limits need in the parent, then create the child.
         * A controller that can't be enabled (absent, or a parent holding processes) is skipped here:
         * cgroup_apply_resources reports it as an error or, best effort, as a warning. */
        unsigned need = res ? needed_controllers(res) : 0;
        _cleanup_free_ char *copy = strdup(rel), *cur = strdup(h->mount_point);
        if (!copy || !cur)
                return coi_error_set(err, ENOMEM, "create %s: %m", path);
        char *save = NULL;
        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                if (need) {
                        r = enable_controllers(fd, cur, need, err);
                        if (r < 0)
                                return r;
                }
                if (mkdirat(fd, c, 0755) < 0 && errno != EEXIST)
                        return coi_error_set(err, errno, "mkdir %s/%s: %m", cur, c);
                int child = openat(fd, c, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (child < 0)
                        return coi_error_set(err, errno, "open %s/%s: %m", cur, c);
                closep(&fd);
                fd = child;
                char *next = xasprintf("%s/%s", cur, c);
                if (!next)
                        return coi_error_set(err, ENOMEM, "create %s: %m", path);
                free(cur);
                cur = next;
        }
        *ret_dirfd = TAKE_FD(fd);
        return 0;
}

int cgroup_delegate(int dirfd, const char *path, uid_t uid, gid_t gid, struct coi_error *err)
{
        static const char *const files[] = { "cgroup.procs", "cgroup.subtree_control", "cgroup.threads" };
        _cleanup_close_ int own_fd = -1;
        dirfd = cgroup_dir_fd(dirfd, path, "chown it", &own_fd, err);
        if (dirfd < 0)
                return dirfd;
        if (fchown(dirfd, uid, gid) < 0)
                return coi_error_set(err, errno, "chown %s to %d:%d: %m", path, (int)uid, (int)gid);
        for (size_t i = 0; i < ELEMENTSOF(files); i++)
                if (fchownat(dirfd, files[i], uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                        return coi_error_set(err, errno, "chown %s/%s to %d:%d: %m", path, files[i], (int)uid,
                                             (int)gid);
        /* Newer kernels list more delegatable files (memory.reclaim, memory.oom.group, …). */
        _cleanup_free_ char *extra = NULL;
        if (read_file_at(AT_FDCWD, "/sys/kernel/cgroup/delegate", 4096, &extra, NULL, NULL) == 0) {
                char *save = NULL;
                for (char *f = strtok_r(extra, " \n", &save); f; f = strtok_r(NULL, " \n", &save)) {
                        bool done = false;
                        for (size_t i = 0; i < ELEMENTSOF(files); i++)
                                done = done || streq(f, files[i]);
                        if (done || strchr(f, '/'))
                                continue;
                        if (fchownat(dirfd, f, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != ENOENT)
                                return coi_error_set(err, errno, "chown %s/%s to %d:%d: %m", path, f,
                                                     (int)uid, (int)gid);
                }
        }
        return 0;
}

int cgroup_enter(int dirfd, const char *path, pid_t pid, struct coi_error *err)
{
        char action[48];
        snprintf(action, sizeof(action), "move pid %d", (int)pid);
        _cleanup_close_ int own_fd = -1;
        dirfd = cgroup_dir_fd(dirfd, path, action, &own_fd, err);
        if (dirfd < 0)
                return dirfd;
        char value[32];
        snprintf(value, sizeof(value), "%d", (int)(pid ? pid : getpid()));
        _cleanup_close_ int fd = openat(dirfd, "cgroup.procs", O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return coi_error_set(err, errno, "open %s/cgroup.procs: %m", path);
        int r = write_all(fd, value, strlen(value));
        if (r < 0)
                return coi_error_set(err, -r, "write \"%s\" to %s/cgroup.procs: %m", value, path);
        return 0;
}

int cgroup_freeze(const char *path, bool freeze, struct coi_error *err)
{
        _cleanup_close_ int dirfd = open_cgroup_dir(path, err);
        if (dirfd < 0)
                return dirfd;
        _cleanup_close_ int fd = openat(dirfd, "cgroup.freeze", O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                if (errno == ENOENT)
                        return coi_error_set(err, ENOTSUP,
                                             "%s has no cgroup.freeze (the cgroup v2 freezer needs "
                                             "Linux 5.2)",
                                             path);
                return coi_error_set(err, errno, "open %s/cgroup.freeze: %m", path);
        }
        int r = write_all(fd, freeze ? "1" : "0", 1);
        if (r < 0)
                return coi_error_set(err, -r, "write \"%s\" to %s/cgroup.freeze: %m", freeze ? "1" : "0",
                                     path);
        r = wait_events(dirfd, path, "frozen", freeze ? 1 : 0, err);
        if (r < 0 && freeze) {
                /* Don't leave it half frozen: the caller sees "running" and an error, not a mix. */
                (void)write_all(fd, "0", 1);
                return coi_error_prefix(err, "freeze: ");
        }
        if (r < 0)
                return coi_error_prefix(err, "thaw: ");
        return 0;
}

bool cgroup_is_frozen(const char *path)
{
        _cleanup_close_ int dirfd = open_cgroup_dir(path, NULL);
        if (dirfd < 0)
                return false;
        _cleanup_close_ int fd = openat(dirfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
        return fd >= 0 && read_events_value(fd, "frozen") == 1;
}

int cgroup_kill_all(const char *path, int signo, struct coi_error *err)
{
        _cleanup_close_ int dirfd = open_cgroup_dir(path, err);
        if (dirfd < 0)
                return dirfd;
        if (signo == SIGKILL) {
                /* cgroup.kill (Linux 5.14) kills the whole subtree atomically, forks included. */
                _cleanup_close_ int fd = openat(dirfd, "cgroup.kill", O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
                if (fd >= 0) {
                        int r = write_all(fd, "1", 1);
                        if (r < 0)
                                return coi_error_set(err, -r, "write \"1\" to %s/cgroup.kill: %m", path);
                        return 0;
                }
                if (errno != ENOENT)
                        return coi_error_set(err, errno, "open %s/cgroup.kill: %m", path);
        }
        /* Signal pid by pid, frozen so nothing forks past the list. A paused container stays paused
         * (handlers run on resume; a fatal default action kills through the freezer); a group we froze
         * here is thawed again, and a failure to do so reported. */
        bool froze = !cgroup_is_frozen(path) && cgroup_freeze(path, true, NULL) == 0;
        int r = signal_pids(path, signo, err);
        if (froze) {
                struct coi_error thaw_err = { 0 };
                int t = cgroup_freeze(path, false, &thaw_err);
                if (t < 0 && r == 0) {
                        if (err)
                                *err = thaw_err;
                        r = t;
                }
        }
        return r;
}

int cgroup_list_pids(const char *path, pid_t **ret_pids, size_t *ret_n, struct coi_error *err)
{
        _cleanup_close_ int dirfd = open_cgroup_dir(path, err);
        if (dirfd < 0)
                return dirfd;
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0, cap = 0;
        int r = collect_pids(dirfd, path, 0, &pids, &n, &cap, err);
        if (r < 0)
                return r;
        if (!pids) {
                pids = calloc(1, sizeof(pid_t));
                if (!pids)
                        return coi_error_set(err, ENOMEM, "list pids of %s: %m", path);
        }
        *ret_pids = TAKE_PTR(pids); /* 0-terminated, for coi_container_pids */
        *ret_n = n;
        return 0;
}

int cgroup_destroy(const char *path, struct coi_error *err)
{
        _cleanup_close_ int dirfd = open_cgroup_dir(path, err);
        if (dirfd < 0)
                return dirfd == -ENOENT ? 0 : dirfd;
        /* The usual case, a group whose processes are gone and which has no children: one rmdir (the
         * kernel refuses it with EBUSY otherwise, and we take the long way). */
        if (unlinkat(AT_FDCWD, path, AT_REMOVEDIR) == 0 || errno == ENOENT)
                return 0;

        _cleanup_close_ int events = openat(dirfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
        if (events < 0)
                return coi_error_set(err, errno, "open %s/cgroup.events: %m", path);
        if (read_events_value(events, "populated") != 0) {
                int r = cgroup_kill_all(path, SIGKILL, err);
                if (r < 0)
                        return coi_error_prefix(err, "remove: ");
                r = wait_events(dirfd, path, "populated", 0, err);
                if (r < 0)
                        return coi_error_prefix(err, "remove: ");
        }
        int r = remove_children(dirfd, path, 0, err);
        if (r < 0)
                return r;
        return remove_dir(AT_FDCWD, path, path, err);
}

COI_PUBLIC int coi_cgroup_detect(struct coi_cgroup_hierarchy *ret, struct coi_error *err)
{
        struct cgroup_hierarchy h;
        int r = cgroup_hierarchy_detect(&h, err);
        if (r < 0)
                return r;
        ret->layout = h.layout == CGROUP_LAYOUT_UNIFIED  ? COI_CGROUP_UNIFIED
                      : h.layout == CGROUP_LAYOUT_HYBRID ? COI_CGROUP_HYBRID
                                                         : COI_CGROUP_NONE;
        snprintf(ret->mount_point, sizeof(ret->mount_point), "%s", h.mount_point);
        return 0;
}

COI_PUBLIC int coi_cgroup_destroy(const char *path, struct coi_error *err)
{
        return cgroup_destroy(path, err);
}

int cgroup_dir_fd(int dirfd, const char *path, const char *action, int *own_fd, struct coi_error *err)
{
        if (dirfd < 0)
                return *own_fd = open_cgroup_dir(path, err);
        if (!is_cgroup2_fd(dirfd))
                return coi_error_set(err, EINVAL, "%s is not on a cgroup2 file system; refusing to %s", path,
                                     action);
        return dirfd;
}

/* ---- helpers ---- */

static bool is_cgroup2_fd(int fd)
{
        struct statfs fs;
        return fstatfs(fd, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

/* Where cgroup2 is mounted, by statfs only: nothing is opened before we know the path is on cgroup2. */
static const char *cgroup2_mount_point(void)
{
        struct statfs fs;
        if (statfs(CGROUP_ROOT, &fs) < 0)
                return NULL;
        if (fs.f_type == CGROUP2_SUPER_MAGIC)
                return CGROUP_ROOT;
        if (fs.f_type == TMPFS_MAGIC && statfs(CGROUP_HYBRID_ROOT, &fs) == 0 &&
            fs.f_type == CGROUP2_SUPER_MAGIC)
                return CGROUP_HYBRID_ROOT;
        return NULL;
}

/* Opens an existing cgroup directory given by absolute path. The path must lie below the cgroup2 mount
 * point (checked as a string before anything is opened, so a v1 hierarchy is never opened), must not be
 * the hierarchy's root, and the directory must really be on cgroup2. */
static int open_cgroup_dir(const char *path, struct coi_error *err)
{
        const char *mount = cgroup2_mount_point();
        if (!mount)
                return coi_error_set(err, ENOTSUP, "no cgroup2 hierarchy at %s or %s", CGROUP_ROOT,
                                     CGROUP_HYBRID_ROOT);
        size_t mlen = strlen(mount);
        if (!path || strncmp(path, mount, mlen) != 0 || path[mlen] != '/' || !path[mlen + 1])
                return coi_error_set(
                        err, EINVAL,
                        "cgroup \"%s\" is not below the cgroup2 hierarchy at %s; refusing to touch it",
                        path ? path : "", mount);
        int r = check_relative_path(path + mlen + 1, path, err);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return coi_error_set(err, errno, "open %s: %m", path);
        if (!is_cgroup2_fd(fd))
                return coi_error_set(err, EINVAL, "%s is not on a cgroup2 file system; refusing to touch it",
                                     path);
        return TAKE_FD(fd);
}

static int check_relative_path(const char *rel, const char *what, struct coi_error *err)
{
        if (!*rel)
                return coi_error_set(err, EINVAL, "cgroup %s: no directory below the hierarchy's root", what);
        for (const char *c = rel; *c;) {
                size_t n = strcspn(c, "/");
                if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
                        return coi_error_set(err, EINVAL,
                                             "cgroup %s: \".\" and \"..\" components are refused", what);
                c += n;
                while (*c == '/')
                        c++;
        }
        return 0;
}

/* A process's cgroup v2 path ("/a/b"), from /proc/PID/cgroup's "0::" line (pid 0: our own). */
static int proc_cgroup(pid_t pid, char **ret, struct coi_error *err)
{
        char file[64];
        if (pid)
                snprintf(file, sizeof(file), "/proc/%d/cgroup", (int)pid);
        else
                snprintf(file, sizeof(file), "/proc/self/cgroup");
        _cleanup_free_ char *data = NULL;
        int r = read_file_at(AT_FDCWD, file, 1 << 20, &data, NULL, err);
        if (r < 0)
                return r;
        for (char *line = data; line && *line;) {
                char *nl = strchr(line, '\n');
                if (nl)
                        *nl = '\0';
                if (startswith(line, "0::")) {
                        const char *p = line + 3;
                        /* Outside our cgroup namespace's root the kernel shows "/../…": refuse, don't guess. */
                        if (p[0] != '/' || check_relative_path(p[1] ? p + 1 : "x", p, NULL) < 0)
                                return coi_error_set(err, EINVAL,
                                                     "%s: cgroup \"%s\" is outside this cgroup namespace",
                                                     file, p);
                        char *s = strdup(p);
                        if (!s)
                                return coi_error_set(err, ENOMEM, "%s: %m", file);
                        *ret = s;
                        return 0;
                }
                line = nl ? nl + 1 : NULL;
        }
        return coi_error_set(err, ENOENT, "%s: no cgroup2 (\"0::\") line", file);
}

int cgroup_exec_path(const char *path, pid_t init, char **ret, struct coi_error *err)
{
        _cleanup_free_ char *control = NULL, *file = xasprintf("%s/cgroup.subtree_control", path);
        if (!file)
                return coi_error_set(err, ENOMEM, "cgroup %s: %m", path);
        if (read_file_at(AT_FDCWD, file, 4096, &control, NULL, NULL) < 0 ||
            !control[strspn(control, " \n")]) {
                *ret = strdup(path);
                return *ret ? 0 : coi_error_set(err, ENOMEM, "cgroup %s: %m", path);
        }
        /* Controllers are enabled below path (systemd inside delegates them): cgroup v2 lets no process
         * join a group whose subtree_control has any, so join init's group within it instead. */
        struct cgroup_hierarchy h;
        _cleanup_free_ char *rel = NULL;
        int r = cgroup_hierarchy_detect(&h, err);
        r = r ?: proc_cgroup(init, &rel, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *p = xasprintf("%s%s", h.mount_point, rel);
        if (!p)
                return coi_error_set(err, ENOMEM, "cgroup %s: %m", path);
        size_t n = strlen(path);
        if (strncmp(p, path, n) != 0 || (p[n] != '/' && p[n] != '\0'))
                return coi_error_set(err, EBUSY,
                                     "cgroup %s has controllers enabled below it and init's cgroup %s is not "
                                     "inside it: nowhere to put the exec'd process",
                                     path, p);
        *ret = TAKE_PTR(p);
        return 0;
}

bool cgroup_list_has(const char *list, const char *word)
{
        size_t n = strlen(word);
        for (const char *p = list; p && *p;) {
                p += strspn(p, " \n");
                size_t m = strcspn(p, " \n");
                if (m == n && strncmp(p, word, n) == 0)
                        return true;
                p += m;
        }
        return false;
}

static unsigned needed_controllers(const struct oci_resources *res)
{
        unsigned need = 0;
        if ((res->has_memory_limit && res->memory_limit != 0) ||
            (res->has_memory_reservation && res->memory_reservation != 0) || res->has_memory_swap)
                need |= NEED_MEMORY;
        if ((res->has_cpu_shares && res->cpu_shares) || (res->has_cpu_quota && res->cpu_quota) ||
            (res->has_cpu_period && res->cpu_period) || res->has_cpu_idle || res->has_cpu_burst)
                need |= NEED_CPU;
        if ((res->cpu_cpus && res->cpu_cpus[0]) || (res->cpu_mems && res->cpu_mems[0]))
                need |= NEED_CPUSET;
        if (res->has_pids_limit && res->pids_limit != 0)
                need |= NEED_PIDS;
        if ((res->has_io_weight && res->io_weight) || res->n_io_devices)
                need |= NEED_IO;
        for (char **kv = res->unified; kv && kv[0] && kv[1]; kv += 2)
                for (size_t i = 0; i < ELEMENTSOF(controller_names); i++) {
                        size_t n = strlen(controller_names[i]);
                        if (strncmp(kv[0], controller_names[i], n) == 0 && kv[0][n] == '.')
                                need |= 1u << i;
                }
        return need;
}

/* Enables in dirfd's cgroup.subtree_control each needed controller it has and hasn't enabled yet. */
static int enable_controllers(int dirfd, const char *path, unsigned need, struct coi_error *err)
{
        _cleanup_free_ char *have = NULL, *enabled = NULL;
        int r = cgroup_read_controllers(dirfd, path, &have, err);
        if (r < 0)
                return r;
        r = read_file_at(dirfd, "cgroup.subtree_control", 4096, &enabled, NULL, err);
        if (r < 0)
                return coi_error_prefix(err, "%s: ", path);
        for (size_t i = 0; i < ELEMENTSOF(controller_names); i++) {
                const char *c = controller_names[i];
                if (!(need & (1u << i)) || !cgroup_list_has(have, c) || cgroup_list_has(enabled, c))
                        continue;
                char value[32];
                snprintf(value, sizeof(value), "+%s", c);
                _cleanup_close_ int fd =
                        openat(dirfd, "cgroup.subtree_control", O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0)
                        return coi_error_set(err, errno, "open %s/cgroup.subtree_control: %m", path);
                r = write_all(fd, value, strlen(value));
                /* EBUSY: the group holds processes itself (cgroup v2's "no internal processes" rule). Like a
                 * missing controller, that is reported (or, best effort, logged) by cgroup_apply_resources. */
                if (r == -EBUSY)
                        continue;
                if (r < 0)
                        return coi_error_set(err, -r, "write \"%s\" to %s/cgroup.subtree_control: %m", value,
                                             path);
        }
        return 0;
}

int cgroup_read_controllers(int dirfd, const char *path, char **ret, struct coi_error *err)
{
        _cleanup_free_ char *data = NULL;
        int r = read_file_at(dirfd, "cgroup.controllers", 4096, &data, NULL, err);
        if (r < 0)
                return coi_error_prefix(err, "%s: ", path);
        size_t n = strlen(data);
        while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == ' '))
                data[--n] = '\0';
        *ret = TAKE_PTR(data);
        return 0;
}

/* The value of "key N" in an open cgroup.events, -1 if unreadable. */
static int read_events_value(int fd, const char *key)
{
        char buf[512];
        if (lseek(fd, 0, SEEK_SET) < 0)
                return -1;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return -1;
        buf[n] = '\0';
        size_t klen = strlen(key);
        for (char *line = buf; line && *line;) {
                if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
                        return atoi(line + klen + 1);
                line = strchr(line, '\n');
                if (line)
                        line++;
        }
        return -1;
}

/* Waits until cgroup.events shows "key want": the kernel signals changes as POLLPRI on the file. */
static int wait_events(int dirfd, const char *path, const char *key, int want, struct coi_error *err)
{
        _cleanup_close_ int fd = openat(dirfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return coi_error_set(err, errno, "open %s/cgroup.events: %m", path);
        uint64_t deadline = now_ns() + (uint64_t)CGROUP_WAIT_MS * 1000000u;
        for (;;) {
                int v = read_events_value(fd, key);
                if (v == want)
                        return 0;
                uint64_t now = now_ns();
                if (now >= deadline)
                        return coi_error_set(err, ETIMEDOUT,
                                             "%s/cgroup.events still says \"%s %d\" after %d s", path, key, v,
                                             CGROUP_WAIT_MS / 1000);
                /* Re-check at least every 50 ms even if a notification is missed. */
                uint64_t left_ms = (deadline - now) / 1000000u + 1;
                struct pollfd p = { .fd = fd, .events = POLLPRI };
                if (poll(&p, 1, left_ms < 50 ? (int)left_ms : 50) < 0 && errno != EINTR)
                        return coi_error_set(err, errno, "poll %s/cgroup.events: %m", path);
        }
}

static int collect_pids(int dirfd, const char *path, unsigned depth, pid_t **pids, size_t *n, size_t *cap,
                        struct coi_error *err)
{
        if (depth > CGROUP_MAX_DEPTH)
                return coi_error_set(err, ELOOP, "%s: cgroup tree deeper than %d levels", path,
                                     CGROUP_MAX_DEPTH);
        _cleanup_free_ char *data = NULL;
        int r = read_file_at(dirfd, "cgroup.procs", 0, &data, NULL, err);
        if (r == -EOPNOTSUPP)
                data = NULL; /* a threaded cgroup: its processes are listed by the threaded domain above */
        else if (r < 0)
                return coi_error_prefix(err, "%s: ", path);
        for (char *p = data; p && *p;) {
                char *end;
                long v = strtol(p, &end, 10);
                if (end == p)
                        break;
                p = end + strspn(end, "\n");
                bool seen = false;
                for (size_t i = 0; i < *n && !seen; i++)
                        seen = (*pids)[i] == (pid_t)v;
                if (seen || v <= 0)
                        continue;
                if (*n + 2 > *cap) {
                        size_t nc = *cap ? *cap * 2 : 16;
                        pid_t *np = realloc(*pids, nc * sizeof(pid_t));
                        if (!np)
                                return coi_error_set(err, ENOMEM, "list pids of %s: %m", path);
                        *pids = np;
                        *cap = nc;
                }
                (*pids)[(*n)++] = (pid_t)v;
                (*pids)[*n] = 0;
        }

        _cleanup_closedir_ DIR *d = NULL;
        r = open_dir_stream(dirfd, path, &d, err);
        if (r < 0)
                return r;
        for (struct dirent *de; r == 0 && (de = readdir(d));) {
                if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *sub = xasprintf("%s/%s", path, de->d_name);
                _cleanup_close_ int sfd =
                        openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (!sub)
                        r = coi_error_set(err, ENOMEM, "list pids of %s: %m", path);
                else if (sfd < 0 && errno != ENOENT) /* ENOENT: removed meanwhile */
                        r = coi_error_set(err, errno, "open %s: %m", sub);
                else if (sfd >= 0)
                        r = collect_pids(sfd, sub, depth + 1, pids, n, cap, err);
        }
        return r;
}

/* A directory stream of dirfd's directory on a new fd (dirfd stays the caller's), for _cleanup_closedir_. */
static int open_dir_stream(int dirfd, const char *path, DIR **ret, struct coi_error *err)
{
        int dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return coi_error_set(err, errno, "open %s: %m", path);
        DIR *d = fdopendir(dfd);
        if (!d) {
                closep(&dfd); /* keeps errno */
                return coi_error_set(err, errno, "opendir %s: %m", path);
        }
        *ret = d;
        return 0;
}

/* rmdir every sub-cgroup of dirfd, deepest first. Only directories are removed: in cgroupfs, rmdir of
 * an empty cgroup is the whole removal (its interface files go with it). */
static int remove_children(int dirfd, const char *path, unsigned depth, struct coi_error *err)
{
        if (depth > CGROUP_MAX_DEPTH)
                return coi_error_set(err, ELOOP, "%s: cgroup tree deeper than %d levels", path,
                                     CGROUP_MAX_DEPTH);
        _cleanup_closedir_ DIR *d = NULL;
        int r = open_dir_stream(dirfd, path, &d, err);
        if (r < 0)
                return r;
        for (struct dirent *de; r == 0 && (de = readdir(d));) {
                if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *sub = xasprintf("%s/%s", path, de->d_name);
                _cleanup_close_ int sfd =
                        openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (!sub) {
                        r = coi_error_set(err, ENOMEM, "remove %s: %m", path);
                        break;
                }
                if (sfd < 0) {
                        if (errno != ENOENT)
                                r = coi_error_set(err, errno, "open %s: %m", sub);
                        continue;
                }
                r = remove_children(sfd, sub, depth + 1, err);
                if (r == 0)
                        r = remove_dir(dirfd, de->d_name, sub, err);
        }
        return r;
}

/* rmdir, retrying EBUSY for up to a second: right after a kill the last task may still be leaving. */
static int remove_dir(int dirfd, const char *name, const char *path, struct coi_error *err)
{
        for (int i = 0; unlinkat(dirfd, name, AT_REMOVEDIR) < 0; i++) {
                if (errno == ENOENT)
                        return 0;
                if (errno != EBUSY || i >= 100)
                        return coi_error_set(err, errno, "rmdir %s: %m", path);
                nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
        }
        return 0;
}

static int signal_pids(const char *path, int signo, struct coi_error *err)
{
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        int r = cgroup_list_pids(path, &pids, &n, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (kill(pids[i], signo) < 0 && errno != ESRCH)
                        return coi_error_set(err, errno, "kill pid %d of %s with signal %d: %m", (int)pids[i],
                                             path, signo);
        return 0;
}
