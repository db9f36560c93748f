/* container.c — the lifecycle API (create, run, start, state, kill, delete, pause, resume, wait, update,
 * list, pids; exec is container-exec.c): ties config, cgroup, spawn, hooks and state together; undoes
 * failed creates. */
#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include "cgroup.h"
#include "container.h"
#include "create-config.h"
#include "linux.h"
#include "oci-config.h"
#include "state.h"
#include "util.h"

/* ---- create -------------------------------------------------------------------------------------- */

/* Everything a create has set up so far; torn down unless the create completes. */
struct create_job {
        struct coi_context *ctx;
        const char *id;
        const struct coi_create_options *opts;
        int rootfd, dirfd, lockfd, cgroup_fd, console_fd;
        bool dir_created, pid_file_written, done;
        bool run;    /* coi_container_run: start right away */
        bool direct; /* run without the staged start: the init execs at once, no exec.fifo */
        struct oci_config *config;
        char *config_json; /* the document as read, for the snapshot */
        size_t config_len;
        struct state_record rec;
        struct timer timer;
};

static void create_job_cleanup(struct create_job *j)
{
        if (!j->done) {
                /* A failed create leaves nothing behind: no process, no cgroup, no state, no pid file. */
                if (j->rec.pub.pid > 0) {
                        (void)kill(j->rec.pub.pid, SIGKILL);
                        if (wait_exit(j->rec.pub.pid, 5000, NULL) < 0)
                                log_warning(j->ctx,
                                            "cleanup of failed create of %s: the init (pid %d) "
                                            "does not die",
                                            j->id, (int)j->rec.pub.pid);
                }
                struct coi_error e = { 0 };
                if (j->rec.cgroup_created && j->rec.pub.cgroup_path[0] &&
                    cgroup_destroy(j->rec.pub.cgroup_path, &e) < 0)
                        log_warning(j->ctx, "cleanup of failed create of %s: %s", j->id, e.msg);
                if (j->pid_file_written && unlink(j->opts->pid_file) < 0 && errno != ENOENT)
                        log_warning(j->ctx, "cleanup of failed create of %s: remove %s: %m", j->id,
                                    j->opts->pid_file);
                if (j->dir_created && state_dir_remove(j->rootfd, j->id, j->lockfd, &e) < 0)
                        log_warning(j->ctx, "cleanup of failed create of %s: %s", j->id, e.msg);
        }
        closep(&j->console_fd);
        closep(&j->cgroup_fd);
        unlock_and_close(&j->lockfd);
        closep(&j->dirfd);
        closep(&j->rootfd);
        oci_config_free(j->config);
        free(j->config_json);
        state_record_done(&j->rec);
}

/* The config the caller loaded already (taken over), or read now from the resolved bundle. */
static int load_config(struct create_job *j, struct create_config *given, struct coi_error *err)
{
        struct create_config c = { 0 };
        if (given) {
                c = *given;
                *given = (struct create_config){ 0 };
        } else {
                int r = create_config_load(j->opts, j->rec.pub.bundle, &c, err);
                if (r < 0)
                        return r;
        }
        j->config = c.config;
        j->config_json = c.json;
        j->config_len = c.len;
        return 0;
}

static int resolve_paths(struct create_job *j, struct coi_error *err)
{
        const char *bundle = j->opts->bundle ? j->opts->bundle : ".";
        char buf[PATH_MAX];
        if (!realpath(bundle, buf))
                return coi_error_set(err, errno, "bundle %s: %m", bundle);
        snprintf(j->rec.pub.bundle, sizeof(j->rec.pub.bundle), "%s", buf);
        return 0;
}

static int resolve_rootfs(struct create_job *j, struct coi_error *err)
{
        const char *root = j->config->root_path;
        if (!root || !*root)
                return coi_error_set(err, EINVAL, "%s/config.json: root.path is not set", j->rec.pub.bundle);
        _cleanup_free_ char *joined =
                root[0] == '/' ? strdup(root) : xasprintf("%s/%s", j->rec.pub.bundle, root);
        if (!joined)
                return coi_error_set(err, ENOMEM, "rootfs: %m");
        char buf[PATH_MAX];
        if (!realpath(joined, buf))
                return coi_error_set(err, errno, "rootfs %s: %m", joined);
        struct stat st;
        if (stat(buf, &st) < 0 || !S_ISDIR(st.st_mode))
                return coi_error_set(err, ENOTDIR, "rootfs %s is not a directory", buf);
        snprintf(j->rec.pub.rootfs, sizeof(j->rec.pub.rootfs), "%s", buf);
        return 0;
}

