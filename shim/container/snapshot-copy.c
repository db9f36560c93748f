/* snapshot-copy.c — the tree copy behind snapshots: never follows a link, keeps owners (shifted between
 * id blocks), modes, times, xattrs, hard links, holes, whiteouts; refuses another filesystem inside. */
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>

#include "rootfs.h"
#include "snapshot-copy.h"
#include "util.h"

#define HOST_OVERFLOW_ID 65534u /* the host's nobody: an id no container block holds */

struct link_seen {
        dev_t dev;
        ino_t ino;
        char *rel; /* the first copy, relative to copy_ctx.dst_root */
};

struct copy_ctx {
        dev_t dev; /* the source tree's filesystem: another one below it is refused */
        struct idmap_allocation from, to;
        int dst_root;
        struct link_seen *links;
        size_t n_links;
        uint64_t size;
};

static void copy_ctx_done(struct copy_ctx *c);
static int copy_entry(struct copy_ctx *c, int sdir, const char *name, int ddir, const char *dname,
                      const char *rel, int depth, struct coi_error *err);
static void raise_nofile(void);

int snapshot_copy_tree(int sdir, const char *sname, int ddir, const char *dname,
                       const struct idmap_allocation *from, const struct idmap_allocation *to,
                       uint64_t *ret_size, struct coi_error *err)
{
        struct stat st, dst;
        if (fstatat(sdir, sname, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return coi_error_set(err, errno, "stat %s: %m", sname);
        if (!S_ISDIR(st.st_mode))
                return coi_error_set(err, ENOTDIR, "%s is not a directory", sname);
        if (fstatat(ddir, dname, &dst, AT_SYMLINK_NOFOLLOW) == 0)
                return coi_error_set(err, EEXIST, "copy of %s: %s exists already", sname, dname);
        raise_nofile();
        struct copy_ctx c = { .dev = st.st_dev, .from = *from, .to = *to, .dst_root = ddir };
        int r = copy_entry(&c, sdir, sname, ddir, dname, dname, 0, err);
        copy_ctx_done(&c);
        if (r < 0) {
                struct coi_error e = { 0 };
                rootfs_remove_tree_at(ddir, dname, dname, &e);
                return r;
        }
        if (ret_size)
                *ret_size = c.size;
        return 0;
}

static void copy_ctx_done(struct copy_ctx *c)
{
        for (size_t i = 0; i < c->n_links; i++)
                free(c->links[i].rel);
        free(c->links);
}

/* An id of the source block moves to the same offset in the target block; one outside it (nothing the
 * container could have made) becomes the host's nobody, so it stays unmapped in the target. */
static uint32_t shift_id(uint32_t id, uint32_t from, uint32_t to)
{
        if (from == to)
                return id;
        if (id >= from && id - from < IDMAP_RANGE_SIZE)
                return to + (id - from);
        return HOST_OVERFLOW_ID;
}

static uint32_t get_le32(const unsigned char *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(unsigned char *p, uint32_t v)
{
        p[0] = (unsigned char)v;
        p[1] = (unsigned char)(v >> 8);
        p[2] = (unsigned char)(v >> 16);
        p[3] = (unsigned char)(v >> 24);
}

/* Values that carry host ids: a v3 file capability names the host uid of the root it is valid for, and
 * POSIX ACL entries name users and groups. Read from the initial namespace, both hold host ids. */
static void shift_xattr(const struct copy_ctx *c, const char *key, unsigned char *v, size_t len)
{
        if (c->from.uid == c->to.uid && c->from.gid == c->to.gid)
                return;
        if (streq(key, "security.capability")) {
                /* struct vfs_ns_cap_data: magic_etc, 2 × (permitted, inheritable), rootid. */
                if (len == 24 && (get_le32(v) & 0xFF000000u) == 0x03000000u)
                        put_le32(v + 20, shift_id(get_le32(v + 20), c->from.uid, c->to.uid));
                return;
        }
        if (!streq(key, "system.posix_acl_access") && !streq(key, "system.posix_acl_default"))
                return;
        /* A 4-byte version header, then entries of (le16 tag, le16 perm, le32 id). */
        for (size_t off = 4; off + 8 <= len; off += 8) {
                unsigned tag = (unsigned)v[off] | (unsigned)v[off + 1] << 8;
                if (tag == 0x02) /* ACL_USER */
                        put_le32(v + off + 4, shift_id(get_le32(v + off + 4), c->from.uid, c->to.uid));
                else if (tag == 0x08) /* ACL_GROUP */
                        put_le32(v + off + 4, shift_id(get_le32(v + off + 4), c->from.gid, c->to.gid));
        }
}

/* An object given by fd, or (fd < 0) by name in dirfd: the *at calls with AT_SYMLINK_NOFOLLOW, and for
 * xattrs /proc/self/fd/DIRFD/NAME with the l* calls: the directory is pinned by its fd and the last
 * component is never followed. */
struct xobj {
        int fd;
        int dirfd;
        const char *name;
        char path[64 + NAME_MAX];
};

static void xobj_init(struct xobj *o, int fd, int dirfd, const char *name)
{
        *o = (struct xobj){ .fd = fd, .dirfd = dirfd, .name = name };
        if (fd < 0 && name)
                snprintf(o->path, sizeof(o->path), "/proc/self/fd/%d/%s", dirfd, name);
}

static ssize_t x_list(const struct xobj *o, char *buf, size_t size)
{
        return o->fd >= 0 ? flistxattr(o->fd, buf, size) : llistxattr(o->path, buf, size);
}

static ssize_t x_get(const struct xobj *o, const char *key, void *buf, size_t size)
{
        return o->fd >= 0 ? fgetxattr(o->fd, key, buf, size) : lgetxattr(o->path, key, buf, size);
}

static int x_set(const struct xobj *o, const char *key, const void *buf, size_t size)
{
        return o->fd >= 0 ? fsetxattr(o->fd, key, buf, size, 0) : lsetxattr(o->path, key, buf, size, 0);
}

static int x_chown(const struct xobj *o, uid_t uid, gid_t gid)
{
        return o->fd >= 0 ? fchown(o->fd, uid, gid)
                          : fchownat(o->dirfd, o->name, uid, gid, AT_SYMLINK_NOFOLLOW);
}

/* Never called on a symlink (chmod would follow it), so fchmodat without a flag follows nothing. */
static int x_chmod(const struct xobj *o, mode_t mode)
{
        return o->fd >= 0 ? fchmod(o->fd, mode) : fchmodat(o->dirfd, o->name, mode, 0);
}

static int x_utimens(const struct xobj *o, const struct timespec times[2])
{
        return o->fd >= 0 ? futimens(o->fd, times) : utimensat(o->dirfd, o->name, times, AT_SYMLINK_NOFOLLOW);
}

static int copy_xattrs(const struct copy_ctx *c, const struct xobj *src, const struct xobj *dst,
                       const char *rel, struct coi_error *err)
{
        _cleanup_free_ char *keys = NULL;
        ssize_t n;
        for (;;) {
                n = x_list(src, NULL, 0);
                if (n < 0 && (errno == ENOTSUP || errno == ENODATA))
                        return 0;
                if (n <= 0)
                        return n == 0 ? 0 : coi_error_set(err, errno, "list the xattrs of %s: %m", rel);
                free(keys);
                keys = malloc((size_t)n);
                if (!keys)
                        return coi_error_set(err, ENOMEM, "xattrs of %s: %m", rel);
                n = x_list(src, keys, (size_t)n);
                if (n >= 0)
                        break;
                if (errno != ERANGE)
                        return coi_error_set(err, errno, "list the xattrs of %s: %m", rel);
        }
        for (char *k = keys; k < keys + n; k += strlen(k) + 1) {
                _cleanup_free_ unsigned char *v = NULL;
                ssize_t len;
                for (;;) {
                        len = x_get(src, k, NULL, 0);
                        if (len < 0 && errno == ENODATA)
                                break;
                        if (len < 0)
                                return coi_error_set(err, errno, "read xattr %s of %s: %m", k, rel);
                        free(v);
                        v = malloc((size_t)len + 1);
                        if (!v)
                                return coi_error_set(err, ENOMEM, "xattr %s of %s: %m", k, rel);
                        len = x_get(src, k, v, (size_t)len);
                        if (len >= 0 || errno != ERANGE)
                                break;
                }
                if (len < 0 && errno == ENODATA)
                        continue; /* removed meanwhile */
                if (len < 0)
                        return coi_error_set(err, errno, "read xattr %s of %s: %m", k, rel);
                shift_xattr(c, k, v, (size_t)len);
                if (x_set(dst, k, v, (size_t)len) < 0)
                        return coi_error_set(err, errno, "set xattr %s on the copy of %s: %m", k, rel);
        }
        return 0;
}

/* The copy's owner (shifted), xattrs, mode and times, as st and src have them. */
static int copy_attrs(const struct copy_ctx *c, const struct stat *st, const struct xobj *src,
                      const struct xobj *dst, const char *rel, struct coi_error *err)
{
        uid_t uid = shift_id(st->st_uid, c->from.uid, c->to.uid);
        gid_t gid = shift_id(st->st_gid, c->from.gid, c->to.gid);
        struct timespec times[2] = { st->st_atim, st->st_mtim };
        /* chown first: it clears set-id bits and file capabilities, which come back after it. */
        if (x_chown(dst, uid, gid) < 0)
                return coi_error_set(err, errno, "chown the copy of %s: %m", rel);
        int r = copy_xattrs(c, src, dst, rel, err);
        if (r < 0)
                return r;
        /* A symlink's mode means nothing; every other object here was just made by this copy. */
        if (!S_ISLNK(st->st_mode) && x_chmod(dst, st->st_mode & 07777) < 0)
                return coi_error_set(err, errno, "chmod the copy of %s: %m", rel);
        if (x_utimens(dst, times) < 0)
                return coi_error_set(err, errno, "set the times of the copy of %s: %m", rel);
        return 0;
}

/* Data segments only (SEEK_DATA/SEEK_HOLE): a sparse file stays sparse, so a huge hole costs nothing. */
static int copy_data(int src, int dst, off_t size, const char *rel, struct coi_error *err)
{
        off_t pos = 0;
        while (pos < size) {
                off_t data = lseek(src, pos, SEEK_DATA);
                if (data < 0 && errno == ENXIO)
                        break; /* only a hole is left */
                if (data < 0)
                        return coi_error_set(err, errno, "seek in %s: %m", rel);
                off_t hole = lseek(src, data, SEEK_HOLE);
                if (hole < 0)
                        return coi_error_set(err, errno, "seek in %s: %m", rel);
                off_t in = data, out = data;
                while (in < hole) {
                        ssize_t k = copy_file_range(src, &in, dst, &out, (size_t)(hole - in), 0);
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k < 0)
                                return coi_error_set(err, errno, "copy %s: %m", rel);
                        if (k == 0)
                                break; /* the file shrank meanwhile */
                }
                pos = hole;
        }
        if (ftruncate(dst, size) < 0)
                return coi_error_set(err, errno, "size the copy of %s: %m", rel);
        return 0;
}

static int copy_children(struct copy_ctx *c, int sfd, int dfd, const char *rel, int depth,
                         struct coi_error *err)
{
        if (depth >= SNAPSHOT_MAX_DEPTH)
                return coi_error_set(err, ELOOP, "%s: directories nested deeper than %d levels", rel,
                                     SNAPSHOT_MAX_DEPTH);
        int fd = fcntl(sfd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return coi_error_set(err, errno, "open %s: %m", rel);
        _cleanup_closedir_ DIR *d = fdopendir(fd);
        if (!d) {
                int r = coi_error_set(err, errno, "read directory %s: %m", rel);
                close(fd);
                return r;
        }
        struct dirent *de;
        while ((errno = 0, de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *sub = xasprintf("%s/%s", rel, de->d_name);
                if (!sub)
                        return coi_error_set(err, ENOMEM, "copy %s: %m", rel);
                int r = copy_entry(c, sfd, de->d_name, dfd, de->d_name, sub, depth + 1, err);
                if (r < 0)
                        return r;
        }
        if (errno)
                return coi_error_set(err, errno, "read directory %s: %m", rel);
        return 0;
}

/* A second name of an inode copied before: a hard link to that copy (resolved beneath the copy's root,
 * never through a symlink). 1 when linked, 0 when this is the first name. */
static int link_if_seen(struct copy_ctx *c, const struct stat *st, int ddir, const char *name,
                        const char *rel, struct coi_error *err)
{
        if (S_ISDIR(st->st_mode) || st->st_nlink < 2)
                return 0;
        for (size_t i = 0; i < c->n_links; i++) {
                if (c->links[i].dev != st->st_dev || c->links[i].ino != st->st_ino)
                        continue;
                _cleanup_close_ int fd = openat2_(c->dst_root, c->links[i].rel, O_PATH | O_NOFOLLOW,
                                                  RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
                                                          RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
                if (fd < 0)
                        return coi_error_set(err, errno, "hard link %s: open the first copy %s: %m", rel,
                                             c->links[i].rel);
                if (linkat(fd, "", ddir, name, AT_EMPTY_PATH) < 0)
                        return coi_error_set(err, errno, "hard link %s to %s: %m", rel, c->links[i].rel);
                return 1;
        }
        struct link_seen *grown = realloc(c->links, (c->n_links + 1) * sizeof(*grown));
        if (!grown)
                return coi_error_set(err, ENOMEM, "hard links: %m");
        c->links = grown;
        /* rel starts with the copy's own name, which is what dst_root holds. */
        c->links[c->n_links] = (struct link_seen){ st->st_dev, st->st_ino, strdup(rel) };
        if (!c->links[c->n_links].rel)
                return coi_error_set(err, ENOMEM, "hard links: %m");
        c->n_links++;
        return 0;
}

/* Opens name in sdir without following it and checks that it is still the object st describes. */
static int open_same(int sdir, const char *name, int flags, const struct stat *st, const char *rel,
                     int *ret_fd, struct coi_error *err)
{
        int fd = openat(sdir, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0 && errno == EPERM) /* O_NOATIME on a file we do not own without CAP_FOWNER */
                fd = openat(sdir, name,
                            (flags & ~O_NOATIME) | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return coi_error_set(err, errno, "open %s: %m", rel);
        struct stat now;
        if (fstat(fd, &now) < 0 || now.st_ino != st->st_ino || now.st_dev != st->st_dev ||
            (now.st_mode & S_IFMT) != (st->st_mode & S_IFMT)) {
                close(fd);
                return coi_error_set(err, EAGAIN, "%s changed while it was copied", rel);
        }
        *ret_fd = fd;
        return 0;
}

/* Copies sdir/name to ddir/dname; rel is the copy's path below dst_root (messages, hard links). */
static int copy_entry(struct copy_ctx *c, int sdir, const char *name, int ddir, const char *dname,
                      const char *rel, int depth, struct coi_error *err)
{
        struct stat st;
        if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : coi_error_set(err, errno, "stat %s: %m", rel);
        if (st.st_dev != c->dev)
                return coi_error_set(err, EXDEV, "%s is another filesystem mounted in the tree: not copied",
                                     rel);
        int r = link_if_seen(c, &st, ddir, dname, rel, err);
        if (r != 0)
                return r < 0 ? r : 0;
        c->size += (uint64_t)st.st_blocks * 512u;
        _cleanup_close_ int sfd = -1, dfd = -1;
        struct xobj xs, xd;

        if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) {
                bool dir = S_ISDIR(st.st_mode);
                r = open_same(sdir, name, dir ? O_RDONLY | O_DIRECTORY : O_RDONLY | O_NOATIME, &st, rel, &sfd,
                              err);
                if (r < 0)
                        return r;
                if (dir) {
                        if (mkdirat(ddir, dname, 0700) < 0)
                                return coi_error_set(err, errno, "mkdir the copy of %s: %m", rel);
                        dfd = openat(ddir, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                } else {
                        dfd = openat(ddir, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                }
                if (dfd < 0)
                        return coi_error_set(err, errno, "create the copy of %s: %m", rel);
                r = dir ? copy_children(c, sfd, dfd, rel, depth, err)
                        : copy_data(sfd, dfd, st.st_size, rel, err);
                if (r < 0)
                        return r;
                xobj_init(&xs, sfd, -1, NULL);
                xobj_init(&xd, dfd, -1, NULL);
                return copy_attrs(c, &st, &xs, &xd, rel, err);
        }

        if (S_ISLNK(st.st_mode)) {
                /* Copied as a link, its target as text: never followed, whatever it names. */
                char target[PATH_MAX + 1];
                ssize_t n = readlinkat(sdir, name, target, sizeof(target));
                if (n < 0)
                        return coi_error_set(err, errno, "readlink %s: %m", rel);
                if ((size_t)n >= sizeof(target))
                        return coi_error_set(err, ENAMETOOLONG, "readlink %s: target too long", rel);
                target[n] = '\0';
                if (symlinkat(target, ddir, dname) < 0)
                        return coi_error_set(err, errno, "symlink the copy of %s: %m", rel);
        } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode) ||
                   S_ISSOCK(st.st_mode)) {
                /* Whiteouts (0:0 character devices) among them: what the container deleted. */
                if (mknodat(ddir, dname, (st.st_mode & S_IFMT) | 0600, st.st_rdev) < 0)
                        return coi_error_set(err, errno, "create the copy of %s: %m", rel);
        } else {
                return coi_error_set(err, EINVAL, "%s: unknown file type %o", rel, st.st_mode & S_IFMT);
        }
        xobj_init(&xs, -1, sdir, name);
        xobj_init(&xd, -1, ddir, dname);
        return copy_attrs(c, &st, &xs, &xd, rel, err);
}

/* Each directory level holds two fds: let the soft limit go up to the hard one. */
static void raise_nofile(void)
{
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void)setrlimit(RLIMIT_NOFILE, &rl);
        }
}
