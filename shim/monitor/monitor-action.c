/* monitor-action.c — what the monitor does with a finding: writes it to the audit log, tells the user,
 * freezes the container on HIGH (cgroup.freeze) and kills it on CRITICAL (cgroup.kill, then a forced
 * stop that removes its network). The workspace is never touched. */
#include <stdarg.h>

#include "monitor-action.h"

bool monitor_cgroup_frozen(const char *cg)
{
        _cleanup_free_ char *path = xasprintf("%s/cgroup.freeze", cg);
        _cleanup_free_ char *data = NULL;
        struct coi_error e = { 0 };
        return path && read_file_at(AT_FDCWD, path, 16, &data, NULL, &e) == 0 && data[0] == '1';
}

static void say(struct monitor_responder *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct monitor_responder *r, const char *fmt, ...)
{
        char line[1024];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
        (void)write_all(STDERR_FILENO, line, len);
        if (r->tty_fd >= 0) {
                /* the terminal may be in raw mode under the agent: end the line with \r\n */
                (void)write_all(r->tty_fd, "\r\n", 2);
                for (size_t i = 0; i < len; i++)
                        (void)write_all(r->tty_fd, line[i] == '\n' ? "\r\n" : &line[i],
                                        line[i] == '\n' ? 2 : 1);
        }
}

/* cgroup.kill ends every process of the container at once (init included), from the host. */
static int kill_cgroup(const char *cg, struct coi_error *err)
{
        _cleanup_close_ int fd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return coi_error_set(err, errno, "open cgroup %s: %m", cg);
        return write_file_at(fd, "cgroup.kill", "1", err);
}

int monitor_respond(struct monitor_responder *r, struct monitor_event *ev)
{
        if (r->killed)
                return 1;
        const char *level = monitor_level_to_string(ev->level);
        bool pause = ev->level == MONITOR_HIGH && r->auto_pause_on_high;
        bool kill = ev->level == MONITOR_CRITICAL && r->auto_kill_on_critical;
        bool frozen = pause && monitor_cgroup_frozen(r->cgroup);
        snprintf(ev->action, sizeof(ev->action), "%s",
                 kill                       ? "killed"
                 : frozen                   ? "logged (already paused)"
                 : pause                    ? "paused"
                 : ev->level > MONITOR_INFO ? "alerted"
                                            : "logged");
        struct coi_error e = { 0 };
        /* logged before acting: the reason is on disk even if the action fails or we are killed */
        if (monitor_audit_append(r->audit_dir, ev, &e) < 0)
                say(r, "coi monitor: %s: audit log: %s\n", r->name, e.msg);
        if (ev->level > MONITOR_INFO)
                say(r, "coi monitor: [%s] %s: %s: %s\n", level, r->name, ev->title, ev->description);
        if (kill) {
                if (kill_cgroup(r->cgroup, &e) < 0)
                        say(r, "coi monitor: %s: kill: %s\n", r->name, e.msg);
                say(r,
                    "Container %s KILLED by the security monitor: %s. Its workspace is untouched; "
                    "see `coi audit %s`.\n",
                    r->name, ev->title, r->name);
                r->killed = true;
                /* the network, mounts and runtime state go with a forced stop */
                if (container_stop(r->store, r->name, 0, true, NULL, &e) < 0)
                        say(r, "coi monitor: %s: stop after kill: %s\n", r->name, e.msg);
                return 1;
        }
        if (pause && !frozen) {
                if (container_freeze(r->store, r->name, &e) < 0) {
                        say(r, "coi monitor: %s: freeze: %s\n", r->name, e.msg);
                        return 0;
                }
                say(r,
                    "Container %s FROZEN by the security monitor: %s.\n"
                    "  Look:   coi monitor %s   and   coi audit %s\n"
                    "  Resume: coi unfreeze %s\n",
                    r->name, ev->title, r->name, r->name, r->name);
        }
        return 0;
}
