/* list.c — `coi-runtime list [--format table|json] [-q]`: the containers under --root. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "util.h"

static void format_created(uint64_t ns, char *buf, size_t size)
{
        time_t secs = (time_t)(ns / 1000000000u);
        struct tm tm;
        gmtime_r(&secs, &tm);
        strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int cmd_list(struct cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                { "format", required_argument, NULL, 'f' },
                { "quiet", no_argument, NULL, 'q' },
                {},
        };
        bool json = false, quiet = false;
        cli_getopt_reset();
        int c;
        while ((c = getopt_long(argc, argv, "+f:q", options, NULL)) != -1) {
                if (c == 'f' && (streq(optarg, "json") || streq(optarg, "table")))
                        json = streq(optarg, "json");
                else if (c == 'f')
                        return cli_failf(cli, "--format %s: expected table or json", optarg);
                else if (c == 'q')
                        quiet = true;
                else
                        return cli_usage(cli, "[--format table|json] [-q]", "unknown flag %s",
                                         argv[optind - 1]);
        }
        if (optind != argc)
                return cli_usage(cli, "[--format table|json] [-q]", "too many arguments");
        struct coi_error err = { 0 };
        _cleanup_strv_ char **ids = NULL;
        if (coi_container_list(&cli->ctx, &ids, &err) < 0)
                return cli_fail(cli, &err);
        if (quiet) {
                for (char **id = ids; *id; id++)
                        printf("%s\n", *id);
                return 0;
        }
        if (json) {
                /* An array of the state documents; a container deleted meanwhile is left out. */
                fputc('[', stdout);
                bool first = true;
                for (char **id = ids; *id; id++) {
                        char *doc = NULL;
                        if (coi_container_state_json(&cli->ctx, *id, &doc, NULL) < 0)
                                continue;
                        doc[strcspn(doc, "\n")] = '\0';
                        printf("%s%s", first ? "" : ",", doc);
                        first = false;
                        free(doc);
                }
                fputs("]\n", stdout);
                return 0;
        }
        printf("%-20s %-8s %-10s %-40s %-22s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
        for (char **id = ids; *id; id++) {
                struct coi_state st = { 0 };
                if (coi_container_state(&cli->ctx, *id, &st, NULL) < 0)
                        continue;
                char created[40];
                format_created(st.created_ns, created, sizeof(created));
                printf("%-20s %-8d %-10s %-40s %-22s %s\n", st.id, (int)st.pid,
                       coi_status_to_string(st.status), st.bundle, created, st.owner);
                coi_state_free(&st);
        }
        return 0;
}
