/* image-internal.h — what image.c (the store, import driver) shares with image-oci.c (OCI layouts,
 * architectures) and image-metadata.c (names, metadata.json). Other modules use image.h. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "image.h"
#include "json-util.h"
#include "util.h"

#define _cleanup_yajl_ _cleanup_(yajl_tree_freep)

struct import {
        struct image_store *s;
        const struct image_import_options *o;
        const char *file_name; /* basename for messages */
        int tmpfd;
        unsigned flags;
        struct extract_stats stats;
        char *architecture;
        char *format;
        char digest[72];
};

#define IMAGE_NAME_MAX 128

/* ---- image-metadata.c ---- */
/* An image name or alias: [A-Za-z0-9][A-Za-z0-9._-]*, at most IMAGE_NAME_MAX bytes. */
bool image_name_valid(const char *s);
/* The metadata.json of an image directory. where names it in errors. */
int image_parse_metadata(const char *json, const char *where, struct image_info **ret_info,
                         struct coi_error *err);
/* Writes metadata.json into dirfd (atomically). */
int image_write_metadata(int dirfd, const struct image_info *info, struct coi_error *err);

/* ---- image-oci.c ---- */
/* A kernel's machine name (uname -m) in OCI's names: x86_64 → amd64, aarch64 → arm64 … */
const char *image_oci_arch(const char *machine);
/* The host's architecture in OCI's names (amd64, arm64 …). */
const char *image_host_arch(void);
/* True if name in dirfd is (without following symlinks) of type (S_IFREG, S_IFDIR …). */
bool image_is_type_at(int dirfd, const char *name, mode_t type);
/* Unpacks the OCI image layout at layoutfd (index → manifest → layers, whiteouts applied) into rootfsfd;
 * sets im->architecture from the image config and, for a layout directory, im->digest from index.json. */
int image_import_oci(struct import *im, int layoutfd, int rootfsfd, struct coi_error *err);
