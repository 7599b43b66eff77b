/* The name space. Files are described by tables (roottab, jobtab, runtab,
 * nodetab) and read and written with a switch on the kind encoded in the qid
 * path:
 *     path = id << 8 | kind
 * where id is the job's store id for job files and the run's store id for
 * run files. Neither is ever reused, so a deleted and re-created job (or a
 * trimmed run) never shares a qid with its successor. A cluster node's files
 * (nodes/NAME/, nodes.c) have a hash of the name: a node is its name.
 *
 * Permissions (doc/security.md): a job's owner and root may change it (open
 * for writing, write, remove); anyone else may read it, or, with -private,
 * not see it at all (walks say ENOENT, listings leave it out). Creating a job
 * (clone, mkdir) and changing one's own also pass may_write_jobs: when jobd
 * is not root only its own user (and root) may, and -allowusers/-denyusers
 * apply. A job's files show its owner's name and ids. */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fs_int.h"
#include "util/log.h"
#include "util/util.h"

/* The root; nodes last, since only a cluster's root has it (root_len). */
static const Tab roottab[] = {
	{ "clone", K_CLONE, 0666 },
	{ "jobs", K_JOBS, DMDIR | 0777 },
	{ "stats", K_STATS, 0444 },
	{ "events", K_EVENTS, 0444 },
	{ "nodes", K_NODES, DMDIR | 0555 },
};
/* A job's directory: these, a file per setting (setting_tab, in its order,
 * named after it), then runs/; fs_new puts them together in fs->jobtab. */
static const Tab jobhead[] = {
	{ "ctl", K_CTL, 0666 },
	{ "status", K_STATUS, 0444 },
	{ "log", K_LOG, 0444 },
	{ "log.follow", K_LOGFOLLOW, 0444 },
};
_Static_assert(NELEM(jobhead) == NJOBHEAD, "NJOBHEAD counts jobhead");

/* Each setting's kind. A qid path keeps it, so it stays whatever the
 * setting's place in setting_tab: the kinds of fs_int.h, in the order the
 * settings came (orphan came after limits; the table lists it by misfire). */
static const enum Kind setting_kinds[SET_N] = {
	[SET_SCHEDULE] = K_SETTING, [SET_CMD] = K_SETTING + 1, [SET_TIMEOUT] = K_SETTING + 2,
	[SET_OVERLAP] = K_SETTING + 3, [SET_MISFIRE] = K_SETTING + 4, [SET_DIR] = K_SETTING + 5,
	[SET_ENV] = K_SETTING + 6, [SET_LIMITS] = K_SETTING7, [SET_ORPHAN] = K_SETTING7 + 1,
};

static enum Kind setting_kind(int i)
{
	return setting_kinds[i];
}

/* The setting (SET_*) whose file is of kind k, or -1. */
static int kind_setting(enum Kind k)
{
	for (int i = 0; i < SET_N; i++)
		if (setting_kinds[i] == k)
			return i;
	return -1;
}
static const Tab jobtail = { "runs", K_RUNS, DMDIR | 0555 };
static const Tab runtab[] = {
	{ "status", K_RUNSTATUS, 0444 },
	{ "output", K_RUNOUTPUT, 0444 },
	{ "output.follow", K_OUTFOLLOW, 0444 },
	{ "wait", K_RUNWAIT, 0444 },
};
/* A node's directory, nodes/NAME/ (nodes.c). */
static const Tab nodetab[] = {
	{ "status", K_NODESTATUS, 0444 },
};

/* How much of roottab this jobd's root has. */
static size_t root_len(Fs *fs)
{
	return fs->nodes ? NELEM(roottab) : NELEM(roottab) - 1;
}

/* ---- who is who ---- */

/* The owner's user and group names and gid (the user's number if it has no
 * passwd entry, with gid 65534). The pointer is good until the next call. */
static const Owner *owner_of(Fs *fs, uint32_t uid)
{
	Owner *o = &fs->owners[uid % OWNER_SLOTS];
	int64_t now = mono_now().ns / 1000000000 + 1;
	if (o->at && o->uid == uid && now - o->at < OWNER_TTL)
		return o;
	o->uid = uid;
	o->at = now;
	struct passwd *pw = getpwuid((uid_t)uid);
	if (pw) {
		strfmt(o->name, sizeof o->name, "%s", pw->pw_name);
		o->gid = (uint32_t)pw->pw_gid;
	} else {
		strfmt(o->name, sizeof o->name, "%u", uid);
		o->gid = 65534;
	}
	struct group *gr = getgrgid((gid_t)o->gid);
	if (gr)
		strfmt(o->group, sizeof o->group, "%s", gr->gr_name);
	else
		strfmt(o->group, sizeof o->group, "%u", o->gid);
	return o;
}

/* "alice (uid 1001)" for messages. */
static const char *who(Fs *fs, uint32_t uid, char *buf, size_t n)
{
	return strfmt(buf, n, "%s (uid %u)", owner_of(fs, uid)->name, uid);
}

