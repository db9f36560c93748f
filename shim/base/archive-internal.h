/* archive-internal.h — the few pieces archive-io.c (extraction) and archive-write.c (the tar writer) share:
 * cleanup helpers for libarchive and directory streams, and how often progress is reported. */
#pragma once

#include <archive_entry.h>
#include <dirent.h>

#include "archive-io.h"

/* How often the progress callback runs. */
#define PROGRESS_ENTRIES 256
#define PROGRESS_BYTES   (4u << 20)

static inline void archive_entry_freep(struct archive_entry **e)
{
        if (*e)
                archive_entry_free(*e);
}
