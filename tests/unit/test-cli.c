/* test-cli.c — the command-table parser (shim/cli/cli-parse.c) on a small tree shaped like coi's:
 * the command path, global flags on either side of it, pflag's flag forms, --help anywhere, argument
 * counts, choices and the exit codes of each mistake. */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"
#include "util.h"

static int ran;
static int run_ok(const struct cli_call *call)
{
        ran++;
        return 0;
}

static const char *const formats[] = { "text", "json", NULL };
static const char *const show_aliases[] = { "ls", NULL };

static const struct cli_flag list_flags[] = {
        { .name = "format", .type = CLI_STRING, .def = "text", .choices = formats, .help = "text or json" },
        { .name = "all", .shorthand = 'a', .type = CLI_BOOL, .help = "all" },
        { .name = "force", .shorthand = 'f', .type = CLI_BOOL, .help = "force" },
        { .name = "keep", .type = CLI_INT, .help = "how many" },
        { .name = "env", .shorthand = 'e', .type = CLI_STRINGS, .help = "KEY=VALUE" },
        { 0 },
};
static const struct cli_command cmd_list = { .name = "list",
                                             .summary = "List",
                                             .aliases = show_aliases,
                                             .flags = list_flags,
                                             .args = CLI_ARGS_MAX,
                                             .n = 1,
                                             .run = run_ok };

static const struct cli_flag cleanup_flags[] = { { .name = "keep", .type = CLI_INT, .required = true },
                                                 { 0 } };
static const struct cli_command cmd_cleanup = { .name = "cleanup",
                                                .use = "<prefix>",
                                                .summary = "Clean",
                                                .flags = cleanup_flags,
                                                .args = CLI_ARGS_EXACT,
                                                .n = 1,
                                                .run = run_ok };
static const struct cli_command cmd_run = { .name = "run",
                                            .use = "<command>",
                                            .summary = "Run",
                                            .args = CLI_ARGS_MIN,
                                            .n = 1,
                                            .run = run_ok,
                                            .flags_before_args = true };
static const struct cli_command *const image_subs[] = { &cmd_list, &cmd_cleanup, NULL };
static const struct cli_command cmd_image = { .name = "image",
                                              .summary = "Images",
                                              .subcommands = image_subs };
static const struct cli_command cmd_build = {
        .name = "build", .summary = "Build", .args = CLI_ARGS_NONE, .run = run_ok
};

static const struct cli_flag globals[] = {
        { .name = "workspace", .shorthand = 'w', .type = CLI_STRING, .def = ".", .help = "workspace" },
        { .name = "slot", .type = CLI_INT, .help = "slot" },
        { .name = "resume", .type = CLI_STRING, .no_opt = "auto", .help = "resume" },
        { 0 },
};
static const struct cli_command *const root_subs[] = { &cmd_image, &cmd_run, &cmd_build, NULL };
static const struct cli_command root = { .name = "coi",
                                         .summary = "coi",
                                         .persistent = globals,
                                         .subcommands = root_subs,
                                         .args = CLI_ARGS_ANY,
                                         .run = run_ok };

/* Parses the words after "coi"; returns cli_parse's result and leaves the call in *call. */
static int parse(struct cli_call *call, ...)
{
        char *argv[32] = { "coi" };
        int argc = 1;
        va_list ap;
        va_start(ap, call);
        for (char *a; (a = va_arg(ap, char *));)
                argv[argc++] = a;
        va_end(ap);
        static char *keep[32];
        memcpy(keep, argv, sizeof(argv));
        return cli_parse(&root, argc, keep, call);
}

static void test_path_and_globals_on_both_sides(void **state)
{
        struct cli_call c;
        assert_int_equal(parse(&c, "-w", "/ws", "image", "list", "--slot", "3", NULL), 0);
        assert_ptr_equal(c.cmd, &cmd_list);
        assert_int_equal(c.depth, 3);
        assert_string_equal(cli_str(&c, "workspace"), "/ws");
        assert_int_equal(cli_int(&c, "slot"), 3);
        assert_true(cli_changed(&c, "slot"));
        assert_string_equal(cli_str(&c, "format"), "text"); /* default */
        assert_false(cli_changed(&c, "format"));
        cli_call_done(&c);
        assert_int_equal(parse(&c, "image", "ls", "--workspace=/x", NULL), 0); /* alias, --flag=value */
        assert_ptr_equal(c.cmd, &cmd_list);
        assert_string_equal(cli_str(&c, "workspace"), "/x");
        cli_call_done(&c);
}

