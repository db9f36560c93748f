/* tty.c — `run`/`exec` in the foreground with process.terminal and no --console-socket, as runc does:
 * the pty master comes back over a socketpair, and we relay it to our own stdin/stdout (raw mode on a
 * terminal, window size followed) until the container's side hangs up. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

static volatile sig_atomic_t winch;

static void on_winch(int signo)
{
        (void)signo;
        winch = 1;
}

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

static void copy_window_size(int master)
{
        struct winsize ws;
        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
                ioctl(master, TIOCSWINSZ, &ws);
}

static bool write_full(int fd, const char *p, size_t n)
{
        while (n > 0) {
                ssize_t w = write(fd, p, n);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return false;
                p += w;
                n -= (size_t)w;
        }
        return true;
}

/* Moves bytes from -> to; false on EOF or error (the pty's EIO once the container side closed). */
static bool pump(int from, int to)
{
        char buf[8192];
        ssize_t n = read(from, buf, sizeof(buf));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return true;
        if (n <= 0)
                return false;
        return write_full(to, buf, (size_t)n);
}

void cli_tty_relay(int master)
{
        struct termios saved;
        bool raw = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
        if (raw) {
                struct termios t = saved;
                cfmakeraw(&t);
                tcsetattr(STDIN_FILENO, TCSANOW, &t);
                copy_window_size(master);
        }
        /* SIGWINCH resizes the pty (the kernel then signals the container's foreground group) instead
         * of being forwarded to the init. */
        struct sigaction sa = { .sa_handler = on_winch }, old;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGWINCH, &sa, &old);
        bool stdin_open = true;
        for (;;) {
                if (winch) {
                        winch = 0;
                        copy_window_size(master);
                }
                struct pollfd p[2] = { { .fd = master, .events = POLLIN },
                                       { .fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN } };
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
                        if (!pump(master, STDOUT_FILENO))
                                break;
                if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
                        stdin_open = pump(STDIN_FILENO, master);
        }
        sigaction(SIGWINCH, &old, NULL);
        if (raw)
                tcsetattr(STDIN_FILENO, TCSANOW, &saved);
}

int cli_foreground_wait(pid_t pid, int tty_local, int *ret_status)
{
        cli_forward_signals(pid);
        int master = tty_local >= 0 ? cli_tty_receive_master(tty_local) : -1;
        if (tty_local >= 0)
                close(tty_local);
        if (master >= 0) {
                cli_tty_relay(master);
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
