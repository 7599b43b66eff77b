/* The 9P codec. Every message is described once, as a layout in p9_msgs
 * (fields in wire order, each with its place in the Fcall); one interpreter,
 * fields(), walks a layout on a cursor that either decodes (c->in) or
 * encodes (c->out), so pack and unpack cannot disagree about a layout, and
 * p9_fmt (fcallfmt.c) renders the same fields.
 *
 * The cursor's `bad` flag is sticky: the first overrun or malformed field sets
 * it, every later operation becomes a no-op, and the callers check it once at
 * the end. Nothing here allocates; decoded strings and data point into the
 * caller's buffer. Encoding only reads the values it is given. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "9p/fcall_int.h"

/* ---- layouts ---- */

/* K_TIME codes a seconds field and the nanoseconds field after it. */
#define ADJACENT(type, a, b) _Static_assert(offsetof(type, b) == offsetof(type, a) + 8, #b)
ADJACENT(P9attr, atime_sec, atime_nsec);
ADJACENT(P9attr, mtime_sec, mtime_nsec);
ADJACENT(P9attr, ctime_sec, ctime_nsec);
ADJACENT(P9attr, btime_sec, btime_nsec);
ADJACENT(P9setattr, atime_sec, atime_nsec);
ADJACENT(P9setattr, mtime_sec, mtime_nsec);

#define O(field) ((uint16_t)offsetof(Fcall, field))
#define S(field) ((uint16_t)offsetof(P9stat, field))
#define END { K_END, 0, 0, NULL }
#define FID { K_U32, SHOW_ID, O(fid), "fid" }
#define NEWFID { K_U32, SHOW_ID, O(newfid), "newfid" }
#define DFID { K_U32, SHOW_ID, O(dfid), "dfid" }
#define GID { K_U32, SHOW_ID, O(gid), "gid" }
#define NAME { K_STR, 0, O(name), "name" }
#define QID { K_QID, 0, O(qid), "qid" }
#define LMODE { K_U32, SHOW_OCT, O(lmode), "mode" }

const Field p9_stat_fields[] = {
	{ K_U16, SHOW_ID, S(type), "type" },
	{ K_U32, SHOW_ID, S(dev), "dev" },
	{ K_QID, 0, S(qid), "qid" },
	{ K_U32, SHOW_MODE, S(mode), "mode" },
	{ K_U32, SHOW_ID, S(atime), "atime" },
	{ K_U32, SHOW_ID, S(mtime), "mtime" },
	{ K_U64, SHOW_ID, S(length), "length" },
	{ K_STR, 0, S(name), "name" },
	{ K_STR, 0, S(uid), "uid" },
	{ K_STR, 0, S(gid), "gid" },
	{ K_STR, 0, S(muid), "muid" },
	{ K_EXTSTR, 0, S(extension), "extension" },
	{ K_EXT32, SHOW_ID, S(n_uid), "n_uid" },
	{ K_EXT32, SHOW_ID, S(n_gid), "n_gid" },
	{ K_EXT32, SHOW_ID, S(n_muid), "n_muid" },
	END,
};

