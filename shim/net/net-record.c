/* net-record.c — the policy record (the one format of a network policy: network.json, the live policy) and
 * the runtime record (STATE_DIR/containers/NAME: address, host veth, live policy), names, the state lock. */
#include <arpa/inet.h>
#include <dirent.h>
#include <sys/file.h>

#include "json-util.h"
#include "net-internal.h"

bool net_name_valid(const char *name)
{
        size_t n = strlen(name);
        if (n == 0 || n > NET_NAME_MAX || name[0] == '.')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!(name[i] >= 'a' && name[i] <= 'z') && !(name[i] >= 'A' && name[i] <= 'Z') &&
                    !(name[i] >= '0' && name[i] <= '9') && !strchr("_.-", name[i]))
                        return false;
        return true;
}

/* ---- records ---- */

char *net_record_path(const char *state_dir, const char *name)
{
        return xasprintf("%s/containers/%s", state_dir, name);
}

/* ---- the policy record: one generator and one parser for network.json and the runtime record ---- */

static bool gen_strv(yajl_gen g, const char *key, char *const *v)
{
        bool ok = json_gen_str(g, key) && yajl_gen_array_open(g) == yajl_gen_status_ok;
        for (; ok && v && *v; v++)
                ok = json_gen_str(g, *v);
        return ok && yajl_gen_array_close(g) == yajl_gen_status_ok;
}

static bool gen_bool(yajl_gen g, const char *key, bool b)
{
        return json_gen_str(g, key) && yajl_gen_bool(g, b) == yajl_gen_status_ok;
}

static bool policy_gen(yajl_gen g, const struct net_policy *p, char *const *allow, char *const *deny)
{
        return yajl_gen_map_open(g) == yajl_gen_status_ok && json_gen_str(g, "mode") &&
               json_gen_str(g, net_mode_to_string(p->mode)) &&
               gen_bool(g, "allow_local_network_access", p->allow_local_network_access) &&
               gen_bool(g, "block_metadata_endpoint", p->block_metadata_endpoint) &&
               gen_bool(g, "block_private_networks", p->block_private_networks) &&
               gen_strv(g, "allowed", allow) && gen_strv(g, "denied", deny) &&
               yajl_gen_map_close(g) == yajl_gen_status_ok;
}

static int parse_strv(yajl_val obj, const char *key, const char *what, char ***ret, struct coi_error *err)
{
        yajl_val a = json_member(obj, key, yajl_t_array);
        for (size_t i = 0; a && i < a->u.array.len; i++) {
                yajl_val v = a->u.array.values[i];
                if (!YAJL_IS_STRING(v))
                        return coi_error_set(err, EINVAL, "%s: \"%s\" holds a non-string", what, key);
                if (strv_push(ret, v->u.string) < 0)
                        return coi_error_set(err, ENOMEM, "%s: %m", what);
        }
        return 0;
}

/* obj → rec; on failure rec holds what was read so far (the caller frees it). */
static int policy_parse(yajl_val obj, const char *what, struct net_policy *p, char ***allow, char ***deny,
                        struct coi_error *err)
{
        const char *mode = json_str(obj, "mode");
        if (!mode || net_mode_from_string(mode, &p->mode) < 0)
                return coi_error_set(err, EINVAL, "%s: \"mode\" must be restricted, allowlist or open", what);
        p->allow_local_network_access = json_bool(obj, "allow_local_network_access");
        p->block_metadata_endpoint = json_bool(obj, "block_metadata_endpoint");
        p->block_private_networks = json_bool(obj, "block_private_networks");
        int r = parse_strv(obj, "allowed", what, allow, err);
        return r < 0 ? r : parse_strv(obj, "denied", what, deny, err);
}

static int gen_write(yajl_gen g, int dirfd, const char *path, mode_t mode, const char *what,
                     struct coi_error *err)
{
        const unsigned char *buf;
        size_t len;
        if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
                return coi_error_set(err, ENOMEM, "%s: %m", what);
        return write_file_atomic_at(dirfd, path, buf, len, mode, err);
}

