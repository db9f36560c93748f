/* cmd-profile.c — `coi profile list|info|create|edit|delete` (and `show`, info's old name): the profile
 * directories under ~/.coi/profiles and ./.coi/profiles, as code-on-incus 0.8 lays them out
 * (NAME/config.toml). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd-util.h"
#include "commands.h"
#include "config/config.h"
#include "config/profile.h"
#include "json-util.h"
#include "util.h"

/* What every subcommand starts from: where we are and the profiles found there. */
struct ctx {
        const char *home;
        char cwd[4096];
        const char *coi_config;
        struct profile_set *set;
};

static void ctx_done(struct ctx *c)
{
        profile_set_free(c->set);
}

/* Returns 0, or the exit code after printing why. */
static int ctx_load(struct ctx *c)
{
        struct coi_error err = { 0 };
        c->home = getenv("HOME");
        c->coi_config = getenv("COI_CONFIG");
        if (!c->home)
                return cli_error(1, "HOME is not set");
        if (!getcwd(c->cwd, sizeof(c->cwd)))
                return cli_error(1, "current directory: %m");
        if (profile_set_load(c->home, c->cwd, c->coi_config, &c->set, &err) < 0)
                return cli_error(1, "%s", err.msg);
        return 0;
}

/* ---- list ---- */

struct row {
        const char *name;
        const char *image;      /* NULL: the profile sets none */
        const char *persistent; /* "true", "false", NULL: not set */
        const char *inherits;   /* NULL if none */
        const char *source;
};

static int row_cmp(const void *a, const void *b)
{
        return strcmp(((const struct row *)a)->name, ((const struct row *)b)->name);
}

/* code-on-incus's JSON: name, image ("" when not set), persistent (null when not set), inherits and
 * source left out when empty; an array, two-space indent. */
static int print_rows_json(const struct row *rows, size_t n)
{
        _cleanup_(yajl_gen_freep) yajl_gen g = yajl_gen_alloc(NULL);
        if (!g)
                return cli_error(1, "out of memory");
        yajl_gen_config(g, yajl_gen_beautify, 1);
        yajl_gen_config(g, yajl_gen_indent_string, "  ");
        yajl_gen_array_open(g);
        for (size_t i = 0; i < n; i++) {
                yajl_gen_map_open(g);
                json_gen_str(g, "name");
                json_gen_str(g, rows[i].name);
                json_gen_str(g, "image");
                json_gen_str(g, rows[i].image);
                json_gen_str(g, "persistent");
                if (rows[i].persistent)
                        yajl_gen_bool(g, streq(rows[i].persistent, "true"));
                else
                        yajl_gen_null(g);
                if (rows[i].inherits) {
                        json_gen_str(g, "inherits");
                        json_gen_str(g, rows[i].inherits);
                }
                json_gen_str(g, "source");
                json_gen_str(g, rows[i].source);
                yajl_gen_map_close(g);
        }
        yajl_gen_array_close(g);
        const unsigned char *buf;
        size_t len;
        if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
                return cli_error(1, "profile list: JSON output failed");
        fwrite(buf, 1, len, stdout);
        if (len == 0 || buf[len - 1] != '\n')
                putchar('\n');
        return 0;
}

static void print_rows_text(const struct row *rows, size_t n)
{
        int w[4] = { 4, 5, 10, 8 };
        for (size_t i = 0; i < n; i++) {
                const char *cols[4] = { rows[i].name, rows[i].image ? rows[i].image : "(default)",
                                        rows[i].persistent ? rows[i].persistent : "-",
                                        rows[i].inherits ? rows[i].inherits : "-" };
                for (int j = 0; j < 4; j++)
                        if ((int)strlen(cols[j]) > w[j])
                                w[j] = (int)strlen(cols[j]);
        }
        printf("%-*s  %-*s  %-*s  %-*s  %s\n", w[0], "NAME", w[1], "IMAGE", w[2], "PERSISTENT", w[3],
               "INHERITS", "SOURCE");
        for (size_t i = 0; i < n; i++)
                printf("%-*s  %-*s  %-*s  %-*s  %s\n", w[0], rows[i].name, w[1],
                       rows[i].image ? rows[i].image : "(default)", w[2],
                       rows[i].persistent ? rows[i].persistent : "-", w[3],
                       rows[i].inherits ? rows[i].inherits : "-", rows[i].source);
}

