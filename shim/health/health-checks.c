/* health-checks.c — `coi health`'s probes, one function per check: each tries the real thing where it can
 * (unshare, idmap a mount, open a netfilter socket) in a short-lived child, and only reads; never repairs. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image/build.h"
#include "container/container.h"
#include "health.h"
#include "container/idmap-alloc.h"
#include "image/image.h"
#include "net/net.h"
#include "config/config.h"
#include "container/seccomp-profile.h"
#include "container/system-config.h"
#include "json-util.h"
#include "util.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* ---- children ------------------------------------------------------------------------------------ */

/* Runs fn in a forked child and returns what it returned (0 or an errno value): anything the probe
 * changes (namespaces, mounts) dies with the child, so coi's own process is never touched. */
static int in_child(int (*fn)(void *), void *data)
{
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
                return errno;
        if (pid == 0)
                _exit(fn(data) & 0xff);
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return errno;
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        return EINTR;
}

static int probe_unshare(void *data)
{
        return unshare(*(int *)data) < 0 ? errno : 0;
}

/* ---- kernel -------------------------------------------------------------------------------------- */

static void check_os(struct health_check *c)
{
        struct utsname u;
        uname(&u);
        _cleanup_free_ char *osr = NULL;
        const char *pretty = NULL;
        if (read_file_at(AT_FDCWD, "/etc/os-release", 65536, &osr, NULL, NULL) == 0) {
                for (char *line = strtok(osr, "\n"); line; line = strtok(NULL, "\n"))
                        if (startswith(line, "PRETTY_NAME=")) {
                                pretty = line + strlen("PRETTY_NAME=");
                                size_t n = strlen(pretty);
                                if (n >= 2 && pretty[0] == '"' && pretty[n - 1] == '"') {
                                        line[strlen("PRETTY_NAME=") + n - 1] = '\0';
                                        pretty++;
                                }
                                break;
                        }
        }
        if (pretty)
                health_check_set(c, "os", "SYSTEM", HEALTH_OK, "%s (%s)", pretty, u.machine);
        else
                health_check_set(c, "os", "SYSTEM", HEALTH_OK, "linux/%s", u.machine);
        health_detail_str(c, "os", "linux");
        health_detail_str(c, "arch", "%s", u.machine);
        health_detail_str(c, "details", "%s", pretty ? pretty : "");
}

static void check_kernel(struct health_check *c)
{
        struct utsname u;
        uname(&u);
        struct kernel_version v, min = { HEALTH_KERNEL_MIN_MAJOR, HEALTH_KERNEL_MIN_MINOR, 0 };
        if (health_parse_kernel_version(u.release, &v) < 0) {
                health_check_set(c, "kernel_version", "SYSTEM", HEALTH_WARNING,
                                 "Could not parse kernel version: %s", u.release);
                return;
        }
        bool ok = health_kernel_compare(&v, &min) >= 0;
        if (ok)
                health_check_set(c, "kernel_version", "SYSTEM", HEALTH_OK, "Kernel %s (>= %u.%u)", u.release,
                                 min.major, min.minor);
        else
                health_check_set(c, "kernel_version", "SYSTEM", HEALTH_WARNING,
                                 "Kernel %s is below recommended minimum %u.%u — older kernels may lack "
                                 "idmapped mounts, cgroup.kill and time namespaces",
                                 u.release, min.major, min.minor);
        health_detail_str(c, "kernel", "%s", u.release);
        health_detail_str(c, "minimum", "%u.%u", min.major, min.minor);
        health_detail_int(c, "major", v.major);
        health_detail_int(c, "minor", v.minor);
        health_detail_int(c, "patch", v.patch);
        health_detail_bool(c, "meets_minimum", ok);
}

