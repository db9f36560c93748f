/* toml-tree.c — the parsed TOML tree: building it (tables with a hash index once they grow, arrays),
 * freeing it, and the read-only accessors of toml.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "toml-internal.h"
#include "util.h"

/* ---- the tree ---- */

struct toml_value *toml_value_new(enum toml_type type, struct toml_pos pos, unsigned depth)
{
        struct toml_value *v = calloc(1, sizeof(*v));
        if (!v)
                return NULL;
        v->type = type;
        v->pos = pos;
        v->depth = depth;
        return v;
}

static uint32_t hash_key(const char *s, size_t n)
{
        uint32_t h = 2166136261u; /* FNV-1a */
        for (size_t i = 0; i < n; i++)
                h = (h ^ (unsigned char)s[i]) * 16777619u;
        return h;
}

struct entry *toml_table_find(const struct toml_value *t, const char *key, size_t len)
{
        uint32_t h = hash_key(key, len);
        if (t->table.index_cap == 0) {
                for (size_t i = 0; i < t->table.n; i++) {
                        struct entry *e = &t->table.entries[i];
                        if (e->hash == h && e->key_len == len && memcmp(e->key, key, len) == 0)
                                return e;
                }
                return NULL;
        }
        size_t mask = t->table.index_cap - 1;
        for (size_t i = h & mask; t->table.index[i]; i = (i + 1) & mask) {
                struct entry *e = &t->table.entries[t->table.index[i] - 1];
                if (e->hash == h && e->key_len == len && memcmp(e->key, key, len) == 0)
                        return e;
        }
        return NULL;
}

static int table_reindex(struct toml_value *t, size_t cap)
{
        uint32_t *index = calloc(cap, sizeof(*index));
        if (!index)
                return -ENOMEM;
        for (size_t n = 0; n < t->table.n; n++) {
                size_t i = t->table.entries[n].hash & (cap - 1);
                while (index[i])
                        i = (i + 1) & (cap - 1);
                index[i] = (uint32_t)(n + 1);
        }
        free(t->table.index);
        t->table.index = index;
        t->table.index_cap = cap;
        return 0;
}

int toml_table_add(struct toml_value *t, const struct key_part *key, struct toml_value *value)
{
        _cleanup_(value_freep) struct toml_value *v = value;
        if (t->table.n >= UINT32_MAX - 1)
                return -ENOMEM;
        if (t->table.n == t->table.cap) {
                size_t cap = t->table.cap ? t->table.cap * 2 : 4;
                struct entry *entries = reallocarray(t->table.entries, cap, sizeof(*entries));
                if (!entries)
                        return -ENOMEM;
                t->table.entries = entries;
                t->table.cap = cap;
        }
        char *copy = malloc(key->len + 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, key->s, key->len);
        copy[key->len] = '\0';
        t->table.entries[t->table.n++] = (struct entry){
                .key = copy,
                .key_len = key->len,
                .hash = hash_key(key->s, key->len),
                .pos = key->pos,
                .value = TAKE_PTR(v),
        };
        /* Small tables are scanned; from 9 keys on, an index kept at most half full. */
        if (t->table.n > 8 && t->table.n * 2 > t->table.index_cap)
                return table_reindex(t, t->table.index_cap ? t->table.index_cap * 2 : 32);
        if (t->table.index_cap) {
                size_t mask = t->table.index_cap - 1, i = t->table.entries[t->table.n - 1].hash & mask;
                while (t->table.index[i])
                        i = (i + 1) & mask;
                t->table.index[i] = (uint32_t)t->table.n;
        }
        return 0;
}

int toml_array_push(struct toml_value *a, struct toml_value *value)
{
        _cleanup_(value_freep) struct toml_value *v = value;
        if (a->array.n == a->array.cap) {
                size_t cap = a->array.cap ? a->array.cap * 2 : 4;
                struct toml_value **items = reallocarray(a->array.items, cap, sizeof(*items));
                if (!items)
                        return -ENOMEM;
                a->array.items = items;
                a->array.cap = cap;
        }
        a->array.items[a->array.n++] = TAKE_PTR(v);
        return 0;
}

