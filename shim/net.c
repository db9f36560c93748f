/* net.c — a container's network, the facade: set up and tear down (bridge, veth, nftables, DNS forwarder),
 * live allow/deny, show, blocked-attempt log, orphan cleanup. The state is one record file per container. */
#include <arpa/inet.h>
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "net-dns.h"
#include "net.h"

#define DNS_COMM "coi-dns"

void net_options_init(struct net_options *o, bool use_env)
{
        *o = (struct net_options){ .state_dir = NET_STATE_DIR,
                                   .bridge = NET_BRIDGE,
                                   .pool = NET_POOL,
                                   .subnet_len = 24,
                                   .resolv_conf = "/etc/resolv.conf",
                                   .log_group = NET_LOG_GROUP };
        if (!use_env)
                return;
        const char *v;
        if ((v = getenv("COI_NET_STATE_DIR")) && *v)
                o->state_dir = v;
        if ((v = getenv("COI_NET_BRIDGE")) && *v)
                o->bridge = v;
        if ((v = getenv("COI_NET_POOL")) && *v)
                o->pool = v;
        if ((v = getenv("COI_NET_RESOLV_CONF")) && *v)
                o->resolv_conf = v;
}

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

/* A name pattern: labels of [a-z0-9-_], optionally "*." in front. */
static bool pattern_valid(const char *p)
{
        if (startswith(p, "*."))
                p += 2;
        size_t n = strlen(p);
        if (n == 0 || n > 253 || p[0] == '.' || strstr(p, ".."))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!(p[i] >= 'a' && p[i] <= 'z') && !(p[i] >= 'A' && p[i] <= 'Z') &&
                    !(p[i] >= '0' && p[i] <= '9') && !strchr("-_.", p[i]))
                        return false;
        return true;
}

/* ---- records ---- */

static char *record_path(const char *state_dir, const char *name)
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
        _cleanup_free_ char *path = record_path(state_dir, name);
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
        _cleanup_free_ char *path = record_path(state_dir, rec->name);
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
        DIR *d = opendir(dir);
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
                        closedir(d);
                        return coi_error_set(err, ENOMEM, "list records");
                }
        }
        closedir(d);
        *ret = TAKE_PTR(names);
        return 0;
}

static void strv_remove(char **v, const char *s)
{
        size_t out = 0;
        for (size_t i = 0; v && v[i]; i++) {
                if (streq(v[i], s))
                        free(v[i]);
                else
                        v[out++] = v[i];
        }
        if (v)
                v[out] = NULL;
}

/* ---- locking and the forwarder process ---- */

static int lock_state(const struct net_options *o, struct coi_error *err)
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

static pid_t dns_pid(const struct net_options *o)
{
        _cleanup_free_ char *path = xasprintf("%s/dns.pid", o->state_dir);
        _cleanup_free_ char *data = NULL, *comm_path = NULL, *comm = NULL;
        size_t len;
        if (!path || read_file_at(AT_FDCWD, path, 64, &data, &len, NULL) < 0)
                return 0;
        pid_t pid = (pid_t)atoi(data);
        if (pid <= 0 || !(comm_path = xasprintf("/proc/%d/comm", pid)))
                return 0;
        /* a recycled pid is someone else's process: never signal it */
        if (read_file_at(AT_FDCWD, comm_path, 64, &comm, &len, NULL) < 0 || !startswith(comm, DNS_COMM))
                return 0;
        return pid;
}

static void dns_stop(const struct net_options *o)
{
        pid_t pid = dns_pid(o);
        if (pid > 0) {
                /* a pidfd turns readable at exit, zombie or not (the forwarder's parent is whoever
                 * reaps orphans here, maybe late) */
                _cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
                kill(pid, SIGTERM);
                struct pollfd p = { .fd = pidfd, .events = POLLIN };
                if (pidfd >= 0)
                        poll(&p, 1, 1000);
        }
        _cleanup_free_ char *path = xasprintf("%s/dns.pid", o->state_dir);
        if (path)
                unlink(path);
}

