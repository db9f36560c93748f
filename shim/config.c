/* config.c — the key table (name, type, offset, default) and everything driven by it: defaults, laying
 * TOML files, environment variables and flags over struct config, origins, and `config show` output. */
#include <ctype.h>
#include <inttypes.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "profile.h"
#include "toml.h"
#include "util.h"

enum key_type {
        T_STRING,
        T_BOOL,
        T_INT,
        T_FLOAT,
        T_STRV,
        T_ENV,    /* defaults.environment: a table of strings */
        T_MOUNTS, /* mounts.default: an array of { host, container, readonly } tables */
};

enum {
        F_HOME = 1 << 0,     /* "~" expands to $HOME */
        F_RELATIVE = 1 << 1, /* relative to the directory of the file that sets it */
        F_UNION = 1 << 2,    /* a later file or profile adds missing entries instead of replacing */
};

struct key_def {
        const char *key;
        enum key_type type;
        size_t offset;
        const char *def; /* the default as a TOML value; NULL = empty */
        unsigned flags;
        const char *const *choices; /* allowed values of a string, NULL-terminated */
};

static const char *const network_modes[] = { "restricted", "allowlist", "open", NULL };
static const char *const permission_modes[] = { "bypass", "interactive", NULL };
static const char *const timezone_modes[] = { "host", "fixed", "utc", NULL };
static const char *const enforce_modes[] = { "hard", "soft", NULL };

#define K(k, t, member, def, flags, choices)                                                                 \
        {                                                                                                    \
                k, t, offsetof(struct config, member), def, flags, choices                                   \
        }

/* code-on-incus 0.8's keys in its order, with its defaults. */
static const struct key_def keys[] = {
        K("container.image", T_STRING, container.image, "\"coi-default\"", 0, NULL),
        K("container.persistent", T_BOOL, container.persistent, "false", 0, NULL),
        K("container.storage_pool", T_STRING, container.storage_pool, "\"\"", 0, NULL),
        K("container.build.base", T_STRING, container.build.base, "\"\"", 0, NULL),
        K("container.build.script", T_STRING, container.build.script, "\"\"", F_HOME | F_RELATIVE, NULL),
        K("container.build.commands", T_STRV, container.build.commands, "[]", 0, NULL),
        K("defaults.model", T_STRING, defaults.model, "\"claude-sonnet-4-5\"", 0, NULL),
        K("defaults.forward_env", T_STRV, defaults.forward_env, "[]", F_UNION, NULL),
        K("defaults.environment", T_ENV, defaults.environment, NULL, 0, NULL),
        K("paths.sessions_dir", T_STRING, paths.sessions_dir, "\"~/.coi/sessions\"", F_HOME, NULL),
        K("paths.storage_dir", T_STRING, paths.storage_dir, "\"~/.coi/storage\"", F_HOME, NULL),
        K("paths.logs_dir", T_STRING, paths.logs_dir, "\"~/.coi/logs\"", F_HOME, NULL),
        K("paths.preserve_workspace_path", T_BOOL, paths.preserve_workspace_path, "false", 0, NULL),
        K("incus.project", T_STRING, incus.project, "\"default\"", 0, NULL),
        K("incus.group", T_STRING, incus.group, "\"incus-admin\"", 0, NULL),
        K("incus.code_uid", T_INT, incus.code_uid, "1000", 0, NULL),
        K("incus.code_user", T_STRING, incus.code_user, "\"code\"", 0, NULL),
        K("incus.disable_shift", T_BOOL, incus.disable_shift, "false", 0, NULL),
        K("network.mode", T_STRING, network.mode, "\"restricted\"", 0, network_modes),
        K("network.block_private_networks", T_BOOL, network.block_private_networks, "true", 0, NULL),
        K("network.block_metadata_endpoint", T_BOOL, network.block_metadata_endpoint, "true", 0, NULL),
        K("network.allowed_domains", T_STRV, network.allowed_domains,
          "[\"8.8.8.8\", \"1.1.1.1\", \"registry.npmjs.org\", \"npm.pkg.github.com\", \"api.anthropic.com\", "
          "\"platform.claude.com\"]",
          0, NULL),
        K("network.refresh_interval_minutes", T_INT, network.refresh_interval_minutes, "30", 0, NULL),
        K("network.allow_local_network_access", T_BOOL, network.allow_local_network_access, "false", 0, NULL),
        K("network.logging.enabled", T_BOOL, network.logging.enabled, "true", 0, NULL),
        K("network.logging.path", T_STRING, network.logging.path, "\"~/.coi/logs/network.log\"", F_HOME,
          NULL),
        K("tool.name", T_STRING, tool.name, "\"claude\"", 0, NULL),
        K("tool.binary", T_STRING, tool.binary, "\"\"", 0, NULL),
        K("tool.permission_mode", T_STRING, tool.permission_mode, "\"bypass\"", 0, permission_modes),
        K("tool.context_file", T_STRING, tool.context_file, "\"\"", F_HOME, NULL),
        K("tool.auto_context", T_BOOL, tool.auto_context, "true", 0, NULL),
        K("tool.claude.effort_level", T_STRING, tool.claude.effort_level, "\"\"", 0, NULL),
        K("mounts.default", T_MOUNTS, mounts.default_, NULL, 0, NULL),
        K("limits.cpu.count", T_STRING, limits.cpu.count, "\"\"", 0, NULL),
        K("limits.cpu.allowance", T_STRING, limits.cpu.allowance, "\"\"", 0, NULL),
        K("limits.cpu.priority", T_INT, limits.cpu.priority, "0", 0, NULL),
        K("limits.memory.limit", T_STRING, limits.memory.limit, "\"\"", 0, NULL),
        K("limits.memory.enforce", T_STRING, limits.memory.enforce, "\"soft\"", 0, enforce_modes),
        K("limits.memory.swap", T_STRING, limits.memory.swap, "\"true\"", 0, NULL),
        K("limits.disk.read", T_STRING, limits.disk.read, "\"\"", 0, NULL),
        K("limits.disk.write", T_STRING, limits.disk.write, "\"\"", 0, NULL),
        K("limits.disk.max", T_STRING, limits.disk.max, "\"\"", 0, NULL),
        K("limits.disk.priority", T_INT, limits.disk.priority, "0", 0, NULL),
        K("limits.disk.tmpfs_size", T_STRING, limits.disk.tmpfs_size, "\"\"", 0, NULL),
        K("limits.runtime.max_duration", T_STRING, limits.runtime.max_duration, "\"\"", 0, NULL),
        K("limits.runtime.max_processes", T_INT, limits.runtime.max_processes, "0", 0, NULL),
        K("limits.runtime.auto_stop", T_BOOL, limits.runtime.auto_stop, "true", 0, NULL),
        K("limits.runtime.stop_graceful", T_BOOL, limits.runtime.stop_graceful, "true", 0, NULL),
        K("git.writable_hooks", T_BOOL, git.writable_hooks, "false", 0, NULL),
        K("ssh.forward_agent", T_BOOL, ssh.forward_agent, "false", 0, NULL),
        K("security.protected_paths", T_STRV, security.protected_paths,
          "[\".git/hooks\", \".git/config\", \".husky\", \".vscode\"]", 0, NULL),
        K("security.additional_protected_paths", T_STRV, security.additional_protected_paths, "[]", 0, NULL),
        K("security.disable_protection", T_BOOL, security.disable_protection, "false", 0, NULL),
        K("monitoring.enabled", T_BOOL, monitoring.enabled, "false", 0, NULL),
        K("monitoring.auto_pause_on_high", T_BOOL, monitoring.auto_pause_on_high, "true", 0, NULL),
        K("monitoring.auto_kill_on_critical", T_BOOL, monitoring.auto_kill_on_critical, "true", 0, NULL),
        K("monitoring.poll_interval_sec", T_INT, monitoring.poll_interval_sec, "2", 0, NULL),
        K("monitoring.file_read_threshold_mb", T_FLOAT, monitoring.file_read_threshold_mb, "50.0", 0, NULL),
        K("monitoring.file_read_rate_mb_per_sec", T_FLOAT, monitoring.file_read_rate_mb_per_sec, "10.0", 0,
          NULL),
        K("monitoring.audit_log_retention_days", T_INT, monitoring.audit_log_retention_days, "30", 0, NULL),
        K("monitoring.nft.enabled", T_BOOL, monitoring.nft.enabled, "false", 0, NULL),
        K("monitoring.nft.rate_limit_per_second", T_INT, monitoring.nft.rate_limit_per_second, "100", 0,
          NULL),
        K("monitoring.nft.dns_query_threshold", T_INT, monitoring.nft.dns_query_threshold, "100", 0, NULL),
        K("monitoring.nft.log_dns_queries", T_BOOL, monitoring.nft.log_dns_queries, "true", 0, NULL),
        K("monitoring.nft.lima_host", T_STRING, monitoring.nft.lima_host, "\"\"", 0, NULL),
        K("timezone.mode", T_STRING, timezone.mode, "\"host\"", 0, timezone_modes),
        K("timezone.name", T_STRING, timezone.name, "\"\"", 0, NULL),
};
#define N_KEYS ELEMENTSOF(keys)

