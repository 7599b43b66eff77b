/* Tests of the non-blocking PostgreSQL connection (src/store/pgconn.c)
 * against a real server: a private PostgreSQL 15 started here with
 * tests/tools/pgtmp.sh in a temporary directory, stopped and removed on every
 * way out (exit, the signals a test runner sends; a test killed outright is
 * covered by pgtmp.sh's watchdog). Without PostgreSQL the test fails: it is
 * installed by scripts/deps.sh test. */
#include "store/pgconn.h"
#include "pgtest.h"
#include "unit.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <unistd.h>

static uv_loop_t loop;

/* ---- running the loop ---- */

static int timed_out;

static void on_deadline(uv_timer_t *h)
{
	(void)h;
	timed_out = 1;
}

/* Runs the loop until *n >= want or ms pass; 1 if *n got there. */
static int wait_n(const int *n, int want, int ms)
{
	uv_timer_t t;
	uv_timer_init(&loop, &t);
	timed_out = 0;
	uv_timer_start(&t, on_deadline, (uint64_t)ms, 0);
	while (*n < want && !timed_out)
		uv_run(&loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	return *n >= want;
}

static void wait_ms(int ms)
{
	static const int never = 0;
	wait_n(&never, 1, ms);
}

/* A timer every 10 ms: the longest gap between two ticks says how long the
 * loop was kept from running. */
static uv_timer_t ticker;
static uint64_t last_tick, max_gap_ns;
static int ticks;

static void on_tick(uv_timer_t *h)
{
	(void)h;
	uint64_t now = uv_hrtime();
	if (now - last_tick > max_gap_ns)
		max_gap_ns = now - last_tick;
	last_tick = now;
	ticks++;
}

static void ticker_start(void)
{
	uv_timer_init(&loop, &ticker);
	max_gap_ns = 0;
	ticks = 0;
	last_tick = uv_hrtime();
	uv_timer_start(&ticker, on_tick, 10, 10);
}

static void ticker_stop(void)
{
	on_tick(&ticker);
	uv_close((uv_handle_t *)&ticker, NULL);
}

/* ---- what the connection reports ---- */

typedef struct Q {
	int called, ok;
	char err[700];
	char val[3][128];           /* the first row's first three fields */
	int ntuples;
} Q;

static int nq;                  /* query callbacks so far */

static void q_done(void *arg, PGresult *res, const char *err)
{
	Q *q = arg;
	q->called++;
	q->ok = res != NULL;
	snprintf(q->err, sizeof q->err, "%s", err);
	q->ntuples = res ? PQntuples(res) : -1;
	for (int i = 0; res && i < 3 && i < PQnfields(res) && PQntuples(res) > 0; i++)
		snprintf(q->val[i], sizeof q->val[i], "%s", PQgetvalue(res, 0, i));
	nq++;
}

typedef struct B {
	int called, rc;
	char why[700];
} B;

static int nb;

static void b_done(void *arg, int rc, const char *why)
{
	B *b = arg;
	b->called++;
	b->rc = rc;
	snprintf(b->why, sizeof b->why, "%s", why);
	nb++;
}

static int ups, downs;
static char down_why[512];

static void on_state(void *arg, int up, const char *why)
{
	(void)arg;
	if (up) {
		ups++;
	} else {
		downs++;
		snprintf(down_why, sizeof down_why, "%s", why);
	}
}

static int nnotes;
static char note_chan[4][32], note_payload[4][64];

static void on_notify(void *arg, const char *channel, const char *payload)
{
	(void)arg;
	if (nnotes < 4) {
		snprintf(note_chan[nnotes], sizeof note_chan[0], "%s", channel);
		snprintf(note_payload[nnotes], sizeof note_payload[0], "%s", payload);
	}
	nnotes++;
}

static int nclosed;

static void on_closed(void *arg)
{
	(void)arg;
	nclosed++;
}

static void close_wait(PgConn *c)
{
	int want = nclosed + 1;
	pgconn_close(c, on_closed, NULL);
	CHECK(wait_n(&nclosed, want, 5000));
}

/* Runs one lone statement and waits for its answer. */
static Q sql(PgConn *c, const char *s, int n, const char *const *params)
{
	Q q = { 0 };
	int r = pgconn_query(c, s, n, params, q_done, &q);
	CHECKF(r == 0, "pgconn_query %s: %d", s, r);
	if (r == 0)
		CHECKF(wait_n(&q.called, 1, 10000), "no answer to %s", s);
	return q;
}

static Q sql_ok(PgConn *c, const char *s)
{
	Q q = sql(c, s, 0, NULL);
	CHECKF(q.ok && q.called == 1, "%s: %s", s, q.err);
	return q;
}

static PgConn *pc;              /* the connection most tests share */

static PgConn *connect_new(size_t max_queued)
{
	PgConnOpts o = { .state = on_state, .notify = on_notify, .max_queued = max_queued };
	return pgconn_new(&loop, pgtest_conninfo, &o);
}

/* ---- the tests ---- */

/* A statement queued while the connection is being made goes once it is. */
static void test_connect(void)
{
	ups = downs = 0;
	pc = connect_new(0);
	Q q = { 0 };
	CHECK(!pgconn_up(pc));
	CHECK(pgconn_query(pc, "SELECT 1", 0, NULL, q_done, &q) == 0);
	CHECK(pgconn_queued(pc) == 2);      /* the statement and its sync point */
	CHECKF(wait_n(&ups, 1, 10000), "not connected: %s", pgconn_why(pc));
	CHECK(pgconn_up(pc));
	CHECK(downs == 0);
	CHECK(wait_n(&q.called, 1, 5000));
	CHECKF(q.ok && strcmp(q.val[0], "1") == 0, "SELECT 1: %s %s", q.val[0], q.err);
	CHECK(pgconn_queued(pc) == 0);
}

static void test_params(void)
{
	const char *p[] = { "2", "40", NULL, "h\xc3\xa9llo 'quoted' $1" };
	Q q = sql(pc, "SELECT $1::int + $2::int, $3::text IS NULL, $4::text", 4, p);
	CHECKF(q.ok, "%s", q.err);
	CHECKF(strcmp(q.val[0], "42") == 0, "sum %s", q.val[0]);
	CHECKF(strcmp(q.val[1], "t") == 0, "NULL param %s", q.val[1]);
	CHECKF(strcmp(q.val[2], p[3]) == 0, "text %s", q.val[2]);
	const char *five[] = { "5" };
	q = sql(pc, "SELECT g FROM generate_series(1, $1::int) g", 1, five);
	CHECKF(q.ok && q.ntuples == 5, "rows %d %s", q.ntuples, q.err);
	q = sql(pc, "SELECT nonsense FROM nowhere", 0, NULL);
	CHECKF(!q.ok && strstr(q.err, "nowhere") != NULL, "error: %s", q.err);
	q = sql_ok(pc, "SELECT 'after an error'");      /* the connection goes on */
	CHECK(strcmp(q.val[0], "after an error") == 0);
}

/* 1000 inserts, queued back to back, one transaction, one report. */
static void test_batch(void)
{
	sql_ok(pc, "CREATE TABLE t (id int PRIMARY KEY, v text)");
	CHECK(pgconn_batch_begin(pc) == 0);
	CHECK(pgconn_batch_begin(pc) == -EBUSY);
	char id[16], v[32];
	for (int i = 1; i <= 1000; i++) {
		snprintf(id, sizeof id, "%d", i);
		snprintf(v, sizeof v, "row %d", i);
		const char *p[] = { id, v };
		CHECK(pgconn_query(pc, "INSERT INTO t VALUES ($1, $2)", 2, p, NULL, NULL) == 0);
	}
	B b = { 0 };
	CHECK(pgconn_batch_commit(pc, b_done, &b) == 0);
	CHECK(pgconn_batch_commit(pc, b_done, &b) == -EINVAL);
	CHECK(pgconn_queued(pc) == 1001);
	int before = nb;
	uint64_t t0 = uv_hrtime();
	CHECK(wait_n(&b.called, 1, 20000));
	printf("# 1000 inserts in one batch: %.1f ms\n", (double)(uv_hrtime() - t0) / 1e6);
	wait_ms(50);
	CHECKF(b.called == 1 && nb == before + 1, "batch reported %d times", b.called);
	CHECKF(b.rc == 0, "batch: %d %s", b.rc, b.why);
	CHECK(pgconn_queued(pc) == 0);
	/* One transaction: every row was written by the same one. */
	Q q = sql_ok(pc, "SELECT count(*), count(DISTINCT xmin::text), max(v) FROM t");
	CHECKF(strcmp(q.val[0], "1000") == 0 && strcmp(q.val[1], "1") == 0,
	       "rows %s, transactions %s", q.val[0], q.val[1]);
	/* A statement's own result (RETURNING) comes before the batch's report. */
	Q r = { 0 };
	B b2 = { 0 };
	CHECK(pgconn_batch_begin(pc) == 0);
	CHECK(pgconn_query(pc, "UPDATE t SET v = 'x' WHERE id = 7 RETURNING id", 0, NULL, q_done, &r) == 0);
	CHECK(pgconn_batch_commit(pc, b_done, &b2) == 0);
	CHECK(wait_n(&b2.called, 1, 5000));
	CHECKF(r.called == 1 && r.ok && strcmp(r.val[0], "7") == 0, "RETURNING %s %s", r.val[0], r.err);
	CHECK(b2.rc == 0);
}

/* A failing statement undoes its whole batch, and says which one failed. */
static void test_batch_error(void)
{
	static const char *const ids[] = { "2001", "2002", "1", "2003" };
	Q q[4];
	memset(q, 0, sizeof q);
	B b = { 0 };
	CHECK(pgconn_batch_begin(pc) == 0);
	for (int i = 0; i < 4; i++) {
		const char *p[] = { ids[i] };
		CHECK(pgconn_query(pc, "INSERT INTO t VALUES ($1, 'new')", 1, p, q_done, &q[i]) == 0);
	}
	CHECK(pgconn_batch_commit(pc, b_done, &b) == 0);
	CHECK(wait_n(&b.called, 1, 5000));
	CHECKF(b.rc == -EIO && strstr(b.why, "duplicate key") != NULL, "batch: %d %s", b.rc, b.why);
	CHECK(q[0].called == 1 && q[0].ok && q[1].called == 1 && q[1].ok);
	CHECKF(q[2].called == 1 && !q[2].ok && strstr(q[2].err, "duplicate key"), "%s", q[2].err);
	CHECKF(q[3].called == 1 && !q[3].ok && strstr(q[3].err, "not run"), "%s", q[3].err);
	Q n = sql_ok(pc, "SELECT count(*) FROM t WHERE id > 2000");
	CHECKF(strcmp(n.val[0], "0") == 0, "rows of the failed batch: %s", n.val[0]);

	/* A failure at the commit itself (a deferred constraint): the same. */
	sql_ok(pc, "CREATE TABLE d (id int, CONSTRAINT d_u UNIQUE (id) DEFERRABLE INITIALLY DEFERRED)");
	B bd = { 0 };
	CHECK(pgconn_batch_begin(pc) == 0);
	CHECK(pgconn_query(pc, "INSERT INTO d VALUES (1)", 0, NULL, NULL, NULL) == 0);
	CHECK(pgconn_query(pc, "INSERT INTO d VALUES (1)", 0, NULL, NULL, NULL) == 0);
	CHECK(pgconn_batch_commit(pc, b_done, &bd) == 0);
	CHECK(wait_n(&bd.called, 1, 5000));
	CHECKF(bd.rc == -EIO && strstr(bd.why, "duplicate key"), "commit-time: %d %s", bd.rc, bd.why);
	/* A lone statement is reported once committed: its commit failing too. */
	Q l = sql(pc, "INSERT INTO d VALUES (7), (7)", 0, NULL);
	CHECKF(!l.ok && strstr(l.err, "duplicate key"), "lone commit-time: %s", l.err);
	n = sql_ok(pc, "SELECT count(*) FROM d");
	CHECKF(strcmp(n.val[0], "0") == 0, "rows in d: %s", n.val[0]);
	/* And the connection is sound after all that. */
	B ok = { 0 };
	CHECK(pgconn_batch_begin(pc) == 0);
	CHECK(pgconn_query(pc, "INSERT INTO d VALUES (3)", 0, NULL, NULL, NULL) == 0);
	CHECK(pgconn_batch_commit(pc, b_done, &ok) == 0);
	CHECK(wait_n(&ok.called, 1, 5000));
	CHECKF(ok.rc == 0, "%s", ok.why);
	n = sql_ok(pc, "SELECT count(*) FROM d");
	CHECK(strcmp(n.val[0], "1") == 0);
}

/* A NOTIFY from another connection reaches the one that LISTENs. */
static void test_notify(void)
{
	nnotes = 0;
	sql_ok(pc, "LISTEN jobd");
	int u = ups;
	PgConn *other = connect_new(0);
	CHECK(wait_n(&ups, u + 1, 10000));
	sql_ok(other, "NOTIFY jobd, 'hello 42'");
	const char *p[] = { "second" };
	Q q = sql(other, "SELECT pg_notify('jobd', $1)", 1, p);
	CHECK(q.ok);
	sql_ok(other, "NOTIFY elsewhere, 'not listened to'");
	CHECK(wait_n(&nnotes, 2, 5000));
	wait_ms(100);
	CHECKF(nnotes == 2, "%d notifications", nnotes);
	CHECK(strcmp(note_chan[0], "jobd") == 0 && strcmp(note_payload[0], "hello 42") == 0);
	CHECK(strcmp(note_chan[1], "jobd") == 0 && strcmp(note_payload[1], "second") == 0);
	close_wait(other);
}

/* The queue has a bound the caller sees; a batch once open is taken whole. */
static void test_bound(void)
{
	int u = ups;
	PgConn *c = connect_new(8);
	CHECK(wait_n(&ups, u + 1, 10000));
	Q q[8];
	memset(q, 0, sizeof q);
	int accepted = 0, r;
	while ((r = pgconn_query(c, "SELECT pg_sleep(0.05)", 0, NULL, q_done, &q[accepted])) == 0)
		accepted++;
	CHECKF(r == -ENOBUFS && accepted == 4, "accepted %d, then %d", accepted, r);
	CHECK(pgconn_queued(c) == 8);
	CHECK(pgconn_batch_begin(c) == -ENOBUFS);
	CHECK(wait_n(&q[accepted - 1].called, 1, 5000));
	CHECK(pgconn_queued(c) == 0);
	CHECK(pgconn_batch_begin(c) == 0);
	for (int i = 0; i < 20; i++)
		CHECK(pgconn_query(c, "SELECT 1", 0, NULL, NULL, NULL) == 0);
	B b = { 0 };
	CHECK(pgconn_batch_commit(c, b_done, &b) == 0);
	CHECK(wait_n(&b.called, 1, 5000) && b.rc == 0);
	close_wait(c);
}

/* Closing with a statement in flight reports it before close returns. */
static void test_close(void)
{
	int u = ups;
	PgConn *c = connect_new(0);
	CHECK(wait_n(&ups, u + 1, 10000));
	Q q = { 0 };
	CHECK(pgconn_query(c, "SELECT pg_sleep(30)", 0, NULL, q_done, &q) == 0);
	wait_ms(100);
	CHECK(q.called == 0);
	pgconn_close(c, on_closed, NULL);
	CHECKF(q.called == 1 && !q.ok && strstr(q.err, "closed"), "%d %s", q.called, q.err);
	int want = nclosed + 1;
	CHECK(wait_n(&nclosed, want, 5000));
}

/* A fake server's listening socket (of type, with backlog) where libpq
 * looks for a server in the directory pgtest_root/name (port 5432): the
 * directory is made, its path put in dir. */
static int fake_server(const char *name, int type, int backlog, char *dir, size_t n)
{
	snprintf(dir, n, "%s/%s", pgtest_root, name);
	CHECK(mkdir(dir, 0700) == 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	CHECK(snprintf(sa.sun_path, sizeof sa.sun_path, "%s/.s.PGSQL.5432", dir) <
	      (int)sizeof sa.sun_path);
	int fd = socket(AF_UNIX, type, 0);
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(fd, backlog) == 0);
	return fd;
}

/* A server that takes the connection and never answers: the attempt is
 * given up at its deadline, and the loop runs on all the while. */
static void test_silent_server(void)
{
	char dir[128];
	int fd = fake_server("silent", SOCK_STREAM, 64, dir, sizeof dir);
	char ci[256];
	snprintf(ci, sizeof ci, "host=%s port=5432 dbname=x user=x", dir);
	downs = 0;
	int u = ups;
	PgConnOpts o = { .state = on_state, .connect_timeout_ms = 300 };
	ticker_start();
	PgConn *c = pgconn_new(&loop, ci, &o);
	Q q = { 0 };
	CHECK(pgconn_query(c, "SELECT 1", 0, NULL, q_done, &q) == 0);
	wait_ms(1200);
	ticker_stop();
	printf("# silent server: %d ticks, longest gap %llu ms; %s\n", ticks,
	       (unsigned long long)(max_gap_ns / 1000000), down_why);
	CHECK(ups == u);
	CHECKF(downs == 1 && strstr(down_why, "no connection after 300 ms"), "%d: %s", downs, down_why);
	CHECKF(q.called == 1 && !q.ok && strstr(q.err, "not sent"), "%s", q.err);
	CHECKF(max_gap_ns < 200 * 1000000ull, "the loop stood still for %llu ms",
	       (unsigned long long)(max_gap_ns / 1000000));
	CHECKF(ticks > 40, "%d ticks in 1.2 s", ticks);
	close_wait(c);
	close(fd);
}

/* A fake server that says it is read-only, answering one connection. */
static void put_msg(char *buf, size_t *n, char type, const void *body, uint32_t len)
{
	uint32_t be = htonl(len + 4);
	buf[(*n)++] = type;
	memcpy(buf + *n, &be, 4);
	memcpy(buf + *n + 4, body, len);
	*n += 4 + len;
}

static void readonly_server(int lfd)
{
	alarm(10);
	char buf[512], out[256];
	size_t n = 0;
	int fd = accept(lfd, NULL, NULL);
	if (fd < 0 || read(fd, buf, sizeof buf) <= 0)  /* the startup packet */
		_exit(1);
	static const char auth_ok[4], key[8] = { 0, 0, 0, 1, 0, 0, 0, 2 };
	put_msg(out, &n, 'R', auth_ok, 4);
	put_msg(out, &n, 'S', "in_hot_standby\0on", 18);
	put_msg(out, &n, 'S', "default_transaction_read_only\0on", 33);
	put_msg(out, &n, 'K', key, 8);
	put_msg(out, &n, 'Z', "I", 1);
	if (write(fd, out, n) != (ssize_t)n)
		_exit(2);
	while (read(fd, buf, sizeof buf) > 0)
		;
	_exit(0);
}

/* libpq may close its socket and open another in the middle of an attempt
 * (the next host): the first host here is a read-only server, refused for
 * target_session_attrs=read-write, and the connection is made to the second
 * on a new socket, which must be watched afresh. */
static void test_socket_change(void)
{
	char dir[128];
	int fd = fake_server("readonly", SOCK_STREAM | SOCK_CLOEXEC, 4, dir, sizeof dir);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		readonly_server(fd);
	close(fd);
	char ci[400];
	snprintf(ci, sizeof ci, "host=%s,%s port=5432 dbname=postgres user=postgres "
	         "target_session_attrs=read-write", dir, pgtest_dir);
	/* In one attempt: a second one would find no read-only server. */
	PgConnOpts o = { .state = on_state, .connect_timeout_ms = 5000 };
	int u = ups, d = downs;
	uint64_t t0 = uv_hrtime();
	PgConn *c = pgconn_new(&loop, ci, &o);
	CHECKF(wait_n(&ups, u + 1, 4000), "not connected: %s", pgconn_why(c));
	CHECKF(downs == d, "an attempt failed: %s", down_why);
	printf("# connected through the second host in %.1f ms\n", (double)(uv_hrtime() - t0) / 1e6);
	Q q = sql_ok(c, "SELECT current_setting('transaction_read_only')");
	CHECKF(strcmp(q.val[0], "off") == 0, "%s", q.val[0]);
	close_wait(c);
	int st = -1;
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
	CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the read-only server was not asked (%d)", st);
}

/* ---- the server goes away and comes back ---- */


static void test_server_lost(void)
{
	static uv_process_t proc;
	ups = downs = 0;
	ticker_start();
	/* In flight when the server stops: a statement that sleeps, and behind
	 * it in the pipeline a batch and a lone statement. */
	Q sleep = { 0 }, after = { 0 };
	B b = { 0 };
	CHECK(pgconn_query(pc, "SELECT pg_sleep(60)", 0, NULL, q_done, &sleep) == 0);
	CHECK(pgconn_batch_begin(pc) == 0);
	char id[16];
	for (int i = 5001; i <= 5010; i++) {
		snprintf(id, sizeof id, "%d", i);
		const char *p[] = { id };
		CHECK(pgconn_query(pc, "INSERT INTO t VALUES ($1, 'lost')", 1, p, NULL, NULL) == 0);
	}
	CHECK(pgconn_batch_commit(pc, b_done, &b) == 0);
	CHECK(pgconn_query(pc, "SELECT 1", 0, NULL, q_done, &after) == 0);
	wait_ms(300);
	CHECK(sleep.called == 0 && b.called == 0 && after.called == 0);

	pgtest_script_exited = 0;
	pgtest_script_async(&loop, &proc, "stop", NULL);
	CHECK(wait_n(&downs, 1, 15000));
	CHECKF(down_why[0] != '\0', "no reason given");
	CHECK(wait_n(&after.called, 1, 5000));
	CHECK(wait_n(&pgtest_script_exited, 1, 15000) && pgtest_script_status == 0);
	CHECKF(sleep.called == 1 && !sleep.ok && sleep.err[0], "sleep: %d %s", sleep.called, sleep.err);
	CHECKF(b.called == 1 && b.rc == -ECONNRESET, "batch: %d %d %s", b.called, b.rc, b.why);
	CHECKF(after.called == 1 && !after.ok && strstr(after.err, "may have run"), "after: %s", after.err);
	CHECK(!pgconn_up(pc));
	CHECK(pgconn_queued(pc) == 0);

	/* While the server is away: attempts fail, statements are refused or
	 * fail, nothing is held for later. */
	Q q = { 0 };
	int r = pgconn_query(pc, "SELECT 1", 0, NULL, q_done, &q);
	CHECKF(r == -ENOTCONN || r == 0, "%d", r);
	wait_ms(1500);
	CHECK(ups == 0 && downs == 1);
	CHECKF(r == -ENOTCONN || (q.called == 1 && !q.ok), "%d %d", r, q.called);

	pgtest_script_exited = 0;
	pgtest_script_async(&loop, &proc, "start", NULL);
	CHECK(wait_n(&pgtest_script_exited, 1, 30000) && pgtest_script_status == 0);
	CHECKF(wait_n(&ups, 1, 10000), "not back: %s", pgconn_why(pc));
	ticker_stop();
	printf("# server lost: %d ticks, longest gap %llu ms; down: %s; in flight: %s\n", ticks,
	       (unsigned long long)(max_gap_ns / 1000000), down_why, sleep.err);
	CHECKF(max_gap_ns < 200 * 1000000ull, "the loop stood still for %llu ms",
	       (unsigned long long)(max_gap_ns / 1000000));
	CHECK(pgconn_up(pc));
	/* What committed before is there; the batch that never ran is not. */
	Q n = sql_ok(pc, "SELECT count(*), count(*) FILTER (WHERE id > 5000) FROM t");
	CHECKF(strcmp(n.val[0], "1000") == 0 && strcmp(n.val[1], "0") == 0, "rows %s, lost %s",
	       n.val[0], n.val[1]);
}

/* Everything closed: the loop has no handle left. */
static void test_close_all(void)
{
	pgtest_close(&loop, &pc, 1);
}

int main(void)
{
	/* connect is run apart: the tests after it need its connection up,
	 * whatever else it found. */
	if (!pgtest_start(&loop, "t_pgconn", NULL, NULL))
		return unit_done();
	unit_run("connect", test_connect);
	if (!pgconn_up(pc))
		return unit_done();
	unit_run("params", test_params);
	unit_run("batch-1000-one-transaction", test_batch);
	unit_run("batch-error-rolls-back", test_batch_error);
	unit_run("listen-notify", test_notify);
	unit_run("queue-bound", test_bound);
	unit_run("close-in-flight", test_close);
	unit_run("silent-server-loop-runs", test_silent_server);
	unit_run("socket-changes-while-connecting", test_socket_change);
	unit_run("server-lost-and-back", test_server_lost);
	unit_run("close-frees-all", test_close_all);
	return unit_done();
}
