/* cli.h — what the verbs of coi-runtime share: the parsed global flags (with the library context),
 * error reporting (printed once, logged as JSON when asked) and small parsing helpers. */
#pragma once

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "coi-runtime.h"
#include "create-config.h"

struct cli {
        struct coi_context ctx;
        const char *log_path;
        bool log_json;
        bool debug;
        bool timings;
        FILE *log_file; /* NULL: messages go to stderr */
        uint64_t t0;    /* CLOCK_MONOTONIC at the first main() (before a sealing re-exec), for --timings */
        const char *verb;
        char **argv; /* main's, for the sealing re-exec */
};

/* Where a sealing re-exec passes the CLOCK_MONOTONIC of the first main() on, for --timings. */
#define T0_ENV "_COI_RUNTIME_T0"

/* The library's log callback (ctx.log_data is the struct cli): messages go to stderr or the --log file;
 * an error (COI_LOG_ERROR) is printed as cli_fail prints one. */
void cli_on_log(enum coi_log_level level, const char *msg, void *userdata);

/* Re-executes from a sealed copy of the binary when needed (coi_sealed_binary_needed*); returns 0 or,
 * after printing the error, the exit code 1. */
int cli_seal(struct cli *cli, bool needed);
struct create_flags;
/* cli_seal for create/run: loads the bundle's config into f->config and asks the library whether its
 * container needs the sealed copy; the create then runs that very config. */
int cli_seal_for_create(struct cli *cli, struct create_flags *f);

/* Prints "coi-runtime: <msg>" once on stderr (and into the --log file); returns 1, the exit code. */
int cli_fail(struct cli *cli, const struct coi_error *err);
int cli_failf(struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A usage error: the message plus "see coi-runtime VERB --help". */
int cli_usage(struct cli *cli, const char *usage, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* --timings: prints "timing: <what> X ms (since start Y ms)" on stderr. */
void cli_timing(struct cli *cli, const char *what, uint64_t since_ns);
/* The wait status of a process as a shell exit code: the code, or 128 + signal. */
int cli_exit_code(int status);
/* "9", "KILL", "SIGKILL", "sigkill", "SIGRTMIN+3" → signal number. */
int cli_parse_signal(const char *s, int *ret_signo);
/* Reads a whole file, or stdin for "-". */
int cli_read_file(const char *path, char **ret_data, struct coi_error *err);
/* Prints s as a JSON string (with quotes) to f. */
void cli_json_string(FILE *f, const char *s);

/* Forwards SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1/2, SIGALRM and SIGWINCH to pid. Call it with 0
 * before the target exists (signals are then kept and sent when it is given) and after it is gone. */
void cli_forward_signals(pid_t pid);
uint64_t cli_now_ns(void);

/* getopt_long state is global: every verb restarts it. */
void cli_getopt_reset(void);

/* tty.c: a foreground process.terminal without --console-socket. */
int cli_tty_socketpair(int *ret_local, int *ret_remote);
/* The pty master the container sent over local, or -1 if none came (process.terminal is false). */
int cli_tty_receive_master(int local);
/* The foreground end of `run` and `exec`: signals forwarded to pid, the pty relayed if one comes over
 * tty_local (closed here; -1: none), then pid waited for. 0 with its wait status, or -errno. */
int cli_foreground_wait(pid_t pid, int tty_local, int *ret_status);

int cmd_create(struct cli *cli, int argc, char **argv);
int cmd_start(struct cli *cli, int argc, char **argv);
int cmd_run(struct cli *cli, int argc, char **argv);
int cmd_state(struct cli *cli, int argc, char **argv);
int cmd_kill(struct cli *cli, int argc, char **argv);
int cmd_delete(struct cli *cli, int argc, char **argv);
int cmd_exec(struct cli *cli, int argc, char **argv);
int cmd_list(struct cli *cli, int argc, char **argv);
int cmd_ps(struct cli *cli, int argc, char **argv);
int cmd_pause(struct cli *cli, int argc, char **argv);
int cmd_resume(struct cli *cli, int argc, char **argv);
int cmd_update(struct cli *cli, int argc, char **argv);
int cmd_features(struct cli *cli, int argc, char **argv);
int cmd_spec(struct cli *cli, int argc, char **argv);

/* Flags shared by create and run. */
struct create_flags {
        struct coi_create_options opts;
        bool detach;                 /* run only */
        struct create_config config; /* loaded by cli_seal_for_create; create/run take it over */
};
void create_flags_done(struct create_flags *f);
/* Parses create/run flags; returns the index of the container id in argv, or -1 after printing. */
int cli_parse_create_flags(struct cli *cli, int argc, char **argv, bool is_run, struct create_flags *ret);
