/* test-config.c — coi's configuration: defaults, the precedence of files, environment and flags with each
 * value's origin, unknown keys and wrong types, pre-0.8 layouts, profiles (inherits, merge, "" clearing,
 * cycles, depth) and `config show` output read back. Every test gets its own temporary HOME and workspace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "config/config.h"
#include "config/profile.h"
#include "config/toml.h"
#include "util.h"

struct env {
        char root[64];
        char home[128];
        char ws[128];
        char *vars[8]; /* NAME=VALUE, NULL-terminated */
};

static int setup(void **state)
{
        struct env *e = calloc(1, sizeof(*e));
        snprintf(e->root, sizeof(e->root), "/tmp/coi-test-config-XXXXXX");
        assert_non_null(mkdtemp(e->root));
        snprintf(e->home, sizeof(e->home), "%s/home", e->root);
        snprintf(e->ws, sizeof(e->ws), "%s/ws", e->root);
        assert_int_equal(mkdir(e->home, 0755), 0);
        assert_int_equal(mkdir(e->ws, 0755), 0);
        /* Nothing may fall back to the real ~/.coi. */
        setenv("HOME", e->home, 1);
        *state = e;
        return 0;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
        (void)st;
        (void)f;
        return type == FTW_DP ? rmdir(path) : unlink(path);
}

static int teardown(void **state)
{
        struct env *e = *state;
        nftw(e->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        for (char **v = e->vars; *v; v++)
                free(*v);
        free(e);
        return 0;
}

static void setvar(struct env *e, const char *nv)
{
        size_t n = 0;
        while (e->vars[n])
                n++;
        assert_true(n + 1 < ELEMENTSOF(e->vars));
        e->vars[n] = strdup(nv);
}

/* Writes dir/rel (creating directories) and returns its path as coi shows it, "~/" for $HOME, in a
 * static buffer. */
static const char *put(const char *dir, const char *rel, const char *text)
{
        static char path[512], shown[512];
        const char *home = getenv("HOME");
        struct coi_error err = { 0 };
        snprintf(path, sizeof(path), "%s/%s", dir, rel);
        char *slash = strrchr(path, '/');
        *slash = '\0';
        assert_int_equal(mkdir_p_at(AT_FDCWD, path, 0755, &err), 0);
        *slash = '/';
        assert_int_equal(write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0644, &err), 0);
        if (startswith(path, home) && path[strlen(home)] == '/')
                snprintf(shown, sizeof(shown), "~%s", path + strlen(home));
        else
                snprintf(shown, sizeof(shown), "%s", path);
        return shown;
}

static struct config *load(struct env *e, const char *profile)
{
        struct coi_error err = { 0 };
        struct config *c = NULL;
        static char *empty[] = { NULL };
        struct config_load_options o = { e->home, e->ws, e->vars[0] ? e->vars : empty, profile };
        if (config_load(&o, &c, &err) < 0)
                fail_msg("config_load: %s", err.msg);
        return c;
}

/* Loading must fail; returns the message. */
static const char *load_error(struct env *e, const char *profile)
{
        static struct coi_error err;
        struct config *c = NULL;
        static char *empty[] = { NULL };
        struct config_load_options o = { e->home, e->ws, e->vars[0] ? e->vars : empty, profile };
        memset(&err, 0, sizeof(err));
        if (config_load(&o, &c, &err) >= 0)
                fail_msg("config_load accepted the configuration");
        assert_null(c);
        return err.msg;
}

static void assert_origin(const struct config *c, const char *key, const char *want)
{
        const char *o = config_origin(c, key);
        assert_non_null(o);
        assert_string_equal(o, want);
}

#define xfmt(fmt, a)                                                                                         \
        ({                                                                                                   \
                char *_s = xasprintf(fmt, a);                                                                \
                assert_non_null(_s);                                                                         \
                _s;                                                                                          \
        })

