/* Tests of the synchronous 9P client against a small fake server that runs
 * in a thread on the other end of a socketpair(2). The fake serves a fixed
 * tree in whichever dialect it negotiated, logs every request it decodes, and
 * can be told to misbehave. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "9p/fcall.h"
#include "client/client.h"
#include "unit.h"

/* ---- the fake server's tree ---- */

enum { ROOT, JOBS, A, BIG, CTL, D, NNODES };

typedef struct Node {
	const char *name;
	int parent;
	int isdir;
} Node;

static const Node tree[NNODES] = {
	[ROOT] = { "/", ROOT, 1 },
	[JOBS] = { "jobs", ROOT, 1 },
	[A] = { "a", JOBS, 0 },
	[BIG] = { "big", JOBS, 0 },
	[CTL] = { "ctl", ROOT, 0 },
	[D] = { "d", ROOT, 1 },     /* contains itself, for walks of any depth */
};

enum { BIGSIZE = 5000, MAXFID = 32 };

typedef struct Fake {
	int fd;
	/* configuration */
	uint32_t msize;             /* the most it accepts */
	uint32_t iounit;            /* reported by Ropen/Rlopen */
	const char *answer;         /* forced Rversion string, or NULL */
	uint8_t bad_tag_on;         /* request type answered with a wrong tag */
	/* state */
	int dialect;
	int fids[MAXFID];           /* node + 1, 0 when unused */
	uint8_t ctl[4096];
	size_t ctl_len;
	uint8_t big[BIGSIZE];
	char log[65536];
	size_t log_len;
} Fake;

static int children(int dir, int *out)
{
	int k = 0;
	for (int i = 1; i < NNODES; i++)
		if (tree[i].parent == dir)
			out[k++] = i;
	if (dir == D)
		out[k++] = D;
	return k;
}

static Qid node_qid(int i)
{
	return (Qid){ (uint8_t)(tree[i].isdir ? QTDIR : QTFILE), 0, 100u + (uint64_t)i };
}

static size_t node_size(const Fake *s, int i)
{
	return i == A ? 6 : i == BIG ? BIGSIZE : i == CTL ? s->ctl_len : 0;
}

static const uint8_t *node_data(const Fake *s, int i)
{
	return i == A ? (const uint8_t *)"hello\n" : i == BIG ? s->big : s->ctl;
}

static P9stat node_stat(const Fake *s, int i)
{
	P9stat st = { 0 };
	st.qid = node_qid(i);
	st.mode = tree[i].isdir ? DMDIR | 0755 : 0644;
	st.mtime = 1700000000;
	st.length = node_size(s, i);
	st.name = p9_str(tree[i].name);
	st.uid = st.gid = st.muid = p9_str("jobd");
	st.n_uid = st.n_gid = st.n_muid = P9_NONUNAME;
	return st;
}

static void refuse(Fake *s, Fcall *r, int ecode, const char *text)
{
	if (s->dialect == P9_2000L) {
		r->type = Rlerror;
		r->ecode = (uint32_t)ecode;
	} else {
		r->type = Rerror;
		r->ename = p9_str(text);
		r->ecode = (uint32_t)ecode;
	}
}

static int lookup(int dir, P9str name)
{
	if (name.n == 2 && memcmp(name.s, "..", 2) == 0)
		return tree[dir].parent;
	int kids[NNODES];
	int k = children(dir, kids);
	for (int i = 0; i < k; i++)
		if (strlen(tree[kids[i]].name) == name.n && memcmp(tree[kids[i]].name, name.s, name.n) == 0)
			return kids[i];
	return -1;
}

