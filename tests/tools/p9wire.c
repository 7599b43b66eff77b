/* p9wire ADDR: hostile and odd input over the wire against a running jobd.
 * Each case prints "ok - wire/NAME" or "not ok - wire/NAME"; after each case
 * that should make jobd drop a connection, a fresh connection must still be
 * served (the daemon stays up and serves others meanwhile). The last line is
 *     # p9wire: ran N of NCASES cases
 * and the exit status is 0 only if all NCASES ran and passed. A connection
 * jobd breaks is a result to check, not a death: SIGPIPE is ignored, and
 * anything that stops the run early prints "not ok" first. */
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "9p/fcall.h"
#include "client/client.h"

/* Every case main runs, counted by result(); a run that ends early or
 * skips one says so in its last line and its exit status. */
enum { NCASES = 22 };

static const char *addr;
static const char *user;        /* the caller's name: what a root peer's attach names */
static int failed, ran;

static void result(int ok, const char *name, const char *detail)
{
	printf("%s - wire/%s%s%s\n", ok ? "ok" : "not ok", name, detail ? ": " : "", detail ? detail : "");
	ran++;
	if (!ok)
		failed++;
	fflush(stdout);
}

static int summary(void)
{
	printf("# p9wire: ran %d of %d cases\n", ran, NCASES);
	fflush(stdout);
	return failed || ran != NCASES ? 1 : 0;
}

/* Ends the run early: a "not ok" line for what stopped it, then the count. */
static void fatal(const char *name, const char *why)
{
	result(0, name, why);
	summary();
	exit(1);
}

static int dial(void)
{
	char why[256];
	int fd;
	if (client_dial(addr, &fd, why, sizeof why) < 0)
		fatal("dial", why);
	return fd;
}

/* A full, proper session on a new connection: version, attach, list /jobs. */
static int healthy(void)
{
	char why[256], **names;
	size_t count;
	Client *c = client_new(dial(), P9_2000L, 0);
	int rc = client_version(c, why, sizeof why);
	if (rc == 0)
		rc = client_attach(c, user, (uint32_t)getuid(), "", why, sizeof why);
	if (rc == 0 && (rc = client_list_dir(c, "jobs", &names, &count, why, sizeof why)) == 0)
		client_free_names(names, count);
	client_free(c);
	return rc == 0;
}

/* Waits (bounded) for the server to close fd: 1 if it did. */
static int closed_by_server(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[4096];
	for (;;) {
		int n = poll(&p, 1, 5000);
		if (n <= 0)
			return 0;
		ssize_t r = read(fd, buf, sizeof buf);
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return 1;
		if (r < 0)
			return 0;
	}
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static void send_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w <= 0)
			return;
		b += w;
		n -= (size_t)w;
	}
}

static void bad_frame(const char *name, const uint8_t *bytes, size_t n)
{
	int fd = dial();
	send_all(fd, bytes, n);
	int closed = closed_by_server(fd);
	close(fd);
	result(closed && healthy(), name, closed ? NULL : "connection not closed");
}

