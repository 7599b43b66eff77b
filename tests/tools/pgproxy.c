/* pgproxy LISTEN TARGET [PATTERN]: a unix-socket proxy that a test can pause, to cut
 * one client (a jobd node) off from a server (the private PostgreSQL of
 * tests/tools/pgtmp.sh) without the server or the client noticing anything
 * but silence.
 *
 *   LISTEN  the unix socket path to listen on (made; an old one removed),
 *           e.g. DIR/.s.PGSQL.5432, so that "host=DIR port=5432" reaches it
 *   TARGET  the unix socket path each accepted connection is forwarded to
 *   PATTERN bytes SIGUSR2 waits for (below), e.g. "INSERT INTO fires"
 *
 * Signals:
 *   SIGUSR1  toggles "paused": while paused nothing is read or written in
 *            either direction and no connection is accepted (new ones wait
 *            in the listen queue); bytes already buffered stay buffered.
 *            Connections stay open: to both ends the link is only silent.
 *   SIGUSR2  arms: the next piece a client sends that holds PATTERN is
 *            forwarded to the server, and then the proxy pauses, before
 *            anything else moves (the server's answer to it among what
 *            waits): a request that the server carries out and whose
 *            answer the client never gets. SIGUSR1 resumes.
 *   SIGTERM  (or SIGINT) closes everything, removes LISTEN, exits 0.
 *
 * On stderr, one line each: "pgproxy: listening on LISTEN" once ready, then
 * "pgproxy: paused" / "pgproxy: resumed" as each toggle takes effect (a test
 * waits for these lines), "pgproxy: armed" and "pgproxy: paused after
 * PATTERN", and each connection's open and close.
 *
 * One thread, one ppoll: the signals are blocked except inside ppoll, so a
 * toggle is seen before the next byte moves. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum { MAXPAIRS = 64, BUFSZ = 65536 };

/* One direction of a connection: bytes read from `from`, not yet written to
 * `to`. */
typedef struct Dir {
	char buf[BUFSZ];
	size_t off, len;
	int trip;           /* the buffer holds PATTERN: pause once it is written */
} Dir;

typedef struct Pair {
	int used;
	int fd[2];          /* 0: the client, 1: the server */
	Dir d[2];           /* d[i]: read from fd[i], written to fd[1 - i] */
	int eof[2];         /* fd[i] said EOF (or failed) */
	int id;
} Pair;

static volatile sig_atomic_t toggles, arms, stop;
static Pair pairs[MAXPAIRS];
static const char *pattern;
static int armed, tripped;

static void on_usr1(int sig)
{
	(void)sig;
	toggles++;
}

static void on_usr2(int sig)
{
	(void)sig;
	arms++;
}

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int set_addr(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof a->sun_path) {
		fprintf(stderr, "pgproxy: %s: path too long for a unix socket\n", path);
		return -1;
	}
	strcpy(a->sun_path, path);
	return 0;
}

static void nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void pair_close(Pair *p, const char *why)
{
	fprintf(stderr, "pgproxy: connection %d closed (%s)\n", p->id, why);
	close(p->fd[0]);
	close(p->fd[1]);
	p->used = 0;
}

/* Accepts one client and connects it to target (blocking connect: a unix
 * socket answers at once, or refuses). */
static void accept_one(int lfd, const struct sockaddr_un *target, int *next_id)
{
	int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return;
	Pair *p = NULL;
	for (int i = 0; i < MAXPAIRS; i++)
		if (!pairs[i].used) {
			p = &pairs[i];
			break;
		}
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p == NULL || s < 0 || connect(s, (const struct sockaddr *)target, sizeof *target) < 0) {
		fprintf(stderr, "pgproxy: refused a connection: %s\n",
		        p == NULL ? "too many connections" : strerror(errno));
		if (s >= 0)
			close(s);
		close(c);
		return;
	}
	nonblock(c);
	nonblock(s);
	memset(p, 0, sizeof *p);
	p->used = 1;
	p->fd[0] = c;
	p->fd[1] = s;
	p->id = (*next_id)++;
	fprintf(stderr, "pgproxy: connection %d opened\n", p->id);
}

