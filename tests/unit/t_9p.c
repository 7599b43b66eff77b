/* Tests of the 9P codec (src/9p/fcall.c) and its formatter (fcallfmt.c).
 * Round trips prove pack and unpack agree; the hand-assembled frames, written
 * from the manuals byte by byte, prove they agree with everyone else. */
#include <errno.h>
#include <stdint.h>

#include "9p/fcall.h"
#include "unit.h"

static const int dialects[] = { P9_2000, P9_2000U, P9_2000L };
static const char *const dialect_names[] = { "9P2000", "9P2000.u", "9P2000.L" };

/* Every message type the codec knows; everything else must be rejected. */
static const uint8_t all_types[] = {
	Rlerror, Tstatfs, Rstatfs, Tlopen, Rlopen, Tlcreate, Rlcreate, Tsymlink, Rsymlink,
	Tmknod, Rmknod, Trename, Rrename, Treadlink, Rreadlink, Tgetattr, Rgetattr,
	Tsetattr, Rsetattr, Txattrwalk, Rxattrwalk, Txattrcreate, Rxattrcreate,
	Treaddir, Rreaddir, Tfsync, Rfsync, Tlock, Rlock, Tgetlock, Rgetlock,
	Tlink, Rlink, Tmkdir, Rmkdir, Trenameat, Rrenameat, Tunlinkat, Runlinkat,
	Tversion, Rversion, Tauth, Rauth, Tattach, Rattach, Rerror, Tflush, Rflush,
	Twalk, Rwalk, Topen, Ropen, Tcreate, Rcreate, Tread, Rread, Twrite, Rwrite,
	Tclunk, Rclunk, Tremove, Rremove, Tstat, Rstat, Twstat, Rwstat,
};
enum { NTYPES = sizeof all_types / sizeof all_types[0] };

static int known(unsigned t)
{
	for (size_t i = 0; i < NTYPES; i++)
		if (all_types[i] == t)
			return 1;
	return 0;
}

static const uint8_t payload[] = "payload with \x01 binary \xff bytes and a\nnewline";

static Qid mkqid(uint8_t type, uint32_t vers, uint64_t path)
{
	return (Qid){ type, vers, path };
}

static void sample_stat(int dialect, P9stat *st)
{
	*st = (P9stat){ 0 };
	st->type = 0x1234;
	st->dev = 0x89abcdef;
	st->qid = mkqid(QTDIR, 7, 0x0102030405060708ull);
	st->mode = DMDIR | 0755;
	st->atime = 1700000000;
	st->mtime = 1700000001;
	st->length = 0x1122334455667788ull;
	st->name = p9_str("jobs");
	st->uid = p9_str("alice");
	st->gid = p9_str("staff");
	st->muid = p9_str("");
	if (dialect == P9_2000) {
		st->n_uid = st->n_gid = st->n_muid = P9_NONUNAME;
	} else {
		st->extension = p9_str("ext");
		st->n_uid = 1000;
		st->n_gid = 100;
		st->n_muid = 0;
	}
}

/* A message of `type` with a distinct value in every field it carries, and
 * the fields a dialect lacks set as p9_unpack reports them. */
static void sample(uint8_t type, int dialect, Fcall *f)
{
	int ext = dialect != P9_2000;
	memset(f, 0, sizeof *f);
	f->type = type;
	f->tag = (uint16_t)(0x0100 + type);
	switch (type) {
	case Tversion:
	case Rversion:
		f->tag = P9_NOTAG;
		f->msize = 131072;
		f->version = p9_str("9P2000.L");
		break;
	case Tauth:
	case Tattach:
		if (type == Tattach)
			f->fid = 3;
		f->afid = P9_NOFID;
		f->uname = p9_str("nobody");
		f->aname = p9_str("");
		f->n_uname = ext ? 1000 : P9_NONUNAME;
		break;
	case Rauth:
	case Rattach:
	case Rsymlink:
	case Rmknod:
	case Rmkdir:
		f->qid = mkqid(QTDIR | QTAUTH, 0xdeadbeef, 0x8877665544332211ull);
		break;
	case Rerror:
		f->ename = p9_str("no such job 'x'");
		f->ecode = ext ? ENOENT : 0;
		break;
	case Rlerror:
		f->ecode = EOPNOTSUPP;
		break;
	case Tflush:
		f->oldtag = 0xbeef;
		break;
	case Twalk:
		f->fid = 1;
		f->newfid = 2;
		f->nwname = P9_MAXWELEM;
		for (int i = 0; i < P9_MAXWELEM; i++)
			f->wname[i] = p9_str(i % 2 ? "x" : "jobs");
		break;
	case Rwalk:
		f->nwqid = P9_MAXWELEM;
		for (int i = 0; i < P9_MAXWELEM; i++)
			f->wqid[i] = mkqid((uint8_t)(i ? 0 : QTDIR), (uint32_t)i, 100u + (uint64_t)i);
		break;
	case Topen:
		f->fid = 9;
		f->mode = OWRITE | OTRUNC;
		break;
	case Ropen:
	case Rcreate:
	case Rlopen:
	case Rlcreate:
		f->qid = mkqid(QTFILE, 2, 77);
		f->iounit = 8168;
		break;
	case Tcreate:
		f->fid = 4;
		f->name = p9_str("newjob");
		f->perm = DMDIR | 0755;
		f->mode = OREAD;
		if (ext)
			f->extension = p9_str("");
		break;
	case Tread:
	case Treaddir:
		f->fid = 5;
		f->offset = 0x0000000100000002ull;
		f->count = 131048;
		break;
	case Rread:
	case Rreaddir:
		f->count = sizeof payload;
		f->data = payload;
		break;
	case Twrite:
		f->fid = 6;
		f->offset = 12;
		f->count = sizeof payload;
		f->data = payload;
		break;
	case Rwrite:
		f->count = 4096;
		break;
	case Tclunk:
	case Tremove:
	case Tstat:
	case Tstatfs:
	case Treadlink:
		f->fid = 0xfeedface;
		break;
	case Rstat:
		sample_stat(dialect, &f->stat);
		break;
	case Twstat:
		f->fid = 8;
		sample_stat(dialect, &f->stat);
		break;
	case Rstatfs:
		f->statfs.type = 0x01021997;
		f->statfs.bsize = 4096;
		f->statfs.blocks = 1;
		f->statfs.bfree = 2;
		f->statfs.bavail = 3;
		f->statfs.files = 4;
		f->statfs.ffree = 5;
		f->statfs.fsid = 6;
		f->statfs.namelen = 255;
		break;
	case Tlopen:
		f->fid = 10;
		f->flags = 0100101;
		break;
	case Tlcreate:
		f->fid = 11;
		f->name = p9_str("new");
		f->flags = 0x8041;
		f->lmode = 0644;
		f->gid = 100;
		break;
	case Tsymlink:
		f->fid = 12;
		f->name = p9_str("link");
		f->symtgt = p9_str("../target");
		f->gid = 101;
		break;
	case Tmknod:
		f->dfid = 13;
		f->name = p9_str("dev");
		f->lmode = 020644;
		f->major = 1;
		f->minor = 3;
		f->gid = 102;
		break;
	case Trename:
		f->fid = 14;
		f->dfid = 15;
		f->name = p9_str("renamed");
		break;
	case Rreadlink:
		f->symtgt = p9_str("/some/where");
		break;
	case Tgetattr:
		f->fid = 16;
		f->request_mask = P9_GETATTR_ALL;
		break;
	case Rgetattr: {
		P9attr *a = &f->attr;
		a->valid = P9_GETATTR_BASIC;
		a->qid = mkqid(QTFILE, 3, 0xabcdef);
		a->mode = 0100644;
		a->uid = 1;
		a->gid = 2;
		a->nlink = 3;
		a->rdev = 4;
		a->size = 5;
		a->blksize = 6;
		a->blocks = 7;
		a->atime_sec = 8;
		a->atime_nsec = 9;
		a->mtime_sec = 10;
		a->mtime_nsec = 11;
		a->ctime_sec = 12;
		a->ctime_nsec = 13;
		a->btime_sec = 14;
		a->btime_nsec = 15;
		a->gen = 16;
		a->data_version = UINT64_MAX;
		break;
	}
	case Tsetattr: {
		P9setattr *s = &f->setattr;
		f->fid = 17;
		s->valid = 0x68;
		s->mode = 0600;
		s->uid = 21;
		s->gid = 22;
		s->size = 23;
		s->atime_sec = 24;
		s->atime_nsec = 25;
		s->mtime_sec = 26;
		s->mtime_nsec = 27;
		break;
	}
	case Txattrwalk:
		f->fid = 18;
		f->newfid = 19;
		f->name = p9_str("security.capability");
		break;
	case Rxattrwalk:
		f->xattr_size = 0x1000000000ull;
		break;
	case Txattrcreate:
		f->fid = 20;
		f->name = p9_str("user.x");
		f->xattr_size = 42;
		f->flags = 1;
		break;
	case Tfsync:
		f->fid = 21;
		f->datasync = 1;
		break;
	case Tlock:
	case Tgetlock:
	case Rgetlock:
		if (type != Rgetlock)
			f->fid = 22;
		if (type == Tlock)
			f->flags = 1;
		f->lock.type = 1;
		f->lock.start = 100;
		f->lock.length = 200;
		f->lock.proc_id = 4242;
		f->lock.client_id = p9_str("host.example");
		break;
	case Rlock:
		f->lock_status = 3;
		break;
	case Tlink:
		f->dfid = 23;
		f->fid = 24;
		f->name = p9_str("hard");
		break;
	case Tmkdir:
		f->dfid = 25;
		f->name = p9_str("dir");
		f->lmode = 0755;
		f->gid = 103;
		break;
	case Trenameat:
		f->dfid = 26;
		f->name = p9_str("old");
		f->newdfid = 27;
		f->newname = p9_str("new");
		break;
	case Tunlinkat:
		f->dfid = 28;
		f->name = p9_str("gone");
		f->flags = 0x200;
		break;
	default:
		break;   /* empty bodies */
	}
}

