/* sandbox-context.c — rendering ~/SANDBOX_CONTEXT.md from the session's facts, the managed block in
 * CLAUDE.md, merging coi's settings into a tool's JSON file, and writing them into the sandbox's home. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "json-util.h"
#include "sandbox-context.h"
#include "util.h"

static void fclose_memp(FILE **f)
{
        if (*f)
                fclose(*f);
}

static void join(FILE *f, char *const *v)
{
        for (size_t i = 0; v && v[i]; i++)
                fprintf(f, "%s`%s`", i ? ", " : "", v[i]);
}

static const char * or (const char *s, const char *dflt)
{
        return s && *s ? s : dflt;
}

static int append_file(FILE *f, const char *path, struct coi_error *err)
{
        _cleanup_free_ char *data = NULL;
        int r = read_file_at(AT_FDCWD, path, 1 << 20, &data, NULL, err);
        if (r < 0)
                return r;
        fputs(data, f);
        if (*data && data[strlen(data) - 1] != '\n')
                fputc('\n', f);
        return 0;
}

static void render_default(FILE *f, const struct sandbox_context_info *in)
{
        struct utsname u;
        const char *arch = in->architecture && *in->architecture ? in->architecture
                           : uname(&u) == 0                      ? u.machine
                                                                 : "unknown";
        const char *net = "no explicit network policy";
        const char *net_limit = NULL;
        if (in->network_mode && streq(in->network_mode, "restricted")) {
                net = "restricted: the internet is reachable, local and private networks are not";
                net_limit =
                        "connections to local/private networks and the cloud metadata endpoint are blocked";
        } else if (in->network_mode && streq(in->network_mode, "allowlist")) {
                net = "allowlist: only the configured domains are reachable";
                net_limit = "only the allowed domains answer; every other destination is blocked";
        } else if (in->network_mode && streq(in->network_mode, "open")) {
                net = "open: no network restrictions";
        }

        fprintf(f, "# COI Sandbox Environment\n\n");
        fprintf(f,
                "This session runs inside a Code on Incus (COI) sandbox: a container made for an AI coding "
                "agent. Only the workspace is shared with the host; everything else belongs to the "
                "container, so installing packages or changing system files needs no confirmation.\n\n");
        fprintf(f, "## Environment\n\n| Property | Value |\n|---|---|\n");
        fprintf(f, "| Workspace | %s |\n", or (in->workspace, "/workspace"));
        fprintf(f, "| Home | %s |\n", or (in->home, "/home/code"));
        fprintf(f, "| OS | %s |\n", or (in->os_name, "Linux container"));
        fprintf(f, "| Architecture | %s |\n", arch);
        fprintf(f, "| Container | %s |\n",
                in->persistent ? "persistent (kept between sessions)"
                               : "ephemeral (removed after the session)");
        fprintf(f, "| Network | %s |\n", net);
        fprintf(f, "| SSH agent | %s |\n",
                in->ssh_agent ? "forwarded from the host (SSH_AUTH_SOCK)" : "not available");
        fprintf(f, "| User | %s |\n", in->run_as_root ? "root" : or (in->user, "code"));
        fprintf(f, "| Timezone | %s |\n", or (in->timezone, "UTC"));
        fprintf(f, "| Tool | %s |\n", or (in->tool, "AI coding tool"));
        if (in->container_name && *in->container_name)
                fprintf(f, "| Container name | %s |\n", in->container_name);

        if (in->forwarded_env && in->forwarded_env[0]) {
                fprintf(f, "\n## Forwarded environment variables\n\nSet from the host: ");
                join(f, in->forwarded_env);
                fprintf(f, "\n");
        }
        if (in->extra_mounts && in->extra_mounts[0]) {
                fprintf(f, "\n## Additional mounts\n\nAlso shared with the host: ");
                join(f, in->extra_mounts);
                fprintf(f, "\n");
        }

        fprintf(f, "\n## Limitations\n\n");
        if (net_limit)
                fprintf(f, "- Network: %s\n", net_limit);
        fprintf(f, "- Only changes inside the workspace reach the host\n");
        if (in->protected_paths && in->protected_paths[0]) {
                fprintf(f, "- Read-only (they could run code on the host): ");
                join(f, in->protected_paths);
                fprintf(f, "\n");
        }
        bool cpu = in->cpu_limit && *in->cpu_limit, mem = in->memory_limit && *in->memory_limit;
        if (cpu || mem)
                fprintf(f, "- Resources: %s%s%s%s%s\n", cpu ? in->cpu_limit : "", cpu ? " CPUs" : "",
                        cpu && mem ? ", " : "", mem ? in->memory_limit : "", mem ? " memory" : "");
        if (in->max_duration && *in->max_duration)
                fprintf(f, "- The session ends automatically after %s\n", in->max_duration);
        if (!in->persistent)
                fprintf(f,
                        "- Installed packages and system changes are lost when the container is removed\n");
}

int sandbox_context_render(const struct sandbox_context_info *in, char **ret, struct coi_error *err)
{
        char *buf = NULL;
        size_t len = 0;
        int r = 0;
        {
                _cleanup_(fclose_memp) FILE *f = open_memstream(&buf, &len);
                if (!f)
                        return coi_error_set(err, ENOMEM, "sandbox context: %m");
                if (in->custom_file && *in->custom_file)
                        r = append_file(f, in->custom_file, err);
                else
                        render_default(f, in);
                for (char *const *p = in->profile_context_files; r == 0 && p && *p; p++) {
                        fprintf(f, "\n# Profile context\n\n");
                        r = append_file(f, *p, err);
                }
        }
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret = buf;
        return 0;
}

/* existing without its managed block (from a BEGIN line to the END line; an unterminated block runs to
 * the end), trailing newlines trimmed. */
