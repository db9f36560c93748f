/* cmd-shell.c — `coi shell` (the agent in a tmux session "coi-<container>" inside the container, attached
 * to the user's terminal through a pty relay) and `coi attach`; the session is saved on every exit. */
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include "commands.h"
#include "limit-flags.h"
#include "pty-relay.h"
#include "session-flags.h"
#include "session/agent.h"
#include "session/session-run.h"
#include "util.h"

/* The agent's pane: $@ is the agent's command line; its exit leaves a shell in the pane. */
#define AGENT_EXIT_SHELL                                                                                     \
        "trap : INT; \"$@\"; code=$?; printf '\\n[coi] %s exited with status %d. This shell keeps the "      \
        "session: exit ends it, Ctrl+b d detaches.\\n' \"$1\" \"$code\"; exec bash"

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
        got_signal = sig;
}

/* Runs argv in the container as the code user with a new pty as its terminal, relaying it to ours
 * (pty_relay: raw mode, window size forwarded on SIGWINCH). Returns when the process exits, our terminal
 * goes away (EOF/HUP), or SIGINT/SIGTERM/SIGHUP arrives (got_signal). The exit code, or -1 when
 * interrupted. */
static int relay_exec(struct container_store *store, const char *name, char *const *argv, char *const *env,
                      const char *cwd, uid_t uid, gid_t gid)
{
        struct winsize ws = { .ws_row = 40, .ws_col = 120 };
        bool tty = isatty(0);
        if (tty)
                ioctl(0, TIOCGWINSZ, &ws);
        int master = -1, slave = -1;
        if (openpty(&master, &slave, NULL, NULL, &ws) < 0) {
                fprintf(stderr, "coi: openpty: %m\n");
                return 1;
        }
        pid_t pid = fork();
        if (pid < 0) {
                fprintf(stderr, "coi: fork: %m\n");
                return 1;
        }
        if (pid == 0) {
                close(master);
                if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0)
                        _exit(127);
                if (slave > 2)
                        close(slave);
                setsid();
                /* setsid -c inside makes the pty the controlling terminal of the attached client, so
                 * the kernel delivers SIGWINCH to it when we resize the pty. */
                size_t n = 0;
                while (argv[n])
                        n++;
                char **full = calloc(n + 4, sizeof(char *));
                if (!full)
                        _exit(127);
                full[0] = "setsid";
                full[1] = "-w";
                full[2] = "-c";
                memcpy(full + 3, argv, n * sizeof(char *));
                struct container_exec_options xo = {
                        .args = full, .env = env, .cwd = cwd, .uid = uid, .gid = gid, .exact_env = true
                };
                struct container_exec_result res = { 0 };
                struct coi_error err = { 0 };
                if (container_exec(store, name, &xo, &res, &err) < 0) {
                        fprintf(stderr, "coi: %s\r\n", err.msg);
                        _exit(127);
                }
                _exit(res.exit_code);
        }
        close(slave);
        struct pty_relay_options o = {
                .in = STDIN_FILENO, .out = STDOUT_FILENO, .stop = &got_signal, .lost_on_terminal_eof = true
        };
        bool lost = pty_relay(master, &o) == PTY_RELAY_LOST;
        close(master);
        int status = 0;
        /* A lost terminal is an interruption, never a detach, even when its SIGHUP has not come yet. */
        if (got_signal || lost) {
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
                return -1;
        }
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int exec_quiet(struct container_store *store, const char *name, char *const *argv, uid_t uid,
                      gid_t gid)
{
        _cleanup_strv_ char **env = session_code_env("dumb");
        struct container_exec_options xo = { .args = argv,
                                             .env = env,
                                             .cwd = "/",
                                             .uid = uid,
                                             .gid = gid,
                                             .capture = true,
                                             .exact_env = true };
        struct container_exec_result res = { 0 };
        struct coi_error err = { 0 };
        if (container_exec(store, name, &xo, &res, &err) < 0)
                return -1;
        container_exec_result_done(&res);
        return res.exit_code;
}

static bool tmux_has_session(struct container_store *store, const char *name, const char *tsess, uid_t uid,
                             gid_t gid)
{
        char *argv[] = { "tmux", "has-session", "-t", (char *)tsess, NULL };
        return exec_quiet(store, name, argv, uid, gid) == 0;
}

