/* config-toml.c — laying a TOML document (a config file, a profile, the defaults) over struct config:
 * type checks, unknown keys with suggestions, "file:line" origins (pre-0.8 layouts: config-migrate.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-internal.h"
#include "toml.h"
#include "util.h"

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

/* What laying one document needs to know. */
struct apply_ctx {
        struct config *c;
        const char *file;
        const char *home;
        char *dir; /* of file, for F_RELATIVE */
        enum config_layer layer;
};

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
                config_mounts_clear(c->mounts.default_, c->mounts.n_default);
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
                _cleanup_free_ char *host = config_expand_home(m.host, ctx->home);
                _cleanup_free_ char *origin = xasprintf("%s:%u", ctx->file, p.line);
                if (!host || !origin)
                        return coi_error_set(err, ENOMEM, "%s: %m", written);
                m.host = host;
                m.origin = origin;
                if (config_mount_add(c, &m) < 0)
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
                if (config_env_set(ctx->c, name, clear ? NULL : s, origin) < 0)
                        return coi_error_set(err, ENOMEM, "%s: %m", written);
        }
        return 0;
}

/* Lays one TOML value over config_keys[idx]. */
static int apply_value(struct apply_ctx *ctx, size_t idx, const char *written, const struct toml_value *v,
                       struct toml_pos keypos, struct coi_error *err)
{
        const struct key_def *k = &config_keys[idx];
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
                r = config_check_choice(k, s, where, err);
                if (r < 0)
                        return r;
                r = config_store_string(c, k, config_string_value(k, s, ctx->home, ctx->dir), err);
                if (r < 0)
                        return r;
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
                        if ((add ? config_strv_add_unique(&list, s) : strv_push(&list, s)) < 0)
                                return coi_error_set(err, ENOMEM, "%s: %m", k->key);
                }
                r = config_store_strv(c, k, TAKE_PTR(list), err);
                if (r < 0)
                        return r;
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
        return config_set_origin(c, idx, origin, err);
}

/* The names one level below prefix ("" = the root), for suggestions. */
static size_t children(const char *prefix, bool profile_root, const char **out, size_t max)
{
        static char names[CONFIG_N_KEYS][64];
        size_t n = 0, plen = strlen(prefix);
        for (size_t i = 0; i < CONFIG_N_KEYS && n < max; i++) {
                const char *k = config_keys[i].key;
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
                       const char *name, struct toml_pos p, struct coi_error *err)
{
        bool profile_root = ctx->layer == CONFIG_LAYER_PROFILE && prefix[0] == '\0';
        const char *cands[CONFIG_N_KEYS + 8];
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
                int idx = config_key_index(canon);
                if (idx >= 0) {
                        r = apply_value(ctx, (size_t)idx, written, v, p, err);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (canon[0] && config_is_section(canon)) {
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
                return unknown_key(ctx, prefix, written_prefix, name, p, err);
        }
        return 0;
}

int config_apply_toml(struct config *c, const struct toml_value *root, const char *file, const char *home,
                      enum config_layer layer, struct coi_error *err)
{
        struct apply_ctx ctx = { .c = c, .file = file ? file : "<input>", .home = home, .layer = layer };
        /* file may be shown as "~/..." (config_display_path); relative paths need the real directory. */
        _cleanup_free_ char *real = config_expand_home(ctx.file, home);
        if (!real)
                return coi_error_set(err, ENOMEM, "%s: %m", ctx.file);
        char *slash = strrchr(real, '/');
        if (slash)
                slash[slash == real ? 1 : 0] = '\0';
        ctx.dir = slash ? real : NULL;
        int r = config_check_old_layout(root, ctx.file, layer, err);
        if (r < 0)
                return r;
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
        for (size_t i = 0; i < CONFIG_N_KEYS; i++) {
                const struct key_def *k = &config_keys[i];
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
                r = config_set_origin(c, i, "default", err);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(c);
        return 0;
}
