/* cmd-file.c — `coi file push [-r] LOCAL CONTAINER:PATH` and `coi file pull [-r] CONTAINER:PATH LOCAL`:
 * copies through the container's mounted root, resolved as the container sees it (symlinks stay inside). */
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>

#include "commands.h"
#include "session/session-run.h"
#include "util.h"

static int usage(void)
{
        fputs("Usage: coi file push [-r] <local-path> <container>:<remote-path>\n"
              "       coi file pull [-r] <container>:<remote-path> <local-path>\n",
              stderr);
        return 2;
}

static int copy_file(int in, int dirfd, const char *base, mode_t mode, uid_t uid, gid_t gid)
{
        unlinkat(dirfd, base, 0);
        _cleanup_close_ int out =
                openat(dirfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0777);
        if (out < 0)
                return -errno;
        char buf[65536];
        ssize_t n;
        while ((n = read(in, buf, sizeof(buf))) > 0)
                if (write_all(out, buf, (size_t)n) < 0)
                        return -errno;
        if (n < 0 || fchown(out, uid, gid) < 0)
                return -errno;
        return 0;
}

static int cmd_file(int argc, char **argv)
{
        if (argc < 2)
                return usage();
        bool push = streq(argv[1], "push");
        if (!push && !streq(argv[1], "pull"))
                return usage();
        bool rec = false;
        const char *pos[2] = { NULL, NULL };
        int np = 0;
        for (int i = 2; i < argc; i++) {
                if (streq(argv[i], "-r") || streq(argv[i], "--recursive"))
                        rec = true;
                else if (np < 2)
                        pos[np++] = argv[i];
                else
                        return usage();
        }
        if (np != 2)
                return usage();
        const char *remote = push ? pos[1] : pos[0];
        const char *local = push ? pos[0] : pos[1];
        const char *colon = strchr(remote, ':');
        if (!colon || colon == remote || colon[1] != '/') {
                fprintf(stderr, "coi: %s: expected <container>:<absolute path>\n", remote);
                return 2;
        }
        _cleanup_free_ char *name = strndup(remote, (size_t)(colon - remote));
        _cleanup_free_ char *rpath = strdup(colon + 1);
        struct coi_error err = { 0 };
        _cleanup_(container_store_freep) struct container_store *store = NULL;
        _cleanup_(container_info_freep) struct container_info *info = NULL;
        if (!name || !rpath || container_store_open(&store, &err) < 0 ||
            container_info_get(store, name, &info, &err) < 0) {
                fprintf(stderr, "coi: %s\n", err.msg[0] ? err.msg : "out of memory");
                return 1;
        }
        if (!streq(info->status, "running")) {
                fprintf(stderr, "coi: container %s is %s, not running\n", name, info->status);
                return 1;
        }
        _cleanup_free_ char *rootfs = container_rootfs_path(store, name);
        _cleanup_close_ int rootfd = rootfs ? open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
        if (rootfd < 0) {
                fprintf(stderr, "coi: open the root of %s: %m\n", name);
                return 1;
        }
        /* Files pushed belong to the container's code user (uid 1000); pulled ones to the caller. */
        uid_t cu = info->ids.uid + 1000;
        gid_t cg = info->ids.gid + 1000;
        int r = 0;
        if (push) {
                struct stat st;
                _cleanup_close_ int in = open(local, O_RDONLY | O_CLOEXEC);
                if (in < 0 || fstat(in, &st) < 0) {
                        fprintf(stderr, "coi: open %s: %m\n", local);
                        return 1;
                }
                _cleanup_free_ char *dcopy = strdup(rpath), *bcopy = strdup(rpath);
                const char *dir = dirname(dcopy), *base = basename(bcopy);
                if (S_ISDIR(st.st_mode)) {
                        if (!rec) {
                                fprintf(stderr, "coi: %s is a directory (use -r)\n", local);
                                return 1;
                        }
                        _cleanup_close_ int parent = openat2_in_root(rootfd, dir, O_RDONLY | O_DIRECTORY);
                        if (parent < 0 || (mkdirat(parent, base, st.st_mode & 0777) < 0 && errno != EEXIST)) {
                                fprintf(stderr, "coi: create %s in %s: %m\n", rpath, name);
                                return 1;
                        }
                        _cleanup_close_ int dst =
                                openat(parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        r = dst < 0 || fchown(dst, cu, cg) < 0 ? -errno
                                                               : session_copy_tree(in, dst, cu, cg, 0, &err);
                } else {
                        _cleanup_close_ int parent = openat2_in_root(rootfd, dir, O_RDONLY | O_DIRECTORY);
                        r = parent < 0 ? -errno : copy_file(in, parent, base, st.st_mode, cu, cg);
                }
        } else {
                _cleanup_close_ int in = openat2_in_root(rootfd, rpath, O_RDONLY);
                struct stat st;
                if (in < 0 || fstat(in, &st) < 0) {
                        fprintf(stderr, "coi: open %s in %s: %m\n", rpath, name);
                        return 1;
                }
                _cleanup_free_ char *dcopy = strdup(local), *bcopy = strdup(local);
                const char *dir = dirname(dcopy), *base = basename(bcopy);
                _cleanup_close_ int parent = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (parent < 0) {
                        fprintf(stderr, "coi: open %s: %m\n", dir);
                        return 1;
                }
                if (S_ISDIR(st.st_mode)) {
                        if (!rec) {
                                fprintf(stderr, "coi: %s is a directory (use -r)\n", rpath);
                                return 1;
                        }
                        if (mkdirat(parent, base, 0755) < 0 && errno != EEXIST)
                                r = -errno;
                        _cleanup_close_ int dst =
                                r ? -1
                                  : openat(parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        r = r ?: dst < 0 ? -errno : session_copy_tree(in, dst, getuid(), getgid(), 0, &err);
                } else if (S_ISREG(st.st_mode)) {
                        r = copy_file(in, parent, base, st.st_mode, getuid(), getgid());
                } else {
                        fprintf(stderr, "coi: %s in %s is not a regular file or directory\n", rpath, name);
                        return 1;
                }
        }
        if (r < 0) {
                if (err.msg[0])
                        fprintf(stderr, "coi: %s\n", err.msg);
                else
                        fprintf(stderr, "coi: copy %s: %s\n", push ? local : rpath, strerror(-r));
                return 1;
        }
        return 0;
}

/* TRANSITIONAL (issue 18): parses its own argv until it takes a cli_call. */
const struct cli_command cli_cmd_file = { .name = "file",
                                          .summary = "Copy files into and out of containers",
                                          .raw = cmd_file };
