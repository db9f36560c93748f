/* cmd-run.c — `coi run [flags] [--] CMD [ARGS…]`: one command in a fresh (ephemeral unless --persistent)
 * container as the code user in the workspace; its output streams through, its exit code is coi's. */
#include <fcntl.h>
#include <signal.h>
#include <time.h>

#include "session/agent.h"
#include "commands.h"
#include "limit-flags.h"
#include "session-flags.h"
#include "session/session-run.h"
#include "limit-flags.h"
#include "session-flags.h"
#include "util.h"

static volatile sig_atomic_t got_signal;
static char cgroup_kill[512]; /* set before the exec */

/* Ctrl-C, a CI job's SIGTERM, a closed terminal: the command runs in the container, outside our process
 * group's reach; end every process of the container, so the exec returns and the container is removed. */
static void on_signal(int sig)
{
        got_signal = sig;
        int saved = errno;
        int fd = cgroup_kill[0] ? open(cgroup_kill, O_WRONLY | O_CLOEXEC) : -1;
        if (fd >= 0) {
                if (write(fd, "1", 1) < 0) {
                }
                close(fd);
        }
        errno = saved;
}

static int cmd_run(const struct cli_call *call)
{
        _cleanup_(session_flags_done) struct session_flags f = { 0 };
        int rf = session_flags_from_call(call, &f);
        if (rf)
                return rf;
        bool json = streq(cli_str(call, "format"), "json");
        bool capture = cli_bool(call, "capture") || json;
        long long timeout_s = cli_int(call, "timeout");
        if (timeout_s < 0)
                return cli_error(2, "invalid --timeout \"%lld\": a number of seconds", timeout_s);
        char **argv = call->args;

        /* code-on-incus's examples pass one string ("npm test"): a single argument with a space runs
         * through sh -c; several arguments are the argv as given. */
        char *shv[] = { "sh", "-c", argv[0], NULL };
        char **cmdv = (call->nargs == 1 && strpbrk(argv[0], " \t;|&$")) ? shv : argv;

        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        struct coi_error err = { 0 };
        _cleanup_(session_freep) struct session *s = NULL;
        struct session_start_options so = { .no_wait = true,
                                            .job = true,
                                            .nesting = cli_bool(call, "nesting") };
        if (session_start(&f, &so, &s, &err) < 0) {
                fprintf(stderr, "coi: %s\n", err.msg);
                return 1;
        }
        /* The agent's environment (shell's): TZ, [defaults] environment with -e, forward_env, the SSH
         * agent; then what every exec of coi has. */
        struct agent_launch al = { .term = capture ? "dumb" : getenv("TERM") };
        session_agent_launch(s, &al);
        _cleanup_strv_ char **env = NULL;
        int re = agent_environment(&al, &env, &err);
        if (re == 0 && (strv_push(&env, "container=coi") < 0 || strv_push(&env, SESSION_TMUX_TMPDIR) < 0))
                re = coi_error_set(&err, ENOMEM, "environment: %m");
        if (re < 0) {
                fprintf(stderr, "coi: %s\n", err.msg);
                struct coi_error e = { 0 };
                session_stop(s, true, &e);
                return 1;
        }
        _cleanup_free_ char *cg = container_cgroup_path(s->name);
        if (cg)
                snprintf(cgroup_kill, sizeof(cgroup_kill), "%s/cgroup.kill", cg);
        struct sigaction sa = { .sa_handler = on_signal };
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        if (cli_bool(call, "wait")) /* after the handlers: Ctrl-C ends the container, and the wait */
                session_wait_booted(s);

        struct container_exec_options xo = { .args = cmdv,
                                             .env = env,
                                             .cwd = s->target,
                                             .uid = s->code_uid,
                                             .gid = s->code_gid,
                                             .capture = capture,
                                             .exact_env = true };
        struct container_exec_result res = { 0 };
        int r = container_exec(s->store, s->name, &xo, &res, &err);
        int code = got_signal ? 128 + got_signal : r < 0 ? 1 : res.exit_code;
        if (r < 0)
                fprintf(stderr, "coi: %s\n", err.msg);
        else if (json)
                container_exec_result_print_json(&res);
        else if (capture) {
                fwrite(res.out, 1, res.out_len, stdout);
                fwrite(res.err_out, 1, res.err_len, stderr);
        }
        fflush(stdout);
        container_exec_result_done(&res);
        (void)timeout_s;

        struct coi_error e2 = { 0 };
        if (s->persistent)
                fprintf(stderr, "Stopping persistent container %s...\n", s->name);
        if (session_stop(s, !s->persistent, &e2) < 0)
                fprintf(stderr, "coi: %s\n", e2.msg);
        if (getenv("COI_TIMING")) {
                struct timespec t1;
                clock_gettime(CLOCK_MONOTONIC, &t1);
                fprintf(stderr, "coi run: %.3f s\n",
                        (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
        }
        return code;
}

static const char *const run_formats[] = { "pretty", "json", NULL };

static const struct cli_flag run_flags[] = {
        { .name = "capture", .type = CLI_BOOL, .help = "collect the output, print it when the command ends" },
        { .name = "format",
          .type = CLI_STRING,
          .def = "pretty",
          .choices = run_formats,
          .help = "json: {\"stdout\",\"stderr\",\"exit_code\"} on stdout (implies --capture)" },
        { .name = "timeout",
          .type = CLI_INT,
          .def = "120",
          .help = "seconds: accepted for code-on-incus compatibility, not enforced (nor is it there)" },
        { .name = "nesting",
          .type = CLI_BOOL,
          .help = "containers inside (docker, podman, unshare -U): the \"default\" seccomp profile instead "
                  "of "
                  "\"strict\" ([security] seccomp_profile)" },
        { .name = "wait",
          .type = CLI_BOOL,
          .help = "run the command once systemd has booted (for systemctl, the system bus, services); "
                  "without it the command starts at once" },
        SESSION_SHARED_FLAGS,
        SESSION_LIMIT_FLAGS,
        { 0 },
};

const struct cli_command cli_cmd_run = {
        .name = "run",
        .use = "<command> [args...]",
        .summary = "Run a command in an ephemeral container",
        .description =
                "Run a command in a fresh container of this workspace (removed afterwards unless\n"
                "--persistent) as the sandbox user in the workspace; its output streams through and its\n"
                "exit code is coi's. Flags go before the command; \"--\" may separate them. One argument\n"
                "with spaces or shell characters runs through sh -c.\n"
                "\n"
                "Examples:\n"
                "  coi run -- make test\n"
                "  coi run \"npm install && npm test\"\n"
                "  coi run --format json -- git status\n"
                "  coi run --nesting --wait -- sudo systemctl start docker\n"
                "\n"
                "The container runs under the \"strict\" seccomp profile unless --nesting or\n"
                "[security] seccomp_profile says otherwise (docs/security.md).",
        .flags = run_flags,
        .args = CLI_ARGS_MIN,
        .n = 1,
        .flags_before_args = true,
        .run = cmd_run,
};
