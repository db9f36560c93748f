/* container-store.c — the data directory of coi's system containers: opening it, container names and
 * directories, the per-container lock, and running a step in a forked child whose error comes back. */
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "container-internal.h"
#include "util.h"

int container_store_open(struct container_store **ret, struct coi_error *err)
{
        const char *env = getenv("COI_DATA_DIR");
        const char *path = env && *env ? env : CONTAINER_DATA_DEFAULT;
        int r = mkdir_p_at(AT_FDCWD, path, 0711, err);
        if (r < 0)
                return coi_error_prefix(err, "data directory: ");
        struct container_store *s = calloc(1, sizeof(*s));
        if (!s)
                return coi_error_set(err, ENOMEM, "data directory %s: %m", path);
        s->dirfd = s->cdirfd = -1;
        s->path = strdup(path);
        s->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->dirfd < 0) {
                r = coi_error_set(err, errno, "open data directory %s: %m", path);
                container_store_free(s);
                return r;
        }
        if (mkdirat(s->dirfd, "containers", 0711) < 0 && errno != EEXIST) {
                r = coi_error_set(err, errno, "mkdir %s/containers: %m", path);
                container_store_free(s);
                return r;
        }
        s->cdirfd = openat(s->dirfd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (s->cdirfd < 0 || !s->path) {
                r = coi_error_set(err, s->path ? errno : ENOMEM, "open %s/containers: %m", path);
                container_store_free(s);
                return r;
        }
        const char *rt = getenv("COI_RUNTIME_DIR");
        s->ctx.state_root = rt && *rt ? rt : CONTAINER_RUNTIME_ROOT;
        *ret = s;
        return 0;
}

void container_store_free(struct container_store *s)
{
        if (!s)
                return;
        closep(&s->dirfd);
        closep(&s->cdirfd);
        free(s->path);
        free(s);
}

int container_store_sweep(struct container_store *s)
{
        int n = remove_stale_temporaries_at(s->dirfd) + remove_stale_temporaries_at(s->cdirfd);
        int fd = openat(s->cdirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return n;
        _cleanup_closedir_ DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return n;
        }
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_close_ int cfd =
                        openat(s->cdirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (cfd >= 0)
                        n += remove_stale_temporaries_at(cfd);
        }
        return n;
}

const char *container_store_path(const struct container_store *s)
{
        return s->path;
}

int container_validate_name(const char *name, struct coi_error *err)
{
        size_t len = strlen(name);
        bool ok = len > 0 && len <= CONTAINER_NAME_MAX && name[len - 1] != '-' && name[0] != '-';
        for (size_t i = 0; ok && i < len; i++) {
                char c = name[i];
                ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
        }
        if (!ok)
                return coi_error_set(err, EINVAL,
                                     "invalid container name \"%s\": use letters, digits and '-' (not first "
                                     "or last), at most %d characters",
                                     name, CONTAINER_NAME_MAX);
        return 0;
}

char *container_dir(const struct container_store *s, const char *name)
{
        return xasprintf("%s/containers/%s", s->path, name);
}

/* An exclusive flock on the container's directory: one lifecycle operation at a time. */
int container_lock(const struct container_store *s, const char *name, int *ret_fd, struct coi_error *err)
{
        int fd = openat(s->cdirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                if (errno == ENOENT)
                        return coi_error_set(err, ENOENT, "container %s not found", name);
                return coi_error_set(err, errno, "open container %s: %m", name);
        }
        if (flock(fd, LOCK_EX) < 0) {
                int r = coi_error_set(err, errno, "lock container %s: %m", name);
                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

int container_run_in_child(container_child_fn fn, void *userdata, const char *action, const char *doing,
                           const char *name, struct coi_error *err)
{
        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return coi_error_set(err, errno, "pipe: %m");
        _cleanup_close_ int rd = pipefd[0];
        pid_t pid = fork();
        if (pid < 0) {
                int r = coi_error_set(err, errno, "fork to %s %s: %m", action, name);
                close(pipefd[1]);
                return r;
        }
        if (pid == 0) {
                close(rd);
                struct coi_error e = { 0 };
                int r = fn(userdata, &e);
                if (r < 0 && write(pipefd[1], &e, sizeof(e)) < 0)
                        _exit(2);
                _exit(r < 0 ? 1 : 0);
        }
        close(pipefd[1]);
        struct coi_error e = { 0 };
        ssize_t n;
        do
                n = read(rd, &e, sizeof(e));
        while (n < 0 && errno == EINTR);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (n == (ssize_t)sizeof(e)) {
                e.msg[sizeof(e.msg) - 1] = '\0';
                return coi_error_set(err, e.code ? e.code : EIO, "%s", e.msg);
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return coi_error_set(err, EIO, "%s %s failed without a message (status %d)", doing, name,
                                     status);
        return 0;
}
