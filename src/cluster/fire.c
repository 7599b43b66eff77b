/* Claiming a scheduled instant and the fenced start (node.h; doc/cluster.md,
 * "Claiming" and "Fencing and leases"). Each is one statement, so one
 * implicit transaction and one round trip. */
#include "cluster/node_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* $1 job, $2 sched (unix s), $3 node, $4 epoch. The row is made only when
 * the instant is due by the database's clock (never early, whatever this
 * host's clock says), the node holds a valid lease there (a node whose lease
 * is over must not take instants it may not start, which would wait for the
 * reaper), and the job is started in the database (see STOPPED below). The
 * answer tells the outcomes apart: rows made (0 or 1), whether it was due,
 * whether the lease held. */
#define DUE_LEASED(manual_due)                                                              \
	"q AS (SELECT (" manual_due "$2::bigint <= extract(epoch from now())) AS due,"      \
	" EXISTS (SELECT 1 FROM nodes WHERE name = $3::text AND epoch = $4::bigint"         \
	" AND lease_until > now()) AS leased,"                                              \
	" EXISTS (SELECT 1 FROM fires WHERE job_id = $1::bigint AND sched = $2::bigint"     \
	" AND $2::bigint <> 0) AS known),"
/* A stop acknowledged on any node ends the job's claims on every node at
 * once, whatever the others have heard of it yet: the claim reads the
 * job's started flag under the row's lock (taken before the fire's row, as
 * the statement's first lock), so a claim either commits before the stop's
 * UPDATE or waits for it and then reads the stopped flag. Without the lock,
 * a claim that began before the stop's commit could commit after it: a run
 * made after its job was stopped. An instant already claimed (known, by
 * this statement's snapshot) takes no lock: its insert could only lose,
 * and a loser queued on the job's row would wait behind batches that hold
 * it. A job gone takes the insert to its reference, which fails. */
#define STOPPED                                                                             \
	" l AS (SELECT started FROM jobs, q WHERE id = $1::bigint AND NOT q.known"          \
	" AND q.due AND q.leased FOR NO KEY UPDATE OF jobs),"
#define CLAIMABLE " q.due AND q.leased AND NOT q.known AND coalesce((SELECT started FROM l), 1) <> 0"
static const char SQL_CLAIM[] =
	"WITH " DUE_LEASED("") STOPPED
	" ins AS (INSERT INTO fires (job_id, sched, node, epoch, state)"
	" SELECT $1::bigint, $2::bigint, $3::text, $4::bigint, 'claimed' FROM q"
	" WHERE" CLAIMABLE
	" ON CONFLICT (job_id, sched) DO NOTHING RETURNING 1)"
	" SELECT (SELECT count(*) FROM ins), q.due, q.leased FROM q";

/* The start of doc/cluster.md: claimed -> started only for this node's and
 * epoch's claim while its lease is valid by the database's now(). The same
 * statement counts it in nodes.runs_started (a data-modifying WITH runs
 * whether or not the query reads it), and says whether the lease held, for
 * the refusal's message. */
static const char SQL_START[] =
	"WITH s AS (UPDATE fires SET state = 'started'"
	" WHERE job_id = $1::bigint AND sched = $2::bigint AND node = $3::text"
	" AND epoch = $4::bigint AND state = 'claimed'"
	" AND EXISTS (SELECT 1 FROM nodes WHERE name = $3::text AND epoch = $4::bigint"
	" AND lease_until > now())"
	" RETURNING 1),"
	" c AS (UPDATE nodes SET runs_started = runs_started + 1"
	" WHERE name = $3::text AND epoch = $4::bigint AND EXISTS (SELECT 1 FROM s))"
	" SELECT (SELECT count(*) FROM s), EXISTS (SELECT 1 FROM nodes WHERE name = $3::text"
	" AND epoch = $4::bigint AND lease_until > now())";

/* The claim with its run (cnode_claim_run): $1 job, $2 sched (0: manual),
 * $3 node, $4 epoch, $5 the run's id. The job row's lock (the UPDATE) lines
 * up claims of one job from several nodes, so run numbers are handed out
 * once each. A job deleted meanwhile makes the fire's insert fail its
 * reference: the claim fails, as it should. */
