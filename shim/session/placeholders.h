/* placeholders.h — the protected paths' placeholders coi creates in a workspace, recorded in the data
 * directory before they exist, so that a session killed before its own removal leaves `coi clean` a list. */
#pragma once

#include <stdbool.h>

#include "container/container.h"

/* Adds path (a placeholder about to be created in the workspace whose workspace_hash is ws_hash) to
 * <data dir>/placeholders/<ws_hash>. */
int placeholder_note(struct container_store *store, const char *ws_hash, const char *path,
                     struct coi_error *err);

/* Removes path if it is an empty file or a tree of empty directories and files; keeps anything else. */
void placeholder_remove_if_empty(const char *path);

/* Removes the workspace's recorded placeholders that are still empty, and the record. */
void placeholders_release(struct container_store *store, const char *ws_hash);

/* The workspace hashes whose record remains while none of their containers (slots 1..SLOT_MAX, with the
 * prefix in effect) runs: what a killed session left, for `coi clean --orphans` to release. */
int placeholders_orphans(struct container_store *store, char ***ret, struct coi_error *err);
