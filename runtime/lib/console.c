/* console.c — process.terminal: the pty lives in the container's own devpts instance; the master goes
 * to the console socket, the slave becomes the process's controlling terminal and stdio. */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>

#include "console.h"
#include "util.h"

static int send_fd(int socket_fd, int fd, const char *name, struct coi_error *err)
{
        char control[CMSG_SPACE(sizeof(int))] = { 0 };
        struct iovec iov = { .iov_base = (void *)name, .iov_len = strlen(name) };
        struct msghdr msg = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = control,
                .msg_controllen = sizeof(control),
        };
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
        ssize_t n;
        do
                n = sendmsg(socket_fd, &msg, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return coi_error_set(err, errno, "console: send the pty master to the console socket: %m");
        return 0;
}

int console_create(int socket_fd, const struct oci_process *proc, int *ret_slave_fd, struct coi_error *err)
{
        /* /dev/pts/ptmx is the container's own devpts instance; /dev/ptmx is a fallback for images that
         * made it a node of their own. */
        _cleanup_close_ int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
                master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
                return coi_error_set(err, errno, "console: open /dev/pts/ptmx in the container: %m");
        int unlock = 0;
        if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
                return coi_error_set(err, errno, "console: unlock the pty: %m");
        /* TIOCGPTPEER opens the slave by the master, never by a path the container could swap. */
        _cleanup_close_ int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                return coi_error_set(err, errno, "console: open the pty slave: %m");
        if (proc->has_console_size) {
                struct winsize ws = { .ws_row = (unsigned short)proc->console_height,
                                      .ws_col = (unsigned short)proc->console_width };
                if (ioctl(slave, TIOCSWINSZ, &ws) < 0)
                        return coi_error_set(err, errno, "console: set the size %ux%u: %m",
                                             proc->console_width, proc->console_height);
        }
        int r = send_fd(socket_fd, master, "/dev/ptmx", err);
        if (r < 0)
                return r;
        *ret_slave_fd = TAKE_FD(slave);
        return 0;
}

int console_make_controlling(int slave_fd, struct coi_error *err)
{
        _cleanup_close_ int slave = slave_fd;
        if (setsid() < 0)
                return coi_error_set(err, errno, "console: setsid: %m");
        if (ioctl(slave, TIOCSCTTY, 0) < 0)
                return coi_error_set(err, errno, "console: make the pty the controlling terminal: %m");
        for (int fd = 0; fd < 3; fd++)
                if (dup2(slave, fd) < 0)
                        return coi_error_set(err, errno, "console: dup the pty to fd %d: %m", fd);
        if (slave <= 2) {
                /* dup2 onto itself keeps O_CLOEXEC: clear it, the process needs this fd. */
                if (fcntl(slave, F_SETFD, 0) < 0)
                        return coi_error_set(err, errno, "console: keep the pty on fd %d: %m", slave);
                slave = -1;
        }
        return 0;
}
