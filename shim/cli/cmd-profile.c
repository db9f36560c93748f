/* cmd-profile.c — `coi profile list|show|create|edit|delete`: the profile directories under ~/.coi/profiles
 * and ./.coi/profiles, as code-on-incus 0.8 lays them out (NAME/config.toml). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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
#include "util.h"

static void usage(FILE *out)
{
        fputs("Usage: coi profile COMMAND\n"
              "\n"
              "Commands:\n"
              "  list [--format text|json]              List profiles\n"
              "  show NAME                              Show what a profile sets (after inherits)\n"
              "  create NAME [--inherits P] [--user|--project]\n"
              "                                         Create NAME/config.toml\n"
              "  edit NAME                              Open its config.toml in $VISUAL, $EDITOR or vi\n"
              "  delete NAME [--force]                  Delete the profile directory\n",
              out);
}

/* What every subcommand starts from: where we are and the profiles found there. */
struct ctx {
        const char *home;
        char cwd[4096];
        const char *coi_config;
        struct profile_set *set;
};

static int ctx_load(struct ctx *c)
{
        struct coi_error err = { 0 };
        c->home = getenv("HOME");
        c->coi_config = getenv("COI_CONFIG");
        if (!c->home) {
                fprintf(stderr, "coi: HOME is not set\n");
                return -EINVAL;
        }
        if (!getcwd(c->cwd, sizeof(c->cwd))) {
                fprintf(stderr, "coi: current directory: %m\n");
                return -errno;
        }
        if (profile_set_load(c->home, c->cwd, c->coi_config, &c->set, &err) < 0) {
                fprintf(stderr, "coi: %s\n", err.msg);
                return -err.code;
        }
        return 0;
}

struct row {
        const char *name, *image, *persistent, *inherits, *source;
};

static int profile_list(struct ctx *c, int argc, char **argv)
{
        bool json = false;
        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "--json") || streq(argv[i], "--format=json") ||
                    (streq(argv[i], "--format") && i + 1 < argc && streq(argv[i + 1], "json")))
                        json = true;
                else if (streq(argv[i], "--format") && i + 1 < argc && streq(argv[i + 1], "text"))
                        ;
                else if (!streq(argv[i], "text") && !streq(argv[i], "json") &&
                         !streq(argv[i], "--format=text")) {
                        fprintf(stderr, "coi profile list: unknown argument \"%s\"\n", argv[i]);
                        return 2;
                }
        }
        struct coi_error err = { 0 };
        _cleanup_(config_freep) struct config *cfg = NULL;
        if (config_load(&(struct config_load_options){ .home = c->home, .workdir = c->cwd }, &cfg, &err) <
            0) {
                fprintf(stderr, "coi: %s\n", err.msg);
                return 1;
        }
        size_t n = c->set->n + (profile_find(c->set, "default") ? 0 : 1);
        _cleanup_free_ struct row *rows = calloc(n, sizeof(*rows));
        struct config **overlays = calloc(n, sizeof(*overlays));
        if (!rows || !overlays) {
                free(overlays);
                fprintf(stderr, "coi: out of memory\n");
                return 1;
        }
        size_t k = 0;
        int ret = 0;
        if (!profile_find(c->set, "default"))
                rows[k++] = (struct row){ "default", cfg->container.image,
                                          cfg->container.persistent ? "true" : "false", "-", "(built-in)" };
        for (size_t i = 0; i < c->set->n && ret == 0; i++, k++) {
                const struct profile *p = &c->set->v[i];
                if (profile_resolve(c->set, p->name, &overlays[k], NULL, &err) < 0) {
                        fprintf(stderr, "coi: %s\n", err.msg);
                        ret = 1;
                        break;
                }
                const struct config *o = overlays[k];
                bool has_pers = config_origin(o, "container.persistent") != NULL;
                rows[k] =
                        (struct row){ p->name,
                                      config_origin(o, "container.image") ? o->container.image : "(default)",
                                      !has_pers                 ? "-"
                                      : o->container.persistent ? "true"
                                                                : "false",
                                      p->inherits ? p->inherits : "-", p->path };
        }
        if (ret == 0 && json) {
                fputs("[", stdout);
                for (size_t i = 0; i < n; i++) {
                        fputs(i ? ",\n  {\"name\": " : "\n  {\"name\": ", stdout);
                        cmd_json_string(stdout, rows[i].name);
                        fputs(", \"image\": ", stdout);
                        cmd_json_string(stdout, rows[i].image);
                        printf(", \"persistent\": %s",
                               streq(rows[i].persistent, "-") ? "null" : rows[i].persistent);
                        if (!streq(rows[i].inherits, "-")) {
                                fputs(", \"inherits\": ", stdout);
                                cmd_json_string(stdout, rows[i].inherits);
                        }
                        fputs(", \"source\": ", stdout);
                        cmd_json_string(stdout, rows[i].source);
                        fputs("}", stdout);
                }
                fputs("\n]\n", stdout);
        } else if (ret == 0) {
                int w[4] = { 4, 5, 10, 8 };
                for (size_t i = 0; i < n; i++) {
                        const char *cols[4] = { rows[i].name, rows[i].image, rows[i].persistent,
                                                rows[i].inherits };
                        for (int j = 0; j < 4; j++)
                                if ((int)strlen(cols[j]) > w[j])
                                        w[j] = (int)strlen(cols[j]);
                }
                printf("%-*s  %-*s  %-*s  %-*s  %s\n", w[0], "NAME", w[1], "IMAGE", w[2], "PERSISTENT", w[3],
                       "INHERITS", "SOURCE");
                for (size_t i = 0; i < n; i++)
                        printf("%-*s  %-*s  %-*s  %-*s  %s\n", w[0], rows[i].name, w[1], rows[i].image, w[2],
                               rows[i].persistent, w[3], rows[i].inherits, rows[i].source);
        }
        for (size_t i = 0; i < n; i++)
                config_free(overlays[i]);
        free(overlays);
        return ret;
}

