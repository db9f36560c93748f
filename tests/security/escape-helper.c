/* escape-helper.c — test-only (tests/security): escape attempts that need system calls, run inside a coi
 * container. `escape-helper ATTACK [ARGS]` prints one line: "ESCAPED ..." if the attempt worked, else
 * "BLOCKED ERRNO_NAME [detail]", where ERRNO_NAME is the errno of the step that failed. Built static. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/reboot.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

static const char *errname(int e)
{
        switch (e) {
        case EPERM:
                return "EPERM";
        case ENOENT:
                return "ENOENT";
        case ESRCH:
                return "ESRCH";
        case EIO:
                return "EIO";
        case EBADF:
                return "EBADF";
        case EAGAIN:
                return "EAGAIN";
        case EACCES:
                return "EACCES";
        case EFAULT:
                return "EFAULT";
        case EBUSY:
                return "EBUSY";
        case EEXIST:
                return "EEXIST";
        case EXDEV:
                return "EXDEV";
        case ENODEV:
                return "ENODEV";
        case ENOTDIR:
                return "ENOTDIR";
        case EINVAL:
                return "EINVAL";
        case ENOSPC:
                return "ENOSPC";
        case EROFS:
                return "EROFS";
        case ENOSYS:
                return "ENOSYS";
        case EOPNOTSUPP:
                return "EOPNOTSUPP";
        case ECONNREFUSED:
                return "ECONNREFUSED";
        case ENETUNREACH:
                return "ENETUNREACH";
        case ENOTTY:
                return "ENOTTY";
        case EOVERFLOW:
                return "EOVERFLOW";
        case ESTALE:
                return "ESTALE";
        default:
                return "EOTHER";
        }
}

/* The result of one attempt: r < 0 → BLOCKED with errno, else ESCAPED. */
static int verdict(long r, const char *what)
{
        if (r < 0)
                printf("BLOCKED %s %s: %s\n", errname(errno), what, strerror(errno));
        else
                printf("ESCAPED %s (returned %ld)\n", what, r);
        return 0;
}

static long sys_attack(const char *name)
{
        errno = 0;
        if (!strcmp(name, "init_module"))
                return syscall(SYS_init_module, NULL, 0UL, "");
        if (!strcmp(name, "finit_module")) {
                int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
                return syscall(SYS_finit_module, fd, "", 0);
        }
        if (!strcmp(name, "delete_module"))
                return syscall(SYS_delete_module, "coi_no_such_module", O_NONBLOCK);
        if (!strcmp(name, "kexec_load")) /* invalid flags: harmless if it reached a privileged kernel */
                return syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0xdead0000UL);
        if (!strcmp(name, "kexec_file_load"))
                return syscall(SYS_kexec_file_load, -1, -1, 0UL, "", 0xdead0000UL);
        if (!strcmp(name, "perf_event_open")) {
                /* a cpu-wide software counter (pid -1, cpu 0): observing the whole host */
                unsigned char attr[128] = { 0 };
                *(unsigned *)attr = 1;         /* PERF_TYPE_SOFTWARE */
                *(unsigned *)(attr + 4) = 128; /* size */
                return syscall(SYS_perf_event_open, attr, -1, 0, -1, 0UL);
        }
        if (!strcmp(name, "bpf")) { /* BPF_MAP_CREATE of an array: the verifier's entry point */
                unsigned attr[16] = { 2 /* BPF_MAP_TYPE_ARRAY */, 4, 4, 1 };
                return syscall(SYS_bpf, 0 /* BPF_MAP_CREATE */, attr, sizeof(attr));
        }
        if (!strcmp(name, "userfaultfd"))
                return syscall(SYS_userfaultfd, O_CLOEXEC);
        if (!strcmp(name, "iopl"))
                return iopl(3);
        if (!strcmp(name, "ioperm"))
                return ioperm(0x80, 1, 1);
        if (!strcmp(name, "swapon"))
                return swapon("/coi-no-such-swapfile", 0);
        if (!strcmp(name, "clock_settime")) { /* the current time: no change even if it went through */
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                return clock_settime(CLOCK_REALTIME, &ts);
        }
        if (!strcmp(name, "settimeofday")) {
                struct timeval tv;
                gettimeofday(&tv, NULL);
                return settimeofday(&tv, NULL);
        }
        if (!strcmp(name, "keyctl")) /* KEYCTL_GET_KEYRING_ID of the user keyring, create */
                return syscall(SYS_keyctl, 0, -4 /* KEY_SPEC_USER_KEYRING */, 1);
        if (!strcmp(name, "add_key"))
                return syscall(SYS_add_key, "user", "coi-escape", "x", 1, -3 /* session keyring */);
        if (!strcmp(name, "request_key"))
                return syscall(SYS_request_key, "user", "coi-escape", NULL, -3);
        if (!strcmp(name, "io_uring_setup")) {
                unsigned char params[120] = { 0 };
                return syscall(SYS_io_uring_setup, 4, params);
        }
        if (!strcmp(name, "reboot_cad")) /* in a child pid namespace: EINVAL; on the host it would act */
                return syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_CAD_OFF,
                               NULL);
        if (!strcmp(name, "reboot_kexec"))
                return syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_KEXEC,
                               NULL);
        if (!strcmp(name, "tiocsti")) { /* push a command into the terminal on fd 0 */
                char c = '#';
                return ioctl(0, TIOCSTI, &c);
        }
        if (!strcmp(name, "personality")) /* ADDR_NO_RANDOMIZE */
                return personality(ADDR_NO_RANDOMIZE);
        if (!strcmp(name, "nested_userns"))
                return unshare(CLONE_NEWUSER);
        if (!strcmp(name, "fsopen"))
                return syscall(SYS_fsopen, "tmpfs", 0);
        errno = EINVAL;
        return -1;
}

