/* test-mounts.c — mount targets stay inside the rootfs (symlinks, ".."), masks refuse a fake /dev/null,
 * and an end-to-end linux_container_spawn of a busybox rootfs in all namespaces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <linux/magic.h>

#include <sys/socket.h>

#include "hooks.h"
#include "linux.h"
#include "seccomp-bpf.h"
#include "mounts.h"
#include "util.h"

static char tmpdir[64];
static char rootfs[128];

static void sh(const char *fmt, ...)
{
        char cmd[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        assert_int_equal(system(cmd), 0);
}

static int setup_rootfs(void **state)
{
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/coi-test-mounts-XXXXXX");
        assert_non_null(mkdtemp(tmpdir));
        snprintf(rootfs, sizeof(rootfs), "%s/rootfs", tmpdir);
        sh("chmod 755 %s && mkdir -p %s/dev %s/tmp", tmpdir, rootfs, rootfs);
        return 0;
}

static int teardown_rootfs(void **state)
{
        sh("rm -rf %s", tmpdir);
        return 0;
}

/* Runs fn in a child inside its own mount namespace with / rprivate: nothing reaches the host's
 * mount table. fn returns 0 on success or a line number to report. */
static int in_mount_ns(int (*fn)(void))
{
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                        _exit(200);
                _exit(fn());
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

#define CHECK(cond)                                                                                          \
        do {                                                                                                 \
                if (!(cond)) {                                                                               \
                        fprintf(stderr, "check failed at line %d: %s (%s)\n", __LINE__, #cond, err.msg);     \
                        return __LINE__ % 200 + 1;                                                           \
                }                                                                                            \
        } while (0)

static bool is_tmpfs(const char *path)
{
        struct statfs sf;
        return statfs(path, &sf) == 0 && sf.f_type == TMPFS_MAGIC;
}

/* rootfs/etc -> / : a mount on /etc/evil must land in rootfs/evil, never on the host's /evil. */
static int child_symlink_escape(void)
{
        struct coi_error err = { 0 };
        char p[256];
        snprintf(p, sizeof(p), "%s/etc", rootfs);
        CHECK(symlink("/", p) == 0);
        char *opts[] = { NULL };
        struct oci_mount m = {
                .destination = "/etc/evil", .type = "tmpfs", .source = "tmpfs", .options = opts
        };
        struct oci_config config = { .mounts = &m, .n_mounts = 1 };
        config.linux_.namespaces[OCI_NS_MOUNT].present = true;
        struct mounts_setup s = { .config = &config, .rootfs = rootfs, .bundle = tmpdir };
        CHECK(mounts_prepare_rootfs(&s, &err) == 0);
        snprintf(p, sizeof(p), "%s/evil", rootfs);
        CHECK(is_tmpfs(p));
        CHECK(access("/evil", F_OK) < 0 && errno == ENOENT);
        return 0;
}

static void test_symlink_to_host_root_stays_inside(void **state)
{
        assert_int_equal(access("/evil", F_OK), -1);
        assert_int_equal(in_mount_ns(child_symlink_escape), 0);
        assert_int_equal(access("/evil", F_OK), -1); /* nothing created on the host either */
}

static char escape_name[64];

/* "/../../<name>" and a symlink "up -> ../../../.." resolve inside the rootfs. */
static int child_dotdot(void)
{
        struct coi_error err = { 0 };
        _cleanup_close_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        CHECK(rootfd >= 0);
        char dest[128], p[256];
        snprintf(dest, sizeof(dest), "/../../../%s/x", escape_name);
        _cleanup_close_ int fd = -1;
        CHECK(mounts_resolve_in_root(rootfd, dest, MOUNTS_CREATE_DIR, &fd, &err) == 0);
        snprintf(p, sizeof(p), "%s/%s/x", rootfs, escape_name);
        CHECK(access(p, F_OK) == 0);

        snprintf(p, sizeof(p), "%s/up", rootfs);
        CHECK(symlink("../../../..", p) == 0);
        snprintf(dest, sizeof(dest), "/up/%s-file", escape_name);
        _cleanup_close_ int fd2 = -1;
        CHECK(mounts_resolve_in_root(rootfd, dest, MOUNTS_CREATE_FILE, &fd2, &err) == 0);
        struct stat st;
        CHECK(fstat(fd2, &st) == 0 && S_ISREG(st.st_mode));
        snprintf(p, sizeof(p), "%s/%s-file", rootfs, escape_name);
        CHECK(access(p, F_OK) == 0);
        return 0;
}

static void test_dotdot_stays_inside(void **state)
{
        snprintf(escape_name, sizeof(escape_name), "coi-escape-%d", (int)getpid());
        assert_int_equal(in_mount_ns(child_dotdot), 0);
        char p[128];
        snprintf(p, sizeof(p), "/%s", escape_name);
        assert_int_equal(access(p, F_OK), -1);
        snprintf(p, sizeof(p), "/tmp/%s", escape_name);
        assert_int_equal(access(p, F_OK), -1);
        snprintf(p, sizeof(p), "/%s-file", escape_name);
        assert_int_equal(access(p, F_OK), -1);
}

/* A dangling absolute symlink as the target is refused, and its host target is never created. */
static void test_dangling_symlink_refused(void **state)
{
        char p[256], target[128];
        snprintf(target, sizeof(target), "/tmp/coi-dangling-%d", (int)getpid());
        snprintf(p, sizeof(p), "%s/dangling", rootfs);
        assert_int_equal(symlink(target, p), 0);
        _cleanup_close_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        struct coi_error err = { 0 };
        int fd = -1;
        assert_int_equal(mounts_resolve_in_root(rootfd, "/dangling", MOUNTS_CREATE_FILE, &fd, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "dangling symlink"));
        assert_int_equal(access(target, F_OK), -1);
}

static int child_fake_devnull(void)
{
        struct coi_error err = { 0 };
        sh("touch %s/dev/null && echo secret > %s/secret", rootfs, rootfs);
        _cleanup_close_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        CHECK(mounts_mask_path(rootfd, "/secret", &err) == -EPERM);
        CHECK(strstr(err.msg, "not the null device") != NULL);
        /* A symlink to the host's real /dev/null is not followed out of the rootfs either. */
        sh("rm %s/dev/null && ln -s /../../dev/zero %s/dev/null", rootfs, rootfs);
        CHECK(mounts_mask_path(rootfd, "/secret", &err) < 0);
        return 0;
}

static void test_mask_refuses_fake_devnull(void **state)
{
        assert_int_equal(in_mount_ns(child_fake_devnull), 0);
}

static int child_mask_and_readonly(void)
{
        struct coi_error err = { 0 };
        sh("touch %s/dev/null && mount --bind /dev/null %s/dev/null", rootfs, rootfs);
        sh("echo secret > %s/secret && mkdir -p %s/sdir %s/ro && touch %s/sdir/f", rootfs, rootfs, rootfs,
           rootfs);
        _cleanup_close_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        CHECK(mounts_mask_path(rootfd, "/secret", &err) == 0);
        CHECK(mounts_mask_path(rootfd, "/sdir", &err) == 0);
        CHECK(mounts_mask_path(rootfd, "/does-not-exist", &err) == 0);
        CHECK(mounts_readonly_path(rootfd, "/ro", &err) == 0);
        char p[256], buf[16];
        snprintf(p, sizeof(p), "%s/secret", rootfs);
        _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
        CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == 0);
        snprintf(p, sizeof(p), "%s/sdir/f", rootfs);
        CHECK(access(p, F_OK) < 0);
        snprintf(p, sizeof(p), "%s/sdir/new", rootfs);
        CHECK(mkdir(p, 0755) < 0 && errno == EROFS);
        snprintf(p, sizeof(p), "%s/ro/new", rootfs);
        CHECK(mkdir(p, 0755) < 0 && errno == EROFS);
        return 0;
}

static void test_mask_and_readonly_paths(void **state)
{
        assert_int_equal(in_mount_ns(child_mask_and_readonly), 0);
}

static void test_sysctl_refuses_host_keys(void **state)
{
        /* Writes the current value, so even a broken check could not change the host. */
        _cleanup_free_ char *cur = NULL;
        assert_int_equal(read_file_at(AT_FDCWD, "/proc/sys/vm/swappiness", 0, &cur, NULL, NULL), 0);
        char *kv[] = { "vm.swappiness", cur, NULL };
        struct oci_config config = { 0 };
        config.linux_.sysctl = kv;
        config.linux_.namespaces[OCI_NS_NETWORK].present = true;
        struct coi_error err = { 0 };
        assert_int_equal(mounts_apply_sysctl(&config, &err), -EPERM);
        assert_non_null(strstr(err.msg, "vm.swappiness is not namespaced"));
        char *net[] = { "net.ipv4.ip_forward", "0", NULL };
        config.linux_.sysctl = net;
        config.linux_.namespaces[OCI_NS_NETWORK].present = false;
        assert_int_equal(mounts_apply_sysctl(&config, &err), -EPERM);
}

/* ---- end to end: linux_container_spawn with a busybox rootfs --------------------------------------- */

struct e2e {
        struct oci_config config;
        struct oci_mount mounts[3];
        struct oci_id_mapping uid, gid;
        char *args[8];
        char *env[2];
        char *no_opts[1];
};

static void e2e_config(struct e2e *e, const char *script)
{
        memset(e, 0, sizeof(*e));
        struct oci_config *c = &e->config;
        c->has_process = true;
        c->hostname = "coi-test";
        e->args[0] = "/bin/sh";
        e->args[1] = "-c";
        e->args[2] = (char *)script;
        c->process.args = e->args;
        e->env[0] = "PATH=/bin";
        c->process.env = e->env;
        c->process.cwd = "/";
        e->mounts[0] = (struct oci_mount){ .destination = "/proc",
                                           .type = "proc",
                                           .source = "proc",
                                           .options = e->no_opts,
                                           .flags = MS_NOSUID | MS_NODEV | MS_NOEXEC };
        e->mounts[1] = (struct oci_mount){ .destination = "/dev",
                                           .type = "tmpfs",
                                           .source = "tmpfs",
                                           .options = e->no_opts,
                                           .flags = MS_NOSUID,
                                           .data = "mode=755" };
        e->mounts[2] = (struct oci_mount){ .destination = "/sys",
                                           .type = "sysfs",
                                           .source = "sysfs",
                                           .options = e->no_opts,
                                           .flags = MS_RDONLY | MS_NOSUID | MS_NODEV };
        c->mounts = e->mounts;
        c->n_mounts = 3;
        static const enum oci_namespace_type ns[] = { OCI_NS_USER, OCI_NS_MOUNT,   OCI_NS_PID,   OCI_NS_UTS,
                                                      OCI_NS_IPC,  OCI_NS_NETWORK, OCI_NS_CGROUP };
        for (size_t i = 0; i < ELEMENTSOF(ns); i++)
                c->linux_.namespaces[ns[i]].present = true;
        e->uid = (struct oci_id_mapping){ 0, 100000, 65536 };
        e->gid = (struct oci_id_mapping){ 0, 100000, 65536 };
        c->linux_.uid_mappings = &e->uid;
        c->linux_.n_uid_mappings = 1;
        c->linux_.gid_mappings = &e->gid;
        c->linux_.n_gid_mappings = 1;
}

/* Spawns s with stdout on a pipe; returns the spawn result, the output and the exit status. */
static int e2e_spawn(const struct linux_spawn *s, char *out, size_t size, int *ret_status,
                     struct coi_error *err)
{
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        int saved = dup(1);
        dup2(p[1], 1); /* the init inherits fd 1: the pipe */
        pid_t pid = 0;
        int r = linux_container_spawn(NULL, s, &pid, err);
        dup2(saved, 1);
        close(saved);
        close(p[1]);
        size_t len = 0;
        ssize_t n;
        while (len < size - 1 && (n = read(p[0], out + len, size - 1 - len)) > 0)
                len += (size_t)n;
        out[len] = '\0';
        close(p[0]);
        *ret_status = -1;
        if (r == 0)
                assert_int_equal(waitpid(pid, ret_status, 0), pid);
        return r;
}

static struct linux_spawn e2e_default_spawn(struct e2e *e)
{
        return (struct linux_spawn){
                .config = &e->config,
                .id = "e2e",
                .bundle = tmpdir,
                .rootfs = rootfs,
                .state_dirfd = -1,
                .cgroup_dirfd = -1,
                .console_socket_fd = -1,
        };
}

static int e2e_run(struct e2e *e, char *out, size_t size, int *ret_status, struct coi_error *err)
{
        struct linux_spawn s = e2e_default_spawn(e);
        return e2e_spawn(&s, out, size, ret_status, err);
}

static int setup_busybox(void **state)
{
        setup_rootfs(state);
        sh("mkdir -p %s/bin %s/proc %s/sys && cp /bin/busybox %s/bin/ && "
           "chroot %s /bin/busybox --install -s /bin && chmod -R go+rX %s",
           rootfs, rootfs, rootfs, rootfs, rootfs, tmpdir);
        return 0;
}

static void test_spawn_busybox_in_all_namespaces(void **state)
{
        struct e2e e;
        e2e_config(&e, "echo $$; id -u; hostname; ls /dev/null /dev/zero /dev/pts; readlink /dev/ptmx; "
                       "ls -l /dev/net/tun | cut -c1");
        struct oci_device tun = { .path = "/dev/net/tun", .type = 'c', .major = 10, .minor = 200 };
        e.config.linux_.devices = &tun; /* in a user namespace: the host's node, bound */
        e.config.linux_.n_devices = 1;
        char out[4096];
        int status;
        struct coi_error err = { 0 };
        int r = e2e_run(&e, out, sizeof(out), &status, &err);
        if (r < 0)
                fail_msg("spawn failed: %s", err.msg);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_string_equal(out, "1\n0\ncoi-test\n/dev/null\n/dev/zero\n\n/dev/pts:\npts/ptmx\nc\n");
}

static void test_spawn_reports_child_errors(void **state)
{
        struct e2e e;
        char out[256];
        int status;
        struct coi_error err = { 0 };
        e2e_config(&e, "true");
        e.args[0] = "/no/such/binary";
        assert_int_equal(e2e_run(&e, out, sizeof(out), &status, &err), -ENOENT);
        assert_string_equal(err.msg, "exec /no/such/binary in the container: No such file or directory");

        e2e_config(&e, "true");
        e.config.process.cwd = "/no/such/dir";
        assert_int_equal(e2e_run(&e, out, sizeof(out), &status, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "chdir to process.cwd /no/such/dir"));

        e2e_config(&e, "true");
        e.mounts[0].source = "/no/such/source";
        e.mounts[0].type = "bind";
        e.mounts[0].bind = true;
        assert_int_equal(e2e_run(&e, out, sizeof(out), &status, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "bind mount source /no/such/source"));
}

static void test_spawn_rlimit_raise_is_explained(void **state)
{
        struct rlimit cur;
        assert_int_equal(getrlimit(RLIMIT_NOFILE, &cur), 0);
        if (cur.rlim_max == RLIM_INFINITY)
                skip();
        struct e2e e;
        e2e_config(&e, "true");
        struct oci_rlimit rl = {
                .resource = RLIMIT_NOFILE, .type = "RLIMIT_NOFILE", .hard = cur.rlim_max * 2, .soft = 1024
        };
        e.config.process.rlimits = &rl;
        e.config.process.n_rlimits = 1;
        char out[256], want[256];
        int status;
        struct coi_error err = { 0 };
        int r = e2e_run(&e, out, sizeof(out), &status, &err);
        if (r == 0)
                skip(); /* we hold CAP_SYS_RESOURCE here: raising is allowed */
        snprintf(want, sizeof(want),
                 "rlimit RLIMIT_NOFILE: hard %llu above current hard limit %llu (raising needs "
                 "CAP_SYS_RESOURCE)",
                 (unsigned long long)cur.rlim_max * 2, (unsigned long long)cur.rlim_max);
        assert_string_equal(err.msg, want);
}

static void test_spawn_masks_readonly_and_sysctl(void **state)
{
        sh("mkdir -p %s/secret && echo x > %s/secret/file && echo y > %s/hidden", rootfs, rootfs, rootfs);
        struct e2e e;
        e2e_config(&e, "cat /hidden | wc -c; ls /secret | wc -l; cat /proc/sys/net/ipv4/ip_forward; "
                       "(echo 0 > /proc/sys/net/ipv4/ip_forward) 2>/dev/null || echo ro-sys; "
                       "touch /new 2>/dev/null || echo ro-root");
        char *masked[] = { "/hidden", "/secret", "/not-there", NULL };
        char *ro[] = { "/proc/sys", NULL };
        char *sysctl[] = { "net.ipv4.ip_forward", "1", NULL };
        e.config.linux_.masked_paths = masked;
        e.config.linux_.readonly_paths = ro;
        e.config.linux_.sysctl = sysctl;
        e.config.root_readonly = true;
        char out[4096];
        int status;
        struct coi_error err = { 0 };
        int r = e2e_run(&e, out, sizeof(out), &status, &err);
        if (r < 0)
                fail_msg("spawn failed: %s", err.msg);
        assert_string_equal(out, "0\n0\n1\nro-sys\nro-root\n");
}

static pid_t create_runtime_pid;
static int record_create_runtime(void *userdata, pid_t pid, struct coi_error *err)
{
        create_runtime_pid = pid;
        return 0;
}

/* create (init waits on exec.fifo) → exec a second process in its namespaces → start. */
static void test_create_exec_start(void **state)
{
        char hookdir[256];
        snprintf(hookdir, sizeof(hookdir), "%s/hooks", tmpdir);
        sh("mkdir -m 777 %s", hookdir);
        struct e2e e;
        e2e_config(&e, "echo started $$ as $(id -u):$(id -g)");
        e.config.process.user.uid = 1000; /* the fifo must open after the drop to an unprivileged user */
        e.config.process.user.gid = 1000;
        char *hook_args[] = { "sh", "-c", NULL, NULL };
        char script[512];
        snprintf(script, sizeof(script), "cat > %s/create-container.json", hookdir);
        hook_args[2] = script;
        struct oci_hook hook = { .path = "/bin/sh", .args = hook_args };
        e.config.hooks[OCI_HOOK_CREATE_CONTAINER] = &hook;
        e.config.n_hooks[OCI_HOOK_CREATE_CONTAINER] = 1;
        _cleanup_close_ int dirfd = open(tmpdir, O_DIRECTORY | O_CLOEXEC);
        assert_true(dirfd >= 0);
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        int saved = dup(1);
        dup2(p[1], 1);
        struct linux_spawn s = {
                .config = &e.config,
                .id = "e2e",
                .bundle = tmpdir,
                .rootfs = rootfs,
                .state_dirfd = dirfd,
                .cgroup_dirfd = -1,
                .console_socket_fd = -1,
                .wait_for_start = true,
                .on_create_runtime = record_create_runtime,
        };
        struct coi_error err = { 0 };
        pid_t init = 0, ex = 0;
        int r = linux_container_spawn(NULL, &s, &init, &err);
        char *exec_args[] = { "sh", "-c", "echo exec $$; hostname", NULL };
        struct oci_process proc = { .args = exec_args, .env = e.env, .cwd = "/" };
        struct linux_exec x = {
                .init_pid = init, .config = &e.config, .process = &proc, .console_socket_fd = -1
        };
        int rx = r == 0 ? linux_exec_spawn(NULL, &x, &ex, &err) : r;
        dup2(saved, 1);
        close(saved);
        close(p[1]);
        if (r < 0 || rx < 0) {
                if (init > 0)
                        kill(init, SIGKILL), waitpid(init, NULL, 0);
                fail_msg("spawn/exec failed: %s", err.msg);
        }
        assert_int_equal(create_runtime_pid, init);
        int status;
        assert_int_equal(waitpid(ex, &status, 0), ex);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        /* The init is still blocked: start it by reading exec.fifo. */
        _cleanup_close_ int fifo = openat(dirfd, "exec.fifo", O_RDONLY | O_CLOEXEC);
        assert_true(fifo >= 0);
        char c;
        assert_int_equal(read(fifo, &c, 1), 1);
        assert_int_equal(waitpid(init, &status, 0), init);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        char out[1024];
        ssize_t n = read(p[0], out, sizeof(out) - 1);
        close(p[0]);
        assert_true(n > 0);
        out[n] = '\0';
        /* The exec'd process is in the container's pid namespace (not pid 1: after the init and the
         * createContainer hook's processes), with the container's hostname. */
        int expid = 0;
        char rest[256];
        assert_int_equal(sscanf(out, "exec %d\n%255c", &expid, rest), 2);
        assert_true(expid > 1 && expid < 10);
        assert_non_null(strstr(out, "\ncoi-test\nstarted 1 as 1000:1000\n"));
        char path[300];
        snprintf(path, sizeof(path), "%s/create-container.json", hookdir);
        _cleanup_free_ char *json = NULL;
        assert_int_equal(read_file_at(AT_FDCWD, path, 0, &json, NULL, &err), 0);
        char want[64];
        snprintf(want, sizeof(want), "\"pid\":%d", (int)init);
        assert_non_null(strstr(json, "\"id\":\"e2e\""));
        assert_non_null(strstr(json, want));
}

/* A host directory owned by uid 1000, bound with "idmap": seen as 1000 inside (not as nobody). */
static void test_idmapped_bind_mount(void **state)
{
        sh("mkdir -p %s/shared %s/mnt %s/plain && touch %s/shared/f && chown -R 1000:1000 %s/shared", tmpdir,
           rootfs, rootfs, tmpdir, tmpdir);
        struct e2e e;
        e2e_config(&e, "stat -c %u /mnt/f /plain/f");
        char src[256];
        snprintf(src, sizeof(src), "%s/shared", tmpdir);
        e.mounts[2] = (struct oci_mount){
                .destination = "/mnt", .source = src, .options = e.no_opts, .bind = true, .idmap = true
        };
        struct oci_mount all[4];
        memcpy(all, e.mounts, sizeof(e.mounts));
        all[3] = (struct oci_mount){
                .destination = "/plain", .source = src, .options = e.no_opts, .bind = true
        };
        e.config.mounts = all;
        e.config.n_mounts = 4;
        char out[256];
        int status;
        struct coi_error err = { 0 };
        int r = e2e_run(&e, out, sizeof(out), &status, &err);
        if (r < 0)
                fail_msg("spawn failed: %s", err.msg);
        assert_string_equal(out, "1000\n65534\n");
}

static void test_terminal_goes_to_console_socket(void **state)
{
        struct e2e e;
        e2e_config(&e, "[ -t 0 ] && [ -t 1 ] && echo on-a-tty; ls -l /dev/console | cut -c1");
        char *pts_opts[] = { "newinstance", "ptmxmode=0666", NULL };
        struct oci_mount all[4];
        memcpy(all, e.mounts, sizeof(e.mounts));
        all[3] = (struct oci_mount){ .destination = "/dev/pts",
                                     .type = "devpts",
                                     .source = "devpts",
                                     .options = pts_opts,
                                     .data = "newinstance,ptmxmode=0666",
                                     .flags = MS_NOSUID | MS_NOEXEC };
        e.config.mounts = all;
        e.config.n_mounts = 4;
        e.config.process.terminal = true;
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        struct linux_spawn s = {
                .config = &e.config,
                .id = "tty",
                .bundle = tmpdir,
                .rootfs = rootfs,
                .state_dirfd = -1,
                .cgroup_dirfd = -1,
                .console_socket_fd = sv[1],
        };
        struct coi_error err = { 0 };
        pid_t pid = 0;
        int r = linux_container_spawn(NULL, &s, &pid, &err);
        close(sv[1]);
        if (r < 0)
                fail_msg("spawn failed: %s", err.msg);
        char name[64], control[CMSG_SPACE(sizeof(int))];
        struct iovec iov = { name, sizeof(name) };
        struct msghdr msg = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control)
        };
        assert_true(recvmsg(sv[0], &msg, 0) > 0);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        assert_non_null(c);
        int master;
        memcpy(&master, CMSG_DATA(c), sizeof(int));
        char out[1024];
        size_t len = 0;
        ssize_t n;
        while (len < sizeof(out) - 1 && (n = read(master, out + len, sizeof(out) - 1 - len)) > 0)
                len += (size_t)n;
        out[len] = '\0';
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        close(master);
        close(sv[0]);
        assert_string_equal(out, "on-a-tty\r\nc\r\n");
}

