/* The changes feed (feed.h): LISTEN, reads of the table changes, and the
 * gaps that out-of-order commits leave.
 *
 * The reading rule. Let last be the highest seq delivered. A seq below last
 * that was not delivered is a gap: its transaction is still open (it took
 * its seq before the one that made last, and commits after), or it rolled
 * back and the seq will never be seen. Each read asks for two things in one
 * statement (one snapshot): the rows of the open gaps (seq = ANY(gaps)) and
 * the rows past last (seq > last, a page of CFEED_PAGE at most, read again
 * at once while a page comes back full). A row past last opens the seqs it
 * skips as gaps, stamped with the local monotonic time they were first
 * seen; a row in a gap closes it; any other row was delivered before and is
 * dropped (the query does not ask for such rows: the check only keeps the
 * rule whole). So the gaps are the bounded set a reader needs to deliver
 * each row once: what was delivered after the oldest open gap is everything
 * in (cursor, last] that is not a gap. The cursor, the highest seq below
 * which nothing is awaited, is the oldest open gap less one, or last.
 *
 * A gap open for gap_ms is given up (taken for a rollback: a transaction of
 * jobd's that commits 30 s after taking its seq is not one jobd makes). Gaps
 * are found in seq order and at times that never go back, so the array of
 * gaps is sorted by seq and by age at once, and the ones to give up are
 * always a prefix. At most CFEED_MAX_GAPS are kept (a rollback of a batch
 * bigger than that, a sequence moved by hand): beyond it the oldest are
 * given up, with one warning. What it costs: each read sends the open gaps
 * as one array parameter (up to 4096 numbers, 80 kB) and the server looks
 * each up in the primary key; closing a gap moves the array's tail (O(gaps)).
 * Rows already delivered are never sent again, however long a gap stays.
 *
 * Why LISTEN and the reads are separate statements, LISTEN first: in one
 * transaction LISTEN takes effect at its commit, after the read's snapshot,
 * and a change committed in between would be neither read nor notified.
 * Statements of a connection run in the order queued, so LISTEN has
 * committed before the read after it starts.
 *
 * The start from now (from_seq 0). A node loads every job, then applies
 * what changed since. The start position must be taken before the load: a
 * change committed between the two would otherwise be in neither (so ready
 * says when it is taken, and the node loads after it). And taking it as
 * max(seq) alone would lose a transaction open at that moment whose seq is
 * below max: it commits later, after the load. So the start reads the seqs
 * of the newest CFEED_MAX_GAPS and takes those missing among them as gaps,
 * like any others; the rows themselves are not delivered. A change that
 * commits between the start and the load is delivered and is in the load
 * too: applying it twice is harmless.
 *
 * Pruning. The table keeps what a reader behind may still need; it has no
 * time column (and the schema is not this file's), so age is told by seq
 * distance: a node deletes every row but those of the newest prune_keep
 * seqs (as many rows, less the rollbacks among them), at most once per
 * prune_ms. Every node does, so that pruning needs no particular node alive:
 * the DELETE is one index range, the same whoever runs it. A reader more than
 * prune_keep changes behind (cut off for long on a busy cluster) finds the
 * oldest row left past the rows it awaits: overrun says so, and the node
 * reads every job again. A transaction open while prune_keep others commit
 * could lose its row to the prune too: jobd makes none. */
#include "cluster/feed.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/util.h"

#define CHANNEL "jobd"

static const char SQL_LISTEN[] = "LISTEN " CHANNEL;

/* $1 window. The seqs of the newest rows, ascending: the last is max(seq). */
static const char SQL_START[] =
	"SELECT seq FROM changes"
	" WHERE seq > (SELECT coalesce(max(seq), 0) FROM changes) - $1::bigint ORDER BY seq";

/* $1 the open gaps ('{10,12}'), $2 last, $3 the page. The fourth column,
 * on the rows past last, is the oldest row left (overrun). */
static const char SQL_READ[] =
	"SELECT seq, job_id, kind, NULL::bigint FROM changes WHERE seq = ANY($1::bigint[])"
	" UNION ALL"
	" (SELECT seq, job_id, kind, (SELECT min(seq) FROM changes) FROM changes"
	"  WHERE seq > $2::bigint ORDER BY seq LIMIT $3::int)"
	" ORDER BY 1";

