/* cmd-snapshot.c — `coi snapshot create|list|restore|delete|info` as code-on-incus 0.8 has them (plus
 * `restore --as NEW` to branch): resolves the container, calls snapshot.c, prints. Errors exit 1, usage 2. */
#include <stdio.h>
#include <time.h>

#include "cmd-util.h"
#include "commands.h"
#include "session/slots.h"
#include "container/snapshot.h"
#include "util.h"
#include "session/workspace.h"

static const char usage_text[] =
        "Usage: coi snapshot COMMAND [flags]\n"
        "  create [NAME] [-c CONTAINER] [--stateful]   snapshot the container (default name "
        "snap-YYYYMMDD-HHMMSS)\n"
        "  list [-c CONTAINER] [--all] [--format text|json]\n"
        "  restore NAME [-c CONTAINER] [-f]            roll a stopped container back to NAME\n"
        "  restore NAME --as NEW [-c CONTAINER]        branch: a new stopped container NEW from NAME\n"
        "  delete NAME|--all [-c CONTAINER] [-f]\n"
        "  info NAME [-c CONTAINER] [--format text|json]\n"
        "The container: -c/--container, else $COI_CONTAINER, else the one container of the workspace\n"
        "(-w/--workspace DIR, default the current directory).\n";

#define usage(...) cmd_usage("snapshot", usage_text, __VA_ARGS__)

struct snap_flags {
        const char *container, *workspace, *format, *as;
        const char *name;
        bool stateful, force, all;
};

static int fail(const struct coi_error *err)
{
        fprintf(stderr, "Error: %s\n", err->msg);
        return 1;
}

/* "--flag value", "--flag=value" or "-c value"; NULL if argv[*i] is none of the given spellings. */
static const char *flag_value(int argc, char **argv, int *i, const char *lng, const char *shrt, bool *missing)
{
        const char *a = argv[*i];
        size_t n = strlen(lng);
        if (strncmp(a, lng, n) == 0 && a[n] == '=')
                return a + n + 1;
        if (!streq(a, lng) && !(shrt && streq(a, shrt)))
                return NULL;
        if (*i + 1 >= argc) {
                *missing = true;
                return NULL;
        }
        return argv[++*i];
}
/* Flags the verb accepts, by letter: c container, s stateful, f force, a all, F format, A as; and its
 * snapshot NAME: n optional, N required. */