/* Answers one request into r, which may borrow scratch. */
static void answer(Fake *s, const Fcall *t, Fcall *r, uint8_t *scratch, size_t scap)
{
	int node = t->fid < MAXFID ? s->fids[t->fid] - 1 : -1;
	r->type = (uint8_t)(t->type + 1);
	r->tag = t->tag;
	switch (t->type) {
	case Tversion: {
		static const char *const known[] = { "9P2000", "9P2000.u", "9P2000.L" };
		const char *v = "unknown";
		for (int d = 0; d < 3; d++)
			if (t->version.n == strlen(known[d]) && memcmp(t->version.s, known[d], t->version.n) == 0)
				v = known[d], s->dialect = d;
		if (s->answer) {
			v = s->answer;
			if (strncmp(v, "9P2000", 6) == 0)
				s->dialect = P9_2000;
			for (int d = 0; d < 3; d++)
				if (strcmp(v, known[d]) == 0)
					s->dialect = d;
		}
		r->version = p9_str(v);
		r->msize = t->msize < s->msize ? t->msize : s->msize;
		memset(s->fids, 0, sizeof s->fids);
		return;
	}
	case Tattach:
		s->fids[t->fid % MAXFID] = ROOT + 1;
		r->qid = node_qid(ROOT);
		return;
	case Tclunk:
		if (node < 0)
			return refuse(s, r, EBADF, "unknown fid");
		s->fids[t->fid] = 0;
		return;
	case Twalk: {
		if (node < 0 || t->newfid >= MAXFID)
			return refuse(s, r, EBADF, "unknown fid");
		int at = node;
		for (int i = 0; i < t->nwname; i++) {
			int next = tree[at].isdir ? lookup(at, t->wname[i]) : -1;
			if (next < 0) {
				if (i == 0)
					return refuse(s, r, ENOENT, "file does not exist");
				return;   /* a short Rwalk; newfid untouched */
			}
			r->wqid[r->nwqid++] = node_qid(next);
			at = next;
		}
		s->fids[t->newfid] = at + 1;
		return;
	}
	case Topen:
	case Tlopen:
		if (node < 0)
			return refuse(s, r, EBADF, "unknown fid");
		r->qid = node_qid(node);
		r->iounit = s->iounit;
		return;
	case Tread:
		if (node < 0)
			return refuse(s, r, EBADF, "unknown fid");
		if (tree[node].isdir) {
			/* Whole stat records only, starting at the offset. */
			int kids[NNODES];
			int k = children(node, kids);
			size_t pos = 0, n = 0;
			for (int i = 0; i < k; i++) {
				P9stat st = node_stat(s, kids[i]);
				size_t len = p9_pack_stat(scratch + n, scap - n, s->dialect, &st);
				if (pos >= t->offset && n + len <= t->count)
					n += len;
				else if (pos >= t->offset)
					break;
				pos += len;
			}
			r->count = (uint32_t)n;
			r->data = scratch;
		} else {
			size_t size = node_size(s, node);
			size_t off = t->offset < size ? (size_t)t->offset : size;
			size_t n = size - off < t->count ? size - off : t->count;
			r->count = (uint32_t)n;
			r->data = node_data(s, node) + off;
		}
		return;
	case Treaddir: {
		if (node < 0 || !tree[node].isdir)
			return refuse(s, r, ENOTDIR, "not a directory");
		int ents[NNODES + 2];
		ents[0] = node;
		ents[1] = tree[node].parent;
		int k = 2 + children(node, ents + 2);
		size_t n = 0;
		for (uint64_t i = t->offset; i < (uint64_t)k; i++) {
			const char *name = i == 0 ? "." : i == 1 ? ".." : tree[ents[i]].name;
			Qid q = node_qid(ents[i]);
			size_t room = t->count - n;
			size_t len = p9_pack_dirent(scratch + n, room, &q, i + 1, 4, p9_str(name));
			if (len == 0)
				break;
			n += len;
		}
		r->count = (uint32_t)n;
		r->data = scratch;
		return;
	}
	case Twrite:
		if (node != CTL)
			return refuse(s, r, EACCES, "permission denied");
		if (t->count >= 3 && memcmp(t->data, "bad", 3) == 0)
			return refuse(s, r, EINVAL, "unknown verb 'bad'");
		if (t->offset + t->count > sizeof s->ctl)
			return refuse(s, r, EFBIG, "too big");
		memcpy(s->ctl + t->offset, t->data, t->count);
		if (t->offset + t->count > s->ctl_len)
			s->ctl_len = (size_t)t->offset + t->count;
		r->count = t->count;
		return;
	case Tgetattr:
		if (node < 0)
			return refuse(s, r, EBADF, "unknown fid");
		r->attr.valid = P9_GETATTR_BASIC;
		r->attr.qid = node_qid(node);
		r->attr.mode = tree[node].isdir ? 040755 : 0100644;
		r->attr.size = node_size(s, node);
		r->attr.mtime_sec = 1700000000;
		return;
	case Tstat:
		if (node < 0)
			return refuse(s, r, EBADF, "unknown fid");
		r->stat = node_stat(s, node);
		return;
	default:
		return refuse(s, r, EOPNOTSUPP, "operation not supported");
	}
}

