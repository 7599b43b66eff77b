/* Tests of the changes feed (src/cluster/feed.c) against a real server: a
 * private PostgreSQL 15 (pgtest.h) with the store's PostgreSQL schema.
 *
 * The feeds run on pgconn, driven by the loop; the writers that must hold a
 * transaction open across steps (an out-of-order commit, a rollback) are
 * plain blocking libpq connections of the test's own, and the loop is run
 * between their steps. Nothing sleeps and hopes: each wait runs the loop
 * until what it waits for has happened or a deadline has passed. */
#include "cluster/feed.h"
#include "pgtest.h"
#include "unit.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

static uv_loop_t loop;

/* ---- running the loop ---- */

static int wait_for(int (*pred)(const void *), const void *arg, int ms)
{
	return pgtest_wait(&loop, pred, arg, ms);
}

static void wait_ms(int ms)
{
	pgtest_wait_ms(&loop, ms);
}

/* The loop's clock, brought up to date (ms). */
static uint64_t loop_ms(void)
{
	uv_update_time(&loop);
	return uv_now(&loop);
}

/* ---- blocking SQL on connections of the test's own ---- */

static PGconn *raw_open(const char *conninfo)
{
	PGconn *c = PQconnectdb(conninfo);
	CHECKF(PQstatus(c) == CONNECTION_OK, "connect: %s", PQerrorMessage(c));
	return c;
}

/* Runs s (one or more statements); the first field of the last result, as
 * a number (0 if none). */