static void check_namespaces(struct health_check *c)
{
        /* cgroup and time namespaces make the container nicer, the others make it a container. */
        static const struct {
                const char *name;
                int flag;
                bool required;
        } ns[] = {
                { "user", CLONE_NEWUSER, true },      { "mnt", CLONE_NEWNS, true },
                { "pid", CLONE_NEWPID, true },        { "net", CLONE_NEWNET, true },
                { "uts", CLONE_NEWUTS, true },        { "ipc", CLONE_NEWIPC, true },
                { "cgroup", CLONE_NEWCGROUP, false }, { "time", CLONE_NEWTIME, false },
        };
        char missing[256] = "";
        enum health_status st = HEALTH_OK;
        int n_ok = 0;
        for (size_t i = 0; i < ELEMENTSOF(ns); i++) {
                int flag = ns[i].flag;
                int r = in_child(probe_unshare, &flag);
                health_detail_bool(c, ns[i].name, r == 0);
                if (r == 0) {
                        n_ok++;
                        continue;
                }
                size_t len = strlen(missing);
                snprintf(missing + len, sizeof(missing) - len, "%s%s (%s)", len ? ", " : "", ns[i].name,
                         strerror(r));
                if (ns[i].required)
                        st = HEALTH_FAILED;
                else if (st == HEALTH_OK)
                        st = HEALTH_WARNING;
        }
        if (st == HEALTH_OK)
                health_check_set(c, "namespaces", "CRITICAL", st, "All %d namespace types can be created",
                                 n_ok);
        else
                health_check_set(c, "namespaces", "CRITICAL", st, "Cannot create namespaces: %s", missing);
}

/* ---- idmapped mounts ----------------------------------------------------------------------------- */

struct idmap_probe {
        const char *dir;
};

/* A user namespace with the map system containers get (0 → 1000000, 65536 ids), held by a child that
 * waits on a pipe; the probe idmaps a detached clone of dir with it and never attaches it anywhere. */
