/* image-oci.c — reading an OCI image layout for import: index.json → manifest (for this architecture) →
 * config and layers; every blob is opened inside the layout and checked against its sha256 digest. */
#include <stdio.h>
#include <sys/utsname.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "image-internal.h"
#include "base/sha256.h"

const char *image_oci_arch(const char *machine)
{
        static const char *const map[][2] = {
                { "x86_64", "amd64" }, { "aarch64", "arm64" },   { "i686", "386" },
                { "i386", "386" },     { "armv7l", "arm" },      { "ppc64le", "ppc64le" },
                { "s390x", "s390x" },  { "riscv64", "riscv64" },
        };
        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (streq(machine, map[i][0]))
                        return map[i][1];
        return machine;
}

const char *image_host_arch(void)
{
        static struct utsname u;
        if (!u.machine[0] && uname(&u) < 0)
                return "unknown";
        return image_oci_arch(u.machine);
}

bool image_is_type_at(int dirfd, const char *name, mode_t type)
{
        struct stat st;
        return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && (st.st_mode & S_IFMT) == type;
}

static void add_stats(struct extract_stats *sum, const struct extract_stats *s)
{
        sum->entries += s->entries;
        sum->bytes += s->bytes;
        sum->skipped_devices += s->skipped_devices;
        sum->skipped_other += s->skipped_other;
        sum->stripped_setid += s->stripped_setid;
        sum->skipped_xattrs += s->skipped_xattrs;
        sum->whiteouts += s->whiteouts;
}

#define OCI_MAX_JSON    (4u << 20)
#define OCI_INDEX_DEPTH 4

/* "sha256:<64 hex>" → the hex part, or NULL: the digest names a file, so it is checked strictly. */
static const char *digest_hex(const char *digest)
{
        if (!digest || !startswith(digest, "sha256:") || strlen(digest) != 7 + 64)
                return NULL;
        for (const char *p = digest + 7; *p; p++)
                if (!strchr("0123456789abcdef", *p))
                        return NULL;
        return digest + 7;
}

