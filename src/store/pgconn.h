/* One connection to PostgreSQL, driven by the libuv loop and never blocking
 * it: the driver the PostgreSQL store sits on (doc/cluster.md).
 *
 * Statements are queued first in, first out and sent at once, back to back,
 * in libpq's pipeline mode: a batch of a thousand is one write and one round
 * trip, not a thousand. Between two sync points the statements are one
 * transaction (PostgreSQL's implicit transaction of a pipeline segment): a
 * batch (pgconn_batch_begin ... pgconn_batch_commit) commits whole or not at
 * all, and reports once; a lone pgconn_query is a batch of one. Do not send
 * BEGIN or COMMIT yourself: the batch is the transaction.
 *
 * The connection comes back by itself: when it is lost, every statement
 * queued or in flight is reported failed (none is sent again: whether to
 * retry is the caller's decision, since one in flight may have run), the
 * state callback says why, and a new connection is attempted after 0.1 s,
 * then 0.2, 0.4 ... 2 s between attempts.
 *
 * Host names are resolved by libpq inside the attempt, blocking: give a
 * unix socket directory or hostaddr= (an address) in conninfo.
 *
 * Every callback comes from the loop, never from inside a pgconn_* call
 * (pgconn_close excepted: it reports what it cancels before it returns). */
#ifndef JOBD_PGCONN_H
#define JOBD_PGCONN_H

#include <stddef.h>

#include <libpq-fe.h>
#include <uv.h>

typedef struct PgConn PgConn;

/* A statement's outcome: res (TUPLES_OK or COMMAND_OK, borrowed: cleared
 * after done returns) and err "", or res NULL and err, why it failed. */
typedef void PgQueryDone(void *arg, PGresult *res, const char *err);
/* A batch's outcome: rc 0 (committed, why ""), or -errno with why:
 *   -EIO        a statement failed (or the commit did): nothing of the batch
 *               is stored;
 *   -ECONNRESET the connection was lost after the batch was sent: it may or
 *               may not have committed;
 *   -ENOTCONN   the connection was lost before it was sent: not stored;
 *   -ECANCELED  pgconn_close came first (sent or not: as for the above). */
typedef void PgBatchDone(void *arg, int rc, const char *why);

typedef struct PgConnOpts {
	/* up 1: connected (why ""); up 0: lost, or an attempt failed (why).
	 * Said on each change only, not on every failed attempt. A new
	 * connection is a new session: LISTEN again here. */
	void (*state)(void *arg, int up, const char *why);
	/* A NOTIFY on a channel this connection LISTENs to. */
	void (*notify)(void *arg, const char *channel, const char *payload);
	void *arg;
	/* The most statements (and sync points) queued or in flight; more are
	 * refused (-ENOBUFS) until some are answered. 0: PGCONN_MAX_QUEUED. */
	size_t max_queued;
	/* How long an attempt to connect may take before it is given up (and
	 * tried again). 0: PGCONN_CONNECT_TIMEOUT_MS. */
	int connect_timeout_ms;
} PgConnOpts;

enum { PGCONN_MAX_QUEUED = 65536, PGCONN_CONNECT_TIMEOUT_MS = 10000 };

/* Starts connecting (from the loop: nothing is done before it runs). conninfo
 * is a libpq connection string or URI. Never NULL. */
PgConn *pgconn_new(uv_loop_t *loop, const char *conninfo, const PgConnOpts *o);

/* Queues one statement ($1.. are params, text format; a NULL param is SQL
 * NULL; the strings are copied or sent before this returns). 0: done will be
 * called exactly once. Else done is not called:
 *   -ENOTCONN  not connected (nor connecting), or the batch this statement
 *              would join was cut by a lost connection;
 *   -ENOBUFS   a lone statement, and the queue is full;
 *   -ESHUTDOWN pgconn_close was called.
 * Outside a batch the statement is its own transaction, and done comes when
 * it has committed. Inside one, done comes with its result (for RETURNING),
 * before the batch's done says whether it committed; done may be NULL. */
int pgconn_query(PgConn *c, const char *sql, int nparams, const char *const *params,
                 PgQueryDone *done, void *arg);

/* Opens a batch: the statements queued until pgconn_batch_commit are one
 * transaction. 0, or -ENOTCONN, -ENOBUFS (the queue is full: the limit is
 * checked here, and a batch once open is taken whole), -EBUSY (one is open),
 * -ESHUTDOWN. */
int pgconn_batch_begin(PgConn *c);
/* Closes the batch and sends it: 0 and done later, once; or -ENOTCONN (the
 * connection was lost since pgconn_batch_begin: the statements queued so far
 * have been reported failed, and nothing of the batch is stored), -EINVAL
 * (no batch open) or -ESHUTDOWN, and done is not called. */
int pgconn_batch_commit(PgConn *c, PgBatchDone *done, void *arg);

/* Statements and sync points queued or in flight: what max_queued bounds. */
size_t pgconn_queued(const PgConn *c);
/* 1 if connected now. */
int pgconn_up(const PgConn *c);
/* Why the connection was last lost or refused ("" if never). */
const char *pgconn_why(const PgConn *c);

/* Disconnects; every statement and batch still queued is reported
 * (-ECANCELED, "closed") before this returns; closed(arg) comes from the
 * loop once everything is freed. */
void pgconn_close(PgConn *c, void (*closed)(void *arg), void *arg);

#endif
