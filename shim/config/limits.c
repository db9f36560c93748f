/* limits.c — [limits.*] of a config checked and turned into numbers (sizes, rates, CPU sets, CPU time,
 * priorities, durations), with errors naming the key, the value, its origin and the accepted forms. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "util.h"

#define CPU_PERIOD_US 100000 /* the kernel's default cpu.max period */

int limits_host_read(struct limits_host *ret, struct coi_error *err)
{
        *ret = (struct limits_host){ 0 };
        _cleanup_free_ char *meminfo = NULL, *online = NULL;
        int r = read_file_at(AT_FDCWD, "/proc/meminfo", 0, &meminfo, NULL, err);
        if (r < 0)
                return r;
        const char *m = strstr(meminfo, "MemTotal:");
        if (m)
                ret->mem_total = strtoull(m + strlen("MemTotal:"), NULL, 10) * 1024;
        r = read_file_at(AT_FDCWD, "/sys/devices/system/cpu/online", 0, &online, NULL, err);
        if (r < 0)
                return r;
        online[strcspn(online, "\n")] = '\0';
        snprintf(ret->cpus_online, sizeof(ret->cpus_online), "%s", online);
        return 0;
}

/* ---- parsers ------------------------------------------------------------------------------------- */

/* Digits only, no sign, no overflow. Advances *s. */
static int parse_uint(const char **s, uint64_t *ret)
{
        if (!isdigit((unsigned char)**s))
                return -EINVAL;
        errno = 0;
        char *end;
        unsigned long long v = strtoull(*s, &end, 10);
        if (errno)
                return -EINVAL;
        *s = end;
        *ret = v;
        return 0;
}

/* "K", "KB", "KiB", … → multiplier: XiB and a bare X binary, XB decimal (Incus's units). */
static int unit_multiplier(const char *u, uint64_t *ret)
{
        static const struct {
                const char *name;
                uint64_t mult;
        } units[] = {
                { "", 1 },
                { "B", 1 },
                { "K", 1ULL << 10 },
                { "KiB", 1ULL << 10 },
                { "kB", 1000ULL },
                { "KB", 1000ULL },
                { "M", 1ULL << 20 },
                { "MiB", 1ULL << 20 },
                { "MB", 1000ULL * 1000 },
                { "G", 1ULL << 30 },
                { "GiB", 1ULL << 30 },
                { "GB", 1000ULL * 1000 * 1000 },
                { "T", 1ULL << 40 },
                { "TiB", 1ULL << 40 },
                { "TB", 1000ULL * 1000 * 1000 * 1000 },
        };
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (streq(u, units[i].name)) {
                        *ret = units[i].mult;
                        return 0;
                }
        return -EINVAL;
}

int limits_parse_size(const char *s, uint64_t percent_of, uint64_t *ret)
{
        uint64_t v, mult;
        if (parse_uint(&s, &v) < 0)
                return -EINVAL;
        if (streq(s, "%")) {
                if (!percent_of || v == 0 || v > 100)
                        return -EINVAL;
                *ret = percent_of > UINT64_MAX / 100 ? percent_of / 100 * v : percent_of * v / 100;
                return 0;
        }
        if (unit_multiplier(s, &mult) < 0 || (v && mult > UINT64_MAX / v))
                return -EINVAL;
        *ret = v * mult;
        return 0;
}

int limits_parse_rate(const char *s, struct limits_rate *ret)
{
        uint64_t v, mult;
        *ret = (struct limits_rate){ 0 };
        if (parse_uint(&s, &v) < 0 || v == 0)
                return -EINVAL;
        if (streq(s, "iops")) {
                ret->iops = v;
                return 0;
        }
        size_t n = strlen(s);
        if (n < 2 || !streq(s + n - 2, "/s"))
                return -EINVAL;
        char unit[8];
        if (n - 2 >= sizeof(unit))
                return -EINVAL;
        memcpy(unit, s, n - 2);
        unit[n - 2] = '\0';
        if (unit_multiplier(unit, &mult) < 0 || mult > UINT64_MAX / v)
                return -EINVAL;
        ret->bps = v * mult;
        return 0;
}

/* Go's time.ParseDuration for whole numbers: "2h", "1h30m", "90s", "500ms"; positive. */
int limits_parse_duration(const char *s, uint64_t *ret_ms)
{
        uint64_t total = 0;
        if (!*s)
                return -EINVAL;
        while (*s) {
                uint64_t v;
                if (parse_uint(&s, &v) < 0)
                        return -EINVAL;
                uint64_t mult = startswith(s, "ms") ? 1
                                : *s == 'h'         ? 3600000
                                : *s == 'm'         ? 60000
                                : *s == 's'         ? 1000
                                                    : 0;
                if (!mult || v > UINT64_MAX / mult / 2)
                        return -EINVAL;
                s += startswith(s, "ms") ? 2 : 1;
                total += v * mult;
        }
        if (total == 0)
                return -EINVAL;
        *ret_ms = total;
        return 0;
}

