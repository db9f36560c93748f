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

enum monitor_fd_kind {
        MONITOR_FD_OTHER,
        MONITOR_FD_SOCKET,
        MONITOR_FD_PIPE
};
struct monitor_fd {
        enum monitor_fd_kind kind;
        uint32_t inode; /* of the socket or pipe */
};
/* What pid's fds 0, 1 and 2 are (a socket, a pipe or fifo, other). */
void monitor_proc_stdio(pid_t pid, struct monitor_fd ret[3]);
/* The first fd of pid that is a socket whose inode is in the sorted list inodes; 0 when none. */
uint32_t monitor_proc_holds_socket(pid_t pid, const uint32_t *inodes, size_t n);
/* True when pid's executable is a shell or script interpreter (sh, bash, python3, perl, …, by name). */
bool monitor_proc_is_interpreter(pid_t pid);
/* pid's command line with spaces between the arguments (at most size-1 bytes), "" when gone. */
void monitor_proc_cmdline(pid_t pid, char *buf, size_t size);
/* The path of pid's executable as its namespace shows it, "" when gone. */
void monitor_proc_exe(pid_t pid, char *buf, size_t size);
/* rchar of pid: the bytes it read (files, pipes, sockets); 0 when gone. */
uint64_t monitor_proc_read_bytes(pid_t pid);
