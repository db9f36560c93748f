/* toml-parser.c — the parser state's positions and errors, shared by toml.c (structure, strings, keys)
 * and toml-scalar.c (numbers, date-times): "file:line:col: message", columns in code points. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "toml-parser.h"
#include "util.h"

struct toml_pos toml_pos_at(struct parser *p, size_t off)
{
        /* Columns count code points from the line start; the cache keeps this linear as we move on. */
        if (p->col_off < p->line_start || p->col_off > off) {
                p->col_off = p->line_start;
                p->col_val = 1;
        }
        for (; p->col_off < off; p->col_off++)
                if (((unsigned char)p->buf[p->col_off] & 0xC0) != 0x80)
                        p->col_val++;
        return (struct toml_pos){ p->line, p->col_val };
}

struct toml_pos toml_here(struct parser *p)
{
        return toml_pos_at(p, p->pos);
}

int toml_fail_at(struct parser *p, struct toml_pos at, const char *fmt, ...)
{
        char msg[768];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return coi_error_set(p->err, EINVAL, "%s:%u:%u: %s", p->filename, at.line, at.col, msg);
}

int toml_oom(struct parser *p)
{
        return coi_error_set(p->err, ENOMEM, "%s: out of memory", p->filename);
}
