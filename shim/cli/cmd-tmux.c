/* cmd-tmux.c — `coi tmux send NAME COMMAND`, `coi tmux capture NAME`, `coi tmux list`: the agent's tmux
 * session "coi-<container>" driven from the host (automation, tests), as code-on-incus does. */
#include <yajl/yajl_gen.h>

#include "commands.h"
#include "json-util.h"
#include "session/session-run.h"
#include "util.h"

/* Runs a tmux command as the code user in the container: its exit code (its output printed when print),
 * or 1 after saying why it could not run. */
static int tmux_exec(struct container_store *store, const char *name, char *const *argv, bool print)
{
        _cleanup_strv_ char **env = session_code_env("dumb");
        struct container_exec_options xo = { .args = argv,
                                             .env = env,
                                             .cwd = "/",
                                             .uid = 1000,
                                             .gid = 1000,
                                             .capture = true,
                                             .exact_env = true };
        struct container_exec_result res = { 0 };
        struct coi_error err = { 0 };
        if (container_exec(store, name, &xo, &res, &err) < 0)
                return cli_error(1, "%s", err.msg);
        if (print)
                fwrite(res.out, 1, res.out_len, stdout);
        if (res.exit_code != 0 && print)
                fwrite(res.err_out, 1, res.err_len, stderr);
        int code = res.exit_code;
        container_exec_result_done(&res);
        return code;
}

/* The store, once the container is known to run: 0, or 1 after "container NAME is not running" (also
 * for one that does not exist, as code-on-incus says it). */
static int open_running(const char *name, struct container_store **ret)
{
        struct coi_error err = { 0 };
        if (container_validate_name(name, &err) < 0)
                return cli_error(1, "container %s is not running", name);
        if (container_store_open(ret, &err) < 0)
                return cli_error(1, "%s", err.msg);
        _cleanup_(container_info_freep) struct container_info *info = NULL;
        int r = container_info_get(*ret, name, &info, &err);
        if (r < 0 && r != -ENOENT)
                return cli_error(1, "failed to check container status: %s", err.msg);
        if (r < 0 || !streq(info->status, "running"))
                return cli_error(1, "container %s is not running", name);
        return 0;
}

/* Runs tmux VERB -t coi-NAME ARGS… as code in the running container NAME; 0 or the exit code. With
 * say_sent, prints that the command was sent to the session. */
static int tmux_in_session(const char *name, const char *verb, char *const *args, bool say_sent)
{
        _cleanup_(container_store_freep) struct container_store *store = NULL;
        int r = open_running(name, &store);
        if (r)
                return r;
        _cleanup_free_ char *ts = xasprintf("coi-%s", name);
        if (!ts)
                return cli_error(1, "out of memory");
        char *av[8] = { "tmux", (char *)verb, "-t", ts };
        for (size_t i = 0; i < 3 && args[i]; i++)
                av[4 + i] = args[i];
        if (tmux_exec(store, name, av, true) != 0)
                return 1;
        if (say_sent)
                printf("Sent command to session %s\n", ts);
        return 0;
}

static int cmd_send(const struct cli_call *call)
{
        char *args[] = { call->args[1], "Enter", NULL };
        return tmux_in_session(call->args[0], "send-keys", args, true);
}

static int cmd_capture(const struct cli_call *call)
{
        char *args[] = { "-p", NULL };
        return tmux_in_session(call->args[0], "capture-pane", args, false);
}

/* [{"container": NAME, "session": "coi-NAME"}, …] on one line. */
static int print_json(char *const *names)
{
        _cleanup_(yajl_gen_freep) yajl_gen g = yajl_gen_alloc(NULL);
        if (!g)
                return cli_error(1, "out of memory");
        bool ok = yajl_gen_array_open(g) == yajl_gen_status_ok;
        for (char *const *n = names; ok && *n; n++) {
                _cleanup_free_ char *ts = xasprintf("coi-%s", *n);
                ok = ts && yajl_gen_map_open(g) == yajl_gen_status_ok && json_gen_str(g, "container") &&
                     json_gen_str(g, *n) && json_gen_str(g, "session") && json_gen_str(g, ts) &&
                     yajl_gen_map_close(g) == yajl_gen_status_ok;
        }
        ok = ok && yajl_gen_array_close(g) == yajl_gen_status_ok;
        const unsigned char *buf;
        size_t len;
        if (!ok || yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
                return cli_error(1, "encode the session list as JSON: out of memory");
        printf("%.*s\n", (int)len, buf);
        return 0;
}

static int cmd_list(const struct cli_call *call)
{
        struct coi_error err = { 0 };
        _cleanup_(container_store_freep) struct container_store *store = NULL;
        struct container_info **all = NULL;
        if (container_store_open(&store, &err) < 0 || container_list(store, &all, &err) < 0)
                return cli_error(1, "failed to list containers: %s", err.msg);
        _cleanup_strv_ char **names = NULL;
        for (size_t i = 0; all[i]; i++) {
                if (!streq(all[i]->status, "running"))
                        continue;
                _cleanup_free_ char *ts = xasprintf("coi-%s", all[i]->name);
                char *av[] = { "tmux", "has-session", "-t", ts, NULL };
                if (ts && tmux_exec(store, all[i]->name, av, false) == 0 &&
                    strv_push(&names, all[i]->name) < 0) {
                        container_info_list_free(all);
                        return cli_error(1, "out of memory");
                }
        }
        container_info_list_free(all);
        if (streq(cli_str(call, "format"), "json"))
                return print_json(names ? names : (char *[]){ NULL });
        if (!names) {
                printf("No active sessions\n");
                return 0;
        }
        printf("Active sessions:\n");
        for (char **n = names; *n; n++)
                printf("  - %s (tmux session: coi-%s)\n", *n, *n);
        return 0;
}

static const struct cli_flag list_flags[] = {
        CLI_FLAG_FORMAT_TEXT_JSON,
        { 0 },
};

static const struct cli_command send_cmd = {
        .name = "send",
        .use = "<session-name> <command>",
        .summary = "Send a command to a tmux session",
        .description = "Type <command> and Enter into the agent's tmux session of a running container.\n"
                       "The session name is the container's name (e.g. coi-abc123-1).",
        .args = CLI_ARGS_EXACT,
        .n = 2,
        .run = cmd_send,
};
static const struct cli_command capture_cmd = {
        .name = "capture",
        .use = "<session-name>",
        .summary = "Capture output from a tmux session",
        .description = "Print the current screen of the agent's tmux session of a running container.\n"
                       "The session name is the container's name (e.g. coi-abc123-1).",
        .args = CLI_ARGS_EXACT,
        .n = 1,
        .run = cmd_capture,
};
static const struct cli_command list_cmd = {
        .name = "list",
        .summary = "List active tmux sessions",
        .description = "List the running containers that have an agent's tmux session.",
        .flags = list_flags,
        .args = CLI_ARGS_ANY,
        .run = cmd_list,
};

static const struct cli_command *const tmux_commands[] = { &send_cmd, &capture_cmd, &list_cmd, NULL };

const struct cli_command cli_cmd_tmux = {
        .name = "tmux",
        .summary = "Interact with the agents' tmux sessions",
        .description = "Send commands to and capture the screen of the AI coding sessions running in tmux\n"
                       "in containers: for automated workflows.",
        .subcommands = tmux_commands,
};
