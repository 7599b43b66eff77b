/* Tests of a cluster node's store (src/cluster/cluster.c, the store's
 * observer in store_sqlite.c) against a real server: a private PostgreSQL
 * 15 (pgtest.h). Node a changes things through store.h, as jobd does; node b
 * starts afterwards and fills its cache from the database; both caches are
 * then read through store.h and must say the same. Later changes on a
 * reach b through the feed. */
#include "cluster/cluster.h"
#include "store/schema.h"
#include "pgtest.h"
#include "scratch.h"
#include "unit.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uv_loop_t loop;
static PgConn *adm;

typedef struct Node {
	const char *name;
	Store *st;
	Cluster *cl;
	int heard;                  /* jobs the feed brought */
	int64_t last;
} Node;

static Node a = { .name = "a" }, b = { .name = "b" };

static void on_job(void *arg, int64_t id, const StoreJob *j)
{
	Node *nd = arg;
	(void)j;
	nd->heard++;
	nd->last = id;
}

static void node_open(Node *nd)
{
	char why[512];
	int rc = store_open(scratch_path(), STORE_SYNC_NORMAL, &nd->st, NULL, why, sizeof why);
	CHECKF(rc == 0, "store_open: %s", why);
	ClusterOpts o = { .conninfo = pgtest_conninfo, .node = nd->name, .cache = nd->st,
	                  .job = on_job, .arg = nd };
	rc = cluster_open(&loop, &o, 20000, &nd->cl, why, sizeof why);
	CHECKF(rc == 0, "cluster_open %s: %s", nd->name, why);
	if (rc == 0)
		cluster_observe(nd->cl, nd->st);
}

typedef struct Done {
	int called, rc;
	char why[256];
} Done;

static void on_done(void *arg, int rc, const char *why)
{
	Done *d = arg;
	d->called = 1;
	d->rc = rc;
	snprintf(d->why, sizeof d->why, "%s", why);
}

/* store_commit, and its done waited for (the database's commit). */
static void commit(Node *nd)
{
	Done d = { 0 };
	store_commit(nd->st, on_done, &d);
	CHECKF(pgtest_wait_flag(&loop, &d.called, 10000), "no commit on %s", nd->name);
	CHECKF(d.rc == 0, "commit on %s: %s", nd->name, d.why);
}

/* ---- reading a cache ---- */

typedef struct Jobs {
	int n;
	char text[4096];            /* every job's fields, one line each */
} Jobs;

static int job_line(void *arg, const StoreJob *j)
{
	Jobs *v = arg;
	size_t len = strlen(v->text);
	snprintf(v->text + len, sizeof v->text - len,
	         "%" PRId64 " %s %s [%s] %d %" PRId64 " %" PRId64 " %d %d [%s] [%s] %" PRId64
	         " %" PRId64 " %d %" PRId64 " [%s] %d\n",
	         j->id, j->name, j->schedule, j->cmd, j->started, j->created_ns, j->timeout_ms,
	         j->overlap, j->misfire, j->dir, j->env, j->runs_total, j->failures_total,
	         j->last_status, j->owner_uid, j->limits, j->orphan);
	v->n++;
	return 0;
}

static Jobs jobs_of(Node *nd)
{
	Jobs v = { 0 };
	char why[256];
	CHECK(store_jobs_load(nd->st, job_line, &v, why, sizeof why) == 0);
	return v;
}

static int run_line(void *arg, const StoreRun *r)
{
	char *t = arg;
	size_t len = strlen(t);
	snprintf(t + len, 4096 - len, "%" PRId64 " %" PRId64 " %d %" PRId64 " %" PRId64 " %d %d %s %"
	         PRId64 " %d %d %" PRId64 "\n", r->id, r->sched, r->state, r->start_ns, r->end_ns,
	         r->pid, r->status, r->proc, r->seq, r->manual, r->flags, r->out_bytes);
	return 0;
}

static void runs_of(Node *nd, int64_t job, char *out)
{
	char why[256];
	out[0] = '\0';
	CHECK(store_runs_read(nd->st, job, run_line, out, why, sizeof why) == 0);
}

/* The job's log (run 0) or a run's output, whole, as "first:text". */
static void text_of(Node *nd, int64_t job, int64_t run, char *out, size_t cap)
{
	char why[256];
	int64_t first = 0, end = 0;
	out[0] = '\0';
	if (store_text_extent(nd->st, job, run, &first, &end, why, sizeof why) < 0) {
		snprintf(out, cap, "error: %s", why);
		return;
	}
	int k = snprintf(out, cap, "%" PRId64 ":", first);
	size_t at = (size_t)k, got = 0;
	while (first < end && at + 1 < cap) {
		if (store_text_read(nd->st, job, run, first, out + at, cap - at - 1, &got, why,
		                    sizeof why) < 0 || got == 0)
			break;
		first += (int64_t)got;
		at += got;
	}
	out[at] = '\0';
}

