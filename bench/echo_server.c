/* echo_server: the physical limit for bench/p9load's round trips. A bare
 * single-threaded epoll server on loopback TCP that answers each 9P2000.L
 * request frame with a canned reply of the size a real server's would have
 * (Rwalk with as many qids as names, Rlopen, Rread of -filesize bytes, Rclunk,
 * Rwrite ...), patching only the tag: the cost of the sockets and wake-ups
 * with no file-system work at all.
 *
 *   echo_server [-port N] [-filesize BYTES]
 * prints "listening on tcp!127.0.0.1!PORT" once ready; runs until killed. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "benchlib.h"

enum { INCAP = 1 << 20, MAXFILE = 1 << 20 };

typedef struct Conn {
	int fd;
	uint8_t in[INCAP];
	size_t inlen;
	uint8_t *out;
	size_t outlen, outcap, outoff;
} Conn;

static uint8_t rwalk[P9_MAXWELEM + 1][P9_HDRSZ + 2 + 13 * P9_MAXWELEM];
static size_t rwalk_len[P9_MAXWELEM + 1];
static uint8_t rlopen[64], rattach[64], rclunk[16], rlerror[16];
static size_t rlopen_len, rattach_len, rclunk_len, rlerror_len;
static uint8_t *rread;          /* header + MAXFILE bytes of data */
static size_t filesize = 64;

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

static void prepare(void)
{
	Qid q = { .type = QTFILE, .vers = 1, .path = 42 };
	for (int n = 0; n <= P9_MAXWELEM; n++) {
		Fcall f = { .type = Rwalk, .nwqid = (uint16_t)n };
		for (int i = 0; i < n; i++)
			f.wqid[i] = q;
		rwalk_len[n] = p9_pack(rwalk[n], sizeof rwalk[n], P9_2000L, &f);
	}
	Fcall f = { .type = Rlopen, .qid = q, .iounit = 0 };
	rlopen_len = p9_pack(rlopen, sizeof rlopen, P9_2000L, &f);
	f = (Fcall){ .type = Rattach, .qid = { .type = QTDIR, .path = 1 } };
	rattach_len = p9_pack(rattach, sizeof rattach, P9_2000L, &f);
	f = (Fcall){ .type = Rclunk };
	rclunk_len = p9_pack(rclunk, sizeof rclunk, P9_2000L, &f);
	f = (Fcall){ .type = Rlerror, .ecode = EOPNOTSUPP };
	rlerror_len = p9_pack(rlerror, sizeof rlerror, P9_2000L, &f);
	rread = malloc(P9_HDRSZ + 4 + MAXFILE);
	memset(rread, 'x', P9_HDRSZ + 4 + MAXFILE);
	rread[4] = Rread;
}

static void out_add(Conn *c, const uint8_t *p, size_t n, const uint8_t *tag)
{
	if (c->outlen + n > c->outcap) {
		c->outcap = (c->outlen + n) * 2;
		c->out = realloc(c->out, c->outcap);
		if (!c->out)
			die("out of memory");
	}
	memcpy(c->out + c->outlen, p, n);
	c->out[c->outlen + 5] = tag[0];
	c->out[c->outlen + 6] = tag[1];
	c->outlen += n;
}

