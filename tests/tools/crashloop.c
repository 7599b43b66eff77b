/* crashloop: the crash-consistency test. Starts jobd, drives it through 9P
 * with random operations, and kills it with SIGKILL at random moments (in the
 * middle of a request, between requests, during start-up). After each restart
 * the name space must be exactly what the acknowledged operations made: the
 * jobs in creation order, each one's cmd, schedule and ctl state, and the
 * started/stopped lines its log holds. The one operation whose reply never
 * came may or may not have happened; either is accepted, and the model then
 * follows what is seen.
 *
 *   crashloop -jobd PATH -dir DIR [-iterations N] [-deadline S] [-seed N] [-jobs N]
 *             [-orphan SECONDS]
 *
 * DIR is the test's own directory (the database goes in DIR/db, jobd's
 * stderr in DIR/jobd.log). It runs N iterations (kill, restart, compare);
 * S is only a backstop against a jobd that has become unusably slow, and
 * how long the iterations took is information, not a check (rates belong
 * to make bench). One fast job runs "sleep SECONDS" (default 2.4917), which
 * the kills leave behind for recovery to end: the test looks for that
 * command line afterwards, so it gives a duration longer than itself and
 * its own to each run.
 * Prints "ok - durable/crash-..." lines. The operations are a table, ops[]:
 * create, start, stop, edit (cmd, schedule), delete. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "9p/fcall.h"
#include "client/client.h"

/* Job names come from a pool of MAXJOBS ("j00".."j39"), fewer under the
 * sanitizers, where each request costs several times as much. */
enum { MAXJOBS = 40, FAST = 3 };
static uint32_t pool = 24;

/* ---- the model ---- */

typedef struct MJob {
	char name[16];
	char sched[64];
	char cmd[128];
	int started;
	int nev;            /* started/stopped lines in its log; they alternate, "started" first */
} MJob;

typedef struct Model {
	int n;
	MJob j[MAXJOBS];    /* creation order */
} Model;

static MJob *find(Model *m, const char *name)
{
	for (int i = 0; i < m->n; i++)
		if (strcmp(m->j[i].name, name) == 0)
			return &m->j[i];
	return NULL;
}

/* ---- the daemon ---- */

static const char *jobd_path, *dir;
static char dbdir[512], sock[512], addr[520], logpath[512];
static volatile sig_atomic_t jobd_pid;      /* 0 when none is running */
static volatile sig_atomic_t killed;        /* the kill timer fired */
static int sanitized;
/* Set while the test waits for jobd to answer or exit: the kill timer is then
 * a watchdog, and a kill means jobd hung. */
static const char *watching;
static int watch_s;

static void on_alarm(int sig)
{
	(void)sig;
	if (jobd_pid > 0)
		kill((pid_t)jobd_pid, SIGKILL);
	killed = 1;
}

