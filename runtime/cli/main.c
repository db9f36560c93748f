/* main.c — coi-runtime: runc-compatible global flags, logging (text or JSON lines), error printing,
 * and dispatch to one file per verb. No runtime logic lives here. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

extern char **environ;

#define T0_ENV "_COI_RUNTIME_T0"

struct verb {
        const char *name;
        int (*fn)(struct cli *cli, int argc, char **argv);
        const char *help;
};

/* create, run and exec start processes that live in a container; they call cli_seal() once their
 * flags say which container, to run from a sealed copy of the binary when the container could
 * otherwise write it (CVE-2019-5736, see sealed.c). The verbs that never start anything skip it. */
static const struct verb verbs[] = {
        { "create", cmd_create, "create a container (its init waits for start)" },
        { "start", cmd_start, "run the user process of a created container" },
        { "run", cmd_run, "create and start a container, wait for it unless -d" },
        { "state", cmd_state, "print the OCI state of a container" },
        { "kill", cmd_kill, "send a signal to the init (or all processes) of a container" },
        { "delete", cmd_delete, "delete a stopped container (or any with --force)" },
        { "exec", cmd_exec, "run another process in a running container" },
        { "list", cmd_list, "list the containers" },
        { "ps", cmd_ps, "list the processes of a container" },
        { "pause", cmd_pause, "freeze all processes of a container" },
        { "resume", cmd_resume, "thaw a paused container" },
        { "update", cmd_update, "apply new resource limits (-r FILE)" },
        { "features", cmd_features, "print the runtime-spec features document" },
        { "spec", cmd_spec, "write a default config.json" },
};

int cli_seal(struct cli *cli, bool needed)
{
        if (!needed) {
                cli_timing(cli, "sealed binary not needed", cli->t0);
                return 0;
        }
        if (cli->timings) {
                char buf[32];
                snprintf(buf, sizeof(buf), "%llu", (unsigned long long)cli->t0);
                setenv(T0_ENV, buf, 1);
        }
        struct coi_error err = { 0 };
        if (coi_ensure_sealed_binary(cli->argv, environ, &err) < 0)
                return cli_fail(cli, &err);
        unsetenv(T0_ENV);
        cli_timing(cli, "sealed binary", cli->t0);
        return 0;
}

static void format_time(char *buf, size_t size)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        char date[40];
        strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf, size, "%s.%09ldZ", date, ts.tv_nsec);
}

void cli_json_string(FILE *f, const char *s)
{
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if (*p == '"' || *p == '\\')
                        fprintf(f, "\\%c", *p);
                else if (*p == '\n')
                        fputs("\\n", f);
                else if (*p == '\t')
                        fputs("\\t", f);
                else if (*p < 0x20)
                        fprintf(f, "\\u%04x", *p);
                else
                        fputc(*p, f);
        }
        fputc('"', f);
}

static const char *level_name(enum coi_log_level level)
{
        switch (level) {
        case COI_LOG_ERROR:
                return "error";
        case COI_LOG_WARNING:
                return "warning";
        case COI_LOG_INFO:
                return "info";
        case COI_LOG_DEBUG:
                return "debug";
        }
        return "info";
}

/* One line in the --log file: JSON like runc's logrus ({"level","msg","time"}), which conmon and
 * podman parse, or logrus' text form. */
static void log_line(struct cli *cli, enum coi_log_level level, const char *msg)
{
        char when[64];
        format_time(when, sizeof(when));
        FILE *f = cli->log_file;
        if (cli->log_json) {
                fprintf(f, "{\"level\":\"%s\",\"msg\":", level_name(level));
                cli_json_string(f, msg);
                fprintf(f, ",\"time\":\"%s\"}\n", when);
        } else {
                fprintf(f, "time=\"%s\" level=%s msg=", when, level_name(level));
                cli_json_string(f, msg);
                fputc('\n', f);
        }
        fflush(f);
}

/* An error, printed once: on stderr, and into the --log file. */
static void print_error(struct cli *cli, const char *msg)
{
        fprintf(stderr, "coi-runtime: %s\n", msg);
        if (cli->log_file)
                log_line(cli, COI_LOG_ERROR, msg);
}

