/* A node's cache kept up with the database (replica.h).
 *
 * A read takes up to REPLICA_PAGE jobs at once, in four statements sent
 * back to back: the job rows, their runs, where each log now begins, and
 * the chunks past what the cache holds (one statement, so one snapshot:
 * positions are handed out under the job row's lock and so commit in
 * order, and no chunk can appear later below one already seen). A log
 * with more than REPLICA_CHUNKS chunks to come is read again for the rest.
 * Nothing is assumed about the order of reads: each puts what the
 * database has now, so a read that arrives late puts nothing older than
 * what it replaces.
 *
 * A read that fails (the connection went) is not tried again here: the
 * caller reads everything again when the connection is back (the feed's
 * resync), which covers it. */
#include "cluster/replica.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/cache.h"
#include "util/log.h"
#include "util/util.h"

enum { Q_JOBS, Q_RUNS, Q_FIRST, Q_CHUNKS, NQ };

typedef struct Read {
	struct Read *next;
	Replica *r;                 /* NULL once the replica is closed */
	int64_t ids[REPLICA_PAGE];
	unsigned n;
	PGresult *res[NQ];
	uint64_t since;             /* ReplicaOpts.now when it was sent */
	int text_only;              /* only Q_CHUNKS: the rest of text a read's page cut */
	int answers, failed;
	char why[256];
} Read;

/* Jobs to read, first in first out. */
typedef struct Queue {
	int64_t *v;
	size_t n, cap, head;
} Queue;

struct Replica {
	PgConn *c;
	Store *cache;
	ReplicaOpts o;
	Queue want;                 /* jobs to read whole */
	Queue text;                 /* jobs whose text goes on past a read's page */
	Read *reads;                /* in flight */
	unsigned inflight;
	/* replica_all: listing the database's jobs, then reading them. */
	int all, listing, all_failed;
	int64_t all_after;
	uint64_t all_since;         /* ReplicaOpts.now when replica_all began */
	int64_t *cached;            /* the cache's jobs at the start, sorted */
	size_t ncached;
	unsigned char *seen;        /* of cached: listed by the database */
	void (*all_done)(void *arg, int rc, const char *why);
	void *all_arg;
	char all_why[256];
	Replica **list_cell;        /* the listing's request points here (close clears) */
};

static void pump(Replica *r);

/* ---- what to read ---- */

static void enqueue(Queue *q, int64_t id)
{
	/* A job asked for again while it waits is read once. The scan is
	 * bounded: past that, a job may be read twice, which is harmless. */
	size_t from = q->n > 1024 ? q->n - 1024 : q->head;
	for (size_t i = from > q->head ? from : q->head; i < q->n; i++)
		if (q->v[i] == id)
			return;
	if (q->head > 0 && q->head == q->n)
		q->head = q->n = 0;
	if (q->n == q->cap) {
		if (q->head > 0) {
			memmove(q->v, q->v + q->head, (q->n - q->head) * sizeof *q->v);
			q->n -= q->head;
			q->head = 0;
		} else {
			q->cap = q->cap ? 2 * q->cap : 256;
			q->v = xrealloc(q->v, q->cap * sizeof *q->v);
		}
	}
	q->v[q->n++] = id;
}

static void want(Replica *r, int64_t id)
{
	enqueue(&r->want, id);
}

unsigned replica_pending(const Replica *r)
{
	unsigned n = (unsigned)(r->want.n - r->want.head + r->text.n - r->text.head);
	for (const Read *d = r->reads; d; d = d->next)
		n += d->n;
	return n;
}

/* ---- rows into structs ---- */

