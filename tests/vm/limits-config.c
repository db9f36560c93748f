/* limits-config.c — test-only (tests/vm): prints the OCI config.json coi generates for a system container
 * NAME with root ROOTFS, taking [limits.*] from the environment (COI_LIMIT_*, $COI_CONFIG) through the
 * same calls as `coi shell`/`run` and a container start: config, limits, host check, disks, config. */
#include <stdio.h>

#include "config/config.h"
#include "config/limits.h"
#include "container/container-limits.h"
#include "container/seccomp-profile.h"
#include "container/system-config.h"
#include "util.h"

int main(int argc, char **argv)
{
        if (argc != 3) {
                fprintf(stderr, "usage: limits-config NAME ROOTFS  (environment: COI_LIMIT_*, COI_CONFIG, "
                                "COI_DATA_DIR)\n");
                return 2;
        }
        struct coi_error err = { 0 };
        _cleanup_(config_freep) struct config *cfg = NULL;
        _cleanup_(container_store_freep) struct container_store *store = NULL;
        struct config_load_options lo = { 0 };
        struct limits_host host;
        struct limits l;
        struct container_limits_gaps gaps;
        _cleanup_free_ char *seccomp = NULL, *json = NULL;
        const char *seccomp_origin = NULL;
        int r = config_load(&lo, &cfg, &err);
        r = r ?: limits_host_read(&host, &err);
        r = r ?: limits_from_config(cfg, &host, &l, &err);
        r = r ?: container_store_open(&store, &err);
        r = r ?: container_limits_check(store, &l, &gaps, &err);
        r = r ?: seccomp_profile_load(SECCOMP_PROFILE_DEFAULT, &seccomp, &seccomp_origin, &err);
        if (r < 0) {
                fprintf(stderr, "limits-config: %s\n", err.msg);
                return 1;
        }
        if (gaps.n)
                fprintf(stderr, "Warning: limits not enforced (best effort): %s missing; %s\n", gaps.text,
                        gaps.where);
        /* As start_locked: the disks behind the container's directory. */
        const char *data = getenv("COI_DATA_DIR");
        dev_t disks[CONTAINER_MAX_DISKS];
        size_t n_disks = data ? container_limits_disks(&data, 1, disks) : 0;
        struct system_config sc = { .name = argv[1],
                                    .rootfs = argv[2],
                                    .ids = { .uid = 100000, .gid = 100000 },
                                    .seccomp_json = seccomp,
                                    .seccomp_origin = seccomp_origin,
                                    .limits = limits_any(&l) ? &l : NULL,
                                    .io_devices = disks,
                                    .n_io_devices = n_disks };
        if (system_config_json(&sc, &json, &err) < 0) {
                fprintf(stderr, "limits-config: %s\n", err.msg);
                return 1;
        }
        puts(json);
        return 0;
}
