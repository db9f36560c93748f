/* oci-config-linux.c — the "linux" object of config.json (namespaces, id maps, devices, resources, seccomp,
 * personality, time offsets) and the standalone resources document of `update`. */
#include <inttypes.h>
#include <sys/personality.h>

#include "mount-options.h"
#include "oci-config-internal.h"
#include "seccomp-bpf.h"

/* ---- id mappings (also used by mounts) ------------------------------------------------------------------ */

static int check_id_mapping(struct parser *p, yajl_val v, void *obj)
{
        struct oci_id_mapping *m = obj;
        if (m->size == 0)
                return cfg_fail(p, EINVAL, "size must not be 0");
        if ((uint64_t)m->container_id + m->size > UINT32_MAX + UINT64_C(1) ||
            (uint64_t)m->host_id + m->size > UINT32_MAX + UINT64_C(1))
                return cfg_fail(p, ERANGE, "range goes past 4294967295");
        return 0;
}

static const struct field id_mapping_fields[] = {
        FIELD("containerID", fp_u32, struct oci_id_mapping, container_id, REQUIRED),
        FIELD("hostID", fp_u32, struct oci_id_mapping, host_id, REQUIRED),
        FIELD("size", fp_u32, struct oci_id_mapping, size, REQUIRED),
};

int fp_id_mappings(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        struct field array = *f;
        array.elem_size = sizeof(struct oci_id_mapping);
        array.sub = id_mapping_fields;
        array.n_sub = ELEMENTSOF(id_mapping_fields);
        array.check = check_id_mapping;
        return fp_object_array(p, v, base, &array);
}

/* ---- linux.resources ---------------------------------------------------------------------------------- */

static int fp_swappiness(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        return cfg_get_uint(p, v, 100, MEMBER(base, f, uint64_t));
}

static int fp_cpu_idle(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        return cfg_get_int(p, v, 0, 1, MEMBER(base, f, int64_t));
}

static int fp_io_weight(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        uint64_t x;
        int r = cfg_get_uint(p, v, 1000, &x);
        if (r >= 0 && x < 10)
                return cfg_fail(p, ERANGE, "%" PRIu64 " is out of range (10..1000)", x);
        if (r >= 0)
                *MEMBER(base, f, uint16_t) = (uint16_t)x;
        return r;
}

static const struct field io_weight_device_fields[] = {
        FIELD("major", fp_i64, struct oci_io_device, major, REQUIRED),
        FIELD("minor", fp_i64, struct oci_io_device, minor, REQUIRED),
        FIELD("weight", fp_io_weight, struct oci_io_device, weight, REQUIRED),
        REFUSED("leafWeight", "cgroup v1 only"),
};

static const struct field io_throttle_device_fields[] = {
        FIELD("major", fp_i64, struct oci_io_device, major, REQUIRED),
        FIELD("minor", fp_i64, struct oci_io_device, minor, REQUIRED),
        FIELD("rate", fp_u64, struct oci_io_device, rate, REQUIRED),
};

/* weightDevice and the four throttle lists all land in resources.io_devices, told apart by kind. */
static int fp_io_devices(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        struct oci_resources *res = base;
        if (!YAJL_IS_ARRAY(v))
                return cfg_fail_type(p, v, "an array of objects");
        for (size_t i = 0; i < v->u.array.len; i++) {
                size_t mark = cfg_path_index(p, i);
                struct oci_io_device dev = { .kind = (char)f->arg };
                int r = f->arg == 'w' ? cfg_parse_object(p, v->u.array.values[i], io_weight_device_fields,
                                                         ELEMENTSOF(io_weight_device_fields), &dev)
                                      : cfg_parse_object(p, v->u.array.values[i], io_throttle_device_fields,
                                                         ELEMENTSOF(io_throttle_device_fields), &dev);
                if (r < 0)
                        return r;
                struct oci_io_device *a = reallocarray(res->io_devices, res->n_io_devices + 1, sizeof(*a));
                if (!a)
                        return cfg_fail(p, ENOMEM, "out of memory");
                a[res->n_io_devices++] = dev;
                res->io_devices = a;
                cfg_path_pop(p, mark);
        }
        return 0;
}

struct hugepage_limit {
        char *page_size;
        uint64_t limit;
};

