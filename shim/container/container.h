/* container.h — system containers of the coi shim: launch from an image, start, stop, delete, exec,
 * list, info. Data under /var/lib/coi/containers/NAME ($COI_DATA_DIR), runtime state in /run/coi/runtime. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "coi-runtime.h"
#include "idmap-alloc.h"
#include "net/net-nft.h"

#define CONTAINER_DATA_DEFAULT "/var/lib/coi"
#define CONTAINER_RUNTIME_ROOT "/run/coi/runtime"
#define CONTAINER_METADATA     "metadata.json"
#define CONTAINER_CONSOLE_LOG  "console.log"
#define CONTAINER_NAME_MAX     63
#define CONTAINER_STOP_TIMEOUT 10 /* seconds, for `stop` without --timeout */
/* launch/start return once systemd's private bus exists (at most this long), so exec finds systemd. */
#define CONTAINER_BUS_TIMEOUT_MS 5000

struct container_store;
struct container_limit_row;
struct limits;

/* $COI_DATA_DIR or CONTAINER_DATA_DEFAULT, with containers/ made (0711) if missing. */
int container_store_open(struct container_store **ret, struct coi_error *err);
void container_store_free(struct container_store *s);
/* Removes the temporaries a killed coi left half written in the data directory, containers/ and each
 * container's directory; returns how many went. */
int container_store_sweep(struct container_store *s);
/* The data directory's path (owned by the store). */
const char *container_store_path(const struct container_store *s);
static inline void container_store_freep(struct container_store **s)
{
        container_store_free(*s);
}

/* A hostname label: [A-Za-z0-9] then [A-Za-z0-9-], not ending in '-', at most CONTAINER_NAME_MAX. */
int container_validate_name(const char *name, struct coi_error *err);

struct container_info {
        char *name;
        char *image;   /* the image's name in the store at launch */
        char *created; /* RFC 3339, UTC */
        bool ephemeral;
        struct idmap_allocation ids;
        const char *status; /* "running", "stopped", "created", "paused" (static string) */
        pid_t pid;          /* init's pid on the host, 0 unless running */
        char *dir;          /* containers/NAME */
        char *cgroup;       /* the cgroup2 directory while it exists, else NULL */
        /* container_info_get: usage against each recorded limit (container-limits.h), else NULL/0 */
        struct container_limit_row *limits;
        size_t n_limits;
};
void container_info_free(struct container_info *info);
static inline void container_info_freep(struct container_info **info)
{
        container_info_free(*info);
}
void container_info_list_free(struct container_info **list);

/* A host directory or file bind-mounted into the container before its init starts: it is attached
 * under the rootfs in the host's mount namespace, so the container's own mount namespace (owned by its
 * user namespace) receives it as a locked mount: the container's root can neither unmount it nor make a
 * read-only one writable. */
struct container_mount {
        const char *source; /* host path (resolved by the caller; not followed if it is a symlink) */
        const char *target; /* absolute path in the container; a missing directory is created */
        bool readonly;
        /* idmap: host uid/gid host_uid:host_gid appear as container_uid:container_gid in the container
         * (and files it creates belong to host_uid on the host); other ids show as nobody. Without idmap
         * the source is seen through the container's own shift (host ids appear as nobody). */
        bool idmap;
        uid_t host_uid, container_uid;
        gid_t host_gid, container_gid;
        /* shift (code-on-incus's shift=true, excludes idmap): idmapped through the container's own map,
         * so host ids 0…IDMAP_RANGE_SIZE-1 appear as themselves and the container's writes keep its ids. */
        bool shift;
        const char *device; /* the name `coi container mount` gave it, else NULL */
};

/* A container's network (shim/net.h): a veth on coi's bridge, the policy's nftables rules, the DNS
 * forwarder in /etc/resolv.conf. Attached between the runtime's create and start, so init starts with
 * eth0 up; recorded with the container (a plain `container start` re-attaches it); removed at stop. */
struct container_network {
        struct net_policy policy;
        char *const *allowed; /* allowlist: name patterns ("*.example.com") and IPv4 addresses/CIDRs */
};