static int probe_idmap(void *data)
{
        const struct idmap_probe *p = data;
        int pfd[2];
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return errno;
        pid_t holder = fork();
        if (holder < 0)
                return errno;
        if (holder == 0) {
                close(pfd[1]);
                if (unshare(CLONE_NEWUSER) < 0)
                        _exit(1);
                char b;
                (void)!read(pfd[0], &b, 1); /* until the parent is done with our namespace */
                _exit(0);
        }
        close(pfd[0]);
        int r = 0;
        /* The holder unshares asynchronously: wait until its user namespace differs from ours. */
        struct stat self_ns, its_ns;
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/ns/user", holder);
        stat("/proc/self/ns/user", &self_ns);
        for (int i = 0; i < 2000; i++) {
                if (stat(path, &its_ns) < 0) {
                        r = errno;
                        break;
                }
                if (its_ns.st_ino != self_ns.st_ino)
                        break;
                usleep(500);
        }
        static const char *maps[] = { "uid_map", "gid_map" };
        for (size_t i = 0; r == 0 && i < ELEMENTSOF(maps); i++) {
                char mp[64];
                snprintf(mp, sizeof(mp), "/proc/%d/%s", holder, maps[i]);
                struct coi_error e = { 0 };
                if (write_file_at(AT_FDCWD, mp, "0 1000000 65536\n", &e) < 0)
                        r = e.code ? e.code : EIO;
        }
        int userns = r ? -1 : open(path, O_RDONLY | O_CLOEXEC);
        if (r == 0 && userns < 0)
                r = errno;
        int tree = r ? -1 : open_tree(AT_FDCWD, p->dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (r == 0 && tree < 0)
                r = errno;
        if (r == 0) {
                struct mount_attr a = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns };
                if (mount_setattr(tree, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
                        r = errno;
        }
        if (tree >= 0)
                close(tree);
        if (userns >= 0)
                close(userns);
        close(pfd[1]);
        waitpid(holder, NULL, 0);
        return r;
}

static void check_idmapped_mounts(struct health_check *c)
{
        /* The filesystem that matters is the image store's: system containers idmap the image's rootfs. */
        const char *env = getenv("COI_IMAGES_DIR");
        const char *store = env && *env ? env : IMAGE_STORE_DEFAULT;
        char tmp[] = "/tmp/coi-health-XXXXXX";
        struct idmap_probe p = { store };
        struct stat st;
        bool made = false;
        if (stat(store, &st) < 0 || !S_ISDIR(st.st_mode)) {
                if (!mkdtemp(tmp)) {
                        health_check_set(c, "idmapped_mounts", "CRITICAL", HEALTH_WARNING,
                                         "Could not make a directory to test on: %s", strerror(errno));
                        return;
                }
                p.dir = tmp;
                made = true;
        }
        int r = in_child(probe_idmap, &p);
        struct statfs sf;
        if (statfs(p.dir, &sf) == 0)
                health_detail_str(c, "fs_magic", "0x%lx", (unsigned long)sf.f_type);
        health_detail_str(c, "path", "%s", p.dir);
        if (made)
                rmdir(tmp);
        if (r == 0)
                health_check_set(c, "idmapped_mounts", "CRITICAL", HEALTH_OK, "Supported on %s", p.dir);
        else
                health_check_set(c, "idmapped_mounts", "CRITICAL", HEALTH_FAILED,
                                 "Cannot idmap a mount of %s (%s): system containers need idmapped mounts "
                                 "(Linux >= 5.12, and a filesystem that supports them)",
                                 p.dir, strerror(r));
        health_detail_bool(c, "supported", r == 0);
}

/* ---- cgroups ------------------------------------------------------------------------------------- */

static void check_cgroup(struct health_check *c)
{
        const char *name = "cgroup_availability", *cat = "CRITICAL";
        struct coi_cgroup_hierarchy h;
        struct coi_error e = { 0 };
        if (coi_cgroup_detect(&h, &e) < 0 || h.layout == COI_CGROUP_NONE) {
                health_check_set(c, name, cat, HEALTH_FAILED, "No cgroup2 hierarchy: %s",
                                 e.msg[0] ? e.msg : "neither /sys/fs/cgroup nor /sys/fs/cgroup/unified");
                return;
        }
        const char *layout = h.layout == COI_CGROUP_UNIFIED ? "unified" : "hybrid";
        /* The runtime's detection leaves controllers empty on hybrid hosts: read them ourselves. */
        _cleanup_free_ char *path = xasprintf("%s/cgroup.controllers", h.mount_point);
        _cleanup_free_ char *ctl = NULL;
        if (path)
                read_file_at(AT_FDCWD, path, 4096, &ctl, NULL, NULL);
        char have[256] = "";
        if (ctl)
                snprintf(have, sizeof(have), "%s", ctl);
        have[strcspn(have, "\n")] = '\0';
        /* What [limits.*] needs (docs/limits.md). */
        static const char *wanted[] = { "memory", "cpu", "cpuset", "pids", "io" };
        char missing[64] = "";
        for (size_t i = 0; i < ELEMENTSOF(wanted); i++) {
                bool found = false;
                char copy[256];
                snprintf(copy, sizeof(copy), "%s", have);
                char *save = NULL;
                for (char *t = strtok_r(copy, " ", &save); t && !found; t = strtok_r(NULL, " ", &save))
                        found = streq(t, wanted[i]);
                if (!found) {
                        size_t len = strlen(missing);
                        snprintf(missing + len, sizeof(missing) - len, "%s%s", len ? ", " : "", wanted[i]);
                }
        }
        health_detail_str(c, "layout", "%s", layout);
        health_detail_str(c, "path", "%s", h.mount_point);
        health_detail_str(c, "controllers", "%s", have);
        health_detail_str(c, "missing_controllers", "%s", missing);
        if (missing[0])
                health_check_set(
                        c, name, cat, HEALTH_WARNING,
                        "cgroup v2 (%s, %s) has controllers \"%s\", lacks %s: limits can't be enforced "
                        "([limits.*] needing them fail, or are skipped with [limits] best_effort)",
                        layout, h.mount_point, have, missing);
        else
                health_check_set(c, name, cat, HEALTH_OK, "cgroup v2 (%s, %s): controllers %s", layout,
                                 h.mount_point, have);
}

/* ---- seccomp, LSMs ------------------------------------------------------------------------------- */

static void check_seccomp(struct health_check *c)
{
        int mode = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
        if (mode < 0 && errno == EINVAL) {
                health_check_set(c, "seccomp", "CRITICAL", HEALTH_FAILED,
                                 "Kernel without seccomp: system calls can't be filtered");
                return;
        }
        static const struct {
                const char *name;
                uint32_t action;
                bool required;
        } actions[] = {
                { "kill_process", SECCOMP_RET_KILL_PROCESS, false },
                { "kill_thread", SECCOMP_RET_KILL_THREAD, true },
                { "trap", SECCOMP_RET_TRAP, false },
                { "errno", SECCOMP_RET_ERRNO, true },
                { "user_notif", SECCOMP_RET_USER_NOTIF, false },
                { "trace", SECCOMP_RET_TRACE, false },
                { "log", SECCOMP_RET_LOG, false },
                { "allow", SECCOMP_RET_ALLOW, true },
        };
        char avail[128] = "", missing[128] = "";
        bool required_missing = false;
        for (size_t i = 0; i < ELEMENTSOF(actions); i++) {
                uint32_t a = actions[i].action;
                bool ok = syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &a) == 0;
                char *buf = ok ? avail : missing;
                size_t len = strlen(buf);
                snprintf(buf + len, sizeof(avail) - len, "%s%s", len ? "," : "", actions[i].name);
                required_missing |= !ok && actions[i].required;
        }
        health_detail_str(c, "actions", "%s", avail);
        health_detail_int(c, "mode", mode);
        if (required_missing) {
                health_check_set(c, "seccomp", "CRITICAL", HEALTH_FAILED, "seccomp lacks actions %s",
                                 missing);
                return;
        }
        /* The profiles the configuration gives shells (and `container launch`) and `run` jobs. */
        struct coi_error e = { 0 };
        _cleanup_(config_freep) struct config *cfg = NULL;
        struct config_load_options lo = { 0 };
        const char *configured = config_load(&lo, &cfg, &e) == 0 ? cfg->security.seccomp_profile : NULL;
        const char *spec[2] = { seccomp_profile_choose(configured, false, false),
                                seccomp_profile_choose(configured, true, false) };
        const char *origin[2] = { NULL, NULL };
        static const char *const keys[2][2] = { { "profile", "profile_origin" },
                                                { "profile_run", "profile_run_origin" } };
        for (int i = 0; i < 2; i++) {
                _cleanup_free_ char *json = NULL;
                int r = seccomp_profile_load(spec[i], &json, &origin[i], &e);
                char ebuf[256] = "";
                _cleanup_(yajl_tree_freep) yajl_val v =
                        r == 0 ? yajl_tree_parse(json, ebuf, sizeof(ebuf)) : NULL;
                if (r == 0 && (!v || !YAJL_IS_OBJECT(v)))
                        r = coi_error_set(&e, EINVAL, "seccomp profile %s: not a JSON object: %s", origin[i],
                                          ebuf);
                if (r < 0) {
                        health_check_set(c, "seccomp", "CRITICAL", HEALTH_FAILED, "%s", e.msg);
                        return;
                }
                health_detail_str(c, keys[i][0], "%s", spec[i]);
                health_detail_str(c, keys[i][1], "%s", origin[i]);
        }
        health_check_set(c, "seccomp", "CRITICAL", HEALTH_OK,
                         "seccomp filters available (%s)%s; profile %s (%s), coi run: %s (%s)", avail,
                         mode == 2 ? "; coi itself runs under a filter" : "", spec[0], origin[0], spec[1],
                         origin[1]);
}

#ifndef SYS_lsm_list_modules
#define SYS_lsm_list_modules 461 /* Linux 6.8, same number on every architecture */
#endif

/* Without securityfs mounted: lsm_list_modules(2) (Linux 6.8) gives the LSM ids; names by LSM_ID_*. */
static char *lsm_from_syscall(void)
{
        static const char *names[] = { "capability", "selinux", "smack",     "tomoyo",   "apparmor",
                                       "yama",       "loadpin", "safesetid", "lockdown", "bpf",
                                       "landlock",   "ima",     "evm",       "ipe" };
        uint64_t ids[32];
        uint32_t size = sizeof(ids);
        long n = syscall(SYS_lsm_list_modules, ids, &size, 0);
        if (n < 0)
                return NULL;
        char buf[512] = "";
        for (long i = 0; i < n && i < 32; i++) {
                size_t len = strlen(buf);
                uint64_t k = ids[i] - 100; /* LSM_ID_CAPABILITY is 100 */
                if (k < ELEMENTSOF(names))
                        snprintf(buf + len, sizeof(buf) - len, "%s%s", len ? "," : "", names[k]);
                else
                        snprintf(buf + len, sizeof(buf) - len, "%s%llu", len ? "," : "",
                                 (unsigned long long)ids[i]);
        }
        return strdup(buf);
}

static void check_lsm(struct health_check *c)
{
        _cleanup_free_ char *lsm = NULL;
        struct coi_error e = { 0 };
        if (read_file_at(AT_FDCWD, "/sys/kernel/security/lsm", 4096, &lsm, NULL, &e) < 0) {
                lsm = lsm_from_syscall();
                health_detail_str(c, "source", "lsm_list_modules");
        } else {
                health_detail_str(c, "source", "/sys/kernel/security/lsm");
        }
        if (!lsm) {
                health_check_set(c, "lsm", "SECURITY", HEALTH_WARNING, "Could not list LSMs: %s", e.msg);
                return;
        }
        lsm[strcspn(lsm, "\n")] = '\0';
        health_detail_str(c, "lsm", "%s", lsm);
        bool landlock = false;
        char copy[256];
        snprintf(copy, sizeof(copy), "%s", lsm);
        char *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
                landlock |= streq(t, "landlock");
        health_detail_bool(c, "landlock", landlock);
        health_check_set(c, "lsm", "SECURITY", HEALTH_OK, "Active LSMs: %s", lsm[0] ? lsm : "none");
}

/* ---- nftables ------------------------------------------------------------------------------------ */

/* Asks nf_tables for its generation (read only): proves nfnetlink and nf_tables are both there. */
static int nft_get_generation(uint32_t *ret_gen)
{
        _cleanup_close_ int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
        if (fd < 0)
                return -errno;
        struct timeval tv = { .tv_sec = 2 };
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        struct {
                struct nlmsghdr nh;
                struct nfgenmsg nf;
        } req = {
                .nh = { .nlmsg_len = sizeof(req),
                        .nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN,
                        .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK,
                        .nlmsg_seq = 1 },
                .nf = { .nfgen_family = AF_UNSPEC, .version = NFNETLINK_V0 },
        };
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
        if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return -errno;
        char buf[8192] __attribute__((aligned(4)));
        bool got = false;
        for (int rounds = 0; rounds < 4; rounds++) {
                ssize_t n = recv(fd, buf, sizeof(buf), 0);
                if (n < 0)
                        return -errno;
                for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
                     h = NLMSG_NEXT(h, n)) {
                        if (h->nlmsg_type == NLMSG_ERROR) {
                                const struct nlmsgerr *e = NLMSG_DATA(h);
                                if (e->error)
                                        return e->error;
                                return got ? 0 : -EPROTO; /* the ack */
                        }
                        if (h->nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN)) {
                                const struct nlattr *a = (const void *)((const char *)NLMSG_DATA(h) +
                                                                        NLMSG_ALIGN(sizeof(struct nfgenmsg)));
                                size_t left =
                                        h->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(struct nfgenmsg)));
                                while (left >= sizeof(*a) && a->nla_len >= sizeof(*a) && a->nla_len <= left) {
                                        if ((a->nla_type & NLA_TYPE_MASK) == NFTA_GEN_ID) {
                                                uint32_t be;
                                                memcpy(&be, (const char *)a + NLA_HDRLEN, sizeof(be));
                                                *ret_gen = __builtin_bswap32(be);
                                        }
                                        size_t step = NLA_ALIGN(a->nla_len);
                                        if (step >= left)
                                                break;
                                        left -= step;
                                        a = (const void *)((const char *)a + step);
                                }
                                got = true;
                        }
                }
        }
        return got ? 0 : -EPROTO;
}

