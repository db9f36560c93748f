/* console.h — process.terminal: a pty from the container's devpts, its master handed to the console
 * socket (SCM_RIGHTS, runc's recvtty protocol), its slave made the controlling terminal and stdio. */
#pragma once

#include "coi-runtime.h"
#include "oci-config.h"

/* In the container (after pivot_root): opens the pty in the container's devpts, unlocks it, sets
 * process.consoleSize, sends the master to socket_fd and returns the slave (O_CLOEXEC). */
int console_create(int socket_fd, const struct oci_process *proc, int *ret_slave_fd, struct coi_error *err);
/* New session, slave as controlling terminal, and as fds 0, 1, 2. Closes slave_fd. */
int console_make_controlling(int slave_fd, struct coi_error *err);
