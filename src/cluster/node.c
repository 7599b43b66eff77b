/* A cluster node's registration, lease and clock offset (node.h).
 *
 * Why the local lease is conservative. The database grants the lease as
 * lease_until = now() + lease, where now() is the database's time when the
 * renewal's transaction began. That is no earlier than the moment this node
 * queued the statement (it cannot run before it was sent), so recording the
 * send time, s, before pgconn_query and believing in the lease only until
 *
 *	s + lease - margin        (measured here, on this host's clock)
 *
 * ends the local belief at least `margin` before the database's lease_until,
 * whatever the round trip took and however late the answer was read. The
 * margin covers what the bound does not: the rates of the two clocks (10 s
 * at 500 ppm is 5 ms), and the moment between cnode_may_start saying yes and
 * the exec it guards (a step of the database's clock is not: the start
 * statement, judged by that clock, still is). A node that is paused (SIGSTOP, a stalled VM) or cut
 * off gets no answer, so s stops moving and the belief ends on its own: it
 * stops starting commands before any other node may take its claims over,
 * without asking the database.
 *
 * The local clock is CLOCK_BOOTTIME, not CLOCK_MONOTONIC: the latter stands
 * still while the machine is suspended, and a laptop or VM resumed after an
 * hour would still believe in a lease that the database ended long ago.
 *
 * Why the epoch is bumped once. Registration (INSERT ... ON CONFLICT DO
 * UPDATE SET epoch = epoch + 1) fences every older holder of the name. Doing
 * it again after a lost connection would fence a newer process that took the
 * name meanwhile, and the two would take it from each other in turn, both
 * starting commands. So a ClusterNode registers until one registration is
 * answered (an unanswered one may or may not have bumped the epoch: nothing
 * was claimed with the epoch it made, so bumping again is harmless), then
 * only renews that epoch. A renewal that matches no row means the name is
 * someone else's now: the node is fenced for good (node.h). A renewal after
 * a long outage may find its own row still there with a lapsed lease: it is
 * renewed, and the claims the reaper took over meanwhile are no longer this
 * epoch's (fires.node and fires.epoch changed), so their start is refused.
 *
 * The clock offset. now() comes back with each answer; the local wall clock
 * at the middle of the round trip stands for the moment it was read:
 * offset = db now - (wall at send + round trip / 2), good to half the round
 * trip. A round trip over CNODE_CLOCK_WARN_MS is too vague to judge a 1 s
 * offset by, and is not used. The warning is logged when |offset| goes over
 * 1 s and once more when it is back under 0.8 s: the gap keeps an offset
 * that hovers near 1 s from logging at every renewal. The offset is written
 * into the node's row at the next renewal, for every node's status. */
#include "cluster/node_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"

/* $1 name, $2 lease (ms). A new name starts at epoch 1. The row's counts
 * start again with the epoch: they describe this start of the node. Both
 * statements answer epoch, lease_until and now() (unix µs). */
/* The live nodes (their leases valid now), for cnode_rank: a renewal's
 * answer carries them, so knowing them costs no statement of its own. */
#define LIVE " (SELECT coalesce(string_agg(name, ' ' ORDER BY name), '') FROM nodes" \
	" WHERE lease_until > now())"

static const char SQL_REGISTER[] =
	"INSERT INTO nodes (name, epoch, lease_until, started_at, clock_offset_ms, runs_started)"
	" VALUES ($1::text, 1, now() + $2::bigint * interval '1 millisecond', now(), 0, 0)"
	" ON CONFLICT (name) DO UPDATE SET epoch = nodes.epoch + 1,"
	" lease_until = EXCLUDED.lease_until, started_at = now(), clock_offset_ms = 0,"
	" runs_started = 0"
	" RETURNING epoch, (extract(epoch from lease_until) * 1000000)::bigint,"
	" (extract(epoch from now()) * 1000000)::bigint," LIVE;

