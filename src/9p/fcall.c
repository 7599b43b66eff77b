/* The 9P codec. Every message is described once, in body(), by a sequence of
 * field operations on a cursor that either decodes (c->in) or encodes
 * (c->out); pack and unpack therefore cannot disagree about a layout.
 *
 * The cursor's `bad` flag is sticky: the first overrun or malformed field sets
 * it, every later operation becomes a no-op, and the callers check it once at
 * the end. Nothing here allocates; decoded strings and data point into the
 * caller's buffer. */
#include <errno.h>
#include <string.h>

#include "9p/fcall.h"

typedef struct Cur {
	const uint8_t *in;   /* decoding: the bytes read */
	uint8_t *out;        /* encoding: the buffer written (NULL when decoding) */
	size_t pos, len;
	int bad;
} Cur;

/* Claims n bytes at the cursor; returns their offset, or sets bad. */
static int take(Cur *c, size_t n, size_t *at)
{
	if (c->bad || n > c->len - c->pos) {
		c->bad = 1;
		return 0;
	}
	*at = c->pos;
	c->pos += n;
	return 1;
}

/* Little-endian integer of `size` bytes, assembled byte by byte. */
static void num(Cur *c, uint64_t *v, int size)
{
	size_t at;
	if (!take(c, (size_t)size, &at))
		return;
	if (c->out) {
		for (int i = 0; i < size; i++)
			c->out[at + (size_t)i] = (uint8_t)(*v >> (8 * i));
	} else {
		uint64_t x = 0;
		for (int i = 0; i < size; i++)
			x |= (uint64_t)c->in[at + (size_t)i] << (8 * i);
		*v = x;
	}
}

static void u8f(Cur *c, uint8_t *v) { uint64_t x = *v; num(c, &x, 1); *v = (uint8_t)x; }
static void u16f(Cur *c, uint16_t *v) { uint64_t x = *v; num(c, &x, 2); *v = (uint16_t)x; }
static void u32f(Cur *c, uint32_t *v) { uint64_t x = *v; num(c, &x, 4); *v = (uint32_t)x; }
static void u64f(Cur *c, uint64_t *v) { num(c, v, 8); }

/* n raw bytes: decoding borrows them, encoding copies them in. */
static void bytesf(Cur *c, const uint8_t **d, size_t n)
{
	size_t at;
	if (c->out && n > 0 && *d == NULL)
		c->bad = 1;
	if (!take(c, n, &at))
		return;
	if (c->out) {
		if (n > 0)
			memcpy(c->out + at, *d, n);
	} else {
		*d = c->in + at;
	}
}

static void strf(Cur *c, P9str *s)
{
	u16f(c, &s->n);
	const uint8_t *p = (const uint8_t *)s->s;
	bytesf(c, &p, s->n);
	if (!c->out)
		s->s = (const char *)p;
}

static void qidf(Cur *c, Qid *q)
{
	u8f(c, &q->type);
	u32f(c, &q->vers);
	u64f(c, &q->path);
}

/* A 9P2000.u field: coded in .u and .L, absent in plain 9P2000, where
 * decoding fills in `none` so callers need not look at the dialect. */
static void u32ext(Cur *c, int ext, uint32_t *v, uint32_t none)
{
	if (ext)
		u32f(c, v);
	else if (!c->out)
		*v = none;
}

/* Opens a region prefixed by its length n[2]; returns the prefix's offset.
 * Encoding writes a placeholder that region_end patches. */
static size_t region_begin(Cur *c, uint16_t *n)
{
	size_t at = c->pos;
	if (c->out)
		*n = 0;
	u16f(c, n);
	return at;
}

/* Closes the region: encoding patches the length, decoding requires that the
 * fields consumed exactly the announced n bytes. */
static void region_end(Cur *c, size_t at, uint16_t n)
{
	if (c->bad)
		return;
	size_t used = c->pos - at - 2;
	if (c->out) {
		if (used > 0xffff) {
			c->bad = 1;
			return;
		}
		c->out[at] = (uint8_t)used;
		c->out[at + 1] = (uint8_t)(used >> 8);
	} else if (used != n) {
		c->bad = 1;
	}
}

/* One stat record, its own size[2] included. In 9P2000.L the .u extension is
 * present, as in Linux's codec, though .L clients never ask for stat. */
