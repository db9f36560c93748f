/* cmd-session.c — `coi list|info|shutdown|kill|persist|unfreeze|clean`: the containers of coi (name
 * prefix coi-) and the saved sessions, as code-on-incus 0.8 shows and removes them. */
#include <stdarg.h>
#include <sys/stat.h>

#include "cmd-util.h"
#include "commands.h"
#include "net/net.h"
#include "session/session-run.h"
#include "util.h"

static int fail(const struct coi_error *err)
{
        fprintf(stderr, "coi: %s\n", err->msg);
        return 1;
}

static bool is_coi_container(const char *name)
{
        char hash[9];
        int slot;
        return workspace_parse_container_name(name, workspace_container_prefix(NULL), hash, &slot) == 0;
}

/* Incus's status words, which code-on-incus prints and puts in its JSON. */
static const char *incus_status(const char *status)
{
        if (streq(status, "running"))
                return "Running";
        if (streq(status, "paused"))
                return "Frozen";
        if (streq(status, "stopped"))
                return "Stopped";
        return "Created";
}

/* The workspace of a container: from the newest session metadata naming it. */
static const char *workspace_of(struct session_meta **sessions, const char *name)
{
        for (size_t i = 0; sessions && sessions[i]; i++)
                if (sessions[i]->container_name && streq(sessions[i]->container_name, name))
                        return sessions[i]->workspace;
        return NULL;
}

static int load_all_sessions(struct session_meta ***ret, struct coi_error *err)
{
        _cleanup_(config_freep) struct config *cfg = NULL;
        int r = config_load(NULL, &cfg, err);
        if (r < 0)
                return r;
        _cleanup_(session_meta_list_freep) struct session_meta **all = NULL;
        size_t n_all = 0;
        const char *tools[] = { "claude", "opencode" };
        for (size_t t = 0; t < ELEMENTSOF(tools); t++) {
                _cleanup_free_ char *dir = session_dir_for_tool(cfg, tools[t]);
                struct session_meta **l = NULL;
                size_t n = 0;
                if (!dir || sessions_list(dir, &l, &n, err) < 0)
                        continue;
                struct session_meta **nl = realloc(all, (n_all + n + 1) * sizeof(*nl));
                if (!nl) {
                        session_meta_list_free(l);
                        return coi_error_set(err, ENOMEM, "sessions: %m");
                }
                all = nl;
                memcpy(all + n_all, l, n * sizeof(*l));
                n_all += n;
                all[n_all] = NULL;
                free(l);
        }
        *ret = TAKE_PTR(all);
        return 0;
}

