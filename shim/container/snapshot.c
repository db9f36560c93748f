/* snapshot.c — container snapshots: metadata.json and the layer copy (snapshot-copy.c) under
 * containers/NAME/snapshots/, taken under the container's lock; restore, branch, delete, JSON. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "json-util.h"
#include "rootfs.h"
#include "snapshot-copy.h"
#include "snapshot.h"
#include "util.h"

#define SNAPSHOT_METADATA "metadata.json"

static int open_dir_at(int dirfd, const char *name)
{
        return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* ---- names --------------------------------------------------------------------------------------- */

int snapshot_validate_name(const char *name, struct coi_error *err)
{
        size_t len = strlen(name);
        bool ok = len > 0 && len <= SNAPSHOT_NAME_MAX && name[0] != '.' && name[0] != '-';
        for (size_t i = 0; ok && i < len; i++) {
                char c = name[i];
                ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                     c == '_' || c == '.';
        }
        if (!ok)
                return coi_error_set(
                        err, EINVAL,
                        "invalid snapshot name \"%s\": use letters, digits, '.', '_' and '-' (not "
                        "'.' or '-' first), at most %d characters",
                        name, SNAPSHOT_NAME_MAX);
        return 0;
}

void snapshot_default_name(char buf[32])
{
        time_t t = time(NULL);
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(buf, 32, "snap-%Y%m%d-%H%M%S", &tm);
}

void snapshot_info_free(struct snapshot_info *info)
{
        if (!info)
                return;
        free(info->name);
        free(info->container);
        free(info->created_at);
        free(info);
}

void snapshot_info_list_free(struct snapshot_info **list)
{
        for (size_t i = 0; list && list[i]; i++)
                snapshot_info_free(list[i]);
        free(list);
}

/* ---- metadata.json ------------------------------------------------------------------------------- */

/* A generator for indented JSON; NULL when out of memory (gen_finish then reports it). */
static yajl_gen gen_new(void)
{
        yajl_gen g = yajl_gen_alloc(NULL);
        if (g)
                yajl_gen_config(g, yajl_gen_beautify, 1);
        return g;
}

