/* json-util.h — what every yajl user (the runtime library and the shim) needs: cleanups for trees and
 * generators, the one-liners that read a member or write a string, parse-and-check. Header only. */
#pragma once

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "util.h"

static inline void yajl_tree_freep(yajl_val *v)
{
        if (*v)
                yajl_tree_free(*v);
}

static inline void yajl_gen_freep(yajl_gen *g)
{
        if (*g)
                yajl_gen_free(*g);
}

/* Writes str ("" for NULL) as a JSON string. */
static inline bool json_gen_str(yajl_gen g, const char *str)
{
        return yajl_gen_string(g, (const unsigned char *)(str ? str : ""), strlen(str ? str : "")) ==
               yajl_gen_status_ok;
}

/* root[key] when it has the given type, else NULL. */
static inline yajl_val json_member(yajl_val root, const char *key, yajl_type type)
{
        const char *path[] = { key, NULL };
        return yajl_tree_get(root, path, type);
}

/* root[key] as a string, NULL when absent or not a string; points into root. */
static inline const char *json_str(yajl_val root, const char *key)
{
        yajl_val v = json_member(root, key, yajl_t_string);
        return v ? YAJL_GET_STRING(v) : NULL;
}

/* A copy of root[key]; NULL when absent, not a string, or out of memory. */
static inline char *json_strdup(yajl_val root, const char *key)
{
        const char *s = json_str(root, key);
        return s ? strdup(s) : NULL;
}

/* root[key] as an integer, def when absent or not an integer. */
static inline long long json_int(yajl_val root, const char *key, long long def)
{
        yajl_val v = json_member(root, key, yajl_t_number);
        return v && YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : def;
}

/* True only when root[key] is true. */
static inline bool json_bool(yajl_val root, const char *key)
{
        yajl_val v = json_member(root, key, yajl_t_any);
        return v && YAJL_IS_TRUE(v);
}

/* Parses data, which must be a JSON value of type want (yajl_t_object, yajl_t_array, or yajl_t_any);
 * errors name what (a file, as the user knows it). *ret is freed with yajl_tree_free(). */
static inline int json_parse(const char *data, yajl_type want, const char *what, yajl_val *ret,
                             struct coi_error *err)
{
        char ebuf[256] = "";
        yajl_val v = yajl_tree_parse(data, ebuf, sizeof(ebuf));
        bool ok = v && (want == yajl_t_any || (want == yajl_t_object && YAJL_IS_OBJECT(v)) ||
                        (want == yajl_t_array && YAJL_IS_ARRAY(v)));
        if (!ok) {
                int r = coi_error_set(err, EINVAL, "%s: %s", what,
                                      *ebuf                  ? ebuf
                                      : want == yajl_t_array ? "not an array"
                                                             : "not an object");
                if (v)
                        yajl_tree_free(v);
                return r;
        }
        *ret = v;
        return 0;
}
