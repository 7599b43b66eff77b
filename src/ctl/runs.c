/* History commands: log (and log -f), runs, output (and output -f). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/ctl.h"

enum { POLL_MS = 500 };

static volatile sig_atomic_t stop_asked;

static void on_stop(int sig)
{
	(void)sig;
	stop_asked = 1;
}

/* SIGINT and SIGTERM end a follow between two polls. SA_RESTART lets a 9P
 * exchange in progress finish; the nap between polls ends at once. */
static void catch_stop(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

void ctl_nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	if (!stop_asked)
		nanosleep(&ts, NULL);
}

/* Following a file that only grows at its end (a log, a run's output).
 * jobd has no read that blocks until there is more, so this polls: every
 * POLL_MS it opens the file again and reads from where it left off. It
 * reads from the start of the last line it printed and checks that line is
 * still there: if it is not, older lines were dropped (run retention) and
 * the file moved under us, so it reads all of it and goes on after the last
 * occurrence of that line. Only whole lines are printed. */
typedef struct Follow {
	const char *path;
	uint64_t off;               /* bytes consumed: through the end of `last` */
	Buf last;                   /* the last line printed, with its newline */
	long tail;                  /* first poll: print only the last `tail` lines; -1 all */
} Follow;

/* Where the text after the last whole-line occurrence of line starts, or 0. */
static size_t after_last(const char *s, size_t len, const char *line, size_t llen)
{
	for (size_t i = len >= llen ? len - llen + 1 : 0; i-- > 0;)
		if ((i == 0 || s[i - 1] == '\n') && memcmp(s + i, line, llen) == 0)
			return i + llen;
	return 0;
}

static int follow_poll(Ctl *x, Follow *f, char *why, size_t n)
{
	Buf b = {0};
	uint64_t from = f->off - f->last.len;
	int rc = client_read_from(x->c, f->path, from, &b, why, n);
	size_t start = 0;
	if (rc == 0 && f->last.len) {
		if (b.len >= f->last.len && memcmp(b.data, f->last.data, f->last.len) == 0) {
			start = f->last.len;
		} else {
			b.len = 0;
			from = 0;
			rc = client_read_from(x->c, f->path, 0, &b, why, n);
			if (rc == 0)
				start = after_last(b.data, b.len, f->last.data, f->last.len);
		}
	}
	if (rc < 0) {
		buf_free(&b);
		return rc;
	}
	size_t end = b.len;
	while (end > start && b.data[end - 1] != '\n')
		end--;
	if (end > start) {
		size_t p = start;
		if (f->tail >= 0) {
			long k = 0;
			for (p = end - 1; p > start; p--)
				if (b.data[p - 1] == '\n' && ++k == f->tail)
					break;
			if (f->tail == 0)
				p = end;
		}
		ctl_print(x, b.data + p, end - p);
		fflush(stdout);
		size_t ls = end - 1;
		while (ls > start && b.data[ls - 1] != '\n')
			ls--;
		f->last.len = 0;
		buf_add(&f->last, b.data + ls, end - ls);
		f->off = from + end;
	}
	f->tail = -1;
	buf_free(&b);
	return 0;
}

void run_describe(const char *st, int manual, char *out, size_t n)
{
	char state[64] = "", status[128] = "-", flag[8];
	kv_get(st, "state", state, sizeof state);
	kv_get(st, "status", status, sizeof status);
	int ended = !*state || !strcmp(state, "done");
	strfmt(out, n, "%s", ended || (!strcmp(state, "interrupted") && strcmp(status, "-"))
	                     ? status : state);
	if (kv_get(st, "timed_out", flag, sizeof flag) == 0 && !strcmp(flag, "1"))
		strfmt(out + strlen(out), n - strlen(out), " timed-out");
	else if (kv_get(st, "killed", flag, sizeof flag) == 0 && !strcmp(flag, "1"))
		strfmt(out + strlen(out), n - strlen(out), " killed");
	if (manual && kv_get(st, "manual", flag, sizeof flag) == 0 && !strcmp(flag, "1"))
		strfmt(out + strlen(out), n - strlen(out), " manual");
}

/* log's and runs' -n N: the last N lines or runs; all of them (-1) without it. */
static int last_n(const Ctl *x)
{
	return x->n == CTL_UNSET ? -1 : x->n;
}

int ctl_check_last(Ctl *x)
{
	if (last_n(x) < -1)
		return ctl_usage(x, "-n: want a count of %s", !strcmp(x->cmd->name, "log") ? "lines" :
		                 "runs");
	return -1;
}

int ctl_cmd_log(Ctl *x)
{
	const char *name = x->args[0];
	char why[512], path[256];
	Follow f = { ctl_job_path(path, sizeof path, name, "log"), 0, {0}, last_n(x) };
	if (x->follow)
		catch_stop();
	int rc = follow_poll(x, &f, why, sizeof why);
	while (rc == 0 && x->follow && !stop_asked) {
		ctl_nap(POLL_MS);
		if (!stop_asked)
			rc = follow_poll(x, &f, why, sizeof why);
	}
	buf_free(&f.last);
	return rc < 0 ? ctl_job_refused(x, name, rc, why) : EX_OK;
}

