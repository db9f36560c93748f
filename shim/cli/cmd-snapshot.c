/* cmd-snapshot.c — `coi snapshot create|list|restore|delete|info` as code-on-incus 0.8 has them (plus
 * `restore --as NEW` to branch): the flags as data (cli.h), handlers that resolve the container, call
 * snapshot.c and print. Errors exit 1, the usage errors upstream raises itself 2. */
#include <stdio.h>
#include <time.h>

#include "commands.h"
#include "session/slots.h"
#include "container/snapshot.h"
#include "util.h"
#include "session/workspace.h"

static int fail(const struct coi_error *err)
{
        return cli_error(1, "%s", err->msg);
}

/* --format json, or coi's --json. */
static bool wants_json(const struct cli_call *call)
{
        return cli_bool(call, "json") || streq(cli_str(call, "format"), "json");
}

/* The snapshot's name: the first argument, or NULL. */
static const char *name_arg(const struct cli_call *call)
{
        return call->nargs > 0 ? call->args[0] : NULL;
}

static bool container_exists(struct container_store *s, const char *name)
{
        struct container_info *info = NULL;
        struct coi_error e = { 0 };
        if (container_info_get(s, name, &info, &e) < 0)
                return false;
        container_info_free(info);
        return true;
}

/* As code-on-incus: --container, then $COI_CONTAINER, then the workspace's only container. */
static int resolve_container(struct container_store *s, const struct cli_call *call, char **ret,
                             struct coi_error *err)
{
        const char *given = *cli_str(call, "container") ? cli_str(call, "container") : NULL;
        const char *env = getenv("COI_CONTAINER");
        if (given || (env && *env)) {
                const char *name = given ? given : env;
                if (!container_exists(s, name))
                        return coi_error_set(err, ENOENT, "container '%s'%s not found", name,
                                             given ? "" : " from COI_CONTAINER");
                *ret = strdup(name);
                return *ret ? 0 : coi_error_set(err, ENOMEM, "container name: %m");
        }
        _cleanup_(workspace_freep) struct workspace *ws = NULL;
        int r = workspace_resolve(cli_str(call, "workspace"), NULL, &ws, err);
        if (r < 0)
                return r;
        _cleanup_strv_ char **found = NULL;
        for (int slot = 1; slot <= SLOT_MAX; slot++) {
                _cleanup_free_ char *name = workspace_container_name(ws->path, slot, NULL);
                if (!name || (container_exists(s, name) && strv_push(&found, name) < 0))
                        return coi_error_set(err, ENOMEM, "container name: %m");
        }
        size_t n = strv_length(found);
        if (n == 0)
                return coi_error_set(
                        err, ENOENT,
                        "no COI containers found for current workspace - use --container to specify");
        if (n > 1) {
                char list[512] = "";
                for (size_t k = 0; k < n; k++)
                        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", k ? ", " : "",
                                 found[k]);
                return coi_error_set(
                        err, EINVAL,
                        "multiple COI containers found for workspace, use --container to specify: %s", list);
        }
        *ret = strdup(found[0]);
        return *ret ? 0 : coi_error_set(err, ENOMEM, "container name: %m");
}

/* "2006-01-02 15:04:05" in local time, from the stored RFC 3339 UTC time. */
static void local_time(const char *rfc3339, char buf[32])
{
        struct tm tm = { 0 };
        const char *end = strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (!end || *end) {
                snprintf(buf, 32, "%s", rfc3339);
                return;
        }
        time_t t = timegm(&tm);
        localtime_r(&t, &tm);
        strftime(buf, 32, "%Y-%m-%d %H:%M:%S", &tm);
}

static void human_size(uint64_t n, char buf[32])
{
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
        double v = (double)n;
        size_t u = 0;
        while (v >= 1024 && u + 1 < ELEMENTSOF(units))
                v /= 1024, u++;
        if (u == 0)
                snprintf(buf, 32, "%llu B", (unsigned long long)n);
        else
                snprintf(buf, 32, "%.1f %s", v, units[u]);
}

/* The NAME / CREATED / STATEFUL table, each line prefixed by indent. */
static void print_table(struct snapshot_info *const *list, const char *indent)
{
        int w = 4;
        for (size_t k = 0; list[k]; k++)
                if ((int)strlen(list[k]->name) > w)
                        w = (int)strlen(list[k]->name);
        printf("%s%-*s  %-19s  %s\n", indent, w, "NAME", "CREATED", "STATEFUL");
        for (size_t k = 0; list[k]; k++) {
                char when[32];
                local_time(list[k]->created_at, when);
                printf("%s%-*s  %-19s  %s\n", indent, w, list[k]->name, when,
                       list[k]->stateful ? "yes" : "no");
        }
}
static size_t count(struct snapshot_info *const *list)
{
        size_t n = 0;
        while (list[n])
                n++;
        return n;
}

