/* The jobs store on SQLite: one database file, dir/jobd.sqlite, in WAL mode,
 * guarded by a POSIX record lock on dir/jobd.lock. The only file that includes sqlite3.h.
 *
 * The files are jobd's alone: the directory is 0700 and every file in it 0600
 * (SQLite gives -wal and -shm the database's mode), owned by jobd's user;
 * anything else there under those names (a link, another user's file) is
 * refused before SQLite sees it, since the jobs in it run as their owners
 * (util/secdir.c says what is checked of the directory and why).
 *
 * Durability: every change joins the open batch (BEGIN IMMEDIATE at the first
 * change after a commit), each under a savepoint so that a change that fails
 * is undone alone; store_commit commits the batch, and what it has committed
 * survives a crash of the process (what it has not, does not). Whether it also
 * survives a power loss is the -sync setting: NORMAL syncs the WAL only at
 * checkpoints (the last commits may be lost, the file stays consistent), FULL
 * syncs it on every commit.
 *
 * No statement is ever left active between calls: readers fetch a page of rows,
 * reset the statement and only then call the caller's callback, which may call
 * back into the store (even the same reader). An active statement would also
 * keep an autocommit write from committing until it finished. */
#include "store/store.h"
#include "store/cache.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "store/schema.h"
#include "util/secdir.h"
#include "util/util.h"

/* "jobd" in PRAGMA application_id marks the file as ours. */
enum { JOBD_APPID = 0x6a6f6264 };
enum { BUSY_TIMEOUT_MS = 1000 };
enum { JOBS_PAGE = 64, RUNS_PAGE = 256 };
/* A chunk longer than this is read in part (a blob handle), not loaded whole
 * for every read of a few bytes of it. */
enum { TEXT_INLINE = 16 * 1024 };

/* The schema and its forward migrations are in schema.c, one description
 * for this backend and a PostgreSQL one: the step to version v runs in one
 * transaction that also sets user_version (schema_step). */

/* Every statement the store runs after open, prepared once. */
enum {
	S_BEGIN, S_COMMIT, S_ROLLBACK, S_SAVEPOINT, S_RELEASE, S_UNDO,
	S_JOBS_PAGE, S_JOB_INSERT, S_JOB_STARTED, S_JOB_DELETE,
	S_JOB_COUNTS, S_RUN_CLAIM, S_RUN_SKIP, S_JOB_COUNTED, S_JOB_SAVE_COUNTS, S_RUN_DROP, S_RUN_START, S_RUNS_PAGE, S_RUNS_KEPT,
	S_RUN_SETTLE, S_JOB_SAVE, S_RUN_END, S_RUN_OLDEST, S_RUN_GET,
	S_OUT_SET, S_CHUNK_INSERT, S_CHUNK_DROP, S_LOG_TEXT, S_OUT_TEXT,
	S_LOG_FIRST, S_LOG_END, S_OUT_FIRST, S_OUT_END, S_LOG_CUT, S_RUNS_BEFORE, S_CHUNKS_CUT,
	S_CACHE_NAME, S_CACHE_JOB, S_CACHE_RUN, S_CACHE_RUN_FIRE, S_CACHE_RUN_IDS, S_RUN_BY_ID, S_RUN_PUT,
	S_FIRE_KNOWN,
	NSTMT
};
static const char *const stmtsql[NSTMT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	/* One change inside the batch: undone alone if it fails. */
	[S_SAVEPOINT] = "SAVEPOINT change",
	[S_RELEASE] = "RELEASE change",
	[S_UNDO] = "ROLLBACK TO change",
	[S_JOBS_PAGE] = "SELECT id, name, schedule, cmd, started, created_ns, last_sched,"
		" timeout_ms, overlap, misfire, dir, env, runs_total, failures_total,"
		" last_start_ns, last_end_ns, last_status, owner_uid, limits, orphan"
		" FROM jobs WHERE id > ?1 ORDER BY id LIMIT ?2",
	/* ?8: the id, NULL for SQLite's own (a cluster's node gives its own). */
	[S_JOB_INSERT] = "INSERT INTO jobs(id, name, schedule, cmd, started, created_ns, last_sched,"
		" owner_uid) VALUES(?8, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[S_JOB_STARTED] = "UPDATE jobs SET started = ?2 WHERE id = ?1",
	[S_JOB_DELETE] = "DELETE FROM jobs WHERE id = ?1",
	/* A job's counts (see "counts"): read once a batch, written once. */
	[S_JOB_COUNTS] = "SELECT run_seq, log_end, last_sched FROM jobs WHERE id = ?1",
	[S_JOB_COUNTED] = "UPDATE jobs SET run_seq = ?2, log_end = ?3, last_sched = ?4"
		" WHERE id = ?1",
	/* A claim: the run, numbered after the job's last and beginning where
	 * its log ends now (retention cuts there); the job's counts move with it.
	 * A refused claim (the unique key) changes nothing. No RETURNING on the
	 * write path: SQLite gathers a RETURNING clause's rows in a temporary
	 * table made for each statement, which costs more than the statement. */
	[S_RUN_CLAIM] = "INSERT INTO runs(id, job_id, sched, state, manual, seq, log_off)"
		" VALUES(?6, ?1, ?2, ?3, ?2 = 0, ?4, ?5)",
	/* A fire skipped at its claim: its row already ended, its one line its
	 * output (store_fire_skip). */
	[S_RUN_SKIP] = "INSERT INTO runs(job_id, sched, state, manual, seq, log_off, end_ns, out_bytes)"
		" VALUES(?1, ?2, ?3, ?2 = 0, ?4, ?5, ?6, ?7)",
	[S_RUN_DROP] = "DELETE FROM runs WHERE id = ?1",
	[S_RUN_START] = "UPDATE runs SET state = ?2, start_ns = ?3, pid = ?4, proc = ?5 WHERE id = ?1",
	[S_RUNS_PAGE] = "SELECT id, job_id, sched, state, start_ns, end_ns, pid, status, proc,"
		" seq, manual, flags, out_bytes, node"
		" FROM runs WHERE job_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
	[S_RUN_GET] = "SELECT id, job_id, sched, state, start_ns, end_ns, pid, status, proc,"
		" seq, manual, flags, out_bytes, node"
		" FROM runs WHERE job_id = ?1 AND seq = ?2 ORDER BY id DESC LIMIT 1",
	/* The finished states, here and below: 2, 3, 4, 5: RUN_DONE,
	 * RUN_INTERRUPTED, RUN_SKIPPED, RUN_LOST (which a cluster's reaper
	 * writes; the SQLite backend never does, but a run so recorded is over). */
	[S_RUNS_KEPT] = "SELECT count(*), coalesce(sum(out_bytes), 0) FROM runs"
		" WHERE job_id = ?1 AND state IN (2, 3, 4, 5)",
	/* 3: RUN_INTERRUPTED; end_ns 0 until the interruption is settled. A run
	 * still claimed (0) or running (1) is one store_open could not mark. */
	[S_RUN_SETTLE] = "UPDATE runs SET state = 3, end_ns = ?2 WHERE id = ?1"
		" AND (state IN (0, 1) OR (state = 3 AND end_ns = 0))",
	[S_JOB_SAVE] = "UPDATE jobs SET schedule = ?2, cmd = ?3, timeout_ms = ?4, overlap = ?5,"
		" misfire = ?6, dir = ?7, env = ?8, runs_total = ?9, failures_total = ?10,"
		" last_start_ns = ?11, last_end_ns = ?12, last_status = ?13, limits = ?14, orphan = ?15"
		" WHERE id = ?1",
	[S_JOB_SAVE_COUNTS] = "UPDATE jobs SET schedule = ?2, cmd = ?3, timeout_ms = ?4, overlap = ?5,"
		" misfire = ?6, dir = ?7, env = ?8, runs_total = ?9, failures_total = ?10,"
		" last_start_ns = ?11, last_end_ns = ?12, last_status = ?13, limits = ?14, orphan = ?15,"
		" run_seq = ?16, log_end = ?17, last_sched = ?18 WHERE id = ?1",
	[S_RUN_END] = "UPDATE runs SET state = ?2, end_ns = ?3, status = ?4, flags = ?5 WHERE id = ?1",
	/* The oldest finished run (retention takes them one at a time, S_RUN_DROP:
	 * an index seek each). */
	[S_RUN_OLDEST] = "SELECT id, out_bytes FROM runs WHERE job_id = ?1"
		" AND state IN (2, 3, 4, 5) ORDER BY id LIMIT 1",
	/* Text: each append stores the chunk where the log (the job's counts)
	 * and the run's output (S_OUT_END) end, and moves the ends. */
	[S_OUT_SET] = "UPDATE runs SET out_bytes = ?2 WHERE id = ?1",
	[S_CHUNK_INSERT] = "INSERT INTO chunks(job_id, run_id, off, roff, len, text)"
		" VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
	[S_CHUNK_DROP] = "DELETE FROM chunks WHERE id = ?1",
	/* The chunk that holds position ?2 (the last one to start at or before
	 * it: one index seek) and those after it. The text of a chunk longer than
	 * ?3 (TEXT_INLINE) is not loaded (NULL): it is read in part, by rowid,
	 * through a blob handle (store_text_read). "run_id != 0" lets SQLite use
	 * the partial index chunks_run. */
	[S_LOG_TEXT] = "SELECT off, len, CASE WHEN len <= ?3 THEN text END, id FROM chunks"
		" WHERE job_id = ?1 AND off >= coalesce((SELECT off FROM chunks WHERE job_id = ?1"
		" AND off <= ?2 ORDER BY off DESC LIMIT 1), ?2) AND off + len > ?2"
		" ORDER BY off LIMIT 16",
	[S_OUT_TEXT] = "SELECT roff, len, CASE WHEN len <= ?3 THEN text END, id FROM chunks"
		" WHERE run_id = ?1 AND run_id != 0 AND job_id = ?4 AND roff >= coalesce((SELECT roff"
		" FROM chunks WHERE run_id = ?1 AND run_id != 0 AND roff <= ?2 ORDER BY roff DESC"
		" LIMIT 1), ?2) AND roff + len > ?2 ORDER BY roff LIMIT 16",
	[S_LOG_FIRST] = "SELECT off FROM chunks WHERE job_id = ?1 ORDER BY off LIMIT 1",
	[S_LOG_END] = "SELECT log_end FROM jobs WHERE id = ?1",
	[S_OUT_FIRST] = "SELECT roff FROM chunks WHERE run_id = ?1 AND run_id != 0"
		" ORDER BY roff LIMIT 1",
	[S_OUT_END] = "SELECT out_bytes FROM runs WHERE id = ?1 AND job_id = ?2",
	/* Where the oldest run kept began (where the log ends if none is), and
	 * where the log ends. */
	/* While the job's first run is kept, so is all its log; once older runs
	 * have gone, the log goes up to where the oldest run kept began (log_off
	 * grows with the run's id); with no run kept, as much as the budget
	 * allows (store_runs_retain). */
	[S_LOG_CUT] = "SELECT coalesce((SELECT CASE WHEN seq <= 1 THEN 0 ELSE log_off END"
		" FROM runs WHERE job_id = ?1 ORDER BY id LIMIT 1), 0)",
	[S_RUNS_BEFORE] = "DELETE FROM runs WHERE job_id = ?1 AND state IN (2, 3, 4, 5) AND log_off < ?2",
	[S_CHUNKS_CUT] = "DELETE FROM chunks WHERE job_id = ?1 AND off < ?2 AND off + len <= ?2",
	/* A cluster node's cache (cache.h): rows as the database has them. */
	[S_CACHE_NAME] = "DELETE FROM jobs WHERE name = ?1 AND id != ?2",
	[S_CACHE_JOB] = "INSERT INTO jobs(id, name, schedule, cmd, started, created_ns, last_sched,"
		" timeout_ms, overlap, misfire, dir, env, runs_total, failures_total, last_start_ns,"
		" last_end_ns, last_status, owner_uid, limits, orphan, run_seq) VALUES(?1, ?2, ?3, ?4,"
		" ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)"
		" ON CONFLICT(id) DO UPDATE SET name = ?2, schedule = ?3, cmd = ?4, started = ?5,"
		" created_ns = ?6, last_sched = ?7, timeout_ms = ?8, overlap = ?9, misfire = ?10,"
		" dir = ?11, env = ?12, runs_total = ?13, failures_total = ?14, last_start_ns = ?15,"
		" last_end_ns = ?16, last_status = ?17, owner_uid = ?18, limits = ?19, orphan = ?20,"
		" run_seq = ?21",
	/* Merged as the database merges (cluster/mirror.c): a run only moves
	 * forward, so an answer older than what the node wrote here takes
	 * nothing back. A run of an instant run again (orphan=rerun) takes the
	 * place of the lost one in runs_fire (S_CACHE_RUN_FIRE first). */
	[S_CACHE_RUN] = "INSERT INTO runs(id, job_id, sched, state, start_ns, end_ns, pid,"
		" status, proc, seq, manual, flags, out_bytes, node, log_off) VALUES(?1, ?2, ?3, ?4,"
		" ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) ON CONFLICT(id) DO UPDATE SET"
		" node = ?14, log_off = ?15,"
		" state = max(state, ?4),"
		" start_ns = max(start_ns, ?5), end_ns = max(end_ns, ?6),"
		" pid = CASE WHEN ?7 != 0 THEN ?7 ELSE pid END,"
		" status = CASE WHEN ?4 >= state THEN ?8 ELSE status END,"
		" proc = CASE WHEN ?9 != '' THEN ?9 ELSE proc END, seq = ?10, manual = ?11,"
		" flags = flags | ?12, out_bytes = max(out_bytes, ?13)",
	[S_CACHE_RUN_FIRE] = "DELETE FROM runs WHERE job_id = ?1 AND sched = ?2 AND sched != 0"
		" AND id != ?3",
	[S_CACHE_RUN_IDS] = "SELECT id, state, node FROM runs WHERE job_id = ?1 ORDER BY id",
	/* A fire a cluster gave (store_fire_put): its row replaces what the
	 * cache may hold of it already (the node that claimed it first, dead). */
	[S_RUN_PUT] = "INSERT OR REPLACE INTO runs(id, job_id, sched, state, manual, seq, log_off,"
		" node) VALUES(?6, ?1, ?2, ?3, ?2 = 0, ?4, ?5, ?7)",
	[S_RUN_BY_ID] = "SELECT id, job_id, sched, state, start_ns, end_ns, pid, status, proc,"
		" seq, manual, flags, out_bytes, node FROM runs WHERE id = ?1",
	[S_FIRE_KNOWN] = "SELECT 1 FROM runs WHERE job_id = ?1 AND sched = ?2 AND sched != 0",
};

