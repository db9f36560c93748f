/* test-seccomp.c — OCI seccomp configs compiled and installed in forked children: denied syscalls
 * fail with the configured errno, others still work; argument filters, kill actions, the default profile. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>

#include <seccomp.h>

#include "oci-config.h"
#include "seccomp-bpf.h"
#include "util.h"

/* In a child: report the failed check on stderr and exit with its line number. */
#define CHECK(cond)                                                                                          \
        do {                                                                                                 \
                if (!(cond)) {                                                                               \
                        fprintf(stderr, "%s:%d: check failed: %s (errno %d %m)\n", __FILE__, __LINE__,       \
                                #cond, errno);                                                               \
                        return __LINE__;                                                                     \
                }                                                                                            \
        } while (0)

static uint32_t action(const char *name, uint32_t errno_ret)
{
        uint32_t a = 0;
        assert_int_equal(seccomp_action_from_name(name, errno_ret, &a), 0);
        return a;
}

static int op(const char *name)
{
        int o = 0;
        assert_int_equal(seccomp_op_from_name(name, &o), 0);
        return o;
}

/* Forks, runs fn in the child and returns its wait status. */
static int run_in_child(int (*fn)(const struct seccomp_program *), const struct seccomp_program *prog)
{
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                _exit(fn(prog));
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        return status;
}

static void assert_child_ok(int status)
{
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

static int install_with_nnp(const struct seccomp_program *prog)
{
        struct coi_error err = { 0 };
        CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
        if (seccomp_program_install(prog, &err) < 0) {
                fprintf(stderr, "install: %s\n", err.msg);
                return -1;
        }
        return 0;
}

static void build_ok(const struct oci_seccomp *config, struct seccomp_program *prog)
{
        struct coi_error err = { 0 };
        int r = seccomp_program_build(NULL, config, prog, &err);
        if (r < 0)
                fail_msg("seccomp_program_build: %s", err.msg);
        assert_non_null(prog->filter);
        assert_true(prog->len > 0);
}

static void test_names(void **state)
{
        uint32_t a = 0, arch = 0;
        int o = 0;

        assert_int_equal(action("SCMP_ACT_ALLOW", 0), SCMP_ACT_ALLOW);
        assert_int_equal(action("SCMP_ACT_KILL", 0), SCMP_ACT_KILL);
        assert_int_equal(action("SCMP_ACT_KILL_THREAD", 0), SCMP_ACT_KILL_THREAD);
        assert_int_equal(action("SCMP_ACT_KILL_PROCESS", 0), SCMP_ACT_KILL_PROCESS);
        assert_int_equal(action("SCMP_ACT_TRAP", 0), SCMP_ACT_TRAP);
        assert_int_equal(action("SCMP_ACT_LOG", 0), SCMP_ACT_LOG);
        assert_int_equal(action("SCMP_ACT_NOTIFY", 0), SCMP_ACT_NOTIFY);
        /* ERRNO/TRACE without errnoRet return EPERM, as in runc */
        assert_int_equal(action("SCMP_ACT_ERRNO", 0), SCMP_ACT_ERRNO(EPERM));
        assert_int_equal(action("SCMP_ACT_ERRNO", ENOSYS), SCMP_ACT_ERRNO(ENOSYS));
        assert_int_equal(action("SCMP_ACT_TRACE", 0), SCMP_ACT_TRACE(EPERM));
        assert_int_equal(action("SCMP_ACT_TRACE", 7), SCMP_ACT_TRACE(7));

        assert_int_equal(seccomp_action_from_name("SCMP_ACT_NOPE", 0, &a), -EINVAL);
        assert_int_equal(seccomp_action_from_name("scmp_act_allow", 0, &a), -EINVAL);
        assert_int_equal(seccomp_action_from_name("", 0, &a), -EINVAL);
        assert_int_equal(seccomp_action_from_name(NULL, 0, &a), -EINVAL);

        assert_int_equal(seccomp_arch_from_name("SCMP_ARCH_X86_64", &arch), 0);
        assert_int_equal(arch, SCMP_ARCH_X86_64);
        assert_int_equal(seccomp_arch_from_name("SCMP_ARCH_AARCH64", &arch), 0);
        assert_int_equal(arch, SCMP_ARCH_AARCH64);
        assert_int_equal(seccomp_arch_from_name("SCMP_ARCH_RISCV64", &arch), 0);
        assert_int_equal(arch, SCMP_ARCH_RISCV64);
        assert_int_equal(seccomp_arch_from_name("SCMP_ARCH_VAX", &arch), -EINVAL);
        assert_int_equal(seccomp_arch_from_name("x86_64", &arch), -EINVAL);

        assert_int_equal(seccomp_op_from_name("SCMP_CMP_EQ", &o), 0);
        assert_int_equal(o, SCMP_CMP_EQ);
        assert_int_equal(seccomp_op_from_name("SCMP_CMP_MASKED_EQ", &o), 0);
        assert_int_equal(o, SCMP_CMP_MASKED_EQ);
        assert_int_equal(seccomp_op_from_name("SCMP_CMP_NE", &o), 0);
        assert_int_equal(o, SCMP_CMP_NE);
        assert_int_equal(seccomp_op_from_name("SCMP_CMP_ISH", &o), -EINVAL);

        assert_true(seccomp_flag_is_known("SECCOMP_FILTER_FLAG_TSYNC"));
        assert_true(seccomp_flag_is_known("SECCOMP_FILTER_FLAG_LOG"));
        assert_true(seccomp_flag_is_known("SECCOMP_FILTER_FLAG_SPEC_ALLOW"));
        assert_true(seccomp_flag_is_known("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"));
        assert_false(seccomp_flag_is_known("SECCOMP_FILTER_FLAG_NEW_LISTENER"));
        assert_false(seccomp_flag_is_known("SECCOMP_FILTER_FLAG_NOPE"));
}

static int child_errno_rules(const struct seccomp_program *prog)
{
        char cwd[PATH_MAX];
        struct utsname u;

        CHECK(install_with_nnp(prog) == 0);
        errno = 0;
        CHECK(getcwd(cwd, sizeof(cwd)) == NULL && errno == EPERM); /* no errnoRet: EPERM */
        errno = 0;
        CHECK(uname(&u) < 0 && errno == ENOMSG); /* errnoRet 42 */
        CHECK(syscall(SYS_getpid) == getpid());
        int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
        CHECK(fd >= 0);
        close(fd);
        return 0;
}

static void test_errno_and_errno_ret(void **state)
{
        struct oci_seccomp_syscall rules[] = {
                { .names = (char *[]){ "getcwd", NULL }, .action = action("SCMP_ACT_ERRNO", 0) },
                { .names = (char *[]){ "uname", NULL },
                  .action = action("SCMP_ACT_ERRNO", 0),
                  .has_errno_ret = true,
                  .errno_ret = ENOMSG },
        };
        struct oci_seccomp config = {
                .default_action = SCMP_ACT_ALLOW,
                .syscalls = rules,
                .n_syscalls = ELEMENTSOF(rules),
        };
        struct seccomp_program prog = { 0 };

        build_ok(&config, &prog);
        assert_int_equal(prog.flags, 0);
        assert_child_ok(run_in_child(child_errno_rules, &prog));
        seccomp_program_done(&prog);
        assert_null(prog.filter);
        seccomp_program_done(&prog); /* twice is fine */
}

static int child_default_errno(const struct seccomp_program *prog)
{
        struct utsname u;

        CHECK(install_with_nnp(prog) == 0);
        errno = 0;
        CHECK(uname(&u) < 0 && errno == EXDEV); /* defaultErrnoRet */
        CHECK(syscall(SYS_getpid) == getpid());
        return 0;
}

static void test_default_errno_ret(void **state)
{
        /* Everything not allowed fails with defaultErrnoRet; what the test itself and the sanitizer
         * runtime need after install is allowed. */
        struct oci_seccomp_syscall rules[] = {
                { .names = (char *[]){ "getpid", "gettid", "exit", "exit_group", "write", "writev", "mmap",
                                       "munmap", "mprotect", "madvise", "sigaltstack", "rt_sigaction",
                                       "rt_sigprocmask", "futex", NULL },
                  .action = SCMP_ACT_ALLOW },
        };
        struct oci_seccomp config = {
                .default_action = action("SCMP_ACT_ERRNO", 0),
                .has_default_errno_ret = true,
                .default_errno_ret = EXDEV,
                .syscalls = rules,
                .n_syscalls = ELEMENTSOF(rules),
        };
        struct seccomp_program prog = { 0 };

        build_ok(&config, &prog);
        assert_child_ok(run_in_child(child_default_errno, &prog));
        seccomp_program_done(&prog);
}

static int child_arg_filters(const struct seccomp_program *prog)
{
        CHECK(install_with_nnp(prog) == 0);
        /* personality(0xffffffff) only queries; it is denied, setting PER_LINUX is not */
        errno = 0;
        CHECK(personality(0xffffffff) == -1 && errno == EPERM);
        CHECK(personality(PER_LINUX) != -1);
        /* socket: AF_INET and AF_INET6 denied (two conditions on arg0 = either one), AF_UNIX works */
        errno = 0;
        CHECK(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0) < 0 && errno == EAFNOSUPPORT);
        errno = 0;
        CHECK(socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0) < 0 && errno == EAFNOSUPPORT);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        CHECK(fd >= 0);
        close(fd);
        /* flock: denied only when LOCK_NB is set (MASKED_EQ); high bits do not get around it */
        errno = 0;
        CHECK(syscall(SYS_flock, 0, LOCK_SH | LOCK_NB) < 0 && errno == ENOLCK);
        errno = 0;
        CHECK(syscall(SYS_flock, 0, 0xff00 | LOCK_UN | LOCK_NB) < 0 && errno == ENOLCK);
        errno = 0;
        CHECK(syscall(SYS_flock, -1, LOCK_UN) < 0 && errno == EBADF); /* allowed, reaches the kernel */
        /* conditions on different arguments must all hold */
        errno = 0;
        CHECK(syscall(SYS_getpriority, PRIO_PROCESS, 4242) < 0 && errno == ENOKEY);
        errno = 0;
        CHECK(syscall(SYS_getpriority, PRIO_PGRP, 4242) < 0 && errno == ESRCH);
        CHECK(syscall(SYS_getpriority, PRIO_PROCESS, 0) >= 0);
        return 0;
}