struct container_launch_options {
        const char *image; /* name or alias in the image store ($COI_IMAGES_DIR) */
        const char *name;
        bool ephemeral; /* deleted entirely when it stops */
        /* Optional, in order (a later target may lie inside an earlier one). Not recorded here: the
         * session records them (container_record_mounts) for a later `coi container start`. */
        const struct container_mount *mounts;
        size_t n_mounts;
        /* Return as soon as the runtime started init, without waiting for systemd's bus. */
        bool no_wait;
        /* NULL: no network (only lo). */
        const struct container_network *network;
        /* NULL: none. Recorded (limits.json): every later start applies them too. */
        const struct limits *limits;
        /* NULL: "default"; else "strict" or a profile's path (seccomp-profile.h). Recorded too. */
        const char *seccomp_profile;
};

/* Claims the name, allocates ids, records metadata.json, then starts; any failure undoes it all. */
int container_launch(struct container_store *s, const struct container_launch_options *opts,
                     struct coi_error *err);
/* Records the seccomp profile (seccomp-profile.h; NULL = "default") every later start applies. */
int container_set_seccomp(struct container_store *s, const char *name, const char *spec,
                          struct coi_error *err);
/* Mounts the rootfs, creates and starts the runtime container (systemd as init), and waits (at most
 * CONTAINER_BUS_TIMEOUT_MS) for systemd's private bus so `systemctl` in an exec right after works. */
int container_start(struct container_store *s, const char *name, struct coi_error *err);
/* container_start with bind mounts (see container_mount) and no_wait as in container_launch_options;
 * the devices `coi container mount` recorded follow them (unless mounts has devices: the whole record). */
int container_start_with(struct container_store *s, const char *name, const struct container_mount *mounts,
                         size_t n_mounts, bool no_wait, struct coi_error *err);
/* The host directory of the container's / while it is mounted (containers/NAME/rootfs), allocated. */
char *container_rootfs_path(struct container_store *s, const char *name);
/* The container's ids (its 0 on the host). */
int container_ids(struct container_store *s, const char *name, struct idmap_allocation *ret,
                  struct coi_error *err);

struct container_stop_result {
        bool was_running;
        bool killed;    /* init did not exit within the timeout (or force): SIGKILL */
        double seconds; /* from the shutdown signal to init's exit */
};
/* SIGRTMIN+3 (systemd's clean shutdown), up to timeout_s for init to exit, then SIGKILL of the whole
 * cgroup (force: at once). Then deletes the runtime container, unmounts, removes leftover cgroups;
 * an ephemeral container is deleted. Stopping a stopped container cleans up what is left. */
int container_stop(struct container_store *s, const char *name, int timeout_s, bool force,
                   struct container_stop_result *ret, struct coi_error *err);
/* Removes a stopped container (force: stops a running one first, without waiting). */
int container_delete(struct container_store *s, const char *name, bool force, struct coi_error *err);

struct container_exec_options {
        char *const *args;
        char *const *env; /* "K=V", added to PATH, HOME and TERM */
        const char *cwd;  /* NULL = "/" */
        uid_t uid;
        gid_t gid;
        bool capture;   /* collect stdout/stderr instead of passing ours */
        bool exact_env; /* env is the whole environment (no PATH/HOME/TERM added) */
};
struct container_exec_result {
        int exit_code;       /* 128 + signal when killed */
        char *out, *err_out; /* with capture: allocated, NUL-terminated */
        size_t out_len, err_len;
};
void container_exec_result_done(struct container_exec_result *r);
/* {"stdout","stderr","exit_code"} on one line of stdout (`--capture`, `run --format json`): 0, or 1 after
 * saying on stderr that it could not be encoded. */
int container_exec_result_print_json(const struct container_exec_result *res);
int container_exec(struct container_store *s, const char *name, const struct container_exec_options *opts,
                   struct container_exec_result *ret, struct coi_error *err);

int container_list(struct container_store *s, struct container_info ***ret_list, struct coi_error *err);
int container_info_get(struct container_store *s, const char *name, struct container_info **ret,
                       struct coi_error *err);
/* One container's object, or an array of them when list is set; allocated, free(). */
int container_info_json(struct container_info *const *infos, size_t n, bool list, char **ret_json,
                        struct coi_error *err);

/* Waits (at most timeout_ms) until systemd in the container listens on its private bus: before that it
 * may not have installed its handler for the clean-shutdown signal yet. */
