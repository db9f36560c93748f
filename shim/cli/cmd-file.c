/* cmd-file.c — `coi file push [-r] LOCAL CONTAINER:PATH` and `coi file pull [-r] CONTAINER:PATH LOCAL`:
 * copies through the container's mounted root, resolved as the container sees it (symlinks stay inside). */
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>

#include "commands.h"
#include "session/session-run.h"
#include "util.h"

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

/* The running container a copy goes into or comes out of: its root, its ids, the path in it. */
struct remote {
        char *name, *path;
        struct container_info *info;
        int rootfd;
};

static void remote_done(struct remote *rm)
{
        free(rm->name);
        free(rm->path);
        container_info_free(rm->info);
        closep(&rm->rootfd);
}

/* Splits "<container>:<absolute path>" (what: "destination" or "source") and opens the container's root.
 * 0, or the exit code once the error is printed. */
static int remote_open(const char *arg, const char *what, struct remote *rm)
{
        const char *colon = strchr(arg, ':');
        if (!colon || colon == arg || colon[1] != '/')
                return cli_error(2, "%s must be in format 'container:path' (an absolute path): %s", what,
                                 arg);
        rm->name = strndup(arg, (size_t)(colon - arg));
        rm->path = strdup(colon + 1);
        if (!rm->name || !rm->path)
                return cli_error(1, "out of memory");
        struct coi_error err = { 0 };
        _cleanup_(container_store_freep) struct container_store *store = NULL;
        if (container_store_open(&store, &err) < 0 ||
            container_info_get(store, rm->name, &rm->info, &err) < 0)
                return cli_error(1, "%s", err.msg);
        if (!streq(rm->info->status, "running"))
                return cli_error(1, "container %s is %s, not running", rm->name, rm->info->status);
        _cleanup_free_ char *rootfs = container_rootfs_path(store, rm->name);
        rm->rootfd = rootfs ? open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
        if (rm->rootfd < 0)
                return cli_error(1, "open the root of %s: %s", rm->name, strerror(errno));
        return 0;
}

/* The end of a copy: r from the copying, err filled when it says more than errno. */
static int copy_result(int r, const struct coi_error *err, const char *what)
{
        if (r >= 0)
                return 0;
        if (err->msg[0])
                return cli_error(1, "%s", err->msg);
        return cli_error(1, "copy %s: %s", what, strerror(-r));
}