static void test_arg_filters(void **state)
{
        struct oci_seccomp_arg personality_query[] = {
                { .index = 0, .value = 0xffffffff, .op = op("SCMP_CMP_EQ") },
        };
        struct oci_seccomp_arg inet_families[] = {
                { .index = 0, .value = AF_INET, .op = op("SCMP_CMP_EQ") },
                { .index = 0, .value = AF_INET6, .op = op("SCMP_CMP_EQ") },
        };
        struct oci_seccomp_arg nonblocking[] = {
                { .index = 1, .value = LOCK_NB, .value_two = LOCK_NB, .op = op("SCMP_CMP_MASKED_EQ") },
        };
        struct oci_seccomp_arg prio_of_4242[] = {
                { .index = 0, .value = PRIO_PROCESS, .op = op("SCMP_CMP_EQ") },
                { .index = 1, .value = 4242, .op = op("SCMP_CMP_EQ") },
        };
        struct oci_seccomp_syscall rules[] = {
                { .names = (char *[]){ "getpriority", NULL },
                  .action = action("SCMP_ACT_ERRNO", ENOKEY),
                  .args = prio_of_4242,
                  .n_args = ELEMENTSOF(prio_of_4242) },
                { .names = (char *[]){ "personality", NULL },
                  .action = action("SCMP_ACT_ERRNO", 0),
                  .args = personality_query,
                  .n_args = ELEMENTSOF(personality_query) },
                { .names = (char *[]){ "socket", NULL },
                  .action = action("SCMP_ACT_ERRNO", EAFNOSUPPORT),
                  .args = inet_families,
                  .n_args = ELEMENTSOF(inet_families) },
                { .names = (char *[]){ "flock", NULL },
                  .action = action("SCMP_ACT_ERRNO", ENOLCK),
                  .args = nonblocking,
                  .n_args = ELEMENTSOF(nonblocking) },
        };
        struct oci_seccomp config = {
                .default_action = SCMP_ACT_ALLOW,
                .syscalls = rules,
                .n_syscalls = ELEMENTSOF(rules),
        };
        struct seccomp_program prog = { 0 };

        build_ok(&config, &prog);
        assert_child_ok(run_in_child(child_arg_filters, &prog));
        seccomp_program_done(&prog);
}

