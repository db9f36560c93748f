/* cmd-config.c — `coi config show [--format text|json]` (with the global --profile): the effective
 * configuration, each key with the layer it came from (default, a file:line, an environment variable). */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "config/config.h"
#include "util.h"

static int config_show_run(const struct cli_call *call)
{
        bool json = streq(cli_str(call, "format"), "json") || cli_bool(call, "json");
        const char *profile = cli_str(call, "profile");
        struct coi_error err = { 0 };
        _cleanup_(config_freep) struct config *cfg = NULL;
        struct config_load_options opts = { .profile = *profile ? profile : NULL };
        if (config_load(&opts, &cfg, &err) < 0)
                return cli_error(1, "%s", err.msg);
        if (config_show(cfg, stdout, json ? CONFIG_SHOW_JSON : CONFIG_SHOW_TEXT, false) < 0 ||
            fflush(stdout) != 0)
                return cli_error(1, "write output: %m");
        return 0;
}

static const struct cli_flag show_flags[] = {
        CLI_FLAG_FORMAT_TEXT_JSON,
        { .name = "json", .type = CLI_BOOL, .help = "same as --format json", .hidden = true },
        { 0 },
};

static const struct cli_command show = {
        .name = "show",
        .summary = "Show the merged configuration and where each value comes from",
        .description =
                "Print every configuration key with its value and where it came from: \"default\",\n"
                "FILE:LINE or \"env NAME\". Files are read in this order, later ones winning:\n"
                "~/.coi/config.toml, ./.coi/config.toml, $COI_CONFIG; then the profile (--profile NAME),\n"
                "then environment variables.",
        .flags = show_flags,
        .args = CLI_ARGS_NONE,
        .run = config_show_run,
};

static const struct cli_command *const config_commands[] = { &show, NULL };

/* coi's own: code-on-incus 0.8 has no config command. */
const struct cli_command cli_cmd_config = {
        .name = "config",
        .summary = "Show the merged configuration and where each value comes from",
        .subcommands = config_commands,
};