/* A session for message-level cases. */
static Client *session(int dialect)
{
	char why[256];
	Client *c = client_new(dial(), dialect, 0);
	if (client_version(c, why, sizeof why) < 0 ||
	    client_attach(c, user, (uint32_t)getuid(), "", why, sizeof why) < 0) {
		char name[64];
		snprintf(name, sizeof name, "session-%s",
		         dialect == P9_2000 ? "9P2000" : dialect == P9_2000U ? "9P2000.u" : "9P2000.L");
		fatal(name, why);
	}
	return c;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		printf("not ok - wire/usage: p9wire ADDR\n");
		return 2;
	}
	addr = argv[1];
	signal(SIGPIPE, SIG_IGN);
	/* A root peer's attach names the user it acts for (plain 9P2000 has only
	 * the name); anyone else is who the kernel says, whatever is sent. */
	struct passwd *pw = getpwuid(getuid());
	user = pw ? pw->pw_name : "";
	uint8_t frame[64];

	result(healthy(), "baseline", NULL);

	uint8_t garbage[256];
	for (size_t i = 0; i < sizeof garbage; i++)
		garbage[i] = (uint8_t)(i * 37 + 11);
	bad_frame("garbage", garbage, sizeof garbage);

	memset(frame, 0, sizeof frame);
	bad_frame("size-0", frame, 7);

	put32(frame, 0xffffffffu);
	frame[4] = Tversion;
	bad_frame("size-4GiB", frame, 16);

	put32(frame, 3);
	bad_frame("size-below-header", frame, 7);

	/* Half a message, then silence: others are served meanwhile. */
	{
		int fd = dial();
		put32(frame, 100);
		frame[4] = Tversion;
		send_all(fd, frame, 10);
		int ok = healthy() && healthy();
		close(fd);
		result(ok, "half-message-then-silence", NULL);
	}

	/* A 2 MiB frame is larger than any msize jobd negotiates. */
	{
		size_t big = 2u << 20;
		uint8_t *b = calloc(1, big);
		put32(b, (uint32_t)big);
		b[4] = Twrite;
		bad_frame("2MiB-frame", b, big);
		free(b);
	}

	/* Message-level errors keep the connection. */
	Client *c = session(P9_2000L);
	char why[256];
	Fcall t, r;
	uint8_t *rb;

	memset(&t, 0, sizeof t);
	t.type = Tread; t.fid = 999; t.count = 100;
	int rc = client_rpc(c, &t, &r, &rb, why, sizeof why);
	result(rc == -EBADF, "unknown-fid", why);
	free(rb);

	memset(&t, 0, sizeof t);
	t.type = Twalk; t.fid = 0; t.newfid = 1; t.nwname = 3;
	t.wname[0] = p9_str(".."); t.wname[1] = p9_str(".."); t.wname[2] = p9_str("jobs");
	rc = client_rpc(c, &t, &r, &rb, why, sizeof why);
	result(rc == 0 && r.nwqid == 3 && (r.wqid[0].type & QTDIR) && r.wqid[2].path != r.wqid[0].path &&
	       r.wqid[1].path == r.wqid[0].path, "walk-dotdot-at-root", rc ? why : NULL);
	free(rb);

	memset(&t, 0, sizeof t);
	t.type = Twalk; t.fid = 0; t.newfid = 2; t.nwname = 2;
	t.wname[0] = p9_str("jobs"); t.wname[1] = p9_str("nosuchjob");
	rc = client_rpc(c, &t, &r, &rb, why, sizeof why);
	result(rc == 0 && r.nwqid == 1, "partial-walk", rc ? why : NULL);
	free(rb);
	memset(&t, 0, sizeof t);
	t.type = Tclunk; t.fid = 2;
	rc = client_rpc(c, &t, &r, &rb, why, sizeof why);
	result(rc == -EBADF, "partial-walk-creates-no-fid", why);
	free(rb);

	memset(&t, 0, sizeof t);
	t.type = Tflush; t.oldtag = 4242;
	rc = client_rpc(c, &t, &r, &rb, why, sizeof why);
	result(rc == 0 && r.type == Rflush, "flush-unknown-tag", rc ? why : NULL);
	free(rb);

	/* Things jobd does not do get a proper error, never silence. */
	memset(&t, 0, sizeof t);
	t.type = Tsymlink; t.fid = 0; t.name = p9_str("x"); t.symtgt = p9_str("y");
	rc = client_rpc(c, &t, &r, &rb, why, sizeof why);
	result(rc == -EOPNOTSUPP, "symlink-refused", why);
	free(rb);

	memset(&t, 0, sizeof t);
	t.type = Trenameat; t.dfid = 0; t.name = p9_str("clone"); t.newdfid = 0; t.newname = p9_str("x");
	rc = client_rpc(c, &t, &r, &rb, why, sizeof why);
	result(rc == -EOPNOTSUPP, "renameat-refused", why);
	free(rb);

	/* A 2 MiB write to clone through the client: refused, nothing created. */
	{
		size_t big = 2u << 20;
		char *data = malloc(big);
		memset(data, 'a', big);
		memcpy(data, "huge:* * * * *:", 15);
		rc = client_write_file(c, "clone", data, big, why, sizeof why);
		free(data);
		char *st;
		size_t len;
		int exists = client_read_file(c, "jobs/huge/cmd", &st, &len, why, sizeof why) == 0;
		if (exists)
			free(st);
		result(rc < 0 && !exists, "2MiB-write-to-clone", NULL);
	}
	/* The fid that wrote clone reads back the name of the job it created. */
	{
		uint32_t fid, iounit;
		rc = client_open_fid(c, "clone", ORDWR, 0, &fid, &iounit, why, sizeof why);
		const char *line = "readback:0 0 1 1 * 2099:true\n";
		if (rc == 0) {
			memset(&t, 0, sizeof t);
			t.type = Twrite; t.fid = fid; t.count = (uint32_t)strlen(line);
			t.data = (const uint8_t *)line;
			rc = client_rpc(c, &t, &r, &rb, why, sizeof why);
			free(rb);
		}
		int ok = 0;
		if (rc == 0) {
			memset(&t, 0, sizeof t);
			t.type = Tread; t.fid = fid; t.count = 100;
			rc = client_rpc(c, &t, &r, &rb, why, sizeof why);
			ok = rc == 0 && r.count == 8 && memcmp(r.data, "readback", 8) == 0;
			free(rb);
			client_clunk(c, fid);
		}
		result(ok, "clone-reads-back-name", rc ? why : NULL);
		char *del;
		size_t dl;
		if (client_read_file(c, "jobs/readback/ctl", &del, &dl, why, sizeof why) == 0) {
			free(del);
			client_write_file(c, "jobs/readback/ctl", "delete", 6, why, sizeof why);
		}
	}
	client_free(c);

	/* Version negotiation: an unknown version gets "unknown". */
	{
		Client *u = client_new(dial(), P9_2000L, 0);
		memset(&t, 0, sizeof t);
		t.type = Tversion; t.msize = 8192; t.version = p9_str("9P3000");
		rc = client_rpc(u, &t, &r, &rb, why, sizeof why);
		result(rc == 0 && r.version.n == 7 && memcmp(r.version.s, "unknown", 7) == 0,
		       "version-unknown", rc ? why : NULL);
		free(rb);
		memset(&t, 0, sizeof t);
		t.type = Tversion; t.msize = 1u << 30; t.version = p9_str("9P2000.L");
		rc = client_rpc(u, &t, &r, &rb, why, sizeof why);
		result(rc == 0 && r.msize <= (1u << 20) && r.msize >= 4096, "msize-capped", rc ? why : NULL);
		free(rb);
		client_free(u);
	}

	/* Each dialect answers a session. */
	{
		int dialects[] = { P9_2000, P9_2000U, P9_2000L };
		const char *names[] = { "9P2000", "9P2000.u", "9P2000.L" };
		for (int i = 0; i < 3; i++) {
			Client *d = session(dialects[i]);
			char **ns;
			size_t cnt;
			rc = client_list_dir(d, "/", &ns, &cnt, why, sizeof why);
			int ok = rc == 0 && cnt == 4 && client_dialect(d) == dialects[i];   /* clone events jobs stats */
			if (rc == 0)
				client_free_names(ns, cnt);
			char name[64];
			snprintf(name, sizeof name, "dialect-%s", names[i]);
			result(ok, name, rc ? why : NULL);
			client_free(d);
		}
	}

	result(healthy(), "still-serving", NULL);
	return summary();
}
