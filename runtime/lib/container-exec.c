/* container-exec.c — `exec`: another process in a running (or created) container, with the process
 * given as a document or built from the container's own (args, env, cwd, user, capabilities). */
#include <signal.h>
#include <sys/types.h>

#include "capabilities.h"
#include "cgroup.h"
#include "container.h"
#include "linux.h"
#include "seccomp-bpf.h"
#include "util.h"

/* env: the container's, with each "K=V" of extra replacing K or added. */
static int merge_env(char *const *base, char *const *extra, char ***ret_env)
{
        _cleanup_strv_ char **env = strv_copy(base);
        if (!env)
                return -ENOMEM;
        for (char *const *e = extra; e && *e; e++) {
                size_t klen = strcspn(*e, "=");
                bool replaced = false;
                for (char **o = env; *o; o++)
                        if (strncmp(*o, *e, klen) == 0 && ((*o)[klen] == '=' || (*o)[klen] == '\0')) {
                                char *copy = strdup(*e);
                                if (!copy)
                                        return -ENOMEM;
                                free(*o);
                                *o = copy;
                                replaced = true;
                                break;
                        }
                if (!replaced && strv_push(&env, *e) < 0)
                        return -ENOMEM;
        }
        *ret_env = TAKE_PTR(env);
        return 0;
}

static int parse_user(const char *user, uint32_t *uid, uint32_t *gid, struct coi_error *err)
{
        char *end;
        errno = 0;
        unsigned long u = strtoul(user, &end, 10);
        if (errno || end == user || (*end && *end != ':') || u > UINT32_MAX - 1)
                return coi_error_set(err, EINVAL, "--user %s: expected uid[:gid] (numbers)", user);
        *uid = (uint32_t)u;
        if (*end == ':') {
                const char *g = end + 1;
                unsigned long gv = strtoul(g, &end, 10);
                if (errno || end == g || *end || gv > UINT32_MAX - 1)
                        return coi_error_set(err, EINVAL, "--user %s: expected uid[:gid] (numbers)", user);
                *gid = (uint32_t)gv;
        }
        return 0;
}

static int build_exec_process(const struct oci_config *config, const struct coi_exec_options *opts,
                              struct oci_process *proc, char ***owned_env, uint32_t **owned_gids,
                              struct coi_error *err)
{
        /* A shallow copy: strings stay owned by config; only env (owned_env) is ours. */
        *proc = config->process;
        if (!opts->args || !opts->args[0])
                return coi_error_set(err, EINVAL, "exec: no command given (args or --process)");
        proc->args = (char **)opts->args;
        int r = merge_env(config->process.env, opts->env, owned_env);
        if (r < 0)
                return coi_error_set(err, -r, "exec: environment: %m");
        proc->env = *owned_env;
        if (opts->cwd)
                proc->cwd = (char *)opts->cwd;
        if (opts->user) {
                r = parse_user(opts->user, &proc->user.uid, &proc->user.gid, err);
                if (r < 0)
                        return r;
        }
        if (opts->n_additional_gids) {
                /* As runc's --additional-gids: added to the config's (which the config owns). */
                size_t n = proc->user.n_additional_gids + opts->n_additional_gids;
                uint32_t *g = calloc(n, sizeof(*g));
                if (!g)
                        return coi_error_set(err, ENOMEM, "exec: additional gids: %m");
                if (proc->user.n_additional_gids)
                        memcpy(g, proc->user.additional_gids, proc->user.n_additional_gids * sizeof(*g));
                memcpy(g + proc->user.n_additional_gids, opts->additional_gids,
                       opts->n_additional_gids * sizeof(*g));
                proc->user.additional_gids = *owned_gids = g;
                proc->user.n_additional_gids = n;
        }
        proc->terminal = opts->tty;
        for (char *const *c = opts->caps; c && *c; c++) {
                int cap;
                _cleanup_free_ char *name = startswith(*c, "CAP_") ? strdup(*c) : xasprintf("CAP_%s", *c);
                if (!name || capability_from_name(name, &cap) < 0)
                        return coi_error_set(err, EINVAL, "--cap %s: unknown capability", *c);
                uint64_t bit = 1ull << cap;
                proc->caps.present = true;
                proc->caps.bounding |= bit;
                proc->caps.effective |= bit;
                proc->caps.permitted |= bit;
                proc->caps.inheritable |= bit;
                proc->caps.ambient |= bit;
        }
        return 0;
}

