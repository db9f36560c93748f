/* image.c — the image store: import into a temporary directory and rename into place (OCI layouts in
 * image-oci.c), Incus tarballs, metadata.json, aliases, export. */
#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>

#include "json-util.h"
#include "image-internal.h"

struct image_store {
        int fd; /* -1: the store doesn't exist (yet) */
        char *path;
};

/* A temporary directory in the store, removed on scope exit unless handed over (name = NULL). */
struct tmpdir {
        int storefd;
        char *name;
};

static void tmpdir_cleanup(struct tmpdir *t)
{
        if (t->name) {
                struct coi_error ignored = { 0 };
                remove_tree_at(t->storefd, t->name, &ignored);
                free(t->name);
        }
}

static const char *base_name(const char *path)
{
        const char *s = strrchr(path, '/');
        return s && s[1] ? s + 1 : path;
}

/* ---- the store ---- */

int image_store_open(const char *path, bool create, struct image_store **ret_store, struct coi_error *err)
{
        if (!path)
                path = getenv("COI_IMAGES_DIR");
        if (!path || !*path)
                path = IMAGE_STORE_DEFAULT;
        _cleanup_free_ struct image_store *s = calloc(1, sizeof(*s));
        if (!s || !(s->path = strdup(path))) {
                free(s ? s->path : NULL);
                return coi_error_set(err, ENOMEM, "image store %s: %m", path);
        }
        if (create) {
                /* Parents 0711: containers' rootfs mounts live beside the store (/var/lib/coi) and
                 * the container's root, an unprivileged host uid, must be able to traverse to them.
                 * The store itself 0700: rootfs trees keep setuid files owned by root. */
                _cleanup_free_ char *parent = strdup(path);
                char *slash = parent ? strrchr(parent, '/') : NULL;
                int r = 0;
                if (slash && slash != parent) {
                        *slash = '\0';
                        r = mkdir_p_at(AT_FDCWD, parent, 0711, err);
                }
                if (r == 0 && mkdir(path, 0700) < 0 && errno != EEXIST)
                        r = coi_error_set(err, errno, "mkdir %s: %m", path);
                if (r < 0) {
                        free(s->path);
                        return coi_error_prefix(err, "image store %s: ", path);
                }
        }
        s->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->fd < 0 && !(errno == ENOENT && !create)) {
                int r = coi_error_set(err, errno, "open image store %s: %m", path);
                free(s->path);
                return r;
        }
        *ret_store = TAKE_PTR(s);
        return 0;
}

void image_store_free(struct image_store *s)
{
        if (!s)
                return;
        if (s->fd >= 0)
                close(s->fd);
        free(s->path);
        free(s);
}

const char *image_store_path(const struct image_store *s)
{
        return s->path;
}

/* Serialises changes of the store (rename into place, aliases, delete): an exclusive flock held
 * until the returned fd is closed. Unpacking runs without it. */
