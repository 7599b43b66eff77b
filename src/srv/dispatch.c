/* Per-message protocol checks and dispatch. The engine validates what 9P
 * itself defines (fid exists, not open twice, legal modes, counts within
 * msize, dialect) so the name space only decides meaning. Which fid a message
 * names and which dialect it belongs to is in one table, handlers[], at the
 * end: dispatch looks the fid up before any handler runs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <sys/stat.h>

#include "srv_int.h"
#include "util/log.h"
#include "util/util.h"

static Srv *S(Req *r) { return r->conn->srv; }

static int is_L(Req *r) { return r->conn->dialect == P9_2000L; }

/* Looks up fid; replies EBADF and returns NULL if it is unknown. */
static Fid *need_fid(Req *r, uint32_t fid)
{
	Fid *f = fid_lookup(r->conn, fid);
	if (!f)
		req_error(r, EBADF, "unknown fid");
	return f;
}

/* fid_new said no: the fid is taken, or the connection has as many as it may. */
static void fid_refused(Req *r, uint32_t fid, const char *inuse)
{
	char why[128];
	if (fid == P9_NOFID || fid_lookup(r->conn, fid)) {
		req_error(r, EBADF, fid == P9_NOFID ? "NOFID is not a fid" : inuse);
		return;
	}
	strfmt(why, sizeof why, "too many fids on this connection (the limit is %u); clunk some",
	       S(r)->cfg.max_fids);
	req_error(r, EMFILE, why);
}

/* ---- session ---- */

static void do_version(Req *r, Fid *unused)
{
	(void)unused;
	Conn *c = r->conn;
	const Fcall *t = &r->ifcall;
	/* Tversion aborts everything outstanding and clunks every fid. (Parked
	 * reads must not be marked flushed first: req_cancel_all and fid_destroy
	 * skip flushed requests, and one left parked would outlive its fid.) */
	req_cancel_all(c);
	fid_destroy_all(c);
	if (t->tag != P9_NOTAG)
		VLOG(3, "conn %u: Tversion with tag %u (should be NOTAG)", c->id, t->tag);
	if (t->msize < 256) {
		c->dialect = P9_2000;
		req_error(r, EINVAL, "msize too small");
		return;
	}
	uint32_t msize = t->msize < S(r)->cfg.max_msize ? t->msize : S(r)->cfg.max_msize;
	int d = p9_dialect_parse(t->version);
	r->ofcall.type = Rversion;
	r->ofcall.msize = msize;
	if (d < 0) {
		r->ofcall.version = p9_str("unknown");
		c->versioned = 0;
	} else {
		c->dialect = d;
		c->msize = msize;
		c->versioned = 1;
		r->ofcall.version = p9_str(p9_dialect_name(d));
		VLOG(3, "conn %u: %s msize %u", c->id, p9_dialect_name(d), msize);
	}
	req_respond(r);
}

static void do_auth(Req *r, Fid *unused)
{
	(void)unused;
	/* No 9P authentication: identity comes from the transport (see attach).
	 * diod's tools accept ENOENT here as "not required". */
	req_error(r, ENOENT, "authentication not required");
}

/* A root peer's attach names the user it acts for: n_uname (.u/.L, what
 * `mount -t 9p -o access=user` sends for each local user), else uname. */
static int believe_claim(Fid *f, char *why, size_t n)
{
	if (f->n_uname != P9_NONUNAME) {
		f->uid = f->n_uname;
		return 0;
	}
	if (!f->uname[0]) {
		f->uid = 0;
		return 0;
	}
	struct passwd *pw = getpwnam(f->uname);
	if (!pw) {
		strfmt(why, n, "unknown user '%s'", f->uname);
		return -EACCES;
	}
	f->uid = (uint32_t)pw->pw_uid;
	return 0;
}

