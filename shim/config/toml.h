/* toml.h — a TOML 1.0.0 parser for coi's config files: a buffer becomes a read-only tree of tables,
 * arrays and scalars, each remembering its line and column. Errors are "file:line:col: message". */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coi-runtime.h"

/* Values nest at most this many levels below the root table. Every level counts: a table from a
 * [header] or a dotted key, an array, an inline table. Deeper documents are refused with
 * "nesting deeper than 128 levels", so no consumer of the tree (or the parser) can run out of stack. */
#define TOML_MAX_DEPTH 128

enum toml_type {
        TOML_TABLE,
        TOML_ARRAY,
        TOML_STRING,
        TOML_INTEGER,
        TOML_FLOAT,
        TOML_BOOLEAN,
        TOML_DATETIME,       /* offset date-time: 1979-05-27T07:32:00Z */
        TOML_DATETIME_LOCAL, /* local date-time: 1979-05-27T07:32:00 */
        TOML_DATE_LOCAL,     /* local date: 1979-05-27 */
        TOML_TIME_LOCAL,     /* local time: 07:32:00.999 */
};

/* 1-based; the column counts characters (UTF-8 code points), a tab is one column. */
struct toml_pos {
        unsigned line;
        unsigned col;
};

/* The parts of a date/time value that its type has; the others are 0. */
struct toml_datetime {
        int year, month, day;
        int hour, minute, second;
        uint32_t nanosecond; /* fractions beyond 9 digits are truncated */
        int offset_minutes;  /* TOML_DATETIME only: east of UTC, "Z" is 0 */
};

struct toml_value;

/* Parses len bytes of data (need not be NUL-terminated; a leading UTF-8 BOM is skipped). filename
 * only prefixes error messages (NULL = "<input>"). On success *ret_root is the root table (free
 * with toml_value_free). On failure returns -EINVAL (-ENOMEM if out of memory), err->msg is
 * "filename:line:col: message" and *ret_root is untouched. */
int toml_parse(const char *data, size_t len, const char *filename, struct toml_value **ret_root,
               struct coi_error *err);

/* Frees a root returned by toml_parse (and everything under it); NULL is fine. Only roots may be freed. */
void toml_value_free(struct toml_value *v);

enum toml_type toml_value_type(const struct toml_value *v);
/* Where the value starts in the document (for a table from a [header]: the header's key; for the
 * root table: 1:1). */
struct toml_pos toml_value_pos(const struct toml_value *v);
/* "table", "array", "string", "integer", "float", "boolean", "offset date-time",
 * "local date-time", "local date", "local time". */
const char *toml_type_to_string(enum toml_type type);

/* Tables: keys stay in the order they first appear in the document. Functions taking a table return
 * 0 / NULL when v is not a table or i is out of range. */
size_t toml_table_size(const struct toml_value *table);
/* The i-th key; ret_len (optional) gets its length, since a quoted key may contain "\u0000". */
const char *toml_table_key(const struct toml_value *table, size_t i, size_t *ret_len);
/* Where the i-th key was first written (the key itself, not its value). */
struct toml_pos toml_table_key_pos(const struct toml_value *table, size_t i);
const struct toml_value *toml_table_value(const struct toml_value *table, size_t i);
/* Lookup by key (NUL-terminated; no dots are interpreted). NULL if absent. */
const struct toml_value *toml_table_get(const struct toml_value *table, const char *key);
/* Same, and *ret_pos (optional) gets the position of the key. */
const struct toml_value *toml_table_get_pos(const struct toml_value *table, const char *key,
                                            struct toml_pos *ret_pos);

/* Arrays: 0 / NULL when v is not an array or i is out of range. */
size_t toml_array_length(const struct toml_value *array);
const struct toml_value *toml_array_get(const struct toml_value *array, size_t i);

/* Typed getters: 0 on success, -EINVAL (outputs untouched) if v is NULL or of another type. */
/* The string is NUL-terminated; ret_len (optional) is its length, which matters if it holds "\u0000". */
int toml_get_string(const struct toml_value *v, const char **ret, size_t *ret_len);
int toml_get_integer(const struct toml_value *v, int64_t *ret);
/* Also accepts an integer and converts it (rounding beyond 2^53). */
int toml_get_float(const struct toml_value *v, double *ret);
int toml_get_bool(const struct toml_value *v, bool *ret);
/* Any of the four date/time types. ret_text (optional) is the value normalized as RFC 3339:
 * "T" between date and time, upper-case "Z", the fraction as written: "1979-05-27T07:32:00.5Z". */
int toml_get_datetime(const struct toml_value *v, struct toml_datetime *ret, const char **ret_text);