/* "shocker": open the host file system's root directory (inode 2, generation 0) by handle, through the
 * workspace's mount (the host's disk). */
static int shocker(const char *path)
{
        struct {
                unsigned int handle_bytes;
                int handle_type;
                unsigned char f_handle[128];
        } h = { .handle_bytes = 128 };
        int mount_id;
        if (syscall(SYS_name_to_handle_at, AT_FDCWD, path, &h, &mount_id, 0) < 0)
                return verdict(-1, "name_to_handle_at");
        int mfd = open(path, O_RDONLY | O_DIRECTORY);
        memset(h.f_handle, 0, sizeof(h.f_handle));
        h.handle_bytes = 8;
        h.handle_type = 1; /* FILEID_INO32_GEN: ino 2, gen 0 */
        h.f_handle[0] = 2;
        return verdict(syscall(SYS_open_by_handle_at, mfd, &h, O_RDONLY), "open_by_handle_at(ino 2)");
}

/* Walks up from every directory fd of every visible process and from the cwd, looking for a host path. */
static int fds(const char *marker)
{
        char up[512] = "";
        for (int i = 0; i < 40; i++)
                strcat(up, "../");
        strncat(up, marker[0] == '/' ? marker + 1 : marker, sizeof(up) - strlen(up) - 1);
        DIR *d = opendir("/proc");
        struct dirent *e;
        int seen = 0;
        while (d && (e = readdir(d))) {
                char path[300];
                snprintf(path, sizeof(path), "/proc/%s/fd", e->d_name);
                DIR *fdd = opendir(path);
                struct dirent *f;
                while (fdd && (f = readdir(fdd))) {
                        char fp[600];
                        snprintf(fp, sizeof(fp), "%s/%s", path, f->d_name);
                        int fd = open(fp, O_RDONLY | O_DIRECTORY);
                        if (fd < 0)
                                continue;
                        seen++;
                        if (faccessat(fd, up, F_OK, 0) == 0) {
                                printf("ESCAPED %s reaches %s\n", fp, marker);
                                return 0;
                        }
                        close(fd);
                }
                if (fdd)
                        closedir(fdd);
        }
        if (chdir(up) == 0 || access(up, F_OK) == 0) {
                printf("ESCAPED cwd reaches %s\n", marker);
                return 0;
        }
        errno = ENOENT;
        printf("BLOCKED ENOENT %d directory fds and the cwd walked up; %s not reached\n", seen, marker);
        return 0;
}

static int chroot_escape(const char *marker)
{
        mkdir("/tmp/coi-jail", 0700);
        if (chroot("/tmp/coi-jail") < 0)
                return verdict(-1, "chroot");
        for (int i = 0; i < 64; i++)
                if (chdir("..") < 0)
                        break;
        if (chroot(".") < 0)
                return verdict(-1, "chroot(.)");
        errno = 0;
        return verdict(access(marker, F_OK), marker);
}

