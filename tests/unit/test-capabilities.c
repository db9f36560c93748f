/* test-capabilities.c — capability names, and capabilities_apply in forked children: what
 * /proc/self/status shows afterwards and across execve, and what the process can no longer do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "capabilities.h"
#include "util.h"

#define BIT(c) (UINT64_C(1) << (c))

/* In a child: report the failed check on stderr and exit with its line number. */
#define CHECK(cond)                                                                                          \
        do {                                                                                                 \
                if (!(cond)) {                                                                               \
                        fprintf(stderr, "%s:%d: check failed: %s (errno %d %m)\n", __FILE__, __LINE__,       \
                                #cond, errno);                                                               \
                        return __LINE__;                                                                     \
                }                                                                                            \
        } while (0)

struct apply_args {
        struct oci_capabilities caps;
        uid_t uid;
        gid_t gid;
        const gid_t *groups;
        size_t n_groups;
        bool setgroups_denied;
};

/* What this test process may hold: its permitted set (this machine lacks CAP_SYS_RESOURCE). */
static uint64_t all_caps(void)
{
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2] = { 0 };
        assert_int_equal(syscall(SYS_capget, &h, d), 0);
        return (uint64_t)d[1].permitted << 32 | d[0].permitted;
}

/* "CapEff" → its mask in /proc/self/status. */
static int status_mask(const char *status, const char *field, uint64_t *ret)
{
        char key[16];
        snprintf(key, sizeof(key), "\n%s:", field);
        const char *p = strstr(status, key);
        if (!p)
                return -1;
        *ret = strtoull(p + strlen(key), NULL, 16);
        return 0;
}

static int read_own_status(char *buf, size_t size)
{
        int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        buf[0] = '\n';
        ssize_t n = read(fd, buf + 1, size - 2);
        close(fd);
        if (n <= 0)
                return -1;
        buf[n + 1] = '\0';
        return 0;
}

static int apply(const struct apply_args *a, struct coi_error *err)
{
        return capabilities_apply(&a->caps, a->uid, a->gid, a->groups, a->n_groups, a->setgroups_denied, err);
}

/* Forks, runs fn in the child, returns its wait status; the child's stdout goes to out if given. */
static int run_in_child(int (*fn)(const struct apply_args *), const struct apply_args *a, char *out,
                        size_t size)
{
        int pipefd[2];
        assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                dup2(pipefd[1], STDOUT_FILENO);
                _exit(fn(a));
        }
        close(pipefd[1]);
        size_t done = 0;
        for (;;) {
                char scratch[256];
                char *dst = out && done + 1 < size ? out + done : scratch;
                size_t room = out && done + 1 < size ? size - 1 - done : sizeof(scratch);
                ssize_t n = read(pipefd[0], dst, room);
                if (n <= 0)
                        break;
                if (dst != scratch)
                        done += (size_t)n;
        }
        if (out)
                out[done] = '\0';
        close(pipefd[0]);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        return status;
}

static void assert_child_ok(int status)
{
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_names(void **state)
{
        int cap = -1;

        assert_int_equal(capability_from_name("CAP_CHOWN", &cap), 0);
        assert_int_equal(cap, CAP_CHOWN);
        assert_int_equal(capability_from_name("CAP_SYS_ADMIN", &cap), 0);
        assert_int_equal(cap, 21);
        assert_int_equal(capability_from_name("CAP_NET_BIND_SERVICE", &cap), 0);
        assert_int_equal(cap, CAP_NET_BIND_SERVICE);
        assert_int_equal(capability_from_name("CAP_CHECKPOINT_RESTORE", &cap), 0);
        assert_int_equal(cap, 40);
        cap = -1;
        assert_int_equal(capability_from_name("CAP_NOPE", &cap), -EINVAL);
        assert_int_equal(capability_from_name("cap_chown", &cap), -EINVAL);
        assert_int_equal(capability_from_name("CHOWN", &cap), -EINVAL);
        assert_int_equal(capability_from_name("CAP_", &cap), -EINVAL);
        assert_int_equal(capability_from_name("CAP_CHOWN,CAP_KILL", &cap), -EINVAL);
        assert_int_equal(capability_from_name("CAP_CHOWN+ep", &cap), -EINVAL);
        assert_int_equal(capability_from_name("CAP_0", &cap), -EINVAL);
        assert_int_equal(capability_from_name(NULL, &cap), -EINVAL);
        assert_int_equal(cap, -1); /* untouched on failure */
}

static void test_last_cap(void **state)
{
        FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
        int last = -1;
        assert_non_null(f);
        assert_int_equal(fscanf(f, "%d", &last), 1);
        fclose(f);
        assert_int_equal(capability_last_cap(), last);
}

static int child_apply_and_report(const struct apply_args *a)
{
        struct coi_error err = { 0 };
        char status[8192];
        uint64_t bnd, eff, prm, inh, amb;
        uid_t r, e, s;

        if (apply(a, &err) < 0) {
                fprintf(stderr, "capabilities_apply: %s\n", err.msg);
                return 100;
        }
        CHECK(getresuid(&r, &e, &s) == 0 && r == a->uid && e == a->uid && s == a->uid);
        CHECK(getgid() == a->gid && getegid() == a->gid);
        CHECK(read_own_status(status, sizeof(status)) == 0);
        CHECK(status_mask(status, "CapBnd", &bnd) == 0 && bnd == a->caps.bounding);
        CHECK(status_mask(status, "CapEff", &eff) == 0 && eff == a->caps.effective);
        CHECK(status_mask(status, "CapPrm", &prm) == 0 && prm == a->caps.permitted);
        CHECK(status_mask(status, "CapInh", &inh) == 0 && inh == a->caps.inheritable);
        CHECK(status_mask(status, "CapAmb", &amb) == 0 && amb == a->caps.ambient);
        return 0;
}

static void test_apply_as_uid_1000(void **state)
{
        uint64_t two = BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_CHOWN);
        struct apply_args a = {
                .caps = { .present = true, .bounding = two, .effective = two, .permitted = two },
                .uid = 1000,
                .gid = 1000,
        };
        assert_child_ok(run_in_child(child_apply_and_report, &a, NULL, 0));
}

