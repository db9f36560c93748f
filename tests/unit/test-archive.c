/* test-archive.c — safe extraction of hostile tars (built here with libarchive), whiteouts, export
 * round trip, remove_tree_at and SHA-256 against the FIPS 180-4 vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "base/archive-io.h"
#include "base/sha256.h"
#include "util.h"

struct tentry {
        char type; /* f file, d dir, l symlink, h hardlink, c char device */
        const char *path;
        const char *target; /* symlink/hardlink target, or file content */
        mode_t mode;
};

/* Writes a gzip'd pax tar of the entries to a memfd-like temp file; returns its fd at offset 0. */
static int make_tar(const struct tentry *ents, size_t n)
{
        char path[] = "/tmp/coi-test-archive-tar-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        unlink(path);
        struct archive *w = archive_write_new();
        archive_write_set_format_pax_restricted(w);
        archive_write_add_filter_gzip(w);
        assert_int_equal(archive_write_open_fd(w, fd), ARCHIVE_OK);
        for (size_t i = 0; i < n; i++) {
                struct archive_entry *e = archive_entry_new();
                archive_entry_set_pathname(e, ents[i].path);
                archive_entry_set_perm(e, ents[i].mode ? ents[i].mode : 0644);
                archive_entry_set_uid(e, 0);
                archive_entry_set_gid(e, 0);
                switch (ents[i].type) {
                case 'f':
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_size(e, ents[i].target ? (la_int64_t)strlen(ents[i].target) : 0);
                        break;
                case 'd':
                        archive_entry_set_filetype(e, AE_IFDIR);
                        break;
                case 'l':
                        archive_entry_set_filetype(e, AE_IFLNK);
                        archive_entry_set_symlink(e, ents[i].target);
                        break;
                case 'h':
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_hardlink(e, ents[i].target);
                        break;
                case 'c':
                        archive_entry_set_filetype(e, AE_IFCHR);
                        archive_entry_set_rdev(e, makedev(1, 3));
                        break;
                }
                assert_true(archive_write_header(w, e) >= ARCHIVE_WARN);
                if (ents[i].type == 'f' && ents[i].target)
                        archive_write_data(w, ents[i].target, strlen(ents[i].target));
                archive_entry_free(e);
        }
        archive_write_close(w);
        archive_write_free(w);
        lseek(fd, 0, SEEK_SET);
        return fd;
}

struct dirs {
        char base[64];
        int root;    /* base/root: the target */
        int outside; /* base/outside: must stay empty */
};

static void dirs_make(struct dirs *d)
{
        snprintf(d->base, sizeof(d->base), "/tmp/coi-test-archive-XXXXXX");
        assert_non_null(mkdtemp(d->base));
        int b = open(d->base, O_PATH | O_DIRECTORY);
        assert_int_equal(mkdirat(b, "root", 0755), 0);
        assert_int_equal(mkdirat(b, "outside", 0755), 0);
        d->root = openat(b, "root", O_PATH | O_DIRECTORY);
        d->outside = openat(b, "outside", O_RDONLY | O_DIRECTORY);
        close(b);
}

static bool dir_empty(int fd)
{
        DIR *d = fdopendir(openat(fd, ".", O_RDONLY | O_DIRECTORY));
        assert_non_null(d);
        int n = 0;
        for (struct dirent *de; (de = readdir(d));)
                n += !streq(de->d_name, ".") && !streq(de->d_name, "..");
        closedir(d);
        return n == 0;
}

static void dirs_free(struct dirs *d)
{
        int b = open(d->base, O_PATH | O_DIRECTORY);
        struct coi_error err = { 0 };
        assert_int_equal(remove_tree_at(b, "root", &err), 0);
        assert_int_equal(remove_tree_at(b, "outside", &err), 0);
        close(b);
        rmdir(d->base);
        close(d->root);
        close(d->outside);
}

static int extract(struct dirs *d, const struct tentry *ents, size_t n, unsigned flags,
                   struct extract_stats *st, struct coi_error *err)
{
        int fd = make_tar(ents, n);
        struct extract_options o = { .name = "hostile.tar.gz", .flags = flags };
        int r = extract_archive(fd, d->root, &o, st, err);
        close(fd);
        return r;
}

static void test_dotdot_is_refused_and_named(void **state)
{
        struct dirs d;
        dirs_make(&d);
        const struct tentry ents[] = { { 'f', "../../outside/pwned", "x", 0 } };
        struct coi_error err = { 0 };
        assert_int_equal(extract(&d, ents, 1, 0, NULL, &err), -EPERM);
        assert_string_equal(err.msg, "hostile.tar.gz: entry ../../outside/pwned: path escapes the root");
        assert_true(dir_empty(d.outside));
        dirs_free(&d);
}

