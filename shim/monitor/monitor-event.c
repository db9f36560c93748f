/* monitor-event.c — the monitor's findings: levels, the event record, and the audit log
 * ~/.coi/audit/<container>.jsonl (one JSON object a line, appended whole) with its reader. */
#include <stdarg.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "json-util.h"
#include "monitor-event.h"

static const char *const level_names[] = { "info", "warning", "high", "critical" };

const char *monitor_level_to_string(enum monitor_level l)
{
        return (unsigned)l < ELEMENTSOF(level_names) ? level_names[l] : "info";
}

int monitor_level_from_string(const char *s, enum monitor_level *ret)
{
        for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
                if (strcasecmp(s, level_names[i]) == 0) {
                        *ret = (enum monitor_level)i;
                        return 0;
                }
        return -EINVAL;
}

void monitor_event_init(struct monitor_event *ev, const char *container, enum monitor_level level,
                        const char *category, const char *title, const char *fmt, ...)
{
        static unsigned counter;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        memset(ev, 0, sizeof(*ev));
        ev->time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        snprintf(ev->id, sizeof(ev->id), "%llx-%x-%04x", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec,
                 (unsigned)getpid(), ++counter & 0xffff);
        snprintf(ev->container, sizeof(ev->container), "%s", container);
        ev->level = level;
        snprintf(ev->category, sizeof(ev->category), "%s", category);
        snprintf(ev->evidence_kind, sizeof(ev->evidence_kind), "%s", category);
        snprintf(ev->title, sizeof(ev->title), "%s", title);
        snprintf(ev->action, sizeof(ev->action), "logged");
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ev->description, sizeof(ev->description), fmt, ap);
        va_end(ap);
}

static struct monitor_evidence *next_evidence(struct monitor_event *ev, const char *key)
{
        if (ev->n_evidence >= MONITOR_EVIDENCE_MAX)
                return NULL;
        struct monitor_evidence *e = &ev->evidence[ev->n_evidence++];
        snprintf(e->key, sizeof(e->key), "%s", key);
        return e;
}

void monitor_event_add_str(struct monitor_event *ev, const char *key, const char *value)
{
        struct monitor_evidence *e = next_evidence(ev, key);
        if (e)
                snprintf(e->str, sizeof(e->str), "%s", value ? value : "");
}

void monitor_event_add_num(struct monitor_event *ev, const char *key, long long value)
{
        struct monitor_evidence *e = next_evidence(ev, key);
        if (e) {
                e->num = value;
                e->is_num = true;
        }
}

void monitor_time_format(int64_t ms, char buf[32])
{
        time_t s = (time_t)(ms / 1000);
        struct tm tm;
        gmtime_r(&s, &tm);
        size_t n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

int monitor_time_parse(const char *s, int64_t *ret_ms)
{
        struct tm tm = { 0 };
        const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!p)
                return -EINVAL;
        int64_t ms = 0;
        if (*p == '.') {
                int digits = 0;
                for (p++; *p >= '0' && *p <= '9'; p++, digits++)
                        if (digits < 3)
                                ms = ms * 10 + (*p - '0');
                for (; digits > 0 && digits < 3; digits++)
                        ms *= 10;
        }
        long off = 0;
        if (*p == 'Z' || *p == 'z') {
                p++;
        } else if (*p == '+' || *p == '-') {
                int h, m;
                if (sscanf(p + 1, "%2d:%2d", &h, &m) != 2)
                        return -EINVAL;
                off = (h * 3600L + m * 60L) * (*p == '-' ? -1 : 1);
                p += 6;
        } else {
                return -EINVAL;
        }
        if (*p)
                return -EINVAL;
        *ret_ms = ((int64_t)timegm(&tm) - off) * 1000 + ms;
        return 0;
}

/* The JSON of ev, its strings cut to at most cut bytes (0: whole). */
static int gen_line(const struct monitor_event *ev, size_t cut, char **ret, size_t *ret_len)
{
        _cleanup_(yajl_gen_freep) yajl_gen g = yajl_gen_alloc(NULL);
        if (!g)
                return -ENOMEM;
        char when[32];
        monitor_time_format(ev->time_ms, when);
        char desc[sizeof(ev->description)];
        snprintf(desc, sizeof(desc), "%.*s", cut ? (int)cut : (int)sizeof(desc), ev->description);
        bool ok = yajl_gen_map_open(g) == yajl_gen_status_ok && json_gen_str(g, "id") &&
                  json_gen_str(g, ev->id) && json_gen_str(g, "timestamp") && json_gen_str(g, when) &&
                  json_gen_str(g, "container") && json_gen_str(g, ev->container) &&
                  json_gen_str(g, "level") && json_gen_str(g, monitor_level_to_string(ev->level)) &&
                  json_gen_str(g, "category") && json_gen_str(g, ev->category) && json_gen_str(g, "title") &&
                  json_gen_str(g, ev->title) && json_gen_str(g, "description") && json_gen_str(g, desc) &&
                  json_gen_str(g, "evidence") && yajl_gen_map_open(g) == yajl_gen_status_ok;
        if (ok && ev->n_evidence) {
                ok = json_gen_str(g, ev->evidence_kind) && yajl_gen_map_open(g) == yajl_gen_status_ok;
                for (size_t i = 0; ok && i < ev->n_evidence; i++) {
                        const struct monitor_evidence *e = &ev->evidence[i];
                        ok = json_gen_str(g, e->key);
                        if (ok && e->is_num) {
                                ok = yajl_gen_integer(g, e->num) == yajl_gen_status_ok;
                        } else if (ok) {
                                char v[sizeof(e->str)];
                                snprintf(v, sizeof(v), "%.*s", cut ? (int)cut : (int)sizeof(v), e->str);
                                ok = json_gen_str(g, v);
                        }
                }
                ok = ok && yajl_gen_map_close(g) == yajl_gen_status_ok;
        }
        ok = ok && yajl_gen_map_close(g) == yajl_gen_status_ok && json_gen_str(g, "action") &&
             json_gen_str(g, ev->action) && yajl_gen_map_close(g) == yajl_gen_status_ok;
        if (!ok)
                return -EINVAL;
        const unsigned char *buf;
        size_t len;
        yajl_gen_get_buf(g, &buf, &len);
        char *line = malloc(len + 2);
        if (!line)
                return -ENOMEM;
        memcpy(line, buf, len);
        line[len] = '\n';
        line[len + 1] = '\0';
        *ret = line;
        *ret_len = len + 1;
        return 0;
}