static void statf(Cur *c, int dialect, P9stat *st)
{
	int ext = dialect != P9_2000;
	uint16_t size;
	size_t at = region_begin(c, &size);
	u16f(c, &st->type);
	u32f(c, &st->dev);
	qidf(c, &st->qid);
	u32f(c, &st->mode);
	u32f(c, &st->atime);
	u32f(c, &st->mtime);
	u64f(c, &st->length);
	strf(c, &st->name);
	strf(c, &st->uid);
	strf(c, &st->gid);
	strf(c, &st->muid);
	if (ext)
		strf(c, &st->extension);
	u32ext(c, ext, &st->n_uid, P9_NONUNAME);
	u32ext(c, ext, &st->n_gid, P9_NONUNAME);
	u32ext(c, ext, &st->n_muid, P9_NONUNAME);
	region_end(c, at, size);
}

/* Rstat and Twstat wrap the record in a second length, n[2] = size + 2. */
static void wrapped_statf(Cur *c, int dialect, P9stat *st)
{
	uint16_t n;
	size_t at = region_begin(c, &n);
	statf(c, dialect, st);
	region_end(c, at, n);
}

static void direntf(Cur *c, Qid *qid, uint64_t *offset, uint8_t *type, P9str *name)
{
	qidf(c, qid);
	u64f(c, offset);
	u8f(c, type);
	strf(c, name);
}

static void countf(Cur *c, uint16_t *n)
{
	u16f(c, n);
	if (*n > P9_MAXWELEM)
		c->bad = 1;
}

static void lockfields(Cur *c, Fcall *f, int with_flags)
{
	u8f(c, &f->lock.type);
	if (with_flags)
		u32f(c, &f->flags);
	u64f(c, &f->lock.start);
	u64f(c, &f->lock.length);
	u32f(c, &f->lock.proc_id);
	strf(c, &f->lock.client_id);
}

/* The body of every message after size[4] type[1] tag[2]. Returns 0 for a
 * type that is not a message (including Terror and Tlerror, which the
 * manuals reserve but nobody sends). The ".u" fields (n_uname, Rerror's
 * errno, Tcreate's extension, the stat extension) are coded in 9P2000.L too,
 * as the Linux client does. */
