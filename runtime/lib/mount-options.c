/* mount-options.c — mount option words ("ro", "rbind", "rro", "shared" …) into struct oci_mount flags, and
 * the summary of a linux.resources.devices list. Plain C on parsed structs: no JSON here. */
#include <sys/mount.h>

#include "mount-options.h"
#include "util.h"

enum mount_option_kind {
        OPT_FLAG,        /* set: MS_* to set, clear: MS_* to clear */
        OPT_RECURSIVE,   /* set/clear: MOUNT_ATTR_* for mount_setattr(AT_RECURSIVE) */
        OPT_PROPAGATION, /* set: MS_SHARED … (| MS_REC) */
        OPT_BIND,
        OPT_RBIND,
        OPT_IDMAP,
        OPT_RIDMAP,
        OPT_TMPCOPYUP,
        OPT_NOTMPCOPYUP,
};

struct mount_option {
        const char *name;
        enum mount_option_kind kind;
        unsigned long set, clear;
};

#define ATIME_MODE(mode) OPT_RECURSIVE, (mode), MOUNT_ATTR__ATIME

static const struct mount_option mount_options[] = {
        { "defaults", OPT_FLAG, 0, 0 },
        { "ro", OPT_FLAG, MS_RDONLY, 0 },
        { "rw", OPT_FLAG, 0, MS_RDONLY },
        { "nosuid", OPT_FLAG, MS_NOSUID, 0 },
        { "suid", OPT_FLAG, 0, MS_NOSUID },
        { "nodev", OPT_FLAG, MS_NODEV, 0 },
        { "dev", OPT_FLAG, 0, MS_NODEV },
        { "noexec", OPT_FLAG, MS_NOEXEC, 0 },
        { "exec", OPT_FLAG, 0, MS_NOEXEC },
        { "sync", OPT_FLAG, MS_SYNCHRONOUS, 0 },
        { "async", OPT_FLAG, 0, MS_SYNCHRONOUS },
        { "dirsync", OPT_FLAG, MS_DIRSYNC, 0 },
        { "remount", OPT_FLAG, MS_REMOUNT, 0 },
        { "mand", OPT_FLAG, MS_MANDLOCK, 0 },
        { "nomand", OPT_FLAG, 0, MS_MANDLOCK },
        { "atime", OPT_FLAG, 0, MS_NOATIME },
        { "noatime", OPT_FLAG, MS_NOATIME, 0 },
        { "diratime", OPT_FLAG, 0, MS_NODIRATIME },
        { "nodiratime", OPT_FLAG, MS_NODIRATIME, 0 },
        { "relatime", OPT_FLAG, MS_RELATIME, 0 },
        { "norelatime", OPT_FLAG, 0, MS_RELATIME },
        { "strictatime", OPT_FLAG, MS_STRICTATIME, 0 },
        { "nostrictatime", OPT_FLAG, 0, MS_STRICTATIME },
        { "lazytime", OPT_FLAG, MS_LAZYTIME, 0 },
        { "nolazytime", OPT_FLAG, 0, MS_LAZYTIME },
        { "silent", OPT_FLAG, MS_SILENT, 0 },
        { "loud", OPT_FLAG, 0, MS_SILENT },
        { "iversion", OPT_FLAG, MS_I_VERSION, 0 },
        { "noiversion", OPT_FLAG, 0, MS_I_VERSION },
        { "nosymfollow", OPT_FLAG, MS_NOSYMFOLLOW, 0 },
        { "symfollow", OPT_FLAG, 0, MS_NOSYMFOLLOW },
        /* Recursive variants (runc/crun): applied to the whole tree with mount_setattr(AT_RECURSIVE). */
        { "rro", OPT_RECURSIVE, MOUNT_ATTR_RDONLY, 0 },
        { "rrw", OPT_RECURSIVE, 0, MOUNT_ATTR_RDONLY },
        { "rnosuid", OPT_RECURSIVE, MOUNT_ATTR_NOSUID, 0 },
        { "rsuid", OPT_RECURSIVE, 0, MOUNT_ATTR_NOSUID },
        { "rnodev", OPT_RECURSIVE, MOUNT_ATTR_NODEV, 0 },
        { "rdev", OPT_RECURSIVE, 0, MOUNT_ATTR_NODEV },
        { "rnoexec", OPT_RECURSIVE, MOUNT_ATTR_NOEXEC, 0 },
        { "rexec", OPT_RECURSIVE, 0, MOUNT_ATTR_NOEXEC },
        { "rnodiratime", OPT_RECURSIVE, MOUNT_ATTR_NODIRATIME, 0 },
        { "rdiratime", OPT_RECURSIVE, 0, MOUNT_ATTR_NODIRATIME },
        { "rnosymfollow", OPT_RECURSIVE, MOUNT_ATTR_NOSYMFOLLOW, 0 },
        { "rsymfollow", OPT_RECURSIVE, 0, MOUNT_ATTR_NOSYMFOLLOW },
        /* The atime mode is one field for mount_setattr: clear it whole, then pick one. */
        { "rrelatime", ATIME_MODE(MOUNT_ATTR_RELATIME) },
        { "rnorelatime", ATIME_MODE(MOUNT_ATTR_STRICTATIME) },
        { "ratime", ATIME_MODE(MOUNT_ATTR_RELATIME) },
        { "rnoatime", ATIME_MODE(MOUNT_ATTR_NOATIME) },
        { "rstrictatime", ATIME_MODE(MOUNT_ATTR_STRICTATIME) },
        { "rnostrictatime", ATIME_MODE(MOUNT_ATTR_RELATIME) },
        { "shared", OPT_PROPAGATION, MS_SHARED, 0 },
        { "rshared", OPT_PROPAGATION, MS_SHARED | MS_REC, 0 },
        { "slave", OPT_PROPAGATION, MS_SLAVE, 0 },
        { "rslave", OPT_PROPAGATION, MS_SLAVE | MS_REC, 0 },
        { "private", OPT_PROPAGATION, MS_PRIVATE, 0 },
        { "rprivate", OPT_PROPAGATION, MS_PRIVATE | MS_REC, 0 },
        { "unbindable", OPT_PROPAGATION, MS_UNBINDABLE, 0 },
        { "runbindable", OPT_PROPAGATION, MS_UNBINDABLE | MS_REC, 0 },
        { "bind", OPT_BIND, 0, 0 },
        { "rbind", OPT_RBIND, 0, 0 },
        { "idmap", OPT_IDMAP, 0, 0 },
        { "ridmap", OPT_RIDMAP, 0, 0 },
        /* crun's "copy the image's files into this tmpfs": recorded in oci_mount.tmpcopyup, never sent
         * to the kernel (the mount code decides; it is not listed in `features` until it does it). */
        { "tmpcopyup", OPT_TMPCOPYUP, 0, 0 },
        { "notmpcopyup", OPT_NOTMPCOPYUP, 0, 0 },
};

