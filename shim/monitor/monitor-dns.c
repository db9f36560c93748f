/* monitor-dns.c — DNS tunnelling heuristics over the queries of one container: long random labels,
 * many unique names under one domain, TXT floods, a high query rate; fed from the forwarder's dns.log. */
#include <math.h>
#include <strings.h>

#include "json-util.h"
#include "monitor-dns.h"

void monitor_dns_init(struct monitor_dns *d, const struct monitor_dns_thresholds *t)
{
        memset(d, 0, sizeof(*d));
        d->t = *t;
}

double monitor_dns_entropy(const char *s, size_t len)
{
        unsigned counts[256] = { 0 };
        for (size_t i = 0; i < len; i++)
                counts[(unsigned char)s[i]]++;
        double h = 0;
        for (size_t i = 0; i < 256; i++)
                if (counts[i]) {
                        double p = (double)counts[i] / (double)len;
                        h -= p * log2(p);
                }
        return h;
}

bool monitor_dns_label_random(const char *label, size_t len)
{
        if (len >= 32)
                return true;
        if (len < 16)
                return false;
        size_t digits = 0;
        for (size_t i = 0; i < len; i++)
                digits += label[i] >= '0' && label[i] <= '9';
        /* hex, base32 and base64 chunks mix digits in and use many distinct symbols */
        return digits >= 2 && monitor_dns_entropy(label, len) >= 3.5;
}

const char *monitor_dns_base_domain(const char *name)
{
        const char *dots[3] = { NULL, NULL, NULL }; /* the last three dots, newest first */
        for (const char *p = name; *p; p++)
                if (*p == '.') {
                        dots[2] = dots[1];
                        dots[1] = dots[0];
                        dots[0] = p;
                }
        if (!dots[1])
                return name;
        /* example.co.uk: a short second level under a two-letter country code */
        size_t tld = strlen(dots[0] + 1), sld = (size_t)(dots[0] - dots[1] - 1);
        if (tld == 2 && sld <= 3)
                return dots[2] ? dots[2] + 1 : name;
        return dots[1] + 1;
}

static uint32_t hash(const char *s)
{
        uint32_t h = 2166136261u;
        for (; *s; s++)
                h = (h ^ (uint8_t)(*s | 0x20)) * 16777619u;
        return h;
}

static struct monitor_dns_domain *domain_slot(struct monitor_dns *d, const char *base, int64_t now)
{
        struct monitor_dns_domain *oldest = &d->domains[0];
        for (size_t i = 0; i < MONITOR_DNS_DOMAINS; i++) {
                struct monitor_dns_domain *x = &d->domains[i];
                if (x->name[0] && strcasecmp(x->name, base) == 0)
                        return x;
                if (x->last_ms < oldest->last_ms)
                        oldest = x;
        }
        memset(oldest, 0, sizeof(*oldest));
        snprintf(oldest->name, sizeof(oldest->name), "%s", base);
        oldest->last_ms = now;
        return oldest;
}

/* Counts ring entries newer than since. */
static int count_since(const int64_t *ring, size_t n, int64_t since)
{
        int c = 0;
        size_t have = n < MONITOR_DNS_RING ? n : MONITOR_DNS_RING;
        for (size_t i = 0; i < have; i++)
                c += ring[i] > since;
        return c;
}

static bool has_random_label(const char *name, const char *base)
{
        for (const char *p = name; p < base;) {
                size_t l = strcspn(p, ".");
                if (monitor_dns_label_random(p, l))
                        return true;
                p += l + 1;
        }
        return false;
}

