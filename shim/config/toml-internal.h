/* toml-internal.h — the tree behind toml.h, shared by the parser (toml.c) and the tree code (toml-tree.c):
 * value and table-entry layout, and the few operations the parser builds the tree with. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "toml.h"

/* How a table or array came to be; decides who may add to it later. */
enum {
        TABLE_HEADER = 1 << 0,    /* defined by [header], or an element of [[header]] */
        TABLE_DOTTED = 1 << 1,    /* created (or reached) by a dotted key: no [header] may define it */
        TABLE_INLINE = 1 << 2,    /* an inline table: closed once its `}` is read */
        ARRAY_OF_TABLES = 1 << 3, /* made by [[header]]; other arrays are static */
};

struct entry {
        char *key; /* NUL-terminated, may also contain NULs: key_len is authoritative */
        size_t key_len;
        uint32_t hash;
        struct toml_pos pos;
        struct toml_value *value;
};

struct toml_value {
        enum toml_type type;
        unsigned flags;
        unsigned depth; /* containers between the root and this value, the value included */
        struct toml_pos pos;
        union {
                struct {
                        struct entry *entries; /* document order */
                        size_t n, cap;
                        uint32_t *index;  /* open addressing: entry number + 1, 0 = empty slot */
                        size_t index_cap; /* a power of two; 0 while the table is small (linear scan) */
                } table;
                struct {
                        struct toml_value **items;
                        size_t n, cap;
                } array;
                struct {
                        char *s;
                        size_t len;
                } string;
                int64_t integer;
                double flt;
                bool boolean;
                struct {
                        struct toml_datetime dt;
                        char text[40];
                } datetime;
        };
};

/* One part of a (possibly dotted) key, and where it was written. */
struct key_part {
        char *s;
        size_t len;
        struct toml_pos pos;
};

static inline void value_freep(struct toml_value **v)
{
        toml_value_free(*v);
}

struct toml_value *toml_value_new(enum toml_type type, struct toml_pos pos, unsigned depth);
/* The entry of key (len bytes, may hold NULs) in table t, or NULL. */
struct entry *toml_table_find(const struct toml_value *t, const char *key, size_t len);
/* Adds key → value (the caller checked it is new); takes value (freed on failure); copies key. -ENOMEM. */
int toml_table_add(struct toml_value *t, const struct key_part *key, struct toml_value *value);
/* Appends value to array a; takes value (freed on failure). -ENOMEM. */
int toml_array_push(struct toml_value *a, struct toml_value *value);
