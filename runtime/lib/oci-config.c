/* oci-config.c — config.json (runtime-spec 1.1) into the plain structs of oci-config.h: the document, process,
 * mounts and hooks (linux.* is oci-config-linux.c, the table engine oci-config-json.c); freeing. */
#include <inttypes.h>
#include <limits.h>
#include <sys/resource.h>

#include "capabilities.h"
#include "mount-options.h"
#include "oci-config-internal.h"

/* ---- process ------------------------------------------------------------------------------------------ */

static const struct {
        const char *name;
        int resource;
} rlimit_table[] = {
        { "RLIMIT_AS", RLIMIT_AS },
        { "RLIMIT_CORE", RLIMIT_CORE },
        { "RLIMIT_CPU", RLIMIT_CPU },
        { "RLIMIT_DATA", RLIMIT_DATA },
        { "RLIMIT_FSIZE", RLIMIT_FSIZE },
        { "RLIMIT_LOCKS", RLIMIT_LOCKS },
        { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
        { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
        { "RLIMIT_NICE", RLIMIT_NICE },
        { "RLIMIT_NOFILE", RLIMIT_NOFILE },
        { "RLIMIT_NPROC", RLIMIT_NPROC },
        { "RLIMIT_RSS", RLIMIT_RSS },
        { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
        { "RLIMIT_RTTIME", RLIMIT_RTTIME },
        { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
        { "RLIMIT_STACK", RLIMIT_STACK },
};

static int fp_rlimit_type(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        struct oci_rlimit *rl = base;
        const char *s;
        int r = cfg_get_string(p, v, &s);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(rlimit_table); i++)
                if (streq(rlimit_table[i].name, s)) {
                        rl->resource = rlimit_table[i].resource;
                        return cfg_set_string(p, s, &rl->type);
                }
        return cfg_fail(p, EINVAL, "unknown rlimit \"%s\"", s);
}

static int check_rlimit(struct parser *p, yajl_val v, void *obj)
{
        struct oci_rlimit *rl = obj;
        if (rl->soft > rl->hard)
                return cfg_fail(p, EINVAL, "soft limit %" PRIu64 " is above the hard limit %" PRIu64,
                                rl->soft, rl->hard);
        return 0;
}

static int fp_cap_set(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        if (!YAJL_IS_ARRAY(v))
                return cfg_fail_type(p, v, "an array of capability names");
        uint64_t mask = 0;
        for (size_t i = 0; i < v->u.array.len; i++) {
                size_t mark = cfg_path_index(p, i);
                const char *name;
                int cap, r = cfg_get_string(p, v->u.array.values[i], &name);
                if (r < 0)
                        return r;
                if (capability_from_name(name, &cap) < 0 || cap < 0 || cap >= 64)
                        return cfg_fail(p, EINVAL, "unknown capability \"%s\"", name);
                mask |= UINT64_C(1) << cap;
                cfg_path_pop(p, mark);
        }
        *MEMBER(base, f, uint64_t) = mask;
        return 0;
}

static int fp_oom_score_adj(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        int64_t x;
        int r = cfg_get_int(p, v, -1000, 1000, &x);
        if (r >= 0)
                *MEMBER(base, f, int) = (int)x;
        return r;
}

static int check_process(struct parser *p, yajl_val v, void *obj)
{
        struct oci_process *pr = obj;
        for (size_t i = 0; i < pr->n_rlimits; i++)
                for (size_t j = 0; j < i; j++)
                        if (pr->rlimits[i].resource == pr->rlimits[j].resource) {
                                cfg_path_key(p, "rlimits");
                                cfg_path_index(p, i);
                                cfg_path_key(p, "type");
                                return cfg_fail(p, EINVAL, "%s given twice", pr->rlimits[i].type);
                        }
        return 0;
}

static int validate_env(struct parser *p, const char *s)
{
        const char *eq = strchr(s, '=');
        return eq && eq != s ? 0 : cfg_fail(p, EINVAL, "expected \"NAME=value\", got \"%s\"", s);
}

static int fp_args(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        int r = cfg_parse_strv(p, v, NULL, MEMBER(base, f, char **));
        if (r >= 0 && !**MEMBER(base, f, char **))
                return cfg_fail(p, EINVAL, "must name at least the program to run");
        return r;
}

static const struct field console_size_fields[] = {
        FIELD("height", fp_unsigned, struct oci_process, console_height, REQUIRED),
        FIELD("width", fp_unsigned, struct oci_process, console_width, REQUIRED),
};

static const struct field user_fields[] = {
        FIELD("uid", fp_u32, struct oci_user, uid),
        FIELD("gid", fp_u32, struct oci_user, gid),
        FIELD("umask", fp_umask, struct oci_user, umask, HAS(struct oci_user, has_umask)),
        FIELD("additionalGids", fp_u32_array, struct oci_user, additional_gids,
              .count = offsetof(struct oci_user, n_additional_gids)),
        EMPTY_OK("username", "Windows only"),
};

static const struct field capabilities_fields[] = {
        FIELD("bounding", fp_cap_set, struct oci_capabilities, bounding),
        FIELD("effective", fp_cap_set, struct oci_capabilities, effective),
        FIELD("inheritable", fp_cap_set, struct oci_capabilities, inheritable),
        FIELD("permitted", fp_cap_set, struct oci_capabilities, permitted),
        FIELD("ambient", fp_cap_set, struct oci_capabilities, ambient),
};

static const struct field rlimit_fields[] = {
        FIELD("type", fp_rlimit_type, struct oci_rlimit, type, REQUIRED),
        FIELD("hard", fp_u64, struct oci_rlimit, hard, REQUIRED),
        FIELD("soft", fp_u64, struct oci_rlimit, soft, REQUIRED),
};

static const struct field process_fields[] = {
        FIELD("terminal", fp_bool, struct oci_process, terminal),
        FLAT("consoleSize", console_size_fields, HAS(struct oci_process, has_console_size)),
        OBJECT("user", user_fields, struct oci_process, user),
        FIELD("args", fp_args, struct oci_process, args, REQUIRED),
        REFUSED("commandLine", "Windows only"),
        FIELD("env", fp_strv, struct oci_process, env, .validate = validate_env),
        FIELD("cwd", fp_abs_path, struct oci_process, cwd, REQUIRED),
        OBJECT("capabilities", capabilities_fields, struct oci_process, caps,
               HAS(struct oci_process, caps.present)),
        OBJECT_ARRAY("rlimits", rlimit_fields, struct oci_process, rlimits, n_rlimits, struct oci_rlimit,
                     .check = check_rlimit),
        FIELD("noNewPrivileges", fp_bool, struct oci_process, no_new_privileges),
        FIELD("oomScoreAdj", fp_oom_score_adj, struct oci_process, oom_score_adj,
              HAS(struct oci_process, has_oom_score_adj)),
        EMPTY_OK("apparmorProfile", "no AppArmor support"),
        EMPTY_OK("selinuxLabel", "no SELinux support"),
        REFUSED("scheduler", "no sched_setattr support yet"),
        REFUSED("ioPriority", "no ioprio_set support yet"),
        REFUSED("execCPUAffinity", "no CPU affinity support yet"),
};

/* ---- mounts and hooks --------------------------------------------------------------------------------- */

static int fp_mount_options(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        struct oci_mount *m = base;
        int r = cfg_parse_strv(p, v, NULL, &m->options);
        for (char **o = m->options; r >= 0 && *o; o++)
                if (**o && mount_apply_option(m, *o, &m->data) < 0)
                        return cfg_fail(p, ENOMEM, "out of memory");
        return r;
}

static int fp_mount_destination(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        struct oci_mount *m = base;
        const char *s;
        int r = cfg_get_string(p, v, &s);
        if (r < 0)
                return r;
        if (!*s)
                return cfg_fail(p, EINVAL, "must not be empty");
        /* Relative destinations are deprecated but allowed: they are relative to "/". */
        m->destination = is_absolute(s) ? strdup(s) : xasprintf("/%s", s);
        return m->destination ? 0 : cfg_fail(p, ENOMEM, "out of memory");
}

static const struct field mount_fields[] = {
        FIELD("destination", fp_mount_destination, struct oci_mount, destination, REQUIRED),
        FIELD("type", fp_string, struct oci_mount, type),
        FIELD("source", fp_string, struct oci_mount, source),
        FIELD("options", fp_mount_options, struct oci_mount, options),
        ID_MAPPINGS("uidMappings", struct oci_mount, uid_mappings, n_uid_mappings),
        ID_MAPPINGS("gidMappings", struct oci_mount, gid_mappings, n_gid_mappings),
};

static int fp_hook_timeout(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        int64_t x;
        int r = cfg_get_int(p, v, 1, INT_MAX, &x);
        if (r >= 0)
                *MEMBER(base, f, int) = (int)x;
        return r;
}

static const struct field hook_fields[] = {
        FIELD("path", fp_abs_path, struct oci_hook, path, REQUIRED),
        FIELD("args", fp_strv, struct oci_hook, args),
        FIELD("env", fp_strv, struct oci_hook, env, .validate = validate_env),
        FIELD("timeout", fp_hook_timeout, struct oci_hook, timeout, HAS(struct oci_hook, has_timeout)),
};

#define HOOKS(k, kind)                                                                                       \
        OBJECT_ARRAY(k, hook_fields, struct oci_config, hooks[kind], n_hooks[kind], struct oci_hook)

static const struct field hooks_fields[] = {
        HOOKS("prestart", OCI_HOOK_PRESTART),
        HOOKS("createRuntime", OCI_HOOK_CREATE_RUNTIME),
        HOOKS("createContainer", OCI_HOOK_CREATE_CONTAINER),
        HOOKS("startContainer", OCI_HOOK_START_CONTAINER),
        HOOKS("poststart", OCI_HOOK_POSTSTART),
        HOOKS("poststop", OCI_HOOK_POSTSTOP),
};

/* ---- the document ------------------------------------------------------------------------------------- */

static int fp_oci_version(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        const char *s;
        int r = cfg_get_string(p, v, &s);
        if (r < 0)
                return r;
        /* Every 1.x document is read: later minors only add fields, and unknown ones are refused by name. */
        if (!startswith(s, "1.") || !strchr("0123456789", s[2]) || !s[2])
                return cfg_fail(p, ENOTSUP, "unsupported version \"%s\" (coi-runtime reads 1.x)", s);
        return cfg_set_string(p, s, MEMBER(base, f, char *));
}

static int validate_annotation_key(struct parser *p, const char *key)
{
        return *key ? 0 : cfg_fail(p, EINVAL, "annotation keys must not be empty");
}

static const struct field root_fields[] = {
        FIELD("path", fp_nonempty_string, struct oci_config, root_path, REQUIRED),
        FIELD("readonly", fp_bool, struct oci_config, root_readonly),
};

static const struct field config_fields[] = {
        FIELD("ociVersion", fp_oci_version, struct oci_config, oci_version, REQUIRED),
        FLAT("root", root_fields, REQUIRED),
        OBJECT_ARRAY("mounts", mount_fields, struct oci_config, mounts, n_mounts, struct oci_mount),
        OBJECT("process", process_fields, struct oci_config, process, HAS(struct oci_config, has_process),
               .check = check_process),
        FIELD("hostname", fp_string, struct oci_config, hostname),
        FIELD("domainname", fp_string, struct oci_config, domainname),
        FLAT("hooks", hooks_fields),
        FIELD("annotations", fp_strmap, struct oci_config, annotations, .validate = validate_annotation_key),
        FIELD("linux", fp_linux, struct oci_config, linux_),
        REFUSED("solaris", "not a Linux configuration"),
        REFUSED("windows", "not a Linux configuration"),
        REFUSED("zos", "not a Linux configuration"),
        REFUSED("vm", "no virtual-machine containers"),
};

/* What only makes sense across sections. */
static int check_config(struct parser *p, struct oci_config *c)
{
        struct oci_linux *l = &c->linux_;
        const struct oci_namespace *userns = &l->namespaces[OCI_NS_USER];

        if ((l->n_uid_mappings || l->n_gid_mappings) && !userns->present) {
                cfg_path_key(p, "linux");
                cfg_path_key(p, l->n_uid_mappings ? "uidMappings" : "gidMappings");
                return cfg_fail(p, EINVAL, "needs a user namespace in linux.namespaces");
        }
        if (userns->present && !userns->path && (!l->n_uid_mappings || !l->n_gid_mappings)) {
                cfg_path_key(p, "linux");
                cfg_path_key(p, !l->n_uid_mappings ? "uidMappings" : "gidMappings");
                return cfg_fail(p, EINVAL, "required to create a user namespace");
        }
        if (l->has_time_offsets && (!l->namespaces[OCI_NS_TIME].present || l->namespaces[OCI_NS_TIME].path)) {
                cfg_path_key(p, "linux");
                cfg_path_key(p, "timeOffsets");
                return cfg_fail(p, EINVAL, "needs a new time namespace in linux.namespaces");
        }
        oci_device_rules_summarize(&l->resources, l->devices, l->n_devices);
        return 0;
}

int oci_config_parse(const char *json, size_t len, const char *origin, struct oci_config **ret_config,
                     struct coi_error *err)
{
        _cleanup_yajl_ yajl_val root = NULL;
        struct parser p = { .origin = origin, .err = err };

        int r = cfg_json_parse(json, len, origin, &root, err);
        if (r < 0)
                return r;
        _cleanup_(oci_config_freep) struct oci_config *c = calloc(1, sizeof(*c));
        if (!c)
                return coi_error_set(err, ENOMEM, "%s: out of memory", origin ? origin : "config");
        r = cfg_parse_object(&p, root, config_fields, ELEMENTSOF(config_fields), c);
        if (r < 0)
                return r;
        r = check_config(&p, c);
        if (r < 0)
                return r;
        *ret_config = TAKE_PTR(c);
        return 0;
}

int oci_config_load(const char *path, struct oci_config **ret_config, struct coi_error *err)
{
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r = read_file_at(AT_FDCWD, path, 16 << 20, &data, &len, err);
        if (r < 0)
                return r;
        return oci_config_parse(data, len, path, ret_config, err);
}

int oci_process_parse(const char *json, size_t len, const char *origin, struct oci_process *ret_process,
                      struct coi_error *err)
{
        _cleanup_yajl_ yajl_val root = NULL;
        struct parser p = { .origin = origin, .err = err };
        struct oci_process process = { 0 };

        int r = cfg_json_parse(json, len, origin, &root, err);
        if (r < 0)
                return r;
        r = cfg_parse_object(&p, root, process_fields, ELEMENTSOF(process_fields), &process);
        if (r >= 0)
                r = check_process(&p, root, &process);
        if (r < 0) {
                oci_process_done(&process);
                return r;
        }
        *ret_process = process;
        return 0;
}

const char *oci_config_annotation(const struct oci_config *config, const char *key)
{
        for (char **kv = config ? config->annotations : NULL; kv && kv[0] && kv[1]; kv += 2)
                if (streq(kv[0], key))
                        return kv[1];
        return NULL;
}

const char *oci_hook_name(enum oci_hook_kind kind)
{
        return (unsigned)kind < _OCI_HOOK_MAX ? hooks_fields[kind].key : NULL;
}

/* ---- freeing ------------------------------------------------------------------------------------------ */

void oci_process_done(struct oci_process *process)
{
        if (!process)
                return;
        free(process->user.additional_gids);
        free(process->user.username);
        strv_free(process->args);
        strv_free(process->env);
        free(process->cwd);
        for (size_t i = 0; i < process->n_rlimits; i++)
                free(process->rlimits[i].type);
        free(process->rlimits);
        free(process->apparmor_profile);
        free(process->selinux_label);
        memset(process, 0, sizeof(*process));
}

void oci_config_free(struct oci_config *config)
{
        if (!config)
                return;
        free(config->oci_version);
        free(config->root_path);
        free(config->hostname);
        free(config->domainname);
        oci_process_done(&config->process);
        for (size_t i = 0; i < config->n_mounts; i++) {
                struct oci_mount *m = &config->mounts[i];
                free(m->destination);
                free(m->type);
                free(m->source);
                strv_free(m->options);
                free(m->data);
                free(m->uid_mappings);
                free(m->gid_mappings);
        }
        free(config->mounts);
        for (int k = 0; k < _OCI_HOOK_MAX; k++) {
                for (size_t i = 0; i < config->n_hooks[k]; i++) {
                        free(config->hooks[k][i].path);
                        strv_free(config->hooks[k][i].args);
                        strv_free(config->hooks[k][i].env);
                }
                free(config->hooks[k]);
        }
        strv_free(config->annotations);
        oci_linux_done(&config->linux_);
        free(config);
}
