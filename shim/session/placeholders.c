/* placeholders.c — the protected paths' placeholders coi creates in a workspace, recorded in the data
 * directory before they exist, so that a session killed before its own removal leaves `coi clean` a list. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "placeholders.h"
#include "slots.h"
#include "util.h"
#include "workspace.h"

#define PLACEHOLDERS_DIR "placeholders"

static bool valid_hash(const char *h)
{
        size_t n = 0;
        for (; h[n]; n++)
                if (!((h[n] >= '0' && h[n] <= '9') || (h[n] >= 'a' && h[n] <= 'f')))
                        return false;
        return n == 8;
}

static int record_dir(struct container_store *store, bool create, struct coi_error *err)
{
        _cleanup_free_ char *dir = xasprintf("%s/" PLACEHOLDERS_DIR, container_store_path(store));
        if (!dir)
                return coi_error_set(err, ENOMEM, "placeholders: %m");
        if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
                return coi_error_set(err, errno, "mkdir %s: %m", dir);
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return coi_error_set(err, errno, "open %s: %m", dir);
        return fd;
}

int placeholder_note(struct container_store *store, const char *ws_hash, const char *path,
                     struct coi_error *err)
{
        _cleanup_close_ int dfd = record_dir(store, true, err);
        if (dfd < 0)
                return dfd;
        _cleanup_close_ int fd =
                openat(dfd, ws_hash, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return coi_error_set(err, errno, "open %s/" PLACEHOLDERS_DIR "/%s: %m",
                                     container_store_path(store), ws_hash);
        _cleanup_free_ char *line = xasprintf("%s\n", path);
        if (!line)
                return coi_error_set(err, ENOMEM, "placeholders: %m");
        size_t len = strlen(line);
        ssize_t n = write(fd, line, len);
        if (n != (ssize_t)len)
                return coi_error_set(err, n < 0 ? errno : EIO, "write %s/" PLACEHOLDERS_DIR "/%s: %m",
                                     container_store_path(store), ws_hash);
        return 0;
}

void placeholder_remove_if_empty(const char *path)
{
        struct stat st;
        if (lstat(path, &st) < 0)
                return;
        if (S_ISREG(st.st_mode)) {
                if (st.st_size == 0)
                        unlink(path);
                return;
        }
        if (!S_ISDIR(st.st_mode))
                return;
        _cleanup_closedir_ DIR *d = opendir(path);
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *sub = xasprintf("%s/%s", path, de->d_name);
                if (sub)
                        placeholder_remove_if_empty(sub);
        }
        rmdir(path); /* fails (kept) if anything is left */
}

static void release_at(int dfd, const char *ws_hash)
{
        _cleanup_free_ char *data = NULL;
        struct coi_error e = { 0 };
        if (read_file_at(dfd, ws_hash, 0, &data, NULL, &e) < 0)
                return;
        for (char *line = data, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                if (line[0] == '/')
                        placeholder_remove_if_empty(line);
        }
        unlinkat(dfd, ws_hash, 0);
}

void placeholders_release(struct container_store *store, const char *ws_hash)
{
        struct coi_error e = { 0 };
        _cleanup_close_ int dfd = record_dir(store, false, &e);
        if (dfd >= 0)
                release_at(dfd, ws_hash);
}

static bool workspace_in_use(struct container_store *store, const char *ws_hash)
{
        for (int slot = 1; slot <= SLOT_MAX; slot++) {
                _cleanup_free_ char *name =
                        xasprintf("%s%s-%d", workspace_container_prefix(NULL), ws_hash, slot);
                _cleanup_(container_info_freep) struct container_info *info = NULL;
                struct coi_error e = { 0 };
                if (!name)
                        return true;
                int r = container_info_get(store, name, &info, &e);
                if (r == -ENOENT)
                        continue;
                if (r < 0 || !streq(info->status, "stopped"))
                        return true; /* running, or unknown: keep the placeholders */
        }
        return false;
}

int placeholders_orphans(struct container_store *store, char ***ret, struct coi_error *err)
{
        *ret = NULL;
        int dfd = record_dir(store, false, err);
        if (dfd == -ENOENT)
                return 0;
        if (dfd < 0)
                return dfd;
        _cleanup_closedir_ DIR *d = fdopendir(dfd);
        if (!d) {
                int r = coi_error_set(err, errno, "open %s/" PLACEHOLDERS_DIR ": %m",
                                      container_store_path(store));
                close(dfd);
                return r;
        }
        _cleanup_strv_ char **hashes = NULL;
        struct dirent *de;
        while ((de = readdir(d)))
                if (valid_hash(de->d_name) && !workspace_in_use(store, de->d_name) &&
                    strv_push(&hashes, de->d_name) < 0)
                        return coi_error_set(err, ENOMEM, "placeholders: %m");
        *ret = TAKE_PTR(hashes);
        return 0;
}
