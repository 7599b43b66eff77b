/* Tests of a cluster node's lease and fencing (src/cluster/) against a real
 * server: a private PostgreSQL 15 (tests/tools/pgtmp.sh) in a temporary
 * directory, stopped and removed on every way out (exit, the signals a test
 * runner sends; a test killed outright is covered by pgtmp.sh's watchdog),
 * with the store's PostgreSQL schema (src/store/schema.c) applied through
 * pgconn as the backend will. Without PostgreSQL the test fails: it is
 * installed by scripts/deps.sh test.
 *
 * Nothing here sleeps and hopes: each wait runs the loop until what it waits
 * for has happened or a deadline has passed, and timings are measured. */
#include "cluster/node.h"
#include "store/schema.h"
#include "cnodetest.h"
#include "pgtest.h"
#include "unit.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uv_loop_t loop;

/* ---- running the loop (pgtest.c) ---- */

static int wait_for(int (*pred)(const void *), const void *arg, int ms)
{
	return pgtest_wait(&loop, pred, arg, ms);
}

static int wait_flag(const int *flag, int ms)
{
	return pgtest_wait_flag(&loop, flag, ms);
}

static int64_t boot_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- SQL on the test's own connection ---- */

typedef PgtestQ Q;
#define q_done pgtest_q_done

static PgConn *adm;

static Q sql(const char *s)
{
	return pgtest_sql(&loop, adm, s);
}

static long long sql_num(const char *s)
{
	return pgtest_num(&loop, adm, s);
}

/* ---- nodes and what they report (cnodetest.c) ---- */

typedef CnodetestPeer Peer;
typedef CnodetestOut Out;
#define out_done cnodetest_out_done

/* The node holds a lease and its last renewal was answered. */
static int peer_renewed(const void *arg)
{
	const Peer *p = arg;
	CNodeInfo i;
	cnode_info(p->n, &i);
	return cnode_may_start(p->n) && i.failures == 0;
}

static void out_text(void *arg, int rc, const char *text)
{
	Out *o = arg;
	o->called++;
	o->rc = rc;
	free(o->text);
	o->text = strdup(text);
}

static Out fire(ClusterNode *n, int start, long long job, long long sched)
{
	return cnodetest_fire(&loop, n, start, job, sched);
}

static Peer a1, a2, b, c, d;
static long long t0;            /* a due instant (unix s, the database's clock) */

/* ---- the tests ---- */

static Peer adm_peer;

static void test_schema(void)
{
	adm = cnodetest_conn(&loop, &adm_peer);
	pgtest_schema(&loop, adm);
	sql("INSERT INTO jobs (id, name, schedule, cmd, started)"
	    " VALUES (42, 'j', '* * * * *', 'true'::bytea, 1)");
}

static void test_options(void)
{
	CHECK(cnode_name_ok("node-1.example_x"));
	CHECK(!cnode_name_ok("") && !cnode_name_ok("a b") && !cnode_name_ok("a/b"));
	CHECK(!cnode_name_ok(".") && !cnode_name_ok("..") && cnode_name_ok("..."));
	char longname[CNODE_NAME_MAX + 2];
	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	CHECK(!cnode_name_ok(longname));
	CHECK(cnode_new(&loop, adm, "a b", NULL) == NULL);
	/* A renewal period the lease does not outlast is refused. */
	CNodeOpts o = { .lease_ms = 3000, .renew_ms = 2500, .margin_ms = 500 };
	CHECK(cnode_new(&loop, adm, "x", &o) == NULL);
}

static int is_fenced(const void *arg)
{
	return ((const Peer *)arg)->nfenced > 0;
}

/* Each new ClusterNode of a name bumps its epoch; the older one is fenced at
 * its next renewal and never takes the name back. */
