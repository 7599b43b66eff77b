/* Tests of the jobs store (src/store) against real files in temporary
 * directories under /tmp, all removed at the end. */
#include "store/store.h"
#include "unit.h"

#include <dirent.h>
#include <sqlite3.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char root[] = "/tmp/t_store.XXXXXX";
static int ndirs;
static char why[512];

/* A fresh directory path under root that does not exist yet. */
static char *newpath(void)
{
	static char paths[64][64];
	char *p = paths[ndirs % 64];
	snprintf(p, sizeof paths[0], "%s/d%d", root, ndirs);
	ndirs++;
	return p;
}

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

enum { MAXL = 1200 };
typedef struct Lines {
	int n, stop;               /* stop after this many lines if > 0 */
	int64_t t[MAXL], run[MAXL];
	char *text[MAXL];
	size_t len[MAXL];
} Lines;

static int collect_line(void *arg, int64_t t_ns, int64_t run_id, const char *text, size_t len)
{
	Lines *ls = arg;
	if (ls->n >= MAXL)
		return -1;
	int i = ls->n++;
	ls->t[i] = t_ns;
	ls->run[i] = run_id;
	ls->len[i] = len;
	ls->text[i] = malloc(len + 1);
	memcpy(ls->text[i], text, len);
	return ls->stop > 0 && ls->n >= ls->stop ? 7 : 0;
}

static void lines_free(Lines *ls)
{
	for (int i = 0; i < ls->n; i++)
		free(ls->text[i]);
	free(ls);
}

