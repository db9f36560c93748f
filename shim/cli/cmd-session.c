/* cmd-session.c — `coi list|info|shutdown|kill|persist|unfreeze|clean`: the containers of coi (name
 * prefix coi-) and the saved sessions, as code-on-incus 0.8 shows and removes them. */
#include <stdarg.h>
#include <sys/stat.h>

#include "cmd-util.h"
#include "commands.h"
#include "net/net.h"
#include "session/placeholders.h"
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

/* The sandbox's address on coi's bridge (its network record), "" without one. */
static void ipv4_of(const struct net_options *o, const char *name, char buf[static 16])
{
        struct net_record rec = { 0 };
        buf[0] = 0;
        if (net_name_valid(name) && net_record_load(o->state_dir, name, &rec, NULL) == 0 && rec.addr)
                snprintf(buf, 16, "%u.%u.%u.%u", rec.addr >> 24, (rec.addr >> 16) & 0xff,
                         (rec.addr >> 8) & 0xff, rec.addr & 0xff);
        net_record_done(&rec);
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

static int cmd_list(const struct cli_call *call)
{
        bool all = cli_bool(call, "all"), json = streq(cli_str(call, "format"), "json");
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
                struct net_options net;
                net_options_init(&net, true);
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
                        char ip[16];
                        ipv4_of(&net, c->name, ip);
                        printf(", \"persistent\": %s, \"ipv4\": \"%s\", \"pool\": \"\", \"alias\": ",
                               c->ephemeral ? "false" : "true", ip);
                        /* No storage pool (coi has none); the alias is the image's name. */
                        cmd_json_string(stdout, c->image);
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

static int cmd_info(const struct cli_call *call)
{
        struct coi_error err = { 0 };
        _cleanup_(session_meta_list_freep) struct session_meta **sessions = NULL;
        if (load_all_sessions(&sessions, &err) < 0)
                return fail(&err);
        const char *id = call->nargs > 0 ? call->args[0] : NULL;
        struct session_meta *m = NULL;
        for (size_t i = 0; sessions && sessions[i] && !m; i++)
                if (!id || streq(sessions[i]->session_id, id))
                        m = sessions[i];
        if (!m && id)
                return cli_error(1, "session not found: %s", id);
        if (!m)
                return cli_error(1, "no sessions found (specify session ID or use 'coi list --all')");
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

/* Every coi container (with status: only those in it) appended to *names. */
static int coi_containers(struct container_store *store, const char *status, char ***names)
{
        struct coi_error err = { 0 };
        struct container_info **list = NULL;
        if (container_list(store, &list, &err) < 0)
                return fail(&err);
        for (size_t i = 0; list[i]; i++)
                if (is_coi_container(list[i]->name) && (!status || streq(list[i]->status, status)) &&
                    strv_push(names, list[i]->name) < 0) {
                        container_info_list_free(list);
                        return cli_error(1, "out of memory");
                }
        container_info_list_free(list);
        return 0;
}

/* kill, shutdown and persist: the same walk over the names (or every container with --all), as
 * code-on-incus words it; a name that does not exist is a warning, none done an error. */
struct batch {
        const char *verb;  /* "kill" */
        const char *title; /* "Kill" */
        const char *ing;   /* "Killing" */
        const char *done;  /* "Killed" */
        const char *past;  /* "killed": "No containers were killed" */
        long long timeout; /* shutdown's */
        int (*fn)(struct container_store *s, const char *name, const struct batch *b, struct coi_error *err);
};

static int batch_run(const struct cli_call *call, const struct batch *b)
{
        bool force = cli_bool(call, "force");
        struct coi_error err = { 0 };
        _cleanup_(container_store_freep) struct container_store *store = NULL;
        _cleanup_strv_ char **names = NULL;
        if (cli_bool(call, "all")) {
                if (container_store_open(&store, &err) < 0)
                        return fail(&err);
                int r = coi_containers(store, NULL, &names);
                if (r)
                        return r;
                if (!names) {
                        printf("No containers to %s\n", b->verb);
                        return 0;
                }
                printf("Found %zu container(s):\n", strv_length(names));
                for (char **n = names; *n; n++)
                        printf("  - %s\n", *n);
                if (!force && !confirm("\n%s all these containers? [y/N]: ", b->title)) {
                        printf("Cancelled.\n");
                        return 0;
                }
        } else {
                if (call->nargs == 0)
                        return cli_error(1, "no container names provided - use 'coi list' to see active "
                                            "containers");
                for (int i = 0; i < call->nargs; i++)
                        if (strv_push(&names, call->args[i]) < 0)
                                return cli_error(1, "out of memory");
                /* As code-on-incus: one name is done at once, several are confirmed first. */
                if (!force && call->nargs > 1 &&
                    !confirm("%s %d container(s)? [y/N]: ", b->title, call->nargs)) {
                        printf("Cancelled.\n");
                        return 0;
                }
                if (container_store_open(&store, &err) < 0)
                        return fail(&err);
        }
        int done = 0;
        for (char **n = names; *n; n++) {
                printf("%s container %s", b->ing, *n);
                if (b->timeout >= 0)
                        printf(" (timeout: %llds)", b->timeout);
                printf("...\n");
                fflush(stdout);
                _cleanup_(container_info_freep) struct container_info *info = NULL;
                int r = container_info_get(store, *n, &info, &err);
                if (r == -ENOENT || r == -EINVAL) {
                        fprintf(stderr, "  Warning: Container %s does not exist\n", *n);
                        continue;
                }
                if (r >= 0)
                        r = b->fn(store, *n, b, &err);
                if (r < 0) {
                        fprintf(stderr, "  Warning: Failed to %s %s: %s\n", b->verb, *n, err.msg);
                        continue;
                }
                printf("  ✓ %s %s\n", b->done, *n);
                done++;
        }
        if (done) {
                printf("\n%s %d container(s)\n", b->done, done);
                return 0;
        }
        printf("\nNo containers were %s\n", b->past);
        fflush(stdout);
        return cli_error(1, "failed to %s specified containers", b->verb);
}

/* kill: stop at once; shutdown: stop within the timeout, then kill. Then delete. */
static int stop_and_delete(struct container_store *s, const char *name, const struct batch *b,
                           struct coi_error *err)
{
        bool kill_mode = b->timeout < 0;
        struct container_stop_result res = { 0 };
        int r = container_stop(s, name, kill_mode ? 0 : (int)b->timeout, kill_mode, &res, err);
        if (r < 0 && r != -ENOENT)
                return r;
        r = container_delete(s, name, true, err);
        return r == -ENOENT ? 0 : r;
}

static int make_persistent(struct container_store *s, const char *name, const struct batch *b,
                           struct coi_error *err)
{
        (void)b;
        return container_set_ephemeral(s, name, false, err);
}

static int cmd_shutdown(const struct cli_call *call)
{
        long long timeout = cli_int(call, "timeout");
        if (timeout < 0)
                return cli_error(2, "invalid --timeout \"%lld\": a number of seconds", timeout);
        struct batch b = { "shutdown", "Shutdown", "Shutting down", "Shutdown",
                           "shutdown", timeout,    stop_and_delete };
        return batch_run(call, &b);
}

static int cmd_kill(const struct cli_call *call)
{
        static const struct batch b = { "kill", "Kill", "Killing", "Killed", "killed", -1, stop_and_delete };
        return batch_run(call, &b);
}

static int cmd_persist(const struct cli_call *call)
{
        static const struct batch b = { "persist",   "Persist", "Persisting",   "Persisted",
                                        "persisted", -1,        make_persistent };
        return batch_run(call, &b);
}

/* unfreeze NAME, or every frozen coi container. */
static int cmd_unfreeze(const struct cli_call *call)
{
        struct coi_error err = { 0 };
        _cleanup_(container_store_freep) struct container_store *store = NULL;
        if (container_store_open(&store, &err) < 0)
                return fail(&err);
        _cleanup_strv_ char **names = NULL;
        if (call->nargs > 0) {
                _cleanup_(container_info_freep) struct container_info *info = NULL;
                int r = container_info_get(store, call->args[0], &info, &err);
                if (r == -ENOENT || r == -EINVAL)
                        return cli_error(1, "container %s not found", call->args[0]);
                if (r < 0)
                        return fail(&err);
                if (strv_push(&names, call->args[0]) < 0)
                        return cli_error(1, "out of memory");
        } else {
                int r = coi_containers(store, "paused", &names);
                if (r)
                        return r;
                if (!names) {
                        printf("No frozen containers\n");
                        return 0;
                }
        }
        int failed = 0;
        for (char **n = names; *n; n++) {
                if (container_unfreeze(store, *n, &err) < 0) {
                        fprintf(stderr, "coi: %s\n", err.msg);
                        failed++;
                } else {
                        printf("Unfrozen: %s\n", *n);
                }
        }
        return failed ? 1 : 0;
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

/* Placeholders of protected paths that a killed session left in its workspace (recorded before made). */
static void clean_orphan_placeholders(struct container_store *store, bool dry_run, int *cleaned)
{
        struct coi_error err = { 0 };
        _cleanup_strv_ char **hashes = NULL;
        if (placeholders_orphans(store, &hashes, &err) < 0) {
                fprintf(stderr, "coi: %s\n", err.msg);
                return;
        }
        for (char **h = hashes; h && *h; h++) {
                printf("%s protected-path placeholders left in workspace %s\n",
                       dry_run ? "Would clean" : "Cleaning", *h);
                if (!dry_run)
                        placeholders_release(store, *h);
                (*cleaned)++;
        }
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

static int cmd_clean(const struct cli_call *call)
{
        bool all = cli_bool(call, "all"), force = cli_bool(call, "force"),
             sessions = cli_bool(call, "sessions"), orphans = cli_bool(call, "orphans"),
             pools = cli_bool(call, "pools"), dry_run = cli_bool(call, "dry-run");
        struct coi_error err = { 0 };
        _cleanup_(container_store_freep) struct container_store *store = NULL;
        if (container_store_open(&store, &err) < 0)
                return fail(&err);
        int cleaned = 0;
        bool containers = all || (!sessions && !orphans && !pools);
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
                clean_orphan_placeholders(store, dry_run, &cleaned);
                if (!dry_run) {
                        int n = container_store_sweep(store);
                        if (n > 0)
                                printf("Cleaning %d half-written file(s) of killed commands\n", n);
                        cleaned += n;
                }
                clean_orphan_networks(dry_run, &cleaned);
        }
        if (all || pools) {
                /* code-on-incus removes volumes Incus left in its storage pools; coi keeps each container
                 * in its data directory, which --orphans covers. */
                printf("\nChecking for orphaned storage pool volumes...\n");
                printf("  (none: coi keeps no storage pools)\n");
        }
        if (cleaned && dry_run)
                printf("\nWould clean %d item(s) (dry run)\n", cleaned);
        else if (cleaned)
                printf("\n✓ Cleaned %d item(s)\n", cleaned);
        else
                printf("\nNothing to clean.\n");
        return 0;
}

static const struct cli_flag list_flags[] = {
        { .name = "all", .shorthand = 'a', .type = CLI_BOOL, .help = "also list the saved sessions" },
        CLI_FLAG_FORMAT_TEXT_JSON,
        { 0 },
};

const struct cli_command cli_cmd_list = {
        .name = "list",
        .summary = "List active containers and saved sessions",
        .description = "List coi's containers (and with --all the saved sessions).\n"
                       "\n"
                       "Examples:\n"
                       "  coi list\n"
                       "  coi list --all --format json",
        .flags = list_flags,
        .args = CLI_ARGS_ANY,
        .run = cmd_list,
};

const struct cli_command cli_cmd_info = {
        .name = "info",
        .use = "[session-id]",
        .summary = "Show a saved session (default: the newest)",
        .args = CLI_ARGS_MAX,
        .n = 1,
        .run = cmd_info,
};

#define BATCH_FLAGS(what)                                                                                    \
        { .name = "force", .shorthand = 'f', .type = CLI_BOOL, .help = "do not ask first" },                 \
        {                                                                                                    \
                .name = "all", .shorthand = 'a', .type = CLI_BOOL, .help = what " every coi container"       \
        }

static const struct cli_flag kill_flags[] = { BATCH_FLAGS("kill"), { 0 } };
static const struct cli_flag persist_flags[] = { BATCH_FLAGS("persist"), { 0 } };
static const struct cli_flag shutdown_flags[] = {
        BATCH_FLAGS("shut down"),
        { .name = "timeout",
          .type = CLI_INT,
          .def = "60",
          .help = "seconds to wait for a graceful stop before killing" },
        { 0 },
};

const struct cli_command cli_cmd_shutdown = {
        .name = "shutdown",
        .use = "[container-name...]",
        .summary = "Gracefully stop and delete containers",
        .description =
                "Stop containers gracefully (killed after --timeout), then delete them. Several names\n"
                "or --all are confirmed first unless --force. coi list shows the names.",
        .flags = shutdown_flags,
        .args = CLI_ARGS_ANY,
        .run = cmd_shutdown,
};

const struct cli_command cli_cmd_kill = {
        .name = "kill",
        .use = "[container-name...]",
        .summary = "Force-stop and delete containers",
        .description =
                "Kill containers at once and delete them (coi shutdown stops them gracefully). Several\n"
                "names or --all are confirmed first unless --force. coi list shows the names.",
        .flags = kill_flags,
        .args = CLI_ARGS_ANY,
        .run = cmd_kill,
};

const struct cli_command cli_cmd_persist = {
        .name = "persist",
        .use = "[container-name...]",
        .summary = "Make containers persistent",
        .description = "Keep ephemeral containers after their session ends. Several names or --all are\n"
                       "confirmed first unless --force. coi list shows the names.",
        .flags = persist_flags,
        .args = CLI_ARGS_ANY,
        .run = cmd_persist,
};

static const struct cli_flag unfreeze_flags[] = {
        { .name = "all",
          .shorthand = 'a',
          .type = CLI_BOOL,
          .hidden = true,
          .help = "every frozen container (the same as no name)" },
        { 0 },
};

const struct cli_command cli_cmd_unfreeze = {
        .name = "unfreeze",
        .use = "[container-name]",
        .summary = "Thaw frozen containers (no name: every frozen one)",
        .flags = unfreeze_flags,
        .args = CLI_ARGS_MAX,
        .n = 1,
        .run = cmd_unfreeze,
};

static const struct cli_flag clean_flags[] = {
        { .name = "all", .shorthand = 'a', .type = CLI_BOOL, .help = "clean everything below" },
        { .name = "force", .shorthand = 'f', .type = CLI_BOOL, .help = "do not ask first" },
        { .name = "sessions", .type = CLI_BOOL, .help = "delete the saved sessions" },
        { .name = "orphans",
          .type = CLI_BOOL,
          .help = "remove what crashed containers left (mounts, cgroups, state, networks)" },
        { .name = "pools", .type = CLI_BOOL, .help = "storage pool volumes (coi has none: nothing to do)" },
        { .name = "dry-run", .type = CLI_BOOL, .help = "only say what would be cleaned" },
        { 0 },
};

const struct cli_command cli_cmd_clean = {
        .name = "clean",
        .summary = "Remove stopped containers, saved sessions, orphaned resources",
        .description =
                "Remove coi's stopped containers (the default), the saved sessions (--sessions), what\n"
                "crashed containers left behind (--orphans), or all of it (--all).",
        .flags = clean_flags,
        .args = CLI_ARGS_ANY,
        .run = cmd_clean,
};
