/* test-limits.c — [limits.*] as a user writes them: the accepted forms, the errors that name the key,
 * the value, its origin and the accepted forms, the flag > environment > file precedence, and the
 * linux.resources of the system container's OCI config that coi hands the runtime. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <yajl/yajl_tree.h>

#include "config/config.h"
#include "config/limits.h"
#include "container/system-config.h"
#include "util.h"

static const struct limits_host host = { .mem_total = 8ULL << 30, .cpus_online = "0-3" };

/* A config with the built-in defaults and the given key = value pairs set as flags would. */
static struct config *config_with(const char *const *kv)
{
        struct coi_error err = { 0 };
        struct config *c = NULL;
        assert_int_equal(config_new_defaults("/nonexistent", &c, &err), 0);
        for (; kv && kv[0]; kv += 2) {
                char flag[64];
                snprintf(flag, sizeof(flag), "--%s", kv[0]);
                assert_int_equal(config_set_from_flag(c, kv[0], kv[1], flag, &err), 0);
        }
        return c;
}

static int limits_of(const char *const *kv, struct limits *l, struct coi_error *err)
{
        _cleanup_(config_freep) struct config *c = config_with(kv);
        return limits_from_config(c, &host, l, err);
}

static void test_sizes_rates_durations(void **state)
{
        (void)state;
        uint64_t v;
        assert_int_equal(limits_parse_size("512MiB", 0, &v), 0);
        assert_int_equal(v, 512ULL << 20);
        assert_int_equal(limits_parse_size("2GiB", 0, &v), 0);
        assert_int_equal(v, 2ULL << 30);
        assert_int_equal(limits_parse_size("4G", 0, &v), 0);
        assert_int_equal(v, 4ULL << 30);
        assert_int_equal(limits_parse_size("500MB", 0, &v), 0);
        assert_int_equal(v, 500000000ULL);
        assert_int_equal(limits_parse_size("50%", 8ULL << 30, &v), 0);
        assert_int_equal(v, 4ULL << 30);
        assert_int_equal(limits_parse_size("2 GiB", 0, &v), -EINVAL);
        assert_int_equal(limits_parse_size("-1G", 0, &v), -EINVAL);
        assert_int_equal(limits_parse_size("150%", 100, &v), -EINVAL);
        assert_int_equal(limits_parse_size("99999999999T", 0, &v), -EINVAL);

        struct limits_rate r;
        assert_int_equal(limits_parse_rate("10MiB/s", &r), 0);
        assert_int_equal(r.bps, 10ULL << 20);
        assert_int_equal(limits_parse_rate("10MB/s", &r), 0);
        assert_int_equal(r.bps, 10000000ULL);
        assert_int_equal(limits_parse_rate("1000iops", &r), 0);
        assert_int_equal(r.iops, 1000);
        assert_int_equal(r.bps, 0);
        assert_int_equal(limits_parse_rate("10MiB", &r), -EINVAL);
        assert_int_equal(limits_parse_rate("0iops", &r), -EINVAL);

        uint64_t ms;
        assert_int_equal(limits_parse_duration("2h", &ms), 0);
        assert_int_equal(ms, 7200000);
        assert_int_equal(limits_parse_duration("1h30m", &ms), 0);
        assert_int_equal(ms, 5400000);
        assert_int_equal(limits_parse_duration("90s", &ms), 0);
        assert_int_equal(ms, 90000);
        assert_int_equal(limits_parse_duration("1500ms", &ms), 0);
        assert_int_equal(ms, 1500);
        assert_int_equal(limits_parse_duration("0s", &ms), -EINVAL);
        assert_int_equal(limits_parse_duration("2d", &ms), -EINVAL);
        assert_int_equal(limits_parse_duration("h", &ms), -EINVAL);

        char buf[32];
        assert_string_equal(limits_format_duration(5400000, buf, sizeof(buf)), "1h30m");
        assert_string_equal(limits_format_bytes(64ULL << 20, buf, sizeof(buf)), "64 MiB");
}

