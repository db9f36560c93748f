/* run.c — `coi-runtime run [-d] [create flags] ID`: create + start; in the foreground it forwards
 * signals to the init, waits, deletes the container and exits with its code (128 + signal if killed). */
#include <errno.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "cli.h"

int cmd_run(struct cli *cli, int argc, char **argv)
{
        struct create_flags f;
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
        uint64_t t = cli_now_ns();
        pid_t pid = 0;
        if (coi_container_run(&cli->ctx, id, &f.opts, &pid, &err) < 0)
                return cli_fail(cli, &err);
        cli_timing(cli, "create+start", t);
        if (f.detach)
                return 0;

        /* The init is our child (or, through the subreaper, our adopted one): wait for it directly. */
        cli_forward_signals(pid);
        int status = 0;
        int r = 0;
        t = cli_now_ns();
        while (waitpid(pid, &status, 0) < 0) {
                if (errno != EINTR) {
                        r = cli_failf(cli, "wait for the init (pid %d) of %s: %m", (int)pid, id);
                        break;
                }
        }
        cli_forward_signals(0);
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
