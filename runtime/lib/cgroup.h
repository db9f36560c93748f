/* cgroup.h — the container's cgroup v2 directory: find the hierarchy, create, limit, freeze, kill,
 * remove. Never touches cgroup v1 hierarchies (on hybrid hosts only the "unified" cgroup2 mount). */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "coi-runtime.h"
#include "oci-config.h"

enum cgroup_layout {
        CGROUP_LAYOUT_UNIFIED, /* /sys/fs/cgroup is cgroup2 */
        CGROUP_LAYOUT_HYBRID,  /* v1 controllers + cgroup2 at /sys/fs/cgroup/unified */
        CGROUP_LAYOUT_NONE,    /* no cgroup2 at all: refused */
};

struct cgroup_hierarchy {
        enum cgroup_layout layout;
        char mount_point[256]; /* where cgroup2 is mounted: /sys/fs/cgroup or /sys/fs/cgroup/unified */
        char controllers[256]; /* root cgroup.controllers, space separated ("" on hybrid hosts here) */
};

int cgroup_hierarchy_detect(struct cgroup_hierarchy *ret, struct coi_error *err);

/* Resolves cgroupsPath to an absolute directory: absolute paths are under the mount point, relative
 * ones under the parent of the calling process's cgroup (as runc does: the caller's own cgroup holds
 * processes, so cgroup v2 would not let controllers be enabled below it), absent means "/<id>". */
int cgroup_resolve_path(const struct cgroup_hierarchy *h, const char *cgroups_path, const char *id,
                        char **ret_path, struct coi_error *err);

/* Creates the directory (parents included), enabling the controllers the resources need in each
 * parent's cgroup.subtree_control where the hierarchy has them (a missing one is reported by
 * cgroup_apply_resources, which callers always call next). Returns an O_DIRECTORY fd (usable with
 * CLONE_INTO_CGROUP). */
int cgroup_create(const struct cgroup_hierarchy *h, const char *path, const struct oci_resources *res,
                  int *ret_dirfd, struct coi_error *err);

/* Writes every requested limit. A limit whose controller is missing fails with a message naming the
 * controller and the hierarchy, or — best_effort — is logged as a warning and skipped. */
int cgroup_apply_resources(struct coi_context *ctx, int dirfd, const char *path,
                           const struct oci_resources *res, bool best_effort, struct coi_error *err);

/* Hands the directory to the container's root (systemd inside needs to write its subtree):
 * chowns the directory, cgroup.procs, cgroup.subtree_control and cgroup.threads. */
int cgroup_delegate(int dirfd, const char *path, uid_t uid, gid_t gid, struct coi_error *err);

/* Where an exec'd process goes: path itself, or — when path has controllers enabled for its
 * children (a systemd container delegating them), which cgroup v2 forbids joining — init's cgroup
 * below it. *ret is allocated. */
int cgroup_exec_path(const char *path, pid_t init, char **ret, struct coi_error *err);

int cgroup_enter(int dirfd, const char *path, pid_t pid, struct coi_error *err);
/* Freezes (or thaws) via cgroup.freeze and waits until cgroup.events says so. */
int cgroup_freeze(const char *path, bool freeze, struct coi_error *err);
bool cgroup_is_frozen(const char *path);
/* Kills everything in the subtree: cgroup.kill, or signalling cgroup.procs where it is missing. */
int cgroup_kill_all(const char *path, int signo, struct coi_error *err);
/* All pids of the subtree, recursively; *ret_pids is malloc'd. */
int cgroup_list_pids(const char *path, pid_t **ret_pids, size_t *ret_n, struct coi_error *err);
/* Removes the subtree bottom-up (systemd leaves init.scope & co. behind), killing what is left. */
int cgroup_destroy(const char *path, struct coi_error *err);
