/* sync.c — the parent/child sync channel of spawn and exec (SOCK_SEQPACKET: one message per send, never
 * merged; a header, a payload, fds by SCM_RIGHTS). Owns no fds but those it receives. */
#include <sys/socket.h>

#include "sync.h"
#include "util.h"

void sync_msg_done(struct sync_msg *m)
{
        free(m->payload);
        for (size_t i = 0; i < m->n_fds; i++)
                closep(&m->fds[i]);
        free(m->fds);
        *m = (struct sync_msg){ 0 };
}

int sync_send(int fd, enum sync_type type, int32_t value, const void *payload, size_t len, const int *fds,
              size_t n_fds)
{
        struct sync_hdr hdr = { .type = type, .value = value };
        struct iovec iov[2] = { { &hdr, sizeof(hdr) }, { (void *)payload, len } };
        struct msghdr msg = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
        _cleanup_free_ char *control = NULL;
        if (n_fds) {
                size_t size = CMSG_SPACE(n_fds * sizeof(int));
                control = calloc(1, size);
                if (!control)
                        return -ENOMEM;
                msg.msg_control = control;
                msg.msg_controllen = size;
                struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(n_fds * sizeof(int));
                memcpy(CMSG_DATA(c), fds, n_fds * sizeof(int));
        }
        ssize_t n;
        do
                n = sendmsg(fd, &msg, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        return n < 0 ? -errno : 0;
}

int sync_recv(int fd, struct sync_msg *ret)
{
        _cleanup_free_ char *buf = malloc(sizeof(struct sync_hdr) + SYNC_MAX_PAYLOAD + 1);
        _cleanup_free_ char *control = malloc(CMSG_SPACE(SYNC_MAX_FDS * sizeof(int)));
        if (!buf || !control)
                return -ENOMEM;
        struct iovec iov = { buf, sizeof(struct sync_hdr) + SYNC_MAX_PAYLOAD };
        struct msghdr msg = { .msg_iov = &iov,
                              .msg_iovlen = 1,
                              .msg_control = control,
                              .msg_controllen = CMSG_SPACE(SYNC_MAX_FDS * sizeof(int)) };
        ssize_t n;
        do
                n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return errno == ECONNRESET ? -EPIPE : -errno;
        if (n == 0)
                return -EPIPE;
        if ((size_t)n < sizeof(struct sync_hdr))
                return -EBADMSG;
        struct sync_msg m = { 0 };
        memcpy(&m.hdr, buf, sizeof(m.hdr));
        m.len = (size_t)n - sizeof(struct sync_hdr);
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                m.n_fds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                m.fds = malloc(m.n_fds * sizeof(int) + 1);
                if (!m.fds)
                        return -ENOMEM;
                memcpy(m.fds, CMSG_DATA(c), m.n_fds * sizeof(int));
        }
        memmove(buf, buf + sizeof(struct sync_hdr), m.len);
        buf[m.len] = '\0';
        m.payload = TAKE_PTR(buf);
        *ret = m;
        return 0;
}

int sync_expect(int fd, enum sync_type want, const char *who, struct sync_msg *ret, struct coi_error *err)
{
        struct sync_msg m = { 0 };
        int r = sync_recv(fd, &m);
        if (r == -EPIPE)
                return coi_error_set(err, EPIPE, "%s exited before it was set up (no error reported)", who);
        if (r < 0)
                return coi_error_set(err, -r, "read the sync socket of %s: %m", who);
        if (m.hdr.type == SYNC_ERROR) {
                r = coi_error_set(err, m.hdr.value ? m.hdr.value : EIO, "%s", m.payload);
                sync_msg_done(&m);
                return r;
        }
        if (m.hdr.type != (uint32_t)want) {
                sync_msg_done(&m);
                return coi_error_set(err, EPROTO, "%s: unexpected sync message %u (wanted %u)", who,
                                     m.hdr.type, (unsigned)want);
        }
        *ret = m;
        return 0;
}

_Noreturn void sync_child_fail(const struct coi_context *ctx, int sync_fd, const struct coi_error *err)
{
        const char *msg = err->msg[0] ? err->msg : "container setup failed (no message)";
        if (sync_send(sync_fd, SYNC_ERROR, err->code ? err->code : EIO, msg, strlen(msg) + 1, NULL, 0) < 0)
                log_error(ctx, "%s", msg);
        _exit(127);
}
