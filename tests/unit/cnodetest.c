/* Cluster nodes of the unit tests, on the private PostgreSQL (cnodetest.h). */
#include "cnodetest.h"
#include "pgtest.h"
#include "unit.h"

int cnodetest_closed;

static void peer_conn(void *arg, int up, const char *why)
{
	(void)why;
	CnodetestPeer *p = arg;
	p->conn_up = up;
	if (!up)
		p->conn_downs++;
	if (p->n)
		cnode_conn_changed(p->n, up);
}

static void peer_state(void *arg, int st, const char *why)
{
	CnodetestPeer *p = arg;
	p->state = st;
	snprintf(p->why, sizeof p->why, "%s", why);
	if (st == CNODE_UP)
		p->nup++;
	else if (st == CNODE_DOWN)
		p->ndown++;
	else if (st == CNODE_FENCED)
		p->nfenced++;
}

static void peer_clock(void *arg, int off, int64_t ms)
{
	CnodetestPeer *p = arg;
	p->nclock++;
	p->clock_off = off;
	p->clock_ms = ms;
}

PgConn *cnodetest_conn(uv_loop_t *loop, CnodetestPeer *p)
{
	PgConnOpts o = { .state = peer_conn, .arg = p };
	return pgconn_new(loop, pgtest_conninfo, &o);
}

int cnodetest_is_up(const void *p)
{
	return ((const CnodetestPeer *)p)->state == CNODE_UP;
}

void cnodetest_start(uv_loop_t *loop, CnodetestPeer *p, const char *name, CNodeOpts o)
{
	memset(p, 0, sizeof *p);
	p->c = cnodetest_conn(loop, p);
	o.state = peer_state;
	o.clock = peer_clock;
	o.arg = p;
	p->n = cnode_new(loop, p->c, name, &o);
	CHECKF(p->n != NULL, "cnode_new %s", name);
	if (p->n)
		CHECKF(pgtest_wait(loop, cnodetest_is_up, p, 10000), "node %s never up: %s", name,
		       p->why);
}

void cnodetest_on_closed(void *arg)
{
	(void)arg;
	cnodetest_closed++;
}

void cnodetest_settle(uv_loop_t *loop, int want)
{
	for (int i = 0; i < 400 && cnodetest_closed < want; i++)
		uv_run(loop, UV_RUN_NOWAIT);
	CHECKF(cnodetest_closed >= want, "not closed");
}

void cnodetest_stop(uv_loop_t *loop, CnodetestPeer *p)
{
	if (p->n) {
		int want = cnodetest_closed + 1;
		cnode_close(p->n, cnodetest_on_closed, NULL);
		p->n = NULL;
		cnodetest_settle(loop, want);
	}
	if (p->c) {
		int want = cnodetest_closed + 1;
		pgconn_close(p->c, cnodetest_on_closed, NULL);
		p->c = NULL;
		cnodetest_settle(loop, want);
	}
}

void cnodetest_out_done(void *arg, int rc, const char *err)
{
	CnodetestOut *o = arg;
	o->called++;
	o->rc = rc;
	snprintf(o->err, sizeof o->err, "%s", err);
}

CnodetestOut cnodetest_fire(uv_loop_t *loop, ClusterNode *n, int start, long long job,
                            long long sched)
{
	CnodetestOut o = { 0 };
	int r = start ? cnode_start_fire(n, job, sched, cnodetest_out_done, &o)
	              : cnode_claim_fire(n, job, sched, cnodetest_out_done, &o);
	CHECKF(r == 0, "%s refused at once: %d", start ? "start" : "claim", r);
	if (r == 0)
		CHECKF(pgtest_wait_flag(loop, &o.called, 10000), "no outcome");
	return o;
}