const char *oci_mount_option_name(size_t i)
{
        /* tmpcopyup and notmpcopyup come last in the table, so the list stops before them. */
        if (i >= ELEMENTSOF(mount_options) || mount_options[i].kind == OPT_TMPCOPYUP ||
            mount_options[i].kind == OPT_NOTMPCOPYUP)
                return NULL;
        return mount_options[i].name;
}

int mount_apply_option(struct oci_mount *m, const char *opt, char **data)
{
        const struct mount_option *o = NULL;
        for (size_t i = 0; i < ELEMENTSOF(mount_options) && !o; i++)
                if (streq(mount_options[i].name, opt))
                        o = &mount_options[i];
        if (!o) { /* filesystem-specific: mode=755, size=65536k, newinstance, ptmxmode=0666, gid=5 … */
                char *joined = *data ? xasprintf("%s,%s", *data, opt) : strdup(opt);
                if (!joined)
                        return -ENOMEM;
                free(*data);
                *data = joined;
                return 0;
        }
        switch (o->kind) {
        case OPT_FLAG: /* the last word wins: "ro" then "rw" is rw */
                m->flags = (m->flags | o->set) & ~o->clear;
                m->clear_flags = (m->clear_flags | o->clear) & ~o->set;
                break;
        case OPT_RECURSIVE:
                m->rec_attr_set = (m->rec_attr_set & ~(uint64_t)o->clear) | o->set;
                m->rec_attr_clr = (m->rec_attr_clr & ~(uint64_t)o->set) | o->clear;
                break;
        case OPT_PROPAGATION:
                m->propagation = o->set;
                break;
        case OPT_BIND:
                m->bind = true;
                m->flags |= MS_BIND;
                break;
        case OPT_RBIND:
                m->bind = m->recursive = true;
                m->flags |= MS_BIND | MS_REC;
                break;
        case OPT_IDMAP:
                m->idmap = true;
                break;
        case OPT_RIDMAP:
                m->ridmap = true;
                break;
        case OPT_TMPCOPYUP:
                m->tmpcopyup = true;
                break;
        case OPT_NOTMPCOPYUP:
                m->tmpcopyup = false;
                break;
        }
        return 0;
}