/* Run states are values in the file: they never change meaning. */
_Static_assert(RUN_CLAIMED == 0 && RUN_RUNNING == 1 && RUN_DONE == 2 &&
               RUN_INTERRUPTED == 3 && RUN_SKIPPED == 4 && RUN_LOST == 5,
               "stored run states changed");

struct Store {
	sqlite3 *db;
	sqlite3_stmt *st[NSTMT];
	int lockfd;
	char *dir;
	char *real;                 /* dir as an absolute path without links (secdir_open) */
	char *path;                 /* dir/jobd.sqlite */
	int rc;                     /* extended result code of the last failure */
	int sys;                    /* and the OS errno behind it, if any */
	char err[256];              /* its sqlite3_errmsg, copied before the reset */
	StoreRun *intr;             /* runs found claimed or running at open */
	size_t nintr;
	/* The batch (store.h, "the write path"). */
	int batch;                  /* BEGIN IMMEDIATE done, COMMIT not yet */
	int lost;                   /* SQLite rolled the open batch back after a failure */
	int64_t batch_text;         /* bytes of text the batch stores */
	/* The counts of the jobs the batch has touched (see "counts"). */
	struct Counts *counts;
	size_t ncounts, capcounts;  /* entries in use (this generation), slots */
	uint32_t gen;               /* an entry is of this batch if its gen is this */
	size_t *dirty;              /* slots whose counts are to be written */
	size_t ndirty, capdirty;
	int64_t batch_changes;      /* and its changes (store_commit's guess at its size) */
	/* The disk-full reserve: a file of RESERVE_BYTES kept beside the
	 * database and given back before a commit that might not find room
	 * (SQLite rolls back a COMMIT that fails for a full disk: the room must
	 * be there before, not after); from then on (full) changes are refused
	 * before they are made, until the reserve can be made again. */
	int dfd;                    /* the directory, for the reserve */
	int full;
	int64_t probe_at;           /* monotonic s of the next try to make the reserve */
	/* A cluster node's: what each change is also handed to (store.h). */
	StoreObserver ob;
	int observed;
	struct Sent *sent;          /* runs' output sent and not yet back (observe_text) */
	size_t nsent, capsent;
};

typedef struct Sent {
	int64_t run_id, job_id;
	int64_t end;                /* the output's end, as sent */
} Sent;

enum { RESERVE_BYTES = 512 * 1024, RESERVE_PROBE_S = 5 };
/* What a change other than text may add to a commit (pages of tables and
 * indexes, in the WAL), counted for at most CHANGES_COUNTED changes (later
 * ones mostly touch the same pages), and what any commit may add. */
enum { CHANGE_BYTES = 8 * 1024, CHANGES_COUNTED = 128, COMMIT_BYTES = 64 * 1024 };

/* ---- memory and messages ---- */

static void *emalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL) {
		fprintf(stderr, "jobd: store: out of memory\n");
		exit(1);
	}
	return p;
}

static char *estrndup(const char *s, size_t n)
{
	char *p = emalloc(n + 1);
	if (n > 0)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* A malloc'ed formatted string (util's strfmt formats into a buffer instead). */
static char *afmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *afmt(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0) {
		fprintf(stderr, "jobd: store: bad format\n");
		exit(1);
	}
	char *p = emalloc((size_t)len + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)len + 1, fmt, ap);
	va_end(ap);
	return p;
}

static void say(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *why, size_t n, const char *fmt, ...)
{
	if (why == NULL || n == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
}

/* Maps an SQLite result code to -errno. sys is the OS errno behind an I/O or
 * open failure, if known. */
static int sqlerrno(int rc, int sys)
{
	switch (rc & 0xff) {
	case SQLITE_FULL: return -ENOSPC;
	case SQLITE_BUSY: case SQLITE_LOCKED: case SQLITE_PROTOCOL: return -EBUSY;
	case SQLITE_NOMEM: return -ENOMEM;
	case SQLITE_READONLY: return -EROFS;
	case SQLITE_PERM: case SQLITE_AUTH: return -EACCES;
	case SQLITE_TOOBIG: return -E2BIG;
	case SQLITE_INTERRUPT: return -EINTR;
	case SQLITE_NOLFS: return -EFBIG;
	case SQLITE_NOTFOUND: return -ENOENT;
	case SQLITE_MISMATCH: case SQLITE_RANGE: case SQLITE_MISUSE: return -EINVAL;
	case SQLITE_CONSTRAINT: return -EINVAL;
	case SQLITE_CANTOPEN: case SQLITE_IOERR: return sys > 0 ? -sys : -EIO;
	default: return -EIO;           /* ERROR, CORRUPT, NOTADB, SCHEMA, ... */
	}
}

/* A few words a person can act on, put before SQLite's own message. */
static const char *sqlhint(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_FULL: return "disk full";
	case SQLITE_BUSY: case SQLITE_LOCKED: return "database busy (locked by another process)";
	case SQLITE_CORRUPT: return "database file is corrupt";
	case SQLITE_NOTADB: return "not a SQLite database";
	case SQLITE_READONLY: return "database is read-only";
	case SQLITE_IOERR: return "I/O error";
	default: return NULL;
	}
}

/* Fills why with "ctx: hint (sqlite message)" for the failure recorded in s
 * and returns its -errno. */
static int fail(Store *s, char *why, size_t n, const char *ctx)
{
	const char *hint = sqlhint(s->rc);
	int c = s->rc & 0xff;
	if (c == SQLITE_IOERR && s->sys == ENOSPC)
		hint = "disk full";
	if (c == SQLITE_CORRUPT || c == SQLITE_NOTADB)
		say(why, n, "%s: %s (%s): %s; stop jobd and restore the file from a backup",
		    ctx, hint, s->err, s->path);
	else if (hint != NULL)
		say(why, n, "%s: %s (%s)", ctx, hint, s->err);
	else
		say(why, n, "%s: %s", ctx, s->err);
	return sqlerrno(s->rc, s->sys);
}

static void record(Store *s, int rc)
{
	s->rc = rc;
	s->sys = sqlite3_system_errno(s->db);
	snprintf(s->err, sizeof s->err, "%s", sqlite3_errmsg(s->db));
}

/* ---- statements ---- */

/* Steps statement k once. Returns SQLITE_ROW, SQLITE_DONE, or an error code
 * (recorded in s). On anything but SQLITE_ROW the statement is reset and its
 * bindings cleared, so it is idle again. */
static int step(Store *s, int k)
{
	sqlite3_stmt *st = s->st[k];
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return rc;
	if (rc != SQLITE_DONE)
		record(s, rc);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

/* Ends a reader early: reset and clear, as step does at the end. */
static void idle(Store *s, int k)
{
	sqlite3_reset(s->st[k]);
	sqlite3_clear_bindings(s->st[k]);
}

/* Runs a statement that returns no rows. 0 or an SQLite error code. */
static int exec1(Store *s, int k)
{
	int rc = step(s, k);
	if (rc == SQLITE_ROW) {         /* not expected; drain it */
		idle(s, k);
		rc = SQLITE_DONE;
	}
	return rc == SQLITE_DONE ? 0 : rc;
}

/* ---- the batch ---- */

/* The batch went (SQLite rolled it back): what the daemon did since the
 * last commit is not stored. Remembered for store_commit, which says so. */
static void counts_clear(Store *s);

static void check_lost(Store *s)
{
	if (s->batch && sqlite3_get_autocommit(s->db)) {
		s->batch = 0;
		s->lost = 1;
		counts_clear(s);
	}
}

/* Opens the batch if no change has since the last commit. */
static int join(Store *s)
{
	if (s->batch)
		return 0;
	int rc = exec1(s, S_BEGIN);
	if (rc == 0) {
		s->batch = 1;
		s->batch_text = s->batch_changes = 0;
	}
	return rc;
}

static int refuse_full(Store *s, char *why, size_t n, const char *ctx);

/* Every change starts here: refused at once while the disk is full (see
 * Store.full), else the batch is joined and a savepoint set, so that a
 * failure undoes this change and no other. 0, or -errno with why. */
static int change_begin(Store *s, char *why, size_t n, const char *ctx)
{
	if (s->full && refuse_full(s, why, n, ctx) < 0)
		return -ENOSPC;
	if (join(s) != 0 || exec1(s, S_SAVEPOINT) != 0) {
		check_lost(s);
		return fail(s, why, n, ctx);
	}
	s->batch_changes++;
	return 0;
}

/* A change that is one statement: SQLite undoes a failed statement by
 * itself, so it needs no savepoint (two statements fewer per change, which
 * a burst of fires makes by the thousand). */
static int change_begin1(Store *s, char *why, size_t n, const char *ctx)
{
	if (s->full && refuse_full(s, why, n, ctx) < 0)
		return -ENOSPC;
	if (join(s) != 0) {
		check_lost(s);
		return fail(s, why, n, ctx);
	}
	s->batch_changes++;
	return 0;
}

/* The change is whole. */
static void change_end(Store *s)
{
	if (exec1(s, S_RELEASE) != 0)
		check_lost(s);
}

/* The change failed: undo what it did; the failure's record is kept. */
static void change_undo(Store *s)
{
	check_lost(s);
	if (!s->batch)
		return;
	sqlite3_step(s->st[S_UNDO]);
	sqlite3_reset(s->st[S_UNDO]);
	sqlite3_step(s->st[S_RELEASE]);
	sqlite3_reset(s->st[S_RELEASE]);
	check_lost(s);
}

/* Ends a change with the result r of its last step: 0 keeps it, anything
 * else undoes it. Returns r. */
static int change_done(Store *s, int r)
{
	if (r == 0)
		change_end(s);
	else
		change_undo(s);
	return r;
}

/* A change of several statements without a savepoint (a savepoint costs a
 * statement journal, in memory, for each change) undoes its first steps
 * itself when a later one fails. If the undoing fails too, the batch is no
 * longer what the daemon did: it is rolled back and reported lost (jobd
 * exits and starts again from what is committed). */
static void lose(Store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	if (s->batch) {
		s->batch = 0;
		s->lost = 1;
	}
	counts_clear(s);
}

/* Runs statement k (bound by the caller) to undo a step; lose() if it fails. */
static void undo_step(Store *s, int k)
{
	check_lost(s);
	if (!s->batch)
		idle(s, k);             /* SQLite rolled the batch back: nothing to undo */
	else if (exec1(s, k) != 0)
		lose(s);
}

/* ---- counts ----
 *
 * A job's counts (runs.seq of its last run, where its log ends, the last
 * scheduled time claimed) move with every claim and every text append: a
 * fire moved them three times, each an UPDATE of the job's row. Within a
 * batch they are kept here instead, read at the job's first change (one
 * SELECT) and written once, at the commit (or with the job's row by
 * store_job_save); what reads them in the batch reads them here. A commit
 * keeps the entries, then equal to the rows, so that the next batch reads
 * no row again (a fire's claim, start and end come in three batches, each
 * was a SELECT); nothing else writes the rows (the store holds the
 * directory's lock). They go at a loss (gen), at a commit that finds more
 * than COUNTS_KEPT of them (memory is bounded by that, or by a batch's
 * jobs), and always in a cluster (the cache's rows are the database's). A
 * failure to write them loses the batch, as a failed commit does. */
static void bind_i64(Store *s, int k, int i, int64_t v);

typedef struct Counts {
	int64_t job_id;
	int64_t run_seq, log_end, last_sched;
	uint32_t gen;
	int dirty;
	int gone;                   /* its job was deleted in this batch */
} Counts;

static void counts_clear(Store *s)
{
	s->gen++;
	if (s->gen == 0) {              /* wrapped: every slot is old for sure */
		memset(s->counts, 0, s->capcounts * sizeof *s->counts);
		s->gen = 1;
	}
	s->ncounts = 0;
	s->ndirty = 0;
}

enum { COUNTS_KEPT = 65536 };

/* The batch is committed: its entries, written (counts_write), are kept for
 * the next (see "counts"). */
static void counts_keep(Store *s)
{
	if (s->observed || s->ncounts > COUNTS_KEPT)
		counts_clear(s);
	s->ndirty = 0;
}

static size_t counts_slot(const Store *s, int64_t job_id)
{
	uint64_t h = (uint64_t)job_id * 0x9e3779b97f4a7c15ull;
	size_t i = (size_t)(h >> 20) & (s->capcounts - 1);
	while (s->counts[i].gen == s->gen && s->counts[i].job_id != job_id)
		i = (i + 1) & (s->capcounts - 1);
	return i;
}

/* The job's entry, if the batch has one. */
static Counts *counts_find(Store *s, int64_t job_id)
{
	if (s->capcounts == 0)
		return NULL;
	Counts *c = &s->counts[counts_slot(s, job_id)];
	return c->gen == s->gen && !c->gone ? c : NULL;
}

/* Slot i is to be written at the commit. */
static void dirty_add(Store *s, size_t i)
{
	if (s->ndirty == s->capdirty) {
		size_t cap = s->capdirty ? s->capdirty * 2 : 64;
		size_t *v = emalloc(cap * sizeof *v);
		if (s->ndirty)
			memcpy(v, s->dirty, s->ndirty * sizeof *v);
		free(s->dirty);
		s->dirty = v;
		s->capdirty = cap;
	}
	s->dirty[s->ndirty++] = i;
}

static void counts_grow(Store *s)
{
	Counts *old = s->counts;
	size_t oldcap = s->capcounts;
	s->capcounts = oldcap ? oldcap * 2 : 64;
	s->counts = emalloc(s->capcounts * sizeof *s->counts);
	memset(s->counts, 0, s->capcounts * sizeof *s->counts);     /* gen 0: free */
	s->ndirty = 0;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].gen == s->gen) {
			size_t j = counts_slot(s, old[i].job_id);
			s->counts[j] = old[i];
			if (old[i].dirty)
				dirty_add(s, j);
		}
	free(old);
}

