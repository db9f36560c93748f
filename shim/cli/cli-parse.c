/* cli-parse.c — turns argv into a cli_call against the command tree (cli.h) the way cobra/pflag do
 * for code-on-incus: the command path first (flags may stand before the command words), then every
 * flag of that command and its ancestors' persistent ones, anywhere unless "--" or the command says
 * otherwise; --help/-h anywhere; argument counts and choices checked last. */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

/* The choices most commands' --format shares: here, below the commands, so no cmd-*.c depends on
 * main.c (which lists them all). */
const char *const cli_text_json[] = { "text", "json", NULL };

static const struct cli_flag help_flag = { .name = "help", .shorthand = 'h', .type = CLI_BOOL };

/* What went wrong, kept until the usage has been printed above it (as cobra does). */
struct parse_error {
        int code;
        char msg[512];
};

static int fail(struct parse_error *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct parse_error *e, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
        va_end(ap);
        e->code = code;
        return code;
}

int cli_error(int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        fputs("coi: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        return code;
}

/* ---- finding flags ---- */

/* The flags a command accepts: its own, then the persistent flags of the path down to it. */
struct flag_set {
        const struct cli_flag *lists[CLI_PATH_MAX + 1];
        int n;
};

static void flag_set_init(struct flag_set *fs, const struct cli_command *const *path, int depth)
{
        fs->n = 0;
        fs->lists[fs->n++] = path[depth - 1]->flags;
        for (int i = depth - 1; i >= 0; i--)
                fs->lists[fs->n++] = path[i]->persistent;
}

static const struct cli_flag *flag_long(const struct flag_set *fs, const char *name, size_t len)
{
        for (int i = 0; i < fs->n; i++)
                for (const struct cli_flag *f = fs->lists[i]; f && f->name; f++)
                        if (strlen(f->name) == len && strncmp(f->name, name, len) == 0)
                                return f;
        return len == 4 && strncmp(name, "help", 4) == 0 ? &help_flag : NULL;
}

static const struct cli_flag *flag_short(const struct flag_set *fs, char c)
{
        for (int i = 0; i < fs->n; i++)
                for (const struct cli_flag *f = fs->lists[i]; f && f->name; f++)
                        if (f->shorthand == c)
                                return f;
        return c == 'h' ? &help_flag : NULL;
}

/* A flag that takes the next word as its value when none is attached. */
static bool takes_next(const struct cli_flag *f)
{
        return f && f->type != CLI_BOOL && !f->no_opt;
}

static const struct cli_command *subcommand(const struct cli_command *cmd, const char *word)
{
        for (const struct cli_command *const *s = cmd->subcommands; s && *s; s++) {
                if (streq((*s)->name, word))
                        return *s;
                for (const char *const *a = (*s)->aliases; a && *a; a++)
                        if (streq(*a, word))
                                return *s;
        }
        return NULL;
}

static bool is_flag(const char *a)
{
        return a[0] == '-' && a[1] && !streq(a, "--");
}

/* ---- values ---- */

static struct cli_value *value_of(struct cli_call *call, const struct cli_flag *f)
{
        for (int i = 0; i < call->nvalues; i++)
                if (call->values[i].flag == f)
                        return &call->values[i];
        assert(call->nvalues < CLI_VALUES_MAX);
        struct cli_value *v = &call->values[call->nvalues++];
        *v = (struct cli_value){ .flag = f };
        return v;
}

static const struct cli_value *value_by_name(const struct cli_call *call, const char *name)
{
        for (int i = 0; i < call->nvalues; i++)
                if (streq(call->values[i].flag->name, name))
                        return &call->values[i];
        assert(!"flag not defined for this command");
        return NULL;
}

/* "-f, --force" or "--format", as cobra names a flag in errors. */
static const char *flag_label(const struct cli_flag *f, char *buf, size_t len)
{
        if (f->shorthand)
                snprintf(buf, len, "-%c, --%s", f->shorthand, f->name);
        else
                snprintf(buf, len, "--%s", f->name);
        return buf;
}

static int parse_bool(const char *s, bool *ret)
{
        static const char *const yes[] = { "1", "t", "T", "true", "TRUE", "True" };
        static const char *const no[] = { "0", "f", "F", "false", "FALSE", "False" };
        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (streq(s, yes[i]) || streq(s, no[i])) {
                        *ret = streq(s, yes[i]);
                        return 0;
                }
        return -EINVAL;
}

static int set_value(struct cli_call *call, const struct cli_flag *f, const char *s, struct parse_error *e)
{
        char label[64];
        struct cli_value *v = value_of(call, f);
        v->changed = true;
        switch (f->type) {
        case CLI_BOOL:
                if (parse_bool(s, &v->b) < 0)
                        return fail(e, 1, "invalid argument \"%s\" for \"%s\" flag: not a boolean", s,
                                    flag_label(f, label, sizeof(label)));
                return 0;
        case CLI_INT: {
                char *end;
                errno = 0;
                long long n = strtoll(s, &end, 10);
                if (errno || !*s || *end)
                        return fail(e, 1, "invalid argument \"%s\" for \"%s\" flag: not an integer", s,
                                    flag_label(f, label, sizeof(label)));
                v->i = n;
                return 0;
        }
        case CLI_STRINGS:
                if (strv_push(&v->strv, s) < 0)
                        return fail(e, 1, "out of memory");
                return 0;
        case CLI_STRING:
                v->s = s;
                return 0;
        }
        return 0;
}

static void set_defaults(struct cli_call *call, const struct flag_set *fs)
{
        for (int i = 0; i < fs->n; i++)
                for (const struct cli_flag *f = fs->lists[i]; f && f->name; f++) {
                        struct cli_value *v = value_of(call, f);
                        if (f->type == CLI_STRING)
                                v->s = f->def ? f->def : "";
                        else if (f->type == CLI_INT)
                                v->i = f->def ? strtoll(f->def, NULL, 10) : 0;
                        else if (f->type == CLI_BOOL)
                                v->b = f->def && streq(f->def, "true");
                }
}

/* ---- the two passes ---- */

/* Pass 1: the command words. Flags met on the way are stepped over (with their value when the flag
 * is known to take one); the first word that names no subcommand ends the path. is_path marks the
 * words taken. */
static void find_path(const struct cli_command *root, int argc, char **argv, struct cli_call *call,
                      bool *is_path)
{
        call->path[0] = root;
        call->depth = 1;
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                if (streq(a, "--"))
                        return;
                if (is_flag(a)) {
                        struct flag_set fs;
                        flag_set_init(&fs, call->path, call->depth);
                        if (a[1] == '-' && !strchr(a, '=') &&
                            takes_next(flag_long(&fs, a + 2, strlen(a + 2))))
                                i++;
                        else if (a[1] != '-' && !a[2] && takes_next(flag_short(&fs, a[1])))
                                i++;
                        continue;
                }
                const struct cli_command *sub = subcommand(call->path[call->depth - 1], a);
                if (!sub || call->depth == CLI_PATH_MAX)
                        return;
                call->path[call->depth++] = sub;
                is_path[i] = true;
        }
}