static void test_epoch_fencing(void)
{
	CNodeOpts o = { .lease_ms = 3000, .renew_ms = 200, .margin_ms = 500 };
	cnodetest_start(&loop, &a1, "a", o);
	CNodeInfo i1;
	cnode_info(a1.n, &i1);
	CHECKF(i1.epoch == 1, "first epoch %lld", (long long)i1.epoch);
	CHECK(cnode_may_start(a1.n) && i1.state == CNODE_UP && a1.nup == 1);
	CHECK(sql_num("SELECT epoch FROM nodes WHERE name = 'a'") == 1);

	CNodeOpts o2 = { .lease_ms = 3000, .renew_ms = 500, .margin_ms = 500 };
	cnodetest_start(&loop, &a2, "a", o2);
	CNodeInfo i2;
	cnode_info(a2.n, &i2);
	CHECKF(i2.epoch == 2, "second epoch %lld", (long long)i2.epoch);

	int64_t t = boot_ms();
	CHECKF(wait_for(is_fenced, &a1, 3000), "the older node was not fenced");
	printf("# the older node fenced %lld ms after the newer registered: %s\n",
	       (long long)(boot_ms() - t), a1.why);
	CHECK(a1.state == CNODE_FENCED && strstr(a1.why, "fenced"));
	CHECK(!cnode_may_start(a1.n));
	cnode_info(a1.n, &i1);
	CHECK(i1.state == CNODE_FENCED && i1.epoch == 1 && i1.lease_left_ms == 0);
	Out o1 = { 0 };
	CHECK(cnode_claim_fire(a1.n, 42, 1000, out_done, &o1) == -ESTALE);
	CHECK(cnode_start_fire(a1.n, 42, 1000, out_done, &o1) == -ESTALE);
	/* Several of its renewal periods later: it has not registered again. */
	pgtest_wait_ms(&loop, 700);
	CHECK(o1.called == 0 && a1.nfenced == 1);
	CHECK(sql_num("SELECT epoch FROM nodes WHERE name = 'a'") == 2);
	CHECK(a2.state == CNODE_UP && cnode_may_start(a2.n) && a2.nfenced == 0);
	cnodetest_stop(&loop, &a1);
}

static long long db_lease_us(const char *name)
{
	char s[200];
	snprintf(s, sizeof s, "SELECT (extract(epoch from lease_until) * 1000000)::bigint FROM nodes "
	         "WHERE name = '%s'", name);
	return sql_num(s);
}

static int renewed_past(const void *arg)
{
	const long long *want = arg;
	return db_lease_us("a") > *want;
}

/* The lease moves forward at each renewal, by the database's clock. */
static void test_renewal(void)
{
	CNodeInfo i;
	cnode_info(a2.n, &i);
	long long l1 = db_lease_us("a");
	uint64_t r1 = i.renewals;
	long long want = l1 + 400000;     /* nearly one renewal period (500 ms) later */
	CHECKF(wait_for(renewed_past, &want, 3000), "lease_until stayed at %lld", l1);
	long long l2 = db_lease_us("a");
	cnode_info(a2.n, &i);
	printf("# lease_until moved by %.3f s; %llu renewals meanwhile\n", (double)(l2 - l1) / 1e6,
	       (unsigned long long)(i.renewals - r1));
	CHECK(i.renewals > r1 && i.failures == 0);
	CHECK(i.db_lease_until_us >= l2 - 1 && i.db_lease_until_us > l1);
	/* The lease left, by the database: at most the lease, and the local
	 * belief shorter than that by at least the margin. */
	long long left = sql_num("SELECT (extract(epoch from lease_until - now()) * 1000)::bigint "
	                         "FROM nodes WHERE name = 'a'");
	CHECKF(left > 1500 && left <= 3000, "lease left by the database: %lld ms", left);
	CHECKF(i.lease_left_ms > 0 && i.lease_left_ms <= 2500, "local %lld ms", (long long)i.lease_left_ms);
}

/* Claims: the first node gets the instant, the second is told it is taken,
 * an instant of the future is not due yet. */
