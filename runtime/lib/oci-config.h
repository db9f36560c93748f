/* oci-config.h — the OCI runtime-spec config.json as plain C structs. oci-config*.c are the only files
 * that see JSON (yajl); everything else works on these structs. Strings are malloc'd, arrays are
 * (pointer, count) pairs, absent optional fields are NULL / 0 / has_x = false. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "coi-runtime.h"

struct oci_id_mapping {
        uint32_t container_id;
        uint32_t host_id;
        uint32_t size;
};

struct oci_rlimit {
        int resource; /* RLIMIT_* resolved from "RLIMIT_NOFILE" etc. */
        char *type;   /* as written, for messages */
        uint64_t hard;
        uint64_t soft;
};

/* Capability sets as bit masks of CAP_* numbers (names resolved with libcap at parse time). */
struct oci_capabilities {
        bool present;
        uint64_t bounding, effective, inheritable, permitted, ambient;
};

struct oci_user {
        uint32_t uid, gid;
        bool has_umask;
        uint32_t umask;
        uint32_t *additional_gids;
        size_t n_additional_gids;
        char *username; /* Windows only in the spec; refused if set */
};

struct oci_process {
        bool terminal;
        bool has_console_size;
        unsigned console_height, console_width;
        struct oci_user user;
        char **args; /* NULL-terminated */
        char **env;  /* NULL-terminated, "K=V" */
        char *cwd;
        struct oci_capabilities caps;
        struct oci_rlimit *rlimits;
        size_t n_rlimits;
        bool no_new_privileges;
        bool has_oom_score_adj;
        int oom_score_adj;
        char *apparmor_profile; /* refused if set: no AppArmor support */
        char *selinux_label;    /* refused if set */
};

struct oci_mount {
        char *destination;
        char *type;     /* may be NULL for bind mounts */
        char *source;   /* may be NULL */
        char **options; /* NULL-terminated, as written */
        /* Derived from options at parse time: */
        unsigned long flags;       /* MS_* to set */
        unsigned long clear_flags; /* MS_* explicitly cleared (rw, suid, dev, exec, atime …) */
        unsigned long propagation; /* MS_SHARED|MS_SLAVE|MS_PRIVATE|MS_UNBINDABLE (| MS_REC) or 0 */
        bool bind, recursive;      /* bind / rbind */
        bool idmap, ridmap;        /* idmap / ridmap options */
        char *data;                /* the remaining options joined with ',' for mount(2) data */
        struct oci_id_mapping *uid_mappings;
        size_t n_uid_mappings;
        struct oci_id_mapping *gid_mappings;
        size_t n_gid_mappings;
        /* Added: r* options (rro, rnosuid, rnoatime …): MOUNT_ATTR_* for mount_setattr(AT_RECURSIVE). */
        uint64_t rec_attr_set, rec_attr_clr;
        bool tmpcopyup; /* crun's "tmpcopyup": copy the image's files into this tmpfs; never in data */
};

enum oci_namespace_type {
        OCI_NS_PID,
        OCI_NS_NETWORK,
        OCI_NS_MOUNT,
        OCI_NS_IPC,
        OCI_NS_UTS,
        OCI_NS_USER,
        OCI_NS_CGROUP,
        OCI_NS_TIME,
        _OCI_NS_MAX,
};

struct oci_namespace {
        bool present;
        char *path; /* join this one instead of creating a new one */
};

struct oci_device {
        char *path;
        char type; /* 'c', 'b', 'u', 'p' */
        int64_t major, minor;
        bool has_file_mode;
        uint32_t file_mode;
        bool has_uid, has_gid;
        uint32_t uid, gid;
};

struct oci_seccomp_arg {
        unsigned index;
        uint64_t value, value_two;
        int op; /* enum scmp_compare */
};

struct oci_seccomp_syscall {
        char **names;    /* NULL-terminated */
        uint32_t action; /* SCMP_ACT_* (with errno folded in for ERRNO/TRACE) */
        bool has_errno_ret;
        uint32_t errno_ret;
        struct oci_seccomp_arg *args;
        size_t n_args;
};

struct oci_seccomp {
        uint32_t default_action; /* SCMP_ACT_* */
        bool has_default_errno_ret;
        uint32_t default_errno_ret;
        uint32_t *architectures; /* SCMP_ARCH_* */
        size_t n_architectures;
        char **flags;        /* SECCOMP_FILTER_FLAG_* names, NULL-terminated */
        char *listener_path; /* refused if set (no notify listener support yet) */
        struct oci_seccomp_syscall *syscalls;
        size_t n_syscalls;
};

/* One entry of linux.resources.devices (the device cgroup list). */
struct oci_device_rule {
        bool allow;
        char type;            /* 'a', 'c', 'b' ('a' when absent) */
        int64_t major, minor; /* -1 = any (also when absent) */
        char access[4];       /* subset of "rwm" ("rwm" when absent) */
};

