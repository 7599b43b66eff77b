/* History commands: log, runs, output (their -f: follow.c). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/ctl.h"

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
	int rc;
	if (x->follow)
		return ctl_follow_log(x, name, last_n(x));
	/* The bytes as they are, with their length: a run's output, which the
	 * log holds, may have a NUL byte (ctl_read refuses those). */
	char *all;
	size_t len;
	rc = client_read_file(x->c, ctl_job_path(path, sizeof path, name, "log"), &all, &len, why,
	                      sizeof why);
	if (rc < 0)
		return ctl_job_refused(x, name, rc, why);
	size_t from = last_n(x) < 0 ? 0 : ctl_tail_start(all, len, last_n(x));
	ctl_print_lines(x, all + from, len - from, 0);
	free(all);
	return EX_OK;
}

typedef struct RunsRow {
	Ctl *x;
	Table *t;
	Json *j;
	const long *runs;
} RunsRow;

static void run_json(Json *j, const Zone *z, const RunStatus *r, long run)
{
	json_open(j, NULL, '{');
	json_int(j, "run", run);
	json_time(j, "scheduled", z, r->sched);
	json_time(j, "start", z, r->start);
	json_time(j, "end", z, r->end);
	json_num(j, "duration", r->duration);
	json_str(j, "state", r->state);
	json_str(j, "status", *r->status ? r->status : NULL);
	json_bool(j, "manual", r->manual);
	json_bool(j, "timed_out", r->timed_out);
	json_bool(j, "killed", r->killed);
	if (r->pid)
		json_int(j, "pid", r->pid);
	else
		json_str(j, "pid", NULL);
	json_int(j, "output_bytes", r->output_bytes);
	json_bool(j, "truncated", r->truncated);
	json_num(j, "lateness", r->lateness);
	json_close(j, '}');
}

static void runs_row(void *arg, size_t i, int rc, const char *st, size_t len, const char *why)
{
	RunsRow *rr = arg;
	const Zone *z = rr->x->zone;
	(void)len;
	(void)why;
	if (rc < 0)
		return;                 /* dropped by retention since the listing */
	RunStatus r;
	run_status_parse(st, &r);
	if (rr->j) {
		run_json(rr->j, z, &r, rr->runs[i]);
		return;
	}
	/* Durations as jobd wrote them: "0.0043s", "-". */
	char num[32], start[64], dur[64] = "-", what[256];
	run_describe(st, 1, what, sizeof what);
	strfmt(num, sizeof num, "%ld", rr->runs[i]);
	ctl_time_str(z, r.start, start, sizeof start);
	kv_get(st, "duration", dur, sizeof dur);
	if (rr->x->out != OUT_WIDE) {
		table_row(rr->t, num, start, dur, what);
		return;
	}
	char sched[64], end[64], pid[16], bytes[32], late[64] = "-";
	kv_get(st, "lateness", late, sizeof late);
	strfmt(pid, sizeof pid, r.pid ? "%d" : "-", r.pid);
	strfmt(bytes, sizeof bytes, "%lld", r.output_bytes);
	table_row(rr->t, num, ctl_time_str(z, r.sched, sched, sizeof sched), start,
	          ctl_time_str(z, r.end, end, sizeof end), dur, what, pid, bytes, late);
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
	if (!ctl_zone(x))
		return EX_REFUSED;
	if ((rc = ctl_job_runs(x, name, &runs, &n, why, sizeof why)) < 0)
		return ctl_job_refused(x, name, rc, why);
	Table t;
	Buf out = {0};
	Json j;
	json_init(&j, &out);
	if (x->out == OUT_WIDE) {
		table_init(&t, 9);
		table_row(&t, "RUN", "SCHEDULED", "START", "END", "DURATION", "STATUS", "PID", "OUTPUT",
		          "LATENESS");
	} else {
		table_init(&t, 4);
		table_row(&t, "RUN", "START", "DURATION", "STATUS");
	}
	if (x->out == OUT_JSON)
		json_open(&j, NULL, '[');
	size_t from = last >= 0 && (size_t)last < n ? n - (size_t)last : 0;
	char **paths = xcalloc(n - from + 1, sizeof *paths);
	for (size_t i = from; i < n; i++)
		paths[i - from] = xstrdup(ctl_run_path(path, sizeof path, name, runs[i], "status"));
	RunsRow rr = { x, &t, x->out == OUT_JSON ? &j : NULL, runs + from };
	rc = client_read_many(x->c, (const char *const *)paths, n - from, runs_row, &rr, why,
	                      sizeof why);
	for (size_t i = 0; i < n - from; i++)
		free(paths[i]);
	free(paths);
	free(runs);
	if (rc == 0 && x->out == OUT_JSON) {
		json_close(&j, ']');
		fwrite(out.data, 1, out.len, stdout);
	} else if (rc == 0) {
		table_print(&t, stdout, x->tty);
	}
	buf_free(&out);
	table_free(&t);
	return rc < 0 ? ctl_job_refused(x, name, rc, why) : EX_OK;
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
			return ctl_fail(name, -ENOENT, "no runs yet");
	}
	if (x->follow) {
		char *st = ctl_follow_run(x, name, run, &rc);
		free(st);
		return rc;
	}
	/* Any bytes the run wrote, NUL included (as output -f and run -w show them). */
	char *out;
	size_t len;
	rc = client_read_file(x->c, ctl_run_path(path, sizeof path, name, run, "output"), &out, &len,
	                      why, sizeof why);
	if (rc < 0) {
		if (rc == -ENOENT && ctl_job_exists(x, name) == 1)
			return ctl_fail(name, -ENOENT, strfmt(why, sizeof why, "no run %ld", run));
		return ctl_job_refused(x, name, rc, why);
	}
	ctl_print_lines(x, out, len, 0);
	free(out);
	return EX_OK;
}