static void test_claim(void)
{
	CNodeOpts o = { .lease_ms = 3000, .renew_ms = 500, .margin_ms = 500 };
	cnodetest_start(&loop, &b, "b", o);
	t0 = sql_num("SELECT floor(extract(epoch from now()))::bigint") - 5;
	Out r = fire(a2.n, 0, 42, t0);
	CHECKF(r.rc == CNODE_CLAIMED, "a's claim: %d %s", r.rc, r.err);
	r = fire(b.n, 0, 42, t0);
	CHECKF(r.rc == CNODE_TAKEN, "b's claim: %d %s", r.rc, r.err);
	r = fire(a2.n, 0, 42, t0);
	CHECKF(r.rc == CNODE_TAKEN, "a's second claim: %d %s", r.rc, r.err);
	r = fire(b.n, 0, 42, t0 + 3600);
	CHECKF(r.rc == CNODE_NOT_DUE, "future claim: %d %s", r.rc, r.err);
	char s[200];
	snprintf(s, sizeof s, "SELECT node, epoch, state FROM fires WHERE job_id = 42 AND sched = %lld", t0);
	Q q = sql(s);
	CHECKF(strcmp(q.val[0], "a") == 0 && strcmp(q.val[1], "2") == 0 &&
	       strcmp(q.val[2], "claimed") == 0, "row: %s %s %s", q.val[0], q.val[1], q.val[2]);
	CHECK(sql_num("SELECT count(*) FROM fires") == 1);
	/* A job that does not exist: the statement fails, and says so. */
	r = fire(a2.n, 0, 999, t0);
	CHECKF(r.rc == -EIO && strstr(r.err, "foreign key"), "%d %s", r.rc, r.err);
}

/* The fenced start: only the claim's own node and epoch, once, and only while
 * the database holds its lease valid. */
static void test_start(void)
{
	Out r = fire(b.n, 1, 42, t0);
	CHECKF(r.rc == 0 && strstr(r.err, "not this node's"), "b's start: %d %s", r.rc, r.err);
	r = fire(a2.n, 1, 42, t0);
	CHECKF(r.rc == 1, "a's start: %d %s", r.rc, r.err);
	r = fire(a2.n, 1, 42, t0);
	CHECKF(r.rc == 0, "a's second start: %d %s", r.rc, r.err);
	char s[200];
	snprintf(s, sizeof s, "SELECT state FROM fires WHERE job_id = 42 AND sched = %lld", t0);
	CHECK(strcmp(sql(s).val[0], "started") == 0);
	CHECK(sql_num("SELECT runs_started FROM nodes WHERE name = 'a'") == 1);
	CHECK(sql_num("SELECT runs_started FROM nodes WHERE name = 'b'") == 0);

	/* a claims another instant, then its lease ends in the database (set
	 * here, on a's own connection: the statements run in the order queued,
	 * so no renewal of a's comes between). Locally a still believes in it,
	 * so the start is asked, and the database refuses it. */
	r = fire(a2.n, 0, 42, t0 - 1);
	CHECKF(r.rc == CNODE_CLAIMED, "a's claim: %d %s", r.rc, r.err);
	static const char expire[] = "UPDATE nodes SET lease_until = now() - interval '1 s' WHERE name = 'a'";
	Q e = { 0 }, e2 = { 0 };
	Out st = { 0 }, cl = { 0 };
	CHECK(pgconn_query(a2.c, expire, 0, NULL, q_done, &e) == 0);
	CHECK(cnode_may_start(a2.n));
	CHECK(cnode_start_fire(a2.n, 42, t0 - 1, out_done, &st) == 0);
	CHECK(pgconn_query(a2.c, expire, 0, NULL, q_done, &e2) == 0);
	CHECK(cnode_claim_fire(a2.n, 42, t0 - 2, out_done, &cl) == 0);
	CHECK(wait_flag(&cl.called, 10000));
	CHECK(e.ok && e2.ok);
	CHECKF(st.called == 1 && st.rc == 0 && strstr(st.err, "lease is over"),
	       "start after the lease: %d %s", st.rc, st.err);
	CHECKF(cl.called == 1 && cl.rc == -ENOLCK, "claim after the lease: %d %s", cl.rc, cl.err);
	snprintf(s, sizeof s, "SELECT state FROM fires WHERE job_id = 42 AND sched = %lld", t0 - 1);
	CHECK(strcmp(sql(s).val[0], "claimed") == 0);
	snprintf(s, sizeof s, "SELECT count(*) FROM fires WHERE job_id = 42 AND sched = %lld", t0 - 2);
	CHECK(sql_num(s) == 0);
	CHECK(sql_num("SELECT runs_started FROM nodes WHERE name = 'a'") == 1);
	/* a's next renewal (same epoch) gives it the lease back, and the claim
	 * it kept can be started. */
	long long now_us = sql_num("SELECT (extract(epoch from now()) * 1000000)::bigint");
	CHECKF(wait_for(renewed_past, &now_us, 3000), "a's lease was not renewed");
	r = fire(a2.n, 1, 42, t0 - 1);
	CHECKF(r.rc == 1, "a's start after renewing: %d %s", r.rc, r.err);
	CHECK(sql_num("SELECT epoch FROM nodes WHERE name = 'a'") == 2);
	CHECK(sql_num("SELECT runs_started FROM nodes WHERE name = 'a'") == 2);
}

