/* monitor-event.h — the monitor's findings: levels, the event record, and the audit log
 * ~/.coi/audit/<container>.jsonl (one JSON object a line, appended whole) with its reader. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum monitor_level {
        MONITOR_INFO,
        MONITOR_WARNING,
        MONITOR_HIGH,
        MONITOR_CRITICAL
};

/* "info", "warning", "high", "critical" (code-on-incus's JSON words). */
const char *monitor_level_to_string(enum monitor_level l);
/* Case-insensitive; -EINVAL for anything else. */
int monitor_level_from_string(const char *s, enum monitor_level *ret);

#define MONITOR_EVIDENCE_MAX 8
struct monitor_evidence {
        char key[32];
        char str[256]; /* used unless is_num */
        long long num;
        bool is_num;
};

struct monitor_event {
        char id[48];
        int64_t time_ms; /* CLOCK_REALTIME */
        char container[64];
        enum monitor_level level;
        char category[16]; /* "process", "network", "dns", "filesystem" */
        char title[96];    /* "Reverse shell detected" */
        char description[512];
        char evidence_kind[16]; /* evidence's one member: "process", "network", "dns", "filesystem" */
        struct monitor_evidence evidence[MONITOR_EVIDENCE_MAX];
        size_t n_evidence;
        char action[32]; /* "logged", "alerted", "paused", "killed" */
};

/* Fills the common fields (id, time, container, level, category, title, description). */
void monitor_event_init(struct monitor_event *ev, const char *container, enum monitor_level level,
                        const char *category, const char *title, const char *fmt, ...)
        __attribute__((format(printf, 6, 7)));
void monitor_event_add_str(struct monitor_event *ev, const char *key, const char *value);
void monitor_event_add_num(struct monitor_event *ev, const char *key, long long value);

/* The event as one line of JSON with its '\n' (allocated); always shorter than MONITOR_LINE_MAX
 * (evidence and description are shortened until it fits). */
#define MONITOR_LINE_MAX 4096 /* PIPE_BUF: an O_APPEND write of this size lands whole */
int monitor_event_json_line(const struct monitor_event *ev, char **ret, size_t *ret_len,
                            struct coi_error *err);

/* <dir>/<container>.jsonl, allocated. */
char *monitor_audit_path(const char *dir, const char *container);
/* Appends ev to dir's log of its container (dir made 0700 if missing) with one write() of the whole line
 * on an O_APPEND descriptor, then fdatasync: a crash leaves the line whole or absent, never torn. */
int monitor_audit_append(const char *dir, const struct monitor_event *ev, struct coi_error *err);

/* One line of a log as the reader found it. */
struct monitor_audit_entry {
        const char *line; /* the JSON text, without '\n' */
        int64_t time_ms;
        enum monitor_level level;
        const char *category, *title, *action, *container, *description;
};
struct monitor_audit_filter {
        int64_t since_ms;         /* 0: everything */
        enum monitor_level level; /* at least this level */
};
/* Calls fn for every well-formed line of path that passes filter, oldest first (a line that does not
 * parse is skipped). A missing log is no entries. fn returns <0 to stop (that value is returned). */
int monitor_audit_read(const char *path, const struct monitor_audit_filter *filter,
                       int (*fn)(const struct monitor_audit_entry *e, void *data), void *data,
                       struct coi_error *err);

/* RFC 3339 UTC with milliseconds, "2026-12-04T18:01:28.123Z"; -EINVAL when s is not one (a trailing
 * "Z" or "+00:00" style offset, fraction optional). */
int monitor_time_parse(const char *s, int64_t *ret_ms);
void monitor_time_format(int64_t ms, char buf[32]);
