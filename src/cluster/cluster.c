/* A jobd node of a cluster (cluster.h): start-up in phases, then the feed
 * driving the replica, and the store's changes mirrored. */
#include "cluster/cluster.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/feed.h"
#include "cluster/replica.h"
#include "store/schema.h"
#include "util/log.h"
#include "util/util.h"

/* Where start-up is. */
enum { P_MIGRATE, P_REGISTER, P_FEED, P_LOAD, P_READY, P_FAILED };

/* Any number will do, as long as every jobd takes the same one: the lock
 * under which one node at a time migrates the schema. */
static const char SCHEMA_LOCK[] = "SELECT pg_advisory_xact_lock(7243561027)";

enum { NCONN = 4 };

struct Cluster {
	uv_loop_t *loop;
	ClusterOpts o;
	char name[CNODE_NAME_MAX + 1];
	PgConn *cw, *cn, *cc, *cf;  /* writes, node (lease), claims, feed (cluster.h) */
	ClusterNode *node;
	ClusterFeed *feed;
	Replica *rep;
	Mirror *mirror;
	int phase;
	char why[512];
	int version;                /* the database's schema version, as last read */
	int tried;                  /* the step to version + 1 failed, version unchanged since */
	int node_state;
	uv_timer_t reap;            /* every CNODE_REAP_MS once ready */
	int reaping;                /* a reap is unanswered */
	/* close */
	int closing, pending;
	void (*closed)(void *arg);
	void *closed_arg;
};

static void fail(Cluster *cl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(Cluster *cl, const char *fmt, ...)
{
	if (cl->phase == P_FAILED)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cl->why, sizeof cl->why, fmt, ap);
	va_end(ap);
	cl->phase = P_FAILED;
}

/* ---- connections ---- */

static void on_w_state(void *arg, int up, const char *why)
{
	Cluster *cl = arg;
	if (!up && cl->phase == P_READY)
		LOGW("cluster: lost the database (writes): %s", why);
	else if (up && cl->phase == P_READY)
		LOGI("cluster: the database is back (writes)");
}

static void on_n_state(void *arg, int up, const char *why)
{
	Cluster *cl = arg;
	(void)why;
	if (cl->node)
		cnode_conn_changed(cl->node, up);
}

static void on_f_state(void *arg, int up, const char *why)
{
	Cluster *cl = arg;
	(void)why;
	if (cl->feed)
		cfeed_conn_changed(cl->feed, up);
}

static void on_f_notify(void *arg, const char *channel, const char *payload)
{
	Cluster *cl = arg;
	if (cl->feed)
		cfeed_notified(cl->feed, channel, payload);
}

/* ---- phase 1: the schema ---- */

static void read_version(Cluster *cl);

static void step_done(void *arg, int rc, const char *why)
{
	Cluster *cl = arg;
	if (rc < 0) {
		/* Another node may have made this step meanwhile (its lock, then
		 * our guard or our CREATE failed): read the version again; the
		 * same version twice is a real failure. */
		if (cl->tried) {
			fail(cl, "migrating the database's schema to version %d: %s", cl->version + 1,
			     why);
			return;
		}
		cl->tried = 1;
	} else {
		cl->tried = 0;
		LOGI("cluster: the database's schema is at version %d", cl->version + 1);
	}
	read_version(cl);
}

/* The step to version + 1, as one batch: the lock, a guard that the
 * version is still what was read (past the first step, which makes the
 * table it reads), the statements, the stamp. */
static void migrate(Cluster *cl)
{
	int v = cl->version + 1, rc = pgconn_batch_begin(cl->cw);
	char guard[160], stamp[64];
	const char *s;
	if (rc == 0)
		rc = pgconn_query(cl->cw, SCHEMA_LOCK, 0, NULL, NULL, NULL);
	if (rc == 0 && v > schema_empty(SCHEMA_PG) + 1) {
		/* 1/0 fails the batch if another node got there first. */
		snprintf(guard, sizeof guard, "SELECT 1 / (SELECT (version = %d)::int FROM jobd_schema)",
		         cl->version);
		rc = pgconn_query(cl->cw, guard, 0, NULL, NULL, NULL);
	}
	for (int i = 0; rc == 0 && (s = schema_stmt(SCHEMA_PG, v, i)) != NULL; i++)
		rc = pgconn_query(cl->cw, s, 0, NULL, NULL, NULL);
	if (rc == 0) {
		schema_stamp(SCHEMA_PG, v, stamp, sizeof stamp);
		rc = pgconn_query(cl->cw, stamp, 0, NULL, NULL, NULL);
	}
	if (rc == 0)
		rc = pgconn_batch_commit(cl->cw, step_done, cl);
	else
		pgconn_batch_commit(cl->cw, NULL, NULL);
	if (rc < 0)
		fail(cl, "migrating the database's schema: %s", strerror(-rc));
}

