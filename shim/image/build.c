/* build.c — building images: run a recipe (RECIPE/build OUT.tar) or a script in a chroot of a copy of a
 * base image, in a private work directory of the store, then import the result; owns build.json. */
#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "json-util.h"
#include "base/archive-io.h"
#include "build.h"
#include "base/sha256.h"
#include "util.h"

#define CHROOT_PATH    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define SCRIPT_IN_ROOT "tmp/coi-build-script"

/* The work directory <store>/.tmp-build-XXXXXX: image.c's stale-tmpdir sweep also removes it if we
 * are killed with SIGKILL. */
struct workdir {
        int storefd;
        char *name;
        int fd;
};

static void workdir_done(struct workdir *w)
{
        if (w->name) {
                struct coi_error ignored = { 0 };
                remove_tree_at(w->storefd, w->name, &ignored);
                free(w->name);
        }
        closep(&w->fd);
        closep(&w->storefd);
}

static void report(const struct build_options *o, enum build_event ev, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void report(const struct build_options *o, enum build_event ev, const char *fmt, ...)
{
        if (!o->report)
                return;
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *text = NULL;
        if (vasprintf(&text, fmt, ap) >= 0)
                o->report(ev, text, o->userdata);
        va_end(ap);
}

static bool cancelled(const struct build_options *o)
{
        return o->cancel && *o->cancel;
}

/* ---- running a step's command ---- */

/* What the forked child does before exec; on failure it writes a message to errfd and returns. */
typedef void (*child_setup_fn)(void *data, int errfd);

static void child_fail(int errfd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void child_fail(int errfd, const char *fmt, ...)
{
        char buf[512];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (n > 0)
                write_all(errfd, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* Forks, sends the child's stdout and stderr line by line to the report callback, waits. The child is
 * the leader of its own process group so that a cancel reaches everything it started. what names the
 * command in errors ("images/default/build OUT.tar"). */
static int run_step(const struct build_options *o, const char *step, const char *what, child_setup_fn setup,
                    void *data, struct coi_error *err)
{
        int out[2], errp[2];
        if (pipe2(out, O_CLOEXEC) < 0)
                return coi_error_set(err, errno, "%s: pipe: %m", step);
        if (pipe2(errp, O_CLOEXEC) < 0) {
                int e = errno;
                close(out[0]);
                close(out[1]);
                return coi_error_set(err, e, "%s: pipe: %m", step);
        }
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid < 0) {
                int e = errno;
                close(out[0]);
                close(out[1]);
                close(errp[0]);
                close(errp[1]);
                return coi_error_set(err, e, "%s: fork: %m", step);
        }
        if (pid == 0) {
                setpgid(0, 0);
                /* If coi dies, the build dies with it (and its namespaces with their mounts). */
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                signal(SIGINT, SIG_DFL);
                signal(SIGTERM, SIG_DFL);
                int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out[1], 1) < 0 || dup2(out[1], 2) < 0)
                        _exit(127);
                setup(data, errp[1]);
                _exit(127);
        }
        close(out[1]);
        close(errp[1]);
        _cleanup_close_ int outfd = out[0];
        _cleanup_close_ int errfd = errp[0];

        /* Lines of output; a line longer than the buffer is passed on in pieces. Reading stops when the
         * child has exited and the pipe is drained, even if something it left running holds the pipe. */
        char buf[4096];
        size_t fill = 0;
        int status = 0;
        bool killed = false, exited = false, eof = false;
        while (!eof || !exited) {
                if (cancelled(o) && !killed) {
                        kill(-pid, SIGTERM);
                        killed = true;
                }
                if (!exited) {
                        pid_t w = waitpid(pid, &status, eof ? 0 : WNOHANG);
                        if (w == pid)
                                exited = true;
                        else if (w < 0 && errno != EINTR)
                                return coi_error_set(err, errno, "%s: wait for %s: %m", step, what);
                }
                if (eof)
                        continue;
                struct pollfd pfd = { .fd = outfd, .events = POLLIN };
                int pr = poll(&pfd, 1, exited ? 0 : 250);
                if (pr < 0 && errno == EINTR)
                        continue;
                if (pr <= 0) {
                        eof = pr < 0 || exited;
                        continue;
                }
                ssize_t n = read(outfd, buf + fill, sizeof(buf) - 1 - fill);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        eof = true;
                        continue;
                }
                fill += (size_t)n;
                char *start = buf, *nl;
                while ((nl = memchr(start, '\n', fill - (size_t)(start - buf)))) {
                        *nl = '\0';
                        if (o->report)
                                o->report(BUILD_EVENT_OUTPUT, start, o->userdata);
                        start = nl + 1;
                }
                fill -= (size_t)(start - buf);
                memmove(buf, start, fill);
                if (fill == sizeof(buf) - 1) {
                        buf[fill] = '\0';
                        if (o->report)
                                o->report(BUILD_EVENT_OUTPUT, buf, o->userdata);
                        fill = 0;
                }
        }
        if (fill > 0 && o->report) {
                buf[fill] = '\0';
                o->report(BUILD_EVENT_OUTPUT, buf, o->userdata);
        }
        /* whatever the step left running in its process group goes with it */
        kill(-pid, SIGKILL);
        char msg[512];
        ssize_t m = read(errfd, msg, sizeof(msg) - 1);
        if (m > 0) {
                msg[m] = '\0';
                return coi_error_set(err, EIO, "%s: %s: %s", step, what, msg);
        }
        if (cancelled(o))
                return coi_error_set(err, ECANCELED, "%s: interrupted", step);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (WIFEXITED(status))
                return coi_error_set(err, EIO, "%s: %s failed with exit status %d", step, what,
                                     WEXITSTATUS(status));
        return coi_error_set(err, EIO, "%s: %s killed by signal %d (%s)", step, what, WTERMSIG(status),
                             strsignal(WTERMSIG(status)));
}

