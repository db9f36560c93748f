/* limit-flags.h — code-on-incus's --limit-* flags of `coi shell` and `coi run`: their table entries and
 * the config keys they set (over the environment, the profile and the files). */
#pragma once

#include "cli.h"
#include "session/session-run.h"

/* Entries for a command's flag list (before its { 0 }). */
/* clang-format off */
#define SESSION_LIMIT_FLAGS                                                                                  \
        { .name = "limit-cpu", .type = CLI_STRING,                                                           \
          .help = "CPUs: a count (\"2\") or a set (\"0-3\", \"0,1,3\"): [limits.cpu] count" },               \
        { .name = "limit-cpu-allowance", .type = CLI_STRING,                                                 \
          .help = "CPU time: \"50%\" of one CPU or \"25ms/100ms\": [limits.cpu] allowance" },                \
        { .name = "limit-cpu-priority", .type = CLI_INT, .help = "CPU priority 0-10: [limits.cpu] priority" },\
        { .name = "limit-memory", .type = CLI_STRING,                                                        \
          .help = "memory: \"2GiB\", \"512MiB\", \"50%\": [limits.memory] limit" },                          \
        { .name = "limit-memory-swap", .type = CLI_STRING,                                                   \
          .help = "swap: true, false or a size: [limits.memory] swap" },                                     \
        { .name = "limit-memory-enforce", .type = CLI_STRING,                                                \
          .help = "hard (memory.max: OOM kill) or soft (memory.high: reclaim): [limits.memory] enforce" },   \
        { .name = "limit-disk-read", .type = CLI_STRING,                                                     \
          .help = "disk read rate: \"10MiB/s\", \"1000iops\": [limits.disk] read" },                         \
        { .name = "limit-disk-write", .type = CLI_STRING,                                                    \
          .help = "disk write rate: \"10MiB/s\", \"1000iops\": [limits.disk] write" },                       \
        { .name = "limit-disk-max", .type = CLI_STRING,                                                      \
          .help = "read and write rate alike: [limits.disk] max" },                                          \
        { .name = "limit-disk-priority", .type = CLI_INT, .help = "disk priority 0-10: [limits.disk] priority" },\
        { .name = "limit-processes", .type = CLI_INT,                                                        \
          .help = "process limit (0 = none): [limits.runtime] max_processes" },                              \
        { .name = "limit-duration", .type = CLI_STRING,                                                      \
          .help = "stop the sandbox after \"2h\", \"30m\", \"1h30m\": [limits.runtime] max_duration" }
/* clang-format on */

/* The --limit-* flags given on call's command line as settings of f (key, value, flag). 0, or an exit
 * code after printing why. */
int limit_flags_from_call(const struct cli_call *call, struct session_flags *f);
