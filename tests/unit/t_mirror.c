/* Tests of the write path's copy in PostgreSQL (src/cluster/mirror.c) against
 * a real server: a private PostgreSQL 15 (tests/tools/pgtmp.sh, pgtest.h)
 * with the store's schema. Two mirrors stand for two nodes, each on its own
 * connection; what they wrote is read back with SQL on a third. */
#include "cluster/mirror.h"
#include "pgtest.h"
#include "unit.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uv_loop_t loop;
static PgConn *adm, *ca, *cb;
static Mirror *ma, *mb;

/* ---- notifications heard on the admin connection ---- */

static int notes;
static char note_payload[64];

static void on_notify(void *arg, const char *channel, const char *payload)
{
	(void)arg;
	if (strcmp(channel, "jobd") == 0) {
		notes++;
		snprintf(note_payload, sizeof note_payload, "%s", payload);
	}
}

static PgConn *conn(int listen)
{
	PgConnOpts o = { 0 };
	if (listen)
		o.notify = on_notify;
	return pgconn_new(&loop, pgtest_conninfo, &o);
}

static PgtestQ sql(const char *s)
{
	return pgtest_sql(&loop, adm, s);
}

/* A number from SQL with one number in it: fmt's %lld. */
#define num(...) pgtest_numf(&loop, adm, __VA_ARGS__)

/* ---- commits ---- */

typedef struct Done {
	int called, rc;
	char why[256];
	MirrorResult res;
} Done;

static void on_done(void *arg, int rc, const char *why, const MirrorResult *res)
{
	Done *d = arg;
	d->called++;
	d->rc = rc;
	snprintf(d->why, sizeof d->why, "%s", why);
	if (res)
		d->res = *res;
}

static Done commit(Mirror *m)
{
	Done d = { 0 };
	int rc = mirror_commit(m, on_done, &d);
	CHECKF(rc == 0, "mirror_commit: %d", rc);
	if (rc == 0)
		CHECKF(pgtest_wait_flag(&loop, &d.called, 10000), "no done");
	CHECKF(d.rc == 0, "commit: %d %s", d.rc, d.why);
	return d;
}

static int has_ids(const void *arg)
{
	return mirror_id((Mirror *)arg) != 0;
}

static StoreJob job(int64_t id, const char *name)
{
	return (StoreJob){ .id = id, .name = name, .schedule = "* * * * * *", .cmd = "true",
	                   .dir = "", .env = "", .limits = "", .owner_uid = 1000,
	                   .created_ns = 5 };
}

/* ---- the tests ---- */

static void test_schema(void)
{
	adm = conn(1);
	pgtest_schema(&loop, adm);
	sql("LISTEN jobd");
}

static int64_t ida[4], idb[4];

static void test_ids(void)
{
	ca = conn(0);
	cb = conn(0);
	ma = mirror_new(ca, "node-a");
	mb = mirror_new(cb, "node-b");
	CHECKF(pgtest_wait(&loop, has_ids, ma, 10000), "no block of ids for a");
	CHECKF(pgtest_wait(&loop, has_ids, mb, 10000), "no block of ids for b");
	for (int i = 0; i < 4; i++) {
		ida[i] = mirror_id(ma);
		idb[i] = mirror_id(mb);
		CHECK(ida[i] > 0 && idb[i] > 0);
		CHECK(ida[i] >> MIRROR_BLOCK_BITS != idb[i] >> MIRROR_BLOCK_BITS);
	}
	CHECK(ida[1] == ida[0] + 1);
	/* A whole block used: the next comes from the next block, asked for at
	 * the half, so there is no pause. */
	int64_t first = ida[3], last = 0, blocks = 0;
	for (int64_t i = 0; i < ((int64_t)1 << MIRROR_BLOCK_BITS) + 10; i++) {
		int64_t id = mirror_id(ma);
		if (id == 0) {
			CHECKF(pgtest_wait(&loop, has_ids, ma, 10000), "no next block");
			id = mirror_id(ma);
		}
		if (i > 0 && id != last + 1)
			blocks++;
		CHECKF(id > last, "ids go down: %lld after %lld", (long long)id, (long long)last);
		last = id;
		if (id == 0)
			break;
	}
	CHECKF(blocks == 1, "%lld block changes", (long long)blocks);
	CHECK(last >> MIRROR_BLOCK_BITS != first >> MIRROR_BLOCK_BITS);
}

