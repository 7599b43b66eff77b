/* Files whose reads wait (doc/namespace.md, "Live files"):
 *   /events                  every event from the moment of open (events.h)
 *   /jobs/NAME/log.follow    the log, and then each line as it is stored
 *   runs/N/output.follow     the run's output, as it is stored, to its end
 *   runs/N/wait              the run's status line, once the run has ended
 *
 * A read that finds nothing new is parked (req_park) on a list: the events
 * readers', or its job's (a Watch, found by job id). Nothing polls. The jobs
 * layer says when a job changed (fs_touched: new text, a run ended) or is
 * going (fs_gone); the touched jobs are collected through the turn, and at
 * its end, once the store has committed (fs_turn_end), the parked reads of
 * those jobs, and the events readers if there were events, are tried again.
 * So a follower never sees text that a crash could still take back. Tflush
 * (or a closing connection) answers a parked read through live_flush. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_int.h"
#include "util/log.h"

typedef struct Watch Watch;

typedef struct Park {
	Req *r;
	Watch *w;                   /* its job's watch; NULL for /events */
	struct Park *next, *prev;
	struct Park **head;         /* the list it is on */
} Park;

/* The parked reads of one job. */
struct Watch {
	int64_t job_id;
	Park *parks;
	int touched, busy;
	Watch *hnext, *tnext;
};

enum { WATCH_HASH = 256, EVENTS_MIN_READ = 64 };

struct Live {
	Fs *fs;
	Park *events;               /* parked reads of /events */
	uint64_t events_seen;       /* events_next when they were last tried */
	Watch *watch[WATCH_HASH];
	Watch *touched;             /* jobs touched this turn that have parked reads */
};

Live *live_new(Fs *fs)
{
	Live *lv = xcalloc(1, sizeof *lv);
	lv->fs = fs;
	return lv;
}

static void watch_free(Live *lv, Watch *w)
{
	for (Watch **p = &lv->watch[(uint64_t)w->job_id % WATCH_HASH]; *p; p = &(*p)->hnext)
		if (*p == w) {
			*p = w->hnext;
			break;
		}
	free(w);
}

void live_free(Live *lv)
{
	if (!lv)
		return;
	/* Every connection is closed by now, and each parked read was flushed. */
	for (size_t i = 0; i < WATCH_HASH; i++)
		while (lv->watch[i])
			watch_free(lv, lv->watch[i]);
	free(lv);
}

static Watch *watch_find(Live *lv, int64_t job_id)
{
	for (Watch *w = lv->watch[(uint64_t)job_id % WATCH_HASH]; w; w = w->hnext)
		if (w->job_id == job_id)
			return w;
	return NULL;
}

static void park_link(Park *p, Park **head)
{
	p->prev = NULL;
	p->next = *head;
	if (*head)
		(*head)->prev = p;
	*head = p;
	p->head = head;
}

static void park_unlink(Park *p)
{
	if (p->prev) p->prev->next = p->next; else *p->head = p->next;
	if (p->next) p->next->prev = p->prev;
	p->next = p->prev = NULL;
	p->head = NULL;
}

/* ---- what a read finds: nothing yet (-1), or answered: the bytes of data
 * it was answered with (0 for end of file or an error) ---- */

static int events_visible(Fs *fs, Fid *f, const Event *e)
{
	return !fs->cfg.private_jobs || f->uid == 0 || f->uid == e->owner;
}

/* /events: whole lines from the fid's cursor; a line longer than the read
 * is split across reads (eoff). A reader the ring has passed is told first. */