static int str_same(P9str a, P9str b)
{
	return a.n == b.n && (a.n == 0 || memcmp(a.s, b.s, a.n) == 0);
}

static int qid_same(const Qid *a, const Qid *b)
{
	return a->type == b->type && a->vers == b->vers && a->path == b->path;
}

static const char *stat_diff(const P9stat *a, const P9stat *b)
{
#define EQ(x) if (a->x != b->x) return #x
#define SEQ(x) if (!str_same(a->x, b->x)) return #x
	EQ(type); EQ(dev); EQ(mode); EQ(atime); EQ(mtime); EQ(length);
	if (!qid_same(&a->qid, &b->qid)) return "qid";
	SEQ(name); SEQ(uid); SEQ(gid); SEQ(muid); SEQ(extension);
	EQ(n_uid); EQ(n_gid); EQ(n_muid);
	return NULL;
}

/* Names the first field in which a and b differ, comparing every field of
 * Fcall (strings and data by content), or returns NULL. */
static const char *fcall_diff(const Fcall *a, const Fcall *b)
{
	EQ(type); EQ(tag); EQ(fid); EQ(msize); SEQ(version);
	EQ(afid); SEQ(uname); SEQ(aname); EQ(n_uname);
	SEQ(ename); EQ(ecode); EQ(oldtag);
	EQ(newfid); EQ(nwname); EQ(nwqid);
	for (int i = 0; i < P9_MAXWELEM; i++) {
		SEQ(wname[i]);
		if (!qid_same(&a->wqid[i], &b->wqid[i])) return "wqid";
	}
	if (!qid_same(&a->qid, &b->qid)) return "qid";
	EQ(iounit); EQ(mode); EQ(perm); SEQ(name); SEQ(extension);
	EQ(offset); EQ(count);
	if (a->count > 0 && (a->type == Rread || a->type == Twrite || a->type == Rreaddir)) {
		if (!a->data || !b->data || memcmp(a->data, b->data, a->count) != 0)
			return "data";
	}
	const char *d = stat_diff(&a->stat, &b->stat);
	if (d)
		return d;
	EQ(flags); EQ(lmode); EQ(gid); EQ(major); EQ(minor); SEQ(symtgt);
	EQ(dfid); EQ(newdfid); SEQ(newname); EQ(request_mask);
	if (!qid_same(&a->attr.qid, &b->attr.qid)) return "attr.qid";
	EQ(attr.valid); EQ(attr.mode); EQ(attr.uid); EQ(attr.gid); EQ(attr.nlink);
	EQ(attr.rdev); EQ(attr.size); EQ(attr.blksize); EQ(attr.blocks);
	EQ(attr.atime_sec); EQ(attr.atime_nsec); EQ(attr.mtime_sec); EQ(attr.mtime_nsec);
	EQ(attr.ctime_sec); EQ(attr.ctime_nsec); EQ(attr.btime_sec); EQ(attr.btime_nsec);
	EQ(attr.gen); EQ(attr.data_version);
	EQ(setattr.valid); EQ(setattr.mode); EQ(setattr.uid); EQ(setattr.gid);
	EQ(setattr.size); EQ(setattr.atime_sec); EQ(setattr.atime_nsec);
	EQ(setattr.mtime_sec); EQ(setattr.mtime_nsec);
	EQ(xattr_size); EQ(datasync);
	EQ(statfs.type); EQ(statfs.bsize); EQ(statfs.blocks); EQ(statfs.bfree);
	EQ(statfs.bavail); EQ(statfs.files); EQ(statfs.ffree); EQ(statfs.fsid);
	EQ(statfs.namelen);
	EQ(lock.type); EQ(lock.start); EQ(lock.length); EQ(lock.proc_id);
	SEQ(lock.client_id); EQ(lock_status);
	return NULL;
#undef EQ
#undef SEQ
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- round trips ---- */

static void test_roundtrip_all(void)
{
	static uint8_t buf[8192], again[8192];
	for (size_t d = 0; d < 3; d++) {
		for (size_t i = 0; i < NTYPES; i++) {
			Fcall f, g;
			uint8_t t = all_types[i];
			sample(t, dialects[d], &f);
			size_t len = p9_pack(buf, sizeof buf, dialects[d], &f);
			CHECKF(len >= P9_HDRSZ, "%s %s: pack failed", dialect_names[d], p9_typename(t));
			if (len < P9_HDRSZ)
				continue;
			int rc = p9_unpack(buf, len, dialects[d], &g);
			CHECKF(rc == 0, "%s %s: unpack %d", dialect_names[d], p9_typename(t), rc);
			const char *diff = fcall_diff(&f, &g);
			CHECKF(diff == NULL, "%s %s: field %s differs", dialect_names[d],
			       p9_typename(t), diff);
			size_t len2 = p9_pack(again, sizeof again, dialects[d], &g);
			CHECKF(len2 == len && memcmp(buf, again, len) == 0, "%s %s: repack differs",
			       dialect_names[d], p9_typename(t));
		}
	}
}

/* The dialect changes exactly the .u fields' presence. */
static void test_dialect_sizes(void)
{
	uint8_t a[512], b[512];
	Fcall f;
	sample(Tattach, P9_2000U, &f);
	size_t lu = p9_pack(a, sizeof a, P9_2000U, &f);
	size_t l0 = p9_pack(b, sizeof b, P9_2000, &f);
	size_t lL = p9_pack(b, sizeof b, P9_2000L, &f);
	CHECK(lu == l0 + 4 && lL == lu);

	sample(Rerror, P9_2000U, &f);
	CHECK(p9_pack(a, sizeof a, P9_2000U, &f) == p9_pack(b, sizeof b, P9_2000, &f) + 4);

	sample(Tcreate, P9_2000U, &f);
	f.extension = p9_str("abc");
	CHECK(p9_pack(a, sizeof a, P9_2000U, &f) == p9_pack(b, sizeof b, P9_2000, &f) + 5);

	sample(Rstat, P9_2000U, &f);
	CHECK(p9_pack(a, sizeof a, P9_2000U, &f) ==
	      p9_pack(b, sizeof b, P9_2000, &f) + 2 + f.stat.extension.n + 12);

	/* Plain 9P2000 reports what is absent in the .u way. */
	sample(Tattach, P9_2000U, &f);
	l0 = p9_pack(b, sizeof b, P9_2000, &f);
	Fcall g;
	CHECK(p9_unpack(b, l0, P9_2000, &g) == 0 && g.n_uname == P9_NONUNAME);
}

static void test_data_is_borrowed(void)
{
	uint8_t buf[256];
	Fcall f, g;
	sample(Rread, P9_2000L, &f);
	size_t len = p9_pack(buf, sizeof buf, P9_2000L, &f);
	CHECK(p9_unpack(buf, len, P9_2000L, &g) == 0);
	CHECK(g.data == buf + P9_HDRSZ + 4);
	CHECK(g.count == sizeof payload);
	sample(Twalk, P9_2000L, &f);
	len = p9_pack(buf, sizeof buf, P9_2000L, &f);
	CHECK(p9_unpack(buf, len, P9_2000L, &g) == 0);
	CHECK((const uint8_t *)g.wname[0].s > buf && (const uint8_t *)g.wname[0].s < buf + len);
}

/* ---- rejections ---- */

static void test_truncated_every_length(void)
{
	static uint8_t buf[8192], cut[8192];
	for (size_t d = 0; d < 3; d++) {
		for (size_t i = 0; i < NTYPES; i++) {
			Fcall f, g;
			sample(all_types[i], dialects[d], &f);
			size_t len = p9_pack(buf, sizeof buf, dialects[d], &f);
			for (size_t l = 0; l < len; l++) {
				/* As received: the size field no longer matches. */
				CHECKF(p9_unpack(buf, l, dialects[d], &g) == -EPROTO, "%s %s len %zu",
				       dialect_names[d], p9_typename(all_types[i]), l);
				/* Size field patched to agree: the body itself is short. */
				memcpy(cut, buf, l);
				if (l >= 4)
					put32(cut, (uint32_t)l);
				CHECKF(p9_unpack(cut, l, dialects[d], &g) == -EPROTO,
				       "%s %s patched len %zu", dialect_names[d],
				       p9_typename(all_types[i]), l);
			}
			/* One trailing byte, size field agreeing. */
			memcpy(cut, buf, len);
			cut[len] = 0;
			put32(cut, (uint32_t)len + 1);
			CHECKF(p9_unpack(cut, len + 1, dialects[d], &g) == -EPROTO, "%s %s trailing",
			       dialect_names[d], p9_typename(all_types[i]));
		}
	}
}

static void test_size_field(void)
{
	uint8_t clunk[] = { 11, 0, 0, 0, Tclunk, 1, 0, 7, 0, 0, 0 };
	Fcall f;
	CHECK(p9_unpack(clunk, sizeof clunk, P9_2000, &f) == 0);
	CHECK(f.type == Tclunk && f.tag == 1 && f.fid == 7);

	uint8_t m[sizeof clunk];
	uint32_t bad[] = { 0, 1, 6, 7, 10, 12, 0x7fffffffu, 0x80000000u, 0xffffffffu };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memcpy(m, clunk, sizeof m);
		put32(m, bad[i]);
		CHECKF(p9_unpack(m, sizeof m, P9_2000, &f) == -EPROTO, "size %u", bad[i]);
	}
	/* A header-only frame that claims size 0 or 4 GiB. */
	uint8_t zero[] = { 0, 0, 0, 0, Rclunk, 0, 0 };
	uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, Rclunk, 0, 0 };
	uint8_t good[] = { 7, 0, 0, 0, Rclunk, 0, 0 };
	CHECK(p9_unpack(zero, sizeof zero, P9_2000, &f) == -EPROTO);
	CHECK(p9_unpack(huge, sizeof huge, P9_2000, &f) == -EPROTO);
	CHECK(p9_unpack(good, sizeof good, P9_2000, &f) == 0 && f.type == Rclunk);
	CHECK(p9_unpack(good, 0, P9_2000, &f) == -EPROTO);
}

