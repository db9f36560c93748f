/* container-limits.h — a container's [limits.*]: limits.json (what every start applies), the host's
 * cgroup controllers checked against them, the disks io.max applies to, and usage against each limit
 * (`coi container info`). The max_duration watcher is container.c's (it stops the container). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config/limits.h"
#include "container.h"

struct container_store;

#define CONTAINER_LIMITS_FILE "limits.json"
#define CONTAINER_MAX_DISKS   8

/* What the host can't enforce of l: each missing controller with the key that needs it, or a disk rate
 * with no block device under the data dir. Filled by container_limits_check. */
struct container_limits_gaps {
        size_t n;
        char text[1024]; /* "memory (limits.memory.limit), io (limits.disk.read)" */
        char where[512]; /* "cgroup2 at /sys/fs/cgroup/unified (hybrid host: …)" */
};

/* Checks l against this host: the controllers of coi's cgroup2 hierarchy, and a block device under the
 * store's data dir for disk rates. Without gaps: 0. With gaps: l->best_effort ? those limits are removed
 * from l and *gaps says what (the caller warns once) : -ENOTSUP naming each controller and the key. */
int container_limits_check(struct container_store *s, struct limits *l, struct container_limits_gaps *gaps,
                           struct coi_error *err);

/* Records l (NULL: none) for every later start of name: limits.json in its directory. */
int container_set_limits(struct container_store *s, const char *name, const struct limits *l,
                         struct coi_error *err);
/* The same without taking the lock (a caller that holds it). */
int container_limits_save(int cdirfd, const char *name, const struct limits *l, struct coi_error *err);
/* limits.json of name: *ret_has false (and ret zeroed) when it has none. */
int container_limits_load(int cdirfd, const char *name, struct limits *ret, bool *ret_has,
                          struct coi_error *err);

/* The whole disks behind paths (partitions resolved to their disk; file systems without a block device,
 * such as tmpfs or overlayfs, skipped), without repeats. */
size_t container_limits_disks(const char *const *paths, size_t n, dev_t ret[CONTAINER_MAX_DISKS]);

/* One line of usage against a limit, for `coi container info`. */
struct container_limit_row {
        char resource[32]; /* "memory", "processes", … */
        char used[288];
        char limit[288];
};
#define CONTAINER_LIMIT_ROWS 12
/* Usage against each recorded limit of name: its cgroup cg (NULL: not running, usage "-") and init's
 * pid (0: none) are read; 0 rows when it has no limits. */
int container_limits_usage(int cdirfd, const char *name, const char *cg, pid_t init,
                           struct container_limit_row rows[CONTAINER_LIMIT_ROWS], size_t *ret_n,
                           struct coi_error *err);
