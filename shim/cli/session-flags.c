/* session-flags.c — the global flags of the session commands (code-on-incus's): -w, --slot, --image,
 * --persistent, --resume/--continue, --profile, --backend, --tool, --network, -e, --mount. */
#include <stdarg.h>

#include "net/net-nft.h"
#include "session/session-run.h"
#include "session-flags.h"
#include "session/slots.h"
#include "util.h"

static int flag_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int flag_error(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "coi: ");
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        return -1;
}

/* "--flag VALUE" / "--flag=VALUE" (also a short alias); 1 consumed, 0 not this flag, -1 missing value. */
static int take_value(int argc, char **argv, int *i, const char *flag, const char *shortf, const char **ret)
{
        const char *a = argv[*i];
        size_t n = strlen(flag);
        if (strncmp(a, flag, n) == 0 && a[n] == '=') {
                *ret = a + n + 1;
                return 1;
        }
        if (!streq(a, flag) && !(shortf && streq(a, shortf)))
                return 0;
        if (*i + 1 >= argc)
                return flag_error("flag needs an argument: %s", a);
        *ret = argv[++*i];
        return 1;
}

int session_flag(int argc, char **argv, int *i, struct session_flags *f)
{
        const char *a = argv[*i], *v = NULL;
        int r;
        if ((r = take_value(argc, argv, i, "--workspace", "-w", &f->workspace)) != 0)
                return r;
        if ((r = take_value(argc, argv, i, "--image", NULL, &f->image)) != 0)
                return r;
        if ((r = take_value(argc, argv, i, "--profile", NULL, &f->profile)) != 0)
                return r;
        if ((r = take_value(argc, argv, i, "--backend", NULL, &f->backend)) != 0)
                return r;
        if ((r = take_value(argc, argv, i, "--tool", NULL, &f->tool)) != 0)
                return r;
        if ((r = take_value(argc, argv, i, "--network", NULL, &f->network)) != 0) {
                enum net_mode m;
                if (r > 0 && net_mode_from_string(f->network, &m) < 0)
                        return flag_error("invalid --network \"%s\": restricted, allowlist or open",
                                          f->network);
                return r;
        }
        if ((r = take_value(argc, argv, i, "--slot", NULL, &v)) != 0) {
                if (r < 0)
                        return r;
                char *end;
                long n = strtol(v, &end, 10);
                if (!*v || *end || n < 0 || n > SLOT_MAX)
                        return flag_error("invalid --slot \"%s\": a number from 0 (auto) to %d", v, SLOT_MAX);
                f->slot = (int)n;
                return 1;
        }
        if ((r = take_value(argc, argv, i, "--env", "-e", &v)) != 0) {
                if (r < 0)
                        return r;
                if (!strchr(v, '=') || v[0] == '=')
                        return flag_error("invalid --env \"%s\": KEY=VALUE", v);
                return strv_push(&f->env, v) < 0 ? flag_error("out of memory") : 1;
        }
        if ((r = take_value(argc, argv, i, "--mount", NULL, &v)) != 0) {
                if (r < 0)
                        return r;
                return strv_push(&f->mounts, v) < 0 ? flag_error("out of memory") : 1;
        }
        if (streq(a, "--persistent")) {
                f->persistent = true;
                return 1;
        }
        if (streq(a, "--resume") || streq(a, "--continue")) {
                f->resume = true;
                return 1;
        }
        if (startswith(a, "--resume=") || startswith(a, "--continue=")) {
                f->resume = true;
                f->resume_id = strchr(a, '=') + 1;
                if (!*f->resume_id || streq(f->resume_id, "auto")) /* cobra's NoOptDefVal */
                        f->resume_id = NULL;
                return 1;
        }
        return 0;
}

void session_flags_done(struct session_flags *f)
{
        strv_free(f->env);
        strv_free(f->mounts);
        f->env = f->mounts = NULL;
}

int session_check_backend(const struct session_flags *f)
{
        if (!f->backend || streq(f->backend, "native"))
                return 0;
        if (streq(f->backend, "incus")) {
                fprintf(stderr, "coi: the incus backend is not implemented yet\n");
                return 2;
        }
        fprintf(stderr, "coi: invalid --backend \"%s\": native or incus\n", f->backend);
        return 2;
}
