/* test-cgroup.c — the cgroup v2 module against the real cgroupfs: layout, paths, create, enter, freeze,
 * kill, destroy, limits. Everything lives under <cgroup2 mount>/coi-test-<pid>, removed even on failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "cgroup.h"
#include "util.h"

static struct cgroup_hierarchy hier;
static char base[512]; /* <mount>/coi-test-<pid> */
static pid_t children[16];
static size_t n_children;

/* ---- helpers ---- */

static void sleep_ms(long ms)
{
        nanosleep(&(struct timespec){ .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L }, NULL);
}

static char *sub(const char *name)
{
        static char buf[4][1024];
        static int i;
        char *b = buf[i++ % 4];
        snprintf(b, sizeof(buf[0]), "%s/%s", base, name);
        return b;
}

static char *read_text(const char *path)
{
        char *data = NULL;
        if (read_file_at(AT_FDCWD, path, 0, &data, NULL, NULL) < 0)
                return NULL;
        size_t n = strlen(data);
        while (n && data[n - 1] == '\n')
                data[--n] = '\0';
        return data;
}

static bool file_has_line(const char *path, const char *line)
{
        _cleanup_free_ char *data = read_text(path);
        if (!data)
                return false;
        for (char *p = data; p;) {
                size_t n = strcspn(p, "\n");
                if (n == strlen(line) && strncmp(p, line, n) == 0)
                        return true;
                p = p[n] ? p + n + 1 : NULL;
        }
        return false;
}

/* fork() for the tests: the child dies with the test process, the parent remembers it for the cleanup. */
static pid_t fork_child(void)
{
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                prctl(PR_SET_PDEATHSIG, SIGKILL);
        else
                children[n_children++] = pid;
        return pid;
}

/* A child that, once released, writes one byte to `out` every 2 ms forever (a progress counter). */
static pid_t spawn_ticker(int *ret_out_fd)
{
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid_t pid = fork_child();
        if (pid == 0) {
                close(p[0]);
                for (;;) {
                        if (write(p[1], "x", 1) < 0 && errno != EAGAIN)
                                _exit(1);
                        sleep_ms(2);
                }
        }
        close(p[1]);
        int fl = fcntl(p[0], F_GETFL);
        fcntl(p[0], F_SETFL, fl | O_NONBLOCK);
        *ret_out_fd = p[0];
        return pid;
}

/* A child that just sleeps. */
static pid_t spawn_sleeper(void)
{
        pid_t pid = fork_child();
        if (pid == 0)
                for (;;)
                        pause();
        return pid;
}

static void usr1_handler(int sig)
{
        _exit(42);
}

/* A child that exits 42 on SIGUSR1; returns once the handler is in place. */
static pid_t spawn_usr1_catcher(void)
{
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid_t pid = fork_child();
        if (pid == 0) {
                signal(SIGUSR1, usr1_handler);
                (void)!write(p[1], "r", 1);
                for (;;)
                        pause();
        }
        close(p[1]);
        char c;
        assert_int_equal(read(p[0], &c, 1), 1);
        close(p[0]);
        return pid;
}

static void forget_child(pid_t pid)
{
        for (size_t i = 0; i < n_children; i++)
                if (children[i] == pid)
                        children[i] = 0;
}

/* Waits for pid with a bound; returns its wait status or -1 on timeout. */
static int wait_child(pid_t pid, int timeout_ms)
{
        for (int t = 0; t < timeout_ms; t += 10) {
                int status;
                pid_t r = waitpid(pid, &status, WNOHANG);
                if (r == pid) {
                        forget_child(pid);
                        return status;
                }
                sleep_ms(10);
        }
        return -1;
}

static bool pid_listed(const char *path, pid_t pid)
{
        struct coi_error err = { 0 };
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        assert_int_equal(cgroup_list_pids(path, &pids, &n, &err), 0);
        for (size_t i = 0; i < n; i++)
                if (pids[i] == pid)
                        return true;
        return false;
}

static int make_cgroup(const char *path, const struct oci_resources *res)
{
        struct coi_error err = { 0 };
        int fd = -1;
        int r = cgroup_create(&hier, path, res, &fd, &err);
        if (r < 0)
                fail_msg("cgroup_create %s: %s", path, err.msg);
        return fd;
}

