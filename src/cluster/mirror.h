/* The write path's copy in PostgreSQL, for cluster mode (doc/cluster.md,
 * "The node's cache"): each change a node makes to jobs, runs and text is
 * queued here as it happens, and the turn's changes go to the database as
 * one transaction at mirror_commit, on a PgConn (store/pgconn.h), never
 * blocking the loop.
 *
 * What the database decides, not the node:
 *   - a job log's positions: several nodes append to one job's log (its
 *     runs happen on any node), so a chunk's place in the log is taken from
 *     jobs.log_end in the same statement that stores it (the job row's lock
 *     orders the writers); a run's own output has one writer, its node, and
 *     keeps the position the node gives it;
 *   - whether a new job's name is free: a create that loses the race to
 *     another node's is not an error of the batch (the batch's other changes
 *     stand), it is reported in MirrorResult.refused.
 * Ids are the node's: blocks of MIRROR_BLOCK ids from the database's
 * sequence jobd_id_blocks, taken ahead, so no change waits for a round trip.
 *
 * Each job changed in a batch gets one row in changes and one NOTIFY jobd
 * (its id) in the same transaction: what the other nodes' feeds read.
 *
 * Strings are copied (or encoded) before a call returns. Callbacks come from
 * the loop, never from inside a mirror_* call. */
#ifndef JOBD_CLUSTER_MIRROR_H
#define JOBD_CLUSTER_MIRROR_H

#include <stddef.h>
#include <stdint.h>

#include "store/pgconn.h"
#include "store/store.h"

typedef struct Mirror Mirror;

enum {
	MIRROR_BLOCK_BITS = 20,     /* ids per block: 2^20 */
	MIRROR_REFUSED_MAX = 64,    /* refused creates reported per batch (more: counted) */
};

/* Makes the mirror of one node (name: the runs it records say it ran them)
 * on c, and asks for its first block of ids. */
Mirror *mirror_new(PgConn *c, const char *node);
/* Cancels what is not committed (its done says -ECANCELED first); the
 * connection stays the caller's. */
void mirror_close(Mirror *m);

/* A new id (> 0), or 0 while no block has come yet (the connection is down
 * since the start): the caller refuses the change. The next block is asked
 * for when half of this one is used. */
int64_t mirror_id(Mirror *m);
/* Whether mirror_id would give one now (without taking it). */
int mirror_has_ids(const Mirror *m);

/* ---- changes: each joins the open batch (opened by the first) ----
 * 0, or -ENOTCONN (the connection is down: nothing can be stored; the
 * batch's earlier changes are lost with it and its commit says so) or
 * -ENOBUFS (too much is queued). */

/* A new job, with j->id from mirror_id. Refused (see MirrorResult) if the
 * name is taken when the batch reaches the database. */
int mirror_job_create(Mirror *m, const StoreJob *j);
/* The job's schedule, command, settings and history (as store_job_save);
 * last_sched only ever moves forward. */
int mirror_job_save(Mirror *m, const StoreJob *j);
int mirror_job_started(Mirror *m, int64_t job_id, int started);
/* The job, its runs, its text and its fires. */
int mirror_job_delete(Mirror *m, int64_t job_id);
/* A run's row, as the node has it now (inserted or replaced whole: a run
 * is written by its node only). */
int mirror_run_put(Mirror *m, const StoreRun *r);
/* Text for the job's log and, with run_id > 0, that run's output at roff:
 * whole lines, at most STORE_CHUNK_MAX bytes. chunk_id from mirror_id. */
int mirror_text(Mirror *m, int64_t chunk_id, int64_t job_id, int64_t run_id, int64_t roff,
                const char *text, size_t len);
/* Retention: the runs ids[0..n) go, and the job's log before position cut
 * (whole chunks only, as in SQLite); with before, also the finished runs
 * that began before cut (their log_off). */
int mirror_retain(Mirror *m, int64_t job_id, const int64_t *ids, size_t n, int64_t cut,
                  int before);

/* ---- the commit ---- */

typedef struct MirrorResult {
	int64_t refused[MIRROR_REFUSED_MAX];   /* ids of creates whose name was taken */
	size_t nrefused;                       /* may exceed MIRROR_REFUSED_MAX */
	const int64_t *jobs;                   /* the jobs the batch changed (during done) */
	size_t njobs;
	int all;                               /* too many to list: any job */
} MirrorResult;
/* rc as PgBatchDone's (0: committed), res only with rc 0. */
typedef void MirrorDone(void *arg, int rc, const char *why, const MirrorResult *res);
/* Whether a batch open or on its way changes job_id: until its done, the
 * database's answers about the job may be older than this node's copy. */
int mirror_changing(const Mirror *m, int64_t job_id);
/* Batches committed so far: a moment to ask mirror_committed_since about. */
uint64_t mirror_gen(const Mirror *m);
/* Whether a batch committed after mirror_gen said gen changed job_id: an
 * answer about the job asked before that may miss what it wrote. */
int mirror_committed_since(const Mirror *m, int64_t job_id, uint64_t gen);
/* Whether a batch is open. */
int mirror_pending(const Mirror *m);
/* Sends the open batch as one transaction; done once. Nothing open: done
 * comes (from the loop) with 0. 0, or -ENOTCONN/-ESHUTDOWN and done is not
 * called (the batch is lost: nothing of it is stored). */
int mirror_commit(Mirror *m, MirrorDone *done, void *arg);

/* bytea's text form of p[0..n): "\x" and two hex digits a byte, in a new
 * string (what a parameter in text format needs). */
char *mirror_bytea(const void *p, size_t n);

#endif