static int fp_page_size(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        const char *s;
        int r = cfg_get_string(p, v, &s);
        if (r < 0)
                return r;
        size_t digits = strspn(s, "0123456789");
        if (digits == 0 || !strchr("KMG", s[digits]) || !s[digits] || !streq(s + digits + 1, "B"))
                return cfg_fail(p, EINVAL, "expected a page size like \"2MB\", got \"%s\"", s);
        return cfg_set_string(p, s, MEMBER(base, f, char *));
}

static const struct field hugepage_limit_fields[] = {
        FIELD("pageSize", fp_page_size, struct hugepage_limit, page_size, REQUIRED),
        FIELD("limit", fp_u64, struct hugepage_limit, limit, REQUIRED),
};

/* cgroup v2 spells these hugetlb.<size>.max: they join the unified entries. */
static int fp_hugepage_limits(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        struct oci_resources *res = base;
        if (!YAJL_IS_ARRAY(v))
                return cfg_fail_type(p, v, "an array of objects");
        for (size_t i = 0; i < v->u.array.len; i++) {
                size_t mark = cfg_path_index(p, i);
                struct hugepage_limit h = { 0 };
                int r = cfg_parse_object(p, v->u.array.values[i], hugepage_limit_fields,
                                         ELEMENTSOF(hugepage_limit_fields), &h);
                _cleanup_free_ char *page_size = h.page_size;
                if (r < 0)
                        return r;
                _cleanup_free_ char *key = xasprintf("hugetlb.%s.max", page_size);
                _cleanup_free_ char *value = xasprintf("%" PRIu64, h.limit);
                if (!key || !value || strv_push(&res->unified, key) < 0 ||
                    strv_push(&res->unified, value) < 0)
                        return cfg_fail(p, ENOMEM, "out of memory");
                cfg_path_pop(p, mark);
        }
        return 0;
}

static int fp_rule_type(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        const char *s;
        int r = cfg_get_string(p, v, &s);
        if (r < 0)
                return r;
        if (!streq(s, "a") && !streq(s, "c") && !streq(s, "b"))
                return cfg_fail(p, EINVAL, "expected \"a\", \"c\" or \"b\", got \"%s\"", s);
        *MEMBER(base, f, char) = s[0];
        return 0;
}

static int fp_rule_number(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        return cfg_get_int(p, v, -1, INT64_MAX, MEMBER(base, f, int64_t));
}

static int fp_rule_access(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        const char *s;
        int r = cfg_get_string(p, v, &s);
        if (r < 0)
                return r;
        char *access = MEMBER(base, f, char);
        size_t n = 0;
        for (const char *c = s; *c; c++) {
                if (!strchr("rwm", *c) || memchr(access, *c, n) || n >= 3)
                        return cfg_fail(p, EINVAL, "expected a combination of r, w and m, got \"%s\"", s);
                access[n++] = *c;
        }
        access[n] = '\0';
        return 0;
}

/* Absent type, major, minor and access mean "any": a, -1, -1, rwm. */
static int check_device_rule(struct parser *p, yajl_val v, void *obj)
{
        struct oci_device_rule *rule = obj;
        if (!cfg_json_get(v, "type") || YAJL_IS_NULL(cfg_json_get(v, "type")))
                rule->type = 'a';
        if (!cfg_json_get(v, "major") || YAJL_IS_NULL(cfg_json_get(v, "major")))
                rule->major = -1;
        if (!cfg_json_get(v, "minor") || YAJL_IS_NULL(cfg_json_get(v, "minor")))
                rule->minor = -1;
        if (!rule->access[0])
                strcpy(rule->access, "rwm");
        return 0;
}

static const struct field device_rule_fields[] = {
        FIELD("allow", fp_bool, struct oci_device_rule, allow, REQUIRED),
        FIELD("type", fp_rule_type, struct oci_device_rule, type),
        FIELD("major", fp_rule_number, struct oci_device_rule, major),
        FIELD("minor", fp_rule_number, struct oci_device_rule, minor),
        FIELD("access", fp_rule_access, struct oci_device_rule, access),
};

