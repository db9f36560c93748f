/* system-config.c — builds the OCI config of a system container with yajl_gen: namespaces, id maps,
 * mounts for systemd, masked/read-only /proc and /sys paths, capabilities, seccomp, delegated cgroup and
 * its limits (linux.resources). */
#include <dirent.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <sys/sysmacros.h>

#include "json-util.h"
#include "system-config.h"
#include "util.h"

/* As runc and LXC hide them: host-wide information or knobs a container has no business with. */
static const char *const masked_paths[] = {
        "/proc/acpi",          "/proc/asound",        "/proc/interrupts", "/proc/kcore",
        "/proc/keys",          "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
        "/proc/sched_debug",   "/proc/scsi",          "/sys/firmware",    "/sys/devices/virtual/powercap",
        "/proc/sysrq-trigger",
};

static const char *const readonly_paths[] = {
        "/proc/bus",
        "/proc/fs",
        "/proc/irq",
};

struct mount_entry {
        const char *destination, *type, *source;
        const char *options[8];
};

/* In order: later mounts go on top of earlier ones. */
static const struct mount_entry mounts[] = {
        { "/proc", "proc", "proc", { "nosuid", "noexec", "nodev" } },
        { "/sys", "sysfs", "sysfs", { "nosuid", "noexec", "nodev", "ro" } },
        /* Read-write: the cgroup namespace is rooted at the container's delegated group. */
        { "/sys/fs/cgroup", "cgroup2", "cgroup2", { "nosuid", "noexec", "nodev", "rw" } },
        { "/dev", "tmpfs", "tmpfs", { "nosuid", "strictatime", "mode=755", "size=65536k" } },
        { "/dev/pts",
          "devpts",
          "devpts",
          { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" } },
        { "/dev/shm", "tmpfs", "shm", { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" } },
        { "/dev/mqueue", "mqueue", "mqueue", { "nosuid", "noexec", "nodev" } },
        { "/run", "tmpfs", "tmpfs", { "nosuid", "nodev", "mode=755", "size=20%" } },
        { "/run/lock", "tmpfs", "tmpfs", { "nosuid", "nodev", "noexec", "mode=1777", "size=5m" } },
        { "/tmp", "tmpfs", "tmpfs", { "nosuid", "nodev", "mode=1777" } },
};

/* Capabilities only the host's user namespace can use (the kernel checks them against the initial
 * namespace: raw I/O ports, modules, the clock, LSM policy), dropped from every set as LXC and Incus
 * drop them (nspawn's default set lacks them too). Their absence is what systemd reads as "a container":
 * sys-kernel-debug.mount and sys-kernel-tracing.mount (ConditionCapability=CAP_SYS_RAWIO),
 * systemd-modules-load and modprobe@ (CAP_SYS_MODULE) are skipped instead of failing, so a stock
 * image boots to `running` unchanged. */
static const char *const dropped_caps[] = { "CAP_SYS_RAWIO", "CAP_SYS_MODULE", "CAP_SYS_TIME",
                                            "CAP_MAC_ADMIN", "CAP_MAC_OVERRIDE" };

static const char *const namespaces[] = { "user", "mount", "pid", "uts", "ipc", "cgroup", "network" };

/* Each helper returns true on success so a whole object is one && chain; short names keep it readable. */
static bool s(yajl_gen g, const char *str)
{
        return json_gen_str(g, str);
}

static bool num(yajl_gen g, long long v)
{
        return yajl_gen_integer(g, v) == yajl_gen_status_ok;
}

static bool boolean(yajl_gen g, bool v)
{
        return yajl_gen_bool(g, v) == yajl_gen_status_ok;
}

static bool map_open(yajl_gen g)
{
        return yajl_gen_map_open(g) == yajl_gen_status_ok;
}

static bool map_close(yajl_gen g)
{
        return yajl_gen_map_close(g) == yajl_gen_status_ok;
}

static bool arr_open(yajl_gen g)
{
        return yajl_gen_array_open(g) == yajl_gen_status_ok;
}

static bool arr_close(yajl_gen g)
{
        return yajl_gen_array_close(g) == yajl_gen_status_ok;
}

static bool str_array(yajl_gen g, const char *const *v, size_t n)
{
        bool ok = arr_open(g);
        for (size_t i = 0; ok && i < n && v[i]; i++)
                ok = s(g, v[i]);
        return ok && arr_close(g);
}

/* Re-emits a parsed JSON value (the seccomp profile) into the document being generated. */
static bool copy_value(yajl_gen g, yajl_val v)
{
        switch (v->type) {
        case yajl_t_string:
                return s(g, v->u.string);
        case yajl_t_number:
                return yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r)) == yajl_gen_status_ok;
        case yajl_t_true:
                return boolean(g, true);
        case yajl_t_false:
                return boolean(g, false);
        case yajl_t_null:
                return yajl_gen_null(g) == yajl_gen_status_ok;
        case yajl_t_object: {
                bool ok = map_open(g);
                for (size_t i = 0; ok && i < v->u.object.len; i++)
                        ok = s(g, v->u.object.keys[i]) && copy_value(g, v->u.object.values[i]);
                return ok && map_close(g);
        }
        case yajl_t_array: {
                bool ok = arr_open(g);
                for (size_t i = 0; ok && i < v->u.array.len; i++)
                        ok = copy_value(g, v->u.array.values[i]);
                return ok && arr_close(g);
        }
        default:
                return false;
        }
}

static bool id_mapping(yajl_gen g, uint32_t host)
{
        return arr_open(g) && map_open(g) && s(g, "containerID") && num(g, 0) && s(g, "hostID") &&
               num(g, host) && s(g, "size") && num(g, IDMAP_RANGE_SIZE) && map_close(g) && arr_close(g);
}

static bool capability_dropped(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(dropped_caps); i++)
                if (streq(name, dropped_caps[i]))
                        return true;
        return false;
}

static bool gen_process(yajl_gen g)
{
        static const char *const env[] = {
                "container=coi", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        };
        static const char *const args[] = { "/sbin/init" };
        bool ok = s(g, "process") && map_open(g) && s(g, "terminal") && boolean(g, false) && s(g, "user") &&
                  map_open(g) && s(g, "uid") && num(g, 0) && s(g, "gid") && num(g, 0) && map_close(g) &&
                  s(g, "args") && str_array(g, args, ELEMENTSOF(args)) && s(g, "env") &&
                  str_array(g, env, ELEMENTSOF(env)) && s(g, "cwd") && s(g, "/") && s(g, "capabilities") &&
                  map_open(g);
        /* Every capability the kernel knows but the few of dropped_caps: everything is confined to the
         * container's user namespace, so a capability only reaches what that namespace owns. */
        char caps[COI_CAPABILITY_MAX][COI_CAPABILITY_NAME_MAX];
        const char *all_caps[COI_CAPABILITY_MAX];
        size_t n_known = coi_capability_names(caps, COI_CAPABILITY_MAX), n_caps = 0;
        for (size_t i = 0; i < n_known; i++)
                if (!capability_dropped(caps[i]))
                        all_caps[n_caps++] = caps[i];
        static const char *const sets[] = { "bounding", "effective", "permitted" };
        for (size_t i = 0; ok && i < ELEMENTSOF(sets); i++)
                ok = s(g, sets[i]) && str_array(g, all_caps, n_caps);
        /* systemd runs setuid programs (su, newuidmap …): no_new_privs stays off. */
        return ok && map_close(g) && s(g, "noNewPrivileges") && boolean(g, false) && map_close(g);
}

static bool gen_mounts(yajl_gen g, const struct limits *l)
{
        bool ok = s(g, "mounts") && arr_open(g);
        for (size_t i = 0; ok && i < ELEMENTSOF(mounts); i++) {
                const struct mount_entry *m = &mounts[i];
                const char *options[ELEMENTSOF(m->options) + 1];
                size_t n = 0;
                for (; n < ELEMENTSOF(m->options) && m->options[n]; n++)
                        options[n] = m->options[n];
                /* [limits.disk] tmpfs_size: the size of /tmp. */
                char size[64];
                if (l && l->tmpfs_size[0] && streq(m->destination, "/tmp")) {
                        snprintf(size, sizeof(size), "size=%s", l->tmpfs_size);
                        options[n++] = size;
                }
                ok = map_open(g) && s(g, "destination") && s(g, m->destination) && s(g, "type") &&
                     s(g, m->type) && s(g, "source") && s(g, m->source) && s(g, "options") &&
                     str_array(g, options, n) && map_close(g);
        }
        return ok && arr_close(g);
}

static bool unsigned_str(yajl_gen g, const char *key, const char *prefix, uint64_t v)
{
        char buf[64];
        snprintf(buf, sizeof(buf), "%s%" PRIu64, prefix, v);
        return s(g, key) && s(g, buf);
}

/* One throttle list of blockIO: the same rate on every device. */
static bool io_list(yajl_gen g, const char *name, uint64_t rate, const struct system_config *c)
{
        if (!rate)
                return true;
        bool ok = s(g, name) && arr_open(g);
        for (size_t i = 0; ok && i < c->n_io_devices; i++)
                ok = map_open(g) && s(g, "major") && num(g, major(c->io_devices[i])) && s(g, "minor") &&
                     num(g, minor(c->io_devices[i])) && s(g, "rate") && num(g, (long long)rate) &&
                     map_close(g);
        return ok && arr_close(g);
}

/* [limits.*] as linux.resources (docs/limits.md has the table). What OCI has a field for goes there;
 * memory.high, memory.swap.max, cpu.weight and io.weight, which it lacks or words for cgroup v1, go
 * to "unified" verbatim. */
static bool gen_resources(yajl_gen g, const struct system_config *c)
{
        const struct limits *l = c->limits;
        bool ok = s(g, "resources") && map_open(g);
        if (l->memory_bytes && l->memory_hard)
                ok = ok && s(g, "memory") && map_open(g) && s(g, "limit") &&
                     num(g, (long long)l->memory_bytes) && map_close(g);
        if (l->cpu_quota_us || l->cpuset[0]) {
                ok = ok && s(g, "cpu") && map_open(g);
                if (l->cpu_quota_us)
                        ok = ok && s(g, "quota") && num(g, (long long)l->cpu_quota_us) && s(g, "period") &&
                             num(g, (long long)l->cpu_period_us);
                if (l->cpuset[0])
                        ok = ok && s(g, "cpus") && s(g, l->cpuset);
                ok = ok && map_close(g);
        }
        if (l->max_processes)
                ok = ok && s(g, "pids") && map_open(g) && s(g, "limit") && num(g, l->max_processes) &&
                     map_close(g);
        bool rates = l->read.bps || l->read.iops || l->write.bps || l->write.iops;
        if (rates && c->n_io_devices)
                ok = ok && s(g, "blockIO") && map_open(g) &&
                     io_list(g, "throttleReadBpsDevice", l->read.bps, c) &&
                     io_list(g, "throttleWriteBpsDevice", l->write.bps, c) &&
                     io_list(g, "throttleReadIOPSDevice", l->read.iops, c) &&
                     io_list(g, "throttleWriteIOPSDevice", l->write.iops, c) && map_close(g);
        ok = ok && s(g, "unified") && map_open(g);
        if (l->memory_bytes && !l->memory_hard)
                ok = ok && unsigned_str(g, "memory.high", "", l->memory_bytes);
        if (l->swap_bytes >= 0)
                ok = ok && unsigned_str(g, "memory.swap.max", "", (uint64_t)l->swap_bytes);
        if (l->cpu_weight)
                ok = ok && unsigned_str(g, "cpu.weight", "", l->cpu_weight);
        if (l->io_weight)
                ok = ok && unsigned_str(g, "io.weight", "default ", l->io_weight);
        return ok && map_close(g) && map_close(g);
}

/* /proc/sys is read-only except net/, which the container's network namespace owns (LXC's
 * "proc:mixed"): every other top-level entry the host has is listed. */
static int proc_sys_readonly(char ***ret, struct coi_error *err)
{
        _cleanup_strv_ char **list = NULL;
        for (size_t i = 0; i < ELEMENTSOF(readonly_paths); i++)
                if (strv_push(&list, readonly_paths[i]) < 0)
                        return coi_error_set(err, ENOMEM, "readonlyPaths: %m");
        _cleanup_closedir_ DIR *d = opendir("/proc/sys");
        if (!d)
                return coi_error_set(err, errno, "open /proc/sys: %m");
        struct dirent *de;
        int r = 0;
        while (r == 0 && (de = readdir(d))) {
                if (de->d_name[0] == '.' || streq(de->d_name, "net"))
                        continue;
                _cleanup_free_ char *p = xasprintf("/proc/sys/%s", de->d_name);
                if (!p || strv_push(&list, p) < 0)
                        r = coi_error_set(err, ENOMEM, "readonlyPaths: %m");
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(list);
        return 0;
}

static bool gen_linux(yajl_gen g, const struct system_config *c, char **ro, yajl_val seccomp)
{
        bool ok = s(g, "linux") && map_open(g) && s(g, "namespaces") && arr_open(g);
        for (size_t i = 0; ok && i < ELEMENTSOF(namespaces); i++)
                ok = map_open(g) && s(g, "type") && s(g, namespaces[i]) && map_close(g);
        ok = ok && arr_close(g);
        ok = ok && s(g, "uidMappings") && id_mapping(g, c->ids.uid) && s(g, "gidMappings") &&
             id_mapping(g, c->ids.gid);
        _cleanup_free_ char *cg = xasprintf("%s/%s", SYSTEM_CGROUP_PARENT, c->name);
        ok = ok && cg && s(g, "cgroupsPath") && s(g, cg);
        ok = ok && s(g, "maskedPaths") && str_array(g, masked_paths, ELEMENTSOF(masked_paths));
        ok = ok && s(g, "readonlyPaths") && str_array(g, (const char *const *)ro, strv_length(ro));
        if (seccomp)
                ok = ok && s(g, "seccomp") && copy_value(g, seccomp);
        if (c->limits)
                ok = ok && gen_resources(g, c);
        return ok && map_close(g);
}

int system_config_json(const struct system_config *c, char **ret_json, struct coi_error *err)
{
        _cleanup_(yajl_tree_freep) yajl_val seccomp = NULL;
        if (c->seccomp_json) {
                char ebuf[256] = "";
                seccomp = yajl_tree_parse(c->seccomp_json, ebuf, sizeof(ebuf));
                if (!seccomp || !YAJL_IS_OBJECT(seccomp))
                        return coi_error_set(err, EINVAL, "seccomp profile %s: %s", c->seccomp_origin,
                                             *ebuf ? ebuf : "not a JSON object");
        }
        _cleanup_strv_ char **ro = NULL;
        int r = proc_sys_readonly(&ro, err);
        if (r < 0)
                return r;
        _cleanup_(yajl_gen_freep) yajl_gen g = yajl_gen_alloc(NULL);
        if (!g)
                return coi_error_set(err, ENOMEM, "config of %s: %m", c->name);
        bool ok = map_open(g) && s(g, "ociVersion") && s(g, "1.1.0") && s(g, "root") && map_open(g) &&
                  s(g, "path") && s(g, c->rootfs) && s(g, "readonly") && boolean(g, false) && map_close(g) &&
                  s(g, "hostname") && s(g, c->name) && gen_process(g) && gen_mounts(g, c->limits) &&
                  gen_linux(g, c, ro, seccomp);
        if (c->lock_mounts)
                ok = ok && s(g, "annotations") && map_open(g) && s(g, "run.coi.lock-mounts") &&
                     s(g, "true") && map_close(g);
        ok = ok && map_close(g);
        const unsigned char *buf;
        size_t len;
        if (!ok || yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
                return coi_error_set(err, ENOMEM, "generate the config of %s: %m", c->name);
        char *json = strndup((const char *)buf, len);
        if (!json)
                return coi_error_set(err, ENOMEM, "config of %s: %m", c->name);
        *ret_json = json;
        return 0;
}