/* In a profile's root table these names stand for their [defaults]/[mounts] keys. */
static const struct {
        const char *name;
        const char *key;
} profile_aliases[] = {
        { "environment", "defaults.environment" },
        { "forward_env", "defaults.forward_env" },
        { "model", "defaults.model" },
        { "mounts", "mounts.default" },
};

/* Pre-0.8 places of keys that code-on-incus 0.8 moved under [container]. */
static const struct {
        const char *file_key, *profile_key, *moved_to;
} moved_keys[] = {
        { "defaults.image", "image", "[container] image" },
        { "defaults.persistent", "persistent", "[container] persistent" },
        { "build", "build", "[container.build]" },
};

/* The variables code-on-incus reads, and nothing else. */
static const struct {
        const char *var;
        const char *key;
        bool true_only; /* only "true" or "1" sets true; anything else is ignored */
} env_vars[] = {
        { "CLAUDE_ON_INCUS_IMAGE", "container.image", false },
        { "CLAUDE_ON_INCUS_SESSIONS_DIR", "paths.sessions_dir", false },
        { "CLAUDE_ON_INCUS_STORAGE_DIR", "paths.storage_dir", false },
        { "CLAUDE_ON_INCUS_PERSISTENT", "container.persistent", true },
        { "COI_LIMIT_CPU", "limits.cpu.count", false },
        { "COI_LIMIT_CPU_ALLOWANCE", "limits.cpu.allowance", false },
        { "COI_LIMIT_MEMORY", "limits.memory.limit", false },
        { "COI_LIMIT_MEMORY_SWAP", "limits.memory.swap", false },
        { "COI_LIMIT_DISK_READ", "limits.disk.read", false },
        { "COI_LIMIT_DISK_WRITE", "limits.disk.write", false },
        { "COI_LIMIT_DURATION", "limits.runtime.max_duration", false },
};

#define FIELD(c, k, T) ((T *)((char *)(c) + (k)->offset))

/* What laying one document needs to know. */
struct apply_ctx {
        struct config *c;
        const char *file;
        const char *home;
        char *dir; /* of file, for F_RELATIVE */
        enum config_layer layer;
};

static int key_index(const char *key)
{
        for (size_t i = 0; i < N_KEYS; i++)
                if (streq(keys[i].key, key))
                        return (int)i;
        return -1;
}

bool config_key_exists(const char *key)
{
        return key_index(key) >= 0;
}

/* True if some key lives below prefix ("limits", "limits.cpu"). */
static bool is_section(const char *prefix)
{
        size_t n = strlen(prefix);
        for (size_t i = 0; i < N_KEYS; i++)
                if (strncmp(keys[i].key, prefix, n) == 0 && keys[i].key[n] == '.')
                        return true;
        return false;
}

static void env_clear(struct config_env *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(v[i].name);
                free(v[i].value);
                free(v[i].origin);
        }
        free(v);
}

static void mounts_clear(struct config_mount *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(v[i].host);
                free(v[i].container);
                free(v[i].origin);
        }
        free(v);
}

void config_free(struct config *c)
{
        if (!c)
                return;
        for (size_t i = 0; i < N_KEYS; i++) {
                const struct key_def *k = &keys[i];
                if (k->type == T_STRING)
                        free(*FIELD(c, k, char *));
                else if (k->type == T_STRV)
                        strv_free(*FIELD(c, k, char **));
                if (c->origins)
                        free(c->origins[i]);
        }
        env_clear(c->defaults.environment, c->defaults.n_environment);
        mounts_clear(c->mounts.default_, c->mounts.n_default);
        free(c->profile);
        strv_free(c->context_files);
        free(c->origins);
        free(c);
}

