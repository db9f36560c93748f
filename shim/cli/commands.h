/* commands.h — the table of coi's commands: each lives in its own cmd-*.c and takes argv from its
 * own name on (argv[0] = "image"), returning the process exit code. */
#pragma once

struct coi_command {
        const char *name;
        int (*run)(int argc, char **argv);
        const char *summary;
};

int cmd_version(int argc, char **argv);
int cmd_help(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
