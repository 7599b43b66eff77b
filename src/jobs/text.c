/* The text of logs and outputs: each line rendered once, as it arrives
 * ("<time>:<text>\n", the time in the daemon's zone as Go prints it), and
 * stored in chunks (store.h, "text").
 *
 * A run's output is the busy path: a job printing short lines must not stall
 * the loop. Its lines (and jobd's own lines about it) collect in the run's
 * buffer and go to the store as one chunk per loop turn (jobs_turn_end), or
 * sooner at TEXT_CHUNK bytes. A run that has sent TEXT_TURN bytes in one turn
 * is not read again until the next (run_output_pause): no turn does more
 * than a bounded amount of work for one run, however fast it prints. Past
 * the run's cap, lines are counted, not rendered.
 *
 * The job's own lines (started, stopped, run N started, run N ended, ...)
 * collect in a buffer of the job's, likewise one chunk per job per turn: a
 * burst of a thousand fires stores a thousand chunks, not a statement per
 * line. The job's log keeps the order in which lines were written: its
 * buffer goes to the store before any other text of the job (a run's chunk,
 * a line about a run that is not live), and before its log is trimmed.
 * Nothing of this changes what is durable: the batch is committed at the
 * turn's end, after the buffers are stored (daemon/turn.c).
 *
 * Held: a run's "started" line (job_logf_held) waits up to TEXT_HOLD_NS
 * for what the job writes next, instead of being stored at its turn's end.
 * A run that ends meanwhile (most of a burst's) stores it with its "ended"
 * line, in one chunk: one statement and one write of the job's counts a
 * run instead of two each, the start's batch none of the job's pages. Any
 * other line of the job's ends the wait at that turn's end; readers see a
 * held line once it is stored (100 ms at most), as followers do. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs_int.h"
#include "util/log.h"

/* A rendered line: the text (at most RUN_MAXLINE from a run, perhaps after
 * the stderr mark; jobd's own lines are shorter), the time (at most 79
 * bytes), ':' and '\n'. */
enum { TEXT_LINE_MAX = RUN_MAXLINE + 128 };
_Static_assert(TEXT_CHUNK + TEXT_LINE_MAX <= STORE_CHUNK_MAX, "a chunk must fit the store's limit");
_Static_assert(79 + 2 + sizeof TEXT_STDERR_MARK - 1 + RUN_MAXLINE <= TEXT_LINE_MAX,
               "a marked line of a run must fit whole");

/* zone_format_go(z, t_ns) with the fraction: what precedes the fraction
 * (the date and time to the second) and what follows it (the offset and the
 * zone's name) are the same for a whole second, so they are worked out once
 * a second and kept; the fraction is written here. The same text as
 * zone_format_go's, at a tenth of the cost (every line of output and of
 * jobd's is rendered so). */
static size_t format_time(const Zone *z, int64_t t_ns, char *ts, size_t n)
{
	static const Zone *kz;
	static int64_t ksec = INT64_MIN;
	static char head[40], tail[40];
	static size_t hlen, tlen;
	int64_t sec = t_ns / 1000000000;
	long nsec = (long)(t_ns % 1000000000);
	if (nsec < 0)
		return zone_format_go(z, sec, nsec, 1, ts, n);
	if (z != kz || sec != ksec) {
		char whole[80];
		size_t k = zone_format_go(z, sec, 0, 0, whole, sizeof whole);
		/* "<date> <time><fraction> <offset> <name>": the fraction goes
		 * before the second space. */
		const char *sp = k < sizeof whole ? strchr(whole, ' ') : NULL;
		sp = sp ? strchr(sp + 1, ' ') : NULL;
		if (!sp || (size_t)(sp - whole) >= sizeof head || strlen(sp) >= sizeof tail) {
			kz = NULL;
			return zone_format_go(z, sec, nsec, 1, ts, n);
		}
		hlen = (size_t)(sp - whole);
		memcpy(head, whole, hlen);
		tlen = strlen(sp);
		memcpy(tail, sp, tlen);
		kz = z;
		ksec = sec;
	}
	char frac[11];
	size_t flen = 0;
	if (nsec > 0) {
		/* ".%09ld" without its trailing zeros, as Go prints it */
		frac[0] = '.';
		for (int i = 9; i >= 1; i--, nsec /= 10)
			frac[i] = (char)('0' + nsec % 10);
		flen = 10;
		while (frac[flen - 1] == '0')
			flen--;
	}
	if (hlen + flen + tlen >= n)
		return zone_format_go(z, sec, (long)(t_ns % 1000000000), 1, ts, n);
	memcpy(ts, head, hlen);
	memcpy(ts + hlen, frac, flen);
	memcpy(ts + hlen + flen, tail, tlen);
	ts[hlen + flen + tlen] = '\0';
	return hlen + flen + tlen;
}

