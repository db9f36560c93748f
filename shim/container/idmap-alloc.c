/* idmap-alloc.c — the table of subordinate id blocks handed to system containers (idmap.json under
 * the data dir): allocation, release and lookup under an flock, so two containers never share an id. */
#include <sys/file.h>
#include <sys/stat.h>
#include "idmap-alloc.h"
#include "json-util.h"
#include "util.h"

struct entry {
        char *name;
        struct idmap_allocation a;
};

struct table {
        struct entry *entries;
        size_t n;
};

static void table_done(struct table *t)
{
        for (size_t i = 0; i < t->n; i++)
                free(t->entries[i].name);
        free(t->entries);
        *t = (struct table){ 0 };
}

int idmap_pool_read(const char *file, struct idmap_range *ret_pool, bool *ret_from_file,
                    struct coi_error *err)
{
        *ret_pool = (struct idmap_range){ IDMAP_DEFAULT_START, IDMAP_DEFAULT_COUNT };
        if (ret_from_file)
                *ret_from_file = false;
        _cleanup_fclose_ FILE *f = fopen(file, "re");
        if (!f) {
                if (errno == ENOENT)
                        return 0;
                return coi_error_set(err, errno, "open %s: %m", file);
        }
        char line[512];
        while (fgets(line, sizeof(line), f)) {
                char user[256];
                unsigned long long start, count;
                if (sscanf(line, "%255[^:]:%llu:%llu", user, &start, &count) != 3)
                        continue;
                if (!streq(user, "root") && !streq(user, "0"))
                        continue;
                if (count < IDMAP_RANGE_SIZE || start + count > UINT32_MAX)
                        return coi_error_set(err, ERANGE,
                                             "%s: root's range %llu:%llu is smaller than one container's "
                                             "%u ids or beyond 2^32",
                                             file, start, count, IDMAP_RANGE_SIZE);
                *ret_pool = (struct idmap_range){ (uint32_t)start, (uint32_t)count };
                if (ret_from_file)
                        *ret_from_file = true;
                return 0;
        }
        return 0;
}

static int table_read(int dirfd, struct table *t, struct coi_error *err)
{
        _cleanup_free_ char *data = NULL;
        *t = (struct table){ 0 };
        int r = read_file_at(dirfd, IDMAP_TABLE_FILE, 0, &data, NULL, err);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        _cleanup_(yajl_tree_freep) yajl_val root = NULL;
        r = json_parse(data, yajl_t_any, IDMAP_TABLE_FILE, &root, err);
        if (r < 0)
                return r;
        yajl_val all = json_member(root, "allocations", yajl_t_object);
        if (!all)
                return 0;
        size_t n = all->u.object.len;
        t->entries = calloc(n ? n : 1, sizeof(*t->entries));
        if (!t->entries)
                return coi_error_set(err, ENOMEM, "%s: %m", IDMAP_TABLE_FILE);
        for (size_t i = 0; i < n; i++) {
                yajl_val v = all->u.object.values[i];
                yajl_val uid = json_member(v, "uid", yajl_t_number);
                yajl_val gid = json_member(v, "gid", yajl_t_number);
                if (!uid || !gid || !YAJL_IS_INTEGER(uid) || !YAJL_IS_INTEGER(gid))
                        return coi_error_set(err, EINVAL, "%s: allocation of %s has no uid/gid",
                                             IDMAP_TABLE_FILE, all->u.object.keys[i]);
                struct entry *e = &t->entries[t->n];
                e->name = strdup(all->u.object.keys[i]);
                if (!e->name)
                        return coi_error_set(err, ENOMEM, "%s: %m", IDMAP_TABLE_FILE);
                e->a.uid = (uint32_t)YAJL_GET_INTEGER(uid);
                e->a.gid = (uint32_t)YAJL_GET_INTEGER(gid);
                t->n++;
        }
        return 0;
}

