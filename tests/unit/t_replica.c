/* Tests of a node's cache kept up with the database (src/cluster/replica.c,
 * the cache's writes in store_sqlite.c) against a real server: a private
 * PostgreSQL 15 (pgtest.h). Node a writes through its mirror; node b's
 * cache, a SQLite store in a scratch directory, is filled by its replica
 * and read back through store.h, as jobd reads it. */
#include "cluster/mirror.h"
#include "cluster/replica.h"
#include "pgtest.h"
#include "scratch.h"
#include "unit.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uv_loop_t loop;
static PgConn *adm, *ca, *cb;
static Mirror *ma;
static Replica *rb;
static Store *cache;
static char *cache_dir;

#define num(...) pgtest_numf(&loop, adm, __VA_ARGS__)

static PgConn *conn(void)
{
	PgConnOpts o = { 0 };
	return pgconn_new(&loop, pgtest_conninfo, &o);
}

/* ---- node a: writes ---- */

typedef struct Done {
	int called, rc;
	char why[256];
} Done;

static void on_mirror(void *arg, int rc, const char *why, const MirrorResult *res)
{
	Done *d = arg;
	(void)res;
	d->called = 1;
	d->rc = rc;
	snprintf(d->why, sizeof d->why, "%s", why);
}

static void commit_a(void)
{
	Done d = { 0 };
	CHECK(mirror_commit(ma, on_mirror, &d) == 0);
	CHECK(pgtest_wait_flag(&loop, &d.called, 10000));
	CHECKF(d.rc == 0, "a's commit: %s", d.why);
}

static int has_ids(const void *arg)
{
	return mirror_id((Mirror *)arg) != 0;
}

static int64_t make_job(const char *name, const char *cmd)
{
	int64_t id = mirror_id(ma);
	StoreJob j = { .id = id, .name = name, .schedule = "*/5 * * * * *", .cmd = cmd,
	               .dir = "/tmp", .env = "K=v\n", .limits = "", .owner_uid = 7,
	               .timeout_ms = 1500, .overlap = 2, .orphan = 1, .created_ns = 11 };
	/* Made, then its settings saved, as jobd does (a create keeps no
	 * settings: store.h). */
	CHECK(mirror_job_create(ma, &j) == 0);
	CHECK(mirror_job_save(ma, &j) == 0);
	return id;
}

static void text_a(int64_t job, int64_t run, int64_t *roff, const char *line)
{
	size_t len = strlen(line);
	CHECK(mirror_text(ma, mirror_id(ma), job, run, roff ? *roff : 0, line, len) == 0);
	if (roff)
		*roff += (int64_t)len;
}

/* ---- node b: its cache ---- */

static int jobs_heard, gone_heard;
static int64_t last_heard;

static void on_job(void *arg, int64_t id, const StoreJob *j)
{
	(void)arg;
	last_heard = id;
	if (j)
		jobs_heard++;
	else
		gone_heard++;
}

/* The end of a cache commit, or of replica_all, into the Done at arg. */
static void on_cache(void *arg, int rc, const char *why)
{
	Done *d = arg;
	d->called = 1;
	d->rc = rc;
	snprintf(d->why, sizeof d->why, "%s", why);
}

/* The job this node "has changes of on their way" (ReplicaOpts.hold). */
static int64_t hold_id;

static int on_hold(void *arg, int64_t id, uint64_t since)
{
	(void)arg;
	(void)since;
	return id == hold_id;
}

static void commit_cache(void)
{
	/* SQLite's done comes before store_commit returns. */
	Done d = { 0 };
	store_commit(cache, on_cache, &d);
	CHECKF(d.called && d.rc == 0, "cache commit: %s", d.why);
}

static int no_pending(const void *arg)
{
	return replica_pending(arg) == 0;
}

/* replica_job for id, waited for, then the cache committed. */
static void sync_job(int64_t id)
{
	replica_job(rb, id);
	CHECKF(pgtest_wait(&loop, no_pending, rb, 10000), "job %" PRId64 " not read", id);
	commit_cache();
}

static void sync_all(void)
{
	Done a = { 0 };
	replica_all(rb, on_cache, &a);
	CHECK(pgtest_wait_flag(&loop, &a.called, 20000));
	CHECKF(a.rc == 0, "replica_all: %s", a.why);
	commit_cache();
}

