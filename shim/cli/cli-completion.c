/* cli-completion.c — `coi completion bash|zsh|fish`: scripts generated from the command tree, so
 * every command, flag and --format value the parser knows is offered, and nothing else. Each script
 * walks the words typed so far to find the command path (skipping flags and the values of flags that
 * take one), then offers that command's subcommands, its flags, or a flag's choices. */
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "util.h"

typedef void (*visit_fn)(FILE *out, const struct cli_command *const *path, int depth, bool desc);

static void walk(FILE *out, const struct cli_command *const *path, int depth, visit_fn fn, bool desc)
{
        fn(out, path, depth, desc);
        const struct cli_command *c = path[depth - 1];
        if (depth == CLI_PATH_MAX)
                return;
        const struct cli_command *sub[CLI_PATH_MAX];
        memcpy(sub, path, depth * sizeof(*path));
        for (const struct cli_command *const *s = c->subcommands; s && *s; s++)
                if (!(*s)->hidden) {
                        sub[depth] = *s;
                        walk(out, sub, depth + 1, fn, desc);
                }
}

/* "coi container exec": the command path, the key of every table in the scripts. */
static void print_key(FILE *out, const struct cli_command *const *path, int depth)
{
        for (int i = 0; i < depth; i++)
                fprintf(out, "%s%s", i ? " " : "", path[i]->name);
}

/* Every flag the command accepts: its own, then the persistent ones above it, then help. */
static void each_flag(const struct cli_command *const *path, int depth,
                      void (*fn)(const struct cli_flag *f, void *data), void *data)
{
        static const struct cli_flag help = {
                .name = "help", .shorthand = 'h', .type = CLI_BOOL, .help = "help for this command"
        };
        for (const struct cli_flag *f = path[depth - 1]->flags; f && f->name; f++)
                if (!f->hidden)
                        fn(f, data);
        for (int i = depth - 1; i >= 0; i--)
                for (const struct cli_flag *f = path[i]->persistent; f && f->name; f++)
                        if (!f->hidden)
                                fn(f, data);
        fn(&help, data);
}

/* Single quotes for any of the three shells: ' becomes '\'' (fish accepts \' inside '…'). */
static void quoted(FILE *out, const char *s)
{
        fputc('\'', out);
        for (; s && *s; s++)
                fputs(*s == '\'' ? "'\\''" : (char[]){ *s, 0 }, out);
        fputc('\'', out);
}

static void fish_quoted(FILE *out, const char *s)
{
        fputc('\'', out);
        for (; s && *s; s++)
                fputs(*s == '\'' ? "\\'" : *s == '\\' ? "\\\\" : (char[]){ *s, 0 }, out);
        fputc('\'', out);
}

/* ---- bash and zsh share the tables (associative arrays keyed by the path) ---- */

static void flag_words(const struct cli_flag *f, void *data)
{
        FILE *out = data;
        fprintf(out, " --%s", f->name);
        if (f->shorthand)
                fprintf(out, " -%c", f->shorthand);
}

static void valued_words(const struct cli_flag *f, void *data)
{
        if (f->type == CLI_BOOL || f->no_opt)
                return;
        flag_words(f, data);
}

struct choice_ctx {
        FILE *out;
        const struct cli_command *const *path;
        int depth;
};

static void choice_entries(const struct cli_flag *f, void *data)
{
        struct choice_ctx *c = data;
        if (!f->choices)
                return;
        fputs("  [", c->out);
        fputc('"', c->out);
        print_key(c->out, c->path, c->depth);
        fprintf(c->out, " --%s\"]='", f->name);
        for (const char *const *v = f->choices; *v; v++)
                fprintf(c->out, "%s%s", v == f->choices ? "" : " ", *v);
        fputs("'\n", c->out);
}

static void table_row(FILE *out, const struct cli_command *const *path, int depth, const char *kind)
{
        fputs("  [\"", out);
        print_key(out, path, depth);
        fputs("\"]='", out);
        const struct cli_command *c = path[depth - 1];
        if (streq(kind, "subs")) {
                for (const struct cli_command *const *s = c->subcommands; s && *s; s++)
                        if (!(*s)->hidden)
                                fprintf(out, "%s%s", s == c->subcommands ? "" : " ", (*s)->name);
        } else {
                each_flag(path, depth, streq(kind, "flags") ? flag_words : valued_words, out);
        }
        fputs("'\n", out);
}

static void subs_row(FILE *out, const struct cli_command *const *p, int d, bool desc)
{
        if (p[d - 1]->subcommands)
                table_row(out, p, d, "subs");
}

static void flags_row(FILE *out, const struct cli_command *const *p, int d, bool desc)
{
        table_row(out, p, d, "flags");
}

static void valued_row(FILE *out, const struct cli_command *const *p, int d, bool desc)
{
        table_row(out, p, d, "valued");
}

static void choices_rows(FILE *out, const struct cli_command *const *p, int d, bool desc)
{
        struct choice_ctx c = { out, p, d };
        each_flag(p, d, choice_entries, &c);
}

