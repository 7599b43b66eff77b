/* The jobs store: job definitions, their state, fire claims, run records and log
 * lines. The only module that includes sqlite3.h (store_sqlite.c). The interface
 * is deliberately narrow so that a PostgreSQL backend can implement it too:
 * "claim this fire" is an explicit operation keyed by (job id, scheduled time).
 *
 * Errors: 0 or -errno; where a person needs the reason, `why` receives it. */
#ifndef JOBD_STORE_H
#define JOBD_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct Store Store;

/* -sync settings. */
enum { STORE_SYNC_NORMAL = 0, STORE_SYNC_FULL = 1 };

/* A job row. Strings are owned by whoever filled the struct; the store copies
 * what it keeps and hands out borrowed strings in callbacks. */
typedef struct StoreJob {
	int64_t id;            /* unique per incarnation, never reused, > 0 */
	const char *name;
	const char *schedule;
	const char *cmd;
	int started;           /* 1 started, 0 stopped */
	int64_t created_ns;    /* unix time in nanoseconds */
	int64_t last_sched;    /* last scheduled fire claimed (unix seconds), 0 if none */
	/* settings (schema 3) */
	int64_t timeout_ms;    /* 0 = none */
	int overlap, misfire;  /* OVERLAP_*, MISFIRE_* of jobs/settings.h, stored as numbers */
	const char *dir;       /* "" = default */
	const char *env;       /* KEY=value lines */
	/* history since creation (schema 3) */
	int64_t runs_total, failures_total;
	int64_t last_start_ns, last_end_ns;
	int last_status;       /* exit code or -signal of the last run to end */
	/* the uid of whoever created it (schema 4); -1 for jobs made before
	 * owners were recorded. Set at creation, never changed. */
	int64_t owner_uid;
	const char *limits;    /* the limits setting's canonical text, "" = none (schema 5) */
} StoreJob;

/* Run states as stored. */
enum { RUN_CLAIMED = 0, RUN_RUNNING = 1, RUN_DONE = 2, RUN_INTERRUPTED = 3, RUN_SKIPPED = 4 };

/* ---- store_sqlite.c ---- */

/* Opens (creating if needed: missing parents 0755, dir itself 0700) the
 * directory `dir` and the database `dir/jobd.sqlite`, takes an exclusive lock
 * on `dir/jobd.lock` (-EBUSY if another jobd holds it), checks the file
 * (PRAGMA quick_check: a corrupt file is refused, -EIO, and left untouched),
 * refuses a newer schema (-EPROTO, untouched), applies forward schema
 * migrations, and marks runs left claimed/running by a dead daemon as
 * interrupted (their count in *interrupted if not NULL; the runs themselves
 * through store_runs_interrupted).
 * The directory and files must be the calling user's (geteuid): a link, or
 * another user's directory or file, is refused, untouched, as is a directory
 * below one that anyone but root and that user could change (secdir_open).
 * The directory's mode becomes 0700, the files' (database, -wal, -shm, lock)
 * 0600 at most. */
int store_open(const char *dir, int sync, Store **out, int *interrupted, char *why, size_t n);
void store_close(Store *s);
/* The directory as checked at open: absolute, without links. Other files
 * jobd keeps there are to be reached by it. */
const char *store_dir(const Store *s);

/* Calls fn for every job, in creation order; stops early if fn returns non-zero
 * (that value is returned). */
int store_jobs_load(Store *s, int (*fn)(void *arg, const StoreJob *j), void *arg,
                    char *why, size_t n);

/* Inserts a job; fills j->id. -EEXIST (and why) if the name is taken. */
int store_job_create(Store *s, StoreJob *j, char *why, size_t n);
int store_job_set_started(Store *s, int64_t id, int started, char *why, size_t n);
/* The same, and appends text to the job's log (at t_ns, attributed to the
 * job), in one transaction: a crash leaves both or neither. */
int store_job_set_started_log(Store *s, int64_t id, int started, int64_t t_ns, const char *text,
                              size_t len, char *why, size_t n);
/* Deletes the job, its runs and its log lines. */
int store_job_delete(Store *s, int64_t id, char *why, size_t n);

/* Claims the scheduled fire (job, sched): inserts a run record in state
 * RUN_CLAIMED and advances the job's last_sched. -EALREADY if that fire was
 * claimed before (the unique key is (job id, scheduled time)). sched == 0 means
 * an unscheduled (manual) run, which is never a duplicate. */
int store_fire_claim(Store *s, int64_t job_id, int64_t sched, int64_t *run_id, int64_t *seq,
                     char *why, size_t n);
/* Writes a job's schedule, command, settings and history (by j->id). */
int store_job_save(Store *s, const StoreJob *j, char *why, size_t n);

/* Run flags as stored. */
enum { RUNF_TIMEDOUT = 1, RUNF_KILLED = 2, RUNF_TRUNCATED = 4 };

