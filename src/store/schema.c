/* The schema of the jobs store and its migrations, for SQLite and PostgreSQL,
 * in one list (schema.h). Each version is the list of statements that take a
 * database from the version before to it; each statement is written once
 * where the dialects agree (BOTH) and per dialect where they differ (SQLITE,
 * PG): column types (INTEGER / bigint, BLOB / bytea), ids (rowids /
 * made by the node), PRAGMAs, and whatever a later step's SQL needs.
 *
 * Why statements per version, and not a description of the tables rendered
 * for each dialect:
 *  - A shipped step is history. Every database a jobd ever made ran exactly
 *    that text, and SQLite keeps the text of every CREATE in sqlite_master
 *    (ALTER TABLE ... ADD COLUMN edits it in place), so a fresh database
 *    equals an upgraded one only if the old text never changes. Written out
 *    here, it cannot change by accident: a renderer would re-render every
 *    old step whenever it is improved. t_schema pins each shipped SQLite
 *    step by a hash, and compares upgraded databases with fresh ones.
 *  - Steps are not only tables: version 3 computes run numbers and counts
 *    with UPDATEs, later ones will move data too. A table model would need
 *    raw SQL beside it anyway.
 *  - The differences are few and local; a statement per dialect where they
 *    differ is plainer than a type system in C. That the two dialects
 *    describe the same tables is checked, not assumed: t_schema compares the
 *    PostgreSQL tables and indexes with those of a fresh SQLite database,
 *    column by column (names in order, nullability, defaults, references,
 *    types mapped).
 *
 * PostgreSQL's history begins at version 7 (its base, Version.base): no
 * PostgreSQL database existed before, so its step to 7 makes the whole schema
 * from nothing, and its steps before 7 are empty. Later versions are steps
 * for both, like SQLite's. The base is not shipped yet: until a release has
 * made PostgreSQL databases it may still be edited; from then on, as every
 * SQLite step, never.
 *
 * The rules: append a version, never edit a shipped one (SQLite's steps 1-7
 * are shipped); every version has SQLite statements (a version SQLite does
 * not need would still change users' files: their user_version, which an
 * older jobd then refuses). A PostgreSQL statement is one statement; a
 * SQLite text may hold several (as shipped). */
#include "store/schema.h"

#include <stddef.h>
#include <string.h>

#include "util/util.h"

typedef struct Stmt {
	const char *sql[SCHEMA_DIALECTS];     /* NULL: nothing for that dialect */
} Stmt;
#define BOTH(q) { { [SCHEMA_SQLITE] = (q), [SCHEMA_PG] = (q) } }
#define SQLITE(q) { { [SCHEMA_SQLITE] = (q) } }
#define PG(q) { { [SCHEMA_PG] = (q) } }
#define END { { NULL } }                 /* after a step's last statement */

typedef struct Version {
	/* base[d]: the dialect's databases begin here; its step makes them
	 * from nothing (schema_empty). Before it the dialect has no step. */
	int base[SCHEMA_DIALECTS];
	const Stmt *stmts;      /* up to one with no text for any dialect */
} Version;

/* versions[v - 1] is the step to version v. A later step, for both, reads
 * like this (an ALTER TABLE both dialects take as written, then what each
 * writes its own way):
 *
 *	{ .stmts = (const Stmt[]){
 *		BOTH("ALTER TABLE runs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0"),
 *		SQLITE("ALTER TABLE jobs ADD COLUMN note BLOB"),
 *		PG("ALTER TABLE jobs ADD COLUMN note bytea"),
 *		END } },
 */