static void users_free(Users *u)
{
	for (size_t i = 0; i < u->n; i++)
		free(u->names[i]);
	free(u->names);
	free(u->file);
	memset(u, 0, sizeof *u);
}

/* One user name a line; blank lines and lines starting with '#' are skipped. */
static int users_load(const char *file, Users *u, char *why, size_t n)
{
	memset(u, 0, sizeof *u);
	if (!file || !*file)
		return 0;
	FILE *fp = fopen(file, "re");
	if (!fp) {
		int e = errno;
		strfmt(why, n, "cannot read %s: %s", file, strerror(e));
		return -e;
	}
	u->file = xstrdup(file);
	char line[512];
	while (fgets(line, sizeof line, fp)) {
		char *p = line, *e;
		while (isspace((unsigned char)*p))
			p++;
		for (e = p + strlen(p); e > p && isspace((unsigned char)e[-1]); e--)
			;
		*e = 0;
		if (!*p || *p == '#')
			continue;
		u->names = xrealloc(u->names, (u->n + 1) * sizeof *u->names);
		u->names[u->n++] = xstrdup(p);
	}
	fclose(fp);
	return 0;
}

static int users_has(const Users *u, const char *name)
{
	for (size_t i = 0; name && i < u->n; i++)
		if (strcmp(u->names[i], name) == 0)
			return 1;
	return 0;
}

/* May f create jobs, or change the ones it owns? Root always may. */
static int may_write_jobs(Fs *fs, Fid *f, char *why, size_t n)
{
	char a[96], b[96];
	if (f->uid == 0)
		return 0;
	if (fs->cfg.daemon_uid != 0 && f->uid != fs->cfg.daemon_uid) {
		strfmt(why, n, "%s may not create or change jobs: jobd runs as %s, not as root, "
		       "so only that user and root may", who(fs, f->uid, a, sizeof a),
		       who(fs, fs->cfg.daemon_uid, b, sizeof b));
		return -EPERM;
	}
	struct passwd *pw = NULL;
	if (fs->allow.file || fs->deny.file)
		pw = getpwuid((uid_t)f->uid);
	const char *name = pw ? pw->pw_name : NULL;
	if (fs->allow.file && !users_has(&fs->allow, name)) {
		strfmt(why, n, "%s may not create or change jobs: not listed in %s",
		       who(fs, f->uid, a, sizeof a), fs->allow.file);
		return -EPERM;
	}
	if (fs->deny.file && users_has(&fs->deny, name)) {
		strfmt(why, n, "%s may not create or change jobs: listed in %s",
		       who(fs, f->uid, a, sizeof a), fs->deny.file);
		return -EPERM;
	}
	return 0;
}

/* May f change j (control, edit, delete)? Its owner and root may. */
static int may_control(Fs *fs, Fid *f, Job *j, char *why, size_t n)
{
	char a[96], b[96];
	if (f->uid == 0)
		return 0;
	if (f->uid != j->owner) {
		strfmt(why, n, "job %s belongs to %s: only its owner and root may change it "
		       "(you are %s)", j->name, who(fs, j->owner, a, sizeof a),
		       who(fs, f->uid, b, sizeof b));
		return -EACCES;
	}
	return may_write_jobs(fs, f, why, n);
}

/* Does f see j at all? Everyone does, except with -private. */
int may_see(Fs *fs, Fid *f, const Job *j)
{
	return !fs->cfg.private_jobs || f->uid == 0 || f->uid == j->owner;
}

static const Tab *find_tab(Fs *fs, enum Kind k)
{
	for (size_t i = 0; i < NELEM(roottab); i++)
		if (roottab[i].kind == k) return &roottab[i];
	for (size_t i = 0; i < NELEM(fs->jobtab); i++)
		if (fs->jobtab[i].kind == k) return &fs->jobtab[i];
	for (size_t i = 0; i < NELEM(runtab); i++)
		if (runtab[i].kind == k) return &runtab[i];
	for (size_t i = 0; i < NELEM(nodetab); i++)
		if (nodetab[i].kind == k) return &nodetab[i];
	return NULL;
}

Job *faux_job(Fs *fs, Faux *a)
{
	if (!a->job_name)
		return NULL;
	Job *j = jobs_lookup(fs->js, a->job_name, strlen(a->job_name));
	return j && j->id == a->job_id ? j : NULL;
}

/* The job behind f in *j (NULL outside /jobs/NAME), or -ENOENT if it was
 * deleted since. */
static int fid_job(Fid *f, Job **j, char *why, size_t n)
{
	Faux *a = f->aux;
	*j = faux_job(FS(f), a);
	if (a->job_id && !*j) {
		strfmt(why, n, "job no longer exists");
		return -ENOENT;
	}
	return 0;
}

