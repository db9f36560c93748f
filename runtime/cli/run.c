/* run.c — `coi-runtime run [-d] [create flags] ID`: create + start; in the foreground it forwards
 * signals to the init, waits, deletes the container and exits with its code (128 + signal if killed). */
#include <errno.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "cli.h"
#include "util.h"

int cmd_run(struct cli *cli, int argc, char **argv)
{
        _cleanup_(create_flags_done) struct create_flags f = { 0 };
        int i = cli_parse_create_flags(cli, argc, argv, true, &f);
        if (i < 0 || cli_seal_for_create(cli, &f))
                return 1;
        const char *id = argv[i];
        struct coi_error err = { 0 };
        /* Foreground: the init must stay reapable by us even if the spawner put a process between us
         * and it, so we can report its exit status. */
        if (!f.detach)
                prctl(PR_SET_CHILD_SUBREAPER, 1);

        if (!f.detach)
                cli_forward_signals(0);
        /* Foreground without --console-socket: if process.terminal asks for a pty, it comes back to us
         * (as with runc) and we relay it; the library only uses the socket then. */
        int tty_local = -1, tty_remote = -1;
        if (!f.detach && !f.opts.console_socket && cli_tty_socketpair(&tty_local, &tty_remote) == 0)
                f.opts.console_socket_fd = tty_remote;
        uint64_t t = cli_now_ns();
        pid_t pid = 0;
        int rr = container_run_with(&cli->ctx, id, &f.opts, &f.config, &pid, &err);
        if (tty_remote >= 0)
                close(tty_remote);
        if (rr < 0) {
                if (tty_local >= 0)
                        close(tty_local);
                return cli_fail(cli, &err);
        }
        cli_timing(cli, "create+start", t);
        if (f.detach)
                return 0;

        /* The init is our child (or, through the subreaper, our adopted one): wait for it directly. */
        int status = 0;
        t = cli_now_ns();
        int r = cli_foreground_wait(pid, tty_local, &status);
        if (r < 0) {
                errno = -r;
                r = cli_failf(cli, "wait for the init (pid %d) of %s: %m", (int)pid, id);
        }
        cli_timing(cli, "wait", t);
        t = cli_now_ns();
        struct coi_error derr = { 0 };
        if (coi_container_delete(&cli->ctx, id, true, &derr) < 0) {
                cli_fail(cli, &derr);
                return r ? 1 : cli_exit_code(status);
        }
        cli_timing(cli, "delete", t);
        return r ? 1 : cli_exit_code(status);
}
