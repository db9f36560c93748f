/* container-net.c — a system container's network as the container layer sees it: network.json (the
 * policy a restart re-applies), attach between create and start (veth, rules, resolv.conf), detach. */
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "container-net.h"
#include "json-util.h"
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
        _cleanup_(yajl_gen_freep) yajl_gen g = yajl_gen_alloc(NULL);
        if (!g)
                return coi_error_set(err, ENOMEM, "network of %s: %m", name);
        yajl_gen_config(g, yajl_gen_beautify, 1);
        bool ok = yajl_gen_map_open(g) == yajl_gen_status_ok && json_gen_str(g, "mode") &&
                  json_gen_str(g, net_mode_to_string(net->policy.mode)) &&
                  json_gen_str(g, "allow_local_network_access") &&
                  yajl_gen_bool(g, net->policy.allow_local_network_access) == yajl_gen_status_ok &&
                  json_gen_str(g, "block_metadata_endpoint") &&
                  yajl_gen_bool(g, net->policy.block_metadata_endpoint) == yajl_gen_status_ok &&
                  json_gen_str(g, "block_private_networks") &&
                  yajl_gen_bool(g, net->policy.block_private_networks) == yajl_gen_status_ok &&
                  json_gen_str(g, "allowed") && yajl_gen_array_open(g) == yajl_gen_status_ok;
        for (char *const *a = net->allowed; ok && a && *a; a++)
                ok = json_gen_str(g, *a);
        ok = ok && yajl_gen_array_close(g) == yajl_gen_status_ok &&
             yajl_gen_map_close(g) == yajl_gen_status_ok;
        const unsigned char *buf;
        size_t len;
        if (!ok || yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
                return coi_error_set(err, ENOMEM, "network of %s: %m", name);
        return write_file_atomic_at(cdirfd, path, buf, len, 0644, err);
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
        _cleanup_free_ char *data = NULL;
        if (!path)
                return coi_error_set(err, ENOMEM, "network of %s: %m", name);
        int r = read_file_at(cdirfd, path, 1 << 20, &data, NULL, err);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        _cleanup_free_ char *what = xasprintf("containers/%s", path);
        _cleanup_(yajl_tree_freep) yajl_val root = NULL;
        r = json_parse(data, yajl_t_object, what ? what : path, &root, err);
        if (r < 0)
                return r;
        struct container_network_record rec = { 0 };
        yajl_val mode = json_member(root, "mode", yajl_t_string);
        if (!mode || net_mode_from_string(mode->u.string, &rec.net.policy.mode) < 0)
                return coi_error_set(err, EINVAL,
                                     "containers/%s: \"mode\" must be restricted, allowlist or open", path);
        rec.net.policy.allow_local_network_access = json_bool(root, "allow_local_network_access");
        rec.net.policy.block_metadata_endpoint = json_bool(root, "block_metadata_endpoint");
        rec.net.policy.block_private_networks = json_bool(root, "block_private_networks");
        yajl_val allowed = json_member(root, "allowed", yajl_t_array);
        for (size_t i = 0; allowed && i < allowed->u.array.len; i++) {
                yajl_val v = allowed->u.array.values[i];
                if (!YAJL_IS_STRING(v)) {
                        strv_free(rec.allowed);
                        return coi_error_set(err, EINVAL, "containers/%s: \"allowed\" holds a non-string",
                                             path);
                }
                if (strv_push(&rec.allowed, v->u.string) < 0) {
                        strv_free(rec.allowed);
                        return coi_error_set(err, ENOMEM, "network of %s: %m", name);
                }
        }
        rec.net.allowed = rec.allowed;
        *ret = rec;
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