/* $1 the rows to keep. */
static const char SQL_PRUNE[] =
	"DELETE FROM changes WHERE seq <= (SELECT max(seq) FROM changes) - $1::bigint";

/* $1 job, $2 kind. pg_notify, not NOTIFY: a NOTIFY takes no parameter. */
static const char SQL_NOTE[] =
	"WITH c AS (INSERT INTO changes (job_id, kind) VALUES ($1::bigint, $2::text)"
	" RETURNING job_id)"
	" SELECT pg_notify('" CHANNEL "', job_id::text) FROM c";

enum { NS_PER_MS = 1000000 };

typedef struct Gap {
	int64_t seq;
	Mono seen;                  /* when it was first seen missing */
} Gap;

/* A statement sent for the feed. pgconn holds it as the callback's argument
 * and may answer after the feed is closed: f is NULL then. */
typedef struct FeedReq {
	ClusterFeed *f;
	int64_t after;              /* a read's last when it was sent */
} FeedReq;

struct ClusterFeed {
	uv_loop_t *loop;
	PgConn *c;
	CFeedOpts o;
	uv_timer_t poll;
	int closing;
	void (*closed)(void *arg);
	void *closed_arg;
	FeedReq *read;              /* the start or a read, in flight */
	FeedReq *listen, *prune;    /* in flight */
	int listened;               /* LISTEN queued on this session, not failed */
	int again;                  /* a read was asked for while one was in flight */
	int ready;
	int warned_bound;
	uint64_t failures;          /* reads failed since one was answered */
	int64_t last;
	Gap *gaps;                  /* CFEED_MAX_GAPS, sorted by seq and by age */
	size_t ngaps;
	uint64_t delivered, given_up, reads;
	Mono last_read, last_prune;
};

static int64_t age_ms(Mono since, Mono now)
{
	return (now.ns - since.ns) / NS_PER_MS;
}

/* ---- gaps ---- */

static void drop_oldest(ClusterFeed *f, size_t k)
{
	memmove(f->gaps, f->gaps + k, (f->ngaps - k) * sizeof *f->gaps);
	f->ngaps -= k;
	f->given_up += k;
}

static void warn_bound(ClusterFeed *f, int64_t n)
{
	if (f->warned_bound)
		return;
	f->warned_bound = 1;
	LOGW("cluster: changes feed: more than %d seqs missing at once (%lld more); the oldest "
	     "are given up, and a change among them that commits later is missed (said once)",
	     CFEED_MAX_GAPS, (long long)n);
}

/* The seqs between after and before (both excluded) are missing: gaps. */
static void open_gaps(ClusterFeed *f, int64_t after, int64_t before, Mono now)
{
	int64_t k = before - after - 1;
	if (k <= 0)
		return;
	if (k > CFEED_MAX_GAPS) {
		warn_bound(f, k - CFEED_MAX_GAPS);
		f->given_up += (uint64_t)(k - CFEED_MAX_GAPS);
		after = before - 1 - CFEED_MAX_GAPS;
		k = CFEED_MAX_GAPS;
	}
	size_t room = CFEED_MAX_GAPS - f->ngaps;
	if ((size_t)k > room) {
		warn_bound(f, (int64_t)((size_t)k - room));
		drop_oldest(f, (size_t)k - room);
	}
	for (int64_t s = after + 1; s < before; s++)
		f->gaps[f->ngaps++] = (Gap){ .seq = s, .seen = now };
}

/* 1 if seq was an open gap (it is closed now). Binary search. */
static int close_gap(ClusterFeed *f, int64_t seq)
{
	size_t lo = 0, hi = f->ngaps;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->gaps[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == f->ngaps || f->gaps[lo].seq != seq)
		return 0;
	memmove(f->gaps + lo, f->gaps + lo + 1, (f->ngaps - lo - 1) * sizeof *f->gaps);
	f->ngaps--;
	return 1;
}

/* How many gaps, from the oldest, have been open gap_ms by now. */
static size_t expired(const ClusterFeed *f, Mono now)
{
	size_t k = 0;
	while (k < f->ngaps && age_ms(f->gaps[k].seen, now) >= f->o.gap_ms)
		k++;
	return k;
}