static const Field none[] = { END };
static const Field version[] = {
	{ K_U32, SHOW_NUM, O(msize), "msize" }, { K_STR, 0, O(version), "version" }, END,
};
static const Field tauth[] = {
	{ K_U32, SHOW_ID, O(afid), "afid" }, { K_STR, 0, O(uname), "uname" },
	{ K_STR, 0, O(aname), "aname" }, { K_EXT32, SHOW_ID, O(n_uname), "n_uname" }, END,
};
static const Field tattach[] = {
	FID, { K_U32, SHOW_ID, O(afid), "afid" }, { K_STR, 0, O(uname), "uname" },
	{ K_STR, 0, O(aname), "aname" }, { K_EXT32, SHOW_ID, O(n_uname), "n_uname" }, END,
};
static const Field qid[] = { QID, END };
static const Field rerror[] = {
	{ K_STR, 0, O(ename), "ename" }, { K_EXT32Z, SHOW_NUM, O(ecode), "ecode" }, END,
};
static const Field rlerror[] = { { K_U32, SHOW_NUM, O(ecode), "ecode" }, END };
static const Field tflush[] = { { K_U16, SHOW_NUM, O(oldtag), "oldtag" }, END };
static const Field twalk[] = { FID, NEWFID, { K_WNAMES, 0, O(wname), "nwname" }, END };
static const Field rwalk[] = { { K_WQIDS, 0, O(wqid), "nwqid" }, END };
static const Field topen[] = { FID, { K_U8, SHOW_NUM, O(mode), "mode" }, END };
static const Field ropen[] = { QID, { K_U32, SHOW_NUM, O(iounit), "iounit" }, END };
static const Field tcreate[] = {
	FID, NAME, { K_U32, SHOW_MODE, O(perm), "perm" }, { K_U8, SHOW_NUM, O(mode), "mode" },
	{ K_EXTSTR, 0, O(extension), "extension" }, END,
};
static const Field tread[] = {
	FID, { K_U64, SHOW_NUM, O(offset), "offset" }, { K_U32, SHOW_NUM, O(count), "count" }, END,
};
static const Field rread[] = { { K_DATA, 0, O(data), "count" }, END };
static const Field twrite[] = {
	FID, { K_U64, SHOW_NUM, O(offset), "offset" }, { K_DATA, 0, O(data), "count" }, END,
};
static const Field rwrite[] = { { K_U32, SHOW_NUM, O(count), "count" }, END };
static const Field fid[] = { FID, END };
static const Field rstat[] = { { K_STAT, 0, O(stat), "stat" }, END };
static const Field twstat[] = { FID, { K_STAT, 0, O(stat), "stat" }, END };
static const Field rstatfs[] = {
	{ K_U32, SHOW_HEX, O(statfs.type), "type" },
	{ K_U32, SHOW_NUM, O(statfs.bsize), "bsize" },
	{ K_U64, SHOW_NUM, O(statfs.blocks), "blocks" },
	{ K_U64, SHOW_NUM, O(statfs.bfree), "bfree" },
	{ K_U64, SHOW_NUM, O(statfs.bavail), "bavail" },
	{ K_U64, SHOW_NUM, O(statfs.files), "files" },
	{ K_U64, SHOW_NUM, O(statfs.ffree), "ffree" },
	{ K_U64, SHOW_NUM, O(statfs.fsid), "fsid" },
	{ K_U32, SHOW_NUM, O(statfs.namelen), "namelen" },
	END,
};
static const Field tlopen[] = { FID, { K_U32, SHOW_OCT, O(flags), "flags" }, END };
static const Field tlcreate[] = {
	FID, NAME, { K_U32, SHOW_OCT, O(flags), "flags" }, LMODE, GID, END,
};
static const Field tsymlink[] = { FID, NAME, { K_STR, 0, O(symtgt), "symtgt" }, GID, END };
static const Field tmknod[] = {
	DFID, NAME, LMODE, { K_U32, SHOW_NUM, O(major), "major" },
	{ K_U32, SHOW_NUM, O(minor), "minor" }, GID, END,
};
static const Field trename[] = { FID, DFID, NAME, END };
static const Field rreadlink[] = { { K_STR, 0, O(symtgt), "target" }, END };
static const Field tgetattr[] = {
	FID, { K_U64, SHOW_HEX, O(request_mask), "request_mask" }, END,
};
static const Field rgetattr[] = {
	{ K_U64, SHOW_HEX, O(attr.valid), "valid" },
	{ K_QID, 0, O(attr.qid), "qid" },
	{ K_U32, SHOW_OCT, O(attr.mode), "mode" },
	{ K_U32, SHOW_ID, O(attr.uid), "uid" },
	{ K_U32, SHOW_ID, O(attr.gid), "gid" },
	{ K_U64, SHOW_ID, O(attr.nlink), "nlink" },
	{ K_U64, SHOW_ID, O(attr.rdev), "rdev" },
	{ K_U64, SHOW_ID, O(attr.size), "size" },
	{ K_U64, SHOW_ID, O(attr.blksize), "blksize" },
	{ K_U64, SHOW_ID, O(attr.blocks), "blocks" },
	{ K_TIME, 0, O(attr.atime_sec), "atime" },
	{ K_TIME, 0, O(attr.mtime_sec), "mtime" },
	{ K_TIME, 0, O(attr.ctime_sec), "ctime" },
	{ K_TIME, 0, O(attr.btime_sec), "btime" },
	{ K_U64, SHOW_ID, O(attr.gen), "gen" },
	{ K_U64, SHOW_ID, O(attr.data_version), "data_version" },
	END,
};
static const Field tsetattr[] = {
	FID,
	{ K_U32, SHOW_HEX, O(setattr.valid), "valid" },
	{ K_U32, SHOW_OCT, O(setattr.mode), "mode" },
	{ K_U32, SHOW_ID, O(setattr.uid), "uid" },
	{ K_U32, SHOW_ID, O(setattr.gid), "gid" },
	{ K_U64, SHOW_ID, O(setattr.size), "size" },
	{ K_TIME, 0, O(setattr.atime_sec), "atime" },
	{ K_TIME, 0, O(setattr.mtime_sec), "mtime" },
	END,
};
static const Field txattrwalk[] = { FID, NEWFID, NAME, END };
static const Field rxattrwalk[] = { { K_U64, SHOW_ID, O(xattr_size), "size" }, END };
static const Field txattrcreate[] = {
	FID, NAME, { K_U64, SHOW_ID, O(xattr_size), "size" }, { K_U32, SHOW_HEX, O(flags), "flags" },
	END,
};
static const Field tfsync[] = { FID, { K_U32, SHOW_NUM, O(datasync), "datasync" }, END };
#define LOCK_TYPE { K_U8, SHOW_NUM, O(lock.type), "type" }
#define LOCK_RANGE { K_U64, SHOW_ID, O(lock.start), "start" }, \
	{ K_U64, SHOW_ID, O(lock.length), "length" }, \
	{ K_U32, SHOW_ID, O(lock.proc_id), "proc_id" }, { K_STR, 0, O(lock.client_id), "client_id" }
