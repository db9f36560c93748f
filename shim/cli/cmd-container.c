/* cmd-container.c — `coi container launch|start|stop|delete|exec|exists|running|list|info|mount`: each
 * subcommand's flags as data (cli.h), a handler that calls container.c and prints. Errors: one line,
 * exit 1; the usage errors code-on-incus raises itself exit 2. */
#include <limits.h>

#include "json-util.h"
#include "commands.h"
#include "container/container-limits.h"
#include "container/container.h"
#include "session/session-run.h"
#include "util.h"

#define STR(x)  #x
#define XSTR(x) STR(x)

static int fail(const struct coi_error *err)
{
        return cli_error(1, "%s", err->msg);
}

static int open_store(struct container_store **s)
{
        struct coi_error err = { 0 };
        if (container_store_open(s, &err) < 0)
                return fail(&err);
        return 0;
}

static int parse_id(const char *s, unsigned long *ret)
{
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || end == s || *end || v > UINT32_MAX - 1 || s[0] == '-')
                return -EINVAL;
        *ret = v;
        return 0;
}

/* ---- launch ---- */

static const char *const network_modes[] = { "restricted", "allowlist", "open", NULL };

static const struct cli_flag launch_flags[] = {
        { .name = "ephemeral", .type = CLI_BOOL, .help = "delete the container entirely when it stops" },
        { .name = "network",
          .type = CLI_STRING,
          .choices = network_modes,
          .help = "coi: give it a filtered network: restricted, allowlist or open (default: none)" },
        { .name = "allow",
          .type = CLI_STRINGS,
          .help = "coi: with --network allowlist, a host name pattern or IPv4 address/CIDR it may reach" },
        { .name = "no-wait",
          .type = CLI_BOOL,
          .help = "coi: return once init runs, not once systemd listens on its bus" },
        { 0 },
};

/* [monitoring] enabled: the security monitor comes with every start, as with a session's. */
static int start_monitor(const struct cli_call *call, struct container_store *s, const char *name)
{
        struct coi_error err = { 0 };
        const char *profile = cli_str(call, "profile");
        struct config_load_options lo = { .profile = *profile ? profile : NULL };
        _cleanup_(config_freep) struct config *cfg = NULL;
        if (config_load(&lo, &cfg, &err) < 0 || session_monitor_start(s, cfg, name, &err) < 0)
                return fail(&err);
        return 0;
}

static int cmd_launch(const struct cli_call *call)
{
        bool ephemeral = cli_bool(call, "ephemeral");
        if (ephemeral && cli_bool(call, "persistent"))
                return cli_error(2, "--ephemeral and --persistent flags are mutually exclusive");
        char *const *allowed = cli_strv(call, "allow");
        bool has_net = cli_changed(call, "network");
        if (allowed[0] && !has_net)
                return cli_error(2, "--allow flag requires --network flag");
        struct container_network net = { .allowed = allowed };
        if (has_net && net_mode_from_string(cli_str(call, "network"), &net.policy.mode) < 0)
                return cli_error(2, "invalid network '%s'", cli_str(call, "network"));
        _cleanup_(container_store_freep) struct container_store *s = NULL;
        int r = open_store(&s);
        if (r)
                return r;
        struct coi_error err = { 0 };
        struct container_launch_options o = { .image = call->args[0],
                                              .name = call->args[1],
                                              .ephemeral = ephemeral,
                                              .no_wait = cli_bool(call, "no-wait"),
                                              .network = has_net ? &net : NULL };
        if (container_launch(s, &o, &err) < 0)
                return fail(&err);
        return start_monitor(call, s, o.name);
}

/* ---- start, stop, delete ---- */

static int cmd_start(const struct cli_call *call)
{
        _cleanup_(container_store_freep) struct container_store *s = NULL;
        int r = open_store(&s);
        if (r)
                return r;
        struct coi_error err = { 0 };
        /* With the workspace and protected-path mounts its session launched it with, if recorded. */
        if (container_start_recorded(s, call->args[0], &err) < 0)
                return fail(&err);
        return start_monitor(call, s, call->args[0]);
}

