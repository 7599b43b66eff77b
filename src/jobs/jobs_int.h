/* Internals of the jobs module. */
#ifndef JOBD_JOBS_INT_H
#define JOBD_JOBS_INT_H

#include "jobs.h"

typedef struct FireHeap {
	Job **v;
	size_t n, cap;
} FireHeap;

/* heap.c */
void heap_push(FireHeap *h, Job *j);
void heap_remove(FireHeap *h, Job *j);
Job *heap_top(const FireHeap *h);

#endif
