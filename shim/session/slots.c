/* slots.c — choosing a session's slot from the states of the workspace's ten possible containers.
 * Owns no state: the caller's callback says which containers exist. */
#include <stdio.h>
#include <string.h>

#include "slots.h"
#include "util.h"
#include "workspace.h"

static const char *state_name(enum slot_state s)
{
        return s == SLOT_RUNNING ? "running" : s == SLOT_STOPPED ? "stopped" : "free";
}

int slot_choose(const struct slot_request *req, struct slot_choice *ret, struct coi_error *err)
{
        if (req->slot < 0 || req->slot > SLOT_MAX)
                return coi_error_set(err, EINVAL, "--slot %d: slots are 1 to %d", req->slot, SLOT_MAX);

        enum slot_state states[SLOT_MAX + 1];
        char *names[SLOT_MAX + 1] = { 0 };
        int r = 0;
        for (int s = 1; s <= SLOT_MAX && r == 0; s++) {
                names[s] = workspace_container_name(req->workspace, s, req->prefix);
                if (!names[s]) {
                        r = coi_error_set(err, ENOMEM, "slot %d: out of memory", s);
                        break;
                }
                states[s] = SLOT_FREE;
                r = req->state(names[s], &states[s], req->userdata, err);
        }

        struct slot_choice c = { 0 };
        if (r == 0 && req->slot == 0) {
                for (int s = 1; s <= SLOT_MAX && req->persistent && !c.slot; s++)
                        if (states[s] == SLOT_STOPPED)
                                c = (struct slot_choice){ .slot = s, .reused = true };
                for (int s = 1; s <= SLOT_MAX && !c.slot; s++)
                        if (states[s] == SLOT_FREE)
                                c.slot = s;
        } else if (r == 0) {
                if (states[req->slot] != SLOT_RUNNING)
                        c = (struct slot_choice){ .slot = req->slot,
                                                  .reused = states[req->slot] == SLOT_STOPPED };
                for (int s = req->slot + 1; s <= SLOT_MAX && !c.slot; s++)
                        if (states[s] == SLOT_FREE)
                                c = (struct slot_choice){ .slot = s, .moved = true };
        }

        if (r == 0 && !c.slot) {
                /* Name every container in the way, so the user knows what to stop or kill. */
                char busy[SLOT_MAX * 64] = "";
                size_t o = 0;
                int first = req->slot ? req->slot : 1;
                for (int s = first; s <= SLOT_MAX; s++)
                        o += (size_t)snprintf(busy + o, o < sizeof(busy) ? sizeof(busy) - o : 0, "%s%s (%s)",
                                              o ? ", " : "", names[s], state_name(states[s]));
                if (req->slot)
                        r = coi_error_set(err, EBUSY,
                                          "slot %d of workspace %s is busy and no slot above it is "
                                          "free: %s",
                                          req->slot, req->workspace, busy);
                else
                        r = coi_error_set(err, EBUSY, "all %d slots of workspace %s are in use: %s", SLOT_MAX,
                                          req->workspace, busy);
        }
        for (int s = 1; s <= SLOT_MAX; s++)
                free(names[s]);
        if (r == 0)
                *ret = c;
        return r;
}
