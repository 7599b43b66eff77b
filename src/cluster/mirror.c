/* The write path's copy in PostgreSQL (mirror.h). Each change is one
 * statement queued at once into the connection's open batch (pipelined:
 * it is on its way while the turn goes on); the batch's sync point, at
 * mirror_commit, makes them one transaction.
 *
 * No statement here fails for a reason another node can cause: a create
 * whose name is taken inserts nothing (ON CONFLICT DO NOTHING, seen in its
 * RETURNING), a change to a job another node deleted meanwhile changes
 * nothing (the job row is looked for, not assumed). So one node's change
 * never costs another change of the batch. */
#include "cluster/mirror.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/feed.h"
#include "util/log.h"
#include "util/util.h"

enum { NOTED_MAX = 4096 };     /* jobs noted per batch before it notes "all" */

/* A change waiting for its batch's commit: its statement, with copies of
 * its parameters, and which job it is of. */
typedef struct Stmt {
	int64_t job;
	size_t order;               /* the order it was made in: kept within a job */
	const char *sql;            /* a literal */
	int np;
	char **p;
	PgQueryDone *done;
	void *arg;
	int redo;                   /* a fact of this node's (a run's row, its output):
	                             * sent again if its batch is lost (see keep_redo) */
} Stmt;

/* One batch, from its first change to its done: the creates' answers land
 * here. Freed after the done; m is NULL once the mirror is closed. */
typedef struct Batch {
	Stmt *q;                    /* its changes, sent at the commit */
	size_t nq, capq;
	const char **kinds;         /* each noted job's kind of change (literals) */
	struct Batch *next;
	Mirror *m;
	MirrorDone *done;
	void *arg;
	MirrorResult res;
	unsigned pending;           /* create answers still to come */
	int64_t *noted;             /* jobs given a changes row in it (NOTED_MAX at most) */
	size_t nnoted;
	int noted_all;              /* more than that: every job's row was noted at once */
	int committed;              /* the batch's done has come */
	int rc;
	char why[256];
} Batch;

/* A create in flight: which job, in which batch. */
typedef struct Create {
	Batch *b;
	int64_t id;
} Create;

/* The request for a block of ids. */
typedef struct Ask {
	Mirror *m;                  /* NULL once the mirror is closed */
} Ask;

struct Mirror {
	PgConn *c;
	char *node;
	int64_t next, end;          /* ids [next, end) of the block in use */
	int64_t spare;              /* the first id of the next block, 0: none yet */
	Ask *asking;                /* a block asked for, not answered */
	Batch *open;                /* the batch changes join, NULL: none open */
	Batch *sent;                /* committed, done not come yet */
	uint64_t gen;               /* batches committed so far */
	uint64_t all_gen;           /* the last that changed every job ("all") */
	struct Gen { int64_t job; uint64_t gen; } *gens;    /* each job's last commit */
	size_t ngens, capgens;      /* open addressing, capgens a power of two */
	Stmt *redo;                 /* facts not known to be stored, for the next batch */
	size_t nredo, capredo;
};

typedef struct Gen Gen;

static size_t gen_slot(const Mirror *m, int64_t job)
{
	size_t i = (size_t)(((uint64_t)job * 0x9e3779b97f4a7c15ull) >> 20) & (m->capgens - 1);
	while (m->gens[i].job && m->gens[i].job != job)
		i = (i + 1) & (m->capgens - 1);
	return i;
}

/* Job was committed by batch gen. */
static void gen_put(Mirror *m, int64_t job, uint64_t gen)
{
	if (2 * (m->ngens + 1) > m->capgens) {
		Gen *old = m->gens;
		size_t oldcap = m->capgens;
		m->capgens = oldcap ? 2 * oldcap : 256;
		m->gens = xcalloc(m->capgens, sizeof *m->gens);
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].job)
				m->gens[gen_slot(m, old[i].job)] = old[i];
		free(old);
	}
	Gen *g = &m->gens[gen_slot(m, job)];
	if (!g->job)
		m->ngens++;
	*g = (Gen){ job, gen };
}

uint64_t mirror_gen(const Mirror *m)
{
	return m->gen;
}