static void test_every_key(void **state)
{
        (void)state;
        struct coi_error err = { 0 };
        struct limits l;
        const char *const kv[] = { "limits.cpu.count",
                                   "2",
                                   "limits.cpu.allowance",
                                   "50%",
                                   "limits.cpu.priority",
                                   "5",
                                   "limits.memory.limit",
                                   "64MiB",
                                   "limits.memory.enforce",
                                   "hard",
                                   "limits.memory.swap",
                                   "false",
                                   "limits.disk.max",
                                   "1000iops",
                                   "limits.disk.write",
                                   "10MiB/s",
                                   "limits.disk.priority",
                                   "3",
                                   "limits.disk.tmpfs_size",
                                   "256MiB",
                                   "limits.runtime.max_duration",
                                   "1h30m",
                                   "limits.runtime.max_processes",
                                   "100",
                                   "limits.runtime.stop_graceful",
                                   "false",
                                   NULL };
        assert_int_equal(limits_of(kv, &l, &err), 0);
        assert_string_equal(l.cpuset, "0,1"); /* a count: the first two online CPUs */
        assert_int_equal(l.cpu_quota_us, 50000);
        assert_int_equal(l.cpu_period_us, 100000);
        assert_int_equal(l.cpu_weight, 50);
        assert_int_equal(l.memory_bytes, 64ULL << 20);
        assert_true(l.memory_hard);
        assert_int_equal(l.swap_bytes, 0);
        assert_int_equal(l.read.iops, 1000); /* max: read and write alike … */
        assert_int_equal(l.write.iops, 1000);
        assert_int_equal(l.write.bps, 10ULL << 20); /* … and write's own rate as well */
        assert_int_equal(l.read.bps, 0);
        assert_int_equal(l.io_weight, 30);
        assert_string_equal(l.tmpfs_size, "268435456");
        assert_int_equal(l.max_duration_ms, 5400000);
        assert_int_equal(l.max_processes, 100);
        assert_true(l.auto_stop);
        assert_false(l.stop_graceful);
        assert_false(l.best_effort);

        /* The defaults set nothing: no limit, swap left alone, memory soft. */
        assert_int_equal(limits_of(NULL, &l, &err), 0);
        assert_false(limits_any(&l));
        assert_int_equal(l.swap_bytes, -1);

        const char *const ranges[] = { "limits.cpu.count",
                                       "1-2,3",
                                       "limits.cpu.allowance",
                                       "25ms/100ms",
                                       "limits.memory.limit",
                                       "50%",
                                       NULL };
        assert_int_equal(limits_of(ranges, &l, &err), 0);
        assert_string_equal(l.cpuset, "1,2,3");
        assert_int_equal(l.cpu_quota_us, 25000);
        assert_int_equal(l.memory_bytes, 4ULL << 30);
        assert_false(l.memory_hard); /* enforce defaults to soft: memory.high */
}

/* Each bad value: the error names the key, the value, where it came from and the accepted forms. */
static void test_errors(void **state)
{
        (void)state;
        static const struct {
                const char *key, *value, *words[3];
        } cases[] = {
                { "limits.memory.limit", "2 GB", { "not a size", "\"2GiB\"", "\"50%\"" } },
                { "limits.cpu.count", "0-9", { "CPU 4 is not online", "0-3", "\"0,1,3\"" } },
                { "limits.cpu.count", "5", { "4 online CPUs", "a count", NULL } },
                { "limits.cpu.allowance", "50", { "not a CPU allowance", "\"25ms/100ms\"", NULL } },
                { "limits.cpu.allowance", "200ms/2000ms", { "out of range", "1ms…1000ms", NULL } },
                { "limits.cpu.priority", "11", { "out of range", "0 (unset) to 10", NULL } },
                { "limits.memory.swap", "maybe", { "\"true\", \"false\"", NULL, NULL } },
                { "limits.disk.read", "10MiB", { "not a disk rate", "\"1000iops\"", NULL } },
                { "limits.disk.priority", "-1", { "out of range", NULL, NULL } },
                { "limits.runtime.max_duration", "2 hours", { "not a duration", "\"1h30m\"", NULL } },
                { "limits.runtime.max_processes", "-5", { "0 (unlimited) or more", NULL, NULL } },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct coi_error err = { 0 };
                struct limits l;
                const char *const kv[] = { cases[i].key, cases[i].value, NULL };
                assert_int_equal(limits_of(kv, &l, &err), -EINVAL);
                char head[160];
                snprintf(head, sizeof(head), "%s = \"%s\" (flag --%s)", cases[i].key, cases[i].value,
                         cases[i].key);
                if (!startswith(err.msg, head))
                        fail_msg("%s: got \"%s\"", head, err.msg);
                for (size_t w = 0; w < 3 && cases[i].words[w]; w++)
                        if (!strstr(err.msg, cases[i].words[w]))
                                fail_msg("\"%s\" lacks \"%s\"", err.msg, cases[i].words[w]);
        }
}

