/* The jobs store's schema, one description for every backend: a list of
 * versions, each with the statements that take a database from the version
 * before to it, per SQL dialect (schema.c says how it is written and why).
 * The SQLite backend (store_sqlite.c) runs it at open; a PostgreSQL backend
 * runs the same list; tests/tools/schemadump prints it for either.
 *
 * A database records its version in the same transaction as the step that
 * made it (schema_stamp): SQLite in PRAGMA user_version, PostgreSQL in the
 * one row of the table jobd_schema. Versions only go forward. (Nodes of a
 * cluster share one database: the PostgreSQL backend is to read the version
 * and run the steps holding a lock, e.g. pg_advisory_xact_lock, so that two
 * nodes starting at once do not both migrate.) */
#ifndef JOBD_STORE_SCHEMA_H
#define JOBD_STORE_SCHEMA_H

#include <stddef.h>

/* The dialects. */
enum { SCHEMA_SQLITE = 0, SCHEMA_PG = 1, SCHEMA_DIALECTS };

/* The version this jobd makes and reads. A database at a newer one is
 * refused, untouched. */
enum { SCHEMA_VERSION = 9 };

/* "sqlite" or "pg"; and back (-1 for another name). */
const char *schema_dialect_name(int dialect);
int schema_dialect(const char *name);

/* The version an empty database of the dialect counts as: its first step is
 * the one after. SQLite's history begins at 0; PostgreSQL's at the version
 * before its base (the first version made for it: its step makes the whole
 * schema from nothing). */
int schema_empty(int dialect);

/* Statement i (from 0) of the step to version v (1..SCHEMA_VERSION) in the
 * dialect; NULL past its last, and for every i where the dialect has nothing
 * to do at v (no step at or before schema_empty). A PostgreSQL text is one
 * statement, without a ';' (the extended protocol, and so pipeline mode,
 * takes no more); a SQLite text may be several, separated by ';' (and end
 * with one), as shipped: sqlite3_exec runs them all. */
const char *schema_stmt(int dialect, int v, int i);

/* The statement that records version v, in buf (truncated to n bytes). */
void schema_stamp(int dialect, int v, char *buf, size_t n);

/* The step to version v as one transaction of text: its statements and its
 * stamp between the dialect's BEGIN and COMMIT (for SQLite exactly what
 * jobd has always run: "BEGIN IMMEDIATE; <step>; PRAGMA user_version = v;
 * COMMIT;"). malloc'ed; the caller frees it. A PostgreSQL backend on
 * pgconn sends schema_stmt's statements and the stamp as one batch instead
 * (a batch is one transaction there); this text is for psql. */
char *schema_step(int dialect, int v);

/* Every step from an empty database to SCHEMA_VERSION, one a line: what
 * tests/tools/schemadump prints (psql -f or sqlite3 run it as it is).
 * malloc'ed. */
char *schema_script(int dialect);

#endif
