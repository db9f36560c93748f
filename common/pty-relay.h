/* pty-relay.h — the one relay between the caller's terminal and a container's pty (coi-runtime's
 * run/exec -t, coi shell/attach): raw mode restored on every way out, SIGWINCH followed, bytes both ways. */
#pragma once

#include <signal.h>
#include <stdbool.h>

/* How a relay ended. */
enum pty_relay_end {
        PTY_RELAY_CLOSED = 0, /* the container side closed the pty: its processes ended */
        PTY_RELAY_LOST,       /* our side went away: out unwritable, or a terminal `in` hung up */
        PTY_RELAY_STOPPED,    /* *stop became non-zero (the caller's signal handler set it) */
};

struct pty_relay_options {
        int in, out; /* the caller's side, usually STDIN_FILENO and STDOUT_FILENO */
        /* Checked before every wait; NULL: only the pty or our side ends the relay. */
        volatile sig_atomic_t *stop;
        /* EOF on `in` when it is a terminal means the user's terminal is gone (PTY_RELAY_LOST); when false,
         * or when `in` is no terminal, EOF only stops reading `in` and the relay goes on. */
        bool lost_on_terminal_eof;
};

/* Relays master <-> opts->in/out until the pty hangs up, our side goes away or *stop is set. When `in`
 * is a terminal it is in raw mode meanwhile and the pty follows its window size (set now, and again on
 * every SIGWINCH, whose previous disposition comes back at the end). A pty_relay_end, or -errno when
 * waiting failed (the terminal is restored all the same). */
int pty_relay(int master, const struct pty_relay_options *opts);