static void register_node(Cluster *cl);

static void have_version(Cluster *cl, int v)
{
	if (v != cl->version)
		cl->tried = 0;          /* another node moved it on: try the next step afresh */
	cl->version = v;
	if (v > SCHEMA_VERSION) {
		fail(cl, "the database's schema is at version %d, newer than this jobd's (%d): "
		     "run a newer jobd", v, SCHEMA_VERSION);
		return;
	}
	if (v < SCHEMA_VERSION)
		migrate(cl);
	else
		register_node(cl);
}

/* The answer to a question about the version: one row, while migrating.
 * 1 if it is; else 0 (the failure said). */
static int version_answer(Cluster *cl, const PGresult *res, const char *err)
{
	if (cl->phase != P_MIGRATE)
		return 0;
	if (res == NULL || PQntuples(res) != 1) {
		fail(cl, "reading the database's schema version: %s", res ? "no row" : err);
		return 0;
	}
	return 1;
}

static void on_version(void *arg, PGresult *res, const char *err)
{
	Cluster *cl = arg;
	if (version_answer(cl, res, err))
		have_version(cl, atoi(PQgetvalue(res, 0, 0)));
}

static void on_has_table(void *arg, PGresult *res, const char *err)
{
	Cluster *cl = arg;
	if (!version_answer(cl, res, err))
		return;
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		have_version(cl, schema_empty(SCHEMA_PG));
		return;
	}
	if (pgconn_query(cl->cw, "SELECT version FROM jobd_schema", 0, NULL, on_version, cl) < 0)
		fail(cl, "reading the database's schema version: the database is unreachable");
}

static void read_version(Cluster *cl)
{
	if (pgconn_query(cl->cw, "SELECT to_regclass('jobd_schema') IS NOT NULL", 0, NULL,
	                 on_has_table, cl) < 0)
		fail(cl, "reading the database's schema version: the database is unreachable");
}

/* ---- phase 2: the node's lease ---- */

static void start_feed(Cluster *cl);

static void on_node_state(void *arg, int state, const char *why)
{
	Cluster *cl = arg;
	cl->node_state = state;
	if (cl->phase == P_REGISTER) {
		if (state == CNODE_UP)
			start_feed(cl);
		else if (state == CNODE_FENCED)
			fail(cl, "node %s: %s", cl->name, why);
		return;
	}
	if (cl->o.state)
		cl->o.state(cl->o.arg, state, why);
}

static void register_node(Cluster *cl)
{
	cl->phase = P_REGISTER;
	/* Its first block of ids is asked for now that the sequence exists. */
	cl->mirror = mirror_new(cl->cw, cl->name);
	CNodeOpts no = cl->o.node_opts;
	no.state = on_node_state;
	no.arg = cl;
	cl->node = cnode_new(cl->loop, cl->cn, cl->name, &no);
	if (cl->node)
		cnode_work(cl->node, cl->cc);
	if (cl->node == NULL)
		fail(cl, "node %s: the name or the lease's settings are not acceptable", cl->name);
}

/* ---- the reaper ---- */

typedef struct Adopt {
	Cluster *cl;
	int64_t job_id, sched;
} Adopt;

static void on_adopted(void *arg, int rc, int64_t run_id, int64_t seq, const char *err)
{
	Adopt *a = arg;
	Cluster *cl = a->cl;
	if (rc == CNODE_CLAIMED && cl->o.adopt)
		cl->o.adopt(cl->o.arg, a->job_id, a->sched, run_id, seq);
	else if (rc < 0 && rc != -ECANCELED)
		LOGW("cluster: cannot take over the fire at %" PRId64 " of job %" PRId64 ": %s",
		     a->sched, a->job_id, err);
	free(a);
}

static void reap_next(Cluster *cl, uint64_t ms);

