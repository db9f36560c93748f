/* mounts.c — the container's mount namespace: every target is resolved inside the rootfs fd
 * (openat2 RESOLVE_IN_ROOT) and every mount is made and attached by fd; no host path is ever built. */
#include <linux/openat2.h>
#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "mounts.h"
#include "userns.h"
#include "util.h"

static uint64_t ms_to_mount_attr(unsigned long ms)
{
        uint64_t a = 0;
        if (ms & MS_RDONLY)
                a |= MOUNT_ATTR_RDONLY;
        if (ms & MS_NOSUID)
                a |= MOUNT_ATTR_NOSUID;
        if (ms & MS_NODEV)
                a |= MOUNT_ATTR_NODEV;
        if (ms & MS_NOEXEC)
                a |= MOUNT_ATTR_NOEXEC;
        if (ms & MS_NODIRATIME)
                a |= MOUNT_ATTR_NODIRATIME;
        if (ms & MS_NOSYMFOLLOW)
                a |= MOUNT_ATTR_NOSYMFOLLOW;
        if (ms & MS_NOATIME)
                a |= MOUNT_ATTR_NOATIME;
        else if (ms & MS_STRICTATIME)
                a |= MOUNT_ATTR_STRICTATIME;
        return a;
}

/* The mount_setattr request for a mount's flags: the kernel wants the whole atime field cleared
 * whenever an atime mode is set or cleared. */
static struct mount_attr mount_attr_of(unsigned long set, unsigned long clear)
{
        struct mount_attr a = { .attr_set = ms_to_mount_attr(set), .attr_clr = ms_to_mount_attr(clear) };
        a.attr_clr &= ~(uint64_t)MOUNT_ATTR__ATIME;
        if ((set | clear) & (MS_NOATIME | MS_STRICTATIME | MS_RELATIME))
                a.attr_clr |= MOUNT_ATTR__ATIME;
        return a;
}

/* ---- path resolution inside the rootfs ---------------------------------------------------------- */

int mounts_resolve_in_root(int rootfd, const char *path, enum mounts_create create, int *ret_fd,
                           struct coi_error *err)
{
        int fd = openat2_in_root(rootfd, path, O_PATH);
        if (fd >= 0) {
                *ret_fd = fd;
                return 0;
        }
        if (errno != ENOENT || create == MOUNTS_NO_CREATE)
                return coi_error_set(err, errno, "resolve %s in the rootfs: %m", path);

