/* net-internal.h — what net.c (setup, teardown, the forwarder), net-record.c (the record files) and
 * net-policy.c (live allow/deny, show, the blocked log) share and nobody else uses. */
#pragma once

#include <stdbool.h>

#include "net.h"

/* ---- net-record.c ---- */
/* Takes STATE_DIR/lock (making STATE_DIR and STATE_DIR/containers first): the fd that holds it. */
int net_lock_state(const struct net_options *o, struct coi_error *err);
/* STATE_DIR/containers/NAME, allocated. */
char *net_record_path(const char *state_dir, const char *name);

/* ---- net-policy.c ---- */
/* A name pattern: labels of [a-z0-9-_], optionally "*." in front. */
bool net_pattern_valid(const char *p);