static const struct field memory_fields[] = {
        FIELD("limit", fp_limit, struct oci_resources, memory_limit,
              HAS(struct oci_resources, has_memory_limit)),
        FIELD("reservation", fp_limit, struct oci_resources, memory_reservation,
              HAS(struct oci_resources, has_memory_reservation)),
        FIELD("swap", fp_limit, struct oci_resources, memory_swap,
              HAS(struct oci_resources, has_memory_swap)),
        { .key = "kernel", .parse = fp_limit_ignored, HAS(struct oci_resources, has_memory_kernel) },
        REFUSED("kernelTCP", "cgroup v1 only"),
        FIELD("swappiness", fp_swappiness, struct oci_resources, memory_swappiness,
              HAS(struct oci_resources, has_memory_swappiness)),
        FIELD("disableOOMKiller", fp_bool, struct oci_resources, memory_disable_oom_killer,
              HAS(struct oci_resources, has_memory_disable_oom_killer)),
        { .key = "useHierarchy", .parse = fp_bool_ignored },
        FIELD("checkBeforeUpdate", fp_bool, struct oci_resources, memory_check_before_update,
              HAS(struct oci_resources, has_memory_check_before_update)),
};

static const struct field cpu_fields[] = {
        FIELD("shares", fp_u64, struct oci_resources, cpu_shares, HAS(struct oci_resources, has_cpu_shares)),
        FIELD("quota", fp_limit, struct oci_resources, cpu_quota, HAS(struct oci_resources, has_cpu_quota)),
        FIELD("burst", fp_u64, struct oci_resources, cpu_burst, HAS(struct oci_resources, has_cpu_burst)),
        FIELD("period", fp_u64, struct oci_resources, cpu_period, HAS(struct oci_resources, has_cpu_period)),
        REFUSED("realtimeRuntime", "cgroup v1 only"),
        REFUSED("realtimePeriod", "cgroup v1 only"),
        FIELD("cpus", fp_string, struct oci_resources, cpu_cpus),
        FIELD("mems", fp_string, struct oci_resources, cpu_mems),
        FIELD("idle", fp_cpu_idle, struct oci_resources, cpu_idle, HAS(struct oci_resources, has_cpu_idle)),
};

static const struct field pids_fields[] = {
        FIELD("limit", fp_i64, struct oci_resources, pids_limit, REQUIRED,
              HAS(struct oci_resources, has_pids_limit)),
};

#define IO_LIST(k, kind)                                                                                     \
        {                                                                                                    \
                .key = k, .parse = fp_io_devices, .arg = kind                                                \
        }

static const struct field block_io_fields[] = {
        FIELD("weight", fp_io_weight, struct oci_resources, io_weight,
              HAS(struct oci_resources, has_io_weight)),
        REFUSED("leafWeight", "cgroup v1 only"),
        IO_LIST("weightDevice", 'w'),
        IO_LIST("throttleReadBpsDevice", 'r'),
        IO_LIST("throttleWriteBpsDevice", 'W'),
        IO_LIST("throttleReadIOPSDevice", 'i'),
        IO_LIST("throttleWriteIOPSDevice", 'o'),
};

/* sysctl and unified keys become file names under /proc/sys and the cgroup: no way out of those. */
static int validate_file_key(struct parser *p, const char *key)
{
        if (!*key || key[0] == '.' || key[0] == '/' || strstr(key, ".."))
                return cfg_fail(p, EINVAL, "invalid key \"%s\"", key);
        return 0;
}

static int validate_unified_key(struct parser *p, const char *key)
{
        int r = validate_file_key(p, key);
        if (r >= 0 && (strchr(key, '/') || !strchr(key, '.')))
                return cfg_fail(p, EINVAL, "expected a cgroup v2 file name like \"memory.high\", got \"%s\"",
                                key);
        return r;
}

static const struct field resources_fields[] = {
        OBJECT_ARRAY("devices", device_rule_fields, struct oci_resources, device_rules, n_device_rules,
                     struct oci_device_rule, .check = check_device_rule,
                     HAS(struct oci_resources, has_devices)),
        FLAT("memory", memory_fields),
        FLAT("cpu", cpu_fields),
        FLAT("pids", pids_fields),
        FLAT("blockIO", block_io_fields),
        { .key = "hugepageLimits", .parse = fp_hugepage_limits },
        REFUSED("network", "net_cls/net_prio are cgroup v1 only"),
        REFUSED("rdma", "no rdma controller support"),
        FIELD("unified", fp_strmap, struct oci_resources, unified, .validate = validate_unified_key),
};

/* ---- linux.seccomp ------------------------------------------------------------------------------------ */

