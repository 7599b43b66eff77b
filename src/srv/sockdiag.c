/* Who owns the other end of a loopback TCP connection, in the kernel's word.
 *
 * A TCP peer on this machine is some local process's socket. The kernel keeps
 * the uid that created that socket, and NETLINK_SOCK_DIAG hands it out for one
 * exact 4-tuple (inet_diag_req_v2 without NLM_F_DUMP: inet_diag_find_one_icsk
 * in the kernel). The request names the peer's socket from the peer's side: its
 * source is the client's address and port, its destination ours. The kernel
 * answers within the sendmsg call, so the recv below never waits (MSG_DONTWAIT
 * makes sure: "no answer" is a failure, never a stall of the loop).
 *
 * An IPv4 client that reached a dual-stack listener shows up as ::ffff:a.b.c.d;
 * its socket is an AF_INET one, so that family is asked first. */
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sockdiag.h"
#include "util/util.h"

static int ask(int fd, int family, const uint8_t *src, uint16_t sport, const uint8_t *dst,
               uint16_t dport, uint32_t *uid)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req;
	memset(&req, 0, sizeof req);
	req.nlh.nlmsg_len = sizeof req;
	req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nlh.nlmsg_flags = NLM_F_REQUEST;
	req.nlh.nlmsg_seq = 1;
	req.r.sdiag_family = (uint8_t)family;
	req.r.sdiag_protocol = IPPROTO_TCP;
	req.r.idiag_states = ~0u;
	req.r.id.idiag_sport = htons(sport);
	req.r.id.idiag_dport = htons(dport);
	memcpy(req.r.id.idiag_src, src, family == AF_INET ? 4 : 16);
	memcpy(req.r.id.idiag_dst, dst, family == AF_INET ? 4 : 16);
	req.r.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	req.r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	ssize_t w;
	do
		w = sendto(fd, &req, sizeof req, 0, (struct sockaddr *)&kernel, sizeof kernel);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -errno;
	/* One answer: the socket's inet_diag_msg, or an error. */
	union { struct nlmsghdr h; char b[8192]; } buf;
	ssize_t got;
	do
		got = recv(fd, &buf, sizeof buf, MSG_DONTWAIT);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	for (struct nlmsghdr *h = &buf.h; NLMSG_OK(h, (size_t)got); h = NLMSG_NEXT(h, got)) {
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof *e))
				return -EPROTO;
			return e->error < 0 ? e->error : -ENOENT;
		}
		if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
		    h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg))) {
			const struct inet_diag_msg *m = NLMSG_DATA(h);
			*uid = m->idiag_uid;
			return 0;
		}
	}
	return -ENOENT;
}

int sockdiag_open(char *why, size_t n)
{
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0) {
		int e = errno;
		strfmt(why, n, "netlink sock_diag: %s", strerror(e));
		return -e;
	}
	return fd;
}

static int is_mapped(const uint8_t *a)
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	return memcmp(a, prefix, 12) == 0;
}

int sockdiag_peer_uid(int fd, int family, const uint8_t *peer, uint16_t peer_port,
                      const uint8_t *local, uint16_t local_port, uint32_t *uid,
                      char *why, size_t n)
{
	int rc = -ENOENT;
	if (fd < 0) {
		strfmt(why, n, "no sock_diag socket");
		return -EBADF;
	}
	if (family == AF_INET) {
		rc = ask(fd, AF_INET, peer, peer_port, local, local_port, uid);
	} else if (family == AF_INET6) {
		if (is_mapped(peer) && is_mapped(local))
			rc = ask(fd, AF_INET, peer + 12, peer_port, local + 12, local_port, uid);
		if (rc < 0)
			rc = ask(fd, AF_INET6, peer, peer_port, local, local_port, uid);
	} else {
		rc = -EAFNOSUPPORT;
	}
	if (rc < 0)
		strfmt(why, n, "the kernel does not say who owns the peer's socket (sock_diag: %s)",
		       strerror(-rc));
	return rc;
}