static void check_nftables(struct health_check *c)
{
        uint32_t gen = 0;
        int r = nft_get_generation(&gen);
        if (r < 0) {
                health_check_set(c, "nftables", "NETWORKING", HEALTH_FAILED,
                                 "Cannot talk to nf_tables over netlink (%s): network isolation needs it",
                                 strerror(-r));
                return;
        }
        health_detail_int(c, "generation", gen);
        health_check_set(c, "nftables", "NETWORKING", HEALTH_OK, "nf_tables reachable over netlink");
}

/* ---- ids, image, disk ---------------------------------------------------------------------------- */

static void check_subids(struct health_check *c)
{
        static const char *files[] = { "/etc/subuid", "/etc/subgid" };
        static const char *keys[] = { "subuid", "subgid" };
        char msg[2][160];
        enum health_status st = HEALTH_OK;
        for (size_t i = 0; i < 2; i++) {
                struct idmap_range pool;
                bool from_file = false;
                struct coi_error e = { 0 };
                if (idmap_pool_read(files[i], &pool, &from_file, &e) < 0) {
                        health_check_set(c, "subordinate_ids", "CRITICAL", HEALTH_FAILED, "%s", e.msg);
                        return;
                }
                health_detail_str(c, keys[i], "%u:%u%s", pool.start, pool.count,
                                  from_file ? "" : " (default)");
                if (pool.count < IDMAP_RANGE_SIZE)
                        st = HEALTH_FAILED;
                snprintf(msg[i], sizeof(msg[i]), "%s %u+%u%s", keys[i], pool.start, pool.count,
                         from_file ? "" : " (no root entry: default pool)");
        }
        if (st == HEALTH_FAILED)
                health_check_set(c, "subordinate_ids", "CRITICAL", st,
                                 "root's subordinate id range is smaller than one container (%u): %s; %s",
                                 IDMAP_RANGE_SIZE, msg[0], msg[1]);
        else
                health_check_set(c, "subordinate_ids", "CRITICAL", st, "%s; %s", msg[0], msg[1]);
}

