/* container-limits.c — a container's [limits.*]: limits.json, the host's cgroup controllers checked
 * against them, the disks io.max applies to, usage against each limit. */
#include <inttypes.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "container-internal.h"
#include "container-limits.h"
#include "util.h"

/* ---- the host's side ----------------------------------------------------------------------------- */

static bool word_in(const char *list, const char *word)
{
        size_t n = strlen(word);
        for (const char *p = list; (p = strstr(p, word)); p += n)
                if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
                        return true;
        return false;
}

static void gap_add(struct container_limits_gaps *g, const char *what, const char *key)
{
        size_t len = strlen(g->text);
        snprintf(g->text + len, sizeof(g->text) - len, "%s%s (%s)", g->n ? ", " : "", what, key);
        g->n++;
}

int container_limits_check(struct container_store *s, struct limits *l, struct container_limits_gaps *gaps,
                           struct coi_error *err)
{
        *gaps = (struct container_limits_gaps){ 0 };
        struct limits_need need[8];
        size_t n = limits_needs(l, need);
        if (n == 0)
                return 0;
        struct coi_cgroup_hierarchy h;
        int r = coi_cgroup_detect(&h, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *path = xasprintf("%s/cgroup.controllers", h.mount_point);
        _cleanup_free_ char *have = NULL;
        if (!path)
                return coi_error_set(err, ENOMEM, "cgroup controllers: %m");
        r = read_file_at(AT_FDCWD, path, 0, &have, NULL, err);
        if (r < 0)
                return r;
        snprintf(gaps->where, sizeof(gaps->where), "cgroup2 at %s%s has only \"%.*s\"", h.mount_point,
                 h.layout == COI_CGROUP_HYBRID ? " (hybrid host: the v1 hierarchies own the rest)" : "",
                 (int)strcspn(have, "\n"), have);
        for (size_t i = 0; i < n; i++)
                if (!word_in(have, need[i].controller))
                        gap_add(gaps, need[i].controller, need[i].key);
        /* io.max needs a disk: the one holding the containers' upper layers. */
        bool rates = l->read.bps || l->read.iops || l->write.bps || l->write.iops;
        dev_t disks[CONTAINER_MAX_DISKS];
        const char *data = s->path;
        if (rates && word_in(have, "io") && container_limits_disks(&data, 1, disks) == 0) {
                gap_add(gaps, "a block device",
                        l->read.bps || l->read.iops ? "limits.disk.read" : "limits.disk.write");
                size_t len = strlen(gaps->where);
                snprintf(gaps->where + len, sizeof(gaps->where) - len, "; %s is on no block device", s->path);
        }
        if (gaps->n == 0)
                return 0;
        if (!l->best_effort)
                return coi_error_set(
                        err, ENOTSUP,
                        "limits can't be enforced here: %s missing; %s (set [limits] best_effort = "
                        "true to run without them)",
                        gaps->text, gaps->where);
        for (size_t i = 0; i < n; i++)
                if (!word_in(have, need[i].controller))
                        limits_drop_controller(l, need[i].controller);
        if (rates && strstr(gaps->text, "a block device"))
                l->read = l->write = (struct limits_rate){ 0 };
        return 0;
}

/* The whole disk of a block device: a partition's parent, from sysfs. */
static dev_t whole_disk(dev_t dev)
{
        char path[128];
        snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/partition", major(dev), minor(dev));
        if (access(path, F_OK) < 0)
                return dev;
        snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/../dev", major(dev), minor(dev));
        _cleanup_free_ char *text = NULL;
        unsigned ma, mi;
        if (read_file_at(AT_FDCWD, path, 64, &text, NULL, NULL) < 0 || sscanf(text, "%u:%u", &ma, &mi) != 2)
                return dev;
        return makedev(ma, mi);
}

size_t container_limits_disks(const char *const *paths, size_t n, dev_t ret[CONTAINER_MAX_DISKS])
{
        size_t k = 0;
        for (size_t i = 0; i < n && k < CONTAINER_MAX_DISKS; i++) {
                struct stat st;
                char sys[96];
                if (stat(paths[i], &st) < 0 || major(st.st_dev) == 0)
                        continue; /* tmpfs, overlayfs, btrfs subvolumes: no block device of their own */
                snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u", major(st.st_dev), minor(st.st_dev));
                if (access(sys, F_OK) < 0)
                        continue;
                dev_t d = whole_disk(st.st_dev);
                bool seen = false;
                for (size_t j = 0; j < k; j++)
                        seen = seen || ret[j] == d;
                if (!seen)
                        ret[k++] = d;
        }
        return k;
}

/* ---- limits.json --------------------------------------------------------------------------------- */

/* The numbers of struct limits, by name: one table for writing and reading. */
#define U(f)                                                                                                 \
        {                                                                                                    \
#f, offsetof(struct limits, f), 'u'                                                          \
        }
#define I(f)                                                                                                 \
        {                                                                                                    \
#f, offsetof(struct limits, f), 'i'                                                          \
        }
#define B(f)                                                                                                 \
        {                                                                                                    \
#f, offsetof(struct limits, f), 'b'                                                          \
        }
static const struct {
        const char *name;
        size_t offset;
        char type;
} fields[] = {
        U(cpu_quota_us),  U(cpu_period_us), U(cpu_weight),    U(memory_bytes),
        B(memory_hard),   I(swap_bytes),    U(read.bps),      U(read.iops),
        U(write.bps),     U(write.iops),    U(io_weight),     U(max_duration_ms),
        I(max_processes), B(auto_stop),     B(stop_graceful), B(best_effort),
};

int container_set_limits(struct container_store *s, const char *name, const struct limits *l,
                         struct coi_error *err)
{
        _cleanup_close_ int lock = -1;
        int r = container_validate_name(name, err);
        r = r ?: container_lock(s, name, &lock, err);
        return r ?: container_limits_save(s->cdirfd, name, l, err);
}

int container_limits_save(int cdirfd, const char *name, const struct limits *l, struct coi_error *err)
{
        _cleanup_free_ char *path = xasprintf("%s/%s", name, CONTAINER_LIMITS_FILE);
        if (!path)
                return coi_error_set(err, ENOMEM, "limits of %s: %m", name);
        if (!l) {
                if (unlinkat(cdirfd, path, 0) < 0 && errno != ENOENT)
                        return coi_error_set(err, errno, "remove containers/%s: %m", path);
                return 0;
        }
        _cleanup_(yajl_gen_freep) yajl_gen g = yajl_gen_alloc(NULL);
        if (!g)
                return coi_error_set(err, ENOMEM, "limits of %s: %m", name);
        yajl_gen_config(g, yajl_gen_beautify, 1);
        bool ok = yajl_gen_map_open(g) == yajl_gen_status_ok && json_gen_str(g, "cpuset") &&
                  json_gen_str(g, l->cpuset) && json_gen_str(g, "tmpfs_size") &&
                  json_gen_str(g, l->tmpfs_size);
        for (size_t i = 0; ok && i < ELEMENTSOF(fields); i++) {
                const char *p = (const char *)l + fields[i].offset;
                ok = json_gen_str(g, fields[i].name);
                if (fields[i].type == 'b')
                        ok = ok && yajl_gen_bool(g, *(const bool *)p) == yajl_gen_status_ok;
                else if (fields[i].type == 'i')
                        ok = ok && yajl_gen_integer(g, *(const int64_t *)p) == yajl_gen_status_ok;
                else
                        ok = ok && yajl_gen_integer(g, (long long)*(const uint64_t *)p) == yajl_gen_status_ok;
        }
        ok = ok && yajl_gen_map_close(g) == yajl_gen_status_ok;
        const unsigned char *buf;
        size_t len;
        if (!ok || yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
                return coi_error_set(err, ENOMEM, "limits of %s: %m", name);
        return write_file_atomic_at(cdirfd, path, buf, len, 0644, err);
}

int container_limits_load(int cdirfd, const char *name, struct limits *ret, bool *ret_has,
                          struct coi_error *err)
{
        *ret = (struct limits){ .swap_bytes = -1 };
        *ret_has = false;
        _cleanup_free_ char *path = xasprintf("%s/%s", name, CONTAINER_LIMITS_FILE);
        _cleanup_free_ char *data = NULL;
        if (!path)
                return coi_error_set(err, ENOMEM, "limits of %s: %m", name);
        int r = read_file_at(cdirfd, path, 1 << 16, &data, NULL, err);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        _cleanup_free_ char *what = xasprintf("containers/%s", path);
        _cleanup_(yajl_tree_freep) yajl_val root = NULL;
        r = json_parse(data, yajl_t_object, what ? what : path, &root, err);
        if (r < 0)
                return r;
        snprintf(ret->cpuset, sizeof(ret->cpuset), "%s", json_str(root, "cpuset") ?: "");
        snprintf(ret->tmpfs_size, sizeof(ret->tmpfs_size), "%s", json_str(root, "tmpfs_size") ?: "");
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                char *p = (char *)ret + fields[i].offset;
                if (fields[i].type == 'b')
                        *(bool *)p = json_bool(root, fields[i].name);
                else if (fields[i].type == 'i')
                        *(int64_t *)p = json_int(root, fields[i].name, *(int64_t *)p);
                else
                        *(uint64_t *)p = (uint64_t)json_int(root, fields[i].name, 0);
        }
        *ret_has = true;
        return 0;
}

/* ---- usage --------------------------------------------------------------------------------------- */

static char *cg_read(const char *dir, const char *file)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
        char *data = NULL;
        if (!p || read_file_at(AT_FDCWD, p, 1 << 16, &data, NULL, NULL) < 0)
                return NULL;
        data[strcspn(data, "\n")] = '\0';
        return data;
}

