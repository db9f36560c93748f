/* seccomp-profile.h — which OCI seccomp profile a system container gets ("default", "strict" or a file),
 * where its text comes from, and the per-container record of the choice. */
#pragma once

#include <stdbool.h>

#include "coi-runtime.h"

#define SECCOMP_PROFILE_AUTO    "auto"
#define SECCOMP_PROFILE_DEFAULT "default"
#define SECCOMP_PROFILE_STRICT  "strict"
#define SECCOMP_OVERRIDE_DIR    "/etc/coi/seccomp"
#define CONTAINER_SECCOMP_FILE  "seccomp-profile" /* containers/NAME/: the spec of the last start */

/* The profile a container gets from [security] seccomp_profile (configured; NULL or "auto": automatic).
 * Automatic: "strict" for a `coi run` job without nesting (job && !nesting), "default" otherwise.
 * --nesting (nesting) also turns a configured "strict" into "default"; a path stays a path. */
const char *seccomp_profile_choose(const char *configured, bool job, bool nesting);

/* -EINVAL unless spec is "auto", "default", "strict" or an absolute path. */
int seccomp_profile_check(const char *spec, struct coi_error *err);

/* The profile's text (free()) and where it came from (static or spec itself, for messages):
 *   "default": the file $COI_SECCOMP_PROFILE, else /etc/coi/seccomp/default.json, else compiled in;
 *   "strict":  /etc/coi/seccomp/strict.json, else compiled in;
 *   a path:    that file.
 * The compiled-in profiles are seccomp-profiles/ of the source tree coi was built from. */
int seccomp_profile_load(const char *spec, char **ret_json, const char **ret_origin, struct coi_error *err);

/* Records spec (NULL: remove the record = "default") in containers/NAME/seccomp-profile. */
int seccomp_profile_save(int cdirfd, const char *name, const char *spec, struct coi_error *err);
/* The recorded spec (allocated); "default" when nothing is recorded. */
int seccomp_profile_recorded(int cdirfd, const char *name, char **ret, struct coi_error *err);
