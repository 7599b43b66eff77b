/* The fires of dead nodes (node.h, "reap.c"; doc/cluster.md, "Dead nodes").
 * A reap is one statement, so one implicit transaction and one round trip.
 *
 * What is read. A reap looks at what is open, not at the history: claims
 * not yet started (the partial index fires_claimed; a claim lives for a
 * round trip or two) and runs not yet ended (runs_open: the runs going now),
 * each joined to its fire by (job, sched) and fires.run_id. A started fire
 * whose run ended, or was lost, is not read again, however old.
 *
 * Several reapers at once. Each SELECT that picks rows locks them FOR
 * UPDATE SKIP LOCKED: a row another reap holds is skipped (it is that
 * reap's), and a row one took and committed meanwhile is read again as it
 * is now (PostgreSQL rechecks the conditions on the newest version before
 * locking it), when it is no longer a dead node's. Each UPDATE repeats the
 * dead node and epoch, so a row changes hands only from the node it was
 * picked from.
 *
 * Rerun once. orphan=rerun runs a lost instant once more: fires.reruns
 * counts the times an instant was claimed again after its run was lost. Its
 * second run, if lost too, is only recorded lost. The count is on the fire,
 * the instant's one row; the runs may hold two for the instant, and a new
 * row per rerun would have to be found by (job, sched) among them.
 *
 * A fire that was started without a run (run_id 0: the run row is the
 * backend's to link in the claim's batch, before the start) is not read:
 * there is no run to record lost. */
#include "cluster/node_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* $1 this node, $2 its epoch, $3 grace (ms), $4 at most so many of each.
 * dead(f): no node row holds f's node and epoch with a lease that ended
 * less than the grace ago. me: whether this node's own lease is valid now,
 * without which nothing is taken. The answer: one row per claim taken
 * ('claimed'), per claim made again ('rerun'), per run lost ('lost', its id
 * and the dead node), and a row 'nolease' if this node's lease is over.
 * 0, 1: RUN_CLAIMED, RUN_RUNNING; 5: RUN_LOST; end_ns is the database's now(). */
#define DEAD(f) \
	" NOT EXISTS (SELECT 1 FROM nodes n WHERE n.name = " f ".node AND n.epoch = " f ".epoch" \
	" AND n.lease_until + $3::bigint * interval '1 millisecond' > now())"
static const char SQL_REAP[] =
	"WITH me AS (SELECT 1 FROM nodes WHERE name = $1::text AND epoch = $2::bigint"
	" AND lease_until > now()),"
	" claims AS MATERIALIZED (SELECT f.job_id, f.sched, f.node, f.epoch FROM fires f"
	" WHERE f.state = 'claimed' AND EXISTS (SELECT 1 FROM me) AND" DEAD("f")
	" LIMIT $4::bigint FOR UPDATE OF f SKIP LOCKED),"
	" taken AS (UPDATE fires f SET node = $1::text, epoch = $2::bigint FROM claims c"
	" WHERE f.job_id = c.job_id AND f.sched = c.sched AND f.node = c.node"
	" AND f.epoch = c.epoch AND f.state = 'claimed' RETURNING f.job_id, f.sched),"
	" open AS MATERIALIZED (SELECT r.id, f.job_id, f.sched, f.node, f.epoch, f.reruns, j.orphan"
	" FROM runs r JOIN fires f ON f.job_id = r.job_id AND f.sched = r.sched AND f.run_id = r.id"
	" JOIN jobs j ON j.id = f.job_id"
	" WHERE r.state IN (0, 1) AND f.state = 'started' AND EXISTS (SELECT 1 FROM me) AND"
	DEAD("f") " LIMIT $4::bigint FOR UPDATE OF f, r SKIP LOCKED),"
	" lost AS (UPDATE runs r SET state = 5,"
	" end_ns = (extract(epoch from now()) * 1000000)::bigint * 1000 FROM open o"
	" WHERE r.id = o.id AND r.state IN (0, 1)"
	" RETURNING r.id, r.job_id, r.sched, o.node, o.epoch, o.reruns, o.orphan),"
	" again AS (UPDATE fires f SET node = $1::text, epoch = $2::bigint, state = 'claimed',"
	" run_id = 0, reruns = f.reruns + 1 FROM lost l"
	" WHERE l.orphan = 1 AND l.reruns = 0 AND f.job_id = l.job_id AND f.sched = l.sched"
	" AND f.run_id = l.id AND f.node = l.node AND f.epoch = l.epoch AND f.state = 'started'"
	" RETURNING f.job_id, f.sched)"
	" SELECT 'claimed'::text, job_id, sched, 0::bigint, ''::text FROM taken"
	" UNION ALL SELECT 'rerun', job_id, sched, 0, '' FROM again"
	" UNION ALL SELECT 'lost', job_id, sched, id, node FROM lost"
	" UNION ALL SELECT 'nolease', 0, 0, 0, '' WHERE NOT EXISTS (SELECT 1 FROM me)";

