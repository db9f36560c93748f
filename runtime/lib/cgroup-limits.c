/* cgroup-limits.c — OCI linux.resources onto cgroup v2 files (memory.max, cpu.weight, io.max, unified …),
 * with runc's unit conversions; a missing controller is an error naming it, or a warning in best effort. */
#include <inttypes.h>
#include <stdio.h>

#include "cgroup-internal.h"
#include "util.h"

/* Writes limits into one cgroup; the first failure is kept in r and stops every later write. */
struct limit_writer {
        struct coi_context *ctx;
        int dirfd;
        const char *path;
        const char *available; /* this cgroup's cgroup.controllers */
        const struct cgroup_hierarchy *h;
        bool best_effort;
        int r;
        struct coi_error *err;
};

/* controller: the one providing file (NULL for cgroup core files). */
static void write_limit(struct limit_writer *w, const char *controller, const char *file, const char *value)
{
        if (w->r < 0)
                return;
        if (controller && !cgroup_list_has(w->available, controller)) {
                char why[512];
                if (!cgroup_list_has(w->h->controllers, controller))
                        snprintf(why, sizeof(why),
                                 "cgroup controller \"%s\" is not available in the cgroup2 hierarchy at %s%s",
                                 controller, w->h->mount_point,
                                 w->h->layout == CGROUP_LAYOUT_HYBRID
                                         ? " (hybrid host: the v1 hierarchies own it)"
                                         : "");
                else
                        snprintf(why, sizeof(why),
                                 "cgroup controller \"%s\" is not enabled for %s: its parent's "
                                 "cgroup.subtree_control lacks it (cgroup v2 refuses to enable controllers "
                                 "below a group that holds processes itself)",
                                 controller, w->path);
                if (w->best_effort)
                        log_warning(w->ctx, "%s; not applying %s=%s (best effort)", why, file, value);
                else
                        w->r = coi_error_set(w->err, ENOTSUP, "%s; needed for %s=%s", why, file, value);
                return;
        }

        _cleanup_close_ int fd = openat(w->dirfd, file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 && errno == ENOENT)
                w->r = coi_error_set(w->err, ENOTSUP, "set %s/%s=%s: this kernel has no such cgroup file",
                                     w->path, file, value);
        else if (fd < 0)
                w->r = coi_error_set(w->err, errno, "open %s/%s: %m", w->path, file);
        else if ((w->r = write_all(fd, value, strlen(value))) < 0)
                w->r = coi_error_set(w->err, -w->r, "write \"%s\" to %s/%s: %m", value, w->path, file);
        else
                log_debug(w->ctx, "cgroup %s: %s=%s", w->path, file, value);
}

/* OCI's swap is memory+swap (v1's memsw); v2's memory.swap.max is swap alone. Same rules as runc. */
static int swap_max_value(const struct oci_resources *res, char *buf, size_t size, struct coi_error *err)
{
        int64_t mem = res->has_memory_limit ? res->memory_limit : 0;
        int64_t swap = res->memory_swap;
        if (swap == -1 || (mem == -1 && swap == 0)) {
                snprintf(buf, size, "max");
                return 1;
        }
        if (swap == 0)
                return 0; /* unset */
        if (mem <= 0)
                return coi_error_set(err, EINVAL,
                                     "linux.resources.memory.swap=%" PRId64 " needs a memory limit", swap);
        if (swap < mem)
                return coi_error_set(err, EINVAL,
                                     "linux.resources.memory.swap=%" PRId64 " is below memory.limit=%" PRId64
                                     " (swap is memory+swap)",
                                     swap, mem);
        snprintf(buf, size, "%" PRId64, swap - mem);
        return 1;
}

static const char *limit_or_max(int64_t v, char *buf, size_t size)
{
        if (v < 0)
                return "max";
        snprintf(buf, size, "%" PRId64, v);
        return buf;
}

/* OCI blkio weights are 10…1000 (v1); io.weight is 1…10000. */
static uint64_t blkio_weight_to_io(uint64_t w)
{
        w = w < 10 ? 10 : w > 1000 ? 1000 : w;
        return 1 + (w - 10) * 9999 / 990;
}

