/* cmd-network.c — the `coi network` verb: parse flags, call one net.h function, print. Owns no state;
 * everything it changes goes through net.c. */
#include <arpa/inet.h>
#include <getopt.h>

#include "commands.h"
#include "net/net.h"

static const char usage[] =
        "usage: coi network allow [-c NAME] DOMAIN|*.DOMAIN|IP|CIDR\n"
        "       coi network deny [-c NAME] DOMAIN|*.DOMAIN|IP|CIDR\n"
        "       coi network show [NAME] [--format text|json]\n"
        "       coi network log [NAME]            names refused by the DNS forwarder (JSON lines)\n"
        "       coi network log [NAME] --follow [--timeout SECONDS]   packets rejected, as they happen\n"
        "       coi network attach NAME --pid PID|--netns PATH [--mode restricted|allowlist|open]\n"
        "                          [--allow X]... [--allow-local-network-access]\n"
        "                          [--block-metadata-endpoint] [--block-private-networks]\n"
        "       coi network detach NAME\n"
        "       coi network prune                 remove what dead containers left behind\n";

static int fail(const struct coi_error *err)
{
        fprintf(stderr, "coi network: %s\n", err->msg);
        return 1;
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

static int cmd_change(const struct net_options *o, int argc, char **argv, bool allow)
{
        const char *container = NULL;
        static const struct option opts[] = { { "container", required_argument, NULL, 'c' }, { 0 } };
        int c;
        optind = 1;
        while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
                if (c != 'c') {
                        fputs(usage, stderr);
                        return 2;
                }
                container = optarg;
        }
        if (optind + 1 != argc) {
                fputs(usage, stderr);
                return 2;
        }
        struct coi_error err = { 0 };
        _cleanup_free_ char *name = NULL;
        if (pick_container(o, container, &name, &err) < 0)
                return fail(&err);
        int r = allow ? net_allow(o, name, argv[optind], &err) : net_deny(o, name, argv[optind], &err);
        return r < 0 ? fail(&err) : 0;
}