static int parse(int argc, char **argv, const char *accepted, struct snap_flags *f)
{
        const char *verb = argv[0];
        int max_pos = strchr(accepted, 'n') || strchr(accepted, 'N') ? 1 : 0;
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                bool missing = false;
                const char *v;
                if ((v = flag_value(argc, argv, &i, "--container", "-c", &missing)) && strchr(accepted, 'c'))
                        f->container = v;
                else if (!missing && (v = flag_value(argc, argv, &i, "--workspace", "-w", &missing)))
                        f->workspace = v;
                else if (!missing && strchr(accepted, 'F') &&
                         (v = flag_value(argc, argv, &i, "--format", NULL, &missing))) {
                        if (!streq(v, "text") && !streq(v, "json"))
                                return usage("%s: --format %s: expected text or json", verb, v);
                        f->format = v;
                } else if (!missing && strchr(accepted, 'A') &&
                           (v = flag_value(argc, argv, &i, "--as", NULL, &missing)))
                        f->as = v;
                else if (missing)
                        return usage("%s: %s needs a value", verb, a);
                else if (strchr(accepted, 'F') && streq(a, "--json"))
                        f->format = "json";
                else if (strchr(accepted, 's') && streq(a, "--stateful"))
                        f->stateful = true;
                else if (strchr(accepted, 'f') && (streq(a, "--force") || streq(a, "-f")))
                        f->force = true;
                else if (strchr(accepted, 'a') && (streq(a, "--all") || streq(a, "-a")))
                        f->all = true;
                else if (streq(a, "--help") || streq(a, "-h"))
                        return usage(NULL);
                else if (a[0] == '-' && a[1])
                        return usage("%s: unknown flag %s", verb, a);
                else if (!f->name && max_pos > 0)
                        f->name = a;
                else
                        return usage("%s: accepts at most %d arg(s), received more (%s)", verb, max_pos, a);
        }
        if (strchr(accepted, 'N') && !f->name)
                return usage("%s: accepts 1 arg(s), received 0 (the snapshot's name is required)", verb);
        return 0;
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
static int resolve_container(struct container_store *s, const struct snap_flags *f, char **ret,
                             struct coi_error *err)
{
        const char *given = f->container;
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
        int r = workspace_resolve(f->workspace, NULL, &ws, err);
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
static int target_open(const struct snap_flags *f, struct target *t)
{
        struct coi_error err = { 0 };
        if (container_store_open(&t->s, &err) < 0 || resolve_container(t->s, f, &t->container, &err) < 0)
                return fail(&err);
        return 0;
}

static int do_create(const struct snap_flags *f)
{
        struct coi_error err = { 0 };
        if (f->stateful) {
                fprintf(stderr, "Error: stateful snapshots (process memory) are not supported by coi: "
                                "drop --stateful for a filesystem snapshot\n");
                return 1;
        }
        char defname[32];
        if (!f->name)
                snapshot_default_name(defname);
        const char *name = f->name ? f->name : defname;
        if (snapshot_validate_name(name, &err) < 0)
                return fail(&err);
        _cleanup_(target_done) struct target t = { 0 };
        int r = target_open(f, &t);
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

static int do_list(const struct snap_flags *f)
{
        bool json = f->format && streq(f->format, "json");
        struct coi_error err = { 0 };
        _cleanup_(target_done) struct target t = { 0 };
        if (f->all) {
                if (container_store_open(&t.s, &err) < 0)
                        return fail(&err);
                return list_all(t.s, json);
        }
        int r = target_open(f, &t);
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

static int do_restore(const struct snap_flags *f)
{
        if (f->stateful) {
                fprintf(stderr,
                        "Error: stateful restore is not supported by coi (its snapshots hold no process "
                        "memory): drop --stateful\n");
                return 1;
        }
        struct coi_error err = { 0 };
        _cleanup_(target_done) struct target t = { 0 };
        int r = target_open(f, &t);
        if (r)
                return r;
        if (f->as) {
                if (snapshot_branch(t.s, t.container, f->name, f->as, &err) < 0)
                        return fail(&err);
                fprintf(stderr, "Created container '%s' from snapshot '%s' of container '%s'\n", f->as,
                        f->name, t.container);
                return 0;
        }
        _cleanup_(snapshot_info_freep) struct snapshot_info *info = NULL;
        if (snapshot_get(t.s, t.container, f->name, &info, &err) < 0)
                return fail(&err);
        if (!f->force) {
                struct container_info *ci = NULL;
                bool stopped =
                        container_info_get(t.s, t.container, &ci, &err) == 0 && streq(ci->status, "stopped");
                container_info_free(ci);
                if (stopped) { /* a running one is refused below without asking */
                        fprintf(stderr, "WARNING: This will restore container '%s' to snapshot '%s'.\n",
                                t.container, f->name);
                        fprintf(stderr, "All changes since the snapshot will be lost.\n\n");
                        if (!confirm())
                                return 0;
                }
        }
        if (snapshot_restore(t.s, t.container, f->name, &err) < 0)
                return fail(&err);
        fprintf(stderr, "Restored container '%s' from snapshot '%s'\n", t.container, f->name);
        return 0;
}

static int do_delete(const struct snap_flags *f)
{
        if (!f->name && !f->all)
                return usage("snapshot name required (or use --all to delete all snapshots)");
        if (f->name && f->all)
                return usage("delete: a NAME and --all exclude each other");
        struct coi_error err = { 0 };
        _cleanup_(target_done) struct target t = { 0 };
        int r = target_open(f, &t);
        if (r)
                return r;
        if (f->name) {
                if (snapshot_delete(t.s, t.container, f->name, &err) < 0)
                        return fail(&err);
                fprintf(stderr, "Deleted snapshot '%s' from container '%s'\n", f->name, t.container);
                return 0;
        }
        struct snapshot_info **list = NULL;
        if (snapshot_list(t.s, t.container, &list, &err) < 0)
                return fail(&err);
        int code = 0;
        if (!list[0]) {
                fprintf(stderr, "No snapshots to delete for container '%s'\n", t.container);
        } else {
                bool go = f->force;
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

static int do_info(const struct snap_flags *f)
{
        struct coi_error err = { 0 };
        _cleanup_(target_done) struct target t = { 0 };
        int r = target_open(f, &t);
        if (r)
                return r;
        _cleanup_(snapshot_info_freep) struct snapshot_info *info = NULL;
        if (snapshot_get(t.s, t.container, f->name, &info, &err) < 0)
                return fail(&err);
        if (f->format && streq(f->format, "json")) {
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

static int cmd_snapshot(int argc, char **argv)
{
        /* flags: what parse accepts for the verb. */
        static const struct {
                const char *name, *flags;
                int (*run)(const struct snap_flags *f);
        } verbs[] = {
                { "create", "csn", do_create },     { "list", "caF", do_list },
                { "restore", "csfAN", do_restore }, { "delete", "cfan", do_delete },
                { "info", "cFN", do_info },
        };
        if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
                fputs(usage_text, argc < 2 ? stderr : stdout);
                return argc < 2 ? 2 : 0;
        }
        for (size_t k = 0; k < ELEMENTSOF(verbs); k++) {
                if (!streq(argv[1], verbs[k].name))
                        continue;
                struct snap_flags f = { 0 };
                int r = parse(argc - 1, argv + 1, verbs[k].flags, &f);
                return r ?: verbs[k].run(&f);
        }
        return usage("unknown command \"%s\"", argv[1]);
}

/* TRANSITIONAL (issue 18): parses its own argv until it takes a cli_call. */
const struct cli_command cli_cmd_snapshot = {
        .name = "snapshot",
        .summary = "Create, list, restore, delete and inspect container snapshots",
        .raw = cmd_snapshot
};
