/* toml.c — the TOML 1.0.0 parser: bytes → a tree of struct toml_value, enforcing every rule of the spec
 * (duplicate keys, table redefinition, closed inline tables, escapes, UTF-8). Numbers and date-times:
 * toml-scalar.c; the tree: toml-tree.c. */
#include <errno.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toml-parser.h"
#include "util.h"

/* A growing byte buffer: string values and keys are built in one. */
struct buf {
        char *s;
        size_t len, cap;
};

struct key {
        struct key_part *parts;
        size_t n, cap;
};

static void buf_done(struct buf *b)
{
        free(b->s);
}

static void key_done(struct key *k)
{
        for (size_t i = 0; i < k->n; i++)
                free(k->parts[i].s);
        free(k->parts);
}

static int buf_put(struct buf *b, const void *data, size_t n)
{
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 32;
                while (cap < b->len + n + 1)
                        cap *= 2;
                char *s = realloc(b->s, cap);
                if (!s)
                        return -ENOMEM;
                b->s = s;
                b->cap = cap;
        }
        memcpy(b->s + b->len, data, n);
        b->len += n;
        b->s[b->len] = '\0';
        return 0;
}

static int buf_putc(struct buf *b, char c)
{
        return buf_put(b, &c, 1);
}

/* Names the character at pos for a message: "`x`", "end of file", "newline", "U+0007", "`é` (U+00E9)". */
static const char *char_name(const struct parser *p, char out[static 32])
{
        int c = peek(p);
        if (c < 0)
                return "end of file";
        if (c == '\n' || (c == '\r' && peek_at(p, 1) == '\n'))
                return "newline";
        if (c < 0x20 || c == 0x7F)
                snprintf(out, 32, "U+%04X", (unsigned)c);
        else if (c == '`')
                snprintf(out, 32, "'`'");
        else if (c < 0x80)
                snprintf(out, 32, "`%c`", c);
        else {
                /* the input is valid UTF-8 */
                int n = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
                uint32_t cp = (uint32_t)c & (0x7F >> n);
                for (int i = 1; i < n; i++)
                        cp = cp << 6 | ((uint32_t)peek_at(p, (size_t)i) & 0x3F);
                snprintf(out, 32, "`%.*s` (U+%04X)", n, p->buf + p->pos, cp);
        }
        return out;
}

/* Formats key parts 0..n-1 as written in TOML (bare where possible) for messages; long keys are cut. */
static const char *key_name(const struct key *k, size_t n, char out[static 256])
{
        size_t o = 0;
        for (size_t i = 0; i < n && o < 250; i++) {
                const struct key_part *part = &k->parts[i];
                bool bare = part->len > 0;
                for (size_t j = 0; j < part->len; j++)
                        bare = bare && is_bare_key_char((unsigned char)part->s[j]);
                if (i > 0)
                        out[o++] = '.';
                if (!bare)
                        out[o++] = '"';
                for (size_t j = 0; j < part->len && o < 250; j++) {
                        unsigned char c = part->s[j];
                        if (bare || (c >= 0x20 && c != 0x7F && c != '"' && c != '\\'))
                                out[o++] = (char)c;
                        else if (c == '"' || c == '\\')
                                o += (size_t)snprintf(out + o, 256 - o, "\\%c", c);
                        else
                                o += (size_t)snprintf(out + o, 256 - o, "\\u%04X", c);
                }
                if (!bare && o < 250)
                        out[o++] = '"';
        }
        if (o >= 250)
                o = (size_t)snprintf(out + 250, 6, "…") + 250;
        out[o] = '\0';
        return out;
}

/* ---- lexical helpers ---- */

static void skip_ws(struct parser *p)
{
        while (p->pos < p->len && (p->buf[p->pos] == ' ' || p->buf[p->pos] == '\t'))
                p->pos++;
}

static bool at_newline(const struct parser *p)
{
        return peek(p) == '\n' || peek(p) == '\r';
}

/* Consumes LF or CRLF at pos. */
static int newline(struct parser *p)
{
        if (peek(p) == '\r') {
                if (peek_at(p, 1) != '\n')
                        return fail(p, "bare carriage return (CR must be followed by LF)");
                p->pos++;
        }
        p->pos++;
        p->line++;
        p->line_start = p->pos;
        return 0;
}

