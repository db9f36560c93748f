/* net-policy.c — live changes to a running container's network (allow, deny: record, nftables sets, the
 * learned addresses of a denied name) and the reports: show (text or JSON), the blocked-attempt log. */
#include <arpa/inet.h>
#include <stdarg.h>

#include "net-dns.h"
#include "net-internal.h"

/* A name pattern: labels of [a-z0-9-_], optionally "*." in front. */
bool net_pattern_valid(const char *p)
{
        if (startswith(p, "*."))
                p += 2;
        size_t n = strlen(p);
        if (n == 0 || n > 253 || p[0] == '.' || strstr(p, ".."))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!(p[i] >= 'a' && p[i] <= 'z') && !(p[i] >= 'A' && p[i] <= 'Z') &&
                    !(p[i] >= '0' && p[i] <= '9') && !strchr("-_.", p[i]))
                        return false;
        return true;
}

static void strv_remove(char **v, const char *s)
{
        size_t out = 0;
        for (size_t i = 0; v && v[i]; i++) {
                if (streq(v[i], s))
                        free(v[i]);
                else
                        v[out++] = v[i];
        }
        if (v)
                v[out] = NULL;
}

/* ---- live changes ---- */

/* Deletes from the learned set the addresses the forwarder handed out for names matching pattern. */
static void forget_learned(const struct net_options *o, const char *name, const char *pattern)
{
        _cleanup_free_ char *path = xasprintf("%s/dns.log", o->state_dir);
        _cleanup_free_ char *data = NULL;
        size_t len;
        if (!path || read_file_at(AT_FDCWD, path, 0, &data, &len, NULL) < 0)
                return;
        _cleanup_free_ char *who = xasprintf("\"container\":\"%s\"", name);
        char *save = NULL;
        for (char *line = strtok_r(data, "\n", &save); who && line; line = strtok_r(NULL, "\n", &save)) {
                char qname[256];
                const char *q = strstr(line, "\"name\":\""), *a = strstr(line, "\"answers\":[");
                if (!strstr(line, who) || !q || !a || sscanf(q + 8, "%255[^\"]", qname) != 1 ||
                    !net_dns_name_matches(pattern, qname))
                        continue;
                for (const char *p = a + 11; *p == '"';) {
                        char ip[INET_ADDRSTRLEN];
                        struct net_prefix addr;
                        if (sscanf(p + 1, "%15[^\"]", ip) != 1)
                                break;
                        if (net_prefix_parse(ip, &addr, NULL) == 0)
                                net_nft_learned_del(name, addr.addr, NULL);
                        p = strchr(p + 1, '"');
                        p = p ? p + 1 : "";
                        if (*p == ',')
                                p++;
                }
        }
}

static int change(const struct net_options *o, const char *name, const char *what, bool allow,
                  struct coi_error *err)
{
        _cleanup_close_ int lock = net_lock_state(o, err);
        if (lock < 0)
                return lock;
        struct net_record rec = { 0 };
        int r = net_record_load(o->state_dir, name, &rec, err);
        if (r == -ENOENT)
                return coi_error_set(err, ENOENT, "container %s has no network", name);
        if (r < 0)
                return r;
        struct net_prefix p;
        bool is_prefix = net_prefix_parse(what, &p, NULL) == 0;
        if (!is_prefix && !net_pattern_valid(what)) {
                net_record_done(&rec);
                return coi_error_set(err, EINVAL, "'%s' is neither a name pattern nor an IPv4 address/CIDR",
                                     what);
        }
        char canonical[INET_ADDRSTRLEN + 4];
        if (is_prefix) {
                /* one spelling per prefix in the record, so allow 1.2.3.4 and deny 1.2.3.4/32 meet */
                char ip[INET_ADDRSTRLEN];
                snprintf(canonical, sizeof(canonical), "%s/%d", net_ipv4_format(p.addr, ip), p.len);
                what = canonical;
                r = net_nft_prefix_add(name, !allow, &p, err);
                if (r >= 0)
                        r = net_nft_prefix_del(name, allow, &p, err);
        }
        strv_remove(allow ? rec.deny : rec.allow, what);
        char ***list = allow ? &rec.allow : &rec.deny;
        if (r >= 0 && !strv_contains(*list, what) && strv_push(list, what) < 0)
                r = coi_error_set(err, ENOMEM, "record of %s", name);
        if (r >= 0)
                r = net_record_save(o->state_dir, &rec, err);
        if (r >= 0 && !allow && !is_prefix)
                forget_learned(o, name, what);
        net_record_done(&rec);
        return r;
}

int net_allow(const struct net_options *o, const char *name, const char *what, struct coi_error *err)
{
        return change(o, name, what, true, err);
}

int net_deny(const struct net_options *o, const char *name, const char *what, struct coi_error *err)
{
        return change(o, name, what, false, err);
}

/* ---- show and log ---- */

struct text {
        char *buf;
        size_t len, cap;
        bool oom;
};

static void __attribute__((format(printf, 2, 3))) tprintf(struct text *t, const char *fmt, ...)
{
        for (int i = 0; i < 2 && !t->oom; i++) {
                va_list ap;
                va_start(ap, fmt);
                int n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? t->cap - t->len : 0, fmt, ap);
                va_end(ap);
                if (n < 0) {
                        t->oom = true;
                        return;
                }
                if (t->buf && t->len + (size_t)n < t->cap) {
                        t->len += (size_t)n;
                        return;
                }
                size_t cap = (t->cap + (size_t)n + 1) * 2;
                char *b = realloc(t->buf, cap);
                if (!b) {
                        t->oom = true;
                        return;
                }
                t->buf = b;
                t->cap = cap;
        }
}

