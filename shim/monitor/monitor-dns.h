/* monitor-dns.h — DNS tunnelling heuristics over the queries of one container: long random labels,
 * many unique names under one domain, TXT floods, a high query rate; fed from the forwarder's dns.log. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor-event.h"

#define MONITOR_DNS_DOMAINS 32 /* base domains tracked at a time */
#define MONITOR_DNS_NAMES   64 /* unique names remembered per base domain */
#define MONITOR_DNS_RING    256

struct monitor_dns_thresholds {
        int unique_per_domain;  /* unique names under one domain within window_ms: HIGH */
        int txt_per_window;     /* TXT queries within txt_window_ms: HIGH */
        int queries_per_minute; /* all queries within a minute: WARNING (nft.dns_query_threshold) */
        int64_t window_ms;
        int64_t txt_window_ms;
};
#define MONITOR_DNS_DEFAULTS                                                                                 \
        ((struct monitor_dns_thresholds){ .unique_per_domain = 20,                                           \
                                          .txt_per_window = 20,                                              \
                                          .queries_per_minute = 100,                                         \
                                          .window_ms = 60000,                                                \
                                          .txt_window_ms = 10000 })

struct monitor_dns_domain {
        char name[128];
        int64_t last_ms;
        uint32_t names[MONITOR_DNS_NAMES]; /* hashes of the unique names seen */
        int64_t seen_ms[MONITOR_DNS_NAMES];
        size_t n_names;
        int suspicious_labels; /* names with a random-looking label */
        bool warned, alarmed;  /* events already raised for it (until it goes quiet) */
};

struct monitor_dns {
        struct monitor_dns_thresholds t;
        struct monitor_dns_domain domains[MONITOR_DNS_DOMAINS];
        int64_t query_ms[MONITOR_DNS_RING]; /* times of the last queries, a ring */
        size_t n_queries;
        int64_t txt_ms[MONITOR_DNS_RING];
        size_t n_txt;
        int64_t rate_warned_ms, txt_alarmed_ms;
        bool rate_warned, txt_alarmed;
};

void monitor_dns_init(struct monitor_dns *d, const struct monitor_dns_thresholds *t);

/* Feeds one query (name without trailing dot, type "A", "TXT", …, at now_ms). Returns 1 and fills ev
 * when it raises an event, else 0. */
int monitor_dns_feed(struct monitor_dns *d, const char *container, int64_t now_ms, const char *name,
                     const char *type, struct monitor_event *ev);

/* Pure helpers, exposed for the unit tests. */
/* The registered domain the name belongs to: its last two labels (three when the second-level is a
 * short public suffix such as co.uk); a pointer into name. */
const char *monitor_dns_base_domain(const char *name);
/* True when label looks like encoded data: long (>= 32), or >= 16 bytes with high entropy and digits. */
bool monitor_dns_label_random(const char *label, size_t len);
/* Shannon entropy of the bytes, in bits per byte. */
double monitor_dns_entropy(const char *s, size_t len);

/* One line of the forwarder's dns.log: 1 and the fields when it is a query of container, else 0. */
int monitor_dns_parse_log_line(const char *line, const char *container, int64_t *ret_ms, char *name,
                               size_t name_size, char *type, size_t type_size);
