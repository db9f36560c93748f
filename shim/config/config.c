/* config.c — the key table (name, type, offset, default), struct config's lifetime, environment variables
 * and flags over it, overlays, origins. TOML: config-toml.c; show: config-show.c; precedence: config-load.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config-internal.h"
#include "util.h"

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
        K("limits.best_effort", T_BOOL, limits.best_effort, "false", 0, NULL), /* coi's own */
        K("git.writable_hooks", T_BOOL, git.writable_hooks, "false", 0, NULL),
        K("ssh.forward_agent", T_BOOL, ssh.forward_agent, "false", 0, NULL),
        K("security.protected_paths", T_STRV, security.protected_paths,
          "[\".git/hooks\", \".git/config\", \".husky\", \".vscode\"]", 0, NULL),
        K("security.additional_protected_paths", T_STRV, security.additional_protected_paths, "[]", 0, NULL),
        K("security.disable_protection", T_BOOL, security.disable_protection, "false", 0, NULL),
        K("security.seccomp_profile", T_STRING, security.seccomp_profile, "\"auto\"", 0,
          NULL), /* coi's own */
        K("monitoring.enabled", T_BOOL, monitoring.enabled, "false", 0, NULL),
        K("monitoring.auto_pause_on_high", T_BOOL, monitoring.auto_pause_on_high, "true", 0, NULL),
        K("monitoring.auto_kill_on_critical", T_BOOL, monitoring.auto_kill_on_critical, "true", 0, NULL),
        K("monitoring.poll_interval_sec", T_INT, monitoring.poll_interval_sec, "2", 0, NULL),
        K("monitoring.file_read_threshold_mb", T_FLOAT, monitoring.file_read_threshold_mb, "50.0", 0, NULL),
        K("monitoring.file_read_rate_mb_per_sec", T_FLOAT, monitoring.file_read_rate_mb_per_sec, "10.0", 0,
          NULL),
        K("monitoring.upload_threshold_mb", T_FLOAT, monitoring.upload_threshold_mb, "50.0", 0,
          NULL), /* coi's own */
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
_Static_assert(N_KEYS == CONFIG_N_KEYS, "CONFIG_N_KEYS (config-internal.h) must count the key table");
const struct key_def *const config_keys = keys;

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

int config_key_index(const char *key)
{
        for (size_t i = 0; i < N_KEYS; i++)
                if (streq(keys[i].key, key))
                        return (int)i;
        return -1;
}

bool config_key_exists(const char *key)
{
        return config_key_index(key) >= 0;
}

bool config_is_section(const char *prefix)
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

void config_mounts_clear(struct config_mount *v, size_t n)
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
        config_mounts_clear(c->mounts.default_, c->mounts.n_default);
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

int config_set_origin(struct config *c, size_t idx, const char *origin, struct coi_error *err)
{
        char *o = strdup(origin);
        if (!o)
                return coi_error_set(err, ENOMEM, "%s: %m", keys[idx].key);
        free(c->origins[idx]);
        c->origins[idx] = o;
        return 0;
}

char *config_expand_home(const char *path, const char *home)
{
        if (home && path[0] == '~' && (path[1] == '\0' || path[1] == '/'))
                return xasprintf("%s%s", home, path + 1);
        return strdup(path);
}

char *config_string_value(const struct key_def *k, const char *s, const char *home, const char *dir)
{
        if ((k->flags & F_HOME) && s[0] == '~')
                return config_expand_home(s, home);
        if ((k->flags & F_RELATIVE) && s[0] != '\0' && s[0] != '/' && dir)
                return xasprintf("%s/%s", dir, s);
        return strdup(s);
}

int config_check_choice(const struct key_def *k, const char *s, const char *where, struct coi_error *err)
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

int config_store_string(struct config *c, const struct key_def *k, char *s, struct coi_error *err)
{
        if (!s)
                return coi_error_set(err, ENOMEM, "%s: %m", k->key);
        free(*FIELD(c, k, char *));
        *FIELD(c, k, char *) = s;
        return 0;
}

int config_store_strv(struct config *c, const struct key_def *k, char **list, struct coi_error *err)
{
        if (!list && !(list = calloc(1, sizeof(char *))))
                return coi_error_set(err, ENOMEM, "%s: %m", k->key);
        strv_free(*FIELD(c, k, char **));
        *FIELD(c, k, char **) = list;
        return 0;
}