/* Who a new fid acts as: always the kernel's word (see admit in srv.c), never
 * the client's. A peer the kernel names (SO_PEERCRED, or sock_diag on
 * loopback TCP) is that user whatever its attach says, except root (the
 * kernel's own 9p client, or root's process), whose attach names the user.
 * Another host's root, from a privileged port and inside a trusted network
 * (cfg->trust), names its users too, but not root: its uid 0 is squashed to
 * cfg->tcp_uid, as NFS's root_squash does. Every other host acts as
 * cfg->tcp_uid, by default no one (read-only, owning nothing).
 * cfg->tcp_readonly makes every TCP fid read-only. */
static int identify(Conn *c, Fid *f, char *why, size_t n)
{
	const Peer *p = &c->peer;
	const SrvConfig *cfg = &c->srv->cfg;
	f->readonly = !p->is_unix && cfg->tcp_readonly ? RO_TCPREADONLY : RO_NONE;
	if (p->has_cred) {
		if (p->uid != 0) {
			f->uid = p->uid;
			return 0;
		}
		return believe_claim(f, why, n);
	}
	if (p->is_unix) {
		strfmt(why, n, "cannot tell who is on the other end of the socket");
		return -EACCES;
	}
	if (p->trusted) {
		int rc = believe_claim(f, why, n);
		if (rc < 0 || f->uid != 0)
			return rc;
	}
	f->uid = cfg->tcp_uid;
	if (cfg->tcp_uid == SRV_NOUSER)
		f->readonly = RO_NOUSER;
	return 0;
}

static void do_attach(Req *r, Fid *unused)
{
	const Fcall *t = &r->ifcall;
	char why[256] = "";
	(void)unused;
	if (t->afid != P9_NOFID) {
		req_error(r, EINVAL, "authentication not required: use afid NOFID");
		return;
	}
	Fid *f = fid_new(r->conn, t->fid);
	if (!f) {
		fid_refused(r, t->fid, "fid in use");
		return;
	}
	size_t un = t->uname.n < sizeof f->uname - 1 ? t->uname.n : sizeof f->uname - 1;
	memcpy(f->uname, t->uname.s, un);
	f->uname[un] = 0;
	f->n_uname = r->conn->dialect == P9_2000 ? P9_NONUNAME : t->n_uname;
	int rc = identify(r->conn, f, why, sizeof why);
	if (rc < 0) {
		fid_destroy(r->conn, f);
		req_error(r, -rc, why);
		return;
	}
	char aname[256];
	size_t an = t->aname.n < sizeof aname - 1 ? t->aname.n : sizeof aname - 1;
	memcpy(aname, t->aname.s, an);
	aname[an] = 0;
	rc = S(r)->ops.attach(f, aname, why, sizeof why);
	if (rc < 0) {
		fid_destroy(r->conn, f);
		req_error(r, -rc, why);
		return;
	}
	conn_attached(r->conn);
	r->ofcall.qid = f->qid;
	req_respond(r);
}

static void do_flush(Req *r, Fid *unused)
{
	Conn *c = r->conn;
	(void)unused;
	for (Req *o = c->reqs; o; o = o->next) {
		if (o == r || o->ifcall.tag != r->ifcall.oldtag || o->responded)
			continue;
		/* Answer Rflush when o's reply (if any) has gone. */
		r->flushnext = o->flushers;
		o->flushers = r;
		if (!o->flushed) {
			o->flushed = 1;
			if (o->parked && S(r)->ops.flush)
				S(r)->ops.flush(o);
		}
		return;
	}
	req_respond(r);   /* nothing outstanding with that tag: done already */
}

/* ---- walking ---- */

/* The fid a walk moves: newfid, made here as a copy of f; f itself when it
 * walks in place through no names; or a scratch copy of f when it walks in
 * place, so that a walk that stops short leaves f where it was. NULL after
 * replying (newfid in use, or one fid too many). */
static Fid *walk_target(Req *r, Fid *f)
{
	const Fcall *t = &r->ifcall;
	Fid *nf;
	if (t->newfid != t->fid) {
		if (!(nf = fid_new(r->conn, t->newfid))) {
			fid_refused(r, t->newfid, "newfid in use");
			return NULL;
		}
		memcpy(nf->uname, f->uname, sizeof nf->uname);
		nf->n_uname = f->n_uname;
		nf->uid = f->uid;
		nf->readonly = f->readonly;
		nf->qid = f->qid;
	} else if (t->nwname > 0) {
		nf = xcalloc(1, sizeof *nf);
		*nf = *f;
		nf->aux = NULL;
		nf->hnext = NULL;
	} else {
		return f;
	}
	S(r)->ops.clone(f, nf);
	return nf;
}