/* other_id: the run's id for a run's files, node_id for a node's. */
static Qid mkqid(Fs *fs, enum Kind k, Job *j, int64_t other_id)
{
	int64_t id = is_run_kind(k) || is_node_kind(k) ? other_id : j ? j->id : 0;
	Qid q = { .type = QTFILE, .path = (uint64_t)id << 8 | (uint64_t)k };
	const Tab *t = find_tab(fs, k);
	if (k == K_ROOT || k == K_JOBDIR || k == K_RUNDIR || k == K_NODEDIR ||
	    (t && (t->perm & DMDIR)))
		q.type = QTDIR;
	switch (k) {
	case K_JOBS: q.vers = jobs_changes(fs->js); break;
	case K_CTL: q.vers = j->changes.state; break;
	case K_LOG: case K_LOGFOLLOW: q.vers = j->changes.log; break;
	case K_STATUS: q.vers = j->changes.state + j->changes.runs + j->changes.schedule; break;
	case K_RUNS: case K_RUNSTATUS: case K_RUNOUTPUT: case K_OUTFOLLOW: case K_RUNWAIT:
		q.vers = j ? j->changes.runs : 0;
		break;
	default:
		/* The schedule file also shows the next fire. */
		if (kind_setting(k) == SET_SCHEDULE)
			q.vers = j->changes.schedule;
		else if (kind_setting(k) >= 0)
			q.vers = j->changes.settings;
		break;
	}
	return q;
}

static void set_place(Fid *f, enum Kind k, Job *j, int64_t run_seq, int64_t run_id)
{
	Faux *a = f->aux;
	a->kind = k;
	if (j && a->job_id != j->id) {
		free(a->job_name);
		a->job_name = xstrdup(j->name);
		a->job_id = j->id;
	} else if (!j) {
		free(a->job_name);
		a->job_name = NULL;
		a->job_id = 0;
	}
	a->run_seq = run_seq;
	a->run_id = run_id;
	free(a->node);
	a->node = NULL;
	f->qid = mkqid(FS(f), k, j, run_id);
}

/* f to kind k (K_NODEDIR or K_NODESTATUS) of node name. */
static void node_place(Fid *f, enum Kind k, const char *name, size_t len)
{
	Faux *a = f->aux;
	char *copy = xstrndup(name, len);
	set_place(f, k, NULL, 0, 0);
	a->node = copy;
	f->qid = mkqid(FS(f), k, NULL, node_id(copy));
}

/* ---- rendering ---- */

static int render(Fs *fs, Faux *a, Job *j, Buf *out, char *why, size_t n)
{
	RunInfo ri;
	int rc;
	switch (a->kind) {
	case K_STATS:
		if (fs->cfg.stats)
			fs->cfg.stats(fs->cfg.stats_arg, out);
		return 0;
	case K_CTL: buf_addstr(out, j->started ? "started" : "stopped"); return 0;
	case K_STATUS: jobs_render_status(fs->js, j, out); return 0;
	case K_RUNSTATUS:
		if ((rc = jobs_run_get(fs->js, j, a->run_seq, &ri, why, n)) < 0)
			return rc;
		jobs_render_run_status(fs->js, j, &ri, out);
		return 0;
	default:
		if (kind_setting(a->kind) >= 0)
			jobs_render_setting(fs->js, j, kind_setting(a->kind), out);
		return 0;
	}
}

/* True lengths for the small files; log and output would mean reading them
 * all, so they report 0 (readers read to end of file), as do stats and clone,
 * whose contents are per read and per open. A run's status needs its run:
 * run_status_length. */
static uint64_t file_length(Fs *fs, enum Kind k, Job *j)
{
	if (!j || k == K_LOG || k == K_RUNOUTPUT || k == K_RUNSTATUS || k == K_STATS || k == K_CLONE ||
	    is_live_kind(k))
		return 0;
	Buf b = {0};
	Faux tmp = { .kind = k };
	char why[64];
	render(fs, &tmp, j, &b, why, sizeof why);
	uint64_t n = b.len;
	buf_free(&b);
	return n;
}

/* runs/N/status's length: one store read, as an open of it costs. */
static uint64_t run_status_length(Fs *fs, Job *j, int64_t seq)
{
	Buf b = {0};
	Faux tmp = { .kind = K_RUNSTATUS, .run_seq = seq };
	char why[64];
	uint64_t n = j && render(fs, &tmp, j, &b, why, sizeof why) == 0 ? b.len : 0;
	buf_free(&b);
	return n;
}

/* A job's files belong to its owner: writable ones are the owner's to write
 * (0644; a kernel mount checks these bits too), and with -private nobody
 * else may even read them. Files outside jobs are jobd's. */
static void describe(Fs *fs, enum Kind k, Job *j, int64_t other_id, const char *name,
                     uint32_t perm, Dirinfo *d)
{
	memset(d, 0, sizeof *d);
	d->qid = mkqid(fs, k, j, other_id);
	d->name = name;
	if (j) {
		const Owner *o = owner_of(fs, j->owner);
		perm &= ~(uint32_t)022;
		if (fs->cfg.private_jobs)
			perm &= ~(uint32_t)077;
		d->uid = d->muid = o->name;
		d->gid = o->group;
		d->n_uid = j->owner;
		d->n_gid = o->gid;
	} else {
		d->uid = d->muid = fs->uid;
		d->gid = fs->gid;
		d->n_uid = fs->n_uid;
		d->n_gid = fs->n_gid;
	}
	d->mode = perm;
	d->atime = d->mtime = d->ctime = j ? j->mtime : fs->start;
	if (!(perm & DMDIR))
		d->length = file_length(fs, k, j);
}