/* The forwarder's last act, under the lock: 0 after removing the table, the bridge and its own pid file
 * when no container record is left; 1 when a container came (keep serving). */
static int host_release_by_forwarder(const struct net_options *o)
{
        struct coi_error e = { 0 };
        _cleanup_close_ int lock = lock_state(o, &e);
        _cleanup_strv_ char **names = NULL;
        if (lock < 0 || net_record_list(o->state_dir, &names, &e) < 0)
                return 0; /* the state is gone: nothing to serve */
        if (names[0])
                return 1;
        _cleanup_free_ char *pidfile = xasprintf("%s/dns.pid", o->state_dir);
        if (pidfile)
                unlink(pidfile);
        net_nft_host_remove(&e);
        if (net_bridge_count_ports(o->bridge, NULL) <= 0)
                net_link_delete(o->bridge, &e);
        return 0;
}

static int dns_start(const struct net_options *o, uint32_t listen_addr, struct coi_error *err)
{
        if (dns_pid(o) > 0)
                return 0;
        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return coi_error_set(err, errno, "pipe for the DNS forwarder: %m");
        _cleanup_close_ int rfd = pipefd[0];
        pid_t child = fork();
        if (child < 0) {
                close(pipefd[1]);
                return coi_error_set(err, errno, "fork the DNS forwarder: %m");
        }
        if (child == 0) {
                /* double fork: the forwarder belongs to no caller and is never its zombie */
                if (fork() != 0)
                        _exit(0);
                setsid();
                prctl(PR_SET_NAME, DNS_COMM);
                int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (devnull >= 0) {
                        dup2(devnull, 0);
                        dup2(devnull, 1);
                        dup2(devnull, 2);
                }
                if (dup2(pipefd[1], 3) < 0)
                        _exit(1);
                close_range(4, ~0u, 0);
                _cleanup_free_ char *pidfile = xasprintf("%s/dns.pid", o->state_dir);
                char pidbuf[32];
                int n = snprintf(pidbuf, sizeof(pidbuf), "%d\n", getpid());
                if (!pidfile || write_file_atomic_at(AT_FDCWD, pidfile, pidbuf, (size_t)n, 0600, NULL) < 0)
                        _exit(1);
                struct net_dns_config cfg = { .state_dir = o->state_dir,
                                              .listen_addr = listen_addr,
                                              .port = 53,
                                              .resolv_conf = o->resolv_conf,
                                              .ready_fd = 3,
                                              .linger_ms = NET_LINGER_MS };
                for (;;) {
                        struct coi_error e = { 0 };
                        if (net_dns_run(&cfg, &e) < 0)
                                _exit(1);
                        cfg.ready_fd = -1;
                        /* idle and no container for a while: take the host pieces down, unless a container
                         * came meanwhile (then serve it: setup found this forwarder alive) */
                        if (host_release_by_forwarder(o) == 0)
                                _exit(0);
                }
        }
        close(pipefd[1]);
        waitpid(child, NULL, 0);
        char msg[1100] = "";
        struct pollfd p = { .fd = rfd, .events = POLLIN };
        size_t got = 0;
        for (int i = 0; i < 50 && got < sizeof(msg) - 1; i++) {
                if (poll(&p, 1, 100) <= 0)
                        continue;
                ssize_t n = read(rfd, msg + got, sizeof(msg) - 1 - got);
                if (n <= 0)
                        break;
                got += (size_t)n;
        }
        msg[got] = '\0';
        if (!streq(msg, "ok"))
                return coi_error_set(err, EIO, "DNS forwarder: %s", got ? msg : "did not start");
        return 0;
}

/* ---- setup and teardown ---- */

static void host_ifname_for(const char *name, unsigned salt, char buf[16])
{
        uint32_t h = 2166136261u + salt;
        for (const char *p = name; *p; p++)
                h = (h ^ (uint8_t)*p) * 16777619u;
        snprintf(buf, 16, "coi-%08x", h);
}

