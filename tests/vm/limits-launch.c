/* limits-launch.c — test-only (tests/vm): launches the system container NAME from IMAGE the way a session
 * does (container_launch: rootfs, limits, the max_duration watcher), with [limits.*] from the environment
 * (COI_LIMIT_*, $COI_CONFIG), no network, and returns once its init runs (no wait for systemd). */
#include <stdio.h>

#include "config/config.h"
#include "config/limits.h"
#include "container/container-limits.h"
#include "container/container.h"
#include "util.h"

int main(int argc, char **argv)
{
        if (argc != 3) {
                fprintf(stderr, "usage: limits-launch NAME IMAGE  (environment: COI_LIMIT_*, COI_CONFIG, "
                                "COI_DATA_DIR, COI_IMAGES_DIR, COI_RUNTIME_DIR)\n");
                return 2;
        }
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
        struct container_launch_options o = {
                .image = argv[2], .name = argv[1], .no_wait = true, .limits = limits_any(&l) ? &l : NULL
        };
        r = r ?: container_launch(store, &o, &err);
        if (r < 0) {
                fprintf(stderr, "limits-launch: %s\n", err.msg);
                return 1;
        }
        return 0;
}