static void test_absolute_path_lands_inside(void **state)
{
        struct dirs d;
        dirs_make(&d);
        char abs[128];
        snprintf(abs, sizeof(abs), "%s/outside/pwned", d.base);
        const struct tentry ents[] = { { 'f', abs, "x", 0 } };
        struct coi_error err = { 0 };
        assert_int_equal(extract(&d, ents, 1, 0, NULL, &err), 0);
        assert_true(dir_empty(d.outside));
        assert_int_equal(faccessat(d.root, abs + 1, F_OK, 0), 0);
        dirs_free(&d);
}

static void test_symlink_then_file_stays_inside(void **state)
{
        struct dirs d;
        dirs_make(&d);
        char abs[128];
        snprintf(abs, sizeof(abs), "%s/outside", d.base);
        const struct tentry ents[] = { { 'l', "link", abs, 0 }, { 'f', "link/pwned", "x", 0 } };
        struct coi_error err = { 0 };
        assert_int_equal(extract(&d, ents, 2, 0, NULL, &err), -ENOENT);
        assert_string_equal(
                err.msg, "hostile.tar.gz: entry link/pwned: parent link is a symlink to a missing directory");
        assert_true(dir_empty(d.outside));

        /* a relative chain of ".." is clamped at the root: the file lands in the root itself */
        const struct tentry up[] = { { 'l', "up", "../../../..", 0 }, { 'f', "up/pwned", "x", 0 } };
        assert_int_equal(extract(&d, up, 2, 0, NULL, &err), 0);
        assert_true(dir_empty(d.outside));
        assert_int_equal(faccessat(d.root, "pwned", F_OK, AT_SYMLINK_NOFOLLOW), 0);
        dirs_free(&d);
}

static void test_hardlink_outside_is_refused(void **state)
{
        struct dirs d;
        dirs_make(&d);
        const struct tentry ents[] = { { 'h', "passwd", "/etc/passwd", 0 } };
        struct coi_error err = { 0 };
        assert_int_equal(extract(&d, ents, 1, 0, NULL, &err), -ENOENT);
        assert_string_equal(
                err.msg,
                "hostile.tar.gz: entry passwd: hardlink target /etc/passwd: No such file or directory");
        const struct tentry up[] = { { 'h', "passwd", "../../../etc/passwd", 0 } };
        assert_int_equal(extract(&d, up, 1, 0, NULL, &err), -EPERM);
        assert_string_equal(err.msg, "hostile.tar.gz: entry passwd: hardlink target escapes the root");
        const struct tentry ok[] = { { 'f', "a", "data", 0 }, { 'h', "b", "a", 0 } };
        assert_int_equal(extract(&d, ok, 2, 0, NULL, &err), 0);
        struct stat sa, sb;
        assert_int_equal(fstatat(d.root, "a", &sa, 0), 0);
        assert_int_equal(fstatat(d.root, "b", &sb, 0), 0);
        assert_true(sa.st_ino == sb.st_ino);
        dirs_free(&d);
}

static void test_devices_and_setid_need_flags(void **state)
{
        struct dirs d;
        dirs_make(&d);
        const struct tentry ents[] = { { 'c', "null", NULL, 0666 }, { 'f', "su", "x", 04755 } };
        struct coi_error err = { 0 };
        struct extract_stats st;
        assert_int_equal(extract(&d, ents, 2, 0, &st, &err), 0);
        assert_int_equal(st.skipped_devices, 1);
        assert_int_equal(st.stripped_setid, 1);
        struct stat s;
        assert_int_equal(fstatat(d.root, "null", &s, AT_SYMLINK_NOFOLLOW), -1);
        assert_int_equal(fstatat(d.root, "su", &s, 0), 0);
        assert_int_equal(s.st_mode & 07777, 0755);
        if (geteuid() == 0) {
                assert_int_equal(extract(&d, ents, 2, EXTRACT_DEVICES | EXTRACT_SETID, &st, &err), 0);
                assert_int_equal(fstatat(d.root, "null", &s, AT_SYMLINK_NOFOLLOW), 0);
                assert_true(S_ISCHR(s.st_mode));
                assert_int_equal(fstatat(d.root, "su", &s, 0), 0);
                assert_int_equal(s.st_mode & 07777, 04755);
        }
        dirs_free(&d);
}

static void test_huge_path_is_refused(void **state)
{
        struct dirs d;
        dirs_make(&d);
        char *p = malloc(6000);
        memset(p, 'a', 5999);
        p[5999] = '\0';
        for (int i = 100; i < 5999; i += 101)
                p[i] = '/';
        const struct tentry ents[] = { { 'f', p, "x", 0 } };
        struct coi_error err = { 0 };
        assert_int_equal(extract(&d, ents, 1, 0, NULL, &err), -ENAMETOOLONG);
        assert_non_null(strstr(err.msg, "hostile.tar.gz: entry aaaa"));
        assert_non_null(strstr(err.msg, "path is longer than PATH_MAX"));
        free(p);
        dirs_free(&d);
}