size_t text_render(const Zone *z, int64_t t_ns, const char *mark, const char *text, size_t len,
                   char *out, size_t cap)
{
	char ts[80];
	size_t k = format_time(z, t_ns, ts, sizeof ts);
	size_t mlen = mark ? strlen(mark) : 0;
	if (k >= sizeof ts)
		k = sizeof ts - 1;
	if (k + 2 + mlen > cap)
		return 0;
	if (len > cap - k - 2 - mlen)
		len = cap - k - 2 - mlen;
	memcpy(out, ts, k);
	out[k] = ':';
	if (mlen)
		memcpy(out + k + 1, mark, mlen);
	memcpy(out + k + 1 + mlen, text, len);
	out[k + 1 + mlen + len] = '\n';
	return k + 2 + mlen + len;
}

/* The converter's view of text_render (store_convert_lines). */
static size_t render_for_store(void *arg, int64_t t_ns, const char *text, size_t len, char *out,
                               size_t cap)
{
	return text_render(arg, t_ns, NULL, text, len, out, cap);
}

int64_t text_convert(Jobs *js, char *why, size_t n)
{
	return store_convert_lines(js->store, render_for_store, js->zone, why, n);
}

/* ---- the job's own lines ---- */

/* The job's buffered lines go to the store now (the buffer stays on the
 * turn's list, empty, until the turn ends). */
void text_flush_job(Jobs *js, Job *j)
{
	JobLines *l = j->lines;
	if (!l || !l->len)
		return;
	char why[256];
	if (store_text_append(js->store, j->id, 0, l->buf, l->len, why, sizeof why) < 0)
		LOGE("job %s: cannot record log line: %s", j->name, why);
	l->len = 0;
	job_touch(js, j);
}

/* The buffer waits (TEXT_HOLD_NS) on the held list, oldest first. */
static void hold(Jobs *js, JobLines *l)
{
	if (!js->lheld_tail)
		js->lheld_tail = &js->lheld;
	l->held = 1;
	l->hold_until = mono_now().ns + TEXT_HOLD_NS;
	l->next = NULL;
	l->pprev = js->lheld_tail;
	*js->lheld_tail = l;
	js->lheld_tail = &l->next;
}

static void unhold(Jobs *js, JobLines *l)
{
	*l->pprev = l->next;
	if (l->next)
		l->next->pprev = l->pprev;
	else
		js->lheld_tail = l->pprev;
	l->held = 0;
	l->next = NULL;
	l->pprev = NULL;
}

static void to_turn(Jobs *js, JobLines *l)
{
	l->next = js->ldirty;
	js->ldirty = l;
}

static void lines_add(Jobs *js, Job *j, const char *line, size_t len, int held)
{
	JobLines *l = j->lines;
	if (!l) {
		l = xcalloc(1, sizeof *l);
		l->job = j;
		j->lines = l;
		if (held && !js->shutting)
			hold(js, l);
		else
			to_turn(js, l);
	} else if (l->held && !held) {
		unhold(js, l);          /* stored at this turn's end, with this line */
		to_turn(js, l);
	}
	if (l->len + len > TEXT_CHUNK)
		text_flush_job(js, j);
	if (l->len + len > l->cap) {
		size_t cap = l->cap ? l->cap : 256;
		while (cap < l->len + len)
			cap *= 2;
		l->cap = cap;
		l->buf = xrealloc(l->buf, l->cap);
	}
	memcpy(l->buf + l->len, line, len);
	l->len += len;
}

/* The job is going (deleted, or freed): what it buffered goes with it. */
void text_drop_job(Job *j)
{
	if (j->lines) {
		j->lines->job = NULL;
		j->lines->len = 0;
		j->lines = NULL;
	}
}

/* Nothing to do here: the turn it ends stores what is due (jobs_turn_end). */
static void on_hold(uv_timer_t *h)
{
	(void)h;
}

static void lines_free(Jobs *js, JobLines *l)
{
	if (l->job) {
		text_flush_job(js, l->job);
		l->job->lines = NULL;
	}
	free(l->buf);
	free(l);
}

/* Stores what every job buffered this turn, and what was held whose time
 * has come (all of it when every is set), and frees those buffers. The
 * timer is armed for the oldest left held. */
static void flush_jobs(Jobs *js, int every)
{
	JobLines *l = js->ldirty;
	js->ldirty = NULL;
	while (l) {
		JobLines *next = l->next;
		lines_free(js, l);
		l = next;
	}
	int64_t now = js->lheld ? mono_now().ns : 0;
	while ((l = js->lheld) && (every || js->shutting || l->hold_until <= now)) {
		unhold(js, l);
		lines_free(js, l);
	}
	if (js->lheld && !js->shutting)
		uv_timer_start(&js->hold, on_hold,
		               (uint64_t)((js->lheld->hold_until - now + 999999) / 1000000), 0);
}

