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
#include "cnodetest.h"
#include "pgtest.h"
#include "unit.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uv_loop_t loop;

/* ---- SQL on the test's own connection ---- */

typedef PgtestQ Q;
#define q_done pgtest_q_done

static PgConn *adm;

static Q sql(const char *s)
{
	return pgtest_sql(&loop, adm, s);
}

/* SQL made with printf's fmt: a number, or a statement's answer. */
#define num(...) pgtest_numf(&loop, adm, __VA_ARGS__)
#define exec_f(...) pgtest_sqlf(&loop, adm, __VA_ARGS__)

/* ---- nodes (cnodetest.c) ---- */

typedef CnodetestPeer Peer;

static int is_fenced(const void *arg)
{
	return ((const Peer *)arg)->state == CNODE_FENCED;
}

/* Short leases for the nodes that die: gone from the database 1.5 s after
 * their last renewal. The reapers keep the defaults. */
static const CNodeOpts mortal = { .lease_ms = 1500, .renew_ms = 300, .margin_ms = 500 };

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
	CHECKF(pgtest_wait(&loop, lease_over, NULL, 10000), "%s's lease never ended", name);
}

/* ---- claims, starts, reaps ---- */

/* Claims or starts (job, sched) on n: the outcome's rc. */
static int fire(ClusterNode *n, int start, long long job, long long sched)
{
	return cnodetest_fire(&loop, n, start, job, sched).rc;
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
		CHECKF(pgtest_wait_flag(&loop, &g->called, 10000), "no answer to the reap");
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
	snprintf(row, sizeof row, "%s", sql(s).val[0]);
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

static void test_schema(void)
{
	PgConnOpts o = { 0 };
	adm = pgconn_new(&loop, pgtest_conninfo, &o);
	pgtest_schema(&loop, adm);
	/* Job 1 orphan=lost (the default), job 2 orphan=rerun, job 3 for many;
	 * started: a stopped job's instants are claimed by no node. */
	sql("INSERT INTO jobs (id, name, schedule, cmd, started) VALUES"
	    " (1, 'lost', '* * * * *', 'true'::bytea, 1), (3, 'many', '* * * * *', 'true'::bytea, 1)");
	sql("INSERT INTO jobs (id, name, schedule, cmd, orphan, started) VALUES (2, 'rerun',"
	    " '* * * * *', 'true'::bytea, 1, 1)");
	t0 = num("SELECT floor(extract(epoch from now()))::bigint") - 10;
	cnodetest_start(&loop, &b, "b", (CNodeOpts){ 0 });
	cnodetest_start(&loop, &c, "c", (CNodeOpts){ 0 });
}

/* 5: while the claim's node holds its lease, a reap takes nothing; nor
 * after it ended, within a reaper's grace. */
static void test_alive_kept(void)
{
	Peer a;
	cnodetest_start(&loop, &a, "a5", mortal);
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
	cnodetest_stop(&loop, &a);
	wait_dead("a5");
	Peer patient;
	cnodetest_start(&loop, &patient, "patient", (CNodeOpts){ .reap_grace_ms = 60000 });
	g = reap(patient.n);
	CHECKF(g->rc == 0 && g->nclaims == 0 && g->nlost == 0, "%d %s: %zu claims", g->rc, g->err,
	       g->nclaims);
	free(g);
	CHECK(strncmp(fire_row(1, t0 - 6), "a5 ", 3) == 0);
	cnodetest_stop(&loop, &patient);
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
	cnodetest_start(&loop, &a, "a1", (CNodeOpts){ 0 });    /* renews every 2 s */
	CHECK(fire(a.n, 0, 1, t0 - 1) == CNODE_CLAIMED);
	long long old_epoch = epoch_of(a.n);
	/* Right after a renewal: the next is 2 s away, time enough for what
	 * follows before a's renewal gives it its lease back. */
	CNodeInfo i;
	cnode_info(a.n, &i);
	renewals_seen = i.renewals;
	CHECK(pgtest_wait(&loop, renewed, &a, 5000));
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
	cnodetest_stop(&loop, &a);

	/* A node that started again (a newer epoch) has no say over its older
	 * self's claims, lease or not: they are dead at once. */
	cnodetest_start(&loop, &a, "a1b", mortal);
	CHECK(fire(a.n, 0, 1, t0 - 7) == CNODE_CLAIMED);
	Peer again;
	cnodetest_start(&loop, &again, "a1b", mortal);
	g = reap(b.n);
	CHECKF(g->rc == 0 && g->nclaims == 1 && g->claims[0].sched == t0 - 7, "%d %zu", g->rc,
	       g->nclaims);
	free(g);
	cnodetest_stop(&loop, &a);
	cnodetest_stop(&loop, &again);
}

/* 2: the run of a dead node's started fire becomes lost, with an end; with
 * orphan=lost nothing is claimed again. */
static void test_run_lost(void)
{
	Peer a;
	cnodetest_start(&loop, &a, "a2", mortal);
	CHECK(fire(a.n, 0, 1, t0 - 2) == CNODE_CLAIMED);
	CHECK(fire(a.n, 1, 1, t0 - 2) == 1);
	run_row(100, 1, t0 - 2, RUN_RUNNING);
	/* Its claim that no run came of yet (claimed, never started) too. */
	CHECK(fire(a.n, 0, 1, t0 - 3) == CNODE_CLAIMED);
	cnodetest_stop(&loop, &a);
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
	cnodetest_start(&loop, &a, "a3", mortal);
	cnodetest_start(&loop, &e, "e3", mortal);
	CHECK(fire(a.n, 0, 2, t0) == CNODE_CLAIMED);
	CHECK(fire(a.n, 1, 2, t0) == 1);
	run_row(200, 2, t0, RUN_RUNNING);
	cnodetest_stop(&loop, &a);
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
	cnodetest_stop(&loop, &e);
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
	CHECK(pgtest_wait_flag(&loop, &gb->called, 10000) && pgtest_wait_flag(&loop, &gc->called, 10000));
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
	cnodetest_start(&loop, &a, "a6", mortal);
	CHECK(fire(a.n, 0, 1, t0 - 8) == CNODE_CLAIMED);
	cnodetest_stop(&loop, &a);
	wait_dead("a6");

	/* The database holds r1's lease over (set on r1's own connection: no
	 * renewal of r1's comes between), r1 does not know yet. */
	cnodetest_start(&loop, &r1, "r1", (CNodeOpts){ 0 });
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
	cnodetest_start(&loop, &r2, "r2", mortal);
	cnodetest_start(&loop, &r2b, "r2", mortal);
	CHECKF(pgtest_wait(&loop, is_fenced, &r2, 3000), "r2 not fenced");
	Got none = { 0 };
	CHECK(cnode_reap(r2.n, reap_done, &none) == -ESTALE);
	cnodetest_stop(&loop, &r2);
	/* r2b paused past its local lease (the loop stands still, as under
	 * SIGSTOP): refused at once, though the database's lease is not over. */
	CNodeInfo i;
	cnode_info(r2b.n, &i);
	usleep((useconds_t)(i.lease_left_ms + 20) * 1000);
	CHECK(cnode_reap(r2b.n, reap_done, &none) == -EAGAIN);
	CHECK(num("SELECT count(*) FROM nodes WHERE name = 'r2' AND lease_until > now()") == 1);
	pgtest_wait_ms(&loop, 50);
	CHECK(none.called == 0);
	cnodetest_stop(&loop, &r2b);
	CHECK(strncmp(fire_row(1, t0 - 8), "a6 ", 3) == 0);
	/* A reaper with a lease takes it. */
	g = reap(c.n);
	CHECK(g->rc == 0 && g->nclaims == 1 && g->claims[0].sched == t0 - 8);
	free(g);
	cnodetest_stop(&loop, &r1);
}

/* Closing with a reap in flight reports it before close returns. */
static void test_close(void)
{
	Got g = { 0 };
	CHECK(cnode_reap(b.n, reap_done, &g) == 0);
	int want = cnodetest_closed + 1;
	cnode_close(b.n, cnodetest_on_closed, NULL);
	b.n = NULL;
	CHECKF(g.called == 1 && g.rc == -ECANCELED && g.nclaims == 0, "%d %d", g.called, g.rc);
	cnodetest_settle(&loop, want);
	Q q = { 0 };
	CHECK(pgconn_query(b.c, "SELECT 1", 0, NULL, q_done, &q) == 0);
	CHECK(pgtest_wait_flag(&loop, &q.called, 10000) && q.ok && g.called == 1);
	cnodetest_stop(&loop, &b);
	cnodetest_stop(&loop, &c);
	pgtest_close(&loop, &adm, 1);
}

int main(void)
{
	if (!pgtest_start(&loop, "t_reap", "schema-applied", test_schema))
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
