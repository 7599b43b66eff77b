/* A cluster node's lease and fencing (doc/cluster.md, "Fencing and leases"),
 * on one PostgreSQL connection (store/pgconn.h), never blocking the loop.
 *
 * Each node has a row in the table nodes. A ClusterNode registers once, at
 * its first answer from the database: the row's epoch is bumped (1 for a new
 * name), which fences out every older process that had the name. It then
 * renews its lease every renew_ms (lease_until = now() + lease_ms, by the
 * database's clock) for that epoch only. A renewal that updates no row means
 * a newer registration took the name (another process started with it, or
 * the row was deleted): the node is FENCED for good. It never registers
 * again by itself, since the other process may be running; the caller
 * decides (stop the daemon, or make a new ClusterNode once the other is
 * known to be gone). A lost connection is not a reason to register again:
 * when it comes back the node renews the same epoch, and only a refusal
 * fences it.
 *
 * Whether the node may start a command is answered locally and
 * conservatively (cnode_may_start): a node that cannot renew, paused or cut
 * off, stops starting before the database considers its lease over. The
 * start itself is one conditional UPDATE in the database (cnode_start_fire),
 * so the database has the last word.
 *
 * The database's now() is the clock of record. Each renewal also measures
 * how far this host's wall clock is from it (logged when over 1 s).
 *
 * Give the node a connection of its own (or one carrying only short
 * statements, like the LISTEN connection): a renewal queued behind a long
 * batch of the store arrives late, and the lease lapses locally meanwhile.
 *
 * Callbacks come from the loop, never from inside a cnode_* call
 * (cnode_close excepted: it reports what it cancels before it returns). */
#ifndef JOBD_CLUSTER_NODE_H
#define JOBD_CLUSTER_NODE_H

#include <stdint.h>

#include <uv.h>

#include "store/pgconn.h"
#include "util/util.h"

typedef struct ClusterNode ClusterNode;

/* The node's states, as the state callback reports them. */
enum {
	CNODE_DOWN = 0,     /* no valid lease: not registered yet, or it ran out */
	CNODE_UP = 1,       /* the lease is valid (cnode_may_start says yes) */
	CNODE_FENCED = 2,   /* a newer registration took the name: final */
};

/* Defaults (milliseconds) and the clock warning's threshold. */
enum {
	CNODE_LEASE_MS = 10000,
	CNODE_RENEW_MS = 2000,
	CNODE_MARGIN_MS = 1000,
	CNODE_CLOCK_WARN_MS = 1000,   /* |offset| over this: the clock is "off" */
	CNODE_CLOCK_HYST_MS = 200,    /* back "ok" under CLOCK_WARN_MS - this */
	CNODE_NAME_MAX = 64,
	CNODE_LIST_MAX = 1000,        /* rows cnode_list renders at most */
};

typedef struct CNodeOpts {
	/* The lease the database grants at each renewal, how often it is
	 * renewed, and how much sooner than (send time + lease) the node stops
	 * believing in it. 0: the defaults above. Needs renew < lease - margin
	 * (else the lease lapses between renewals): cnode_new refuses others. */
	int lease_ms, renew_ms, margin_ms;
	/* How long after another node's lease ended (by the database's clock)
	 * cnode_reap takes its fires over. 0, the default, is at once: that
	 * node stopped starting margin_ms before its lease ended (node.c). */
	int reap_grace_ms;
	/* The wall clock (unix ns) whose offset to the database is measured.
	 * NULL: the real one (tests shift it). */
	int64_t (*wall_ns)(void);
	/* state: on each change (CNODE_*), with why ("" for CNODE_UP). */
	void (*state)(void *arg, int state, const char *why);
	/* clock: the wall clock went off (off 1: |offset| > CNODE_CLOCK_WARN_MS)
	 * or came back (off 0); offset_ms = database - local. Also logged. */
	void (*clock)(void *arg, int off, int64_t offset_ms);
	void *arg;
} CNodeOpts;

/* A name the node table takes: 1-64 bytes of [A-Za-z0-9._-], not "." or ".."
 * (it appears in status lines and as a directory of /nodes). */
int cnode_name_ok(const char *name);
/* Whether ch may be in a name. */
int cnode_name_char(char ch);

/* Registers name on c (queued if c is still connecting; retried every
 * renew_ms while it fails) and renews from then on. The connection must
 * outlive the node. NULL if the name or the options are not acceptable. */
ClusterNode *cnode_new(uv_loop_t *loop, PgConn *c, const char *name, const CNodeOpts *o);

/* Sends the node's claims, starts, reaps and status questions on work
 * instead of its own connection, which then carries only registration and
 * renewals: under a burst of claims a renewal queued behind them would come
 * late and the lease lapse. work must outlive the node. */
void cnode_work(ClusterNode *n, PgConn *work);

/* The connection's state changed (forward PgConnOpts.state here): when it
 * is up again, the node renews (or registers) at once instead of at its next
 * tick. Optional: without it the next tick does the same. */
void cnode_conn_changed(ClusterNode *n, int up);