static void on_reaped(void *arg, int rc, const char *err, const CNodeReap *r)
{
	Cluster *cl = arg;
	cl->reaping = 0;
	if (rc < 0) {
		if (rc != -ECANCELED && rc != -ENOLCK)
			LOGW("cluster: reaping dead nodes' fires: %s", err);
		if (rc != -ECANCELED)
			reap_next(cl, CNODE_REAP_MS);
		return;
	}
	for (size_t i = 0; i < r->nlost; i++) {
		const CNodeLostRun *l = &r->lost[i];
		LOGW("cluster: node %s died while the run of %" PRId64 " of job %" PRId64 " ran: "
		     "recorded lost", l->node, l->sched, l->job_id);
		if (cl->o.lost)
			cl->o.lost(cl->o.arg, l->job_id, l->sched, l->node);
	}
	for (size_t i = 0; i < r->nclaims; i++) {
		const CNodeReapClaim *c = &r->claims[i];
		LOGI("cluster: taking over the fire at %" PRId64 " of job %" PRId64 "%s", c->sched,
		     c->job_id, c->rerun ? " (its run was lost: orphan=rerun)" : " (its node died)");
		Adopt *a = xcalloc(1, sizeof *a);
		a->cl = cl;
		a->job_id = c->job_id;
		a->sched = c->sched;
		int64_t id = mirror_id(cl->mirror);
		if (id == 0 || cnode_adopt_run(cl->node, c->job_id, c->sched, id, on_adopted, a) < 0) {
			/* Refused here: this node's connection or lease is failing. The
			 * claim is ours in the database; if the lease lapses, another
			 * node's reap takes it (and starts it), else it stays unstarted:
			 * said, since that instant then never runs. */
			LOGE("cluster: the fire at %" PRId64 " of job %" PRId64 " was taken over but "
			     "cannot be started here now", c->sched, c->job_id);
			free(a);
		}
	}
	reap_next(cl, r->more ? 0 : CNODE_REAP_MS);
}

static void on_reap_timer(uv_timer_t *t)
{
	Cluster *cl = t->data;
	if (cl->reaping || cl->closing)
		return;
	if (cnode_reap(cl->node, on_reaped, cl) == 0)
		cl->reaping = 1;
	else
		reap_next(cl, CNODE_REAP_MS);
}

static void reap_next(Cluster *cl, uint64_t ms)
{
	if (!cl->closing)
		uv_timer_start(&cl->reap, on_reap_timer, ms, 0);
}

/* ---- phase 3: the feed and the cache ---- */

static void on_loaded(void *arg, int rc, const char *why)
{
	Cluster *cl = arg;
	if (cl->phase == P_LOAD) {
		if (rc < 0) {
			fail(cl, "filling the cache: %s", why);
			return;
		}
		cl->phase = P_READY;
		reap_next(cl, CNODE_REAP_MS);
		return;
	}
	if (rc < 0)
		LOGW("cluster: reading every job again: %s", why);
}

static void on_ready(void *arg, int64_t start_seq)
{
	Cluster *cl = arg;
	(void)start_seq;
	if (cl->phase != P_FEED)
		return;
	/* From here on every change is delivered: what the load reads is at
	 * least as new as the feed's start. */
	cl->phase = P_LOAD;
	replica_all(cl->rep, on_loaded, cl);
}

static void on_changed(void *arg, const CFeedChange *c, size_t n)
{
	Cluster *cl = arg;
	for (size_t i = 0; i < n; i++) {
		if (c[i].job_id == 0)
			replica_all(cl->rep, on_loaded, cl);    /* "all": too many to name */
		else
			replica_job(cl->rep, c[i].job_id);
	}
}

static void on_overrun(void *arg, int64_t first, int64_t last)
{
	Cluster *cl = arg;
	LOGW("cluster: changes %" PRId64 "..%" PRId64 " were pruned before this node read them; "
	     "reading every job again", first, last);
	replica_all(cl->rep, on_loaded, cl);
}

static void on_replica_job(void *arg, int64_t id, const StoreJob *j)
{
	Cluster *cl = arg;
	if (cl->phase == P_READY && cl->o.job)
		cl->o.job(cl->o.arg, id, j);
}

