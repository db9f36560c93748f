/* main.c — coi: global flags and dispatch to one file per command (cmd-*.c). Each command parses its
 * own flags, calls the runtime library or the shim's modules, prints, and returns an exit code. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

static const struct coi_command commands[] = {
        { "build", cmd_build, "Build the default image (coi-default) or a profile's image" },
        { "config", cmd_config, "Show the merged configuration and where each value comes from" },
        { "container", cmd_container,
          "Low-level container commands: launch, start, stop, delete, exec, list, info" },
        { "snapshot", cmd_snapshot, "Create, list, restore, delete and inspect container snapshots" },
        { "image", cmd_image, "Import, export, list, inspect, alias and delete images" },
        { "network", cmd_network, "Network policy of running containers: allow, deny, show, log" },
        { "profile", cmd_profile, "List, show, create, edit and delete profiles" },
        { "health", cmd_health, "Check system health and dependencies" },
        { "completion", cmd_completion, "Generate the shell completion script (bash)" },
        { "shell", cmd_shell, "Start an interactive AI coding session in a container" },
        { "run", cmd_run, "Run a command in an ephemeral container" },
        { "attach", cmd_attach, "Attach to a running session's tmux" },
        { "list", cmd_list, "List active containers and saved sessions" },
        { "info", cmd_info, "Show a saved session" },
        { "shutdown", cmd_shutdown, "Gracefully stop and delete containers" },
        { "kill", cmd_kill, "Force-stop and delete containers" },
        { "persist", cmd_persist, "Make containers persistent" },
        { "unfreeze", cmd_unfreeze, "Thaw frozen containers" },
        { "clean", cmd_clean, "Remove stopped containers, saved sessions, orphaned resources" },
        { "file", cmd_file, "Copy files into and out of containers" },
        { "tmux", cmd_tmux, "Send to, capture and list the agents' tmux sessions" },
        { "version", cmd_version, "Print the version" },
        { "help", cmd_help, "Help about a command" },
};

static const struct coi_command *command_find(const char *name)
{
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                if (strcmp(commands[i].name, name) == 0)
                        return &commands[i];
        return NULL;
}

int cmd_version(int argc, char **argv)
{
        /* code-on-incus's two lines: scripts match the first against "code-on-incus (coi) vX.Y.Z". */
        printf("code-on-incus (coi) v%s\n", COI_VERSION);
        printf("coi: a sandbox for AI coding agents, compatible with code-on-incus 0.8\n");
        return 0;
}

int cmd_help(int argc, char **argv)
{
        if (argc > 1) {
                const struct coi_command *c = command_find(argv[1]);
                if (!c) {
                        fprintf(stderr, "coi: unknown command \"%s\"\n", argv[1]);
                        return 1;
                }
                printf("coi %s — %s\n", c->name, c->summary);
                return 0;
        }
        printf("coi — a sandbox for AI coding agents\n\nUsage: coi [command] [flags]\n\nCommands:\n");
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                printf("  %-12s %s\n", commands[i].name, commands[i].summary);
        return 0;
}

int main(int argc, char **argv)
{
        if (argc > 1 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-v") == 0))
                return cmd_version(argc - 1, argv + 1);
        if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
                return cmd_help(1, argv);
        if (argc < 2 || argv[1][0] == '-') /* `coi` alone, or with global flags only: `coi shell` */
                return cmd_shell(argc, argv);
        const struct coi_command *c = command_find(argv[1]);
        if (!c) {
                fprintf(stderr, "coi: unknown command \"%s\" for \"coi\"\nRun 'coi --help' for usage.\n",
                        argv[1]);
                return 2;
        }
        return c->run(argc - 1, argv + 1);
}
