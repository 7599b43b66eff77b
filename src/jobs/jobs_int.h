/* Internals of the jobs module, shared by its files. */
#ifndef JOBD_JOBS_INT_H
#define JOBD_JOBS_INT_H

#include "jobs.h"
#include "jobs/events.h"

typedef struct FireHeap {
	Job **v;
	size_t n, cap;
} FireHeap;

/* The clock fires are scheduled by: the wall clock, corrected in a cluster
 * by the offset to the database's clock that the node's lease measures
 * (the database's is the clock of record: a node whose clock is off by 30
 * s still claims each instant when it is due there). ns. */
#define jobs_clock_ns(js) (wall_now_ns() + ((js)->cluster.offset_ns ? \
	(js)->cluster.offset_ns((js)->cluster.arg) : 0))

/* A cache of loaded zones, shared by every job that names one. */
typedef struct ZoneCache {
	Zone **v;
	size_t n, cap;
} ZoneCache;

struct Jobs {
	uv_loop_t *loop;
	Store *store;
	Zone *zone;
	JobsConfig cfg;
	Job **list;                 /* creation order, for directory listings */
	size_t nlist, caplist;
	Job **hash;                 /* by name */
	Job **ihash;                /* by id (the same number of buckets) */
	size_t nhash;
	FireHeap heap;
	ZoneCache zones;
	uv_timer_t timer;           /* armed for the earliest fire */
	int stepfd;                 /* timerfd that reports wall-clock steps (-1 if none) */
	uv_poll_t steppoll;
	int64_t skew;               /* wall - monotonic (ns) when last checked */
	int64_t lead_ns;            /* fires are claimed this much ahead (sched.c) */
	int64_t ahead_for;          /* the instant whose runs were announced (run_expect) */
	uint32_t changes;            /* jobs added or deleted (jobs_changes) */
	unsigned running;           /* runs in progress, all jobs */
	JobRun *orphans;            /* runs of deleted jobs, still ending */
	/* Ended runs whose cgroup still has processes (they escaped the run's
	 * group and closed its output): kill, delete and shutdown still reach
	 * them. Not counted in running. */
	JobRun *left;
	JobRun *tdirty;             /* runs with text buffered this turn (text.c) */
	JobLines *ldirty;           /* jobs' own lines buffered this turn (text.c) */
	JobLines *lheld, **lheld_tail;  /* jobs' lines held a while, oldest first (text.c) */
	uv_timer_t hold;            /* armed for the oldest held lines' time */
	JobRun *tpaused;            /* runs not read again until the turn ends */
	int adopted;                /* shutdown waits for the processes jobd adopted */
	JobsStats stats;
	int shutting;
	void (*done)(void *);
	void *done_arg;
	int closing_handles;        /* sched's handles still closing */
	int freed;                  /* jobs_free was called: free at the last close */
	struct Events *events;      /* what happened, for /events (notify.c) */
	JobsCluster cluster;        /* cluster mode's claims and starts (remote.c); zeros: none */
	/* The store's batches, numbered: the one changes join now, the last
	 * sent to be committed, the last committed (jobs_sealed, jobs_durable). */
	uint64_t batch, sealed, durable;
	/* Claims waiting for their job's start to be durable, oldest first
	 * (remote.c); deferred_tail NULL while there are none. */
	struct Deferred *deferred, **deferred_tail;
	/* The open batch holds a claim (runs.c, runs_fire): its child starts at
	 * the instant, and the claim is to be on disk first (jobs_awaiting_durable:
	 * group commit does not hold it back). */
	int claims_unsealed;
	JobsWatch watch;
};