static int profile_list_run(const struct cli_call *call)
{
        bool json = streq(cli_str(call, "format"), "json") || cli_bool(call, "json");
        struct ctx c = { 0 };
        int ret = ctx_load(&c);
        if (ret)
                return ret;
        struct coi_error err = { 0 };
        _cleanup_(config_freep) struct config *cfg = NULL;
        if (config_load(&(struct config_load_options){ .home = c.home, .workdir = c.cwd }, &cfg, &err) < 0) {
                ctx_done(&c);
                return cli_error(1, "%s", err.msg);
        }
        size_t n = c.set->n + (profile_find(c.set, "default") ? 0 : 1);
        _cleanup_free_ struct row *rows = calloc(n, sizeof(*rows));
        struct config **overlays = calloc(n, sizeof(*overlays));
        if (!rows || !overlays) {
                free(overlays);
                ctx_done(&c);
                return cli_error(1, "out of memory");
        }
        size_t k = 0;
        if (!profile_find(c.set, "default"))
                rows[k++] = (struct row){ "default", cfg->container.image,
                                          cfg->container.persistent ? "true" : "false", NULL, "(built-in)" };
        for (size_t i = 0; i < c.set->n && ret == 0; i++, k++) {
                const struct profile *p = &c.set->v[i];
                if (profile_resolve(c.set, p->name, &overlays[k], NULL, &err) < 0) {
                        ret = cli_error(1, "%s", err.msg);
                        break;
                }
                const struct config *o = overlays[k];
                bool has_pers = config_origin(o, "container.persistent") != NULL;
                rows[k] = (struct row){ p->name,
                                        config_origin(o, "container.image") ? o->container.image : NULL,
                                        !has_pers                 ? NULL
                                        : o->container.persistent ? "true"
                                                                  : "false",
                                        p->inherits, p->path };
        }
        if (ret == 0) {
                qsort(rows, n, sizeof(*rows), row_cmp);
                if (json)
                        ret = print_rows_json(rows, n);
                else
                        print_rows_text(rows, n);
        }
        for (size_t i = 0; i < n; i++)
                config_free(overlays[i]);
        free(overlays);
        ctx_done(&c);
        return ret;
}

/* ---- info ---- */

static int profile_show(struct ctx *c, const char *name)
{
        struct coi_error err = { 0 };
        _cleanup_(config_freep) struct config *overlay = NULL;
        _cleanup_strv_ char **contexts = NULL;
        const struct profile *p = profile_find(c->set, name);
        if (!p && streq(name, "default")) {
                /* The built-in profile is the configuration without a profile. */
                if (config_load(&(struct config_load_options){ .home = c->home, .workdir = c->cwd }, &overlay,
                                &err) < 0)
                        return cli_error(1, "%s", err.msg);
                printf("Profile: default\nSource:  (built-in)\n\n");
                return config_show(overlay, stdout, CONFIG_SHOW_TEXT, false) < 0 ? 1 : 0;
        }
        if (profile_resolve(c->set, name, &overlay, &contexts, &err) < 0)
                return cli_error(1, "%s", err.msg);
        printf("Profile: %s\nSource:  %s\n", name, p->path);
        if (p->inherits)
                printf("Inherits: %s\n", p->inherits);
        for (char **x = contexts; x && *x; x++)
                printf("Context: %s\n", *x);
        putchar('\n');
        return config_show(overlay, stdout, CONFIG_SHOW_TEXT, true) < 0 ? 1 : 0;
}

static int profile_info_run(const struct cli_call *call)
{
        struct ctx c = { 0 };
        int r = ctx_load(&c);
        if (r == 0)
                r = profile_show(&c, call->args[0]);
        ctx_done(&c);
        return r;
}

/* ---- create ---- */

/* value as a TOML basic string (quoted, escaped); allocated. */
static char *toml_quote(const char *value)
{
        size_t len = 3;
        for (const char *p = value; *p; p++)
                len += 6;
        char *out = malloc(len), *o = out;
        if (!out)
                return NULL;
        *o++ = '"';
        for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
                if (*p == '"' || *p == '\\')
                        o += sprintf(o, "\\%c", *p);
                else if (*p < 0x20 || *p == 0x7f)
                        o += sprintf(o, "\\u%04x", *p);
                else
                        *o++ = (char)*p;
        }
        *o++ = '"';
        *o = '\0';
        return out;
}

/* What `create` writes: inherits, then [container] image / persistent when given. */
static char *new_profile_text(const struct cli_call *call)
{
        const char *inherits = cli_str(call, "inherits"), *image = cli_str(call, "image");
        bool persistent = cli_changed(call, "persistent");
        _cleanup_free_ char *qi = toml_quote(inherits), *qm = toml_quote(image);
        if (!qi || !qm)
                return NULL;
        _cleanup_free_ char *top = *inherits ? xasprintf("inherits = %s\n", qi) : strdup("");
        _cleanup_free_ char *img = *image ? xasprintf("image = %s\n", qm) : strdup("");
        _cleanup_free_ char *pers =
                persistent ? xasprintf("persistent = %s\n", cli_bool(call, "persistent") ? "true" : "false")
                           : strdup("");
        if (!top || !img || !pers)
                return NULL;
        if (!*img && !*pers)
                return TAKE_PTR(top);
        return xasprintf("%s%s[container]\n%s%s", top, *top ? "\n" : "", img, pers);
}