static int setup_cgroup(struct create_job *j, struct coi_error *err)
{
        struct cgroup_hierarchy h;
        int r = cgroup_hierarchy_detect(&h, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *path = NULL;
        r = cgroup_resolve_path(&h, j->config->linux_.cgroups_path, j->id, &path, err);
        if (r < 0)
                return r;
        /* A pre-existing group (a pod's, say) is used but never removed by us. */
        struct stat st;
        bool existed = stat(path, &st) == 0;
        const struct oci_resources *res = &j->config->linux_.resources;
        r = cgroup_create(&h, path, res, &j->cgroup_fd, err);
        if (r < 0)
                return r;
        snprintf(j->rec.pub.cgroup_path, sizeof(j->rec.pub.cgroup_path), "%s", path);
        j->rec.cgroup_created = !existed;
        if (j->config->linux_.has_resources) {
                r = cgroup_apply_resources(j->ctx, j->cgroup_fd, path, res, best_effort(j->ctx, j->config),
                                           err);
                if (r < 0)
                        return r;
        }
        /* With a user namespace, the container's root owns its group so an init like systemd can
         * build its own subtree. */
        const struct oci_linux *l = &j->config->linux_;
        if (l->namespaces[OCI_NS_USER].present && !l->namespaces[OCI_NS_USER].path) {
                uid_t uid = 0;
                gid_t gid = 0;
                for (size_t i = 0; i < l->n_uid_mappings; i++)
                        if (l->uid_mappings[i].container_id == 0)
                                uid = l->uid_mappings[i].host_id;
                for (size_t i = 0; i < l->n_gid_mappings; i++)
                        if (l->gid_mappings[i].container_id == 0)
                                gid = l->gid_mappings[i].host_id;
                if (uid || gid) {
                        r = cgroup_delegate(j->cgroup_fd, path, uid, gid, err);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* The createRuntime point: the init exists (in its namespaces) but has not pivoted or exec'd yet. */
static int on_create_runtime(void *userdata, pid_t pid, struct coi_error *err)
{
        struct create_job *j = userdata;
        if (j->rec.pub.pid == pid)
                return 0;
        j->rec.pub.pid = pid;
        int r = process_start_time(pid, &j->rec.start_time);
        if (r < 0)
                return coi_error_set(err, -r, "read start time of the init (pid %d) of %s: %m", (int)pid,
                                     j->id);
        j->rec.pub.status = j->direct ? COI_STATUS_RUNNING : COI_STATUS_CREATED;
        r = state_write(j->dirfd, &j->rec, err);
        if (r < 0)
                return r;
        timer_phase(&j->timer, "spawn");
        r = run_hooks(j->ctx, j->config, OCI_HOOK_PRESTART, &j->rec, COI_STATUS_CREATING, err);
        if (r == 0)
                r = run_hooks(j->ctx, j->config, OCI_HOOK_CREATE_RUNTIME, &j->rec, COI_STATUS_CREATING, err);
        if (j->config->n_hooks[OCI_HOOK_PRESTART] + j->config->n_hooks[OCI_HOOK_CREATE_RUNTIME])
                timer_phase(&j->timer, "createRuntime");
        return r;
}

/* run without the staged start: the config snapshot and the state, written while the init sets itself
 * up (or after spawn on the staged path). The snapshot is complete before state.json exists, and
 * readers read state.json first: it needs no temporary file + rename. */
static int record_direct_run(void *userdata, pid_t pid, struct coi_error *err)
{
        struct create_job *j = userdata;
        if (j->rec.pub.pid == pid)
                return 0;
        int r = state_write_new_file(j->dirfd, CONFIG_FILE, j->config_json, j->config_len, 0600, err);
        if (r < 0)
                return r;
        return on_create_runtime(j, pid, err);
}

/* Hooks that run between create and start (or right after start) need the staged start. */
static bool needs_staged_start(const struct oci_config *config)
{
        return config->n_hooks[OCI_HOOK_PRESTART] || config->n_hooks[OCI_HOOK_CREATE_RUNTIME] ||
               config->n_hooks[OCI_HOOK_CREATE_CONTAINER] || config->n_hooks[OCI_HOOK_START_CONTAINER] ||
               config->n_hooks[OCI_HOOK_POSTSTART];
}

static int do_create(struct create_job *j, struct create_config *config, struct coi_error *err)
{
        struct coi_context *ctx = j->ctx;
        int r = resolve_paths(j, err);
        if (r < 0)
                return r;
        r = load_config(j, config, err);
        if (r < 0)
                return r;
        r = resolve_rootfs(j, err);
        if (r < 0)
                return r;
        timer_phase(&j->timer, "config");
        /* run may skip the staged start (exec.fifo, a second state write) when no hook needs a point
         * between create and start; status is derived live, so an init that is done before we write
         * the state is simply "stopped". */
        j->direct = j->run && !needs_staged_start(j->config);

        const struct oci_process *proc = &j->config->process;
        if (!j->config->has_process || !proc->args || !proc->args[0])
                return coi_error_set(err, EINVAL, "%s/config.json: process.args is empty: nothing to run",
                                     j->rec.pub.bundle);
        if (proc->terminal && !j->opts->console_socket && j->opts->console_socket_fd <= 0)
                return coi_error_set(err, EINVAL,
                                     "process.terminal is true but no --console-socket was given to pass "
                                     "the pty to");

        /* The state directory first: it is the claim on the id (EEXIST for a second create). */
        r = state_root_open(ctx, true, &j->rootfd, err);
        if (r < 0)
                return r;
        r = state_dir_create(j->rootfd, j->id, &j->dirfd, err);
        if (r < 0)
                return r;
        j->dir_created = true;
        r = state_lock(j->dirfd, j->id, true, 0, &j->lockfd, err);
        if (r < 0)
                return r;
        snprintf(j->rec.pub.id, sizeof(j->rec.pub.id), "%s", j->id);
        snprintf(j->rec.oci_version, sizeof(j->rec.oci_version), "%s",
                 j->config->oci_version ? j->config->oci_version : "1.1.0");
        struct timespec ts;
        (void)clock_gettime(CLOCK_REALTIME, &ts); /* can't fail for this clock */
        j->rec.pub.created_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        j->rec.pub.status = COI_STATUS_CREATING;
        j->rec.owner_uid = geteuid(); /* its name is looked up only when shown */
        if (j->config->annotations && !(j->rec.pub.annotations = strv_copy(j->config->annotations)))
                return coi_error_set(err, ENOMEM, "annotations of %s: %m", j->id);
        j->rec.poststop_hooks = (int)j->config->n_hooks[OCI_HOOK_POSTSTOP];
        j->rec.no_new_keyring = j->opts->no_new_keyring;
        if (!j->direct) {
                r = state_write_new_file(j->dirfd, CONFIG_FILE, j->config_json, j->config_len, 0600, err);
                if (r < 0)
                        return r;
                r = state_fifo_create(j->dirfd, j->id, err);
                if (r < 0)
                        return r;
                r = state_write(j->dirfd, &j->rec, err);
                if (r < 0)
                        return r;
        }
        timer_phase(&j->timer, "state");

        r = setup_cgroup(j, err);
        if (r < 0)
                return r;
        timer_phase(&j->timer, "cgroup");

        if (proc->terminal) {
                r = connect_console_socket(j->opts->console_socket, j->opts->console_socket_fd,
                                           &j->console_fd, err);
                if (r < 0)
                        return r;
        }

        struct linux_spawn spawn = {
                .config = j->config,
                .id = j->id,
                .bundle = j->rec.pub.bundle,
                .rootfs = j->rec.pub.rootfs,
                .state_dirfd = j->dirfd,
                .cgroup_dirfd = j->cgroup_fd,
                .cgroup_path = j->rec.pub.cgroup_path[0] ? j->rec.pub.cgroup_path : NULL,
                .console_socket_fd = j->console_fd,
                .preserve_fds = j->opts->preserve_fds,
                .no_pivot = j->opts->no_pivot,
                .no_new_keyring = j->opts->no_new_keyring,
                .wait_for_start = !j->direct,
                .seccomp_config = j->config->linux_.seccomp, /* compiled by the spawner after clone */
                .on_create_runtime = on_create_runtime,
                .on_spawned = j->direct ? record_direct_run : NULL,
                .userdata = j,
        };
        pid_t pid = 0;
        r = linux_container_spawn(ctx, &spawn, &pid, err);
        if (r < 0)
                return r;
        /* In case the spawner returned without calling back (no createRuntime point reached). */
        r = j->direct ? record_direct_run(j, pid, err) : on_create_runtime(j, pid, err);
        if (r < 0)
                return r;

        if (j->opts->pid_file) {
                r = write_pid_file(j->opts->pid_file, pid, err);
                if (r < 0)
                        return r;
                j->pid_file_written = true;
        }
        timer_phase(&j->timer, "done");
        return 0;
}

/* create, and the create half of run: one job, unlocked when it returns. config: see
 * container_create_with. ret_pid/ret_staged (run): the init's pid, and whether it waits for a start
 * (false when it went straight on to exec). */
static int create_job_run(struct coi_context *ctx, const char *id, const struct coi_create_options *opts,
                          struct create_config *config, bool run, pid_t *ret_pid, bool *ret_staged,
                          struct coi_error *err)
{
        _cleanup_(create_config_done) struct create_config given = { 0 };
        if (config) {
                given = *config;
                *config = (struct create_config){ 0 };
        }
        if (ctx->systemd_cgroup)
                return coi_error_set(
                        err, EOPNOTSUPP,
                        "--systemd-cgroup is not supported: coi-runtime manages cgroupfs directly");
        int r = state_validate_id(id, err);
        if (r < 0)
                return r;
        static const struct coi_create_options no_opts;
        _cleanup_(create_job_cleanup) struct create_job j = {
                .ctx = ctx,
                .id = id,
                .opts = opts ? opts : &no_opts,
                .rootfd = -1,
                .dirfd = -1,
                .lockfd = -1,
                .cgroup_fd = -1,
                .console_fd = -1,
                .run = run,
                .timer = timer_start(ctx, run ? "run" : "create"),
        };
        r = do_create(&j, config ? &given : NULL, err);
        if (r < 0)
                return r;
        j.done = true;
        if (ret_pid)
                *ret_pid = j.rec.pub.pid;
        if (ret_staged)
                *ret_staged = !j.direct;
        return 0;
}

int container_create_with(struct coi_context *ctx, const char *id, const struct coi_create_options *opts,
                          struct create_config *config, struct coi_error *err)
{
        return create_job_run(ctx, id, opts, config, false, NULL, NULL, err);
}

int coi_container_create(struct coi_context *ctx, const char *id, const struct coi_create_options *opts,
                         struct coi_error *err)
{
        return container_create_with(ctx, id, opts, NULL, err);
}

int container_run_with(struct coi_context *ctx, const char *id, const struct coi_create_options *opts,
                       struct create_config *config, pid_t *ret_pid, struct coi_error *err)
{
        pid_t pid = 0;
        bool staged = false;
        /* unlocked when it returns: start takes the lock */
        int r = create_job_run(ctx, id, opts, config, true, &pid, &staged, err);
        if (r < 0)
                return r;
        if (staged) {
                r = coi_container_start(ctx, id, err);
                if (r < 0) {
                        struct coi_error derr = { 0 };
                        if (coi_container_delete(ctx, id, true, &derr) < 0)
                                log_warning(ctx, "cleanup of failed run of %s: %s", id, derr.msg);
                        return r;
                }
        }
        if (ret_pid)
                *ret_pid = pid;
        return 0;
}

int coi_container_run(struct coi_context *ctx, const char *id, const struct coi_create_options *opts,
                      pid_t *ret_pid, struct coi_error *err)
{
        return container_run_with(ctx, id, opts, NULL, ret_pid, err);
}

/* ---- start, state, kill ------------------------------------------------------------------------- */

int coi_container_start(struct coi_context *ctx, const char *id, struct coi_error *err)
{
        struct timer t = timer_start(ctx, "start");
        _cleanup_(handle_done) struct handle h;
        int r = handle_open(ctx, id, EXCLUSIVE_LOCK, &h, err);
        if (r < 0)
                return r;
        if (h.status != COI_STATUS_CREATED)
                return coi_error_set(err, EINVAL, "cannot start container %s: it is %s, not created", id,
                                     coi_status_to_string(h.status));
        _cleanup_(oci_config_freep) struct oci_config *config = NULL;
        r = load_snapshot(&h, &config, err);
        if (r < 0)
                return r;
        r = state_fifo_release(h.dirfd, id, h.rec.pub.pid, err);
        if (r < 0)
                return r;
        h.rec.pub.status = COI_STATUS_RUNNING;
        r = state_write(h.dirfd, &h.rec, err);
        if (r < 0)
                return r;
        timer_phase(&t, "released");
        struct coi_error herr = { 0 };
        /* The spec: a failing poststart hook is a warning; the container keeps running. */
        if (run_hooks(ctx, config, OCI_HOOK_POSTSTART, &h.rec, COI_STATUS_RUNNING, &herr) < 0)
                log_warning(ctx, "poststart hook of %s: %s", id, herr.msg);
        return 0;
}

int coi_container_state(struct coi_context *ctx, const char *id, struct coi_state *ret_state,
                        struct coi_error *err)
{
        /* No lock: hooks call `state` while create or delete holds it. state.json is replaced atomically. */
        _cleanup_(handle_done) struct handle h;
        int r = handle_open(ctx, id, NO_LOCK, &h, err);
        if (r < 0)
                return r;
        state_resolve_owner(&h.rec);
        *ret_state = h.rec.pub;
        ret_state->status = h.status;
        if (h.status == COI_STATUS_STOPPED)
                ret_state->pid = 0;
        h.rec.pub.annotations = NULL; /* handed over */
        return 0;
}

int coi_container_state_json(struct coi_context *ctx, const char *id, char **ret_json, struct coi_error *err)
{
        _cleanup_(handle_done) struct handle h;
        int r = handle_open(ctx, id, NO_LOCK, &h, err);
        if (r < 0)
                return r;
        state_resolve_owner(&h.rec);
        struct coi_state st = h.rec.pub;
        st.status = h.status;
        return state_oci_json(&st, h.rec.oci_version, ret_json, err);
}

static int signal_init(const struct handle *h, int signo, struct coi_error *err)
{
        /* The pidfd pins the process: checked to be our init, it can't be swapped for another. */
        _cleanup_close_ int pidfd = pidfd_open_(h->rec.pub.pid);
        if (pidfd < 0 || !state_process_alive(h->rec.pub.pid, h->rec.start_time))
                return coi_error_set(err, ESRCH, "container %s is not running", h->rec.pub.id);
        if (pidfd_send_signal_(pidfd, signo) < 0)
                return coi_error_set(err, errno, "send signal %d to the init (pid %d) of %s: %m", signo,
                                     (int)h->rec.pub.pid, h->rec.pub.id);
        return 0;
}

int coi_container_kill(struct coi_context *ctx, const char *id, int signo, bool all, struct coi_error *err)
{
        _cleanup_(handle_done) struct handle h;
        int r = handle_open(ctx, id, NO_LOCK, &h, err);
        if (r < 0)
                return r;
        if (signo <= 0 || signo >= NSIG)
                return coi_error_set(err, EINVAL, "invalid signal %d", signo);
        if (h.status != COI_STATUS_CREATED && h.status != COI_STATUS_RUNNING && h.status != COI_STATUS_PAUSED)
                return coi_error_set(err, ESRCH, "cannot kill container %s: it is %s", id,
                                     coi_status_to_string(h.status));
        if (all && h.rec.pub.cgroup_path[0])
                return cgroup_kill_all(h.rec.pub.cgroup_path, signo, err);
        return signal_init(&h, signo, err);
}

/* ---- delete -------------------------------------------------------------------------------------- */

/* SIGKILL everything, thaw so the kills land, and wait for the init to go. */
static int kill_and_wait(struct coi_context *ctx, struct handle *h, struct coi_error *err)
{
        const char *cg = h->rec.pub.cgroup_path;
        int r = 0;
        if (cg[0])
                r = cgroup_kill_all(cg, SIGKILL, err);
        if (!cg[0] || r < 0) {
                struct coi_error e2 = { 0 };
                /* If this fails too, the wait below says that the init is still there. */
                if (state_process_alive(h->rec.pub.pid, h->rec.start_time) &&
                    signal_init(h, SIGKILL, &e2) < 0)
                        log_warning(ctx, "delete %s: %s", h->rec.pub.id, e2.msg);
        }
        if (cg[0] && cgroup_is_frozen(cg)) {
                struct coi_error e2 = { 0 };
                if (cgroup_freeze(cg, false, &e2) < 0)
                        log_warning(ctx, "thaw %s: %s", cg, e2.msg);
        }
        if (state_process_alive(h->rec.pub.pid, h->rec.start_time)) {
                r = wait_exit(h->rec.pub.pid, 10000, NULL);
                if (r < 0)
                        return coi_error_set(err, -r, "wait for the init (pid %d) of %s to die: %m",
                                             (int)h->rec.pub.pid, h->rec.pub.id);
        }
        return 0;
}

int coi_container_delete(struct coi_context *ctx, const char *id, bool force, struct coi_error *err)
{
        struct timer t = timer_start(ctx, "delete");
        int r = state_validate_id(id, err);
        if (r < 0)
                return r;
        _cleanup_(handle_done) struct handle h;
        r = handle_open(ctx, id, EXCLUSIVE_LOCK, &h, err);
        if (r == -ENOENT && h.lockfd >= 0 && h.dirfd >= 0) {
                /* A state dir without state.json whose creator is gone (we hold its lock): debris. */
                return state_dir_remove(h.rootfd, id, h.lockfd, err);
        }
        if (r < 0)
                return r;
        /* A created container never ran the user's program: deleting it is safe without --force. */
        if (h.status != COI_STATUS_STOPPED && h.status != COI_STATUS_CREATED && !force)
                return coi_error_set(err, EBUSY,
                                     "cannot delete container %s: it is %s (stop it first, or use --force)",
                                     id, coi_status_to_string(h.status));
        if (h.status != COI_STATUS_STOPPED) {
                r = kill_and_wait(ctx, &h, err);
                if (r < 0)
                        return r;
        }
        timer_phase(&t, "killed");

        /* The snapshot is parsed only for poststop hooks (state.json says whether there are any). */
        _cleanup_(oci_config_freep) struct oci_config *config = NULL;
        struct coi_error cerr = { 0 };
        if (h.rec.poststop_hooks != 0 && load_snapshot(&h, &config, &cerr) < 0)
                log_warning(ctx, "delete %s: no poststop hooks run: %s", id, cerr.msg);
        struct coi_error herr = { 0 };
        if (run_hooks(ctx, config, OCI_HOOK_POSTSTOP, &h.rec, COI_STATUS_STOPPED, &herr) < 0)
                log_warning(ctx, "poststop hook of %s: %s", id, herr.msg);

        if (h.rec.cgroup_created && h.rec.pub.cgroup_path[0]) {
                r = cgroup_destroy(h.rec.pub.cgroup_path, err);
                if (r < 0)
                        return coi_error_prefix(err, "delete %s: ", id);
        }
        r = state_dir_remove(h.rootfd, id, h.lockfd, err);
        timer_phase(&t, "removed");
        return r;
}

/* ---- pause, resume, wait, update ----------------------------------------------------------------- */

static int freeze(struct coi_context *ctx, const char *id, bool on, struct coi_error *err)
{
        _cleanup_(handle_done) struct handle h;
        int r = handle_open(ctx, id, EXCLUSIVE_LOCK, &h, err);
        if (r < 0)
                return r;
        if (on && h.status != COI_STATUS_RUNNING && h.status != COI_STATUS_CREATED)
                return coi_error_set(err, EINVAL, "cannot pause container %s: it is %s", id,
                                     coi_status_to_string(h.status));
        if (!on && h.status != COI_STATUS_PAUSED)
                return coi_error_set(err, EINVAL, "cannot resume container %s: it is %s, not paused", id,
                                     coi_status_to_string(h.status));
        if (!h.rec.pub.cgroup_path[0])
                return coi_error_set(err, EOPNOTSUPP, "cannot %s container %s: it has no cgroup",
                                     on ? "pause" : "resume", id);
        return cgroup_freeze(h.rec.pub.cgroup_path, on, err);
}

int coi_container_pause(struct coi_context *ctx, const char *id, struct coi_error *err)
{
        return freeze(ctx, id, true, err);
}

int coi_container_resume(struct coi_context *ctx, const char *id, struct coi_error *err)
{
        return freeze(ctx, id, false, err);
}

int coi_container_wait(struct coi_context *ctx, const char *id, int *ret_status, struct coi_error *err)
{
        _cleanup_(handle_done) struct handle h;
        int r = handle_open(ctx, id, NO_LOCK, &h, err);
        if (r < 0)
                return r;
        int status = 0;
        /* Even when "stopped" a zombie child of ours may be waiting to be reaped for its status. */
        pid_t pid = h.rec.pub.pid;
        uint64_t t;
        if (pid > 0 && process_start_time(pid, &t) == 0 && (!h.rec.start_time || t == h.rec.start_time)) {
                r = wait_exit(pid, -1, &status);
                if (r < 0)
                        return coi_error_set(err, -r, "wait for the init (pid %d) of %s: %m", (int)pid, id);
        }
        *ret_status = status;
        return 0;
}

int coi_container_update(struct coi_context *ctx, const char *id, const char *resources_json,
                         struct coi_error *err)
{
        _cleanup_(handle_done) struct handle h;
        int r = handle_open(ctx, id, EXCLUSIVE_LOCK, &h, err);
        if (r < 0)
                return r;
        if (h.status == COI_STATUS_STOPPED)
                return coi_error_set(err, EINVAL, "cannot update container %s: it is stopped", id);
        if (!h.rec.pub.cgroup_path[0])
                return coi_error_set(err, EOPNOTSUPP, "cannot update container %s: it has no cgroup", id);
        struct oci_resources res = { 0 };
        r = oci_resources_parse(resources_json, strlen(resources_json), "resources", &res, err);
        if (r < 0)
                return r;
        _cleanup_(oci_config_freep) struct oci_config *config = NULL;
        struct coi_error cerr = { 0 };
        /* Only for the best-effort annotation: without it, the context's setting decides. */
        if (load_snapshot(&h, &config, &cerr) < 0)
                log_debug(ctx, "update %s: %s", id, cerr.msg);
        _cleanup_close_ int fd = open(h.rec.pub.cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                r = coi_error_set(err, errno, "open cgroup %s: %m", h.rec.pub.cgroup_path);
        else
                r = cgroup_apply_resources(ctx, fd, h.rec.pub.cgroup_path, &res, best_effort(ctx, config),
                                           err);
        oci_resources_done(&res);
        return r;
}

/* ---- list, pids ---------------------------------------------------------------------------------- */

static int compare_strings(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int coi_container_list(struct coi_context *ctx, char ***ret_ids, struct coi_error *err)
{
        const char *root = ctx->state_root ? ctx->state_root : COI_RUNTIME_STATE_ROOT;
        _cleanup_strv_ char **ids = calloc(1, sizeof(char *));
        if (!ids)
                return coi_error_set(err, ENOMEM, "list: %m");
        _cleanup_closedir_ DIR *d = opendir(root);
        if (!d) {
                if (errno != ENOENT)
                        return coi_error_set(err, errno, "open state root %s: %m", root);
                *ret_ids = TAKE_PTR(ids);
                return 0;
        }
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.' || state_validate_id(de->d_name, NULL) < 0)
                        continue;
                _cleanup_close_ int dfd =
                        openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                struct state_record rec;
                if (dfd < 0 || state_read(dfd, de->d_name, &rec, NULL) < 0)
                        continue;
                state_record_done(&rec);
                if (strv_push(&ids, de->d_name) < 0)
                        return coi_error_set(err, ENOMEM, "list: %m");
        }
        qsort(ids, strv_length(ids), sizeof(char *), compare_strings);
        *ret_ids = TAKE_PTR(ids);
        return 0;
}

int coi_container_pids(struct coi_context *ctx, const char *id, pid_t **ret_pids, struct coi_error *err)
{
        _cleanup_(handle_done) struct handle h;
        int r = handle_open(ctx, id, NO_LOCK, &h, err);
        if (r < 0)
                return r;
        if (h.status == COI_STATUS_STOPPED) {
                pid_t *none = calloc(1, sizeof(pid_t));
                if (!none)
                        return coi_error_set(err, ENOMEM, "pids: %m");
                *ret_pids = none;
                return 0;
        }
        if (h.rec.pub.cgroup_path[0]) {
                size_t n = 0;
                return cgroup_list_pids(h.rec.pub.cgroup_path, ret_pids, &n, err);
        }
        pid_t *one = calloc(2, sizeof(pid_t));
        if (!one)
                return coi_error_set(err, ENOMEM, "pids: %m");
        one[0] = h.rec.pub.pid;
        *ret_pids = one;
        return 0;
}
