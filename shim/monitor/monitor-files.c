/* monitor-files.c — reads of credential material in a container (~/.ssh, .env*, *.pem, ~/.aws,
 * ~/.config/gh, /proc/N/environ): fanotify close-after-read events on the container's own
 * mounts, from the host. */
#include <sys/fanotify.h>

#include "monitor-files.h"

static bool skip_fstype(const char *t)
{
        static const char *const skip[] = { "sysfs",    "cgroup",  "cgroup2",    "devpts",    "mqueue",
                                            "debugfs",  "tracefs", "securityfs", "fusectl",   "binfmt_misc",
                                            "bpf",      "pstore",  "configfs",   "hugetlbfs", "autofs",
                                            "devtmpfs", NULL };
        return strv_contains((char **)skip, t);
}

static bool skip_point(const char *mp)
{
        return startswith(mp, "/dev") || startswith(mp, "/sys") || startswith(mp, "/run/systemd");
}

int monitor_files_open(pid_t pid, int *ret_fd, size_t *ret_marks, struct coi_error *err)
{
        _cleanup_close_ int fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK,
                                               O_RDONLY | O_LARGEFILE | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return coi_error_set(err, errno, "fanotify_init: %m");
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)pid);
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f)
                return coi_error_set(err, errno, "open %s: %m", path);
        _cleanup_free_ char *line = NULL;
        size_t cap = 0, marks = 0;
        while (getline(&line, &cap, f) > 0) {
                /* id parent maj:min root mountpoint options [optional…] - fstype source superoptions */
                char mp[1024], fstype[64];
                const char *sep = strstr(line, " - ");
                if (!sep || sscanf(line, "%*s %*s %*s %*s %1023s", mp) != 1 ||
                    sscanf(sep + 3, "%63s", fstype) != 1)
                        continue;
                if (skip_fstype(fstype) || skip_point(mp) || strchr(mp, '\\'))
                        continue;
                /* /proc/PID/root/… walks the container's own mounts: the mark lands on its copy. */
                _cleanup_free_ char *target = xasprintf("/proc/%d/root%s", (int)pid, mp);
                if (!target)
                        return coi_error_set(err, ENOMEM, "fanotify mark: %m");
                if (fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_CLOSE_NOWRITE, AT_FDCWD, target) ==
                    0)
                        marks++;
        }
        if (marks == 0)
                return coi_error_set(err, ENOENT, "fanotify: no mount of process %d could be watched",
                                     (int)pid);
        *ret_fd = TAKE_FD(fd);
        *ret_marks = marks;
        return 0;
}

int monitor_files_read(int fd, void (*fn)(pid_t pid, const char *path, void *data), void *data)
{
        char buf[8192] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
        int count = 0;
        for (;;) {
                ssize_t len = read(fd, buf, sizeof(buf));
                if (len < 0)
                        return errno == EAGAIN ? count : -errno;
                if (len == 0)
                        return count;
                for (struct fanotify_event_metadata *m = (struct fanotify_event_metadata *)buf;
                     FAN_EVENT_OK(m, len); m = FAN_EVENT_NEXT(m, len)) {
                        if (m->vers != FANOTIFY_METADATA_VERSION)
                                return -EPROTO;
                        if (m->fd < 0)
                                continue;
                        char link[64], target[4096];
                        snprintf(link, sizeof(link), "/proc/self/fd/%d", m->fd);
                        ssize_t l = readlink(link, target, sizeof(target) - 1);
                        close(m->fd);
                        if (l <= 0)
                                continue;
                        target[l] = '\0';
                        count++;
                        fn(m->pid, target, data);
                }
        }
}

static bool ends_with(const char *s, const char *suffix)
{
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && strcmp(s + a - b, suffix) == 0;
}

const char *monitor_credential_kind(const char *path)
{
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        const char *ssh = strstr(path, "/.ssh/");
        if (ssh && !strchr(ssh + 6, '/')) {
                /* what ssh itself reads on every connection is no key */
                if (streq(base, "known_hosts") || streq(base, "known_hosts.old") || streq(base, "config") ||
                    ends_with(base, ".pub") || streq(base, "authorized_keys"))
                        return NULL;
                return "ssh key";
        }
        /* init's is read by systemd's own tools (systemd-detect-virt looks for container=) */
        if (startswith(path, "/proc/") && ends_with(path, "/environ") && !streq(path, "/proc/1/environ"))
                return "process environment";
        if (streq(base, ".env") || (startswith(base, ".env.") && !ends_with(base, ".example") &&
                                    !ends_with(base, ".sample") && !ends_with(base, ".template")))
                return "env file";
        bool system_store = startswith(path, "/etc/ssl/") || startswith(path, "/usr/") ||
                            startswith(path, "/etc/pki/") || startswith(path, "/etc/ca-certificates");
        if (!system_store && (ends_with(base, ".pem") || ends_with(base, ".p12") || ends_with(base, ".pfx") ||
                              ends_with(base, ".key")))
                return "private key";
        if (strstr(path, "/.aws/credentials") || strstr(path, "/.aws/config"))
                return "aws credentials";
        if (strstr(path, "/.config/gh/hosts.yml"))
                return "gh token";
        if (ends_with(path, "/.netrc") || ends_with(path, "/.git-credentials") ||
            ends_with(path, "/.pypirc") || ends_with(path, "/.docker/config.json"))
                return "credential file";
        return NULL;
}
