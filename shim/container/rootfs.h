/* rootfs.h — a system container's root filesystem: an overlay of an idmapped view of the image's rootfs
 * (lower, shared, never written) and the container's own upper/work directories, under its data dir. */
#pragma once

#include "coi-runtime.h"
#include "idmap-alloc.h"

/* Inside the container's directory (containers/NAME/). */
#define ROOTFS_LOWER "lower"  /* mount point of the idmapped image rootfs */
#define ROOTFS_UPPER "upper"  /* the container's changes, owned by its shifted ids */
#define ROOTFS_WORK  "work"   /* overlayfs' work directory */
#define ROOTFS_MOUNT "rootfs" /* mount point of the overlay: the container's / */

/* A user namespace fd whose maps are the block a (0 → a->uid / a->gid, IDMAP_RANGE_SIZE ids), made by
 * a short-lived child that unshares CLONE_NEWUSER and waits while we write its maps. */
int rootfs_userns_fd(const struct idmap_allocation *a, int *ret_fd, struct coi_error *err);

/* Makes lower/, upper/ (owned by the container's root, the image root's mode), work/ and rootfs/ in
 * cdir if missing, attaches the idmapped clone of image_rootfs_fd at lower/ and the overlay at rootfs/.
 * On failure nothing stays mounted. Costs the same whatever the image's size: no copy, no chown. */
int rootfs_mount(const char *cdir, int image_rootfs_fd, const struct idmap_allocation *a,
                 struct coi_error *err);

/* Unmounts rootfs/ and lower/ (each only if mounted); 0 when neither is. */
int rootfs_unmount(const char *cdir, struct coi_error *err);

/* Whether path is a mount point (its own line in /proc/self/mountinfo). */
bool rootfs_is_mounted(const char *path);

/* Write a fresh random /etc/machine-id (0444) / the container's name as /etc/hostname into upper/, owned
 * by the container's root, unless upper/ has that entry already: a persistent container keeps its id
 * and whatever it changed (a whiteout, its deletion, included) across stop/start. */
int rootfs_write_machine_id(const char *cdir, const struct idmap_allocation *a, struct coi_error *err);
int rootfs_write_hostname(const char *cdir, const struct idmap_allocation *a, const char *hostname,
                          struct coi_error *err);

/* Makes the container's name resolve, as on a real machine (sudo looks it up): upper/etc/hosts is the
 * container's own hosts file (else the image's) with a "127.0.1.1 NAME" line: added when no line names
 * hostname yet, or the 127.0.1.1 line changed to it (a branch of another container). The other lines
 * stay; nothing is written when the name resolves already; a hosts file that is a link, or was deleted
 * by the container, is left alone. Never read through the overlay. */
int rootfs_write_hosts(const char *cdir, const struct idmap_allocation *a, const char *hostname,
                       struct coi_error *err);
/* text (a hosts file) with the line above; an allocated copy of text when a line names name already. */
char *rootfs_hosts_with_name(const char *text, const char *name);

/* rm -rf of dirfd/name that refuses to cross into another mount (EBUSY naming it). ENOENT is fine. */
int rootfs_remove_tree_at(int dirfd, const char *name, const char *what, struct coi_error *err);
