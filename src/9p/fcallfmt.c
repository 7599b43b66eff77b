/* One-line renderings of 9P messages for -debug traces, in the manner of
 * plan9port's fcallfmt: "Twalk tag 1 fid 0 newfid 1 nwname 2 0:jobs 1:x".
 * String fields are quoted; walk elements are bare unless they need quoting;
 * all-ones values (NOFID, NONUNAME, "don't touch" wstat fields) print as ~0. */
#include <stdarg.h>
#include <stdio.h>

#include "9p/fcall.h"

enum { DATA_PREFIX = 32 };   /* bytes of Rread/Twrite data shown */

static const char *const names[256] = {
	[Rlerror] = "Rlerror",
	[Tstatfs] = "Tstatfs", [Rstatfs] = "Rstatfs",
	[Tlopen] = "Tlopen", [Rlopen] = "Rlopen",
	[Tlcreate] = "Tlcreate", [Rlcreate] = "Rlcreate",
	[Tsymlink] = "Tsymlink", [Rsymlink] = "Rsymlink",
	[Tmknod] = "Tmknod", [Rmknod] = "Rmknod",
	[Trename] = "Trename", [Rrename] = "Rrename",
	[Treadlink] = "Treadlink", [Rreadlink] = "Rreadlink",
	[Tgetattr] = "Tgetattr", [Rgetattr] = "Rgetattr",
	[Tsetattr] = "Tsetattr", [Rsetattr] = "Rsetattr",
	[Txattrwalk] = "Txattrwalk", [Rxattrwalk] = "Rxattrwalk",
	[Txattrcreate] = "Txattrcreate", [Rxattrcreate] = "Rxattrcreate",
	[Treaddir] = "Treaddir", [Rreaddir] = "Rreaddir",
	[Tfsync] = "Tfsync", [Rfsync] = "Rfsync",
	[Tlock] = "Tlock", [Rlock] = "Rlock",
	[Tgetlock] = "Tgetlock", [Rgetlock] = "Rgetlock",
	[Tlink] = "Tlink", [Rlink] = "Rlink",
	[Tmkdir] = "Tmkdir", [Rmkdir] = "Rmkdir",
	[Trenameat] = "Trenameat", [Rrenameat] = "Rrenameat",
	[Tunlinkat] = "Tunlinkat", [Runlinkat] = "Runlinkat",
	[Tversion] = "Tversion", [Rversion] = "Rversion",
	[Tauth] = "Tauth", [Rauth] = "Rauth",
	[Tattach] = "Tattach", [Rattach] = "Rattach",
	[Rerror] = "Rerror",
	[Tflush] = "Tflush", [Rflush] = "Rflush",
	[Twalk] = "Twalk", [Rwalk] = "Rwalk",
	[Topen] = "Topen", [Ropen] = "Ropen",
	[Tcreate] = "Tcreate", [Rcreate] = "Rcreate",
	[Tread] = "Tread", [Rread] = "Rread",
	[Twrite] = "Twrite", [Rwrite] = "Rwrite",
	[Tclunk] = "Tclunk", [Rclunk] = "Rclunk",
	[Tremove] = "Tremove", [Rremove] = "Rremove",
	[Tstat] = "Tstat", [Rstat] = "Rstat",
	[Twstat] = "Twstat", [Rwstat] = "Rwstat",
};

const char *p9_typename(uint8_t type)
{
	return names[type];
}

/* An appender that truncates silently and keeps out NUL-terminated. */
typedef struct Out {
	char *buf;
	size_t cap, len;
} Out;

__attribute__((format(printf, 2, 3)))
static void put(Out *o, const char *fmt, ...)
{
	if (o->len + 1 >= o->cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	o->len += (size_t)k;
	if (o->len >= o->cap)
		o->len = o->cap - 1;
}

static void escaped(Out *o, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t ch = p[i];
		if (ch == '\'' || ch == '\\')
			put(o, "\\%c", ch);
		else if (ch == '\n')
			put(o, "\\n");
		else if (ch == '\t')
			put(o, "\\t");
		else if (ch >= 0x20 && ch < 0x7f)
			put(o, "%c", ch);
		else
			put(o, "\\x%02x", ch);
	}
}

static void str(Out *o, const char *label, P9str s)
{
	put(o, " %s '", label);
	escaped(o, (const uint8_t *)s.s, s.s ? s.n : 0);
	put(o, "'");
}