int mount_propagation_from_name(const char *name, unsigned long *ret)
{
        for (size_t i = 0; i < ELEMENTSOF(mount_options); i++)
                if (mount_options[i].kind == OPT_PROPAGATION && streq(mount_options[i].name, name)) {
                        *ret = mount_options[i].set;
                        return 0;
                }
        return -EINVAL;
}

/* ---- linux.resources.devices ---------------------------------------------------------------------------- */

/* The allow list runc and containerd write after a deny-all: mknod anything, and the devices every
 * container gets (null, zero, full, random, urandom, tty, console, ptmx, pts, tun). */
static bool device_rule_is_standard(const struct oci_device_rule *rule, const struct oci_device *devices,
                                    size_t n_devices)
{
        static const struct {
                char type;
                int64_t major, minor;
        } standard[] = {
                { 'c', 1, 3 }, { 'c', 1, 5 }, { 'c', 1, 7 }, { 'c', 1, 8 },    { 'c', 1, 9 },
                { 'c', 5, 0 }, { 'c', 5, 1 }, { 'c', 5, 2 }, { 'c', 136, -1 }, { 'c', 10, 200 },
        };
        if (!rule->allow)
                return false;
        if (rule->type != 'a' && rule->major == -1 && rule->minor == -1 && streq(rule->access, "m"))
                return true;
        for (size_t i = 0; i < ELEMENTSOF(standard); i++)
                if (rule->type == standard[i].type && rule->major == standard[i].major &&
                    rule->minor == standard[i].minor)
                        return true;
        for (size_t i = 0; i < n_devices; i++) {
                char type = devices[i].type == 'u' ? 'c' : devices[i].type;
                if (rule->type == type && rule->major == devices[i].major && rule->minor == devices[i].minor)
                        return true;
        }
        return false;
}

void oci_device_rules_summarize(struct oci_resources *res, const struct oci_device *devices, size_t n_devices)
{
        res->devices_allow_all = false;
        res->devices_standard = false;
        if (!res->has_devices)
                return;
        for (size_t i = 0; i < res->n_device_rules; i++) {
                const struct oci_device_rule *rule = &res->device_rules[i];
                bool everything = rule->type == 'a' && streq(rule->access, "rwm");
                if (everything)
                        res->devices_allow_all = rule->allow;
                else if (!rule->allow)
                        res->devices_allow_all = false;
        }
        if (res->n_device_rules == 0 || res->device_rules[0].allow || res->device_rules[0].type != 'a' ||
            !streq(res->device_rules[0].access, "rwm"))
                return;
        for (size_t i = 1; i < res->n_device_rules; i++)
                if (!device_rule_is_standard(&res->device_rules[i], devices, n_devices))
                        return;
        res->devices_standard = true;
}
