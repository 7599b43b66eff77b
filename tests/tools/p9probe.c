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
 *   do DIALECT OP PATH [ARG]
 *                    one operation in DIALECT (9P2000, 9P2000.u, 9P2000.L) on
 *                    a new session; prints "ok" (see stat), or the error: in
 *                    9P2000.L the errno's name ("EOPNOTSUPP"), in 9P2000.u
 *                    "ENAME: text", in 9P2000 "error: text". OPs:
 *                      write DATA    open for writing, one Twrite of DATA
 *                                    (\0 \n \\ and \xHH are decoded)
 *                      stat          "ok vers V length N" (Tgetattr / Tstat)
 *                      mkdir         Tmkdir; Tcreate DMDIR otherwise
 *                      rmdir, unlink Tunlinkat (AT_REMOVEDIR or not);
 *                                    Tremove otherwise
 *                      link NAME     Tlink: NAME in PATH's directory; Tcreate
 *                                    DMLINK otherwise
 *                      symlink       Tsymlink; Tcreate DMSYMLINK otherwise
 *                      mknod         Tmknod; Tcreate DMDEVICE otherwise
 *                      rename NAME   Trename; Twstat of the name otherwise
 *                      renameat NAME Trenameat (.L)
 *                      lock, getlock Tlock / Tgetlock of the opened file (.L)
 *                      xattrwalk, xattrcreate   of "user.x" (.L)
 *   flood PATH N GOFILE
 *                    opens PATH (9P2000.u) and sends N Treads of it without
 *                    reading a reply, for as long as jobd takes them. Once
 *                    GOFILE exists it prints "sent K of N before reading",
 *                    then reads every reply (sending the rest as jobd takes
 *                    them) and prints "answered A of N" (A counts Rreads
 *                    that answer the requests in order). Exit 1 if jobd
 *                    stops answering for 20 s.
 *   opens PATH N GOFILE
 *                    opens PATH N times on one session (N fids at once) and
 *                    reads the first 8 KiB of each; prints "opened N" and
 *                    keeps them open until GOFILE exists, then reads each
 *                    through to its end and prints "read B bytes per open"
 *                    (every open must read the same length, else exit 1)
 *   park PATH MODE   opens PATH (9P2000.u) and sends a Tread that must wait
 *                    (a live file): a Twalk sent after it must be answered
 *                    first, then it prints "parked". MODE says what follows:
 *                      wait     the read's answer (up to 30 s): its data as
 *                               is, or "error: TEXT"
 *                      flush    Tflush of it: "flushed" once Rflush came
 *                               and the read's reply did not
 *                      clunk    Tclunk of its fid: "clunked" (the read's
 *                               reply must not come; the session still works)
 *                      version  a new Tversion: "reset" (likewise)
 *                      close    hangs up: "closed"
 *   parkmany PATH N  opens PATH N times on one session and sends a Tread on
 *                    each (they must all wait), then a Twalk: "parked N" once
 *                    the walk is answered (waiting reads must not count
 *                    against -maxreqs)
 *   stream PATH GOFILE LINES
 *                    opens PATH, prints "open", waits for GOFILE to exist,
 *                    then reads until LINES lines came (or two empty replies
 *                    in a row: the end) and prints them
 *   refusals N       with jobd's connections all taken, opens N silent
 *                    connections (more than the 16 jobd holds), and prints
 *                        oldest K: C closed without a word within 1.9 s
 *                        newest 16: T told why
 *                    (the N-16 oldest must be closed, no byte sent, before
 *                    their own 2 s are up; each of the 16 newest, asked with
 *                    a Tversion, must answer "too many connections"); then
 *                    opens 16 more that never ask and prints
 *                        silent 16: S closed without a word within 4 s
 *
 * Attaches send uname $P9PROBE_UNAME (else $USER), n_uname $P9PROBE_NUNAME
 * (else the caller's uid) and aname $P9PROBE_ANAME (else ""): what jobd
 * makes of such claims is under test. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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

/* ---- do: one operation, and the error each dialect carries for it ---- */

static const struct { int e; const char *name; } errnames[] = {
	{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { ESRCH, "ESRCH" }, { EINTR, "EINTR" },
	{ EIO, "EIO" }, { EBADF, "EBADF" }, { EACCES, "EACCES" }, { EBUSY, "EBUSY" },
	{ EEXIST, "EEXIST" }, { ENOTDIR, "ENOTDIR" }, { EISDIR, "EISDIR" }, { EINVAL, "EINVAL" },
	{ EMFILE, "EMFILE" }, { EFBIG, "EFBIG" }, { ENOSPC, "ENOSPC" }, { EROFS, "EROFS" },
	{ EPIPE, "EPIPE" }, { ENAMETOOLONG, "ENAMETOOLONG" }, { ENODATA, "ENODATA" },
	{ EPROTO, "EPROTO" }, { EMSGSIZE, "EMSGSIZE" }, { EOPNOTSUPP, "EOPNOTSUPP" },
	{ ECONNRESET, "ECONNRESET" }, { ENOTCONN, "ENOTCONN" }, { EDQUOT, "EDQUOT" },
};

static const char *errname(int e)
{
	static char other[32];
	for (size_t i = 0; i < sizeof errnames / sizeof errnames[0]; i++)
		if (errnames[i].e == e)
			return errnames[i].name;
	snprintf(other, sizeof other, "errno-%d", e);
	return other;
}

/* Prints the outcome of a step that failed with rc (-errno) and why. */
static int report(int dialect, int rc, const char *why)
{
	if (dialect == P9_2000L)
		printf("%s\n", errname(-rc));
	else if (dialect == P9_2000U)
		printf("%s: %s\n", errname(-rc), why);
	else
		printf("error: %s\n", why);
	return 0;
}

/* Decodes \0, \n, \\ and \xHH in s into out; returns the length. */
static size_t unescape(const char *s, char *out)
{
	size_t n = 0;
	while (*s) {
		if (*s != '\\' || !s[1]) {
			out[n++] = *s++;
			continue;
		}
		s++;
		if (*s == '0') { out[n++] = 0; s++; }
		else if (*s == 'n') { out[n++] = '\n'; s++; }
		else if (*s == 'x' && s[1] && s[2]) {
			char hex[3] = { s[1], s[2], 0 };
			out[n++] = (char)strtol(hex, NULL, 16);
			s += 3;
		} else out[n++] = *s++;
	}
	return n;
}

/* One transaction whose outcome is the answer: "ok" or the error. */
static int rpc_report(Client *c, int dialect, Fcall *t)
{
	char why[512];
	Fcall r;
	uint8_t *rb;
	int rc = client_rpc(c, t, &r, &rb, why, sizeof why);
	free(rb);
	if (rc < 0)
		return report(dialect, rc, why);
	printf("ok\n");
	return 0;
}

/* Walks from the root to path one element per Twalk, so that a missing
 * element is the server's error (a longer walk that stops part way is
 * answered with the qids so far, and the client says ENOENT itself). */
static int walk_steps(Client *c, const char *path, uint32_t *fid, char *why, size_t n)
{
	int rc = client_walk(c, "", fid, NULL, why, n);
	char copy[512];
	snprintf(copy, sizeof copy, "%s", path);
	char *save = NULL;
	for (char *e = strtok_r(copy, "/", &save); rc == 0 && e; e = strtok_r(NULL, "/", &save)) {
		Fcall t = { .type = Twalk, .fid = *fid, .newfid = *fid, .nwname = 1 }, r;
		uint8_t *rb;
		t.wname[0] = p9_str(e);
		rc = client_rpc(c, &t, &r, &rb, why, n);
		free(rb);
	}
	return rc;
}

static int do_op(const char *dname, const char *op, const char *path, const char *arg)
{
	char why[512];
	int d = strcmp(dname, "9P2000.L") == 0 ? P9_2000L : strcmp(dname, "9P2000.u") == 0 ? P9_2000U :
	        strcmp(dname, "9P2000") == 0 ? P9_2000 : -1;
	if (d < 0)
		return die("do", "dialect: 9P2000, 9P2000.u or 9P2000.L");
	Client *c = session(d, 0, why, sizeof why);
	if (!c)
		return die("connect", why);
	int L = d == P9_2000L;
	/* PATH's directory and last element, for the operations that name an entry. */
	char dir[512], *base;
	snprintf(dir, sizeof dir, "%s", path);
	base = strrchr(dir, '/');
	if (base)
		*base++ = 0;
	else {
		base = dir + strlen(dir) + 1;
		memmove(base, dir, strlen(dir) + 1);
		dir[0] = 0;
	}
	uint32_t fid, dfid, iounit;
	int rc;
	Fcall t;
	memset(&t, 0, sizeof t);
	int make = strcmp(op, "mkdir") == 0 || strcmp(op, "symlink") == 0 || strcmp(op, "mknod") == 0;
	/* PATH (its directory, for what is to be made) is walked first one element
	 * at a time: a missing one gets the server's own error. */
	if ((rc = walk_steps(c, make ? dir : path, &fid, why, sizeof why)) < 0) {
		report(d, rc, why);
		client_free(c);
		return 0;
	}
	client_clunk(c, fid);
	if (strcmp(op, "write") == 0 && arg) {
		char *data = malloc(strlen(arg) + 1);
		size_t len = unescape(arg, data);
		rc = client_write_file(c, path, data, len, why, sizeof why);
		free(data);
		if (rc < 0)
			report(d, rc, why);
		else
			printf("ok\n");
	} else if (strcmp(op, "stat") == 0) {
		ClientStat st;
		if ((rc = client_stat(c, path, &st, why, sizeof why)) < 0)
			report(d, rc, why);
		else
			printf("ok vers %u length %llu\n", st.qid.vers, (unsigned long long)st.length);
	} else if (strcmp(op, "lock") == 0 || strcmp(op, "getlock") == 0) {
		if ((rc = client_open_fid(c, path, ORDWR, 0, &fid, &iounit, why, sizeof why)) < 0) {
			report(d, rc, why);
		} else {
			t.type = op[0] == 'l' ? Tlock : Tgetlock;
			t.fid = fid;
			t.lock.type = 1; /* F_WRLCK */
			t.lock.length = 0;
			t.lock.proc_id = (uint32_t)getpid();
			t.lock.client_id = p9_str("p9probe");
			rpc_report(c, d, &t);
		}
	} else if ((rc = client_walk(c, path, &fid, NULL, why, sizeof why)) < 0 && !make) {
		report(d, rc, why);
	} else if ((rc = client_walk(c, dir, &dfid, NULL, why, sizeof why)) < 0) {
		report(d, rc, why);
	} else if (strcmp(op, "mkdir") == 0) {
		if (L) {
			t.type = Tmkdir; t.dfid = dfid; t.name = p9_str(base); t.lmode = 0755;
			t.gid = (uint32_t)getgid();
		} else {
			t.type = Tcreate; t.fid = dfid; t.name = p9_str(base); t.perm = DMDIR | 0755;
			t.mode = OREAD;
		}
		rpc_report(c, d, &t);
	} else if (strcmp(op, "rmdir") == 0 || strcmp(op, "unlink") == 0) {
		if (L) {
			t.type = Tunlinkat; t.dfid = dfid; t.name = p9_str(base);
			t.flags = op[0] == 'r' ? 0x200 /* AT_REMOVEDIR */ : 0;
		} else {
			t.type = Tremove; t.fid = fid;
		}
		rpc_report(c, d, &t);
	} else if (strcmp(op, "link") == 0 && arg) {
		char target[16];
		snprintf(target, sizeof target, "%u", fid);
		if (L) {
			t.type = Tlink; t.dfid = dfid; t.fid = fid; t.name = p9_str(arg);
		} else {
			t.type = Tcreate; t.fid = dfid; t.name = p9_str(arg); t.perm = 0x01000000u | 0644;
			t.mode = OREAD; t.extension = p9_str(target);   /* DMLINK: the target's fid */
		}
		rpc_report(c, d, &t);
	} else if (strcmp(op, "symlink") == 0) {
		if (L) {
			t.type = Tsymlink; t.fid = dfid; t.name = p9_str(base); t.symtgt = p9_str("/tmp");
			t.gid = (uint32_t)getgid();
		} else {
			t.type = Tcreate; t.fid = dfid; t.name = p9_str(base); t.perm = 0x02000000u | 0777;
			t.mode = OREAD; t.extension = p9_str("/tmp");   /* DMSYMLINK */
		}
		rpc_report(c, d, &t);
	} else if (strcmp(op, "mknod") == 0) {
		if (L) {
			t.type = Tmknod; t.dfid = dfid; t.name = p9_str(base); t.lmode = S_IFCHR | 0644;
			t.major = 1; t.minor = 3; t.gid = (uint32_t)getgid();
		} else {
			t.type = Tcreate; t.fid = dfid; t.name = p9_str(base); t.perm = 0x00800000u | 0644;
			t.mode = OREAD; t.extension = p9_str("c 1 3");   /* DMDEVICE */
		}
		rpc_report(c, d, &t);
	} else if ((strcmp(op, "rename") == 0 || strcmp(op, "renameat") == 0) && arg) {
		if (L && op[6] == 'a') {
			t.type = Trenameat; t.dfid = dfid; t.name = p9_str(base); t.newdfid = dfid;
			t.newname = p9_str(arg);
		} else if (L) {
			t.type = Trename; t.fid = fid; t.dfid = dfid; t.name = p9_str(arg);
		} else {
			/* wstat(5): all ones (or empty strings) for "don't touch". */
			t.type = Twstat; t.fid = fid;
			memset(&t.stat, 0xff, sizeof t.stat);
			t.stat.name = p9_str(arg);
			t.stat.uid = t.stat.gid = t.stat.muid = t.stat.extension = p9_str("");
		}
		rpc_report(c, d, &t);
	} else if (strcmp(op, "xattrwalk") == 0 && L) {
		t.type = Txattrwalk; t.fid = fid; t.newfid = client_fid(c); t.name = p9_str("user.x");
		rpc_report(c, d, &t);
	} else if (strcmp(op, "xattrcreate") == 0 && L) {
		t.type = Txattrcreate; t.fid = fid; t.name = p9_str("user.x"); t.xattr_size = 1;
		rpc_report(c, d, &t);
	} else {
		client_free(c);
		return die("do", "unknown operation (or one .L has alone) or missing argument");
	}
	client_free(c);
	return 0;
}

/* A session (version, attach as $USER) whose requests the client makes
 * through a copy of the socket, while the caller writes raw frames on *fd,
 * with tags the client never uses. NULL with why. */
static Client *raw_session(int *fd, char *why, size_t n)
{
	if (client_dial(addr, fd, why, n) < 0)
		return NULL;
	Client *c = client_new(dup(*fd), P9_2000U, 0);
	const char *user = getenv("USER") ? getenv("USER") : "";
	if (client_version(c, why, n) < 0 ||
	    client_attach(c, user, (uint32_t)getuid(), "", why, n) < 0) {
		client_free(c);
		close(*fd);
		return NULL;
	}
	return c;
}

/* ---- flood: more requests than -maxreqs, none of whose replies is read ---- */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Treads number i of flood: tag 1000 + i, 64 bytes from offset 0. */
static size_t pack_read(uint8_t *frame, size_t cap, uint32_t fid, long i)
{
	Fcall t;
	memset(&t, 0, sizeof t);
	t.type = Tread;
	t.tag = (uint16_t)(1000 + i);
	t.fid = fid;
	t.count = 64;
	return p9_pack(frame, cap, P9_2000U, &t);
}

static int do_flood(const char *path, long n, const char *gofile)
{
	char why[512];
	int fd;
	if (n < 1 || n > 50000)
		return die("flood", "N must be 1..50000 (tags must not repeat)");
	/* The Treads go out raw, with tags from 1000 on. */
	Client *c = raw_session(&fd, why, sizeof why);
	uint32_t fid, iounit;
	if (!c || client_open_fid(c, path, OREAD, 0, &fid, &iounit, why, sizeof why) < 0)
		return die("session", why);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	uint8_t frame[64], *in = malloc(1 << 16);
	size_t flen = 0, foff = 0, inlen = 0;
	long sent = 0, answered = 0;
	int reading = 0, bad = 0;
	int64_t progress = now_ms();
	while (answered < n) {
		if (!reading && access(gofile, F_OK) == 0) {
			printf("sent %ld of %ld before reading\n", sent, n);
			fflush(stdout);
			reading = 1;
			progress = now_ms();
		}
		if (flen == 0 && sent < n) {
			flen = pack_read(frame, sizeof frame, fid, sent);
			foff = 0;
		}
		int moved = 0;
		while (flen) {
			ssize_t w = write(fd, frame + foff, flen - foff);
			if (w < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (w < 0)
				return die("flood: write", strerror(errno));
			moved = 1;
			foff += (size_t)w;
			if (foff < flen)
				continue;
			flen = 0;
			if (++sent == n)
				break;
			flen = pack_read(frame, sizeof frame, fid, sent);
			foff = 0;
		}
		if (reading) {
			ssize_t r = read(fd, in + inlen, (1 << 16) - inlen);
			if (r == 0)
				return die("flood", "connection closed by jobd");
			if (r > 0) {
				moved = 1;
				inlen += (size_t)r;
			}
			size_t off = 0;
			while (inlen - off >= 7) {
				uint32_t size = (uint32_t)in[off] | (uint32_t)in[off + 1] << 8 |
				                (uint32_t)in[off + 2] << 16 | (uint32_t)in[off + 3] << 24;
				if (size < 7 || size > (1 << 16))
					return die("flood", "bad reply frame");
				if (inlen - off < size)
					break;
				uint16_t tag = (uint16_t)(in[off + 5] | in[off + 6] << 8);
				if (in[off + 4] != Rread || tag != (uint16_t)(1000 + answered))
					bad++;
				else
					answered++;
				off += size;
			}
			memmove(in, in + off, inlen - off);
			inlen -= off;
			if (bad)
				break;
		}
		if (moved) {
			progress = now_ms();
			continue;
		}
		if (reading && now_ms() - progress > 20000)
			break;
		struct pollfd p = { .fd = fd, .events = (short)((flen ? POLLOUT : 0) | (reading ? POLLIN : 0)) };
		poll(&p, 1, 50);
	}
	if (!reading)
		printf("sent %ld of %ld before reading\n", sent, n);
	printf("answered %ld of %ld\n", answered, n);
	free(in);
	close(fd);
	client_free(c);
	return answered == n ? 0 : 1;
}

/* ---- park: a read that waits, and what ends it ---- */

enum { PARK_TAG = 7, PROBE_TAG = 8, AFTER_TAG = 9, PROBE_FID = 0x7fff0001 };

/* Sends t raw on fd. */
static int send_raw(int fd, int dialect, Fcall *t)
{
	uint8_t frame[512];
	size_t len = p9_pack(frame, sizeof frame, dialect, t);
	return len && write(fd, frame, len) == (ssize_t)len ? 0 : -1;
}

/* Reads one reply frame from fd within ms: its type and tag, the frame in
 * buf (at most cap). -1 on timeout or a closed connection. */
static int recv_raw(int fd, uint8_t *buf, size_t cap, int ms, uint8_t *type, uint16_t *tag)
{
	size_t have = 0, want = 7;
	int64_t end = now_ms() + ms;
	while (have < want) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left = (int)(end - now_ms());
		if (left <= 0 || poll(&p, 1, left) <= 0)
			return -1;
		ssize_t r = read(fd, buf + have, want - have);
		if (r <= 0)
			return -1;
		have += (size_t)r;
		if (have == 7) {
			want = (size_t)buf[0] | (size_t)buf[1] << 8 | (size_t)buf[2] << 16 | (size_t)buf[3] << 24;
			if (want < 7 || want > cap)
				return -1;
		}
	}
	*type = buf[4];
	*tag = (uint16_t)(buf[5] | buf[6] << 8);
	return (int)want;
}

/* Waits for the reply tagged want; any reply to the parked read first is a failure. */
static int expect_reply(int fd, uint8_t *buf, size_t cap, uint16_t want, const char *what)
{
	uint8_t type;
	uint16_t tag;
	for (;;) {
		if (recv_raw(fd, buf, cap, 10000, &type, &tag) < 0)
			return die(what, "no reply within 10 s");
		if (tag == want)
			return 0;
		if (tag == PARK_TAG)
			return die(what, "the parked read was answered, though it was cancelled");
	}
}

static int do_park(const char *path, const char *mode)
{
	char why[512];
	int fd;
	Client *c = raw_session(&fd, why, sizeof why);
	uint32_t fid, iounit, root;
	const char *user = getenv("USER") ? getenv("USER") : "";
	if (!c || client_walk(c, "", &root, NULL, why, sizeof why) < 0 ||
	    client_open_fid(c, path, OREAD, 0, &fid, &iounit, why, sizeof why) < 0)
		return die("session", why);
	size_t cap = 1 << 16;
	uint8_t *buf = malloc(cap);
	uint8_t type;
	uint16_t tag;
	Fcall t = { .type = Tread, .tag = PARK_TAG, .fid = fid, .count = 8192 };
	Fcall w = { .type = Twalk, .tag = PROBE_TAG, .fid = root, .newfid = PROBE_FID };
	if (send_raw(fd, P9_2000U, &t) < 0 || send_raw(fd, P9_2000U, &w) < 0)
		return die("park", "cannot send");
	if (recv_raw(fd, buf, cap, 10000, &type, &tag) < 0)
		return die("park", "no reply within 10 s");
	if (tag == PARK_TAG) {
		printf("answered at once\n");
		return 1;
	}
	printf("parked\n");
	fflush(stdout);
	int rc = 0;
	if (strcmp(mode, "wait") == 0) {
		int len = recv_raw(fd, buf, cap, 30000, &type, &tag);
		if (len < 0 || tag != PARK_TAG)
			return die("wait", "no answer within 30 s");
		Fcall r;
		if (p9_unpack(buf, (uint32_t)len, P9_2000U, &r) < 0)
			return die("wait", "bad reply");
		if (r.type == Rread)
			fwrite(r.data, 1, r.count, stdout);
		else
			printf("error: %.*s\n", r.ename.n, r.ename.s);
	} else if (strcmp(mode, "flush") == 0) {
		Fcall f = { .type = Tflush, .tag = AFTER_TAG, .oldtag = PARK_TAG };
		if (send_raw(fd, P9_2000U, &f) < 0 || (rc = expect_reply(fd, buf, cap, AFTER_TAG, "flush")))
			return rc;
		printf("flushed\n");
	} else if (strcmp(mode, "clunk") == 0 || strcmp(mode, "version") == 0) {
		int clunk = mode[0] == 'c';
		Fcall f = { .type = Tclunk, .tag = AFTER_TAG, .fid = fid };
		if (!clunk) {
			f = (Fcall){ .type = Tversion, .tag = P9_NOTAG, .msize = 8192 };
			f.version = p9_str("9P2000.u");
		}
		if (send_raw(fd, P9_2000U, &f) < 0 ||
		    (rc = expect_reply(fd, buf, cap, clunk ? AFTER_TAG : P9_NOTAG, mode)))
			return rc;
		/* The session still answers: a walk (clunk) or a new attach (version). */
		Fcall a = { .type = Twalk, .tag = AFTER_TAG + 1, .fid = root, .newfid = PROBE_FID + 1 };
		if (!clunk) {
			a = (Fcall){ .type = Tattach, .tag = AFTER_TAG + 1, .fid = 1, .afid = P9_NOFID,
			             .n_uname = (uint32_t)getuid() };
			a.uname = p9_str(user);
			a.aname = p9_str("");
		}
		if (send_raw(fd, P9_2000U, &a) < 0 || (rc = expect_reply(fd, buf, cap, AFTER_TAG + 1, mode)))
			return rc;
		printf(clunk ? "clunked\n" : "reset\n");
	} else {
		printf("closed\n");
	}
	free(buf);
	close(fd);
	client_free(c);
	return rc;
}

static int do_parkmany(const char *path, long count)
{
	char why[512];
	int fd;
	if (count < 1 || count > 1000)
		return die("parkmany", "N must be 1..1000");
	Client *c = raw_session(&fd, why, sizeof why);
	uint32_t root, iounit;
	if (!c || client_walk(c, "", &root, NULL, why, sizeof why) < 0)
		return die("session", why);
	uint8_t buf[4096], type;
	uint16_t tag;
	for (long i = 0; i < count; i++) {
		uint32_t fid;
		if (client_open_fid(c, path, OREAD, 0, &fid, &iounit, why, sizeof why) < 0)
			return die("open", why);
		Fcall t = { .type = Tread, .tag = (uint16_t)(100 + i), .fid = fid, .count = 4096 };
		if (send_raw(fd, P9_2000U, &t) < 0)
			return die("parkmany", "cannot send");
	}
	Fcall w = { .type = Twalk, .tag = PROBE_TAG, .fid = root, .newfid = PROBE_FID };
	if (send_raw(fd, P9_2000U, &w) < 0)
		return die("parkmany", "cannot send");
	if (recv_raw(fd, buf, sizeof buf, 10000, &type, &tag) < 0)
		return die("parkmany", "no reply within 10 s");
	if (tag != PROBE_TAG)
		return die("parkmany", "a read was answered: it did not wait");
	printf("parked %ld\n", count);
	close(fd);
	client_free(c);
	return 0;
}

static int do_stream(const char *path, const char *gofile, long lines)
{
	char why[512];
	Client *c = session(P9_2000U, 0, why, sizeof why);
	uint32_t fid, iounit;
	if (!c)
		return die("connect", why);
	if (client_open_fid(c, path, OREAD, 0, &fid, &iounit, why, sizeof why) < 0)
		return die(path, why);
	printf("open\n");
	fflush(stdout);
	int64_t end = now_ms() + 30000;
	while (access(gofile, F_OK) != 0) {
		if (now_ms() > end)
			return die("stream", "no GOFILE within 30 s");
		poll(NULL, 0, 20);
	}
	uint64_t off = 0;
	long got = 0;
	int zeros = 0;
	while (got < lines) {
		Fcall t = { .type = Tread, .fid = fid, .offset = off, .count = 8192 }, r;
		uint8_t *rb;
		if (client_rpc(c, &t, &r, &rb, why, sizeof why) < 0)
			return die("read", why);
		if (r.count == 0) {
			/* An empty reply ends a batch; two in a row are the end (live.c). */
			free(rb);
			if (zeros++)
				break;
			continue;
		}
		zeros = 0;
		fwrite(r.data, 1, r.count, stdout);
		for (uint32_t i = 0; i < r.count; i++)
			got += r.data[i] == '\n';
		off += r.count;
		free(rb);
	}
	client_free(c);
	return 0;
}

/* ---- refusals: what the 16 held refused connections, and older ones, get ---- */

enum { HELD = 16 };

/* Waits up to ms for fd to be closed by jobd: returns the bytes it sent
 * first (0: closed without a word), or -1 if it was not closed. */
static long wait_closed(int fd, int ms)
{
	long got = 0;
	int64_t end = now_ms() + ms;
	for (;;) {
		int64_t left = end - now_ms();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		char b[512];
		ssize_t r = read(fd, b, sizeof b);
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return got;
		if (r < 0)
			return -1;
		got += r;
	}
}

static int dial_fd(void)
{
	char why[256];
	int fd;
	if (client_dial(addr, &fd, why, sizeof why) < 0) {
		fprintf(stderr, "p9probe: connect: %s\n", why);
		exit(1);
	}
	return fd;
}

/* Connections fds[from..to), each dialled at at[i]: how many the server
 * closed without sending a byte within limit_ms of their dial (each is
 * waited for at most 10 s, then closed here); the others are described on
 * stderr as "<what> connection N". */
static long closed_quietly(const int *fds, const int64_t *at, long from, long to,
                           int64_t limit_ms, const char *what)
{
	long quiet = 0;
	for (long i = from; i < to; i++) {
		long got = wait_closed(fds[i], 10000);
		int64_t after = now_ms() - at[i];
		if (got == 0 && after < limit_ms)
			quiet++;
		else
			fprintf(stderr, "p9probe: %s connection %ld: %s after %lld ms\n", what, i + 1,
			        got < 0 ? "still open" : got ? "sent bytes, then closed" : "closed",
			        (long long)after);
		close(fds[i]);
	}
	return quiet;
}

static int do_refusals(long n)
{
	if (n <= HELD || n > 256)
		return die("refusals", "N must be 17..256");
	int fds[256];
	int64_t at[256];
	for (long i = 0; i < n; i++) {
		at[i] = now_ms();
		fds[i] = dial_fd();
	}
	/* The oldest were pushed out by the newer ones, at once: long before
	 * their own 2 s (a timer that let them go would take 2 s). */
	long quiet = closed_quietly(fds, at, 0, n - HELD, 1900, "refused");
	printf("oldest %ld: %ld closed without a word within 1.9 s\n", n - HELD, quiet);
	/* The newest are still held: a Tversion on each is answered with why. */
	long told = 0;
	for (long i = n - HELD; i < n; i++) {
		char why[512];
		Client *c = client_new(fds[i], P9_2000U, 0);
		if (client_version(c, why, sizeof why) < 0 && strstr(why, "too many connections"))
			told++;
		else
			fprintf(stderr, "p9probe: refused connection %ld: %s\n", i + 1, why);
		client_free(c);
	}
	printf("newest %d: %ld told why\n", HELD, told);
	/* Held ones that never ask are closed, without a word, when their 2 s are up. */
	for (long i = 0; i < HELD; i++) {
		at[i] = now_ms();
		fds[i] = dial_fd();
	}
	long silent = closed_quietly(fds, at, 0, HELD, 4000, "silent");
	printf("silent %d: %ld closed without a word within 4 s\n", HELD, silent);
	return 0;
}

/* One Tread of fid at off: the count read into buf, or -errno. */
static long read_fid(Client *c, uint32_t fid, uint64_t off, uint8_t *buf, uint32_t count,
                     char *why, size_t n)
{
	Fcall t = { .type = Tread, .fid = fid, .offset = off, .count = count }, r;
	uint8_t *rbuf = NULL;
	int rc = client_rpc(c, &t, &r, &rbuf, why, n);
	long got = rc < 0 ? rc : (long)r.count;
	if (rc >= 0)
		memcpy(buf, r.data, r.count);
	free(rbuf);
	return got;
}

static int do_opens(const char *path, long count, const char *gofile)
{
	char why[512];
	if (count < 1 || count > 10000)
		return die("opens", "N must be 1..10000");
	Client *c = session(P9_2000L, 65536, why, sizeof why);
	if (!c)
		return die("session", why);
	uint32_t *fids = calloc((size_t)count, sizeof *fids), iounit;
	uint8_t *buf = malloc(65536);
	for (long i = 0; i < count; i++) {
		if (client_open_fid(c, path, OREAD, 0, &fids[i], &iounit, why, sizeof why) < 0)
			return die("open", why);
		if (read_fid(c, fids[i], 0, buf, 8192, why, sizeof why) < 0)
			return die("read", why);
	}
	printf("opened %ld\n", count);
	fflush(stdout);
	struct stat sb;
	while (stat(gofile, &sb) < 0) {
		struct timespec ts = { 0, 20 * 1000000 };
		nanosleep(&ts, NULL);
	}
	uint64_t first = 0;
	for (long i = 0; i < count; i++) {
		uint64_t off = 0;
		long got;
		while ((got = read_fid(c, fids[i], off, buf, 65000, why, sizeof why)) > 0)
			off += (uint64_t)got;
		if (got < 0)
			return die("read", why);
		if (i == 0)
			first = off;
		else if (off != first)
			return die("opens", "the opens read different lengths");
	}
	printf("read %llu bytes per open\n", (unsigned long long)first);
	free(buf);
	free(fids);
	client_free(c);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: p9probe ADDR stat PATH | fids N | hold SECONDS | version | "
		        "write PATH DATA | do DIALECT OP PATH [ARG] | flood PATH N GOFILE | "
		        "refusals N\n");
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
	if (strcmp(cmd, "do") == 0 && (argc == 6 || argc == 7))
		return do_op(argv[3], argv[4], argv[5], argc == 7 ? argv[6] : NULL);
	if (strcmp(cmd, "flood") == 0 && argc == 6)
		return do_flood(argv[3], atol(argv[4]), argv[5]);
	if (strcmp(cmd, "opens") == 0 && argc == 6)
		return do_opens(argv[3], atol(argv[4]), argv[5]);
	if (strcmp(cmd, "park") == 0 && argc == 5)
		return do_park(argv[3], argv[4]);
	if (strcmp(cmd, "parkmany") == 0 && argc == 5)
		return do_parkmany(argv[3], strtol(argv[4], NULL, 10));
	if (strcmp(cmd, "stream") == 0 && argc == 6)
		return do_stream(argv[3], argv[4], strtol(argv[5], NULL, 10));
	if (strcmp(cmd, "refusals") == 0 && argc == 4)
		return do_refusals(atol(argv[3]));
	fprintf(stderr, "p9probe: bad command\n");
	return 2;
}
