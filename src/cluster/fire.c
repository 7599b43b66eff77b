/* Claiming a scheduled instant and the fenced start (node.h; doc/cluster.md,
 * "Claiming" and "Fencing and leases"). Each is one statement, so one
 * implicit transaction and one round trip. */
#include "cluster/node_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* $1 job, $2 sched (unix s), $3 node, $4 epoch. The row is made only when
 * the instant is due by the database's clock (never early, whatever this
 * host's clock says) and the node holds a valid lease there: a node whose
 * lease is over must not take instants it may not start, which would wait
 * for the reaper. The answer tells the three outcomes apart: rows made (0 or
 * 1), whether it was due, whether the lease held. */
static const char SQL_CLAIM[] =
	"WITH q AS (SELECT $2::bigint <= extract(epoch from now()) AS due,"
	" EXISTS (SELECT 1 FROM nodes WHERE name = $3::text AND epoch = $4::bigint"
	" AND lease_until > now()) AS leased),"
	" ins AS (INSERT INTO fires (job_id, sched, node, epoch, state)"
	" SELECT $1::bigint, $2::bigint, $3::text, $4::bigint, 'claimed' FROM q"
	" WHERE q.due AND q.leased"
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

static void on_claim(void *arg, PGresult *res, const char *err)
{
	Req *r = arg;
	ClusterNode *n = cnode_req_take(r);
	if (n && r->done) {
		int rc;
		const char *msg = "";
		if (bad_answer(res, err, 3, "an unexpected answer to the claim", &rc, &msg)) {
			/* rc and msg say what */
		} else if (cnode_num(res, 0, 0, NULL) == 1) {
			rc = CNODE_CLAIMED;
		} else if (!truth(res, 1)) {
			rc = CNODE_NOT_DUE;
		} else if (!truth(res, 2)) {
			rc = -ENOLCK;
			msg = "the database holds no valid lease of this node";
		} else {
			rc = CNODE_TAKEN;
		}
		r->done(r->arg, rc, msg);
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

/* Why a claim or a start is refused without asking the database, if it is:
 * a fenced node, or one whose lease has lapsed locally. */
static int refused(const ClusterNode *n)
{
	if (n->closing)
		return -ESHUTDOWN;
	if (n->state == CNODE_FENCED)
		return -ESTALE;
	if (!cnode_may_start(n))
		return -EAGAIN;
	return 0;
}

static int send_fire(ClusterNode *n, int kind, int64_t job_id, int64_t sched, CNodeDone *done,
                     void *arg)
{
	int rc = refused(n);
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