/* One word starting with "--". *i moves past a value taken from the next word. */
static int parse_long(struct cli_call *call, const struct flag_set *fs, int argc, char **argv, int *i,
                      struct parse_error *e)
{
        const char *a = argv[*i] + 2, *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        const struct cli_flag *f = flag_long(fs, a, len);
        if (!f)
                return fail(e, 1, "unknown flag: --%.*s", (int)len, a);
        if (f == &help_flag)
                return -1;
        if (eq)
                return set_value(call, f, eq + 1, e);
        if (f->type == CLI_BOOL)
                return set_value(call, f, "true", e);
        if (f->no_opt)
                return set_value(call, f, f->no_opt, e);
        if (*i + 1 >= argc)
                return fail(e, 1, "flag needs an argument: --%s", f->name);
        return set_value(call, f, argv[++*i], e);
}

/* One word of short flags: "-a", "-af", "-wDIR", "-w=DIR", "-w DIR". */
static int parse_shorts(struct cli_call *call, const struct flag_set *fs, int argc, char **argv, int *i,
                        struct parse_error *e)
{
        const char *a = argv[*i];
        for (const char *p = a + 1; *p; p++) {
                const struct cli_flag *f = flag_short(fs, *p);
                if (!f)
                        return fail(e, 1, "unknown shorthand flag: '%c' in %s", *p, a);
                if (f == &help_flag)
                        return -1;
                if (p[1] == '=')
                        return set_value(call, f, p + 2, e);
                if (f->type == CLI_BOOL || (f->no_opt && !p[1])) {
                        int r = set_value(call, f, f->type == CLI_BOOL ? "true" : f->no_opt, e);
                        if (r != 0)
                                return r;
                        continue;
                }
                if (p[1])
                        return set_value(call, f, p + 1, e);
                if (*i + 1 >= argc)
                        return fail(e, 1, "flag needs an argument: '%c' in %s", *p, a);
                return set_value(call, f, argv[++*i], e);
        }
        return 0;
}