/* The outcome of cnode_claim_run. */
typedef struct RunOut {
	int called, rc;
	long long seq;
	char err[200];
} RunOut;

static void run_out(void *arg, int rc, int64_t seq, const char *busy, const char *err)
{
	RunOut *o = arg;
	(void)busy;
	o->called++;
	o->rc = rc;
	o->seq = seq;
	snprintf(o->err, sizeof o->err, "%s", err);
}

static int64_t next_run_id = 1000;

static RunOut claim_run(ClusterNode *n, long long job, long long sched)
{
	RunOut o = { 0 };
	int r = cnode_claim_run(n, job, sched, next_run_id++, run_out, &o);
	CHECKF(r == 0, "claim refused at once: %d", r);
	if (r == 0)
		CHECKF(wait_flag(&o.called, 10000), "no outcome");
	return o;
}

static int lock_waited(const void *arg)
{
	(void)arg;
	return sql_num("SELECT count(*) FROM pg_locks WHERE NOT granted") > 0;
}

/* A stopped job's instants are claimed by no node, whatever the node has
 * heard of the stop: the claim reads the job's started flag in the database,
 * under the row's lock, so a claim that meets a stop not yet committed waits
 * for it and then finds the job stopped (before: it made a run after its
 * job's stop was acknowledged). A manual run is not the schedule's: it is
 * claimed all the same. */
