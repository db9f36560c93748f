/* linux-internal.h — what linux.c, linux-init.c and linux-exec.c share: linux-common.c's clone3, namespace
 * flags, session keyring, cgroup entry and the parent's hold on its child; the init's start. Not API. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "linux.h"
#include "process.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* ---- linux-common.c ---- */

/* The clone flag of each OCI namespace type. */
extern const int ns_clone_flag[_OCI_NS_MAX];

/* clone3 as a fork (flags: namespaces, CLONE_PARENT), into the cgroup of cgroup_fd unless it is -1. */
pid_t clone3_fork(uint64_t flags, int cgroup_fd);
/* Joins a new session keyring named after the container id. */
int join_session_keyring(const char *id, struct coi_error *err);
/* Moves the calling process into the cgroup at cgroup_path (its cgroup.procs). */
int write_cgroup_procs(const char *cgroup_path, struct coi_error *err);

struct spawn_parent {
        pid_t child; /* the process we cloned (the init, or the staged middle) */
        pid_t init;  /* the init, once known */
        bool done;
};

/* Waits for pid, through EINTR. */
void reap(pid_t pid);
/* Kills and reaps what p holds unless p->done (for _cleanup_). */
void spawn_parent_cleanup(struct spawn_parent *p);

/* ---- linux-init.c ---- */

struct init_child {
        struct coi_context *ctx;
        const struct linux_spawn *spawn;
        int sync_fd;
        int fifo_fd;
        bool staged;            /* namespaces are joined/unshared here, not by clone3 */
        uint64_t unshare_flags; /* staged: the new namespaces; direct: the network namespace (see below) */
        bool late_ipc;          /* a new ipc namespace, made once we are root of the new user namespace */
        uint64_t timings[_PHASE_MAX];
};

/* The container's init, in the child after clone: its whole setup sequence, then execve. Returns only on
 * error (in err), which the caller sends to the parent. */
int init_run(struct init_child *c, struct coi_error *err);
