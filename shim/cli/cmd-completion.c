/* cmd-completion.c — `coi completion bash`: prints a bash completion script generated from the table of
 * coi's commands, subcommands and flags below (keep it in step with the cmd-*.c files). */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "health/health.h"
#include "util.h"

/* One row per command ("" sub: the command's own flags, or its subcommands' common ones) and per
 * subcommand. Flags that take a value end in '='; the script offers their values from value_choices. */
static const struct {
        const char *command, *sub, *flags;
} flag_table[] = {
        { "attach", "", "--slot= --bash" },
        { "build", "", "--force -f --profile= --recipe= --verbose -v --help" },
        { "clean", "", "--all -a --force -f --sessions --orphans --dry-run" },
        { "completion", "", "--help" },
        { "config", "", "--help" },
        { "config", "show", "--format= --profile= --json --help" },
        { "container", "", "--help" },
        { "container", "launch", "--ephemeral --persistent --no-wait --network= --allow=" },
        { "container", "start", "" },
        { "container", "stop", "--timeout= --force -f" },
        { "container", "delete", "--force -f" },
        { "container", "exec", "--user= --group= --cwd= --env= --capture --format= --" },
        { "container", "list", "--format=" },
        { "container", "info", "--format=" },
        { "container", "mount", "--shift" },
        { "file", "", "" },
        { "file", "push", "-r" },
        { "file", "pull", "-r" },
        { "health", "", "--format= --verbose -v --help" },
        { "help", "", "" },
        { "info", "", "" },
        { "kill", "", "--all -a --force -f" },
        { "list", "", "--all -a --format=" },
        { "image", "", "--help" },
        { "image", "import", "--alias= --force -f --allow-devices --allow-setid --id-shift=" },
        { "image", "export", "--compression=" },
        { "image", "list", "--format=" },
        { "image", "ls", "--format=" },
        { "image", "info", "--format=" },
        { "image", "delete", "" },
        { "image", "rm", "" },
        { "image", "alias", "" },
        { "network", "", "--help" },
        { "network", "allow", "--container= -c" },
        { "network", "deny", "--container= -c" },
        { "network", "show", "--format=" },
        { "network", "log", "--follow -f --timeout= -t" },
        { "network", "attach",
          "--pid= --netns= --mode= --allow= --allow-local-network-access --block-metadata-endpoint "
          "--block-private-networks" },
        { "network", "detach", "" },
        { "network", "prune", "" },
        { "persist", "", "--all -a" },
        { "profile", "", "--help" },
        { "profile", "list", "--format= --json" },
        { "profile", "show", "" },
        { "profile", "info", "" },
        { "profile", "create", "--inherits= --user --project" },
        { "profile", "edit", "" },
        { "profile", "delete", "--force -f" },
        { "run", "",
          "--workspace= -w --slot= --image= --persistent --profile= --backend= --tool= --continue --resume "
          "--env= -e --capture --format= --timeout= --help --" },
        { "shell", "",
          "--workspace= -w --slot= --image= --persistent --profile= --backend= --tool= --continue --resume "
          "--background --debug --tmux" },
        { "shutdown", "", "--all -a --force -f --timeout=" },
        { "unfreeze", "", "--all -a" },
        { "tmux", "", "" },
        { "tmux", "send", "" },
        { "tmux", "capture", "" },
        { "tmux", "list", "" },
        { "version", "", "" },
};

/* The values a flag takes, by command ("*": any command; the first match wins). */
static const struct {
        const char *command, *flag, *values;
} value_choices[] = {
        { "run", "--format", "pretty json" },
        { "container", "--format", "text json raw" },
        { "container", "--network", "restricted allowlist open" },
        { "*", "--backend", "native incus" },
        { "*", "--tool", "claude opencode" },
        { "*", "--format", "text json" },
        { "*", "--compression", "none gzip xz zstd" },
        { "*", "--mode", "restricted allowlist open" },
};

static const char *const commands[] = { "attach",    "build",    "clean",  "completion", "config",
                                        "container", "file",     "health", "help",       "image",
                                        "info",      "kill",     "list",   "network",    "persist",
                                        "profile",   "run",      "shell",  "shutdown",   "snapshot",
                                        "tmux",      "unfreeze", "version" };
