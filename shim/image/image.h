/* image.h — the image store: one directory per image (rootfs/ + metadata.json) under
 * /var/lib/coi/images or $COI_IMAGES_DIR; import (rootfs tar, OCI layout, Incus tarball), export, aliases. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "base/archive-io.h"
#include "coi-runtime.h"

#define IMAGE_STORE_DEFAULT "/var/lib/coi/images"

struct image_info {
        char *name;
        char **aliases;     /* NULL-terminated, may be NULL */
        char *source;       /* absolute path of what was imported */
        char *created;      /* RFC 3339, UTC */
        uint64_t size;      /* bytes of file data in rootfs/ */
        char *architecture; /* OCI names: amd64, arm64, … ("unknown" if not found) */
        char *digest;       /* "sha256:…" of the archive file (OCI layout directory: of index.json) */
        char *format;       /* "rootfs", "oci" or "incus" */
};

void image_info_free(struct image_info *info);
static inline void image_info_freep(struct image_info **info)
{
        image_info_free(*info);
}
void image_info_list_free(struct image_info **list);
static inline void image_info_list_freep(struct image_info ***list)
{
        image_info_list_free(*list);
}

struct image_store;
/* path NULL: $COI_IMAGES_DIR, else IMAGE_STORE_DEFAULT. create: make it (0700) if missing; without
 * it a missing store is an empty one. */
int image_store_open(const char *path, bool create, struct image_store **ret_store, struct coi_error *err);
void image_store_free(struct image_store *s);
static inline void image_store_freep(struct image_store **s)
{
        image_store_free(*s);
}
const char *image_store_path(const struct image_store *s);

struct image_import_options {
        const char *file;  /* a tar (none/gzip/xz/zstd), an OCI layout tar or directory, an Incus tarball */
        const char *name;  /* the image's name: [A-Za-z0-9][A-Za-z0-9._-]*, at most 128 bytes */
        bool force;        /* replace an image of that name / take the name over from another's alias */
        unsigned flags;    /* extra extract_flags: EXTRACT_DEVICES, EXTRACT_SETID */
        uint32_t id_shift; /* added to every uid and gid */
        extract_progress_fn progress;
        void *progress_data;
};

/* Unpacks into <store>/.tmp-XXXXXX and renames it into place at the very end; on any error the
 * temporary directory is removed, so a bad archive leaves nothing behind. */
int image_import(struct image_store *s, const struct image_import_options *opts, struct image_info **ret_info,
                 struct extract_stats *ret_stats, struct coi_error *err);

/* All images, sorted by name. */
int image_list(struct image_store *s, struct image_info ***ret_list, struct coi_error *err);
/* By name or alias; ENOENT "image NAME not found". */
int image_lookup(struct image_store *s, const char *name, struct image_info **ret_info,
                 struct coi_error *err);
/* An O_PATH directory fd of the image's rootfs/, for the code that starts containers. */
int image_rootfs_open(struct image_store *s, const char *name, int *ret_fd, struct coi_error *err);
int image_delete(struct image_store *s, const char *name, struct coi_error *err);
/* Adds alias to the image NAME (name or alias); names and aliases are unique across the store. */
int image_alias_add(struct image_store *s, const char *name, const char *alias, struct coi_error *err);
/* Writes the rootfs as a pax tar to file (via a temporary file + rename). */
int image_export(struct image_store *s, const char *name, const char *file, const char *compression,
                 extract_progress_fn progress, void *progress_data, struct coi_error *err);

/* JSON of one image, or of a list (an array) when list is set; allocated, free(). */
int image_info_json(struct image_info *const *infos, size_t n, bool list, char **ret_json,
                    struct coi_error *err);