static int profile_create_run(const struct cli_call *call)
{
        const char *name = call->args[0], *inherits = cli_str(call, "inherits");
        bool user = cli_bool(call, "user"), project = cli_bool(call, "project");
        struct coi_error err = { 0 };
        if (profile_name_check(name, &err) < 0 || (*inherits && profile_name_check(inherits, &err) < 0))
                return cli_error(1, "%s", err.msg);
        if (user && project)
                return cli_error(1, "--user and --project are mutually exclusive");
        if (streq(name, "default"))
                return cli_error(1, "\"default\" is a reserved profile name (the built-in profile); edit "
                                    "~/.coi/config.toml instead");
        struct ctx c = { 0 };
        int r = ctx_load(&c);
        if (r)
                return r;
        const struct profile *old = profile_find(c.set, name);
        if (old) {
                r = cli_error(1, "profile '%s' already exists (source: %s)", name, old->path);
                ctx_done(&c);
                return r;
        }
        ctx_done(&c);
        /* Like code-on-incus: the workspace's .coi if there is one, else ~/.coi. */
        char workspace[PATH_MAX];
        if (!realpath(cli_str(call, "workspace"), workspace))
                return cli_error(1, "workspace %s: %m", cli_str(call, "workspace"));
        struct stat st;
        _cleanup_free_ char *pcoi = xasprintf("%s/.coi", workspace);
        bool in_project = project || (!user && pcoi && stat(pcoi, &st) == 0 && S_ISDIR(st.st_mode));
        _cleanup_free_ char *dir = xasprintf("%s/.coi/profiles/%s", in_project ? workspace : c.home, name);
        _cleanup_free_ char *path = dir ? xasprintf("%s/config.toml", dir) : NULL;
        _cleanup_free_ char *content = new_profile_text(call);
        if (!path || !content)
                return cli_error(1, "out of memory");
        if (stat(dir, &st) == 0)
                return cli_error(1, "profile directory already exists: %s", dir);
        if (mkdir_p_at(AT_FDCWD, dir, 0755, &err) < 0 ||
            write_file_atomic_at(AT_FDCWD, path, content, strlen(content), 0644, &err) < 0)
                return cli_error(1, "%s", err.msg);
        fprintf(stderr, "Created profile '%s' at %s\n", name, path);
        return 0;
}

/* ---- edit, delete ---- */

/* A profile that is on disk, or the exit code after saying why not ("default" is built in). */
static int find_on_disk(const struct ctx *c, const char *name, const char *verb, const struct profile **ret)
{
        *ret = profile_find(c->set, name);
        if (*ret)
                return 0;
        if (streq(name, "default"))
                return cli_error(1, "cannot %s built-in profile 'default'", verb);
        return cli_error(1, "profile '%s' not found", name);
}

static int profile_edit(struct ctx *c, const char *name)
{
        const struct profile *p;
        int r = find_on_disk(c, name, "edit", &p);
        if (r)
                return r;
        const char *editor = getenv("VISUAL");
        if (!editor || !editor[0])
                editor = getenv("EDITOR");
        if (!editor || !editor[0])
                editor = "vi";
        _cleanup_free_ char *script = xasprintf("%s \"$1\"", editor); /* "code --wait" works too */
        _cleanup_free_ char *path = strdup(p->path);
        if (!script || !path)
                return cli_error(1, "out of memory");
        pid_t pid = fork();
        if (pid < 0)
                return cli_error(1, "fork: %m");
        if (pid == 0) {
                execl("/bin/sh", "sh", "-c", script, "sh", path, (char *)NULL);
                _exit(127);
        }
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return cli_error(1, "waitpid: %m");
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return cli_error(1, "editor exited with an error");
        /* Check what was written; the file stays either way. */
        struct coi_error err = { 0 };
        _cleanup_(profile_set_freep) struct profile_set *again = NULL;
        if (profile_set_load(c->home, c->cwd, c->coi_config, &again, &err) < 0) {
                fprintf(stderr, "Warning: %s\n", err.msg);
                return 0;
        }
        _cleanup_(config_freep) struct config *overlay = NULL;
        if (profile_resolve(again, name, &overlay, NULL, &err) < 0)
                fprintf(stderr, "Warning: %s\n", err.msg);
        return 0;
}

static int profile_edit_run(const struct cli_call *call)
{
        struct ctx c = { 0 };
        int r = ctx_load(&c);
        if (r == 0)
                r = profile_edit(&c, call->args[0]);
        ctx_done(&c);
        return r;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
        return (type == FTW_DP ? rmdir(path) : unlink(path)) < 0 ? -1 : 0;
}

