/* profile.c — finding profile directories, parsing their config.toml, resolving inherits chains (cycles,
 * depth) into an overlay, and applying it to a config. Reads files only; cmd-profile.c writes them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "profile.h"
#include "util.h"

static void profile_clear(struct profile *p)
{
        free(p->name);
        free(p->dir);
        free(p->path);
        free(p->shown);
        free(p->inherits);
        free(p->context);
        toml_value_free(p->doc);
}

void profile_set_free(struct profile_set *s)
{
        if (!s)
                return;
        for (size_t i = 0; i < s->n; i++)
                profile_clear(&s->v[i]);
        free(s->v);
        free(s->home);
        free(s);
}

const struct profile *profile_find(const struct profile_set *s, const char *name)
{
        for (size_t i = 0; s && i < s->n; i++)
                if (streq(s->v[i].name, name))
                        return &s->v[i];
        return NULL;
}

int profile_name_check(const char *name, struct coi_error *err)
{
        if (!name || !name[0])
                return coi_error_set(err, EINVAL, "profile name cannot be empty");
        if (strchr(name, '/') || strchr(name, '\\'))
                return coi_error_set(err, EINVAL, "profile name \"%s\" cannot contain slashes", name);
        if (strspn(name, ".") == strlen(name))
                return coi_error_set(err, EINVAL, "profile name \"%s\" cannot consist only of dots", name);
        return 0;
}

/* Parses dir/config.toml into p and checks it against the key table. */
static int profile_read(struct profile *p, const char *home, struct coi_error *err)
{
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r = read_file_at(AT_FDCWD, p->path, 0, &data, &len, err);
        if (r < 0)
                return r;
        p->shown = config_display_path(p->path, home);
        if (!p->shown)
                return coi_error_set(err, ENOMEM, "%s: %m", p->path);
        r = toml_parse(data, len, p->shown, &p->doc, err);
        if (r < 0)
                return r;

        _cleanup_(config_freep) struct config *scratch = NULL;
        r = config_new_empty(&scratch, err);
        if (r < 0)
                return r;
        r = config_apply_toml(scratch, p->doc, p->shown, home, CONFIG_LAYER_PROFILE, err);
        if (r < 0)
                return r;

        const char *s;
        struct toml_pos pos;
        if (toml_get_string(toml_table_get_pos(p->doc, "inherits", &pos), &s, NULL) == 0 && s[0]) {
                p->inherits = strdup(s);
                p->inherits_pos = pos;
                if (!p->inherits)
                        return coi_error_set(err, ENOMEM, "profile %s: %m", p->name);
        }
        if (toml_get_string(toml_table_get(p->doc, "context"), &s, NULL) == 0 && s[0]) {
                if (s[0] == '/')
                        p->context = strdup(s);
                else if (s[0] == '~' && s[1] == '/')
                        p->context = xasprintf("%s%s", home, s + 1);
                else
                        p->context = xasprintf("%s/%s", p->dir, s);
                if (!p->context)
                        return coi_error_set(err, ENOMEM, "profile %s: %m", p->name);
        }
        return 0;
}

