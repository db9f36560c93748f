/* container-mounts.c — host paths bind-mounted into a system container: attached under the rootfs before
 * init starts (Docker's data directory too), recorded in mounts.json for a later start, and hot-plugged
 * devices (`coi container mount`). */
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "container-internal.h"
#include "util.h"

/* ---- bind mounts into the rootfs ----------------------------------------------------------------- */

/* A user namespace mapping exactly one uid and one gid, "FROM TO 1", for an idmapped mount: a file owned
 * by host id FROM appears as TO (here the container's shifted id), and TO's writes land as FROM. */
static int single_id_userns_fd(uint32_t uid_in, uint32_t uid_out, uint32_t gid_in, uint32_t gid_out,
                               int *ret_fd, struct coi_error *err)
{
        struct coi_id_mapping uid = { uid_in, uid_out, 1 }, gid = { gid_in, gid_out, 1 };
        return coi_userns_fd(&uid, 1, &gid, 1, ret_fd, err);
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
        int fd = openat2_in_root(rootfd, target, O_PATH);
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
                _cleanup_close_ int cur = openat2_in_root(rootfd, p, O_PATH);
                if (cur < 0 && errno == ENOENT) {
                        char *base = strrchr(p, '/');
                        *base = '\0';
                        _cleanup_close_ int parent =
                                openat2_in_root(rootfd, *p ? p : "/", O_PATH | O_DIRECTORY);
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
        fd = openat2_in_root(rootfd, target, O_PATH);
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
                open_tree(AT_FDCWD, cm->source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
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
                struct coi_id_mapping uid = { 0, m->ids.uid, IDMAP_RANGE_SIZE },
                                      gid = { 0, m->ids.gid, IDMAP_RANGE_SIZE };
                r = coi_userns_fd(&uid, 1, &gid, 1, &userns, err);
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
        if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
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
        if (move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
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

int attach_mounts(const char *rootfs, const struct container_info *m, const struct container_mount *mounts,
                  size_t n, struct coi_error *err)
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

/* Whether the image has Docker (its daemon, or its data directory). */
static bool has_docker(int rootfd)
{
        static const char *const paths[] = { "/usr/bin/dockerd", "/usr/sbin/dockerd", DOCKER_DATA_TARGET };
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                _cleanup_close_ int fd = openat2_in_root(rootfd, paths[i], O_PATH);
                if (fd >= 0)
                        return true;
        }
        return false;
}

int attach_docker_data(const char *rootfs, const struct container_info *m, struct coi_error *err)
{
        _cleanup_close_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return coi_error_set(err, errno, "open %s: %m", rootfs);
        if (!has_docker(rootfd))
                return 0;
        _cleanup_free_ char *dir = xasprintf("%s/%s", m->dir, DOCKER_DATA_DIR);
        if (!dir)
                return coi_error_set(err, ENOMEM, "%s: %m", DOCKER_DATA_TARGET);
        /* Owned by the container's root, like its upper layer: a plain bind (no idmap) shows it as root's,
         * and what Docker writes there lands with the container's shifted ids. */
        if (mkdir(dir, 0710) == 0) {
                if (chown(dir, m->ids.uid, m->ids.gid) < 0)
                        return coi_error_set(err, errno, "chown %s: %m", dir);
        } else if (errno != EEXIST) {
                return coi_error_set(err, errno, "mkdir %s: %m", dir);
        }
        /* A bind with the host mount's own flags: no nosuid/nodev of ours, which would be locked in the
         * container, so BuildKit's read-only re-binds of a layer (without those flags) would fail with
         * EPERM. Nothing is lost: the container can't make devices, and the setuid files there are its
         * own ids'. */
        _cleanup_close_ int tree =
                open_tree(AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
        if (tree < 0)
                return coi_error_set(err, errno, "clone a mount of %s: %m", dir);
        struct container_mount cm = { .source = dir, .target = DOCKER_DATA_TARGET };
        return move_to_target(tree, true, rootfd, m, &cm, err);
}

/* Unmounts every mount strictly below dir (deepest first), as listed in /proc/self/mountinfo. */
int unmount_below(const char *dir, struct coi_error *err)
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
/* ---- mounts recorded at launch, for a later plain start ---------------------------------------- */

#define CONTAINER_MOUNTS_FILE "mounts.json"
#define CONTAINER_DEVICE_MAX  64

static bool gen_mount(yajl_gen g, const struct container_mount *m, const char *create)
{
        bool ok = yajl_gen_map_open(g) == yajl_gen_status_ok && json_gen_str(g, "source") &&
                  json_gen_str(g, m->source) && json_gen_str(g, "target") && json_gen_str(g, m->target) &&
                  json_gen_str(g, "readonly") && yajl_gen_bool(g, m->readonly) == yajl_gen_status_ok &&
                  json_gen_str(g, "idmap") && yajl_gen_bool(g, m->idmap) == yajl_gen_status_ok &&
                  json_gen_str(g, "host_uid") && yajl_gen_integer(g, m->host_uid) == yajl_gen_status_ok &&
                  json_gen_str(g, "host_gid") && yajl_gen_integer(g, m->host_gid) == yajl_gen_status_ok &&
                  json_gen_str(g, "container_uid") &&
                  yajl_gen_integer(g, m->container_uid) == yajl_gen_status_ok &&
                  json_gen_str(g, "container_gid") &&
                  yajl_gen_integer(g, m->container_gid) == yajl_gen_status_ok && json_gen_str(g, "create") &&
                  json_gen_str(g, create ? create : "") && json_gen_str(g, "shift") &&
                  yajl_gen_bool(g, m->shift) == yajl_gen_status_ok;
        if (ok && m->device)
                ok = json_gen_str(g, "device") && json_gen_str(g, m->device);
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
        _cleanup_free_ char *what = xasprintf("%s/containers/%s", s->path, path);
        r = json_parse(data, yajl_t_array, what ? what : path, &ret->root, err);
        if (r < 0)
                return r;
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

void mounts_record_freep(struct mounts_record **rec)
{
        if (*rec)
                mounts_record_done(*rec);
        free(*rec);
}

/* mounts.json read into a record of its own (*ret_rec, set even on failure for its cleanup). */
static int mounts_record_new(const struct container_store *s, const char *name,
                             struct mounts_record **ret_rec, struct coi_error *err)
{
        struct mounts_record *rec = calloc(1, sizeof(*rec));
        if (!rec)
                return coi_error_set(err, ENOMEM, "mounts of %s: %m", name);
        *ret_rec = rec;
        bool exists;
        return mounts_record_read(s, name, rec, &exists, err);
}

/* mounts, then the devices recorded for name, unless mounts has devices already (container_start_recorded
 * passes the whole record). *ret_all is allocated only when there are devices; its strings point into
 * *ret_rec. A device whose source has gone (or moved behind a symlink) stops the start. */
int add_recorded_devices(const struct container_store *s, const char *name,
                         const struct container_mount *mounts, size_t n, struct mounts_record **ret_rec,
                         struct container_mount **ret_all, size_t *ret_n, struct coi_error *err)
{
        for (size_t i = 0; i < n; i++)
                if (mounts[i].device)
                        return 0;
        int r = mounts_record_new(s, name, ret_rec, err);
        if (r < 0)
                return r;
        const struct mounts_record *rec = *ret_rec;
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

int mounts_recorded(const struct container_store *s, const char *name, struct mounts_record **ret_rec,
                    const struct container_mount **ret_mounts, size_t *ret_n, struct coi_error *err)
{
        int r = mounts_record_new(s, name, ret_rec, err);
        if (r < 0)
                return r;
        const struct mounts_record *rec = *ret_rec;
        for (size_t i = 0; i < rec->n; i++) {
                const struct container_mount *m = &rec->mounts[i];
                r = check_or_create_source(m->source, rec->create[i], m->host_uid, m->host_gid, err);
                if (r < 0 && m->device)
                        return coi_error_prefix(err, "container %s: device %s: ", name, m->device);
                if (r < 0)
                        return coi_error_prefix(err, "container %s: ", name);
        }
        *ret_mounts = rec->mounts;
        *ret_n = rec->n;
        return 0;
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

struct hotplug_child {
        int mntns, rootfd, tree;
        bool is_dir;
        const struct container_info *m;
        const struct container_mount *cm;
};

/* In the child: joins the container's mount namespace and moves the clone to its target. */
static int hotplug_in_child(void *userdata, struct coi_error *err)
{
        const struct hotplug_child *c = userdata;
        return setns(c->mntns, CLONE_NEWNS) < 0
                       ? coi_error_set(err, errno, "join the mount namespace of %s: %m", c->m->name)
                       : move_to_target(c->tree, c->is_dir, c->rootfd, c->m, c->cm, err);
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
        struct hotplug_child c = {
                .mntns = mntns, .rootfd = rootfd, .tree = tree, .is_dir = is_dir, .m = m, .cm = cm
        };
        return container_run_in_child(hotplug_in_child, &c, "mount into", "mounting into", m->name, err);
}

int container_mount_device(struct container_store *s, const char *name, const char *device,
                           const char *source, const char *target, bool shift, bool readonly,
                           struct coi_error *err)
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
                .source = real, .target = target, .readonly = readonly, .shift = shift, .device = device
        };
        rec.create[rec.n] = NULL;
        if (!streq(m->status, "stopped") && m->pid > 0) {
                r = hotplug_mount(s, m, &rec.mounts[rec.n], err);
                if (r < 0)
                        return r;
        }
        return mounts_record_write(s, name, rec.mounts, rec.create, rec.n + 1, err);
}