static int table_write(int dirfd, const struct table *t, struct coi_error *err)
{
        _cleanup_(yajl_gen_freep) yajl_gen g = yajl_gen_alloc(NULL);
        if (!g)
                return coi_error_set(err, ENOMEM, "%s: %m", IDMAP_TABLE_FILE);
        yajl_gen_config(g, yajl_gen_beautify, 1);
        bool ok = yajl_gen_map_open(g) == yajl_gen_status_ok && json_gen_str(g, "allocations") &&
                  yajl_gen_map_open(g) == yajl_gen_status_ok;
        for (size_t i = 0; ok && i < t->n; i++) {
                const struct entry *e = &t->entries[i];
                ok = json_gen_str(g, e->name) && yajl_gen_map_open(g) == yajl_gen_status_ok &&
                     json_gen_str(g, "uid") && yajl_gen_integer(g, e->a.uid) == yajl_gen_status_ok &&
                     json_gen_str(g, "gid") && yajl_gen_integer(g, e->a.gid) == yajl_gen_status_ok &&
                     json_gen_str(g, "size") && yajl_gen_integer(g, IDMAP_RANGE_SIZE) == yajl_gen_status_ok &&
                     yajl_gen_map_close(g) == yajl_gen_status_ok;
        }
        ok = ok && yajl_gen_map_close(g) == yajl_gen_status_ok && yajl_gen_map_close(g) == yajl_gen_status_ok;
        const unsigned char *buf;
        size_t len;
        if (!ok || yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
                return coi_error_set(err, ENOMEM, "%s: generate: %m", IDMAP_TABLE_FILE);
        return write_file_atomic_at(dirfd, IDMAP_TABLE_FILE, buf, len, 0644, err);
}

static int lock_table(int dirfd, int *ret_fd, struct coi_error *err)
{
        int fd = openat(dirfd, IDMAP_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return coi_error_set(err, errno, "open %s: %m", IDMAP_LOCK_FILE);
        if (flock(fd, LOCK_EX) < 0) {
                int r = coi_error_set(err, errno, "lock %s: %m", IDMAP_LOCK_FILE);
                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

static bool overlaps(uint32_t a, uint32_t b)
{
        return (uint64_t)a < (uint64_t)b + IDMAP_RANGE_SIZE && (uint64_t)b < (uint64_t)a + IDMAP_RANGE_SIZE;
}

static const struct entry *table_find(const struct table *t, const char *name)
{
        for (size_t i = 0; i < t->n; i++)
                if (streq(t->entries[i].name, name))
                        return &t->entries[i];
        return NULL;
}

int idmap_allocate(int data_dirfd, const char *name, struct idmap_allocation *ret, struct coi_error *err)
{
        struct idmap_range upool, gpool;
        int r = idmap_pool_read("/etc/subuid", &upool, NULL, err);
        if (r < 0)
                return r;
        r = idmap_pool_read("/etc/subgid", &gpool, NULL, err);
        if (r < 0)
                return r;
        _cleanup_close_ int lockfd = -1;
        r = lock_table(data_dirfd, &lockfd, err);
        if (r < 0)
                return r;
        _cleanup_(table_done) struct table t = { 0 };
        r = table_read(data_dirfd, &t, err);
        if (r < 0)
                return r;
        const struct entry *have = table_find(&t, name);
        if (have) {
                *ret = have->a;
                return 0;
        }
        uint32_t slots = (upool.count < gpool.count ? upool.count : gpool.count) / IDMAP_RANGE_SIZE;
        for (uint32_t k = 0; k < slots; k++) {
                struct idmap_allocation a = { upool.start + k * IDMAP_RANGE_SIZE,
                                              gpool.start + k * IDMAP_RANGE_SIZE };
                bool taken = false;
                for (size_t i = 0; i < t.n && !taken; i++)
                        taken = overlaps(a.uid, t.entries[i].a.uid) || overlaps(a.gid, t.entries[i].a.gid);
                if (taken)
                        continue;
                struct entry *grown = realloc(t.entries, (t.n + 1) * sizeof(*t.entries));
                if (!grown)
                        return coi_error_set(err, ENOMEM, "allocate ids for %s: %m", name);
                t.entries = grown;
                t.entries[t.n] = (struct entry){ .name = strdup(name), .a = a };
                if (!t.entries[t.n].name)
                        return coi_error_set(err, ENOMEM, "allocate ids for %s: %m", name);
                t.n++;
                r = table_write(data_dirfd, &t, err);
                if (r < 0)
                        return r;
                *ret = a;
                return 0;
        }
        return coi_error_set(
                err, ENOSPC,
                "no free block of %u subordinate ids for %s: the pool (/etc/subuid, /etc/subgid) "
                "is used up by %zu containers",
                IDMAP_RANGE_SIZE, name, t.n);
}

int idmap_release(int data_dirfd, const char *name, struct coi_error *err)
{
        _cleanup_close_ int lockfd = -1;
        int r = lock_table(data_dirfd, &lockfd, err);
        if (r < 0)
                return r;
        _cleanup_(table_done) struct table t = { 0 };
        r = table_read(data_dirfd, &t, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < t.n; i++) {
                if (!streq(t.entries[i].name, name))
                        continue;
                free(t.entries[i].name);
                memmove(&t.entries[i], &t.entries[i + 1], (t.n - i - 1) * sizeof(*t.entries));
                t.n--;
                return table_write(data_dirfd, &t, err);
        }
        return 0;
}

int idmap_lookup(int data_dirfd, const char *name, struct idmap_allocation *ret, struct coi_error *err)
{
        _cleanup_(table_done) struct table t = { 0 };
        int r = table_read(data_dirfd, &t, err);
        if (r < 0)
                return r;
        const struct entry *e = table_find(&t, name);
        if (!e)
                return coi_error_set(err, ENOENT, "%s: no ids allocated to %s", IDMAP_TABLE_FILE, name);
        *ret = e->a;
        return 0;
}