static int cmd_list(int argc, char **argv)
{
        bool all = false, json = false;
        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "-a") || streq(argv[i], "--all"))
                        all = true;
                else if (streq(argv[i], "--format=json") ||
                         (streq(argv[i], "--format") && i + 1 < argc && streq(argv[i + 1], "json") && ++i))
                        json = true;
                else if (streq(argv[i], "--format=text") ||
                         (streq(argv[i], "--format") && i + 1 < argc && streq(argv[i + 1], "text") && ++i))
                        json = false;
                else {
                        fprintf(stderr, "coi: unknown flag: %s\nUsage: coi list [-a] [--format text|json]\n",
                                argv[i]);
                        return 2;
                }
        }
        struct coi_error err = { 0 };
        _cleanup_(container_store_freep) struct container_store *store = NULL;
        if (container_store_open(&store, &err) < 0)
                return fail(&err);
        struct container_info **list = NULL;
        if (container_list(store, &list, &err) < 0)
                return fail(&err);
        _cleanup_(session_meta_list_freep) struct session_meta **sessions = NULL;
        load_all_sessions(&sessions, &err);
        if (json) {
                printf("{\n  \"active_containers\": [");
                bool first = true;
                for (size_t i = 0; list[i]; i++) {
                        struct container_info *c = list[i];
                        if (!is_coi_container(c->name))
                                continue;
                        printf("%s\n    {\"name\": ", first ? "" : ",");
                        cmd_json_string(stdout, c->name);
                        printf(", \"status\": ");
                        cmd_json_string(stdout, incus_status(c->status));
                        printf(", \"created_at\": ");
                        cmd_json_string(stdout, c->created);
                        printf(", \"image\": ");
                        cmd_json_string(stdout, c->image);
                        printf(", \"persistent\": %s, \"ipv4\": \"\"", c->ephemeral ? "false" : "true");
                        const char *ws = workspace_of(sessions, c->name);
                        if (ws) {
                                printf(", \"workspace\": ");
                                cmd_json_string(stdout, ws);
                        }
                        printf("}");
                        first = false;
                }
                printf("%s]", first ? "" : "\n  ");
                if (all && sessions && sessions[0]) {
                        printf(",\n  \"saved_sessions\": [");
                        for (size_t i = 0; sessions[i]; i++) {
                                printf("%s\n    {\"ID\": ", i ? "," : "");
                                cmd_json_string(stdout, sessions[i]->session_id);
                                printf(", \"SavedAt\": ");
                                cmd_json_string(stdout, sessions[i]->saved_at);
                                printf(", \"Workspace\": ");
                                cmd_json_string(stdout, sessions[i]->workspace);
                                printf("}");
                        }
                        printf("\n  ]");
                }
                printf("\n}\n");
        } else {
                printf("Active Containers:\n------------------\n");
                bool any = false;
                for (size_t i = 0; list[i]; i++) {
                        struct container_info *c = list[i];
                        if (!is_coi_container(c->name))
                                continue;
                        any = true;
                        printf("  %s (%s)\n    Status: %s\n    Created: %s\n    Image: %s\n", c->name,
                               c->ephemeral ? "ephemeral" : "persistent", incus_status(c->status), c->created,
                               c->image);
                        const char *ws = workspace_of(sessions, c->name);
                        if (ws)
                                printf("    Workspace: %s\n", ws);
                }
                if (!any)
                        printf("  (none)\n");
                if (all) {
                        printf("\nSaved Sessions:\n---------------\n");
                        if (!sessions || !sessions[0])
                                printf("  (none)\n");
                        for (size_t i = 0; sessions && sessions[i]; i++) {
                                printf("  %s\n    Saved: %s\n", sessions[i]->session_id,
                                       sessions[i]->saved_at);
                                if (sessions[i]->workspace && *sessions[i]->workspace)
                                        printf("    Workspace: %s\n", sessions[i]->workspace);
                        }
                }
        }
        container_info_list_free(list);
        return 0;
}

static int cmd_info(int argc, char **argv)
{
        struct coi_error err = { 0 };
        _cleanup_(session_meta_list_freep) struct session_meta **sessions = NULL;
        if (load_all_sessions(&sessions, &err) < 0)
                return fail(&err);
        const char *id = argc > 1 ? argv[1] : NULL;
        struct session_meta *m = NULL;
        for (size_t i = 0; sessions && sessions[i] && !m; i++)
                if (!id || streq(sessions[i]->session_id, id))
                        m = sessions[i];
        if (!m) {
                if (id)
                        fprintf(stderr, "coi: session %s not found\n", id);
                else
                        fprintf(stderr, "coi: no saved sessions\n");
                return 1;
        }
        printf("Session ID: %s\nContainer: %s\nPersistent: %s\nProfile: %s\nWorkspace: %s\nTool: %s\n"
               "Slot: %d\nCreated: %s\nSaved: %s\n",
               m->session_id, m->container_name ? m->container_name : "", m->persistent ? "true" : "false",
               m->profile_name ? m->profile_name : "", m->workspace ? m->workspace : "",
               m->tool ? m->tool : "", m->slot, m->created_at ? m->created_at : "",
               m->saved_at ? m->saved_at : "");
        return 0;
}

