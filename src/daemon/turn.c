/* One write path: jobs, the 9P engine and runs change things all through a
 * loop turn; each change joins the store's batch at once. Before the loop
 * waits again (a uv_prepare handle: after every callback of the turn,
 * timers included) the runs' buffered output is stored, the batch is
 * committed in one transaction, and the replies held for it are sent.
 *
 * A commit may answer later (a cluster's database: store.h's observer).
 * One is in flight at a time: turns that end meanwhile store what they did,
 * which joins the next batch, committed at the first turn after the answer.
 * So a reply is released only by the commit of a batch that holds its
 * change, never by an earlier one's.
 *
 * A commit that cannot go through now (-EAGAIN: the database is locked by
 * another program) keeps the batch and the replies, and is tried again a
 * second later, or at the next turn. A batch the store has lost leaves the
 * daemon ahead of what is stored: jobd exits, and the next start takes up
 * from the store (runs in progress are recorded as interrupted).
 *
 * Group commit: a commit costs about as much as the changes of a few runs
 * (BEGIN, the WAL's frames, COMMIT), and a burst of fires ended in twenty
 * turns, each its own commit. So when nobody waits for the batch (no reply
 * held, no parked read it would answer, no fire claimed whose child is
 * about to start, no cluster claim deferred until it is durable), it is
 * committed by the first turn that ends COMMIT_GAP_MS or more after the
 * last commit, or by a timer COMMIT_LATEST_MS after it if no turn comes
 * (the burst's last change): the batch grows meanwhile, and the pacing
 * makes no wake-up of its own while the loop is busy. What is acknowledged
 * is still committed first; what nobody was told of (a run's start, end or
 * output) is at most COMMIT_LATEST_MS later on disk, and a crash in
 * between is as a crash a little earlier. The first change after a quiet
 * spell, and any change someone waits for, is committed at the turn's end.
 */
#include "daemon/turn.h"

#include <errno.h>
#include <stdlib.h>

#include "util/log.h"
#include "util/util.h"

enum { RETRY_MS = 1000, COMMIT_GAP_MS = 10, COMMIT_LATEST_MS = 50 };

struct Turn {
	uv_prepare_t prepare;
	uv_timer_t retry;
	uv_timer_t pace;            /* commits a batch held back by the gap */
	uint64_t sent_ns;           /* when the last commit was sent (uv_hrtime) */
	uint64_t commits;           /* batches sent to be committed */
	uint64_t held_back;         /* turns whose batch waited for the gap */
	Jobs *js;
	Store *store;
	Srv *srv;
	Fs *fs;
	int closing;
	int waiting;                /* a commit failed with -EAGAIN: said once */
	int inflight;               /* a commit's done has not come yet */
	int stopping;               /* turn_stop: close once no commit is in flight */
	void (*stopped)(void *arg);
	void *stopped_arg;
	void (*lost)(void *arg);    /* turn_on_lost */
	void *lost_arg;
};

static void close_handles(Turn *t);

/* The retry and pace timers' callback. */
static void on_wake(uv_timer_t *h)
{
	/* Nothing to do here: the turn this wakes commits (on_prepare). */
	(void)h;
}

static void committed(void *arg, int rc, const char *why)
{
	Turn *t = arg;
	t->inflight = 0;
	if (t->stopping) {
		if (rc < 0) {
			LOGE("store: the last changes: %s", why);
		} else {
			srv_release(t->srv);
			if (store_pending(t->store)) {
				/* What the last turns did while this was in flight. */
				t->inflight = 1;
				srv_seal(t->srv);
				store_commit(t->store, committed, t);
				return;
			}
		}
		close_handles(t);
		return;
	}
	if (rc == 0) {
		if (t->waiting)
			LOGI("store: committed again");
		t->waiting = 0;
		srv_release(t->srv);
		jobs_durable(t->js);
		fs_turn_end(t->fs);     /* followers see only what is committed */
		return;
	}
	if (rc == -EAGAIN) {
		if (!t->waiting)
			LOGE("store: %s; the replies to these changes wait for it", why);
		t->waiting = 1;
		if (!t->closing)
			uv_timer_start(&t->retry, on_wake, RETRY_MS, 0);
		return;
	}
	if (t->lost) {
		/* A cluster's node: the replies that would acknowledge the lost
		 * changes are not sent (their connections close), and the node
		 * takes up again from the database. */
		LOGE("store: %s; taking up again from the database", why);
		srv_drop_sealed(t->srv);
		t->lost(t->lost_arg);
		return;
	}
	LOGE("store: %s; exiting: what jobd holds is ahead of what is stored, and the next "
	     "start takes up from the store", why);
	log_fini();
	exit(EXIT_FAILURE);
}