static const struct cli_flag stop_flags[] = {
        { .name = "force",
          .shorthand = 'f',
          .type = CLI_BOOL,
          .help = "kill at once, without a clean shutdown" },
        { .name = "timeout",
          .type = CLI_INT,
          .def = XSTR(CONTAINER_STOP_TIMEOUT),
          .help = "coi: seconds to wait for a clean shutdown before killing (0 … 86400)" },
        { 0 },
};

static int cmd_stop(const struct cli_call *call)
{
        const char *name = call->args[0];
        long long timeout = cli_int(call, "timeout");
        if (timeout < 0 || timeout > 86400)
                return cli_error(2, "invalid timeout %lld: must be 0 … 86400 seconds", timeout);
        bool force = cli_bool(call, "force");
        _cleanup_(container_store_freep) struct container_store *s = NULL;
        int r = open_store(&s);
        if (r)
                return r;
        struct coi_error err = { 0 };
        struct container_stop_result res = { 0 };
        if (container_stop(s, name, (int)timeout, force, &res, &err) < 0)
                return fail(&err);
        if (res.killed && !force)
                fprintf(stderr, "coi: container %s did not shut down within %lld s: killed\n", name, timeout);
        return 0;
}

static const struct cli_flag delete_flags[] = {
        { .name = "force", .shorthand = 'f', .type = CLI_BOOL, .help = "delete a running container too" },
        { 0 },
};

static int cmd_delete(const struct cli_call *call)
{
        _cleanup_(container_store_freep) struct container_store *s = NULL;
        int r = open_store(&s);
        if (r)
                return r;
        struct coi_error err = { 0 };
        return container_delete(s, call->args[0], cli_bool(call, "force"), &err) < 0 ? fail(&err) : 0;
}

/* ---- exec ---- */

static const char *const exec_formats[] = { "json", "raw", NULL };

static const struct cli_flag exec_flags[] = {
        { .name = "user", .type = CLI_STRING, .help = "user id to run as (default 0; coi: also UID:GID)" },
        { .name = "group", .type = CLI_INT, .help = "group id to run as (default: the user's)" },
        { .name = "env", .type = CLI_STRINGS, .help = "environment variable KEY=VALUE (repeatable)" },
        { .name = "cwd",
          .type = CLI_STRING,
          .help = "working directory (default /workspace when the container has it, else /)" },
        { .name = "capture",
          .type = CLI_BOOL,
          .help = "collect the output and print it with the exit code (see --format)" },
        { .name = "format",
          .type = CLI_STRING,
          .def = "json",
          .choices = exec_formats,
          .help = "with --capture: json or raw (the output as it came)" },
        { .name = "tty",
          .shorthand = 't',
          .type = CLI_BOOL,
          .help = "interactive: the command gets this terminal (coi: no new pty)" },
        { 0 },
};

/* --user UID or UID:GID (the group defaults to UID). */
static int parse_user(const char *v, uid_t *uid, gid_t *gid)
{
        unsigned long u, g;
        const char *colon = strchr(v, ':');
        _cleanup_free_ char *us = colon ? strndup(v, (size_t)(colon - v)) : strdup(v);
        if (!us || parse_id(us, &u) < 0 || (colon && parse_id(colon + 1, &g) < 0))
                return -EINVAL;
        *uid = (uid_t)u;
        *gid = colon ? (gid_t)g : (gid_t)u;
        return 0;
}

static int exec_print(const struct container_exec_options *o, bool raw, struct container_exec_result *res)
{
        int code;
        if (o->capture && raw) {
                /* As code-on-incus: the output exactly as it came, and the command's exit code. */
                fwrite(res->out, 1, res->out_len, stdout);
                fwrite(res->err_out, 1, res->err_len, stderr);
                code = res->exit_code;
        } else if (o->capture) {
                code = container_exec_result_print_json(res);
        } else {
                code = res->exit_code;
        }
        container_exec_result_done(res);
        return code;
}

