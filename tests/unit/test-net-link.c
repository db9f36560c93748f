/* test-net-link.c — bridge, veth and nftables pieces against the kernel, inside a network namespace this
 * test makes for itself (unshare(CLONE_NEWNET) in main): nothing here can touch the machine's network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "net/net-nft.h"
#include "net/net.h"

/* A fresh namespace standing for a container, kept alive by the returned fd. */
static int new_netns(void)
{
        int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        assert_true(home >= 0);
        assert_int_equal(unshare(CLONE_NEWNET), 0);
        int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(setns(home, CLONE_NEWNET), 0);
        close(home);
        return fd;
}

static int read_in_netns(int netns_fd, const char *path, char *buf, size_t size)
{
        int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        assert_int_equal(setns(netns_fd, CLONE_NEWNET), 0);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_int_equal(setns(home, CLONE_NEWNET), 0);
        close(home);
        if (fd < 0)
                return -errno;
        ssize_t n = read(fd, buf, size - 1);
        close(fd);
        buf[n > 0 ? n : 0] = '\0';
        return 0;
}

static void test_bridge_and_subnet_pick(void **state)
{
        struct coi_error err = { 0 };
        struct net_prefix pool = { 0x0a580000, 16 }, subnet, addr;
        assert_int_equal(net_subnet_pick(&pool, 24, &subnet, &err), 0);
        assert_int_equal(subnet.addr, 0x0a580000);
        struct net_prefix want = { 0x0a580001, 24 };
        assert_int_equal(net_bridge_ensure("tbr0", &want, 1400, &addr, &err), 0);
        assert_int_equal(addr.addr, 0x0a580001);
        /* a second time: the existing bridge's address, nothing changed */
        struct net_prefix other = { 0x0a590001, 24 };
        assert_int_equal(net_bridge_ensure("tbr0", &other, 0, &addr, &err), 0);
        assert_int_equal(addr.addr, 0x0a580001);
        assert_int_equal(addr.len, 24);
        /* the routed /24 is skipped now */
        assert_int_equal(net_subnet_pick(&pool, 24, &subnet, &err), 0);
        assert_int_equal(subnet.addr, 0x0a580100);
        struct net_prefix tiny = { 0x0a580000, 24 };
        assert_int_equal(net_subnet_pick(&tiny, 24, &subnet, &err), -EADDRNOTAVAIL);
        assert_int_equal(net_bridge_count_ports("tbr0", &err), 0);
        assert_int_equal(net_bridge_count_ports("nope0", &err), -ENODEV);
        assert_int_equal(net_link_delete("tbr0", &err), 0);
        assert_false(net_link_exists("tbr0"));
        assert_int_equal(net_link_delete("tbr0", &err), 0);
}

static void test_veth_into_namespace(void **state)
{
        struct coi_error err = { 0 };
        struct net_prefix want = { 0x0a580001, 24 }, addr;
        assert_int_equal(net_bridge_ensure("tbr1", &want, 0, &addr, &err), 0);
        int ns = new_netns();
        struct net_veth_config cfg = { .host_name = "tveth0",
                                       .bridge = "tbr1",
                                       .netns_fd = ns,
                                       .peer_name = "eth0",
                                       .peer_addr = 0x0a580002,
                                       .prefix_len = 24,
                                       .gateway = 0x0a580001,
                                       .mtu = 1380,
                                       .disable_ipv6 = true };
        assert_int_equal(net_veth_setup(&cfg, &err), 0);
        assert_true(net_link_exists("tveth0"));
        assert_false(net_link_exists("eth0")); /* the peer was born inside the namespace */
        assert_int_equal(net_bridge_count_ports("tbr1", &err), 1);
        struct ifreq ifr = { 0 };
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "tveth0");
        int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        assert_int_equal(ioctl(sock, SIOCGIFMTU, &ifr), 0);
        assert_int_equal(ifr.ifr_mtu, 1380);
        close(sock);
        char buf[64];
        assert_int_equal(read_in_netns(ns, "/proc/sys/net/ipv6/conf/all/disable_ipv6", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "1\n");
        /* the same host name again fails and leaves the first pair alone */
        assert_int_equal(net_veth_setup(&cfg, &err), -EEXIST);
        assert_int_equal(net_bridge_count_ports("tbr1", &err), 1);
        /* a failure after the pair exists removes it: a namespace whose eth0 is taken */
        cfg.host_name = "tveth1";
        assert_true(net_veth_setup(&cfg, &err) < 0);
        assert_false(net_link_exists("tveth1"));
        assert_int_equal(net_link_delete("tveth0", &err), 0);
        assert_int_equal(net_bridge_count_ports("tbr1", &err), 0);
        assert_int_equal(net_link_delete("tbr1", &err), 0);
        close(ns);
}