/* A CPU list ("0-3,5") as a bitmap of up to 1024 CPUs; -EINVAL if malformed. */
static int parse_cpu_list(const char *s, uint64_t bits[16])
{
        memset(bits, 0, 16 * sizeof(uint64_t));
        for (;;) {
                uint64_t a, b;
                if (parse_uint(&s, &a) < 0)
                        return -EINVAL;
                b = a;
                if (*s == '-') {
                        s++;
                        if (parse_uint(&s, &b) < 0 || b < a)
                                return -EINVAL;
                }
                if (b >= 1024)
                        return -EINVAL;
                for (uint64_t i = a; i <= b; i++)
                        bits[i / 64] |= 1ULL << (i % 64);
                if (!*s)
                        return 0;
                if (*s++ != ',')
                        return -EINVAL;
        }
}

/* ---- from a config ------------------------------------------------------------------------------- */

struct checker {
        const struct config *c;
        struct coi_error *err;
};

static int bad(const struct checker *k, const char *key, const char *value, const char *why,
               const char *forms)
{
        const char *origin = config_origin(k->c, key);
        return coi_error_set(k->err, EINVAL, "%s = \"%s\"%s%s%s: %s; use %s", key, value, origin ? " (" : "",
                             origin ? origin : "", origin ? ")" : "", why, forms);
}

static int bad_int(const struct checker *k, const char *key, int64_t value, const char *forms)
{
        char buf[32];
        snprintf(buf, sizeof(buf), "%" PRId64, value);
        return bad(k, key, buf, "out of range", forms);
}

static int cpu_count(const struct checker *k, const struct limits_host *host, const char *s, struct limits *l)
{
        static const char forms[] = "a count (\"2\") or CPUs (\"0-3\", \"0,1,3\")";
        const char *key = "limits.cpu.count";
        uint64_t online[16], want[16];
        if (parse_cpu_list(host->cpus_online, online) < 0)
                return coi_error_set(k->err, EINVAL, "%s: this host's online CPUs \"%s\" are unreadable", key,
                                     host->cpus_online);
        if (parse_cpu_list(s, want) < 0)
                return bad(k, key, s, "not a CPU count or list", forms);
        if (!strpbrk(s, "-,")) {
                /* A bare number is a count: the first N online CPUs (Incus pins a count as well). */
                uint64_t n = strtoull(s, NULL, 10), have = 0;
                memset(want, 0, sizeof(want));
                for (unsigned i = 0; i < 1024 && have < n; i++)
                        if (online[i / 64] & (1ULL << (i % 64))) {
                                want[i / 64] |= 1ULL << (i % 64);
                                have++;
                        }
                if (n == 0 || have < n) {
                        char why[384];
                        snprintf(why, sizeof(why), "this host has %" PRIu64 " online CPUs (%s)", have,
                                 host->cpus_online);
                        return bad(k, key, s, n == 0 ? "a count of 0 CPUs" : why, forms);
                }
        }
        /* Written back as a list the kernel reads: "0,1,3". */
        size_t len = 0;
        for (unsigned i = 0; i < 1024; i++) {
                if (!(want[i / 64] & (1ULL << (i % 64))))
                        continue;
                if (!(online[i / 64] & (1ULL << (i % 64)))) {
                        char why[384];
                        snprintf(why, sizeof(why), "CPU %u is not online on this host (online: %s)", i,
                                 host->cpus_online);
                        return bad(k, key, s, why, forms);
                }
                int n = snprintf(l->cpuset + len, sizeof(l->cpuset) - len, "%s%u", len ? "," : "", i);
                if (n < 0 || (size_t)n >= sizeof(l->cpuset) - len)
                        return bad(k, key, s, "too many CPUs", forms);
                len += (size_t)n;
        }
        return 0;
}