static void test_create(void)
{
	/* Bytes a text parameter would mangle: quotes, a backslash, a newline, a
	 * byte that is no UTF-8. */
	const char *cmd = "echo 'a\\b' \"\n\xff\"";
	StoreJob j = job(ida[0], "one");
	j.cmd = cmd;
	j.env = "A=1\nB=2\n";
	notes = 0;
	CHECK(mirror_job_create(ma, &j) == 0);
	CHECK(mirror_pending(ma));
	Done d = commit(ma);
	CHECK(d.res.nrefused == 0);
	CHECK(!mirror_pending(ma));
	PgtestQ q = sql("SELECT name, encode(cmd, 'hex'), owner_uid FROM jobs WHERE id = (SELECT min(id) FROM jobs)");
	CHECK(strcmp(q.val[0], "one") == 0);
	char *hex = mirror_bytea(cmd, strlen(cmd));
	CHECKF(strcmp(q.val[1], hex + 2) == 0, "cmd came back as %s", q.val[1]);
	free(hex);
	CHECK(strcmp(q.val[2], "1000") == 0);
	CHECK(num("SELECT count(*) FROM changes WHERE job_id = %" PRId64 " AND kind = 'job'", ida[0]) == 1);
	CHECKF(pgtest_wait_flag(&loop, &notes, 5000), "no NOTIFY");
	char want[32];
	snprintf(want, sizeof want, "%lld", (long long)ida[0]);
	CHECKF(strcmp(note_payload, want) == 0, "NOTIFY said %s", note_payload);
}

static void test_name_race(void)
{
	/* Both nodes create "two" in the same moment; b's batch also creates
	 * "three". One "two" wins; b's other create stands either way. */
	StoreJob a2 = job(ida[1], "two"), b2 = job(idb[1], "two"), b3 = job(idb[2], "three");
	CHECK(mirror_job_create(ma, &a2) == 0);
	CHECK(mirror_job_create(mb, &b2) == 0);
	CHECK(mirror_job_create(mb, &b3) == 0);
	Done da = { 0 }, db = { 0 };
	CHECK(mirror_commit(ma, on_done, &da) == 0);
	CHECK(mirror_commit(mb, on_done, &db) == 0);
	CHECK(pgtest_wait_flag(&loop, &da.called, 10000));
	CHECK(pgtest_wait_flag(&loop, &db.called, 10000));
	CHECKF(da.rc == 0 && db.rc == 0, "a: %s; b: %s", da.why, db.why);
	CHECKF(da.res.nrefused + db.res.nrefused == 1, "%zu + %zu refused", da.res.nrefused,
	       db.res.nrefused);
	int64_t loser = da.res.nrefused ? ida[1] : idb[1];
	CHECK((da.res.nrefused ? da.res.refused[0] : db.res.refused[0]) == loser);
	CHECK(num("SELECT count(*) FROM jobs WHERE id = %" PRId64, loser) == 0);
	CHECK(pgtest_num(&loop, adm, "SELECT count(*) FROM jobs WHERE name = 'two'") == 1);
	CHECK(num("SELECT count(*) FROM jobs WHERE id = %" PRId64 " AND name = 'three'", idb[2]) == 1);
}