static const char *const shells[] = { "bash" };

static void usage(FILE *out)
{
        fputs("Usage: coi completion bash\n"
              "\n"
              "Prints a bash completion script. Load it in the current shell with\n"
              "  source <(coi completion bash)\n"
              "or install it for every session:\n"
              "  coi completion bash > /etc/bash_completion.d/coi\n",
              out);
}

/* The words of a flags string, without the '=' that marks a flag taking a value. */
static void print_words(const char *flags)
{
        bool first = true;
        for (const char *p = flags; *p;) {
                size_t n = strcspn(p, " ");
                if (n) {
                        size_t w = p[n - 1] == '=' ? n - 1 : n;
                        printf("%s%.*s", first ? "" : " ", (int)w, p);
                        first = false;
                }
                p += n;
                p += strspn(p, " ");
        }
}

static void print_bash(void)
{
        printf("# bash completion for coi                                 -*- shell-script -*-\n"
               "# Generated by `coi completion bash`. Load with: source <(coi completion bash)\n\n");

        printf("__coi_subcommands()\n{\n    case \"$1\" in\n");
        const char *last = "";
        for (size_t i = 0; i < ELEMENTSOF(flag_table); i++) {
                const char *cmd = flag_table[i].command;
                if (streq(cmd, last) || streq(cmd, "help"))
                        continue;
                last = cmd;
                bool any = false;
                for (size_t k = i; k < ELEMENTSOF(flag_table) && streq(flag_table[k].command, cmd); k++) {
                        if (!flag_table[k].sub[0])
                                continue;
                        if (!any)
                                printf("        %s) echo \"", cmd);
                        printf("%s%s", any ? " " : "", flag_table[k].sub);
                        any = true;
                }
                if (any)
                        printf("\" ;;\n");
        }
        printf("        completion) echo \"");
        for (size_t i = 0; i < ELEMENTSOF(shells); i++)
                printf("%s%s", i ? " " : "", shells[i]);
        printf("\" ;;\n        help) echo \"");
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                printf("%s%s", i ? " " : "", commands[i]);
        printf("\" ;;\n    esac\n}\n\n");

        printf("__coi_flags()\n{\n    case \"$1 $2\" in\n");
        for (size_t i = 0; i < ELEMENTSOF(flag_table); i++) {
                if (!flag_table[i].flags[0])
                        continue;
                printf("        \"%s %s\") echo \"", flag_table[i].command, flag_table[i].sub);
                print_words(flag_table[i].flags);
                printf("\" ;;\n");
        }
        printf("    esac\n}\n\n");

        /* Flags whose next word is their value (so it isn't taken for a subcommand), per row. */
        printf("__coi_value_flags()\n{\n    case \"$1 $2\" in\n");
        for (size_t i = 0; i < ELEMENTSOF(flag_table); i++) {
                if (!strchr(flag_table[i].flags, '='))
                        continue;
                printf("        \"%s %s\") echo \"", flag_table[i].command, flag_table[i].sub);
                bool first = true;
                for (const char *p = flag_table[i].flags; *p;) {
                        size_t n = strcspn(p, " ");
                        if (n && p[n - 1] == '=') {
                                printf("%s%.*s", first ? "" : " ", (int)(n - 1), p);
                                first = false;
                        }
                        p += n;
                        p += strspn(p, " ");
                }
                /* The short forms of value flags: -c NAME (network allow/deny), -t SECONDS (log). */
                if (streq(flag_table[i].command, "network") &&
                    (streq(flag_table[i].sub, "allow") || streq(flag_table[i].sub, "deny")))
                        printf(" -c");
                if (streq(flag_table[i].command, "network") && streq(flag_table[i].sub, "log"))
                        printf(" -t");
                printf("\" ;;\n");
        }
        printf("    esac\n}\n\n");
        printf("__coi_takes_value()\n{\n"
               "    local list=\" $(__coi_value_flags \"$1\" \"$2\") $(__coi_value_flags \"$1\" \"\") \"\n"
               "    [[ \"$list\" == *\" $3 \"* ]]\n}\n\n");

        printf("__coi_values()\n{\n    case \"$1 $2\" in\n");
        for (size_t i = 0; i < ELEMENTSOF(value_choices); i++) {
                if (streq(value_choices[i].command, "*"))
                        printf("        *\" %s\")", value_choices[i].flag);
                else
                        printf("        \"%s %s\")", value_choices[i].command, value_choices[i].flag);
                printf(" echo \"%s\" ;;\n", value_choices[i].values);
        }
        printf("    esac\n}\n\n");

        printf("__start_coi()\n"
               "{\n"
               "    local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"\" cmd=\"\" sub=\"\" i w words\n"
               "    (( COMP_CWORD > 0 )) && prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
               "    COMPREPLY=()\n"
               "    # The command and subcommand typed so far: the first words that are not flags\n"
               "    # (nor a flag's value).\n"
               "    for (( i = 1; i < COMP_CWORD; i++ )); do\n"
               "        w=\"${COMP_WORDS[i]}\"\n"
               "        [[ \"$w\" == \"--\" ]] && return 0\n"
               "        if [[ \"$w\" == -* ]]; then\n"
               "            [[ \"$w\" != *=* ]] && __coi_takes_value \"$cmd\" \"$sub\" \"$w\" && (( i++ ))\n"
               "            continue\n"
               "        fi\n"
               "        if [[ -z \"$cmd\" ]]; then cmd=\"$w\"\n"
               "        elif [[ -z \"$sub\" && -n \"$(__coi_subcommands \"$cmd\")\" ]]; then sub=\"$w\"\n"
               "        fi\n"
               "    done\n"
               "    if [[ \"$prev\" == -* ]] && __coi_takes_value \"$cmd\" \"$sub\" \"$prev\"; then\n"
               "        words=\"$(__coi_values \"$cmd\" \"$prev\")\"\n"
               "        [[ -n \"$words\" ]] && COMPREPLY=( $(compgen -W \"$words\" -- \"$cur\") )\n"
               "        return 0\n"
               "    fi\n"
               "    if [[ \"$cur\" == --*=* ]]; then\n"
               "        words=\"$(__coi_values \"$cmd\" \"${cur%%%%=*}\")\"\n"
               "        COMPREPLY=( $(compgen -P \"${cur%%%%=*}=\" -W \"$words\" -- \"${cur#*=}\") )\n"
               "        return 0\n"
               "    fi\n"
               "    if [[ -z \"$cmd\" ]]; then\n"
               "        if [[ \"$cur\" == -* ]]; then\n"
               "            COMPREPLY=( $(compgen -W \"--help -h --version\" -- \"$cur\") )\n"
               "        else\n"
               "            COMPREPLY=( $(compgen -W \"");
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                printf("%s%s", i ? " " : "", commands[i]);
        printf("\" -- \"$cur\") )\n"
               "        fi\n"
               "        return 0\n"
               "    fi\n"
               "    if [[ \"$cur\" == -* ]]; then\n"
               "        words=\"$(__coi_flags \"$cmd\" \"\")\"\n"
               "        [[ -n \"$sub\" ]] && words=\"$(__coi_flags \"$cmd\" \"$sub\") $words\"\n"
               "        COMPREPLY=( $(compgen -W \"$words\" -- \"$cur\") )\n"
               "        return 0\n"
               "    fi\n"
               "    if [[ -z \"$sub\" ]]; then\n"
               "        words=\"$(__coi_subcommands \"$cmd\")\"\n"
               "        [[ -n \"$words\" ]] && COMPREPLY=( $(compgen -W \"$words\" -- \"$cur\") )\n"
               "    fi\n"
               "    return 0\n"
               "}\n\n"
               "complete -o default -F __start_coi coi\n");
}

int cmd_completion(int argc, char **argv)
{
        if (argc < 2) {
                fprintf(stderr, "coi completion: which shell? (bash)\n");
                usage(stderr);
                return 2;
        }
        if (streq(argv[1], "--help") || streq(argv[1], "-h")) {
                usage(stdout);
                return 0;
        }
        if (!streq(argv[1], "bash") || argc > 2) {
                fprintf(stderr, "coi completion: unsupported shell \"%s\" (only bash)\n", argv[1]);
                return 2;
        }
        print_bash();
        return 0;
}
