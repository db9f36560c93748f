/* monitor.c — the security monitor of one container: a host-side process started with it (outside its
 * namespaces, so the agent can't stop it) that watches processes, sockets, DNS and credential reads,
 * and ends with the container's init. The loop: fanotify events as they come, a 250 ms tick for
 * sockets (sock_diag), the DNS log and byte counters. */
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>

#include "monitor-action.h"
#include "monitor-dns.h"
#include "monitor-files.h"
#include "monitor-net.h"
#include "monitor-proc.h"
#include "monitor.h"
#include "net/net.h"

#define MONITOR_COMM    "coi-monitor"
#define MONITOR_PIDFILE "monitor.pid"
#define RECENT_MAX      256
#define DEDUPE_MS       30000
#define CRED_SCAN_COUNT 3     /* distinct credential files … */
#define CRED_SCAN_MS    10000 /* … within this long: a scan (HIGH) */
#define TX_RING         64

struct io_sample {
        pid_t pid;
        uint64_t rchar;
};

struct monitor {
        const struct monitor_config *c;
        struct monitor_responder resp;
        pid_t init;
        int netfd;
        /* sockets of the last tick: TCP connections (not listeners), sorted inode list */
        uint32_t *conns;
        size_t n_conns;
        int64_t new_conn_ms, shell_scan_ms;
        pid_t *shells; /* reverse shells already reported */
        size_t n_shells;
        struct {
                uint32_t key;
                int64_t ms;
        } recent[RECENT_MAX];
        struct {
                uint32_t key;
                int64_t ms;
        } creds[16];
        int64_t cred_alarm_ms;
        uint64_t tx[TX_RING];
        int64_t tx_ms[TX_RING];
        size_t n_tx;
        struct io_sample *io;
        size_t n_io;
        int64_t io_ms;
        struct monitor_dns dns;
        char *dns_log;
        int dns_fd;
        ino_t dns_ino;
        char dns_buf[8192];
        size_t dns_used;
};

static int64_t realtime_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t hash_str(const char *s)
{
        uint32_t h = 2166136261u;
        for (; *s; s++)
                h = (h ^ (uint8_t)*s) * 16777619u;
        return h;
}

/* True when key was reported within DEDUPE_MS (then it is not again); records it otherwise. */
static bool seen_recently(struct monitor *m, const char *key, int64_t now)
{
        uint32_t h = hash_str(key);
        size_t oldest = 0;
        for (size_t i = 0; i < RECENT_MAX; i++) {
                if (m->recent[i].key == h && now - m->recent[i].ms < DEDUPE_MS)
                        return true;
                if (m->recent[i].ms < m->recent[oldest].ms)
                        oldest = i;
        }
        m->recent[oldest].key = h;
        m->recent[oldest].ms = now;
        return false;
}

/* Hands ev to the responder; true once the container was killed. */
static bool report(struct monitor *m, struct monitor_event *ev)
{
        return monitor_respond(&m->resp, ev) > 0;
}

/* ---- files --------------------------------------------------------------------------------------- */

struct file_ctx {
        struct monitor *m;
        bool done;
};

