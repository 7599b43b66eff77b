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
	int orphan;            /* ORPHAN_* of jobs/settings.h (schema 8): what a cluster does
	                        * with a run whose node died */
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

/* Run states as stored. RUN_LOST: the run's node died while it ran (cluster
 * mode, doc/cluster.md "Dead nodes"): it may have run, its end is unknown.
 * A single jobd never makes one (its own runs are interrupted). */
enum {
	RUN_CLAIMED = 0, RUN_RUNNING = 1, RUN_DONE = 2, RUN_INTERRUPTED = 3, RUN_SKIPPED = 4,
	RUN_LOST = 5,
};

/* ---- the write path ----
 *
 * Every change (a job created, edited, started, deleted; a fire claimed; a run
 * started or ended; output stored; retention) joins one batch: the first change
 * after a commit opens it, store_commit closes it in a single transaction.
 * jobd commits at most once per loop turn (daemon/turn.c: less often while
 * nobody waits, group commit), and sends a reply that acknowledges a
 * change only once store_commit has reported the batch that holds it durable:
 * acknowledged means committed. Readers see the batch's changes at once
 * (what the daemon has done, durable or not); other processes see them after
 * the commit.
 *
 * A change that fails is undone alone (the batch's other changes stand) and
 * returns its error, as before batching. A backend that talks to a server
 * implements the same contract asynchronously: it queues the changes and
 * sends them at store_commit, whose done callback comes when the server has
 * them; the SQLite backend calls it before store_commit returns. */

/* Ends the batch (if any change is waiting): done(arg, 0, "") once it is
 * durable; done(arg, -errno, why) if it is not: with -EAGAIN the batch is
 * still open and whole (call store_commit again later: the database is
 * locked by another program); with any other error it is lost (the backend
 * rolled it back) and what the daemon holds in memory is ahead of the store:
 * the daemon must stop, and start again from what is stored. A full disk is
 * met before it loses a batch: the SQLite backend keeps space in reserve,
 * gives it back for a commit that might not fit, and then refuses changes
 * (-ENOSPC, at once) until there is room again. */
void store_commit(Store *s, void (*done)(void *arg, int rc, const char *why), void *arg);
/* Whether store_commit has something to do: a batch open (changes not yet
 * committed), or one the backend lost, to be reported. */
int store_pending(const Store *s);

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
/* Commits what is pending, then closes. */
void store_close(Store *s);
/* The directory as checked at open: absolute, without links. Other files
 * jobd keeps there are to be reached by it. */
const char *store_dir(const Store *s);

/* Calls fn for every job, in creation order; stops early if fn returns non-zero
 * (that value is returned). */
int store_jobs_load(Store *s, int (*fn)(void *arg, const StoreJob *j), void *arg,
                    char *why, size_t n);

/* Inserts a job; fills j->id. -EEXIST (and why) if the name is taken. Takes
 * the name, schedule, command, started, created_ns, last_sched and owner;
 * the settings and the history start at their defaults (store_job_save
 * writes them), in every backend. */
int store_job_create(Store *s, StoreJob *j, char *why, size_t n);
int store_job_set_started(Store *s, int64_t id, int started, char *why, size_t n);
/* Deletes the job, its runs and its text. */
int store_job_delete(Store *s, int64_t id, char *why, size_t n);
/* Writes a job's schedule, command, settings and history (by j->id). */
int store_job_save(Store *s, const StoreJob *j, char *why, size_t n);

/* Claims the scheduled fire (job, sched): inserts a run record in state
 * RUN_CLAIMED and advances the job's last_sched. -EALREADY if that fire was
 * claimed before (the unique key is (job id, scheduled time)). sched == 0 means
 * an unscheduled (manual) run, which is never a duplicate. */
int store_fire_claim(Store *s, int64_t job_id, int64_t sched, int64_t *run_id, int64_t *seq,
                     char *why, size_t n);

/* A fire skipped at its claim (overlap skip, its previous run still in
 * progress): the same rows as store_fire_claim, store_text_append(job, run,
 * text) and store_run_end(RUN_SKIPPED, end_ns) together, in two statements.
 * -EALREADY as store_fire_claim; refused in a cluster (-ENOTSUP), whose
 * database claims fires. */