/* Asks "Continue? [y/N]" on stderr; says "Aborted" unless the answer is yes. */
static bool confirm(void)
{
        fprintf(stderr, "Continue? [y/N]: ");
        fflush(stderr);
        char line[64];
        bool yes = fgets(line, sizeof(line), stdin) &&
                   (streq(line, "y\n") || streq(line, "Y\n") || streq(line, "yes\n") ||
                    streq(line, "YES\n") || streq(line, "y") || streq(line, "yes"));
        if (!yes)
                fprintf(stderr, "Aborted\n");
        return yes;
}

/* Prints the JSON a snapshot_*_json call made (r, its result) and frees it: the verb's exit code. */
static int print_json(int r, char **json, const struct coi_error *err)
{
        _cleanup_free_ char *out = TAKE_PTR(*json);
        if (r < 0)
                return fail(err);
        printf("%s\n", out);
        return 0;
}

/* The store and the container a verb works on. */
struct target {
        struct container_store *s;
        char *container;
};

static void target_done(struct target *t)
{
        container_store_free(t->s);
        free(t->container);
}

/* 0, or the exit code once the error is printed. */
static int target_open(const struct cli_call *call, struct target *t)
{
        struct coi_error err = { 0 };
        if (container_store_open(&t->s, &err) < 0 || resolve_container(t->s, call, &t->container, &err) < 0)
                return fail(&err);
        return 0;
}

static int do_create(const struct cli_call *call)
{
        struct coi_error err = { 0 };
        if (cli_bool(call, "stateful"))
                return cli_error(1, "stateful snapshots (process memory) are not supported by coi: drop "
                                    "--stateful for a filesystem snapshot");
        char defname[32];
        const char *name = name_arg(call);
        if (!name) {
                snapshot_default_name(defname);
                name = defname;
        }
        if (snapshot_validate_name(name, &err) < 0)
                return fail(&err);
        _cleanup_(target_done) struct target t = { 0 };
        int r = target_open(call, &t);
        if (r)
                return r;
        if (snapshot_create(t.s, t.container, name, NULL, &err) < 0)
                return fail(&err);
        fprintf(stderr, "Created snapshot '%s' for container '%s'\n", name, t.container);
        return 0;
}

static int list_all(struct container_store *s, bool json)
{
        struct coi_error err = { 0 };
        struct container_info **cs = NULL;
        if (container_list(s, &cs, &err) < 0)
                return fail(&err);
        _cleanup_strv_ char **names = NULL;
        for (size_t k = 0; cs[k]; k++)
                if (strv_push(&names, cs[k]->name) < 0) {
                        container_info_list_free(cs);
                        return fail(&(struct coi_error){ ENOMEM, "out of memory" });
                }
        container_info_list_free(cs);
        size_t n = strv_length(names);
        if (n == 0) {
                fprintf(stderr, "No COI containers found\n");
                return 0;
        }
        struct snapshot_info ***lists = calloc(n + 1, sizeof(*lists));
        if (!lists)
                return fail(&(struct coi_error){ ENOMEM, "out of memory" });
        for (size_t k = 0; k < n; k++) {
                struct coi_error e = { 0 };
                if (snapshot_list(s, names[k], &lists[k], &e) < 0)
                        lists[k] = NULL; /* vanished meanwhile, or unreadable: shown as an error below */
        }
        int code = 0;
        if (json) {
                char *out = NULL;
                code = print_json(snapshot_all_json(names, lists, &out, &err), &out, &err);
        } else {
                for (size_t k = 0; k < n; k++) {
                        if (!lists[k]) {
                                fprintf(stderr, "\nContainer %s: (error listing snapshots)\n", names[k]);
                                continue;
                        }
                        printf("\nSnapshots for %s:\n", names[k]);
                        if (!lists[k][0])
                                printf("  (none)\n");
                        else
                                print_table(lists[k], "  ");
                }
        }
        for (size_t k = 0; k < n; k++)
                snapshot_info_list_free(lists[k]);
        free(lists);
        return code;
}