/* "key N" of a flat-keyed file (memory.events, cpu.stat); -1 if absent. */
static long long cg_keyed(const char *dir, const char *file, const char *key)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
        _cleanup_free_ char *data = NULL;
        if (!p || read_file_at(AT_FDCWD, p, 1 << 16, &data, NULL, NULL) < 0)
                return -1;
        size_t k = strlen(key);
        for (char *line = data; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
                if (strncmp(line, key, k) == 0 && line[k] == ' ')
                        return atoll(line + k + 1);
        return -1;
}

/* Sums a key of io.stat over its devices (rbytes, wbytes). */
static long long io_sum(const char *dir, const char *key)
{
        _cleanup_free_ char *p = xasprintf("%s/io.stat", dir);
        _cleanup_free_ char *data = NULL;
        if (!p || read_file_at(AT_FDCWD, p, 1 << 16, &data, NULL, NULL) < 0)
                return -1;
        long long sum = 0;
        size_t k = strlen(key);
        for (char *w = data; (w = strstr(w, key)); w += k)
                if ((w == data || w[-1] == ' ') && w[k] == '=')
                        sum += atoll(w + k + 1);
        return sum;
}

static void row(struct container_limit_row *rows, size_t *n, const char *res, const char *used,
                const char *limit)
{
        struct container_limit_row *r = &rows[(*n)++];
        snprintf(r->resource, sizeof(r->resource), "%s", res);
        snprintf(r->used, sizeof(r->used), "%s", used);
        snprintf(r->limit, sizeof(r->limit), "%s", limit);
}

