/* monitor-snapshot.h — `coi monitor`'s view of one container: status, whether its monitor runs,
 * processes, sockets, usage against each limit (container-limits.c's rows) and the latest events. */
#pragma once

#include "container/container.h"

#define MONITOR_SNAPSHOT_EVENTS 10

/* The snapshot of name as a JSON document (code-on-incus's field names where it has them) or as text;
 * allocated. -ENOENT when there is no such container. */
int monitor_snapshot(struct container_store *s, const char *name, const char *audit_dir, bool json,
                     char **ret, struct coi_error *err);
