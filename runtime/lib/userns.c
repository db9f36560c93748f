/* userns.c — a user namespace with given id mappings, held only by an fd (for idmapped mounts): a child
 * made with clone3(CLONE_NEWUSER) sleeps while we write its maps and open its ns file, then is killed. */
#include <signal.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "userns.h"
#include "util.h"

static int write_mappings(pid_t pid, const char *file, const struct oci_id_mapping *maps, size_t n,
                          struct coi_error *err)
{
        char buf[4096];
        size_t off = 0;
        for (size_t i = 0; i < n && off < sizeof(buf); i++)
                off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%u %u %u\n", maps[i].container_id,
                                        maps[i].host_id, maps[i].size);
        if (off >= sizeof(buf))
                return coi_error_set(err, E2BIG, "%s: too many mappings", file);
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, buf, off) < 0)
                return coi_error_set(err, errno, "write %s: %m", path);
        return 0;
}

int userns_fd_with_mappings(const struct oci_id_mapping *uid, size_t n_uid, const struct oci_id_mapping *gid,
                            size_t n_gid, int *ret_fd, struct coi_error *err)
{
        struct {
                uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
        } args = { .flags = CLONE_NEWUSER, .exit_signal = SIGCHLD };
        pid_t parent = getpid();
        pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
        if (pid < 0)
                return coi_error_set(err, errno, "create a user namespace for an idmapped mount: %m");
        if (pid == 0) {
                /* Only owns the namespace until we have its fd; never returns into the caller's code. It
                 * dies with its parent: a caller killed meanwhile (kill -9) must not leave it paused
                 * forever, holding the caller's fds. */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                        _exit(1);
                for (;;)
                        pause();
        }
        /* We hold CAP_SETGID over the child's namespace (we made it), so gid_map needs no setgroups deny. */
        int r = write_mappings(pid, "uid_map", uid, n_uid, err);
        if (r == 0)
                r = write_mappings(pid, "gid_map", gid, n_gid, err);
        int fd = -1;
        if (r == 0) {
                char path[64];
                snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        r = coi_error_set(err, errno, "open %s: %m", path);
        }
        (void)kill(pid, SIGKILL); /* our unreaped child: can't fail */
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        if (r < 0)
                return r;
        *ret_fd = fd;
        return 0;
}

COI_PUBLIC int coi_userns_fd(const struct coi_id_mapping *uid, size_t n_uid, const struct coi_id_mapping *gid,
                             size_t n_gid, int *ret_fd, struct coi_error *err)
{
        _cleanup_free_ struct oci_id_mapping *maps = calloc(n_uid + n_gid + 1, sizeof(*maps));
        if (!maps)
                return coi_error_set(err, ENOMEM, "user namespace mappings: %m");
        for (size_t i = 0; i < n_uid + n_gid; i++) {
                const struct coi_id_mapping *m = i < n_uid ? &uid[i] : &gid[i - n_uid];
                maps[i] = (struct oci_id_mapping){ m->container_id, m->host_id, m->size };
        }
        return userns_fd_with_mappings(maps, n_uid, maps + n_uid, n_gid, ret_fd, err);
}