static int profile_delete(struct ctx *c, const char *name, bool force)
{
        const struct profile *p;
        int r = find_on_disk(c, name, "delete", &p);
        if (r)
                return r;
        if (!force) {
                char answer[16] = "";
                fprintf(stderr, "This will delete profile '%s' at %s\nContinue? [y/N]: ", name, p->dir);
                if (!fgets(answer, sizeof(answer), stdin) ||
                    (!streq(answer, "y\n") && !streq(answer, "yes\n") && !streq(answer, "Y\n"))) {
                        fprintf(stderr, "Aborted.\n");
                        return 0;
                }
        }
        if (nftw(p->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
                return cli_error(1, "delete %s: %m", p->dir);
        fprintf(stderr, "Deleted profile '%s'\n", name);
        return 0;
}

static int profile_delete_run(const struct cli_call *call)
{
        struct ctx c = { 0 };
        int r = ctx_load(&c);
        if (r == 0)
                r = profile_delete(&c, call->args[0], cli_bool(call, "force"));
        ctx_done(&c);
        return r;
}

/* ---- the table ---- */

static const struct cli_flag list_flags[] = {
        CLI_FLAG_FORMAT_TEXT_JSON,
        { .name = "json", .type = CLI_BOOL, .help = "same as --format json", .hidden = true },
        { 0 },
};

static const struct cli_flag create_flags[] = {
        { .name = "image", .type = CLI_STRING, .help = "write [container] image = IMAGE into it" },
        { .name = "inherits", .type = CLI_STRING, .help = "the profile it starts from" },
        { .name = "persistent", .type = CLI_BOOL, .help = "write [container] persistent = true into it" },
        { .name = "user", .type = CLI_BOOL, .help = "create it under ~/.coi/profiles" },
        { .name = "project", .type = CLI_BOOL, .help = "create it under the workspace's .coi/profiles" },
        { 0 },
};

static const struct cli_flag delete_flags[] = {
        { .name = "force", .shorthand = 'f', .type = CLI_BOOL, .help = "delete without asking" },
        { 0 },
};

static const struct cli_command list = {
        .name = "list",
        .summary = "List profiles",
        .description =
                "List the profiles of ~/.coi/profiles, ./.coi/profiles and next to $COI_CONFIG, and the\n"
                "built-in default. Each is a directory holding a config.toml.\n\n"
                "Examples:\n"
                "  coi profile list\n"
                "  coi profile list --format json",
        .flags = list_flags,
        .args = CLI_ARGS_ANY,
        .run = profile_list_run,
};

#define INFO_TEXT "Show what a profile sets (after its inherits) and where each value comes from."

static const struct cli_command info = {
        .name = "info",
        .use = "<name>",
        .summary = "Show a profile's settings",
        .description = INFO_TEXT,
        .args = CLI_ARGS_EXACT,
        .n = 1,
        .run = profile_info_run,
};

static const struct cli_command show = {
        .name = "show",
        .use = "<name>",
        .summary = "Show a profile's settings",
        .description = INFO_TEXT,
        .args = CLI_ARGS_EXACT,
        .n = 1,
        .run = profile_info_run,
        .hidden = true,
};

static const struct cli_command create = {
        .name = "create",
        .use = "<name>",
        .summary = "Create a profile directory with a config.toml",
        .description =
                "Create NAME/config.toml under the workspace's .coi/profiles when the workspace has a\n"
                ".coi directory, else under ~/.coi/profiles (--user or --project choose). \"default\"\n"
                "is reserved for the built-in profile.\n\n"
                "Examples:\n"
                "  coi profile create rust-dev --inherits base --image coi-rust\n"
                "  coi profile create scratch --project --persistent",
        .flags = create_flags,
        .args = CLI_ARGS_EXACT,
        .n = 1,
        .run = profile_create_run,
};

static const struct cli_command edit = {
        .name = "edit",
        .use = "<name>",
        .summary = "Open a profile's config.toml in the editor",
        .description = "Open a profile's config.toml in $VISUAL, $EDITOR or vi, then check what was written\n"
                       "(a warning if it does not load; the file stays).",
        .args = CLI_ARGS_EXACT,
        .n = 1,
        .run = profile_edit_run,
};

static const struct cli_command delete = {
        .name = "delete",
        .use = "<name>",
        .summary = "Delete a profile directory",
        .flags = delete_flags,
        .args = CLI_ARGS_EXACT,
        .n = 1,
        .run = profile_delete_run,
};

static const struct cli_command *const profile_commands[] = {
        &create, &delete, &edit, &info, &list, &show, NULL,
};

const struct cli_command cli_cmd_profile = {
        .name = "profile",
        .summary = "Manage profiles",
        .description =
                "List, show, create, edit and delete profiles: named sets of configuration applied with\n"
                "coi --profile NAME (docs/config.md).",
        .subcommands = profile_commands,
};