static char *strip_block(const char *existing)
{
        char *out = strdup(existing);
        if (!out)
                return NULL;
        size_t bl = strlen(SANDBOX_CONTEXT_BEGIN), el = strlen(SANDBOX_CONTEXT_END);
        for (char *p = out; p && *p;) {
                char *nl = strchr(p, '\n');
                size_t n = nl ? (size_t)(nl - p) : strlen(p);
                if (n == bl && strncmp(p, SANDBOX_CONTEXT_BEGIN, bl) == 0) {
                        char *q = nl ? nl + 1 : p + n;
                        char *end = NULL;
                        while (*q) {
                                char *qn = strchr(q, '\n');
                                size_t m = qn ? (size_t)(qn - q) : strlen(q);
                                if (m == el && strncmp(q, SANDBOX_CONTEXT_END, el) == 0) {
                                        end = qn ? qn + 1 : q + m;
                                        break;
                                }
                                q = qn ? qn + 1 : q + m;
                        }
                        if (!end) {
                                *p = '\0';
                                break;
                        }
                        memmove(p, end, strlen(end) + 1);
                        continue;
                }
                p = nl ? nl + 1 : NULL;
        }
        size_t n = strlen(out);
        while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
                out[--n] = '\0';
        return out;
}

int sandbox_context_claude_md(const char *existing, const char *context, char **ret, struct coi_error *err)
{
        _cleanup_free_ char *kept = strip_block(existing ? existing : "");
        if (!kept)
                return coi_error_set(err, ENOMEM, "CLAUDE.md: out of memory");
        size_t cl = strlen(context);
        const char *nl = cl && context[cl - 1] == '\n' ? "" : "\n";
        *ret = xasprintf("%s%s" SANDBOX_CONTEXT_BEGIN "\n%s%s" SANDBOX_CONTEXT_END "\n", kept,
                         *kept ? "\n\n" : "", context, nl);
        return *ret ? 0 : coi_error_set(err, ENOMEM, "CLAUDE.md: out of memory");
}

/* ---- settings merge ---- */

static yajl_val obj_get(yajl_val o, const char *key)
{
        if (!o || !YAJL_IS_OBJECT(o))
                return NULL;
        for (size_t i = 0; i < o->u.object.len; i++)
                if (streq(o->u.object.keys[i], key))
                        return o->u.object.values[i];
        return NULL;
}

static int gen_value(yajl_gen g, yajl_val v);

static int gen_string(yajl_gen g, const char *s)
{
        return yajl_gen_string(g, (const unsigned char *)s, strlen(s)) == yajl_gen_status_ok ? 0 : -ENOMEM;
}

static bool all_strings(yajl_val a)
{
        for (size_t i = 0; a && YAJL_IS_ARRAY(a) && i < a->u.array.len; i++)
                if (!YAJL_IS_STRING(a->u.array.values[i]))
                        return false;
        return a && YAJL_IS_ARRAY(a);
}