static int profile_show(struct ctx *c, const char *name)
{
        struct coi_error err = { 0 };
        _cleanup_(config_freep) struct config *overlay = NULL;
        _cleanup_strv_ char **contexts = NULL;
        const struct profile *p = profile_find(c->set, name);
        if (!p && streq(name, "default")) {
                /* The built-in profile is the configuration without a profile. */
                if (config_load(&(struct config_load_options){ .home = c->home, .workdir = c->cwd }, &overlay,
                                &err) < 0) {
                        fprintf(stderr, "coi: %s\n", err.msg);
                        return 1;
                }
                printf("Profile: default\nSource:  (built-in)\n\n");
                return config_show(overlay, stdout, CONFIG_SHOW_TEXT, false) < 0 ? 1 : 0;
        }
        if (profile_resolve(c->set, name, &overlay, &contexts, &err) < 0) {
                fprintf(stderr, "coi: %s\n", err.msg);
                return 1;
        }
        printf("Profile: %s\nSource:  %s\n", name, p->path);
        if (p->inherits)
                printf("Inherits: %s\n", p->inherits);
        for (char **x = contexts; x && *x; x++)
                printf("Context: %s\n", *x);
        putchar('\n');
        return config_show(overlay, stdout, CONFIG_SHOW_TEXT, true) < 0 ? 1 : 0;
}

static int profile_create(struct ctx *c, int argc, char **argv)
{
        const char *name = NULL, *inherits = NULL;
        bool user = false, project = false;
        struct coi_error err = { 0 };
        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "--user"))
                        user = true;
                else if (streq(argv[i], "--project"))
                        project = true;
                else if (startswith(argv[i], "--inherits="))
                        inherits = argv[i] + strlen("--inherits=");
                else if (streq(argv[i], "--inherits") && i + 1 < argc)
                        inherits = argv[++i];
                else if (argv[i][0] != '-' && !name)
                        name = argv[i];
                else {
                        fprintf(stderr, "coi profile create: unknown argument \"%s\"\n", argv[i]);
                        return 2;
                }
        }
        if (!name) {
                fprintf(stderr, "coi profile create: a profile name is required\n");
                return 2;
        }
        if (profile_name_check(name, &err) < 0 || (inherits && profile_name_check(inherits, &err) < 0)) {
                fprintf(stderr, "coi: %s\n", err.msg);
                return 1;
        }
        if (user && project) {
                fprintf(stderr, "coi: --user and --project are mutually exclusive\n");
                return 2;
        }
        if (streq(name, "default")) {
                fprintf(stderr,
                        "coi: \"default\" is the built-in profile; edit ~/.coi/config.toml instead\n");
                return 1;
        }
        const struct profile *old = profile_find(c->set, name);
        if (old) {
                fprintf(stderr, "coi: profile '%s' already exists (source: %s)\n", name, old->path);
                return 1;
        }
        /* Like code-on-incus: the project's .coi if there is one, else ~/.coi. */
        struct stat st;
        _cleanup_free_ char *pcoi = xasprintf("%s/.coi", c->cwd);
        bool in_project = project || (!user && pcoi && stat(pcoi, &st) == 0 && S_ISDIR(st.st_mode));
        _cleanup_free_ char *dir = xasprintf("%s/.coi/profiles/%s", in_project ? c->cwd : c->home, name);
        _cleanup_free_ char *path = dir ? xasprintf("%s/config.toml", dir) : NULL;
        _cleanup_free_ char *content = inherits ? xasprintf("inherits = \"%s\"\n", inherits) : strdup("");
        if (!path || !content) {
                fprintf(stderr, "coi: out of memory\n");
                return 1;
        }
        if (stat(dir, &st) == 0) {
                fprintf(stderr, "coi: profile directory already exists: %s\n", dir);
                return 1;
        }
        if (mkdir_p_at(AT_FDCWD, dir, 0755, &err) < 0 ||
            write_file_atomic_at(AT_FDCWD, path, content, strlen(content), 0644, &err) < 0) {
                fprintf(stderr, "coi: %s\n", err.msg);
                return 1;
        }
        fprintf(stderr, "Created profile '%s' at %s\n", name, path);
        return 0;
}

