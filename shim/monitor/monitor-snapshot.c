/* monitor-snapshot.c — `coi monitor`'s view of one container: status, whether its monitor runs,
 * processes, sockets, usage against each limit (container-limits.c's rows) and the latest events. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>

#include "container/container-limits.h"
#include "json-util.h"
#include "monitor-net.h"
#include "monitor-proc.h"
#include "monitor-snapshot.h"
#include "monitor.h"

struct recent {
        char *lines[MONITOR_SNAPSHOT_EVENTS]; /* a ring of the newest */
        char *text[MONITOR_SNAPSHOT_EVENTS];
        size_t n;
};

static int keep(const struct monitor_audit_entry *e, void *data)
{
        struct recent *r = data;
        size_t i = r->n++ % MONITOR_SNAPSHOT_EVENTS;
        free(r->lines[i]);
        free(r->text[i]);
        char when[32];
        monitor_time_format(e->time_ms, when);
        r->lines[i] = strdup(e->line);
        r->text[i] = xasprintf("  %s  %-8s %-10s %s [%s]", when, monitor_level_to_string(e->level),
                               e->category ? e->category : "", e->title ? e->title : "",
                               e->action ? e->action : "");
        return 0;
}

static const char *suspect_reason(const struct monitor_sock *s)
{
        enum monitor_dest d = monitor_net_classify(s->family, s->dst);
        if (d == MONITOR_DEST_METADATA)
                return "metadata endpoint";
        if (monitor_net_c2_port(s->dport))
                return "C2 port";
        return NULL;
}

struct view {
        struct container_info *info;
        pid_t monitor;
        size_t n_procs;
        bool procs_ok;
        struct monitor_sock *socks;
        size_t n_socks;
        bool socks_ok;
        struct recent recent;
};

static bool gen_kv(yajl_gen g, const char *k, const char *v)
{
        return json_gen_str(g, k) && json_gen_str(g, v);
}

static bool gen_int(yajl_gen g, const char *k, long long v)
{
        return json_gen_str(g, k) && yajl_gen_integer(g, v) == yajl_gen_status_ok;
}

static bool gen_bool(yajl_gen g, const char *k, bool v)
{
        return json_gen_str(g, k) && yajl_gen_bool(g, v) == yajl_gen_status_ok;
}

