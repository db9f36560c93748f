/* cli.c — what the verbs of coi-runtime share: error printing and the --log file (text or JSON lines),
 * the sealed re-exec, --timings, signal forwarding, exit codes, signal names, reading a file. */
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

void cli_on_log(enum coi_log_level level, const char *msg, void *userdata)
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