static int cpu_allowance(const struct checker *k, const char *s, struct limits *l)
{
        static const char forms[] = "a share of one CPU (\"50%\", \"200%\" = two CPUs) or time per period "
                                    "(\"25ms/100ms\", period 1ms…1000ms)";
        const char *key = "limits.cpu.allowance", *p = s;
        uint64_t a, b;
        if (parse_uint(&p, &a) < 0)
                return bad(k, key, s, "not a CPU allowance", forms);
        if (streq(p, "%")) {
                if (a == 0 || a > 100000)
                        return bad(k, key, s, "out of range", forms);
                l->cpu_quota_us = a * CPU_PERIOD_US / 100;
                l->cpu_period_us = CPU_PERIOD_US;
                return 0;
        }
        if (!startswith(p, "ms/"))
                return bad(k, key, s, "not a CPU allowance", forms);
        p += 3;
        if (parse_uint(&p, &b) < 0 || !streq(p, "ms"))
                return bad(k, key, s, "not a CPU allowance", forms);
        if (a == 0 || b == 0 || b > 1000 || a > b * 1024)
                return bad(k, key, s, "out of range", forms);
        l->cpu_quota_us = a * 1000;
        l->cpu_period_us = b * 1000;
        return 0;
}

/* Priority 1…10 → weight 10…100: 10 is the kernel's default (100), lower gets less when contended. */
static uint64_t priority_weight(int64_t p)
{
        return (uint64_t)p * 10;
}

static int rate(const struct checker *k, const char *key, const char *s, struct limits_rate *ret)
{
        if (limits_parse_rate(s, ret) < 0)
                return bad(k, key, s, "not a disk rate",
                           "bytes per second (\"10MiB/s\", \"10MB/s\") or operations (\"1000iops\")");
        return 0;
}

static void merge_rate(struct limits_rate *dst, const struct limits_rate *src)
{
        if (src->bps)
                dst->bps = src->bps;
        if (src->iops)
                dst->iops = src->iops;
}

int limits_from_config(const struct config *c, const struct limits_host *host, struct limits *ret,
                       struct coi_error *err)
{
        static const char size_forms[] = "\"512MiB\", \"2GiB\", \"4G\", \"500MB\" or \"50%\"";
        static const char prio_forms[] = "0 (unset) to 10";
        const struct checker k = { .c = c, .err = err };
        struct limits l = { .swap_bytes = -1 };
        int r;

        const char *s = c->limits.cpu.count;
        if (s && *s && (r = cpu_count(&k, host, s, &l)) < 0)
                return r;
        s = c->limits.cpu.allowance;
        if (s && *s && (r = cpu_allowance(&k, s, &l)) < 0)
                return r;
        if (c->limits.cpu.priority < 0 || c->limits.cpu.priority > 10)
                return bad_int(&k, "limits.cpu.priority", c->limits.cpu.priority, prio_forms);
        l.cpu_weight = priority_weight(c->limits.cpu.priority);

        s = c->limits.memory.limit;
        if (s && *s && (limits_parse_size(s, host->mem_total, &l.memory_bytes) < 0 || l.memory_bytes == 0))
                return bad(&k, "limits.memory.limit", s, "not a size", size_forms);
        s = c->limits.memory.enforce;
        if (s && *s && !streq(s, "hard") && !streq(s, "soft"))
                return bad(&k, "limits.memory.enforce", s, "unknown mode", "\"hard\" or \"soft\"");
        l.memory_hard = s && streq(s, "hard");
        s = c->limits.memory.swap;
        if (s && *s && !streq(s, "true")) {
                uint64_t v = 0;
                if (!streq(s, "false") && limits_parse_size(s, host->mem_total, &v) < 0)
                        return bad(&k, "limits.memory.swap", s, "not a swap setting",
                                   "\"true\", \"false\" or a size (\"1GiB\")");
                l.swap_bytes = (int64_t)v;
        }

        struct limits_rate rd = { 0 }, wr = { 0 }, mx = { 0 };
        if ((s = c->limits.disk.max) && *s && (r = rate(&k, "limits.disk.max", s, &mx)) < 0)
                return r;
        if ((s = c->limits.disk.read) && *s && (r = rate(&k, "limits.disk.read", s, &rd)) < 0)
                return r;
        if ((s = c->limits.disk.write) && *s && (r = rate(&k, "limits.disk.write", s, &wr)) < 0)
                return r;
        /* max is read and write alike (as Incus's limits.max); read/write given as well win. */
        l.read = mx;
        l.write = mx;
        merge_rate(&l.read, &rd);
        merge_rate(&l.write, &wr);
        if (c->limits.disk.priority < 0 || c->limits.disk.priority > 10)
                return bad_int(&k, "limits.disk.priority", c->limits.disk.priority, prio_forms);
        l.io_weight = priority_weight(c->limits.disk.priority);
        s = c->limits.disk.tmpfs_size;
        if (s && *s) {
                uint64_t v;
                if (limits_parse_size(s, 100, &v) < 0 || v == 0)
                        return bad(&k, "limits.disk.tmpfs_size", s, "not a size", size_forms);
                if (strchr(s, '%'))
                        snprintf(l.tmpfs_size, sizeof(l.tmpfs_size), "%s", s);
                else
                        snprintf(l.tmpfs_size, sizeof(l.tmpfs_size), "%" PRIu64, v);
        }