static void test_defaults(void **state)
{
        struct env *e = *state;
        _cleanup_(config_freep) struct config *c = load(e, NULL);
        _cleanup_free_ char *sessions = xfmt("%s/.coi/sessions", e->home);
        assert_string_equal(c->container.image, "coi-default");
        assert_false(c->container.persistent);
        assert_string_equal(c->network.mode, "restricted");
        assert_true(c->network.block_private_networks);
        assert_int_equal(c->network.refresh_interval_minutes, 30);
        assert_string_equal(c->paths.sessions_dir, sessions);
        assert_string_equal(c->security.protected_paths[0], ".git/hooks");
        assert_true(c->monitoring.file_read_threshold_mb == 50.0);
        assert_int_equal(c->mounts.n_default, 0);
        assert_origin(c, "container.image", "default");
        assert_origin(c, "limits.memory.enforce", "default");
        assert_null(config_origin(c, "container.imgae"));
}

/* Each layer overrides the previous one and says so in the origin. */
static void test_precedence(void **state)
{
        struct env *e = *state;
        _cleanup_free_ char *user = strdup(put(e->home, ".coi/config.toml",
                                               "# user\n[container]\nimage = \"u\"\n"
                                               "storage_pool = \"pool-u\"\n"));
        {
                _cleanup_(config_freep) struct config *c = load(e, NULL);
                _cleanup_free_ char *o = xfmt("%s:3", user);
                assert_string_equal(c->container.image, "u");
                assert_origin(c, "container.image", o);
        }
        _cleanup_free_ char *proj =
                strdup(put(e->ws, ".coi/config.toml", "[container]\n\n\nimage = \"p\"\n"));
        {
                _cleanup_(config_freep) struct config *c = load(e, NULL);
                _cleanup_free_ char *o = xfmt("%s:4", proj);
                _cleanup_free_ char *ou = xfmt("%s:4", user);
                assert_string_equal(c->container.image, "p");
                assert_origin(c, "container.image", o);
                /* what the project file does not set keeps the user file's value */
                assert_string_equal(c->container.storage_pool, "pool-u");
                assert_origin(c, "container.storage_pool", ou);
        }
        _cleanup_free_ char *explicit = strdup(put(e->root, "explicit.toml", "container.image = \"x\"\n"));
        _cleanup_free_ char *var = xfmt("COI_CONFIG=%s", explicit);
        setvar(e, var);
        {
                _cleanup_(config_freep) struct config *c = load(e, NULL);
                _cleanup_free_ char *o = xfmt("%s:1", explicit);
                assert_string_equal(c->container.image, "x");
                assert_origin(c, "container.image", o);
        }
        setvar(e, "CLAUDE_ON_INCUS_IMAGE=from-env");
        _cleanup_(config_freep) struct config *c = load(e, NULL);
        assert_string_equal(c->container.image, "from-env");
        assert_origin(c, "container.image", "env CLAUDE_ON_INCUS_IMAGE");

        struct coi_error err = { 0 };
        assert_int_equal(config_set_from_flag(c, "container.image", "from-flag", "--image", &err), 0);
        assert_string_equal(c->container.image, "from-flag");
        assert_origin(c, "container.image", "flag --image");
}

static void test_env_vars(void **state)
{
        struct env *e = *state;
        setvar(e, "COI_LIMIT_MEMORY=2GiB");
        setvar(e, "COI_LIMIT_DURATION=");            /* empty: ignored */
        setvar(e, "CLAUDE_ON_INCUS_PERSISTENT=yes"); /* only true/1 count */
        setvar(e, "COI_IMAGE=not-read");             /* code-on-incus reads no such variable */
        setvar(e, "CLAUDE_ON_INCUS_SESSIONS_DIR=~/elsewhere");
        {
                _cleanup_(config_freep) struct config *c = load(e, NULL);
                _cleanup_free_ char *dir = xfmt("%s/elsewhere", e->home);
                assert_string_equal(c->limits.memory.limit, "2GiB");
                assert_origin(c, "limits.memory.limit", "env COI_LIMIT_MEMORY");
                assert_string_equal(c->limits.runtime.max_duration, "");
                assert_origin(c, "limits.runtime.max_duration", "default");
                assert_false(c->container.persistent);
                assert_string_equal(c->container.image, "coi-default");
                assert_string_equal(c->paths.sessions_dir, dir);
        }
        free(e->vars[2]);
        e->vars[2] = strdup("CLAUDE_ON_INCUS_PERSISTENT=1");
        _cleanup_(config_freep) struct config *c = load(e, NULL);
        assert_true(c->container.persistent);
        assert_origin(c, "container.persistent", "env CLAUDE_ON_INCUS_PERSISTENT");
}