static const Field tlock[] = {
	FID, LOCK_TYPE, { K_U32, SHOW_HEX, O(flags), "flags" }, LOCK_RANGE, END,
};
static const Field rlock[] = { { K_U8, SHOW_NUM, O(lock_status), "status" }, END };
static const Field tgetlock[] = { FID, LOCK_TYPE, LOCK_RANGE, END };
static const Field rgetlock[] = { LOCK_TYPE, LOCK_RANGE, END };
static const Field tlink[] = { DFID, FID, NAME, END };
static const Field tmkdir[] = { DFID, NAME, LMODE, GID, END };
static const Field trenameat[] = {
	{ K_U32, SHOW_ID, O(dfid), "olddirfid" }, { K_STR, 0, O(name), "oldname" },
	{ K_U32, SHOW_ID, O(newdfid), "newdirfid" }, { K_STR, 0, O(newname), "newname" }, END,
};
static const Field tunlinkat[] = {
	{ K_U32, SHOW_ID, O(dfid), "dirfd" }, NAME, { K_U32, SHOW_HEX, O(flags), "flags" }, END,
};

/* Each message type, its name spelled as its constant. Terror and Tlerror,
 * which the manuals reserve but nobody sends, are not messages. The ".u" fields (n_uname, Rerror's errno, Tcreate's extension,
 * the stat extension) are coded in 9P2000.L too, as the Linux client does. */
