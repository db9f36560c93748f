/* config-schema.c — JSON Schemas of a config.toml and of a profile's config.toml, generated from the
 * key table (config.c), so `coi schema` describes exactly what the loader accepts. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config-internal.h"
#include "json-util.h"
#include "util.h"

/* Each helper returns true on success so an object is one && chain. */
static bool str(yajl_gen g, const char *s)
{
        return json_gen_str(g, s);
}

static bool kv(yajl_gen g, const char *k, const char *v)
{
        return str(g, k) && str(g, v);
}

static bool open_map(yajl_gen g)
{
        return yajl_gen_map_open(g) == yajl_gen_status_ok;
}

static bool close_map(yajl_gen g)
{
        return yajl_gen_map_close(g) == yajl_gen_status_ok;
}

/* The default of a scalar key, from its TOML text. */
static bool gen_default(yajl_gen g, const struct key_def *k)
{
        if (!k->def || k->type == T_STRV || k->type == T_ENV || k->type == T_MOUNTS)
                return true;
        if (!str(g, "default"))
                return false;
        switch (k->type) {
        case T_STRING: {
                size_t n = strlen(k->def);
                return yajl_gen_string(g, (const unsigned char *)k->def + 1, n >= 2 ? n - 2 : 0) ==
                       yajl_gen_status_ok;
        }
        case T_BOOL:
                return yajl_gen_bool(g, streq(k->def, "true")) == yajl_gen_status_ok;
        case T_INT:
        case T_FLOAT:
                return yajl_gen_number(g, k->def, strlen(k->def)) == yajl_gen_status_ok;
        default:
                return true;
        }
}

static bool gen_string_array(yajl_gen g)
{
        return open_map(g) && kv(g, "type", "array") && str(g, "items") && open_map(g) &&
               kv(g, "type", "string") && close_map(g) && close_map(g);
}

static bool gen_key(yajl_gen g, const struct key_def *k)
{
        bool ok = true;
        switch (k->type) {
        case T_STRING:
                ok = open_map(g) && kv(g, "type", "string");
                if (ok && k->choices) {
                        ok = str(g, "enum") && yajl_gen_array_open(g) == yajl_gen_status_ok;
                        for (const char *const *c = k->choices; ok && *c; c++)
                                ok = str(g, *c);
                        ok = ok && yajl_gen_array_close(g) == yajl_gen_status_ok;
                }
                return ok && gen_default(g, k) && close_map(g);
        case T_BOOL:
                return open_map(g) && kv(g, "type", "boolean") && gen_default(g, k) && close_map(g);
        case T_INT:
                return open_map(g) && kv(g, "type", "integer") && gen_default(g, k) && close_map(g);
        case T_FLOAT:
                return open_map(g) && kv(g, "type", "number") && gen_default(g, k) && close_map(g);
        case T_STRV:
                return gen_string_array(g);
        case T_ENV:
                return open_map(g) && kv(g, "type", "object") && str(g, "additionalProperties") &&
                       open_map(g) && kv(g, "type", "string") && close_map(g) && close_map(g);
        case T_MOUNTS:
                return open_map(g) && kv(g, "type", "array") && str(g, "items") && open_map(g) &&
                       kv(g, "type", "object") && str(g, "properties") && open_map(g) && str(g, "host") &&
                       open_map(g) && kv(g, "type", "string") && close_map(g) && str(g, "container") &&
                       open_map(g) && kv(g, "type", "string") && close_map(g) && str(g, "readonly") &&
                       open_map(g) && kv(g, "type", "boolean") && close_map(g) && close_map(g) &&
                       str(g, "required") && yajl_gen_array_open(g) == yajl_gen_status_ok && str(g, "host") &&
                       str(g, "container") && yajl_gen_array_close(g) == yajl_gen_status_ok &&
                       str(g, "additionalProperties") && yajl_gen_bool(g, false) == yajl_gen_status_ok &&
                       close_map(g) && close_map(g);
        }
        return false;
}

