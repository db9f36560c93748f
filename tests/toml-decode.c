/* toml-decode.c — the toml-test decoder for the shim's TOML parser: TOML on stdin → tagged JSON on
 * stdout (exit 0), or "<stdin>:LINE:COL: message" on stderr (exit 1). Test-only; owns the JSON printer. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/toml.h"
#include "util.h"

static void print_json_string(FILE *f, const char *s, size_t len)
{
        fputc('"', f);
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c == '"' || c == '\\')
                        fprintf(f, "\\%c", c);
                else if (c == '\n')
                        fputs("\\n", f);
                else if (c == '\t')
                        fputs("\\t", f);
                else if (c < 0x20 || c == 0x7F)
                        fprintf(f, "\\u%04x", c);
                else
                        fputc(c, f); /* the parser guarantees valid UTF-8 */
        }
        fputc('"', f);
}

/* The shortest decimal form that reads back as the same double. */
static void format_float(double d, char *out, size_t size)
{
        if (isnan(d)) {
                snprintf(out, size, "nan");
                return;
        }
        if (isinf(d)) {
                snprintf(out, size, d < 0 ? "-inf" : "inf");
                return;
        }
        for (int prec = 1; prec <= 17; prec++) {
                snprintf(out, size, "%.*g", prec, d);
                if (strtod(out, NULL) == d)
                        return;
        }
}

static void print_scalar(FILE *f, const char *type, const char *value)
{
        fprintf(f, "{\"type\":\"%s\",\"value\":", type);
        print_json_string(f, value, strlen(value));
        fputc('}', f);
}

static void print_value(FILE *f, const struct toml_value *v)
{
        char text[64];
        switch (toml_value_type(v)) {
        case TOML_TABLE:
                fputc('{', f);
                for (size_t i = 0; i < toml_table_size(v); i++) {
                        size_t len;
                        const char *key = toml_table_key(v, i, &len);
                        if (i > 0)
                                fputc(',', f);
                        print_json_string(f, key, len);
                        fputc(':', f);
                        print_value(f, toml_table_value(v, i)); /* depth ≤ TOML_MAX_DEPTH */
                }
                fputc('}', f);
                return;
        case TOML_ARRAY:
                fputc('[', f);
                for (size_t i = 0; i < toml_array_length(v); i++) {
                        if (i > 0)
                                fputc(',', f);
                        print_value(f, toml_array_get(v, i));
                }
                fputc(']', f);
                return;
        case TOML_STRING: {
                const char *s;
                size_t len;
                toml_get_string(v, &s, &len);
                fputs("{\"type\":\"string\",\"value\":", f);
                print_json_string(f, s, len);
                fputc('}', f);
                return;
        }
        case TOML_INTEGER: {
                int64_t i;
                toml_get_integer(v, &i);
                snprintf(text, sizeof(text), "%" PRId64, i);
                print_scalar(f, "integer", text);
                return;
        }
        case TOML_FLOAT: {
                double d;
                toml_get_float(v, &d);
                format_float(d, text, sizeof(text));
                print_scalar(f, "float", text);
                return;
        }
        case TOML_BOOLEAN: {
                bool b;
                toml_get_bool(v, &b);
                print_scalar(f, "bool", b ? "true" : "false");
                return;
        }
        case TOML_DATETIME:
        case TOML_DATETIME_LOCAL:
        case TOML_DATE_LOCAL:
        case TOML_TIME_LOCAL: {
                static const char *const tags[] = {
                        [TOML_DATETIME] = "datetime",
                        [TOML_DATETIME_LOCAL] = "datetime-local",
                        [TOML_DATE_LOCAL] = "date-local",
                        [TOML_TIME_LOCAL] = "time-local",
                };
                const char *s;
                toml_get_datetime(v, NULL, &s);
                print_scalar(f, tags[toml_value_type(v)], s);
                return;
        }
        }
}

int main(void)
{
        /* All of stdin; the parser gets it without a terminating NUL. */
        _cleanup_free_ char *data = NULL;
        size_t len = 0, cap = 0;
        for (;;) {
                if (len == cap) {
                        cap = cap ? cap * 2 : 65536;
                        char *bigger = realloc(data, cap);
                        if (!bigger) {
                                fprintf(stderr, "<stdin>: out of memory\n");
                                return 1;
                        }
                        data = bigger;
                }
                size_t n = fread(data + len, 1, cap - len, stdin);
                len += n;
                if (n == 0)
                        break;
        }
        if (ferror(stdin)) {
                fprintf(stderr, "<stdin>: read error\n");
                return 1;
        }

        /* An allocation of exactly len bytes, so that ASan catches any read past the end. */
        _cleanup_free_ char *exact = malloc(len ? len : 1);
        if (!exact) {
                fprintf(stderr, "<stdin>: out of memory\n");
                return 1;
        }
        if (len)
                memcpy(exact, data, len);

        struct coi_error err = { 0 };
        struct toml_value *root = NULL;
        if (toml_parse(exact, len, "<stdin>", &root, &err) < 0) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
        }
        print_value(stdout, root);
        fputc('\n', stdout);
        toml_value_free(root);
        return fflush(stdout) == 0 ? 0 : 1;
}
