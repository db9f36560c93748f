/* cmd-network.c — the `coi network` verbs: take the parsed flags, call one net.h function, print. Owns
 * no state; everything it changes goes through net.c. coi's own: code-on-incus 0.8 has no network
 * command. */
#include <arpa/inet.h>
#include <stdlib.h>

#include "commands.h"
#include "net/net.h"

static int fail(const struct coi_error *err)
{
        return cli_error(1, "network: %s", err->msg);
}
/* -c NAME, or the only container with a network. */
static int pick_container(const struct net_options *o, const char *given, char **ret, struct coi_error *err)
{
        if (given) {
                *ret = strdup(given);
                return *ret ? 0 : coi_error_set(err, ENOMEM, "container name");
        }
        _cleanup_strv_ char **names = NULL;
        int r = net_record_list(o->state_dir, &names, err);
        if (r < 0)
                return r;
        if (strv_length(names) != 1)
                return coi_error_set(err, EINVAL, "%zu containers have a network: name one with -c NAME",
                                     strv_length(names));
        *ret = strdup(names[0]);
        return *ret ? 0 : coi_error_set(err, ENOMEM, "container name");
}

static int change(const struct cli_call *call, bool allow)
{
        struct net_options o;
        net_options_init(&o, true);
        const char *container = cli_str(call, "container");
        struct coi_error err = { 0 };
        _cleanup_free_ char *name = NULL;
        if (pick_container(&o, *container ? container : NULL, &name, &err) < 0)
                return fail(&err);
        const char *target = call->args[0];
        int r = allow ? net_allow(&o, name, target, &err) : net_deny(&o, name, target, &err);
        return r < 0 ? fail(&err) : 0;
}

static int allow_run(const struct cli_call *call)
{
        return change(call, true);
}

static int deny_run(const struct cli_call *call)
{
        return change(call, false);
}

static int show_run(const struct cli_call *call)
{
        struct net_options o;
        net_options_init(&o, true);
        struct coi_error err = { 0 };
        _cleanup_free_ char *out = NULL;
        bool json = streq(cli_str(call, "format"), "json");
        if (net_show(&o, call->nargs ? call->args[0] : NULL, json, &out, &err) < 0)
                return fail(&err);
        fputs(out, stdout);
        return 0;
}

struct follow {
        const char *prefix; /* "coi NAME " or NULL */
};

static int print_packet(const struct net_blocked_packet *p, void *data)
{
        const struct follow *f = data;
        if (f->prefix && !streq(p->prefix, f->prefix))
                return 0;
        char name[64] = "", src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN];
        sscanf(p->prefix, "coi %63s", name);
        const char *proto = p->proto == 6 ? "tcp" : p->proto == 17 ? "udp" : p->proto == 1 ? "icmp" : "ip";
        printf("%lld.%03ld %s %s -> %s %s", (long long)p->time.tv_sec, p->time.tv_nsec / 1000000, name,
               net_ipv4_format(p->saddr, src), net_ipv4_format(p->daddr, dst), proto);
        if (p->dport)
                printf("/%u", p->dport);
        printf(" rejected\n");
        fflush(stdout);
        return 0;
}

static int log_run(const struct cli_call *call)
{
        struct net_options o;
        net_options_init(&o, true);
        const char *name = call->nargs ? call->args[0] : NULL;
        struct coi_error err = { 0 };
        if (cli_bool(call, "follow")) {
                int timeout_ms = -1;
                if (cli_changed(call, "timeout")) {
                        const char *t = cli_str(call, "timeout");
                        char *end;
                        double s = strtod(t, &end);
                        if (!*t || *end || s < 0 || s > 86400 * 365)
                                return cli_error(2, "--timeout must be a number of seconds, got \"%s\"", t);
                        timeout_ms = (int)(s * 1000);
                }
                _cleanup_free_ char *prefix = name ? xasprintf("coi %s ", name) : NULL;
                struct follow f = { .prefix = prefix };
                return net_nflog_follow(o.log_group, timeout_ms, print_packet, &f, &err) < 0 ? fail(&err) : 0;
        }
        _cleanup_free_ char *out = NULL;
        if (net_blocked_read(&o, name, &out, &err) < 0)
                return fail(&err);
        fputs(out, stdout);
        return 0;
}

