/* The job table and its policy: create, edit, start, stop, delete; a heap of
 * next fire times with one timer armed for the earliest; fire -> claim ->
 * spawn -> record, under each job's overlap, timeout and misfire settings
 * (and orphan, which only a cluster acts on).
 * Uses cron (arithmetic), run (children) and store (rows); knows nothing of 9P.
 *
 *   jobs.c     the table and each job's lifecycle and settings
 *   sched.c    the fire heap's timer, wall-clock steps, misfires at start-up
 *   runs.c     a fire: claim, overlap policy, spawn, output, timeout, kill, end
 *   render.c   the text of the schedule, status and run files
 */
#ifndef JOBD_JOBS_H
#define JOBD_JOBS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "cron/cron.h"
#include "jobs/settings.h"
#include "run/run.h"
#include "store/store.h"
#include "util/util.h"

typedef struct Jobs Jobs;
typedef struct JobRun JobRun;
typedef struct JobLines JobLines;

enum { JOB_NAME_MAX = 128, JOB_CMD_MAX = 8192 /* max_cmd's default */, JOB_QUEUE_MAX = 16 };

/* A fire waiting for its turn (overlap=queue or replace). */
typedef struct QueuedFire {
	int64_t run_id, seq, sched;
	int manual;
} QueuedFire;

typedef struct Job {
	int64_t id;                 /* store id: unique per incarnation */
	char *name, *schedule, *cmd;
	Cron cron;
	int has_cron;               /* 0 for an empty job (mkdir) until a schedule is written */
	const Zone *zone;           /* the schedule's zone (TZ= prefix), else NULL: the daemon's */
	int started;
	int64_t next;               /* next fire (unix s), CRON_NEVER if none */
	int64_t last_sched;         /* last scheduled time claimed */
	size_t heapi;               /* index in the fire heap, or SIZE_MAX */
	size_t listi;               /* index in creation order */
	/* settings */
	int64_t timeout_ms;
	int overlap, misfire, orphan;
	char *dir, *env;            /* "" when unset; env is KEY=value lines */
	char *limits;               /* canonical limits_parse text, "" when unset */
	/* runs in progress and waiting */
	JobRun *runs;
	unsigned nrunning;
	unsigned launching;         /* cluster mode: starts asked of the database (remote.c) */
	uint64_t started_batch;     /* the store batch its last start or stop joined (remote.c) */
	QueuedFire *queue;          /* JOB_QUEUE_MAX entries, allocated on first use */
	unsigned nqueue;
	/* history since creation */
	int64_t runs_total, failures_total;
	int64_t last_start_ns, last_end_ns;
	int last_status;            /* exit code, -signal; valid when last_end_ns != 0 */
	int pam_refused;            /* PAM refused the owner at the last try: said once in jobd's log */
	unsigned own_lines;         /* its own log lines since the last trim (text.c) */
	JobLines *lines;            /* its own log lines not yet stored (text.c), or NULL */
	StoreKept kept;             /* finished runs kept and their bytes, for retention; runs -1: unknown */
	/* What changed, counted (the jobs layer only counts; fs makes these its
	 * files' qid versions). */
	struct {
		uint32_t state;         /* started or stopped; a run began or ended */
		uint32_t schedule;      /* the schedule, or its next fire */
		uint32_t log;           /* a line in its log */
		uint32_t settings;      /* any setting */
		uint32_t runs;          /* a run claimed, begun, ended, or its output grew */
	} changes;
	int64_t ctime, mtime;       /* unix s: created, last changed */
	uint32_t owner;             /* uid of whoever created it; never changes */
	struct Job *hnext;          /* name hash chain */
	struct Job *inext;          /* id hash chain */
} Job;

/* What a run looks like from outside, live or recorded. */
typedef struct RunInfo {
	int64_t run_id, seq, sched;
	int state;                  /* RUN_* from store.h */
	int64_t start_ns, end_ns;
	int status, pid, manual;
	int flags;                  /* RUNF_* from store.h */
	int64_t out_bytes;
	char node[STORE_NODE_MAX];  /* a cluster's node that ran it; "" for jobd alone */
} RunInfo;

