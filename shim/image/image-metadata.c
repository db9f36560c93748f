/* image-metadata.c — struct image_info: metadata.json in each image directory (read and written with
 * yajl), the JSON of `coi image list/info --format json`, and freeing. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image-internal.h"

bool image_name_valid(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > IMAGE_NAME_MAX || !(isalnum((unsigned char)s[0])))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
                        return false;
        return true;
}

void image_info_free(struct image_info *info)
{
        if (!info)
                return;
        free(info->name);
        strv_free(info->aliases);
        free(info->source);
        free(info->created);
        free(info->architecture);
        free(info->digest);
        free(info->format);
        free(info);
}

void image_info_list_free(struct image_info **list)
{
        for (size_t i = 0; list && list[i]; i++)
                image_info_free(list[i]);
        free(list);
}

/* ---- metadata.json ---- */

static int gen_str(yajl_gen g, const char *s)
{
        return json_gen_str(g, s) ? 0 : -ENOMEM;
}

static int gen_info(yajl_gen g, const struct image_info *info)
{
        int r = yajl_gen_map_open(g) == yajl_gen_status_ok ? 0 : -ENOMEM;
        r = r ?: gen_str(g, "name") ?: gen_str(g, info->name);
        r = r ?: gen_str(g, "aliases");
        r = r ?: (yajl_gen_array_open(g) == yajl_gen_status_ok ? 0 : -ENOMEM);
        for (size_t i = 0; !r && info->aliases && info->aliases[i]; i++)
                r = gen_str(g, info->aliases[i]);
        r = r ?: (yajl_gen_array_close(g) == yajl_gen_status_ok ? 0 : -ENOMEM);
        r = r ?: gen_str(g, "source") ?: gen_str(g, info->source);
        r = r ?: gen_str(g, "created") ?: gen_str(g, info->created);
        r = r ?: gen_str(g, "size");
        r = r ?: (yajl_gen_integer(g, (long long)info->size) == yajl_gen_status_ok ? 0 : -ENOMEM);
        r = r ?: gen_str(g, "architecture") ?: gen_str(g, info->architecture);
        r = r ?: gen_str(g, "digest") ?: gen_str(g, info->digest);
        r = r ?: gen_str(g, "format") ?: gen_str(g, info->format);
        r = r ?: (yajl_gen_map_close(g) == yajl_gen_status_ok ? 0 : -ENOMEM);
        return r;
}

int image_info_json(struct image_info *const *infos, size_t n, bool list, char **ret_json,
                    struct coi_error *err)
{
        _cleanup_(yajl_gen_freep) yajl_gen g = yajl_gen_alloc(NULL);
        if (!g)
                return coi_error_set(err, ENOMEM, "image metadata: %m");
        yajl_gen_config(g, yajl_gen_beautify, 1);
        yajl_gen_config(g, yajl_gen_indent_string, "  ");
        int r = list && yajl_gen_array_open(g) != yajl_gen_status_ok ? -ENOMEM : 0;
        for (size_t i = 0; !r && i < n; i++)
                r = gen_info(g, infos[i]);
        if (!r && list && yajl_gen_array_close(g) != yajl_gen_status_ok)
                r = -ENOMEM;
        const unsigned char *buf;
        size_t len;
        if (r < 0 || yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
                return coi_error_set(err, ENOMEM, "image metadata: cannot generate JSON");
        char *out = strndup((const char *)buf, len);
        if (!out)
                return coi_error_set(err, ENOMEM, "image metadata: %m");
        *ret_json = out;
        return 0;
}

int image_parse_metadata(const char *json, const char *where, struct image_info **ret_info,
                         struct coi_error *err)
{
        char errbuf[256] = "";
        _cleanup_yajl_ yajl_val root = yajl_tree_parse(json, errbuf, sizeof(errbuf));
        if (!root || !YAJL_IS_OBJECT(root))
                return coi_error_set(err, EINVAL, "%s: not a JSON object: %s", where, errbuf);
        _cleanup_(image_info_freep) struct image_info *info = calloc(1, sizeof(*info));
        if (!info)
                return coi_error_set(err, ENOMEM, "%s: %m", where);
        info->name = json_strdup(root, "name");
        info->source = json_strdup(root, "source");
        info->created = json_strdup(root, "created");
        info->architecture = json_strdup(root, "architecture");
        info->digest = json_strdup(root, "digest");
        info->format = json_strdup(root, "format");
        if (!info->name || !image_name_valid(info->name))
                return coi_error_set(err, EINVAL, "%s: \"name\" is missing or invalid", where);
        char **optional[] = { &info->source, &info->created, &info->architecture, &info->digest,
                              &info->format };
        for (size_t i = 0; i < ELEMENTSOF(optional); i++)
                if (!*optional[i] && !(*optional[i] = strdup("")))
                        return coi_error_set(err, ENOMEM, "%s: %m", where);
        yajl_val size = json_member(root, "size", yajl_t_number);
        if (size && YAJL_IS_INTEGER(size) && YAJL_GET_INTEGER(size) >= 0)
                info->size = (uint64_t)YAJL_GET_INTEGER(size);
        yajl_val aliases = json_member(root, "aliases", yajl_t_array);
        for (size_t i = 0; aliases && i < YAJL_GET_ARRAY(aliases)->len; i++) {
                yajl_val a = YAJL_GET_ARRAY(aliases)->values[i];
                if (!YAJL_IS_STRING(a) || !image_name_valid(YAJL_GET_STRING(a)))
                        return coi_error_set(err, EINVAL, "%s: aliases[%zu] is not a valid name", where, i);
                if (strv_push(&info->aliases, YAJL_GET_STRING(a)) < 0)
                        return coi_error_set(err, ENOMEM, "%s: %m", where);
        }
        *ret_info = TAKE_PTR(info);
        return 0;
}

int image_write_metadata(int dirfd, const struct image_info *info, struct coi_error *err)
{
        _cleanup_free_ char *json = NULL;
        struct image_info *const list[] = { (struct image_info *)info };
        int r = image_info_json(list, 1, false, &json, err);
        if (r < 0)
                return r;
        return write_file_atomic_at(dirfd, "metadata.json", json, strlen(json), 0644, err);
}
