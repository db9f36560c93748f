/* pause.c — `coi-runtime pause ID` and `coi-runtime resume ID`: freeze and thaw through cgroup.freeze. */
#include "cli.h"

int cmd_pause(struct cli *cli, int argc, char **argv)
{
        if (argc != 2)
                return cli_usage(cli, "ID", argc < 2 ? "no container id given" : "too many arguments");
        struct coi_error err = { 0 };
        if (coi_container_pause(&cli->ctx, argv[1], &err) < 0)
                return cli_fail(cli, &err);
        return 0;
}

int cmd_resume(struct cli *cli, int argc, char **argv)
{
        if (argc != 2)
                return cli_usage(cli, "ID", argc < 2 ? "no container id given" : "too many arguments");
        struct coi_error err = { 0 };
        if (coi_container_resume(&cli->ctx, argv[1], &err) < 0)
                return cli_fail(cli, &err);
        return 0;
}
