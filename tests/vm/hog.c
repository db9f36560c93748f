/* hog.c — the runaway workloads of the VM's system-container checks (tests/vm/system-limits.sh), built
 * static into the test bundle: eat memory, fork, spin a CPU, write with direct I/O. Prints one line. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(clockid_t clock)
{
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Touches n MiB, one page at a time; an OOM kill ends it with SIGKILL. */
static int mem(long n)
{
        for (long i = 0; i < n; i++) {
                char *p = malloc(1 << 20);
                if (!p) {
                        printf("hog mem: malloc failed after %ld MiB\n", i);
                        return 1;
                }
                for (size_t o = 0; o < (1 << 20); o += 4096)
                        p[o] = 1;
        }
        printf("hog mem: %ld MiB touched, not killed\n", n);
        return 0;
}

/* Forks children that wait, until fork fails or n are made; prints how many and why it stopped. */
static int forks(long n)
{
        pid_t kids[4096];
        long k = 0;
        int e = 0;
        while (k < n && k < 4096) {
                pid_t p = fork();
                if (p < 0) {
                        e = errno;
                        break;
                }
                if (p == 0) {
                        pause();
                        _exit(0);
                }
                kids[k++] = p;
        }
        printf("hog fork: %ld children, then %s\n", k, e ? strerror(e) : "no failure");
        for (long i = 0; i < k; i++)
                kill(kids[i], SIGKILL);
        while (wait(NULL) > 0)
                ;
        return e == EAGAIN ? 0 : 1;
}

/* Spins for s seconds of wall time; prints the share of one CPU it got. */
static int spin(double s)
{
        double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
        volatile unsigned long x = 0;
        while (now(CLOCK_MONOTONIC) - w0 < s)
                for (int i = 0; i < 100000; i++)
                        x++;
        double w = now(CLOCK_MONOTONIC) - w0, c = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
        printf("hog spin: %.0f%% of one CPU over %.1f s\n", 100 * c / w, w);
        return 0;
}

/* Writes n MiB to path with O_DIRECT (no page cache between us and the disk); prints the rate. */
static int dio(const char *path, long n)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT, 0644);
        void *buf;
        if (fd < 0 || posix_memalign(&buf, 4096, 1 << 16) != 0) {
                printf("hog write: open %s: %s\n", path, strerror(errno));
                return 1;
        }
        memset(buf, 'x', 1 << 16);
        double w0 = now(CLOCK_MONOTONIC);
        for (long i = 0; i < n * 16; i++)
                if (write(fd, buf, 1 << 16) != 1 << 16) {
                        printf("hog write: %s: %s\n", path, strerror(errno));
                        return 1;
                }
        double w = now(CLOCK_MONOTONIC) - w0;
        printf("hog write: %ld MiB in %.2f s = %.0f KiB/s\n", n, w, (double)n * 1024 / w);
        return close(fd) < 0;
}

int main(int argc, char **argv)
{
        if (argc >= 3 && strcmp(argv[1], "mem") == 0)
                return mem(atol(argv[2]));
        if (argc >= 3 && strcmp(argv[1], "fork") == 0)
                return forks(atol(argv[2]));
        if (argc >= 3 && strcmp(argv[1], "spin") == 0)
                return spin(atof(argv[2]));
        if (argc >= 4 && strcmp(argv[1], "write") == 0)
                return dio(argv[2], atol(argv[3]));
        fprintf(stderr, "usage: hog mem MiB | fork N | spin SECONDS | write FILE MiB\n");
        return 2;
}