typedef struct JobsConfig {
	int64_t kill_grace_ms;      /* SIGTERM -> SIGKILL for kill, timeouts, delete, shutdown */
	int64_t max_output;         /* bytes of output stored per run */
	int64_t keep_runs;          /* runs kept per job */
	int64_t keep_bytes;         /* output bytes kept per job */
	size_t max_cmd;             /* bytes in a command (-maxcmd); 0 = JOB_CMD_MAX */
	size_t max_per_owner;       /* jobs one owner other than root may have (-maxjobs); 0 = no limit */
	uint32_t daemon_uid;        /* who jobd runs as: owner of jobs made before owners existed */
	/* jobd is root: each run takes its owner's uid, gid, groups, HOME, USER,
	 * LOGNAME and SHELL (and HOME as its directory unless the job sets one);
	 * otherwise every run is jobd's user, with jobd's environment, in "/". */
	int run_as_owner;
	/* With run_as_owner: the PAM service each run passes (account check
	 * before the fork, session in the child), NULL for none; and its
	 * configuration directory, NULL for the system's. */
	const char *pam_service, *pam_dir;
} JobsConfig;

typedef struct JobsStats {
	uint64_t jobs, started, running;
	uint64_t runs_started, runs_failed;
	uint64_t duration_buckets[12];  /* run durations: <= 0.01,0.05,0.1,0.5,1,5,10,30,60,300,3600 s, +Inf */
	double duration_sum;
	uint64_t duration_count;
} JobsStats;
extern const double jobs_duration_bounds[11];

/* ---- jobs.c ---- */
Jobs *jobs_new(uv_loop_t *loop, Store *store, Zone *zone, const JobsConfig *cfg);
/* Loads every job from the store; nothing is scheduled yet (jobs_begin). */
int jobs_load(Jobs *js, char *why, size_t n);
/* Schedules the started jobs (and replays what they missed, by each one's
 * misfire policy). Call once, when start-up can no longer be refused. */
void jobs_begin(Jobs *js);
/* Validates and creates a stopped job owned by uid owner: 0; or 1, created
 * but with a warning in why (its schedule never fires: also in its log);
 * or -EEXIST, -EINVAL, -EDQUOT (the owner, not root, has max_per_owner jobs)
 * with why. Callers take rc >= 0 as success. */
int jobs_create(Jobs *js, uint32_t owner, const char *name, const char *schedule,
                const char *cmd, Job **out, char *why, size_t n);
/* An empty stopped job (mkdir): it cannot start until it has a schedule and a command. */
int jobs_create_empty(Jobs *js, uint32_t owner, const char *name, Job **out, char *why,
                      size_t n);
/* Starts scheduling the job: 0; 1, started but its schedule never fires
 * (the warning in why and in its log); or -errno with why. */
int jobs_start(Jobs *js, Job *j, char *why, size_t n);
int jobs_stop(Jobs *js, Job *j, char *why, size_t n);
/* Kills its runs, forgets it, removes its rows. j is freed. */
int jobs_delete(Jobs *js, Job *j, char *why, size_t n);
/* Sets setting i (SET_*) from the text a user wrote: checked with its parser
 * (setting_tab) and jobd's own checks, stored, then applied: 0; 1 for a
 * schedule that is set but never fires (the warning in why and in the log);
 * or -EINVAL (-ENOENT, -ENOTDIR, -EACCES for a dir) with why. */
int jobs_set(Jobs *js, Job *j, int i, const char *value, char *why, size_t n);
/* The file of setting i: its canonical text (schedule's: jobs_render_schedule). */
void jobs_render_setting(Jobs *js, Job *j, int i, Buf *out);
Job *jobs_lookup(Jobs *js, const char *name, size_t len);
Job *jobs_nth(Jobs *js, size_t i);   /* creation order; NULL past the end */
/* How many jobs uid owns. */
size_t jobs_owned(Jobs *js, uint32_t uid);
/* How many times a job was added or deleted. */
uint32_t jobs_changes(Jobs *js);
void jobs_stats(Jobs *js, JobsStats *st);
/* Stops scheduling, SIGTERMs running children, SIGKILLs them after the grace
 * period, and calls done(arg) once every run is recorded. */
