/* The store's conformance suite: the same store.h calls on SQLite alone and
 * on a cluster's node (the node's SQLite cache, each change also sent to a
 * private PostgreSQL 15 by the mirror: doc/cluster.md) must read back the
 * same through store.h.
 *
 * Each script below is run twice, on a plain store and through node a, as
 * jobd makes its calls (src/jobs/: a fire is claimed by store_fire_claim
 * alone, and in a cluster by the database's claim, cnode_claim_run, then
 * recorded with store_fire_put; a run is started after the database's
 * fenced start; history is saved by store_job_save at a run's end, counted
 * in memory as runs.c counts it). A script is cut into turns (turn()): the
 * commit that ends jobd's loop turn. At each turn the state of the script's
 * jobs (state_of: everything store.h reads back, ids excepted) is taken on
 * SQLite alone, and node a's cache must come to the same state once the
 * database's answers are in (the node's own log text comes back into its
 * cache from the database, with the database's positions). After the
 * script, a fresh node, its cache filled from the database alone, must read
 * back the same as SQLite alone, and the calls' outcomes (return codes,
 * run numbers) must be the same on both sides.
 *
 * store.h covered (both backends):
 *   store_job_create (a name taken: -EEXIST; no name: -EINVAL), store_job_save
 *   (every setting; owner and creation time never change), store_job_set_started,
 *   store_job_delete (and a name made again after it, in a later batch and in
 *   the same one), store_jobs_load (creation order, every field, an early stop),
 *   fire claims (store_fire_claim alone / the database's claim + store_fire_put
 *   on a node; a fire claimed twice is refused on both; manual runs),
 *   store_run_start (a token too long: -EINVAL), store_run_end (done, skipped,
 *   killed, timed out, truncated; a bad final state: -EINVAL), store_runs_read,
 *   store_run_get (every number, kept or not), store_runs_retain (by count and by
 *   bytes, with the caller's counts and without, the log's bound that takes runs
 *   that began before its cut, a run in progress through it), store_text_append
 *   (many chunks: more than a node reads in one go; chunks of STORE_CHUNK_MAX
 *   and over it; chunks above the SQLite reader's inline size; every byte
 *   value; several runs' output interleaved in the log; another job's run),
 *   store_text_extent, store_text_read (whole, in pages, at offsets inside and
 *   across chunks, before what is kept: -ESTALE, at and past the end),
 *   store_commit, store_pending (true after a change), store_fire_known (each
 *   run's instant, and instants never claimed).
 *
 * Deliberately SQLite-only (not here; t_store covers them):
 *   store_open / store_close / store_dir and STORE_SYNC_*: files, locks,
 *     permissions, durability, quick_check and schema migration are the
 *     local file's; a node's cache is made new at each start.
 *   store_runs_interrupted / store_run_settle: crash recovery of a lone
 *     daemon found at store_open; in a cluster a dead node's runs are the
 *     reaper's (RUN_LOST, t_reap), and a node's cache is made new.
 *   store_convert_lines: databases before schema 7; PostgreSQL begins at 7.
 *   The disk-full reserve (-ENOSPC): the local disk's.
 *   store_observe: the mechanism under test, not a behaviour to compare.
 * Differences by design, normalised in state_of: ids (each backend makes
 * its own; runs are compared in id order, jobs in creation order); a run's
 * node ("" alone, the node's name in a cluster: printed "self" for both).
 * store_pending after a commit is not compared: a node's cache takes the
 * database's rows into an open batch of its own at any time.
 * The last four scripts each guard a disagreement this suite found and
 * src/ fixed (A to D at each). Each script's jobs are deleted on both sides after
 * it, so that the next fresh node reads only the next script's. */
#include "cluster/cluster.h"
#include "pgtest.h"
#include "scratch.h"
#include "unit.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uv_loop_t loop;

enum { NJOB = 10, NRUN = 40, NTURN = 64, CATCH_UP_MS = 4000 };

/* ---- a growing text ---- */

typedef struct TBuf {
	char *p;
	size_t len, cap;
} TBuf;

static void bput(TBuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void bprintf(TBuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(TBuf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (k > 0)
		bput(b, tmp, (size_t)k < sizeof tmp ? (size_t)k : sizeof tmp - 1);
}

/* Bytes as readable text: printable ASCII as is, the rest \xHH. */
static void besc(TBuf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch >= 0x20 && ch < 0x7f && ch != '\\')
			bput(b, (const char *)&ch, 1);
		else
			bprintf(b, "\\x%02x", ch);
	}
}

static void bfree(TBuf *b)
{
	free(b->p);
	*b = (TBuf){ 0 };
}

static const char *bstr(const TBuf *b)
{
	return b->p ? b->p : "";
}

