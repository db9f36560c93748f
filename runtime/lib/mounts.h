/* mounts.h — the container's mount namespace: rootfs propagation and self-bind, config mounts resolved
 * inside the rootfs fd and attached by fd (new mount API), devices, pivot_root, masked/readonly paths. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "coi-runtime.h"
#include "oci-config.h"

/* What mounts_prepare_rootfs needs; every path in config is resolved inside rootfs. */
struct mounts_setup {
        const struct oci_config *config;
        const char *rootfs;      /* absolute host path */
        const char *bundle;      /* relative bind sources are resolved against it */
        const char *cgroup_path; /* bound at cgroup mounts when cgroup2 can't be mounted; may be NULL */
        const int *idmapped_fds; /* per config mount: a detached idmapped tree from the parent, or -1 */
        bool in_userns;          /* devices are bind-mounted from the host, never mknod'ed */
};

/* How mounts_resolve_in_root treats a missing path. */
enum mounts_create {
        MOUNTS_NO_CREATE,
        MOUNTS_CREATE_DIR,
        MOUNTS_CREATE_FILE,
};

/* In the child, still in the host's view: "/" gets linux.rootfsPropagation (default rslave), the rootfs
 * is bound onto itself, then every config mount in order, then /dev's default nodes and links. */
int mounts_prepare_rootfs(const struct mounts_setup *s, struct coi_error *err);
/* pivot_root(".", ".") + detach of the old root, or MS_MOVE + chroot when no_pivot. */
int mounts_pivot_root(const char *rootfs, bool no_pivot, struct coi_error *err);
/* After pivot: readonly paths, masked paths (in runc's order), and root.readonly. */
int mounts_finish_rootfs(const struct oci_config *config, struct coi_error *err);
/* linux.sysctl through the container's /proc/sys; keys outside the namespaces we own are refused. */
int mounts_apply_sysctl(const struct oci_config *config, struct coi_error *err);
/* Binds the pty slave over /dev/console (created as an empty file) after checking it is a pty. */
int mounts_bind_console(int slave_fd, struct coi_error *err);

/* Parent side: whether a mount is idmapped, and the detached idmapped tree for it. The idmap needs
 * privileges over the source filesystem that the child in its user namespace no longer has. When the
 * mount has its own uidMappings/gidMappings, a throwaway user namespace carries them; else userns_fd. */
bool mounts_is_idmapped(const struct oci_mount *m);
int mounts_open_idmapped(const struct oci_mount *m, const char *bundle, int userns_fd, int *ret_fd,
                         struct coi_error *err);

/* Opens path (absolute or not, symlinks and ".." contained) inside the tree of rootfd as an O_PATH fd,
 * creating the missing components as directories and the last one as `create` says. */
int mounts_resolve_in_root(int rootfd, const char *path, enum mounts_create create, int *ret_fd,
                           struct coi_error *err);
/* Masks path inside rootfd: /dev/null (verified to be the char device 1:3) over files, an empty
 * read-only tmpfs over directories. A missing path is fine. */
int mounts_mask_path(int rootfd, const char *path, struct coi_error *err);
/* Binds path onto itself read-only (recursive). A missing path is fine. */
int mounts_readonly_path(int rootfd, const char *path, struct coi_error *err);