/* The job's entry, read from its row if the batch has none: SQLITE_ROW,
 * SQLITE_DONE (no such job) or an error code. */
static int counts_get(Store *s, int64_t job_id, Counts **out)
{
	Counts *c = counts_find(s, job_id);
	if (c) {
		*out = c;
		return SQLITE_ROW;
	}
	bind_i64(s, S_JOB_COUNTS, 1, job_id);
	int rc = step(s, S_JOB_COUNTS);
	if (rc != SQLITE_ROW)
		return rc;
	Counts v = { .job_id = job_id, .gen = s->gen,
	             .run_seq = sqlite3_column_int64(s->st[S_JOB_COUNTS], 0),
	             .log_end = sqlite3_column_int64(s->st[S_JOB_COUNTS], 1),
	             .last_sched = sqlite3_column_int64(s->st[S_JOB_COUNTS], 2) };
	idle(s, S_JOB_COUNTS);
	if (2 * (s->ncounts + 1) > s->capcounts)
		counts_grow(s);
	c = &s->counts[counts_slot(s, job_id)];
	if (c->gen != s->gen)
		s->ncounts++;           /* else the slot of a job deleted, made again */
	*c = v;
	*out = c;
	return SQLITE_ROW;
}

static int fail(Store *s, char *why, size_t n, const char *ctx);

/* A one-statement change of a job's counts begins (see change_begin1): the
 * batch joined and the job's entry in *c. 0; -ENOENT (no such job) or
 * -errno, with why. */
static int begin_counts(Store *s, int64_t job_id, Counts **c, const char *ctx, char *why,
                        size_t n)
{
	int r = change_begin1(s, why, n, ctx);
	if (r < 0)
		return r;
	int rc = counts_get(s, job_id, c);
	if (rc == SQLITE_DONE) {
		say(why, n, "%s: no job with id %" PRId64, ctx, job_id);
		return -ENOENT;
	}
	if (rc != SQLITE_ROW) {
		r = fail(s, why, n, ctx);
		check_lost(s);
		return r;
	}
	return 0;
}

/* The entry has changed: written at the commit. */
static void counts_touch(Store *s, Counts *c)
{
	if (c->dirty)
		return;
	c->dirty = 1;
	dirty_add(s, (size_t)(c - s->counts));
}

/* Writes what changed: 0, or an SQLite error code (recorded). */
static int counts_write(Store *s)
{
	for (size_t i = 0; i < s->ndirty; i++) {
		Counts *c = &s->counts[s->dirty[i]];
		if (c->gen != s->gen || !c->dirty || c->gone)
			continue;       /* written with its row (store_job_save), or its job deleted */
		bind_i64(s, S_JOB_COUNTED, 1, c->job_id);
		bind_i64(s, S_JOB_COUNTED, 2, c->run_seq);
		bind_i64(s, S_JOB_COUNTED, 3, c->log_end);
		bind_i64(s, S_JOB_COUNTED, 4, c->last_sched);
		int rc = exec1(s, S_JOB_COUNTED);
		if (rc != 0)
			return rc;
		c->dirty = 0;
	}
	s->ndirty = 0;
	return 0;
}

/* Whether the last failure was a full disk. */
static int disk_full(const Store *s)
{
	return (s->rc & 0xff) == SQLITE_FULL || ((s->rc & 0xff) == SQLITE_IOERR && s->sys == ENOSPC);
}

/* Makes (or checks) the reserve: RESERVE_BYTES of real blocks. 0 or -errno. */
static int reserve_make(Store *s)
{
	int fd = openat(s->dfd, "jobd.reserve", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int r = posix_fallocate(fd, 0, RESERVE_BYTES);
	close(fd);
	return -r;
}

static int64_t mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* Gives the reserve back: from now on changes are refused (refuse_full). */
static void reserve_give(Store *s, const char *because)
{
	unlinkat(s->dfd, "jobd.reserve", 0);
	s->full = 1;
	s->probe_at = mono_s() + RESERVE_PROBE_S;
	fprintf(stderr, "jobd: store: disk full in %s: %s; gave back the reserve, and refusing "
	        "changes until there is room\n", s->dir, because);
}

/* Whether the file system may not have room for the open batch: a guess
 * from its text and its number of changes, generous (too small a guess
 * loses the batch on a full disk; too big a one only gives the reserve back
 * a little early, when the disk is nearly full anyway). One fstatvfs. */
static int room_short(Store *s)
{
	struct statvfs vfs;
	if (s->dfd < 0 || fstatvfs(s->dfd, &vfs) < 0)
		return 0;
	int64_t changes = s->batch_changes < CHANGES_COUNTED ? s->batch_changes : CHANGES_COUNTED;
	int64_t need = s->batch_text + changes * CHANGE_BYTES + COMMIT_BYTES;
	return (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize < need;
}

/* While the disk is full every change is refused; every RESERVE_PROBE_S
 * seconds one tries to make the reserve again, and once it can, changes
 * are taken again. 0 if this change may go ahead. */
static int refuse_full(Store *s, char *why, size_t n, const char *ctx)
{
	if (mono_s() >= s->probe_at) {
		s->probe_at = mono_s() + RESERVE_PROBE_S;
		if (reserve_make(s) == 0) {
			s->full = 0;
			fprintf(stderr, "jobd: store: %s has room again; taking changes\n", s->dir);
			return 0;
		}
	}
	say(why, n, "%s: disk full: %s has no room; changes are refused until there is "
	    "(reads still work)", ctx, s->dir);
	return -ENOSPC;
}

int store_pending(const Store *s)
{
	/* A lost batch is news for store_commit to give. */
	return s->batch || s->lost || (s->observed && s->ob.pending(s->ob.arg));
}

/* ---- the observer (store.h, "cluster mode") ---- */

void store_observe(Store *s, const StoreObserver *o)
{
	memset(&s->ob, 0, sizeof s->ob);
	s->observed = o != NULL;
	if (!s->batch)
		counts_clear(s);        /* none kept from before (see "counts") */
	if (o)
		s->ob = *o;
}

/* Whether the observer can take a change now: 0, or its refusal (why). A
 * change is asked about before it is made, so that one the database cannot
 * take is not made here either. */
static int observe_ready(Store *s, char *why, size_t n)
{
	return s->observed ? s->ob.ready(s->ob.arg, why, n) : 0;
}

/* The observer refused a change made here (its connection went between
 * observe_ready and now): the batch cannot reach the database whole, and
 * its commit says so. */
static int observe_failed(int rc, const char *ctx, char *why, size_t n)
{
	if (rc < 0)
		say(why, n, "%s: the database did not take it (%s)", ctx, strerror(-rc));
	return rc;
}

static void run_row(sqlite3_stmt *st, StoreRun *w);

/* Run id's row as it is now, to the observer. */
static int observe_run(Store *s, int64_t id, const char *ctx, char *why, size_t n)
{
	if (!s->observed)
		return 0;
	StoreRun r;
	bind_i64(s, S_RUN_BY_ID, 1, id);
	int rc = step(s, S_RUN_BY_ID);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? 0 : fail(s, why, n, ctx);
	run_row(s->st[S_RUN_BY_ID], &r);
	idle(s, S_RUN_BY_ID);
	return observe_failed(s->ob.run(s->ob.arg, &r), ctx, why, n);
}

void store_commit(Store *s, void (*done)(void *arg, int rc, const char *why), void *arg)
{
	char why[512] = "";
	int r = 0;
	if (s->lost) {
		s->lost = 0;
		say(why, sizeof why, "the changes since the last commit were rolled back by SQLite "
		    "after a failure (%s)", s->err);
		r = -EIO;
	} else if (s->batch) {
		/* SQLite rolls back a COMMIT that fails for a full disk: room for
		 * the batch is made (the reserve given back) before, if it may be
		 * short; from then on changes are refused before they are made. */
		if (!s->full && room_short(s))
			reserve_give(s, "the next commit may not fit");
		if (counts_write(s) != 0) {
			/* The batch's runs and text would not agree with its jobs'
			 * counts: it is not committed. */
			fail(s, why, sizeof why, "committing: writing the jobs' counts (the changes are lost)");
			lose(s);
			s->lost = 0;
			done(arg, -EIO, why);
			return;
		}
		int rc = exec1(s, S_COMMIT);
		if (rc != 0 && disk_full(s)) {
			if (!s->full)
				reserve_give(s, "a commit did not fit");
			if (!sqlite3_get_autocommit(s->db))
				rc = exec1(s, S_COMMIT);        /* still open: once more, with the room */
		}
		if (rc == 0) {
			s->batch = 0;
			counts_keep(s);
		} else if (sqlite3_get_autocommit(s->db)) {
			s->batch = 0;
			counts_clear(s);
			r = fail(s, why, sizeof why, "committing (the changes are lost)");
			r = r == -EAGAIN ? -EIO : r;
		} else {
			fail(s, why, sizeof why, "committing (will try again)");
			r = -EAGAIN;
		}
	}
	if (r == 0 && s->observed) {
		s->ob.commit(s->ob.arg, done, arg);     /* done when the database has it too */
		return;
	}
	done(arg, r, why);
}

static void bind_text(Store *s, int k, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s->st[k], i);
	else
		sqlite3_bind_text(s->st[k], i, v, -1, SQLITE_STATIC);
}

static void bind_i64(Store *s, int k, int i, int64_t v)
{
	sqlite3_bind_int64(s->st[k], i, v);
}

static const char *col_text(Store *s, int k, int i, size_t *len)
{
	const unsigned char *p = sqlite3_column_text(s->st[k], i);
	*len = (size_t)sqlite3_column_bytes(s->st[k], i);
	return p ? (const char *)p : "";
}

/* ---- open and close ---- */

/* Runs SQL text at open (pragmas, migrations); records a failure in s. */
static int execsql(Store *s, const char *sql)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		record(s, rc);
	return rc;
}

/* Runs a query of at most one row (a PRAGMA) at open; row reads it (not
 * called if there is none). Records a failure. */
static int query1(Store *s, const char *sql, void (*row)(sqlite3_stmt *st, void *arg), void *arg)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		record(s, rc);
		return rc;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		row(st, arg);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		rc = SQLITE_OK;
	else
		record(s, rc);
	sqlite3_finalize(st);
	return rc;
}

static void int_row(sqlite3_stmt *st, void *arg)
{
	*(int64_t *)arg = sqlite3_column_int64(st, 0);
}

/* One integer (0 if there is no row). */
static int queryint(Store *s, const char *sql, int64_t *v)
{
	*v = 0;
	return query1(s, sql, int_row, v);
}

typedef struct TextOut {
	char *buf;
	size_t n;
} TextOut;

static void text_row(sqlite3_stmt *st, void *arg)
{
	TextOut *o = arg;
	const unsigned char *t = sqlite3_column_text(st, 0);
	snprintf(o->buf, o->n, "%s", t ? (const char *)t : "");
}

/* One text ("" if there is no row). */
static int querytext(Store *s, const char *sql, char *buf, size_t n)
{
	TextOut o = { buf, n };
	snprintf(buf, n, "%s", "");
	return query1(s, sql, text_row, &o);
}

/* A failure while reading or setting up the file at open. A file that is not
 * a database, or a corrupt one, is never started over: say so and how to get
 * out of it. */
