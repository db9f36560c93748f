/* monitor-action.h — what the monitor does with a finding: writes it to the audit log, tells the user,
 * freezes the container on HIGH (cgroup.freeze) and kills it on CRITICAL (cgroup.kill, then a forced
 * stop that removes its network). The workspace is never touched. */
#pragma once

#include <stdbool.h>

#include "container/container.h"
#include "monitor-event.h"

struct monitor_responder {
        struct container_store *store;
        const char *name;
        const char *cgroup;    /* the container's cgroup2 directory */
        const char *audit_dir; /* ~/.coi/audit */
        int tty_fd;            /* the user's terminal, -1: none (stderr, the console log, always) */
        bool auto_pause_on_high, auto_kill_on_critical;
        bool killed;
};

/* Chooses ev's action from its level and the configuration, logs it, acts, and says so. Returns 1 once
 * the container was killed (the monitor's work is over), else 0. */
int monitor_respond(struct monitor_responder *r, struct monitor_event *ev);
/* cgroup.freeze of cg reads "1". */
bool monitor_cgroup_frozen(const char *cg);