static void test_whiteouts(void **state)
{
        struct dirs d;
        dirs_make(&d);
        const struct tentry lower[] = {
                { 'd', "etc", NULL, 0755 }, { 'f', "etc/keep", "1", 0 }, { 'f', "etc/gone", "2", 0 },
                { 'd', "opq", NULL, 0755 }, { 'f', "opq/old", "3", 0 },
        };
        const struct tentry upper[] = {
                { 'f', "etc/.wh.gone", "", 0 },
                { 'd', "opq", NULL, 0755 },
                { 'f', "opq/new", "4", 0 },
                { 'f', "opq/.wh..wh..opq", "", 0 },
        };
        struct coi_error err = { 0 };
        struct extract_stats st;
        assert_int_equal(extract(&d, lower, ELEMENTSOF(lower), EXTRACT_WHITEOUTS, &st, &err), 0);
        assert_int_equal(extract(&d, upper, ELEMENTSOF(upper), EXTRACT_WHITEOUTS, &st, &err), 0);
        assert_int_equal(st.whiteouts, 2);
        assert_int_equal(faccessat(d.root, "etc/keep", F_OK, 0), 0);
        assert_int_equal(faccessat(d.root, "etc/gone", F_OK, 0), -1);
        assert_int_equal(faccessat(d.root, "etc/.wh.gone", F_OK, 0), -1);
        assert_int_equal(faccessat(d.root, "opq/old", F_OK, 0), -1);
        assert_int_equal(faccessat(d.root, "opq/new", F_OK, 0), 0); /* written by the same layer: kept */
        assert_int_equal(faccessat(d.root, "opq/.wh..wh..opq", F_OK, 0), -1);
        /* without the flag a .wh. file is just a file */
        assert_int_equal(extract(&d, upper, 1, 0, &st, &err), 0);
        assert_int_equal(faccessat(d.root, "etc/.wh.gone", F_OK, 0), 0);
        dirs_free(&d);
}

static void test_hostile_whiteouts_stay_inside(void **state)
{
        struct dirs d;
        dirs_make(&d);
        assert_int_equal(mknodat(d.outside, "victim", S_IFREG | 0644, 0), 0);
        char abs[128];
        snprintf(abs, sizeof(abs), "%s/outside", d.base);
        const struct tentry through_link[] = { { 'l', "link", abs, 0 }, { 'f', "link/.wh.victim", "", 0 } };
        const struct tentry dot[] = { { 'f', "etc/.wh..", "", 0 } };
        const struct tentry opaque_link[] = { { 'l', "l2", abs, 0 }, { 'f', "l2/.wh..wh..opq", "", 0 } };
        struct coi_error err = { 0 };
        assert_int_equal(extract(&d, through_link, 2, EXTRACT_WHITEOUTS, NULL, &err), 0);
        assert_int_equal(faccessat(d.outside, "victim", F_OK, 0), 0);
        assert_int_equal(extract(&d, dot, 1, EXTRACT_WHITEOUTS, NULL, &err), -EINVAL);
        assert_string_equal(err.msg, "hostile.tar.gz: entry etc/.wh..: invalid whiteout name");
        assert_int_equal(extract(&d, opaque_link, 2, EXTRACT_WHITEOUTS, NULL, &err), -ENOENT);
        assert_int_equal(faccessat(d.outside, "victim", F_OK, 0), 0);
        unlinkat(d.outside, "victim", 0);
        dirs_free(&d);
}

static void test_export_round_trip(void **state)
{
        struct dirs d;
        dirs_make(&d);
        const struct tentry ents[] = {
                { 'd', "bin", NULL, 0755 },
                { 'f', "bin/tool", "#!/bin/sh\n", 0750 },
                { 'l', "sh", "bin/tool", 0 },
                { 'h', "bin/tool2", "bin/tool", 0 },
        };
        struct coi_error err = { 0 };
        assert_int_equal(extract(&d, ents, ELEMENTSOF(ents), 0, NULL, &err), 0);
        char path[] = "/tmp/coi-test-archive-out-XXXXXX";
        int out = mkstemp(path);
        unlink(path);
        assert_int_equal(archive_write_tree(d.root, out, "zstd", "out.tar.zst", NULL, NULL, &err), 0);
        lseek(out, 0, SEEK_SET);
        int b = open(d.base, O_PATH | O_DIRECTORY);
        assert_int_equal(mkdirat(b, "again", 0755), 0);
        int again = openat(b, "again", O_PATH | O_DIRECTORY);
        struct extract_options o = { .name = "out.tar.zst" };
        assert_int_equal(extract_archive(out, again, &o, NULL, &err), 0);
        char target[64] = "";
        assert_int_equal(readlinkat(again, "sh", target, sizeof(target)), 8);
        assert_string_equal(target, "bin/tool");
        struct stat s1, s2;
        assert_int_equal(fstatat(again, "bin/tool", &s1, 0), 0);
        assert_int_equal(fstatat(again, "bin/tool2", &s2, 0), 0);
        assert_int_equal(s1.st_mode & 07777, 0750);
        assert_true(s1.st_ino == s2.st_ino);
        assert_int_equal(s1.st_size, 10);
        assert_int_equal(remove_tree_at(b, "again", &err), 0);
        assert_int_equal(faccessat(b, "again", F_OK, 0), -1);
        close(again);
        close(b);
        close(out);
        dirs_free(&d);
}

