/* config.h — coi's configuration as a plain struct: the code-on-incus 0.8 keys, their defaults, the
 * layers that set them (files, profile, environment, flags) and where each value came from. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "coi-runtime.h"

struct toml_value;

/* One [defaults] environment entry. */
struct config_env {
        char *name;
        char *value;
        char *origin;
};

/* One [[mounts.default]] entry. */
struct config_mount {
        char *host; /* "~" expanded */
        char *container;
        bool readonly;
        char *origin;
};

struct config {
        struct {
                char *image;
                bool persistent;
                char *storage_pool;
                struct {
                        char *base;
                        char *script; /* relative paths resolved against the file's directory */
                        char **commands;
                } build;
        } container;
        struct {
                char *model;
                char **forward_env;
                struct config_env *environment;
                size_t n_environment;
        } defaults;
        struct {
                char *sessions_dir;
                char *storage_dir;
                char *logs_dir;
                bool preserve_workspace_path;
        } paths;
        struct {
                char *project;
                char *group;
                int64_t code_uid;
                char *code_user;
                bool disable_shift;
        } incus;
        struct {
                char *mode; /* "restricted", "allowlist" or "open" */
                bool block_private_networks;
                bool block_metadata_endpoint;
                char **allowed_domains;
                int64_t refresh_interval_minutes;
                bool allow_local_network_access;
                struct {
                        bool enabled;
                        char *path;
                } logging;
        } network;
        struct {
                char *name;
                char *binary;
                char *permission_mode; /* "bypass" or "interactive" */
                char *context_file;
                bool auto_context;
                struct {
                        char *effort_level;
                } claude;
        } tool;
        struct {
                struct config_mount *default_;
                size_t n_default;
        } mounts;
        struct {
                struct {
                        char *count;
                        char *allowance;
                        int64_t priority;
                } cpu;
                struct {
                        char *limit;
                        char *enforce;
                        char *swap;
                } memory;
                struct {
                        char *read;
                        char *write;
                        char *max;
                        int64_t priority;
                        char *tmpfs_size;
                } disk;
                struct {
                        char *max_duration;
                        int64_t max_processes;
                        bool auto_stop;
                        bool stop_graceful;
                } runtime;
                bool best_effort; /* coi's own: a cgroup controller the host lacks warns, not fails */
        } limits;
        struct {
                bool writable_hooks;
        } git;
        struct {
                bool forward_agent;
        } ssh;
        struct {
                char **protected_paths;
                char **additional_protected_paths;
                bool disable_protection;
                char *seccomp_profile; /* coi's own: "auto", "default", "strict" or a path */
        } security;
        struct {
                bool enabled;
                bool auto_pause_on_high;
                bool auto_kill_on_critical;
                int64_t poll_interval_sec;
                double file_read_threshold_mb;
                double file_read_rate_mb_per_sec;
                double upload_threshold_mb; /* coi's own: MB sent within 10 s that freezes */
                int64_t audit_log_retention_days;
                struct {
                        bool enabled;
                        int64_t rate_limit_per_second;
                        int64_t dns_query_threshold;
                        bool log_dns_queries;
                        char *lima_host;
                } nft;
        } monitoring;
        struct {
                char *mode; /* "host", "fixed" or "utc" */
                char *name;
        } timezone;

        /* The profile applied by config_load (NULL if none) and its context files, resolved to absolute
         * paths, to append to the sandbox context in this order. */
        char *profile;
        char **context_files;

        /* Per key (index into the key table): where its value came from, NULL = never set (only in a
         * profile overlay; a loaded config has every origin). "default", "FILE:LINE", "env NAME",
         * "flag --NAME". */
        char **origins;
};

/* How a TOML document is laid over a config. */
enum config_layer {
        /* A config file: mounts.default appends, defaults.forward_env adds missing names,
         * defaults.environment merges; everything else written replaces. */
        CONFIG_LAYER_FILE,
        /* One profile of an inherits chain, laid over its parent: arrays replace, environment
         * merges and "" removes an inherited name; keys of the profile's root table ("environment",
         * "forward_env", "model", "[[mounts]]") stand for their [defaults]/[mounts] counterparts and
         * "inherits"/"context" are left to profile.c. */
        CONFIG_LAYER_PROFILE,
};

