/* cmd-tmux.c — `coi tmux send NAME COMMAND`, `coi tmux capture NAME`, `coi tmux list`: the agent's tmux
 * session "coi-<container>" driven from the host (automation, tests), as code-on-incus does. */
#include "commands.h"
#include "session/session-run.h"
#include "util.h"

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
        if (container_exec(store, name, &xo, &res, &err) < 0) {
                fprintf(stderr, "coi: %s\n", err.msg);
                return 1;
        }
        if (print)
                fwrite(res.out, 1, res.out_len, stdout);
        if (res.exit_code != 0 && print)
                fwrite(res.err_out, 1, res.err_len, stderr);
        int code = res.exit_code;
        container_exec_result_done(&res);
        return code;
}

static int cmd_tmux(int argc, char **argv)
{
        const char *usage = "Usage: coi tmux send NAME COMMAND | coi tmux capture NAME | coi tmux list\n";
        if (argc < 2) {
                fputs(usage, stderr);
                return 2;
        }
        struct coi_error err = { 0 };
        _cleanup_(container_store_freep) struct container_store *store = NULL;
        if (container_store_open(&store, &err) < 0) {
                fprintf(stderr, "coi: %s\n", err.msg);
                return 1;
        }
        if (streq(argv[1], "list")) {
                struct container_info **list = NULL;
                if (container_list(store, &list, &err) < 0) {
                        fprintf(stderr, "coi: %s\n", err.msg);
                        return 1;
                }
                printf("Active tmux sessions:\n");
                int n = 0;
                for (size_t i = 0; list[i]; i++) {
                        if (!streq(list[i]->status, "running"))
                                continue;
                        _cleanup_free_ char *ts = xasprintf("coi-%s", list[i]->name);
                        char *av[] = { "tmux", "has-session", "-t", ts, NULL };
                        if (ts && tmux_exec(store, list[i]->name, av, false) == 0) {
                                printf("  - %s (tmux session: %s)\n", list[i]->name, ts);
                                n++;
                        }
                }
                if (!n)
                        printf("  (none)\n");
                container_info_list_free(list);
                return 0;
        }
        bool send = streq(argv[1], "send");
        if ((!send && !streq(argv[1], "capture")) || argc != (send ? 4 : 3)) {
                fputs(usage, stderr);
                return 2;
        }
        _cleanup_free_ char *ts = xasprintf("coi-%s", argv[2]);
        if (send) {
                char *av[] = { "tmux", "send-keys", "-t", ts, argv[3], "Enter", NULL };
                int r = tmux_exec(store, argv[2], av, true);
                if (r == 0)
                        printf("Sent command to session %s\n", argv[2]);
                return r ? 1 : 0;
        }
        char *av[] = { "tmux", "capture-pane", "-t", ts, "-p", NULL };
        return tmux_exec(store, argv[2], av, true) ? 1 : 0;
}

/* TRANSITIONAL (issue 18): parses its own argv until it takes a cli_call. */
const struct cli_command cli_cmd_tmux = { .name = "tmux",
                                          .summary = "Send to, capture and list the agents' tmux sessions",
                                          .raw = cmd_tmux };