        /* Walk the prefixes: each is re-resolved from the root so a symlink met on the way is contained
         * exactly as in the full lookup; only plain names are created, below an fd inside the root. */
        _cleanup_free_ char *buf = strdup(path);
        if (!buf)
                return coi_error_set(err, ENOMEM, "resolve %s: %m", path);
        _cleanup_close_ int parent = openat2_in_root(rootfd, "/", O_PATH);
        if (parent < 0)
                return coi_error_set(err, errno, "open the rootfs: %m");
        size_t len = strlen(buf);
        size_t i = 0;
        while (i < len) {
                while (i < len && buf[i] == '/')
                        i++;
                if (i >= len)
                        break;
                size_t start = i;
                while (i < len && buf[i] != '/')
                        i++;
                char saved = buf[i];
                buf[i] = '\0';
                const char *name = buf + start;
                bool last = true;
                for (size_t k = i + 1; saved && k < len; k++)
                        if (buf[k] != '/') {
                                last = false;
                                break;
                        }
                int next = openat2_in_root(rootfd, buf, O_PATH);
                if (next < 0 && errno == ENOENT) {
                        if (last && create == MOUNTS_CREATE_FILE) {
                                int f = openat(parent, name,
                                               O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
                                if (f < 0 && errno != EEXIST)
                                        return coi_error_set(err, errno, "create %s in the rootfs: %m", buf);
                                closep(&f);
                        } else if (mkdirat(parent, name, 0755) < 0 && errno != EEXIST) {
                                return coi_error_set(err, errno, "mkdir %s in the rootfs: %m", buf);
                        }
                        next = openat2_in_root(rootfd, buf, O_PATH);
                        if (next < 0 && errno == ENOENT)
                                return coi_error_set(
                                        err, ENOENT,
                                        "resolve %s in the rootfs: a dangling symlink is in the way", buf);
                }
                if (next < 0)
                        return coi_error_set(err, errno, "resolve %s in the rootfs: %m", buf);
                closep(&parent);
                parent = next;
                buf[i] = saved;
        }
        *ret_fd = TAKE_FD(parent);
        return 0;
}

/* ---- making mounts ------------------------------------------------------------------------------ */

static int attach(int tree_fd, int target_fd, const char *what, const char *dest, struct coi_error *err)
{
        if (move_mount(tree_fd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return coi_error_set(err, errno, "mount %s on %s: move_mount: %m", what, dest);
        return 0;
}

/* Applies a bind mount's options to a detached tree: the plain flags on the top mount only (as
 * mount(2) does), the r* options recursively. */
static int set_bind_attrs(int tree_fd, const struct oci_mount *m, struct coi_error *err)
{
        struct mount_attr a = mount_attr_of(m->flags, m->clear_flags);
        if ((a.attr_set || a.attr_clr) && mount_setattr(tree_fd, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
                return coi_error_set(err, errno, "bind mount %s: set options: %m", m->destination);
        if (m->rec_attr_set || m->rec_attr_clr) {
                struct mount_attr r = { .attr_set = m->rec_attr_set, .attr_clr = m->rec_attr_clr };
                if ((r.attr_set | r.attr_clr) & MOUNT_ATTR__ATIME)
                        r.attr_clr |= MOUNT_ATTR__ATIME;
                if (mount_setattr(tree_fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &r, sizeof(r)) < 0)
                        return coi_error_set(err, errno, "bind mount %s: set recursive options: %m",
                                             m->destination);
        }
        return 0;
}

static char *source_path(const struct oci_mount *m, const char *bundle)
{
        if (!m->source)
                return NULL;
        if (m->source[0] == '/' || !bundle)
                return strdup(m->source);
        return xasprintf("%s/%s", bundle, m->source);
}

static int open_bind_tree(const char *src, bool recursive, int *ret_fd, struct coi_error *err)
{
        int fd = open_tree(AT_FDCWD, src,
                           OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
        if (fd < 0)
                return coi_error_set(err, errno, "bind %s: open_tree: %m", src);
        *ret_fd = fd;
        return 0;
}

/* fsopen + fsconfig + fsmount; the filesystem's own log line is added to errors. */
static int open_fs_tree(const char *type, const char *source, const char *data, uint64_t attrs, int *ret_fd,
                        struct coi_error *err)
{
        _cleanup_close_ int fs = fsopen(type, FSOPEN_CLOEXEC);
        if (fs < 0)
                return coi_error_set(err, errno, "mount %s: fsopen: %m", type);
        int r = 0;
        if (source && fsconfig(fs, FSCONFIG_SET_STRING, "source", source, 0) < 0)
                r = -errno;
        _cleanup_free_ char *opts = data ? strdup(data) : NULL;
        char *save = NULL;
        for (char *o = opts ? strtok_r(opts, ",", &save) : NULL; o && r == 0;
             o = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(o, '=');
                if (eq) {
                        *eq = '\0';
                        if (fsconfig(fs, FSCONFIG_SET_STRING, o, eq + 1, 0) < 0)
                                r = -errno;
                } else if (fsconfig(fs, FSCONFIG_SET_FLAG, o, NULL, 0) < 0) {
                        r = -errno;
                }
        }
        if (r == 0 && fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                r = -errno;
        int mfd = r == 0 ? fsmount(fs, FSMOUNT_CLOEXEC, (unsigned)attrs) : -1;
        if (r == 0 && mfd < 0)
                r = -errno;
        if (r < 0) {
                char log[256] = "";
                ssize_t n = read(fs, log, sizeof(log) - 1);
                log[n > 0 ? n : 0] = '\0';
                if (n > 0 && log[n - 1] == '\n')
                        log[n - 1] = '\0';
                errno = -r;
                return coi_error_set(err, -r, "mount %s (options \"%s\"): %m%s%s", type, data ? data : "",
                                     n > 2 ? ": " : "", n > 2 ? log + 2 : "");
        }
        *ret_fd = mfd;
        return 0;
}

/* tmpcopyup: a recursive copy (files, directories, symlinks, nodes) keeping modes and owners. */
static int copy_tree(int from, int to, const char *where, int depth, struct coi_error *err)
{
        if (depth > 64)
                return coi_error_set(err, ELOOP, "tmpcopyup %s: directories nested too deep", where);
        int dfd = fcntl(from, F_DUPFD_CLOEXEC, 3);
        _cleanup_closedir_ DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
        if (!d) {
                closep(&dfd);
                return coi_error_set(err, errno, "tmpcopyup %s: read directory: %m", where);
        }
        int r = 0;
        struct dirent *de;
        while (r == 0 && (de = readdir(d))) {
                const char *n = de->d_name;
                struct stat st;
                if (streq(n, ".") || streq(n, ".."))
                        continue;
                if (fstatat(from, n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = coi_error_set(err, errno, "tmpcopyup %s/%s: stat: %m", where, n);
                        break;
                }
                mode_t mode = st.st_mode & 07777;
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int sub_from =
                                openat(from, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub_from < 0 || mkdirat(to, n, 0700) < 0)
                                r = coi_error_set(err, errno, "tmpcopyup %s/%s: %m", where, n);
                        _cleanup_close_ int sub_to =
                                r == 0 ? openat(to, n, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
                        if (r == 0 && sub_to < 0)
                                r = coi_error_set(err, errno, "tmpcopyup %s/%s: %m", where, n);
                        if (r == 0)
                                r = copy_tree(sub_from, sub_to, where, depth + 1, err);
                } else if (S_ISREG(st.st_mode)) {
                        _cleanup_close_ int in = openat(from, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                        _cleanup_close_ int out =
                                in >= 0 ? openat(to, n, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
                        if (out < 0)
                                r = coi_error_set(err, errno, "tmpcopyup %s/%s: %m", where, n);
                        for (off_t left = st.st_size; r == 0 && left > 0;) {
                                ssize_t k = sendfile(out, in, NULL, (size_t)left);
                                if (k <= 0) {
                                        r = coi_error_set(err, k < 0 ? errno : EIO,
                                                          "tmpcopyup %s/%s: copy: %m", where, n);
                                        break;
                                }
                                left -= k;
                        }
                } else if (S_ISLNK(st.st_mode)) {
                        char target[4096];
                        ssize_t k = readlinkat(from, n, target, sizeof(target) - 1);
                        if (k >= 0)
                                target[k] = '\0';
                        if (k < 0 || symlinkat(target, to, n) < 0)
                                r = coi_error_set(err, errno, "tmpcopyup %s/%s: symlink: %m", where, n);
                } else if (mknodat(to, n, st.st_mode, st.st_rdev) < 0) {
                        r = coi_error_set(err, errno, "tmpcopyup %s/%s: mknod: %m", where, n);
                }
                if (r == 0 && fchownat(to, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
                        r = coi_error_set(err, errno, "tmpcopyup %s/%s: chown: %m", where, n);
                if (r == 0 && !S_ISLNK(st.st_mode) && fchmodat(to, n, mode, 0) < 0)
                        r = coi_error_set(err, errno, "tmpcopyup %s/%s: chmod: %m", where, n);
        }
        return r;
}

static bool is_bind(const struct oci_mount *m)
{
        return m->bind || (m->type && streq(m->type, "bind"));
}

/* One config mount: the detached tree first (so a bad source fails before anything changes), then the
 * target inside the rootfs (created to match the source), then attach, then propagation. */
static int mount_one(int rootfd, const struct mounts_setup *s, const struct oci_mount *m, int idmapped_fd,
                     struct coi_error *err)
{
        _cleanup_close_ int tree = idmapped_fd;
        enum mounts_create create = MOUNTS_CREATE_DIR;
        _cleanup_free_ char *src = source_path(m, s->bundle);
        const char *what = m->source ? m->source : (m->type ? m->type : "?");
        int r = 0;

        if (is_bind(m)) {
                if (!src)
                        return coi_error_set(err, EINVAL, "bind mount on %s has no source", m->destination);
                struct stat st;
                if (stat(src, &st) < 0)
                        return coi_error_set(err, errno, "bind mount source %s: %m", src);
                if (!S_ISDIR(st.st_mode))
                        create = MOUNTS_CREATE_FILE;
                if (tree < 0) {
                        r = open_bind_tree(src, m->recursive, &tree, err);
                        if (r == 0)
                                r = set_bind_attrs(tree, m, err);
                }
        } else if (tree >= 0) {
                /* idmapped non-bind mounts are refused by the parent; nothing to do here */
        } else {
                if (!m->type)
                        return coi_error_set(err, EINVAL, "mount on %s has neither a type nor a bind option",
                                             m->destination);
                /* cgroup v1 is never mounted: a container sees the cgroup2 tree (its namespace root). */
                const char *type = streq(m->type, "cgroup") ? "cgroup2" : m->type;
                struct mount_attr a = mount_attr_of(m->flags, 0);
                r = open_fs_tree(type, m->source, m->data, a.attr_set, &tree, err);
                /* sysfs needs a network namespace we own; without one, bind the host's (runc does too). */
                if (r == -EPERM && streq(type, "sysfs")) {
                        r = open_bind_tree("/sys", true, &tree, err);
                        if (r == 0)
                                r = set_bind_attrs(tree, m, err);
                } else if ((r == -EPERM || r == -EBUSY) && streq(type, "cgroup2") && s->cgroup_path) {
                        r = open_bind_tree(s->cgroup_path, false, &tree, err);
                        if (r == 0)
                                r = set_bind_attrs(tree, m, err);
                }
        }
        if (r < 0)
                return r;

        _cleanup_close_ int target = -1;
        r = mounts_resolve_in_root(rootfd, m->destination, create, &target, err);
        if (r < 0)
                return r;
        if (m->tmpcopyup && !is_bind(m)) {
                /* The image's files under the target are copied into the new (still detached) tmpfs. */
                _cleanup_close_ int from = openat(target, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (from < 0)
                        return coi_error_set(err, errno, "tmpcopyup %s: open the image's directory: %m",
                                             m->destination);
                r = copy_tree(from, tree, m->destination, 0, err);
                if (r < 0)
                        return r;
        }
        r = attach(tree, target, what, m->destination, err);
        if (r < 0)
                return r;
        if (m->propagation) {
                struct mount_attr p = { .propagation = m->propagation & ~(unsigned long)MS_REC };
                if (mount_setattr(tree, "", AT_EMPTY_PATH | ((m->propagation & MS_REC) ? AT_RECURSIVE : 0),
                                  &p, sizeof(p)) < 0)
                        return coi_error_set(err, errno, "mount %s: set propagation: %m", m->destination);
        }
        return 0;
}

/* ---- /dev ---------------------------------------------------------------------------------------- */

static const struct {
        const char *path;
        unsigned major, minor;
} default_devices[] = {
        /* runc's order, so the mount tables of the two runtimes read the same. */
        { "/dev/null", 1, 3 }, { "/dev/random", 1, 8 }, { "/dev/full", 1, 7 },
        { "/dev/tty", 5, 0 },  { "/dev/zero", 1, 5 },   { "/dev/urandom", 1, 9 },
};

static const struct {
        const char *name, *target;
} dev_symlinks[] = {
        { "fd", "/proc/self/fd" },       { "stdin", "/proc/self/fd/0" }, { "stdout", "/proc/self/fd/1" },
        { "stderr", "/proc/self/fd/2" }, { "ptmx", "pts/ptmx" },         { "core", "/proc/kcore" },
};

/* A device node: mknod when we are real root without a user namespace (the kernel refuses mknod of
 * devices inside one), else an empty file with the host's node bound over it. */
static int make_device(int rootfd, const char *path, char type, unsigned major, unsigned minor, mode_t mode,
                       bool has_owner, uid_t uid, gid_t gid, bool in_userns, struct coi_error *err)
{
        if (in_userns) {
                _cleanup_close_ int target = -1;
                int r = mounts_resolve_in_root(rootfd, path, MOUNTS_CREATE_FILE, &target, err);
                if (r < 0)
                        return r;
                _cleanup_close_ int tree = -1;
                r = open_bind_tree(path, false, &tree, err);
                if (r < 0)
                        return r;
                return attach(tree, target, path, path, err);
        }
        const char *slash = strrchr(path, '/');
        _cleanup_free_ char *dir = strndup(path, (size_t)(slash - path));
        if (!dir)
                return coi_error_set(err, ENOMEM, "device %s: %m", path);
        _cleanup_close_ int dirfd = -1;
        int r = mounts_resolve_in_root(rootfd, *dir ? dir : "/", MOUNTS_CREATE_DIR, &dirfd, err);
        if (r < 0)
                return r;
        const char *name = slash + 1;
        if (!*name || streq(name, "..") || streq(name, "."))
                return coi_error_set(err, EINVAL, "device path %s: not a file name", path);
        mode_t kind = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
        if (mknodat(dirfd, name, kind | (mode & 07777), makedev(major, minor)) < 0) {
                if (errno == EEXIST)
                        return 0; /* the config listed a default device again */
                return coi_error_set(err, errno, "mknod %s: %m", path);
        }
        /* mknod honours the umask; the mode asked for is exact. */
        if (fchmodat(dirfd, name, mode & 07777, 0) < 0)
                return coi_error_set(err, errno, "chmod %s: %m", path);
        if (has_owner && fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                return coi_error_set(err, errno, "chown %s: %m", path);
        return 0;
}

/* A default device in the tmpfs /dev we just mounted (in a user namespace): created and bound through
 * one fd of /dev instead of resolving the path again for each step. The new file is made with
 * O_EXCL | O_NOFOLLOW and the mount goes onto that very file (its fd). Returns -EEXIST, with err
 * untouched, when the name exists already (a config mount put something there): the caller then takes
 * the general path. */
static int bind_default_device(int devfd, const char *path, struct coi_error *err)
{
        const char *name = path + strlen("/dev/");
        _cleanup_close_ int target =
                openat(devfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (target < 0) {
                if (errno == EEXIST)
                        return -EEXIST;
                return coi_error_set(err, errno, "create %s in the rootfs: %m", path);
        }
        _cleanup_close_ int tree = -1;
        int r = open_bind_tree(path, false, &tree, err);
        if (r < 0)
                return r;
        return attach(tree, target, path, path, err);
}

static bool is_default_device(const char *path)
{
        for (size_t i = 0; i < ELEMENTSOF(default_devices); i++)
                if (streq(path, default_devices[i].path))
                        return true;
        return false;
}

static bool dev_is_tmpfs(const struct oci_config *config)
{
        for (size_t i = 0; i < config->n_mounts; i++)
                if (streq(config->mounts[i].destination, "/dev") && !is_bind(&config->mounts[i]))
                        return true;
        return false;
}

static int setup_dev(int rootfd, const struct mounts_setup *s, struct coi_error *err)
{
        const struct oci_linux *l = &s->config->linux_;
        int r;
        bool dev_tmpfs = dev_is_tmpfs(s->config);
        if (dev_tmpfs) {
                _cleanup_close_ int dev = -1;
                r = mounts_resolve_in_root(rootfd, "/dev", MOUNTS_CREATE_DIR, &dev, err);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < ELEMENTSOF(default_devices); i++) {
                        r = s->in_userns ? bind_default_device(dev, default_devices[i].path, err) : -EEXIST;
                        if (r == -EEXIST)
                                r = make_device(rootfd, default_devices[i].path, 'c',
                                                default_devices[i].major, default_devices[i].minor, 0666,
                                                false, 0, 0, s->in_userns, err);
                        if (r < 0)
                                return r;
                }
                for (size_t i = 0; i < ELEMENTSOF(dev_symlinks); i++) {
                        /* /proc/kcore exists only with CONFIG_PROC_KCORE: no dangling /dev/core. */
                        if (streq(dev_symlinks[i].name, "core") && access("/proc/kcore", F_OK) < 0)
                                continue;
                        if (symlinkat(dev_symlinks[i].target, dev, dev_symlinks[i].name) < 0 &&
                            errno != EEXIST)
                                return coi_error_set(err, errno, "symlink /dev/%s: %m", dev_symlinks[i].name);
                }
                if (mkdirat(dev, "shm", 01777) < 0 && errno != EEXIST)
                        return coi_error_set(err, errno, "mkdir /dev/shm: %m");
                if (mkdirat(dev, "pts", 0755) < 0 && errno != EEXIST)
                        return coi_error_set(err, errno, "mkdir /dev/pts: %m");
        }
        for (size_t i = 0; i < l->n_devices; i++) {
                const struct oci_device *d = &l->devices[i];
                if (!d->path || d->path[0] != '/' || !startswith(d->path, "/dev/"))
                        return coi_error_set(err, EINVAL, "linux.devices[%zu]: path %s is not under /dev", i,
                                             d->path ? d->path : "(null)");
                if (dev_tmpfs && is_default_device(d->path))
                        continue; /* made above already */
                r = make_device(rootfd, d->path, d->type, (unsigned)d->major, (unsigned)d->minor,
                                d->has_file_mode ? d->file_mode : 0666, d->has_uid || d->has_gid, d->uid,
                                d->gid, s->in_userns, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- the rootfs ---------------------------------------------------------------------------------- */

int mounts_prepare_rootfs(const struct mounts_setup *s, struct coi_error *err)
{
        const struct oci_config *config = s->config;
        /* Nothing we mount may propagate back to the host: "/" gets the configured propagation,
         * rslave by default (host mounts still reach the container, ours never reach the host). A
         * shared or unbindable root is made rslave here and gets its propagation after pivot_root
         * (mounts_finish_rootfs): pivot_root refuses a shared parent, an unbindable one can't be bound
         * onto itself, and a peer group made after the pivot never reaches the host's mounts. */
        unsigned long prop =
                config->linux_.rootfs_propagation ? config->linux_.rootfs_propagation : (MS_SLAVE | MS_REC);
        if (prop & (MS_SHARED | MS_UNBINDABLE))
                prop = MS_SLAVE | MS_REC;
        if (mount(NULL, "/", NULL, prop, NULL) < 0)
                return coi_error_set(err, errno, "set propagation of / (rootfsPropagation): %m");
        /* pivot_root needs the new root to be a mount point. */
        if (mount(s->rootfs, s->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
                return coi_error_set(err, errno, "bind the rootfs %s onto itself: %m", s->rootfs);
        _cleanup_close_ int rootfd = open(s->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return coi_error_set(err, errno, "open the rootfs %s: %m", s->rootfs);
        for (size_t i = 0; i < config->n_mounts; i++) {
                int fd = s->idmapped_fds ? s->idmapped_fds[i] : -1;
                int r = mount_one(rootfd, s, &config->mounts[i], fd >= 0 ? dup(fd) : -1, err);
                if (r < 0)
                        return r;
        }
        return setup_dev(rootfd, s, err);
}

int mounts_pivot_root(const char *rootfs, bool no_pivot, struct coi_error *err)
{
        _cleanup_close_ int fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fchdir(fd) < 0)
                return coi_error_set(err, errno, "enter the rootfs %s: %m", rootfs);
        if (no_pivot) {
                /* For roots on ramfs/initramfs, where pivot_root is refused. */
                if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
                        return coi_error_set(err, errno, "move the rootfs %s to /: %m", rootfs);
                if (chroot(".") < 0)
                        return coi_error_set(err, errno, "chroot into %s: %m", rootfs);
        } else {
                /* pivot_root(".", ".") stacks the old root on top of the new one; no directory in the
                 * image is needed to hold it. */
                if (syscall(SYS_pivot_root, ".", ".") < 0)
                        return coi_error_set(err, errno, "pivot_root into %s: %m", rootfs);
                /* The detach must not propagate to the host's mounts. */
                if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
                        return coi_error_set(err, errno, "make the old root a slave: %m");
                if (umount2(".", MNT_DETACH) < 0)
                        return coi_error_set(err, errno, "detach the old root: %m");
        }
        if (chdir("/") < 0)
                return coi_error_set(err, errno, "chdir / in the container: %m");
        return 0;
}

/* What masks are made of, shared by all masked paths of a container: the container's /dev/null
 * (checked once) for files, and for directories one empty read-only tmpfs, cloned for each after its
 * first use instead of a new superblock every time. */
struct mask_sources {
        int null_fd;  /* O_PATH, verified to be the null device */
        int empty_fd; /* the first directory mask, attached; cloned for the next ones */
};

static void mask_sources_done(struct mask_sources *m)
{
        closep(&m->null_fd);
        closep(&m->empty_fd);
}

static int mask_path(int rootfd, const char *path, struct mask_sources *src, struct coi_error *err)
{
        _cleanup_close_ int target = openat2_in_root(rootfd, path, O_PATH);
        if (target < 0) {
                if (errno == ENOENT)
                        return 0;
                return coi_error_set(err, errno, "masked path %s: %m", path);
        }
        struct stat st;
        if (fstat(target, &st) < 0)
                return coi_error_set(err, errno, "masked path %s: stat: %m", path);
        _cleanup_close_ int tree = -1;
        int r;
        if (S_ISDIR(st.st_mode)) {
                if (src->empty_fd >= 0)
                        tree = open_tree(src->empty_fd, "",
                                         OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
                if (tree < 0) {
                        r = open_fs_tree("tmpfs", "tmpfs", "size=0,mode=0755", MOUNT_ATTR_RDONLY, &tree, err);
                        if (r < 0)
                                return r;
                }
        } else {
                /* Bind exactly the inode we verified: the null device, not whatever a rootfs put there. */
                if (src->null_fd < 0) {
                        _cleanup_close_ int null = openat2_in_root(rootfd, "/dev/null", O_PATH);
                        struct stat ns;
                        if (null < 0)
                                return coi_error_set(err, errno,
                                                     "masked path %s: open /dev/null in the container: %m",
                                                     path);
                        if (fstat(null, &ns) < 0)
                                return coi_error_set(err, errno, "masked path %s: stat /dev/null: %m", path);
                        if (!S_ISCHR(ns.st_mode) || ns.st_rdev != makedev(1, 3))
                                return coi_error_set(err, EPERM,
                                                     "masked path %s: /dev/null in the container is not the "
                                                     "null device (char 1:3); refusing to mask with it",
                                                     path);
                        src->null_fd = TAKE_FD(null);
                }
                tree = open_tree(src->null_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
                if (tree < 0)
                        return coi_error_set(err, errno, "masked path %s: clone /dev/null: %m", path);
        }
        r = attach(tree, target, "a mask", path, err);
        /* Attached, the first tmpfs is in our mount namespace: the next directory masks clone it. */
        if (r == 0 && S_ISDIR(st.st_mode) && src->empty_fd < 0)
                src->empty_fd = TAKE_FD(tree);
        return r;
}

int mounts_mask_path(int rootfd, const char *path, struct coi_error *err)
{
        _cleanup_(mask_sources_done) struct mask_sources src = { .null_fd = -1, .empty_fd = -1 };
        return mask_path(rootfd, path, &src, err);
}

int mounts_readonly_path(int rootfd, const char *path, struct coi_error *err)
{
        _cleanup_close_ int target = openat2_in_root(rootfd, path, O_PATH);
        if (target < 0) {
                if (errno == ENOENT)
                        return 0;
                return coi_error_set(err, errno, "readonly path %s: %m", path);
        }
        _cleanup_close_ int tree =
                open_tree(target, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
        if (tree < 0)
                return coi_error_set(err, errno, "readonly path %s: open_tree: %m", path);
        struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };
        if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0)
                return coi_error_set(err, errno, "readonly path %s: make read-only: %m", path);
        return attach(tree, target, path, path, err);
}

int mounts_finish_rootfs(const struct oci_config *config, struct coi_error *err)
{
        const struct oci_linux *l = &config->linux_;
        if ((l->rootfs_propagation & (MS_SHARED | MS_UNBINDABLE)) &&
            mount(NULL, "/", NULL, l->rootfs_propagation, NULL) < 0)
                return coi_error_set(err, errno, "set propagation of / (rootfsPropagation): %m");
        _cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return coi_error_set(err, errno, "open / in the container: %m");
        /* Read-only views first, masks on top (runc's order: the mount tables match). */
        for (char **p = l->readonly_paths; p && *p; p++) {
                int r = mounts_readonly_path(rootfd, *p, err);
                if (r < 0)
                        return r;
        }
        _cleanup_(mask_sources_done) struct mask_sources src = { .null_fd = -1, .empty_fd = -1 };
        for (char **p = l->masked_paths; p && *p; p++) {
                int r = mask_path(rootfd, *p, &src, err);
                if (r < 0)
                        return r;
        }
        if (config->root_readonly) {
                struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };
                if (mount_setattr(rootfd, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
                        return coi_error_set(err, errno, "make / read-only (root.readonly): %m");
        }
        return 0;
}

int mounts_bind_console(int slave_fd, struct coi_error *err)
{
        struct stat st;
        if (fstat(slave_fd, &st) < 0)
                return coi_error_set(err, errno, "console: stat the pty: %m");
        /* Unix98 pty slaves have majors 136–143. */
        if (!S_ISCHR(st.st_mode) || major(st.st_rdev) < 136 || major(st.st_rdev) > 143)
                return coi_error_set(err, ENOTTY,
                                     "console: the terminal to bind on /dev/console is not a pty");
        _cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return coi_error_set(err, errno, "open / in the container: %m");
        _cleanup_close_ int target = -1;
        int r = mounts_resolve_in_root(rootfd, "/dev/console", MOUNTS_CREATE_FILE, &target, err);
        if (r < 0)
                return r;
        _cleanup_close_ int tree =
                open_tree(slave_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
        if (tree < 0)
                return coi_error_set(err, errno, "console: clone the pty: %m");
        return attach(tree, target, "the pty", "/dev/console", err);
}

/* ---- sysctl -------------------------------------------------------------------------------------- */

static bool sysctl_is_namespaced(const struct oci_config *config, const char *key)
{
        const struct oci_namespace *ns = config->linux_.namespaces;
        static const char *const ipc_keys[] = { "kernel.msgmax", "kernel.msgmnb",         "kernel.msgmni",
                                                "kernel.sem",    "kernel.shmall",         "kernel.shmmax",
                                                "kernel.shmmni", "kernel.shm_rmid_forced" };
        if (startswith(key, "net."))
                return ns[OCI_NS_NETWORK].present;
        if (startswith(key, "fs.mqueue."))
                return ns[OCI_NS_IPC].present;
        for (size_t i = 0; i < ELEMENTSOF(ipc_keys); i++)
                if (streq(key, ipc_keys[i]))
                        return ns[OCI_NS_IPC].present;
        if (streq(key, "kernel.hostname") || streq(key, "kernel.domainname"))
                return ns[OCI_NS_UTS].present;
        return false;
}

int mounts_apply_sysctl(const struct oci_config *config, struct coi_error *err)
{
        char **kv = config->linux_.sysctl;
        if (!kv || !kv[0])
                return 0;
        _cleanup_close_ int sys = open("/proc/sys", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (sys < 0)
                return coi_error_set(err, errno, "linux.sysctl: open /proc/sys in the container: %m");
        for (; kv[0] && kv[1]; kv += 2) {
                const char *key = kv[0];
                if (!sysctl_is_namespaced(config, key))
                        return coi_error_set(err, EPERM,
                                             "linux.sysctl: %s is not namespaced by the container's "
                                             "namespaces: setting it would change the host",
                                             key);
                _cleanup_free_ char *rel = strdup(key);
                if (!rel)
                        return coi_error_set(err, ENOMEM, "sysctl %s: %m", key);
                for (char *c = rel; *c; c++)
                        if (*c == '.')
                                *c = '/';
                _cleanup_close_ int fd = openat2_(sys, rel, O_WRONLY, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
                if (fd < 0)
                        return coi_error_set(err, errno, "sysctl %s: open: %m", key);
                if (write(fd, kv[1], strlen(kv[1])) < 0)
                        return coi_error_set(err, errno, "sysctl %s=%s: %m", key, kv[1]);
        }
        return 0;
}

/* ---- idmapped mounts (parent side) --------------------------------------------------------------- */

bool mounts_is_idmapped(const struct oci_mount *m)
{
        return m->idmap || m->ridmap || m->n_uid_mappings || m->n_gid_mappings;
}

/* A user namespace holding only the mount's own mappings (uid ones for gid when only one kind is given). */
static int userns_for_mappings(const struct oci_mount *m, int *ret_fd, struct coi_error *err)
{
        const struct oci_id_mapping *u = m->n_uid_mappings ? m->uid_mappings : m->gid_mappings;
        size_t nu = m->n_uid_mappings ? m->n_uid_mappings : m->n_gid_mappings;
        const struct oci_id_mapping *g = m->n_gid_mappings ? m->gid_mappings : m->uid_mappings;
        size_t ng = m->n_gid_mappings ? m->n_gid_mappings : m->n_uid_mappings;
        int r = userns_fd_with_mappings(u, nu, g, ng, ret_fd, err);
        return r < 0 ? coi_error_prefix(err, "mount %s: ", m->destination) : 0;
}

int mounts_open_idmapped(const struct oci_mount *m, const char *bundle, int userns_fd, int *ret_fd,
                         struct coi_error *err)
{
        if (!is_bind(m))
                return coi_error_set(err, EOPNOTSUPP,
                                     "mount %s: idmapped mounts are supported for bind mounts only",
                                     m->destination);
        _cleanup_free_ char *src = source_path(m, bundle);
        if (!src)
                return coi_error_set(err, EINVAL, "bind mount on %s has no source", m->destination);
        _cleanup_close_ int own_ns = -1;
        if (m->n_uid_mappings || m->n_gid_mappings) {
                int r = userns_for_mappings(m, &own_ns, err);
                if (r < 0)
                        return r;
                userns_fd = own_ns;
        }
        if (userns_fd < 0)
                return coi_error_set(err, EINVAL, "mount %s: idmap needs a user namespace or uidMappings",
                                     m->destination);
        _cleanup_close_ int tree = -1;
        int r = open_bind_tree(src, m->recursive || m->ridmap, &tree, err);
        if (r < 0)
                return r;
        struct mount_attr a = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns_fd };
        if (mount_setattr(tree, "", AT_EMPTY_PATH | (m->ridmap ? AT_RECURSIVE : 0), &a, sizeof(a)) < 0)
                return coi_error_set(err, errno, "mount %s: idmap %s: %m", m->destination, src);
        /* The child can't change a tree owned by our namespace: its options are set here too. */
        r = set_bind_attrs(tree, m, err);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(tree);
        return 0;
}