static const Version versions[] = {
	/* 1: the initial schema. */
	{ .base = { [SCHEMA_SQLITE] = 1 }, .stmts = (const Stmt[]){ SQLITE(
		"CREATE TABLE jobs("
		"\n  id INTEGER PRIMARY KEY AUTOINCREMENT,"   /* AUTOINCREMENT: never reused */
		"\n  name TEXT NOT NULL UNIQUE,"
		"\n  schedule TEXT NOT NULL,"
		"\n  cmd TEXT NOT NULL,"
		"\n  started INTEGER NOT NULL DEFAULT 0,"
		"\n  created_ns INTEGER NOT NULL DEFAULT 0,"
		"\n  last_sched INTEGER NOT NULL DEFAULT 0);"
		"CREATE TABLE runs("
		"\n  id INTEGER PRIMARY KEY AUTOINCREMENT,"
		"\n  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
		"\n  sched INTEGER NOT NULL DEFAULT 0,"
		"\n  state INTEGER NOT NULL,"
		"\n  start_ns INTEGER NOT NULL DEFAULT 0,"
		"\n  end_ns INTEGER NOT NULL DEFAULT 0,"
		"\n  pid INTEGER NOT NULL DEFAULT 0,"
		"\n  status INTEGER NOT NULL DEFAULT 0,"
		"\n  manual INTEGER NOT NULL DEFAULT 0);"
		/* The exactly-once key of a scheduled fire; manual runs (sched 0) repeat. */
		"CREATE UNIQUE INDEX runs_fire ON runs(job_id, sched) WHERE sched != 0;"
		"CREATE INDEX runs_job ON runs(job_id, id);"
		"CREATE TABLE log("
		"\n  id INTEGER PRIMARY KEY,"
		"\n  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
		"\n  run_id INTEGER NOT NULL DEFAULT 0,"
		"\n  t_ns INTEGER NOT NULL,"
		"\n  text BLOB NOT NULL);"
		"CREATE INDEX log_job ON log(job_id, id);"
		"PRAGMA application_id = 1785684580;"   /* JOBD_APPID of store_sqlite.c */
	), END } },
	/* 2: runs.proc, who the run's process was (the runner's token: boot and
	 * start time), so that the next jobd can end the process group a dead
	 * one left behind without mistaking a process that reused the pid. */
	{ .stmts = (const Stmt[]){ SQLITE(
		"ALTER TABLE runs ADD COLUMN proc TEXT NOT NULL DEFAULT ''"
	), END } },
	/* 3: run controls. Each job's settings and its history since creation
	 * (the runs table is trimmed, the counts are not); each run's sequence
	 * number within its job, flags (timed out, killed, truncated) and stored
	 * output size; an index to read one run's output. */
	{ .stmts = (const Stmt[]){ SQLITE(
		"ALTER TABLE jobs ADD COLUMN timeout_ms INTEGER NOT NULL DEFAULT 0;"
		"ALTER TABLE jobs ADD COLUMN overlap INTEGER NOT NULL DEFAULT 0;"
		"ALTER TABLE jobs ADD COLUMN misfire INTEGER NOT NULL DEFAULT 0;"
		"ALTER TABLE jobs ADD COLUMN dir TEXT NOT NULL DEFAULT '';"
		"ALTER TABLE jobs ADD COLUMN env TEXT NOT NULL DEFAULT '';"
		"ALTER TABLE jobs ADD COLUMN run_seq INTEGER NOT NULL DEFAULT 0;"
		"ALTER TABLE jobs ADD COLUMN runs_total INTEGER NOT NULL DEFAULT 0;"
		"ALTER TABLE jobs ADD COLUMN failures_total INTEGER NOT NULL DEFAULT 0;"
		"ALTER TABLE jobs ADD COLUMN last_start_ns INTEGER NOT NULL DEFAULT 0;"
		"ALTER TABLE jobs ADD COLUMN last_end_ns INTEGER NOT NULL DEFAULT 0;"
		"ALTER TABLE jobs ADD COLUMN last_status INTEGER NOT NULL DEFAULT 0;"
		"ALTER TABLE runs ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;"
		"ALTER TABLE runs ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;"
		"ALTER TABLE runs ADD COLUMN out_bytes INTEGER NOT NULL DEFAULT 0;"
		"UPDATE runs SET seq = (SELECT count(*) FROM runs r2"
		" WHERE r2.job_id = runs.job_id AND r2.id <= runs.id);"
		"UPDATE jobs SET"
		" run_seq = (SELECT coalesce(max(seq), 0) FROM runs WHERE runs.job_id = jobs.id),"
		" runs_total = (SELECT count(*) FROM runs WHERE runs.job_id = jobs.id AND state = 2),"
		" failures_total = (SELECT count(*) FROM runs"
		" WHERE runs.job_id = jobs.id AND state = 2 AND status != 0),"
		" last_start_ns = (SELECT coalesce(max(start_ns), 0) FROM runs WHERE runs.job_id = jobs.id),"
		" last_end_ns = (SELECT coalesce(max(end_ns), 0) FROM runs WHERE runs.job_id = jobs.id),"
		" last_status = coalesce((SELECT status FROM runs WHERE runs.job_id = jobs.id AND state = 2"
		" ORDER BY id DESC LIMIT 1), 0);"
		"CREATE INDEX log_run ON log(run_id) WHERE run_id != 0;"
	), END } },
	/* 4: each job's owner, the uid of whoever created it. Jobs made before
	 * ownership existed get -1: they belong to the user jobd runs as. */
	{ .stmts = (const Stmt[]){ SQLITE(
		"ALTER TABLE jobs ADD COLUMN owner_uid INTEGER NOT NULL DEFAULT -1"
	), END } },
	/* 5: each job's resource limits (the limits setting: "nproc=64 as=512M"),
	 * as text; '' = none. */
	{ .stmts = (const Stmt[]){ SQLITE(
		"ALTER TABLE jobs ADD COLUMN limits TEXT NOT NULL DEFAULT ''"
	), END } },
	/* 6: one run by its number, for every walk to runs/N and every entry of
	 * a runs/ listing: an index, not a read of all the job's runs. */
	{ .stmts = (const Stmt[]){ SQLITE(
		"CREATE INDEX IF NOT EXISTS runs_seq ON runs(job_id, seq)"
	), END } },
	/* 7: text in chunks of rendered lines, read by position (store.h, "text").
	 * jobs.log_end is where the job's log ends (positions only grow);
	 * runs.log_off where the run began in it (retention cuts the log there);
	 * runs.out_bytes becomes the end of the run's output. The old one row per
	 * line table stays until store_convert_lines has emptied it.
	 *
	 * For PostgreSQL, 7 is its base: the whole schema, from nothing. The
	 * tables of SQLite's 7 with their columns in the same order, typed for
	 * PostgreSQL: bigint where SQLite's INTEGER holds int64 values (ids,
	 * times in ns, positions, counts), integer where it holds an int of
	 * store.h (states, settings, flags, statuses, pids); bytea where
	 * SQLite's TEXT holds bytes jobd takes as they come (a command, its
	 * directory and environment need not be UTF-8, which a text column of
	 * a UTF-8 database refuses) and for BLOB; text where jobd checks the
	 * bytes (names, schedules, limits, process tokens). Left out: the table
	 * log and its indexes (lines of databases before 7, which PostgreSQL
	 * never had), and runs_fire (below).
	 *
	 * Added for cluster mode, as doc/cluster.md lays it out: runs.node, the
	 * tables fires, nodes and changes. The run state lost is a number more
	 * in store.h's RUN_* (RUN_LOST; runs.state is a number, as in SQLite:
	 * nothing to add here). In SQLite the partial unique index runs_fire is
	 * the exactly-once key of a scheduled fire; here fires' primary key is,
	 * and runs may hold an instant twice (orphan=rerun runs a lost one
	 * again). The indexes the change reader wants come with its queries:
	 * into this base while it is not shipped, or into a version that
	 * SQLite's files take anyway (the reaper's came with 8). */
	{ .base = { [SCHEMA_PG] = 1 }, .stmts = (const Stmt[]){
	/* SQLite's step to 7, from 6 (shipped). */
	SQLITE(
		"CREATE TABLE chunks("
		"\n  id INTEGER PRIMARY KEY,"
		"\n  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
		"\n  run_id INTEGER NOT NULL DEFAULT 0,"
		"\n  off INTEGER NOT NULL,"      /* its position in the job's log */
		"\n  roff INTEGER NOT NULL,"     /* and in its run's output (0 for the job's own) */
		"\n  len INTEGER NOT NULL,"
		"\n  text BLOB NOT NULL);"
		"CREATE INDEX chunks_log ON chunks(job_id, off);"
		"CREATE INDEX chunks_run ON chunks(run_id, roff) WHERE run_id != 0;"
		"ALTER TABLE jobs ADD COLUMN log_end INTEGER NOT NULL DEFAULT 0;"
		"ALTER TABLE runs ADD COLUMN log_off INTEGER NOT NULL DEFAULT 0"
	),
	/* PostgreSQL's version, and the mark that the database is jobd's
	 * (SQLite's user_version and application_id): one row, which each
	 * step's stamp updates. */
	PG("CREATE TABLE jobd_schema("
		"\n  one integer PRIMARY KEY DEFAULT 1 CHECK (one = 1),"
		"\n  version integer NOT NULL)"),
	PG("INSERT INTO jobd_schema(version) VALUES(0)"),
	/* Ids, here and in runs and chunks, are made by the node that makes
	 * the row (doc/cluster.md, "ids"), so the database gives none. */
	PG("CREATE TABLE jobs("
		"\n  id bigint PRIMARY KEY,"
		"\n  name text NOT NULL UNIQUE,"
		"\n  schedule text NOT NULL,"
		"\n  cmd bytea NOT NULL,"
		"\n  started integer NOT NULL DEFAULT 0,"
		"\n  created_ns bigint NOT NULL DEFAULT 0,"
		"\n  last_sched bigint NOT NULL DEFAULT 0,"
		"\n  timeout_ms bigint NOT NULL DEFAULT 0,"
		"\n  overlap integer NOT NULL DEFAULT 0,"
		"\n  misfire integer NOT NULL DEFAULT 0,"
		"\n  dir bytea NOT NULL DEFAULT '',"
		"\n  env bytea NOT NULL DEFAULT '',"
		"\n  run_seq bigint NOT NULL DEFAULT 0,"
		"\n  runs_total bigint NOT NULL DEFAULT 0,"
		"\n  failures_total bigint NOT NULL DEFAULT 0,"
		"\n  last_start_ns bigint NOT NULL DEFAULT 0,"
		"\n  last_end_ns bigint NOT NULL DEFAULT 0,"
		"\n  last_status integer NOT NULL DEFAULT 0,"
		"\n  owner_uid bigint NOT NULL DEFAULT -1,"
		"\n  limits text NOT NULL DEFAULT '',"
		"\n  log_end bigint NOT NULL DEFAULT 0)"),
	PG("CREATE TABLE runs("
		"\n  id bigint PRIMARY KEY,"
		"\n  job_id bigint NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
		"\n  sched bigint NOT NULL DEFAULT 0,"
		"\n  state integer NOT NULL,"
		"\n  start_ns bigint NOT NULL DEFAULT 0,"
		"\n  end_ns bigint NOT NULL DEFAULT 0,"
		"\n  pid integer NOT NULL DEFAULT 0,"
		"\n  status integer NOT NULL DEFAULT 0,"
		"\n  manual integer NOT NULL DEFAULT 0,"
		"\n  proc text NOT NULL DEFAULT '',"
		"\n  seq bigint NOT NULL DEFAULT 0,"
		"\n  flags integer NOT NULL DEFAULT 0,"
		"\n  out_bytes bigint NOT NULL DEFAULT 0,"
		"\n  log_off bigint NOT NULL DEFAULT 0,"
		"\n  node text NOT NULL DEFAULT '')"),     /* the node that ran it */
	PG("CREATE INDEX runs_job ON runs(job_id, id)"),
	PG("CREATE INDEX runs_seq ON runs(job_id, seq)"),
	PG("CREATE TABLE chunks("
		"\n  id bigint PRIMARY KEY,"
		"\n  job_id bigint NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
		"\n  run_id bigint NOT NULL DEFAULT 0,"
		"\n  off bigint NOT NULL,"
		"\n  roff bigint NOT NULL,"
		"\n  len integer NOT NULL,"      /* at most STORE_CHUNK_MAX */
		"\n  text bytea NOT NULL)"),
	PG("CREATE INDEX chunks_log ON chunks(job_id, off)"),
	PG("CREATE INDEX chunks_run ON chunks(run_id, roff) WHERE run_id != 0"),
	/* One row per scheduled instant claimed: the node (and its epoch) that
	 * claimed it, whether it has started it, and its run. A job's fires go
	 * with it. */
	PG("CREATE TABLE fires("
		"\n  job_id bigint NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
		"\n  sched bigint NOT NULL,"
		"\n  node text NOT NULL,"
		"\n  epoch bigint NOT NULL,"
		"\n  state text NOT NULL CHECK (state IN ('claimed', 'started')),"
		"\n  run_id bigint NOT NULL DEFAULT 0,"
		"\n  PRIMARY KEY (job_id, sched))"),
	/* Each node: its epoch (bumped at each start: what fences a node's
	 * older self), its lease (by the database's clock), and what it
	 * reports. */
	PG("CREATE TABLE nodes("
		"\n  name text PRIMARY KEY,"
		"\n  epoch bigint NOT NULL DEFAULT 0,"
		"\n  lease_until timestamptz NOT NULL DEFAULT '-infinity',"
		"\n  started_at timestamptz NOT NULL DEFAULT now(),"
		"\n  clock_offset_ms bigint NOT NULL DEFAULT 0,"
		"\n  runs_started bigint NOT NULL DEFAULT 0)"),
	/* What NOTIFY carries, kept for nodes that missed it. No reference to
	 * jobs: the change that deletes a job outlives it. */
	PG("CREATE TABLE changes("
		"\n  seq bigserial PRIMARY KEY,"
		"\n  job_id bigint NOT NULL,"
		"\n  kind text NOT NULL)"),
	/* Where nodes take their ids from: a block of 2^20 at a time
	 * (cluster/mirror.h), so that no change waits for a round trip. */
	PG("CREATE SEQUENCE jobd_id_blocks"),
	END } },
	/* 8: each job's orphan setting (ORPHAN_* of jobs/settings.h): what a
	 * cluster does with a run whose node died, recorded lost (0) or run
	 * again once (1). SQLite keeps and shows it; only a cluster acts on it.
	 *
	 * For PostgreSQL, what the reaper (src/cluster/reap.c) needs:
	 * fires.reruns, how often the instant was claimed again after its run
	 * was lost (orphan=rerun runs it once more, never twice: a count on the
	 * instant's one row, where a second run of the same (job, sched) is
	 * not a key to find it by); and two partial indexes, so that a reap
	 * reads what is open, not the history: the claims not yet started
	 * (moments long each) and the runs not ended (those going now). */
	{ .stmts = (const Stmt[]){
	SQLITE("ALTER TABLE jobs ADD COLUMN orphan INTEGER NOT NULL DEFAULT 0"),
	PG("ALTER TABLE jobs ADD COLUMN orphan integer NOT NULL DEFAULT 0"),
	PG("ALTER TABLE fires ADD COLUMN reruns integer NOT NULL DEFAULT 0"),
	PG("CREATE INDEX fires_claimed ON fires(node, epoch) WHERE state = 'claimed'"),
	/* 0, 1: RUN_CLAIMED, RUN_RUNNING. */
	PG("CREATE INDEX runs_open ON runs(job_id, sched) WHERE state IN (0, 1)"),
	END } },
	/* 9: the node that ran each run, in SQLite too: a cluster's node keeps
	 * its cache in SQLite, and a run's status says which node ran it ("" for
	 * jobd alone). PostgreSQL has had it from its base. */
	{ .stmts = (const Stmt[]){
	SQLITE("ALTER TABLE runs ADD COLUMN node TEXT NOT NULL DEFAULT ''"),
	END } },
};
_Static_assert(nelem(versions) == SCHEMA_VERSION, "SCHEMA_VERSION is the last version listed");

