/* cmd-util.h — what the files of `coi` commands share when a user called one wrong: the reason and the
 * command's usage text on stderr, exit code 2. Header-only. */
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
