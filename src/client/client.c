/* The synchronous 9P client: one request on the wire at a time, blocking
 * reads and writes on the socket. Every path helper is walk + open + I/O +
 * clunk, in whichever dialect client_version settled on. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client/client.h"
#include "util/util.h"

enum {
	DEFAULT_MSIZE = 131072,   /* what the Linux kernel offers */
	MIN_MSIZE = 256,          /* room for an I/O header and a stat record */
};

struct Client {
	int fd;
	int want;           /* dialect proposed by client_version */
	int dialect;        /* dialect in use */
	uint32_t msize;     /* proposed, then negotiated (only ever shrinks) */
	uint8_t *tbuf;      /* msize bytes for outgoing frames */
	uint16_t tag;       /* last tag used */
	uint32_t nextfid;
	uint32_t root;
	Qid rootqid;
	int attached;
	int broken;         /* the stream lost framing; no further requests */
};

__attribute__((format(printf, 4, 5)))
static int fail(char *why, size_t n, int rc, const char *fmt, ...)
{
	if (why && n > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, n, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* ---- dialing ---- */

static int dial_unix(const char *path, int *fd, char *why, size_t n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_Static_assert(sizeof ((NetAddr *)0)->host <= sizeof sa.sun_path, "a parsed path fits");
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return fail(why, n, -errno, "socket: %s", strerror(errno));
	if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		close(s);
		return fail(why, n, -e, "connect %s: %s", path, strerror(e));
	}
	*fd = s;
	return 0;
}

static int dial_tcp(const char *host, const char *port, int *fd, char *why, size_t n)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res;
	int g = getaddrinfo(host, port, &hints, &res);
	if (g != 0)
		return fail(why, n, g == EAI_SYSTEM ? -errno : -EHOSTUNREACH, "%s!%s: %s", host,
		            port, gai_strerror(g));
	int e = EHOSTUNREACH;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (s < 0) {
			e = errno;
			continue;
		}
		if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0) {
			/* Small request, wait for reply: Nagle would only add latency. */
			int one = 1;
			setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
			freeaddrinfo(res);
			*fd = s;
			return 0;
		}
		e = errno;
		close(s);
	}
	freeaddrinfo(res);
	return fail(why, n, -e, "connect %s!%s: %s", host, port, strerror(e));
}

int client_dial(const char *addr, int *fd, char *why, size_t n)
{
	*fd = -1;
	NetAddr a;
	int rc = net_addr_parse(addr, &a, why, n);
	if (rc < 0)
		return rc;
	if (a.is_unix)
		return dial_unix(a.host, fd, why, n);
	if (!a.host[0])
		return fail(why, n, -EINVAL, "'%s': no host", addr);
	char port[8];
	snprintf(port, sizeof port, "%d", a.port);
	return dial_tcp(a.host, port, fd, why, n);
}

/* ---- lifecycle ---- */

Client *client_new(int fd, int dialect, uint32_t msize)
{
	Client *c = xcalloc(1, sizeof *c);
	c->fd = fd;
	c->want = c->dialect = dialect == P9_2000 || dialect == P9_2000U ? dialect : P9_2000L;
	c->msize = msize ? msize : DEFAULT_MSIZE;
	if (c->msize < MIN_MSIZE)
		c->msize = MIN_MSIZE;
	c->tbuf = xmalloc(c->msize);
	c->root = P9_NOFID;
	return c;
}

void client_free(Client *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->tbuf);
	free(c);
}

int client_dialect(const Client *c) { return c->dialect; }
int client_fd(const Client *c) { return c->fd; }
int client_broken(const Client *c) { return c->broken; }

uint32_t client_fid(Client *c)
{
	if (c->nextfid == P9_NOFID)
		c->nextfid = 0;
	return c->nextfid++;
}

/* ---- transport ---- */