/* One request frame f[0..len): append its reply. */
static void answer(Conn *c, const uint8_t *f, size_t len)
{
	const uint8_t *tag = f + 5;
	switch (f[4]) {
	case Tversion: {
		uint8_t buf[128];
		uint32_t msize = len >= 11 ? get32(f + 7) : 8192;
		Fcall r = { .type = Rversion, .tag = P9_NOTAG, .msize = msize < INCAP ? msize : INCAP,
		            .version = p9_str("9P2000.L") };
		out_add(c, buf, p9_pack(buf, sizeof buf, P9_2000L, &r), tag);
		break;
	}
	case Tattach: out_add(c, rattach, rattach_len, tag); break;
	case Twalk: {
		unsigned n = len >= 17 ? (unsigned)(f[15] | f[16] << 8) : 0;
		out_add(c, rwalk[n <= P9_MAXWELEM ? n : 0], rwalk_len[n <= P9_MAXWELEM ? n : 0], tag);
		break;
	}
	case Tlopen: out_add(c, rlopen, rlopen_len, tag); break;
	case Tread: {
		uint64_t off = len >= 23 ? (uint64_t)get32(f + 11) | (uint64_t)get32(f + 15) << 32 : 0;
		uint32_t want = len >= 23 ? get32(f + 19) : 0;
		uint32_t cnt = off >= filesize ? 0 : (uint32_t)(filesize - off);
		if (cnt > want)
			cnt = want;
		put32(rread, P9_HDRSZ + 4 + cnt);
		put32(rread + 7, cnt);
		out_add(c, rread, P9_HDRSZ + 4 + cnt, tag);
		break;
	}
	case Twrite: {
		uint8_t r[11] = { 11, 0, 0, 0, Rwrite };
		put32(r + 7, len >= 23 ? get32(f + 19) : 0);
		out_add(c, r, sizeof r, tag);
		break;
	}
	case Tclunk: out_add(c, rclunk, rclunk_len, tag); break;
	default: out_add(c, rlerror, rlerror_len, tag); break;
	}
}

static int flush_out(Conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t k = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN)
			return 1;
		if (k <= 0)
			return -1;
		c->outoff += (size_t)k;
	}
	c->outoff = c->outlen = 0;
	return 0;
}

/* One recv (the socket is level-triggered: anything left is reported again),
 * then a reply for every whole frame, sent at once. -1: close the connection. */
static int on_readable(Conn *c)
{
	ssize_t k;
	do
		k = recv(c->fd, c->in + c->inlen, INCAP - c->inlen, 0);
	while (k < 0 && errno == EINTR);
	if (k < 0 && errno == EAGAIN)
		return 0;
	if (k <= 0)
		return -1;
	c->inlen += (size_t)k;
	size_t off = 0;
	while (c->inlen - off >= 4) {
		uint32_t sz = get32(c->in + off);
		if (sz < P9_HDRSZ || sz > INCAP)
			return -1;
		if (c->inlen - off < sz)
			break;
		answer(c, c->in + off, sz);
		off += sz;
	}
	memmove(c->in, c->in + off, c->inlen - off);
	c->inlen -= off;
	return flush_out(c) < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	progname = "echo_server";
	int port = 0;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "-port"))
			port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "-filesize"))
			filesize = (size_t)atol(argv[i + 1]);
		else
			die("usage: echo_server [-port N] [-filesize BYTES]");
	}
	if (filesize > MAXFILE)
		filesize = MAXFILE;
	signal(SIGPIPE, SIG_IGN);
	prepare();
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, 128) < 0)
		die("bind/listen: %s", strerror(errno));
	socklen_t sl = sizeof sa;
	getsockname(ls, (struct sockaddr *)&sa, &sl);
	printf("listening on tcp!127.0.0.1!%d\n", ntohs(sa.sin_port));
	fflush(stdout);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
	struct epoll_event evs[64];
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			Conn *c = evs[i].data.ptr;
			if (!c) {
				int fd;
				while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
					Conn *nc = calloc(1, sizeof *nc);
					if (!nc)
						die("out of memory");
					nc->fd = fd;
					struct epoll_event e = { .events = EPOLLIN, .data.ptr = nc };
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
				}
				continue;
			}
			int rc = 0;
			if (evs[i].events & EPOLLOUT) {
				rc = flush_out(c);
				if (rc == 0) {
					struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
					epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
				}
			}
			if (rc >= 0 && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				rc = on_readable(c);
			if (rc >= 0 && c->outlen > c->outoff) {
				struct epoll_event e = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
			}
			if (rc < 0) {
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				close(c->fd);
				free(c->out);
				free(c);
			}
		}
	}
}
