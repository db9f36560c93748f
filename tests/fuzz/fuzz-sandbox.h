/* fuzz-sandbox.h — the sandbox of the harnesses that unpack untrusted input into files (fuzz-sandbox.c). */
#pragma once

#include "coi-runtime.h"

/* From LLVMFuzzerInitialize: a private mount namespace (and user namespace when not root) in which every
 * mount is read-only but the working directory and the sentinel, a tmpfs there holding a canary;
 * RLIMIT_NOFILE 128. Aborts with a message if any step fails. */
void fuzz_sandbox_setup(void);
/* Creates the scratch directory for one input and returns an O_PATH fd of it. */
int fuzz_sandbox_scratch(void);
/* After one input whose processing returned r / err: aborts on an escape (EROFS, anything new next
 * to the scratch directory, the canary changed) or a refusal without message, then removes the
 * scratch directory (aborting if that fails). $COI_FUZZ_VERBOSE set: prints the outcome first. */
void fuzz_sandbox_done(int r, const struct coi_error *err);