/* Where config_load looks. NULL members mean: $HOME, the current directory, the process environment. */
struct config_load_options {
        const char *home;
        const char *workdir;
        char *const *environ; /* NAME=VALUE strings */
        const char *profile;  /* apply this profile (NULL or "default" = none) */
};

/* Builds the effective configuration: built-in defaults, ~/.coi/config.toml, ./.coi/config.toml,
 * $COI_CONFIG, the profile (if any), then the environment variables code-on-incus reads. Missing files
 * are skipped; every profile is checked, applied or not. Errors are "file:line:col: message", except
 * code-on-incus 0.8's multi-line migration errors for pre-0.8 layouts (a ./.coi.toml, "config error in
 * FILE:", "profile error in FILE:"). Flags come after, via config_set_from_flag. */
int config_load(const struct config_load_options *opts, struct config **ret, struct coi_error *err);

/* The JSON Schema (draft 2020-12) of a config file (CONFIG_LAYER_FILE) or of a profile's config.toml
 * (CONFIG_LAYER_PROFILE), generated from the key table; allocated. */
int config_schema_json(enum config_layer layer, char **ret, struct coi_error *err);

/* A config holding only the built-in defaults. */
int config_new_defaults(const char *home, struct config **ret, struct coi_error *err);
/* A config with nothing set (all origins NULL): the overlay a profile chain is merged into. */
int config_new_empty(struct config **ret, struct coi_error *err);
void config_free(struct config *c);
static inline void config_freep(struct config **c)
{
        config_free(*c);
}

/* Lays a parsed document over c. file names the document in origins and errors; home expands "~"; the
 * directory of file resolves relative container.build.script paths. */
int config_apply_toml(struct config *c, const struct toml_value *root, const char *file, const char *home,
                      enum config_layer layer, struct coi_error *err);
/* path as messages and origins show it: "~/..." below home, else unchanged. */
char *config_display_path(const char *path, const char *home);
/* Reads and applies one file (-ENOENT, err untouched, if it does not exist). */
int config_apply_file(struct config *c, const char *path, const char *home, struct coi_error *err);
/* Copies every key the overlay has set onto c, profile style: environment merges, forward_env adds
 * missing names, mounts append; anything else replaces. */
int config_merge_overlay(struct config *c, const struct config *overlay, struct coi_error *err);

/* Applies the variables code-on-incus reads (CLAUDE_ON_INCUS_IMAGE, COI_LIMIT_MEMORY, ...). */
int config_apply_env(struct config *c, char *const *environ, const char *home, struct coi_error *err);

/* Sets key (dotted, "container.image") from a command-line flag's text; the origin becomes
 * "flag FLAG". Booleans take true/false/1/0, lists a comma-separated string, defaults.environment
 * "NAME=VALUE" (added), mounts.default "HOST:CONTAINER[:ro]" (appended). */
int config_set_from_flag(struct config *c, const char *key, const char *value, const char *flag,
                         struct coi_error *err);

/* The origin of key ("default", "FILE:LINE", ...), NULL if unknown key or never set. */
const char *config_origin(const struct config *c, const char *key);
/* True if key is in the key table. */
bool config_key_exists(const char *key);

enum config_show_format {
        CONFIG_SHOW_TEXT, /* key = value  # origin ; valid TOML */
        CONFIG_SHOW_JSON, /* { "key": { "value": ..., "source": "..." }, ... } */
};
/* Prints every key (only_set: only those with an origin, for profile overlays). */
int config_show(const struct config *c, FILE *out, enum config_show_format format, bool only_set);

/* "did you mean": the candidate closest to word by Damerau-Levenshtein distance, if close enough
 * (at most 1 edit for words up to 4 characters, 2 up to 8, 3 beyond); NULL otherwise. */
const char *config_suggest(const char *word, const char *const *candidates, size_t n);