void container_wait_ready(struct container_store *s, const char *name, int timeout_ms);
/* Waits (at most timeout_ms) until systemd in the container has finished booting: `systemctl
 * is-system-running` answers running, degraded, maintenance or stopping (in state). 0 then; -ETIME with
 * the last answer ("starting") in state; -ENOENT with "" when nothing answers (no systemd). */
#define CONTAINER_BOOT_TIMEOUT_MS 90000 /* systemd's own default job timeout */
int container_wait_booted(struct container_store *s, const char *name, int timeout_ms, char *state,
                          size_t size);
/* The container's cgroup2 directory (whether or not it exists), allocated: its cgroup.kill ends every
 * process of the container at once (async-signal-safe to write from a handler). */
char *container_cgroup_path(const char *name);
/* Records the network the container gets at its next start (NULL: none). */
int container_set_network(struct container_store *s, const char *name, const struct container_network *net,
                          struct coi_error *err);
/* Marks a container persistent (ephemeral = false) or ephemeral in its metadata.json. */
int container_set_ephemeral(struct container_store *s, const char *name, bool ephemeral,
                            struct coi_error *err);
/* Thaws a frozen (paused) container. */
int container_unfreeze(struct container_store *s, const char *name, struct coi_error *err);

/* Leftovers of name that belong to no live container (see docs/system-containers.md, crash safety):
 * runtime state, mounts under its directory, its cgroup, a directory without metadata.json, its id
 * allocation. Only for a name whose init does not run or whose metadata is missing. */
int container_clean_orphan(struct container_store *s, const char *name, struct coi_error *err);
/* Names that have runtime state, a cgroup, an id allocation or a directory (may repeat). */
int container_orphan_candidates(struct container_store *s, char ***ret, struct coi_error *err);

/* ---- for snapshots (shim/snapshot.c) ---- */
/* Opens containers/NAME and takes its exclusive flock (waiting for it): one lifecycle operation at a
 * time. ENOENT "container NAME not found". The caller validates name; *ret_fd is the locked directory. */
int container_lock(const struct container_store *s, const char *name, int *ret_fd, struct coi_error *err);
/* Freezes a running container (cgroup.freeze); container_unfreeze thaws it. */
int container_freeze(struct container_store *s, const char *name, struct coi_error *err);
/* Fills a new container's directory before its metadata exists (dir = containers/NAME, ids its block). */
typedef int (*container_populate_fn)(const char *dir, const struct idmap_allocation *ids, void *userdata,
                                     struct coi_error *err);
/* A new persistent, stopped container of image: claims name, allocates ids, calls populate (under the
 * new container's lock), then writes metadata.json; any failure undoes it all. */
int container_create_stopped(struct container_store *s, const char *image, const char *name,
                             container_populate_fn populate, void *userdata, struct coi_error *err);

/* ---- mounts recorded at launch, for a later plain start ---- */
/* Records mounts (as given to container_launch) in containers/NAME/mounts.json. create (optional, one
 * per mount): NULL, "dir" or "file": a placeholder source to make again when it has gone missing. */
int container_record_mounts(struct container_store *s, const char *name, const struct container_mount *mounts,
                            const char *const *create, size_t n, struct coi_error *err);
/* container_start with the recorded mounts (a plain start without a record). Refuses a source that is
 * no longer the same path (a symlink appeared on its way since the launch). */
int container_start_recorded(struct container_store *s, const char *name, struct coi_error *err);

/* ---- `coi container mount`: named disk devices ---- */
/* Adds source (resolved, must exist) at target as the disk device named device (code-on-incus: an Incus
 * disk device): recorded in mounts.json after the launch's mounts so every later start mounts it again,
 * and mounted at once into a running or paused container (in its mount namespace, by a short-lived
 * child; unlike the mounts made before init starts, the container's root can unmount that one). EEXIST
 * when the container already has a device of that name. readonly: mounted read-only, now and later. */
int container_mount_device(struct container_store *s, const char *name, const char *device,
                           const char *source, const char *target, bool shift, bool readonly,
                           struct coi_error *err);
/* The working directory of an exec that names none: "/workspace" when the running container has that
 * directory, else "/" (static strings). */
const char *container_default_cwd(struct container_store *s, const char *name);
