/* exec.c — `coi-runtime exec [flags] ID [COMMAND [ARG…]]`: run another process in a running container;
 * exits with its code unless --detach. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <unistd.h>

#include "cli.h"
#include "util.h"

#define EXEC_USAGE                                                                                           \
        "[--process FILE | -t] [--console-socket SOCK] [--pid-file FILE] [-d] [--cwd DIR] [-e K=V]… "      \
        "[-u UID[:GID]] [-g GID]… [--cap CAP]… [--preserve-fds N] ID [COMMAND [ARG…]]"

int cmd_exec(struct cli *cli, int argc, char **argv)
{
        enum {
                OPT_CONSOLE = 0x100,
                OPT_PID_FILE,
                OPT_CWD,
                OPT_CAP,
                OPT_PRESERVE,
                OPT_IGNORED_ARG,
                OPT_IGNORED
        };
        static const struct option options[] = {
                { "process", required_argument, NULL, 'p' },
                { "tty", no_argument, NULL, 't' },
                { "console-socket", required_argument, NULL, OPT_CONSOLE },
                { "pid-file", required_argument, NULL, OPT_PID_FILE },
                { "detach", no_argument, NULL, 'd' },
                { "cwd", required_argument, NULL, OPT_CWD },
                { "env", required_argument, NULL, 'e' },
                { "user", required_argument, NULL, 'u' },
                { "additional-gids", required_argument, NULL, 'g' },
                { "cap", required_argument, NULL, OPT_CAP },
                { "preserve-fds", required_argument, NULL, OPT_PRESERVE },
                /* runc flags that mean nothing here. */
                { "process-label", required_argument, NULL, OPT_IGNORED_ARG },
                { "apparmor", required_argument, NULL, OPT_IGNORED_ARG },
                { "no-new-privs", no_argument, NULL, OPT_IGNORED },
                {},
        };
        struct coi_exec_options opts = { 0 };
        const char *process_file = NULL;
        _cleanup_strv_ char **env = NULL;
        _cleanup_strv_ char **caps = NULL;
        uint32_t gids[64];
        cli_getopt_reset();
        int c;
        while ((c = getopt_long(argc, argv, "+p:tde:u:g:", options, NULL)) != -1) {
                switch (c) {
                case 'p':
                        process_file = optarg;
                        break;
                case 't':
                        opts.tty = true;
                        break;
                case OPT_CONSOLE:
                        opts.console_socket = optarg;
                        break;
                case OPT_PID_FILE:
                        opts.pid_file = optarg;
                        break;
                case 'd':
                        opts.detach = true;
                        break;
                case OPT_CWD:
                        opts.cwd = optarg;
                        break;
                case 'e':
                        if (!strchr(optarg, '='))
                                return cli_usage(cli, EXEC_USAGE, "--env %s: expected KEY=VALUE", optarg);
                        if (strv_push(&env, optarg) < 0)
                                return cli_failf(cli, "out of memory");
                        break;
                case 'u':
                        opts.user = optarg;
                        break;
                case 'g': {
                        char *end;
                        errno = 0;
                        unsigned long g = strtoul(optarg, &end, 10);
                        if (errno || end == optarg || *end || g > UINT32_MAX - 1)
                                return cli_usage(cli, EXEC_USAGE, "--additional-gids %s: expected a gid",
                                                 optarg);
                        if (opts.n_additional_gids == ELEMENTSOF(gids))
                                return cli_usage(cli, EXEC_USAGE, "--additional-gids: more than %zu",
                                                 ELEMENTSOF(gids));
                        gids[opts.n_additional_gids++] = (uint32_t)g;
                        opts.additional_gids = gids;
                        break;
                }
                case OPT_CAP:
                        if (strv_push(&caps, optarg) < 0)
                                return cli_failf(cli, "out of memory");
                        break;
                case OPT_PRESERVE: {
                        char *end;
                        long n = strtol(optarg, &end, 10);
                        if (*end || n < 0 || n > 65536)
                                return cli_usage(cli, EXEC_USAGE, "--preserve-fds %s: expected a count",
                                                 optarg);
                        opts.preserve_fds = (int)n;
                        break;
                }
                case OPT_IGNORED_ARG:
                case OPT_IGNORED:
                        break;
                default:
                        return cli_usage(cli, EXEC_USAGE, "unknown flag %s", argv[optind - 1]);
                }
        }
        if (optind >= argc)
                return cli_usage(cli, EXEC_USAGE, "no container id given");
        const char *id = argv[optind++];
        struct coi_error err = { 0 };
        bool needed = true;
        if (coi_sealed_binary_needed_for_exec(&cli->ctx, id, &needed, &err) < 0)
                return cli_fail(cli, &err);
        if (cli_seal(cli, needed))
                return 1;
        _cleanup_free_ char *process_json = NULL;
        if (process_file) {
                if (optind < argc)
                        return cli_usage(cli, EXEC_USAGE, "give either --process or a command, not both");
                if (cli_read_file(process_file, &process_json, &err) < 0)
                        return cli_fail(cli, &err);
                opts.process_json = process_json;
        } else {
                if (optind >= argc)
                        return cli_usage(cli, EXEC_USAGE, "no command given");
                opts.args = argv + optind;
        }
        opts.env = env;
        opts.caps = caps;
        /* In the foreground, the library only spawns (detach) and we wait here, so that signals
         * sent to us reach the process, as with runc. It is our child: waitpid gives its status. */
        bool foreground = !opts.detach;
        opts.detach = true;
        int pid = 0;
        if (foreground)
                cli_forward_signals(0);
        /* -t without --console-socket in the foreground: the pty comes back to us (as with runc). */
        int tty_local = -1, tty_remote = -1;
        if (foreground && !opts.console_socket && cli_tty_socketpair(&tty_local, &tty_remote) == 0)
                opts.console_socket_fd = tty_remote;
        int rr = coi_container_exec(&cli->ctx, id, &opts, &pid, &err);
        if (tty_remote >= 0)
                close(tty_remote);
        if (rr < 0) {
                if (tty_local >= 0)
                        close(tty_local);
                return cli_fail(cli, &err);
        }
        if (!foreground)
                return 0;
        int status = 0;
        int r = cli_foreground_wait(pid, tty_local, &status);
        if (r < 0) {
                errno = -r;
                return cli_failf(cli, "wait for process %d in container %s: %m", pid, id);
        }
        return cli_exit_code(status);
}
