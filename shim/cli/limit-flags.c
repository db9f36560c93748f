/* limit-flags.c — code-on-incus's --limit-* flags of `coi shell` and `coi run` turned into settings of
 * config keys (session_flags.settings), applied over the environment, the profile and the files. */
#include <stdio.h>

#include "limit-flags.h"
#include "util.h"

static const struct {
        const char *flag;
        const char *key;
} flag_keys[] = {
        { "limit-cpu", "limits.cpu.count" },
        { "limit-cpu-allowance", "limits.cpu.allowance" },
        { "limit-cpu-priority", "limits.cpu.priority" },
        { "limit-memory", "limits.memory.limit" },
        { "limit-memory-swap", "limits.memory.swap" },
        { "limit-memory-enforce", "limits.memory.enforce" },
        { "limit-disk-read", "limits.disk.read" },
        { "limit-disk-write", "limits.disk.write" },
        { "limit-disk-max", "limits.disk.max" },
        { "limit-disk-priority", "limits.disk.priority" },
        { "limit-processes", "limits.runtime.max_processes" },
        { "limit-duration", "limits.runtime.max_duration" },
};

int limit_flags_from_call(const struct cli_call *call, struct session_flags *f)
{
        for (size_t i = 0; i < ELEMENTSOF(flag_keys); i++) {
                const struct cli_flag *fl = NULL;
                for (const struct cli_flag *x = call->cmd->flags; x && x->name; x++)
                        if (streq(x->name, flag_keys[i].flag))
                                fl = x;
                if (!fl || !cli_changed(call, fl->name))
                        continue;
                char num[32];
                const char *value = fl->type == CLI_INT ? num : cli_str(call, fl->name);
                if (fl->type == CLI_INT)
                        snprintf(num, sizeof(num), "%lld", cli_int(call, fl->name));
                char flag[48];
                snprintf(flag, sizeof(flag), "--%s", fl->name);
                if (strv_push(&f->settings, flag_keys[i].key) < 0 || strv_push(&f->settings, value) < 0 ||
                    strv_push(&f->settings, flag) < 0)
                        return cli_error(1, "out of memory");
        }
        return 0;
}