int monitor_event_json_line(const struct monitor_event *ev, char **ret, size_t *ret_len,
                            struct coi_error *err)
{
        /* Each string escapes to at most 6 bytes a byte (\u00XX): shorten until the line fits. */
        static const size_t cuts[] = { 0, 160, 64, 16 };
        for (size_t i = 0; i < ELEMENTSOF(cuts); i++) {
                char *line = NULL;
                size_t len = 0;
                int r = gen_line(ev, cuts[i], &line, &len);
                if (r < 0)
                        return coi_error_set(err, -r, "audit event %s: cannot encode it as JSON", ev->id);
                if (len < MONITOR_LINE_MAX) {
                        *ret = line;
                        *ret_len = len;
                        return 0;
                }
                free(line);
        }
        return coi_error_set(err, E2BIG, "audit event %s: longer than %d bytes", ev->id, MONITOR_LINE_MAX);
}

char *monitor_audit_path(const char *dir, const char *container)
{
        return xasprintf("%s/%s.jsonl", dir, container);
}

int monitor_audit_append(const char *dir, const struct monitor_event *ev, struct coi_error *err)
{
        int r = mkdir_p_at(AT_FDCWD, dir, 0700, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *path = monitor_audit_path(dir, ev->container);
        _cleanup_free_ char *line = NULL;
        size_t len = 0;
        if (!path)
                return coi_error_set(err, ENOMEM, "audit log of %s: %m", ev->container);
        r = monitor_event_json_line(ev, &line, &len, err);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return coi_error_set(err, errno, "open %s: %m", path);
        /* One write() of the whole line (< PIPE_BUF) on O_APPEND: other writers' lines never interleave
         * with it, and a crash leaves it whole or absent. A short write (disk full) is undone. */
        struct stat st;
        off_t before = fstat(fd, &st) == 0 ? st.st_size : -1;
        ssize_t n = write(fd, line, len);
        if (n != (ssize_t)len) {
                int e = n < 0 ? errno : ENOSPC;
                if (n > 0 && before >= 0 && ftruncate(fd, before) < 0)
                        return coi_error_set(err, errno, "truncate %s after a short write: %m", path);
                return coi_error_set(err, e, "append to %s: %s", path, strerror(e));
        }
        if (fdatasync(fd) < 0)
                return coi_error_set(err, errno, "sync %s: %m", path);
        return 0;
}

static int parse_entry(char *line, yajl_val *ret_tree, struct monitor_audit_entry *e)
{
        char ebuf[64];
        yajl_val v = yajl_tree_parse(line, ebuf, sizeof(ebuf));
        if (!v || !YAJL_IS_OBJECT(v)) {
                if (v)
                        yajl_tree_free(v);
                return -EBADMSG;
        }
        const char *ts = json_str(v, "timestamp"), *level = json_str(v, "level");
        *e = (struct monitor_audit_entry){ .line = line,
                                           .category = json_str(v, "category"),
                                           .title = json_str(v, "title"),
                                           .action = json_str(v, "action"),
                                           .container = json_str(v, "container"),
                                           .description = json_str(v, "description") };
        if (!ts || !level || monitor_time_parse(ts, &e->time_ms) < 0 ||
            monitor_level_from_string(level, &e->level) < 0) {
                yajl_tree_free(v);
                return -EBADMSG;
        }
        *ret_tree = v;
        return 0;
}

int monitor_audit_read(const char *path, const struct monitor_audit_filter *filter,
                       int (*fn)(const struct monitor_audit_entry *e, void *data), void *data,
                       struct coi_error *err)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f)
                return errno == ENOENT ? 0 : coi_error_set(err, errno, "open %s: %m", path);
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while ((n = getline(&line, &cap, f)) > 0) {
                if (line[n - 1] != '\n')
                        break; /* a line still being written (never a torn one: see append) */
                line[n - 1] = '\0';
                yajl_val tree = NULL;
                struct monitor_audit_entry e;
                if (parse_entry(line, &tree, &e) < 0)
                        continue;
                int r = 0;
                if (e.time_ms >= filter->since_ms && e.level >= filter->level)
                        r = fn(&e, data);
                yajl_tree_free(tree);
                if (r < 0)
                        return r;
        }
        return 0;
}