static void test_positions(void)
{
	/* Two nodes append to one job's log, batch after batch, interleaved:
	 * each chunk's place comes from the database, so the log is one piece
	 * with nothing written twice. A run's output keeps its node's offsets. */
	int64_t jid = ida[0];
	StoreRun r = { .id = mirror_id(mb), .job_id = jid, .state = RUN_RUNNING, .seq = 1 };
	CHECK(mirror_run_put(mb, &r) == 0);
	commit(mb);
	int64_t total = 0, roff = 0;
	for (int round = 0; round < 5; round++) {
		char line[64];
		int n = snprintf(line, sizeof line, "a%d line\n", round);
		CHECK(mirror_text(ma, mirror_id(ma), jid, 0, 0, line, (size_t)n) == 0);
		total += n;
		n = snprintf(line, sizeof line, "b%d output\n", round);
		CHECK(mirror_text(mb, mirror_id(mb), jid, r.id, roff, line, (size_t)n) == 0);
		roff += n;
		total += n;
		Done da = { 0 }, db = { 0 };
		CHECK(mirror_commit(mb, on_done, &db) == 0);
		CHECK(mirror_commit(ma, on_done, &da) == 0);
		CHECK(pgtest_wait_flag(&loop, &da.called, 10000) && da.rc == 0);
		CHECK(pgtest_wait_flag(&loop, &db.called, 10000) && db.rc == 0);
	}
	CHECK(num("SELECT log_end FROM jobs WHERE id = %" PRId64, jid) == total);
	CHECK(num("SELECT sum(len) FROM chunks WHERE job_id = %" PRId64, jid) == total);
	/* Contiguous: every chunk starts where the one before it ends. */
	CHECK(num("SELECT count(*) FROM (SELECT off, len, lag(off + len, 1, 0::bigint) OVER (ORDER BY off)"
	          " AS prev FROM chunks WHERE job_id = %" PRId64 ") c WHERE off <> prev", jid) == 0);
	CHECK(num("SELECT out_bytes FROM runs WHERE id = %" PRId64, r.id) == roff);
	CHECK(num("SELECT max(roff + len) FROM chunks WHERE run_id = %" PRId64, r.id) == roff);
	/* A change per job per batch, not per statement. */
	CHECK(num("SELECT count(*) FROM changes WHERE job_id = %" PRId64 " AND kind = 'text'", jid) == 10);
}

static void test_run_history(void)
{
	int64_t jid = idb[2];
	StoreRun r = { .id = mirror_id(ma), .job_id = jid, .sched = 100, .state = RUN_CLAIMED,
	               .seq = 1 };
	CHECK(mirror_run_put(ma, &r) == 0);
	r.state = RUN_RUNNING;
	r.start_ns = 7;
	r.pid = 42;
	snprintf(r.proc, sizeof r.proc, "tok");
	CHECK(mirror_run_put(ma, &r) == 0);
	commit(ma);
	CHECK(num("SELECT runs_total FROM jobs WHERE id = %" PRId64, jid) == 0);
	r.state = RUN_DONE;
	r.end_ns = 9;
	r.status = 3;
	CHECK(mirror_run_put(ma, &r) == 0);
	/* Put again (a retry of the same row) counts once. */
	CHECK(mirror_run_put(ma, &r) == 0);
	commit(ma);
	PgtestQ q = sql("SELECT runs_total, failures_total, last_status FROM jobs WHERE name = 'three'");
	CHECKF(strcmp(q.val[0], "1") == 0 && strcmp(q.val[1], "1") == 0 &&
	       strcmp(q.val[2], "3") == 0, "history %s %s %s", q.val[0], q.val[1], q.val[2]);
	q = sql("SELECT node, proc, pid FROM runs WHERE sched = 100");
	CHECK(strcmp(q.val[0], "node-a") == 0 && strcmp(q.val[1], "tok") == 0 &&
	      strcmp(q.val[2], "42") == 0);
	/* An older copy of the row (a node's cache that lags) takes nothing
	 * back: still ended, its start and pid kept. */
	StoreRun old = { .id = r.id, .job_id = jid, .sched = 100, .state = RUN_CLAIMED, .seq = 1 };
	CHECK(mirror_run_put(ma, &old) == 0);
	commit(ma);
	q = sql("SELECT state, start_ns, pid FROM runs WHERE sched = 100");
	CHECKF(strcmp(q.val[0], "2") == 0 && strcmp(q.val[1], "7") == 0 && strcmp(q.val[2], "42") == 0,
	       "after an older copy: %s %s %s", q.val[0], q.val[1], q.val[2]);
	CHECK(pgtest_num(&loop, adm, "SELECT runs_total FROM jobs WHERE name = 'three'") == 1);
	/* Settings written by one node; the history stays the database's. */
	StoreJob j = job(jid, "three");
	j.timeout_ms = 5000;
	j.last_sched = 100;
	CHECK(mirror_job_save(mb, &j) == 0);
	CHECK(mirror_job_started(mb, jid, 1) == 0);
	commit(mb);
	q = sql("SELECT timeout_ms, runs_total, started FROM jobs WHERE name = 'three'");
	CHECK(strcmp(q.val[0], "5000") == 0 && strcmp(q.val[1], "1") == 0 &&
	      strcmp(q.val[2], "1") == 0);
	j.last_sched = 50;
	CHECK(mirror_job_save(mb, &j) == 0);
	commit(mb);
	CHECK(num("SELECT last_sched FROM jobs WHERE id = %" PRId64, jid) == 100);
}

