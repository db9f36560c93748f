/* sessions.c — the saved-session store under ~/.coi/sessions-<tool>/: atomic saves (staging directory +
 * one rename), metadata.json, --resume lookup, listing and deletion; and the per-tool credential list. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "json-util.h"
#include "base/archive-io.h"
#include "sessions.h"
#include "util.h"
#include "workspace.h"

#define METADATA_FILE "metadata.json"

void session_meta_free(struct session_meta *m)
{
        if (!m)
                return;
        free(m->session_id);
        free(m->container_name);
        free(m->profile_name);
        free(m->workspace);
        free(m->saved_at);
        free(m->tool);
        free(m->created_at);
        free(m);
}

void session_meta_list_free(struct session_meta **list)
{
        for (struct session_meta **p = list; p && *p; p++)
                session_meta_free(*p);
        free(list);
}

char *sessions_dir_for(const char *coi_dir, const char *tool)
{
        return xasprintf("%s/sessions-%s", coi_dir, tool);
}

int session_id_new(char ret[37], struct coi_error *err)
{
        uint8_t b[16];
        if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
                return coi_error_set(err, errno ? errno : EIO, "session id: getrandom: %m");
        b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
        b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* variant 10 */
        snprintf(ret, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
        return 0;
}

int session_id_check(const char *id, struct coi_error *err)
{
        size_t n = id ? strlen(id) : 0;
        bool ok = n > 0 && n <= 128 && id[0] != '.';
        for (size_t i = 0; ok && i < n; i++) {
                char c = id[i];
                ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                     c == '_' || c == '.';
        }
        if (!ok)
                return coi_error_set(err, EINVAL, "invalid session id \"%s\"", id ? id : "");
        return 0;
}

/* ---- time ---- */

/* RFC 3339 in local time as Go's time.Now().Format(time.RFC3339): "Z" for a zero offset. */
static char *rfc3339_now(void)
{
        time_t t = time(NULL);
        struct tm tm;
        if (!localtime_r(&t, &tm))
                return NULL;
        char base[32], off[32];
        strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
        long o = tm.tm_gmtoff;
        if (o == 0)
                strcpy(off, "Z");
        else
                snprintf(off, sizeof(off), "%c%02ld:%02ld", o < 0 ? '-' : '+', labs(o) / 3600,
                         labs(o) % 3600 / 60);
        return xasprintf("%s%s", base, off);
}

/* Seconds since the epoch of an RFC 3339 time; -1 if s is not one. */
static int64_t rfc3339_parse(const char *s)
{
        if (!s)
                return -1;
        struct tm tm = { 0 };
        const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!p)
                return -1;
        if (*p == '.')
                for (p++; *p >= '0' && *p <= '9'; p++)
                        ;
        long off = 0;
        if (*p == 'Z' || *p == 'z') {
                p++;
        } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
                int h, m;
                if (sscanf(p + 1, "%2d:%2d", &h, &m) != 2)
                        return -1;
                off = (h * 3600 + m * 60) * (*p == '-' ? -1 : 1);
                p += 6;
        } else {
                return -1;
        }
        if (*p)
                return -1;
        return (int64_t)timegm(&tm) - off;
}

/* ---- metadata.json ---- */

static int gen_str(yajl_gen g, const char *s)
{
        return yajl_gen_string(g, (const unsigned char *)(s ? s : ""), strlen(s ? s : "")) ==
                               yajl_gen_status_ok
                       ? 0
                       : -ENOMEM;
}