static void test_hooks_timeout_and_failure(void **state)
{
        struct coi_error err = { 0 };
        char *sleep_args[] = { "sh", "-c", "sleep 5", NULL };
        char *fail_args[] = { "sh", "-c", "cat >/dev/null; echo boom >&2; exit 3", NULL };
        struct oci_hook hooks[2] = {
                { .path = "/bin/sh", .args = fail_args },
                { .path = "/bin/sh", .args = sleep_args, .has_timeout = true, .timeout = 1 }
        };
        struct oci_config config = { 0 };
        config.hooks[OCI_HOOK_CREATE_RUNTIME] = &hooks[0];
        config.n_hooks[OCI_HOOK_CREATE_RUNTIME] = 1;
        config.hooks[OCI_HOOK_POSTSTART] = &hooks[1];
        config.n_hooks[OCI_HOOK_POSTSTART] = 1;
        assert_int_equal(hooks_run(NULL, &config, OCI_HOOK_CREATE_RUNTIME, "{}", &err), -EIO);
        assert_string_equal(err.msg, "hook /bin/sh (createRuntime): exited with status 3: boom");
        uint64_t t0 = now_ns();
        assert_int_equal(hooks_run(NULL, &config, OCI_HOOK_POSTSTART, "{}", &err), -ETIMEDOUT);
        assert_string_equal(err.msg, "hook /bin/sh (poststart): timed out after 1 s");
        assert_true(now_ns() - t0 < 3000000000ull);
}

