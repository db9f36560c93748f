/* capabilities.c — capability names ↔ numbers, and the last privilege transition before execve:
 * bounding set, uid/gid/groups switch keeping capabilities, the remaining sets and ambient (libcap). */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "capabilities.h"
#include "util.h"

static void cap_freep(void *p);
static int drop_bounding_set(uint64_t keep, int last_cap, uint64_t *ret_bounding, struct coi_error *err);
static int set_process_sets(const struct oci_capabilities *caps, uint64_t known, uint64_t bounding,
                            struct coi_error *err);
static int raise_ambient_set(uint64_t ambient, int last_cap, struct coi_error *err);

#define CAP_BIT(c) (UINT64_C(1) << (c))

int capability_from_name(const char *name, int *ret_cap)
{
        /* Exact "CAP_FOO" match against libcap's table: cap_from_name() alone also takes "chown",
         * numbers and anything after a valid prefix ("CAP_CHOWN,CAP_KILL" parses as CAP_CHOWN). */
        if (!name || !startswith(name, "CAP_"))
                return -EINVAL;
        for (cap_value_t cap = 0; cap <= CAP_LAST_CAP; cap++) {
                _cleanup_(cap_freep) char *known = cap_to_name(cap);
                if (!known)
                        return -ENOMEM;
                if (!startswith(known, "cap_") || strlen(known) != strlen(name))
                        continue;
                bool same = true;
                for (size_t i = 4; same && name[i]; i++)
                        same = name[i] == toupper((unsigned char)known[i]);
                if (same) {
                        *ret_cap = cap;
                        return 0;
                }
        }
        return -EINVAL;
}

int capability_last_cap(void)
{
        static int cached = -1;
        _cleanup_fclose_ FILE *f = NULL;
        int last;

        if (cached >= 0)
                return cached;
        f = fopen("/proc/sys/kernel/cap_last_cap", "re");
        if (f && fscanf(f, "%d", &last) == 1 && last > 0 && last < 64)
                cached = last;
        else
                cached = CAP_LAST_CAP; /* no /proc yet: what libcap was built with */
        return cached;
}

/* With caps NULL or !caps->present only the ids change and the kernel's own rules apply: a switch to a
 * non-root uid then empties every set, uid 0 keeps what it had. */
int capabilities_apply(const struct oci_capabilities *caps, uid_t uid, gid_t gid, const gid_t *groups,
                       size_t n_groups, bool setgroups_denied, struct coi_error *err)
{
        int last_cap = capability_last_cap();
        /* Bits above the kernel's last capability name nothing it could grant; they are ignored. */
        uint64_t known = last_cap >= 63 ? UINT64_MAX : CAP_BIT(last_cap + 1) - 1;
        bool with_caps = caps && caps->present;
        uint64_t bounding = 0;
        int r;

        /* The bounding set first, while we still hold CAP_SETPCAP: PR_CAPBSET_DROP needs it in the
         * effective set, and the uid switch below clears the effective set. */
        if (with_caps) {
                r = drop_bounding_set(caps->bounding & known, last_cap, &bounding, err);
                if (r < 0)
                        return r;
                /* Without KEEPCAPS, setresuid() from uid 0 to a non-zero uid empties the permitted set,
                 * and we could not set the sets the config asks for afterwards. */
                if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                        return coi_error_set(err, errno, "prctl(PR_SET_KEEPCAPS): %m");
        }

        /* Groups before gid and uid: all three need CAP_SETGID/CAP_SETUID, which the uid switch drops.
         * In a user namespace whose /proc/PID/setgroups is "deny" (an unprivileged map writer had to
         * write it before gid_map) setgroups() always fails with EPERM: we keep the inherited groups,
         * which is acceptable only if the config asked for no extra ones. */
        if (setgroups_denied) {
                if (n_groups > 0)
                        return coi_error_set(err, EPERM,
                                             "setgroups %zu additional gids (first %u): setgroups "
                                             "is denied in this user namespace",
                                             n_groups, (unsigned)groups[0]);
        } else if (setgroups(n_groups, groups) < 0) {
                return coi_error_set(err, errno, "setgroups (%zu additional gids): %m", n_groups);
        }
        if (setresgid(gid, gid, gid) < 0)
                return coi_error_set(err, errno, "setresgid %u: %m", (unsigned)gid);
        if (setresuid(uid, uid, uid) < 0)
                return coi_error_set(err, errno, "setresuid %u: %m", (unsigned)uid);

        if (!with_caps)
                return 0;
        /* Permitted can only shrink and effective must lie within it; after setresuid to a non-zero
         * uid the effective set is empty, so it is set again here from the config. */
        r = set_process_sets(caps, known, bounding, err);
        if (r < 0)
                return r;
        /* Ambient last: the kernel accepts a capability there only if it is already in both the
         * permitted and the inheritable set, and ambient is what keeps capabilities across execve for a
         * non-root uid running files without file capabilities. */
        return raise_ambient_set(caps->ambient & known, last_cap, err);
}

