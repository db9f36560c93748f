/* archive-io.c — unpacking untrusted tar archives into a directory fd (every path resolved inside it
 * with openat2). Writing a tree as a tar: archive-write.c; rm -rf by fd: remove-tree.c; SHA-256: sha256.c. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <search.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>

#include "archive-internal.h"
#include "sha256.h"
#include "util.h"

/* Every lookup of an archive path: symlinks (absolute ones too) and `..` are resolved as if the
 * target were "/", magic links (/proc/…/fd) refused, and no crossing into another mount. */
#define RESOLVE_INSIDE (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

static void archive_read_freep(struct archive **a)
{
        if (*a)
                archive_read_free(*a);
}

int open_inside(int rootfd, const char *path, int flags)
{
        return openat2_(rootfd, *path ? path : ".", flags, RESOLVE_INSIDE);
}

/* ---- reading the archive file: hashed as it is read ---- */

struct reader {
        int fd;
        uint64_t bytes;
        struct sha256_ctx sha;
        uint8_t buf[128 * 1024];
};

static la_ssize_t reader_read(struct archive *a, void *data, const void **ret_buf)
{
        struct reader *r = data;
        ssize_t n;
        do
                n = read(r->fd, r->buf, sizeof(r->buf));
        while (n < 0 && errno == EINTR);
        if (n < 0) {
                archive_set_error(a, errno, "read: %s", strerror(errno));
                return -1;
        }
        sha256_update(&r->sha, r->buf, (size_t)n);
        r->bytes += (uint64_t)n;
        *ret_buf = r->buf;
        return n;
}