static bool confirm(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool confirm(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        fflush(stdout);
        char line[16];
        if (!fgets(line, sizeof(line), stdin))
                return false;
        return line[0] == 'y' || line[0] == 'Y';
}

/* Appends NAMES… (argv from first on, flags skipped) and with all every coi container to *ret. */
static int collect_names(int argc, char **argv, int first, bool all, struct container_store *store,
                         char ***ret)
{
        _cleanup_strv_ char **names = TAKE_PTR(*ret);
        for (int i = first; i < argc; i++)
                if (argv[i][0] != '-' && strv_push(&names, argv[i]) < 0)
                        return -ENOMEM;
        if (all) {
                struct coi_error err = { 0 };
                struct container_info **list = NULL;
                if (container_list(store, &list, &err) < 0)
                        return fail(&err), -EIO;
                for (size_t i = 0; list[i]; i++)
                        if (is_coi_container(list[i]->name))
                                strv_push(&names, list[i]->name);
                container_info_list_free(list);
        }
        *ret = TAKE_PTR(names);
        return 0;
}

static int stop_and_delete(int argc, char **argv, bool kill_mode)
{
        bool all = false, force = false;
        long timeout = 60;
        _cleanup_strv_ char **names = NULL;
        for (int i = 1; i < argc; i++) {
                const char *v = NULL;
                if (streq(argv[i], "-a") || streq(argv[i], "--all"))
                        all = true;
                else if (streq(argv[i], "-f") || streq(argv[i], "--force"))
                        force = true;
                else if (!kill_mode && streq(argv[i], "--timeout") && i + 1 < argc)
                        v = argv[++i];
                else if (!kill_mode && startswith(argv[i], "--timeout="))
                        v = argv[i] + 10;
                else if (argv[i][0] != '-') {
                        if (strv_push(&names, argv[i]) < 0)
                                return 1;
                } else {
                        fprintf(stderr, "coi: unknown flag: %s\n", argv[i]);
                        return 2;
                }
                if (v) {
                        char *end;
                        timeout = strtol(v, &end, 10);
                        if (!*v || *end || timeout < 0) {
                                fprintf(stderr, "coi: invalid --timeout \"%s\"\n", v);
                                return 2;
                        }
                }
        }
        struct coi_error err = { 0 };
        _cleanup_(container_store_freep) struct container_store *store = NULL;
        if (container_store_open(&store, &err) < 0)
                return fail(&err);
        if (all && collect_names(0, NULL, 0, true, store, &names) < 0)
                return 1;
        const char *verb = kill_mode ? "kill" : "shutdown";
        if (!names || !names[0]) {
                if (all) {
                        printf("No containers to %s\n", verb);
                        return 0;
                }
                fprintf(stderr,
                        "Error: no container names provided - use 'coi list' to see active containers\n");
                return 1;
        }
        if (!force) {
                printf("Found %zu container(s):\n", strv_length(names));
                for (char **n = names; *n; n++)
                        printf("  - %s\n", *n);
                if (!confirm("%s %zu container(s)? [y/N]: ", kill_mode ? "Kill" : "Shutdown",
                             strv_length(names))) {
                        printf("Cancelled.\n");
                        return 0;
                }
        }
        int done = 0, failed = 0;
        for (char **n = names; *n; n++) {
                if (kill_mode)
                        printf("Killing container %s...\n", *n);
                else
                        printf("Shutting down container %s (timeout: %lds)...\n", *n, timeout);
                struct container_stop_result res = { 0 };
                int r = container_stop(store, *n, (int)timeout, kill_mode, &res, &err);
                if (r == 0 || r == -ENOENT) {
                        struct coi_error e2 = { 0 };
                        r = container_delete(store, *n, true, &e2);
                        if (r == -ENOENT)
                                r = 0;
                        if (r < 0)
                                err = e2;
                }
                if (r < 0) {
                        fprintf(stderr, "  coi: %s\n", err.msg);
                        failed++;
                        continue;
                }
                printf("  ✓ %s %s\n", kill_mode ? "Killed" : "Shutdown", *n);
                done++;
        }
        if (done)
                printf("\n%s %d container(s)\n", kill_mode ? "Killed" : "Shutdown", done);
        else
                printf("\nNo containers were %s\n", kill_mode ? "killed" : "shutdown");
        return failed ? 1 : 0;
}

static int cmd_shutdown(int argc, char **argv)
{
        return stop_and_delete(argc, argv, false);
}

static int cmd_kill(int argc, char **argv)
{
        return stop_and_delete(argc, argv, true);
}

static int for_each_named(int argc, char **argv, const char *what,
                          int (*fn)(struct container_store *, const char *, struct coi_error *))
{
        bool all = false;
        for (int i = 1; i < argc; i++)
                if (streq(argv[i], "-a") || streq(argv[i], "--all"))
                        all = true;
        struct coi_error err = { 0 };
        _cleanup_(container_store_freep) struct container_store *store = NULL;
        if (container_store_open(&store, &err) < 0)
                return fail(&err);
        _cleanup_strv_ char **names = NULL;
        if (collect_names(argc, argv, 1, all, store, &names) < 0)
                return 1;
        if (!names || !names[0]) {
                fprintf(stderr, "coi: no container names provided (or -a)\n");
                return 2;
        }
        int failed = 0;
        for (char **n = names; *n; n++) {
                if (fn(store, *n, &err) < 0) {
                        fprintf(stderr, "coi: %s\n", err.msg);
                        failed++;
                } else {
                        printf("%s %s\n", what, *n);
                }
        }
        return failed ? 1 : 0;
}

static int make_persistent(struct container_store *s, const char *name, struct coi_error *err)
{
        return container_set_ephemeral(s, name, false, err);
}

static int cmd_persist(int argc, char **argv)
{
        return for_each_named(argc, argv, "Container is now persistent:", make_persistent);
}

static int cmd_unfreeze(int argc, char **argv)
{
        return for_each_named(argc, argv, "Unfrozen:", container_unfreeze);
}

/* --orphans: everything the crash-safety list of docs/system-containers.md names. */
static int clean_orphans(struct container_store *store, bool dry_run, int *cleaned)
{
        struct coi_error err = { 0 };
        _cleanup_strv_ char **cand = NULL;
        if (container_orphan_candidates(store, &cand, &err) < 0)
                return fail(&err);
        for (size_t i = 0; cand && cand[i]; i++) {
                bool seen = false;
                for (size_t j = 0; j < i; j++)
                        seen = seen || streq(cand[j], cand[i]);
                if (seen || container_validate_name(cand[i], &err) < 0)
                        continue;
                _cleanup_(container_info_freep) struct container_info *info = NULL;
                int r = container_info_get(store, cand[i], &info, &err);
                if (r == 0 && !streq(info->status, "stopped"))
                        continue; /* alive */
                const char *what = r < 0             ? "leftovers of"
                                   : info->ephemeral ? "stopped ephemeral"
                                                     : "leftover mounts of";
                printf("%s %s %s\n", dry_run ? "Would clean" : "Cleaning", what, cand[i]);
                if (dry_run) {
                        (*cleaned)++;
                        continue;
                }
                if (r < 0)
                        r = container_clean_orphan(store, cand[i], &err);
                else if (info->ephemeral)
                        r = container_delete(store, cand[i], true, &err);
                else
                        r = container_stop(store, cand[i], 0, true, NULL, &err);
                if (r < 0)
                        fprintf(stderr, "coi: %s\n", err.msg);
                else
                        (*cleaned)++;
        }
        return 0;
}

/* Container networks whose host veth is gone (the container died without its teardown), as `coi health`
 * counts them; net_orphans_remove() takes them down, and the lingering bridge when nothing uses it. */
static void clean_orphan_networks(bool dry_run, int *cleaned)
{
        struct net_options o;
        net_options_init(&o, true);
        _cleanup_strv_ char **names = NULL;
        struct coi_error err = { 0 };
        if (access(o.state_dir, F_OK) < 0)
                return;
        if (net_record_list(o.state_dir, &names, &err) < 0) {
                fprintf(stderr, "coi: %s\n", err.msg);
                return;
        }
        for (char **name = names; *name; name++) {
                struct net_record rec = { 0 };
                if (net_record_load(o.state_dir, *name, &rec, NULL) < 0)
                        continue;
                bool orphan = !rec.host_ifname[0] || !net_link_exists(rec.host_ifname);
                net_record_done(&rec);
                if (!orphan)
                        continue;
                printf("%s orphaned network of %s\n", dry_run ? "Would clean" : "Cleaning", *name);
                if (dry_run)
                        (*cleaned)++;
        }
        if (dry_run)
                return;
        int r = net_orphans_remove(&o, &err);
        if (r < 0)
                fprintf(stderr, "coi: %s\n", err.msg);
        else
                *cleaned += r;
}

static int cmd_clean(int argc, char **argv)
{
        bool all = false, force = false, sessions = false, orphans = false, dry_run = false;
        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "-a") || streq(argv[i], "--all"))
                        all = true;
                else if (streq(argv[i], "-f") || streq(argv[i], "--force"))
                        force = true;
                else if (streq(argv[i], "--sessions"))
                        sessions = true;
                else if (streq(argv[i], "--orphans"))
                        orphans = true;
                else if (streq(argv[i], "--dry-run"))
                        dry_run = true;
                else {
                        fprintf(stderr,
                                "coi: unknown flag: %s\nUsage: coi clean [-a] [--sessions] [--orphans] "
                                "[--dry-run] [-f]\n",
                                argv[i]);
                        return 2;
                }
        }
        struct coi_error err = { 0 };
        _cleanup_(container_store_freep) struct container_store *store = NULL;
        if (container_store_open(&store, &err) < 0)
                return fail(&err);
        int cleaned = 0;
        bool containers = all || (!sessions && !orphans);
        if (containers) {
                printf("Checking for stopped claude-on-incus containers...\n");
                struct container_info **list = NULL;
                if (container_list(store, &list, &err) < 0)
                        return fail(&err);
                _cleanup_strv_ char **stopped = NULL;
                for (size_t i = 0; list[i]; i++)
                        if (is_coi_container(list[i]->name) && streq(list[i]->status, "stopped"))
                                strv_push(&stopped, list[i]->name);
                container_info_list_free(list);
                if (!stopped) {
                        printf("  (no stopped containers found)\n");
                } else {
                        printf("Found %zu stopped container(s):\n", strv_length(stopped));
                        for (char **n = stopped; *n; n++)
                                printf("  - %s\n", *n);
                        if (!dry_run && (force || confirm("Delete these containers? [y/N]: "))) {
                                for (char **n = stopped; *n; n++) {
                                        printf("Deleting container %s...\n", *n);
                                        if (container_delete(store, *n, false, &err) < 0)
                                                fprintf(stderr, "coi: %s\n", err.msg);
                                        else
                                                cleaned++;
                                }
                        }
                }
        }
        if (all || sessions) {
                printf("\nChecking for saved session data...\n");
                _cleanup_(config_freep) struct config *cfg = NULL;
                if (config_load(NULL, &cfg, &err) < 0)
                        return fail(&err);
                const char *tools[] = { "claude", "opencode" };
                for (size_t t = 0; t < ELEMENTSOF(tools); t++) {
                        _cleanup_free_ char *dir = session_dir_for_tool(cfg, tools[t]);
                        struct session_meta **l = NULL;
                        size_t n = 0;
                        if (!dir || sessions_list(dir, &l, &n, &err) < 0 || n == 0) {
                                session_meta_list_free(l);
                                continue;
                        }
                        printf("Found %zu session(s):\n", n);
                        for (size_t i = 0; i < n; i++)
                                printf("  - %s\n", l[i]->session_id);
                        session_meta_list_free(l);
                        if (dry_run || !(force || confirm("Delete all saved sessions? [y/N]: ")))
                                continue;
                        size_t k = 0;
                        if (sessions_delete_all(dir, &k, &err) < 0)
                                fprintf(stderr, "coi: %s\n", err.msg);
                        cleaned += (int)k;
                }
        }
        if (all || orphans) {
                printf("\nChecking for orphaned resources...\n");
                clean_orphans(store, dry_run, &cleaned);
                clean_orphan_networks(dry_run, &cleaned);
        }
        if (cleaned && dry_run)
                printf("\nWould clean %d item(s) (dry run)\n", cleaned);
        else if (cleaned)
                printf("\n✓ Cleaned %d item(s)\n", cleaned);
        else
                printf("\nNothing to clean.\n");
        return 0;
}

/* TRANSITIONAL (issue 18): parses its own argv until it takes a cli_call. */
const struct cli_command cli_cmd_list = { .name = "list",
                                          .summary = "List active containers and saved sessions",
                                          .raw = cmd_list };
const struct cli_command cli_cmd_info = { .name = "info",
                                          .summary = "Show a saved session",
                                          .raw = cmd_info };
const struct cli_command cli_cmd_shutdown = { .name = "shutdown",
                                              .summary = "Gracefully stop and delete containers",
                                              .raw = cmd_shutdown };
const struct cli_command cli_cmd_kill = { .name = "kill",
                                          .summary = "Force-stop and delete containers",
                                          .raw = cmd_kill };
const struct cli_command cli_cmd_persist = { .name = "persist",
                                             .summary = "Make containers persistent",
                                             .raw = cmd_persist };
const struct cli_command cli_cmd_unfreeze = { .name = "unfreeze",
                                              .summary = "Thaw frozen containers",
                                              .raw = cmd_unfreeze };
const struct cli_command cli_cmd_clean = {
        .name = "clean",
        .summary = "Remove stopped containers, saved sessions, orphaned resources",
        .raw = cmd_clean
};
