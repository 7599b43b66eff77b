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

/* 9P2000.L open flags. They are Linux's x86 values, fixed by the protocol,
 * so the host's O_* constants (which differ on some architectures) are not
 * used. */
enum {
	L_RDONLY = 00, L_WRONLY = 01, L_RDWR = 02, L_CREATE = 0100, L_TRUNC = 01000,
	L_LARGEFILE = 0100000, L_DIRECTORY = 0200000,
};

static const char *const version_names[] = {
	[P9_2000] = "9P2000", [P9_2000U] = "9P2000.u", [P9_2000L] = "9P2000.L",
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
	if (path[0] == '\0' || strlen(path) >= sizeof sa.sun_path)
		return fail(why, n, -ENAMETOOLONG, "bad unix socket path '%s'", path);
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
	if (strncmp(addr, "unix!", 5) == 0)
		return dial_unix(addr + 5, fd, why, n);

	char host[256], port[64];
	const char *h = addr, *sep;
	if (strncmp(addr, "tcp!", 4) == 0) {
		h = addr + 4;
		sep = strchr(h, '!');
	} else if (strchr(addr, '/')) {
		return dial_unix(addr, fd, why, n);
	} else if (addr[0] == '[') {
		h = addr + 1;
		sep = strstr(h, "]:");
	} else {
		sep = strrchr(addr, ':');
	}
	if (!sep)
		return fail(why, n, -EINVAL, "address '%s' has no port", addr);
	const char *p = sep + (*sep == ']' ? 2 : 1);
	size_t hl = (size_t)(sep - h);
	if (hl == 0 || hl >= sizeof host || *p == '\0' || strlen(p) >= sizeof port)
		return fail(why, n, -EINVAL, "bad address '%s'", addr);
	memcpy(host, h, hl);
	host[hl] = '\0';
	strcpy(port, p);
	return dial_tcp(host, port, fd, why, n);
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
uint32_t client_msize(const Client *c) { return c->msize; }

uint32_t client_fid(Client *c)
{
	if (c->nextfid == P9_NOFID)
		c->nextfid = 0;
	return c->nextfid++;
}

/* ---- transport ---- */

static int send_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		/* MSG_NOSIGNAL: a vanished server is an error, not a SIGPIPE. */
		ssize_t k = send(fd, p, len, MSG_NOSIGNAL);
		if (k < 0 && errno == ENOTSOCK)
			k = write(fd, p, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EPIPE;
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

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

int client_rpc(Client *c, Fcall *t, Fcall *r, uint8_t **rbuf, char *why, size_t n)
{
	*rbuf = NULL;
	memset(r, 0, sizeof *r);
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
	int rc = send_all(c->fd, c->tbuf, len);
	if (rc < 0) {
		c->broken = 1;
		return fail(why, n, rc, "send %s: %s", tname(t->type), strerror(-rc));
	}

	uint8_t hdr[4];
	rc = recv_all(c->fd, hdr, sizeof hdr);
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

/* ---- session ---- */

int client_version(Client *c, char *why, size_t n)
{
	Fcall t = { .type = Tversion, .msize = c->msize, .version = p9_str(version_names[c->want]) };
	Fcall r;
	uint8_t *rb;
	c->dialect = c->want;
	int rc = client_rpc(c, &t, &r, &rb, why, n);
	if (rc < 0) {
		free(rb);
		return rc;
	}
	int d;
	if (r.version.n == 8 && memcmp(r.version.s, "9P2000.L", 8) == 0)
		d = P9_2000L;
	else if (r.version.n == 8 && memcmp(r.version.s, "9P2000.u", 8) == 0)
		d = P9_2000U;
	else if (r.version.n >= 6 && memcmp(r.version.s, "9P2000", 6) == 0)
		d = P9_2000;
	else
		d = -1;
	if (d < 0)
		rc = fail(why, n, -EPROTONOSUPPORT, "server does not speak %s: it answered '%.*s'",
		          version_names[c->want], (int)r.version.n, r.version.s);
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
		static const uint32_t access[] = { L_RDONLY, L_WRONLY, L_RDWR, L_RDONLY };
		t.type = Tlopen;
		t.flags = access[mode & 3] | L_LARGEFILE;
		if ((mode & 3) == OWRITE || (mode & 3) == ORDWR)
			t.flags |= L_CREATE;
		if (mode & OTRUNC)
			t.flags |= L_TRUNC;
		if (dir)
			t.flags |= L_DIRECTORY;
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

int client_read_file(Client *c, const char *path, char **data, size_t *len, char *why,
                     size_t n)
{
	*data = NULL;
	*len = 0;
	uint32_t fid, iounit;
	int rc = client_open_fid(c, path, OREAD, 0, &fid, &iounit, why, n);
	if (rc < 0)
		return rc;
	size_t have = 0, cap = 1024;
	char *out = xmalloc(cap);
	for (;;) {
		Fcall t = { .type = Tread, .fid = fid, .offset = have, .count = iounit };
		Fcall r;
		uint8_t *rb;
		rc = client_rpc(c, &t, &r, &rb, why, n);
		if (rc == 0 && r.count > iounit)
			rc = fail(why, n, -EPROTO, "read returned %u bytes for %u asked", r.count, iounit);
		if (rc < 0 || r.count == 0) {
			free(rb);
			break;
		}
		if (cap - have <= r.count) {
			while (cap - have <= r.count)
				cap *= 2;
			out = xrealloc(out, cap);
		}
		memcpy(out + have, r.data, r.count);
		have += r.count;
		free(rb);
	}
	client_clunk(c, fid);
	if (rc < 0) {
		free(out);
		return rc;
	}
	out[have] = '\0';
	*data = out;
	*len = have;
	return 0;
}

int client_write_file(Client *c, const char *path, const void *data, size_t len, char *why,
                      size_t n)
{
	uint32_t fid, iounit;
	int rc = client_open_fid(c, path, OWRITE, 0, &fid, &iounit, why, n);
	if (rc < 0)
		return rc;
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
	if (rc < 0) {
		client_clunk(c, fid);
		return rc;
	}
	/* Some servers act on a write only when the fid is clunked; report that too. */
	Fcall t = { .type = Tclunk, .fid = fid };
	return simple_rpc(c, &t, why, n);
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

/* 9P2000.L: Treaddir from the cookie of the last entry until an empty reply. */
static int list_dotl(Client *c, uint32_t fid, uint32_t iounit, Names *ns, char *why, size_t n)
{
	uint64_t cookie = 0;
	for (;;) {
		Fcall t = { .type = Treaddir, .fid = fid, .offset = cookie, .count = iounit };
		Fcall r;
		uint8_t *rb;
		int rc = client_rpc(c, &t, &r, &rb, why, n);
		if (rc == 0 && r.count > iounit)
			rc = fail(why, n, -EPROTO, "readdir returned %u bytes for %u asked", r.count,
			          iounit);
		uint64_t before = cookie;
		for (size_t at = 0; rc == 0 && at < r.count;) {
			Qid q;
			uint8_t type;
			P9str name;
			size_t k = p9_unpack_dirent(r.data + at, r.count - at, &q, &cookie, &type, &name);
			if (k == 0)
				rc = fail(why, n, -EPROTO, "malformed directory entry");
			else
				names_add(ns, name.s, name.n);
			at += k;
		}
		uint32_t got = r.count;
		free(rb);
		if (rc < 0 || got == 0)
			return rc;
		if (cookie == before)
			return fail(why, n, -EPROTO, "readdir offset did not advance");
	}
}

/* 9P2000/.u: Tread of the directory yields whole stat records. */
static int list_stat(Client *c, uint32_t fid, uint32_t iounit, Names *ns, char *why, size_t n)
{
	uint64_t offset = 0;
	for (;;) {
		Fcall t = { .type = Tread, .fid = fid, .offset = offset, .count = iounit };
		Fcall r;
		uint8_t *rb;
		int rc = client_rpc(c, &t, &r, &rb, why, n);
		if (rc == 0 && r.count > iounit)
			rc = fail(why, n, -EPROTO, "read returned %u bytes for %u asked", r.count, iounit);
		for (size_t at = 0; rc == 0 && at < r.count;) {
			P9stat st;
			size_t k = p9_unpack_stat(r.data + at, r.count - at, c->dialect, &st);
			if (k == 0)
				rc = fail(why, n, -EPROTO, "malformed or split directory entry");
			else
				names_add(ns, st.name.s, st.name.n);
			at += k;
		}
		uint32_t got = r.count;
		free(rb);
		if (rc < 0 || got == 0)
			return rc;
		offset += got;
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
	if (c->dialect == P9_2000L)
		rc = list_dotl(c, fid, iounit, &ns, why, n);
	else
		rc = list_stat(c, fid, iounit, &ns, why, n);
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
