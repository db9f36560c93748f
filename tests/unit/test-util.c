/* test-util.c — errors, strv and the atomic file helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "util.h"

static void test_error_set_names_object(void **state)
{
        struct coi_error err = { 0 };
        int r = coi_error_set(&err, ENOENT, "open %s: %m", "/nope");
        assert_int_equal(r, -ENOENT);
        assert_int_equal(err.code, ENOENT);
        assert_string_equal(err.msg, "open /nope: No such file or directory");
        coi_error_prefix(&err, "create %s: ", "c1");
        assert_string_equal(err.msg, "create c1: open /nope: No such file or directory");
}

static void test_strv(void **state)
{
        _cleanup_strv_ char **v = NULL;
        assert_int_equal(strv_push(&v, "a"), 0);
        assert_int_equal(strv_push(&v, "b"), 0);
        assert_int_equal(strv_length(v), 2);
        _cleanup_strv_ char **c = strv_copy(v);
        assert_string_equal(c[1], "b");
        assert_null(c[2]);
}

/* What a writer killed between create and rename leaves: removed once its pid is gone, kept while alive. */
static void test_stale_temporaries_of_dead_writers_go(void **state)
{
        char dir[] = "/tmp/coi-test-util-XXXXXX";
        assert_non_null(mkdtemp(dir));
        _cleanup_close_ int dfd = open(dir, O_DIRECTORY | O_CLOEXEC);
        pid_t dead = fork();
        if (dead == 0)
                _exit(0);
        assert_true(dead > 0);
        assert_int_equal(waitpid(dead, NULL, 0), dead);
        _cleanup_free_ char *stale = xasprintf("rec.tmp.%d", (int)dead);
        _cleanup_free_ char *live = xasprintf("rec.tmp.%d", (int)getpid());
        const char *names[] = { stale, live, "rec", "notes.tmp.x", ".tmp.1" };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                close(openat(dfd, names[i], O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
        assert_int_equal(remove_stale_temporaries_at(dfd), 1);
        assert_int_equal(faccessat(dfd, stale, F_OK, 0), -1);
        for (size_t i = 1; i < ELEMENTSOF(names); i++) {
                assert_int_equal(faccessat(dfd, names[i], F_OK, 0), 0);
                unlinkat(dfd, names[i], 0);
        }
        rmdir(dir);
}

static void test_atomic_write_and_read(void **state)
{
        char dir[] = "/tmp/coi-test-util-XXXXXX";
        assert_non_null(mkdtemp(dir));
        _cleanup_close_ int dfd = open(dir, O_DIRECTORY | O_CLOEXEC);
        struct coi_error err = { 0 };
        assert_int_equal(write_file_atomic_at(dfd, "state.json", "{\"a\":1}", 7, 0600, &err), 0);
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        assert_int_equal(read_file_at(dfd, "state.json", 0, &data, &len, &err), 0);
        assert_int_equal(len, 7);
        assert_string_equal(data, "{\"a\":1}");
        struct stat st;
        assert_int_equal(fstatat(dfd, "state.json", &st, 0), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        /* no temporary file is left behind */
        assert_int_equal(faccessat(dfd, "state.json.tmp", F_OK, 0), -1);
        assert_int_equal(mkdir_p_at(dfd, "a/b/c", 0755, &err), 0);
        assert_int_equal(mkdir_p_at(dfd, "a/b/c", 0755, &err), 0);
        assert_int_equal(read_file_at(dfd, "missing", 0, &data, &len, &err), -ENOENT);
        assert_string_equal(err.msg, "open missing: No such file or directory");
        unlinkat(dfd, "state.json", 0);
        unlinkat(dfd, "a/b/c", AT_REMOVEDIR);
        unlinkat(dfd, "a/b", AT_REMOVEDIR);
        unlinkat(dfd, "a", AT_REMOVEDIR);
        rmdir(dir);
}

static void test_read_file_limit(void **state)
{
        struct coi_error err = { 0 };
        char *data = NULL;
        assert_int_equal(read_file_at(AT_FDCWD, "/proc/self/status", 16, &data, NULL, &err), -EFBIG);
        assert_null(data);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_error_set_names_object),
                cmocka_unit_test(test_strv),
                cmocka_unit_test(test_atomic_write_and_read),
                cmocka_unit_test(test_stale_temporaries_of_dead_writers_go),
                cmocka_unit_test(test_read_file_limit),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