static int fp_seccomp_action(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        const char *s;
        uint32_t action;
        int r = cfg_get_string(p, v, &s);
        if (r < 0)
                return r;
        if (streq(s, "SCMP_ACT_NOTIFY"))
                return cfg_fail(p, ENOTSUP,
                                "SCMP_ACT_NOTIFY needs a seccomp listener, not supported by coi-runtime");
        if (seccomp_action_from_name(s, 0, &action) < 0)
                return cfg_fail(p, EINVAL, "unknown seccomp action \"%s\"", s);
        *MEMBER(base, f, uint32_t) = action; /* errnoRet is folded in by resolve_action() */
        return 0;
}

static int fp_errno_ret(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        uint64_t x;
        int r = cfg_get_uint(p, v, 4095, &x);
        if (r >= 0 && x == 0) /* seccomp_action_from_name() takes 0 as "not given", i.e. EPERM */
                return cfg_fail(p, EINVAL, "0 is not supported (the syscall would succeed without running)");
        if (r >= 0)
                *MEMBER(base, f, uint32_t) = (uint32_t)x;
        return r;
}

static int resolve_action(struct parser *p, yajl_val obj, const char *action_key, const char *errno_key,
                          bool has_errno, uint32_t errno_ret, uint32_t *action)
{
        const char *name = cfg_json_get(obj, action_key)->u.string; /* validated by fp_seccomp_action */
        if (has_errno && !streq(name, "SCMP_ACT_ERRNO") && !streq(name, "SCMP_ACT_TRACE")) {
                cfg_path_key(p, errno_key);
                return cfg_fail(p, EINVAL, "only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not %s", name);
        }
        if (seccomp_action_from_name(name, has_errno ? errno_ret : 0, action) < 0) {
                cfg_path_key(p, action_key);
                return cfg_fail(p, EINVAL, "unknown seccomp action \"%s\"", name);
        }
        return 0;
}

static int check_syscall(struct parser *p, yajl_val v, void *obj)
{
        struct oci_seccomp_syscall *s = obj;
        return resolve_action(p, v, "action", "errnoRet", s->has_errno_ret, s->errno_ret, &s->action);
}

static int fp_arg_index(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        uint64_t x;
        int r = cfg_get_uint(p, v, 5, &x);
        if (r >= 0)
                *MEMBER(base, f, unsigned) = (unsigned)x;
        return r;
}

static int fp_seccomp_op(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        const char *s;
        int r = cfg_get_string(p, v, &s);
        if (r >= 0 && seccomp_op_from_name(s, MEMBER(base, f, int)) < 0)
                return cfg_fail(p, EINVAL, "unknown seccomp operator \"%s\"", s);
        return r;
}

static int fp_syscall_names(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        int r = cfg_parse_strv(p, v, NULL, MEMBER(base, f, char **));
        if (r >= 0 && !**MEMBER(base, f, char **))
                return cfg_fail(p, EINVAL, "must name at least one syscall");
        return r;
}

static int convert_arch(struct parser *p, yajl_val v, uint32_t *ret)
{
        const char *s;
        int r = cfg_get_string(p, v, &s);
        if (r >= 0 && seccomp_arch_from_name(s, ret) < 0)
                return cfg_fail(p, EINVAL, "unknown seccomp architecture \"%s\"", s);
        return r;
}

static int fp_seccomp_archs(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        struct oci_seccomp *s = base;
        return cfg_parse_u32_array(p, v, convert_arch, &s->architectures, &s->n_architectures);
}

static int validate_seccomp_flag(struct parser *p, const char *s)
{
        return seccomp_flag_is_known(s) ? 0 : cfg_fail(p, EINVAL, "unknown seccomp flag \"%s\"", s);
}

static const struct field seccomp_arg_fields[] = {
        FIELD("index", fp_arg_index, struct oci_seccomp_arg, index, REQUIRED),
        FIELD("value", fp_u64, struct oci_seccomp_arg, value, REQUIRED),
        FIELD("valueTwo", fp_u64, struct oci_seccomp_arg, value_two),
        FIELD("op", fp_seccomp_op, struct oci_seccomp_arg, op, REQUIRED),
};

