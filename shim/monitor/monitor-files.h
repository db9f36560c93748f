/* monitor-files.h — reads of credential material in a container (~/.ssh, .env*, *.pem, ~/.aws,
 * ~/.config/gh, /proc/N/environ): fanotify close-after-read events on the container's own
 * mounts, from the host. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util.h"

/* A fanotify group (non-blocking) with a FAN_CLOSE_NOWRITE mark (a file opened for reading was closed:
 * opens for writing, such as creating a key, don't count) on every mount of pid's mount namespace that can
 * hold files (not /dev, /sys, cgroup); *ret_marks how many mounts are watched. */
int monitor_files_open(pid_t pid, int *ret_fd, size_t *ret_marks, struct coi_error *err);

/* Reads the pending events of fd: fn(pid, path) for each read (path as the container names it). Returns
 * how many events, or -errno. */
int monitor_files_read(int fd, void (*fn)(pid_t pid, const char *path, void *data), void *data);

/* What kind of credential path is ("ssh key", "env file", …) or NULL when it is none. */
const char *monitor_credential_kind(const char *path);