/* The agent's command line: a resumed Claude session continues its newest conversation of the saved
 * ~/.claude; --model, or [defaults] model when the user set it (a file, a profile, the environment): the
 * built-in default is not passed, the tool keeps its own (code-on-incus never passes one). */
static int shell_agent_command(struct session *s, const char *model, bool debug, struct agent_command **ret,
                               struct coi_error *err)
{
        _cleanup_free_ char *conversation = NULL;
        if (s->resumed && streq(s->tool, "claude")) {
                _cleanup_free_ char *state = xasprintf("%s/%s/.claude", s->sessions_dir, s->id);
                struct coi_error e = { 0 };
                if (state)
                        agent_claude_find_conversation(state, s->target, &conversation, &e);
        }
        const char *origin = config_origin(s->cfg, "defaults.model");
        if (!model && origin && !streq(origin, "default"))
                model = s->cfg->defaults.model;
        struct agent_launch al = { .tool = s->tool,
                                   .model = model,
                                   .binary = s->cfg->tool.binary,
                                   .permission_mode = s->cfg->tool.permission_mode,
                                   .session_id = s->id,
                                   .resume = s->resumed,
                                   .resume_tool_id = conversation,
                                   .debug = debug,
                                   .term = getenv("TERM") };
        session_agent_launch(s, &al);
        return agent_command_build(&al, ret, err);
}

/* The tmux session tsess running the agent, unless the container has it already (an attach to a
 * running persistent session). 0, or 1 after printing why not. */
static int shell_start_tmux(struct session *s, const char *tsess, struct agent_command *ac, bool debug)
{
        if (tmux_has_session(s->store, s->name, tsess, s->code_uid, s->code_gid))
                return 0;
        _cleanup_strv_ char **tv = NULL;
        const char *pre[] = { "tmux",    "new-session", "-d",  "-s", tsess, "-c",
                              s->target, "-x",          "200", "-y", "50",  NULL };
        for (size_t i = 0; pre[i]; i++)
                strv_push(&tv, pre[i]);
        /* As code-on-incus: when the agent exits (an error, no network, /exit) its pane becomes a
         * shell, so the user can read what it said; exiting that shell ends the session. Ctrl+C
         * reaches the agent and never ends the wrapper. */
        if (!debug) {
                strv_push(&tv, "bash");
                strv_push(&tv, "-c");
                strv_push(&tv, AGENT_EXIT_SHELL);
                strv_push(&tv, "coi-agent");
        }
        for (char **a = ac->argv; *a; a++)
                strv_push(&tv, *a);
        strv_push(&ac->envp, SESSION_TMUX_TMPDIR);
        struct container_exec_options xo = { .args = tv,
                                             .env = ac->envp,
                                             .cwd = s->target,
                                             .uid = s->code_uid,
                                             .gid = s->code_gid,
                                             .capture = true,
                                             .exact_env = true };
        struct container_exec_result res = { 0 };
        struct coi_error err = { 0 };
        int code = 0;
        if (container_exec(s->store, s->name, &xo, &res, &err) < 0 || res.exit_code != 0) {
                fprintf(stderr, "coi: start tmux in %s: %s%s\n", s->name, res.err_out ? res.err_out : "",
                        res.err_out ? "" : err.msg);
                code = 1;
        }
        container_exec_result_done(&res);
        return code;
}

/* The user's terminal on the tmux session until they detach or it ends; true if they detached (the
 * session still runs). */
static bool shell_attach(struct session *s, const char *tsess)
{
        char *av[] = { "tmux", "attach", "-t", (char *)tsess, NULL };
        _cleanup_strv_ char **env = session_code_env(getenv("TERM"));
        int r = relay_exec(s->store, s->name, av, env, s->target, s->code_uid, s->code_gid);
        return r >= 0 && !got_signal && tmux_has_session(s->store, s->name, tsess, s->code_uid, s->code_gid);
}

/* Every way out: the session saved, then the container left running (detached), stopped (persistent)
 * or removed. Returns code, or 1 if saving or stopping failed. */
