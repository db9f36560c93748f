/* test-health.c — `coi health`'s pure parts: kernel version parsing and comparison, disk thresholds,
 * status aggregation and exit codes, and the JSON report's shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "health/health.h"
#include "util.h"

static void test_kernel_version_parse(void **state)
{
        struct kernel_version v;
        assert_int_equal(health_parse_kernel_version("6.18.44-fc-v669", &v), 0);
        assert_int_equal(v.major, 6);
        assert_int_equal(v.minor, 18);
        assert_int_equal(v.patch, 44);
        assert_int_equal(health_parse_kernel_version("5.15", &v), 0);
        assert_int_equal(v.major, 5);
        assert_int_equal(v.minor, 15);
        assert_int_equal(v.patch, 0);
        assert_int_equal(health_parse_kernel_version("6.1.0-27-amd64", &v), 0);
        assert_int_equal(v.minor, 1);
        assert_int_equal(v.patch, 0);
        assert_int_equal(health_parse_kernel_version("4.19-rc3", &v), 0);
        assert_int_equal(v.major, 4);
        assert_int_equal(v.minor, 19);
        assert_int_equal(v.patch, 0);
        assert_int_equal(health_parse_kernel_version("", &v), -EINVAL);
        assert_int_equal(health_parse_kernel_version("6", &v), -EINVAL);
        assert_int_equal(health_parse_kernel_version("v6.1", &v), -EINVAL);
        assert_int_equal(health_parse_kernel_version("6.x", &v), -EINVAL);
}

static void test_kernel_version_compare(void **state)
{
        struct kernel_version min = { 5, 15, 0 };
        struct kernel_version a = { 5, 14, 99 }, b = { 5, 15, 0 }, c = { 6, 1, 0 }, d = { 5, 15, 3 },
                              e = { 4, 20, 0 };
        assert_true(health_kernel_compare(&a, &min) < 0);
        assert_int_equal(health_kernel_compare(&b, &min), 0);
        assert_true(health_kernel_compare(&c, &min) > 0);
        assert_true(health_kernel_compare(&d, &min) > 0);
        assert_true(health_kernel_compare(&e, &min) < 0);
        assert_true(health_kernel_compare(&min, &c) < 0);
}

static void test_disk_thresholds(void **state)
{
        const uint64_t gib = 1ull << 30;
        assert_int_equal(health_disk_status(0), HEALTH_FAILED);
        assert_int_equal(health_disk_status(gib - 1), HEALTH_FAILED);
        assert_int_equal(health_disk_status(gib), HEALTH_WARNING);
        assert_int_equal(health_disk_status(5 * gib - 1), HEALTH_WARNING);
        assert_int_equal(health_disk_status(5 * gib), HEALTH_OK);
        assert_int_equal(health_disk_status(500 * gib), HEALTH_OK);
}

static void test_aggregate(void **state)
{
        struct health_check checks[4] = { 0 };
        struct health_summary s;
        checks[0].status = checks[1].status = checks[2].status = checks[3].status = HEALTH_OK;
        assert_int_equal(health_aggregate(checks, 4, &s), HEALTH_HEALTHY);
        assert_int_equal(s.total, 4);
        assert_int_equal(s.passed, 4);
        assert_int_equal(health_exit_code(HEALTH_HEALTHY), 0);

        checks[2].status = HEALTH_WARNING;
        assert_int_equal(health_aggregate(checks, 4, &s), HEALTH_DEGRADED);
        assert_int_equal(s.passed, 3);
        assert_int_equal(s.warnings, 1);
        assert_int_equal(s.failed, 0);
        assert_int_equal(health_exit_code(HEALTH_DEGRADED), 1);

        checks[0].status = HEALTH_FAILED;
        assert_int_equal(health_aggregate(checks, 4, &s), HEALTH_UNHEALTHY);
        assert_int_equal(s.passed, 2);
        assert_int_equal(s.warnings, 1);
        assert_int_equal(s.failed, 1);
        assert_int_equal(health_exit_code(HEALTH_UNHEALTHY), 2);

        assert_int_equal(health_aggregate(checks, 0, &s), HEALTH_HEALTHY);
        assert_int_equal(s.total, 0);
        assert_string_equal(health_status_to_string(HEALTH_WARNING), "warning");
        assert_string_equal(health_status_to_string(HEALTH_FAILED), "failed");
        assert_string_equal(health_overall_to_string(HEALTH_DEGRADED), "degraded");
}

static void test_json_shape(void **state)
{
        struct health_report r = { 0 };
        struct health_check *c = &r.checks[r.n_checks++];
        health_check_set(c, "disk_space", "STORAGE", HEALTH_WARNING, "Low disk space: %.1f GB available",
                         3.5);
        health_detail_num(c, "available_gb", 3.5);
        health_detail_str(c, "path", "%s", "/var/lib/\"coi\"");
        c = &r.checks[r.n_checks++];
        health_check_set(c, "image", "CRITICAL", HEALTH_OK, "coi-default");
        health_detail_bool(c, "exists", true);
        health_detail_int(c, "size", 42);
        c = &r.checks[r.n_checks++];
        health_check_set(c, "lsm", "SECURITY", HEALTH_OK, "lockdown,capability");
        r.overall = health_aggregate(r.checks, r.n_checks, &r.summary);
        snprintf(r.timestamp, sizeof(r.timestamp), "2026-01-02T03:04:05Z");

        _cleanup_free_ char *json = NULL;
        struct coi_error err = { 0 };
        assert_int_equal(health_report_json(&r, &json, &err), 0);
        assert_non_null(strstr(json, "\"status\": \"degraded\""));
        assert_non_null(strstr(json, "\"timestamp\": \"2026-01-02T03:04:05Z\""));
        assert_non_null(strstr(json, "\"disk_space\": {"));
        assert_non_null(strstr(json, "\"name\": \"disk_space\""));
        assert_non_null(strstr(json, "\"status\": \"warning\""));
        assert_non_null(strstr(json, "\"message\": \"Low disk space: 3.5 GB available\""));
        assert_non_null(strstr(json, "\"path\": \"/var/lib/\\\"coi\\\"\""));
        assert_non_null(strstr(json, "\"exists\": true"));
        assert_non_null(strstr(json, "\"size\": 42"));
        assert_non_null(strstr(json, "\"total\": 3"));
        assert_non_null(strstr(json, "\"passed\": 2"));
        assert_non_null(strstr(json, "\"warnings\": 1"));
        assert_non_null(strstr(json, "\"failed\": 0"));
        /* A check without details has no "details" key (code-on-incus: omitempty). */
        const char *lsm = strstr(json, "\"lsm\": {");
        assert_non_null(lsm);
        const char *end = strchr(lsm, '}');
        assert_non_null(end);
        assert_null(memmem(lsm, (size_t)(end - lsm), "details", 7));
        health_report_done(&r);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_kernel_version_parse), cmocka_unit_test(test_kernel_version_compare),
                cmocka_unit_test(test_disk_thresholds),      cmocka_unit_test(test_aggregate),
                cmocka_unit_test(test_json_shape),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