static int gen_finish(yajl_gen g, bool ok, char **ret, struct coi_error *err)
{
        const unsigned char *buf;
        size_t len;
        if (!g || !ok || yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
                return coi_error_set(err, ENOMEM, "snapshot JSON: %m");
        *ret = strndup((const char *)buf, len);
        return *ret ? 0 : coi_error_set(err, ENOMEM, "snapshot JSON: %m");
}

/* stored: the file's form (with the ids); otherwise the form `--format json` prints. */
static bool gen_snapshot(yajl_gen g, const struct snapshot_info *i, bool stored)
{
        bool ok = yajl_gen_map_open(g) == yajl_gen_status_ok && json_gen_str(g, "name") &&
                  json_gen_str(g, i->name) && json_gen_str(g, "created_at") &&
                  json_gen_str(g, i->created_at) && json_gen_str(g, "stateful") &&
                  yajl_gen_bool(g, i->stateful) == yajl_gen_status_ok && json_gen_str(g, "size") &&
                  yajl_gen_integer(g, (long long)i->size) == yajl_gen_status_ok;
        if (stored)
                ok = ok && json_gen_str(g, "container") && json_gen_str(g, i->container) &&
                     json_gen_str(g, "uid") && yajl_gen_integer(g, i->ids.uid) == yajl_gen_status_ok &&
                     json_gen_str(g, "gid") && yajl_gen_integer(g, i->ids.gid) == yajl_gen_status_ok;
        return ok && yajl_gen_map_close(g) == yajl_gen_status_ok;
}

static int metadata_write(int dirfd, const struct snapshot_info *i, struct coi_error *err)
{
        _cleanup_(yajl_gen_freep) yajl_gen g = gen_new();
        _cleanup_free_ char *json = NULL;
        int r = gen_finish(g, g && gen_snapshot(g, i, true), &json, err);
        if (r < 0)
                return coi_error_prefix(err, "metadata of snapshot %s: ", i->name);
        return write_file_atomic_at(dirfd, SNAPSHOT_METADATA, json, strlen(json), 0600, err);
}

static int metadata_read(int snapsfd, const char *container, const char *name, struct snapshot_info **ret,
                         struct coi_error *err)
{
        _cleanup_free_ char *path = xasprintf("%s/%s", name, SNAPSHOT_METADATA);
        _cleanup_free_ char *data = NULL;
        if (!path)
                return coi_error_set(err, ENOMEM, "snapshot %s: %m", name);
        struct stat st;
        if (snapsfd < 0 || fstatat(snapsfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
                return coi_error_set(err, ENOENT, "snapshot '%s' not found for container '%s'", name,
                                     container);
        int r = read_file_at(snapsfd, path, 1 << 20, &data, NULL, err);
        if (r < 0)
                return coi_error_prefix(err, "snapshot '%s' of container '%s': ", name, container);
        _cleanup_(yajl_tree_freep) yajl_val root = NULL;
        r = json_parse(data, yajl_t_object, SNAPSHOT_METADATA, &root, err);
        if (r < 0)
                return coi_error_prefix(err, "snapshot '%s' of container '%s': ", name, container);
        _cleanup_(snapshot_info_freep) struct snapshot_info *i = calloc(1, sizeof(*i));
        if (!i)
                return coi_error_set(err, ENOMEM, "snapshot %s: %m", name);
        yajl_val created = json_member(root, "created_at", yajl_t_string);
        yajl_val sf = json_member(root, "stateful", yajl_t_any);
        long long uid = json_int(root, "uid", -1), gid = json_int(root, "gid", -1);
        long long size = json_int(root, "size", 0);
        i->name = strdup(name);
        i->container = strdup(container);
        i->created_at = strdup(created ? created->u.string : "");
        i->stateful = sf && YAJL_IS_TRUE(sf);
        i->size = size > 0 ? (uint64_t)size : 0;
        if (!i->name || !i->container || !i->created_at)
                return coi_error_set(err, ENOMEM, "snapshot %s: %m", name);
        if (uid < 0 || gid < 0 || uid > UINT32_MAX || gid > UINT32_MAX)
                return coi_error_set(err, EINVAL, "snapshot '%s' of container '%s': no valid uid/gid in %s",
                                     name, container, SNAPSHOT_METADATA);
        i->ids = (struct idmap_allocation){ (uint32_t)uid, (uint32_t)gid };
        *ret = TAKE_PTR(i);
        return 0;
}

/* ---- the container side -------------------------------------------------------------------------- */

/* The container's directory, locked (container_lock: one operation at a time), its metadata, and its
 * snapshots/ directory (-1 when it has none and create is not set). */
struct target {
        int dirfd;
        int snapsfd;
        struct container_info *info;
};

static void target_done(struct target *t)
{
        closep(&t->dirfd);
        closep(&t->snapsfd);
        container_info_free(t->info);
}

static int target_open(struct container_store *s, const char *container, bool create, struct target *t,
                       struct coi_error *err)
{
        *t = (struct target){ .dirfd = -1, .snapsfd = -1 };
        int r = container_validate_name(container, err);
        r = r ?: container_lock(s, container, &t->dirfd, err);
        /* Read under the lock: the status cannot change while we hold it. */
        r = r ?: container_info_get(s, container, &t->info, err);
        if (r == -ENOENT) /* no directory, or no metadata.json (an interrupted launch) */
                return coi_error_set(err, ENOENT, "container '%s' not found", container);
        if (r < 0)
                return r;
        if (create && mkdirat(t->dirfd, SNAPSHOT_DIR, 0700) < 0 && errno != EEXIST)
                return coi_error_set(err, errno, "mkdir %s/%s: %m", t->info->dir, SNAPSHOT_DIR);
        t->snapsfd = open_dir_at(t->dirfd, SNAPSHOT_DIR);
        if (t->snapsfd < 0 && errno != ENOENT)
                return coi_error_set(err, errno, "open %s/%s: %m", t->info->dir, SNAPSHOT_DIR);
        return 0;
}

/* The opening of an operation on an existing snapshot: a valid name, the container locked (t, which
 * target_done may always be called on), the snapshot's metadata, and (ret_fd optional) its directory. */
static int target_open_snapshot(struct container_store *s, const char *container, const char *name,
                                struct target *t, struct snapshot_info **ret, int *ret_fd,
                                struct coi_error *err)
{
        *t = (struct target){ .dirfd = -1, .snapsfd = -1 };
        _cleanup_(snapshot_info_freep) struct snapshot_info *i = NULL;
        int r = snapshot_validate_name(name, err);
        r = r ?: target_open(s, container, false, t, err);
        r = r ?: metadata_read(t->snapsfd, container, name, &i, err);
        if (r < 0)
                return r;
        if (ret_fd) {
                *ret_fd = open_dir_at(t->snapsfd, name);
                if (*ret_fd < 0)
                        return coi_error_set(err, errno, "open snapshot '%s' of '%s': %m", name, container);
        }
        *ret = TAKE_PTR(i);
        return 0;
}

static void rfc3339_now(char *buf, size_t size)
{
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Fills the new snapshot's directory dirfd: a copy of upper/ (a running container frozen for it, so it
 * holds one moment, not a smear), then metadata.json. */
static int snapshot_fill(struct container_store *s, const struct target *t, const char *name, int dirfd,
                         struct coi_error *err)
{
        const char *container = t->info->name;
        char created[32];
        rfc3339_now(created, sizeof(created));
        struct snapshot_info i = { .name = (char *)name,
                                   .container = (char *)container,
                                   .created_at = created,
                                   .ids = t->info->ids };
        bool thaw = streq(t->info->status, "running");
        if (thaw && container_freeze(s, container, err) < 0)
                return coi_error_prefix(err, "snapshot of %s: ", container);
        int r = 0;
        struct stat st;
        if (fstatat(t->dirfd, ROOTFS_UPPER, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) {
                /* Never started: an empty layer. */
                if (mkdirat(dirfd, ROOTFS_UPPER, 0755) < 0 ||
                    fchownat(dirfd, ROOTFS_UPPER, i.ids.uid, i.ids.gid, AT_SYMLINK_NOFOLLOW) < 0)
                        r = coi_error_set(err, errno, "snapshot of %s: empty upper: %m", container);
        } else {
                r = snapshot_copy_tree(t->dirfd, ROOTFS_UPPER, dirfd, ROOTFS_UPPER, &i.ids, &i.ids, &i.size,
                                       err);
        }
        struct coi_error e = { 0 };
        if (thaw && container_unfreeze(s, container, &e) < 0 && r == 0)
                r = coi_error_set(err, e.code, "snapshot taken, but %s", e.msg);
        return r ?: metadata_write(dirfd, &i, err);
}

/* ---- operations ---------------------------------------------------------------------------------- */

int snapshot_create(struct container_store *s, const char *container, const char *name,
                    struct snapshot_info **ret, struct coi_error *err)
{
        int r = snapshot_validate_name(name, err);
        if (r < 0)
                return r;
        _cleanup_(target_done) struct target t;
        r = target_open(s, container, true, &t, err);
        if (r < 0)
                return r;
        struct stat st;
        if (fstatat(t.snapsfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
                return coi_error_set(err, EEXIST, "snapshot '%s' already exists for container '%s'", name,
                                     container);
        /* Built under a hidden name and renamed into place once complete: list never shows half of one. */
        _cleanup_free_ char *tmp = xasprintf(".tmp-%s", name);
        if (!tmp)
                return coi_error_set(err, ENOMEM, "snapshot %s: %m", name);
        r = rootfs_remove_tree_at(t.snapsfd, tmp, tmp, err); /* debris of an interrupted create */
        if (r < 0)
                return r;
        if (mkdirat(t.snapsfd, tmp, 0700) < 0)
                return coi_error_set(err, errno, "mkdir snapshot %s of %s: %m", name, container);
        _cleanup_close_ int tfd = open_dir_at(t.snapsfd, tmp);
        if (tfd < 0)
                r = coi_error_set(err, errno, "open snapshot %s of %s: %m", name, container);
        r = r ?: snapshot_fill(s, &t, name, tfd, err);
        if (r == 0 && renameat(t.snapsfd, tmp, t.snapsfd, name) < 0)
                r = coi_error_set(err, errno, "rename snapshot %s of %s into place: %m", name, container);
        if (r < 0) {
                struct coi_error e = { 0 };
                rootfs_remove_tree_at(t.snapsfd, tmp, tmp, &e);
                return r;
        }
        return ret ? metadata_read(t.snapsfd, container, name, ret, err) : 0;
}

static int compare_snapshots(const void *a, const void *b)
{
        const struct snapshot_info *x = *(struct snapshot_info *const *)a,
                                   *y = *(struct snapshot_info *const *)b;
        int c = strcmp(x->created_at, y->created_at);
        return c ? c : strcmp(x->name, y->name);
}

int snapshot_list(struct container_store *s, const char *container, struct snapshot_info ***ret,
                  struct coi_error *err)
{
        _cleanup_(target_done) struct target t;
        int r = target_open(s, container, false, &t, err);
        if (r < 0)
                return r;
        struct snapshot_info **list = calloc(1, sizeof(*list));
        if (!list)
                return coi_error_set(err, ENOMEM, "snapshots of %s: %m", container);
        size_t n = 0;
        int fd = t.snapsfd >= 0 ? fcntl(t.snapsfd, F_DUPFD_CLOEXEC, 3) : -1;
        _cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (fd >= 0 && !d)
                close(fd);
        struct dirent *de;
        while (d && (de = readdir(d))) {
                struct snapshot_info *i = NULL;
                struct coi_error e = { 0 };
                if (de->d_name[0] == '.' || snapshot_validate_name(de->d_name, NULL) < 0 ||
                    metadata_read(t.snapsfd, container, de->d_name, &i, &e) < 0)
                        continue; /* a create in progress or interrupted */
                struct snapshot_info **grown = realloc(list, (n + 2) * sizeof(*list));
                if (!grown) {
                        snapshot_info_free(i);
                        snapshot_info_list_free(list);
                        return coi_error_set(err, ENOMEM, "snapshots of %s: %m", container);
                }
                list = grown;
                list[n++] = i;
                list[n] = NULL;
        }
        qsort(list, n, sizeof(*list), compare_snapshots);
        *ret = list;
        return 0;
}

int snapshot_get(struct container_store *s, const char *container, const char *name,
                 struct snapshot_info **ret, struct coi_error *err)
{
        _cleanup_(target_done) struct target t;
        return target_open_snapshot(s, container, name, &t, ret, NULL, err);
}

int snapshot_restore(struct container_store *s, const char *container, const char *name,
                     struct coi_error *err)
{
        _cleanup_(target_done) struct target t;
        _cleanup_(snapshot_info_freep) struct snapshot_info *i = NULL;
        _cleanup_close_ int sfd = -1;
        int r = target_open_snapshot(s, container, name, &t, &i, &sfd, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *rootfs = xasprintf("%s/%s", t.info->dir, ROOTFS_MOUNT);
        if (!rootfs)
                return coi_error_set(err, ENOMEM, "restore %s: %m", container);
        if (!streq(t.info->status, "stopped") || rootfs_is_mounted(rootfs))
                return coi_error_set(
                        err, EBUSY,
                        "container '%s' must be stopped before restore (use 'coi container stop %s')",
                        container, container);
        /* Built beside the live layer, then swapped in with one rename: an interruption leaves either
         * the old layer or the restored one, never a mix. */
        static const char next[] = ROOTFS_UPPER ".restore";
        r = rootfs_remove_tree_at(t.dirfd, next, next, err);
        r = r ?: snapshot_copy_tree(sfd, ROOTFS_UPPER, t.dirfd, next, &i->ids, &t.info->ids, NULL, err);
        if (r < 0)
                return coi_error_prefix(err, "restore %s from %s: ", container, name);
        if (renameat2(t.dirfd, next, t.dirfd, ROOTFS_UPPER, RENAME_EXCHANGE) < 0) {
                if (errno != ENOENT || renameat(t.dirfd, next, t.dirfd, ROOTFS_UPPER) < 0) {
                        r = coi_error_set(err, errno, "restore %s: swap in the restored layer: %m",
                                          container);
                        struct coi_error e = { 0 };
                        rootfs_remove_tree_at(t.dirfd, next, next, &e);
                        return r;
                }
        }
        /* The replaced layer, and overlayfs' work directory (it belongs to the old layer). */
        r = rootfs_remove_tree_at(t.dirfd, next, next, err);
        return r ?: rootfs_remove_tree_at(t.dirfd, ROOTFS_WORK, ROOTFS_WORK, err);
}

int snapshot_delete(struct container_store *s, const char *container, const char *name, struct coi_error *err)
{
        _cleanup_(target_done) struct target t;
        _cleanup_(snapshot_info_freep) struct snapshot_info *i = NULL;
        int r = target_open_snapshot(s, container, name, &t, &i, NULL, err);
        return r ?: rootfs_remove_tree_at(t.snapsfd, name, name, err);
}

struct branch {
        int snapfd;
        const struct snapshot_info *snap;
};

/* Files start writes once, per container: the branch gets its own at its first start. */
static int drop_identity(int upperfd, const char *what, struct coi_error *err)
{
        _cleanup_close_ int etc = open_dir_at(upperfd, "etc");
        if (etc < 0)
                return 0;
        static const char *const files[] = { "machine-id", "hostname" };
        for (size_t k = 0; k < ELEMENTSOF(files); k++) {
                struct stat st;
                if (fstatat(etc, files[k], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
                    unlinkat(etc, files[k], 0) < 0)
                        return coi_error_set(err, errno, "%s: remove /etc/%s: %m", what, files[k]);
        }
        return 0;
}

static int branch_populate(const char *dir, const struct idmap_allocation *ids, void *userdata,
                           struct coi_error *err)
{
        const struct branch *b = userdata;
        _cleanup_close_ int dfd = open_dir_at(AT_FDCWD, dir);
        if (dfd < 0)
                return coi_error_set(err, errno, "open %s: %m", dir);
        int r = snapshot_copy_tree(b->snapfd, ROOTFS_UPPER, dfd, ROOTFS_UPPER, &b->snap->ids, ids, NULL, err);
        if (r < 0)
                return r;
        _cleanup_close_ int upper = open_dir_at(dfd, ROOTFS_UPPER);
        if (upper < 0)
                return coi_error_set(err, errno, "open %s/%s: %m", dir, ROOTFS_UPPER);
        return drop_identity(upper, dir, err);
}

int snapshot_branch(struct container_store *s, const char *container, const char *name, const char *new_name,
                    struct coi_error *err)
{
        _cleanup_(target_done) struct target t = { .dirfd = -1, .snapsfd = -1 };
        _cleanup_(snapshot_info_freep) struct snapshot_info *i = NULL;
        _cleanup_close_ int sfd = -1;
        int r = snapshot_validate_name(name, err);
        r = r ?: container_validate_name(new_name, err);
        r = r ?: target_open_snapshot(s, container, name, &t, &i, &sfd, err);
        if (r < 0)
                return r;
        struct branch b = { .snapfd = sfd, .snap = i };
        return container_create_stopped(s, t.info->image, new_name, branch_populate, &b, err);
}

/* ---- JSON output --------------------------------------------------------------------------------- */

int snapshot_json(const struct snapshot_info *info, const char *container, char **ret, struct coi_error *err)
{
        _cleanup_(yajl_gen_freep) yajl_gen g = gen_new();
        bool ok = g && yajl_gen_map_open(g) == yajl_gen_status_ok && json_gen_str(g, "container") &&
                  json_gen_str(g, container) && json_gen_str(g, "snapshot") && gen_snapshot(g, info, false) &&
                  yajl_gen_map_close(g) == yajl_gen_status_ok;
        return gen_finish(g, ok, ret, err);
}

static bool gen_array(yajl_gen g, struct snapshot_info *const *list)
{
        bool ok = yajl_gen_array_open(g) == yajl_gen_status_ok;
        for (size_t k = 0; ok && list && list[k]; k++)
                ok = gen_snapshot(g, list[k], false);
        return ok && yajl_gen_array_close(g) == yajl_gen_status_ok;
}

int snapshot_list_json(const char *container, struct snapshot_info *const *list, char **ret,
                       struct coi_error *err)
{
        _cleanup_(yajl_gen_freep) yajl_gen g = gen_new();
        bool ok = g && yajl_gen_map_open(g) == yajl_gen_status_ok && json_gen_str(g, "container") &&
                  json_gen_str(g, container) && json_gen_str(g, "snapshots") && gen_array(g, list) &&
                  yajl_gen_map_close(g) == yajl_gen_status_ok;
        return gen_finish(g, ok, ret, err);
}

int snapshot_all_json(char *const *containers, struct snapshot_info **const *lists, char **ret,
                      struct coi_error *err)
{
        _cleanup_(yajl_gen_freep) yajl_gen g = gen_new();
        bool ok = g && yajl_gen_map_open(g) == yajl_gen_status_ok;
        for (size_t k = 0; ok && containers && containers[k]; k++)
                ok = json_gen_str(g, containers[k]) && gen_array(g, lists[k]);
        ok = ok && yajl_gen_map_close(g) == yajl_gen_status_ok;
        return gen_finish(g, ok, ret, err);
}
