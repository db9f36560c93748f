/* cmd-monitor.c — `coi monitor [NAME] [--watch N] [--format json]`: a container's live security state
 * and latest events; `coi audit [NAME] [--since …] [--level …]`: the monitor's audit log. */
#include <dirent.h>
#include <signal.h>
#include <time.h>

#include "commands.h"
#include "monitor/monitor-event.h"
#include "monitor/monitor-snapshot.h"
#include "session/session-run.h"
#include "session/slots.h"
#include "session/workspace.h"
#include "util.h"

static bool exists(struct container_store *s, const char *name)
{
        _cleanup_(container_info_freep) struct container_info *info = NULL;
        struct coi_error e = { 0 };
        return container_info_get(s, name, &info, &e) == 0;
}

/* As code-on-incus: the argument, then $COI_CONTAINER, then the workspace's only container. */
static int resolve(struct container_store *s, const struct cli_call *call, char **ret)
{
        const char *env = getenv("COI_CONTAINER");
        if (call->nargs > 0 || (env && *env)) {
                const char *name = call->nargs > 0 ? call->args[0] : env;
                if (!exists(s, name))
                        return cli_error(1, "container '%s'%s not found", name,
                                         call->nargs > 0 ? "" : " from COI_CONTAINER");
                *ret = strdup(name);
                return *ret ? 0 : cli_error(1, "out of memory");
        }
        struct coi_error err = { 0 };
        _cleanup_(workspace_freep) struct workspace *ws = NULL;
        if (workspace_resolve(cli_str(call, "workspace"), NULL, &ws, &err) < 0)
                return cli_error(1, "%s", err.msg);
        _cleanup_strv_ char **found = NULL;
        for (int slot = 1; slot <= SLOT_MAX; slot++) {
                _cleanup_free_ char *name = workspace_container_name(ws->path, slot, NULL);
                if (!name || (exists(s, name) && strv_push(&found, name) < 0))
                        return cli_error(1, "out of memory");
        }
        size_t n = strv_length(found);
        if (n == 0)
                return cli_error(
                        1, "no COI containers found for current workspace - pass container name as argument");
        if (n > 1) {
                char list[512] = "";
                for (size_t k = 0; k < n; k++)
                        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", k ? ", " : "",
                                 found[k]);
                return cli_error(
                        1, "multiple COI containers found for workspace, pass container name as argument: %s",
                        list);
        }
        *ret = strdup(found[0]);
        return *ret ? 0 : cli_error(1, "out of memory");
}

static int cmd_monitor(const struct cli_call *call)
{
        bool json = cli_bool(call, "json") || streq(cli_str(call, "format"), "json");
        long long watch = cli_int(call, "watch");
        if (json && watch > 0)
                return cli_error(2, "--format json is not supported with --watch");
        if (watch < 0)
                return cli_error(2, "--watch must be 0 or more seconds");
        struct coi_error err = { 0 };
        _cleanup_(container_store_freep) struct container_store *store = NULL;
        if (container_store_open(&store, &err) < 0)
                return cli_error(1, "%s", err.msg);
        _cleanup_free_ char *name = NULL;
        int r = resolve(store, call, &name);
        if (r)
                return r;
        _cleanup_free_ char *audit = session_audit_dir();
        if (!audit)
                return cli_error(1, "out of memory");
        fprintf(stderr, "Monitoring container: %s\n", name);
        for (;;) {
                _cleanup_free_ char *out = NULL;
                if (monitor_snapshot(store, name, audit, json, &out, &err) < 0)
                        return cli_error(1, "%s", err.msg);
                if (watch > 0)
                        fputs("\033[2J\033[H", stdout);
                fputs(out, stdout);
                if (!out[0] || out[strlen(out) - 1] != '\n')
                        fputc('\n', stdout);
                if (watch <= 0)
                        return 0;
                char now[32];
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                monitor_time_format((int64_t)ts.tv_sec * 1000, now);
                printf("\nLast updated: %s | Ctrl+C to exit\n", now);
                fflush(stdout);
                sleep((unsigned)watch);
        }
}

static const struct cli_flag monitor_flags[] = {
        CLI_FLAG_FORMAT_TEXT_JSON,
        { .name = "json", .type = CLI_BOOL, .help = "same as --format json" },
        { .name = "watch", .type = CLI_INT, .def = "0", .help = "refresh every N seconds (0 = once)" },
        { 0 },
};