/* Writes the merge of a (existing) and b (overlay). */
static int gen_merged(yajl_gen g, yajl_val a, yajl_val b)
{
        int r = 0;
        if (a && b && YAJL_IS_OBJECT(a) && YAJL_IS_OBJECT(b)) {
                r = yajl_gen_map_open(g) == yajl_gen_status_ok ? 0 : -ENOMEM;
                for (size_t i = 0; !r && i < a->u.object.len; i++) {
                        const char *k = a->u.object.keys[i];
                        r = gen_string(g, k) ?: gen_merged(g, a->u.object.values[i], obj_get(b, k));
                }
                for (size_t i = 0; !r && i < b->u.object.len; i++) {
                        const char *k = b->u.object.keys[i];
                        if (!obj_get(a, k))
                                r = gen_string(g, k) ?: gen_value(g, b->u.object.values[i]);
                }
                return r ?: (yajl_gen_map_close(g) == yajl_gen_status_ok ? 0 : -ENOMEM);
        }
        if (a && b && all_strings(a) && all_strings(b)) {
                r = yajl_gen_array_open(g) == yajl_gen_status_ok ? 0 : -ENOMEM;
                for (size_t i = 0; !r && i < a->u.array.len; i++)
                        r = gen_value(g, a->u.array.values[i]);
                for (size_t i = 0; !r && i < b->u.array.len; i++) {
                        bool dup = false;
                        for (size_t j = 0; j < a->u.array.len && !dup; j++)
                                dup = streq(YAJL_GET_STRING(a->u.array.values[j]),
                                            YAJL_GET_STRING(b->u.array.values[i]));
                        if (!dup)
                                r = gen_value(g, b->u.array.values[i]);
                }
                return r ?: (yajl_gen_array_close(g) == yajl_gen_status_ok ? 0 : -ENOMEM);
        }
        return gen_value(g, b ? b : a);
}

static int gen_value(yajl_gen g, yajl_val v)
{
        yajl_gen_status s = yajl_gen_status_ok;
        if (!v || YAJL_IS_NULL(v))
                s = yajl_gen_null(g);
        else if (YAJL_IS_TRUE(v))
                s = yajl_gen_bool(g, 1);
        else if (YAJL_IS_FALSE(v))
                s = yajl_gen_bool(g, 0);
        else if (YAJL_IS_STRING(v))
                return gen_string(g, YAJL_GET_STRING(v));
        else if (YAJL_IS_NUMBER(v))
                s = yajl_gen_number(g, YAJL_GET_NUMBER(v), strlen(YAJL_GET_NUMBER(v)));
        else if (YAJL_IS_OBJECT(v)) {
                int r = yajl_gen_map_open(g) == yajl_gen_status_ok ? 0 : -ENOMEM;
                for (size_t i = 0; !r && i < v->u.object.len; i++)
                        r = gen_string(g, v->u.object.keys[i]) ?: gen_value(g, v->u.object.values[i]);
                return r ?: (yajl_gen_map_close(g) == yajl_gen_status_ok ? 0 : -ENOMEM);
        } else if (YAJL_IS_ARRAY(v)) {
                int r = yajl_gen_array_open(g) == yajl_gen_status_ok ? 0 : -ENOMEM;
                for (size_t i = 0; !r && i < v->u.array.len; i++)
                        r = gen_value(g, v->u.array.values[i]);
                return r ?: (yajl_gen_array_close(g) == yajl_gen_status_ok ? 0 : -ENOMEM);
        }
        return s == yajl_gen_status_ok ? 0 : -ENOMEM;
}