static const char *bytes_or_dash(long long v, char *buf, size_t size)
{
        return v < 0 ? "-" : limits_format_bytes((uint64_t)v, buf, size);
}

static const char *rate_text(const struct limits_rate *r, char *buf, size_t size)
{
        char b[32];
        if (r->bps && r->iops)
                snprintf(buf, size, "%s/s, %" PRIu64 " iops", limits_format_bytes(r->bps, b, sizeof(b)),
                         r->iops);
        else if (r->bps)
                snprintf(buf, size, "%s/s", limits_format_bytes(r->bps, b, sizeof(b)));
        else
                snprintf(buf, size, "%" PRIu64 " iops", r->iops);
        return buf;
}

/* Seconds init has run, from its start time in /proc (clock ticks after boot) and the uptime. */
static long long running_seconds(pid_t pid)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        _cleanup_free_ char *stat = NULL, *up = NULL;
        if (read_file_at(AT_FDCWD, path, 0, &stat, NULL, NULL) < 0 ||
            read_file_at(AT_FDCWD, "/proc/uptime", 0, &up, NULL, NULL) < 0)
                return -1;
        /* After the command's ")": field 3 (state) first, starttime is field 22. */
        char *p = strrchr(stat, ')');
        for (int field = 3; p && field <= 22; field++)
                p = strchr(p + 1, ' ');
        long ticks = sysconf(_SC_CLK_TCK);
        if (!p || ticks <= 0)
                return -1;
        double start = (double)strtoull(p + 1, NULL, 10) / (double)ticks;
        double now = strtod(up, NULL);
        return now > start ? (long long)(now - start) : 0;
}