/* Joining a namespace by path takes the staged start (setns, unshare, fork into the pid namespace). */
static void test_spawn_joining_a_namespace(void **state)
{
        struct e2e e;
        e2e_config(&e, "echo $$; hostname; cat /proc/self/uid_map | tr -s ' '");
        e.config.linux_.namespaces[OCI_NS_NETWORK].path = "/proc/self/ns/net"; /* our own: harmless */
        e.config.n_mounts = 2; /* no sysfs: the host's network namespace isn't ours to mount it */
        char out[512];
        int status;
        struct coi_error err = { 0 };
        int r = e2e_run(&e, out, sizeof(out), &status, &err);
        if (r < 0)
                fail_msg("spawn failed: %s", err.msg);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_string_equal(out, "1\ncoi-test\n 0 100000 65536\n");
}

/* tmpcopyup: the tmpfs starts with the image's files; writes stay in the tmpfs. */
static void test_tmpcopyup(void **state)
{
        sh("mkdir -p %s/etc/sub && echo hi > %s/etc/hello && ln -s hello %s/etc/link && chmod 604 "
           "%s/etc/hello",
           rootfs, rootfs, rootfs, rootfs);
        struct e2e e;
        e2e_config(&e,
                   "cat /etc/link; stat -c %a /etc/hello; ls -d /etc/sub; echo x > /etc/new && echo written");
        e.mounts[2] = (struct oci_mount){ .destination = "/etc",
                                          .type = "tmpfs",
                                          .source = "tmpfs",
                                          .options = e.no_opts,
                                          .tmpcopyup = true };
        char out[256];
        int status;
        struct coi_error err = { 0 };
        int r = e2e_run(&e, out, sizeof(out), &status, &err);
        if (r < 0)
                fail_msg("spawn failed: %s", err.msg);
        assert_string_equal(out, "hi\n604\n/etc/sub\nwritten\n");
        char p[256];
        snprintf(p, sizeof(p), "%s/etc/new", rootfs);
        assert_int_equal(access(p, F_OK), -1);
}

