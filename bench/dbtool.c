/* dbtool: prepares and reads jobd databases for `make bench`, while no jobd
 * holds them (store_open takes the directory's lock).
 *
 *   dbtool jobs DIR -n N [-prefix P] [-started 0|1] [-sched EXPR] [-cmd CMD]
 *       Adds N jobs named P0..P<N-1>. The schema comes from store_open (so it
 *       is whatever this jobd migrates to); the rows are then inserted with
 *       SQLite directly, in one transaction, because store_job_create commits
 *       once per job and 1M commits take minutes.
 *   dbtool log DIR -job NAME -n LINES [-len BYTES]
 *       Appends LINES log lines of BYTES bytes to job NAME (store_text_append).
 *   dbtool fires DIR [-prefix P] -from S0 -to S1 [-jobs N]
 *       For the jobs named P*, the run records whose scheduled second is in
 *       [S0, S1]: lateness (start - scheduled: the run record's start is
 *       written when the spawn returns, after the child's exec), and missed
 *       ticks (seconds without a run, or whose run was skipped). -jobs N:
 *       the first N such jobs only.
 *   dbtool count DIR -from NS -to NS
 *       Runs started in [NS, NS) (unix nanoseconds) over all jobs. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "benchlib.h"
#include "store/store.h"

typedef struct Opt {
	const char *dir, *prefix, *sched, *cmd, *job;
	long n, len, limit;
	int started;
	long long from, to;
} Opt;

static Store *open_store(const char *dir)
{
	char why[512];
	Store *s;
	int interrupted = 0;
	if (store_open(dir, STORE_SYNC_NORMAL, &s, &interrupted, why, sizeof why) < 0)
		die("%s: %s", dir, why);
	return s;
}

static int mode_jobs(const Opt *o)
{
	store_close(open_store(o->dir));     /* creates and migrates the schema */
	char path[4096];
	snprintf(path, sizeof path, "%s/jobd.sqlite", o->dir);
	sqlite3 *db;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		die("%s: %s", path, sqlite3_errmsg(db));
	sqlite3_exec(db, "PRAGMA synchronous = OFF; BEGIN", NULL, NULL, NULL);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "INSERT INTO jobs(name, schedule, cmd, started, created_ns,"
	                       " last_sched) VALUES(?1, ?2, ?3, ?4, ?5, 0)", -1, &st, NULL) != SQLITE_OK)
		die("prepare: %s", sqlite3_errmsg(db));
	int64_t now = wall_ns();
	char name[256];
	double strings = 0;
	for (long i = 0; i < o->n; i++) {
		snprintf(name, sizeof name, "%s%ld", o->prefix, i);
		strings += (double)(strlen(name) + strlen(o->sched) + strlen(o->cmd) + 3);
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, o->sched, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, o->cmd, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, o->started);
		sqlite3_bind_int64(st, 5, now);
		if (sqlite3_step(st) != SQLITE_DONE)
			die("insert %s: %s", name, sqlite3_errmsg(db));
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		die("commit: %s", sqlite3_errmsg(db));
	sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	sqlite3_close(db);
	/* What the job's three strings take, NULs included (not malloc's rounding). */
	printf("jobs=%ld strings_per_job=%.1f\n", o->n, o->n ? strings / (double)o->n : 0.0);
	return 0;
}

/* ---- reading jobs and runs through the store ---- */

typedef struct JobRef {
	int64_t id;
	char *name;
} JobRef;

typedef struct Jobs {
	JobRef *v;
	size_t n, cap;
	const char *prefix;
} Jobs;

static int collect_job(void *arg, const StoreJob *j)
{
	Jobs *js = arg;
	if (strncmp(j->name, js->prefix, strlen(js->prefix)) != 0)
		return 0;
	if (js->n == js->cap) {
		js->cap = js->cap ? js->cap * 2 : 1024;
		js->v = realloc(js->v, js->cap * sizeof *js->v);
	}
	js->v[js->n++] = (JobRef){ j->id, strdup(j->name) };
	return 0;
}

static void load_jobs(Store *s, Jobs *js)
{
	char why[512];
	if (store_jobs_load(s, collect_job, js, why, sizeof why) < 0)
		die("loading jobs: %s", why);
}

static int mode_log(const Opt *o)
{
	Store *s = open_store(o->dir);
	Jobs js = { .prefix = o->job };
	load_jobs(s, &js);
	int64_t id = 0;
	for (size_t i = 0; i < js.n; i++)
		if (!strcmp(js.v[i].name, o->job))
			id = js.v[i].id;
	if (!id)
		die("no job %s", o->job);
	/* Lines rendered as jobd renders them ("<time>:<text>\n"), in chunks of
	 * about 64 KiB, as jobd stores them. */
	size_t cap = 64 * 1024 + (size_t)o->len + 128, len = 0;
	char *chunk = malloc(cap), *line = malloc((size_t)o->len + 32), why[512];
	if (!chunk || !line)
		die("out of memory");
	for (long i = 0; i < o->n; i++) {
		int k = snprintf(line, (size_t)o->len + 32, "%08ld ", i);
		memset(line + k, 'a' + (int)(i % 26), (size_t)o->len - (size_t)k);
		len += (size_t)snprintf(chunk + len, cap - len, "2026-12-02 00:00:%02ld.%09ld +0000 UTC:",
		                        i / 1000000000 % 60, i % 1000000000);
		memcpy(chunk + len, line, (size_t)o->len);
		len += (size_t)o->len;
		chunk[len++] = '\n';
		if (len >= 64 * 1024 || i == o->n - 1) {
			if (store_text_append(s, id, 0, chunk, len, why, sizeof why) < 0)
				die("log line %ld: %s", i, why);
			len = 0;
		}
	}
	free(chunk);
	free(line);
	store_close(s);
	printf("lines=%ld\n", o->n);
	return 0;
}

