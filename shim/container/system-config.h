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
        const char *seccomp_json;    /* an OCI seccomp object (system_config_load_seccomp), or NULL */
        const char *seccomp_origin;  /* where it came from, for errors: a path or "built-in default" */
        const struct limits *limits; /* NULL: none; else linux.resources and the size of /tmp */
        const dev_t *io_devices;     /* the whole disks the disk rates apply to (io.max) */
        size_t n_io_devices;
};

#define SYSTEM_CGROUP_PARENT "/coi" /* cgroupsPath = /coi/NAME, under the cgroup2 mount */

/* The config document, allocated (free()). */
int system_config_json(const struct system_config *c, char **ret_json, struct coi_error *err);

/* The seccomp profile's text (free()) and where it came from: the file $COI_SECCOMP_PROFILE, else
 * /etc/coi/seccomp/default.json, else the default compiled into coi (seccomp-profiles/default.json of
 * the source tree it was built from), so an uninstalled build works from any directory. */
int system_config_load_seccomp(char **ret_json, const char **ret_origin, struct coi_error *err);

#define SECCOMP_OVERRIDE_PATH  "/etc/coi/seccomp/default.json"
#define SECCOMP_BUILTIN_ORIGIN "built-in default profile"