static int try_events(Fs *fs, Req *r, Faux *a)
{
	Events *ev = jobs_events(fs->js);
	size_t cap = r->ifcall.count;
	if (cap < EVENTS_MIN_READ) {
		req_error(r, EINVAL, "read /events at least 64 bytes at a time");
		return 0;
	}
	if (a->ecur < events_first(ev)) {
		a->edropped += events_first(ev) - a->ecur;
		a->ecur = events_first(ev);
		a->eoff = 0;
	}
	if (a->ecur >= events_next(ev) && !a->edropped)
		return -1;      /* nothing new: no buffer made for nothing */
	char *out = xmalloc(cap);
	size_t len = 0;
	if (a->edropped) {
		len = (size_t)snprintf(out, cap, "dropped %llu\n", (unsigned long long)a->edropped);
		a->edropped = 0;
	}
	for (const Event *e; len < cap && (e = events_get(ev, a->ecur)); a->ecur++, a->eoff = 0) {
		if (!events_visible(fs, r->fid, e))
			continue;
		size_t want = e->len - a->eoff;
		if (want > cap - len) {
			if (len > 0)
				break;      /* whole lines where they fit: this one next time */
			want = cap - len;
			memcpy(out + len, e->line + a->eoff, want);
			len += want;
			a->eoff += (uint32_t)want;
			break;
		}
		memcpy(out + len, e->line + a->eoff, want);
		len += want;
	}
	if (len > 0)
		srv_reply_data(r, out, len);
	free(out);
	return len > 0 ? (int)len : -1;
}

/* The run behind a run file, looked up again (it may have ended). */
static int run_of(Fs *fs, Job *j, Faux *a, RunInfo *ri)
{
	char why[128];
	return jobs_run_get(fs->js, j, a->run_seq, ri, why, sizeof why);
}

static int run_over(const RunInfo *ri)
{
	return ri->state != RUN_CLAIMED && ri->state != RUN_RUNNING;
}

/* log.follow and output.follow: from tfirst + offset to where the text ends
 * now; at the end, wait (the log's end never comes; a run's output ends
 * when the run has ended and its last text is read). */
static int try_follow(Fs *fs, Req *r, Faux *a, Job *j)
{
	char why[256];
	RunInfo ri = { .run_id = a->run_id };
	int out = a->kind == K_OUTFOLLOW;
	if (!j) {
		srv_reply_data(r, NULL, 0);     /* the job is gone: end of file */
		return 0;
	}
	if (out && run_of(fs, j, a, &ri) < 0) {
		srv_reply_data(r, NULL, 0);     /* the run is no longer kept */
		return 0;
	}
	int64_t first, end, pos = a->tfirst + (int64_t)r->ifcall.offset;
	int rc = jobs_text_extent(fs->js, j, out ? &ri : NULL, &first, &end, why, sizeof why);
	if (rc < 0) {
		req_error(r, rc, why);
		return 0;
	}
	if (pos < first) {
		strfmt(why, sizeof why, "position %lld is no longer kept (retention); the text now "
		       "begins at %lld", (long long)pos, (long long)first);
		req_error(r, ESTALE, why);
		return 0;
	}
	if (pos >= end) {
		if (out && run_over(&ri)) {
			srv_reply_data(r, NULL, 0);
			return 0;
		}
		return -1;
	}
	size_t cap = r->ifcall.count;
	if ((uint64_t)cap > (uint64_t)(end - pos))
		cap = (size_t)(end - pos);
	char *buf = xmalloc(cap ? cap : 1);
	size_t got = 0;
	rc = jobs_text_read(fs->js, j, out ? &ri : NULL, pos, buf, cap, &got, why, sizeof why);
	if (rc < 0)
		req_error(r, rc, why);
	else
		srv_reply_data(r, buf, got);
	free(buf);
	return rc < 0 ? 0 : (int)got;
}

/* wait: the run's status line, once it has ended. */
static int try_wait(Fs *fs, Req *r, Faux *a, Job *j)
{
	RunInfo ri;
	if (!j || run_of(fs, j, a, &ri) < 0) {
		req_error(r, ENOENT, j ? "the run is no longer kept" : "job no longer exists");
		return 0;
	}
	if (!run_over(&ri))
		return -1;
	Buf b = {0};
	jobs_render_run_status(fs->js, j, &ri, &b);
	srv_read_reply(r, b.data ? (const char *)b.data : "", b.len);
	buf_free(&b);
	return 0;   /* a plain file from now on: its end is its end */
}

/* Answers r if it can (1), or leaves it (0). The Linux kernel's read()
 * goes on sending Treads until the caller's buffer is full or a read
 * returns nothing, so a batch of lines would never reach `cat`: after a
 * reply with data, the next read at the offset right after it is answered
 * at once with nothing (the end of this batch), and the read after that,
 * at the same offset, is the one that waits. Clients of their own (jobctl)
 * read again after such an empty reply: two in a row are the end. */