static void test_stopped(void)
{
	sql("INSERT INTO jobs (id, name, schedule, cmd, started)"
	    " VALUES (43, 'k', '* * * * *', 'true'::bytea, 0)");
	RunOut r = claim_run(a2.n, 43, t0);
	CHECKF(r.rc == CNODE_TAKEN && strstr(r.err, "stopped"), "stopped job: %d %s", r.rc, r.err);
	CHECK(sql_num("SELECT count(*) FROM fires WHERE job_id = 43") == 0);
	CHECK(sql_num("SELECT run_seq FROM jobs WHERE id = 43") == 0);

	sql("UPDATE jobs SET started = 1 WHERE id = 43");
	r = claim_run(a2.n, 43, t0);
	CHECKF(r.rc == CNODE_CLAIMED && r.seq == 1, "started job: %d %lld %s", r.rc, r.seq, r.err);
	r = claim_run(b.n, 43, t0);
	CHECKF(r.rc == CNODE_TAKEN && !strstr(r.err, "stopped"), "taken: %d %s", r.rc, r.err);

	/* The stop, its transaction open on the test's connection; b's claim of
	 * the next instant runs meanwhile, and must wait for it. */
	sql("BEGIN");
	sql("UPDATE jobs SET started = 0 WHERE id = 43");
	RunOut w = { 0 };
	CHECK(cnode_claim_run(b.n, 43, t0 - 1, next_run_id++, run_out, &w) == 0);
	CHECKF(wait_for(lock_waited, NULL, 10000), "the claim never waited for the stop");
	CHECK(w.called == 0);
	sql("COMMIT");
	CHECKF(wait_flag(&w.called, 10000), "no outcome");
	CHECKF(w.rc == CNODE_TAKEN && strstr(w.err, "stopped"), "claim behind the stop: %d %s",
	       w.rc, w.err);
	CHECK(sql_num("SELECT count(*) FROM fires WHERE job_id = 43") == 1);
	CHECK(sql_num("SELECT count(*) FROM runs WHERE job_id = 43") == 1);

	r = claim_run(b.n, 43, 0);
	CHECKF(r.rc == CNODE_CLAIMED && r.seq == 2, "manual run: %d %lld %s", r.rc, r.seq, r.err);
	sql("DELETE FROM jobs WHERE id = 43");
}

/* What /nodes/NAME/status will show, rendered, and read from the table. */
static void test_status(void)
{
	Buf bf = { 0 };
	CNodeRow row = { .name = "n1", .epoch = 7, .has_lease = 1, .lease_left_ms = -1500,
	                 .clock_offset_ms = 30250, .runs_started = 12, .started_at = 86400 };
	cnode_render_row(&bf, &row);
	row = (CNodeRow){ .name = "we ird", .epoch = 1, .clock_offset_ms = -999 };
	cnode_render_row(&bf, &row);
	row = (CNodeRow){ .name = "up", .epoch = 3, .has_lease = 1, .lease_left_ms = 8213,
	                  .clock_offset_ms = -4, .started_at = 1700000000 };
	cnode_render_row(&bf, &row);
	static const char want[] =
		"node=n1 state=down epoch=7 lease_left=-1.500s clock_offset=30.250s clock=off "
		"runs_started=12 started=1970-01-02T00:00:00Z\n"
		"node=we?ird state=down epoch=1 lease_left=- clock_offset=-0.999s clock=ok "
		"runs_started=0 started=-\n"
		"node=up state=up epoch=3 lease_left=8.213s clock_offset=-0.004s clock=ok "
		"runs_started=0 started=2023-11-14T22:13:20Z\n";
	CHECKF(bf.data && strcmp(bf.data, want) == 0, "rendered:\n%s", bf.data ? bf.data : "");
	buf_free(&bf);

	Out o = { 0 };
	CHECK(cnode_status(b.n, "a", out_text, &o) == 0);
	CHECK(wait_flag(&o.called, 10000));
	CHECKF(o.rc == 0 && o.text && strncmp(o.text, "node=a state=up epoch=2 lease_left=", 35) == 0 &&
	       strstr(o.text, " clock=ok runs_started=2 started=20") && strchr(o.text, '\n') ==
	       o.text + strlen(o.text) - 1, "status of a: %d %s", o.rc, o.text ? o.text : "");
	printf("# %s", o.text ? o.text : "\n");
	free(o.text);
	o = (Out){ 0 };
	CHECK(cnode_status(b.n, "nosuch", out_text, &o) == 0);
	CHECK(wait_flag(&o.called, 10000));
	CHECKF(o.rc == -ENOENT && o.text && strstr(o.text, "no node nosuch"), "%d %s", o.rc,
	       o.text ? o.text : "");
	free(o.text);
	CHECK(cnode_status(b.n, "bad name", out_text, &o) == -EINVAL);
	o = (Out){ 0 };
	CHECK(cnode_list(a2.n, out_text, &o) == 0);
	CHECK(wait_flag(&o.called, 10000));
	CHECKF(o.rc == 0 && o.text && strncmp(o.text, "node=a state=up epoch=2 ", 24) == 0 &&
	       strstr(o.text, "\nnode=b state=up epoch=1 ") && !strstr(o.text, "node=c"),
	       "list: %d %s", o.rc, o.text ? o.text : "");
	free(o.text);
}

