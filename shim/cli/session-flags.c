/* session-flags.c — struct session_flags from a parsed command line: the global flags of the root's
 * table and the flags shell and run share (session-flags.h), with the checks of their values. */
#include "session-flags.h"

#include "limit-flags.h"
#include "net/net-nft.h"
#include "session/slots.h"
#include "util.h"

static const struct cli_flag *own_flag(const struct cli_call *call, const char *name)
{
        for (const struct cli_flag *fl = call->cmd->flags; fl && fl->name; fl++)
                if (streq(fl->name, name))
                        return fl;
        return NULL;
}

const char *session_own_str(const struct cli_call *call, const char *name)
{
        if (!own_flag(call, name))
                return NULL;
        const char *s = cli_str(call, name);
        return *s ? s : NULL;
}

bool session_own_bool(const struct cli_call *call, const char *name)
{
        return own_flag(call, name) && cli_bool(call, name);
}

static const char *nonempty(const char *s)
{
        return s && *s ? s : NULL;
}

int session_flags_from_call(const struct cli_call *call, struct session_flags *f)
{
        f->workspace = nonempty(cli_str(call, "workspace"));
        f->image = nonempty(cli_str(call, "image"));
        f->profile = nonempty(cli_str(call, "profile"));
        f->persistent = cli_bool(call, "persistent");
        long long slot = cli_int(call, "slot");
        if (slot < 0 || slot > SLOT_MAX)
                return cli_error(2, "invalid --slot \"%lld\": a number from 0 (auto) to %d", slot, SLOT_MAX);
        f->slot = (int)slot;
        /* --resume alone is "auto" (the newest session); --continue wins when both are given. */
        const char *resume = cli_changed(call, "continue") ? cli_str(call, "continue")
                             : cli_changed(call, "resume") ? cli_str(call, "resume")
                                                           : NULL;
        f->resume = resume != NULL;
        f->resume_id = resume && *resume && !streq(resume, "auto") ? resume : NULL;

        f->tool = session_own_str(call, "tool");
        if (f->tool && !streq(f->tool, "claude") && !streq(f->tool, "opencode"))
                return cli_error(2, "unknown tool \"%s\": claude or opencode", f->tool);
        f->backend = session_own_str(call, "backend");
        int r = session_check_backend(f);
        if (r)
                return r;
        f->network = session_own_str(call, "network");
        enum net_mode m;
        if (f->network && net_mode_from_string(f->network, &m) < 0)
                return cli_error(2, "invalid --network \"%s\": restricted, allowlist or open", f->network);
        if (own_flag(call, "env"))
                for (char *const *e = cli_strv(call, "env"); *e; e++) {
                        if (!strchr(*e, '=') || (*e)[0] == '=')
                                return cli_error(2, "invalid --env \"%s\": KEY=VALUE", *e);
                        if (strv_push(&f->env, *e) < 0)
                                return cli_error(1, "out of memory");
                }
        if (own_flag(call, "mount"))
                for (char *const *v = cli_strv(call, "mount"); *v; v++)
                        if (strv_push(&f->mounts, *v) < 0)
                                return cli_error(1, "out of memory");
        return limit_flags_from_call(call, f);
}

void session_flags_done(struct session_flags *f)
{
        strv_free(f->env);
        strv_free(f->mounts);
        strv_free(f->settings);
        f->env = f->mounts = f->settings = NULL;
}

int session_check_backend(const struct session_flags *f)
{
        if (!f->backend || streq(f->backend, "native"))
                return 0;
        if (streq(f->backend, "incus"))
                return cli_error(2, "the incus backend is not implemented yet");
        return cli_error(2, "invalid --backend \"%s\": native or incus", f->backend);
}
