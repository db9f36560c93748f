/* oci-config-json.c — the engine behind oci-config*.c: JSON text to a yajl tree, typed values, field tables
 * walked into structs, and errors that name the path ("linux.namespaces[2].type"). */
#include <inttypes.h>
#include <limits.h>
#include <yajl/yajl_parse.h>

#include "oci-config-internal.h"

/* ---- scalar values ------------------------------------------------------------------------------------ */

int cfg_get_string(struct parser *p, yajl_val v, const char **ret)
{
        *ret = NULL;
        if (!YAJL_IS_STRING(v))
                return cfg_fail_type(p, v, "a string");
        *ret = v->u.string;
        return 0;
}

int cfg_set_string(struct parser *p, const char *s, char **ret)
{
        char *copy = strdup(s);
        if (!copy)
                return cfg_fail(p, ENOMEM, "out of memory");
        free(*ret);
        *ret = copy;
        return 0;
}

/* Integers are read from yajl's text of the number, so all of uint64 is exact. */
int cfg_get_int(struct parser *p, yajl_val v, int64_t min, int64_t max, int64_t *ret)
{
        if (!YAJL_IS_NUMBER(v))
                return cfg_fail_type(p, v, "an integer");
        const char *s = v->u.number.r;
        if (strpbrk(s, ".eE"))
                return cfg_fail(p, EINVAL, "expected an integer, got %s", s);
        char *end;
        errno = 0;
        long long x = strtoll(s, &end, 10);
        if (errno == ERANGE || *end || x < min || x > max)
                return cfg_fail(p, ERANGE, "%s is out of range (%" PRId64 "..%" PRId64 ")", s, min, max);
        *ret = x;
        return 0;
}

int cfg_get_uint(struct parser *p, yajl_val v, uint64_t max, uint64_t *ret)
{
        if (!YAJL_IS_NUMBER(v))
                return cfg_fail_type(p, v, "an integer");
        const char *s = v->u.number.r;
        if (strpbrk(s, ".eE"))
                return cfg_fail(p, EINVAL, "expected an integer, got %s", s);
        if (s[0] == '-')
                return cfg_fail(p, ERANGE, "expected a non-negative integer, got %s", s);
        char *end;
        errno = 0;
        unsigned long long x = strtoull(s, &end, 10);
        if (errno == ERANGE || *end || x > max)
                return cfg_fail(p, ERANGE, "%s is out of range (0..%" PRIu64 ")", s, max);
        *ret = x;
        return 0;
}

/* ---- generic field parsers ---------------------------------------------------------------------------- */

int fp_string(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        const char *s;
        int r = cfg_get_string(p, v, &s);
        return r < 0 ? r : cfg_set_string(p, s, MEMBER(base, f, char *));
}

int fp_nonempty_string(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        const char *s;
        int r = cfg_get_string(p, v, &s);
        if (r < 0)
                return r;
        if (!*s)
                return cfg_fail(p, EINVAL, "must not be empty");
        return cfg_set_string(p, s, MEMBER(base, f, char *));
}

int fp_abs_path(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        const char *s;
        int r = cfg_get_string(p, v, &s);
        if (r < 0)
                return r;
        if (!is_absolute(s))
                return cfg_fail(p, EINVAL, "expected an absolute path, got \"%s\"", s);
        return cfg_set_string(p, s, MEMBER(base, f, char *));
}

int fp_bool(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
                return cfg_fail_type(p, v, "a boolean");
        *MEMBER(base, f, bool) = YAJL_IS_TRUE(v);
        return 0;
}

/* Type-checked, then dropped (memory.useHierarchy: cgroup v2 is always hierarchical). */
int fp_bool_ignored(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        bool ignored;
        struct field tmp = { .offset = 0 };
        return fp_bool(p, v, &ignored, &tmp);
}

int fp_u32(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        uint64_t x;
        int r = cfg_get_uint(p, v, UINT32_MAX, &x);
        if (r >= 0)
                *MEMBER(base, f, uint32_t) = (uint32_t)x;
        return r;
}

int fp_u64(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        return cfg_get_uint(p, v, UINT64_MAX, MEMBER(base, f, uint64_t));
}

int fp_i64(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        return cfg_get_int(p, v, INT64_MIN, INT64_MAX, MEMBER(base, f, int64_t));
}