static const char SQL_CLAIM_RUN[] =
	"WITH " DUE_LEASED("$2::bigint = 0 OR ") STOPPED
	" f AS (INSERT INTO fires (job_id, sched, node, epoch, state, run_id)"
	" SELECT $1::bigint, $2::bigint, $3::text, $4::bigint, 'claimed', $5::bigint FROM q"
	" WHERE" CLAIMABLE " AND $2::bigint <> 0"
	" ON CONFLICT (job_id, sched) DO NOTHING RETURNING 1),"
	" j AS (UPDATE jobs SET run_seq = run_seq + 1, last_sched = greatest(last_sched, $2::bigint)"
	" WHERE id = $1::bigint AND (EXISTS (SELECT 1 FROM f)"
	" OR ($2::bigint = 0 AND (SELECT leased FROM q))) RETURNING run_seq, log_end),"
	" r AS (INSERT INTO runs (id, job_id, sched, state, seq, log_off, node, manual)"
	" SELECT $5::bigint, $1::bigint, $2::bigint, 0, run_seq, log_end, $3::text,"
	" ($2::bigint = 0)::int FROM j RETURNING seq)"
	" SELECT (SELECT seq FROM r), q.due, q.leased,"
	" (SELECT node FROM runs WHERE job_id = $1::bigint AND state IN (0, 1)"
	" AND id <> $5::bigint ORDER BY id LIMIT 1),"
	" coalesce((SELECT started FROM l), 1) = 0 FROM q";

/* A claim this node took over from a dead one (cnode_reap): its run, as
 * the dead node made it with the claim, or (an instant run again, whose
 * fire lost its run) a new one, made as a claim makes it. $1 job, $2
 * sched, $3 node, $4 epoch, $5 the new run's id. Answers the run's id and
 * number, or NULLs if the claim is not this node's. */
static const char SQL_ADOPT[] =
	"WITH f AS (SELECT run_id FROM fires WHERE job_id = $1::bigint AND sched = $2::bigint"
	" AND node = $3::text AND epoch = $4::bigint AND state = 'claimed' FOR UPDATE),"
	" j AS (UPDATE jobs SET run_seq = run_seq + 1 WHERE id = $1::bigint"
	" AND EXISTS (SELECT 1 FROM f WHERE run_id = 0) RETURNING run_seq, log_end),"
	" r AS (INSERT INTO runs (id, job_id, sched, state, seq, log_off, node, manual)"
	" SELECT $5::bigint, $1::bigint, $2::bigint, 0, run_seq, log_end, $3::text, 0 FROM j"
	" RETURNING id, seq),"
	" u AS (UPDATE fires SET run_id = $5::bigint WHERE job_id = $1::bigint"
	" AND sched = $2::bigint AND EXISTS (SELECT 1 FROM r))"
	" SELECT coalesce((SELECT id FROM r), (SELECT run_id FROM f WHERE run_id <> 0)),"
	" coalesce((SELECT seq FROM r), (SELECT seq FROM runs WHERE id = (SELECT run_id FROM f)))";

static int truth(const PGresult *res, int col)
{
	return strcmp(PQgetvalue(res, 0, col), "t") == 0;
}

/* 1 if the answer is what the statement returns: one row of nfields. */
static int shape_ok(const PGresult *res, int nfields)
{
	return res && PQntuples(res) == 1 && PQnfields(res) == nfields;
}

/* No answer (err), or not one row of nfields (what): 1, with -EIO and why. */
static int bad_answer(const PGresult *res, const char *err, int nfields, const char *what,
                      int *rc, const char **msg)
{
	if (res && shape_ok(res, nfields))
		return 0;
	*rc = -EIO;
	*msg = res ? what : err;
	return 1;
}

/* A claim's answer (one row: claimed?, due, leased) as an outcome, with
 * msg; claimed says how the first column reads. */
static int claim_outcome(const PGresult *res, const char *err, int nfields,
                         int (*claimed)(const PGresult *), const char **msg)
{
	int rc;
	*msg = "";
	if (bad_answer(res, err, nfields, "an unexpected answer to the claim", &rc, msg))
		return rc;
	if (claimed(res))
		return CNODE_CLAIMED;
	if (!truth(res, 1))
		return CNODE_NOT_DUE;
	if (!truth(res, 2)) {
		*msg = "the database holds no valid lease of this node";
		return -ENOLCK;
	}
	return CNODE_TAKEN;
}

static int one_row_made(const PGresult *res)
{
	return cnode_num(res, 0, 0, NULL) == 1;
}

static int seq_given(const PGresult *res)
{
	return !PQgetisnull(res, 0, 0);
}

static void on_claim(void *arg, PGresult *res, const char *err)
{
	Req *r = arg;
	ClusterNode *n = cnode_req_take(r);
	if (n && r->done) {
		const char *msg;
		int rc = claim_outcome(res, err, 3, one_row_made, &msg);
		r->done(r->arg, rc, msg);
	}
	free(r);
}

static void on_claim_run(void *arg, PGresult *res, const char *err)
{
	Req *r = arg;
	ClusterNode *n = cnode_req_take(r);
	if (n && r->run) {
		const char *msg;
		int rc = claim_outcome(res, err, 5, seq_given, &msg);
		int ok = rc == CNODE_CLAIMED;
		if (rc == CNODE_TAKEN && truth(res, 4))
			msg = "the job is stopped in the database";
		r->run(r->arg, rc, ok ? cnode_num(res, 0, 0, NULL) : 0, ok ? PQgetvalue(res, 0, 3) : "",
		       msg);
	}
	free(r);
}