int config_new_empty(struct config **ret, struct coi_error *err)
{
        struct config *c = calloc(1, sizeof(*c));
        if (!c)
                return coi_error_set(err, ENOMEM, "allocate config: %m");
        c->origins = calloc(N_KEYS, sizeof(char *));
        if (!c->origins) {
                free(c);
                return coi_error_set(err, ENOMEM, "allocate config: %m");
        }
        *ret = c;
        return 0;
}

static int set_origin(struct config *c, size_t idx, const char *origin, struct coi_error *err)
{
        char *o = strdup(origin);
        if (!o)
                return coi_error_set(err, ENOMEM, "%s: %m", keys[idx].key);
        free(c->origins[idx]);
        c->origins[idx] = o;
        return 0;
}

/* "~" and "~/x" become $HOME and $HOME/x; anything else is copied. */
static char *expand_home(const char *path, const char *home)
{
        if (home && path[0] == '~' && (path[1] == '\0' || path[1] == '/'))
                return xasprintf("%s%s", home, path + 1);
        return strdup(path);
}

/* The text a string key stores: "~" expanded, relative paths resolved, as its flags say. */
static char *string_value(const struct key_def *k, const char *s, const char *home, const char *dir)
{
        if ((k->flags & F_HOME) && s[0] == '~')
                return expand_home(s, home);
        if ((k->flags & F_RELATIVE) && s[0] != '\0' && s[0] != '/' && dir)
                return xasprintf("%s/%s", dir, s);
        return strdup(s);
}

static int check_choice(const struct key_def *k, const char *s, const char *where, struct coi_error *err)
{
        if (!k->choices)
                return 0;
        char list[256] = "";
        for (const char *const *ch = k->choices; *ch; ch++) {
                if (streq(*ch, s))
                        return 0;
                snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
                         ch == k->choices ? "" : ", ", *ch);
        }
        return coi_error_set(err, EINVAL, "%s: must be one of %s, got \"%s\"", where, list, s);
}

static int strv_add_unique(char ***strv, const char *s)
{
        for (char **p = *strv; p && *p; p++)
                if (streq(*p, s))
                        return 0;
        return strv_push(strv, s);
}

static int env_set(struct config *c, const char *name, const char *value, const char *origin)
{
        struct config_env *v = c->defaults.environment;
        size_t n = c->defaults.n_environment;
        for (size_t i = 0; i < n; i++) {
                if (!streq(v[i].name, name))
                        continue;
                if (!value) { /* remove */
                        free(v[i].name);
                        free(v[i].value);
                        free(v[i].origin);
                        memmove(&v[i], &v[i + 1], (n - i - 1) * sizeof(*v));
                        c->defaults.n_environment--;
                        return 0;
                }
                char *nv = strdup(value), *no = strdup(origin);
                if (!nv || !no) {
                        free(nv);
                        free(no);
                        return -ENOMEM;
                }
                free(v[i].value);
                free(v[i].origin);
                v[i].value = nv;
                v[i].origin = no;
                return 0;
        }
        if (!value)
                return 0;
        v = realloc(v, (n + 1) * sizeof(*v));
        if (!v)
                return -ENOMEM;
        c->defaults.environment = v;
        v[n] = (struct config_env){ strdup(name), strdup(value), strdup(origin) };
        c->defaults.n_environment++;
        if (!v[n].name || !v[n].value || !v[n].origin)
                return -ENOMEM;
        return 0;
}

static int mount_add(struct config *c, const struct config_mount *m)
{
        struct config_mount *v = realloc(c->mounts.default_, (c->mounts.n_default + 1) * sizeof(*v));
        if (!v)
                return -ENOMEM;
        c->mounts.default_ = v;
        struct config_mount *n = &v[c->mounts.n_default++];
        *n = (struct config_mount){ strdup(m->host), strdup(m->container), m->readonly, strdup(m->origin) };
        if (!n->host || !n->container || !n->origin)
                return -ENOMEM;
        return 0;
}

/* "[container] image" for messages; a key of a profile's root table is just its name. */
static void describe(const char *written, char *buf, size_t size)
{
        const char *dot = strrchr(written, '.');
        if (!dot)
                snprintf(buf, size, "%s", written);
        else
                snprintf(buf, size, "[%.*s] %s", (int)(dot - written), written, dot + 1);
}

static const char *expected(enum key_type t)
{
        switch (t) {
        case T_STRING:
                return "a string";
        case T_BOOL:
                return "a boolean";
        case T_INT:
                return "an integer";
        case T_FLOAT:
                return "a number";
        case T_STRV:
                return "an array of strings";
        case T_ENV:
                return "a table of strings";
        case T_MOUNTS:
                return "an array of tables";
        }
        return "?";
}

static int type_error(const struct apply_ctx *ctx, const char *written, const struct toml_value *v,
                      enum key_type want, struct coi_error *err)
{
        char what[256];
        struct toml_pos p = toml_value_pos(v);
        describe(written, what, sizeof(what));
        return coi_error_set(err, EINVAL, "%s:%u:%u: %s: expected %s, got %s", ctx->file, p.line, p.col, what,
                             expected(want), toml_type_to_string(toml_value_type(v)));
}