static void check_image(struct health_check *c)
{
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        _cleanup_(image_info_freep) struct image_info *info = NULL;
        struct coi_error e = { 0 };
        int r = image_store_open(NULL, false, &s, &e);
        if (r == 0)
                health_detail_str(c, "store", "%s", image_store_path(s));
        r = r ?: image_lookup(s, BUILD_DEFAULT_IMAGE, &info, &e);
        health_detail_str(c, "image", "%s", BUILD_DEFAULT_IMAGE);
        if (r == -ENOENT) {
                health_check_set(c, "image", "CRITICAL", HEALTH_WARNING, "%s not found - run 'coi build'",
                                 BUILD_DEFAULT_IMAGE);
                health_detail_bool(c, "exists", false);
                return;
        }
        if (r < 0) {
                health_check_set(c, "image", "CRITICAL", HEALTH_FAILED, "Image store unreadable: %s", e.msg);
                return;
        }
        health_detail_bool(c, "exists", true);
        health_detail_int(c, "size", (long long)info->size);
        health_detail_str(c, "created", "%s", info->created ? info->created : "");
        health_check_set(c, "image", "CRITICAL", HEALTH_OK, "%s (%.1f MB, %s)", BUILD_DEFAULT_IMAGE,
                         (double)info->size / 1e6, info->created ? info->created : "created ?");
}