/* ~/.coi/config.toml holding toml makes config_load fail with "<its path>:<want>". */
static void assert_user_config_error(struct env *e, const char *toml, const char *want)
{
        const char *p = put(e->home, ".coi/config.toml", toml);
        _cleanup_free_ char *full = xasprintf("%s:%s", p, want);
        assert_non_null(full);
        assert_string_equal(load_error(e, NULL), full);
}

static void test_unknown_keys(void **state)
{
        static const struct {
                const char *toml, *want;
        } cases[] = {
                { "# mine\n[container]\nimgae = \"x\"\n",
                  "3:1: unknown key \"imgae\" in [container] (did you mean \"image\"?)" },
                { "[contaner]\nimage = \"x\"\n",
                  "1:2: unknown key \"contaner\" (did you mean \"container\"?)" },
                { "[limits.cpu]\ncuont = \"2\"\n",
                  "2:1: unknown key \"cuont\" in [limits.cpu] (did you mean \"count\"?)" },
                /* nothing close: no guess */
                { "[network]\nfirewall_backend = \"nft\"\n",
                  "2:1: unknown key \"firewall_backend\" in [network]" },
                { "[[mounts.default]]\nhots = \"/a\"\ncontainer = \"/b\"\n",
                  "2:1: unknown key \"hots\" in [[mounts.default]] (did you mean \"host\"?)" },
        };
        struct env *e = *state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                assert_user_config_error(e, cases[i].toml, cases[i].want);
}

/* The layouts code-on-incus 0.8.0 refuses: every problem of a file in one message, in upstream's words,
 * with the lines to write instead. */