static void test_nft_container_lifecycle(void **state)
{
        struct coi_error err = { 0 };
        struct net_prefix subnet = { 0x0a580000, 24 };
        assert_false(net_nft_host_exists());
        assert_int_equal(net_nft_host_ensure("tbr2", &subnet, &err), 0);
        assert_true(net_nft_host_exists());
        assert_int_equal(net_nft_host_ensure("tbr2", &subnet, &err), 0);
        struct net_policy pol = { .mode = NET_MODE_ALLOWLIST };
        assert_int_equal(net_nft_container_add("c1", 0x0a580002, 0x0a580001, &pol, 7, &err), 0);
        /* the same container twice: the map element exists already */
        assert_true(net_nft_container_add("c1", 0x0a580002, 0x0a580001, &pol, 7, &err) < 0);

        /* a learned address refreshed with a shorter timeout takes the new one */
        assert_int_equal(net_nft_learned_add("c1", 0xcb00710a, 60000, &err), 0);
        assert_int_equal(net_nft_learned_add("c1", 0xcb00710a, 5000, &err), 0);
        struct net_nft_elem *el = NULL;
        size_t n = 0;
        assert_int_equal(net_nft_list("c1", 'a', &el, &n, &err), 0);
        assert_int_equal(n, 1);
        assert_int_equal(el[0].addr, 0xcb00710a);
        assert_true(el[0].expires_ms > 0 && el[0].expires_ms <= 5000);
        free(el);
        assert_int_equal(net_nft_learned_del("c1", 0xcb00710a, &err), 0);
        assert_int_equal(net_nft_learned_del("c1", 0xcb00710a, &err), 0);

        struct net_prefix p = { 0xc0a84d00, 24 }, q = { 0x01020304, 32 };
        assert_int_equal(net_nft_prefix_add("c1", false, &p, &err), 0);
        assert_int_equal(net_nft_prefix_add("c1", false, &q, &err), 0);
        assert_int_equal(net_nft_prefix_add("c1", false, &q, &err), 0);
        assert_int_equal(net_nft_list("c1", 'p', &el, &n, &err), 0);
        assert_int_equal(n, 2);
        assert_int_equal(el[0].addr, 0x01020304);
        assert_int_equal(el[0].len, 32);
        assert_int_equal(el[1].addr, 0xc0a84d00);
        assert_int_equal(el[1].len, 24);
        free(el);
        assert_int_equal(net_nft_prefix_del("c1", false, &p, &err), 0);
        assert_int_equal(net_nft_prefix_del("c1", false, &p, &err), 0);
        assert_int_equal(net_nft_list("c1", 'p', &el, &n, &err), 0);
        assert_int_equal(n, 1);
        free(el);

        struct net_policy open = { .mode = NET_MODE_OPEN, .block_metadata_endpoint = true };
        assert_int_equal(net_nft_container_add("c2", 0x0a580003, 0x0a580001, &open, 7, &err), 0);
        char **names = NULL;
        assert_int_equal(net_nft_list_containers(&names, &err), 0);
        assert_int_equal(strv_length(names), 2);
        strv_free(names);

        assert_int_equal(net_nft_container_remove("c1", 0x0a580002, &err), 0);
        assert_int_equal(net_nft_container_remove("c1", 0x0a580002, &err), 0);
        assert_int_equal(net_nft_list("c1", 'a', &el, &n, &err), -ENOENT);
        assert_int_equal(net_nft_list_containers(&names, &err), 0);
        assert_int_equal(strv_length(names), 1);
        assert_string_equal(names[0], "c2");
        strv_free(names);
        assert_int_equal(net_nft_host_remove(&err), 0);
        assert_false(net_nft_host_exists());
        assert_int_equal(net_nft_host_remove(&err), 0);
}

int main(void)
{
        /* everything below happens in a namespace of our own, gone when the test exits */
        if (unshare(CLONE_NEWNET) < 0) {
                /* TAP, as tests/run reads it: skipped, not passed */
                printf("ok 1 - net-link # SKIP unshare(CLONE_NEWNET): %m (needs root)\n");
                return 0;
        }
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bridge_and_subnet_pick),
                cmocka_unit_test(test_veth_into_namespace),
                cmocka_unit_test(test_nft_container_lifecycle),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
