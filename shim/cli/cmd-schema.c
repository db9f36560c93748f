/* cmd-schema.c — `coi schema profile|config`: the JSON Schema of a profile's or a config file's
 * config.toml, generated from the configuration's key table (config-schema.c). */
#include <stdlib.h>

#include "commands.h"
#include "config/config.h"

static int print_schema(const struct cli_call *call)
{
        bool profile = call->cmd->name[0] == 'p';
        struct coi_error err = { 0 };
        char *json = NULL;
        if (config_schema_json(profile ? CONFIG_LAYER_PROFILE : CONFIG_LAYER_FILE, &json, &err) < 0)
                return cli_error(1, "%s", err.msg);
        puts(json);
        free(json);
        return 0;
}

static const struct cli_command schema_profile = {
        .name = "profile",
        .summary = "Print the JSON Schema of a profile's config.toml",
        .args = CLI_ARGS_ANY,
        .run = print_schema,
        .no_config = true,
};

static const struct cli_command schema_config = {
        .name = "config",
        .summary = "Print the JSON Schema of a config.toml (~/.coi, .coi, $COI_CONFIG)",
        .args = CLI_ARGS_ANY,
        .run = print_schema,
        .no_config = true,
};

static const struct cli_command *const schemas[] = { &schema_config, &schema_profile, NULL };

const struct cli_command cli_cmd_schema = {
        .name = "schema",
        .summary = "Print JSON Schemas of the configuration formats",
        .description = "Print the JSON Schema of a configuration format, for editors and validators. The\n"
                       "schemas are generated from the same key table the configuration loader uses.",
        .subcommands = schemas,
        .no_config = true,
};