int monitor_dns_feed(struct monitor_dns *d, const char *container, int64_t now, const char *name,
                     const char *type, struct monitor_event *ev)
{
        d->query_ms[d->n_queries++ % MONITOR_DNS_RING] = now;
        bool txt = strcasecmp(type, "TXT") == 0;
        if (txt)
                d->txt_ms[d->n_txt++ % MONITOR_DNS_RING] = now;
        const char *base = monitor_dns_base_domain(name);
        struct monitor_dns_domain *dom = domain_slot(d, base, now);
        /* a domain quiet for a whole window starts over */
        if (now - dom->last_ms > d->t.window_ms) {
                dom->n_names = 0;
                dom->suspicious_labels = 0;
                dom->warned = dom->alarmed = false;
        }
        dom->last_ms = now;
        uint32_t h = hash(name);
        bool known = false;
        size_t live = 0;
        for (size_t i = 0; i < dom->n_names; i++) {
                if (now - dom->seen_ms[i] > d->t.window_ms)
                        continue;
                dom->names[live] = dom->names[i];
                dom->seen_ms[live] = dom->seen_ms[i];
                if (dom->names[live] == h) {
                        dom->seen_ms[live] = now;
                        known = true;
                }
                live++;
        }
        dom->n_names = live;
        bool random = name != base && has_random_label(name, base);
        if (!known && dom->n_names < MONITOR_DNS_NAMES) {
                dom->names[dom->n_names] = h;
                dom->seen_ms[dom->n_names++] = now;
                dom->suspicious_labels += random;
        }

        if ((int)dom->n_names >= d->t.unique_per_domain && !dom->alarmed) {
                dom->alarmed = dom->warned = true;
                monitor_event_init(ev, container, MONITOR_HIGH, "dns", "DNS tunnelling suspected",
                                   "%zu unique names under %s within %lld s (%d with random-looking labels): "
                                   "data encoded in DNS queries",
                                   dom->n_names, base, (long long)(d->t.window_ms / 1000),
                                   dom->suspicious_labels);
                monitor_event_add_str(ev, "domain", base);
                monitor_event_add_str(ev, "query", name);
                monitor_event_add_str(ev, "type", type);
                monitor_event_add_num(ev, "unique_names", (long long)dom->n_names);
                monitor_event_add_num(ev, "random_labels", dom->suspicious_labels);
                return 1;
        }
        if (txt && count_since(d->txt_ms, d->n_txt, now - d->t.txt_window_ms) >= d->t.txt_per_window &&
            (!d->txt_alarmed || now - d->txt_alarmed_ms > d->t.window_ms)) {
                d->txt_alarmed = true;
                d->txt_alarmed_ms = now;
                monitor_event_init(ev, container, MONITOR_HIGH, "dns", "DNS TXT query flood",
                                   "%d TXT queries within %lld s (last: %s): a TXT channel carries data",
                                   d->t.txt_per_window, (long long)(d->t.txt_window_ms / 1000), name);
                monitor_event_add_str(ev, "domain", base);
                monitor_event_add_str(ev, "query", name);
                monitor_event_add_str(ev, "type", type);
                monitor_event_add_num(ev, "txt_queries", d->t.txt_per_window);
                return 1;
        }
        if (random && !dom->warned) {
                dom->warned = true;
                monitor_event_init(ev, container, MONITOR_WARNING, "dns", "Suspicious DNS name",
                                   "query for %s: a label looks like encoded data", name);
                monitor_event_add_str(ev, "domain", base);
                monitor_event_add_str(ev, "query", name);
                monitor_event_add_str(ev, "type", type);
                return 1;
        }
        if (d->t.queries_per_minute > 0 && d->t.queries_per_minute <= MONITOR_DNS_RING &&
            count_since(d->query_ms, d->n_queries, now - 60000) >= d->t.queries_per_minute &&
            (!d->rate_warned || now - d->rate_warned_ms > 60000)) {
                d->rate_warned = true;
                d->rate_warned_ms = now;
                monitor_event_init(ev, container, MONITOR_WARNING, "dns", "High DNS query rate",
                                   "%d DNS queries within a minute", d->t.queries_per_minute);
                monitor_event_add_str(ev, "query", name);
                monitor_event_add_num(ev, "queries_per_minute", d->t.queries_per_minute);
                return 1;
        }
        return 0;
}

int monitor_dns_parse_log_line(const char *line, const char *container, int64_t *ret_ms, char *name,
                               size_t name_size, char *type, size_t type_size)
{
        char ebuf[64];
        _cleanup_(yajl_tree_freep) yajl_val v = yajl_tree_parse(line, ebuf, sizeof(ebuf));
        if (!v || !YAJL_IS_OBJECT(v))
                return 0;
        const char *c = json_str(v, "container"), *n = json_str(v, "name"), *t = json_str(v, "type");
        yajl_val when = json_member(v, "time", yajl_t_number);
        if (!c || !n || !t || !when || !streq(c, container))
                return 0;
        *ret_ms = (int64_t)(YAJL_GET_DOUBLE(when) * 1000.0);
        snprintf(name, name_size, "%s", n);
        snprintf(type, type_size, "%s", t);
        return 1;
}