static void print_path_to(char *buf, size_t len, const struct cli_call *call)
{
        size_t n = 0;
        for (int i = 0; i < call->depth && n < len; i++)
                n += snprintf(buf + n, len - n, "%s%s", i ? " " : "", call->path[i]->name);
}

static int check_args(const struct cli_call *call, struct parse_error *e)
{
        const struct cli_command *c = call->cmd;
        int got = call->nargs;
        char path[128];
        switch (c->args) {
        case CLI_ARGS_ANY:
                return 0;
        case CLI_ARGS_NONE:
                if (got == 0)
                        return 0;
                print_path_to(path, sizeof(path), call);
                return fail(e, 1, "unknown command \"%s\" for \"%s\"", call->args[0], path);
        case CLI_ARGS_EXACT:
                return got == c->n ? 0 : fail(e, 1, "accepts %d arg(s), received %d", c->n, got);
        case CLI_ARGS_MIN:
                return got >= c->n ? 0
                                   : fail(e, 1, "requires at least %d arg(s), only received %d", c->n, got);
        case CLI_ARGS_MAX:
                return got <= c->n ? 0 : fail(e, 1, "accepts at most %d arg(s), received %d", c->n, got);
        case CLI_ARGS_RANGE:
                if (got >= c->n && got <= c->max)
                        return 0;
                return fail(e, 1, "accepts between %d and %d arg(s), received %d", c->n, c->max, got);
        }
        return 0;
}

/* A value outside a flag's choices: "invalid format 'yaml': must be 'text' or 'json'", exit 2. */
static int check_choices(const struct cli_call *call)
{
        for (int i = 0; i < call->nvalues; i++) {
                const struct cli_value *v = &call->values[i];
                const struct cli_flag *f = v->flag;
                if (!f->choices || !v->changed || strv_contains((char *const *)f->choices, v->s))
                        continue;
                fprintf(stderr, "coi: invalid %s '%s': must be ", f->name, v->s);
                for (size_t k = 0; f->choices[k]; k++)
                        fprintf(stderr, "%s'%s'",
                                k == 0              ? ""
                                : f->choices[k + 1] ? ", "
                                                    : " or ",
                                f->choices[k]);
                fputc('\n', stderr);
                return 2;
        }
        return 0;
}

static int check_required(const struct cli_call *call, struct parse_error *e)
{
        for (int i = 0; i < call->nvalues; i++)
                if (call->values[i].flag->required && !call->values[i].changed)
                        return fail(e, 1, "required flag(s) \"%s\" not set", call->values[i].flag->name);
        return 0;
}

/* Levenshtein distance, for cobra's suggestions (words are short: command names). */
static size_t distance(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b), row[64];
        if (la >= ELEMENTSOF(row) || lb >= ELEMENTSOF(row))
                return SIZE_MAX;
        for (size_t j = 0; j <= lb; j++)
                row[j] = j;
        for (size_t i = 1; i <= la; i++) {
                size_t prev = row[0];
                row[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t cur = row[j], best = prev + (a[i - 1] != b[j - 1]);
                        if (row[j] + 1 < best)
                                best = row[j] + 1;
                        if (row[j - 1] + 1 < best)
                                best = row[j - 1] + 1;
                        row[j] = best;
                        prev = cur;
                }
        }
        return row[lb];
}

/* cobra's "unknown command" for a first word that names no command, with its suggestions: commands
 * within two edits of the word, or that start with it. Alone, without the usage. */
