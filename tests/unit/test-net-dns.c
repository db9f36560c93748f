/* test-net-dns.c — the pure parts of the container network: prefixes, name patterns, DNS messages,
 * resolv.conf, the policy record and the per-container record. No namespace or socket needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "net/net-dns.h"
#include "net/net.h"
#include "unit-tmp.h"

static void test_prefix_parse(void **state)
{
        struct net_prefix p;
        struct coi_error err = { 0 };
        assert_int_equal(net_prefix_parse("10.88.7.9/16", &p, &err), 0);
        assert_int_equal(p.addr, 0x0a580000);
        assert_int_equal(p.len, 16);
        assert_int_equal(net_prefix_parse("1.2.3.4", &p, &err), 0);
        assert_int_equal(p.len, 32);
        assert_int_equal(net_prefix_parse("1.2.3.4/33", &p, &err), -EINVAL);
        assert_string_equal(err.msg, "invalid prefix length in '1.2.3.4/33'");
        assert_int_equal(net_prefix_parse("example.com", &p, &err), -EINVAL);
        assert_int_equal(net_prefix_parse("1.2.3.4/", &p, &err), -EINVAL);
        char buf[16];
        assert_string_equal(net_ipv4_format(0xc0a84d0a, buf), "192.168.77.10");
        assert_int_equal(net_prefix_mask(10), 0xffc00000);
        assert_int_equal(net_prefix_mask(0), 0);
}

static void test_prefix_overlap(void **state)
{
        struct net_prefix a = { 0x0a580000, 16 }, b = { 0x0a580100, 24 }, c = { 0x0a590000, 24 };
        assert_true(net_prefix_overlaps(&a, &b));
        assert_true(net_prefix_overlaps(&b, &a));
        assert_false(net_prefix_overlaps(&a, &c));
        assert_false(net_prefix_overlaps(&b, &c));
}

static void test_name_patterns(void **state)
{
        assert_true(net_dns_name_matches("example.com", "example.com"));
        assert_true(net_dns_name_matches("example.com", "EXAMPLE.com."));
        assert_false(net_dns_name_matches("example.com", "www.example.com"));
        assert_false(net_dns_name_matches("example.com", "badexample.com"));
        assert_true(net_dns_name_matches("*.example.com", "www.example.com"));
        assert_true(net_dns_name_matches("*.example.com", "a.b.example.com"));
        assert_false(net_dns_name_matches("*.example.com", "example.com"));
        assert_false(net_dns_name_matches("*.example.com", "evilexample.com"));
        assert_false(net_dns_name_matches("*.example.com", "example.com.evil.org"));
}

/* A query for www.Example.com A with id 0x1234 and RD set. */
static const uint8_t query[] = { 0x12, 0x34, 0x01, 0x00, 0,   1,   0,   0,   0,   0,   0,
                                 0,    3,    'w',  'w',  'w', 7,   'E', 'x', 'a', 'm', 'p',
                                 'l',  'e',  3,    'c',  'o', 'm', 0,   0,   1,   0,   1 };

static void test_parse_question(void **state)
{
        char name[256];
        uint16_t type;
        size_t end;
        assert_int_equal(net_dns_parse_question(query, sizeof(query), name, sizeof(name), &type, &end), 0);
        assert_string_equal(name, "www.example.com");
        assert_int_equal(type, 1);
        assert_int_equal(end, sizeof(query));
        /* truncated, and a name with a label that runs past the end */
        assert_int_equal(net_dns_parse_question(query, 20, name, sizeof(name), &type, &end), -EBADMSG);
        uint8_t bad[sizeof(query)];
        memcpy(bad, query, sizeof(query));
        bad[12] = 60;
        assert_int_equal(net_dns_parse_question(bad, sizeof(bad), name, sizeof(name), &type, &end), -EBADMSG);
        /* a dot or a NUL inside a label would make the logged name ambiguous */
        memcpy(bad, query, sizeof(query));
        bad[14] = '.';
        assert_int_equal(net_dns_parse_question(bad, sizeof(bad), name, sizeof(name), &type, &end), -EBADMSG);
}

struct seen {
        uint32_t addr[4];
        uint32_t ttl[4];
        int n;
};

static void collect(uint32_t addr, uint32_t ttl, void *data)
{
        struct seen *s = data;
        if (s->n < 4) {
                s->addr[s->n] = addr;
                s->ttl[s->n++] = ttl;
        }
}