/* A walk element is shown bare when nothing in it could be misread. */
static void elem(Out *o, P9str s)
{
	int bare = s.n > 0 && s.s;
	for (size_t i = 0; bare && i < s.n; i++) {
		uint8_t ch = (uint8_t)s.s[i];
		bare = ch > 0x20 && ch < 0x7f && ch != '\'' && ch != '\\';
	}
	if (bare) {
		put(o, "%.*s", (int)s.n, s.s);
	} else {
		put(o, "'");
		escaped(o, (const uint8_t *)s.s, s.s ? s.n : 0);
		put(o, "'");
	}
}

static void u32v(Out *o, const char *label, uint32_t v)
{
	if (v == 0xffffffffu)
		put(o, " %s ~0", label);
	else
		put(o, " %s %u", label, v);
}

static void u64v(Out *o, const char *label, uint64_t v)
{
	if (v == UINT64_MAX)
		put(o, " %s ~0", label);
	else
		put(o, " %s %llu", label, (unsigned long long)v);
}

static void octal(Out *o, const char *label, uint32_t v)
{
	put(o, " %s 0%o", label, v);
}

static void qid(Out *o, const char *label, const Qid *q)
{
	char t[8];
	size_t k = 0;
	if (q->type & QTDIR)
		t[k++] = 'd';
	if (q->type & QTAPPEND)
		t[k++] = 'a';
	if (q->type & QTEXCL)
		t[k++] = 'l';
	if (q->type & QTAUTH)
		t[k++] = 'A';
	t[k] = '\0';
	put(o, " %s(%016llx %u %s)", label, (unsigned long long)q->path, q->vers, t);
}

/* 9P2000 permissions as ls(1) would show them, with the DM flags in front. */
static void dirmode(Out *o, const char *label, uint32_t m)
{
	if (m == 0xffffffffu) {
		put(o, " %s ~0", label);
		return;
	}
	char b[16];
	size_t k = 0;
	if (m & DMDIR)
		b[k++] = 'd';
	if (m & DMAPPEND)
		b[k++] = 'a';
	if (m & DMAUTH)
		b[k++] = 'A';
	if (m & DMEXCL)
		b[k++] = 'l';
	if (k == 0)
		b[k++] = '-';
	for (int i = 8; i >= 0; i--)
		b[k++] = (m >> i) & 1 ? "xwr"[i % 3] : '-';
	b[k] = '\0';
	put(o, " %s %s", label, b);
}

static void data(Out *o, uint32_t count, const uint8_t *d)
{
	put(o, " count %u", count);
	if (count == 0 || d == NULL)
		return;
	put(o, " '");
	escaped(o, d, count < DATA_PREFIX ? count : DATA_PREFIX);
	put(o, count > DATA_PREFIX ? "'..." : "'");
}

static void statfmt(Out *o, int dialect, const P9stat *st)
{
	str(o, "name", st->name);
	str(o, "uid", st->uid);
	str(o, "gid", st->gid);
	str(o, "muid", st->muid);
	qid(o, "qid ", &st->qid);
	dirmode(o, "mode", st->mode);
	u32v(o, "atime", st->atime);
	u32v(o, "mtime", st->mtime);
	u64v(o, "length", st->length);
	if (st->type == 0xffff)
		put(o, " type ~0");
	else
		put(o, " type %u", st->type);
	u32v(o, "dev", st->dev);
	if (dialect != P9_2000) {
		str(o, "extension", st->extension);
		u32v(o, "n_uid", st->n_uid);
		u32v(o, "n_gid", st->n_gid);
		u32v(o, "n_muid", st->n_muid);
	}
}

static void lockfmt(Out *o, const Fcall *f, int with_flags)
{
	put(o, " type %u", f->lock.type);
	if (with_flags)
		put(o, " flags %#x", f->flags);
	u64v(o, "start", f->lock.start);
	u64v(o, "length", f->lock.length);
	u32v(o, "proc_id", f->lock.proc_id);
	str(o, "client_id", f->lock.client_id);
}

static void timefmt(Out *o, const char *label, uint64_t sec, uint64_t nsec)
{
	put(o, " %s %llu.%09llu", label, (unsigned long long)sec, (unsigned long long)nsec);
}