char *ctl_follow_run(Ctl *x, const char *name, long run, int *ex)
{
	char why[512], out[256], stpath[256];
	Follow f = { ctl_run_path(out, sizeof out, name, run, "output"), 0, {0}, -1 };
	ctl_run_path(stpath, sizeof stpath, name, run, "status");
	catch_stop();
	char *st = NULL;
	int rc = 0;
	for (;;) {
		/* The status first: output read after it has ended is complete. */
		free(st);
		if (!(st = ctl_read(x, stpath, &rc, why, sizeof why)))
			break;
		char state[64] = "";
		kv_get(st, "state", state, sizeof state);
		if ((rc = follow_poll(x, &f, why, sizeof why)) < 0 || strcmp(state, "running") != 0)
			break;
		ctl_nap(POLL_MS);
		if (stop_asked) {
			free(st);
			buf_free(&f.last);
			*ex = 128 + SIGINT;
			return NULL;
		}
	}
	buf_free(&f.last);
	if (rc < 0) {
		free(st);
		*ex = ctl_job_refused(x, name, rc, why);
		return NULL;
	}
	*ex = EX_OK;
	return st;
}

typedef struct RunsRow {
	Table *t;
	const long *runs;
} RunsRow;

static void runs_row(void *arg, size_t i, int rc, const char *st, size_t len, const char *why)
{
	RunsRow *rr = arg;
	(void)len;
	(void)why;
	if (rc < 0)
		return;                 /* dropped by retention since the listing */
	char num[32], start[64] = "-", dur[64] = "-", what[256];
	kv_get(st, "start", start, sizeof start);
	kv_get(st, "duration", dur, sizeof dur);
	run_describe(st, 1, what, sizeof what);
	table_row(rr->t, strfmt(num, sizeof num, "%ld", rr->runs[i]), start, dur, what);
}

/* One status file per run, read in a pipeline: 10,000 runs cost about as
 * many round trips as 300 would one by one. */
int ctl_cmd_runs(Ctl *x)
{
	const char *name = x->args[0];
	int last = last_n(x);
	char why[512], path[256];
	long *runs;
	size_t n;
	int rc;
	if ((rc = ctl_job_runs(x, name, &runs, &n, why, sizeof why)) < 0)
		return ctl_job_refused(x, name, rc, why);
	Table t;
	table_init(&t, 4);
	table_row(&t, "RUN", "START", "DURATION", "STATUS");
	size_t from = last >= 0 && (size_t)last < n ? n - (size_t)last : 0;
	char **paths = xcalloc(n - from + 1, sizeof *paths);
	for (size_t i = from; i < n; i++)
		paths[i - from] = xstrdup(ctl_run_path(path, sizeof path, name, runs[i], "status"));
	RunsRow rr = { &t, runs + from };
	rc = client_read_many(x->c, (const char *const *)paths, n - from, runs_row, &rr, why,
	                      sizeof why);
	for (size_t i = 0; i < n - from; i++)
		free(paths[i]);
	free(paths);
	free(runs);
	if (rc < 0) {
		table_free(&t);
		return ctl_job_refused(x, name, rc, why);
	}
	table_print(&t, stdout, x->tty);
	table_free(&t);
	return EX_OK;
}

/* output NAME [RUN]: the run's number, 0 when not given, -1 if it is not a number. */
static long run_arg(const Ctl *x)
{
	if (x->nargs < 2)
		return 0;
	char *end;
	long run = strtol(x->args[1], &end, 10);
	return *end || run <= 0 ? -1 : run;
}

int ctl_check_output(Ctl *x)
{
	if (run_arg(x) < 0)
		return ctl_usage(x, "RUN: want a run number, got '%s'", x->args[1]);
	return -1;
}

int ctl_cmd_output(Ctl *x)
{
	const char *name = x->args[0];
	long run = run_arg(x);
	char why[512], path[256];
	int rc;
	if (!run) {
		long *runs;
		size_t n;
		if ((rc = ctl_job_runs(x, name, &runs, &n, why, sizeof why)) < 0)
			return ctl_job_refused(x, name, rc, why);
		run = n ? runs[n - 1] : 0;
		free(runs);
		if (!run)
			return ctl_refused(name, "no runs yet");
	}
	if (x->follow) {
		char *st = ctl_follow_run(x, name, run, &rc);
		free(st);
		return rc;
	}
	char *out = ctl_read(x, ctl_run_path(path, sizeof path, name, run, "output"), &rc, why,
	                     sizeof why);
	if (!out) {
		if (rc == -ENOENT && ctl_job_exists(x, name) == 1)
			return ctl_refused(name, strfmt(why, sizeof why, "no run %ld", run));
		return ctl_job_refused(x, name, rc, why);
	}
	ctl_print(x, out, strlen(out));
	free(out);
	return EX_OK;
}
