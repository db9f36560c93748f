/* toml-parser.h — the parser state and the small lexical helpers that toml.c (structure, strings, keys)
 * shares with toml-scalar.c (numbers, date-times). Internal to the TOML parser. */
#pragma once

#include <locale.h>
#include <stdbool.h>
#include <stddef.h>

#include "toml-internal.h"

struct parser {
        const char *buf;
        size_t len, pos;
        const char *filename;
        struct coi_error *err;
        unsigned line;     /* line of pos */
        size_t line_start; /* offset where that line starts */
        size_t col_off;    /* column cache: col_val is the column of offset col_off */
        unsigned col_val;
        locale_t c_locale; /* numbers are parsed with '.' whatever the caller's locale */
        struct toml_value *root;
        struct toml_value *current; /* the table that key/value lines go into */
};

/* toml-parser.c: where offset off / the current offset is, as line and column (code points). */
struct toml_pos toml_pos_at(struct parser *p, size_t off);
struct toml_pos toml_here(struct parser *p);
/* Sets "file:line:col: message" and returns -EINVAL. */
int toml_fail_at(struct parser *p, struct toml_pos at, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
#define fail(p, ...) toml_fail_at((p), toml_here(p), __VA_ARGS__)
/* Sets "file: out of memory" and returns -ENOMEM. */
int toml_oom(struct parser *p);

/* toml-scalar.c: at a digit, sign, "inf" or "nan" / at a date or time; *ret is the new value. */
int toml_parse_number(struct parser *p, struct toml_value **ret);
int toml_parse_datetime(struct parser *p, struct toml_value **ret);

static inline bool is_bare_key_char(int c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '-';
}

static inline int peek_at(const struct parser *p, size_t k)
{
        return p->pos + k < p->len ? (unsigned char)p->buf[p->pos + k] : -1;
}

static inline int peek(const struct parser *p)
{
        return peek_at(p, 0);
}

static inline bool is_digit(int c)
{
        return c >= '0' && c <= '9';
}

static inline bool time_ahead(const struct parser *p, size_t k)
{
        return is_digit(peek_at(p, k)) && is_digit(peek_at(p, k + 1)) && peek_at(p, k + 2) == ':';
}