/* The cache's text of the job's log (run 0) or a run's output, whole. */
static char *cache_text(int64_t job, int64_t run, int64_t *first)
{
	char why[256];
	int64_t f = 0, end = 0;
	int rc = store_text_extent(cache, job, run, &f, &end, why, sizeof why);
	CHECKF(rc == 0, "extent: %s", why);
	char *buf = calloc(1, (size_t)(end - f) + 1);
	size_t got = 0, at = 0;
	while (rc == 0 && f + (int64_t)at < end) {
		rc = store_text_read(cache, job, run, f + (int64_t)at, buf + at, (size_t)(end - f) - at,
		                     &got, why, sizeof why);
		CHECKF(rc == 0, "read: %s", why);
		if (got == 0)
			break;
		at += got;
	}
	CHECKF((int64_t)at == end - f, "read %zu of %" PRId64, at, end - f);
	if (first)
		*first = f;
	return buf;
}

typedef struct Found {
	int64_t id;
	int n;
	StoreJob j;
	char name[64], cmd[64], dir[64], env[64], schedule[64];
} Found;

static int find_job(void *arg, const StoreJob *j)
{
	Found *f = arg;
	if (j->id != f->id)
		return 0;
	f->n++;
	f->j = *j;
	snprintf(f->name, sizeof f->name, "%s", j->name);
	snprintf(f->cmd, sizeof f->cmd, "%s", j->cmd);
	snprintf(f->dir, sizeof f->dir, "%s", j->dir);
	snprintf(f->env, sizeof f->env, "%s", j->env);
	snprintf(f->schedule, sizeof f->schedule, "%s", j->schedule);
	return 0;
}

static Found cached_job(int64_t id)
{
	Found f = { .id = id };
	char why[256];
	CHECK(store_jobs_load(cache, find_job, &f, why, sizeof why) == 0);
	return f;
}

typedef struct Runs {
	int n;
	StoreRun r[16];
} Runs;

static int add_run(void *arg, const StoreRun *r)
{
	Runs *v = arg;
	if (v->n < 16)
		v->r[v->n] = *r;
	v->n++;
	return 0;
}

static Runs cached_runs(int64_t job)
{
	Runs v = { 0 };
	char why[256];
	CHECK(store_runs_read(cache, job, add_run, &v, why, sizeof why) == 0);
	return v;
}

/* ---- the tests ---- */

static int64_t j1, j2, run1, run2;

static void test_setup(void)
{
	adm = conn();
	pgtest_schema(&loop, adm);
	ca = conn();
	cb = conn();
	ma = mirror_new(ca, "node-a");
	CHECK(pgtest_wait(&loop, has_ids, ma, 10000));
	char why[256];
	cache_dir = scratch_path();
	int rc = store_open(cache_dir, STORE_SYNC_NORMAL, &cache, NULL, why, sizeof why);
	CHECKF(rc == 0, "store_open: %s", why);
	ReplicaOpts o = { .job = on_job, .hold = on_hold };
	rb = replica_new(cb, cache, &o);
}

static void test_load(void)
{
	/* What a starting node finds: a job with a run, its output and lines of
	 * its own, and another job. */
	j1 = make_job("one", "echo 'x\\y' \"z\"");
	j2 = make_job("two", "true");
	run1 = mirror_id(ma);
	StoreRun r = { .id = run1, .job_id = j1, .sched = 1000, .state = RUN_RUNNING, .seq = 1,
	               .start_ns = 5, .pid = 99 };
	snprintf(r.proc, sizeof r.proc, "tok");
	CHECK(mirror_run_put(ma, &r) == 0);
	int64_t roff = 0;
	text_a(j1, 0, NULL, "100:run 1 started\n");
	text_a(j1, run1, &roff, "101:hello\n");
	text_a(j1, run1, &roff, "102:world\n");
	commit_a();
	sync_all();
	CHECK(jobs_heard == 2);
	Found f = cached_job(j1);
	CHECK(f.n == 1);
	CHECK(strcmp(f.name, "one") == 0 && strcmp(f.cmd, "echo 'x\\y' \"z\"") == 0);
	CHECK(strcmp(f.dir, "/tmp") == 0 && strcmp(f.env, "K=v\n") == 0);
	CHECK(f.j.timeout_ms == 1500 && f.j.overlap == 2 && f.j.orphan == 1 && f.j.owner_uid == 7);
	char *log = cache_text(j1, 0, NULL);
	CHECKF(strcmp(log, "100:run 1 started\n101:hello\n102:world\n") == 0, "log: %s", log);
	free(log);
	char *out = cache_text(j1, run1, NULL);
	CHECKF(strcmp(out, "101:hello\n102:world\n") == 0, "output: %s", out);
	free(out);
	Runs v = cached_runs(j1);
	CHECK(v.n == 1 && v.r[0].id == run1 && v.r[0].pid == 99 &&
	      strcmp(v.r[0].proc, "tok") == 0 && v.r[0].state == RUN_RUNNING);
	CHECK(v.r[0].out_bytes == 20);
	CHECK(cached_job(j2).n == 1);
}