/* Found by fuzz-tar (issue 22): a tree nested deeper than RLIMIT_NOFILE (here 3000 levels, past
 * PATH_MAX too, as a container can make) could not be removed: one fd per level ran out (EMFILE). */
static void test_remove_tree_of_any_depth(void **state)
{
        struct dirs d;
        dirs_make(&d);
        struct rlimit old, low;
        assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
        low = old;
        low.rlim_cur = 64;
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
        assert_int_equal(mkdirat(d.outside, "keep", 0755), 0);
        int cur = openat(d.root, ".", O_RDONLY | O_DIRECTORY);
        for (int i = 0; i < 3000; i++) {
                assert_int_equal(mkdirat(cur, "d", 0755), 0);
                if (i % 100 == 0) {
                        assert_int_equal(symlinkat("/proc/self/cwd/..", cur, "up"), 0);
                        int f = openat(cur, "file", O_WRONLY | O_CREAT | O_EXCL, 0600);
                        assert_true(f >= 0);
                        close(f);
                        assert_int_equal(mkdirat(cur, "sibling", 0700), 0);
                }
                int next = openat(cur, "d", O_RDONLY | O_DIRECTORY);
                assert_true(next >= 0);
                close(cur);
                cur = next;
        }
        close(cur);
        int b = open(d.base, O_PATH | O_DIRECTORY);
        struct coi_error err = { 0 };
        int r = remove_tree_at(b, "root", &err);
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
        assert_string_equal(err.msg, "");
        assert_int_equal(r, 0);
        assert_int_equal(faccessat(b, "root", F_OK, AT_SYMLINK_NOFOLLOW), -1);
        assert_int_equal(errno, ENOENT);
        assert_int_equal(faccessat(d.outside, "keep", F_OK, 0), 0);
        assert_int_equal(mkdirat(b, "root", 0755), 0); /* for dirs_free */
        close(b);
        dirs_free(&d);
}

static void test_garbage_is_an_error(void **state)
{
        struct dirs d;
        dirs_make(&d);
        char path[] = "/tmp/coi-test-archive-bad-XXXXXX";
        int fd = mkstemp(path);
        unlink(path);
        assert_int_equal(write(fd, "this is not a tar archive, not even close......", 47), 47);
        lseek(fd, 0, SEEK_SET);
        struct extract_options o = { .name = "junk.tar" };
        struct coi_error err = { 0 };
        assert_true(extract_archive(fd, d.root, &o, NULL, &err) < 0);
        assert_true(startswith(err.msg, "junk.tar: "));
        close(fd);
        dirs_free(&d);
}

static void sha_hex(const void *data, size_t len, char hex[65])
{
        struct sha256_ctx c;
        sha256_init(&c);
        sha256_update(&c, data, len);
        sha256_final_hex(&c, hex);
}

static void test_sha256_vectors(void **state)
{
        char hex[65];
        sha_hex("", 0, hex);
        assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        sha_hex("abc", 3, hex);
        assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        sha_hex(two, strlen(two), hex);
        assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
        /* one million 'a', fed in odd-sized pieces to exercise the buffering */
        struct sha256_ctx c;
        char chunk[997];
        memset(chunk, 'a', sizeof(chunk));
        sha256_init(&c);
        size_t left = 1000000;
        while (left) {
                size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
                sha256_update(&c, chunk, n);
                left -= n;
        }
        sha256_final_hex(&c, hex);
        assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_dotdot_is_refused_and_named),
                cmocka_unit_test(test_absolute_path_lands_inside),
                cmocka_unit_test(test_symlink_then_file_stays_inside),
                cmocka_unit_test(test_hardlink_outside_is_refused),
                cmocka_unit_test(test_devices_and_setid_need_flags),
                cmocka_unit_test(test_huge_path_is_refused),
                cmocka_unit_test(test_whiteouts),
                cmocka_unit_test(test_hostile_whiteouts_stay_inside),
                cmocka_unit_test(test_export_round_trip),
                cmocka_unit_test(test_remove_tree_of_any_depth),
                cmocka_unit_test(test_garbage_is_an_error),
                cmocka_unit_test(test_sha256_vectors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
