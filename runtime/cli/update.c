/* update.c — `coi-runtime update -r FILE|- ID`: apply a LinuxResources document to the container's cgroup. */
#include <stdlib.h>

#include "cli.h"
#include "util.h"

int cmd_update(struct cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                { "resources", required_argument, NULL, 'r' },
                {},
        };
        const char *file = NULL;
        cli_getopt_reset();
        int c;
        while ((c = getopt_long(argc, argv, "+r:", options, NULL)) != -1) {
                if (c != 'r')
                        return cli_usage(cli, "-r FILE|- ID", "unknown flag %s", argv[optind - 1]);
                file = optarg;
        }
        if (optind != argc - 1)
                return cli_usage(cli, "-r FILE|- ID",
                                 optind >= argc ? "no container id given" : "too many arguments");
        if (!file)
                return cli_usage(cli, "-r FILE|- ID", "no resources given: use -r FILE (or - for stdin)");
        struct coi_error err = { 0 };
        _cleanup_free_ char *json = NULL;
        if (cli_read_file(file, &json, &err) < 0)
                return cli_fail(cli, &err);
        if (coi_container_update(&cli->ctx, argv[optind], json, &err) < 0)
                return cli_fail(cli, &err);
        return 0;
}
