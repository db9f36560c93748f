/* run.c — `coi-runtime run [-d] [create flags] ID`: create + start; in the foreground it forwards
 * signals to the init, waits, deletes the container and exits with its code (128 + signal if killed). */
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#include "cli.h"

static volatile pid_t forward_pid;

/* async-signal-safe: one kill(2). The init is our child until we reap it, so its pid can't be reused. */
static void forward_signal(int signo)
{
        if (forward_pid > 0)
                kill(forward_pid, signo);
}

static const int forwarded[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH };

static void forward_signals(pid_t pid)
{
        forward_pid = pid;
        struct sigaction sa = { .sa_handler = forward_signal, .sa_flags = SA_RESTART };
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
                sigaction(forwarded[i], &sa, NULL);
}

static uint64_t mono_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

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

        uint64_t t = mono_ns();
        if (coi_container_create(&cli->ctx, id, &f.opts, &err) < 0)
                return cli_fail(cli, &err);
        cli_timing(cli, "create", t);

        struct coi_state st = { 0 };
        if (!f.detach && coi_container_state(&cli->ctx, id, &st, &err) == 0) {
                forward_signals(st.pid);
                coi_state_free(&st);
        }
        t = mono_ns();
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
        t = mono_ns();
        int r = coi_container_wait(&cli->ctx, id, &status, &err);
        forward_pid = 0;
        if (r < 0)
                cli_fail(cli, &err);
        cli_timing(cli, "wait", t);
        t = mono_ns();
        struct coi_error derr = { 0 };
        if (coi_container_delete(&cli->ctx, id, true, &derr) < 0) {
                cli_fail(cli, &derr);
                return r < 0 ? 1 : cli_exit_code(status);
        }
        cli_timing(cli, "delete", t);
        return r < 0 ? 1 : cli_exit_code(status);
}