/* Capabilities and seccomp reach the process: a denied syscall fails with the configured errno. */
static void test_spawn_caps_and_seccomp(void **state)
{
        struct e2e e;
        e2e_config(
                &e,
                "mkdir /tmp/x 2>&1 | grep -c 'Operation not permitted'; grep -E '^(CapEff|CapBnd|NoNewPrivs"
                "|Seccomp):' /proc/self/status | tr -d '\\t'");
        char *names[] = { "mkdir", "mkdirat", NULL };
        struct oci_seccomp_syscall sys = { .names = names };
        struct oci_seccomp sc = { .syscalls = &sys, .n_syscalls = 1 };
        assert_int_equal(seccomp_action_from_name("SCMP_ACT_ERRNO", EPERM, &sys.action), 0);
        assert_int_equal(seccomp_action_from_name("SCMP_ACT_ALLOW", 0, &sc.default_action), 0);
        struct coi_error err = { 0 };
        struct seccomp_program prog = { 0 };
        assert_int_equal(seccomp_program_build(NULL, &sc, &prog, &err), 0);
        e.config.process.no_new_privileges = true;
        e.config.process.caps = (struct oci_capabilities){
                .present = true, .bounding = 1u << 0 /* CHOWN */, .effective = 1u << 0, .permitted = 1u << 0
        };
        struct linux_spawn s = e2e_default_spawn(&e);
        s.seccomp = &prog;
        char out[512];
        int status;
        int r = e2e_spawn(&s, out, sizeof(out), &status, &err);
        seccomp_program_done(&prog);
        if (r < 0)
                fail_msg("spawn failed: %s", err.msg);
        assert_string_equal(out,
                            "1\nCapEff:0000000000000001\nCapBnd:0000000000000001\nNoNewPrivs:1\nSeccomp:2\n");
}

