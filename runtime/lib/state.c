/* state.c — the per-container state directory under the state root: state.json (atomic), the lock,
 * exec.fifo, and the live status. Owns nothing outside <root>/<id>/. */
#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "json-util.h"
#include "cgroup.h"
#include "state.h"
#include "util.h"

#define STATE_MAX_BYTES (1u << 20)

int state_validate_id(const char *id, struct coi_error *err)
{
        if (!id || !*id)
                return coi_error_set(err, EINVAL, "container id is empty");
        size_t n = strlen(id);
        if (n > 1024)
                return coi_error_set(err, EINVAL, "container id \"%.32s…\" is longer than 1024 bytes", id);
        for (size_t i = 0; i < n; i++) {
                char c = id[i];
                bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
                if (alnum || (i > 0 && strchr("_.+-", c)))
                        continue;
                return coi_error_set(err, EINVAL,
                                     "invalid container id \"%s\": use letters, digits and _.+- "
                                     "(not first)",
                                     id);
        }
        return 0;
}

int state_root_open(const struct coi_context *ctx, bool create, int *ret_rootfd, struct coi_error *err)
{
        const char *root = ctx && ctx->state_root ? ctx->state_root : COI_RUNTIME_STATE_ROOT;
        int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && create) {
                int r = mkdir_p_at(AT_FDCWD, root, 0700, err);
                if (r < 0)
                        return coi_error_prefix(err, "state root: ");
                fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
        if (fd < 0)
                return coi_error_set(err, errno, "open state root %s: %m", root);
        *ret_rootfd = fd;
        return 0;
}

/* Deleted containers leave their emptied directory behind under one of a few spare names, and the next
 * create takes it by rename instead of mkdir. On ext4 (a /run on disk) mkdir allocates the directory's
 * block and the final close after rmdir frees it again, with a synchronous discard when mounted with
 * `discard`: ≈0.2 ms per container; a rename costs ≈0.01 ms. Names start with '.', which no id does
 * (state_validate_id) and which list skips. At most STATE_SPARE_DIRS stay behind. */
#define STATE_SPARE_DIRS 4

static void spare_name(char buf[static 16], int i)
{
        snprintf(buf, 16, ".spare-%d", i);
}

/* Unlinks everything in dfd (only flat files live in a state directory). 0 if it is empty now. */
static int empty_dir(int dfd)
{
        int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        _cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                closep(&fd); /* keeps errno */
                return -errno;
        }
        int r = 0;
        struct dirent *de;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..") &&
                    unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
                        r = -errno;
        return r;
}

int state_dir_create(int rootfd, const char *id, int *ret_dirfd, struct coi_error *err)
{
        /* RENAME_NOREPLACE keeps the claim on the id exactly as mkdir's EEXIST does. */
        bool reused = false;
        for (int i = 0; i < STATE_SPARE_DIRS && !reused; i++) {
                char spare[16];
                spare_name(spare, i);
                if (renameat2(rootfd, spare, rootfd, id, RENAME_NOREPLACE) == 0)
                        reused = true;
                else if (errno == EEXIST)
                        return coi_error_set(err, EEXIST, "container %s already exists", id);
                else if (errno != ENOENT)
                        break; /* no renameat2 here, say: mkdir */
        }
        if (!reused && mkdirat(rootfd, id, 0700) < 0) {
                if (errno == EEXIST)
                        return coi_error_set(err, EEXIST, "container %s already exists", id);
                return coi_error_set(err, errno, "create state directory of %s: %m", id);
        }
        int fd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return coi_error_set(err, errno, "open state directory of %s: %m", id);
        /* A spare is emptied before it is put aside; a runtime that wrote into it meanwhile (a `start`
         * racing the delete) must not leave a stale state.json to a new container. */
        if (reused && empty_dir(fd) < 0) {
                closep(&fd);
                return coi_error_set(err, EIO, "clear the reused state directory of %s", id);
        }
        *ret_dirfd = fd;
        return 0;
}

int state_dir_open(int rootfd, const char *id, int *ret_dirfd, struct coi_error *err)
{
        int fd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                if (errno == ENOENT)
                        return coi_error_set(err, ENOENT, "container %s does not exist", id);
                return coi_error_set(err, errno, "open state directory of %s: %m", id);
        }
        *ret_dirfd = fd;
        return 0;
}

