/* container-net.c — a system container's network as the container layer sees it: network.json (the net
 * layer's policy record, which a restart re-applies), attach between create and start, detach. */
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "container-net.h"
#include "net/net.h"
#include "util.h"

int container_network_save(int cdirfd, const char *name, const struct container_network *net,
                           struct coi_error *err)
{
        _cleanup_free_ char *path = xasprintf("%s/%s", name, CONTAINER_NETWORK_FILE);
        if (!path)
                return coi_error_set(err, ENOMEM, "network of %s: %m", name);
        if (!net) {
                if (unlinkat(cdirfd, path, 0) < 0 && errno != ENOENT)
                        return coi_error_set(err, errno, "remove %s: %m", path);
                return 0;
        }
        /* the net layer's policy record; the container only says where it lives */
        struct net_policy_record rec = { .policy = net->policy, .allow = (char **)net->allowed };
        return net_policy_record_save_at(cdirfd, path, &rec, 0644, err);
}

void container_network_record_done(struct container_network_record *rec)
{
        strv_free(rec->allowed);
        *rec = (struct container_network_record){ 0 };
}

int container_network_load(int cdirfd, const char *name, struct container_network_record *ret, bool *ret_has,
                           struct coi_error *err)
{
        *ret_has = false;
        _cleanup_free_ char *path = xasprintf("%s/%s", name, CONTAINER_NETWORK_FILE);
        _cleanup_free_ char *what = xasprintf("containers/%s/%s", name, CONTAINER_NETWORK_FILE);
        if (!path || !what)
                return coi_error_set(err, ENOMEM, "network of %s: %m", name);
        struct net_policy_record rec = { 0 };
        int r = net_policy_record_load_at(cdirfd, path, what, &rec, err);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        /* a stored policy has no denials: `coi network deny` changes only the running network */
        strv_free(rec.deny);
        *ret = (struct container_network_record){ .net = { .policy = rec.policy, .allowed = rec.allow },
                                                  .allowed = rec.allow };
        *ret_has = true;
        return 0;
}

/* rootfs/etc/resolv.conf := "nameserver GATEWAY", replacing whatever entry is there (a symlink into
 * /run, a file of an earlier run) by a rename, resolved inside the rootfs only. */
static int write_resolv_conf(const char *rootfs, const struct idmap_allocation *ids, uint32_t gateway,
                             struct coi_error *err)
{
        _cleanup_close_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return coi_error_set(err, errno, "open %s: %m", rootfs);
        _cleanup_close_ int etc = openat2_(rootfd, "etc", O_PATH | O_DIRECTORY,
                                           RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
        if (etc < 0)
                return coi_error_set(err, errno, "open %s/etc: %m", rootfs);
        char gw[INET_ADDRSTRLEN];
        _cleanup_free_ char *text = xasprintf("# written by coi: the DNS forwarder on the bridge\n"
                                              "nameserver %s\n",
                                              net_ipv4_format(gateway, gw));
        if (!text)
                return coi_error_set(err, ENOMEM, "%s/etc/resolv.conf: %m", rootfs);
        static const char tmp[] = ".resolv.conf.coi";
        (void)unlinkat(etc, tmp, 0);
        _cleanup_close_ int fd = openat(etc, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return coi_error_set(err, errno, "create %s/etc/%s: %m", rootfs, tmp);
        size_t len = strlen(text);
        if (write(fd, text, len) != (ssize_t)len || fchown(fd, ids->uid, ids->gid) < 0 ||
            fchmod(fd, 0644) < 0) {
                int r = coi_error_set(err, errno ? errno : EIO, "write %s/etc/%s: %m", rootfs, tmp);
                unlinkat(etc, tmp, 0);
                return r;
        }
        if (renameat(etc, tmp, etc, "resolv.conf") < 0) {
                int r = coi_error_set(err, errno, "rename to %s/etc/resolv.conf: %m", rootfs);
                unlinkat(etc, tmp, 0);
                return r;
        }
        return 0;
}

static bool has_network(const struct net_options *o, const char *name)
{
        _cleanup_free_ char *path = xasprintf("%s/containers/%s", o->state_dir, name);
        return path && access(path, F_OK) == 0;
}

int container_network_attach(const char *name, pid_t pid, const char *rootfs,
                             const struct idmap_allocation *ids, const struct container_network *net,
                             struct coi_error *err)
{
        struct net_options o;
        net_options_init(&o, true);
        int r = 0;
        if (has_network(&o, name))
                r = net_container_teardown(&o, name, err);
        struct net_container_config c = { .name = name,
                                          .netns_fd = -1,
                                          .pid = pid,
                                          .policy = net->policy,
                                          .allowed = net->allowed,
                                          .ifname = "eth0" };
        struct net_container_info info;
        r = r ?: net_container_setup(&o, &c, &info, err);
        if (r < 0)
                return r;
        r = write_resolv_conf(rootfs, ids, info.gateway, err);
        if (r < 0) {
                struct coi_error e = { 0 };
                net_container_teardown(&o, name, &e);
        }
        return r;
}

int container_network_detach(const char *name, struct coi_error *err)
{
        struct net_options o;
        net_options_init(&o, true);
        if (!has_network(&o, name))
                return 0;
        return net_container_teardown(&o, name, err);
}