/* The answer to SQL_ADOPT: the run that counts (the dead node's, or the new
 * one), or CNODE_TAKEN when the claim is not this node's. */
static void on_adopt(void *arg, PGresult *res, const char *err)
{
	Req *r = arg;
	ClusterNode *n = cnode_req_take(r);
	if (n && r->adopt) {
		int rc = CNODE_TAKEN, null_id = 1, null_seq = 1;
		int64_t id = 0, seq = 0;
		const char *msg = "";
		if (bad_answer(res, err, 2, "an unexpected answer to the take-over", &rc, &msg)) {
			/* rc and msg say what */
		} else {
			id = cnode_num(res, 0, 0, &null_id);
			seq = cnode_num(res, 0, 1, &null_seq);
			if (!null_id && !null_seq)
				rc = CNODE_CLAIMED;
		}
		r->adopt(r->arg, rc, id, seq, msg);
	}
	free(r);
}

static void on_start(void *arg, PGresult *res, const char *err)
{
	Req *r = arg;
	ClusterNode *n = cnode_req_take(r);
	if (n && r->done) {
		int rc;
		const char *msg = "";
		if (bad_answer(res, err, 2, "an unexpected answer to the start", &rc, &msg)) {
			/* rc and msg say what */
		} else if (cnode_num(res, 0, 0, NULL) != 1) {
			rc = 0;
			msg = truth(res, 1) ? "refused: not this node's claim, or started already"
			                    : "refused: the lease is over by the database's clock";
		} else if (!cnode_may_start(n)) {
			/* The database said yes while the lease was valid, but the
			 * answer came after the local belief ended (the node was
			 * paused, say): starting now could be after the lease. */
			rc = -ETIMEDOUT;
			msg = n->state == CNODE_FENCED ? "fenced before the answer came"
			                               : "the lease ran out before the answer came";
		} else {
			rc = 1;
		}
		r->done(r->arg, rc, msg);
	}
	free(r);
}


static int send_fire(ClusterNode *n, int kind, int64_t job_id, int64_t sched, CNodeDone *done,
                     void *arg)
{
	int rc = cnode_refused(n);
	if (rc < 0)
		return rc;
	char job[24], when[24], epoch[24];
	strfmt(job, sizeof job, "%lld", (long long)job_id);
	strfmt(when, sizeof when, "%lld", (long long)sched);
	strfmt(epoch, sizeof epoch, "%lld", (long long)n->epoch);
	const char *p[] = { job, when, n->name, epoch };
	Req *r = cnode_req_new(n, kind);
	r->done = done;
	r->arg = arg;
	return cnode_req_send(r, kind == REQ_CLAIM ? SQL_CLAIM : SQL_START, 4, p,
	                      kind == REQ_CLAIM ? on_claim : on_start);
}

int cnode_claim_fire(ClusterNode *n, int64_t job_id, int64_t sched, CNodeDone *done, void *arg)
{
	return send_fire(n, REQ_CLAIM, job_id, sched, done, arg);
}

int cnode_start_fire(ClusterNode *n, int64_t job_id, int64_t sched, CNodeDone *done, void *arg)
{
	return send_fire(n, REQ_START, job_id, sched, done, arg);
}

/* A statement on (job, sched, node, epoch, run id): the claim with its run,
 * or a take-over's. */
static int send_run(ClusterNode *n, const char *sql, PgQueryDone *answer, int64_t job_id,
                    int64_t sched, int64_t run_id, CNodeRunDone *run, CNodeAdoptDone *adopt,
                    void *arg)
{
	int rc = cnode_refused(n);
	if (rc < 0)
		return rc;
	char job[24], when[24], epoch[24], id[24];
	strfmt(job, sizeof job, "%lld", (long long)job_id);
	strfmt(when, sizeof when, "%lld", (long long)sched);
	strfmt(epoch, sizeof epoch, "%lld", (long long)n->epoch);
	strfmt(id, sizeof id, "%lld", (long long)run_id);
	const char *p[] = { job, when, n->name, epoch, id };
	Req *r = cnode_req_new(n, REQ_RUN);
	r->run = run;
	r->adopt = adopt;
	r->arg = arg;
	return cnode_req_send(r, sql, 5, p, answer);
}

int cnode_claim_run(ClusterNode *n, int64_t job_id, int64_t sched, int64_t run_id,
                    CNodeRunDone *done, void *arg)
{
	return send_run(n, SQL_CLAIM_RUN, on_claim_run, job_id, sched, run_id, done, NULL, arg);
}

int cnode_adopt_run(ClusterNode *n, int64_t job_id, int64_t sched, int64_t new_id,
                    CNodeAdoptDone *done, void *arg)
{
	return send_run(n, SQL_ADOPT, on_adopt, job_id, sched, new_id, NULL, done, arg);
}