/* ---- the tests ---- */

static int64_t jid, rid;

static void test_setup(void)
{
	PgConnOpts o = { 0 };
	adm = pgconn_new(&loop, pgtest_conninfo, &o);
	/* The first node makes the schema from nothing. */
	node_open(&a);
	CHECK(pgtest_num(&loop, adm, "SELECT version FROM jobd_schema") == SCHEMA_VERSION);
	CHECK(pgtest_num(&loop, adm, "SELECT epoch FROM nodes WHERE name = 'a'") == 1);
}

static void test_writes(void)
{
	char why[256];
	StoreJob j = { .name = "backup", .schedule = "0 3 * * *", .cmd = "tar c /etc", .dir = "",
	               .env = "", .limits = "", .owner_uid = 1000, .created_ns = 123 };
	CHECKF(store_job_create(a.st, &j, why, sizeof why) == 0, "%s", why);
	jid = j.id;
	CHECK(jid >> MIRROR_BLOCK_BITS > 0);        /* the cluster's id, not SQLite's rowid */
	j.timeout_ms = 60000;
	j.dir = "/var";
	j.env = "A=1\n";
	j.orphan = 1;
	CHECKF(store_job_save(a.st, &j, why, sizeof why) == 0, "%s", why);
	CHECKF(store_job_set_started(a.st, jid, 1, why, sizeof why) == 0, "%s", why);
	/* A claim the database gave (its number 1), started, output, ended. */
	rid = mirror_id(cluster_mirror(a.cl));
	CHECKF(store_fire_put(a.st, jid, 1000, rid, 1, why, sizeof why) == 0, "%s", why);
	int64_t r2, s2;
	CHECK(store_fire_claim(a.st, jid, 1001, &r2, &s2, why, sizeof why) == -ENOTSUP);
	CHECKF(store_run_start(a.st, rid, 5000, 4242, "tok", why, sizeof why) == 0, "%s", why);
	CHECK(store_text_append(a.st, jid, 0, "t1:run 1 started\n", 17, why, sizeof why) == 0);
	CHECK(store_text_append(a.st, jid, rid, "t2:hello\n", 9, why, sizeof why) == 0);
	CHECK(store_text_append(a.st, jid, rid, "t3:world\n", 9, why, sizeof why) == 0);
	StoreRunEnd e = { .run_id = rid, .state = RUN_DONE, .end_ns = 6000, .status = 2 };
	CHECKF(store_run_end(a.st, &e, why, sizeof why) == 0, "%s", why);
	commit(&a);
	PgtestQ q = pgtest_sql(&loop, adm, "SELECT runs_total, failures_total, out_bytes FROM jobs, runs WHERE runs.job_id = jobs.id");
	CHECKF(strcmp(q.val[0], "1") == 0 && strcmp(q.val[1], "1") == 0 && strcmp(q.val[2], "18") == 0,
	       "database: %s %s %s", q.val[0], q.val[1], q.val[2]);
	CHECK(pgtest_num(&loop, adm, "SELECT log_end FROM jobs") == 35);
}

static int heard_past(const void *arg)
{
	const int *want = arg;
	return a.heard >= *want;
}

static void test_own_text_back(void)
{
	/* a's own text came back into a's cache through the feed, with the
	 * database's positions. */
	char t[4096];
	for (int tries = 0; tries < 200; tries++) {
		text_of(&a, jid, 0, t, sizeof t);
		if (strlen(t) > 2)
			break;
		int one = a.heard + 1;
		pgtest_wait(&loop, heard_past, &one, 50);
	}
	CHECKF(strcmp(t, "0:t1:run 1 started\nt2:hello\nt3:world\n") == 0, "a's log: %s", t);
	text_of(&a, jid, rid, t, sizeof t);
	CHECKF(strcmp(t, "0:t2:hello\nt3:world\n") == 0, "a's output: %s", t);
}