/* $1 name, $2 epoch, $3 lease (ms), $4 the offset last measured (ms). */
static const char SQL_RENEW[] =
	"UPDATE nodes SET lease_until = now() + $3::bigint * interval '1 millisecond',"
	" clock_offset_ms = $4::bigint"
	" WHERE name = $1::text AND epoch = $2::bigint"
	" RETURNING epoch, (extract(epoch from lease_until) * 1000000)::bigint,"
	" (extract(epoch from now()) * 1000000)::bigint," LIVE;

enum { NS_PER_MS = 1000000 };

/* ---- state ---- */

int cnode_may_start(const ClusterNode *n)
{
	return !n->closing && n->state != CNODE_FENCED && n->epoch != 0 &&
	       cnode_boot_ns() < n->valid_until_ns;
}

static void set_state(ClusterNode *n, int st, const char *why)
{
	if (n->closing || n->state == st || n->state == CNODE_FENCED)
		return;
	n->state = st;
	if (n->o.state)
		n->o.state(n->o.arg, st, why);
}

/* The timer that says when the lease ran out locally (for the state and the
 * log: cnode_may_start reads the clock itself and does not wait for it). */
static void on_expiry(uv_timer_t *h);

static void arm_expiry(ClusterNode *n)
{
	if (n->closing || n->state == CNODE_FENCED)
		return;
	int64_t left = n->valid_until_ns - cnode_boot_ns();
	if (left <= 0) {
		uv_timer_stop(&n->expiry);
		on_expiry(&n->expiry);
		return;
	}
	/* Whole ms, rounded up, plus one: libuv's timers count from the loop's
	 * cached time, which may be a little behind. */
	uv_timer_start(&n->expiry, on_expiry, (uint64_t)(left / NS_PER_MS) + 2, 0);
}

static void on_expiry(uv_timer_t *h)
{
	ClusterNode *n = h->data;
	if (n->closing || n->state == CNODE_FENCED)
		return;
	if (cnode_may_start(n)) {
		arm_expiry(n);
		return;
	}
	if (n->state != CNODE_UP)
		return;
	char why[160];
	strfmt(why, sizeof why, "the lease ran out: no renewal answered within %d ms of "
	       "the last one sent", n->o.lease_ms - n->o.margin_ms);
	LOGW("cluster: node %s: %s; starting nothing until one is", n->name, why);
	set_state(n, CNODE_DOWN, why);
}

static void fenced(ClusterNode *n)
{
	static const char why[] = "fenced: a newer registration took the name "
	                          "(another process started as this node?)";
	LOGE("cluster: node %s, epoch %lld: %s; this node starts and claims nothing more",
	     n->name, (long long)n->epoch, why);
	n->valid_until_ns = 0;
	uv_timer_stop(&n->tick);
	uv_timer_stop(&n->expiry);
	n->state = CNODE_FENCED;
	if (n->o.state)
		n->o.state(n->o.arg, CNODE_FENCED, why);
}

static void failed(ClusterNode *n, int reg, const char *err)
{
	n->failures++;
	/* The first of a run of failures is logged, the rest only with -v:
	 * the database away means one every renew_ms. */
	if (n->failures == 1)
		LOGW("cluster: node %s: %s failed: %s (trying again every %d ms)", n->name,
		     reg ? "registration" : "renewal", err, n->o.renew_ms);
	else
		VLOG(1, "cluster: node %s: %s failed: %s", n->name, reg ? "registration" : "renewal",
		     err);
}

static void measure_clock(ClusterNode *n, const Req *r, int64_t recv_ns, int64_t db_now_us)
{
	int64_t rtt = recv_ns - r->sent_ns;
	n->rtt_ms = rtt / NS_PER_MS;
	if (rtt > (int64_t)CNODE_CLOCK_WARN_MS * NS_PER_MS)
		return;
	int64_t mid_wall = r->sent_wall_ns + rtt / 2;
	int64_t off = (db_now_us * 1000 - mid_wall) / NS_PER_MS;
	int64_t mag = off < 0 ? -off : off;
	n->offset_ms = off;
	if (!n->clock_off && mag > CNODE_CLOCK_WARN_MS) {
		n->clock_off = 1;
		LOGW("cluster: node %s: this host's wall clock is %.3f s %s the database's "
		     "(the database's is the one used for due times and leases)",
		     n->name, (double)mag / 1e3, off < 0 ? "ahead of" : "behind");
	} else if (n->clock_off && mag < CNODE_CLOCK_WARN_MS - CNODE_CLOCK_HYST_MS) {
		n->clock_off = 0;
		LOGI("cluster: node %s: this host's wall clock is within %.3f s of the database's again",
		     n->name, (double)mag / 1e3);
	} else {
		return;
	}
	if (n->o.clock)
		n->o.clock(n->o.arg, n->clock_off, off);
}

