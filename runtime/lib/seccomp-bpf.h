/* seccomp-bpf.h — OCI seccomp (linux.seccomp) compiled with libseccomp into a BPF program in the parent,
 * installed in the child with one seccomp(2) call right before execve. */
#pragma once

#include <linux/filter.h>
#include <stdbool.h>

#include "coi-runtime.h"
#include "oci-config.h"

struct seccomp_program {
        struct sock_filter *filter; /* malloc'd */
        unsigned short len;
        unsigned int flags; /* SECCOMP_FILTER_FLAG_* from linux.seccomp.flags */
};

/* Compiles the OCI seccomp config. Unknown syscall names for the target arch are skipped (as runc and
 * crun do) and logged at debug; unknown actions, arches, flags or operators are errors. */
int seccomp_program_build(struct coi_context *ctx, const struct oci_seccomp *config,
                          struct seccomp_program *ret, struct coi_error *err);
/* Installs the filter in the calling thread. Needs no_new_privs or CAP_SYS_ADMIN in the current userns. */
int seccomp_program_install(const struct seccomp_program *prog, struct coi_error *err);
void seccomp_program_done(struct seccomp_program *prog);

/* Parse helpers used by oci-config.c (names as in the runtime spec). Return -EINVAL if unknown. */
int seccomp_action_from_name(const char *name, uint32_t errno_ret, uint32_t *ret_action);
int seccomp_arch_from_name(const char *name, uint32_t *ret_arch);
int seccomp_op_from_name(const char *name, int *ret_op);
bool seccomp_flag_is_known(const char *name);
