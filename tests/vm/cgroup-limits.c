/* cgroup-limits.c — run inside a VM with full cgroup v2 (tests/vm/run): checks that the limits
 * cgroup.c writes really bite. Prints one "PASS name" or "FAIL name: why" line per check. */
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#include "cgroup.h"
#include "util.h"

static struct cgroup_hierarchy hier;
static int failures;

static void result(bool ok, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void result(bool ok, const char *name, const char *fmt, ...)
{
        char why[1024] = "";
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, sizeof(why), fmt, ap);
        va_end(ap);
        if (ok) {
                printf("PASS %s\n", name);
        } else {
                printf("FAIL %s: %s\n", name, why);
                failures++;
        }
        fflush(stdout);
}

static void log_to_stderr(enum coi_log_level level, const char *msg, void *userdata)
{
        fprintf(stderr, "log[%d]: %s\n", (int)level, msg);
}

static char *read_value(const char *dir, const char *file)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
        char *data = NULL;
        if (!p || read_file_at(AT_FDCWD, p, 0, &data, NULL, NULL) < 0)
                return strdup("(unreadable)");
        size_t n = strlen(data);
        while (n && data[n - 1] == '\n')
                data[--n] = '\0';
        return data;
}

/* "key N" from a flat-keyed file such as memory.events or cpu.stat; -1 if missing. */
static long long keyed_value(const char *dir, const char *file, const char *key)
{
        _cleanup_free_ char *data = read_value(dir, file);
        size_t klen = strlen(key);
        for (char *line = data; line && *line;) {
                if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
                        return atoll(line + klen + 1);
                line = strchr(line, '\n');
                if (line)
                        line++;
        }
        return -1;
}

/* Creates /coi-vm/<name> with res applied; returns its dirfd, sets *ret_path. */
static int setup_cgroup(const char *name, const struct oci_resources *res, char **ret_path)
{
        struct coi_error err = { 0 };
        struct coi_context ctx = { .log = log_to_stderr, .log_level = COI_LOG_WARNING };
        _cleanup_free_ char *cgpath = xasprintf("/coi-vm/%s", name), *path = NULL;
        int fd = -1;
        if (cgroup_resolve_path(&hier, cgpath, name, &path, &err) < 0 ||
            cgroup_create(&hier, path, res, &fd, &err) < 0 ||
            cgroup_apply_resources(&ctx, fd, path, res, false, &err) < 0) {
                result(false, name, "setup: %s", err.msg);
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        *ret_path = TAKE_PTR(path);
        return fd;
}

/* Forks fn in the cgroup: the child waits until it has been moved, then runs fn and exits with its
 * result. Returns the wait status, or -1 after timeout_s (the child is killed then). */
static int run_in_cgroup(int dirfd, const char *path, int (*fn)(void), int timeout_s)
{
        int p[2];
        if (pipe(p) < 0)
                return -1;
        pid_t pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                close(p[1]);
                char c;
                if (read(p[0], &c, 1) != 1)
                        _exit(99);
                _exit(fn());
        }
        close(p[0]);
        struct coi_error err = { 0 };
        if (cgroup_enter(dirfd, path, pid, &err) < 0) {
                fprintf(stderr, "enter: %s\n", err.msg);
                kill(pid, SIGKILL);
        }
        (void)!write(p[1], "g", 1);
        close(p[1]);
        for (int t = 0; t < timeout_s * 100; t++) {
                int status;
                if (waitpid(pid, &status, WNOHANG) == pid)
                        return status;
                nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
        }
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
}

static int eat_memory(void)
{
        const size_t chunk = 1 << 20;
        for (int i = 0; i < 512; i++) { /* 512 MiB, far above the 32 MiB limit */
                char *m = mmap(NULL, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (m == MAP_FAILED)
                        return 2;
                memset(m, 0x5a, chunk);
        }
        return 0; /* survived: the limit did nothing */
}

static int fork_many(void)
{
        for (int i = 0; i < 50; i++) {
                pid_t pid = fork();
                if (pid < 0)
                        return errno == EAGAIN ? 0 : 3; /* 0: refused as pids.max demands */
                if (pid == 0) {
                        pause();
                        _exit(0);
                }
        }
        return 1; /* 50 forks went through */
}

static int spin_one_second(void)
{
        uint64_t end = now_ns() + 1000000000ull;
        volatile uint64_t x = 0;
        while (now_ns() < end)
                x++;
        return 0;
}

static void check_mapping(void)
{
        struct oci_resources res = {
                .has_memory_limit = true,
                .memory_limit = 64 << 20,
                .has_memory_reservation = true,
                .memory_reservation = 32 << 20,
                .has_memory_swap = true,
                .memory_swap = 96 << 20,
                .has_cpu_shares = true,
                .cpu_shares = 1024,
                .has_cpu_quota = true,
                .cpu_quota = 50000,
                .has_cpu_period = true,
                .cpu_period = 100000,
                .has_cpu_burst = true,
                .cpu_burst = 1000,
                .cpu_cpus = "0",
                .cpu_mems = "0",
                .has_pids_limit = true,
                .pids_limit = 10,
                .has_io_weight = true,
                .io_weight = 500,
        };
        static const char *const want[][2] = {
                { "memory.max", "67108864" },
                { "memory.low", "33554432" },
                { "memory.swap.max", "33554432" },
                { "cpu.weight", "39" },
                { "cpu.max", "50000 100000" },
                { "cpu.max.burst", "1000" },
                { "cpuset.cpus", "0" },
                { "cpuset.mems", "0" },
                { "pids.max", "10" },
                { "io.weight", "default 4950" },
        };
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = setup_cgroup("mapping", &res, &path);
        if (fd < 0)
                return;
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                _cleanup_free_ char *name = xasprintf("map-%s", want[i][0]);
                _cleanup_free_ char *got = read_value(path, want[i][0]);
                result(streq(got, want[i][1]), name, "%s is \"%s\", want \"%s\"", want[i][0], got,
                       want[i][1]);
        }
        struct coi_error err = { 0 };
        result(cgroup_destroy(path, &err) == 0, "destroy-mapping", "%s", err.msg);
}