static int readn(int fd, uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = read(fd, p, n);
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static void *serve(void *arg)
{
	Fake *s = arg;
	enum { BUFSZ = 65536 };
	uint8_t *in = malloc(BUFSZ), *out = malloc(BUFSZ), *scratch = malloc(BUFSZ);
	for (;;) {
		if (readn(s->fd, in, 4) < 0)
			break;
		uint32_t size = (uint32_t)in[0] | (uint32_t)in[1] << 8 | (uint32_t)in[2] << 16 |
		                (uint32_t)in[3] << 24;
		if (size < 7 || size > BUFSZ || readn(s->fd, in + 4, size - 4) < 0)
			break;
		Fcall t, r = { 0 };
		if (p9_unpack(in, size, s->dialect, &t) < 0)
			break;
		char line[512];
		p9_fmt(line, sizeof line, s->dialect, &t);
		int k = snprintf(s->log + s->log_len, sizeof s->log - s->log_len, "%s\n", line);
		if (k > 0 && (size_t)k < sizeof s->log - s->log_len)
			s->log_len += (size_t)k;
		answer(s, &t, &r, scratch, BUFSZ);
		if (t.type == s->bad_tag_on)
			r.tag++;
		size_t len = p9_pack(out, BUFSZ, s->dialect, &r);
		if (len == 0 || write(s->fd, out, len) != (ssize_t)len)
			break;
	}
	close(s->fd);
	free(in);
	free(out);
	free(scratch);
	return NULL;
}

/* ---- harness ---- */

typedef struct Rig {
	Fake s;
	pthread_t th;
	Client *c;
} Rig;

static void fake_init(Fake *s, uint32_t msize, uint32_t iounit)
{
	memset(s, 0, sizeof *s);
	s->msize = msize;
	s->iounit = iounit;
	for (size_t i = 0; i < BIGSIZE; i++)
		s->big[i] = (uint8_t)('a' + i % 23);
}

/* Starts the fake and a client proposing `dialect`; negotiates and attaches. */
static int rig_start(Rig *g, int dialect, uint32_t cmsize)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0)
		return -errno;
	g->s.fd = sp[1];
	pthread_create(&g->th, NULL, serve, &g->s);
	g->c = client_new(sp[0], dialect, cmsize);
	char why[256] = "";
	int rc = client_version(g->c, why, sizeof why);
	if (rc == 0)
		rc = client_attach(g->c, "nobody", 1000, "", why, sizeof why);
	CHECKF(rc == 0 || g->s.answer, "start: %d %s", rc, why);
	return rc;
}

/* Fids still open at the server besides the root. */
static int open_fids(const Fake *s)
{
	int k = 0;
	for (int i = 0; i < MAXFID; i++)
		k += s->fids[i] != 0;
	return k - 1;
}

static int rig_stop(Rig *g)
{
	client_free(g->c);
	pthread_join(g->th, NULL);
	return open_fids(&g->s);
}

static int count_lines(const char *log, const char *prefix)
{
	int k = 0;
	size_t n = strlen(prefix);
	for (const char *p = log; *p; p = strchr(p, '\n') + 1) {
		if (strncmp(p, prefix, n) == 0)
			k++;
		if (!strchr(p, '\n'))
			break;
	}
	return k;
}

static const int dialects[] = { P9_2000, P9_2000U, P9_2000L };

/* ---- tests ---- */