static int apply_mounts(struct apply_ctx *ctx, const char *written, const struct toml_value *v,
                        struct coi_error *err)
{
        static const char *const fields[] = { "host", "container", "readonly" };
        struct config *c = ctx->c;
        if (toml_value_type(v) != TOML_ARRAY)
                return type_error(ctx, written, v, T_MOUNTS, err);
        /* A profile's list replaces its parent's; files append to what earlier files gave. */
        if (ctx->layer == CONFIG_LAYER_PROFILE) {
                mounts_clear(c->mounts.default_, c->mounts.n_default);
                c->mounts.default_ = NULL;
                c->mounts.n_default = 0;
        }
        for (size_t i = 0; i < toml_array_length(v); i++) {
                const struct toml_value *t = toml_array_get(v, i);
                struct toml_pos p = toml_value_pos(t);
                if (toml_value_type(t) != TOML_TABLE)
                        return type_error(ctx, written, t, T_MOUNTS, err);
                struct config_mount m = { 0 };
                for (size_t j = 0; j < toml_table_size(t); j++) {
                        const char *name = toml_table_key(t, j, NULL);
                        const struct toml_value *f = toml_table_value(t, j);
                        struct toml_pos kp = toml_table_key_pos(t, j);
                        char fw[256];
                        snprintf(fw, sizeof(fw), "%s.%s", written, name);
                        if (streq(name, "readonly")) {
                                if (toml_get_bool(f, &m.readonly) < 0)
                                        return type_error(ctx, fw, f, T_BOOL, err);
                        } else if (streq(name, "host") || streq(name, "container")) {
                                const char *s;
                                if (toml_get_string(f, &s, NULL) < 0)
                                        return type_error(ctx, fw, f, T_STRING, err);
                                if (streq(name, "host"))
                                        m.host = (char *)s;
                                else
                                        m.container = (char *)s;
                        } else {
                                const char *sug = config_suggest(name, fields, ELEMENTSOF(fields));
                                return coi_error_set(
                                        err, EINVAL, "%s:%u:%u: unknown key \"%s\" in [[%s]]%s%s%s",
                                        ctx->file, kp.line, kp.col, name, written,
                                        sug ? " (did you mean \"" : "", sug ? sug : "", sug ? "\"?)" : "");
                        }
                }
                if (!m.host || !m.container)
                        return coi_error_set(err, EINVAL,
                                             "%s:%u:%u: [[%s]] needs both \"host\" and \"container\"",
                                             ctx->file, p.line, p.col, written);
                _cleanup_free_ char *host = expand_home(m.host, ctx->home);
                _cleanup_free_ char *origin = xasprintf("%s:%u", ctx->file, p.line);
                if (!host || !origin)
                        return coi_error_set(err, ENOMEM, "%s: %m", written);
                m.host = host;
                m.origin = origin;
                if (mount_add(c, &m) < 0)
                        return coi_error_set(err, ENOMEM, "%s: %m", written);
        }
        return 0;
}

static int apply_env_table(struct apply_ctx *ctx, const char *written, const struct toml_value *v,
                           struct coi_error *err)
{
        if (toml_value_type(v) != TOML_TABLE)
                return type_error(ctx, written, v, T_ENV, err);
        for (size_t i = 0; i < toml_table_size(v); i++) {
                const char *name = toml_table_key(v, i, NULL);
                const struct toml_value *e = toml_table_value(v, i);
                const char *s;
                char ew[256];
                snprintf(ew, sizeof(ew), "%s.%s", written, name);
                if (toml_get_string(e, &s, NULL) < 0)
                        return type_error(ctx, ew, e, T_STRING, err);
                _cleanup_free_ char *origin = xasprintf("%s:%u", ctx->file, toml_table_key_pos(v, i).line);
                if (!origin)
                        return coi_error_set(err, ENOMEM, "%s: %m", written);
                /* In an inherits chain "" removes what the parent set; a file sets "" as it is. */
                bool clear = ctx->layer == CONFIG_LAYER_PROFILE && s[0] == '\0';
                if (env_set(ctx->c, name, clear ? NULL : s, origin) < 0)
                        return coi_error_set(err, ENOMEM, "%s: %m", written);
        }
        return 0;
}

/* Lays one TOML value over keys[idx]. */
static int apply_value(struct apply_ctx *ctx, size_t idx, const char *written, const struct toml_value *v,
                       struct toml_pos keypos, struct coi_error *err)
{
        const struct key_def *k = &keys[idx];
        struct config *c = ctx->c;
        int r;

        switch (k->type) {
        case T_STRING: {
                const char *s;
                if (toml_get_string(v, &s, NULL) < 0)
                        return type_error(ctx, written, v, k->type, err);
                char what[256], where[512];
                struct toml_pos p = toml_value_pos(v);
                describe(written, what, sizeof(what));
                snprintf(where, sizeof(where), "%s:%u:%u: %s", ctx->file, p.line, p.col, what);
                r = check_choice(k, s, where, err);
                if (r < 0)
                        return r;
                char *n = string_value(k, s, ctx->home, ctx->dir);
                if (!n)
                        return coi_error_set(err, ENOMEM, "%s: %m", k->key);
                free(*FIELD(c, k, char *));
                *FIELD(c, k, char *) = n;
                break;
        }
        case T_BOOL:
                if (toml_get_bool(v, FIELD(c, k, bool)) < 0)
                        return type_error(ctx, written, v, k->type, err);
                break;
        case T_INT:
                if (toml_get_integer(v, FIELD(c, k, int64_t)) < 0)
                        return type_error(ctx, written, v, k->type, err);
                break;
        case T_FLOAT:
                if (toml_get_float(v, FIELD(c, k, double)) < 0)
                        return type_error(ctx, written, v, k->type, err);
                break;
        case T_STRV: {
                if (toml_value_type(v) != TOML_ARRAY)
                        return type_error(ctx, written, v, k->type, err);
                _cleanup_strv_ char **list = NULL;
                bool add = (k->flags & F_UNION) && ctx->layer == CONFIG_LAYER_FILE;
                if (add) {
                        list = strv_copy(*FIELD(c, k, char **));
                        if (!list && *FIELD(c, k, char **))
                                return coi_error_set(err, ENOMEM, "%s: %m", k->key);
                }
                for (size_t i = 0; i < toml_array_length(v); i++) {
                        const struct toml_value *e = toml_array_get(v, i);
                        const char *s;
                        if (toml_get_string(e, &s, NULL) < 0)
                                return type_error(ctx, written, e, k->type, err);
                        if ((add ? strv_add_unique(&list, s) : strv_push(&list, s)) < 0)
                                return coi_error_set(err, ENOMEM, "%s: %m", k->key);
                }
                if (!list && !(list = calloc(1, sizeof(char *))))
                        return coi_error_set(err, ENOMEM, "%s: %m", k->key);
                strv_free(*FIELD(c, k, char **));
                *FIELD(c, k, char **) = TAKE_PTR(list);
                break;
        }
        case T_ENV:
                r = apply_env_table(ctx, written, v, err);
                if (r < 0)
                        return r;
                break;
        case T_MOUNTS:
                r = apply_mounts(ctx, written, v, err);
                if (r < 0)
                        return r;
                break;
        }
        _cleanup_free_ char *origin = xasprintf("%s:%u", ctx->file, keypos.line);
        if (!origin)
                return coi_error_set(err, ENOMEM, "%s: %m", k->key);
        return set_origin(c, idx, origin, err);
}

