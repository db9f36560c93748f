/* create.c — `coi-runtime create [flags] ID`: set a container up, its init waiting for `start`.
 * Also the flag parser shared with `run`. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

#define CREATE_USAGE "[--bundle DIR] [--pid-file FILE] [--console-socket SOCK] [--preserve-fds N] ID"

int cli_parse_create_flags(struct cli *cli, int argc, char **argv, bool is_run, struct create_flags *ret)
{
        enum {
                OPT_PID_FILE = 0x100,
                OPT_CONSOLE,
                OPT_PRESERVE,
                OPT_NO_PIVOT,
                OPT_NO_KEYRING,
                OPT_IGNORED
        };
        static const struct option options[] = {
                { "bundle", required_argument, NULL, 'b' },
                { "pid-file", required_argument, NULL, OPT_PID_FILE },
                { "console-socket", required_argument, NULL, OPT_CONSOLE },
                { "preserve-fds", required_argument, NULL, OPT_PRESERVE },
                { "no-pivot", no_argument, NULL, OPT_NO_PIVOT },
                { "no-new-keyring", no_argument, NULL, OPT_NO_KEYRING },
                { "detach", no_argument, NULL, 'd' },
                /* runc flags with no meaning here (accepted so clients that pass them work). */
                { "keep", no_argument, NULL, OPT_IGNORED },
                { "no-subreaper", no_argument, NULL, OPT_IGNORED },
                {},
        };
        *ret = (struct create_flags){ .opts = { .bundle = "." } };
        cli_getopt_reset();
        int c;
        while ((c = getopt_long(argc, argv, is_run ? "+b:d" : "+b:", options, NULL)) != -1) {
                switch (c) {
                case 'b':
                        ret->opts.bundle = optarg;
                        break;
                case OPT_PID_FILE:
                        ret->opts.pid_file = optarg;
                        break;
                case OPT_CONSOLE:
                        ret->opts.console_socket = optarg;
                        break;
                case OPT_PRESERVE: {
                        char *end;
                        long n = strtol(optarg, &end, 10);
                        if (*end || n < 0 || n > 65536) {
                                cli_usage(cli, CREATE_USAGE, "--preserve-fds %s: expected a count", optarg);
                                return -1;
                        }
                        ret->opts.preserve_fds = (int)n;
                        break;
                }
                case OPT_NO_PIVOT:
                        ret->opts.no_pivot = true;
                        break;
                case OPT_NO_KEYRING:
                        ret->opts.no_new_keyring = true;
                        break;
                case 'd':
                        if (!is_run) {
                                cli_usage(cli, CREATE_USAGE, "unknown flag --detach");
                                return -1;
                        }
                        ret->detach = true;
                        break;
                case OPT_IGNORED:
                        break;
                default:
                        cli_usage(cli, CREATE_USAGE, "unknown flag %s", argv[optind - 1]);
                        return -1;
                }
        }
        if (optind != argc - 1) {
                cli_usage(cli, CREATE_USAGE, optind >= argc ? "no container id given" : "too many arguments");
                return -1;
        }
        return optind;
}

void create_flags_done(struct create_flags *f)
{
        create_config_done(&f->config);
}

int cli_seal_for_create(struct cli *cli, struct create_flags *f)
{
        struct coi_error err = { 0 };
        bool needed = true;
        if (create_config_load(&f->opts, f->opts.bundle, &f->config, &err) < 0 ||
            sealed_binary_needed_for_config(&f->config, &needed, &err) < 0)
                return cli_fail(cli, &err);
        return cli_seal(cli, needed);
}

int cmd_create(struct cli *cli, int argc, char **argv)
{
        _cleanup_(create_flags_done) struct create_flags f = { 0 };
        int i = cli_parse_create_flags(cli, argc, argv, false, &f);
        if (i < 0 || cli_seal_for_create(cli, &f))
                return 1;
        struct coi_error err = { 0 };
        if (container_create_with(&cli->ctx, argv[i], &f.opts, &f.config, &err) < 0)
                return cli_fail(cli, &err);
        return 0;
}
