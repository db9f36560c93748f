/* test-slots.c — slot choice from a fake container list: lowest free, --slot N, persistent reuse, all busy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "session/slots.h"
#include "util.h"
#include "session/workspace.h"

#define WS "/home/u/proj"

struct fake {
        enum slot_state s[SLOT_MAX + 1];
        int calls;
        bool fail;
};

static int fake_state(const char *name, enum slot_state *ret, void *userdata, struct coi_error *err)
{
        struct fake *f = userdata;
        f->calls++;
        if (f->fail)
                return coi_error_set(err, EIO, "list containers: broken");
        char hash[9];
        int slot;
        assert_int_equal(workspace_parse_container_name(name, "coi-", hash, &slot), 0);
        char want[9];
        workspace_hash(WS, want);
        assert_string_equal(hash, want);
        *ret = f->s[slot];
        return 0;
}

static int choose(struct fake *f, int slot, bool persistent, struct slot_choice *c, struct coi_error *err)
{
        struct slot_request req = { .workspace = WS,
                                    .prefix = "coi-",
                                    .slot = slot,
                                    .persistent = persistent,
                                    .state = fake_state,
                                    .userdata = f };
        return slot_choose(&req, c, err);
}

static void test_lowest_free(void **state)
{
        struct fake f = { 0 };
        struct slot_choice c;
        struct coi_error err = { 0 };
        assert_int_equal(choose(&f, 0, false, &c, &err), 0);
        assert_int_equal(c.slot, 1);
        f.s[1] = SLOT_RUNNING;
        f.s[2] = SLOT_STOPPED;
        f.s[4] = SLOT_RUNNING;
        assert_int_equal(choose(&f, 0, false, &c, &err), 0);
        assert_int_equal(c.slot, 3);
        assert_false(c.reused);
        assert_false(c.moved);
}

static void test_persistent_reuses_lowest_stopped(void **state)
{
        struct fake f = { 0 };
        f.s[1] = SLOT_RUNNING;
        f.s[3] = SLOT_STOPPED;
        f.s[5] = SLOT_STOPPED;
        struct slot_choice c;
        struct coi_error err = { 0 };
        assert_int_equal(choose(&f, 0, true, &c, &err), 0);
        assert_int_equal(c.slot, 3);
        assert_true(c.reused);
        /* no stopped one: lowest free */
        f.s[3] = f.s[5] = SLOT_FREE;
        assert_int_equal(choose(&f, 0, true, &c, &err), 0);
        assert_int_equal(c.slot, 2);
        assert_false(c.reused);
}

static void test_explicit_slot(void **state)
{
        struct fake f = { 0 };
        struct slot_choice c;
        struct coi_error err = { 0 };
        assert_int_equal(choose(&f, 7, false, &c, &err), 0);
        assert_int_equal(c.slot, 7);
        f.s[7] = SLOT_STOPPED;
        assert_int_equal(choose(&f, 7, false, &c, &err), 0);
        assert_int_equal(c.slot, 7);
        assert_true(c.reused);
        f.s[7] = SLOT_RUNNING;
        f.s[8] = SLOT_STOPPED;
        assert_int_equal(choose(&f, 7, false, &c, &err), 0);
        assert_int_equal(c.slot, 9);
        assert_true(c.moved);
        f.s[9] = f.s[10] = SLOT_RUNNING;
        assert_int_equal(choose(&f, 7, false, &c, &err), -EBUSY);
        assert_non_null(strstr(err.msg, "slot 7"));
        assert_non_null(strstr(err.msg, "-10 (running)"));
        assert_int_equal(choose(&f, 11, false, &c, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "1 to 10"));
        assert_int_equal(choose(&f, -1, false, &c, &err), -EINVAL);
}

static void test_all_busy_names_them(void **state)
{
        struct fake f = { 0 };
        for (int s = 1; s <= SLOT_MAX; s++)
                f.s[s] = s % 2 ? SLOT_RUNNING : SLOT_STOPPED;
        struct slot_choice c = { .slot = 42 };
        struct coi_error err = { 0 };
        assert_int_equal(choose(&f, 0, false, &c, &err), -EBUSY);
        assert_int_equal(c.slot, 42); /* untouched on failure */
        assert_non_null(strstr(err.msg, "all 10 slots"));
        assert_non_null(strstr(err.msg, WS));
        for (int s = 1; s <= SLOT_MAX; s++) {
                _cleanup_free_ char *n = workspace_container_name(WS, s, "coi-");
                assert_non_null(strstr(err.msg, n));
        }
        assert_non_null(strstr(err.msg, "(stopped)"));
}

static void test_callback_error_propagates(void **state)
{
        struct fake f = { .fail = true };
        struct slot_choice c;
        struct coi_error err = { 0 };
        assert_int_equal(choose(&f, 0, false, &c, &err), -EIO);
        assert_string_equal(err.msg, "list containers: broken");
        assert_int_equal(f.calls, 1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lowest_free),
                cmocka_unit_test(test_persistent_reuses_lowest_stopped),
                cmocka_unit_test(test_explicit_slot),
                cmocka_unit_test(test_all_busy_names_them),
                cmocka_unit_test(test_callback_error_propagates),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