static int skip_comment(struct parser *p)
{
        if (peek(p) != '#')
                return 0;
        for (p->pos++; p->pos < p->len; p->pos++) {
                unsigned char c = p->buf[p->pos];
                if (c == '\n' || (c == '\r' && peek_at(p, 1) == '\n'))
                        return 0;
                if ((c < 0x20 && c != '\t') || c == 0x7F)
                        return fail(p, "control character U+%04X is not allowed in a comment", c);
        }
        return 0;
}

/* Whitespace, comments and newlines, as allowed between array elements. */
static int skip_blank(struct parser *p)
{
        for (;;) {
                skip_ws(p);
                int r = skip_comment(p);
                if (r < 0)
                        return r;
                if (!at_newline(p))
                        return 0;
                r = newline(p);
                if (r < 0)
                        return r;
        }
}

/* After a key/value line or a header: optional comment, then a newline or the end. */
static int end_of_line(struct parser *p, const char *after)
{
        skip_ws(p);
        int r = skip_comment(p);
        if (r < 0)
                return r;
        if (p->pos >= p->len)
                return 0;
        if (at_newline(p))
                return newline(p);
        char name[32];
        return fail(p, "expected a newline after %s, found %s", after, char_name(p, name));
}

static void encode_utf8(uint32_t c, char out[static 4], size_t *ret_n)
{
        if (c < 0x80) {
                out[0] = (char)c;
                *ret_n = 1;
        } else if (c < 0x800) {
                out[0] = (char)(0xC0 | (c >> 6));
                out[1] = (char)(0x80 | (c & 0x3F));
                *ret_n = 2;
        } else if (c < 0x10000) {
                out[0] = (char)(0xE0 | (c >> 12));
                out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
                out[2] = (char)(0x80 | (c & 0x3F));
                *ret_n = 3;
        } else {
                out[0] = (char)(0xF0 | (c >> 18));
                out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
                out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
                out[3] = (char)(0x80 | (c & 0x3F));
                *ret_n = 4;
        }
}

/* The whole document must be UTF-8 (no overlong forms, surrogates or code points past U+10FFFF). */
static int validate_utf8(struct parser *p)
{
        const unsigned char *s = (const unsigned char *)p->buf;
        for (size_t i = p->pos; i < p->len;) {
                if (s[i] == '\n') {
                        p->line++;
                        p->line_start = i + 1;
                }
                if (s[i] < 0x80) {
                        i++;
                        continue;
                }
                size_t n = s[i] >= 0xC2 && s[i] <= 0xDF   ? 2
                           : s[i] >= 0xE0 && s[i] <= 0xEF ? 3
                           : s[i] >= 0xF0 && s[i] <= 0xF4 ? 4
                                                          : 0;
                bool ok = n > 0 && i + n <= p->len;
                for (size_t j = 1; ok && j < n; j++)
                        ok = (s[i + j] & 0xC0) == 0x80;
                if (ok && n == 3)
                        ok = !(s[i] == 0xE0 && s[i + 1] < 0xA0) && !(s[i] == 0xED && s[i + 1] >= 0xA0);
                if (ok && n == 4)
                        ok = !(s[i] == 0xF0 && s[i + 1] < 0x90) && !(s[i] == 0xF4 && s[i + 1] >= 0x90);
                if (!ok)
                        return toml_fail_at(p, toml_pos_at(p, i), "invalid UTF-8 (byte 0x%02X)", s[i]);
                i += n;
        }
        p->line = 1;
        p->line_start = p->pos;
        p->col_off = p->pos;
        p->col_val = 1;
        return 0;
}

/* ---- strings ---- */

