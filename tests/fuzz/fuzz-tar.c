/* fuzz-tar.c — libFuzzer harness for the unpacker of untrusted archives (extract_archive): each input
 * is unpacked into a fresh scratch directory (fuzz-sandbox.c) and must leave everything outside it
 * untouched; the scratch directory must then be removable. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/archive-io.h"
#include "fuzz-sandbox.h"
#include "util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned flags = EXTRACT_SETID | EXTRACT_WHITEOUTS | EXTRACT_XATTRS;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        if (geteuid() == 0) /* not in the user namespace of an unprivileged run: no chown, no mknod */
                flags |= EXTRACT_OWNERS | EXTRACT_DEVICES;
        fuzz_sandbox_setup();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        int in = memfd_create("fuzz.tar", MFD_CLOEXEC);
        if (in < 0 || write_all(in, data, size) < 0 || lseek(in, 0, SEEK_SET) < 0)
                abort();
        int root = fuzz_sandbox_scratch();
        struct extract_options opts = {
                .name = "fuzz.tar", .flags = flags, .uid_shift = 100000, .gid_shift = 100000
        };
        struct extract_stats stats = { 0 };
        struct coi_error err = { 0 };
        int r = extract_archive(in, root, &opts, &stats, &err);
        close(in);
        close(root);
        fuzz_sandbox_done(r, &err);
        return 0;
}
