/* seccomp.c — OCI linux.seccomp: spec names → libseccomp values, the filter compiled to BPF in the
 * parent, and the single seccomp(2) call that installs it in the child. No notify listener support. */
#include <errno.h>
#include <limits.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <seccomp.h>

#include "seccomp-bpf.h"
#include "util.h"

#define SECCOMP_ARGS_MAX  6
#define SECCOMP_ERRNO_MAX 4095 /* the kernel's MAX_ERRNO; larger SECCOMP_RET_ERRNO data is clamped */
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5) /* Linux 5.19 */
#endif

struct name_value {
        const char *name;
        uint32_t value;
};

static const struct name_value *lookup(const struct name_value *table, size_t n, const char *name);
static void seccomp_releasep(scmp_filter_ctx *filter);
static int action_check(uint32_t action, bool has_errno_ret, uint32_t errno_ret, const char *where,
                        struct coi_error *err);
static uint32_t action_with_errno(uint32_t action, bool has_errno_ret, uint32_t errno_ret);
static int add_syscall_rule(struct coi_context *ctx, scmp_filter_ctx filter, uint32_t default_action,
                            const struct oci_seccomp_syscall *rule, size_t rule_index, struct coi_error *err);
static int export_bpf(scmp_filter_ctx filter, struct sock_filter **ret_filter, unsigned short *ret_len,
                      struct coi_error *err);

