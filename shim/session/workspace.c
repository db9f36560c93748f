/* workspace.c — resolving `-w` to the workspace, its owner, container name and mount target, and the
 * protected paths as plain (host, container, kind, must_create) entries. Mounts nothing, creates nothing. */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/sha256.h"
#include "util.h"
#include "workspace.h"

extern char **environ;

void workspace_free(struct workspace *ws)
{
        if (!ws)
                return;
        free(ws->path);
        free(ws->real_path);
        free(ws);
}

/* Go's filepath.Clean for the absolute case: "//" and "." dropped, ".." pops (never above "/"). */
static char *clean_abs(const char *path)
{
        size_t len = strlen(path);
        char *out = malloc(len + 2);
        if (!out)
                return NULL;
        size_t o = 0;
        const char *p = path;
        while (*p) {
                while (*p == '/')
                        p++;
                const char *s = p;
                while (*p && *p != '/')
                        p++;
                size_t n = (size_t)(p - s);
                if (n == 0 || (n == 1 && s[0] == '.'))
                        continue;
                if (n == 2 && s[0] == '.' && s[1] == '.') {
                        while (o > 0 && out[o - 1] != '/')
                                o--;
                        if (o > 0)
                                o--; /* the '/' before the popped component */
                        continue;
                }
                out[o++] = '/';
                memcpy(out + o, s, n);
                o += n;
        }
        if (o == 0)
                out[o++] = '/';
        out[o] = '\0';
        return out;
}

char *workspace_abs_path(const char *path, const char *cwd)
{
        if (!path || !*path)
                path = ".";
        if (path[0] == '/')
                return clean_abs(path);
        _cleanup_free_ char *joined = xasprintf("%s/%s", cwd, path);
        return joined ? clean_abs(joined) : NULL;
}

/* Go's os.Getwd: $PWD when it is absolute and names the current directory, else getcwd(). */
static char *current_dir(char *const *env)
{
        const char *pwd = env_get(env, "PWD");
        struct stat a, b;
        if (pwd && pwd[0] == '/' && stat(pwd, &a) == 0 && stat(".", &b) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino)
                return strdup(pwd);
        return getcwd(NULL, 0);
}

static int parse_id(const char *s, unsigned long *ret)
{
        if (!s || !*s)
                return -EINVAL;
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || *end || s[0] == '-' || v >= (unsigned long)UINT32_MAX)
                return -EINVAL;
        *ret = v;
        return 0;
}

int workspace_owner(char *const *env, uid_t uid, gid_t gid, const struct stat *dir, uid_t *ret_uid,
                    gid_t *ret_gid, struct coi_error *err)
{
        const char *su = env_get(env, "SUDO_UID"), *sg = env_get(env, "SUDO_GID");
        /* Only root started through sudo acts for another user; an ordinary user's SUDO_UID is just text. */
        if (uid == 0 && su && *su) {
                unsigned long u, g;
                if (parse_id(su, &u) < 0)
                        return coi_error_set(err, EINVAL, "SUDO_UID=%s is not a user id", su);
                if (sg && *sg) {
                        if (parse_id(sg, &g) < 0)
                                return coi_error_set(err, EINVAL, "SUDO_GID=%s is not a group id", sg);
                } else {
                        g = gid;
                }
                *ret_uid = (uid_t)u;
                *ret_gid = (gid_t)g;
                return 0;
        }
        if (uid == 0 && dir && dir->st_uid != 0) {
                /* Root without sudo in someone else's directory: act for its owner, so what the agent
                 * writes belongs to them and the workspace's own files are the agent's. */
                *ret_uid = dir->st_uid;
                *ret_gid = dir->st_gid;
                return 0;
        }
        *ret_uid = uid;
        *ret_gid = gid;
        return 0;
}

int workspace_resolve(const char *arg, const struct workspace_options *opts, struct workspace **ret,
                      struct coi_error *err)
{
        struct workspace_options none = { 0 };
        if (!opts)
                opts = &none;
        if (!arg || !*arg)
                arg = ".";

