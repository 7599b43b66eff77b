/* A jobd node of a cluster (doc/cluster.md): the pieces of src/cluster/ put
 * together on four connections to the shared PostgreSQL database.
 *
 *   writes  the mirror's batches (mirror.h) and the schema's migration;
 *   node    the lease alone (registration, renewals: node.h), so that a
 *           renewal never waits behind anything;
 *   claims  claims, fenced starts, the reaper, status questions;
 *   feed    LISTEN jobd and the changes feed (feed.h), and the replica's
 *           reads into the cache (replica.h).
 *
 * The node's SQLite store is its cache. At start the schema is brought up
 * to this jobd's version (one node at a time: an advisory lock), the node
 * registers, the feed takes its start position and the cache is filled from
 * the database; then jobd loads its jobs from the cache as it would from
 * its own store. From then on the feed names the jobs changed anywhere, the
 * replica puts them into the cache, and opts.job says so. */
#ifndef JOBD_CLUSTER_CLUSTER_H
#define JOBD_CLUSTER_CLUSTER_H

#include <stdint.h>

#include <uv.h>

#include "cluster/mirror.h"
#include "cluster/node.h"
#include "jobs/jobs.h"
#include "store/store.h"

typedef struct Cluster Cluster;

/* How long jobd waits at start for the database (connect, migrate, register,
 * fill the cache) before it gives up and says why. */
enum { CLUSTER_OPEN_MS = 30000 };

typedef struct ClusterOpts {
	const char *conninfo;       /* libpq's connection string or URI */
	const char *node;           /* this node's name (cnode_name_ok) */
	Store *cache;
	/* A job is in the cache as the database has it now (j NULL: gone). */
	void (*job)(void *arg, int64_t id, const StoreJob *j);
	/* A claim taken over from a dead node (the reaper, every
	 * CNODE_REAP_MS): to be started as this node's own, with its run's id
	 * and number. */
	void (*adopt)(void *arg, int64_t job_id, int64_t sched, int64_t run_id, int64_t seq);
	/* A run a dead node had started, now recorded lost. */
	void (*lost)(void *arg, int64_t job_id, int64_t sched, const char *node);
	/* The node's lease: CNODE_UP, CNODE_DOWN, CNODE_FENCED (final). */
	void (*state)(void *arg, int state, const char *why);
	void *arg;
	CNodeOpts node_opts;        /* 0s: the defaults (tests shorten them) */
} ClusterOpts;

/* Connects, migrates, registers and fills the cache, running loop until
 * that is done or timeout_ms have passed (start-up: nothing is served
 * meanwhile, and nothing else is on the loop). 0 and *out, or -errno with
 * why (the database is unreachable, refuses, or is newer than this jobd). */
int cluster_open(uv_loop_t *loop, const ClusterOpts *o, int timeout_ms, Cluster **out,
                 char *why, size_t n);

Mirror *cluster_mirror(Cluster *cl);
ClusterNode *cluster_node(Cluster *cl);
const char *cluster_name(const Cluster *cl);

/* The store's changes go to the database too (store_observe), and
 * store_commit's done waits for the database's commit. */
void cluster_observe(Cluster *cl, Store *s);

/* A batch of this node's changes was lost with the connection: every job
 * is read again from the database into the cache (opts.job for each), so
 * that the cache and the jobs table hold what the database holds. */
void cluster_resync(Cluster *cl);

/* The jobs table's claims and starts (jobs_cluster) through this node. */
void cluster_jobs_ops(Cluster *cl, JobsCluster *out);

/* Closes the connections; closed(arg) from the loop when all is freed. */
void cluster_close(Cluster *cl, void (*closed)(void *arg), void *arg);

/* ---- nodes.c: the nodes for the name space's /nodes (fs.h's FsConfig) ----
 * cl is the Cluster (void *: the name space's callbacks take these as they
 * are). Both ask the database on the node's connection and answer once,
 * later, through done, or refuse at once with -errno and why, as
 * cnode_list and cnode_status do. */

/* done's text: the nodes' names, one a line, by name (at most
 * CNODE_LIST_MAX; names a walk could not take left out). */
int cluster_nodes_list(void *cl, CNodeText *done, void *arg, char *why, size_t n);
/* done's text: the node's line (cnode_render_row); for this node, then a
 * line of its own view: "local node=NAME state=up|down|fenced epoch=N
 * lease_left=S clock_offset=S clock=ok|off rtt=S renewals=N failures=N"
 * (node.h's CNodeInfo; S in seconds, as "8.213s"). */
int cluster_node_status(void *cl, const char *name, CNodeText *done, void *arg, char *why,
                        size_t n);

#endif