int mirror_committed_since(const Mirror *m, int64_t job_id, uint64_t gen)
{
	if (m->all_gen > gen)
		return 1;
	if (!m->capgens)
		return 0;
	const Gen *g = &m->gens[gen_slot(m, job_id)];
	return g->job == job_id && g->gen > gen;
}

/* ---- bytea and numbers as text parameters ---- */

char *mirror_bytea(const void *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *b = p;
	char *s = xmalloc(2 * n + 3), *o = s;
	*o++ = '\\';
	*o++ = 'x';
	for (size_t i = 0; i < n; i++) {
		*o++ = hex[b[i] >> 4];
		*o++ = hex[b[i] & 15];
	}
	*o = '\0';
	return s;
}

/* Room for one number's text: 20 digits and a sign. */
typedef char Num[24];

static const char *num(Num buf, int64_t v)
{
	snprintf(buf, sizeof(Num), "%" PRId64, v);
	return buf;
}

/* ---- ids ---- */

static void ask_block(Mirror *m);

static void on_block(void *arg, PGresult *res, const char *err)
{
	Ask *a = arg;
	Mirror *m = a->m;
	free(a);
	if (m == NULL)
		return;
	m->asking = NULL;
	if (res == NULL || PQntuples(res) != 1) {
		/* Asked again with the next id taken, or at the next change. */
		LOGW("cluster: cannot take a block of ids: %s", res ? "no row" : err);
		return;
	}
	int64_t block = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	int64_t first = block << MIRROR_BLOCK_BITS;
	if (m->next >= m->end) {
		m->next = first + (first == 0);       /* id 0 is no id */
		m->end = first + ((int64_t)1 << MIRROR_BLOCK_BITS);
	} else {
		m->spare = first;
	}
}

static void ask_block(Mirror *m)
{
	if (m->asking || m->spare)
		return;
	Ask *a = xcalloc(1, sizeof *a);
	a->m = m;
	if (pgconn_query(m->c, "SELECT nextval('jobd_id_blocks')", 0, NULL, on_block, a) < 0) {
		free(a);
		return;
	}
	m->asking = a;
}

int64_t mirror_id(Mirror *m)
{
	if (m->next >= m->end && m->spare) {
		m->next = m->spare + (m->spare == 0);
		m->end = m->spare + ((int64_t)1 << MIRROR_BLOCK_BITS);
		m->spare = 0;
	}
	if (m->next >= m->end) {
		ask_block(m);
		return 0;
	}
	int64_t id = m->next++;
	if (m->end - m->next < ((int64_t)1 << (MIRROR_BLOCK_BITS - 1)))
		ask_block(m);
	return id;
}

int mirror_has_ids(const Mirror *m)
{
	return m->next < m->end || m->spare != 0;
}

Mirror *mirror_new(PgConn *c, const char *node)
{
	Mirror *m = xcalloc(1, sizeof *m);
	m->c = c;
	m->node = xstrdup(node);
	ask_block(m);
	return m;
}

/* ---- the open batch ---- */

static void stmt_move(Stmt **q, size_t *n, size_t *cap, Stmt *s);
static int note(Mirror *m, int64_t job_id, const char *kind);

/* Opens the batch if none is: 0, or -ENOTCONN (nothing can be stored). */
static int join(Mirror *m)
{
	if (m->open)
		return 0;
	if (!pgconn_up(m->c))
		return -ENOTCONN;
	m->open = xcalloc(1, sizeof *m->open);
	m->open->m = m;
	/* Facts a lost batch held, or made while the database was away, go
	 * first: the changes made since come after them. */
	for (size_t i = 0; i < m->nredo; i++) {
		Stmt *s = &m->redo[i];
		s->order = m->open->nq;
		stmt_move(&m->open->q, &m->open->nq, &m->open->capq, s);
		note(m, s->job, "runs");
	}
	m->nredo = 0;
	return 0;
}

/* A new statement at the end of the list (*q, *n, *cap), its order its
 * place there. */
