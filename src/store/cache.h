/* Writing a cluster node's cache (doc/cluster.md, "The node's cache and the
 * mirror"): the node's SQLite store holding rows as the database has them,
 * with the database's ids and log positions. Only src/cluster/replica.c
 * calls these. Each joins the store's open batch like any change and is
 * durable at store_commit. 0, or -errno with why. */
#ifndef JOBD_STORE_CACHE_H
#define JOBD_STORE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* The job's row, by its id, whole: its settings, history and last run
 * number (run_seq). Its log's end is not the database's but the end of
 * the chunks the cache holds (store_cache_chunk moves it), so that a read
 * never meets a hole. A job of the cache with the same name and another id
 * (deleted and made again elsewhere) goes first, with its runs and text. */
int store_cache_job(Store *s, const StoreJob *j, int64_t run_seq, char *why, size_t n);
/* The job, its runs and its text go (nothing if it is not there). */
int store_cache_drop_job(Store *s, int64_t id, char *why, size_t n);
/* The job's runs become exactly runs[0..nrun): rows merged by id (a run
 * only moves forward), and the cache's runs of the job that are not among
 * them go (retention, elsewhere). With held (this node's own changes of the
 * job are on their way to the database, whose answer may be older), only
 * the runs the cache has are merged: none is added back (one retention here
 * removed), none removed. */
int store_cache_runs(Store *s, int64_t job_id, const StoreRun *runs, size_t nrun, int held,
                     char *why, size_t n);
/* A chunk at its log position off (and roff in its run's output, run_id >
 * 0), which must be where the job's log ends in the cache (-EINVAL if not:
 * the caller reads from there); the log's end moves past it. */
int store_cache_chunk(Store *s, int64_t job_id, int64_t run_id, int64_t off, int64_t roff,
                      const char *text, size_t len, char *why, size_t n);
/* The job's log begins at first now: the cache's chunks that end at or
 * before it go. */
int store_cache_log_first(Store *s, int64_t job_id, int64_t first, char *why, size_t n);

#endif
