/* snapshot-copy.h — internal to snapshot.c: the never-following copy of a container's layer, owners
 * shifted from one id block to another (snapshot-copy.c). Not for other modules: they use snapshot.h. */
#pragma once

#include <dirent.h>
#include <stdint.h>

#include "coi-runtime.h"
#include "idmap-alloc.h"

/* Deepest directory nesting copied (each level holds two fds); deeper trees are refused by name. */
#define SNAPSHOT_MAX_DEPTH 400

/* Copies the directory sdir/sname to ddir/dname (which must not exist): owners, modes, times, xattrs
 * (overlayfs whiteouts and opaque directories, file capabilities and ACL entries re-shifted), hard links,
 * symlinks as symlinks, sparse files sparse. Ids of the block from move to the same offset in to; any
 * other id becomes the host's nobody. ret_size (optional): bytes on disk, hard links counted once. On
 * failure the partial copy is removed. */
int snapshot_copy_tree(int sdir, const char *sname, int ddir, const char *dname,
                       const struct idmap_allocation *from, const struct idmap_allocation *to,
                       uint64_t *ret_size, struct coi_error *err);
