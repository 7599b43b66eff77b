/* Tests of the schema description (src/store/schema.c):
 *  - SQLite's shipped steps are the texts jobd has always run (pinned);
 *  - what a fresh store_open makes is exactly what the description's steps
 *    make, and a database at every older version (made by the description's
 *    own steps, or by an old jobd: tests/e2e/fixtures) upgrades to it: the
 *    same tables, indexes and texts in sqlite_master, so the paths cannot
 *    drift apart;
 *  - the PostgreSQL text is well formed (one statement each, quotes and
 *    parentheses closed, no SQLite words) and describes SQLite's tables:
 *    the same columns in the same order, nullability, defaults, unique
 *    columns, references and indexes, types mapped; what differs is listed
 *    here with its reason.
 * Whether a PostgreSQL server takes the text is for a test with a server:
 * tests/tools/schemadump pg prints it for psql. */
#include "store/schema.h"
#include "store/store.h"
#include "scratch.h"
#include "unit.h"

#include <ctype.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdint.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

static char why[512];

/* ---- SQLite databases and what their schema is ---- */

/* Runs sql on dir/jobd.sqlite (made, with dir, if need be). */
static int exec_on(const char *dir, const char *sql)
{
	char db[160];
	mkdir(dir, 0700);
	snprintf(db, sizeof db, "%s/jobd.sqlite", dir);
	sqlite3 *h = NULL;
	char *err = NULL;
	int rc = sqlite3_open(db, &h);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(h, sql, NULL, NULL, &err);
	CHECKF(rc == SQLITE_OK, "%s: %s", sql, err ? err : sqlite3_errmsg(h));
	sqlite3_free(err);
	sqlite3_close(h);
	return rc == SQLITE_OK ? 0 : -1;
}

/* Makes dir/jobd.sqlite at version v from the description's SQLite steps,
 * each statement on its own (not through schema_step, which store_open
 * uses), each step in a transaction with its stamp. */
static int make_at(const char *dir, int v)
{
	for (int k = 1; k <= v; k++) {
		Buf b = { 0 };
		buf_addstr(&b, "BEGIN;");
		const char *sql;
		for (int i = 0; (sql = schema_stmt(SCHEMA_SQLITE, k, i)) != NULL; i++)
			buf_printf(&b, "%s;", sql);
		char stamp[64];
		schema_stamp(SCHEMA_SQLITE, k, stamp, sizeof stamp);
		buf_printf(&b, "%s; COMMIT;", stamp);
		int r = exec_on(dir, b.data);
		buf_free(&b);
		if (r < 0)
			return r;
	}
	return 0;
}

static void open_close(const char *dir)
{
	Store *s = NULL;
	int r = store_open(dir, STORE_SYNC_NORMAL, &s, NULL, why, sizeof why);
	CHECKF(r == 0, "store_open %s: %d %s", dir, r, why);
	if (r == 0)
		store_close(s);
}

static int dump_row(void *arg, int ncol, char **val, char **col)
{
	(void)col;
	for (int i = 0; i < ncol; i++)
		buf_printf(arg, "%s%s", i ? "|" : "", val[i] ? val[i] : "NULL");
	buf_addstr(arg, "\n");
	return 0;
}

/* dir/jobd.sqlite's schema: every table, index and trigger with its text
 * (not the planner's statistics, sqlite_stat*, which store_close may make),
 * its version and application id. Freed by the caller. */
static char *schema_of(const char *dir)
{
	char db[160];
	snprintf(db, sizeof db, "%s/jobd.sqlite", dir);
	Buf b = { 0 };
	sqlite3 *h = NULL;
	int rc = sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(h, "SELECT type, name, tbl_name, sql FROM sqlite_master"
		                  " WHERE name NOT LIKE 'sqlite_stat%' ORDER BY type, name;"
		                  " PRAGMA user_version; PRAGMA application_id", dump_row, &b, NULL);
	CHECKF(rc == SQLITE_OK, "reading the schema of %s: %s", db, sqlite3_errmsg(h));
	sqlite3_close(h);
	buf_add(&b, "", 0);
	return b.data;
}

