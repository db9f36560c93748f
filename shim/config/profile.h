/* profile.h — named profiles: ~/.coi/profiles/NAME/config.toml, ./.coi/profiles/NAME/config.toml and
 * $(dirname $COI_CONFIG)/profiles/NAME/config.toml, their inherits chains and how they apply to a config. */
#pragma once

#include "config.h"
#include "toml.h"

/* Chains are at most this many inherits deep (a -> b is one). */
#define PROFILE_MAX_INHERITS 10

struct profile {
        char *name;
        char *dir;      /* .../profiles/NAME */
        char *path;     /* .../profiles/NAME/config.toml */
        char *shown;    /* path as messages show it ("~/.coi/profiles/NAME/config.toml") */
        char *inherits; /* NULL if none */
        struct toml_pos inherits_pos;
        char *context; /* absolute (relative to dir), NULL if none */
        struct toml_value *doc;
};

struct profile_set {
        struct profile *v;
        size_t n;
        char *home;
};

/* Scans the profile directories. Every profile is parsed and checked (unknown keys, types) now, so a
 * broken profile is reported with file:line:col whichever one is used. The same name in two places is an
 * error, and so is an inherits cycle anywhere. coi_config may be NULL. */
int profile_set_load(const char *home, const char *workdir, const char *coi_config, struct profile_set **ret,
                     struct coi_error *err);
void profile_set_free(struct profile_set *s);
static inline void profile_set_freep(struct profile_set **s)
{
        profile_set_free(*s);
}

const struct profile *profile_find(const struct profile_set *s, const char *name);

/* Merges name's chain, root ancestor first, into an overlay holding only what the profiles set
 * (maps merge with the child winning and "" removing a key, arrays replace, sections merge key by key),
 * and the context files of the chain (the nearest profile's `context` wins, as in code-on-incus).
 * "default" without a directory of its own is the built-in profile: an empty overlay. */
int profile_resolve(const struct profile_set *s, const char *name, struct config **ret_overlay,
                    char ***ret_contexts, struct coi_error *err);

/* Resolves name and lays it over c (environment merges, forward_env adds, mounts append, the rest
 * replaces); sets c->profile and c->context_files. */
int profile_apply(struct config *c, const struct profile_set *s, const char *name, struct coi_error *err);

/* Rejects names that can't be a directory name: empty, with '/', or only dots. */
int profile_name_check(const char *name, struct coi_error *err);