static void give_up_expired(ClusterFeed *f)
{
	size_t k = expired(f, mono_now());
	if (k == 0)
		return;
	VLOG(1, "cluster: changes feed: %zu seqs missing for %d ms given up (rolled back): %lld..%lld",
	     k, f->o.gap_ms, (long long)f->gaps[0].seq, (long long)f->gaps[k - 1].seq);
	drop_oldest(f, k);
}

/* ---- statements ---- */

static int feed_send(ClusterFeed *f, FeedReq **slot, int64_t after, const char *sql, int nparams,
                     const char *const *params, PgQueryDone *done)
{
	FeedReq *r = xcalloc(1, sizeof *r);
	r->f = f;
	r->after = after;
	int rc = pgconn_query(f->c, sql, nparams, params, done, r);
	if (rc < 0) {
		free(r);
		return rc;
	}
	*slot = r;
	return 0;
}

/* The feed a request was for, or NULL if it was closed meanwhile; r is freed. */
static ClusterFeed *answered(FeedReq *r, int64_t *after)
{
	ClusterFeed *f = r->f;
	if (after)
		*after = r->after;
	free(r);
	return f;
}

static void read_now(ClusterFeed *f);

static void read_failed(ClusterFeed *f, const char *err)
{
	/* The session may be gone with it: LISTEN again before the next read
	 * (once more on a live session is harmless). */
	f->listened = 0;
	f->failures++;
	/* The first of a run is logged, the rest only with -v: the database
	 * away means one at each poll. The next notification, reconnection or
	 * poll reads again: not at once, which would spin on an error that
	 * stays (the table missing, say). */
	if (f->failures == 1)
		LOGW("cluster: changes feed: read failed: %s (read again at the next notification, "
		     "reconnection, or within %d ms)", err, f->o.poll_ms);
	else
		VLOG(1, "cluster: changes feed: read failed: %s", err);
}

static void answered_read(ClusterFeed *f)
{
	f->reads++;
	f->last_read = mono_now();
	if (f->failures)
		LOGI("cluster: changes feed: reading again after %llu failures",
		     (unsigned long long)f->failures);
	f->failures = 0;
}

/* A read's answer: the feed (its read over), or NULL (closed, or the read
 * failed: said). */
static ClusterFeed *read_answer(void *arg, const PGresult *res, const char *err, int64_t *after)
{
	ClusterFeed *f = answered(arg, after);
	if (f == NULL)
		return NULL;
	f->read = NULL;
	if (res == NULL) {
		read_failed(f, err);
		return NULL;
	}
	answered_read(f);
	return f;
}

static void became_ready(ClusterFeed *f)
{
	f->ready = 1;
	if (f->o.ready)
		f->o.ready(f->o.arg, f->last);
}

static void on_listen(void *arg, PGresult *res, const char *err)
{
	ClusterFeed *f = answered(arg, NULL);
	if (f == NULL)
		return;
	f->listen = NULL;
	if (res == NULL) {
		f->listened = 0;
		VLOG(1, "cluster: changes feed: LISTEN failed: %s", err);
	}
}

/* The start from now: the newest seqs, and the missing among them. */
static void on_start(void *arg, PGresult *res, const char *err)
{
	ClusterFeed *f = read_answer(arg, res, err, NULL);
	if (f == NULL)
		return;
	int n = PQntuples(res);
	int64_t max = n > 0 ? strtoll(PQgetvalue(res, n - 1, 0), NULL, 10) : 0;
	int64_t prev = max > CFEED_MAX_GAPS ? max - CFEED_MAX_GAPS : 0;
	Mono now = mono_now();
	for (int i = 0; i < n; i++) {
		int64_t seq = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		open_gaps(f, prev, seq, now);
		prev = seq;
	}
	f->last = max;
	became_ready(f);
	if (!f->closing && f->again)
		read_now(f);
}

/* The oldest row left is past the next seq awaited: the ones between were
 * pruned unread (or, rarely, never committed: a reload costs no more). */