static void test_unknown_types(void)
{
	uint8_t frame[7 + 32] = { 0 };
	Fcall f;
	for (unsigned t = 0; t < 256; t++) {
		if (known(t))
			continue;
		for (size_t len = 7; len <= sizeof frame; len += 8) {
			memset(frame, 0, sizeof frame);
			put32(frame, (uint32_t)len);
			frame[4] = (uint8_t)t;
			CHECKF(p9_unpack(frame, len, P9_2000L, &f) == -EPROTO, "type %u len %zu", t, len);
		}
		f = (Fcall){ .type = (uint8_t)t };
		CHECKF(p9_pack(frame, sizeof frame, P9_2000L, &f) == 0, "pack type %u", t);
		CHECKF(p9_typename((uint8_t)t) == NULL, "name of %u", t);
	}
	CHECK(!known(Terror) && !known(Tlerror));
}

static void test_walk_limits(void)
{
	/* Twalk tag 1 fid 0 newfid 1 nwname 17, each element "a". */
	uint8_t buf[128];
	size_t n = 0;
	buf[n++] = 0, buf[n++] = 0, buf[n++] = 0, buf[n++] = 0;
	buf[n++] = Twalk, buf[n++] = 1, buf[n++] = 0;
	buf[n++] = 0, buf[n++] = 0, buf[n++] = 0, buf[n++] = 0;
	buf[n++] = 1, buf[n++] = 0, buf[n++] = 0, buf[n++] = 0;
	buf[n++] = 17, buf[n++] = 0;
	for (int i = 0; i < 17; i++)
		buf[n++] = 1, buf[n++] = 0, buf[n++] = 'a';
	put32(buf, (uint32_t)n);
	Fcall f;
	CHECK(p9_unpack(buf, n, P9_2000, &f) == -EPROTO);
	/* The same with 16 elements is fine. */
	buf[15] = 16;
	put32(buf, (uint32_t)n - 3);
	CHECK(p9_unpack(buf, n - 3, P9_2000, &f) == 0 && f.nwname == 16);

	/* Rwalk with nwqid 17. */
	uint8_t r[7 + 2 + 17 * 13] = { 0 };
	put32(r, sizeof r);
	r[4] = Rwalk;
	r[7] = 17;
	CHECK(p9_unpack(r, sizeof r, P9_2000, &f) == -EPROTO);

	sample(Twalk, P9_2000, &f);
	f.nwname = 17;
	CHECK(p9_pack(buf, sizeof buf, P9_2000, &f) == 0);
	sample(Rwalk, P9_2000, &f);
	f.nwqid = 17;
	uint8_t big[512];
	CHECK(p9_pack(big, sizeof big, P9_2000, &f) == 0);
}