static int child_call_getcwd(const struct seccomp_program *prog)
{
        char cwd[PATH_MAX];
        CHECK(install_with_nnp(prog) == 0);
        (void)!getcwd(cwd, sizeof(cwd));
        return 99; /* not reached: the kernel kills the process */
}

static void test_kill_process_sigsys(void **state)
{
        struct oci_seccomp_syscall rules[] = {
                { .names = (char *[]){ "getcwd", NULL }, .action = action("SCMP_ACT_KILL_PROCESS", 0) },
        };
        struct oci_seccomp config = {
                .default_action = SCMP_ACT_ALLOW,
                .syscalls = rules,
                .n_syscalls = ELEMENTSOF(rules),
        };
        struct seccomp_program prog = { 0 };

        build_ok(&config, &prog);
        int status = run_in_child(child_call_getcwd, &prog);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGSYS);
        seccomp_program_done(&prog);
}

static int child_install_without_privilege(const struct seccomp_program *prog)
{
        struct coi_error err = { 0 };
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2] = { 0 };

        /* No no_new_privs and no CAP_SYS_ADMIN: the kernel must refuse, and we must say why. */
        CHECK(syscall(SYS_capset, &h, d) == 0);
        CHECK(seccomp_program_install(prog, &err) == -EACCES);
        CHECK(strstr(err.msg, "no_new_privs") != NULL);
        return 0;
}

