/* main.c — coi's root command: the global flags every command accepts, the list of commands, the
 * configuration loaded before each, version and help. The parsing itself is cli-parse.c's; each
 * command's flags and handler live in its cmd-*.c. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "config/config.h"
#include "util.h"

/* code-on-incus's persistent flags: accepted by every command, before or after its name. */
static const struct cli_flag global_flags[] = {
        { .name = "workspace",
          .shorthand = 'w',
          .type = CLI_STRING,
          .def = ".",
          .help = "workspace directory" },
        { .name = "slot", .type = CLI_INT, .help = "slot for parallel sessions (0: the first free one)" },
        { .name = "image", .type = CLI_STRING, .help = "image to start from (default: [container] image)" },
        { .name = "persistent", .type = CLI_BOOL, .help = "keep the container after the session" },
        { .name = "resume",
          .type = CLI_STRING,
          .no_opt = "auto",
          .help = "resume a saved session (alone: the newest)" },
        { .name = "continue", .type = CLI_STRING, .no_opt = "auto", .help = "same as --resume" },
        { .name = "profile", .type = CLI_STRING, .help = "profile to apply" },
        { 0 },
};

static const struct cli_flag root_flags[] = {
        { .name = "version", .shorthand = 'v', .type = CLI_BOOL, .help = "version for coi" },
        { 0 },
};

static int print_version(const struct cli_call *call)
{
        /* code-on-incus's two lines: scripts match the first against "code-on-incus (coi) vX.Y.Z". */
        printf("code-on-incus (coi) v%s\n", COI_VERSION);
        printf("coi: a sandbox for AI coding agents, compatible with code-on-incus 0.8\n");
        return 0;
}

const struct cli_command cli_cmd_version = {
        .name = "version",
        .summary = "Print the version",
        .args = CLI_ARGS_ANY,
        .run = print_version,
        .no_config = true,
};

/* `coi help [command…]`: that command's help; an unknown one is cobra's "Unknown help topic". */
static int help(const struct cli_call *call)
{
        const struct cli_command *path[CLI_PATH_MAX] = { &cli_root };
        int depth = 1;
        for (int i = 0; i < call->nargs; i++) {
                const struct cli_command *found = NULL;
                const struct cli_command *c = path[depth - 1];
                for (const struct cli_command *const *s = c->subcommands; s && *s && !found; s++)
                        if (streq((*s)->name, call->args[i]))
                                found = *s;
                if (!found || depth == CLI_PATH_MAX) {
                        printf("Unknown help topic [`%s`]\n", call->args[i]);
                        cli_print_usage(stdout, path, depth);
                        return 0;
                }
                path[depth++] = found;
        }
        cli_print_help(stdout, path, depth);
        return 0;
}

const struct cli_command cli_cmd_help = {
        .name = "help",
        .use = "[command]",
        .summary = "Help about any command",
        .args = CLI_ARGS_ANY,
        .run = help,
        .no_config = true,
};

/* `coi` alone is `coi shell`; `coi --version` is cobra's one line. */
static int root_run(const struct cli_call *call)
{
        if (cli_bool(call, "version")) {
                printf("coi version %s\n", COI_VERSION);
                return 0;
        }
        return cli_cmd_shell.run(call);
}

/* Before every command (unless it says no_config): the configuration must load and --profile must
 * name a profile, as code-on-incus checks before running anything. */
static int prepare(const struct cli_call *call)
{
        const char *profile = cli_str(call, "profile");
        struct config_load_options o = { .profile = *profile ? profile : NULL };
        struct config *cfg = NULL;
        struct coi_error err = { 0 };
        int r = config_load(&o, &cfg, &err);
        config_free(cfg);
        if (r == -ENOENT && *profile && strstr(err.msg, "not found"))
                return cli_error(1, "%s", err.msg);
        if (r < 0)
                return cli_error(1, "failed to load config: %s", err.msg);
        return 0;
}

static const struct cli_command *const root_commands[] = {
        &cli_cmd_attach,     &cli_cmd_audit,    &cli_cmd_build,     &cli_cmd_clean,
        &cli_cmd_completion, &cli_cmd_config,   &cli_cmd_container, &cli_cmd_file,
        &cli_cmd_health,     &cli_cmd_help,     &cli_cmd_image,     &cli_cmd_info,
        &cli_cmd_kill,       &cli_cmd_list,     &cli_cmd_monitor,   &cli_cmd_network,
        &cli_cmd_persist,    &cli_cmd_profile,  &cli_cmd_run,       &cli_cmd_schema,
        &cli_cmd_shell,      &cli_cmd_shutdown, &cli_cmd_snapshot,  &cli_cmd_tmux,
        &cli_cmd_unfreeze,   &cli_cmd_update,   &cli_cmd_version,   NULL,
};

const struct cli_command cli_root = {
        .name = "coi",
        .summary = "A sandbox for AI coding agents (code-on-incus compatible)",
        .description =
                "coi runs AI coding agents (Claude Code, opencode) in a sandboxed Debian system container "
                "with\n"
                "your workspace mounted at /workspace, protected paths read-only and a filtered network:\n"
                "no Incus, no Docker and no daemon needed. Command-line compatible with code-on-incus 0.8.\n"
                "\n"
                "Examples:\n"
                "  coi                   start an interactive session (same as coi shell)\n"
                "  coi shell --slot 2    a second session on the same workspace\n"
                "  coi run -- make test  run a command in an ephemeral container\n"
                "  coi build             build the default image\n"
                "  coi list              list active sessions",
        .flags = root_flags,
        .persistent = global_flags,
        .subcommands = root_commands,
        .args = CLI_ARGS_ANY,
        .run = root_run,
        .prepare = prepare,
};

int main(int argc, char **argv)
{
        return cli_main(&cli_root, argc, argv);
}
