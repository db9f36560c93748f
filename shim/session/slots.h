/* slots.h — the slot (1..10) of a session: `coi shell` runs up to ten containers per workspace, named
 * <prefix><hash>-<slot>. Which containers exist comes from a callback, so the choice is testable. */
#pragma once

#include <stdbool.h>

#include "coi-runtime.h"

#define SLOT_MAX 10

enum slot_state {
        SLOT_FREE,    /* no container of that name */
        SLOT_STOPPED, /* the container exists and is stopped */
        SLOT_RUNNING, /* the container exists and runs */
};

/* Reports the state of container name; returns 0 or -errno with err set. */
typedef int (*slot_state_fn)(const char *name, enum slot_state *ret_state, void *userdata,
                             struct coi_error *err);

struct slot_request {
        const char *workspace; /* struct workspace.path */
        const char *prefix;    /* container name prefix, NULL = workspace_container_prefix(NULL) */
        int slot;              /* --slot N (1..10), 0 = choose */
        bool persistent;       /* reuse the lowest stopped container of this workspace, if any */
        slot_state_fn state;
        void *userdata;
};

struct slot_choice {
        int slot;
        bool moved;  /* --slot N was running, the next free slot above it was taken */
        bool reused; /* persistent: an existing stopped container is restarted */
};

/* Without --slot: persistent sessions reuse the lowest stopped container; otherwise the lowest slot
 * with no container at all. With --slot N: N unless its container runs, then the lowest free slot above
 * N (code-on-incus does the same). EBUSY naming the busy containers when nothing is free; EINVAL for
 * N outside 1..10. */
int slot_choose(const struct slot_request *req, struct slot_choice *ret, struct coi_error *err);
