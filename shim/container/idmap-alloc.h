/* idmap-alloc.h — subordinate id ranges for system containers: each container gets its own disjoint
 * block of 65536 uids and gids from root's /etc/subuid and /etc/subgid pool, recorded under a lock. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "coi-runtime.h"

#define IDMAP_RANGE_SIZE    65536u
#define IDMAP_DEFAULT_START 1000000u /* as Incus: used when root has no /etc/subuid entry */
#define IDMAP_DEFAULT_COUNT 1000000000u
#define IDMAP_TABLE_FILE    "idmap.json" /* under the data dir, guarded by IDMAP_LOCK_FILE */
#define IDMAP_LOCK_FILE     "idmap.lock"

struct idmap_range {
        uint32_t start, count;
};

struct idmap_allocation {
        uint32_t uid, gid; /* host ids of the container's 0; each block is IDMAP_RANGE_SIZE long */
};

/* root's (or uid 0's) first entry in file (/etc/subuid, /etc/subgid); the Incus default when the file
 * or the entry is missing. ret_from_file says which. */
int idmap_pool_read(const char *file, struct idmap_range *ret_pool, bool *ret_from_file,
                    struct coi_error *err);

/* Gives name a block that no other entry of the table overlaps, or returns the one it already has.
 * Takes the lock, re-reads the table, writes it back atomically (temporary file + rename). */
int idmap_allocate(int data_dirfd, const char *name, struct idmap_allocation *ret, struct coi_error *err);
/* Forgets name's block; a name without one is fine. */
int idmap_release(int data_dirfd, const char *name, struct coi_error *err);
/* name's block, ENOENT if it has none. */
int idmap_lookup(int data_dirfd, const char *name, struct idmap_allocation *ret, struct coi_error *err);