static int connect_abstract(const char *name)
{
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        strncpy(a.sun_path + 1, name, sizeof(a.sun_path) - 2);
        socklen_t len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name);
        return verdict(connect(s, (struct sockaddr *)&a, len), "connect @abstract");
}

static int connect_tcp(int port)
{
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        return verdict(connect(s, (struct sockaddr *)&a, sizeof(a)), "connect 127.0.0.1");
}

/* mknod of a device (in /tmp), then reading it. */
static int mknod_read(char type, unsigned maj, unsigned min)
{
        unlink("/tmp/coi-dev");
        if (mknod("/tmp/coi-dev", (type == 'b' ? S_IFBLK : S_IFCHR) | 0600, makedev(maj, min)) < 0)
                return verdict(-1, "mknod");
        int fd = open("/tmp/coi-dev", O_RDONLY);
        if (fd < 0)
                return verdict(-1, "open the node");
        char buf[512];
        return verdict(read(fd, buf, sizeof(buf)), "read the node");
}

/* A nested user namespace whose root is mapped to the container's root: is that the host's root? */
static int userns_root(const char *file)
{
        int p[2];
        if (pipe(p) < 0)
                return verdict(-1, "pipe");
        pid_t pid = fork();
        if (pid == 0) {
                char c;
                if (unshare(CLONE_NEWUSER) < 0) {
                        printf("BLOCKED %s unshare(CLONE_NEWUSER): %s\n", errname(errno), strerror(errno));
                        fflush(stdout);
                        _exit(3);
                }
                close(p[1]);
                if (read(p[0], &c, 1) != 1 || c != 'm')
                        _exit(4);
                if (setresuid(0, 0, 0) < 0 || setresgid(0, 0, 0) < 0)
                        _exit(5);
                int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                _exit(fd < 0 ? 6 : 0);
        }
        close(p[0]);
        usleep(200000);
        char path[64];
        int st;
        /* 4294967295 ids from 0: wider than the container's range */
        snprintf(path, sizeof(path), "/proc/%d/uid_map", pid);
        int fd = open(path, O_WRONLY);
        int wide = fd >= 0 && write(fd, "0 0 4294967295", 14) == 14;
        int wide_errno = errno;
        if (fd >= 0)
                close(fd);
        fd = open(path, O_WRONLY);
        int ok = fd >= 0 && write(fd, "0 0 65536", 9) == 9;
        if (fd >= 0)
                close(fd);
        snprintf(path, sizeof(path), "/proc/%d/gid_map", pid);
        fd = open(path, O_WRONLY);
        ok = ok && fd >= 0 && write(fd, "0 0 65536", 9) == 9;
        if (fd >= 0)
                close(fd);
        if (write(p[1], "m", 1) != 1)
                return verdict(-1, "pipe write");
        waitpid(pid, &st, 0);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
                return 0; /* the child printed why */
        if (wide) {
                printf("ESCAPED a map wider than the container's range was accepted\n");
                return 0;
        }
        printf("MAPPED wide=%s nested=%s file=%d\n", errname(wide_errno), ok ? "ok" : "failed",
               WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        return 0;
}

static int fill(const char *path, long max_mb)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0)
                return verdict(-1, "open");
        static char buf[1 << 20];
        memset(buf, 'x', sizeof(buf));
        long mb = 0;
        for (; mb < max_mb; mb++) {
                ssize_t n = write(fd, buf, sizeof(buf));
                if (n < (ssize_t)sizeof(buf)) {
                        if (n >= 0)
                                errno = ENOSPC;
                        break;
                }
        }
        int e = errno;
        unlink(path);
        if (mb >= max_mb)
                printf("ESCAPED wrote %ld MiB\n", mb);
        else
                printf("BLOCKED %s after %ld MiB\n", errname(e), mb);
        return 0;
}