void net_policy_record_done(struct net_policy_record *rec)
{
        strv_free(rec->allow);
        strv_free(rec->deny);
        *rec = (struct net_policy_record){ 0 };
}

int net_policy_record_save_at(int dirfd, const char *path, const struct net_policy_record *rec, mode_t mode,
                              struct coi_error *err)
{
        _cleanup_(yajl_gen_freep) yajl_gen g = yajl_gen_alloc(NULL);
        if (!g)
                return coi_error_set(err, ENOMEM, "%s: %m", path);
        yajl_gen_config(g, yajl_gen_beautify, 1);
        if (!policy_gen(g, &rec->policy, rec->allow, rec->deny))
                return coi_error_set(err, ENOMEM, "%s: %m", path);
        return gen_write(g, dirfd, path, mode, path, err);
}

int net_policy_record_load_at(int dirfd, const char *path, const char *what, struct net_policy_record *ret,
                              struct coi_error *err)
{
        _cleanup_free_ char *data = NULL;
        int r = read_file_at(dirfd, path, 1 << 20, &data, NULL, err);
        if (r < 0)
                return r;
        _cleanup_(yajl_tree_freep) yajl_val root = NULL;
        r = json_parse(data, yajl_t_object, what, &root, err);
        if (r < 0)
                return r;
        struct net_policy_record rec = { 0 };
        r = policy_parse(root, what, &rec.policy, &rec.allow, &rec.deny, err);
        if (r < 0) {
                net_policy_record_done(&rec);
                return r;
        }
        *ret = rec;
        return 0;
}

/* ---- the runtime record ---- */

void net_record_done(struct net_record *rec)
{
        strv_free(rec->allow);
        strv_free(rec->deny);
        rec->allow = rec->deny = NULL;
}

/* A record written before the records were JSON ("key=value" lines): read, never written, so the network
 * of a container that ran across an upgrade can still be changed and torn down. */
static int record_parse_lines(char *data, struct net_record *rec)
{
        char *save = NULL;
        for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *eq = strchr(line, '=');
                if (!eq)
                        continue;
                *eq = '\0';
                const char *k = line, *v = eq + 1;
                struct net_prefix p;
                if (streq(k, "addr") && net_prefix_parse(v, &p, NULL) == 0)
                        rec->addr = p.addr;
                else if (streq(k, "host_if"))
                        snprintf(rec->host_ifname, sizeof(rec->host_ifname), "%s", v);
                else if (streq(k, "mode"))
                        net_mode_from_string(v, &rec->policy.mode);
                else if (streq(k, "allow_local_network_access"))
                        rec->policy.allow_local_network_access = streq(v, "1");
                else if (streq(k, "block_metadata_endpoint"))
                        rec->policy.block_metadata_endpoint = streq(v, "1");
                else if (streq(k, "block_private_networks"))
                        rec->policy.block_private_networks = streq(v, "1");
                else if ((streq(k, "allow") && strv_push(&rec->allow, v) < 0) ||
                         (streq(k, "deny") && strv_push(&rec->deny, v) < 0))
                        return -ENOMEM;
        }
        return 0;
}

