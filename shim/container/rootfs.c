/* rootfs.c — mounts and unmounts a system container's root: the image rootfs cloned with open_tree and
 * idmapped to the container's ids (lower), overlaid with the container's upper/work; machine-id, hostname
 * and its /etc/hosts line; rm -rf. */
#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "base/archive-io.h"
#include "rootfs.h"
#include "util.h"

int rootfs_userns_fd(const struct idmap_allocation *a, int *ret_fd, struct coi_error *err)
{
        struct coi_id_mapping uid = { 0, a->uid, IDMAP_RANGE_SIZE }, gid = { 0, a->gid, IDMAP_RANGE_SIZE };
        int r = coi_userns_fd(&uid, 1, &gid, 1, ret_fd, err);
        return r < 0 ? coi_error_prefix(err, "the idmapped rootfs: ") : 0;
}

bool rootfs_is_mounted(const char *path)
{
        struct statx stx;
        if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) < 0)
                return false;
        return (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
               (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

static int ensure_dir(const char *cdir, const char *name, mode_t mode, struct coi_error *err)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", cdir, name);
        if (!p)
                return coi_error_set(err, ENOMEM, "%s/%s: %m", cdir, name);
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return coi_error_set(err, errno, "mkdir %s: %m", p);
        return 0;
}

/* The idmapped clone of the image rootfs, attached at cdir/lower. */
static int mount_lower(const char *lower, int image_rootfs_fd, const struct idmap_allocation *a,
                       struct coi_error *err)
{
        _cleanup_close_ int userns = -1;
        int r = rootfs_userns_fd(a, &userns, err);
        if (r < 0)
                return r;
        _cleanup_close_ int tree =
                open_tree(image_rootfs_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
        if (tree < 0)
                return coi_error_set(err, errno, "clone the image rootfs mount for %s: %m", lower);
        /* The image is owned by real ids 0…; seen through this mount they are the container's block,
         * and writes through it would be shifted back. It is read-only anyway: the overlay is on top. */
        struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY,
                                   .userns_fd = (uint64_t)userns };
        if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
                return coi_error_set(err, errno, "idmap the image rootfs to %u:%u (%s): %m", a->uid, a->gid,
                                     lower);
        if (move_mount(tree, "", AT_FDCWD, lower, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return coi_error_set(err, errno, "attach the idmapped image rootfs at %s: %m", lower);
        return 0;
}

int rootfs_mount(const char *cdir, int image_rootfs_fd, const struct idmap_allocation *a,
                 struct coi_error *err)
{
        /* overlayfs splits its options on ',' and ':'; such a path can't be passed safely. */
        if (strpbrk(cdir, ",:\\"))
                return coi_error_set(err, EINVAL, "container directory %s: ',', ':' or '\\' in the path",
                                     cdir);
        int r = 0;
        r = r ?: ensure_dir(cdir, ROOTFS_LOWER, 0700, err);
        r = r ?: ensure_dir(cdir, ROOTFS_WORK, 0700, err);
        r = r ?: ensure_dir(cdir, ROOTFS_MOUNT, 0755, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *lower = xasprintf("%s/%s", cdir, ROOTFS_LOWER);
        _cleanup_free_ char *upper = xasprintf("%s/%s", cdir, ROOTFS_UPPER);
        _cleanup_free_ char *work = xasprintf("%s/%s", cdir, ROOTFS_WORK);
        _cleanup_free_ char *root = xasprintf("%s/%s", cdir, ROOTFS_MOUNT);
        if (!lower || !upper || !work || !root)
                return coi_error_set(err, ENOMEM, "rootfs of %s: %m", cdir);
        if (rootfs_is_mounted(root) || rootfs_is_mounted(lower))
                return coi_error_set(err, EBUSY, "%s is already mounted (is the container running?)", root);

        /* The overlay's root directory takes its owner and mode from upper/: the container's root. */
        struct stat st;
        if (fstat(image_rootfs_fd, &st) < 0)
                return coi_error_set(err, errno, "stat the image rootfs: %m");
        if (mkdir(upper, st.st_mode & 07777) < 0 && errno != EEXIST)
                return coi_error_set(err, errno, "mkdir %s: %m", upper);
        if (chown(upper, a->uid + st.st_uid, a->gid + st.st_gid) < 0)
                return coi_error_set(err, errno, "chown %s to %u:%u: %m", upper, a->uid, a->gid);

        r = mount_lower(lower, image_rootfs_fd, a, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *opts = xasprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
        if (!opts)
                r = coi_error_set(err, ENOMEM, "overlay options: %m");
        else if (mount("overlay", root, "overlay", MS_NODEV, opts) < 0)
                r = coi_error_set(err, errno, "mount the overlay at %s (%s): %m", root, opts);
        if (r < 0) {
                umount2(lower, MNT_DETACH);
                return r;
        }
        return 0;
}

static int unmount_one(const char *path, struct coi_error *err)
{
        if (!rootfs_is_mounted(path))
                return 0;
        if (umount2(path, UMOUNT_NOFOLLOW) == 0)
                return 0;
        /* Busy (a process of ours still has a file open there): detach; it goes when the last user does. */
        if (errno == EBUSY && umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
                return 0;
        return coi_error_set(err, errno, "unmount %s: %m", path);
}

int rootfs_unmount(const char *cdir, struct coi_error *err)
{
        _cleanup_free_ char *lower = xasprintf("%s/%s", cdir, ROOTFS_LOWER);
        _cleanup_free_ char *root = xasprintf("%s/%s", cdir, ROOTFS_MOUNT);
        if (!lower || !root)
                return coi_error_set(err, ENOMEM, "rootfs of %s: %m", cdir);
        /* Several layers may be stacked on a mount point after a crash between two launches. */
        for (int i = 0; i < 8 && rootfs_is_mounted(root); i++) {
                int r = unmount_one(root, err);
                if (r < 0)
                        return r;
        }
        for (int i = 0; i < 8 && rootfs_is_mounted(lower); i++) {
                int r = unmount_one(lower, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* upper/etc/NAME with content, owned by the container's root, unless upper/ has an entry of that name
 * already (written before, changed by the container, or a whiteout: the container deleted it). */
static int write_etc_file(const char *cdir, const struct idmap_allocation *a, const char *name,
                          const char *content, mode_t mode, struct coi_error *err)
{
        _cleanup_free_ char *etc = xasprintf("%s/%s/etc", cdir, ROOTFS_UPPER);
        if (!etc)
                return coi_error_set(err, ENOMEM, "/etc/%s: %m", name);
        if (mkdir(etc, 0755) == 0) {
                if (chown(etc, a->uid, a->gid) < 0)
                        return coi_error_set(err, errno, "chown %s: %m", etc);
        } else if (errno != EEXIST) {
                return coi_error_set(err, errno, "mkdir %s: %m", etc);
        }
        _cleanup_close_ int dirfd = open(etc, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dirfd < 0)
                return coi_error_set(err, errno, "open %s: %m", etc);
        struct stat st;
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
                return 0;
        _cleanup_free_ char *path = xasprintf("%s/%s", etc, name);
        if (!path)
                return coi_error_set(err, ENOMEM, "/etc/%s: %m", name);
        int r = write_file_atomic_at(AT_FDCWD, path, content, strlen(content), mode, err);
        if (r < 0)
                return r;
        if (chown(path, a->uid, a->gid) < 0)
                return coi_error_set(err, errno, "chown %s: %m", path);
        return 0;
}

int rootfs_write_machine_id(const char *cdir, const struct idmap_allocation *a, struct coi_error *err)
{
        uint8_t id[16];
        if (getrandom(id, sizeof(id), 0) != sizeof(id))
                return coi_error_set(err, errno ? errno : EIO, "getrandom for machine-id: %m");
        /* An RFC 4122 v4 UUID, written without dashes, as systemd-machine-id-setup does. */
        id[6] = (id[6] & 0x0f) | 0x40;
        id[8] = (id[8] & 0x3f) | 0x80;
        char text[34];
        for (size_t i = 0; i < sizeof(id); i++)
                snprintf(text + 2 * i, 3, "%02x", id[i]);
        text[32] = '\n';
        text[33] = '\0';
        return write_etc_file(cdir, a, "machine-id", text, 0444, err);
}

int rootfs_write_hostname(const char *cdir, const struct idmap_allocation *a, const char *hostname,
                          struct coi_error *err)
{
        _cleanup_free_ char *text = xasprintf("%s\n", hostname);
        if (!text)
                return coi_error_set(err, ENOMEM, "/etc/hostname: %m");
        return write_etc_file(cdir, a, "hostname", text, 0644, err);
}

/* Whether a hosts line (address, then names; a comment ends it) names name. */
static bool hosts_line_names(const char *line, size_t len, const char *name)
{
        size_t nl = strlen(name), i = 0;
        bool first = true;
        while (i < len && line[i] != '#') {
                while (i < len && (line[i] == ' ' || line[i] == '\t'))
                        i++;
                size_t start = i;
                while (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '#')
                        i++;
                if (i == start)
                        break;
                if (!first && i - start == nl && strncasecmp(line + start, name, nl) == 0)
                        return true;
                first = false;
        }
        return false;
}

char *rootfs_hosts_with_name(const char *text, const char *name)
{
        /* Debian's installer and Incus' image templates give the machine's own name the address 127.0.1.1
         * (127.0.0.1 stays localhost's): the one line coi manages. */
        static const char own[] = "127.0.1.1";
        size_t own_at = SIZE_MAX, own_len = 0;
        for (const char *line = text; *line;) {
                const char *end = strchrnul(line, '\n');
                size_t len = (size_t)(end - line);
                if (hosts_line_names(line, len, name))
                        return strdup(text);
                const char *p = line + strspn(line, " \t");
                if (own_at == SIZE_MAX && strncmp(p, own, sizeof(own) - 1) == 0 &&
                    (p[sizeof(own) - 1] == ' ' || p[sizeof(own) - 1] == '\t')) {
                        own_at = (size_t)(line - text);
                        own_len = len;
                }
                line = *end ? end + 1 : end;
        }
        if (own_at != SIZE_MAX) /* a copy of another container (a branch): the line names the old name */
                return xasprintf("%.*s%s\t%s%s", (int)own_at, text, own, name, text + own_at + own_len);
        size_t n = strlen(text);
        return xasprintf("%s%s%s\t%s\n", text, n && text[n - 1] != '\n' ? "\n" : "", own, name);
}

/* The regular file etc/hosts below dirfd (not following a link there), read; 0 with *ret NULL when there
 * is no entry, -EPERM when the entry is not a regular file (a link, a whiteout: left as it is). */
static int read_hosts(int etcfd, const char *what, char **ret, struct coi_error *err)
{
        *ret = NULL;
        struct stat st;
        if (fstatat(etcfd, "hosts", &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : coi_error_set(err, errno, "stat %s/etc/hosts: %m", what);
        if (!S_ISREG(st.st_mode))
                return -EPERM;
        size_t len = 0;
        return read_file_at(etcfd, "hosts", 1 << 20, ret, &len, err);
}

int rootfs_write_hosts(const char *cdir, const struct idmap_allocation *a, const char *hostname,
                       struct coi_error *err)
{
        _cleanup_free_ char *upper_etc = xasprintf("%s/%s/etc", cdir, ROOTFS_UPPER);
        _cleanup_free_ char *lower = xasprintf("%s/%s", cdir, ROOTFS_LOWER);
        if (!upper_etc || !lower)
                return coi_error_set(err, ENOMEM, "/etc/hosts: %m");
        /* Read from upper/, else from the image (lower/), never through the overlay: a file looked up
         * there and then replaced in upper/ could stay cached as the image's. */
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int upfd = open(upper_etc, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        int r = upfd >= 0 ? read_hosts(upfd, upper_etc, &text, err) : 0;
        if (r < 0)
                return r == -EPERM ? 0 : r;
        if (!text) {
                _cleanup_close_ int lowerfd = open(lower, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (lowerfd < 0)
                        return coi_error_set(err, errno, "open %s: %m", lower);
                _cleanup_close_ int etcfd = openat2_in_root(lowerfd, "/etc", O_PATH | O_DIRECTORY);
                r = etcfd >= 0 ? read_hosts(etcfd, "the image", &text, err) : 0;
                if (r < 0)
                        return r == -EPERM ? 0 : r;
        }
        _cleanup_free_ char *updated = rootfs_hosts_with_name(
                text ? text : "127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n",
                hostname);
        if (!updated)
                return coi_error_set(err, ENOMEM, "/etc/hosts: %m");
        if (text && streq(updated, text))
                return 0;
        /* upper/etc exists now (machine-id and hostname are written first). */
        _cleanup_free_ char *path = xasprintf("%s/hosts", upper_etc);
        if (!path)
                return coi_error_set(err, ENOMEM, "/etc/hosts: %m");
        r = write_file_atomic_at(AT_FDCWD, path, updated, strlen(updated), 0644, err);
        if (r < 0)
                return r;
        if (chown(path, a->uid, a->gid) < 0)
                return coi_error_set(err, errno, "chown %s: %m", path);
        return 0;
}

int rootfs_remove_tree_at(int dirfd, const char *name, const char *what, struct coi_error *err)
{
        /* A bind mount on the same device is invisible to remove_tree_named's device check. */
        struct stat st;
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) &&
            rootfs_is_mounted(what))
                return coi_error_set(err, EBUSY, "not removing %s: it is a mount point", what);
        return remove_tree_named(dirfd, name, what, err);
}