static int openfail(Store *s, char *why, size_t n, const char *ctx)
{
	int c = s->rc & 0xff;
	if (c == SQLITE_NOTADB || c == SQLITE_CORRUPT) {
		say(why, n, "%s is %s (%s); jobd will not start over it: move it (and any "
		    "jobd.sqlite-wal, jobd.sqlite-shm beside it) aside, or restore it from a "
		    "backup%s", s->path,
		    c == SQLITE_NOTADB ? "not a SQLite database" : "a corrupt SQLite database",
		    s->err, c == SQLITE_CORRUPT ? " (`sqlite3 jobd.sqlite .recover` may salvage "
		    "what is left)" : "");
		return -EIO;
	}
	if (c == SQLITE_CANTOPEN) {
		say(why, n, "cannot open %s: %s; check that it is a readable and writable file "
		    "for this user, or move it aside", s->path,
		    s->sys > 0 ? strerror(s->sys) : s->err);
		return s->sys > 0 ? -s->sys : -EIO;
	}
	if (c == SQLITE_IOERR && s->sys > 0) {
		say(why, n, "I/O error on %s while %s: %s (%s)", s->path, ctx, strerror(s->sys),
		    s->err);
		return -s->sys;
	}
	char *full = afmt("%s: %s", s->path, ctx);
	int r = fail(s, why, n, full);
	free(full);
	return r;
}

/* Makes one directory; 0 if it was made, 1 if a directory was there already,
 * or -errno with why. */
static int mkdir1(const char *path, mode_t mode, const char *dir, char *why, size_t n)
{
	struct stat sb;
	if (mkdir(path, mode) == 0)
		return 0;
	int e = errno;
	if (e == EEXIST) {
		if (stat(path, &sb) < 0) {
			e = errno;
			say(why, n, "%s: %s", path, strerror(e));
			return -e;
		}
		if (!S_ISDIR(sb.st_mode)) {
			if (strcmp(path, dir) == 0)
				say(why, n, "%s exists and is not a directory", dir);
			else
				say(why, n, "cannot create %s: %s is not a directory", dir, path);
			return -ENOTDIR;
		}
		return 1;
	}
	if (e == ENOTDIR)
		say(why, n, "cannot create %s: a component of its parent is not a directory", dir);
	else if (e == EROFS)
		say(why, n, "cannot create %s: read-only file system", path);
	else
		say(why, n, "cannot create %s: %s: %s", dir, path, strerror(e));
	return -e;
}

/* fsync of the directory holding path, so that path's entry survives a
 * power loss. */
static void syncparent(const char *path)
{
	char *d = afmt("%s", path);
	char *slash = strrchr(d, '/');
	const char *parent = d;
	if (slash == NULL)
		parent = ".";
	else if (slash == d)
		parent = "/";
	else
		*slash = '\0';
	int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(d);
}

/* Creates dir (p: the same without trailing slashes) if missing, as
 * `mkdir -p` would (as the original jobd did): missing parents get mode 0755,
 * dir itself exactly 0700 whatever the umask. A link is left for secdir_open
 * to refuse. With sync FULL, the parent of each directory made is synced. */
static int makedir(const char *dir, char *p, int sync, char *why, size_t n)
{
	size_t len = strlen(p);
	int r = 0;
	struct stat sb;
	/* Parents, from the top: each prefix ending before a '/'. */
	for (size_t i = 1; i < len && r >= 0; i++) {
		if (p[i] != '/' || p[i - 1] == '/')
			continue;
		p[i] = '\0';
		r = mkdir1(p, 0755, dir, why, n);
		if (r == 0 && sync == STORE_SYNC_FULL)
			syncparent(p);
		p[i] = '/';
	}
	if (r >= 0 && lstat(p, &sb) == 0 && S_ISLNK(sb.st_mode))
		r = 1;
	else if (r >= 0)
		r = mkdir1(p, 0700, dir, why, n);
	if (r == 0) {
		/* Exactly 0700, whatever the umask; through a descriptor of the
		 * directory itself, so that a link put in its place is not followed. */
		int fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fchmod(fd, 0700) < 0) {
			int e = errno;
			say(why, n, "cannot set the mode of %s to 0700: %s", dir, strerror(e));
			r = -e;
		} else if (sync == STORE_SYNC_FULL) {
			syncparent(p);
		}
		if (fd >= 0)
			close(fd);
	}
	return r < 0 ? r : 0;
}

/* Takes the exclusive lock on dir/jobd.lock (dfd: dir, checked) and writes
 * our pid into it. */
static int takelock(Store *s, int dfd, char *why, size_t n)
{
	char *lock = afmt("%s/jobd.lock", s->dir);
	int r = secdir_file(dfd, s->dir, "jobd.lock", (uint32_t)geteuid(), why, n);
	if (r < 0) {
		free(lock);
		return r;
	}
	int fd = openat(dfd, "jobd.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		int e = errno;
		say(why, n, "cannot open %s: %s", lock, strerror(e));
		free(lock);
		return -e;
	}
	if ((r = secdir_fd(fd, lock, (uint32_t)geteuid(), why, n)) < 0) {
		close(fd);
		free(lock);
		return r;
	}
	/* A POSIX record lock, not flock(2): it belongs to this process and is
	 * not inherited by fork, so a run's child that is still between fork
	 * and exec when jobd dies does not keep the next jobd out. */
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
	if (fcntl(fd, F_SETLK, &fl) < 0) {
		int e = errno;
		if (e == EAGAIN || e == EACCES) {
			/* The holder writes its pid just after locking; say it if it is there. */
			char buf[32] = "", who[48] = "";
			ssize_t k = pread(fd, buf, sizeof buf - 1, 0);
			long pid = k > 0 ? strtol(buf, NULL, 10) : 0;
			if (pid > 0)
				snprintf(who, sizeof who, " (pid %ld)", pid);
			say(why, n, "another jobd%s is using %s (lock held on %s); stop it first",
			    who, s->dir, lock);
			e = EBUSY;
		} else {
			say(why, n, "cannot lock %s: %s", lock, strerror(e));
		}
		close(fd);
		free(lock);
		return -e;
	}
	free(lock);
	/* Only for people looking at the directory; failure does not matter. */
	char pid[32];
	int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)len, 0) < 0) {
		/* ignored */
	}
	s->lockfd = fd;
	return 0;
}

/* Checks the file's identity and version before anything writes to it: a
 * database of another application, or of a newer jobd, is left untouched. */
static int checkfile(Store *s, int64_t *version, char *why, size_t n)
{
	int64_t appid, ntables;
	if (queryint(s, "PRAGMA application_id", &appid) != SQLITE_OK)
		return openfail(s, why, n, "reading application_id");
	if (queryint(s, "PRAGMA user_version", version) != SQLITE_OK)
		return openfail(s, why, n, "reading user_version");
	if (queryint(s, "SELECT count(*) FROM sqlite_master", &ntables) != SQLITE_OK)
		return openfail(s, why, n, "reading the schema");
	if (appid != 0 && appid != JOBD_APPID) {
		say(why, n, "%s is not a jobd database (application_id %#" PRIx64 "); "
		    "move it aside or use another directory", s->path, (uint64_t)appid);
		return -EPROTO;
	}
	if (*version > SCHEMA_VERSION) {
		say(why, n, "database schema version %" PRId64 " is newer than this jobd "
		    "supports (%d); upgrade jobd", *version, SCHEMA_VERSION);
		return -EPROTO;
	}
	if ((*version > 0 && appid != JOBD_APPID) || (*version == 0 && ntables > 0)) {
		say(why, n, "%s is not a jobd database (it has tables but no jobd schema); "
		    "move it aside or use another directory", s->path);
		return -EPROTO;
	}
	return 0;
}

/* Reads every page (PRAGMA quick_check: b-tree structure, no index
 * cross-check; linear in the file's size) before anything writes, so that a
 * damaged file is refused at start, untouched, rather than found half-way
 * through serving. */
static int checkpages(Store *s, char *why, size_t n)
{
	char res[400];
	if (querytext(s, "PRAGMA quick_check(1)", res, sizeof res) != SQLITE_OK)
		return openfail(s, why, n, "checking the file");
	if (strcmp(res, "ok") != 0) {
		for (char *p = res; *p; p++)   /* one line in the log */
			if (*p == '\n')
				*p = ' ';
		say(why, n, "%s is a corrupt SQLite database (quick_check: %s); jobd will not "
		    "start over it: move it (and any jobd.sqlite-wal, jobd.sqlite-shm beside it) "
		    "aside, or restore it from a backup (`sqlite3 jobd.sqlite .recover` may "
		    "salvage what is left)", s->path, res);
		return -EIO;
	}
	return 0;
}

static int setup(Store *s, int sync, char *why, size_t n)
{
	char mode[32];
	if (querytext(s, "PRAGMA journal_mode = WAL", mode, sizeof mode) != SQLITE_OK)
		return openfail(s, why, n, "setting WAL mode");
	if (strcmp(mode, "wal") != 0) {
		say(why, n, "%s: cannot use WAL mode (journal mode stays '%s'); is the "
		    "directory on a network file system?", s->path, mode);
		return -EOPNOTSUPP;
	}
	const char *sql = sync == STORE_SYNC_FULL ?
		"PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
		"PRAGMA journal_size_limit = 16777216;" :
		"PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
		"PRAGMA journal_size_limit = 16777216;";
	if (execsql(s, sql) != SQLITE_OK)
		return openfail(s, why, n, "setting pragmas");
	int64_t fk;
	if (queryint(s, "PRAGMA foreign_keys", &fk) != SQLITE_OK)
		return openfail(s, why, n, "reading foreign_keys");
	if (fk != 1) {
		say(why, n, "%s: this SQLite does not enforce foreign keys", s->path);
		return -EOPNOTSUPP;
	}
	return 0;
}

static int migrate(Store *s, int64_t from, char *why, size_t n)
{
	for (int64_t v = from; v < SCHEMA_VERSION; v++) {
		char *sql = schema_step(SCHEMA_SQLITE, (int)v + 1);
		int rc = execsql(s, sql);
		free(sql);
		if (rc != SQLITE_OK) {
			if (!sqlite3_get_autocommit(s->db))     /* keeps s->err */
				sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			char *ctx = afmt("migrating the schema from version %" PRId64 " to %" PRId64,
			                   v, v + 1);
			int r = openfail(s, why, n, ctx);
			free(ctx);
			return r;
		}
	}
	return 0;
}

static int prepare(Store *s, char *why, size_t n)
{
	for (int k = 0; k < NSTMT; k++) {
		int rc = sqlite3_prepare_v3(s->db, stmtsql[k], -1, SQLITE_PREPARE_PERSISTENT,
		                            &s->st[k], NULL);
		if (rc != SQLITE_OK) {
			record(s, rc);
			return openfail(s, why, n, "preparing statements");
		}
	}
	return 0;
}

/* The run row st is on: S_RUNS_PAGE's columns, or only the first nine
 * (id .. proc) for the start-up read of unfinished runs. */
static void run_row(sqlite3_stmt *st, StoreRun *w)
{
	memset(w, 0, sizeof *w);
	w->id = sqlite3_column_int64(st, 0);
	w->job_id = sqlite3_column_int64(st, 1);
	w->sched = sqlite3_column_int64(st, 2);
	w->state = sqlite3_column_int(st, 3);
	w->start_ns = sqlite3_column_int64(st, 4);
	w->end_ns = sqlite3_column_int64(st, 5);
	w->pid = sqlite3_column_int(st, 6);
	w->status = sqlite3_column_int(st, 7);
	const unsigned char *t = sqlite3_column_text(st, 8);
	snprintf(w->proc, sizeof w->proc, "%s", t ? (const char *)t : "");
	if (sqlite3_column_count(st) < 13)
		return;
	w->seq = sqlite3_column_int64(st, 9);
	w->manual = sqlite3_column_int(st, 10);
	w->flags = sqlite3_column_int(st, 11);
	w->out_bytes = sqlite3_column_int64(st, 12);
	if (sqlite3_column_count(st) < 14)
		return;
	t = sqlite3_column_text(st, 13);
	snprintf(w->node, sizeof w->node, "%s", t ? (const char *)t : "");
}

/* Keeps the runs a dead daemon left claimed or running, and those marked
 * interrupted at an earlier open but not settled since (that jobd died too),
 * as they are, for store_runs_interrupted. We hold the lock: nobody else
 * changes them. */
static int collect_interrupted(Store *s, char *why, size_t n)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, "SELECT id, job_id, sched, state, start_ns, end_ns,"
	                            " pid, status, proc FROM runs WHERE state IN (0, 1)"
	                            " OR (state = 3 AND end_ns = 0) ORDER BY id",
	                            -1, &st, NULL);
	if (rc != SQLITE_OK) {
		record(s, rc);
		return openfail(s, why, n, "reading unfinished runs");
	}
	size_t cap = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (s->nintr == cap) {
			cap = cap ? cap * 2 : 16;
			StoreRun *v = realloc(s->intr, cap * sizeof *v);
			if (v == NULL) {
				fprintf(stderr, "jobd: store: out of memory\n");
				exit(1);
			}
			s->intr = v;
		}
		run_row(st, &s->intr[s->nintr++]);
	}
	if (rc != SQLITE_DONE)
		record(s, rc);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return openfail(s, why, n, "reading unfinished runs");
	return 0;
}

int store_runs_interrupted(Store *s, int (*fn)(void *arg, const StoreRun *r), void *arg)
{
	for (size_t i = 0; i < s->nintr; i++) {
		int r = fn(arg, &s->intr[i]);
		if (r != 0)
			return r;
	}
	return 0;
}