static int cmd_show(const struct net_options *o, int argc, char **argv)
{
        bool json = false;
        static const struct option opts[] = { { "format", required_argument, NULL, 'f' }, { 0 } };
        int c;
        optind = 1;
        while ((c = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
                if (c != 'f' || (!streq(optarg, "json") && !streq(optarg, "text"))) {
                        fputs(usage, stderr);
                        return 2;
                }
                json = streq(optarg, "json");
        }
        if (argc - optind > 1) {
                fputs(usage, stderr);
                return 2;
        }
        struct coi_error err = { 0 };
        _cleanup_free_ char *out = NULL;
        if (net_show(o, optind < argc ? argv[optind] : NULL, json, &out, &err) < 0)
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

static int cmd_log(const struct net_options *o, int argc, char **argv)
{
        bool follow = false;
        int timeout_ms = -1;
        static const struct option opts[] = { { "follow", no_argument, NULL, 'f' },
                                              { "timeout", required_argument, NULL, 't' },
                                              { 0 } };
        int c;
        optind = 1;
        while ((c = getopt_long(argc, argv, "ft:", opts, NULL)) != -1) {
                if (c == 'f') {
                        follow = true;
                } else if (c == 't') {
                        timeout_ms = (int)(atof(optarg) * 1000);
                } else {
                        fputs(usage, stderr);
                        return 2;
                }
        }
        if (argc - optind > 1) {
                fputs(usage, stderr);
                return 2;
        }
        const char *name = optind < argc ? argv[optind] : NULL;
        struct coi_error err = { 0 };
        if (follow) {
                _cleanup_free_ char *prefix = name ? xasprintf("coi %s ", name) : NULL;
                struct follow f = { .prefix = prefix };
                return net_nflog_follow(o->log_group, timeout_ms, print_packet, &f, &err) < 0 ? fail(&err)
                                                                                              : 0;
        }
        _cleanup_free_ char *out = NULL;
        if (net_blocked_read(o, name, &out, &err) < 0)
                return fail(&err);
        fputs(out, stdout);
        return 0;
}

static int cmd_attach(const struct net_options *o, int argc, char **argv)
{
        enum {
                ALLOW_LOCAL = 256,
                BLOCK_META,
                BLOCK_PRIV
        };
        static const struct option opts[] = { { "pid", required_argument, NULL, 'p' },
                                              { "netns", required_argument, NULL, 'n' },
                                              { "mode", required_argument, NULL, 'm' },
                                              { "allow", required_argument, NULL, 'a' },
                                              { "allow-local-network-access", no_argument, NULL,
                                                ALLOW_LOCAL },
                                              { "block-metadata-endpoint", no_argument, NULL, BLOCK_META },
                                              { "block-private-networks", no_argument, NULL, BLOCK_PRIV },
                                              { 0 } };
        struct net_container_config cfg = { .netns_fd = -1 };
        _cleanup_strv_ char **allowed = NULL;
        _cleanup_close_ int netns_fd = -1;
        int c;
        optind = 1;
        while ((c = getopt_long(argc, argv, "p:n:m:a:", opts, NULL)) != -1) {
                switch (c) {
                case 'p':
                        cfg.pid = (pid_t)atoi(optarg);
                        break;
                case 'n':
                        netns_fd = open(optarg, O_RDONLY | O_CLOEXEC);
                        if (netns_fd < 0) {
                                fprintf(stderr, "coi network: open %s: %m\n", optarg);
                                return 1;
                        }
                        break;
                case 'm':
                        if (net_mode_from_string(optarg, &cfg.policy.mode) < 0) {
                                fprintf(stderr, "coi network: unknown mode '%s'\n", optarg);
                                return 2;
                        }
                        break;
                case 'a':
                        if (strv_push(&allowed, optarg) < 0)
                                return 1;
                        break;
                case ALLOW_LOCAL:
                        cfg.policy.allow_local_network_access = true;
                        break;
                case BLOCK_META:
                        cfg.policy.block_metadata_endpoint = true;
                        break;
                case BLOCK_PRIV:
                        cfg.policy.block_private_networks = true;
                        break;
                default:
                        fputs(usage, stderr);
                        return 2;
                }
        }
        if (optind + 1 != argc || (cfg.pid <= 0 && netns_fd < 0)) {
                fputs(usage, stderr);
                return 2;
        }
        cfg.name = argv[optind];
        cfg.netns_fd = netns_fd;
        cfg.allowed = allowed;
        struct coi_error err = { 0 };
        struct net_container_info info;
        if (net_container_setup(o, &cfg, &info, &err) < 0)
                return fail(&err);
        char ip[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
        printf("%s/%d gateway %s dns %s interface %s\n", net_ipv4_format(info.addr, ip), info.prefix_len,
               net_ipv4_format(info.gateway, gw), gw, info.host_ifname);
        return 0;
}

static int cmd_network(int argc, char **argv)
{
        if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h")) {
                fputs(usage, argc < 2 ? stderr : stdout);
                return argc < 2 ? 2 : 0;
        }
        struct net_options o;
        net_options_init(&o, true);
        const char *verb = argv[1];
        argc--;
        argv++;
        struct coi_error err = { 0 };
        if (streq(verb, "allow") || streq(verb, "deny"))
                return cmd_change(&o, argc, argv, streq(verb, "allow"));
        if (streq(verb, "show"))
                return cmd_show(&o, argc, argv);
        if (streq(verb, "log"))
                return cmd_log(&o, argc, argv);
        if (streq(verb, "attach"))
                return cmd_attach(&o, argc, argv);
        if (streq(verb, "detach") && argc == 2)
                return net_container_teardown(&o, argv[1], &err) < 0 ? fail(&err) : 0;
        if (streq(verb, "prune") && argc == 1) {
                int n = net_orphans_remove(&o, &err);
                if (n < 0)
                        return fail(&err);
                printf("removed %d orphaned container network%s\n", n, n == 1 ? "" : "s");
                return 0;
        }
        fputs(usage, stderr);
        return 2;
}

/* TRANSITIONAL (issue 18): parses its own argv until it takes a cli_call. */
const struct cli_command cli_cmd_network = {
        .name = "network",
        .summary = "Network policy of running containers: allow, deny, show, log",
        .raw = cmd_network
};