static void check_memory_oom(void)
{
        struct oci_resources res = { .has_memory_limit = true,
                                     .memory_limit = 32 << 20,
                                     .has_memory_swap = true,
                                     .memory_swap = 32 << 20 };
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = setup_cgroup("memory-oom", &res, &path);
        if (fd < 0)
                return;
        int status = run_in_cgroup(fd, path, eat_memory, 120);
        long long kills = keyed_value(path, "memory.events", "oom_kill");
        result(status >= 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && kills >= 1, "memory-oom",
               "status %#x, memory.events oom_kill %lld", status, kills);
        struct coi_error err = { 0 };
        if (cgroup_destroy(path, &err) < 0)
                result(false, "destroy-memory-oom", "%s", err.msg);
}

/* checkBeforeUpdate: a limit below the current usage is refused, and nothing is written. */
static void check_memory_before_update(void)
{
        struct oci_resources unlimited = { .has_memory_limit = true, .memory_limit = -1 };
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = setup_cgroup("memory-check", &unlimited, &path);
        if (fd < 0)
                return;
        /* Two pipes: "go" to the child once it is in the group, "done" back once its 16 MiB are touched
         * (with one pipe the parent could read its own "go" back before the child did). */
        int go[2], done[2];
        if (pipe(go) < 0)
                return;
        if (pipe(done) < 0)
                return;
        pid_t pid = fork();
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                char c;
                if (read(go[0], &c, 1) != 1) /* wait until moved */
                        _exit(1);
                char *m = mmap(NULL, 16 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (m != MAP_FAILED)
                        memset(m, 1, 16 << 20);
                (void)!write(done[1], "k", 1);
                for (;;)
                        pause();
        }
        struct coi_error err = { 0 };
        struct coi_context ctx = { 0 };
        char c = 0;
        close(go[0]);
        close(done[1]);
        bool ready = cgroup_enter(fd, path, pid, &err) == 0 && write(go[1], "g", 1) == 1;
        close(go[1]);
        ready = ready && read(done[0], &c, 1) == 1;
        close(done[0]);
        struct oci_resources res = { .has_memory_limit = true,
                                     .memory_limit = 4 << 20,
                                     .has_memory_check_before_update = true,
                                     .memory_check_before_update = true };
        int r = ready ? cgroup_apply_resources(&ctx, fd, path, &res, false, &err) : -1;
        _cleanup_free_ char *max = read_value(path, "memory.max");
        result(r == -EBUSY && streq(max, "max") && strstr(err.msg, "memory.current"),
               "memory-check-before-update", "ready %d, r %d (%s), memory.max %s", ready, r, err.msg, max);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        cgroup_destroy(path, &err);
}

static void check_pids_fork_fails(void)
{
        struct oci_resources res = { .has_pids_limit = true, .pids_limit = 5 };
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = setup_cgroup("pids-fork-fails", &res, &path);
        if (fd < 0)
                return;
        int status = run_in_cgroup(fd, path, fork_many, 60);
        long long max_events = keyed_value(path, "pids.events", "max");
        result(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && max_events >= 1,
               "pids-fork-fails", "status %#x, pids.events max %lld", status, max_events);
        /* the paused grandchildren are still there: destroy must kill them and remove the group */
        struct coi_error err = { 0 };
        int r = cgroup_destroy(path, &err);
        result(r == 0 && access(path, F_OK) < 0, "destroy-populated", "%s",
               r < 0 ? err.msg : "directory left");
}

static void check_cpu_throttled(void)
{
        struct oci_resources res = {
                .has_cpu_quota = true, .cpu_quota = 10000, .has_cpu_period = true, .cpu_period = 100000
        };
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = setup_cgroup("cpu-throttled", &res, &path);
        if (fd < 0)
                return;
        int status = run_in_cgroup(fd, path, spin_one_second, 60);
        long long throttled = keyed_value(path, "cpu.stat", "nr_throttled");
        result(status >= 0 && WIFEXITED(status) && throttled > 0, "cpu-throttled",
               "status %#x, nr_throttled %lld", status, throttled);
        struct coi_error err = { 0 };
        if (cgroup_destroy(path, &err) < 0)
                result(false, "destroy-cpu-throttled", "%s", err.msg);
}

int main(void)
{
        struct coi_error err = { 0 };
        if (cgroup_hierarchy_detect(&hier, &err) < 0) {
                result(false, "layout", "%s", err.msg);
                return 1;
        }
        result(hier.layout == CGROUP_LAYOUT_UNIFIED, "layout", "layout %d at %s", (int)hier.layout,
               hier.mount_point);
        printf("# controllers: %s\n", hier.controllers);

        check_mapping();
        check_memory_oom();
        check_memory_before_update();
        check_pids_fork_fails();
        check_cpu_throttled();

        _cleanup_free_ char *top = xasprintf("%s/coi-vm", hier.mount_point);
        result(cgroup_destroy(top, &err) == 0 && access(top, F_OK) < 0, "destroy-all", "%s", err.msg);
        return failures ? 1 : 0;
}
