/* cmd-image.c — `coi image`: import, export, list, info, delete, alias, exists, cleanup (and publish,
 * refused): calls the image store (image.c), prints results, a progress bar on a terminal and one
 * error line otherwise. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "image/image.h"
#include "util.h"

#define STORE_NOTE "The store is $COI_IMAGES_DIR, or " IMAGE_STORE_DEFAULT "."

static int print_error(const struct coi_error *err)
{
        return cli_error(1, "%s", err->msg);
}

static int open_store(bool create, struct image_store **ret)
{
        struct coi_error err = { 0 };
        if (image_store_open(NULL, create, ret, &err) < 0)
                return print_error(&err);
        return 0;
}

static double mib(uint64_t b)
{
        return (double)b / (1024.0 * 1024.0);
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

/* ---- import, export ---- */

static int image_import_run(const struct cli_call *call)
{
        const char *file = call->args[0];
        long long shift = cli_int(call, "id-shift");
        if (shift < 0 || shift > UINT32_MAX / 2)
                return cli_error(2, "--id-shift must be between 0 and 2^31-1, got %lld", shift);
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        if (open_store(true, &s))
                return 1;
        _cleanup_free_ char *what = xasprintf("importing %s", file);
        struct progress pr = { .tty = isatty(STDERR_FILENO), .what = what ? what : "importing" };
        catch_interrupts();
        struct image_import_options o = {
                .file = file,
                .name = cli_str(call, "alias"),
                .force = cli_bool(call, "force"),
                .flags = (cli_bool(call, "allow-devices") ? EXTRACT_DEVICES : 0) |
                         (cli_bool(call, "allow-setid") ? EXTRACT_SETID : 0),
                .id_shift = (uint32_t)shift,
                .progress = show_progress,
                .progress_data = &pr,
        };
        struct coi_error err = { 0 };
        _cleanup_(image_info_freep) struct image_info *info = NULL;
        struct extract_stats st = { 0 };
        int r = image_import(s, &o, &info, &st, &err);
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

static int image_export_run(const struct cli_call *call)
{
        const char *name = call->args[0], *file = call->args[1];
        const char *compression =
                cli_changed(call, "compression") ? cli_str(call, "compression") : compression_from_name(file);
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        if (open_store(false, &s))
                return 1;
        _cleanup_free_ char *what = xasprintf("exporting %s", file);
        struct progress pr = { .tty = isatty(STDERR_FILENO), .what = what ? what : "exporting" };
        catch_interrupts();
        struct coi_error err = { 0 };
        int r = image_export(s, name, file, compression, show_progress, &pr, &err);
        end_progress(&pr);
        if (r < 0)
                return print_error(&err);
        printf("Exported %s to %s (%s)\n", name, file, compression);
        return 0;
}

/* ---- list, info ---- */

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

/* The name, or else the first alias, that starts with prefix; NULL when none does. */
static const char *prefixed_name(const struct image_info *info, const char *prefix)
{
        if (startswith(info->name, prefix))
                return info->name;
        for (size_t k = 0; info->aliases && info->aliases[k]; k++)
                if (startswith(info->aliases[k], prefix))
                        return info->aliases[k];
        return NULL;
}

/* Moves the images with a name or alias starting with prefix to the front of list (keeping their
 * order), frees the others and ends the list there; returns how many are left. */
static size_t keep_prefixed(struct image_info **list, const char *prefix)
{
        size_t n = 0;
        for (size_t i = 0; list[i]; i++) {
                if (prefixed_name(list[i], prefix))
                        list[n++] = list[i];
                else
                        image_info_free(list[i]);
        }
        list[n] = NULL;
        return n;
}

static int image_list_run(const struct cli_call *call)
{
        /* -a: every image of coi's store is one coi made or imported, so all are always listed. */
        const char *prefix = cli_str(call, "prefix");
        bool json = streq(cli_str(call, "format"), "json");
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        if (open_store(false, &s))
                return 1;
        struct coi_error err = { 0 };
        _cleanup_(image_info_list_freep) struct image_info **list = NULL;
        if (image_list(s, &list, &err) < 0)
                return print_error(&err);
        size_t n = keep_prefixed(list, prefix);
        if (json)
                return print_json(list, n, true);
        if (n == 0 && *prefix) {
                printf("No images found with prefix '%s'\n", prefix);
                return 0;
        }
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

static int image_info_run(const struct cli_call *call)
{
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        if (open_store(false, &s))
                return 1;
        struct coi_error err = { 0 };
        _cleanup_(image_info_freep) struct image_info *info = NULL;
        if (image_lookup(s, call->args[0], &info, &err) < 0)
                return print_error(&err);
        if (streq(cli_str(call, "format"), "json"))
                return print_json(&info, 1, false);
        print_info_text(info);
        return 0;
}

/* ---- delete, alias, exists ---- */

static int image_delete_run(const struct cli_call *call)
{
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        if (open_store(false, &s))
                return 1;
        struct coi_error err = { 0 };
        if (image_delete(s, call->args[0], &err) < 0)
                return print_error(&err);
        printf("Deleted %s\n", call->args[0]);
        return 0;
}

static int image_alias_run(const struct cli_call *call)
{
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        if (open_store(false, &s))
                return 1;
        struct coi_error err = { 0 };
        if (image_alias_add(s, call->args[0], call->args[1], &err) < 0)
                return print_error(&err);
        printf("Added alias %s for %s\n", call->args[1], call->args[0]);
        return 0;
}

/* Exit 0 when the name or alias is in the store, 1 (silently) when not, as code-on-incus. */
static int image_exists_run(const struct cli_call *call)
{
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        if (open_store(false, &s))
                return 1;
        struct coi_error err = { 0 };
        _cleanup_(image_info_freep) struct image_info *info = NULL;
        int r = image_lookup(s, call->args[0], &info, &err);
        if (r == -ENOENT)
                return 1;
        if (r < 0)
                return cli_error(1, "failed to check image: %s", err.msg);
        return 0;
}

/* ---- cleanup ---- */

/* When an image was made, as 14 digits YYYYMMDDHHMMSS (UTC) that sort in time order: the
 * -YYYYMMDD-HHMMSS suffix of its prefixed name (code-on-incus's versioned aliases), else the time
 * the store recorded. */
static void version_stamp(const struct image_info *info, const char *prefix, char stamp[15])
{
        const char *name = prefixed_name(info, prefix);
        size_t n = name ? strlen(name) : 0;
        const char *tail = n >= 16 ? name + n - 16 : NULL; /* "-YYYYMMDD-HHMMSS" */
        if (tail && tail[0] == '-' && tail[9] == '-' && strspn(tail + 1, "0123456789") == 8 &&
            strspn(tail + 10, "0123456789") == 6) {
                memcpy(stamp, tail + 1, 8);
                memcpy(stamp + 8, tail + 10, 6);
                stamp[14] = '\0';
                return;
        }
        size_t k = 0; /* "2026-12-04T10:11:12Z" → "20261204101112" */
        for (const char *c = info->created; c && *c && k < 14; c++)
                if (*c >= '0' && *c <= '9')
                        stamp[k++] = *c;
        while (k < 14)
                stamp[k++] = '0';
        stamp[14] = '\0';
}

struct version {
        char stamp[15];
        struct image_info *info;
};

static int newest_first(const void *a, const void *b)
{
        const struct version *x = a, *y = b;
        int c = strcmp(y->stamp, x->stamp);
        return c ? c : strcmp(y->info->name, x->info->name);
}

static void print_names(const char *what, const struct version *v, size_t n)
{
        if (n == 0)
                return;
        fprintf(stderr, "\n%s %zu %s version(s):\n", what, n, streq(what, "Kept") ? "recent" : "old");
        for (size_t i = 0; i < n; i++)
                fprintf(stderr, "  - %s\n", v[i].info->name);
}

static int image_cleanup_run(const struct cli_call *call)
{
        const char *prefix = call->args[0];
        long long keep = cli_int(call, "keep");
        if (keep <= 0)
                return cli_error(2, "--keep must be > 0");
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        if (open_store(false, &s))
                return 1;
        struct coi_error err = { 0 };
        _cleanup_(image_info_list_freep) struct image_info **list = NULL;
        if (image_list(s, &list, &err) < 0)
                return print_error(&err);
        size_t n = keep_prefixed(list, prefix);
        _cleanup_free_ struct version *v = calloc(n ? n : 1, sizeof(*v));
        if (!v)
                return cli_error(1, "out of memory");
        for (size_t i = 0; i < n; i++) {
                v[i].info = list[i];
                version_stamp(list[i], prefix, v[i].stamp);
        }
        qsort(v, n, sizeof(*v), newest_first);
        size_t kept = n < (size_t)keep ? n : (size_t)keep;
        for (size_t i = kept; i < n; i++)
                if (image_delete(s, v[i].info->name, &err) < 0) {
                        print_names("Deleted", v + kept, i - kept);
                        return cli_error(1, "cleanup failed: %s", err.msg);
                }
        fprintf(stderr, "Cleanup complete:\n");
        print_names("Deleted", v + kept, n - kept);
        print_names("Kept", v, kept);
        return 0;
}

/* ---- publish ---- */

/* A container's root is an overlay: the image's tree (shared, never written) under the container's
 * own upper layer, whose owners are shifted into the container's id block. An image is one plain
 * tree owned by the ids inside, so publishing means copying the whole merged tree and shifting every
 * owner back: the full size of the image, not a cheap step. Refused; see docs/compat.md. */
static int image_publish_run(const struct cli_call *call)
{
        return cli_error(1,
                         "image publish is not supported: a container's filesystem is its image plus an "
                         "id-shifted layer, and coi does not copy it into a new image; describe the image in "
                         "a profile's [container.build] and run coi build --profile NAME instead");
}

/* ---- the table ---- */

static const struct cli_flag import_flags[] = {
        { .name = "alias", .type = CLI_STRING, .required = true, .help = "the image's name in the store" },
        { .name = "force",
          .shorthand = 'f',
          .type = CLI_BOOL,
          .help = "replace an image of that name (or take the name from another image's alias)" },
        { .name = "allow-devices", .type = CLI_BOOL, .help = "create the archive's device nodes" },
        { .name = "allow-setid", .type = CLI_BOOL, .help = "keep setuid/setgid bits" },
        { .name = "id-shift", .type = CLI_INT, .help = "add N (below 2^31) to every uid and gid" },
        { 0 },
};

static const char *const compressions[] = { "none", "gzip", "xz", "zstd", NULL };

static const struct cli_flag export_flags[] = {
        { .name = "compression",
          .type = CLI_STRING,
          .choices = compressions,
          .help = "none, gzip, xz or zstd (default: from FILE's suffix)" },
        { 0 },
};

static const struct cli_flag list_flags[] = {
        { .name = "all",
          .shorthand = 'a',
          .type = CLI_BOOL,
          .help = "every image (all of coi's store is listed anyway)" },
        { .name = "prefix",
          .type = CLI_STRING,
          .help = "only images with a name or alias starting with this" },
        CLI_FLAG_FORMAT_TEXT_JSON,
        { 0 },
};

static const struct cli_flag info_flags[] = {
        CLI_FLAG_FORMAT_TEXT_JSON,
        { 0 },
};

static const struct cli_flag cleanup_flags[] = {
        { .name = "keep",
          .type = CLI_INT,
          .required = true,
          .help = "how many of the newest images to keep" },
        { 0 },
};

static const struct cli_flag publish_flags[] = {
        { .name = "description", .type = CLI_STRING, .help = "the image's description" },
        { .name = "compression", .type = CLI_STRING, .help = "the image's compression" },
        { 0 },
};

static const char *const list_aliases[] = { "ls", NULL };
static const char *const delete_aliases[] = { "rm", NULL };

static const struct cli_command import = {
        .name = "import",
        .use = "<file>",
        .summary = "Import a rootfs tarball, an OCI image layout or an Incus unified tarball",
        .description =
                "Import FILE as the image --alias NAME: a rootfs tarball (none, gzip, xz or zstd), an\n"
                "OCI image layout (a directory or a tar) or an Incus unified tarball. An interrupted or\n"
                "failed import leaves nothing behind.\n\n" STORE_NOTE,
        .flags = import_flags,
        .args = CLI_ARGS_EXACT,
        .n = 1,
        .run = image_import_run,
};

static const struct cli_command export = {
        .name = "export",
        .use = "<name> <file>",
        .summary = "Write an image's rootfs as a tar",
        .flags = export_flags,
        .args = CLI_ARGS_EXACT,
        .n = 2,
        .run = image_export_run,
};

static const struct cli_command list = {
        .name = "list",
        .summary = "List images",
        .description = "List the images of coi's store.\n\n" STORE_NOTE,
        .aliases = list_aliases,
        .flags = list_flags,
        .args = CLI_ARGS_ANY,
        .run = image_list_run,
};

static const struct cli_command info = {
        .name = "info",
        .use = "<alias>",
        .summary = "Show one image's details",
        .flags = info_flags,
        .args = CLI_ARGS_EXACT,
        .n = 1,
        .run = image_info_run,
};

static const struct cli_command delete = {
        .name = "delete",
        .use = "<alias>",
        .summary = "Delete an image",
        .aliases = delete_aliases,
        .args = CLI_ARGS_EXACT,
        .n = 1,
        .run = image_delete_run,
};

static const struct cli_command alias = {
        .name = "alias",
        .use = "<name> <alias>",
        .summary = "Add an alias to an image (names and aliases are unique)",
        .args = CLI_ARGS_EXACT,
        .n = 2,
        .run = image_alias_run,
};

static const struct cli_command exists = {
        .name = "exists",
        .use = "<alias>",
        .summary = "Exit 0 if the image exists, else 1",
        .args = CLI_ARGS_EXACT,
        .n = 1,
        .run = image_exists_run,
};

static const struct cli_command cleanup = {
        .name = "cleanup",
        .use = "<prefix>",
        .summary = "Delete old versions of an image, keeping the N newest",
        .description =
                "Delete the images whose name or alias starts with PREFIX except the --keep N newest.\n"
                "Newest by the -YYYYMMDD-HHMMSS suffix of the name or alias (code-on-incus's\n"
                "versioned aliases), else by the time the image was made.\n\n"
                "Example:\n"
                "  coi image cleanup my-node- --keep 3",
        .flags = cleanup_flags,
        .args = CLI_ARGS_EXACT,
        .n = 1,
        .run = image_cleanup_run,
};

static const struct cli_command publish = {
        .name = "publish",
        .use = "<container> <alias>",
        .summary = "Not supported: build the image from a profile instead (coi build --profile)",
        .flags = publish_flags,
        .args = CLI_ARGS_EXACT,
        .n = 2,
        .run = image_publish_run,
};

static const struct cli_command *const image_commands[] = {
        &alias, &cleanup, &delete, &exists, &export, &import, &info, &list, &publish, NULL,
};

const struct cli_command cli_cmd_image = {
        .name = "image",
        .summary = "Manage images",
        .description = "Import, export, list, inspect, alias and delete the images containers start "
                       "from.\n\n" STORE_NOTE,
        .subcommands = image_commands,
};