static void test_install_needs_nnp_or_sys_admin(void **state)
{
        struct oci_seccomp_syscall rules[] = {
                { .names = (char *[]){ "getcwd", NULL }, .action = action("SCMP_ACT_ERRNO", 0) },
        };
        struct oci_seccomp config = {
                .default_action = SCMP_ACT_ALLOW,
                .syscalls = rules,
                .n_syscalls = ELEMENTSOF(rules),
        };
        struct seccomp_program prog = { 0 };

        build_ok(&config, &prog);
        assert_child_ok(run_in_child(child_install_without_privilege, &prog));
        seccomp_program_done(&prog);
}

static void log_collect(enum coi_log_level level, const char *msg, void *userdata)
{
        char *buf = userdata;
        strncat(buf, msg, 1023 - strlen(buf));
        strncat(buf, "\n", 1023 - strlen(buf));
}

static int child_log_flag(const struct seccomp_program *prog)
{
        struct utsname u;
        CHECK(install_with_nnp(prog) == 0);
        errno = 0;
        CHECK(uname(&u) < 0 && errno == EPERM);
        return 0;
}

static void test_unknown_syscall_skipped_and_flags(void **state)
{
        char logbuf[1024] = "";
        struct coi_context ctx = { .log = log_collect, .log_data = logbuf, .log_level = COI_LOG_DEBUG };
        struct oci_seccomp_syscall rules[] = {
                { .names = (char *[]){ "no_such_syscall_xyz", "uname", NULL },
                  .action = action("SCMP_ACT_ERRNO", 0) },
        };
        uint32_t arches[] = { SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32, SCMP_ARCH_AARCH64 };
        struct oci_seccomp config = {
                .default_action = SCMP_ACT_ALLOW,
                .architectures = arches,
                .n_architectures = ELEMENTSOF(arches),
                /* WAIT_KILLABLE_RECV alone makes the kernel refuse the filter: it must be dropped */
                .flags = (char *[]){ "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                                     "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
                                     NULL },
                .syscalls = rules,
                .n_syscalls = ELEMENTSOF(rules),
        };
        struct seccomp_program prog = { 0 };
        struct coi_error err = { 0 };

        assert_int_equal(seccomp_program_build(&ctx, &config, &prog, &err), 0);
        assert_non_null(strstr(logbuf, "no_such_syscall_xyz"));
        assert_int_equal(prog.flags, SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW |
                                             SECCOMP_FILTER_FLAG_TSYNC);
        /* the other name of the rule still applies */
        assert_child_ok(run_in_child(child_log_flag, &prog));
        seccomp_program_done(&prog);
}

