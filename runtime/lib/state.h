/* state.h — the per-container state directory under the state root: state.json (written atomically),
 * the lock, the config snapshot, exec.fifo, and the live status derived from the recorded process. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "coi-runtime.h"

#define STATE_FILE  "state.json"
#define CONFIG_FILE "config.json" /* the config exactly as create was given it */
#define FIFO_FILE   "exec.fifo"   /* present from create until start */

/* What the runtime records about a container (the public state plus what detects pid reuse). */
struct state_record {
        struct coi_state pub; /* pub.status is the recorded one; state_status() derives the live one */
        uint64_t start_time;  /* field 22 of /proc/PID/stat when the init was spawned */
        char oci_version[32]; /* ociVersion of the config */
        bool cgroup_created;  /* we made pub.cgroup_path and remove it on delete */
        int poststop_hooks;   /* how many the config has; -1 = unknown (delete then reads the config) */
        bool no_new_keyring;  /* created with --no-new-keyring: exec'd processes keep the caller's too */
        int64_t owner_uid;    /* the creator's euid (-1: unknown); pub.owner is its name, looked up
                               * only when shown (state_resolve_owner): a passwd lookup costs ~0.1 ms */
};

/* Ids as runc accepts them: [A-Za-z0-9][A-Za-z0-9_.+-]*, at most 1024 bytes. */
int state_validate_id(const char *id, struct coi_error *err);

/* Opens the state root of ctx, creating it (0700) if create is set. */
int state_root_open(const struct coi_context *ctx, bool create, int *ret_rootfd, struct coi_error *err);
/* mkdir <root>/<id>; EEXIST → "container X already exists". */
int state_dir_create(int rootfd, const char *id, int *ret_dirfd, struct coi_error *err);
/* Opens <root>/<id>; ENOENT → "container X does not exist". */
int state_dir_open(int rootfd, const char *id, int *ret_dirfd, struct coi_error *err);
/* Removes <root>/<id> and the files the runtime put there (the emptied directory may stay as a spare
 * for the next create, see state.c). lockfd (or -1): the caller's lock on it, released before it goes. */
int state_dir_remove(int rootfd, const char *id, int lockfd, struct coi_error *err);

/* flock on the directory <id> itself, waiting up to timeout_ms (-1: forever, 0: try once). Returns the lock fd. */
int state_lock(int dirfd, const char *id, bool exclusive, int timeout_ms, int *ret_lockfd,
               struct coi_error *err);

/* Replaces name in dirfd atomically (temporary file + rename) but without fsync: the state root lives
 * in /run, which a reboot empties anyway, and an fsync costs milliseconds where /run is on disk. */
int state_write_file(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                     struct coi_error *err);
/* Creates name (O_EXCL) and writes it in place: for files nobody reads before they are complete. */
int state_write_new_file(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                         struct coi_error *err);
int state_write(int dirfd, const struct state_record *rec, struct coi_error *err);
int state_read(int dirfd, const char *id, struct state_record *ret_rec, struct coi_error *err);
void state_record_done(struct state_record *rec);
/* Fills rec->pub.owner from rec->owner_uid if it is not set yet. */
void state_resolve_owner(struct state_record *rec);

/* The live status: init gone (or pid reused) → stopped; cgroup frozen → paused; exec.fifo still
 * there → created; else running. A "creating" record whose creator died is stopped too. */
enum coi_status state_status(int dirfd, const struct state_record *rec);
/* true if pid runs and is the process that had start_time. */
bool state_process_alive(pid_t pid, uint64_t start_time);
/* Field 22 of /proc/PID/stat (start time in clock ticks since boot). */
int process_start_time(pid_t pid, uint64_t *ret_start_time);

/* The OCI state document (runtime-spec "state"), as hooks get it on stdin and `state` prints it. */
int state_oci_json(const struct coi_state *state, const char *oci_version, char **ret_json,
                   struct coi_error *err);

/* exec.fifo: made before spawn; the init opens it for writing and blocks until start reads. */
int state_fifo_create(int dirfd, const char *id, struct coi_error *err);
/* Opens the fifo for reading (which releases the blocked init), reads its byte, unlinks it. */
int state_fifo_release(int dirfd, const char *id, pid_t pid, struct coi_error *err);
