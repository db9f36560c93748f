/* system-config.h — the OCI config.json of a system container (systemd as PID 1 in its own user, mount,
 * pid, uts, ipc, cgroup and network namespaces), generated as JSON for coi_container_create. */
#pragma once

#include <sys/types.h>

#include "coi-runtime.h"
#include "config/limits.h"
#include "idmap-alloc.h"

struct system_config {
        const char *name;            /* container name: hostname, cgroup /coi/NAME */
        const char *rootfs;          /* absolute path of the mounted overlay */
        struct idmap_allocation ids; /* the container's block of IDMAP_RANGE_SIZE ids */
        const char *seccomp_json;    /* an OCI seccomp object (seccomp_profile_load), or NULL */
        const char *seccomp_origin;  /* where it came from, for errors: a path or "built-in default" */
        bool lock_mounts;            /* run.coi.lock-mounts: masks and read-only paths can't be undone
                                      * inside, but no new proc/sysfs mount either (no nesting) */
        const struct limits *limits; /* NULL: none; else linux.resources and the size of /tmp */
        const dev_t *io_devices;     /* the whole disks the disk rates apply to (io.max) */
        size_t n_io_devices;
};

#define SYSTEM_CGROUP_PARENT "/coi" /* cgroupsPath = /coi/NAME, under the cgroup2 mount */

/* The config document, allocated (free()). */
int system_config_json(const struct system_config *c, char **ret_json, struct coi_error *err);
