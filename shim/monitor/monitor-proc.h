/* monitor-proc.h — the processes of a container's cgroup (its whole subtree) seen from the host: pids,
 * what their stdin/stdout/stderr are (a socket's inode), command line and executable; io counters. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

/* Every pid in cgroup dir cg and below; *ret allocated (may be empty). */
int monitor_cgroup_pids(const char *cg, pid_t **ret, size_t *ret_n, struct coi_error *err);

/* The socket inodes of pid's fds 0, 1 and 2 (0 where that fd is no socket or is gone). */
void monitor_proc_stdio_sockets(pid_t pid, uint32_t ret[3]);
/* pid's command line with spaces between the arguments (at most size-1 bytes), "" when gone. */
void monitor_proc_cmdline(pid_t pid, char *buf, size_t size);
/* The path of pid's executable as its namespace shows it, "" when gone. */
void monitor_proc_exe(pid_t pid, char *buf, size_t size);
/* rchar + wchar … only rchar: bytes pid read (files, pipes, sockets); 0 when gone. */
uint64_t monitor_proc_read_bytes(pid_t pid);