static void test_answers_with_compression(void **state)
{
        uint8_t msg[256];
        memcpy(msg, query, sizeof(query));
        msg[2] = 0x81;
        msg[3] = 0x80;
        msg[7] = 3; /* three answers: a CNAME, then two A records of the CNAME's target */
        size_t o = sizeof(query);
        /* www.example.com CNAME cdn.example.com (compressed: "cdn" + pointer to example.com at 16) */
        const uint8_t cname[] = { 0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3, 'c', 'd', 'n', 0xc0, 16 };
        memcpy(msg + o, cname, sizeof(cname));
        size_t target = o + 12;
        o += sizeof(cname);
        for (int i = 0; i < 2; i++) {
                const uint8_t a[] = { 0xc0, (uint8_t)target,         0, 1, 0,   1, 0,   0,
                                      0x01, (uint8_t)(i ? 0x2c : 0), 0, 4, 203, 0, 113, (uint8_t)(10 + i) };
                memcpy(msg + o, a, sizeof(a));
                o += sizeof(a);
        }
        struct seen s = { 0 };
        assert_int_equal(net_dns_for_each_a(msg, o, collect, &s), 2);
        assert_int_equal(s.addr[0], 0xcb00710a);
        assert_int_equal(s.ttl[0], 256);
        assert_int_equal(s.addr[1], 0xcb00710b);
        assert_int_equal(s.ttl[1], 300);
        /* cut inside the last record: an error, not a half-read address */
        s.n = 0;
        assert_int_equal(net_dns_for_each_a(msg, o - 2, collect, &s), -EBADMSG);
}

static void test_error_answer(void **state)
{
        uint8_t out[512];
        int n = net_dns_make_error(query, sizeof(query), NET_DNS_RCODE_REFUSED, out, sizeof(out));
        assert_int_equal(n, sizeof(query));
        assert_int_equal(out[0], 0x12);
        assert_int_equal(out[1], 0x34);
        assert_int_equal(out[2] & 0x80, 0x80); /* an answer */
        assert_int_equal(out[2] & 0x01, 0x01); /* RD echoed */
        assert_int_equal(out[3] & 0x0f, 5);
        assert_int_equal(out[7], 0);
        assert_int_equal(net_dns_make_error(query, 10, 5, out, sizeof(out)), -EBADMSG);
}

static void test_resolv_conf(void **state)
{
        char path[] = "/tmp/coi-test-resolv-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        const char *text = "# comment\nsearch lan\nnameserver 192.0.2.53\nnameserver ::1\n"
                           "nameserver   198.51.100.7  \noptions edns0\n";
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        close(fd);
        uint32_t s[4];
        struct coi_error err = { 0 };
        assert_int_equal(net_resolv_conf_servers(path, s, 4, &err), 2);
        assert_int_equal(s[0], 0xc0000235);
        assert_int_equal(s[1], 0xc6336407);
        assert_int_equal(net_resolv_conf_servers(path, s, 1, &err), 1);
        unlink(path);
        assert_int_equal(net_resolv_conf_servers(path, s, 4, &err), -ENOENT);
}

/* The one format of a network policy: what the container layer stores as network.json and the runtime
 * record holds under "policy". */
static void test_policy_record_roundtrip(void **state)
{
        char dir[64];
        unit_tmpdir(dir, sizeof(dir), "netpol");
        int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        assert_true(dirfd >= 0);
        struct net_policy_record rec = { .policy = { .mode = NET_MODE_ALLOWLIST,
                                                     .allow_local_network_access = true,
                                                     .block_private_networks = true } };
        assert_int_equal(strv_push(&rec.allow, "*.example.com"), 0);
        assert_int_equal(strv_push(&rec.allow, "1.2.3.0/24"), 0);
        assert_int_equal(strv_push(&rec.deny, "bad.example.com"), 0);
        struct coi_error err = { 0 };
        assert_int_equal(net_policy_record_save_at(dirfd, "network.json", &rec, 0644, &err), 0);
        struct net_policy_record back = { 0 };
        assert_int_equal(net_policy_record_load_at(dirfd, "network.json", "network.json", &back, &err), 0);
        assert_int_equal(back.policy.mode, NET_MODE_ALLOWLIST);
        assert_true(back.policy.allow_local_network_access);
        assert_false(back.policy.block_metadata_endpoint);
        assert_true(back.policy.block_private_networks);
        assert_int_equal(strv_length(back.allow), 2);
        assert_string_equal(back.allow[0], "*.example.com");
        assert_string_equal(back.allow[1], "1.2.3.0/24");
        assert_int_equal(strv_length(back.deny), 1);
        assert_string_equal(back.deny[0], "bad.example.com");
        net_policy_record_done(&back);

        /* a network.json written before the format moved to the net layer (no "denied") still loads */
        _cleanup_free_ char *old = xasprintf("%s/old.json", dir);
        unit_put(old, "{\n    \"mode\": \"restricted\",\n    \"allow_local_network_access\": false,\n"
                      "    \"block_metadata_endpoint\": true,\n    \"block_private_networks\": true,\n"
                      "    \"allowed\": [\n        \"allowed.test\"\n    ]\n}\n");
        assert_int_equal(net_policy_record_load_at(dirfd, "old.json", "old.json", &back, &err), 0);
        assert_int_equal(back.policy.mode, NET_MODE_RESTRICTED);
        assert_true(back.policy.block_metadata_endpoint);
        assert_int_equal(strv_length(back.allow), 1);
        assert_string_equal(back.allow[0], "allowed.test");
        assert_null(back.deny);
        net_policy_record_done(&back);

        /* named errors: a bad mode, a missing file */
        unit_put(old, "{\"mode\": \"wide\"}");
        assert_int_equal(net_policy_record_load_at(dirfd, "old.json", "old.json", &back, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "old.json: \"mode\" must be"));
        assert_int_equal(net_policy_record_load_at(dirfd, "none.json", "none.json", &back, &err), -ENOENT);
        net_policy_record_done(&rec);
        close(dirfd);
        assert_int_equal(unit_rmrf(dir), 0);
}