/* An answer granted the lease: it is valid until the request's send time
 * plus the lease less the margin (see the top of this file). */
static void granted(ClusterNode *n, const Req *r, int64_t recv_ns, const PGresult *res)
{
	int64_t epoch = cnode_num(res, 0, 0, NULL);
	if (r->kind == REQ_REGISTER) {
		n->epoch = epoch;
		LOGI("cluster: node %s registered, epoch %lld", n->name, (long long)epoch);
	} else if (n->failures) {
		LOGI("cluster: node %s: renewed again after %llu failures", n->name,
		     (unsigned long long)n->failures);
	}
	n->renewals++;
	n->failures = 0;
	n->db_lease_until_us = cnode_num(res, 0, 1, NULL);
	free(n->live);
	n->live = xstrdup(PQgetvalue(res, 0, 3));
	int64_t until = r->sent_ns + (int64_t)(n->o.lease_ms - n->o.margin_ms) * NS_PER_MS;
	if (until > n->valid_until_ns)
		n->valid_until_ns = until;
	measure_clock(n, r, recv_ns, cnode_num(res, 0, 2, NULL));
	if (n->closing)
		return;                 /* closed by the clock callback */
	/* An answer later than the lease it grants leaves the node down. */
	if (cnode_may_start(n))
		set_state(n, CNODE_UP, "");
	arm_expiry(n);
}

static void on_lease_answer(void *arg, PGresult *res, const char *err)
{
	Req *r = arg;
	int64_t recv_ns = cnode_boot_ns();
	ClusterNode *n = cnode_req_take(r);
	if (n == NULL || n->state == CNODE_FENCED) {
		free(r);
		return;
	}
	n->busy = 0;
	int reg = r->kind == REQ_REGISTER;
	if (res == NULL)
		failed(n, reg, err);
	else if (PQntuples(res) == 1 && PQnfields(res) == 4)
		granted(n, r, recv_ns, res);
	else if (!reg && PQntuples(res) == 0)
		fenced(n);
	else
		failed(n, reg, "an unexpected answer");
	free(r);
}

/* Registers (until one registration is answered) or renews: one at a time,
 * so that a database that does not answer costs one request, not one a tick. */
static void send_lease(ClusterNode *n)
{
	if (n->closing || n->state == CNODE_FENCED || n->busy)
		return;
	int reg = n->epoch == 0;
	char lease[24], epoch[24], off[24];
	strfmt(lease, sizeof lease, "%d", n->o.lease_ms);
	strfmt(epoch, sizeof epoch, "%lld", (long long)n->epoch);
	strfmt(off, sizeof off, "%lld", (long long)n->offset_ms);
	const char *reg_p[] = { n->name, lease };
	const char *renew_p[] = { n->name, epoch, lease, off };
	Req *r = cnode_req_new(n, reg ? REQ_REGISTER : REQ_RENEW);
	int rc = reg ? cnode_req_send(r, SQL_REGISTER, 2, reg_p, on_lease_answer)
	             : cnode_req_send(r, SQL_RENEW, 4, renew_p, on_lease_answer);
	if (rc == 0) {
		n->busy = 1;
		return;
	}
	char why[600];
	if (rc == -ENOTCONN)
		strfmt(why, sizeof why, "the database is unreachable: %s", pgconn_why(n->c));
	else
		strfmt(why, sizeof why, "not sent: %s", strerror(-rc));
	failed(n, reg, why);
}

