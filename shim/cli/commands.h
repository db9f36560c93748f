/* commands.h — coi's command tree: the root (main.c) and one cli_command per top-level command, each
 * defined in its cmd-*.c beside its handler. cli.h describes the table; docs/compat.md maps it to
 * code-on-incus 0.8. */
#pragma once

#include "cli.h"

extern const struct cli_command cli_root;

extern const struct cli_command cli_cmd_attach, cli_cmd_audit, cli_cmd_monitor, cli_cmd_build, cli_cmd_clean,
        cli_cmd_completion, cli_cmd_config, cli_cmd_container, cli_cmd_file, cli_cmd_health, cli_cmd_help,
        cli_cmd_image, cli_cmd_info, cli_cmd_kill, cli_cmd_list, cli_cmd_network, cli_cmd_persist,
        cli_cmd_profile, cli_cmd_run, cli_cmd_schema, cli_cmd_shell, cli_cmd_shutdown, cli_cmd_snapshot,
        cli_cmd_tmux, cli_cmd_unfreeze, cli_cmd_update, cli_cmd_version;