static int pick_addr(const struct net_options *o, const struct net_prefix *subnet, uint32_t *ret,
                     struct coi_error *err)
{
        _cleanup_strv_ char **names = NULL;
        int r = net_record_list(o->state_dir, &names, err);
        if (r < 0)
                return r;
        uint32_t size = 1u << (32 - subnet->len);
        /* .0 network, .1 bridge, last broadcast */
        for (uint32_t host = 2; host < size - 1; host++) {
                uint32_t cand = subnet->addr + host;
                bool used = false;
                for (char **n = names; *n && !used; n++) {
                        struct net_record rec = { 0 };
                        if (net_record_load(o->state_dir, *n, &rec, NULL) == 0)
                                used = rec.addr == cand;
                        net_record_done(&rec);
                }
                if (!used) {
                        *ret = cand;
                        return 0;
                }
        }
        return coi_error_set(err, EADDRNOTAVAIL, "no address left on bridge %s", o->bridge);
}

/* Removes the host pieces once no container uses them. */
static int host_cleanup_if_unused(const struct net_options *o, struct coi_error *err)
{
        _cleanup_strv_ char **names = NULL;
        int r = net_record_list(o->state_dir, &names, err);
        if (r < 0 || names[0])
                return r;
        dns_stop(o);
        r = net_nft_host_remove(err);
        if (r < 0)
                return r;
        if (net_bridge_count_ports(o->bridge, NULL) <= 0)
                return net_link_delete(o->bridge, err);
        return 0;
}