static long long raw(PGconn *c, const char *s)
{
	PGresult *r = PQexec(c, s);
	ExecStatusType st = PQresultStatus(r);
	CHECKF(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", s, PQerrorMessage(c));
	long long v = st == PGRES_TUPLES_OK && PQntuples(r) > 0 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	PQclear(r);
	return v;
}

static PGconn *db;              /* the test's own, for checks and plain writes */

/* One change, committed, with its notification or without. */
static long long write_change(long long job, int notify)
{
	char s[200];
	snprintf(s, sizeof s, "INSERT INTO changes (job_id, kind) VALUES (%lld, 'put') RETURNING seq", job);
	if (!notify)
		return raw(db, s);
	raw(db, "BEGIN");
	long long seq = raw(db, s);
	raw(db, "NOTIFY jobd, 'x'");
	raw(db, "COMMIT");
	return seq;
}

/* ---- a feed on a connection of its own, and what it delivered ---- */

enum { MAX_ROWS = 20000 };

typedef struct Feed {
	PgConn *c;
	ClusterFeed *f;
	int conn_up, conn_downs;
	int ready;
	long long start_seq;
	int calls, biggest, unordered;
	int closed, calls_after_close;
	int overruns;
	long long overrun_first, overrun_last;
	size_t n;                   /* rows delivered, in the order delivered */
	long long seq[MAX_ROWS], job[MAX_ROWS];
	char kind[8];               /* the last row's */
	uint64_t at_ms;             /* the loop's clock at the last delivery */
} Feed;

static void fd_conn(void *arg, int up, const char *why)
{
	(void)why;
	Feed *d = arg;
	d->conn_up = up;
	if (!up)
		d->conn_downs++;
	if (d->f)
		cfeed_conn_changed(d->f, up);
}

static void fd_notify(void *arg, const char *channel, const char *payload)
{
	Feed *d = arg;
	if (d->f)
		cfeed_notified(d->f, channel, payload);
}

static void fd_changed(void *arg, const CFeedChange *c, size_t n)
{
	Feed *d = arg;
	d->calls++;
	if (d->closed)
		d->calls_after_close++;
	if ((int)n > d->biggest)
		d->biggest = (int)n;
	for (size_t i = 0; i < n && d->n < MAX_ROWS; i++) {
		if (i > 0 && c[i].seq <= c[i - 1].seq)
			d->unordered++;
		d->seq[d->n] = c[i].seq;
		d->job[d->n++] = c[i].job_id;
		snprintf(d->kind, sizeof d->kind, "%s", c[i].kind);
	}
	d->at_ms = loop_ms();
}

static void fd_ready(void *arg, int64_t start)
{
	Feed *d = arg;
	d->ready = 1;
	d->start_seq = start;
}

static void fd_overrun(void *arg, int64_t first, int64_t last)
{
	Feed *d = arg;
	d->overruns++;
	d->overrun_first = first;
	d->overrun_last = last;
}

static int is_ready(const void *arg)
{
	return ((const Feed *)arg)->ready;
}

/* A feed with options o on a new connection made with conninfo; waits until
 * it is ready. */
static void feed_start(Feed *d, const char *conninfo, CFeedOpts o)
{
	memset(d, 0, sizeof *d);
	PgConnOpts co = { .state = fd_conn, .notify = fd_notify, .arg = d };
	d->c = pgconn_new(&loop, conninfo, &co);
	o.changed = fd_changed;
	o.ready = fd_ready;
	o.overrun = fd_overrun;
	o.arg = d;
	d->f = cfeed_new(&loop, d->c, &o);
	CHECK(d->f != NULL);
	if (d->f)
		CHECKF(wait_for(is_ready, d, 10000), "feed never ready");
}

/* How many times seq was delivered. */
static int times(const Feed *d, long long seq)
{
	int k = 0;
	for (size_t i = 0; i < d->n; i++)
		k += d->seq[i] == seq;
	return k;
}

/* What a wait is for: seq on the feed d (delivered, or passed by its cursor). */
typedef struct Want {
	const Feed *d;
	long long seq;
} Want;

static int has_seq(const void *arg)
{
	const Want *w = arg;
	return times(w->d, w->seq) > 0;
}

static int wait_seq(const Feed *d, long long seq, int ms)
{
	Want w = { d, seq };
	return wait_for(has_seq, &w, ms);
}

static CFeedInfo info(const Feed *d)
{
	CFeedInfo i;
	cfeed_info(d->f, &i);
	return i;
}

static void on_answer(void *arg, PGresult *res, const char *err)
{
	(void)res;
	(void)err;
	*(int *)arg = 1;
}

static int nclosed;

static void on_closed(void *arg)
{
	(void)arg;
	nclosed++;
}

static int closed_past(const void *arg)
{
	return nclosed >= *(const int *)arg;
}

static void feed_close(Feed *d)
{
	int want = nclosed + 2;
	if (d->f)
		cfeed_close(d->f, on_closed, NULL);
	else
		want--;
	d->f = NULL;
	d->closed = 1;
	pgconn_close(d->c, on_closed, NULL);
	d->c = NULL;
	CHECKF(wait_for(closed_past, &want, 5000), "not closed");
}

static Feed a, b, r, s, p;
static long long seq_mark;      /* a seq written before a test's feed started */

/* ---- the tests ---- */

/* The store's PostgreSQL schema, applied as the backend will. */
static void test_schema(void)
{
	PgConn *adm = pgconn_new(&loop, pgtest_conninfo, NULL);
	pgtest_schema(&loop, adm);
	int want = nclosed + 1;
	pgconn_close(adm, on_closed, NULL);
	CHECK(wait_for(closed_past, &want, 5000));
	db = raw_open(pgtest_conninfo);
	/* Some history before any feed starts. */
	for (int i = 0; i < 5; i++)
		seq_mark = write_change(100 + i, 0);
}

static void test_options(void)
{
	CFeedOpts o = { 0 };
	CHECK(cfeed_new(&loop, NULL, &o) == NULL);      /* no changed */
	o.changed = fd_changed;
	o.gap_ms = -1;
	CHECK(cfeed_new(&loop, NULL, &o) == NULL);
}

/* A change through a writer's batch (the row and pg_notify together) is
 * delivered within 100 ms: by the notification, since the poll is a minute. */
static void test_notify_latency(void)
{
	feed_start(&a, pgtest_conninfo, (CFeedOpts){ .poll_ms = 60000 });
	CHECKF(a.start_seq == seq_mark, "started at %lld, not after %lld", a.start_seq, seq_mark);
	Feed w;
	feed_start(&w, pgtest_conninfo, (CFeedOpts){ .poll_ms = 60000 });
	uint64_t worst = 0;
	for (int i = 1; i <= 5; i++) {
		size_t n0 = a.n;
		CHECK(pgconn_batch_begin(w.c) == 0);
		CHECK(cfeed_note(w.c, 7000 + i, "put") == 0);
		CHECK(pgconn_batch_commit(w.c, NULL, NULL) == 0);
		uint64_t t0 = loop_ms();
		long long seq = seq_mark + i;
		CHECKF(wait_seq(&a, seq, 2000), "seq %lld not delivered", seq);
		uint64_t dt = a.at_ms - t0;
		worst = dt > worst ? dt : worst;
		CHECKF(dt < 100, "delivered %llu ms after the commit was sent", (unsigned long long)dt);
		CHECKF(a.n == n0 + 1 && a.job[n0] == 7000 + i && strcmp(a.kind, "put") == 0,
		       "rows %zu, job %lld, kind %s", a.n - n0, a.job[n0], a.kind);
	}
	printf("# notify to delivery: at most %llu ms\n", (unsigned long long)worst);
	/* The writer's own feed saw them too (it is a node like the others). */
	CHECK(wait_seq(&w, seq_mark + 5, 2000) && w.n == 5);
	feed_close(&w);
	CFeedInfo i = info(&a);
	CHECKF(i.cursor == seq_mark + 5 && i.gaps == 0 && i.delivered == 5 && i.reads >= 5,
	       "cursor %lld gaps %zu delivered %llu reads %llu", (long long)i.cursor, i.gaps,
	       (unsigned long long)i.delivered, (unsigned long long)i.reads);
	CHECK(i.last_read_age_ms >= 0 && i.last_read_age_ms < 1000);
}

/* T1 takes seq N and stays open; T2 takes N+1 and commits: N+1 is
 * delivered, N awaited. T1 commits: N is delivered, N+1 not again. */
static void test_out_of_order(void)
{
	PGconn *t1 = raw_open(pgtest_conninfo), *t2 = raw_open(pgtest_conninfo);
	raw(t1, "BEGIN");
	long long n = raw(t1, "INSERT INTO changes (job_id, kind) VALUES (1, 'first') RETURNING seq");
	raw(t2, "BEGIN");
	long long n1 = raw(t2, "INSERT INTO changes (job_id, kind) VALUES (2, 'second') RETURNING seq");
	CHECKF(n1 == n + 1, "seqs %lld %lld", n, n1);
	raw(t2, "SELECT pg_notify('jobd', '2')");
	raw(t2, "COMMIT");
	CHECKF(wait_seq(&a, n1, 2000), "N+1 not delivered");
	wait_ms(100);
	CHECK(times(&a, n) == 0);
	CFeedInfo i = info(&a);
	CHECKF(i.gaps == 1 && i.cursor == n - 1 && i.last_seq == n1, "gaps %zu cursor %lld last %lld",
	       i.gaps, (long long)i.cursor, (long long)i.last_seq);
	raw(t1, "SELECT pg_notify('jobd', '1')");
	raw(t1, "COMMIT");
	CHECKF(wait_seq(&a, n, 2000), "N not delivered after its commit");
	/* More reads (a notification, the feed told directly): nothing again. */
	write_change(3, 1);
	wait_ms(200);
	cfeed_notified(a.f, "jobd", "");
	wait_ms(200);
	CHECKF(times(&a, n) == 1 && times(&a, n1) == 1, "N %d times, N+1 %d times", times(&a, n),
	       times(&a, n1));
	CHECK(a.unordered == 0);
	i = info(&a);
	CHECKF(i.gaps == 0 && i.cursor == i.last_seq, "gaps %zu cursor %lld last %lld", i.gaps,
	       (long long)i.cursor, (long long)i.last_seq);
	PQfinish(t1);
	PQfinish(t2);
}

static int cursor_past(const void *arg)
{
	const Want *pp = arg;
	return info(pp->d).cursor >= pp->seq;
}

/* A rolled-back insert leaves a gap that is given up after gap_ms. */
static void test_rollback_gap(void)
{
	feed_start(&b, pgtest_conninfo, (CFeedOpts){ .poll_ms = 200, .gap_ms = 300 });
	long long n = raw(db, "BEGIN; INSERT INTO changes (job_id, kind) VALUES (9, 'gone') RETURNING seq");
	raw(db, "ROLLBACK");
	long long n1 = write_change(10, 1);
	CHECK(n1 == n + 1);
	CHECK(wait_seq(&b, n1, 2000));
	uint64_t t0 = loop_ms();
	CFeedInfo i = info(&b);
	CHECKF(i.gaps == 1 && i.cursor == n - 1, "gaps %zu cursor %lld", i.gaps, (long long)i.cursor);
	Want want = { &b, n1 };
	CHECKF(wait_for(cursor_past, &want, 3000), "the cursor stayed at %lld", (long long)info(&b).cursor);
	uint64_t dt = loop_ms() - t0;
	printf("# the gap was given up %llu ms after it was seen\n", (unsigned long long)dt);
	CHECKF(dt >= 250, "given up after %llu ms only", (unsigned long long)dt);
	i = info(&b);
	CHECK(i.gaps == 0 && i.given_up == 1 && i.cursor == n1);
	CHECK(times(&b, n) == 0);
	/* a (gap_ms 30 s) still waits for it. */
	CHECK(wait_seq(&a, n1, 2000));
	i = info(&a);
	CHECKF(i.gaps == 1 && i.cursor == n - 1, "a: gaps %zu cursor %lld", i.gaps, (long long)i.cursor);
}

/* A row written without NOTIFY comes with the next poll. */
static void test_poll(void)
{
	wait_ms(250);               /* b's reads are past whatever came before */
	size_t a0 = a.n;
	uint64_t t0 = loop_ms();
	long long seq = write_change(11, 0);
	CHECKF(wait_seq(&b, seq, 2000), "not delivered by the poll");
	uint64_t dt = b.at_ms - t0;
	printf("# delivered by the poll %llu ms after the write (poll_ms 200)\n", (unsigned long long)dt);
	CHECKF(dt <= 200 + 100, "delivered after %llu ms", (unsigned long long)dt);
	/* a polls once a minute and was not notified: it has not read it. */
	CHECK(a.n == a0);
	cfeed_notified(a.f, "other", "");
	wait_ms(100);
	CHECK(a.n == a0);
	cfeed_notified(a.f, "jobd", "");
	CHECK(wait_seq(&a, seq, 2000));
}

static int is_down(const void *arg)
{
	return ((const Feed *)arg)->conn_downs > 0;
}

static int script_done(const void *arg)
{
	(void)arg;
	return pgtest_script_exited > 0;
}

/* The server restarts; while the feed cannot log in, changes are written
 * and notified. Once it is back in, they are delivered by the read after
 * reconnecting (the poll is a minute), and LISTEN holds again. */
static void test_reconnect(void)
{
	static uv_process_t proc;
	raw(db, "CREATE ROLE feeder LOGIN SUPERUSER");
	char ci[600];
	snprintf(ci, sizeof ci, "%s user=feeder", pgtest_conninfo);
	feed_start(&r, ci, (CFeedOpts){ .poll_ms = 60000 });
	raw(db, "ALTER ROLE feeder NOLOGIN");      /* sessions open go on */
	PQfinish(db);
	pgtest_script_exited = 0;
	char pid[16];
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	pgtest_script_async(&loop, &proc, "restart", pid);
	CHECK(wait_for(is_down, &r, 15000));
	CHECK(wait_for(script_done, NULL, 60000) && pgtest_script_status == 0);
	db = raw_open(pgtest_conninfo);
	long long s1 = write_change(21, 1), s2 = write_change(22, 1), s3 = write_change(23, 1);
	wait_ms(500);
	CHECKF(r.n == 0 && !r.conn_up, "delivered %zu, up %d before the feed could log in", r.n, r.conn_up);
	raw(db, "ALTER ROLE feeder LOGIN");
	uint64_t t0 = loop_ms();
	CHECKF(wait_seq(&r, s3, 5000), "not delivered after reconnecting");
	printf("# delivered %llu ms after the feed could log in again\n",
	       (unsigned long long)(loop_ms() - t0));
	CHECK(r.conn_up && r.n == 3 && times(&r, s1) == 1 && times(&r, s2) == 1 && r.unordered == 0);
	/* Notified again: LISTEN was sent on the new session. */
	t0 = loop_ms();
	long long s4 = write_change(24, 1);
	CHECKF(wait_seq(&r, s4, 2000) && r.at_ms - t0 < 100, "notified after reconnecting: %s",
	       times(&r, s4) ? "over 100 ms" : "not delivered");
	/* The others came back by themselves too. */
	CHECK(wait_seq(&a, s4, 5000) && wait_seq(&b, s4, 5000));
	CHECK(times(&a, s1) == 1 && times(&b, s1) == 1);
	feed_close(&r);
}

/* from_seq 0 starts after the highest seq committed, and still delivers a
 * transaction that was open below it. from_seq N delivers from N. */
static void test_start_now(void)
{
	PGconn *t1 = raw_open(pgtest_conninfo);
	raw(t1, "BEGIN");
	long long n = raw(t1, "INSERT INTO changes (job_id, kind) VALUES (31, 'open') RETURNING seq");
	long long n1 = write_change(32, 1);
	feed_start(&s, pgtest_conninfo, (CFeedOpts){ .poll_ms = 60000 });
	CHECKF(s.start_seq == n1, "start %lld, max %lld", s.start_seq, n1);
	cfeed_notified(s.f, "jobd", "");
	wait_ms(200);
	CHECKF(s.n == 0, "%zu rows from before the start (first %lld)", s.n, s.n ? s.seq[0] : 0);
	raw(t1, "SELECT pg_notify('jobd', '31'); COMMIT");
	CHECKF(wait_seq(&s, n, 2000), "the open transaction's row was lost");
	long long n2 = write_change(33, 1);
	CHECK(wait_seq(&s, n2, 2000));
	CHECKF(s.n == 2 && s.seq[0] == n && s.seq[1] == n2, "%zu rows", s.n);
	PQfinish(t1);
	feed_close(&s);

	Feed f;
	feed_start(&f, pgtest_conninfo, (CFeedOpts){ .poll_ms = 60000, .from_seq = n });
	CHECK(wait_seq(&f, n2, 2000));
	CHECKF(f.n == 3 && f.seq[0] == n && f.seq[1] == n1 && f.seq[2] == n2, "%zu rows", f.n);
	feed_close(&f);
}

/* 2500 rows in one transaction: in order, each once, a page at a time. */
static void test_pages(void)
{
	int calls = a.calls;
	size_t a0 = a.n;
	long long first = raw(db, "SELECT last_value + 1 FROM changes_seq_seq");
	raw(db, "BEGIN; INSERT INTO changes (job_id, kind) SELECT g, 'bulk' FROM generate_series(1, 2500) g;"
	    " NOTIFY jobd, 'bulk'; COMMIT");
	CHECK(wait_seq(&a, first + 2499, 5000));
	wait_ms(200);
	CHECKF(a.n - a0 == 2500, "%zu rows", a.n - a0);
	int ok = 1;
	for (size_t i = 0; i < 2500 && a0 + i < a.n; i++)
		ok &= a.seq[a0 + i] == first + (long long)i && a.job[a0 + i] == (long long)i + 1;
	CHECK(ok);
	printf("# 2500 rows in %d calls, the biggest %d rows\n", a.calls - calls, a.biggest);
	CHECKF(a.calls - calls >= 3, "%d calls", a.calls - calls);
	CHECKF(a.biggest <= CFEED_PAGE + CFEED_MAX_GAPS, "a call of %d", a.biggest);
	CHECK(wait_seq(&b, first + 2499, 5000) && b.unordered == 0);
}

/* A sequence moved far ahead: the gaps kept are bounded, the rest given up. */
static void test_gap_bound(void)
{
	CFeedInfo i0 = info(&a);
	raw(db, "SELECT setval('changes_seq_seq', (SELECT last_value FROM changes_seq_seq) + 10000)");
	long long seq = write_change(41, 1);
	CHECK(wait_seq(&a, seq, 2000));
	CFeedInfo i = info(&a);
	CHECKF(i.gaps == CFEED_MAX_GAPS, "gaps %zu", i.gaps);
	CHECKF(i.given_up - i0.given_up >= 10000 - CFEED_MAX_GAPS + i0.gaps, "given up %llu",
	       (unsigned long long)(i.given_up - i0.given_up));
	/* Reads go on with 4096 gaps asked for. */
	long long seq2 = write_change(42, 1);
	CHECK(wait_seq(&a, seq2, 2000) && times(&a, seq2) == 1);
}

/* Closed with a read in flight (of a row it has not delivered): nothing is
 * called afterwards, and the answer touches nothing freed. */
static void test_close_in_flight(void)
{
	CHECK(wait_seq(&b, write_change(51, 0), 2000));
	long long seq = write_change(52, 0);
	int before = b.calls;
	cfeed_notified(b.f, "jobd", "");             /* a read is in flight now */
	int want = nclosed + 1;
	cfeed_close(b.f, on_closed, NULL);
	b.f = NULL;
	b.closed = 1;
	CHECK(b.calls == before);
	CHECK(wait_for(closed_past, &want, 2000));
	/* A statement queued behind the read: once it is answered, so is the read. */
	int answered = 0;
	CHECK(pgconn_query(b.c, "SELECT 1", 0, NULL, on_answer, &answered) == 0);
	CHECK(pgtest_wait_flag(&loop, &answered, 2000));
	wait_ms(100);
	CHECKF(b.calls_after_close == 0 && times(&b, seq) == 0, "%d calls after close",
	       b.calls_after_close);
	feed_close(&b);
}

/* Every row but those of the newest prune_keep seqs goes; a feed from
 * further back is told it was overrun. */
static void test_prune(void)
{
	long long max = 0;
	for (int i = 0; i < 20; i++)
		max = write_change(60 + i, 0);     /* consecutive: 10 seqs are 10 rows */
	feed_start(&p, pgtest_conninfo, (CFeedOpts){ .poll_ms = 100, .prune_ms = 200, .prune_keep = 10 });
	wait_ms(600);
	CHECKF(raw(db, "SELECT count(*) FROM changes") == 10, "%lld rows left",
	       raw(db, "SELECT count(*) FROM changes"));
	CHECK(raw(db, "SELECT min(seq) FROM changes") == max - 9);
	feed_close(&p);
	Feed f;
	feed_start(&f, pgtest_conninfo, (CFeedOpts){ .poll_ms = 60000, .from_seq = 1, .prune_keep = -1 });
	CHECKF(f.overruns == 1 && f.overrun_first == 1 && f.overrun_last == max - 10, "%d: %lld..%lld",
	       f.overruns, f.overrun_first, f.overrun_last);
	CHECKF(f.n == 10 && f.seq[0] == max - 9, "%zu rows", f.n);
	feed_close(&f);
	/* a, caught up, was not overrun. */
	CHECK(a.overruns == 0);
}

static void test_close_all(void)
{
	feed_close(&a);
	PQfinish(db);
	pgtest_close(&loop, NULL, 0);
}

int main(void)
{
	if (!pgtest_start(&loop, "t_feed", "schema-applied", test_schema))
		return unit_done();
	unit_run("options", test_options);
	unit_run("notify-within-100ms", test_notify_latency);
	if (a.f == NULL || !a.ready)
		return unit_done();
	unit_run("out-of-order-commit", test_out_of_order);
	unit_run("rollback-gap-given-up", test_rollback_gap);
	unit_run("poll-without-notify", test_poll);
	unit_run("restart-resync", test_reconnect);
	unit_run("start-now", test_start_now);
	unit_run("pages-of-1000", test_pages);
	unit_run("gaps-bounded", test_gap_bound);
	unit_run("close-in-flight", test_close_in_flight);
	unit_run("prune-overrun", test_prune);
	unit_run("close-frees-all", test_close_all);
	return unit_done();
}