/* Moves nf through the names, one step of the name space's walk1 each,
 * recording each qid in the reply. Returns how many names it walked; if
 * fewer than all, *err and why say why it stopped. */
static int walk_names(Req *r, Fid *nf, int *err, char *why, size_t n)
{
	const Fcall *t = &r->ifcall;
	int i;
	for (i = 0; i < t->nwname; i++) {
		const P9str *w = &t->wname[i];
		int rc;
		if (!(nf->qid.type & QTDIR)) {
			rc = -ENOTDIR;
			strfmt(why, n, "not a directory");
		} else if (memchr(w->s, '/', w->n) || w->n == 0) {
			rc = -ENOENT;
			strfmt(why, n, "bad name in walk");
		} else {
			rc = S(r)->ops.walk1(nf, w->s, w->n, why, n);
		}
		if (rc < 0) {
			*err = -rc;
			break;
		}
		r->ofcall.wqid[i] = nf->qid;
	}
	return i;
}

/* Ends the walk target: a new fid is forgotten, as walk(5) wants of one
 * whose walk stopped short; a scratch copy of f has served. */
static void walk_target_drop(Req *r, Fid *f, Fid *nf)
{
	if (nf == f)
		return;
	if (r->ifcall.newfid != r->ifcall.fid) {
		fid_destroy(r->conn, nf);
		return;
	}
	if (S(r)->ops.destroyfid)
		S(r)->ops.destroyfid(nf);
	free(nf);
}

/* A whole walk in place: f takes the scratch copy's position. */
static void walk_commit(Req *r, Fid *f, Fid *nf)
{
	if (S(r)->ops.destroyfid)
		S(r)->ops.destroyfid(f);
	f->qid = nf->qid;
	f->aux = nf->aux;
	free(nf);
}

static void do_walk(Req *r, Fid *f)
{
	const Fcall *t = &r->ifcall;
	/* walk(5) forbids walking an open fid; Linux-side clients (diodls -l)
	 * walk from an open directory into a new fid, which harms nothing. */
	if (f->omode != -1 && t->newfid == t->fid) {
		req_error(r, EBUSY, "cannot walk an open fid");
		return;
	}
	if (t->nwname > 0 && !(f->qid.type & QTDIR)) {
		req_error(r, ENOTDIR, "walk in a non-directory");
		return;
	}
	Fid *nf = walk_target(r, f);
	if (!nf)
		return;
	char why[256] = "";
	int err = 0, walked = walk_names(r, nf, &err, why, sizeof why);
	if (walked < t->nwname) {
		walk_target_drop(r, f, nf);
		/* Rwalk with the qids walked, or the error if the first step failed. */
		if (walked == 0) {
			req_error(r, err, why);
			return;
		}
	} else if (nf != f && t->newfid == t->fid) {
		walk_commit(r, f, nf);
	}
	r->ofcall.nwqid = (uint16_t)walked;
	req_respond(r);
}

/* ---- open, create ---- */

static void finish_open(Req *r, Fid *f, int omode)
{
	f->omode = omode & 3;
	if (f->omode == OEXEC)
		f->omode = OREAD;
	r->ofcall.qid = f->qid;
	r->ofcall.iounit = r->conn->msize - P9_IOHDRSZ;
	req_respond(r);
}

static void open_common(Req *r, Fid *f, int omode, int want_dir)
{
	char why[256] = "";
	if (f->omode != -1) {
		req_error(r, EBUSY, "fid already open");
		return;
	}
	if (want_dir && !(f->qid.type & QTDIR)) {
		req_error(r, ENOTDIR, "not a directory");
		return;
	}
	if ((f->qid.type & QTDIR) && ((omode & 3) != OREAD && (omode & 3) != OEXEC)) {
		req_error(r, EISDIR, "is a directory");
		return;
	}
	if (omode & ORCLOSE) {
		req_error(r, EPERM, "remove on close is not supported");
		return;
	}
	int rc = S(r)->ops.open(f, omode, why, sizeof why);
	if (rc < 0) {
		req_error(r, -rc, why);
		return;
	}
	finish_open(r, f, omode);
}