static int meta_to_json(const struct session_meta *m, char **ret, struct coi_error *err)
{
        _cleanup_(yajl_gen_freep) yajl_gen g = yajl_gen_alloc(NULL);
        if (!g)
                return coi_error_set(err, ENOMEM, "session metadata: out of memory");
        yajl_gen_config(g, yajl_gen_beautify, 1);
        yajl_gen_config(g, yajl_gen_indent_string, "  ");
        int r = yajl_gen_map_open(g) == yajl_gen_status_ok ? 0 : -ENOMEM;
        r = r ?: gen_str(g, "session_id") ?: gen_str(g, m->session_id);
        r = r ?: gen_str(g, "container_name") ?: gen_str(g, m->container_name);
        r = r ?: gen_str(g, "persistent");
        r = r ?: (yajl_gen_bool(g, m->persistent) == yajl_gen_status_ok ? 0 : -ENOMEM);
        r = r ?: gen_str(g, "profile_name") ?: gen_str(g, m->profile_name);
        r = r ?: gen_str(g, "workspace") ?: gen_str(g, m->workspace);
        r = r ?: gen_str(g, "saved_at") ?: gen_str(g, m->saved_at);
        r = r ?: gen_str(g, "tool") ?: gen_str(g, m->tool);
        r = r ?: gen_str(g, "slot");
        r = r ?: (yajl_gen_integer(g, m->slot) == yajl_gen_status_ok ? 0 : -ENOMEM);
        r = r ?: gen_str(g, "created_at") ?: gen_str(g, m->created_at);
        r = r ?: (yajl_gen_map_close(g) == yajl_gen_status_ok ? 0 : -ENOMEM);
        const unsigned char *buf;
        size_t len;
        if (r < 0 || yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
                return coi_error_set(err, ENOMEM, "session metadata: cannot generate JSON");
        *ret = strndup((const char *)buf, len);
        return *ret ? 0 : coi_error_set(err, ENOMEM, "session metadata: out of memory");
}

/* A copy of root[key], "" when absent. */
static char *member_or_empty(yajl_val root, const char *key)
{
        const char *s = json_str(root, key);
        return strdup(s ? s : "");
}

static int meta_from_json(const char *json, const char *where, struct session_meta **ret,
                          struct coi_error *err)
{
        char errbuf[256] = "";
        _cleanup_(yajl_tree_freep) yajl_val root = yajl_tree_parse(json, errbuf, sizeof(errbuf));
        if (!root || !YAJL_IS_OBJECT(root))
                return coi_error_set(err, EINVAL, "%s: not a JSON object: %s", where, errbuf);
        _cleanup_(session_meta_freep) struct session_meta *m = calloc(1, sizeof(*m));
        if (!m)
                return coi_error_set(err, ENOMEM, "%s: out of memory", where);
        m->session_id = member_or_empty(root, "session_id");
        m->container_name = member_or_empty(root, "container_name");
        m->profile_name = member_or_empty(root, "profile_name");
        m->workspace = member_or_empty(root, "workspace");
        m->saved_at = member_or_empty(root, "saved_at");
        m->tool = member_or_empty(root, "tool");
        m->created_at = member_or_empty(root, "created_at");
        if (!m->session_id || !m->container_name || !m->profile_name || !m->workspace || !m->saved_at ||
            !m->tool || !m->created_at)
                return coi_error_set(err, ENOMEM, "%s: out of memory", where);
        if (!*m->session_id)
                return coi_error_set(err, EINVAL, "%s: \"session_id\" is missing", where);
        const char *pp[] = { "persistent", NULL }, *sp[] = { "slot", NULL };
        m->persistent = YAJL_IS_TRUE(yajl_tree_get(root, pp, yajl_t_true));
        yajl_val slot = yajl_tree_get(root, sp, yajl_t_number);
        if (slot && YAJL_IS_INTEGER(slot) && YAJL_GET_INTEGER(slot) >= 0 && YAJL_GET_INTEGER(slot) <= INT_MAX)
                m->slot = (int)YAJL_GET_INTEGER(slot);
        *ret = TAKE_PTR(m);
        return 0;
}

static int load_at(int dirfd, const char *dir, const char *id, struct session_meta **ret,
                   int64_t *ret_mtime_ns, struct coi_error *err)
{
        _cleanup_free_ char *rel = xasprintf("%s/" METADATA_FILE, id);
        _cleanup_free_ char *where = xasprintf("%s/%s/" METADATA_FILE, dir, id);
        if (!rel || !where)
                return coi_error_set(err, ENOMEM, "session %s: out of memory", id);
        struct stat st;
        if (fstatat(dirfd, id, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return coi_error_set(err, errno, "%s: %m", where);
        if (!S_ISDIR(st.st_mode))
                return coi_error_set(err, ENOTDIR, "session %s in %s is not a directory", id, dir);
        if (fstatat(dirfd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return coi_error_set(err, errno, "%s: %m", where);
        if (!S_ISREG(st.st_mode))
                return coi_error_set(err, EINVAL, "%s is not a regular file", where);
        _cleanup_free_ char *data = NULL;
        int r = read_file_at(dirfd, rel, 1 << 20, &data, NULL, err);
        if (r < 0)
                return r;
        if (ret_mtime_ns)
                *ret_mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
        return meta_from_json(data, where, ret, err);
}

int session_load(const char *dir, const char *id, struct session_meta **ret, struct coi_error *err)
{
        int r = session_id_check(id, err);
        if (r < 0)
                return r;
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return coi_error_set(err, errno, "%s: %m", dir);
        return load_at(dfd, dir, id, ret, NULL, err);
}

/* ---- saving ---- */

int session_stage_begin(const char *dir, const char *id, char **ret_staging, struct coi_error *err)
{
        int r = session_id_check(id, err);
        if (r < 0)
                return r;
        /* 0700: the saved state holds the tool's credentials. */
        if ((r = mkdir_p_at(AT_FDCWD, dir, 0700, err)) < 0)
                return r;
        _cleanup_free_ char *tmpl = xasprintf("%s/.tmp-%s-XXXXXX", dir, id);
        if (!tmpl)
                return coi_error_set(err, ENOMEM, "session %s: out of memory", id);
        if (!mkdtemp(tmpl))
                return coi_error_set(err, errno, "create %s: %m", tmpl);
        *ret_staging = TAKE_PTR(tmpl);
        return 0;
}

void session_stage_abort(const char *staging)
{
        if (!staging)
                return;
        _cleanup_free_ char *copy = strdup(staging);
        if (!copy)
                return;
        char *slash = strrchr(copy, '/');
        if (!slash)
                return;
        *slash = '\0';
        _cleanup_close_ int pfd = open(*copy ? copy : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct coi_error e = { 0 };
        if (pfd >= 0)
                remove_tree_at(pfd, slash + 1, &e);
}

static int fsync_path_at(int dirfd, const char *name)
{
        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 || fsync(fd) < 0)
                return -errno;
        return 0;
}

/* Fills created_at/saved_at of a copy of meta: created_at from the session being replaced (if any). */
static int meta_for_save(int dfd, const char *dir, const struct session_meta *meta, char **ret_json,
                         struct coi_error *err)
{
        _cleanup_(session_meta_freep) struct session_meta *old = NULL;
        struct coi_error ignore = { 0 };
        if (load_at(dfd, dir, meta->session_id, &old, NULL, &ignore) < 0)
                old = NULL;
        _cleanup_free_ char *now = rfc3339_now();
        if (!now)
                return coi_error_set(err, ENOMEM, "session %s: out of memory", meta->session_id);
        struct session_meta m = *meta;
        m.saved_at = now;
        m.created_at = old && old->created_at && *old->created_at ? old->created_at
                       : meta->created_at && *meta->created_at    ? meta->created_at
                                                                  : now;
        return meta_to_json(&m, ret_json, err);
}

int session_stage_commit(const char *dir, const char *staging, const struct session_meta *meta,
                         struct coi_error *err)
{
        int r = session_id_check(meta->session_id, err);
        if (r < 0)
                return r;
        const char *name = strrchr(staging, '/');
        _cleanup_free_ char *expect = xasprintf("%s/.tmp-%s-", dir, meta->session_id);
        if (!expect)
                return coi_error_set(err, ENOMEM, "session %s: out of memory", meta->session_id);
        if (!name || !startswith(staging, expect) || strchr(staging + strlen(expect), '/'))
                return coi_error_set(err, EINVAL, "%s is not a staging directory of session %s in %s",
                                     staging, meta->session_id, dir);
        name++;
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return coi_error_set(err, errno, "%s: %m", dir);
        _cleanup_close_ int sfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (sfd < 0)
                return coi_error_set(err, errno, "%s: %m", staging);

        _cleanup_free_ char *json = NULL;
        if ((r = meta_for_save(dfd, dir, meta, &json, err)) < 0)
                return r;
        if ((r = write_file_atomic_at(sfd, METADATA_FILE, json, strlen(json), 0600, err)) < 0)
                return r;
        if (fsync(sfd) < 0)
                return coi_error_set(err, errno, "sync %s: %m", staging);

        /* The one step that publishes it: exchange with the old session, or a plain rename if there
         * is none. Either way <dir>/<id> is always a complete session. */
        if (renameat2(dfd, name, dfd, meta->session_id, RENAME_EXCHANGE) == 0) {
                struct coi_error ignore = { 0 };
                remove_tree_at(dfd, name, &ignore); /* now the previous state */
        } else if (errno == ENOENT) {
                if (renameat2(dfd, name, dfd, meta->session_id, RENAME_NOREPLACE) < 0)
                        return coi_error_set(err, errno, "rename %s to %s/%s: %m", staging, dir,
                                             meta->session_id);
        } else if (errno == EINVAL) {
                /* A filesystem without RENAME_EXCHANGE: move the old session aside first. For a moment
                 * there is no <id> (never a half one); .old-* is what sessions_remove_stale() deletes. */
                _cleanup_free_ char *old = xasprintf(".old-%s-%s", meta->session_id,
                                                     name + strlen(".tmp-") + strlen(meta->session_id) + 1);
                if (!old)
                        return coi_error_set(err, ENOMEM, "session %s: out of memory", meta->session_id);
                if (renameat(dfd, meta->session_id, dfd, old) < 0)
                        return coi_error_set(err, errno, "rename %s/%s aside: %m", dir, meta->session_id);
                if (renameat(dfd, name, dfd, meta->session_id) < 0) {
                        int saved = errno;
                        (void)renameat(dfd, old, dfd, meta->session_id);
                        return coi_error_set(err, saved, "rename %s to %s/%s: %m", staging, dir,
                                             meta->session_id);
                }
                struct coi_error ignore = { 0 };
                remove_tree_at(dfd, old, &ignore);
        } else {
                return coi_error_set(err, errno, "exchange %s with %s/%s: %m", staging, dir,
                                     meta->session_id);
        }
        if (fsync(dfd) < 0)
                return coi_error_set(err, errno, "sync %s: %m", dir);
        return 0;
}

int session_save_metadata(const char *dir, const struct session_meta *meta, struct coi_error *err)
{
        int r = session_id_check(meta->session_id, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *sdir = xasprintf("%s/%s", dir, meta->session_id);
        if (!sdir)
                return coi_error_set(err, ENOMEM, "session %s: out of memory", meta->session_id);
        if ((r = mkdir_p_at(AT_FDCWD, sdir, 0700, err)) < 0)
                return r;
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return coi_error_set(err, errno, "%s: %m", dir);
        _cleanup_close_ int sfd =
                openat(dfd, meta->session_id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (sfd < 0)
                return coi_error_set(err, errno, "%s: %m", sdir);
        _cleanup_free_ char *json = NULL;
        if ((r = meta_for_save(dfd, dir, meta, &json, err)) < 0)
                return r;
        r = write_file_atomic_at(sfd, METADATA_FILE, json, strlen(json), 0600, err);
        if (r == 0)
                (void)fsync_path_at(dfd, meta->session_id);
        return r;
}

int sessions_remove_stale(const char *dir, int64_t min_age_sec, struct coi_error *err)
{
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return errno == ENOENT ? 0 : coi_error_set(err, errno, "%s: %m", dir);
        _cleanup_closedir_ DIR *d = fdopendir(dup(dfd));
        if (!d)
                return coi_error_set(err, errno, "%s: %m", dir);
        time_t now = time(NULL);
        int r = 0;
        for (struct dirent *de; r == 0 && (de = readdir(d));) {
                if (!startswith(de->d_name, ".tmp-") && !startswith(de->d_name, ".old-"))
                        continue;
                struct stat st;
                if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                if ((int64_t)(now - st.st_mtime) < min_age_sec)
                        continue;
                r = remove_tree_at(dfd, de->d_name, err);
        }
        return r;
}

/* ---- finding ---- */

struct entry {
        struct session_meta *m;
        int64_t saved;
        int64_t mtime_ns;
};

static int cmp_newest_first(const void *a, const void *b)
{
        const struct entry *x = a, *y = b;
        if (x->saved != y->saved)
                return x->saved > y->saved ? -1 : 1;
        if (x->mtime_ns != y->mtime_ns)
                return x->mtime_ns > y->mtime_ns ? -1 : 1;
        return strcmp(x->m->session_id, y->m->session_id);
}

int sessions_list(const char *dir, struct session_meta ***ret, size_t *ret_n, struct coi_error *err)
{
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 && errno != ENOENT)
                return coi_error_set(err, errno, "%s: %m", dir);
        struct entry *v = NULL;
        size_t n = 0;
        int r = 0;
        _cleanup_closedir_ DIR *d = dfd >= 0 ? fdopendir(dup(dfd)) : NULL;
        if (dfd >= 0 && !d)
                r = coi_error_set(err, errno, "%s: %m", dir);
        for (struct dirent *de; d && r == 0 && (de = readdir(d));) {
                if (de->d_name[0] == '.') /* ".", "..", and staging/stale directories */
                        continue;
                struct coi_error ignore = { 0 };
                if (session_id_check(de->d_name, &ignore) < 0)
                        continue;
                struct session_meta *m = NULL;
                int64_t mt = 0;
                if (load_at(dfd, dir, de->d_name, &m, &mt, &ignore) < 0)
                        continue; /* no or unreadable metadata: not a session */
                struct entry *nv = realloc(v, (n + 1) * sizeof(*v));
                if (!nv) {
                        session_meta_free(m);
                        r = coi_error_set(err, ENOMEM, "%s: out of memory", dir);
                        break;
                }
                v = nv;
                v[n++] = (struct entry){ .m = m, .saved = rfc3339_parse(m->saved_at), .mtime_ns = mt };
        }
        struct session_meta **out = r == 0 ? calloc(n + 1, sizeof(*out)) : NULL;
        if (r == 0 && !out)
                r = coi_error_set(err, ENOMEM, "%s: out of memory", dir);
        if (r == 0) {
                qsort(v, n, sizeof(*v), cmp_newest_first);
                for (size_t i = 0; i < n; i++)
                        out[i] = v[i].m;
                *ret = out;
                *ret_n = n;
        } else {
                for (size_t i = 0; i < n; i++)
                        session_meta_free(v[i].m);
        }
        free(v);
        return r;
}

bool session_matches_workspace(const struct session_meta *meta, const char *workspace_path)
{
        if (meta->workspace && *meta->workspace)
                return streq(meta->workspace, workspace_path);
        /* code-on-incus compares the hash in the container name: <prefix><hash>-<slot>. */
        const char *name = meta->container_name ? meta->container_name : "";
        const char *dash = strrchr(name, '-');
        if (!dash || dash - name < 8)
                return false;
        char want[9];
        workspace_hash(workspace_path, want);
        return strncmp(dash - 8, want, 8) == 0;
}

int session_find_latest(const char *dir, const char *workspace_path, struct session_meta **ret,
                        struct coi_error *err)
{
        _cleanup_(session_meta_list_freep) struct session_meta **list = NULL;
        size_t n = 0;
        int r = sessions_list(dir, &list, &n, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (session_matches_workspace(list[i], workspace_path)) {
                        *ret = TAKE_PTR(list[i]);
                        /* keep the list NULL-terminated for the cleanup: shift the rest down */
                        memmove(&list[i], &list[i + 1], (n - i) * sizeof(*list));
                        return 0;
                }
        return coi_error_set(err, ENOENT, "no saved session for workspace %s in %s", workspace_path, dir);
}

int session_find(const char *dir, const char *id, const char *workspace_path, struct session_meta **ret,
                 struct coi_error *err)
{
        _cleanup_(session_meta_freep) struct session_meta *m = NULL;
        int r = session_id_check(id, err);
        if (r < 0)
                return r;
        struct coi_error lerr = { 0 };
        r = session_load(dir, id, &m, &lerr);
        if (r == -ENOENT)
                return coi_error_set(err, ENOENT,
                                     "session %s not found in %s (coi list shows saved sessions)", id, dir);
        if (r < 0) {
                *err = lerr;
                return r;
        }
        if (!session_matches_workspace(m, workspace_path))
                return coi_error_set(err, EACCES, "session %s belongs to workspace %s, not %s", id,
                                     m->workspace && *m->workspace ? m->workspace : m->container_name,
                                     workspace_path);
        *ret = TAKE_PTR(m);
        return 0;
}

int session_delete(const char *dir, const char *id, struct coi_error *err)
{
        int r = session_id_check(id, err);
        if (r < 0)
                return r;
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return coi_error_set(err, errno, "%s: %m", dir);
        struct stat st;
        if (fstatat(dfd, id, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return coi_error_set(err, errno, "session %s in %s: %m", id, dir);
        return remove_tree_at(dfd, id, err);
}

int sessions_delete_all(const char *dir, size_t *ret_n, struct coi_error *err)
{
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        size_t n = 0;
        if (dfd < 0) {
                if (errno != ENOENT)
                        return coi_error_set(err, errno, "%s: %m", dir);
                if (ret_n)
                        *ret_n = 0;
                return 0;
        }
        _cleanup_closedir_ DIR *d = fdopendir(dup(dfd));
        if (!d)
                return coi_error_set(err, errno, "%s: %m", dir);
        int r = 0;
        for (struct dirent *de; r == 0 && (de = readdir(d));) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                r = remove_tree_at(dfd, de->d_name, err);
                if (r == 0 && de->d_name[0] != '.')
                        n++;
        }
        if (r == 0 && ret_n)
                *ret_n = n;
        return r;
}

/* ---- credentials ---- */

void credential_files_free(struct credential_file *v, size_t n)
{
        for (size_t i = 0; v && i < n; i++) {
                free(v[i].host);
                free(v[i].container_rel);
        }
        free(v);
}

int credential_files(const char *tool, const char *home, struct credential_file **ret, size_t *ret_n,
                     struct coi_error *err)
{
        static const struct {
                const char *tool;
                const char *rel;
                bool secret;
        } table[] = {
                /* Claude Code: the config directory's essential files (code-on-incus copies these four)
                 * and the state file next to it. Conversations, projects/, todos/ stay on the host. */
                { "claude", ".claude/.credentials.json", true },
                { "claude", ".claude/config.yml", false },
                { "claude", ".claude/settings.json", false },
                { "claude", ".claude/CLAUDE.md", false },
                { "claude", ".claude.json", true },
                /* opencode: its XDG config directory and its login tokens (XDG data directory). */
                { "opencode", ".config/opencode/opencode.json", false },
                { "opencode", ".config/opencode/opencode.jsonc", false },
                { "opencode", ".config/opencode/tui.json", false },
                { "opencode", ".local/share/opencode/auth.json", true },
        };
        bool known = false;
        struct credential_file *v = NULL;
        size_t n = 0;
        int r = 0;
        for (size_t i = 0; i < ELEMENTSOF(table) && r == 0; i++) {
                if (!streq(table[i].tool, tool))
                        continue;
                known = true;
                struct credential_file *nv = realloc(v, (n + 1) * sizeof(*v));
                if (!nv) {
                        r = -ENOMEM;
                        break;
                }
                v = nv;
                v[n] = (struct credential_file){ .host = xasprintf("%s/%s", home, table[i].rel),
                                                 .container_rel = strdup(table[i].rel),
                                                 .secret = table[i].secret };
                if (!v[n].host || !v[n].container_rel)
                        r = -ENOMEM;
                n++;
        }
        if (r < 0) {
                credential_files_free(v, n);
                return coi_error_set(err, ENOMEM, "credential files: out of memory");
        }
        if (!known)
                return coi_error_set(err, EINVAL, "unknown tool \"%s\" (known: claude, opencode)", tool);
        *ret = v;
        *ret_n = n;
        return 0;
}
