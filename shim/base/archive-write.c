/* archive-write.c — `coi image export`: a directory tree written as a pax tar (none/gzip/xz/zstd) with
 * owners, modes, mtimes, hardlinks, device nodes and xattrs; reads the tree by fd, never following links. */
#include <archive.h>
#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "archive-internal.h"
#include "util.h"

static void archive_write_freep(struct archive **a)
{
        if (*a)
                archive_write_free(*a);
}

struct writer {
        struct archive *w;
        const char *name;
        void *inodes; /* tsearch set of struct inode_path, for hardlinks */
        uint64_t entries;
        uint64_t bytes;
        extract_progress_fn progress;
        void *progress_data;
        char buf[64 * 1024];
};

struct inode_path {
        dev_t dev;
        ino_t ino;
        char path[];
};

static int inode_cmp(const void *a, const void *b)
{
        const struct inode_path *x = a, *y = b;
        if (x->dev != y->dev)
                return x->dev < y->dev ? -1 : 1;
        return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static int add_xattrs(struct archive_entry *e, int fd, const char *path, struct coi_error *err)
{
        char names[64 * 1024];
        ssize_t n = flistxattr(fd, names, sizeof(names));
        if (n < 0)
                return errno == ENOTSUP ? 0 : coi_error_set(err, errno, "list xattrs of %s: %m", path);
        for (char *s = names; s < names + n; s += strlen(s) + 1) {
                char value[64 * 1024];
                ssize_t v = fgetxattr(fd, s, value, sizeof(value));
                if (v < 0)
                        return coi_error_set(err, errno, "read xattr %s of %s: %m", s, path);
                archive_entry_xattr_add_entry(e, s, value, (size_t)v);
        }
        return 0;
}

static int write_header(struct writer *wr, struct archive_entry *e, const char *path, struct coi_error *err)
{
        if (archive_write_header(wr->w, e) < ARCHIVE_WARN)
                return coi_error_set(err, EIO, "%s: write entry %s: %s", wr->name, path,
                                     archive_error_string(wr->w));
        wr->entries++;
        if (wr->progress && wr->entries % PROGRESS_ENTRIES == 0) {
                struct extract_progress p = { .bytes = wr->bytes, .entries = wr->entries };
                if (wr->progress(&p, wr->progress_data) != 0)
                        return coi_error_set(err, ECANCELED, "%s: interrupted", wr->name);
        }
        return 0;
}

static int write_file_data(struct writer *wr, int fd, const char *path, struct coi_error *err)
{
        for (;;) {
                ssize_t n = read(fd, wr->buf, sizeof(wr->buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return coi_error_set(err, errno, "read %s: %m", path);
                if (n == 0)
                        return 0;
                if (archive_write_data(wr->w, wr->buf, (size_t)n) < 0)
                        return coi_error_set(err, EIO, "%s: write %s: %s", wr->name, path,
                                             archive_error_string(wr->w));
                wr->bytes += (uint64_t)n;
        }
}

static int name_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int write_dir(struct writer *wr, int dirfd, const char *dirpath, struct coi_error *err);

static int write_one(struct writer *wr, int dirfd, const char *name, const char *path, struct coi_error *err)
{
        struct stat st;
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return coi_error_set(err, errno, "stat %s: %m", path);
        _cleanup_(archive_entry_freep) struct archive_entry *e = archive_entry_new();
        if (!e)
                return coi_error_set(err, ENOMEM, "%s: %m", path);
        archive_entry_copy_stat(e, &st);
        archive_entry_set_pathname(e, path);
        _cleanup_close_ int fd = -1;

        if (S_ISSOCK(st.st_mode))
                return 0; /* a tar can't hold sockets, and a rootfs doesn't need them */
        if (S_ISLNK(st.st_mode)) {
                char target[PATH_MAX];
                ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
                if (n < 0)
                        return coi_error_set(err, errno, "readlink %s: %m", path);
                target[n] = '\0';
                archive_entry_set_symlink(e, target);
                return write_header(wr, e, path, err);
        }
        if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
                fd = openat(dirfd, name,
                            O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
                if (fd < 0)
                        return coi_error_set(err, errno, "open %s: %m", path);
                int r = add_xattrs(e, fd, path, err);
                if (r < 0)
                        return r;
        }
        if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
                struct inode_path *ip = malloc(sizeof(*ip) + strlen(path) + 1);
                if (!ip)
                        return coi_error_set(err, ENOMEM, "%s: %m", path);
                ip->dev = st.st_dev;
                ip->ino = st.st_ino;
                strcpy(ip->path, path);
                void *node = tsearch(ip, &wr->inodes, inode_cmp);
                if (!node) {
                        free(ip);
                        return coi_error_set(err, ENOMEM, "%s: %m", path);
                }
                struct inode_path *first = *(struct inode_path **)node;
                if (first != ip) { /* seen before: a hardlink entry without data */
                        free(ip);
                        archive_entry_set_hardlink(e, first->path);
                        archive_entry_set_size(e, 0);
                        return write_header(wr, e, path, err);
                }
        }
        int r = write_header(wr, e, path, err);
        if (r < 0)
                return r;
        if (S_ISREG(st.st_mode))
                return write_file_data(wr, fd, path, err);
        if (S_ISDIR(st.st_mode))
                return write_dir(wr, fd, path, err);
        return 0;
}

/* Children in name order, so the same tree always gives the same archive. */
static int write_dir(struct writer *wr, int dirfd, const char *dirpath, struct coi_error *err)
{
        _cleanup_closedir_ DIR *d = fdopendir(fcntl(dirfd, F_DUPFD_CLOEXEC, 3));
        if (!d)
                return coi_error_set(err, errno, "read directory %s: %m", dirpath);
        _cleanup_strv_ char **names = NULL;
        struct dirent *de;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..") && strv_push(&names, de->d_name) < 0)
                        return coi_error_set(err, ENOMEM, "read directory %s: %m", dirpath);
        if (names)
                qsort(names, strv_length(names), sizeof(char *), name_cmp);
        for (size_t i = 0; names && names[i]; i++) {
                _cleanup_free_ char *path = xasprintf("%s/%s", dirpath, names[i]);
                if (!path)
                        return coi_error_set(err, ENOMEM, "%s: %m", dirpath);
                int r = write_one(wr, dirfd, names[i], path, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int archive_write_tree(int rootfs_dirfd, int out_fd, const char *compression, const char *name,
                       extract_progress_fn progress, void *progress_data, struct coi_error *err)
{
        _cleanup_(archive_write_freep) struct archive *w = archive_write_new();
        _cleanup_free_ struct writer *wr = calloc(1, sizeof(*wr));
        if (!w || !wr)
                return coi_error_set(err, ENOMEM, "%s: %m", name);
        *wr = (struct writer){ .w = w, .name = name, .progress = progress, .progress_data = progress_data };

        int ar = archive_write_set_format_pax_restricted(w);
        if (ar == ARCHIVE_OK && streq(compression, "gzip"))
                ar = archive_write_add_filter_gzip(w);
        else if (ar == ARCHIVE_OK && streq(compression, "xz"))
                ar = archive_write_add_filter_xz(w);
        else if (ar == ARCHIVE_OK && streq(compression, "zstd"))
                ar = archive_write_add_filter_zstd(w);
        else if (!streq(compression, "none"))
                return coi_error_set(err, EINVAL, "%s: unknown compression \"%s\" (none, gzip, xz or zstd)",
                                     name, compression);
        if (ar != ARCHIVE_OK || archive_write_open_fd(w, out_fd) != ARCHIVE_OK)
                return coi_error_set(err, EIO, "%s: %s", name, archive_error_string(w));

        _cleanup_close_ int rootfd = openat(rootfs_dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return coi_error_set(err, errno, "open rootfs: %m");
        struct stat st;
        if (fstat(rootfd, &st) < 0)
                return coi_error_set(err, errno, "stat rootfs: %m");
        _cleanup_(archive_entry_freep) struct archive_entry *e = archive_entry_new();
        if (!e)
                return coi_error_set(err, ENOMEM, "%s: %m", name);
        archive_entry_copy_stat(e, &st);
        archive_entry_set_pathname(e, "./");
        int r = add_xattrs(e, rootfd, "./", err);
        if (r >= 0)
                r = write_header(wr, e, "./", err);
        if (r >= 0)
                r = write_dir(wr, rootfd, ".", err);
        tdestroy(wr->inodes, free);
        if (r < 0)
                return r;
        if (archive_write_close(w) != ARCHIVE_OK)
                return coi_error_set(err, EIO, "%s: %s", name, archive_error_string(w));
        if (progress) {
                struct extract_progress p = { .bytes = wr->bytes, .entries = wr->entries };
                progress(&p, progress_data);
        }
        return 0;
}