static int64_t i64(const PGresult *res, int row, int col)
{
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* A bytea field as a C string (jobd's strings have no NUL), malloc'ed. */
static char *bytes(const PGresult *res, int row, int col, size_t *len)
{
	size_t n = 0;
	unsigned char *b = PQunescapeBytea((const unsigned char *)PQgetvalue(res, row, col), &n);
	char *s = xmalloc(n + 1);
	if (b && n)
		memcpy(s, b, n);
	s[b ? n : 0] = '\0';
	if (len)
		*len = b ? n : 0;
	PQfreemem(b);
	return s;
}

static void run_row(const PGresult *res, int i, StoreRun *w)
{
	memset(w, 0, sizeof *w);
	w->id = i64(res, i, 0);
	w->job_id = i64(res, i, 1);
	w->sched = i64(res, i, 2);
	w->state = (int)i64(res, i, 3);
	w->start_ns = i64(res, i, 4);
	w->end_ns = i64(res, i, 5);
	w->pid = (int)i64(res, i, 6);
	w->status = (int)i64(res, i, 7);
	snprintf(w->proc, sizeof w->proc, "%s", PQgetvalue(res, i, 8));
	w->seq = i64(res, i, 9);
	w->manual = (int)i64(res, i, 10);
	w->flags = (int)i64(res, i, 11);
	w->out_bytes = i64(res, i, 12);
	snprintf(w->node, sizeof w->node, "%s", PQgetvalue(res, i, 13));
	w->log_off = i64(res, i, 14);
}

/* ---- putting a read into the cache ---- */

static int find_row(const PGresult *res, int64_t id)
{
	for (int i = 0; res && i < PQntuples(res); i++)
		if (i64(res, i, 0) == id)
			return i;
	return -1;
}

/* The job's runs, from the rows of res (ordered by job): as one list. */
static int by_sched(const void *x, const void *y)
{
	const StoreRun *a = x, *b = y;
	if (a->sched != b->sched)
		return (a->sched > b->sched) - (a->sched < b->sched);
	return (a->id > b->id) - (a->id < b->id);
}

/* An instant run again (orphan=rerun) has two runs in the database, the
 * lost one and the one run again; a store keeps one run per scheduled
 * instant (its key), and which one it kept depended on their ids (the
 * other was put over it), so a node could lose the run it was running.
 * The lost one goes: the job's log says it was lost. Returns the count. */
static size_t one_per_instant(StoreRun *runs, size_t k)
{
	qsort(runs, k, sizeof *runs, by_sched);
	size_t out = 0;
	for (size_t i = 0, e; i < k; i = e) {
		for (e = i + 1; e < k && runs[i].sched != 0 && runs[e].sched == runs[i].sched; e++)
			;
		/* The group [i, e): one instant's runs (a manual run is alone). The
		 * one not lost, or the last made if both were. */
		size_t keep = e - 1;
		for (size_t g = i; g < e; g++)
			if (runs[g].state != RUN_LOST)
				keep = g;
		runs[out++] = runs[keep];
	}
	return out;
}

static int put_runs(Replica *r, int64_t id, const PGresult *res, int held, char *why, size_t n)
{
	int total = PQntuples(res);
	size_t k = 0;
	StoreRun *runs = xmalloc(((size_t)total + 1) * sizeof *runs);
	for (int i = 0; i < total; i++)
		if (i64(res, i, 1) == id)
			run_row(res, i, &runs[k++]);
	k = one_per_instant(runs, k);
	int rc = store_cache_runs(r->cache, id, runs, k, held, why, n);
	free(runs);
	return rc;
}

/* The job's chunks, in order, from the end of its log in the cache; says
 * whether the page was full (more to read). */
static int put_chunks(Replica *r, int64_t id, const PGresult *res, char *why, size_t n)
{
	for (int i = 0; i < PQntuples(res); i++) {
		if (i64(res, i, 0) != id)
			continue;
		size_t len;
		char *text = bytes(res, i, 5, &len);
		int rc = store_cache_chunk(r->cache, id, i64(res, i, 1), i64(res, i, 2),
		                           i64(res, i, 3), text, len, why, n);
		free(text);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int put_job(Replica *r, const PGresult *jobs, int row, char *why, size_t n)
{
	StoreJob j = { 0 };
	char *cmd = bytes(jobs, row, 3, NULL), *dir = bytes(jobs, row, 10, NULL);
	char *env = bytes(jobs, row, 11, NULL);
	j.id = i64(jobs, row, 0);
	j.name = PQgetvalue(jobs, row, 1);
	j.schedule = PQgetvalue(jobs, row, 2);
	j.cmd = cmd;
	j.started = (int)i64(jobs, row, 4);
	j.created_ns = i64(jobs, row, 5);
	j.last_sched = i64(jobs, row, 6);
	j.timeout_ms = i64(jobs, row, 7);
	j.overlap = (int)i64(jobs, row, 8);
	j.misfire = (int)i64(jobs, row, 9);
	j.dir = dir;
	j.env = env;
	j.runs_total = i64(jobs, row, 12);
	j.failures_total = i64(jobs, row, 13);
	j.last_start_ns = i64(jobs, row, 14);
	j.last_end_ns = i64(jobs, row, 15);
	j.last_status = (int)i64(jobs, row, 16);
	j.owner_uid = i64(jobs, row, 17);
	j.limits = PQgetvalue(jobs, row, 18);
	j.orphan = (int)i64(jobs, row, 19);
	int rc = store_cache_job(r->cache, &j, i64(jobs, row, 20), why, n);
	if (rc == 0 && r->o.job)
		r->o.job(r->o.arg, j.id, &j);
	free(cmd);
	free(dir);
	free(env);
	return rc;
}

/* One job of a read: its row first (chunks and runs need it), then where
 * its log begins, its text, its runs. */
static int put_one(Replica *r, Read *d, int64_t id, char *why, size_t n)
{
	int row = find_row(d->res[Q_JOBS], id);
	int held = r->o.hold && r->o.hold(r->o.arg, id, d->since);
	if (row < 0 && held)
		return 0;               /* made here, not in the database yet */
	if (row < 0) {
		int rc = store_cache_drop_job(r->cache, id, why, n);
		if (rc == 0 && r->o.job)
			r->o.job(r->o.arg, id, NULL);
		return rc;
	}
	int rc = held ? 0 : put_job(r, d->res[Q_JOBS], row, why, n);
	int f = rc == 0 ? find_row(d->res[Q_FIRST], id) : -1;
	if (f >= 0)
		rc = store_cache_log_first(r->cache, id, i64(d->res[Q_FIRST], f, 1), why, n);
	if (rc == 0)
		rc = put_chunks(r, id, d->res[Q_CHUNKS], why, n);
	if (rc == 0)
		rc = put_runs(r, id, d->res[Q_RUNS], held, why, n);
	return rc;
}

static void mark_seen(Replica *r, int64_t id)
{
	size_t lo = 0, hi = r->ncached;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (r->cached[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < r->ncached && r->cached[lo] == id)
		r->seen[lo] = 1;
}

static void put(Replica *r, Read *d)
{
	char why[256];
	for (unsigned i = 0; i < d->n; i++) {
		int rc = d->text_only ? put_chunks(r, d->ids[i], d->res[Q_CHUNKS], why, sizeof why)
		                      : put_one(r, d, d->ids[i], why, sizeof why);
		if (rc == -EINVAL) {
			/* Its text does not meet the cache's end (the cache moved on
			 * meanwhile: a retention here or there): read it again whole,
			 * where the log begins with it. */
			VLOG(1, "cluster: job %" PRId64 ": %s; reading it again", d->ids[i], why);
			want(r, d->ids[i]);
		} else if (rc < 0) {
			LOGW("cluster: cannot put job %" PRId64 " into the cache: %s", d->ids[i], why);
			if (r->all && !r->all_failed) {
				r->all_failed = 1;
				snprintf(r->all_why, sizeof r->all_why, "job %" PRId64 ": %.200s", d->ids[i],
				         why);
			}
		}
	}
	/* A full page of chunks (one limit over every job of the read, in the
	 * order of their ids): the job of its last row may have more, and the
	 * jobs after it had none of theirs read at all. Their text is read on,
	 * text only (their rows and runs are in the cache now: reading those
	 * again for each page made a new node's start read every run of every
	 * job once per page); the jobs before it are whole. */
	const PGresult *ch = d->res[Q_CHUNKS];
	int nch = PQntuples(ch);
	if (nch == REPLICA_CHUNKS) {
		int64_t last = i64(ch, nch - 1, 0);
		for (unsigned i = 0; i < d->n; i++)
			if (d->ids[i] >= last)
				enqueue(&r->text, d->ids[i]);
	}
}

/* ---- reads ---- */

static void read_free(Read *d)
{
	for (int k = 0; k < NQ; k++)
		if (d->res[k])
			PQclear(d->res[k]);
	free(d);
}

static void finish(Replica *r);

static void on_answer(Read *d, int k, PGresult *res, const char *err)
{
	if (res)
		d->res[k] = res;
	else if (!d->failed) {
		d->failed = 1;
		snprintf(d->why, sizeof d->why, "%s", err);
	}
	if (++d->answers < (d->text_only ? 1 : NQ))
		return;
	Replica *r = d->r;
	if (r == NULL) {
		read_free(d);
		return;
	}
	for (Read **p = &r->reads; *p; p = &(*p)->next)
		if (*p == d) {
			*p = d->next;
			break;
		}
	r->inflight--;
	if (d->failed) {
		LOGW("cluster: cannot read %u jobs from the database: %s", d->n, d->why);
		if (r->all) {
			r->all_failed = 1;
			snprintf(r->all_why, sizeof r->all_why, "%s", d->why);
		}
	} else {
		put(r, d);
	}
	read_free(d);
	pump(r);
	finish(r);
}

/* The results are kept past the callback: PgQueryDone's result is the
 * callee's to clear only if copied; pgconn clears it after done returns. */
static PGresult *keep(const PGresult *res)
{
	return res ? PQcopyResult(res, PG_COPYRES_ATTRS | PG_COPYRES_TUPLES) : NULL;
}

static void on_jobs(void *arg, PGresult *res, const char *err)
{
	on_answer(arg, Q_JOBS, keep(res), err);
}

static void on_runs(void *arg, PGresult *res, const char *err)
{
	on_answer(arg, Q_RUNS, keep(res), err);
}

static void on_first(void *arg, PGresult *res, const char *err)
{
	on_answer(arg, Q_FIRST, keep(res), err);
}

static void on_chunks(void *arg, PGresult *res, const char *err)
{
	on_answer(arg, Q_CHUNKS, keep(res), err);
}

/* "{1,2,3}" */
static char *array(const int64_t *v, unsigned n)
{
	char *s = xmalloc((size_t)n * 21 + 3), *o = s;
	*o++ = '{';
	for (unsigned i = 0; i < n; i++)
		o += sprintf(o, "%s%" PRId64, i ? "," : "", v[i]);
	*o++ = '}';
	*o = '\0';
	return s;
}

static int send_read(Replica *r, Read *d)
{
	int64_t after[REPLICA_PAGE];
	char why[256];
	for (unsigned i = 0; i < d->n; i++) {
		int64_t first;
		if (store_text_extent(r->cache, d->ids[i], 0, &first, &after[i], why, sizeof why) < 0)
			after[i] = 0;       /* not in the cache yet: its whole log */
	}
	char *ids = array(d->ids, d->n), *afters = array(after, d->n);
	char lim[16];
	snprintf(lim, sizeof lim, "%d", REPLICA_CHUNKS);
	const char *p1[] = { ids }, *p2[] = { ids, afters, lim };
	static const struct {
		const char *sql;
		PgQueryDone *done;
	} q[NQ] = {
		[Q_JOBS] = { "SELECT id, name, schedule, cmd, started, created_ns, last_sched,"
		             " timeout_ms, overlap, misfire, dir, env, runs_total, failures_total,"
		             " last_start_ns, last_end_ns, last_status, owner_uid, limits, orphan,"
		             " run_seq FROM jobs WHERE id = ANY($1::bigint[])", on_jobs },
		[Q_RUNS] = { "SELECT id, job_id, sched, state, start_ns, end_ns, pid, status, proc,"
		             " seq, manual, flags, out_bytes, node, log_off FROM runs"
		             " WHERE job_id = ANY($1::bigint[]) ORDER BY job_id, id", on_runs },
		[Q_FIRST] = { "SELECT j.id, coalesce((SELECT min(off) FROM chunks c"
		              " WHERE c.job_id = j.id), j.log_end) FROM jobs j"
		              " WHERE j.id = ANY($1::bigint[])", on_first },
		[Q_CHUNKS] = { "SELECT c.job_id, c.run_id, c.off, c.roff, c.len, c.text"
		               " FROM unnest($1::bigint[], $2::bigint[]) AS w(job, after)"
		               " JOIN chunks c ON c.job_id = w.job AND c.off >= w.after"
		               " ORDER BY c.job_id, c.off LIMIT $3::int", on_chunks },
	};
	int rc = 0, sent = 0;
	for (int k = d->text_only ? Q_CHUNKS : 0; k < NQ && rc == 0; k++) {
		rc = pgconn_query(r->c, q[k].sql, k == Q_CHUNKS ? 3 : 1, k == Q_CHUNKS ? p2 : p1,
		                  q[k].done, d);
		sent += rc == 0;
	}
	free(ids);
	free(afters);
	if (rc < 0) {
		/* What was sent answers (failed or not); the rest count as failed. */
		d->failed = 1;
		snprintf(d->why, sizeof d->why, "%s", strerror(-rc));
		d->answers += (d->text_only ? 1 : NQ) - sent;
		if (sent == 0)
			return rc;
	}
	return 0;
}

/* Whether job id is in a read on its way. */
static int in_flight(const Replica *r, int64_t id)
{
	for (const Read *d = r->reads; d; d = d->next)
		for (unsigned i = 0; i < d->n; i++)
			if (d->ids[i] == id)
				return 1;
	return 0;
}

/* One read of a job at a time: a second would ask for the text past the
 * same end of the cache's log as the first, and find it moved on when its
 * answer came. A job in flight waits in the queue for the next pump (the
 * answer's end pumps again). */
/* Takes into d up to REPLICA_PAGE jobs of q that no read in flight has;
 * the others stay, in their order. */
static void take(Replica *r, Queue *q, Read *d)
{
	size_t keep = q->head;              /* where the jobs left for later go */
	for (size_t i = q->head; i < q->n; i++) {
		int64_t id = q->v[i];
		if (d->n < REPLICA_PAGE && !in_flight(r, id))
			d->ids[d->n++] = id;
		else
			q->v[keep++] = id;
	}
	q->n = keep;
}

static void pump(Replica *r)
{
	while (r->inflight < REPLICA_INFLIGHT &&
	       (r->want.head < r->want.n || r->text.head < r->text.n)) {
		Read *d = xcalloc(1, sizeof *d);
		d->r = r;
		/* Whole jobs first, then text read on. */
		take(r, &r->want, d);
		if (d->n == 0) {
			d->text_only = 1;
			take(r, &r->text, d);
		}
		if (d->n == 0) {
			free(d);
			return;                 /* all of them in flight: their answers pump */
		}
		d->since = r->o.now ? r->o.now(r->o.arg) : 0;
		d->next = r->reads;
		r->reads = d;
		r->inflight++;
		if (send_read(r, d) < 0) {
			r->reads = d->next;
			r->inflight--;
			LOGW("cluster: cannot read %u jobs from the database: %s", d->n, d->why);
			if (r->all) {
				r->all_failed = 1;
				snprintf(r->all_why, sizeof r->all_why, "%s", d->why);
			}
			read_free(d);
			/* The rest waits for the caller's next read. */
			r->want.head = r->want.n = 0;
			r->text.head = r->text.n = 0;
			finish(r);
			return;
		}
	}
}

void replica_job(Replica *r, int64_t id)
{
	want(r, id);
	pump(r);
}

/* ---- everything ---- */

static int cache_id(void *arg, const StoreJob *j)
{
	Replica *r = arg;
	if (r->ncached % 256 == 0)
		r->cached = xrealloc(r->cached, (r->ncached + 256) * sizeof *r->cached);
	r->cached[r->ncached++] = j->id;
	return 0;
}

/* replica_all is over when the listing is and nothing is left to read. */
static void finish(Replica *r)
{
	int queued = r->want.head < r->want.n || r->text.head < r->text.n;
	if (!r->all || r->listing || r->inflight > 0 || (queued && !r->all_failed))
		return;
	char why[256];
	int rc = r->all_failed ? -EIO : 0;
	if (rc == 0) {
		/* Jobs the cache had that the database has not: deleted meanwhile. */
		for (size_t i = 0; i < r->ncached; i++)
			if (!r->seen[i] && !(r->o.hold && r->o.hold(r->o.arg, r->cached[i], r->all_since)) &&
			    store_cache_drop_job(r->cache, r->cached[i], why,
			                                        sizeof why) == 0 && r->o.job)
				r->o.job(r->o.arg, r->cached[i], NULL);
	}
	r->all = 0;
	free(r->cached);
	free(r->seen);
	r->cached = NULL;
	r->seen = NULL;
	r->ncached = 0;
	if (r->all_done)
		r->all_done(r->all_arg, rc, rc ? r->all_why : "");
}

static void list_page(Replica *r);

static void on_list(void *arg, PGresult *res, const char *err)
{
	Replica *r = *(Replica **)arg;
	free(arg);
	if (r == NULL)
		return;
	r->listing = 0;
	if (res == NULL) {
		r->all_failed = 1;
		snprintf(r->all_why, sizeof r->all_why, "%s", err);
		finish(r);
		return;
	}
	int n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		int64_t id = i64(res, i, 0);
		mark_seen(r, id);
		want(r, id);
		r->all_after = id;
	}
	if (n == REPLICA_PAGE)
		list_page(r);
	pump(r);
	finish(r);
}


static void list_page(Replica *r)
{
	char after[24], lim[16];
	snprintf(after, sizeof after, "%" PRId64, r->all_after);
	snprintf(lim, sizeof lim, "%d", REPLICA_PAGE);
	const char *p[] = { after, lim };
	Replica **cell = xmalloc(sizeof *cell);
	*cell = r;
	r->listing = 1;
	if (pgconn_query(r->c, "SELECT id FROM jobs WHERE id > $1 ORDER BY id LIMIT $2", 2, p,
	                 on_list, cell) < 0) {
		free(cell);
		r->listing = 0;
		r->all_failed = 1;
		snprintf(r->all_why, sizeof r->all_why, "the database is unreachable");
		return;
	}
	r->list_cell = cell;
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

void replica_all(Replica *r, void (*done)(void *arg, int rc, const char *why), void *arg)
{
	char why[256];
	r->all_done = done;
	r->all_arg = arg;
	if (r->all)
		return;                 /* one is under way: it reports to the new done */
	r->all = 1;
	r->all_since = r->o.now ? r->o.now(r->o.arg) : 0;
	r->all_failed = 0;
	r->all_after = 0;
	r->all_why[0] = '\0';
	if (store_jobs_load(r->cache, cache_id, r, why, sizeof why) < 0)
		LOGW("cluster: cannot list the cache's jobs: %s", why);
	if (r->ncached > 1)
		qsort(r->cached, r->ncached, sizeof *r->cached, cmp_id);
	r->seen = xcalloc(r->ncached + 1, 1);
	list_page(r);
	finish(r);
}

Replica *replica_new(PgConn *c, Store *cache, const ReplicaOpts *o)
{
	Replica *r = xcalloc(1, sizeof *r);
	r->c = c;
	r->cache = cache;
	if (o)
		r->o = *o;
	return r;
}

void replica_close(Replica *r)
{
	for (Read *d = r->reads; d; d = d->next)
		d->r = NULL;
	if (r->listing)
		*r->list_cell = NULL;   /* the listing's answer finds no replica */
	free(r->want.v);
	free(r->text.v);
	free(r->cached);
	free(r->seen);
	free(r);
}
