/* userns.h — a user namespace with given id mappings, held only by an fd: what idmapped mounts
 * (mount_setattr MOUNT_ATTR_IDMAP) need. Used by the runtime's mounts and by coi's rootfs/workspace. */
#pragma once

#include <stddef.h>

#include "coi-runtime.h"
#include "oci-config.h"

/* Makes a user namespace with these uid and gid mappings ("container_id host_id size" lines, as in
 * uid_map) and returns an O_RDONLY fd of it. The process that made it is gone when this returns. */
int userns_fd_with_mappings(const struct oci_id_mapping *uid, size_t n_uid, const struct oci_id_mapping *gid,
                            size_t n_gid, int *ret_fd, struct coi_error *err);