/* ---- walking ---- */

static int fs_attach(Fid *f, const char *aname, char *why, size_t n)
{
	/* There is one tree; the aname is ignored (diod's tools send "ctl" by default). */
	(void)aname; (void)why; (void)n;
	f->aux = xcalloc(1, sizeof(Faux));
	set_place(f, K_ROOT, NULL, 0, 0);
	return 0;
}

static int name_is(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

static int walk_tab(Fid *f, const Tab *tab, size_t count, const char *name, size_t len, Job *j,
                    int64_t seq, int64_t run_id)
{
	for (size_t i = 0; i < count; i++)
		if (name_is(name, len, tab[i].name)) {
			set_place(f, tab[i].kind, j, seq, run_id);
			return 0;
		}
	return -ENOENT;
}

static int fs_walk1(Fid *f, const char *name, size_t len, char *why, size_t n)
{
	Fs *fs = FS(f);
	Faux *a = f->aux;
	Job *j = faux_job(fs, a);
	int dotdot = name_is(name, len, "..");
	if (a->job_id && !j)
		return -ENOENT;         /* the job was deleted under us */
	switch (a->kind) {
	case K_ROOT:
		if (dotdot) { set_place(f, K_ROOT, NULL, 0, 0); return 0; }
		return walk_tab(f, roottab, root_len(fs), name, len, NULL, 0, 0);
	case K_JOBS:
		if (dotdot) { set_place(f, K_ROOT, NULL, 0, 0); return 0; }
		j = jobs_lookup(fs->js, name, len);
		if (!j || !may_see(fs, f, j))
			return -ENOENT;
		set_place(f, K_JOBDIR, j, 0, 0);
		return 0;
	case K_JOBDIR:
		if (dotdot) { set_place(f, K_JOBS, NULL, 0, 0); return 0; }
		return walk_tab(f, fs->jobtab, NELEM(fs->jobtab), name, len, j, 0, 0);
	case K_RUNS: {
		if (dotdot) { set_place(f, K_JOBDIR, j, 0, 0); return 0; }
		char num[24];
		if (len == 0 || len >= sizeof num)
			return -ENOENT;
		memcpy(num, name, len);
		num[len] = 0;
		char *end;
		long long seq = strtoll(num, &end, 10);
		if (*end || seq <= 0 || num[0] == '0')
			return -ENOENT;
		RunInfo ri;
		if (jobs_run_get(fs->js, j, seq, &ri, why, n) < 0)
			return -ENOENT;
		set_place(f, K_RUNDIR, j, seq, ri.run_id);
		return 0;
	}
	case K_RUNDIR:
		if (dotdot) { set_place(f, K_RUNS, j, 0, 0); return 0; }
		return walk_tab(f, runtab, NELEM(runtab), name, len, j, a->run_seq, a->run_id);
	case K_NODES:
		if (dotdot) { set_place(f, K_ROOT, NULL, 0, 0); return 0; }
		if (!nodes_has(fs, name, len))
			return -ENOENT;
		node_place(f, K_NODEDIR, name, len);
		return 0;
	case K_NODEDIR:
		if (dotdot) { set_place(f, K_NODES, NULL, 0, 0); return 0; }
		if (!name_is(name, len, nodetab[0].name))
			return -ENOENT;
		node_place(f, K_NODESTATUS, a->node, strlen(a->node));
		return 0;
	default:
		return -ENOTDIR;
	}
}

static void fs_clone(Fid *f, Fid *nf)
{
	Faux *a = f->aux, *b = xcalloc(1, sizeof *b);
	b->kind = a->kind;
	b->job_id = a->job_id;
	b->job_name = a->job_name ? xstrdup(a->job_name) : NULL;
	b->run_seq = a->run_seq;
	b->run_id = a->run_id;
	b->node = a->node ? xstrdup(a->node) : NULL;
	nf->aux = b;
}

static void fs_destroyfid(Fid *f)
{
	Faux *a = f->aux;
	if (!a)
		return;
	free(a->job_name);
	free(a->created);
	free(a->seqs);
	free(a->node);
	nodes_names_free(a->names, a->nnames);
	buf_free(&a->snap);
	free(a);
	f->aux = NULL;
}

/* ---- open, read ---- */

static int fs_open(Fid *f, int omode, char *why, size_t n)
{
	Fs *fs = FS(f);
	Faux *a = f->aux;
	Job *j;
	int rc = fid_job(f, &j, why, n);
	if (rc < 0)
		return rc;
	int writing = (omode & 3) == OWRITE || (omode & 3) == ORDWR;
	const Tab *t = find_tab(fs, a->kind);
	if (is_live_kind(a->kind))
		return live_open(f, why, n);
	if (writing && (!t || !(t->perm & 0222) || (t->perm & DMDIR))) {
		strfmt(why, n, "%s is read-only", t ? t->name : "directory");
		return -EACCES;
	}
	if (writing && j && (rc = may_control(fs, f, j, why, n)) < 0)
		return rc;
	if (writing && a->kind == K_CLONE && (rc = may_write_jobs(fs, f, why, n)) < 0)
		return rc;
	if (a->kind == K_NODES) {
		nodes_names_free(a->names, a->nnames);
		a->names = nodes_names(fs, &a->nnames);
		return 0;
	}
	if (a->kind == K_NODESTATUS) {
		/* Its content comes with its first read (nodes.c). */
		buf_free(&a->snap);
		a->answered = 0;
		return 0;
	}
	if (a->kind == K_RUNS) {
		RunInfo *v;
		size_t count;
		rc = jobs_runs(fs->js, j, &v, &count, why, n);
		if (rc < 0)
			return rc;
		free(a->seqs);
		a->seqs = xmalloc((count ? count : 1) * sizeof *a->seqs);
		for (size_t i = 0; i < count; i++)
			a->seqs[i] = v[i].seq;
		a->nseqs = count;
		free(v);
		return 0;
	}
	if (a->kind == K_CLONE || (t && (t->perm & DMDIR)) || a->kind == K_ROOT ||
	    a->kind == K_JOBDIR || a->kind == K_RUNDIR)
		return 0;
	if (a->kind == K_LOG || a->kind == K_RUNOUTPUT) {
		RunInfo ri;
		if (a->kind == K_RUNOUTPUT && (rc = jobs_run_get(fs->js, j, a->run_seq, &ri, why, n)) < 0)
			return rc;
		rc = jobs_text_extent(fs->js, j, a->kind == K_RUNOUTPUT ? &ri : NULL, &a->tfirst,
		                      &a->tend, why, n);
		a->text = rc == 0;
		return rc;
	}
	/* Snapshot now so every Tread of this open sees one consistent content. */
	buf_free(&a->snap);
	return render(fs, a, j, &a->snap, why, n);
}

/* A page of log or output: what was kept at open, from the store. */
static void read_text(Req *r, Faux *a)
{
	Fs *fs = FS(r->fid);
	Job *j = faux_job(fs, a);
	uint64_t off = r->ifcall.offset;
	if (!j) {
		req_error(r, ENOENT, "job no longer exists");
		return;
	}
	if (off >= (uint64_t)(a->tend - a->tfirst)) {
		srv_reply_data(r, NULL, 0);
		return;
	}
	size_t cap = r->ifcall.count;
	if ((uint64_t)cap > (uint64_t)(a->tend - a->tfirst) - off)
		cap = (size_t)((uint64_t)(a->tend - a->tfirst) - off);
	char *buf = xmalloc(cap ? cap : 1);
	size_t got = 0;
	char why[256];
	RunInfo ri = { .run_id = a->run_id };
	int rc = jobs_text_read(fs->js, j, a->kind == K_RUNOUTPUT ? &ri : NULL,
	                        a->tfirst + (int64_t)off, buf, cap, &got, why, sizeof why);
	if (rc < 0)
		req_error(r, rc, why);
	else
		srv_reply_data(r, buf, got);
	free(buf);
}

static void fs_read(Req *r)
{
	Faux *a = r->fid->aux;
	if (a->kind == K_CLONE) {
		/* After a successful write, the clone fid reads back the new job's name. */
		const char *s = a->created ? a->created : "";
		srv_read_reply(r, s, strlen(s));
		return;
	}
	if (is_live_kind(a->kind)) {
		live_read(r);
		return;
	}
	if (a->kind == K_NODESTATUS) {
		nodes_read(r);
		return;
	}
	if (a->text) {
		read_text(r, a);
		return;
	}
	srv_read_reply(r, a->snap.data ? a->snap.data : "", a->snap.len);
}

static int fs_dirent(Fid *f, uint64_t index, Dirinfo *d)
{
	Fs *fs = FS(f);
	Faux *a = f->aux;
	Job *j = faux_job(fs, a);
	switch (a->kind) {
	case K_ROOT:
		if (index >= root_len(fs))
			return 0;
		describe(fs, roottab[index].kind, NULL, 0, roottab[index].name, roottab[index].perm, d);
		return 1;
	case K_JOBS: {
		Job *jj = jobs_nth(fs->js, index);
		if (!jj)
			return 0;
		if (!may_see(fs, f, jj))
			return -1;
		describe(fs, K_JOBDIR, jj, 0, jj->name, DMDIR | 0777, d);
		return 1;
	}
	case K_JOBDIR: {
		if (!j || index >= NELEM(fs->jobtab))
			return 0;
		const Tab *t = &fs->jobtab[index];
		describe(fs, t->kind, j, 0, t->name, t->perm, d);
		return 1;
	}
	case K_RUNS: {
		static char names[32][24];   /* one loop thread; each name is encoded before reuse */
		if (!j || index >= a->nseqs)
			return 0;
		char *name = names[index % 32];
		snprintf(name, sizeof names[0], "%lld", (long long)a->seqs[index]);
		RunInfo ri;
		char why[64];
		int64_t run_id = jobs_run_get(fs->js, j, a->seqs[index], &ri, why, sizeof why) == 0 ? ri.run_id : 0;
		describe(fs, K_RUNDIR, j, run_id, name, DMDIR | 0555, d);
		return 1;
	}
	case K_RUNDIR:
		if (!j || index >= NELEM(runtab))
			return 0;
		describe(fs, runtab[index].kind, j, a->run_id, runtab[index].name, runtab[index].perm, d);
		if (runtab[index].kind == K_RUNSTATUS)
			d->length = run_status_length(fs, j, a->run_seq);
		return 1;
	case K_NODES:
		if (index >= a->nnames)
			return 0;
		describe(fs, K_NODEDIR, NULL, node_id(a->names[index]), a->names[index], DMDIR | 0555,
		         d);
		return 1;
	case K_NODEDIR:
		if (index >= NELEM(nodetab))
			return 0;
		describe(fs, nodetab[index].kind, NULL, node_id(a->node), nodetab[index].name,
		         nodetab[index].perm, d);
		return 1;
	default:
		return 0;
	}
}

/* ---- writes ---- */

/* Copies a write into a NUL-terminated string, dropping one trailing newline
 * (echo adds it). Refuses NUL bytes and oversized writes. */
static int take_text(Fs *fs, const uint8_t *data, uint32_t count, char **out, char *why, size_t n)
{
	if (count > fs->cfg.max_ctl_write) {
		strfmt(why, n, "write of %u bytes is larger than the %zu-byte limit", count,
		       fs->cfg.max_ctl_write);
		return -EFBIG;
	}
	if (memchr(data, 0, count)) {
		strfmt(why, n, "NUL byte in write");
		return -EINVAL;
	}
	size_t len = count;
	if (len && data[len - 1] == '\n')
		len--;
	if (len && data[len - 1] == '\r')
		len--;
	*out = xstrndup((const char *)data, len);
	return 0;
}

static int write_clone(Fs *fs, Fid *f, Faux *a, char *line, char *why, size_t n)
{
	/* name:cronexpr:cmd, split at the first two colons. */
	char *c1 = strchr(line, ':');
	char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (!c2) {
		strfmt(why, n, "want name:cronexpr:command, got '%.80s'", line);
		return -EINVAL;
	}
	*c1 = *c2 = 0;
	Job *j;
	int rc = jobs_create(fs->js, f->uid, line, c1 + 1, c2 + 1, &j, why, n);
	if (rc >= 0) {
		/* Read back on this fid: the name, and what jobd warns of (rc 1). */
		Buf b = {0};
		buf_addstr(&b, j->name);
		if (rc > 0)
			buf_printf(&b, "\nwarning: %s", why);
		buf_add(&b, "", 1);
		free(a->created);
		a->created = (char *)b.data;
	}
	return rc < 0 ? rc : 0;
}

static const char verbs[] = "verbs: start, stop, run, kill, delete, set";

/* The reply lines of "run": "run 7", or "run 7 skipped" when its overlap
 * setting kept it from starting. */
static void reply_run(Fs *fs, Job *j, int64_t seq, Buf *reply)
{
	RunInfo ri;
	char why[128];
	if (seq == 0) {
		/* A cluster's: numbered by the database's claim, a moment later. */
		buf_addstr(reply, "run requested\n");
		return;
	}
	buf_printf(reply, "run %lld", (long long)seq);
	if (jobs_run_get(fs->js, j, seq, &ri, why, sizeof why) == 0 && ri.state == RUN_SKIPPED)
		buf_addstr(reply, " skipped");
	buf_addstr(reply, "\n");
}

/* One verb per line, applied in order; the first failure is reported. A
 * delete ends the write (there is no job left to apply the rest to). What
 * the verbs answer ("run 7", "warning: ...") goes to reply, a line each. */
static int write_ctl(Fs *fs, Job *j, char *text, Buf *reply, char *why, size_t n)
{
	char *save = NULL;
	int rc = 0, nverbs = 0;
	for (char *v = strtok_r(text, "\n", &save); v && rc >= 0; v = strtok_r(NULL, "\n", &save)) {
		if (rc > 0)
			buf_printf(reply, "warning: %s\n", why);
		rc = 0;
		size_t len = strlen(v);
		while (len && (v[len - 1] == ' ' || v[len - 1] == '\t' || v[len - 1] == '\r'))
			v[--len] = 0;
		while (*v == ' ' || *v == '\t')
			v++;
		if (!*v)
			continue;
		nverbs++;
		char *arg = v + strcspn(v, " \t");
		if (*arg) {
			*arg++ = 0;
			arg += strspn(arg, " \t");
		}
		if (strcasecmp(v, "start") == 0 && !*arg)
			rc = jobs_start(fs->js, j, why, n);
		else if (strcasecmp(v, "stop") == 0 && !*arg)
			rc = jobs_stop(fs->js, j, why, n);
		else if (strcasecmp(v, "run") == 0 && !*arg) {
			int64_t seq = 0;
			if ((rc = jobs_run_now(fs->js, j, &seq, why, n)) == 0)
				reply_run(fs, j, seq, reply);
		}
		else if (strcasecmp(v, "kill") == 0) {
			int sig = 0;
			if (*arg)
				rc = signal_parse(arg, &sig, why, n);
			if (rc == 0)
				rc = jobs_kill(fs->js, j, sig, why, n);
		} else if (strcasecmp(v, "delete") == 0 && !*arg) {
			return jobs_delete(fs->js, j, why, n);
		} else if (strcasecmp(v, "set") == 0 && *arg) {
			char *key = arg, *val = arg + strcspn(arg, " \t");
			if (*val) {
				*val++ = 0;
				val += strspn(val, " \t");
			}
			int i = setting_find(key, strlen(key));
			if (i < 0) {
				char names[128];
				strfmt(why, n, "set: no setting '%.40s' (%s)", key,
				       setting_names(names, sizeof names));
				rc = -EINVAL;
			} else {
				rc = jobs_set(fs->js, j, i, val, why, n);
			}
		} else {
			strfmt(why, n, "unknown ctl verb '%.40s' (%s)", v, verbs);
			rc = -EINVAL;
		}
	}
	if (rc > 0) {
		buf_printf(reply, "warning: %s\n", why);
		rc = 0;
	}
	if (rc == 0 && nverbs == 0) {
		strfmt(why, n, "empty ctl write (%s)", verbs);
		rc = -EINVAL;
	}
	return rc;
}

static int fs_write(Fid *f, uint64_t offset, const uint8_t *data, uint32_t count,
                    uint32_t *written, char *why, size_t n)
{
	Fs *fs = FS(f);
	Faux *a = f->aux;
	Job *j;
	char *text;
	(void)offset;   /* control files: every write is one whole message */
	int rc = fid_job(f, &j, why, n);
	if (rc < 0)
		return rc;
	const Tab *t = find_tab(fs, a->kind);
	if (!is_live_kind(a->kind) && (!t || !(t->perm & 0222) || (t->perm & DMDIR))) {
		strfmt(why, n, "file is read-only");
		return -EACCES;
	}
	if (is_live_kind(a->kind))
		rc = 0;     /* "from POS" moves this fid alone: whoever may read it may */
	else
		rc = a->kind == K_CLONE ? may_write_jobs(fs, f, why, n) : may_control(fs, f, j, why, n);
	if (rc < 0)
		return rc;
	if ((rc = take_text(fs, data, count, &text, why, n)) < 0)
		return rc;
	if (is_live_kind(a->kind)) {
		rc = live_write(f, text, why, n);
	} else if (a->kind == K_CLONE) {
		rc = write_clone(fs, f, a, text, why, n);
	} else if (a->kind == K_CTL) {
		/* Read back on this fid: the verbs' replies, then the state after them. */
		Buf reply = {0};
		rc = write_ctl(fs, j, text, &reply, why, n);
		if (rc == 0 && (j = faux_job(fs, a))) {
			buf_free(&a->snap);
			a->snap = reply;
			render(fs, a, j, &a->snap, why, n);
		} else {
			buf_free(&reply);
		}
	} else {
		/* A warning (rc 1) shows through ctl, clone, the log and /events. */
		rc = jobs_set(fs->js, j, kind_setting(a->kind), text, why, n);
		rc = rc < 0 ? rc : 0;
	}
	free(text);
	if (rc == 0)
		*written = count;
	return rc;
}

static int fs_stat(Fid *f, Dirinfo *d)
{
	Fs *fs = FS(f);
	Faux *a = f->aux;
	Job *j = faux_job(fs, a);
	if (a->job_id && !j)
		return -ENOENT;
	static char runname[24];
	switch (a->kind) {
	case K_ROOT: describe(fs, K_ROOT, NULL, 0, "/", DMDIR | 0555, d); return 0;
	case K_JOBDIR: describe(fs, K_JOBDIR, j, 0, j->name, DMDIR | 0777, d); return 0;
	case K_RUNDIR:
		snprintf(runname, sizeof runname, "%lld", (long long)a->run_seq);
		describe(fs, K_RUNDIR, j, a->run_id, runname, DMDIR | 0555, d);
		return 0;
	case K_NODEDIR:
		describe(fs, K_NODEDIR, NULL, node_id(a->node), a->node, DMDIR | 0555, d);
		return 0;
	default: {
		const Tab *t = find_tab(fs, a->kind);
		describe(fs, a->kind, j, a->node ? node_id(a->node) : a->run_id, t->name, t->perm, d);
		if (a->kind == K_RUNSTATUS)
			d->length = run_status_length(fs, j, a->run_seq);
		return 0;
	}
	}
}

static int fs_truncate(Fid *f, char *why, size_t n)
{
	Fs *fs = FS(f);
	Faux *a = f->aux;
	Job *j = faux_job(fs, a);
	const Tab *t = find_tab(fs, a->kind);
	/* Writable files accept truncation as a no-op: echo > ctl does it. */
	if (t && (t->perm & 0222) && !(t->perm & DMDIR))
		return j ? may_control(fs, f, j, why, n) : 0;
	strfmt(why, n, "file is read-only");
	return -EACCES;
}

/* mkdir jobs/NAME: an empty job. Files cannot be created. */
static int fs_create(Fid *f, const char *name, uint32_t perm, int omode, char *why, size_t n)
{
	Fs *fs = FS(f);
	Faux *a = f->aux;
	(void)omode;
	if (a->kind != K_JOBS || !(perm & DMDIR)) {
		strfmt(why, n, a->kind == K_JOBS ? "only directories (jobs) can be made here; or write to clone"
		                                 : "cannot create files here");
		return -EPERM;
	}
	Job *j;
	int rc = may_write_jobs(fs, f, why, n);
	if (rc < 0 || (rc = jobs_create_empty(fs->js, f->uid, name, &j, why, n)) < 0)
		return rc;
	set_place(f, K_JOBDIR, j, 0, 0);
	return 0;
}

/* Removing a job's directory deletes the job. Files inside it (and run
 * records) are generated: removing them is accepted and does nothing, so that
 * rm -r, which empties a directory before removing it, works. */
static int fs_remove(Fid *f, char *why, size_t n)
{
	Fs *fs = FS(f);
	Job *j;
	int rc = fid_job(f, &j, why, n);
	if (rc < 0)
		return rc;
	switch (((Faux *)f->aux)->kind) {
	case K_ROOT: case K_CLONE: case K_JOBS: case K_STATS: case K_NODES: case K_NODEDIR:
	case K_NODESTATUS:
		strfmt(why, n, "cannot remove that");
		return -EPERM;
	case K_JOBDIR:
		if ((rc = may_control(fs, f, j, why, n)) < 0)
			return rc;
		return jobs_delete(fs->js, j, why, n);
	default:
		/* Generated files: nothing to remove, but only for those who may delete the job. */
		return j ? may_control(fs, f, j, why, n) : 0;
	}
}

static void fs_flush(Req *r)
{
	if (is_node_kind(((Faux *)r->fid->aux)->kind))
		nodes_flush(r);
	else
		live_flush(r);
}

int fs_reload_users(Fs *fs, char *why, size_t n)
{
	Users allow, deny;
	int rc = users_load(fs->cfg.allow_file, &allow, why, n);
	if (rc < 0)
		return rc;
	if ((rc = users_load(fs->cfg.deny_file, &deny, why, n)) < 0) {
		users_free(&allow);
		return rc;
	}
	users_free(&fs->allow);
	users_free(&fs->deny);
	fs->allow = allow;
	fs->deny = deny;
	return 0;
}

static void on_touched(void *fs, Job *j) { fs_touched(fs, j); }
static void on_gone(void *fs, Job *j) { fs_gone(fs, j); }

Fs *fs_new(Jobs *js, const FsConfig *cfg, char *why, size_t n)
{
	Fs *fs = xcalloc(1, sizeof *fs);
	fs->js = js;
	fs->cfg = *cfg;
	size_t k = 0;
	for (size_t i = 0; i < NELEM(jobhead); i++)
		fs->jobtab[k++] = jobhead[i];
	for (int i = 0; i < SET_N; i++)
		fs->jobtab[k++] = (Tab){ setting_tab[i].name, setting_kind(i), 0666 };
	fs->jobtab[k] = jobtail;
	if (fs_reload_users(fs, why, n) < 0) {
		free(fs);
		return NULL;
	}
	fs->live = live_new(fs);
	fs->nodes = nodes_new(fs);
	jobs_watch(js, &(JobsWatch){ .arg = fs, .touched = on_touched, .gone = on_gone });
	fs->start = wall_now_ns() / 1000000000;
	fs->n_uid = (uint32_t)getuid();
	fs->n_gid = (uint32_t)getgid();
	struct passwd *pw = getpwuid(getuid());
	struct group *gr = getgrgid(getgid());
	strfmt(fs->uid, sizeof fs->uid, "%s", pw ? pw->pw_name : "jobd");
	strfmt(fs->gid, sizeof fs->gid, "%s", gr ? gr->gr_name : "jobd");
	return fs;
}

SrvOps fs_ops(Fs *fs)
{
	return (SrvOps){
		.aux = fs,
		.attach = fs_attach,
		.walk1 = fs_walk1,
		.clone = fs_clone,
		.open = fs_open,
		.create = fs_create,
		.read = fs_read,
		.dirent = fs_dirent,
		.write = fs_write,
		.stat = fs_stat,
		.truncate = fs_truncate,
		.remove = fs_remove,
		.flush = fs_flush,
		.destroyfid = fs_destroyfid,
	};
}

void fs_free(Fs *fs)
{
	if (!fs)
		return;
	users_free(&fs->allow);
	users_free(&fs->deny);
	live_free(fs->live);
	nodes_free(fs->nodes);
	free(fs);
}