static const char *data_dir(void)
{
        const char *env = getenv("COI_DATA_DIR");
        return env && *env ? env : CONTAINER_DATA_DEFAULT;
}

static void check_disk(struct health_check *c)
{
        /* Where /var/lib/coi lives; before it exists, the nearest existing parent. */
        char path[4096];
        snprintf(path, sizeof(path), "%s", data_dir());
        struct statfs sf;
        while (statfs(path, &sf) < 0) {
                char *slash = strrchr(path, '/');
                if (errno != ENOENT || !slash || slash == path) {
                        if (slash == path && errno == ENOENT) {
                                snprintf(path, sizeof(path), "/");
                                continue;
                        }
                        health_check_set(c, "disk_space", "STORAGE", HEALTH_WARNING,
                                         "Could not check disk space: %s: %s", path, strerror(errno));
                        return;
                }
                *slash = '\0';
        }
        uint64_t avail = (uint64_t)sf.f_bavail * (uint64_t)sf.f_bsize;
        double gb = (double)avail / (1024.0 * 1024 * 1024);
        enum health_status st = health_disk_status(avail);
        health_detail_num(c, "available_gb", gb);
        health_detail_str(c, "path", "%s", path);
        if (st == HEALTH_OK)
                health_check_set(c, "disk_space", "STORAGE", st, "%.1f GB available", gb);
        else
                health_check_set(c, "disk_space", "STORAGE", st, "%s disk space: %.1f GB available in %s",
                                 st == HEALTH_FAILED ? "Very low" : "Low", gb, path);
}

