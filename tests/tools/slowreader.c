/* slowreader ADDR PATH N SECONDS: a client that asks and never listens. It
 * opens PATH (9P2000.u, msize 1 MiB), then sends up to N Treads of the whole
 * file without reading a single reply, until jobd stops taking them (a send
 * blocks for 2 s: jobd paused reading this connection because its replies
 * pile up unread) or all N are sent. It prints
 *     sent K of N requests; blocked|all sent
 * then keeps the connection open, still reading nothing, for SECONDS, so the
 * test can check that jobd serves others meanwhile and its memory stays
 * bounded. Exit 0, or 1 if the session could not be set up.
 * With SLOWREADER_WRITE=FILE:DATA in the environment, a Twrite of DATA to
 * FILE goes first: its reply is held until jobd commits, and every reply
 * after it on the connection waits behind it, which must be bounded too. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "9p/fcall.h"
#include "client/client.h"

/* Sends all of buf, waiting at most 2 s each time the socket is full: 0, or
 * -1 if it stayed full. */
static int send_frame(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);
		if (w > 0) {
			buf += w;
			len -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		if (poll(&p, 1, 2000) <= 0)
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: slowreader ADDR PATH N SECONDS\n");
		return 2;
	}
	const char *addr = argv[1], *path = argv[2];
	long n = atol(argv[3]), seconds = atol(argv[4]);
	char why[512];
	int fd;
	if (client_dial(addr, &fd, why, sizeof why) < 0) {
		fprintf(stderr, "slowreader: %s\n", why);
		return 1;
	}
	/* The client sets the session up on a copy of the socket; the Treads go
	 * out raw on fd, with tags the client never uses. */
	Client *c = client_new(dup(fd), P9_2000U, 1u << 20);
	uint32_t fid, iounit;
	if (client_version(c, why, sizeof why) < 0 ||
	    client_attach(c, "slow", (uint32_t)getuid(), "", why, sizeof why) < 0 ||
	    client_open_fid(c, path, OREAD, 0, &fid, &iounit, why, sizeof why) < 0) {
		fprintf(stderr, "slowreader: %s\n", why);
		return 1;
	}
	uint8_t frame[512];
	const char *w = getenv("SLOWREADER_WRITE");
	if (w && strchr(w, ':')) {
		char wpath[256];
		const char *data = strchr(w, ':') + 1;
		snprintf(wpath, sizeof wpath, "%.*s", (int)(data - 1 - w), w);
		uint32_t wfid, wio;
		if (client_open_fid(c, wpath, OWRITE, 0, &wfid, &wio, why, sizeof why) < 0) {
			fprintf(stderr, "slowreader: %s\n", why);
			return 1;
		}
		Fcall t;
		memset(&t, 0, sizeof t);
		t.type = Twrite;
		t.tag = 999;
		t.fid = wfid;
		t.count = (uint32_t)strlen(data);
		t.data = (const uint8_t *)data;
		size_t len = p9_pack(frame, sizeof frame, P9_2000U, &t);
		if (len == 0 || send_frame(fd, frame, len) < 0) {
			fprintf(stderr, "slowreader: cannot send the write\n");
			return 1;
		}
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	long sent = 0;
	int blocked = 0;
	for (; sent < n; sent++) {
		Fcall t;
		memset(&t, 0, sizeof t);
		t.type = Tread;
		t.tag = (uint16_t)(1000 + sent % 60000);
		t.fid = fid;
		t.offset = 0;
		t.count = iounit;
		size_t len = p9_pack(frame, sizeof frame, P9_2000U, &t);
		if (len == 0 || send_frame(fd, frame, len) < 0) {
			blocked = 1;
			break;
		}
	}
	printf("sent %ld of %ld requests; %s\n", sent, n, blocked ? "blocked" : "all sent");
	fflush(stdout);
	sleep((unsigned)seconds);
	close(fd);
	client_free(c);
	return 0;
}