static int on_replica_hold(void *arg, int64_t id, uint64_t since)
{
	Cluster *cl = arg;
	return cl->mirror &&
	       (mirror_changing(cl->mirror, id) || mirror_committed_since(cl->mirror, id, since));
}

static uint64_t on_replica_now(void *arg)
{
	Cluster *cl = arg;
	return cl->mirror ? mirror_gen(cl->mirror) : 0;
}

static void start_feed(Cluster *cl)
{
	cl->phase = P_FEED;
	ReplicaOpts ro = { .job = on_replica_job, .hold = on_replica_hold, .now = on_replica_now,
	                   .arg = cl };
	cl->rep = replica_new(cl->cf, cl->o.cache, &ro);
	CFeedOpts fo = { .from_seq = 0, .changed = on_changed, .ready = on_ready,
	                 .overrun = on_overrun, .arg = cl };
	cl->feed = cfeed_new(cl->loop, cl->cf, &fo);
	if (cl->feed == NULL)
		fail(cl, "the changes feed: bad options");
}

/* ---- open ---- */

static int timed_out;

static void on_timeout(uv_timer_t *t)
{
	(void)t;
	timed_out = 1;
}

static PgConn *conn(Cluster *cl, void (*state)(void *, int, const char *),
                    void (*notify)(void *, const char *, const char *))
{
	PgConnOpts po = { .state = state, .notify = notify, .arg = cl };
	return pgconn_new(cl->loop, cl->o.conninfo, &po);
}