static const struct field seccomp_syscall_fields[] = {
        FIELD("names", fp_syscall_names, struct oci_seccomp_syscall, names, REQUIRED),
        FIELD("action", fp_seccomp_action, struct oci_seccomp_syscall, action, REQUIRED),
        FIELD("errnoRet", fp_errno_ret, struct oci_seccomp_syscall, errno_ret,
              HAS(struct oci_seccomp_syscall, has_errno_ret)),
        OBJECT_ARRAY("args", seccomp_arg_fields, struct oci_seccomp_syscall, args, n_args,
                     struct oci_seccomp_arg),
};

static const struct field seccomp_fields[] = {
        FIELD("defaultAction", fp_seccomp_action, struct oci_seccomp, default_action, REQUIRED),
        FIELD("defaultErrnoRet", fp_errno_ret, struct oci_seccomp, default_errno_ret,
              HAS(struct oci_seccomp, has_default_errno_ret)),
        { .key = "architectures", .parse = fp_seccomp_archs },
        FIELD("flags", fp_strv, struct oci_seccomp, flags, .validate = validate_seccomp_flag),
        EMPTY_OK("listenerPath", "no seccomp notify listener support yet"),
        EMPTY_OK("listenerMetadata", "no seccomp notify listener support yet"),
        OBJECT_ARRAY("syscalls", seccomp_syscall_fields, struct oci_seccomp, syscalls, n_syscalls,
                     struct oci_seccomp_syscall, .check = check_syscall),
};

static int fp_seccomp(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        struct oci_linux *l = base;
        if (!l->seccomp && !(l->seccomp = calloc(1, sizeof(struct oci_seccomp))))
                return cfg_fail(p, ENOMEM, "out of memory");
        struct oci_seccomp *s = l->seccomp;
        int r = cfg_parse_object(p, v, seccomp_fields, ELEMENTSOF(seccomp_fields), s);
        if (r < 0)
                return r;
        return resolve_action(p, v, "defaultAction", "defaultErrnoRet", s->has_default_errno_ret,
                              s->default_errno_ret, &s->default_action);
}

/* ---- linux -------------------------------------------------------------------------------------------- */

static const char *const namespace_names[_OCI_NS_MAX] = {
        [OCI_NS_PID] = "pid",       [OCI_NS_NETWORK] = "network", [OCI_NS_MOUNT] = "mount",
        [OCI_NS_IPC] = "ipc",       [OCI_NS_UTS] = "uts",         [OCI_NS_USER] = "user",
        [OCI_NS_CGROUP] = "cgroup", [OCI_NS_TIME] = "time",
};

struct namespace_entry {
        int type;
        char *path;
};

static int fp_namespace_type(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        const char *s;
        int r = cfg_get_string(p, v, &s);
        if (r < 0)
                return r;
        for (int t = 0; t < _OCI_NS_MAX; t++)
                if (streq(namespace_names[t], s)) {
                        *MEMBER(base, f, int) = t;
                        return 0;
                }
        return cfg_fail(p, EINVAL, "unknown namespace type \"%s\"", s);
}

static const struct field namespace_fields[] = {
        FIELD("type", fp_namespace_type, struct namespace_entry, type, REQUIRED),
        FIELD("path", fp_abs_path, struct namespace_entry, path),
};

static int fp_namespaces(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        struct oci_namespace *ns = MEMBER(base, f, struct oci_namespace);
        if (!YAJL_IS_ARRAY(v))
                return cfg_fail_type(p, v, "an array of objects");
        for (size_t i = 0; i < v->u.array.len; i++) {
                size_t mark = cfg_path_index(p, i);
                struct namespace_entry e = { .type = -1 };
                int r = cfg_parse_object(p, v->u.array.values[i], namespace_fields,
                                         ELEMENTSOF(namespace_fields), &e);
                _cleanup_free_ char *path = e.path;
                if (r < 0)
                        return r;
                if (ns[e.type].present) {
                        cfg_path_key(p, "type");
                        return cfg_fail(p, EINVAL, "namespace \"%s\" given twice", namespace_names[e.type]);
                }
                ns[e.type].present = true;
                ns[e.type].path = TAKE_PTR(path);
                cfg_path_pop(p, mark);
        }
        return 0;
}

static int fp_nanosecs(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        return cfg_get_int(p, v, 0, 999999999, MEMBER(base, f, int64_t));
}

static const struct field boottime_fields[] = {
        FIELD("secs", fp_i64, struct oci_linux, boottime_secs),
        FIELD("nanosecs", fp_nanosecs, struct oci_linux, boottime_nsecs),
};

