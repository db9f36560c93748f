/* ps.c — `coi-runtime ps [--format table|json] ID`: the processes of a container (json: array of pids). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

/* The command line of pid for the table, spaces between arguments. */
static void print_cmdline(pid_t pid)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        if (read_file_at(AT_FDCWD, path, 65536, &data, &len, NULL) < 0 || len == 0) {
                printf("?\n");
                return;
        }
        for (size_t i = 0; i + 1 < len; i++)
                if (data[i] == '\0')
                        data[i] = ' ';
        printf("%s\n", data);
}

int cmd_ps(struct cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                { "format", required_argument, NULL, 'f' },
                {},
        };
        bool json = false;
        cli_getopt_reset();
        int c;
        while ((c = getopt_long(argc, argv, "+f:", options, NULL)) != -1) {
                if (c == 'f' && (streq(optarg, "json") || streq(optarg, "table")))
                        json = streq(optarg, "json");
                else if (c == 'f')
                        return cli_failf(cli, "--format %s: expected table or json", optarg);
                else
                        return cli_usage(cli, "[--format table|json] ID", "unknown flag %s",
                                         argv[optind - 1]);
        }
        if (optind >= argc)
                return cli_usage(cli, "[--format table|json] ID", "no container id given");
        struct coi_error err = { 0 };
        _cleanup_free_ pid_t *pids = NULL;
        if (coi_container_pids(&cli->ctx, argv[optind], &pids, &err) < 0)
                return cli_fail(cli, &err);
        if (json) {
                fputc('[', stdout);
                for (pid_t *p = pids; *p; p++)
                        printf("%s%d", p == pids ? "" : ",", (int)*p);
                fputs("]\n", stdout);
                return 0;
        }
        printf("%-8s %s\n", "PID", "CMD");
        for (pid_t *p = pids; *p; p++) {
                printf("%-8d ", (int)*p);
                print_cmdline(*p);
        }
        return 0;
}