static int teardown_locked(const struct net_options *o, const char *name, struct coi_error *err)
{
        struct net_record rec = { 0 };
        int r = net_record_load(o->state_dir, name, &rec, err);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        net_record_done(&rec);
        if (rec.host_ifname[0]) {
                r = net_link_delete(rec.host_ifname, err);
                if (r < 0)
                        return r;
        }
        r = net_nft_container_remove(name, rec.addr, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *path = record_path(o->state_dir, name);
        if (!path)
                return coi_error_set(err, ENOMEM, "record of %s", name);
        if (unlink(path) < 0 && errno != ENOENT)
                return coi_error_set(err, errno, "remove %s: %m", path);
        /* The forwarder takes the host pieces down once no container came back for NET_LINGER_MS (so
         * a run of `coi run`s shares them); without a forwarder to do it, it is done here. */
        return dns_pid(o) > 0 ? 0 : host_cleanup_if_unused(o, err);
}

static int setup_locked(const struct net_options *o, const struct net_container_config *c, int netns_fd,
                        struct net_container_info *ret, struct coi_error *err)
{
        struct net_prefix pool, br;
        int r = net_prefix_parse(o->pool, &pool, err);
        if (r < 0)
                return r;
        if (net_bridge_get_address(o->bridge, &br, NULL) < 0) {
                struct net_prefix subnet;
                r = net_subnet_pick(&pool, o->subnet_len, &subnet, err);
                if (r < 0)
                        return r;
                struct net_prefix want = { subnet.addr + 1, subnet.len };
                r = net_bridge_ensure(o->bridge, &want, o->mtu, &br, err);
                if (r < 0)
                        return r;
        }
        struct net_prefix subnet = { br.addr & net_prefix_mask(br.len), br.len };
        /* routing between the bridge and the uplink; on a host that already routes this is a no-op */
        r = net_sysctl_write(-1, "net/ipv4/ip_forward", "1", err);
        if (r < 0)
                return r;
        r = net_nft_host_ensure(o->bridge, &subnet, err);
        if (r < 0)
                return r;

        struct net_record rec = { .policy = c->policy };
        snprintf(rec.name, sizeof(rec.name), "%s", c->name);
        r = pick_addr(o, &subnet, &rec.addr, err);
        if (r < 0)
                return r;
        for (unsigned salt = 0; salt < 16; salt++) {
                host_ifname_for(c->name, salt, rec.host_ifname);
                if (!net_link_exists(rec.host_ifname))
                        break;
        }
        for (char *const *a = c->allowed; a && *a; a++) {
                struct net_prefix p;
                if (net_prefix_parse(*a, &p, NULL) < 0 && !pattern_valid(*a)) {
                        net_record_done(&rec);
                        return coi_error_set(err, EINVAL,
                                             "'%s' is neither a name pattern nor an IPv4 address", *a);
                }
                if (strv_push(&rec.allow, *a) < 0) {
                        net_record_done(&rec);
                        return coi_error_set(err, ENOMEM, "record of %s", c->name);
                }
        }
        /* the record goes first: whatever happens next, teardown and orphan cleanup can find it */
        r = net_record_save(o->state_dir, &rec, err);
        if (r < 0) {
                net_record_done(&rec);
                return r;
        }
        struct net_veth_config vc = { .host_name = rec.host_ifname,
                                      .bridge = o->bridge,
                                      .netns_fd = netns_fd,
                                      .peer_name = c->ifname ? c->ifname : "eth0",
                                      .peer_addr = rec.addr,
                                      .prefix_len = subnet.len,
                                      .gateway = br.addr,
                                      .mtu = o->mtu,
                                      .disable_ipv6 = true };
        r = net_veth_setup(&vc, err);
        if (r >= 0)
                r = net_nft_container_add(c->name, rec.addr, br.addr, &c->policy, o->log_group, err);
        for (char **a = rec.allow; r >= 0 && a && *a; a++) {
                struct net_prefix p;
                if (net_prefix_parse(*a, &p, NULL) == 0)
                        r = net_nft_prefix_add(c->name, false, &p, err);
        }
        if (r >= 0)
                r = dns_start(o, br.addr, err);
        if (r >= 0 && ret) {
                *ret = (struct net_container_info){ .addr = rec.addr,
                                                    .prefix_len = subnet.len,
                                                    .gateway = br.addr };
                snprintf(ret->host_ifname, sizeof(ret->host_ifname), "%s", rec.host_ifname);
        }
        net_record_done(&rec);
        if (r < 0)
                teardown_locked(o, c->name, NULL);
        return r;
}

/* Removes the nftables pieces of a container that has no record (its state directory was lost or
 * changed, COI_NET_STATE_DIR): its map element, chain and sets. */
static int remove_unrecorded(const char *name, struct coi_error *err)
{
        uint32_t addr = 0;
        struct coi_error e = { 0 };
        int r = net_nft_container_addr(name, &addr, &e);
        if (r < 0 && r != -ENOENT) {
                *err = e;
                return r;
        }
        return net_nft_container_remove(name, addr, err);
}

/* Whether name has a chain in the table (but maybe no record). */
static bool has_chain(const char *name)
{
        _cleanup_strv_ char **chains = NULL;
        struct coi_error e = { 0 };
        return net_nft_list_containers(&chains, &e) == 0 && strv_contains(chains, name);
}

int net_container_setup(const struct net_options *o, const struct net_container_config *c,
                        struct net_container_info *ret, struct coi_error *err)
{
        if (!net_name_valid(c->name))
                return coi_error_set(err, EINVAL,
                                     "invalid container name '%s' (letters, digits, _.-, at most %d)",
                                     c->name, NET_NAME_MAX);
        _cleanup_close_ int own_fd = -1;
        int netns_fd = c->netns_fd;
        if (netns_fd < 0) {
                char path[64];
                snprintf(path, sizeof(path), "/proc/%d/ns/net", c->pid);
                own_fd = open(path, O_RDONLY | O_CLOEXEC);
                if (own_fd < 0)
                        return coi_error_set(err, errno, "open %s: %m", path);
                netns_fd = own_fd;
        }
        _cleanup_close_ int lock = lock_state(o, err);
        if (lock < 0)
                return lock;
        struct net_record existing = { 0 };
        if (net_record_load(o->state_dir, c->name, &existing, NULL) == 0) {
                net_record_done(&existing);
                return coi_error_set(err, EEXIST, "container %s already has a network", c->name);
        }
        int r = has_chain(c->name) ? remove_unrecorded(c->name, err) : 0;
        r = r ?: setup_locked(o, c, netns_fd, ret, err);
        if (r < 0)
                coi_error_prefix(err, "network of %s: ", c->name);
        return r;
}

int net_container_teardown(const struct net_options *o, const char *name, struct coi_error *err)
{
        if (!net_name_valid(name))
                return coi_error_set(err, EINVAL, "invalid container name '%s'", name);
        _cleanup_close_ int lock = lock_state(o, err);
        if (lock < 0)
                return lock;
        return teardown_locked(o, name, err);
}

int net_orphans_remove(const struct net_options *o, struct coi_error *err)
{
        _cleanup_close_ int lock = lock_state(o, err);
        if (lock < 0)
                return lock;
        _cleanup_strv_ char **names = NULL;
        int r = net_record_list(o->state_dir, &names, err);
        if (r < 0)
                return r;
        int removed = 0;
        for (char **n = names; *n; n++) {
                struct net_record rec = { 0 };
                if (net_record_load(o->state_dir, *n, &rec, NULL) < 0)
                        continue;
                net_record_done(&rec);
                /* the veth pair dies with the container's namespace: no host side, no container */
                if (rec.host_ifname[0] && net_link_exists(rec.host_ifname))
                        continue;
                r = teardown_locked(o, *n, err);
                if (r < 0)
                        return r;
                removed++;
        }
        /* chains whose record is gone */
        _cleanup_strv_ char **chains = NULL;
        _cleanup_strv_ char **left = NULL;
        r = net_nft_list_containers(&chains, err);
        r = r ?: net_record_list(o->state_dir, &left, err);
        for (char **c = chains; r == 0 && c && *c; c++) {
                if (strv_contains(left, *c))
                        continue;
                r = remove_unrecorded(*c, err);
                removed += r == 0;
        }
        if (r < 0)
                return r;
        r = host_cleanup_if_unused(o, err);
        return r < 0 ? r : removed;
}

/* ---- live changes ---- */

/* Deletes from the learned set the addresses the forwarder handed out for names matching pattern. */
static void forget_learned(const struct net_options *o, const char *name, const char *pattern)
{
        _cleanup_free_ char *path = xasprintf("%s/dns.log", o->state_dir);
        _cleanup_free_ char *data = NULL;
        size_t len;
        if (!path || read_file_at(AT_FDCWD, path, 0, &data, &len, NULL) < 0)
                return;
        _cleanup_free_ char *who = xasprintf("\"container\":\"%s\"", name);
        char *save = NULL;
        for (char *line = strtok_r(data, "\n", &save); who && line; line = strtok_r(NULL, "\n", &save)) {
                char qname[256];
                const char *q = strstr(line, "\"name\":\""), *a = strstr(line, "\"answers\":[");
                if (!strstr(line, who) || !q || !a || sscanf(q + 8, "%255[^\"]", qname) != 1 ||
                    !net_dns_name_matches(pattern, qname))
                        continue;
                for (const char *p = a + 11; *p == '"';) {
                        char ip[INET_ADDRSTRLEN];
                        struct net_prefix addr;
                        if (sscanf(p + 1, "%15[^\"]", ip) != 1)
                                break;
                        if (net_prefix_parse(ip, &addr, NULL) == 0)
                                net_nft_learned_del(name, addr.addr, NULL);
                        p = strchr(p + 1, '"');
                        p = p ? p + 1 : "";
                        if (*p == ',')
                                p++;
                }
        }
}

static int change(const struct net_options *o, const char *name, const char *what, bool allow,
                  struct coi_error *err)
{
        _cleanup_close_ int lock = lock_state(o, err);
        if (lock < 0)
                return lock;
        struct net_record rec = { 0 };
        int r = net_record_load(o->state_dir, name, &rec, err);
        if (r == -ENOENT)
                return coi_error_set(err, ENOENT, "container %s has no network", name);
        if (r < 0)
                return r;
        struct net_prefix p;
        bool is_prefix = net_prefix_parse(what, &p, NULL) == 0;
        if (!is_prefix && !pattern_valid(what)) {
                net_record_done(&rec);
                return coi_error_set(err, EINVAL, "'%s' is neither a name pattern nor an IPv4 address/CIDR",
                                     what);
        }
        char canonical[INET_ADDRSTRLEN + 4];
        if (is_prefix) {
                /* one spelling per prefix in the record, so allow 1.2.3.4 and deny 1.2.3.4/32 meet */
                char ip[INET_ADDRSTRLEN];
                snprintf(canonical, sizeof(canonical), "%s/%d", net_ipv4_format(p.addr, ip), p.len);
                what = canonical;
                r = net_nft_prefix_add(name, !allow, &p, err);
                if (r >= 0)
                        r = net_nft_prefix_del(name, allow, &p, err);
        }
        strv_remove(allow ? rec.deny : rec.allow, what);
        char ***list = allow ? &rec.allow : &rec.deny;
        if (r >= 0 && !strv_contains(*list, what) && strv_push(list, what) < 0)
                r = coi_error_set(err, ENOMEM, "record of %s", name);
        if (r >= 0)
                r = net_record_save(o->state_dir, &rec, err);
        if (r >= 0 && !allow && !is_prefix)
                forget_learned(o, name, what);
        net_record_done(&rec);
        return r;
}

int net_allow(const struct net_options *o, const char *name, const char *what, struct coi_error *err)
{
        return change(o, name, what, true, err);
}

int net_deny(const struct net_options *o, const char *name, const char *what, struct coi_error *err)
{
        return change(o, name, what, false, err);
}

/* ---- show and log ---- */

struct text {
        char *buf;
        size_t len, cap;
        bool oom;
};

static void __attribute__((format(printf, 2, 3))) tprintf(struct text *t, const char *fmt, ...)
{
        for (int i = 0; i < 2 && !t->oom; i++) {
                va_list ap;
                va_start(ap, fmt);
                int n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? t->cap - t->len : 0, fmt, ap);
                va_end(ap);
                if (n < 0) {
                        t->oom = true;
                        return;
                }
                if (t->buf && t->len + (size_t)n < t->cap) {
                        t->len += (size_t)n;
                        return;
                }
                size_t cap = (t->cap + (size_t)n + 1) * 2;
                char *b = realloc(t->buf, cap);
                if (!b) {
                        t->oom = true;
                        return;
                }
                t->buf = b;
                t->cap = cap;
        }
}