/* A run in progress. */
struct JobRun {
	Jobs *js;
	Job *job;                   /* NULL once the job is deleted */
	uint32_t owner;             /* the job's owner (the run's user) */
	char *name;                 /* the job's name, for messages after deletion */
	int64_t run_id, seq, sched;
	int manual;
	Run *run;
	int pid;
	int64_t start_ns;
	/* The timeout, then the kill grace period, then (shutting down) the wait
	 * after SIGKILL before the run is given up on. */
	uv_timer_t timer;
	int phase;                  /* RUN_LIVE, RUN_GRACE (SIGTERM sent) or RUN_KILLED (SIGKILL sent) */
	int ended;                  /* recorded; on js->left until its cgroup empties */
	int timed_out, killed;
	int64_t out_bytes;          /* the end of its output: stored and buffered */
	int64_t dropped;            /* bytes past the cap, not kept */
	/* Text not yet stored (text.c): rendered lines, sent once per turn. */
	char *tbuf;
	size_t tlen, tcap;
	int tdirty, paused;
	int tfailed;                /* storing its text failed (a full disk): said once */
	int64_t turn_bytes;         /* output read in this turn */
	JobRun *tnext, *tnext_paused;
	JobRun *next;               /* the job's (or the orphans', or left) runs */
};

/* A job's own lines not yet stored (text.c): on the turn's list (Jobs.ldirty)
 * until the turn ends, or held (Jobs.lheld) until hold_until; job NULL once
 * the job is gone. */
struct JobLines {
	Job *job;
	JobLines *next;
	JobLines **pprev;           /* held: the link to it */
	char *buf;
	size_t len, cap;
	int held;                   /* on Jobs.lheld, not on the turn's list */
	int64_t hold_until;         /* held: monotonic ns */
};

/* text.c: a chunk goes to the store at TEXT_CHUNK bytes or at the turn's end;
 * a run is read for at most about TEXT_TURN bytes per turn; a job's own lines
 * trigger retention every TEXT_OWN_TRIM. */
/* How far ahead of its instant a fire is claimed, for its child to start on
 * the dot (sched.c, "firing on the dot"): covers the loop's wake-up and the
 * claims and preparation of a burst's first fires. */
#define JOBS_LEAD_NS 10000000

enum { TEXT_CHUNK = 64 * 1024, TEXT_TURN = 64 * 1024, TEXT_OWN_TRIM = 256, TEXT_RESERVE = 384 };
/* How long a held line (job_logf_held) may wait to be stored. */
#define TEXT_HOLD_NS 100000000
/* A line the run wrote to stderr is marked so, before its text; stdout's
 * lines stay as the original printed them. The mark is stored: the cap
 * counts it. */
#define TEXT_STDERR_MARK "stderr: "
/* "<time>:<mark><text>\n" into out (mark may be NULL): its length, or 0 if
 * cap has no room for the time; text is cut to fit. */
size_t text_render(const Zone *z, int64_t t_ns, const char *mark, const char *text, size_t len,
                   char *out, size_t cap);
/* One line of the run's output; is_err: from its stderr. */
void text_run_line(JobRun *r, int is_err, const char *text, size_t len);
void text_flush_run(JobRun *r);
/* The job's own buffered lines go to the store now. */
void text_flush_job(Jobs *js, Job *j);
/* The job is deleted or freed: its buffered lines are dropped. */
void text_drop_job(Job *j);
/* Stores what jobs still buffer and frees the buffers (jobs_free). */
void text_fini(Jobs *js);
void text_end_run(JobRun *r);
/* Converts a database's lines from before chunks (jobs_load). */
int64_t text_convert(Jobs *js, char *why, size_t n);

/* jobs.c: a job into the table from its row (a schedule that does not
 * parse leaves it stopped, said in jobd's log), added as it is; and a job
 * out of the table, its runs ended, without a word to the store. */
Job *job_add(Jobs *js, const StoreJob *sj, const Cron *c, int has_cron, const Zone *z);
Job *job_from_row(Jobs *js, const StoreJob *sj);
void job_drop(Jobs *js, Job *j);
/* heap.c */
void heap_push(FireHeap *h, Job *j);
void heap_remove(FireHeap *h, Job *j);
Job *heap_top(const FireHeap *h);
/* How many jobs fire at the top's instant (at most max). */
size_t heap_count_top(const FireHeap *h, size_t max);