#define MSG(type, layout) [type] = { #type, layout }
const Msg p9_msgs[256] = {
	/* 9P2000 and its .u extensions */
	MSG(Tversion, version),
	MSG(Rversion, version),
	MSG(Tauth, tauth),
	MSG(Rauth, qid),
	MSG(Tattach, tattach),
	MSG(Rattach, qid),
	MSG(Rerror, rerror),
	MSG(Tflush, tflush),
	MSG(Rflush, none),
	MSG(Twalk, twalk),
	MSG(Rwalk, rwalk),
	MSG(Topen, topen),
	MSG(Ropen, ropen),
	MSG(Tcreate, tcreate),
	MSG(Rcreate, ropen),
	MSG(Tread, tread),
	MSG(Rread, rread),
	MSG(Twrite, twrite),
	MSG(Rwrite, rwrite),
	MSG(Tclunk, fid),
	MSG(Rclunk, none),
	MSG(Tremove, fid),
	MSG(Rremove, none),
	MSG(Tstat, fid),
	MSG(Rstat, rstat),
	MSG(Twstat, twstat),
	MSG(Rwstat, none),
	/* 9P2000.L */
	MSG(Rlerror, rlerror),
	MSG(Tstatfs, fid),
	MSG(Rstatfs, rstatfs),
	MSG(Tlopen, tlopen),
	MSG(Rlopen, ropen),
	MSG(Tlcreate, tlcreate),
	MSG(Rlcreate, ropen),
	MSG(Tsymlink, tsymlink),
	MSG(Rsymlink, qid),
	MSG(Tmknod, tmknod),
	MSG(Rmknod, qid),
	MSG(Trename, trename),
	MSG(Rrename, none),
	MSG(Treadlink, fid),
	MSG(Rreadlink, rreadlink),
	MSG(Tgetattr, tgetattr),
	MSG(Rgetattr, rgetattr),
	MSG(Tsetattr, tsetattr),
	MSG(Rsetattr, none),
	MSG(Txattrwalk, txattrwalk),
	MSG(Rxattrwalk, rxattrwalk),
	MSG(Txattrcreate, txattrcreate),
	MSG(Rxattrcreate, none),
	MSG(Treaddir, tread),
	MSG(Rreaddir, rread),
	MSG(Tfsync, tfsync),
	MSG(Rfsync, none),
	MSG(Tlock, tlock),
	MSG(Rlock, rlock),
	MSG(Tgetlock, tgetlock),
	MSG(Rgetlock, rgetlock),
	MSG(Tlink, tlink),
	MSG(Rlink, none),
	MSG(Tmkdir, tmkdir),
	MSG(Rmkdir, qid),
	MSG(Trenameat, trenameat),
	MSG(Rrenameat, none),
	MSG(Tunlinkat, tunlinkat),
	MSG(Runlinkat, none),
};

/* ---- the cursor ---- */

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
static inline void num(Cur *c, uint64_t *v, int size)
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

/* Each operation takes a pointer to its value: encoding reads it, decoding
 * (only) writes it. */
static void u8f(Cur *c, uint8_t *v)
{
	uint64_t x = *v;
	num(c, &x, 1);
	if (!c->out)
		*v = (uint8_t)x;
}

static void u16f(Cur *c, uint16_t *v)
{
	uint64_t x = *v;
	num(c, &x, 2);
	if (!c->out)
		*v = (uint16_t)x;
}

static void u32f(Cur *c, uint32_t *v)
{
	uint64_t x = *v;
	num(c, &x, 4);
	if (!c->out)
		*v = (uint32_t)x;
}

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

