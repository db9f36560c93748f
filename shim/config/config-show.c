/* config-show.c — `coi config show`: every key with its value and origin, as commented TOML or as JSON.
 * Reads struct config through the key table; writes nothing but the output stream. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-internal.h"
#include "util.h"

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

/* The value of config_keys[i] in TOML (and JSON: the same text for everything but tables). */
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
        const struct key_def *k = &config_keys[i];
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
        for (size_t i = 0; i < CONFIG_N_KEYS; i++) {
                const struct key_def *k = &config_keys[i];
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
