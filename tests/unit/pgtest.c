/* The private PostgreSQL of the unit tests that need one (pgtest.h). */
#include "pgtest.h"
#include "store/schema.h"
#include "unit.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

char pgtest_root[] = "/tmp/jobd-pgtest.XXXXXX";
char pgtest_dir[64];
char pgtest_script[PATH_MAX];
char pgtest_conninfo[512];
int pgtest_script_exited, pgtest_script_status;
static int server_made, root_made;

/* Runs "sh pgtest_script verb pgtest_dir" and waits: fork, exec and wait only, so that
 * a signal handler may call it too. */
static int run_script(const char *verb)
{
	pid_t pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", pgtest_script, verb, pgtest_dir, (char *)NULL);
		_exit(127);
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void cleanup(void)
{
	if (server_made) {
		run_script("stop");
		server_made = 0;
	}
	if (root_made) {
		pid_t pid = fork();
		if (pid == 0) {
			execl("/bin/rm", "rm", "-rf", pgtest_root, (char *)NULL);
			_exit(127);
		}
		if (pid > 0)
			waitpid(pid, NULL, 0);
		root_made = 0;
	}
}

static void on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* The pgtest_script is in the source tree, the build directory's parent: the build
 * is $JOBD_BUILD (tests/run.sh), or this program's grandparent directory. */
static int find_script(void)
{
	char exe[PATH_MAX];
	const char *b = getenv("JOBD_BUILD");
	if (b && *b) {
		snprintf(pgtest_script, sizeof pgtest_script, "%s/../tests/tools/pgtmp.sh", b);
		if (access(pgtest_script, R_OK) == 0)
			return 0;
	}
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	for (int i = 0; i < 2; i++) {
		char *slash = strrchr(exe, '/');
		if (slash == NULL)
			return -1;
		*slash = '\0';
	}
	if (snprintf(pgtest_script, sizeof pgtest_script, "%s/../tests/tools/pgtmp.sh", exe) >= (int)sizeof pgtest_script)
		return -1;
	return access(pgtest_script, R_OK);
}

void pgtest_server(void)
{
	CHECKF(find_script() == 0, "tests/tools/pgtmp.sh not found (JOBD_BUILD=%s)",
	       getenv("JOBD_BUILD") ? getenv("JOBD_BUILD") : "");
	if (unit_failed_checks)
		return;
	root_made = mkdtemp(pgtest_root) != NULL;
	CHECK(root_made);
	if (!root_made)
		return;
	/* As pgtest_root the server runs as another user, who must reach its directory. */
	chmod(pgtest_root, 0711);
	snprintf(pgtest_dir, sizeof pgtest_dir, "%s/pg", pgtest_root);
	char cmd[PATH_MAX + 200];
	snprintf(cmd, sizeof cmd, "sh '%s' start '%s' %d", pgtest_script, pgtest_dir, (int)getpid());
	server_made = 1;
	FILE *f = popen(cmd, "r");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	if (fgets(pgtest_conninfo, sizeof pgtest_conninfo, f) == NULL)
		pgtest_conninfo[0] = '\0';
	pgtest_conninfo[strcspn(pgtest_conninfo, "\n")] = '\0';
	int st = pclose(f);
	CHECKF(st == 0 && pgtest_conninfo[0], "pgtmp.sh start failed (status %d): PostgreSQL 15 is needed "
	       "(sh scripts/deps.sh test installs it)", st);
}



static void on_script_exit(uv_process_t *p, int64_t status, int sig)
{
	(void)sig;
	pgtest_script_status = (int)status;
	pgtest_script_exited++;
	uv_close((uv_handle_t *)p, NULL);
}

/* Runs pgtmp.sh VERB DIR [ARG] from the loop, which goes on meanwhile. */
void pgtest_script_async(uv_loop_t *loop, uv_process_t *p, const char *verb, const char *arg)
{
	char *args[] = { "sh", pgtest_script, (char *)verb, pgtest_dir, (char *)arg, NULL };
	uv_stdio_container_t io[3] = {
		{ .flags = UV_IGNORE }, { .flags = UV_IGNORE }, { .flags = UV_INHERIT_FD, .data.fd = 2 },
	};
	uv_process_options_t po = {
		.exit_cb = on_script_exit, .file = "/bin/sh", .args = args,
		.stdio_count = 3, .stdio = io,
	};
	int r = uv_spawn(loop, p, &po);
	CHECKF(r == 0, "spawn: %s", uv_strerror(r));
}

void pgtest_init(void)
{
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
}

int pgtest_start(uv_loop_t *loop, const char *prog, const char *name, void (*first)(void))
{
	unit_prog = prog;
	pgtest_init();
	uv_loop_init(loop);
	unit_run("server", pgtest_server);
	if (unit_failed_checks)
		return 0;
	if (first)
		unit_run(name, first);
	return unit_failed_checks == 0;
}

static void count_closed(void *arg)
{
	(*(int *)arg)++;
}

void pgtest_close(uv_loop_t *loop, PgConn *const *c, int n)
{
	int closed = 0;
	for (int i = 0; i < n; i++)
		pgconn_close(c[i], count_closed, &closed);
	uv_run(loop, UV_RUN_DEFAULT);
	CHECKF(closed == n, "%d of %d connections closed", closed, n);
	int rc = uv_loop_close(loop);
	CHECKF(rc == 0, "uv_loop_close: %s", uv_strerror(rc));
}

/* ---- running the loop, and SQL on a connection ---- */

static int pgtest_timed_out;

static void on_deadline(uv_timer_t *h)
{
	(void)h;
	pgtest_timed_out = 1;
}

static void on_wake(uv_timer_t *h)
{
	(void)h;
}

int pgtest_wait(uv_loop_t *loop, int (*pred)(const void *), const void *arg, int ms)
{
	uv_timer_t t, wake;
	uv_timer_init(loop, &t);
	uv_timer_init(loop, &wake);
	pgtest_timed_out = 0;
	uv_timer_start(&t, on_deadline, (uint64_t)ms, 0);
	uv_timer_start(&wake, on_wake, 5, 5);
	while (!pred(arg) && !pgtest_timed_out)
		uv_run(loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_close((uv_handle_t *)&wake, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	return pred(arg);
}

static int flag_set(const void *p)
{
	return *(const int *)p != 0;
}

int pgtest_wait_flag(uv_loop_t *loop, const int *flag, int ms)
{
	return pgtest_wait(loop, flag_set, flag, ms);
}

static int never(const void *p)
{
	(void)p;
	return 0;
}

void pgtest_wait_ms(uv_loop_t *loop, int ms)
{
	pgtest_wait(loop, never, NULL, ms);
}

void pgtest_q_done(void *arg, PGresult *res, const char *err)
{
	PgtestQ *q = arg;
	q->called = 1;
	q->ok = res != NULL;
	snprintf(q->err, sizeof q->err, "%s", err);
	q->ntuples = res ? PQntuples(res) : -1;
	for (int i = 0; res && i < 3 && i < PQnfields(res) && PQntuples(res) > 0; i++)
		snprintf(q->val[i], sizeof q->val[i], "%s", PQgetvalue(res, 0, i));
}

PgtestQ pgtest_sql(uv_loop_t *loop, PgConn *c, const char *s)
{
	PgtestQ q = { 0 };
	int r = pgconn_query(c, s, 0, NULL, pgtest_q_done, &q);
	CHECKF(r == 0, "pgconn_query %s: %d", s, r);
	if (r == 0)
		CHECKF(pgtest_wait_flag(loop, &q.called, 10000), "no answer to %s", s);
	CHECKF(q.ok, "%s: %s", s, q.err);
	return q;
}

long long pgtest_num(uv_loop_t *loop, PgConn *c, const char *s)
{
	PgtestQ q = pgtest_sql(loop, c, s);
	return strtoll(q.val[0], NULL, 10);
}

PgtestQ pgtest_sqlf(uv_loop_t *loop, PgConn *c, const char *fmt, ...)
{
	char s[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s, sizeof s, fmt, ap);
	va_end(ap);
	return pgtest_sql(loop, c, s);
}

typedef struct Step {
	int called, rc;
	char err[256];
} Step;

static void step_done(void *arg, int rc, const char *why)
{
	Step *o = arg;
	o->called = 1;
	o->rc = rc;
	snprintf(o->err, sizeof o->err, "%s", why);
}

void pgtest_schema(uv_loop_t *loop, PgConn *c)
{
	/* What the PostgreSQL backend sends: each step and its stamp as one
	 * batch (one transaction). */
	for (int v = schema_empty(SCHEMA_PG) + 1; v <= SCHEMA_VERSION; v++) {
		Step b = { 0 };
		CHECK(pgconn_batch_begin(c) == 0);
		const char *s;
		for (int i = 0; (s = schema_stmt(SCHEMA_PG, v, i)) != NULL; i++)
			CHECK(pgconn_query(c, s, 0, NULL, NULL, NULL) == 0);
		char stamp[64];
		schema_stamp(SCHEMA_PG, v, stamp, sizeof stamp);
		CHECK(pgconn_query(c, stamp, 0, NULL, NULL, NULL) == 0);
		CHECK(pgconn_batch_commit(c, step_done, &b) == 0);
		CHECKF(pgtest_wait_flag(loop, &b.called, 20000), "step %d: no answer", v);
		CHECKF(b.rc == 0, "step %d: %s", v, b.err);
	}
	CHECK(pgtest_num(loop, c, "SELECT version FROM jobd_schema") == SCHEMA_VERSION);
}