/* A wall clock 30 s ahead, then right again. */
static int64_t shift_ns;

static int64_t fake_wall(void)
{
	return wall_now_ns() + shift_ns;
}

static int clock_reported(const void *arg)
{
	const int *want = arg;
	return d.nclock >= *want;
}

static int renewals_past(const void *arg)
{
	const uint64_t *want = arg;
	CNodeInfo i;
	cnode_info(d.n, &i);
	return i.renewals >= *want;
}

static void test_clock_offset(void)
{
	shift_ns = 30 * 1000000000LL;
	CNodeOpts o = { .lease_ms = 3000, .renew_ms = 200, .margin_ms = 500, .wall_ns = fake_wall };
	cnodetest_start(&loop, &d, "d", o);
	int one = 1, two = 2;
	CHECK(wait_for(clock_reported, &one, 3000));
	CNodeInfo i;
	cnode_info(d.n, &i);
	printf("# offset %lld ms (round trip %lld ms)\n", (long long)i.clock_offset_ms,
	       (long long)i.rtt_ms);
	CHECKF(d.clock_off == 1 && d.clock_ms > -31000 && d.clock_ms < -29000, "reported %d %lld",
	       d.clock_off, (long long)d.clock_ms);
	CHECK(i.clock_off && i.clock_offset_ms > -31000 && i.clock_offset_ms < -29000);
	/* Five renewals more: still reported once; the row has the offset. */
	uint64_t want = i.renewals + 5;
	CHECK(wait_for(renewals_past, &want, 5000));
	CHECKF(d.nclock == 1, "reported %d times", d.nclock);
	long long row = sql_num("SELECT clock_offset_ms FROM nodes WHERE name = 'd'");
	CHECKF(row > -31000 && row < -29000, "clock_offset_ms %lld", row);
	Out s = { 0 };
	CHECK(cnode_status(d.n, "d", out_text, &s) == 0);
	CHECK(wait_flag(&s.called, 10000));
	CHECKF(s.rc == 0 && s.text && strstr(s.text, " clock_offset=-") && strstr(s.text, " clock=off "),
	       "%s", s.text ? s.text : "");
	free(s.text);
	/* Right again: said once more, and then no more. */
	shift_ns = 0;
	CHECK(wait_for(clock_reported, &two, 3000));
	CHECKF(d.clock_off == 0 && d.clock_ms > -1000 && d.clock_ms < 1000, "reported %d %lld",
	       d.clock_off, (long long)d.clock_ms);
	cnode_info(d.n, &i);
	want = i.renewals + 5;
	CHECK(wait_for(renewals_past, &want, 5000));
	CHECKF(d.nclock == 2, "reported %d times", d.nclock);
	cnodetest_stop(&loop, &d);
}

/* The database stops: the node keeps believing in its lease only until its
 * last renewal's send time + lease - margin, which is before the database's
 * lease_until, and comes back with the same epoch when the database does. */
typedef struct Watch {
	int64_t last_renew_ms;      /* when the last renewal's answer was seen */
	uint64_t renewals;
	int64_t false_ms;           /* when cnode_may_start first said no */
	int64_t false_wall_us;
	int yes_while_down;         /* said yes while the connection was down */
	int started;
} Watch;

