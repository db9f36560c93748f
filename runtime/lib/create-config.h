/* create-config.h — a create's config.json, read and parsed once and handed over by the caller: from
 * the sealed-copy decision (sealed.c) to the create or run that follows (container.c). Used by coi-runtime;
 * not public API. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "coi-runtime.h"

struct oci_config;

struct create_config {
        char *json; /* the document as read: the create keeps it as the container's snapshot */
        size_t len;
        struct oci_config *config;
};

/* Reads <bundle>/config.json (or takes opts->config_json) and parses it; errors name the file as
 * "<bundle>/config.json". opts may be NULL. */
int create_config_load(const struct coi_create_options *opts, const char *bundle, struct create_config *ret,
                       struct coi_error *err);
void create_config_done(struct create_config *c);

/* Whether a container with this config needs the sealed copy of the binary (see sealed.c). */
int sealed_binary_needed_for_config(const struct create_config *c, bool *ret_needed, struct coi_error *err);

/* coi_container_create and coi_container_run on a config loaded for these opts already (so the config
 * that runs is the one the sealed-copy decision was made on, and it is read once). They take config
 * over (it is empty afterwards); NULL: read it as the public calls do. */
int container_create_with(struct coi_context *ctx, const char *id, const struct coi_create_options *opts,
                          struct create_config *config, struct coi_error *err);
int container_run_with(struct coi_context *ctx, const char *id, const struct coi_create_options *opts,
                       struct create_config *config, pid_t *ret_pid, struct coi_error *err);
