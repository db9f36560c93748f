/* test-monitor.c — the monitor's pure parts: the DNS tunnelling heuristics, the audit log writer and
 * reader (one whole JSON line an event, under PIPE_BUF), credential path classes, address classes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "json-util.h"
#include "monitor/monitor-dns.h"
#include "monitor/monitor-event.h"
#include "monitor/monitor-files.h"
#include "monitor/monitor-net.h"
#include "unit-tmp.h"

/* ---- DNS ---- */

static void test_base_domain(void **state)
{
        assert_string_equal(monitor_dns_base_domain("a.b.example.com"), "example.com");
        assert_string_equal(monitor_dns_base_domain("example.com"), "example.com");
        assert_string_equal(monitor_dns_base_domain("x.y.example.co.uk"), "example.co.uk");
        assert_string_equal(monitor_dns_base_domain("localhost"), "localhost");
}

static void test_random_labels(void **state)
{
        assert_true(monitor_dns_label_random("4f6a2b9c1d8e7f3a0b5c6d2e9f1a8b7c", 32));
        assert_true(monitor_dns_label_random("mzxw6ytboi2dq3lf", 16)); /* base32 with digits */
        assert_false(monitor_dns_label_random("registry", 8));
        assert_false(monitor_dns_label_random("githubusercontent", 17)); /* no digits */
        assert_false(monitor_dns_label_random("www", 3));
        assert_true(monitor_dns_entropy("aaaa", 4) < 0.01);
        assert_true(monitor_dns_entropy("abcd", 4) > 1.99);
}

static void random_label(char *buf, size_t n, unsigned *seed)
{
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < n; i++)
                buf[i] = hex[rand_r(seed) % 16];
        buf[n] = '\0';
}

static void test_tunnel_is_high(void **state)
{
        struct monitor_dns d;
        struct monitor_dns_thresholds t = MONITOR_DNS_DEFAULTS;
        monitor_dns_init(&d, &t);
        struct monitor_event ev;
        unsigned seed = 7;
        int warnings = 0, highs = 0, first_high = -1;
        for (int i = 0; i < 30; i++) {
                char label[41], name[128];
                random_label(label, 40, &seed);
                snprintf(name, sizeof(name), "%s.t.exfil.test", label);
                if (monitor_dns_feed(&d, "c1", 1000 + i * 50, name, "A", &ev)) {
                        if (ev.level == MONITOR_WARNING)
                                warnings++;
                        if (ev.level == MONITOR_HIGH && highs++ == 0)
                                first_high = i;
                }
        }
        assert_int_equal(warnings, 1); /* the first random name */
        assert_int_equal(highs, 1);    /* once, at the threshold */
        assert_int_equal(first_high, t.unique_per_domain - 1);
}

static void test_normal_names_are_quiet(void **state)
{
        struct monitor_dns d;
        struct monitor_dns_thresholds t = MONITOR_DNS_DEFAULTS;
        monitor_dns_init(&d, &t);
        struct monitor_event ev;
        static const char *names[] = { "registry.npmjs.org",    "github.com",
                                       "api.github.com",        "objects.githubusercontent.com",
                                       "deb.debian.org",        "pypi.org",
                                       "files.pythonhosted.org" };
        /* the same few names over and over, a query a second (under the rate threshold) for 500 s */
        for (int i = 0; i < 500; i++)
                assert_int_equal(monitor_dns_feed(&d, "c1", (int64_t)i * 1000, names[i % 7],
                                                  i % 2 ? "AAAA" : "A", &ev),
                                 0);
}

static void test_txt_flood(void **state)
{
        struct monitor_dns d;
        struct monitor_dns_thresholds t = MONITOR_DNS_DEFAULTS;
        monitor_dns_init(&d, &t);
        struct monitor_event ev;
        int high = 0;
        for (int i = 0; i < 25; i++)
                if (monitor_dns_feed(&d, "c1", i * 100, "cmd.c2.test", "TXT", &ev) &&
                    ev.level == MONITOR_HIGH) {
                        assert_string_equal(ev.title, "DNS TXT query flood");
                        high++;
                }
        assert_int_equal(high, 1);
}

static void test_slow_names_forget(void **state)
{
        struct monitor_dns d;
        struct monitor_dns_thresholds t = MONITOR_DNS_DEFAULTS;
        monitor_dns_init(&d, &t);
        struct monitor_event ev;
        /* many distinct hosts of one domain, one every 10 s: never 20 within a minute */
        for (int i = 0; i < 60; i++) {
                char name[64];
                snprintf(name, sizeof(name), "host%d.corp.example", i);
                assert_int_equal(monitor_dns_feed(&d, "c1", (int64_t)i * 10000, name, "A", &ev), 0);
        }
}

