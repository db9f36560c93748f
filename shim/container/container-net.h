/* container-net.h — a system container's network as the container layer sees it: the policy recorded
 * beside its metadata (network.json), attached between the runtime's create and start, detached when
 * it stops. The plumbing itself is shim/net.h. Internal to container.c. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "container.h"

#define CONTAINER_NETWORK_FILE "network.json"

/* Writes NAME/network.json (net_policy_record_save_at: the one policy format) atomically under the
 * store's containers/ fd; net NULL removes it. */
int container_network_save(int cdirfd, const char *name, const struct container_network *net,
                           struct coi_error *err);

/* The recorded policy, or *ret_has = false when the container has none (no network, only lo). */
struct container_network_record {
        struct container_network net;
        char **allowed; /* owns net.allowed */
};
int container_network_load(int cdirfd, const char *name, struct container_network_record *ret, bool *ret_has,
                           struct coi_error *err);
void container_network_record_done(struct container_network_record *rec);

/* Gives the container whose init is pid (created, not started yet) its veth, address, route and rules,
 * and points rootfs/etc/resolv.conf at the DNS forwarder, owned by the container's root (ids). A leftover
 * network of an earlier run under the same name is removed first. */
int container_network_attach(const char *name, pid_t pid, const char *rootfs,
                             const struct idmap_allocation *ids, const struct container_network *net,
                             struct coi_error *err);

/* Removes the container's network if it has one; one that is not there is success, and nothing is made
 * on a host where coi has no network state. */
int container_network_detach(const char *name, struct coi_error *err);