static int profile_edit(struct ctx *c, const char *name)
{
        const struct profile *p = profile_find(c->set, name);
        if (!p) {
                fprintf(stderr,
                        streq(name, "default") ? "coi: cannot edit built-in profile 'default'\n"
                                               : "coi: profile '%s' not found\n",
                        name);
                return 1;
        }
        const char *editor = getenv("VISUAL");
        if (!editor || !editor[0])
                editor = getenv("EDITOR");
        if (!editor || !editor[0])
                editor = "vi";
        _cleanup_free_ char *script = xasprintf("%s \"$1\"", editor); /* "code --wait" works too */
        _cleanup_free_ char *path = strdup(p->path);
        if (!script || !path)
                return 1;
        pid_t pid = fork();
        if (pid < 0) {
                fprintf(stderr, "coi: fork: %m\n");
                return 1;
        }
        if (pid == 0) {
                execl("/bin/sh", "sh", "-c", script, "sh", path, (char *)NULL);
                _exit(127);
        }
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        fprintf(stderr, "coi: waitpid: %m\n");
                        return 1;
                }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "coi: editor exited with an error\n");
                return 1;
        }
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

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
        (void)st;
        (void)ftw;
        return (type == FTW_DP ? rmdir(path) : unlink(path)) < 0 ? -1 : 0;
}

static int profile_delete(struct ctx *c, int argc, char **argv)
{
        const char *name = NULL;
        bool force = false;
        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "--force") || streq(argv[i], "-f"))
                        force = true;
                else if (argv[i][0] != '-' && !name)
                        name = argv[i];
                else {
                        fprintf(stderr, "coi profile delete: unknown argument \"%s\"\n", argv[i]);
                        return 2;
                }
        }
        if (!name) {
                fprintf(stderr, "coi profile delete: a profile name is required\n");
                return 2;
        }
        const struct profile *p = profile_find(c->set, name);
        if (!p) {
                fprintf(stderr,
                        streq(name, "default") ? "coi: cannot delete built-in profile 'default'\n"
                                               : "coi: profile '%s' not found\n",
                        name);
                return 1;
        }
        if (!force) {
                char answer[16] = "";
                fprintf(stderr, "This will delete profile '%s' at %s\nContinue? [y/N]: ", name, p->dir);
                if (!fgets(answer, sizeof(answer), stdin) ||
                    (!streq(answer, "y\n") && !streq(answer, "yes\n") && !streq(answer, "Y\n"))) {
                        fprintf(stderr, "Aborted.\n");
                        return 0;
                }
        }
        if (nftw(p->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0) {
                fprintf(stderr, "coi: delete %s: %m\n", p->dir);
                return 1;
        }
        fprintf(stderr, "Deleted profile '%s'\n", name);
        return 0;
}

static int cmd_profile(int argc, char **argv)
{
        if (argc < 2) {
                usage(stderr);
                return 2;
        }
        const char *sub = argv[1];
        if (streq(sub, "--help") || streq(sub, "-h") || streq(sub, "help")) {
                usage(stdout);
                return 0;
        }
        bool one_name = streq(sub, "show") || streq(sub, "info") || streq(sub, "edit");
        if (!one_name && !streq(sub, "list") && !streq(sub, "create") && !streq(sub, "delete")) {
                fprintf(stderr, "coi profile: unknown command \"%s\"\n", sub);
                usage(stderr);
                return 2;
        }
        if (one_name && argc != 3) {
                fprintf(stderr, "coi profile %s: exactly one profile name is required\n", sub);
                return 2;
        }
        struct ctx c = { 0 };
        if (ctx_load(&c) < 0)
                return 1;
        int r;
        if (streq(sub, "list"))
                r = profile_list(&c, argc - 1, argv + 1);
        else if (streq(sub, "show") || streq(sub, "info"))
                r = profile_show(&c, argv[2]);
        else if (streq(sub, "edit"))
                r = profile_edit(&c, argv[2]);
        else if (streq(sub, "create"))
                r = profile_create(&c, argc - 1, argv + 1);
        else
                r = profile_delete(&c, argc - 1, argv + 1);
        profile_set_free(c.set);
        return r;
}

/* TRANSITIONAL (issue 18): parses its own argv until it takes a cli_call. */
const struct cli_command cli_cmd_profile = { .name = "profile",
                                             .summary = "List, show, create, edit and delete profiles",
                                             .raw = cmd_profile };
