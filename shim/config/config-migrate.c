/* config-migrate.c — the layouts code-on-incus 0.8.0 stopped reading ([defaults] image/persistent and a
 * top-level [build] in a config, root-level image/persistent/[build] in a profile), refused in upstream's
 * words with the fix spelled out: every problem of one file in one message. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-internal.h"
#include "toml.h"
#include "util.h"

/* A value as TOML writes it, so the fix can be pasted: "x" quoted, true, 3, ["a", "b"]. */
static void put_value(FILE *out, const struct toml_value *v)
{
        const char *s;
        int64_t i;
        double d;
        bool b;
        switch (toml_value_type(v)) {
        case TOML_STRING:
                toml_get_string(v, &s, NULL);
                fputc('"', out);
                for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                        if (*p == '"' || *p == '\\')
                                fprintf(out, "\\%c", *p);
                        else if (*p == '\n')
                                fputs("\\n", out);
                        else if (*p == '\t')
                                fputs("\\t", out);
                        else if (*p < 0x20 || *p == 0x7f)
                                fprintf(out, "\\u%04x", *p);
                        else
                                fputc(*p, out);
                }
                fputc('"', out);
                break;
        case TOML_INTEGER:
                toml_get_integer(v, &i);
                fprintf(out, "%lld", (long long)i);
                break;
        case TOML_FLOAT:
                toml_get_float(v, &d);
                fprintf(out, "%g", d);
                break;
        case TOML_BOOLEAN:
                toml_get_bool(v, &b);
                fputs(b ? "true" : "false", out);
                break;
        case TOML_ARRAY:
                fputc('[', out);
                for (size_t k = 0; k < toml_array_length(v); k++) {
                        fputs(k ? ", " : "", out);
                        put_value(out, toml_array_get(v, k));
                }
                fputc(']', out);
                break;
        case TOML_TABLE:
                fputs("{ ", out);
                for (size_t k = 0; k < toml_table_size(v); k++) {
                        fprintf(out, "%s%s = ", k ? ", " : "", toml_table_key(v, k, NULL));
                        put_value(out, toml_table_value(v, k));
                }
                fputs(" }", out);
                break;
        default:
                toml_get_datetime(v, &(struct toml_datetime){ 0 }, &s);
                fputs(s, out);
                break;
        }
}

/* "  <what> = <value> is no longer supported in 0.8.0." and the [container] lines that replace it. */
static void moved_scalar(FILE *out, const char *what, const char *key, const struct toml_value *v)
{
        fprintf(out, "%s  %s %s = ", ftell(out) ? "\n\n" : "", what, key);
        put_value(out, v);
        fprintf(out,
                " is no longer supported in 0.8.0.\n  Move it under [container]:\n\n      [container]\n      "
                "%s = ",
                key);
        put_value(out, v);
}

/* "  <what> [build] is no longer supported in 0.8.0." and the same keys under [container.build]. */
static void moved_build(FILE *out, const char *what, const struct toml_value *build)
{
        fprintf(out,
                "%s  %s [build] is no longer supported in 0.8.0.\n  Move it under [container.build]:\n\n"
                "      [container.build]",
                ftell(out) ? "\n\n" : "", what);
        if (toml_value_type(build) != TOML_TABLE) {
                fputs("\n      ", out);
                put_value(out, build);
                return;
        }
        for (size_t k = 0; k < toml_table_size(build); k++) {
                fprintf(out, "\n      %s = ", toml_table_key(build, k, NULL));
                put_value(out, toml_table_value(build, k));
        }
}

int config_check_old_layout(const struct toml_value *root, const char *file, enum config_layer layer,
                            struct coi_error *err)
{
        bool profile = layer == CONFIG_LAYER_PROFILE;
        const struct toml_value *defaults = profile ? NULL : toml_table_get(root, "defaults");
        const struct toml_value *image =
                profile ? toml_table_get(root, "image") : toml_table_get(defaults, "image");
        const struct toml_value *persistent =
                profile ? toml_table_get(root, "persistent") : toml_table_get(defaults, "persistent");
        const struct toml_value *build = toml_table_get(root, "build");
        if (!image && !persistent && !build)
                return 0;

        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&text, &len);
        if (!out)
                return coi_error_set(err, errno, "%s: %m", file);
        const char *what = profile ? "Root-level" : "[defaults]";
        if (image)
                moved_scalar(out, what, "image", image);
        if (persistent)
                moved_scalar(out, what, "persistent", persistent);
        if (build)
                moved_build(out, profile ? "Root-level" : "Top-level", build);
        if (fclose(out) != 0 || !text)
                return coi_error_set(err, ENOMEM, "%s: %m", file);
        return coi_error_set(err, EINVAL, "%s error in %s:\n%s", profile ? "profile" : "config", file, text);
}