static void test_old_layouts(void **state)
{
        struct env *e = *state;
        const char *p = put(e->home, ".coi/config.toml",
                            "[defaults]\nmodel = \"m\"\nimage = \"old\"\npersistent = true\n"
                            "[build]\nscript = \"b.sh\"\ncommands = [\"a\", \"b\\\"c\"]\n");
        _cleanup_free_ char *want = xfmt("config error in %s:\n"
                                         "  [defaults] image = \"old\" is no longer supported in 0.8.0.\n"
                                         "  Move it under [container]:\n"
                                         "\n"
                                         "      [container]\n"
                                         "      image = \"old\"\n"
                                         "\n"
                                         "  [defaults] persistent = true is no longer supported in 0.8.0.\n"
                                         "  Move it under [container]:\n"
                                         "\n"
                                         "      [container]\n"
                                         "      persistent = true\n"
                                         "\n"
                                         "  Top-level [build] is no longer supported in 0.8.0.\n"
                                         "  Move it under [container.build]:\n"
                                         "\n"
                                         "      [container.build]\n"
                                         "      script = \"b.sh\"\n"
                                         "      commands = [\"a\", \"b\\\"c\"]",
                                         p);
        assert_string_equal(load_error(e, NULL), want);

        /* one problem alone, in the project's file and in $COI_CONFIG */
        put(e->home, ".coi/config.toml", "");
        p = put(e->ws, ".coi/config.toml", "[defaults]\npersistent = false\n");
        const char *msg = load_error(e, NULL);
        _cleanup_free_ char *head = xfmt("config error in %s:\n", p);
        assert_true(startswith(msg, head));
        assert_non_null(strstr(msg, "  [defaults] persistent = false is no longer supported in 0.8.0.\n"));
        assert_null(strstr(msg, "image"));
        put(e->ws, ".coi/config.toml", "");
        _cleanup_free_ char *explicit = strdup(put(e->root, "explicit.toml", "[build]\nbase = \"coi\"\n"));
        _cleanup_free_ char *var = xfmt("COI_CONFIG=%s", explicit);
        setvar(e, var);
        msg = load_error(e, NULL);
        assert_non_null(strstr(msg, "config error in "));
        assert_non_null(strstr(msg, "Top-level [build] is no longer supported in 0.8.0.\n"
                                    "  Move it under [container.build]:\n\n      [container.build]\n"
                                    "      base = \"coi\""));
        put(e->root, "explicit.toml", "");

        /* a profile's root-level keys; the profile need not be the one used */
        p = put(e->home, ".coi/profiles/old/config.toml",
                "image = \"x\"\npersistent = true\n[build]\nbase = \"coi\"\n");
        _cleanup_free_ char *pwant = xfmt("profile error in %s:\n"
                                          "  Root-level image = \"x\" is no longer supported in 0.8.0.\n"
                                          "  Move it under [container]:\n"
                                          "\n"
                                          "      [container]\n"
                                          "      image = \"x\"\n"
                                          "\n"
                                          "  Root-level persistent = true is no longer supported in 0.8.0.\n"
                                          "  Move it under [container]:\n"
                                          "\n"
                                          "      [container]\n"
                                          "      persistent = true\n"
                                          "\n"
                                          "  Root-level [build] is no longer supported in 0.8.0.\n"
                                          "  Move it under [container.build]:\n"
                                          "\n"
                                          "      [container.build]\n"
                                          "      base = \"coi\"",
                                          p);
        assert_string_equal(load_error(e, NULL), pwant);
        put(e->home, ".coi/profiles/other/config.toml", "[container]\nimage = \"y\"\n");
        assert_string_equal(load_error(e, "other"), pwant);
        /* the new places load */
        put(e->home, ".coi/profiles/old/config.toml",
            "[container]\nimage = \"x\"\n[container.build]\nbase = \"coi\"\n");
        _cleanup_(config_freep) struct config *c = load(e, "old");
        assert_string_equal(c->container.image, "x");
        assert_string_equal(c->container.build.base, "coi");

        /* the pre-0.8 project file, whatever it holds */
        put(e->ws, ".coi.toml", "");
        msg = load_error(e, NULL);
        assert_true(startswith(msg, "found .coi.toml in project root"));
        assert_non_null(strstr(msg, "must be placed in .coi/config.toml"));
        assert_non_null(strstr(msg, "mkdir -p .coi && mv .coi.toml .coi/config.toml"));
}

static void test_wrong_types(void **state)
{
        static const struct {
                const char *toml, *want;
        } cases[] = {
                { "[container]\npersistent = \"yes\"\n",
                  "2:14: [container] persistent: expected a boolean, got string" },
                { "[network]\nallowed_domains = [\"a.com\", 3]\n",
                  "2:29: [network] allowed_domains: expected an array of strings, got integer" },
                { "[limits.cpu]\npriority = 1.5\n",
                  "2:12: [limits.cpu] priority: expected an integer, got float" },
                { "limits = 3\n", "1:10: limits: expected a table, got integer" },
                { "[network]\nmode = \"closed\"\n",
                  "2:8: [network] mode: must be one of restricted, allowlist, open, got \"closed\"" },
                { "[network]\nmode = \"\"\n",
                  "2:8: [network] mode: must be one of restricted, allowlist, open, got \"\"" },
                /* a quoted key with a dot is one name, not a path */
                { "\"container.image\" = \"x\"\n", "1:1: unknown key \"container.image\"" },
        };
        struct env *e = *state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                assert_user_config_error(e, cases[i].toml, cases[i].want);

        /* a syntax error keeps the parser's file:line:col */
        const char *p = put(e->home, ".coi/config.toml", "[container\n");
        assert_true(startswith(load_error(e, NULL), p));

        /* floats take integers */
        put(e->home, ".coi/config.toml", "[monitoring]\nfile_read_threshold_mb = 7\n");
        _cleanup_(config_freep) struct config *c = load(e, NULL);
        assert_true(c->monitoring.file_read_threshold_mb == 7.0);
}