static void test_version(void)
{
	Rig g;
	fake_init(&g.s, 8192, 0);
	CHECK(rig_start(&g, P9_2000L, 0) == 0);
	CHECK(client_dialect(g.c) == P9_2000L);
	/* The server's smaller msize is adopted: a read asks for what fits in 8192. */
	char *big, bwhy[128];
	size_t blen;
	CHECK(client_read_file(g.c, "jobs/big", &big, &blen, bwhy, sizeof bwhy) == 0 && blen == BIGSIZE);
	free(big);
	rig_stop(&g);
	CHECK(strstr(g.s.log, "Tversion tag ~0 msize 131072 version '9P2000.L'\n") != NULL);
	CHECK(strstr(g.s.log, " offset 0 count 8168\n") != NULL);
	CHECK(strstr(g.s.log, "Tattach tag 1 fid 0 afid ~0 uname 'nobody' aname '' n_uname 1000\n"));

	/* A legacy server answers what it speaks; the client follows. */
	const char *answers[] = { "9P2000", "9P2000.u", "9P2000.X" };
	const int expect[] = { P9_2000, P9_2000U, P9_2000 };
	for (int i = 0; i < 3; i++) {
		fake_init(&g.s, 8192, 0);
		g.s.answer = answers[i];
		CHECK(rig_start(&g, P9_2000L, 0) == 0);
		CHECKF(client_dialect(g.c) == expect[i], "%s -> %d", answers[i], client_dialect(g.c));
		char *data;
		size_t len;
		char why[128];
		if (i < 2) {
			CHECK(client_read_file(g.c, "jobs/a", &data, &len, why, sizeof why) == 0);
			CHECK(len == 6 && strcmp(data, "hello\n") == 0);
			free(data);
		}
		rig_stop(&g);
	}

	fake_init(&g.s, 8192, 0);
	g.s.answer = "unknown";
	CHECK(rig_start(&g, P9_2000L, 0) == -EPROTONOSUPPORT);
	rig_stop(&g);
}

static void test_read_file(void)
{
	for (int d = 0; d < 3; d++) {
		Rig g;
		fake_init(&g.s, 1024, 0);
		CHECK(rig_start(&g, dialects[d], 0) == 0);
		char *data;
		size_t len;
		char why[128];
		CHECK(client_read_file(g.c, "/jobs/a", &data, &len, why, sizeof why) == 0);
		CHECK(len == 6 && strcmp(data, "hello\n") == 0);
		free(data);
		CHECK(client_read_file(g.c, "jobs//./big", &data, &len, why, sizeof why) == 0);
		CHECK(len == BIGSIZE && memcmp(data, g.s.big, BIGSIZE) == 0 && data[len] == '\0');
		free(data);
		CHECK(client_read_file(g.c, "ctl", &data, &len, why, sizeof why) == 0 && len == 0);
		free(data);
		CHECKF(rig_stop(&g) == 0, "dialect %d leaked fids", d);
		/* 1000 = 1024 - 24 bytes per Tread, and a final empty one. */
		CHECK(strstr(g.s.log, "count 1000\n") != NULL);
		const char *open = dialects[d] == P9_2000L ? "Tlopen tag" : "Topen tag";
		CHECK(count_lines(g.s.log, open) == 3);
	}
}

static int has(char **names, size_t n, const char *want)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], want) == 0)
			return 1;
	return 0;
}

static void test_list_dir(void)
{
	for (int d = 0; d < 3; d++) {
		Rig g;
		/* A small msize forces several Treaddir/Tread replies. */
		fake_init(&g.s, 256, 0);
		CHECK(rig_start(&g, dialects[d], 0) == 0);
		char **names;
		size_t n;
		char why[128];
		CHECK(client_list_dir(g.c, "/", &names, &n, why, sizeof why) == 0);
		CHECKF(n == 3 && has(names, n, "jobs") && has(names, n, "ctl") && has(names, n, "d"),
		       "dialect %d: %zu names", d, n);
		client_free_names(names, n);
		CHECK(client_list_dir(g.c, "jobs", &names, &n, why, sizeof why) == 0);
		CHECK(n == 2 && strcmp(names[0], "a") == 0 && strcmp(names[1], "big") == 0);
		client_free_names(names, n);
		CHECK(rig_stop(&g) == 0);
		if (dialects[d] == P9_2000L) {
			CHECK(strstr(g.s.log, "Tlopen tag 3 fid 1 flags 0300000\n") != NULL);
			CHECK(count_lines(g.s.log, "Treaddir") >= 3);
		} else {
			CHECK(count_lines(g.s.log, "Tread") >= 3);
		}
	}
}