/* libarchive stops at the end-of-archive marker; the digest covers the whole file. */
static int reader_drain(struct reader *r)
{
        for (;;) {
                ssize_t n = read(r->fd, r->buf, sizeof(r->buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return 0;
                sha256_update(&r->sha, r->buf, (size_t)n);
                r->bytes += (uint64_t)n;
        }
}

/* ---- extraction ---- */

struct dirtime {
        char *path;
        struct timespec mtime;
};

struct extractor {
        struct archive *a;
        struct reader *reader;
        int rootfd;
        const struct extract_options *opts;
        struct extract_stats *stats;
        char shown[200];          /* the current entry's path as messages show it */
        void *written;            /* tsearch set of paths this archive wrote (for opaque whiteouts) */
        struct dirtime *dirtimes; /* directory mtimes, set at the end (entries inside change them) */
        size_t n_dirtimes;
        uint64_t last_progress_bytes;
        uint64_t last_progress_entries;
};

static int entry_error(struct extractor *x, struct coi_error *err, int code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int entry_error(struct extractor *x, struct coi_error *err, int code, const char *fmt, ...)
{
        char what[600];
        va_list ap;
        errno = code < 0 ? -code : code; /* for %m */
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        return coi_error_set(err, code, "%s: entry %s: %s", x->opts->name, x->shown, what);
}

static void set_shown(struct extractor *x, const char *path)
{
        size_t n = strlen(path);
        if (n < sizeof(x->shown)) {
                memcpy(x->shown, path, n + 1);
                return;
        }
        /* huge hostile paths: keep the head and the tail so the user can still find the entry */
        snprintf(x->shown, sizeof(x->shown), "%.120s...%s", path, path + n - 60);
}

/* Turns an archive path into "a/b/c" ("" for the root): a leading "/" is dropped (absolute paths are
 * taken as relative to the target, as tar does by default), "." and empty components too; ".."
 * anywhere is refused, whatever it would resolve to. */
static int normalize_path(struct extractor *x, const char *in, const char *what, char out[PATH_MAX],
                          struct coi_error *err)
{
        if (strlen(in) >= PATH_MAX)
                return entry_error(x, err, ENAMETOOLONG, "%s is longer than PATH_MAX (%d bytes)", what,
                                   PATH_MAX);
        size_t o = 0;
        for (const char *s = in; *s;) {
                while (*s == '/')
                        s++;
                const char *e = strchrnul(s, '/');
                size_t n = (size_t)(e - s);
                if (n == 2 && s[0] == '.' && s[1] == '.')
                        return entry_error(x, err, EPERM, "%s escapes the root", what);
                if (n > 0 && !(n == 1 && s[0] == '.')) {
                        if (n > NAME_MAX)
                                return entry_error(x, err, ENAMETOOLONG,
                                                   "%s has a component longer than %d bytes", what, NAME_MAX);
                        if (o > 0)
                                out[o++] = '/';
                        memcpy(out + o, s, n);
                        o += n;
                }
                s = e;
        }
        out[o] = '\0';
        return 0;
}

/* Splits "a/b/c" into parent "a/b" (in place) and returns the leaf "c"; parent "" is the root. */
static char *split_leaf(char *path)
{
        char *slash = strrchr(path, '/');
        if (!slash) {
                memmove(path + 1, path, strlen(path) + 1);
                path[0] = '\0';
                return path + 1;
        }
        *slash = '\0';
        return slash + 1;
}

static int shift_ids(struct extractor *x, struct archive_entry *e, uid_t *ret_uid, gid_t *ret_gid,
                     struct coi_error *err)
{
        int64_t uid = archive_entry_uid(e) + (int64_t)x->opts->uid_shift;
        int64_t gid = archive_entry_gid(e) + (int64_t)x->opts->gid_shift;
        if (archive_entry_uid(e) < 0 || uid >= (int64_t)UINT32_MAX)
                return entry_error(x, err, ERANGE, "uid %" PRId64 " (shifted by %u) is out of range",
                                   (int64_t)archive_entry_uid(e), x->opts->uid_shift);
        if (archive_entry_gid(e) < 0 || gid >= (int64_t)UINT32_MAX)
                return entry_error(x, err, ERANGE, "gid %" PRId64 " (shifted by %u) is out of range",
                                   (int64_t)archive_entry_gid(e), x->opts->gid_shift);
        *ret_uid = (uid_t)uid;
        *ret_gid = (gid_t)gid;
        return 0;
}

/* setuid/setgid on files only: on a directory setgid just passes the group on to new entries. */
static mode_t entry_mode(struct extractor *x, struct archive_entry *e)
{
        mode_t mode = archive_entry_perm(e) & 07777;
        if (archive_entry_filetype(e) != AE_IFDIR && (mode & (S_ISUID | S_ISGID)) &&
            !(x->opts->flags & EXTRACT_SETID)) {
                mode &= ~(mode_t)(S_ISUID | S_ISGID);
                x->stats->stripped_setid++;
        }
        return mode;
}

static struct timespec entry_mtime(struct archive_entry *e)
{
        if (!archive_entry_mtime_is_set(e))
                return (struct timespec){ .tv_nsec = UTIME_OMIT };
        return (struct timespec){ .tv_sec = archive_entry_mtime(e), .tv_nsec = archive_entry_mtime_nsec(e) };
}

/* With an id shift, file capabilities must name the shifted root, or the kernel ignores them in
 * the container's user namespace: v2 (no root id, means host root) becomes v3 with rootid = shift,
 * a v3 rootid is shifted. Little-endian on disk. */
static size_t shift_fscaps(struct extractor *x, const void *value, size_t size, uint8_t out[XATTR_CAPS_SZ_3])
{
        uint32_t magic, rootid = 0;
        if (size != XATTR_CAPS_SZ_2 && size != XATTR_CAPS_SZ_3)
                return 0;
        memcpy(out, value, size);
        magic = (uint32_t)out[0] | (uint32_t)out[1] << 8 | (uint32_t)out[2] << 16 | (uint32_t)out[3] << 24;
        if ((magic & VFS_CAP_REVISION_MASK) == VFS_CAP_REVISION_3 && size == XATTR_CAPS_SZ_3)
                rootid = (uint32_t)out[20] | (uint32_t)out[21] << 8 | (uint32_t)out[22] << 16 |
                         (uint32_t)out[23] << 24;
        else if ((magic & VFS_CAP_REVISION_MASK) != VFS_CAP_REVISION_2 || size != XATTR_CAPS_SZ_2)
                return 0;
        magic = (magic & ~VFS_CAP_REVISION_MASK) | VFS_CAP_REVISION_3;
        rootid += x->opts->uid_shift;
        for (int i = 0; i < 4; i++) {
                out[i] = (uint8_t)(magic >> (8 * i));
                out[20 + i] = (uint8_t)(rootid >> (8 * i));
        }
        return XATTR_CAPS_SZ_3;
}

static int set_xattrs(struct extractor *x, int fd, struct archive_entry *e, struct coi_error *err)
{
        if (!(x->opts->flags & EXTRACT_XATTRS))
                return 0;
        const char *name;
        const void *value;
        size_t size;
        archive_entry_xattr_reset(e);
        while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
                /* overlayfs reads its own trusted.overlay.* xattrs from lower layers (redirects,
                 * opaque markers): an image must not be able to plant them. */
                if (startswith(name, "trusted.overlay.")) {
                        x->stats->skipped_xattrs++;
                        continue;
                }
                uint8_t caps[XATTR_CAPS_SZ_3];
                size_t n;
                if (x->opts->uid_shift && streq(name, "security.capability") &&
                    (n = shift_fscaps(x, value, size, caps)) > 0) {
                        value = caps;
                        size = n;
                }
                if (fsetxattr(fd, name, value, size, 0) < 0) {
                        if (errno == ENOTSUP || errno == EPERM || errno == EACCES) {
                                x->stats->skipped_xattrs++;
                                continue;
                        }
                        return entry_error(x, err, errno, "set xattr %s: %m", name);
                }
        }
        return 0;
}

/* With EXTRACT_OWNERS, gives the entry its (shifted) owner: fchownat(pfd, leaf, …, at_flags), so
 * AT_SYMLINK_NOFOLLOW for a name in its parent, AT_EMPTY_PATH with "" for an open file. */
static int chown_entry(struct extractor *x, int pfd, const char *leaf, int at_flags, struct archive_entry *e,
                       struct coi_error *err)
{
        if (!(x->opts->flags & EXTRACT_OWNERS))
                return 0;
        uid_t uid = 0;
        gid_t gid = 0;
        int r = shift_ids(x, e, &uid, &gid, err);
        if (r < 0)
                return r;
        if (fchownat(pfd, leaf, uid, gid, at_flags) < 0)
                return entry_error(x, err, errno, "chown %u:%u: %m", uid, gid);
        return 0;
}

/* Owner, mode, xattrs, in this order: chown clears setuid bits and file capabilities. */
static int apply_metadata_fd(struct extractor *x, int fd, struct archive_entry *e, struct coi_error *err)
{
        int r = chown_entry(x, fd, "", AT_EMPTY_PATH, e, err);
        if (r < 0)
                return r;
        if (fchmod(fd, entry_mode(x, e)) < 0)
                return entry_error(x, err, errno, "chmod: %m");
        return set_xattrs(x, fd, e, err);
}

/* For what can't be opened (symlinks, device nodes): by name in the resolved parent, no following. */
static int apply_metadata_at(struct extractor *x, int pfd, const char *leaf, struct archive_entry *e,
                             bool is_link, struct coi_error *err)
{
        int r = chown_entry(x, pfd, leaf, AT_SYMLINK_NOFOLLOW, e, err);
        if (r < 0)
                return r;
        if (!is_link && fchmodat(pfd, leaf, entry_mode(x, e), 0) < 0)
                return entry_error(x, err, errno, "chmod: %m");
        struct timespec ts[2] = { entry_mtime(e), entry_mtime(e) };
        if (utimensat(pfd, leaf, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return entry_error(x, err, errno, "set mtime: %m");
        return 0;
}

/* Opens the parent directory of an entry inside the root, creating missing directories (archives
 * often omit them). Each prefix is resolved from the root again, so a symlink the archive made
 * earlier is followed only inside the root, and one pointing at nothing is an error, not a hole. */
static int open_parent(struct extractor *x, char *parent, int *ret_fd, struct coi_error *err)
{
        int fd = open_inside(x->rootfd, parent, O_PATH | O_DIRECTORY);
        if (fd >= 0) {
                *ret_fd = fd;
                return 0;
        }
        if (errno != ENOENT)
                return entry_error(x, err, errno, "parent directory %s: %m", parent);

        _cleanup_close_ int prev = open_inside(x->rootfd, "", O_PATH | O_DIRECTORY);
        if (prev < 0)
                return entry_error(x, err, errno, "open the root: %m");
        for (char *s = parent;; s++) {
                if (*s != '/' && *s != '\0')
                        continue;
                char c = *s;
                *s = '\0';
                const char *comp = strrchr(parent, '/') ? strrchr(parent, '/') + 1 : parent;
                _cleanup_close_ int cur = open_inside(x->rootfd, parent, O_PATH | O_DIRECTORY);
                if (cur < 0 && errno == ENOENT) {
                        if (mkdirat(prev, comp, 0755) < 0) {
                                struct stat st;
                                if (errno == EEXIST && fstatat(prev, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                                    S_ISLNK(st.st_mode))
                                        return entry_error(x, err, ENOENT,
                                                           "parent %s is a symlink to a missing directory",
                                                           parent);
                                return entry_error(x, err, errno, "mkdir %s: %m", parent);
                        }
                        if ((x->opts->flags & EXTRACT_OWNERS) &&
                            fchownat(prev, comp, x->opts->uid_shift, x->opts->gid_shift,
                                     AT_SYMLINK_NOFOLLOW) < 0)
                                return entry_error(x, err, errno, "chown %s: %m", parent);
                        cur = open_inside(x->rootfd, parent, O_PATH | O_DIRECTORY);
                }
                if (cur < 0)
                        return entry_error(x, err, errno, "parent directory %s: %m", parent);
                *s = c;
                closep(&prev);
                prev = TAKE_FD(cur);
                if (c == '\0')
                        break;
        }
        *ret_fd = TAKE_FD(prev);
        return 0;
}

static int record_written(struct extractor *x, const char *parent, const char *leaf)
{
        if (!(x->opts->flags & EXTRACT_WHITEOUTS))
                return 0;
        char *p = *parent ? xasprintf("%s/%s", parent, leaf) : strdup(leaf);
        if (!p)
                return -ENOMEM;
        void *node = tsearch(p, &x->written, (int (*)(const void *, const void *))strcmp);
        if (!node) {
                free(p);
                return -ENOMEM;
        }
        if (*(char **)node != p)
                free(p); /* already there */
        return 0;
}

static bool was_written(struct extractor *x, const char *parent, const char *leaf)
{
        _cleanup_free_ char *p = *parent ? xasprintf("%s/%s", parent, leaf) : strdup(leaf);
        return p && tfind(p, &x->written, (int (*)(const void *, const void *))strcmp);
}

/* .wh..wh..opq: hide everything the lower layers put in this directory, keep what this layer wrote. */
static int apply_opaque(struct extractor *x, int pfd, const char *parent, struct coi_error *err)
{
        _cleanup_close_ int dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return entry_error(x, err, errno, "open %s: %m", *parent ? parent : "/");
        _cleanup_closedir_ DIR *d = fdopendir(fcntl(dfd, F_DUPFD_CLOEXEC, 3));
        if (!d)
                return entry_error(x, err, errno, "read directory %s: %m", *parent ? parent : "/");
        struct dirent *de;
        while ((errno = 0, de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, "..") || was_written(x, parent, de->d_name))
                        continue;
                int r = remove_tree_at(dfd, de->d_name, err);
                if (r < 0)
                        return coi_error_prefix(err, "%s: entry %s: ", x->opts->name, x->shown);
        }
        return 0;
}

static int apply_whiteout(struct extractor *x, char *parent, const char *leaf, struct coi_error *err)
{
        x->stats->whiteouts++;
        if (streq(leaf, ".wh..wh..opq")) {
                _cleanup_close_ int pfd = -1;
                int r = open_parent(x, parent, &pfd, err);
                return r < 0 ? r : apply_opaque(x, pfd, parent, err);
        }
        const char *name = leaf + strlen(".wh.");
        if (!*name || streq(name, ".") || streq(name, ".."))
                return entry_error(x, err, EINVAL, "invalid whiteout name");
        _cleanup_close_ int pfd = open_inside(x->rootfd, parent, O_PATH | O_DIRECTORY);
        if (pfd < 0)
                return errno == ENOENT ? 0 : entry_error(x, err, errno, "parent directory %s: %m", parent);
        int r = remove_tree_at(pfd, name, err);
        return r < 0 ? coi_error_prefix(err, "%s: entry %s: ", x->opts->name, x->shown) : 0;
}

static int make_hardlink(struct extractor *x, int pfd, const char *leaf, const char *target,
                         struct coi_error *err)
{
        char tpath[PATH_MAX];
        int r = normalize_path(x, target, "hardlink target", tpath, err);
        if (r < 0)
                return r;
        if (!*tpath)
                return entry_error(x, err, EPERM, "hardlink to the root directory");
        const char *tleaf = split_leaf(tpath);
        _cleanup_close_ int tpfd = open_inside(x->rootfd, tpath, O_PATH | O_DIRECTORY);
        if (tpfd < 0)
                return entry_error(x, err, errno, "hardlink target %s: %m", target);
        struct stat st;
        if (fstatat(tpfd, tleaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return entry_error(x, err, errno, "hardlink target %s: %m", target);
        if (S_ISDIR(st.st_mode))
                return entry_error(x, err, EPERM, "hardlink target %s is a directory", target);
        r = remove_tree_at(pfd, leaf, err);
        if (r < 0)
                return coi_error_prefix(err, "%s: entry %s: ", x->opts->name, x->shown);
        /* flags 0: a symlink target is linked itself, never followed */
        if (linkat(tpfd, tleaf, pfd, leaf, 0) < 0)
                return entry_error(x, err, errno, "hardlink to %s: %m", target);
        return 0;
}

static int report_progress(struct extractor *x, bool force, struct coi_error *err);

static int write_data(struct extractor *x, int fd, struct archive_entry *e, struct coi_error *err)
{
        int64_t pos = 0;
        for (;;) {
                const void *buf;
                size_t size;
                la_int64_t off;
                int r = archive_read_data_block(x->a, &buf, &size, &off);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return entry_error(x, err, archive_errno(x->a) > 0 ? archive_errno(x->a) : EIO,
                                           "read data: %s", archive_error_string(x->a));
                if (off != pos && lseek(fd, off, SEEK_SET) < 0) /* a hole in a sparse file */
                        return entry_error(x, err, errno, "seek: %m");
                if (write_all(fd, buf, size) < 0)
                        return entry_error(x, err, errno, "write: %m");
                pos = off + (int64_t)size;
                x->stats->bytes += size;
                r = report_progress(x, false, err); /* big files: keep the bar moving */
                if (r < 0)
                        return r;
        }
        if (archive_entry_size_is_set(e) && pos < archive_entry_size(e) &&
            ftruncate(fd, archive_entry_size(e)) < 0)
                return entry_error(x, err, errno, "truncate: %m");
        return 0;
}

static int extract_entry(struct extractor *x, struct archive_entry *e, struct coi_error *err)
{
        const char *raw = archive_entry_pathname(e);
        if (!raw)
                raw = archive_entry_pathname_utf8(e);
        set_shown(x, raw ? raw : "(no name)");
        if (!raw)
                return entry_error(x, err, EINVAL, "entry without a path");

        char path[PATH_MAX];
        int r = normalize_path(x, raw, "path", path, err);
        if (r < 0)
                return r;
        mode_t type = archive_entry_filetype(e);
        const char *hardlink = archive_entry_hardlink(e);

        if (!*path) { /* "./": the root directory's own owner, mode and xattrs */
                if (hardlink || type != AE_IFDIR)
                        return entry_error(x, err, EPERM, "the root can only be a directory");
                _cleanup_close_ int fd = openat(x->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        return entry_error(x, err, errno, "open the root: %m");
                return apply_metadata_fd(x, fd, e, err);
        }

        char parent[PATH_MAX];
        memcpy(parent, path, strlen(path) + 1);
        const char *leaf = split_leaf(parent);
        if ((x->opts->flags & EXTRACT_WHITEOUTS) && startswith(leaf, ".wh."))
                return apply_whiteout(x, parent, leaf, err);

        if (!hardlink && (type == AE_IFCHR || type == AE_IFBLK) && !(x->opts->flags & EXTRACT_DEVICES)) {
                x->stats->skipped_devices++;
                return 0;
        }
        if (!hardlink && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK && type != AE_IFIFO &&
            type != AE_IFCHR && type != AE_IFBLK) {
                x->stats->skipped_other++;
                return 0;
        }

        _cleanup_close_ int pfd = -1;
        r = open_parent(x, parent, &pfd, err);
        if (r < 0)
                return r;
        r = record_written(x, parent, leaf);
        if (r < 0)
                return entry_error(x, err, r, "%m");
        x->stats->entries++;
        if (hardlink)
                return make_hardlink(x, pfd, leaf, hardlink, err);

        /* Whatever is there already is replaced (later entries win, as in tar), except that a
         * directory entry over an existing directory only updates it. Never followed: a symlink
         * in the way is removed, not written through. */
        struct stat st;
        bool keep_dir =
                type == AE_IFDIR && fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
        if (!keep_dir) {
                r = remove_tree_at(pfd, leaf, err);
                if (r < 0)
                        return coi_error_prefix(err, "%s: entry %s: ", x->opts->name, x->shown);
        }

        switch (type) {
        case AE_IFDIR: {
                if (!keep_dir && mkdirat(pfd, leaf, 0700) < 0)
                        return entry_error(x, err, errno, "mkdir: %m");
                _cleanup_close_ int fd = openat(pfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return entry_error(x, err, errno, "open: %m");
                r = apply_metadata_fd(x, fd, e, err);
                if (r < 0)
                        return r;
                struct dirtime *n = reallocarray(x->dirtimes, x->n_dirtimes + 1, sizeof(*n));
                if (!n)
                        return entry_error(x, err, ENOMEM, "%m");
                x->dirtimes = n;
                n[x->n_dirtimes].path = strdup(path);
                n[x->n_dirtimes].mtime = entry_mtime(e);
                if (!n[x->n_dirtimes].path)
                        return entry_error(x, err, ENOMEM, "%m");
                x->n_dirtimes++;
                return 0;
        }
        case AE_IFREG: {
                _cleanup_close_ int fd =
                        openat(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0)
                        return entry_error(x, err, errno, "create: %m");
                r = write_data(x, fd, e, err);
                if (r >= 0)
                        r = apply_metadata_fd(x, fd, e, err);
                if (r < 0)
                        return r;
                struct timespec ts[2] = { entry_mtime(e), entry_mtime(e) };
                if (futimens(fd, ts) < 0)
                        return entry_error(x, err, errno, "set mtime: %m");
                return 0;
        }
        case AE_IFLNK: {
                /* stored as written: it is only ever followed inside the root (RESOLVE_IN_ROOT) */
                const char *target = archive_entry_symlink(e);
                if (!target || !*target)
                        return entry_error(x, err, EINVAL, "symlink without a target");
                if (symlinkat(target, pfd, leaf) < 0)
                        return entry_error(x, err, errno, "symlink to %s: %m", target);
                return apply_metadata_at(x, pfd, leaf, e, true, err);
        }
        default: /* fifo, or a device node the caller allowed */
                if (mknodat(pfd, leaf, type | 0600, archive_entry_rdev(e)) < 0)
                        return entry_error(x, err, errno, "mknod: %m");
                return apply_metadata_at(x, pfd, leaf, e, false, err);
        }
}

static int report_progress(struct extractor *x, bool force, struct coi_error *err)
{
        if (!x->opts->progress)
                return 0;
        if (!force && x->reader->bytes - x->last_progress_bytes < PROGRESS_BYTES &&
            x->stats->entries - x->last_progress_entries < PROGRESS_ENTRIES)
                return 0;
        x->last_progress_entries = x->stats->entries;
        x->last_progress_bytes = x->reader->bytes;
        struct stat st;
        struct extract_progress p = {
                .stage = x->opts->stage,
                .bytes = x->reader->bytes,
                .total_bytes =
                        fstat(x->reader->fd, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0,
                .entries = x->stats->entries,
        };
        if (x->opts->progress(&p, x->opts->progress_data) != 0)
                return coi_error_set(err, ECANCELED, "%s: interrupted", x->opts->name);
        return 0;
}

static int set_dir_times(struct extractor *x, struct coi_error *err)
{
        /* deepest first is not needed: setting a directory's mtime doesn't touch its parent */
        for (size_t i = 0; i < x->n_dirtimes; i++) {
                if (x->dirtimes[i].mtime.tv_nsec == UTIME_OMIT)
                        continue;
                _cleanup_close_ int fd =
                        open_inside(x->rootfd, x->dirtimes[i].path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
                if (fd < 0)
                        continue; /* removed or replaced by a later entry */
                struct timespec ts[2] = { x->dirtimes[i].mtime, x->dirtimes[i].mtime };
                if (futimens(fd, ts) < 0) {
                        set_shown(x, x->dirtimes[i].path);
                        return entry_error(x, err, errno, "set mtime: %m");
                }
        }
        return 0;
}

static void extractor_done(struct extractor *x)
{
        for (size_t i = 0; i < x->n_dirtimes; i++)
                free(x->dirtimes[i].path);
        free(x->dirtimes);
        tdestroy(x->written, free);
}

int extract_archive(int archive_fd, int target_dirfd, const struct extract_options *opts,
                    struct extract_stats *ret_stats, struct coi_error *err)
{
        struct extract_stats stats = { 0 };
        _cleanup_free_ struct reader *reader = calloc(1, sizeof(*reader));
        _cleanup_(archive_read_freep) struct archive *a = archive_read_new();
        if (!reader || !a)
                return coi_error_set(err, ENOMEM, "%s: %m", opts->name);
        reader->fd = archive_fd;
        sha256_init(&reader->sha);

        /* Not filter_all/format_all: those add filters that exec external programs (lrzip, lzop,
         * grzip) and parsers a rootfs never needs (rar, 7zip, iso9660, cab, mtree, …), each more
         * attack surface for hostile input. A rootfs comes as tar (ustar, pax, GNU) or cpio. */
        archive_read_support_filter_gzip(a);
        archive_read_support_filter_bzip2(a);
        archive_read_support_filter_xz(a);
        archive_read_support_filter_lzma(a);
        archive_read_support_filter_zstd(a);
        archive_read_support_filter_lz4(a);
        archive_read_support_format_tar(a);
        archive_read_support_format_gnutar(a);
        archive_read_support_format_cpio(a);
        if (archive_read_open(a, reader, NULL, reader_read, NULL) != ARCHIVE_OK)
                return coi_error_set(err, archive_errno(a) > 0 ? archive_errno(a) : EINVAL, "%s: %s",
                                     opts->name, archive_error_string(a));

        struct extractor x = {
                .a = a,
                .reader = reader,
                .rootfd = target_dirfd,
                .opts = opts,
                .stats = &stats,
        };
        int r = 0;
        for (;;) {
                struct archive_entry *e;
                int ar = archive_read_next_header(a, &e);
                if (ar == ARCHIVE_EOF)
                        break;
                if (ar < ARCHIVE_WARN) {
                        r = coi_error_set(err, archive_errno(a) > 0 ? archive_errno(a) : EINVAL,
                                          "%s: after %" PRIu64 " entries: %s", opts->name, stats.entries,
                                          archive_error_string(a));
                        break;
                }
                r = extract_entry(&x, e, err);
                if (r >= 0)
                        r = report_progress(&x, false, err);
                if (r < 0)
                        break;
        }
        if (r >= 0)
                r = set_dir_times(&x, err);
        extractor_done(&x);
        if (r < 0)
                return r;
        if (archive_read_close(a) != ARCHIVE_OK)
                return coi_error_set(err, EIO, "%s: %s", opts->name, archive_error_string(a));
        if (reader_drain(reader) < 0)
                return coi_error_set(err, errno, "%s: read: %m", opts->name);
        r = report_progress(&x, true, err);
        if (r < 0)
                return r;
        sha256_final_hex(&reader->sha, stats.sha256);
        if (opts->expect_sha256 && !streq(opts->expect_sha256, stats.sha256))
                return coi_error_set(err, EBADMSG, "%s: digest mismatch: expected sha256:%s, got sha256:%s",
                                     opts->name, opts->expect_sha256, stats.sha256);
        if (ret_stats)
                *ret_stats = stats;
        return 0;
}