static int parse_escape(struct parser *p, struct buf *out, bool multiline)
{
        struct toml_pos at = toml_here(p);
        p->pos++; /* the backslash */
        int c = peek(p);
        const char *simple = NULL;
        switch (c) {
        case 'b':
                simple = "\b";
                break;
        case 't':
                simple = "\t";
                break;
        case 'n':
                simple = "\n";
                break;
        case 'f':
                simple = "\f";
                break;
        case 'r':
                simple = "\r";
                break;
        case '"':
                simple = "\"";
                break;
        case '\\':
                simple = "\\";
                break;
        }
        if (simple) {
                p->pos++;
                return buf_putc(out, simple[0]) < 0 ? toml_oom(p) : 0;
        }
        if (c == 'u' || c == 'U') {
                size_t n = c == 'u' ? 4 : 8;
                uint32_t v = 0;
                for (size_t i = 1; i <= n; i++) {
                        int h = peek_at(p, i);
                        int d = is_digit(h)            ? h - '0'
                                : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                       : -1;
                        if (d < 0)
                                return toml_fail_at(
                                        p, at, "invalid escape: \\%c needs exactly %zu hex digits", c, n);
                        v = v * 16 + (uint32_t)d;
                }
                if ((v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF)
                        return toml_fail_at(p, at, "invalid escape: U+%04X is not a Unicode scalar value", v);
                p->pos += n + 1;
                char utf8[4];
                size_t len;
                encode_utf8(v, utf8, &len);
                return buf_put(out, utf8, len) < 0 ? toml_oom(p) : 0;
        }
        if (multiline && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
                /* line-ending backslash: drop it, the newline and all whitespace up to the next text */
                skip_ws(p);
                if (!at_newline(p))
                        return toml_fail_at(
                                p, at,
                                "invalid escape: a backslash followed by whitespace must end the line");
                for (;;) {
                        skip_ws(p);
                        if (!at_newline(p))
                                return 0;
                        int r = newline(p);
                        if (r < 0)
                                return r;
                }
        }
        char name[32];
        return toml_fail_at(p, at, "invalid escape sequence: backslash followed by %s", char_name(p, name));
}

/* A string of any of the four kinds at pos (multi-line ones only if allowed); fills out. */
static int parse_string(struct parser *p, struct buf *out, bool allow_multiline)
{
        struct toml_pos start = toml_here(p);
        char quote = p->buf[p->pos];
        bool literal = quote == '\'';
        bool multiline = peek_at(p, 1) == quote && peek_at(p, 2) == quote;
        if (multiline && !allow_multiline)
                return fail(p, "a multi-line string cannot be a key");
        if (buf_put(out, "", 0) < 0)
                return toml_oom(p);
        p->pos += multiline ? 3 : 1;
        if (multiline && at_newline(p)) { /* a newline right after the opening quotes is trimmed */
                int r = newline(p);
                if (r < 0)
                        return r;
        }
        for (;;) {
                int c = peek(p), r;
                bool eol = c == '\n' || (c == '\r' && peek_at(p, 1) == '\n');
                if (c < 0 || (!multiline && eol))
                        return toml_fail_at(p, start, "unterminated string (missing closing %s)",
                                            literal ? (multiline ? "'''" : "'")
                                                    : (multiline ? "\"\"\"" : "\""));
                if (c == quote) {
                        if (!multiline) {
                                p->pos++;
                                return 0;
                        }
                        size_t n = 0;
                        while (peek_at(p, n) == quote)
                                n++;
                        if (n >= 3) {
                                /* up to two quotes right before the closing three belong to the string */
                                if (n > 5)
                                        return fail(p,
                                                    "too many quotes: at most two may precede the closing %s",
                                                    literal ? "'''" : "\"\"\"");
                                if (buf_put(out, p->buf + p->pos, n - 3) < 0)
                                        return toml_oom(p);
                                p->pos += n;
                                return 0;
                        }
                        if (buf_put(out, p->buf + p->pos, n) < 0)
                                return toml_oom(p);
                        p->pos += n;
                        continue;
                }
                if (c == '\\' && !literal) {
                        r = parse_escape(p, out, multiline);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (eol) { /* multi-line only; CRLF becomes LF */
                        r = newline(p);
                        if (r < 0)
                                return r;
                        if (buf_putc(out, '\n') < 0)
                                return toml_oom(p);
                        continue;
                }
                if ((c < 0x20 && c != '\t') || c == 0x7F)
                        return fail(p, "control character U+%04X is not allowed in a string%s", (unsigned)c,
                                    literal ? "" : " (escape it)");
                if (buf_putc(out, (char)c) < 0)
                        return toml_oom(p);
                p->pos++;
        }
}

/* ---- keys ---- */

static int parse_key(struct parser *p, struct key *k)
{
        for (;;) {
                skip_ws(p);
                if (k->n == k->cap) {
                        size_t cap = k->cap ? k->cap * 2 : 4;
                        struct key_part *parts = reallocarray(k->parts, cap, sizeof(*parts));
                        if (!parts)
                                return toml_oom(p);
                        k->parts = parts;
                        k->cap = cap;
                }
                struct key_part *part = &k->parts[k->n];
                _cleanup_(buf_done) struct buf b = { 0 };
                part->pos = toml_here(p);
                int c = peek(p);
                if (c == '"' || c == '\'') {
                        int r = parse_string(p, &b, false);
                        if (r < 0)
                                return r;
                } else if (is_bare_key_char(c)) {
                        size_t start = p->pos;
                        while (is_bare_key_char(peek(p)))
                                p->pos++;
                        if (buf_put(&b, p->buf + start, p->pos - start) < 0)
                                return toml_oom(p);
                } else {
                        char name[32];
                        return fail(p, "expected a key, found %s", char_name(p, name));
                }
                part->s = TAKE_PTR(b.s);
                part->len = b.len;
                k->n++;
                skip_ws(p);
                if (peek(p) != '.')
                        return 0;
                p->pos++;
        }
}

/* ---- values ---- */

static int parse_value(struct parser *p, unsigned depth, struct toml_value **ret);
static int parse_keyval(struct parser *p, struct toml_value *table);

static int check_depth(struct parser *p, unsigned depth, struct toml_pos at)
{
        if (depth > TOML_MAX_DEPTH)
                return toml_fail_at(p, at,
                                    "nesting deeper than %d levels (tables, arrays and inline tables count)",
                                    TOML_MAX_DEPTH);
        return 0;
}

/* An array or inline table starts at its bracket: depth checked, value made, bracket consumed. */
static int open_container(struct parser *p, enum toml_type type, unsigned depth, struct toml_value **ret)
{
        struct toml_pos start = toml_here(p);
        int r = check_depth(p, depth, start);
        if (r < 0)
                return r;
        *ret = toml_value_new(type, start, depth);
        if (!*ret)
                return toml_oom(p);
        p->pos++;
        return 0;
}

static int parse_array(struct parser *p, unsigned depth, struct toml_value **ret)
{
        _cleanup_(value_freep) struct toml_value *a = NULL;
        int r = open_container(p, TOML_ARRAY, depth, &a);
        if (r < 0)
                return r;
        struct toml_pos start = a->pos;
        for (;;) {
                r = skip_blank(p);
                if (r < 0)
                        return r;
                if (peek(p) == ']')
                        break;
                struct toml_value *item = NULL;
                r = parse_value(p, depth + 1, &item);
                if (r < 0)
                        return r;
                if (toml_array_push(a, item) < 0)
                        return toml_oom(p);
                r = skip_blank(p);
                if (r < 0)
                        return r;
                if (peek(p) == ']')
                        break;
                if (peek(p) < 0)
                        return toml_fail_at(p, start, "unterminated array (missing `]`)");
                if (peek(p) != ',') {
                        char name[32];
                        return fail(p, "expected `,` or `]` in array, found %s", char_name(p, name));
                }
                p->pos++;
        }
        p->pos++;
        *ret = TAKE_PTR(a);
        return 0;
}

static int parse_inline_table(struct parser *p, unsigned depth, struct toml_value **ret)
{
        _cleanup_(value_freep) struct toml_value *t = NULL;
        int r = open_container(p, TOML_TABLE, depth, &t);
        if (r < 0)
                return r;
        struct toml_pos start = t->pos;
        skip_ws(p);
        if (peek(p) != '}') {
                for (;;) {
                        skip_ws(p);
                        if (peek(p) == '}')
                                return fail(p, "trailing comma in an inline table");
                        r = parse_keyval(p, t);
                        if (r < 0)
                                return r;
                        skip_ws(p);
                        if (peek(p) == '}')
                                break;
                        char name[32];
                        if (peek(p) < 0)
                                return toml_fail_at(p, start, "unterminated inline table (missing `}`)");
                        if (at_newline(p))
                                return fail(p, "newline in an inline table (it must stay on one line)");
                        if (peek(p) != ',')
                                return fail(p, "expected `,` or `}` in inline table, found %s",
                                            char_name(p, name));
                        p->pos++;
                }
        }
        p->pos++;
        t->flags |= TABLE_INLINE;
        *ret = TAKE_PTR(t);
        return 0;
}

static int parse_value(struct parser *p, unsigned depth, struct toml_value **ret)
{
        struct toml_pos at = toml_here(p);
        int c = peek(p);
        char name[32];
        if (c == '"' || c == '\'') {
                _cleanup_(buf_done) struct buf b = { 0 };
                int r = parse_string(p, &b, true);
                if (r < 0)
                        return r;
                struct toml_value *v = toml_value_new(TOML_STRING, at, 0);
                if (!v)
                        return toml_oom(p);
                v->string.s = TAKE_PTR(b.s);
                v->string.len = b.len;
                *ret = v;
                return 0;
        }
        if (c == '[')
                return parse_array(p, depth, ret);
        if (c == '{')
                return parse_inline_table(p, depth, ret);
        if (c == 't' || c == 'f') {
                const char *word = c == 't' ? "true" : "false";
                size_t n = strlen(word);
                if (p->len - p->pos < n || memcmp(p->buf + p->pos, word, n) != 0 ||
                    is_bare_key_char(peek_at(p, n)))
                        return fail(p,
                                    "invalid value (strings need quotes; booleans are `true` and `false`)");
                struct toml_value *v = toml_value_new(TOML_BOOLEAN, at, 0);
                if (!v)
                        return toml_oom(p);
                v->boolean = c == 't';
                p->pos += n;
                *ret = v;
                return 0;
        }
        if (is_digit(c) && ((is_digit(peek_at(p, 1)) && is_digit(peek_at(p, 2)) && is_digit(peek_at(p, 3)) &&
                             peek_at(p, 4) == '-') ||
                            time_ahead(p, 0)))
                return toml_parse_datetime(p, ret);
        if (is_digit(c) || c == '+' || c == '-' || c == 'i' || c == 'n')
                return toml_parse_number(p, ret);
        if (c < 0 || at_newline(p))
                return fail(p, "missing value");
        return fail(p, "expected a value, found %s", char_name(p, name));
}

/* ---- keys into tables: the semantic rules ---- */

/* "a string", "an array of tables" …: what a key already holds, for messages. */
static const char *what(const struct toml_value *v)
{
        static const char *const names[] = {
                [TOML_TABLE] = "a table",
                [TOML_ARRAY] = "an array",
                [TOML_STRING] = "a string",
                [TOML_INTEGER] = "an integer",
                [TOML_FLOAT] = "a float",
                [TOML_BOOLEAN] = "a boolean",
                [TOML_DATETIME] = "an offset date-time",
                [TOML_DATETIME_LOCAL] = "a local date-time",
                [TOML_DATE_LOCAL] = "a local date",
                [TOML_TIME_LOCAL] = "a local time",
        };
        if (v->type == TOML_TABLE && (v->flags & TABLE_INLINE))
                return "an inline table";
        if (v->type == TOML_ARRAY && (v->flags & ARRAY_OF_TABLES))
                return "an array of tables";
        return names[v->type];
}

/* Creates a new table for key part k->parts[i] inside t. */
static int add_table(struct parser *p, struct toml_value *t, const struct key *k, size_t i, unsigned flags,
                     struct toml_value **ret)
{
        int r = check_depth(p, t->depth + 1, k->parts[i].pos);
        if (r < 0)
                return r;
        struct toml_value *child = toml_value_new(TOML_TABLE, k->parts[i].pos, t->depth + 1);
        if (!child || toml_table_add(t, &k->parts[i], child) < 0)
                return toml_oom(p);
        child->flags = flags;
        *ret = child;
        return 0;
}

/* key = value, in table t (the current table, or an inline table being read). */
static int parse_keyval(struct parser *p, struct toml_value *table)
{
        _cleanup_(key_done) struct key k = { 0 };
        int r = parse_key(p, &k);
        if (r < 0)
                return r;
        if (peek(p) != '=') {
                char name[32];
                return fail(p, "expected `=` after a key, found %s", char_name(p, name));
        }
        p->pos++;
        skip_ws(p);
        char name[256], full[256];
        struct toml_value *t = table;
        for (size_t i = 0; i + 1 < k.n; i++) { /* a.b.c = 1: a and b are tables, created if needed */
                struct entry *e = toml_table_find(t, k.parts[i].s, k.parts[i].len);
                if (!e) {
                        r = add_table(p, t, &k, i, TABLE_DOTTED, &t);
                        if (r < 0)
                                return r;
                        continue;
                }
                struct toml_value *v = e->value;
                if (v->type != TOML_TABLE)
                        return toml_fail_at(p, k.parts[i].pos,
                                            "cannot use dotted key `%s`: `%s` is %s (defined at %u:%u)",
                                            key_name(&k, k.n, full), key_name(&k, i + 1, name), what(v),
                                            e->pos.line, e->pos.col);
                if (v->flags & TABLE_INLINE)
                        return toml_fail_at(p, k.parts[i].pos,
                                            "cannot add `%s` to inline table `%s` (defined at %u:%u): "
                                            "inline tables are closed",
                                            key_name(&k, k.n, full), key_name(&k, i + 1, name), e->pos.line,
                                            e->pos.col);
                if (v->flags & TABLE_HEADER)
                        return toml_fail_at(p, k.parts[i].pos,
                                            "cannot use dotted key `%s`: `%s` is a table defined by "
                                            "a header at %u:%u, dotted keys cannot extend it",
                                            key_name(&k, k.n, full), key_name(&k, i + 1, name), v->pos.line,
                                            v->pos.col);
                v->flags |= TABLE_DOTTED;
                t = v;
        }
        struct entry *e = toml_table_find(t, k.parts[k.n - 1].s, k.parts[k.n - 1].len);
        if (e)
                return toml_fail_at(p, k.parts[k.n - 1].pos, "duplicate key `%s` (first defined at %u:%u)",
                                    key_name(&k, k.n, name), e->pos.line, e->pos.col);
        struct toml_value *v = NULL;
        r = parse_value(p, t->depth + 1, &v);
        if (r < 0)
                return r;
        return toml_table_add(t, &k.parts[k.n - 1], v) < 0 ? toml_oom(p) : 0;
}

/* [a.b.c] or [[a.b.c]]: makes the named table the current one. */
static int parse_header(struct parser *p)
{
        bool aot = peek_at(p, 1) == '[';
        p->pos += aot ? 2 : 1;
        _cleanup_(key_done) struct key k = { 0 };
        int r = parse_key(p, &k);
        if (r < 0)
                return r;
        if (peek(p) != ']' || (aot && peek_at(p, 1) != ']')) {
                char name[32];
                return fail(p, "expected `%s` after the table name, found %s", aot ? "]]" : "]",
                            char_name(p, name));
        }
        p->pos += aot ? 2 : 1;
        char name[256], full[256];
        struct toml_value *t = p->root;
        for (size_t i = 0; i + 1 < k.n; i++) { /* [a.b.c]: a and b are created if needed */
                struct entry *e = toml_table_find(t, k.parts[i].s, k.parts[i].len);
                if (!e) {
                        r = add_table(p, t, &k, i, 0, &t);
                        if (r < 0)
                                return r;
                        continue;
                }
                struct toml_value *v = e->value;
                if (v->type == TOML_ARRAY && (v->flags & ARRAY_OF_TABLES))
                        t = v->array.items[v->array.n - 1]; /* the most recent [[element]] */
                else if (v->type == TOML_TABLE && !(v->flags & TABLE_INLINE))
                        t = v;
                else
                        return toml_fail_at(p, k.parts[i].pos,
                                            "cannot define table [%s]: `%s` is %s (defined at %u:%u)",
                                            key_name(&k, k.n, full), key_name(&k, i + 1, name), what(v),
                                            e->pos.line, e->pos.col);
        }
        const struct key_part *last = &k.parts[k.n - 1];
        struct entry *e = toml_table_find(t, last->s, last->len);
        struct toml_value *v = e ? e->value : NULL;
        if (!aot) {
                if (!v)
                        return add_table(p, t, &k, k.n - 1, TABLE_HEADER, &p->current);
                if (v->type != TOML_TABLE || (v->flags & TABLE_INLINE))
                        return toml_fail_at(p, last->pos,
                                            "cannot define table [%s]: it is already %s (defined at %u:%u)",
                                            key_name(&k, k.n, name), what(v), e->pos.line, e->pos.col);
                if (v->flags & TABLE_HEADER)
                        return toml_fail_at(p, last->pos, "table [%s] is defined twice (first at %u:%u)",
                                            key_name(&k, k.n, name), v->pos.line, v->pos.col);
                if (v->flags & TABLE_DOTTED)
                        return toml_fail_at(p, last->pos,
                                            "cannot define table [%s]: it was already defined by dotted "
                                            "keys (at %u:%u)",
                                            key_name(&k, k.n, name), e->pos.line, e->pos.col);
                v->flags |= TABLE_HEADER;
                v->pos = last->pos; /* it existed implicitly; from now on it is where its header is */
                p->current = v;
                return 0;
        }
        if (!v) {
                r = check_depth(p, t->depth + 1, last->pos);
                if (r < 0)
                        return r;
                v = toml_value_new(TOML_ARRAY, last->pos, t->depth + 1);
                if (!v || toml_table_add(t, last, v) < 0)
                        return toml_oom(p);
                v->flags = ARRAY_OF_TABLES;
        } else if (v->type != TOML_ARRAY || !(v->flags & ARRAY_OF_TABLES))
                return toml_fail_at(p, last->pos,
                                    "cannot append to [[%s]]: it is already %s (defined at %u:%u)",
                                    key_name(&k, k.n, name), what(v), e->pos.line, e->pos.col);
        r = check_depth(p, v->depth + 1, last->pos);
        if (r < 0)
                return r;
        struct toml_value *element = toml_value_new(TOML_TABLE, last->pos, v->depth + 1);
        if (!element || toml_array_push(v, element) < 0)
                return toml_oom(p);
        element->flags = TABLE_HEADER;
        p->current = element;
        return 0;
}

static int parse_document(struct parser *p)
{
        for (;;) {
                skip_ws(p);
                int c = peek(p), r;
                if (c < 0)
                        return 0;
                if (c == '#')
                        r = skip_comment(p);
                else if (at_newline(p))
                        r = newline(p);
                else if (c == '[') {
                        r = parse_header(p);
                        if (r >= 0)
                                r = end_of_line(p, "the table header");
                } else {
                        r = parse_keyval(p, p->current);
                        if (r >= 0)
                                r = end_of_line(p, "the value");
                }
                if (r < 0)
                        return r;
        }
}

static void locale_freep(locale_t *l)
{
        if (*l)
                freelocale(*l);
}

int toml_parse(const char *data, size_t len, const char *filename, struct toml_value **ret_root,
               struct coi_error *err)
{
        _cleanup_(locale_freep) locale_t c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
        _cleanup_(value_freep) struct toml_value *root =
                toml_value_new(TOML_TABLE, (struct toml_pos){ 1, 1 }, 0);
        struct parser p = {
                .buf = data,
                .len = len,
                .filename = filename ? filename : "<input>",
                .err = err,
                .line = 1,
                .col_val = 1,
                .c_locale = c_locale,
                .root = root,
                .current = root,
        };
        if (!root || !c_locale)
                return toml_oom(&p);
        if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
                p.pos = 3;
        int r = validate_utf8(&p);
        if (r < 0)
                return r;
        r = parse_document(&p);
        if (r < 0)
                return r;
        *ret_root = TAKE_PTR(root);
        return 0;
}