        _cleanup_free_ char *cwd = opts->cwd ? strdup(opts->cwd) : current_dir(opts->environ);
        if (!cwd)
                return coi_error_set(err, errno ? errno : ENOMEM, "current directory: %m");

        _cleanup_(workspace_freep) struct workspace *ws = calloc(1, sizeof(*ws));
        if (!ws)
                return coi_error_set(err, ENOMEM, "workspace %s: out of memory", arg);
        ws->path = workspace_abs_path(arg, cwd);
        if (!ws->path)
                return coi_error_set(err, ENOMEM, "workspace %s: out of memory", arg);

        struct stat st;
        if (stat(ws->path, &st) < 0)
                return coi_error_set(err, errno, "workspace %s: %m", ws->path);
        if (!S_ISDIR(st.st_mode))
                return coi_error_set(err, ENOTDIR, "workspace %s is not a directory", ws->path);
        ws->real_path = realpath(ws->path, NULL);
        if (!ws->real_path)
                return coi_error_set(err, errno, "workspace %s: %m", ws->path);

        uid_t uid = opts->set_ids ? opts->uid : getuid();
        gid_t gid = opts->set_ids ? opts->gid : getgid();
        int r = workspace_owner(opts->environ, uid, gid, &st, &ws->uid, &ws->gid, err);
        if (r < 0)
                return r;
        workspace_hash(ws->path, ws->hash);
        *ret = TAKE_PTR(ws);
        return 0;
}

void workspace_hash(const char *path, char ret[9])
{
        struct sha256_ctx c;
        char hex[65];
        sha256_init(&c);
        sha256_update(&c, path, strlen(path));
        sha256_final_hex(&c, hex);
        memcpy(ret, hex, 8);
        ret[8] = '\0';
}

const char *workspace_container_prefix(char *const *env)
{
        const char *p = env_get(env, "COI_CONTAINER_PREFIX");
        return p && *p ? p : WORKSPACE_PREFIX_DEFAULT;
}

char *workspace_container_name(const char *path, int slot, const char *prefix)
{
        char hash[9];
        workspace_hash(path, hash);
        return xasprintf("%s%s-%d", prefix ? prefix : workspace_container_prefix(NULL), hash, slot);
}

int workspace_parse_container_name(const char *name, const char *prefix, char ret_hash[9], int *ret_slot)
{
        if (!prefix)
                prefix = workspace_container_prefix(NULL);
        if (!startswith(name, prefix))
                return -EINVAL;
        const char *h = name + strlen(prefix);
        for (int i = 0; i < 8; i++)
                if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
                        return -EINVAL;
        if (h[8] != '-' || h[9] < '0' || h[9] > '9')
                return -EINVAL;
        char *end;
        errno = 0;
        long slot = strtol(h + 9, &end, 10);
        if (errno || *end || slot < 0 || slot > INT_MAX)
                return -EINVAL;
        memcpy(ret_hash, h, 8);
        ret_hash[8] = '\0';
        *ret_slot = (int)slot;
        return 0;
}

