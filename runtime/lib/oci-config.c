/* oci-config.c — config.json (runtime-spec 1.1) into the plain structs of oci-config.h; the only file that
 * reads JSON. Each JSON object is a table of (key, parser, offset, flags); unknown keys are refused by name. */
#include <inttypes.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "capabilities.h"
#include "oci-config.h"
#include "seccomp.h"
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
        size_t n_sub;          /* the table of a nested object */
        object_check_fn check; /* runs after a nested object (or each array element) was parsed */
        int arg;               /* parser-specific: hook kind, I/O entry kind */
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

static int parse_object(struct parser *p, yajl_val v, const struct field *fields, size_t n, void *base);
static int fail(struct parser *p, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail_type(struct parser *p, yajl_val v, const char *expected);
static size_t path_key(struct parser *p, const char *key);
static size_t path_index(struct parser *p, size_t i);
static void path_pop(struct parser *p, size_t mark);
static int json_parse(const char *json, size_t len, const char *origin, yajl_val *ret, struct coi_error *err);

static void yajl_tree_freep(yajl_val *v)
{
        if (*v)
                yajl_tree_free(*v);
}
#define _cleanup_yajl_ _cleanup_(yajl_tree_freep)

/* ---- scalar values ------------------------------------------------------------------------------------ */

static int get_string(struct parser *p, yajl_val v, const char **ret)
{
        *ret = NULL;
        if (!YAJL_IS_STRING(v))
                return fail_type(p, v, "a string");
        *ret = v->u.string;
        return 0;
}

static int set_string(struct parser *p, const char *s, char **ret)
{
        char *copy = strdup(s);
        if (!copy)
                return fail(p, ENOMEM, "out of memory");
        free(*ret);
        *ret = copy;
        return 0;
}

/* Integers are read from yajl's text of the number, so all of uint64 is exact. */
static int get_int(struct parser *p, yajl_val v, int64_t min, int64_t max, int64_t *ret)
{
        if (!YAJL_IS_NUMBER(v))
                return fail_type(p, v, "an integer");
        const char *s = v->u.number.r;
        if (strpbrk(s, ".eE"))
                return fail(p, EINVAL, "expected an integer, got %s", s);
        char *end;
        errno = 0;
        long long x = strtoll(s, &end, 10);
        if (errno == ERANGE || *end || x < min || x > max)
                return fail(p, ERANGE, "%s is out of range (%" PRId64 "..%" PRId64 ")", s, min, max);
        *ret = x;
        return 0;
}

static int get_uint(struct parser *p, yajl_val v, uint64_t max, uint64_t *ret)
{
        if (!YAJL_IS_NUMBER(v))
                return fail_type(p, v, "an integer");
        const char *s = v->u.number.r;
        if (strpbrk(s, ".eE"))
                return fail(p, EINVAL, "expected an integer, got %s", s);
        if (s[0] == '-')
                return fail(p, ERANGE, "expected a non-negative integer, got %s", s);
        char *end;
        errno = 0;
        unsigned long long x = strtoull(s, &end, 10);
        if (errno == ERANGE || *end || x > max)
                return fail(p, ERANGE, "%s is out of range (0..%" PRIu64 ")", s, max);
        *ret = x;
        return 0;
}

static bool is_absolute(const char *path)
{
        return path[0] == '/';
}

static bool has_dotdot(const char *path)
{
        for (const char *s = path; (s = strstr(s, "..")); s += 2)
                if ((s == path || s[-1] == '/') && (s[2] == '\0' || s[2] == '/'))
                        return true;
        return false;
}

/* ---- generic field parsers ---------------------------------------------------------------------------- */

static int fp_string(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        const char *s;
        int r = get_string(p, v, &s);
        return r < 0 ? r : set_string(p, s, MEMBER(base, f, char *));
}

static int fp_nonempty_string(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        const char *s;
        int r = get_string(p, v, &s);
        if (r < 0)
                return r;
        if (!*s)
                return fail(p, EINVAL, "must not be empty");
        return set_string(p, s, MEMBER(base, f, char *));
}

static int fp_abs_path(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        const char *s;
        int r = get_string(p, v, &s);
        if (r < 0)
                return r;
        if (!is_absolute(s))
                return fail(p, EINVAL, "expected an absolute path, got \"%s\"", s);
        return set_string(p, s, MEMBER(base, f, char *));
}

static int fp_bool(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
                return fail_type(p, v, "a boolean");
        *MEMBER(base, f, bool) = YAJL_IS_TRUE(v);
        return 0;
}

/* Type-checked, then dropped (memory.useHierarchy: cgroup v2 is always hierarchical). */
static int fp_bool_ignored(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        bool ignored;
        struct field tmp = { .offset = 0 };
        return fp_bool(p, v, &ignored, &tmp);
}

static int fp_u32(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        uint64_t x;
        int r = get_uint(p, v, UINT32_MAX, &x);
        if (r >= 0)
                *MEMBER(base, f, uint32_t) = (uint32_t)x;
        return r;
}

static int fp_u64(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        return get_uint(p, v, UINT64_MAX, MEMBER(base, f, uint64_t));
}

static int fp_i64(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        return get_int(p, v, INT64_MIN, INT64_MAX, MEMBER(base, f, int64_t));
}

/* Byte limits where -1 means "unlimited". */
static int fp_limit(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        return get_int(p, v, -1, INT64_MAX, MEMBER(base, f, int64_t));
}

/* Validated, then dropped: memory.kernel is deprecated and meaningless on cgroup v2. */
static int fp_limit_ignored(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        int64_t ignored;
        return get_int(p, v, -1, INT64_MAX, &ignored);
}

static int fp_unsigned(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        uint64_t x;
        int r = get_uint(p, v, UINT_MAX, &x);
        if (r >= 0)
                *MEMBER(base, f, unsigned) = (unsigned)x;
        return r;
}

static int fp_umask(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        uint64_t x;
        int r = get_uint(p, v, 0777, &x);
        if (r >= 0)
                *MEMBER(base, f, uint32_t) = (uint32_t)x;
        return r;
}

static int parse_strv(struct parser *p, yajl_val v, int (*validate)(struct parser *p, const char *s),
                      char ***ret)
{
        if (!YAJL_IS_ARRAY(v))
                return fail_type(p, v, "an array of strings");
        size_t n = v->u.array.len;
        char **strv = calloc(n + 1, sizeof(char *));
        if (!strv)
                return fail(p, ENOMEM, "out of memory");
        strv_free(*ret);
        *ret = strv; /* filled in place: a partial list is freed with the config */
        for (size_t i = 0; i < n; i++) {
                size_t mark = path_index(p, i);
                const char *s;
                int r = get_string(p, v->u.array.values[i], &s);
                if (r >= 0 && validate)
                        r = validate(p, s);
                if (r >= 0)
                        r = set_string(p, s, &strv[i]);
                if (r < 0)
                        return r;
                path_pop(p, mark);
        }
        return 0;
}

static int validate_absolute(struct parser *p, const char *s)
{
        return is_absolute(s) ? 0 : fail(p, EINVAL, "expected an absolute path, got \"%s\"", s);
}

static int validate_env(struct parser *p, const char *s)
{
        const char *eq = strchr(s, '=');
        return eq && eq != s ? 0 : fail(p, EINVAL, "expected \"NAME=value\", got \"%s\"", s);
}

static int fp_strv(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        return parse_strv(p, v, NULL, MEMBER(base, f, char **));
}

static int fp_abs_strv(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        return parse_strv(p, v, validate_absolute, MEMBER(base, f, char **));
}

static int fp_env(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        return parse_strv(p, v, validate_env, MEMBER(base, f, char **));
}

static int fp_args(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        int r = parse_strv(p, v, NULL, MEMBER(base, f, char **));
        if (r >= 0 && !**MEMBER(base, f, char **))
                return fail(p, EINVAL, "must name at least the program to run");
        return r;
}

/* An object of string values appended to a key, value, key, value … list. */
static int parse_strmap(struct parser *p, yajl_val v, int (*validate_key)(struct parser *p, const char *key),
                        char ***strv)
{
        if (!YAJL_IS_OBJECT(v))
                return fail_type(p, v, "an object of strings");
        for (size_t i = 0; i < v->u.object.len; i++) {
                const char *key = v->u.object.keys[i], *value;
                size_t mark = p->len;
                path_key(p, key);
                int r = get_string(p, v->u.object.values[i], &value);
                if (r >= 0 && validate_key)
                        r = validate_key(p, key);
                if (r < 0)
                        return r;
                for (char **kv = *strv; kv && *kv; kv += 2)
                        if (streq(kv[0], key))
                                return fail(p, EINVAL, "given twice");
                if (strv_push(strv, key) < 0 || strv_push(strv, value) < 0)
                        return fail(p, ENOMEM, "out of memory");
                path_pop(p, mark);
        }
        return 0;
}

static int validate_annotation_key(struct parser *p, const char *key)
{
        return *key ? 0 : fail(p, EINVAL, "annotation keys must not be empty");
}

/* sysctl and unified keys become file names under /proc/sys and the cgroup: no way out of those. */
static int validate_file_key(struct parser *p, const char *key)
{
        if (!*key || key[0] == '.' || key[0] == '/' || strstr(key, ".."))
                return fail(p, EINVAL, "invalid key \"%s\"", key);
        return 0;
}

static int validate_unified_key(struct parser *p, const char *key)
{
        int r = validate_file_key(p, key);
        if (r >= 0 && (strchr(key, '/') || !strchr(key, '.')))
                return fail(p, EINVAL, "expected a cgroup v2 file name like \"memory.high\", got \"%s\"",
                            key);
        return r;
}

static int fp_annotations(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        return parse_strmap(p, v, validate_annotation_key, MEMBER(base, f, char **));
}

static int fp_sysctl(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        return parse_strmap(p, v, validate_file_key, MEMBER(base, f, char **));
}

static int fp_unified(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        return parse_strmap(p, v, validate_unified_key, MEMBER(base, f, char **));
}

static int fp_object(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        void *obj = MEMBER(base, f, char);
        int r = parse_object(p, v, f->sub, f->n_sub, obj);
        if (r >= 0 && f->check)
                r = f->check(p, v, obj);
        return r;
}

static int fp_object_array(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        if (!YAJL_IS_ARRAY(v))
                return fail_type(p, v, "an array of objects");
        void **array = MEMBER(base, f, void *);
        size_t *count = (size_t *)((char *)base + f->count), n = v->u.array.len;
        if (n == 0)
                return 0;
        char *elems = calloc(n, f->elem_size);
        if (!elems)
                return fail(p, ENOMEM, "out of memory");
        *array = elems; /* zeroed elements first, so a half-parsed array is freed like a full one */
        *count = n;
        for (size_t i = 0; i < n; i++) {
                size_t mark = path_index(p, i);
                void *elem = elems + i * f->elem_size;
                int r = parse_object(p, v->u.array.values[i], f->sub, f->n_sub, elem);
                if (r >= 0 && f->check)
                        r = f->check(p, v->u.array.values[i], elem);
                if (r < 0)
                        return r;
                path_pop(p, mark);
        }
        return 0;
}

static int parse_u32_array(struct parser *p, yajl_val v,
                           int (*convert)(struct parser *p, yajl_val v, uint32_t *ret), uint32_t **ret_array,
                           size_t *ret_count)
{
        if (!YAJL_IS_ARRAY(v))
                return fail_type(p, v, "an array");
        size_t n = v->u.array.len;
        _cleanup_free_ uint32_t *array = calloc(n ? n : 1, sizeof(uint32_t));
        if (!array)
                return fail(p, ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                size_t mark = path_index(p, i);
                int r = convert(p, v->u.array.values[i], &array[i]);
                if (r < 0)
                        return r;
                path_pop(p, mark);
        }
        free(*ret_array);
        *ret_array = TAKE_PTR(array);
        *ret_count = n;
        return 0;
}

static int convert_u32(struct parser *p, yajl_val v, uint32_t *ret)
{
        uint64_t x;
        int r = get_uint(p, v, UINT32_MAX, &x);
        *ret = (uint32_t)x;
        return r;
}

static int fp_u32_array(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        return parse_u32_array(p, v, convert_u32, MEMBER(base, f, uint32_t *),
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

static yajl_val json_get(yajl_val obj, const char *key)
{
        for (size_t i = 0; YAJL_IS_OBJECT(obj) && i < obj->u.object.len; i++)
                if (streq(obj->u.object.keys[i], key))
                        return obj->u.object.values[i];
        return NULL;
}

/* Keys in reverse-domain form ("org.example.thing") are vendor extensions: ignored. */
static bool is_vendor_key(const char *key)
{
        return strchr(key, '.') && !strpbrk(key, " /[]\"");
}

static int parse_object(struct parser *p, yajl_val v, const struct field *fields, size_t n, void *base)
{
        bool seen[64] = { false };

        if (n > ELEMENTSOF(seen))
                return fail(p, EINVAL, "internal error: field table too large");
        if (!YAJL_IS_OBJECT(v))
                return fail_type(p, v, "an object");
        for (size_t i = 0; i < v->u.object.len; i++) {
                const char *key = v->u.object.keys[i];
                yajl_val value = v->u.object.values[i];
                size_t mark = path_key(p, key);
                for (size_t j = 0; j < i; j++)
                        if (streq(v->u.object.keys[j], key))
                                return fail(p, EINVAL, "given twice");

                const struct field *f = NULL;
                for (size_t k = 0; k < n && !f; k++)
                        if (streq(fields[k].key, key))
                                f = &fields[k];
                if (!f) {
                        if (!is_vendor_key(key))
                                return fail(p, ENOTSUP, "not supported by coi-runtime");
                } else if (!f->parse) {
                        if (!(f->flags & F_EMPTY_OK) || !json_is_empty(value))
                                return fail(p, ENOTSUP, "not supported by coi-runtime (%s)", f->why);
                } else if (!YAJL_IS_NULL(value)) { /* null is "not given", as Go's encoder writes it */
                        int r = f->parse(p, value, base, f);
                        if (r < 0)
                                return r;
                        if (f->has)
                                *(bool *)((char *)base + f->has - 1) = true;
                        seen[f - fields] = true;
                }
                path_pop(p, mark);
        }
        for (size_t k = 0; k < n; k++)
                if ((fields[k].flags & F_REQUIRED) && !seen[k]) {
                        path_key(p, fields[k].key);
                        return fail(p, EINVAL, "required but missing");
                }
        return 0;
}

/* ---- mount options ------------------------------------------------------------------------------------ */

enum mount_option_kind {
        OPT_FLAG,        /* set: MS_* to set, clear: MS_* to clear */
        OPT_RECURSIVE,   /* set/clear: MOUNT_ATTR_* for mount_setattr(AT_RECURSIVE) */
        OPT_PROPAGATION, /* set: MS_SHARED … (| MS_REC) */
        OPT_BIND,
        OPT_RBIND,
        OPT_IDMAP,
        OPT_RIDMAP,
        OPT_TMPCOPYUP,
        OPT_NOTMPCOPYUP,
};

struct mount_option {
        const char *name;
        enum mount_option_kind kind;
        unsigned long set, clear;
};

#define ATIME_MODE(mode) OPT_RECURSIVE, (mode), MOUNT_ATTR__ATIME

static const struct mount_option mount_options[] = {
        { "defaults", OPT_FLAG, 0, 0 },
        { "ro", OPT_FLAG, MS_RDONLY, 0 },
        { "rw", OPT_FLAG, 0, MS_RDONLY },
        { "nosuid", OPT_FLAG, MS_NOSUID, 0 },
        { "suid", OPT_FLAG, 0, MS_NOSUID },
        { "nodev", OPT_FLAG, MS_NODEV, 0 },
        { "dev", OPT_FLAG, 0, MS_NODEV },
        { "noexec", OPT_FLAG, MS_NOEXEC, 0 },
        { "exec", OPT_FLAG, 0, MS_NOEXEC },
        { "sync", OPT_FLAG, MS_SYNCHRONOUS, 0 },
        { "async", OPT_FLAG, 0, MS_SYNCHRONOUS },
        { "dirsync", OPT_FLAG, MS_DIRSYNC, 0 },
        { "remount", OPT_FLAG, MS_REMOUNT, 0 },
        { "mand", OPT_FLAG, MS_MANDLOCK, 0 },
        { "nomand", OPT_FLAG, 0, MS_MANDLOCK },
        { "atime", OPT_FLAG, 0, MS_NOATIME },
        { "noatime", OPT_FLAG, MS_NOATIME, 0 },
        { "diratime", OPT_FLAG, 0, MS_NODIRATIME },
        { "nodiratime", OPT_FLAG, MS_NODIRATIME, 0 },
        { "relatime", OPT_FLAG, MS_RELATIME, 0 },
        { "norelatime", OPT_FLAG, 0, MS_RELATIME },
        { "strictatime", OPT_FLAG, MS_STRICTATIME, 0 },
        { "nostrictatime", OPT_FLAG, 0, MS_STRICTATIME },
        { "lazytime", OPT_FLAG, MS_LAZYTIME, 0 },
        { "nolazytime", OPT_FLAG, 0, MS_LAZYTIME },
        { "silent", OPT_FLAG, MS_SILENT, 0 },
        { "loud", OPT_FLAG, 0, MS_SILENT },
        { "iversion", OPT_FLAG, MS_I_VERSION, 0 },
        { "noiversion", OPT_FLAG, 0, MS_I_VERSION },
        { "nosymfollow", OPT_FLAG, MS_NOSYMFOLLOW, 0 },
        { "symfollow", OPT_FLAG, 0, MS_NOSYMFOLLOW },
        /* Recursive variants (runc/crun): applied to the whole tree with mount_setattr(AT_RECURSIVE). */
        { "rro", OPT_RECURSIVE, MOUNT_ATTR_RDONLY, 0 },
        { "rrw", OPT_RECURSIVE, 0, MOUNT_ATTR_RDONLY },
        { "rnosuid", OPT_RECURSIVE, MOUNT_ATTR_NOSUID, 0 },
        { "rsuid", OPT_RECURSIVE, 0, MOUNT_ATTR_NOSUID },
        { "rnodev", OPT_RECURSIVE, MOUNT_ATTR_NODEV, 0 },
        { "rdev", OPT_RECURSIVE, 0, MOUNT_ATTR_NODEV },
        { "rnoexec", OPT_RECURSIVE, MOUNT_ATTR_NOEXEC, 0 },
        { "rexec", OPT_RECURSIVE, 0, MOUNT_ATTR_NOEXEC },
        { "rnodiratime", OPT_RECURSIVE, MOUNT_ATTR_NODIRATIME, 0 },
        { "rdiratime", OPT_RECURSIVE, 0, MOUNT_ATTR_NODIRATIME },
        { "rnosymfollow", OPT_RECURSIVE, MOUNT_ATTR_NOSYMFOLLOW, 0 },
        { "rsymfollow", OPT_RECURSIVE, 0, MOUNT_ATTR_NOSYMFOLLOW },
        /* The atime mode is one field for mount_setattr: clear it whole, then pick one. */
        { "rrelatime", ATIME_MODE(MOUNT_ATTR_RELATIME) },
        { "rnorelatime", ATIME_MODE(MOUNT_ATTR_STRICTATIME) },
        { "ratime", ATIME_MODE(MOUNT_ATTR_RELATIME) },
        { "rnoatime", ATIME_MODE(MOUNT_ATTR_NOATIME) },
        { "rstrictatime", ATIME_MODE(MOUNT_ATTR_STRICTATIME) },
        { "rnostrictatime", ATIME_MODE(MOUNT_ATTR_RELATIME) },
        { "shared", OPT_PROPAGATION, MS_SHARED, 0 },
        { "rshared", OPT_PROPAGATION, MS_SHARED | MS_REC, 0 },
        { "slave", OPT_PROPAGATION, MS_SLAVE, 0 },
        { "rslave", OPT_PROPAGATION, MS_SLAVE | MS_REC, 0 },
        { "private", OPT_PROPAGATION, MS_PRIVATE, 0 },
        { "rprivate", OPT_PROPAGATION, MS_PRIVATE | MS_REC, 0 },
        { "unbindable", OPT_PROPAGATION, MS_UNBINDABLE, 0 },
        { "runbindable", OPT_PROPAGATION, MS_UNBINDABLE | MS_REC, 0 },
        { "bind", OPT_BIND, 0, 0 },
        { "rbind", OPT_RBIND, 0, 0 },
        { "idmap", OPT_IDMAP, 0, 0 },
        { "ridmap", OPT_RIDMAP, 0, 0 },
        /* crun's "copy the image's files into this tmpfs": recorded in oci_mount.tmpcopyup, never sent
         * to the kernel (the mount code decides; it is not listed in `features` until it does it). */
        { "tmpcopyup", OPT_TMPCOPYUP, 0, 0 },
        { "notmpcopyup", OPT_NOTMPCOPYUP, 0, 0 },
};

const char *oci_mount_option_name(size_t i)
{
        /* tmpcopyup and notmpcopyup come last in the table, so the list stops before them. */
        if (i >= ELEMENTSOF(mount_options) || mount_options[i].kind == OPT_TMPCOPYUP ||
            mount_options[i].kind == OPT_NOTMPCOPYUP)
                return NULL;
        return mount_options[i].name;
}

static int mount_apply_option(struct oci_mount *m, const char *opt, char **data)
{
        const struct mount_option *o = NULL;
        for (size_t i = 0; i < ELEMENTSOF(mount_options) && !o; i++)
                if (streq(mount_options[i].name, opt))
                        o = &mount_options[i];
        if (!o) { /* filesystem-specific: mode=755, size=65536k, newinstance, ptmxmode=0666, gid=5 … */
                char *joined = *data ? xasprintf("%s,%s", *data, opt) : strdup(opt);
                if (!joined)
                        return -ENOMEM;
                free(*data);
                *data = joined;
                return 0;
        }
        switch (o->kind) {
        case OPT_FLAG: /* the last word wins: "ro" then "rw" is rw */
                m->flags = (m->flags | o->set) & ~o->clear;
                m->clear_flags = (m->clear_flags | o->clear) & ~o->set;
                break;
        case OPT_RECURSIVE:
                m->rec_attr_set = (m->rec_attr_set & ~(uint64_t)o->clear) | o->set;
                m->rec_attr_clr = (m->rec_attr_clr & ~(uint64_t)o->set) | o->clear;
                break;
        case OPT_PROPAGATION:
                m->propagation = o->set;
                break;
        case OPT_BIND:
                m->bind = true;
                m->flags |= MS_BIND;
                break;
        case OPT_RBIND:
                m->bind = m->recursive = true;
                m->flags |= MS_BIND | MS_REC;
                break;
        case OPT_IDMAP:
                m->idmap = true;
                break;
        case OPT_RIDMAP:
                m->ridmap = true;
                break;
        case OPT_TMPCOPYUP:
                m->tmpcopyup = true;
                break;
        case OPT_NOTMPCOPYUP:
                m->tmpcopyup = false;
                break;
        }
        return 0;
}

static int fp_mount_options(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        struct oci_mount *m = base;
        int r = parse_strv(p, v, NULL, &m->options);
        for (char **o = m->options; r >= 0 && *o; o++)
                if (**o && mount_apply_option(m, *o, &m->data) < 0)
                        return fail(p, ENOMEM, "out of memory");
        return r;
}

static int fp_mount_destination(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        struct oci_mount *m = base;
        const char *s;
        int r = get_string(p, v, &s);
        if (r < 0)
                return r;
        if (!*s)
                return fail(p, EINVAL, "must not be empty");
        /* Relative destinations are deprecated but allowed: they are relative to "/". */
        m->destination = is_absolute(s) ? strdup(s) : xasprintf("/%s", s);
        return m->destination ? 0 : fail(p, ENOMEM, "out of memory");
}

static int fp_propagation(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        const char *s;
        int r = get_string(p, v, &s);
        if (r < 0)
                return r;
        if (!*s) {
                *MEMBER(base, f, unsigned long) = 0;
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(mount_options); i++)
                if (mount_options[i].kind == OPT_PROPAGATION && streq(mount_options[i].name, s)) {
                        *MEMBER(base, f, unsigned long) = mount_options[i].set;
                        return 0;
                }
        return fail(p, EINVAL, "unknown propagation \"%s\" (expected shared, slave, private or unbindable)",
                    s);
}

/* ---- process ------------------------------------------------------------------------------------------ */

static const struct {
        const char *name;
        int resource;
} rlimit_table[] = {
        { "RLIMIT_AS", RLIMIT_AS },
        { "RLIMIT_CORE", RLIMIT_CORE },
        { "RLIMIT_CPU", RLIMIT_CPU },
        { "RLIMIT_DATA", RLIMIT_DATA },
        { "RLIMIT_FSIZE", RLIMIT_FSIZE },
        { "RLIMIT_LOCKS", RLIMIT_LOCKS },
        { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
        { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
        { "RLIMIT_NICE", RLIMIT_NICE },
        { "RLIMIT_NOFILE", RLIMIT_NOFILE },
        { "RLIMIT_NPROC", RLIMIT_NPROC },
        { "RLIMIT_RSS", RLIMIT_RSS },
        { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
        { "RLIMIT_RTTIME", RLIMIT_RTTIME },
        { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
        { "RLIMIT_STACK", RLIMIT_STACK },
};

static int fp_rlimit_type(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        struct oci_rlimit *rl = base;
        const char *s;
        int r = get_string(p, v, &s);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(rlimit_table); i++)
                if (streq(rlimit_table[i].name, s)) {
                        rl->resource = rlimit_table[i].resource;
                        return set_string(p, s, &rl->type);
                }
        return fail(p, EINVAL, "unknown rlimit \"%s\"", s);
}

static int check_rlimit(struct parser *p, yajl_val v, void *obj)
{
        struct oci_rlimit *rl = obj;
        if (rl->soft > rl->hard)
                return fail(p, EINVAL, "soft limit %" PRIu64 " is above the hard limit %" PRIu64, rl->soft,
                            rl->hard);
        return 0;
}

static int fp_cap_set(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        if (!YAJL_IS_ARRAY(v))
                return fail_type(p, v, "an array of capability names");
        uint64_t mask = 0;
        for (size_t i = 0; i < v->u.array.len; i++) {
                size_t mark = path_index(p, i);
                const char *name;
                int cap, r = get_string(p, v->u.array.values[i], &name);
                if (r < 0)
                        return r;
                if (capability_from_name(name, &cap) < 0 || cap < 0 || cap >= 64)
                        return fail(p, EINVAL, "unknown capability \"%s\"", name);
                mask |= UINT64_C(1) << cap;
                path_pop(p, mark);
        }
        *MEMBER(base, f, uint64_t) = mask;
        return 0;
}

static int fp_oom_score_adj(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        int64_t x;
        int r = get_int(p, v, -1000, 1000, &x);
        if (r >= 0)
                *MEMBER(base, f, int) = (int)x;
        return r;
}

static int check_process(struct parser *p, yajl_val v, void *obj)
{
        struct oci_process *pr = obj;
        for (size_t i = 0; i < pr->n_rlimits; i++)
                for (size_t j = 0; j < i; j++)
                        if (pr->rlimits[i].resource == pr->rlimits[j].resource) {
                                path_key(p, "rlimits");
                                path_index(p, i);
                                path_key(p, "type");
                                return fail(p, EINVAL, "%s given twice", pr->rlimits[i].type);
                        }
        return 0;
}

static const struct field console_size_fields[] = {
        FIELD("height", fp_unsigned, struct oci_process, console_height, REQUIRED),
        FIELD("width", fp_unsigned, struct oci_process, console_width, REQUIRED),
};

static const struct field user_fields[] = {
        FIELD("uid", fp_u32, struct oci_user, uid),
        FIELD("gid", fp_u32, struct oci_user, gid),
        FIELD("umask", fp_umask, struct oci_user, umask, HAS(struct oci_user, has_umask)),
        FIELD("additionalGids", fp_u32_array, struct oci_user, additional_gids,
              .count = offsetof(struct oci_user, n_additional_gids)),
        EMPTY_OK("username", "Windows only"),
};

static const struct field capabilities_fields[] = {
        FIELD("bounding", fp_cap_set, struct oci_capabilities, bounding),
        FIELD("effective", fp_cap_set, struct oci_capabilities, effective),
        FIELD("inheritable", fp_cap_set, struct oci_capabilities, inheritable),
        FIELD("permitted", fp_cap_set, struct oci_capabilities, permitted),
        FIELD("ambient", fp_cap_set, struct oci_capabilities, ambient),
};

static const struct field rlimit_fields[] = {
        FIELD("type", fp_rlimit_type, struct oci_rlimit, type, REQUIRED),
        FIELD("hard", fp_u64, struct oci_rlimit, hard, REQUIRED),
        FIELD("soft", fp_u64, struct oci_rlimit, soft, REQUIRED),
};

static const struct field process_fields[] = {
        FIELD("terminal", fp_bool, struct oci_process, terminal),
        FLAT("consoleSize", console_size_fields, HAS(struct oci_process, has_console_size)),
        OBJECT("user", user_fields, struct oci_process, user),
        FIELD("args", fp_args, struct oci_process, args, REQUIRED),
        REFUSED("commandLine", "Windows only"),
        FIELD("env", fp_env, struct oci_process, env),
        FIELD("cwd", fp_abs_path, struct oci_process, cwd, REQUIRED),
        OBJECT("capabilities", capabilities_fields, struct oci_process, caps,
               HAS(struct oci_process, caps.present)),
        OBJECT_ARRAY("rlimits", rlimit_fields, struct oci_process, rlimits, n_rlimits, struct oci_rlimit,
                     .check = check_rlimit),
        FIELD("noNewPrivileges", fp_bool, struct oci_process, no_new_privileges),
        FIELD("oomScoreAdj", fp_oom_score_adj, struct oci_process, oom_score_adj,
              HAS(struct oci_process, has_oom_score_adj)),
        EMPTY_OK("apparmorProfile", "no AppArmor support"),
        EMPTY_OK("selinuxLabel", "no SELinux support"),
        REFUSED("scheduler", "no sched_setattr support yet"),
        REFUSED("ioPriority", "no ioprio_set support yet"),
        REFUSED("execCPUAffinity", "no CPU affinity support yet"),
};

/* ---- mounts and hooks --------------------------------------------------------------------------------- */

static int check_id_mapping(struct parser *p, yajl_val v, void *obj)
{
        struct oci_id_mapping *m = obj;
        if (m->size == 0)
                return fail(p, EINVAL, "size must not be 0");
        if ((uint64_t)m->container_id + m->size > UINT32_MAX + UINT64_C(1) ||
            (uint64_t)m->host_id + m->size > UINT32_MAX + UINT64_C(1))
                return fail(p, ERANGE, "range goes past 4294967295");
        return 0;
}

static const struct field id_mapping_fields[] = {
        FIELD("containerID", fp_u32, struct oci_id_mapping, container_id, REQUIRED),
        FIELD("hostID", fp_u32, struct oci_id_mapping, host_id, REQUIRED),
        FIELD("size", fp_u32, struct oci_id_mapping, size, REQUIRED),
};

#define ID_MAPPINGS(k, type, member, n_member)                                                               \
        OBJECT_ARRAY(k, id_mapping_fields, type, member, n_member, struct oci_id_mapping,                    \
                     .check = check_id_mapping)

static const struct field mount_fields[] = {
        FIELD("destination", fp_mount_destination, struct oci_mount, destination, REQUIRED),
        FIELD("type", fp_string, struct oci_mount, type),
        FIELD("source", fp_string, struct oci_mount, source),
        FIELD("options", fp_mount_options, struct oci_mount, options),
        ID_MAPPINGS("uidMappings", struct oci_mount, uid_mappings, n_uid_mappings),
        ID_MAPPINGS("gidMappings", struct oci_mount, gid_mappings, n_gid_mappings),
};

static int fp_hook_timeout(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        int64_t x;
        int r = get_int(p, v, 1, INT_MAX, &x);
        if (r >= 0)
                *MEMBER(base, f, int) = (int)x;
        return r;
}

static const struct field hook_fields[] = {
        FIELD("path", fp_abs_path, struct oci_hook, path, REQUIRED),
        FIELD("args", fp_strv, struct oci_hook, args),
        FIELD("env", fp_env, struct oci_hook, env),
        FIELD("timeout", fp_hook_timeout, struct oci_hook, timeout, HAS(struct oci_hook, has_timeout)),
};

#define HOOKS(k, kind)                                                                                       \
        OBJECT_ARRAY(k, hook_fields, struct oci_config, hooks[kind], n_hooks[kind], struct oci_hook)

static const struct field hooks_fields[] = {
        HOOKS("prestart", OCI_HOOK_PRESTART),
        HOOKS("createRuntime", OCI_HOOK_CREATE_RUNTIME),
        HOOKS("createContainer", OCI_HOOK_CREATE_CONTAINER),
        HOOKS("startContainer", OCI_HOOK_START_CONTAINER),
        HOOKS("poststart", OCI_HOOK_POSTSTART),
        HOOKS("poststop", OCI_HOOK_POSTSTOP),
};

/* ---- linux.resources ---------------------------------------------------------------------------------- */

static int fp_swappiness(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        return get_uint(p, v, 100, MEMBER(base, f, uint64_t));
}

static int fp_cpu_idle(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        return get_int(p, v, 0, 1, MEMBER(base, f, int64_t));
}

static int fp_io_weight(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        uint64_t x;
        int r = get_uint(p, v, 1000, &x);
        if (r >= 0 && x < 10)
                return fail(p, ERANGE, "%" PRIu64 " is out of range (10..1000)", x);
        if (r >= 0)
                *MEMBER(base, f, uint16_t) = (uint16_t)x;
        return r;
}

static const struct field io_weight_device_fields[] = {
        FIELD("major", fp_i64, struct oci_io_device, major, REQUIRED),
        FIELD("minor", fp_i64, struct oci_io_device, minor, REQUIRED),
        FIELD("weight", fp_io_weight, struct oci_io_device, weight, REQUIRED),
        REFUSED("leafWeight", "cgroup v1 only"),
};

static const struct field io_throttle_device_fields[] = {
        FIELD("major", fp_i64, struct oci_io_device, major, REQUIRED),
        FIELD("minor", fp_i64, struct oci_io_device, minor, REQUIRED),
        FIELD("rate", fp_u64, struct oci_io_device, rate, REQUIRED),
};

/* weightDevice and the four throttle lists all land in resources.io_devices, told apart by kind. */
static int fp_io_devices(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        struct oci_resources *res = base;
        if (!YAJL_IS_ARRAY(v))
                return fail_type(p, v, "an array of objects");
        for (size_t i = 0; i < v->u.array.len; i++) {
                size_t mark = path_index(p, i);
                struct oci_io_device dev = { .kind = (char)f->arg };
                int r = f->arg == 'w' ? parse_object(p, v->u.array.values[i], io_weight_device_fields,
                                                     ELEMENTSOF(io_weight_device_fields), &dev)
                                      : parse_object(p, v->u.array.values[i], io_throttle_device_fields,
                                                     ELEMENTSOF(io_throttle_device_fields), &dev);
                if (r < 0)
                        return r;
                struct oci_io_device *a = reallocarray(res->io_devices, res->n_io_devices + 1, sizeof(*a));
                if (!a)
                        return fail(p, ENOMEM, "out of memory");
                a[res->n_io_devices++] = dev;
                res->io_devices = a;
                path_pop(p, mark);
        }
        return 0;
}

struct hugepage_limit {
        char *page_size;
        uint64_t limit;
};

static int fp_page_size(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        const char *s;
        int r = get_string(p, v, &s);
        if (r < 0)
                return r;
        size_t digits = strspn(s, "0123456789");
        if (digits == 0 || !strchr("KMG", s[digits]) || !s[digits] || !streq(s + digits + 1, "B"))
                return fail(p, EINVAL, "expected a page size like \"2MB\", got \"%s\"", s);
        return set_string(p, s, MEMBER(base, f, char *));
}

static const struct field hugepage_limit_fields[] = {
        FIELD("pageSize", fp_page_size, struct hugepage_limit, page_size, REQUIRED),
        FIELD("limit", fp_u64, struct hugepage_limit, limit, REQUIRED),
};

/* cgroup v2 spells these hugetlb.<size>.max: they join the unified entries. */
static int fp_hugepage_limits(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        struct oci_resources *res = base;
        if (!YAJL_IS_ARRAY(v))
                return fail_type(p, v, "an array of objects");
        for (size_t i = 0; i < v->u.array.len; i++) {
                size_t mark = path_index(p, i);
                struct hugepage_limit h = { 0 };
                int r = parse_object(p, v->u.array.values[i], hugepage_limit_fields,
                                     ELEMENTSOF(hugepage_limit_fields), &h);
                _cleanup_free_ char *page_size = h.page_size;
                if (r < 0)
                        return r;
                _cleanup_free_ char *key = xasprintf("hugetlb.%s.max", page_size);
                _cleanup_free_ char *value = xasprintf("%" PRIu64, h.limit);
                if (!key || !value || strv_push(&res->unified, key) < 0 ||
                    strv_push(&res->unified, value) < 0)
                        return fail(p, ENOMEM, "out of memory");
                path_pop(p, mark);
        }
        return 0;
}

static int fp_rule_type(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        const char *s;
        int r = get_string(p, v, &s);
        if (r < 0)
                return r;
        if (!streq(s, "a") && !streq(s, "c") && !streq(s, "b"))
                return fail(p, EINVAL, "expected \"a\", \"c\" or \"b\", got \"%s\"", s);
        *MEMBER(base, f, char) = s[0];
        return 0;
}

static int fp_rule_number(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        return get_int(p, v, -1, INT64_MAX, MEMBER(base, f, int64_t));
}

static int fp_rule_access(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        const char *s;
        int r = get_string(p, v, &s);
        if (r < 0)
                return r;
        char *access = MEMBER(base, f, char);
        size_t n = 0;
        for (const char *c = s; *c; c++) {
                if (!strchr("rwm", *c) || memchr(access, *c, n) || n >= 3)
                        return fail(p, EINVAL, "expected a combination of r, w and m, got \"%s\"", s);
                access[n++] = *c;
        }
        access[n] = '\0';
        return 0;
}

/* Absent type, major, minor and access mean "any": a, -1, -1, rwm. */
static int check_device_rule(struct parser *p, yajl_val v, void *obj)
{
        struct oci_device_rule *rule = obj;
        if (!json_get(v, "type") || YAJL_IS_NULL(json_get(v, "type")))
                rule->type = 'a';
        if (!json_get(v, "major") || YAJL_IS_NULL(json_get(v, "major")))
                rule->major = -1;
        if (!json_get(v, "minor") || YAJL_IS_NULL(json_get(v, "minor")))
                rule->minor = -1;
        if (!rule->access[0])
                strcpy(rule->access, "rwm");
        return 0;
}

static const struct field device_rule_fields[] = {
        FIELD("allow", fp_bool, struct oci_device_rule, allow, REQUIRED),
        FIELD("type", fp_rule_type, struct oci_device_rule, type),
        FIELD("major", fp_rule_number, struct oci_device_rule, major),
        FIELD("minor", fp_rule_number, struct oci_device_rule, minor),
        FIELD("access", fp_rule_access, struct oci_device_rule, access),
};

static const struct field memory_fields[] = {
        FIELD("limit", fp_limit, struct oci_resources, memory_limit,
              HAS(struct oci_resources, has_memory_limit)),
        FIELD("reservation", fp_limit, struct oci_resources, memory_reservation,
              HAS(struct oci_resources, has_memory_reservation)),
        FIELD("swap", fp_limit, struct oci_resources, memory_swap,
              HAS(struct oci_resources, has_memory_swap)),
        { .key = "kernel", .parse = fp_limit_ignored, HAS(struct oci_resources, has_memory_kernel) },
        REFUSED("kernelTCP", "cgroup v1 only"),
        FIELD("swappiness", fp_swappiness, struct oci_resources, memory_swappiness,
              HAS(struct oci_resources, has_memory_swappiness)),
        FIELD("disableOOMKiller", fp_bool, struct oci_resources, memory_disable_oom_killer,
              HAS(struct oci_resources, has_memory_disable_oom_killer)),
        { .key = "useHierarchy", .parse = fp_bool_ignored },
        FIELD("checkBeforeUpdate", fp_bool, struct oci_resources, memory_check_before_update,
              HAS(struct oci_resources, has_memory_check_before_update)),
};

static const struct field cpu_fields[] = {
        FIELD("shares", fp_u64, struct oci_resources, cpu_shares, HAS(struct oci_resources, has_cpu_shares)),
        FIELD("quota", fp_limit, struct oci_resources, cpu_quota, HAS(struct oci_resources, has_cpu_quota)),
        FIELD("burst", fp_u64, struct oci_resources, cpu_burst, HAS(struct oci_resources, has_cpu_burst)),
        FIELD("period", fp_u64, struct oci_resources, cpu_period, HAS(struct oci_resources, has_cpu_period)),
        REFUSED("realtimeRuntime", "cgroup v1 only"),
        REFUSED("realtimePeriod", "cgroup v1 only"),
        FIELD("cpus", fp_string, struct oci_resources, cpu_cpus),
        FIELD("mems", fp_string, struct oci_resources, cpu_mems),
        FIELD("idle", fp_cpu_idle, struct oci_resources, cpu_idle, HAS(struct oci_resources, has_cpu_idle)),
};

static const struct field pids_fields[] = {
        FIELD("limit", fp_i64, struct oci_resources, pids_limit, REQUIRED,
              HAS(struct oci_resources, has_pids_limit)),
};

#define IO_LIST(k, kind)                                                                                     \
        {                                                                                                    \
                .key = k, .parse = fp_io_devices, .arg = kind                                                \
        }

static const struct field block_io_fields[] = {
        FIELD("weight", fp_io_weight, struct oci_resources, io_weight,
              HAS(struct oci_resources, has_io_weight)),
        REFUSED("leafWeight", "cgroup v1 only"),
        IO_LIST("weightDevice", 'w'),
        IO_LIST("throttleReadBpsDevice", 'r'),
        IO_LIST("throttleWriteBpsDevice", 'W'),
        IO_LIST("throttleReadIOPSDevice", 'i'),
        IO_LIST("throttleWriteIOPSDevice", 'o'),
};

static const struct field resources_fields[] = {
        OBJECT_ARRAY("devices", device_rule_fields, struct oci_resources, device_rules, n_device_rules,
                     struct oci_device_rule, .check = check_device_rule,
                     HAS(struct oci_resources, has_devices)),
        FLAT("memory", memory_fields),
        FLAT("cpu", cpu_fields),
        FLAT("pids", pids_fields),
        FLAT("blockIO", block_io_fields),
        { .key = "hugepageLimits", .parse = fp_hugepage_limits },
        REFUSED("network", "net_cls/net_prio are cgroup v1 only"),
        REFUSED("rdma", "no rdma controller support"),
        FIELD("unified", fp_unified, struct oci_resources, unified),
};

/* The allow list runc and containerd write after a deny-all: mknod anything, and the devices every
 * container gets (null, zero, full, random, urandom, tty, console, ptmx, pts, tun). */
static bool device_rule_is_standard(const struct oci_device_rule *rule, const struct oci_device *devices,
                                    size_t n_devices)
{
        static const struct {
                char type;
                int64_t major, minor;
        } standard[] = {
                { 'c', 1, 3 }, { 'c', 1, 5 }, { 'c', 1, 7 }, { 'c', 1, 8 },    { 'c', 1, 9 },
                { 'c', 5, 0 }, { 'c', 5, 1 }, { 'c', 5, 2 }, { 'c', 136, -1 }, { 'c', 10, 200 },
        };
        if (!rule->allow)
                return false;
        if (rule->type != 'a' && rule->major == -1 && rule->minor == -1 && streq(rule->access, "m"))
                return true;
        for (size_t i = 0; i < ELEMENTSOF(standard); i++)
                if (rule->type == standard[i].type && rule->major == standard[i].major &&
                    rule->minor == standard[i].minor)
                        return true;
        for (size_t i = 0; i < n_devices; i++) {
                char type = devices[i].type == 'u' ? 'c' : devices[i].type;
                if (rule->type == type && rule->major == devices[i].major && rule->minor == devices[i].minor)
                        return true;
        }
        return false;
}

static void summarize_device_rules(struct oci_resources *res, const struct oci_device *devices,
                                   size_t n_devices)
{
        res->devices_allow_all = false;
        res->devices_standard = false;
        if (!res->has_devices)
                return;
        for (size_t i = 0; i < res->n_device_rules; i++) {
                const struct oci_device_rule *rule = &res->device_rules[i];
                bool everything = rule->type == 'a' && streq(rule->access, "rwm");
                if (everything)
                        res->devices_allow_all = rule->allow;
                else if (!rule->allow)
                        res->devices_allow_all = false;
        }
        if (res->n_device_rules == 0 || res->device_rules[0].allow || res->device_rules[0].type != 'a' ||
            !streq(res->device_rules[0].access, "rwm"))
                return;
        for (size_t i = 1; i < res->n_device_rules; i++)
                if (!device_rule_is_standard(&res->device_rules[i], devices, n_devices))
                        return;
        res->devices_standard = true;
}

/* ---- linux.seccomp ------------------------------------------------------------------------------------ */

static int fp_seccomp_action(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        const char *s;
        uint32_t action;
        int r = get_string(p, v, &s);
        if (r < 0)
                return r;
        if (streq(s, "SCMP_ACT_NOTIFY"))
                return fail(p, ENOTSUP,
                            "SCMP_ACT_NOTIFY needs a seccomp listener, not supported by coi-runtime");
        if (seccomp_action_from_name(s, 0, &action) < 0)
                return fail(p, EINVAL, "unknown seccomp action \"%s\"", s);
        *MEMBER(base, f, uint32_t) = action; /* errnoRet is folded in by resolve_action() */
        return 0;
}

static int fp_errno_ret(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        uint64_t x;
        int r = get_uint(p, v, 4095, &x);
        if (r >= 0 && x == 0) /* seccomp_action_from_name() takes 0 as "not given", i.e. EPERM */
                return fail(p, EINVAL, "0 is not supported (the syscall would succeed without running)");
        if (r >= 0)
                *MEMBER(base, f, uint32_t) = (uint32_t)x;
        return r;
}

static int resolve_action(struct parser *p, yajl_val obj, const char *action_key, const char *errno_key,
                          bool has_errno, uint32_t errno_ret, uint32_t *action)
{
        const char *name = json_get(obj, action_key)->u.string; /* validated by fp_seccomp_action */
        if (has_errno && !streq(name, "SCMP_ACT_ERRNO") && !streq(name, "SCMP_ACT_TRACE")) {
                path_key(p, errno_key);
                return fail(p, EINVAL, "only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not %s", name);
        }
        if (seccomp_action_from_name(name, has_errno ? errno_ret : 0, action) < 0) {
                path_key(p, action_key);
                return fail(p, EINVAL, "unknown seccomp action \"%s\"", name);
        }
        return 0;
}

static int check_syscall(struct parser *p, yajl_val v, void *obj)
{
        struct oci_seccomp_syscall *s = obj;
        return resolve_action(p, v, "action", "errnoRet", s->has_errno_ret, s->errno_ret, &s->action);
}

static int fp_arg_index(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        uint64_t x;
        int r = get_uint(p, v, 5, &x);
        if (r >= 0)
                *MEMBER(base, f, unsigned) = (unsigned)x;
        return r;
}

static int fp_seccomp_op(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        const char *s;
        int r = get_string(p, v, &s);
        if (r >= 0 && seccomp_op_from_name(s, MEMBER(base, f, int)) < 0)
                return fail(p, EINVAL, "unknown seccomp operator \"%s\"", s);
        return r;
}

static int fp_syscall_names(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        int r = parse_strv(p, v, NULL, MEMBER(base, f, char **));
        if (r >= 0 && !**MEMBER(base, f, char **))
                return fail(p, EINVAL, "must name at least one syscall");
        return r;
}

static int convert_arch(struct parser *p, yajl_val v, uint32_t *ret)
{
        const char *s;
        int r = get_string(p, v, &s);
        if (r >= 0 && seccomp_arch_from_name(s, ret) < 0)
                return fail(p, EINVAL, "unknown seccomp architecture \"%s\"", s);
        return r;
}

static int fp_seccomp_archs(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        struct oci_seccomp *s = base;
        return parse_u32_array(p, v, convert_arch, &s->architectures, &s->n_architectures);
}

static int validate_seccomp_flag(struct parser *p, const char *s)
{
        return seccomp_flag_is_known(s) ? 0 : fail(p, EINVAL, "unknown seccomp flag \"%s\"", s);
}

static int fp_seccomp_flags(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        return parse_strv(p, v, validate_seccomp_flag, MEMBER(base, f, char **));
}

static const struct field seccomp_arg_fields[] = {
        FIELD("index", fp_arg_index, struct oci_seccomp_arg, index, REQUIRED),
        FIELD("value", fp_u64, struct oci_seccomp_arg, value, REQUIRED),
        FIELD("valueTwo", fp_u64, struct oci_seccomp_arg, value_two),
        FIELD("op", fp_seccomp_op, struct oci_seccomp_arg, op, REQUIRED),
};

static const struct field seccomp_syscall_fields[] = {
        FIELD("names", fp_syscall_names, struct oci_seccomp_syscall, names, REQUIRED),
        FIELD("action", fp_seccomp_action, struct oci_seccomp_syscall, action, REQUIRED),
        FIELD("errnoRet", fp_errno_ret, struct oci_seccomp_syscall, errno_ret,
              HAS(struct oci_seccomp_syscall, has_errno_ret)),
        OBJECT_ARRAY("args", seccomp_arg_fields, struct oci_seccomp_syscall, args, n_args,
                     struct oci_seccomp_arg),
};

static const struct field seccomp_fields[] = {
        FIELD("defaultAction", fp_seccomp_action, struct oci_seccomp, default_action, REQUIRED),
        FIELD("defaultErrnoRet", fp_errno_ret, struct oci_seccomp, default_errno_ret,
              HAS(struct oci_seccomp, has_default_errno_ret)),
        { .key = "architectures", .parse = fp_seccomp_archs },
        FIELD("flags", fp_seccomp_flags, struct oci_seccomp, flags),
        EMPTY_OK("listenerPath", "no seccomp notify listener support yet"),
        EMPTY_OK("listenerMetadata", "no seccomp notify listener support yet"),
        OBJECT_ARRAY("syscalls", seccomp_syscall_fields, struct oci_seccomp, syscalls, n_syscalls,
                     struct oci_seccomp_syscall, .check = check_syscall),
};

static int fp_seccomp(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        struct oci_linux *l = base;
        if (!l->seccomp && !(l->seccomp = calloc(1, sizeof(struct oci_seccomp))))
                return fail(p, ENOMEM, "out of memory");
        struct oci_seccomp *s = l->seccomp;
        int r = parse_object(p, v, seccomp_fields, ELEMENTSOF(seccomp_fields), s);
        if (r < 0)
                return r;
        return resolve_action(p, v, "defaultAction", "defaultErrnoRet", s->has_default_errno_ret,
                              s->default_errno_ret, &s->default_action);
}

/* ---- linux -------------------------------------------------------------------------------------------- */

static const char *const namespace_names[_OCI_NS_MAX] = {
        [OCI_NS_PID] = "pid",       [OCI_NS_NETWORK] = "network", [OCI_NS_MOUNT] = "mount",
        [OCI_NS_IPC] = "ipc",       [OCI_NS_UTS] = "uts",         [OCI_NS_USER] = "user",
        [OCI_NS_CGROUP] = "cgroup", [OCI_NS_TIME] = "time",
};

struct namespace_entry {
        int type;
        char *path;
};

static int fp_namespace_type(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        const char *s;
        int r = get_string(p, v, &s);
        if (r < 0)
                return r;
        for (int t = 0; t < _OCI_NS_MAX; t++)
                if (streq(namespace_names[t], s)) {
                        *MEMBER(base, f, int) = t;
                        return 0;
                }
        return fail(p, EINVAL, "unknown namespace type \"%s\"", s);
}

static const struct field namespace_fields[] = {
        FIELD("type", fp_namespace_type, struct namespace_entry, type, REQUIRED),
        FIELD("path", fp_abs_path, struct namespace_entry, path),
};

static int fp_namespaces(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        struct oci_namespace *ns = MEMBER(base, f, struct oci_namespace);
        if (!YAJL_IS_ARRAY(v))
                return fail_type(p, v, "an array of objects");
        for (size_t i = 0; i < v->u.array.len; i++) {
                size_t mark = path_index(p, i);
                struct namespace_entry e = { .type = -1 };
                int r = parse_object(p, v->u.array.values[i], namespace_fields, ELEMENTSOF(namespace_fields),
                                     &e);
                _cleanup_free_ char *path = e.path;
                if (r < 0)
                        return r;
                if (ns[e.type].present) {
                        path_key(p, "type");
                        return fail(p, EINVAL, "namespace \"%s\" given twice", namespace_names[e.type]);
                }
                ns[e.type].present = true;
                ns[e.type].path = TAKE_PTR(path);
                path_pop(p, mark);
        }
        return 0;
}

static int fp_nanosecs(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        return get_int(p, v, 0, 999999999, MEMBER(base, f, int64_t));
}

static const struct field boottime_fields[] = {
        FIELD("secs", fp_i64, struct oci_linux, boottime_secs),
        FIELD("nanosecs", fp_nanosecs, struct oci_linux, boottime_nsecs),
};

static const struct field monotonic_fields[] = {
        FIELD("secs", fp_i64, struct oci_linux, monotonic_secs),
        FIELD("nanosecs", fp_nanosecs, struct oci_linux, monotonic_nsecs),
};

static const struct field time_offsets_fields[] = {
        FLAT("boottime", boottime_fields),
        FLAT("monotonic", monotonic_fields),
};

static int fp_device_type(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        const char *s;
        int r = get_string(p, v, &s);
        if (r < 0)
                return r;
        if (strlen(s) != 1 || !strchr("cbup", s[0]))
                return fail(p, EINVAL, "expected \"c\", \"b\", \"u\" or \"p\", got \"%s\"", s);
        *MEMBER(base, f, char) = s[0];
        return 0;
}

/* Go encoders write os.FileMode, whose type bits sit above 07777: keep the permission bits. */
static int fp_file_mode(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        uint64_t x;
        int r = get_uint(p, v, UINT32_MAX, &x);
        if (r >= 0)
                *MEMBER(base, f, uint32_t) = (uint32_t)(x > 07777 ? x & 0777 : x);
        return r;
}

static int check_device(struct parser *p, yajl_val v, void *obj)
{
        struct oci_device *d = obj;
        if (d->type == 'p')
                return 0;
        const char *missing = !json_get(v, "major") ? "major" : !json_get(v, "minor") ? "minor" : NULL;
        if (missing) {
                path_key(p, missing);
                return fail(p, EINVAL, "required for device type '%c'", d->type);
        }
        return 0;
}

static const struct field device_fields[] = {
        FIELD("path", fp_abs_path, struct oci_device, path, REQUIRED),
        FIELD("type", fp_device_type, struct oci_device, type, REQUIRED),
        FIELD("major", fp_i64, struct oci_device, major),
        FIELD("minor", fp_i64, struct oci_device, minor),
        FIELD("fileMode", fp_file_mode, struct oci_device, file_mode, HAS(struct oci_device, has_file_mode)),
        FIELD("uid", fp_u32, struct oci_device, uid, HAS(struct oci_device, has_uid)),
        FIELD("gid", fp_u32, struct oci_device, gid, HAS(struct oci_device, has_gid)),
};

static int fp_personality(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        const char *s;
        int r = get_string(p, v, &s);
        if (r < 0)
                return r;
        if (streq(s, "LINUX"))
                *MEMBER(base, f, unsigned long) = PER_LINUX;
        else if (streq(s, "LINUX32"))
                *MEMBER(base, f, unsigned long) = PER_LINUX32;
        else
                return fail(p, EINVAL, "expected \"LINUX\" or \"LINUX32\", got \"%s\"", s);
        return 0;
}

static const struct field personality_fields[] = {
        FIELD("domain", fp_personality, struct oci_linux, personality, REQUIRED),
        EMPTY_OK("flags", "personality flags"),
};

static int fp_cgroups_path(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        const char *s;
        int r = get_string(p, v, &s);
        if (r < 0)
                return r;
        if (has_dotdot(s))
                return fail(p, EINVAL, "must not contain \"..\": \"%s\"", s);
        return set_string(p, s, MEMBER(base, f, char *));
}

static const struct field linux_fields[] = {
        FIELD("namespaces", fp_namespaces, struct oci_linux, namespaces),
        ID_MAPPINGS("uidMappings", struct oci_linux, uid_mappings, n_uid_mappings),
        ID_MAPPINGS("gidMappings", struct oci_linux, gid_mappings, n_gid_mappings),
        FLAT("timeOffsets", time_offsets_fields, HAS(struct oci_linux, has_time_offsets)),
        OBJECT_ARRAY("devices", device_fields, struct oci_linux, devices, n_devices, struct oci_device,
                     .check = check_device),
        FIELD("cgroupsPath", fp_cgroups_path, struct oci_linux, cgroups_path),
        OBJECT("resources", resources_fields, struct oci_linux, resources,
               HAS(struct oci_linux, has_resources)),
        FIELD("sysctl", fp_sysctl, struct oci_linux, sysctl),
        { .key = "seccomp", .parse = fp_seccomp },
        FIELD("rootfsPropagation", fp_propagation, struct oci_linux, rootfs_propagation),
        FIELD("maskedPaths", fp_abs_strv, struct oci_linux, masked_paths),
        FIELD("readonlyPaths", fp_abs_strv, struct oci_linux, readonly_paths),
        EMPTY_OK("mountLabel", "no SELinux support"),
        FLAT("personality", personality_fields, HAS(struct oci_linux, has_personality)),
        REFUSED("intelRdt", "no Intel RDT support"),
        REFUSED("netDevices", "no network device moves"),
        REFUSED("memoryPolicy", "no set_mempolicy support"),
};

/* ---- the document ------------------------------------------------------------------------------------- */

static int fp_oci_version(struct parser *p, yajl_val v, void *base, const struct field *f)
{
        const char *s;
        int r = get_string(p, v, &s);
        if (r < 0)
                return r;
        /* Every 1.x document is read: later minors only add fields, and unknown ones are refused by name. */
        if (!startswith(s, "1.") || !strchr("0123456789", s[2]) || !s[2])
                return fail(p, ENOTSUP, "unsupported version \"%s\" (coi-runtime reads 1.x)", s);
        return set_string(p, s, MEMBER(base, f, char *));
}

static const struct field root_fields[] = {
        FIELD("path", fp_nonempty_string, struct oci_config, root_path, REQUIRED),
        FIELD("readonly", fp_bool, struct oci_config, root_readonly),
};

static const struct field config_fields[] = {
        FIELD("ociVersion", fp_oci_version, struct oci_config, oci_version, REQUIRED),
        FLAT("root", root_fields, REQUIRED),
        OBJECT_ARRAY("mounts", mount_fields, struct oci_config, mounts, n_mounts, struct oci_mount),
        OBJECT("process", process_fields, struct oci_config, process, HAS(struct oci_config, has_process),
               .check = check_process),
        FIELD("hostname", fp_string, struct oci_config, hostname),
        FIELD("domainname", fp_string, struct oci_config, domainname),
        FLAT("hooks", hooks_fields),
        FIELD("annotations", fp_annotations, struct oci_config, annotations),
        OBJECT("linux", linux_fields, struct oci_config, linux_),
        REFUSED("solaris", "not a Linux configuration"),
        REFUSED("windows", "not a Linux configuration"),
        REFUSED("zos", "not a Linux configuration"),
        REFUSED("vm", "no virtual-machine containers"),
};

/* What only makes sense across sections. */
static int check_config(struct parser *p, struct oci_config *c)
{
        struct oci_linux *l = &c->linux_;
        const struct oci_namespace *userns = &l->namespaces[OCI_NS_USER];

        if ((l->n_uid_mappings || l->n_gid_mappings) && !userns->present) {
                path_key(p, "linux");
                path_key(p, l->n_uid_mappings ? "uidMappings" : "gidMappings");
                return fail(p, EINVAL, "needs a user namespace in linux.namespaces");
        }
        if (userns->present && !userns->path && (!l->n_uid_mappings || !l->n_gid_mappings)) {
                path_key(p, "linux");
                path_key(p, !l->n_uid_mappings ? "uidMappings" : "gidMappings");
                return fail(p, EINVAL, "required to create a user namespace");
        }
        if (l->has_time_offsets && (!l->namespaces[OCI_NS_TIME].present || l->namespaces[OCI_NS_TIME].path)) {
                path_key(p, "linux");
                path_key(p, "timeOffsets");
                return fail(p, EINVAL, "needs a new time namespace in linux.namespaces");
        }
        summarize_device_rules(&l->resources, l->devices, l->n_devices);
        return 0;
}

int oci_config_parse(const char *json, size_t len, const char *origin, struct oci_config **ret_config,
                     struct coi_error *err)
{
        _cleanup_yajl_ yajl_val root = NULL;
        struct parser p = { .origin = origin, .err = err };

        int r = json_parse(json, len, origin, &root, err);
        if (r < 0)
                return r;
        _cleanup_(oci_config_freep) struct oci_config *c = calloc(1, sizeof(*c));
        if (!c)
                return coi_error_set(err, ENOMEM, "%s: out of memory", origin ? origin : "config");
        r = parse_object(&p, root, config_fields, ELEMENTSOF(config_fields), c);
        if (r < 0)
                return r;
        r = check_config(&p, c);
        if (r < 0)
                return r;
        *ret_config = TAKE_PTR(c);
        return 0;
}

int oci_config_load(const char *path, struct oci_config **ret_config, struct coi_error *err)
{
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r = read_file_at(AT_FDCWD, path, 16 << 20, &data, &len, err);
        if (r < 0)
                return r;
        return oci_config_parse(data, len, path, ret_config, err);
}

int oci_process_parse(const char *json, size_t len, const char *origin, struct oci_process *ret_process,
                      struct coi_error *err)
{
        _cleanup_yajl_ yajl_val root = NULL;
        struct parser p = { .origin = origin, .err = err };
        struct oci_process process = { 0 };

        int r = json_parse(json, len, origin, &root, err);
        if (r < 0)
                return r;
        r = parse_object(&p, root, process_fields, ELEMENTSOF(process_fields), &process);
        if (r >= 0)
                r = check_process(&p, root, &process);
        if (r < 0) {
                oci_process_done(&process);
                return r;
        }
        *ret_process = process;
        return 0;
}

int oci_resources_parse(const char *json, size_t len, const char *origin, struct oci_resources *ret_resources,
                        struct coi_error *err)
{
        _cleanup_yajl_ yajl_val root = NULL;
        struct parser p = { .origin = origin, .err = err };
        struct oci_resources res = { 0 };

        int r = json_parse(json, len, origin, &root, err);
        if (r < 0)
                return r;
        r = parse_object(&p, root, resources_fields, ELEMENTSOF(resources_fields), &res);
        if (r < 0) {
                oci_resources_done(&res);
                return r;
        }
        summarize_device_rules(&res, NULL, 0);
        *ret_resources = res;
        return 0;
}

const char *oci_config_annotation(const struct oci_config *config, const char *key)
{
        for (char **kv = config ? config->annotations : NULL; kv && kv[0] && kv[1]; kv += 2)
                if (streq(kv[0], key))
                        return kv[1];
        return NULL;
}

const char *oci_namespace_name(enum oci_namespace_type type)
{
        return (unsigned)type < _OCI_NS_MAX ? namespace_names[type] : NULL;
}

const char *oci_hook_name(enum oci_hook_kind kind)
{
        return (unsigned)kind < _OCI_HOOK_MAX ? hooks_fields[kind].key : NULL;
}

/* ---- freeing ------------------------------------------------------------------------------------------ */

void oci_process_done(struct oci_process *process)
{
        if (!process)
                return;
        free(process->user.additional_gids);
        free(process->user.username);
        strv_free(process->args);
        strv_free(process->env);
        free(process->cwd);
        for (size_t i = 0; i < process->n_rlimits; i++)
                free(process->rlimits[i].type);
        free(process->rlimits);
        free(process->apparmor_profile);
        free(process->selinux_label);
        memset(process, 0, sizeof(*process));
}

void oci_resources_done(struct oci_resources *resources)
{
        if (!resources)
                return;
        free(resources->cpu_cpus);
        free(resources->cpu_mems);
        free(resources->io_devices);
        strv_free(resources->unified);
        free(resources->device_rules);
        memset(resources, 0, sizeof(*resources));
}

static void seccomp_free(struct oci_seccomp *s)
{
        if (!s)
                return;
        free(s->architectures);
        strv_free(s->flags);
        free(s->listener_path);
        for (size_t i = 0; i < s->n_syscalls; i++) {
                strv_free(s->syscalls[i].names);
                free(s->syscalls[i].args);
        }
        free(s->syscalls);
        free(s);
}

void oci_config_free(struct oci_config *config)
{
        if (!config)
                return;
        free(config->oci_version);
        free(config->root_path);
        free(config->hostname);
        free(config->domainname);
        oci_process_done(&config->process);
        for (size_t i = 0; i < config->n_mounts; i++) {
                struct oci_mount *m = &config->mounts[i];
                free(m->destination);
                free(m->type);
                free(m->source);
                strv_free(m->options);
                free(m->data);
                free(m->uid_mappings);
                free(m->gid_mappings);
        }
        free(config->mounts);
        for (int k = 0; k < _OCI_HOOK_MAX; k++) {
                for (size_t i = 0; i < config->n_hooks[k]; i++) {
                        free(config->hooks[k][i].path);
                        strv_free(config->hooks[k][i].args);
                        strv_free(config->hooks[k][i].env);
                }
                free(config->hooks[k]);
        }
        strv_free(config->annotations);
        struct oci_linux *l = &config->linux_;
        for (int t = 0; t < _OCI_NS_MAX; t++)
                free(l->namespaces[t].path);
        free(l->uid_mappings);
        free(l->gid_mappings);
        for (size_t i = 0; i < l->n_devices; i++)
                free(l->devices[i].path);
        free(l->devices);
        strv_free(l->sysctl);
        strv_free(l->masked_paths);
        strv_free(l->readonly_paths);
        free(l->cgroups_path);
        oci_resources_done(&l->resources);
        seccomp_free(l->seccomp);
        free(l->mount_label);
        free(config);
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
static size_t path_key(struct parser *p, const char *key)
{
        static const char word[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
        if (!*key || key[strspn(key, word)])
                return path_append(p, "[\"%s\"]", key);
        return p->len ? path_append(p, ".%s", key) : path_append(p, "%s", key);
}

static size_t path_index(struct parser *p, size_t i)
{
        return path_append(p, "[%zu]", i);
}

static void path_pop(struct parser *p, size_t mark)
{
        p->len = mark;
        p->path[mark] = '\0';
}

static int fail(struct parser *p, int code, const char *fmt, ...)
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

static int fail_type(struct parser *p, yajl_val v, const char *expected)
{
        return fail(p, EINVAL, "expected %s, got %s", expected, json_type(v));
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

static int json_parse(const char *json, size_t len, const char *origin, yajl_val *ret, struct coi_error *err)
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