static Stmt *stmt_add(Stmt **q, size_t *n, size_t *cap, int64_t job, const char *sql, int np,
                      const char *const *p, PgQueryDone *done, void *arg)
{
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 32;
		*q = xrealloc(*q, *cap * sizeof **q);
	}
	Stmt *s = &(*q)[*n];
	*s = (Stmt){ .job = job, .order = *n, .sql = sql, .np = np, .done = done, .arg = arg };
	s->p = xcalloc((size_t)np + 1, sizeof *s->p);
	for (int i = 0; i < np; i++)
		s->p[i] = p[i] ? xstrdup(p[i]) : NULL;
	(*n)++;
	return s;
}

/* Keeps the change for the commit (the parameters copied). */
static Stmt *enqueue(Batch *b, int64_t job, const char *sql, int np, const char *const *p,
                     PgQueryDone *done, void *arg)
{
	return stmt_add(&b->q, &b->nq, &b->capq, job, sql, np, p, done, arg);
}

/* Moves s (its parameters with it) to the end of the list (*q, *n, *cap). */
static void stmt_move(Stmt **q, size_t *n, size_t *cap, Stmt *s)
{
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 32;
		*q = xrealloc(*q, *cap * sizeof **q);
	}
	(*q)[(*n)++] = *s;
	s->p = NULL;
	s->np = 0;
}

static void stmt_free(Stmt *s)
{
	for (int i = 0; i < s->np; i++)
		free(s->p[i]);
	free(s->p);
}

/* The job's row in changes and its NOTIFY, once per job and batch. Past
 * NOTED_MAX jobs in one batch, one row for job 0 says "reload everything". */
/* Whether b changes job_id (noted in it). */
static int batch_has(const Batch *b, int64_t job_id)
{
	if (b->noted_all)
		return 1;
	for (size_t i = 0; i < b->nnoted; i++)
		if (b->noted[i] == job_id)
			return 1;
	return 0;
}

static int note(Mirror *m, int64_t job_id, const char *kind)
{
	Batch *b = m->open;
	if (batch_has(b, job_id))
		return 0;
	if (b->nnoted == NOTED_MAX) {
		b->noted_all = 1;
	} else {
		if (b->nnoted % 64 == 0) {
			b->noted = xrealloc(b->noted, (b->nnoted + 64) * sizeof *b->noted);
			b->kinds = xrealloc(b->kinds, (b->nnoted + 64) * sizeof *b->kinds);
		}
		b->kinds[b->nnoted] = kind;
		b->noted[b->nnoted++] = job_id;
	}
	return 0;
}

int mirror_changing(const Mirror *m, int64_t job_id)
{
	if (m->open && batch_has(m->open, job_id))
		return 1;
	for (size_t i = 0; i < m->nredo; i++)      /* empty but after a lost batch */
		if (m->redo[i].job == job_id)
			return 1;
	for (const Batch *b = m->sent; b; b = b->next)
		if (batch_has(b, job_id))
			return 1;
	return 0;
}

/* Queues sql with its parameters in the open batch, and notes the job. */
static int change(Mirror *m, int64_t job_id, const char *kind, const char *sql, int np,
                  const char *const *p, PgQueryDone *done, void *arg)
{
	int rc = join(m);
	if (rc == 0) {
		enqueue(m->open, job_id, sql, np, p, done, arg);
		rc = note(m, job_id, kind);
	}
	return rc;
}

/* A fact of this node's: a run's row or its output. Unlike a client's
 * change, it is not refused while the database is away, nor dropped with a
 * lost batch: a run that ends during an outage has ended, and the database
 * must come to say so, or the run stays open there while its node lives.
 * So it waits in m->redo for the next batch (keep_redo, join). Both kinds
 * of statement may be sent twice (a batch whose answer was lost may have
 * been committed): a run's row only merges forward, and a chunk already
 * stored (by its id) is not stored again. */
static int fact(Mirror *m, int64_t job_id, const char *kind, const char *sql, int np,
                const char *const *p)
{
	int rc = join(m);
	if (rc == -ENOTCONN) {
		stmt_add(&m->redo, &m->nredo, &m->capredo, job_id, sql, np, p, NULL, NULL)->redo = 1;
		return 0;
	}
	if (rc == 0) {
		enqueue(m->open, job_id, sql, np, p, NULL, NULL)->redo = 1;
		rc = note(m, job_id, kind);
	}
	return rc;
}

