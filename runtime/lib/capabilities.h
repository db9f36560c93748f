/* capabilities.h — capability names ↔ numbers and the last privilege transition before execve: drop
 * the bounding set, switch uid/gid/groups keeping capabilities, set the four remaining sets (libcap). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "coi-runtime.h"
#include "oci-config.h"

#define CAPABILITY_NAME_MAX 40
#define CAPABILITY_MAX      64

/* 21 → "CAP_SYS_ADMIN" (libcap's table, upper case) into buf; "capability N" for one it doesn't know. */
const char *capability_name(int cap, char buf[static CAPABILITY_NAME_MAX]);
/* The names of every capability libcap knows (0 … CAP_LAST_CAP), at most max; returns the count. */
size_t capability_all(char names[][CAPABILITY_NAME_MAX], size_t max);

/* "CAP_SYS_ADMIN" → 21. Returns -EINVAL for an unknown name. */
int capability_from_name(const char *name, int *ret_cap);
/* Highest capability the running kernel knows (/proc/sys/kernel/cap_last_cap). */
int capability_last_cap(void);

/* In this order: bounding set dropped to caps->bounding; PR_SET_KEEPCAPS; setgroups (unless
 * setgroups_denied); setresgid; setresuid; effective/permitted/inheritable set; ambient raised. */
int capabilities_apply(const struct oci_capabilities *caps, uid_t uid, gid_t gid, const gid_t *groups,
                       size_t n_groups, bool setgroups_denied, struct coi_error *err);