static void test_retain_delete(void)
{
	int64_t jid = ida[0];
	int64_t cut = num("SELECT min(off) + 1 FROM chunks WHERE job_id = %" PRId64, jid);
	int64_t runs[1] = { 0 };
	runs[0] = num("SELECT min(id) FROM runs WHERE job_id = %" PRId64, jid);
	long long chunks = num("SELECT count(*) FROM chunks WHERE job_id = %" PRId64, jid);
	CHECK(mirror_retain(ma, jid, runs, 1, cut, 0) == 0);
	commit(ma);
	CHECK(num("SELECT count(*) FROM runs WHERE job_id = %" PRId64, jid) == 0);
	/* The first chunk goes only whole: cut is inside it, so nothing goes. */
	CHECK(num("SELECT count(*) FROM chunks WHERE job_id = %" PRId64, jid) == chunks);
	cut = num("SELECT min(off + len) FROM chunks WHERE job_id = %" PRId64, jid);
	CHECK(mirror_retain(ma, jid, NULL, 0, cut, 0) == 0);
	commit(ma);
	CHECK(num("SELECT count(*) FROM chunks WHERE job_id = %" PRId64, jid) == chunks - 1);

	/* Deleted by b; a's change to it in a later batch changes nothing and
	 * costs nothing else of that batch. */
	CHECK(mirror_job_delete(mb, jid) == 0);
	commit(mb);
	CHECK(num("SELECT count(*) FROM chunks WHERE job_id = %" PRId64, jid) == 0);
	StoreJob other = job(ida[2], "four");
	CHECK(mirror_text(ma, mirror_id(ma), jid, 0, 0, "late\n", 5) == 0);
	StoreRun r = { .id = mirror_id(ma), .job_id = jid, .state = RUN_DONE, .seq = 9 };
	CHECK(mirror_run_put(ma, &r) == 0);
	CHECK(mirror_job_create(ma, &other) == 0);
	commit(ma);
	CHECK(num("SELECT count(*) FROM chunks WHERE job_id = %" PRId64, jid) == 0);
	CHECK(num("SELECT count(*) FROM runs WHERE job_id = %" PRId64, jid) == 0);
	CHECK(num("SELECT count(*) FROM jobs WHERE id = %" PRId64, ida[2]) == 1);
}

static int conn_up(const void *arg)
{
	return pgconn_up((const PgConn *)arg);
}

static int mirror_ready(const void *arg)
{
	return mirror_pending((const Mirror *)arg);
}