static int try_read(Fs *fs, Req *r)
{
	Faux *a = r->fid->aux;
	uint64_t off = r->ifcall.offset;
	if (a->batch && off == a->batch_end) {
		a->batch = 0;
		srv_reply_data(r, NULL, 0);
		return 1;
	}
	a->batch = 0;
	int n;
	switch (a->kind) {
	case K_EVENTS: n = try_events(fs, r, a); break;
	case K_RUNWAIT: n = try_wait(fs, r, a, faux_job(fs, a)); break;
	default: n = try_follow(fs, r, a, faux_job(fs, a)); break;
	}
	if (n > 0) {
		a->batch = 1;
		a->batch_end = off + (uint64_t)n;
	}
	return n >= 0;
}

/* ---- opening, reading, parking ---- */

int live_open(Fid *f, char *why, size_t n)
{
	Fs *fs = FS(f);
	Faux *a = f->aux;
	Job *j = faux_job(fs, a);
	RunInfo ri = {0};
	int64_t end;
	int rc = 0;
	switch (a->kind) {
	case K_EVENTS:
		a->ecur = events_next(jobs_events(fs->js));   /* from the moment of open */
		a->eoff = 0;
		return 0;
	case K_RUNWAIT:
		return jobs_run_get(fs->js, j, a->run_seq, &ri, why, n);
	case K_OUTFOLLOW:
		if ((rc = jobs_run_get(fs->js, j, a->run_seq, &ri, why, n)) < 0)
			return rc;
		__attribute__((fallthrough));
	default:
		/* From the first byte kept: everything, then what comes. */
		return jobs_text_extent(fs->js, j, a->kind == K_OUTFOLLOW ? &ri : NULL, &a->tfirst,
		                        &end, why, n);
	}
}

/* "from POS": this fid's reads start at POS, the absolute position in the
 * log or the output (or, in /events, the event numbered POS). A reader that
 * kept count of what it read resumes exactly where it was, across a
 * reconnection or a restart of jobd. */
int live_write(Fid *f, const char *text, char *why, size_t n)
{
	Fs *fs = FS(f);
	Faux *a = f->aux;
	char *end;
	if (a->kind == K_RUNWAIT || strncmp(text, "from ", 5) != 0) {
		strfmt(why, n, a->kind == K_RUNWAIT ? "wait takes no writes"
		                                    : "write 'from POS' to choose where reads start");
		return -EINVAL;
	}
	errno = 0;
	long long pos = strtoll(text + 5, &end, 10);
	if (errno || *end || end == text + 5 || pos < 0) {
		strfmt(why, n, "'from' takes a number, not '%.40s'", text + 5);
		return -EINVAL;
	}
	if (a->kind == K_EVENTS) {
		Events *ev = jobs_events(fs->js);
		uint64_t next = events_next(ev);
		if ((uint64_t)pos > next) {
			strfmt(why, n, "event %lld has not happened: the next is %llu", pos,
			       (unsigned long long)next);
			return -EINVAL;
		}
		/* Numbers of an earlier jobd: everything this one has said. */
		a->ecur = (uint64_t)pos > events_base(ev) ? (uint64_t)pos : events_base(ev) + 1;
		a->eoff = 0;
		a->edropped = 0;
		return 0;
	}
	Job *j = faux_job(fs, a);
	RunInfo ri = {0};
	int64_t first, last;
	int rc = 0;
	if (!j) {
		strfmt(why, n, "job no longer exists");
		return -ENOENT;
	}
	if (a->kind == K_OUTFOLLOW && (rc = jobs_run_get(fs->js, j, a->run_seq, &ri, why, n)) < 0)
		return rc;
	rc = jobs_text_extent(fs->js, j, a->kind == K_OUTFOLLOW ? &ri : NULL, &first, &last, why, n);
	if (rc < 0)
		return rc;
	if (pos < first) {
		strfmt(why, n, "position %lld is no longer kept (retention); the text now begins at %lld",
		       pos, (long long)first);
		return -ESTALE;
	}
	if (pos > last) {
		strfmt(why, n, "position %lld is past the end (%lld)", pos, (long long)last);
		return -EINVAL;
	}
	a->tfirst = pos;
	return 0;
}

