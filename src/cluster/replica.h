/* A cluster node's cache kept up with the database (doc/cluster.md, "The
 * node's cache and the mirror"): jobs named by the changes feed, or all of
 * them at start, are read from PostgreSQL (their rows, their runs, and the
 * text past what the cache holds) and put into the node's SQLite store
 * through store/cache.h. Never blocks the loop; callbacks come from the
 * loop, never from inside a replica_* call. */
#ifndef JOBD_CLUSTER_REPLICA_H
#define JOBD_CLUSTER_REPLICA_H

#include <stdint.h>

#include "store/pgconn.h"
#include "store/store.h"

typedef struct Replica Replica;

enum {
	REPLICA_PAGE = 256,         /* jobs read in one go */
	REPLICA_CHUNKS = 64,        /* chunks read in one go (each at most 256 KiB) */
	REPLICA_INFLIGHT = 4,       /* reads in flight at once */
};

typedef struct ReplicaOpts {
	/* A job is in the cache as the database has it (j NULL: it is gone;
	 * id says which). The cache's batch holds it: the caller commits. */
	void (*job)(void *arg, int64_t id, const StoreJob *j);
	/* Whether this node has changes of job id on their way to the database,
	 * or made them since the read was sent (optional): its row is then left
	 * as the cache has it, since the answer may be older; its runs are only
	 * merged and its text taken (they only grow). The caller reads the job
	 * again once its changes are in. */
	int (*hold)(void *arg, int64_t id, uint64_t since);
	/* The moment a read is sent, as hold takes it (since): hold then also
	 * says whether this node's changes of the job reached the database after
	 * that, which the read's answer may miss. Optional with hold. */
	uint64_t (*now)(void *arg);
	void *arg;
} ReplicaOpts;

Replica *replica_new(PgConn *c, Store *cache, const ReplicaOpts *o);
/* No callback after it returns. */
void replica_close(Replica *r);

/* Reads job id again (what the feed names). Asked again while its read is
 * on its way: read once more after it. */
void replica_job(Replica *r, int64_t id);
/* Reads every job, page by page, as replica_job would; done(arg, rc, why)
 * once all are in (0), or the first failure (-errno: read again later). */
void replica_all(Replica *r, void (*done)(void *arg, int rc, const char *why), void *arg);
/* Jobs waiting to be read, or being read. */
unsigned replica_pending(const Replica *r);

#endif
