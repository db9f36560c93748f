/* cmd-build.c — `coi build [-f] [--profile NAME]`: finds the recipe or the profile's build settings,
 * runs build_image() (build.c) and prints its steps with elapsed time, output condensed. */
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "image/build.h"
#include "config/config.h"
#include "util.h"

#define TAIL_LINES  20
#define SHOWN_WIDTH 100

static volatile sig_atomic_t cancel_requested;

static void on_signal(int sig _unused_)
{
        cancel_requested = 1;
}

/* ---- progress ---- */

struct progress {
        uint64_t start;
        bool verbose;
        char *tail[TAIL_LINES]; /* the last lines of output, shown when a step fails */
        size_t n_tail;
};

static void progress_done(struct progress *p)
{
        for (size_t i = 0; i < TAIL_LINES; i++)
                free(p->tail[i]);
}

static double elapsed(const struct progress *p)
{
        return (double)(now_ns() - p->start) / 1e9;
}

static void on_report(enum build_event event, const char *text, void *userdata)
{
        struct progress *p = userdata;
        if (event == BUILD_EVENT_STEP) {
                printf("[%7.1fs] %s\n", elapsed(p), text);
                p->n_tail = 0; /* the tail belongs to the step that fails */
                fflush(stdout);
                return;
        }
        free(p->tail[p->n_tail % TAIL_LINES]);
        p->tail[p->n_tail % TAIL_LINES] = strdup(text);
        p->n_tail++;
        /* Condensed: the recipe's own step lines ("==> "), mmdebstrap's info and error lines. */
        int w = SHOWN_WIDTH; /* a condensed line is one terminal line */
        if (startswith(text, "==> "))
                printf("[%7.1fs]   %.*s%s\n", elapsed(p), w, text + 4,
                       strlen(text + 4) > (size_t)w ? "…" : "");
        else if (startswith(text, "I: ") || startswith(text, "E: "))
                printf("[%7.1fs]     mmdebstrap: %.*s%s\n", elapsed(p), w, text + 3,
                       strlen(text + 3) > (size_t)w ? "…" : "");
        else if (p->verbose)
                printf("            %s\n", text);
        fflush(stdout);
}

static void print_tail(const struct progress *p)
{
        if (p->verbose || p->n_tail == 0)
                return;
        size_t n = p->n_tail < TAIL_LINES ? p->n_tail : TAIL_LINES;
        fprintf(stderr, "Last %zu line%s of output:\n", n, n == 1 ? "" : "s");
        for (size_t i = p->n_tail - n; i < p->n_tail; i++)
                fprintf(stderr, "  | %s\n", p->tail[i % TAIL_LINES] ? p->tail[i % TAIL_LINES] : "");
}

static void format_size(uint64_t bytes, char *buf, size_t len)
{
        if (bytes >= (1ull << 30))
                snprintf(buf, len, "%.2f GiB", (double)bytes / (1ull << 30));
        else
                snprintf(buf, len, "%.1f MiB", (double)bytes / (1ull << 20));
}

static void format_duration(double s, char *buf, size_t len)
{
        if (s >= 60)
                snprintf(buf, len, "%dm%04.1fs", (int)(s / 60), s - 60 * (int)(s / 60));
        else
                snprintf(buf, len, "%.1fs", s);
}

/* ---- where the recipe is ---- */

static bool is_recipe(const char *dir)
{
        _cleanup_free_ char *build = xasprintf("%s/build", dir);
        return build && access(build, X_OK) == 0;
}

/* True when the running coi is the one in the build directory meson made (not an installed copy). */
static bool running_uninstalled(void)
{
        _cleanup_free_ char *exe = realpath("/proc/self/exe", NULL);
        _cleanup_free_ char *build_root = realpath(COI_BUILD_ROOT, NULL);
        return exe && build_root && startswith(exe, build_root) && exe[strlen(build_root)] == '/';
}

