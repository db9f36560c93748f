/* system-config.h — the OCI config.json of a system container (systemd as PID 1 in its own user, mount,
 * pid, uts, ipc, cgroup and network namespaces), generated as JSON for coi_container_create. */
#pragma once

#include "coi-runtime.h"
#include "idmap-alloc.h"

struct system_config {
        const char *name;            /* container name: hostname, cgroup /coi/NAME */
        const char *rootfs;          /* absolute path of the mounted overlay */
        struct idmap_allocation ids; /* the container's block of IDMAP_RANGE_SIZE ids */
        const char *seccomp_profile; /* path of an OCI seccomp object (seccomp-profiles/default.json) */
};

#define SYSTEM_CGROUP_PARENT "/coi" /* cgroupsPath = /coi/NAME, under the cgroup2 mount */

/* The config document, allocated (free()). */
int system_config_json(const struct system_config *c, char **ret_json, struct coi_error *err);

/* Where the default seccomp profile is: $COI_SECCOMP_PROFILE, /etc/coi/seccomp/default.json,
 * /usr/share/coi/seccomp-profiles/default.json, or seccomp-profiles/default.json of the source tree the
 * running binary was built in (build-dir/shim/coi → ../../seccomp-profiles). ENOENT naming them all. */
int system_config_find_seccomp(char **ret_path, struct coi_error *err);