int store_fire_skip(Store *s, int64_t job_id, int64_t sched, int64_t end_ns, const char *text,
                    size_t len, int64_t *run_id, int64_t *seq, char *why, size_t n);

/* Cluster mode (store_observe): the fire (job, sched; 0 for a manual run) a
 * cluster's database gave this node, with the run's id and number as the
 * database made them; recorded as store_fire_claim records a claim (which
 * a cluster's store refuses, -ENOTSUP: run numbers are the database's). */
int store_fire_put(Store *s, int64_t job_id, int64_t sched, int64_t run_id, int64_t seq,
                   char *why, size_t n);
/* 1 if a run of the scheduled fire (job, sched) is in the store (in a
 * cluster's cache: claimed by some node, as far as this node has heard). */
int store_fire_known(Store *s, int64_t job_id, int64_t sched);

/* Run flags as stored. */
enum { RUNF_TIMEDOUT = 1, RUNF_KILLED = 2, RUNF_TRUNCATED = 4 };

typedef struct StoreRunEnd {
	int64_t run_id;
	int state;             /* RUN_DONE or RUN_SKIPPED */
	int64_t end_ns;
	int status;            /* exit code, or -signal */
	int flags;             /* RUNF_* */
} StoreRunEnd;
/* Records a run's end with its flags. */
int store_run_end(Store *s, const StoreRunEnd *e, char *why, size_t n);
/* A job's finished runs kept and their stored output, as its owner counts
 * them between retentions (runs < 0: not known, counted by the next). */
typedef struct StoreKept {
	int64_t runs, bytes;
} StoreKept;
/* Retention: keeps the newest keep_runs finished runs of the job and, of
 * those, as many as fit in keep_bytes of stored output; then the job's log
 * keeps what was written since the oldest run kept began, and at most
 * 2 * keep_bytes: runs that began before that go too. Only a prefix of the
 * log is ever removed, so what is kept reads as one piece.
 * With kept (the caller adds each run that finishes, and its bytes) the
 * work is an index seek per run removed, and nothing when none is; kept is
 * updated. kept NULL: counted here, and the log's bound checked even when
 * no run goes (the job's own lines grow it too). */
int store_runs_retain(Store *s, int64_t job_id, int64_t keep_runs, int64_t keep_bytes,
                      StoreKept *kept, char *why, size_t n);
/* Records that the run's process started: time in ns, pid, and proc, the
 * runner's token for that process (run_proc_token; "" if unknown, at most
 * STORE_PROC_MAX - 1 bytes) with which a later jobd can tell whether what it
 * finds under that pid is still the run. */
int store_run_start(Store *s, int64_t run_id, int64_t start_ns, int pid, const char *proc,
                    char *why, size_t n);

/* ---- text: a job's log and its runs' output ----
 *
 * Stored as chunks of whole rendered lines ("<time>:<text>\n"), each of one
 * job and of one of its runs (or of the job itself: run_id 0). A job's log is
 * its chunks in the order written; a run's output, the run's chunks. Each
 * chunk knows where it starts in both, so a read at any offset is one index
 * lookup and costs what it returns. Positions only grow: a position means
 * the same bytes for as long as they are kept. */
enum { STORE_CHUNK_MAX = 256 * 1024 };
/* Appends text[0..len) (whole lines, at most STORE_CHUNK_MAX bytes) to the
 * job's log and, with run_id > 0, to that run's output. */
int store_text_append(Store *s, int64_t job_id, int64_t run_id, const char *text, size_t len,
                      char *why, size_t n);
/* What is kept of the job's log (run_id 0) or of run run_id's output:
 * positions [*first, *end). */
int store_text_extent(Store *s, int64_t job_id, int64_t run_id, int64_t *first, int64_t *end,
                      char *why, size_t n);
/* Copies up to cap bytes of that text from position pos into buf (*got; 0 at
 * the end). -ESTALE if pos is no longer kept (retention removed it). */