void toml_value_free(struct toml_value *v)
{
        if (!v)
                return;
        switch (v->type) {
        case TOML_TABLE:
                for (size_t i = 0; i < v->table.n; i++) {
                        free(v->table.entries[i].key);
                        toml_value_free(v->table.entries[i].value); /* depth ≤ TOML_MAX_DEPTH */
                }
                free(v->table.entries);
                free(v->table.index);
                break;
        case TOML_ARRAY:
                for (size_t i = 0; i < v->array.n; i++)
                        toml_value_free(v->array.items[i]);
                free(v->array.items);
                break;
        case TOML_STRING:
                free(v->string.s);
                break;
        default:
                break;
        }
        free(v);
}

/* ---- accessors ---- */

enum toml_type toml_value_type(const struct toml_value *v)
{
        return v->type;
}

struct toml_pos toml_value_pos(const struct toml_value *v)
{
        return v->pos;
}

const char *toml_type_to_string(enum toml_type type)
{
        static const char *const names[] = {
                [TOML_TABLE] = "table",
                [TOML_ARRAY] = "array",
                [TOML_STRING] = "string",
                [TOML_INTEGER] = "integer",
                [TOML_FLOAT] = "float",
                [TOML_BOOLEAN] = "boolean",
                [TOML_DATETIME] = "offset date-time",
                [TOML_DATETIME_LOCAL] = "local date-time",
                [TOML_DATE_LOCAL] = "local date",
                [TOML_TIME_LOCAL] = "local time",
        };
        return (unsigned)type < ELEMENTSOF(names) ? names[type] : "unknown";
}

static const struct entry *table_entry(const struct toml_value *t, size_t i)
{
        return t && t->type == TOML_TABLE && i < t->table.n ? &t->table.entries[i] : NULL;
}

size_t toml_table_size(const struct toml_value *table)
{
        return table && table->type == TOML_TABLE ? table->table.n : 0;
}

const char *toml_table_key(const struct toml_value *table, size_t i, size_t *ret_len)
{
        const struct entry *e = table_entry(table, i);
        if (e && ret_len)
                *ret_len = e->key_len;
        return e ? e->key : NULL;
}

struct toml_pos toml_table_key_pos(const struct toml_value *table, size_t i)
{
        const struct entry *e = table_entry(table, i);
        return e ? e->pos : (struct toml_pos){ 0, 0 };
}

const struct toml_value *toml_table_value(const struct toml_value *table, size_t i)
{
        const struct entry *e = table_entry(table, i);
        return e ? e->value : NULL;
}

const struct toml_value *toml_table_get_pos(const struct toml_value *table, const char *key,
                                            struct toml_pos *ret_pos)
{
        if (!table || table->type != TOML_TABLE || !key)
                return NULL;
        const struct entry *e = toml_table_find(table, key, strlen(key));
        if (e && ret_pos)
                *ret_pos = e->pos;
        return e ? e->value : NULL;
}

const struct toml_value *toml_table_get(const struct toml_value *table, const char *key)
{
        return toml_table_get_pos(table, key, NULL);
}

size_t toml_array_length(const struct toml_value *array)
{
        return array && array->type == TOML_ARRAY ? array->array.n : 0;
}

const struct toml_value *toml_array_get(const struct toml_value *array, size_t i)
{
        return array && array->type == TOML_ARRAY && i < array->array.n ? array->array.items[i] : NULL;
}

int toml_get_string(const struct toml_value *v, const char **ret, size_t *ret_len)
{
        if (!v || v->type != TOML_STRING)
                return -EINVAL;
        *ret = v->string.s;
        if (ret_len)
                *ret_len = v->string.len;
        return 0;
}

int toml_get_integer(const struct toml_value *v, int64_t *ret)
{
        if (!v || v->type != TOML_INTEGER)
                return -EINVAL;
        *ret = v->integer;
        return 0;
}

int toml_get_float(const struct toml_value *v, double *ret)
{
        if (!v || (v->type != TOML_FLOAT && v->type != TOML_INTEGER))
                return -EINVAL;
        *ret = v->type == TOML_FLOAT ? v->flt : (double)v->integer;
        return 0;
}

int toml_get_bool(const struct toml_value *v, bool *ret)
{
        if (!v || v->type != TOML_BOOLEAN)
                return -EINVAL;
        *ret = v->boolean;
        return 0;
}

int toml_get_datetime(const struct toml_value *v, struct toml_datetime *ret, const char **ret_text)
{
        if (!v || v->type < TOML_DATETIME || v->type > TOML_TIME_LOCAL)
                return -EINVAL;
        if (ret)
                *ret = v->datetime.dt;
        if (ret_text)
                *ret_text = v->datetime.text;
        return 0;
}
