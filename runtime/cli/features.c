/* features.c — `coi-runtime features`: the runtime-spec features document. */
#include <stdlib.h>

#include "cli.h"

int cmd_features(struct cli *cli, int argc, char **argv)
{
        if (argc != 1)
                return cli_usage(cli, "", "too many arguments");
        struct coi_error err = { 0 };
        char *json = NULL;
        if (coi_features_json(&json, &err) < 0)
                return cli_fail(cli, &err);
        fputs(json, stdout);
        free(json);
        return 0;
}