static void test_string_past_end(void)
{
	/* Tversion msize 8192 with a version string claiming 7 bytes but carrying 6. */
	uint8_t v[] = { 19, 0, 0, 0, Tversion, 0xff, 0xff, 0x00, 0x20, 0, 0,
	                7, 0, '9', 'P', '2', '0', '0', '0' };
	Fcall f;
	CHECK(p9_unpack(v, sizeof v, P9_2000, &f) == -EPROTO);
	v[11] = 0xff, v[12] = 0xff;
	CHECK(p9_unpack(v, sizeof v, P9_2000, &f) == -EPROTO);
	v[11] = 6, v[12] = 0;
	CHECK(p9_unpack(v, sizeof v, P9_2000, &f) == 0);

	/* Rread whose count runs past the end. */
	uint8_t r[] = { 13, 0, 0, 0, Rread, 1, 0, 3, 0, 0, 0, 'a', 'b' };
	CHECK(p9_unpack(r, sizeof r, P9_2000, &f) == -EPROTO);
	r[7] = 2;
	CHECK(p9_unpack(r, sizeof r, P9_2000, &f) == 0 && f.count == 2 && f.data[1] == 'b');

	/* Encoding: a NULL string with a length, or data missing. */
	uint8_t buf[64];
	f = (Fcall){ .type = Tversion, .version = { NULL, 3 } };
	CHECK(p9_pack(buf, sizeof buf, P9_2000, &f) == 0);
	f = (Fcall){ .type = Rread, .count = 3 };
	CHECK(p9_pack(buf, sizeof buf, P9_2000, &f) == 0);
}

/* Rstat/Twstat carry n[2] before the record's own size[2]; both must agree. */
static void test_stat_lengths(void)
{
	uint8_t buf[512], m[512];
	for (size_t d = 0; d < 3; d++) {
		Fcall f, g;
		sample(Rstat, dialects[d], &f);
		size_t len = p9_pack(buf, sizeof buf, dialects[d], &f);
		size_t n = (size_t)buf[7] | (size_t)buf[8] << 8;
		size_t size = (size_t)buf[9] | (size_t)buf[10] << 8;
		CHECK(n == size + 2 && len == 7 + 2 + n);
		int deltas[] = { -2, -1, 1, 2 };
		for (size_t k = 0; k < 4; k++) {
			/* Wrong outer n, wrong inner size, with the frame padded to match. */
			for (int at = 7; at <= 9; at += 2) {
				memcpy(m, buf, len);
				m[len] = m[len + 1] = 0;
				size_t flen = deltas[k] > 0 ? len + (size_t)deltas[k] : len;
				put32(m, (uint32_t)flen);
				unsigned v = (unsigned)((int)(m[at] | m[at + 1] << 8) + deltas[k]);
				m[at] = (uint8_t)v, m[at + 1] = (uint8_t)(v >> 8);
				CHECKF(p9_unpack(m, flen, dialects[d], &g) == -EPROTO,
				       "%s delta %d at %d", dialect_names[d], deltas[k], at);
			}
		}
		/* A 9P2000 record read as .u (or the reverse) does not fit. */
		int other = dialects[d] == P9_2000 ? P9_2000U : P9_2000;
		CHECK(p9_unpack(buf, len, other, &g) == -EPROTO);
	}
}

/* ---- p9_pack bounds ---- */

static void test_pack_small_buffer(void)
{
	static uint8_t buf[8192];
	for (size_t d = 0; d < 3; d++) {
		for (size_t i = 0; i < NTYPES; i++) {
			Fcall f;
			sample(all_types[i], dialects[d], &f);
			size_t len = p9_pack(buf, sizeof buf, dialects[d], &f);
			for (size_t cap = 0; cap < len; cap++) {
				memset(buf, 0xaa, len + 1);
				size_t got = p9_pack(buf, cap, dialects[d], &f);
				int clean = 1;
				for (size_t k = cap; k <= len; k++)
					clean &= buf[k] == 0xaa;
				CHECKF(got == 0 && clean, "%s %s cap %zu: got %zu clean %d",
				       dialect_names[d], p9_typename(all_types[i]), cap, got, clean);
			}
			CHECK(p9_pack(buf, len, dialects[d], &f) == len);
		}
	}
}

/* ---- stat and dirent records ---- */

