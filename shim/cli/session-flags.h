/* session-flags.h — the flags `coi shell` and `coi run` share beyond the global ones (--tool,
 * --backend, --network, -e/--env, --mount: table entries for their flag lists), and struct
 * session_flags filled from a parsed command line. */
#pragma once

#include "cli.h"
#include "session/session-run.h"

/* Entries for a command's flag list (before its { 0 }). coi's own: code-on-incus 0.8 has none of them
 * (docs/shim.md says why coi keeps them). */
/* clang-format off */
#define SESSION_SHARED_FLAGS                                                                                 \
        { .name = "tool", .type = CLI_STRING,                                                                \
          .help = "the agent: claude or opencode (default: [tool] name)" },                                  \
        { .name = "backend", .type = CLI_STRING, .help = "native (the default) or incus" },                  \
        { .name = "network", .type = CLI_STRING,                                                             \
          .help = "network mode: restricted, allowlist or open (default: [network] mode)" },                 \
        { .name = "env", .shorthand = 'e', .type = CLI_STRINGS,                                              \
          .help = "KEY=VALUE for the sandbox's environment (repeatable)" },                                  \
        { .name = "mount", .type = CLI_STRINGS, .help = "HOST:CONTAINER[:ro] to mount as well (repeatable)" }
/* clang-format on */

void session_flags_done(struct session_flags *f);

/* Refuses --backend incus ("the incus backend is not implemented yet"): 0 or exit code 2 (printed). */
int session_check_backend(const struct session_flags *f);

/* f from call: the global flags (-w, --slot, --image, --persistent, --resume/--continue, --profile) and,
 * when call's command has them, the shared ones above (`coi` alone runs shell with the root's call,
 * which has none: their defaults). Checks the values; returns 0 or an exit code after printing why.
 * f's strings point into call; session_flags_done(f) frees the rest. */
int session_flags_from_call(const struct cli_call *call, struct session_flags *f);

/* A string flag of call's own command, NULL when empty or when the command does not have the flag. */
const char *session_own_str(const struct cli_call *call, const char *name);
/* A bool flag of call's own command; false when the command does not have it. */
bool session_own_bool(const struct cli_call *call, const char *name);
