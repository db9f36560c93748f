/* health.c — `coi health`'s report: the pure helpers, building a check (status, message, details), running
 * the JSON output. The checks themselves and running them in order: health-checks.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json-util.h"
#include "health.h"
#include "util.h"

/* ---- pure helpers -------------------------------------------------------------------------------- */

int health_parse_kernel_version(const char *release, struct kernel_version *ret)
{
        unsigned v[3] = { 0, 0, 0 };
        const char *p = release;
        for (int i = 0; i < 3; i++) {
                if (*p < '0' || *p > '9') {
                        if (i < 2)
                                return -EINVAL;
                        break;
                }
                char *end;
                unsigned long n = strtoul(p, &end, 10);
                if (n > 100000)
                        return -EINVAL;
                v[i] = (unsigned)n;
                p = end;
                if (i < 2 && *p != '.') {
                        if (i == 0)
                                return -EINVAL;
                        break;
                }
                if (i < 2)
                        p++;
        }
        *ret = (struct kernel_version){ v[0], v[1], v[2] };
        return 0;
}

int health_kernel_compare(const struct kernel_version *a, const struct kernel_version *b)
{
        if (a->major != b->major)
                return a->major < b->major ? -1 : 1;
        if (a->minor != b->minor)
                return a->minor < b->minor ? -1 : 1;
        if (a->patch != b->patch)
                return a->patch < b->patch ? -1 : 1;
        return 0;
}

enum health_status health_disk_status(uint64_t available_bytes)
{
        if (available_bytes < HEALTH_DISK_FAIL_BYTES)
                return HEALTH_FAILED;
        if (available_bytes < HEALTH_DISK_WARN_BYTES)
                return HEALTH_WARNING;
        return HEALTH_OK;
}

enum health_overall health_aggregate(const struct health_check *checks, size_t n, struct health_summary *ret)
{
        struct health_summary s = { .total = (int)n };
        for (size_t i = 0; i < n; i++) {
                if (checks[i].status == HEALTH_OK)
                        s.passed++;
                else if (checks[i].status == HEALTH_WARNING)
                        s.warnings++;
                else
                        s.failed++;
        }
        *ret = s;
        return s.failed ? HEALTH_UNHEALTHY : s.warnings ? HEALTH_DEGRADED : HEALTH_HEALTHY;
}

int health_exit_code(enum health_overall overall)
{
        return overall == HEALTH_HEALTHY ? 0 : overall == HEALTH_DEGRADED ? 1 : 2;
}

const char *health_status_to_string(enum health_status s)
{
        return s == HEALTH_OK ? "ok" : s == HEALTH_WARNING ? "warning" : "failed";
}

const char *health_overall_to_string(enum health_overall o)
{
        return o == HEALTH_HEALTHY ? "healthy" : o == HEALTH_DEGRADED ? "degraded" : "unhealthy";
}

/* ---- building checks ----------------------------------------------------------------------------- */

void health_check_set(struct health_check *c, const char *name, const char *category, enum health_status s,
                      const char *fmt, ...)
{
        c->name = name;
        c->category = category;
        c->status = s;
        free(c->message);
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&c->message, fmt, ap) < 0)
                c->message = NULL;
        va_end(ap);
}

static struct health_detail *detail_add(struct health_check *c, const char *key, enum health_detail_kind kind)
{
        if (c->n_details >= HEALTH_MAX_DETAILS)
                return NULL;
        struct health_detail *d = &c->details[c->n_details++];
        *d = (struct health_detail){ .key = key, .kind = kind };
        return d;
}

void health_detail_str(struct health_check *c, const char *key, const char *fmt, ...)
{
        struct health_detail *d = detail_add(c, key, DETAIL_STRING);
        if (!d)
                return;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&d->str, fmt, ap) < 0)
                d->str = NULL;
        va_end(ap);
}

void health_detail_int(struct health_check *c, const char *key, long long v)
{
        struct health_detail *d = detail_add(c, key, DETAIL_INT);
        if (d)
                d->i = v;
}

void health_detail_bool(struct health_check *c, const char *key, bool v)
{
        struct health_detail *d = detail_add(c, key, DETAIL_BOOL);
        if (d)
                d->b = v;
}

