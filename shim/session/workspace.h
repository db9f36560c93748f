/* workspace.h — the workspace of `coi shell`/`coi run`: its absolute path, owner, container name, mount
 * target, and the protected paths (git hooks, IDE configs) resolved safely into a list for the mount layer. */
#pragma once

#include <sys/stat.h>

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "coi-runtime.h"

#define WORKSPACE_CONTAINER_ROOT "/workspace"
#define WORKSPACE_PREFIX_DEFAULT "coi-"

struct workspace {
        /* Absolute and lexically cleaned like Go's filepath.Abs (the working directory as $PWD names it
         * when $PWD is the current directory, so a symlinked parent is kept): what code-on-incus hashes
         * into the container name and stores in session metadata. */
        char *path;
        /* The same directory with every symlink resolved: the host source of the workspace mount and the
         * root that protected paths are resolved against. */
        char *real_path;
        uid_t uid; /* the host user who owns the session: SUDO_UID under sudo, else getuid() */
        gid_t gid;
        char hash[9]; /* first 8 hex digits of sha256(path) */
};

void workspace_free(struct workspace *ws);
static inline void workspace_freep(struct workspace **ws)
{
        workspace_free(*ws);
}

struct workspace_options {
        const char *cwd; /* NULL: $PWD if it names the current directory, else getcwd() (as Go's Getwd) */
        char *const *environ; /* NULL: the process environment (PWD, SUDO_UID, SUDO_GID) */
        bool set_ids;         /* use uid/gid below as the caller's ids (tests); else getuid()/getgid() */
        uid_t uid;
        gid_t gid;
};

/* arg is `-w` (NULL or "" = "."). The directory must exist. opts may be NULL. */
int workspace_resolve(const char *arg, const struct workspace_options *opts, struct workspace **ret,
                      struct coi_error *err);

/* Lexical absolute path (Go filepath.Abs): joins relative paths to cwd, removes "." and "//", and
 * resolves ".." textually. Allocated. */
char *workspace_abs_path(const char *path, const char *cwd);

/* The owner the container's user 1000 stands for: SUDO_UID/SUDO_GID from environ when uid is 0 and
 * they are set; else, for root, the owner of the workspace directory dir (root in a checkout of a CI
 * runner's user acts for that user); else uid/gid. */
int workspace_owner(char *const *environ, uid_t uid, gid_t gid, const struct stat *dir, uid_t *ret_uid,
                    gid_t *ret_gid, struct coi_error *err);

/* sha256(path) as 8 hex digits + NUL. */
void workspace_hash(const char *path, char ret[9]);

/* "<prefix><hash>-<slot>"; prefix NULL = $COI_CONTAINER_PREFIX if set and non-empty, else "coi-".
 * Allocated, NULL on ENOMEM. */
char *workspace_container_name(const char *path, int slot, const char *prefix);
/* The container name prefix in effect: $COI_CONTAINER_PREFIX or "coi-" (environ NULL = process env). */
const char *workspace_container_prefix(char *const *environ);
/* Splits "<prefix><8 hex>-<slot>"; -EINVAL if name has another shape. */
int workspace_parse_container_name(const char *name, const char *prefix, char ret_hash[9], int *ret_slot);

/* Where the workspace appears in the container: /workspace, or its host path with
 * preserve_workspace_path (refused, EINVAL, for paths under /etc, /usr, /proc, ... ). Allocated. */
int workspace_mount_target(const struct workspace *ws, bool preserve_path, char **ret, struct coi_error *err);

enum protect_kind {
        PROTECT_DIR,
        PROTECT_FILE,
};

struct protected_mount {
        char *rel;       /* the configured entry, cleaned: ".git/hooks" */
        char *host;      /* absolute host path, symlinks resolved: the read-only mount's source */
        char *container; /* absolute path in the container where it is mounted read-only */
        enum protect_kind kind;
        /* The path does not exist yet: create an empty placeholder (directory or empty file per kind,
         * missing parents as directories, owned by the workspace owner) at host, then mount it. */
        bool must_create;
        /* With must_create: the topmost path that does not exist yet (host itself or a missing parent,
         * e.g. <ws>/.git for .git/hooks in a directory that is no repository): what the mount layer
         * creates, and may remove again when the session ends. NULL otherwise. */
        char *first_missing;
};

struct protected_list {
        struct protected_mount *v;
        size_t n;
        /* A linked worktree's git common directory (absolute, outside the workspace), or NULL. The mount
         * layer must mount it read-write at the same path in the container; some entries above lie in it. */
        char *git_common_dir;
        char **warnings; /* entries skipped, one sentence each; NULL if none */
};

void protected_list_free(struct protected_list *l);
static inline void protected_list_freep(struct protected_list **l)
{
        protected_list_free(*l);
}

struct protect_options {
        char *const *protected_paths;            /* [security] protected_paths (NULL = none) */
        char *const *additional_protected_paths; /* [security] additional_protected_paths */
        bool disable_protection;                 /* [security] disable_protection: empty list */
        bool writable_hooks;                     /* [git] writable_hooks: .git/hooks is not protected */
};

/* Resolves the protected paths of ws for a workspace mounted at container_root. Entries are relative
 * paths without "..": an absolute entry or one with a ".." component is refused (EINVAL). See
 * docs/sessions.md for symlinks, worktrees and missing paths. */
int workspace_protected_paths(const struct workspace *ws, const char *container_root,
                              const struct protect_options *opts, struct protected_list **ret,
                              struct coi_error *err);