int store_open(const char *dir, int sync, Store **out, int *interrupted, char *why, size_t n)
{
	*out = NULL;
	if (interrupted != NULL)
		*interrupted = 0;
	if (dir == NULL || *dir == '\0') {
		say(why, n, "no store directory given");
		return -EINVAL;
	}
	if (sync != STORE_SYNC_NORMAL && sync != STORE_SYNC_FULL) {
		say(why, n, "bad sync setting %d", sync);
		return -EINVAL;
	}
	char *clean = afmt("%s", dir);
	for (size_t len = strlen(clean); len > 1 && clean[len - 1] == '/';)
		clean[--len] = '\0';
	int r = makedir(dir, clean, sync, why, n);
	if (r < 0) {
		free(clean);
		return r;
	}

	int rc;
	int64_t version;
	char *sql, *real = NULL;
	uint32_t uid = (uint32_t)geteuid();
	/* Whatever jobd or SQLite creates here is for jobd's user only. jobd is
	 * one thread, and no job has started yet to inherit this mask. */
	mode_t mask = umask(077);
	Store *s = emalloc(sizeof *s);
	memset(s, 0, sizeof *s);
	s->gen = 1;                     /* counts' slots are made with gen 0: none in use */
	s->lockfd = -1;
	s->dfd = -1;
	s->dir = clean;
	s->path = afmt("%s/jobd.sqlite", clean);
	/* What jobd keeps there: its files, the original jobd's jobs.db and the
	 * backup of it, a unix socket make run puts there; a file system of its
	 * own has lost+found. */
	static const char *const own[] = { "jobd", "jobs.db", "lost+found", NULL };
	int dfd = secdir_open(clean, uid, own, &s->real, why, n);
	if (dfd < 0) {
		r = dfd;
		goto bad;
	}
	if ((r = takelock(s, dfd, why, n)) < 0)
		goto bad;
	/* A database, WAL or rollback journal SQLite would read must be jobd's
	 * own file, not a link: another user's WAL or hot journal would be
	 * replayed into the database. */
	static const char *const files[] = {
		"jobd.sqlite", "jobd.sqlite-wal", "jobd.sqlite-shm", "jobd.sqlite-journal",
	};
	for (size_t i = 0; i < nelem(files); i++)
		if ((r = secdir_file(dfd, clean, files[i], uid, why, n)) < 0)
			goto bad;

	/* SQLite opens its files (database, WAL, shm, journals) with O_CLOEXEC.
	 * It is given the path without links, so that NOFOLLOW (no link
	 * anywhere in the path) refuses only a link made since the checks. */
	/* One thread (the loop) uses a connection: NOMUTEX spares a mutex per
	 * call of the API. SQLite's count of its memory (which jobd never reads)
	 * takes a process-wide mutex per allocation: off, where SQLite is not in
	 * use yet (else the call is refused, harmlessly). Locking and unlocking
	 * those were about 3% of the loop's time in a burst of fires (perf). */
	static int configured;
	if (!configured++)
		sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	real = afmt("%s/jobd.sqlite", s->real);
	rc = sqlite3_open_v2(real, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                     SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		if (s->db == NULL) {
			fprintf(stderr, "jobd: store: out of memory\n");
			exit(1);
		}
		record(s, rc);
		if (sqlite3_extended_errcode(s->db) == SQLITE_CANTOPEN_SYMLINK) {
			say(why, n, "%s: a symbolic link appeared in its path while jobd opened it; "
			    "jobd does not follow links in its state directory", s->path);
			r = -ELOOP;
		} else {
			r = openfail(s, why, n, "opening");
		}
		goto bad;
	}
	/* What SQLite opened (or created) is checked again, by name: nobody but
	 * jobd's user may change the directory, so the name still means it. */
	if ((r = secdir_file(dfd, clean, "jobd.sqlite", uid, why, n)) < 0)
		goto bad;
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	if (sqlite3_db_readonly(s->db, "main") == 1) {
		say(why, n, "%s is read-only for this user; jobd needs to write it", s->path);
		r = -EACCES;
		goto bad;
	}

	if ((r = checkfile(s, &version, why, n)) < 0 || (r = checkpages(s, why, n)) < 0 ||
	    (r = setup(s, sync, why, n)) < 0 || (r = migrate(s, version, why, n)) < 0 ||
	    (r = prepare(s, why, n)) < 0 || (r = collect_interrupted(s, why, n)) < 0)
		goto bad;
	/* WAL mode is on: SQLite has made -wal and -shm with the database's mode. */
	if ((r = secdir_file(dfd, clean, "jobd.sqlite-wal", uid, why, n)) < 0 ||
	    (r = secdir_file(dfd, clean, "jobd.sqlite-shm", uid, why, n)) < 0)
		goto bad;

	/* Runs a dead daemon left claimed or running have no process any more.
	 * On a full disk they cannot be marked now; store_run_settle marks them
	 * later, and a jobd that can read its data still starts and serves. */
	sql = afmt("UPDATE runs SET state = %d WHERE state IN (%d, %d)",
	             RUN_INTERRUPTED, RUN_CLAIMED, RUN_RUNNING);
	rc = execsql(s, sql);
	free(sql);
	if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_FULL &&
	    !((rc & 0xff) == SQLITE_IOERR && s->sys == ENOSPC)) {
		r = openfail(s, why, n, "marking interrupted runs");
		goto bad;
	}
	if (interrupted != NULL) {
		*interrupted = 0;
		for (size_t i = 0; i < s->nintr; i++)
			*interrupted += s->intr[i].state != RUN_INTERRUPTED;
	}
	/* The disk-full reserve (Store.full): without room for it, jobd starts
	 * refusing changes, as after a full disk. */
	s->dfd = dfd;
	if ((r = secdir_file(dfd, clean, "jobd.reserve", uid, why, n)) < 0)
		goto bad;
	if ((r = reserve_make(s)) < 0) {
		s->full = 1;
		s->probe_at = mono_s() + RESERVE_PROBE_S;
		fprintf(stderr, "jobd: store: cannot keep %d KiB in reserve in %s (%s); refusing "
		        "changes until there is room\n", RESERVE_BYTES / 1024, clean, strerror(-r));
	}
	free(real);
	umask(mask);
	*out = s;
	return 0;

bad:
	if (dfd >= 0 && s->dfd != dfd)
		close(dfd);
	free(real);
	store_close(s);
	umask(mask);
	return r;
}

const char *store_dir(const Store *s)
{
	return s->real;
}

void store_close(Store *s)
{
	if (s == NULL)
		return;
	if (s->batch && !s->full && room_short(s))
		reserve_give(s, "the last commit may not fit");
	if (s->batch && counts_write(s) != 0) {
		fprintf(stderr, "jobd: store: the last changes could not be committed at close: %s\n",
		        s->err);
		lose(s);
	}
	if (s->batch && exec1(s, S_COMMIT) != 0)
		fprintf(stderr, "jobd: store: the last changes could not be committed at close: %s\n",
		        s->err);
	for (int k = 0; k < NSTMT; k++)
		sqlite3_finalize(s->st[k]);
	if (s->db != NULL) {
		/* Opened fully: let SQLite refresh its planner statistics, sampling
		 * a bounded number of rows so that closing stays quick. */
		if (s->st[NSTMT - 1] != NULL)
			sqlite3_exec(s->db, "PRAGMA analysis_limit = 400; PRAGMA optimize",
			             NULL, NULL, NULL);
		sqlite3_close(s->db);
	}
	if (s->dfd >= 0)
		close(s->dfd);
	if (s->lockfd >= 0)
		close(s->lockfd);         /* releases the lock */
	free(s->intr);
	free(s->counts);
	free(s->dirty);
	free(s->sent);
	free(s->dir);
	free(s->real);
	free(s->path);
	free(s);
}

/* ---- jobs ---- */

typedef struct JobRow {
	StoreJob j;
	char *name, *schedule, *cmd, *dir, *env, *limits;
} JobRow;

int store_jobs_load(Store *s, int (*fn)(void *arg, const StoreJob *j), void *arg,
                    char *why, size_t n)
{
	if (counts_write(s) != 0)       /* the rows read below have last_sched */
		return fail(s, why, n, "reading jobs");
	JobRow *rows = emalloc(JOBS_PAGE * sizeof *rows);
	int64_t after = 0;
	int r = 0;
	for (;;) {
		bind_i64(s, S_JOBS_PAGE, 1, after);
		bind_i64(s, S_JOBS_PAGE, 2, JOBS_PAGE);
		int nrow = 0, rc;
		while ((rc = step(s, S_JOBS_PAGE)) == SQLITE_ROW) {
			JobRow *w = &rows[nrow++];
			size_t len;
			const char *t;
			w->j.id = sqlite3_column_int64(s->st[S_JOBS_PAGE], 0);
			t = col_text(s, S_JOBS_PAGE, 1, &len);
			w->name = estrndup(t, len);
			t = col_text(s, S_JOBS_PAGE, 2, &len);
			w->schedule = estrndup(t, len);
			t = col_text(s, S_JOBS_PAGE, 3, &len);
			w->cmd = estrndup(t, len);
			w->j.started = sqlite3_column_int(s->st[S_JOBS_PAGE], 4) != 0;
			w->j.created_ns = sqlite3_column_int64(s->st[S_JOBS_PAGE], 5);
			w->j.last_sched = sqlite3_column_int64(s->st[S_JOBS_PAGE], 6);
			w->j.timeout_ms = sqlite3_column_int64(s->st[S_JOBS_PAGE], 7);
			w->j.overlap = sqlite3_column_int(s->st[S_JOBS_PAGE], 8);
			w->j.misfire = sqlite3_column_int(s->st[S_JOBS_PAGE], 9);
			t = col_text(s, S_JOBS_PAGE, 10, &len);
			w->dir = estrndup(t, len);
			t = col_text(s, S_JOBS_PAGE, 11, &len);
			w->env = estrndup(t, len);
			w->j.runs_total = sqlite3_column_int64(s->st[S_JOBS_PAGE], 12);
			w->j.failures_total = sqlite3_column_int64(s->st[S_JOBS_PAGE], 13);
			w->j.last_start_ns = sqlite3_column_int64(s->st[S_JOBS_PAGE], 14);
			w->j.last_end_ns = sqlite3_column_int64(s->st[S_JOBS_PAGE], 15);
			w->j.last_status = sqlite3_column_int(s->st[S_JOBS_PAGE], 16);
			w->j.owner_uid = sqlite3_column_int64(s->st[S_JOBS_PAGE], 17);
			t = col_text(s, S_JOBS_PAGE, 18, &len);
			w->limits = estrndup(t, len);
			w->j.limits = w->limits;
			w->j.orphan = sqlite3_column_int(s->st[S_JOBS_PAGE], 19);
			w->j.dir = w->dir;
			w->j.env = w->env;
			w->j.name = w->name;
			w->j.schedule = w->schedule;
			w->j.cmd = w->cmd;
		}
		if (rc != SQLITE_DONE)
			r = fail(s, why, n, "loading jobs");
		for (int i = 0; i < nrow; i++) {
			if (r == 0)
				r = fn(arg, &rows[i].j);
			free(rows[i].name);
			free(rows[i].schedule);
			free(rows[i].cmd);
			free(rows[i].dir);
			free(rows[i].env);
			free(rows[i].limits);
		}
		if (r != 0 || nrow < JOBS_PAGE)
			break;
		after = rows[nrow - 1].j.id;
	}
	free(rows);
	return r;
}

int store_job_create(Store *s, StoreJob *j, char *why, size_t n)
{
	if (j->name == NULL || j->schedule == NULL || j->cmd == NULL) {
		say(why, n, "job needs a name, a schedule and a command");
		return -EINVAL;
	}
	int r = observe_ready(s, why, n);
	if (r == 0)
		r = change_begin(s, why, n, "creating job");
	if (r < 0)
		return r;
	if (s->observed)
		bind_i64(s, S_JOB_INSERT, 8, s->ob.new_id(s->ob.arg));
	else
		sqlite3_bind_null(s->st[S_JOB_INSERT], 8);
	bind_text(s, S_JOB_INSERT, 1, j->name);
	bind_text(s, S_JOB_INSERT, 2, j->schedule);
	bind_text(s, S_JOB_INSERT, 3, j->cmd);
	bind_i64(s, S_JOB_INSERT, 4, j->started != 0);
	bind_i64(s, S_JOB_INSERT, 5, j->created_ns);
	bind_i64(s, S_JOB_INSERT, 6, j->last_sched);
	bind_i64(s, S_JOB_INSERT, 7, j->owner_uid);
	int rc = exec1(s, S_JOB_INSERT);
	if (rc == SQLITE_CONSTRAINT_UNIQUE) {
		say(why, n, "a job named '%s' already exists", j->name);
		return change_done(s, -EEXIST);
	}
	if (rc != 0)
		return change_done(s, fail(s, why, n, "creating job"));
	j->id = sqlite3_last_insert_rowid(s->db);
	if (s->observed)
		r = observe_failed(s->ob.job_created(s->ob.arg, j), "creating job", why, n);
	return change_done(s, r);
}

/* A change that is one UPDATE or DELETE of one row chosen by id: statement
 * k, bound by the caller; -ENOENT if there is no such row. */
static int change1(Store *s, int k, const char *what, int64_t id, const char *ctx,
                   char *why, size_t n)
{
	int r = observe_ready(s, why, n);
	if (r == 0)
		r = change_begin1(s, why, n, ctx);
	if (r < 0) {
		idle(s, k);
		return r;
	}
	if (exec1(s, k) != 0) {
		r = fail(s, why, n, ctx);
		check_lost(s);
	} else if (sqlite3_changes(s->db) == 0) {
		say(why, n, "%s: no %s with id %" PRId64, ctx, what, id);
		r = -ENOENT;
	}
	return r;
}