/* ---- orphans ------------------------------------------------------------------------------------- */

/* Runtime containers with a live process; every other directory of the state root (stopped, or with
 * no readable state at all) is a leftover. Read directly: coi_container_list skips unreadable ones. */
static int live_containers(char ***ret_live, int *ret_dead)
{
        const char *rt = getenv("COI_RUNTIME_DIR");
        struct coi_context ctx = { .state_root = rt && *rt ? rt : CONTAINER_RUNTIME_ROOT };
        _cleanup_strv_ char **live = NULL;
        int dead = 0;
        _cleanup_closedir_ DIR *d = opendir(ctx.state_root);
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (de->d_name[0] == '.' || de->d_type != DT_DIR)
                        continue;
                struct coi_state st = { 0 };
                struct coi_error e = { 0 };
                if (coi_container_state(&ctx, de->d_name, &st, &e) < 0 || st.status == COI_STATUS_STOPPED)
                        dead++;
                else if (strv_push(&live, de->d_name) < 0)
                        dead = -1;
                coi_state_free(&st);
                if (dead < 0)
                        break;
        }
        if (dead < 0)
                return -ENOMEM;
        *ret_live = TAKE_PTR(live);
        *ret_dead = dead;
        return 0;
}

/* Mounts under the data directory whose container has no live runtime container. */
static int count_orphan_mounts(char **live)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                return 0;
        const char *dir = data_dir();
        size_t dlen = strlen(dir);
        int n = 0;
        char line[8192];
        while (fgets(line, sizeof(line), f)) {
                char mp[4096];
                if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
                        continue;
                if (strncmp(mp, dir, dlen) != 0 || mp[dlen] != '/')
                        continue;
                const char *rest = mp + dlen + 1;
                char name[CONTAINER_NAME_MAX + 1] = "";
                if (startswith(rest, "containers/"))
                        snprintf(name, sizeof(name), "%.*s", (int)strcspn(rest + 11, "/"), rest + 11);
                if (!name[0] || !strv_contains(live, name))
                        n++;
        }
        return n;
}