/* Every architecture the runtime spec lists that this libseccomp knows. */
static const struct name_value arch_table[] = {
        { "SCMP_ARCH_X86", SCMP_ARCH_X86 },
        { "SCMP_ARCH_X86_64", SCMP_ARCH_X86_64 },
        { "SCMP_ARCH_X32", SCMP_ARCH_X32 },
        { "SCMP_ARCH_ARM", SCMP_ARCH_ARM },
        { "SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64 },
        { "SCMP_ARCH_MIPS", SCMP_ARCH_MIPS },
        { "SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64 },
        { "SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32 },
        { "SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL },
        { "SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64 },
        { "SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32 },
        { "SCMP_ARCH_PPC", SCMP_ARCH_PPC },
        { "SCMP_ARCH_PPC64", SCMP_ARCH_PPC64 },
        { "SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE },
        { "SCMP_ARCH_S390", SCMP_ARCH_S390 },
        { "SCMP_ARCH_S390X", SCMP_ARCH_S390X },
        { "SCMP_ARCH_PARISC", SCMP_ARCH_PARISC },
        { "SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64 },
        { "SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64 },
#ifdef SCMP_ARCH_LOONGARCH64
        { "SCMP_ARCH_LOONGARCH64", SCMP_ARCH_LOONGARCH64 },
#endif
#ifdef SCMP_ARCH_M68K
        { "SCMP_ARCH_M68K", SCMP_ARCH_M68K },
#endif
#ifdef SCMP_ARCH_SH
        { "SCMP_ARCH_SH", SCMP_ARCH_SH },
        { "SCMP_ARCH_SHEB", SCMP_ARCH_SHEB },
#endif
};

static const struct name_value op_table[] = {
        { "SCMP_CMP_NE", SCMP_CMP_NE },
        { "SCMP_CMP_LT", SCMP_CMP_LT },
        { "SCMP_CMP_LE", SCMP_CMP_LE },
        { "SCMP_CMP_EQ", SCMP_CMP_EQ },
        { "SCMP_CMP_GE", SCMP_CMP_GE },
        { "SCMP_CMP_GT", SCMP_CMP_GT },
        { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

/* The flags the runtime spec allows in linux.seccomp.flags, with their kernel bits. */
static const struct name_value flag_table[] = {
        { "SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC },
        { "SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG },
        { "SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW },
        { "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV },
};

int seccomp_action_from_name(const char *name, uint32_t errno_ret, uint32_t *ret_action)
{
        /* errno_ret 0 means "not given": ERRNO and TRACE then return EPERM, as runc does. */
        uint32_t code = errno_ret ? errno_ret : EPERM;

        if (!name)
                return -EINVAL;
        if (streq(name, "SCMP_ACT_KILL") || streq(name, "SCMP_ACT_KILL_THREAD"))
                *ret_action = SCMP_ACT_KILL_THREAD;
        else if (streq(name, "SCMP_ACT_KILL_PROCESS"))
                *ret_action = SCMP_ACT_KILL_PROCESS;
        else if (streq(name, "SCMP_ACT_TRAP"))
                *ret_action = SCMP_ACT_TRAP;
        else if (streq(name, "SCMP_ACT_ERRNO"))
                *ret_action = SCMP_ACT_ERRNO(code);
        else if (streq(name, "SCMP_ACT_TRACE"))
                *ret_action = SCMP_ACT_TRACE(code);
        else if (streq(name, "SCMP_ACT_ALLOW"))
                *ret_action = SCMP_ACT_ALLOW;
        else if (streq(name, "SCMP_ACT_LOG"))
                *ret_action = SCMP_ACT_LOG;
        else if (streq(name, "SCMP_ACT_NOTIFY"))
                *ret_action = SCMP_ACT_NOTIFY;
        else
                return -EINVAL;
        return 0;
}

int seccomp_arch_from_name(const char *name, uint32_t *ret_arch)
{
        const struct name_value *nv = lookup(arch_table, ELEMENTSOF(arch_table), name);
        if (!nv)
                return -EINVAL;
        *ret_arch = nv->value;
        return 0;
}

int seccomp_op_from_name(const char *name, int *ret_op)
{
        const struct name_value *nv = lookup(op_table, ELEMENTSOF(op_table), name);
        if (!nv)
                return -EINVAL;
        *ret_op = (int)nv->value;
        return 0;
}

bool seccomp_flag_is_known(const char *name)
{
        return lookup(flag_table, ELEMENTSOF(flag_table), name) != NULL;
}

/* Whether a process on this kernel can make system calls of arch (the arch the kernel reports in
 * seccomp_data is that of the entry path used). Profiles list the architectures of every host they
 * may run on (Docker's: x86 and arm families together); each one added costs compile time, program
 * length and JIT time at every container start, and a section for an arch the kernel never reports is
 * dead code. Hosts not listed here keep every architecture. */
static bool arch_reachable(uint32_t arch)
{
        switch (seccomp_arch_native()) {
        case SCMP_ARCH_X86_64:
                return arch == SCMP_ARCH_X86_64 || arch == SCMP_ARCH_X86 || arch == SCMP_ARCH_X32;
        case SCMP_ARCH_AARCH64:
                return arch == SCMP_ARCH_AARCH64 || arch == SCMP_ARCH_ARM;
        default:
                return true;
        }
}

int seccomp_program_build(struct coi_context *ctx, const struct oci_seccomp *config,
                          struct seccomp_program *ret, struct coi_error *err)
{
        _cleanup_(seccomp_releasep) scmp_filter_ctx filter = NULL;
        unsigned int flags = 0;
        uint32_t default_action;
        int r;

        if (config->listener_path)
                return coi_error_set(err, ENOTSUP,
                                     "linux.seccomp.listenerPath %s: seccomp notify listeners "
                                     "are not supported",
                                     config->listener_path);
        for (char **f = config->flags; f && *f; f++) {
                const struct name_value *nv = lookup(flag_table, ELEMENTSOF(flag_table), *f);
                if (!nv)
                        return coi_error_set(err, EINVAL, "linux.seccomp.flags: unknown flag \"%s\"", *f);
                /* WAIT_KILLABLE_RECV only changes how a notify listener waits; the kernel refuses it
                 * without NEW_LISTENER, and we never create a listener. */
                if (streq(*f, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")) {
                        log_debug(ctx, "seccomp: %s ignored (no notify listener)", *f);
                        continue;
                }
                flags |= nv->value;
        }

        default_action = action_with_errno(config->default_action, config->has_default_errno_ret,
                                           config->default_errno_ret);
        r = action_check(default_action, config->has_default_errno_ret, config->default_errno_ret,
                         "linux.seccomp.defaultAction", err);
        if (r < 0)
                return r;
        filter = seccomp_init(default_action);
        if (!filter)
                return coi_error_set(err, EINVAL, "linux.seccomp.defaultAction 0x%x: libseccomp refuses it",
                                     default_action);
        /* The caller sets no_new_privs itself when process.noNewPrivileges asks for it; otherwise the
         * filter is installed with CAP_SYS_ADMIN. libseccomp must not decide that for us. */
        r = seccomp_attr_set(filter, SCMP_FLTATR_CTL_NNP, 0);
        if (r < 0)
                return coi_error_set(err, -r, "seccomp: clear the no_new_privs attribute: %s", strerror(-r));

        for (size_t i = 0; i < config->n_architectures; i++) {
                if (!arch_reachable(config->architectures[i])) {
                        log_debug(ctx,
                                  "seccomp: architecture 0x%x left out: no process on this kernel "
                                  "can make its system calls",
                                  config->architectures[i]);
                        continue;
                }
                r = seccomp_arch_add(filter, config->architectures[i]);
                if (r < 0 && r != -EEXIST) /* the native arch is always in the filter already */
                        return coi_error_set(err, -r, "linux.seccomp.architectures[%zu] 0x%x: %s", i,
                                             config->architectures[i], strerror(-r));
        }

        for (size_t i = 0; i < config->n_syscalls; i++) {
                r = add_syscall_rule(ctx, filter, default_action, &config->syscalls[i], i, err);
                if (r < 0)
                        return r;
        }

        r = export_bpf(filter, &ret->filter, &ret->len, err);
        if (r < 0)
                return r;
        ret->flags = flags;
        return 0;
}

int seccomp_program_install(const struct seccomp_program *prog, struct coi_error *err)
{
        struct sock_fprog fprog = { .len = prog->len, .filter = prog->filter };

        if (!prog->filter || prog->len == 0)
                return 0;
        long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, prog->flags, &fprog);
        if (r == 0)
                return 0;
        /* With TSYNC the kernel returns the id of a thread it could not synchronize. */
        if (r > 0)
                return coi_error_set(err, EBUSY,
                                     "install seccomp filter with TSYNC: thread %ld has an "
                                     "incompatible filter",
                                     r);
        /* Kernels before 3.17 have only the prctl() interface, which takes no flags. */
        if (errno == ENOSYS && prog->flags == 0 && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) == 0)
                return 0;
        if (errno == EACCES)
                return coi_error_set(err, EACCES,
                                     "install seccomp filter: needs no_new_privs or CAP_SYS_ADMIN "
                                     "in the current user namespace: %m");
        if (errno == EINVAL && prog->flags)
                return coi_error_set(err, EINVAL,
                                     "install seccomp filter with flags 0x%x: the kernel refuses "
                                     "these flags or the program: %m",
                                     prog->flags);
        return coi_error_set(err, errno, "install seccomp filter (%u instructions): %m", prog->len);
}

void seccomp_program_done(struct seccomp_program *prog)
{
        if (!prog)
                return;
        free(prog->filter);
        *prog = (struct seccomp_program){ 0 };
}

static bool action_takes_errno(uint32_t action)
{
        uint32_t kind = action & 0xffff0000U;
        return kind == SCMP_ACT_ERRNO(0) || kind == SCMP_ACT_TRACE(0);
}

/* errnoRet overrides whatever code the parser folded in (EPERM when it was absent). */
static uint32_t action_with_errno(uint32_t action, bool has_errno_ret, uint32_t errno_ret)
{
        if (!has_errno_ret || !action_takes_errno(action))
                return action;
        return (action & 0xffff0000U) | (errno_ret & 0xffffU);
}

static int action_check(uint32_t action, bool has_errno_ret, uint32_t errno_ret, const char *where,
                        struct coi_error *err)
{
        if (action == SCMP_ACT_NOTIFY)
                return coi_error_set(err, ENOTSUP,
                                     "%s: SCMP_ACT_NOTIFY is not supported (no seccomp notify "
                                     "listener)",
                                     where);
        if (has_errno_ret && errno_ret > SECCOMP_ERRNO_MAX)
                return coi_error_set(err, EINVAL, "%s: errnoRet %u out of range 0-%d", where, errno_ret,
                                     SECCOMP_ERRNO_MAX);
        return 0;
}

static bool args_repeat_an_index(const struct oci_seccomp_syscall *rule)
{
        for (size_t i = 0; i < rule->n_args; i++)
                for (size_t j = i + 1; j < rule->n_args; j++)
                        if (rule->args[i].index == rule->args[j].index)
                                return true;
        return false;
}

static int add_syscall_rule(struct coi_context *ctx, scmp_filter_ctx filter, uint32_t default_action,
                            const struct oci_seccomp_syscall *rule, size_t rule_index, struct coi_error *err)
{
        struct scmp_arg_cmp cmps[SECCOMP_ARGS_MAX];
        char where[64];
        uint32_t action;
        bool separate;
        int r;

        snprintf(where, sizeof(where), "linux.seccomp.syscalls[%zu]", rule_index);
        action = action_with_errno(rule->action, rule->has_errno_ret, rule->errno_ret);
        r = action_check(action, rule->has_errno_ret, rule->errno_ret, where, err);
        if (r < 0)
                return r;
        /* libseccomp refuses a rule whose action is the default one; it would change nothing anyway. */
        if (action == default_action)
                return 0;
        /* Several conditions on one argument can never hold together (arg0 == 1 && arg0 == 2), so, as in
         * runc and crun, each condition then becomes a rule of its own: the action applies if any holds. */
        separate = args_repeat_an_index(rule);
        if (!separate && rule->n_args > SECCOMP_ARGS_MAX)
                return coi_error_set(err, EINVAL, "%s: %zu argument conditions, at most %d", where,
                                     rule->n_args, SECCOMP_ARGS_MAX);
        for (size_t i = 0; i < rule->n_args; i++) {
                const struct oci_seccomp_arg *a = &rule->args[i];
                if (a->index >= SECCOMP_ARGS_MAX)
                        return coi_error_set(err, EINVAL, "%s.args[%zu]: index %u out of range 0-5", where, i,
                                             a->index);
                if (a->op < SCMP_CMP_NE || a->op > SCMP_CMP_MASKED_EQ)
                        return coi_error_set(err, EINVAL, "%s.args[%zu]: unknown operator %d", where, i,
                                             a->op);
                if (i < SECCOMP_ARGS_MAX)
                        cmps[i] = (struct scmp_arg_cmp){
                                .arg = a->index,
                                .op = (enum scmp_compare)a->op,
                                .datum_a = a->value,     /* the mask for MASKED_EQ */
                                .datum_b = a->value_two, /* the compared value for MASKED_EQ */
                        };
        }

        for (char **name = rule->names; name && *name; name++) {
                int nr = seccomp_syscall_resolve_name(*name);
                if (nr == __NR_SCMP_ERROR) {
                        log_debug(ctx, "seccomp: %s: syscall %s unknown on this architecture, skipped", where,
                                  *name);
                        continue;
                }
                if (!separate) {
                        r = seccomp_rule_add_array(filter, action, nr, (unsigned)rule->n_args,
                                                   rule->n_args ? cmps : NULL);
                        if (r < 0)
                                return coi_error_set(err, -r, "%s: add rule for %s: %s", where, *name,
                                                     strerror(-r));
                        continue;
                }
                for (size_t i = 0; i < rule->n_args; i++) {
                        const struct oci_seccomp_arg *a = &rule->args[i];
                        struct scmp_arg_cmp one = {
                                .arg = a->index,
                                .op = (enum scmp_compare)a->op,
                                .datum_a = a->value,
                                .datum_b = a->value_two,
                        };
                        r = seccomp_rule_add_array(filter, action, nr, 1, &one);
                        if (r < 0)
                                return coi_error_set(err, -r, "%s: add rule for %s (args[%zu]): %s", where,
                                                     *name, i, strerror(-r));
                }
        }
        return 0;
}

/* libseccomp 2.5 exports BPF only to a file descriptor: write it to a memfd and read it back. */
static int export_bpf(scmp_filter_ctx filter, struct sock_filter **ret_filter, unsigned short *ret_len,
                      struct coi_error *err)
{
        _cleanup_close_ int fd = memfd_create("coi-seccomp-bpf", MFD_CLOEXEC);
        _cleanup_free_ struct sock_filter *insns = NULL;
        struct stat st;
        size_t n, done = 0;
        int r;

        if (fd < 0)
                return coi_error_set(err, errno, "seccomp: memfd_create for the BPF export: %m");
        r = seccomp_export_bpf(filter, fd);
        if (r < 0)
                return coi_error_set(err, -r, "seccomp: export the BPF program: %s", strerror(-r));
        if (fstat(fd, &st) < 0)
                return coi_error_set(err, errno, "seccomp: stat the exported BPF program: %m");
        if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) != 0)
                return coi_error_set(err, EIO, "seccomp: exported BPF program has odd size %jd",
                                     (intmax_t)st.st_size);
        n = (size_t)st.st_size / sizeof(struct sock_filter);
        /* The kernel takes at most BPF_MAXINSNS instructions per filter. */
        if (n > BPF_MAXINSNS)
                return coi_error_set(err, E2BIG,
                                     "seccomp: the filter compiles to %zu BPF instructions, the "
                                     "kernel takes at most %d",
                                     n, BPF_MAXINSNS);
        insns = malloc((size_t)st.st_size);
        if (!insns)
                return coi_error_set(err, ENOMEM, "seccomp: allocate %jd bytes for the BPF program",
                                     (intmax_t)st.st_size);
        while (done < (size_t)st.st_size) {
                ssize_t k = pread(fd, (char *)insns + done, (size_t)st.st_size - done, (off_t)done);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return coi_error_set(err, errno, "seccomp: read back the BPF program: %m");
                if (k == 0)
                        return coi_error_set(err, EIO, "seccomp: BPF program truncated at %zu bytes", done);
                done += (size_t)k;
        }
        *ret_filter = TAKE_PTR(insns);
        *ret_len = (unsigned short)n;
        return 0;
}

static const struct name_value *lookup(const struct name_value *table, size_t n, const char *name)
{
        if (!name)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (streq(table[i].name, name))
                        return &table[i];
        return NULL;
}

static void seccomp_releasep(scmp_filter_ctx *filter)
{
        if (*filter)
                seccomp_release(*filter);
}