int container_limits_usage(int cdirfd, const char *name, const char *cg, pid_t init,
                           struct container_limit_row rows[CONTAINER_LIMIT_ROWS], size_t *ret_n,
                           struct coi_error *err)
{
        *ret_n = 0;
        struct limits l;
        bool has = false;
        int r = container_limits_load(cdirfd, name, &l, &has, err);
        if (r < 0 || !has)
                return r;
        size_t n = 0;
        char used[96], limit[96], a[32], b[32];
        if (l.memory_bytes) {
                _cleanup_free_ char *c = cg ? cg_read(cg, "memory.current") : NULL;
                snprintf(limit, sizeof(limit), "%s (%s)", limits_format_bytes(l.memory_bytes, a, sizeof(a)),
                         l.memory_hard ? "hard: memory.max" : "soft: memory.high");
                row(rows, &n, "memory", c ? limits_format_bytes(strtoull(c, NULL, 10), b, sizeof(b)) : "-",
                    limit);
                long long oom = cg ? cg_keyed(cg, "memory.events", "oom_kill") : -1;
                snprintf(used, sizeof(used), "%lld", oom < 0 ? 0 : oom);
                row(rows, &n, "oom kills", cg ? used : "-",
                    l.memory_hard ? "processes killed at the limit" : "-");
        }
        if (l.swap_bytes >= 0) {
                _cleanup_free_ char *c = cg ? cg_read(cg, "memory.swap.current") : NULL;
                row(rows, &n, "swap", c ? limits_format_bytes(strtoull(c, NULL, 10), b, sizeof(b)) : "-",
                    l.swap_bytes ? limits_format_bytes((uint64_t)l.swap_bytes, a, sizeof(a)) : "none");
        }
        if (l.cpu_quota_us) {
                long long usec = cg ? cg_keyed(cg, "cpu.stat", "usage_usec") : -1;
                long long thr = cg ? cg_keyed(cg, "cpu.stat", "nr_throttled") : -1;
                if (usec >= 0)
                        snprintf(used, sizeof(used), "%.1f s of CPU, throttled %lld times",
                                 (double)usec / 1e6, thr < 0 ? 0 : thr);
                snprintf(limit, sizeof(limit), "%" PRIu64 "%% of one CPU (%" PRIu64 "ms/%" PRIu64 "ms)",
                         l.cpu_quota_us * 100 / l.cpu_period_us, l.cpu_quota_us / 1000,
                         l.cpu_period_us / 1000);
                row(rows, &n, "cpu time", usec >= 0 ? used : "-", limit);
        }
        if (l.cpuset[0]) {
                _cleanup_free_ char *eff = cg ? cg_read(cg, "cpuset.cpus.effective") : NULL;
                row(rows, &n, "cpus", eff ? eff : "-", l.cpuset);
        }
        if (l.cpu_weight) {
                _cleanup_free_ char *w = cg ? cg_read(cg, "cpu.weight") : NULL;
                snprintf(limit, sizeof(limit), "priority %" PRIu64 " (cpu.weight %" PRIu64 ")",
                         l.cpu_weight / 10, l.cpu_weight);
                row(rows, &n, "cpu priority", w ? w : "-", limit);
        }
        if (l.max_processes) {
                _cleanup_free_ char *c = cg ? cg_read(cg, "pids.current") : NULL;
                snprintf(limit, sizeof(limit), "%" PRId64, l.max_processes);
                row(rows, &n, "processes", c ? c : "-", limit);
        }
        if (l.read.bps || l.read.iops) {
                row(rows, &n, "disk read", bytes_or_dash(cg ? io_sum(cg, "rbytes") : -1, a, sizeof(a)),
                    rate_text(&l.read, limit, sizeof(limit)));
        }
        if (l.write.bps || l.write.iops) {
                row(rows, &n, "disk write", bytes_or_dash(cg ? io_sum(cg, "wbytes") : -1, a, sizeof(a)),
                    rate_text(&l.write, limit, sizeof(limit)));
        }
        if (l.io_weight) {
                snprintf(limit, sizeof(limit), "priority %" PRIu64 " (io.weight %" PRIu64 ")",
                         l.io_weight / 10, l.io_weight);
                row(rows, &n, "disk priority", "-", limit);
        }
        if (l.tmpfs_size[0]) {
                uint64_t v = strtoull(l.tmpfs_size, NULL, 10);
                row(rows, &n, "/tmp size", "-",
                    strchr(l.tmpfs_size, '%') ? l.tmpfs_size : limits_format_bytes(v, a, sizeof(a)));
        }
        if (l.max_duration_ms) {
                long long secs = init ? running_seconds(init) : -1;
                if (secs >= 0)
                        limits_format_duration((uint64_t)secs * 1000, used, sizeof(used));
                snprintf(limit, sizeof(limit), "%s, then %s",
                         limits_format_duration(l.max_duration_ms, a, sizeof(a)),
                         !l.auto_stop      ? "nothing (auto_stop off)"
                         : l.stop_graceful ? "a clean stop"
                                           : "kill");
                row(rows, &n, "running time", secs >= 0 ? used : "-", limit);
        }
        *ret_n = n;
        return 0;
}