/* Batch b is lost (not sent whole, or no answer to its commit): its facts
 * wait for the next batch. */
static void keep_redo(Mirror *m, Batch *b)
{
	size_t n = 0;
	for (size_t i = 0; i < b->nq; i++)
		if (b->q[i].redo && b->q[i].p) {
			stmt_move(&m->redo, &m->nredo, &m->capredo, &b->q[i]);
			n++;
		}
	if (n)
		LOGW("cluster: %zu change(s) of runs and their output kept for the database, "
		     "to be sent again", n);
}

/* ---- changes ---- */

static void on_create(void *arg, PGresult *res, const char *err)
{
	Create *cr = arg;
	Batch *b = cr->b;
	(void)err;
	/* No answer (the batch failed): its done says so. No row: the name was
	 * taken by another node's create. */
	if (res && PQntuples(res) == 0) {
		if (b->res.nrefused < MIRROR_REFUSED_MAX)
			b->res.refused[b->res.nrefused] = cr->id;
		b->res.nrefused++;
	}
	b->pending--;
	free(cr);
}

int mirror_job_create(Mirror *m, const StoreJob *j)
{
	/* What store_job_create keeps (store.h): the settings and the history
	 * start at their defaults, as in SQLite; store_job_save writes them. */
	Num id, st, cr, ls, own;
	char *cmd = mirror_bytea(j->cmd, strlen(j->cmd));
	const char *p[] = {
		num(id, j->id), j->name, j->schedule, cmd, num(st, j->started != 0),
		num(cr, j->created_ns), num(ls, j->last_sched), num(own, j->owner_uid),
	};
	int rc = join(m);
	Create *c = NULL;
	if (rc == 0) {
		c = xcalloc(1, sizeof *c);
		c->b = m->open;
		c->id = j->id;
		enqueue(m->open, j->id,
		        "INSERT INTO jobs(id, name, schedule, cmd, started, created_ns, last_sched,"
		        " owner_uid) VALUES($1, $2, $3, $4, $5, $6, $7, $8)"
		        " ON CONFLICT DO NOTHING RETURNING id",
		        (int)nelem(p), p, on_create, c);
		m->open->pending++;
	}
	if (rc == 0)
		rc = note(m, j->id, "job");
	free(cmd);
	return rc;
}

int mirror_job_save(Mirror *m, const StoreJob *j)
{
	/* The settings are the node's to write; the history (runs_total and the
	 * rest) is every node's: it changes by mirror_run_put's increments, never
	 * by a value one node read. Except the last start, which only moves
	 * forward, so any node's may be taken: jobd saves a run's start with
	 * the job's next save, before the run ends (an edit during a run). */
	Num id, ls, to, ov, mf, orph, lst;
	char *cmd = mirror_bytea(j->cmd, strlen(j->cmd));
	char *dir = mirror_bytea(j->dir, strlen(j->dir));
	char *env = mirror_bytea(j->env, strlen(j->env));
	const char *p[] = {
		num(id, j->id), j->schedule, cmd, num(to, j->timeout_ms), num(ov, j->overlap),
		num(mf, j->misfire), dir, env, j->limits, num(ls, j->last_sched), num(orph, j->orphan),
		num(lst, j->last_start_ns),
	};
	int rc = change(m, j->id, "job",
	                "UPDATE jobs SET schedule = $2, cmd = $3, timeout_ms = $4, overlap = $5,"
	                " misfire = $6, dir = $7, env = $8, limits = $9,"
	                " last_sched = greatest(last_sched, $10), orphan = $11,"
	                " last_start_ns = greatest(last_start_ns, $12) WHERE id = $1",
	                (int)nelem(p), p, NULL, NULL);
	free(cmd);
	free(dir);
	free(env);
	return rc;
}

int mirror_job_started(Mirror *m, int64_t job_id, int started)
{
	Num id, st;
	const char *p[] = { num(id, job_id), num(st, started) };
	return change(m, job_id, "job", "UPDATE jobs SET started = $2 WHERE id = $1", 2, p, NULL,
	              NULL);
}

int mirror_job_delete(Mirror *m, int64_t job_id)
{
	Num id;
	const char *p[] = { num(id, job_id) };
	return change(m, job_id, "delete", "DELETE FROM jobs WHERE id = $1", 1, p, NULL, NULL);
}

