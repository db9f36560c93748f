/* health.h — `coi health`: probes what coi needs from this host (kernel, namespaces, idmapped mounts,
 * cgroup2, seccomp, LSMs, nftables, subordinate ids, image, disk, leftovers), read only; the report. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coi-runtime.h"

/* The JSON names and exit codes are those of code-on-incus's `coi health`. */
enum health_status {
        HEALTH_OK,      /* "ok" */
        HEALTH_WARNING, /* "warning": coi works, with less (no limits, an image to build, …) */
        HEALTH_FAILED,  /* "failed": coi can't run containers this way */
};

enum health_overall {
        HEALTH_HEALTHY,   /* exit 0 */
        HEALTH_DEGRADED,  /* exit 1: some warning */
        HEALTH_UNHEALTHY, /* exit 2: some failure */
};

#define HEALTH_KERNEL_MIN_MAJOR 5
#define HEALTH_KERNEL_MIN_MINOR 15
#define HEALTH_DISK_WARN_BYTES  (5ull << 30) /* below: warning */
#define HEALTH_DISK_FAIL_BYTES  (1ull << 30) /* below: failed */
#define HEALTH_MAX_DETAILS      16
#define HEALTH_MAX_CHECKS       24

enum health_detail_kind {
        DETAIL_STRING,
        DETAIL_INT,
        DETAIL_BOOL,
        DETAIL_NUMBER
};

struct health_detail {
        const char *key; /* static */
        enum health_detail_kind kind;
        char *str; /* DETAIL_STRING, allocated */
        long long i;
        bool b;
        double num;
};

struct health_check {
        const char *name;     /* static, snake_case: "kernel_version" */
        const char *category; /* static: "SYSTEM", "CRITICAL", … (text output only) */
        enum health_status status;
        char *message; /* allocated */
        struct health_detail details[HEALTH_MAX_DETAILS];
        size_t n_details;
};

struct health_summary {
        int total, passed, warnings, failed;
};

struct health_report {
        struct health_check checks[HEALTH_MAX_CHECKS];
        size_t n_checks;
        struct health_summary summary;
        enum health_overall overall;
        char timestamp[40]; /* RFC 3339, UTC */
};

struct kernel_version {
        unsigned major, minor, patch;
};

/* Pure helpers (unit-tested). */
/* "6.18.0-1-amd64", "5.15", "4.19.0+": -EINVAL unless it starts with MAJOR.MINOR. */
int health_parse_kernel_version(const char *release, struct kernel_version *ret);
/* <0, 0, >0 like strcmp, on major.minor.patch. */
int health_kernel_compare(const struct kernel_version *a, const struct kernel_version *b);
enum health_status health_disk_status(uint64_t available_bytes);
/* Fills summary, returns the overall status: any failure → unhealthy, else any warning → degraded. */
enum health_overall health_aggregate(const struct health_check *checks, size_t n, struct health_summary *ret);
int health_exit_code(enum health_overall overall);
const char *health_status_to_string(enum health_status s);
const char *health_overall_to_string(enum health_overall o);

/* Runs every check, in order; never fails as a whole (a check that can't decide says so). */
void health_run(struct health_report *ret);
void health_report_done(struct health_report *r);

/* Check building (used by health-checks.c and the unit tests). */
void health_check_set(struct health_check *c, const char *name, const char *category, enum health_status s,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void health_detail_str(struct health_check *c, const char *key, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
void health_detail_int(struct health_check *c, const char *key, long long v);
void health_detail_bool(struct health_check *c, const char *key, bool v);
void health_detail_num(struct health_check *c, const char *key, double v);

/* The report as code-on-incus prints it with --format json: status, timestamp, checks (an object keyed
 * by check name: name, status, message, details), summary (total, passed, warnings, failed). */
int health_report_json(const struct health_report *r, char **ret_json, struct coi_error *err);