void turn_on_lost(Turn *t, void (*lost)(void *arg), void *arg)
{
	t->lost = lost;
	t->lost_arg = arg;
}

int64_t turn_pace(int waited, uint64_t since_ns)
{
	const uint64_t ms = 1000000;
	if (waited || since_ns >= (uint64_t)COMMIT_GAP_MS * ms)
		return -1;
	/* A turn after the gap commits it; the timer only if none comes (the
	 * burst's last change), so that pacing adds no wake-up of its own while
	 * the loop is busy. */
	return (int64_t)(((uint64_t)COMMIT_LATEST_MS * ms - since_ns + ms - 1) / ms);
}

/* Whether this turn's commit waits (see "Group commit"): the timer is set
 * for the latest it may come. */
static int held_back(Turn *t)
{
	int waited = srv_holding(t->srv) || fs_waiting(t->fs) || jobs_awaiting_durable(t->js);
	int64_t ms = turn_pace(waited, uv_hrtime() - t->sent_ns);
	if (ms < 0)
		return 0;
	if (!uv_is_active((uv_handle_t *)&t->pace))
		uv_timer_start(&t->pace, on_wake, (uint64_t)ms, 0);
	t->held_back++;
	return 1;
}

uint64_t turn_commits(const Turn *t)
{
	return t->commits;
}

uint64_t turn_held_back(const Turn *t)
{
	return t->held_back;
}

static void commit_now(Turn *t)
{
	t->inflight = 1;
	uv_timer_stop(&t->pace);
	srv_seal(t->srv);           /* what this commit covers */
	jobs_sealed(t->js);
	if (store_pending(t->store)) {
		t->sent_ns = uv_hrtime();
		t->commits++;
		store_commit(t->store, committed, t);
	} else
		committed(t, 0, "");    /* nothing changed: the held replies go */
}

/* may_wait: group commit may hold the batch back (not at shutdown). */
static void end_turn(Turn *t, int may_wait)
{
	jobs_turn_end(t->js);
	if (t->inflight)
		return;                 /* the next turn after its answer commits this one's too */
	if (may_wait && store_pending(t->store) && held_back(t))
		return;
	commit_now(t);
}

void turn_end(Turn *t)
{
	end_turn(t, 0);
}

static void on_prepare(uv_prepare_t *h)
{
	end_turn(h->data, 1);
}

Turn *turn_start(uv_loop_t *loop, Jobs *js, Store *store, Srv *srv, Fs *fs)
{
	Turn *t = xcalloc(1, sizeof *t);
	t->fs = fs;
	t->js = js;
	t->store = store;
	t->srv = srv;
	uv_prepare_init(loop, &t->prepare);
	uv_timer_init(loop, &t->retry);
	uv_timer_init(loop, &t->pace);
	t->prepare.data = t->retry.data = t->pace.data = t;
	uv_prepare_start(&t->prepare, on_prepare);
	/* The timer only wakes the loop; it must not keep a finished loop alive. */
	uv_unref((uv_handle_t *)&t->retry);
	return t;
}

static void closed(uv_handle_t *h)
{
	Turn *t = h->data;
	if (--t->closing > 0)
		return;
	if (t->stopped)
		t->stopped(t->stopped_arg);
	free(t);
}

static void close_handles(Turn *t)
{
	if (t->closing)
		return;
	t->closing = 3;
	uv_close((uv_handle_t *)&t->prepare, closed);
	uv_close((uv_handle_t *)&t->retry, closed);
	uv_close((uv_handle_t *)&t->pace, closed);
}

void turn_stop(Turn *t, void (*stopped)(void *arg), void *arg)
{
	t->stopped = stopped;
	t->stopped_arg = arg;
	/* The last turn's changes: after the commit in flight, if one is. */
	if (t->inflight) {
		jobs_turn_end(t->js);
		t->stopping = 1;
		return;
	}
	turn_end(t);
	if (t->inflight)
		t->stopping = 1;        /* answered later: closed then */
	else
		close_handles(t);
}