static void test_flag_forms(void **state)
{
        struct cli_call c;
        assert_int_equal(parse(&c, "image", "list", "-af", "-eA=1", "-e", "B=2", "--env=C=3", "--keep", "-7",
                               "--all=false", NULL),
                         0);
        assert_false(cli_bool(&c, "all")); /* the last one wins */
        assert_true(cli_bool(&c, "force"));
        char *const *env = cli_strv(&c, "env");
        assert_string_equal(env[0], "A=1");
        assert_string_equal(env[1], "B=2");
        assert_string_equal(env[2], "C=3");
        assert_null(env[3]);
        assert_int_equal(cli_int(&c, "keep"), -7); /* a value may start with '-' */
        cli_call_done(&c);
        /* An optional value: alone it is "auto" and the next word stays an argument. */
        assert_int_equal(parse(&c, "--resume", "image", "list", NULL), 0);
        assert_string_equal(cli_str(&c, "resume"), "auto");
        assert_ptr_equal(c.cmd, &cmd_list);
        cli_call_done(&c);
        assert_int_equal(parse(&c, "image", "list", "--resume=abc", "one", NULL), 0);
        assert_string_equal(cli_str(&c, "resume"), "abc");
        assert_int_equal(c.nargs, 1);
        assert_string_equal(c.args[0], "one");
        cli_call_done(&c);
}

static void test_dash_dash_and_flags_before_args(void **state)
{
        struct cli_call c;
        assert_int_equal(parse(&c, "image", "list", "--", "-a", NULL), 0);
        assert_int_equal(c.nargs, 1);
        assert_string_equal(c.args[0], "-a"); /* after "--", an argument */
        assert_false(cli_bool(&c, "all"));
        cli_call_done(&c);
        assert_int_equal(parse(&c, "run", "-w", "/w", "sh", "-c", "echo --help", NULL), 0);
        assert_int_equal(c.nargs, 3);
        assert_string_equal(c.args[1], "-c");
        assert_string_equal(cli_str(&c, "workspace"), "/w");
        cli_call_done(&c);
}

static void test_help_anywhere_and_bare_groups(void **state)
{
        struct cli_call c;
        assert_int_equal(parse(&c, "image", "list", "x", "--help", NULL), -1);
        cli_call_done(&c);
        assert_int_equal(parse(&c, "image", "cleanup", "-h", NULL), -1); /* before the required flag */
        cli_call_done(&c);
        assert_int_equal(parse(&c, "image", NULL), -1);
        cli_call_done(&c);
        assert_int_equal(parse(&c, "image", "bogus", NULL), -1);
        cli_call_done(&c);
}

static void test_mistakes_and_their_exit_codes(void **state)
{
        struct cli_call c;
        assert_int_equal(parse(&c, "image", "list", "--bogus", NULL), 1);
        cli_call_done(&c);
        assert_int_equal(parse(&c, "image", "list", "-z", NULL), 1);
        cli_call_done(&c);
        assert_int_equal(parse(&c, "image", "list", "--format", NULL), 1); /* needs a value */
        cli_call_done(&c);
        assert_int_equal(parse(&c, "image", "list", "--keep", "x", NULL), 1);
        cli_call_done(&c);
        assert_int_equal(parse(&c, "image", "list", "--format", "yaml", NULL), 2);
        cli_call_done(&c);
        assert_int_equal(parse(&c, "image", "list", "a", "b", NULL), 1); /* at most 1 */
        cli_call_done(&c);
        assert_int_equal(parse(&c, "image", "cleanup", "p", NULL), 1); /* --keep required */
        cli_call_done(&c);
        assert_int_equal(parse(&c, "image", "cleanup", "p", "--keep", "2", NULL), 0);
        cli_call_done(&c);
        assert_int_equal(parse(&c, "build", "extra", NULL), 1); /* takes no argument */
        cli_call_done(&c);
        assert_int_equal(parse(&c, "bogus", NULL), 1); /* unknown command */
        cli_call_done(&c);
        assert_int_equal(parse(&c, "run", NULL), 1); /* at least one */
        cli_call_done(&c);
}

static void test_main_runs_the_handler(void **state)
{
        char *argv[] = { "coi", "image", "list", NULL };
        ran = 0;
        assert_int_equal(cli_main(&root, 3, argv), 0);
        assert_int_equal(ran, 1);
        char *help[] = { "coi", "--help", NULL };
        assert_int_equal(cli_main(&root, 2, help), 0);
        assert_int_equal(ran, 1);
}

static void test_completion_scripts_name_every_command(void **state)
{
        const char *shells[] = { "bash", "zsh", "fish" };
        for (size_t i = 0; i < ELEMENTSOF(shells); i++) {
                char *buf = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&buf, &len);
                assert_int_equal(cli_print_completion(f, &root, shells[i], true), 0);
                fclose(f);
                assert_non_null(strstr(buf, "cleanup"));
                assert_non_null(strstr(buf, "--format"));
                assert_non_null(strstr(buf, "text json"));
                free(buf);
        }
        assert_int_equal(cli_print_completion(stdout, &root, "powershell", true), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_path_and_globals_on_both_sides),
                cmocka_unit_test(test_flag_forms),
                cmocka_unit_test(test_dash_dash_and_flags_before_args),
                cmocka_unit_test(test_help_anywhere_and_bare_groups),
                cmocka_unit_test(test_mistakes_and_their_exit_codes),
                cmocka_unit_test(test_main_runs_the_handler),
                cmocka_unit_test(test_completion_scripts_name_every_command),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
