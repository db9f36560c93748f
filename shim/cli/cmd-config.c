/* cmd-config.c — `coi config show [--format text|json] [--profile NAME]`: the effective configuration,
 * each key with the layer it came from (default, a file:line, an environment variable, a flag). */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "config/config.h"
#include "util.h"

static void usage(FILE *out)
{
        fputs("Usage: coi config show [--format text|json] [--profile NAME]\n"
              "\n"
              "Prints every configuration key with its value and where it came from: \"default\",\n"
              "FILE:LINE, \"env NAME\" or \"flag --NAME\". Files are read in this order, later ones\n"
              "winning: ~/.coi/config.toml, ./.coi/config.toml, $COI_CONFIG; then the profile, then\n"
              "environment variables.\n",
              out);
}

static int cmd_config(int argc, char **argv)
{
        enum config_show_format format = CONFIG_SHOW_TEXT;
        const char *profile = NULL;

        if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h")) {
                usage(argc < 2 ? stderr : stdout);
                return argc < 2 ? 2 : 0;
        }
        if (!streq(argv[1], "show")) {
                fprintf(stderr, "coi config: unknown subcommand \"%s\"\n", argv[1]);
                usage(stderr);
                return 2;
        }
        for (int i = 2; i < argc; i++) {
                const char *a = argv[i];
                const char *v = NULL;
                if (streq(a, "--json")) {
                        format = CONFIG_SHOW_JSON;
                        continue;
                }
                if (streq(a, "--help") || streq(a, "-h")) {
                        usage(stdout);
                        return 0;
                }
                if (startswith(a, "--format=") || startswith(a, "--profile="))
                        v = strchr(a, '=') + 1;
                else if ((streq(a, "--format") || streq(a, "--profile")) && i + 1 < argc)
                        v = argv[++i];
                if (v && startswith(a, "--format")) {
                        if (streq(v, "json"))
                                format = CONFIG_SHOW_JSON;
                        else if (streq(v, "text"))
                                format = CONFIG_SHOW_TEXT;
                        else {
                                fprintf(stderr,
                                        "coi config show: --format must be text or json, got \"%s\"\n", v);
                                return 2;
                        }
                } else if (v && startswith(a, "--profile")) {
                        profile = v;
                } else {
                        fprintf(stderr, "coi config show: unknown argument \"%s\"\n", a);
                        return 2;
                }
        }

        struct coi_error err = { 0 };
        _cleanup_(config_freep) struct config *cfg = NULL;
        struct config_load_options opts = { .profile = profile };
        if (config_load(&opts, &cfg, &err) < 0) {
                fprintf(stderr, "coi: %s\n", err.msg);
                return 1;
        }
        if (config_show(cfg, stdout, format, false) < 0 || fflush(stdout) != 0) {
                fprintf(stderr, "coi: write output: %m\n");
                return 1;
        }
        return 0;
}

/* TRANSITIONAL (issue 18): parses its own argv until it takes a cli_call. */
const struct cli_command cli_cmd_config = {
        .name = "config",
        .summary = "Show the merged configuration and where each value comes from",
        .raw = cmd_config
};