static const struct field monotonic_fields[] = {
        FIELD("secs", fp_i64, struct oci_linux, monotonic_secs),
        FIELD("nanosecs", fp_nanosecs, struct oci_linux, monotonic_nsecs),
};

static const struct field time_offsets_fields[] = {
        FLAT("boottime", boottime_fields),
        FLAT("monotonic", monotonic_fields),
        /* keys are clock names: the one other clock a user may expect to move is refused by name */
        REFUSED("realtime", "a time namespace offsets only monotonic and boottime"),
};

static int fp_device_type(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        const char *s;
        int r = cfg_get_string(p, v, &s);
        if (r < 0)
                return r;
        if (strlen(s) != 1 || !strchr("cbup", s[0]))
                return cfg_fail(p, EINVAL, "expected \"c\", \"b\", \"u\" or \"p\", got \"%s\"", s);
        *MEMBER(base, f, char) = s[0];
        return 0;
}

/* Go encoders write os.FileMode, whose type bits sit above 07777: keep the permission bits. */
static int fp_file_mode(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        uint64_t x;
        int r = cfg_get_uint(p, v, UINT32_MAX, &x);
        if (r >= 0)
                *MEMBER(base, f, uint32_t) = (uint32_t)(x > 07777 ? x & 0777 : x);
        return r;
}

static int check_device(struct parser *p, yajl_val v, void *obj)
{
        struct oci_device *d = obj;
        if (d->type == 'p')
                return 0;
        const char *missing = !cfg_json_get(v, "major")   ? "major"
                              : !cfg_json_get(v, "minor") ? "minor"
                                                          : NULL;
        if (missing) {
                cfg_path_key(p, missing);
                return cfg_fail(p, EINVAL, "required for device type '%c'", d->type);
        }
        return 0;
}

static const struct field device_fields[] = {
        FIELD("path", fp_abs_path, struct oci_device, path, REQUIRED),
        FIELD("type", fp_device_type, struct oci_device, type, REQUIRED),
        FIELD("major", fp_i64, struct oci_device, major),
        FIELD("minor", fp_i64, struct oci_device, minor),
        FIELD("fileMode", fp_file_mode, struct oci_device, file_mode, HAS(struct oci_device, has_file_mode)),
        FIELD("uid", fp_u32, struct oci_device, uid, HAS(struct oci_device, has_uid)),
        FIELD("gid", fp_u32, struct oci_device, gid, HAS(struct oci_device, has_gid)),
};

static int fp_personality(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        const char *s;
        int r = cfg_get_string(p, v, &s);
        if (r < 0)
                return r;
        if (streq(s, "LINUX"))
                *MEMBER(base, f, unsigned long) = PER_LINUX;
        else if (streq(s, "LINUX32"))
                *MEMBER(base, f, unsigned long) = PER_LINUX32;
        else
                return cfg_fail(p, EINVAL, "expected \"LINUX\" or \"LINUX32\", got \"%s\"", s);
        return 0;
}

static const struct field personality_fields[] = {
        FIELD("domain", fp_personality, struct oci_linux, personality, REQUIRED),
        EMPTY_OK("flags", "personality flags"),
};

static int validate_absolute(struct parser *p, const char *s)
{
        return is_absolute(s) ? 0 : cfg_fail(p, EINVAL, "expected an absolute path, got \"%s\"", s);
}

static int fp_propagation(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        const char *s;
        int r = cfg_get_string(p, v, &s);
        if (r < 0)
                return r;
        if (!*s) {
                *MEMBER(base, f, unsigned long) = 0;
                return 0;
        }
        if (mount_propagation_from_name(s, MEMBER(base, f, unsigned long)) < 0)
                return cfg_fail(p, EINVAL,
                                "unknown propagation \"%s\" (expected shared, slave, private or unbindable)",
                                s);
        return 0;
}

static bool has_dotdot(const char *path)
{
        for (const char *s = path; (s = strstr(s, "..")); s += 2)
                if ((s == path || s[-1] == '/') && (s[2] == '\0' || s[2] == '/'))
                        return true;
        return false;
}