static int child_groups(const struct apply_args *a)
{
        struct coi_error err = { 0 };
        gid_t list[8];
        const gid_t inherited[] = { 77 };

        /* a supplementary group the runtime had must not leak into the container */
        CHECK(setgroups(1, inherited) == 0);
        if (apply(a, &err) < 0) {
                fprintf(stderr, "capabilities_apply: %s\n", err.msg);
                return 100;
        }
        int n = getgroups(8, list);
        CHECK(n == (int)a->n_groups);
        for (int i = 0; i < n; i++)
                CHECK(list[i] == a->groups[i]);
        return 0;
}

static void test_additional_groups(void **state)
{
        const gid_t groups[] = { 1234, 5678 };
        struct apply_args a = {
                .caps = { .present = true },
                .uid = 1000,
                .gid = 1000,
                .groups = groups,
                .n_groups = 2,
        };
        assert_child_ok(run_in_child(child_groups, &a, NULL, 0));
        /* no additional gids: the runtime's own supplementary groups are dropped */
        a.n_groups = 0;
        assert_child_ok(run_in_child(child_groups, &a, NULL, 0));
}

static int child_exec_grep_caps(const struct apply_args *a)
{
        struct coi_error err = { 0 };
        if (apply(a, &err) < 0) {
                fprintf(stderr, "capabilities_apply: %s\n", err.msg);
                return 100;
        }
        execl("/bin/sh", "sh", "-c", "grep ^Cap /proc/self/status", (char *)NULL);
        return 101;
}

static void test_ambient_survives_execve(void **state)
{
        uint64_t nbs = BIT(CAP_NET_BIND_SERVICE);
        struct apply_args a = {
                .caps = { .present = true,
                          .bounding = nbs,
                          .effective = nbs,
                          .permitted = nbs,
                          .inheritable = nbs,
                          .ambient = nbs },
                .uid = 1000,
                .gid = 1000,
        };
        char out[4096];
        uint64_t eff = 1, amb = 0, bnd = 0;

        assert_child_ok(run_in_child(child_exec_grep_caps, &a, out + 1, sizeof(out) - 1));
        out[0] = '\n';
        assert_int_equal(status_mask(out, "CapEff", &eff), 0);
        assert_int_equal(status_mask(out, "CapAmb", &amb), 0);
        assert_int_equal(status_mask(out, "CapBnd", &bnd), 0);
        assert_int_equal(eff, nbs);
        assert_int_equal(amb, nbs);
        assert_int_equal(bnd, nbs);

        /* without ambient, a non-root uid loses everything at execve */
        a.caps.ambient = 0;
        assert_child_ok(run_in_child(child_exec_grep_caps, &a, out + 1, sizeof(out) - 1));
        assert_int_equal(status_mask(out, "CapEff", &eff), 0);
        assert_int_equal(eff, 0);
}

static int child_chown(const struct apply_args *a)
{
        struct coi_error err = { 0 };
        char path[] = "/tmp/coi-test-caps-XXXXXX";
        int fd = mkstemp(path);
        CHECK(fd >= 0);
        close(fd);
        int r = apply(a, &err);
        if (r < 0) {
                fprintf(stderr, "capabilities_apply: %s\n", err.msg);
                unlink(path);
                return 100;
        }
        r = chown(path, 4242, 4242);
        int saved = errno;
        unlink(path);
        if (a->caps.effective & BIT(CAP_CHOWN))
                CHECK(r == 0);
        else
                CHECK(r < 0 && saved == EPERM);
        return 0;
}

