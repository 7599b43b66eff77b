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
 * its socket is an AF_INET one, so that family is asked first.
 *
 * The answer is believed only if it is the socket asked about: the kernel's
 * lookup may fall back to a listening socket, and a connection whose client
 * has already closed lingers as a TIME_WAIT entry that reports uid 0 (no
 * owner: inode 0). So the reply must come from the kernel (port 0), echo our
 * sequence number, name exactly our 4-tuple, be in a state an open client
 * socket has (established, or half-closed by the client) and have an inode;
 * anything else is "cannot tell", and the caller refuses. */
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

enum { ST_ESTABLISHED = 1, ST_FIN_WAIT1 = 4, ST_FIN_WAIT2 = 5 };   /* include/net/tcp_states.h */
static const uint32_t open_states =
	1u << ST_ESTABLISHED | 1u << ST_FIN_WAIT1 | 1u << ST_FIN_WAIT2;

static int ask(int fd, int family, const uint8_t *src, uint16_t sport, const uint8_t *dst,
               uint16_t dport, uint32_t *uid)
{
	static uint32_t seq;
	size_t alen = family == AF_INET ? 4 : 16;
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req;
	memset(&req, 0, sizeof req);
	req.nlh.nlmsg_len = sizeof req;
	req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nlh.nlmsg_flags = NLM_F_REQUEST;
	req.nlh.nlmsg_seq = ++seq;
	req.r.sdiag_family = (uint8_t)family;
	req.r.sdiag_protocol = IPPROTO_TCP;
	req.r.idiag_states = open_states;
	req.r.id.idiag_sport = htons(sport);
	req.r.id.idiag_dport = htons(dport);
	memcpy(req.r.id.idiag_src, src, alen);
	memcpy(req.r.id.idiag_dst, dst, alen);
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
	for (;;) {
		struct sockaddr_nl from;
		socklen_t flen = sizeof from;
		ssize_t got;
		do
			got = recvfrom(fd, &buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
		while (got < 0 && errno == EINTR);
		if (got < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (flen < sizeof from || from.nl_pid != 0)
			continue;                   /* not from the kernel */
		for (struct nlmsghdr *h = &buf.h; NLMSG_OK(h, (size_t)got); h = NLMSG_NEXT(h, got)) {
			if (h->nlmsg_seq != seq)
				continue;               /* an answer to an earlier question */
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				if (h->nlmsg_len < NLMSG_LENGTH(sizeof *e))
					return -EPROTO;
				return e->error < 0 ? e->error : -ENOENT;
			}
			if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
			    h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
				return -EPROTO;
			const struct inet_diag_msg *m = NLMSG_DATA(h);
			if (m->idiag_family != family || m->id.idiag_sport != htons(sport) ||
			    m->id.idiag_dport != htons(dport) || memcmp(m->id.idiag_src, src, alen) != 0 ||
			    memcmp(m->id.idiag_dst, dst, alen) != 0)
				return -ENOENT;         /* some other socket: a listener, say */
			if (m->idiag_state >= 32 || !(open_states & 1u << m->idiag_state) ||
			    m->idiag_inode == 0)
				return -ENOTCONN;       /* closed, or no owner to name */
			*uid = m->idiag_uid;
			return 0;
		}
	}
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
