/* monitor.h — the security monitor of one container: a host-side process started with it (outside its
 * namespaces, so the agent can't stop it) that watches processes, sockets, DNS and credential reads,
 * and ends with the container's init. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "container/container.h"
#include "monitor-event.h"

struct monitor_config {
        const char *name;      /* the container */
        const char *audit_dir; /* ~/.coi/audit */
        const char *tty;       /* the user's terminal for alerts, NULL: none */
        bool auto_pause_on_high, auto_kill_on_critical;
        int poll_interval_sec;         /* io counters are compared over this window */
        double file_read_threshold_mb; /* MB read within poll_interval_sec: WARNING */
        double upload_threshold_mb;    /* MB sent within MONITOR_UPLOAD_WINDOW_MS: HIGH */
        int dns_query_threshold;       /* DNS queries a minute: WARNING */
};
#define MONITOR_TICK_MS          250 /* sockets, DNS log, counters */
#define MONITOR_UPLOAD_WINDOW_MS 10000
#define MONITOR_READY_TIMEOUT_MS 3000

/* Starts the monitor of the running container c->name as a daemon of its own and returns once it
 * watches (its marks and sockets in place), or with its error. A monitor already running for the
 * container is left alone. */
int monitor_start(struct container_store *s, const struct monitor_config *c, struct coi_error *err);
/* The pid of the monitor running for name, 0 when none. */
pid_t monitor_running(struct container_store *s, const char *name);