static void on_open(pid_t pid, const char *path, void *data)
{
        struct file_ctx *fc = data;
        struct monitor *m = fc->m;
        const char *kind = monitor_credential_kind(path);
        if (!kind || fc->done)
                return;
        int64_t now = realtime_ms();
        char cmd[256];
        monitor_proc_cmdline(pid, cmd, sizeof(cmd));
        /* distinct credential files read within CRED_SCAN_MS */
        uint32_t h = hash_str(path);
        size_t distinct = 0, slot = 0;
        bool known = false;
        for (size_t i = 0; i < ELEMENTSOF(m->creds); i++) {
                if (now - m->creds[i].ms > CRED_SCAN_MS)
                        continue;
                distinct++;
                known |= m->creds[i].key == h;
        }
        for (size_t i = 0; i < ELEMENTSOF(m->creds); i++)
                if (m->creds[i].ms < m->creds[slot].ms)
                        slot = i;
        if (!known) {
                m->creds[slot].key = h;
                m->creds[slot].ms = now;
                distinct++;
        }
        struct monitor_event ev;
        if (distinct >= CRED_SCAN_COUNT && now - m->cred_alarm_ms > DEDUPE_MS) {
                m->cred_alarm_ms = now;
                monitor_event_init(&ev, m->c->name, MONITOR_HIGH, "filesystem", "Credential scan",
                                   "%zu credential files read within %d s (last: %s, %s) by pid %d (%s)",
                                   distinct, CRED_SCAN_MS / 1000, path, kind, (int)pid, cmd);
        } else {
                char key[4200];
                snprintf(key, sizeof(key), "cred:%s", path);
                if (seen_recently(m, key, now))
                        return;
                monitor_event_init(&ev, m->c->name, MONITOR_WARNING, "filesystem", "Credential file read",
                                   "%s (%s) read by pid %d (%s)", path, kind, (int)pid, cmd);
        }
        ev.n_evidence = 0;
        monitor_event_add_str(&ev, "path", path);
        monitor_event_add_str(&ev, "kind", kind);
        monitor_event_add_num(&ev, "pid", pid);
        monitor_event_add_str(&ev, "command", cmd);
        monitor_event_add_num(&ev, "files_read", (long long)distinct);
        fc->done = report(m, &ev);
}

/* ---- sockets and processes ----------------------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
        uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
        return x < y ? -1 : x > y;
}

static bool has_u32(const uint32_t *v, size_t n, uint32_t x)
{
        return n && bsearch(&x, v, n, sizeof(*v), cmp_u32);
}

static bool listening_on(const struct monitor_sock *v, size_t n, uint16_t port)
{
        for (size_t i = 0; i < n; i++)
                if (v[i].proto == IPPROTO_TCP && v[i].state == 10 && v[i].sport == port)
                        return true;
        return false;
}

static const struct monitor_sock *find_sock(const struct monitor_sock *v, size_t n, uint32_t inode)
{
        for (size_t i = 0; i < n; i++)
                if (v[i].inode == inode)
                        return &v[i];
        return NULL;
}

/* A new outbound connection: where it goes decides the level. */
static bool new_connection(struct monitor *m, const struct monitor_sock *s, int64_t now)
{
        enum monitor_dest d = monitor_net_classify(s->family, s->dst);
        if (d == MONITOR_DEST_LOOPBACK)
                return false;
        char remote[64], local[64], key[96];
        monitor_sock_addr(s, true, remote, sizeof(remote));
        monitor_sock_addr(s, false, local, sizeof(local));
        struct monitor_event ev;
        if (d == MONITOR_DEST_METADATA) {
                monitor_event_init(&ev, m->c->name, MONITOR_HIGH, "network",
                                   "Connection to the cloud metadata endpoint",
                                   "connection to %s: instance credentials are served there", remote);
        } else if (monitor_net_c2_port(s->dport)) {
                monitor_event_init(&ev, m->c->name, MONITOR_HIGH, "network", "Connection to a C2 port",
                                   "connection to %s: a port reverse shells and C2 frameworks use", remote);
        } else {
                snprintf(key, sizeof(key), "conn:%s", remote);
                if (s->dport == 53 || seen_recently(m, key, now))
                        return false;
                bool private = d == MONITOR_DEST_PRIVATE;
                monitor_event_init(&ev, m->c->name, private ? MONITOR_WARNING : MONITOR_INFO, "network",
                                   private ? "Connection to a private network" : "New outbound connection",
                                   "connection to %s", remote);
        }
        monitor_event_add_str(&ev, "protocol", "tcp");
        monitor_event_add_str(&ev, "local_addr", local);
        monitor_event_add_str(&ev, "remote_addr", remote);
        monitor_event_add_str(&ev, "state", monitor_tcp_state(s->state));
        return report(m, &ev);
}