static const char *const names[SCHEMA_DIALECTS] = {
	[SCHEMA_SQLITE] = "sqlite", [SCHEMA_PG] = "pg",
};

/* How a dialect makes a step one transaction. SQLite's is the text jobd has
 * always run (BEGIN IMMEDIATE: the write lock at once, so that a reader
 * cannot make the upgrade fail half-way with SQLITE_BUSY). */
static const struct {
	const char *begin, *sep, *stamp, *commit;
} how[SCHEMA_DIALECTS] = {
	[SCHEMA_SQLITE] = { "BEGIN IMMEDIATE; ", "; ", "PRAGMA user_version = ", "; COMMIT;" },
	[SCHEMA_PG] = { "BEGIN;\n", ";\n", "UPDATE jobd_schema SET version = ", ";\nCOMMIT;" },
};

static int known(int dialect)
{
	return dialect >= 0 && dialect < SCHEMA_DIALECTS;
}

const char *schema_dialect_name(int dialect)
{
	return known(dialect) ? names[dialect] : "?";
}

int schema_dialect(const char *name)
{
	for (int d = 0; d < SCHEMA_DIALECTS; d++)
		if (strcmp(name, names[d]) == 0)
			return d;
	return -1;
}

int schema_empty(int dialect)
{
	if (known(dialect))
		for (int v = 1; v <= SCHEMA_VERSION; v++)
			if (versions[v - 1].base[dialect])
				return v - 1;
	return SCHEMA_VERSION;      /* no history: nothing to run */
}