/* Checks that two schemas are the same, showing the first line that is not. */
static void same_schema(const char *what, const char *got, const char *want)
{
	if (strcmp(got, want) == 0)
		return;
	size_t i = 0, line = 0;
	while (got[i] == want[i]) {
		if (got[i] == '\n')
			line = i + 1;
		i++;
	}
	const char *g = got + line, *w = want + line;
	CHECKF(0, "%s: the schema differs from a fresh one's:\n#     got  %.*s\n#     want %.*s", what,
	       (int)strcspn(g, "\n"), g, (int)strcspn(w, "\n"), w);
}

/* What a fresh store_open makes. Freed by the caller. */
static char *fresh_schema(void)
{
	char *dir = scratch_path();
	open_close(dir);
	return schema_of(dir);
}

/* A fixture of tests/e2e/fixtures (an SQL dump by an old jobd), found from the
 * program's place in the build directory or from the current one. */
static char *fixture(const char *name)
{
	char exe[512], path[700];
	Buf b = { 0 };
	ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
	const char *tries[2] = { path, NULL };
	char cwdpath[200];
	snprintf(cwdpath, sizeof cwdpath, "tests/e2e/fixtures/%s", name);
	tries[1] = cwdpath;
	path[0] = '\0';
	if (k > 0) {
		exe[k] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash != NULL)
			*slash = '\0';
		snprintf(path, sizeof path, "%s/../../tests/e2e/fixtures/%s", exe, name);
	}
	for (int t = 0; t < 2 && b.data == NULL; t++) {
		FILE *f = tries[t][0] ? fopen(tries[t], "rb") : NULL;
		if (f == NULL)
			continue;
		char chunk[4096];
		size_t got;
		while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
			buf_add(&b, chunk, got);
		fclose(f);
	}
	CHECKF(b.data != NULL, "fixture %s not found", name);
	return b.data;
}

/* ---- the tests ---- */

static void test_api(void)
{
	CHECK(schema_dialect("sqlite") == SCHEMA_SQLITE && schema_dialect("pg") == SCHEMA_PG);
	CHECK(schema_dialect("postgres") == -1 && schema_dialect("") == -1);
	CHECK(strcmp(schema_dialect_name(SCHEMA_PG), "pg") == 0);
	CHECK(schema_empty(SCHEMA_SQLITE) == 0);
	CHECK(schema_empty(SCHEMA_PG) == 6);
	CHECK(schema_stmt(SCHEMA_SQLITE, 0, 0) == NULL);
	CHECK(schema_stmt(SCHEMA_SQLITE, SCHEMA_VERSION + 1, 0) == NULL);
	CHECK(schema_stmt(SCHEMA_SQLITE, 1, -1) == NULL);
	CHECK(schema_stmt(SCHEMA_PG, 6, 0) == NULL);
	CHECK(schema_stmt(SCHEMA_PG, 7, 0) != NULL);
	CHECK(schema_stmt(2, 7, 0) == NULL);
	char st[64];
	schema_stamp(SCHEMA_SQLITE, 7, st, sizeof st);
	CHECKF(strcmp(st, "PRAGMA user_version = 7") == 0, "%s", st);
	schema_stamp(SCHEMA_PG, 8, st, sizeof st);
	CHECKF(strcmp(st, "UPDATE jobd_schema SET version = 8") == 0, "%s", st);
	char *none = schema_step(SCHEMA_PG, 3);     /* before PostgreSQL's base */
	CHECK(strcmp(none, "") == 0);
	free(none);
	none = schema_step(SCHEMA_SQLITE, SCHEMA_VERSION + 1);
	CHECK(strcmp(none, "") == 0);
	free(none);
	/* Every version has SQLite statements: one SQLite did not need would
	 * still change users' files (user_version). */
	for (int v = 1; v <= SCHEMA_VERSION; v++)
		CHECKF(schema_stmt(SCHEMA_SQLITE, v, 0) != NULL, "version %d has no SQLite step", v);
}