static void do_open(Req *r, Fid *f)
{
	int omode = r->ifcall.mode & (3 | OTRUNC | ORCLOSE);
	if (r->ifcall.mode & OAPPEND)
		f->append = 1;
	open_common(r, f, omode, 0);
}

static void do_lopen(Req *r, Fid *f)
{
	uint32_t fl = r->ifcall.flags;
	int omode = (int)(fl & P9_L_ACCMODE);
	if (omode == 3) {
		req_error(r, EINVAL, "bad open mode");
		return;
	}
	if (fl & P9_L_TRUNC)
		omode |= OTRUNC;
	if (fl & P9_L_APPEND)
		f->append = 1;
	/* O_CREAT on an existing file is just an open (the kernel sends it for "echo > f"). */
	open_common(r, f, omode, (fl & P9_L_DIRECTORY) != 0);
}

static void create_common(Req *r, Fid *f, P9str name, uint32_t perm, int omode, int open)
{
	char why[256] = "", cname[256];
	if (!(f->qid.type & QTDIR)) {
		req_error(r, ENOTDIR, "create in a non-directory");
		return;
	}
	if (open && f->omode != -1) {
		req_error(r, EBUSY, "fid already open");
		return;
	}
	if (name.n == 0 || name.n >= sizeof cname || memchr(name.s, '/', name.n) ||
	    memchr(name.s, 0, name.n) || (name.n == 1 && name.s[0] == '.') ||
	    (name.n == 2 && name.s[0] == '.' && name.s[1] == '.')) {
		req_error(r, EINVAL, "bad file name");
		return;
	}
	memcpy(cname, name.s, name.n);
	cname[name.n] = 0;
	if (!S(r)->ops.create) {
		req_error(r, EPERM, "cannot create files here");
		return;
	}
	if (!open) {
		/* Tmkdir: create through a scratch fid; the directory fid stays put. */
		Fid tmp = *f;
		tmp.aux = NULL;
		tmp.omode = -1;
		S(r)->ops.clone(f, &tmp);
		int rc = S(r)->ops.create(&tmp, cname, perm, OREAD, why, sizeof why);
		Qid q = tmp.qid;
		if (S(r)->ops.destroyfid)
			S(r)->ops.destroyfid(&tmp);
		if (rc < 0) {
			req_error(r, -rc, why);
			return;
		}
		r->ofcall.qid = q;
		req_respond(r);
		return;
	}
	int rc = S(r)->ops.create(f, cname, perm, omode, why, sizeof why);
	if (rc < 0) {
		req_error(r, -rc, why);
		return;
	}
	finish_open(r, f, omode);
}

static void do_create(Req *r, Fid *f)
{
	const Fcall *t = &r->ifcall;
	create_common(r, f, t->name, t->perm, t->mode & 3, 1);
}

static void do_lcreate(Req *r, Fid *f)
{
	const Fcall *t = &r->ifcall;
	create_common(r, f, t->name, t->lmode & 0777, (int)(t->flags & P9_L_ACCMODE), 1);
}

static void do_mkdir(Req *r, Fid *dir)
{
	const Fcall *t = &r->ifcall;
	create_common(r, dir, t->name, DMDIR | (t->lmode & 0777), OREAD, 0);
}

/* ---- read, write ---- */

static uint32_t clamp_count(Req *r, uint32_t count)
{
	uint32_t max = r->conn->msize - P9_IOHDRSZ;
	return count > max ? max : count;
}

/* 9P2000 / .u directory read: a byte stream of whole stat records. The offset
 * must be 0 (rewind) or where the previous read ended. */
static void fill_stat(const Dirinfo *d, P9stat *st);