static void test_write_file(void)
{
	char msg[1000];
	for (size_t i = 0; i < sizeof msg; i++)
		msg[i] = (char)('A' + i % 26);
	for (int d = 0; d < 3; d++) {
		Rig g;
		fake_init(&g.s, 8192, 100);
		memcpy(g.s.ctl, "old contents beyond the end", 27);
		g.s.ctl_len = 27;
		CHECK(rig_start(&g, dialects[d], 0) == 0);
		char why[128];
		CHECK(client_write_file(g.c, "ctl", "stop", 4, why, sizeof why) == 0);
		CHECK(client_write_file(g.c, "ctl", msg, sizeof msg, why, sizeof why) == 0);
		CHECK(rig_stop(&g) == 0);
		CHECK(g.s.ctl_len == sizeof msg && memcmp(g.s.ctl, msg, sizeof msg) == 0);
		/* No truncation in any form, and iounit-sized chunks from offset 0. */
		if (dialects[d] == P9_2000L)
			CHECK(count_lines(g.s.log, "Tlopen tag 3 fid 1 flags 0100101") == 1);
		else
			CHECK(count_lines(g.s.log, "Topen tag 3 fid 1 mode 1") == 1);
		CHECK(strstr(g.s.log, "Tsetattr") == NULL && strstr(g.s.log, "Twstat") == NULL);
		CHECK(count_lines(g.s.log, "Twrite") == 11);
		CHECK(strstr(g.s.log, "Twrite tag 4 fid 1 offset 0 count 4 'stop'\n") != NULL);
		CHECK(strstr(g.s.log, " offset 900 count 100 ") != NULL);
		CHECK(strstr(g.s.log, " offset 1000 ") == NULL);
	}
}

static void test_stat(void)
{
	for (int d = 0; d < 3; d++) {
		Rig g;
		fake_init(&g.s, 8192, 0);
		CHECK(rig_start(&g, dialects[d], 0) == 0);
		ClientStat st;
		char why[128];
		CHECK(client_stat(g.c, "jobs/a", &st, why, sizeof why) == 0);
		CHECK(!st.isdir && st.length == 6 && st.perm == 0644 && st.qid.path == 100 + A);
		CHECK(st.mtime == 1700000000);
		CHECK(client_stat(g.c, "jobs", &st, why, sizeof why) == 0);
		CHECK(st.isdir && st.perm == 0755);
		CHECK(client_stat(g.c, "", &st, why, sizeof why) == 0 && st.isdir);
		CHECK(rig_stop(&g) == 0);
		CHECK(strstr(g.s.log, dialects[d] == P9_2000L ? "Tgetattr" : "Tstat") != NULL);
	}
}

static void test_errors(void)
{
	for (int d = 0; d < 3; d++) {
		Rig g;
		fake_init(&g.s, 8192, 0);
		CHECK(rig_start(&g, dialects[d], 0) == 0);
		char *data = NULL;
		size_t len;
		char why[128] = "";
		/* Refused at the first element: the server's words. */
		/* Plain 9P2000 carries no errno: everything is -EIO with the text. */
		int enoent = dialects[d] == P9_2000 ? -EIO : -ENOENT;
		CHECK(client_read_file(g.c, "nope", &data, &len, why, sizeof why) == enoent);
		CHECK(data == NULL);
		const char *text = dialects[d] == P9_2000L ? strerror(ENOENT) : "file does not exist";
		CHECKF(strcmp(why, text) == 0, "dialect %d: %s", d, why);
		/* Refused further on: a short Rwalk. */
		CHECK(client_read_file(g.c, "jobs/a/x", &data, &len, why, sizeof why) == -ENOENT);
		CHECKF(strstr(why, "'x'") != NULL, "%s", why);
		/* Refused by a write. */
		int rc = client_write_file(g.c, "ctl", "bad verb", 8, why, sizeof why);
		int want = dialects[d] == P9_2000 ? -EIO : -EINVAL;
		CHECKF(rc == want, "dialect %d: %d", d, rc);
		if (dialects[d] != P9_2000L)
			CHECK(strcmp(why, "unknown verb 'bad'") == 0);
		CHECK(client_write_file(g.c, "jobs/a", "x", 1, why, sizeof why) == -EACCES ||
		      dialects[d] == P9_2000);
		/* A raw request the server does not support. */
		Fcall t = { .type = Tstatfs, .fid = 0 };
		Fcall r;
		uint8_t *rb;
		rc = client_rpc(g.c, &t, &r, &rb, why, sizeof why);
		CHECK(rc == (dialects[d] == P9_2000 ? -EIO : -EOPNOTSUPP));
		CHECK(rb != NULL && r.type == (dialects[d] == P9_2000L ? Rlerror : Rerror));
		free(rb);
		CHECK(rig_stop(&g) == 0);
	}
}