static void test_dropping_chown_denies_chown(void **state)
{
        uint64_t no_chown = all_caps() & ~BIT(CAP_CHOWN);
        struct apply_args a = {
                .caps = { .present = true,
                          .bounding = no_chown,
                          .effective = no_chown,
                          .permitted = no_chown },
                .uid = 0,
                .gid = 0,
        };
        assert_child_ok(run_in_child(child_chown, &a, NULL, 0));
        /* the same process with CAP_CHOWN can chown: the test above can fail */
        a.caps.bounding = a.caps.effective = a.caps.permitted = all_caps();
        assert_child_ok(run_in_child(child_chown, &a, NULL, 0));
}

static int child_expect_error(const struct apply_args *a)
{
        struct coi_error err = { 0 };
        int r = apply(a, &err);
        printf("%d %s", r, err.msg);
        fflush(stdout);
        return 0;
}

/* Runs capabilities_apply in a child and returns "<ret> <message>". */
static void apply_error(const struct apply_args *a, char *out, size_t size)
{
        assert_child_ok(run_in_child(child_expect_error, a, out, size));
}

static void test_errors_name_the_capability(void **state)
{
        uint64_t nbs = BIT(CAP_NET_BIND_SERVICE);
        char out[1200];

        /* ambient needs the capability in inheritable too */
        struct apply_args a = {
                .caps = { .present = true,
                          .bounding = nbs,
                          .effective = nbs,
                          .permitted = nbs,
                          .ambient = nbs },
                .uid = 1000,
                .gid = 1000,
        };
        apply_error(&a, out, sizeof(out));
        assert_non_null(strstr(out, "-1 "));
        assert_non_null(strstr(out, "CAP_NET_BIND_SERVICE"));
        assert_non_null(strstr(out, "inheritable"));

        /* effective must lie within permitted */
        struct apply_args b = {
                .caps = { .present = true, .bounding = all_caps(), .effective = BIT(CAP_SYS_ADMIN) },
        };
        apply_error(&b, out, sizeof(out));
        assert_non_null(strstr(out, "-22 "));
        assert_non_null(strstr(out, "CAP_SYS_ADMIN"));

        /* inheritable cannot be raised outside the bounding set */
        struct apply_args c = {
                .caps = { .present = true, .bounding = nbs, .inheritable = BIT(CAP_KILL) },
        };
        apply_error(&c, out, sizeof(out));
        assert_non_null(strstr(out, "-1 "));
        assert_non_null(strstr(out, "CAP_KILL"));
        assert_non_null(strstr(out, "bounding"));
}

static void test_setgroups_denied(void **state)
{
        const gid_t groups[] = { 1234 };
        char out[1200];
        struct apply_args a = {
                .caps = { .present = true },
                .uid = 1000,
                .gid = 1000,
                .groups = groups,
                .n_groups = 1,
                .setgroups_denied = true,
        };

        apply_error(&a, out, sizeof(out));
        assert_non_null(strstr(out, "-1 "));
        assert_non_null(strstr(out, "1234"));
        assert_non_null(strstr(out, "denied"));
        /* no extra groups asked for: setgroups is skipped and the rest goes on */
        a.n_groups = 0;
        apply_error(&a, out, sizeof(out));
        assert_string_equal(out, "0 ");
}

static int child_without_setpcap(const struct apply_args *a)
{
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2] = { 0 };

        /* keep everything but CAP_SETPCAP in effective */
        CHECK(syscall(SYS_capget, &h, d) == 0);
        d[0].effective &= ~(1U << CAP_SETPCAP);
        CHECK(syscall(SYS_capset, &h, d) == 0);
        return child_expect_error(a);
}

static void test_bounding_drop_needs_setpcap(void **state)
{
        char out[1200];
        struct apply_args a = {
                .caps = { .present = true, .bounding = BIT(CAP_CHOWN) },
        };

        assert_child_ok(run_in_child(child_without_setpcap, &a, out, sizeof(out)));
        assert_non_null(strstr(out, "-1 "));
        assert_non_null(strstr(out, "bounding set"));
        assert_non_null(strstr(out, "CAP_SETPCAP"));
        assert_non_null(strstr(out, "CAP_DAC_OVERRIDE")); /* the first one it could not drop */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_last_cap),
                cmocka_unit_test(test_apply_as_uid_1000),
                cmocka_unit_test(test_additional_groups),
                cmocka_unit_test(test_ambient_survives_execve),
                cmocka_unit_test(test_dropping_chown_denies_chown),
                cmocka_unit_test(test_errors_name_the_capability),
                cmocka_unit_test(test_setgroups_denied),
                cmocka_unit_test(test_bounding_drop_needs_setpcap),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