const char *schema_stmt(int dialect, int v, int i)
{
	if (!known(dialect) || v <= schema_empty(dialect) || v > SCHEMA_VERSION || i < 0)
		return NULL;
	for (const Stmt *st = versions[v - 1].stmts; st->sql[SCHEMA_SQLITE] || st->sql[SCHEMA_PG]; st++)
		if (st->sql[dialect] != NULL && i-- == 0)
			return st->sql[dialect];
	return NULL;
}

void schema_stamp(int dialect, int v, char *buf, size_t n)
{
	strfmt(buf, n, "%s%d", how[known(dialect) ? dialect : SCHEMA_SQLITE].stamp, v);
}

static void add_step(Buf *b, int dialect, int v)
{
	char stamp[64];
	buf_addstr(b, how[dialect].begin);
	const char *sql;
	for (int i = 0; (sql = schema_stmt(dialect, v, i)) != NULL; i++) {
		buf_addstr(b, sql);
		buf_addstr(b, how[dialect].sep);
	}
	schema_stamp(dialect, v, stamp, sizeof stamp);
	buf_addstr(b, stamp);
	buf_addstr(b, how[dialect].commit);
}

char *schema_step(int dialect, int v)
{
	Buf b = { 0 };
	if (known(dialect) && v > schema_empty(dialect) && v <= SCHEMA_VERSION)
		add_step(&b, dialect, v);
	buf_add(&b, "", 0);          /* "" rather than NULL for nothing */
	return b.data;
}

char *schema_script(int dialect)
{
	Buf b = { 0 };
	if (known(dialect))
		for (int v = schema_empty(dialect) + 1; v <= SCHEMA_VERSION; v++) {
			add_step(&b, dialect, v);
			buf_addstr(&b, "\n");
		}
	buf_add(&b, "", 0);
	return b.data;
}
