/* cmd-image.c — `coi image import|export|list|info|delete|alias`: parses flags, calls the image store
 * (image.c), prints results, a progress bar on a terminal and one error line otherwise. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "image/image.h"
#include "util.h"

static void usage(FILE *out)
{
        fputs("Usage: coi image COMMAND\n"
              "\n"
              "Commands:\n"
              "  import FILE --alias NAME [--force] [--allow-devices] [--allow-setid] [--id-shift N]\n"
              "                 import a rootfs tarball (none/gzip/xz/zstd), an OCI image layout\n"
              "                 (directory or tar) or an Incus unified tarball\n"
              "  export NAME FILE [--compression none|gzip|xz|zstd]\n"
              "                 write the image's rootfs as a tar (compression from FILE's suffix)\n"
              "  list [--format text|json]\n"
              "  info NAME [--format text|json]\n"
              "  delete NAME\n"
              "  alias NAME ALIAS   add an alias; names and aliases are unique\n"
              "\n"
              "The store is $COI_IMAGES_DIR, or " IMAGE_STORE_DEFAULT ".\n",
              out);
}

/* ---- arguments ---- */

struct args {
        const char *positional[3];
        int n_positional;
        const char *alias, *format, *compression, *id_shift;
        bool force, allow_devices, allow_setid, help;
};

/* Returns 0, or 2 after printing a usage error. */
static int parse_args(const char *cmd, int argc, char **argv, int max_positional, struct args *a)
{
        static const struct {
                const char *name;
                size_t offset;
        } valued[] = {
                { "--alias", offsetof(struct args, alias) },
                { "--format", offsetof(struct args, format) },
                { "--compression", offsetof(struct args, compression) },
                { "--id-shift", offsetof(struct args, id_shift) },
        };
        for (int i = 1; i < argc; i++) {
                const char *arg = argv[i];
                if (streq(arg, "--help") || streq(arg, "-h")) {
                        a->help = true;
                        continue;
                }
                if (streq(arg, "--force") || streq(arg, "-f")) {
                        a->force = true;
                        continue;
                }
                if (streq(arg, "--allow-devices")) {
                        a->allow_devices = true;
                        continue;
                }
                if (streq(arg, "--allow-setid")) {
                        a->allow_setid = true;
                        continue;
                }
                bool matched = false;
                for (size_t k = 0; k < ELEMENTSOF(valued) && !matched; k++) {
                        size_t n = strlen(valued[k].name);
                        const char *v = NULL;
                        if (streq(arg, valued[k].name)) {
                                if (i + 1 >= argc) {
                                        fprintf(stderr, "coi image %s: %s needs a value\n", cmd, arg);
                                        return 2;
                                }
                                v = argv[++i];
                        } else if (strncmp(arg, valued[k].name, n) == 0 && arg[n] == '=') {
                                v = arg + n + 1;
                        }
                        if (v) {
                                *(const char **)((char *)a + valued[k].offset) = v;
                                matched = true;
                        }
                }
                if (matched)
                        continue;
                if (arg[0] == '-' && arg[1] != '\0') {
                        fprintf(stderr, "coi image %s: unknown flag \"%s\"\n", cmd, arg);
                        return 2;
                }
                if (a->n_positional >= max_positional) {
                        fprintf(stderr, "coi image %s: unexpected argument \"%s\"\n", cmd, arg);
                        return 2;
                }
                a->positional[a->n_positional++] = arg;
        }
        return 0;
}

static int need_positional(const char *cmd, const struct args *a, int n, const char *what)
{
        if (a->n_positional == n)
                return 0;
        fprintf(stderr, "coi image %s: expected %s\nUsage: coi image %s %s\n", cmd, what, cmd, what);
        return 2;
}

static int parse_format(const char *cmd, const char *format, bool *ret_json)
{
        if (!format || streq(format, "text")) {
                *ret_json = false;
                return 0;
        }
        if (streq(format, "json")) {
                *ret_json = true;
                return 0;
        }
        fprintf(stderr, "coi image %s: --format must be text or json, got \"%s\"\n", cmd, format);
        return 2;
}