/* Byte limits where -1 means "unlimited". */
int fp_limit(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        return cfg_get_int(p, v, -1, INT64_MAX, MEMBER(base, f, int64_t));
}

/* Validated, then dropped: memory.kernel is deprecated and meaningless on cgroup v2. */
int fp_limit_ignored(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        int64_t ignored;
        return cfg_get_int(p, v, -1, INT64_MAX, &ignored);
}

int fp_unsigned(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        uint64_t x;
        int r = cfg_get_uint(p, v, UINT_MAX, &x);
        if (r >= 0)
                *MEMBER(base, f, unsigned) = (unsigned)x;
        return r;
}

int fp_umask(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        uint64_t x;
        int r = cfg_get_uint(p, v, 0777, &x);
        if (r >= 0)
                *MEMBER(base, f, uint32_t) = (uint32_t)x;
        return r;
}

int cfg_parse_strv(struct parser *p, yajl_val v, string_check_fn validate, char ***ret)
{
        if (!YAJL_IS_ARRAY(v))
                return cfg_fail_type(p, v, "an array of strings");
        size_t n = v->u.array.len;
        char **strv = calloc(n + 1, sizeof(char *));
        if (!strv)
                return cfg_fail(p, ENOMEM, "out of memory");
        strv_free(*ret);
        *ret = strv; /* filled in place: a partial list is freed with the config */
        for (size_t i = 0; i < n; i++) {
                size_t mark = cfg_path_index(p, i);
                const char *s;
                int r = cfg_get_string(p, v->u.array.values[i], &s);
                if (r >= 0 && validate)
                        r = validate(p, s);
                if (r >= 0)
                        r = cfg_set_string(p, s, &strv[i]);
                if (r < 0)
                        return r;
                cfg_path_pop(p, mark);
        }
        return 0;
}

/* Arrays of strings; f->validate, if any, checks each one. */
int fp_strv(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        return cfg_parse_strv(p, v, f->validate, MEMBER(base, f, char **));
}

/* An object of string values appended to a key, value, key, value … list. */
static int parse_strmap(struct parser *p, yajl_val v, string_check_fn validate_key, char ***strv)
{
        if (!YAJL_IS_OBJECT(v))
                return cfg_fail_type(p, v, "an object of strings");
        for (size_t i = 0; i < v->u.object.len; i++) {
                const char *key = v->u.object.keys[i], *value;
                size_t mark = p->len;
                cfg_path_key(p, key);
                int r = cfg_get_string(p, v->u.object.values[i], &value);
                if (r >= 0 && validate_key)
                        r = validate_key(p, key);
                if (r < 0)
                        return r;
                for (char **kv = *strv; kv && *kv; kv += 2)
                        if (streq(kv[0], key))
                                return cfg_fail(p, EINVAL, "given twice");
                if (strv_push(strv, key) < 0 || strv_push(strv, value) < 0)
                        return cfg_fail(p, ENOMEM, "out of memory");
                cfg_path_pop(p, mark);
        }
        return 0;
}

/* Objects of strings (annotations, sysctl, unified); f->validate, if any, checks each key. */
int fp_strmap(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        return parse_strmap(p, v, f->validate, MEMBER(base, f, char **));
}

int fp_object(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        void *obj = MEMBER(base, f, char);
        int r = cfg_parse_object(p, v, f->sub, f->n_sub, obj);
        if (r >= 0 && f->check)
                r = f->check(p, v, obj);
        return r;
}

int fp_object_array(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        if (!YAJL_IS_ARRAY(v))
                return cfg_fail_type(p, v, "an array of objects");
        void **array = MEMBER(base, f, void *);
        size_t *count = (size_t *)((char *)base + f->count), n = v->u.array.len;
        if (n == 0)
                return 0;
        char *elems = calloc(n, f->elem_size);
        if (!elems)
                return cfg_fail(p, ENOMEM, "out of memory");
        *array = elems; /* zeroed elements first, so a half-parsed array is freed like a full one */
        *count = n;
        for (size_t i = 0; i < n; i++) {
                size_t mark = cfg_path_index(p, i);
                void *elem = elems + i * f->elem_size;
                int r = cfg_parse_object(p, v->u.array.values[i], f->sub, f->n_sub, elem);
                if (r >= 0 && f->check)
                        r = f->check(p, v->u.array.values[i], elem);
                if (r < 0)
                        return r;
                cfg_path_pop(p, mark);
        }
        return 0;
}