int store_job_set_started(Store *s, int64_t id, int started, char *why, size_t n)
{
	bind_i64(s, S_JOB_STARTED, 1, id);
	bind_i64(s, S_JOB_STARTED, 2, started != 0);
	const char *ctx = started ? "starting job" : "stopping job";
	int r = change1(s, S_JOB_STARTED, "job", id, ctx, why, n);
	if (r == 0 && s->observed)
		r = observe_failed(s->ob.job_started(s->ob.arg, id, started != 0), ctx, why, n);
	return r;
}

/* Runs and text go with the job through ON DELETE CASCADE. */
int store_job_delete(Store *s, int64_t id, char *why, size_t n)
{
	bind_i64(s, S_JOB_DELETE, 1, id);
	int r = change1(s, S_JOB_DELETE, "job", id, "deleting job", why, n);
	Counts *c = r == 0 ? counts_find(s, id) : NULL;
	if (c) {
		c->dirty = 0;           /* its row is gone: nothing to write */
		c->gone = 1;
	}
	if (r == 0 && s->observed)
		r = observe_failed(s->ob.job_deleted(s->ob.arg, id), "deleting job", why, n);
	return r;
}

/* ---- runs ---- */

/* Exactly once: the partial unique index runs_fire on (job_id, sched) refuses
 * a second claim of the same scheduled fire, whoever makes it. The run and the
 * job's last_sched change together. */
static int read2(Store *s, int k, int64_t *a, int64_t *b);

/* Steps the bound insert k of a fire's row: 0, -EALREADY if the fire
 * (job, sched) has a row already (the unique key), or -errno with why. */
static int fire_insert(Store *s, int k, int64_t job_id, int64_t sched, const char *ctx,
                       char *why, size_t n)
{
	int rc = exec1(s, k);
	if (rc == SQLITE_CONSTRAINT_UNIQUE) {
		say(why, n, "fire %" PRId64 " of job %" PRId64 " was already claimed", sched, job_id);
		return -EALREADY;
	}
	if (rc != 0) {
		int r = fail(s, why, n, ctx);
		check_lost(s);
		return r;
	}
	return 0;
}

/* The claim: the run's row (id: 0 for SQLite's own; seq: 0 for the next of
 * the job's counts) and the job's last_sched. */
static int claim(Store *s, int64_t job_id, int64_t sched, int64_t id, int64_t seq,
                 int64_t *run_id, int64_t *seq_out, char *why, size_t n)
{
	if (sched < 0) {
		say(why, n, "claiming fire: negative scheduled time %" PRId64, sched);
		return -EINVAL;
	}
	/* One statement (and, at the job's first change in the batch, a read
	 * of its counts), no savepoint: a burst makes thousands. The insert is
	 * refused whole (the unique key) before anything changes. */
	Counts *c;
	int r = observe_ready(s, why, n);
	if (r == 0)
		r = begin_counts(s, job_id, &c, "claiming fire", why, n);
	if (r < 0)
		return r;
	if (seq == 0)
		seq = c->run_seq + 1;
	int k = id > 0 ? S_RUN_PUT : S_RUN_CLAIM;
	bind_i64(s, k, 1, job_id);
	bind_i64(s, k, 2, sched);
	bind_i64(s, k, 3, RUN_CLAIMED);
	bind_i64(s, k, 4, seq);
	bind_i64(s, k, 5, c->log_end);
	if (id > 0) {
		bind_i64(s, k, 6, id);
		bind_text(s, k, 7, s->observed && s->ob.node ? s->ob.node : "");
	} else {
		sqlite3_bind_null(s->st[k], 6);
	}
	if ((r = fire_insert(s, k, job_id, sched, "claiming fire", why, n)) < 0)
		return r;
	if (seq > c->run_seq)
		c->run_seq = seq;
	if (sched > c->last_sched)
		c->last_sched = sched;
	counts_touch(s, c);
	id = sqlite3_last_insert_rowid(s->db);
	if (run_id != NULL)
		*run_id = id;
	if (seq_out != NULL)
		*seq_out = seq;
	return observe_run(s, id, "claiming fire", why, n);
}

int store_fire_claim(Store *s, int64_t job_id, int64_t sched, int64_t *run_id, int64_t *seq,
                     char *why, size_t n)
{
	if (s->observed) {
		/* A run's number is the cluster's to give: store_fire_put. */
		say(why, n, "claiming fire: in a cluster, the database claims fires");
		return -ENOTSUP;
	}
	return claim(s, job_id, sched, 0, 0, run_id, seq, why, n);
}

static int insert_chunk(Store *s, int64_t job_id, int64_t run_id, int64_t off, int64_t roff,
                        const char *text, size_t len);

int store_fire_skip(Store *s, int64_t job_id, int64_t sched, int64_t end_ns, const char *text,
                    size_t len, int64_t *run_id, int64_t *seq_out, char *why, size_t n)
{
	if (s->observed) {
		say(why, n, "recording a skipped fire: in a cluster, the database claims fires");
		return -ENOTSUP;
	}
	if (sched < 0) {
		say(why, n, "recording a skipped fire: negative scheduled time %" PRId64, sched);
		return -EINVAL;
	}
	if (len > STORE_CHUNK_MAX) {
		say(why, n, "recording a skipped fire: %zu bytes of text, more than %d", len,
		    STORE_CHUNK_MAX);
		return -E2BIG;
	}
	/* Two statements where a claim, a line and an end took five: the row
	 * ended already, its output the chunk at the log's end. */
	Counts *c;
	int r = begin_counts(s, job_id, &c, "recording a skipped fire", why, n);
	if (r < 0)
		return r;
	int64_t seq = c->run_seq + 1, off = c->log_end;
	bind_i64(s, S_RUN_SKIP, 1, job_id);
	bind_i64(s, S_RUN_SKIP, 2, sched);
	bind_i64(s, S_RUN_SKIP, 3, RUN_SKIPPED);
	bind_i64(s, S_RUN_SKIP, 4, seq);
	bind_i64(s, S_RUN_SKIP, 5, off);
	bind_i64(s, S_RUN_SKIP, 6, end_ns);
	bind_i64(s, S_RUN_SKIP, 7, (int64_t)len);
	if ((r = fire_insert(s, S_RUN_SKIP, job_id, sched, "recording a skipped fire", why, n)) < 0)
		return r;
	int64_t id = sqlite3_last_insert_rowid(s->db);
	if (len > 0 && insert_chunk(s, job_id, id, off, 0, text, len) != 0) {
		r = fail(s, why, n, "recording a skipped fire");
		bind_i64(s, S_RUN_DROP, 1, id);
		undo_step(s, S_RUN_DROP);
		check_lost(s);
		return r;
	}
	c->run_seq = seq;
	if (sched > c->last_sched)
		c->last_sched = sched;
	c->log_end = off + (int64_t)len;
	counts_touch(s, c);
	s->batch_text += (int64_t)len;
	if (run_id != NULL)
		*run_id = id;
	if (seq_out != NULL)
		*seq_out = seq;
	return 0;
}

int store_fire_put(Store *s, int64_t job_id, int64_t sched, int64_t run_id, int64_t seq,
                   char *why, size_t n)
{
	if (run_id <= 0 || seq <= 0) {
		say(why, n, "recording a claimed fire: run id %" PRId64 ", number %" PRId64, run_id,
		    seq);
		return -EINVAL;
	}
	return claim(s, job_id, sched, run_id, seq, NULL, NULL, why, n);
}

int store_job_save(Store *s, const StoreJob *j, char *why, size_t n)
{
	/* With the batch's counts of the job, if they changed: one write. */
	Counts *c = counts_find(s, j->id);
	int k = c && c->dirty ? S_JOB_SAVE_COUNTS : S_JOB_SAVE;
	bind_i64(s, k, 1, j->id);
	bind_text(s, k, 2, j->schedule);
	bind_text(s, k, 3, j->cmd);
	bind_i64(s, k, 4, j->timeout_ms);
	bind_i64(s, k, 5, j->overlap);
	bind_i64(s, k, 6, j->misfire);
	bind_text(s, k, 7, j->dir ? j->dir : "");
	bind_text(s, k, 8, j->env ? j->env : "");
	bind_i64(s, k, 9, j->runs_total);
	bind_i64(s, k, 10, j->failures_total);
	bind_i64(s, k, 11, j->last_start_ns);
	bind_i64(s, k, 12, j->last_end_ns);
	bind_i64(s, k, 13, j->last_status);
	bind_text(s, k, 14, j->limits ? j->limits : "");
	bind_i64(s, k, 15, j->orphan);
	if (k == S_JOB_SAVE_COUNTS) {
		bind_i64(s, k, 16, c->run_seq);
		bind_i64(s, k, 17, c->log_end);
		bind_i64(s, k, 18, c->last_sched);
	}
	int r = change1(s, k, "job", j->id, "saving job", why, n);
	if (r == 0 && k == S_JOB_SAVE_COUNTS)
		c->dirty = 0;           /* written; counts_write skips it */
	if (r == 0 && s->observed)
		r = observe_failed(s->ob.job_saved(s->ob.arg, j), "saving job", why, n);
	return r;
}

int store_run_end(Store *s, const StoreRunEnd *e, char *why, size_t n)
{
	if (e->state != RUN_DONE && e->state != RUN_SKIPPED) {
		say(why, n, "recording run end: bad final state %d", e->state);
		return -EINVAL;
	}
	bind_i64(s, S_RUN_END, 1, e->run_id);
	bind_i64(s, S_RUN_END, 2, e->state);
	bind_i64(s, S_RUN_END, 3, e->end_ns);
	bind_i64(s, S_RUN_END, 4, e->status);
	bind_i64(s, S_RUN_END, 5, e->flags);
	int r = change1(s, S_RUN_END, "run", e->run_id, "recording run end", why, n);
	return r == 0 ? observe_run(s, e->run_id, "recording run end", why, n) : r;
}

/* Steps a one-row reader k into up to two integers (NULL columns read 0).
 * SQLITE_ROW, SQLITE_DONE (no row), or an error code; k is idle after. */
static int read2(Store *s, int k, int64_t *a, int64_t *b)
{
	int rc = step(s, k);
	if (rc != SQLITE_ROW)
		return rc;
	*a = sqlite3_column_int64(s->st[k], 0);
	if (b != NULL)
		*b = sqlite3_column_int64(s->st[k], 1);
	idle(s, k);
	return SQLITE_ROW;
}

/* Where retention may cut the job's log (S_LOG_CUT), but never keeping more
 * than budget before the end; *over says the budget moved the cut. */
static int log_cut(Store *s, int64_t job_id, int64_t budget, int64_t *cut, int *over)
{
	int64_t oldest = 0, end = 0;
	Counts *c;
	int rc = counts_get(s, job_id, &c);
	if (rc == SQLITE_DONE) {
		*cut = 0;
		*over = 0;
		return 0;
	}
	if (rc != SQLITE_ROW)
		return rc;
	end = c->log_end;
	bind_i64(s, S_LOG_CUT, 1, job_id);
	rc = read2(s, S_LOG_CUT, &oldest, NULL);
	if (rc != SQLITE_ROW)
		return rc;
	if (oldest > end)
		oldest = end;
	*over = end - oldest > budget;
	*cut = *over ? end - budget : oldest;
	return 0;
}

static int retain_log(Store *s, int64_t job_id, int64_t keep_bytes, StoreKept *k,
                      const int64_t *ids, size_t nids, char *why, size_t n);

/* Appends id to the list (*v, *n), which grows by 64 at a time. */
static void ids_add(int64_t **v, size_t *n, int64_t id)
{
	if (*n % 64 == 0) {
		int64_t *g = emalloc((*n + 64) * sizeof *g);
		if (*n)
			memcpy(g, *v, *n * sizeof *g);
		free(*v);
		*v = g;
	}
	(*v)[(*n)++] = id;
}

int store_runs_retain(Store *s, int64_t job_id, int64_t keep_runs, int64_t keep_bytes,
                      StoreKept *kept, char *why, size_t n)
{
	/* Within bounds by the caller's count: nothing to do, not a statement. */
	if (kept != NULL && kept->runs >= 0 && kept->runs <= keep_runs && kept->bytes <= keep_bytes)
		return 0;
	int r = observe_ready(s, why, n);
	if (r == 0)
		r = change_begin(s, why, n, "trimming runs");
	if (r < 0)
		return r;
	StoreKept k = kept ? *kept : (StoreKept){ -1, -1 };
	/* The runs that go, for the observer (a cluster's database). */
	int64_t *ids = NULL;
	size_t nids = 0;
	if (k.runs < 0) {
		bind_i64(s, S_RUNS_KEPT, 1, job_id);
		if (read2(s, S_RUNS_KEPT, &k.runs, &k.bytes) != SQLITE_ROW)
			return change_done(s, fail(s, why, n, "counting runs"));
	}
	/* The oldest finished runs go, one index seek each, until keep_runs
	 * remain and their output fits keep_bytes. */
	int64_t gone = 0, id, ob;
	while (k.runs > 0 && (k.runs > keep_runs || k.bytes > keep_bytes)) {
		bind_i64(s, S_RUN_OLDEST, 1, job_id);
		int rc = read2(s, S_RUN_OLDEST, &id, &ob);
		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW) {
			free(ids);
			return change_done(s, fail(s, why, n, "trimming runs"));
		}
		bind_i64(s, S_RUN_DROP, 1, id);
		if (exec1(s, S_RUN_DROP) != 0) {
			free(ids);
			return change_done(s, fail(s, why, n, "trimming runs"));
		}
		if (s->observed)
			ids_add(&ids, &nids, id);
		k.runs--;
		k.bytes -= ob;
		gone++;
	}
	/* With nothing gone and the counts kept by the caller, the log's cut
	 * has not moved: done. */
	if (gone == 0 && kept != NULL) {
		*kept = k;
		return change_done(s, 0);
	}
	r = retain_log(s, job_id, keep_bytes, &k, ids, nids, why, n);
	free(ids);
	if (r == 0 && kept != NULL)
		*kept = k;
	return change_done(s, r);
}

