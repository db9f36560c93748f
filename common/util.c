/* util.c — errors, logging, strv, and file helpers shared by the library and the shim. */
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <time.h>

#include "util.h"

int coi_error_set(struct coi_error *err, int code, const char *fmt, ...)
{
        if (code < 0)
                code = -code;
        if (code == 0)
                code = EIO;
        if (err) {
                va_list ap;
                int saved = errno;
                errno = code; /* so %m in fmt prints this error */
                va_start(ap, fmt);
                vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
                va_end(ap);
                errno = saved;
                err->code = code;
        }
        return -code;
}

int coi_error_prefix(struct coi_error *err, const char *fmt, ...)
{
        if (!err)
                return -EIO;
        char prefix[sizeof(err->msg)], old[sizeof(err->msg)];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof(prefix), fmt, ap);
        va_end(ap);
        memcpy(old, err->msg, sizeof(old));
        size_t n = strnlen(prefix, sizeof(err->msg) - 1);
        memcpy(err->msg, prefix, n);
        size_t m = strnlen(old, sizeof(err->msg) - 1 - n);
        memcpy(err->msg + n, old, m);
        err->msg[n + m] = '\0';
        return -(err->code ? err->code : EIO);
}

void coi_log(const struct coi_context *ctx, enum coi_log_level level, const char *fmt, ...)
{
        if (!ctx || !ctx->log || level > ctx->log_level)
                return;
        char buf[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        ctx->log(level, buf, ctx->log_data);
}

char *xasprintf(const char *fmt, ...)
{
        char *s = NULL;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        return s;
}

void strv_free(char **strv)
{
        if (!strv)
                return;
        for (char **p = strv; *p; p++)
                free(*p);
        free(strv);
}

void coi_strv_free(char **strv)
{
        strv_free(strv);
}

size_t strv_length(char *const *strv)
{
        size_t n = 0;
        while (strv && strv[n])
                n++;
        return n;
}

const char *env_get(char *const *env, const char *name)
{
        size_t len = strlen(name);
        if (!env)
                return getenv(name);
        for (; *env; env++)
                if (strncmp(*env, name, len) == 0 && (*env)[len] == '=')
                        return *env + len + 1;
        return NULL;
}

bool strv_contains(char *const *strv, const char *s)
{
        for (; strv && *strv; strv++)
                if (streq(*strv, s))
                        return true;
        return false;
}

int strv_push(char ***strv, const char *s)
{
        size_t n = strv_length(*strv);
        char *copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        char **nv = realloc(*strv, (n + 2) * sizeof(char *));
        if (!nv) {
                free(copy);
                return -ENOMEM;
        }
        nv[n] = copy;
        nv[n + 1] = NULL;
        *strv = nv;
        return 0;
}

char **strv_copy(char *const *strv)
{
        size_t n = strv_length(strv);
        char **copy = calloc(n + 1, sizeof(char *));
        if (!copy)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                copy[i] = strdup(strv[i]);
                if (!copy[i]) {
                        strv_free(copy);
                        return NULL;
                }
        }
        return copy;
}

int read_file_at(int dirfd, const char *path, size_t max, char **ret_data, size_t *ret_len,
                 struct coi_error *err)
{
        if (max == 0)
                max = 64u << 20;
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return coi_error_set(err, errno, "open %s: %m", path);
        size_t cap = max < 4096 ? max : 4096, len = 0;
        _cleanup_free_ char *buf = malloc(cap + 1);
        if (!buf)
                return coi_error_set(err, ENOMEM, "read %s: %m", path);
        for (;;) {
                if (len == cap) {
                        char probe;
                        if (cap >= max && read(fd, &probe, 1) > 0)
                                return coi_error_set(err, EFBIG, "read %s: larger than %zu bytes", path, max);
                        if (cap >= max)
                                break;
                        cap = cap * 2 > max ? max : cap * 2;
                        char *nb = realloc(buf, cap + 1);
                        if (!nb)
                                return coi_error_set(err, ENOMEM, "read %s: %m", path);
                        buf = nb;
                }
                ssize_t n = read(fd, buf + len, cap - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return coi_error_set(err, errno, "read %s: %m", path);
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = '\0';
        if (ret_len)
                *ret_len = len;
        *ret_data = TAKE_PTR(buf);
        return 0;
}

int write_all(int fd, const void *data, size_t len)
{
        const char *p = data;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

int write_file_atomic_at(int dirfd, const char *path, const void *data, size_t len, mode_t mode,
                         struct coi_error *err)
{
        _cleanup_free_ char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
        if (!tmp)
                return coi_error_set(err, ENOMEM, "write %s: %m", path);
        _cleanup_close_ int fd =
                openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return coi_error_set(err, errno, "create %s: %m", tmp);
        int r = write_all(fd, data, len);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (r == 0 && renameat(dirfd, tmp, dirfd, path) < 0)
                r = -errno;
        if (r < 0) {
                unlinkat(dirfd, tmp, 0);
                return coi_error_set(err, -r, "write %s: %m", path);
        }
        return 0;
}

int remove_stale_temporaries_at(int dirfd)
{
        int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        _cleanup_closedir_ DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return 0;
        }
        int removed = 0;
        for (struct dirent *de; (de = readdir(d));) {
                const char *t = strstr(de->d_name, ".tmp.");
                char *end;
                if (!t || t == de->d_name)
                        continue;
                errno = 0;
                long pid = strtol(t + 5, &end, 10);
                if (errno || *end || end == t + 5 || pid <= 0 || pid > INT_MAX)
                        continue;
                /* a live writer (or one whose pid came back) keeps its file */
                if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
                        continue;
                if (unlinkat(dirfd, de->d_name, 0) == 0)
                        removed++;
        }
        return removed;
}

int write_file_at(int dirfd, const char *path, const char *data, struct coi_error *err)
{
        _cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return coi_error_set(err, errno, "open %s: %m", path);
        int r = write_all(fd, data, strlen(data));
        if (r < 0)
                return coi_error_set(err, -r, "write %s to %s: %m", data, path);
        return 0;
}

int mkdir_p_at(int dirfd, const char *path, mode_t mode, struct coi_error *err)
{
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return coi_error_set(err, ENOMEM, "mkdir %s: %m", path);
        for (char *s = p + (*p == '/');; s++) {
                if (*s != '/' && *s != '\0')
                        continue;
                char c = *s;
                *s = '\0';
                if (*p && mkdirat(dirfd, p, mode) < 0 && errno != EEXIST)
                        return coi_error_set(err, errno, "mkdir %s: %m", p);
                *s = c;
                if (c == '\0')
                        break;
        }
        return 0;
}

uint64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int pidfd_open_(pid_t pid)
{
        return (int)syscall(SYS_pidfd_open, pid, 0);
}

int openat2_(int dirfd, const char *path, int flags, uint64_t resolve)
{
        struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC), .resolve = resolve };
        for (int tries = 0;; tries++) {
                int fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
                /* EAGAIN: a rename raced with the lookup; the kernel asks us to retry. */
                if (fd >= 0 || errno != EAGAIN || tries >= 8)
                        return fd;
        }
}

int openat2_in_root(int rootfd, const char *path, int flags)
{
        return openat2_(rootfd, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}
