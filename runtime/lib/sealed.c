/* sealed.c — re-exec the running program from a sealed memfd copy of itself, so nothing inside a
 * container can reach and overwrite the host binary through /proc/<pid>/exe (CVE-2019-5736), and
 * decide from a container's config whether that copy is needed at all. */
#include <elf.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

#include "container.h"
#include "create-config.h"
#include "oci-config.h"
#include "state.h"
#include "util.h"

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* Running from our own sealed copy? A memfd answers F_GET_SEALS; a regular file says EINVAL. */
static bool running_sealed(void)
{
        _cleanup_close_ int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        int seals = fcntl(fd, F_GET_SEALS);
        return seals >= 0 && (seals & SEALS) == SEALS;
}

/* How much of the executable exec needs: up to the end of its last segment in the file (program
 * headers included). Section headers and debug info lie beyond it in a linked program and execve never
 * reads them; leaving them out halves the copy of an unstripped build. Anything unexpected: the whole
 * file. */
static off_t exec_image_size(int fd, off_t file_size)
{
        Elf64_Ehdr eh;
        if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
            memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
            eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 64)
                return file_size;
        Elf64_Phdr ph[64];
        size_t size = (size_t)eh.e_phnum * sizeof(Elf64_Phdr);
        if (pread(fd, ph, size, (off_t)eh.e_phoff) != (ssize_t)size)
                return file_size;
        uint64_t end = eh.e_phoff + size;
        for (size_t i = 0; i < eh.e_phnum; i++)
                if (ph[i].p_offset + ph[i].p_filesz > end)
                        end = ph[i].p_offset + ph[i].p_filesz;
        return end < (uint64_t)file_size ? (off_t)end : file_size;
}

int coi_ensure_sealed_binary(char **argv, char **envp, struct coi_error *err)
{
        if (running_sealed())
                return 0;
        _cleanup_close_ int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        if (exe < 0)
                return coi_error_set(err, errno, "open /proc/self/exe: %m");
        struct stat st;
        if (fstat(exe, &st) < 0)
                return coi_error_set(err, errno, "stat /proc/self/exe: %m");
        /* MFD_CLOEXEC: fexecve of an ELF file does not need the fd to survive the exec, and it must
         * not leak into the programs we start. */
        _cleanup_close_ int mfd = memfd_create("coi-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (mfd < 0)
                return coi_error_set(err, errno, "memfd_create for the sealed copy of /proc/self/exe: %m");
        off_t left = exec_image_size(exe, st.st_size);
        while (left > 0) {
                /* copy_file_range can't cross into a memfd on every kernel; sendfile can. */
                ssize_t n = sendfile(mfd, exe, NULL, (size_t)left);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return coi_error_set(err, n < 0 ? errno : EIO, "copy /proc/self/exe to a memfd: %m");
                left -= n;
        }
        if (fcntl(mfd, F_ADD_SEALS, SEALS) < 0)
                return coi_error_set(err, errno, "seal the memfd copy of /proc/self/exe: %m");
        fexecve(mfd, argv, envp);
        return coi_error_set(err, errno, "re-exec from the sealed copy of /proc/self/exe: %m");
}

/* ---- when the sealed copy is needed ----------------------------------------------------------------
 * The attack writes the host binary through /proc/<pid>/exe from inside the container. That open is an
 * ordinary permission check on the binary's inode, made with the credentials of a process in the
 * container's user namespace:
 *  - the owner's write bit applies only if the inode's owner is a uid mapped into that namespace, and
 *    the group/other bits only if they grant write (an ACL shows up in the group bits as its mask);
 *  - CAP_DAC_OVERRIDE / CAP_FOWNER held in the container's namespace count for the inode only if its uid
 *    AND gid are mapped there (capable_wrt_inode_uidgid() in the kernel), so the container's root can't
 *    override the mode of, or chmod, a file whose owner is unmapped.
 * So the copy is unnecessary exactly when the container gets a NEW user namespace (one joined by path
 * may map anything, and no user namespace means the host's) whose uid map contains neither host uid 0
 * nor the binary's owner, and the binary is not group- or other-writable. Anything else: re-exec. */

static bool range_contains(const struct oci_id_mapping *maps, size_t n, uint32_t id)
{
        for (size_t i = 0; i < n; i++)
                if (id >= maps[i].host_id && id - maps[i].host_id < maps[i].size)
                        return true;
        return false;
}

static int needed_for(const struct oci_config *config, bool *ret_needed, struct coi_error *err)
{
        const struct oci_linux *l = &config->linux_;
        *ret_needed = true;
        if (!l->namespaces[OCI_NS_USER].present || l->namespaces[OCI_NS_USER].path)
                return 0;
        struct stat st;
        if (stat("/proc/self/exe", &st) < 0)
                return coi_error_set(err, errno, "stat /proc/self/exe: %m");
        if (st.st_mode & (S_IWGRP | S_IWOTH))
                return 0;
        if (range_contains(l->uid_mappings, l->n_uid_mappings, 0) ||
            range_contains(l->uid_mappings, l->n_uid_mappings, (uint32_t)st.st_uid))
                return 0;
        *ret_needed = false;
        return 0;
}

int sealed_binary_needed_for_config(const struct create_config *c, bool *ret_needed, struct coi_error *err)
{
        return needed_for(c->config, ret_needed, err);
}

int coi_sealed_binary_needed(struct coi_context *ctx, const struct coi_create_options *opts, bool *ret_needed,
                             struct coi_error *err)
{
        _cleanup_(create_config_done) struct create_config c = { 0 };
        int r = create_config_load(opts, opts && opts->bundle ? opts->bundle : ".", &c, err);
        if (r < 0)
                return r;
        return needed_for(c.config, ret_needed, err);
}

int coi_sealed_binary_needed_for_exec(struct coi_context *ctx, const char *id, bool *ret_needed,
                                      struct coi_error *err)
{
        int r = state_validate_id(id, err);
        if (r < 0)
                return r;
        _cleanup_close_ int rootfd = -1, dirfd = -1;
        r = state_root_open(ctx, false, &rootfd, err);
        if (r == -ENOENT)
                return coi_error_set(err, ENOENT, "container %s does not exist", id);
        if (r == 0)
                r = state_dir_open(rootfd, id, &dirfd, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *json = NULL;
        size_t len = 0;
        r = read_file_at(dirfd, CONFIG_FILE, 16u << 20, &json, &len, err);
        if (r < 0)
                return coi_error_prefix(err, "config of container %s: ", id);
        _cleanup_(oci_config_freep) struct oci_config *config = NULL;
        r = oci_config_parse(json, len, CONFIG_FILE, &config, err);
        if (r < 0)
                return r;
        return needed_for(config, ret_needed, err);
}
