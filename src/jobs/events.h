/* The events /events serves: one line per thing that happened to a job or a
 * run, numbered on from the time jobd started, in microseconds: numbers
 * grow across restarts too (while the clock does), so a reader that says
 * where it was ("from SEQ") resumes in a new jobd without repeats, and
 * learns how many it lost only if the ring passed it. jobd keeps the newest
 * EVENTS_KEEP in a ring shared by every reader; a reader is a cursor (the
 * number of the next line it wants), so memory does not grow with readers,
 * and a reader that falls behind the ring is told how many it lost.
 *
 *   SEQ TIME KIND JOB [key=value ...]
 *
 * TIME is UTC, RFC 3339 with microseconds; KIND is job.created,
 * job.changed, job.started, job.stopped, job.deleted, run.queued,
 * run.started, run.ended, run.skipped (doc/namespace.md has the keys). */
#ifndef JOBD_EVENTS_H
#define JOBD_EVENTS_H

#include <stddef.h>
#include <stdint.h>

enum { EVENTS_KEEP = 4096, EVENT_LINE_MAX = 512 };

typedef struct Event {
	uint64_t seq;
	uint32_t owner;             /* the job's owner: who may see it under -private */
	uint32_t len;
	char *line;                 /* the whole line, newline included */
} Event;

typedef struct Events Events;

/* start_ns: when jobd started (wall clock). */
Events *events_new(int64_t start_ns);
void events_free(Events *ev);
/* Appends an event of job `job` (owned by `owner`) at t_ns (wall clock);
 * fmt adds the key=value part (may be NULL). */
void events_add(Events *ev, int64_t t_ns, uint32_t owner, const char *kind, const char *job,
                const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* The number the next event will get; the oldest one kept. */
uint64_t events_next(const Events *ev);
uint64_t events_first(const Events *ev);
/* Every event of this jobd is numbered above this. */
uint64_t events_base(const Events *ev);
/* Event seq, or NULL if it is not kept (lost, or not yet). */
const Event *events_get(const Events *ev, uint64_t seq);

#endif