/* zsh only: "name:description" for each subcommand. */
static void descs_row(FILE *out, const struct cli_command *const *p, int d, bool desc)
{
        const struct cli_command *c = p[d - 1];
        if (!c->subcommands)
                return;
        for (const struct cli_command *const *s = c->subcommands; *s; s++) {
                if ((*s)->hidden)
                        continue;
                fputs("  [\"", out);
                print_key(out, p, d);
                fprintf(out, " %s\"]=", (*s)->name);
                quoted(out, (*s)->summary);
                fputc('\n', out);
        }
}

static void print_tables(FILE *out, const struct cli_command *root, const char *declare, bool with_descs)
{
        const struct cli_command *path[1] = { root };
        struct {
                const char *name;
                visit_fn fn;
        } tables[] = {
                { "subs", subs_row },        { "flags", flags_row }, { "valued", valued_row },
                { "choices", choices_rows }, { "descs", descs_row },
        };
        for (size_t i = 0; i < ELEMENTSOF(tables); i++) {
                if (streq(tables[i].name, "descs") && !with_descs)
                        continue;
                fprintf(out, "%s _coi_%s=(\n", declare, tables[i].name);
                walk(out, path, 1, tables[i].fn, with_descs);
                fputs(")\n", out);
        }
}

/* The walk over the typed words, the same in bash and zsh (arrays indexed from first to last). */
static const char path_walk[] = "  local cmd=coi w skip=0 i\n"
                                "  for ((i = first; i < last; i++)); do\n"
                                "    w=${words[i]}\n"
                                "    if ((skip)); then skip=0; continue; fi\n"
                                "    case $w in\n"
                                "    --) break ;;\n"
                                "    -*=*) ;;\n"
                                "    -*) [[ \" ${_coi_valued[$cmd]} \" == *\" $w \"* ]] && skip=1 ;;\n"
                                "    *) [[ \" ${_coi_subs[$cmd]} \" == *\" $w \"* ]] && cmd=\"$cmd $w\" ;;\n"
                                "    esac\n"
                                "  done\n";

static void print_bash(FILE *out, const struct cli_command *root)
{
        fputs("# bash completion for coi, generated by `coi completion bash` from its command table.\n"
              "# Load it with: source <(coi completion bash)\n",
              out);
        print_tables(out, root, "declare -gA", false);
        fputs("_coi() {\n"
              "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
              "  local -a words=(\"${COMP_WORDS[@]}\")\n"
              "  local first=1 last=$COMP_CWORD\n",
              out);
        fputs(path_walk, out);
        fputs("  if [[ $cur == --*=* ]]; then\n"
              "    local choices=${_coi_choices[\"$cmd ${cur%%=*}\"]}\n"
              "    COMPREPLY=($(compgen -P \"${cur%%=*}=\" -W \"$choices\" -- \"${cur#*=}\"))\n"
              "    return\n"
              "  fi\n"
              "  if [[ \" ${_coi_valued[$cmd]} \" == *\" $prev \"* ]]; then\n"
              "    local choices=${_coi_choices[\"$cmd $prev\"]}\n"
              "    [[ -n $choices ]] && COMPREPLY=($(compgen -W \"$choices\" -- \"$cur\")) || compopt -o "
              "default\n"
              "    return\n"
              "  fi\n"
              "  if [[ $cur == -* ]]; then\n"
              "    COMPREPLY=($(compgen -W \"${_coi_flags[$cmd]}\" -- \"$cur\"))\n"
              "  elif [[ -n ${_coi_subs[$cmd]} ]]; then\n"
              "    COMPREPLY=($(compgen -W \"${_coi_subs[$cmd]}\" -- \"$cur\"))\n"
              "  else\n"
              "    compopt -o default\n"
              "  fi\n"
              "}\n"
              "complete -F _coi coi\n",
              out);
}

static void print_zsh(FILE *out, const struct cli_command *root, bool desc)
{
        fputs("#compdef coi\n"
              "# zsh completion for coi, generated by `coi completion zsh` from its command table.\n"
              "# Load it with: source <(coi completion zsh), or save it as _coi in a directory of $fpath.\n",
              out);
        print_tables(out, root, "typeset -gA", desc);
        fputs("_coi() {\n"
              "  local cur=${words[CURRENT]} prev=${words[CURRENT-1]}\n"
              "  local first=2 last=$CURRENT\n",
              out);
        fputs(path_walk, out);
        fputs("  if [[ \" ${_coi_valued[$cmd]} \" == *\" $prev \"* ]]; then\n"
              "    local choices=${_coi_choices[\"$cmd $prev\"]}\n"
              "    if [[ -n $choices ]]; then compadd -- ${=choices}; else _files; fi\n"
              "    return\n"
              "  fi\n"
              "  if [[ $cur == -* ]]; then\n"
              "    compadd -- ${=_coi_flags[$cmd]}\n"
              "  elif [[ -n ${_coi_subs[$cmd]} ]]; then\n"
              "    local -a subs; local s\n"
              "    for s in ${=_coi_subs[$cmd]}; do\n"
              "      if (( ${+_coi_descs} )) && [[ -n ${_coi_descs[$cmd $s]} ]]; then\n"
              "        subs+=(\"$s:${_coi_descs[$cmd $s]}\")\n"
              "      else subs+=(\"$s\"); fi\n"
              "    done\n"
              "    _describe command subs\n"
              "  else\n"
              "    _files\n"
              "  fi\n"
              "}\n"
              "if [[ $zsh_eval_context[-1] == loadautofunc ]]; then _coi \"$@\"; else compdef _coi coi; fi\n",
              out);
}