/* The SQLite steps jobd has shipped, as it ran them: the length and FNV-1a
 * hash of each step's text, taken from migrations[] of store_sqlite.c
 * before the steps moved to schema.c (1-7), and from schema.c when the step
 * was added (8 on). Every database a jobd made ran these texts; a changed
 * one makes fresh databases differ from upgraded ones. */
static const struct {
	size_t len;
	uint64_t fnv;
} shipped[] = {
	{ 1005, 0xffcd250e93cc22bcull }, { 57, 0xbeeb07b744506932ull },
	{ 1633, 0xbfca46ef0bf1ac7eull }, { 65, 0xa2b37b00f8b05e7bull },
	{ 59, 0xf6043c4df04f33f8ull }, { 56, 0xb54f05f0ec34037dull },
	{ 482, 0x073757ac359ba46bull }, { 61, 0x62f06c9fa361b85bull },
	{ 57, 0x6e39e9eb18996172ull },
};

static uint64_t fnv1a(const char *p)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 0x100000001b3ull;
	}
	return h;
}

static void test_sqlite_shipped(void)
{
	CHECK(SCHEMA_VERSION >= (int)(sizeof shipped / sizeof shipped[0]));
	for (int v = 1; v <= (int)(sizeof shipped / sizeof shipped[0]); v++) {
		/* A shipped step is one text, as migrations[] had it. */
		const char *sql = schema_stmt(SCHEMA_SQLITE, v, 0);
		CHECKF(sql != NULL && schema_stmt(SCHEMA_SQLITE, v, 1) == NULL,
		       "the shipped SQLite step to %d is no longer one text", v);
		if (sql == NULL)
			continue;
		CHECKF(strlen(sql) == shipped[v - 1].len && fnv1a(sql) == shipped[v - 1].fnv,
		       "the SQLite step to version %d changed (length %zu, hash %#llx): a shipped "
		       "step is never edited; add a version instead", v, strlen(sql),
		       (unsigned long long)fnv1a(sql));
		/* And store_open runs it as it always has. */
		char want[2048];
		snprintf(want, sizeof want, "BEGIN IMMEDIATE; %s; PRAGMA user_version = %d; COMMIT;",
		         sql, v);
		char *got = schema_step(SCHEMA_SQLITE, v);
		CHECKF(strcmp(got, want) == 0, "step %d: %s", v, got);
		free(got);
	}
}

/* What a fresh store_open makes is what the description's steps make, run
 * one statement at a time, and what schemadump sqlite prints. */
static void test_sqlite_fresh(void)
{
	char *fresh = fresh_schema();
	CHECK(strstr(fresh, "\n9\n1785684580\n") != NULL);   /* version, "jobd" */
	char *dir = scratch_path();
	if (make_at(dir, SCHEMA_VERSION) == 0) {
		char *got = schema_of(dir);
		same_schema("the description's steps", got, fresh);
		free(got);
	}
	dir = scratch_path();
	char *script = schema_script(SCHEMA_SQLITE);
	if (exec_on(dir, script) == 0) {
		char *got = schema_of(dir);
		same_schema("schema_script", got, fresh);
		free(got);
	}
	free(script);
	free(fresh);
}

/* A database at every older version upgrades to exactly what a fresh one
 * is: made by the description's own steps (with a job in it, so that the
 * steps that move data have some), and the files of old jobd releases. */
