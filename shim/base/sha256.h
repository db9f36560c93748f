/* sha256.h — a minimal SHA-256 (FIPS 180-4), enough for image digests without another library.
 * Used by archive-io.c (hash while reading) and image-oci.c (index.json of a layout directory). */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct sha256_ctx {
        uint32_t h[8];
        uint64_t len;
        uint8_t buf[64];
        size_t fill;
};
void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
/* Finishes and writes 64 lowercase hex digits + NUL. */
void sha256_final_hex(struct sha256_ctx *c, char hex[65]);
