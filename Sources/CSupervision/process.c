// Process plumbing: SCM_RIGHTS needs the CMSG_* macros, and prctl is variadic; Swift imports neither.
#define _GNU_SOURCE
#include "kn_supervision.h"

#include <errno.h>
#include <sys/prctl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

long kn_send_with_fd(int socket_fd, const void *payload, size_t length, int fd) {
    struct iovec part = { .iov_base = (void *)payload, .iov_len = length };
    union { struct cmsghdr header; char space[CMSG_SPACE(sizeof(int))]; } control;
    struct msghdr message;
    memset(&message, 0, sizeof message);
    memset(&control, 0, sizeof control);
    message.msg_iov = &part;
    message.msg_iovlen = 1;
    if (fd >= 0) {
        message.msg_control = control.space;
        message.msg_controllen = sizeof control.space;
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(header), &fd, sizeof(int));
    }
    ssize_t sent;
    do { sent = sendmsg(socket_fd, &message, MSG_NOSIGNAL); } while (sent < 0 && errno == EINTR);
    return sent;
}

long kn_receive_with_fd(int socket_fd, void *buffer, size_t capacity, int *fd) {
    struct iovec part = { .iov_base = buffer, .iov_len = capacity };
    union { struct cmsghdr header; char space[CMSG_SPACE(sizeof(int))]; } control;
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = &part;
    message.msg_iovlen = 1;
    message.msg_control = control.space;
    message.msg_controllen = sizeof control.space;
    *fd = -1;
    ssize_t received;
    do { received = recvmsg(socket_fd, &message, MSG_CMSG_CLOEXEC); } while (received < 0 && errno == EINTR);
    if (received < 0) return -1;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS) memcpy(fd, CMSG_DATA(header), sizeof(int));
    }
    return received;
}

int kn_die_with_parent(int signal) {
    return prctl(PR_SET_PDEATHSIG, signal);
}
