/* session-flags.h — parsing the global flags of the session commands into struct session_flags
 * (session/session-run.h), for cmd-run.c and cmd-shell.c. */
#pragma once

#include "session/session-run.h"

void session_flags_done(struct session_flags *f);

/* If argv[*i] is a global flag, consumes it (and its value) and returns 1; 0 if it is not one; -1 after
 * printing a usage error. */
int session_flag(int argc, char **argv, int *i, struct session_flags *f);

/* Refuses --backend incus ("the incus backend is not implemented yet"): 0 or exit code 2 (printed). */
int session_check_backend(const struct session_flags *f);