static void test_file_merge(void **state)
{
        struct env *e = *state;
        _cleanup_free_ char *u = strdup(
                put(e->home, ".coi/config.toml",
                    "[defaults]\nforward_env = [\"A\", \"B\"]\nenvironment = { X = \"1\", Y = \"2\" }\n"
                    "[[mounts.default]]\nhost = \"~/.aws\"\ncontainer = \"/home/code/.aws\"\n"
                    "readonly = true\n"));
        _cleanup_free_ char *p =
                strdup(put(e->ws, ".coi/config.toml",
                           "[defaults]\nforward_env = [\"B\", \"C\"]\nenvironment = { Y = \"3\" }\n"
                           "[[mounts.default]]\nhost = \"/data\"\ncontainer = \"/data\"\n"));
        _cleanup_(config_freep) struct config *c = load(e, NULL);
        assert_int_equal(strv_length(c->defaults.forward_env), 3);
        assert_string_equal(c->defaults.forward_env[2], "C");
        assert_int_equal(c->defaults.n_environment, 2);
        assert_string_equal(c->defaults.environment[0].name, "X");
        assert_string_equal(c->defaults.environment[1].value, "3");
        _cleanup_free_ char *oy = xfmt("%s:3", p);
        assert_string_equal(c->defaults.environment[1].origin, oy);
        assert_int_equal(c->mounts.n_default, 2);
        _cleanup_free_ char *aws = xfmt("%s/.aws", e->home);
        assert_string_equal(c->mounts.default_[0].host, aws);
        assert_true(c->mounts.default_[0].readonly);
        _cleanup_free_ char *om = xfmt("%s:4", u);
        assert_string_equal(c->mounts.default_[0].origin, om);
        assert_string_equal(c->mounts.default_[1].host, "/data");

        /* $COI_CONFIG naming the project file does not apply it twice */
        _cleanup_free_ char *var = xfmt("COI_CONFIG=%s/.coi/config.toml", e->ws);
        setvar(e, var);
        _cleanup_(config_freep) struct config *c2 = load(e, NULL);
        assert_int_equal(c2->mounts.n_default, 2);
        /* a file sets "" as a value (only a profile's "" removes an inherited variable) */
        put(e->ws, ".coi/config.toml", "[defaults]\nenvironment = { X = \"\" }\n");
        _cleanup_(config_freep) struct config *c3 = load(e, NULL);
        assert_int_equal(c3->defaults.n_environment, 2);
        assert_string_equal(c3->defaults.environment[0].value, "");
}