/* CLONE_INTO_CGROUP: the init is in the container's cgroup from its first instruction. */
static void test_spawn_into_cgroup(void **state)
{
        char cg[128];
        snprintf(cg, sizeof(cg), "/sys/fs/cgroup/unified/coi-test-mounts-%d", (int)getpid());
        if (mkdir(cg, 0755) < 0)
                skip();
        _cleanup_close_ int cgfd = open(cg, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        _cleanup_close_ int dirfd = open(tmpdir, O_DIRECTORY | O_CLOEXEC);
        struct e2e e;
        e2e_config(&e, "cat /proc/self/cgroup");
        struct linux_spawn s = { .config = &e.config,
                                 .id = "cg",
                                 .bundle = tmpdir,
                                 .rootfs = rootfs,
                                 .state_dirfd = dirfd,
                                 .cgroup_dirfd = cgfd,
                                 .cgroup_path = cg,
                                 .console_socket_fd = -1,
                                 .wait_for_start = true };
        struct coi_error err = { 0 };
        pid_t pid = 0;
        int r = linux_container_spawn(NULL, &s, &pid, &err);
        char procs[300];
        snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
        _cleanup_free_ char *data = NULL;
        if (r == 0)
                read_file_at(AT_FDCWD, procs, 0, &data, NULL, NULL);
        if (pid > 0) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
        }
        rmdir(cg);
        if (r < 0)
                fail_msg("spawn failed: %s", err.msg);
        char want[32];
        snprintf(want, sizeof(want), "%d\n", (int)pid);
        assert_non_null(data);
        assert_string_equal(data, want);
}