/* The log's part of retention (store_runs_retain): 0, or -errno with why. */
static int retain_log(Store *s, int64_t job_id, int64_t keep_bytes, StoreKept *k,
                      const int64_t *ids, size_t nids, char *why, size_t n)
{
	/* The log keeps what came since the oldest run kept began, within 2 *
	 * keep_bytes; finished runs that began before the cut go too, so that
	 * every run kept has all its output. A run in progress keeps its place
	 * (unless the budget cuts into it: then it loses its beginning). */
	int64_t budget = keep_bytes > INT64_MAX / 2 ? INT64_MAX : 2 * keep_bytes, cut;
	int over;
	if (log_cut(s, job_id, budget, &cut, &over) != 0)
		return fail(s, why, n, "trimming the log");
	if (over) {
		/* Rare (a log of the job's own lines, or runs beside a long one):
		 * a scan of the job's runs, after which the counts are unknown. */
		bind_i64(s, S_RUNS_BEFORE, 1, job_id);
		bind_i64(s, S_RUNS_BEFORE, 2, cut);
		if (exec1(s, S_RUNS_BEFORE) != 0)
			return fail(s, why, n, "trimming runs before the log's cut");
		if (sqlite3_changes(s->db) > 0) {
			k->runs = -1;
			if (log_cut(s, job_id, budget, &cut, &over) != 0)
				return fail(s, why, n, "trimming the log");
		}
	}
	bind_i64(s, S_CHUNKS_CUT, 1, job_id);
	bind_i64(s, S_CHUNKS_CUT, 2, cut);
	if (exec1(s, S_CHUNKS_CUT) != 0)
		return fail(s, why, n, "trimming the log");
	if (s->observed)
		return observe_failed(s->ob.retained(s->ob.arg, job_id, ids, nids, cut, over),
		                      "trimming runs", why, n);
	return 0;
}

int store_run_start(Store *s, int64_t run_id, int64_t start_ns, int pid, const char *proc,
                    char *why, size_t n)
{
	if (proc != NULL && strlen(proc) >= STORE_PROC_MAX) {
		say(why, n, "recording run start: process token longer than %d bytes",
		    STORE_PROC_MAX - 1);
		return -EINVAL;
	}
	bind_i64(s, S_RUN_START, 1, run_id);
	bind_i64(s, S_RUN_START, 2, RUN_RUNNING);
	bind_i64(s, S_RUN_START, 3, start_ns);
	bind_i64(s, S_RUN_START, 4, pid);
	bind_text(s, S_RUN_START, 5, proc != NULL ? proc : "");
	int r = change1(s, S_RUN_START, "run", run_id, "recording run start", why, n);
	return r == 0 ? observe_run(s, run_id, "recording run start", why, n) : r;
}

int store_run_settle(Store *s, const StoreRun *r, int64_t t_ns, char *why, size_t n)
{
	bind_i64(s, S_RUN_SETTLE, 1, r->id);
	bind_i64(s, S_RUN_SETTLE, 2, t_ns > 0 ? t_ns : 1);
	int rc = change1(s, S_RUN_SETTLE, "unsettled interrupted run", r->id, "settling run",
	                 why, n);
	return rc == 0 ? observe_run(s, r->id, "settling run", why, n) : rc;
}

int store_run_get(Store *s, int64_t job_id, int64_t seq, StoreRun *out, char *why, size_t n)
{
	bind_i64(s, S_RUN_GET, 1, job_id);
	bind_i64(s, S_RUN_GET, 2, seq);
	int rc = step(s, S_RUN_GET);
	if (rc == SQLITE_ROW) {
		run_row(s->st[S_RUN_GET], out);
		rc = step(s, S_RUN_GET);      /* LIMIT 1: done, and the statement reset */
		return rc == SQLITE_DONE ? 0 : fail(s, why, n, "reading a run");
	}
	if (rc != SQLITE_DONE)
		return fail(s, why, n, "reading a run");
	say(why, n, "no run %lld", (long long)seq);
	return -ENOENT;
}

int store_runs_read(Store *s, int64_t job_id, int (*fn)(void *arg, const StoreRun *r),
                    void *arg, char *why, size_t n)
{
	StoreRun *rows = emalloc(RUNS_PAGE * sizeof *rows);
	int64_t after = 0;
	int r = 0;
	for (;;) {
		bind_i64(s, S_RUNS_PAGE, 1, job_id);
		bind_i64(s, S_RUNS_PAGE, 2, after);
		bind_i64(s, S_RUNS_PAGE, 3, RUNS_PAGE);
		int nrow = 0, rc;
		while ((rc = step(s, S_RUNS_PAGE)) == SQLITE_ROW)
			run_row(s->st[S_RUNS_PAGE], &rows[nrow++]);
		if (rc != SQLITE_DONE)
			r = fail(s, why, n, "reading runs");
		for (int i = 0; i < nrow && r == 0; i++)
			r = fn(arg, &rows[i]);
		if (r != 0 || nrow < RUNS_PAGE)
			break;
		after = rows[nrow - 1].id;
	}
	free(rows);
	return r;
}

/* ---- text ---- */

static int text_end(Store *s, int64_t job_id, int64_t run_id, int64_t *end, char *why, size_t n);

/* The chunk's row: 0, or the SQLite error (recorded). */
static int insert_chunk(Store *s, int64_t job_id, int64_t run_id, int64_t off, int64_t roff,
                        const char *text, size_t len)
{
	bind_i64(s, S_CHUNK_INSERT, 1, job_id);
	bind_i64(s, S_CHUNK_INSERT, 2, run_id);
	bind_i64(s, S_CHUNK_INSERT, 3, off);
	bind_i64(s, S_CHUNK_INSERT, 4, roff);
	bind_i64(s, S_CHUNK_INSERT, 5, (int64_t)len);
	sqlite3_bind_blob(s->st[S_CHUNK_INSERT], 6, text, (int)len, SQLITE_STATIC);
	return exec1(s, S_CHUNK_INSERT);
}

/* A cluster node's text goes to the database, which gives the log's
 * positions; the chunk comes back into the cache from there (cache.h). A
 * run's output has one writer, this node, which gives its positions: the
 * end of what the cache holds of it, or of what was sent since, whichever
 * is further (Store.sent; an entry goes once the cache has caught up). */
static int observe_text(Store *s, int64_t job_id, int64_t run_id, int64_t roff, const char *text,
                        size_t len, char *why, size_t n)
{
	Sent *e = NULL;
	if (run_id != 0) {
		for (size_t i = 0; i < s->nsent && !e; i++)
			if (s->sent[i].run_id == run_id)
				e = &s->sent[i];
		if (e && e->end > roff)
			roff = e->end;
		if (!e) {
			if (s->nsent == s->capsent) {
				size_t cap = s->capsent ? 2 * s->capsent : 16;
				Sent *v = emalloc(cap * sizeof *v);
				if (s->nsent)
					memcpy(v, s->sent, s->nsent * sizeof *v);
				free(s->sent);
				s->sent = v;
				s->capsent = cap;
			}
			e = &s->sent[s->nsent++];
			e->run_id = run_id;
		}
		e->end = roff + (int64_t)len;
		e->job_id = job_id;
	}
	return observe_failed(s->ob.text(s->ob.arg, job_id, run_id, roff, text, len), "storing text",
	                      why, n);
}

int store_text_append(Store *s, int64_t job_id, int64_t run_id, const char *text, size_t len,
                      char *why, size_t n)
{
	if (len > STORE_CHUNK_MAX) {
		say(why, n, "storing text: %zu bytes in one piece, more than %d", len, STORE_CHUNK_MAX);
		return -E2BIG;
	}
	if (len == 0)
		return 0;
	/* The chunk where the log (the job's counts) and the run's output end,
	 * then the run's end moved: no savepoint (if that fails, the chunk is
	 * taken out again); the log's end moves in the counts. */
	Counts *c;
	int64_t roff = 0;
	int r = observe_ready(s, why, n);
	if (r == 0)
		r = begin_counts(s, job_id, &c, "storing text", why, n);
	if (r < 0)
		return r;
	if (run_id != 0 && (r = text_end(s, job_id, run_id, &roff, why, n)) < 0) {
		if (r == -ENOENT)
			say(why, n, "storing text: job %" PRId64 " has no run with id %" PRId64, job_id,
			    run_id);
		check_lost(s);
		return r;
	}
	if (s->observed)
		return observe_text(s, job_id, run_id, roff, text, len, why, n);
	int64_t off = c->log_end;
	if (insert_chunk(s, job_id, run_id, off, roff, text, len) != 0) {
		r = fail(s, why, n, "storing text");
		check_lost(s);
		return r;
	}
	if (run_id != 0) {
		int64_t chunk = sqlite3_last_insert_rowid(s->db);
		bind_i64(s, S_OUT_SET, 1, run_id);
		bind_i64(s, S_OUT_SET, 2, roff + (int64_t)len);
		if (exec1(s, S_OUT_SET) != 0) {
			r = fail(s, why, n, "storing text");
			bind_i64(s, S_CHUNK_DROP, 1, chunk);
			undo_step(s, S_CHUNK_DROP);
			return r;
		}
	}
	c->log_end = off + (int64_t)len;
	counts_touch(s, c);
	s->batch_text += (int64_t)len;
	return 0;
}

/* Where the job's log (run 0) or the run's output ends: 0, -ENOENT if there
 * is no such job, or no such run of that job, or -errno. */
static int text_end(Store *s, int64_t job_id, int64_t run_id, int64_t *end, char *why, size_t n)
{
	Counts *c = run_id ? NULL : counts_find(s, job_id);
	if (c) {
		*end = c->log_end;      /* moved in this batch, perhaps */
		return 0;
	}
	int k = run_id ? S_OUT_END : S_LOG_END;
	bind_i64(s, k, 1, run_id ? run_id : job_id);
	if (run_id != 0)
		bind_i64(s, k, 2, job_id);      /* another job's run is none of this one's */
	int rc = read2(s, k, end, NULL);
	if (rc == SQLITE_DONE) {
		if (run_id != 0)
			say(why, n, "job %" PRId64 " has no run with id %" PRId64, job_id, run_id);
		else
			say(why, n, "no job with id %" PRId64, job_id);
		return -ENOENT;
	}
	return rc == SQLITE_ROW ? 0 : fail(s, why, n, "reading text");
}

int store_text_extent(Store *s, int64_t job_id, int64_t run_id, int64_t *first, int64_t *end,
                      char *why, size_t n)
{
	int kf = run_id ? S_OUT_FIRST : S_LOG_FIRST;
	*first = *end = 0;
	int r = text_end(s, job_id, run_id, end, why, n);
	if (r < 0)
		return r;
	bind_i64(s, kf, 1, run_id ? run_id : job_id);
	int rc = read2(s, kf, first, NULL);
	if (rc == SQLITE_DONE)
		*first = *end;          /* nothing kept */
	else if (rc != SQLITE_ROW)
		return fail(s, why, n, "reading text");
	return 0;
}

int store_text_read(Store *s, int64_t job_id, int64_t run_id, int64_t pos, char *buf,
                    size_t cap, size_t *got, char *why, size_t n)
{
	int k = run_id ? S_OUT_TEXT : S_LOG_TEXT;
	sqlite3_stmt *st = s->st[k];
	sqlite3_blob *blob = NULL;
	*got = 0;
	bind_i64(s, k, 1, run_id ? run_id : job_id);
	bind_i64(s, k, 2, pos);
	bind_i64(s, k, 3, TEXT_INLINE);
	if (run_id != 0)
		bind_i64(s, k, 4, job_id);
	int rc = SQLITE_DONE, r = 0;
	int64_t at = pos;
	while (*got < cap && (rc = step(s, k)) == SQLITE_ROW) {
		int64_t off = sqlite3_column_int64(st, 0);
		int64_t len = sqlite3_column_int64(st, 1);
		if (off > at) {
			if (at == pos)
				r = -ESTALE;
			break;          /* a gap: none after the first chunk, by construction */
		}
		size_t skip = (size_t)(at - off);
		size_t take = (size_t)len > skip ? (size_t)len - skip : 0;
		if (take > cap - *got)
			take = cap - *got;
		const char *b = sqlite3_column_blob(st, 2);
		if (b != NULL) {
			memcpy(buf + *got, b + skip, take);
		} else if (take > 0) {
			/* A long chunk: only the part asked for is read. */
			int64_t id = sqlite3_column_int64(st, 3);
			int brc = blob ? sqlite3_blob_reopen(blob, id) :
			          sqlite3_blob_open(s->db, "main", "chunks", "text", id, 0, &blob);
			if (brc == SQLITE_OK)
				brc = sqlite3_blob_read(blob, buf + *got, (int)take, (int)skip);
			if (brc != SQLITE_OK) {
				record(s, brc);
				r = fail(s, why, n, "reading text");
				break;
			}
		}
		*got += take;
		at += (int64_t)take;
	}
	if (blob != NULL)
		sqlite3_blob_close(blob);
	if (rc == SQLITE_ROW)
		idle(s, k);             /* stopped early: cap reached, a gap, or a failure */
	else if (rc != SQLITE_DONE)
		r = fail(s, why, n, "reading text");
	if (r == 0 && *got == 0 && cap > 0) {
		/* Nothing at pos: the end, or past it; no such job or run; or
		 * nothing kept any more before the end (retention removed it all). */
		int64_t end = 0;
		r = text_end(s, job_id, run_id, &end, why, n);
		if (r == 0 && pos < end)
			r = -ESTALE;
	}
	if (r == -ESTALE)
		say(why, n, "position %" PRId64 " is no longer kept (older text was removed since "
		    "this file was opened); open it again", pos);
	return r;
}