static void on_log(enum coi_log_level level, const char *msg, void *userdata)
{
        struct cli *cli = userdata;
        if (cli->timings && strncmp(msg, "timing:", 7) == 0) {
                fprintf(stderr, "%s\n", msg);
                return;
        }
        /* The library logs an error only when nobody can return it any more: a container's init that
         * fails after start, whose stderr is the container's. */
        if (level == COI_LOG_ERROR)
                print_error(cli, msg);
        else if (cli->log_file)
                log_line(cli, level, msg);
        else
                fprintf(stderr, "coi-runtime: %s: %s\n", level_name(level), msg);
}

int cli_fail(struct cli *cli, const struct coi_error *err)
{
        print_error(cli, err->msg[0] ? err->msg : strerror(err->code ? err->code : EIO));
        return 1;
}

int cli_failf(struct cli *cli, const char *fmt, ...)
{
        struct coi_error err = { .code = EINVAL };
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err.msg, sizeof(err.msg), fmt, ap);
        va_end(ap);
        return cli_fail(cli, &err);
}

int cli_usage(struct cli *cli, const char *usage, const char *fmt, ...)
{
        struct coi_error err = { .code = EINVAL };
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(err.msg, sizeof(err.msg), fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < sizeof(err.msg))
                snprintf(err.msg + n, sizeof(err.msg) - (size_t)n, " (usage: coi-runtime %s %s)", cli->verb,
                         usage);
        return cli_fail(cli, &err);
}

uint64_t cli_now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void cli_timing(struct cli *cli, const char *what, uint64_t since_ns)
{
        if (!cli->timings)
                return;
        uint64_t now = cli_now_ns();
        fprintf(stderr, "timing: %s %-24s %8.3f ms (since start %8.3f ms)\n", cli->verb, what,
                (double)(now - since_ns) / 1e6, (double)(now - cli->t0) / 1e6);
}

static volatile sig_atomic_t forward_pid, forward_pending;
static const int forwarded[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH };

/* async-signal-safe: one kill(2). The target is our child until we reap it, so its pid can't be
 * reused. A signal that comes before the target exists is kept and sent once it does. */
static void forward_signal(int signo)
{
        if (forward_pid > 0)
                kill((pid_t)forward_pid, signo);
        else
                forward_pending = signo;
}

void cli_forward_signals(pid_t pid)
{
        static bool installed;
        if (!installed) {
                struct sigaction sa = { .sa_handler = forward_signal, .sa_flags = SA_RESTART };
                sigemptyset(&sa.sa_mask);
                for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
                        sigaction(forwarded[i], &sa, NULL);
                installed = true;
        }
        sigset_t set, old;
        sigemptyset(&set);
        for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
                sigaddset(&set, forwarded[i]);
        sigprocmask(SIG_BLOCK, &set, &old);
        forward_pid = pid;
        if (pid > 0 && forward_pending) {
                kill(pid, forward_pending);
                forward_pending = 0;
        }
        sigprocmask(SIG_SETMASK, &old, NULL);
}

int cli_exit_code(int status)
{
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return 1;
}

