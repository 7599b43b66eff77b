/* Internals of the jobs module. */
#ifndef JOBD_JOBS_INT_H
#define JOBD_JOBS_INT_H

#include "jobs.h"

typedef struct FireHeap {
	Job **v;
	size_t n, cap;
} FireHeap;

/* A cache of loaded zones, shared by every job that names one. */
typedef struct ZoneCache {
	Zone **v;
	size_t n, cap;
} ZoneCache;

/* schedule.c */
const Zone *zonecache_get(ZoneCache *zc, const char *name, char *why, size_t n);
void zonecache_free(ZoneCache *zc);
ZoneCache *jobs_zonecache(Jobs *js);

/* heap.c */
void heap_push(FireHeap *h, Job *j);
void heap_remove(FireHeap *h, Job *j);
Job *heap_top(const FireHeap *h);

#endif