typedef struct StoreRunEnd {
	int64_t run_id;
	int state;             /* RUN_DONE or RUN_SKIPPED */
	int64_t end_ns;
	int status;            /* exit code, or -signal */
	int flags;             /* RUNF_* */
	int64_t out_bytes;     /* output stored */
} StoreRunEnd;
/* Records a run's end with its flags and output size. */
int store_run_end(Store *s, const StoreRunEnd *e, char *why, size_t n);
/* Retention: keeps the newest keep_runs finished runs of the job and, of
 * those, as many as fit in keep_bytes of stored output; their output goes
 * with them; the job's own log lines are kept to 4 * keep_runs. */
int store_runs_retain(Store *s, int64_t job_id, int64_t keep_runs, int64_t keep_bytes,
                      char *why, size_t n);
/* Calls fn for each output line of one run, in order. */
int store_run_output_read(Store *s, int64_t run_id,
                          int (*fn)(void *arg, int64_t t_ns, int64_t run_id, const char *text, size_t len),
                          void *arg, char *why, size_t n);
/* Records that the run's process started: time in ns, pid, and proc, the
 * runner's token for that process (run_proc_token; "" if unknown, at most
 * STORE_PROC_MAX - 1 bytes) with which a later jobd can tell whether what it
 * finds under that pid is still the run. */
int store_run_start(Store *s, int64_t run_id, int64_t start_ns, int pid, const char *proc,
                    char *why, size_t n);
/* Records the run's end: status >= 0 an exit code, < 0 the negated signal
 * number; state is RUN_DONE or RUN_SKIPPED. */
int store_run_finish(Store *s, int64_t run_id, int state, int64_t end_ns, int status,
                     char *why, size_t n);

/* Appends one line (text[0..len), no newline) to a job's log, attributed to a
 * run (run_id > 0) or to the job itself (run_id == 0). */
int store_log_append(Store *s, int64_t job_id, int64_t run_id, int64_t t_ns,
                     const char *text, size_t len, char *why, size_t n);
/* Calls fn for each log line of the job in order; stops early if fn returns non-zero. */
int store_log_read(Store *s, int64_t job_id,
                   int (*fn)(void *arg, int64_t t_ns, int64_t run_id, const char *text, size_t len),
                   void *arg, char *why, size_t n);

/* ---- store_sqlite.c, additions ---- */

/* Changes a job's schedule and/or command; a NULL argument leaves that field as
 * it is. -ENOENT if there is no such job. */
int store_job_update(Store *s, int64_t id, const char *schedule, const char *cmd,
                     char *why, size_t n);

/* Deletes the job's oldest log lines so that at most keep_lines remain. */
int store_log_trim(Store *s, int64_t job_id, size_t keep_lines, char *why, size_t n);

enum { STORE_PROC_MAX = 96 };

/* A run row, as handed to store_runs_read's callback. */
typedef struct StoreRun {
	int64_t id;
	int64_t job_id;
	int64_t sched;         /* scheduled time (unix seconds), 0 for a manual run */
	int state;             /* RUN_* */
	int64_t start_ns;      /* 0 until store_run_start */
	int64_t end_ns;        /* 0 until store_run_finish */
	int pid;
	int status;            /* meaningful in RUN_DONE: exit code, or -signal */
	char proc[STORE_PROC_MAX];  /* store_run_start's token, "" if none */
	int64_t seq;           /* the run's number within its job (schema 3) */
	int manual, flags;     /* RUNF_* */
	int64_t out_bytes;
} StoreRun;

/* The job's run number seq (an index lookup): 0 and *out, -ENOENT if it is
 * not kept, or -errno with why. */
int store_run_get(Store *s, int64_t job_id, int64_t seq, StoreRun *out, char *why, size_t n);
/* Calls fn for each run of the job, oldest first; stops early if fn returns
 * non-zero (that value is returned). */
int store_runs_read(Store *s, int64_t job_id, int (*fn)(void *arg, const StoreRun *r),
                    void *arg, char *why, size_t n);
/* Calls fn, oldest first, for each run that store_open found claimed or
 * running (left by a daemon that died) and marked interrupted, and for each
 * run marked so earlier but never settled (that daemon died too), as it was
 * before the marking (RUN_CLAIMED, RUN_RUNNING, or RUN_INTERRUPTED; start_ns
 * is non-zero if its process was started); stops early if fn returns non-zero
 * (that value is returned). */
int store_runs_interrupted(Store *s, int (*fn)(void *arg, const StoreRun *r), void *arg);
/* Settles an interrupted run, in one transaction: appends text as a line of
 * its job's log, attributed to the run, and sets its end to t_ns (and its
 * state to RUN_INTERRUPTED, if store_open could not: a full disk). Until
 * then the run is handed out by store_runs_interrupted at every open.
 * -ENOENT if it is not an unsettled interrupted run. */
int store_run_settle(Store *s, const StoreRun *r, int64_t t_ns, const char *text, size_t len,
                     char *why, size_t n);
/* Deletes the job's oldest finished (done, skipped, interrupted) runs so that
 * at most keep_runs finished runs remain; claimed and running runs are kept. */
int store_runs_trim(Store *s, int64_t job_id, size_t keep_runs, char *why, size_t n);

/* Caps the database file at about max_bytes (0: no cap beyond SQLite's own);
 * writes past the cap fail with -ENOSPC, as on a full disk. */
int store_set_size_limit(Store *s, int64_t max_bytes, char *why, size_t n);

#endif