        s = c->limits.runtime.max_duration;
        if (s && *s && limits_parse_duration(s, &l.max_duration_ms) < 0)
                return bad(&k, "limits.runtime.max_duration", s, "not a duration",
                           "\"2h\", \"30m\", \"1h30m\" or \"90s\"");
        if (c->limits.runtime.max_processes < 0)
                return bad_int(&k, "limits.runtime.max_processes", c->limits.runtime.max_processes,
                               "0 (unlimited) or more");
        l.max_processes = c->limits.runtime.max_processes;
        l.auto_stop = c->limits.runtime.auto_stop;
        l.stop_graceful = c->limits.runtime.stop_graceful;
        l.best_effort = c->limits.best_effort;
        *ret = l;
        return 0;
}

/* ---- controllers --------------------------------------------------------------------------------- */

bool limits_any_cgroup(const struct limits *l)
{
        struct limits_need n[8];
        return limits_needs(l, n) > 0;
}

bool limits_any(const struct limits *l)
{
        return limits_any_cgroup(l) || l->tmpfs_size[0] || l->max_duration_ms;
}

static bool rate_set(const struct limits_rate *r)
{
        return r->bps || r->iops;
}

size_t limits_needs(const struct limits *l, struct limits_need ret[8])
{
        size_t n = 0;
        if (l->cpu_quota_us || l->cpu_weight)
                ret[n++] = (struct limits_need){ "cpu", l->cpu_quota_us ? "limits.cpu.allowance"
                                                                        : "limits.cpu.priority" };
        if (l->cpuset[0])
                ret[n++] = (struct limits_need){ "cpuset", "limits.cpu.count" };
        if (l->memory_bytes || l->swap_bytes >= 0)
                ret[n++] = (struct limits_need){ "memory", l->memory_bytes ? "limits.memory.limit"
                                                                           : "limits.memory.swap" };
        if (l->max_processes)
                ret[n++] = (struct limits_need){ "pids", "limits.runtime.max_processes" };
        if (rate_set(&l->read) || rate_set(&l->write) || l->io_weight)
                ret[n++] = (struct limits_need){ "io", rate_set(&l->read)    ? "limits.disk.read"
                                                       : rate_set(&l->write) ? "limits.disk.write"
                                                                             : "limits.disk.priority" };
        return n;
}

void limits_drop_controller(struct limits *l, const char *controller)
{
        if (streq(controller, "cpu")) {
                l->cpu_quota_us = l->cpu_period_us = 0;
                l->cpu_weight = 0;
        } else if (streq(controller, "cpuset")) {
                l->cpuset[0] = '\0';
        } else if (streq(controller, "memory")) {
                l->memory_bytes = 0;
                l->swap_bytes = -1;
        } else if (streq(controller, "pids")) {
                l->max_processes = 0;
        } else if (streq(controller, "io")) {
                l->read = l->write = (struct limits_rate){ 0 };
                l->io_weight = 0;
        }
}

/* ---- text ---------------------------------------------------------------------------------------- */

const char *limits_format_bytes(uint64_t v, char *buf, size_t size)
{
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
        unsigned u = 0;
        double d = (double)v;
        while (d >= 1024 && u + 1 < ELEMENTSOF(units)) {
                d /= 1024;
                u++;
        }
        if (u == 0 || d >= 100 || d == (double)(uint64_t)d)
                snprintf(buf, size, "%.0f %s", d, units[u]);
        else
                snprintf(buf, size, "%.1f %s", d, units[u]);
        return buf;
}

const char *limits_format_duration(uint64_t ms, char *buf, size_t size)
{
        uint64_t s = ms / 1000, h = s / 3600, m = s % 3600 / 60;
        size_t n = 0;
        buf[0] = '\0';
        if (h)
                n += (size_t)snprintf(buf + n, size - n, "%" PRIu64 "h", h);
        if (m && n < size)
                n += (size_t)snprintf(buf + n, size - n, "%" PRIu64 "m", m);
        if ((s % 60 || !n) && n < size)
                n += (size_t)snprintf(buf + n, size - n, "%" PRIu64 "s", s % 60);
        if (ms % 1000 && !h && !m && n < size)
                snprintf(buf, size, "%" PRIu64 "ms", ms);
        return buf;
}