static void check_overrun(ClusterFeed *f, const PGresult *res, int row)
{
	if (PQgetisnull(res, row, 3))
		return;
	int64_t oldest = strtoll(PQgetvalue(res, row, 3), NULL, 10);
	if (oldest <= f->last + 1)
		return;
	LOGW("cluster: changes feed: changes %lld..%lld were pruned before this node read them "
	     "(it was too far behind): every job is to be read again",
	     (long long)f->last + 1, (long long)oldest - 1);
	int64_t first = f->last + 1;
	f->last = oldest - 1;
	if (f->o.overrun)
		f->o.overrun(f->o.arg, first, oldest - 1);
}

/* Delivers what is new in a read's rows; returns how many rows were past
 * after (the page's measure: full means more may be waiting). */
static size_t take_rows(ClusterFeed *f, const PGresult *res, int64_t after)
{
	int n = PQntuples(res);
	CFeedChange *out = xcalloc((size_t)n + 1, sizeof *out);
	size_t nout = 0, past = 0;
	Mono now = mono_now();
	for (int i = 0; i < n; i++) {
		int64_t seq = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		if (seq > after)
			past++;
		if (seq > f->last) {
			if (past == 1)
				check_overrun(f, res, i);
			open_gaps(f, f->last, seq, now);
			f->last = seq;
		} else if (!close_gap(f, seq)) {
			continue;           /* delivered before */
		}
		out[nout++] = (CFeedChange){
			.seq = seq,
			.job_id = strtoll(PQgetvalue(res, i, 1), NULL, 10),
			.kind = PQgetvalue(res, i, 2),
		};
	}
	f->delivered += nout;
	if (nout > 0 && !f->closing)
		f->o.changed(f->o.arg, out, nout);
	free(out);
	return past;
}

static void on_read(void *arg, PGresult *res, const char *err)
{
	int64_t after;
	ClusterFeed *f = read_answer(arg, res, err, &after);
	if (f == NULL)
		return;
	if (!f->ready)
		became_ready(f);        /* LISTEN in place, the start position given */
	if (f->closing)
		return;
	size_t past = take_rows(f, res, after);
	if (!f->closing && (past >= CFEED_PAGE || f->again))
		read_now(f);
}

/* LISTEN, once per session, queued ahead of the read it precedes. */
static void listen_once(ClusterFeed *f)
{
	if (f->listened || f->listen)
		return;
	if (feed_send(f, &f->listen, 0, SQL_LISTEN, 0, NULL, on_listen) == 0)
		f->listened = 1;
}

static void send_start(ClusterFeed *f)
{
	char window[24];
	strfmt(window, sizeof window, "%d", CFEED_MAX_GAPS);
	const char *p[] = { window };
	int rc = feed_send(f, &f->read, 0, SQL_START, 1, p, on_start);
	if (rc < 0)
		VLOG(1, "cluster: changes feed: start not sent: %s", strerror(-rc));
}

static void send_read(ClusterFeed *f)
{
	give_up_expired(f);
	Buf gaps = { 0 };
	buf_addstr(&gaps, "{");
	for (size_t i = 0; i < f->ngaps; i++)
		buf_printf(&gaps, "%s%lld", i ? "," : "", (long long)f->gaps[i].seq);
	buf_addstr(&gaps, "}");
	char last[24], page[24];
	strfmt(last, sizeof last, "%lld", (long long)f->last);
	strfmt(page, sizeof page, "%d", CFEED_PAGE);
	const char *p[] = { gaps.data, last, page };
	int rc = feed_send(f, &f->read, f->last, SQL_READ, 3, p, on_read);
	buf_free(&gaps);
	if (rc < 0)
		VLOG(1, "cluster: changes feed: read not sent: %s", strerror(-rc));
}

/* A read is wanted: now, or after the one in flight. */
static void read_now(ClusterFeed *f)
{
	if (f->closing)
		return;
	if (f->read) {
		f->again = 1;
		return;
	}
	f->again = 0;
	listen_once(f);
	if (f->ready || f->o.from_seq > 0)
		send_read(f);
	else
		send_start(f);
}

static void on_prune(void *arg, PGresult *res, const char *err)
{
	ClusterFeed *f = answered(arg, NULL);
	if (f == NULL)
		return;
	f->prune = NULL;
	if (res == NULL)
		VLOG(1, "cluster: changes feed: prune failed: %s", err);
	else
		VLOG(2, "cluster: changes feed: pruned %s rows", PQcmdTuples(res));
}

