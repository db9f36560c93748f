/* cli-help.c — `--help` from the command tree, laid out as cobra and pflag lay it out for
 * code-on-incus (description, Usage, Aliases, Available Commands, Flags, Global Flags), so people and
 * scripts see the same shape. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

#define FLAGS_MAX 64

static const char *type_name(enum cli_type t)
{
        switch (t) {
        case CLI_STRING:
                return "string";
        case CLI_INT:
                return "int";
        case CLI_STRINGS:
                return "stringArray";
        case CLI_BOOL:
                break;
        }
        return "";
}

/* pflag's "is the default the zero value": then no "(default …)". */
static bool default_is_zero(const struct cli_flag *f)
{
        if (!f->def)
                return true;
        switch (f->type) {
        case CLI_BOOL:
                return streq(f->def, "false");
        case CLI_INT:
                return streq(f->def, "0");
        default:
                return !*f->def;
        }
}

static int by_name(const void *a, const void *b)
{
        return strcmp((*(const struct cli_flag *const *)a)->name, (*(const struct cli_flag *const *)b)->name);
}

/* The flag lines of one section, sorted by name, descriptions in one column. */
static void print_flags(FILE *out, const struct cli_flag **flags, size_t n, const char *help_of)
{
        qsort(flags, n, sizeof(*flags), by_name);
        char heads[FLAGS_MAX][96];
        size_t width = 0;
        for (size_t i = 0; i < n; i++) {
                const struct cli_flag *f = flags[i];
                int len = f->shorthand
                                  ? snprintf(heads[i], sizeof(heads[i]), "  -%c, --%s", f->shorthand, f->name)
                                  : snprintf(heads[i], sizeof(heads[i]), "      --%s", f->name);
                if (f->type != CLI_BOOL)
                        len += snprintf(heads[i] + len, sizeof(heads[i]) - len, " %s", type_name(f->type));
                if (f->no_opt)
                        snprintf(heads[i] + len, sizeof(heads[i]) - len, "[=\"%s\"]", f->no_opt);
                if (strlen(heads[i]) > width)
                        width = strlen(heads[i]);
        }
        for (size_t i = 0; i < n; i++) {
                const struct cli_flag *f = flags[i];
                char help[256] = "";
                if (streq(f->name, "help") && !f->help)
                        snprintf(help, sizeof(help), "help for %s", help_of);
                else if (f->help)
                        snprintf(help, sizeof(help), "%s", f->help);
                if (!default_is_zero(f))
                        snprintf(help + strlen(help), sizeof(help) - strlen(help),
                                 f->type == CLI_STRING ? " (default \"%s\")" : " (default %s)", f->def);
                if (*help)
                        fprintf(out, "%-*s   %s\n", (int)width, heads[i], help);
                else
                        fprintf(out, "%s\n", heads[i]);
        }
}

static size_t collect(const struct cli_flag **into, size_t n, const struct cli_flag *list)
{
        for (const struct cli_flag *f = list; f && f->name && n < FLAGS_MAX; f++)
                if (!f->hidden)
                        into[n++] = f;
        return n;
}

static void print_use_line(FILE *out, const struct cli_command *const *path, int depth)
{
        fputs("  ", out);
        for (int i = 0; i < depth; i++)
                fprintf(out, "%s%s", i ? " " : "", path[i]->name);
        if (path[depth - 1]->use && *path[depth - 1]->use)
                fprintf(out, " %s", path[depth - 1]->use);
        fputs(" [flags]\n", out);
}

void cli_print_usage(FILE *out, const struct cli_command *const *path, int depth)
{
        const struct cli_command *c = path[depth - 1];
        fputs("Usage:\n", out);
        if (c->run)
                print_use_line(out, path, depth);
        if (c->subcommands) {
                fputs("  ", out);
                for (int i = 0; i < depth; i++)
                        fprintf(out, "%s%s", i ? " " : "", path[i]->name);
                fputs(" [command]\n", out);
        }
        if (c->aliases && c->aliases[0]) {
                fprintf(out, "\nAliases:\n  %s", c->name);
                for (const char *const *a = c->aliases; *a; a++)
                        fprintf(out, ", %s", *a);
                fputc('\n', out);
        }
        if (c->subcommands) {
                const struct cli_command *subs[FLAGS_MAX];
                size_t n = 0, pad = 11;
                for (const struct cli_command *const *s = c->subcommands; *s && n < FLAGS_MAX; s++)
                        if (!(*s)->hidden) {
                                subs[n++] = *s;
                                if (strlen((*s)->name) > pad)
                                        pad = strlen((*s)->name);
                        }
                /* cobra sorts the commands by name */
                for (size_t i = 1; i < n; i++)
                        for (size_t j = i; j > 0 && strcmp(subs[j - 1]->name, subs[j]->name) > 0; j--) {
                                const struct cli_command *t = subs[j];
                                subs[j] = subs[j - 1];
                                subs[j - 1] = t;
                        }
                fputs("\nAvailable Commands:\n", out);
                for (size_t i = 0; i < n; i++)
                        fprintf(out, "  %-*s %s\n", (int)pad, subs[i]->name, subs[i]->summary);
        }

        /* Flags: the command's own (and, on the root, its persistent ones), then -h. */
        static const struct cli_flag help = { .name = "help", .shorthand = 'h', .type = CLI_BOOL };
        const struct cli_flag *local[FLAGS_MAX];
        size_t nl = collect(local, 0, c->flags);
        nl = collect(local, nl, c->persistent);
        local[nl++] = &help;
        fputs("\nFlags:\n", out);
        print_flags(out, local, nl, c->name);

        const struct cli_flag *global[FLAGS_MAX];
        size_t ng = 0;
        for (int i = depth - 2; i >= 0; i--)
                ng = collect(global, ng, path[i]->persistent);
        if (ng > 0) {
                fputs("\nGlobal Flags:\n", out);
                print_flags(out, global, ng, c->name);
        }
        if (c->subcommands) {
                fputs("\nUse \"", out);
                for (int i = 0; i < depth; i++)
                        fprintf(out, "%s%s", i ? " " : "", path[i]->name);
                fputs(" [command] --help\" for more information about a command.\n", out);
        }
}

void cli_print_help(FILE *out, const struct cli_command *const *path, int depth)
{
        const struct cli_command *c = path[depth - 1];
        fprintf(out, "%s\n\n", c->description ? c->description : c->summary);
        cli_print_usage(out, path, depth);
}
