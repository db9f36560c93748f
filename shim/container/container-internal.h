/* container-internal.h — what the files of container*.c share and nobody else uses: the store and the
 * forked-child helper, metadata.json read/write, the lock-and-read opening, the rootfs mounts. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "container.h"
#include "json-util.h"

struct container_store {
        char *path; /* the data dir */
        int dirfd;  /* the data dir (idmap table) */
        int cdirfd; /* containers/ */
        struct coi_context ctx;
};

/* ---- container-store.c ---- */
/* containers/NAME under the data dir, allocated. */
char *container_dir(const struct container_store *s, const char *name);
/* Runs fn(userdata, &e) in a forked child and waits for it; the child's coi_error comes back over a pipe
 * and becomes err. action/doing name the work in the messages of a failed fork ("fork to ACTION NAME")
 * or a child that died without a message ("DOING NAME failed without a message"). */
typedef int (*container_child_fn)(void *userdata, struct coi_error *err);
int container_run_in_child(container_child_fn fn, void *userdata, const char *action, const char *doing,
                           const char *name, struct coi_error *err);

/* ---- container-metadata.c ---- */
int container_metadata_write(const struct container_store *s, const struct container_info *m,
                             struct coi_error *err);
/* The recorded metadata plus the live status from the runtime. */
int container_metadata_read(const struct container_store *s, const char *name, struct container_info **ret,
                            struct coi_error *err);
/* The usual opening of a verb on one container: a valid name, its lock held, its metadata read. */
int lock_and_read(struct container_store *s, const char *name, int *ret_lock, struct container_info **ret_m,
                  struct coi_error *err);

/* ---- container-mounts.c ---- */
/* Bind-mounts mounts (in order) under rootfs, in the host's mount namespace, before init starts. */
int attach_mounts(const char *rootfs, const struct container_info *m, const struct container_mount *mounts,
                  size_t n, struct coi_error *err);
/* Docker's overlay2 refuses an overlayfs to store its layers on, and the container's / is one: in a
 * container whose image has Docker, /var/lib/docker is containers/NAME/docker on the host's own file
 * system (made on the first start, kept across restarts, removed with the container; not in snapshots). */
#define DOCKER_DATA_DIR    "docker"
#define DOCKER_DATA_TARGET "/var/lib/docker"
int attach_docker_data(const char *rootfs, const struct container_info *m, struct coi_error *err);
/* Unmounts every mount strictly below dir (deepest first), as listed in /proc/self/mountinfo. */
int unmount_below(const char *dir, struct coi_error *err);
/* mounts.json parsed (opaque here). */
struct mounts_record;
void mounts_record_freep(struct mounts_record **rec);
/* The mounts recorded for name in mounts.json (none without one), each source checked, or created as
 * recorded; *ret_mounts points into *ret_rec. */
int mounts_recorded(const struct container_store *s, const char *name, struct mounts_record **ret_rec,
                    const struct container_mount **ret_mounts, size_t *ret_n, struct coi_error *err);
/* mounts, then the devices recorded for name, unless mounts has devices already (container_start_recorded
 * passes the whole record). *ret_all is allocated only when there are devices; its strings point into
 * *ret_rec. A device whose source has gone (or moved behind a symlink) stops the start. */
int add_recorded_devices(const struct container_store *s, const char *name,
                         const struct container_mount *mounts, size_t n, struct mounts_record **ret_rec,
                         struct container_mount **ret_all, size_t *ret_n, struct coi_error *err);