/* The caller's callback, kept beside the request (Req holds a CNodeDone). */
typedef struct Reap {
	CNodeReapDone *done;
	void *arg;
} Reap;

static const CNodeReap none;

/* cnode_close reports the request through Req.done: passed on. */
static void reap_canceled(void *arg, int rc, const char *err)
{
	Reap *p = arg;
	p->done(p->arg, rc, err, &none);
}

/* The answer's rows into out (malloc'ed lists); 1 if it said 'nolease'. */
static int take_rows(const PGresult *res, CNodeReap *out)
{
	int rows = PQntuples(res), nolease = 0;
	size_t taken = 0;
	out->claims = xcalloc((size_t)rows + 1, sizeof *out->claims);
	out->lost = xcalloc((size_t)rows + 1, sizeof *out->lost);
	for (int i = 0; i < rows; i++) {
		const char *kind = PQgetvalue(res, i, 0);
		int64_t job = cnode_num(res, i, 1, NULL), sched = cnode_num(res, i, 2, NULL);
		if (strcmp(kind, "lost") == 0) {
			CNodeLostRun *l = &out->lost[out->nlost++];
			*l = (CNodeLostRun){ .job_id = job, .sched = sched,
			                     .run_id = cnode_num(res, i, 3, NULL) };
			strfmt(l->node, sizeof l->node, "%s", PQgetvalue(res, i, 4));
		} else if (strcmp(kind, "nolease") == 0) {
			nolease = 1;
		} else {
			int rerun = strcmp(kind, "rerun") == 0;
			out->claims[out->nclaims++] = (CNodeReapClaim){
				.job_id = job, .sched = sched, .rerun = rerun };
			taken += !rerun;
		}
	}
	/* Each claim picked is taken, each run picked lost: a full list of
	 * either means there may be more. */
	out->more = taken >= CNODE_REAP_MAX || out->nlost >= CNODE_REAP_MAX;
	return nolease;
}

static void on_reap(void *arg, PGresult *res, const char *err)
{
	Req *r = arg;
	Reap *p = r->arg;
	ClusterNode *n = cnode_req_take(r);
	if (n && r->done) {
		CNodeReap got = { 0 };
		if (res == NULL || PQnfields(res) != 5)
			p->done(p->arg, -EIO, res ? "an unexpected answer to the reap" : err, &none);
		else if (take_rows(res, &got))
			p->done(p->arg, -ENOLCK, "the database holds no valid lease of this node", &none);
		else
			p->done(p->arg, 0, "", &got);
		free(got.claims);
		free(got.lost);
	}
	free(p);
	free(r);
}


int cnode_reap(ClusterNode *n, CNodeReapDone *done, void *arg)
{
	int rc = cnode_refused(n);
	if (rc < 0)
		return rc;
	char epoch[24], grace[24], max[24];
	strfmt(epoch, sizeof epoch, "%lld", (long long)n->epoch);
	strfmt(grace, sizeof grace, "%d", n->o.reap_grace_ms > 0 ? n->o.reap_grace_ms : 0);
	strfmt(max, sizeof max, "%d", CNODE_REAP_MAX);
	const char *params[] = { n->name, epoch, grace, max };
	Reap *p = xcalloc(1, sizeof *p);
	p->done = done;
	p->arg = arg;
	Req *r = cnode_req_new(n, REQ_REAP);
	r->done = reap_canceled;
	r->arg = p;
	rc = cnode_req_send(r, SQL_REAP, 4, params, on_reap);
	if (rc < 0)
		free(p);                /* r was freed by cnode_req_send */
	return rc;
}