int sandbox_settings_merge(const char *existing, const char *overlay, char **ret, struct coi_error *err)
{
        char eb[256] = "";
        _cleanup_(yajl_tree_freep) yajl_val a =
                yajl_tree_parse(existing && *existing ? existing : "{}", eb, sizeof(eb));
        if (!a || !YAJL_IS_OBJECT(a))
                return coi_error_set(err, EINVAL, "existing settings are not a JSON object: %s", eb);
        _cleanup_(yajl_tree_freep) yajl_val b = yajl_tree_parse(overlay, eb, sizeof(eb));
        if (!b || !YAJL_IS_OBJECT(b))
                return coi_error_set(err, EINVAL, "settings overlay is not a JSON object: %s", eb);
        _cleanup_(yajl_gen_freep) yajl_gen g = yajl_gen_alloc(NULL);
        if (!g)
                return coi_error_set(err, ENOMEM, "settings: out of memory");
        yajl_gen_config(g, yajl_gen_beautify, 1);
        yajl_gen_config(g, yajl_gen_indent_string, "  ");
        const unsigned char *buf;
        size_t len;
        if (gen_merged(g, a, b) < 0 || yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
                return coi_error_set(err, ENOMEM, "settings: cannot generate JSON");
        *ret = strndup((const char *)buf, len);
        return *ret ? 0 : coi_error_set(err, ENOMEM, "settings: out of memory");
}

/* ---- writing into the container user's home ---- */

int sandbox_mkdirs_at(int dirfd, const char *rel, uid_t uid, gid_t gid, int *ret_fd, struct coi_error *err)
{
        _cleanup_free_ char *p = strdup(rel);
        if (!p)
                return coi_error_set(err, ENOMEM, "%s: %m", rel);
        _cleanup_close_ int cur = dup(dirfd);
        if (cur < 0)
                return coi_error_set(err, errno, "dup: %m");
        char *save = NULL;
        for (char *c = strtok_r(p, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                if (mkdirat(cur, c, 0700) == 0) {
                        if (fchownat(cur, c, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                                return coi_error_set(err, errno, "chown %s: %m", rel);
                } else if (errno != EEXIST) {
                        return coi_error_set(err, errno, "mkdir %s: %m", rel);
                }
                int next = openat(cur, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0)
                        return coi_error_set(err, errno, "open %s: %m", rel);
                closep(&cur);
                cur = next;
        }
        *ret_fd = TAKE_FD(cur);
        return 0;
}

/* The regular file name in dirfd (at most 1 MiB), *ret NULL if there is none (or a symlink, a fifo…:
 * what the sandbox put there is not read, the file is written anew). */
static int read_regular_at(int dirfd, const char *name, char **ret, struct coi_error *err)
{
        *ret = NULL;
        _cleanup_close_ int fd =
                openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return 0;
        if (st.st_size > (1 << 20))
                return coi_error_set(err, EFBIG, "%s: larger than 1 MiB", name);
        _cleanup_free_ char *buf = malloc((size_t)st.st_size + 1);
        if (!buf)
                return coi_error_set(err, ENOMEM, "%s: %m", name);
        size_t len = 0;
        for (ssize_t n; len < (size_t)st.st_size; len += (size_t)n) {
                n = read(fd, buf + len, (size_t)st.st_size - len);
                if (n < 0 && errno == EINTR) {
                        n = 0;
                        continue;
                }
                if (n < 0)
                        return coi_error_set(err, errno, "read %s: %m", name);
                if (n == 0)
                        break;
        }
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

/* Replaces name in dirfd by a new file (owned uid:gid, mode) holding data: a temporary file created
 * exclusively, then renamed over name, which is never opened (a symlink there is replaced). */
static int replace_at(int dirfd, const char *name, const char *data, mode_t mode, uid_t uid, gid_t gid,
                      struct coi_error *err)
{
        _cleanup_free_ char *tmp = xasprintf(".%s.coi-new", name);
        if (!tmp)
                return coi_error_set(err, ENOMEM, "%s: %m", name);
        unlinkat(dirfd, tmp, 0);
        _cleanup_close_ int fd =
                openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0)
                return coi_error_set(err, errno, "create %s: %m", name);
        int r = write_all(fd, data, strlen(data));
        if (r < 0)
                r = coi_error_set(err, -r, "write %s: %m", name);
        else if (fchown(fd, uid, gid) < 0 || fchmod(fd, mode) < 0)
                r = coi_error_set(err, errno, "chown %s: %m", name);
        else if (renameat(dirfd, tmp, dirfd, name) < 0)
                r = coi_error_set(err, errno, "replace %s: %m", name);
        if (r < 0)
                unlinkat(dirfd, tmp, 0);
        return r;
}

/* dir/name below home (dir created as needed): its current text (NULL if none) and an fd of dir. */
static int open_home_file(int home, const struct sandbox_context_files *f, const char *dir, const char *name,
                          int *ret_dir, char **ret_text, struct coi_error *err)
{
        int r = sandbox_mkdirs_at(home, dir, f->uid, f->gid, ret_dir, err);
        r = r ?: read_regular_at(*ret_dir, name, ret_text, err);
        return r < 0 ? coi_error_prefix(err, "~/%s: ", dir) : 0;
}

int sandbox_context_install(int home, const struct sandbox_context_files *f, struct coi_error *err)
{
        int r = replace_at(home, SANDBOX_CONTEXT_FILE, f->page, 0644, f->uid, f->gid, err);
        if (r < 0)
                return r;
        bool claude = f->tool && streq(f->tool, "claude"), opencode = f->tool && streq(f->tool, "opencode");
        if (claude && f->link) {
                _cleanup_close_ int dir = -1;
                _cleanup_free_ char *old = NULL, *md = NULL;
                r = open_home_file(home, f, ".claude", "CLAUDE.md", &dir, &old, err);
                r = r ?: sandbox_context_claude_md(old, f->page, &md, err);
                r = r ?: replace_at(dir, "CLAUDE.md", md, 0644, f->uid, f->gid, err);
                if (r < 0)
                        return r;
        }
        if ((claude || opencode) && f->settings_overlay) {
                const char *dname = claude ? ".claude" : ".config/opencode";
                const char *fname = claude ? "settings.json" : "opencode.json";
                _cleanup_close_ int dir = -1;
                _cleanup_free_ char *old = NULL, *merged = NULL;
                r = open_home_file(home, f, dname, fname, &dir, &old, err);
                if (r == 0 && sandbox_settings_merge(old, f->settings_overlay, &merged, err) < 0)
                        return coi_error_prefix(err, "~/%s/%s: ", dname, fname);
                r = r ?: replace_at(dir, fname, merged, 0600, f->uid, f->gid, err);
        }
        return r;
}