int mirror_run_put(Mirror *m, const StoreRun *r)
{
	/* Inserted with the log's end as the run's log_off (where the job's log
	 * stood when the run began: what retention cuts at), or merged: a run
	 * only moves forward (claimed, running, ended), its times and output
	 * only grow, so a copy of the row that lags (this node's cache, refilled
	 * from an older answer) can never take back what the database has; and
	 * an ended run (done, skipped, interrupted; lost, the reaper's) is never
	 * changed again, by whichever node. A run that ends counts in the job's history here, once: on
	 * the change of state that ends it. */
	Num id, job, sched, state, start, end, pid, status, manual, seq, flags, out;
	const char *p[] = {
		num(id, r->id), num(job, r->job_id), num(sched, r->sched), num(state, r->state),
		num(start, r->start_ns), num(end, r->end_ns), num(pid, r->pid), num(status, r->status),
		num(manual, r->manual), r->proc, num(seq, r->seq), num(flags, r->flags),
		num(out, r->out_bytes), m->node,
	};
	return fact(m, r->job_id, "runs",
	              "WITH old AS (SELECT state FROM runs WHERE id = $1),"
	              " put AS (INSERT INTO runs(id, job_id, sched, state, start_ns, end_ns, pid,"
	              "  status, manual, proc, seq, flags, out_bytes, log_off, node)"
	              "  SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, log_end, $14"
	              "  FROM jobs WHERE id = $2"
	              "  ON CONFLICT (id) DO UPDATE SET state = greatest(runs.state, excluded.state),"
	              "  start_ns = greatest(runs.start_ns, excluded.start_ns),"
	              "  end_ns = greatest(runs.end_ns, excluded.end_ns),"
	              "  pid = CASE WHEN excluded.pid <> 0 THEN excluded.pid ELSE runs.pid END,"
	              "  status = CASE WHEN excluded.state >= runs.state THEN excluded.status"
	              "   ELSE runs.status END,"
	              "  proc = CASE WHEN excluded.proc <> '' THEN excluded.proc ELSE runs.proc END,"
	              "  flags = runs.flags | excluded.flags,"
	              "  out_bytes = greatest(runs.out_bytes, excluded.out_bytes),"
	              "  node = excluded.node WHERE runs.state < 2 RETURNING state),"
	              /* A claim of this node's whose run ended without starting
	               * (skipped by its overlap, or its start refused or not
	               * answered) is no longer open: no reaper may take it over
	               * when this node's epoch ends. The fires table knows two
	               * states; "started" is the one that is not open. */
	              " fc AS (UPDATE fires SET state = 'started' WHERE job_id = $2 AND sched = $3"
	              "  AND run_id = $1 AND node = $14 AND state = 'claimed' AND $4 >= 2)"
	              /* A run that could not start (spawn failed: done, 127, no
	               * start) counts, but is not the job's last end or status:
	               * as jobd alone keeps it (runs.c). */
	              " UPDATE jobs SET runs_total = runs_total + 1,"
	              "  failures_total = failures_total + ($8 <> 0 AND $4 = 2)::int,"
	              "  last_start_ns = greatest(last_start_ns, $5),"
	              "  last_status = CASE WHEN $6 >= last_end_ns AND $5 <> 0 THEN $8"
	              "   ELSE last_status END,"
	              "  last_end_ns = CASE WHEN $5 <> 0 THEN greatest(last_end_ns, $6)"
	              "   ELSE last_end_ns END"
	              " WHERE id = $2 AND $4 = 2 AND EXISTS (SELECT 1 FROM put)"
	              "  AND coalesce((SELECT state FROM old), 0) <> 2",
	              (int)nelem(p), p);
}