static int recv_all(int fd, uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t k = read(fd, p, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -ECONNRESET;
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

/* Marks the stream unusable and reports why. */
__attribute__((format(printf, 4, 5)))
static int broken(Client *c, char *why, size_t n, const char *fmt, ...)
{
	c->broken = 1;
	if (why && n > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, n, fmt, ap);
		va_end(ap);
	}
	return -EPROTO;
}

static const char *tname(uint8_t type)
{
	const char *s = p9_typename(type);
	return s ? s : "unknown message";
}

/* Turns an error reply into -errno and its text. */
static int error_reply(const Fcall *r, char *why, size_t n)
{
	if (r->type == Rlerror) {
		if (r->ecode == 0 || r->ecode >= 4096)
			return fail(why, n, -EIO, "server error %u", r->ecode);
		return fail(why, n, -(int)r->ecode, "%s", strerror((int)r->ecode));
	}
	int rc = r->ecode > 0 && r->ecode < 4096 ? -(int)r->ecode : -EIO;
	return fail(why, n, rc, "%.*s", (int)r->ename.n, r->ename.s ? r->ename.s : "");
}

/* Packs and sends t with the next tag (Tversion: NOTAG). */
static int send_one(Client *c, Fcall *t, char *why, size_t n)
{
	if (c->broken)
		return fail(why, n, -EPIPE, "connection unusable after an earlier protocol error");
	if (t->type == Tversion) {
		t->tag = P9_NOTAG;
	} else {
		if (++c->tag == P9_NOTAG)
			c->tag = 0;
		t->tag = c->tag;
	}
	size_t len = p9_pack(c->tbuf, c->msize, c->dialect, t);
	if (len == 0)
		return fail(why, n, -EMSGSIZE, "cannot encode %s within msize %u", tname(t->type),
		            c->msize);
	int rc = net_send_all(c->fd, c->tbuf, len);
	if (rc < 0) {
		c->broken = 1;
		return fail(why, n, rc, "send %s: %s", tname(t->type), strerror(-rc));
	}
	return 0;
}

/* Reads the reply to t, which must be the next to arrive. */
static int recv_one(Client *c, const Fcall *t, Fcall *r, uint8_t **rbuf, char *why, size_t n)
{
	*rbuf = NULL;
	memset(r, 0, sizeof *r);
	if (c->broken)
		return fail(why, n, -EPIPE, "connection unusable after an earlier protocol error");
	uint8_t hdr[4];
	int rc = recv_all(c->fd, hdr, sizeof hdr);
	if (rc < 0) {
		c->broken = 1;
		return fail(why, n, rc, "awaiting reply to %s: %s", tname(t->type),
		            rc == -ECONNRESET ? "connection closed by server" : strerror(-rc));
	}
	uint32_t size = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 |
	                (uint32_t)hdr[3] << 24;
	if (size < P9_HDRSZ || size > c->msize)
		return broken(c, why, n, "reply of %u bytes to %s (msize %u)", size, tname(t->type),
		              c->msize);
	uint8_t *buf = xmalloc(size);
	memcpy(buf, hdr, sizeof hdr);
	*rbuf = buf;
	rc = recv_all(c->fd, buf + 4, size - 4);
	if (rc < 0) {
		c->broken = 1;
		return fail(why, n, rc, "reading reply to %s: %s", tname(t->type),
		            rc == -ECONNRESET ? "connection closed by server" : strerror(-rc));
	}
	/* Before a version is agreed the server may answer in plain 9P2000 (an
	 * Rerror without errno, e.g. a refusal), whatever we proposed. */
	if (p9_unpack(buf, size, c->dialect, r) < 0 &&
	    (t->type != Tversion || p9_unpack(buf, size, P9_2000, r) < 0))
		return broken(c, why, n, "malformed reply (type %u) to %s", buf[4], tname(t->type));
	if (r->tag != t->tag)
		return broken(c, why, n, "reply tag %u to %s tag %u", r->tag, tname(t->type), t->tag);
	if (r->type == Rerror || r->type == Rlerror)
		return error_reply(r, why, n);
	if (r->type != t->type + 1)
		return broken(c, why, n, "%s answered by %s", tname(t->type), tname(r->type));
	return 0;
}

int client_rpc(Client *c, Fcall *t, Fcall *r, uint8_t **rbuf, char *why, size_t n)
{
	*rbuf = NULL;
	memset(r, 0, sizeof *r);
	int rc = send_one(c, t, why, n);
	return rc < 0 ? rc : recv_one(c, t, r, rbuf, why, n);
}

int client_version(Client *c, char *why, size_t n)
{
	Fcall t = { .type = Tversion, .msize = c->msize, .version = p9_str(p9_dialect_name(c->want)) };
	Fcall r;
	uint8_t *rb;
	c->dialect = c->want;
	int rc = client_rpc(c, &t, &r, &rb, why, n);
	if (rc < 0) {
		free(rb);
		return rc;
	}
	int d = p9_dialect_parse(r.version);
	if (d < 0)
		rc = fail(why, n, -EPROTONOSUPPORT, "server does not speak %s: it answered '%.*s'",
		          p9_dialect_name(c->want), (int)r.version.n, r.version.s);
	else if (r.msize < MIN_MSIZE)
		rc = fail(why, n, -EPROTO, "server msize %u is too small", r.msize);
	free(rb);
	if (rc < 0)
		return rc;
	c->dialect = d;
	if (r.msize < c->msize)
		c->msize = r.msize;
	c->nextfid = 0;
	c->attached = 0;
	c->root = P9_NOFID;
	return 0;
}

int client_attach(Client *c, const char *uname, uint32_t n_uname, const char *aname,
                  char *why, size_t n)
{
	Fcall t = {
		.type = Tattach, .fid = client_fid(c), .afid = P9_NOFID,
		.uname = p9_str(uname), .aname = p9_str(aname), .n_uname = n_uname,
	};
	Fcall r;
	uint8_t *rb;
	int rc = client_rpc(c, &t, &r, &rb, why, n);
	if (rc == 0) {
		c->root = t.fid;
		c->rootqid = r.qid;
		c->attached = 1;
	}
	free(rb);
	return rc;
}

/* A transaction whose reply the caller needs no field of. */
static int simple_rpc(Client *c, Fcall *t, char *why, size_t n)
{
	Fcall r;
	uint8_t *rb;
	int rc = client_rpc(c, t, &r, &rb, why, n);
	free(rb);
	return rc;
}

int client_clunk(Client *c, uint32_t fid)
{
	Fcall t = { .type = Tclunk, .fid = fid };
	return simple_rpc(c, &t, NULL, 0);
}

/* ---- walking and opening ---- */

/* Splits path into at most `max` elements in place; returns their count or -1. */
static int split(char *path, char **elems, int max)
{
	int k = 0;
	for (char *save = NULL, *e = strtok_r(path, "/", &save); e; e = strtok_r(NULL, "/", &save)) {
		if (strcmp(e, ".") == 0)
			continue;
		if (k == max || strlen(e) > 0xffff)
			return -1;
		elems[k++] = e;
	}
	return k;
}

int client_walk(Client *c, const char *path, uint32_t *fid, Qid *qid, char *why, size_t n)
{
	if (!c->attached)
		return fail(why, n, -ENOTCONN, "not attached");
	enum { MAXPATH = 256 };
	char *copy = xstrdup(path);
	char *elems[MAXPATH];
	int k = split(copy, elems, MAXPATH);
	if (k < 0) {
		free(copy);
		return fail(why, n, -ENAMETOOLONG, "path too long: %s", path);
	}

	uint32_t nf = client_fid(c);
	uint32_t from = c->root;
	Qid last = c->rootqid;
	int done = 0, rc = 0;
	/* The first Twalk creates nf from the root; longer paths continue in
	 * place, where a failure leaves nf alive and so needs a clunk. */
	do {
		int step = k - done < P9_MAXWELEM ? k - done : P9_MAXWELEM;
		Fcall t = { .type = Twalk, .fid = from, .newfid = nf, .nwname = (uint16_t)step };
		for (int i = 0; i < step; i++)
			t.wname[i] = p9_str(elems[done + i]);
		Fcall r;
		uint8_t *rb;
		rc = client_rpc(c, &t, &r, &rb, why, n);
		if (rc == 0 && r.nwqid > step)
			rc = fail(why, n, -EPROTO, "walk returned %u qids for %d names", r.nwqid, step);
		else if (rc == 0 && r.nwqid < step)
			rc = fail(why, n, -ENOENT, "'%s' not found", elems[done + r.nwqid]);
		else if (rc == 0 && step > 0)
			last = r.wqid[step - 1];
		free(rb);
		if (rc < 0) {
			if (from == nf)
				client_clunk(c, nf);
			free(copy);
			return rc;
		}
		from = nf;
		done += step;
	} while (done < k);
	free(copy);
	*fid = nf;
	if (qid)
		*qid = last;
	return 0;
}

int client_open_fid(Client *c, const char *path, uint8_t mode, int dir, uint32_t *fid,
                    uint32_t *iounit, char *why, size_t n)
{
	uint32_t f;
	int rc = client_walk(c, path, &f, NULL, why, n);
	if (rc < 0)
		return rc;
	Fcall t = { .fid = f };
	if (c->dialect == P9_2000L) {
		/* The flags the kernel sends for open(2) from a shell: O_LARGEFILE
		 * always, O_CREAT with `>` redirections. */
		static const uint32_t access[] = { P9_L_RDONLY, P9_L_WRONLY, P9_L_RDWR, P9_L_RDONLY };
		t.type = Tlopen;
		t.flags = access[mode & 3] | P9_L_LARGEFILE;
		if ((mode & 3) == OWRITE || (mode & 3) == ORDWR)
			t.flags |= P9_L_CREATE;
		if (mode & OTRUNC)
			t.flags |= P9_L_TRUNC;
		if (dir)
			t.flags |= P9_L_DIRECTORY;
	} else {
		t.type = Topen;
		t.mode = mode;
	}
	Fcall r;
	uint8_t *rb;
	rc = client_rpc(c, &t, &r, &rb, why, n);
	uint32_t io = r.iounit;
	free(rb);
	if (rc < 0) {
		client_clunk(c, f);
		return rc;
	}
	uint32_t max = c->msize - P9_IOHDRSZ;
	*fid = f;
	*iounit = io == 0 || io > max ? max : io;
	return 0;
}

/* ---- whole-file helpers ---- */

/* Treads of the open fid from offset off until an empty Rread, appended to out. */
static int read_fid(Client *c, uint32_t fid, uint32_t iounit, uint64_t off, Buf *out, char *why,
                    size_t n)
{
	for (;;) {
		Fcall t = { .type = Tread, .fid = fid, .offset = off, .count = iounit };
		Fcall r;
		uint8_t *rb;
		int rc = client_rpc(c, &t, &r, &rb, why, n);
		if (rc == 0 && r.count > iounit)
			rc = fail(why, n, -EPROTO, "read returned %u bytes for %u asked", r.count, iounit);
		if (rc == 0)
			buf_add(out, r.data, r.count);
		uint32_t got = rc == 0 ? r.count : 0;
		free(rb);
		if (rc < 0 || got == 0)
			return rc;
		off += got;
	}
}

int client_read_from(Client *c, const char *path, uint64_t off, Buf *out, char *why, size_t n)
{
	uint32_t fid, iounit;
	int rc = client_open_fid(c, path, OREAD, 0, &fid, &iounit, why, n);
	if (rc < 0)
		return rc;
	rc = read_fid(c, fid, iounit, off, out, why, n);
	client_clunk(c, fid);
	return rc;
}

int client_read_file(Client *c, const char *path, char **data, size_t *len, char *why,
                     size_t n)
{
	*data = NULL;
	*len = 0;
	Buf b = { 0 };
	int rc = client_read_from(c, path, 0, &b, why, n);
	if (rc < 0) {
		buf_free(&b);
		return rc;
	}
	*data = b.data ? b.data : xcalloc(1, 1);
	*len = b.len;
	return 0;
}

/* The open flags of a read-only open, in the client's dialect. */
static void open_read(const Client *c, Fcall *t, uint32_t fid)
{
	memset(t, 0, sizeof *t);
	t->fid = fid;
	if (c->dialect == P9_2000L) {
		t->type = Tlopen;
		t->flags = P9_L_RDONLY | P9_L_LARGEFILE;
	} else {
		t->type = Topen;
		t->mode = OREAD;
	}
}

enum { PIPE_FILES = 32 };       /* 4 requests each: under jobd's default -maxreqs of 256 */

int client_read_many(Client *c, const char *const *paths, size_t count,
                     void (*fn)(void *arg, size_t i, int rc, const char *data, size_t len,
                                const char *why),
                     void *arg, char *why, size_t n)
{
	if (!c->attached)
		return fail(why, n, -ENOTCONN, "not attached");
	Fcall *t = xcalloc(4 * PIPE_FILES, sizeof *t);
	char **copies = xcalloc(PIPE_FILES, sizeof *copies);
	uint32_t max = c->msize - P9_IOHDRSZ;
	int rc = 0;
	for (size_t base = 0; base < count && rc == 0; base += PIPE_FILES) {
		size_t m = count - base < PIPE_FILES ? count - base : PIPE_FILES;
		int bad[PIPE_FILES] = { 0 };
		/* Walk, open, read, clunk of each file, all sent before any reply
		 * is read: jobd answers a connection's requests in order. */
		for (size_t i = 0; i < m; i++) {
			char *elems[P9_MAXWELEM];
			copies[i] = xstrdup(paths[base + i]);
			int k = split(copies[i], elems, P9_MAXWELEM);
			uint32_t fid = client_fid(c);
			Fcall *w = &t[4 * i];
			memset(w, 0, sizeof *w);
			w->type = Twalk;
			w->fid = c->root;
			w->newfid = fid;
			w->nwname = (uint16_t)(k < 0 ? 0 : k);
			for (int e = 0; e < k; e++)
				w->wname[e] = p9_str(elems[e]);
			bad[i] = k < 0;
			open_read(c, &t[4 * i + 1], fid);
			t[4 * i + 2] = (Fcall){ .type = Tread, .fid = fid, .count = max };
			t[4 * i + 3] = (Fcall){ .type = Tclunk, .fid = fid };
		}
		for (size_t k = 0; k < 4 * m && rc == 0; k++)
			rc = send_one(c, &t[k], why, n);
		for (size_t i = 0; i < m && rc == 0; i++) {
			int frc = bad[i] ? -ENAMETOOLONG : 0;
			char fwhy[256] = "";
			if (bad[i])
				snprintf(fwhy, sizeof fwhy, "path too long: %s", paths[base + i]);
			Buf data = { 0 };
			for (int q = 0; q < 4 && rc == 0; q++) {
				Fcall r;
				uint8_t *rb;
				char ewhy[256];
				int e = recv_one(c, &t[4 * i + q], &r, &rb, ewhy, sizeof ewhy);
				if (c->broken) {
					rc = fail(why, n, e, "%s", ewhy);
				} else if (q == 0 && e == 0 && r.nwqid < t[4 * i].nwname && frc == 0) {
					frc = -ENOENT;
					snprintf(fwhy, sizeof fwhy, "'%s' not found",
					         t[4 * i].wname[r.nwqid].s);
				} else if (e < 0 && frc == 0 && q < 3) {
					frc = e;
					snprintf(fwhy, sizeof fwhy, "%s", ewhy);
				} else if (q == 2 && e == 0 && frc == 0) {
					buf_add(&data, r.data, r.count);
				}
				free(rb);
			}
			if (rc == 0) {
				buf_add(&data, "", 1);
				fn(arg, base + i, frc, frc == 0 ? data.data : NULL,
				   frc == 0 ? data.len - 1 : 0, fwhy);
			}
			buf_free(&data);
		}
		for (size_t i = 0; i < m; i++) {
			free(copies[i]);
			copies[i] = NULL;
		}
	}
	free(copies);
	free(t);
	return rc;
}

/* Twrites of data to the open fid from offset 0, in iounit-sized pieces. */
static int write_fid(Client *c, uint32_t fid, uint32_t iounit, const void *data, size_t len,
                     char *why, size_t n)
{
	int rc = 0;
	const uint8_t *p = data;
	size_t done = 0;
	while (done < len && rc == 0) {
		uint32_t chunk = len - done < iounit ? (uint32_t)(len - done) : iounit;
		Fcall t = { .type = Twrite, .fid = fid, .offset = done, .count = chunk, .data = p + done };
		Fcall r;
		uint8_t *rb;
		rc = client_rpc(c, &t, &r, &rb, why, n);
		if (rc == 0 && (r.count == 0 || r.count > chunk))
			rc = fail(why, n, -EIO, "write of %u bytes at %zu returned %u", chunk, done,
			          r.count);
		if (rc == 0)
			done += r.count;
		free(rb);
	}
	return rc;
}

int client_write_file(Client *c, const char *path, const void *data, size_t len, char *why,
                      size_t n)
{
	uint32_t fid, iounit;
	int rc = client_open_fid(c, path, OWRITE, 0, &fid, &iounit, why, n);
	if (rc < 0)
		return rc;
	if ((rc = write_fid(c, fid, iounit, data, len, why, n)) < 0) {
		client_clunk(c, fid);
		return rc;
	}
	/* Some servers act on a write only when the fid is clunked; report that too. */
	Fcall t = { .type = Tclunk, .fid = fid };
	return simple_rpc(c, &t, why, n);
}

int client_write_read(Client *c, const char *path, const void *data, size_t len, Buf *reply,
                      char *why, size_t n)
{
	uint32_t fid, iounit;
	int rc = client_open_fid(c, path, ORDWR, 0, &fid, &iounit, why, n);
	if (rc < 0)
		return rc;
	if ((rc = write_fid(c, fid, iounit, data, len, why, n)) == 0) {
		char rwhy[256];
		Buf b = { 0 };
		if (read_fid(c, fid, iounit, 0, &b, rwhy, sizeof rwhy) == 0)
			buf_add(reply, b.data ? b.data : "", b.len);
		buf_free(&b);
	}
	client_clunk(c, fid);
	return rc;
}

void client_free_names(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

typedef struct Names {
	char **v;
	size_t n, cap;
} Names;

static void names_add(Names *ns, const char *s, size_t len)
{
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return;
	if (ns->n == ns->cap) {
		ns->cap = ns->cap ? 2 * ns->cap : 16;
		ns->v = xrealloc(ns->v, ns->cap * sizeof *ns->v);
	}
	ns->v[ns->n++] = xstrndup(s, len);
}

/* The names in the open directory fid until an empty reply: Treaddir from
 * the cookie of the last entry in 9P2000.L, Tread of whole stat records in
 * 9P2000/.u. */
static int list_fid(Client *c, uint32_t fid, uint32_t iounit, Names *ns, char *why, size_t n)
{
	int dotl = c->dialect == P9_2000L;
	uint64_t offset = 0;
	for (;;) {
		Fcall t = { .type = dotl ? Treaddir : Tread, .fid = fid, .offset = offset, .count = iounit };
		Fcall r;
		uint8_t *rb;
		int rc = client_rpc(c, &t, &r, &rb, why, n);
		if (rc == 0 && r.count > iounit)
			rc = fail(why, n, -EPROTO, "%s returned %u bytes for %u asked",
			          dotl ? "readdir" : "read", r.count, iounit);
		uint64_t next = offset + (rc == 0 ? r.count : 0);
		for (size_t at = 0; rc == 0 && at < r.count;) {
			const uint8_t *e = r.data + at;
			size_t k, left = r.count - at;
			P9stat st;
			Qid q;
			uint8_t type;
			if (dotl)
				k = p9_unpack_dirent(e, left, &q, &next, &type, &st.name);
			else
				k = p9_unpack_stat(e, left, c->dialect, &st);
			if (k == 0)
				rc = fail(why, n, -EPROTO, "malformed or split directory entry");
			else
				names_add(ns, st.name.s, st.name.n);
			at += k;
		}
		uint32_t got = rc == 0 ? r.count : 0;
		free(rb);
		if (rc < 0 || got == 0)
			return rc;
		if (next == offset)
			return fail(why, n, -EPROTO, "readdir offset did not advance");
		offset = next;
	}
}

int client_list_dir(Client *c, const char *path, char ***names, size_t *count, char *why,
                    size_t n)
{
	*names = NULL;
	*count = 0;
	uint32_t fid, iounit;
	int rc = client_open_fid(c, path, OREAD, 1, &fid, &iounit, why, n);
	if (rc < 0)
		return rc;
	Names ns = { 0 };
	rc = list_fid(c, fid, iounit, &ns, why, n);
	client_clunk(c, fid);
	if (rc < 0) {
		client_free_names(ns.v, ns.n);
		return rc;
	}
	*names = ns.v;
	*count = ns.n;
	return 0;
}

int client_stat(Client *c, const char *path, ClientStat *st, char *why, size_t n)
{
	*st = (ClientStat){ 0 };
	uint32_t fid;
	int rc = client_walk(c, path, &fid, NULL, why, n);
	if (rc < 0)
		return rc;
	Fcall t = { .fid = fid };
	t.type = c->dialect == P9_2000L ? Tgetattr : Tstat;
	t.request_mask = P9_GETATTR_BASIC;
	Fcall r;
	uint8_t *rb;
	rc = client_rpc(c, &t, &r, &rb, why, n);
	if (rc == 0 && t.type == Tgetattr) {
		st->qid = r.attr.qid;
		st->length = r.attr.size;
		st->perm = r.attr.mode & 0777;
		st->mtime = (int64_t)r.attr.mtime_sec;
		st->isdir = (r.attr.qid.type & QTDIR) != 0;
	} else if (rc == 0) {
		st->qid = r.stat.qid;
		st->length = r.stat.length;
		st->perm = r.stat.mode & 0777;
		st->mtime = r.stat.mtime;
		st->isdir = (r.stat.qid.type & QTDIR) != 0 || (r.stat.mode & DMDIR) != 0;
	}
	free(rb);
	client_clunk(c, fid);
	return rc;
}