void live_read(Req *r)
{
	Fs *fs = FS(r->fid);
	Live *lv = fs->live;
	Faux *a = r->fid->aux;
	if (try_read(fs, r))
		return;
	if (req_park(r) < 0) {
		char why[128];
		strfmt(why, sizeof why, "too many reads waiting on this connection; the limit is one "
		       "per fid it may hold");
		req_error(r, EBUSY, why);
		return;
	}
	Park *p = xcalloc(1, sizeof *p);
	p->r = r;
	r->aux = p;
	if (a->kind == K_EVENTS) {
		park_link(p, &lv->events);
		return;
	}
	Watch *w = watch_find(lv, a->job_id);
	if (!w) {
		w = xcalloc(1, sizeof *w);
		w->job_id = a->job_id;
		w->hnext = lv->watch[(uint64_t)a->job_id % WATCH_HASH];
		lv->watch[(uint64_t)a->job_id % WATCH_HASH] = w;
	}
	p->w = w;
	park_link(p, &w->parks);
}

/* A watch with nothing parked goes, unless a wake holds it (it then goes
 * when the wake is done). */
static void watch_done(Live *lv, Watch *w)
{
	if (w && !w->parks && !w->touched && !w->busy)
		watch_free(lv, w);
}

void live_flush(Req *r)
{
	Fs *fs = FS(r->fid);
	Park *p = r->aux;
	if (p) {
		Watch *w = p->w;
		if (p->head)
			park_unlink(p);
		free(p);
		r->aux = NULL;
		watch_done(fs->live, w);
	}
	req_error(r, EINTR, "interrupted");
}

/* Tries every read parked on *head again; those with nothing yet stay. The
 * list is taken whole first: answering a read may flush others (their
 * connection closing), which then leave the taken list by their head. */
static void wake(Fs *fs, Park **head)
{
	Park *taken = *head;
	*head = NULL;
	for (Park *p = taken; p; p = p->next)
		p->head = &taken;
	Park *p;
	while ((p = taken)) {
		park_unlink(p);
		Req *r = p->r;
		r->aux = NULL;
		if (try_read(fs, r)) {
			free(p);
			continue;
		}
		r->aux = p;
		park_link(p, head);
	}
}

void fs_touched(Fs *fs, Job *j)
{
	Live *lv = fs->live;
	Watch *w = watch_find(lv, j->id);
	if (!w || w->touched)
		return;
	w->touched = 1;
	w->tnext = lv->touched;
	lv->touched = w;
}

/* The job is about to go: its followers reach the end, its waiters learn why. */
void fs_gone(Fs *fs, Job *j)
{
	Live *lv = fs->live;
	Watch *w = watch_find(lv, j->id);
	if (!w)
		return;
	w->busy = 1;
	Park *p;
	while ((p = w->parks)) {
		park_unlink(p);
		Req *r = p->r;
		r->aux = NULL;
		free(p);
		if (((Faux *)r->fid->aux)->kind == K_RUNWAIT)
			req_error(r, ENOENT, "job deleted");
		else
			srv_reply_data(r, NULL, 0);
	}
	w->busy = 0;
	watch_done(lv, w);
}

int fs_waiting(const Fs *fs)
{
	const Live *lv = fs->live;
	return lv->touched || (lv->events && events_next(jobs_events(fs->js)) != lv->events_seen);
}

void fs_turn_end(Fs *fs)
{
	Live *lv = fs->live;
	uint64_t next = events_next(jobs_events(fs->js));
	if (next != lv->events_seen) {
		lv->events_seen = next;
		wake(fs, &lv->events);
	}
	Watch *w;
	while ((w = lv->touched)) {
		lv->touched = w->tnext;
		w->touched = 0;
		w->busy = 1;
		wake(fs, &w->parks);
		w->busy = 0;
		watch_done(lv, w);
	}
}