/* Directories under coi's cgroup parent whose container has no live runtime container. */
static int count_orphan_cgroups(char **live)
{
        struct coi_cgroup_hierarchy h;
        struct coi_error e = { 0 };
        if (coi_cgroup_detect(&h, &e) < 0 || h.layout == COI_CGROUP_NONE)
                return 0;
        _cleanup_free_ char *parent = xasprintf("%s%s", h.mount_point, SYSTEM_CGROUP_PARENT);
        _cleanup_closedir_ DIR *d = parent ? opendir(parent) : NULL;
        if (!d)
                return 0;
        int n = 0;
        struct dirent *de;
        while ((de = readdir(d)))
                if (de->d_type == DT_DIR && !streq(de->d_name, ".") && !streq(de->d_name, "..") &&
                    !strv_contains(live, de->d_name))
                        n++;
        return n;
}

/* Container networks whose veth is gone (the container died without its teardown): what
 * net_orphans_remove(), run by `coi clean --orphans`, removes. */
static int count_orphan_networks(void)
{
        struct net_options o;
        net_options_init(&o, true);
        _cleanup_strv_ char **names = NULL;
        struct coi_error e = { 0 };
        if (access(o.state_dir, F_OK) < 0 || net_record_list(o.state_dir, &names, &e) < 0)
                return 0;
        int n = 0;
        for (char **name = names; *name; name++) {
                struct net_record rec = { 0 };
                if (net_record_load(o.state_dir, *name, &rec, &e) < 0)
                        continue;
                if (!rec.host_ifname[0] || !net_link_exists(rec.host_ifname))
                        n++;
                net_record_done(&rec);
        }
        return n;
}

static void check_orphans(struct health_check *c)
{
        _cleanup_strv_ char **live = NULL;
        int states = 0;
        if (live_containers(&live, &states) < 0) {
                health_check_set(c, "orphaned_resources", "STATUS", HEALTH_WARNING,
                                 "Could not list containers: out of memory");
                return;
        }
        int mounts = count_orphan_mounts(live), cgroups = count_orphan_cgroups(live);
        int networks = count_orphan_networks();
        int total = mounts + cgroups + states + networks;
        health_detail_int(c, "orphaned_mounts", mounts);
        health_detail_int(c, "orphaned_cgroups", cgroups);
        health_detail_int(c, "orphaned_runtime_states", states);
        health_detail_int(c, "orphaned_networks", networks);
        if (total == 0) {
                health_check_set(c, "orphaned_resources", "STATUS", HEALTH_OK, "No orphaned resources");
                return;
        }
        health_check_set(c, "orphaned_resources", "STATUS", HEALTH_WARNING,
                         "%d orphaned resource(s) found (%d mounts, %d cgroups, %d runtime states, %d "
                         "networks) - run 'coi clean --orphans' to remove",
                         total, mounts, cgroups, states, networks);
}

/* ---- the list, run in report order --------------------------------------------------------------- */

/* A check fills c: health_check_set() once, details as it likes; it never fails as a whole. */
typedef void (*health_check_fn)(struct health_check *c);

static const health_check_fn health_checks[] = {
        check_os,     check_kernel, check_namespaces, check_idmapped_mounts, check_cgroup, check_seccomp,
        check_subids, check_image,  check_lsm,        check_nftables,        check_disk,   check_orphans,
};

void health_run(struct health_report *ret)
{
        *ret = (struct health_report){ 0 };
        for (size_t i = 0; i < ELEMENTSOF(health_checks) && i < HEALTH_MAX_CHECKS; i++)
                health_checks[i](&ret->checks[ret->n_checks++]);
        ret->overall = health_aggregate(ret->checks, ret->n_checks, &ret->summary);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        strftime(ret->timestamp, sizeof(ret->timestamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
}