/* --no-pivot: MS_MOVE + chroot; the host's tree must still be out of reach. */
static void test_spawn_no_pivot(void **state)
{
        struct e2e e;
        e2e_config(&e, "echo $$; ls /bin/busybox; ls /tmp/coi-test-mounts-* 2>/dev/null | wc -l");
        struct linux_spawn s = e2e_default_spawn(&e);
        s.no_pivot = true;
        char out[256];
        int status;
        struct coi_error err = { 0 };
        int r = e2e_spawn(&s, out, sizeof(out), &status, &err);
        if (r < 0)
                fail_msg("spawn failed: %s", err.msg);
        assert_string_equal(out, "1\n/bin/busybox\n0\n");
}

/* A time namespace with offsets (staged: offsets are written before the init enters it). */
static void test_spawn_time_namespace_offsets(void **state)
{
        struct e2e e;
        e2e_config(&e, "cut -d. -f1 /proc/uptime");
        e.config.linux_.namespaces[OCI_NS_TIME].present = true;
        e.config.linux_.has_time_offsets = true;
        e.config.linux_.boottime_secs = 10 * 86400;
        char out[64];
        int status;
        struct coi_error err = { 0 };
        int r = e2e_run(&e, out, sizeof(out), &status, &err);
        if (r < 0)
                fail_msg("spawn failed: %s", err.msg);
        assert_true(atol(out) >= 10 * 86400);
}

