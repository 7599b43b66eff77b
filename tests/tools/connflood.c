/* connflood: hostile connection patterns for the end-to-end tests.
 *
 *   connflood ADDR hold N     opens N connections (TCP or unix) and sends
 *                             nothing; prints "opened K" (K connects
 *                             succeeded), then waits, holding them, until
 *                             killed or until stdin reaches end of file
 *   connflood ADDR loop N     connects and closes at once, N times; prints
 *                             "looped K"
 *   connflood ADDR rst        connects and resets the connection at once
 *                             (SO_LINGER 0), so that jobd accepts a socket
 *                             whose peer is already gone; prints "reset"
 *   connflood ADDR closeburst LINE
 *                             sends a whole session in one go without
 *                             waiting for replies — Tversion, Tattach as
 *                             root (uname root, n_uname 0), walk to clone,
 *                             open, write LINE — and closes at once, so
 *                             jobd finds the requests queued on a socket
 *                             whose client is gone; prints "sent"
 *   connflood ADDR privport U connects from a privileged source port (the
 *                             kernel's privport mount option does the same),
 *                             attaches (9P2000.L) with uname U and n_uname
 *                             U's uid (or U if numeric) and writes
 *                             "$CONNFLOOD_CLONE" to /clone; prints "ok" or
 *                             the error
 *
 * Exit 0, or 1 on a usage error or a failed set-up. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "9p/fcall.h"
#include "client/client.h"

static const char *addr;

static int usage(void)
{
	fprintf(stderr, "usage: connflood ADDR hold N | loop N | rst | closeburst LINE | privport USER\n");
	return 1;
}

static int dial(void)
{
	char why[256];
	int fd;
	if (client_dial(addr, &fd, why, sizeof why) < 0)
		return -1;
	return fd;
}

static int hold(long n)
{
	/* Enough descriptors for N connections. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n + 16) {
		rl.rlim_cur = rl.rlim_max < (rlim_t)n + 16 ? rl.rlim_max : (rlim_t)n + 16;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	long k = 0;
	for (long i = 0; i < n; i++)
		if (dial() >= 0)
			k++;
	printf("opened %ld\n", k);
	fflush(stdout);
	char b[64];
	while (read(0, b, sizeof b) > 0)
		;
	return 0;
}

static int loop(long n)
{
	long k = 0;
	for (long i = 0; i < n; i++) {
		int fd = dial();
		if (fd >= 0) {
			k++;
			close(fd);
		}
	}
	printf("looped %ld\n", k);
	return 0;
}

static int rst(void)
{
	int fd = dial();
	if (fd < 0) {
		fprintf(stderr, "connflood: cannot connect to %s\n", addr);
		return 1;
	}
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(fd);
	printf("reset\n");
	return 0;
}

static size_t put(uint8_t *buf, size_t at, size_t cap, Fcall *t)
{
	size_t len = p9_pack(buf + at, cap - at, P9_2000U, t);
	if (len == 0) {
		fprintf(stderr, "connflood: cannot pack a message\n");
		exit(1);
	}
	return at + len;
}

static int closeburst(const char *line)
{
	uint8_t buf[8192];
	size_t at = 0;
	Fcall t;
	memset(&t, 0, sizeof t);
	t.type = Tversion; t.tag = P9_NOTAG; t.msize = 8192; t.version = p9_str("9P2000.u");
	at = put(buf, at, sizeof buf, &t);
	memset(&t, 0, sizeof t);
	t.type = Tattach; t.tag = 1; t.fid = 1; t.afid = P9_NOFID;
	t.uname = p9_str("root"); t.aname = p9_str(""); t.n_uname = 0;
	at = put(buf, at, sizeof buf, &t);
	memset(&t, 0, sizeof t);
	t.type = Twalk; t.tag = 2; t.fid = 1; t.newfid = 2; t.nwname = 1; t.wname[0] = p9_str("clone");
	at = put(buf, at, sizeof buf, &t);
	memset(&t, 0, sizeof t);
	t.type = Topen; t.tag = 3; t.fid = 2; t.mode = OWRITE;
	at = put(buf, at, sizeof buf, &t);
	memset(&t, 0, sizeof t);
	t.type = Twrite; t.tag = 4; t.fid = 2; t.offset = 0;
	t.count = (uint32_t)strlen(line); t.data = (const uint8_t *)line;
	at = put(buf, at, sizeof buf, &t);
	int fd = dial();
	if (fd < 0) {
		fprintf(stderr, "connflood: cannot connect to %s\n", addr);
		return 1;
	}
	if (write(fd, buf, at) != (ssize_t)at) {
		fprintf(stderr, "connflood: short write\n");
		return 1;
	}
	close(fd);
	printf("sent\n");
	return 0;
}

/* tcp!HOST!PORT with a numeric host only. */
static int dial_privport(void)
{
	char host[128];
	int port;
	if (sscanf(addr, "tcp!%127[^!]!%d", host, &port) != 2)
		return -1;
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	socklen_t len;
	int family;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		family = sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		len = sizeof *sin;
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		family = sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		len = sizeof *sin6;
	} else {
		return -1;
	}
	for (int p = 1023; p >= 600; p--) {
		int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		struct sockaddr_storage me;
		memset(&me, 0, sizeof me);
		me.ss_family = (sa_family_t)family;
		if (family == AF_INET)
			((struct sockaddr_in *)&me)->sin_port = htons((uint16_t)p);
		else
			((struct sockaddr_in6 *)&me)->sin6_port = htons((uint16_t)p);
		if (bind(fd, (struct sockaddr *)&me, len) == 0 && connect(fd, (struct sockaddr *)&ss, len) == 0)
			return fd;
		close(fd);
	}
	return -1;
}

static int privport(const char *user)
{
	char why[512];
	uint32_t n_uname;
	struct passwd *pw = getpwnam(user);
	if (pw)
		n_uname = (uint32_t)pw->pw_uid;
	else
		n_uname = (uint32_t)strtoul(user, NULL, 10);
	int fd = dial_privport();
	if (fd < 0) {
		fprintf(stderr, "connflood: cannot connect to %s from a privileged port: %s\n", addr,
		        strerror(errno));
		return 1;
	}
	Client *c = client_new(fd, P9_2000L, 0);
	const char *text = getenv("CONNFLOOD_CLONE") ? getenv("CONNFLOOD_CLONE") : "";
	if (client_version(c, why, sizeof why) < 0 ||
	    client_attach(c, user, n_uname, "", why, sizeof why) < 0 ||
	    client_write_file(c, "clone", text, strlen(text), why, sizeof why) < 0)
		printf("%s\n", why);
	else
		printf("ok\n");
	client_free(c);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return usage();
	addr = argv[1];
	const char *mode = argv[2];
	if (!strcmp(mode, "hold") && argc == 4)
		return hold(atol(argv[3]));
	if (!strcmp(mode, "loop") && argc == 4)
		return loop(atol(argv[3]));
	if (!strcmp(mode, "rst") && argc == 3)
		return rst();
	if (!strcmp(mode, "closeburst") && argc == 4)
		return closeburst(argv[3]);
	if (!strcmp(mode, "privport") && argc == 4)
		return privport(argv[3]);
	return usage();
}
