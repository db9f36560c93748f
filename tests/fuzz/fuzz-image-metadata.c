/* fuzz-image-metadata.c — libFuzzer harness for an image's metadata.json (image_parse_metadata, as the
 * store reads it): what parses must write back (image_info_json) and read back to the same fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/image-internal.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same(const char *a, const char *b)
{
        return (!a && !b) || (a && b && streq(a, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* The store reads the file whole, NUL-terminated (read_file_at). */
        _cleanup_free_ char *json = malloc(size + 1);
        if (!json)
                return 0;
        memcpy(json, data, size);
        json[size] = '\0';

        struct coi_error err = { 0 };
        _cleanup_(image_info_freep) struct image_info *info = NULL;
        if (image_parse_metadata(json, "metadata.json", &info, &err) < 0) {
                if (info || !err.msg[0])
                        abort();
                return 0;
        }
        if (!image_name_valid(info->name))
                abort();

        _cleanup_free_ char *out = NULL;
        if (image_info_json((struct image_info *const[]){ info }, 1, false, &out, &err) < 0)
                abort();
        _cleanup_(image_info_freep) struct image_info *back = NULL;
        if (image_parse_metadata(out, "written metadata.json", &back, &err) < 0)
                abort(); /* coi cannot read back what it wrote */
        if (!same(info->name, back->name) || !same(info->source, back->source) ||
            !same(info->created, back->created) || !same(info->architecture, back->architecture) ||
            !same(info->digest, back->digest) || !same(info->format, back->format) ||
            info->size != back->size)
                abort();
        for (size_t i = 0; info->aliases && info->aliases[i]; i++)
                if (!back->aliases || !same(info->aliases[i], back->aliases[i]))
                        abort();
        return 0;
}