static void test_lost_batch_redone(void)
{
	/* A run's end and its output, in a batch lost with the connection (the
	 * server ends the backend under it), are sent again once the
	 * connection is back: the database comes to say the run ended, counted
	 * once. The client's change in the same batch is not sent again. */
	int64_t jid = ida[2];
	StoreRun r = { .id = mirror_id(ma), .job_id = jid, .sched = 300, .state = RUN_RUNNING,
	               .start_ns = 11, .pid = 77, .seq = 1 };
	CHECK(mirror_run_put(ma, &r) == 0);
	commit(ma);
	/* Its claim, as cnode_claim_run makes it. */
	sql("INSERT INTO fires(job_id, sched, node, epoch, state, run_id) VALUES"
	    " ((SELECT id FROM jobs WHERE name = 'four'), 301, 'node-a', 1, 'claimed', 0)");
	long long total0 = num("SELECT runs_total FROM jobs WHERE id = %" PRId64, jid);
	long long end0 = num("SELECT log_end FROM jobs WHERE id = %" PRId64, jid);
	sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
	    " WHERE pid <> pg_backend_pid() AND datname = current_database()");
	r.state = RUN_DONE;
	r.end_ns = 12;
	CHECK(mirror_text(ma, mirror_id(ma), jid, r.id, 0, "out\n", 4) == 0);
	CHECK(mirror_run_put(ma, &r) == 0);
	StoreJob j = job(jid, "four");
	j.timeout_ms = 4444;
	int saved = mirror_job_save(ma, &j);
	CHECK(mirror_changing(ma, jid));
	Done d = { 0 };
	if (mirror_commit(ma, on_done, &d) == 0)
		CHECKF(pgtest_wait_flag(&loop, &d.called, 10000), "no done");
	CHECKF(d.rc != 0 || saved != 0, "the batch was not lost: the test proves nothing");
	/* Still the job's changes: the cache holds its older rows back. */
	CHECK(mirror_changing(ma, jid));
	CHECK(num("SELECT state FROM runs WHERE id = %" PRId64, r.id) == RUN_RUNNING);
	CHECKF(pgtest_wait(&loop, mirror_ready, ma, 15000), "the kept changes never became due");
	commit(ma);
	CHECK(!mirror_changing(ma, jid));
	CHECK(num("SELECT state FROM runs WHERE id = %" PRId64, r.id) == RUN_DONE);
	CHECK(num("SELECT runs_total FROM jobs WHERE id = %" PRId64, jid) == total0 + 1);
	CHECK(num("SELECT log_end FROM jobs WHERE id = %" PRId64, jid) == end0 + 4);
	CHECK(num("SELECT out_bytes FROM runs WHERE id = %" PRId64, r.id) == 4);
	CHECK(num("SELECT timeout_ms FROM jobs WHERE id = %" PRId64, jid) == 0);

	/* Lost in flight: the batch is sent, waits for a lock held by another
	 * session, and its backend is ended under it. Its facts go again. */
	PGconn *lk = PQconnectdb(pgtest_conninfo);
	CHECKF(PQstatus(lk) == CONNECTION_OK, "lock session: %s", PQerrorMessage(lk));
	char q0[256];
	snprintf(q0, sizeof q0, "BEGIN; SELECT 1 FROM jobs WHERE id = %" PRId64 " FOR UPDATE", jid);
	PQclear(PQexec(lk, q0));
	StoreRun r2 = { .id = mirror_id(ma), .job_id = jid, .sched = 302, .state = RUN_DONE,
	                .start_ns = 13, .end_ns = 14, .seq = 3 };
	CHECK(mirror_run_put(ma, &r2) == 0);
	CHECK(mirror_text(ma, mirror_id(ma), jid, r2.id, 0, "in flight\n", 10) == 0);
	Done d2 = { 0 };
	CHECK(mirror_commit(ma, on_done, &d2) == 0);
	int never = 0;
	pgtest_wait_flag(&loop, &never, 500);        /* the batch reaches the lock */
	CHECK(d2.called == 0);
	PQclear(PQexec(lk, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
	                   " WHERE wait_event_type = 'Lock'"));
	PQclear(PQexec(lk, "ROLLBACK"));
	PQfinish(lk);
	CHECKF(pgtest_wait_flag(&loop, &d2.called, 10000), "no done");
	CHECKF(d2.rc != 0, "the batch was not lost: the test proves nothing");
	CHECK(mirror_changing(ma, jid));
	CHECKF(pgtest_wait(&loop, mirror_ready, ma, 15000), "the kept changes never became due");
	commit(ma);
	CHECK(num("SELECT state FROM runs WHERE id = %" PRId64, r2.id) == RUN_DONE);
	CHECK(num("SELECT runs_total FROM jobs WHERE id = %" PRId64, jid) == total0 + 2);
	CHECK(num("SELECT log_end FROM jobs WHERE id = %" PRId64, jid) == end0 + 14);
	end0 += 10;

	/* A chunk sent twice (its first batch committed, its answer lost) is
	 * stored once. */
	int64_t cid = mirror_id(ma);
	CHECK(mirror_text(ma, cid, jid, 0, 0, "twice\n", 6) == 0);
	commit(ma);
	CHECK(mirror_text(ma, cid, jid, 0, 0, "twice\n", 6) == 0);
	commit(ma);
	CHECK(num("SELECT log_end FROM jobs WHERE id = %" PRId64, jid) == end0 + 10);
	CHECK(num("SELECT count(*) FROM chunks WHERE id = %" PRId64, cid) == 1);

	/* A claim whose run ends without starting (skipped) is closed, so no
	 * reaper takes it over when this node's epoch ends; another node's
	 * claim is not this node's to close. */
	StoreRun s = { .id = mirror_id(ma), .job_id = jid, .sched = 301, .state = RUN_SKIPPED,
	               .seq = 2 };
	sql("UPDATE fires SET run_id = 0");
	char q[256];
	snprintf(q, sizeof q, "UPDATE fires SET run_id = %" PRId64 " WHERE sched = 301", s.id);
	sql(q);
	CHECKF(pgtest_wait(&loop, conn_up, cb, 15000), "b's connection is not back");
	CHECK(mirror_run_put(mb, &s) == 0);
	commit(mb);
	CHECK(num("SELECT count(*) FROM fires WHERE sched = 301 AND state = 'claimed'") == 1);
	CHECK(mirror_run_put(ma, &s) == 0);
	commit(ma);
	CHECK(num("SELECT count(*) FROM fires WHERE sched = 301 AND state = 'claimed'") == 0);
}

