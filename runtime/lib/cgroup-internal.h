/* cgroup-internal.h — what cgroup.c lends cgroup-limits.c: opening a cgroup directory safely and reading
 * its controller list. Not part of the library's API. */
#pragma once

#include <stdbool.h>

#include "cgroup.h"

/* The directory to act on: the caller's dirfd, checked to be on cgroup2, or else path opened into *own_fd
 * (which the caller closes). action completes the refusal: "…; refusing to <action>". */
int cgroup_dir_fd(int dirfd, const char *path, const char *action, int *own_fd, struct coi_error *err);
/* This cgroup's cgroup.controllers, trailing blanks trimmed; *ret is malloc'd. */
int cgroup_read_controllers(int dirfd, const char *path, char **ret, struct coi_error *err);
/* Whether word is one of the space- or newline-separated words of list (NULL: none). */
bool cgroup_list_has(const char *list, const char *word);