int state_dir_remove(int rootfd, const char *id, int lockfd, struct coi_error *err)
{
        _cleanup_close_ int dfd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0) {
                if (errno == ENOENT)
                        return 0;
                return coi_error_set(err, errno, "open state directory of %s: %m", id);
        }
        /* Only flat files live here (state.json, config.json, exec.fifo, temporaries). */
        bool empty = empty_dir(dfd) == 0;
        /* Unlocked before it goes: a create that takes the spare next must not find it locked. */
        if (lockfd >= 0)
                (void)flock(lockfd, LOCK_UN); /* the caller's own lock: fails only for a bad fd */
        for (int i = 0; empty && i < STATE_SPARE_DIRS; i++) {
                char spare[16];
                spare_name(spare, i);
                if (renameat2(rootfd, id, rootfd, spare, RENAME_NOREPLACE) == 0 || errno == ENOENT)
                        return 0;
                if (errno != EEXIST)
                        break;
        }
        if (unlinkat(rootfd, id, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return coi_error_set(err, errno, "remove state directory of %s: %m", id);
        return 0;
}

int state_lock(int dirfd, const char *id, bool exclusive, int timeout_ms, int *ret_lockfd,
               struct coi_error *err)
{
        /* The lock is a flock on the directory itself, through an open of its own (flock belongs to the
         * open file description): no lock file to create, which costs as much as a state write. */
        _cleanup_close_ int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return coi_error_set(err, errno, "open lock of container %s: %m", id);
        int op = exclusive ? LOCK_EX : LOCK_SH;
        /* Bounded: a lock held forever (say, by a wedged create) is reported instead of hanging. */
        uint64_t deadline = now_ns() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000000u;
        for (;;) {
                if (flock(fd, op | (timeout_ms < 0 ? 0 : LOCK_NB)) == 0)
                        break;
                if (errno == EINTR)
                        continue;
                if (errno != EWOULDBLOCK)
                        return coi_error_set(err, errno, "lock container %s: %m", id);
                if (now_ns() >= deadline)
                        return coi_error_set(err, EBUSY, "container %s is locked by another operation", id);
                struct timespec ts = { 0, 5 * 1000 * 1000 };
                nanosleep(&ts, NULL);
        }
        *ret_lockfd = TAKE_FD(fd);
        return 0;
}

/* ---- state.json ---------------------------------------------------------------------------------- */

struct gen {
        yajl_gen g;
        bool failed;
};

static void put_str(struct gen *g, const char *s)
{
        if (yajl_gen_string(g->g, (const unsigned char *)s, strlen(s)) != yajl_gen_status_ok)
                g->failed = true;
}

static void put_kv(struct gen *g, const char *key, const char *value)
{
        put_str(g, key);
        put_str(g, value);
}

static void put_int(struct gen *g, const char *key, long long value)
{
        put_str(g, key);
        if (yajl_gen_integer(g->g, value) != yajl_gen_status_ok)
                g->failed = true;
}

static void put_annotations(struct gen *g, char **annotations)
{
        put_str(g, "annotations");
        if (yajl_gen_map_open(g->g) != yajl_gen_status_ok)
                g->failed = true;
        for (char **a = annotations; a && a[0] && a[1]; a += 2)
                put_kv(g, a[0], a[1]);
        if (yajl_gen_map_close(g->g) != yajl_gen_status_ok)
                g->failed = true;
}

static int gen_take(struct gen *g, const char *what, char **ret_json, size_t *ret_len, struct coi_error *err)
{
        const unsigned char *buf;
        size_t len;
        if (g->failed || yajl_gen_map_close(g->g) != yajl_gen_status_ok ||
            yajl_gen_get_buf(g->g, &buf, &len) != yajl_gen_status_ok)
                return coi_error_set(err, EIO, "generate %s: JSON generator failed", what);
        char *s = strndup((const char *)buf, len);
        if (!s)
                return coi_error_set(err, ENOMEM, "generate %s: %m", what);
        *ret_json = s;
        if (ret_len)
                *ret_len = len;
        return 0;
}

int state_write(int dirfd, const struct state_record *rec, struct coi_error *err)
{
        _cleanup_(yajl_gen_freep) yajl_gen y = yajl_gen_alloc(NULL);
        if (!y)
                return coi_error_set(err, ENOMEM, "state of %s: %m", rec->pub.id);
        struct gen g = { y, yajl_gen_map_open(y) != yajl_gen_status_ok };
        put_kv(&g, "ociVersion", rec->oci_version);
        put_kv(&g, "id", rec->pub.id);
        put_kv(&g, "status", coi_status_to_string(rec->pub.status));
        put_int(&g, "pid", rec->pub.pid);
        put_kv(&g, "bundle", rec->pub.bundle);
        put_kv(&g, "rootfs", rec->pub.rootfs);
        put_kv(&g, "cgroupPath", rec->pub.cgroup_path);
        put_int(&g, "cgroupCreated", rec->cgroup_created);
        put_int(&g, "created", (long long)rec->pub.created_ns);
        put_int(&g, "startTime", (long long)rec->start_time);
        put_int(&g, "poststopHooks", rec->poststop_hooks);
        if (rec->no_new_keyring)
                put_int(&g, "noNewKeyring", 1);
        if (rec->pub.owner[0])
                put_kv(&g, "owner", rec->pub.owner);
        put_int(&g, "ownerUid", rec->owner_uid);
        put_annotations(&g, rec->pub.annotations);
        _cleanup_free_ char *json = NULL;
        size_t len = 0;
        int r = gen_take(&g, STATE_FILE, &json, &len, err);
        if (r < 0)
                return r;
        return state_write_file(dirfd, STATE_FILE, json, len, 0600, err);
}

int state_write_file(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                     struct coi_error *err)
{
        char tmp[PATH_MAX];
        if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%d", name, (int)getpid()) >= sizeof(tmp))
                return coi_error_set(err, ENAMETOOLONG, "write %s: name too long", name);
        _cleanup_close_ int fd =
                openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return coi_error_set(err, errno, "create %s: %m", tmp);
        int r = write_all(fd, data, len);
        if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
                r = -errno;
        if (r < 0) {
                (void)unlinkat(dirfd, tmp, 0); /* best effort: the write's error is the one to report */
                return coi_error_set(err, -r, "write %s: %m", name);
        }
        return 0;
}

int state_write_new_file(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                         struct coi_error *err)
{
        _cleanup_close_ int fd =
                openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return coi_error_set(err, errno, "create %s: %m", name);
        int r = write_all(fd, data, len);
        if (r < 0) {
                (void)unlinkat(dirfd, name, 0); /* best effort: the write's error is the one to report */
                return coi_error_set(err, -r, "write %s: %m", name);
        }
        return 0;
}

/* root[key], "" when absent. */
static const char *str_member(yajl_val root, const char *key)
{
        const char *s = json_str(root, key);
        return s ? s : "";
}

static void copy_str(char *dst, size_t size, const char *src)
{
        snprintf(dst, size, "%s", src);
}

int state_read(int dirfd, const char *id, struct state_record *ret_rec, struct coi_error *err)
{
        _cleanup_free_ char *data = NULL;
        int r = read_file_at(dirfd, STATE_FILE, STATE_MAX_BYTES, &data, NULL, err);
        if (r == -ENOENT)
                return coi_error_set(err, ENOENT, "container %s has no state yet (being created?)", id);
        if (r < 0)
                return coi_error_prefix(err, "state of container %s: ", id);
        char errbuf[256] = "";
        _cleanup_(yajl_tree_freep) yajl_val root = yajl_tree_parse(data, errbuf, sizeof(errbuf));
        if (!root || !YAJL_IS_OBJECT(root))
                return coi_error_set(err, EBADMSG, "state of container %s is corrupt: %s", id,
                                     *errbuf ? errbuf : "not a JSON object");

        struct state_record rec = { 0 };
        copy_str(rec.pub.id, sizeof(rec.pub.id), str_member(root, "id"));
        if (!streq(rec.pub.id, id))
                return coi_error_set(err, EBADMSG, "state of container %s names another id \"%s\"", id,
                                     rec.pub.id);
        const char *status = str_member(root, "status");
        rec.pub.status = streq(status, "creating")  ? COI_STATUS_CREATING
                         : streq(status, "created") ? COI_STATUS_CREATED
                         : streq(status, "paused")  ? COI_STATUS_PAUSED
                         : streq(status, "stopped") ? COI_STATUS_STOPPED
                                                    : COI_STATUS_RUNNING;
        rec.pub.pid = (pid_t)json_int(root, "pid", 0);
        copy_str(rec.pub.bundle, sizeof(rec.pub.bundle), str_member(root, "bundle"));
        copy_str(rec.pub.rootfs, sizeof(rec.pub.rootfs), str_member(root, "rootfs"));
        copy_str(rec.pub.cgroup_path, sizeof(rec.pub.cgroup_path), str_member(root, "cgroupPath"));
        copy_str(rec.pub.owner, sizeof(rec.pub.owner), str_member(root, "owner"));
        rec.owner_uid = json_int(root, "ownerUid", -1);
        copy_str(rec.oci_version, sizeof(rec.oci_version), str_member(root, "ociVersion"));
        rec.cgroup_created = json_int(root, "cgroupCreated", 0) != 0;
        rec.pub.created_ns = (uint64_t)json_int(root, "created", 0);
        rec.start_time = (uint64_t)json_int(root, "startTime", 0);
        rec.poststop_hooks = (int)json_int(root, "poststopHooks", -1);
        rec.no_new_keyring = json_int(root, "noNewKeyring", 0) != 0;

        const char *apath[] = { "annotations", NULL };
        yajl_val ann = yajl_tree_get(root, apath, yajl_t_object);
        if (ann) {
                for (size_t i = 0; i < YAJL_GET_OBJECT(ann)->len; i++) {
                        yajl_val v = YAJL_GET_OBJECT(ann)->values[i];
                        if (strv_push(&rec.pub.annotations, YAJL_GET_OBJECT(ann)->keys[i]) < 0 ||
                            strv_push(&rec.pub.annotations, YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : "") <
                                    0) {
                                strv_free(rec.pub.annotations);
                                return coi_error_set(err, ENOMEM, "state of container %s: %m", id);
                        }
                }
        }
        *ret_rec = rec;
        return 0;
}

void state_resolve_owner(struct state_record *rec)
{
        if (rec->pub.owner[0] || rec->owner_uid < 0)
                return;
        /* /etc/passwd itself, not NSS: the CLI is linked statically, where NSS would need this glibc's
         * shared modules at run time. Owners from a directory service show as their number. */
        _cleanup_fclose_ FILE *f = fopen("/etc/passwd", "re");
        struct passwd pw, *res = NULL;
        char tmp[1024];
        while (f && fgetpwent_r(f, &pw, tmp, sizeof(tmp), &res) == 0 && res)
                if (pw.pw_uid == (uid_t)rec->owner_uid) {
                        snprintf(rec->pub.owner, sizeof(rec->pub.owner), "%s", pw.pw_name);
                        return;
                }
        snprintf(rec->pub.owner, sizeof(rec->pub.owner), "%lld", (long long)rec->owner_uid);
}

void state_record_done(struct state_record *rec)
{
        if (!rec)
                return;
        strv_free(rec->pub.annotations);
        rec->pub.annotations = NULL;
}

const char *coi_status_to_string(enum coi_status status)
{
        switch (status) {
        case COI_STATUS_CREATING:
                return "creating";
        case COI_STATUS_CREATED:
                return "created";
        case COI_STATUS_RUNNING:
                return "running";
        case COI_STATUS_PAUSED:
                return "paused";
        case COI_STATUS_STOPPED:
                return "stopped";
        }
        return "unknown";
}

void coi_state_free(struct coi_state *state)
{
        if (!state)
                return;
        strv_free(state->annotations);
        state->annotations = NULL;
}

/* ---- live status --------------------------------------------------------------------------------- */

int process_start_time(pid_t pid, uint64_t *ret_start_time)
{
        char path[64], buf[1024];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return n < 0 ? -errno : -ESRCH;
        buf[n] = '\0';
        /* comm (field 2) may hold spaces and parentheses: fields are counted after the last ')'. */
        char *p = strrchr(buf, ')');
        if (!p)
                return -EBADMSG;
        p++;
        for (int field = 3; field < 22; field++) { /* p: the space before field "field" */
                p = strchr(p + 1, ' ');
                if (!p)
                        return -EBADMSG;
        }
        *ret_start_time = strtoull(p + 1, NULL, 10);
        return 0;
}

bool state_process_alive(pid_t pid, uint64_t start_time)
{
        uint64_t t;
        if (pid <= 0 || process_start_time(pid, &t) < 0)
                return false;
        if (start_time && t != start_time)
                return false; /* the pid was recycled */
        /* A zombie init has exited: for the OCI lifecycle it is stopped. */
        char path[64], buf[512];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return false;
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        return !(p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}

enum coi_status state_status(int dirfd, const struct state_record *rec)
{
        if (rec->pub.status == COI_STATUS_CREATING && rec->pub.pid <= 0) {
                /* Still being created only while its creator holds the lock. */
                _cleanup_close_ int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK)
                        return COI_STATUS_CREATING;
                return COI_STATUS_STOPPED;
        }
        if (!state_process_alive(rec->pub.pid, rec->start_time))
                return COI_STATUS_STOPPED;
        if (rec->pub.cgroup_path[0] && cgroup_is_frozen(rec->pub.cgroup_path))
                return COI_STATUS_PAUSED;
        if (faccessat(dirfd, FIFO_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                return COI_STATUS_CREATED;
        return COI_STATUS_RUNNING;
}

/* RFC 3339 with nanoseconds in UTC, as runc prints "created". */
static void format_rfc3339(uint64_t ns, char *buf, size_t size)
{
        time_t secs = (time_t)(ns / 1000000000u);
        struct tm tm;
        gmtime_r(&secs, &tm);
        char date[64];
        strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf, size, "%s.%09" PRIu64 "Z", date, ns % 1000000000u);
}

int state_oci_json(const struct coi_state *state, const char *oci_version, char **ret_json,
                   struct coi_error *err)
{
        _cleanup_(yajl_gen_freep) yajl_gen y = yajl_gen_alloc(NULL);
        if (!y)
                return coi_error_set(err, ENOMEM, "state of %s: %m", state->id);
        struct gen g = { y, yajl_gen_map_open(y) != yajl_gen_status_ok };
        char created[80];
        format_rfc3339(state->created_ns, created, sizeof(created));
        put_kv(&g, "ociVersion", oci_version && *oci_version ? oci_version : "1.1.0");
        put_kv(&g, "id", state->id);
        put_kv(&g, "status", coi_status_to_string(state->status));
        put_int(&g, "pid", state->status == COI_STATUS_STOPPED ? 0 : state->pid);
        put_kv(&g, "bundle", state->bundle);
        put_kv(&g, "rootfs", state->rootfs);
        put_kv(&g, "created", created);
        put_kv(&g, "owner", state->owner);
        put_annotations(&g, state->annotations);
        return gen_take(&g, "the state document", ret_json, NULL, err);
}

/* ---- exec.fifo ----------------------------------------------------------------------------------- */

int state_fifo_create(int dirfd, const char *id, struct coi_error *err)
{
        if (mkfifoat(dirfd, FIFO_FILE, 0600) < 0)
                return coi_error_set(err, errno, "create exec.fifo of container %s: %m", id);
        return 0;
}

int state_fifo_release(int dirfd, const char *id, pid_t pid, struct coi_error *err)
{
        /* Non-blocking open: a plain O_RDONLY open would hang forever if the init died before it
         * opened its end. The init blocked in open(O_WRONLY) already counts as a writer, so a read
         * here says EAGAIN (init waiting: released now), data (init wrote its byte) or EOF (no writer:
         * the init is gone, or has not reached its open yet). */
        _cleanup_close_ int fd = openat(dirfd, FIFO_FILE, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                if (errno == ENOENT)
                        return coi_error_set(err, EINVAL, "container %s was already started", id);
                return coi_error_set(err, errno, "open exec.fifo of container %s: %m", id);
        }
        _cleanup_close_ int pidfd = pidfd_open_(pid);
        uint64_t deadline = now_ns() + 30ull * 1000000000u;
        for (;;) {
                char c;
                ssize_t n = read(fd, &c, 1);
                if (n == 1)
                        break;
                if (n == 0) {
                        /* No writer (yet): the init reports ready just before it opens its end. */
                        if (!state_process_alive(pid, 0))
                                return coi_error_set(
                                        err, ESRCH,
                                        "start container %s: its init exited before it was started", id);
                        if (now_ns() >= deadline)
                                return coi_error_set(err, ETIMEDOUT,
                                                     "start container %s: its init never opened exec.fifo",
                                                     id);
                        struct timespec ts = { 0, 500 * 1000 };
                        nanosleep(&ts, NULL);
                        continue;
                }
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN)
                        return coi_error_set(err, errno, "read exec.fifo of container %s: %m", id);
                uint64_t now = now_ns();
                if (now >= deadline)
                        return coi_error_set(err, ETIMEDOUT,
                                             "start container %s: its init did not answer in 30 s", id);
                struct pollfd pfd[2] = { { fd, POLLIN, 0 }, { pidfd, POLLIN, 0 } };
                int r = poll(pfd, pidfd >= 0 ? 2 : 1, (int)((deadline - now) / 1000000u) + 1);
                if (r < 0 && errno != EINTR)
                        return coi_error_set(err, errno, "wait for the init of container %s: %m", id);
                if (r > 0 && pidfd >= 0 && (pfd[1].revents & POLLIN) &&
                    !(pfd[0].revents & (POLLIN | POLLHUP)))
                        return coi_error_set(err, ESRCH,
                                             "start container %s: its init exited before it was started", id);
        }
        if (unlinkat(dirfd, FIFO_FILE, 0) < 0 && errno != ENOENT)
                return coi_error_set(err, errno, "remove exec.fifo of container %s: %m", id);
        return 0;
}
