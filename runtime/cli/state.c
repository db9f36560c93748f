/* state.c — `coi-runtime state ID`: print the OCI state document. */
#include <stdlib.h>

#include "cli.h"

int cmd_state(struct cli *cli, int argc, char **argv)
{
        if (argc != 2)
                return cli_usage(cli, "ID", argc < 2 ? "no container id given" : "too many arguments");
        struct coi_error err = { 0 };
        char *json = NULL;
        if (coi_container_state_json(&cli->ctx, argv[1], &json, &err) < 0)
                return cli_fail(cli, &err);
        printf("%s\n", json);
        free(json);
        return 0;
}