static void show_strv(struct text *t, char **v, bool json)
{
        for (size_t i = 0; v && v[i]; i++)
                tprintf(t, json ? "%s\"%s\"" : "%s%s", i ? (json ? "," : " ") : "", v[i]);
}

static void show_set(struct text *t, const char *name, char kind, bool json)
{
        _cleanup_free_ struct net_nft_elem *el = NULL;
        size_t n = 0;
        if (net_nft_list(name, kind, &el, &n, NULL) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                char ip[INET_ADDRSTRLEN];
                net_ipv4_format(el[i].addr, ip);
                if (json && kind == 'a')
                        tprintf(t, "%s{\"addr\":\"%s\",\"expires_ms\":%llu}", i ? "," : "", ip,
                                (unsigned long long)el[i].expires_ms);
                else if (json)
                        tprintf(t, "%s\"%s/%d\"", i ? "," : "", ip, el[i].len);
                else if (kind == 'a')
                        tprintf(t, "%s%s (%llus)", i ? " " : "", ip,
                                (unsigned long long)el[i].expires_ms / 1000);
                else
                        tprintf(t, "%s%s/%d", i ? " " : "", ip, el[i].len);
        }
}

static void show_one(struct text *t, const struct net_record *rec, bool json, bool first)
{
        char ip[INET_ADDRSTRLEN];
        net_ipv4_format(rec->addr, ip);
        const struct net_policy *p = &rec->policy;
        if (json) {
                tprintf(t,
                        "%s{\"name\":\"%s\",\"address\":\"%s\",\"host_interface\":\"%s\",\"mode\":\"%s\","
                        "\"allow_local_network_access\":%s,\"block_metadata_endpoint\":%s,"
                        "\"block_private_networks\":%s,\"allow\":[",
                        first ? "" : ",", rec->name, ip, rec->host_ifname, net_mode_to_string(p->mode),
                        p->allow_local_network_access ? "true" : "false",
                        p->block_metadata_endpoint ? "true" : "false",
                        p->block_private_networks ? "true" : "false");
                show_strv(t, rec->allow, true);
                tprintf(t, "],\"deny\":[");
                show_strv(t, rec->deny, true);
                tprintf(t, "],\"learned\":[");
                show_set(t, rec->name, 'a', true);
                tprintf(t, "],\"allowed_prefixes\":[");
                show_set(t, rec->name, 'p', true);
                tprintf(t, "],\"denied_prefixes\":[");
                show_set(t, rec->name, 'd', true);
                tprintf(t, "]}");
                return;
        }
        tprintf(t, "%s  address %s  interface %s  mode %s\n  allow: ", rec->name, ip, rec->host_ifname,
                net_mode_to_string(p->mode));
        show_strv(t, rec->allow, false);
        tprintf(t, "\n  deny: ");
        show_strv(t, rec->deny, false);
        tprintf(t, "\n  learned: ");
        show_set(t, rec->name, 'a', false);
        tprintf(t, "\n");
}