/* 1 if the node may start a command now: registered, not fenced, and its
 * lease valid by the local, conservative reckoning (node.c says why it is
 * conservative). Call it right before releasing a child as well. */
int cnode_may_start(const ClusterNode *n);

typedef struct CNodeInfo {
	int state;                  /* CNODE_* */
	int64_t epoch;              /* 0 until registered */
	int64_t lease_left_ms;      /* until cnode_may_start turns false (0: it is) */
	int64_t db_lease_until_us;  /* the lease's end by the database's clock, as
	                             * last granted (unix µs; 0 none yet) */
	int64_t clock_offset_ms;    /* database - local wall clock, last measured */
	int clock_off;              /* |offset| reported over the threshold */
	int64_t rtt_ms;             /* the last renewal's round trip (the offset's
	                             * uncertainty is half of it) */
	uint64_t renewals;          /* registrations and renewals answered */
	uint64_t failures;          /* renewals failed since the last that worked */
} CNodeInfo;
void cnode_info(const ClusterNode *n, CNodeInfo *out);

/* ---- rank.c ---- */

/* Where this node stands, from 0, in the order in which the live nodes try
 * to claim the instant (job_id, sched): rendezvous hashing of the names
 * (rank.c says why). live: the live nodes' names, space-separated (self
 * counts whether it is among them or not). Pure. */
unsigned cnode_rank_of(const char *self, const char *live, int64_t job_id, int64_t sched);
/* The same for node n over the nodes whose lease was valid at its last
 * renewal (0 until one is known). */
unsigned cnode_rank(const ClusterNode *n, int64_t job_id, int64_t sched);
const char *cnode_name(const ClusterNode *n);

/* ---- fire.c: claiming an instant and starting it ---- */

/* Outcomes of a claim. */
enum {
	CNODE_TAKEN = 0,            /* another claim has the instant (perhaps ours) */
	CNODE_CLAIMED = 1,          /* this node owns it now */
	CNODE_NOT_DUE = 2,          /* not yet due by the database's clock */
};

/* rc: an outcome, or -errno with err:
 *   -EIO        the statement failed, or its answer was lost (err says which;
 *               after a lost answer it may have run);
 *   -ENOLCK     the database holds no valid lease of this node and epoch;
 *   -ETIMEDOUT  (start) the database marked the fire started, but the local
 *               lease ran out before the answer came: do not run it (it is
 *               recorded as started and never run: lost, at most once);
 *   -ECANCELED  cnode_close came first. */
typedef void CNodeDone(void *arg, int rc, const char *err);

/* Claims the instant sched (unix seconds) of job job_id for this node and
 * epoch: a row in fires, made only if the instant is due by the database's
 * clock, this node's lease is valid there, and the job is started there
 * (read under the job row's lock: a stop not yet committed is waited for).
 * 0 and done later, once; or, done not called: -ESTALE (fenced), -EAGAIN
 * (no valid lease locally: the node claims nothing it could not start),
 * -ESHUTDOWN (closed), or pgconn_query's refusal (-ENOTCONN, -ENOBUFS).
 * Requests in flight are bounded by the connection's max_queued. */
int cnode_claim_fire(ClusterNode *n, int64_t job_id, int64_t sched, CNodeDone *done, void *arg);

/* The fenced start of a claimed instant: one UPDATE that moves the fire from
 * claimed to started only if it is this node's and epoch's claim and the
 * node's lease is valid by the database's now(); it counts the start in
 * nodes.runs_started in the same statement. done's rc: 1 (exec it), 0
 * (refused: not this node's claim, not claimed any more, or the lease is
 * over in the database), or as above. Refused at once like a claim. */
int cnode_start_fire(ClusterNode *n, int64_t job_id, int64_t sched, CNodeDone *done, void *arg);

/* What jobd claims with: the instant sched of job job_id (sched 0: a manual
 * run, which has no instant to claim), and with it the run (busy: the node
 * of another run of the job in progress, claimed or running, or ""; what
 * the overlap policy judges by): its row in runs
 * (id run_id, made by the node; state claimed; this node's name) and its
 * number, the job's next (jobs.run_seq), in the same statement, so that a
 * claim never exists without its run nor a run number twice. The fire
 * links to the run (fires.run_id: what the reaper marks lost). done's rc:
 * CNODE_CLAIMED with seq, or CNODE_TAKEN (err "the job is stopped in the
 * database" when that is why), CNODE_NOT_DUE, or -errno as for
 * cnode_claim_fire (a manual run is refused -ENOLCK without a valid lease
 * in the database, and is never taken or not due; a stopped job's manual
 * run is claimed). Refused at once like a claim. */
typedef void CNodeRunDone(void *arg, int rc, int64_t seq, const char *busy, const char *err);
int cnode_claim_run(ClusterNode *n, int64_t job_id, int64_t sched, int64_t run_id,
                    CNodeRunDone *done, void *arg);

/* A claim cnode_reap gave this node: the run that goes with it, the dead
 * node's (made with its claim) or, for an instant run again (rerun), a new
 * one with id new_id and the job's next number. done's rc: CNODE_CLAIMED
 * with the run's id and number, CNODE_TAKEN (the claim is not this node's
 * any more), or -errno as for a claim. */
