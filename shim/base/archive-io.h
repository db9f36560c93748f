/* archive-io.h — unpacking untrusted tar archives (none/gzip/xz/zstd) into a directory fd without ever
 * writing outside it (archive-io.c), writing a tree as a tar (archive-write.c), removing trees by fd
 * (remove-tree.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "coi-runtime.h"

enum extract_flags {
        EXTRACT_OWNERS = 1 << 0,    /* chown entries to their (shifted) uid/gid; needs CAP_CHOWN */
        EXTRACT_DEVICES = 1 << 1,   /* create block/char device nodes (default: skip and count) */
        EXTRACT_SETID = 1 << 2,     /* keep setuid/setgid bits (default: strip and count) */
        EXTRACT_WHITEOUTS = 1 << 3, /* OCI layer: .wh.NAME deletes NAME, .wh..wh..opq empties the dir */
        EXTRACT_XATTRS = 1 << 4,    /* set extended attributes, security.capability included */
};

struct extract_progress {
        const char *stage;    /* what is being read ("layer 1/2"), NULL for a single archive */
        uint64_t bytes;       /* archive bytes read so far (compressed) */
        uint64_t total_bytes; /* size of the archive, 0 if unknown */
        uint64_t entries;     /* entries handled so far */
};
/* Called every few entries and at the end; a nonzero return aborts with ECANCELED. */
typedef int (*extract_progress_fn)(const struct extract_progress *p, void *userdata);

struct extract_options {
        const char *name;   /* how messages name the archive: "alpine.tar.gz" */
        const char *stage;  /* passed on in struct extract_progress */
        unsigned flags;     /* enum extract_flags */
        uint32_t uid_shift; /* added to every uid/gid (for setups without idmapped mounts) */
        uint32_t gid_shift;
        extract_progress_fn progress;
        void *progress_data;
        const char *expect_sha256; /* if set (64 hex chars), the whole archive file must hash to it */
};

struct extract_stats {
        uint64_t entries;         /* entries created or applied */
        uint64_t bytes;           /* file data written */
        uint64_t skipped_devices; /* device nodes not created (EXTRACT_DEVICES unset) */
        uint64_t skipped_other;   /* sockets and other types that a rootfs doesn't need */
        uint64_t stripped_setid;  /* files whose setuid/setgid bits were dropped */
        uint64_t skipped_xattrs;  /* xattrs the filesystem refused (ENOTSUP, EPERM) */
        uint64_t whiteouts;       /* .wh. entries applied */
        char sha256[65];          /* hex digest of the whole archive file */
};

/* Unpacks the archive read from archive_fd (a regular file or pipe, read to its end) into
 * target_dirfd. Every entry is resolved inside the target (openat2 RESOLVE_IN_ROOT); absolute paths
 * are taken as relative to the target, `..` components, hardlinks leaving the target and paths
 * longer than PATH_MAX are refused. Errors read "NAME: entry PATH: what went wrong". On error the
 * target holds whatever was unpacked so far: the caller unpacks into a temporary directory. */
int extract_archive(int archive_fd, int target_dirfd, const struct extract_options *opts,
                    struct extract_stats *ret_stats, struct coi_error *err);

/* Writes rootfs_dirfd's tree as a pax tar to out_fd with compression "none", "gzip", "xz" or "zstd",
 * keeping owners, modes, mtimes, hardlinks, device nodes and xattrs (security.capability too). */
int archive_write_tree(int rootfs_dirfd, int out_fd, const char *compression, const char *name,
                       extract_progress_fn progress, void *progress_data, struct coi_error *err);

/* openat2() of path below rootfd with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV:
 * symlinks and ".." never leave rootfd. "" is rootfd itself. Returns an fd, or -1 with errno. */
int open_inside(int rootfd, const char *path, int flags);

/* rm -rf NAME relative to dirfd, never following symlinks and never crossing into another mount (a
 * directory on another device than its parent: EBUSY naming it). A missing NAME is not an error. Any
 * depth (a container may nest directories beyond PATH_MAX): it holds two fds at most.
 * remove_tree_named: messages call NAME what (the path the user knows) and its entries what/…. */
int remove_tree_at(int dirfd, const char *name, struct coi_error *err);
int remove_tree_named(int dirfd, const char *name, const char *what, struct coi_error *err);