static void read_dir_stats(Req *r, Fid *f)
{
	Fcall *t = &r->ifcall;
	if (t->offset == 0) {
		f->diroff = 0;
		f->dirindex = 0;
	} else if (t->offset != f->diroff) {
		req_error(r, EINVAL, "bad offset in directory read");
		return;
	}
	uint32_t count = clamp_count(r, t->count);
	uint8_t *out = xmalloc(count ? count : 1);
	size_t used = 0;
	Dirinfo d;
	for (;;) {
		int rc = S(r)->ops.dirent(f, f->dirindex, &d);
		if (rc == 0)
			break;
		if (rc < 0) {
			f->dirindex++;
			continue;
		}
		P9stat st;
		fill_stat(&d, &st);
		size_t n = p9_pack_stat(out + used, count - used, r->conn->dialect, &st);
		if (n == 0)
			break;
		used += n;
		f->dirindex++;
	}
	f->diroff += used;
	r->ofcall.count = (uint32_t)used;
	r->ofcall.data = out;
	req_respond(r);
	free(out);
}

static void do_read(Req *r, Fid *f)
{
	if (f->omode == -1 || f->omode == OWRITE) {
		req_error(r, EBADF, "fid not open for reading");
		return;
	}
	r->fid = f;
	if (f->qid.type & QTDIR) {
		if (is_L(r)) {
			req_error(r, EINVAL, "use Treaddir for directories");
			return;
		}
		read_dir_stats(r, f);
		return;
	}
	r->ifcall.count = clamp_count(r, r->ifcall.count);
	S(r)->ops.read(r);
}

static void do_readdir(Req *r, Fid *f)
{
	if (f->omode == -1 || !(f->qid.type & QTDIR)) {
		req_error(r, f->omode == -1 ? EBADF : ENOTDIR, "not an open directory");
		return;
	}
	/* Offsets are entry indices: 0 ".", 1 "..", then the name space's entries.
	 * Each dirent carries the index of the next one, so any reply boundary resumes. */
	uint32_t count = clamp_count(r, r->ifcall.count);
	uint8_t *out = xmalloc(count ? count : 1);
	size_t used = 0;
	for (uint64_t i = r->ifcall.offset;; i++) {
		Dirinfo d;
		P9str name;
		if (i == 0 || i == 1) {
			Fid tmp = *f;
			d.qid = f->qid;
			name = p9_str(i == 0 ? "." : "..");
			(void)tmp;
		} else {
			int rc = S(r)->ops.dirent(f, i - 2, &d);
			if (rc == 0)
				break;
			if (rc < 0)
				continue;
			name = p9_str(d.name);
		}
		uint8_t dt = (d.qid.type & QTDIR) ? 4 /* DT_DIR */ : 8 /* DT_REG */;
		size_t n = p9_pack_dirent(out + used, count - used, &d.qid, i + 1, dt, name);
		if (n == 0)
			break;
		used += n;
	}
	r->ofcall.count = (uint32_t)used;
	r->ofcall.data = out;
	req_respond(r);
	free(out);
}

static void do_write(Req *r, Fid *f)
{
	char why[256] = "";
	if (f->omode != OWRITE && f->omode != ORDWR) {
		req_error(r, EBADF, "fid not open for writing");
		return;
	}
	if (r->ifcall.count > r->conn->msize - P9_IOHDRSZ) {
		req_error(r, EMSGSIZE, "write larger than msize");
		return;
	}
	uint32_t written = 0;
	int rc = S(r)->ops.write(f, r->ifcall.offset, r->ifcall.data, r->ifcall.count,
	                         &written, why, sizeof why);
	if (rc < 0) {
		req_error(r, -rc, why);
		return;
	}
	r->ofcall.count = written;
	req_respond(r);
}

/* ---- clunk, remove ---- */

static void do_clunk(Req *r, Fid *f)
{
	fid_destroy(r->conn, f);
	req_respond(r);
}

static void do_remove(Req *r, Fid *f)
{
	char why[256] = "";
	int rc = S(r)->ops.remove ? S(r)->ops.remove(f, why, sizeof why) : -EPERM;
	/* remove(5): the fid is clunked even if the remove fails. */
	fid_destroy(r->conn, f);
	if (rc < 0)
		req_error(r, -rc, why);
	else
		req_respond(r);
}