static int watch_lapse(const void *arg)
{
	Watch *w = (Watch *)arg;
	CNodeInfo i;
	cnode_info(c.n, &i);
	int64_t now = boot_ms();
	if (i.renewals != w->renewals) {
		w->renewals = i.renewals;
		w->last_renew_ms = now;
	}
	int yes = cnode_may_start(c.n);
	if (yes && !c.conn_up && c.conn_downs > 0)
		w->yes_while_down = 1;
	if (!yes && w->false_ms == 0) {
		w->false_ms = now;
		w->false_wall_us = wall_now_ns() / 1000;
	}
	return w->false_ms != 0;
}

static int script_done(const void *arg)
{
	(void)arg;
	return pgtest_script_exited > 0;
}

static void test_lapse(void)
{
	static uv_process_t proc;
	enum { LEASE = 1500, RENEW = 300, MARGIN = 500 };
	CNodeOpts o = { .lease_ms = LEASE, .renew_ms = RENEW, .margin_ms = MARGIN };
	cnodetest_start(&loop, &c, "c", o);
	Watch w = { 0 };
	CNodeInfo i;
	cnode_info(c.n, &i);
	w.renewals = i.renewals;
	w.last_renew_ms = boot_ms();
	/* A few renewals first, then the database stops at once. */
	pgtest_wait_ms(&loop, 700);
	watch_lapse(&w);
	CHECK(cnode_may_start(c.n) && c.conn_downs == 0);
	pgtest_script_exited = 0;
	pgtest_script_async(&loop, &proc, "stop", "immediate");
	CHECKF(wait_for(watch_lapse, &w, 10000), "may_start still yes 10 s after the stop");
	cnode_info(c.n, &i);
	int64_t after = w.false_ms - w.last_renew_ms;
	printf("# may_start said no %lld ms after the last renewal was seen; the database's lease "
	       "had %.3f s left then\n", (long long)after,
	       (double)(i.db_lease_until_us - w.false_wall_us) / 1e6);
	CHECK(c.conn_downs > 0);
	CHECKF(after <= LEASE + 1000, "no after %lld ms", (long long)after);
	CHECKF(after >= LEASE - MARGIN - 500, "no already after %lld ms", (long long)after);
	CHECK(w.yes_while_down);
	/* Before the database's end of the lease (same host: the same clock). */
	CHECKF(w.false_wall_us < i.db_lease_until_us, "local end %lld, database's %lld",
	       (long long)w.false_wall_us, (long long)i.db_lease_until_us);
	/* The state follows; nothing is claimed or started meanwhile. */
	CHECK(wait_flag(&c.ndown, 1000));
	CHECK(c.state == CNODE_DOWN && strstr(c.why, "lease ran out"));
	Out r = { 0 };
	CHECK(cnode_claim_fire(c.n, 42, t0 - 3, out_done, &r) == -EAGAIN);
	CHECK(cnode_start_fire(c.n, 42, t0 - 3, out_done, &r) == -EAGAIN);
	CHECK(wait_for(script_done, NULL, 30000) && pgtest_script_status == 0);
	pgtest_wait_ms(&loop, 300);
	CHECK(!cnode_may_start(c.n) && c.nfenced == 0);

	/* Back: the same epoch is renewed, not a new one registered. */
	pgtest_script_exited = 0;
	pgtest_script_async(&loop, &proc, "start", NULL);
	CHECK(wait_for(script_done, NULL, 60000) && pgtest_script_status == 0);
	int64_t t = boot_ms();
	CHECKF(wait_for(cnodetest_is_up, &c, 10000), "not back: %s", c.why);
	printf("# up again %lld ms after the server was\n", (long long)(boot_ms() - t));
	cnode_info(c.n, &i);
	CHECK(i.epoch == 1 && cnode_may_start(c.n) && c.nup == 2 && c.nfenced == 0);
	/* The others: their leases may not have lapsed while the server was
	 * away (theirs are longer), but they renew again once reconnected. */
	CHECK(wait_for(peer_renewed, &a2, 10000) && wait_for(peer_renewed, &b, 10000));
	CHECK(sql_num("SELECT epoch FROM nodes WHERE name = 'c'") == 1);
	CHECK(sql_num("SELECT epoch FROM nodes WHERE name = 'a'") == 2);
}