/* Paths longer than 16 elements take several Twalks; failures clunk. */
static void test_deep_walk(void)
{
	char path[128] = "", bad[160];
	for (int i = 0; i < 20; i++)
		strcat(path, "d/");
	snprintf(bad, sizeof bad, "%snope", path);
	Rig g;
	fake_init(&g.s, 8192, 0);
	CHECK(rig_start(&g, P9_2000L, 0) == 0);
	ClientStat st;
	char why[128];
	CHECK(client_stat(g.c, path, &st, why, sizeof why) == 0 && st.isdir && st.qid.path == 100 + D);
	CHECK(client_stat(g.c, bad, &st, why, sizeof why) == -ENOENT);
	char **names;
	size_t n;
	CHECK(client_list_dir(g.c, path, &names, &n, why, sizeof why) == 0 && has(names, n, "d"));
	client_free_names(names, n);
	CHECK(rig_stop(&g) == 0);
	CHECK(strstr(g.s.log, "Twalk tag 2 fid 0 newfid 1 nwname 16 ") != NULL);
	CHECK(strstr(g.s.log, "Twalk tag 3 fid 1 newfid 1 nwname 4 ") != NULL);
	CHECK(strstr(g.s.log, "Twalk tag 7 fid 2 newfid 2 nwname 5 ") != NULL);
	CHECK(strstr(g.s.log, "Tclunk tag 8 fid 2\n") != NULL);
}

static void test_bad_tag(void)
{
	Rig g;
	fake_init(&g.s, 8192, 0);
	g.s.bad_tag_on = Tgetattr;
	CHECK(rig_start(&g, P9_2000L, 0) == 0);
	ClientStat st;
	char why[128];
	CHECK(client_stat(g.c, "jobs", &st, why, sizeof why) == -EPROTO);
	CHECKF(strstr(why, "tag") != NULL, "%s", why);
	/* Framing can no longer be trusted: everything after fails fast. */
	CHECK(client_stat(g.c, "jobs", &st, why, sizeof why) == -EPIPE);
	rig_stop(&g);
}

static void test_server_gone(void)
{
	int sp[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
	close(sp[1]);
	Client *c = client_new(sp[0], P9_2000L, 0);
	char why[128];
	int rc = client_version(c, why, sizeof why);
	CHECKF(rc == -EPIPE || rc == -ECONNRESET, "%d %s", rc, why);
	client_free(c);
}

static void test_dial(void)
{
	char why[256];
	int fd;
	CHECK(client_dial("nonsense", &fd, why, sizeof why) == -EINVAL && fd == -1);
	CHECK(client_dial("tcp!127.0.0.1", &fd, why, sizeof why) == -EINVAL);
	CHECK(client_dial("unix!/nonexistent/dir/sock", &fd, why, sizeof why) == -ENOENT);

	char path[108];
	snprintf(path, sizeof path, "/tmp/t_client.%d.sock", (int)getpid());
	unlink(path);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, path, strlen(path) + 1);
	CHECK(bind(l, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(l, 4) == 0);
	char addr[160];
	snprintf(addr, sizeof addr, "unix!%s", path);
	CHECK(client_dial(addr, &fd, why, sizeof why) == 0 && fd >= 0);
	close(fd);
	CHECK(client_dial(path, &fd, why, sizeof why) == 0 && fd >= 0);
	close(fd);
	close(l);
	unlink(path);

	int t = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof in;
	CHECK(bind(t, (struct sockaddr *)&in, sizeof in) == 0 && listen(t, 4) == 0);
	CHECK(getsockname(t, (struct sockaddr *)&in, &sl) == 0);
	int port = ntohs(in.sin_port);
	snprintf(addr, sizeof addr, "tcp!127.0.0.1!%d", port);
	CHECKF(client_dial(addr, &fd, why, sizeof why) == 0, "%s: %s", addr, why);
	close(fd);
	snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
	CHECKF(client_dial(addr, &fd, why, sizeof why) == 0, "%s: %s", addr, why);
	close(fd);
	close(t);
	/* Nobody listens there any more. */
	CHECK(client_dial(addr, &fd, why, sizeof why) == -ECONNREFUSED);
}

int main(void)
{
	unit_prog = "t_client";
	unit_run("version", test_version);
	unit_run("read_file", test_read_file);
	unit_run("list_dir", test_list_dir);
	unit_run("write_file", test_write_file);
	unit_run("stat", test_stat);
	unit_run("errors", test_errors);
	unit_run("deep_walk", test_deep_walk);
	unit_run("bad_tag", test_bad_tag);
	unit_run("server_gone", test_server_gone);
	unit_run("dial", test_dial);
	return unit_done();
}