static void test_increment(void)
{
	/* More text and the run's end: only what is new is read. */
	int64_t roff = 20;
	text_a(j1, run1, &roff, "103:again\n");
	StoreRun r = { .id = run1, .job_id = j1, .sched = 1000, .state = RUN_DONE, .seq = 1,
	               .start_ns = 5, .end_ns = 9, .pid = 99, .status = 0, .out_bytes = roff };
	CHECK(mirror_run_put(ma, &r) == 0);
	text_a(j1, 0, NULL, "104:run 1 ended\n");
	commit_a();
	sync_job(j1);
	char *log = cache_text(j1, 0, NULL);
	CHECKF(strcmp(log, "100:run 1 started\n101:hello\n102:world\n103:again\n104:run 1 ended\n") == 0,
	       "log: %s", log);
	free(log);
	Runs v = cached_runs(j1);
	CHECK(v.n == 1 && v.r[0].state == RUN_DONE && v.r[0].end_ns == 9);
	CHECK(cached_job(j1).j.runs_total == 1);
	/* Read again with nothing new: the same, nothing twice. */
	sync_job(j1);
	log = cache_text(j1, 0, NULL);
	CHECK(strcmp(log, "100:run 1 started\n101:hello\n102:world\n103:again\n104:run 1 ended\n") == 0);
	free(log);
}

static void test_no_step_back(void)
{
	/* A run this node has started, in its cache; the database's answer
	 * still says claimed (the start's batch not committed yet): the cache
	 * keeps what it has. */
	char why[256];
	int64_t rid = run2 = mirror_id(ma);
	StoreRun r = { .id = rid, .job_id = j1, .sched = 2000, .state = RUN_CLAIMED, .seq = 2 };
	CHECK(mirror_run_put(ma, &r) == 0);
	commit_a();
	sync_job(j1);
	CHECKF(store_run_start(cache, rid, 77, 5, "tok2", why, sizeof why) == 0, "%s", why);
	commit_cache();
	sync_job(j1);
	StoreRun got;
	CHECKF(store_run_get(cache, j1, 2, &got, why, sizeof why) == 0, "%s", why);
	CHECKF(got.state == RUN_RUNNING && got.start_ns == 77 && got.pid == 5 &&
	       strcmp(got.proc, "tok2") == 0, "state %d start %lld pid %d", got.state,
	       (long long)got.start_ns, got.pid);
	/* And the database's newer word is taken: ended. */
	r.state = RUN_DONE;
	r.start_ns = 77;
	r.end_ns = 99;
	r.pid = 5;
	CHECK(mirror_run_put(ma, &r) == 0);
	commit_a();
	sync_job(j1);
	CHECK(store_run_get(cache, j1, 2, &got, why, sizeof why) == 0);
	CHECK(got.state == RUN_DONE && got.end_ns == 99 && got.start_ns == 77);
}

static void test_hold(void)
{
	/* While this node's own change of a job is on its way, the database's
	 * row of it (older) is not taken; the runs and text are. */
	StoreJob j = { .id = j1, .name = "one", .schedule = "0 0 * * * * *", .cmd = "true",
	               .dir = "", .env = "", .limits = "" };
	CHECK(mirror_job_save(ma, &j) == 0);
	text_a(j1, 0, NULL, "300:held\n");
	commit_a();
	hold_id = j1;
	sync_job(j1);
	Found f = cached_job(j1);
	CHECKF(strcmp(f.schedule, "*/5 * * * * *") == 0, "held: %s", f.schedule);
	char *log = cache_text(j1, 0, NULL);
	CHECK(strstr(log, "300:held") != NULL);
	free(log);
	/* Nor is a job the database lacks dropped: made here, not sent yet. */
	int gone0 = gone_heard;
	StoreJob local = { .name = "local", .schedule = "* * * * *", .cmd = "true", .dir = "",
	                   .env = "", .limits = "" };
	char why[256];
	CHECK(store_job_create(cache, &local, why, sizeof why) == 0);
	commit_cache();
	hold_id = local.id;
	sync_all();
	CHECK(cached_job(local.id).n == 1 && gone_heard == gone0);
	hold_id = 0;
	sync_all();
	CHECK(cached_job(local.id).n == 0);
	sync_job(j1);
	f = cached_job(j1);
	CHECKF(strcmp(f.schedule, "0 0 * * * * *") == 0, "after: %s", f.schedule);
}

