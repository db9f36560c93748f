/* remove-tree.c — rm -rf by fd (remove_tree_at, remove_tree_named): never following symlinks, never
 * crossing into another mount, with a bounded number of fds however deep the tree is. */
#include <dirent.h>
#include <sys/stat.h>

#include "archive-io.h"
#include "util.h"

/* One directory on the way down from the top: its name in its parent and who it is, to check that
 * ".." leads back to the parent we came from. */
struct rm_level {
        char *name;
        dev_t dev;
        ino_t ino;
};

struct rm_walk {
        const char *top; /* how messages name the top directory */
        struct rm_level *v;
        size_t n, cap;
};

static void rm_walk_done(struct rm_walk *w)
{
        for (size_t i = 0; i < w->n; i++)
                free(w->v[i].name);
        free(w->v);
}

/* "top/a/b/leaf" (leaf may be NULL), cut to what fits in a message. */
static const char *rm_shown(const struct rm_walk *w, const char *leaf, char *buf, size_t size)
{
        size_t o = (size_t)snprintf(buf, size, "%s", w->top);
        for (size_t i = 1; i <= w->n && o < size; i++) {
                const char *c = i < w->n ? w->v[i].name : leaf;
                if (c)
                        o += (size_t)snprintf(buf + o, size - o, "/%s", c);
        }
        return buf;
}

static int rm_push(struct rm_walk *w, const char *name, const struct stat *st)
{
        if (w->n == w->cap) {
                size_t cap = w->cap ? 2 * w->cap : 16;
                struct rm_level *v = reallocarray(w->v, cap, sizeof(*v));
                if (!v)
                        return -ENOMEM;
                w->v = v;
                w->cap = cap;
        }
        char *copy = strdup(name);
        if (!copy)
                return -ENOMEM;
        w->v[w->n++] = (struct rm_level){ .name = copy, .dev = st->st_dev, .ino = st->st_ino };
        return 0;
}

/* Opens directory name in dirfd without following symlinks; it must still be what fstatat saw. */
static int rm_open_dir(int dirfd, const char *name, const struct stat *want)
{
        int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        if (st.st_dev != want->st_dev || st.st_ino != want->st_ino) {
                close(fd);
                return -ESTALE; /* replaced between fstatat and openat */
        }
        return fd;
}

/* Removes what is in *cur until it is empty (0) or a subdirectory to descend into is open in *cur
 * (1, pushed onto w). Non-directories go at once. */
static int rm_scan(struct rm_walk *w, int *cur, struct coi_error *err)
{
        char buf[1024];
        int fd = openat(*cur, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* reads from the start */
        _cleanup_closedir_ DIR *d = fd < 0 ? NULL : fdopendir(fd);
        if (!d) {
                int e = errno;
                if (fd >= 0)
                        close(fd);
                errno = e;
                return coi_error_set(err, errno, "read directory %s: %m",
                                     rm_shown(w, NULL, buf, sizeof(buf)));
        }
        struct dirent *de;
        while ((errno = 0, de = readdir(d))) {
                struct stat st;
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (fstatat(*cur, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                continue;
                        return coi_error_set(err, errno, "stat %s: %m",
                                             rm_shown(w, de->d_name, buf, sizeof(buf)));
                }
                if (!S_ISDIR(st.st_mode)) {
                        if (unlinkat(*cur, de->d_name, 0) < 0 && errno != ENOENT)
                                return coi_error_set(err, errno, "remove %s: %m",
                                                     rm_shown(w, de->d_name, buf, sizeof(buf)));
                        continue;
                }
                if (st.st_dev != w->v[w->n - 1].dev)
                        return coi_error_set(err, EBUSY, "not removing %s: something is mounted there",
                                             rm_shown(w, de->d_name, buf, sizeof(buf)));
                int sub = rm_open_dir(*cur, de->d_name, &st);
                if (sub < 0)
                        return coi_error_set(err, -sub, "open %s: %s",
                                             rm_shown(w, de->d_name, buf, sizeof(buf)), strerror(-sub));
                if (rm_push(w, de->d_name, &st) < 0) {
                        close(sub);
                        return coi_error_set(err, ENOMEM, "remove %s: %m",
                                             rm_shown(w, NULL, buf, sizeof(buf)));
                }
                close(*cur);
                *cur = sub;
                return 1;
        }
        if (errno != 0)
                return coi_error_set(err, errno, "read directory %s: %m",
                                     rm_shown(w, NULL, buf, sizeof(buf)));
        return 0;
}

/* rm -rf dirfd/name, shown as `shown`. Depth-first without recursion and with two fds at most, however
 * deep the tree (a container can nest directories far beyond PATH_MAX or RLIMIT_NOFILE levels): down
 * by name, back up through "..", which must be the directory we came from. A directory is re-read
 * from its start after each subdirectory, which is then gone. */
static int remove_entry(int dirfd, const char *name, const char *shown, struct coi_error *err)
{
        struct stat st, up;
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : coi_error_set(err, errno, "stat %s: %m", shown);
        if (!S_ISDIR(st.st_mode)) {
                if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
                        return coi_error_set(err, errno, "remove %s: %m", shown);
                return 0;
        }
        if (fstat(dirfd, &up) < 0)
                return coi_error_set(err, errno, "stat the parent of %s: %m", shown);
        if (up.st_dev != st.st_dev)
                return coi_error_set(err, EBUSY, "not removing %s: something is mounted there", shown);

        _cleanup_(rm_walk_done) struct rm_walk w = { .top = shown };
        if (rm_push(&w, name, &st) < 0)
                return coi_error_set(err, ENOMEM, "remove %s: %m", shown);
        _cleanup_close_ int cur = rm_open_dir(dirfd, name, &st);
        if (cur < 0)
                return coi_error_set(err, -cur, "open %s: %s", shown, strerror(-cur));
        char buf[1024];
        for (;;) {
                int r = rm_scan(&w, &cur, err);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                if (w.n == 1)
                        break;
                /* cur is empty: up to its parent, remove it there */
                int parent = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (parent < 0)
                        return coi_error_set(err, errno, "open the parent of %s: %m",
                                             rm_shown(&w, NULL, buf, sizeof(buf)));
                closep(&cur);
                cur = parent;
                const struct rm_level *p = &w.v[w.n - 2];
                if (fstat(cur, &st) < 0 || st.st_dev != p->dev || st.st_ino != p->ino)
                        return coi_error_set(err, ESTALE, "remove %s: moved while being removed",
                                             rm_shown(&w, NULL, buf, sizeof(buf)));
                if (unlinkat(cur, w.v[w.n - 1].name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                        return coi_error_set(err, errno, "remove directory %s: %m",
                                             rm_shown(&w, NULL, buf, sizeof(buf)));
                free(w.v[--w.n].name);
        }
        closep(&cur);
        if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return coi_error_set(err, errno, "remove directory %s: %m", shown);
        return 0;
}

int remove_tree_at(int dirfd, const char *name, struct coi_error *err)
{
        return remove_entry(dirfd, name, name, err);
}

int remove_tree_named(int dirfd, const char *name, const char *what, struct coi_error *err)
{
        return remove_entry(dirfd, name, what, err);
}
