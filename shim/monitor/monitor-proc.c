/* monitor-proc.c — the processes of a container's cgroup (its whole subtree) seen from the host: pids,
 * what their stdin/stdout/stderr are (a socket's inode), command line and executable; io counters. */
#include <inttypes.h>

#include "monitor-proc.h"

static int push_pid(pid_t **v, size_t *n, size_t *cap, pid_t pid)
{
        if (*n == *cap) {
                size_t nc = *cap ? *cap * 2 : 64;
                pid_t *nv = realloc(*v, nc * sizeof(**v));
                if (!nv)
                        return -ENOMEM;
                *v = nv;
                *cap = nc;
        }
        (*v)[(*n)++] = pid;
        return 0;
}

static int walk(int dirfd, pid_t **v, size_t *n, size_t *cap, int depth)
{
        _cleanup_close_ int procs = openat(dirfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
        if (procs >= 0) {
                _cleanup_fclose_ FILE *f = fdopen(TAKE_FD(procs), "re");
                int pid;
                while (f && fscanf(f, "%d", &pid) == 1)
                        if (push_pid(v, n, cap, pid) < 0)
                                return -ENOMEM;
        }
        if (depth > 16)
                return 0;
        int dup = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dup < 0)
                return 0;
        _cleanup_closedir_ DIR *d = fdopendir(dup);
        if (!d) {
                close(dup);
                return 0;
        }
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                _cleanup_close_ int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (sub >= 0 && walk(sub, v, n, cap, depth + 1) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int monitor_cgroup_pids(const char *cg, pid_t **ret, size_t *ret_n, struct coi_error *err)
{
        _cleanup_close_ int fd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return coi_error_set(err, errno, "open cgroup %s: %m", cg);
        pid_t *v = NULL;
        size_t n = 0, cap = 0;
        if (walk(fd, &v, &n, &cap, 0) < 0) {
                free(v);
                return coi_error_set(err, ENOMEM, "pids of %s: %m", cg);
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static void fd_kind(const char *link, struct monitor_fd *ret)
{
        char target[64];
        unsigned inode = 0;
        ssize_t l = readlink(link, target, sizeof(target) - 1);
        *ret = (struct monitor_fd){ MONITOR_FD_OTHER, 0 };
        if (l <= 0)
                return;
        target[l] = '\0';
        if (sscanf(target, "socket:[%u]", &inode) == 1)
                *ret = (struct monitor_fd){ MONITOR_FD_SOCKET, inode };
        else if (sscanf(target, "pipe:[%u]", &inode) == 1)
                *ret = (struct monitor_fd){ MONITOR_FD_PIPE, inode };
}

void monitor_proc_stdio(pid_t pid, struct monitor_fd ret[3])
{
        for (int i = 0; i < 3; i++) {
                char path[64];
                snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, i);
                fd_kind(path, &ret[i]);
        }
}

static int cmp_u32(const void *a, const void *b)
{
        uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
        return x < y ? -1 : x > y;
}

uint32_t monitor_proc_holds_socket(pid_t pid, const uint32_t *inodes, size_t n)
{
        char dir[64];
        snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;
        while (d && n && (de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                char path[384];
                struct monitor_fd fd;
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                fd_kind(path, &fd);
                if (fd.kind == MONITOR_FD_SOCKET && bsearch(&fd.inode, inodes, n, sizeof(*inodes), cmp_u32))
                        return fd.inode;
        }
        return 0;
}

bool monitor_proc_is_interpreter(pid_t pid)
{
        static const char *const names[] = { "sh",   "bash", "dash", "zsh",  "ksh",   "mksh",
                                             "fish", "csh",  "tcsh", "ash",  "perl",  "python",
                                             "ruby", "php",  "lua",  "node", "tclsh", NULL };
        char exe[256];
        monitor_proc_exe(pid, exe, sizeof(exe));
        const char *base = strrchr(exe, '/');
        base = base ? base + 1 : exe;
        char name[64];
        snprintf(name, sizeof(name), "%.*s", (int)strcspn(base, "0123456789. "), base); /* python3.11 */
        return strv_contains((char **)names, name);
}

void monitor_proc_cmdline(pid_t pid, char *buf, size_t size)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
        buf[0] = '\0';
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || size < 2)
                return;
        ssize_t n = read(fd, buf, size - 1);
        if (n <= 0) {
                buf[0] = '\0';
                return;
        }
        while (n > 0 && buf[n - 1] == '\0')
                n--;
        for (ssize_t i = 0; i < n; i++)
                if (buf[i] == '\0' || buf[i] == '\n')
                        buf[i] = ' ';
        buf[n] = '\0';
}

void monitor_proc_exe(pid_t pid, char *buf, size_t size)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
        ssize_t n = readlink(path, buf, size - 1);
        buf[n > 0 ? n : 0] = '\0';
}

uint64_t monitor_proc_read_bytes(pid_t pid)
{
        char path[64], data[512];
        snprintf(path, sizeof(path), "/proc/%d/io", (int)pid);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        ssize_t n = read(fd, data, sizeof(data) - 1);
        if (n <= 0)
                return 0;
        data[n] = '\0';
        uint64_t v = 0;
        const char *p = strstr(data, "rchar:");
        if (p)
                sscanf(p + 6, "%" SCNu64, &v);
        return v;
}
