/* linux.h — starting the container's init and exec'd processes: clone into new or joined namespaces,
 * id maps, the parent/child sync protocol (errors from the child travel back), the rootfs (mounts.c),
 * console, hooks at their points, and the final privilege drop + execve. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "coi-runtime.h"
#include "oci-config.h"
#include "seccomp-bpf.h"

struct linux_spawn {
        const struct oci_config *config;
        const char *id;
        const char *bundle; /* absolute */
        const char *rootfs; /* absolute, root.path resolved against the bundle */
        int state_dirfd;    /* the container's state directory (exec.fifo lives there) */
        int cgroup_dirfd;   /* cgroup2 directory for CLONE_INTO_CGROUP, -1 for none */
        const char *cgroup_path;
        int console_socket_fd; /* -1 unless process.terminal */
        int preserve_fds;
        bool no_pivot;
        bool no_new_keyring; /* keep the caller's session keyring instead of a new one named after id */
        bool wait_for_start; /* create: the init blocks on exec.fifo until `start` opens it */
        const struct seccomp_program *seccomp; /* NULL = none; built by the caller */
        /* Or: the config, compiled in the parent after clone while the child mounts (seccomp NULL). */
        const struct oci_seccomp *seccomp_config;
        /* Called in the parent, if set, as soon as the init's pid is final while the child still sets
         * itself up (direct path only; never on the staged one): the caller records its state meanwhile. */
        int (*on_spawned)(void *userdata, pid_t pid, struct coi_error *err);
        /* Called in the parent at the createRuntime point with the init's pid (hooks need the state). */
        int (*on_create_runtime)(void *userdata, pid_t pid, struct coi_error *err);
        void *userdata;
};

/* Spawns the container's init. Returns once the init is set up and either waiting on exec.fifo
 * (wait_for_start) or already exec'd. Errors inside the child come back as err with the child's message. */
int linux_container_spawn(struct coi_context *ctx, const struct linux_spawn *spawn, pid_t *ret_pid,
                          struct coi_error *err);

struct linux_exec {
        pid_t init_pid;                    /* join this process's namespaces */
        const char *id;                    /* the container's id: names its session keyring */
        bool no_new_keyring;               /* the container was created with --no-new-keyring */
        const struct oci_config *config;   /* the container's config (for namespaces, seccomp, rootfs) */
        const struct oci_process *process; /* what to run */
        const char *cgroup_path;           /* join this cgroup, may be NULL */
        int console_socket_fd;
        int preserve_fds;
        const struct seccomp_program *seccomp;
};

/* Spawns a process inside the running container; returns its pid (a child of the caller). */
int linux_exec_spawn(struct coi_context *ctx, const struct linux_exec *exec, pid_t *ret_pid,
                     struct coi_error *err);
