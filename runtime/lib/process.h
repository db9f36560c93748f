/* process.h — the last steps of every process the runtime starts in a container (the init and exec'd
 * ones): limits, cwd, fds, no_new_privs, seccomp, the privilege drop, the wait for start, execve. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "coi-runtime.h"
#include "oci-config.h"
#include "seccomp-bpf.h"

/* Points of the init's setup, timed for --timings. */
enum phase {
        PHASE_CLONE,
        PHASE_IDMAPS,
        PHASE_MOUNTS,
        PHASE_FILTER,
        PHASE_PIVOT,
        PHASE_CAPS,
        PHASE_READY,
        _PHASE_MAX
};
const char *phase_to_string(enum phase phase);

struct finalize {
        struct coi_context *ctx;
        const struct oci_config *config; /* for startContainer hooks (init only), else NULL */
        const struct oci_process *proc;
        const struct seccomp_program *seccomp;
        const char *state_json;
        int sync_fd;
        int fifo_fd; /* O_PATH to exec.fifo, or -1 */
        int fifo_dirfd;
        int console_slave; /* -1 unless terminal */
        int preserve_fds;
        bool setgroups_denied;
        bool report_ready; /* send SYNC_READY (the parent of a run/exec waits for EOF after it) */
        bool start_hooks;  /* the init runs startContainer hooks; exec'd processes don't */
        uint64_t *timings;
};

/* Applies the process's limits, cwd, fds, privileges and seccomp, waits for start (fifo_fd >= 0) and
 * execs the process. Returns only on error. */
int finalize_and_exec(struct finalize *f, struct coi_error *err);
/* Our ids are still the host's (unmapped in the new namespace: files we create would fail with
 * EOVERFLOW); become the namespace's root, which keeps the full capability set there. */
int become_userns_root(struct coi_error *err);