static Lines *readlog(Store *s, int64_t job, int stop, int want)
{
	Lines *ls = calloc(1, sizeof *ls);
	ls->stop = stop;
	int r = store_log_read(s, job, collect_line, ls, why, sizeof why);
	CHECKF(r == want, "log_read: %d (want %d) %s", r, want, why);
	return ls;
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

static int rm1(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void rmtree(const char *p)
{
	nftw(p, rm1, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- tests ---- */

static const char oddcmd[] = "echo 'a:b' \"c\\d\" \x01\x7f\xff\xfe | tr : ; exit 3";

static void test_jobs_roundtrip(void)
{
	char *dir = newpath();
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

	/* Edit: NULL keeps a field. */
	CHECK(store_job_update(s, a, "1 2 3 4 5", NULL, why, sizeof why) == 0);
	CHECK(store_job_update(s, c, NULL, "new:cmd", why, sizeof why) == 0);
	CHECK(store_job_update(s, 999, "x", "y", why, sizeof why) == -ENOENT);
	CHECK(store_job_set_started(s, 999, 1, why, sizeof why) == -ENOENT);
	js = load(s);
	if (js.n == 3) {
		CHECK(strcmp(js.sched[0], "1 2 3 4 5") == 0);
		CHECK(strcmp(js.cmd[0], oddcmd) == 0);
		CHECK(strcmp(js.sched[2], "0 0 1 1 *") == 0);
		CHECK(strcmp(js.cmd[2], "new:cmd") == 0);
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
	Store *s = open_ok(newpath(), NULL);
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
	Store *s = open_ok(newpath(), NULL);
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
	char *dir = newpath();
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
	char *dir = newpath();
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

	/* With its log line, in one transaction. */
	CHECK(store_job_set_started_log(s, a, 1, 42, "started", 7, why, sizeof why) == 0);
	CHECK(store_job_set_started_log(s, 999, 1, 43, "started", 7, why, sizeof why) == -ENOENT);
	store_close(s);
	s = open_ok(dir, NULL);
	js = load(s);
	CHECK(js.n == 1 && js.j[0].started == 1);
	Lines *ls = readlog(s, a, 0, 0);
	CHECK(ls->n == 1 && ls->t[0] == 42 && ls->run[0] == 0 && ls->len[0] == 7 &&
	      memcmp(ls->text[0], "started", 7) == 0);
	lines_free(ls);
	store_close(s);
}

static void test_fire_claim(void)
{
	char *dir = newpath();
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
	char *dir = newpath();
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
	CHECK(store_run_finish(s, r1, RUN_DONE, 2000, -9, why, sizeof why) == 0);
	CHECK(store_run_start(s, r2, 3000, 4343, "boot/77", why, sizeof why) == 0);
	CHECK(store_run_finish(s, r4, RUN_SKIPPED, 5000, 0, why, sizeof why) == 0);
	CHECK(store_run_finish(s, r3, RUN_RUNNING, 1, 0, why, sizeof why) == -EINVAL);
	CHECK(store_run_start(s, 999, 1, 1, NULL, why, sizeof why) == -ENOENT);
	char longtok[STORE_PROC_MAX + 1];
	memset(longtok, 'x', STORE_PROC_MAX);
	longtok[STORE_PROC_MAX] = '\0';
	CHECK(store_run_start(s, r3, 1, 1, longtok, why, sizeof why) == -EINVAL);
	CHECK(store_run_finish(s, 999, RUN_DONE, 1, 0, why, sizeof why) == -ENOENT);
	Runs rs = runs(s, a);
	CHECK(rs.n == 4);
	if (rs.n == 4) {
		CHECK(rs.r[0].state == RUN_DONE && rs.r[0].start_ns == 1000 &&
		      rs.r[0].end_ns == 2000 && rs.r[0].pid == 4242 && rs.r[0].status == -9 &&
		      strcmp(rs.r[0].proc, "boot/1") == 0);
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
		CHECK(store_run_settle(s, &left.r[0], 7000, "gone", 4, why, sizeof why) == 0);
		CHECK(store_run_settle(s, &left.r[0], 7000, "gone", 4, why, sizeof why) == -ENOENT);
		Lines *ls = readlog(s, a, 0, 0);
		CHECK(ls->n == 1 && ls->len[0] == 4 && memcmp(ls->text[0], "gone", 4) == 0 &&
		      ls->run[0] == r2);
		lines_free(ls);
	}
	store_close(s);
	s = open_ok(dir, &intr);
	CHECK(intr == 0);
	left.n = 0;
	CHECK(store_runs_interrupted(s, collect_run, &left) == 0 && left.n == 1);
	CHECK(left.n == 1 && left.r[0].id == r3);
	rs = runs(s, a);
	CHECK(rs.n == 4 && rs.r[1].end_ns == 7000 && rs.r[1].state == RUN_INTERRUPTED);

	/* Trimming keeps the newest finished runs and every live one. */
	int64_t r5;
	CHECK(store_fire_claim(s, a, 300, &r5, NULL, why, sizeof why) == 0);
	CHECK(store_runs_trim(s, a, 1, why, sizeof why) == 0);
	rs = runs(s, a);
	CHECKF(rs.n == 2, "after trim %d", rs.n);
	if (rs.n == 2)
		CHECK(rs.r[0].id == r4 && rs.r[1].id == r5);
	CHECK(store_runs_trim(s, a, 0, why, sizeof why) == 0);
	rs = runs(s, a);
	CHECK(rs.n == 1 && rs.r[0].id == r5);
	store_close(s);
}

static void test_log(void)
{
	char *dir = newpath();
	Store *s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	int64_t a = mkjob(s, "a", "@daily", "a");
	int64_t b = mkjob(s, "b", "@daily", "b");
	enum { N = 700 };           /* more than one page of the reader */
	char line[64];
	for (int i = 0; i < N; i++) {
		int len = snprintf(line, sizeof line, "line %d: x", i);
		line[len - 1] = (char)(i & 0xff);     /* any byte, NUL and 0xff too */
		int r = store_log_append(s, i % 2 ? b : a, i % 3, 1000 + i, line, (size_t)len,
		                         why, sizeof why);
		CHECKF(r == 0, "append %d: %d %s", i, r, why);
	}
	CHECK(store_log_append(s, a, 0, 1, "", 0, why, sizeof why) == 0);
	CHECK(store_log_append(s, 999, 0, 1, "x", 1, why, sizeof why) == -ENOENT);
	store_close(s);

	s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	Lines *ls = readlog(s, a, 0, 0);
	CHECKF(ls->n == N / 2 + 1, "n=%d", ls->n);
	int bad = 0;
	for (int k = 0; k < ls->n - 1; k++) {
		int i = 2 * k;
		int len = snprintf(line, sizeof line, "line %d: x", i);
		line[len - 1] = (char)(i & 0xff);
		if (ls->len[k] != (size_t)len || memcmp(ls->text[k], line, (size_t)len) != 0 ||
		    ls->t[k] != 1000 + i || ls->run[k] != i % 3)
			bad++;
	}
	CHECKF(bad == 0, "%d lines differ", bad);
	if (ls->n == N / 2 + 1)
		CHECK(ls->len[N / 2] == 0 && ls->t[N / 2] == 1);
	lines_free(ls);

	ls = readlog(s, b, 5, 7);      /* early stop returns the callback's value */
	CHECK(ls->n == 5);
	lines_free(ls);

	/* Retention keeps the newest lines. */
	CHECK(store_log_trim(s, b, 10, why, sizeof why) == 0);
	ls = readlog(s, b, 0, 0);
	CHECKF(ls->n == 10, "n=%d", ls->n);
	if (ls->n == 10)
		CHECK(ls->t[0] == 1000 + N - 19 && ls->t[9] == 1000 + N - 1);
	lines_free(ls);
	CHECK(store_log_trim(s, b, 100, why, sizeof why) == 0);
	ls = readlog(s, b, 0, 0);
	CHECK(ls->n == 10);
	lines_free(ls);
	CHECK(store_log_trim(s, b, 0, why, sizeof why) == 0);
	ls = readlog(s, b, 0, 0);
	CHECK(ls->n == 0);
	lines_free(ls);
	ls = readlog(s, a, 0, 0);
	CHECK(ls->n == N / 2 + 1);
	lines_free(ls);
	store_close(s);
}

static void test_delete_cascades(void)
{
	char *dir = newpath();
	Store *s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	int64_t a = mkjob(s, "a", "@daily", "a");
	int64_t b = mkjob(s, "b", "@daily", "b");
	int64_t r;
	CHECK(store_fire_claim(s, a, 86400, &r, NULL, why, sizeof why) == 0);
	CHECK(store_fire_claim(s, b, 86400, NULL, NULL, why, sizeof why) == 0);
	CHECK(store_log_append(s, a, r, 5, "out", 3, why, sizeof why) == 0);
	CHECK(store_log_append(s, b, 0, 5, "keep", 4, why, sizeof why) == 0);
	CHECK(store_job_delete(s, a, why, sizeof why) == 0);
	CHECK(store_job_delete(s, a, why, sizeof why) == -ENOENT);
	Lines *ls = readlog(s, a, 0, 0);
	CHECK(ls->n == 0);
	lines_free(ls);
	CHECK(runs(s, a).n == 0);
	CHECK(store_run_start(s, r, 1, 1, "", why, sizeof why) == -ENOENT);
	ls = readlog(s, b, 0, 0);
	CHECK(ls->n == 1);
	lines_free(ls);
	CHECK(runs(s, b).n == 1);
	/* The name is free again; the new job is a new incarnation with no history. */
	int64_t a2 = mkjob(s, "a", "@daily", "a");
	CHECK(a2 > b);
	CHECK(store_fire_claim(s, a2, 86400, NULL, NULL, why, sizeof why) == 0);
	store_close(s);
}

/* One run by its number: the run with that number, not another; none once
 * trimmed; none for another job's number. */
static void test_run_get(void)
{
	char *dir = newpath();
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
	for (int i = 0; i < 5; i++)
		CHECK(store_run_finish(s, id[i], RUN_DONE, 1, 0, why, sizeof why) == 0);
	CHECK(store_runs_trim(s, a, 2, why, sizeof why) == 0);
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
	char *dir = newpath();
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
	         "%s/jobd.lock); stop it first, or give this one another -dbdir",
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
	char *dir = newpath();
	Store *s = open_ok(dir, NULL);
	if (s == NULL)
		return;
	int64_t a = mkjob(s, "a", "@daily", "a");
	CHECK(store_log_append(s, a, 0, 1, "x", 1, why, sizeof why) == 0);
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
	char *dir = newpath();
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
	CHECK(memcmp(orig + 60, "\0\0\0\6", 4) == 0);      /* user_version 6 */
	poke32(db, 60, 7);
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
	CHECKF(strcmp(why, "database schema version 7 is newer than this jobd supports (6); "
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
	poke32(db, 60, 6);
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
 * fresh one by taking the column away) opens, keeps its jobs and their
 * settings, and then stores limits. */
static void test_migrate_limits(void)
{
	char *dir = newpath();
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
	int rc = sqlite3_exec(h, "ALTER TABLE jobs DROP COLUMN limits; PRAGMA user_version = 4;",
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
	CHECK(head != NULL && len >= 100 && memcmp(head + 60, "\0\0\0\6", 4) == 0);
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

static void test_garbage_file(void)
{
	static const size_t sizes[] = { 10, 4096 };
	for (size_t k = 0; k < 2; k++) {
		char *dir = newpath();
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
	char *dir = newpath();
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
	char *dir = newpath();
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
	char *dir = newpath();
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
	char *dir = newpath();
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
		char *dir = newpath();
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
	char *real = newpath(), *dir = newpath();
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
	char *top = newpath();
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
	char *dir = newpath();
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
	char *top = newpath();
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
	char *file = newpath();
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
	snprintf(dir, sizeof dir, "%s/missing/more/store/", root);
	mode_t old = umask(0);
	r = store_open(dir, STORE_SYNC_FULL, &s, NULL, why, sizeof why);
	umask(old);
	CHECKF(r == 0 && s != NULL, "r=%d %s", r, why);
	store_close(s);
	s = NULL;
	struct stat sb;
	snprintf(dir, sizeof dir, "%s/missing/more", root);
	CHECK(stat(dir, &sb) == 0 && (sb.st_mode & 07777) == 0755);
	snprintf(dir, sizeof dir, "%s/missing/more/store", root);
	CHECK(stat(dir, &sb) == 0 && (sb.st_mode & 07777) == 0700);

	CHECK(store_open("", STORE_SYNC_NORMAL, &s, NULL, why, sizeof why) == -EINVAL);
	CHECK(store_open(newpath(), 5, &s, NULL, why, sizeof why) == -EINVAL);

	/* Permissions only bind a non-root user. */
	if (geteuid() != 0) {
		char *ro = newpath();
		CHECK(mkdir(ro, 0500) == 0);
		r = store_open(ro, STORE_SYNC_NORMAL, &s, NULL, why, sizeof why);
		CHECKF(r == -EACCES && strstr(why, "not writable") != NULL, "r=%d %s", r, why);
		chmod(ro, 0700);
	}
}

/* A mutation acknowledged before the process dies is there afterwards: the
 * child never closes the store. */
static void test_crash_durability(void)
{
	char *dir = newpath();
	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		Store *s = NULL;
		char w[256];
		StoreJob j = { .name = "c", .schedule = "@daily", .cmd = "c" };
		int64_t r;
		if (store_open(dir, STORE_SYNC_NORMAL, &s, NULL, w, sizeof w) != 0 ||
		    store_job_create(s, &j, w, sizeof w) != 0 ||
		    store_job_set_started(s, j.id, 1, w, sizeof w) != 0 ||
		    store_fire_claim(s, j.id, 600, &r, NULL, w, sizeof w) != 0 ||
		    store_log_append(s, j.id, r, 1, "last words", 10, w, sizeof w) != 0)
			_exit(1);
		_exit(0);
	}
	int st;
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	int intr = -1;
	Store *s = open_ok(dir, &intr);
	if (s == NULL)
		return;
	CHECK(intr == 1);
	Jobs js = load(s);
	CHECK(js.n == 1 && js.j[0].started == 1 && js.j[0].last_sched == 600);
	Lines *ls = readlog(s, js.j[0].id, 0, 0);
	CHECK(ls->n == 1 && ls->len[0] == 10 && memcmp(ls->text[0], "last words", 10) == 0);
	lines_free(ls);
	CHECK(store_fire_claim(s, js.j[0].id, 600, NULL, NULL, why, sizeof why) == -EALREADY);
	store_close(s);
}

/* A full database fails calls with -ENOSPC and a "disk full" reason; the store
 * keeps working once there is room again. */
static void test_disk_full(void)
{
	Store *s = open_ok(newpath(), NULL);
	if (s == NULL)
		return;
	int64_t a = mkjob(s, "a", "@daily", "a");
	CHECK(store_set_size_limit(s, 256 * 1024, why, sizeof why) == 0);
	char line[2000];
	memset(line, 'x', sizeof line);
	int r = 0, i;
	for (i = 0; i < 1000 && r == 0; i++)
		r = store_log_append(s, a, 0, i, line, sizeof line, why, sizeof why);
	CHECKF(r == -ENOSPC, "after %d lines: %d %s", i, r, why);
	CHECKF(strstr(why, "disk full") != NULL, "why: %s", why);
	r = store_fire_claim(s, a, 60, NULL, NULL, why, sizeof why);
	CHECKF(r == 0 || r == -ENOSPC, "claim when full: %d %s", r, why);
	/* Room again: trimming frees pages. */
	CHECK(store_log_trim(s, a, 0, why, sizeof why) == 0);
	r = store_log_append(s, a, 0, 1, line, sizeof line, why, sizeof why);
	CHECKF(r == 0, "append after trim: %d %s", r, why);
	CHECK(store_set_size_limit(s, 0, why, sizeof why) == 0);
	for (i = 0; i < 300 && r == 0; i++)
		r = store_log_append(s, a, 0, i, line, sizeof line, why, sizeof why);
	CHECKF(r == 0, "after lifting the limit: %d %s", r, why);
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
	CHECK(store_log_append(reent, j->id, 0, 1, "n", 1, why, sizeof why) == 0);
	(*count)++;
	return 0;
}

static void test_reentrant(void)
{
	char *dir = newpath();
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
	store_close(reent);
}

int main(void)
{
	unit_prog = "t_store";
	if (mkdtemp(root) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	unit_run("jobs_roundtrip", test_jobs_roundtrip);
	unit_run("jobs_many", test_jobs_many);
	unit_run("dup_name", test_dup_name);
	unit_run("ids_not_reused", test_ids_not_reused);
	unit_run("started_persists", test_started_persists);
	unit_run("fire_claim", test_fire_claim);
	unit_run("run_lifecycle", test_run_lifecycle);
	unit_run("log", test_log);
	unit_run("delete_cascades", test_delete_cascades);
	unit_run("lock", test_lock);
	unit_run("run_get", test_run_get);
	unit_run("cloexec", test_cloexec);
	unit_run("newer_schema", test_newer_schema);
	unit_run("migrate_limits", test_migrate_limits);
	unit_run("garbage_file", test_garbage_file);
	unit_run("corrupt_pages", test_corrupt_pages);
	unit_run("dir_created_0700", test_dir_created_0700);
	unit_run("dir_errors", test_dir_errors);
	unit_run("file_modes", test_file_modes);
	unit_run("foreign_dir", test_foreign_dir);
	unit_run("links_refused", test_links_refused);
	unit_run("parents", test_parents);
	unit_run("other_owner", test_other_owner);
	unit_run("crash_durability", test_crash_durability);
	unit_run("disk_full", test_disk_full);
	unit_run("reentrant", test_reentrant);
	rmtree(root);
	return unit_done();
}