/* --recipe, $COI_BUILD_RECIPE_DIR, then images/default of the source tree an uninstalled coi was
 * built from (meson records it), then the installed data directories. */
static char *find_recipe(const char *flag)
{
        if (flag)
                return strdup(flag);
        const char *env = getenv("COI_BUILD_RECIPE_DIR");
        if (env && env[0])
                return strdup(env);
        if (running_uninstalled() && is_recipe(COI_SOURCE_ROOT "/images/default"))
                return strdup(COI_SOURCE_ROOT "/images/default");
        const char *fixed[] = { COI_DATADIR "/images/default", "/usr/share/coi/images/default" };
        for (size_t i = 0; i < ELEMENTSOF(fixed); i++)
                if (is_recipe(fixed[i]))
                        return strdup(fixed[i]);
        return NULL;
}

/* ---- the command ---- */

/* An image that exists is not rebuilt without --force; say what it was built from and whether the
 * recipe has changed since. */
static void print_exists(struct image_store *s, const char *name, const char *recipe, const char *recipe_hash)
{
        struct build_record rec = { 0 };
        struct coi_error ignored = { 0 };
        printf("Image %s already exists", name);
        if (build_record_read(s, name, &rec, &ignored) == 0 && rec.recipe_hash)
                printf(" (built from recipe %.12s)", rec.recipe_hash);
        else if (rec.base)
                printf(" (built on %s)", rec.base);
        printf("; nothing to do. Use --force to rebuild it.\n");
        if (recipe_hash && rec.recipe_hash && !streq(recipe_hash, rec.recipe_hash))
                printf("The recipe %s has changed since (now %.12s): coi build --force picks that up.\n",
                       recipe, recipe_hash);
        build_record_done(&rec);
}

static int build_run(const struct cli_call *call)
{
        const char *profile = *cli_str(call, "profile") ? cli_str(call, "profile") : NULL;
        const char *recipe_flag = *cli_str(call, "recipe") ? cli_str(call, "recipe") : NULL;
        bool force = cli_bool(call, "force");
        if (profile && recipe_flag)
                return cli_error(2, "--recipe and --profile exclude each other");
        if (cli_changed(call, "compression"))
                fprintf(stderr, "coi: note: --compression has no effect on coi build: coi's store keeps an "
                                "image as an unpacked tree (coi image export --compression compresses an "
                                "export)\n");

        struct coi_error err = { 0 };
        struct build_options o = { .force = force };
        _cleanup_free_ char *recipe = NULL;
        _cleanup_(config_freep) struct config *cfg = NULL;
        char recipe_hash[65] = "";
        if (profile) {
                if (config_load(&(struct config_load_options){ .profile = profile }, &cfg, &err) < 0)
                        return cli_error(1, "%s", err.msg);
                const char *origin = config_origin(cfg, "container.image");
                if (!cfg->profile || !cfg->container.image || !origin || streq(origin, "default")) {
                        return cli_error(
                                1,
                                "profile %s names no image to build: set [container] image = \"NAME\" "
                                "in it",
                                profile);
                }
                o.name = cfg->container.image;
                o.base = cfg->container.build.base && cfg->container.build.base[0] ? cfg->container.build.base
                                                                                   : BUILD_DEFAULT_IMAGE;
                o.script = cfg->container.build.script && cfg->container.build.script[0]
                                   ? cfg->container.build.script
                                   : NULL;
                o.commands = cfg->container.build.commands;
                o.profile = profile;
                if (!o.script && !(o.commands && o.commands[0])) {
                        return cli_error(1,
                                         "profile %s has no [container.build] script or commands: nothing to "
                                         "build",
                                         profile);
                }
                if (streq(o.name, o.base)) {
                        return cli_error(
                                1,
                                "profile %s builds image %s on itself; set another [container.build] "
                                "base",
                                profile, o.name);
                }
        } else {
                recipe = find_recipe(recipe_flag);
                if (!recipe)
                        return cli_error(1, "recipe images/default not found; give its directory with "
                                            "--recipe DIR or $COI_BUILD_RECIPE_DIR");
                if (build_recipe_hash(recipe, recipe_hash, &err) < 0)
                        return cli_error(1, "%s", err.msg);
                o.name = BUILD_DEFAULT_IMAGE;
                o.recipe_dir = recipe;
        }

        _cleanup_(image_store_freep) struct image_store *store = NULL;
        if (image_store_open(NULL, true, &store, &err) < 0)
                return cli_error(1, "%s", err.msg);
        _cleanup_(image_info_freep) struct image_info *existing = NULL;
        struct coi_error ignored = { 0 };
        if (!force && image_lookup(store, o.name, &existing, &ignored) == 0) {
                print_exists(store, o.name, recipe, recipe_hash[0] ? recipe_hash : NULL);
                return 0;
        }

        if (recipe)
                printf("Building %s from %s (recipe %.12s)%s\n", o.name, recipe, recipe_hash,
                       existing ? "; it replaces the existing image when done" : "");
        else
                printf("Building %s for profile %s on %s%s\n", o.name, profile, o.base,
                       force ? " (an existing image is replaced when done)" : "");
        fflush(stdout);

        struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term, old_hup;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
        sigaction(SIGHUP, &sa, &old_hup);
        struct progress p = { .start = now_ns(), .verbose = cli_bool(call, "verbose") };
        o.report = on_report;
        o.userdata = &p;
        o.cancel = &cancel_requested;
        _cleanup_(image_info_freep) struct image_info *info = NULL;
        int r = build_image(store, &o, &info, &err);
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGHUP, &old_hup, NULL);
        char took[32];
        format_duration(elapsed(&p), took, sizeof(took));
        if (r < 0) {
                print_tail(&p);
                progress_done(&p);
                /* code-on-incus's "build failed: " first, then what is left (nothing) */
                cli_error(1, "build failed: %s", err.msg);
                return cli_error(r == -ECANCELED ? 130 : 1,
                                 "%s not built (after %s); nothing was left behind", o.name, took);
        }
        progress_done(&p);
        char size[32];
        format_size(info->size, size, sizeof(size));
        printf("[%7.1fs] Built %s in %s: %s\n", elapsed(&p), info->name, took, size);
        return 0;
}

