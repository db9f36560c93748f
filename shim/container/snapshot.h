/* snapshot.h — snapshots of coi's system containers: a copy of the container's writable layer (upper/)
 * plus metadata.json under containers/NAME/snapshots/SNAP/; restore, delete, and branching a new container. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "coi-runtime.h"
#include "container.h"

#define SNAPSHOT_DIR      "snapshots" /* in the container's directory */
#define SNAPSHOT_NAME_MAX 63

struct snapshot_info {
        char *name;
        char *container;
        char *created_at; /* RFC 3339, UTC */
        bool stateful;    /* always false: coi takes no process-memory checkpoints */
        uint64_t size;    /* bytes the copy takes on disk (hard links counted once) */
        struct idmap_allocation
                ids; /* the ids the copy's owners are shifted by (the container's at the time) */
};
void snapshot_info_free(struct snapshot_info *info);
static inline void snapshot_info_freep(struct snapshot_info **info)
{
        snapshot_info_free(*info);
}
void snapshot_info_list_free(struct snapshot_info **list);

/* [A-Za-z0-9._-], not starting with '.' or '-', at most SNAPSHOT_NAME_MAX. */
int snapshot_validate_name(const char *name, struct coi_error *err);
/* "snap-YYYYMMDD-HHMMSS" in local time, as code-on-incus names them. */
void snapshot_default_name(char buf[32]);

/* Copies the container's upper/ (owners, modes, times, xattrs incl. overlayfs whiteouts and opaque
 * directories, hard links, symlinks as symlinks) under the container's lock. A running container is
 * frozen for the copy and thawed after; a paused one stays paused. EEXIST if the name is taken. */
int snapshot_create(struct container_store *s, const char *container, const char *name,
                    struct snapshot_info **ret, struct coi_error *err);
/* The container's snapshots, oldest first (NULL-terminated). */
int snapshot_list(struct container_store *s, const char *container, struct snapshot_info ***ret,
                  struct coi_error *err);
/* ENOENT "snapshot 'X' not found for container 'C'" when it does not exist. */
int snapshot_get(struct container_store *s, const char *container, const char *name,
                 struct snapshot_info **ret, struct coi_error *err);
/* Replaces the stopped container's upper/ with a copy of the snapshot (built beside it, then swapped
 * with one rename). EBUSY "must be stopped" when it is not stopped. */
int snapshot_restore(struct container_store *s, const char *container, const char *name,
                     struct coi_error *err);
int snapshot_delete(struct container_store *s, const char *container, const char *name,
                    struct coi_error *err);
/* A new persistent, stopped container new_name from the snapshot: same image, its own id block (owners,
 * file capabilities and ACL entries re-shifted to it), a fresh machine-id and hostname at first start. */
int snapshot_branch(struct container_store *s, const char *container, const char *name, const char *new_name,
                    struct coi_error *err);

/* {"name","created_at","stateful","size"} for one snapshot; for a list: {"container": C, "snapshots": […]};
 * with a NULL container, an object mapping each container of lists[] to its array. Allocated. */
int snapshot_json(const struct snapshot_info *info, const char *container, char **ret, struct coi_error *err);
int snapshot_list_json(const char *container, struct snapshot_info *const *list, char **ret,
                       struct coi_error *err);
int snapshot_all_json(char *const *containers, struct snapshot_info **const *lists, char **ret,
                      struct coi_error *err);