int config_strv_add_unique(char ***strv, const char *s)
{
        for (char **p = *strv; p && *p; p++)
                if (streq(*p, s))
                        return 0;
        return strv_push(strv, s);
}

int config_env_set(struct config *c, const char *name, const char *value, const char *origin)
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

int config_mount_add(struct config *c, const struct config_mount *m)
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

/* Parses text (from a flag or an environment variable) into keys[idx]. */
static int set_from_text(struct config *c, size_t idx, const char *text, const char *origin, const char *home,
                         struct coi_error *err)
{
        const struct key_def *k = &keys[idx];
        char *end;
        int r;
        switch (k->type) {
        case T_STRING: {
                r = config_check_choice(k, text, origin, err);
                if (r < 0)
                        return r;
                r = config_store_string(c, k, config_string_value(k, text, home, NULL), err);
                if (r < 0)
                        return r;
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
                r = config_store_strv(c, k, TAKE_PTR(list), err);
                if (r < 0)
                        return r;
                break;
        }
        case T_ENV: {
                const char *eq = strchr(text, '=');
                if (!eq || eq == text)
                        return coi_error_set(err, EINVAL, "%s: expects NAME=VALUE, got \"%s\"", origin, text);
                _cleanup_free_ char *name = strndup(text, (size_t)(eq - text));
                if (!name || config_env_set(c, name, eq + 1, origin) < 0)
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
                _cleanup_free_ char *host = config_expand_home(copy, home);
                struct config_mount m = { host, colon + 1, ro, (char *)origin };
                if (!host || config_mount_add(c, &m) < 0)
                        return coi_error_set(err, ENOMEM, "%s: %m", k->key);
                break;
        }
        }
        return config_set_origin(c, idx, origin, err);
}

int config_apply_env(struct config *c, char *const *envp, const char *home, struct coi_error *err)
{
        for (size_t i = 0; i < ELEMENTSOF(env_vars); i++) {
                const char *v = env_get(envp, env_vars[i].var);
                if (!v || !v[0])
                        continue;
                if (env_vars[i].true_only && !streq(v, "true") && !streq(v, "1"))
                        continue;
                _cleanup_free_ char *origin = xasprintf("env %s", env_vars[i].var);
                if (!origin)
                        return coi_error_set(err, ENOMEM, "%s: %m", env_vars[i].var);
                int r = set_from_text(c, (size_t)config_key_index(env_vars[i].key), v, origin, home, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int config_set_from_flag(struct config *c, const char *key, const char *value, const char *flag,
                         struct coi_error *err)
{
        int idx = config_key_index(key);
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
                int r;
                if (!o->origins[i])
                        continue;
                switch (k->type) {
                case T_STRING: {
                        const char *s = *FIELD(o, k, char *const);
                        r = config_store_string(c, k, strdup(s ? s : ""), err);
                        if (r < 0)
                                return r;
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
                                if (config_strv_add_unique(&list, *p) < 0)
                                        return coi_error_set(err, ENOMEM, "%s: %m", k->key);
                        r = config_store_strv(c, k, TAKE_PTR(list), err);
                        if (r < 0)
                                return r;
                        break;
                }
                case T_ENV:
                        for (size_t j = 0; j < o->defaults.n_environment; j++) {
                                const struct config_env *e = &o->defaults.environment[j];
                                if (config_env_set(c, e->name, e->value, e->origin) < 0)
                                        return coi_error_set(err, ENOMEM, "%s: %m", k->key);
                        }
                        break;
                case T_MOUNTS:
                        for (size_t j = 0; j < o->mounts.n_default; j++)
                                if (config_mount_add(c, &o->mounts.default_[j]) < 0)
                                        return coi_error_set(err, ENOMEM, "%s: %m", k->key);
                        break;
                }
                r = config_set_origin(c, i, o->origins[i], err);
                if (r < 0)
                        return r;
        }
        return 0;
}

const char *config_origin(const struct config *c, const char *key)
{
        int idx = config_key_index(key);
        return idx < 0 ? NULL : c->origins[idx];
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