static void test_stat_records(void)
{
	uint8_t buf[1024];
	for (size_t d = 0; d < 3; d++) {
		int dl = dialects[d];
		P9stat st[3], got;
		size_t off = 0, lens[3];
		for (int i = 0; i < 3; i++) {
			sample_stat(dl, &st[i]);
			st[i].qid.path = (uint64_t)i;
			st[i].name = p9_str(i == 0 ? "a" : i == 1 ? "bb" : "");
			lens[i] = p9_pack_stat(buf + off, sizeof buf - off, dl, &st[i]);
			CHECK(lens[i] > 0);
			off += lens[i];
		}
		/* A directory read: a stream of whole records. */
		size_t at = 0;
		for (int i = 0; i < 3; i++) {
			size_t n = p9_unpack_stat(buf + at, off - at, dl, &got);
			CHECKF(n == lens[i], "%s record %d: %zu", dialect_names[d], i, n);
			const char *diff = stat_diff(&st[i], &got);
			CHECKF(diff == NULL, "%s record %d: %s", dialect_names[d], i, diff);
			at += n ? n : 1;
		}
		for (size_t l = 0; l < lens[0]; l++) {
			CHECKF(p9_unpack_stat(buf, l, dl, &got) == 0, "%s stat len %zu",
			       dialect_names[d], l);
			CHECKF(p9_pack_stat(buf + 512, l, dl, &st[0]) == 0, "%s pack cap %zu",
			       dialect_names[d], l);
		}
	}
	/* The record's size[2] bounds its fields. */
	P9stat st, got;
	sample_stat(P9_2000, &st);
	size_t n = p9_pack_stat(buf, sizeof buf, P9_2000, &st);
	buf[0]++;
	CHECK(p9_unpack_stat(buf, n + 1, P9_2000, &got) == 0);
	buf[0] -= 2;
	CHECK(p9_unpack_stat(buf, n, P9_2000, &got) == 0);
}

static void test_dirents(void)
{
	uint8_t buf[256];
	const char *names[] = { ".", "..", "jobs", "ctl" };
	size_t off = 0, lens[4];
	for (int i = 0; i < 4; i++) {
		Qid q = mkqid((uint8_t)(i < 3 ? QTDIR : QTFILE), (uint32_t)i, 1000u + (uint64_t)i);
		lens[i] = p9_pack_dirent(buf + off, sizeof buf - off, &q, (uint64_t)i + 1,
		                         (uint8_t)(i < 3 ? 4 : 8), p9_str(names[i]));
		CHECK(lens[i] == 13 + 8 + 1 + 2 + strlen(names[i]));
		off += lens[i];
	}
	size_t at = 0;
	for (int i = 0; i < 4; i++) {
		Qid q;
		uint64_t o;
		uint8_t t;
		P9str name;
		size_t n = p9_unpack_dirent(buf + at, off - at, &q, &o, &t, &name);
		CHECK(n == lens[i]);
		CHECK(q.path == 1000u + (uint64_t)i && q.vers == (uint32_t)i && o == (uint64_t)i + 1);
		CHECK(t == (i < 3 ? 4 : 8));
		CHECK(name.n == strlen(names[i]) && memcmp(name.s, names[i], name.n) == 0);
		for (size_t l = 0; l < n; l++)
			CHECKF(p9_unpack_dirent(buf + at, l, &q, &o, &t, &name) == 0, "dirent %d len %zu",
			       i, l);
		at += n ? n : 1;
	}
	Qid q = { 0 };
	for (size_t cap = 0; cap < lens[2]; cap++)
		CHECK(p9_pack_dirent(buf, cap, &q, 0, 0, p9_str("jobs")) == 0);
}

/* ---- frames written out from the manuals ---- */