/* Bounded: at most max children, each sleeping, all killed at the end. */
static int forkbomb(int max)
{
        pid_t *kids = calloc(max, sizeof(pid_t));
        int n = 0, e = 0;
        for (; n < max; n++) {
                pid_t pid = fork();
                if (pid == 0) {
                        sleep(30);
                        _exit(0);
                }
                if (pid < 0) {
                        e = errno;
                        break;
                }
                kids[n] = pid;
        }
        for (int i = 0; i < n; i++)
                kill(kids[i], SIGKILL);
        while (wait(NULL) > 0)
                ;
        if (n >= max)
                printf("ESCAPED forked %d\n", n);
        else
                printf("BLOCKED %s after %d forks\n", errname(e), n);
        return 0;
}

/* Opens every /proc/PID/exe for writing, again and again, for seconds: a host binary entering the
 * container (coi's exec) must never be writable. */
static int exe_race(int seconds)
{
        time_t end = time(NULL) + seconds;
        int tries = 0, seen = 0;
        while (time(NULL) < end) {
                DIR *d = opendir("/proc");
                struct dirent *e;
                while (d && (e = readdir(d))) {
                        if (e->d_name[0] < '0' || e->d_name[0] > '9' || atoi(e->d_name) == getpid())
                                continue;
                        char path[300], target[300];
                        snprintf(path, sizeof(path), "/proc/%s/exe", e->d_name);
                        ssize_t n = readlink(path, target, sizeof(target) - 1);
                        if (n > 0) {
                                target[n] = 0;
                                if (strstr(target, "coi") || strstr(target, "memfd"))
                                        seen++;
                        }
                        tries++;
                        int fd = open(path, O_WRONLY);
                        if (fd >= 0) {
                                printf("ESCAPED opened %s -> %s for writing\n", path, n > 0 ? target : "?");
                                return 0;
                        }
                }
                if (d)
                        closedir(d);
        }
        printf("BLOCKED EACCES %d opens refused, %d coi processes seen\n", tries, seen);
        return 0;
}

int main(int argc, char **argv)
{
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (argc < 2)
                return 2;
        const char *a = argv[1];
        const char *x = argc > 2 ? argv[2] : "";
        if (!strcmp(a, "sys"))
                return verdict(sys_attack(x), x);
        if (!strcmp(a, "kill"))
                return verdict(kill(atoi(x), SIGKILL), "kill");
        if (!strcmp(a, "ptrace"))
                return verdict(ptrace(PTRACE_ATTACH, atoi(x), NULL, NULL), "ptrace");
        if (!strcmp(a, "pidfd"))
                return verdict(syscall(SYS_pidfd_open, atoi(x), 0), "pidfd_open");
        if (!strcmp(a, "shocker"))
                return shocker(x);
        if (!strcmp(a, "fds"))
                return fds(x);
        if (!strcmp(a, "chroot"))
                return chroot_escape(x);
        if (!strcmp(a, "abstract"))
                return connect_abstract(x);
        if (!strcmp(a, "tcp"))
                return connect_tcp(atoi(x));
        if (!strcmp(a, "mknod"))
                return mknod_read(x[0], atoi(argv[3]), atoi(argv[4]));
        if (!strcmp(a, "mount-disk")) /* the host disk's device, made here, then mounted */
                return mknod("/tmp/coi-disk", S_IFBLK | 0600, makedev(atoi(x), atoi(argv[3]))) < 0
                               ? verdict(-1, "mknod")
                               : verdict(mount("/tmp/coi-disk", "/mnt", "ext4", MS_RDONLY, NULL), "mount");
        if (!strcmp(a, "mount"))
                return verdict(mount(argv[3], x, argv[4], 0, NULL), "mount");
        if (!strcmp(a, "bind"))
                return verdict(mount(x, argv[3], NULL, MS_BIND, NULL), "bind mount");
        if (!strcmp(a, "remount-rw"))
                return verdict(mount(NULL, x, NULL, MS_REMOUNT | MS_BIND, NULL), "remount rw");
        if (!strcmp(a, "umount"))
                return verdict(umount2(x, MNT_DETACH), "umount");
        if (!strcmp(a, "userns-root"))
                return userns_root(x);
        if (!strcmp(a, "fill"))
                return fill(x, atol(argv[3]));
        if (!strcmp(a, "forkbomb"))
                return forkbomb(atoi(x));
        if (!strcmp(a, "exe-race"))
                return exe_race(atoi(x));
        fprintf(stderr, "escape-helper: unknown attack %s\n", a);
        return 2;
}
