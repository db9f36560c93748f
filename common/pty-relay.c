/* pty-relay.c — the relay between the caller's terminal and a container's pty: raw mode with restore on
 * every way out, the window size followed on SIGWINCH, bytes copied both ways until the pty hangs up. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "pty-relay.h"
#include "util.h"

/* A signal handler has nowhere else to write: the one process-wide flag of this file. SIGWINCH is
 * blocked outside ppoll, so a resize is never lost between the check and the wait. */
static volatile sig_atomic_t winch;

static void on_winch(int signo)
{
        (void)signo;
        winch = 1;
}

static void copy_window_size(int from, int master)
{
        struct winsize ws;
        if (ioctl(from, TIOCGWINSZ, &ws) == 0)
                ioctl(master, TIOCSWINSZ, &ws);
}

/* One read from -> write to: 1 moved (or nothing to read yet), 0 EOF, -1 read failed, -2 write failed.
 * The pty's read fails with EIO once the container side closed. */
static int pump(int from, int to)
{
        char buf[16384];
        ssize_t n = read(from, buf, sizeof(buf));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return 1;
        if (n == 0)
                return 0;
        if (n < 0)
                return -1;
        return write_all(to, buf, (size_t)n) < 0 ? -2 : 1;
}

static int relay_loop(int master, const struct pty_relay_options *o, bool terminal, const sigset_t *waitmask)
{
        bool in_open = true;
        for (;;) {
                if (o->stop && *o->stop)
                        return PTY_RELAY_STOPPED;
                if (winch) {
                        winch = 0;
                        if (terminal)
                                copy_window_size(o->in, master);
                }
                struct pollfd p[2] = { { .fd = master, .events = POLLIN },
                                       { .fd = in_open ? o->in : -1, .events = POLLIN } };
                if (ppoll(p, 2, NULL, waitmask) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                        int r = pump(master, o->out);
                        if (r == -2)
                                return PTY_RELAY_LOST;
                        if (r <= 0)
                                return PTY_RELAY_CLOSED;
                }
                if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
                        int r = pump(o->in, master);
                        if (r == 0 || r == -1) {
                                if (terminal && o->lost_on_terminal_eof)
                                        return PTY_RELAY_LOST;
                                in_open = false;
                        } else if (r == -2) {
                                in_open = false; /* the pty takes no more: its hang-up comes next */
                        }
                }
        }
}

int pty_relay(int master, const struct pty_relay_options *opts)
{
        bool terminal = isatty(opts->in);
        struct termios saved;
        bool raw = terminal && tcgetattr(opts->in, &saved) == 0;
        if (raw) {
                struct termios t = saved;
                cfmakeraw(&t);
                tcsetattr(opts->in, TCSANOW, &t);
        }
        if (terminal)
                copy_window_size(opts->in, master);

        /* SIGWINCH resizes the pty (the kernel then signals the container's foreground group) instead of
         * whatever the caller does with it; it is delivered only inside ppoll. */
        sigset_t winch_set, oldmask;
        sigemptyset(&winch_set);
        sigaddset(&winch_set, SIGWINCH);
        sigprocmask(SIG_BLOCK, &winch_set, &oldmask);
        sigset_t waitmask = oldmask;
        sigdelset(&waitmask, SIGWINCH);
        struct sigaction sa = { .sa_handler = on_winch }, old;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGWINCH, &sa, &old);
        winch = 0;

        int r = relay_loop(master, opts, terminal, &waitmask);

        sigaction(SIGWINCH, &old, NULL);
        sigprocmask(SIG_SETMASK, &oldmask, NULL);
        if (raw)
                tcsetattr(opts->in, TCSANOW, &saved);
        return r;
}