/* Moves what it can for one direction i of p; -1 when the pair is done. */
static int pump(Pair *p, int i, short rev_from, short rev_to)
{
	Dir *d = &p->d[i];
	if (d->len == 0 && !p->eof[i] && (rev_from & (POLLIN | POLLHUP | POLLERR))) {
		ssize_t n = read(p->fd[i], d->buf, sizeof d->buf);
		if (n > 0) {
			d->off = 0;
			d->len = (size_t)n;
			if (armed && i == 0 && memmem(d->buf, d->len, pattern, strlen(pattern))) {
				armed = 0;
				d->trip = 1;
			}
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			p->eof[i] = 1;
		}
	}
	(void)rev_to;
	if (d->len > 0) {          /* non-blocking: EAGAIN is harmless */
		ssize_t n = write(p->fd[1 - i], d->buf + d->off, d->len);
		if (n > 0) {
			d->off += (size_t)n;
			d->len -= (size_t)n;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			return -1;
		}
	}
	if (d->trip && d->len == 0) {
		d->trip = 0;
		tripped = 1;
	}
	/* One end gone and what it sent delivered: the other is closed too (the
	 * PostgreSQL protocol has no half-closed use). */
	if (p->eof[i] && d->len == 0)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: pgproxy LISTEN-SOCKET TARGET-SOCKET [PATTERN]\n");
		return 2;
	}
	pattern = argc == 4 && argv[3][0] ? argv[3] : NULL;
	struct sockaddr_un la, ta;
	if (set_addr(&la, argv[1]) < 0 || set_addr(&ta, argv[2]) < 0)
		return 2;

	sigset_t block, none;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &none);
	sigdelset(&none, SIGUSR1);
	sigdelset(&none, SIGUSR2);
	sigdelset(&none, SIGTERM);
	sigdelset(&none, SIGINT);
	struct sigaction sa = { 0 };
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unlink(argv[1]);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&la, sizeof la) < 0 || listen(lfd, 64) < 0) {
		fprintf(stderr, "pgproxy: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	nonblock(lfd);
	fprintf(stderr, "pgproxy: listening on %s\n", argv[1]);

	int paused = 0, next_id = 1;
	sig_atomic_t seen = 0, seen_arms = 0;
	struct pollfd pf[1 + 2 * MAXPAIRS];
	int idx[MAXPAIRS];
	while (!stop) {
		if (toggles != seen) {
			/* An even number of toggles since the last look is no change. */
			if ((toggles - seen) % 2) {
				paused = !paused;
				fprintf(stderr, "pgproxy: %s\n", paused ? "paused" : "resumed");
			}
			seen = toggles;
		}
		if (arms != seen_arms) {
			seen_arms = arms;
			if (pattern && !paused) {
				armed = 1;
				fprintf(stderr, "pgproxy: armed\n");
			}
		}
		int n = 0;
		if (!paused) {
			pf[n++] = (struct pollfd){ .fd = lfd, .events = POLLIN };
			for (int i = 0; i < MAXPAIRS; i++) {
				Pair *p = &pairs[i];
				idx[i] = -1;
				if (!p->used)
					continue;
				idx[i] = n;
				for (int k = 0; k < 2; k++) {
					short ev = 0;
					if (p->d[k].len == 0 && !p->eof[k])
						ev |= POLLIN;
					if (p->d[1 - k].len > 0)
						ev |= POLLOUT;
					pf[n++] = (struct pollfd){ .fd = p->fd[k], .events = ev };
				}
			}
		}
		int r = ppoll(pf, (nfds_t)n, NULL, &none);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			perror("pgproxy: ppoll");
			return 1;
		}
		if (paused || toggles != seen || arms != seen_arms || stop)
			continue;       /* a toggle first: nothing moves on a stale decision */
		if (pf[0].revents & POLLIN)
			accept_one(lfd, &ta, &next_id);
		for (int i = 0; i < MAXPAIRS; i++) {
			Pair *p = &pairs[i];
			if (!p->used || idx[i] < 0)
				continue;
			short r0 = pf[idx[i]].revents, r1 = pf[idx[i] + 1].revents;
			if (pump(p, 0, r0, r1) < 0 || (!tripped && pump(p, 1, r1, r0) < 0))
				pair_close(p, "an end closed");
			if (tripped) {
				/* Nothing more moves: the answer stays where it is. */
				tripped = 0;
				paused = 1;
				fprintf(stderr, "pgproxy: paused after %s\n", pattern);
				break;
			}
		}
	}
	for (int i = 0; i < MAXPAIRS; i++)
		if (pairs[i].used)
			pair_close(&pairs[i], "proxy stopping");
	unlink(argv[1]);
	fprintf(stderr, "pgproxy: stopped\n");
	return 0;
}
