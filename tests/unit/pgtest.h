/* A private PostgreSQL 15 for a unit test (tests/tools/pgtmp.sh): made in a
 * temporary directory, stopped and removed on every way out (exit, and the
 * signals a test runner sends; a test killed outright is covered by
 * pgtmp.sh's watchdog). Shared by the tests that need a server (t_pgconn,
 * t_cnode, ...). Without PostgreSQL the "server" check fails: scripts/deps.sh
 * test installs it. */
#ifndef JOBD_TESTS_PGTEST_H
#define JOBD_TESTS_PGTEST_H

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <uv.h>

#include "store/pgconn.h"

extern char pgtest_root[];              /* the temporary directory */
extern char pgtest_dir[64];             /* the server's, inside it */
extern char pgtest_script[PATH_MAX];    /* pgtmp.sh */
extern char pgtest_conninfo[512];       /* what pgtmp.sh start printed */
/* Set by the exit of pgtest_script_async's process. */
extern int pgtest_script_exited, pgtest_script_status;

/* Cleans up on exit and on SIGINT, SIGTERM, SIGHUP. Call first. */
void pgtest_init(void);
/* The "server" check: finds pgtmp.sh, makes the directory, starts the
 * server and reads its connection string (CHECKs that fail say why). */
void pgtest_server(void);
/* The start of a test's main(): names the program (unit_prog), calls
 * pgtest_init, makes the loop and runs the "server" check, then first as
 * the check named name when given (the schema, say). 1 if all of it
 * passed; else main returns unit_done() at once: the tests after it need
 * what it made. */
int pgtest_start(uv_loop_t *loop, const char *prog, const char *name, void (*first)(void));
/* The end: closes the n connections c[] (none: c NULL, n 0; what else the
 * test opened it closes first), runs the loop until it has nothing left to
 * run and closes it. CHECKs that each connection said it closed and that
 * the loop had no handle left (one left open is a leak of the code under
 * test). */
void pgtest_close(uv_loop_t *loop, PgConn *const *c, int n);
/* Runs "pgtmp.sh VERB DIR [ARG]" from the loop, which goes on meanwhile:
 * pgtest_script_exited counts up when it is done. */
void pgtest_script_async(uv_loop_t *loop, uv_process_t *p, const char *verb, const char *arg);

/* Runs the loop until pred(arg) or ms pass, looking at least every 5 ms
 * (some conditions are no event of the loop's): 1 if pred came true.
 * Nothing in the tests sleeps and hopes: each wait is for what it says. */
int pgtest_wait(uv_loop_t *loop, int (*pred)(const void *), const void *arg, int ms);
int pgtest_wait_flag(uv_loop_t *loop, const int *flag, int ms);
/* Runs the loop for ms: time for what is not to happen meanwhile. */
void pgtest_wait_ms(uv_loop_t *loop, int ms);

/* One statement on c, its answer waited for (CHECKs that it came, without
 * error): the first row's first three fields as text. */
typedef struct PgtestQ {
	int called, ok;
	char err[700];
	char val[3][128];
	int ntuples;
} PgtestQ;
/* A PgQueryDone filling the PgtestQ at arg. */
void pgtest_q_done(void *arg, PGresult *res, const char *err);
PgtestQ pgtest_sql(uv_loop_t *loop, PgConn *c, const char *s);
/* The first field of the first row as a number. */
long long pgtest_num(uv_loop_t *loop, PgConn *c, const char *s);
/* pgtest_sql and pgtest_num of a statement made with printf's fmt (up to
 * 1,023 bytes). */
PgtestQ pgtest_sqlf(uv_loop_t *loop, PgConn *c, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define pgtest_numf(loop, c, ...) strtoll(pgtest_sqlf(loop, c, __VA_ARGS__).val[0], NULL, 10)
/* The store's PostgreSQL schema (src/store/schema.c) applied on c, each
 * step one batch, as the backend does; CHECKs each. */
void pgtest_schema(uv_loop_t *loop, PgConn *c);

#endif