static int shell_leave(struct session *s, bool detached, int code)
{
        struct coi_error err = { 0 };
        fprintf(stderr, "\nSaving session %s...\n", s->id);
        if (session_save(s, &err) < 0) {
                fprintf(stderr, "coi: %s\n", err.msg);
                code = 1;
        }
        if (detached) {
                fprintf(stderr, "Detached; the container %s keeps running: coi attach %s\n", s->name,
                        s->name);
                return code;
        }
        if (s->persistent)
                fprintf(stderr, "Stopping persistent container %s...\n", s->name);
        else
                fprintf(stderr, "Cleaning up container %s...\n", s->name);
        if (session_stop(s, false, &err) < 0) {
                fprintf(stderr, "coi: %s\n", err.msg);
                code = 1;
        }
        return code;
}

static int attach_named(const char *name, bool bash);

static int cmd_shell(const struct cli_call *call)
{
        _cleanup_(session_flags_done) struct session_flags f = { 0 };
        int rf = session_flags_from_call(call, &f);
        if (rf)
                return rf;
        /* `coi` alone comes here with the root's call, which has none of shell's flags: their defaults. */
        bool background = session_own_bool(call, "background"), debug = session_own_bool(call, "debug");
        const char *model = session_own_str(call, "model");
        const char *container = session_own_str(call, "container");
        if (call->nargs > 0)
                return cli_error(1,
                                 "unexpected argument '%s' - did you mean --resume=%s? (note: use = when "
                                 "specifying session ID)",
                                 call->args[0], call->args[0]);
        if (container) /* an existing container: its running session */
                return attach_named(container, false);
        struct coi_error err = { 0 };
        _cleanup_(session_freep) struct session *s = NULL;
        struct session_start_options so = { .save_metadata = true };
        if (session_start(&f, &so, &s, &err) < 0) {
                fprintf(stderr, "coi: %s\n", err.msg);
                return 1;
        }
        /* From here on every way out saves the session. */
        struct sigaction sa = { .sa_handler = on_signal };
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        _cleanup_(agent_command_freep) struct agent_command *ac = NULL;
        _cleanup_free_ char *tsess = xasprintf("coi-%s", s->name);
        int code = 0;
        if (!tsess || shell_agent_command(s, model, debug, &ac, &err) < 0) {
                fprintf(stderr, "coi: %s\n", tsess ? err.msg : "out of memory");
                code = 1;
        }
        /* The agent (or --debug's shell) starts once the machine is up: services, the system bus, sudo
         * systemctl and docker work from its first command. */
        if (code == 0)
                session_wait_booted(s);
        code = code ?: shell_start_tmux(s, tsess, ac, debug);
        if (code == 0 && background) {
                fprintf(stderr, "Created background tmux session: %s\n", tsess);
                fprintf(stderr, "Attach with: coi attach %s\n", s->name);
                return 0;
        }
        bool detached = code == 0 && shell_attach(s, tsess);
        return shell_leave(s, detached, code);
}

/* Relays tmux attach (or bash -l with bash) of a running container to our terminal. */
static int attach_relay(struct container_store *store, const char *name, bool bash)
{
        fflush(stdout);
        _cleanup_free_ char *tsess = xasprintf("coi-%s", name);
        char *tmux_av[] = { "tmux", "attach", "-t", tsess, NULL };
        char *bash_av[] = { "bash", "-l", NULL };
        _cleanup_strv_ char **env = session_code_env(getenv("TERM"));
        struct sigaction sa = { .sa_handler = on_signal };
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        int r = relay_exec(store, name, bash ? bash_av : tmux_av, env, WORKSPACE_CONTAINER_ROOT, 1000, 1000);
        return r < 0 ? 130 : r;
}

static bool is_running(struct container_store *store, const char *name)
{
        struct coi_error err = { 0 };
        _cleanup_(container_info_freep) struct container_info *info = NULL;
        return name && container_info_get(store, name, &info, &err) == 0 && streq(info->status, "running");
}

static int attach_named(const char *name, bool bash)
{
        struct coi_error err = { 0 };
        _cleanup_(container_store_freep) struct container_store *store = NULL;
        if (container_store_open(&store, &err) < 0)
                return cli_error(1, "%s", err.msg);
        if (!is_running(store, name))
                return cli_error(1, "container %s not found or not running", name);
        return attach_relay(store, name, bash);
}