int net_record_load(const char *state_dir, const char *name, struct net_record *ret, struct coi_error *err)
{
        if (!net_name_valid(name))
                return coi_error_set(err, EINVAL, "invalid container name '%s'", name);
        _cleanup_free_ char *path = net_record_path(state_dir, name);
        _cleanup_free_ char *data = NULL;
        if (!path)
                return coi_error_set(err, ENOMEM, "record of %s", name);
        int r = read_file_at(AT_FDCWD, path, 1 << 20, &data, NULL, err);
        if (r < 0)
                return r;
        struct net_record rec = { 0 };
        snprintf(rec.name, sizeof(rec.name), "%s", name);
        if (data[0] != '{') {
                if (record_parse_lines(data, &rec) < 0) {
                        net_record_done(&rec);
                        return coi_error_set(err, ENOMEM, "record of %s", name);
                }
                *ret = rec;
                return 0;
        }
        _cleanup_(yajl_tree_freep) yajl_val root = NULL;
        r = json_parse(data, yajl_t_object, path, &root, err);
        if (r < 0)
                return r;
        struct net_prefix p;
        const char *addr = json_str(root, "address"), *host_if = json_str(root, "host_interface");
        if (!addr || net_prefix_parse(addr, &p, NULL) < 0 || !host_if)
                return coi_error_set(err, EINVAL, "%s: no \"address\" or \"host_interface\"", path);
        rec.addr = p.addr;
        snprintf(rec.host_ifname, sizeof(rec.host_ifname), "%s", host_if);
        yajl_val policy = json_member(root, "policy", yajl_t_object);
        r = policy ? policy_parse(policy, path, &rec.policy, &rec.allow, &rec.deny, err)
                   : coi_error_set(err, EINVAL, "%s: no \"policy\"", path);
        if (r < 0) {
                net_record_done(&rec);
                return r;
        }
        *ret = rec;
        return 0;
}

int net_record_save(const char *state_dir, const struct net_record *rec, struct coi_error *err)
{
        char ip[INET_ADDRSTRLEN];
        _cleanup_free_ char *path = net_record_path(state_dir, rec->name);
        _cleanup_(yajl_gen_freep) yajl_gen g = yajl_gen_alloc(NULL);
        if (!path || !g)
                return coi_error_set(err, ENOMEM, "record of %s", rec->name);
        if (yajl_gen_map_open(g) != yajl_gen_status_ok || !json_gen_str(g, "address") ||
            !json_gen_str(g, net_ipv4_format(rec->addr, ip)) || !json_gen_str(g, "host_interface") ||
            !json_gen_str(g, rec->host_ifname) || !json_gen_str(g, "policy") ||
            !policy_gen(g, &rec->policy, rec->allow, rec->deny) ||
            yajl_gen_map_close(g) != yajl_gen_status_ok)
                return coi_error_set(err, ENOMEM, "record of %s", rec->name);
        return gen_write(g, AT_FDCWD, path, 0600, path, err);
}

int net_record_list(const char *state_dir, char ***ret, struct coi_error *err)
{
        _cleanup_free_ char *dir = xasprintf("%s/containers", state_dir);
        _cleanup_strv_ char **names = calloc(1, sizeof(char *));
        if (!dir || !names)
                return coi_error_set(err, ENOMEM, "list records");
        _cleanup_closedir_ DIR *d = opendir(dir);
        if (!d) {
                if (errno != ENOENT)
                        return coi_error_set(err, errno, "open %s: %m", dir);
                *ret = TAKE_PTR(names);
                return 0;
        }
        for (struct dirent *de; (de = readdir(d));) {
                /* write_file_atomic_at's temporary files end in .tmp and are no records */
                if (net_name_valid(de->d_name) && !strstr(de->d_name, ".tmp") &&
                    strv_push(&names, de->d_name) < 0) {
                        return coi_error_set(err, ENOMEM, "list records");
                }
        }
        *ret = TAKE_PTR(names);
        return 0;
}

int net_lock_state(const struct net_options *o, struct coi_error *err)
{
        int r = mkdir_p_at(AT_FDCWD, o->state_dir, 0700, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *containers = xasprintf("%s/containers", o->state_dir);
        _cleanup_free_ char *lock = xasprintf("%s/lock", o->state_dir);
        if (!containers || !lock)
                return coi_error_set(err, ENOMEM, "lock %s", o->state_dir);
        r = mkdir_p_at(AT_FDCWD, containers, 0700, err);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return coi_error_set(err, errno, "open %s: %m", lock);
        if (flock(fd, LOCK_EX) < 0)
                return coi_error_set(err, errno, "lock %s: %m", lock);
        return TAKE_FD(fd);
}