static void test_profile_inherits(void **state)
{
        struct env *e = *state;
        put(e->home, ".coi/config.toml", "[defaults]\nenvironment = { GLOBAL = \"g\" }\n");
        const char *b = put(e->home, ".coi/profiles/base/config.toml",
                            "environment = { A = \"1\", B = \"2\" }\nforward_env = [\"TOKEN\"]\n"
                            "[[mounts]]\nhost = \"/m1\"\ncontainer = \"/m1\"\n"
                            "[limits.cpu]\ncount = \"2\"\npriority = 5\n"
                            "[container]\nimage = \"base-img\"\n[container.build]\nscript = \"build.sh\"\n");
        _cleanup_free_ char *base = strdup(b);
        const char *ch = put(e->ws, ".coi/profiles/child/config.toml",
                             "inherits = \"base\"\ncontext = \"CONTEXT.md\"\n"
                             "environment = { B = \"\", C = \"3\" }\n"
                             "[[mounts]]\nhost = \"/m2\"\ncontainer = \"/m2\"\n"
                             "[limits.cpu]\ncount = \"4\"\n");
        _cleanup_free_ char *child = strdup(ch);
        _cleanup_(config_freep) struct config *c = load(e, "child");

        /* maps merge, the child wins, "" removes */
        assert_int_equal(c->defaults.n_environment, 3);
        assert_string_equal(c->defaults.environment[0].name, "GLOBAL");
        assert_string_equal(c->defaults.environment[1].name, "A");
        assert_string_equal(c->defaults.environment[2].name, "C");
        /* arrays replace within the chain: only the child's mount */
        assert_int_equal(c->mounts.n_default, 1);
        assert_string_equal(c->mounts.default_[0].host, "/m2");
        /* sections merge key by key */
        assert_string_equal(c->limits.cpu.count, "4");
        assert_int_equal(c->limits.cpu.priority, 5);
        _cleanup_free_ char *oc = xfmt("%s:8", child);
        _cleanup_free_ char *op = xfmt("%s:8", base);
        assert_origin(c, "limits.cpu.count", oc);
        assert_origin(c, "limits.cpu.priority", op);
        assert_string_equal(c->container.image, "base-img");
        _cleanup_free_ char *script = xfmt("%s/.coi/profiles/base/build.sh", e->home);
        assert_string_equal(c->container.build.script, script);
        assert_string_equal(c->defaults.forward_env[0], "TOKEN");
        /* context resolved against the profile's directory */
        _cleanup_free_ char *ctx = xfmt("%s/.coi/profiles/child/CONTEXT.md", e->ws);
        assert_int_equal(strv_length(c->context_files), 1);
        assert_string_equal(c->context_files[0], ctx);
        assert_string_equal(c->profile, "child");

        /* environment variables still beat the profile */
        setvar(e, "CLAUDE_ON_INCUS_IMAGE=env-img");
        _cleanup_(config_freep) struct config *c2 = load(e, "child");
        assert_string_equal(c2->container.image, "env-img");
}

static void test_profile_cycle(void **state)
{
        struct env *e = *state;
        const char *a = put(e->home, ".coi/profiles/a/config.toml", "inherits = \"b\"\n");
        _cleanup_free_ char *pa = strdup(a);
        const char *b = put(e->home, ".coi/profiles/b/config.toml", "\ninherits = \"a\"\n");
        _cleanup_free_ char *want =
                xfmt("%s:2:1: profile inheritance cycle detected involving \"a\": a -> b -> a", b);
        assert_string_equal(load_error(e, "a"), want);
        /* a cycle fails loading even when no profile is applied, as in code-on-incus */
        assert_string_equal(load_error(e, NULL), want);
        put(e->home, ".coi/profiles/b/config.toml", "");

        put(e->home, ".coi/profiles/self/config.toml", "inherits = \"self\"\n");
        assert_non_null(strstr(load_error(e, "self"), "cycle detected involving \"self\": self -> self"));
        put(e->home, ".coi/profiles/self/config.toml", "");

        /* a missing parent only matters to the profile that is applied */
        put(e->home, ".coi/profiles/orphan/config.toml", "inherits = \"nope\"\n");
        assert_non_null(
                strstr(load_error(e, "orphan"), "inherits from \"nope\", but there is no profile \"nope\""));
        config_free(load(e, NULL));
        assert_string_equal(load_error(e, "missing"), "profile 'missing' not found");
        (void)pa;
}

static void test_profile_depth(void **state)
{
        struct env *e = *state;
        /* p0 -> p1 -> ... -> p10: ten inherits, allowed */
        for (int i = 0; i <= 10; i++) {
                char rel[64], text[64];
                snprintf(rel, sizeof(rel), ".coi/profiles/p%d/config.toml", i);
                if (i < 10)
                        snprintf(text, sizeof(text), "inherits = \"p%d\"\n", i + 1);
                else
                        snprintf(text, sizeof(text), "[container]\nimage = \"deep\"\n");
                put(e->home, rel, text);
        }
        {
                _cleanup_(config_freep) struct config *c = load(e, "p0");
                assert_string_equal(c->container.image, "deep");
        }
        /* one more level is refused */
        put(e->home, ".coi/profiles/p10/config.toml", "inherits = \"p11\"\n");
        put(e->home, ".coi/profiles/p11/config.toml", "");
        const char *msg = load_error(e, "p0");
        assert_non_null(strstr(msg, "deeper than 10"));
        assert_non_null(strstr(msg, "p0 -> p1 -> p2"));
        assert_non_null(strstr(msg, "p10 -> p11"));
}

