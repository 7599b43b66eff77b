/* The text of the generated files: schedule, status, runs (settings: jobs.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs_int.h"

void jobs_render_schedule(Jobs *js, Job *j, Buf *out)
{
	buf_addstr(out, j->schedule);
	if (!j->started)
		return;
	if (j->next == CRON_NEVER) {
		buf_addstr(out, ":never");
		return;
	}
	char ts[80];
	zone_format_go(job_zone(js, j), j->next, 0, 0, ts, sizeof ts);
	buf_add(out, ":", 1);
	buf_addstr(out, ts);
}

/* RFC 3339 of unix seconds in zone z, or "-" for 0. */
static void add_time(Buf *out, const Zone *z, int64_t sec)
{
	char ts[64];
	if (sec <= 0 || sec == CRON_NEVER) {
		buf_addstr(out, "-");
		return;
	}
	zone_format_rfc3339(z, sec, ts, sizeof ts);
	buf_addstr(out, ts);
}

static void add_status(Buf *out, int status)
{
	if (status >= 0)
		buf_printf(out, "exit:%d", status);
	else
		buf_printf(out, "signal:%s", signal_name(-status));
}

void jobs_render_status(Jobs *js, Job *j, Buf *out)
{
	buf_printf(out, "state=%s next=", j->started ? "started" : "stopped");
	add_time(out, job_zone(js, j), j->started ? j->next : 0);
	buf_addstr(out, " last_start=");
	add_time(out, js->zone, j->last_start_ns / 1000000000);
	buf_addstr(out, " last_end=");
	add_time(out, js->zone, j->last_end_ns / 1000000000);
	buf_addstr(out, " last_status=");
	if (j->last_end_ns)
		add_status(out, j->last_status);
	else
		buf_addstr(out, "-");
	buf_printf(out, " runs=%lld failures=%lld pid=", (long long)j->runs_total,
	           (long long)j->failures_total);
	if (j->runs)
		buf_printf(out, "%d", j->runs->pid);
	else
		buf_addstr(out, "-");
	/* Last, so that parsers of the fields before it keep working. */
	buf_printf(out, " active=%u", j->nrunning);
	/* Where the kept log begins and ends (absolute byte positions): a
	 * follower resumes with "from POS" (log.follow). Two index seeks. */
	int64_t first = 0, end = 0;
	char why[128];
	if (store_text_extent(js->store, j->id, 0, &first, &end, why, sizeof why) < 0)
		first = end = 0;
	buf_printf(out, " log_first=%lld log_end=%lld\n", (long long)first, (long long)end);
}

static const char *state_name(int s)
{
	switch (s) {
	case RUN_CLAIMED: return "waiting";
	case RUN_RUNNING: return "running";
	case RUN_DONE: return "done";
	case RUN_INTERRUPTED: return "interrupted";
	case RUN_SKIPPED: return "skipped";
	case RUN_LOST: return "lost";
	default: return "?";
	}
}

void jobs_render_run_status(Jobs *js, Job *j, const RunInfo *r, Buf *out)
{
	const Zone *z = js->zone;
	(void)j;
	buf_printf(out, "run=%lld sched=", (long long)r->seq);
	add_time(out, z, r->sched);
	buf_addstr(out, " start=");
	add_time(out, z, r->start_ns / 1000000000);
	buf_addstr(out, " end=");
	add_time(out, z, r->end_ns / 1000000000);
	buf_addstr(out, " duration=");
	if (r->start_ns && r->end_ns)
		buf_printf(out, "%.3fs", (double)(r->end_ns - r->start_ns) / 1e9);
	else if (r->start_ns && r->state == RUN_RUNNING)
		buf_printf(out, "%.3fs", (double)(wall_now_ns() - r->start_ns) / 1e9);
	else
		buf_addstr(out, "-");
	buf_printf(out, " state=%s status=", state_name(r->state));
	if (r->state == RUN_DONE)
		add_status(out, r->status);
	else
		buf_addstr(out, "-");
	buf_printf(out, " manual=%d timed_out=%d killed=%d pid=", r->manual,
	           (r->flags & RUNF_TIMEDOUT) != 0, (r->flags & RUNF_KILLED) != 0);
	if (r->pid)
		buf_printf(out, "%d", r->pid);
	else
		buf_addstr(out, "-");
	buf_printf(out, " output_bytes=%lld output_cap=%lld truncated=%d lateness=",
	           (long long)r->out_bytes, (long long)js->cfg.max_output,
	           (r->flags & RUNF_TRUNCATED) != 0);
	if (r->sched && r->start_ns)
		buf_printf(out, "%.4fs", (double)(r->start_ns - r->sched * 1000000000) / 1e9);
	else
		buf_addstr(out, "-");
	if (*r->node)
		buf_printf(out, " node=%s", r->node);   /* a cluster's: which node ran it */
	buf_addstr(out, "\n");
}
