/* container.h — what the lifecycle verbs (container.c) and exec (container-exec.c) share: --timings
 * phases, opening a container by id (state dir, lock, record, live status), the config snapshot. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "coi-runtime.h"
#include "oci-config.h"
#include "state.h"

#define CONFIG_MAX_BYTES (16u << 20)

/* Per-phase timings (--timings), logged at INFO. */
struct timer {
        const struct coi_context *ctx;
        const char *verb;
        uint64_t start, last;
};

struct timer timer_start(const struct coi_context *ctx, const char *verb);
void timer_phase(struct timer *t, const char *phase);

/* Opens the container's state dir and reads its record; the caller may take the lock in between. */
struct handle {
        int rootfd, dirfd, lockfd;
        struct state_record rec;
        enum coi_status status; /* live */
};

enum {
        NO_LOCK = 0,
        SHARED_LOCK = 1,
        EXCLUSIVE_LOCK = 2
};

/* lock: NO_LOCK, SHARED_LOCK or EXCLUSIVE_LOCK (waits up to 10 s). */
int handle_open(struct coi_context *ctx, const char *id, int lock, struct handle *h, struct coi_error *err);
void handle_done(struct handle *h);
/* An explicit unlock: a child we spawned may hold a duplicate of the lock fd (flock locks belong to
 * the open file description), and closing only our copy would leave the container locked. */
void unlock_and_close(int *lockfd);

/* Reloads the config snapshot taken at create. */
int load_snapshot(const struct handle *h, struct oci_config **ret_config, struct coi_error *err);
/* Runs the config's hooks of one kind with the state document (status as given) on stdin. */
int run_hooks(struct coi_context *ctx, const struct oci_config *config, enum oci_hook_kind kind,
              const struct state_record *rec, enum coi_status status, struct coi_error *err);
/* Waits (bounded; -1: forever) until pid has exited, via its pidfd; reaps it if it is our child. */
int wait_exit(pid_t pid, int timeout_ms, int *ret_status);
/* The console socket: fd_given (> 0, duplicated) or a connection to path. */
int connect_console_socket(const char *path, int fd_given, int *ret_fd, struct coi_error *err);
int write_pid_file(const char *path, pid_t pid, struct coi_error *err);
/* --cgroup-best-effort, or the run.coi.cgroup.best-effort annotation. */
bool best_effort(const struct coi_context *ctx, const struct oci_config *config);
int pidfd_send_signal_(int pidfd, int signo);