static void test_profile_errors(void **state)
{
        struct env *e = *state;
        const char *p = put(e->home, ".coi/profiles/bad/config.toml", "[containr]\nimage = \"x\"\n");
        _cleanup_free_ char *want = xfmt("%s:1:2: unknown key \"containr\" (did you mean \"container\"?)", p);
        assert_string_equal(load_error(e, "bad"), want);

        /* [defaults] is not a profile section; its keys are top-level there */
        p = put(e->home, ".coi/profiles/bad/config.toml", "[defaults]\nmodel = \"x\"\n");
        assert_non_null(strstr(load_error(e, "bad"), "unknown key \"defaults\""));

        /* the same name in two places is ambiguous */
        put(e->home, ".coi/profiles/bad/config.toml", "");
        put(e->ws, ".coi/profiles/bad/config.toml", "");
        _cleanup_free_ char *where =
                xasprintf("profile \"bad\" defined in multiple locations:\n"
                          "  %s/.coi/profiles/bad/config.toml\n  %s/.coi/profiles/bad/config.toml\n",
                          e->home, e->ws);
        assert_non_null(where);
        assert_non_null(strstr(load_error(e, "bad"), where));
}

/* `config show` text is TOML: read it back and lay it over an empty config. */
static void test_show_text(void **state)
{
        struct env *e = *state;
        put(e->home, ".coi/config.toml",
            "[container]\nimage = \"img \\\"q\\\"\"\n[defaults]\nenvironment = { \"WEIRD-NAME.x\" = \"v\", B "
            "= \"\" }\n"
            "[[mounts.default]]\nhost = \"/h\"\ncontainer = \"/c\"\n[monitoring]\nfile_read_rate_mb_per_sec "
            "= 2.5\n");
        _cleanup_(config_freep) struct config *c = load(e, NULL);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        assert_int_equal(config_show(c, f, CONFIG_SHOW_TEXT, false), 0);
        fclose(f);
        _cleanup_free_ char *text = buf;
        const char *line = "container.image = \"img \\\"q\\\"\"  # ~/.coi/config.toml:2\n";
        assert_non_null(strstr(text, line));
        assert_non_null(strstr(text, "network.mode = \"restricted\"  # default\n"));

        struct toml_value *root = NULL;
        struct coi_error err = { 0 };
        if (toml_parse(text, len, "show", &root, &err) < 0)
                fail_msg("show output is not TOML: %s\n%s", err.msg, text);
        _cleanup_(config_freep) struct config *back = NULL;
        assert_int_equal(config_new_empty(&back, &err), 0);
        if (config_apply_toml(back, root, "show", e->home, CONFIG_LAYER_FILE, &err) < 0)
                fail_msg("%s", err.msg);
        toml_value_free(root);
        assert_string_equal(back->container.image, "img \"q\"");
        assert_int_equal(back->defaults.n_environment, 2);
        assert_string_equal(back->defaults.environment[0].name, "WEIRD-NAME.x");
        assert_int_equal(back->mounts.n_default, 1);
        assert_true(back->monitoring.file_read_rate_mb_per_sec == 2.5);
        assert_int_equal(strv_length(back->network.allowed_domains), strv_length(c->network.allowed_domains));
        assert_int_equal(back->incus.code_uid, 1000);
}