static void test_record_roundtrip(void **state)
{
        char dir[] = "/tmp/coi-test-netrec-XXXXXX";
        assert_non_null(mkdtemp(dir));
        _cleanup_free_ char *sub = xasprintf("%s/containers", dir);
        assert_int_equal(mkdir(sub, 0700), 0);
        struct net_record rec = { .name = "box-1", .addr = 0x0a580002, .host_ifname = "coi-12345678" };
        rec.policy.mode = NET_MODE_ALLOWLIST;
        rec.policy.block_metadata_endpoint = true;
        assert_int_equal(strv_push(&rec.allow, "*.example.com"), 0);
        assert_int_equal(strv_push(&rec.allow, "1.2.3.0/24"), 0);
        assert_int_equal(strv_push(&rec.deny, "bad.example.com"), 0);
        struct coi_error err = { 0 };
        assert_int_equal(net_record_save(dir, &rec, &err), 0);
        struct net_record back = { 0 };
        assert_int_equal(net_record_load(dir, "box-1", &back, &err), 0);
        assert_string_equal(back.name, "box-1");
        assert_int_equal(back.addr, 0x0a580002);
        assert_string_equal(back.host_ifname, "coi-12345678");
        assert_int_equal(back.policy.mode, NET_MODE_ALLOWLIST);
        assert_true(back.policy.block_metadata_endpoint);
        assert_false(back.policy.block_private_networks);
        assert_int_equal(strv_length(back.allow), 2);
        assert_string_equal(back.allow[0], "*.example.com");
        assert_string_equal(back.deny[0], "bad.example.com");
        _cleanup_strv_ char **names = NULL;
        assert_int_equal(net_record_list(dir, &names, &err), 0);
        assert_int_equal(strv_length(names), 1);
        assert_string_equal(names[0], "box-1");
        net_record_done(&back);
        /* a record of an older coi ("key=value" lines) still loads, so its network can be torn down */
        _cleanup_free_ char *legacy = xasprintf("%s/old-1", sub);
        unit_put(legacy, "addr=10.88.0.3\nhost_if=coi-abcdef01\nmode=restricted\n"
                         "block_private_networks=1\nallow=1.2.3.4/32\ndeny=bad.test\n");
        assert_int_equal(net_record_load(dir, "old-1", &back, &err), 0);
        assert_int_equal(back.addr, 0x0a580003);
        assert_string_equal(back.host_ifname, "coi-abcdef01");
        assert_int_equal(back.policy.mode, NET_MODE_RESTRICTED);
        assert_true(back.policy.block_private_networks);
        assert_string_equal(back.allow[0], "1.2.3.4/32");
        assert_string_equal(back.deny[0], "bad.test");
        net_record_done(&back);
        unlink(legacy);
        assert_int_equal(net_record_load(dir, "../etc", &back, &err), -EINVAL);
        assert_int_equal(net_record_load(dir, "missing", &back, &err), -ENOENT);
        net_record_done(&rec);
        net_record_done(&back);
        _cleanup_free_ char *file = xasprintf("%s/box-1", sub);
        unlink(file);
        rmdir(sub);
        rmdir(dir);
}

static void test_names_and_modes(void **state)
{
        assert_true(net_name_valid("agent_1.dev-x"));
        assert_false(net_name_valid(""));
        assert_false(net_name_valid("a/b"));
        assert_false(net_name_valid(".hidden"));
        assert_false(net_name_valid("0123456789012345678901234567890123456789012345678"));
        enum net_mode m;
        assert_int_equal(net_mode_from_string("allowlist", &m), 0);
        assert_int_equal(m, NET_MODE_ALLOWLIST);
        assert_string_equal(net_mode_to_string(NET_MODE_OPEN), "open");
        assert_int_equal(net_mode_from_string("closed", &m), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_prefix_parse),
                cmocka_unit_test(test_prefix_overlap),
                cmocka_unit_test(test_name_patterns),
                cmocka_unit_test(test_parse_question),
                cmocka_unit_test(test_answers_with_compression),
                cmocka_unit_test(test_error_answer),
                cmocka_unit_test(test_resolv_conf),
                cmocka_unit_test(test_policy_record_roundtrip),
                cmocka_unit_test(test_record_roundtrip),
                cmocka_unit_test(test_names_and_modes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
