/* fuzz-sandbox.c — where the harnesses that write files (fuzz-tar, fuzz-oci-layout) unpack
 * input: a scratch directory in a sentinel tmpfs, everything else read-only, escapes reported. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/archive-io.h"
#include "fuzz-sandbox.h"
#include "util.h"

/* The sentinel: a tmpfs (nodev, nosuid) mounted on SENTINEL in the working directory, holding only
 * "canary" and, during an input, "scratch". Not /tmp: inputs given as files are read after
 * LLVMFuzzerInitialize and may be there. */
#define SENTINEL "fuzz-sentinel"
#define CANARY   "coi-fuzz canary: nothing may change me\n"

static int sentinel_fd = -1;

static void die(const char *what)
{
        fprintf(stderr, "fuzz sandbox: %s: %s\n", what, strerror(errno));
        abort();
}

static void write_id_map(const char *file, unsigned id)
{
        char line[64];
        int fd = open(file, O_WRONLY | O_CLOEXEC);
        int n = snprintf(line, sizeof(line), "0 %u 1\n", id);
        if (fd < 0 || write(fd, line, (size_t)n) != n)
                die(file);
        close(fd);
}

/* A private mount namespace where every mount is read-only except the working directory (libFuzzer
 * writes its corpus and crash files there) and the sentinel, a fresh tmpfs. An escape that
 * tries to write elsewhere fails with EROFS, which the harness reports; one that reaches the sentinel
 * is seen by the check after each input. Not root: a user namespace first (then no chown). */
void fuzz_sandbox_setup(void)
{
        char cwd[4096];
        if (!getcwd(cwd, sizeof(cwd)))
                die("getcwd");
        if (geteuid() == 0) {
                if (unshare(CLONE_NEWNS) < 0)
                        die("unshare(CLONE_NEWNS)");
        } else {
                unsigned uid = geteuid(), gid = getegid();
                if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
                        die("unshare(CLONE_NEWUSER | CLONE_NEWNS)");
                write_id_map("/proc/self/uid_map", uid);
                int fd = open("/proc/self/setgroups", O_WRONLY | O_CLOEXEC);
                if (fd < 0 || write(fd, "deny", 4) != 4)
                        die("/proc/self/setgroups");
                close(fd);
                write_id_map("/proc/self/gid_map", gid);
        }
        if (mkdir(SENTINEL, 0755) < 0 && errno != EEXIST)
                die("mkdir " SENTINEL);
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                die("make / private");
        struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
        if (mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &ro, sizeof(ro)) < 0)
                die("make / read-only");
        struct mount_attr rw = { .attr_clr = MOUNT_ATTR_RDONLY };
        if (mount(cwd, cwd, NULL, MS_BIND, NULL) < 0 ||
            mount_setattr(AT_FDCWD, cwd, 0, &rw, sizeof(rw)) < 0 || chdir(cwd) < 0)
                die("keep the working directory writable");
        if (mount("coi-fuzz", SENTINEL, "tmpfs", MS_NODEV | MS_NOSUID, "mode=0755,size=512m") < 0)
                die("mount the sentinel tmpfs on " SENTINEL);
        /* Few fds: code that holds one per directory level fails on shallow trees already. */
        struct rlimit nofile;
        if (getrlimit(RLIMIT_NOFILE, &nofile) < 0)
                die("getrlimit");
        nofile.rlim_cur = nofile.rlim_max < 128 ? nofile.rlim_max : 128;
        if (setrlimit(RLIMIT_NOFILE, &nofile) < 0)
                die("setrlimit");
        sentinel_fd = open(SENTINEL, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (sentinel_fd < 0)
                die(SENTINEL);
        struct coi_error err = { 0 };
        if (write_file_atomic_at(sentinel_fd, "canary", CANARY, strlen(CANARY), 0644, &err) < 0) {
                fprintf(stderr, "fuzz sandbox: %s\n", err.msg);
                abort();
        }
}

/* Nothing but canary (unchanged, one link) and scratch may be in the sentinel. */
static void check_sentinel(void)
{
        int fd = openat(sentinel_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fd < 0 ? NULL : fdopendir(fd);
        if (!d)
                die("open the sentinel");
        struct dirent *de;
        while ((de = readdir(d))) {
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..") && !streq(de->d_name, "canary") &&
                    !streq(de->d_name, "scratch")) {
                        fprintf(stderr,
                                "fuzz sandbox: escape: %s/%s was created outside the scratch directory\n",
                                SENTINEL, de->d_name);
                        abort();
                }
        }
        closedir(d);
        char buf[128] = "";
        struct stat st;
        int cfd = openat(sentinel_fd, "canary", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        ssize_t n = cfd < 0 ? -1 : read(cfd, buf, sizeof(buf) - 1);
        if (n < 0 || fstat(cfd, &st) < 0)
                die("read the canary");
        close(cfd);
        if (!streq(buf, CANARY) || st.st_nlink != 1 || (st.st_mode & 07777) != 0644 ||
            st.st_uid != geteuid()) {
                fprintf(stderr,
                        "fuzz sandbox: escape: the canary outside the scratch directory was changed\n");
                abort();
        }
}

int fuzz_sandbox_scratch(void)
{
        if (mkdirat(sentinel_fd, "scratch", 0755) < 0)
                die("mkdir scratch");
        int fd = openat(sentinel_fd, "scratch", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                die("open scratch");
        return fd;
}

void fuzz_sandbox_done(int r, const struct coi_error *err)
{
        if (getenv("COI_FUZZ_VERBOSE"))
                fprintf(stderr, "fuzz sandbox: %s\n", r < 0 ? err->msg : "unpacked");
        if (r < 0 && !err->msg[0])
                abort();                         /* every refusal says why */
        if (r == -EROFS || err->code == EROFS) { /* not the message: it holds entry names */
                fprintf(stderr, "fuzz sandbox: escape: a write outside the scratch directory: %s\n",
                        err->msg);
                abort();
        }
        check_sentinel();
        struct coi_error e = { 0 };
        if (remove_tree_at(sentinel_fd, "scratch", &e) < 0) {
                fprintf(stderr, "fuzz sandbox: remove the scratch directory: %s\n", e.msg);
                abort();
        }
        if (faccessat(sentinel_fd, "scratch", F_OK, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
                die("scratch directory left behind");
}