static void test_empty_and_close(void)
{
	/* Nothing open: done comes anyway, from the loop. */
	Done d = { 0 };
	CHECK(mirror_commit(ma, on_done, &d) == 0);
	CHECK(d.called == 0);
	CHECK(pgtest_wait_flag(&loop, &d.called, 10000) && d.rc == 0);
	/* Closed with a batch on its way: no done after the close. */
	Done late = { 0 };
	StoreJob j = job(mirror_id(mb), "five");
	CHECK(mirror_job_create(mb, &j) == 0);
	CHECK(mirror_commit(mb, on_done, &late) == 0);
	mirror_close(mb);
	mb = NULL;
	int never = 0;
	pgtest_wait_flag(&loop, &never, 300);
	CHECK(late.called == 0);
	/* It was sent: committed all the same. */
	CHECK(pgtest_num(&loop, adm, "SELECT count(*) FROM jobs WHERE name = 'five'") == 1);
}

int main(void)
{
	if (!pgtest_start(&loop, "t_mirror", "schema-applied", test_schema))
		return unit_done();
	unit_run("ids-in-blocks", test_ids);
	unit_run("create-notifies", test_create);
	unit_run("name-race-one-wins", test_name_race);
	unit_run("log-positions-from-the-database", test_positions);
	unit_run("run-history-counted-once", test_run_history);
	unit_run("retain-and-delete", test_retain_delete);
	unit_run("lost-batch-facts-sent-again", test_lost_batch_redone);
	unit_run("empty-commit-and-close", test_empty_and_close);
	if (ma)
		mirror_close(ma);
	pgtest_close(&loop, (PgConn *[]){ ca, cb, adm }, 3);
	return unit_done();
}