static bool new_listener(struct monitor *m, const struct monitor_sock *s, int64_t now)
{
        char local[64], key[96];
        monitor_sock_addr(s, false, local, sizeof(local));
        snprintf(key, sizeof(key), "listen:%s", local);
        if (seen_recently(m, key, now))
                return false;
        struct monitor_event ev;
        monitor_event_init(&ev, m->c->name, MONITOR_INFO, "network", "Listening socket", "listening on %s",
                           local);
        monitor_event_add_str(&ev, "protocol", "tcp");
        monitor_event_add_str(&ev, "local_addr", local);
        return report(m, &ev);
}

static bool shell_event(struct monitor *m, pid_t pid, const struct monitor_sock *v, size_t n, uint32_t inode,
                        const char *how, const char *pattern)
{
        const struct monitor_sock *s = find_sock(v, n, inode);
        char remote[64] = "?", cmd[256], exe[256];
        if (s)
                monitor_sock_addr(s, true, remote, sizeof(remote));
        monitor_proc_cmdline(pid, cmd, sizeof(cmd));
        monitor_proc_exe(pid, exe, sizeof(exe));
        struct monitor_event ev;
        monitor_event_init(&ev, m->c->name, MONITOR_CRITICAL, "process", "Reverse shell detected",
                           "pid %d (%s) has %s a TCP connection to %s", (int)pid, exe, how, remote);
        monitor_event_add_num(&ev, "pid", pid);
        monitor_event_add_str(&ev, "command", cmd);
        monitor_event_add_str(&ev, "executable", exe);
        monitor_event_add_str(&ev, "remote_addr", remote);
        monitor_event_add_str(&ev, "pattern", pattern);
        return report(m, &ev);
}

static bool reported_shell(struct monitor *m, pid_t pid)
{
        for (size_t k = 0; k < m->n_shells; k++)
                if (m->shells[k] == pid)
                        return true;
        pid_t *ns = realloc(m->shells, (m->n_shells + 1) * sizeof(*ns));
        if (ns) {
                m->shells = ns;
                m->shells[m->n_shells++] = pid;
        }
        return false;
}

/* Reverse shells, whatever their binary is called: (1) a process whose stdin or stdout is a TCP
 * connection (bash /dev/tcp, python and perl one-liners, socat/nc that exec a program on the socket, a
 * renamed copy of a shell); (2) a shell or interpreter reading and writing pipes, whose stdout feeds a
 * process holding a TCP connection (the mkfifo + nc pipeline). */
static bool scan_shells(struct monitor *m, const struct monitor_sock *v, size_t n, const uint32_t *conns,
                        size_t n_conns)
{
        _cleanup_free_ pid_t *pids = NULL;
        size_t n_pids = 0;
        struct coi_error e = { 0 };
        if (monitor_cgroup_pids(m->resp.cgroup, &pids, &n_pids, &e) < 0)
                return false;
        _cleanup_free_ struct monitor_fd(*io)[3] = calloc(n_pids + 1, sizeof(*io));
        if (!io)
                return false;
        for (size_t i = 0; i < n_pids; i++) {
                monitor_proc_stdio(pids[i], io[i]);
                for (int f = 0; f < 2; f++)
                        if (io[i][f].kind == MONITOR_FD_SOCKET && has_u32(conns, n_conns, io[i][f].inode) &&
                            !reported_shell(m, pids[i]) &&
                            shell_event(m, pids[i], v, n, io[i][f].inode,
                                        f == 0 ? "its stdin on" : "its stdout on", "stdio-on-socket"))
                                return true;
        }
        for (size_t i = 0; i < n_pids; i++) {
                if (io[i][0].kind != MONITOR_FD_PIPE || io[i][1].kind != MONITOR_FD_PIPE)
                        continue;
                for (size_t k = 0; k < n_pids; k++) {
                        if (k == i || io[k][0].kind != MONITOR_FD_PIPE || io[k][0].inode != io[i][1].inode)
                                continue;
                        uint32_t inode = monitor_proc_holds_socket(pids[k], conns, n_conns);
                        if (inode && monitor_proc_is_interpreter(pids[i]) && !reported_shell(m, pids[i]) &&
                            shell_event(m, pids[i], v, n, inode, "its output piped into a process holding",
                                        "shell-piped-to-socket"))
                                return true;
                }
        }
        return false;
}