/* parse_args, then --help (usage on stdout) and, if what is set, exactly n positionals (named by what).
 * Returns -1 when the command goes on, else its exit code. */
static int start_command(const char *cmd, int argc, char **argv, int n, const char *what, struct args *a)
{
        int r = parse_args(cmd, argc, argv, n, a);
        if (r || a->help) {
                if (a->help)
                        usage(stdout);
                return r;
        }
        if (what && (r = need_positional(cmd, a, n, what)))
                return r;
        return -1;
}

/* Prints a library error (once: the library never prints); returns the exit code 1. */
static int print_error(const struct coi_error *err)
{
        fprintf(stderr, "coi: %s\n", err->msg);
        return 1;
}

static int open_store(bool create, struct image_store **ret)
{
        struct coi_error err = { 0 };
        if (image_store_open(NULL, create, ret, &err) < 0)
                return print_error(&err);
        return 0;
}

/* ---- progress ---- */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
        interrupted = 1;
}

struct progress {
        bool tty;
        bool shown;
        const char *what;
        char last_stage[64];
};

static double mib(uint64_t b)
{
        return (double)b / (1024.0 * 1024.0);
}

static int show_progress(const struct extract_progress *p, void *userdata)
{
        struct progress *pr = userdata;
        const char *stage = p->stage ? p->stage : "";
        if (pr->tty) {
                fprintf(stderr, "\r\033[K%s%s%s: %.1f", pr->what, *stage ? " " : "", stage, mib(p->bytes));
                if (p->total_bytes)
                        fprintf(stderr, "/%.1f", mib(p->total_bytes));
                fprintf(stderr, " MiB, %" PRIu64 " entries", p->entries);
                pr->shown = true;
        } else if (!pr->shown || !streq(pr->last_stage, stage)) {
                /* not a terminal: one plain line per archive read, no carriage returns in logs */
                fprintf(stderr, "%s%s%s\n", pr->what, *stage ? " " : "", stage);
                snprintf(pr->last_stage, sizeof(pr->last_stage), "%s", stage);
                pr->shown = true;
        }
        return interrupted ? 1 : 0;
}

static void end_progress(struct progress *pr)
{
        if (pr->tty && pr->shown)
                fputs("\r\033[K", stderr);
}

/* The first Ctrl-C stops at the next progress report and removes the temporary directory; a
 * second one (SA_RESETHAND) kills at once, e.g. when stuck reading a pipe. */
static void catch_interrupts(void)
{
        struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESETHAND };
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
}

/* ---- commands ---- */

static int image_cmd_import(int argc, char **argv)
{
        struct args a = { 0 };
        int r = start_command("import", argc, argv, 1, "FILE --alias NAME", &a);
        if (r >= 0)
                return r;
        if (!a.alias) {
                fprintf(stderr, "coi image import: --alias NAME is required\n");
                return 2;
        }
        uint32_t shift = 0;
        if (a.id_shift) {
                char *end;
                errno = 0;
                unsigned long v = strtoul(a.id_shift, &end, 10);
                if (errno || *end || !*a.id_shift || v > UINT32_MAX / 2) {
                        fprintf(stderr,
                                "coi image import: --id-shift must be a number below 2^31, got \"%s\"\n",
                                a.id_shift);
                        return 2;
                }
                shift = (uint32_t)v;
        }
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        if (open_store(true, &s))
                return 1;
        _cleanup_free_ char *what = xasprintf("importing %s", a.positional[0]);
        struct progress pr = { .tty = isatty(STDERR_FILENO), .what = what ? what : "importing" };
        catch_interrupts();
        struct image_import_options o = {
                .file = a.positional[0],
                .name = a.alias,
                .force = a.force,
                .flags = (a.allow_devices ? EXTRACT_DEVICES : 0) | (a.allow_setid ? EXTRACT_SETID : 0),
                .id_shift = shift,
                .progress = show_progress,
                .progress_data = &pr,
        };
        struct coi_error err = { 0 };
        _cleanup_(image_info_freep) struct image_info *info = NULL;
        struct extract_stats st = { 0 };
        r = image_import(s, &o, &info, &st, &err);
        end_progress(&pr);
        if (r < 0)
                return print_error(&err);
        if (st.skipped_devices)
                fprintf(stderr,
                        "coi: warning: skipped %" PRIu64 " device node(s) (--allow-devices creates them)\n",
                        st.skipped_devices);
        if (st.stripped_setid)
                fprintf(stderr,
                        "coi: warning: dropped setuid/setgid bits of %" PRIu64
                        " file(s) (--allow-setid keeps them)\n",
                        st.stripped_setid);
        if (st.skipped_xattrs)
                fprintf(stderr,
                        "coi: warning: %" PRIu64 " extended attribute(s) not set (refused or not allowed)\n",
                        st.skipped_xattrs);
        if (st.skipped_other)
                fprintf(stderr, "coi: warning: skipped %" PRIu64 " socket(s) or unsupported entries\n",
                        st.skipped_other);
        printf("Imported %s (%s, %s, %.1f MiB, %" PRIu64 " entries)\n", info->name, info->format,
               info->architecture, mib(info->size), st.entries);
        return 0;
}