/* ---- the recipe ---- */

struct recipe_child {
        const char *build; /* RECIPE/build */
        const char *out;
};

static void recipe_setup(void *data, int errfd)
{
        struct recipe_child *c = data;
        /* Whatever the recipe mounts (mmdebstrap mounts /proc, /sys, /dev in its chroot) lives in this
         * namespace and goes away with it, even if the recipe is killed half-way. */
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
                child_fail(errfd, "private mount namespace: %m");
                return;
        }
        execl(c->build, c->build, c->out, (char *)NULL);
        child_fail(errfd, "exec: %m");
}

static int run_recipe(const struct build_options *o, struct workdir *w, const char *out,
                      struct coi_error *err)
{
        _cleanup_free_ char *build = xasprintf("%s/build", o->recipe_dir);
        if (!build)
                return coi_error_set(err, ENOMEM, "recipe: %m");
        if (access(build, X_OK) < 0)
                return coi_error_set(err, errno,
                                     "recipe %s: %m (a recipe is a directory with an executable "
                                     "build script)",
                                     build);
        report(o, BUILD_EVENT_STEP, "run %s", build);
        _cleanup_free_ char *what = xasprintf("%s %s", build, out);
        struct recipe_child c = { .build = build, .out = out };
        int r = run_step(o, "step 'run recipe'", what ? what : build, recipe_setup, &c, err);
        if (r < 0)
                return r;
        struct stat st;
        if (fstatat(w->fd, "rootfs.tar", &st, 0) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
                return coi_error_set(err, EIO, "step 'run recipe': %s exited 0 but wrote no tar to %s", build,
                                     out);
        return 0;
}

/* ---- the chroot ---- */

struct chroot_child {
        const char *rootfs; /* the rootfs copy */
        char *const *argv;  /* run inside */
        bool bind_resolv;   /* etc/resolv.conf is a regular file to bind the host's over */
};

static int mount_inside(int rootfd, const char *path, const char *source, const char *fstype,
                        unsigned long flags, int errfd)
{
        /* Resolved inside the rootfs, so a symlinked /proc in the image can't aim a mount at the host. */
        _cleanup_close_ int fd = open_inside(rootfd, path, O_PATH | O_CLOEXEC);
        if (fd < 0) {
                child_fail(errfd, "chroot setup: /%s: %m", path);
                return -1;
        }
        char target[64];
        snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
        if (mount(source, target, fstype, flags, NULL) < 0) {
                child_fail(errfd, "chroot setup: mount %s on /%s: %m", source, path);
                return -1;
        }
        return 0;
}

static void chroot_setup(void *data, int errfd)
{
        struct chroot_child *c = data;
        /* A mount and a PID namespace: the mounts below exist only for this build, and when the
         * script's process (PID 1 there) ends, anything it left running is killed by the kernel. */
        if (unshare(CLONE_NEWNS | CLONE_NEWPID) < 0 ||
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
                child_fail(errfd, "chroot setup: namespaces: %m");
                return;
        }
        pid_t pid = fork();
        if (pid < 0) {
                child_fail(errfd, "chroot setup: fork: %m");
                return;
        }
        if (pid > 0) {
                int status;
                while (waitpid(pid, &status, 0) < 0)
                        if (errno != EINTR)
                                _exit(127);
                if (WIFEXITED(status))
                        _exit(WEXITSTATUS(status));
                /* pass the signal on as a status the parent can name */
                signal(WTERMSIG(status), SIG_DFL);
                kill(getpid(), WTERMSIG(status));
                _exit(128 + WTERMSIG(status));
        }
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* Opened again in the new mount namespace: a mount on a directory reached through an fd from
         * the old one fails with EINVAL (its mount is not in the caller's namespace). */
        int rootfd = open(c->rootfs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (rootfd < 0) {
                child_fail(errfd, "chroot setup: %s: %m", c->rootfs);
                _exit(127);
        }
        if (mount_inside(rootfd, "proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, errfd) < 0 ||
            mount_inside(rootfd, "dev", "/dev", NULL, MS_BIND | MS_REC, errfd) < 0 ||
            mount_inside(rootfd, "sys", "sysfs", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                         errfd) < 0)
                _exit(127);
        if (c->bind_resolv &&
            mount_inside(rootfd, "etc/resolv.conf", "/etc/resolv.conf", NULL, MS_BIND, errfd) < 0)
                _exit(127);
        if (fchdir(rootfd) < 0 || chroot(".") < 0 || chdir("/") < 0) {
                child_fail(errfd, "chroot: %m");
                _exit(127);
        }
        /* read-only: a script that writes /etc/resolv.conf must not write the host's */
        if (c->bind_resolv &&
            mount(NULL, "/etc/resolv.conf", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0) {
                child_fail(errfd, "chroot setup: remount /etc/resolv.conf read-only: %m");
                _exit(127);
        }
        char *envp[] = { "PATH=" CHROOT_PATH, "HOME=/root", "LANG=C.UTF-8", "DEBIAN_FRONTEND=noninteractive",
                         "COI_BUILD=1",       NULL };
        execve(c->argv[0], c->argv, envp);
        child_fail(errfd, "exec %s in the chroot: %m", c->argv[0]);
        _exit(127);
}

/* Copies the base image's rootfs with cp -a (owners, modes, xattrs, hardlinks, devices, setuid). */
struct copy_child {
        const char *from, *to;
};

static void copy_setup(void *data, int errfd)
{
        struct copy_child *c = data;
        execl("/bin/cp", "cp", "-a", "--reflink=auto", c->from, c->to, (char *)NULL);
        child_fail(errfd, "exec /bin/cp: %m");
}

static int write_script(int rootfd, const char *script, bool *ret_shebang, struct coi_error *err)
{
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int r = read_file_at(AT_FDCWD, script, 0, &data, &len, err);
        if (r < 0)
                return r;
        _cleanup_close_ int tmpfd = open_inside(rootfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (tmpfd < 0)
                return coi_error_set(err, errno, "base rootfs /tmp: %m");
        unlinkat(tmpfd, "coi-build-script", 0);
        _cleanup_close_ int fd =
                openat(tmpfd, "coi-build-script", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
        if (fd < 0 || write_all(fd, data, len) < 0)
                return coi_error_set(err, errno, "/%s in the rootfs: %m", SCRIPT_IN_ROOT);
        *ret_shebang = len >= 2 && data[0] == '#' && data[1] == '!';
        return 0;
}

static int run_in_chroot(const struct build_options *o, int rootfd, const char *rootfs, struct coi_error *err)
{
        /* DNS for apt-get and npm: the host's resolv.conf over the image's, for the build only. An image
         * whose resolv.conf is a symlink (systemd-resolved) or missing gets an empty file for the time of
         * the build. */
        struct stat st;
        bool created_resolv = false;
        _cleanup_close_ int etcfd = open_inside(rootfd, "etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (etcfd < 0)
                return coi_error_set(err, errno, "base rootfs /etc: %m");
        if (fstatat(etcfd, "resolv.conf", &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) {
                _cleanup_close_ int fd =
                        openat(etcfd, "resolv.conf", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                created_resolv = fd >= 0;
        }
        bool bind_resolv = fstatat(etcfd, "resolv.conf", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                           S_ISREG(st.st_mode) && access("/etc/resolv.conf", R_OK) == 0;

        int r = 0;
        if (o->script) {
                bool shebang = false;
                r = write_script(rootfd, o->script, &shebang, err);
                if (r == 0) {
                        char *sh_argv[] = { "/bin/sh", "-e", "/" SCRIPT_IN_ROOT, NULL };
                        char *exec_argv[] = { "/" SCRIPT_IN_ROOT, NULL };
                        struct chroot_child c = { rootfs, shebang ? exec_argv : sh_argv, bind_resolv };
                        _cleanup_free_ char *step = xasprintf("step 'script %s'", o->script);
                        report(o, BUILD_EVENT_STEP, "chroot: run %s", o->script);
                        r = run_step(o, step ? step : "step 'script'", o->script, chroot_setup, &c, err);
                }
                _cleanup_close_ int tmpfd = open_inside(rootfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (tmpfd >= 0)
                        unlinkat(tmpfd, "coi-build-script", 0);
        }
        for (size_t i = 0; r == 0 && o->commands && o->commands[i]; i++) {
                char *argv[] = { "/bin/sh", "-c", o->commands[i], NULL };
                struct chroot_child c = { rootfs, argv, bind_resolv };
                _cleanup_free_ char *step =
                        xasprintf("step 'command %zu/%zu'", i + 1, strv_length(o->commands));
                report(o, BUILD_EVENT_STEP, "chroot: %s", o->commands[i]);
                r = run_step(o, step ? step : "step 'command'", o->commands[i], chroot_setup, &c, err);
        }
        if (created_resolv)
                unlinkat(etcfd, "resolv.conf", 0);
        return r;
}

static int build_from_base(const struct build_options *o, struct image_store *s, struct workdir *w,
                           const char *wpath, const char *out, struct image_info **ret_base,
                           struct coi_error *err)
{
        _cleanup_(image_info_freep) struct image_info *base = NULL;
        int r = image_lookup(s, o->base, &base, err);
        if (r < 0)
                return r == -ENOENT ? coi_error_set(err, ENOENT,
                                                    "base image %s not found (build it first: coi build%s)",
                                                    o->base,
                                                    streq(o->base, BUILD_DEFAULT_IMAGE) ? "" : " --profile …")
                                    : r;
        _cleanup_free_ char *from = xasprintf("%s/%s/rootfs", image_store_path(s), base->name);
        _cleanup_free_ char *to = xasprintf("%s/rootfs", wpath);
        if (!from || !to)
                return coi_error_set(err, ENOMEM, "build: %m");
        report(o, BUILD_EVENT_STEP, "copy base image %s", base->name);
        struct copy_child c = { from, to };
        _cleanup_free_ char *what = xasprintf("cp -a %s %s", from, to);
        r = run_step(o, "step 'copy base image'", what ? what : "cp -a", copy_setup, &c, err);
        if (r < 0)
                return r;
        _cleanup_close_ int rootfd = openat(w->fd, "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (rootfd < 0)
                return coi_error_set(err, errno, "%s: %m", to);
        r = run_in_chroot(o, rootfd, to, err);
        if (r < 0)
                return r;

        report(o, BUILD_EVENT_STEP, "pack rootfs");
        _cleanup_close_ int tarfd =
                openat(w->fd, "rootfs.tar", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (tarfd < 0)
                return coi_error_set(err, errno, "step 'pack rootfs': %s: %m", out);
        r = archive_write_tree(rootfd, tarfd, "none", out, NULL, NULL, err);
        if (r < 0)
                return r;
        /* the rootfs copy is not needed any more: free the space before the import needs it */
        struct coi_error ignored = { 0 };
        remove_tree_at(w->fd, "rootfs", &ignored);
        *ret_base = TAKE_PTR(base);
        return 0;
}

/* ---- import and build.json ---- */

static int import_progress(const struct extract_progress *p _unused_, void *userdata)
{
        const struct build_options *o = userdata;
        return cancelled(o) ? -1 : 0;
}

static void gen_freep(yajl_gen *g)
{
        if (*g)
                yajl_gen_free(*g);
}

static int gen_pair(yajl_gen g, const char *key, const char *value)
{
        if (!value)
                return 0;
        if (yajl_gen_string(g, (const unsigned char *)key, strlen(key)) != yajl_gen_status_ok ||
            yajl_gen_string(g, (const unsigned char *)value, strlen(value)) != yajl_gen_status_ok)
                return -ENOMEM;
        return 0;
}

static int record_write(struct image_store *s, const char *name, const struct build_record *rec,
                        struct coi_error *err)
{
        _cleanup_(gen_freep) yajl_gen g = yajl_gen_alloc(NULL);
        if (!g)
                return coi_error_set(err, ENOMEM, "%s: %m", BUILD_RECORD_FILE);
        yajl_gen_config(g, yajl_gen_beautify, 1);
        int r = yajl_gen_map_open(g) == yajl_gen_status_ok ? 0 : -ENOMEM;
        r = r ?: gen_pair(g, "recipe", rec->recipe) ?: gen_pair(g, "recipe_hash", rec->recipe_hash);
        r = r ?: gen_pair(g, "base", rec->base) ?: gen_pair(g, "base_digest", rec->base_digest);
        r = r ?: gen_pair(g, "profile", rec->profile) ?: gen_pair(g, "script_hash", rec->script_hash);
        if (!r && (yajl_gen_string(g, (const unsigned char *)"seconds", 7) != yajl_gen_status_ok ||
                   yajl_gen_double(g, rec->seconds) != yajl_gen_status_ok ||
                   yajl_gen_map_close(g) != yajl_gen_status_ok))
                r = -ENOMEM;
        const unsigned char *buf;
        size_t len;
        if (r < 0 || yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
                return coi_error_set(err, ENOMEM, "%s: cannot generate JSON", BUILD_RECORD_FILE);
        _cleanup_free_ char *path = xasprintf("%s/%s/%s", image_store_path(s), name, BUILD_RECORD_FILE);
        if (!path)
                return coi_error_set(err, ENOMEM, "%s: %m", BUILD_RECORD_FILE);
        return write_file_atomic_at(AT_FDCWD, path, buf, len, 0644, err);
}

static char *sha256_of_strings(const char *a, char *const *list)
{
        struct sha256_ctx c;
        sha256_init(&c);
        if (a)
                sha256_update(&c, a, strlen(a));
        for (size_t i = 0; list && list[i]; i++)
                sha256_update(&c, list[i], strlen(list[i]) + 1);
        char hex[65];
        sha256_final_hex(&c, hex);
        return strdup(hex);
}

int build_image(struct image_store *s, const struct build_options *o, struct image_info **ret_info,
                struct coi_error *err)
{
        if (!o->name || (!o->recipe_dir && !o->base) || (o->recipe_dir && o->base))
                return coi_error_set(err, EINVAL, "build: give a recipe directory or a base image");
        if (o->base && !o->script && !(o->commands && o->commands[0]))
                return coi_error_set(err, EINVAL, "build of %s: no build script and no build commands",
                                     o->name);
        uint64_t start = now_ns();

        /* Cheap early refusal; image_import checks again. */
        _cleanup_(image_info_freep) struct image_info *existing = NULL;
        struct coi_error ignored = { 0 };
        if (!o->force && image_lookup(s, o->name, &existing, &ignored) == 0)
                return coi_error_set(err, EEXIST, "image %s already exists (use --force to rebuild it)",
                                     o->name);

        struct build_record rec = { 0 };
        char recipe_hash[65];
        _cleanup_free_ char *recipe = NULL;
        if (o->recipe_dir) {
                recipe = realpath(o->recipe_dir, NULL);
                if (!recipe)
                        return coi_error_set(err, errno, "recipe %s: %m", o->recipe_dir);
                int r = build_recipe_hash(recipe, recipe_hash, err);
                if (r < 0)
                        return r;
                rec.recipe = recipe;
                rec.recipe_hash = recipe_hash;
        }

        _cleanup_(workdir_done) struct workdir w = { .storefd = -1, .fd = -1 };
        _cleanup_free_ char *wpath = xasprintf("%s/.tmp-build-XXXXXX", image_store_path(s));
        if (!wpath || !mkdtemp(wpath))
                return coi_error_set(err, wpath ? errno : ENOMEM, "create work directory in %s: %m",
                                     image_store_path(s));
        w.storefd = open(image_store_path(s), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        w.name = strdup(strrchr(wpath, '/') + 1);
        if (w.storefd < 0 || !w.name)
                return coi_error_set(err, w.name ? errno : ENOMEM, "%s: %m", image_store_path(s));
        w.fd = openat(w.storefd, w.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (w.fd < 0)
                return coi_error_set(err, errno, "%s: %m", wpath);
        _cleanup_free_ char *out = xasprintf("%s/rootfs.tar", wpath);
        if (!out)
                return coi_error_set(err, ENOMEM, "build: %m");

        struct build_options opts = *o;
        if (recipe)
                opts.recipe_dir = recipe;
        _cleanup_(image_info_freep) struct image_info *base = NULL;
        _cleanup_free_ char *script_hash = NULL;
        int r;
        if (o->recipe_dir) {
                r = run_recipe(&opts, &w, out, err);
        } else {
                r = build_from_base(&opts, s, &w, wpath, out, &base, err);
                if (r == 0) {
                        _cleanup_free_ char *script = NULL;
                        if (o->script && read_file_at(AT_FDCWD, o->script, 0, &script, NULL, &ignored) < 0)
                                script = NULL;
                        script_hash = sha256_of_strings(script, o->commands);
                        rec.base = base->name;
                        rec.base_digest = base->digest;
                        rec.script_hash = script_hash;
                }
        }
        if (r < 0)
                return r;

        report(o, BUILD_EVENT_STEP, "import as %s", o->name);
        struct image_import_options io = {
                .file = out,
                .name = o->name,
                .force = o->force,
                /* our own build: sudo needs its setuid bit, the rootfs its device nodes */
                .flags = EXTRACT_DEVICES | EXTRACT_SETID,
                .progress = import_progress,
                .progress_data = (void *)o,
        };
        _cleanup_(image_info_freep) struct image_info *info = NULL;
        r = image_import(s, &io, &info, NULL, err);
        if (r < 0)
                return r == -ECANCELED ? coi_error_set(err, ECANCELED, "step 'import': interrupted") : r;
        rec.profile = (char *)o->profile;
        rec.seconds = (double)(now_ns() - start) / 1e9;
        r = record_write(s, info->name, &rec, err);
        if (r < 0)
                return r;
        if (ret_info)
                *ret_info = TAKE_PTR(info);
        return 0;
}

/* ---- recipe hash ---- */

static int hash_dir(struct sha256_ctx *c, int dirfd, const char *prefix, struct coi_error *err)
{
        struct dirent **list = NULL;
        int n = scandirat(dirfd, ".", &list, NULL, alphasort);
        if (n < 0)
                return coi_error_set(err, errno, "recipe %s: %m", prefix[0] ? prefix : ".");
        int r = 0;
        for (int i = 0; i < n; i++) {
                const char *name = list[i]->d_name;
                if (r < 0 || streq(name, ".") || streq(name, "..")) {
                        free(list[i]);
                        continue;
                }
                _cleanup_free_ char *rel = xasprintf("%s%s", prefix, name);
                struct stat st;
                if (!rel) {
                        r = coi_error_set(err, ENOMEM, "recipe: %m");
                } else if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = coi_error_set(err, errno, "recipe %s: %m", rel);
                } else if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int sub =
                                openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        _cleanup_free_ char *subprefix = xasprintf("%s/", rel);
                        if (sub < 0 || !subprefix)
                                r = coi_error_set(err, sub < 0 ? errno : ENOMEM, "recipe %s: %m", rel);
                        else
                                r = hash_dir(c, sub, subprefix, err);
                } else {
                        char kind = S_ISLNK(st.st_mode) ? 'l' : (st.st_mode & 0111) ? 'x' : 'f';
                        sha256_update(c, rel, strlen(rel) + 1);
                        sha256_update(c, &kind, 1);
                        _cleanup_free_ char *data = NULL;
                        size_t len = 0;
                        if (S_ISLNK(st.st_mode)) {
                                char target[PATH_MAX];
                                ssize_t m = readlinkat(dirfd, name, target, sizeof(target));
                                if (m < 0)
                                        r = coi_error_set(err, errno, "recipe %s: %m", rel);
                                else
                                        sha256_update(c, target, (size_t)m);
                        } else if (S_ISREG(st.st_mode)) {
                                r = read_file_at(dirfd, name, 0, &data, &len, err);
                                if (r == 0)
                                        sha256_update(c, data, len);
                        }
                }
                free(list[i]);
        }
        free(list);
        return r;
}

int build_recipe_hash(const char *dir, char ret_hex[65], struct coi_error *err)
{
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return coi_error_set(err, errno, "recipe %s: %m", dir);
        struct sha256_ctx c;
        sha256_init(&c);
        int r = hash_dir(&c, fd, "", err);
        if (r < 0)
                return r;
        sha256_final_hex(&c, ret_hex);
        return 0;
}

/* ---- reading build.json ---- */

void build_record_done(struct build_record *r)
{
        free(r->recipe);
        free(r->recipe_hash);
        free(r->base);
        free(r->base_digest);
        free(r->profile);
        free(r->script_hash);
        *r = (struct build_record){ 0 };
}

int build_record_read(struct image_store *s, const char *name, struct build_record *ret,
                      struct coi_error *err)
{
        _cleanup_(image_info_freep) struct image_info *info = NULL;
        int r = image_lookup(s, name, &info, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *path = xasprintf("%s/%s/%s", image_store_path(s), info->name, BUILD_RECORD_FILE);
        _cleanup_free_ char *data = NULL;
        if (!path)
                return coi_error_set(err, ENOMEM, "%s: %m", BUILD_RECORD_FILE);
        r = read_file_at(AT_FDCWD, path, 1 << 20, &data, NULL, err);
        if (r < 0)
                return r;
        char errbuf[128];
        yajl_val root = yajl_tree_parse(data, errbuf, sizeof(errbuf));
        if (!root || !YAJL_IS_OBJECT(root)) {
                yajl_tree_free(root);
                return coi_error_set(err, EINVAL, "%s: not a JSON object", path);
        }
        struct build_record rec = {
                .recipe = json_strdup(root, "recipe"),
                .recipe_hash = json_strdup(root, "recipe_hash"),
                .base = json_strdup(root, "base"),
                .base_digest = json_strdup(root, "base_digest"),
                .profile = json_strdup(root, "profile"),
                .script_hash = json_strdup(root, "script_hash"),
        };
        const char *spath[] = { "seconds", NULL };
        yajl_val v = yajl_tree_get(root, spath, yajl_t_number);
        if (v)
                rec.seconds = YAJL_GET_DOUBLE(v);
        yajl_tree_free(root);
        *ret = rec;
        return 0;
}