/* Removes a tree bottom-up without the module under test, so cleanup works even if it is broken. */
static void remove_tree(const char *path)
{
        _cleanup_free_ char *kill_file = xasprintf("%s/cgroup.kill", path);
        int fd = open(kill_file, O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
                (void)!write(fd, "1", 1);
                close(fd);
        }
        _cleanup_closedir_ DIR *d = opendir(path);
        if (!d)
                return;
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *child = xasprintf("%s/%s", path, de->d_name);
                remove_tree(child);
        }
        for (int i = 0; i < 100 && rmdir(path) < 0 && errno == EBUSY; i++)
                sleep_ms(10);
}

struct log_capture {
        char text[8192];
        int warnings;
};

static void capture_log(enum coi_log_level level, const char *msg, void *userdata)
{
        struct log_capture *c = userdata;
        if (level == COI_LOG_WARNING)
                c->warnings++;
        size_t n = strlen(c->text);
        snprintf(c->text + n, sizeof(c->text) - n, "%d:%s\n", (int)level, msg);
}

static int setup(void **state)
{
        struct coi_error err = { 0 };
        if (geteuid() != 0 || cgroup_hierarchy_detect(&hier, &err) < 0) {
                fprintf(stderr, "test-cgroup: needs root and a cgroup2 hierarchy (%s)\n", err.msg);
                return 0;
        }
        /* Leftovers of runs that crashed before their teardown (their pid is gone). */
        _cleanup_closedir_ DIR *d = opendir(hier.mount_point);
        for (struct dirent *de; d && (de = readdir(d));) {
                int old;
                if (sscanf(de->d_name, "coi-test-%d", &old) == 1 && old > 0 && kill(old, 0) < 0 &&
                    errno == ESRCH) {
                        _cleanup_free_ char *stale = xasprintf("%s/%s", hier.mount_point, de->d_name);
                        remove_tree(stale);
                }
        }
        snprintf(base, sizeof(base), "%s/coi-test-%d", hier.mount_point, (int)getpid());
        if (mkdir(base, 0755) < 0) {
                fprintf(stderr, "mkdir %s: %m\n", base);
                base[0] = '\0';
        }
        return 0;
}

static int teardown(void **state)
{
        for (size_t i = 0; i < n_children; i++)
                if (children[i] > 0) {
                        kill(children[i], SIGKILL);
                        waitpid(children[i], NULL, 0);
                }
        if (base[0])
                remove_tree(base);
        return 0;
}

#define REQUIRE_CGROUP2()                                                                                    \
        do {                                                                                                 \
                if (!base[0])                                                                                \
                        skip();                                                                              \
        } while (0)

/* ---- tests ---- */

/* The layout agrees with what /proc/self/mountinfo says about where cgroup2 is mounted. */
static void test_detect_layout(void **state)
{
        REQUIRE_CGROUP2();
        _cleanup_free_ char *mountinfo = read_text("/proc/self/mountinfo");
        assert_non_null(mountinfo);
        bool v2_root = false, v2_unified = false;
        for (char *line = strtok(mountinfo, "\n"); line; line = strtok(NULL, "\n")) {
                char mp[512];
                const char *sep = strstr(line, " - ");
                if (!sep || sscanf(line, "%*s %*s %*s %*s %511s", mp) != 1)
                        continue;
                if (!startswith(sep, " - cgroup2 "))
                        continue;
                v2_root |= streq(mp, "/sys/fs/cgroup");
                v2_unified |= streq(mp, "/sys/fs/cgroup/unified");
        }
        if (v2_root) {
                assert_int_equal(hier.layout, CGROUP_LAYOUT_UNIFIED);
                assert_string_equal(hier.mount_point, "/sys/fs/cgroup");
        } else {
                assert_true(v2_unified);
                assert_int_equal(hier.layout, CGROUP_LAYOUT_HYBRID);
                assert_string_equal(hier.mount_point, "/sys/fs/cgroup/unified");
        }
        _cleanup_free_ char *ctl_file = xasprintf("%s/cgroup.controllers", hier.mount_point);
        _cleanup_free_ char *ctl = read_text(ctl_file);
        assert_non_null(ctl);
        assert_string_equal(hier.controllers, ctl);
}

