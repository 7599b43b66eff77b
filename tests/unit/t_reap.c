/* Tests of the reaper (src/cluster/reap.c) against a real server: a private
 * PostgreSQL 15 (tests/unit/pgtest.h) with the store's PostgreSQL schema.
 * Nodes die by closing (their lease then lapses in the database) or by
 * having their lease ended in the database by hand; each wait runs the loop
 * until what it waits for has happened or a deadline has passed.
 *
 * The run rows a backend will write (a run per started fire, linked by
 * fires.run_id) are written here by hand. */
#include "cluster/node.h"
#include "store/schema.h"
#include "store/store.h"
#include "pgtest.h"
#include "unit.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uv_loop_t loop;

/* ---- running the loop ---- */

static int timed_out;

static void on_deadline(uv_timer_t *h)
{
	(void)h;
	timed_out = 1;
}

static void on_wake(uv_timer_t *h)
{
	(void)h;
}

/* Runs the loop until pred(arg) or ms pass, looking every 5 ms at least
 * (a lease running out is no event of the loop's); 1 if pred came true. */
static int wait_for(int (*pred)(const void *), const void *arg, int ms)
{
	uv_timer_t t, wake;
	uv_timer_init(&loop, &t);
	uv_timer_init(&loop, &wake);
	timed_out = 0;
	uv_timer_start(&t, on_deadline, (uint64_t)ms, 0);
	uv_timer_start(&wake, on_wake, 5, 5);
	while (!pred(arg) && !timed_out)
		uv_run(&loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_close((uv_handle_t *)&wake, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	return pred(arg);
}

static int int_set(const void *p)
{
	return *(const int *)p != 0;
}

static int wait_flag(const int *flag, int ms)
{
	return wait_for(int_set, flag, ms);
}

static int never(const void *p)
{
	(void)p;
	return 0;
}

/* ---- SQL on the test's own connection ---- */

typedef struct Q {
	int called, ok;
	char err[700];
	char val[128];              /* the first row's first field */
} Q;

static void q_done(void *arg, PGresult *res, const char *err)
{
	Q *q = arg;
	q->called = 1;
	q->ok = res != NULL;
	snprintf(q->err, sizeof q->err, "%s", err);
	if (res && PQntuples(res) > 0 && PQnfields(res) > 0)
		snprintf(q->val, sizeof q->val, "%s", PQgetvalue(res, 0, 0));
}

static PgConn *adm;

static Q sql_on(PgConn *c, const char *s)
{
	Q q = { 0 };
	int r = pgconn_query(c, s, 0, NULL, q_done, &q);
	CHECKF(r == 0, "pgconn_query %s: %d", s, r);
	if (r == 0)
		CHECKF(wait_flag(&q.called, 10000), "no answer to %s", s);
	CHECKF(q.ok, "%s: %s", s, q.err);
	return q;
}

static Q sql(const char *s)
{
	return sql_on(adm, s);
}

static long long num(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static long long num(const char *fmt, ...)
{
	char s[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s, sizeof s, fmt, ap);
	va_end(ap);
	return strtoll(sql(s).val, NULL, 10);
}

static void exec_f(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void exec_f(const char *fmt, ...)
{
	char s[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s, sizeof s, fmt, ap);
	va_end(ap);
	sql(s);
}

/* ---- nodes ---- */

typedef struct Peer {
	PgConn *c;
	ClusterNode *n;
	int state;
	char why[256];
} Peer;

static void peer_conn(void *arg, int up, const char *why)
{
	(void)why;
	Peer *p = arg;
	if (p->n)
		cnode_conn_changed(p->n, up);
}

static void peer_state(void *arg, int st, const char *why)
{
	Peer *p = arg;
	p->state = st;
	snprintf(p->why, sizeof p->why, "%s", why);
}

static int peer_is_up(const void *arg)
{
	return ((const Peer *)arg)->state == CNODE_UP;
}

static int is_fenced(const void *arg)
{
	return ((const Peer *)arg)->state == CNODE_FENCED;
}

/* Short leases for the nodes that die: gone from the database 1.5 s after
 * their last renewal. The reapers keep the defaults. */
static const CNodeOpts mortal = { .lease_ms = 1500, .renew_ms = 300, .margin_ms = 500 };

static void peer_start(Peer *p, const char *name, CNodeOpts o)
{
	memset(p, 0, sizeof *p);
	PgConnOpts co = { .state = peer_conn, .arg = p };
	p->c = pgconn_new(&loop, pgtest_conninfo, &co);
	o.state = peer_state;
	o.arg = p;
	p->n = cnode_new(&loop, p->c, name, &o);
	CHECKF(p->n != NULL, "cnode_new %s", name);
	if (p->n)
		CHECKF(wait_for(peer_is_up, p, 10000), "node %s never up: %s", name, p->why);
}

static int nclosed;

static void on_closed(void *arg)
{
	(void)arg;
	nclosed++;
}

static void settle_closed(int want)
{
	for (int i = 0; i < 400 && nclosed < want; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	CHECKF(nclosed >= want, "not closed");
}

/* The node stops (as a process that dies: its lease lapses by itself). */
static void peer_stop(Peer *p)
{
	if (p->n) {
		int want = nclosed + 1;
		cnode_close(p->n, on_closed, NULL);
		p->n = NULL;
		settle_closed(want);
	}
	if (p->c) {
		int want = nclosed + 1;
		pgconn_close(p->c, on_closed, NULL);
		p->c = NULL;
		settle_closed(want);
	}
}

static const char *dead_name;

static int lease_over(const void *arg)
{
	(void)arg;
	return num("SELECT count(*) FROM nodes WHERE name = '%s' AND lease_until <= now()",
	           dead_name) == 1;
}

/* Waits until the database holds p's (stopped) lease over. */
static void wait_dead(const char *name)
{
	dead_name = name;
	CHECKF(wait_for(lease_over, NULL, 10000), "%s's lease never ended", name);
}

/* ---- claims, starts, reaps ---- */

typedef struct Out {
	int called, rc;
	char err[700];
} Out;

static void out_done(void *arg, int rc, const char *err)
{
	Out *o = arg;
	o->called++;
	o->rc = rc;
	snprintf(o->err, sizeof o->err, "%s", err);
}

static int fire(ClusterNode *n, int start, long long job, long long sched)
{
	Out o = { 0 };
	int r = start ? cnode_start_fire(n, job, sched, out_done, &o)
	              : cnode_claim_fire(n, job, sched, out_done, &o);
	CHECKF(r == 0, "%s refused at once: %d", start ? "start" : "claim", r);
	if (r == 0)
		CHECKF(wait_flag(&o.called, 10000), "no outcome");
	return o.rc;
}

/* What a reap reported, copied. */
typedef struct Got {
	int called, rc;
	char err[700];
	CNodeReapClaim claims[CNODE_REAP_MAX];
	size_t nclaims;
	CNodeLostRun lost[CNODE_REAP_MAX];
	size_t nlost;
	int more;
} Got;

static void reap_done(void *arg, int rc, const char *err, const CNodeReap *r)
{
	Got *g = arg;
	g->called++;
	g->rc = rc;
	snprintf(g->err, sizeof g->err, "%s", err);
	g->nclaims = r->nclaims < CNODE_REAP_MAX ? r->nclaims : CNODE_REAP_MAX;
	g->nlost = r->nlost < CNODE_REAP_MAX ? r->nlost : CNODE_REAP_MAX;
	for (size_t i = 0; i < g->nclaims; i++)      /* empty lists may be NULL */
		g->claims[i] = r->claims[i];
	for (size_t i = 0; i < g->nlost; i++)
		g->lost[i] = r->lost[i];
	g->more = r->more;
}

static Got *reap(ClusterNode *n)
{
	Got *g = calloc(1, sizeof *g);
	int r = cnode_reap(n, reap_done, g);
	CHECKF(r == 0, "reap refused at once: %d", r);
	if (r == 0)
		CHECKF(wait_flag(&g->called, 10000), "no answer to the reap");
	CHECKF(g->called == 1, "reported %d times", g->called);
	return g;
}

static long long epoch_of(ClusterNode *n)
{
	CNodeInfo i;
	cnode_info(n, &i);
	return i.epoch;
}

/* The fire's row as "node epoch state run_id reruns". */
static const char *fire_row(long long job, long long sched)
{
	static char row[160];
	char s[300];
	snprintf(s, sizeof s, "SELECT node || ' ' || epoch || ' ' || state || ' ' || run_id || ' ' "
	         "|| reruns FROM fires WHERE job_id = %lld AND sched = %lld", job, sched);
	snprintf(row, sizeof row, "%s", sql(s).val);
	return row;
}

/* A run row in state st for (job, sched), linked to its fire. */
static void run_row(long long id, long long job, long long sched, int st)
{
	exec_f("INSERT INTO runs (id, job_id, sched, state, start_ns) VALUES (%lld, %lld, %lld, %d, 1)",
	       id, job, sched, st);
	exec_f("UPDATE fires SET run_id = %lld WHERE job_id = %lld AND sched = %lld", id, job, sched);
}

static Peer b, c;
static long long t0;            /* due instants are t0 - k (unix s, the database's clock) */

/* ---- the tests ---- */

static void batch_done(void *arg, int rc, const char *why)
{
	Out *o = arg;
	o->called = 1;
	o->rc = rc;
	snprintf(o->err, sizeof o->err, "%s", why);
}

static void adm_conn(void *arg, int up, const char *why)
{
	(void)arg, (void)up, (void)why;
}

static void test_schema(void)
{
	PgConnOpts o = { .state = adm_conn };
	adm = pgconn_new(&loop, pgtest_conninfo, &o);
	for (int v = schema_empty(SCHEMA_PG) + 1; v <= SCHEMA_VERSION; v++) {
		Out r = { 0 };
		CHECK(pgconn_batch_begin(adm) == 0);
		const char *s;
		for (int i = 0; (s = schema_stmt(SCHEMA_PG, v, i)) != NULL; i++)
			CHECK(pgconn_query(adm, s, 0, NULL, NULL, NULL) == 0);
		char stamp[64];
		schema_stamp(SCHEMA_PG, v, stamp, sizeof stamp);
		CHECK(pgconn_query(adm, stamp, 0, NULL, NULL, NULL) == 0);
		CHECK(pgconn_batch_commit(adm, batch_done, &r) == 0);
		CHECKF(wait_flag(&r.called, 20000), "step %d: no answer", v);
		CHECKF(r.rc == 0, "step %d: %s", v, r.err);
	}
	CHECK(num("SELECT version FROM jobd_schema") == SCHEMA_VERSION);
	/* Job 1 orphan=lost (the default), job 2 orphan=rerun, job 3 for many. */
	sql("INSERT INTO jobs (id, name, schedule, cmd) VALUES (1, 'lost', '* * * * *', 'true'::bytea),"
	    " (3, 'many', '* * * * *', 'true'::bytea)");
	sql("INSERT INTO jobs (id, name, schedule, cmd, orphan) VALUES (2, 'rerun', '* * * * *',"
	    " 'true'::bytea, 1)");
	t0 = num("SELECT floor(extract(epoch from now()))::bigint") - 10;
	peer_start(&b, "b", (CNodeOpts){ 0 });
	peer_start(&c, "c", (CNodeOpts){ 0 });
}

/* 5: while the claim's node holds its lease, a reap takes nothing; nor
 * after it ended, within a reaper's grace. */
static void test_alive_kept(void)
{
	Peer a;
	peer_start(&a, "a5", mortal);
	CHECK(fire(a.n, 0, 1, t0 - 5) == CNODE_CLAIMED);
	Got *g = reap(b.n);
	CHECKF(g->rc == 0 && g->nclaims == 0 && g->nlost == 0, "%d %s: %zu claims %zu lost", g->rc,
	       g->err, g->nclaims, g->nlost);
	free(g);
	char want[64];
	snprintf(want, sizeof want, "a5 %lld claimed 0 0", epoch_of(a.n));
	CHECKF(strcmp(fire_row(1, t0 - 5), want) == 0, "row %s", fire_row(1, t0 - 5));
	CHECK(fire(a.n, 1, 1, t0 - 5) == 1);

	/* Dead, but not for a minute yet: a reaper with that grace waits. */
	CHECK(fire(a.n, 0, 1, t0 - 6) == CNODE_CLAIMED);
	peer_stop(&a);
	wait_dead("a5");
	Peer patient;
	peer_start(&patient, "patient", (CNodeOpts){ .reap_grace_ms = 60000 });
	g = reap(patient.n);
	CHECKF(g->rc == 0 && g->nclaims == 0 && g->nlost == 0, "%d %s: %zu claims", g->rc, g->err,
	       g->nclaims);
	free(g);
	CHECK(strncmp(fire_row(1, t0 - 6), "a5 ", 3) == 0);
	peer_stop(&patient);
	/* Without a grace it is taken (test 1 says more). */
	g = reap(b.n);
	CHECKF(g->rc == 0 && g->nclaims == 1 && g->claims[0].sched == t0 - 6, "%d %zu", g->rc,
	       g->nclaims);
	free(g);
}

/* 1: a claim of a node whose lease ended is the reaper's: it starts it, and
 * the node's own start of its old claim is refused. The node here is alive
 * but its lease ended in the database (as after a long pause): its start is
 * asked of the database, which has the last word. */
static uint64_t renewals_seen;

static int renewed(const void *arg)
{
	CNodeInfo i;
	cnode_info(((const Peer *)arg)->n, &i);
	return i.renewals > renewals_seen;
}

static void test_claim_taken(void)
{
	Peer a;
	peer_start(&a, "a1", (CNodeOpts){ 0 });    /* renews every 2 s */
	CHECK(fire(a.n, 0, 1, t0 - 1) == CNODE_CLAIMED);
	long long old_epoch = epoch_of(a.n);
	/* Right after a renewal: the next is 2 s away, time enough for what
	 * follows before a's renewal gives it its lease back. */
	CNodeInfo i;
	cnode_info(a.n, &i);
	renewals_seen = i.renewals;
	CHECK(wait_for(renewed, &a, 5000));
	sql("UPDATE nodes SET lease_until = now() - interval '1 millisecond' WHERE name = 'a1'");
	CHECK(cnode_may_start(a.n));            /* it does not know */
	Got *g = reap(b.n);
	CHECKF(g->rc == 0 && g->nclaims == 1 && g->nlost == 0, "%d %s: %zu claims %zu lost", g->rc,
	       g->err, g->nclaims, g->nlost);
	if (g->nclaims == 1)
		CHECK(g->claims[0].job_id == 1 && g->claims[0].sched == t0 - 1 && !g->claims[0].rerun);
	free(g);
	char row[64];
	snprintf(row, sizeof row, "b %lld claimed 0 0", epoch_of(b.n));
	CHECKF(strcmp(fire_row(1, t0 - 1), row) == 0, "row %s", fire_row(1, t0 - 1));
	CHECKF(fire(a.n, 1, 1, t0 - 1) == 0, "a1 (epoch %lld) started it", old_epoch);
	CHECK(fire(b.n, 1, 1, t0 - 1) == 1);
	CHECK(strncmp(fire_row(1, t0 - 1), "b ", 2) == 0 && strstr(fire_row(1, t0 - 1), " started "));
	CHECK(num("SELECT runs_started FROM nodes WHERE name = 'a1'") == 0);
	/* A second reap finds nothing more. */
	g = reap(c.n);
	CHECK(g->rc == 0 && g->nclaims == 0 && g->nlost == 0);
	free(g);
	peer_stop(&a);

	/* A node that started again (a newer epoch) has no say over its older
	 * self's claims, lease or not: they are dead at once. */
	peer_start(&a, "a1b", mortal);
	CHECK(fire(a.n, 0, 1, t0 - 7) == CNODE_CLAIMED);
	Peer again;
	peer_start(&again, "a1b", mortal);
	g = reap(b.n);
	CHECKF(g->rc == 0 && g->nclaims == 1 && g->claims[0].sched == t0 - 7, "%d %zu", g->rc,
	       g->nclaims);
	free(g);
	peer_stop(&a);
	peer_stop(&again);
}

/* 2: the run of a dead node's started fire becomes lost, with an end; with
 * orphan=lost nothing is claimed again. */
static void test_run_lost(void)
{
	Peer a;
	peer_start(&a, "a2", mortal);
	CHECK(fire(a.n, 0, 1, t0 - 2) == CNODE_CLAIMED);
	CHECK(fire(a.n, 1, 1, t0 - 2) == 1);
	run_row(100, 1, t0 - 2, RUN_RUNNING);
	/* Its claim that no run came of yet (claimed, never started) too. */
	CHECK(fire(a.n, 0, 1, t0 - 3) == CNODE_CLAIMED);
	peer_stop(&a);
	wait_dead("a2");
	long long before = num("SELECT (extract(epoch from now()) * 1000000)::bigint * 1000");
	Got *g = reap(b.n);
	CHECKF(g->rc == 0 && g->nlost == 1 && g->nclaims == 1, "%d %s: %zu lost %zu claims", g->rc,
	       g->err, g->nlost, g->nclaims);
	if (g->nlost == 1)
		CHECKF(g->lost[0].job_id == 1 && g->lost[0].sched == t0 - 2 && g->lost[0].run_id == 100 &&
		       strcmp(g->lost[0].node, "a2") == 0, "lost %lld %lld %lld %s",
		       (long long)g->lost[0].job_id, (long long)g->lost[0].sched,
		       (long long)g->lost[0].run_id, g->lost[0].node);
	if (g->nclaims == 1)
		CHECK(g->claims[0].sched == t0 - 3 && !g->claims[0].rerun);
	free(g);
	CHECK(num("SELECT state FROM runs WHERE id = 100") == RUN_LOST);
	long long end = num("SELECT end_ns FROM runs WHERE id = 100");
	CHECKF(end >= before && end < before + 10000000000LL, "end_ns %lld, now %lld", end, before);
	CHECKF(strcmp(fire_row(1, t0 - 2), "a2 1 started 100 0") == 0, "row %s", fire_row(1, t0 - 2));
	/* Lost once: the next reap does not see it again. */
	g = reap(c.n);
	CHECK(g->rc == 0 && g->nlost == 0 && g->nclaims == 0);
	free(g);
	CHECK(num("SELECT count(*) FROM runs WHERE job_id = 1 AND sched = %lld", t0 - 2) == 1);
}

/* 3: with orphan=rerun, the lost run's instant is claimed again once; if
 * that node dies too while running it, its run is only recorded lost. */
static void test_rerun_once(void)
{
	Peer a, e;
	peer_start(&a, "a3", mortal);
	peer_start(&e, "e3", mortal);
	CHECK(fire(a.n, 0, 2, t0) == CNODE_CLAIMED);
	CHECK(fire(a.n, 1, 2, t0) == 1);
	run_row(200, 2, t0, RUN_RUNNING);
	peer_stop(&a);
	wait_dead("a3");
	Got *g = reap(e.n);
	CHECKF(g->rc == 0 && g->nlost == 1 && g->nclaims == 1, "%d %s: %zu lost %zu claims", g->rc,
	       g->err, g->nlost, g->nclaims);
	if (g->nclaims == 1)
		CHECK(g->claims[0].job_id == 2 && g->claims[0].sched == t0 && g->claims[0].rerun);
	if (g->nlost == 1)
		CHECK(g->lost[0].run_id == 200 && strcmp(g->lost[0].node, "a3") == 0);
	free(g);
	char row[64];
	snprintf(row, sizeof row, "e3 %lld claimed 0 1", epoch_of(e.n));
	CHECKF(strcmp(fire_row(2, t0), row) == 0, "row %s", fire_row(2, t0));
	CHECK(num("SELECT state FROM runs WHERE id = 200") == RUN_LOST);
	/* e3 runs it again, then dies. */
	CHECK(fire(e.n, 1, 2, t0) == 1);
	run_row(201, 2, t0, RUN_RUNNING);
	peer_stop(&e);
	wait_dead("e3");
	g = reap(c.n);
	CHECKF(g->rc == 0 && g->nlost == 1 && g->nclaims == 0, "%d %s: %zu lost %zu claims", g->rc,
	       g->err, g->nlost, g->nclaims);
	if (g->nlost == 1)
		CHECK(g->lost[0].run_id == 201 && strcmp(g->lost[0].node, "e3") == 0);
	free(g);
	CHECK(num("SELECT state FROM runs WHERE id = 201") == RUN_LOST);
	CHECKF(strncmp(fire_row(2, t0), "e3 ", 3) == 0 && strstr(fire_row(2, t0), " started 201 1"),
	       "row %s", fire_row(2, t0));
	g = reap(b.n);
	CHECK(g->rc == 0 && g->nlost == 0 && g->nclaims == 0);
	free(g);
	CHECK(num("SELECT count(*) FROM runs WHERE job_id = 2 AND sched = %lld", t0) == 2);
}

/* 4: two reapers at once over 200 claims and 200 runs of a dead node: each
 * is taken by exactly one. */
enum { MANY = 200 };

static void count_into(const Got *g, int *claims, int *lost, const char *who)
{
	for (size_t i = 0; i < g->nclaims; i++) {
		long long k = g->claims[i].sched - 1;
		CHECKF(g->claims[i].job_id == 3 && k >= 0 && k < MANY, "%s: claim %lld", who, k);
		if (k >= 0 && k < MANY)
			claims[k]++;
	}
	for (size_t i = 0; i < g->nlost; i++) {
		long long k = g->lost[i].sched - MANY - 1;
		CHECKF(g->lost[i].job_id == 3 && k >= 0 && k < MANY, "%s: lost %lld", who, k);
		if (k >= 0 && k < MANY)
			lost[k]++;
	}
}

static void test_two_reapers(void)
{
	/* A dead node's claims at 1..200 and started fires at 201..400 with runs
	 * going: its row says epoch 4, lease long over. */
	sql("INSERT INTO nodes (name, epoch, lease_until) VALUES ('gone', 4, now() - interval '1 h')");
	exec_f("INSERT INTO fires (job_id, sched, node, epoch, state) SELECT 3, g, 'gone', 4,"
	       " 'claimed' FROM generate_series(1, %d) g", MANY);
	exec_f("INSERT INTO runs (id, job_id, sched, state) SELECT 1000 + g, 3, g, 1"
	       " FROM generate_series(%d, %d) g", MANY + 1, 2 * MANY);
	exec_f("INSERT INTO fires (job_id, sched, node, epoch, state, run_id) SELECT 3, g, 'gone', 4,"
	       " 'started', 1000 + g FROM generate_series(%d, %d) g", MANY + 1, 2 * MANY);
	Got *gb = calloc(1, sizeof *gb), *gc = calloc(1, sizeof *gc);
	CHECK(cnode_reap(b.n, reap_done, gb) == 0 && cnode_reap(c.n, reap_done, gc) == 0);
	CHECK(wait_flag(&gb->called, 10000) && wait_flag(&gc->called, 10000));
	CHECKF(gb->rc == 0 && gc->rc == 0, "%s / %s", gb->err, gc->err);
	printf("# b took %zu claims and %zu runs, c %zu and %zu\n", gb->nclaims, gb->nlost,
	       gc->nclaims, gc->nlost);
	static int claims[MANY], lost[MANY];
	count_into(gb, claims, lost, "b");
	count_into(gc, claims, lost, "c");
	int once = 1;
	for (int k = 0; k < MANY; k++)
		once &= claims[k] == 1 && lost[k] == 1;
	CHECKF(once, "not each once");
	CHECK(gb->nclaims + gc->nclaims == MANY && gb->nlost + gc->nlost == MANY);
	CHECK(!gb->more && !gc->more);
	/* The database agrees with what each said. */
	CHECK(num("SELECT count(*) FROM fires WHERE job_id = 3 AND state = 'claimed' AND node = 'b'") ==
	      (long long)gb->nclaims);
	CHECK(num("SELECT count(*) FROM fires WHERE job_id = 3 AND state = 'claimed' AND node = 'c'") ==
	      (long long)gc->nclaims);
	CHECK(num("SELECT count(*) FROM fires WHERE job_id = 3 AND node = 'gone' AND state = 'claimed'")
	      == 0);
	CHECK(num("SELECT count(*) FROM runs WHERE job_id = 3 AND state = 5") == MANY);
	free(gb);
	free(gc);
}

/* 6: a reaper that may not start takes nothing: refused at once when it
 * knows (fenced, lease lapsed locally), by the database when its lease is
 * over there. */
static void test_reaper_fenced(void)
{
	Peer a, r1, r2, r2b;
	peer_start(&a, "a6", mortal);
	CHECK(fire(a.n, 0, 1, t0 - 8) == CNODE_CLAIMED);
	peer_stop(&a);
	wait_dead("a6");

	/* The database holds r1's lease over (set on r1's own connection: no
	 * renewal of r1's comes between), r1 does not know yet. */
	peer_start(&r1, "r1", (CNodeOpts){ 0 });
	Q e = { 0 };
	CHECK(pgconn_query(r1.c, "UPDATE nodes SET lease_until = now() - interval '1 s'"
	                   " WHERE name = 'r1'", 0, NULL, q_done, &e) == 0);
	CHECK(cnode_may_start(r1.n));
	Got *g = reap(r1.n);
	CHECKF(e.ok && g->rc == -ENOLCK && g->nclaims == 0 && strstr(g->err, "no valid lease"),
	       "%d %s", g->rc, g->err);
	free(g);
	CHECK(strncmp(fire_row(1, t0 - 8), "a6 ", 3) == 0);

	/* r2 is fenced (another process took its name): refused at once. */
	peer_start(&r2, "r2", mortal);
	peer_start(&r2b, "r2", mortal);
	CHECKF(wait_for(is_fenced, &r2, 3000), "r2 not fenced");
	Got none = { 0 };
	CHECK(cnode_reap(r2.n, reap_done, &none) == -ESTALE);
	peer_stop(&r2);
	/* r2b paused past its local lease (the loop stands still, as under
	 * SIGSTOP): refused at once, though the database's lease is not over. */
	CNodeInfo i;
	cnode_info(r2b.n, &i);
	usleep((useconds_t)(i.lease_left_ms + 20) * 1000);
	CHECK(cnode_reap(r2b.n, reap_done, &none) == -EAGAIN);
	CHECK(num("SELECT count(*) FROM nodes WHERE name = 'r2' AND lease_until > now()") == 1);
	wait_for(never, NULL, 50);
	CHECK(none.called == 0);
	peer_stop(&r2b);
	CHECK(strncmp(fire_row(1, t0 - 8), "a6 ", 3) == 0);
	/* A reaper with a lease takes it. */
	g = reap(c.n);
	CHECK(g->rc == 0 && g->nclaims == 1 && g->claims[0].sched == t0 - 8);
	free(g);
	peer_stop(&r1);
}

/* Closing with a reap in flight reports it before close returns. */
static void test_close(void)
{
	Got g = { 0 };
	CHECK(cnode_reap(b.n, reap_done, &g) == 0);
	int want = nclosed + 1;
	cnode_close(b.n, on_closed, NULL);
	b.n = NULL;
	CHECKF(g.called == 1 && g.rc == -ECANCELED && g.nclaims == 0, "%d %d", g.called, g.rc);
	settle_closed(want);
	Q q = { 0 };
	CHECK(pgconn_query(b.c, "SELECT 1", 0, NULL, q_done, &q) == 0);
	CHECK(wait_flag(&q.called, 10000) && q.ok && g.called == 1);
	peer_stop(&b);
	peer_stop(&c);
	int n0 = nclosed;
	pgconn_close(adm, on_closed, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK(nclosed == n0 + 1);
	int rc = uv_loop_close(&loop);
	CHECKF(rc == 0, "uv_loop_close: %s", uv_strerror(rc));
}

int main(void)
{
	unit_prog = "t_reap";
	pgtest_init();
	uv_loop_init(&loop);
	unit_run("server", pgtest_server);
	if (unit_failed_checks)
		return unit_done();
	unit_run("schema-applied", test_schema);
	if (unit_failed_checks)
		return unit_done();
	unit_run("alive-node-kept", test_alive_kept);
	unit_run("dead-claim-taken", test_claim_taken);
	unit_run("dead-run-lost", test_run_lost);
	unit_run("rerun-once", test_rerun_once);
	unit_run("two-reapers-each-once", test_two_reapers);
	unit_run("fenced-reaper-takes-nothing", test_reaper_fenced);
	unit_run("close-reports-reap", test_close);
	return unit_done();
}
