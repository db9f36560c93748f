/* net.c — a container's network, its lifecycle: set up and tear down (bridge, veth, nftables, DNS forwarder),
 * the state lock, the forwarder process, orphans. Allow/deny/show: net-policy.c; records: net-record.c. */
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "net-dns.h"
#include "net-internal.h"

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

/* ---- the forwarder process ---- */

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
                _cleanup_close_ int pidfd = pidfd_open_(pid);
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
        _cleanup_close_ int lock = net_lock_state(o, &e);
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
        _cleanup_free_ char *path = net_record_path(o->state_dir, name);
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
                if (net_prefix_parse(*a, &p, NULL) < 0 && !net_pattern_valid(*a)) {
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
        _cleanup_close_ int lock = net_lock_state(o, err);
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
        _cleanup_close_ int lock = net_lock_state(o, err);
        if (lock < 0)
                return lock;
        return teardown_locked(o, name, err);
}

int net_orphans_remove(const struct net_options *o, struct coi_error *err)
{
        _cleanup_close_ int lock = net_lock_state(o, err);
        if (lock < 0)
                return lock;
        /* records half written by a killed coi */
        int removed = 0;
        _cleanup_free_ char *records = xasprintf("%s/containers", o->state_dir);
        _cleanup_close_ int rfd = records ? open(records, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
        if (rfd >= 0)
                removed += remove_stale_temporaries_at(rfd);
        _cleanup_strv_ char **names = NULL;
        int r = net_record_list(o->state_dir, &names, err);
        if (r < 0)
                return r;
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