static const struct key_def *key_by_name(const char *key)
{
        int i = config_key_index(key);
        return i < 0 ? NULL : &config_keys[i];
}

/* The properties of the table at prefix ("" = the document): its keys and its sub-tables, in the key
 * table's order; profile_root leaves out [defaults] and [mounts] (a profile sets them at its root). */
static bool gen_properties(yajl_gen g, const char *prefix, bool profile_root)
{
        size_t plen = strlen(prefix);
        char done[CONFIG_N_KEYS][64];
        size_t n = 0;
        bool ok = true;
        for (size_t i = 0; ok && i < CONFIG_N_KEYS; i++) {
                const char *k = config_keys[i].key;
                if (plen && (strncmp(k, prefix, plen) != 0 || k[plen] != '.'))
                        continue;
                const char *rest = plen ? k + plen + 1 : k;
                size_t len = strcspn(rest, ".");
                char name[64];
                snprintf(name, sizeof(name), "%.*s", (int)len, rest);
                bool seen = false;
                for (size_t j = 0; j < n; j++)
                        seen = seen || streq(done[j], name);
                if (seen || (profile_root && (streq(name, "defaults") || streq(name, "mounts"))))
                        continue;
                snprintf(done[n++], sizeof(done[0]), "%s", name);
                ok = str(g, name);
                if (ok && !rest[len]) {
                        ok = gen_key(g, &config_keys[i]);
                        continue;
                }
                char sub[256];
                snprintf(sub, sizeof(sub), "%s%s%s", prefix, plen ? "." : "", name);
                ok = ok && open_map(g) && kv(g, "type", "object") && str(g, "properties") && open_map(g) &&
                     gen_properties(g, sub, false) && close_map(g) && str(g, "additionalProperties") &&
                     yajl_gen_bool(g, false) == yajl_gen_status_ok && close_map(g);
        }
        if (!ok || !profile_root)
                return ok;
        /* A profile's own keys, and the [defaults]/[mounts] keys it sets at its root. */
        static const struct {
                const char *name, *key;
        } aliases[] = {
                { "environment", "defaults.environment" },
                { "forward_env", "defaults.forward_env" },
                { "model", "defaults.model" },
                { "mounts", "mounts.default" },
        };
        ok = str(g, "inherits") && open_map(g) && kv(g, "type", "string") &&
             kv(g, "description", "the profile this one starts from (\"default\": no profile)") &&
             close_map(g) && str(g, "context") && open_map(g) && kv(g, "type", "string") &&
             kv(g, "description", "a Markdown file, relative to the profile, added to the sandbox context") &&
             close_map(g);
        for (size_t i = 0; ok && i < ELEMENTSOF(aliases); i++) {
                const struct key_def *k = key_by_name(aliases[i].key);
                ok = k && str(g, aliases[i].name) && gen_key(g, k);
        }
        return ok;
}

int config_schema_json(enum config_layer layer, char **ret, struct coi_error *err)
{
        bool profile = layer == CONFIG_LAYER_PROFILE;
        _cleanup_(yajl_gen_freep) yajl_gen g = yajl_gen_alloc(NULL);
        if (!g)
                return coi_error_set(err, ENOMEM, "schema: %m");
        yajl_gen_config(g, yajl_gen_beautify, 1);
        yajl_gen_config(g, yajl_gen_indent_string, "  ");
        bool ok = open_map(g) && kv(g, "$schema", "https://json-schema.org/draft/2020-12/schema") &&
                  kv(g, "title", profile ? "coi profile config.toml" : "coi config.toml") &&
                  kv(g, "type", "object") && str(g, "properties") && open_map(g) &&
                  gen_properties(g, "", profile) && close_map(g) && str(g, "additionalProperties") &&
                  yajl_gen_bool(g, false) == yajl_gen_status_ok && close_map(g);
        const unsigned char *buf;
        size_t len;
        if (!ok || yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
                return coi_error_set(err, EINVAL, "schema: could not generate the JSON");
        *ret = strndup((const char *)buf, len);
        return *ret ? 0 : coi_error_set(err, ENOMEM, "schema: %m");
}