static bool tick_sockets(struct monitor *m, int64_t now)
{
        _cleanup_free_ struct monitor_sock *v = NULL;
        size_t n = 0;
        struct coi_error e = { 0 };
        if (monitor_net_dump(m->netfd, &v, &n, &e) < 0)
                return false;
        _cleanup_free_ uint32_t *conns = calloc(n + 1, sizeof(*conns));
        if (!conns)
                return false;
        size_t n_conns = 0;
        for (size_t i = 0; i < n; i++)
                if (v[i].proto == IPPROTO_TCP && v[i].state != 10 && v[i].state != 7 && v[i].state != 6)
                        conns[n_conns++] = v[i].inode;
        qsort(conns, n_conns, sizeof(*conns), cmp_u32);
        bool done = false;
        for (size_t i = 0; !done && i < n; i++) {
                const struct monitor_sock *s = &v[i];
                if (s->proto != IPPROTO_TCP)
                        continue;
                if (s->state == 10)
                        done = new_listener(m, s, now);
                else if ((s->state == 1 || s->state == 2) && !has_u32(m->conns, m->n_conns, s->inode) &&
                         !listening_on(v, n, s->sport))
                        done = new_connection(m, s, now);
        }
        /* new connections: look at once and for a second more (a dup2 or an exec may follow the
         * connect); while connections last, again every poll interval */
        for (size_t i = 0; i < n_conns; i++)
                if (!has_u32(m->conns, m->n_conns, conns[i]))
                        m->new_conn_ms = now;
        if (!done && n_conns &&
            (now - m->new_conn_ms <= 1000 || now - m->shell_scan_ms >= m->c->poll_interval_sec * 1000LL)) {
                m->shell_scan_ms = now;
                done = scan_shells(m, v, n, conns, n_conns);
        }
        free(m->conns);
        m->conns = TAKE_PTR(conns);
        m->n_conns = n_conns;
        return done;
}

/* ---- byte counters ------------------------------------------------------------------------------- */

/* Bytes the container sent: tx of its interfaces but lo, from its own /proc/PID/net/dev. */
static uint64_t tx_bytes(pid_t init)
{
        char path[64], line[512];
        snprintf(path, sizeof(path), "/proc/%d/net/dev", (int)init);
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        uint64_t sum = 0;
        while (f && fgets(line, sizeof(line), f)) {
                char *colon = strchr(line, ':');
                if (!colon)
                        continue;
                *colon = '\0';
                const char *name = line + strspn(line, " ");
                unsigned long long f8[9];
                if (streq(name, "lo") ||
                    sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu", &f8[0], &f8[1], &f8[2],
                           &f8[3], &f8[4], &f8[5], &f8[6], &f8[7], &f8[8]) != 9)
                        continue;
                sum += f8[8];
        }
        return sum;
}

static bool tick_upload(struct monitor *m, int64_t now)
{
        uint64_t tx = tx_bytes(m->init);
        size_t i = m->n_tx++ % TX_RING;
        m->tx[i] = tx;
        m->tx_ms[i] = now;
        /* the oldest sample within the window */
        uint64_t base = tx;
        size_t have = m->n_tx < TX_RING ? m->n_tx : TX_RING;
        for (size_t k = 0; k < have; k++)
                if (now - m->tx_ms[k] <= MONITOR_UPLOAD_WINDOW_MS && m->tx[k] < base)
                        base = m->tx[k];
        double mb = (double)(tx - base) / 1e6;
        if (m->c->upload_threshold_mb <= 0 || mb < m->c->upload_threshold_mb ||
            seen_recently(m, "upload", now))
                return false;
        /* start the window over: the next alarm needs as much again */
        for (size_t k = 0; k < have; k++)
                m->tx[k] = tx;
        struct monitor_event ev;
        monitor_event_init(&ev, m->c->name, MONITOR_HIGH, "network", "Large upload",
                           "%.1f MB sent within %d s (threshold %.1f MB)", mb,
                           MONITOR_UPLOAD_WINDOW_MS / 1000, m->c->upload_threshold_mb);
        monitor_event_add_num(&ev, "sent_bytes", (long long)(tx - base));
        monitor_event_add_num(&ev, "window_seconds", MONITOR_UPLOAD_WINDOW_MS / 1000);
        return report(m, &ev);
}