/* Opens blobs/sha256/HEX inside the layout; symlinks in an imported layout stay inside it. */
static int blob_open(struct import *im, int layoutfd, const char *digest, int *ret_fd, struct coi_error *err)
{
        const char *hex = digest_hex(digest);
        if (!hex)
                return coi_error_set(err, EINVAL, "%s: unsupported or malformed digest \"%s\"", im->file_name,
                                     digest ? digest : "(none)");
        char path[128];
        snprintf(path, sizeof(path), "blobs/sha256/%s", hex);
        _cleanup_close_ int fd = open_inside(layoutfd, path, O_RDONLY);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
                return coi_error_set(err, errno, "%s: blob %s: %m", im->file_name, digest);
        if (!S_ISREG(st.st_mode))
                return coi_error_set(err, EINVAL, "%s: blob %s is not a regular file", im->file_name, digest);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* Reads and parses a JSON blob, checking its digest. */
static int blob_json(struct import *im, int layoutfd, const char *digest, yajl_val *ret,
                     struct coi_error *err)
{
        _cleanup_close_ int fd = -1;
        int r = blob_open(im, layoutfd, digest, &fd, err);
        if (r < 0)
                return r;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return coi_error_set(err, errno, "%s: blob %s: %m", im->file_name, digest);
        if (st.st_size > OCI_MAX_JSON)
                return coi_error_set(err, EFBIG, "%s: blob %s: larger than %u bytes", im->file_name, digest,
                                     OCI_MAX_JSON);
        size_t len = (size_t)st.st_size;
        _cleanup_free_ char *data = malloc(len + 1);
        if (!data)
                return coi_error_set(err, ENOMEM, "%s: blob %s: %m", im->file_name, digest);
        for (size_t got = 0; got < len;) {
                ssize_t n = read(fd, data + got, len - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return coi_error_set(err, n < 0 ? errno : EIO, "%s: blob %s: read: %m", im->file_name,
                                             digest);
                got += (size_t)n;
        }
        data[len] = '\0';
        struct sha256_ctx c;
        char hex[65];
        sha256_init(&c);
        sha256_update(&c, data, len);
        sha256_final_hex(&c, hex);
        if (!streq(hex, digest_hex(digest)))
                return coi_error_set(err, EBADMSG, "%s: blob %s: digest mismatch (content is sha256:%s)",
                                     im->file_name, digest, hex);
        char errbuf[256] = "";
        *ret = yajl_tree_parse(data, errbuf, sizeof(errbuf));
        if (!*ret || !YAJL_IS_OBJECT(*ret))
                return coi_error_set(err, EINVAL, "%s: blob %s: not a JSON object: %s", im->file_name, digest,
                                     errbuf);
        return 0;
}

static bool is_index_type(const char *mt)
{
        return mt && (streq(mt, "application/vnd.oci.image.index.v1+json") ||
                      streq(mt, "application/vnd.docker.distribution.manifest.list.v2+json"));
}

/* Picks the manifest for linux/<host arch> from an index (following nested indexes); an entry
 * without a platform is taken only if nothing matches exactly. Returns a borrowed digest. */
static int pick_manifest(struct import *im, int layoutfd, yajl_val index, int depth, char **ret_digest,
                         struct coi_error *err)
{
        const char *mpath[] = { "manifests", NULL };
        yajl_val ms = yajl_tree_get(index, mpath, yajl_t_array);
        if (!ms || YAJL_GET_ARRAY(ms)->len == 0)
                return coi_error_set(err, EINVAL, "%s: index has no manifests", im->file_name);
        yajl_val exact = NULL, fallback = NULL;
        for (size_t i = 0; i < YAJL_GET_ARRAY(ms)->len; i++) {
                yajl_val m = YAJL_GET_ARRAY(ms)->values[i];
                const char *os = json_str(json_member(m, "platform", yajl_t_object), "os");
                const char *arch = json_str(json_member(m, "platform", yajl_t_object), "architecture");
                if (!os && !arch && !fallback)
                        fallback = m;
                if ((!os || streq(os, "linux")) && arch && streq(arch, image_host_arch()) && !exact)
                        exact = m;
        }
        yajl_val m = exact ? exact : fallback;
        if (!m)
                return coi_error_set(err, ENOENT, "%s: no manifest for linux/%s in the index", im->file_name,
                                     image_host_arch());
        const char *digest = json_str(m, "digest");
        if (is_index_type(json_str(m, "mediaType"))) {
                if (depth >= OCI_INDEX_DEPTH)
                        return coi_error_set(err, ELOOP, "%s: indexes nested more than %d deep",
                                             im->file_name, OCI_INDEX_DEPTH);
                _cleanup_yajl_ yajl_val nested = NULL;
                int r = blob_json(im, layoutfd, digest, &nested, err);
                return r < 0 ? r : pick_manifest(im, layoutfd, nested, depth + 1, ret_digest, err);
        }
        if (!digest_hex(digest))
                return coi_error_set(err, EINVAL, "%s: manifest digest \"%s\" is malformed", im->file_name,
                                     digest ? digest : "(none)");
        *ret_digest = strdup(digest);
        return *ret_digest ? 0 : coi_error_set(err, ENOMEM, "%s: %m", im->file_name);
}

int image_import_oci(struct import *im, int layoutfd, int rootfsfd, struct coi_error *err)
{
        _cleanup_free_ char *index_json = NULL;
        size_t len = 0;
        int r = read_file_at(layoutfd, "index.json", OCI_MAX_JSON, &index_json, &len, err);
        if (r < 0)
                return coi_error_prefix(err, "%s: ", im->file_name);
        if (!image_is_type_at(layoutfd, "index.json", S_IFREG))
                return coi_error_set(err, EINVAL, "%s: index.json is not a regular file", im->file_name);
        char errbuf[256] = "";
        _cleanup_yajl_ yajl_val index = yajl_tree_parse(index_json, errbuf, sizeof(errbuf));
        if (!index || !YAJL_IS_OBJECT(index))
                return coi_error_set(err, EINVAL, "%s: index.json: not a JSON object: %s", im->file_name,
                                     errbuf);
        if (im->digest[0] == '\0') { /* a layout directory: identified by its index */
                struct sha256_ctx c;
                char hex[65];
                sha256_init(&c);
                sha256_update(&c, index_json, len);
                sha256_final_hex(&c, hex);
                snprintf(im->digest, sizeof(im->digest), "sha256:%s", hex);
        }

        _cleanup_free_ char *manifest_digest = NULL;
        r = pick_manifest(im, layoutfd, index, 0, &manifest_digest, err);
        if (r < 0)
                return r;
        _cleanup_yajl_ yajl_val manifest = NULL;
        r = blob_json(im, layoutfd, manifest_digest, &manifest, err);
        if (r < 0)
                return r;
        const char *config_digest = json_str(json_member(manifest, "config", yajl_t_object), "digest");
        if (config_digest) {
                _cleanup_yajl_ yajl_val config = NULL;
                r = blob_json(im, layoutfd, config_digest, &config, err);
                if (r < 0)
                        return r;
                const char *arch = json_str(config, "architecture");
                if (arch && !(im->architecture = strdup(arch)))
                        return coi_error_set(err, ENOMEM, "%s: %m", im->file_name);
        }
        const char *lpath[] = { "layers", NULL };
        yajl_val layers = yajl_tree_get(manifest, lpath, yajl_t_array);
        if (!layers)
                return coi_error_set(err, EINVAL, "%s: manifest %s has no layers", im->file_name,
                                     manifest_digest);
        size_t n = YAJL_GET_ARRAY(layers)->len;
        for (size_t i = 0; i < n; i++) {
                const char *digest = json_str(YAJL_GET_ARRAY(layers)->values[i], "digest");
                _cleanup_close_ int fd = -1;
                r = blob_open(im, layoutfd, digest, &fd, err);
                if (r < 0)
                        return r;
                char name[512], stage[64];
                snprintf(name, sizeof(name), "%s: layer %zu/%zu (%.19s)", im->file_name, i + 1, n, digest);
                snprintf(stage, sizeof(stage), "layer %zu/%zu", i + 1, n);
                struct extract_options xo = {
                        .name = name,
                        .stage = stage,
                        .flags = im->flags | EXTRACT_WHITEOUTS,
                        .uid_shift = im->o->id_shift,
                        .gid_shift = im->o->id_shift,
                        .progress = im->o->progress,
                        .progress_data = im->o->progress_data,
                        .expect_sha256 = digest_hex(digest),
                };
                struct extract_stats st;
                r = extract_archive(fd, rootfsfd, &xo, &st, err);
                if (r < 0)
                        return r;
                add_stats(&im->stats, &st);
        }
        return 0;
}