static void do_unlinkat(Req *r, Fid *d)
{
	char why[256] = "";
	const Fcall *t = &r->ifcall;
	if (!(d->qid.type & QTDIR)) {
		req_error(r, ENOTDIR, "not a directory");
		return;
	}
	Fid tmp = *d;
	tmp.aux = NULL;
	tmp.omode = -1;
	S(r)->ops.clone(d, &tmp);
	int rc = (t->name.n == 0 || memchr(t->name.s, '/', t->name.n)) ? -EINVAL :
	         S(r)->ops.walk1(&tmp, t->name.s, t->name.n, why, sizeof why);
	if (rc == 0 && (t->flags & P9_L_AT_REMOVEDIR) && !(tmp.qid.type & QTDIR)) {
		rc = -ENOTDIR;
		strfmt(why, sizeof why, "not a directory");
	} else if (rc == 0 && !(t->flags & P9_L_AT_REMOVEDIR) && (tmp.qid.type & QTDIR)) {
		rc = -EISDIR;
		strfmt(why, sizeof why, "is a directory");
	}
	if (rc == 0)
		rc = S(r)->ops.remove ? S(r)->ops.remove(&tmp, why, sizeof why) : -EPERM;
	if (S(r)->ops.destroyfid)
		S(r)->ops.destroyfid(&tmp);
	if (rc < 0)
		req_error(r, -rc, why);
	else
		req_respond(r);
}

/* ---- attributes ---- */

/* A stat record (9P2000, .u) from the name space's description of a file. */
static void fill_stat(const Dirinfo *d, P9stat *st)
{
	memset(st, 0, sizeof *st);
	st->qid = d->qid;
	st->mode = d->mode;
	st->atime = (uint32_t)d->atime;
	st->mtime = (uint32_t)d->mtime;
	st->length = (d->qid.type & QTDIR) ? 0 : d->length;
	st->name = p9_str(d->name);
	st->uid = p9_str(d->uid);
	st->gid = p9_str(d->gid);
	st->muid = p9_str(d->muid);
	st->extension = p9_str("");
	st->n_uid = d->n_uid;
	st->n_gid = d->n_gid;
	st->n_muid = d->n_uid;
}

/* The name space's description of f: 0, or -1 after replying with the
 * error. Shared by Tstat and Tgetattr. */
static int describe_fid(Req *r, Fid *f, Dirinfo *d)
{
	int rc = S(r)->ops.stat(f, d);
	if (rc < 0) {
		req_error(r, -rc, NULL);
		return -1;
	}
	return 0;
}

static void do_stat(Req *r, Fid *f)
{
	Dirinfo d;
	if (describe_fid(r, f, &d) < 0)
		return;
	fill_stat(&d, &r->ofcall.stat);
	req_respond(r);
}

static void do_getattr(Req *r, Fid *f)
{
	Dirinfo d;
	if (describe_fid(r, f, &d) < 0)
		return;
	P9attr *a = &r->ofcall.attr;
	int dir = (d.qid.type & QTDIR) != 0;
	a->valid = P9_GETATTR_BASIC;
	a->qid = d.qid;
	a->mode = (dir ? S_IFDIR : S_IFREG) | (d.mode & 0777);
	a->uid = d.n_uid;
	a->gid = d.n_gid;
	a->nlink = dir ? 2 : 1;
	a->size = d.length;
	a->blksize = 4096;
	a->blocks = (d.length + 511) / 512;
	a->atime_sec = (uint64_t)d.atime;
	a->mtime_sec = (uint64_t)d.mtime;
	a->ctime_sec = (uint64_t)d.ctime;
	req_respond(r);
}

/* A length change: only to 0 (the kernel's way of saying O_TRUNC), and only
 * where the name space accepts it. Replies with the error and returns 1 if refused. */