void text_fini(Jobs *js)
{
	flush_jobs(js, 1);
}

static void store_line_now(Jobs *js, Job *j, int64_t run_id, const char *line, size_t len)
{
	text_flush_job(js, j);
	char why[256];
	int rc = store_text_append(js->store, j->id, run_id, line, len, why, sizeof why);
	if (rc == -ENOENT && run_id != 0)   /* its run was trimmed: the job's log still has it */
		rc = store_text_append(js->store, j->id, 0, line, len, why, sizeof why);
	if (rc < 0)
		LOGE("job %s: cannot record log line: %s", j->name, why);
}

/* ---- a run's buffer ---- */

/* The run's buffered text goes to the store now. */
void text_flush_run(JobRun *r)
{
	Jobs *js = r->js;
	if (r->tlen && r->job) {
		char why[256];
		text_flush_job(js, r->job);     /* the job's lines written before these */
		if (store_text_append(js->store, r->job->id, r->run_id, r->tbuf, r->tlen, why,
		                      sizeof why) < 0 && !r->tfailed++)
			LOGE("job %s: cannot record output of run %lld (said once a run; what "
			     "follows is dropped until it can): %s", r->name, (long long)r->seq, why);
		r->job->changes.log++;
		r->job->changes.runs++;
		job_touch(js, r->job);
	}
	r->tlen = 0;
}

static void dirty_add(JobRun *r)
{
	if (r->tdirty)
		return;
	r->tdirty = 1;
	r->tnext = r->js->tdirty;
	r->js->tdirty = r;
}

static void unlist(JobRun **head, JobRun *r)
{
	for (JobRun **p = head; *p; p = &(*p)->tnext)
		if (*p == r) {
			*p = r->tnext;
			return;
		}
}

/* Stores what the run has buffered and takes it off the turn's lists: its
 * end is being recorded, or its job is gone (r->job NULL: dropped). */
void text_end_run(JobRun *r)
{
	Jobs *js = r->js;
	text_flush_run(r);
	if (r->tdirty) {
		unlist(&js->tdirty, r);
		r->tdirty = 0;
	}
	if (r->paused) {
		for (JobRun **p = &js->tpaused; *p; p = &(*p)->tnext_paused)
			if (*p == r) {
				*p = r->tnext_paused;
				break;
			}
		r->paused = 0;
		run_output_resume(r->run);
	}
	free(r->tbuf);
	r->tbuf = NULL;
	r->tcap = 0;
}

static void run_add(JobRun *r, const char *line, size_t len)
{
	if (r->tlen + len > r->tcap) {
		/* Grown as needed: a thousand runs printing a line each must not
		 * take a chunk's worth each. tlen < TEXT_CHUNK here (it is flushed
		 * there), so the largest is TEXT_CHUNK + TEXT_LINE_MAX. */
		size_t cap = r->tcap ? r->tcap : 4096;
		while (cap < r->tlen + len)
			cap *= 2;
		if (cap > TEXT_CHUNK + TEXT_LINE_MAX)
			cap = TEXT_CHUNK + TEXT_LINE_MAX;
		r->tcap = cap;
		r->tbuf = xrealloc(r->tbuf, r->tcap);
	}
	memcpy(r->tbuf + r->tlen, line, len);
	r->tlen += len;
	r->out_bytes += (int64_t)len;
	if (r->tlen >= TEXT_CHUNK)
		text_flush_run(r);
	else
		dirty_add(r);
}

/* The run's own output stops TEXT_RESERVE short of the cap: the lines jobd
 * writes about the run (truncated, timed out, exit status) fit after it, and
 * what is stored stays within the cap. */
static int64_t output_cap(const Jobs *js)
{
	int64_t cap = js->cfg.max_output;
	return cap > 2 * TEXT_RESERVE ? cap - TEXT_RESERVE : cap / 2;
}

/* One line of the run's output (run.c's line and errline callbacks). */
void text_run_line(JobRun *r, int is_err, const char *text, size_t len)
{
	Jobs *js = r->js;
	if (!r->job)
		return;                 /* deleted: nowhere to put it */
	r->turn_bytes += (int64_t)len + 1;
	if (r->turn_bytes >= TEXT_TURN && !r->paused) {
		/* Enough from this run for one turn; it is read again at the turn's end. */
		run_output_pause(r->run);
		r->paused = 1;
		r->tnext_paused = js->tpaused;
		js->tpaused = r;
	}
	/* The cap counts what is stored: the rendered line. Past it lines are
	 * counted, not rendered nor kept: memory and disk stay bounded, and the
	 * output has no holes. */
	if (!r->dropped) {
		char line[TEXT_LINE_MAX];
		size_t k = text_render(js->zone, wall_now_ns(), is_err ? TEXT_STDERR_MARK : NULL, text,
		                       len, line, sizeof line);
		if (r->out_bytes + (int64_t)k <= output_cap(js)) {
			run_add(r, line, k);
			return;
		}
	}
	r->dropped += (int64_t)len + 1;
}