static const char *compression_from_name(const char *file)
{
        size_t n = strlen(file);
        static const char *const map[][2] = {
                { ".tar.gz", "gzip" }, { ".tgz", "gzip" }, { ".gz", "gzip" },  { ".tar.xz", "xz" },
                { ".txz", "xz" },      { ".xz", "xz" },    { ".zst", "zstd" }, { ".tzst", "zstd" },
        };
        for (size_t i = 0; i < ELEMENTSOF(map); i++) {
                size_t m = strlen(map[i][0]);
                if (n > m && streq(file + n - m, map[i][0]))
                        return map[i][1];
        }
        return "none";
}

static int image_cmd_export(int argc, char **argv)
{
        struct args a = { 0 };
        int r = start_command("export", argc, argv, 2, "NAME FILE", &a);
        if (r >= 0)
                return r;
        const char *compression = a.compression ? a.compression : compression_from_name(a.positional[1]);
        if (!streq(compression, "none") && !streq(compression, "gzip") && !streq(compression, "xz") &&
            !streq(compression, "zstd")) {
                fprintf(stderr,
                        "coi image export: --compression must be none, gzip, xz or zstd, got \"%s\"\n",
                        compression);
                return 2;
        }
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        if (open_store(false, &s))
                return 1;
        _cleanup_free_ char *what = xasprintf("exporting %s", a.positional[1]);
        struct progress pr = { .tty = isatty(STDERR_FILENO), .what = what ? what : "exporting" };
        catch_interrupts();
        struct coi_error err = { 0 };
        r = image_export(s, a.positional[0], a.positional[1], compression, show_progress, &pr, &err);
        end_progress(&pr);
        if (r < 0)
                return print_error(&err);
        printf("Exported %s to %s (%s)\n", a.positional[0], a.positional[1], compression);
        return 0;
}

static void print_info_text(const struct image_info *info)
{
        printf("Name:         %s\nAliases:     ", info->name);
        for (size_t i = 0; info->aliases && info->aliases[i]; i++)
                printf(" %s", info->aliases[i]);
        printf("\nFormat:       %s\nArchitecture: %s\nSize:         %" PRIu64 " bytes (%.1f MiB)\n"
               "Digest:       %s\nSource:       %s\nCreated:      %s\n",
               info->format, info->architecture, info->size, mib(info->size), info->digest, info->source,
               info->created);
}

static int print_json(struct image_info *const *infos, size_t n, bool list)
{
        struct coi_error err = { 0 };
        _cleanup_free_ char *json = NULL;
        if (image_info_json(infos, n, list, &json, &err) < 0)
                return print_error(&err);
        fputs(json, stdout);
        if (!*json || json[strlen(json) - 1] != '\n')
                putchar('\n');
        return 0;
}

