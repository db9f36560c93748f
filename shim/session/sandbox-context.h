/* sandbox-context.h — ~/SANDBOX_CONTEXT.md, the page telling the agent what sandbox it runs in, how it
 * reaches the tool (a managed block in ~/.claude/CLAUDE.md, opencode's "instructions"), and writing it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "coi-runtime.h"

#define SANDBOX_CONTEXT_FILE  "SANDBOX_CONTEXT.md" /* in the container user's home */
#define SANDBOX_CONTEXT_BEGIN "# BEGIN COI Sandbox Context (managed by coi - do not edit this block)"
#define SANDBOX_CONTEXT_END   "# END COI Sandbox Context (managed by coi)"

struct sandbox_context_info {
        const char *workspace; /* in the container: /workspace or the preserved host path */
        const char *home;      /* /home/code */
        const char *user;      /* code */
        bool persistent;
        const char *network_mode; /* restricted, allowlist, open; NULL/"" = none */
        bool ssh_agent;
        bool run_as_root;
        const char *os_name;          /* "" = "Linux container" */
        const char *architecture;     /* "" = the host's */
        char *const *protected_paths; /* relative entries actually mounted read-only */
        char *const *forwarded_env;   /* names */
        char *const *extra_mounts;    /* container paths */
        const char *timezone;         /* "" = UTC */
        const char *cpu_limit;
        const char *memory_limit;
        const char *max_duration;
        const char *tool; /* claude, opencode */
        const char *container_name;
        const char *custom_file;            /* [tool] context_file: used instead of the generated page */
        char *const *profile_context_files; /* config->context_files: appended, in order */
};

/* The page's Markdown. A missing custom or profile context file is an error naming it. */
int sandbox_context_render(const struct sandbox_context_info *info, char **ret, struct coi_error *err);

/* ~/.claude/CLAUDE.md with the context: existing (the copied host file, or NULL) keeps everything outside
 * a previous managed block, which is replaced (so repeated sessions never stack copies). */
int sandbox_context_claude_md(const char *existing, const char *context, char **ret, struct coi_error *err);

/* Merges the JSON object overlay into existing (NULL or "" = {}): objects merge key by key, arrays of
 * strings are united (existing order first, no duplicates), anything else from overlay wins. Used for
 * ~/.claude/settings.json and opencode.json. EINVAL if existing is not a JSON object. */
int sandbox_settings_merge(const char *existing, const char *overlay, char **ret, struct coi_error *err);

/* ---- writing into the container user's home ---- */

/* What sandbox_context_install writes. */
struct sandbox_context_files {
        const char *tool;             /* claude, opencode; another tool gets only the page */
        const char *page;             /* SANDBOX_CONTEXT.md's text */
        bool link;                    /* [tool] auto_context: the managed block in ~/.claude/CLAUDE.md */
        const char *settings_overlay; /* JSON merged into ~/.claude/settings.json or
                                       * ~/.config/opencode/opencode.json; NULL = none */
        uid_t uid;                    /* owner of what is written and created (host ids) */
        gid_t gid;
};

/* Writes ~/SANDBOX_CONTEXT.md, the CLAUDE.md block and the settings into home, the container user's home
 * directory. The sandbox owns that directory: nothing in it is followed (a symlink where a directory is
 * expected is an error, one where a file is expected is replaced), only regular files are read, each
 * file is replaced by rename. A settings file that is not a JSON object is EINVAL (left as it is). */
int sandbox_context_install(int home, const struct sandbox_context_files *f, struct coi_error *err);

/* mkdir -p of rel ('/'-separated, relative) below dirfd, each created level 0700 owned uid:gid; an
 * O_DIRECTORY fd of the last level in *ret_fd. Never follows a symlink (ELOOP/ENOTDIR). */
int sandbox_mkdirs_at(int dirfd, const char *rel, uid_t uid, gid_t gid, int *ret_fd, struct coi_error *err);
