/* build.h — `coi build`: images made from a recipe directory (RECIPE/build OUT.tar) or from a base image
 * plus a profile's build script/commands run in a chroot; the result goes into the image store. */
#pragma once

#include <signal.h>
#include <stdbool.h>

#include "coi-runtime.h"
#include "image.h"

#define BUILD_DEFAULT_IMAGE "coi-default"
/* Written next to metadata.json: how the image was built (recipe hash, base, profile). */
#define BUILD_RECORD_FILE "build.json"

enum build_event {
        BUILD_EVENT_STEP,   /* a step starts: "run images/default/build" */
        BUILD_EVENT_OUTPUT, /* one line of the step's command output (no newline) */
};
typedef void (*build_report_fn)(enum build_event event, const char *text, void *userdata);

struct build_options {
        const char *name; /* the image to create */
        bool force;       /* replace an existing image of that name (atomically, at the very end) */

        /* Either a recipe: the executable RECIPE/build is run with OUT.tar as its argument ... */
        const char *recipe_dir;
        /* ... or a base image with a script (copied into the rootfs and run there) or commands (each
         * run with /bin/sh -c), in a chroot with /proc, /dev, /sys and the host's resolv.conf. */
        const char *base;
        const char *script;
        char *const *commands;
        const char *profile; /* only recorded */

        build_report_fn report;
        void *userdata;
        /* Set by a signal handler: the running step is stopped and the build fails with ECANCELED. */
        volatile sig_atomic_t *cancel;
};

/* Builds opts->name. All the work happens in <store>/.tmp-build-XXXXXX, removed on success and on
 * failure; commands run in their own mount namespace (the chroot's also in its own PID namespace), so
 * no mount and no process outlives the build. Errors name the step and the command that failed. */
int build_image(struct image_store *s, const struct build_options *opts, struct image_info **ret_info,
                struct coi_error *err);

/* sha256 (hex) over every file of a recipe directory: relative path, executable bit, content (a
 * symlink: its target), in name order. */
int build_recipe_hash(const char *dir, char ret_hex[65], struct coi_error *err);

struct build_record {
        char *recipe;      /* absolute recipe directory, or NULL */
        char *recipe_hash; /* or NULL */
        char *base;        /* base image name, or NULL */
        char *base_digest; /* its digest at build time */
        char *profile;     /* or NULL */
        char *script_hash; /* sha256 of the script or of the commands, or NULL */
        double seconds;    /* how long the build took */
};
void build_record_done(struct build_record *r);
/* The build record of image name (ENOENT if it was not built by coi build). */
int build_record_read(struct image_store *s, const char *name, struct build_record *ret,
                      struct coi_error *err);