/* Flags beat the environment, which beats the files (config-load.c's layers; origins in errors). */
static void test_precedence(void **state)
{
        (void)state;
        struct coi_error err = { 0 };
        _cleanup_(config_freep) struct config *c = NULL;
        assert_int_equal(config_new_defaults("/nonexistent", &c, &err), 0);
        char *env[] = { "COI_LIMIT_MEMORY=1GiB", "COI_LIMIT_DURATION=bogus", NULL };
        assert_int_equal(config_apply_env(c, env, "/nonexistent", &err), 0);
        struct limits l;
        assert_int_equal(limits_from_config(c, &host, &l, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "(env COI_LIMIT_DURATION)"));
        assert_int_equal(
                config_set_from_flag(c, "limits.runtime.max_duration", "30m", "--limit-duration", &err), 0);
        assert_int_equal(limits_from_config(c, &host, &l, &err), 0);
        assert_int_equal(l.memory_bytes, 1ULL << 30);
        assert_int_equal(l.max_duration_ms, 1800000);
        assert_int_equal(config_set_from_flag(c, "limits.memory.limit", "2GiB", "--limit-memory", &err), 0);
        assert_int_equal(limits_from_config(c, &host, &l, &err), 0);
        assert_int_equal(l.memory_bytes, 2ULL << 30);
}

static void test_controllers(void **state)
{
        (void)state;
        struct coi_error err = { 0 };
        struct limits l;
        const char *const kv[] = { "limits.memory.limit",
                                   "1GiB",
                                   "limits.runtime.max_processes",
                                   "10",
                                   "limits.disk.read",
                                   "1MiB/s",
                                   NULL };
        assert_int_equal(limits_of(kv, &l, &err), 0);
        struct limits_need need[8];
        size_t n = limits_needs(&l, need);
        assert_int_equal(n, 3);
        assert_string_equal(need[0].controller, "memory");
        assert_string_equal(need[0].key, "limits.memory.limit");
        assert_string_equal(need[1].controller, "pids");
        assert_string_equal(need[2].controller, "io");
        limits_drop_controller(&l, "memory");
        limits_drop_controller(&l, "io");
        assert_int_equal(limits_needs(&l, need), 1);
        assert_int_equal(l.max_processes, 10);
}

static yajl_val get(yajl_val root, const char *const *path, yajl_type t)
{
        yajl_val v = yajl_tree_get(root, (const char **)path, t);
        if (!v)
                fail_msg("no %s… in the config", path[0]);
        return v;
}

static const char *str(yajl_val v)
{
        const char *s = YAJL_GET_STRING(v);
        return s ? s : "";
}