typedef void CNodeAdoptDone(void *arg, int rc, int64_t run_id, int64_t seq, const char *err);
int cnode_adopt_run(ClusterNode *n, int64_t job_id, int64_t sched, int64_t new_id,
                    CNodeAdoptDone *done, void *arg);

/* ---- status.c: what /nodes/NAME/status shows (fs/nodes.c, cluster/nodes.c) ---- */

/* One node's row, as the database has it. */
typedef struct CNodeRow {
	char name[CNODE_NAME_MAX + 1];
	int64_t epoch;
	int has_lease;              /* 0: lease_until is not a time (never renewed) */
	int64_t lease_left_ms;      /* lease_until - now() by the database: < 0 ended */
	int64_t clock_offset_ms;
	int64_t runs_started;       /* since started_at (the last registration) */
	int64_t started_at;         /* unix seconds */
} CNodeRow;

/* Appends one line:
 *   node=a state=up epoch=2 lease_left=8.213s clock_offset=-0.004s clock=ok
 *   runs_started=3 started=2025-01-02T03:04:05Z
 * state is up while the lease has time left by the database's clock;
 * clock=off when the node's wall clock is more than 1 s from the database's. */
void cnode_render_row(Buf *b, const CNodeRow *r);

/* Text: rc 0 and the text, or -errno and why (-ENOENT: no such node). */
typedef void CNodeText(void *arg, int rc, const char *text);

/* One node's line (cnode_render_row), read from the database. 0 and done
 * later, once; or done is not called: -EINVAL (a bad name), -ESHUTDOWN
 * (closed), or pgconn_query's refusal (-ENOTCONN, -ENOBUFS). */
int cnode_status(ClusterNode *n, const char *name, CNodeText *done, void *arg);
/* Every node's line, by name (at most CNODE_LIST_MAX). As cnode_status. */
int cnode_list(ClusterNode *n, CNodeText *done, void *arg);

/* Stops renewing and frees the node: every request still unanswered is
 * reported (-ECANCELED) before this returns, and its answer is dropped when
 * it comes; closed(arg) comes from the loop once the node's handles are
 * closed. The lease is not given up in the database (it lapses): a node
 * closing because it is fenced must not touch the row, and one that stops
 * cleanly still has claims that the reaper hands over after the lease. */
void cnode_close(ClusterNode *n, void (*closed)(void *arg), void *arg);

/* ---- reap.c: the fires of dead nodes (doc/cluster.md, "Dead nodes") ----
 *
 * A fire is dead when its node and epoch hold no lease: the node's lease
 * ended reap_grace_ms ago or more, or the node started again (a newer epoch)
 * or its row is gone. Neither can start it any more (the start is fenced by
 * node, epoch and lease), so another node may take it. */

enum {
	CNODE_REAP_MS = 2000,       /* how often the caller reaps: lease + this is failover */
	CNODE_REAP_MAX = 500,       /* claims, and runs, one reap takes at most */
};

/* A claim the reap made this node's: a dead node's claim never started
 * (rerun 0), or an instant whose run was lost, claimed again because its job
 * says orphan=rerun (rerun 1). The caller starts it with cnode_start_fire,
 * as it would its own. */
typedef struct CNodeReapClaim {
	int64_t job_id, sched;
	int rerun;
} CNodeReapClaim;

/* A run a dead node had started: now recorded RUN_LOST, with its end (the
 * database's now()). */
typedef struct CNodeLostRun {
	int64_t job_id, sched, run_id;
	char node[CNODE_NAME_MAX + 1];  /* the dead node's name */
} CNodeLostRun;

typedef struct CNodeReap {
	CNodeReapClaim *claims;
	size_t nclaims;
	CNodeLostRun *lost;
	size_t nlost;
	int more;                   /* a kind hit CNODE_REAP_MAX: reap again now */
} CNodeReap;

/* rc 0 and what was taken (the lists empty if nothing was), or -errno with
 * err and empty lists: -EIO, -ENOLCK (the database holds no valid lease of
 * this node: nothing taken), -ECANCELED, as for a claim. r and its lists are
 * good during the call only (an empty list may be NULL). */
typedef void CNodeReapDone(void *arg, int rc, const char *err, const CNodeReap *r);

/* One reap, one statement (so one transaction): a dead node's claims
 * become this node's (same instant, this node and epoch, still claimed); of
 * each started fire of a dead node whose run is still claimed or running,
 * the run becomes lost and, if its job says orphan=rerun and the instant
 * was never claimed again so, the fire is claimed again for this node. Only
 * while this node holds a valid lease by the database's now(). Several
 * nodes may reap at once: each fire goes to one (rows are locked, and those
 * another reap holds are skipped). 0 and done later, once; or done not
 * called: -ESTALE, -EAGAIN, -ESHUTDOWN, or pgconn_query's refusal, as
 * cnode_claim_fire. */
int cnode_reap(ClusterNode *n, CNodeReapDone *done, void *arg);

#endif