static void test_hand_frames(void)
{
	Fcall f;
	char line[256];

	/* version(5): size[4] Tversion tag[2] msize[4] version[s] */
	const uint8_t tversion[] = {
		19, 0, 0, 0,        /* size */
		100,                /* Tversion */
		0xff, 0xff,         /* NOTAG */
		0x00, 0x20, 0, 0,   /* msize 8192 */
		6, 0, '9', 'P', '2', '0', '0', '0',
	};
	CHECK(p9_unpack(tversion, sizeof tversion, P9_2000, &f) == 0);
	CHECK(f.type == Tversion && f.tag == P9_NOTAG && f.msize == 8192);
	CHECK(f.version.n == 6 && memcmp(f.version.s, "9P2000", 6) == 0);
	p9_fmt(line, sizeof line, P9_2000, &f);
	CHECKF(strcmp(line, "Tversion tag ~0 msize 8192 version '9P2000'") == 0, "%s", line);

	/* walk(5): size[4] Twalk tag[2] fid[4] newfid[4] nwname[2] nwname*(wname[s]) */
	const uint8_t twalk[] = {
		26, 0, 0, 0, 110, 1, 0,
		0, 0, 0, 0,         /* fid 0 */
		1, 0, 0, 0,         /* newfid 1 */
		2, 0,               /* nwname 2 */
		4, 0, 'j', 'o', 'b', 's',
		1, 0, 'x',
	};
	CHECK(p9_unpack(twalk, sizeof twalk, P9_2000L, &f) == 0);
	CHECK(f.type == Twalk && f.tag == 1 && f.fid == 0 && f.newfid == 1 && f.nwname == 2);
	CHECK(f.wname[0].n == 4 && memcmp(f.wname[0].s, "jobs", 4) == 0);
	CHECK(f.wname[1].n == 1 && f.wname[1].s[0] == 'x');
	p9_fmt(line, sizeof line, P9_2000L, &f);
	CHECKF(strcmp(line, "Twalk tag 1 fid 0 newfid 1 nwname 2 0:jobs 1:x") == 0, "%s", line);

	/* diod protocol.md: size[4] Rlerror tag[2] ecode[4] */
	const uint8_t rlerror[] = { 11, 0, 0, 0, 7, 5, 0, 2, 0, 0, 0 };
	CHECK(p9_unpack(rlerror, sizeof rlerror, P9_2000L, &f) == 0);
	CHECK(f.type == Rlerror && f.tag == 5 && f.ecode == ENOENT);

	/* Tattach fid 0 afid ~0 uname 'nobody' aname '' n_uname ~0, as Linux mounts. */
	const uint8_t tattach[] = {
		29, 0, 0, 0, 104, 2, 0,
		0, 0, 0, 0,
		0xff, 0xff, 0xff, 0xff,
		6, 0, 'n', 'o', 'b', 'o', 'd', 'y',
		0, 0,
		0xff, 0xff, 0xff, 0xff,
	};
	CHECK(p9_unpack(tattach, sizeof tattach, P9_2000L, &f) == 0);
	CHECK(f.fid == 0 && f.afid == P9_NOFID && f.n_uname == P9_NONUNAME && f.aname.n == 0);
	p9_fmt(line, sizeof line, P9_2000L, &f);
	CHECKF(strcmp(line, "Tattach tag 2 fid 0 afid ~0 uname 'nobody' aname '' n_uname ~0") == 0,
	       "%s", line);
	/* The same bytes are not a 9P2000 Tattach: four bytes left over. */
	CHECK(p9_unpack(tattach, sizeof tattach, P9_2000, &f) == -EPROTO);

	/* Tlopen flags 0100101 (O_WRONLY|O_CREAT|O_LARGEFILE), what `echo > ctl` sends. */
	const uint8_t tlopen[] = { 15, 0, 0, 0, 12, 3, 0, 9, 0, 0, 0, 0x41, 0x80, 0, 0 };
	CHECK(p9_unpack(tlopen, sizeof tlopen, P9_2000L, &f) == 0);
	CHECK(f.type == Tlopen && f.fid == 9 && f.flags == 0100101);

	/* stat(5): size[4] Rstat tag[2] n[2] then the record:
	 * size[2] type[2] dev[4] qid[13] mode[4] atime[4] mtime[4] length[8]
	 * name[s] uid[s] gid[s] muid[s] */
	const uint8_t rstat[] = {
		63, 0, 0, 0, 125, 4, 0,
		54, 0,                          /* n */
		52, 0,                          /* size */
		0, 0,                           /* type */
		0, 0, 0, 0,                     /* dev */
		0x00, 1, 0, 0, 0, 0x2a, 0, 0, 0, 0, 0, 0, 0,   /* qid file vers 1 path 42 */
		0xa4, 0x01, 0, 0,               /* mode 0644 */
		0x10, 0, 0, 0,                  /* atime 16 */
		0x20, 0, 0, 0,                  /* mtime 32 */
		5, 0, 0, 0, 0, 0, 0, 0,         /* length 5 */
		3, 0, 'c', 't', 'l',
		1, 0, 'u',
		1, 0, 'g',
		0, 0,
	};
	CHECK(p9_unpack(rstat, sizeof rstat, P9_2000, &f) == 0);
	CHECK(f.stat.qid.type == QTFILE && f.stat.qid.vers == 1 && f.stat.qid.path == 42);
	CHECK(f.stat.mode == 0644 && f.stat.atime == 16 && f.stat.mtime == 32);
	CHECK(f.stat.length == 5 && f.stat.name.n == 3 && memcmp(f.stat.name.s, "ctl", 3) == 0);
	CHECK(f.stat.uid.n == 1 && f.stat.gid.n == 1 && f.stat.muid.n == 0);
	CHECK(f.stat.n_uid == P9_NONUNAME);

	/* readdir: size[4] Rreaddir tag[2] count[4] then qid[13] offset[8] type[1] name[s] */
	const uint8_t rreaddir[] = {
		11 + 25, 0, 0, 0, 41, 6, 0,
		25, 0, 0, 0,
		0x80, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0,
		1, 0, 0, 0, 0, 0, 0, 0,
		4,
		1, 0, '.',
	};
	CHECK(p9_unpack(rreaddir, sizeof rreaddir, P9_2000L, &f) == 0);
	CHECK(f.type == Rreaddir && f.count == 25);
	Qid q;
	uint64_t off;
	uint8_t t;
	P9str name;
	CHECK(p9_unpack_dirent(f.data, f.count, &q, &off, &t, &name) == 25);
	CHECK(q.type == QTDIR && q.path == 7 && off == 1 && t == 4 && name.n == 1 && name.s[0] == '.');

	/* And our encoder produces the very same bytes. */
	uint8_t buf[64];
	Fcall tv = { .type = Tversion, .tag = P9_NOTAG, .msize = 8192, .version = p9_str("9P2000") };
	CHECK(p9_pack(buf, sizeof buf, P9_2000, &tv) == sizeof tversion &&
	      memcmp(buf, tversion, sizeof tversion) == 0);
	Fcall rl = { .type = Rlerror, .tag = 5, .ecode = ENOENT };
	CHECK(p9_pack(buf, sizeof buf, P9_2000L, &rl) == sizeof rlerror &&
	      memcmp(buf, rlerror, sizeof rlerror) == 0);
}

/* A second, independent statement of every layout, written in the order of
 * the manual lines (intro(5) ... stat(5), diod's protocol.md), so a field
 * order mistake in the codec cannot hide behind a symmetric round trip. */
typedef struct Bytes {
	uint8_t b[1024];
	size_t n;
} Bytes;

static void b_int(Bytes *b, uint64_t v, int size)
{
	for (int i = 0; i < size; i++)
		b->b[b->n++] = (uint8_t)(v >> (8 * i));
}
static void b1(Bytes *b, uint64_t v) { b_int(b, v, 1); }
static void b2(Bytes *b, uint64_t v) { b_int(b, v, 2); }
static void b4(Bytes *b, uint64_t v) { b_int(b, v, 4); }
static void b8(Bytes *b, uint64_t v) { b_int(b, v, 8); }
static void bs(Bytes *b, P9str s)
{
	b2(b, s.n);
	memcpy(b->b + b->n, s.s, s.n);
	b->n += s.n;
}
static void bq(Bytes *b, const Qid *q)
{
	b1(b, q->type);
	b4(b, q->vers);
	b8(b, q->path);
}

static void bstat(Bytes *b, int ext, const P9stat *st)
{
	size_t at = b->n;
	b2(b, 0);
	b2(b, st->type);
	b4(b, st->dev);
	bq(b, &st->qid);
	b4(b, st->mode);
	b4(b, st->atime);
	b4(b, st->mtime);
	b8(b, st->length);
	bs(b, st->name);
	bs(b, st->uid);
	bs(b, st->gid);
	bs(b, st->muid);
	if (ext) {
		bs(b, st->extension);
		b4(b, st->n_uid);
		b4(b, st->n_gid);
		b4(b, st->n_muid);
	}
	size_t size = b->n - at - 2;
	b->b[at] = (uint8_t)size;
	b->b[at + 1] = (uint8_t)(size >> 8);
}

