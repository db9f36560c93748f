/* start.c — `coi-runtime start ID`: release the waiting init of a created container. */
#include "cli.h"

int cmd_start(struct cli *cli, int argc, char **argv)
{
        if (argc != 2)
                return cli_usage(cli, "ID", argc < 2 ? "no container id given" : "too many arguments");
        struct coi_error err = { 0 };
        if (coi_container_start(&cli->ctx, argv[1], &err) < 0)
                return cli_fail(cli, &err);
        return 0;
}
