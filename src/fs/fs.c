/* The name space. Files are described by one table (dirtab) and read and
 * written with a switch on the kind encoded in the qid path:
 *     path = job id << 8 | kind
 * Job ids are never reused, so a deleted and re-created job is a new file. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <pwd.h>
#include <grp.h>

#include "fs.h"
#include "util/log.h"
#include "util/util.h"

enum Kind { K_ROOT = 1, K_CLONE, K_JOBS, K_JOBDIR, K_CTL, K_CMD, K_SCHEDULE, K_LOG };

typedef struct Tab {
	const char *name;
	enum Kind kind;
	uint32_t perm;              /* DMDIR | bits */
} Tab;

static const Tab roottab[] = {
	{ "clone", K_CLONE, 0666 },
	{ "jobs", K_JOBS, DMDIR | 0555 },
};
static const Tab jobtab[] = {
	{ "ctl", K_CTL, 0666 },
	{ "cmd", K_CMD, 0444 },
	{ "schedule", K_SCHEDULE, 0444 },
	{ "log", K_LOG, 0444 },
};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct Fs {
	Jobs *js;
	FsConfig cfg;
	int64_t start;              /* times of the synthetic directories */
	char uid[64], gid[64];
	uint32_t n_uid, n_gid;
};

/* Per-fid state. */
typedef struct Faux {
	enum Kind kind;
	int64_t job_id;             /* 0 for files outside /jobs/NAME */
	char *job_name;             /* to find the job again (ids are checked) */
	Buf snap;                   /* content snapshot taken at open */
	int snapped;
	char *created;              /* clone: name of the job this fid created */
} Faux;

static Fs *FS(Fid *f) { return srv_ops_aux(conn_srv(f->conn)); }

static uint64_t qpath(int64_t id, enum Kind k) { return (uint64_t)id << 8 | (uint64_t)k; }

static Job *faux_job(Fs *fs, Faux *a)
{
	if (!a->job_name)
		return NULL;
	Job *j = jobs_lookup(fs->js, a->job_name, strlen(a->job_name));
	return j && j->id == a->job_id ? j : NULL;
}

static Qid mkqid(Fs *fs, enum Kind k, Job *j)
{
	Qid q = { .type = QTFILE, .path = qpath(j ? j->id : 0, k) };
	switch (k) {
	case K_ROOT: q.type = QTDIR; break;
	case K_JOBS: q.type = QTDIR; q.vers = jobs_dir_version(fs->js); break;
	case K_JOBDIR: q.type = QTDIR; break;
	case K_CTL: q.vers = j->vers_ctl; break;
	case K_SCHEDULE: q.vers = j->vers_sched; break;
	case K_LOG: q.vers = j->vers_log; break;
	default: break;
	}
	return q;
}

static void set_place(Fid *f, enum Kind k, Job *j)
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
	f->qid = mkqid(FS(f), k, j);
}

/* ---- rendering ---- */

static void render(Fs *fs, enum Kind k, Job *j, Buf *out)
{
	switch (k) {
	case K_CTL: buf_addstr(out, j->started ? "started" : "stopped"); break;
	case K_CMD: buf_addstr(out, j->cmd); break;
	case K_SCHEDULE: jobs_render_schedule(fs->js, j, out); break;
	case K_LOG: {
		char why[256];
		if (jobs_render_log(fs->js, j, out, why, sizeof why) < 0)
			LOGE("job %s: cannot read log: %s", j->name, why);
		break;
	}
	default: break;
	}
}

static uint64_t file_length(Fs *fs, enum Kind k, Job *j)
{
	Buf b = {0};
	uint64_t n = 0;
	/* The log's length would mean reading it all; report 0 (cat reads to EOF). */
	if (k == K_CTL || k == K_CMD || k == K_SCHEDULE) {
		render(fs, k, j, &b);
		n = b.len;
	}
	buf_free(&b);
	return n;
}

static void describe(Fs *fs, enum Kind k, Job *j, const char *name, uint32_t perm, Dirinfo *d)
{
	memset(d, 0, sizeof *d);
	d->qid = mkqid(fs, k, j);
	d->mode = perm;
	d->name = name;
	d->uid = d->gid = d->muid = fs->uid;
	d->gid = fs->gid;
	d->n_uid = fs->n_uid;
	d->n_gid = fs->n_gid;
	d->atime = d->mtime = d->ctime = j ? j->mtime : fs->start;
	if (!(perm & DMDIR))
		d->length = j ? file_length(fs, k, j) : 0;
}

