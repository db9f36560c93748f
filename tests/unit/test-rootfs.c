/* test-rootfs.c — the container's own name in /etc/hosts: added once, the image's lines kept, the
 * 127.0.1.1 line of a copied container renamed, nothing added when the name resolves already. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "container/rootfs.h"

static void expect_hosts(const char *text, const char *name, const char *want)
{
        char *got = rootfs_hosts_with_name(text, name);
        assert_non_null(got);
        assert_string_equal(got, want);
        /* Idempotent: a second start changes nothing. */
        char *again = rootfs_hosts_with_name(got, name);
        assert_string_equal(again, got);
        free(again);
        free(got);
}

static void test_hosts_appends_the_name(void **state)
{
        (void)state;
        expect_hosts("127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost\n", "coi-1a2b3c4d-1",
                     "127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost\n127.0.1.1\tcoi-1a2b3c4d-1\n");
        expect_hosts("127.0.0.1 localhost", "c1", "127.0.0.1 localhost\n127.0.1.1\tc1\n");
        expect_hosts("", "c1", "127.0.1.1\tc1\n");
}

static void test_hosts_renames_the_own_line(void **state)
{
        (void)state;
        expect_hosts("127.0.0.1 localhost\n127.0.1.1\told-name\n# end\n", "new-name",
                     "127.0.0.1 localhost\n127.0.1.1\tnew-name\n# end\n");
}

static void test_hosts_keeps_a_name_that_resolves(void **state)
{
        (void)state;
        /* the user mapped it elsewhere: theirs wins; a comment or the address field never counts */
        expect_hosts("10.0.0.5 web C1 # mine\n", "c1", "10.0.0.5 web C1 # mine\n");
        expect_hosts("127.0.0.1 localhost # c1\n", "c1", "127.0.0.1 localhost # c1\n127.0.1.1\tc1\n");
        expect_hosts("c1 x\n", "c1", "c1 x\n127.0.1.1\tc1\n");
        expect_hosts("127.0.0.1 c1x\n", "c1", "127.0.0.1 c1x\n127.0.1.1\tc1\n");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_hosts_appends_the_name),
                cmocka_unit_test(test_hosts_renames_the_own_line),
                cmocka_unit_test(test_hosts_keeps_a_name_that_resolves),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