static int body(Cur *c, int dialect, Fcall *f)
{
	int ext = dialect != P9_2000;
	P9attr *a = &f->attr;
	P9setattr *s = &f->setattr;

	switch (f->type) {
	/* 9P2000 and its .u extensions */
	case Tversion:
	case Rversion:
		u32f(c, &f->msize);
		strf(c, &f->version);
		break;
	case Tauth:
		u32f(c, &f->afid);
		strf(c, &f->uname);
		strf(c, &f->aname);
		u32ext(c, ext, &f->n_uname, P9_NONUNAME);
		break;
	case Tattach:
		u32f(c, &f->fid);
		u32f(c, &f->afid);
		strf(c, &f->uname);
		strf(c, &f->aname);
		u32ext(c, ext, &f->n_uname, P9_NONUNAME);
		break;
	case Rauth:
	case Rattach:
	case Rsymlink:
	case Rmknod:
	case Rmkdir:
		qidf(c, &f->qid);
		break;
	case Rerror:
		strf(c, &f->ename);
		u32ext(c, ext, &f->ecode, 0);
		break;
	case Tflush:
		u16f(c, &f->oldtag);
		break;
	case Twalk:
		u32f(c, &f->fid);
		u32f(c, &f->newfid);
		countf(c, &f->nwname);
		for (int i = 0; i < f->nwname && !c->bad; i++)
			strf(c, &f->wname[i]);
		break;
	case Rwalk:
		countf(c, &f->nwqid);
		for (int i = 0; i < f->nwqid && !c->bad; i++)
			qidf(c, &f->wqid[i]);
		break;
	case Topen:
		u32f(c, &f->fid);
		u8f(c, &f->mode);
		break;
	case Ropen:
	case Rcreate:
	case Rlopen:
	case Rlcreate:
		qidf(c, &f->qid);
		u32f(c, &f->iounit);
		break;
	case Tcreate:
		u32f(c, &f->fid);
		strf(c, &f->name);
		u32f(c, &f->perm);
		u8f(c, &f->mode);
		if (ext)
			strf(c, &f->extension);
		break;
	case Tread:
	case Treaddir:
		u32f(c, &f->fid);
		u64f(c, &f->offset);
		u32f(c, &f->count);
		break;
	case Rread:
	case Rreaddir:
		u32f(c, &f->count);
		bytesf(c, &f->data, f->count);
		break;
	case Twrite:
		u32f(c, &f->fid);
		u64f(c, &f->offset);
		u32f(c, &f->count);
		bytesf(c, &f->data, f->count);
		break;
	case Rwrite:
		u32f(c, &f->count);
		break;
	case Tclunk:
	case Tremove:
	case Tstat:
	case Tstatfs:
	case Treadlink:
		u32f(c, &f->fid);
		break;
	case Rstat:
		wrapped_statf(c, dialect, &f->stat);
		break;
	case Twstat:
		u32f(c, &f->fid);
		wrapped_statf(c, dialect, &f->stat);
		break;
	case Rflush:
	case Rclunk:
	case Rremove:
	case Rwstat:
	case Rrename:
	case Rsetattr:
	case Rxattrcreate:
	case Rfsync:
	case Rlink:
	case Rrenameat:
	case Runlinkat:
		break;

	/* 9P2000.L */
	case Rlerror:
		u32f(c, &f->ecode);
		break;
	case Rstatfs:
		u32f(c, &f->statfs.type);
		u32f(c, &f->statfs.bsize);
		u64f(c, &f->statfs.blocks);
		u64f(c, &f->statfs.bfree);
		u64f(c, &f->statfs.bavail);
		u64f(c, &f->statfs.files);
		u64f(c, &f->statfs.ffree);
		u64f(c, &f->statfs.fsid);
		u32f(c, &f->statfs.namelen);
		break;
	case Tlopen:
		u32f(c, &f->fid);
		u32f(c, &f->flags);
		break;
	case Tlcreate:
		u32f(c, &f->fid);
		strf(c, &f->name);
		u32f(c, &f->flags);
		u32f(c, &f->lmode);
		u32f(c, &f->gid);
		break;
	case Tsymlink:
		u32f(c, &f->fid);
		strf(c, &f->name);
		strf(c, &f->symtgt);
		u32f(c, &f->gid);
		break;
	case Tmknod:
		u32f(c, &f->dfid);
		strf(c, &f->name);
		u32f(c, &f->lmode);
		u32f(c, &f->major);
		u32f(c, &f->minor);
		u32f(c, &f->gid);
		break;
	case Trename:
		u32f(c, &f->fid);
		u32f(c, &f->dfid);
		strf(c, &f->name);
		break;
	case Rreadlink:
		strf(c, &f->symtgt);
		break;
	case Tgetattr:
		u32f(c, &f->fid);
		u64f(c, &f->request_mask);
		break;
	case Rgetattr:
		u64f(c, &a->valid);
		qidf(c, &a->qid);
		u32f(c, &a->mode);
		u32f(c, &a->uid);
		u32f(c, &a->gid);
		u64f(c, &a->nlink);
		u64f(c, &a->rdev);
		u64f(c, &a->size);
		u64f(c, &a->blksize);
		u64f(c, &a->blocks);
		u64f(c, &a->atime_sec);
		u64f(c, &a->atime_nsec);
		u64f(c, &a->mtime_sec);
		u64f(c, &a->mtime_nsec);
		u64f(c, &a->ctime_sec);
		u64f(c, &a->ctime_nsec);
		u64f(c, &a->btime_sec);
		u64f(c, &a->btime_nsec);
		u64f(c, &a->gen);
		u64f(c, &a->data_version);
		break;
	case Tsetattr:
		u32f(c, &f->fid);
		u32f(c, &s->valid);
		u32f(c, &s->mode);
		u32f(c, &s->uid);
		u32f(c, &s->gid);
		u64f(c, &s->size);
		u64f(c, &s->atime_sec);
		u64f(c, &s->atime_nsec);
		u64f(c, &s->mtime_sec);
		u64f(c, &s->mtime_nsec);
		break;
	case Txattrwalk:
		u32f(c, &f->fid);
		u32f(c, &f->newfid);
		strf(c, &f->name);
		break;
	case Rxattrwalk:
		u64f(c, &f->xattr_size);
		break;
	case Txattrcreate:
		u32f(c, &f->fid);
		strf(c, &f->name);
		u64f(c, &f->xattr_size);
		u32f(c, &f->flags);
		break;
	case Tfsync:
		u32f(c, &f->fid);
		u32f(c, &f->datasync);
		break;
	case Tlock:
		u32f(c, &f->fid);
		lockfields(c, f, 1);
		break;
	case Rlock:
		u8f(c, &f->lock_status);
		break;
	case Tgetlock:
		u32f(c, &f->fid);
		lockfields(c, f, 0);
		break;
	case Rgetlock:
		lockfields(c, f, 0);
		break;
	case Tlink:
		u32f(c, &f->dfid);
		u32f(c, &f->fid);
		strf(c, &f->name);
		break;
	case Tmkdir:
		u32f(c, &f->dfid);
		strf(c, &f->name);
		u32f(c, &f->lmode);
		u32f(c, &f->gid);
		break;
	case Trenameat:
		u32f(c, &f->dfid);
		strf(c, &f->name);
		u32f(c, &f->newdfid);
		strf(c, &f->newname);
		break;
	case Tunlinkat:
		u32f(c, &f->dfid);
		strf(c, &f->name);
		u32f(c, &f->flags);
		break;
	default:
		return 0;
	}
	return 1;
}

