/* spec.c — `coi-runtime spec [--rootless] [--bundle DIR]`: write a default config.json. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include "cli.h"
#include "util.h"

int cmd_spec(struct cli *cli, int argc, char **argv)
{
        enum {
                OPT_ROOTLESS = 0x100
        };
        static const struct option options[] = {
                { "rootless", no_argument, NULL, OPT_ROOTLESS },
                { "bundle", required_argument, NULL, 'b' },
                {},
        };
        bool rootless = false;
        const char *bundle = ".";
        cli_getopt_reset();
        int c;
        while ((c = getopt_long(argc, argv, "+b:", options, NULL)) != -1) {
                if (c == OPT_ROOTLESS)
                        rootless = true;
                else if (c == 'b')
                        bundle = optarg;
                else
                        return cli_usage(cli, "[--rootless] [--bundle DIR]", "unknown flag %s",
                                         argv[optind - 1]);
        }
        if (optind != argc)
                return cli_usage(cli, "[--rootless] [--bundle DIR]", "too many arguments");
        struct coi_error err = { 0 };
        _cleanup_free_ char *json = NULL;
        if (coi_spec_json(rootless, &json, &err) < 0)
                return cli_fail(cli, &err);
        _cleanup_free_ char *path = xasprintf("%s/config.json", bundle);
        if (!path)
                return cli_failf(cli, "out of memory");
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && errno == EEXIST)
                return cli_failf(cli, "%s exists already: remove it first", path);
        if (fd < 0)
                return cli_failf(cli, "create %s: %m", path);
        int r = write_all(fd, json, strlen(json));
        if (r < 0) {
                errno = -r;
                return cli_failf(cli, "write %s: %m", path);
        }
        return 0;
}
