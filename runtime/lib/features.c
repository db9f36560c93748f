/* features.c — the `features` document (runtime-spec features.md) and the default `spec` config.json.
 * Lists only what the runtime really does: names are checked against the parsers that will read them. */
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <yajl/yajl_gen.h>
#include <seccomp.h>

#include "json-util.h"
#include "capabilities.h"
#include "oci-config.h"
#include "seccomp-bpf.h"
#include "util.h"

/* A yajl generator that remembers whether any call failed, so the builders read straight down. */
struct gen {
        yajl_gen g;
        bool failed;
};

static void gen_check(struct gen *g, yajl_gen_status status)
{
        if (status != yajl_gen_status_ok)
                g->failed = true;
}

static void put_str(struct gen *g, const char *s)
{
        gen_check(g, yajl_gen_string(g->g, (const unsigned char *)s, strlen(s)));
}

static void put_int(struct gen *g, const char *key, long long value)
{
        put_str(g, key);
        gen_check(g, yajl_gen_integer(g->g, value));
}

static void put_bool(struct gen *g, const char *key, bool value)
{
        put_str(g, key);
        gen_check(g, yajl_gen_bool(g->g, value));
}

static void put_kv(struct gen *g, const char *key, const char *value)
{
        put_str(g, key);
        put_str(g, value);
}

static void open_map(struct gen *g, const char *key)
{
        if (key)
                put_str(g, key);
        gen_check(g, yajl_gen_map_open(g->g));
}

static void close_map(struct gen *g)
{
        gen_check(g, yajl_gen_map_close(g->g));
}

static void open_array(struct gen *g, const char *key)
{
        put_str(g, key);
        gen_check(g, yajl_gen_array_open(g->g));
}

static void close_array(struct gen *g)
{
        gen_check(g, yajl_gen_array_close(g->g));
}

/* A NULL-terminated list of strings. */
static void put_strv(struct gen *g, const char *key, const char *const *list)
{
        open_array(g, key);
        for (; *list; list++)
                put_str(g, *list);
        close_array(g);
}

static int gen_finish(struct gen *g, const char *what, char **ret_json, struct coi_error *err)
{
        const unsigned char *buf;
        size_t len;
        if (g->failed || yajl_gen_get_buf(g->g, &buf, &len) != yajl_gen_status_ok)
                return coi_error_set(err, EIO, "generate the %s document: JSON generator failed", what);
        char *json = xasprintf("%.*s\n", (int)len, (const char *)buf);
        if (!json)
                return coi_error_set(err, ENOMEM, "generate the %s document: out of memory", what);
        *ret_json = json;
        return 0;
}

/* ---- features ----------------------------------------------------------------------------------------- */

/* SCMP_ACT_NOTIFY is left out: it needs a listener (linux.seccomp.listenerPath), which is refused. */
static const char *const seccomp_actions[] = {
        "SCMP_ACT_ALLOW",       "SCMP_ACT_ERRNO", "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",   "SCMP_ACT_TRACE", "SCMP_ACT_TRAP",
};

static const char *const seccomp_operators[] = {
        "SCMP_CMP_EQ", "SCMP_CMP_GE",        "SCMP_CMP_GT", "SCMP_CMP_LE",
        "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE",
};

static const char *const seccomp_archs[] = {
        "SCMP_ARCH_AARCH64",  "SCMP_ARCH_ARM",         "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K",
        "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",   "SCMP_ARCH_MIPSEL",
        "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PARISC",      "SCMP_ARCH_PARISC64",
        "SCMP_ARCH_PPC",      "SCMP_ARCH_PPC64",       "SCMP_ARCH_PPC64LE",     "SCMP_ARCH_RISCV64",
        "SCMP_ARCH_S390",     "SCMP_ARCH_S390X",       "SCMP_ARCH_SH",          "SCMP_ARCH_SHEB",
        "SCMP_ARCH_X32",      "SCMP_ARCH_X86",         "SCMP_ARCH_X86_64",
};

static const struct {
        const char *name;
        unsigned int bits; /* what to ask the kernel: WAIT_KILLABLE_RECV is only valid with NEW_LISTENER */
} seccomp_flags[] = {
        { "SECCOMP_FILTER_FLAG_TSYNC", 1U << 0 },
        { "SECCOMP_FILTER_FLAG_LOG", 1U << 1 },
        { "SECCOMP_FILTER_FLAG_SPEC_ALLOW", 1U << 2 },
        { "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", (1U << 5) | (1U << 3) },
};

/* The kernel checks the flags before it reads the (here: NULL) program, so EFAULT means "known flag"
 * and EINVAL "unknown"; nothing is ever installed. */
static bool kernel_knows_seccomp_flags(unsigned int bits)
{
        return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, bits, NULL) < 0 && errno != EINVAL;
}

static bool is_capability(const char *name)
{
        int cap;
        return capability_from_name(name, &cap) >= 0;
}

static bool is_action(const char *name)
{
        uint32_t action;
        return seccomp_action_from_name(name, 0, &action) >= 0;
}