typedef struct Fires {
	const Opt *o;
	int64_t job_id;
	long long prev;             /* last scheduled second seen in range, 0 if none */
	long missed, skipped, runs;
	double *lat;
	size_t nlat, cap;
	long long count;            /* mode count: runs started in the window */
} Fires;

static int fire_run(void *arg, const StoreRun *r)
{
	Fires *f = arg;
	const Opt *o = f->o;
	if (r->sched < o->from || r->sched > o->to || r->sched == 0)
		return 0;
	if (r->sched <= f->prev)
		return 0;                   /* runs come oldest first; a repeat is not a tick */
	f->missed += f->prev ? r->sched - f->prev - 1 : r->sched - o->from;
	f->prev = r->sched;
	if (r->state == RUN_SKIPPED || r->start_ns == 0) {
		f->skipped++;
		f->missed++;
		return 0;
	}
	f->runs++;
	if (f->nlat == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 4096;
		f->lat = realloc(f->lat, f->cap * sizeof *f->lat);
	}
	f->lat[f->nlat++] = (double)(r->start_ns - (int64_t)r->sched * 1000000000) / 1e6;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int mode_fires(const Opt *o)
{
	Store *s = open_store(o->dir);
	Jobs js = { .prefix = o->prefix };
	load_jobs(s, &js);
	Fires f = { .o = o };
	char why[512];
	if (o->limit > 0 && js.n > (size_t)o->limit)
		js.n = (size_t)o->limit;         /* the first jobs only (creation order) */
	for (size_t i = 0; i < js.n; i++) {
		f.prev = 0;
		if (store_runs_read(s, js.v[i].id, fire_run, &f, why, sizeof why) < 0)
			die("runs of %s: %s", js.v[i].name, why);
		f.missed += f.prev ? o->to - f.prev : o->to - o->from + 1;
	}
	store_close(s);
	qsort(f.lat, f.nlat, sizeof *f.lat, cmp_double);
	size_t n = f.nlat;
	printf("jobs=%zu runs=%ld missed=%ld skipped=%ld source=run_records", js.n, f.runs, f.missed,
	       f.skipped);
	if (n)
		printf(" lat_p50_ms=%.3f lat_p99_ms=%.3f lat_max_ms=%.3f", f.lat[n / 2],
		       f.lat[(size_t)((double)n * 0.99)], f.lat[n - 1]);
	else
		printf(" lat_p50_ms=n/a lat_p99_ms=n/a lat_max_ms=n/a");
	printf("\n");
	return 0;
}

static int count_run(void *arg, const StoreRun *r)
{
	Fires *f = arg;
	if (r->start_ns >= f->o->from && r->start_ns < f->o->to)
		f->count++;
	return 0;
}

static int mode_count(const Opt *o)
{
	Store *s = open_store(o->dir);
	Jobs js = { .prefix = "" };
	load_jobs(s, &js);
	Fires f = { .o = o };
	char why[512];
	for (size_t i = 0; i < js.n; i++)
		if (store_runs_read(s, js.v[i].id, count_run, &f, why, sizeof why) < 0)
			die("runs of %s: %s", js.v[i].name, why);
	store_close(s);
	printf("runs=%lld\n", f.count);
	return 0;
}

int main(int argc, char **argv)
{
	progname = "dbtool";
	if (argc < 3)
		die("usage: dbtool jobs|log|fires|count DIR [options] (see the source)");
	Opt o = { .dir = argv[2], .prefix = "b", .sched = "@yearly", .cmd = "true", .len = 100 };
	for (int i = 3; i + 1 < argc; i += 2) {
		const char *a = argv[i], *v = argv[i + 1];
		if (!strcmp(a, "-n")) o.n = atol(v);
		else if (!strcmp(a, "-len")) o.len = atol(v);
		else if (!strcmp(a, "-prefix")) o.prefix = v;
		else if (!strcmp(a, "-sched")) o.sched = v;
		else if (!strcmp(a, "-cmd")) o.cmd = v;
		else if (!strcmp(a, "-job")) o.job = v;
		else if (!strcmp(a, "-started")) o.started = atoi(v);
		else if (!strcmp(a, "-from")) o.from = atoll(v);
		else if (!strcmp(a, "-to")) o.to = atoll(v);
		else if (!strcmp(a, "-jobs")) o.limit = atol(v);
		else die("unknown option %s", a);
	}
	if (o.len < 16 || o.len > 4096 || o.n < 0)
		die("bad -n or -len");
	const char *mode = argv[1];
	if (!strcmp(mode, "jobs")) return mode_jobs(&o);
	if (!strcmp(mode, "log") && o.job) return mode_log(&o);
	if (!strcmp(mode, "fires")) return mode_fires(&o);
	if (!strcmp(mode, "count")) return mode_count(&o);
	die("usage: dbtool jobs|log|fires|count DIR [options] (see the source)");
}