/* The names one level below prefix ("" = the root), for suggestions. */
static size_t children(const char *prefix, bool profile_root, const char **out, size_t max)
{
        static char names[N_KEYS][64];
        size_t n = 0, plen = strlen(prefix);
        for (size_t i = 0; i < N_KEYS && n < max; i++) {
                const char *k = keys[i].key;
                if (plen) {
                        if (strncmp(k, prefix, plen) != 0 || k[plen] != '.')
                                continue;
                        k += plen + 1;
                }
                size_t len = strcspn(k, ".");
                snprintf(names[i], sizeof(names[i]), "%.*s", (int)len, k);
                if (profile_root && (streq(names[i], "defaults") || streq(names[i], "mounts")))
                        continue;
                bool seen = false;
                for (size_t j = 0; j < n; j++)
                        seen = seen || streq(out[j], names[i]);
                if (!seen)
                        out[n++] = names[i];
        }
        if (profile_root) {
                static const char *const extra[] = { "inherits",    "context", "environment",
                                                     "forward_env", "model",   "mounts" };
                for (size_t i = 0; i < ELEMENTSOF(extra) && n < max; i++)
                        out[n++] = extra[i];
        }
        return n;
}

static int unknown_key(const struct apply_ctx *ctx, const char *prefix, const char *written_prefix,
                       const char *name, const char *canon, struct toml_pos p, struct coi_error *err)
{
        bool profile_root = ctx->layer == CONFIG_LAYER_PROFILE && prefix[0] == '\0';
        for (size_t i = 0; i < ELEMENTSOF(moved_keys); i++) {
                const char *old = ctx->layer == CONFIG_LAYER_PROFILE ? moved_keys[i].profile_key
                                                                     : moved_keys[i].file_key;
                if (streq(canon, old) && (ctx->layer == CONFIG_LAYER_FILE || profile_root))
                        return coi_error_set(
                                err, EINVAL,
                                "%s:%u:%u: \"%s\" moved to %s in code-on-incus 0.8; move it there", ctx->file,
                                p.line, p.col, canon, moved_keys[i].moved_to);
        }
        const char *cands[N_KEYS + 8];
        size_t n = children(prefix, profile_root, cands, ELEMENTSOF(cands));
        const char *sug = config_suggest(name, cands, n);
        char in[300] = "";
        if (written_prefix[0])
                snprintf(in, sizeof(in), " in [%s]", written_prefix);
        return coi_error_set(err, EINVAL, "%s:%u:%u: unknown key \"%s\"%s%s%s%s", ctx->file, p.line, p.col,
                             name, in, sug ? " (did you mean \"" : "", sug ? sug : "", sug ? "\"?)" : "");
}

