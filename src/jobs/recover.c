/* After a crash: the runs a dead jobd left in progress. store_open has marked
 * them interrupted; here what is left of each one's processes is ended
 * (SIGTERM, then SIGKILL after the grace period, as a clean shutdown would
 * have done), and then the run is settled: a line in its job's log and its
 * end time, in one transaction. A jobd that dies half-way through this leaves
 * the unsettled runs for the next one, which does it again.
 *
 * With cgroups, run_init has already killed what the dead jobd's runs left in
 * their cgroups (everything they started, in their sessions or not); the
 * session tokens here are the fallback for what that cannot see: a dead jobd
 * without cgroups, or whose cgroups were elsewhere. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jobs_int.h"
#include "util/log.h"

typedef struct Left {
	StoreRun run;
	const char *job;            /* for messages; borrowed from the table */
	int signalled;              /* processes sent SIGTERM */
} Left;

typedef struct Recover {
	Jobs *js;
	Left *v;
	size_t n, cap;
} Recover;

static Job *job_by_id(Jobs *js, int64_t id)
{
	Job *j;
	for (size_t i = 0; (j = jobs_nth(js, i)) != NULL; i++)
		if (j->id == id)
			return j;
	return NULL;
}

static int take(void *arg, const StoreRun *r)
{
	Recover *rc = arg;
	if (rc->n == rc->cap) {
		rc->cap = rc->cap ? rc->cap * 2 : 8;
		rc->v = xrealloc(rc->v, rc->cap * sizeof *rc->v);
	}
	Left *l = &rc->v[rc->n++];
	Job *j = job_by_id(rc->js, r->job_id);
	*l = (Left){ .run = *r, .job = j ? j->name : "?" };
	if (r->pid <= 1 || r->start_ns == 0)
		return 0;
	int k = run_signal_left(r->pid, r->proc, SIGTERM);
	if (k < 0)
		LOGW("job %s: run %lld (pid %d): cannot look for what is left of it: %s", l->job,
		     (long long)r->id, r->pid, strerror(-k));
	else if (k > 0)
		LOGW("job %s: run %lld (pid %d) was interrupted; sent SIGTERM to the %d processes "
		     "left in its session", l->job, (long long)r->id, r->pid, k);
	l->signalled = k > 0 ? k : 0;
	return 0;
}

/* Whether any signalled session still has live processes. */
static int any_alive(Recover *rc)
{
	for (size_t i = 0; i < rc->n; i++)
		if (rc->v[i].signalled && run_signal_left(rc->v[i].run.pid, rc->v[i].run.proc, 0) > 0)
			return 1;
	return 0;
}

int jobs_recover(Jobs *js, Store *store, int64_t grace_ms)
{
	Recover rc = { .js = js };
	store_runs_interrupted(store, take, &rc);

	/* Startup waits for them: the listeners are not open yet, and a job's
	 * next run must not overlap what is left of its last one. */
	const int64_t step = 20;
	for (int64_t waited = 0; any_alive(&rc) && waited < grace_ms; waited += step) {
		struct timespec ts = { 0, step * 1000000 };
		nanosleep(&ts, NULL);
	}
	for (size_t i = 0; i < rc.n; i++) {
		Left *l = &rc.v[i];
		if (!l->signalled)
			continue;
		int k = run_signal_left(l->run.pid, l->run.proc, SIGKILL);
		if (k > 0)
			LOGW("job %s: run %lld (pid %d): %d processes outlived the %lld ms grace "
			     "period; killed them", l->job, (long long)l->run.id, l->run.pid, k,
			     (long long)grace_ms);
	}

	for (size_t i = 0; i < rc.n; i++) {
		Left *l = &rc.v[i];
		const char *text = l->run.start_ns != 0 ?
			"interrupted: jobd stopped while this run was in progress" :
			"interrupted: jobd stopped before this run could start";
		char why[256];
		/* The line and the settling in one batch: both or neither. */
		if (store_run_settle(store, &l->run, wall_now_ns(), why, sizeof why) < 0) {
			LOGE("job %s: cannot record the interruption of run %lld: %s", l->job,
			     (long long)l->run.id, why);
			continue;
		}
		Job *j = job_by_id(js, l->run.job_id);
		if (j != NULL)
			job_log(js, j, l->run.id, text, strlen(text));
	}
	int n = (int)rc.n;
	free(rc.v);
	return n;
}
