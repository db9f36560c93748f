/* container-metadata.c — a system container's metadata.json (name, image, created, ephemeral, ids) and the
 * container_info built from it with the live status: read, write, info, list, JSON output. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "container-internal.h"
#include "container-limits.h"
#include "util.h"

void container_info_free(struct container_info *info)
{
        if (!info)
                return;
        free(info->name);
        free(info->image);
        free(info->created);
        free(info->dir);
        free(info->cgroup);
        free(info->limits);
        free(info);
}

void container_info_list_free(struct container_info **list)
{
        for (size_t i = 0; list && list[i]; i++)
                container_info_free(list[i]);
        free(list);
}

static bool gen_info(yajl_gen g, const struct container_info *m, bool live)
{
        bool ok = yajl_gen_map_open(g) == yajl_gen_status_ok && json_gen_str(g, "name") &&
                  json_gen_str(g, m->name) && json_gen_str(g, "image") && json_gen_str(g, m->image) &&
                  json_gen_str(g, "created") && json_gen_str(g, m->created) && json_gen_str(g, "ephemeral") &&
                  yajl_gen_bool(g, m->ephemeral) == yajl_gen_status_ok && json_gen_str(g, "uid") &&
                  yajl_gen_integer(g, m->ids.uid) == yajl_gen_status_ok && json_gen_str(g, "gid") &&
                  yajl_gen_integer(g, m->ids.gid) == yajl_gen_status_ok && json_gen_str(g, "ids") &&
                  yajl_gen_integer(g, IDMAP_RANGE_SIZE) == yajl_gen_status_ok;
        if (live)
                ok = ok && json_gen_str(g, "status") && json_gen_str(g, m->status) &&
                     json_gen_str(g, "pid") && yajl_gen_integer(g, m->pid) == yajl_gen_status_ok &&
                     json_gen_str(g, "dir") && json_gen_str(g, m->dir) && json_gen_str(g, "cgroup") &&
                     (m->cgroup ? json_gen_str(g, m->cgroup) : yajl_gen_null(g) == yajl_gen_status_ok);
        if (live && m->n_limits) {
                ok = ok && json_gen_str(g, "limits") && yajl_gen_array_open(g) == yajl_gen_status_ok;
                for (size_t i = 0; ok && i < m->n_limits; i++)
                        ok = yajl_gen_map_open(g) == yajl_gen_status_ok && json_gen_str(g, "resource") &&
                             json_gen_str(g, m->limits[i].resource) && json_gen_str(g, "used") &&
                             json_gen_str(g, m->limits[i].used) && json_gen_str(g, "limit") &&
                             json_gen_str(g, m->limits[i].limit) &&
                             yajl_gen_map_close(g) == yajl_gen_status_ok;
                ok = ok && yajl_gen_array_close(g) == yajl_gen_status_ok;
        }
        return ok && yajl_gen_map_close(g) == yajl_gen_status_ok;
}

int container_metadata_write(const struct container_store *s, const struct container_info *m,
                             struct coi_error *err)
{
        _cleanup_(yajl_gen_freep) yajl_gen g = yajl_gen_alloc(NULL);
        if (!g)
                return coi_error_set(err, ENOMEM, "metadata of %s: %m", m->name);
        yajl_gen_config(g, yajl_gen_beautify, 1);
        const unsigned char *buf;
        size_t len;
        if (!gen_info(g, m, false) || yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
                return coi_error_set(err, ENOMEM, "metadata of %s: %m", m->name);
        _cleanup_free_ char *path = xasprintf("%s/%s", m->name, CONTAINER_METADATA);
        if (!path)
                return coi_error_set(err, ENOMEM, "metadata of %s: %m", m->name);
        return write_file_atomic_at(s->cdirfd, path, buf, len, 0644, err);
}

/* The recorded metadata plus the live status from the runtime. */
int container_metadata_read(const struct container_store *s, const char *name, struct container_info **ret,
                            struct coi_error *err)
{
        _cleanup_free_ char *path = xasprintf("%s/%s", name, CONTAINER_METADATA);
        _cleanup_free_ char *data = NULL;
        if (!path)
                return coi_error_set(err, ENOMEM, "metadata of %s: %m", name);
        int r = read_file_at(s->cdirfd, path, 1 << 20, &data, NULL, err);
        if (r == -ENOENT) {
                struct stat st;
                if (fstatat(s->cdirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return coi_error_set(err, ENOENT, "container %s not found", name);
                return coi_error_set(err, ENOENT, "container %s has no %s (an interrupted launch: delete it)",
                                     name, CONTAINER_METADATA);
        }
        if (r < 0)
                return r;
        _cleanup_free_ char *what = xasprintf("%s/containers/%s", s->path, path);
        _cleanup_(yajl_tree_freep) yajl_val root = NULL;
        r = json_parse(data, yajl_t_object, what ? what : path, &root, err);
        if (r < 0)
                return r;
        _cleanup_(container_info_freep) struct container_info *m = calloc(1, sizeof(*m));
        if (!m)
                return coi_error_set(err, ENOMEM, "metadata of %s: %m", name);
        const char *ephemeral_path[] = { "ephemeral", NULL };
        yajl_val eph = yajl_tree_get(root, ephemeral_path, yajl_t_any);
        m->name = strdup(name);
        m->image = strdup(json_str(root, "image") ?: "");
        m->created = strdup(json_str(root, "created") ?: "");
        m->dir = container_dir(s, name);
        m->ephemeral = eph && YAJL_IS_TRUE(eph);
        long long uid = json_int(root, "uid", -1), gid = json_int(root, "gid", -1);
        if (!m->name || !m->image || !m->created || !m->dir)
                return coi_error_set(err, ENOMEM, "metadata of %s: %m", name);
        if (uid < 0 || gid < 0 || uid > UINT32_MAX || gid > UINT32_MAX)
                return coi_error_set(err, EINVAL, "%s/containers/%s: no valid uid/gid", s->path, path);
        m->ids = (struct idmap_allocation){ (uint32_t)uid, (uint32_t)gid };
        m->status = "stopped";
        struct coi_state st = { 0 };
        struct coi_error e = { 0 };
        if (coi_container_state((struct coi_context *)&s->ctx, name, &st, &e) == 0) {
                m->status = coi_status_to_string(st.status);
                m->pid = st.status == COI_STATUS_STOPPED ? 0 : st.pid;
                if (st.cgroup_path[0])
                        m->cgroup = strdup(st.cgroup_path);
                coi_state_free(&st);
        }
        *ret = TAKE_PTR(m);
        return 0;
}

int container_info_get(struct container_store *s, const char *name, struct container_info **ret,
                       struct coi_error *err)
{
        int r = container_validate_name(name, err);
        _cleanup_(container_info_freep) struct container_info *m = NULL;
        r = r ?: container_metadata_read(s, name, &m, err);
        if (r < 0)
                return r;
        struct container_limit_row rows[CONTAINER_LIMIT_ROWS];
        size_t n = 0;
        r = container_limits_usage(s->cdirfd, name, m->cgroup, m->pid, rows, &n, err);
        if (r < 0)
                return r;
        if (n) {
                m->limits = calloc(n, sizeof(*rows));
                if (!m->limits)
                        return coi_error_set(err, ENOMEM, "limits of %s: %m", name);
                memcpy(m->limits, rows, n * sizeof(*rows));
                m->n_limits = n;
        }
        *ret = TAKE_PTR(m);
        return 0;
}

static int compare_info(const void *a, const void *b)
{
        return strcmp((*(struct container_info *const *)a)->name, (*(struct container_info *const *)b)->name);
}

int container_list(struct container_store *s, struct container_info ***ret_list, struct coi_error *err)
{
        int fd = openat(s->cdirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return coi_error_set(err, errno, "open %s/containers: %m", s->path);
        _cleanup_closedir_ DIR *d = fdopendir(fd);
        if (!d) {
                int r = coi_error_set(err, errno, "open %s/containers: %m", s->path);
                close(fd);
                return r;
        }
        struct container_info **list = calloc(1, sizeof(*list));
        size_t n = 0;
        int r = list ? 0 : coi_error_set(err, ENOMEM, "list containers: %m");
        struct dirent *de;
        while (r == 0 && (de = readdir(d))) {
                if (de->d_name[0] == '.' || container_validate_name(de->d_name, NULL) < 0)
                        continue;
                struct container_info *m = NULL;
                struct coi_error e = { 0 };
                if (container_metadata_read(s, de->d_name, &m, &e) < 0)
                        continue; /* an interrupted launch or a vanished ephemeral container */
                struct container_info **grown = realloc(list, (n + 2) * sizeof(*list));
                if (!grown) {
                        container_info_free(m);
                        r = coi_error_set(err, ENOMEM, "list containers: %m");
                        break;
                }
                list = grown;
                list[n++] = m;
                list[n] = NULL;
        }
        if (r < 0) {
                container_info_list_free(list);
                return r;
        }
        qsort(list, n, sizeof(*list), compare_info);
        *ret_list = list;
        return 0;
}

int container_info_json(struct container_info *const *infos, size_t n, bool list, char **ret_json,
                        struct coi_error *err)
{
        _cleanup_(yajl_gen_freep) yajl_gen g = yajl_gen_alloc(NULL);
        if (!g)
                return coi_error_set(err, ENOMEM, "container JSON: %m");
        yajl_gen_config(g, yajl_gen_beautify, 1);
        bool ok = !list || yajl_gen_array_open(g) == yajl_gen_status_ok;
        for (size_t i = 0; ok && i < n; i++)
                ok = gen_info(g, infos[i], true);
        ok = ok && (!list || yajl_gen_array_close(g) == yajl_gen_status_ok);
        const unsigned char *buf;
        size_t len;
        if (!ok || yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
                return coi_error_set(err, ENOMEM, "container JSON: %m");
        *ret_json = strndup((const char *)buf, len);
        return *ret_json ? 0 : coi_error_set(err, ENOMEM, "container JSON: %m");
}

/* The usual opening of a verb on one container: a valid name, its lock held, its metadata read. */
int lock_and_read(struct container_store *s, const char *name, int *ret_lock, struct container_info **ret_m,
                  struct coi_error *err)
{
        int r = container_validate_name(name, err);
        r = r ?: container_lock(s, name, ret_lock, err);
        return r ?: container_metadata_read(s, name, ret_m, err);
}