/* A count of walk elements: at most 16. */
static void countf(Cur *c, uint16_t *n)
{
	u16f(c, n);
	if (*n > P9_MAXWELEM)
		c->bad = 1;
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

static void fields(Cur *c, int dialect, const Field *fl, void *base);

/* One stat record, its own size[2] included. In 9P2000.L the .u extension is
 * present, as in Linux's codec, though .L clients never ask for stat. */
static void statf(Cur *c, int dialect, P9stat *st)
{
	uint16_t size;
	size_t at = region_begin(c, &size);
	fields(c, dialect, p9_stat_fields, st);
	region_end(c, at, size);
}

/* Codes the fields of layout fl, whose values are at base (an Fcall, or a
 * P9stat for a stat record's). The cost of a message is a loop over its
 * few fields; nothing is copied but strings and data on encoding. */
static void fields(Cur *c, int dialect, const Field *fl, void *base)
{
	int ext = dialect != P9_2000;
	for (; fl->kind != K_END && !c->bad; fl++) {
		void *v = (char *)base + fl->off;
		Fcall *f = base;
		switch (fl->kind) {
		case K_U8: u8f(c, v); break;
		case K_U16: u16f(c, v); break;
		case K_U32: u32f(c, v); break;
		case K_U64: u64f(c, v); break;
		case K_EXT32:
		case K_EXT32Z:
			if (ext)
				u32f(c, v);
			else if (!c->out)
				*(uint32_t *)v = fl->kind == K_EXT32 ? P9_NONUNAME : 0;
			break;
		case K_STR: strf(c, v); break;
		case K_EXTSTR:
			if (ext)
				strf(c, v);
			break;
		case K_QID: qidf(c, v); break;
		case K_TIME:
			u64f(c, v);
			u64f(c, (uint64_t *)v + 1);
			break;
		case K_DATA:
			u32f(c, &f->count);
			bytesf(c, &f->data, f->count);
			break;
		case K_WNAMES:
			countf(c, &f->nwname);
			for (int i = 0; i < f->nwname && !c->bad; i++)
				strf(c, &f->wname[i]);
			break;
		case K_WQIDS:
			countf(c, &f->nwqid);
			for (int i = 0; i < f->nwqid && !c->bad; i++)
				qidf(c, &f->wqid[i]);
			break;
		case K_STAT: {
			/* Rstat and Twstat wrap the record in a second length, n[2] = size + 2. */
			uint16_t n;
			size_t at = region_begin(c, &n);
			statf(c, dialect, v);
			region_end(c, at, n);
			break;
		}
		}
	}
}

/* ---- messages ---- */

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
	const Field *fl = p9_msgs[f->type].fields;
	if (!fl)
		return -EPROTO;
	fields(&c, dialect, fl, f);
	if (c.bad || c.pos != len)
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
	const Field *fl = p9_msgs[f->type].fields;
	if (!fl)
		return 0;
	Cur c = { .out = buf, .len = frame_cap(cap) };
	uint32_t size = 0;
	uint8_t type = f->type;
	uint16_t tag = f->tag;
	u32f(&c, &size);
	u8f(&c, &type);
	u16f(&c, &tag);
	/* Encoding only reads the Fcall (every operation writes its value only
	 * when decoding), so dropping const here is safe. */
	fields(&c, dialect, fl, (Fcall *)f);
	if (c.bad)
		return 0;
	size = (uint32_t)c.pos;
	c.pos = 0;
	u32f(&c, &size);
	return size;
}

/* ---- stat records and dirents ---- */

size_t p9_pack_stat(uint8_t *buf, size_t cap, int dialect, const P9stat *st)
{
	Cur c = { .out = buf, .len = cap };
	statf(&c, dialect, (P9stat *)st);   /* read only, as in p9_pack */
	return c.bad ? 0 : c.pos;
}

size_t p9_unpack_stat(const uint8_t *buf, size_t len, int dialect, P9stat *st)
{
	memset(st, 0, sizeof *st);
	Cur c = { .in = buf, .len = len };
	statf(&c, dialect, st);
	return c.bad ? 0 : c.pos;
}

static void direntf(Cur *c, Qid *qid, uint64_t *offset, uint8_t *type, P9str *name)
{
	qidf(c, qid);
	u64f(c, offset);
	u8f(c, type);
	strf(c, name);
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

/* ---- names and strings ---- */

static const char *const dialect_names[] = {
	[P9_2000] = "9P2000", [P9_2000U] = "9P2000.u", [P9_2000L] = "9P2000.L",
};

const char *p9_dialect_name(int dialect)
{
	return dialect_names[dialect == P9_2000U || dialect == P9_2000L ? dialect : P9_2000];
}

int p9_dialect_parse(P9str v)
{
	for (int d = P9_2000L; d > P9_2000; d--)
		if (v.n == strlen(dialect_names[d]) && memcmp(v.s, dialect_names[d], v.n) == 0)
			return d;
	if (v.n >= 6 && memcmp(v.s, "9P2000", 6) == 0 && (v.n == 6 || v.s[6] == '.'))
		return P9_2000;
	return -1;
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