static void on_tick(uv_timer_t *h)
{
	send_lease(h->data);
}

void cnode_work(ClusterNode *n, PgConn *work)
{
	n->work = work;
}

void cnode_conn_changed(ClusterNode *n, int up)
{
	if (up)
		send_lease(n);
}

/* ---- the interface ---- */

ClusterNode *cnode_new(uv_loop_t *loop, PgConn *c, const char *name, const CNodeOpts *o)
{
	if (!cnode_name_ok(name))
		return NULL;
	CNodeOpts opts = { 0 };
	if (o)
		opts = *o;
	if (opts.lease_ms <= 0)
		opts.lease_ms = CNODE_LEASE_MS;
	if (opts.renew_ms <= 0)
		opts.renew_ms = CNODE_RENEW_MS;
	if (opts.margin_ms <= 0)
		opts.margin_ms = CNODE_MARGIN_MS;
	if (opts.wall_ns == NULL)
		opts.wall_ns = wall_now_ns;
	/* A renewal must be sent (and answered) before the last one's belief
	 * ends, or the node would go down between two renewals. */
	if (opts.renew_ms >= opts.lease_ms - opts.margin_ms)
		return NULL;
	ClusterNode *n = xcalloc(1, sizeof *n);
	n->loop = loop;
	n->c = c;
	n->work = NULL;
	strfmt(n->name, sizeof n->name, "%s", name);
	n->o = opts;
	n->state = CNODE_DOWN;
	uv_timer_init(loop, &n->tick);
	uv_timer_init(loop, &n->expiry);
	n->tick.data = n->expiry.data = n;
	uv_timer_start(&n->tick, on_tick, (uint64_t)opts.renew_ms, (uint64_t)opts.renew_ms);
	send_lease(n);              /* queued while the connection is being made */
	return n;
}

void cnode_info(const ClusterNode *n, CNodeInfo *out)
{
	int64_t left = n->valid_until_ns - cnode_boot_ns();
	*out = (CNodeInfo){
		.state = n->state,
		.epoch = n->epoch,
		.lease_left_ms = cnode_may_start(n) && left > 0 ? left / NS_PER_MS : 0,
		.db_lease_until_us = n->db_lease_until_us,
		.clock_offset_ms = n->offset_ms,
		.clock_off = n->clock_off,
		.rtt_ms = n->rtt_ms,
		.renewals = n->renewals,
		.failures = n->failures,
	};
}

const char *cnode_name(const ClusterNode *n)
{
	return n->name;
}

unsigned cnode_rank(const ClusterNode *n, int64_t job_id, int64_t sched)
{
	return n->live ? cnode_rank_of(n->name, n->live, job_id, sched) : 0;
}

static void on_handle_closed(uv_handle_t *h)
{
	ClusterNode *n = h->data;
	if (++n->nclosed < 2)
		return;
	if (n->closed)
		n->closed(n->closed_arg);
	free(n->live);
	free(n);
}

void cnode_close(ClusterNode *n, void (*closed)(void *arg), void *arg)
{
	if (n->closing)
		return;
	n->closing = 1;
	n->closed = closed;
	n->closed_arg = arg;
	uv_close((uv_handle_t *)&n->tick, on_handle_closed);
	uv_close((uv_handle_t *)&n->expiry, on_handle_closed);
	/* pgconn still holds the requests and will answer each (or fail it):
	 * they forget the node now, and are freed then. */
	while (n->reqs) {
		Req *r = n->reqs;
		cnode_req_take(r);
		CNodeDone *done = r->done;
		CNodeText *text = r->text;
		CNodeRunDone *run = r->run;
		CNodeAdoptDone *adopt = r->adopt;
		r->done = NULL;
		r->text = NULL;
		r->run = NULL;
		r->adopt = NULL;
		if (done)
			done(r->arg, -ECANCELED, "closed");
		else if (text)
			text(r->arg, -ECANCELED, "closed");
		else if (run)
			run(r->arg, -ECANCELED, 0, "", "closed");
		else if (adopt)
			adopt(r->arg, -ECANCELED, 0, 0, "closed");
	}
}