static int cmd_exec(const struct cli_call *call)
{
        struct container_exec_options o = { .capture = cli_bool(call, "capture") };
        if (cli_bool(call, "tty") && o.capture)
                return cli_error(2, "--tty and --capture flags are mutually exclusive");
        if (cli_changed(call, "format") && !o.capture)
                return cli_error(2, "--format flag requires --capture flag");
        const char *user = cli_str(call, "user");
        if (*user && parse_user(user, &o.uid, &o.gid) < 0)
                return cli_error(1, "invalid argument \"%s\" for \"--user\" flag: expected UID or UID:GID",
                                 user);
        if (cli_changed(call, "group")) {
                long long g = cli_int(call, "group");
                if (g < 0 || g > UINT32_MAX - 1)
                        return cli_error(1, "invalid argument \"%lld\" for \"--group\" flag: not a group id",
                                         g);
                o.gid = (gid_t)g; /* over --user UID:GID */
        }
        o.cwd = cli_changed(call, "cwd") ? cli_str(call, "cwd") : NULL;
        if (o.cwd && o.cwd[0] != '/')
                return cli_error(2, "invalid cwd '%s': must be an absolute path", o.cwd);
        char *const *env = cli_strv(call, "env");
        for (char *const *e = env; *e; e++)
                if (!strchr(*e, '=') || (*e)[0] == '=')
                        return cli_error(2, "invalid env '%s': must be KEY=VALUE", *e);
        o.env = env;
        const char *name = call->args[0];
        o.args = call->args + 1;
        _cleanup_(container_store_freep) struct container_store *s = NULL;
        int r = open_store(&s);
        if (r)
                return r;
        if (!o.cwd)
                o.cwd = container_default_cwd(s, name);
        struct coi_error err = { 0 };
        struct container_exec_result res = { 0 };
        if (container_exec(s, name, &o, &res, &err) < 0)
                return fail(&err);
        return exec_print(&o, streq(cli_str(call, "format"), "raw"), &res);
}

/* ---- exists, running ---- */

/* 0 when the container exists (and, with want_running, runs), 1 without a word when not; 1 with the
 * reason when the store can't tell. */
static int check_exists(const struct cli_call *call, bool want_running)
{
        const char *name = call->args[0];
        struct coi_error err = { 0 };
        if (container_validate_name(name, &err) < 0) /* a name no container can have */
                return 1;
        _cleanup_(container_store_freep) struct container_store *s = NULL;
        if (container_store_open(&s, &err) < 0)
                return cli_error(1, "failed to check container: %s", err.msg);
        _cleanup_(container_info_freep) struct container_info *m = NULL;
        int r = container_info_get(s, name, &m, &err);
        if (r == -ENOENT)
                return 1;
        if (r < 0)
                return cli_error(1, "failed to check container: %s", err.msg);
        return !want_running || streq(m->status, "running") ? 0 : 1;
}

static int cmd_exists(const struct cli_call *call)
{
        return check_exists(call, false);
}

static int cmd_running(const struct cli_call *call)
{
        return check_exists(call, true);
}

/* ---- list, info ---- */

static const struct cli_flag format_flags[] = {
        CLI_FLAG_FORMAT_TEXT_JSON,
        { 0 },
};

