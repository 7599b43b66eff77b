/* A private PostgreSQL 15 for a unit test (tests/tools/pgtmp.sh): made in a
 * temporary directory, stopped and removed on every way out (exit, and the
 * signals a test runner sends; a test killed outright is covered by
 * pgtmp.sh's watchdog). Shared by the tests that need a server (t_pgconn,
 * t_cnode). Without PostgreSQL the "server" check fails: scripts/deps.sh
 * test installs it. */
#ifndef JOBD_TESTS_PGTEST_H
#define JOBD_TESTS_PGTEST_H

#include <limits.h>
#include <stdint.h>
#include <uv.h>

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
/* Runs "pgtmp.sh VERB DIR [ARG]" from the loop, which goes on meanwhile:
 * pgtest_script_exited counts up when it is done. */
void pgtest_script_async(uv_loop_t *loop, uv_process_t *p, const char *verb, const char *arg);

#endif