static void maybe_prune(ClusterFeed *f)
{
	Mono now = mono_now();
	if (f->o.prune_keep < 0 || f->prune || age_ms(f->last_prune, now) < f->o.prune_ms)
		return;
	f->last_prune = now;
	char keep[24];
	strfmt(keep, sizeof keep, "%lld", (long long)f->o.prune_keep);
	const char *p[] = { keep };
	feed_send(f, &f->prune, 0, SQL_PRUNE, 1, p, on_prune);
}

static void on_poll(uv_timer_t *h)
{
	ClusterFeed *f = h->data;
	read_now(f);
	maybe_prune(f);
}

/* ---- the interface ---- */

ClusterFeed *cfeed_new(uv_loop_t *loop, PgConn *c, const CFeedOpts *o)
{
	if (o == NULL || o->changed == NULL || o->from_seq < 0 || o->poll_ms < 0 || o->gap_ms < 0 ||
	    o->prune_ms < 0)
		return NULL;
	ClusterFeed *f = xcalloc(1, sizeof *f);
	f->loop = loop;
	f->c = c;
	f->o = *o;
	if (f->o.poll_ms == 0)
		f->o.poll_ms = CFEED_POLL_MS;
	if (f->o.gap_ms == 0)
		f->o.gap_ms = CFEED_GAP_MS;
	if (f->o.prune_ms == 0)
		f->o.prune_ms = CFEED_PRUNE_MS;
	if (f->o.prune_keep == 0)
		f->o.prune_keep = CFEED_PRUNE_KEEP;
	f->last = f->o.from_seq > 0 ? f->o.from_seq - 1 : 0;
	f->gaps = xcalloc(CFEED_MAX_GAPS, sizeof *f->gaps);
	f->last_prune = mono_now();
	uv_timer_init(loop, &f->poll);
	f->poll.data = f;
	uv_timer_start(&f->poll, on_poll, (uint64_t)f->o.poll_ms, (uint64_t)f->o.poll_ms);
	read_now(f);                /* queued while the connection is being made */
	return f;
}

void cfeed_notified(ClusterFeed *f, const char *channel, const char *payload)
{
	(void)payload;              /* the read finds every change, not just this one */
	if (strcmp(channel, CHANNEL) == 0)
		read_now(f);
}

void cfeed_conn_changed(ClusterFeed *f, int up)
{
	if (!up) {
		f->listened = 0;
		return;
	}
	/* A read queued while connecting, behind its LISTEN, runs on this
	 * session already: nothing was missed before it. */
	if (f->read && f->listened)
		return;
	f->listened = 0;
	read_now(f);
}

void cfeed_info(const ClusterFeed *f, CFeedInfo *out)
{
	Mono now = mono_now();
	size_t old = expired(f, now);
	*out = (CFeedInfo){
		.cursor = old < f->ngaps ? f->gaps[old].seq - 1 : f->last,
		.last_seq = f->last,
		.gaps = f->ngaps - old,
		.delivered = f->delivered,
		.given_up = f->given_up + old,
		.reads = f->reads,
		.last_read_age_ms = f->reads ? age_ms(f->last_read, now) : -1,
		.ready = f->ready,
	};
}

static void on_closed(uv_handle_t *h)
{
	ClusterFeed *f = h->data;
	if (f->closed)
		f->closed(f->closed_arg);
	free(f->gaps);
	free(f);
}

void cfeed_close(ClusterFeed *f, void (*closed)(void *arg), void *arg)
{
	if (f->closing)
		return;
	f->closing = 1;
	f->closed = closed;
	f->closed_arg = arg;
	/* pgconn still holds what is in flight and will answer it: the
	 * answers find no feed, and only free their requests. */
	FeedReq *inflight[] = { f->read, f->listen, f->prune };
	for (size_t i = 0; i < nelem(inflight); i++)
		if (inflight[i])
			inflight[i]->f = NULL;
	f->read = f->listen = f->prune = NULL;
	uv_close((uv_handle_t *)&f->poll, on_closed);
}

/* ---- the writer's side ---- */

int cfeed_note(PgConn *c, int64_t job_id, const char *kind)
{
	char id[24];
	strfmt(id, sizeof id, "%lld", (long long)job_id);
	const char *p[] = { id, kind };
	return pgconn_query(c, SQL_NOTE, 2, p, NULL, NULL);
}