/* The OCI config coi generates for a system container carries the limits as linux.resources. */
static void test_oci_resources(void **state)
{
        (void)state;
        struct coi_error err = { 0 };
        struct limits l;
        const char *const kv[] = { "limits.cpu.count",
                                   "1",
                                   "limits.cpu.allowance",
                                   "50%",
                                   "limits.cpu.priority",
                                   "2",
                                   "limits.memory.limit",
                                   "64MiB",
                                   "limits.memory.enforce",
                                   "hard",
                                   "limits.memory.swap",
                                   "false",
                                   "limits.disk.write",
                                   "4MiB/s",
                                   "limits.disk.read",
                                   "200iops",
                                   "limits.disk.priority",
                                   "7",
                                   "limits.runtime.max_processes",
                                   "32",
                                   "limits.disk.tmpfs_size",
                                   "50%",
                                   NULL };
        assert_int_equal(limits_of(kv, &l, &err), 0);
        const dev_t disks[] = { makedev(254, 0) };
        struct system_config sc = { .name = "c1",
                                    .rootfs = "/x/rootfs",
                                    .ids = { .uid = 100000, .gid = 100000 },
                                    .limits = &l,
                                    .io_devices = disks,
                                    .n_io_devices = 1 };
        _cleanup_free_ char *json = NULL;
        assert_int_equal(system_config_json(&sc, &json, &err), 0);
        char ebuf[128];
        yajl_val root = yajl_tree_parse(json, ebuf, sizeof(ebuf));
        assert_non_null(root);
        const char *mem[] = { "linux", "resources", "memory", "limit", NULL };
        assert_int_equal(YAJL_GET_INTEGER(get(root, mem, yajl_t_number)), 64LL << 20);
        const char *quota[] = { "linux", "resources", "cpu", "quota", NULL };
        assert_int_equal(YAJL_GET_INTEGER(get(root, quota, yajl_t_number)), 50000);
        const char *period[] = { "linux", "resources", "cpu", "period", NULL };
        assert_int_equal(YAJL_GET_INTEGER(get(root, period, yajl_t_number)), 100000);
        const char *cpus[] = { "linux", "resources", "cpu", "cpus", NULL };
        assert_string_equal(YAJL_GET_STRING(get(root, cpus, yajl_t_string)), "0");
        const char *pids[] = { "linux", "resources", "pids", "limit", NULL };
        assert_int_equal(YAJL_GET_INTEGER(get(root, pids, yajl_t_number)), 32);
        const char *wbps[] = { "linux", "resources", "blockIO", "throttleWriteBpsDevice", NULL };
        yajl_val w = get(root, wbps, yajl_t_array);
        assert_int_equal(w->u.array.len, 1);
        const char *major_[] = { "major", NULL }, *rate[] = { "rate", NULL };
        assert_int_equal(YAJL_GET_INTEGER(get(w->u.array.values[0], major_, yajl_t_number)), 254);
        assert_int_equal(YAJL_GET_INTEGER(get(w->u.array.values[0], rate, yajl_t_number)), 4LL << 20);
        const char *riops[] = { "linux", "resources", "blockIO", "throttleReadIOPSDevice", NULL };
        assert_int_equal(get(root, riops, yajl_t_array)->u.array.len, 1);
        const char *rbps[] = { "linux", "resources", "blockIO", "throttleReadBpsDevice", NULL };
        assert_null(yajl_tree_get(root, rbps, yajl_t_any));
        const char *swap[] = { "linux", "resources", "unified", "memory.swap.max", NULL };
        assert_string_equal(YAJL_GET_STRING(get(root, swap, yajl_t_string)), "0");
        const char *cw[] = { "linux", "resources", "unified", "cpu.weight", NULL };
        assert_string_equal(YAJL_GET_STRING(get(root, cw, yajl_t_string)), "20");
        const char *iw[] = { "linux", "resources", "unified", "io.weight", NULL };
        assert_string_equal(YAJL_GET_STRING(get(root, iw, yajl_t_string)), "default 70");
        const char *high[] = { "linux", "resources", "unified", "memory.high", NULL };
        assert_null(yajl_tree_get(root, high, yajl_t_any));
        /* /tmp gets the size */
        const char *mounts[] = { "mounts", NULL };
        yajl_val ms = get(root, mounts, yajl_t_array);
        bool sized = false;
        for (size_t i = 0; i < ms->u.array.len; i++) {
                const char *dst[] = { "destination", NULL }, *opts[] = { "options", NULL };
                yajl_val m = ms->u.array.values[i];
                if (strcmp(str(get(m, dst, yajl_t_string)), "/tmp") != 0)
                        continue;
                yajl_val o = get(m, opts, yajl_t_array);
                for (size_t j = 0; j < o->u.array.len; j++)
                        sized = sized || strcmp(str(o->u.array.values[j]), "size=50%") == 0;
        }
        assert_true(sized);
        yajl_tree_free(root);

        /* soft: memory.high instead of memory.max; no limits: no resources at all. */
        const char *const soft[] = { "limits.memory.limit", "1GiB", NULL };
        assert_int_equal(limits_of(soft, &l, &err), 0);
        free(json);
        json = NULL;
        assert_int_equal(system_config_json(&sc, &json, &err), 0);
        root = yajl_tree_parse(json, ebuf, sizeof(ebuf));
        assert_string_equal(YAJL_GET_STRING(get(root, high, yajl_t_string)), "1073741824");
        assert_null(yajl_tree_get(root, mem, yajl_t_any));
        yajl_tree_free(root);
        sc.limits = NULL;
        free(json);
        json = NULL;
        assert_int_equal(system_config_json(&sc, &json, &err), 0);
        assert_null(strstr(json, "\"resources\""));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sizes_rates_durations),
                cmocka_unit_test(test_every_key),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_precedence),
                cmocka_unit_test(test_controllers),
                cmocka_unit_test(test_oci_resources),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
