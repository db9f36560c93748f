/* tty.c — `run`/`exec` in the foreground with process.terminal and no --console-socket, as runc does:
 * the pty master comes back over a socketpair, and common/pty-relay.c relays it to our own stdin/stdout
 * (raw mode on a terminal, window size followed) until the container's side hangs up. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "pty-relay.h"

int cli_tty_socketpair(int *ret_local, int *ret_remote)
{
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        *ret_local = sv[0];
        *ret_remote = sv[1];
        return 0;
}

int cli_tty_receive_master(int local)
{
        char byte;
        struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int))];
        } control;
        struct msghdr msg = { .msg_iov = &iov,
                              .msg_iovlen = 1,
                              .msg_control = control.buf,
                              .msg_controllen = sizeof(control.buf) };
        /* Not waiting: the pty was sent before the process ran; nothing there = no terminal. */
        if (recvmsg(local, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) <= 0)
                return -1;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                return -1;
        int fd;
        memcpy(&fd, CMSG_DATA(c), sizeof(fd));
        return fd;
}

int cli_foreground_wait(pid_t pid, int tty_local, int *ret_status)
{
        cli_forward_signals(pid);
        int master = tty_local >= 0 ? cli_tty_receive_master(tty_local) : -1;
        if (tty_local >= 0)
                close(tty_local);
        if (master >= 0) {
                /* Our stdin ending only stops the input; the container's side closing ends the relay. */
                struct pty_relay_options o = { .in = STDIN_FILENO, .out = STDOUT_FILENO };
                pty_relay(master, &o);
                close(master);
        }
        int r = 0;
        while (waitpid(pid, ret_status, 0) < 0)
                if (errno != EINTR) {
                        r = -errno;
                        break;
                }
        cli_forward_signals(0);
        return r;
}
