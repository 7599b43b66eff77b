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
 * from the store (runs in progress are recorded as interrupted). */
#include "daemon/turn.h"

#include <errno.h>
#include <stdlib.h>

#include "util/log.h"
#include "util/util.h"

enum { RETRY_MS = 1000 };

struct Turn {
	uv_prepare_t prepare;
	uv_timer_t retry;
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

static void on_retry(uv_timer_t *h)
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
			uv_timer_start(&t->retry, on_retry, RETRY_MS, 0);
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

void turn_end(Turn *t)
{
	jobs_turn_end(t->js);
	if (t->inflight)
		return;                 /* the next turn after its answer commits this one's too */
	t->inflight = 1;
	srv_seal(t->srv);           /* what this commit covers */
	jobs_sealed(t->js);
	if (store_pending(t->store))
		store_commit(t->store, committed, t);
	else
		committed(t, 0, "");    /* nothing changed: the held replies go */
}

static void on_prepare(uv_prepare_t *h)
{
	turn_end(h->data);
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
	t->prepare.data = t->retry.data = t;
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
	t->closing = 2;
	uv_close((uv_handle_t *)&t->prepare, closed);
	uv_close((uv_handle_t *)&t->retry, closed);
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