static int store_lock(struct image_store *s, int *ret_fd, struct coi_error *err)
{
        int fd = openat(s->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return coi_error_set(err, errno, "open image store %s: %m", s->path);
        if (flock(fd, LOCK_EX) < 0) {
                int r = coi_error_set(err, errno, "lock image store %s: %m", s->path);
                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

static int read_metadata(struct image_store *s, const char *dir, struct image_info **ret_info,
                         struct coi_error *err)
{
        _cleanup_free_ char *path = xasprintf("%s/metadata.json", dir);
        _cleanup_free_ char *data = NULL;
        if (!path)
                return coi_error_set(err, ENOMEM, "%s: %m", dir);
        int r = read_file_at(s->fd, path, 1u << 20, &data, NULL, err);
        if (r < 0)
                return coi_error_prefix(err, "image store %s: ", s->path);
        _cleanup_free_ char *where = xasprintf("%s/%s", s->path, path);
        _cleanup_(image_info_freep) struct image_info *info = NULL;
        r = image_parse_metadata(data, where ? where : path, &info, err);
        if (r < 0)
                return r;
        /* the directory is the identity; a renamed directory would make every later step miss */
        if (!streq(info->name, dir))
                return coi_error_set(err, EINVAL, "%s: names image \"%s\", but lives in directory %s",
                                     where ? where : path, info->name, dir);
        *ret_info = TAKE_PTR(info);
        return 0;
}

/* ---- lookup ---- */

static int info_cmp(const void *a, const void *b)
{
        return strcmp((*(struct image_info *const *)a)->name, (*(struct image_info *const *)b)->name);
}

int image_list(struct image_store *s, struct image_info ***ret_list, struct coi_error *err)
{
        _cleanup_(image_info_list_freep) struct image_info **list = calloc(1, sizeof(*list));
        size_t n = 0;
        if (!list)
                return coi_error_set(err, ENOMEM, "image store %s: %m", s->path);
        if (s->fd >= 0) {
                _cleanup_closedir_ DIR *d = fdopendir(openat(s->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
                if (!d)
                        return coi_error_set(err, errno, "read image store %s: %m", s->path);
                struct dirent *de;
                while ((de = readdir(d))) {
                        if (de->d_name[0] == '.') /* ".", "..", and .tmp-* of imports under way */
                                continue;
                        struct image_info *info = NULL;
                        int r = read_metadata(s, de->d_name, &info, err);
                        if (r < 0)
                                return r;
                        struct image_info **nl = reallocarray(list, n + 2, sizeof(*list));
                        if (!nl) {
                                image_info_free(info);
                                return coi_error_set(err, ENOMEM, "image store %s: %m", s->path);
                        }
                        list = nl;
                        list[n++] = info;
                        list[n] = NULL;
                }
        }
        qsort(list, n, sizeof(*list), info_cmp);
        *ret_list = TAKE_PTR(list);
        return 0;
}

static bool info_has_alias(const struct image_info *info, const char *alias)
{
        for (size_t i = 0; info->aliases && info->aliases[i]; i++)
                if (streq(info->aliases[i], alias))
                        return true;
        return false;
}

int image_lookup(struct image_store *s, const char *name, struct image_info **ret_info, struct coi_error *err)
{
        if (!image_name_valid(name))
                return coi_error_set(err, EINVAL,
                                     "invalid image name \"%s\" (letters, digits, '.', '_', '-')", name);
        if (s->fd >= 0 && faccessat(s->fd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                return read_metadata(s, name, ret_info, err);
        _cleanup_(image_info_list_freep) struct image_info **list = NULL;
        int r = image_list(s, &list, err);
        if (r < 0)
                return r;
        for (size_t i = 0; list[i]; i++)
                if (info_has_alias(list[i], name)) {
                        *ret_info = list[i];
                        for (size_t j = i; list[j]; j++) /* out of the list, which stays NULL-terminated */
                                list[j] = list[j + 1];
                        return 0;
                }
        return coi_error_set(err, ENOENT, "image %s not found in %s", name, s->path);
}

int image_rootfs_open(struct image_store *s, const char *name, int *ret_fd, struct coi_error *err)
{
        _cleanup_(image_info_freep) struct image_info *info = NULL;
        int r = image_lookup(s, name, &info, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *path = xasprintf("%s/rootfs", info->name);
        int fd = path ? openat(s->fd, path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
        if (fd < 0)
                return coi_error_set(err, path ? errno : ENOMEM, "image %s: open %s/%s: %m", name, s->path,
                                     path ? path : "rootfs");
        *ret_fd = fd;
        return 0;
}

/* ---- import helpers ---- */

/* The architecture of a plain rootfs: the ELF machine of its shell. */
static char *rootfs_arch(int rootfsfd)
{
        static const char *const probes[] = { "bin/sh", "bin/busybox", "usr/bin/env", "bin/ls" };
        for (size_t i = 0; i < ELEMENTSOF(probes); i++) {
                _cleanup_close_ int fd = open_inside(rootfsfd, probes[i], O_RDONLY);
                unsigned char h[20];
                if (fd < 0 || read(fd, h, sizeof(h)) != (ssize_t)sizeof(h) || memcmp(h, "\177ELF", 4) != 0)
                        continue;
                unsigned machine =
                        h[5] == 1 ? (unsigned)(h[18] | h[19] << 8) : (unsigned)(h[18] << 8 | h[19]);
                switch (machine) {
                case 62:
                        return strdup("amd64");
                case 183:
                        return strdup("arm64");
                case 3:
                        return strdup("386");
                case 40:
                        return strdup("arm");
                case 21:
                        return strdup(h[5] == 1 ? "ppc64le" : "ppc64");
                case 22:
                        return strdup("s390x");
                case 243:
                        return strdup("riscv64");
                }
        }
        return strdup("unknown");
}

static uint64_t tree_size(int fd)
{
        _cleanup_closedir_ DIR *d = fdopendir(openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        uint64_t total = 0;
        struct dirent *de;
        while (d && (de = readdir(d))) {
                struct stat st;
                if (streq(de->d_name, ".") || streq(de->d_name, "..") ||
                    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int sub =
                                openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub >= 0)
                                total += tree_size(sub);
                } else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
                        total += (uint64_t)st.st_size;
                }
        }
        return total;
}

static bool dir_is_empty(int dirfd)
{
        _cleanup_closedir_ DIR *d = fdopendir(openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        struct dirent *de;
        while (d && (de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        return false;
        return true;
}

static char *now_rfc3339(void)
{
        time_t t = time(NULL);
        struct tm tm;
        char buf[64];
        if (!gmtime_r(&t, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                return strdup("1970-01-01T00:00:00Z");
        return strdup(buf);
}

/* ---- Incus / LXD unified tarball: metadata.yaml + rootfs/ (+ templates/) ---- */

static bool looks_like_incus(int dirfd)
{
        if (!image_is_type_at(dirfd, "metadata.yaml", S_IFREG) || !image_is_type_at(dirfd, "rootfs", S_IFDIR))
                return false;
        _cleanup_closedir_ DIR *d = fdopendir(openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        struct dirent *de;
        while (d && (de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..") &&
                    !streq(de->d_name, "metadata.yaml") && !streq(de->d_name, "rootfs") &&
                    !streq(de->d_name, "templates"))
                        return false;
        return true;
}

static bool looks_like_oci(int dirfd)
{
        return image_is_type_at(dirfd, "oci-layout", S_IFREG) &&
               image_is_type_at(dirfd, "index.json", S_IFREG) && image_is_type_at(dirfd, "blobs", S_IFDIR);
}

/* "architecture: x86_64" from metadata.yaml; a full YAML parser isn't worth it for one key. */
static char *incus_arch(int tmpfd)
{
        _cleanup_free_ char *yaml = NULL;
        struct coi_error ignored = { 0 };
        if (read_file_at(tmpfd, "incus-metadata.yaml", 1u << 20, &yaml, NULL, &ignored) < 0)
                return NULL;
        for (char *line = yaml; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
                if (!startswith(line, "architecture:"))
                        continue;
                char *v = line + strlen("architecture:");
                v += strspn(v, " \t\"'");
                size_t n = strcspn(v, " \t\"'\r\n");
                char machine[64];
                snprintf(machine, sizeof(machine), "%.*s", (int)(n < 63 ? n : 63), v);
                return strdup(image_oci_arch(machine));
        }
        return NULL;
}

/* The archive was unpacked into tmp/rootfs; if it turns out to be an Incus tarball or an OCI
 * layout, rearrange: the Incus rootfs/ becomes the image's rootfs, an OCI layout is applied. */
static int import_rearrange(struct import *im, struct coi_error *err)
{
        _cleanup_close_ int unpacked =
                openat(im->tmpfd, "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (unpacked < 0)
                return coi_error_set(err, errno, "%s: open unpacked tree: %m", im->file_name);
        if (looks_like_incus(unpacked)) {
                if (renameat(unpacked, "rootfs", im->tmpfd, "incus-rootfs") < 0 ||
                    renameat(unpacked, "metadata.yaml", im->tmpfd, "incus-metadata.yaml") < 0)
                        return coi_error_set(err, errno, "%s: rearrange Incus tarball: %m", im->file_name);
                int r = remove_tree_at(im->tmpfd, "rootfs", err);
                if (r < 0)
                        return r;
                if (renameat(im->tmpfd, "incus-rootfs", im->tmpfd, "rootfs") < 0)
                        return coi_error_set(err, errno, "%s: rearrange Incus tarball: %m", im->file_name);
                im->architecture = incus_arch(im->tmpfd);
                im->format = strdup("incus");
                return 0;
        }
        if (looks_like_oci(unpacked)) {
                closep(&unpacked);
                if (renameat(im->tmpfd, "rootfs", im->tmpfd, "oci") < 0 ||
                    mkdirat(im->tmpfd, "rootfs", 0755) < 0)
                        return coi_error_set(err, errno, "%s: rearrange OCI layout: %m", im->file_name);
                _cleanup_close_ int layoutfd = openat(im->tmpfd, "oci", O_PATH | O_DIRECTORY | O_CLOEXEC);
                _cleanup_close_ int rootfsfd = openat(im->tmpfd, "rootfs", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (layoutfd < 0 || rootfsfd < 0)
                        return coi_error_set(err, errno, "%s: open unpacked tree: %m", im->file_name);
                im->stats = (struct extract_stats){ 0 }; /* count the image's entries, not the blobs */
                int r = image_import_oci(im, layoutfd, rootfsfd, err);
                if (r < 0)
                        return r;
                im->format = strdup("oci");
                return remove_tree_at(im->tmpfd, "oci", err);
        }
        im->format = strdup("rootfs");
        return 0;
}

/* Checks that name may be taken; with force, an alias that equals the new name is removed from its
 * image, and the aliases of the image being replaced are returned to carry over. Under the lock. */
static int claim_name(struct import *im, bool *ret_replace, char ***ret_old_aliases, struct coi_error *err)
{
        _cleanup_(image_info_list_freep) struct image_info **list = NULL;
        int r = image_list(im->s, &list, err);
        if (r < 0)
                return r;
        const char *name = im->o->name;
        *ret_replace = false;
        for (size_t i = 0; list[i]; i++) {
                if (streq(list[i]->name, name)) {
                        if (!im->o->force)
                                return coi_error_set(err, EEXIST,
                                                     "image %s already exists (use --force to replace it)",
                                                     name);
                        *ret_replace = true;
                        *ret_old_aliases = TAKE_PTR(list[i]->aliases);
                } else if (info_has_alias(list[i], name)) {
                        if (!im->o->force)
                                return coi_error_set(
                                        err, EEXIST,
                                        "%s is already an alias of image %s (use --force to take it over)",
                                        name, list[i]->name);
                        char **a = list[i]->aliases;
                        size_t k = 0;
                        for (size_t j = 0; a[j]; j++)
                                if (streq(a[j], name))
                                        free(a[j]);
                                else
                                        a[k++] = a[j];
                        a[k] = NULL;
                        _cleanup_close_ int dfd = openat(im->s->fd, list[i]->name,
                                                         O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (dfd < 0)
                                return coi_error_set(err, errno, "image %s: %m", list[i]->name);
                        r = image_write_metadata(dfd, list[i], err);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* .tmp-* left by an import or delete that was killed (SIGKILL, power loss): gone after a day. */
static void remove_stale_tmpdirs(struct image_store *s)
{
        _cleanup_closedir_ DIR *d = fdopendir(openat(s->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        struct dirent *de;
        time_t day_ago = time(NULL) - 24 * 3600;
        while (d && (de = readdir(d))) {
                struct stat st;
                struct coi_error ignored = { 0 };
                if (startswith(de->d_name, ".tmp-") &&
                    fstatat(s->fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mtime < day_ago)
                        remove_tree_at(s->fd, de->d_name, &ignored);
        }
}

/* Unpacks the source into tmp/rootfs: an OCI layout directory, or an archive of any kind. */
static int import_unpack(struct import *im, bool is_dir, int rootfsfd, struct coi_error *err)
{
        const struct image_import_options *o = im->o;
        if (is_dir) {
                _cleanup_close_ int layoutfd = open(o->file, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (layoutfd < 0)
                        return coi_error_set(err, errno, "%s: %m", o->file);
                if (!looks_like_oci(layoutfd))
                        return coi_error_set(err, EINVAL,
                                             "%s: a directory, but not an OCI image layout "
                                             "(no oci-layout, index.json and blobs/)",
                                             o->file);
                int r = image_import_oci(im, layoutfd, rootfsfd, err);
                if (r < 0)
                        return r;
                im->format = strdup("oci");
                return 0;
        }
        _cleanup_close_ int fd = open(o->file, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return coi_error_set(err, errno, "%s: %m", o->file);
        struct extract_options xo = {
                .name = im->file_name,
                .flags = im->flags,
                .uid_shift = o->id_shift,
                .gid_shift = o->id_shift,
                .progress = o->progress,
                .progress_data = o->progress_data,
        };
        int r = extract_archive(fd, rootfsfd, &xo, &im->stats, err);
        if (r < 0)
                return r;
        snprintf(im->digest, sizeof(im->digest), "sha256:%s", im->stats.sha256);
        return import_rearrange(im, err);
}

/* Under the store lock: claim the name, then rename the temporary directory into place (or swap
 * it with the image it replaces, which then goes away with the temporary directory). */
static int import_commit(struct import *im, struct tmpdir *tmp, struct image_info *info,
                         struct coi_error *err)
{
        struct image_store *s = im->s;
        _cleanup_close_ int lock = -1;
        int r = store_lock(s, &lock, err);
        if (r < 0)
                return r;
        bool replace = false;
        _cleanup_strv_ char **old_aliases = NULL;
        r = claim_name(im, &replace, &old_aliases, err);
        if (r < 0)
                return r;
        if (old_aliases) {
                info->aliases = TAKE_PTR(old_aliases);
                r = image_write_metadata(im->tmpfd, info, err);
                if (r < 0)
                        return r;
        }
        if (replace) {
                /* atomic: readers see the old image or the new one, never neither */
                if (renameat2(s->fd, tmp->name, s->fd, info->name, RENAME_EXCHANGE) < 0)
                        return coi_error_set(err, errno, "replace image %s in %s: %m", info->name, s->path);
                return 0;
        }
        if (renameat2(s->fd, tmp->name, s->fd, info->name, RENAME_NOREPLACE) < 0)
                return coi_error_set(err, errno, "move image %s into %s: %m", info->name, s->path);
        free(TAKE_PTR(tmp->name));
        return 0;
}

static void import_done(struct import *im)
{
        free(im->architecture);
        free(im->format);
}

int image_import(struct image_store *s, const struct image_import_options *o, struct image_info **ret_info,
                 struct extract_stats *ret_stats, struct coi_error *err)
{
        if (!image_name_valid(o->name))
                return coi_error_set(err, EINVAL,
                                     "invalid image name \"%s\": use letters, digits, '.', '_' and '-', "
                                     "starting with a letter or digit, at most %d bytes",
                                     o->name, IMAGE_NAME_MAX);
        if (s->fd < 0)
                return coi_error_set(err, ENOENT, "image store %s does not exist", s->path);
        _cleanup_(import_done) struct import im = {
                .s = s, .o = o, .file_name = base_name(o->file), .tmpfd = -1
        };
        /* Owners only as root: without CAP_CHOWN every chown would fail. Capabilities in xattrs
         * need CAP_SETFCAP; refusals are counted, not fatal. */
        im.flags = EXTRACT_XATTRS | (o->flags & (EXTRACT_DEVICES | EXTRACT_SETID)) |
                   (geteuid() == 0 ? EXTRACT_OWNERS : 0);

        struct stat st;
        if (stat(o->file, &st) < 0)
                return coi_error_set(err, errno, "%s: %m", o->file);
        _cleanup_free_ char *source = realpath(o->file, NULL);
        if (!source)
                return coi_error_set(err, errno, "%s: %m", o->file);

        /* Cheap early refusal; checked again under the lock before the rename. */
        _cleanup_(image_info_freep) struct image_info *existing = NULL;
        struct coi_error ignored = { 0 };
        if (!o->force && image_lookup(s, o->name, &existing, &ignored) == 0)
                return streq(existing->name, o->name)
                               ? coi_error_set(err, EEXIST,
                                               "image %s already exists (use --force to replace it)", o->name)
                               : coi_error_set(
                                         err, EEXIST,
                                         "%s is already an alias of image %s (use --force to take it over)",
                                         o->name, existing->name);

        remove_stale_tmpdirs(s);
        _cleanup_free_ char *tmppath = xasprintf("%s/.tmp-XXXXXX", s->path);
        if (!tmppath || !mkdtemp(tmppath))
                return coi_error_set(err, tmppath ? errno : ENOMEM, "create temporary directory in %s: %m",
                                     s->path);
        _cleanup_(tmpdir_cleanup) struct tmpdir tmp = { .storefd = s->fd,
                                                        .name = strdup(base_name(tmppath)) };
        if (!tmp.name)
                return coi_error_set(err, ENOMEM, "%s: %m", tmppath);
        _cleanup_close_ int tmpfd = openat(s->fd, tmp.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (tmpfd < 0 || fchmod(tmpfd, 0755) < 0 || mkdirat(tmpfd, "rootfs", 0755) < 0)
                return coi_error_set(err, errno, "%s: %m", tmppath);
        im.tmpfd = tmpfd;
        _cleanup_close_ int rootfsfd = openat(tmpfd, "rootfs", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (rootfsfd < 0)
                return coi_error_set(err, errno, "%s/rootfs: %m", tmppath);

        int r = import_unpack(&im, S_ISDIR(st.st_mode), rootfsfd, err);
        if (r < 0)
                return r;
        /* the rootfs may have been replaced by the rearrangement */
        closep(&rootfsfd);
        rootfsfd = openat(tmpfd, "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (rootfsfd < 0)
                return coi_error_set(err, errno, "%s/rootfs: %m", tmppath);
        if (dir_is_empty(rootfsfd))
                return coi_error_set(err, EINVAL, "%s: the archive holds no files", o->file);
        _cleanup_(image_info_freep) struct image_info *info = calloc(1, sizeof(*info));
        if (!info)
                return coi_error_set(err, ENOMEM, "%s: %m", o->file);
        info->architecture = im.architecture ? TAKE_PTR(im.architecture) : rootfs_arch(rootfsfd);
        info->format = TAKE_PTR(im.format);
        info->name = strdup(o->name);
        info->source = TAKE_PTR(source);
        info->created = now_rfc3339();
        info->size = tree_size(rootfsfd);
        info->digest = strdup(im.digest);
        if (!info->name || !info->created || !info->digest || !info->architecture || !info->format)
                return coi_error_set(err, ENOMEM, "%s: %m", o->file);
        r = image_write_metadata(tmpfd, info, err);
        if (r < 0)
                return r;
        r = import_commit(&im, &tmp, info, err);
        if (r < 0)
                return r;
        if (ret_stats)
                *ret_stats = im.stats;
        if (ret_info)
                *ret_info = TAKE_PTR(info);
        return 0;
}

/* ---- delete, alias, export ---- */

int image_delete(struct image_store *s, const char *name, struct coi_error *err)
{
        _cleanup_(image_info_freep) struct image_info *info = NULL;
        int r = image_lookup(s, name, &info, err);
        if (r < 0)
                return r;
        _cleanup_close_ int lock = -1;
        r = store_lock(s, &lock, err);
        if (r < 0)
                return r;
        /* out of sight first, so a failure half-way never leaves half an image under its name */
        _cleanup_free_ char *gone = xasprintf(".tmp-delete-%s", info->name);
        if (!gone)
                return coi_error_set(err, ENOMEM, "delete image %s: %m", info->name);
        if (renameat(s->fd, info->name, s->fd, gone) < 0)
                return coi_error_set(err, errno, "delete image %s in %s: %m", info->name, s->path);
        r = remove_tree_at(s->fd, gone, err);
        return r < 0 ? coi_error_prefix(err, "delete image %s: ", info->name) : 0;
}

int image_alias_add(struct image_store *s, const char *name, const char *alias, struct coi_error *err)
{
        if (!image_name_valid(alias))
                return coi_error_set(err, EINVAL, "invalid alias \"%s\" (letters, digits, '.', '_', '-')",
                                     alias);
        _cleanup_close_ int lock = -1;
        int r = s->fd >= 0 ? store_lock(s, &lock, err) : 0;
        if (r < 0)
                return r;
        _cleanup_(image_info_freep) struct image_info *info = NULL;
        r = image_lookup(s, name, &info, err);
        if (r < 0)
                return r;
        _cleanup_(image_info_freep) struct image_info *other = NULL;
        struct coi_error ignored = { 0 };
        if (image_lookup(s, alias, &other, &ignored) == 0)
                return coi_error_set(err, EEXIST, "%s is already %s image %s", alias,
                                     streq(other->name, alias) ? "the name of" : "an alias of", other->name);
        r = strv_push(&info->aliases, alias);
        if (r < 0)
                return coi_error_set(err, ENOMEM, "image %s: %m", info->name);
        _cleanup_close_ int dfd = openat(s->fd, info->name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return coi_error_set(err, errno, "image %s: %m", info->name);
        return image_write_metadata(dfd, info, err);
}

int image_export(struct image_store *s, const char *name, const char *file, const char *compression,
                 extract_progress_fn progress, void *progress_data, struct coi_error *err)
{
        _cleanup_close_ int rootfsfd = -1;
        int r = image_rootfs_open(s, name, &rootfsfd, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *tmp = xasprintf("%s.tmp-XXXXXX", file);
        if (!tmp)
                return coi_error_set(err, ENOMEM, "%s: %m", file);
        _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return coi_error_set(err, errno, "%s: create a temporary file beside it: %m", file);
        r = archive_write_tree(rootfsfd, fd, compression, file, progress, progress_data, err);
        if (r >= 0 && (fchmod(fd, 0644) < 0 || fsync(fd) < 0))
                r = coi_error_set(err, errno, "%s: %m", file);
        if (r >= 0 && rename(tmp, file) < 0)
                r = coi_error_set(err, errno, "%s: %m", file);
        if (r < 0)
                unlink(tmp);
        return r;
}