static void test_second_node(void)
{
	node_open(&b);
	Jobs ja = jobs_of(&a), jb = jobs_of(&b);
	CHECK(ja.n == 1);
	CHECKF(strcmp(ja.text, jb.text) == 0, "a: %s\nb: %s", ja.text, jb.text);
	char ra[4096], rb[4096];
	runs_of(&a, jid, ra);
	runs_of(&b, jid, rb);
	CHECKF(strcmp(ra, rb) == 0 && *ra, "a: %s\nb: %s", ra, rb);
	char ta[4096], tb[4096];
	text_of(&a, jid, 0, ta, sizeof ta);
	text_of(&b, jid, 0, tb, sizeof tb);
	CHECKF(strcmp(ta, tb) == 0, "a: %s\nb: %s", ta, tb);
	text_of(&a, jid, rid, ta, sizeof ta);
	text_of(&b, jid, rid, tb, sizeof tb);
	CHECKF(strcmp(ta, tb) == 0, "a: %s\nb: %s", ta, tb);
}

static int b_heard(const void *arg)
{
	const int *want = arg;
	return b.heard >= *want;
}

static int a_has_none(const void *arg)
{
	(void)arg;
	return jobs_of(&a).n == 0;
}

static void test_edit_reaches_b(void)
{
	char why[256];
	int want = b.heard + 1;
	StoreJob j = { .id = jid, .name = "backup", .schedule = "0 4 * * *", .cmd = "tar c /srv",
	               .dir = "/var", .env = "A=1\n", .limits = "", .orphan = 1 };
	CHECK(store_job_save(a.st, &j, why, sizeof why) == 0);
	uv_update_time(&loop);
	uint64_t t0 = uv_now(&loop);
	commit(&a);
	CHECKF(pgtest_wait(&loop, b_heard, &want, 5000), "b did not hear of it");
	uv_update_time(&loop);
	uint64_t ms = uv_now(&loop) - t0;
	CHECKF(ms < 100, "b heard after %" PRIu64 " ms", ms);
	CHECK(b.last == jid);
	Jobs jb = jobs_of(&b);
	CHECKF(strstr(jb.text, "0 4 * * * [tar c /srv]") != NULL, "b: %s", jb.text);
	/* Deleted on b: gone from a. */
	CHECK(store_job_delete(b.st, jid, why, sizeof why) == 0);
	commit(&b);
	CHECK(pgtest_wait(&loop, a_has_none, NULL, 5000));
	CHECK(pgtest_num(&loop, adm, "SELECT count(*) FROM runs") == 0);
}

static void test_unreachable(void)
{
	/* With the database stopped, a change is refused at once, and says why;
	 * nothing is made here either. */
	uv_process_t p;
	int before = pgtest_script_exited;
	pgtest_script_async(&loop, &p, "stop", NULL);
	while (pgtest_script_exited == before)
		uv_run(&loop, UV_RUN_ONCE);
	char why[256] = "";
	int before_n = jobs_of(&a).n;
	StoreJob j = { .name = "late", .schedule = "* * * * *", .cmd = "true", .dir = "", .env = "",
	               .limits = "" };
	int rc = -1;
	for (int i = 0; i < 100 && rc != -EIO; i++) {
		rc = store_job_create(a.st, &j, why, sizeof why);
		if (rc == 0)
			break;
		int never = 0;
		pgtest_wait_flag(&loop, &never, 20);
	}
	CHECKF(rc == -EIO && strstr(why, "unreachable"), "%d %s", rc, why);
	CHECK(jobs_of(&a).n == before_n);
	before = pgtest_script_exited;
	pgtest_script_async(&loop, &p, "start", NULL);
	while (pgtest_script_exited == before)
		uv_run(&loop, UV_RUN_ONCE);
}

static int nclosed;

static void on_closed(void *arg)
{
	(void)arg;
	nclosed++;
}

int main(void)
{
	unit_prog = "t_cluster";
	pgtest_init();
	if (scratch_init("t_cluster") < 0)
		return 1;
	uv_loop_init(&loop);
	unit_run("server", pgtest_server);
	if (unit_failed_checks)
		return unit_done();
	unit_run("first-node-makes-the-schema", test_setup);
	if (unit_failed_checks)
		return unit_done();
	unit_run("writes-reach-the-database", test_writes);
	unit_run("own-text-comes-back", test_own_text_back);
	unit_run("second-node-reads-the-same", test_second_node);
	unit_run("edit-reaches-the-other-node", test_edit_reaches_b);
	unit_run("database-away-changes-refused", test_unreachable);
	int want = 1;
	if (a.cl) {
		cluster_close(a.cl, on_closed, NULL);
		want++;
	}
	if (b.cl) {
		cluster_close(b.cl, on_closed, NULL);
		want++;
	}
	pgconn_close(adm, on_closed, NULL);
	while (nclosed < want && uv_run(&loop, UV_RUN_ONCE))
		;
	store_close(a.st);
	store_close(b.st);
	uv_loop_close(&loop);
	scratch_rmtree(scratch_root());
	return unit_done();
}