static uint64_t previous_rchar(const struct monitor *m, pid_t pid)
{
        for (size_t i = 0; i < m->n_io; i++)
                if (m->io[i].pid == pid)
                        return m->io[i].rchar;
        return 0;
}

static bool tick_reads(struct monitor *m, int64_t now)
{
        if (now - m->io_ms < m->c->poll_interval_sec * 1000LL)
                return false;
        bool first = m->io_ms == 0;
        m->io_ms = now;
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        struct coi_error e = { 0 };
        if (monitor_cgroup_pids(m->resp.cgroup, &pids, &n, &e) < 0)
                return false;
        struct io_sample *io = calloc(n + 1, sizeof(*io));
        if (!io)
                return false;
        uint64_t delta = 0;
        for (size_t i = 0; i < n; i++) {
                io[i].pid = pids[i];
                io[i].rchar = monitor_proc_read_bytes(pids[i]);
                uint64_t before = previous_rchar(m, pids[i]);
                delta += io[i].rchar > before ? io[i].rchar - before : 0;
        }
        free(m->io);
        m->io = io;
        m->n_io = n;
        double mb = (double)delta / 1e6;
        if (first || m->c->file_read_threshold_mb <= 0 || mb < m->c->file_read_threshold_mb ||
            seen_recently(m, "reads", now))
                return false;
        struct monitor_event ev;
        monitor_event_init(&ev, m->c->name, MONITOR_WARNING, "filesystem", "Large read volume",
                           "%.1f MB read within %lld s (threshold %.1f MB)", mb,
                           (long long)m->c->poll_interval_sec, m->c->file_read_threshold_mb);
        monitor_event_add_num(&ev, "read_bytes", (long long)delta);
        monitor_event_add_num(&ev, "window_seconds", m->c->poll_interval_sec);
        return report(m, &ev);
}

/* ---- DNS: the forwarder's query log -------------------------------------------------------------- */

static void dns_reopen(struct monitor *m, bool at_end)
{
        if (m->dns_fd >= 0)
                close(m->dns_fd);
        m->dns_fd = open(m->dns_log, O_RDONLY | O_CLOEXEC);
        m->dns_used = 0;
        struct stat st;
        if (m->dns_fd >= 0 && fstat(m->dns_fd, &st) == 0) {
                m->dns_ino = st.st_ino;
                if (at_end)
                        lseek(m->dns_fd, 0, SEEK_END);
        }
}

static bool tick_dns(struct monitor *m)
{
        struct stat st;
        if (stat(m->dns_log, &st) < 0)
                return false;
        if (m->dns_fd < 0 || st.st_ino != m->dns_ino)
                dns_reopen(m, false); /* new or rotated: every line of it is new */
        for (;;) {
                ssize_t r = read(m->dns_fd, m->dns_buf + m->dns_used, sizeof(m->dns_buf) - 1 - m->dns_used);
                if (r <= 0)
                        return false;
                m->dns_used += (size_t)r;
                m->dns_buf[m->dns_used] = '\0';
                char *p = m->dns_buf, *nl;
                while ((nl = strchr(p, '\n'))) {
                        *nl = '\0';
                        int64_t ms;
                        char name[256], type[16];
                        struct monitor_event ev;
                        if (monitor_dns_parse_log_line(p, m->c->name, &ms, name, sizeof(name), type,
                                                       sizeof(type)) &&
                            monitor_dns_feed(&m->dns, m->c->name, ms, name, type, &ev) && report(m, &ev))
                                return true;
                        p = nl + 1;
                }
                size_t left = m->dns_used - (size_t)(p - m->dns_buf);
                memmove(m->dns_buf, p, left);
                m->dns_used = left == sizeof(m->dns_buf) - 1 ? 0 : left; /* an absurd line is dropped */
        }
}

/* ---- the loop ------------------------------------------------------------------------------------ */

