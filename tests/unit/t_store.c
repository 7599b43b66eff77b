/* Tests of the jobs store (src/store) against real files in temporary
 * directories under /tmp, all removed at the end. */
#include "store/store.h"
#include "scratch.h"
#include "unit.h"

#include <dirent.h>
#include <sqlite3.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char why[512];

static Store *open_ok(const char *dir, int *interrupted)
{
	Store *s = NULL;
	why[0] = '\0';
	int r = store_open(dir, STORE_SYNC_NORMAL, &s, interrupted, why, sizeof why);
	CHECKF(r == 0 && s != NULL, "store_open %s: %d %s", dir, r, why);
	return s;
}

static int64_t mkjob(Store *s, const char *name, const char *sched, const char *cmd)
{
	StoreJob j = { .name = name, .schedule = sched, .cmd = cmd, .created_ns = 123 };
	int r = store_job_create(s, &j, why, sizeof why);
	CHECKF(r == 0 && j.id > 0, "create %s: %d %s", name, r, why);
	return j.id;
}

/* ---- collecting what the store hands out ---- */

enum { MAXJ = 16 };
typedef struct Jobs {
	int n;
	StoreJob j[MAXJ];
	char name[MAXJ][64], sched[MAXJ][64], cmd[MAXJ][128], limits[MAXJ][64];
} Jobs;

static int collect_job(void *arg, const StoreJob *j)
{
	Jobs *js = arg;
	if (js->n >= MAXJ)
		return -1;
	int i = js->n++;
	js->j[i] = *j;
	snprintf(js->name[i], sizeof js->name[i], "%s", j->name);
	snprintf(js->sched[i], sizeof js->sched[i], "%s", j->schedule);
	snprintf(js->cmd[i], sizeof js->cmd[i], "%s", j->cmd);
	snprintf(js->limits[i], sizeof js->limits[i], "%s", j->limits ? j->limits : "(null)");
	/* Copies are returned by value: the strings are in name, sched, cmd, limits. */
	js->j[i].name = js->j[i].schedule = js->j[i].cmd = js->j[i].limits = NULL;
	js->j[i].dir = js->j[i].env = NULL;
	return 0;
}

static Jobs load(Store *s)
{
	Jobs js = { 0 };
	int r = store_jobs_load(s, collect_job, &js, why, sizeof why);
	CHECKF(r == 0, "load: %d %s", r, why);
	return js;
}

/* ---- batches ---- */

/* What store_commit reported. */
typedef struct Done {
	int calls, rc;
	char why[512];
} Done;

static void done_cb(void *arg, int rc, const char *w)
{
	Done *d = arg;
	d->calls++;
	d->rc = rc;
	snprintf(d->why, sizeof d->why, "%s", w);
}

/* Commits; done must be called exactly once, before store_commit returns. */
static Done commit(Store *s)
{
	Done d = { 0 };
	store_commit(s, done_cb, &d);
	CHECKF(d.calls == 1, "done called %d times", d.calls);
	return d;
}

static void commit_ok(Store *s)
{
	Done d = commit(s);
	CHECKF(d.rc == 0 && d.why[0] == '\0', "commit: %d %s", d.rc, d.why);
	CHECK(store_pending(s) == 0);
}

/* ---- text ---- */

/* A growing byte buffer: what the store should hand back. */
typedef struct Buf {
	char *p;
	size_t n, cap;
} Buf;