static void test_refusals(void **state)
{
        struct oci_seccomp_syscall notify_rule[] = {
                { .names = (char *[]){ "uname", NULL }, .action = action("SCMP_ACT_NOTIFY", 0) },
        };
        struct oci_seccomp_arg bad_index[] = { { .index = 6, .value = 1, .op = SCMP_CMP_EQ } };
        struct oci_seccomp_syscall bad_index_rule[] = {
                { .names = (char *[]){ "uname", NULL },
                  .action = action("SCMP_ACT_ERRNO", 0),
                  .args = bad_index,
                  .n_args = 1 },
        };
        struct seccomp_program prog = { 0 };
        struct coi_error err = { 0 };

        struct oci_seccomp notify = { .default_action = SCMP_ACT_ALLOW,
                                      .syscalls = notify_rule,
                                      .n_syscalls = 1 };
        assert_int_equal(seccomp_program_build(NULL, &notify, &prog, &err), -ENOTSUP);
        assert_non_null(strstr(err.msg, "SCMP_ACT_NOTIFY"));
        assert_non_null(strstr(err.msg, "syscalls[0]"));
        assert_null(prog.filter);

        struct oci_seccomp notify_default = { .default_action = SCMP_ACT_NOTIFY };
        assert_int_equal(seccomp_program_build(NULL, &notify_default, &prog, &err), -ENOTSUP);
        assert_non_null(strstr(err.msg, "defaultAction"));

        struct oci_seccomp listener = { .default_action = SCMP_ACT_ALLOW,
                                        .listener_path = (char *)"/run/x.sock" };
        assert_int_equal(seccomp_program_build(NULL, &listener, &prog, &err), -ENOTSUP);
        assert_non_null(strstr(err.msg, "/run/x.sock"));

        struct oci_seccomp bad_flag = { .default_action = SCMP_ACT_ALLOW,
                                        .flags = (char *[]){ "SECCOMP_FILTER_FLAG_BOGUS", NULL } };
        assert_int_equal(seccomp_program_build(NULL, &bad_flag, &prog, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "SECCOMP_FILTER_FLAG_BOGUS"));

        struct oci_seccomp_syscall huge_errno_rule[] = {
                { .names = (char *[]){ "uname", NULL },
                  .action = action("SCMP_ACT_ERRNO", 0),
                  .has_errno_ret = true,
                  .errno_ret = 70000 },
        };
        struct oci_seccomp huge_errno = { .default_action = SCMP_ACT_ALLOW,
                                          .syscalls = huge_errno_rule,
                                          .n_syscalls = 1 };
        assert_int_equal(seccomp_program_build(NULL, &huge_errno, &prog, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "errnoRet 70000"));

        struct oci_seccomp bad_arg = { .default_action = SCMP_ACT_ALLOW,
                                       .syscalls = bad_index_rule,
                                       .n_syscalls = 1 };
        assert_int_equal(seccomp_program_build(NULL, &bad_arg, &prog, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "index 6"));
        assert_null(prog.filter);
}

/* The profile's path from this test's location: <build>/tests/test-seccomp and __FILE__, which meson
 * gives relative to <build>. */
static char *profile_path(const char *name)
{
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        assert_true(n > 0);
        exe[n] = '\0';
        const char *file = __FILE__;
        const char *suffix = strstr(file, "tests/unit/test-seccomp.c");
        assert_non_null(suffix);
        int prefix = (int)(suffix - file);
        if (file[0] == '/')
                return xasprintf("%.*sseccomp-profiles/%s.json", prefix, file, name);
        return xasprintf("%s/%.*sseccomp-profiles/%s.json", dirname(dirname(exe)), prefix, file, name);
}