int mirror_text(Mirror *m, int64_t chunk_id, int64_t job_id, int64_t run_id, int64_t roff,
                const char *text, size_t len)
{
	if (len > STORE_CHUNK_MAX)
		return -E2BIG;
	Num id, job, run, ro, n;
	char *t = mirror_bytea(text, len);
	const char *p[] = { num(id, chunk_id), num(job, job_id), num(run, run_id), num(ro, roff),
	                    num(n, (int64_t)len), t };
	/* The log's position is taken from the job's row, which this statement
	 * locks until the batch commits: writers on several nodes line up. A
	 * chunk sent again (fact) whose first batch was committed after all is
	 * there by its id: the log does not grow twice. */
	int rc = fact(m, job_id, "text",
	              "WITH j AS (UPDATE jobs SET log_end = log_end + $5 WHERE id = $2"
	              "  AND NOT EXISTS (SELECT 1 FROM chunks WHERE id = $1)"
	              "  RETURNING log_end - $5 AS off),"
	              " r AS (UPDATE runs SET out_bytes = greatest(out_bytes, $4 + $5)"
	              "  WHERE id = $3 AND $3 <> 0 AND job_id = $2)"
	              " INSERT INTO chunks(id, job_id, run_id, off, roff, len, text)"
	              " SELECT $1, $2, $3, off, $4, $5, $6 FROM j",
	              (int)nelem(p), p);
	free(t);
	return rc;
}

int mirror_retain(Mirror *m, int64_t job_id, const int64_t *ids, size_t n, int64_t cut,
                  int before)
{
	/* The ids as an array's text: "{1,2,3}". */
	char *list = xmalloc(n * 21 + 3), *o = list;
	*o++ = '{';
	for (size_t i = 0; i < n; i++)
		o += sprintf(o, "%s%" PRId64, i ? "," : "", ids[i]);
	*o++ = '}';
	*o = '\0';
	Num job, c, b;
	const char *p[] = { num(job, job_id), list, num(c, cut), num(b, before != 0) };
	/* 2, 3, 4, 5: the finished states (RUN_DONE ... RUN_LOST). */
	int rc = change(m, job_id, "runs",
	                "WITH r AS (DELETE FROM runs WHERE job_id = $1 AND (id = ANY($2::bigint[])"
	                "  OR ($4::int = 1 AND state IN (2, 3, 4, 5) AND log_off < $3)))"
	                " DELETE FROM chunks WHERE job_id = $1 AND off + len <= $3",
	                4, p, NULL, NULL);
	free(list);
	return rc;
}

/* ---- the commit ---- */

int mirror_pending(const Mirror *m)
{
	return m->open != NULL || (m->nredo && pgconn_up(m->c));
}

static void batch_free(Batch *b)
{
	for (size_t i = 0; i < b->nq; i++)
		stmt_free(&b->q[i]);
	free(b->q);
	free(b->noted);
	free(b->kinds);
	free(b);
}

static void unlink_sent(Batch *b)
{
	Mirror *m = b->m;
	if (m == NULL)
		return;
	for (Batch **p = &m->sent; *p; p = &(*p)->next)
		if (*p == b) {
			*p = b->next;
			return;
		}
}

static void on_batch(void *arg, int rc, const char *why)
{
	Batch *b = arg;
	unlink_sent(b);
	if (b->m && rc != 0)
		keep_redo(b->m, b);
	/* Every statement's done came before the batch's (pgconn answers in
	 * order), so the creates' answers are all here. */
	if (b->m && rc == 0) {
		/* What it changed, for answers asked before it (mirror_committed_since). */
		Mirror *m = b->m;
		m->gen++;
		if (b->noted_all)
			m->all_gen = m->gen;
		for (size_t i = 0; i < b->nnoted; i++)
			gen_put(m, b->noted[i], m->gen);
	}
	if (b->m && b->done) {
		b->res.jobs = b->noted;
		b->res.njobs = b->nnoted;
		b->res.all = b->noted_all;
		b->done(b->arg, rc, why, rc == 0 ? &b->res : NULL);
	}
	batch_free(b);
}

/* Nothing was open: done still comes from the loop, as promised, after
 * what was sent before (a lone statement's answer follows theirs). */
static void on_empty(void *arg, PGresult *res, const char *err)
{
	Batch *b = arg;
	unlink_sent(b);
	if (b->m && b->done)
		b->done(b->arg, res ? 0 : -EIO, res ? "" : err, res ? &b->res : NULL);
	free(b);
}