/* Joining an existing user namespace by path: the config has no maps of its own. */
static void test_spawn_joining_a_user_namespace(void **state)
{
        int sv[2];
        assert_int_equal(pipe2(sv, O_CLOEXEC), 0);
        pid_t holder = fork();
        assert_true(holder >= 0);
        if (holder == 0) {
                char c;
                if (unshare(CLONE_NEWUSER) < 0)
                        _exit(1);
                close(sv[1]);
                (void)!read(sv[0], &c, 1); /* until the test is done */
                _exit(0);
        }
        close(sv[0]);
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)holder);
        /* Wait until the holder has unshared (its uid_map becomes writable once). */
        struct coi_error err = { 0 };
        int r = -1;
        for (int i = 0; i < 200 && r < 0; i++) {
                r = write_file_at(AT_FDCWD, path, "0 200000 65536\n", &err);
                if (r < 0)
                        usleep(5000);
        }
        assert_int_equal(r, 0);
        snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)holder);
        assert_int_equal(write_file_at(AT_FDCWD, path, "0 200000 65536\n", &err), 0);
        snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)holder);

        struct e2e e;
        e2e_config(&e, "echo $$; tr -s ' ' < /proc/self/uid_map");
        e.config.linux_.namespaces[OCI_NS_USER].path = path;
        e.config.linux_.n_uid_mappings = e.config.linux_.n_gid_mappings = 0;
        char out[256];
        int status;
        r = e2e_run(&e, out, sizeof(out), &status, &err);
        close(sv[1]);
        waitpid(holder, NULL, 0);
        if (r < 0)
                fail_msg("spawn failed: %s", err.msg);
        assert_string_equal(out, "1\n 0 200000 65536\n");
}