void jobs_shutdown(Jobs *js, void (*done)(void *), void *arg);
/* Frees the table; the memory goes once the loop has run the handles' close callbacks. */
void jobs_free(Jobs *js);

/* ---- runs.c ---- */
/* Runs the job now, outside its schedule (the "run" verb). */
int jobs_run_now(Jobs *js, Job *j, int64_t *seq, char *why, size_t n);
/* The "kill" verb: sig 0 = SIGTERM to each run's group, SIGKILL after the
 * grace period; otherwise that signal once. -ESRCH if nothing runs. */
int jobs_kill(Jobs *js, Job *j, int sig, char *why, size_t n);
/* Every recorded run of the job, oldest first, live ones as they are now. */
int jobs_runs(Jobs *js, Job *j, RunInfo **v, size_t *count, char *why, size_t n);
/* One run by its sequence number: 0, or -ENOENT. */
int jobs_run_get(Jobs *js, Job *j, int64_t seq, RunInfo *out, char *why, size_t n);

/* ---- text.c ---- */
/* Stores the text buffered in this loop turn and reads the paused runs
 * again. Call once per turn, before the store's commit. */
void jobs_turn_end(Jobs *js);
/* The job's log (r NULL) or run r's output: positions [*first, *end) kept. */
int jobs_text_extent(Jobs *js, Job *j, const RunInfo *r, int64_t *first, int64_t *end,
                     char *why, size_t n);
/* Up to cap bytes of it from position pos (*got; 0 at the end); -ESTALE if
 * pos is no longer kept. */
int jobs_text_read(Jobs *js, Job *j, const RunInfo *r, int64_t pos, char *buf, size_t cap,
                   size_t *got, char *why, size_t n);

/* ---- render.c ---- */
/* The schedule file: the expression, plus ":<next run>" while started. */
void jobs_render_schedule(Jobs *js, Job *j, Buf *out);
/* The status line. */
void jobs_render_status(Jobs *js, Job *j, Buf *out);
void jobs_render_run_status(Jobs *js, Job *j, const RunInfo *r, Buf *out);

/* ---- schedule.c ---- */
/* Parses a job's schedule: an optional "TZ=Area/City " (or "CRON_TZ=") prefix,
 * then a cron expression. *zone is the named zone (loaded once and kept in
 * the table's cache) or NULL for the daemon's zone. -EINVAL with why. */
int jobs_parse_schedule(Jobs *js, const char *spec, Cron *c, const Zone **zone, char *why, size_t n);

/* ---- recover.c ---- */
/* For each run a dead jobd left in progress (store_runs_interrupted): ends
 * what is left of its process session (SIGTERM, SIGKILL after grace_ms;
 * blocks at most that long), then settles it with "interrupted: ..." in its
 * job's log. Call after jobs_load, before serving. Returns the number of
 * such runs. */
int jobs_recover(Jobs *js, Store *store, int64_t grace_ms);

/* ---- import.c ---- */
/* Imports the original jobd's dbdir/jobs.db (`name:cronexpr:cmd` lines) once:
 * each line becomes a stopped job through jobs_create; a line that fails is
 * logged with its number and skipped; then the file is renamed
 * jobs.db.imported-<UTC time> beside the database and kept. Returns the
 * number of jobs created (0 if there is no jobs.db), or -errno and why if the
 * file cannot be read. */
int jobs_import_legacy(Jobs *js, const char *dbdir, char *why, size_t n);

/* ---- notify.c ---- */
/* What jobs tell whoever serves them (fs: its live files). touched: j has
 * new text, or a run of it began or ended, or its state changed; called
 * often, it must be cheap. gone: j is about to be freed. */
