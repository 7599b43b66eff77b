/* p9probe ADDR COMMAND [ARGS]: small probes of a running jobd for the
 * end-to-end tests, each printing one line (or an error on stderr and exit 1).
 *
 *   stat PATH        "U G MUID N_UID N_GID MODE" from a 9P2000.u Tstat, then
 *                    "L UID GID MODE" from a 9P2000.L Tgetattr (modes in octal)
 *   fids N           attaches, then clones the root fid N times; prints "ok N"
 *                    or the error of the first clone refused ("at K: TEXT")
 *   hold SECONDS     a session (version, attach) kept open, doing nothing, for
 *                    SECONDS; prints "held" when it is attached
 *   version          Tversion only, proposing msize 1 GiB: "MSIZE VERSION", or
 *                    the error text
 *   write PATH DATA  writes DATA to PATH: "ok" or the error text
 *
 * Attaches send uname $P9PROBE_UNAME (else $USER), n_uname $P9PROBE_NUNAME
 * (else the caller's uid) and aname $P9PROBE_ANAME (else ""): what jobd
 * makes of such claims is under test. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "9p/fcall.h"
#include "client/client.h"

static const char *addr;

static Client *session(int dialect, uint32_t msize, char *why, size_t n)
{
	int fd;
	if (client_dial(addr, &fd, why, n) < 0)
		return NULL;
	Client *c = client_new(fd, dialect, msize);
	const char *user = getenv("P9PROBE_UNAME") ? getenv("P9PROBE_UNAME") : getenv("USER");
	const char *nu = getenv("P9PROBE_NUNAME");
	uint32_t n_uname = nu ? (uint32_t)strtoul(nu, NULL, 10) : (uint32_t)getuid();
	if (client_version(c, why, n) < 0 ||
	    client_attach(c, user ? user : "", n_uname,
	                  getenv("P9PROBE_ANAME") ? getenv("P9PROBE_ANAME") : "", why, n) < 0) {
		client_free(c);
		return NULL;
	}
	return c;
}

static int die(const char *what, const char *why)
{
	fprintf(stderr, "p9probe: %s: %s\n", what, why);
	return 1;
}

static int do_stat(const char *path)
{
	char why[512];
	Fcall t, r;
	uint8_t *rb = NULL;
	uint32_t fid;
	Client *c = session(P9_2000U, 0, why, sizeof why);
	if (!c)
		return die("connect", why);
	if (client_walk(c, path, &fid, NULL, why, sizeof why) < 0)
		return die(path, why);
	memset(&t, 0, sizeof t);
	t.type = Tstat;
	t.fid = fid;
	if (client_rpc(c, &t, &r, &rb, why, sizeof why) < 0)
		return die("Tstat", why);
	const P9stat *st = &r.stat;
	printf("U %.*s %.*s %.*s %u %u %o\n", st->uid.n, st->uid.s, st->gid.n, st->gid.s,
	       st->muid.n, st->muid.s, st->n_uid, st->n_gid, st->mode & 0777);
	free(rb);
	client_free(c);

	c = session(P9_2000L, 0, why, sizeof why);
	if (!c)
		return die("connect", why);
	if (client_walk(c, path, &fid, NULL, why, sizeof why) < 0)
		return die(path, why);
	memset(&t, 0, sizeof t);
	t.type = Tgetattr;
	t.fid = fid;
	t.request_mask = P9_GETATTR_BASIC;
	rb = NULL;
	if (client_rpc(c, &t, &r, &rb, why, sizeof why) < 0)
		return die("Tgetattr", why);
	printf("L %u %u %o\n", r.attr.uid, r.attr.gid, r.attr.mode & 0777);
	free(rb);
	client_free(c);
	return 0;
}

static int do_fids(long count)
{
	char why[512];
	Client *c = session(P9_2000U, 0, why, sizeof why);
	if (!c)
		return die("connect", why);
	for (long i = 0; i < count; i++) {
		uint32_t fid;
		if (client_walk(c, "/", &fid, NULL, why, sizeof why) < 0) {
			printf("at %ld: %s\n", i, why);
			client_free(c);
			return 0;
		}
	}
	printf("ok %ld\n", count);
	client_free(c);
	return 0;
}

static int do_hold(long seconds)
{
	char why[512];
	Client *c = session(P9_2000U, 0, why, sizeof why);
	if (!c)
		return die("connect", why);
	printf("held\n");
	fflush(stdout);
	sleep((unsigned)seconds);
	client_free(c);
	return 0;
}

static int do_version(void)
{
	char why[512];
	int fd;
	if (client_dial(addr, &fd, why, sizeof why) < 0)
		return die("connect", why);
	Client *c = client_new(fd, P9_2000U, 1u << 30);
	Fcall t, r;
	uint8_t *rb = NULL;
	memset(&t, 0, sizeof t);
	t.type = Tversion;
	t.msize = 1u << 30;
	t.version = p9_str("9P2000.u");
	if (client_rpc(c, &t, &r, &rb, why, sizeof why) < 0)
		printf("%s\n", why);
	else
		printf("%u %.*s\n", r.msize, r.version.n, r.version.s);
	free(rb);
	client_free(c);
	return 0;
}

static int do_write(const char *path, const char *data)
{
	char why[512];
	Client *c = session(P9_2000U, 0, why, sizeof why);
	if (!c)
		return die("connect", why);
	if (client_write_file(c, path, data, strlen(data), why, sizeof why) < 0)
		printf("%s\n", why);
	else
		printf("ok\n");
	client_free(c);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: p9probe ADDR stat PATH | fids N | hold SECONDS | version | "
		        "write PATH DATA\n");
		return 2;
	}
	addr = argv[1];
	const char *cmd = argv[2];
	if (strcmp(cmd, "stat") == 0 && argc == 4)
		return do_stat(argv[3]);
	if (strcmp(cmd, "fids") == 0 && argc == 4)
		return do_fids(atol(argv[3]));
	if (strcmp(cmd, "hold") == 0 && argc == 4)
		return do_hold(atol(argv[3]));
	if (strcmp(cmd, "write") == 0 && argc == 5)
		return do_write(argv[3], argv[4]);
	if (strcmp(cmd, "version") == 0 && argc == 3)
		return do_version();
	fprintf(stderr, "p9probe: bad command\n");
	return 2;
}