static int image_cmd_list(int argc, char **argv)
{
        struct args a = { 0 };
        bool json = false;
        int r = start_command("list", argc, argv, 0, NULL, &a);
        if (r >= 0)
                return r;
        if ((r = parse_format("list", a.format, &json)))
                return r;
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        if (open_store(false, &s))
                return 1;
        struct coi_error err = { 0 };
        _cleanup_(image_info_list_freep) struct image_info **list = NULL;
        if (image_list(s, &list, &err) < 0)
                return print_error(&err);
        size_t n = 0;
        while (list[n])
                n++;
        if (json)
                return print_json(list, n, true);
        printf("%-24s %-24s %-7s %-8s %10s  %s\n", "NAME", "ALIASES", "FORMAT", "ARCH", "SIZE", "CREATED");
        for (size_t i = 0; i < n; i++) {
                char aliases[256] = "";
                for (size_t k = 0; list[i]->aliases && list[i]->aliases[k]; k++) {
                        size_t used = strlen(aliases);
                        snprintf(aliases + used, sizeof(aliases) - used, "%s%s", k ? "," : "",
                                 list[i]->aliases[k]);
                }
                char size[32];
                snprintf(size, sizeof(size), "%.1fMiB", mib(list[i]->size));
                printf("%-24s %-24s %-7s %-8s %10s  %s\n", list[i]->name, *aliases ? aliases : "-",
                       list[i]->format, list[i]->architecture, size, list[i]->created);
        }
        return 0;
}

static int image_cmd_info(int argc, char **argv)
{
        struct args a = { 0 };
        bool json = false;
        int r = start_command("info", argc, argv, 1, "NAME", &a);
        if (r >= 0)
                return r;
        if ((r = parse_format("info", a.format, &json)))
                return r;
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        if (open_store(false, &s))
                return 1;
        struct coi_error err = { 0 };
        _cleanup_(image_info_freep) struct image_info *info = NULL;
        if (image_lookup(s, a.positional[0], &info, &err) < 0)
                return print_error(&err);
        if (json)
                return print_json(&info, 1, false);
        print_info_text(info);
        return 0;
}

static int image_cmd_delete(int argc, char **argv)
{
        struct args a = { 0 };
        int r = start_command("delete", argc, argv, 1, "NAME", &a);
        if (r >= 0)
                return r;
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        if (open_store(false, &s))
                return 1;
        struct coi_error err = { 0 };
        if (image_delete(s, a.positional[0], &err) < 0)
                return print_error(&err);
        printf("Deleted %s\n", a.positional[0]);
        return 0;
}

static int image_cmd_alias(int argc, char **argv)
{
        struct args a = { 0 };
        int r = start_command("alias", argc, argv, 2, "NAME ALIAS", &a);
        if (r >= 0)
                return r;
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        if (open_store(false, &s))
                return 1;
        struct coi_error err = { 0 };
        if (image_alias_add(s, a.positional[0], a.positional[1], &err) < 0)
                return print_error(&err);
        printf("Added alias %s for %s\n", a.positional[1], a.positional[0]);
        return 0;
}

static int cmd_image(int argc, char **argv)
{
        static const struct {
                const char *name;
                int (*run)(int argc, char **argv);
        } subs[] = {
                { "import", image_cmd_import }, { "export", image_cmd_export },
                { "list", image_cmd_list },     { "ls", image_cmd_list },
                { "info", image_cmd_info },     { "delete", image_cmd_delete },
                { "rm", image_cmd_delete },     { "alias", image_cmd_alias },
        };
        if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h")) {
                usage(argc < 2 ? stderr : stdout);
                return argc < 2 ? 2 : 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(subs); i++)
                if (streq(argv[1], subs[i].name))
                        return subs[i].run(argc - 1, argv + 1);
        fprintf(stderr, "coi image: unknown subcommand \"%s\"\n", argv[1]);
        usage(stderr);
        return 2;
}

/* TRANSITIONAL (issue 18): parses its own argv until it takes a cli_call. */
const struct cli_command cli_cmd_image = {
        .name = "image", .summary = "Import, export, list, inspect, alias and delete images", .raw = cmd_image
};