int cfg_parse_u32_array(struct parser *p, yajl_val v,
                        int (*convert)(struct parser *p, yajl_val v, uint32_t *ret), uint32_t **ret_array,
                        size_t *ret_count)
{
        if (!YAJL_IS_ARRAY(v))
                return cfg_fail_type(p, v, "an array");
        size_t n = v->u.array.len;
        _cleanup_free_ uint32_t *array = calloc(n ? n : 1, sizeof(uint32_t));
        if (!array)
                return cfg_fail(p, ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                size_t mark = cfg_path_index(p, i);
                int r = convert(p, v->u.array.values[i], &array[i]);
                if (r < 0)
                        return r;
                cfg_path_pop(p, mark);
        }
        free(*ret_array);
        *ret_array = TAKE_PTR(array);
        *ret_count = n;
        return 0;
}

static int convert_u32(struct parser *p, yajl_val v, uint32_t *ret)
{
        uint64_t x;
        int r = cfg_get_uint(p, v, UINT32_MAX, &x);
        *ret = (uint32_t)x;
        return r;
}

int fp_u32_array(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        return cfg_parse_u32_array(p, v, convert_u32, MEMBER(base, f, uint32_t *),
                                   (size_t *)((char *)base + f->count));
}

/* ---- objects: the engine ------------------------------------------------------------------------------ */

static const char *json_type(yajl_val v)
{
        if (YAJL_IS_STRING(v))
                return "string";
        if (YAJL_IS_NUMBER(v))
                return "number";
        if (YAJL_IS_OBJECT(v))
                return "object";
        if (YAJL_IS_ARRAY(v))
                return "array";
        if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v))
                return "boolean";
        return "null";
}

static bool json_is_empty(yajl_val v)
{
        return !v || YAJL_IS_NULL(v) || (YAJL_IS_STRING(v) && !*v->u.string) ||
               (YAJL_IS_ARRAY(v) && v->u.array.len == 0) || (YAJL_IS_OBJECT(v) && v->u.object.len == 0);
}

yajl_val cfg_json_get(yajl_val obj, const char *key)
{
        for (size_t i = 0; YAJL_IS_OBJECT(obj) && i < obj->u.object.len; i++)
                if (streq(obj->u.object.keys[i], key))
                        return obj->u.object.values[i];
        return NULL;
}

int cfg_parse_object(struct parser *p, yajl_val v, const struct field *fields, size_t n, void *base)
{
        bool seen[64] = { false };

        if (n > ELEMENTSOF(seen))
                return cfg_fail(p, EINVAL, "internal error: field table too large");
        if (!YAJL_IS_OBJECT(v))
                return cfg_fail_type(p, v, "an object");
        for (size_t i = 0; i < v->u.object.len; i++) {
                const char *key = v->u.object.keys[i];
                yajl_val value = v->u.object.values[i];
                size_t mark = cfg_path_key(p, key);
                for (size_t j = 0; j < i; j++)
                        if (streq(v->u.object.keys[j], key))
                                return cfg_fail(p, EINVAL, "given twice");

                const struct field *f = NULL;
                for (size_t k = 0; k < n && !f; k++)
                        if (streq(fields[k].key, key))
                                f = &fields[k];
                if (!f) {
                        /* A property the spec doesn't define (a vendor extension, a newer spec's): the
                         * spec says ignore it. Known fields we can't honour are refused below. */
                } else if (!f->parse) {
                        if (!(f->flags & F_EMPTY_OK) || !json_is_empty(value))
                                return cfg_fail(p, ENOTSUP, "not supported by coi-runtime (%s)", f->why);
                } else if (!YAJL_IS_NULL(value)) { /* null is "not given", as Go's encoder writes it */
                        int r = f->parse(p, value, base, f);
                        if (r < 0)
                                return r;
                        if (f->has)
                                *(bool *)((char *)base + f->has - 1) = true;
                        seen[f - fields] = true;
                }
                cfg_path_pop(p, mark);
        }
        for (size_t k = 0; k < n; k++)
                if ((fields[k].flags & F_REQUIRED) && !seen[k]) {
                        cfg_path_key(p, fields[k].key);
                        return cfg_fail(p, EINVAL, "required but missing");
                }
        return 0;
}