static void test_sqlite_upgrades(void)
{
	char *fresh = fresh_schema();
	for (int v = 1; v < SCHEMA_VERSION; v++) {
		char *dir = scratch_path();
		if (make_at(dir, v) < 0 ||
		    exec_on(dir, "INSERT INTO jobs(name, schedule, cmd) VALUES('a', '@daily', 'true');"
		                 "INSERT INTO runs(job_id, sched, state) VALUES(1, 60, 2)") < 0)
			continue;
		open_close(dir);
		char *got = schema_of(dir), what[64];
		snprintf(what, sizeof what, "a version %d database upgraded", v);
		same_schema(what, got, fresh);
		free(got);
	}
	static const char *const olds[] = { "jobd-v1.sql", "jobd-v3.sql" };
	for (size_t i = 0; i < sizeof olds / sizeof olds[0]; i++) {
		char *sql = fixture(olds[i]);
		if (sql == NULL)
			continue;
		char *dir = scratch_path();
		if (exec_on(dir, sql) == 0) {
			open_close(dir);
			char *got = schema_of(dir);
			same_schema(olds[i], got, fresh);
			free(got);
		}
		free(sql);
	}
	free(fresh);
}

/* ---- PostgreSQL ---- */

/* The PostgreSQL statements, in order, from its base to SCHEMA_VERSION. */
static int pg_stmts(const char **out, int cap)
{
	int n = 0;
	for (int v = 1; v <= SCHEMA_VERSION; v++) {
		const char *sql;
		for (int i = 0; (sql = schema_stmt(SCHEMA_PG, v, i)) != NULL; i++)
			if (n < cap)
				out[n++] = sql;
	}
	return n;
}

/* Whether the text holds the word w (case-insensitive, not inside a longer
 * word). */
static int has_word(const char *text, const char *w)
{
	size_t k = strlen(w);
	for (const char *p = text; *p; p++)
		if (strncasecmp(p, w, k) == 0 && (p == text || !(isalnum((unsigned char)p[-1]) ||
		    p[-1] == '_')) && !(isalnum((unsigned char)p[k]) || p[k] == '_'))
			return 1;
	return 0;
}

/* Checks the form of one statement: something, one statement (no ';' but
 * inside quotes), quotes and parentheses closed, no line comment (a
 * statement is sent as it is, and joined to others in schemadump's text). */
static void well_formed(const char *sql)
{
	int depth = 0, bad = 0;
	char quote = 0;
	CHECKF(*sql != '\0' && !isspace((unsigned char)*sql) &&
	       !isspace((unsigned char)sql[strlen(sql) - 1]), "blank around: %s", sql);
	for (const char *p = sql; *p; p++) {
		if (quote) {
			if (*p == quote)
				quote = 0;
			continue;
		}
		if (*p == '\'' || *p == '"')
			quote = *p;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && --depth < 0)
			bad = 1;
		else if (*p == ';')
			CHECKF(0, "more than one statement (or a ';' at the end): %s", sql);
		else if (p[0] == '-' && p[1] == '-')
			CHECKF(0, "a comment in: %s", sql);
	}
	CHECKF(quote == 0, "a quote not closed: %s", sql);
	CHECKF(depth == 0 && !bad, "parentheses do not match: %s", sql);
	static const char *const verbs[] = { "CREATE ", "ALTER ", "INSERT ", "UPDATE ", "DELETE ",
	                                     "DROP ", "COMMENT " };
	int verb = 0;
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		verb |= strncmp(sql, verbs[i], strlen(verbs[i])) == 0;
	CHECKF(verb, "not a statement a schema step makes: %s", sql);
	/* SQLite's own: PostgreSQL refuses them or reads them otherwise. */
	static const char *const sqlite_only[] = { "AUTOINCREMENT", "PRAGMA", "BLOB", "ROWID",
	                                           "GLOB", "IFNULL" };
	for (size_t i = 0; i < sizeof sqlite_only / sizeof sqlite_only[0]; i++)
		CHECKF(!has_word(sql, sqlite_only[i]), "SQLite's %s in: %s", sqlite_only[i], sql);
	CHECKF(strstr(sql, "INTEGER PRIMARY KEY") == NULL && strchr(sql, '?') == NULL &&
	       strchr(sql, '`') == NULL, "SQLite's syntax in: %s", sql);
}

