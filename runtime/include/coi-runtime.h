/* coi-runtime.h — the public API of libcoi-runtime: create, start, exec, signal, pause and delete
 * OCI containers. Errors are an int (0 or -errno) plus a struct coi_error whose message names the
 * object. The library never prints and never exits; it talks through the log callback only. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COI_PUBLIC __attribute__((visibility("default")))

#define COI_RUNTIME_STATE_ROOT "/run/coi-runtime"

struct coi_error {
        int code;       /* an errno value, 0 when unset */
        char msg[1024]; /* names the object and the action: "mount proc on /…/rootfs/proc: EPERM" */
};

/* Sets err (if not NULL) and returns -code, so callers write `return coi_error_set(err, …)`. */
COI_PUBLIC int coi_error_set(struct coi_error *err, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Prefixes an already set error with more context: "create foo: " + old message. */
COI_PUBLIC int coi_error_prefix(struct coi_error *err, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

enum coi_log_level {
        COI_LOG_ERROR,
        COI_LOG_WARNING,
        COI_LOG_INFO,
        COI_LOG_DEBUG
};
typedef void (*coi_log_fn)(enum coi_log_level level, const char *msg, void *userdata);

/* Everything that is not global state lives here; one per caller, or per thread. */
struct coi_context {
        const char *state_root; /* NULL = COI_RUNTIME_STATE_ROOT */
        coi_log_fn log;         /* NULL = no output at all */
        void *log_data;
        enum coi_log_level log_level;
        bool systemd_cgroup;     /* refused: no D-Bus client in the library */
        bool cgroup_best_effort; /* a missing cgroup controller is a warning, not an error */
        bool timings;            /* log per-phase timings at COI_LOG_INFO */
};

enum coi_status {
        COI_STATUS_CREATING,
        COI_STATUS_CREATED,
        COI_STATUS_RUNNING,
        COI_STATUS_PAUSED,
        COI_STATUS_STOPPED
};

COI_PUBLIC const char *coi_status_to_string(enum coi_status status);

struct coi_create_options {
        const char *bundle;         /* directory with config.json (unless config_json is set) */
        const char *config_json;    /* in-memory config, used instead of bundle/config.json */
        const char *pid_file;       /* written atomically with the container's init pid */
        const char *console_socket; /* AF_UNIX socket that receives the pty master (SCM_RIGHTS) */
        int console_socket_fd;      /* > 0: an already connected AF_UNIX socket (one end of a socketpair)
                                     * that receives the pty master instead; the caller keeps it */
        int preserve_fds;           /* fds 3 … 3+n-1 are passed on to the container */
        bool no_pivot;              /* MS_MOVE + chroot instead of pivot_root (ramfs roots) */
        bool no_new_keyring;
};

/* The state as the OCI spec defines it (`state` output), plus what the runtime keeps. */
struct coi_state {
        char id[256];
        enum coi_status status;
        pid_t pid;
        char bundle[4096];
        char rootfs[4096];
        char cgroup_path[4096]; /* absolute path of the container's cgroup2 directory, "" if none */
        uint64_t created_ns;    /* CLOCK_REALTIME */
        char owner[64];
        char **annotations; /* NULL-terminated key, value, key, value … (free with coi_state_free) */
};

COI_PUBLIC void coi_state_free(struct coi_state *state);

/* create: set the container up and leave its init waiting for start (OCI "created"). */
COI_PUBLIC int coi_container_create(struct coi_context *ctx, const char *id,
                                    const struct coi_create_options *opts, struct coi_error *err);
/* run: create + start in one call. Without hooks that need a point between the two (prestart,
 * createRuntime, createContainer, startContainer, poststart) the init execs at once, with no exec.fifo
 * round trip; with them, exactly create then start. ret_pid (may be NULL): the init, a child of the
 * caller. On failure nothing is left behind. */
COI_PUBLIC int coi_container_run(struct coi_context *ctx, const char *id,
                                 const struct coi_create_options *opts, pid_t *ret_pid,
                                 struct coi_error *err);
/* start: run the user's process in a created container. */
COI_PUBLIC int coi_container_start(struct coi_context *ctx, const char *id, struct coi_error *err);
/* state: read, re-checking that the process is still the one we started (pid reuse). */
COI_PUBLIC int coi_container_state(struct coi_context *ctx, const char *id, struct coi_state *ret_state,
                                   struct coi_error *err);
/* state_json: the OCI state document, allocated (free()). */
COI_PUBLIC int coi_container_state_json(struct coi_context *ctx, const char *id, char **ret_json,
                                        struct coi_error *err);
COI_PUBLIC int coi_container_kill(struct coi_context *ctx, const char *id, int signo, bool all,
                                  struct coi_error *err);
COI_PUBLIC int coi_container_delete(struct coi_context *ctx, const char *id, bool force,
                                    struct coi_error *err);
COI_PUBLIC int coi_container_pause(struct coi_context *ctx, const char *id, struct coi_error *err);
COI_PUBLIC int coi_container_resume(struct coi_context *ctx, const char *id, struct coi_error *err);
/* wait: block until init exits; ret_status is a wait(2) status. Only the parent (or a subreaper)
 * can reap; others poll the pidfd and get the exit status recorded, if any, else 0. */
COI_PUBLIC int coi_container_wait(struct coi_context *ctx, const char *id, int *ret_status,
                                  struct coi_error *err);
/* update: apply a LinuxResources JSON document to the running container's cgroup. */
COI_PUBLIC int coi_container_update(struct coi_context *ctx, const char *id, const char *resources_json,
                                    struct coi_error *err);
/* list: ids of all containers under the state root, NULL-terminated (free with coi_strv_free). */
COI_PUBLIC int coi_container_list(struct coi_context *ctx, char ***ret_ids, struct coi_error *err);
/* pids: all pids in the container's cgroup, 0-terminated (free()). */
COI_PUBLIC int coi_container_pids(struct coi_context *ctx, const char *id, pid_t **ret_pids,
                                  struct coi_error *err);

struct coi_exec_options {
        const char *process_json; /* an OCI "process" object; overrides args/env/cwd/user below */
        char *const *args;
        char *const *env; /* added to (and overriding) the container's process env */
        const char *cwd;
        const char *user; /* "uid[:gid]" */
        /* Supplementary groups added to the config's (runc exec --additional-gids). */
        const uint32_t *additional_gids;
        size_t n_additional_gids;
        char *const *caps; /* added to all capability sets */
        bool tty;
        const char *console_socket;
        int console_socket_fd; /* > 0: a connected socket for the pty master, as in coi_create_options */
        const char *pid_file;
        bool detach;
        int preserve_fds;
};

/* exec: run another process in a running container. Without detach it waits and sets
 * ret_status to a wait(2) status; with detach ret_status is the pid. */
COI_PUBLIC int coi_container_exec(struct coi_context *ctx, const char *id,
                                  const struct coi_exec_options *opts, int *ret_status,
                                  struct coi_error *err);

/* The `features` document (runtime-spec features.md), allocated (free()). */
COI_PUBLIC int coi_features_json(char **ret_json, struct coi_error *err);
/* The default `spec` config.json, allocated (free()). */
COI_PUBLIC int coi_spec_json(bool rootless, char **ret_json, struct coi_error *err);

/* Re-executes the calling program from a sealed memfd copy unless it already runs from one, so a
 * container can never reopen the host binary through /proc/self/exe (CVE-2019-5736). Call it first
 * thing in main() of any program that enters containers. Returns only on error or when already sealed. */
COI_PUBLIC int coi_ensure_sealed_binary(char **argv, char **envp, struct coi_error *err);
/* Whether a create/run with opts (reads bundle/config.json or opts->config_json), or an exec into
 * container id (reads its saved config), needs the sealed copy above. false only when the container
 * gets a new user namespace mapping neither host uid 0 nor the binary's owner, and the binary is not
 * group/other-writable: then nothing in it can write the binary (see sealed.c). */
COI_PUBLIC int coi_sealed_binary_needed(struct coi_context *ctx, const struct coi_create_options *opts,
                                        bool *ret_needed, struct coi_error *err);
COI_PUBLIC int coi_sealed_binary_needed_for_exec(struct coi_context *ctx, const char *id, bool *ret_needed,
                                                 struct coi_error *err);

COI_PUBLIC void coi_strv_free(char **strv);

/* ---- Host helpers for coi (the shim) and other embedders: what a system-container manager needs
 * besides the container lifecycle. ---- */

/* One line of uid_map/gid_map: container_id host_id size. */
struct coi_id_mapping {
        uint32_t container_id;
        uint32_t host_id;
        uint32_t size;
};

/* Makes a user namespace with these uid and gid mappings and returns an O_RDONLY fd of it, for idmapped
 * mounts (mount_setattr MOUNT_ATTR_IDMAP). The process that made it is gone when this returns. */
COI_PUBLIC int coi_userns_fd(const struct coi_id_mapping *uid, size_t n_uid, const struct coi_id_mapping *gid,
                             size_t n_gid, int *ret_fd, struct coi_error *err);

enum coi_cgroup_layout {
        COI_CGROUP_UNIFIED, /* /sys/fs/cgroup is cgroup2 */
        COI_CGROUP_HYBRID,  /* v1 controllers + cgroup2 at /sys/fs/cgroup/unified */
        COI_CGROUP_NONE,    /* no cgroup2 at all: the runtime refuses to create containers */
};

struct coi_cgroup_hierarchy {
        enum coi_cgroup_layout layout;
        char mount_point[256]; /* where cgroup2 is mounted: /sys/fs/cgroup or /sys/fs/cgroup/unified */
};

/* The cgroup2 hierarchy the runtime puts containers in (statfs of /sys/fs/cgroup, then its unified mount). */
COI_PUBLIC int coi_cgroup_detect(struct coi_cgroup_hierarchy *ret, struct coi_error *err);
/* Removes a cgroup2 directory and everything below it, bottom-up, killing what still runs there
 * (cgroup.kill) first. Only for cgroup2 paths: a path under a v1 hierarchy is refused. */
COI_PUBLIC int coi_cgroup_destroy(const char *path, struct coi_error *err);

#define COI_CAPABILITY_NAME_MAX 40
#define COI_CAPABILITY_MAX      64

/* The names of every capability libcap knows ("CAP_CHOWN" … CAP_LAST_CAP), at most max; returns the count. */
COI_PUBLIC size_t coi_capability_names(char names[][COI_CAPABILITY_NAME_MAX], size_t max);

#ifdef __cplusplus
}
#endif