int main(void)
{
        if (geteuid() != 0) {
                fprintf(stderr, "test-mounts needs root (mount namespaces, id maps)\n");
                return 77;
        }
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_symlink_to_host_root_stays_inside, setup_rootfs,
                                                teardown_rootfs),
                cmocka_unit_test_setup_teardown(test_dotdot_stays_inside, setup_rootfs, teardown_rootfs),
                cmocka_unit_test_setup_teardown(test_dangling_symlink_refused, setup_rootfs, teardown_rootfs),
                cmocka_unit_test_setup_teardown(test_mask_refuses_fake_devnull, setup_rootfs,
                                                teardown_rootfs),
                cmocka_unit_test_setup_teardown(test_mask_and_readonly_paths, setup_rootfs, teardown_rootfs),
                cmocka_unit_test(test_sysctl_refuses_host_keys),
                cmocka_unit_test_setup_teardown(test_spawn_busybox_in_all_namespaces, setup_busybox,
                                                teardown_rootfs),
                cmocka_unit_test_setup_teardown(test_spawn_reports_child_errors, setup_busybox,
                                                teardown_rootfs),
                cmocka_unit_test_setup_teardown(test_spawn_rlimit_raise_is_explained, setup_busybox,
                                                teardown_rootfs),
                cmocka_unit_test_setup_teardown(test_spawn_masks_readonly_and_sysctl, setup_busybox,
                                                teardown_rootfs),
                cmocka_unit_test_setup_teardown(test_create_exec_start, setup_busybox, teardown_rootfs),
                cmocka_unit_test_setup_teardown(test_idmapped_bind_mount, setup_busybox, teardown_rootfs),
                cmocka_unit_test_setup_teardown(test_terminal_goes_to_console_socket, setup_busybox,
                                                teardown_rootfs),
                cmocka_unit_test(test_hooks_timeout_and_failure),
                cmocka_unit_test_setup_teardown(test_spawn_time_namespace_offsets, setup_busybox,
                                                teardown_rootfs),
                cmocka_unit_test_setup_teardown(test_spawn_joining_a_user_namespace, setup_busybox,
                                                teardown_rootfs),
                cmocka_unit_test_setup_teardown(test_spawn_no_pivot, setup_busybox, teardown_rootfs),
                cmocka_unit_test_setup_teardown(test_tmpcopyup, setup_busybox, teardown_rootfs),
                cmocka_unit_test_setup_teardown(test_spawn_caps_and_seccomp, setup_busybox, teardown_rootfs),
                cmocka_unit_test_setup_teardown(test_spawn_into_cgroup, setup_busybox, teardown_rootfs),
                cmocka_unit_test_setup_teardown(test_spawn_joining_a_namespace, setup_busybox,
                                                teardown_rootfs),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
