/* oci-config-internal.h — the table-driven JSON reader shared by oci-config*.c: parser state, field tables,
 * the generic field parsers and path-tracking errors. Only oci-config*.c include it (it pulls in yajl). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <yajl/yajl_tree.h>

#include "oci-config.h"
#include "util.h"

/* Where we are in the document, for messages: "linux.namespaces[2].type". */
struct parser {
        const char *origin;
        struct coi_error *err;
        size_t len;
        char path[384];
};

struct field;
typedef int (*field_parse_fn)(struct parser *p, yajl_val v, void *base, const struct field *f);
typedef int (*object_check_fn)(struct parser *p, yajl_val v, void *obj);
typedef int (*string_check_fn)(struct parser *p, const char *s);

enum {
        F_REQUIRED = 1 << 0,
        F_EMPTY_OK = 1 << 1, /* refused, unless the value is empty ("", [], {}, null) */
};

struct field {
        const char *key;
        field_parse_fn parse; /* NULL: the key is refused (or ignored when empty, F_EMPTY_OK) */
        size_t offset;        /* member written by parse, relative to the object's base */
        size_t has;           /* offset + 1 of a bool set when the key is present; 0 = none */
        size_t count;         /* size_t member receiving the element count of arrays */
        size_t elem_size;     /* element size of object arrays */
        const struct field *sub;
        size_t n_sub;             /* the table of a nested object */
        object_check_fn check;    /* runs after a nested object (or each array element) was parsed */
        string_check_fn validate; /* fp_strv: checks each string; fp_strmap: each key */
        int arg;                  /* parser-specific: hook kind, I/O entry kind */
        unsigned flags;
        const char *why; /* shown when the key is refused */
};

#define MEMBER(base, f, type) ((type *)((char *)(base) + (f)->offset))

#define FIELD(k, fn, type, member, ...)                                                                      \
        {                                                                                                    \
                .key = k, .parse = fn, .offset = offsetof(type, member), __VA_ARGS__                         \
        }
#define HAS(type, member) .has = offsetof(type, member) + 1
#define REQUIRED          .flags = F_REQUIRED
#define OBJECT(k, table, type, member, ...)                                                                  \
        FIELD(k, fp_object, type, member, .sub = table, .n_sub = ELEMENTSOF(table), __VA_ARGS__)
/* A nested JSON object whose members live in the parent struct (root, consoleSize, memory …). */
#define FLAT(k, table, ...)                                                                                  \
        {                                                                                                    \
                .key = k, .parse = fp_object, .sub = table, .n_sub = ELEMENTSOF(table), __VA_ARGS__          \
        }
#define OBJECT_ARRAY(k, table, type, member, n_member, elem, ...)                                            \
        FIELD(k, fp_object_array, type, member, .count = offsetof(type, n_member),                           \
              .elem_size = sizeof(elem), .sub = table, .n_sub = ELEMENTSOF(table), __VA_ARGS__)
#define REFUSED(k, reason)                                                                                   \
        {                                                                                                    \
                .key = k, .why = reason                                                                      \
        }
#define EMPTY_OK(k, reason)                                                                                  \
        {                                                                                                    \
                .key = k, .flags = F_EMPTY_OK, .why = reason                                                 \
        }

/* linux.uidMappings and the mounts' uidMappings: arrays of struct oci_id_mapping (fp_id_mappings). */
#define ID_MAPPINGS(k, type, member, n_member)                                                               \
        FIELD(k, fp_id_mappings, type, member, .count = offsetof(type, n_member))

static inline void yajl_tree_freep(yajl_val *v)
{
        if (*v)
                yajl_tree_free(*v);
}
#define _cleanup_yajl_ _cleanup_(yajl_tree_freep)

static inline bool is_absolute(const char *path)
{
        return path[0] == '/';
}

/* ---- oci-config-json.c: values, errors and the engine ---- */
int cfg_get_string(struct parser *p, yajl_val v, const char **ret);
int cfg_set_string(struct parser *p, const char *s, char **ret);
int cfg_get_int(struct parser *p, yajl_val v, int64_t min, int64_t max, int64_t *ret);
int cfg_get_uint(struct parser *p, yajl_val v, uint64_t max, uint64_t *ret);
int cfg_parse_strv(struct parser *p, yajl_val v, string_check_fn validate, char ***ret);
int cfg_parse_u32_array(struct parser *p, yajl_val v,
                        int (*convert)(struct parser *p, yajl_val v, uint32_t *ret), uint32_t **ret_array,
                        size_t *ret_count);
yajl_val cfg_json_get(yajl_val obj, const char *key);
/* Walks object v through the n fields into base: keys the table doesn't know are ignored (the spec's
 * rule for unknown properties), known ones without a parser are refused by name, required ones must be
 * there, each present one is parsed by its field parser. */
int cfg_parse_object(struct parser *p, yajl_val v, const struct field *fields, size_t n, void *base);
/* Extend the path shown in errors; each returns a mark for cfg_path_pop(). */
size_t cfg_path_key(struct parser *p, const char *key);
size_t cfg_path_index(struct parser *p, size_t i);
void cfg_path_pop(struct parser *p, size_t mark);
/* Sets "origin: path: message" and returns -code. */
int cfg_fail(struct parser *p, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int cfg_fail_type(struct parser *p, yajl_val v, const char *expected);
int cfg_json_parse(const char *json, size_t len, const char *origin, yajl_val *ret, struct coi_error *err);

/* Field parsers: each reads v into the member f->offset of base. */
#define FIELD_PARSER(name) int name(struct parser *p, yajl_val v, void *base, const struct field *f)
FIELD_PARSER(fp_string);
FIELD_PARSER(fp_nonempty_string);
FIELD_PARSER(fp_abs_path);
FIELD_PARSER(fp_bool);
FIELD_PARSER(fp_bool_ignored);
FIELD_PARSER(fp_u32);
FIELD_PARSER(fp_u64);
FIELD_PARSER(fp_i64);
FIELD_PARSER(fp_limit);
FIELD_PARSER(fp_limit_ignored);
FIELD_PARSER(fp_unsigned);
FIELD_PARSER(fp_umask);
FIELD_PARSER(fp_strv);
FIELD_PARSER(fp_strmap);
FIELD_PARSER(fp_object);
FIELD_PARSER(fp_object_array);
FIELD_PARSER(fp_u32_array);
/* oci-config-linux.c: id mappings, and the "linux" object. */
FIELD_PARSER(fp_id_mappings);
FIELD_PARSER(fp_linux);
/* Frees what fp_linux filled in. */
void oci_linux_done(struct oci_linux *l);