static int to_json(const struct view *v, char **ret)
{
        _cleanup_(yajl_gen_freep) yajl_gen g = yajl_gen_alloc(NULL);
        if (!g)
                return -ENOMEM;
        yajl_gen_config(g, yajl_gen_beautify, 1);
        yajl_gen_config(g, yajl_gen_indent_string, "  ");
        char when[32];
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        monitor_time_format((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, when);
        size_t active = 0, suspicious = 0;
        for (size_t i = 0; i < v->n_socks; i++)
                if (v->socks[i].proto == IPPROTO_TCP && v->socks[i].state == 1) {
                        active++;
                        suspicious += suspect_reason(&v->socks[i]) != NULL;
                }
        bool ok = yajl_gen_map_open(g) == yajl_gen_status_ok && gen_kv(g, "timestamp", when) &&
                  gen_kv(g, "container", v->info->name) && gen_kv(g, "status", v->info->status) &&
                  json_gen_str(g, "monitor") && yajl_gen_map_open(g) == yajl_gen_status_ok &&
                  gen_bool(g, "running", v->monitor > 0) && gen_int(g, "pid", v->monitor) &&
                  yajl_gen_map_close(g) == yajl_gen_status_ok && json_gen_str(g, "network") &&
                  yajl_gen_map_open(g) == yajl_gen_status_ok &&
                  gen_int(g, "active_connections", (long long)active) && json_gen_str(g, "connections") &&
                  yajl_gen_array_open(g) == yajl_gen_status_ok;
        for (size_t i = 0; ok && i < v->n_socks; i++) {
                const struct monitor_sock *s = &v->socks[i];
                if (s->proto != IPPROTO_TCP)
                        continue;
                char l[64], r[64];
                monitor_sock_addr(s, false, l, sizeof(l));
                monitor_sock_addr(s, true, r, sizeof(r));
                const char *why = suspect_reason(s);
                ok = yajl_gen_map_open(g) == yajl_gen_status_ok && gen_kv(g, "protocol", "tcp") &&
                     gen_kv(g, "local_addr", l) && gen_kv(g, "remote_addr", r) &&
                     gen_kv(g, "state", monitor_tcp_state(s->state)) &&
                     gen_bool(g, "suspicious", why != NULL) && (!why || gen_kv(g, "suspect_reason", why)) &&
                     yajl_gen_map_close(g) == yajl_gen_status_ok;
        }
        ok = ok && yajl_gen_array_close(g) == yajl_gen_status_ok &&
             gen_int(g, "suspicious_count", (long long)suspicious) &&
             yajl_gen_map_close(g) == yajl_gen_status_ok && json_gen_str(g, "processes") &&
             yajl_gen_map_open(g) == yajl_gen_status_ok && gen_bool(g, "available", v->procs_ok) &&
             gen_int(g, "total_count", (long long)v->n_procs) &&
             yajl_gen_map_close(g) == yajl_gen_status_ok && json_gen_str(g, "limits") &&
             yajl_gen_array_open(g) == yajl_gen_status_ok;
        for (size_t i = 0; ok && i < v->info->n_limits; i++) {
                const struct container_limit_row *row = &v->info->limits[i];
                ok = yajl_gen_map_open(g) == yajl_gen_status_ok && gen_kv(g, "resource", row->resource) &&
                     gen_kv(g, "used", row->used) && gen_kv(g, "limit", row->limit) &&
                     yajl_gen_map_close(g) == yajl_gen_status_ok;
        }
        ok = ok && yajl_gen_array_close(g) == yajl_gen_status_ok && json_gen_str(g, "threats") &&
             yajl_gen_array_open(g) == yajl_gen_status_ok;
        size_t have = v->recent.n < MONITOR_SNAPSHOT_EVENTS ? v->recent.n : MONITOR_SNAPSHOT_EVENTS;
        for (size_t k = 0; ok && k < have; k++) {
                size_t i = (v->recent.n - have + k) % MONITOR_SNAPSHOT_EVENTS;
                const char *line = v->recent.lines[i];
                /* the stored line as it is: a JSON object */
                ok = line && yajl_gen_map_open(g) == yajl_gen_status_ok;
                if (ok) {
                        _cleanup_(yajl_tree_freep) yajl_val t = yajl_tree_parse(line, NULL, 0);
                        for (size_t m = 0; ok && t && YAJL_IS_OBJECT(t) && m < t->u.object.len; m++) {
                                yajl_val x = t->u.object.values[m];
                                ok = json_gen_str(g, t->u.object.keys[m]);
                                if (ok && YAJL_IS_STRING(x))
                                        ok = json_gen_str(g, YAJL_GET_STRING(x));
                                else if (ok && YAJL_IS_OBJECT(x) && x->u.object.len == 1 &&
                                         YAJL_IS_OBJECT(x->u.object.values[0])) {
                                        yajl_val in = x->u.object.values[0];
                                        ok = yajl_gen_map_open(g) == yajl_gen_status_ok &&
                                             json_gen_str(g, x->u.object.keys[0]) &&
                                             yajl_gen_map_open(g) == yajl_gen_status_ok;
                                        for (size_t q = 0; ok && q < in->u.object.len; q++) {
                                                yajl_val y = in->u.object.values[q];
                                                ok = json_gen_str(g, in->u.object.keys[q]) &&
                                                     (YAJL_IS_INTEGER(y)
                                                              ? yajl_gen_integer(g, YAJL_GET_INTEGER(y)) ==
                                                                        yajl_gen_status_ok
                                                              : json_gen_str(g, YAJL_IS_STRING(y)
                                                                                        ? YAJL_GET_STRING(y)
                                                                                        : ""));
                                        }
                                        ok = ok && yajl_gen_map_close(g) == yajl_gen_status_ok &&
                                             yajl_gen_map_close(g) == yajl_gen_status_ok;
                                } else if (ok) {
                                        ok = yajl_gen_map_open(g) == yajl_gen_status_ok &&
                                             yajl_gen_map_close(g) == yajl_gen_status_ok;
                                }
                        }
                        ok = ok && yajl_gen_map_close(g) == yajl_gen_status_ok;
                }
        }
        ok = ok && yajl_gen_array_close(g) == yajl_gen_status_ok &&
             yajl_gen_map_close(g) == yajl_gen_status_ok;
        if (!ok)
                return -EINVAL;
        const unsigned char *buf;
        size_t len;
        yajl_gen_get_buf(g, &buf, &len);
        *ret = strndup((const char *)buf, len);
        return *ret ? 0 : -ENOMEM;
}

static int to_text(const struct view *v, char **ret)
{
        char *out = NULL;
        size_t size = 0;
        _cleanup_fclose_ FILE *f = open_memstream(&out, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "Container: %s (%s)\n", v->info->name, v->info->status);
        if (v->monitor > 0)
                fprintf(f, "Monitor:   running (pid %d)\n", (int)v->monitor);
        else
                fprintf(f, "Monitor:   not running ([monitoring] enabled = true starts it with the "
                           "container)\n");
        if (v->procs_ok)
                fprintf(f, "Processes: %zu\n", v->n_procs);
        fprintf(f, "\nNetwork connections:\n");
        size_t shown = 0;
        for (size_t i = 0; i < v->n_socks; i++) {
                const struct monitor_sock *s = &v->socks[i];
                if (s->proto != IPPROTO_TCP)
                        continue;
                char l[64], r[64];
                monitor_sock_addr(s, false, l, sizeof(l));
                monitor_sock_addr(s, true, r, sizeof(r));
                const char *why = suspect_reason(s);
                fprintf(f, "  tcp  %-22s %-22s %-11s%s%s\n", l, s->state == 10 ? "*" : r,
                        monitor_tcp_state(s->state), why ? "  SUSPICIOUS: " : "", why ? why : "");
                shown++;
        }
        if (!shown)
                fprintf(f, "  (none)\n");
        if (v->info->n_limits) {
                fprintf(f, "\nLimits:\n");
                for (size_t i = 0; i < v->info->n_limits; i++)
                        fprintf(f, "  %-12s %s / %s\n", v->info->limits[i].resource, v->info->limits[i].used,
                                v->info->limits[i].limit);
        }
        fprintf(f, "\nRecent events:\n");
        size_t have = v->recent.n < MONITOR_SNAPSHOT_EVENTS ? v->recent.n : MONITOR_SNAPSHOT_EVENTS;
        for (size_t k = 0; k < have; k++)
                fprintf(f, "%s\n", v->recent.text[(v->recent.n - have + k) % MONITOR_SNAPSHOT_EVENTS]);
        if (!have)
                fprintf(f, "  (none)\n");
        if (fclose(TAKE_PTR(f)) != 0) {
                free(out);
                return -ENOMEM;
        }
        *ret = out;
        return 0;
}

int monitor_snapshot(struct container_store *s, const char *name, const char *audit_dir, bool json,
                     char **ret, struct coi_error *err)
{
        struct view v = { 0 };
        int r = container_info_get(s, name, &v.info, err);
        if (r < 0)
                return r;
        v.monitor = monitor_running(s, name);
        struct coi_error e = { 0 };
        if (v.info->cgroup && v.info->pid) {
                _cleanup_free_ pid_t *pids = NULL;
                v.procs_ok = monitor_cgroup_pids(v.info->cgroup, &pids, &v.n_procs, &e) == 0;
                _cleanup_close_ int fd = -1;
                v.socks_ok = monitor_net_open(v.info->pid, &fd, &e) == 0 &&
                             monitor_net_dump(fd, &v.socks, &v.n_socks, &e) == 0;
        }
        _cleanup_free_ char *path = monitor_audit_path(audit_dir, name);
        struct monitor_audit_filter all = { 0 };
        r = path ? monitor_audit_read(path, &all, keep, &v.recent, err)
                 : coi_error_set(err, ENOMEM, "audit: %m");
        if (r == 0) {
                r = json ? to_json(&v, ret) : to_text(&v, ret);
                if (r < 0)
                        coi_error_set(err, -r, "monitor snapshot of %s: %s", name, strerror(-r));
        }
        for (size_t i = 0; i < MONITOR_SNAPSHOT_EVENTS; i++) {
                free(v.recent.lines[i]);
                free(v.recent.text[i]);
        }
        free(v.socks);
        container_info_free(v.info);
        return r;
}