/* The profile as the runtime sees it: linux.seccomp of a config.json, through the real parser. */
static struct oci_config *load_profile(const char *path)
{
        _cleanup_free_ char *profile = NULL, *doc = NULL;
        struct oci_config *config = NULL;
        struct coi_error err = { 0 };
        size_t len;

        if (read_file_at(AT_FDCWD, path, 0, &profile, &len, &err) < 0)
                fail_msg("%s", err.msg);
        doc = xasprintf("{\"ociVersion\": \"1.2.0\", \"root\": {\"path\": \"rootfs\"}, "
                        "\"linux\": {\"seccomp\": %s}}",
                        profile);
        assert_non_null(doc);
        if (oci_config_parse(doc, strlen(doc), path, &config, &err) < 0)
                fail_msg("%s", err.msg);
        assert_non_null(config->linux_.seccomp);
        return config;
}

static int child_default_profile(const struct seccomp_program *prog)
{
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        struct utsname u;
        char c = 'x';

        CHECK(fd >= 0);
        /* Without the filter these calls reach the kernel and fail for other reasons (harmlessly:
         * an empty module image, unknown kexec flags, TIOCSTI on a non-tty). */
        errno = 0;
        CHECK(syscall(SYS_init_module, NULL, 0UL, "") < 0 && errno != EPERM);
        errno = 0;
        CHECK(syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0xdead0000UL) < 0 && errno != EPERM);
        errno = 0;
        CHECK(ioctl(fd, TIOCSTI, &c) < 0 && errno == ENOTTY);

        CHECK(install_with_nnp(prog) == 0);

        errno = 0;
        CHECK(syscall(SYS_init_module, NULL, 0UL, "") < 0 && errno == EPERM);
        errno = 0;
        CHECK(syscall(SYS_finit_module, fd, "", 0) < 0 && errno == EPERM);
        errno = 0;
        CHECK(syscall(SYS_delete_module, "nope", 0) < 0 && errno == EPERM);
        errno = 0;
        CHECK(syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0xdead0000UL) < 0 && errno == EPERM);
        errno = 0;
        CHECK(syscall(SYS_open_by_handle_at, -1, NULL, 0) < 0 && errno == EPERM);
        errno = 0;
        CHECK(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0) < 0 && errno == EPERM);
        errno = 0;
        CHECK(syscall(SYS_swapoff, "/nonexistent") < 0 && errno == EPERM);
        /* keyrings are not namespaced: ENOSYS, which systemd treats as "no keyring support" */
        errno = 0;
        CHECK(syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0) < 0 && errno == ENOSYS);
        errno = 0;
        CHECK(syscall(SYS_add_key, "user", "coi", "x", 1, -3) < 0 && errno == ENOSYS);
        errno = 0;
        CHECK(syscall(SYS_io_uring_setup, 1, NULL) < 0 && errno == ENOSYS);
        /* TIOCSTI denied, also with garbage in the upper 32 bits the kernel ignores */
        errno = 0;
        CHECK(ioctl(fd, TIOCSTI, &c) < 0 && errno == EPERM);
        errno = 0;
        CHECK(syscall(SYS_ioctl, fd, 0xabcd00000000UL | TIOCSTI, &c) < 0 && errno == EPERM);
        errno = 0;
        CHECK(ioctl(fd, TIOCLINUX, &c) < 0 && errno == EPERM);
        /* bpf: the kernel's verifier is too large a surface to hand to a container */
        errno = 0;
        CHECK(syscall(SYS_bpf, -1, NULL, 0) < 0 && errno == EPERM);
        /* other ioctls and the rest still reach the kernel */
        struct termios t;
        errno = 0;
        CHECK(ioctl(fd, TCGETS, &t) < 0 && errno == ENOTTY);
        CHECK(uname(&u) == 0);
        CHECK(syscall(SYS_getpid) == getpid());
        /* what nesting needs: personality queries and flags, clone3, the new mount API, pivot_root and
         * a new user namespace (last: it changes this child's namespace) */
        CHECK(syscall(SYS_personality, 0xffffffffUL) >= 0);
        errno = 0;
        CHECK(syscall(SYS_clone3, NULL, 0UL) < 0 && errno == EINVAL);
        errno = 0;
        CHECK(syscall(SYS_fsopen, "no-such-fs", 0) < 0 && errno == ENODEV);
        errno = 0;
        CHECK(syscall(SYS_pivot_root, "/nonexistent", "/nonexistent") < 0 && errno != EPERM);
        CHECK(unshare(CLONE_NEWUSER) == 0);
        close(fd);
        return 0;
}

