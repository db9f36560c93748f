/* config-load.c — code-on-incus 0.8's precedence: built-in defaults, then ~/.coi/config.toml, the
 * project's .coi/config.toml and $COI_CONFIG, then the profile, then COI_* environment variables. */
#include <errno.h>
#include <unistd.h>

#include "config-internal.h"
#include "profile.h"
#include "util.h"

int config_load(const struct config_load_options *opts, struct config **ret, struct coi_error *err)
{
        struct config_load_options o = opts ? *opts : (struct config_load_options){ 0 };
        char cwd[4096];
        if (!o.home)
                o.home = env_get(o.environ, "HOME");
        if (!o.home)
                return coi_error_set(err, ENOENT, "HOME is not set: cannot find ~/.coi");
        if (!o.workdir) {
                if (!getcwd(cwd, sizeof(cwd)))
                        return coi_error_set(err, errno, "current directory: %m");
                o.workdir = cwd;
        }

        _cleanup_free_ char *legacy = xasprintf("%s/.coi.toml", o.workdir);
        _cleanup_free_ char *user = xasprintf("%s/.coi/config.toml", o.home);
        _cleanup_free_ char *project = xasprintf("%s/.coi/config.toml", o.workdir);
        if (!legacy || !user || !project)
                return coi_error_set(err, ENOMEM, "config paths: %m");
        if (access(legacy, F_OK) == 0) {
                _cleanup_free_ char *shown = config_display_path(o.workdir, o.home);
                return coi_error_set(
                        err, EINVAL,
                        "found .coi.toml in project root (%s). As of code-on-incus 0.8, project config "
                        "must be placed in .coi/config.toml. Please move your config: mkdir -p .coi "
                        "&& mv .coi.toml .coi/config.toml",
                        shown ? shown : o.workdir);
        }

        _cleanup_(config_freep) struct config *c = NULL;
        int r = config_new_defaults(o.home, &c, err);
        if (r < 0)
                return r;
        const char *env_config = env_get(o.environ, "COI_CONFIG");
        const char *files[] = { user, streq(project, user) ? NULL : project,
                                env_config && env_config[0] ? env_config : NULL };
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                bool again = false; /* the same file twice would append its mounts twice */
                for (size_t j = 0; j < i; j++)
                        again = again || (files[i] && files[j] && streq(files[i], files[j]));
                if (!files[i] || again)
                        continue;
                r = config_apply_file(c, files[i], o.home, err);
                if (r < 0 && r != -ENOENT)
                        return r;
        }
        /* Every profile is read and checked, used or not: a broken one (a pre-0.8 layout, an unknown key)
         * fails every command, as in code-on-incus. */
        _cleanup_(profile_set_freep) struct profile_set *set = NULL;
        r = profile_set_load(o.home, o.workdir, env_config, &set, err);
        if (r < 0)
                return r;
        if (o.profile && !streq(o.profile, "default")) {
                r = profile_apply(c, set, o.profile, err);
                if (r < 0)
                        return r;
        }
        r = config_apply_env(c, o.environ, o.home, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}