static void expect_path(const char *cgroups_path, const char *id, const char *want_rel)
{
        struct coi_error err = { 0 };
        _cleanup_free_ char *path = NULL;
        int r = cgroup_resolve_path(&hier, cgroups_path, id, &path, &err);
        if (r < 0)
                fail_msg("resolve \"%s\": %s", cgroups_path ? cgroups_path : "(null)", err.msg);
        _cleanup_free_ char *want = xasprintf("%s/%s", hier.mount_point, want_rel);
        assert_string_equal(path, want);
}

static void expect_refused(const char *cgroups_path, const char *needle)
{
        struct coi_error err = { 0 };
        char *path = NULL;
        assert_int_equal(cgroup_resolve_path(&hier, cgroups_path, "c1", &path, &err), -EINVAL);
        assert_null(path);
        if (!strstr(err.msg, needle))
                fail_msg("resolve \"%s\": message \"%s\" lacks \"%s\"", cgroups_path, err.msg, needle);
}

static void test_resolve_path(void **state)
{
        REQUIRE_CGROUP2();
        expect_path("/coi/c1", "c1", "coi/c1");
        expect_path("//coi/./c1/", "c1", "coi/c1");
        expect_path(NULL, "c1", "c1");
        expect_path("", "c2", "c2");
        expect_refused("/coi/../../etc", "\"..\"");
        expect_refused("../x", "\"..\"");
        expect_refused("/", "root");
        expect_refused("system.slice:coi:c1", "--systemd-cgroup");
        char *path = NULL;
        struct coi_error err = { 0 };
        assert_int_equal(cgroup_resolve_path(&hier, NULL, "../x", &path, &err), -EINVAL);

        /* Relative: below the parent of the caller's cgroup (runc's rule). Ask from a child placed in
         * <base>/parent/me, so the answer must be <base>/parent/rel/x. */
        _cleanup_close_ int pfd = make_cgroup(sub("parent/me"), NULL);
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[0]);
                struct coi_error e = { 0 };
                char *res = NULL;
                if (cgroup_enter(-1, sub("parent/me"), 0, &e) < 0 ||
                    cgroup_resolve_path(&hier, "rel/./x", "c1", &res, &e) < 0)
                        dprintf(p[1], "error: %s", e.msg);
                else
                        dprintf(p[1], "%s", res);
                _exit(0);
        }
        close(p[1]);
        char got[1024] = "";
        ssize_t n = read(p[0], got, sizeof(got) - 1);
        close(p[0]);
        assert_true(n > 0);
        got[n] = '\0';
        assert_true(wait_child(pid, 5000) >= 0);
        assert_string_equal(got, sub("parent/rel/x"));
}