/* Resources: every value is optional; has_* says whether it was given. */
struct oci_resources {
        bool has_memory_limit, has_memory_reservation, has_memory_swap, has_memory_kernel;
        int64_t memory_limit, memory_reservation, memory_swap;
        bool has_memory_swappiness, has_memory_disable_oom_killer, memory_disable_oom_killer;
        uint64_t memory_swappiness;
        bool has_cpu_shares, has_cpu_quota, has_cpu_period, has_cpu_idle;
        uint64_t cpu_shares, cpu_period;
        int64_t cpu_quota, cpu_idle;
        char *cpu_cpus, *cpu_mems;
        bool has_pids_limit;
        int64_t pids_limit;
        bool has_io_weight;
        uint16_t io_weight;
        struct oci_io_device {
                int64_t major, minor;
                uint64_t rate;   /* throttle entries */
                uint16_t weight; /* weightDevice entries */
                char kind;       /* 'w' weight, 'r' rbps, 'W' wbps, 'i' riops, 'o' wiops */
        } * io_devices;
        size_t n_io_devices;
        char **unified;         /* NULL-terminated key, value, key, value … */
        bool has_devices;       /* the device cgroup allow list (cgroup v2: eBPF, not supported) */
        bool devices_allow_all; /* the list ends up allowing everything ("a *:* rwm" not denied later) */
        /* Added: */
        bool has_memory_check_before_update, memory_check_before_update;
        bool has_cpu_burst;
        uint64_t cpu_burst;
        struct oci_device_rule *device_rules; /* as written */
        size_t n_device_rules;
        /* deny-all first, then only allows for mknod and the devices every container gets (null, zero,
         * full, random, urandom, tty, console, ptmx, pts, tun) or that linux.devices creates. */
        bool devices_standard;
};

struct oci_hook {
        char *path;
        char **args;
        char **env;
        bool has_timeout;
        int timeout; /* seconds */
};

enum oci_hook_kind {
        OCI_HOOK_PRESTART, /* deprecated; run like createRuntime */
        OCI_HOOK_CREATE_RUNTIME,
        OCI_HOOK_CREATE_CONTAINER,
        OCI_HOOK_START_CONTAINER,
        OCI_HOOK_POSTSTART,
        OCI_HOOK_POSTSTOP,
        _OCI_HOOK_MAX,
};

struct oci_linux {
        struct oci_namespace namespaces[_OCI_NS_MAX];
        struct oci_id_mapping *uid_mappings;
        size_t n_uid_mappings;
        struct oci_id_mapping *gid_mappings;
        size_t n_gid_mappings;
        struct oci_device *devices;
        size_t n_devices;
        char **sysctl; /* NULL-terminated key, value, … */
        char **masked_paths;
        char **readonly_paths;
        unsigned long rootfs_propagation; /* MS_* or 0 */
        char *cgroups_path;
        bool has_resources;
        struct oci_resources resources;
        struct oci_seccomp *seccomp; /* NULL = no filter */
        bool has_personality;
        unsigned long personality; /* PER_LINUX / PER_LINUX32 */
        char *mount_label;
        bool has_time_offsets;
        int64_t boottime_secs, boottime_nsecs, monotonic_secs, monotonic_nsecs;
};

struct oci_config {
        char *oci_version;
        char *root_path; /* as written; resolved against the bundle by the caller */
        bool root_readonly;
        char *hostname;
        char *domainname;
        bool has_process;
        struct oci_process process;
        struct oci_mount *mounts;
        size_t n_mounts;
        struct oci_hook *hooks[_OCI_HOOK_MAX];
        size_t n_hooks[_OCI_HOOK_MAX];
        char **annotations; /* NULL-terminated key, value, … */
        struct oci_linux linux_;
};

/* Parses a config document. `origin` names it in errors ("/path/config.json"). Errors look like
 * "/path/config.json: process.capabilities.bounding[2]: unknown capability \"CAP_FOO\"". */
int oci_config_parse(const char *json, size_t len, const char *origin, struct oci_config **ret_config,
                     struct coi_error *err);
int oci_config_load(const char *path, struct oci_config **ret_config, struct coi_error *err);
void oci_config_free(struct oci_config *config);
static inline void oci_config_freep(struct oci_config **c)
{
        oci_config_free(*c);
}

/* Parses a standalone "process" object (exec --process) and a "resources" object (update). */
int oci_process_parse(const char *json, size_t len, const char *origin, struct oci_process *ret_process,
                      struct coi_error *err);
void oci_process_done(struct oci_process *process);
int oci_resources_parse(const char *json, size_t len, const char *origin, struct oci_resources *ret_resources,
                        struct coi_error *err);
void oci_resources_done(struct oci_resources *resources);

/* The annotation value for key, or NULL. */
const char *oci_config_annotation(const struct oci_config *config, const char *key);

const char *oci_namespace_name(enum oci_namespace_type type); /* "pid", "network", … */
const char *oci_hook_name(enum oci_hook_kind kind);           /* "createRuntime", … */
/* The i-th mount option the parser turns into flags ("ro", "rbind", "idmap" …), NULL past the last:
 * the `features` mountOptions list. Options it only records (tmpcopyup) are not listed. */
const char *oci_mount_option_name(size_t i);