void p9_fmt(char *out, size_t n, int dialect, const Fcall *f)
{
	if (n == 0)
		return;
	Out o = { out, n, 0 };
	out[0] = '\0';
	int ext = dialect != P9_2000;
	const char *name = p9_typename(f->type);
	if (name == NULL) {
		put(&o, "unknown type %u tag %u", f->type, f->tag);
		return;
	}
	if (f->tag == P9_NOTAG)
		put(&o, "%s tag ~0", name);
	else
		put(&o, "%s tag %u", name, f->tag);

	const P9attr *a = &f->attr;
	const P9setattr *s = &f->setattr;
	switch (f->type) {
	case Tversion:
	case Rversion:
		put(&o, " msize %u", f->msize);
		str(&o, "version", f->version);
		break;
	case Tauth:
	case Tattach:
		if (f->type == Tattach)
			u32v(&o, "fid", f->fid);
		u32v(&o, "afid", f->afid);
		str(&o, "uname", f->uname);
		str(&o, "aname", f->aname);
		if (ext)
			u32v(&o, "n_uname", f->n_uname);
		break;
	case Rauth:
	case Rattach:
	case Rsymlink:
	case Rmknod:
	case Rmkdir:
		qid(&o, "qid ", &f->qid);
		break;
	case Rerror:
		str(&o, "ename", f->ename);
		if (ext)
			put(&o, " ecode %u", f->ecode);
		break;
	case Rlerror:
		put(&o, " ecode %u", f->ecode);
		break;
	case Tflush:
		put(&o, " oldtag %u", f->oldtag);
		break;
	case Twalk:
		u32v(&o, "fid", f->fid);
		u32v(&o, "newfid", f->newfid);
		put(&o, " nwname %u", f->nwname);
		for (int i = 0; i < f->nwname && i < P9_MAXWELEM; i++) {
			put(&o, " %d:", i);
			elem(&o, f->wname[i]);
		}
		break;
	case Rwalk:
		put(&o, " nwqid %u", f->nwqid);
		for (int i = 0; i < f->nwqid && i < P9_MAXWELEM; i++) {
			char label[16];
			snprintf(label, sizeof label, "%d:", i);
			qid(&o, label, &f->wqid[i]);
		}
		break;
	case Topen:
		u32v(&o, "fid", f->fid);
		put(&o, " mode %u", f->mode);
		break;
	case Ropen:
	case Rcreate:
	case Rlopen:
	case Rlcreate:
		qid(&o, "qid ", &f->qid);
		put(&o, " iounit %u", f->iounit);
		break;
	case Tcreate:
		u32v(&o, "fid", f->fid);
		str(&o, "name", f->name);
		dirmode(&o, "perm", f->perm);
		put(&o, " mode %u", f->mode);
		if (ext)
			str(&o, "extension", f->extension);
		break;
	case Tread:
	case Treaddir:
		u32v(&o, "fid", f->fid);
		put(&o, " offset %llu count %u", (unsigned long long)f->offset, f->count);
		break;
	case Rread:
	case Rreaddir:
		data(&o, f->count, f->data);
		break;
	case Twrite:
		u32v(&o, "fid", f->fid);
		put(&o, " offset %llu", (unsigned long long)f->offset);
		data(&o, f->count, f->data);
		break;
	case Rwrite:
		put(&o, " count %u", f->count);
		break;
	case Tclunk:
	case Tremove:
	case Tstat:
	case Tstatfs:
	case Treadlink:
		u32v(&o, "fid", f->fid);
		break;
	case Rstat:
		statfmt(&o, dialect, &f->stat);
		break;
	case Twstat:
		u32v(&o, "fid", f->fid);
		statfmt(&o, dialect, &f->stat);
		break;
	case Rstatfs:
		put(&o, " type %#x bsize %u blocks %llu bfree %llu bavail %llu files %llu"
		        " ffree %llu fsid %llu namelen %u",
		    f->statfs.type, f->statfs.bsize, (unsigned long long)f->statfs.blocks,
		    (unsigned long long)f->statfs.bfree, (unsigned long long)f->statfs.bavail,
		    (unsigned long long)f->statfs.files, (unsigned long long)f->statfs.ffree,
		    (unsigned long long)f->statfs.fsid, f->statfs.namelen);
		break;
	case Tlopen:
		u32v(&o, "fid", f->fid);
		octal(&o, "flags", f->flags);
		break;
	case Tlcreate:
		u32v(&o, "fid", f->fid);
		str(&o, "name", f->name);
		octal(&o, "flags", f->flags);
		octal(&o, "mode", f->lmode);
		u32v(&o, "gid", f->gid);
		break;
	case Tsymlink:
		u32v(&o, "fid", f->fid);
		str(&o, "name", f->name);
		str(&o, "symtgt", f->symtgt);
		u32v(&o, "gid", f->gid);
		break;
	case Tmknod:
		u32v(&o, "dfid", f->dfid);
		str(&o, "name", f->name);
		octal(&o, "mode", f->lmode);
		put(&o, " major %u minor %u", f->major, f->minor);
		u32v(&o, "gid", f->gid);
		break;
	case Trename:
		u32v(&o, "fid", f->fid);
		u32v(&o, "dfid", f->dfid);
		str(&o, "name", f->name);
		break;
	case Rreadlink:
		str(&o, "target", f->symtgt);
		break;
	case Tgetattr:
		u32v(&o, "fid", f->fid);
		put(&o, " request_mask %#llx", (unsigned long long)f->request_mask);
		break;
	case Rgetattr:
		put(&o, " valid %#llx", (unsigned long long)a->valid);
		qid(&o, "qid ", &a->qid);
		octal(&o, "mode", a->mode);
		u32v(&o, "uid", a->uid);
		u32v(&o, "gid", a->gid);
		u64v(&o, "nlink", a->nlink);
		u64v(&o, "rdev", a->rdev);
		u64v(&o, "size", a->size);
		u64v(&o, "blksize", a->blksize);
		u64v(&o, "blocks", a->blocks);
		timefmt(&o, "atime", a->atime_sec, a->atime_nsec);
		timefmt(&o, "mtime", a->mtime_sec, a->mtime_nsec);
		timefmt(&o, "ctime", a->ctime_sec, a->ctime_nsec);
		timefmt(&o, "btime", a->btime_sec, a->btime_nsec);
		u64v(&o, "gen", a->gen);
		u64v(&o, "data_version", a->data_version);
		break;
	case Tsetattr:
		u32v(&o, "fid", f->fid);
		put(&o, " valid %#x", s->valid);
		octal(&o, "mode", s->mode);
		u32v(&o, "uid", s->uid);
		u32v(&o, "gid", s->gid);
		u64v(&o, "size", s->size);
		timefmt(&o, "atime", s->atime_sec, s->atime_nsec);
		timefmt(&o, "mtime", s->mtime_sec, s->mtime_nsec);
		break;
	case Txattrwalk:
		u32v(&o, "fid", f->fid);
		u32v(&o, "newfid", f->newfid);
		str(&o, "name", f->name);
		break;
	case Rxattrwalk:
		u64v(&o, "size", f->xattr_size);
		break;
	case Txattrcreate:
		u32v(&o, "fid", f->fid);
		str(&o, "name", f->name);
		u64v(&o, "size", f->xattr_size);
		put(&o, " flags %#x", f->flags);
		break;
	case Tfsync:
		u32v(&o, "fid", f->fid);
		put(&o, " datasync %u", f->datasync);
		break;
	case Tlock:
	case Tgetlock:
		u32v(&o, "fid", f->fid);
		lockfmt(&o, f, f->type == Tlock);
		break;
	case Rgetlock:
		lockfmt(&o, f, 0);
		break;
	case Rlock:
		put(&o, " status %u", f->lock_status);
		break;
	case Tlink:
		u32v(&o, "dfid", f->dfid);
		u32v(&o, "fid", f->fid);
		str(&o, "name", f->name);
		break;
	case Tmkdir:
		u32v(&o, "dfid", f->dfid);
		str(&o, "name", f->name);
		octal(&o, "mode", f->lmode);
		u32v(&o, "gid", f->gid);
		break;
	case Trenameat:
		u32v(&o, "olddirfid", f->dfid);
		str(&o, "oldname", f->name);
		u32v(&o, "newdirfid", f->newdfid);
		str(&o, "newname", f->newname);
		break;
	case Tunlinkat:
		u32v(&o, "dirfd", f->dfid);
		str(&o, "name", f->name);
		put(&o, " flags %#x", f->flags);
		break;
	default:
		break;   /* replies with empty bodies */
	}
}