static int do_list(const struct cli_call *call)
{
        bool json = wants_json(call);
        struct coi_error err = { 0 };
        _cleanup_(target_done) struct target t = { 0 };
        if (cli_bool(call, "all")) {
                if (container_store_open(&t.s, &err) < 0)
                        return fail(&err);
                return list_all(t.s, json);
        }
        int r = target_open(call, &t);
        if (r)
                return r;
        struct snapshot_info **list = NULL;
        if (snapshot_list(t.s, t.container, &list, &err) < 0)
                return fail(&err);
        int code = 0;
        if (json) {
                char *out = NULL;
                code = print_json(snapshot_list_json(t.container, list, &out, &err), &out, &err);
        } else {
                size_t n = count(list);
                printf("Snapshots for %s:\n\n", t.container);
                if (n == 0)
                        printf("(none)\n");
                else
                        print_table(list, "");
                printf("\nTotal: %zu snapshot%s\n", n, n == 1 ? "" : "s");
        }
        snapshot_info_list_free(list);
        return code;
}

static int do_restore(const struct cli_call *call)
{
        if (cli_bool(call, "stateful"))
                return cli_error(1, "stateful restore is not supported by coi (its snapshots hold no "
                                    "process memory): drop --stateful");
        const char *name = call->args[0], *as = cli_str(call, "as");
        struct coi_error err = { 0 };
        _cleanup_(target_done) struct target t = { 0 };
        int r = target_open(call, &t);
        if (r)
                return r;
        if (*as) {
                if (snapshot_branch(t.s, t.container, name, as, &err) < 0)
                        return fail(&err);
                fprintf(stderr, "Created container '%s' from snapshot '%s' of container '%s'\n", as, name,
                        t.container);
                return 0;
        }
        _cleanup_(snapshot_info_freep) struct snapshot_info *info = NULL;
        if (snapshot_get(t.s, t.container, name, &info, &err) < 0)
                return fail(&err);
        if (!cli_bool(call, "force")) {
                struct container_info *ci = NULL;
                bool stopped =
                        container_info_get(t.s, t.container, &ci, &err) == 0 && streq(ci->status, "stopped");
                container_info_free(ci);
                if (stopped) { /* a running one is refused below without asking */
                        fprintf(stderr, "WARNING: This will restore container '%s' to snapshot '%s'.\n",
                                t.container, name);
                        fprintf(stderr, "All changes since the snapshot will be lost.\n\n");
                        if (!confirm())
                                return 0;
                }
        }
        if (snapshot_restore(t.s, t.container, name, &err) < 0)
                return fail(&err);
        fprintf(stderr, "Restored container '%s' from snapshot '%s'\n", t.container, name);
        return 0;
}

static int do_delete(const struct cli_call *call)
{
        const char *name = name_arg(call);
        bool all = cli_bool(call, "all");
        if (!name && !all)
                return cli_error(2, "snapshot name required (or use --all to delete all snapshots)");
        if (name && all)
                return cli_error(2, "a snapshot name and --all are mutually exclusive");
        struct coi_error err = { 0 };
        _cleanup_(target_done) struct target t = { 0 };
        int r = target_open(call, &t);
        if (r)
                return r;
        if (name) {
                if (snapshot_delete(t.s, t.container, name, &err) < 0)
                        return fail(&err);
                fprintf(stderr, "Deleted snapshot '%s' from container '%s'\n", name, t.container);
                return 0;
        }
        struct snapshot_info **list = NULL;
        if (snapshot_list(t.s, t.container, &list, &err) < 0)
                return fail(&err);
        int code = 0;
        if (!list[0]) {
                fprintf(stderr, "No snapshots to delete for container '%s'\n", t.container);
        } else {
                bool go = cli_bool(call, "force");
                if (!go) {
                        fprintf(stderr, "WARNING: This will delete ALL %zu snapshot(s) for container '%s':\n",
                                count(list), t.container);
                        for (size_t k = 0; list[k]; k++)
                                fprintf(stderr, "  - %s\n", list[k]->name);
                        fputc('\n', stderr);
                        go = confirm();
                }
                for (size_t k = 0; go && list[k]; k++) {
                        if (snapshot_delete(t.s, t.container, list[k]->name, &err) < 0) {
                                fprintf(stderr, "Failed to delete snapshot '%s': %s\n", list[k]->name,
                                        err.msg);
                                code = 1;
                        } else {
                                fprintf(stderr, "Deleted snapshot '%s'\n", list[k]->name);
                        }
                }
        }
        snapshot_info_list_free(list);
        return code;
}

static int do_info(const struct cli_call *call)
{
        struct coi_error err = { 0 };
        _cleanup_(target_done) struct target t = { 0 };
        int r = target_open(call, &t);
        if (r)
                return r;
        _cleanup_(snapshot_info_freep) struct snapshot_info *info = NULL;
        if (snapshot_get(t.s, t.container, call->args[0], &info, &err) < 0)
                return fail(&err);
        if (wants_json(call)) {
                char *out = NULL;
                return print_json(snapshot_json(info, t.container, &out, &err), &out, &err);
        }
        char when[32], size[32];
        local_time(info->created_at, when);
        human_size(info->size, size);
        printf("Snapshot: %s\n", info->name);
        printf("Container: %s\n", t.container);
        printf("Created: %s\n", when);
        printf("Stateful: %s\n", info->stateful ? "yes (includes process memory)" : "no");
        printf("Size: %s\n", size);
        return 0;
}