/* ---- fish: a path function, then one `complete` line per subcommand and flag ---- */

static void fish_subs_case(FILE *out, const struct cli_command *const *p, int d, bool desc)
{
        const struct cli_command *c = p[d - 1];
        if (!c->subcommands)
                return;
        fputs("    case '", out);
        print_key(out, p, d);
        fputs("'\n      echo", out);
        for (const struct cli_command *const *s = c->subcommands; *s; s++)
                if (!(*s)->hidden)
                        fprintf(out, " %s", (*s)->name);
        fputc('\n', out);
}

static void fish_valued_case(FILE *out, const struct cli_command *const *p, int d, bool desc)
{
        fputs("    case '", out);
        print_key(out, p, d);
        fputs("'\n      echo", out);
        each_flag(p, d, valued_words, out);
        fputc('\n', out);
}

struct fish_ctx {
        FILE *out;
        const struct cli_command *const *path;
        int depth;
        bool desc;
};

static void fish_flag_line(const struct cli_flag *f, void *data)
{
        struct fish_ctx *x = data;
        fputs("complete -c coi -n \"test (__coi_path) = '", x->out);
        print_key(x->out, x->path, x->depth);
        fprintf(x->out, "'\" -l %s", f->name);
        if (f->shorthand)
                fprintf(x->out, " -s %c", f->shorthand);
        if (f->type != CLI_BOOL && !f->no_opt)
                fputs(f->choices ? " -x" : " -r", x->out);
        if (f->choices) {
                fputs(" -a '", x->out);
                for (const char *const *v = f->choices; *v; v++)
                        fprintf(x->out, "%s%s", v == f->choices ? "" : " ", *v);
                fputc('\'', x->out);
        }
        if (x->desc && f->help) {
                fputs(" -d ", x->out);
                fish_quoted(x->out, f->help);
        }
        fputc('\n', x->out);
}

static void fish_lines(FILE *out, const struct cli_command *const *p, int d, bool desc)
{
        const struct cli_command *c = p[d - 1];
        for (const struct cli_command *const *s = c->subcommands; s && *s; s++) {
                if ((*s)->hidden)
                        continue;
                fputs("complete -c coi -f -n \"test (__coi_path) = '", out);
                print_key(out, p, d);
                fprintf(out, "'\" -a %s", (*s)->name);
                if (desc) {
                        fputs(" -d ", out);
                        fish_quoted(out, (*s)->summary);
                }
                fputc('\n', out);
        }
        struct fish_ctx x = { out, p, d, desc };
        each_flag(p, d, fish_flag_line, &x);
}

static void print_fish(FILE *out, const struct cli_command *root, bool desc)
{
        const struct cli_command *path[1] = { root };
        fputs("# fish completion for coi, generated by `coi completion fish` from its command table.\n"
              "# Load it with: coi completion fish | source\n"
              "function __coi_subs\n  switch $argv[1]\n",
              out);
        walk(out, path, 1, fish_subs_case, desc);
        fputs("  end\nend\nfunction __coi_valued\n  switch $argv[1]\n", out);
        walk(out, path, 1, fish_valued_case, desc);
        fputs("  end\nend\n"
              "function __coi_path\n"
              "  set -l path coi\n"
              "  set -l skip 0\n"
              "  for w in (commandline -opc)[2..-1]\n"
              "    if test $skip = 1; set skip 0; continue; end\n"
              "    switch $w\n"
              "      case '--'; break\n"
              "      case '-*=*'\n"
              "      case '-*'\n"
              "        contains -- $w (string split ' ' (__coi_valued \"$path\")); and set skip 1\n"
              "      case '*'\n"
              "        if contains -- $w (string split ' ' (__coi_subs \"$path\"))\n"
              "          set path \"$path $w\"\n"
              "        end\n"
              "    end\n"
              "  end\n"
              "  echo $path\n"
              "end\n",
              out);
        walk(out, path, 1, fish_lines, desc);
}

int cli_print_completion(FILE *out, const struct cli_command *root, const char *shell, bool descriptions)
{
        if (streq(shell, "bash"))
                print_bash(out, root);
        else if (streq(shell, "zsh"))
                print_zsh(out, root, descriptions);
        else if (streq(shell, "fish"))
                print_fish(out, root, descriptions);
        else
                return -EINVAL;
        return 0;
}
