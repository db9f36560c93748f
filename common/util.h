/* util.h — small helpers every file uses: cleanup attributes, ownership transfer, errors, file and
 * string utilities. Header-only macros plus util.c; shared by the library and the coi shim. */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coi-runtime.h"

#define _cleanup_(f)     __attribute__((cleanup(f)))
#define _cleanup_free_   _cleanup_(freep)
#define _cleanup_close_  _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_strv_   _cleanup_(strv_freep)
#define _unused_         __attribute__((unused))

/* A directory stream (opendir, fdopendir) closed at the end of the scope. */
#define _cleanup_closedir_ _cleanup_(dir_closep)

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* A cleanup function for a library's pointer type, as systemd does: name(&p) calls func(p) unless NULL. */
#define DEFINE_POINTER_CLEANUP(type, func, name)                                                             \
        static inline void name(type **p)                                                                    \
        {                                                                                                    \
                if (*p)                                                                                      \
                        func(*p);                                                                            \
        }

static inline void freep(void *p)
{
        free(*(void **)p);
}

static inline void closep(int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}

static inline void fclosep(FILE **f)
{
        if (*f)
                fclose(*f);
}

static inline void dir_closep(DIR **d)
{
        if (*d)
                closedir(*d);
}

void strv_free(char **strv);
static inline void strv_freep(char ***strv)
{
        strv_free(*strv);
}

/* Hand ownership over: returns the value and resets the variable so cleanup does nothing. */
#define TAKE_FD(fd)                                                                                          \
        ({                                                                                                   \
                int _fd_ = (fd);                                                                             \
                (fd) = -1;                                                                                   \
                _fd_;                                                                                        \
        })
#define TAKE_PTR(p)                                                                                          \
        ({                                                                                                   \
                __typeof__(p) _p_ = (p);                                                                     \
                (p) = NULL;                                                                                  \
                _p_;                                                                                         \
        })

static inline bool streq(const char *a, const char *b)
{
        return strcmp(a, b) == 0;
}

static inline bool startswith(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Malloc that never returns NULL silently: callers check and report ENOMEM with an object name. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

size_t strv_length(char *const *strv);
bool strv_contains(char *const *strv, const char *s);
/* NAME's value in env ("K=V" entries; NULL env: the process environment), NULL if unset. */
const char *env_get(char *const *env, const char *name);
/* Appends a copy of s; returns 0 or -ENOMEM. */
int strv_push(char ***strv, const char *s);
char **strv_copy(char *const *strv);

/* Reads a whole file (at most max bytes; 0 = 64 MiB) into a NUL-terminated buffer. */
int read_file_at(int dirfd, const char *path, size_t max, char **ret_data, size_t *ret_len,
                 struct coi_error *err);
/* Writes data to path via a temporary file + fsync + rename, so readers see old or new, never half. */
/* Removes write_file_atomic_at's temporaries in dirfd ("NAME.tmp.PID") whose writer is gone (killed
 * between create and rename). Returns how many went. */
int remove_stale_temporaries_at(int dirfd);
int write_file_atomic_at(int dirfd, const char *path, const void *data, size_t len, mode_t mode,
                         struct coi_error *err);
/* Writes a short string to an existing file (proc, sysfs, cgroupfs). */
int write_file_at(int dirfd, const char *path, const char *data, struct coi_error *err);
/* Full write, retrying on EINTR and short writes. */
int write_all(int fd, const void *data, size_t len);
/* mkdir -p relative to dirfd; existing directories are fine. */
int mkdir_p_at(int dirfd, const char *path, mode_t mode, struct coi_error *err);

/* openat2(2) of path below dirfd with these RESOLVE_* flags, O_CLOEXEC added; the EAGAIN a concurrent
 * rename can cause is retried a few times. An fd, or -1 with errno. */
int openat2_(int dirfd, const char *path, int flags, uint64_t resolve);
/* path as a container sees it: RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS below rootfd. */
int openat2_in_root(int rootfd, const char *path, int flags);

/* pidfd_open(2) (glibc < 2.36 has no wrapper): an fd that refers to pid, -1 with errno. */
int pidfd_open_(pid_t pid);

/* CLOCK_MONOTONIC in nanoseconds, for the --timings breakdown. */
uint64_t now_ns(void);

/* Logging through the context's callback only (the library never prints). */
void coi_log(const struct coi_context *ctx, enum coi_log_level level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
#define log_error(ctx, ...)   coi_log(ctx, COI_LOG_ERROR, __VA_ARGS__)
#define log_warning(ctx, ...) coi_log(ctx, COI_LOG_WARNING, __VA_ARGS__)
#define log_info(ctx, ...)    coi_log(ctx, COI_LOG_INFO, __VA_ARGS__)
#define log_debug(ctx, ...)   coi_log(ctx, COI_LOG_DEBUG, __VA_ARGS__)