static const struct {
        const char *name;
        int signo;
} signal_names[] = {
        { "HUP", SIGHUP },       { "INT", SIGINT },   { "QUIT", SIGQUIT },     { "ILL", SIGILL },
        { "TRAP", SIGTRAP },     { "ABRT", SIGABRT }, { "IOT", SIGIOT },       { "BUS", SIGBUS },
        { "FPE", SIGFPE },       { "KILL", SIGKILL }, { "USR1", SIGUSR1 },     { "SEGV", SIGSEGV },
        { "USR2", SIGUSR2 },     { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },     { "TERM", SIGTERM },
        { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD }, { "CONT", SIGCONT },     { "STOP", SIGSTOP },
        { "TSTP", SIGTSTP },     { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },     { "URG", SIGURG },
        { "XCPU", SIGXCPU },     { "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },
        { "WINCH", SIGWINCH },   { "IO", SIGIO },     { "POLL", SIGPOLL },     { "PWR", SIGPWR },
        { "SYS", SIGSYS },
};

int cli_parse_signal(const char *s, int *ret_signo)
{
        char *end;
        errno = 0;
        long n = strtol(s, &end, 10);
        if (*s && !*end && !errno) {
                if (n <= 0 || n >= NSIG)
                        return -EINVAL;
                *ret_signo = (int)n;
                return 0;
        }
        const char *name = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
        for (size_t i = 0; i < sizeof(signal_names) / sizeof(signal_names[0]); i++)
                if (strcasecmp(name, signal_names[i].name) == 0) {
                        *ret_signo = signal_names[i].signo;
                        return 0;
                }
        /* RTMIN, RTMIN+n, RTMAX-n */
        if (strncasecmp(name, "RTMIN", 5) == 0 || strncasecmp(name, "RTMAX", 5) == 0) {
                bool min = strncasecmp(name, "RTMIN", 5) == 0;
                long off = 0;
                if (name[5]) {
                        off = strtol(name + 5, &end, 10);
                        if (*end || (min && off < 0) || (!min && off > 0))
                                return -EINVAL;
                }
                int signo = (int)((min ? SIGRTMIN : SIGRTMAX) + off);
                if (signo < SIGRTMIN || signo > SIGRTMAX)
                        return -EINVAL;
                *ret_signo = signo;
                return 0;
        }
        return -EINVAL;
}

int cli_read_file(const char *path, char **ret_data, struct coi_error *err)
{
        FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
        if (!f)
                return coi_error_set(err, errno, "open %s: %m", path);
        char *buf = NULL;
        size_t len = 0, cap = 0;
        for (;;) {
                if (len + 4096 + 1 > cap) {
                        cap = cap ? cap * 2 : 8192;
                        char *nb = realloc(buf, cap);
                        if (!nb) {
                                free(buf);
                                if (f != stdin)
                                        fclose(f);
                                return coi_error_set(err, ENOMEM, "read %s: %m", path);
                        }
                        buf = nb;
                }
                size_t n = fread(buf + len, 1, cap - len - 1, f);
                len += n;
                if (n == 0)
                        break;
        }
        bool failed = ferror(f);
        if (f != stdin)
                fclose(f);
        if (failed) {
                free(buf);
                return coi_error_set(err, EIO, "read %s: I/O error", path);
        }
        buf[len] = '\0';
        *ret_data = buf;
        return 0;
}

void cli_getopt_reset(void)
{
        optind = 0; /* glibc: 0 re-initialises completely (also the "+" mode) */
        opterr = 0;
}

static void usage(FILE *f)
{
        fprintf(f, "usage: coi-runtime [global flags] COMMAND [flags] [ID] [args…]\n\n"
                   "global flags:\n"
                   "  --root DIR             state directory (default " COI_RUNTIME_STATE_ROOT ")\n"
                   "  --log FILE             write log messages to FILE\n"
                   "  --log-format text|json format of the --log file (json: one object per line)\n"
                   "  --debug                log debug messages\n"
                   "  --systemd-cgroup       refused: coi-runtime manages cgroupfs directly\n"
                   "  --cgroup-best-effort   a missing cgroup controller is a warning, not an error\n"
                   "  --timings              print per-phase times on stderr\n"
                   "  --version              print the version\n\ncommands:\n");
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
                fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].help);
}

enum {
        OPT_ROOT = 0x100,
        OPT_LOG,
        OPT_LOG_FORMAT,
        OPT_DEBUG,
        OPT_SYSTEMD_CGROUP,
        OPT_VERSION,
        OPT_TIMINGS,
        OPT_BEST_EFFORT,
        OPT_IGNORED_ARG,
        OPT_IGNORED,
        OPT_HELP,
};

/* SIGPIPE is caught, not ignored: a write to a hook or socket whose reader is gone then fails with
 * EPIPE instead of killing us, and, unlike SIG_IGN, a handler is reset by execve, so the containers
 * and hooks we start get the default disposition. */
static void on_sigpipe(int signo)
{
}

