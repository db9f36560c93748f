/* sync.h — the parent/child sync channel of spawn and exec: a SOCK_SEQPACKET socketpair, one message
 * per send (a header, a payload, fds); errors of a child travel back on it as SYNC_ERROR. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "coi-runtime.h"

enum sync_type {
        SYNC_ERROR = 1,    /* child → parent: value = errno, payload = message */
        SYNC_USERNS_READY, /* child → parent: it unshared its user namespace (staged start) */
        SYNC_GO,       /* parent → child: maps written; value = setgroups denied; fds = idmapped mounts */
        SYNC_INIT_PID, /* child → parent: value = the pid of the process that will exec; child exits */
        SYNC_CREATE_RUNTIME, /* child → parent: mounts ready, before pivot_root: run createRuntime */
        SYNC_RESUME,         /* parent → child: go on; payload = the state JSON for the child's hooks */
        SYNC_READY,          /* child → parent: about to wait for start / exec; payload = timings */
        SYNC_SECCOMP,        /* parent → child: value = filter flags, payload = the BPF instructions */
};

struct sync_hdr {
        uint32_t type;
        int32_t value;
};

#define SYNC_MAX_PAYLOAD 65536
#define SYNC_MAX_FDS     253 /* SCM_MAX_FD */

struct sync_msg {
        struct sync_hdr hdr;
        char *payload; /* NUL-terminated */
        size_t len;
        int *fds;
        size_t n_fds;
};

void sync_msg_done(struct sync_msg *m);
int sync_send(int fd, enum sync_type type, int32_t value, const void *payload, size_t len, const int *fds,
              size_t n_fds);
/* Receives one message; returns 0, -EPIPE at EOF (the other side exited or exec'd), or -errno. */
int sync_recv(int fd, struct sync_msg *ret);
/* Waits for a message of `want`; a SYNC_ERROR becomes err, exactly as the child wrote it. */
int sync_expect(int fd, enum sync_type want, const char *who, struct sync_msg *ret, struct coi_error *err);
/* Reports err to the parent and exits; used by every child. When the parent no longer listens (after
 * start), nobody can return the error any more: it goes to ctx's log callback at COI_LOG_ERROR, the
 * only level the library uses for exactly this (coi-runtime prints it as it prints its own errors). */
_Noreturn void sync_child_fail(const struct coi_context *ctx, int sync_fd, const struct coi_error *err);