static int unknown_command(const struct cli_command *root, const char *word)
{
        cli_error(1, "unknown command \"%s\" for \"%s\"", word, root->name);
        bool any = false;
        for (const struct cli_command *const *s = root->subcommands; *s; s++) {
                if ((*s)->hidden || (distance(word, (*s)->name) > 2 && !startswith((*s)->name, word)))
                        continue;
                fprintf(stderr, "%s\t%s\n", any ? "" : "\nDid you mean this?\n", (*s)->name);
                any = true;
        }
        return 1;
}

int cli_parse(const struct cli_command *root, int argc, char **argv, struct cli_call *call)
{
        *call = (struct cli_call){ 0 };
        _cleanup_free_ bool *is_path = calloc(argc > 0 ? argc : 1, sizeof(bool));
        call->args = calloc(argc > 0 ? argc : 1, sizeof(char *));
        if (!is_path || !call->args)
                return cli_error(1, "out of memory");
        find_path(root, argc, argv, call, is_path);
        call->cmd = call->path[call->depth - 1];

        struct flag_set fs;
        flag_set_init(&fs, call->path, call->depth);
        set_defaults(call, &fs);
        struct parse_error e = { 0 };
        bool dash = false;
        int r = 0;
        for (int i = 1; i < argc && r == 0; i++) {
                char *a = argv[i];
                if (is_path[i])
                        continue;
                if (dash || (call->cmd->flags_before_args && call->nargs > 0) ||
                    !(is_flag(a) || streq(a, "--"))) {
                        call->args[call->nargs++] = a;
                        continue;
                }
                if (streq(a, "--"))
                        dash = true;
                else
                        r = a[1] == '-' ? parse_long(call, &fs, argc, argv, &i, &e)
                                        : parse_shorts(call, &fs, argc, argv, &i, &e);
        }
        if (r < 0 || (r == 0 && !call->cmd->run)) {
                /* --help, or a group called bare (or with a word that names none of its commands). */
                cli_print_help(stdout, call->path, call->depth);
                return -1;
        }
        if (r == 0 && call->depth == 1 && call->nargs > 0 && root->subcommands)
                /* cobra: a first word that names no command is reported alone, without the usage. */
                return unknown_command(root, call->args[0]);
        r = r ?: check_args(call, &e);
        r = r ?: check_required(call, &e);
        if (r > 0) {
                cli_print_usage(stderr, call->path, call->depth);
                return cli_error(e.code, "%s", e.msg);
        }
        return check_choices(call);
}

void cli_call_done(struct cli_call *call)
{
        for (int i = 0; i < call->nvalues; i++)
                strv_free(call->values[i].strv);
        free(call->args);
        *call = (struct cli_call){ 0 };
}

int cli_main(const struct cli_command *root, int argc, char **argv)
{
        struct cli_call call;
        int r = cli_parse(root, argc, argv, &call);
        if (r == 0 && !call.cmd->no_config && root->prepare)
                r = root->prepare(&call);
        if (r == 0)
                r = call.cmd->run(&call);
        cli_call_done(&call);
        return r < 0 ? 0 : r;
}

/* ---- accessors ---- */

bool cli_bool(const struct cli_call *call, const char *name)
{
        const struct cli_value *v = value_by_name(call, name);
        return v && v->b;
}

const char *cli_str(const struct cli_call *call, const char *name)
{
        const struct cli_value *v = value_by_name(call, name);
        return v ? v->s : "";
}

long long cli_int(const struct cli_call *call, const char *name)
{
        const struct cli_value *v = value_by_name(call, name);
        return v ? v->i : 0;
}

char *const *cli_strv(const struct cli_call *call, const char *name)
{
        static char *const empty[] = { NULL };
        const struct cli_value *v = value_by_name(call, name);
        return v && v->strv ? v->strv : empty;
}

bool cli_changed(const struct cli_call *call, const char *name)
{
        const struct cli_value *v = value_by_name(call, name);
        return v && v->changed;
}

void cli_print_path(FILE *out, const struct cli_call *call)
{
        char buf[128];
        print_path_to(buf, sizeof(buf), call);
        fputs(buf, out);
}
