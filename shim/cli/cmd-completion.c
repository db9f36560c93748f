/* cmd-completion.c — `coi completion bash|zsh|fish`: the completion scripts, generated from the
 * command table (cli-completion.c), so they offer exactly what the parser accepts. */
#include "commands.h"

static const struct cli_flag completion_flags[] = {
        { .name = "no-descriptions", .type = CLI_BOOL, .help = "leave out the commands' descriptions" },
        { 0 },
};

static int print_script(const struct cli_call *call)
{
        cli_print_completion(stdout, call->path[0], call->cmd->name, !cli_bool(call, "no-descriptions"));
        return 0;
}

#define SHELL_COMMAND(shell_name, text)                                                                      \
        {                                                                                                    \
                .name = shell_name, .summary = "Generate the completion script for " shell_name,             \
                .description = text, .flags = completion_flags, .args = CLI_ARGS_NONE, .run = print_script,  \
                .no_config = true,                                                                           \
        }

static const struct cli_command bash =
        SHELL_COMMAND("bash", "Generate the completion script for bash. Load it in this shell with:\n\n"
                              "  source <(coi completion bash)\n\n"
                              "or for every new shell, save it as /etc/bash_completion.d/coi.");
static const struct cli_command zsh =
        SHELL_COMMAND("zsh", "Generate the completion script for zsh. Load it in this shell with:\n\n"
                             "  source <(coi completion zsh)\n\n"
                             "or for every new shell, save it as _coi in a directory of your $fpath.");
static const struct cli_command fish =
        SHELL_COMMAND("fish", "Generate the completion script for fish. Load it in this shell with:\n\n"
                              "  coi completion fish | source\n\n"
                              "or for every new shell, save it as ~/.config/fish/completions/coi.fish.");

static const struct cli_command *const shells[] = { &bash, &fish, &zsh, NULL };

const struct cli_command cli_cmd_completion = {
        .name = "completion",
        .summary = "Generate the autocompletion script for the specified shell",
        .description =
                "Generate the autocompletion script for coi for the specified shell (bash, zsh or fish).\n"
                "See each sub-command's help for how to use the generated script.",
        .subcommands = shells,
        .no_config = true,
};
