/* config-internal.h — the key table and the helpers config.c shares with config-toml.c (TOML layers)
 * and config-show.c (`config show`). Not for other modules: they use config.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

enum key_type {
        T_STRING,
        T_BOOL,
        T_INT,
        T_FLOAT,
        T_STRV,
        T_ENV,    /* defaults.environment: a table of strings */
        T_MOUNTS, /* mounts.default: an array of { host, container, readonly } tables */
};

enum {
        F_HOME = 1 << 0,     /* "~" expands to $HOME */
        F_RELATIVE = 1 << 1, /* relative to the directory of the file that sets it */
        F_UNION = 1 << 2,    /* a later file or profile adds missing entries instead of replacing */
};

struct key_def {
        const char *key;
        enum key_type type;
        size_t offset;
        const char *def; /* the default as a TOML value; NULL = empty */
        unsigned flags;
        const char *const *choices; /* allowed values of a string, NULL-terminated */
};

/* code-on-incus 0.8's keys in its order, and coi's own limits.best_effort, security.seccomp_profile and
 * monitoring.upload_threshold_mb (config.c); CONFIG_N_KEYS is checked against the table there. */
#define CONFIG_N_KEYS 70
extern const struct key_def *const config_keys;

#define FIELD(c, k, T) ((T *)((char *)(c) + (k)->offset))

/* Index of key in config_keys, -1 if there is none. */
int config_key_index(const char *key);
/* True if some key lives below prefix ("limits", "limits.cpu"). */
bool config_is_section(const char *prefix);
void config_mounts_clear(struct config_mount *v, size_t n);
int config_set_origin(struct config *c, size_t idx, const char *origin, struct coi_error *err);
/* "~" and "~/x" become $HOME and $HOME/x; anything else is copied. NULL: out of memory. */
char *config_expand_home(const char *path, const char *home);
/* The text a string key stores: "~" expanded, relative paths resolved, as its flags say. */
char *config_string_value(const struct key_def *k, const char *s, const char *home, const char *dir);
/* 0 if k has no choices or s is one of them, else -EINVAL with "<where>: must be one of …". */
int config_check_choice(const struct key_def *k, const char *s, const char *where, struct coi_error *err);
/* Replaces the string of key k with s (taken; NULL: out of memory). */
int config_store_string(struct config *c, const struct key_def *k, char *s, struct coi_error *err);
/* Replaces the list of key k with list (taken; NULL: the empty list). */
int config_store_strv(struct config *c, const struct key_def *k, char **list, struct coi_error *err);
int config_strv_add_unique(char ***strv, const char *s);
/* Sets (value NULL: removes) a defaults.environment entry. -ENOMEM. */
int config_env_set(struct config *c, const char *name, const char *value, const char *origin);
/* Appends a copy of m to mounts.default. -ENOMEM. */
int config_mount_add(struct config *c, const struct config_mount *m);
/* The pre-0.8 layouts code-on-incus 0.8.0 refuses (config-migrate.c): 0, or -EINVAL with every one root has
 * in one multi-line message, "config error in FILE:" (profile layer: "profile error in FILE:") and the fix. */
int config_check_old_layout(const struct toml_value *root, const char *file, enum config_layer layer,
                            struct coi_error *err);