static void cap_freep(void *p)
{
        if (*(void **)p)
                cap_free(*(void **)p);
}

const char *capability_name(int cap, char buf[static CAPABILITY_NAME_MAX])
{
        _cleanup_(cap_freep) char *name = cap_to_name(cap);
        size_t i;

        if (!name || !startswith(name, "cap_")) {
                snprintf(buf, CAPABILITY_NAME_MAX, "capability %d", cap);
                return buf;
        }
        for (i = 0; name[i] && i < CAPABILITY_NAME_MAX - 1; i++)
                buf[i] = (char)toupper((unsigned char)name[i]);
        buf[i] = '\0';
        return buf;
}

/* One prctl per capability on the usual path (we hold CAP_SETPCAP); it is on every container start.
 * *ret_bounding: the bounding set left, among the capabilities kept. */
static int drop_bounding_set(uint64_t keep, int last_cap, uint64_t *ret_bounding, struct coi_error *err)
{
        char name[40];
        uint64_t bounding = 0;

        for (int cap = 0; cap <= last_cap; cap++) {
                if (keep & CAP_BIT(cap)) {
                        if (prctl(PR_CAPBSET_READ, (unsigned long)cap, 0, 0, 0) == 1)
                                bounding |= CAP_BIT(cap);
                        continue;
                }
                if (prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0, 0, 0) < 0) {
                        if (errno == EINVAL)
                                continue; /* the kernel does not know it */
                        if (errno == EPERM) {
                                /* Without CAP_SETPCAP every drop fails, also of what is gone already. */
                                if (prctl(PR_CAPBSET_READ, (unsigned long)cap, 0, 0, 0) == 0)
                                        continue;
                                errno = EPERM;
                                return coi_error_set(err, EPERM,
                                                     "drop %s from the bounding set: needs "
                                                     "CAP_SETPCAP: %m",
                                                     capability_name(cap, name));
                        }
                        return coi_error_set(err, errno, "drop %s from the bounding set: %m",
                                             capability_name(cap, name));
                }
        }
        *ret_bounding = bounding;
        return 0;
}

static uint64_t cap_get_mask(cap_t state, cap_flag_t which, uint64_t known)
{
        uint64_t mask = 0;
        for (int cap = 0; cap < 64; cap++) {
                cap_flag_value_t v = CAP_CLEAR;
                if ((known & CAP_BIT(cap)) && cap_get_flag(state, cap, which, &v) == 0 && v == CAP_SET)
                        mask |= CAP_BIT(cap);
        }
        return mask;
}

static int first_bit(uint64_t mask)
{
        return mask ? __builtin_ctzll(mask) : -1;
}