static int attach_run(const struct cli_call *call)
{
        struct net_options o;
        net_options_init(&o, true);
        struct net_container_config cfg = { .netns_fd = -1 };
        _cleanup_close_ int netns_fd = -1;
        const char *netns = cli_str(call, "netns");
        long long pid = cli_int(call, "pid");
        if (pid <= 0 && !*netns)
                return cli_error(2, "network attach: --pid PID or --netns PATH is required");
        if (pid < 0 || pid > INT32_MAX)
                return cli_error(2, "network attach: --pid must be a process id, got %lld", pid);
        if (*netns) {
                netns_fd = open(netns, O_RDONLY | O_CLOEXEC);
                if (netns_fd < 0)
                        return cli_error(1, "network: open %s: %m", netns);
        }
        if (cli_changed(call, "mode"))
                net_mode_from_string(cli_str(call, "mode"), &cfg.policy.mode); /* one of the choices */
        cfg.pid = (pid_t)pid;
        cfg.policy.allow_local_network_access = cli_bool(call, "allow-local-network-access");
        cfg.policy.block_metadata_endpoint = cli_bool(call, "block-metadata-endpoint");
        cfg.policy.block_private_networks = cli_bool(call, "block-private-networks");
        cfg.name = call->args[0];
        cfg.netns_fd = netns_fd;
        cfg.allowed = (char **)cli_strv(call, "allow");
        struct coi_error err = { 0 };
        struct net_container_info info;
        if (net_container_setup(&o, &cfg, &info, &err) < 0)
                return fail(&err);
        char ip[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
        printf("%s/%d gateway %s dns %s interface %s\n", net_ipv4_format(info.addr, ip), info.prefix_len,
               net_ipv4_format(info.gateway, gw), gw, info.host_ifname);
        return 0;
}

static int detach_run(const struct cli_call *call)
{
        struct net_options o;
        net_options_init(&o, true);
        struct coi_error err = { 0 };
        return net_container_teardown(&o, call->args[0], &err) < 0 ? fail(&err) : 0;
}

static int prune_run(const struct cli_call *call)
{
        struct net_options o;
        net_options_init(&o, true);
        struct coi_error err = { 0 };
        int n = net_orphans_remove(&o, &err);
        if (n < 0)
                return fail(&err);
        printf("removed %d orphaned container network%s\n", n, n == 1 ? "" : "s");
        return 0;
}

/* ---- the table ---- */

static const struct cli_flag change_flags[] = {
        { .name = "container",
          .shorthand = 'c',
          .type = CLI_STRING,
          .help = "the container (default: the only one with a network)" },
        { 0 },
};

static const struct cli_flag show_flags[] = {
        { .name = "format",
          .shorthand = 'f',
          .type = CLI_STRING,
          .def = "text",
          .choices = cli_text_json,
          .help = "text or json" },
        { 0 },
};

static const struct cli_flag log_flags[] = {
        { .name = "follow",
          .shorthand = 'f',
          .type = CLI_BOOL,
          .help = "print packets rejected, as they happen" },
        { .name = "timeout",
          .shorthand = 't',
          .type = CLI_STRING,
          .help = "with --follow: stop after SECONDS" },
        { 0 },
};

static const char *const modes[] = { "restricted", "allowlist", "open", NULL };

static const struct cli_flag attach_flags[] = {
        { .name = "pid",
          .shorthand = 'p',
          .type = CLI_INT,
          .help = "a process in the container's network namespace" },
        { .name = "netns",
          .shorthand = 'n',
          .type = CLI_STRING,
          .help = "the container's network namespace file" },
        { .name = "mode",
          .shorthand = 'm',
          .type = CLI_STRING,
          .def = "restricted",
          .choices = modes,
          .help = "restricted, allowlist or open" },
        { .name = "allow",
          .shorthand = 'a',
          .type = CLI_STRINGS,
          .help = "a domain, *.domain, IP or CIDR the container may reach (repeatable)" },
        { .name = "allow-local-network-access", .type = CLI_BOOL, .help = "let it reach private networks" },
        { .name = "block-metadata-endpoint", .type = CLI_BOOL, .help = "refuse 169.254.169.254 (open mode)" },
        { .name = "block-private-networks", .type = CLI_BOOL, .help = "refuse private networks (open mode)" },
        { 0 },
};

#define TARGET "DOMAIN, *.DOMAIN, IP or CIDR"

/* Each verb runs without the configuration (no_config): the policy comes from the flags and the
 * containers' records, so a broken config.toml does not stop `coi network prune`. */

static const struct cli_command allow = {
        .name = "allow",
        .use = "<target>",
        .summary = "Let a running container reach a " TARGET,
        .flags = change_flags,
        .args = CLI_ARGS_EXACT,
        .n = 1,
        .run = allow_run,
        .no_config = true,
};

static const struct cli_command deny = {
        .name = "deny",
        .use = "<target>",
        .summary = "Refuse a running container a " TARGET,
        .flags = change_flags,
        .args = CLI_ARGS_EXACT,
        .n = 1,
        .run = deny_run,
        .no_config = true,
};

static const struct cli_command show = {
        .name = "show",
        .use = "[container]",
        .summary = "Show the containers' network policies",
        .flags = show_flags,
        .args = CLI_ARGS_MAX,
        .n = 1,
        .run = show_run,
        .no_config = true,
};

static const struct cli_command log_cmd = {
        .name = "log",
        .use = "[container]",
        .summary = "Names refused by the DNS forwarder (JSON lines); with --follow, packets rejected",
        .flags = log_flags,
        .args = CLI_ARGS_MAX,
        .n = 1,
        .run = log_run,
        .no_config = true,
};

static const struct cli_command attach = {
        .name = "attach",
        .use = "<container>",
        .summary = "Give a network namespace its network and policy (plumbing)",
        .flags = attach_flags,
        .args = CLI_ARGS_EXACT,
        .n = 1,
        .run = attach_run,
        .no_config = true,
};

static const struct cli_command detach = {
        .name = "detach",
        .use = "<container>",
        .summary = "Remove a container's network (plumbing)",
        .args = CLI_ARGS_EXACT,
        .n = 1,
        .run = detach_run,
        .no_config = true,
};

static const struct cli_command prune = {
        .name = "prune",
        .summary = "Remove what dead containers left behind",
        .args = CLI_ARGS_NONE,
        .run = prune_run,
        .no_config = true,
};

static const struct cli_command *const network_commands[] = {
        &allow, &attach, &deny, &detach, &log_cmd, &prune, &show, NULL,
};

const struct cli_command cli_cmd_network = {
        .name = "network",
        .summary = "Network policy of running containers: allow, deny, show, log",
        .subcommands = network_commands,
};