static void manual_layout(const Fcall *f, int dialect, Bytes *b)
{
	int ext = dialect != P9_2000;
	const P9attr *a = &f->attr;
	const P9setattr *s = &f->setattr;
	b->n = 0;
	b4(b, 0);
	b1(b, f->type);
	b2(b, f->tag);
	switch (f->type) {
	case Tversion: case Rversion: b4(b, f->msize); bs(b, f->version); break;
	case Tauth:
		b4(b, f->afid); bs(b, f->uname); bs(b, f->aname);
		if (ext) b4(b, f->n_uname);
		break;
	case Tattach:
		b4(b, f->fid); b4(b, f->afid); bs(b, f->uname); bs(b, f->aname);
		if (ext) b4(b, f->n_uname);
		break;
	case Rauth: case Rattach: case Rsymlink: case Rmknod: case Rmkdir: bq(b, &f->qid); break;
	case Rerror: bs(b, f->ename); if (ext) b4(b, f->ecode); break;
	case Rlerror: b4(b, f->ecode); break;
	case Tflush: b2(b, f->oldtag); break;
	case Twalk:
		b4(b, f->fid); b4(b, f->newfid); b2(b, f->nwname);
		for (int i = 0; i < f->nwname; i++) bs(b, f->wname[i]);
		break;
	case Rwalk:
		b2(b, f->nwqid);
		for (int i = 0; i < f->nwqid; i++) bq(b, &f->wqid[i]);
		break;
	case Topen: b4(b, f->fid); b1(b, f->mode); break;
	case Ropen: case Rcreate: case Rlopen: case Rlcreate: bq(b, &f->qid); b4(b, f->iounit); break;
	case Tcreate:
		b4(b, f->fid); bs(b, f->name); b4(b, f->perm); b1(b, f->mode);
		if (ext) bs(b, f->extension);
		break;
	case Tread: case Treaddir: b4(b, f->fid); b8(b, f->offset); b4(b, f->count); break;
	case Rread: case Rreaddir:
		b4(b, f->count); memcpy(b->b + b->n, f->data, f->count); b->n += f->count;
		break;
	case Twrite:
		b4(b, f->fid); b8(b, f->offset); b4(b, f->count);
		memcpy(b->b + b->n, f->data, f->count); b->n += f->count;
		break;
	case Rwrite: b4(b, f->count); break;
	case Tclunk: case Tremove: case Tstat: case Tstatfs: case Treadlink: b4(b, f->fid); break;
	case Twstat: b4(b, f->fid); /* fall through */
	case Rstat: {
		size_t at = b->n;
		b2(b, 0);
		bstat(b, ext, &f->stat);
		size_t n = b->n - at - 2;
		b->b[at] = (uint8_t)n;
		b->b[at + 1] = (uint8_t)(n >> 8);
		break;
	}
	case Rstatfs:
		b4(b, f->statfs.type); b4(b, f->statfs.bsize); b8(b, f->statfs.blocks);
		b8(b, f->statfs.bfree); b8(b, f->statfs.bavail); b8(b, f->statfs.files);
		b8(b, f->statfs.ffree); b8(b, f->statfs.fsid); b4(b, f->statfs.namelen);
		break;
	case Tlopen: b4(b, f->fid); b4(b, f->flags); break;
	case Tlcreate:
		b4(b, f->fid); bs(b, f->name); b4(b, f->flags); b4(b, f->lmode); b4(b, f->gid);
		break;
	case Tsymlink: b4(b, f->fid); bs(b, f->name); bs(b, f->symtgt); b4(b, f->gid); break;
	case Tmknod:
		b4(b, f->dfid); bs(b, f->name); b4(b, f->lmode); b4(b, f->major); b4(b, f->minor);
		b4(b, f->gid);
		break;
	case Trename: b4(b, f->fid); b4(b, f->dfid); bs(b, f->name); break;
	case Rreadlink: bs(b, f->symtgt); break;
	case Tgetattr: b4(b, f->fid); b8(b, f->request_mask); break;
	case Rgetattr:
		b8(b, a->valid); bq(b, &a->qid); b4(b, a->mode); b4(b, a->uid); b4(b, a->gid);
		b8(b, a->nlink); b8(b, a->rdev); b8(b, a->size); b8(b, a->blksize); b8(b, a->blocks);
		b8(b, a->atime_sec); b8(b, a->atime_nsec); b8(b, a->mtime_sec); b8(b, a->mtime_nsec);
		b8(b, a->ctime_sec); b8(b, a->ctime_nsec); b8(b, a->btime_sec); b8(b, a->btime_nsec);
		b8(b, a->gen); b8(b, a->data_version);
		break;
	case Tsetattr:
		b4(b, f->fid); b4(b, s->valid); b4(b, s->mode); b4(b, s->uid); b4(b, s->gid);
		b8(b, s->size); b8(b, s->atime_sec); b8(b, s->atime_nsec); b8(b, s->mtime_sec);
		b8(b, s->mtime_nsec);
		break;
	case Txattrwalk: b4(b, f->fid); b4(b, f->newfid); bs(b, f->name); break;
	case Rxattrwalk: b8(b, f->xattr_size); break;
	case Txattrcreate: b4(b, f->fid); bs(b, f->name); b8(b, f->xattr_size); b4(b, f->flags); break;
	case Tfsync: b4(b, f->fid); b4(b, f->datasync); break;
	case Tlock:
		b4(b, f->fid); b1(b, f->lock.type); b4(b, f->flags); b8(b, f->lock.start);
		b8(b, f->lock.length); b4(b, f->lock.proc_id); bs(b, f->lock.client_id);
		break;
	case Rlock: b1(b, f->lock_status); break;
	case Tgetlock: b4(b, f->fid); /* fall through */
	case Rgetlock:
		b1(b, f->lock.type); b8(b, f->lock.start); b8(b, f->lock.length);
		b4(b, f->lock.proc_id); bs(b, f->lock.client_id);
		break;
	case Tlink: b4(b, f->dfid); b4(b, f->fid); bs(b, f->name); break;
	case Tmkdir: b4(b, f->dfid); bs(b, f->name); b4(b, f->lmode); b4(b, f->gid); break;
	case Trenameat:
		b4(b, f->dfid); bs(b, f->name); b4(b, f->newdfid); bs(b, f->newname);
		break;
	case Tunlinkat: b4(b, f->dfid); bs(b, f->name); b4(b, f->flags); break;
	default: break;
	}
	size_t n = b->n;
	b->n = 0;
	b4(b, n);
	b->n = n;
}

static void test_manual_layouts(void)
{
	static uint8_t buf[2048];
	for (size_t d = 0; d < 3; d++) {
		for (size_t i = 0; i < NTYPES; i++) {
			Fcall f, g;
			Bytes want;
			sample(all_types[i], dialects[d], &f);
			manual_layout(&f, dialects[d], &want);
			size_t len = p9_pack(buf, sizeof buf, dialects[d], &f);
			CHECKF(len == want.n && memcmp(buf, want.b, len) == 0, "%s %s: pack != manual",
			       dialect_names[d], p9_typename(all_types[i]));
			CHECKF(p9_unpack(want.b, want.n, dialects[d], &g) == 0 && !fcall_diff(&f, &g),
			       "%s %s: manual bytes decode wrong", dialect_names[d],
			       p9_typename(all_types[i]));
		}
	}
}

/* ---- accepted frames are canonical ---- */

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Random damage must never crash the decoder, and whatever it accepts must
 * encode back to exactly the bytes it came from. Each dialect must both
 * accept some damaged frames (a flipped data byte is still a message) and
 * refuse some (a cut one is not): a decoder that refused everything, or
 * accepted everything, would otherwise pass unseen. */