static int cmd_push(const struct cli_call *call)
{
        const char *local = call->args[0];
        _cleanup_(remote_done) struct remote rm = { .rootfd = -1 };
        int r = remote_open(call->args[1], "destination", &rm);
        if (r)
                return r;
        struct stat st;
        _cleanup_close_ int in = open(local, O_RDONLY | O_CLOEXEC);
        if (in < 0 || fstat(in, &st) < 0)
                return cli_error(1, "open %s: %s", local, strerror(errno));
        if (S_ISDIR(st.st_mode) && !cli_bool(call, "recursive"))
                return cli_error(2, "source is a directory, use -r flag: %s", local);
        /* What arrives belongs to the container's code user (uid 1000). */
        uid_t cu = rm.info->ids.uid + 1000;
        gid_t cg = rm.info->ids.gid + 1000;
        _cleanup_free_ char *dcopy = strdup(rm.path), *bcopy = strdup(rm.path);
        if (!dcopy || !bcopy)
                return cli_error(1, "out of memory");
        const char *dir = dirname(dcopy), *base = basename(bcopy);
        _cleanup_close_ int parent = openat2_in_root(rm.rootfd, dir, O_RDONLY | O_DIRECTORY);
        struct coi_error err = { 0 };
        if (!S_ISDIR(st.st_mode)) {
                r = parent < 0 ? -errno : copy_file(in, parent, base, st.st_mode, cu, cg);
                return copy_result(r, &err, local);
        }
        if (parent < 0 || (mkdirat(parent, base, st.st_mode & 0777) < 0 && errno != EEXIST))
                return cli_error(1, "create %s in %s: %s", rm.path, rm.name, strerror(errno));
        _cleanup_close_ int dst = openat(parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        r = dst < 0 || fchown(dst, cu, cg) < 0 ? -errno : session_copy_tree(in, dst, cu, cg, 0, &err);
        return copy_result(r, &err, local);
}

static int cmd_pull(const struct cli_call *call)
{
        const char *local = call->args[1];
        _cleanup_(remote_done) struct remote rm = { .rootfd = -1 };
        int r = remote_open(call->args[0], "source", &rm);
        if (r)
                return r;
        _cleanup_close_ int in = openat2_in_root(rm.rootfd, rm.path, O_RDONLY);
        struct stat st;
        if (in < 0 || fstat(in, &st) < 0)
                return cli_error(1, "open %s in %s: %s", rm.path, rm.name, strerror(errno));
        if (S_ISDIR(st.st_mode) && !cli_bool(call, "recursive"))
                return cli_error(2, "source is a directory, use -r flag: %s:%s", rm.name, rm.path);
        if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
                return cli_error(1, "%s in %s is not a regular file or directory", rm.path, rm.name);
        /* What arrives belongs to the caller. */
        _cleanup_free_ char *dcopy = strdup(local), *bcopy = strdup(local);
        if (!dcopy || !bcopy)
                return cli_error(1, "out of memory");
        const char *dir = dirname(dcopy), *base = basename(bcopy);
        _cleanup_close_ int parent = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (parent < 0)
                return cli_error(1, "open %s: %s", dir, strerror(errno));
        struct coi_error err = { 0 };
        if (S_ISREG(st.st_mode))
                return copy_result(copy_file(in, parent, base, st.st_mode, getuid(), getgid()), &err,
                                   rm.path);
        if (mkdirat(parent, base, 0755) < 0 && errno != EEXIST)
                return copy_result(-errno, &err, rm.path);
        _cleanup_close_ int dst = openat(parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        r = dst < 0 ? -errno : session_copy_tree(in, dst, getuid(), getgid(), 0, &err);
        return copy_result(r, &err, rm.path);
}

static const struct cli_flag push_flags[] = {
        { .name = "recursive",
          .shorthand = 'r',
          .type = CLI_BOOL,
          .help = "push a directory and all below it" },
        { 0 },
};
static const struct cli_flag pull_flags[] = {
        { .name = "recursive",
          .shorthand = 'r',
          .type = CLI_BOOL,
          .help = "pull a directory and all below it" },
        { 0 },
};

static const struct cli_command push_cmd = {
        .name = "push",
        .use = "<local-path> <container>:<remote-path>",
        .summary = "Copy a host file or directory into a container",
        .description = "Copy a host file (or with -r a directory) into a running container. What arrives\n"
                       "belongs to the container's code user (uid 1000); the remote path is resolved as the\n"
                       "container sees it.\n"
                       "\n"
                       "Examples:\n"
                       "  coi file push ./config.json my-container:/workspace/config.json\n"
                       "  coi file push -r ./src my-container:/workspace/src",
        .flags = push_flags,
        .args = CLI_ARGS_EXACT,
        .n = 2,
        .run = cmd_push,
};
static const struct cli_command pull_cmd = {
        .name = "pull",
        .use = "<container>:<remote-path> <local-path>",
        .summary = "Copy a file or directory out of a container",
        .description = "Copy a file (or with -r a directory) out of a running container; it belongs to you.\n"
                       "Symlinks resolve inside the container, never to the host's files.\n"
                       "\n"
                       "Example:\n"
                       "  coi file pull -r my-container:/home/code/.claude ./saved-session",
        .flags = pull_flags,
        .args = CLI_ARGS_EXACT,
        .n = 2,
        .run = cmd_pull,
};

static const struct cli_command *const file_commands[] = { &push_cmd, &pull_cmd, NULL };

const struct cli_command cli_cmd_file = {
        .name = "file",
        .summary = "Copy files into and out of containers",
        .description = "Push files and directories from the host into a container and pull them out.",
        .subcommands = file_commands,
};