/* b was handed to the connection (rc 0: its done will come) or not. */
static int sent(Mirror *m, Batch *b, int rc)
{
	if (rc < 0) {
		keep_redo(m, b);
		batch_free(b);
		return rc;
	}
	b->next = m->sent;
	m->sent = b;
	return 0;
}

static int commit_empty(Mirror *m, MirrorDone *done, void *arg)
{
	Batch *b = xcalloc(1, sizeof *b);
	b->m = m;
	b->done = done;
	b->arg = arg;
	return sent(m, b, pgconn_query(m->c, "SELECT 1", 0, NULL, on_empty, b));
}

static int by_job(const void *x, const void *y)
{
	const Stmt *a = x, *b = y;
	if (a->job != b->job)
		return (a->job > b->job) - (a->job < b->job);
	return (a->order > b->order) - (a->order < b->order);
}

/* The kind of change noted for job in b ("job" if it was not noted). */
static const char *kind_of(const Batch *b, int64_t job)
{
	for (size_t i = 0; i < b->nnoted; i++)
		if (b->noted[i] == job)
			return b->kinds[i];
	return "job";
}

/* The batch's statements, job by job in the order of their ids, each job's
 * in the order they were made, its changes row after them. Two nodes'
 * batches lock job rows (a log's end, a run's history) in the same order,
 * so they wait for each other, never in a circle: one transaction taking
 * rows in the order its changes came would deadlock with another taking
 * them in another order, and PostgreSQL would kill one. 0, or the
 * connection's refusal (the statements not sent are answered "not sent"). */
static int send_batch(Mirror *m, Batch *b, int *begun)
{
	qsort(b->q, b->nq, sizeof *b->q, by_job);
	int rc = pgconn_batch_begin(m->c);
	*begun = rc == 0;
	size_t sent_n = 0;          /* statements pgconn took (it answers those) */
	while (rc == 0 && sent_n < b->nq) {
		Stmt *s = &b->q[sent_n];
		rc = pgconn_query(m->c, s->sql, s->np, (const char *const *)s->p, s->done, s->arg);
		if (rc < 0)
			break;
		sent_n++;
		int last = sent_n == b->nq || b->q[sent_n].job != s->job;
		if (last && !b->noted_all)
			rc = cfeed_note(m->c, s->job, kind_of(b, s->job));
	}
	if (rc == 0 && b->noted_all)
		rc = cfeed_note(m->c, 0, "all");        /* too many to name: read them all */
	for (size_t k = sent_n; rc < 0 && k < b->nq; k++)
		if (b->q[k].done)
			b->q[k].done(b->q[k].arg, NULL, "not sent: the connection went");
	return rc;
}

int mirror_commit(Mirror *m, MirrorDone *done, void *arg)
{
	if (m->nredo)
		join(m);                /* the facts kept go now, if they can */
	Batch *b = m->open;
	if (b == NULL)
		return commit_empty(m, done, arg);
	m->open = NULL;
	b->done = done;
	b->arg = arg;
	int begun, rc = send_batch(m, b, &begun);
	if (rc == 0)
		rc = pgconn_batch_commit(m->c, on_batch, b);
	else if (begun)
		pgconn_batch_commit(m->c, NULL, NULL);  /* the cut batch ends: nothing stored */
	return sent(m, b, rc);
}

void mirror_close(Mirror *m)
{
	/* What is open goes as store_close's does: committed, no one told. */
	if (m->open) {
		Batch *b = m->open;
		m->open = NULL;
		b->m = NULL;
		int begun;
		if (send_batch(m, b, &begun) < 0) {
			if (begun)
				pgconn_batch_commit(m->c, NULL, NULL);
			batch_free(b);
		} else if (pgconn_batch_commit(m->c, on_batch, b) < 0) {
			batch_free(b);
		}
	}
	for (Batch *b = m->sent; b; b = b->next)
		b->m = NULL;
	if (m->asking)
		m->asking->m = NULL;
	for (size_t i = 0; i < m->nredo; i++)
		stmt_free(&m->redo[i]);
	if (m->nredo)
		LOGW("cluster: closing with %zu change(s) of runs not stored in the database",
		     m->nredo);
	free(m->redo);
	free(m->gens);
	free(m->node);
	free(m);
}