/* schedule.c */
const Zone *zonecache_get(ZoneCache *zc, const char *name, char *why, size_t n);
void zonecache_free(ZoneCache *zc);
ZoneCache *jobs_zonecache(Jobs *js);

/* sched.c */
void sched_init(Jobs *js);
void sched_fini(Jobs *js);              /* starts closing its handles (counted in closing_handles) */
void sched_arm(Jobs *js);
/* Reschedules a started job strictly after `after` (never at or before its last fire). */
void sched_after(Jobs *js, Job *j, int64_t after);
/* Applies the job's misfire policy for times missed before now, then schedules it. */
void sched_resume(Jobs *js, Job *j, int64_t now);
const Zone *job_zone(Jobs *js, const Job *j);

/* runs.c */
/* A scheduled (sched > 0) or manual (sched == 0) fire: the run's number
 * (seq), or 0 if the fire was not claimed (or, in a cluster, not yet). */
int64_t runs_fire(Jobs *js, Job *j, int64_t sched);
/* A fire claimed (run_id, seq): through the job's overlap policy to its
 * start; elsewhere (a cluster's; NULL or "": none) names another node where
 * a run of the job is in progress. Returns seq. */
int64_t runs_claimed(Jobs *js, Job *j, int64_t run_id, int64_t seq, int64_t sched,
                     const char *elsewhere);
/* The spawn itself, once a cluster has said the start may go. */
void runs_launch_now(Jobs *js, Job *j, int64_t run_id, int64_t seq, int64_t sched, int manual);
/* A run that never started, recorded (state RUN_SKIPPED or RUN_DONE). */
void runs_unstarted(Jobs *js, Job *j, int64_t run_id, int state, int status);

/* remote.c: the cluster's side of a fire: the claim asked (0), or -errno. */
int cluster_fire(Jobs *js, Job *j, int64_t sched);
void remote_fini(Jobs *js);         /* frees the claims still deferred */
void cluster_launch(Jobs *js, Job *j, int64_t run_id, int64_t seq, int64_t sched, int manual);
/* Kills (SIGTERM, then SIGKILL after the grace period) and forgets the job's runs. */
void runs_orphan_all(Jobs *js, Job *j);
/* Shutdown: SIGTERM to every run, what ended runs left, and (without cgroups)
 * every adopted process; SIGKILL after the grace period; see runs.c. */
void runs_stop_all(Jobs *js);
void runs_close(JobRun *r);             /* handle cleanup at the end of a run */

/* notify.c */
/* j changed in a way its live files show (new text, a run began or ended,
 * its state): tell the watcher. Cheap: it is called at each such change. */
static inline void job_touch(Jobs *js, Job *j)
{
	if (js->watch.touched)
		js->watch.touched(js->watch.arg, j);
}
/* j is about to be freed. */
void job_gone(Jobs *js, Job *j);
/* An event of j for /events: KIND and the key=value part (fmt may be NULL). */
void job_event(Jobs *js, const Job *j, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* jobs.c */
void job_log(Jobs *js, Job *j, int64_t run_id, const char *text, size_t len);
int job_log_skip(Jobs *js, Job *j, int64_t sched, const char *text, size_t len, int64_t *run_id,
                 int64_t *seq, char *why, size_t n);
void job_logf(Jobs *js, Job *j, int64_t run_id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A line of the job's own that may wait up to TEXT_HOLD_NS to be stored,
 * with what the job writes next: a run's start, which a short run's end
 * then stores in the same chunk (text.c, "held"). */
void job_logf_held(Jobs *js, Job *j, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void jobs_maybe_done(Jobs *js);
/* Writes the job's settings and history row. */
int job_save(Jobs *js, Job *j, char *why, size_t n);

#endif