static bool is_operator(const char *name)
{
        int op;
        return seccomp_op_from_name(name, &op) >= 0;
}

static bool is_arch(const char *name)
{
        uint32_t arch;
        return seccomp_arch_from_name(name, &arch) >= 0;
}

static void put_known(struct gen *g, const char *key, const char *const *names, size_t n,
                      bool (*known)(const char *))
{
        open_array(g, key);
        for (size_t i = 0; i < n; i++)
                if (known(names[i]))
                        put_str(g, names[i]);
        close_array(g);
}

static void put_enabled(struct gen *g, const char *key, bool enabled)
{
        open_map(g, key);
        put_bool(g, "enabled", enabled);
        close_map(g);
}

int coi_features_json(char **ret_json, struct coi_error *err)
{
        _cleanup_(yajl_gen_freep) yajl_gen yg = yajl_gen_alloc(NULL);
        if (!yg)
                return coi_error_set(err, ENOMEM, "generate the features document: out of memory");
        yajl_gen_config(yg, yajl_gen_beautify, 1);
        struct gen g = { .g = yg };

        open_map(&g, NULL);
        put_kv(&g, "ociVersionMin", "1.0.0");
        put_kv(&g, "ociVersionMax", "1.1.0");
        open_array(&g, "hooks");
        for (int k = 0; k < _OCI_HOOK_MAX; k++)
                put_str(&g, oci_hook_name(k));
        close_array(&g);
        open_array(&g, "mountOptions");
        for (size_t i = 0; oci_mount_option_name(i); i++)
                put_str(&g, oci_mount_option_name(i));
        close_array(&g);

        open_map(&g, "linux");
        open_array(&g, "namespaces");
        for (int t = 0; t < _OCI_NS_MAX; t++)
                put_str(&g, oci_namespace_name(t));
        close_array(&g);
        char caps[CAPABILITY_MAX][CAPABILITY_NAME_MAX];
        const char *cap_names[CAPABILITY_MAX];
        size_t n_caps = capability_all(caps, CAPABILITY_MAX);
        for (size_t i = 0; i < n_caps; i++)
                cap_names[i] = caps[i];
        put_known(&g, "capabilities", cap_names, n_caps, is_capability);
        open_map(&g, "cgroup");
        put_bool(&g, "v1", false);
        put_bool(&g, "v2", true);
        put_bool(&g, "systemd", false);
        put_bool(&g, "systemdUser", false);
        put_bool(&g, "rdma", false);
        close_map(&g);
        open_map(&g, "seccomp");
        put_bool(&g, "enabled", true);
        put_known(&g, "actions", seccomp_actions, ELEMENTSOF(seccomp_actions), is_action);
        put_known(&g, "operators", seccomp_operators, ELEMENTSOF(seccomp_operators), is_operator);
        put_known(&g, "archs", seccomp_archs, ELEMENTSOF(seccomp_archs), is_arch);
        open_array(&g, "knownFlags");
        for (size_t i = 0; i < ELEMENTSOF(seccomp_flags); i++)
                if (seccomp_flag_is_known(seccomp_flags[i].name))
                        put_str(&g, seccomp_flags[i].name);
        close_array(&g);
        open_array(&g, "supportedFlags");
        for (size_t i = 0; i < ELEMENTSOF(seccomp_flags); i++)
                if (seccomp_flag_is_known(seccomp_flags[i].name) &&
                    kernel_knows_seccomp_flags(seccomp_flags[i].bits))
                        put_str(&g, seccomp_flags[i].name);
        close_array(&g);
        close_map(&g);
        put_enabled(&g, "apparmor", false);
        put_enabled(&g, "selinux", false);
        put_enabled(&g, "intelRdt", false);
        open_map(&g, "mountExtensions");
        put_enabled(&g, "idmap", true);
        close_map(&g);
        close_map(&g);

        const struct scmp_version *v = seccomp_version();
        _cleanup_free_ char *libseccomp = v ? xasprintf("%u.%u.%u", v->major, v->minor, v->micro) : NULL;
        open_map(&g, "annotations");
        put_kv(&g, "run.coi.version", COI_VERSION);
        if (libseccomp)
                put_kv(&g, "run.coi.libseccomp.version", libseccomp);
        /* cgroup v2 device control needs eBPF programs, which coi-runtime does not load. */
        put_kv(&g, "run.coi.cgroup.devices", "false");
        close_map(&g);
        close_map(&g);
        return gen_finish(&g, "features", ret_json, err);
}

/* ---- spec --------------------------------------------------------------------------------------------- */

static const char *const masked_paths[] = {
        "/proc/acpi",
        "/proc/asound",
        "/proc/interrupts",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/proc/scsi",
        "/sys/firmware",
        "/sys/devices/virtual/powercap",
        NULL,
};

