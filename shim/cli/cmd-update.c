/* cmd-update.c — `coi update [--check] [-f]`: coi is installed from its source tree (or a package), not
 * replaced by itself, so update says which version runs and how a newer one arrives; nothing changes. */
#include <stdio.h>
#include <unistd.h>

#include "commands.h"
#include "util.h"

static int update_run(const struct cli_call *call)
{
        /* code-on-incus's first line, then ours instead of a release lookup: exit 0 as upstream does
         * when there is nothing to install, with --check or without. */
        printf("Current version: v%s\n", COI_VERSION);
        printf("coi is updated with its source, not by itself: git pull && tools/quickstart "
               "--install-only\n");
        if (access(COI_SOURCE_ROOT "/tools/quickstart", X_OK) == 0)
                printf("Source tree: %s\n", COI_SOURCE_ROOT);
        if (!cli_bool(call, "check"))
                printf("\nNothing was changed.\n");
        return 0;
}

static const struct cli_flag update_flags[] = {
        { .name = "check", .type = CLI_BOOL, .help = "only say which version runs and how updates arrive" },
        { .name = "force",
          .shorthand = 'f',
          .type = CLI_BOOL,
          .help = "accepted; there is nothing to confirm" },
        { .name = "version",
          .type = CLI_STRING,
          .help = "accepted; coi installs no releases",
          .hidden = true },
        { 0 },
};

const struct cli_command cli_cmd_update = {
        .name = "update",
        .summary = "Show the version and how coi is updated",
        .description =
                "coi is installed from its source tree (tools/quickstart --install-only) or a package, so "
                "it\n"
                "does not download or replace itself: update prints the version that runs and how a newer\n"
                "one arrives (git pull in the source tree, then tools/quickstart --install-only), and\n"
                "exits 0.",
        .flags = update_flags,
        .args = CLI_ARGS_ANY,
        .run = update_run,
};
