/* sealed.c — re-exec the running program from a sealed memfd copy of itself, so nothing inside a
 * container can reach and overwrite the host binary through /proc/<pid>/exe (CVE-2019-5736). */
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

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
        off_t left = st.st_size;
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