static void on_term(int sig)
{
	if (jobd_pid > 0)
		kill((pid_t)jobd_pid, SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void arm(long usec)
{
	struct itimerval it = { { 0, 0 }, { usec / 1000000, usec % 1000000 } };
	setitimer(ITIMER_REAL, &it, NULL);
}

static void disarm(void)
{
	arm(0);
}

static void msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void tail_log(void)
{
	FILE *f = fopen(logpath, "r");
	if (f == NULL)
		return;
	char line[1024];
	long nlines = 0;
	while (fgets(line, sizeof line, f))
		nlines++;
	rewind(f);
	for (long i = 0; fgets(line, sizeof line, f); i++)
		if (i >= nlines - 15)
			printf("#   jobd: %s", line);
	fclose(f);
}

static int nok;

static void fatal(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fatal(const char *name, const char *fmt, ...)
{
	disarm();
	va_list ap;
	va_start(ap, fmt);
	printf("not ok - durable/%s: ", name);
	vprintf(fmt, ap);
	if (watching && killed)
		printf(" (jobd did not finish %s within %d s; the test killed it)", watching, watch_s);
	printf("\n");
	va_end(ap);
	tail_log();
	if (jobd_pid > 0) {
		kill((pid_t)jobd_pid, SIGKILL);
		waitpid((pid_t)jobd_pid, NULL, 0);
	}
	fflush(stdout);
	exit(1);
}

static void jobd_start(int full)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		fatal("crash-harness", "fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd < 0 || nul < 0)
			_exit(126);
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(fd, 2);
		signal(SIGALRM, SIG_DFL);
		execl(jobd_path, jobd_path, "-dbdir", dbdir, "-fsaddr", addr, "-logtostderr",
		      "-sync", full ? "full" : "normal", (char *)NULL);
		_exit(127);
	}
	jobd_pid = pid;
}

/* The kill timer as a watchdog: SIGKILL for jobd if `what` takes longer
 * than s seconds. */
static void watch(const char *what, int s)
{
	killed = 0;
	watching = what;
	watch_s = s;
	arm((long)s * 1000000);
}

static void unwatch(void)
{
	disarm();
	watching = NULL;
}

/* Waits for the daemon to be gone; its status. */
static int jobd_reap(void)
{
	int st = 0;
	pid_t pid = (pid_t)jobd_pid;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	jobd_pid = 0;
	return st;
}

/* Connects once the daemon serves; fails the test if it exits instead. */
static Client *connect_ready(void)
{
	char why[256];
	double limit = now_s() + (sanitized ? 30 : 15);
	for (;;) {
		int st, fd;
		if (waitpid((pid_t)jobd_pid, &st, WNOHANG) == (pid_t)jobd_pid) {
			jobd_pid = 0;
			fatal("crash-restart", "jobd exited at start (status %#x)", st);
		}
		if (client_dial(addr, &fd, why, sizeof why) == 0) {
			Client *c = client_new(fd, P9_2000U, 0);
			if (client_version(c, why, sizeof why) == 0 &&
			    client_attach(c, "crashloop", (uint32_t)getuid(), "", why, sizeof why) == 0)
				return c;
			client_free(c);
		}
		if (now_s() > limit)
			fatal("crash-restart", "jobd not serving after %d s: %s", sanitized ? 30 : 15, why);
		msleep(2);
	}
}

/* ---- requests ---- */

enum { ACKED, REFUSED, LOST };

static int transport_error(int rc)
{
	return rc == -ECONNRESET || rc == -EPIPE || rc == -EPROTO || rc == -ECONNREFUSED ||
	       rc == -ENOTCONN;
}

/* The outcome of a request. A transport failure is only expected once the
 * kill timer has fired; otherwise the daemon died on its own. */
static int outcome(int rc, const char *what, const char *why)
{
	if (rc == 0)
		return ACKED;
	if (!transport_error(rc))
		return REFUSED;
	if (!killed) {
		int st;
		if (jobd_pid > 0 && waitpid((pid_t)jobd_pid, &st, WNOHANG) == (pid_t)jobd_pid) {
			jobd_pid = 0;
			fatal("crash-consistency", "%s: jobd died on its own (status %#x): %s", what, st,
			      why);
		}
		fatal("crash-consistency", "%s: connection failed with jobd still up: %s", what, why);
	}
	return LOST;
}

/* One 9P write, acknowledged or not: walk, open, Twrite, clunk. ACKED means
 * the Rwrite arrived. */
static int write9(Client *c, const char *path, const char *data, char *why, size_t n)
{
	uint32_t fid, iounit;
	int rc = client_open_fid(c, path, OWRITE, 0, &fid, &iounit, why, n);
	if (rc < 0)
		return outcome(rc, path, why);
	Fcall t = { .type = Twrite, .fid = fid, .offset = 0, .count = (uint32_t)strlen(data),
	            .data = (const uint8_t *)data };
	Fcall r;
	uint8_t *rb = NULL;
	rc = client_rpc(c, &t, &r, &rb, why, n);
	free(rb);
	int res = outcome(rc, path, why);
	if (res != LOST)
		client_clunk(c, fid);
	return res;
}

/* ---- operations ---- */

typedef struct Req {
	const struct Op *op;
	char name[16], sched[64], cmd[128];
	int bad;            /* made invalid on purpose */
} Req;

typedef struct Op {
	const char *name;
	int weight;
	void (*pick)(Model *m, Req *q);        /* chooses the arguments */
	int (*send)(Client *c, const Req *q, char *why, size_t n);  /* ACKED, REFUSED, LOST */
	int (*valid)(Model *m, const Req *q);  /* 1 if jobd must accept it */
	void (*apply)(Model *m, const Req *q); /* its effect, once accepted */
} Op;

static uint64_t rng;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n ? (uint32_t)(rng % n) : 0;
}

static const char *slow_scheds[] = {
	"0 0 1 1 * 2099", "@yearly", "30 4 1,15 * 5", "0 0/5 * * * ? 2098", "15 10 L * ?",
};
static const char *slow_cmds[] = {
	"echo hello world", "echo a:b:c", "true", "printf '%s\\n' x y", "exit 3",
};
/* The first FAST names run every second: run records and output lines are
 * being written when the kill comes, and some runs outlive the daemon. */
static char orphan_cmd[96] = "echo begin; sleep 2.4917; : crashloop-orphan";
static const char *fast_cmds[] = {
	"echo tick", "sleep 0.3; echo tock", orphan_cmd,
};

static void pick_name_any(Req *q)
{
	snprintf(q->name, sizeof q->name, "j%02u", rnd(pool));
}

/* Mostly an existing job; sometimes any name from the pool. */
static void pick_name_existing(Model *m, Req *q)
{
	if (m->n > 0 && rnd(10) != 0)
		snprintf(q->name, sizeof q->name, "%s", m->j[rnd((uint32_t)m->n)].name);
	else
		pick_name_any(q);
}

static void pick_create(Model *m, Req *q)
{
	/* Mostly a free name, while there is one; else any (a duplicate). */
	pick_name_any(q);
	for (int tries = 0; tries < 8 && m->n < (int)pool && rnd(5) != 0 && find(m, q->name);
	     tries++)
		pick_name_any(q);
	unsigned k = (unsigned)atoi(q->name + 1);
	if (k < FAST) {
		snprintf(q->sched, sizeof q->sched, "* * * * * * *");
		snprintf(q->cmd, sizeof q->cmd, "%s", fast_cmds[k]);
	} else {
		snprintf(q->sched, sizeof q->sched, "%s", slow_scheds[rnd(5)]);
		snprintf(q->cmd, sizeof q->cmd, "%s", slow_cmds[rnd(5)]);
	}
}

static void pick_create_bad(Model *m, Req *q)
{
	pick_create(m, q);
	snprintf(q->sched, sizeof q->sched, "%s", rnd(2) ? "61 * * * *" : "* * *");
	q->bad = 1;
}

static int send_create(Client *c, const Req *q, char *why, size_t n)
{
	char line[256];
	snprintf(line, sizeof line, "%s:%s:%s%s", q->name, q->sched, q->cmd, rnd(2) ? "\n" : "");
	return write9(c, "clone", line, why, n);
}

static int valid_create(Model *m, const Req *q)
{
	return !q->bad && find(m, q->name) == NULL;
}

static void apply_create(Model *m, const Req *q)
{
	MJob *j = &m->j[m->n++];
	memset(j, 0, sizeof *j);
	snprintf(j->name, sizeof j->name, "%s", q->name);
	snprintf(j->sched, sizeof j->sched, "%s", q->sched);
	snprintf(j->cmd, sizeof j->cmd, "%s", q->cmd);
}

static int send_ctl(Client *c, const Req *q, const char *verb, char *why, size_t n)
{
	char path[64];
	snprintf(path, sizeof path, "jobs/%s/ctl", q->name);
	return write9(c, path, verb, why, n);
}

static int send_start(Client *c, const Req *q, char *why, size_t n)
{
	return send_ctl(c, q, rnd(2) ? "start" : "START\n", why, n);
}

static int send_stop(Client *c, const Req *q, char *why, size_t n)
{
	return send_ctl(c, q, rnd(2) ? "stop" : "Stop\n", why, n);
}

static int valid_exists(Model *m, const Req *q)
{
	return find(m, q->name) != NULL;
}

static void apply_start(Model *m, const Req *q)
{
	MJob *j = find(m, q->name);
	if (!j->started) {
		j->started = 1;
		j->nev++;
	}
}

static void apply_stop(Model *m, const Req *q)
{
	MJob *j = find(m, q->name);
	if (j->started) {
		j->started = 0;
		j->nev++;
	}
}

/* Edits keep a fast job fast (its schedule and command class are what make
 * runs happen at the kill); slow jobs get another of the slow values. */
static int is_fast(const char *name) { return (unsigned)atoi(name + 1) < FAST; }

static void pick_edit_cmd(Model *m, Req *q)
{
	pick_name_existing(m, q);
	if (is_fast(q->name))
		snprintf(q->cmd, sizeof q->cmd, "%s", fast_cmds[atoi(q->name + 1)]);
	else
		snprintf(q->cmd, sizeof q->cmd, "%s", slow_cmds[rnd(5)]);
}

static void pick_edit_sched(Model *m, Req *q)
{
	pick_name_existing(m, q);
	snprintf(q->sched, sizeof q->sched, "%s", is_fast(q->name) ? "* * * * * * *" : slow_scheds[rnd(5)]);
}

static int send_edit_cmd(Client *c, const Req *q, char *why, size_t n)
{
	char path[64];
	snprintf(path, sizeof path, "jobs/%s/cmd", q->name);
	return write9(c, path, q->cmd, why, n);
}

static int send_edit_sched(Client *c, const Req *q, char *why, size_t n)
{
	char path[64], line[80];
	snprintf(path, sizeof path, "jobs/%s/schedule", q->name);
	snprintf(line, sizeof line, "%s%s", q->sched, rnd(2) ? "\n" : "");
	return write9(c, path, line, why, n);
}

static void apply_edit_cmd(Model *m, const Req *q)
{
	snprintf(find(m, q->name)->cmd, sizeof m->j[0].cmd, "%s", q->cmd);
}

static void apply_edit_sched(Model *m, const Req *q)
{
	snprintf(find(m, q->name)->sched, sizeof m->j[0].sched, "%s", q->sched);
}

static int send_delete(Client *c, const Req *q, char *why, size_t n)
{
	return send_ctl(c, q, rnd(2) ? "delete" : "DELETE\n", why, n);
}

/* Any job but the orphan-making one (the last fast name): its history keeps
 * the runs the kills interrupted, for the test to check that each was
 * settled. */
static void pick_delete(Model *m, Req *q)
{
	for (int tries = 0; tries < 8; tries++) {
		pick_name_existing(m, q);
		if (atoi(q->name + 1) != FAST - 1)
			return;
	}
	snprintf(q->name, sizeof q->name, "j%02d", FAST - 2);
}

/* A deleted job is gone for good: later jobs move up in creation order. */
static void apply_delete(Model *m, const Req *q)
{
	MJob *j = find(m, q->name);
	int i = (int)(j - m->j);
	memmove(&m->j[i], &m->j[i + 1], (size_t)(m->n - i - 1) * sizeof m->j[0]);
	m->n--;
}

static const Op ops[] = {
	{ "create", 6, pick_create, send_create, valid_create, apply_create },
	{ "create-bad", 1, pick_create_bad, send_create, valid_create, apply_create },
	{ "start", 5, pick_name_existing, send_start, valid_exists, apply_start },
	{ "stop", 4, pick_name_existing, send_stop, valid_exists, apply_stop },
	{ "edit-cmd", 2, pick_edit_cmd, send_edit_cmd, valid_exists, apply_edit_cmd },
	{ "edit-schedule", 2, pick_edit_sched, send_edit_sched, valid_exists, apply_edit_sched },
	{ "delete", 2, pick_delete, send_delete, valid_exists, apply_delete },
};

static const Op *pick_op(void)
{
	int total = 0;
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		total += ops[i].weight;
	int k = (int)rnd((uint32_t)total);
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		if (k < ops[i].weight)
			return &ops[i];
		k -= ops[i].weight;
	}
	return &ops[0];
}