/* ---- from one row per line (schema < 7) ---- */

/* Converting: the lines of one (job, run) in a row become one chunk. */
typedef struct Convert {
	int64_t job_id, run_id;
	char *buf;
	size_t len;
} Convert;

static int convert_flush(Store *s, Convert *c, char *why, size_t n)
{
	int r = store_text_append(s, c->job_id, c->run_id, c->buf, c->len, why, n);
	if (r == -ENOENT && c->run_id != 0)
		r = store_text_append(s, c->job_id, 0, c->buf, c->len, why, n);   /* its run is gone */
	c->len = 0;
	return r;
}

int64_t store_convert_lines(Store *s, size_t (*render)(void *arg, int64_t t_ns, const char *text,
                            size_t len, char *out, size_t cap), void *arg, char *why, size_t n)
{
	int64_t any = 0, count = 0;
	if (queryint(s, "SELECT count(*) FROM (SELECT 1 FROM log LIMIT 1)", &any) != SQLITE_OK)
		return fail(s, why, n, "converting log lines");
	if (!any)
		return 0;
	/* The batch's counts are written first: if this change is undone, those
	 * its appends moved are forgotten (counts_clear), and no other. */
	if (counts_write(s) != 0)
		return fail(s, why, n, "converting log lines");
	/* All of it or none: one change (the appends below nest inside it). */
	int r = change_begin(s, why, n, "converting log lines");
	if (r < 0)
		return r;
	if (execsql(s, "UPDATE runs SET out_bytes = 0") != SQLITE_OK)
		return change_done(s, fail(s, why, n, "converting log lines"));
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT job_id, run_id, t_ns, text FROM log ORDER BY job_id, id",
	                       -1, &st, NULL) != SQLITE_OK) {
		record(s, sqlite3_errcode(s->db));
		return change_done(s, fail(s, why, n, "converting log lines"));
	}
	/* A rendered line is its text and at most 80 bytes of time. */
	enum { CHUNK = 64 * 1024, LINE = 8192 };
	Convert c = { 0, 0, emalloc(CHUNK + LINE), 0 };
	char *line = emalloc(LINE);
	int rc = SQLITE_DONE;
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t job = sqlite3_column_int64(st, 0), run = sqlite3_column_int64(st, 1);
		const char *t = sqlite3_column_blob(st, 3);
		size_t tlen = (size_t)sqlite3_column_bytes(st, 3);
		if (tlen > LINE - 128)
			tlen = LINE - 128;
		size_t k = render(arg, sqlite3_column_int64(st, 2), t ? t : "", tlen, line, LINE);
		if (c.len && (job != c.job_id || run != c.run_id || c.len + k > CHUNK))
			r = convert_flush(s, &c, why, n);
		c.job_id = job;
		c.run_id = run;
		memcpy(c.buf + c.len, line, k);
		c.len += k;
		count++;
	}
	if (r == 0 && rc != SQLITE_DONE) {
		record(s, rc);
		r = fail(s, why, n, "converting log lines");
	}
	sqlite3_finalize(st);
	if (r == 0 && c.len)
		r = convert_flush(s, &c, why, n);
	free(c.buf);
	free(line);
	if (r == 0 && counts_write(s) != 0)     /* the query below reads the ends */
		r = fail(s, why, n, "converting log lines");
	if (r == 0 && execsql(s, "UPDATE runs SET log_off = coalesce((SELECT min(off) FROM chunks"
	                      " WHERE chunks.run_id = runs.id), (SELECT log_end FROM jobs"
	                      " WHERE jobs.id = runs.job_id)); DELETE FROM log") != SQLITE_OK)
		r = fail(s, why, n, "converting log lines");
	change_done(s, r < 0 ? r : 0);
	if (r < 0)
		counts_clear(s);
	return r < 0 ? r : count;
}

/* ---- a cluster node's cache (cache.h) ----
 *
 * Rows as the database has them, each a change of the batch like any
 * other. A job's counts (see "counts") follow: run_seq and last_sched from
 * the database's row, log_end from the chunks the cache holds. */

int store_cache_job(Store *s, const StoreJob *j, int64_t run_seq, char *why, size_t n)
{
	int r = change_begin(s, why, n, "caching job");
	if (r < 0)
		return r;
	bind_text(s, S_CACHE_NAME, 1, j->name);
	bind_i64(s, S_CACHE_NAME, 2, j->id);
	int k = S_CACHE_JOB;
	if (exec1(s, S_CACHE_NAME) == 0) {
		bind_i64(s, k, 1, j->id);
		bind_text(s, k, 2, j->name);
		bind_text(s, k, 3, j->schedule);
		bind_text(s, k, 4, j->cmd);
		bind_i64(s, k, 5, j->started != 0);
		bind_i64(s, k, 6, j->created_ns);
		bind_i64(s, k, 7, j->last_sched);
		bind_i64(s, k, 8, j->timeout_ms);
		bind_i64(s, k, 9, j->overlap);
		bind_i64(s, k, 10, j->misfire);
		bind_text(s, k, 11, j->dir);
		bind_text(s, k, 12, j->env);
		bind_i64(s, k, 13, j->runs_total);
		bind_i64(s, k, 14, j->failures_total);
		bind_i64(s, k, 15, j->last_start_ns);
		bind_i64(s, k, 16, j->last_end_ns);
		bind_i64(s, k, 17, j->last_status);
		bind_i64(s, k, 18, j->owner_uid);
		bind_text(s, k, 19, j->limits);
		bind_i64(s, k, 20, j->orphan);
		bind_i64(s, k, 21, run_seq);
		if (exec1(s, k) == 0) {
			Counts *c = counts_find(s, j->id);
			if (c) {
				c->run_seq = run_seq;
				c->last_sched = j->last_sched;
			}
			return change_done(s, 0);
		}
	}
	r = fail(s, why, n, "caching job");
	return change_done(s, r);
}

int store_cache_drop_job(Store *s, int64_t id, char *why, size_t n)
{
	int r = store_job_delete(s, id, why, n);
	return r == -ENOENT ? 0 : r;
}

static int cmp_run_id(const void *a, const void *b)
{
	int64_t x = ((const StoreRun *)a)->id, y = ((const StoreRun *)b)->id;
	return (x > y) - (x < y);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Run id among the runs (sorted by id), or NULL. */
static const StoreRun *find_run(const StoreRun *runs, size_t nrun, int64_t id)
{
	size_t lo = 0, hi = nrun;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (runs[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nrun && runs[lo].id == id ? &runs[lo] : NULL;
}

int store_cache_runs(Store *s, int64_t job_id, const StoreRun *runs, size_t nrun, int held,
                     char *why, size_t n)
{
	int r = change_begin(s, why, n, "caching runs");
	if (r < 0)
		return r;
	StoreRun *sorted = emalloc((nrun + 1) * sizeof *sorted);
	if (nrun)
		memcpy(sorted, runs, nrun * sizeof *sorted);
	qsort(sorted, nrun, sizeof *sorted, cmp_run_id);
	/* The cache's runs of the job the database no longer has: gone. */
	int64_t *gone = NULL;
	size_t ngone = 0;
	int rc;
	bind_i64(s, S_CACHE_RUN_IDS, 1, job_id);
	int64_t *have = NULL;       /* with held: the runs the cache has */
	size_t nhave = 0;
	while ((rc = step(s, S_CACHE_RUN_IDS)) == SQLITE_ROW) {
		sqlite3_stmt *st = s->st[S_CACHE_RUN_IDS];
		int64_t id = sqlite3_column_int64(st, 0);
		/* This node's own runs not ended: the database may not have them yet
		 * in the answer's snapshot (claimed a moment after it was taken). */
		const unsigned char *node = sqlite3_column_text(st, 2);
		int own = sqlite3_column_int(st, 1) <= RUN_RUNNING && s->observed && s->ob.node &&
		          node && strcmp((const char *)node, s->ob.node) == 0;
		if (held)
			ids_add(&have, &nhave, id);         /* in id order */
		else if (!own && !find_run(sorted, nrun, id))
			ids_add(&gone, &ngone, id);
	}
	int ok = rc == SQLITE_DONE;
	idle(s, S_CACHE_RUN_IDS);
	for (size_t i = 0; ok && i < ngone; i++) {
		bind_i64(s, S_RUN_DROP, 1, gone[i]);
		ok = exec1(s, S_RUN_DROP) == 0;
	}
	for (size_t i = 0; ok && i < nrun; i++) {
		const StoreRun *w = &sorted[i];
		if (held && (nhave == 0 || !bsearch(&w->id, have, nhave, sizeof *have, cmp_i64)))
			continue;
		bind_i64(s, S_CACHE_RUN_FIRE, 1, job_id);
		bind_i64(s, S_CACHE_RUN_FIRE, 2, w->sched);
		bind_i64(s, S_CACHE_RUN_FIRE, 3, w->id);
		if (exec1(s, S_CACHE_RUN_FIRE) != 0) {
			ok = 0;
			break;
		}
		int k = S_CACHE_RUN;
		bind_i64(s, k, 1, w->id);
		bind_i64(s, k, 2, job_id);
		bind_i64(s, k, 3, w->sched);
		bind_i64(s, k, 4, w->state);
		bind_i64(s, k, 5, w->start_ns);
		bind_i64(s, k, 6, w->end_ns);
		bind_i64(s, k, 7, w->pid);
		bind_i64(s, k, 8, w->status);
		bind_text(s, k, 9, w->proc);
		bind_i64(s, k, 10, w->seq);
		bind_i64(s, k, 11, w->manual);
		bind_i64(s, k, 12, w->flags);
		bind_i64(s, k, 13, w->out_bytes);
		bind_text(s, k, 14, w->node);
		bind_i64(s, k, 15, w->log_off);
		ok = exec1(s, k) == 0;
	}
	/* Output sent from here that the cache now holds, or whose run went:
	 * no longer to be counted (observe_text). */
	for (size_t i = 0; i < s->nsent;) {
		Sent *e = &s->sent[i];
		const StoreRun *have = find_run(sorted, nrun, e->run_id);
		if (e->job_id == job_id && (!have || have->out_bytes >= e->end))
			*e = s->sent[--s->nsent];
		else
			i++;
	}
	free(sorted);
	free(gone);
	free(have);
	if (!ok)
		r = fail(s, why, n, "caching runs");
	return change_done(s, r);
}

int store_cache_chunk(Store *s, int64_t job_id, int64_t run_id, int64_t off, int64_t roff,
                      const char *text, size_t len, char *why, size_t n)
{
	if (len > STORE_CHUNK_MAX) {
		say(why, n, "caching text: %zu bytes in one piece, more than %d", len, STORE_CHUNK_MAX);
		return -E2BIG;
	}
	Counts *c;
	int r = begin_counts(s, job_id, &c, "caching text", why, n);
	if (r < 0)
		return r;
	if (off != c->log_end) {
		say(why, n, "caching text: job %" PRId64 "'s log ends at %" PRId64 ", not %" PRId64,
		    job_id, c->log_end, off);
		return -EINVAL;
	}
	if (insert_chunk(s, job_id, run_id, off, roff, text, len) != 0) {
		r = fail(s, why, n, "caching text");
		check_lost(s);
		return r;
	}
	c->log_end = off + (int64_t)len;
	counts_touch(s, c);
	s->batch_text += (int64_t)len;
	return 0;
}

int store_cache_log_first(Store *s, int64_t job_id, int64_t first, char *why, size_t n)
{
	int r = change_begin1(s, why, n, "caching text");
	if (r < 0)
		return r;
	Counts *c;
	int rc = counts_get(s, job_id, &c);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_ROW) {
		bind_i64(s, S_CHUNKS_CUT, 1, job_id);
		bind_i64(s, S_CHUNKS_CUT, 2, first);
		if (exec1(s, S_CHUNKS_CUT) == 0) {
			if (c->log_end < first) {
				/* All it held is gone, and more: the log goes on from first. */
				c->log_end = first;
				counts_touch(s, c);
			}
			return 0;
		}
	}
	r = fail(s, why, n, "caching text");
	check_lost(s);
	return r;
}

int store_fire_known(Store *s, int64_t job_id, int64_t sched)
{
	/* runs_fire, the unique index on (job_id, sched), answers it. */
	bind_i64(s, S_FIRE_KNOWN, 1, job_id);
	bind_i64(s, S_FIRE_KNOWN, 2, sched);
	int rc = step(s, S_FIRE_KNOWN);
	idle(s, S_FIRE_KNOWN);
	return rc == SQLITE_ROW;
}
