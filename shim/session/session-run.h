/* session-run.h — the flow `coi shell` and `coi run` share: global flags → config → workspace → slot →
 * container (workspace + protected mounts) → credentials and saved state in → ... → state out, stop. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coi-runtime.h"
#include "config/config.h"
#include "config/limits.h"
#include "container/container.h"
#include "sessions.h"
#include "workspace.h"

#define SESSION_CODE_HOME "/home/code"
/* tmux's socket directory: not /tmp, which systemd may mount over after an early exec started tmux. */
#define SESSION_TMUX_TMPDIR "TMUX_TMPDIR=/var/tmp"

/* The flags every session command takes (code-on-incus's global flags). */
struct session_flags {
        const char *workspace; /* -w/--workspace, NULL = "." */
        int slot;              /* --slot N, 0 = choose */
        const char *image;     /* --image NAME, NULL = config (coi-default) */
        bool persistent;       /* --persistent */
        bool resume;           /* --resume / --continue */
        const char *resume_id; /* --resume=ID */
        const char *profile;   /* --profile NAME */
        const char *backend;   /* --backend native|incus */
        const char *tool;      /* --tool claude|opencode (shell) */
        const char *network;   /* --network restricted|allowlist|open, NULL = config */
        char **env;            /* -e/--env K=V (repeatable): [defaults] environment; owned, strv */
        char **mounts;         /* --mount HOST:CONTAINER[:ro] (repeatable): [[mounts.default]]; owned */
        char **settings;       /* config keys set by flags (--limit-*): KEY, VALUE, FLAG, …; owned */
};

struct session {
        struct config *cfg;
        struct workspace *ws;
        struct container_store *store;
        struct protected_list *prot;
        char *name; /* container name */
        int slot;
        bool persistent;
        bool reused;  /* a stopped persistent container was restarted */
        bool resumed; /* state restored from a saved session */
        bool running; /* resumed into its persistent container that still ran: nothing was launched */
        char *target; /* /workspace or the preserved host path */
        char *tool;   /* claude, opencode */
        char *sessions_dir;
        char id[129];
        uid_t code_uid;
        gid_t code_gid;
        char *code_user;
        struct idmap_allocation ids;
        char *network_mode;   /* the effective network mode (--network over [network] mode) */
        char *timezone;       /* TZ for the sandbox ([timezone]), NULL when it cannot be determined */
        bool ssh_agent;       /* the host's SSH agent is relayed to AGENT_SSH_SOCK_PATH */
        pid_t ssh_relay;      /* its relay process (agent.h); session_stop ends it, a detach leaves it */
        struct limits limits; /* [limits.*] with the --limit-* flags, checked against the host */
        bool has_limits;      /* any of them set: recorded with the container */
        uint64_t started_ns;  /* now_ns() before the launch: max_duration counts from about there */
};

void session_free(struct session *s);
/* ~/.coi/audit of the user coi acts for (SUDO_USER's home under sudo): the monitor's audit logs. */
char *session_audit_dir(void);
/* With [monitoring] enabled in c: starts the security monitor of the running container name (monitor.h),
 * unless one runs; else nothing. */
int session_monitor_start(struct container_store *store, const struct config *c, const char *name,
                          struct coi_error *err);
static inline void session_freep(struct session **s)
{
        session_free(*s);
}

struct session_start_options {
        bool no_wait;       /* `run`: exec as soon as init runs */
        bool save_metadata; /* write metadata.json at start (shell) */
        bool job;           /* `run`: the automatic seccomp profile is "strict" (seccomp-profile.h) */
        bool nesting;       /* `run --nesting`: containers inside; the "default" profile instead */
};

/* Resolves everything and launches (or restarts) the container; the state of a resumed session and the
 * host credentials are copied into the container's home. */
int session_start(const struct session_flags *f, const struct session_start_options *o, struct session **ret,
                  struct coi_error *err);

/* Returns once systemd in the session's container has booted (container_wait_booted), or after
 * CONTAINER_BOOT_TIMEOUT_MS with a line on stderr; at once for an init that is not systemd. */
void session_wait_booted(const struct session *s);

/* Copies the tool's state directory out of the container into the session store (atomic). */
int session_save(struct session *s, struct coi_error *err);

/* Stops the container (an ephemeral one is deleted), removes the protected-path placeholders coi created
 * if they are still empty. */
int session_stop(struct session *s, bool force, struct coi_error *err);

/* Fills the environment half of an agent_launch (home, user, forward_env, [defaults] environment with
 * the -e flags, TZ, the SSH agent) from the session: what `shell` gives the agent and `run` the command. */
struct agent_launch;
void session_agent_launch(const struct session *s, struct agent_launch *al);

/* Environment for an exec as the code user: PATH, HOME, USER, TERM, IS_SANDBOX. NULL-terminated. */
char **session_code_env(const char *term);

/* Host $HOME of the user who runs coi (SUDO_USER's home under sudo). Allocated. */
char *session_host_home(void);
/* "<dirname(paths.sessions_dir)>/sessions-<tool>". Allocated. */
char *session_dir_for_tool(const struct config *cfg, const char *tool);

/* Copies regular files and directories of src into dst (owned uid:gid), never following a symlink. */
int session_copy_tree(int src, int dst, uid_t uid, gid_t gid, int depth, struct coi_error *err);