/* ---- ops ---- */

/* There is one tree; the aname is ignored (diod's tools send "ctl" by default). */
static int fs_attach(Fid *f, const char *aname, char *why, size_t n)
{
	(void)aname; (void)why; (void)n;
	f->aux = xcalloc(1, sizeof(Faux));
	set_place(f, K_ROOT, NULL);
	return 0;
}

static int name_is(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

static int fs_walk1(Fid *f, const char *name, size_t len, char *why, size_t n)
{
	Fs *fs = FS(f);
	Faux *a = f->aux;
	Job *j = faux_job(fs, a);
	(void)why; (void)n;
	int dotdot = name_is(name, len, "..");
	switch (a->kind) {
	case K_ROOT:
		if (dotdot) { set_place(f, K_ROOT, NULL); return 0; }
		for (size_t i = 0; i < NELEM(roottab); i++)
			if (name_is(name, len, roottab[i].name)) {
				set_place(f, roottab[i].kind, NULL);
				return 0;
			}
		return -ENOENT;
	case K_JOBS:
		if (dotdot) { set_place(f, K_ROOT, NULL); return 0; }
		j = jobs_lookup(fs->js, name, len);
		if (!j)
			return -ENOENT;
		set_place(f, K_JOBDIR, j);
		return 0;
	case K_JOBDIR:
		if (!j)
			return -ENOENT;     /* the job was deleted under us */
		if (dotdot) { set_place(f, K_JOBS, NULL); return 0; }
		for (size_t i = 0; i < NELEM(jobtab); i++)
			if (name_is(name, len, jobtab[i].name)) {
				set_place(f, jobtab[i].kind, j);
				return 0;
			}
		return -ENOENT;
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
	nf->aux = b;
}

static void fs_destroyfid(Fid *f)
{
	Faux *a = f->aux;
	if (!a)
		return;
	free(a->job_name);
	free(a->created);
	buf_free(&a->snap);
	free(a);
	f->aux = NULL;
}

static const Tab *find_tab(enum Kind k)
{
	for (size_t i = 0; i < NELEM(roottab); i++)
		if (roottab[i].kind == k) return &roottab[i];
	for (size_t i = 0; i < NELEM(jobtab); i++)
		if (jobtab[i].kind == k) return &jobtab[i];
	return NULL;
}

static int fs_open(Fid *f, int omode, char *why, size_t n)
{
	Fs *fs = FS(f);
	Faux *a = f->aux;
	Job *j = faux_job(fs, a);
	if (a->job_id && !j) {
		strfmt(why, n, "job no longer exists");
		return -ENOENT;
	}
	int writing = (omode & 3) == OWRITE || (omode & 3) == ORDWR;
	const Tab *t = find_tab(a->kind);
	if (writing && (!t || !(t->perm & 0222))) {
		strfmt(why, n, "%s is read-only", t ? t->name : "directory");
		return -EACCES;
	}
	/* Snapshot now so every Tread of this open sees one consistent content. */
	buf_free(&a->snap);
	if (j)
		render(fs, a->kind, j, &a->snap);
	a->snapped = 1;
	return 0;
}

static void fs_read(Req *r)
{
	Faux *a = r->fid->aux;
	Fs *fs = FS(r->fid);
	if (a->kind == K_CLONE) {
		/* After a successful write, the clone fid reads back the new job's name. */
		const char *s = a->created ? a->created : "";
		srv_read_reply(r, s, strlen(s));
		return;
	}
	(void)fs;
	srv_read_reply(r, a->snap.data ? a->snap.data : "", a->snap.len);
}

static int fs_dirent(Fid *f, uint64_t index, Dirinfo *d)
{
	Fs *fs = FS(f);
	Faux *a = f->aux;
	Job *j = faux_job(fs, a);
	switch (a->kind) {
	case K_ROOT:
		if (index >= NELEM(roottab))
			return 0;
		describe(fs, roottab[index].kind, NULL, roottab[index].name, roottab[index].perm, d);
		return 1;
	case K_JOBS: {
		Job *jj = jobs_nth(fs->js, index);
		if (!jj)
			return 0;
		describe(fs, K_JOBDIR, jj, jj->name, DMDIR | 0555, d);
		return 1;
	}
	case K_JOBDIR:
		if (!j || index >= NELEM(jobtab))
			return 0;
		describe(fs, jobtab[index].kind, j, jobtab[index].name, jobtab[index].perm, d);
		return 1;
	default:
		return 0;
	}
}

/* Copies a write into a NUL-terminated string, dropping one trailing newline
 * (echo adds it). Refuses NUL bytes and oversized writes. */
static int take_line(Fs *fs, const uint8_t *data, uint32_t count, char **out, char *why, size_t n)
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

static int write_clone(Fs *fs, Faux *a, const uint8_t *data, uint32_t count, char *why, size_t n)
{
	char *line;
	int rc = take_line(fs, data, count, &line, why, n);
	if (rc < 0)
		return rc;
	/* name:cronexpr:cmd, split at the first two colons. */
	char *c1 = strchr(line, ':');
	char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (!c2) {
		strfmt(why, n, "want name:cronexpr:command, got '%.80s'", line);
		free(line);
		return -EINVAL;
	}
	*c1 = *c2 = 0;
	Job *j;
	rc = jobs_create(fs->js, line, c1 + 1, c2 + 1, &j, why, n);
	if (rc == 0) {
		free(a->created);
		a->created = xstrdup(j->name);
	}
	free(line);
	return rc;
}

static int write_ctl(Fs *fs, Job *j, const uint8_t *data, uint32_t count, char *why, size_t n)
{
	char *text, *save = NULL;
	int rc = take_line(fs, data, count, &text, why, n);
	if (rc < 0)
		return rc;
	/* One verb per line, applied in order; the first failure is reported. */
	int nverbs = 0;
	for (char *v = strtok_r(text, "\n", &save); v && rc == 0; v = strtok_r(NULL, "\n", &save)) {
		size_t len = strlen(v);
		while (len && (v[len - 1] == ' ' || v[len - 1] == '\t' || v[len - 1] == '\r'))
			v[--len] = 0;
		while (*v == ' ' || *v == '\t')
			v++;
		if (!*v)
			continue;
		nverbs++;
		if (strcasecmp(v, "start") == 0)
			rc = jobs_start(fs->js, j, why, n);
		else if (strcasecmp(v, "stop") == 0)
			rc = jobs_stop(fs->js, j, why, n);
		else {
			strfmt(why, n, "unknown ctl verb '%.40s' (verbs: start, stop)", v);
			rc = -EINVAL;
		}
	}
	if (rc == 0 && nverbs == 0) {
		strfmt(why, n, "empty ctl write (verbs: start, stop)");
		rc = -EINVAL;
	}
	free(text);
	return rc;
}

static int fs_write(Fid *f, uint64_t offset, const uint8_t *data, uint32_t count,
                    uint32_t *written, char *why, size_t n)
{
	Fs *fs = FS(f);
	Faux *a = f->aux;
	Job *j = faux_job(fs, a);
	int rc;
	(void)offset;   /* control files: every write is one whole message */
	switch (a->kind) {
	case K_CLONE:
		rc = write_clone(fs, a, data, count, why, n);
		break;
	case K_CTL:
		if (!j) {
			strfmt(why, n, "job no longer exists");
			return -ENOENT;
		}
		rc = write_ctl(fs, j, data, count, why, n);
		break;
	default:
		strfmt(why, n, "file is read-only");
		return -EACCES;
	}
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
	switch (a->kind) {
	case K_ROOT: describe(fs, K_ROOT, NULL, "/", DMDIR | 0555, d); return 0;
	case K_JOBDIR: describe(fs, K_JOBDIR, j, j->name, DMDIR | 0555, d); return 0;
	default: {
		const Tab *t = find_tab(a->kind);
		describe(fs, a->kind, j, t->name, t->perm, d);
		return 0;
	}
	}
}

static int fs_truncate(Fid *f, char *why, size_t n)
{
	Faux *a = f->aux;
	const Tab *t = find_tab(a->kind);
	/* Writable control files accept truncation as a no-op: echo > ctl does it. */
	if (t && (t->perm & 0222) && !(t->perm & DMDIR))
		return 0;
	strfmt(why, n, "file is read-only");
	return -EACCES;
}

static int fs_remove(Fid *f, char *why, size_t n)
{
	(void)f;
	strfmt(why, n, "removing is not supported yet; stop the job instead");
	return -EPERM;
}

static void fs_flush(Req *r)
{
	/* No file parks reads yet; a flushed request is answered (and the reply discarded). */
	req_error(r, EINTR, "interrupted");
}

Fs *fs_new(Jobs *js, const FsConfig *cfg)
{
	Fs *fs = xcalloc(1, sizeof *fs);
	fs->js = js;
	fs->cfg = *cfg;
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
	free(fs);
}
