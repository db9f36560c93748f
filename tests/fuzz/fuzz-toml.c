/* fuzz-toml.c — libFuzzer harness for the config parser: the input is a config file, parsed with
 * toml_parse and laid over the built-in defaults as config_apply_file does (file and profile layers). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/toml.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void rootp(struct toml_value **v)
{
        toml_value_free(*v);
}

/* Every getter on every value: reads each node the way the config code does. */
static void walk(const struct toml_value *v, unsigned depth)
{
        const char *s;
        size_t len;
        int64_t i;
        double d;
        bool b;
        struct toml_datetime dt;
        const char *text;

        if (depth > TOML_MAX_DEPTH + 1)
                abort(); /* the parser promised no deeper trees */
        (void)toml_value_pos(v);
        (void)toml_type_to_string(toml_value_type(v));
        switch (toml_value_type(v)) {
        case TOML_TABLE:
                for (size_t k = 0; k < toml_table_size(v); k++) {
                        const char *key = toml_table_key(v, k, &len);
                        if (!key || strlen(key) > len)
                                abort();
                        (void)toml_table_key_pos(v, k);
                        /* A key holding "\0" is found by toml_table_get only up to the NUL. */
                        if (strlen(key) == len && !toml_table_get(v, key))
                                abort();
                        walk(toml_table_value(v, k), depth + 1);
                }
                break;
        case TOML_ARRAY:
                for (size_t k = 0; k < toml_array_length(v); k++)
                        walk(toml_array_get(v, k), depth + 1);
                break;
        case TOML_STRING:
                if (toml_get_string(v, &s, &len) < 0 || s[len] != '\0')
                        abort();
                break;
        case TOML_INTEGER:
                if (toml_get_integer(v, &i) < 0 || toml_get_float(v, &d) < 0)
                        abort();
                break;
        case TOML_FLOAT:
                if (toml_get_float(v, &d) < 0)
                        abort();
                break;
        case TOML_BOOLEAN:
                if (toml_get_bool(v, &b) < 0)
                        abort();
                break;
        default:
                if (toml_get_datetime(v, &dt, &text) < 0 || !text)
                        abort();
                break;
        }
}

static void apply(const struct toml_value *root, enum config_layer layer)
{
        struct coi_error err = { 0 };
        _cleanup_(config_freep) struct config *c = NULL;
        int r = layer == CONFIG_LAYER_FILE ? config_new_defaults("/home/fuzz", &c, &err)
                                           : config_new_empty(&c, &err);
        if (r < 0)
                abort(); /* the built-in defaults must always load */
        if (config_apply_toml(c, root, "/home/fuzz/.coi/config.toml", "/home/fuzz", layer, &err) < 0) {
                if (!err.msg[0])
                        abort(); /* every refusal says why */
                return;
        }
        static FILE *null;
        if (!null && !(null = fopen("/dev/null", "w")))
                abort();
        (void)config_show(c, null, CONFIG_SHOW_TEXT, layer == CONFIG_LAYER_PROFILE);
        (void)config_show(c, null, CONFIG_SHOW_JSON, false);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct coi_error err = { 0 };
        _cleanup_(rootp) struct toml_value *root = NULL;
        if (toml_parse((const char *)data, size, "config.toml", &root, &err) < 0) {
                if (root || !err.msg[0])
                        abort(); /* a failure leaves *ret_root alone and says why */
                return 0;
        }
        walk(root, 0);
        apply(root, CONFIG_LAYER_FILE);
        apply(root, CONFIG_LAYER_PROFILE);
        return 0;
}