static int name_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds every parent/profiles/NAME/config.toml to s. */
static int scan_dir(struct profile_set *s, const char *parent, struct coi_error *err)
{
        _cleanup_free_ char *profiles = xasprintf("%s/profiles", parent);
        if (!profiles)
                return coi_error_set(err, ENOMEM, "%s: %m", parent);
        _cleanup_closedir_ DIR *d = opendir(profiles);
        if (!d)
                return 0; /* no profiles here */
        _cleanup_strv_ char **names = NULL;
        struct dirent *de;
        int r = 0;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.' && strv_push(&names, de->d_name) < 0)
                        r = -ENOMEM;
        if (r < 0)
                return coi_error_set(err, ENOMEM, "%s: %m", profiles);
        if (!names)
                return 0;
        qsort(names, strv_length(names), sizeof(char *), name_cmp);

        for (char **n = names; *n; n++) {
                _cleanup_free_ char *dir = xasprintf("%s/%s", profiles, *n);
                _cleanup_free_ char *path = xasprintf("%s/%s/config.toml", profiles, *n);
                struct stat st;
                if (!dir || !path)
                        return coi_error_set(err, ENOMEM, "%s: %m", profiles);
                if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || access(path, F_OK) < 0)
                        continue; /* not a profile, as in code-on-incus */
                const struct profile *old = profile_find(s, *n);
                if (old)
                        return coi_error_set(err, EEXIST,
                                             "profile \"%s\" defined in multiple locations:\n  %s\n  %s\n"
                                             "rename or delete one so it is clear which one is used",
                                             *n, old->path, path);
                struct profile *v = realloc(s->v, (s->n + 1) * sizeof(*v));
                if (!v)
                        return coi_error_set(err, ENOMEM, "%s: %m", path);
                s->v = v;
                struct profile *p = &v[s->n++];
                *p = (struct profile){ .name = strdup(*n), .dir = TAKE_PTR(dir), .path = TAKE_PTR(path) };
                if (!p->name)
                        return coi_error_set(err, ENOMEM, "%s: %m", profiles);
                r = profile_read(p, s->home, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* "a -> b -> a" from chain[0..n) plus last. */
static void chain_text(const struct profile *const *chain, size_t n, const char *last, char *buf, size_t size)
{
        buf[0] = '\0';
        for (size_t i = 0; i < n; i++)
                snprintf(buf + strlen(buf), size - strlen(buf), "%s -> ", chain[i]->name);
        snprintf(buf + strlen(buf), size - strlen(buf), "%s", last);
}

/* code-on-incus's words, then the chain: "profile inheritance cycle detected involving "a": a -> b -> a". */
static int cycle_error(const struct profile *p, const char *chain, struct coi_error *err)
{
        return coi_error_set(err, ELOOP, "%s:%u:%u: profile inheritance cycle detected involving \"%s\": %s",
                             p->shown, p->inherits_pos.line, p->inherits_pos.col, p->inherits, chain);
}

/* A cycle anywhere fails loading, as in code-on-incus, whether or not the profile is used. A missing
 * parent or a chain too deep is reported when the profile is applied (profile_resolve). */
static int check_cycles(const struct profile_set *s, struct coi_error *err)
{
        for (size_t i = 0; i < s->n; i++) {
                const struct profile *chain[PROFILE_MAX_INHERITS + 2];
                size_t n = 0;
                for (const struct profile *p = &s->v[i]; p && n <= PROFILE_MAX_INHERITS;
                     p = profile_find(s, p->inherits)) {
                        chain[n++] = p;
                        if (!p->inherits)
                                break;
                        for (size_t j = 0; j < n; j++)
                                if (streq(chain[j]->name, p->inherits)) {
                                        char text[1024];
                                        chain_text(chain, n, p->inherits, text, sizeof(text));
                                        return cycle_error(p, text, err);
                                }
                }
        }
        return 0;
}

int profile_set_load(const char *home, const char *workdir, const char *coi_config, struct profile_set **ret,
                     struct coi_error *err)
{
        struct profile_set *s = calloc(1, sizeof(*s));
        _cleanup_(profile_set_freep) struct profile_set *set = s;
        if (!s || !(s->home = strdup(home)))
                return coi_error_set(err, ENOMEM, "profiles: %m");

        _cleanup_free_ char *user = xasprintf("%s/.coi", home);
        _cleanup_free_ char *project = xasprintf("%s/.coi", workdir);
        _cleanup_free_ char *cfgdir = NULL;
        if (coi_config && coi_config[0]) {
                const char *slash = strrchr(coi_config, '/');
                cfgdir = slash ? strndup(coi_config, slash == coi_config ? 1 : (size_t)(slash - coi_config))
                               : strdup(".");
                if (!cfgdir)
                        return coi_error_set(err, ENOMEM, "profiles: %m");
        }
        if (!user || !project)
                return coi_error_set(err, ENOMEM, "profiles: %m");

        /* The same directory reached twice (workdir = home) is scanned once. */
        const char *dirs[] = { user, project, cfgdir };
        char seen[3][PATH_MAX];
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                if (!dirs[i])
                        continue;
                if (!realpath(dirs[i], seen[i]))
                        snprintf(seen[i], sizeof(seen[i]), "%s", dirs[i]);
                bool dup = false;
                for (size_t j = 0; j < i; j++)
                        dup = dup || (dirs[j] && streq(seen[i], seen[j]));
                if (dup)
                        continue;
                int r = scan_dir(s, dirs[i], err);
                if (r < 0)
                        return r;
        }
        int r = check_cycles(s, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(set);
        return 0;
}

int profile_resolve(const struct profile_set *s, const char *name, struct config **ret_overlay,
                    char ***ret_contexts, struct coi_error *err)
{
        const struct profile *chain[PROFILE_MAX_INHERITS + 1];
        size_t n = 0;
        char text[1024];

        const struct profile *p = profile_find(s, name);
        if (!p && !streq(name, "default"))
                return coi_error_set(err, ENOENT, "profile '%s' not found", name);
        while (p) {
                chain[n++] = p;
                if (!p->inherits)
                        break;
                for (size_t i = 0; i < n; i++)
                        if (streq(chain[i]->name, p->inherits)) {
                                chain_text(chain, n, p->inherits, text, sizeof(text));
                                return cycle_error(p, text, err);
                        }
                const struct profile *parent = profile_find(s, p->inherits);
                if (!parent && streq(p->inherits, "default"))
                        break; /* the built-in profile: what the config already holds */
                if (!parent)
                        return coi_error_set(err, ENOENT,
                                             "%s:%u:%u: profile \"%s\" inherits from \"%s\", but there is no "
                                             "profile \"%s\"",
                                             p->shown, p->inherits_pos.line, p->inherits_pos.col, p->name,
                                             p->inherits, p->inherits);
                if (n > PROFILE_MAX_INHERITS) {
                        chain_text(chain, n, parent->name, text, sizeof(text));
                        return coi_error_set(err, ELOOP,
                                             "profile \"%s\": inheritance chain is deeper than %d: %s", name,
                                             PROFILE_MAX_INHERITS, text);
                }
                p = parent;
        }

        _cleanup_(config_freep) struct config *overlay = NULL;
        int r = config_new_empty(&overlay, err);
        if (r < 0)
                return r;
        const char *context = NULL;
        for (size_t i = n; i > 0; i--) {
                r = config_apply_toml(overlay, chain[i - 1]->doc, chain[i - 1]->shown, s->home,
                                      CONFIG_LAYER_PROFILE, err);
                if (r < 0)
                        return r;
                if (chain[i - 1]->context)
                        context = chain[i - 1]->context;
        }
        _cleanup_strv_ char **contexts = calloc(1, sizeof(char *));
        if (!contexts || (context && strv_push(&contexts, context) < 0))
                return coi_error_set(err, ENOMEM, "profile %s: %m", name);
        *ret_overlay = TAKE_PTR(overlay);
        if (ret_contexts)
                *ret_contexts = TAKE_PTR(contexts);
        return 0;
}

int profile_apply(struct config *c, const struct profile_set *s, const char *name, struct coi_error *err)
{
        _cleanup_(config_freep) struct config *overlay = NULL;
        _cleanup_strv_ char **contexts = NULL;
        int r = profile_resolve(s, name, &overlay, &contexts, err);
        if (r < 0)
                return r;
        r = config_merge_overlay(c, overlay, err);
        if (r < 0)
                return r;
        char *n = strdup(name);
        if (!n)
                return coi_error_set(err, ENOMEM, "profile %s: %m", name);
        free(c->profile);
        c->profile = n;
        strv_free(c->context_files);
        c->context_files = TAKE_PTR(contexts);
        return 0;
}
