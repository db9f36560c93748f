/* net-record.c — the record of one container's network (STATE_DIR/containers/NAME: address, host veth,
 * policy, allow/deny lists): load, save, list, the container names they may have, and the lock over them. */
#include <arpa/inet.h>
#include <dirent.h>
#include <sys/file.h>

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

void net_record_done(struct net_record *rec)
{
        strv_free(rec->allow);
        strv_free(rec->deny);
        rec->allow = rec->deny = NULL;
}

int net_record_load(const char *state_dir, const char *name, struct net_record *ret, struct coi_error *err)
{
        if (!net_name_valid(name))
                return coi_error_set(err, EINVAL, "invalid container name '%s'", name);
        _cleanup_free_ char *path = net_record_path(state_dir, name);
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        if (!path)
                return coi_error_set(err, ENOMEM, "record of %s", name);
        int r = read_file_at(AT_FDCWD, path, 1 << 20, &data, &len, err);
        if (r < 0)
                return r;
        struct net_record rec = { 0 };
        snprintf(rec.name, sizeof(rec.name), "%s", name);
        char *save = NULL;
        for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *eq = strchr(line, '=');
                if (!eq)
                        continue;
                *eq = '\0';
                const char *k = line, *v = eq + 1;
                struct net_prefix p;
                if (streq(k, "addr") && net_prefix_parse(v, &p, NULL) == 0)
                        rec.addr = p.addr;
                else if (streq(k, "host_if"))
                        snprintf(rec.host_ifname, sizeof(rec.host_ifname), "%s", v);
                else if (streq(k, "mode"))
                        net_mode_from_string(v, &rec.policy.mode);
                else if (streq(k, "allow_local_network_access"))
                        rec.policy.allow_local_network_access = streq(v, "1");
                else if (streq(k, "block_metadata_endpoint"))
                        rec.policy.block_metadata_endpoint = streq(v, "1");
                else if (streq(k, "block_private_networks"))
                        rec.policy.block_private_networks = streq(v, "1");
                else if ((streq(k, "allow") && strv_push(&rec.allow, v) < 0) ||
                         (streq(k, "deny") && strv_push(&rec.deny, v) < 0)) {
                        net_record_done(&rec);
                        return coi_error_set(err, ENOMEM, "record of %s", name);
                }
        }
        *ret = rec;
        return 0;
}

int net_record_save(const char *state_dir, const struct net_record *rec, struct coi_error *err)
{
        char ip[INET_ADDRSTRLEN];
        size_t size = 4096;
        for (char **v = rec->allow; v && *v; v++)
                size += strlen(*v) + 8;
        for (char **v = rec->deny; v && *v; v++)
                size += strlen(*v) + 8;
        _cleanup_free_ char *buf = malloc(size);
        _cleanup_free_ char *path = net_record_path(state_dir, rec->name);
        if (!buf || !path)
                return coi_error_set(err, ENOMEM, "record of %s", rec->name);
        int n = snprintf(buf, size,
                         "addr=%s\nhost_if=%s\nmode=%s\nallow_local_network_access=%d\n"
                         "block_metadata_endpoint=%d\nblock_private_networks=%d\n",
                         net_ipv4_format(rec->addr, ip), rec->host_ifname,
                         net_mode_to_string(rec->policy.mode), rec->policy.allow_local_network_access,
                         rec->policy.block_metadata_endpoint, rec->policy.block_private_networks);
        for (char **v = rec->allow; v && *v; v++)
                n += snprintf(buf + n, size - (size_t)n, "allow=%s\n", *v);
        for (char **v = rec->deny; v && *v; v++)
                n += snprintf(buf + n, size - (size_t)n, "deny=%s\n", *v);
        return write_file_atomic_at(AT_FDCWD, path, buf, (size_t)n, 0600, err);
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