int main(int argc, char **argv)
{
        struct sigaction pipe_sa = { .sa_handler = on_sigpipe };
        sigemptyset(&pipe_sa.sa_mask);
        sigaction(SIGPIPE, &pipe_sa, NULL);

        struct cli cli = {
                .ctx = { .log_level = COI_LOG_WARNING },
                .t0 = cli_now_ns(),
        };
        const char *t0 = getenv(T0_ENV);
        if (t0) {
                cli.t0 = strtoull(t0, NULL, 10);
                unsetenv(T0_ENV);
        }
        cli.argv = argv;
        cli.ctx.log = on_log;
        cli.ctx.log_data = &cli;

        static const struct option options[] = {
                { "root", required_argument, NULL, OPT_ROOT },
                { "log", required_argument, NULL, OPT_LOG },
                { "log-format", required_argument, NULL, OPT_LOG_FORMAT },
                { "debug", no_argument, NULL, OPT_DEBUG },
                { "systemd-cgroup", no_argument, NULL, OPT_SYSTEMD_CGROUP },
                { "version", no_argument, NULL, OPT_VERSION },
                { "timings", no_argument, NULL, OPT_TIMINGS },
                { "cgroup-best-effort", no_argument, NULL, OPT_BEST_EFFORT },
                /* runc flags podman/containerd may pass that mean nothing here. */
                { "rootless", required_argument, NULL, OPT_IGNORED_ARG },
                { "criu", required_argument, NULL, OPT_IGNORED_ARG },
                { "log-level", required_argument, NULL, OPT_IGNORED_ARG },
                { "help", no_argument, NULL, OPT_HELP },
                {},
        };
        cli.verb = "";
        cli_getopt_reset();
        int c;
        while ((c = getopt_long(argc, argv, "+hv", options, NULL)) != -1) {
                switch (c) {
                case OPT_ROOT:
                        cli.ctx.state_root = optarg;
                        break;
                case OPT_LOG:
                        cli.log_path = optarg;
                        break;
                case OPT_LOG_FORMAT:
                        if (strcmp(optarg, "json") == 0)
                                cli.log_json = true;
                        else if (strcmp(optarg, "text") == 0)
                                cli.log_json = false;
                        else
                                return cli_failf(&cli, "--log-format %s: expected text or json", optarg);
                        break;
                case OPT_DEBUG:
                        cli.debug = true;
                        cli.ctx.log_level = COI_LOG_DEBUG;
                        break;
                case OPT_SYSTEMD_CGROUP:
                        cli.ctx.systemd_cgroup = true;
                        break;
                case 'v':
                case OPT_VERSION:
                        printf("coi-runtime version %s\nspec: 1.1.0\n", COI_VERSION);
                        return 0;
                case OPT_TIMINGS:
                        cli.timings = true;
                        cli.ctx.timings = true;
                        if (cli.ctx.log_level < COI_LOG_INFO)
                                cli.ctx.log_level = COI_LOG_INFO;
                        break;
                case OPT_BEST_EFFORT:
                        cli.ctx.cgroup_best_effort = true;
                        break;
                case OPT_IGNORED_ARG:
                case OPT_IGNORED:
                        break;
                case 'h':
                case OPT_HELP:
                        usage(stdout);
                        return 0;
                default:
                        return cli_failf(&cli, "unknown global flag %s (see coi-runtime --help)",
                                         argv[optind - 1]);
                }
        }
        if (cli.log_path) {
                cli.log_file = fopen(cli.log_path, "ae");
                if (!cli.log_file)
                        return cli_failf(&cli, "open log file %s: %s", cli.log_path, strerror(errno));
        }
        if (optind >= argc) {
                usage(stderr);
                return cli_failf(&cli, "no command given");
        }
        const char *name = argv[optind];
        const struct verb *verb = NULL;
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
                if (strcmp(verbs[i].name, name) == 0)
                        verb = &verbs[i];
        if (!verb)
                return cli_failf(&cli, "unknown command \"%s\" (see coi-runtime --help)", name);
        cli.verb = verb->name;

        int r = verb->fn(&cli, argc - optind, argv + optind);
        cli_timing(&cli, "total", cli.t0);
        if (cli.log_file)
                fclose(cli.log_file);
        return r;
}
