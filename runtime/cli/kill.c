/* kill.c — `coi-runtime kill [--all] ID [SIGNAL]`: signal the init, or every process of the container. */
#include <signal.h>

#include "cli.h"

#define KILL_USAGE "[--all] ID [SIGNAL]"

int cmd_kill(struct cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                { "all", no_argument, NULL, 'a' },
                {},
        };
        bool all = false;
        cli_getopt_reset();
        int c;
        while ((c = getopt_long(argc, argv, "+a", options, NULL)) != -1) {
                if (c != 'a')
                        return cli_usage(cli, KILL_USAGE, "unknown flag %s", argv[optind - 1]);
                all = true;
        }
        if (optind >= argc)
                return cli_usage(cli, KILL_USAGE, "no container id given");
        if (argc - optind > 2)
                return cli_usage(cli, KILL_USAGE, "too many arguments");
        int signo = SIGTERM;
        if (argc - optind == 2 && cli_parse_signal(argv[optind + 1], &signo) < 0)
                return cli_failf(cli, "unknown signal \"%s\"", argv[optind + 1]);
        struct coi_error err = { 0 };
        if (coi_container_kill(&cli->ctx, argv[optind], signo, all, &err) < 0)
                return cli_fail(cli, &err);
        return 0;
}
