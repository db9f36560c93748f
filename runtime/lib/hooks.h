/* hooks.h — OCI hooks: run a hook with the container state on stdin, its args and env, and a timeout. */
#pragma once

#include "coi-runtime.h"
#include "oci-config.h"

/* Runs every hook of one kind in order; the first failure stops and is returned (poststop callers
 * log and go on, as the spec says). state_json is the OCI state document. */
int hooks_run(struct coi_context *ctx, const struct oci_config *config, enum oci_hook_kind kind,
              const char *state_json, struct coi_error *err);
