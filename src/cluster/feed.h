/* The changes feed (doc/cluster.md, "One name space"): how a node learns of
 * every change to a job made through another node, within a notification's
 * time, on one PostgreSQL connection of its own (store/pgconn.h).
 *
 * A writer adds a row to the table changes and notifies the channel jobd in
 * the same transaction (cfeed_note). A ClusterFeed LISTENs to jobd and reads
 * the table: at once after each (re)connection (notifications are not
 * replayed), when notified (one read in flight at most; notifications meanwhile
 * make one more read after it), and every poll_ms anyway. It hands the rows
 * to the caller in seq order, each once.
 *
 * Why not simply "the rows past the last seq seen": seq is handed out at
 * insert, and transactions commit in any order, so 11 can be visible while
 * 10 has yet to commit. A seq missing below the highest one delivered is a
 * gap: a transaction still open, or one rolled back (sequences are not
 * transactional). Each read asks for the open gaps and for the rows past the
 * highest seq delivered; a gap open for gap_ms is taken for a rollback and
 * given up (feed.c says more, and what the gaps cost).
 *
 * The connection is the caller's: it makes it before the feed, forwards its
 * notify callback to cfeed_notified and its state callback to
 * cfeed_conn_changed, and closes it after the feed. Give the feed a
 * connection of its own: its reads must not queue behind the store's
 * batches, and its LISTEN is the session's.
 *
 * Callbacks come from the loop, never from inside a cfeed_* call. */
#ifndef JOBD_CLUSTER_FEED_H
#define JOBD_CLUSTER_FEED_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "store/pgconn.h"

typedef struct ClusterFeed ClusterFeed;

/* Defaults and bounds. */
enum {
	CFEED_POLL_MS = 5000,         /* a read at least this often */
	CFEED_GAP_MS = 30000,         /* a gap open this long was a rollback */
	CFEED_PAGE = 1000,            /* new rows read at most per query */
	CFEED_MAX_GAPS = 4096,        /* gaps remembered at most (seqs) */
	CFEED_PRUNE_KEEP = 100000,    /* the prune leaves the rows of the newest seqs */
	CFEED_PRUNE_MS = 60000,       /* a prune at most this often */
};

/* One row of changes. kind is borrowed: valid during the callback only. */
typedef struct CFeedChange {
	int64_t seq;
	int64_t job_id;
	const char *kind;
} CFeedChange;

typedef struct CFeedOpts {
	/* The first seq to deliver (1: every row still in the table). 0: from
	 * now: the highest seq committed when the feed starts, and the rows
	 * missing just below it (open transactions: see ready). */
	int64_t from_seq;
	/* 0: the defaults above. prune_keep < 0: this node never prunes. */
	int poll_ms, gap_ms, prune_ms;
	int64_t prune_keep;
	/* n rows (1 <= n <= CFEED_PAGE + CFEED_MAX_GAPS), in seq order within
	 * a call. A row that fills a gap comes after higher ones delivered
	 * before it. Applying a change must not depend on the order of jobs. */
	void (*changed)(void *arg, const CFeedChange *c, size_t n);
	/* Once, when the start position is taken (with from_seq 0: start_seq
	 * is the highest seq committed then): every change committed after
	 * this moment will be delivered. A node loads its jobs after ready,
	 * not before (a change committed between a load and the feed's start
	 * would be in neither). Optional. */
	void (*ready)(void *arg, int64_t start_seq);
	/* Rows this feed had not read yet were pruned (it was more than
	 * prune_keep changes behind, e.g. cut off for long): changes may have
	 * been missed, and every job must be read again. Optional (logged). */
	void (*overrun)(void *arg, int64_t first_missed, int64_t last_missed);
	void *arg;
} CFeedOpts;

/* Starts the feed on c (LISTEN and the first read are queued if c is
 * connecting; refused statements are sent again when cfeed_conn_changed says
 * it is up, or at the next poll). c must outlive the feed. NULL if changed
 * is NULL or a time is negative. */
ClusterFeed *cfeed_new(uv_loop_t *loop, PgConn *c, const CFeedOpts *o);

/* Forward PgConnOpts.notify here. Channels other than jobd are ignored. */
void cfeed_notified(ClusterFeed *f, const char *channel, const char *payload);

/* Forward PgConnOpts.state here: when the connection is up (a new session),
 * the feed LISTENs again and reads at once. Without it the next poll does
 * the same, up to poll_ms later. */
void cfeed_conn_changed(ClusterFeed *f, int up);

typedef struct CFeedInfo {
	int64_t cursor;             /* every seq up to it is delivered or given up */
	int64_t last_seq;           /* the highest seq delivered (or the start) */
	size_t gaps;                /* seqs missing below last_seq, still awaited */
	uint64_t delivered;         /* rows handed to changed */
	uint64_t given_up;          /* gaps given up (rollbacks, or beyond the bound) */
	uint64_t reads;             /* reads answered */
	int64_t last_read_age_ms;   /* since the last read answered; -1: none yet */
	int ready;                  /* the start position is taken */
} CFeedInfo;
void cfeed_info(const ClusterFeed *f, CFeedInfo *out);

/* Stops the feed: no callback of its options comes after this returns (a
 * read in flight is answered to nobody). closed(arg) comes from the loop
 * once it is freed (may be NULL). */
void cfeed_close(ClusterFeed *f, void (*closed)(void *arg), void *arg);

/* ---- the writer's side ---- */

/* Queues on c, as one statement, the row in changes for job_id and kind and
 * the NOTIFY that goes with it (sent by the server at commit, so never before
 * the row is visible). Queue it into the batch that makes the change: then
 * the change, its row and its notification commit together or not at all.
 * pgconn_query's result: 0, or -ENOTCONN, -ENOBUFS, -ESHUTDOWN. */
int cfeed_note(PgConn *c, int64_t job_id, const char *kind);

#endif
