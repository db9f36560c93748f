/* fuzz-oci-layout.c — libFuzzer harness for importing an OCI image layout (image_import_oci): index.json
 * → manifest → config → layers, unpacked into a scratch directory (fuzz-sandbox.c). The input is the
 * documents separated by "\n----\n": index.json, then blobs (manifest, config, layers …). "@blobN@" in
 * a document stands for the digest of blob N (written first), which a mutator could never compute. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/sha256.h"
#include "fuzz-sandbox.h"
#include "image/image-internal.h"
#include "util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEP      "\n----\n"
#define MAX_DOCS 8

static unsigned flags = EXTRACT_SETID | EXTRACT_XATTRS;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        if (geteuid() == 0) /* not in the user namespace of an unprivileged run: no chown, no mknod */
                flags |= EXTRACT_OWNERS | EXTRACT_DEVICES;
        fuzz_sandbox_setup();
        return 0;
}

struct doc {
        const char *data;
        size_t len;
        char *owned; /* after placeholder substitution */
        char digest[72];
};

/* doc with every "@blobN@" (N < n) replaced by that blob's digest. */
static void substitute(struct doc *d, const struct doc *blobs, size_t n)
{
        size_t cap = d->len + 1 + 72 * (d->len / 7 + 1), o = 0;
        char *out = malloc(cap);
        if (!out)
                abort();
        for (size_t i = 0; i < d->len;) {
                unsigned k;
                int used = 0;
                if (d->data[i] == '@' && d->len - i >= 7 && memcmp(d->data + i, "@blob", 5) == 0 &&
                    d->data[i + 5] >= '0' && d->data[i + 5] < '0' + MAX_DOCS && d->data[i + 6] == '@') {
                        k = (unsigned)(d->data[i + 5] - '0');
                        if (k < n) {
                                used = (int)strlen(blobs[k].digest);
                                memcpy(out + o, blobs[k].digest, (size_t)used);
                                o += (size_t)used;
                                i += 7;
                                continue;
                        }
                }
                out[o++] = d->data[i++];
        }
        out[o] = '\0';
        d->owned = out;
        d->data = out;
        d->len = o;
}

static void digest_of(struct doc *d)
{
        struct sha256_ctx c;
        char hex[65];
        sha256_init(&c);
        sha256_update(&c, d->data, d->len);
        sha256_final_hex(&c, hex);
        snprintf(d->digest, sizeof(d->digest), "sha256:%s", hex);
}

static void write_at(int dirfd, const char *path, const char *data, size_t len)
{
        struct coi_error err = { 0 };
        if (write_file_atomic_at(dirfd, path, data, len, 0644, &err) < 0) {
                fprintf(stderr, "fuzz-oci-layout: %s\n", err.msg);
                abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct doc docs[MAX_DOCS + 1] = { 0 };
        size_t n = 0;
        const char *p = (const char *)data, *end = p + size;
        while (n < MAX_DOCS + 1) {
                const char *sep = memmem(p, (size_t)(end - p), SEP, strlen(SEP));
                docs[n].data = p;
                docs[n].len = (size_t)((sep ? sep : end) - p);
                n++;
                if (!sep)
                        break;
                p = sep + strlen(SEP);
        }
        /* docs[0] is index.json, docs[1..] the blobs 0.. */
        struct doc *blobs = docs + 1;
        size_t n_blobs = n - 1;
        for (size_t i = 0; i < n_blobs; i++) {
                substitute(&blobs[i], blobs, i);
                digest_of(&blobs[i]);
        }
        substitute(&docs[0], blobs, n_blobs);

        int scratch = fuzz_sandbox_scratch();
        struct coi_error err = { 0 };
        if (mkdir_p_at(scratch, "layout/blobs/sha256", 0755, &err) < 0 ||
            mkdirat(scratch, "rootfs", 0755) < 0)
                abort();
        int layout = openat(scratch, "layout", O_PATH | O_DIRECTORY | O_CLOEXEC);
        int rootfs = openat(scratch, "rootfs", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (layout < 0 || rootfs < 0)
                abort();
        write_at(layout, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
        write_at(layout, "index.json", docs[0].data, docs[0].len);
        for (size_t i = 0; i < n_blobs; i++) {
                char path[128];
                snprintf(path, sizeof(path), "blobs/sha256/%s", blobs[i].digest + 7);
                write_at(layout, path, blobs[i].data, blobs[i].len);
        }

        struct image_import_options opts = { .file = "layout", .name = "fuzz", .id_shift = 100000 };
        struct import im = { .o = &opts, .file_name = "layout", .tmpfd = -1, .flags = flags };
        int r = image_import_oci(&im, layout, rootfs, &err);
        free(im.architecture);
        close(layout);
        close(rootfs);
        close(scratch);
        for (size_t i = 0; i < n; i++)
                free(docs[i].owned);
        fuzz_sandbox_done(r, &err);
        return 0;
}