/* A paused node (the loop stands still, as under SIGSTOP): when it runs
 * again, before the loop has done anything, it already refuses to start,
 * though the database's lease has time left. Then it renews and goes on. */
static int downs_want;

static int c_down_again(const void *arg)
{
	(void)arg;
	return c.ndown >= downs_want;
}

static void test_paused(void)
{
	CHECK(wait_for(cnodetest_is_up, &c, 5000));
	CNodeInfo i;
	cnode_info(c.n, &i);
	CHECK(i.lease_left_ms > 0);
	/* Paused until just past the local belief. */
	usleep((useconds_t)(i.lease_left_ms + 20) * 1000);
	int64_t wall_us = wall_now_ns() / 1000;
	CHECK(!cnode_may_start(c.n));
	Out r = { 0 };
	CHECK(cnode_start_fire(c.n, 42, t0 - 3, out_done, &r) == -EAGAIN);
	cnode_info(c.n, &i);
	printf("# paused: the database's lease had %.3f s left when the node refused\n",
	       (double)(i.db_lease_until_us - wall_us) / 1e6);
	CHECK(wall_us < i.db_lease_until_us);
	/* The loop runs again: the state says down, then up once renewed. */
	int ups = c.nup;
	downs_want = c.ndown + 1;
	CHECKF(wait_for(c_down_again, NULL, 1000), "state %d, %d downs", c.state, c.ndown);
	CHECKF(wait_for(cnodetest_is_up, &c, 5000), "not renewed after the pause: %s", c.why);
	CHECK(c.nup == ups + 1 && cnode_may_start(c.n) && c.nfenced == 0);
}

/* Closing with a request in flight reports it before close returns; its
 * answer, when it comes, touches nothing freed (the sanitizer build). */
static void test_close(void)
{
	Out r = { 0 };
	CHECK(wait_for(peer_renewed, &b, 10000));
	CHECK(cnode_claim_fire(b.n, 42, t0 - 4, out_done, &r) == 0);
	Out s = { 0 };
	CHECK(cnode_list(b.n, out_text, &s) == 0);
	int want = cnodetest_closed + 1;
	cnode_close(b.n, cnodetest_on_closed, NULL);
	b.n = NULL;
	CHECKF(r.called == 1 && r.rc == -ECANCELED, "%d %d", r.called, r.rc);
	CHECKF(s.called == 1 && s.rc == -ECANCELED, "%d %d", s.called, s.rc);
	free(s.text);
	cnodetest_settle(&loop, want);
	/* The claim went and was answered after the node was gone. */
	Q q = { 0 };
	CHECK(pgconn_query(b.c, "SELECT 1", 0, NULL, q_done, &q) == 0);
	CHECK(wait_flag(&q.called, 10000) && q.ok);
	CHECK(r.called == 1 && s.called == 1);
	cnodetest_stop(&loop, &b);
	cnodetest_stop(&loop, &a2);
	cnodetest_stop(&loop, &c);
	pgtest_close(&loop, &adm, 1);
}

int main(void)
{
	if (!pgtest_start(&loop, "t_cnode", "schema-applied", test_schema))
		return unit_done();
	unit_run("options", test_options);
	unit_run("epoch-bumped-older-fenced", test_epoch_fencing);
	if (a2.n == NULL)
		return unit_done();
	unit_run("lease-renewed", test_renewal);
	unit_run("claim-taken-not-due", test_claim);
	unit_run("fenced-start", test_start);
	unit_run("stopped-job-claimed-nowhere", test_stopped);
	unit_run("status-text", test_status);
	unit_run("clock-offset-reported-once", test_clock_offset);
	unit_run("lease-lapses-before-the-database", test_lapse);
	unit_run("paused-node-starts-nothing", test_paused);
	unit_run("close-frees-all", test_close);
	return unit_done();
}