static const char *const readonly_paths[] = {
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static void put_mount(struct gen *g, const char *destination, const char *type, const char *source,
                      const char *const *options)
{
        open_map(g, NULL);
        put_kv(g, "destination", destination);
        put_kv(g, "type", type);
        put_kv(g, "source", source);
        put_strv(g, "options", options);
        close_map(g);
}

static void put_mounts(struct gen *g, bool rootless)
{
        open_array(g, "mounts");
        put_mount(g, "/proc", "proc", "proc", (const char *[]){ "nosuid", "noexec", "nodev", NULL });
        put_mount(g, "/dev", "tmpfs", "tmpfs",
                  (const char *[]){ "nosuid", "strictatime", "mode=755", "size=65536k", NULL });
        /* gid=5 (tty) only exists inside the container when more than one gid is mapped. */
        if (rootless)
                put_mount(g, "/dev/pts", "devpts", "devpts",
                          (const char *[]){ "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
                                            NULL });
        else
                put_mount(g, "/dev/pts", "devpts", "devpts",
                          (const char *[]){ "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
                                            "gid=5", NULL });
        put_mount(g, "/dev/shm", "tmpfs", "shm",
                  (const char *[]){ "nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL });
        put_mount(g, "/dev/mqueue", "mqueue", "mqueue",
                  (const char *[]){ "nosuid", "noexec", "nodev", NULL });
        if (rootless) {
                /* sysfs can only be mounted by the owner of the network namespace: bind the host's. */
                put_mount(g, "/sys", "none", "/sys",
                          (const char *[]){ "rbind", "nosuid", "noexec", "nodev", "ro", NULL });
        } else {
                put_mount(g, "/sys", "sysfs", "sysfs",
                          (const char *[]){ "nosuid", "noexec", "nodev", "ro", NULL });
                put_mount(g, "/sys/fs/cgroup", "cgroup", "cgroup",
                          (const char *[]){ "nosuid", "noexec", "nodev", "relatime", "ro", NULL });
        }
        close_array(g);
}

static void put_id_mapping(struct gen *g, const char *key, unsigned id)
{
        open_array(g, key);
        open_map(g, NULL);
        put_int(g, "containerID", 0);
        put_int(g, "hostID", id);
        put_int(g, "size", 1);
        close_map(g);
        close_array(g);
}

static void put_linux(struct gen *g, bool rootless)
{
        open_map(g, "linux");
        if (rootless) {
                put_id_mapping(g, "uidMappings", getuid());
                put_id_mapping(g, "gidMappings", getgid());
        } else {
                open_map(g, "resources");
                open_array(g, "devices");
                open_map(g, NULL);
                put_bool(g, "allow", false);
                put_kv(g, "access", "rwm");
                close_map(g);
                close_array(g);
                close_map(g);
        }
        open_array(g, "namespaces");
        /* Rootless keeps the host's network: a new one would have no interface but lo. */
        static const char *const types[] = { "pid", "network", "ipc", "uts", "mount", "cgroup", "user" };
        for (size_t i = 0; i < ELEMENTSOF(types); i++) {
                if (rootless ? streq(types[i], "network") : streq(types[i], "user"))
                        continue;
                open_map(g, NULL);
                put_kv(g, "type", types[i]);
                close_map(g);
        }
        close_array(g);
        put_strv(g, "maskedPaths", masked_paths);
        put_strv(g, "readonlyPaths", readonly_paths);
        close_map(g);
}

int coi_spec_json(bool rootless, char **ret_json, struct coi_error *err)
{
        _cleanup_(yajl_gen_freep) yajl_gen yg = yajl_gen_alloc(NULL);
        if (!yg)
                return coi_error_set(err, ENOMEM, "generate the spec document: out of memory");
        yajl_gen_config(yg, yajl_gen_beautify, 1);
        struct gen g = { .g = yg };
        static const char *const caps[] = { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL };

        open_map(&g, NULL);
        put_kv(&g, "ociVersion", "1.1.0");
        open_map(&g, "process");
        put_bool(&g, "terminal", true);
        open_map(&g, "user");
        put_int(&g, "uid", 0);
        put_int(&g, "gid", 0);
        close_map(&g);
        put_strv(&g, "args", (const char *[]){ "sh", NULL });
        put_strv(&g, "env",
                 (const char *[]){ "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                   "TERM=xterm", NULL });
        put_kv(&g, "cwd", "/");
        open_map(&g, "capabilities");
        put_strv(&g, "bounding", caps);
        put_strv(&g, "effective", caps);
        put_strv(&g, "permitted", caps);
        close_map(&g);
        open_array(&g, "rlimits");
        open_map(&g, NULL);
        put_kv(&g, "type", "RLIMIT_NOFILE");
        put_int(&g, "hard", 1024);
        put_int(&g, "soft", 1024);
        close_map(&g);
        close_array(&g);
        put_bool(&g, "noNewPrivileges", true);
        close_map(&g);
        open_map(&g, "root");
        put_kv(&g, "path", "rootfs");
        put_bool(&g, "readonly", true);
        close_map(&g);
        put_kv(&g, "hostname", "coi");
        put_mounts(&g, rootless);
        put_linux(&g, rootless);
        close_map(&g);
        return gen_finish(&g, "spec", ret_json, err);
}