/* ---- the table ---- */

/* Flags several subcommands share. */
#define CONTAINER_FLAG                                                                                       \
        {                                                                                                    \
                .name = "container", .shorthand = 'c', .type = CLI_STRING,                                   \
                .help = "the container (default: $COI_CONTAINER, else the workspace's one container)"        \
        }
#define JSON_FLAG                                                                                            \
        {                                                                                                    \
                .name = "json", .type = CLI_BOOL, .help = "coi: same as --format json"                       \
        }

static const struct cli_flag create_flags[] = {
        CONTAINER_FLAG,
        { .name = "stateful", .type = CLI_BOOL, .help = "include process memory (not supported by coi)" },
        { 0 },
};
static const struct cli_flag list_flags[] = {
        CONTAINER_FLAG,
        CLI_FLAG_FORMAT_TEXT_JSON,
        JSON_FLAG,
        { .name = "all", .shorthand = 'a', .type = CLI_BOOL, .help = "the snapshots of every container" },
        { 0 },
};
static const struct cli_flag restore_flags[] = {
        CONTAINER_FLAG,
        { .name = "force", .shorthand = 'f', .type = CLI_BOOL, .help = "do not ask first" },
        { .name = "stateful", .type = CLI_BOOL, .help = "restore process memory (not supported by coi)" },
        { .name = "as",
          .type = CLI_STRING,
          .help = "coi: branch: create the new stopped container NEW from the snapshot instead" },
        { 0 },
};
static const struct cli_flag delete_flags[] = {
        CONTAINER_FLAG,
        { .name = "force", .shorthand = 'f', .type = CLI_BOOL, .help = "do not ask first (with --all)" },
        { .name = "all",
          .shorthand = 'a',
          .type = CLI_BOOL,
          .help = "delete every snapshot of the container" },
        { 0 },
};
static const struct cli_flag info_flags[] = { CONTAINER_FLAG, CLI_FLAG_FORMAT_TEXT_JSON, JSON_FLAG, { 0 } };

static const struct cli_command create_cmd = {
        .name = "create",
        .use = "[name]",
        .summary = "Snapshot a container",
        .description = "Snapshot the container's filesystem as <name> (default snap-YYYYMMDD-HHMMSS).\n"
                       "The container: --container, else $COI_CONTAINER, else the one container of the\n"
                       "workspace (-w).",
        .flags = create_flags,
        .args = CLI_ARGS_MAX,
        .n = 1,
        .run = do_create,
};
static const struct cli_command list_cmd = {
        .name = "list",
        .summary = "List a container's snapshots",
        .description = "List a container's snapshots (--all: every container's).",
        .flags = list_flags,
        .args = CLI_ARGS_ANY,
        .run = do_list,
};
static const struct cli_command restore_cmd = {
        .name = "restore",
        .use = "<name>",
        .summary = "Roll a stopped container back to a snapshot",
        .description = "Roll a stopped container back to the snapshot <name>; everything since is lost.\n"
                       "With --as NEW (coi), create a new stopped container from the snapshot instead.",
        .flags = restore_flags,
        .args = CLI_ARGS_EXACT,
        .n = 1,
        .run = do_restore,
};
static const struct cli_command delete_cmd = {
        .name = "delete",
        .use = "<name>", /* upstream's words, though --all needs none */
        .summary = "Delete a snapshot (or all with --all)",
        .flags = delete_flags,
        .args = CLI_ARGS_MAX,
        .n = 1,
        .run = do_delete,
};
static const struct cli_command info_cmd = {
        .name = "info",
        .use = "<name>",
        .summary = "Show one snapshot's details",
        .flags = info_flags,
        .args = CLI_ARGS_EXACT,
        .n = 1,
        .run = do_info,
};

static const struct cli_command *const snapshot_commands[] = {
        &create_cmd, &list_cmd, &restore_cmd, &delete_cmd, &info_cmd, NULL,
};

const struct cli_command cli_cmd_snapshot = {
        .name = "snapshot",
        .summary = "Manage container snapshots",
        .description = "Create, list, restore, delete and inspect snapshots of a container's filesystem.\n"
                       "The container: -c/--container, else $COI_CONTAINER, else the one container of the\n"
                       "workspace (-w/--workspace, default the current directory).",
        .subcommands = snapshot_commands,
};