static void test_pg_well_formed(void)
{
	const char *st[64];
	int n = pg_stmts(st, 64);
	CHECK(n > 0 && n < 64);
	for (int i = 0; i < n; i++)
		well_formed(st[i]);
	/* The base makes the table its stamp writes, with its one row, first. */
	CHECK(n >= 2 && strncmp(st[0], "CREATE TABLE jobd_schema(", 25) == 0 &&
	      strncmp(st[1], "INSERT INTO jobd_schema(version)", 32) == 0);
	char *script = schema_script(SCHEMA_PG);
	CHECK(strncmp(script, "BEGIN;\nCREATE TABLE jobd_schema(", 32) == 0);
	CHECK(strstr(script, ";\nUPDATE jobd_schema SET version = 7;\nCOMMIT;\n") != NULL);
	CHECK(strstr(script, ";\nUPDATE jobd_schema SET version = 8;\nCOMMIT;\n") != NULL);
	free(script);
}

/* A column as PostgreSQL's CREATE TABLE (or ADD COLUMN) has it. */
typedef struct PgCol {
	char table[32], name[32], type[32], rest[160];
} PgCol;

/* Splits "CREATE TABLE t(a x, b y, PRIMARY KEY (..))" into columns (table
 * constraints are left out). Returns how many were added to cols. */
static int pg_columns(const char *sql, PgCol *cols, int n, int cap)
{
	char table[32];
	int len = 0;
	if (sscanf(sql, "CREATE TABLE %31[a-z_](%n", table, &len) == 1 && len > 0) {
		const char *p = sql + len;
		while (*p) {
			int depth = 0;
			char quote = 0;
			const char *e = p;
			for (; *e && (quote || depth > 0 || (*e != ',' && *e != ')')); e++) {
				if (quote)
					quote = *e == quote ? 0 : quote;
				else if (*e == '\'')
					quote = *e;
				else if (*e == '(')
					depth++;
				else if (*e == ')')
					depth--;
			}
			while (p < e && isspace((unsigned char)*p))
				p++;
			static const char *const cons[] = { "PRIMARY KEY", "UNIQUE", "CHECK", "FOREIGN",
			                                    "CONSTRAINT", "EXCLUDE" };
			int is_con = 0;
			for (size_t i = 0; i < sizeof cons / sizeof cons[0]; i++)
				is_con |= strncmp(p, cons[i], strlen(cons[i])) == 0;
			if (!is_con && n < cap) {
				PgCol *c = &cols[n++];
				char def[256];
				snprintf(def, sizeof def, "%.*s", (int)(e - p), p);
				snprintf(c->table, sizeof c->table, "%s", table);
				int k = 0;
				c->rest[0] = '\0';
				sscanf(def, "%31s %31s %n", c->name, c->type, &k);
				snprintf(c->rest, sizeof c->rest, "%s", k > 0 ? def + k : "");
			}
			if (*e != ',')
				break;
			p = e + 1;
		}
	} else if (sscanf(sql, "ALTER TABLE %31[a-z_] ADD COLUMN %n", table, &len) == 1 && len > 0 &&
	           n < cap) {
		PgCol *c = &cols[n++];
		snprintf(c->table, sizeof c->table, "%s", table);
		int k = 0;
		sscanf(sql + len, "%31s %31s %n", c->name, c->type, &k);
		snprintf(c->rest, sizeof c->rest, "%s", k > 0 ? sql + len + k : "");
	}
	return n;
}

/* The value after DEFAULT in a PostgreSQL column, or NULL. */
static const char *pg_default(const PgCol *c, char *buf, size_t n)
{
	const char *p = strstr(c->rest, "DEFAULT ");
	if (p == NULL)
		return NULL;
	p += strlen("DEFAULT ");
	snprintf(buf, n, "%.*s", (int)strcspn(p, " ,"), p);
	return buf;
}