/* prefix is the canonical section ("container"), written_prefix the same as the document spells it. */
static int apply_table(struct apply_ctx *ctx, const struct toml_value *t, const char *prefix,
                       const char *written_prefix, struct coi_error *err)
{
        bool profile_root = ctx->layer == CONFIG_LAYER_PROFILE && prefix[0] == '\0';
        for (size_t i = 0; i < toml_table_size(t); i++) {
                size_t len;
                const char *name = toml_table_key(t, i, &len);
                const struct toml_value *v = toml_table_value(t, i);
                struct toml_pos p = toml_table_key_pos(t, i);
                char canon[256], written[256];
                int r;

                /* A quoted "container.image" is one key with a dot in it, not a path: no such key. */
                if (strlen(name) != len || strchr(name, '.') || strlen(prefix) + len + 2 > sizeof(canon)) {
                        char in[300] = "";
                        if (written_prefix[0])
                                snprintf(in, sizeof(in), " in [%s]", written_prefix);
                        return coi_error_set(err, EINVAL, "%s:%u:%u: unknown key \"%s\"%s", ctx->file, p.line,
                                             p.col, name, in);
                }
                snprintf(canon, sizeof(canon), "%s%s%s", prefix, prefix[0] ? "." : "", name);
                snprintf(written, sizeof(written), "%s%s%s", written_prefix, written_prefix[0] ? "." : "",
                         name);
                if (profile_root) {
                        if (streq(name, "inherits") || streq(name, "context")) {
                                if (toml_value_type(v) != TOML_STRING)
                                        return type_error(ctx, name, v, T_STRING, err);
                                continue; /* profile.c reads them */
                        }
                        if (streq(name, "defaults"))
                                canon[0] = '\0'; /* not in a profile: [defaults] keys are top-level there */
                        for (size_t j = 0; j < ELEMENTSOF(profile_aliases); j++)
                                if (streq(name, profile_aliases[j].name))
                                        snprintf(canon, sizeof(canon), "%s", profile_aliases[j].key);
                }
                int idx = key_index(canon);
                if (idx >= 0) {
                        r = apply_value(ctx, (size_t)idx, written, v, p, err);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (canon[0] && is_section(canon)) {
                        if (toml_value_type(v) != TOML_TABLE) {
                                struct toml_pos vp = toml_value_pos(v);
                                char what[256];
                                describe(written, what, sizeof(what));
                                return coi_error_set(err, EINVAL, "%s:%u:%u: %s: expected a table, got %s",
                                                     ctx->file, vp.line, vp.col, what,
                                                     toml_type_to_string(toml_value_type(v)));
                        }
                        r = apply_table(ctx, v, canon, written, err);
                        if (r < 0)
                                return r;
                        continue;
                }
                snprintf(canon, sizeof(canon), "%s%s%s", prefix, prefix[0] ? "." : "", name);
                return unknown_key(ctx, prefix, written_prefix, name, canon, p, err);
        }
        return 0;
}

int config_apply_toml(struct config *c, const struct toml_value *root, const char *file, const char *home,
                      enum config_layer layer, struct coi_error *err)
{
        struct apply_ctx ctx = { .c = c, .file = file ? file : "<input>", .home = home, .layer = layer };
        /* file may be shown as "~/..." (config_display_path); relative paths need the real directory. */
        _cleanup_free_ char *real = expand_home(ctx.file, home);
        if (!real)
                return coi_error_set(err, ENOMEM, "%s: %m", ctx.file);
        char *slash = strrchr(real, '/');
        if (slash)
                slash[slash == real ? 1 : 0] = '\0';
        ctx.dir = slash ? real : NULL;
        return apply_table(&ctx, root, "", "", err);
}

char *config_display_path(const char *path, const char *home)
{
        size_t n = home ? strlen(home) : 0;
        if (n > 1 && strncmp(path, home, n) == 0 && path[n] == '/')
                return xasprintf("~%s", path + n);
        return strdup(path);
}

static void rootp(struct toml_value **v)
{
        toml_value_free(*v);
}

int config_apply_file(struct config *c, const char *path, const char *home, struct coi_error *err)
{
        _cleanup_free_ char *data = NULL;
        _cleanup_(rootp) struct toml_value *root = NULL;
        size_t len;
        struct coi_error e = { 0 };
        int r = read_file_at(AT_FDCWD, path, 0, &data, &len, &e);
        if (r == -ENOENT)
                return r;
        if (r < 0) {
                *err = e;
                return r;
        }
        _cleanup_free_ char *shown = config_display_path(path, home);
        if (!shown)
                return coi_error_set(err, ENOMEM, "%s: %m", path);
        r = toml_parse(data, len, shown, &root, err);
        if (r < 0)
                return r;
        return config_apply_toml(c, root, shown, home, CONFIG_LAYER_FILE, err);
}

int config_new_defaults(const char *home, struct config **ret, struct coi_error *err)
{
        _cleanup_(config_freep) struct config *c = NULL;
        int r = config_new_empty(&c, err);
        if (r < 0)
                return r;
        struct apply_ctx ctx = { .c = c, .file = "default", .home = home, .layer = CONFIG_LAYER_PROFILE };
        for (size_t i = 0; i < N_KEYS; i++) {
                const struct key_def *k = &keys[i];
                if (k->def) {
                        _cleanup_(rootp) struct toml_value *root = NULL;
                        _cleanup_free_ char *doc = xasprintf("v = %s", k->def);
                        if (!doc)
                                return coi_error_set(err, ENOMEM, "defaults: %m");
                        r = toml_parse(doc, strlen(doc), k->key, &root, err);
                        if (r < 0)
                                return r;
                        r = apply_value(&ctx, i, k->key, toml_table_get(root, "v"), (struct toml_pos){ 0, 0 },
                                        err);
                        if (r < 0)
                                return r;
                }
                r = set_origin(c, i, "default", err);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

/* Parses text (from a flag or an environment variable) into keys[idx]. */
static int set_from_text(struct config *c, size_t idx, const char *text, const char *origin, const char *home,
                         struct coi_error *err)
{
        const struct key_def *k = &keys[idx];
        char *end;
        int r;
        switch (k->type) {
        case T_STRING: {
                r = check_choice(k, text, origin, err);
                if (r < 0)
                        return r;
                char *n = string_value(k, text, home, NULL);
                if (!n)
                        return coi_error_set(err, ENOMEM, "%s: %m", k->key);
                free(*FIELD(c, k, char *));
                *FIELD(c, k, char *) = n;
                break;
        }
        case T_BOOL:
                if (streq(text, "true") || streq(text, "1"))
                        *FIELD(c, k, bool) = true;
                else if (streq(text, "false") || streq(text, "0"))
                        *FIELD(c, k, bool) = false;
                else
                        return coi_error_set(err, EINVAL, "%s: %s expects a boolean (true/false), got \"%s\"",
                                             origin, k->key, text);
                break;
        case T_INT:
                errno = 0;
                *FIELD(c, k, int64_t) = strtoll(text, &end, 10);
                if (errno || end == text || *end)
                        return coi_error_set(err, EINVAL, "%s: %s expects an integer, got \"%s\"", origin,
                                             k->key, text);
                break;
        case T_FLOAT:
                errno = 0;
                *FIELD(c, k, double) = strtod(text, &end);
                if (errno || end == text || *end)
                        return coi_error_set(err, EINVAL, "%s: %s expects a number, got \"%s\"", origin,
                                             k->key, text);
                break;
        case T_STRV: {
                _cleanup_strv_ char **list = calloc(1, sizeof(char *));
                _cleanup_free_ char *copy = strdup(text);
                if (!list || !copy)
                        return coi_error_set(err, ENOMEM, "%s: %m", k->key);
                char *save = NULL;
                for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
                        if (strv_push(&list, tok) < 0)
                                return coi_error_set(err, ENOMEM, "%s: %m", k->key);
                strv_free(*FIELD(c, k, char **));
                *FIELD(c, k, char **) = TAKE_PTR(list);
                break;
        }
        case T_ENV: {
                const char *eq = strchr(text, '=');
                if (!eq || eq == text)
                        return coi_error_set(err, EINVAL, "%s: expects NAME=VALUE, got \"%s\"", origin, text);
                _cleanup_free_ char *name = strndup(text, (size_t)(eq - text));
                if (!name || env_set(c, name, eq + 1, origin) < 0)
                        return coi_error_set(err, ENOMEM, "%s: %m", k->key);
                break;
        }
        case T_MOUNTS: {
                _cleanup_free_ char *copy = strdup(text);
                if (!copy)
                        return coi_error_set(err, ENOMEM, "%s: %m", k->key);
                char *colon = strchr(copy, ':');
                if (!colon || colon == copy || colon[1] != '/')
                        return coi_error_set(err, EINVAL, "%s: expects HOST:CONTAINER[:ro], got \"%s\"",
                                             origin, text);
                *colon = '\0';
                char *opt = strchr(colon + 1, ':');
                bool ro = false;
                if (opt) {
                        *opt++ = '\0';
                        if (!streq(opt, "ro") && !streq(opt, "rw"))
                                return coi_error_set(err, EINVAL,
                                                     "%s: mount option must be ro or rw, got \"%s\"", origin,
                                                     opt);
                        ro = streq(opt, "ro");
                }
                _cleanup_free_ char *host = expand_home(copy, home);
                struct config_mount m = { host, colon + 1, ro, (char *)origin };
                if (!host || mount_add(c, &m) < 0)
                        return coi_error_set(err, ENOMEM, "%s: %m", k->key);
                break;
        }
        }
        return set_origin(c, idx, origin, err);
}

static const char *env_get(char *const *env, const char *name)
{
        size_t n = strlen(name);
        if (!env)
                return getenv(name);
        for (; *env; env++)
                if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
                        return *env + n + 1;
        return NULL;
}

int config_apply_env(struct config *c, char *const *environ, const char *home, struct coi_error *err)
{
        for (size_t i = 0; i < ELEMENTSOF(env_vars); i++) {
                const char *v = env_get(environ, env_vars[i].var);
                if (!v || !v[0])
                        continue;
                if (env_vars[i].true_only && !streq(v, "true") && !streq(v, "1"))
                        continue;
                _cleanup_free_ char *origin = xasprintf("env %s", env_vars[i].var);
                if (!origin)
                        return coi_error_set(err, ENOMEM, "%s: %m", env_vars[i].var);
                int r = set_from_text(c, (size_t)key_index(env_vars[i].key), v, origin, home, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int config_set_from_flag(struct config *c, const char *key, const char *value, const char *flag,
                         struct coi_error *err)
{
        int idx = key_index(key);
        if (idx < 0)
                return coi_error_set(err, EINVAL, "%s: unknown config key \"%s\"", flag, key);
        _cleanup_free_ char *origin = xasprintf("flag %s", flag);
        if (!origin)
                return coi_error_set(err, ENOMEM, "%s: %m", flag);
        const char *home = getenv("HOME");
        return set_from_text(c, (size_t)idx, value, origin, home, err);
}

int config_merge_overlay(struct config *c, const struct config *o, struct coi_error *err)
{
        for (size_t i = 0; i < N_KEYS; i++) {
                const struct key_def *k = &keys[i];
                if (!o->origins[i])
                        continue;
                switch (k->type) {
                case T_STRING: {
                        const char *s = *FIELD(o, k, char *const);
                        char *n = strdup(s ? s : "");
                        if (!n)
                                return coi_error_set(err, ENOMEM, "%s: %m", k->key);
                        free(*FIELD(c, k, char *));
                        *FIELD(c, k, char *) = n;
                        break;
                }
                case T_BOOL:
                        *FIELD(c, k, bool) = *FIELD(o, k, const bool);
                        break;
                case T_INT:
                        *FIELD(c, k, int64_t) = *FIELD(o, k, const int64_t);
                        break;
                case T_FLOAT:
                        *FIELD(c, k, double) = *FIELD(o, k, const double);
                        break;
                case T_STRV: {
                        char *const *src = *FIELD(o, k, char **const);
                        _cleanup_strv_ char **list =
                                (k->flags & F_UNION) ? strv_copy(*FIELD(c, k, char **)) : NULL;
                        for (char *const *p = src; p && *p; p++)
                                if (strv_add_unique(&list, *p) < 0)
                                        return coi_error_set(err, ENOMEM, "%s: %m", k->key);
                        if (!list && !(list = calloc(1, sizeof(char *))))
                                return coi_error_set(err, ENOMEM, "%s: %m", k->key);
                        strv_free(*FIELD(c, k, char **));
                        *FIELD(c, k, char **) = TAKE_PTR(list);
                        break;
                }
                case T_ENV:
                        for (size_t j = 0; j < o->defaults.n_environment; j++) {
                                const struct config_env *e = &o->defaults.environment[j];
                                if (env_set(c, e->name, e->value, e->origin) < 0)
                                        return coi_error_set(err, ENOMEM, "%s: %m", k->key);
                        }
                        break;
                case T_MOUNTS:
                        for (size_t j = 0; j < o->mounts.n_default; j++)
                                if (mount_add(c, &o->mounts.default_[j]) < 0)
                                        return coi_error_set(err, ENOMEM, "%s: %m", k->key);
                        break;
                }
                int r = set_origin(c, i, o->origins[i], err);
                if (r < 0)
                        return r;
        }
        return 0;
}

const char *config_origin(const struct config *c, const char *key)
{
        int idx = key_index(key);
        return idx < 0 ? NULL : c->origins[idx];
}

int config_load(const struct config_load_options *opts, struct config **ret, struct coi_error *err)
{
        struct config_load_options o = opts ? *opts : (struct config_load_options){ 0 };
        char cwd[4096];
        if (!o.home)
                o.home = env_get(o.environ, "HOME");
        if (!o.home)
                return coi_error_set(err, ENOENT, "HOME is not set: cannot find ~/.coi");
        if (!o.workdir) {
                if (!getcwd(cwd, sizeof(cwd)))
                        return coi_error_set(err, errno, "current directory: %m");
                o.workdir = cwd;
        }

        _cleanup_free_ char *legacy = xasprintf("%s/.coi.toml", o.workdir);
        _cleanup_free_ char *user = xasprintf("%s/.coi/config.toml", o.home);
        _cleanup_free_ char *project = xasprintf("%s/.coi/config.toml", o.workdir);
        if (!legacy || !user || !project)
                return coi_error_set(err, ENOMEM, "config paths: %m");
        if (access(legacy, F_OK) == 0)
                return coi_error_set(err, EINVAL,
                                     "%s: project config now lives in .coi/config.toml (code-on-incus 0.8); "
                                     "move it: mkdir -p .coi && mv .coi.toml .coi/config.toml",
                                     legacy);

        _cleanup_(config_freep) struct config *c = NULL;
        int r = config_new_defaults(o.home, &c, err);
        if (r < 0)
                return r;
        const char *env_config = env_get(o.environ, "COI_CONFIG");
        const char *files[] = { user, streq(project, user) ? NULL : project,
                                env_config && env_config[0] ? env_config : NULL };
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                bool again = false; /* the same file twice would append its mounts twice */
                for (size_t j = 0; j < i; j++)
                        again = again || (files[i] && files[j] && streq(files[i], files[j]));
                if (!files[i] || again)
                        continue;
                r = config_apply_file(c, files[i], o.home, err);
                if (r < 0 && r != -ENOENT)
                        return r;
        }
        if (o.profile && !streq(o.profile, "default")) {
                _cleanup_(profile_set_freep) struct profile_set *set = NULL;
                r = profile_set_load(o.home, o.workdir, env_config, &set, err);
                if (r < 0)
                        return r;
                r = profile_apply(c, set, o.profile, err);
                if (r < 0)
                        return r;
        }
        r = config_apply_env(c, o.environ, o.home, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

/* Damerau-Levenshtein (optimal string alignment) distance, for "did you mean". */
static size_t edit_distance(const char *a, const char *b)
{
        size_t n = strlen(a), m = strlen(b);
        if (n > 63 || m > 63)
                return SIZE_MAX;
        size_t d[64][64];
        for (size_t i = 0; i <= n; i++)
                d[i][0] = i;
        for (size_t j = 0; j <= m; j++)
                d[0][j] = j;
        for (size_t i = 1; i <= n; i++)
                for (size_t j = 1; j <= m; j++) {
                        size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
                        size_t best = d[i - 1][j] + 1;
                        if (d[i][j - 1] + 1 < best)
                                best = d[i][j - 1] + 1;
                        if (d[i - 1][j - 1] + cost < best)
                                best = d[i - 1][j - 1] + cost;
                        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                            d[i - 2][j - 2] + 1 < best)
                                best = d[i - 2][j - 2] + 1;
                        d[i][j] = best;
                }
        return d[n][m];
}

const char *config_suggest(const char *word, const char *const *candidates, size_t n)
{
        size_t len = strlen(word);
        size_t limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
        const char *best = NULL;
        size_t best_d = SIZE_MAX;
        for (size_t i = 0; i < n; i++) {
                size_t d = edit_distance(word, candidates[i]);
                if (d < best_d) {
                        best_d = d;
                        best = candidates[i];
                }
        }
        return best_d <= limit && best_d > 0 ? best : NULL;
}

/* A string as a TOML basic string, which JSON reads the same way. */
static void put_string(FILE *out, const char *s)
{
        fputc('"', out);
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                switch (*p) {
                case '"':
                        fputs("\\\"", out);
                        break;
                case '\\':
                        fputs("\\\\", out);
                        break;
                case '\n':
                        fputs("\\n", out);
                        break;
                case '\t':
                        fputs("\\t", out);
                        break;
                case '\r':
                        fputs("\\r", out);
                        break;
                default:
                        if (*p < 0x20 || *p == 0x7f)
                                fprintf(out, "\\u%04x", *p);
                        else
                                fputc(*p, out);
                }
        }
        fputc('"', out);
}

/* A bare TOML key if it can be one, else a quoted one. */
static void put_key(FILE *out, const char *s)
{
        bool bare = s[0] != '\0';
        for (const char *p = s; *p; p++)
                bare = bare && (isalnum((unsigned char)*p) || *p == '_' || *p == '-');
        if (bare)
                fputs(s, out);
        else
                put_string(out, s);
}

static void put_float(FILE *out, double d)
{
        char buf[64];
        snprintf(buf, sizeof(buf), "%.15g", d);
        if (strtod(buf, NULL) != d)
                snprintf(buf, sizeof(buf), "%.17g", d);
        fputs(buf, out);
        if (!strpbrk(buf, ".eEni"))
                fputs(".0", out);
}

static void put_mount(FILE *out, const struct config_mount *m, bool json)
{
        fputs(json ? "{\"host\": " : "{ host = ", out);
        put_string(out, m->host);
        fputs(json ? ", \"container\": " : ", container = ", out);
        put_string(out, m->container);
        fprintf(out, json ? ", \"readonly\": %s, \"source\": " : ", readonly = %s }",
                m->readonly ? "true" : "false");
        if (json) {
                put_string(out, m->origin);
                fputc('}', out);
        }
}

/* The value of keys[i] in TOML (and JSON: the same text for everything but tables). */
static void put_value(FILE *out, const struct config *c, const struct key_def *k, bool json)
{
        switch (k->type) {
        case T_STRING: {
                const char *s = *FIELD(c, k, char *const);
                put_string(out, s ? s : "");
                break;
        }
        case T_BOOL:
                fputs(*FIELD(c, k, const bool) ? "true" : "false", out);
                break;
        case T_INT:
                fprintf(out, "%" PRId64, *FIELD(c, k, const int64_t));
                break;
        case T_FLOAT:
                put_float(out, *FIELD(c, k, const double));
                break;
        case T_STRV: {
                char *const *v = *FIELD(c, k, char **const);
                fputc('[', out);
                for (size_t i = 0; v && v[i]; i++) {
                        fputs(i ? ", " : "", out);
                        put_string(out, v[i]);
                }
                fputc(']', out);
                break;
        }
        case T_ENV:
                fputc('{', out);
                for (size_t i = 0; i < c->defaults.n_environment; i++) {
                        fputs(i ? ", " : "", out);
                        put_string(out, c->defaults.environment[i].name);
                        fputs(": ", out);
                        put_string(out, c->defaults.environment[i].value);
                }
                fputc('}', out);
                break;
        case T_MOUNTS:
                fputc('[', out);
                for (size_t i = 0; i < c->mounts.n_default; i++) {
                        fputs(i ? ", " : "", out);
                        put_mount(out, &c->mounts.default_[i], json);
                }
                fputc(']', out);
                break;
        }
}

static void show_text_key(FILE *out, const struct config *c, size_t i)
{
        const struct key_def *k = &keys[i];
        const char *origin = c->origins[i] ? c->origins[i] : "unset";
        if (k->type == T_ENV && c->defaults.n_environment > 0) {
                /* One line per variable, each with its own origin. */
                for (size_t j = 0; j < c->defaults.n_environment; j++) {
                        fprintf(out, "%s.", k->key);
                        put_key(out, c->defaults.environment[j].name);
                        fputs(" = ", out);
                        put_string(out, c->defaults.environment[j].value);
                        fprintf(out, "  # %s\n", c->defaults.environment[j].origin);
                }
                return;
        }
        if (k->type == T_ENV) {
                fprintf(out, "%s = {}  # %s\n", k->key, origin);
                return;
        }
        fprintf(out, "%s = ", k->key);
        put_value(out, c, k, false);
        if (k->type == T_MOUNTS && c->mounts.n_default > 0) {
                fputs("  #", out);
                for (size_t j = 0; j < c->mounts.n_default; j++)
                        fprintf(out, "%s %s", j ? "," : "", c->mounts.default_[j].origin);
                fputc('\n', out);
                return;
        }
        fprintf(out, "  # %s\n", origin);
}

int config_show(const struct config *c, FILE *out, enum config_show_format format, bool only_set)
{
        bool first = true;
        if (format == CONFIG_SHOW_JSON)
                fputs("{\n", out);
        for (size_t i = 0; i < N_KEYS; i++) {
                const struct key_def *k = &keys[i];
                if (only_set && !c->origins[i])
                        continue;
                if (format == CONFIG_SHOW_TEXT) {
                        show_text_key(out, c, i);
                        continue;
                }
                fprintf(out, "%s  ", first ? "" : ",\n");
                put_string(out, k->key);
                fputs(": {\"value\": ", out);
                put_value(out, c, k, true);
                fputs(", \"source\": ", out);
                if (c->origins[i])
                        put_string(out, c->origins[i]);
                else
                        fputs("null", out);
                if (k->type == T_ENV) {
                        fputs(", \"sources\": {", out);
                        for (size_t j = 0; j < c->defaults.n_environment; j++) {
                                fputs(j ? ", " : "", out);
                                put_string(out, c->defaults.environment[j].name);
                                fputs(": ", out);
                                put_string(out, c->defaults.environment[j].origin);
                        }
                        fputc('}', out);
                }
                fputc('}', out);
                first = false;
        }
        if (format == CONFIG_SHOW_JSON)
                fputs(first ? "}\n" : "\n}\n", out);
        if (c->context_files && format == CONFIG_SHOW_TEXT)
                for (char **p = c->context_files; *p; p++)
                        fprintf(out, "# context: %s\n", *p);
        return ferror(out) ? -EIO : 0;
}
