/* delete.c — `coi-runtime delete [--force] ID`: remove a stopped container (any container with --force). */
#include <errno.h>

#include "cli.h"

int cmd_delete(struct cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                { "force", no_argument, NULL, 'f' },
                {},
        };
        bool force = false;
        cli_getopt_reset();
        int c;
        while ((c = getopt_long(argc, argv, "+f", options, NULL)) != -1) {
                if (c != 'f')
                        return cli_usage(cli, "[--force] ID", "unknown flag %s", argv[optind - 1]);
                force = true;
        }
        if (optind != argc - 1)
                return cli_usage(cli, "[--force] ID",
                                 optind >= argc ? "no container id given" : "too many arguments");
        struct coi_error err = { 0 };
        int r = coi_container_delete(&cli->ctx, argv[optind], force, &err);
        /* As runc: deleting what is not there is fine with --force (clients clean up blindly). */
        if (r == -ENOENT && force)
                return 0;
        if (r < 0)
                return cli_fail(cli, &err);
        return 0;
}
