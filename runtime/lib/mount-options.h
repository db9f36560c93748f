/* mount-options.h — mount option words into struct oci_mount flags, and the device-rule summary of
 * linux.resources.devices. No JSON: oci-config*.c call these on what they parsed. */
#pragma once

#include "oci-config.h"

/* Applies one option word to m: flags, recursive attributes, propagation, bind, idmap, tmpcopyup; any other
 * word is appended to *data (filesystem-specific: "mode=755"). -ENOMEM on allocation failure. */
int mount_apply_option(struct oci_mount *m, const char *opt, char **data);
/* "shared", "rslave" … into MS_* (| MS_REC); -EINVAL if name is not a propagation. */
int mount_propagation_from_name(const char *name, unsigned long *ret);
/* Sets res->devices_allow_all and res->devices_standard from res->device_rules (devices: linux.devices). */
void oci_device_rules_summarize(struct oci_resources *res, const struct oci_device *devices,
                                size_t n_devices);