static int truncate_refused(Req *r, Fid *f, uint64_t size)
{
	char why[256] = "";
	int rc = size != 0 ? -EINVAL :
	         S(r)->ops.truncate ? S(r)->ops.truncate(f, why, sizeof why) : -EPERM;
	if (rc < 0)
		req_error(r, -rc, why);
	return rc < 0;
}

/* Truncation to 0 is how the kernel says O_TRUNC; time updates (touch) are
 * accepted and ignored since times are the name space's to keep; anything
 * else (mode, owner, other sizes) is refused. */
static void do_setattr(Req *r, Fid *f)
{
	const P9setattr *sa = &r->ifcall.setattr;
	uint32_t okbits = P9_SETATTR_SIZE | P9_SETATTR_ATIME | P9_SETATTR_MTIME |
	                  P9_SETATTR_CTIME | P9_SETATTR_ATIME_SET | P9_SETATTR_MTIME_SET;
	if (sa->valid & ~okbits) {
		req_error(r, EPERM, "only truncation to 0 can be set");
		return;
	}
	if ((sa->valid & P9_SETATTR_SIZE) && truncate_refused(r, f, sa->size))
		return;
	req_respond(r);
}

static void do_wstat(Req *r, Fid *f)
{
	const P9stat *st = &r->ifcall.stat;
	/* "Don't touch" is all ones (or empty strings); only length 0 may change. */
	int other = st->mode != ~0u || st->name.n != 0 || st->gid.n != 0 ||
	            (st->uid.n != 0) || (r->conn->dialect == P9_2000U &&
	            (st->n_uid != ~0u || st->n_gid != ~0u));
	if (other) {
		req_error(r, EPERM, "only truncation to 0 can be set");
		return;
	}
	if (st->length != ~0ull && truncate_refused(r, f, st->length))
		return;
	req_respond(r);
}

static void do_statfs(Req *r, Fid *f)
{
	(void)f;
	r->ofcall.statfs.type = 0x01021997; /* V9FS_MAGIC */
	r->ofcall.statfs.bsize = 4096;
	r->ofcall.statfs.namelen = 255;
	req_respond(r);
}

static void do_xattrwalk(Req *r, Fid *f)
{
	(void)f;
	/* No extended attributes (doc/namespace.md: EOPNOTSUPP in 9P2000.L). The
	 * kernel asks for security.capability on writes; any error means "none". */
	req_error(r, EOPNOTSUPP, "no extended attributes");
}

static void do_fsync(Req *r, Fid *f)
{
	(void)f;
	req_respond(r);   /* every acknowledged change is already in the store */
}

static void unsupported(Req *r)
{
	req_error(r, EOPNOTSUPP, "operation not supported by jobd");
}

/* A read-only fid (a TCP client when every TCP client is, or another host's
 * client acting as no one): anything that could change state through it is
 * refused here, once, rather than in every handler. Opens for writing count. */
static int readonly_refused(Req *r)
{
	const Fcall *t = &r->ifcall;
	uint32_t fid;
	switch (t->type) {
	case Twrite: case Tremove: case Twstat: case Tsetattr: case Tcreate: case Tlcreate:
		fid = t->fid; break;
	case Topen: if ((t->mode & 3) == OREAD || (t->mode & 3) == OEXEC) return 0; fid = t->fid; break;
	case Tlopen: if ((t->flags & P9_L_ACCMODE) == 0) return 0; fid = t->fid; break;
	case Tmkdir: case Tunlinkat: fid = t->dfid; break;
	default: return 0;
	}
	Fid *f = fid_lookup(r->conn, fid);
	if (!f || !f->readonly)
		return 0;
	if (f->readonly == RO_NOUSER)
		req_error(r, EROFS, "read-only connection: clients on other hosts act as no one here");
	else
		req_error(r, EROFS, "read-only connection: TCP clients may only read here");
	return 1;
}

/* How each request is handled: the fid the engine looks up first (EBADF if
 * unknown), and whether the message is 9P2000.L's. The legacy messages are
 * accepted on .L connections too (they are unambiguous); the .L messages
 * jobd has no use for, and any other type, get EOPNOTSUPP (EPROTO on a
 * legacy connection). */
