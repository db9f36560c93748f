/* main.c — coi-runtime: runc-compatible global flags and dispatch to one file per verb (cli.c holds
 * what the verbs share). No runtime logic lives here. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

struct verb {
        const char *name;
        int (*fn)(struct cli *cli, int argc, char **argv);
        const char *help;
};

/* create, run and exec start processes that live in a container; they call cli_seal() once their
 * flags say which container, to run from a sealed copy of the binary when the container could
 * otherwise write it (CVE-2019-5736, see sealed.c). The verbs that never start anything skip it. */
static const struct verb verbs[] = {
        { "create", cmd_create, "create a container (its init waits for start)" },
        { "start", cmd_start, "run the user process of a created container" },
        { "run", cmd_run, "create and start a container, wait for it unless -d" },
        { "state", cmd_state, "print the OCI state of a container" },
        { "kill", cmd_kill, "send a signal to the init (or all processes) of a container" },
        { "delete", cmd_delete, "delete a stopped container (or any with --force)" },
        { "exec", cmd_exec, "run another process in a running container" },
        { "list", cmd_list, "list the containers" },
        { "ps", cmd_ps, "list the processes of a container" },
        { "pause", cmd_pause, "freeze all processes of a container" },
        { "resume", cmd_resume, "thaw a paused container" },
        { "update", cmd_update, "apply new resource limits (-r FILE)" },
        { "features", cmd_features, "print the runtime-spec features document" },
        { "spec", cmd_spec, "write a default config.json" },
};

static void usage(FILE *f)
{
        fprintf(f, "usage: coi-runtime [global flags] COMMAND [flags] [ID] [args…]\n\n"
                   "global flags:\n"
                   "  --root DIR             state directory (default " COI_RUNTIME_STATE_ROOT ")\n"
                   "  --log FILE             write log messages to FILE\n"
                   "  --log-format text|json format of the --log file (json: one object per line)\n"
                   "  --debug                log debug messages\n"
                   "  --systemd-cgroup       refused: coi-runtime manages cgroupfs directly\n"
                   "  --cgroup-best-effort   a missing cgroup controller is a warning, not an error\n"
                   "  --timings              print per-phase times on stderr\n"
                   "  --version              print the version\n\ncommands:\n");
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
                fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].help);
}

enum {
        OPT_ROOT = 0x100,
        OPT_LOG,
        OPT_LOG_FORMAT,
        OPT_DEBUG,
        OPT_SYSTEMD_CGROUP,
        OPT_VERSION,
        OPT_TIMINGS,
        OPT_BEST_EFFORT,
        OPT_IGNORED_ARG,
        OPT_IGNORED,
        OPT_HELP,
};

/* SIGPIPE is caught, not ignored: a write to a hook or socket whose reader is gone then fails with
 * EPIPE instead of killing us, and, unlike SIG_IGN, a handler is reset by execve, so the containers
 * and hooks we start get the default disposition. */
static void on_sigpipe(int signo)
{
}

int main(int argc, char **argv)
{
        struct sigaction pipe_sa = { .sa_handler = on_sigpipe };
        sigemptyset(&pipe_sa.sa_mask);
        sigaction(SIGPIPE, &pipe_sa, NULL);

        struct cli cli = {
                .ctx = { .log_level = COI_LOG_WARNING },
                .t0 = cli_now_ns(),
        };
        const char *t0 = getenv(T0_ENV);
        if (t0) {
                cli.t0 = strtoull(t0, NULL, 10);
                unsetenv(T0_ENV);
        }
        cli.argv = argv;
        cli.ctx.log = cli_on_log;
        cli.ctx.log_data = &cli;

        static const struct option options[] = {
                { "root", required_argument, NULL, OPT_ROOT },
                { "log", required_argument, NULL, OPT_LOG },
                { "log-format", required_argument, NULL, OPT_LOG_FORMAT },
                { "debug", no_argument, NULL, OPT_DEBUG },
                { "systemd-cgroup", no_argument, NULL, OPT_SYSTEMD_CGROUP },
                { "version", no_argument, NULL, OPT_VERSION },
                { "timings", no_argument, NULL, OPT_TIMINGS },
                { "cgroup-best-effort", no_argument, NULL, OPT_BEST_EFFORT },
                /* runc flags podman/containerd may pass that mean nothing here. */
                { "rootless", required_argument, NULL, OPT_IGNORED_ARG },
                { "criu", required_argument, NULL, OPT_IGNORED_ARG },
                { "log-level", required_argument, NULL, OPT_IGNORED_ARG },
                { "help", no_argument, NULL, OPT_HELP },
                {},
        };
        cli.verb = "";
        cli_getopt_reset();
        int c;
        while ((c = getopt_long(argc, argv, "+hv", options, NULL)) != -1) {
                switch (c) {
                case OPT_ROOT:
                        cli.ctx.state_root = optarg;
                        break;
                case OPT_LOG:
                        cli.log_path = optarg;
                        break;
                case OPT_LOG_FORMAT:
                        if (strcmp(optarg, "json") == 0)
                                cli.log_json = true;
                        else if (strcmp(optarg, "text") == 0)
                                cli.log_json = false;
                        else
                                return cli_failf(&cli, "--log-format %s: expected text or json", optarg);
                        break;
                case OPT_DEBUG:
                        cli.debug = true;
                        cli.ctx.log_level = COI_LOG_DEBUG;
                        break;
                case OPT_SYSTEMD_CGROUP:
                        cli.ctx.systemd_cgroup = true;
                        break;
                case 'v':
                case OPT_VERSION:
                        printf("coi-runtime version %s\nspec: 1.1.0\n", COI_VERSION);
                        return 0;
                case OPT_TIMINGS:
                        cli.timings = true;
                        cli.ctx.timings = true;
                        if (cli.ctx.log_level < COI_LOG_INFO)
                                cli.ctx.log_level = COI_LOG_INFO;
                        break;
                case OPT_BEST_EFFORT:
                        cli.ctx.cgroup_best_effort = true;
                        break;
                case OPT_IGNORED_ARG:
                case OPT_IGNORED:
                        break;
                case 'h':
                case OPT_HELP:
                        usage(stdout);
                        return 0;
                default:
                        return cli_failf(&cli, "unknown global flag %s (see coi-runtime --help)",
                                         argv[optind - 1]);
                }
        }
        if (cli.log_path) {
                cli.log_file = fopen(cli.log_path, "ae");
                if (!cli.log_file)
                        return cli_failf(&cli, "open log file %s: %s", cli.log_path, strerror(errno));
        }
        if (optind >= argc) {
                usage(stderr);
                return cli_failf(&cli, "no command given");
        }
        const char *name = argv[optind];
        const struct verb *verb = NULL;
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
                if (strcmp(verbs[i].name, name) == 0)
                        verb = &verbs[i];
        if (!verb)
                return cli_failf(&cli, "unknown command \"%s\" (see coi-runtime --help)", name);
        cli.verb = verb->name;

        int r = verb->fn(&cli, argc - optind, argv + optind);
        cli_timing(&cli, "total", cli.t0);
        if (cli.log_file)
                fclose(cli.log_file);
        return r;
}