void health_detail_num(struct health_check *c, const char *key, double v)
{
        struct health_detail *d = detail_add(c, key, DETAIL_NUMBER);
        if (d)
                d->num = v;
}

void health_report_done(struct health_report *r)
{
        for (size_t i = 0; i < r->n_checks; i++) {
                free(r->checks[i].message);
                for (size_t k = 0; k < r->checks[i].n_details; k++)
                        free(r->checks[i].details[k].str);
        }
        r->n_checks = 0;
}

static bool gi(yajl_gen g, const char *key, long long v)
{
        return json_gen_str(g, key) && yajl_gen_integer(g, v) == yajl_gen_status_ok;
}

static bool gen_check(yajl_gen g, const struct health_check *c)
{
        bool ok = json_gen_str(g, c->name) && yajl_gen_map_open(g) == yajl_gen_status_ok &&
                  json_gen_str(g, "name") && json_gen_str(g, c->name) && json_gen_str(g, "status") &&
                  json_gen_str(g, health_status_to_string(c->status)) && json_gen_str(g, "message") &&
                  json_gen_str(g, c->message ? c->message : "");
        if (ok && c->n_details) {
                ok = json_gen_str(g, "details") && yajl_gen_map_open(g) == yajl_gen_status_ok;
                for (size_t k = 0; ok && k < c->n_details; k++) {
                        const struct health_detail *d = &c->details[k];
                        ok = json_gen_str(g, d->key);
                        if (!ok)
                                break;
                        switch (d->kind) {
                        case DETAIL_STRING:
                                ok = json_gen_str(g, d->str ? d->str : "");
                                break;
                        case DETAIL_INT:
                                ok = yajl_gen_integer(g, d->i) == yajl_gen_status_ok;
                                break;
                        case DETAIL_BOOL:
                                ok = yajl_gen_bool(g, d->b) == yajl_gen_status_ok;
                                break;
                        case DETAIL_NUMBER:
                                ok = yajl_gen_double(g, d->num) == yajl_gen_status_ok;
                                break;
                        }
                }
                ok = ok && yajl_gen_map_close(g) == yajl_gen_status_ok;
        }
        return ok && yajl_gen_map_close(g) == yajl_gen_status_ok;
}

int health_report_json(const struct health_report *r, char **ret_json, struct coi_error *err)
{
        yajl_gen g = yajl_gen_alloc(NULL);
        if (!g)
                return coi_error_set(err, ENOMEM, "health JSON: %m");
        yajl_gen_config(g, yajl_gen_beautify, 1);
        yajl_gen_config(g, yajl_gen_indent_string, "  ");
        bool ok = yajl_gen_map_open(g) == yajl_gen_status_ok && json_gen_str(g, "status") &&
                  json_gen_str(g, health_overall_to_string(r->overall)) && json_gen_str(g, "timestamp") &&
                  json_gen_str(g, r->timestamp) && json_gen_str(g, "checks") &&
                  yajl_gen_map_open(g) == yajl_gen_status_ok;
        for (size_t i = 0; ok && i < r->n_checks; i++)
                ok = gen_check(g, &r->checks[i]);
        ok = ok && yajl_gen_map_close(g) == yajl_gen_status_ok && json_gen_str(g, "summary") &&
             yajl_gen_map_open(g) == yajl_gen_status_ok && gi(g, "total", r->summary.total) &&
             gi(g, "passed", r->summary.passed) && gi(g, "warnings", r->summary.warnings) &&
             gi(g, "failed", r->summary.failed) && yajl_gen_map_close(g) == yajl_gen_status_ok &&
             yajl_gen_map_close(g) == yajl_gen_status_ok;
        const unsigned char *buf;
        size_t len;
        if (!ok || yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok) {
                yajl_gen_free(g);
                return coi_error_set(err, ENOMEM, "health JSON: %m");
        }
        *ret_json = strndup((const char *)buf, len);
        yajl_gen_free(g);
        return *ret_json ? 0 : coi_error_set(err, ENOMEM, "health JSON: %m");
}
