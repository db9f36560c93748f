/* cli.h — coi's command line as data: a tree of commands, each with its flags, argument rule and
 * handler. The one description feeds the parser (cli-parse.c), --help (cli-help.c) and the bash, zsh
 * and fish completion scripts (cli-completion.c), so they can't drift. Parsing follows cobra/pflag as
 * code-on-incus 0.8 uses them (docs/compat.md). */
#pragma once

#include <stdbool.h>
#include <stdio.h>

enum cli_type {
        CLI_BOOL,
        CLI_STRING,
        CLI_INT,
        CLI_STRINGS, /* repeatable: each use adds a value (pflag's stringArray) */
};

struct cli_flag {
        const char *name; /* long name, no dashes; NULL ends a flag list */
        char shorthand;   /* one letter, 0 for none */
        enum cli_type type;
        const char *def;            /* the default as text, NULL = the type's zero value */
        const char *no_opt;         /* the value of the flag given alone (--resume = "auto"); a value
                                      * must then be attached with '=' */
        const char *const *choices; /* the values allowed (a --format), NULL-terminated; NULL = any */
        const char *help;           /* one line */
        bool hidden;                /* accepted, not listed */
        bool required;              /* 'required flag(s) "keep" not set' when absent */
};

/* How many arguments (words that are not flags) a command takes. */
enum cli_args {
        CLI_ARGS_ANY,
        CLI_ARGS_NONE,
        CLI_ARGS_EXACT, /* n */
        CLI_ARGS_MIN,   /* n or more */
        CLI_ARGS_MAX,   /* at most n */
        CLI_ARGS_RANGE, /* n to max */
};

struct cli_call;

struct cli_command {
        const char *name;
        const char *use;                              /* argument placeholders: "<name> [flags…]" */
        const char *summary;                          /* one line, in the parent's list */
        const char *description;                      /* --help's text; NULL = summary */
        const char *const *aliases;                   /* NULL-terminated, or NULL */
        const struct cli_flag *flags;                 /* NULL-name-terminated, or NULL */
        const struct cli_flag *persistent;            /* also accepted by every command below */
        const struct cli_command *const *subcommands; /* NULL-terminated: a group */
        enum cli_args args;
        int n, max;
        /* The handler: returns the exit code. NULL for a group, whose bare call prints its help. */
        int (*run)(const struct cli_call *call);
        bool hidden;            /* not listed in the parent's help */
        bool flags_before_args; /* flags only before the first argument: the rest is a command line */
        bool no_config;         /* runs without prepare (the configuration is not loaded) */
        /* On the root: runs before every command's handler unless it says no_config (loads the
         * configuration, applies --profile); returns 0 or the exit code after printing why. */
        int (*prepare)(const struct cli_call *call);
};

#define CLI_PATH_MAX   4
#define CLI_VALUES_MAX 48

struct cli_value {
        const struct cli_flag *flag;
        bool changed;  /* given on the command line */
        const char *s; /* CLI_STRING (points into argv or the table) */
        long long i;   /* CLI_INT */
        bool b;        /* CLI_BOOL */
        char **strv;   /* CLI_STRINGS, NULL-terminated (allocated) */
};

/* One parsed command line: the command, its path from the root, its arguments and every flag's value
 * (its own flags, then the global ones). */
struct cli_call {
        const struct cli_command *path[CLI_PATH_MAX]; /* path[0] = root … path[depth-1] = cmd */
        int depth;
        const struct cli_command *cmd;
        char **args; /* NULL-terminated (allocated array; strings point into argv) */
        int nargs;
        struct cli_value values[CLI_VALUES_MAX];
        int nvalues;
};

/* Values by long name (a name the command does not have is a programming error: assert). */
bool cli_bool(const struct cli_call *call, const char *name);
const char *cli_str(const struct cli_call *call, const char *name); /* default when not given */
long long cli_int(const struct cli_call *call, const char *name);
char *const *cli_strv(const struct cli_call *call, const char *name); /* never NULL */
bool cli_changed(const struct cli_call *call, const char *name);

/* Parses argv (argv[0] is the program) against root into call. Returns 0; or the exit code after
 * printing what is wrong (stderr): 1 for what cobra refuses (unknown flag or command, a missing
 * value, wrong argument count), 2 for a value outside a flag's choices ("invalid format 'x'"); or -1
 * after printing help on stdout (--help, -h, a bare group): the caller exits 0. */
int cli_parse(const struct cli_command *root, int argc, char **argv, struct cli_call *call);
void cli_call_done(struct cli_call *call);

/* Parses and runs: the exit code of the command. */
int cli_main(const struct cli_command *root, int argc, char **argv);

/* The command's name as the user typed the path: "coi container exec". */
void cli_print_path(FILE *out, const struct cli_call *call);

/* cobra's help layout: description, Usage, Aliases, Available Commands, Flags, Global Flags. */
void cli_print_help(FILE *out, const struct cli_command *const *path, int depth);
/* The same without the description (what goes above a usage error). */
void cli_print_usage(FILE *out, const struct cli_command *const *path, int depth);

/* Completion scripts generated from the tree. shell: "bash", "zsh" or "fish". -EINVAL for others. */
int cli_print_completion(FILE *out, const struct cli_command *root, const char *shell, bool descriptions);

/* "coi: " + message + newline on stderr: the one error printer of the shim. Returns code. */
int cli_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* --format's values where code-on-incus has text and json (NULL-terminated; cli-parse.c). */
extern const char *const cli_text_json[];

/* code-on-incus's `--format text|json` (default text), as an entry of a command's flag list. */
#define CLI_FLAG_FORMAT_TEXT_JSON                                                                            \
        {                                                                                                    \
                .name = "format", .type = CLI_STRING, .def = "text", .choices = cli_text_json,               \
                .help = "text or json"                                                                       \
        }