static int child_strict_profile(const struct seccomp_program *prog)
{
        CHECK(install_with_nnp(prog) == 0);
        /* everything the default profile denies */
        errno = 0;
        CHECK(syscall(SYS_init_module, NULL, 0UL, "") < 0 && errno == EPERM);
        errno = 0;
        CHECK(syscall(SYS_bpf, -1, NULL, 0) < 0 && errno == EPERM);
        errno = 0;
        CHECK(syscall(SYS_keyctl, 0, -3, 0) < 0 && errno == ENOSYS);
        /* no nested user namespace, through unshare or clone (flags in arg 0) */
        errno = 0;
        CHECK(unshare(CLONE_NEWUSER) < 0 && errno == EPERM);
        errno = 0;
        CHECK(unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0 && errno == EPERM);
        errno = 0;
        CHECK(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0UL) < 0 && errno == EPERM);
        /* clone3's flags live in memory seccomp can't read: ENOSYS, so libc falls back to clone */
        errno = 0;
        CHECK(syscall(SYS_clone3, NULL, 0UL) < 0 && errno == ENOSYS);
        /* the new mount API and pivot_root */
        errno = 0;
        CHECK(syscall(SYS_fsopen, "tmpfs", 0) < 0 && errno == ENOSYS);
        errno = 0;
        CHECK(syscall(SYS_open_tree, AT_FDCWD, "/", 0) < 0 && errno == ENOSYS);
        errno = 0;
        CHECK(syscall(SYS_mount_setattr, -1, "", 0, NULL, 0UL) < 0 && errno == ENOSYS);
        errno = 0;
        CHECK(syscall(SYS_pivot_root, "/nonexistent", "/nonexistent") < 0 && errno == EPERM);
        /* personality stays allowed: systemd's LockPersonality= queries it with 0xffffffff */
        CHECK(syscall(SYS_personality, 0xffffffffUL) >= 0);
        /* ordinary work: a child process and a private mount namespace (systemd's PrivateTmp=) */
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0)
                _exit(0);
        int st;
        CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
        CHECK(unshare(CLONE_NEWNS) == 0);
        return 0;
}

static void test_default_profile(void **state)
{
        _cleanup_free_ char *path = profile_path("default");
        _cleanup_(oci_config_freep) struct oci_config *config = load_profile(path);
        struct seccomp_program prog = { 0 };

        assert_int_equal(config->linux_.seccomp->default_action, SCMP_ACT_ALLOW);
        build_ok(config->linux_.seccomp, &prog);
        assert_child_ok(run_in_child(child_default_profile, &prog));
        seccomp_program_done(&prog);
}

static void test_strict_profile(void **state)
{
        _cleanup_free_ char *path = profile_path("strict");
        _cleanup_(oci_config_freep) struct oci_config *config = load_profile(path);
        struct seccomp_program prog = { 0 };

        assert_int_equal(config->linux_.seccomp->default_action, SCMP_ACT_ALLOW);
        build_ok(config->linux_.seccomp, &prog);
        assert_child_ok(run_in_child(child_strict_profile, &prog));
        seccomp_program_done(&prog);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_errno_and_errno_ret),
                cmocka_unit_test(test_default_errno_ret),
                cmocka_unit_test(test_arg_filters),
                cmocka_unit_test(test_kill_process_sigsys),
                cmocka_unit_test(test_install_needs_nnp_or_sys_admin),
                cmocka_unit_test(test_unknown_syscall_skipped_and_flags),
                cmocka_unit_test(test_refusals),
                cmocka_unit_test(test_default_profile),
                cmocka_unit_test(test_strict_profile),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