static void test_show_json(void **state)
{
        struct env *e = *state;
        put(e->home, ".coi/config.toml", "[ssh]\nforward_agent = true\n");
        setvar(e, "COI_LIMIT_CPU=3");
        _cleanup_(config_freep) struct config *c = load(e, NULL);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        assert_int_equal(config_show(c, f, CONFIG_SHOW_JSON, false), 0);
        fclose(f);
        _cleanup_free_ char *text = buf;
        char errbuf[256];
        yajl_val root = yajl_tree_parse(text, errbuf, sizeof(errbuf));
        if (!root)
                fail_msg("show --format json is not JSON: %s\n%s", errbuf, text);
        const char *pv[] = { "ssh.forward_agent", "value", NULL };
        const char *ps[] = { "ssh.forward_agent", "source", NULL };
        const char *cv[] = { "limits.cpu.count", "value", NULL };
        const char *cs[] = { "limits.cpu.count", "source", NULL };
        assert_true(YAJL_IS_TRUE(yajl_tree_get(root, pv, yajl_t_any)));
        assert_string_equal(YAJL_GET_STRING(yajl_tree_get(root, ps, yajl_t_string)), "~/.coi/config.toml:2");
        assert_string_equal(YAJL_GET_STRING(yajl_tree_get(root, cv, yajl_t_string)), "3");
        assert_string_equal(YAJL_GET_STRING(yajl_tree_get(root, cs, yajl_t_string)), "env COI_LIMIT_CPU");
        yajl_tree_free(root);
}

static void test_flags(void **state)
{
        struct env *e = *state;
        _cleanup_(config_freep) struct config *c = load(e, NULL);
        struct coi_error err = { 0 };
        assert_int_equal(config_set_from_flag(c, "container.persistent", "true", "--persistent", &err), 0);
        assert_true(c->container.persistent);
        assert_int_equal(config_set_from_flag(c, "container.persistent", "maybe", "--persistent", &err),
                         -EINVAL);
        assert_string_equal(
                err.msg,
                "flag --persistent: container.persistent expects a boolean (true/false), got \"maybe\"");
        assert_int_equal(config_set_from_flag(c, "network.mode", "closed", "--network", &err), -EINVAL);
        assert_int_equal(config_set_from_flag(c, "network.mode", "open", "--network", &err), 0);
        assert_int_equal(config_set_from_flag(c, "container.imag", "x", "--image", &err), -EINVAL);
        assert_int_equal(config_set_from_flag(c, "mounts.default", "/a:/b:ro", "--mount", &err), 0);
        assert_int_equal(c->mounts.n_default, 1);
        assert_true(c->mounts.default_[0].readonly);
        assert_string_equal(c->mounts.default_[0].origin, "flag --mount");
        assert_int_equal(config_set_from_flag(c, "defaults.environment", "K=v=w", "-e", &err), 0);
        assert_string_equal(c->defaults.environment[0].value, "v=w");
        assert_int_equal(config_set_from_flag(c, "limits.cpu.priority", "7", "--cpu-priority", &err), 0);
        assert_int_equal(c->limits.cpu.priority, 7);
}

static void test_suggest(void **state)
{
        (void)state;
        const char *const c[] = { "image", "persistent", "storage_pool", "build" };
        assert_string_equal(config_suggest("imgae", c, 4), "image");
        assert_string_equal(config_suggest("persistant", c, 4), "persistent");
        assert_string_equal(config_suggest("storagepool", c, 4), "storage_pool");
        assert_null(config_suggest("zzz", c, 4));
        assert_null(config_suggest("bx", c, 4));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
                cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
                cmocka_unit_test_setup_teardown(test_env_vars, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unknown_keys, setup, teardown),
                cmocka_unit_test_setup_teardown(test_old_layouts, setup, teardown),
                cmocka_unit_test_setup_teardown(test_wrong_types, setup, teardown),
                cmocka_unit_test_setup_teardown(test_file_merge, setup, teardown),
                cmocka_unit_test_setup_teardown(test_profile_inherits, setup, teardown),
                cmocka_unit_test_setup_teardown(test_profile_cycle, setup, teardown),
                cmocka_unit_test_setup_teardown(test_profile_depth, setup, teardown),
                cmocka_unit_test_setup_teardown(test_profile_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_show_text, setup, teardown),
                cmocka_unit_test_setup_teardown(test_show_json, setup, teardown),
                cmocka_unit_test_setup_teardown(test_flags, setup, teardown),
                cmocka_unit_test(test_suggest),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
