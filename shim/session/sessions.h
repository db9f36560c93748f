/* sessions.h — saved agent state in ~/.coi/sessions-<tool>/<id>/ (state + metadata.json): atomic store,
 * --resume lookup, listing, deletion; and the host credential files each tool gets. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coi-runtime.h"

/* metadata.json. The first six fields are code-on-incus's (same names, same meaning), the rest are
 * coi's additions; a file written by code-on-incus reads fine (missing fields are NULL/0). */
struct session_meta {
        char *session_id;
        char *container_name;
        bool persistent;
        char *profile_name; /* "" if none */
        char *workspace;    /* struct workspace.path */
        char *saved_at;     /* RFC 3339 with the local offset, updated by every save */
        char *tool;         /* "claude", "opencode" */
        int slot;
        char *created_at; /* RFC 3339, the first save; kept by later saves */
};

void session_meta_free(struct session_meta *m);
static inline void session_meta_freep(struct session_meta **m)
{
        session_meta_free(*m);
}
void session_meta_list_free(struct session_meta **list);
static inline void session_meta_list_freep(struct session_meta ***l)
{
        session_meta_list_free(*l);
}

/* "<coi_dir>/sessions-<tool>" (coi_dir is ~/.coi). Allocated, NULL on ENOMEM. */
char *sessions_dir_for(const char *coi_dir, const char *tool);

/* A random version 4 UUID, lowercase. */
int session_id_new(char ret[37], struct coi_error *err);
/* Session ids name directories: [A-Za-z0-9_-][A-Za-z0-9._-]*, at most 128 bytes. */
int session_id_check(const char *id, struct coi_error *err);

/* Saving. session_stage_begin makes <dir>/.tmp-<id>-XXXXXX (dir created if missing) for the caller to
 * copy the tool's state into (e.g. <staging>/.claude/). session_stage_commit writes metadata.json into
 * it, syncs it, and swaps it into place as <dir>/<id> in one rename: readers see the old session or the
 * new one, never a mix; the previous state is removed afterwards. created_at is taken over from the
 * session being replaced; saved_at is set to now. A crash leaves only a .tmp-* directory, which no
 * listing shows and sessions_remove_stale() deletes. session_stage_abort removes the staging dir. */
int session_stage_begin(const char *dir, const char *id, char **ret_staging, struct coi_error *err);
int session_stage_commit(const char *dir, const char *staging, const struct session_meta *meta,
                         struct coi_error *err);
void session_stage_abort(const char *staging);
/* Writes only metadata.json (atomically) into <dir>/<id>/, creating it: saved at session start so
 * `coi list` shows the session while it runs. */
int session_save_metadata(const char *dir, const struct session_meta *meta, struct coi_error *err);
/* Removes .tmp-* and .old-* directories older than min_age_sec (left by crashed saves). */
int sessions_remove_stale(const char *dir, int64_t min_age_sec, struct coi_error *err);

int session_load(const char *dir, const char *id, struct session_meta **ret, struct coi_error *err);
/* Every session with a readable metadata.json, newest saved_at first; a missing dir is an empty list. */
int sessions_list(const char *dir, struct session_meta ***ret, size_t *ret_n, struct coi_error *err);
/* True if meta belongs to the workspace: its workspace field equals path, or (older files without
 * one) its container name carries path's hash. */
bool session_matches_workspace(const struct session_meta *meta, const char *workspace_path);

/* --resume: the newest session of this workspace (ENOENT "no saved session for workspace X"). */
int session_find_latest(const char *dir, const char *workspace_path, struct session_meta **ret,
                        struct coi_error *err);
/* --resume=ID: that session, which must exist (ENOENT naming it) and belong to this workspace (EACCES
 * naming both workspaces). */
int session_find(const char *dir, const char *id, const char *workspace_path, struct session_meta **ret,
                 struct coi_error *err);

/* coi clean --sessions: one, or all (the sessions-<tool> directory's entries, not the directory). */
int session_delete(const char *dir, const char *id, struct coi_error *err);
int sessions_delete_all(const char *dir, size_t *ret_n, struct coi_error *err);

/* A host file copied into the container's home before the tool starts. */
struct credential_file {
        char *host;          /* absolute host path */
        char *container_rel; /* relative to the container user's home: ".claude/.credentials.json" */
        bool secret;         /* holds tokens: copy with mode 0600 */
};
void credential_files_free(struct credential_file *v, size_t n);

/* The complete list of host files tool may receive from home (whether they exist or not: the caller
 * copies the regular files that do). Nothing else of the host home is ever copied. EINVAL for an unknown
 * tool. */
int credential_files(const char *tool, const char *home, struct credential_file **ret, size_t *ret_n,
                     struct coi_error *err);
