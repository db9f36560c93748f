/* limits.h — the [limits.*] values of a config checked and turned into numbers: sizes, rates, CPU sets,
 * CPU time, priorities, durations; what a container's cgroup v2 limits are made of. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

/* What "50%" of memory and a CPU count mean on this host. */
struct limits_host {
        uint64_t mem_total;    /* bytes (MemTotal) */
        char cpus_online[256]; /* /sys/devices/system/cpu/online: "0-3", "0,2-5" */
};

/* One disk rate: bytes per second or I/O operations per second (0 = none). */
struct limits_rate {
        uint64_t bps;
        uint64_t iops;
};

struct limits {
        /* cpu */
        char cpuset[256];      /* cpuset.cpus ("" = all) */
        uint64_t cpu_quota_us; /* cpu.max "QUOTA PERIOD" (0 = none) */
        uint64_t cpu_period_us;
        uint64_t cpu_weight; /* cpu.weight 1…10000 (0 = kernel default) */
        /* memory */
        uint64_t memory_bytes; /* 0 = none */
        bool memory_hard;      /* memory.max (hard) or memory.high (soft) */
        int64_t swap_bytes;    /* memory.swap.max; -1 = not limited */
        /* disk */
        struct limits_rate read, write;
        uint64_t io_weight;  /* io.weight 1…10000 (0 = kernel default) */
        char tmpfs_size[32]; /* size= of /tmp: bytes or "N%" ("" = the kernel's default) */
        /* runtime */
        uint64_t max_duration_ms; /* 0 = none */
        int64_t max_processes;    /* pids.max (0 = none) */
        bool auto_stop;           /* at max_duration: stop (else only say so) */
        bool stop_graceful;       /* stop: systemd's clean shutdown first (else kill) */
        bool best_effort;         /* a controller the host lacks: warn and skip, not fail */
};

/* MemTotal and the online CPUs of this machine. */
int limits_host_read(struct limits_host *ret, struct coi_error *err);

/* Checks every [limits.*] key of c and fills ret. An invalid value fails with the key, the value, where
 * it came from and the accepted forms: limits.memory.limit = "2 GB" (flag --limit-memory): not a size;
 * use "512MiB", "2GiB", "4G" or "50%". */
int limits_from_config(const struct config *c, const struct limits_host *host, struct limits *ret,
                       struct coi_error *err);

/* True when l asks for any cgroup limit (cpu, memory, pids, io). */
bool limits_any_cgroup(const struct limits *l);
/* True when l asks for anything: a cgroup limit, the size of /tmp, a max_duration. */
bool limits_any(const struct limits *l);

/* The cgroup controllers l needs, each with the first config key that needs it; returns how many. */
struct limits_need {
        const char *controller; /* "cpu", "cpuset", "memory", "pids", "io" */
        const char *key;        /* "limits.memory.limit" */
};
size_t limits_needs(const struct limits *l, struct limits_need ret[8]);
/* Removes every limit that needs controller (best effort on a host that lacks it). */
void limits_drop_controller(struct limits *l, const char *controller);

/* Text forms, for messages and `coi container info`: "64 MiB", "1h30m", … (buf returned). */
const char *limits_format_bytes(uint64_t v, char *buf, size_t size);
const char *limits_format_duration(uint64_t ms, char *buf, size_t size);

/* Parsers the checks above use, exposed for tests. 0 or -EINVAL (nothing set in err). */
int limits_parse_size(const char *s, uint64_t percent_of, uint64_t *ret);
int limits_parse_rate(const char *s, struct limits_rate *ret);
int limits_parse_duration(const char *s, uint64_t *ret_ms);