/* What PostgreSQL has that SQLite has not, and the other way round; each
 * with its reason (schema.c, PostgreSQL's base). */
static const char *const pg_only[] = {
	"jobd_schema",              /* its version: SQLite's is PRAGMA user_version */
	"fires", "nodes", "changes",    /* cluster mode (doc/cluster.md) */
};
/* Indexes PostgreSQL has that SQLite has not: the reaper's, over what is
 * open (schema.c, 8). */
static const char *const pg_only_indexes[] = { "fires_claimed", "runs_open" };
static const char *const sqlite_only[] = {
	"log", "log_job", "log_run",    /* lines before schema 7: PostgreSQL never had them */
	"runs_fire",                    /* PostgreSQL's exactly-once key is fires' */
	"sqlite_sequence",              /* SQLite's own (AUTOINCREMENT) */
};

static int listed(const char *const *list, size_t n, const char *table, const char *col)
{
	char name[80];
	if (col != NULL)
		snprintf(name, sizeof name, "%s.%s", table, col);
	else
		snprintf(name, sizeof name, "%s", table);
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], name) == 0)
			return 1;
	return 0;
}
#define PG_ONLY(t, c) listed(pg_only, sizeof pg_only / sizeof pg_only[0], (t), (c))
#define SQLITE_ONLY(t, c) listed(sqlite_only, sizeof sqlite_only / sizeof sqlite_only[0], (t), (c))