static bool path_under(const char *path, const char *dir)
{
        size_t n = strlen(dir);
        if (n == 1 && dir[0] == '/')
                return true;
        return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int workspace_mount_target(const struct workspace *ws, bool preserve_path, char **ret, struct coi_error *err)
{
        static const char *const system_dirs[] = { "/etc", "/bin",  "/sbin", "/usr", "/root", "/boot",
                                                   "/sys", "/proc", "/dev",  "/lib", "/lib64" };
        if (!preserve_path) {
                *ret = strdup(WORKSPACE_CONTAINER_ROOT);
        } else {
                if (streq(ws->path, "/"))
                        return coi_error_set(err, EINVAL,
                                             "preserve_workspace_path: workspace / cannot be "
                                             "mounted at its own path");
                for (size_t i = 0; i < ELEMENTSOF(system_dirs); i++)
                        if (path_under(ws->path, system_dirs[i]))
                                return coi_error_set(err, EINVAL,
                                                     "preserve_workspace_path: workspace %s lies under %s "
                                                     "and cannot be mounted at its own path",
                                                     ws->path, system_dirs[i]);
                *ret = strdup(ws->path);
        }
        return *ret ? 0 : coi_error_set(err, ENOMEM, "workspace mount target: out of memory");
}

/* ---- protected paths ---- */

void protected_list_free(struct protected_list *l)
{
        if (!l)
                return;
        for (size_t i = 0; i < l->n; i++) {
                free(l->v[i].rel);
                free(l->v[i].host);
                free(l->v[i].container);
                free(l->v[i].first_missing);
        }
        free(l->v);
        free(l->git_common_dir);
        strv_free(l->warnings);
        free(l);
}

/* The kind of a protected path that does not exist yet. Known names first; otherwise a last component
 * with an extension ("settings.json") is a file, anything else a directory. */
static enum protect_kind kind_for_missing(const char *rel)
{
        static const struct {
                const char *rel;
                enum protect_kind kind;
        } known[] = {
                { ".git/hooks", PROTECT_DIR }, { ".git/config", PROTECT_FILE }, { ".husky", PROTECT_DIR },
                { ".vscode", PROTECT_DIR },    { ".git", PROTECT_DIR },         { ".idea", PROTECT_DIR },
                { "hooks", PROTECT_DIR },      { "config", PROTECT_FILE },
        };
        for (size_t i = 0; i < ELEMENTSOF(known); i++)
                if (streq(rel, known[i].rel))
                        return known[i].kind;
        const char *base = strrchr(rel, '/');
        base = base ? base + 1 : rel;
        const char *dot = strrchr(base, '.');
        return dot && dot != base && dot[1] ? PROTECT_FILE : PROTECT_DIR;
}

/* Cleans a configured entry into a relative path without "." components; "..", absolute and empty
 * entries are refused. */
static int clean_entry(const char *entry, char **ret, struct coi_error *err)
{
        if (!entry || !*entry)
                return coi_error_set(err, EINVAL, "protected path \"\" is empty");
        if (entry[0] == '/')
                return coi_error_set(err, EINVAL, "protected path %s must be relative to the workspace",
                                     entry);
        _cleanup_free_ char *out = calloc(1, strlen(entry) + 1);
        if (!out)
                return coi_error_set(err, ENOMEM, "protected path %s: out of memory", entry);
        size_t o = 0;
        for (const char *p = entry; *p;) {
                while (*p == '/')
                        p++;
                const char *s = p;
                while (*p && *p != '/')
                        p++;
                size_t n = (size_t)(p - s);
                if (n == 0 || (n == 1 && s[0] == '.'))
                        continue;
                if (n == 2 && s[0] == '.' && s[1] == '.')
                        return coi_error_set(err, EINVAL,
                                             "protected path %s contains \"..\"; entries must stay inside "
                                             "the workspace",
                                             entry);
                if (o)
                        out[o++] = '/';
                memcpy(out + o, s, n);
                o += n;
        }
        if (o == 0)
                return coi_error_set(err, EINVAL, "protected path %s names the workspace itself", entry);
        *ret = TAKE_PTR(out);
        return 0;
}

/* Resolves path (absolute) like realpath(), also when its tail does not exist: the longest existing
 * ancestor is resolved (a dangling symlink is followed lexically) and the missing rest appended.
 * *ret_missing tells whether the result exists. */
static int resolve_maybe_missing(const char *path, int depth, char **ret, bool *ret_missing)
{
        if (depth > 16)
                return -ELOOP;
        char *real = realpath(path, NULL);
        if (real) {
                *ret = real;
                *ret_missing = false;
                return 0;
        }
        if (errno != ENOENT)
                return -errno;

        /* Find the longest prefix that lstat() sees. */
        _cleanup_free_ char *prefix = strdup(path);
        if (!prefix)
                return -ENOMEM;
        struct stat st;
        char *cut = NULL;
        for (;;) {
                char *slash = strrchr(prefix, '/');
                if (!slash)
                        return -ENOENT;
                *slash = '\0';
                cut = slash;
                if (slash == prefix || stat(prefix, &st) == 0) /* exists, every symlink in it resolves */
                        break;
        }
        const char *rest = path + (cut - prefix) + 1; /* the part after the existing prefix */
        /* Put back the component right after the prefix when the prefix itself is fine but that
         * component is a dangling symlink. */
        _cleanup_free_ char *next_comp = NULL;
        {
                const char *end = strchr(rest, '/');
                next_comp = end ? strndup(rest, (size_t)(end - rest)) : strdup(rest);
                if (!next_comp)
                        return -ENOMEM;
        }
        _cleanup_free_ char *real_prefix = *prefix ? realpath(prefix, NULL) : strdup(""); /* "" is "/" */
        if (!real_prefix)
                return -errno;
        _cleanup_free_ char *candidate = xasprintf("%s/%s", real_prefix, next_comp);
        if (!candidate)
                return -ENOMEM;
        const char *after = rest + strlen(next_comp);
        if (lstat(candidate, &st) == 0 && S_ISLNK(st.st_mode)) {
                char target[PATH_MAX];
                ssize_t n = readlink(candidate, target, sizeof(target) - 1);
                if (n < 0)
                        return -errno;
                target[n] = '\0';
                _cleanup_free_ char *joined = target[0] == '/'
                                                      ? xasprintf("%s%s", target, after)
                                                      : xasprintf("%s/%s%s", real_prefix, target, after);
                if (!joined)
                        return -ENOMEM;
                _cleanup_free_ char *cleaned = clean_abs(joined);
                if (!cleaned)
                        return -ENOMEM;
                return resolve_maybe_missing(cleaned, depth + 1, ret, ret_missing);
        }
        /* Nothing after the prefix exists, so no symlinks remain: append the rest as it is. */
        *ret = xasprintf("%s/%s", real_prefix, rest);
        if (!*ret)
                return -ENOMEM;
        *ret_missing = true;
        return 0;
}

struct builder {
        struct protected_list *l;
        const struct workspace *ws;
        const char *container_root;
};

static int add_warning(struct builder *b, struct coi_error *err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int add_warning(struct builder *b, struct coi_error *err, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *msg = NULL;
        int r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0 || strv_push(&b->l->warnings, msg) < 0)
                return coi_error_set(err, ENOMEM, "protected paths: out of memory");
        return 0;
}

/* Adds host (absolute, resolved) unless an entry already covers the same host path. */
static int add_entry(struct builder *b, const char *rel, const char *host, bool missing, bool external,
                     enum protect_kind missing_kind, struct coi_error *err)
{
        for (size_t i = 0; i < b->l->n; i++)
                if (streq(b->l->v[i].host, host))
                        return 0;
        enum protect_kind kind = missing_kind;
        if (!missing) {
                struct stat st;
                if (lstat(host, &st) < 0)
                        return coi_error_set(err, errno, "protected path %s (%s): %m", rel, host);
                if (S_ISDIR(st.st_mode))
                        kind = PROTECT_DIR;
                else if (S_ISREG(st.st_mode))
                        kind = PROTECT_FILE;
                else
                        return coi_error_set(err, EINVAL,
                                             "protected path %s (%s) is neither a file nor a directory", rel,
                                             host);
        }
        _cleanup_free_ char *container = NULL;
        if (external) {
                container = strdup(host);
        } else {
                const char *tail = host + strlen(b->ws->real_path); /* "/..." */
                container = streq(b->container_root, "/") ? strdup(tail)
                                                          : xasprintf("%s%s", b->container_root, tail);
        }
        struct protected_mount *v = realloc(b->l->v, (b->l->n + 1) * sizeof(*v));
        if (!v)
                return coi_error_set(err, ENOMEM, "protected paths: out of memory");
        b->l->v = v;
        struct protected_mount *m = &v[b->l->n];
        *m = (struct protected_mount){ .kind = kind, .must_create = missing };
        m->rel = strdup(rel);
        m->host = strdup(host);
        m->container = TAKE_PTR(container);
        b->l->n++;
        if (!m->rel || !m->host || !m->container)
                return coi_error_set(err, ENOMEM, "protected paths: out of memory");
        if (missing) {
                /* Walk up while the parent is missing too. */
                _cleanup_free_ char *top = strdup(host);
                if (!top)
                        return coi_error_set(err, ENOMEM, "protected paths: out of memory");
                for (;;) {
                        char *slash = strrchr(top, '/');
                        struct stat st;
                        if (!slash || slash == top)
                                break;
                        *slash = '\0';
                        if (lstat(top, &st) == 0) {
                                *slash = '/';
                                break;
                        }
                }
                m->first_missing = TAKE_PTR(top);
        }
        return 0;
}

/* With extensions.worktreeConfig, git also reads config.worktree of the main worktree and
 * worktrees/NAME/config.worktree: as dangerous as config itself. The existing ones are protected
 * (the extension can't be switched on from the sandbox while config is read-only). */
static int protect_config_worktrees(struct builder *b, const char *gitdir, bool external,
                                    struct coi_error *err)
{
        _cleanup_free_ char *main_cw = xasprintf("%s/config.worktree", gitdir);
        struct stat st;
        if (!main_cw)
                return coi_error_set(err, ENOMEM, "protected paths: out of memory");
        int r = 0;
        if (lstat(main_cw, &st) == 0 && S_ISREG(st.st_mode))
                r = add_entry(b, ".git/config.worktree", main_cw, false, external, PROTECT_FILE, err);
        _cleanup_free_ char *wdir = xasprintf("%s/worktrees", gitdir);
        _cleanup_closedir_ DIR *d = wdir ? opendir(wdir) : NULL;
        for (struct dirent *de; r == 0 && d && (de = readdir(d));) {
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *cw = xasprintf("%s/%s/config.worktree", wdir, de->d_name);
                _cleanup_free_ char *rel = xasprintf(".git/worktrees/%s/config.worktree", de->d_name);
                if (!cw || !rel)
                        r = coi_error_set(err, ENOMEM, "protected paths: out of memory");
                else if (lstat(cw, &st) == 0 && S_ISREG(st.st_mode))
                        r = add_entry(b, rel, cw, false, external, PROTECT_FILE, err);
        }
        return r;
}

static bool inside(const char *path, const char *root)
{
        return path_under(path, root);
}

/* Reads "gitdir: X" from the .git file, X relative to the workspace. */
static int read_gitdir_pointer(const char *gitfile, const char *root, char **ret, struct coi_error *err)
{
        _cleanup_free_ char *data = NULL;
        int r = read_file_at(AT_FDCWD, gitfile, 64 * 1024, &data, NULL, err);
        if (r < 0)
                return r;
        for (char *line = data; line && *line;) {
                char *nl = strchr(line, '\n');
                if (nl)
                        *nl = '\0';
                if (startswith(line, "gitdir:")) {
                        char *v = line + strlen("gitdir:");
                        while (*v == ' ' || *v == '\t')
                                v++;
                        size_t n = strlen(v);
                        while (n && (v[n - 1] == ' ' || v[n - 1] == '\r' || v[n - 1] == '\t'))
                                v[--n] = '\0';
                        if (!*v)
                                break;
                        _cleanup_free_ char *joined = v[0] == '/' ? strdup(v) : xasprintf("%s/%s", root, v);
                        if (!joined)
                                return coi_error_set(err, ENOMEM, "%s: out of memory", gitfile);
                        *ret = clean_abs(joined);
                        return *ret ? 0 : coi_error_set(err, ENOMEM, "%s: out of memory", gitfile);
                }
                line = nl ? nl + 1 : NULL;
        }
        return coi_error_set(err, EINVAL, "%s has no \"gitdir:\" line", gitfile);
}

static char *read_trimmed(const char *path)
{
        _cleanup_free_ char *data = NULL;
        struct coi_error e = { 0 };
        if (read_file_at(AT_FDCWD, path, 64 * 1024, &data, NULL, &e) < 0)
                return NULL;
        size_t n = strlen(data);
        while (n && (data[n - 1] == '\n' || data[n - 1] == '\r' || data[n - 1] == ' '))
                data[--n] = '\0';
        return TAKE_PTR(data);
}

/* A linked worktree: the .git file points at <common>/worktrees/NAME, whose "gitdir" file must point
 * back at this workspace's .git (so a planted .git file cannot make coi mount an arbitrary directory),
 * and whose "commondir" names the shared git directory holding hooks/ and config. */
static int resolve_worktree(const char *root, char **ret_common, char **ret_why, struct coi_error *err)
{
        _cleanup_free_ char *gitfile = xasprintf("%s/.git", root);
        _cleanup_free_ char *pointer = NULL;
        if (!gitfile)
                return coi_error_set(err, ENOMEM, "worktree: out of memory");
        struct coi_error perr = { 0 };
        if (read_gitdir_pointer(gitfile, root, &pointer, &perr) < 0) {
                *ret_why = strdup(perr.msg);
                return 0;
        }
        _cleanup_free_ char *gitdir = realpath(pointer, NULL);
        if (!gitdir) {
                *ret_why = xasprintf("gitdir %s: %s", pointer, strerror(errno));
                return 0;
        }
        _cleanup_free_ char *backfile = xasprintf("%s/gitdir", gitdir);
        _cleanup_free_ char *back = backfile ? read_trimmed(backfile) : NULL;
        _cleanup_free_ char *back_real = back ? realpath(back, NULL) : NULL;
        _cleanup_free_ char *git_real = realpath(gitfile, NULL);
        if (!back_real || !git_real || !streq(back_real, git_real)) {
                *ret_why = xasprintf("gitdir %s does not point back at %s (not a worktree of this workspace)",
                                     gitdir, gitfile);
                return 0;
        }
        _cleanup_free_ char *cdfile = xasprintf("%s/commondir", gitdir);
        _cleanup_free_ char *cd = cdfile ? read_trimmed(cdfile) : NULL;
        _cleanup_free_ char *common_path =
                cd ? (cd[0] == '/' ? strdup(cd) : xasprintf("%s/%s", gitdir, cd)) : strdup(gitdir);
        _cleanup_free_ char *common = common_path ? realpath(common_path, NULL) : NULL;
        if (!common) {
                *ret_why = xasprintf("git common directory of %s cannot be resolved", gitdir);
                return 0;
        }
        _cleanup_free_ char *objects = xasprintf("%s/objects", common);
        struct stat st;
        if (!objects || stat(objects, &st) < 0 || !S_ISDIR(st.st_mode)) {
                *ret_why = xasprintf("git common directory %s has no objects/", common);
                return 0;
        }
        *ret_common = TAKE_PTR(common);
        return 0;
}

static int protect_one(struct builder *b, const char *rel, struct coi_error *err)
{
        const char *root = b->ws->real_path;
        bool is_git = streq(rel, ".git") || startswith(rel, ".git/");
        if (is_git) {
                _cleanup_free_ char *gitpath = xasprintf("%s/.git", root);
                struct stat st;
                if (!gitpath)
                        return coi_error_set(err, ENOMEM, "protected paths: out of memory");
                if (lstat(gitpath, &st) == 0 && S_ISREG(st.st_mode)) {
                        /* A worktree's .git file: protect the file itself (it decides which hooks the
                         * host's git runs) and the entry inside the real git directory. */
                        int r = add_entry(b, ".git", gitpath, false, false, PROTECT_FILE, err);
                        if (r < 0 || streq(rel, ".git"))
                                return r;
                        _cleanup_free_ char *common = NULL, *why = NULL;
                        r = resolve_worktree(root, &common, &why, err);
                        if (r < 0)
                                return r;
                        if (!common)
                                return add_warning(b, err,
                                                   "%s not protected: %s; the git directory is not mounted",
                                                   rel, why ? why : "invalid .git file");
                        bool external = !inside(common, root);
                        if (external && !b->l->git_common_dir && !(b->l->git_common_dir = strdup(common)))
                                return coi_error_set(err, ENOMEM, "protected paths: out of memory");
                        _cleanup_free_ char *host = xasprintf("%s/%s", common, rel + strlen(".git/"));
                        if (!host)
                                return coi_error_set(err, ENOMEM, "protected paths: out of memory");
                        _cleanup_free_ char *resolved = NULL;
                        bool missing = false;
                        r = resolve_maybe_missing(host, 0, &resolved, &missing);
                        if (r < 0)
                                return coi_error_set(err, -r, "protected path %s (%s): %s", rel, host,
                                                     strerror(-r));
                        if (!inside(resolved, common))
                                return coi_error_set(err, EPERM,
                                                     "protected path %s resolves to %s outside the git "
                                                     "directory %s; refusing to start",
                                                     rel, resolved, common);
                        r = add_entry(b, rel, resolved, missing, external, kind_for_missing(rel), err);
                        if (r == 0 && streq(rel, ".git/config"))
                                r = protect_config_worktrees(b, common, external, err);
                        return r;
                }
        }

        _cleanup_free_ char *full = xasprintf("%s/%s", root, rel);
        if (!full)
                return coi_error_set(err, ENOMEM, "protected paths: out of memory");
        _cleanup_free_ char *resolved = NULL;
        bool missing = false;
        int r = resolve_maybe_missing(full, 0, &resolved, &missing);
        if (r < 0)
                return coi_error_set(err, -r, "protected path %s: %s", rel, strerror(-r));
        if (!inside(resolved, root) || streq(resolved, root))
                return coi_error_set(err, EPERM,
                                     "protected path %s is a symlink to %s, outside the workspace; refusing "
                                     "to start (remove the link or set security.disable_protection)",
                                     rel, resolved);
        r = add_entry(b, rel, resolved, missing, false, kind_for_missing(rel), err);
        if (r == 0 && streq(rel, ".git/config") && !missing) {
                _cleanup_free_ char *gitdir = strdup(resolved);
                if (!gitdir)
                        return coi_error_set(err, ENOMEM, "protected paths: out of memory");
                *strrchr(gitdir, '/') = '\0';
                r = protect_config_worktrees(b, gitdir, false, err);
        }
        return r;
}

static int push_entry(char ***list, const char *entry, bool writable_hooks, struct coi_error *err)
{
        _cleanup_free_ char *rel = NULL;
        int r = clean_entry(entry, &rel, err);
        if (r < 0)
                return r;
        if (writable_hooks && streq(rel, ".git/hooks"))
                return 0;
        for (char **p = *list; p && *p; p++)
                if (streq(*p, rel))
                        return 0;
        return strv_push(list, rel) < 0 ? coi_error_set(err, ENOMEM, "protected paths: out of memory") : 0;
}

int workspace_protected_paths(const struct workspace *ws, const char *container_root,
                              const struct protect_options *opts, struct protected_list **ret,
                              struct coi_error *err)
{
        _cleanup_(protected_list_freep) struct protected_list *l = calloc(1, sizeof(*l));
        if (!l)
                return coi_error_set(err, ENOMEM, "protected paths: out of memory");
        if (opts->disable_protection) {
                *ret = TAKE_PTR(l);
                return 0;
        }
        _cleanup_strv_ char **rels = NULL;
        int r;
        for (char *const *p = opts->protected_paths; p && *p; p++)
                if ((r = push_entry(&rels, *p, opts->writable_hooks, err)) < 0)
                        return r;
        for (char *const *p = opts->additional_protected_paths; p && *p; p++)
                if ((r = push_entry(&rels, *p, opts->writable_hooks, err)) < 0)
                        return r;

        struct builder b = { .l = l, .ws = ws, .container_root = container_root };
        for (char **p = rels; p && *p; p++)
                if ((r = protect_one(&b, *p, err)) < 0)
                        return r;
        *ret = TAKE_PTR(l);
        return 0;
}