const struct cli_command cli_cmd_monitor = {
        .name = "monitor",
        .use = "[container]",
        .summary = "Show a container's security monitoring snapshot",
        .description =
                "Show a container's security state: whether its monitor runs, its processes and\n"
                "network connections, its usage against each limit, and the latest events of its\n"
                "audit log (~/.coi/audit/NAME.jsonl).\n"
                "\n"
                "The container is the argument, else $COI_CONTAINER, else the workspace's one container.\n"
                "The monitor itself starts with the container when [monitoring] enabled = true.",
        .flags = monitor_flags,
        .args = CLI_ARGS_ANY,
        .run = cmd_monitor,
};

/* ---- audit ---- */

/* "30s", "15m", "2h", "7d" before now, or an RFC 3339 time. */
static int parse_since(const char *s, int64_t *ret)
{
        if (monitor_time_parse(s, ret) == 0)
                return 0;
        char *end;
        long long n = strtoll(s, &end, 10);
        long long unit = streq(end, "s")   ? 1
                         : streq(end, "m") ? 60
                         : streq(end, "h") ? 3600
                         : streq(end, "d") ? 86400
                                           : 0;
        if (end == s || n < 0 || !unit)
                return -EINVAL;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        *ret = ((int64_t)ts.tv_sec - n * unit) * 1000;
        return 0;
}

static int print_entry(const struct monitor_audit_entry *e, void *data)
{
        bool json = *(bool *)data;
        if (json) {
                puts(e->line);
                return 0;
        }
        char when[32], level[16];
        monitor_time_format(e->time_ms, when);
        snprintf(level, sizeof(level), "%s", monitor_level_to_string(e->level));
        for (char *p = level; *p; p++)
                *p = (char)(*p - 'a' + 'A');
        printf("%s  %-8s %-20s %-10s %s: %s [%s]\n", when, level, e->container ? e->container : "",
               e->category ? e->category : "", e->title ? e->title : "", e->description ? e->description : "",
               e->action ? e->action : "");
        return 0;
}

static int cmd_audit(const struct cli_call *call)
{
        struct monitor_audit_filter f = { 0 };
        const char *since = cli_str(call, "since"), *level = cli_str(call, "level");
        if (*since && parse_since(since, &f.since_ms) < 0)
                return cli_error(2, "invalid --since '%s': a duration (30s, 15m, 2h, 7d) or an RFC 3339 time",
                                 since);
        if (*level && monitor_level_from_string(level, &f.level) < 0)
                return cli_error(2, "invalid --level '%s': must be info, warning, high or critical", level);
        bool json = streq(cli_str(call, "format"), "json");
        _cleanup_free_ char *dir = session_audit_dir();
        if (!dir)
                return cli_error(1, "out of memory");
        _cleanup_strv_ char **names = NULL;
        if (call->nargs > 0) {
                if (strv_push(&names, call->args[0]) < 0)
                        return cli_error(1, "out of memory");
        } else {
                _cleanup_closedir_ DIR *d = opendir(dir);
                struct dirent *de;
                while (d && (de = readdir(d))) {
                        size_t l = strlen(de->d_name);
                        if (l > 6 && streq(de->d_name + l - 6, ".jsonl")) {
                                de->d_name[l - 6] = '\0';
                                if (strv_push(&names, de->d_name) < 0)
                                        return cli_error(1, "out of memory");
                        }
                }
        }
        struct coi_error err = { 0 };
        for (char **n = names; n && *n; n++) {
                _cleanup_free_ char *path = monitor_audit_path(dir, *n);
                if (!path || monitor_audit_read(path, &f, print_entry, &json, &err) < 0)
                        return cli_error(1, "%s", path ? err.msg : "out of memory");
        }
        return 0;
}

static const char *const audit_formats[] = { "text", "json", NULL };

static const struct cli_flag audit_flags[] = {
        { .name = "since",
          .type = CLI_STRING,
          .help = "only events after this: 30s, 15m, 2h, 7d or an RFC 3339 time" },
        { .name = "level",
          .type = CLI_STRING,
          .help = "only events of at least this level: info, warning, high, critical" },
        { .name = "format",
          .type = CLI_STRING,
          .def = "text",
          .choices = audit_formats,
          .help = "text or json (one JSON object a line, as stored)" },
        { 0 },
};

const struct cli_command cli_cmd_audit = {
        .name = "audit",
        .use = "[container]",
        .summary = "Show the security monitor's audit log",
        .description = "Show the events the security monitor recorded (~/.coi/audit/NAME.jsonl): of one\n"
                       "container, or of every container when none is named, oldest first.",
        .flags = audit_flags,
        .args = CLI_ARGS_MAX,
        .n = 1,
        .run = cmd_audit,
};