static int fp_cgroups_path(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        const char *s;
        int r = cfg_get_string(p, v, &s);
        if (r < 0)
                return r;
        if (has_dotdot(s))
                return cfg_fail(p, EINVAL, "must not contain \"..\": \"%s\"", s);
        return cfg_set_string(p, s, MEMBER(base, f, char *));
}

static const struct field linux_fields[] = {
        FIELD("namespaces", fp_namespaces, struct oci_linux, namespaces),
        ID_MAPPINGS("uidMappings", struct oci_linux, uid_mappings, n_uid_mappings),
        ID_MAPPINGS("gidMappings", struct oci_linux, gid_mappings, n_gid_mappings),
        FLAT("timeOffsets", time_offsets_fields, HAS(struct oci_linux, has_time_offsets)),
        OBJECT_ARRAY("devices", device_fields, struct oci_linux, devices, n_devices, struct oci_device,
                     .check = check_device),
        FIELD("cgroupsPath", fp_cgroups_path, struct oci_linux, cgroups_path),
        OBJECT("resources", resources_fields, struct oci_linux, resources,
               HAS(struct oci_linux, has_resources)),
        FIELD("sysctl", fp_strmap, struct oci_linux, sysctl, .validate = validate_file_key),
        { .key = "seccomp", .parse = fp_seccomp },
        FIELD("rootfsPropagation", fp_propagation, struct oci_linux, rootfs_propagation),
        FIELD("maskedPaths", fp_strv, struct oci_linux, masked_paths, .validate = validate_absolute),
        FIELD("readonlyPaths", fp_strv, struct oci_linux, readonly_paths, .validate = validate_absolute),
        EMPTY_OK("mountLabel", "no SELinux support"),
        FLAT("personality", personality_fields, HAS(struct oci_linux, has_personality)),
        REFUSED("intelRdt", "no Intel RDT support"),
        REFUSED("netDevices", "no network device moves"),
        REFUSED("memoryPolicy", "no set_mempolicy support"),
};

int fp_linux(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        return cfg_parse_object(p, v, linux_fields, ELEMENTSOF(linux_fields),
                                MEMBER(base, f, struct oci_linux));
}

/* ---- public --------------------------------------------------------------------------------------------- */

int oci_resources_parse(const char *json, size_t len, const char *origin, struct oci_resources *ret_resources,
                        struct coi_error *err)
{
        _cleanup_yajl_ yajl_val root = NULL;
        struct parser p = { .origin = origin, .err = err };
        struct oci_resources res = { 0 };

        int r = cfg_json_parse(json, len, origin, &root, err);
        if (r < 0)
                return r;
        r = cfg_parse_object(&p, root, resources_fields, ELEMENTSOF(resources_fields), &res);
        if (r < 0) {
                oci_resources_done(&res);
                return r;
        }
        oci_device_rules_summarize(&res, NULL, 0);
        *ret_resources = res;
        return 0;
}

const char *oci_namespace_name(enum oci_namespace_type type)
{
        return (unsigned)type < _OCI_NS_MAX ? namespace_names[type] : NULL;
}

/* ---- freeing -------------------------------------------------------------------------------------------- */

void oci_resources_done(struct oci_resources *resources)
{
        if (!resources)
                return;
        free(resources->cpu_cpus);
        free(resources->cpu_mems);
        free(resources->io_devices);
        strv_free(resources->unified);
        free(resources->device_rules);
        memset(resources, 0, sizeof(*resources));
}

static void seccomp_free(struct oci_seccomp *s)
{
        if (!s)
                return;
        free(s->architectures);
        strv_free(s->flags);
        free(s->listener_path);
        for (size_t i = 0; i < s->n_syscalls; i++) {
                strv_free(s->syscalls[i].names);
                free(s->syscalls[i].args);
        }
        free(s->syscalls);
        free(s);
}

void oci_linux_done(struct oci_linux *l)
{
        for (int t = 0; t < _OCI_NS_MAX; t++)
                free(l->namespaces[t].path);
        free(l->uid_mappings);
        free(l->gid_mappings);
        for (size_t i = 0; i < l->n_devices; i++)
                free(l->devices[i].path);
        free(l->devices);
        strv_free(l->sysctl);
        strv_free(l->masked_paths);
        strv_free(l->readonly_paths);
        free(l->cgroups_path);
        oci_resources_done(&l->resources);
        seccomp_free(l->seccomp);
        free(l->mount_label);
        memset(l, 0, sizeof(*l));
}