static void oci_process_donep(struct oci_process **p)
{
        if (*p)
                oci_process_done(*p);
}

int coi_container_exec(struct coi_context *ctx, const char *id, const struct coi_exec_options *opts,
                       int *ret_status, struct coi_error *err)
{
        struct timer t = timer_start(ctx, "exec");
        _cleanup_(handle_done) struct handle h;
        int r = handle_open(ctx, id, NO_LOCK, &h, err);
        if (r < 0)
                return r;
        /* A created container is fine too (as with runc): its init, waiting for start, has closed
         * every runtime fd but the fifo's (see wait_for_start in linux.c). */
        if (h.status != COI_STATUS_RUNNING && h.status != COI_STATUS_CREATED)
                return coi_error_set(err, EINVAL, "cannot exec in container %s: it is %s", id,
                                     coi_status_to_string(h.status));
        _cleanup_(oci_config_freep) struct oci_config *config = NULL;
        r = load_snapshot(&h, &config, err);
        if (r < 0)
                return r;

        struct oci_process parsed = { 0 }, built = { 0 };
        _cleanup_(oci_process_donep) struct oci_process *parsed_owner = NULL;
        _cleanup_strv_ char **env = NULL;
        _cleanup_free_ uint32_t *gids = NULL;
        const struct oci_process *proc;
        if (opts->process_json) {
                r = oci_process_parse(opts->process_json, strlen(opts->process_json), "process", &parsed,
                                      err);
                if (r < 0)
                        return r;
                parsed_owner = &parsed;
                proc = &parsed;
        } else {
                r = build_exec_process(config, opts, &built, &env, &gids, err);
                if (r < 0)
                        return r;
                proc = &built;
        }
        if (proc->terminal && !opts->console_socket && opts->console_socket_fd <= 0)
                return coi_error_set(err, EINVAL,
                                     "exec: a terminal was asked for but no --console-socket given");

        _cleanup_(seccomp_program_done) struct seccomp_program seccomp = { 0 };
        if (config->linux_.seccomp) {
                r = seccomp_program_build(ctx, config->linux_.seccomp, &seccomp, err);
                if (r < 0)
                        return r;
        }
        _cleanup_close_ int console_fd = -1;
        if (proc->terminal) {
                r = connect_console_socket(opts->console_socket, opts->console_socket_fd, &console_fd, err);
                if (r < 0)
                        return r;
        }
        _cleanup_free_ char *exec_cgroup = NULL;
        if (h.rec.pub.cgroup_path[0]) {
                r = cgroup_exec_path(h.rec.pub.cgroup_path, h.rec.pub.pid, &exec_cgroup, err);
                if (r < 0)
                        return r;
        }
        timer_phase(&t, "prepare");
        struct linux_exec ex = {
                .init_pid = h.rec.pub.pid,
                .id = h.rec.pub.id,
                .no_new_keyring = h.rec.no_new_keyring,
                .config = config,
                .process = proc,
                .cgroup_path = exec_cgroup,
                .console_socket_fd = console_fd,
                .preserve_fds = opts->preserve_fds,
                .seccomp = config->linux_.seccomp ? &seccomp : NULL,
        };
        pid_t pid = 0;
        r = linux_exec_spawn(ctx, &ex, &pid, err);
        if (r < 0)
                return r;
        timer_phase(&t, "spawn");
        if (opts->pid_file) {
                r = write_pid_file(opts->pid_file, pid, err);
                if (r < 0) {
                        (void)kill(pid, SIGKILL); /* our child: only fails once it is gone */
                        if (wait_exit(pid, 5000, NULL) < 0)
                                log_warning(ctx, "exec in %s: the process (pid %d) does not die", id,
                                            (int)pid);
                        return r;
                }
        }
        if (opts->detach) {
                *ret_status = pid;
                return 0;
        }
        int status = 0;
        r = wait_exit(pid, -1, &status);
        if (r < 0)
                return coi_error_set(err, -r, "wait for exec'd process %d in %s: %m", (int)pid, id);
        *ret_status = status;
        return 0;
}