static int cmd_list(const struct cli_call *call)
{
        _cleanup_(container_store_freep) struct container_store *s = NULL;
        int r = open_store(&s);
        if (r)
                return r;
        struct coi_error err = { 0 };
        struct container_info **all = NULL;
        if (container_list(s, &all, &err) < 0)
                return fail(&err);
        size_t n = 0;
        while (all[n])
                n++;
        if (streq(cli_str(call, "format"), "json")) {
                _cleanup_free_ char *json = NULL;
                r = container_info_json(all, n, true, &json, &err);
                container_info_list_free(all);
                if (r < 0)
                        return fail(&err);
                printf("%s\n", json);
                return 0;
        }
        printf("%-24s %-9s %-24s %-10s %-8s %s\n", "NAME", "STATUS", "IMAGE", "TYPE", "PID", "UIDS");
        for (size_t i = 0; i < n; i++) {
                const struct container_info *m = all[i];
                char pid[16] = "-";
                if (m->pid)
                        snprintf(pid, sizeof(pid), "%d", (int)m->pid);
                printf("%-24s %-9s %-24s %-10s %-8s %u-%u\n", m->name, m->status, m->image,
                       m->ephemeral ? "ephemeral" : "persistent", pid, m->ids.uid,
                       m->ids.uid + IDMAP_RANGE_SIZE - 1);
        }
        container_info_list_free(all);
        return 0;
}

static void print_text(const struct container_info *m)
{
        printf("Name: %s\nStatus: %s\nImage: %s\nType: %s\nCreated: %s\n", m->name, m->status, m->image,
               m->ephemeral ? "ephemeral" : "persistent", m->created);
        if (m->pid)
                printf("PID: %d\n", (int)m->pid);
        printf("UIDs: %u-%u\nGIDs: %u-%u\nDirectory: %s\n", m->ids.uid, m->ids.uid + IDMAP_RANGE_SIZE - 1,
               m->ids.gid, m->ids.gid + IDMAP_RANGE_SIZE - 1, m->dir);
        if (m->cgroup)
                printf("Cgroup: %s\n", m->cgroup);
        if (m->n_limits)
                printf("Limits (used / limit):\n");
        for (size_t i = 0; i < m->n_limits; i++)
                printf("  %-14s %s / %s\n", m->limits[i].resource, m->limits[i].used, m->limits[i].limit);
}

static int cmd_info(const struct cli_call *call)
{
        _cleanup_(container_store_freep) struct container_store *s = NULL;
        int r = open_store(&s);
        if (r)
                return r;
        struct coi_error err = { 0 };
        _cleanup_(container_info_freep) struct container_info *m = NULL;
        if (container_info_get(s, call->args[0], &m, &err) < 0)
                return fail(&err);
        if (streq(cli_str(call, "format"), "json")) {
                _cleanup_free_ char *json = NULL;
                if (container_info_json(&m, 1, false, &json, &err) < 0)
                        return fail(&err);
                printf("%s\n", json);
        } else {
                print_text(m);
        }
        return 0;
}

/* ---- mount ---- */

static const struct cli_flag mount_flags[] = {
        { .name = "shift",
          .type = CLI_BOOL,
          .def = "true",
          .help = "host ids appear as themselves in the container (--shift=false: as nobody)" },
        { .name = "readonly", .type = CLI_BOOL, .help = "mount it read-only" },
        { 0 },
};

static int cmd_mount(const struct cli_call *call)
{
        char *const *a = call->args;
        _cleanup_(container_store_freep) struct container_store *s = NULL;
        int r = open_store(&s);
        if (r)
                return r;
        struct coi_error err = { 0 };
        if (container_mount_device(s, a[0], a[1], a[2], a[3], cli_bool(call, "shift"),
                                   cli_bool(call, "readonly"), &err) < 0)
                return fail(&err);
        fprintf(stderr, "Disk mounted: %s -> %s:%s\n", a[2], a[0], a[3]);
        return 0;
}

/* ---- the table ---- */