typedef struct JobsWatch {
	void *arg;
	void (*touched)(void *arg, Job *j);
	void (*gone)(void *arg, Job *j);
} JobsWatch;
void jobs_watch(Jobs *js, const JobsWatch *w);
/* The events ring (events.h) the table writes to. */
struct Events *jobs_events(Jobs *js);

/* ---- remote.c ---- */
/* Cluster mode: how fires are claimed and started when several nodes share
 * the jobs (doc/cluster.md; src/cluster/ provides these). A fire is claimed
 * with its run and number by the database, and started only if, at that
 * moment, the claim is still this node's and its lease valid. */
typedef struct JobsCluster {
	void *arg;
	const char *node;           /* this node's name (its runs say so) */
	/* An id for a new run (0: none now). */
	int64_t (*new_id)(void *arg);
	/* The database's clock less this host's, in ns (0: not measured). */
	int64_t (*offset_ns)(void *arg);
	/* Claims (job, sched; 0 for a manual run) with run run_id: 0, then
	 * done(darg, rc, seq, busy, why) once: rc 1 claimed (seq its number;
	 * busy: a node where another run of the job is in progress, or ""),
	 * 0 another node has it, -EAGAIN not due yet by the database's clock,
	 * -errno failed. Or -errno at once, done not called. */
	int (*claim)(void *arg, int64_t job_id, int64_t sched, int64_t run_id,
	             void (*done)(void *darg, int rc, int64_t seq, const char *busy,
	                          const char *why), void *darg);
	/* The fenced start of a claimed fire: 0, then done(darg, ok, why) once
	 * (ok 1: start it; 0: refused, the claim is another node's now; < 0: no
	 * answer that counts); or -errno at once. */
	int (*start)(void *arg, int64_t job_id, int64_t sched,
	             void (*done)(void *darg, int ok, const char *why), void *darg);
	/* Where this node stands in the order the live nodes try the instant
	 * (job, sched) in (0: first); NULL: first always. */
	unsigned (*rank)(void *arg, int64_t job_id, int64_t sched);
} JobsCluster;
/* From now on fires go through c (copied); claimed on the dot, not ahead. */
void jobs_cluster(Jobs *js, const JobsCluster *c);
/* The store's batch that holds every change made so far was sent to be
 * committed (daemon/turn.c), and later was. In cluster mode a job's claims
 * wait for its start to be durable (remote.c). */
void jobs_sealed(Jobs *js);
void jobs_durable(Jobs *js);
/* Whether something waits for the next commit: a claim deferred until its
 * job's start is durable (cluster), or a fire claimed in the open batch
 * (its child starts at the instant; the claim is to be on disk first). */
int jobs_awaiting_durable(const Jobs *js);

/* A fire this node took over from a dead one (the reaper): run run_id,
 * number seq, started as this node's own claims are. */
void jobs_adopt(Jobs *js, int64_t job_id, int64_t sched, int64_t run_id, int64_t seq);
/* A run of job_id (instant sched) that a dead node had started is recorded
 * lost: said in the job's log and events. */
void jobs_lost(Jobs *js, int64_t job_id, int64_t sched, const char *node);
/* Cluster mode: job id is in the store's cache as the cluster's database has
 * it now (sj NULL: deleted), put there by src/cluster/; the table follows,
 * writing nothing back (a job deleted elsewhere has its runs here ended,
 * as jobs_delete does). */
void jobs_apply(Jobs *js, int64_t id, const StoreJob *sj);
/* The job with store id id, or NULL (a hash lookup). */
Job *jobs_by_id(Jobs *js, int64_t id);

/* ---- name.c ---- */
/* Job names: 1..JOB_NAME_MAX letters, digits, '_', '-' and '.', not starting
 * with '.' or '-' (the original's letters, digits and '_' among them).
 * 0, or -EINVAL with why. */
int job_name_valid(const char *name, size_t len, char *why, size_t n);

#endif