static void test_mutations(void)
{
	static uint8_t buf[8192], m[8192], again[8192];
	uint32_t seed = 0x9e3779b9u;
	for (size_t d = 0; d < 3; d++) {
		long accepted = 0, rejected = 0;
		for (size_t i = 0; i < NTYPES; i++) {
			Fcall f, g;
			sample(all_types[i], dialects[d], &f);
			size_t len = p9_pack(buf, sizeof buf, dialects[d], &f);
			for (int k = 0; k < 300; k++) {
				memcpy(m, buf, len);
				size_t l = len;
				if (rnd(&seed) % 4 == 0)
					l = 4 + rnd(&seed) % (len - 3);
				int flips = 1 + (int)(rnd(&seed) % 3);
				for (int j = 0; j < flips; j++)
					m[4 + rnd(&seed) % (l - 4 ? l - 4 : 1)] = (uint8_t)rnd(&seed);
				if (rnd(&seed) % 2)
					put32(m, (uint32_t)l);
				if (p9_unpack(m, l, dialects[d], &g) != 0) {
					rejected++;
					continue;
				}
				accepted++;
				size_t l2 = p9_pack(again, sizeof again, dialects[d], &g);
				CHECKF(l2 == l && memcmp(again, m, l) == 0, "%s %s mutation %d",
				       dialect_names[d], p9_typename(all_types[i]), k);
			}
		}
		printf("# mutations %s: %ld accepted, %ld rejected\n", dialect_names[d], accepted,
		       rejected);
		CHECKF(accepted > 0 && rejected > 0,
		       "%s: %ld mutations accepted, %ld rejected; want some of each",
		       dialect_names[d], accepted, rejected);
	}
}

/* ---- formatting ---- */

static void test_fmt(void)
{
	char line[512];
	Fcall f;
	f = (Fcall){ .type = Rread, .tag = 3, .count = 6, .data = (const uint8_t *)"hello\n" };
	p9_fmt(line, sizeof line, P9_2000, &f);
	CHECKF(strcmp(line, "Rread tag 3 count 6 'hello\\n'") == 0, "%s", line);

	static uint8_t big[100];
	memset(big, 'z', sizeof big);
	f = (Fcall){ .type = Twrite, .tag = 1, .fid = 2, .offset = 3, .count = sizeof big, .data = big };
	p9_fmt(line, sizeof line, P9_2000, &f);
	CHECKF(strcmp(line, "Twrite tag 1 fid 2 offset 3 count 100 "
	                    "'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz'...") == 0, "%s", line);

	f = (Fcall){ .type = Rerror, .tag = 4, .ename = p9_str("it's gone"), .ecode = 2 };
	p9_fmt(line, sizeof line, P9_2000U, &f);
	CHECKF(strcmp(line, "Rerror tag 4 ename 'it\\'s gone' ecode 2") == 0, "%s", line);
	p9_fmt(line, sizeof line, P9_2000, &f);
	CHECKF(strcmp(line, "Rerror tag 4 ename 'it\\'s gone'") == 0, "%s", line);

	f = (Fcall){ .type = Twalk, .tag = 9, .fid = 1, .newfid = 2, .nwname = 2 };
	f.wname[0] = p9_str("a b");
	f.wname[1] = p9_str("");
	p9_fmt(line, sizeof line, P9_2000, &f);
	CHECKF(strcmp(line, "Twalk tag 9 fid 1 newfid 2 nwname 2 0:'a b' 1:''") == 0, "%s", line);

	f = (Fcall){ .type = Tlopen, .tag = 1, .fid = 5, .flags = 0100101 };
	p9_fmt(line, sizeof line, P9_2000L, &f);
	CHECKF(strcmp(line, "Tlopen tag 1 fid 5 flags 0100101") == 0, "%s", line);

	f = (Fcall){ .type = Ropen, .tag = 1, .qid = { QTDIR, 3, 0x2a }, .iounit = 0 };
	p9_fmt(line, sizeof line, P9_2000, &f);
	CHECKF(strcmp(line, "Ropen tag 1 qid (000000000000002a 3 d) iounit 0") == 0, "%s", line);

	f = (Fcall){ .type = Tcreate, .tag = 1, .fid = 1, .name = p9_str("d"),
	             .perm = DMDIR | 0755, .mode = 0 };
	p9_fmt(line, sizeof line, P9_2000, &f);
	CHECKF(strcmp(line, "Tcreate tag 1 fid 1 name 'd' perm drwxr-xr-x mode 0") == 0, "%s", line);

	f = (Fcall){ .type = 0 };
	p9_fmt(line, sizeof line, P9_2000, &f);
	CHECKF(strcmp(line, "unknown type 0 tag 0") == 0, "%s", line);

	/* Every message renders, starting with its name, and truncation is safe. */
	for (size_t d = 0; d < 3; d++) {
		for (size_t i = 0; i < NTYPES; i++) {
			sample(all_types[i], dialects[d], &f);
			const char *name = p9_typename(all_types[i]);
			CHECK(name != NULL);
			p9_fmt(line, sizeof line, dialects[d], &f);
			CHECKF(name && strncmp(line, name, strlen(name)) == 0, "%s", line);
			size_t full = strlen(line);
			for (size_t n = 1; n < 24; n++) {
				char small[24];
				memset(small, '#', sizeof small);
				p9_fmt(small, n, dialects[d], &f);
				CHECK(strlen(small) == (full < n - 1 ? full : n - 1));
				CHECK(n == sizeof small || small[n] == '#');
			}
		}
	}
	CHECK(strcmp(p9_typename(Twalk), "Twalk") == 0);
	CHECK(strcmp(p9_typename(Rlerror), "Rlerror") == 0);
	CHECK(p9_typename(Terror) == NULL && p9_typename(Tlerror) == NULL);
}

int main(void)
{
	unit_prog = "t_9p";
	unit_run("roundtrip_all", test_roundtrip_all);
	unit_run("dialect_sizes", test_dialect_sizes);
	unit_run("data_is_borrowed", test_data_is_borrowed);
	unit_run("truncated_every_length", test_truncated_every_length);
	unit_run("size_field", test_size_field);
	unit_run("unknown_types", test_unknown_types);
	unit_run("walk_limits", test_walk_limits);
	unit_run("string_past_end", test_string_past_end);
	unit_run("stat_lengths", test_stat_lengths);
	unit_run("pack_small_buffer", test_pack_small_buffer);
	unit_run("stat_records", test_stat_records);
	unit_run("dirents", test_dirents);
	unit_run("hand_frames", test_hand_frames);
	unit_run("manual_layouts", test_manual_layouts);
	unit_run("mutations", test_mutations);
	unit_run("fmt", test_fmt);
	return unit_done();
}