static const struct cli_command launch_cmd = {
        .name = "launch",
        .use = "<image> <name>",
        .summary = "Create and start a container from an image",
        .description = "Create a system container from an image and start it (systemd as init). It is\n"
                       "persistent unless --ephemeral, and has no network unless --network (coi) gives\n"
                       "it one.",
        .flags = launch_flags,
        .args = CLI_ARGS_EXACT,
        .n = 2,
        .run = cmd_launch,
};
static const struct cli_command start_cmd = {
        .name = "start",
        .use = "<name>",
        .summary = "Start a stopped container",
        .description = "Start a stopped (persistent) container, with the mounts its session gave it and the\n"
                       "devices `coi container mount` added.",
        .args = CLI_ARGS_EXACT,
        .n = 1,
        .run = cmd_start,
};
static const struct cli_command stop_cmd = {
        .name = "stop",
        .use = "<name>",
        .summary = "Stop a running container",
        .description = "Stop a running container: shut systemd down cleanly, and kill it when that takes\n"
                       "longer than --timeout seconds (at once with --force).",
        .flags = stop_flags,
        .args = CLI_ARGS_EXACT,
        .n = 1,
        .run = cmd_stop,
};
static const struct cli_command delete_cmd = {
        .name = "delete",
        .use = "<name>",
        .summary = "Delete a container",
        .description = "Delete a stopped container (--force: a running one too).",
        .flags = delete_flags,
        .args = CLI_ARGS_EXACT,
        .n = 1,
        .run = cmd_delete,
};
static const struct cli_command exec_cmd = {
        .name = "exec",
        .use = "<name> -- <command>",
        .summary = "Run a command in a container",
        .description =
                "Run a command in a running container, as root unless --user, and exit with its code.\n"
                "\n"
                "Examples:\n"
                "  coi container exec my-container -- ls -la /\n"
                "  coi container exec my-container --user 1000 --env FOO=bar --cwd /workspace -- make\n"
                "  coi container exec my-container --capture -- echo hello",
        .flags = exec_flags,
        .args = CLI_ARGS_MIN,
        .n = 2,
        .run = cmd_exec,
};
static const struct cli_command exists_cmd = {
        .name = "exists",
        .use = "<name>",
        .summary = "Check if a container exists",
        .description = "Exit 0 if the container exists, else 1 (nothing printed).",
        .args = CLI_ARGS_EXACT,
        .n = 1,
        .run = cmd_exists,
};
static const struct cli_command running_cmd = {
        .name = "running",
        .use = "<name>",
        .summary = "Check if a container is running",
        .description = "Exit 0 if the container exists and runs, else 1 (nothing printed).",
        .args = CLI_ARGS_EXACT,
        .n = 1,
        .run = cmd_running,
};
static const struct cli_command mount_cmd = {
        .name = "mount",
        .use = "<name> <device-name> <source> <path>",
        .summary = "Add a host directory to a container as a disk device",
        .description = "Add the host directory <source> at <path> in the container as the disk device\n"
                       "<device-name>: at once when it runs, and at every later start.\n"
                       "\n"
                       "Example:\n"
                       "  coi container mount my-container data /home/user/data /mnt/data",
        .flags = mount_flags,
        .args = CLI_ARGS_EXACT,
        .n = 4,
        .run = cmd_mount,
};
static const struct cli_command list_cmd = {
        .name = "list",
        .summary = "List all containers",
        .description = "List every container of the store (running or not), with its image and ids.",
        .flags = format_flags,
        .args = CLI_ARGS_ANY,
        .run = cmd_list,
};
static const struct cli_command info_cmd = {
        .name = "info",
        .use = "<name>",
        .summary = "Show one container's details",
        .flags = format_flags,
        .args = CLI_ARGS_EXACT,
        .n = 1,
        .run = cmd_info,
};

static const struct cli_command *const container_commands[] = {
        &launch_cmd,  &start_cmd, &stop_cmd, &delete_cmd, &exec_cmd, &exists_cmd,
        &running_cmd, &mount_cmd, &list_cmd, &info_cmd,   NULL,
};

const struct cli_command cli_cmd_container = {
        .name = "container",
        .summary = "Low-level container operations",
        .description = "Low-level operations on coi's system containers: launch, start, stop, delete, run\n"
                       "commands in them, add host directories, inspect them.",
        .subcommands = container_commands,
};