static void test_paging(void)
{
	/* More chunks than one read takes. */
	int want = REPLICA_CHUNKS * 2 + 5;
	for (int i = 0; i < want; i++) {
		char line[32];
		snprintf(line, sizeof line, "%d:line\n", 200 + i);
		text_a(j2, 0, NULL, line);
	}
	commit_a();
	sync_job(j2);
	char *log = cache_text(j2, 0, NULL);
	int lines = 0;
	for (char *p = log; *p; p++)
		lines += *p == '\n';
	CHECKF(lines == want, "%d lines of %d", lines, want);
	CHECK(strncmp(log, "200:line\n", 9) == 0);
	free(log);
}

static void test_retention(void)
{
	/* Retention on the database (by another node): the cache's runs and the
	 * log's head go too; what is kept reads the same. */
	int64_t cut = num("SELECT min(off + len) FROM chunks WHERE job_id = %" PRId64, j1);
	int64_t ids[2] = { run1, run2 };
	CHECK(mirror_retain(ma, j1, ids, 2, cut, 0) == 0);
	commit_a();
	sync_job(j1);
	CHECK(cached_runs(j1).n == 0);
	int64_t first;
	char *log = cache_text(j1, 0, &first);
	CHECK(first == cut);
	CHECKF(strncmp(log, "101:hello\n", 10) == 0, "log: %s", log);
	free(log);
}

static void test_rerun_kept(void)
{
	/* An instant run again (orphan=rerun): the database has its lost run
	 * and the run made again, one instant. The cache keeps the one made
	 * again, whichever id is the larger (ids come in blocks per node). */
	int64_t job = make_job("rerun", "true");
	commit_a();
	for (int order = 0; order < 2; order++) {
		int64_t lost = mirror_id(ma), again = mirror_id(ma), sched = 500 + order;
		if (order)
			again = lost - 1000000;     /* the rerun's node has the lower block */
		StoreRun l = { .id = lost, .job_id = job, .sched = sched, .state = RUN_LOST,
		               .seq = 1 + 2 * order };
		StoreRun a = { .id = again, .job_id = job, .sched = sched, .state = RUN_RUNNING,
		               .seq = 2 + 2 * order, .start_ns = 9, .pid = 5 };
		CHECK(mirror_run_put(ma, &l) == 0);
		CHECK(mirror_run_put(ma, &a) == 0);
		commit_a();
		sync_job(job);
		Runs v = cached_runs(job);
		int found = 0, lost_here = 0;
		for (int i = 0; i < v.n && i < 16; i++) {
			found += v.r[i].id == again && v.r[i].state == RUN_RUNNING;
			lost_here += v.r[i].id == lost;
		}
		CHECKF(found == 1 && lost_here == 0, "order %d: the run made again %s, the lost one %s",
		       order, found ? "kept" : "gone", lost_here ? "kept" : "gone");
	}
}

static void test_delete_and_name(void)
{
	/* "two" deleted and made again (another id) while b was not told: a
	 * full read puts the new one in, the old one's rows go. */
	int n0 = gone_heard;
	CHECK(mirror_job_delete(ma, j2) == 0);
	int64_t j2b = make_job("two", "false");
	commit_a();
	sync_all();
	CHECK(cached_job(j2).n == 0);
	Found f = cached_job(j2b);
	CHECK(f.n == 1 && strcmp(f.cmd, "false") == 0);
	char *log = cache_text(j2b, 0, NULL);
	CHECK(*log == '\0');
	free(log);
	CHECK(gone_heard == n0 + 1);
	/* And deleted: read by id, it goes. */
	CHECK(mirror_job_delete(ma, j2b) == 0);
	commit_a();
	sync_job(j2b);
	CHECK(cached_job(j2b).n == 0);
	CHECK(last_heard == j2b && gone_heard == n0 + 2);
}

int main(void)
{
	if (scratch_init("t_replica") < 0)
		return 1;
	if (!pgtest_start(&loop, "t_replica", "setup", test_setup))
		return unit_done();
	unit_run("load-everything", test_load);
	unit_run("increment-reads-only-what-is-new", test_increment);
	unit_run("no-step-back", test_no_step_back);
	unit_run("held-while-changing-here", test_hold);
	unit_run("text-in-pages", test_paging);
	unit_run("retention-follows", test_retention);
	unit_run("delete-and-name-moved", test_delete_and_name);
	unit_run("instant-run-again-keeps-its-run", test_rerun_kept);
	replica_close(rb);
	mirror_close(ma);
	store_close(cache);
	pgtest_close(&loop, (PgConn *[]){ ca, cb, adm }, 3);
	scratch_rmtree(scratch_root());
	return unit_done();
}
