/* sandbox-context.h — ~/SANDBOX_CONTEXT.md, the page telling the agent what sandbox it runs in, and
 * how it reaches the tool: a managed block in ~/.claude/CLAUDE.md, an "instructions" entry for opencode. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

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