static int set_process_sets(const struct oci_capabilities *caps, uint64_t known, uint64_t bounding,
                            struct coi_error *err)
{
        _cleanup_(cap_freep) cap_t current = cap_get_proc();
        _cleanup_(cap_freep) cap_t wanted = cap_init();
        const struct {
                cap_flag_t flag;
                uint64_t mask;
        } sets[] = {
                { CAP_EFFECTIVE, caps->effective & known },
                { CAP_PERMITTED, caps->permitted & known },
                { CAP_INHERITABLE, caps->inheritable & known },
        };
        uint64_t have_prm, have_inh, bad;
        char name[40];

        if (!current || !wanted)
                return coi_error_set(err, errno ? errno : ENOMEM, "read the capability sets: %m");
        have_prm = cap_get_mask(current, CAP_PERMITTED, known);
        have_inh = cap_get_mask(current, CAP_INHERITABLE, known);

        /* Find the capability capset() would refuse, so the error can name it. */
        bad = sets[0].mask & ~sets[1].mask;
        if (bad)
                return coi_error_set(err, EINVAL, "set effective %s: it is not in the permitted set",
                                     capability_name(first_bit(bad), name));
        bad = sets[1].mask & ~have_prm;
        if (bad)
                return coi_error_set(err, EPERM, "set permitted %s: the runtime itself does not hold it",
                                     capability_name(first_bit(bad), name));
        bad = sets[2].mask & ~have_inh & ~bounding;
        if (bad)
                return coi_error_set(err, EPERM, "set inheritable %s: it is not in the bounding set",
                                     capability_name(first_bit(bad), name));
        bad = sets[2].mask & ~have_inh & ~have_prm;
        if (bad)
                return coi_error_set(err, EPERM, "set inheritable %s: the runtime itself does not hold it",
                                     capability_name(first_bit(bad), name));

        for (size_t i = 0; i < ELEMENTSOF(sets); i++)
                for (int cap = 0; cap < 64; cap++) {
                        cap_value_t v = cap;
                        if ((sets[i].mask & CAP_BIT(cap)) &&
                            cap_set_flag(wanted, sets[i].flag, 1, &v, CAP_SET) < 0)
                                return coi_error_set(err, errno, "prepare %s: %m",
                                                     capability_name(cap, name));
                }
        if (cap_set_proc(wanted) < 0)
                return coi_error_set(err, errno,
                                     "set the effective/permitted/inheritable capabilities "
                                     "(0x%llx/0x%llx/0x%llx): %m",
                                     (unsigned long long)sets[0].mask, (unsigned long long)sets[1].mask,
                                     (unsigned long long)sets[2].mask);
        return 0;
}

static int raise_ambient_set(uint64_t ambient, int last_cap, struct coi_error *err)
{
        char name[40];

        /* Start from an empty ambient set: whatever the runtime inherited must not leak in. */
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
                if (errno == EINVAL && !ambient)
                        return 0; /* kernel before 4.3: no ambient set, and none asked for */
                return coi_error_set(err, errno, "clear the ambient capability set: %m");
        }
        for (int cap = 0; cap <= last_cap; cap++) {
                if (!(ambient & CAP_BIT(cap)))
                        continue;
                if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)cap, 0, 0) < 0) {
                        if (errno == EPERM)
                                return coi_error_set(err, EPERM,
                                                     "raise ambient %s: it must be in both the "
                                                     "permitted and the inheritable set: %m",
                                                     capability_name(cap, name));
                        return coi_error_set(err, errno, "raise ambient %s: %m", capability_name(cap, name));
                }
        }
        return 0;
}

size_t capability_all(char names[][CAPABILITY_NAME_MAX], size_t max)
{
        size_t n = 0;
        for (int cap = 0; cap <= CAP_LAST_CAP && n < max; cap++)
                capability_name(cap, names[n++]);
        return n;
}

_Static_assert(COI_CAPABILITY_NAME_MAX == CAPABILITY_NAME_MAX, "one name size for the API and the library");

COI_PUBLIC size_t coi_capability_names(char names[][COI_CAPABILITY_NAME_MAX], size_t max)
{
        return capability_all(names, max);
}