static int cmd_attach(const struct cli_call *call)
{
        bool bash = cli_bool(call, "bash");
        int slot = (int)cli_int(call, "slot"); /* attach's own --slot */
        if (call->nargs > 0)
                return attach_named(call->args[0], bash);
        struct coi_error err = { 0 };
        _cleanup_(container_store_freep) struct container_store *store = NULL;
        if (container_store_open(&store, &err) < 0)
                return cli_error(1, "%s", err.msg);
        _cleanup_free_ char *chosen = NULL;
        if (slot) {
                _cleanup_(workspace_freep) struct workspace *ws = NULL;
                if (workspace_resolve(cli_str(call, "workspace"), NULL, &ws, &err) < 0)
                        return cli_error(1, "%s", err.msg);
                chosen = workspace_container_name(ws->path, slot, NULL);
                if (!is_running(store, chosen))
                        return cli_error(1, "container %s not found or not running", chosen ? chosen : "");
                printf("Attaching to %s (slot %d)...\n", chosen, slot);
                return attach_relay(store, chosen, bash);
        }
        /* As code-on-incus: the only running session, or the list to choose from. */
        struct container_info **list = NULL;
        if (container_list(store, &list, &err) < 0)
                return cli_error(1, "%s", err.msg);
        _cleanup_strv_ char **running = NULL;
        char hash[9];
        int n_slot;
        for (size_t i = 0; list[i]; i++)
                if (streq(list[i]->status, "running") &&
                    workspace_parse_container_name(list[i]->name, workspace_container_prefix(NULL), hash,
                                                   &n_slot) == 0)
                        strv_push(&running, list[i]->name);
        container_info_list_free(list);
        size_t n = strv_length(running);
        if (n == 0) {
                printf("No active sessions\n");
                return 0;
        }
        if (n > 1) {
                printf("Active sessions:\n");
                for (size_t i = 0; i < n; i++)
                        printf("  %zu. %s\n", i + 1, running[i]);
                printf("\nUse: coi attach <container-name>\n");
                return 0;
        }
        printf("Attaching to %s...\n", running[0]);
        return attach_relay(store, running[0], bash);
}

static const struct cli_flag shell_flags[] = {
        { .name = "debug", .type = CLI_BOOL, .help = "bash in the session's tmux instead of the agent" },
        { .name = "background",
          .type = CLI_BOOL,
          .help = "start the session detached (coi attach or coi tmux to reach it)" },
        { .name = "tmux",
          .type = CLI_BOOL,
          .def = "true",
          .help = "run the agent in tmux (always: --tmux=false is accepted and ignored)" },
        { .name = "container",
          .type = CLI_STRING,
          .help = "use an existing container: attach to its running session" },
        { .name = "model", .type = CLI_STRING, .help = "the agent's model (default: [defaults] model)" },
        SESSION_SHARED_FLAGS,
        SESSION_LIMIT_FLAGS,
        { 0 },
};

const struct cli_command cli_cmd_shell = {
        .name = "shell",
        .summary = "Start an interactive AI coding session",
        .description =
                "Start an interactive AI coding session: the agent (Claude Code by default) in tmux in a\n"
                "container of this workspace. Ctrl+b d detaches (the container keeps running: coi attach);\n"
                "the session is saved whenever it ends.\n"
                "\n"
                "Examples:\n"
                "  coi shell                        an interactive session\n"
                "  coi shell --background           start it detached\n"
                "  coi shell --resume               resume the newest session of this workspace\n"
                "  coi shell --resume=<session-id>  resume that session (the = is required)\n"
                "  coi shell --slot 2               a second session on the same workspace\n"
                "  coi shell --debug                bash instead of the agent",
        .flags = shell_flags,
        .args = CLI_ARGS_MAX,
        .n = 1,
        .run = cmd_shell,
};

static const struct cli_flag attach_flags[] = {
        { .name = "bash", .type = CLI_BOOL, .help = "a login bash instead of the session's tmux" },
        { .name = "slot", .type = CLI_INT, .help = "the session of this slot of the workspace (-w)" },
        { 0 },
};

const struct cli_command cli_cmd_attach = {
        .name = "attach",
        .use = "[container-name]",
        .summary = "Attach to a running session's tmux",
        .description = "Attach to a running session's tmux: the named container's, the one of --slot in the\n"
                       "workspace, or the only running one (several: their list).",
        .flags = attach_flags,
        .args = CLI_ARGS_ANY,
        .run = cmd_attach,
};