/* ---- lines from jobd ---- */

static void own_line(Jobs *js, Job *j);

/* A line about the job, or about one of its runs: a live run's goes into
 * its buffer, behind its output; the job's own into the job's buffer (held:
 * see "held"); a line about a run that is not live (skipped, queued, cannot
 * run) is stored now. */
static void log_line(Jobs *js, Job *j, int64_t run_id, int held, const char *text, size_t len)
{
	char line[TEXT_LINE_MAX];
	size_t k = text_render(js->zone, wall_now_ns(), NULL, text, len, line, sizeof line);
	j->changes.log++;
	if (run_id != 0)
		for (JobRun *r = j->runs; r; r = r->next)
			if (r->run_id == run_id) {
				run_add(r, line, k);
				return;
			}
	if (run_id != 0)
		store_line_now(js, j, run_id, line, k);
	else
		lines_add(js, j, line, k, held);
	own_line(js, j);
}

void job_log(Jobs *js, Job *j, int64_t run_id, const char *text, size_t len)
{
	log_line(js, j, run_id, 0, text, len);
}

/* job_logf's and job_logf_held's formatting. */
__attribute__((format(printf, 5, 0)))
static void log_vf(Jobs *js, Job *j, int64_t run_id, int held, const char *fmt, va_list ap)
{
	char text[512];
	int n = vsnprintf(text, sizeof text, fmt, ap);
	if (n >= 0)
		log_line(js, j, run_id, held, text, (size_t)n < sizeof text ? (size_t)n : sizeof text - 1);
}

void job_logf(Jobs *js, Job *j, int64_t run_id, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vf(js, j, run_id, 0, fmt, ap);
	va_end(ap);
}

void job_logf_held(Jobs *js, Job *j, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vf(js, j, 0, 1, fmt, ap);
	va_end(ap);
}

/* A fire skipped at its claim, and its line: the run's row (ended), the line
 * as its output and in the job's log, stored together (store_fire_skip),
 * after the job's lines written before it. 0 with *run_id and *seq, or
 * -errno with why (-EALREADY: that fire was claimed before). */
int job_log_skip(Jobs *js, Job *j, int64_t sched, const char *text, size_t len, int64_t *run_id,
                 int64_t *seq, char *why, size_t n)
{
	char line[TEXT_LINE_MAX];
	int64_t now = wall_now_ns();
	size_t k = text_render(js->zone, now, NULL, text, len, line, sizeof line);
	text_flush_job(js, j);
	int rc = store_fire_skip(js->store, j->id, sched, now, line, k, run_id, seq, why, n);
	if (rc < 0)
		return rc;
	j->changes.log++;
	own_line(js, j);
	return 0;
}

/* After a line of jobd's about the job. A job that writes lines of its own
 * and never ends a run (started and stopped, over and over) is trimmed here,
 * now and then. */
static void own_line(Jobs *js, Job *j)
{
	job_touch(js, j);
	if (++j->own_lines >= TEXT_OWN_TRIM) {
		char why[256];
		text_flush_job(js, j);
		j->own_lines = 0;
		j->kept.runs = -1;      /* counted again: the log's bound may remove runs */
		if (store_runs_retain(js->store, j->id, js->cfg.keep_runs, js->cfg.keep_bytes, NULL,
		                      why, sizeof why) < 0)
			LOGE("job %s: cannot trim its log: %s", j->name, why);
	}
}


/* ---- the turn ---- */

void jobs_turn_end(Jobs *js)
{
	JobRun *r = js->tdirty;
	js->tdirty = NULL;
	while (r) {
		JobRun *next = r->tnext;
		r->tdirty = 0;
		r->tnext = NULL;
		r->turn_bytes = 0;
		text_flush_run(r);
		r = next;
	}
	flush_jobs(js, 0);          /* after the runs': each stored its job's first */
	r = js->tpaused;
	js->tpaused = NULL;
	while (r) {
		JobRun *next = r->tnext_paused;
		r->paused = 0;
		r->turn_bytes = 0;
		run_output_resume(r->run);
		r = next;
	}
}

/* ---- reading ---- */

int jobs_text_extent(Jobs *js, Job *j, const RunInfo *r, int64_t *first, int64_t *end,
                     char *why, size_t n)
{
	return store_text_extent(js->store, j->id, r ? r->run_id : 0, first, end, why, n);
}

int jobs_text_read(Jobs *js, Job *j, const RunInfo *r, int64_t pos, char *buf, size_t cap,
                   size_t *got, char *why, size_t n)
{
	return store_text_read(js->store, j->id, r ? r->run_id : 0, pos, buf, cap, got, why, n);
}
