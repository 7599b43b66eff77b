/* Cluster nodes (src/cluster/node.h) for the unit tests that run them
 * against the private PostgreSQL (pgtest.h): each node on a connection of
 * its own, which tells it when it is back, with what the node reported;
 * claims and starts waited for; nodes and connections closed, each close
 * waited for. Shared by t_cnode and t_reap. */
#ifndef JOBD_TESTS_CNODETEST_H
#define JOBD_TESTS_CNODETEST_H

#include <stdint.h>
#include <uv.h>

#include "cluster/node.h"
#include "store/pgconn.h"

typedef struct CnodetestPeer {
	PgConn *c;
	ClusterNode *n;
	int conn_up, conn_downs;
	int state, nup, ndown, nfenced;
	char why[256];              /* the last state's */
	int nclock, clock_off;
	int64_t clock_ms;
} CnodetestPeer;

/* A connection to the server that tells p's node (if any) when it is up. */
PgConn *cnodetest_conn(uv_loop_t *loop, CnodetestPeer *p);
/* A node named name on a new connection; waits until it holds a lease
 * (CHECKs that it does within 10 s). */
void cnodetest_start(uv_loop_t *loop, CnodetestPeer *p, const char *name, CNodeOpts o);
/* The node is up (a pgtest_wait predicate on a CnodetestPeer). */
int cnodetest_is_up(const void *p);

/* Closes: cnodetest_closed counts the closes reported to cnodetest_on_closed;
 * cnodetest_settle runs the loop until it reached want (closing takes a
 * turn of the loop or two: the handles' close callbacks) and CHECKs it. */
extern int cnodetest_closed;
void cnodetest_on_closed(void *arg);
void cnodetest_settle(uv_loop_t *loop, int want);
/* The node stops, then its connection (as a process that dies: its lease
 * lapses by itself); either may be gone already. */
void cnodetest_stop(uv_loop_t *loop, CnodetestPeer *p);

/* An outcome of cnode_claim_fire / cnode_start_fire, or of a status read
 * (text, malloc'ed: the test's own callback sets it). */
typedef struct CnodetestOut {
	int called, rc;
	char err[700];
	char *text;
} CnodetestOut;
/* A CNodeDone filling the CnodetestOut at arg. */
void cnodetest_out_done(void *arg, int rc, const char *err);
/* Claims (start 0) or starts (job, sched) on n and waits for the outcome
 * (CHECKs that it was asked, and answered within 10 s). */
CnodetestOut cnodetest_fire(uv_loop_t *loop, ClusterNode *n, int start, long long job,
                            long long sched);

#endif
