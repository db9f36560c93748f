/* cmd-util.h — what the files of `coi` commands share: when a user called one wrong, the reason and the
 * command's usage text on stderr, exit code 2; a JSON string for hand-laid JSON output. Header-only. */
#pragma once

#include <stdarg.h>
#include <stdio.h>

/* "coi CMD: reason" (unless fmt is NULL), then usage_text, on stderr. Returns 2, the usage exit code.
 * Each command file wraps it: #define usage(...) cmd_usage("CMD", usage_text, __VA_ARGS__) */
static inline int cmd_usage(const char *cmd, const char *usage_text, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static inline int cmd_usage(const char *cmd, const char *usage_text, const char *fmt, ...)
{
        if (fmt) {
                va_list ap;
                va_start(ap, fmt);
                fprintf(stderr, "coi %s: ", cmd);
                vfprintf(stderr, fmt, ap);
                fputc('\n', stderr);
                va_end(ap);
        }
        fputs(usage_text, stderr);
        return 2;
}

/* s as a JSON string ("" for NULL), for output laid out by hand as code-on-incus lays it out. */
static inline void cmd_json_string(FILE *f, const char *s)
{
        fputc('"', f);
        for (; s && *s; s++) {
                unsigned char c = (unsigned char)*s;
                if (c == '"' || c == '\\')
                        fprintf(f, "\\%c", c);
                else if (c < 0x20)
                        fprintf(f, "\\u%04x", c);
                else
                        fputc(c, f);
        }
        fputc('"', f);
}
