/* agent.h — how the AI tool is started inside the sandbox: its argv (Claude Code, opencode, or bash
 * with --debug) and the exact environment it gets, as arrays (nothing goes through a shell). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "coi-runtime.h"
#include "config/config.h"

/* Where the forwarded agent socket appears. Not code-on-incus's /tmp/ssh-agent.sock: the container's /tmp
 * is a tmpfs mounted when it starts, which would hide a socket bound there before. */
#define AGENT_SSH_SOCK_PATH "/var/lib/coi/ssh-agent.sock"
#define AGENT_DEFAULT_PATH  "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct agent_launch {
        const char *tool;            /* "claude" or "opencode" ([tool] name; NULL = "claude") */
        const char *binary;          /* [tool] binary; NULL or "" = the tool's name */
        const char *permission_mode; /* "bypass" (NULL) or "interactive" */
        const char *model;           /* [defaults] model; NULL or "" = the tool's default */
        const char *session_id;      /* coi's session id: a new Claude session gets it as --session-id */
        bool resume;                 /* --resume given */
        const char *resume_tool_id;  /* the tool's own id of the conversation to resume (NULL: the latest) */
        bool debug;                  /* --debug: bash instead of the tool */

        /* environment */
        const char *home;                     /* in the container, e.g. /home/code */
        const char *user;                     /* e.g. code */
        const char *term;                     /* host $TERM (sanitized), NULL = xterm-256color */
        char *const *host_environ;            /* where forward_env values come from (NULL = process env) */
        char *const *forward_env;             /* [defaults] forward_env: names */
        const struct config_env *environment; /* [defaults] environment */
        size_t n_environment;
        const char *timezone; /* from agent_timezone(), NULL = not set */
        bool ssh_agent;       /* [ssh] forward_agent and the socket is forwarded at AGENT_SSH_SOCK_PATH */
};

struct agent_command {
        char **argv;
        char **envp; /* NAME=VALUE, each name once */
};
void agent_command_free(struct agent_command *c);
static inline void agent_command_freep(struct agent_command **c)
{
        agent_command_free(*c);
}

/* Builds argv/envp. The environment is exactly: PATH, HOME, USER, TERM, IS_SANDBOX=1, SSH_AUTH_SOCK
 * (ssh_agent), TZ, [defaults] environment (may override TZ), and the forward_env names that are set on
 * the host (their host value wins over [defaults] environment, as in code-on-incus). EINVAL for an
 * unknown tool, a bad permission mode or an invalid variable name. */
int agent_command_build(const struct agent_launch *l, struct agent_command **ret, struct coi_error *err);

/* Only the environment of agent_command_build (for `coi run`'s command): a NULL-terminated strv. */
int agent_environment(const struct agent_launch *l, char ***ret, struct coi_error *err);

/* TERM for the container: "" and terminals whose terminfo the image may lack (ghostty, kitty, wezterm,
 * alacritty, tmux-/screen-256color) become xterm-256color. */
const char *agent_sanitize_term(const char *term);

/* The TZ value for [timezone]: mode "utc" -> "UTC"; "fixed" -> name (must be an IANA-style name);
 * "host" -> the host's zone: $TZ (without a leading ':'), else the /etc/localtime link target below
 * zoneinfo/, else /etc/timezone, else "UTC". root is prepended to /etc paths (tests; NULL = "").
 * host_environ NULL = process env. Allocated in *ret. */
int agent_timezone(const char *mode, const char *name, char *const *host_environ, const char *root,
                   char **ret, struct coi_error *err);

/* The newest Claude Code conversation saved in a session: the newest <uuid>.jsonl (by mtime) in
 * <state_dir>/projects/<encoded container workspace>/, where the container workspace path is encoded
 * as Claude Code does (every character other than [A-Za-z0-9] becomes '-': /workspace -> -workspace).
 * *ret is NULL (and 0 returned) when there is none. */
int agent_claude_find_conversation(const char *state_dir, const char *container_workspace, char **ret,
                                   struct coi_error *err);
/* "-workspace" for "/workspace". Allocated. */
char *agent_claude_project_dir(const char *container_workspace);

/* JSON merged into the tool's settings file in the container (Claude: ~/.claude/settings.json, opencode:
 * ~/.config/opencode/opencode.json) so the sandbox needs no prompts: Claude's bypass settings and
 * effort level; opencode's permission "allow" and (context_path set) "instructions": [context_path].
 * See sandbox-context.h for the merge. */
int agent_sandbox_settings(const char *tool, const char *permission_mode, const char *effort_level,
                           const char *context_path, char **ret_json, struct coi_error *err);

/* [ssh] forward_agent. ssh-agent answers only its own user and root, and the sandbox's user is neither
 * on the host, so its socket is not bind-mounted as it is: a relay listens on listen_path (created,
 * owned uid:gid, mode 0600: the session mounts it, idmapped, at AGENT_SSH_SOCK_PATH) and passes each
 * connection to agent_path, connecting as uid:gid. It runs in a process of its own (own session, none
 * of our fds) that ends on SIGTERM, or once alive_path (the container's cgroup) is gone after it existed
 * (or never appeared within a minute); it then removes listen_path and its directory if empty. */
int agent_ssh_relay_start(const char *agent_path, const char *listen_path, uid_t uid, gid_t gid,
                          const char *alive_path, pid_t *ret_pid, struct coi_error *err);
/* SIGTERM to the relay, and waits for it. pid <= 0: nothing. */
void agent_ssh_relay_stop(pid_t pid);