/* ---- observing ---- */

static int endswith(const char *s, size_t len, const char *suf)
{
	size_t k = strlen(suf);
	return len >= k && memcmp(s + len - k, suf, k) == 0;
}

/* The schedule file without its ":<next run>" while started: the time is
 * "YYYY-MM-DD hh:mm:ss ..." or "never". */
static int strip_next(char *s)
{
	size_t len = strlen(s);
	if (endswith(s, len, ":never")) {
		s[len - 6] = '\0';
		return 1;
	}
	for (size_t i = len; i-- > 0;) {
		if (s[i] == ':' && len - i > 11 && s[i + 5] == '-' && s[i + 8] == '-' &&
		    s[i + 1] >= '0' && s[i + 1] <= '9') {
			s[i] = '\0';
			return 1;
		}
	}
	return 0;
}

/* Reads the whole name space into o. 0, or fails the test. */
static void observe(Client *c, Model *o)
{
	char why[256], **names, *data;
	size_t count, len;
	memset(o, 0, sizeof *o);
	if (client_list_dir(c, "jobs", &names, &count, why, sizeof why) < 0)
		fatal("crash-consistency", "listing jobs: %s", why);
	if (count > MAXJOBS)
		fatal("crash-consistency", "%zu jobs listed, at most %d can exist", count, MAXJOBS);
	for (size_t i = 0; i < count; i++) {
		MJob *j = &o->j[o->n++];
		char path[64];
		snprintf(j->name, sizeof j->name, "%s", names[i]);
		snprintf(path, sizeof path, "jobs/%s/cmd", names[i]);
		if (client_read_file(c, path, &data, &len, why, sizeof why) < 0)
			fatal("crash-consistency", "%s: %s", path, why);
		snprintf(j->cmd, sizeof j->cmd, "%s", data);
		free(data);
		snprintf(path, sizeof path, "jobs/%s/ctl", names[i]);
		if (client_read_file(c, path, &data, &len, why, sizeof why) < 0)
			fatal("crash-consistency", "%s: %s", path, why);
		if (strcmp(data, "started") != 0 && strcmp(data, "stopped") != 0)
			fatal("crash-consistency", "%s reads '%s'", path, data);
		j->started = strcmp(data, "started") == 0;
		free(data);
		snprintf(path, sizeof path, "jobs/%s/schedule", names[i]);
		if (client_read_file(c, path, &data, &len, why, sizeof why) < 0)
			fatal("crash-consistency", "%s: %s", path, why);
		if (j->started && !strip_next(data))
			fatal("crash-consistency", "%s of a started job has no next time: '%s'", path,
			      data);
		snprintf(j->sched, sizeof j->sched, "%s", data);
		free(data);
		snprintf(path, sizeof path, "jobs/%s/log", names[i]);
		if (client_read_file(c, path, &data, &len, why, sizeof why) < 0)
			fatal("crash-consistency", "%s: %s", path, why);
		for (char *p = data, *nl; *p; p = nl + 1) {
			nl = strchr(p, '\n');
			if (nl == NULL)
				fatal("crash-consistency", "%s: last line has no newline", path);
			size_t ll = (size_t)(nl - p);
			int s = endswith(p, ll, ":started"), cpl = endswith(p, ll, ":stopped");
			if (!s && !cpl)
				continue;
			if (s != (j->nev % 2 == 0))
				fatal("crash-consistency", "%s: '%.*s' out of turn (line %d of the kind)",
				      path, (int)ll, p, j->nev + 1);
			j->nev++;
		}
		free(data);
	}
	client_free_names(names, count);
}