static void show_strv(struct text *t, char **v, bool json)
{
        for (size_t i = 0; v && v[i]; i++)
                tprintf(t, json ? "%s\"%s\"" : "%s%s", i ? (json ? "," : " ") : "", v[i]);
}

static void show_set(struct text *t, const char *name, char kind, bool json)
{
        _cleanup_free_ struct net_nft_elem *el = NULL;
        size_t n = 0;
        if (net_nft_list(name, kind, &el, &n, NULL) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                char ip[INET_ADDRSTRLEN];
                net_ipv4_format(el[i].addr, ip);
                if (json && kind == 'a')
                        tprintf(t, "%s{\"addr\":\"%s\",\"expires_ms\":%llu}", i ? "," : "", ip,
                                (unsigned long long)el[i].expires_ms);
                else if (json)
                        tprintf(t, "%s\"%s/%d\"", i ? "," : "", ip, el[i].len);
                else if (kind == 'a')
                        tprintf(t, "%s%s (%llus)", i ? " " : "", ip,
                                (unsigned long long)el[i].expires_ms / 1000);
                else
                        tprintf(t, "%s%s/%d", i ? " " : "", ip, el[i].len);
        }
}

static void show_one(struct text *t, const struct net_record *rec, bool json, bool first)
{
        char ip[INET_ADDRSTRLEN];
        net_ipv4_format(rec->addr, ip);
        const struct net_policy *p = &rec->policy;
        if (json) {
                tprintf(t,
                        "%s{\"name\":\"%s\",\"address\":\"%s\",\"host_interface\":\"%s\",\"mode\":\"%s\","
                        "\"allow_local_network_access\":%s,\"block_metadata_endpoint\":%s,"
                        "\"block_private_networks\":%s,\"allow\":[",
                        first ? "" : ",", rec->name, ip, rec->host_ifname, net_mode_to_string(p->mode),
                        p->allow_local_network_access ? "true" : "false",
                        p->block_metadata_endpoint ? "true" : "false",
                        p->block_private_networks ? "true" : "false");
                show_strv(t, rec->allow, true);
                tprintf(t, "],\"deny\":[");
                show_strv(t, rec->deny, true);
                tprintf(t, "],\"learned\":[");
                show_set(t, rec->name, 'a', true);
                tprintf(t, "],\"allowed_prefixes\":[");
                show_set(t, rec->name, 'p', true);
                tprintf(t, "],\"denied_prefixes\":[");
                show_set(t, rec->name, 'd', true);
                tprintf(t, "]}");
                return;
        }
        tprintf(t, "%s  address %s  interface %s  mode %s\n  allow: ", rec->name, ip, rec->host_ifname,
                net_mode_to_string(p->mode));
        show_strv(t, rec->allow, false);
        tprintf(t, "\n  deny: ");
        show_strv(t, rec->deny, false);
        tprintf(t, "\n  learned: ");
        show_set(t, rec->name, 'a', false);
        tprintf(t, "\n");
}

int net_show(const struct net_options *o, const char *name, bool json, char **ret, struct coi_error *err)
{
        _cleanup_strv_ char **names = NULL;
        int r = net_record_list(o->state_dir, &names, err);
        if (r < 0)
                return r;
        struct text t = { 0 };
        tprintf(&t, json ? "[" : "");
        bool first = true, found = false;
        for (char **n = names; *n; n++) {
                if (name && !streq(name, *n))
                        continue;
                struct net_record rec = { 0 };
                if (net_record_load(o->state_dir, *n, &rec, NULL) < 0)
                        continue;
                show_one(&t, &rec, json, first);
                net_record_done(&rec);
                first = false;
                found = true;
        }
        tprintf(&t, json ? "]\n" : "");
        if (t.oom) {
                free(t.buf);
                return coi_error_set(err, ENOMEM, "show network");
        }
        if (name && !found) {
                free(t.buf);
                return coi_error_set(err, ENOENT, "container %s has no network", name);
        }
        *ret = t.buf ? t.buf : strdup("");
        return *ret ? 0 : coi_error_set(err, ENOMEM, "show network");
}

int net_blocked_read(const struct net_options *o, const char *name, char **ret, struct coi_error *err)
{
        _cleanup_free_ char *path = xasprintf("%s/dns.log", o->state_dir);
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        if (!path)
                return coi_error_set(err, ENOMEM, "read the DNS log");
        int r = read_file_at(AT_FDCWD, path, 0, &data, &len, err);
        if (r == -ENOENT) {
                *ret = strdup("");
                return *ret ? 0 : coi_error_set(err, ENOMEM, "read the DNS log");
        }
        if (r < 0)
                return r;
        _cleanup_free_ char *who = name ? xasprintf("\"container\":\"%s\"", name) : NULL;
        struct text t = { 0 };
        char *save = NULL;
        for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
                if (strstr(line, "\"verdict\":\"refused") && (!who || strstr(line, who)))
                        tprintf(&t, "%s\n", line);
        if (t.oom) {
                free(t.buf);
                return coi_error_set(err, ENOMEM, "read the DNS log");
        }
        *ret = t.buf ? t.buf : strdup("");
        return *ret ? 0 : coi_error_set(err, ENOMEM, "read the DNS log");
}