static uint64_t fnv(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

/* Where two states part: the first differing line of each, for a message. */
static void where_they_differ(const char *x, const char *y, char *out, size_t cap)
{
	size_t i = 0, line = 1, bol = 0;
	while (x[i] && x[i] == y[i]) {
		if (x[i] == '\n') {
			line++;
			bol = i + 1;
		}
		i++;
	}
	const char *ex = strchr(x + bol, '\n'), *ey = strchr(y + bol, '\n');
	int lx = ex ? (int)(ex - x - (long)bol) : (int)strlen(x + bol);
	int ly = ey ? (int)(ey - y - (long)bol) : (int)strlen(y + bol);
	snprintf(out, cap, "line %zu:\n  SQLite alone: %.*s\n  cluster:      %.*s", line,
	         lx > 700 ? 700 : lx, x + bol, ly > 700 ? 700 : ly, y + bol);
}

/* ---- nodes ---- */

typedef struct Node {
	char name[32];
	Store *st;
	Cluster *cl;
} Node;

static Node a;

/* Node a's jobs put into its cache from the database (ClusterOpts.job):
 * the callback's count when each job last came. */
static uint64_t cb_seq;
typedef struct CbLast {
	int64_t id;
	uint64_t at;
} CbLast;
static CbLast cb_last[512];
static int ncb;

static void on_job(void *arg, int64_t id, const StoreJob *j)
{
	(void)arg;
	(void)j;
	cb_seq++;
	for (int i = 0; i < ncb; i++)
		if (cb_last[i].id == id) {
			cb_last[i].at = cb_seq;
			return;
		}
	if (ncb < (int)(sizeof cb_last / sizeof cb_last[0]))
		cb_last[ncb++] = (CbLast){ id, cb_seq };
}

static uint64_t cb_at(int64_t id)
{
	for (int i = 0; i < ncb; i++)
		if (cb_last[i].id == id)
			return cb_last[i].at;
	return 0;
}

static int node_open(Node *nd, const char *name, int observe)
{
	char why[512];
	snprintf(nd->name, sizeof nd->name, "%s", name);
	int rc = store_open(scratch_path(), STORE_SYNC_NORMAL, &nd->st, NULL, why, sizeof why);
	CHECKF(rc == 0, "store_open: %s", why);
	if (rc < 0)
		return rc;
	ClusterOpts o = { .conninfo = pgtest_conninfo, .node = nd->name, .cache = nd->st,
	                  .job = observe ? on_job : NULL };
	rc = cluster_open(&loop, &o, 20000, &nd->cl, why, sizeof why);
	CHECKF(rc == 0, "cluster_open %s: %s", nd->name, why);
	if (rc == 0 && observe)
		cluster_observe(nd->cl, nd->st);
	return rc;
}

static void on_closed(void *arg)
{
	*(int *)arg = 1;
}

static void node_close(Node *nd)
{
	if (nd->cl) {
		int closed = 0;
		cluster_close(nd->cl, on_closed, &closed);
		while (!closed && uv_run(&loop, UV_RUN_ONCE))
			;
		nd->cl = NULL;
	}
	if (nd->st)
		store_close(nd->st);
	nd->st = NULL;
}

typedef struct Done {
	int called, rc;
	uint64_t cb;                /* cb_seq when it came */
	char why[256];
} Done;

static void on_done(void *arg, int rc, const char *why)
{
	Done *d = arg;
	d->called = 1;
	d->cb = cb_seq;
	d->rc = rc;
	snprintf(d->why, sizeof d->why, "%s", why);
}

/* ---- what store.h reads back, ids excepted ---- */

/* A job as store_jobs_load handed it, copied. */
typedef struct JobCopy {
	StoreJob j;
	char *name, *schedule, *cmd, *dir, *env, *limits;
} JobCopy;

typedef struct Jobs {
	const char *prefix;         /* names beginning with it, or all (NULL) */
	JobCopy v[NJOB * 2];
	int n, calls, stop_at;      /* stop_at > 0: return 7 at that call */
} Jobs;

static int job_copy(void *arg, const StoreJob *j)
{
	Jobs *js = arg;
	js->calls++;
	if (js->stop_at && js->calls == js->stop_at)
		return 7;
	if (js->prefix && strncmp(j->name, js->prefix, strlen(js->prefix)) != 0)
		return 0;
	if (js->n == (int)(sizeof js->v / sizeof js->v[0]))
		return 0;
	JobCopy *c = &js->v[js->n++];
	c->j = *j;
	c->j.name = c->name = strdup(j->name);
	c->j.schedule = c->schedule = strdup(j->schedule);
	c->j.cmd = c->cmd = strdup(j->cmd);
	c->j.dir = c->dir = strdup(j->dir);
	c->j.env = c->env = strdup(j->env);
	c->j.limits = c->limits = strdup(j->limits);
	return 0;
}

static void jcopies_free(Jobs *js)
{
	for (int i = 0; i < js->n; i++) {
		JobCopy *c = &js->v[i];
		free(c->name);
		free(c->schedule);
		free(c->cmd);
		free(c->dir);
		free(c->env);
		free(c->limits);
	}
	js->n = 0;
}

typedef struct Runs {
	StoreRun v[NRUN * 2];
	int n, calls, stop_at;
} Runs;

static int run_copy(void *arg, const StoreRun *r)
{
	Runs *rs = arg;
	rs->calls++;
	if (rs->stop_at && rs->calls == rs->stop_at)
		return 9;
	if (rs->n < (int)(sizeof rs->v / sizeof rs->v[0]))
		rs->v[rs->n++] = *r;
	return 0;
}

/* A run's fields but its id: job says whether job_id is the job's; node
 * is "self" when it names the side's node ("" alone). */
static void run_fmt(TBuf *b, const StoreRun *r, int64_t job, const char *node)
{
	const char *nd = strcmp(r->node, node) == 0 ? "self" : r->node;
	bprintf(b, "seq=%" PRId64 " job=%s sched=%" PRId64 " state=%d start=%" PRId64 " end=%" PRId64
	        " pid=%d status=%d proc=[%s] node=%s log_off=%" PRId64 " manual=%d flags=%d"
	        " out=%" PRId64, r->seq, r->job_id == job ? "its" : "OTHER", r->sched, r->state,
	        r->start_ns, r->end_ns, r->pid, r->status, r->proc, nd, r->log_off, r->manual,
	        r->flags, r->out_bytes);
}

/* One read: its outcome, what it got (short: the bytes; long: length and hash). */
static void probe(TBuf *b, Store *st, int64_t job, int64_t run, int64_t pos, size_t cap,
                  char *buf)
{
	char why[256];
	size_t got = 0;
	int rc = store_text_read(st, job, run, pos, buf, cap, &got, why, sizeof why);
	bprintf(b, " @%" PRId64 "/%zu:", pos, cap);
	if (rc < 0) {
		bprintf(b, "%d", rc);
		return;
	}
	if (got <= 24) {
		bput(b, "[", 1);
		besc(b, buf, got);
		bput(b, "]", 1);
	} else {
		bprintf(b, "%zu#%016" PRIx64, got, fnv(buf, got));
	}
}

/* The job's log (run 0) or a run's output: extent, whole text read in
 * pages (the pages' sizes too: they follow the chunks), and reads at
 * offsets around the ends, inside and across chunks. */
static void text_fmt(TBuf *b, Store *st, int64_t job, int64_t run)
{
	static char buf[STORE_CHUNK_MAX * 2];
	char why[256];
	int64_t first = 0, end = 0;
	int rc = store_text_extent(st, job, run, &first, &end, why, sizeof why);
	if (rc < 0) {
		bprintf(b, "    extent %d\n", rc);
		return;
	}
	bprintf(b, "    extent [%" PRId64 ", %" PRId64 ")", first, end);
	/* Whole, in pages of 40000 bytes. */
	TBuf all = { 0 };
	int64_t at = first;
	int pages = 0;
	uint64_t psum = 0;
	for (;;) {
		size_t got = 0;
		rc = store_text_read(st, job, run, at, buf, 40000, &got, why, sizeof why);
		if (rc < 0 || got == 0)
			break;
		bput(&all, buf, got);
		psum = psum * 31 + got;
		pages++;
		at += (int64_t)got;
	}
	bprintf(b, " read %zu in %d pages (%" PRIu64 ") rc %d", all.len, pages, psum, rc);
	if (all.len <= 600) {
		bput(b, " [", 2);
		besc(b, bstr(&all), all.len);
		bput(b, "]", 1);
	} else {
		bprintf(b, " #%016" PRIx64 " [", fnv(all.p, all.len));
		besc(b, all.p, 80);
		bput(b, "...", 3);
		besc(b, all.p + all.len - 80, 80);
		bput(b, "]", 1);
	}
	bfree(&all);
	bput(b, "\n    at", 7);
	int64_t pos[] = { first - 1, first, first + 1, first + (end - first) / 3,
	                  first + (end - first) / 2, end - 17, end - 1, end, end + 1 };
	static const size_t caps[] = { 1, 5000, STORE_CHUNK_MAX + 4096 };
	for (size_t i = 0; i < sizeof pos / sizeof pos[0]; i++)
		for (size_t k = 0; k < sizeof caps / sizeof caps[0]; k++)
			if (pos[i] >= 0)
				probe(b, st, job, run, pos[i], caps[k], buf);
	bput(b, "\n", 1);
}

/* Everything store.h reads back of the jobs whose names begin with
 * prefix, but ids; node: the side's node name ("" alone). */
static void state_of(Store *st, const char *prefix, const char *node, TBuf *b)
{
	char why[256];
	Jobs js = { .prefix = prefix };
	int rc = store_jobs_load(st, job_copy, &js, why, sizeof why);
	if (rc != 0)
		bprintf(b, "jobs_load %d %s\n", rc, why);
	for (int i = 0; i < js.n; i++) {
		const StoreJob *j = &js.v[i].j;
		bprintf(b, "job %s schedule=[%s] cmd=[", j->name, j->schedule);
		besc(b, j->cmd, strlen(j->cmd));
		bprintf(b, "] started=%d created=%" PRId64 " last_sched=%" PRId64 " timeout=%" PRId64
		        " overlap=%d misfire=%d orphan=%d dir=[", j->started, j->created_ns,
		        j->last_sched, j->timeout_ms, j->overlap, j->misfire, j->orphan);
		besc(b, j->dir, strlen(j->dir));
		bput(b, "] env=[", 7);
		besc(b, j->env, strlen(j->env));
		bprintf(b, "] limits=[%s] owner=%" PRId64 "\n  history runs=%" PRId64 " failures=%" PRId64
		        " last_start=%" PRId64 " last_end=%" PRId64 " last_status=%d\n", j->limits,
		        j->owner_uid, j->runs_total, j->failures_total, j->last_start_ns, j->last_end_ns,
		        j->last_status);
		static Runs rs;
		rs = (Runs){ 0 };
		rc = store_runs_read(st, j->id, run_copy, &rs, why, sizeof why);
		if (rc != 0)
			bprintf(b, "  runs_read %d %s\n", rc, why);
		int64_t maxseq = 0;
		for (int k = 0; k < rs.n; k++) {
			const StoreRun *r = &rs.v[k];
			bput(b, "  run ", 6);
			run_fmt(b, r, j->id, node);
			bput(b, "\n", 1);
			text_fmt(b, st, j->id, r->id);
			if (r->seq > maxseq)
				maxseq = r->seq;
		}
		/* Each number by store_run_get: the run runs_read lists with it
		 * (the newest, if two), or -ENOENT. */
		bput(b, "  get", 5);
		for (int64_t q = 0; q <= maxseq + 1; q++) {
			StoreRun g;
			rc = store_run_get(st, j->id, q, &g, why, sizeof why);
			const StoreRun *listed = NULL;
			for (int k = 0; k < rs.n; k++)
				if (rs.v[k].seq == q)
					listed = &rs.v[k];
			if (rc < 0) {
				bprintf(b, " %" PRId64 ":%d%s", q, rc, listed ? "(LISTED)" : "");
				continue;
			}
			TBuf x = { 0 }, y = { 0 };
			run_fmt(&x, &g, j->id, node);
			if (listed)
				run_fmt(&y, listed, j->id, node);
			int same = listed && g.id == listed->id && strcmp(bstr(&x), bstr(&y)) == 0;
			bprintf(b, " %" PRId64 ":%s", q, same ? "ok" : "DIFFERS");
			if (!same)
				bprintf(b, "[%s]", bstr(&x));
			bfree(&x);
			bfree(&y);
		}
		/* Which of its instants have a run (store_fire_known): each run's,
		 * the next second's, and one never claimed. */
		bput(b, "\n  known", 8);
		for (int k = 0; k < rs.n; k++)
			if (rs.v[k].sched)
				bprintf(b, " %" PRId64 ":%d %" PRId64 ":%d", rs.v[k].sched,
				        store_fire_known(st, j->id, rs.v[k].sched), rs.v[k].sched + 1,
				        store_fire_known(st, j->id, rs.v[k].sched + 1));
		bprintf(b, " 1:%d", store_fire_known(st, j->id, 1));
		bput(b, "\n  log", 6);
		text_fmt(b, st, j->id, 0);
	}
	jcopies_free(&js);
}

/* ---- one side of a script ---- */

typedef struct Side {
	const char *label;          /* "SQLite alone" or "node a" */
	Store *st;
	Cluster *cl;                /* NULL: SQLite alone */
	JobsCluster ops;
	const char *node;           /* its runs' node: "" alone */
	char prefix[32];            /* the script's jobs: "NAME-" */
	StoreJob job[NJOB];         /* as the jobs table holds them (names: jname) */
	char jname[NJOB][48];
	StoreKept kept[NJOB];
	int64_t run[NJOB][NRUN + 1];        /* run ids by job and number */
	int64_t sched[NJOB][NRUN + 1];
	int64_t out[NJOB][NRUN + 1];        /* bytes of output stored */
	TBuf said;                   /* the calls' outcomes */
	int turn;
	char *turns[NTURN];         /* SQLite alone: the state at each turn */
	struct Side *ref;           /* a node: the SQLite side */
	int dirty[NJOB];            /* jobs changed in the turn (the database has news of them) */
} Side;

static void said(Side *sd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void said(Side *sd, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	bprintf(&sd->said, "%s\n", tmp);
}

typedef struct CmpArg {
	Side *sd;
	const char *want;
	uint64_t since;             /* cb_seq at the commit's done */
	TBuf got;
} CmpArg;

/* The database's answer about each job changed in the turn, asked after
 * the commit (cluster.c on_mirrored), is in the cache, and the cache reads
 * back SQLite's state. (Without the first, a state equal for a moment,
 * before the database's answer replaced the node's own copy, would do.) */
static int caught_up(const void *arg)
{
	CmpArg *c = (CmpArg *)arg;
	for (int k = 0; k < NJOB; k++)
		if (c->sd->dirty[k] && cb_at(c->sd->job[k].id) <= c->since)
			return 0;
	bfree(&c->got);
	state_of(c->sd->st, c->sd->prefix, c->sd->node, &c->got);
	return strcmp(bstr(&c->got), c->want) == 0;
}

/* The end of jobd's loop turn: the commit. Alone, the state is taken; on a
 * node, its cache must come to that state (the database's answers in). */
static void turn(Side *sd)
{
	Done d = { 0 };
	store_commit(sd->st, on_done, &d);
	if (sd->cl)
		CHECKF(pgtest_wait_flag(&loop, &d.called, 10000), "%s: no commit", sd->label);
	CHECKF(d.called && d.rc == 0, "%s: commit: %d %s", sd->label, d.rc, d.why);
	int t = sd->turn++;
	if (t >= NTURN) {
		CHECKF(0, "too many turns");
		return;
	}
	if (!sd->ref) {
		TBuf b = { 0 };
		state_of(sd->st, sd->prefix, sd->node, &b);
		sd->turns[t] = b.p ? b.p : strdup("");
		memset(sd->dirty, 0, sizeof sd->dirty);
		return;
	}
	const char *want = sd->ref->turns[t];
	if (want == NULL) {
		CHECKF(0, "turn %d: the node's script took more turns than SQLite's", t);
		return;
	}
	CmpArg c = { .sd = sd, .want = want, .since = d.cb };
	int ok = pgtest_wait(&loop, caught_up, &c, CATCH_UP_MS);
	memset(sd->dirty, 0, sizeof sd->dirty);
	char diff[2048] = "";
	if (!ok)
		where_they_differ(want, bstr(&c.got), diff, sizeof diff);
	CHECKF(ok, "%s turn %d: node a's cache did not come to SQLite's state; first "
	       "difference at %s", sd->prefix, t, diff);
	bfree(&c.got);
}

/* ---- the calls, as jobd makes them ---- */

/* Job k made (named prefix + suffix); its id kept. */
static int mkjob(Side *sd, int k, const char *suffix, const StoreJob *tpl)
{
	char why[256];
	snprintf(sd->jname[k], sizeof sd->jname[k], "%s%s", sd->prefix, suffix);
	sd->job[k] = *tpl;
	sd->job[k].name = sd->jname[k];
	sd->job[k].id = 0;
	sd->kept[k] = (StoreKept){ -1, -1 };
	int rc = store_job_create(sd->st, &sd->job[k], why, sizeof why);
	said(sd, "create %s: %d", sd->jname[k], rc);
	sd->dirty[k] |= rc == 0;
	if (rc == 0)
		CHECKF(sd->job[k].id > 0, "%s: no id", sd->label);
	return rc;
}

static int save(Side *sd, int k)
{
	char why[256];
	int rc = store_job_save(sd->st, &sd->job[k], why, sizeof why);
	said(sd, "save %d: %d", k, rc);
	sd->dirty[k] |= rc == 0;
	return rc;
}

static int set_started(Side *sd, int k, int on)
{
	char why[256];
	int rc = store_job_set_started(sd->st, sd->job[k].id, on, why, sizeof why);
	if (rc == 0)
		sd->job[k].started = on;
	said(sd, "started %d %d: %d", k, on, rc);
	sd->dirty[k] |= rc == 0;
	return rc;
}

static int del(Side *sd, int k)
{
	char why[256];
	int rc = store_job_delete(sd->st, sd->job[k].id, why, sizeof why);
	said(sd, "delete %d: %d", k, rc);
	sd->dirty[k] |= rc == 0;
	return rc;
}

typedef struct Claimed {
	int called, rc;
	int64_t seq;
	char busy[80];
} Claimed;

static void on_claimed(void *arg, int rc, int64_t seq, const char *busy, const char *why)
{
	Claimed *c = arg;
	(void)why;
	c->called = 1;
	c->rc = rc;
	c->seq = seq;
	snprintf(c->busy, sizeof c->busy, "%s", busy ? busy : "");
}

/* Fire sched of job k (0: a manual run): its number, or 0 if it was
 * claimed before. Alone: store_fire_claim. On a node: the database's claim
 * with a run id of the node's, then store_fire_put (jobs/remote.c). */
static int64_t claim(Side *sd, int k, int64_t sched)
{
	char why[256];
	int64_t id = 0, seq = 0;
	int rc;
	if (!sd->cl) {
		rc = store_fire_claim(sd->st, sd->job[k].id, sched, &id, &seq, why, sizeof why);
		CHECKF(rc == 0 || rc == -EALREADY, "claim: %d %s", rc, why);
	} else {
		id = sd->ops.new_id(sd->ops.arg);
		CHECK(id > 0);
		Claimed c = { 0 };
		rc = sd->ops.claim(sd->ops.arg, sd->job[k].id, sched, id, on_claimed, &c);
		CHECKF(rc == 0, "claim: %d", rc);
		CHECKF(pgtest_wait_flag(&loop, &c.called, 10000), "no answer to a claim");
		CHECKF(c.rc == 1 || c.rc == 0, "claim: %d", c.rc);
		rc = c.rc == 1 ? 0 : -EALREADY;
		seq = c.seq;
		if (rc == 0) {
			rc = store_fire_put(sd->st, sd->job[k].id, sched, id, seq, why, sizeof why);
			CHECKF(rc == 0, "store_fire_put: %d %s", rc, why);
		}
	}
	said(sd, "claim %d @%" PRId64 ": %d seq %" PRId64, k, sched, rc, rc == 0 ? seq : 0);
	sd->dirty[k] |= rc == 0;
	if (rc < 0)
		return 0;
	CHECKF(seq > 0 && seq <= NRUN, "seq %" PRId64, seq);
	if (seq <= 0 || seq > NRUN)
		return 0;
	sd->run[k][seq] = id;
	sd->sched[k][seq] = sched;
	sd->out[k][seq] = 0;
	if (sched > sd->job[k].last_sched)
		sd->job[k].last_sched = sched;        /* runs_claimed */
	return seq;
}

static void on_fenced(void *arg, int ok, const char *why)
{
	Claimed *c = arg;
	(void)why;
	c->called = 1;
	c->rc = ok;
}

/* Run seq of job k started (a node asks the database first: the fenced
 * start); the job's last start moves in memory only (runs.c on_started). */
static void start(Side *sd, int k, int64_t seq, int64_t t_ns, int pid)
{
	char why[256], tok[32];
	if (sd->cl) {
		Claimed c = { 0 };
		int rc = sd->ops.start(sd->ops.arg, sd->job[k].id, sd->sched[k][seq], on_fenced, &c);
		CHECKF(rc == 0, "start: %d", rc);
		CHECKF(pgtest_wait_flag(&loop, &c.called, 10000), "no answer to a start");
		CHECKF(c.rc == 1, "fenced start refused: %d", c.rc);
	}
	snprintf(tok, sizeof tok, "tok-%d-%" PRId64, k, seq);
	int rc = store_run_start(sd->st, sd->run[k][seq], t_ns, pid, tok, why, sizeof why);
	said(sd, "start %d/%" PRId64 ": %d", k, seq, rc);
	sd->dirty[k] |= rc == 0;
	sd->job[k].last_start_ns = t_ns;
}

/* Text for job k's log (seq 0) or run seq's output (and the log). */
static int text(Side *sd, int k, int64_t seq, const char *t, size_t len)
{
	char why[256];
	int rc = store_text_append(sd->st, sd->job[k].id, seq ? sd->run[k][seq] : 0, t, len, why,
	                           sizeof why);
	if (rc == 0 && seq)
		sd->out[k][seq] += (int64_t)len;
	sd->dirty[k] |= rc == 0 && len > 0;
	if (rc != 0)
		said(sd, "text %d/%" PRId64 " %zu: %d", k, seq, len, rc);
	return rc;
}

static int textf(Side *sd, int k, int64_t seq, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int textf(Side *sd, int k, int64_t seq, const char *fmt, ...)
{
	char t[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t, sizeof t, fmt, ap);
	va_end(ap);
	return text(sd, k, seq, t, (size_t)n);
}

/* Retention as jobd asks for it after a run's end (with the job's counts). */
static void retain(Side *sd, int k, int64_t keep_runs, int64_t keep_bytes, int counted)
{
	char why[256];
	StoreKept before = sd->kept[k];
	if (counted && before.runs < 0) {
		/* Counted by the store now: what it finds, for the comparison below. */
		static Runs rs;
		rs = (Runs){ 0 };
		store_runs_read(sd->st, sd->job[k].id, run_copy, &rs, why, sizeof why);
		before.runs = 0;
		for (int i = 0; i < rs.n; i++)
			before.runs += rs.v[i].state >= RUN_DONE;
		before.bytes = sd->kept[k].bytes;
	}
	int rc = store_runs_retain(sd->st, sd->job[k].id, keep_runs, keep_bytes,
	                           counted ? &sd->kept[k] : NULL, why, sizeof why);
	/* Retention tells the database only when it did something: always
	 * without counts; with them, when runs went (the counts moved). */
	sd->dirty[k] |= rc == 0 && (!counted || before.runs != sd->kept[k].runs);
	if (rc < 0)
		sd->kept[k].runs = -1;
	said(sd, "retain %d: %d kept %" PRId64 " %" PRId64, k, rc, counted ? sd->kept[k].runs : -2,
	     counted ? sd->kept[k].bytes : -2);
	CHECKF(rc == 0, "%s: retain: %s", sd->label, why);
}

/* Run seq's end as runs.c records it (run_end_record): the end, the
 * job's history saved, retention (keep_runs 0: none asked). */
static void finish(Side *sd, int k, int64_t seq, int64_t end_ns, int status, int flags,
                   int64_t keep_runs, int64_t keep_bytes)
{
	char why[256];
	StoreRunEnd e = { .run_id = sd->run[k][seq], .state = RUN_DONE, .end_ns = end_ns,
	                  .status = status, .flags = flags };
	int rc = store_run_end(sd->st, &e, why, sizeof why);
	said(sd, "end %d/%" PRId64 ": %d", k, seq, rc);
	sd->dirty[k] |= rc == 0;
	StoreJob *j = &sd->job[k];
	j->runs_total++;
	j->failures_total += status != 0;
	j->last_end_ns = end_ns;
	j->last_status = status;
	save(sd, k);
	if (sd->kept[k].runs >= 0) {
		sd->kept[k].runs++;
		sd->kept[k].bytes += sd->out[k][seq];
	}
	if (keep_runs > 0)
		retain(sd, k, keep_runs, keep_bytes, 1);
}

/* A run that never started, skipped (runs.c end_unstarted). */
static void skip(Side *sd, int k, int64_t seq, int64_t end_ns)
{
	char why[256];
	StoreRunEnd e = { .run_id = sd->run[k][seq], .state = RUN_SKIPPED, .end_ns = end_ns };
	int rc = store_run_end(sd->st, &e, why, sizeof why);
	said(sd, "skip %d/%" PRId64 ": %d", k, seq, rc);
	sd->dirty[k] |= rc == 0;
	if (sd->kept[k].runs >= 0)
		sd->kept[k].runs++;
}

/* Started: jobd claims only a started job's instants, and a cluster's
 * database refuses the others (cluster/fire.c). */
static const StoreJob tpl_plain = { .schedule = "* * * * *", .cmd = "true", .dir = "",
                                    .env = "", .limits = "", .owner_uid = 1000,
                                    .created_ns = 1000000000, .started = 1 };

#define NS(s) ((int64_t)(s) * 1000000000LL)

/* ---- the scripts ---- */

/* (1) A job's life: made, every setting saved, started and stopped, runs,
 * deleted, its name made again (in a later batch, and in the same one). */
static void script_life(Side *sd)
{
	char why[256];
	StoreJob t = { .schedule = "0 3 * * *", .cmd = "tar c /etc # \xc3\xa9\xff", .dir = "",
	               .env = "", .limits = "", .owner_uid = 1000, .created_ns = 111 };
	mkjob(sd, 0, "a", &t);
	CHECK(store_pending(sd->st));
	said(sd, "again: %d", mkjob(sd, 9, "a", &t));               /* the name is taken */
	StoreJob nameless = { .schedule = "* * * * *", .cmd = "true" };
	said(sd, "nameless: %d", store_job_create(sd->st, &nameless, why, sizeof why));
	turn(sd);
	StoreJob *j = &sd->job[0];
	j->schedule = "*/5 * * * * *";
	j->cmd = "printf '%s\\n' \"$A\" \x01\x7f\x80\xfe";
	j->timeout_ms = 1500;
	j->overlap = 2;
	j->misfire = 1;
	j->orphan = 1;
	j->dir = "/srv/\xc3\xa9t\xc3\xa9 dir";
	j->env = "A=1\nB=two words\nC=\xe2\x82\xac\n";
	j->limits = "cpu=50% mem=64M nproc=32";
	j->owner_uid = 4242;        /* never changed by a save */
	j->created_ns = 999;        /* nor this */
	save(sd, 0);
	turn(sd);
	set_started(sd, 0, 1);
	turn(sd);
	set_started(sd, 0, 1);
	set_started(sd, 0, 0);
	turn(sd);
	j->timeout_ms = 0;
	j->overlap = 0;
	j->misfire = 0;
	j->orphan = 0;
	j->dir = "";
	j->env = "";
	j->limits = "";
	save(sd, 0);
	set_started(sd, 0, 1);
	turn(sd);
	for (int r = 1; r <= 2; r++) {
		int64_t seq = claim(sd, 0, 1000 + 60 * r);
		start(sd, 0, seq, NS(1000 + 60 * r) + 5, 500 + r);
		textf(sd, 0, 0, "t:run %d started\n", r);
		textf(sd, 0, seq, "t:output %d\n", r);
		turn(sd);
		finish(sd, 0, seq, NS(1000 + 60 * r) + 9, r - 1, 0, 0, 0);
		turn(sd);
	}
	del(sd, 0);
	turn(sd);
	/* Gone: each change of it refused alike. */
	int64_t gone = sd->job[0].id;
	said(sd, "save gone: %d", store_job_save(sd->st, j, why, sizeof why));
	said(sd, "start gone: %d", store_job_set_started(sd->st, gone, 1, why, sizeof why));
	said(sd, "delete gone: %d", store_job_delete(sd->st, gone, why, sizeof why));
	int64_t first, end;
	said(sd, "extent gone: %d", store_text_extent(sd->st, gone, 0, &first, &end, why, sizeof why));
	turn(sd);
	/* Its name again, another job: numbers from 1, a log from 0. */
	StoreJob t2 = { .schedule = "@hourly", .cmd = "echo again", .dir = "", .env = "",
	                .limits = "", .owner_uid = 7, .created_ns = 222, .started = 1 };
	mkjob(sd, 1, "a", &t2);
	mkjob(sd, 2, "b", &t2);
	sd->job[1].dir = "/tmp";
	sd->job[1].env = "X=y\n";
	save(sd, 1);
	turn(sd);
	int64_t seq = claim(sd, 1, 5000);
	start(sd, 1, seq, NS(5000) + 1, 77);
	textf(sd, 1, seq, "t:again\n");
	turn(sd);
	finish(sd, 1, seq, NS(5000) + 2, 0, 0, 0, 0);
	/* Deleted and made again in one batch. */
	del(sd, 2);
	mkjob(sd, 3, "b", &tpl_plain);
	turn(sd);
}

/* (2) Several jobs at once: the listing's order and every job's content. */
static void script_many(Side *sd)
{
	static const char *const names[] = { "zulu", "alpha", "mike", "bravo", "kilo", "echo" };
	for (int k = 0; k < 6; k++) {
		StoreJob t = tpl_plain;
		char cmd[64];
		snprintf(cmd, sizeof cmd, "run %s", names[k]);
		t.cmd = cmd;
		t.owner_uid = 100 + k;
		t.created_ns = NS(10 + k);
		t.started = k != 0 && k != 2 && k != 4;     /* started in a later turn */
		mkjob(sd, k, names[k], &t);
		/* The strings are the caller's: kept for the saves below. */
		sd->job[k].cmd = k % 2 ? "odd" : "even";
	}
	turn(sd);
	for (int k = 0; k < 6; k++) {
		sd->job[k].env = k % 2 ? "N=odd\n" : "N=even\n";
		sd->job[k].timeout_ms = 1000 * k;
		save(sd, k);
	}
	for (int k = 0; k < 6; k += 2)
		set_started(sd, k, 1);
	sd->job[1].timeout_ms = 60000;
	sd->job[1].overlap = 1;
	save(sd, 1);
	sd->job[4].misfire = 2;
	sd->job[4].schedule = "@daily";
	save(sd, 4);
	turn(sd);
	del(sd, 2);
	mkjob(sd, 6, "november", &tpl_plain);
	mkjob(sd, 7, "mike", &tpl_plain);
	turn(sd);
	for (int k = 0; k < 8; k++) {
		if (k == 2)
			continue;
		int64_t seq = claim(sd, k, 3000);
		start(sd, k, seq, NS(3000) + k, 900 + k);
		textf(sd, k, seq, "t:%s\n", sd->jname[k]);
	}
	turn(sd);
	for (int k = 7; k >= 0; k--)
		if (k != 2)
			finish(sd, k, 1, NS(3001) + k, k % 3, 0, 0, 0);
	set_started(sd, 0, 0);
	turn(sd);
	/* The listing stops where its callback says, with the callback's value. */
	char why[256];
	Jobs js = { .stop_at = 3 };
	int rc = store_jobs_load(sd->st, job_copy, &js, why, sizeof why);
	said(sd, "jobs_load stopped: %d after %d", rc, js.calls);
	jcopies_free(&js);
}

/* (3) Runs: scheduled claims (one claimed twice), manual runs, runs that
 * overlap, and every way a run ends; the history counts. */
static void script_runs(Side *sd)
{
	char why[256];
	mkjob(sd, 0, "r", &tpl_plain);
	mkjob(sd, 1, "quiet", &tpl_plain);      /* claims in another job: numbers are per job */
	turn(sd);
	set_started(sd, 0, 1);
	int64_t s1 = claim(sd, 0, 2000);
	said(sd, "twice: %" PRId64, claim(sd, 0, 2000));
	int64_t m1 = claim(sd, 0, 0);                               /* manual */
	int64_t q1 = claim(sd, 1, 2000);
	turn(sd);
	start(sd, 0, s1, NS(2000) + 10, 1001);
	start(sd, 0, m1, NS(2000) + 11, 1002);
	textf(sd, 0, s1, "t:scheduled\n");
	textf(sd, 0, m1, "t:manual\n");
	start(sd, 1, q1, NS(2000) + 12, 1003);
	turn(sd);
	/* Ended in the other order than they began: killed, then exit 0. */
	finish(sd, 0, m1, NS(2000) + 20, -9, RUNF_KILLED, 0, 0);
	turn(sd);
	finish(sd, 0, s1, NS(2000) + 21, 0, 0, 0, 0);
	finish(sd, 1, q1, NS(2000) + 22, 1, 0, 0, 0);
	turn(sd);
	/* A fire skipped (overlap), one timed out, one truncated, a failure. */
	int64_t s2 = claim(sd, 0, 2060), s3 = claim(sd, 0, 2120);
	turn(sd);
	start(sd, 0, s2, NS(2060) + 1, 1004);
	skip(sd, 0, s3, NS(2120) + 1);
	turn(sd);
	textf(sd, 0, s2, "t:slow\n");
	finish(sd, 0, s2, NS(2180), -15, RUNF_TIMEDOUT | RUNF_KILLED, 0, 0);
	turn(sd);
	int64_t s4 = claim(sd, 0, 2240);
	int64_t m2 = claim(sd, 0, 0);
	turn(sd);
	start(sd, 0, s4, NS(2240) + 1, 1005);
	start(sd, 0, m2, NS(2240) + 2, 1006);
	textf(sd, 0, s4, "t:lots\n");
	finish(sd, 0, s4, NS(2240) + 5, 0, RUNF_TRUNCATED, 0, 0);
	finish(sd, 0, m2, NS(2240) + 6, 3, 0, 0, 0);
	turn(sd);
	/* Refused alike: a bad final state, a token too long. */
	StoreRunEnd bad = { .run_id = sd->run[0][s4], .state = RUN_RUNNING, .end_ns = 1 };
	said(sd, "bad end: %d", store_run_end(sd->st, &bad, why, sizeof why));
	char longtok[STORE_PROC_MAX + 1];
	memset(longtok, 'x', sizeof longtok - 1);
	longtok[sizeof longtok - 1] = '\0';
	said(sd, "long token: %d", store_run_start(sd->st, sd->run[0][s4], 1, 1, longtok, why,
	                                           sizeof why));
	/* Left as they are: one claimed, one running. */
	int64_t s5 = claim(sd, 0, 2300), s6 = claim(sd, 0, 2360);
	(void)s5;
	turn(sd);
	start(sd, 0, s6, NS(2360) + 3, 1007);
	textf(sd, 0, s6, "t:still running\n");
	turn(sd);
	/* The runs listing stops where its callback says. */
	static Runs rs;
	rs = (Runs){ .stop_at = 2 };
	int rc = store_runs_read(sd->st, sd->job[0].id, run_copy, &rs, why, sizeof why);
	said(sd, "runs_read stopped: %d after %d", rc, rs.calls);
}

/* (4) Text: many appends (more chunks than a node reads in one go), runs'
 * output interleaved in the log, chunks of STORE_CHUNK_MAX and above it,
 * long chunks, every byte value; reads at offsets (state_of). */
static void script_text(Side *sd)
{
	mkjob(sd, 0, "t", &tpl_plain);
	mkjob(sd, 1, "other", &tpl_plain);
	turn(sd);
	for (int i = 0; i < 150; i++)
		textf(sd, 0, 0, "t%03d:line %d of the job's own\n", i, i);
	turn(sd);
	int64_t r1 = claim(sd, 0, 100), r2 = claim(sd, 0, 0), o1 = claim(sd, 1, 100);
	turn(sd);
	start(sd, 0, r1, NS(100) + 1, 11);
	start(sd, 0, r2, NS(100) + 2, 12);
	start(sd, 1, o1, NS(100) + 3, 13);
	for (int i = 0; i < 40; i++) {
		textf(sd, 0, r1, "a%02d:first run, line %d\n", i, i);
		if (i % 3 == 0)
			textf(sd, 0, r2, "b%02d:second run, line %d\n", i, i);
		if (i % 7 == 0)
			textf(sd, 0, 0, "j%02d:the job's line\n", i);
	}
	turn(sd);
	/* Every byte value, NUL included, in lines. */
	char bytes[600];
	size_t n = 0;
	for (int c = 0; c < 256; c++) {
		bytes[n++] = (char)c;
		if (c % 64 == 63)
			bytes[n++] = '\n';
	}
	bytes[n++] = '\n';
	text(sd, 0, r1, bytes, n);
	/* Long chunks: above the SQLite reader's inline size, at the limit,
	 * and one byte over it (refused alike). */
	static char big[STORE_CHUNK_MAX + 1];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)(i % 97 == 96 ? '\n' : 'a' + (int)(i % 26));
	big[20000 - 1] = '\n';
	text(sd, 0, r2, big, 20000);
	turn(sd);
	big[STORE_CHUNK_MAX - 1] = '\n';
	text(sd, 0, r1, big, STORE_CHUNK_MAX);
	said(sd, "over the limit: %d", text(sd, 0, r1, big, STORE_CHUNK_MAX + 1));
	said(sd, "nothing: %d", text(sd, 0, r1, big, 0));
	textf(sd, 0, r2, "z:after the big one\n");
	turn(sd);
	/* Another job's run is none of this job's. */
	char why[256];
	said(sd, "other's run: %d", store_text_append(sd->st, sd->job[0].id, sd->run[1][o1],
	                                              "x:y\n", 4, why, sizeof why));
	int64_t f, e;
	said(sd, "other's extent: %d", store_text_extent(sd->st, sd->job[0].id, sd->run[1][o1], &f,
	                                                 &e, why, sizeof why));
	finish(sd, 0, r1, NS(200), 0, 0, 0, 0);
	finish(sd, 0, r2, NS(201), 0, 0, 0, 0);
	finish(sd, 1, o1, NS(202), 0, 0, 0, 0);
	turn(sd);
	for (int i = 0; i < 70; i++)
		textf(sd, 0, 0, "o%02d:more chunks than one read takes\n", i);
	turn(sd);
}

/* (5) Retention: by count and by bytes with the caller's counts, counted
 * by the store, and the log's bound that takes the runs begun before its
 * cut (with a run in progress through it). */
static void script_keep(Side *sd)
{
	mkjob(sd, 0, "count", &tpl_plain);
	mkjob(sd, 1, "bytes", &tpl_plain);
	mkjob(sd, 2, "log", &tpl_plain);
	turn(sd);
	/* Keep 3 runs. */
	for (int r = 1; r <= 8; r++) {
		int64_t seq = claim(sd, 0, 100 * r);
		if (r % 4 == 0) {
			skip(sd, 0, seq, NS(100 * r));
			retain(sd, 0, 3, 1 << 20, 1);
			turn(sd);
			continue;
		}
		start(sd, 0, seq, NS(100 * r) + 1, r);
		textf(sd, 0, 0, "j:run %d started\n", r);
		textf(sd, 0, seq, "o:run %d says hello\n", r);
		turn(sd);
		finish(sd, 0, seq, NS(100 * r) + 2, r % 2, 0, 3, 1 << 20);
		turn(sd);
	}
	/* Keep what fits in 2500 bytes of output. */
	static char out[1200];
	memset(out, 'b', sizeof out);
	for (int r = 1; r <= 5; r++) {
		int64_t seq = claim(sd, 1, 100 * r);
		start(sd, 1, seq, NS(100 * r) + 1, r);
		for (int i = 0; i < r; i++) {
			out[100 * (i + 1) - 1] = '\n';
			text(sd, 1, seq, out, (size_t)(100 * (i + 1)));
		}
		turn(sd);
		finish(sd, 1, seq, NS(100 * r) + 2, 0, 0, 100, 2500);
		turn(sd);
	}
	/* Recounted by the store (no counts): as text.c does for the job's own lines. */
	retain(sd, 1, 1, 2500, 0);
	turn(sd);
	/* The log's bound (2 * keep_bytes): the job's own lines grow it past
	 * the bound; the runs begun before the cut go, a run in progress stays
	 * and loses the beginning of its output. */
	int64_t s1 = claim(sd, 2, 100), s2 = claim(sd, 2, 200), s3 = claim(sd, 2, 300);
	turn(sd);
	start(sd, 2, s1, NS(100), 1);
	textf(sd, 2, s1, "o:one\n");
	turn(sd);
	finish(sd, 2, s1, NS(101), 0, 0, 100, 400);
	start(sd, 2, s2, NS(200), 2);
	textf(sd, 2, s2, "o:two\n");
	turn(sd);
	finish(sd, 2, s2, NS(201), 0, 0, 100, 400);
	/* (Started after run 2's end: a save while a run is in progress is
	 * script_edit's.) */
	start(sd, 2, s3, NS(300), 3);
	textf(sd, 2, s3, "o:three, still running\n");
	turn(sd);
	for (int i = 0; i < 12; i++) {
		textf(sd, 2, 0, "j%02d:a line of the job's own, long enough to count\n", i);
		if (i % 4 == 3)
			textf(sd, 2, s3, "o%02d:three again\n", i);
		retain(sd, 2, 100, 400, 0);
		turn(sd);
	}
	finish(sd, 2, s3, NS(400), 0, 0, 100, 400);
	turn(sd);
}

/* (6) What else a cache must reproduce: a run's numbers asked one by one
 * (kept, retained, never made), a job's log when all its runs went, and
 * reads of text that retention took (-ESTALE / -ENOENT). */
static void script_misc(Side *sd)
{
	char why[256];
	mkjob(sd, 0, "m", &tpl_plain);
	turn(sd);
	int64_t first = 0;
	for (int r = 1; r <= 4; r++) {
		int64_t seq = claim(sd, 0, 10 * r);
		if (r == 1)
			first = seq;
		start(sd, 0, seq, NS(10 * r), r);
		textf(sd, 0, seq, "o:%d\n", r);
		turn(sd);
		finish(sd, 0, seq, NS(10 * r) + 1, 0, 0, 2, 1 << 20);
		turn(sd);
	}
	char buf[64];
	size_t got = 0;
	said(sd, "gone run's output: %d", store_text_read(sd->st, sd->job[0].id, sd->run[0][first],
	                                                  0, buf, sizeof buf, &got, why, sizeof why));
	said(sd, "log at 0: %d", store_text_read(sd->st, sd->job[0].id, 0, 0, buf, sizeof buf, &got,
	                                         why, sizeof why));
	StoreRun g;
	said(sd, "get 1: %d", store_run_get(sd->st, sd->job[0].id, 1, &g, why, sizeof why));
	/* Every run goes (keep 0 is asked as 1 by jobd; the store takes 0). */
	retain(sd, 0, 0, 0, 0);
	turn(sd);
	textf(sd, 0, 0, "j:after everything went\n");
	turn(sd);
}

/* The disagreements this suite found, each a script of its own, kept so
 * that they stay fixed. */

/* A: an edit saved while a run is in progress. jobd saves the job's
 * history from memory (last_start_ns set when the run started), and SQLite
 * alone stores that start at once. The cluster's mirror ignored the
 * history a save carries, so the node read the previous run's start until
 * the run ended; mirror_job_save now takes the last start (it only moves
 * forward, so any node's may be taken). */
static void script_edit(Side *sd)
{
	mkjob(sd, 0, "e", &tpl_plain);
	turn(sd);
	int64_t s1 = claim(sd, 0, 100);
	start(sd, 0, s1, NS(100) + 1, 1);
	turn(sd);
	finish(sd, 0, s1, NS(100) + 2, 0, 0, 0, 0);
	int64_t s2 = claim(sd, 0, 200);
	turn(sd);
	start(sd, 0, s2, NS(200) + 1, 2);
	sd->job[0].timeout_ms = 30000;          /* an edit while run 2 runs */
	save(sd, 0);
	turn(sd);
	finish(sd, 0, s2, NS(200) + 2, 0, 0, 0, 0);
	turn(sd);
}

/* B: a run that could not start (spawn failed): runs.c records it done,
 * status 127, and counts it (runs_total, failures_total) without touching
 * last_end_ns or last_status. The cluster's database counted it as any
 * finished run; mirror_run_put now leaves the last end and status alone
 * for a run that never started (no start time). */
static void script_spawnfail(Side *sd)
{
	char why[256];
	mkjob(sd, 0, "s", &tpl_plain);
	turn(sd);
	int64_t s1 = claim(sd, 0, 100);
	start(sd, 0, s1, NS(100) + 1, 1);
	turn(sd);
	finish(sd, 0, s1, NS(100) + 2, 0, 0, 0, 0);
	int64_t s2 = claim(sd, 0, 200);
	turn(sd);
	StoreRunEnd e = { .run_id = sd->run[0][s2], .state = RUN_DONE, .end_ns = NS(200) + 5,
	                  .status = 127 };
	said(sd, "unstarted end: %d", store_run_end(sd->st, &e, why, sizeof why));
	sd->job[0].runs_total++;
	sd->job[0].failures_total++;
	save(sd, 0);                            /* the job's next save */
	turn(sd);
}

/* C (latent: jobd creates every job with empty settings and history):
 * store_job_create with settings in the StoreJob. SQLite keeps only the
 * name, schedule, command, started, created_ns, last_sched and owner; the
 * cluster's database stored every field. store.h now says what a create
 * keeps, and mirror_job_create keeps the same. */
static void script_create(Side *sd)
{
	StoreJob t = { .schedule = "@daily", .cmd = "true", .dir = "/var", .env = "A=1\n",
	               .limits = "nproc=8", .timeout_ms = 5000, .overlap = 1, .misfire = 1,
	               .orphan = 1, .runs_total = 3, .failures_total = 1, .last_status = 2,
	               .owner_uid = 5, .created_ns = 55 };
	mkjob(sd, 0, "c", &t);
	turn(sd);
}

/* D: a node's read of several jobs at once takes at most REPLICA_CHUNKS
 * chunks in all (one LIMIT over every job of the read, in job order). When
 * the page was full, replica.c read again only the jobs with rows in it, so
 * a later job of the same read whose chunks all fell past the limit never
 * got its text (a fresh node's load reads up to REPLICA_PAGE jobs at once).
 * Now the page's last job and every job after it are read again. Here job
 * a (the lower id) has 70 chunks and job b one line. */
static void script_chunkpage(Side *sd)
{
	mkjob(sd, 0, "a", &tpl_plain);
	mkjob(sd, 1, "b", &tpl_plain);
	turn(sd);
	for (int i = 0; i < 70; i++)
		textf(sd, 0, 0, "a%02d:one chunk of many\n", i);
	textf(sd, 1, 0, "b:the other job's line\n");
	turn(sd);
}

/* ---- running a script on both sides ---- */

static Store *plain_st;

static void side_free(Side *sd)
{
	bfree(&sd->said);
	for (int i = 0; i < NTURN; i++)
		free(sd->turns[i]);
}

static void conform(const char *name, void (*script)(Side *))
{
	static Side p, n;
	p = (Side){ .label = "SQLite alone", .st = plain_st, .node = "" };
	n = (Side){ .label = "node a", .st = a.st, .cl = a.cl, .node = "a", .ref = &p };
	snprintf(p.prefix, sizeof p.prefix, "%s-", name);
	snprintf(n.prefix, sizeof n.prefix, "%s-", name);
	cluster_jobs_ops(a.cl, &n.ops);
	script(&p);
	script(&n);
	CHECKF(p.turn == n.turn, "turns: %d alone, %d on the node", p.turn, n.turn);
	char diff[2048];
	if (strcmp(bstr(&p.said), bstr(&n.said)) != 0) {
		where_they_differ(bstr(&p.said), bstr(&n.said), diff, sizeof diff);
		CHECKF(0, "the calls' outcomes differ at %s", diff);
	}
	/* A node started now reads the database alone into its cache. */
	Node f = { 0 };
	char fname[32];
	snprintf(fname, sizeof fname, "fresh-%s", name);
	if (node_open(&f, fname, 0) == 0) {
		TBuf want = { 0 }, got = { 0 };
		state_of(plain_st, p.prefix, "", &want);
		state_of(f.st, p.prefix, "a", &got);
		if (strcmp(bstr(&want), bstr(&got)) != 0) {
			where_they_differ(bstr(&want), bstr(&got), diff, sizeof diff);
			CHECKF(0, "a fresh node's cache is not SQLite's state: %s", diff);
		}
		if (getenv("T_CONFORM_SHOW"))
			printf("%s%s", bstr(&p.said), bstr(&want));
		bfree(&want);
		bfree(&got);
	}
	node_close(&f);
	/* The script's jobs go on both sides. */
	Side *both[] = { &p, &n };
	for (int s = 0; s < 2; s++) {
		static Jobs js;
		char why[256];
		js = (Jobs){ .prefix = p.prefix };
		CHECK(store_jobs_load(both[s]->st, job_copy, &js, why, sizeof why) == 0);
		for (int i = 0; i < js.n; i++)
			CHECK(store_job_delete(both[s]->st, js.v[i].j.id, why, sizeof why) == 0);
		jcopies_free(&js);
		Done d = { 0 };
		store_commit(both[s]->st, on_done, &d);
		CHECK(pgtest_wait_flag(&loop, &d.called, 10000) && d.rc == 0);
	}
	side_free(&p);
	side_free(&n);
}

static void test_life(void) { conform("life", script_life); }
static void test_many(void) { conform("many", script_many); }
static void test_runs(void) { conform("runs", script_runs); }
static void test_text(void) { conform("text", script_text); }
static void test_keep(void) { conform("keep", script_keep); }
static void test_misc(void) { conform("misc", script_misc); }
static void test_edit_during_run(void) { conform("edit", script_edit); }
static void test_spawn_failure(void) { conform("spawnfail", script_spawnfail); }
static void test_create_with_settings(void) { conform("create", script_create); }
static void test_chunk_page(void) { conform("chunkpage", script_chunkpage); }

static int may_start(const void *arg)
{
	(void)arg;
	return cnode_may_start(cluster_node(a.cl));
}

static void test_setup(void)
{
	char why[256];
	CHECKF(store_open(scratch_path(), STORE_SYNC_NORMAL, &plain_st, NULL, why, sizeof why) == 0,
	       "%s", why);
	if (node_open(&a, "a", 1) < 0)
		return;
	CHECKF(pgtest_wait(&loop, may_start, NULL, 10000), "node a has no lease");
	/* A node's claims are the database's: store_fire_claim is refused. */
	StoreJob j = tpl_plain;
	j.name = "setup";
	CHECK(store_job_create(a.st, &j, why, sizeof why) == 0);
	int64_t id, seq;
	CHECK(store_fire_claim(a.st, j.id, 100, &id, &seq, why, sizeof why) == -ENOTSUP);
	CHECK(store_job_delete(a.st, j.id, why, sizeof why) == 0);
	Done d = { 0 };
	store_commit(a.st, on_done, &d);
	CHECK(pgtest_wait_flag(&loop, &d.called, 10000) && d.rc == 0);
}

int main(void)
{
	unit_prog = "t_conform";
	pgtest_init();
	if (scratch_init("t_conform") < 0)
		return 1;
	uv_loop_init(&loop);
	unit_run("server", pgtest_server);
	if (unit_failed_checks)
		return unit_done();
	unit_run("setup", test_setup);
	if (unit_failed_checks)
		return unit_done();
	unit_run("job-lifecycle", test_life);
	unit_run("many-jobs", test_many);
	unit_run("runs-and-history", test_runs);
	unit_run("log-and-output", test_text);
	unit_run("retention", test_keep);
	unit_run("run-numbers-and-gone-text", test_misc);
	unit_run("edit-during-a-run", test_edit_during_run);
	unit_run("run-that-could-not-start", test_spawn_failure);
	unit_run("create-with-settings", test_create_with_settings);
	unit_run("text-of-jobs-read-together", test_chunk_page);
	node_close(&a);
	if (plain_st)
		store_close(plain_st);
	uv_loop_close(&loop);
	scratch_rmtree(scratch_root());
	return unit_done();
}