/* ---- paths, errors, JSON text ------------------------------------------------------------------------- */

static size_t path_append(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t path_append(struct parser *p, const char *fmt, ...)
{
        size_t mark = p->len;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(p->path + p->len, sizeof(p->path) - p->len, fmt, ap);
        va_end(ap);
        if (n > 0)
                p->len = p->len + (size_t)n < sizeof(p->path) ? p->len + (size_t)n : sizeof(p->path) - 1;
        return mark;
}

/* "a.b" for identifiers, a["x.y"] for map keys that are not. */
size_t cfg_path_key(struct parser *p, const char *key)
{
        static const char word[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
        if (!*key || key[strspn(key, word)])
                return path_append(p, "[\"%s\"]", key);
        return p->len ? path_append(p, ".%s", key) : path_append(p, "%s", key);
}

size_t cfg_path_index(struct parser *p, size_t i)
{
        return path_append(p, "[%zu]", i);
}

void cfg_path_pop(struct parser *p, size_t mark)
{
        p->len = mark;
        p->path[mark] = '\0';
}

int cfg_fail(struct parser *p, int code, const char *fmt, ...)
{
        char what[768];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        const char *origin = p->origin ? p->origin : "config";
        if (p->len)
                return coi_error_set(p->err, code, "%s: %s: %s", origin, p->path, what);
        return coi_error_set(p->err, code, "%s: %s", origin, what);
}

int cfg_fail_type(struct parser *p, yajl_val v, const char *expected)
{
        return cfg_fail(p, EINVAL, "expected %s, got %s", expected, json_type(v));
}

static void yajl_freep(yajl_handle *h)
{
        if (*h)
                yajl_free(*h);
}

/* yajl_tree's own message spans three lines; say where instead, as line and column (of the last
 * character of the offending token: yajl reports after it has read the token). */
static int json_error(const char *text, size_t len, const char *origin, struct coi_error *err)
{
        _cleanup_(yajl_freep) yajl_handle h = yajl_alloc(NULL, NULL, NULL);
        if (!h)
                return coi_error_set(err, ENOMEM, "%s: out of memory", origin);
        yajl_config(h, yajl_allow_comments, 1); /* as yajl_tree_parse() does */
        size_t pos = len;
        if (yajl_parse(h, (const unsigned char *)text, len) != yajl_status_ok) {
                size_t consumed = yajl_get_bytes_consumed(h);
                pos = consumed ? consumed - 1 : 0;
        } else if (yajl_complete_parse(h) == yajl_status_ok) {
                return coi_error_set(err, EINVAL, "%s: invalid JSON", origin);
        }
        unsigned char *msg = yajl_get_error(h, 0, (const unsigned char *)text, len);
        size_t line = 1, column = 1;
        for (size_t i = 0; i < pos && i < len; i++) {
                column = text[i] == '\n' ? 1 : column + 1;
                line += text[i] == '\n';
        }
        char what[256] = "parse error";
        if (msg) {
                snprintf(what, sizeof(what), "%s", (const char *)msg);
                what[strcspn(what, "\n")] = '\0';
                yajl_free_error(h, msg);
        }
        return coi_error_set(err, EINVAL, "%s: invalid JSON at line %zu, column %zu: %s", origin, line,
                             column, what);
}

int cfg_json_parse(const char *json, size_t len, const char *origin, yajl_val *ret, struct coi_error *err)
{
        if (!origin)
                origin = "config";
        if (!json)
                return coi_error_set(err, EINVAL, "%s: no JSON document", origin);
        const char *nul = memchr(json, '\0', len);
        if (nul)
                return coi_error_set(err, EINVAL, "%s: invalid JSON: NUL byte at offset %zu", origin,
                                     (size_t)(nul - json));
        _cleanup_free_ char *text = strndup(json, len); /* yajl_tree wants a C string */
        if (!text)
                return coi_error_set(err, ENOMEM, "%s: out of memory", origin);
        char ignored[256];
        yajl_val v = yajl_tree_parse(text, ignored, sizeof(ignored));
        if (!v)
                return json_error(text, len, origin, err);
        *ret = v;
        return 0;
}