static int same_fields(const Model *a, const Model *b)
{
	if (a->n != b->n)
		return 0;
	for (int i = 0; i < a->n; i++)
		if (strcmp(a->j[i].name, b->j[i].name) != 0 || strcmp(a->j[i].sched, b->j[i].sched) != 0 ||
		    strcmp(a->j[i].cmd, b->j[i].cmd) != 0 || a->j[i].started != b->j[i].started)
			return 0;
	return 1;
}

static int same_history(const Model *a, const Model *b)
{
	if (a->n != b->n)
		return 0;
	for (int i = 0; i < a->n; i++)
		if (strcmp(a->j[i].name, b->j[i].name) != 0 || a->j[i].nev != b->j[i].nev)
			return 0;
	return 1;
}

static void dump(const char *label, const Model *m)
{
	printf("#   %s: %d jobs\n", label, m->n);
	for (int i = 0; i < m->n; i++)
		printf("#     %s '%s' '%s' %s, %d started/stopped lines\n", m->j[i].name,
		       m->j[i].sched, m->j[i].cmd, m->j[i].started ? "started" : "stopped",
		       m->j[i].nev);
}

/* ---- the loop ---- */

int main(int argc, char **argv)
{
	double deadline = 600;
	long iterations = 300;
	uint64_t seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 20;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "-jobd"))
			jobd_path = argv[i + 1];
		else if (!strcmp(argv[i], "-dir"))
			dir = argv[i + 1];
		else if (!strcmp(argv[i], "-deadline"))
			deadline = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "-iterations"))
			iterations = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "-orphan"))
			snprintf(orphan_cmd, sizeof orphan_cmd, "echo begin; sleep %.16s; : crashloop-orphan",
			         argv[i + 1]);
		else if (!strcmp(argv[i], "-seed"))
			seed = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "-jobs"))
			pool = (uint32_t)atoi(argv[i + 1]);
	}
	if (jobd_path == NULL || dir == NULL || pool < FAST || pool > MAXJOBS) {
		fprintf(stderr, "usage: crashloop -jobd PATH -dir DIR [-iterations N] [-deadline S] "
		        "[-seed N] [-jobs %d..%d] [-orphan SECONDS]\n", FAST, MAXJOBS);
		return 2;
	}
	sanitized = getenv("JOBD_SANITIZED") != NULL;
	snprintf(dbdir, sizeof dbdir, "%s/db", dir);
	snprintf(sock, sizeof sock, "%s/crash.sock", dir);
	snprintf(addr, sizeof addr, "unix!%s", sock);
	snprintf(logpath, sizeof logpath, "%s/jobd.log", dir);
	rng = seed ? seed : 1;
	printf("# crashloop: seed %" PRIu64 ", %ld iterations (a deadline of %.0f s), %u job names\n",
	       seed, iterations, deadline, pool);

	struct sigaction sa = { 0 };
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	signal(SIGPIPE, SIG_IGN);

	Model m = { 0 }, o, after;
	Req pending = { 0 };
	int have_pending = 0;
	long it, acked = 0, refused = 0, lost = 0, lost_done = 0, boot_kills = 0;
	double t0 = now_s(), t_start = 0, t_observe = 0, t_ops = 0, t1;
	for (it = 0; it < iterations && now_s() - t0 < deadline; it++) {
		jobd_start(rnd(4) == 0);
		if (rnd(8) == 0) {
			/* Killed while starting: opening the store, settling
			 * interrupted runs, or just as it begins to listen. */
			msleep((long)rnd(sanitized ? 80 : 25));
			kill((pid_t)jobd_pid, SIGKILL);
			jobd_reap();
			boot_kills++;
			continue;
		}
		t1 = now_s();
		Client *c = connect_ready();
		t_start += now_s() - t1;
		t1 = now_s();
		watch("reading the name space", sanitized ? 120 : 60);
		observe(c, &o);
		unwatch();
		t_observe += now_s() - t1;
		if (have_pending) {
			after = m;
			if (pending.op->valid(&after, &pending))
				pending.op->apply(&after, &pending);
			int f = same_fields(&o, &m) || same_fields(&o, &after);
			int h = same_history(&o, &m) || same_history(&o, &after);
			if (!f || !h) {
				printf("#   unacknowledged %s %s '%s' '%s'\n", pending.op->name, pending.name,
				       pending.sched, pending.cmd);
				dump("acknowledged", &m);
				dump("observed", &o);
				fatal("crash-consistency", "iteration %ld: the state after a restart is "
				      "neither the acknowledged one nor that plus the unanswered request", it);
			}
			if (!same_fields(&o, &m) || !same_history(&o, &m))
				lost_done++;
		} else if (!same_fields(&o, &m) || !same_history(&o, &m)) {
			dump("acknowledged", &m);
			dump("observed", &o);
			fatal("crash-consistency", "iteration %ld: the state after a restart is not the "
			      "acknowledged one", it);
		}
		m = o;
		have_pending = 0;

		t1 = now_s();
		killed = 0;
		arm(sanitized ? 5000 + (long)rnd(120000) : 1000 + (long)rnd(50000));
		for (;;) {
			Req q = { 0 };
			char why[256] = "";
			q.op = pick_op();
			q.op->pick(&m, &q);
			int res = q.op->send(c, &q, why, sizeof why);
			if (res == LOST) {
				pending = q;
				have_pending = 1;
				lost++;
				break;
			}
			int want = q.op->valid(&m, &q);
			if (res == ACKED && !want)
				fatal("crash-consistency", "%s %s '%s' '%s' was accepted; it should fail",
				      q.op->name, q.name, q.sched, q.cmd);
			if (res == REFUSED && want)
				fatal("crash-consistency", "%s %s '%s' '%s' was refused: %s", q.op->name,
				      q.name, q.sched, q.cmd, why);
			if (res == ACKED) {
				q.op->apply(&m, &q);
				acked++;
			} else {
				refused++;
			}
		}
		disarm();
		client_free(c);
		jobd_reap();
		t_ops += now_s() - t1;
	}
	printf("# time: %.1f s starting, %.1f s reading the name space, %.1f s in requests\n",
	       t_start, t_observe, t_ops);

	/* A clean stop and start keep it all as well. */
	jobd_start(0);
	Client *c = connect_ready();
	watch("reading the name space", sanitized ? 120 : 60);
	observe(c, &o);
	unwatch();
	after = m;
	if (have_pending && pending.op->valid(&after, &pending))
		pending.op->apply(&after, &pending);
	if (!((same_fields(&o, &m) && same_history(&o, &m)) ||
	      (have_pending && same_fields(&o, &after) && same_history(&o, &after)))) {
		dump("acknowledged", &m);
		dump("observed", &o);
		fatal("crash-consistency", "final restart: state differs");
	}
	m = o;
	client_free(c);
	watch("its exit on SIGTERM", 60);
	kill((pid_t)jobd_pid, SIGTERM);
	int st = jobd_reap();
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fatal("crash-clean-stop", "jobd exited with status %#x on SIGTERM", st);
	unwatch();
	jobd_start(0);
	c = connect_ready();
	watch("reading the name space", sanitized ? 120 : 60);
	observe(c, &o);
	unwatch();
	client_free(c);
	if (!same_fields(&o, &m) || !same_history(&o, &m)) {
		dump("before", &m);
		dump("after", &o);
		fatal("crash-clean-stop", "a clean restart changed the state");
	}
	watch("its exit on SIGTERM", 60);
	kill((pid_t)jobd_pid, SIGTERM);
	st = jobd_reap();
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fatal("crash-clean-stop", "jobd exited with status %#x on SIGTERM", st);
	unwatch();

	double took = now_s() - t0;
	printf("ok - durable/crash-consistency (%ld restarts after SIGKILL in %.1f s: %ld "
	       "acknowledged and %ld refused requests kept exactly; %ld requests cut off, %ld of "
	       "which had happened; %ld kills during start-up; %d jobs)\n", it, took, acked,
	       refused, lost, lost_done, boot_kills, m.n);
	printf("ok - durable/crash-clean-stop\n");
	if (it < iterations) {
		printf("not ok - durable/crash-iterations: %ld of %ld iterations done when the %.0f s "
		       "deadline passed (jobd starts, answers or dies far slower than it should)\n",
		       it, iterations, deadline);
		nok++;
	} else {
		printf("ok - durable/crash-iterations (%ld)\n", it);
	}
	return nok ? 1 : 0;
}