static const struct cli_flag build_flags[] = {
        { .name = "force",
          .shorthand = 'f',
          .type = CLI_BOOL,
          .help = "rebuild an image that exists; it is replaced when the build is done" },
        { .name = "compression",
          .type = CLI_STRING,
          .help = "accepted, no effect: coi's store keeps images unpacked (see image export)" },
        { .name = "recipe",
          .type = CLI_STRING,
          .help = "the recipe directory (default: $COI_BUILD_RECIPE_DIR, else images/default)" },
        { .name = "verbose",
          .shorthand = 'v',
          .type = CLI_BOOL,
          .help = "show every line of the build's output" },
        { 0 },
};

const struct cli_command cli_cmd_build = {
        .name = "build",
        .summary = "Build the default image (coi-default) or a profile's image",
        .description =
                "Build the default image " BUILD_DEFAULT_IMAGE " from its recipe (images/default), or with\n"
                "--profile NAME the profile's image: its [container] image, made from its [container.build]\n"
                "base (default " BUILD_DEFAULT_IMAGE
                ") by running its build script or commands in a chroot.\n"
                "An image that exists is left alone unless --force is given.\n"
                "\n"
                "The recipe is --recipe DIR, else $COI_BUILD_RECIPE_DIR, else images/default of the source\n"
                "tree of an uninstalled coi, else the installed " COI_DATADIR "/images/default.\n"
                "The store is $COI_IMAGES_DIR, or " IMAGE_STORE_DEFAULT ".\n"
                "\n"
                "Examples:\n"
                "  coi build\n"
                "  coi build --force\n"
                "  coi build --profile rust-dev",
        .flags = build_flags,
        .args = CLI_ARGS_NONE,
        .run = build_run,
};