static int monitor_loop(struct monitor *m, int pidfd, int fanfd, int ready_fd)
{
        _cleanup_close_ int timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        struct itimerspec its = { .it_interval = { 0, MONITOR_TICK_MS * 1000000L },
                                  .it_value = { 0, MONITOR_TICK_MS * 1000000L } };
        if (timer < 0 || timerfd_settime(timer, 0, &its, NULL) < 0) {
                dprintf(ready_fd, "monitor timer: %s", strerror(errno));
                return -errno;
        }
        dns_reopen(m, true);
        tick_upload(m, realtime_ms()); /* the baselines */
        tick_reads(m, realtime_ms());
        (void)!write(ready_fd, "ok", 2);
        close(ready_fd);
        for (;;) {
                struct pollfd p[3] = { { .fd = pidfd, .events = POLLIN },
                                       { .fd = timer, .events = POLLIN },
                                       { .fd = fanfd, .events = POLLIN } };
                if (poll(p, 3, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (p[0].revents)
                        return 0; /* init exited: the container is over */
                if (p[2].revents) {
                        struct file_ctx fc = { .m = m };
                        monitor_files_read(fanfd, on_open, &fc);
                        if (fc.done)
                                return 0;
                }
                if (p[1].revents) {
                        uint64_t ticks;
                        (void)!read(timer, &ticks, sizeof(ticks));
                        int64_t now = realtime_ms();
                        if (tick_sockets(m, now) || tick_upload(m, now) || tick_dns(m) || tick_reads(m, now))
                                return 0;
                }
        }
}

static char *container_dir(struct container_store *s, const char *name)
{
        char *p = container_rootfs_path(s, name);
        char *slash = p ? strrchr(p, '/') : NULL;
        if (slash)
                *slash = '\0';
        return p;
}

static void run_daemon(const struct monitor_config *c, int ready_fd)
{
        struct coi_error e = { 0 };
        _cleanup_(container_store_freep) struct container_store *store = NULL;
        _cleanup_(container_info_freep) struct container_info *info = NULL;
        if (container_store_open(&store, &e) < 0 || container_info_get(store, c->name, &info, &e) < 0) {
                dprintf(ready_fd, "%s", e.msg);
                return;
        }
        if (!info->pid || !info->cgroup) {
                dprintf(ready_fd, "container %s is not running", c->name);
                return;
        }
        _cleanup_close_ int pidfd = pidfd_open_(info->pid);
        _cleanup_close_ int netfd = -1, fanfd = -1;
        size_t marks = 0;
        if (pidfd < 0) {
                dprintf(ready_fd, "pidfd of %s's init %d: %s", c->name, (int)info->pid, strerror(errno));
                return;
        }
        if (monitor_net_open(info->pid, &netfd, &e) < 0 ||
            monitor_files_open(info->pid, &fanfd, &marks, &e) < 0) {
                dprintf(ready_fd, "%s", e.msg);
                return;
        }
        struct net_options no;
        net_options_init(&no, true);
        _cleanup_close_ int tty = c->tty ? open(c->tty, O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK) : -1;
        struct monitor m = { .c = c,
                             .init = info->pid,
                             .netfd = netfd,
                             .dns_fd = -1,
                             .dns_log = xasprintf("%s/dns.log", no.state_dir),
                             .resp = { .store = store,
                                       .name = c->name,
                                       .cgroup = info->cgroup,
                                       .audit_dir = c->audit_dir,
                                       .tty_fd = tty,
                                       .auto_pause_on_high = c->auto_pause_on_high,
                                       .auto_kill_on_critical = c->auto_kill_on_critical } };
        struct monitor_dns_thresholds t = MONITOR_DNS_DEFAULTS;
        if (c->dns_query_threshold > 0)
                t.queries_per_minute = c->dns_query_threshold;
        monitor_dns_init(&m.dns, &t);
        fprintf(stderr, "coi monitor: watching %s (init %d, %zu mounts)\n", c->name, (int)info->pid, marks);
        monitor_loop(&m, pidfd, fanfd, ready_fd);
        if (m.dns_fd >= 0)
                close(m.dns_fd);
        free(m.dns_log);
        free(m.conns);
        free(m.shells);
        free(m.io);
}

pid_t monitor_running(struct container_store *s, const char *name)
{
        _cleanup_free_ char *dir = container_dir(s, name);
        _cleanup_free_ char *path = dir ? xasprintf("%s/%s", dir, MONITOR_PIDFILE) : NULL;
        _cleanup_free_ char *data = NULL;
        struct coi_error e = { 0 };
        if (!path || read_file_at(AT_FDCWD, path, 32, &data, NULL, &e) < 0)
                return 0;
        pid_t pid = (pid_t)atoi(data);
        char comm_path[64], comm[32] = "";
        snprintf(comm_path, sizeof(comm_path), "/proc/%d/comm", (int)pid);
        _cleanup_free_ char *cdata = NULL;
        if (pid <= 0 || read_file_at(AT_FDCWD, comm_path, sizeof(comm), &cdata, NULL, &e) < 0)
                return 0;
        return startswith(cdata, MONITOR_COMM) ? pid : 0;
}

int monitor_start(struct container_store *s, const struct monitor_config *c, struct coi_error *err)
{
        if (monitor_running(s, c->name) > 0)
                return 0;
        _cleanup_free_ char *dir = container_dir(s, c->name);
        _cleanup_free_ char *pidfile = dir ? xasprintf("%s/%s", dir, MONITOR_PIDFILE) : NULL;
        _cleanup_free_ char *log = dir ? xasprintf("%s/%s", dir, CONTAINER_CONSOLE_LOG) : NULL;
        if (!pidfile || !log)
                return coi_error_set(err, ENOMEM, "monitor of %s: %m", c->name);
        int ready[2];
        if (pipe2(ready, O_CLOEXEC) < 0)
                return coi_error_set(err, errno, "monitor of %s: pipe: %m", c->name);
        pid_t pid = fork();
        if (pid < 0) {
                close(ready[0]);
                close(ready[1]);
                return coi_error_set(err, errno, "monitor of %s: fork: %m", c->name);
        }
        if (pid == 0) {
                /* A daemon of its own, outside the container's namespaces: nothing of the caller's (a
                 * terminal, the pipes a test reads) stays open in it; it speaks to console.log and the
                 * user's terminal. */
                if (setsid() < 0 || fork() != 0)
                        _exit(0);
                int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null < 0 || dup2(null, 0) < 0 || dup2(fd >= 0 ? fd : null, 1) < 0 ||
                    dup2(fd >= 0 ? fd : null, 2) < 0)
                        _exit(1);
                for (int i = 3; i < 1024; i++)
                        if (i != ready[1])
                                close(i);
                signal(SIGINT, SIG_IGN);
                signal(SIGHUP, SIG_IGN);
                signal(SIGPIPE, SIG_IGN);
                prctl(PR_SET_NAME, MONITOR_COMM);
                char me[24];
                int n = snprintf(me, sizeof(me), "%d\n", (int)getpid());
                struct coi_error e = { 0 };
                if (write_file_atomic_at(AT_FDCWD, pidfile, me, (size_t)n, 0600, &e) < 0) {
                        dprintf(ready[1], "%s", e.msg);
                        _exit(1);
                }
                run_daemon(c, ready[1]);
                unlink(pidfile);
                _exit(0);
        }
        close(ready[1]);
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        char msg[600] = "";
        size_t used = 0;
        uint64_t deadline = now_ns() + MONITOR_READY_TIMEOUT_MS * 1000000ULL;
        for (;;) {
                uint64_t now = now_ns();
                struct pollfd p = { .fd = ready[0], .events = POLLIN };
                if (now >= deadline || poll(&p, 1, (int)((deadline - now) / 1000000u) + 1) <= 0)
                        break;
                ssize_t r = read(ready[0], msg + used, sizeof(msg) - 1 - used);
                if (r <= 0)
                        break;
                used += (size_t)r;
        }
        close(ready[0]);
        msg[used] = '\0';
        if (!streq(msg, "ok"))
                return coi_error_set(err, EIO, "security monitor of %s: %s", c->name,
                                     msg[0] ? msg : "did not start");
        return 0;
}
