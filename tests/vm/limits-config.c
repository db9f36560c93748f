/* limits-config.c — test-only (tests/vm), with [limits.*] from the environment (COI_LIMIT_*, $COI_CONFIG)
 * through the same calls as `coi shell`/`run`:
 *   limits-config NAME ROOTFS           prints the OCI config.json coi generates for system container NAME
 *   limits-config --launch NAME IMAGE   launches NAME from IMAGE as a session does (container_launch: rootfs,
 *                                       limits record, the max_duration watcher), no network, no wait. */
#include <stdio.h>

#include "config/config.h"
#include "config/limits.h"
#include "container/container-limits.h"
#include "container/container.h"
#include "container/seccomp-profile.h"
#include "container/system-config.h"
#include "util.h"

static int print_config(struct container_store *store, const struct limits *l, const char *name,
                        const char *rootfs, struct coi_error *err)
{
        _cleanup_free_ char *seccomp = NULL, *json = NULL;
        const char *seccomp_origin = NULL;
        int r = seccomp_profile_load(SECCOMP_PROFILE_DEFAULT, &seccomp, &seccomp_origin, err);
        if (r < 0)
                return r;
        /* As start_locked: the disks behind the container's directory. */
        const char *data = getenv("COI_DATA_DIR");
        dev_t disks[CONTAINER_MAX_DISKS];
        size_t n_disks = data ? container_limits_disks(&data, 1, disks) : 0;
        struct system_config sc = { .name = name,
                                    .rootfs = rootfs,
                                    .ids = { .uid = 100000, .gid = 100000 },
                                    .seccomp_json = seccomp,
                                    .seccomp_origin = seccomp_origin,
                                    .limits = limits_any(l) ? l : NULL,
                                    .io_devices = disks,
                                    .n_io_devices = n_disks };
        r = system_config_json(&sc, &json, err);
        if (r == 0)
                puts(json);
        return r;
}

int main(int argc, char **argv)
{
        bool launch = argc == 4 && streq(argv[1], "--launch");
        if (argc != 3 && !launch) {
                fprintf(stderr, "usage: limits-config NAME ROOTFS | --launch NAME IMAGE  (environment: "
                                "COI_LIMIT_*, COI_CONFIG, COI_DATA_DIR, COI_IMAGES_DIR, COI_RUNTIME_DIR)\n");
                return 2;
        }
        const char *name = argv[argc - 2], *where = argv[argc - 1];
        struct coi_error err = { 0 };
        _cleanup_(config_freep) struct config *cfg = NULL;
        _cleanup_(container_store_freep) struct container_store *store = NULL;
        struct config_load_options lo = { 0 };
        struct limits_host host;
        struct limits l;
        struct container_limits_gaps gaps;
        int r = config_load(&lo, &cfg, &err);
        r = r ?: limits_host_read(&host, &err);
        r = r ?: limits_from_config(cfg, &host, &l, &err);
        r = r ?: container_store_open(&store, &err);
        r = r ?: container_limits_check(store, &l, &gaps, &err);
        if (r == 0 && gaps.n)
                fprintf(stderr, "Warning: limits not enforced (best effort): %s missing; %s\n", gaps.text,
                        gaps.where);
        struct container_launch_options o = {
                .image = where, .name = name, .no_wait = true, .limits = limits_any(&l) ? &l : NULL
        };
        if (r == 0)
                r = launch ? container_launch(store, &o, &err) : print_config(store, &l, name, where, &err);
        if (r < 0) {
                fprintf(stderr, "limits-config: %s\n", err.msg);
                return 1;
        }
        return 0;
}