static void test_create_enter_list(void **state)
{
        REQUIRE_CGROUP2();
        struct coi_error err = { 0 };
        const char *path = sub("a/b");
        _cleanup_close_ int fd = make_cgroup(path, NULL);
        struct stat st;
        assert_int_equal(fstat(fd, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        /* creating it again is fine (joining an existing cgroup) */
        _cleanup_close_ int fd2 = make_cgroup(path, NULL);

        pid_t pid = spawn_sleeper();
        assert_false(pid_listed(path, pid));
        assert_int_equal(cgroup_enter(fd, path, pid, &err), 0);
        assert_true(pid_listed(path, pid));
        assert_true(pid_listed(base, pid)); /* recursive */

        char proc[64], want[1024];
        snprintf(proc, sizeof(proc), "/proc/%d/cgroup", (int)pid);
        snprintf(want, sizeof(want), "0::%s", path + strlen(hier.mount_point));
        assert_true(file_has_line(proc, want));

        assert_int_equal(cgroup_enter(-1, sub("no/such"), pid, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "no/such"));
        kill(pid, SIGKILL);
        assert_true(wait_child(pid, 5000) >= 0);
}

static size_t drain(int fd)
{
        char buf[4096];
        size_t total = 0;
        for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;)
                total += (size_t)n;
        return total;
}

static void test_freeze_thaw(void **state)
{
        REQUIRE_CGROUP2();
        struct coi_error err = { 0 };
        const char *path = sub("frz");
        _cleanup_close_ int fd = make_cgroup(path, NULL);
        int out = -1;
        pid_t pid = spawn_ticker(&out);
        _cleanup_close_ int out_fd = out;
        assert_int_equal(cgroup_enter(fd, path, pid, &err), 0);
        sleep_ms(50);
        assert_true(drain(out_fd) > 0); /* it runs */

        assert_int_equal(cgroup_freeze(path, true, &err), 0);
        assert_true(cgroup_is_frozen(path));
        _cleanup_free_ char *events = xasprintf("%s/cgroup.events", path);
        assert_true(file_has_line(events, "frozen 1"));
        drain(out_fd);
        sleep_ms(300);
        assert_int_equal(drain(out_fd), 0); /* no progress while frozen */

        assert_int_equal(cgroup_freeze(path, false, &err), 0);
        assert_false(cgroup_is_frozen(path));
        assert_true(file_has_line(events, "frozen 0"));
        struct pollfd p = { .fd = out_fd, .events = POLLIN };
        assert_int_equal(poll(&p, 1, 2000), 1); /* it runs again */
        assert_true(drain(out_fd) > 0);

        /* an empty cgroup freezes and thaws at once */
        _cleanup_close_ int efd = make_cgroup(sub("frz-empty"), NULL);
        assert_int_equal(cgroup_freeze(sub("frz-empty"), true, &err), 0);
        assert_true(cgroup_is_frozen(sub("frz-empty")));
        assert_int_equal(cgroup_freeze(sub("frz-empty"), false, &err), 0);
        kill(pid, SIGKILL);
        assert_true(wait_child(pid, 5000) >= 0);
}

static void test_kill_all(void **state)
{
        REQUIRE_CGROUP2();
        struct coi_error err = { 0 };
        const char *path = sub("kill");
        _cleanup_close_ int fd = make_cgroup(path, NULL);
        pid_t a = spawn_sleeper(), b = spawn_sleeper();
        assert_int_equal(cgroup_enter(fd, path, a, &err), 0);
        _cleanup_close_ int nfd = make_cgroup(sub("kill/nested"), NULL);
        assert_int_equal(cgroup_enter(nfd, sub("kill/nested"), b, &err), 0);

        assert_int_equal(cgroup_kill_all(path, SIGKILL, &err), 0);
        int status = wait_child(a, 5000);
        assert_true(status >= 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        status = wait_child(b, 5000);
        assert_true(status >= 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

        /* another signal goes pid by pid (frozen meanwhile) and leaves the cgroup thawed */
        pid_t c = spawn_sleeper();
        assert_int_equal(cgroup_enter(nfd, sub("kill/nested"), c, &err), 0);
        assert_int_equal(cgroup_kill_all(path, SIGTERM, &err), 0);
        status = wait_child(c, 5000);
        assert_true(status >= 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
        assert_false(cgroup_is_frozen(path));

        /* A paused group stays paused: a handled signal runs its handler only on resume. (A signal
         * whose default action kills goes through the freezer, like SIGKILL.) */
        pid_t d = spawn_usr1_catcher();
        assert_int_equal(cgroup_enter(fd, path, d, &err), 0);
        assert_int_equal(cgroup_freeze(path, true, &err), 0);
        assert_int_equal(cgroup_kill_all(path, SIGUSR1, &err), 0);
        assert_int_equal(wait_child(d, 300), -1); /* still frozen: the handler hasn't run */
        bool frozen = false;
        for (int i = 0; i < 100 && !frozen; i++, sleep_ms(10))
                frozen = cgroup_is_frozen(path); /* the kernel may report a blip while it delivers */
        assert_true(frozen);
        assert_int_equal(cgroup_freeze(path, false, &err), 0);
        status = wait_child(d, 5000);
        assert_true(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 42);
}

/* What a systemd container leaves behind: init.scope with a process, and deeper empty groups. */
static void test_destroy_nested(void **state)
{
        REQUIRE_CGROUP2();
        struct coi_error err = { 0 };
        const char *path = sub("sys");
        _cleanup_close_ int fd = make_cgroup(path, NULL);
        _cleanup_close_ int ifd = make_cgroup(sub("sys/init.scope"), NULL);
        _cleanup_close_ int dfd = make_cgroup(sub("sys/system.slice/a.service/deep"), NULL);
        pid_t pid = spawn_sleeper();
        assert_int_equal(cgroup_enter(ifd, sub("sys/init.scope"), pid, &err), 0);

        int r = cgroup_destroy(path, &err);
        if (r < 0)
                fail_msg("destroy: %s", err.msg);
        assert_int_equal(access(path, F_OK), -1);
        assert_int_equal(errno, ENOENT);
        int status = wait_child(pid, 5000);
        assert_true(status >= 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        /* already gone is fine */
        assert_int_equal(cgroup_destroy(path, &err), 0);
}

static uid_t owner(const char *dir, const char *file)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        return st.st_uid;
}

/* The container's root gets the directory and the files it needs to manage its own subtree. */
static void test_delegate(void **state)
{
        REQUIRE_CGROUP2();
        struct coi_error err = { 0 };
        const char *path = sub("deleg");
        _cleanup_close_ int fd = make_cgroup(path, NULL);
        assert_int_equal(cgroup_delegate(fd, path, 100000, 100000, &err), 0);
        assert_int_equal(owner(path, "."), 100000);
        assert_int_equal(owner(path, "cgroup.procs"), 100000);
        assert_int_equal(owner(path, "cgroup.subtree_control"), 100000);
        assert_int_equal(owner(path, "cgroup.threads"), 100000);
        /* limits stay the host's */
        assert_int_equal(owner(path, "cgroup.max.descendants"), 0);
        assert_int_equal(owner(path, "cgroup.freeze"), 0);
}

static void test_refuses_outside_cgroup2(void **state)
{
        REQUIRE_CGROUP2();
        struct coi_error err = { 0 };
        /* the hierarchy's root is never destroyed, killed or frozen */
        assert_int_equal(cgroup_destroy(hier.mount_point, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "refusing"));
        assert_int_equal(cgroup_kill_all(hier.mount_point, SIGKILL, &err), -EINVAL);
        assert_int_equal(cgroup_freeze(hier.mount_point, true, &err), -EINVAL);
        _cleanup_free_ char *esc = xasprintf("%s/../memory", hier.mount_point);
        assert_int_equal(cgroup_destroy(esc, &err), -EINVAL);
        /* on a hybrid host, anything outside the cgroup2 mount (the v1 side of /sys/fs/cgroup) is refused
         * by path, before anything is opened. The path is beside the v1 hierarchies, not in one, so even
         * a broken guard could not touch them. */
        if (hier.layout == CGROUP_LAYOUT_HYBRID) {
                assert_int_equal(cgroup_kill_all("/sys/fs/cgroup/coi-nope", SIGTERM, &err), -EINVAL);
                assert_non_null(strstr(err.msg, "not below the cgroup2 hierarchy"));
                struct oci_resources res = { 0 };
                int fd = -1;
                assert_int_equal(cgroup_create(&hier, "/sys/fs/cgroup/coi-nope", &res, &fd, &err), -EINVAL);
                assert_int_equal(access("/sys/fs/cgroup/coi-nope", F_OK), -1);
        }
}

static void test_memory_limit(void **state)
{
        REQUIRE_CGROUP2();
        struct coi_error err = { 0 };
        struct oci_resources res = { .has_memory_limit = true, .memory_limit = 64 << 20 };
        _cleanup_free_ char *root_ctl = xasprintf("%s/cgroup.subtree_control", hier.mount_point);
        _cleanup_free_ char *before = read_text(root_ctl);
        const char *path = sub("mem");
        _cleanup_close_ int fd = make_cgroup(path, &res);
        _cleanup_free_ char *max_file = xasprintf("%s/memory.max", path);
        struct log_capture cap = { 0 };
        struct coi_context ctx = { .log_level = COI_LOG_DEBUG };

        if (!strstr(hier.controllers, "memory")) {
                /* hybrid host: creating works (nothing enabled), the limit itself is refused by name */
                _cleanup_free_ char *after = read_text(root_ctl);
                assert_string_equal(before, after);
                assert_int_equal(cgroup_apply_resources(&ctx, fd, path, &res, false, &err), -ENOTSUP);
                char want[512];
                snprintf(want, sizeof(want),
                         "cgroup controller \"memory\" is not available in the cgroup2 hierarchy at %s",
                         hier.mount_point);
                if (!strstr(err.msg, want))
                        fail_msg("message \"%s\" lacks \"%s\"", err.msg, want);
                if (hier.layout == CGROUP_LAYOUT_HYBRID)
                        assert_non_null(strstr(err.msg, "(hybrid host: the v1 hierarchies own it)"));
                assert_non_null(strstr(err.msg, "memory.max=67108864"));

                /* best effort: a warning through the log callback, and success */
                ctx.log = capture_log;
                ctx.log_data = &cap;
                assert_int_equal(cgroup_apply_resources(&ctx, fd, path, &res, true, &err), 0);
                assert_int_equal(cap.warnings, 1);
                assert_non_null(strstr(cap.text, want));
                assert_non_null(strstr(cap.text, "best effort"));
                assert_int_equal(access(max_file, F_OK), -1);
        } else {
                /* pure v2 host: the limit is written */
                assert_int_equal(cgroup_apply_resources(&ctx, fd, path, &res, false, &err), 0);
                _cleanup_free_ char *v = read_text(max_file);
                assert_string_equal(v, "67108864");
                res.memory_limit = -1;
                assert_int_equal(cgroup_apply_resources(&ctx, fd, path, &res, false, &err), 0);
                _cleanup_free_ char *v2 = read_text(max_file);
                assert_string_equal(v2, "max");
        }

        /* a swap value below the memory limit is refused, whatever the host */
        struct oci_resources bad = { .has_memory_limit = true,
                                     .memory_limit = 64 << 20,
                                     .has_memory_swap = true,
                                     .memory_swap = 32 << 20 };
        assert_int_equal(cgroup_apply_resources(&ctx, fd, path, &bad, true, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "swap"));
}

static void test_unified(void **state)
{
        REQUIRE_CGROUP2();
        struct coi_error err = { 0 };
        struct coi_context ctx = { 0 };
        const char *path = sub("uni");
        _cleanup_close_ int fd = make_cgroup(path, NULL);
        char *ok[] = { "cgroup.max.descendants", "5", NULL };
        struct oci_resources res = { .unified = ok };
        assert_int_equal(cgroup_apply_resources(&ctx, fd, path, &res, false, &err), 0);
        _cleanup_free_ char *f = xasprintf("%s/cgroup.max.descendants", path);
        _cleanup_free_ char *v = read_text(f);
        assert_string_equal(v, "5");

        char *esc[] = { "../x", "1", NULL };
        res.unified = esc;
        assert_int_equal(cgroup_apply_resources(&ctx, fd, path, &res, true, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "\"../x\""));
        char *slash[] = { "a/cgroup.procs", "1", NULL };
        res.unified = slash;
        assert_int_equal(cgroup_apply_resources(&ctx, fd, path, &res, true, &err), -EINVAL);
        /* every key is checked before anything is written */
        char *late_bad[] = { "cgroup.max.descendants", "7", "..", "1", NULL };
        res.unified = late_bad;
        assert_int_equal(cgroup_apply_resources(&ctx, fd, path, &res, true, &err), -EINVAL);
        _cleanup_free_ char *still = read_text(f);
        assert_string_equal(still, "5");
        /* the files the runtime drives itself can't be reached through unified */
        char self[32];
        snprintf(self, sizeof(self), "%d", (int)getpid());
        char *procs[] = { "cgroup.procs", self, NULL };
        res.unified = procs;
        assert_int_equal(cgroup_apply_resources(&ctx, fd, path, &res, true, &err), -EPERM);
        assert_non_null(strstr(err.msg, "cgroup.procs"));
        assert_false(pid_listed(path, getpid()));
        char *kill_key[] = { "cgroup.kill", "1", NULL };
        res.unified = kill_key;
        assert_int_equal(cgroup_apply_resources(&ctx, fd, path, &res, true, &err), -EPERM);

        /* a value the kernel rejects: the error names the file and the value */
        char *bogus[] = { "cgroup.max.descendants", "bogus", NULL };
        res.unified = bogus;
        assert_true(cgroup_apply_resources(&ctx, fd, path, &res, false, &err) < 0);
        assert_non_null(strstr(err.msg, "cgroup.max.descendants"));
        assert_non_null(strstr(err.msg, "\"bogus\""));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_detect_layout),     cmocka_unit_test(test_resolve_path),
                cmocka_unit_test(test_create_enter_list), cmocka_unit_test(test_freeze_thaw),
                cmocka_unit_test(test_kill_all),          cmocka_unit_test(test_destroy_nested),
                cmocka_unit_test(test_delegate),          cmocka_unit_test(test_refuses_outside_cgroup2),
                cmocka_unit_test(test_memory_limit),      cmocka_unit_test(test_unified),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