static void test_dns_log_line(void **state)
{
        int64_t ms;
        char name[64], type[8];
        const char *line = "{\"time\":1700000000.250,\"container\":\"c1\",\"client\":\"10.0.0.2\",\"name\":"
                           "\"x.example.com\",\"type\":\"TXT\",\"verdict\":\"forwarded\",\"rcode\":0}";
        assert_int_equal(monitor_dns_parse_log_line(line, "c1", &ms, name, sizeof(name), type, sizeof(type)),
                         1);
        assert_int_equal(ms, 1700000000250LL);
        assert_string_equal(name, "x.example.com");
        assert_string_equal(type, "TXT");
        assert_int_equal(monitor_dns_parse_log_line(line, "c2", &ms, name, sizeof(name), type, sizeof(type)),
                         0);
        assert_int_equal(
                monitor_dns_parse_log_line("{\"time\":", "c1", &ms, name, sizeof(name), type, sizeof(type)),
                0);
}

/* ---- audit log ---- */

static int collect(const struct monitor_audit_entry *e, void *data)
{
        char ***titles = data;
        return strv_push(titles, e->title);
}

static void test_audit_roundtrip(void **state)
{
        char tmp[64];
        unit_tmpdir(tmp, sizeof(tmp), "monitor");
        char dir[128];
        snprintf(dir, sizeof(dir), "%s/audit", tmp);
        struct coi_error err = { 0 };
        struct monitor_event ev;
        monitor_event_init(&ev, "coi-abc-1", MONITOR_WARNING, "network", "Connection to a private network",
                           "connection to %s", "10.0.0.9:80");
        monitor_event_add_str(&ev, "remote_addr", "10.0.0.9:80");
        monitor_event_add_num(&ev, "pid", 42);
        assert_int_equal(monitor_audit_append(dir, &ev, &err), 0);
        monitor_event_init(&ev, "coi-abc-1", MONITOR_CRITICAL, "process", "Reverse shell detected", "x");
        snprintf(ev.action, sizeof(ev.action), "killed");
        assert_int_equal(monitor_audit_append(dir, &ev, &err), 0);

        char path[160];
        snprintf(path, sizeof(path), "%s/coi-abc-1.jsonl", dir);
        struct stat st;
        assert_int_equal(stat(dir, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);
        char *data = NULL;
        assert_int_equal(read_file_at(AT_FDCWD, path, 0, &data, NULL, &err), 0);
        /* two lines, each a whole object with the fields */
        char *second = strchr(data, '\n');
        assert_non_null(second);
        *second = '\0';
        yajl_val v = yajl_tree_parse(data, NULL, 0);
        assert_non_null(v);
        static const char *const fields[] = { "id",    "timestamp",   "container", "level", "category",
                                              "title", "description", "evidence",  "action" };
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                assert_non_null(json_member(v, fields[i], yajl_t_any));
        assert_string_equal(json_str(v, "level"), "warning");
        assert_string_equal(json_str(v, "action"), "logged");
        const char *p[] = { "evidence", "network", "pid", NULL };
        assert_int_equal(YAJL_GET_INTEGER(yajl_tree_get(v, p, yajl_t_number)), 42);
        yajl_tree_free(v);
        free(data);

        /* the reader: filter by level and by time */
        char **titles = NULL;
        struct monitor_audit_filter f = { .level = MONITOR_HIGH };
        assert_int_equal(monitor_audit_read(path, &f, collect, &titles, &err), 0);
        assert_int_equal(strv_length(titles), 1);
        assert_string_equal(titles[0], "Reverse shell detected");
        strv_free(titles);
        titles = NULL;
        f = (struct monitor_audit_filter){ .since_ms = ev.time_ms + 60000 };
        assert_int_equal(monitor_audit_read(path, &f, collect, &titles, &err), 0);
        assert_null(titles);
        unit_rmrf(tmp);
}

static void test_audit_line_is_bounded(void **state)
{
        struct monitor_event ev;
        monitor_event_init(&ev, "c", MONITOR_HIGH, "filesystem", "Credential scan", "%s", "");
        memset(ev.description, '\x01', sizeof(ev.description) - 1); /* escapes to \u0001: 6 bytes each */
        for (int i = 0; i < MONITOR_EVIDENCE_MAX; i++) {
                char key[16];
                snprintf(key, sizeof(key), "k%d", i);
                monitor_event_add_str(&ev, key, "");
                memset(ev.evidence[i].str, '"', sizeof(ev.evidence[i].str) - 1);
        }
        char *line = NULL;
        size_t len = 0;
        struct coi_error err = { 0 };
        assert_int_equal(monitor_event_json_line(&ev, &line, &len, &err), 0);
        assert_true(len < MONITOR_LINE_MAX);
        assert_int_equal(line[len - 1], '\n');
        assert_null(memchr(line, '\n', len - 1));
        yajl_val v = yajl_tree_parse(line, NULL, 0);
        assert_non_null(v);
        yajl_tree_free(v);
        free(line);
}

/* Writers racing on one log: every line stays whole (one write() each, O_APPEND). */
static void test_audit_concurrent_writers(void **state)
{
        char tmp[64];
        unit_tmpdir(tmp, sizeof(tmp), "monitor");
        for (int w = 0; w < 4; w++) {
                pid_t pid = fork();
                assert_true(pid >= 0);
                if (pid == 0) {
                        struct coi_error err = { 0 };
                        for (int i = 0; i < 100; i++) {
                                struct monitor_event ev;
                                monitor_event_init(&ev, "race", MONITOR_INFO, "network",
                                                   "New outbound connection", "writer %d line %d %0300d", w,
                                                   i, 0);
                                if (monitor_audit_append(tmp, &ev, &err) < 0)
                                        _exit(1);
                        }
                        _exit(0);
                }
        }
        for (int w = 0; w < 4; w++) {
                int status;
                wait(&status);
                assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        char path[128];
        snprintf(path, sizeof(path), "%s/race.jsonl", tmp);
        char **titles = NULL;
        struct monitor_audit_filter f = { 0 };
        struct coi_error err = { 0 };
        assert_int_equal(monitor_audit_read(path, &f, collect, &titles, &err), 0);
        assert_int_equal(strv_length(titles), 400);
        strv_free(titles);
        unit_rmrf(tmp);
}

static void test_time(void **state)
{
        int64_t ms;
        assert_int_equal(monitor_time_parse("2026-12-04T18:01:28.123Z", &ms), 0);
        char buf[32];
        monitor_time_format(ms, buf);
        assert_string_equal(buf, "2026-12-04T18:01:28.123Z");
        assert_int_equal(monitor_time_parse("2026-12-04T19:01:28+01:00", &ms), 0);
        monitor_time_format(ms, buf);
        assert_string_equal(buf, "2026-12-04T18:01:28.000Z");
        assert_int_equal(monitor_time_parse("yesterday", &ms), -EINVAL);
        enum monitor_level l;
        assert_int_equal(monitor_level_from_string("HIGH", &l), 0);
        assert_int_equal(l, MONITOR_HIGH);
        assert_int_equal(monitor_level_from_string("severe", &l), -EINVAL);
}

/* ---- classes ---- */

static void test_credential_paths(void **state)
{
        assert_string_equal(monitor_credential_kind("/home/code/.ssh/id_ed25519"), "ssh key");
        assert_null(monitor_credential_kind("/home/code/.ssh/known_hosts"));
        assert_null(monitor_credential_kind("/home/code/.ssh/id_ed25519.pub"));
        assert_string_equal(monitor_credential_kind("/workspace/.env"), "env file");
        assert_string_equal(monitor_credential_kind("/workspace/app/.env.production"), "env file");
        assert_null(monitor_credential_kind("/workspace/.env.example"));
        assert_string_equal(monitor_credential_kind("/proc/42/environ"), "process environment");
        assert_null(monitor_credential_kind("/proc/1/environ"));
        assert_string_equal(monitor_credential_kind("/workspace/certs/server.pem"), "private key");
        assert_null(monitor_credential_kind("/etc/ssl/certs/ca.pem"));
        assert_string_equal(monitor_credential_kind("/root/.aws/credentials"), "aws credentials");
        assert_string_equal(monitor_credential_kind("/home/code/.config/gh/hosts.yml"), "gh token");
        assert_null(monitor_credential_kind("/workspace/src/main.c"));
}

static void test_address_classes(void **state)
{
        uint8_t a[16] = { 169, 254, 169, 254 };
        assert_int_equal(monitor_net_classify(AF_INET, a), MONITOR_DEST_METADATA);
        uint8_t b[16] = { 10, 1, 2, 3 };
        assert_int_equal(monitor_net_classify(AF_INET, b), MONITOR_DEST_PRIVATE);
        uint8_t c[16] = { 172, 20, 0, 1 };
        assert_int_equal(monitor_net_classify(AF_INET, c), MONITOR_DEST_PRIVATE);
        uint8_t d[16] = { 172, 32, 0, 1 };
        assert_int_equal(monitor_net_classify(AF_INET, d), MONITOR_DEST_PUBLIC);
        uint8_t e[16] = { 127, 0, 0, 1 };
        assert_int_equal(monitor_net_classify(AF_INET, e), MONITOR_DEST_LOOPBACK);
        uint8_t f[16] = { [10] = 0xff, [11] = 0xff, 192, 168, 1, 1 };
        assert_int_equal(monitor_net_classify(AF_INET6, f), MONITOR_DEST_PRIVATE);
        assert_true(monitor_net_c2_port(4444));
        assert_false(monitor_net_c2_port(443));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_base_domain),
                cmocka_unit_test(test_random_labels),
                cmocka_unit_test(test_tunnel_is_high),
                cmocka_unit_test(test_normal_names_are_quiet),
                cmocka_unit_test(test_txt_flood),
                cmocka_unit_test(test_slow_names_forget),
                cmocka_unit_test(test_dns_log_line),
                cmocka_unit_test(test_audit_roundtrip),
                cmocka_unit_test(test_audit_line_is_bounded),
                cmocka_unit_test(test_audit_concurrent_writers),
                cmocka_unit_test(test_time),
                cmocka_unit_test(test_credential_paths),
                cmocka_unit_test(test_address_classes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