/* Files the runtime itself drives: a config must not move, freeze or kill processes through them. */
static int check_unified_key(const char *key, struct coi_error *err)
{
        static const char *const owned[] = { "cgroup.procs", "cgroup.threads", "cgroup.kill",
                                             "cgroup.freeze" };
        const char *dot = strchr(key, '.');
        if (!key[0] || strchr(key, '/') || !dot || dot == key || streq(key, ".."))
                return coi_error_set(err, EINVAL,
                                     "linux.resources.unified: key \"%s\" is not a plain cgroup file name "
                                     "(\"controller.name\")",
                                     key);
        for (size_t i = 0; i < ELEMENTSOF(owned); i++)
                if (streq(key, owned[i]))
                        return coi_error_set(
                                err, EPERM, "linux.resources.unified: \"%s\" is managed by the runtime", key);
        return 0;
}

int cgroup_apply_resources(struct coi_context *ctx, int dirfd, const char *path,
                           const struct oci_resources *res, bool best_effort, struct coi_error *err)
{
        struct cgroup_hierarchy h;
        char buf[128];
        int r;

        if (!res)
                return 0;
        for (char **kv = res->unified; kv && kv[0] && kv[1]; kv += 2) {
                r = check_unified_key(kv[0], err);
                if (r < 0)
                        return r;
        }
        r = cgroup_hierarchy_detect(&h, err);
        if (r < 0)
                return r;
        _cleanup_close_ int own_fd = -1;
        dirfd = cgroup_dir_fd(dirfd, path, "write limits", &own_fd, err);
        if (dirfd < 0)
                return dirfd;
        _cleanup_free_ char *available = NULL;
        r = cgroup_read_controllers(dirfd, path, &available, err);
        if (r < 0)
                return r;
        struct limit_writer w = {
                .ctx = ctx,
                .dirfd = dirfd,
                .path = path,
                .available = available,
                .h = &h,
                .best_effort = best_effort,
                .err = err,
        };

        /* memory: 0 means unset (as runc), -1 unlimited */
        if (res->has_memory_limit && res->memory_limit > 0 && res->has_memory_check_before_update &&
            res->memory_check_before_update && cgroup_list_has(available, "memory")) {
                /* checkBeforeUpdate: a limit below what the group uses now would OOM it at once. */
                _cleanup_free_ char *cur = NULL;
                if (read_file_at(dirfd, "memory.current", 64, &cur, NULL, NULL) == 0 &&
                    strtoll(cur, NULL, 10) > res->memory_limit)
                        return coi_error_set(err, EBUSY,
                                             "%s: memory.limit=%" PRId64 " is below the current usage "
                                             "(memory.current=%lld) and checkBeforeUpdate is set",
                                             path, res->memory_limit, strtoll(cur, NULL, 10));
        }
        if (res->has_memory_limit && res->memory_limit != 0)
                write_limit(&w, "memory", "memory.max", limit_or_max(res->memory_limit, buf, sizeof(buf)));
        if (res->has_memory_reservation && res->memory_reservation != 0)
                write_limit(&w, "memory", "memory.low",
                            limit_or_max(res->memory_reservation, buf, sizeof(buf)));
        if (res->has_memory_swap && w.r == 0) {
                w.r = swap_max_value(res, buf, sizeof(buf), err);
                if (w.r > 0) {
                        w.r = 0;
                        write_limit(&w, "memory", "memory.swap.max", buf);
                }
        }
        if (res->has_memory_kernel)
                log_warning(ctx, "cgroup %s: memory.kernel has no cgroup v2 equivalent; ignored", path);
        if (res->has_memory_swappiness)
                log_warning(ctx,
                            "cgroup %s: memory.swappiness=%" PRIu64 " has no cgroup v2 equivalent; ignored",
                            path, res->memory_swappiness);
        if (res->has_memory_disable_oom_killer && res->memory_disable_oom_killer)
                log_warning(ctx, "cgroup %s: memory.disableOOMKiller has no cgroup v2 equivalent; ignored",
                            path);

        /* cpu: shares 2…262144 map onto weight 1…10000 (crun's formula) */
        if (res->has_cpu_shares && res->cpu_shares != 0) {
                uint64_t s = res->cpu_shares < 2 ? 2 : res->cpu_shares > 262144 ? 262144 : res->cpu_shares;
                snprintf(buf, sizeof(buf), "%" PRIu64, 1 + ((s - 2) * 9999) / 262142);
                write_limit(&w, "cpu", "cpu.weight", buf);
        }
        if ((res->has_cpu_quota && res->cpu_quota != 0) || (res->has_cpu_period && res->cpu_period != 0)) {
                size_t n = (size_t)snprintf(buf, sizeof(buf),
                                            res->has_cpu_quota && res->cpu_quota > 0 ? "%" PRId64 : "max",
                                            res->cpu_quota);
                /* without a period the kernel keeps the current one */
                if (res->has_cpu_period && res->cpu_period != 0)
                        snprintf(buf + n, sizeof(buf) - n, " %" PRIu64, res->cpu_period);
                write_limit(&w, "cpu", "cpu.max", buf);
        }
        if (res->has_cpu_burst) {
                snprintf(buf, sizeof(buf), "%" PRIu64, res->cpu_burst);
                write_limit(&w, "cpu", "cpu.max.burst", buf);
        }
        if (res->has_cpu_idle) {
                snprintf(buf, sizeof(buf), "%" PRId64, res->cpu_idle);
                write_limit(&w, "cpu", "cpu.idle", buf);
        }
        if (res->cpu_cpus && res->cpu_cpus[0])
                write_limit(&w, "cpuset", "cpuset.cpus", res->cpu_cpus);
        if (res->cpu_mems && res->cpu_mems[0])
                write_limit(&w, "cpuset", "cpuset.mems", res->cpu_mems);

        /* pids: 0 means unset (as runc), negative unlimited */
        if (res->has_pids_limit && res->pids_limit != 0)
                write_limit(&w, "pids", "pids.max", limit_or_max(res->pids_limit, buf, sizeof(buf)));

        /* io: weights, then one io.max line per throttle entry */
        if (res->has_io_weight && res->io_weight != 0) {
                snprintf(buf, sizeof(buf), "default %" PRIu64, blkio_weight_to_io(res->io_weight));
                write_limit(&w, "io", "io.weight", buf);
        }
        for (size_t i = 0; i < res->n_io_devices && w.r == 0; i++) {
                const struct oci_io_device *d = &res->io_devices[i];
                const char *key = d->kind == 'r'   ? "rbps"
                                  : d->kind == 'W' ? "wbps"
                                  : d->kind == 'i' ? "riops"
                                  : d->kind == 'o' ? "wiops"
                                                   : NULL;
                if (d->kind == 'w') {
                        snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %" PRIu64, d->major, d->minor,
                                 blkio_weight_to_io(d->weight));
                        write_limit(&w, "io", "io.weight", buf);
                } else if (key) {
                        snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %s=%" PRIu64, d->major, d->minor,
                                 key, d->rate);
                        write_limit(&w, "io", "io.max", buf);
                } else {
                        return coi_error_set(err, EINVAL, "linux.resources.blockIO: unknown entry kind '%c'",
                                             d->kind);
                }
        }

        /* unified: verbatim, to a file directly in this directory (keys checked above) */
        for (char **kv = res->unified; kv && kv[0] && kv[1]; kv += 2) {
                char controller[64];
                snprintf(controller, sizeof(controller), "%.*s", (int)strcspn(kv[0], "."), kv[0]);
                write_limit(&w, streq(controller, "cgroup") ? NULL : controller, kv[0], kv[1]);
        }

        if (res->has_devices && !res->devices_allow_all)
                log_debug(ctx,
                          "cgroup %s: the device allow list is not enforced through cgroup v2 (eBPF); the "
                          "container's /dev holds only the devices it is given",
                          path);
        return w.r;
}