int p9_unpack(const uint8_t *buf, size_t len, int dialect, Fcall *f)
{
	memset(f, 0, sizeof *f);
	if (len < P9_HDRSZ || len > UINT32_MAX)
		return -EPROTO;
	Cur c = { .in = buf, .len = len };
	uint32_t size = 0;
	u32f(&c, &size);
	if (size != len)
		return -EPROTO;
	u8f(&c, &f->type);
	u16f(&c, &f->tag);
	if (!body(&c, dialect, f) || c.bad || c.pos != len)
		return -EPROTO;
	return 0;
}

/* Caps the output at what a size[4] field can describe. */
static size_t frame_cap(size_t cap)
{
	return cap > UINT32_MAX ? UINT32_MAX : cap;
}

size_t p9_pack(uint8_t *buf, size_t cap, int dialect, const Fcall *f)
{
	/* body() takes a mutable Fcall because it also decodes; encoding only
	 * reads it, but a copy keeps that promise checkable. */
	Fcall m = *f;
	Cur c = { .out = buf, .len = frame_cap(cap) };
	uint32_t size = 0;
	u32f(&c, &size);
	u8f(&c, &m.type);
	u16f(&c, &m.tag);
	if (!body(&c, dialect, &m) || c.bad)
		return 0;
	size = (uint32_t)c.pos;
	c.pos = 0;
	u32f(&c, &size);
	return size;
}

size_t p9_pack_stat(uint8_t *buf, size_t cap, int dialect, const P9stat *st)
{
	P9stat m = *st;
	Cur c = { .out = buf, .len = cap };
	statf(&c, dialect, &m);
	return c.bad ? 0 : c.pos;
}

size_t p9_unpack_stat(const uint8_t *buf, size_t len, int dialect, P9stat *st)
{
	memset(st, 0, sizeof *st);
	Cur c = { .in = buf, .len = len };
	statf(&c, dialect, st);
	return c.bad ? 0 : c.pos;
}

size_t p9_pack_dirent(uint8_t *buf, size_t cap, const Qid *qid, uint64_t offset,
                      uint8_t type, P9str name)
{
	Qid q = *qid;
	Cur c = { .out = buf, .len = cap };
	direntf(&c, &q, &offset, &type, &name);
	return c.bad ? 0 : c.pos;
}

size_t p9_unpack_dirent(const uint8_t *buf, size_t len, Qid *qid, uint64_t *offset,
                        uint8_t *type, P9str *name)
{
	Cur c = { .in = buf, .len = len };
	*qid = (Qid){ 0 };
	*offset = 0;
	*type = 0;
	*name = (P9str){ 0 };
	direntf(&c, qid, offset, type, name);
	return c.bad ? 0 : c.pos;
}

P9str p9_str(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	/* A longer string cannot be sent; truncating silently would change its
	 * meaning, so make it unencodable instead (NULL with n > 0). */
	if (n > 0xffff)
		return (P9str){ NULL, 0xffff };
	return (P9str){ s, (uint16_t)n };
}