int net_show(const struct net_options *o, const char *name, bool json, char **ret, struct coi_error *err)
{
        _cleanup_strv_ char **names = NULL;
        int r = net_record_list(o->state_dir, &names, err);
        if (r < 0)
                return r;
        struct text t = { 0 };
        tprintf(&t, json ? "[" : "");
        bool first = true, found = false;
        for (char **n = names; *n; n++) {
                if (name && !streq(name, *n))
                        continue;
                struct net_record rec = { 0 };
                if (net_record_load(o->state_dir, *n, &rec, NULL) < 0)
                        continue;
                show_one(&t, &rec, json, first);
                net_record_done(&rec);
                first = false;
                found = true;
        }
        tprintf(&t, json ? "]\n" : "");
        if (t.oom) {
                free(t.buf);
                return coi_error_set(err, ENOMEM, "show network");
        }
        if (name && !found) {
                free(t.buf);
                return coi_error_set(err, ENOENT, "container %s has no network", name);
        }
        *ret = t.buf ? t.buf : strdup("");
        return *ret ? 0 : coi_error_set(err, ENOMEM, "show network");
}

int net_blocked_read(const struct net_options *o, const char *name, char **ret, struct coi_error *err)
{
        _cleanup_free_ char *path = xasprintf("%s/dns.log", o->state_dir);
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        if (!path)
                return coi_error_set(err, ENOMEM, "read the DNS log");
        int r = read_file_at(AT_FDCWD, path, 0, &data, &len, err);
        if (r == -ENOENT) {
                *ret = strdup("");
                return *ret ? 0 : coi_error_set(err, ENOMEM, "read the DNS log");
        }
        if (r < 0)
                return r;
        _cleanup_free_ char *who = name ? xasprintf("\"container\":\"%s\"", name) : NULL;
        struct text t = { 0 };
        char *save = NULL;
        for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
                if (strstr(line, "\"verdict\":\"refused") && (!who || strstr(line, who)))
                        tprintf(&t, "%s\n", line);
        if (t.oom) {
                free(t.buf);
                return coi_error_set(err, ENOMEM, "read the DNS log");
        }
        *ret = t.buf ? t.buf : strdup("");
        return *ret ? 0 : coi_error_set(err, ENOMEM, "read the DNS log");
}