int cluster_open(uv_loop_t *loop, const ClusterOpts *o, int timeout_ms, Cluster **out,
                 char *why, size_t n)
{
	if (!cnode_name_ok(o->node)) {
		strfmt(why, n, "node name %s: 1 to %d letters, digits, '.', '_' or '-'", o->node,
		       CNODE_NAME_MAX);
		return -EINVAL;
	}
	Cluster *cl = xcalloc(1, sizeof *cl);
	cl->loop = loop;
	uv_timer_init(loop, &cl->reap);
	cl->reap.data = cl;
	cl->o = *o;
	snprintf(cl->name, sizeof cl->name, "%s", o->node);
	cl->cw = conn(cl, on_w_state, NULL);
	cl->cn = conn(cl, on_n_state, NULL);
	cl->cc = conn(cl, NULL, NULL);
	cl->cf = conn(cl, on_f_state, on_f_notify);
	cl->phase = P_MIGRATE;
	read_version(cl);
	uv_timer_t t;
	uv_timer_init(loop, &t);
	timed_out = 0;
	uv_timer_start(&t, on_timeout, (uint64_t)timeout_ms, 0);
	while (!timed_out && cl->phase != P_FAILED &&
	       (cl->phase != P_READY || !mirror_has_ids(cl->mirror)))
		uv_run(loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	if (cl->phase == P_READY && mirror_has_ids(cl->mirror)) {
		*out = cl;
		return 0;
	}
	static const char *const where[] = {
		[P_MIGRATE] = "reading or migrating the schema", [P_REGISTER] = "registering the node",
		[P_FEED] = "starting the changes feed", [P_LOAD] = "filling the cache",
		[P_READY] = "taking a block of ids",
	};
	if (cl->phase == P_FAILED)
		strfmt(why, n, "%s", cl->why);
	else
		strfmt(why, n, "no answer from the database in %d ms while %s (%s)", timeout_ms,
		       where[cl->phase], pgconn_up(cl->cw) ? "connected" : pgconn_why(cl->cw));
	int rc = cl->phase == P_FAILED ? -EIO : -ETIMEDOUT;
	cluster_close(cl, NULL, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	return rc;
}

Mirror *cluster_mirror(Cluster *cl)
{
	return cl->mirror;
}

ClusterNode *cluster_node(Cluster *cl)
{
	return cl->node;
}

const char *cluster_name(const Cluster *cl)
{
	return cl->name;
}

/* ---- the store's observer ---- */

static int obs_ready(void *arg, char *why, size_t n)
{
	Cluster *cl = arg;
	if (cl->node_state == CNODE_FENCED) {
		strfmt(why, n, "node %s was started again elsewhere: this one changes nothing",
		       cl->name);
		return -ESTALE;
	}
	if (!pgconn_up(cl->cw)) {
		/* EIO, not ENOTCONN: a client would take that for its own
		 * connection to jobd lost. */
		strfmt(why, n, "the database is unreachable (%s): nothing can be changed until it is "
		       "back", pgconn_why(cl->cw));
		return -EIO;
	}
	if (!mirror_has_ids(cl->mirror)) {
		strfmt(why, n, "no ids from the database yet: try again");
		return -EAGAIN;
	}
	return 0;
}

static int64_t obs_new_id(void *arg)
{
	Cluster *cl = arg;
	return mirror_id(cl->mirror);
}

static int obs_job_created(void *arg, const StoreJob *j)
{
	return mirror_job_create(((Cluster *)arg)->mirror, j);
}

static int obs_job_saved(void *arg, const StoreJob *j)
{
	return mirror_job_save(((Cluster *)arg)->mirror, j);
}

static int obs_job_started(void *arg, int64_t id, int started)
{
	return mirror_job_started(((Cluster *)arg)->mirror, id, started);
}

static int obs_job_deleted(void *arg, int64_t id)
{
	return mirror_job_delete(((Cluster *)arg)->mirror, id);
}

static int obs_run(void *arg, const StoreRun *r)
{
	return mirror_run_put(((Cluster *)arg)->mirror, r);
}

static int obs_text(void *arg, int64_t job_id, int64_t run_id, int64_t roff, const char *text,
                    size_t len)
{
	Cluster *cl = arg;
	int64_t id = mirror_id(cl->mirror);
	if (id == 0)
		return -EAGAIN;
	return mirror_text(cl->mirror, id, job_id, run_id, roff, text, len);
}

static int obs_retained(void *arg, int64_t job_id, const int64_t *ids, size_t n, int64_t cut,
                        int before)
{
	return mirror_retain(((Cluster *)arg)->mirror, job_id, ids, n, cut, before);
}

static int obs_pending(void *arg)
{
	return mirror_pending(((Cluster *)arg)->mirror);
}

/* The store's done, waiting for the database. */
typedef struct Wait {
	Cluster *cl;
	void (*done)(void *arg, int rc, const char *why);
	void *arg;
} Wait;

static void on_mirrored(void *arg, int rc, const char *why, const MirrorResult *res)
{
	Wait *w = arg;
	/* The jobs it changed are read again: answers held back while it was on
	 * its way (ReplicaOpts.hold) are taken now. */
	if (rc == 0 && res && res->all)
		replica_all(w->cl->rep, on_loaded, w->cl);
	else if (rc == 0 && res)
		for (size_t i = 0; i < res->njobs; i++)
			replica_job(w->cl->rep, res->jobs[i]);
	if (rc == 0 && res && res->nrefused)
		/* Another node made a job of the same name first: the feed brings
		 * that one, which takes the name's place in the cache and in jobs. */
		LOGW("cluster: %zu job(s) created here were made by another node first (same name); "
		     "that node's take their place", res->nrefused);
	w->done(w->arg, rc, rc ? why : "");
	free(w);
}

static void obs_commit(void *arg, void (*done)(void *arg, int rc, const char *why), void *darg)
{
	Cluster *cl = arg;
	if (!mirror_pending(cl->mirror)) {
		done(darg, 0, "");
		return;
	}
	Wait *w = xcalloc(1, sizeof *w);
	w->cl = cl;
	w->done = done;
	w->arg = darg;
	int rc = mirror_commit(cl->mirror, on_mirrored, w);
	if (rc < 0) {
		free(w);
		done(darg, rc, "the database is unreachable: the changes of this turn are lost");
	}
}

void cluster_observe(Cluster *cl, Store *s)
{
	StoreObserver ob = {
		.arg = cl, .node = cl->name, .ready = obs_ready, .new_id = obs_new_id,
		.job_created = obs_job_created,
		.job_saved = obs_job_saved, .job_started = obs_job_started,
		.job_deleted = obs_job_deleted, .run = obs_run, .text = obs_text,
		.retained = obs_retained, .pending = obs_pending, .commit = obs_commit,
	};
	store_observe(s, &ob);
}

void cluster_resync(Cluster *cl)
{
	replica_all(cl->rep, on_loaded, cl);
}

/* ---- the jobs table's claims and starts ---- */

typedef struct Ask {
	Cluster *cl;
	void (*claimed)(void *darg, int rc, int64_t seq, const char *busy, const char *why);
	void (*started)(void *darg, int ok, const char *why);
	void *darg;
} Ask;

static Ask *ask_new(Cluster *cl, void *darg)
{
	Ask *a = xcalloc(1, sizeof *a);
	a->cl = cl;
	a->darg = darg;
	return a;
}

static int64_t ops_new_id(void *arg)
{
	return mirror_id(((Cluster *)arg)->mirror);
}

static int64_t ops_offset_ns(void *arg)
{
	CNodeInfo i;
	cnode_info(((Cluster *)arg)->node, &i);
	return i.renewals ? i.clock_offset_ms * 1000000 : 0;
}

static void on_claim_run(void *arg, int rc, int64_t seq, const char *busy, const char *err)
{
	Ask *a = arg;
	int r = rc == CNODE_CLAIMED ? 1 : rc == CNODE_TAKEN ? 0 : rc == CNODE_NOT_DUE ? -EAGAIN : rc;
	a->claimed(a->darg, r, seq, busy, err);
	free(a);
}

static int ops_claim(void *arg, int64_t job_id, int64_t sched, int64_t run_id,
                     void (*done)(void *darg, int rc, int64_t seq, const char *busy,
                                  const char *why), void *darg)
{
	Cluster *cl = arg;
	Ask *a = ask_new(cl, darg);
	a->claimed = done;
	int rc = cnode_claim_run(cl->node, job_id, sched, run_id, on_claim_run, a);
	if (rc < 0)
		free(a);
	return rc;
}

static void on_start_fire(void *arg, int rc, const char *err)
{
	Ask *a = arg;
	/* 1 yes; 0 refused (the claim is not this node's any more); < 0 no
	 * answer that counts (the database's yes came after the lease, or
	 * none came). */
	a->started(a->darg, rc, rc == 1 ? "" : *err ? err : "refused by the database");
	free(a);
}

static int ops_start(void *arg, int64_t job_id, int64_t sched,
                     void (*done)(void *darg, int ok, const char *why), void *darg)
{
	Cluster *cl = arg;
	if (sched == 0) {
		/* A manual run has no instant to fence: its claim was made with a
		 * lease valid in the database; the node's lease must still be. */
		int ok = cnode_may_start(cl->node);
		done(darg, ok ? 1 : -EAGAIN, ok ? "" : "this node's lease ran out");
		return 0;
	}
	Ask *a = ask_new(cl, darg);
	a->started = done;
	int rc = cnode_start_fire(cl->node, job_id, sched, on_start_fire, a);
	if (rc < 0)
		free(a);
	return rc;
}

static unsigned ops_rank(void *arg, int64_t job_id, int64_t sched)
{
	return cnode_rank(((Cluster *)arg)->node, job_id, sched);
}

void cluster_jobs_ops(Cluster *cl, JobsCluster *out)
{
	*out = (JobsCluster){ .arg = cl, .node = cl->name, .new_id = ops_new_id,
	                      .offset_ns = ops_offset_ns, .claim = ops_claim, .start = ops_start,
	                      .rank = ops_rank };
}

/* ---- close ---- */

static void part_closed(void *arg)
{
	Cluster *cl = arg;
	if (--cl->pending > 0)
		return;
	if (cl->closed)
		cl->closed(cl->closed_arg);
	free(cl);
}

static void reap_closed(uv_handle_t *h)
{
	part_closed(h->data);
}

void cluster_close(Cluster *cl, void (*closed)(void *arg), void *arg)
{
	if (cl->closing)
		return;
	cl->closing = 1;
	cl->closed = closed;
	cl->closed_arg = arg;
	cl->pending = 2;            /* until everything below is asked to close; the timer */
	uv_close((uv_handle_t *)&cl->reap, reap_closed);
	if (cl->rep)
		replica_close(cl->rep);
	if (cl->feed) {
		cl->pending++;
		cfeed_close(cl->feed, part_closed, cl);
	}
	if (cl->node) {
		cl->pending++;
		cnode_close(cl->node, part_closed, cl);
	}
	if (cl->mirror)
		mirror_close(cl->mirror);
	PgConn *cs[NCONN] = { cl->cw, cl->cn, cl->cc, cl->cf };
	for (int i = 0; i < NCONN; i++) {
		cl->pending++;
		pgconn_close(cs[i], part_closed, cl);
	}
	part_closed(cl);
}