/* One SQLite column against its PostgreSQL twin. */
static void same_column(sqlite3 *h, const char *table, sqlite3_stmt *col, const PgCol *pg)
{
	const char *name = (const char *)sqlite3_column_text(col, 1);
	const char *type = (const char *)sqlite3_column_text(col, 2);
	const char *dflt = (const char *)sqlite3_column_text(col, 4);
	int notnull = sqlite3_column_int(col, 3), pk = sqlite3_column_int(col, 5);
	/* Types: SQLite's INTEGER holds int64 (bigint) or int values (integer);
	 * its TEXT, text or bytes (bytea); BLOB, bytes. */
	int typed = (strcmp(type, "INTEGER") == 0 &&
	             (strcmp(pg->type, "bigint") == 0 || strcmp(pg->type, "integer") == 0)) ||
	            (strcmp(type, "TEXT") == 0 &&
	             (strcmp(pg->type, "text") == 0 || strcmp(pg->type, "bytea") == 0)) ||
	            (strcmp(type, "BLOB") == 0 && strcmp(pg->type, "bytea") == 0);
	CHECKF(typed, "%s.%s: %s in SQLite, %s in PostgreSQL", table, name, type, pg->type);
	int pg_pk = strstr(pg->rest, "PRIMARY KEY") != NULL;
	int pg_notnull = pg_pk || strstr(pg->rest, "NOT NULL") != NULL;
	CHECKF((pk > 0) == pg_pk, "%s.%s: primary key in one dialect only", table, name);
	CHECKF((notnull || pk) == pg_notnull, "%s.%s: NOT NULL in one dialect only", table, name);
	char buf[64];
	const char *pgd = pg_default(pg, buf, sizeof buf);
	CHECKF((dflt == NULL && pgd == NULL) || (dflt != NULL && pgd != NULL && strcmp(dflt, pgd) == 0),
	       "%s.%s: default %s in SQLite, %s in PostgreSQL", table, name, dflt ? dflt : "none",
	       pgd ? pgd : "none");
	/* A column SQLite makes unique (a UNIQUE constraint: an index of origin
	 * 'u' on it alone) is UNIQUE in PostgreSQL too, and no other. */
	char *q = sqlite3_mprintf("SELECT count(*) FROM pragma_index_list(%Q) l"
	                          " WHERE l.origin = 'u' AND (SELECT count(*) FROM pragma_index_info(l.name))"
	                          " = 1 AND (SELECT name FROM pragma_index_info(l.name)) = %Q", table, name);
	sqlite3_stmt *st = NULL;
	int unique = -1;
	if (sqlite3_prepare_v2(h, q, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		unique = sqlite3_column_int(st, 0) > 0;
	sqlite3_finalize(st);
	sqlite3_free(q);
	CHECKF(unique == (strstr(pg->rest, "UNIQUE") != NULL), "%s.%s: UNIQUE in one dialect only",
	       table, name);
	/* And its reference, with what a delete does. */
	q = sqlite3_mprintf("SELECT \"table\", \"to\", on_delete FROM pragma_foreign_key_list(%Q)"
	                    " WHERE \"from\" = %Q", table, name);
	char want[160] = "";
	if (sqlite3_prepare_v2(h, q, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		snprintf(want, sizeof want, "REFERENCES %s(%s) ON DELETE %s",
		         sqlite3_column_text(st, 0), sqlite3_column_text(st, 1), sqlite3_column_text(st, 2));
	sqlite3_finalize(st);
	sqlite3_free(q);
	if (want[0])
		CHECKF(strstr(pg->rest, want) != NULL, "%s.%s: PostgreSQL has no %s", table, name, want);
	else
		CHECKF(strstr(pg->rest, "REFERENCES") == NULL, "%s.%s: a reference in PostgreSQL only",
		       table, name);
}

/* Every table and index of a fresh SQLite database is in the PostgreSQL
 * text, column by column, index by index (the same text but for SQLite's
 * IF NOT EXISTS); what is in one only is listed above. */
static void test_pg_matches_sqlite(void)
{
	const char *st[64];
	int nst = pg_stmts(st, 64);
	enum { MAXCOL = 128 };
	PgCol *cols = calloc(MAXCOL, sizeof *cols);
	int ncol = 0;
	for (int i = 0; i < nst; i++)
		ncol = pg_columns(st[i], cols, ncol, MAXCOL);
	CHECK(ncol > 0 && ncol < MAXCOL);
	int *seen = calloc(MAXCOL, sizeof *seen);

	char *dir = scratch_path();
	open_close(dir);
	char db[160];
	snprintf(db, sizeof db, "%s/jobd.sqlite", dir);
	sqlite3 *h = NULL;
	CHECK(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
	sqlite3_stmt *obj = NULL;
	CHECK(sqlite3_prepare_v2(h, "SELECT type, name, sql FROM sqlite_master WHERE type IN"
	                         " ('table', 'index') AND sql IS NOT NULL AND name NOT LIKE"
	                         " 'sqlite_stat%' ORDER BY type DESC, name", -1, &obj, NULL) == SQLITE_OK);
	int ntables = 0, nindexes = 0;
	char indexes[16][32];       /* those compared */
	while (obj != NULL && sqlite3_step(obj) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(obj, 0);
		const char *name = (const char *)sqlite3_column_text(obj, 1);
		const char *sql = (const char *)sqlite3_column_text(obj, 2);
		if (SQLITE_ONLY(name, NULL))
			continue;
		if (strcmp(type, "index") == 0) {
			/* SQLite keeps the text as written: the same but for IF NOT EXISTS. */
			char want[512];
			const char *ine = strstr(sql, "IF NOT EXISTS ");
			if (ine != NULL)
				snprintf(want, sizeof want, "%.*s%s", (int)(ine - sql), sql, ine + 14);
			else
				snprintf(want, sizeof want, "%s", sql);
			int found = 0;
			for (int i = 0; i < nst; i++)
				found |= strcmp(st[i], want) == 0;
			CHECKF(found, "index %s: PostgreSQL has no `%s`", name, want);
			if (nindexes < 16)
				snprintf(indexes[nindexes++], sizeof indexes[0], "%s", name);
			continue;
		}
		ntables++;
		char *q = sqlite3_mprintf("SELECT cid, name, type, \"notnull\", dflt_value, pk"
		                          " FROM pragma_table_info(%Q) ORDER BY cid", name);
		sqlite3_stmt *col = NULL;
		CHECK(sqlite3_prepare_v2(h, q, -1, &col, NULL) == SQLITE_OK);
		sqlite3_free(q);
		int k = 0;       /* the PostgreSQL column to be next */
		while (col != NULL && sqlite3_step(col) == SQLITE_ROW) {
			const char *cname = (const char *)sqlite3_column_text(col, 1);
			while (k < ncol && (strcmp(cols[k].table, name) != 0 || PG_ONLY(name, cols[k].name)))
				k++;
			CHECKF(k < ncol && strcmp(cols[k].name, cname) == 0,
			       "%s.%s: not PostgreSQL's next column of %s (%s)", name, cname, name,
			       k < ncol ? cols[k].name : "none");
			if (k < ncol && strcmp(cols[k].name, cname) == 0) {
				same_column(h, name, col, &cols[k]);
				seen[k++] = 1;
			}
		}
		sqlite3_finalize(col);
	}
	sqlite3_finalize(obj);
	sqlite3_close(h);
	CHECKF(ntables == 3 && nindexes == 4, "%d tables, %d indexes compared", ntables, nindexes);
	/* What PostgreSQL has beyond SQLite is what is listed. */
	for (int i = 0; i < ncol; i++)
		CHECKF(seen[i] || PG_ONLY(cols[i].table, NULL) || PG_ONLY(cols[i].table, cols[i].name),
		       "%s.%s is in PostgreSQL only", cols[i].table, cols[i].name);
	for (int i = 0; i < nst; i++) {
		char idx[32];
		if (sscanf(st[i], "CREATE INDEX %31[a-z_]", idx) == 1 ||
		    sscanf(st[i], "CREATE UNIQUE INDEX %31[a-z_]", idx) == 1) {
			int compared = 0;
			for (int k = 0; k < nindexes; k++)
				compared |= strcmp(indexes[k], idx) == 0;
			CHECKF(compared || listed(pg_only_indexes, sizeof pg_only_indexes /
			       sizeof pg_only_indexes[0], idx, NULL), "index %s is in PostgreSQL only", idx);
		}
	}
	for (size_t i = 0; i < sizeof pg_only_indexes / sizeof pg_only_indexes[0]; i++) {
		char want[48];
		snprintf(want, sizeof want, "CREATE INDEX %s ON ", pg_only_indexes[i]);
		int found = 0;
		for (int k = 0; k < nst; k++)
			found |= strncmp(st[k], want, strlen(want)) == 0;
		CHECKF(found, "index %s is listed as PostgreSQL's but is not there", pg_only_indexes[i]);
	}
	for (size_t i = 0; i < sizeof pg_only / sizeof pg_only[0]; i++) {
		char t[32], c[32] = "";
		sscanf(pg_only[i], "%31[a-z_].%31[a-z_]", t, c);
		int found = 0;
		for (int k = 0; k < ncol; k++)
			found |= strcmp(cols[k].table, t) == 0 && (!c[0] || strcmp(cols[k].name, c) == 0);
		CHECKF(found, "%s is listed as PostgreSQL's but is not there", pg_only[i]);
	}
	free(seen);
	free(cols);
}

int main(void)
{
	unit_prog = "t_schema";
	umask(077);     /* the files made here as store_open wants them: 0600 */
	if (scratch_init(unit_prog) < 0)
		return 1;
	unit_run("api", test_api);
	unit_run("sqlite_shipped", test_sqlite_shipped);
	unit_run("sqlite_fresh", test_sqlite_fresh);
	unit_run("sqlite_upgrades", test_sqlite_upgrades);
	unit_run("pg_well_formed", test_pg_well_formed);
	unit_run("pg_matches_sqlite", test_pg_matches_sqlite);
	scratch_rmtree(scratch_root());
	return unit_done();
}