enum { NOFID, FID, DFID };      /* the fid named: none, fid[4], dfid[4] */
typedef struct Handler {
	void (*run)(Req *r, Fid *f);
	uint8_t fid;
	uint8_t dotl;
} Handler;

static const Handler handlers[256] = {
	[Tversion] = { do_version, NOFID, 0 },
	[Tauth] = { do_auth, NOFID, 0 },
	[Tattach] = { do_attach, NOFID, 0 },
	[Tflush] = { do_flush, NOFID, 0 },
	[Twalk] = { do_walk, FID, 0 },
	[Topen] = { do_open, FID, 0 },
	[Tcreate] = { do_create, FID, 0 },
	[Tread] = { do_read, FID, 0 },
	[Twrite] = { do_write, FID, 0 },
	[Tclunk] = { do_clunk, FID, 0 },
	[Tremove] = { do_remove, FID, 0 },
	[Tstat] = { do_stat, FID, 0 },
	[Twstat] = { do_wstat, FID, 0 },
	[Tlopen] = { do_lopen, FID, 1 },
	[Tlcreate] = { do_lcreate, FID, 1 },
	[Tmkdir] = { do_mkdir, DFID, 1 },
	[Tgetattr] = { do_getattr, FID, 1 },
	[Tsetattr] = { do_setattr, FID, 1 },
	[Treaddir] = { do_readdir, FID, 1 },
	[Tunlinkat] = { do_unlinkat, DFID, 1 },
	[Tstatfs] = { do_statfs, FID, 1 },
	[Txattrwalk] = { do_xattrwalk, FID, 1 },
	[Tfsync] = { do_fsync, FID, 1 },
};

void dispatch(Req *r)
{
	Conn *c = r->conn;
	Fcall *t = &r->ifcall;
	uint32_t size = (uint32_t)r->buf[0] | (uint32_t)r->buf[1] << 8 |
	                (uint32_t)r->buf[2] << 16 | (uint32_t)r->buf[3] << 24;

	r->next = c->reqs;
	if (c->reqs)
		c->reqs->prev = r;
	c->reqs = r;
	c->nreqs++;

	if (p9_unpack(r->buf, size, c->dialect, t) < 0) {
		/* Answer with the tag if the header is readable; the frame length is sound. */
		t->type = r->buf[4];
		t->tag = (uint16_t)(r->buf[5] | r->buf[6] << 8);
		if (c->srv->cfg.debug)
			fprintf(stderr, "<- %u malformed %s (%u bytes)\n", c->id,
			        p9_typename(t->type) ? p9_typename(t->type) : "message", size);
		if (t->type % 2 == 1 || !p9_typename(t->type))
			t->type = Tversion;   /* reply type must be some R-message: use an error */
		req_error(r, EPROTO, p9_typename(r->buf[4]) ? "malformed message" : "unknown message type");
		return;
	}
	if (c->srv->cfg.debug) {
		char line[512];
		p9_fmt(line, sizeof line, c->dialect, t);
		fprintf(stderr, "<- %u %s\n", c->id, line);
	}
	/* Duplicate tags are a client bug; answer it with an error rather than confuse replies. */
	for (Req *o = r->next; o; o = o->next)
		if (o->ifcall.tag == t->tag && t->type != Tversion) {
			req_error(r, EINVAL, "tag in use");
			return;
		}
	if (c->refused) {
		req_error(r, EACCES, c->refused);
		conn_drain_close(c);
		return;
	}
	if (!c->versioned && t->type != Tversion) {
		req_error(r, EPROTO, "Tversion first");
		return;
	}
	if (readonly_refused(r))
		return;
	const Handler *h = &handlers[t->type];
	if (!h->run || h->dotl) {
		if (c->dialect != P9_2000L) {
			req_error(r, EPROTO, "9P2000.L message on a legacy connection");
			return;
		}
		if (!h->run) {
			unsupported(r);
			return;
		}
	}
	Fid *f = NULL;
	if (h->fid != NOFID && !(f = need_fid(r, h->fid == DFID ? t->dfid : t->fid)))
		return;
	h->run(r, f);
}