static void buf_add(Buf *b, const char *p, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void buf_free(Buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

static void append_ok(Store *s, int64_t job, int64_t run, const char *text, size_t len)
{
	int r = store_text_append(s, job, run, text, len, why, sizeof why);
	CHECKF(r == 0, "append %zu bytes to job %lld run %lld: %d %s", len, (long long)job,
	       (long long)run, r, why);
}

/* Appends text to the job's log (run 0) or to a run's output, and to the
 * expected log and output. */
static void add_text(Store *s, int64_t job, int64_t run, const char *text, size_t len,
                     Buf *log, Buf *out)
{
	append_ok(s, job, run, text, len);
	buf_add(log, text, len);
	if (out != NULL)
		buf_add(out, text, len);
}

static void extent(Store *s, int64_t job, int64_t run, int64_t *first, int64_t *end)
{
	int r = store_text_extent(s, job, run, first, end, why, sizeof why);
	CHECKF(r == 0, "extent of job %lld run %lld: %d %s", (long long)job, (long long)run, r, why);
}

/* What is kept of the job's log (run 0) or of a run's output, read through
 * store_text_extent and store_text_read 7 bytes at a time (pages that end
 * inside chunks and span them), and a read at the end (0 bytes). *first:
 * where it starts. Malloc'ed; *len bytes. */
static char *readtext(Store *s, int64_t job, int64_t run, int64_t *first, size_t *len)
{
	int64_t f = 0, e = 0;
	extent(s, job, run, &f, &e);
	CHECKF(0 <= f && f <= e, "extent [%lld, %lld)", (long long)f, (long long)e);
	if (e < f)
		e = f;
	if (first != NULL)
		*first = f;
	char *buf = malloc((size_t)(e - f) + 8);
	int64_t pos = f;
	while (pos < e) {
		size_t got = 99;
		int r = store_text_read(s, job, run, pos, buf + (pos - f), 7, &got, why, sizeof why);
		size_t want = e - pos < 7 ? (size_t)(e - pos) : 7;
		if (r != 0 || got != want) {
			CHECKF(0, "read at %lld of [%lld, %lld): %d, got %zu (want %zu) %s",
			       (long long)pos, (long long)f, (long long)e, r, got, want, why);
			break;
		}
		pos += (int64_t)got;
	}
	size_t got = 99;
	int r = store_text_read(s, job, run, e, buf + (pos - f), 7, &got, why, sizeof why);
	CHECKF(r == 0 && got == 0, "read at the end %lld: %d, got %zu %s", (long long)e, r, got, why);
	*len = (size_t)(pos - f);
	return buf;
}

/* The text kept equals want[want_first..] and starts at want_first. */
static int text_is(Store *s, int64_t job, int64_t run, const Buf *want, int64_t want_first)
{
	int64_t first;
	size_t len;
	char *got = readtext(s, job, run, &first, &len);
	int ok = first == want_first && want_first <= (int64_t)want->n &&
	         len == want->n - (size_t)want_first &&
	         (len == 0 || memcmp(got, want->p + want_first, len) == 0);
	CHECKF(ok, "job %lld run %lld: kept [%lld, +%zu), want [%lld, %zu)%s", (long long)job,
	       (long long)run, (long long)first, len, (long long)want_first, want->n,
	       first == want_first && len == want->n - (size_t)want_first ? ", bytes differ" : "");
	free(got);
	return ok;
}

/* Where the job's log ends now: where a run claimed now begins. */
static int64_t log_end(Store *s, int64_t job)
{
	int64_t f = 0, e = 0;
	extent(s, job, 0, &f, &e);
	return e;
}

enum { MAXR = 16 };
typedef struct Runs {
	int n;
	StoreRun r[MAXR];
} Runs;

static int collect_run(void *arg, const StoreRun *r)
{
	Runs *rs = arg;
	if (rs->n >= MAXR)
		return -1;
	rs->r[rs->n++] = *r;
	return 0;
}

static Runs runs(Store *s, int64_t job)
{
	Runs rs = { 0 };
	int r = store_runs_read(s, job, collect_run, &rs, why, sizeof why);
	CHECKF(r == 0, "runs_read: %d %s", r, why);
	return rs;
}

/* ---- files ---- */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	size_t k;
	while ((k = fread(buf + n, 1, cap - n, f)) > 0) {
		n += k;
		if (n == cap)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	*len = n;
	return buf;
}

/* The permission bits of path (not following a link), 0 if it is not there. */
static unsigned modeof(const char *path)
{
	struct stat sb;
	return lstat(path, &sb) == 0 ? (unsigned)(sb.st_mode & 07777) : 0;
}

static void spew(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	CHECK(fwrite(buf, 1, len, f) == len);
	fclose(f);
}

/* Overwrites 4 bytes at off with v, big-endian, as in the SQLite header. */
static void poke32(const char *path, long off, uint32_t v)
{
	unsigned char b[4] = { v >> 24, v >> 16, v >> 8, v };
	int fd = open(path, O_WRONLY);
	CHECK(fd >= 0);
	CHECK(pwrite(fd, b, 4, off) == 4);
	close(fd);
}


/* ---- tests ---- */

static const char oddcmd[] = "echo 'a:b' \"c\\d\" \x01\x7f\xff\xfe | tr : ; exit 3";

static void test_jobs_roundtrip(void)
{
	char *dir = scratch_path();
	Store *s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	CHECK(load(s).n == 0);
	int64_t a = mkjob(s, "alpha", "*/5 * * * *", oddcmd);
	int64_t b = mkjob(s, "beta:2", "@daily", "true");
	int64_t c = mkjob(s, "g\xc3\xa4mma", "0 0 1 1 *", "x");
	CHECK(a < b && b < c);
	CHECK(store_job_set_started(s, b, 1, why, sizeof why) == 0);
	store_close(s);

	s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	Jobs js = load(s);
	CHECKF(js.n == 3, "n=%d", js.n);
	if (js.n == 3) {
		CHECK(js.j[0].id == a && js.j[1].id == b && js.j[2].id == c);
		CHECK(strcmp(js.name[0], "alpha") == 0);
		CHECK(strcmp(js.cmd[0], oddcmd) == 0);
		CHECK(strcmp(js.sched[0], "*/5 * * * *") == 0);
		CHECK(strcmp(js.name[1], "beta:2") == 0);
		CHECK(strcmp(js.name[2], "g\xc3\xa4mma") == 0);
		CHECK(js.j[0].started == 0 && js.j[1].started == 1);
		CHECK(js.j[0].created_ns == 123 && js.j[0].last_sched == 0);
	}

	/* Edit: the schedule, the command, the settings and the history are
	 * written whole; name, started and created stay. */
	StoreJob ea = { .id = a, .name = "ignored", .schedule = "1 2 3 4 5", .cmd = oddcmd,
	                .timeout_ms = 5000, .overlap = 2, .misfire = 1, .dir = "/srv",
	                .env = "A=1\nB=2\n", .runs_total = 7, .failures_total = 3,
	                .last_start_ns = 11, .last_end_ns = 12, .last_status = -15,
	                .limits = "nofile=9", .orphan = 1 };
	StoreJob ec = { .id = c, .schedule = "0 0 1 1 *", .cmd = "new:cmd" };
	CHECK(store_job_save(s, &ea, why, sizeof why) == 0);
	CHECK(store_job_save(s, &ec, why, sizeof why) == 0);
	ec.id = 999;
	CHECK(store_job_save(s, &ec, why, sizeof why) == -ENOENT);
	CHECK(store_job_set_started(s, 999, 1, why, sizeof why) == -ENOENT);
	store_close(s);
	s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	js = load(s);
	if (js.n == 3) {
		CHECK(strcmp(js.sched[0], "1 2 3 4 5") == 0);
		CHECK(strcmp(js.cmd[0], oddcmd) == 0);
		CHECK(strcmp(js.sched[2], "0 0 1 1 *") == 0);
		CHECK(strcmp(js.cmd[2], "new:cmd") == 0);
		CHECK(strcmp(js.name[0], "alpha") == 0 && js.j[1].started == 1 &&
		      js.j[0].created_ns == 123);
		CHECK(js.j[0].timeout_ms == 5000 && js.j[0].overlap == 2 && js.j[0].misfire == 1 &&
		      js.j[0].runs_total == 7 && js.j[0].failures_total == 3 &&
		      js.j[0].last_start_ns == 11 && js.j[0].last_end_ns == 12 &&
		      js.j[0].last_status == -15 && strcmp(js.limits[0], "nofile=9") == 0);
		CHECK(js.j[0].orphan == 1 && js.j[2].orphan == 0);
		CHECK(js.j[2].timeout_ms == 0 && strcmp(js.limits[2], "") == 0);
	}
	StoreJob bad = { .name = "nocmd", .schedule = "x" };
	CHECK(store_job_create(s, &bad, why, sizeof why) == -EINVAL);
	store_close(s);
}

/* More jobs than one page of the loader, and an early stop. */
static int stop_at_3(void *arg, const StoreJob *j)
{
	(void)j;
	return ++*(int *)arg == 3 ? 42 : 0;
}

static int count_job(void *arg, const StoreJob *j)
{
	int *seen = arg;
	CHECK(j->id > seen[1]);
	seen[1] = (int)j->id;
	seen[0]++;
	return 0;
}

static void test_jobs_many(void)
{
	Store *s = open_ok(scratch_path(), NULL);
	if (s == NULL)
		return;
	char name[32];
	for (int i = 0; i < 150; i++) {
		snprintf(name, sizeof name, "job%d", i);
		mkjob(s, name, "* * * * *", "true");
	}
	int seen[2] = { 0, 0 };
	CHECK(store_jobs_load(s, count_job, seen, why, sizeof why) == 0);
	CHECKF(seen[0] == 150, "seen %d", seen[0]);
	int k = 0;
	CHECK(store_jobs_load(s, stop_at_3, &k, why, sizeof why) == 42);
	CHECK(k == 3);
	store_close(s);
}

static void test_dup_name(void)
{
	Store *s = open_ok(scratch_path(), NULL);
	if (s == NULL)
		return;
	mkjob(s, "same", "@hourly", "a");
	StoreJob j = { .name = "same", .schedule = "@daily", .cmd = "b" };
	why[0] = '\0';
	int r = store_job_create(s, &j, why, sizeof why);
	CHECKF(r == -EEXIST, "r=%d", r);
	CHECKF(strstr(why, "same") != NULL, "why: %s", why);
	/* Still usable afterwards. */
	mkjob(s, "other", "@daily", "b");
	CHECK(load(s).n == 2);
	store_close(s);
}

static void test_ids_not_reused(void)
{
	char *dir = scratch_path();
	Store *s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	int64_t a = mkjob(s, "a", "@daily", "a");
	int64_t b = mkjob(s, "b", "@daily", "b");
	CHECK(store_job_delete(s, b, why, sizeof why) == 0);
	int64_t c = mkjob(s, "c", "@daily", "c");
	CHECKF(c > b, "c=%lld b=%lld", (long long)c, (long long)b);
	CHECK(store_job_delete(s, c, why, sizeof why) == 0);
	store_close(s);
	s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	int64_t d = mkjob(s, "b", "@daily", "b again");
	CHECKF(d > c, "d=%lld c=%lld", (long long)d, (long long)c);
	Jobs js = load(s);
	CHECK(js.n == 2 && js.j[0].id == a && js.j[1].id == d);
	store_close(s);
}

static void test_started_persists(void)
{
	char *dir = scratch_path();
	Store *s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	int64_t a = mkjob(s, "a", "@daily", "a");
	CHECK(store_job_set_started(s, a, 1, why, sizeof why) == 0);
	store_close(s);
	s = open_ok(dir, NULL);
	Jobs js = load(s);
	CHECK(js.n == 1 && js.j[0].started == 1);
	CHECK(store_job_set_started(s, a, 0, why, sizeof why) == 0);
	store_close(s);
	s = open_ok(dir, NULL);
	js = load(s);
	CHECK(js.n == 1 && js.j[0].started == 0);

	/* With its log line, in one batch. */
	CHECK(store_job_set_started(s, a, 1, why, sizeof why) == 0);
	append_ok(s, a, 0, "42:started\n", 11);
	CHECK(store_job_set_started(s, 999, 1, why, sizeof why) == -ENOENT);
	commit_ok(s);
	store_close(s);
	s = open_ok(dir, NULL);
	js = load(s);
	CHECK(js.n == 1 && js.j[0].started == 1);
	Buf want = { 0 };
	buf_add(&want, "42:started\n", 11);
	text_is(s, a, 0, &want, 0);
	buf_free(&want);
	store_close(s);
}

static void test_fire_claim(void)
{
	char *dir = scratch_path();
	Store *s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	int64_t a = mkjob(s, "a", "* * * * *", "a");
	int64_t b = mkjob(s, "b", "* * * * *", "b");
	int64_t r1 = 0, r2 = 0, r3 = 0;
	CHECK(store_fire_claim(s, a, 1700000060, &r1, NULL, why, sizeof why) == 0 && r1 > 0);
	int r = store_fire_claim(s, a, 1700000060, &r2, NULL, why, sizeof why);
	CHECKF(r == -EALREADY, "repeat claim: %d %s", r, why);
	CHECK(r2 == 0);
	/* The same time on another job is another fire. */
	CHECK(store_fire_claim(s, b, 1700000060, &r2, NULL, why, sizeof why) == 0 && r2 > r1);
	/* An older fire not claimed before is fine, and does not move last_sched back. */
	CHECK(store_fire_claim(s, a, 1700000000, &r3, NULL, why, sizeof why) == 0);
	/* Manual runs (sched 0) never collide. */
	int64_t m1 = 0, m2 = 0;
	CHECK(store_fire_claim(s, a, 0, &m1, NULL, why, sizeof why) == 0);
	CHECK(store_fire_claim(s, a, 0, &m2, NULL, why, sizeof why) == 0 && m2 > m1);
	CHECK(store_fire_claim(s, 999, 1700000060, &r3, NULL, why, sizeof why) == -ENOENT);
	CHECK(store_fire_claim(s, a, -5, &r3, NULL, why, sizeof why) == -EINVAL);
	Jobs js = load(s);
	CHECK(js.n == 2 && js.j[0].last_sched == 1700000060 && js.j[1].last_sched == 1700000060);
	Runs rs = runs(s, a);
	CHECKF(rs.n == 4, "runs %d", rs.n);
	if (rs.n == 4) {
		CHECK(rs.r[0].id == r1 && rs.r[0].sched == 1700000060);
		CHECK(rs.r[0].state == RUN_CLAIMED && rs.r[0].job_id == a);
		CHECK(rs.r[2].id == m1 && rs.r[2].sched == 0);
	}
	store_close(s);

	/* Still exactly once after a restart. */
	s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	CHECK(store_fire_claim(s, a, 1700000060, NULL, NULL, why, sizeof why) == -EALREADY);
	CHECK(store_fire_claim(s, a, 1700000120, NULL, NULL, why, sizeof why) == 0);
	js = load(s);
	CHECK(js.n == 2 && js.j[0].last_sched == 1700000120);
	store_close(s);
}

static void test_run_lifecycle(void)
{
	char *dir = scratch_path();
	Store *s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	int64_t a = mkjob(s, "a", "* * * * *", "a");
	int64_t r1, r2, r3, r4;
	CHECK(store_fire_claim(s, a, 60, &r1, NULL, why, sizeof why) == 0);
	CHECK(store_fire_claim(s, a, 120, &r2, NULL, why, sizeof why) == 0);
	CHECK(store_fire_claim(s, a, 180, &r3, NULL, why, sizeof why) == 0);
	CHECK(store_fire_claim(s, a, 240, &r4, NULL, why, sizeof why) == 0);
	CHECK(store_run_start(s, r1, 1000, 4242, "boot/1", why, sizeof why) == 0);
	StoreRunEnd e1 = { .run_id = r1, .state = RUN_DONE, .end_ns = 2000, .status = -9,
	                   .flags = RUNF_KILLED | RUNF_TRUNCATED };
	CHECK(store_run_end(s, &e1, why, sizeof why) == 0);
	CHECK(store_run_start(s, r2, 3000, 4343, "boot/77", why, sizeof why) == 0);
	StoreRunEnd e4 = { .run_id = r4, .state = RUN_SKIPPED, .end_ns = 5000 };
	CHECK(store_run_end(s, &e4, why, sizeof why) == 0);
	StoreRunEnd e3 = { .run_id = r3, .state = RUN_RUNNING, .end_ns = 1 };
	CHECK(store_run_end(s, &e3, why, sizeof why) == -EINVAL);
	CHECK(store_run_start(s, 999, 1, 1, NULL, why, sizeof why) == -ENOENT);
	char longtok[STORE_PROC_MAX + 1];
	memset(longtok, 'x', STORE_PROC_MAX);
	longtok[STORE_PROC_MAX] = '\0';
	CHECK(store_run_start(s, r3, 1, 1, longtok, why, sizeof why) == -EINVAL);
	StoreRunEnd e9 = { .run_id = 999, .state = RUN_DONE, .end_ns = 1 };
	CHECK(store_run_end(s, &e9, why, sizeof why) == -ENOENT);
	Runs rs = runs(s, a);
	CHECK(rs.n == 4);
	if (rs.n == 4) {
		CHECK(rs.r[0].state == RUN_DONE && rs.r[0].start_ns == 1000 &&
		      rs.r[0].end_ns == 2000 && rs.r[0].pid == 4242 && rs.r[0].status == -9 &&
		      strcmp(rs.r[0].proc, "boot/1") == 0 &&
		      rs.r[0].flags == (RUNF_KILLED | RUNF_TRUNCATED) && rs.r[0].out_bytes == 0);
		CHECK(rs.r[1].state == RUN_RUNNING && rs.r[1].pid == 4343 && rs.r[1].end_ns == 0);
		CHECK(rs.r[2].state == RUN_CLAIMED && rs.r[2].proc[0] == '\0');
		CHECK(rs.r[3].state == RUN_SKIPPED);
	}
	store_close(s);

	/* A restart finds r2 (running) and r3 (claimed) orphaned. */
	int intr = -1;
	s = open_ok(dir, &intr);
	if (s == NULL)
		return;
	CHECKF(intr == 2, "interrupted %d", intr);
	/* ... and hands them out as they were, for the clean-up of their processes. */
	Runs left = { 0 };
	CHECK(store_runs_interrupted(s, collect_run, &left) == 0);
	CHECKF(left.n == 2, "left %d", left.n);
	if (left.n == 2) {
		CHECK(left.r[0].id == r2 && left.r[0].state == RUN_RUNNING &&
		      left.r[0].pid == 4343 && left.r[0].start_ns == 3000 &&
		      strcmp(left.r[0].proc, "boot/77") == 0);
		CHECK(left.r[1].id == r3 && left.r[1].state == RUN_CLAIMED && left.r[1].pid == 0);
	}
	rs = runs(s, a);
	if (rs.n == 4) {
		CHECK(rs.r[0].state == RUN_DONE);
		CHECK(rs.r[1].state == RUN_INTERRUPTED && rs.r[1].pid == 4343);
		CHECK(rs.r[2].state == RUN_INTERRUPTED);
		CHECK(rs.r[3].state == RUN_SKIPPED);
	}
	store_close(s);
	/* Not settled: the next open hands them out again (not counted as newly
	 * interrupted); settled ones are done with. */
	s = open_ok(dir, &intr);
	CHECK(intr == 0);
	left.n = 0;
	CHECK(store_runs_interrupted(s, collect_run, &left) == 0 && left.n == 2);
	if (left.n == 2) {
		CHECK(left.r[0].state == RUN_INTERRUPTED && left.r[0].start_ns == 3000);
		CHECK(store_run_settle(s, &left.r[0], 7000, why, sizeof why) == 0);
		CHECK(store_run_settle(s, &left.r[0], 7000, why, sizeof why) == -ENOENT);
	}
	store_close(s);
	s = open_ok(dir, &intr);
	CHECK(intr == 0);
	left.n = 0;
	CHECK(store_runs_interrupted(s, collect_run, &left) == 0 && left.n == 1);
	CHECK(left.n == 1 && left.r[0].id == r3);
	rs = runs(s, a);
	CHECK(rs.n == 4 && rs.r[1].end_ns == 7000 && rs.r[1].state == RUN_INTERRUPTED);

	/* Retention keeps the newest finished runs and every live one. */
	int64_t r5;
	CHECK(store_fire_claim(s, a, 300, &r5, NULL, why, sizeof why) == 0);
	CHECK(store_runs_retain(s, a, 1, INT64_MAX, NULL, why, sizeof why) == 0);
	rs = runs(s, a);
	CHECKF(rs.n == 2, "after trim %d", rs.n);
	if (rs.n == 2)
		CHECK(rs.r[0].id == r4 && rs.r[1].id == r5);
	CHECK(store_runs_retain(s, a, 0, INT64_MAX, NULL, why, sizeof why) == 0);
	rs = runs(s, a);
	CHECK(rs.n == 1 && rs.r[0].id == r5);
	store_close(s);
}

/* A deterministic stream of pseudo-random numbers (xorshift32). */
static uint32_t rnd(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* len bytes of "lines": any byte but '\n' (NUL and 0xff too), a '\n' now and
 * then and always at the end. */
static void mklines(char *p, size_t len, uint32_t *x)
{
	for (size_t i = 0; i < len; i++) {
		uint32_t v = rnd(x);
		p[i] = v % 23 == 0 ? '\n' : (char)(v >> 8);
		if (p[i] == '\n' && v % 23 != 0)
			p[i] = 'n';
	}
	p[len - 1] = '\n';
}

/* Checks reads at every position of [from, to) of what is kept (want from
 * want_first), each with a cap of 1 to 600 bytes: what comes back is the
 * next min(cap, end - pos) bytes. Returns the number of reads that were wrong. */
static int reads_at(Store *s, int64_t job, int64_t run, const Buf *want, int64_t from,
                    int64_t to, uint32_t *x)
{
	char buf[600];
	int bad = 0;
	for (int64_t pos = from; pos < to; pos++) {
		size_t cap = 1 + rnd(x) % sizeof buf, got = 0;
		int r = store_text_read(s, job, run, pos, buf, cap, &got, why, sizeof why);
		size_t left = want->n - (size_t)pos;
		size_t exp = left < cap ? left : cap;
		if (r != 0 || got != exp || memcmp(buf, want->p + pos, got) != 0) {
			if (bad++ < 3)
				CHECKF(0, "job %lld run %lld: read at %lld cap %zu: %d got %zu want %zu %s",
				       (long long)job, (long long)run, (long long)pos, cap, r, got, exp, why);
		}
	}
	return bad;
}

/* A job's log and two interleaved runs' output, appended in pieces of
 * 1 byte to 5000 and one of STORE_CHUNK_MAX: the log is every piece in
 * order, a run's output only its own; reads at any position, of any size,
 * within a piece or across pieces, return the same bytes, before and after
 * a reopen. */
/* A skipped fire in one call (store_fire_skip) leaves what the claim, the
 * line and the end leave (store_fire_claim, store_text_append,
 * store_run_end): job a the long way, job b the short, with the same fires,
 * text between them in the job's log, and a run that was not skipped. */
static void test_fire_skip(void)
{
	char *dir = scratch_path();
	Store *s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	int64_t job[2] = { mkjob(s, "a", "* * * * *", "a"), mkjob(s, "b", "* * * * *", "b") };
	static const char line[] = "2026-12-03 08:00:00 +0000 UTC:skipped: previous run (pid 7) still running\n";
	const int64_t scheds[] = { 1700000060, 1700000120, 0, 1700000180 };
	Buf log[2] = { { 0 } }, out[2][4] = { { { 0 } } };
	int64_t id[2][4], seq[2][4];
	for (int w = 0; w < 2; w++) {
		for (int i = 0; i < 4; i++) {
			append_ok(s, job[w], 0, "own\n", 4);
			buf_add(&log[w], "own\n", 4);
			if (i == 1) {           /* one that ran, between the skips */
				CHECK(store_fire_claim(s, job[w], scheds[i], &id[w][i], &seq[w][i], why,
				                       sizeof why) == 0);
				add_text(s, job[w], id[w][i], "ran\n", 4, &log[w], &out[w][i]);
				StoreRunEnd e = { .run_id = id[w][i], .state = RUN_DONE, .end_ns = 5 };
				CHECK(store_run_end(s, &e, why, sizeof why) == 0);
				continue;
			}
			if (w == 0) {
				CHECK(store_fire_claim(s, job[w], scheds[i], &id[w][i], &seq[w][i], why,
				                       sizeof why) == 0);
				add_text(s, job[w], id[w][i], line, sizeof line - 1, &log[w], &out[w][i]);
				StoreRunEnd e = { .run_id = id[w][i], .state = RUN_SKIPPED, .end_ns = 9 };
				CHECK(store_run_end(s, &e, why, sizeof why) == 0);
			} else {
				int r = store_fire_skip(s, job[w], scheds[i], 9, line, sizeof line - 1,
				                        &id[w][i], &seq[w][i], why, sizeof why);
				CHECKF(r == 0, "skip %d: %d %s", i, r, why);
				buf_add(&log[w], line, sizeof line - 1);
				buf_add(&out[w][i], line, sizeof line - 1);
			}
		}
	}
	/* Exactly once, as a claim: a fire claimed or skipped is not again. */
	int64_t x, y;
	CHECK(store_fire_skip(s, job[1], 1700000060, 9, line, 3, &x, &y, why, sizeof why) == -EALREADY);
	CHECK(store_fire_skip(s, job[1], 1700000120, 9, line, 3, &x, &y, why, sizeof why) == -EALREADY);
	CHECK(store_fire_claim(s, job[1], 1700000180, &x, &y, why, sizeof why) == -EALREADY);
	CHECK(store_fire_skip(s, 999, 1700000240, 9, line, 3, &x, &y, why, sizeof why) == -ENOENT);
	CHECK(store_fire_skip(s, job[1], -1, 9, line, 3, &x, &y, why, sizeof why) == -EINVAL);
	for (int pass = 0; pass < 2; pass++) {
		Runs ra = runs(s, job[0]), rb = runs(s, job[1]);
		CHECKF(ra.n == 4 && rb.n == 4, "runs %d %d", ra.n, rb.n);
		for (int i = 0; i < 4 && i < ra.n && i < rb.n; i++) {
			const StoreRun *p = &ra.r[i], *q = &rb.r[i];
			CHECKF(p->sched == q->sched && p->state == q->state && p->end_ns == q->end_ns &&
			       p->seq == q->seq && p->manual == q->manual && p->status == q->status &&
			       p->flags == q->flags && p->out_bytes == q->out_bytes &&
			       p->start_ns == q->start_ns && p->pid == q->pid,
			       "run %d: sched %lld/%lld state %d/%d end %lld/%lld seq %lld/%lld out %lld/%lld",
			       i, (long long)p->sched, (long long)q->sched, p->state, q->state,
			       (long long)p->end_ns, (long long)q->end_ns, (long long)p->seq,
			       (long long)q->seq, (long long)p->out_bytes, (long long)q->out_bytes);
			CHECK(q->id == id[1][i] && q->seq == seq[1][i] && seq[0][i] == seq[1][i]);
			text_is(s, job[1], id[1][i], &out[1][i], 0);
		}
		if (rb.n == 4)
			CHECK(rb.r[0].state == RUN_SKIPPED && rb.r[1].state == RUN_DONE &&
			      rb.r[2].manual == 1);
		text_is(s, job[0], 0, &log[0], 0);
		text_is(s, job[1], 0, &log[1], 0);
		CHECK(log[0].n == log[1].n && memcmp(log[0].p, log[1].p, log[0].n) == 0);
		Jobs js = load(s);
		CHECK(js.n == 2 && js.j[0].last_sched == js.j[1].last_sched &&
		      js.j[1].last_sched == 1700000180);
		/* The same after a restart: the counts were written. */
		store_close(s);
		s = open_ok(dir, NULL);
		if (s == NULL)
			return;
	}
	/* The next number after the skips, and the log's end after their lines. */
	int64_t sa, sb;
	CHECK(store_fire_claim(s, job[0], 1700000300, &x, &sa, why, sizeof why) == 0);
	CHECK(store_fire_skip(s, job[1], 1700000300, 9, line, 3, &x, &sb, why, sizeof why) == 0);
	CHECK(sa == 5 && sb == 5);
	CHECK(log_end(s, job[1]) == (int64_t)log[1].n + 3);
	for (int w = 0; w < 2; w++) {
		free(log[w].p);
		for (int i = 0; i < 4; i++)
			free(out[w][i].p);
	}
	store_close(s);
}

static void test_text(void)
{
	char *dir = scratch_path();
	Store *s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	int64_t a = mkjob(s, "a", "@daily", "a"), b = mkjob(s, "b", "@daily", "b");
	int64_t r1, r2, rb;
	CHECK(store_fire_claim(s, a, 0, &r1, NULL, why, sizeof why) == 0);
	CHECK(store_fire_claim(s, a, 0, &r2, NULL, why, sizeof why) == 0);
	CHECK(store_fire_claim(s, b, 0, &rb, NULL, why, sizeof why) == 0);
	Buf log = { 0 }, out1 = { 0 }, out2 = { 0 }, logb = { 0 }, outb = { 0 };
	char *piece = malloc(STORE_CHUNK_MAX + 1);
	uint32_t x = 12345;
	for (int i = 0; i < 150; i++) {
		size_t len = 1 + rnd(&x) % (i % 10 == 0 ? 5000 : 300);
		mklines(piece, len, &x);
		switch (i % 4) {
		case 0: add_text(s, a, 0, piece, len, &log, NULL); break;
		case 1: add_text(s, a, r1, piece, len, &log, &out1); break;
		case 2: add_text(s, a, r2, piece, len, &log, &out2); break;
		default:            /* the other job, between a's pieces */
			add_text(s, b, i % 8 == 3 ? rb : 0, piece, len, &logb, i % 8 == 3 ? &outb : NULL);
			break;
		}
	}
	int64_t small = (int64_t)log.n;     /* where the biggest piece begins */
	mklines(piece, STORE_CHUNK_MAX, &x);
	add_text(s, a, r1, piece, STORE_CHUNK_MAX, &log, &out1);
	add_text(s, a, r2, "after\n", 6, &log, &out2);
	for (int pass = 0; pass < 2; pass++) {
		int64_t f, e;
		extent(s, a, 0, &f, &e);
		CHECKF(f == 0 && e == (int64_t)log.n, "log [%lld, %lld) want [0, %zu)", (long long)f,
		       (long long)e, log.n);
		extent(s, a, r1, &f, &e);
		CHECK(f == 0 && e == (int64_t)out1.n);
		extent(s, a, r2, &f, &e);
		CHECK(f == 0 && e == (int64_t)out2.n);
		text_is(s, a, 0, &log, 0);
		text_is(s, a, r1, &out1, 0);
		text_is(s, a, r2, &out2, 0);
		text_is(s, b, 0, &logb, 0);
		text_is(s, b, rb, &outb, 0);
		Runs rs = runs(s, a);
		CHECK(rs.n == 2 && rs.r[0].out_bytes == (int64_t)out1.n &&
		      rs.r[1].out_bytes == (int64_t)out2.n);
		/* Every position of the small pieces, in the log and in the outputs;
		 * the biggest piece at its edges (its last byte is STORE_CHUNK_MAX - 1
		 * past its start: the read's index range must reach back that far). */
		CHECK(reads_at(s, a, 0, &log, 0, small, &x) == 0);
		CHECK(reads_at(s, a, r1, &out1, 0, (int64_t)out1.n - STORE_CHUNK_MAX, &x) == 0);
		CHECK(reads_at(s, a, r2, &out2, 0, (int64_t)out2.n, &x) == 0);
		CHECK(reads_at(s, b, 0, &logb, 0, (int64_t)logb.n, &x) == 0);
		CHECK(reads_at(s, a, 0, &log, small - 5, small + 5, &x) == 0);
		CHECK(reads_at(s, a, 0, &log, (int64_t)log.n - 12, (int64_t)log.n, &x) == 0);
		CHECK(reads_at(s, a, r1, &out1, (int64_t)out1.n - 3, (int64_t)out1.n, &x) == 0);
		/* One read of all of it, across every piece but for the 16-chunk
		 * page: a read may return less than asked, never more nor other. */
		size_t got = 0;
		char *all = malloc(log.n);
		int r = store_text_read(s, a, 0, 0, all, log.n, &got, why, sizeof why);
		CHECKF(r == 0 && got > 0 && got <= log.n && memcmp(all, log.p, got) == 0,
		       "read all: %d got %zu", r, got);
		free(all);
		/* At and past the end: nothing. */
		got = 9;
		CHECK(store_text_read(s, a, 0, (int64_t)log.n + 10, piece, 10, &got, why,
		                      sizeof why) == 0 && got == 0);
		got = 9;
		CHECK(store_text_read(s, a, r2, (int64_t)out2.n, piece, 10, &got, why,
		                      sizeof why) == 0 && got == 0);
		commit_ok(s);
		store_close(s);
		s = open_ok(dir, NULL);
		if (s == NULL)
			break;
	}
	store_close(s);
	free(piece);
	buf_free(&log);
	buf_free(&out1);
	buf_free(&out2);
	buf_free(&logb);
	buf_free(&outb);
}

/* What is refused, and that a refused append leaves no trace. */
static void test_text_errors(void)
{
	Store *s = open_ok(scratch_path(), NULL);
	if (s == NULL)
		return;
	int64_t a = mkjob(s, "a", "@daily", "a"), b = mkjob(s, "b", "@daily", "b");
	int64_t ra, rb;
	CHECK(store_fire_claim(s, a, 0, &ra, NULL, why, sizeof why) == 0);
	CHECK(store_fire_claim(s, b, 0, &rb, NULL, why, sizeof why) == 0);
	append_ok(s, a, ra, "1:a\n", 4);
	append_ok(s, b, 0, "1:b\n", 4);
	commit_ok(s);
	int64_t f, e;
	char buf[16];
	size_t got;

	/* No such job; a run of another job; no such run. */
	why[0] = '\0';
	CHECK(store_text_append(s, 999, 0, "x\n", 2, why, sizeof why) == -ENOENT);
	CHECKF(strstr(why, "999") != NULL, "why: %s", why);
	CHECK(store_text_append(s, b, ra, "x\n", 2, why, sizeof why) == -ENOENT);
	CHECK(store_text_append(s, a, 999, "x\n", 2, why, sizeof why) == -ENOENT);
	CHECK(store_text_extent(s, 999, 0, &f, &e, why, sizeof why) == -ENOENT);
	CHECK(store_text_extent(s, a, 999, &f, &e, why, sizeof why) == -ENOENT);
	int r = store_text_extent(s, b, ra, &f, &e, why, sizeof why);
	CHECKF(r == -ENOENT, "extent of another job's run: %d [%lld, %lld)", r, (long long)f,
	       (long long)e);
	r = store_text_read(s, 999, 0, 0, buf, sizeof buf, &got, why, sizeof why);
	CHECKF(r == -ENOENT && got == 0, "read of no job: %d got %zu", r, got);
	r = store_text_read(s, b, ra, 0, buf, sizeof buf, &got, why, sizeof why);
	CHECKF(r == -ENOENT && got == 0, "read of another job's run: %d got %zu", r, got);
	r = store_text_read(s, a, 999, 0, buf, sizeof buf, &got, why, sizeof why);
	CHECKF(r == -ENOENT && got == 0, "read of no run: %d got %zu", r, got);

	/* Too big for one chunk; STORE_CHUNK_MAX itself is fine. */
	char *big = malloc(STORE_CHUNK_MAX + 1);
	memset(big, 'x', STORE_CHUNK_MAX + 1);
	big[STORE_CHUNK_MAX] = '\n';
	why[0] = '\0';
	CHECK(store_text_append(s, a, 0, big, STORE_CHUNK_MAX + 1, why, sizeof why) == -E2BIG);
	CHECKF(why[0] != '\0', "no reason for E2BIG");
	/* The refused changes opened a batch (and are not in it). */
	CHECK(store_pending(s) == 1);
	commit_ok(s);
	/* Empty: nothing, and no batch opened for it. */
	CHECK(store_text_append(s, a, ra, "", 0, why, sizeof why) == 0);
	CHECK(store_text_append(s, 999, 0, "", 0, why, sizeof why) == 0);
	CHECK(store_pending(s) == 0);

	/* The refused appends left the ends where they were (the job's log
	 * was advanced before the run was found missing: that was undone). */
	extent(s, a, 0, &f, &e);
	CHECKF(f == 0 && e == 4, "a: [%lld, %lld)", (long long)f, (long long)e);
	extent(s, b, 0, &f, &e);
	CHECKF(f == 0 && e == 4, "b: [%lld, %lld)", (long long)f, (long long)e);
	extent(s, a, ra, &f, &e);
	CHECK(f == 0 && e == 4);
	extent(s, b, rb, &f, &e);
	CHECK(f == 0 && e == 0);
	/* The next append goes where the refused ones would have. */
	append_ok(s, b, rb, "2:b\n", 4);
	append_ok(s, a, 0, big + 1, STORE_CHUNK_MAX);
	Buf wb = { 0 };
	buf_add(&wb, "1:b\n2:b\n", 8);
	text_is(s, b, 0, &wb, 0);
	buf_free(&wb);
	extent(s, b, rb, &f, &e);
	CHECK(f == 0 && e == 4);
	extent(s, a, 0, &f, &e);
	CHECK(f == 0 && e == 4 + STORE_CHUNK_MAX);
	got = 0;
	CHECK(store_text_read(s, a, 0, 4 + STORE_CHUNK_MAX - 1, buf, sizeof buf, &got, why,
	                      sizeof why) == 0 && got == 1 && buf[0] == '\n');
	free(big);
	store_close(s);
}

static void test_delete_cascades(void)
{
	char *dir = scratch_path();
	Store *s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	int64_t a = mkjob(s, "a", "@daily", "a");
	int64_t b = mkjob(s, "b", "@daily", "b");
	int64_t r;
	CHECK(store_fire_claim(s, a, 86400, &r, NULL, why, sizeof why) == 0);
	CHECK(store_fire_claim(s, b, 86400, NULL, NULL, why, sizeof why) == 0);
	append_ok(s, a, r, "5:out\n", 6);
	append_ok(s, a, 0, "5:own\n", 6);
	append_ok(s, b, 0, "5:keep\n", 7);
	CHECK(store_job_delete(s, a, why, sizeof why) == 0);
	CHECK(store_job_delete(s, a, why, sizeof why) == -ENOENT);
	int64_t f, e;
	CHECK(store_text_extent(s, a, 0, &f, &e, why, sizeof why) == -ENOENT);
	CHECK(store_text_extent(s, a, r, &f, &e, why, sizeof why) == -ENOENT);
	CHECK(runs(s, a).n == 0);
	CHECK(store_run_start(s, r, 1, 1, "", why, sizeof why) == -ENOENT);
	Buf want = { 0 };
	buf_add(&want, "5:keep\n", 7);
	text_is(s, b, 0, &want, 0);
	buf_free(&want);
	CHECK(runs(s, b).n == 1);
	commit_ok(s);
	/* The name is free again; the new job is a new incarnation with no history. */
	int64_t a2 = mkjob(s, "a", "@daily", "a");
	CHECK(a2 > b);
	CHECK(store_fire_claim(s, a2, 86400, NULL, NULL, why, sizeof why) == 0);
	extent(s, a2, 0, &f, &e);
	CHECK(f == 0 && e == 0);
	store_close(s);
	/* The text went with the job: no chunk of it is left in the file. */
	char db[128];
	snprintf(db, sizeof db, "%s/jobd.sqlite", dir);
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	CHECK(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
	CHECK(sqlite3_prepare_v2(h, "SELECT count(*), sum(job_id = ?1) FROM chunks", -1, &st,
	                         NULL) == SQLITE_OK);
	sqlite3_bind_int64(st, 1, a);
	CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1 &&
	      sqlite3_column_int(st, 1) == 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
}

/* One run by its number: the run with that number, not another; none once
 * trimmed; none for another job's number. */
static void test_run_get(void)
{
	char *dir = scratch_path();
	Store *s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	int64_t a = mkjob(s, "a", "@daily", "a"), b = mkjob(s, "b", "@daily", "b");
	int64_t id[5], seq[5], other;
	for (int i = 0; i < 5; i++)
		CHECK(store_fire_claim(s, a, 1700000000 + 60 * i, &id[i], &seq[i], why, sizeof why) == 0);
	CHECK(store_fire_claim(s, b, 0, &other, NULL, why, sizeof why) == 0);
	for (int i = 0; i < 5; i++) {
		StoreRun r;
		memset(&r, 0, sizeof r);
		CHECKF(store_run_get(s, a, seq[i], &r, why, sizeof why) == 0 && r.id == id[i] &&
		       r.seq == seq[i] && r.job_id == a && r.sched == 1700000000 + 60 * i,
		       "run %d: id %lld seq %lld", i, (long long)r.id, (long long)r.seq);
	}
	StoreRun r;
	why[0] = '\0';
	CHECK(store_run_get(s, a, seq[4] + 1, &r, why, sizeof why) == -ENOENT);
	char want[64];
	snprintf(want, sizeof want, "no run %lld", (long long)(seq[4] + 1));
	CHECKF(strcmp(why, want) == 0, "why: '%s'", why);
	CHECK(store_run_get(s, b, seq[4], &r, why, sizeof why) == -ENOENT);
	/* Ended and trimmed to the newest two: the oldest are gone. */
	for (int i = 0; i < 5; i++) {
		StoreRunEnd e = { .run_id = id[i], .state = RUN_DONE, .end_ns = 1 };
		CHECK(store_run_end(s, &e, why, sizeof why) == 0);
	}
	CHECK(store_runs_retain(s, a, 2, INT64_MAX, NULL, why, sizeof why) == 0);
	CHECK(store_run_get(s, a, seq[0], &r, why, sizeof why) == -ENOENT);
	CHECK(store_run_get(s, a, seq[4], &r, why, sizeof why) == 0 && r.id == id[4]);
	store_close(s);
}

/* Opens the store in dir in a child process, which reports on `ready` and
 * then, if hold_child, forks a grandchild that keeps every descriptor (as a
 * run does between fork and exec) and waits on `release`; the child itself
 * waits on `release` too unless die_early, in which case it exits at once,
 * leaving the grandchild. Returns the child's pid. */
static pid_t lock_holder(const char *dir, int ready, int release, int die_early)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	Store *s = NULL;
	char w[256];
	char ok = store_open(dir, STORE_SYNC_NORMAL, &s, NULL, w, sizeof w) == 0 ? 'y' : 'n';
	if (die_early && fork() == 0) {
		char b;
		ssize_t k = read(release, &b, 1);   /* the grandchild: holds every fd */
		_exit(k < 0);
	}
	if (write(ready, &ok, 1) != 1)
		_exit(1);
	if (!die_early) {
		char b;
		ssize_t k = read(release, &b, 1);
		(void)k;
	}
	_exit(0);
}

static void test_lock(void)
{
	char *dir = scratch_path();
	Store *s = open_ok(dir, NULL);   /* creates it */
	if (s == NULL)
		return;
	store_close(s);
	int ready[2], release[2];
	CHECK(pipe(ready) == 0 && pipe(release) == 0);
	pid_t holder = lock_holder(dir, ready[1], release[0], 0);
	char ok = 0;
	CHECK(read(ready[0], &ok, 1) == 1 && ok == 'y');
	Store *t = NULL;
	why[0] = '\0';
	int r = store_open(dir, STORE_SYNC_NORMAL, &t, NULL, why, sizeof why);
	CHECKF(r == -EBUSY && t == NULL, "second open: %d", r);
	char want[256];
	snprintf(want, sizeof want, "another jobd (pid %ld) is using %s (lock held on "
	         "%s/jobd.lock); stop it first",
	         (long)holder, dir, dir);
	CHECKF(strcmp(why, want) == 0, "why: %s", why);
	CHECK(write(release[1], "x", 1) == 1);
	CHECK(waitpid(holder, NULL, 0) == holder);
	s = open_ok(dir, NULL);
	store_close(s);

	/* A dead holder's children (a run not yet exec'ed when jobd was killed)
	 * do not keep the lock: it is the process's, not the descriptor's. */
	holder = lock_holder(dir, ready[1], release[0], 1);
	CHECK(read(ready[0], &ok, 1) == 1 && ok == 'y');
	CHECK(waitpid(holder, NULL, 0) == holder);
	s = open_ok(dir, NULL);
	CHECK(s != NULL);
	store_close(s);
	CHECK(write(release[1], "x", 1) == 1);   /* the grandchild goes */
	close(ready[0]);
	close(ready[1]);
	close(release[0]);
	close(release[1]);
}

/* Files in dir that this process has open must all be close-on-exec. */
static void test_cloexec(void)
{
	char *dir = scratch_path();
	Store *s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	int64_t a = mkjob(s, "a", "@daily", "a");
	append_ok(s, a, 0, "1:x\n", 4);
	commit_ok(s);
	DIR *d = opendir("/proc/self/fd");
	CHECK(d != NULL);
	if (d == NULL) {
		store_close(s);
		return;
	}
	int mine = 0, leaky = 0;
	struct dirent *e;
	char link[300], target[512];
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
		ssize_t k = readlink(link, target, sizeof target - 1);
		if (k < 0)
			continue;
		target[k] = '\0';
		if (strncmp(target, dir, strlen(dir)) != 0)
			continue;
		mine++;
		int flags = fcntl(atoi(e->d_name), F_GETFD);
		if (flags < 0 || !(flags & FD_CLOEXEC)) {
			leaky++;
			printf("#   not close-on-exec: %s\n", target);
		}
	}
	closedir(d);
	CHECKF(mine >= 3, "only %d fds in the store dir (lock, db, wal)", mine);
	CHECK(leaky == 0);
	store_close(s);
}

static void test_newer_schema(void)
{
	char *dir = scratch_path();
	Store *s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	mkjob(s, "a", "@daily", "a");
	store_close(s);
	char db[128];
	snprintf(db, sizeof db, "%s/jobd.sqlite", dir);
	size_t len0;
	char *orig = slurp(db, &len0);
	CHECK(orig != NULL && len0 >= 100);
	if (orig == NULL || len0 < 100) {
		free(orig);
		return;
	}
	CHECK(memcmp(orig + 68, "jobd", 4) == 0);          /* application_id */
	CHECK(memcmp(orig + 60, "\0\0\0\11", 4) == 0);     /* user_version 9 */
	poke32(db, 60, 10);
	/* An mtime in the past, so that any write would show. */
	struct timespec past[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	CHECK(utimensat(AT_FDCWD, db, past, 0) == 0);
	struct stat sb0, sb1;
	CHECK(stat(db, &sb0) == 0);
	size_t len1;
	char *before = slurp(db, &len1);

	why[0] = '\0';
	int r = store_open(dir, STORE_SYNC_FULL, &s, NULL, why, sizeof why);
	CHECKF(r == -EPROTO && s == NULL, "open: %d", r);
	CHECKF(strcmp(why, "database schema version 10 is newer than this jobd supports (9); "
	                   "upgrade jobd") == 0, "why: %s", why);
	size_t len2;
	char *after = slurp(db, &len2);
	CHECK(stat(db, &sb1) == 0);
	CHECK(after != NULL && len1 == len2 && memcmp(before, after, len1) == 0);
	CHECK(sb0.st_mtim.tv_sec == sb1.st_mtim.tv_sec && sb0.st_mtim.tv_nsec == sb1.st_mtim.tv_nsec);
	CHECK(sb1.st_mtim.tv_sec == 1000000000 && sb0.st_size == sb1.st_size);
	free(before);
	free(after);

	/* Put the version back: the refusal left no lock behind and nothing broken. */
	poke32(db, 60, 9);
	s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	CHECK(load(s).n == 1);
	store_close(s);

	/* Another application's database (other application_id) is refused too. */
	poke32(db, 68, 0x12345678);
	r = store_open(dir, STORE_SYNC_NORMAL, &s, NULL, why, sizeof why);
	CHECKF(r == -EPROTO && strstr(why, "not a jobd database") != NULL, "%d %s", r, why);
	free(orig);
}

/* Schema 4 -> 5 adds each job's limits: a version 4 file (made here from a
 * fresh one by taking away the limits column and what schemas 7 and 8 added) opens,
 * keeps its jobs and their settings, and then stores limits. */
static void test_migrate_limits(void)
{
	char *dir = scratch_path();
	Store *s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	int64_t a = mkjob(s, "old", "@daily", "true");
	StoreJob j = { .id = a, .name = "old", .schedule = "@hourly", .cmd = "echo kept",
	               .timeout_ms = 90000, .overlap = 1, .dir = "/tmp", .env = "A=1\n",
	               .limits = "nofile=77" };
	CHECK(store_job_save(s, &j, why, sizeof why) == 0);
	store_close(s);

	char db[128];
	snprintf(db, sizeof db, "%s/jobd.sqlite", dir);
	sqlite3 *h = NULL;
	char *err = NULL;
	CHECK(sqlite3_open(db, &h) == SQLITE_OK);
	int rc = sqlite3_exec(h, "ALTER TABLE runs DROP COLUMN node;"
	                      " ALTER TABLE jobs DROP COLUMN orphan;"
	                      " ALTER TABLE jobs DROP COLUMN limits; DROP TABLE chunks;"
	                      " ALTER TABLE jobs DROP COLUMN log_end;"
	                      " ALTER TABLE runs DROP COLUMN log_off; PRAGMA user_version = 4;",
	                      NULL, NULL, &err);
	CHECKF(rc == SQLITE_OK, "making a version 4 file: %s", err ? err : "?");
	sqlite3_free(err);
	sqlite3_close(h);
	size_t len;
	char *head = slurp(db, &len);
	CHECK(head != NULL && len >= 100 && memcmp(head + 60, "\0\0\0\4", 4) == 0);
	free(head);

	s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	Jobs js = load(s);
	CHECKF(js.n == 1, "n=%d", js.n);
	if (js.n == 1) {
		CHECK(js.j[0].id == a && strcmp(js.sched[0], "@hourly") == 0 &&
		      strcmp(js.cmd[0], "echo kept") == 0 && js.j[0].timeout_ms == 90000 &&
		      js.j[0].overlap == 1);
		CHECKF(strcmp(js.limits[0], "") == 0, "limits after migration: '%s'", js.limits[0]);
	}
	j.limits = "nproc=64 as=512M";
	CHECK(store_job_save(s, &j, why, sizeof why) == 0);
	store_close(s);
	head = slurp(db, &len);
	CHECK(head != NULL && len >= 100 && memcmp(head + 60, "\0\0\0\11", 4) == 0);
	free(head);
	s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	js = load(s);
	CHECK(js.n == 1 && strcmp(js.limits[0], "nproc=64 as=512M") == 0);
	/* A new job has none. */
	mkjob(s, "new", "@daily", "true");
	js = load(s);
	CHECK(js.n == 2 && strcmp(js.limits[1], "") == 0);
	store_close(s);
}

/* Schema 7 -> 8 adds each job's orphan setting: a version 7 file (a fresh
 * one without the column) opens, keeps its jobs and their settings with
 * orphan 0 (lost), and then stores orphan. */
static void test_migrate_orphan(void)
{
	char *dir = scratch_path();
	Store *s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	int64_t a = mkjob(s, "old", "@daily", "true");
	StoreJob j = { .id = a, .name = "old", .schedule = "@hourly", .cmd = "echo kept",
	               .overlap = 3, .misfire = 2, .limits = "nofile=77" };
	CHECK(store_job_save(s, &j, why, sizeof why) == 0);
	store_close(s);

	char db[128];
	snprintf(db, sizeof db, "%s/jobd.sqlite", dir);
	sqlite3 *h = NULL;
	char *err = NULL;
	CHECK(sqlite3_open(db, &h) == SQLITE_OK);
	int rc = sqlite3_exec(h, "ALTER TABLE runs DROP COLUMN node; ALTER TABLE jobs DROP COLUMN orphan;"
	                      " PRAGMA user_version = 7;",
	                      NULL, NULL, &err);
	CHECKF(rc == SQLITE_OK, "making a version 7 file: %s", err ? err : "?");
	sqlite3_free(err);
	sqlite3_close(h);

	s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	Jobs js = load(s);
	CHECKF(js.n == 1, "n=%d", js.n);
	if (js.n == 1)
		CHECK(js.j[0].id == a && strcmp(js.cmd[0], "echo kept") == 0 && js.j[0].overlap == 3 &&
		      js.j[0].misfire == 2 && js.j[0].orphan == 0 &&
		      strcmp(js.limits[0], "nofile=77") == 0);
	j.orphan = 1;
	CHECK(store_job_save(s, &j, why, sizeof why) == 0);
	store_close(s);
	size_t len;
	char *head = slurp(db, &len);
	CHECK(head != NULL && len >= 100 && memcmp(head + 60, "\0\0\0\11", 4) == 0);
	free(head);
	s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	js = load(s);
	CHECK(js.n == 1 && js.j[0].orphan == 1 && js.j[0].misfire == 2);
	store_close(s);
}

static void test_garbage_file(void)
{
	static const size_t sizes[] = { 10, 4096 };
	for (size_t k = 0; k < 2; k++) {
		char *dir = scratch_path();
		CHECK(mkdir(dir, 0700) == 0);
		char db[128];
		snprintf(db, sizeof db, "%s/jobd.sqlite", dir);
		char *junk = malloc(sizes[k]);
		for (size_t i = 0; i < sizes[k]; i++)
			junk[i] = (char)("not a database\n"[i % 15]);
		spew(db, junk, sizes[k]);
		Store *s = NULL;
		why[0] = '\0';
		int r = store_open(dir, STORE_SYNC_NORMAL, &s, NULL, why, sizeof why);
		CHECKF(r < 0 && s == NULL, "open garbage: %d", r);
		CHECKF(strstr(why, db) != NULL && strstr(why, "not a SQLite database") != NULL &&
		       strstr(why, "move it") != NULL, "why: %s", why);
		size_t len;
		char *now = slurp(db, &len);
		CHECK(now != NULL && len == sizes[k] && memcmp(now, junk, len) == 0);
		free(now);
		free(junk);
	}
}

/* Damage past the header is found when the pages are read; the call fails
 * with a reason naming the file, and the store stays usable for a close. */
static void test_corrupt_pages(void)
{
	char *dir = scratch_path();
	Store *s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	mkjob(s, "a", "@daily", "a");
	store_close(s);
	char db[128];
	snprintf(db, sizeof db, "%s/jobd.sqlite", dir);
	static char junk[8192];
	memset(junk, 0xab, sizeof junk);
	int fd = open(db, O_WRONLY);
	CHECK(fd >= 0 && pwrite(fd, junk, sizeof junk, 4096) == (ssize_t)sizeof junk);
	close(fd);
	why[0] = '\0';
	int r = store_open(dir, STORE_SYNC_NORMAL, &s, NULL, why, sizeof why);
	if (r == 0) {
		Jobs js = { 0 };
		r = store_jobs_load(s, collect_job, &js, why, sizeof why);
		store_close(s);
	}
	CHECKF(r == -EIO, "r=%d", r);
	CHECKF(strstr(why, "corrupt") != NULL && strstr(why, db) != NULL, "why: %s", why);
}

static void test_dir_created_0700(void)
{
	char *dir = scratch_path();
	mode_t old = umask(0);
	Store *s = open_ok(dir, NULL);
	umask(old);
	store_close(s);
	struct stat sb;
	CHECK(stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode));
	CHECKF((sb.st_mode & 07777) == 0700, "mode %o", (unsigned)(sb.st_mode & 07777));
	char db[128];
	snprintf(db, sizeof db, "%s/jobd.sqlite", dir);
	CHECKF(modeof(db) == 0600, "db mode %o under umask 0", modeof(db));
	/* An existing directory is used, its mode tightened. */
	CHECK(chmod(dir, 0755) == 0);
	s = open_ok(dir, NULL);
	store_close(s);
	CHECKF(modeof(dir) == 0700, "mode %o", modeof(dir));
}

/* The files a job's env goes into are the user's only: dir 0700, the
 * database, its WAL and shm 0600; wider ones found are tightened. */
static void test_file_modes(void)
{
	char *dir = scratch_path();
	char db[128], wal[140], shm[140], lock[128];
	snprintf(db, sizeof db, "%s/jobd.sqlite", dir);
	snprintf(wal, sizeof wal, "%s-wal", db);
	snprintf(shm, sizeof shm, "%s-shm", db);
	snprintf(lock, sizeof lock, "%s/jobd.lock", dir);
	Store *s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	StoreJob j = { .name = "secret", .schedule = "@daily", .cmd = "true", .env = "TOKEN=x" };
	CHECK(store_job_create(s, &j, why, sizeof why) == 0);
	CHECK(store_job_save(s, &j, why, sizeof why) == 0);
	CHECKF(modeof(dir) == 0700, "dir %o", modeof(dir));
	CHECKF(modeof(db) == 0600, "db %o", modeof(db));
	CHECKF(modeof(wal) == 0600, "wal %o", modeof(wal));
	CHECKF(modeof(shm) == 0600, "shm %o", modeof(shm));
	CHECKF(modeof(lock) == 0600, "lock %o", modeof(lock));
	store_close(s);

	CHECK(chmod(dir, 0755) == 0 && chmod(db, 0644) == 0 && chmod(lock, 0666) == 0);
	/* A WAL left behind (as by a crash), readable by all. */
	spew(wal, "", 0);
	CHECK(chmod(wal, 0644) == 0);
	s = open_ok(dir, NULL);
	CHECKF(modeof(dir) == 0700 && modeof(db) == 0600 && modeof(lock) == 0600,
	       "dir %o db %o lock %o", modeof(dir), modeof(db), modeof(lock));
	CHECKF(modeof(wal) == 0600, "wal %o", modeof(wal));
	store_close(s);
	/* Tightening takes bits away, never adds one. */
	CHECK(chmod(db, 0400) == 0);
	s = NULL;
	why[0] = '\0';
	int r = store_open(dir, STORE_SYNC_NORMAL, &s, NULL, why, sizeof why);
	store_close(s);
	CHECKF(modeof(db) == 0400, "db %o (r=%d %s)", modeof(db), r, why);
	chmod(db, 0600);
}

/* A directory that is not 0700 and holds what is not jobd's (a mistaken
 * path, /var/lib) is refused, its mode left; at 0700 it is used. */
static void test_foreign_dir(void)
{
	char *dir = scratch_path();
	CHECK(mkdir(dir, 0700) == 0 && chmod(dir, 0755) == 0);
	char f[128];
	snprintf(f, sizeof f, "%s/jobd.sqlite-wal.keep", dir);     /* jobd's, by its name */
	spew(f, "", 0);
	snprintf(f, sizeof f, "%s/notes.txt", dir);
	spew(f, "x", 1);
	Store *s = NULL;
	why[0] = '\0';
	int r = store_open(dir, STORE_SYNC_NORMAL, &s, NULL, why, sizeof why);
	CHECKF(r == -ENOTEMPTY && s == NULL, "r=%d %s", r, why);
	CHECKF(strstr(why, "'notes.txt'") != NULL && strstr(why, "chmod 700") != NULL, "why: %s", why);
	CHECKF(modeof(dir) == 0755, "mode %o", modeof(dir));
	CHECK(chmod(dir, 0700) == 0);
	s = open_ok(dir, NULL);
	store_close(s);
	CHECK(unlink(f) == 0 && chmod(dir, 0755) == 0);
	s = open_ok(dir, NULL);
	store_close(s);
	CHECKF(modeof(dir) == 0700, "mode %o", modeof(dir));
}

/* Links where jobd's files go are refused, their targets left alone. */
static void test_links_refused(void)
{
	static const char *const names[] = {
		"jobd.sqlite", "jobd.sqlite-wal", "jobd.sqlite-journal", "jobd.lock",
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char *dir = scratch_path();
		CHECK(mkdir(dir, 0700) == 0);
		char target[128], link[128];
		snprintf(target, sizeof target, "%s.elsewhere", dir);
		snprintf(link, sizeof link, "%s/%s", dir, names[i]);
		spew(target, "mine", 4);
		CHECK(chmod(target, 0644) == 0);
		CHECK(symlink(target, link) == 0);
		Store *s = NULL;
		why[0] = '\0';
		int r = store_open(dir, STORE_SYNC_NORMAL, &s, NULL, why, sizeof why);
		CHECKF(r == -ELOOP && s == NULL, "%s: r=%d %s", names[i], r, why);
		CHECKF(strstr(why, link) != NULL && strstr(why, "symbolic link") != NULL &&
		       strstr(why, target) != NULL, "%s: why: %s", names[i], why);
		size_t len;
		char *now = slurp(target, &len);
		CHECK(now != NULL && len == 4 && memcmp(now, "mine", 4) == 0);
		CHECKF(modeof(target) == 0644, "%s: target mode %o", names[i], modeof(target));
		free(now);
	}

	/* The directory itself a link, to a directory that would do. */
	char *real = scratch_path(), *dir = scratch_path();
	CHECK(mkdir(real, 0700) == 0 && symlink(real, dir) == 0);
	Store *s = NULL;
	why[0] = '\0';
	int r = store_open(dir, STORE_SYNC_NORMAL, &s, NULL, why, sizeof why);
	CHECKF(r == -ELOOP && s == NULL, "r=%d %s", r, why);
	CHECKF(strstr(why, "symbolic link") != NULL && strstr(why, real) != NULL, "why: %s", why);
	char db[128];
	snprintf(db, sizeof db, "%s/jobd.sqlite", real);
	CHECK(access(db, F_OK) < 0);
	/* With a trailing slash, which would make open(2) follow it. */
	char slash[140];
	snprintf(slash, sizeof slash, "%s/", dir);
	r = store_open(slash, STORE_SYNC_NORMAL, &s, NULL, why, sizeof why);
	CHECKF(r == -ELOOP && s == NULL, "r=%d %s", r, why);
	/* A link above the directory is fine: the store opens the real path. */
	char below[140];
	snprintf(below, sizeof below, "%s/store", dir);
	s = open_ok(below, NULL);
	if (s != NULL) {
		char want[160];
		snprintf(want, sizeof want, "%s/store", real);
		CHECKF(strcmp(store_dir(s), want) == 0, "store_dir %s", store_dir(s));
	}
	store_close(s);
}

/* Directories above the store that others could change are refused. */
static void test_parents(void)
{
	char *top = scratch_path();
	char dir[160];
	snprintf(dir, sizeof dir, "%s/store", top);
	CHECK(mkdir(top, 0700) == 0);
	Store *s = NULL;
	struct { unsigned mode; int ok; const char *says; } cases[] = {
		{ 0777, 0, "every user may write" },
		{ 0770, 0, "may write (mode 0770, no sticky bit)" },
		{ 01777, 1, NULL },            /* sticky, as /tmp */
		{ 0755, 1, NULL },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		CHECK(chmod(top, cases[i].mode) == 0);
		why[0] = '\0';
		int r = store_open(dir, STORE_SYNC_NORMAL, &s, NULL, why, sizeof why);
		if (cases[i].ok) {
			CHECKF(r == 0, "%o: r=%d %s", cases[i].mode, r, why);
		} else {
			CHECKF(r == -EPERM && s == NULL, "%o: r=%d %s", cases[i].mode, r, why);
			CHECKF(strstr(why, cases[i].says) != NULL && strstr(why, top) != NULL,
			       "%o: why: %s", cases[i].mode, why);
		}
		store_close(s);
		s = NULL;
	}
}

/* Another user's directory or file is refused, left as it was. Needs root
 * (chown). */
static void test_other_owner(void)
{
	if (geteuid() != 0) {
		printf("#   skipped: needs root\n");
		return;
	}
	const uid_t other = 65534;
	char *dir = scratch_path();
	Store *s = open_ok(dir, NULL);
	store_close(s);
	char db[128], wal[140];
	snprintf(db, sizeof db, "%s/jobd.sqlite", dir);
	snprintf(wal, sizeof wal, "%s-wal", db);

	CHECK(chown(dir, other, (gid_t)-1) == 0 && chmod(dir, 0755) == 0);
	why[0] = '\0';
	int r = store_open(dir, STORE_SYNC_NORMAL, &s, NULL, why, sizeof why);
	CHECKF(r == -EPERM && s == NULL, "dir: r=%d %s", r, why);
	CHECKF(strstr(why, dir) != NULL && strstr(why, "uid 65534") != NULL &&
	       strstr(why, "chown") != NULL, "why: %s", why);
	CHECKF(modeof(dir) == 0755, "refused dir's mode changed: %o", modeof(dir));
	CHECK(chown(dir, 0, (gid_t)-1) == 0);

	CHECK(chown(db, other, (gid_t)-1) == 0 && chmod(db, 0644) == 0);
	r = store_open(dir, STORE_SYNC_NORMAL, &s, NULL, why, sizeof why);
	CHECKF(r == -EPERM && s == NULL, "db: r=%d %s", r, why);
	CHECKF(strstr(why, db) != NULL && strstr(why, "uid 65534") != NULL, "why: %s", why);
	CHECKF(modeof(db) == 0644, "refused db's mode changed: %o", modeof(db));
	CHECK(chown(db, 0, (gid_t)-1) == 0);

	/* A WAL another user put there would be replayed into the database. */
	spew(wal, "", 0);
	CHECK(chown(wal, other, (gid_t)-1) == 0);
	r = store_open(dir, STORE_SYNC_NORMAL, &s, NULL, why, sizeof why);
	CHECKF(r == -EPERM && strstr(why, wal) != NULL, "wal: r=%d %s", r, why);
	CHECK(unlink(wal) == 0);

	/* A parent of another user's. */
	char *top = scratch_path();
	char below[160];
	snprintf(below, sizeof below, "%s/store", top);
	CHECK(mkdir(top, 0755) == 0 && chown(top, other, (gid_t)-1) == 0);
	r = store_open(below, STORE_SYNC_NORMAL, &s, NULL, why, sizeof why);
	CHECKF(r == -EPERM && strstr(why, "belongs to") != NULL, "parent: r=%d %s", r, why);

	s = open_ok(dir, NULL);
	store_close(s);
}

static void test_dir_errors(void)
{
	Store *s = NULL;
	int r;
	/* The parent is a regular file: mkdir fails with ENOTDIR. */
	char *file = scratch_path();
	spew(file, "x", 1);
	char dir[160];
	snprintf(dir, sizeof dir, "%s/store", file);
	why[0] = '\0';
	r = store_open(dir, STORE_SYNC_NORMAL, &s, NULL, why, sizeof why);
	CHECKF(r == -ENOTDIR && s == NULL, "r=%d", r);
	CHECKF(strstr(why, dir) != NULL, "why: %s", why);

	/* The directory itself is a regular file. */
	r = store_open(file, STORE_SYNC_NORMAL, &s, NULL, why, sizeof why);
	CHECKF(r == -ENOTDIR && strstr(why, "not a directory") != NULL, "r=%d %s", r, why);

	/* Missing parents are created (0755), as the original jobd did, and the
	 * directory itself 0700. */
	snprintf(dir, sizeof dir, "%s/missing/more/store/", scratch_root());
	mode_t old = umask(0);
	r = store_open(dir, STORE_SYNC_FULL, &s, NULL, why, sizeof why);
	umask(old);
	CHECKF(r == 0 && s != NULL, "r=%d %s", r, why);
	store_close(s);
	s = NULL;
	struct stat sb;
	snprintf(dir, sizeof dir, "%s/missing/more", scratch_root());
	CHECK(stat(dir, &sb) == 0 && (sb.st_mode & 07777) == 0755);
	snprintf(dir, sizeof dir, "%s/missing/more/store", scratch_root());
	CHECK(stat(dir, &sb) == 0 && (sb.st_mode & 07777) == 0700);

	CHECK(store_open("", STORE_SYNC_NORMAL, &s, NULL, why, sizeof why) == -EINVAL);
	CHECK(store_open(scratch_path(), 5, &s, NULL, why, sizeof why) == -EINVAL);

	/* Permissions only bind a non-root user. */
	if (geteuid() != 0) {
		char *ro = scratch_path();
		CHECK(mkdir(ro, 0500) == 0);
		r = store_open(ro, STORE_SYNC_NORMAL, &s, NULL, why, sizeof why);
		CHECKF(r == -EACCES && strstr(why, "not writable") != NULL, "r=%d %s", r, why);
		chmod(ro, 0700);
	}
}

/* A count from the database file through a connection of its own (as
 * another program would see it: committed batches only). */
static int64_t rawcount(const char *dir, const char *sql)
{
	char db[160];
	snprintf(db, sizeof db, "%s/jobd.sqlite", dir);
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		CHECKF(0, "%s: %s", sql, h ? sqlite3_errmsg(h) : "no memory");
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

/* Changes join one batch: seen at once by the store's own reads, by
 * another connection only once committed; store_commit calls done once. */
static void test_batch_visible(void)
{
	char *dir = scratch_path();
	Store *s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	CHECK(store_pending(s) == 0);
	Done d = commit(s);                 /* nothing to commit: done all the same */
	CHECK(d.rc == 0);
	int64_t a = mkjob(s, "a", "@daily", "a");
	CHECK(store_pending(s) == 1);
	int64_t r;
	CHECK(store_fire_claim(s, a, 60, &r, NULL, why, sizeof why) == 0);
	append_ok(s, a, r, "1:out\n", 6);
	CHECK(store_job_set_started(s, a, 1, why, sizeof why) == 0);
	CHECK(store_pending(s) == 1);
	Jobs js = load(s);
	CHECK(js.n == 1 && js.j[0].started == 1 && js.j[0].last_sched == 60);
	Runs rs = runs(s, a);
	CHECK(rs.n == 1 && rs.r[0].out_bytes == 6);
	Buf want = { 0 };
	buf_add(&want, "1:out\n", 6);
	text_is(s, a, 0, &want, 0);
	text_is(s, a, r, &want, 0);
	CHECKF(rawcount(dir, "SELECT count(*) FROM jobs") == 0, "a batch not committed is seen");
	commit_ok(s);
	CHECK(rawcount(dir, "SELECT count(*) FROM jobs") == 1);
	CHECK(rawcount(dir, "SELECT count(*) FROM runs") == 1);
	CHECK(rawcount(dir, "SELECT sum(len) FROM chunks") == 6);
	/* A read does not open a batch. */
	load(s);
	text_is(s, a, 0, &want, 0);
	CHECK(store_pending(s) == 0);
	/* The next change opens the next batch. */
	CHECK(store_job_set_started(s, a, 0, why, sizeof why) == 0);
	CHECK(store_pending(s) == 1);
	CHECK(rawcount(dir, "SELECT started FROM jobs") == 1);
	commit_ok(s);
	CHECK(rawcount(dir, "SELECT started FROM jobs") == 0);
	buf_free(&want);
	store_close(s);
}

/* A change that fails inside a batch is undone alone: the changes before
 * and after it stand, and are committed. */
static void test_batch_failed_change(void)
{
	char *dir = scratch_path();
	Store *s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	int64_t a = mkjob(s, "a", "@daily", "a");
	int64_t r1, q1, r2, q2;
	CHECK(store_fire_claim(s, a, 60, &r1, &q1, why, sizeof why) == 0);
	append_ok(s, a, r1, "1:one\n", 6);
	StoreJob dup = { .name = "a", .schedule = "@hourly", .cmd = "dup" };
	CHECK(store_job_create(s, &dup, why, sizeof why) == -EEXIST);
	CHECK(store_pending(s) == 1);
	int64_t b = mkjob(s, "b", "@hourly", "b");
	CHECK(store_fire_claim(s, a, 60, NULL, NULL, why, sizeof why) == -EALREADY);
	/* The refused claim took a run number and gave it back. */
	CHECK(store_fire_claim(s, a, 120, &r2, &q2, why, sizeof why) == 0);
	CHECKF(q2 == q1 + 1, "numbers %lld then %lld", (long long)q1, (long long)q2);
	CHECK(store_text_append(s, b, r1, "2:x\n", 4, why, sizeof why) == -ENOENT);
	CHECK(store_job_set_started(s, 999, 1, why, sizeof why) == -ENOENT);
	CHECK(store_fire_claim(s, 999, 60, NULL, NULL, why, sizeof why) == -ENOENT);
	append_ok(s, b, 0, "2:b\n", 4);
	CHECK(store_job_set_started(s, b, 1, why, sizeof why) == 0);
	CHECK(store_pending(s) == 1);
	commit_ok(s);
	store_close(s);

	s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	Jobs js = load(s);
	CHECKF(js.n == 2, "jobs %d", js.n);
	if (js.n == 2)
		CHECK(js.j[0].id == a && strcmp(js.cmd[0], "a") == 0 && js.j[0].last_sched == 120 &&
		      js.j[1].id == b && js.j[1].started == 1);
	Runs rs = runs(s, a);
	CHECKF(rs.n == 2, "runs %d", rs.n);
	if (rs.n == 2)
		CHECK(rs.r[0].id == r1 && rs.r[0].seq == q1 && rs.r[1].id == r2 &&
		      rs.r[1].seq == q1 + 1 && rs.r[0].out_bytes == 6);
	Buf wa = { 0 }, wb = { 0 };
	buf_add(&wa, "1:one\n", 6);
	buf_add(&wb, "2:b\n", 4);
	text_is(s, a, 0, &wa, 0);
	text_is(s, b, 0, &wb, 0);
	buf_free(&wa);
	buf_free(&wb);
	store_close(s);
}

/* A batch is durable once committed, and only then: a process that dies
 * (no commit, no close) loses the changes since its last commit. The
 * parent opens the store only after the child is gone (the lock is the
 * process's). */
static void test_crash_durability(void)
{
	char *dir = scratch_path();
	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		Store *s = NULL;
		char w[256];
		StoreJob j = { .name = "kept", .schedule = "@daily", .cmd = "c" };
		StoreJob k = { .name = "lost", .schedule = "@daily", .cmd = "c" };
		int64_t r;
		Done d = { 0 }, d2 = { 0 };
		if (store_open(dir, STORE_SYNC_NORMAL, &s, NULL, w, sizeof w) != 0 ||
		    store_job_create(s, &j, w, sizeof w) != 0)
			_exit(1);
		store_commit(s, done_cb, &d);
		if (d.calls != 1 || d.rc != 0)
			_exit(2);
		if (store_job_set_started(s, j.id, 1, w, sizeof w) != 0 ||
		    store_fire_claim(s, j.id, 600, &r, NULL, w, sizeof w) != 0 ||
		    store_text_append(s, j.id, r, "1:last words\n", 13, w, sizeof w) != 0)
			_exit(3);
		store_commit(s, done_cb, &d2);
		if (d2.calls != 1 || d2.rc != 0 || store_pending(s))
			_exit(4);
		/* Never committed. */
		if (store_job_create(s, &k, w, sizeof w) != 0 ||
		    store_job_set_started(s, j.id, 0, w, sizeof w) != 0 ||
		    store_fire_claim(s, j.id, 660, NULL, NULL, w, sizeof w) != 0 ||
		    store_text_append(s, j.id, r, "2:unsaid\n", 9, w, sizeof w) != 0 ||
		    store_text_append(s, j.id, 0, "2:own\n", 6, w, sizeof w) != 0 ||
		    !store_pending(s))
			_exit(5);
		_exit(0);
	}
	int st = 0;
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child: status %#x", st);
	int intr = -1;
	Store *s = open_ok(dir, &intr);
	if (s == NULL)
		return;
	CHECKF(intr == 1, "interrupted %d", intr);
	Jobs js = load(s);
	CHECKF(js.n == 1, "jobs %d", js.n);
	if (js.n < 1) {
		store_close(s);
		return;
	}
	CHECK(strcmp(js.name[0], "kept") == 0 && js.j[0].started == 1 && js.j[0].last_sched == 600);
	Runs rs = runs(s, js.j[0].id);
	CHECKF(rs.n == 1 && rs.r[0].out_bytes == 13, "runs %d", rs.n);
	Buf want = { 0 };
	buf_add(&want, "1:last words\n", 13);
	text_is(s, js.j[0].id, 0, &want, 0);
	if (rs.n >= 1)
		text_is(s, js.j[0].id, rs.r[0].id, &want, 0);
	buf_free(&want);
	CHECK(store_fire_claim(s, js.j[0].id, 600, NULL, NULL, why, sizeof why) == -EALREADY);
	CHECK(store_fire_claim(s, js.j[0].id, 660, NULL, NULL, why, sizeof why) == 0);
	mkjob(s, "lost", "@daily", "c");
	store_close(s);
}

/* store_close commits what is pending. */
static void test_close_commits(void)
{
	char *dir = scratch_path();
	Store *s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	int64_t a = mkjob(s, "a", "@daily", "a");
	int64_t r;
	CHECK(store_fire_claim(s, a, 60, &r, NULL, why, sizeof why) == 0);
	append_ok(s, a, r, "1:out\n", 6);
	StoreJob dup = { .name = "a", .schedule = "@hourly", .cmd = "dup" };
	CHECK(store_job_create(s, &dup, why, sizeof why) == -EEXIST);
	CHECK(store_pending(s) == 1);
	store_close(s);
	s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	Jobs js = load(s);
	CHECK(js.n == 1 && js.j[0].id == a && js.j[0].last_sched == 60);
	Buf want = { 0 };
	buf_add(&want, "1:out\n", 6);
	text_is(s, a, 0, &want, 0);
	text_is(s, a, r, &want, 0);
	buf_free(&want);
	store_close(s);
}

/* ---- retention ---- */

/* Claims and starts a run of job; *off: where it begins in the job's log. */
static int64_t run_begin(Store *s, int64_t job, int64_t sched, int64_t *off)
{
	int64_t id = 0;
	if (off != NULL)
		*off = log_end(s, job);
	int r = store_fire_claim(s, job, sched, &id, NULL, why, sizeof why);
	CHECKF(r == 0, "claim: %d %s", r, why);
	CHECK(store_run_start(s, id, 1000, 4242, "", why, sizeof why) == 0);
	return id;
}

static void run_done(Store *s, int64_t id)
{
	StoreRunEnd e = { .run_id = id, .state = RUN_DONE, .end_ns = 2000 };
	CHECK(store_run_end(s, &e, why, sizeof why) == 0);
}

/* A read at pos is refused as no longer kept. */
static void stale_at(Store *s, int64_t job, int64_t run, int64_t pos)
{
	char buf[16];
	size_t got = 9;
	why[0] = '\0';
	int r = store_text_read(s, job, run, pos, buf, sizeof buf, &got, why, sizeof why);
	CHECKF(r == -ESTALE && got == 0 && strstr(why, "no longer kept") != NULL,
	       "job %lld run %lld: read at %lld: %d got %zu %s", (long long)job, (long long)run,
	       (long long)pos, r, got, why);
}

static void retain_ok(Store *s, int64_t job, int64_t keep_runs, int64_t keep_bytes)
{
	int r = store_runs_retain(s, job, keep_runs, keep_bytes, NULL, why, sizeof why);
	CHECKF(r == 0, "retain: %d %s", r, why);
}

/* Five finished runs with output, lines of the job's own between them:
 * keeping 2 keeps the 2 newest, whole, and the log from where the older
 * of them began; positions before that are stale. Then by bytes. */
static void test_retain_runs(void)
{
	char *dir = scratch_path();
	Store *s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	int64_t a = mkjob(s, "a", "@daily", "a");
	Buf log = { 0 }, out[5] = { { 0 } };
	int64_t id[5], off[5];
	char piece[1600];
	uint32_t x = 777;
	for (int i = 0; i < 5; i++) {
		int len = snprintf(piece, sizeof piece, "%d:claiming run %d\n", i, i);
		add_text(s, a, 0, piece, (size_t)len, &log, NULL);
		id[i] = run_begin(s, a, 60 * (i + 1), &off[i]);
		CHECK(off[i] == (int64_t)log.n);
		for (int k = 0; k < 2 + i; k++) {
			size_t n = 1 + rnd(&x) % sizeof piece;
			mklines(piece, n, &x);
			add_text(s, a, id[i], piece, n, &log, &out[i]);
		}
		add_text(s, a, 0, "9:ended\n", 8, &log, NULL);
		run_done(s, id[i]);
	}
	commit_ok(s);
	StoreRun gone;
	CHECK(store_run_get(s, a, 1, &gone, why, sizeof why) == 0);
	retain_ok(s, a, 2, INT64_MAX);
	CHECK(store_pending(s) == 1);
	for (int pass = 0; pass < 3; pass++) {
		/* Again (nothing more goes), after a commit, after a reopen. */
		Runs rs = runs(s, a);
		CHECKF(rs.n == 2, "pass %d: runs %d", pass, rs.n);
		if (rs.n == 2)
			CHECK(rs.r[0].id == id[3] && rs.r[1].id == id[4]);
		int64_t f, e;
		extent(s, a, 0, &f, &e);
		CHECKF(f == off[3] && e == (int64_t)log.n, "pass %d: log [%lld, %lld), want [%lld, %zu)",
		       pass, (long long)f, (long long)e, (long long)off[3], log.n);
		text_is(s, a, 0, &log, off[3]);
		text_is(s, a, id[3], &out[3], 0);
		text_is(s, a, id[4], &out[4], 0);
		stale_at(s, a, 0, 0);
		stale_at(s, a, 0, off[1] + 3);
		stale_at(s, a, 0, off[3] - 1);
		CHECK(store_text_extent(s, a, id[0], &f, &e, why, sizeof why) == -ENOENT);
		CHECK(store_text_extent(s, a, id[2], &f, &e, why, sizeof why) == -ENOENT);
		CHECK(store_run_get(s, a, 1, &gone, why, sizeof why) == -ENOENT);
		if (pass == 0) {
			retain_ok(s, a, 2, INT64_MAX);
			commit_ok(s);
		} else if (pass == 1) {
			store_close(s);
			s = open_ok(dir, NULL);
			if (s == NULL)
				break;
		}
	}
	if (s == NULL)
		return;
	/* By bytes: the newest run's output fits, the next one's does not. */
	retain_ok(s, a, 10, (int64_t)out[4].n + (int64_t)out[3].n - 1);
	Runs rs = runs(s, a);
	CHECK(rs.n == 1 && rs.r[0].id == id[4]);
	text_is(s, a, 0, &log, off[4]);
	text_is(s, a, id[4], &out[4], 0);
	stale_at(s, a, 0, off[4] - 1);
	/* Not even the newest fits: no run is kept; the log keeps what the
	 * budget (2 * keep_bytes) allows of what was kept: here all of it. */
	int64_t keep = (int64_t)out[4].n - 1;
	retain_ok(s, a, 10, keep);
	CHECK(runs(s, a).n == 0);
	int64_t f, e;
	extent(s, a, 0, &f, &e);
	CHECKF(e == (int64_t)log.n && f == off[4] && e - f <= 2 * keep,
	       "no runs: log [%lld, %lld), budget %lld", (long long)f, (long long)e,
	       (long long)(2 * keep));
	text_is(s, a, 0, &log, f);
	stale_at(s, a, 0, f - 1);
	/* A smaller budget cuts into it, in whole chunks (the one it cuts through stays). */
	retain_ok(s, a, 10, 1000);
	extent(s, a, 0, &f, &e);
	CHECKF(e == (int64_t)log.n && f > off[4] && e - f <= 2000 + (int64_t)sizeof piece,
	       "no runs, budget 2000: log [%lld, %lld)", (long long)f, (long long)e);
	text_is(s, a, 0, &log, f);
	stale_at(s, a, 0, f - 1);
	/* What comes next is kept after it. */
	add_text(s, a, 0, "10:more\n", 8, &log, NULL);
	text_is(s, a, 0, &log, f);
	store_close(s);
	buf_free(&log);
	for (int i = 0; i < 5; i++)
		buf_free(&out[i]);
}

/* A run still going is never removed and holds the cut at its start, with
 * finished runs after it trimmed; once it ends it goes like any other. */
static void test_retain_running(void)
{
	Store *s = open_ok(scratch_path(), NULL);
	if (s == NULL)
		return;
	int64_t b = mkjob(s, "b", "@daily", "b");
	Buf log = { 0 }, o0 = { 0 }, out[4] = { { 0 } };
	int64_t id[4], off[4], off0;
	char piece[700];
	uint32_t x = 4242;
	add_text(s, b, 0, "1:created\n", 10, &log, NULL);
	int64_t r0 = run_begin(s, b, 0, &off0);
	CHECK(off0 == 10);
	add_text(s, b, r0, "2:long one starts\n", 18, &log, &o0);
	for (int i = 0; i < 4; i++) {
		add_text(s, b, 0, "3:own\n", 6, &log, NULL);
		id[i] = run_begin(s, b, 60 * (i + 1), &off[i]);
		for (int k = 0; k < 3; k++) {
			size_t n = 1 + rnd(&x) % sizeof piece;
			mklines(piece, n, &x);
			add_text(s, b, id[i], piece, n, &log, &out[i]);
			mklines(piece, n / 2 + 1, &x);
			add_text(s, b, r0, piece, n / 2 + 1, &log, &o0);
		}
		run_done(s, id[i]);
	}
	retain_ok(s, b, 2, INT64_MAX);
	Runs rs = runs(s, b);
	CHECKF(rs.n == 3, "runs %d", rs.n);
	if (rs.n == 3)
		CHECK(rs.r[0].id == r0 && rs.r[0].state == RUN_RUNNING && rs.r[1].id == id[2] &&
		      rs.r[2].id == id[3]);
	/* The job's first run is still kept: so is all of its log. */
	text_is(s, b, 0, &log, 0);
	text_is(s, b, r0, &o0, 0);
	text_is(s, b, id[2], &out[2], 0);
	text_is(s, b, id[3], &out[3], 0);
	int64_t f, e;
	CHECK(store_text_extent(s, b, id[1], &f, &e, why, sizeof why) == -ENOENT);
	/* It ends: now the oldest finished run, and beyond the two kept. */
	run_done(s, r0);
	retain_ok(s, b, 2, INT64_MAX);
	rs = runs(s, b);
	CHECK(rs.n == 2 && rs.r[0].id == id[2] && rs.r[1].id == id[3]);
	text_is(s, b, 0, &log, off[2]);
	stale_at(s, b, 0, off[2] - 1);
	CHECK(store_text_extent(s, b, r0, &f, &e, why, sizeof why) == -ENOENT);
	text_is(s, b, id[2], &out[2], 0);
	commit_ok(s);
	store_close(s);
	buf_free(&log);
	buf_free(&o0);
	for (int i = 0; i < 4; i++)
		buf_free(&out[i]);
}

/* The 2 * keep_bytes bound: retention called again and again keeps at most
 * that much of the log (and a chunk it cuts through); with a run going, at
 * least that much, and the run's output loses its beginning. */
/* Retention with the caller's counts (what jobd does at each run end): the
 * counts follow the store exactly, runs go one by one as new ones finish,
 * and a wrong guess is never trusted past a recount. */
static void test_retain_counted(void)
{
	Store *s = open_ok(scratch_path(), NULL);
	if (s == NULL)
		return;
	int64_t a = mkjob(s, "a", "@daily", "a");
	Buf log = { 0 };
	StoreKept kept = { -1, -1 };
	int64_t total = 0;
	for (int i = 0; i < 12; i++) {
		int64_t id = run_begin(s, a, 60 * (i + 1), NULL);
		char line[64];
		int len = snprintf(line, sizeof line, "%d:output of run %d\n", i, i);
		add_text(s, a, id, line, (size_t)len, &log, NULL);
		run_done(s, id);
		if (kept.runs >= 0) {
			kept.runs++;
			kept.bytes += len;
		}
		total += len;
		CHECK(store_runs_retain(s, a, 4, INT64_MAX, &kept, why, sizeof why) == 0);
		Runs rs = runs(s, a);
		int64_t want = i + 1 < 4 ? i + 1 : 4;
		CHECKF(rs.n == want && kept.runs == want, "after run %d: %d runs, counted %lld", i,
		       rs.n, (long long)kept.runs);
		if (rs.n > 0)
			CHECK(rs.r[rs.n - 1].id == id);
	}
	(void)total;
	/* By bytes, with the counts: each run stored 18 or 19 bytes. */
	CHECK(store_runs_retain(s, a, 10, 40, &kept, why, sizeof why) == 0);
	CHECKF(runs(s, a).n == 2 && kept.runs == 2 && kept.bytes <= 40,
	       "by bytes: %d runs, counted %lld, %lld bytes", runs(s, a).n, (long long)kept.runs,
	       (long long)kept.bytes);
	/* The log was cut at the oldest run kept. */
	int64_t f, e;
	extent(s, a, 0, &f, &e);
	CHECK(e == (int64_t)log.n && f > 0);
	text_is(s, a, 0, &log, f);
	commit_ok(s);
	store_close(s);
	buf_free(&log);
}

static void test_retain_budget(void)
{
	Store *s = open_ok(scratch_path(), NULL);
	if (s == NULL)
		return;
	enum { KEEP = 1000, PIECE = 150 };
	char piece[PIECE];
	uint32_t x = 31337;
	int64_t f, e, rf, re;

	/* Only the job's own lines. */
	int64_t c = mkjob(s, "c", "@daily", "c");
	Buf lc = { 0 };
	for (int i = 0; i < 60; i++) {
		size_t n = 50 + rnd(&x) % (PIECE - 50);
		mklines(piece, n, &x);
		add_text(s, c, 0, piece, n, &lc, NULL);
		if (i % 5 != 4)
			continue;
		retain_ok(s, c, 5, KEEP);
		extent(s, c, 0, &f, &e);
		CHECKF(e == (int64_t)lc.n && e - f <= 2 * KEEP + PIECE, "own lines, %d: [%lld, %lld)",
		       i, (long long)f, (long long)e);
		text_is(s, c, 0, &lc, f);
	}

	/* A run going from the start, a finished one before it, and lines of
	 * both kinds: the cut follows the budget into the run's output. */
	int64_t d = mkjob(s, "d", "@daily", "d");
	Buf ld = { 0 }, od = { 0 };
	int64_t done0 = run_begin(s, d, 0, NULL);
	add_text(s, d, done0, "1:quick\n", 8, &ld, NULL);
	run_done(s, done0);
	int64_t r = run_begin(s, d, 0, NULL);
	for (int i = 0; i < 80; i++) {
		size_t n = 50 + rnd(&x) % (PIECE - 50);
		mklines(piece, n, &x);
		add_text(s, d, i % 3 ? r : 0, piece, n, &ld, i % 3 ? &od : NULL);
		if (i % 5 != 4)
			continue;
		retain_ok(s, d, 5, KEEP);
		extent(s, d, 0, &f, &e);
		CHECKF(e == (int64_t)ld.n && e - f <= 2 * KEEP + PIECE &&
		       (e < 2 * KEEP ? f == 0 : e - f >= 2 * KEEP),
		       "with a run, %d: [%lld, %lld)", i, (long long)f, (long long)e);
		text_is(s, d, 0, &ld, f);
		extent(s, d, r, &rf, &re);
		CHECK(re == (int64_t)od.n);
		text_is(s, d, r, &od, rf);
		if (rf > 0) {
			stale_at(s, d, r, 0);
			stale_at(s, d, r, rf - 1);
		}
		/* The finished run began before the cut: gone with it. */
		Runs rs = runs(s, d);
		CHECKF(rs.n == (f > 0 ? 1 : 2) && rs.r[rs.n - 1].id == r &&
		       rs.r[rs.n - 1].state == RUN_RUNNING, "%d: runs %d", i, rs.n);
	}
	extent(s, d, r, &rf, &re);
	CHECKF(rf > 0, "the run's output kept whole: [%lld, %lld)", (long long)rf, (long long)re);
	commit_ok(s);
	store_close(s);
	buf_free(&lc);
	buf_free(&ld);
	buf_free(&od);
}

/* ---- from one row per line ---- */

static size_t render(void *arg, int64_t t_ns, const char *text, size_t len, char *out, size_t cap)
{
	int *calls = arg;
	if (calls != NULL)
		(*calls)++;
	int k = snprintf(out, cap, "%lld:%.*s\n", (long long)t_ns, (int)len, text);
	return k < 0 ? 0 : (size_t)k < cap ? (size_t)k : cap - 1;
}

/* A fixture of tests/e2e/fixtures, found from the program's place in the
 * build directory, or from the current directory. NUL-terminated. */
static char *fixture(const char *name)
{
	char exe[512], path[700];
	size_t len = 0;
	char *p = NULL;
	ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (k > 0) {
		exe[k] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash != NULL)
			*slash = '\0';
		snprintf(path, sizeof path, "%s/../../tests/e2e/fixtures/%s", exe, name);
		p = slurp(path, &len);
	}
	if (p == NULL) {
		snprintf(path, sizeof path, "tests/e2e/fixtures/%s", name);
		p = slurp(path, &len);
	}
	CHECKF(p != NULL, "fixture %s not found", name);
	if (p != NULL) {
		p = realloc(p, len + 1);
		p[len] = '\0';
	}
	return p;
}

/* Makes dir/jobd.sqlite from a fixture (an SQL dump of an older schema,
 * which sets application_id and user_version), then runs extra. */
static int load_fixture(const char *dir, const char *name, const char *extra)
{
	char *sql = fixture(name);
	if (sql == NULL)
		return -1;
	CHECK(mkdir(dir, 0700) == 0);
	char db[160];
	snprintf(db, sizeof db, "%s/jobd.sqlite", dir);
	sqlite3 *h = NULL;
	char *err = NULL;
	int rc = sqlite3_open(db, &h);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(h, sql, NULL, NULL, &err);
	if (rc == SQLITE_OK && extra != NULL)
		rc = sqlite3_exec(h, extra, NULL, NULL, &err);
	CHECKF(rc == SQLITE_OK, "loading %s: %s", name, err ? err : sqlite3_errmsg(h));
	sqlite3_free(err);
	sqlite3_close(h);
	free(sql);
	return rc == SQLITE_OK ? 0 : -1;
}

/* What converting the old rows should make, rendered here from the rows
 * themselves: each job's log and each run's output (ids below MAXID). */
enum { MAXID = 8 };
typedef struct Expect {
	Buf log[MAXID], out[MAXID];
	int64_t run_job[MAXID];     /* the job of each run there is, else 0 */
	int64_t lines;
} Expect;

static void expect_lines(const char *dir, Expect *x)
{
	memset(x, 0, sizeof *x);
	char db[160], line[8192];
	snprintf(db, sizeof db, "%s/jobd.sqlite", dir);
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	CHECK(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
	CHECK(sqlite3_prepare_v2(h, "SELECT id, job_id FROM runs", -1, &st, NULL) == SQLITE_OK);
	while (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		CHECK(id > 0 && id < MAXID);
		if (id > 0 && id < MAXID)
			x->run_job[id] = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	CHECK(sqlite3_prepare_v2(h, "SELECT job_id, run_id, t_ns, text FROM log ORDER BY job_id, id",
	                         -1, &st, NULL) == SQLITE_OK);
	while (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
		int64_t job = sqlite3_column_int64(st, 0), run = sqlite3_column_int64(st, 1);
		const char *t = sqlite3_column_blob(st, 3);
		size_t n = render(NULL, sqlite3_column_int64(st, 2), t ? t : "",
		                  (size_t)sqlite3_column_bytes(st, 3), line, sizeof line);
		CHECK(job > 0 && job < MAXID && run >= 0);
		if (job <= 0 || job >= MAXID || run < 0)
			continue;
		buf_add(&x->log[job], line, n);
		if (run > 0 && run < MAXID && x->run_job[run] == job)
			buf_add(&x->out[run], line, n);
		x->lines++;
	}
	sqlite3_finalize(st);
	sqlite3_close(h);
}

static void expect_free(Expect *x)
{
	for (int i = 0; i < MAXID; i++) {
		buf_free(&x->log[i]);
		buf_free(&x->out[i]);
	}
}

/* Every job's log and every run's output is what the rows made. */
static void converted_ok(Store *s, Expect *x, int njobs)
{
	for (int j = 1; j <= njobs; j++)
		text_is(s, j, 0, &x->log[j], 0);
	for (int r = 1; r < MAXID; r++) {
		if (x->run_job[r] == 0)
			continue;
		text_is(s, x->run_job[r], r, &x->out[r], 0);
		Runs rs = runs(s, x->run_job[r]);
		for (int i = 0; i < rs.n; i++)
			if (rs.r[i].id == r)
				CHECKF(rs.r[i].out_bytes == (int64_t)x->out[r].n, "run %d: out_bytes %lld, "
				       "want %zu", r, (long long)rs.r[i].out_bytes, x->out[r].n);
	}
}

/* A schema 1 file (tests/e2e/fixtures/jobd-v1.sql): migrated to 7, its five
 * lines converted into the log of each job and the output of each run. */
static void test_convert_v1(void)
{
	char *dir = scratch_path();
	if (load_fixture(dir, "jobd-v1.sql", NULL) < 0)
		return;
	Expect x;
	expect_lines(dir, &x);
	CHECK(x.lines == 5 && x.run_job[1] == 3 && x.run_job[2] == 3);
	int intr = -1;
	Store *s = open_ok(dir, &intr);
	if (s == NULL) {
		expect_free(&x);
		return;
	}
	CHECK(intr == 1);
	int calls = 0;
	why[0] = '\0';
	int64_t n = store_convert_lines(s, render, &calls, why, sizeof why);
	CHECKF(n == 5 && calls == 5, "converted %lld (%d calls) %s", (long long)n, calls, why);
	CHECK(store_pending(s) == 1);
	converted_ok(s, &x, 3);
	CHECK(strncmp(x.log[3].p, "1795853921144069828:started\n", 28) == 0);
	int64_t f, e;
	extent(s, 2, 0, &f, &e);
	CHECK(f == 0 && e == 0);
	/* Nothing left to convert. */
	CHECK(store_convert_lines(s, render, NULL, why, sizeof why) == 0);
	converted_ok(s, &x, 3);
	commit_ok(s);
	/* Each run begins where its first line is: retention cuts there. Run
	 * 1 (interrupted) goes, run 2 (skipped) stays. */
	int64_t off2 = (int64_t)(x.log[3].n - x.out[2].n - strlen("1795853923354823746:completed\n"));
	retain_ok(s, 3, 1, INT64_MAX);
	Runs rs = runs(s, 3);
	CHECK(rs.n == 1 && rs.r[0].id == 2);
	text_is(s, 3, 0, &x.log[3], off2);
	text_is(s, 3, 2, &x.out[2], 0);
	store_close(s);
	CHECK(rawcount(dir, "SELECT count(*) FROM log") == 0);
	s = open_ok(dir, NULL);
	if (s != NULL) {
		CHECK(store_convert_lines(s, render, NULL, why, sizeof why) == 0);
		text_is(s, 1, 0, &x.log[1], 0);
		text_is(s, 3, 2, &x.out[2], 0);
		store_close(s);
	}
	expect_free(&x);
}

/* A schema 3 file (jobd-v3.sql) with many more lines: runs of lines of one
 * (job, run) long enough to make several chunks, others that alternate
 * every few lines, and lines of a run no longer kept (they stay in the
 * job's log). */
static void test_convert_v3(void)
{
	char *dir = scratch_path();
	static const char extra[] =
		"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000)"
		" INSERT INTO log(job_id, run_id, t_ns, text) SELECT 1,"
		" CASE WHEN x % 500 = 0 THEN 99 WHEN x % 7 = 0 THEN 0 ELSE 1 END,"
		" 1800000000000000000 + x, printf('out %d %040d', x, x * x) FROM c;"
		"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000)"
		" INSERT INTO log(job_id, run_id, t_ns, text) SELECT 2, 0, 1800000000000000000 + x,"
		" printf('own line %d of job 2: %050d', x, x) FROM c;"
		"INSERT INTO log(job_id, run_id, t_ns, text) VALUES(1, 1, 5, X'00ff0a41');";
	if (load_fixture(dir, "jobd-v3.sql", extra) < 0)
		return;
	Expect x;
	expect_lines(dir, &x);
	CHECKF(x.lines == 5003, "lines %lld", (long long)x.lines);
	CHECK(x.run_job[1] == 1 && x.log[2].n > 2 * 64 * 1024);
	Store *s = open_ok(dir, NULL);
	if (s == NULL) {
		expect_free(&x);
		return;
	}
	int calls = 0;
	int64_t n = store_convert_lines(s, render, &calls, why, sizeof why);
	CHECKF(n == x.lines && calls == n, "converted %lld (%d calls) %s", (long long)n, calls, why);
	converted_ok(s, &x, 2);
	CHECK(store_convert_lines(s, render, NULL, why, sizeof why) == 0);
	store_close(s);
	CHECK(rawcount(dir, "SELECT count(*) FROM log") == 0);
	CHECK(rawcount(dir, "SELECT count(*) FROM chunks WHERE job_id = 2") >= 2);
	s = open_ok(dir, NULL);
	if (s != NULL) {
		converted_ok(s, &x, 2);
		/* And it goes on from there. */
		append_ok(s, 1, 1, "1:more\n", 7);
		buf_add(&x.log[1], "1:more\n", 7);
		buf_add(&x.out[1], "1:more\n", 7);
		converted_ok(s, &x, 2);
		store_close(s);
	}
	expect_free(&x);
}

/* ---- a full disk ---- */

enum { TMPFS_BYTES = 4 << 20, RESERVE = 512 * 1024 };

/* In a mount namespace of this process's own, a small tmpfs on mnt. 0, or
 * -1 with the reason. */
static int tmpfs_enter(const char *mnt, char *reason, size_t n)
{
	char opt[64];
	snprintf(opt, sizeof opt, "size=%d,mode=0700", TMPFS_BYTES);
	if (geteuid() != 0)
		snprintf(reason, n, "needs root (mounts a small tmpfs)");
	else if (unshare(CLONE_NEWNS) < 0)
		snprintf(reason, n, "cannot make a mount namespace: %s", strerror(errno));
	else if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		snprintf(reason, n, "cannot make mounts private: %s", strerror(errno));
	else if (mkdir(mnt, 0700) < 0 && errno != EEXIST)
		snprintf(reason, n, "mkdir %s: %s", mnt, strerror(errno));
	else if (mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV, opt) < 0)
		snprintf(reason, n, "cannot mount a tmpfs: %s", strerror(errno));
	else
		return 0;
	return -1;
}

/* Whether tmpfs_enter works here, tried in a child; if not, why. */
static int tmpfs_possible(char *reason, size_t n)
{
	int p[2];
	if (pipe(p) < 0) {
		snprintf(reason, n, "pipe: %s", strerror(errno));
		return 0;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		char r[200] = "", mnt[160];
		snprintf(mnt, sizeof mnt, "%s/probe", scratch_root());
		int ok = tmpfs_enter(mnt, r, sizeof r) == 0;
		if (ok)
			umount(mnt);
		ssize_t k = write(p[1], r, strlen(r));
		_exit(ok && k >= 0 ? 0 : 1);
	}
	close(p[1]);
	ssize_t k = pid > 0 ? read(p[0], reason, n - 1) : -1;
	reason[k > 0 ? k : 0] = '\0';
	close(p[0]);
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) != pid) {
		snprintf(reason, n, "fork: %s", strerror(errno));
		return 0;
	}
	if (reason[0] == '\0' && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		snprintf(reason, n, "the probe failed (status %#x)", st);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static int64_t reserve_bytes(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? (int64_t)sb.st_blocks * 512 : -1;
}

static void sleep_s(int sec)
{
	struct timespec ts = { sec, 0 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The store on a tmpfs filled to the last byte: a commit that needs room
 * goes in on the reserve; changes are then refused at once, reads still
 * work; once there is room and the next try is due, changes are taken. */
static void disk_full_on(const char *mnt)
{
	char dir[200], filler[200], reserve[240];
	snprintf(dir, sizeof dir, "%s/db", mnt);
	snprintf(filler, sizeof filler, "%s/filler", mnt);
	snprintf(reserve, sizeof reserve, "%s/jobd.reserve", dir);
	Store *s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	CHECKF(reserve_bytes(reserve) >= RESERVE, "reserve %lld bytes", (long long)reserve_bytes(reserve));
	int64_t a = mkjob(s, "a", "@daily", "a");
	commit_ok(s);

	int fd = open(filler, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	static char block[64 * 1024];
	memset(block, 'f', sizeof block);
	size_t size = sizeof block;
	int err = 0;
	while (fd >= 0) {
		if (write(fd, block, size) > 0)
			continue;
		err = errno;
		if (size == 1)
			break;
		size /= 2;
	}
	close(fd);
	struct statvfs vfs;
	CHECK(statvfs(mnt, &vfs) == 0 && vfs.f_bavail == 0);
	CHECKF(err == ENOSPC, "filling: %s", strerror(err));

	/* More than any room left, less than the reserve. */
	Buf log = { 0 };
	char *piece = malloc(32 * 1024);
	uint32_t x = 5;
	for (int i = 0; i < 8; i++) {
		mklines(piece, 32 * 1024, &x);
		add_text(s, a, 0, piece, 32 * 1024, &log, NULL);
	}
	free(piece);
	Done d = commit(s);
	CHECKF(d.rc == 0, "commit on a full disk: %d %s", d.rc, d.why);
	CHECK(store_pending(s) == 0);
	CHECKF(access(reserve, F_OK) < 0, "the reserve is still there (%lld bytes)",
	       (long long)reserve_bytes(reserve));

	/* Refused at once, with the reason; no batch opened. */
	StoreJob j = { .name = "b", .schedule = "@daily", .cmd = "b" };
	why[0] = '\0';
	int r = store_job_create(s, &j, why, sizeof why);
	CHECKF(r == -ENOSPC && strstr(why, "disk full") != NULL, "create: %d %s", r, why);
	why[0] = '\0';
	r = store_text_append(s, a, 0, "1:x\n", 4, why, sizeof why);
	CHECKF(r == -ENOSPC && strstr(why, "disk full") != NULL, "append: %d %s", r, why);
	r = store_fire_claim(s, a, 60, NULL, NULL, why, sizeof why);
	CHECKF(r == -ENOSPC, "claim: %d %s", r, why);
	CHECK(store_pending(s) == 0);
	d = commit(s);
	CHECK(d.rc == 0);
	/* Reads work. */
	Jobs js = load(s);
	CHECK(js.n == 1 && js.j[0].id == a);
	text_is(s, a, 0, &log, 0);

	/* Room again: taken at the next try (every 5 s), not before. */
	CHECK(unlink(filler) == 0);
	r = store_job_set_started(s, a, 1, why, sizeof why);
	CHECKF(r == -ENOSPC, "before the next try: %d %s", r, why);
	sleep_s(6);
	r = store_job_set_started(s, a, 1, why, sizeof why);
	CHECKF(r == 0, "with room again: %d %s", r, why);
	CHECKF(reserve_bytes(reserve) >= RESERVE, "reserve %lld bytes",
	       (long long)reserve_bytes(reserve));
	append_ok(s, a, 0, "2:room\n", 7);
	buf_add(&log, "2:room\n", 7);
	commit_ok(s);
	store_close(s);
	s = open_ok(dir, NULL);
	if (s != NULL) {
		js = load(s);
		CHECK(js.n == 1 && js.j[0].started == 1);
		text_is(s, a, 0, &log, 0);
		store_close(s);
	}
	buf_free(&log);
}

static void test_disk_full(void)
{
	char mnt[160];
	snprintf(mnt, sizeof mnt, "%s/full", scratch_root());
	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		/* The mount is this child's alone, and goes with it. */
		char reason[200];
		if (tmpfs_enter(mnt, reason, sizeof reason) < 0) {
			printf("#   %s\n", reason);
			fflush(stdout);
			_exit(2);
		}
		int before = unit_failed_checks;
		disk_full_on(mnt);
		if (umount(mnt) < 0) {
			CHECKF(0, "umount %s: %s", mnt, strerror(errno));
			umount2(mnt, MNT_DETACH);
		}
		fflush(stdout);
		_exit(unit_failed_checks != before);
	}
	int st = 0;
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "in the child (checks above): status %#x", st);
}

/* The reserve is made at open: jobd's file, 0600, with real blocks. */
static void test_reserve_made(void)
{
	char *dir = scratch_path();
	Store *s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	char reserve[160];
	snprintf(reserve, sizeof reserve, "%s/jobd.reserve", dir);
	CHECKF(modeof(reserve) == 0600, "mode %o", modeof(reserve));
	CHECKF(reserve_bytes(reserve) >= RESERVE, "%lld bytes", (long long)reserve_bytes(reserve));
	store_close(s);
	/* Made again if it went. */
	CHECK(unlink(reserve) == 0);
	s = open_ok(dir, NULL);
	CHECK(reserve_bytes(reserve) >= RESERVE);
	mkjob(s, "a", "@daily", "a");
	commit_ok(s);
	store_close(s);
}

/* Callbacks may call back into the store, even the same reader. */
static Store *reent;

static int nested(void *arg, const StoreJob *j)
{
	int *count = arg;
	Jobs inner = load(reent);
	CHECK(inner.n == 3);
	CHECK(store_job_set_started(reent, j->id, 1, why, sizeof why) == 0);
	append_ok(reent, j->id, 0, "1:n\n", 4);
	(*count)++;
	return 0;
}

static void test_reentrant(void)
{
	char *dir = scratch_path();
	reent = open_ok(dir, NULL);
	if (reent == NULL)
		return;
	mkjob(reent, "a", "@daily", "a");
	mkjob(reent, "b", "@daily", "b");
	mkjob(reent, "c", "@daily", "c");
	int count = 0;
	CHECK(store_jobs_load(reent, nested, &count, why, sizeof why) == 0);
	CHECK(count == 3);
	store_close(reent);
	/* Writes made inside the callback were committed. */
	reent = open_ok(dir, NULL);
	Jobs js = load(reent);
	CHECK(js.n == 3 && js.j[0].started && js.j[1].started && js.j[2].started);
	Buf want = { 0 };
	buf_add(&want, "1:n\n", 4);
	for (int i = 0; i < js.n; i++)
		text_is(reent, js.j[i].id, 0, &want, 0);
	buf_free(&want);
	store_close(reent);
}

int main(void)
{
	unit_prog = "t_store";
	if (scratch_init(unit_prog) < 0)
		return 1;
	unit_run("jobs_roundtrip", test_jobs_roundtrip);
	unit_run("jobs_many", test_jobs_many);
	unit_run("dup_name", test_dup_name);
	unit_run("ids_not_reused", test_ids_not_reused);
	unit_run("started_persists", test_started_persists);
	unit_run("fire_claim", test_fire_claim);
	unit_run("fire_skip", test_fire_skip);
	unit_run("run_lifecycle", test_run_lifecycle);
	unit_run("text", test_text);
	unit_run("text_errors", test_text_errors);
	unit_run("delete_cascades", test_delete_cascades);
	unit_run("lock", test_lock);
	unit_run("run_get", test_run_get);
	unit_run("cloexec", test_cloexec);
	unit_run("newer_schema", test_newer_schema);
	unit_run("migrate_limits", test_migrate_limits);
	unit_run("migrate_orphan", test_migrate_orphan);
	unit_run("garbage_file", test_garbage_file);
	unit_run("corrupt_pages", test_corrupt_pages);
	unit_run("dir_created_0700", test_dir_created_0700);
	unit_run("dir_errors", test_dir_errors);
	unit_run("file_modes", test_file_modes);
	unit_run("foreign_dir", test_foreign_dir);
	unit_run("links_refused", test_links_refused);
	unit_run("parents", test_parents);
	unit_run("other_owner", test_other_owner);
	unit_run("batch_visible", test_batch_visible);
	unit_run("batch_failed_change", test_batch_failed_change);
	unit_run("crash_durability", test_crash_durability);
	unit_run("close_commits", test_close_commits);
	unit_run("retain_runs", test_retain_runs);
	unit_run("retain_running", test_retain_running);
	unit_run("retain_budget", test_retain_budget);
	unit_run("retain_counted", test_retain_counted);
	unit_run("convert_v1", test_convert_v1);
	unit_run("convert_v3", test_convert_v3);
	unit_run("reserve_made", test_reserve_made);
	char reason[200] = "";
	if (tmpfs_possible(reason, sizeof reason))
		unit_run("disk_full", test_disk_full);
	else
		printf("ok - %s/disk_full # SKIP %s\n", unit_prog, reason);
	unit_run("reentrant", test_reentrant);
	scratch_rmtree(scratch_root());
	return unit_done();
}