int store_text_read(Store *s, int64_t job_id, int64_t run_id, int64_t pos, char *buf,
                    size_t cap, size_t *got, char *why, size_t n);
/* Databases from before chunks (schema < 7) kept one row per line: converts
 * them, each line rendered by render into out (at most cap bytes; returns the
 * length), into chunks, in one batch. Returns the number of lines converted. */
int64_t store_convert_lines(Store *s, size_t (*render)(void *arg, int64_t t_ns, const char *text,
                            size_t len, char *out, size_t cap), void *arg, char *why, size_t n);

enum { STORE_PROC_MAX = 96, STORE_NODE_MAX = 65 };

/* A run row, as handed to store_runs_read's callback. */
typedef struct StoreRun {
	int64_t id;
	int64_t job_id;
	int64_t sched;         /* scheduled time (unix seconds), 0 for a manual run */
	int state;             /* RUN_* */
	int64_t start_ns;      /* 0 until store_run_start */
	int64_t end_ns;        /* 0 until store_run_end */
	int pid;
	int status;            /* meaningful in RUN_DONE: exit code, or -signal */
	char proc[STORE_PROC_MAX];  /* store_run_start's token, "" if none */
	char node[STORE_NODE_MAX];  /* the cluster's node that ran it (schema 9), "" alone */
	int64_t log_off;            /* where its job's log stood when it was claimed:
	                             * retention's cut (filled for a cluster's cache only) */
	int64_t seq;           /* the run's number within its job (schema 3) */
	int manual, flags;     /* RUNF_* */
	int64_t out_bytes;     /* the end of its output: bytes stored */
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
/* Settles an interrupted run: sets its end to t_ns (and its state to
 * RUN_INTERRUPTED, if store_open could not: a full disk). Until then the run
 * is handed out by store_runs_interrupted at every open. -ENOENT if it is
 * not an unsettled interrupted run. */
int store_run_settle(Store *s, const StoreRun *r, int64_t t_ns, char *why, size_t n);


/* ---- cluster mode: the store as a node's cache ----
 *
 * A node of a cluster keeps this store as its cache of the shared database
 * (doc/cluster.md, "The node's cache and the mirror"; src/cluster/). Each
 * change made through the functions above is handed to the observer as it
 * is made, and store_commit's done waits for the observer's commit as well.
 * What the cache receives from the database (store/cache.h) is not handed
 * on. Each callback returns 0 or -errno with why (the change is then
 * undone here and fails: the database is unreachable). */
typedef struct StoreObserver {
	void *arg;
	const char *node;           /* this node's name: the runs it claims are its */
	/* Whether changes can be taken now: 0, or -errno with why. Asked before
	 * each change, so that a change the observer cannot take is not made. */
	int (*ready)(void *arg, char *why, size_t n);
	/* An id for a new row (job or run): > 0, the observer's. */
	int64_t (*new_id)(void *arg);
	int (*job_created)(void *arg, const StoreJob *j);
	int (*job_saved)(void *arg, const StoreJob *j);
	int (*job_started)(void *arg, int64_t id, int started);
	int (*job_deleted)(void *arg, int64_t id);
	/* A run's row after any change of it. */
	int (*run)(void *arg, const StoreRun *r);
	/* Text for the log and run run_id's output (at roff): the observer
	 * stores the chunk; the log's positions are the database's, and the
	 * chunk comes back into the cache from there. */
	int (*text)(void *arg, int64_t job_id, int64_t run_id, int64_t roff, const char *text,
	            size_t len);
	/* Retention: the runs ids[0..n) went, and the log before cut; with
	 * before, the finished runs that began before cut went too. */
	int (*retained)(void *arg, int64_t job_id, const int64_t *ids, size_t n, int64_t cut,
	                int before);
	/* Whether the observer holds changes not committed yet. */
	int (*pending)(void *arg);
	/* The batch is committed here; done once the observer has it too. */
	void (*commit)(void *arg, void (*done)(void *arg, int rc, const char *why), void *darg);
} StoreObserver;
/* o NULL: none (the default). The struct is copied. */
void store_observe(Store *s, const StoreObserver *o);

#endif
