/* run.c — `coi-runtime run [-d] [create flags] ID`: create + start; in the foreground it forwards
 * signals to the init, waits, deletes the container and exits with its code (128 + signal if killed). */
#include <sys/prctl.h>

#include "cli.h"

int cmd_run(struct cli *cli, int argc, char **argv)
{
        struct create_flags f;
        int i = cli_parse_create_flags(cli, argc, argv, true, &f);
        if (i < 0)
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
        if (coi_container_create(&cli->ctx, id, &f.opts, &err) < 0)
                return cli_fail(cli, &err);
        cli_timing(cli, "create", t);

        struct coi_state st = { 0 };
        if (!f.detach && coi_container_state(&cli->ctx, id, &st, &err) == 0) {
                cli_forward_signals(st.pid);
                coi_state_free(&st);
        }
        t = cli_now_ns();
        if (coi_container_start(&cli->ctx, id, &err) < 0) {
                struct coi_error derr = { 0 };
                cli_fail(cli, &err);
                coi_container_delete(&cli->ctx, id, true, &derr);
                return 1;
        }
        cli_timing(cli, "start", t);
        if (f.detach)
                return 0;

        int status = 0;
        t = cli_now_ns();
        int r = coi_container_wait(&cli->ctx, id, &status, &err);
        cli_forward_signals(0);
        if (r < 0)
                cli_fail(cli, &err);
        cli_timing(cli, "wait", t);
        t = cli_now_ns();
        struct coi_error derr = { 0 };
        if (coi_container_delete(&cli->ctx, id, true, &derr) < 0) {
                cli_fail(cli, &derr);
                return r < 0 ? 1 : cli_exit_code(status);
        }
        cli_timing(cli, "delete", t);
        return r < 0 ? 1 : cli_exit_code(status);
}
