/* Tests of src/run/run.c against real children, on a libuv loop of the
 * test's own: what a run's child is given (a session, stdin from /dev/null,
 * every signal at its default and none blocked, its limits, its owner's
 * identity), what a child that cannot start says, that starting one copies
 * nothing of the daemon's memory (clone in jobd's memory; a run with a PAM
 * session is forked, and the same check tells the two apart), and pausing
 * and resuming a run's output. */
#include "run/run.h"
#include "run/run_int.h"
#include "unit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uv_loop_t loop;

typedef struct Got {
	char out[8192];             /* the first lines, each with a newline */
	size_t outlen;
	long lines;
	int done, gone, status;
	int late;                   /* lines after done */
	long pause_at;              /* run_output_pause at this line (0: never) */
	int pid, started;           /* from the started callback */
	int inflight;               /* starts on their way when done came */
	int64_t start_ns;
	Run *r;
} Got;

static void got_line(void *arg, const char *text, size_t len)
{
	Got *g = arg;
	if (g->done)
		g->late++;
	if (g->outlen + len + 1 < sizeof g->out) {
		memcpy(g->out + g->outlen, text, len);
		g->outlen += len;
		g->out[g->outlen++] = '\n';
		g->out[g->outlen] = '\0';
	}
	if (++g->lines == g->pause_at)
		run_output_pause(g->r);
}

static void got_done(void *arg, int status)
{
	Got *g = arg;
	g->done++;
	g->status = status;
	g->inflight = spawner_inflight();
}

static void got_gone(void *arg)
{
	((Got *)arg)->gone++;
}

static void got_started(void *arg, int pid, int64_t start_ns)
{
	Got *g = arg;
	g->start_ns = start_ns;
	g->started++;
	g->pid = pid;
}

static const RunCallbacks cbs = { .line = got_line, .done = got_done, .gone = got_gone,
                                  .started = got_started };

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Turns the loop for ms milliseconds, or until *flag is set: its value. */
static int spin(const int *flag, int ms)
{
	int64_t end = now_ms() + ms;
	while ((!flag || !*flag) && now_ms() < end) {
		uv_run(&loop, UV_RUN_NOWAIT);
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	return flag ? *flag : 0;
}

/* Starts spec's command and waits for its child to have started (the
 * spawner thread hands it back to the loop): run_spawn's result; g->r and
 * *pid set (0 if the child could not be started: the run ends, exit 127). */
static int start(const RunSpec *spec, Got *g, int *pid)
{
	char why[256] = "";
	int rc = run_spawn(&loop, spec, &cbs, g, &g->r, why, sizeof why);
	CHECKF(rc == 0, "run_spawn %s: %d %s", spec->cmd, rc, why);
	if (rc < 0)
		return rc;
	CHECKF(g->started == 0, "%s: started before run_spawn returned", spec->cmd);
	int64_t end = now_ms() + 10000;
	while (!g->started && !g->done && now_ms() < end)
		uv_run(&loop, UV_RUN_ONCE);
	CHECKF(g->started == 1 || g->done, "%s: never started", spec->cmd);
	*pid = g->pid;
	return 0;
}

/* Runs cmd with spec (cmd filled in) to its end: 0, or -1 (said). */
static int run(RunSpec *spec, const char *cmd, Got *g)
{
	int pid;
	spec->cmd = cmd;
	if (start(spec, g, &pid) < 0)
		return -1;
	CHECKF(spin(&g->gone, 10000), "%s did not end", cmd);
	spin(NULL, 5);              /* the handles' closes */
	CHECKF(g->done == 1 && g->gone == 1 && g->late == 0, "%s: done %d gone %d late %d",
	       cmd, g->done, g->gone, g->late);
	return g->gone ? 0 : -1;
}

static void test_output_and_status(void)
{
	RunSpec spec = { 0 };
	Got g = { 0 };
	if (run(&spec, "echo one; echo two >&2; printf three; exit 3", &g) < 0)
		return;
	CHECKF(strcmp(g.out, "one\ntwo\nthree\n") == 0, "%s", g.out);
	CHECK(g.status == 3);
	Got k = { 0 };
	if (run(&spec, "kill -TERM $$", &k) == 0)
		CHECKF(k.status == -SIGTERM, "%d", k.status);
}

/* The leader exits (status 5) while a process it left holds the output open
 * and prints more: the run ends when that one has gone too, with every line
 * it printed (the last 300 000 bytes written at once and the pipe closed
 * right after, so that they and the end may come in one event), and with the
 * leader's status, read after its exit was seen. */
static void test_output_outlives_leader(void)
{
	RunSpec spec = { 0 };
	Got g = { 0 };
	if (run(&spec, "(sleep 0.3; echo late; head -c 300000 /dev/zero | tr '\\0' x; echo) & "
	               "echo early; exit 5", &g) < 0)
		return;
	CHECKF(g.status == 5, "status %d", g.status);
	CHECKF(strncmp(g.out, "early\nlate\nxxx", 14) == 0, "%.40s", g.out);
	/* early, late, then 300 000 bytes in lines of at most 4096: 73 full, 1 of 992 */
	CHECKF(g.lines == 2 + 74, "%ld lines", g.lines);
}

/* While a start is on its way (held for its instant, 600 ms ahead), what
 * ends runs waits (run.c, "the ends wait"): runs that end meanwhile still
 * end whole, with their statuses: a silent one, and one printing 3 000
 * lines on stdout and stderr. With two spawner threads or more they end
 * while that start is still on its way, which is what this is about. */
static void test_ends_wait(void)
{
	char why[256];
	Got a = { 0 }, b = { 0 }, c = { 0 };
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	RunSpec held = { .cmd = "exit 4", .not_before_ns = now + 600000000 };
	RunSpec quiet = { .cmd = "exit 3" };
	RunSpec loud = { .cmd = "i=0; while [ $i -lt 1500 ]; do echo o$i; echo e$i >&2; i=$((i+1)); done; exit 2" };
	int rc = run_spawn(&loop, &held, &cbs, &a, &a.r, why, sizeof why);
	CHECKF(rc == 0, "run_spawn held: %s", why);
	if (rc < 0)
		return;
	CHECK(run_spawn(&loop, &quiet, &cbs, &b, &b.r, why, sizeof why) == 0);
	CHECK(run_spawn(&loop, &loud, &cbs, &c, &c.r, why, sizeof why) == 0);
	int64_t end = now_ms() + 20000;
	while (!(a.gone && b.gone && c.gone) && now_ms() < end)
		spin(NULL, 5);
	spin(NULL, 5);
	CHECKF(a.gone == 1 && a.done == 1 && a.status == 4, "held: gone %d done %d status %d",
	       a.gone, a.done, a.status);
	CHECKF(b.gone == 1 && b.done == 1 && b.status == 3, "quiet: gone %d done %d status %d",
	       b.gone, b.done, b.status);
	CHECKF(c.gone == 1 && c.done == 1 && c.status == 2 && c.lines == 3000 && c.late == 0,
	       "loud: gone %d done %d status %d lines %ld late %d", c.gone, c.done, c.status,
	       c.lines, c.late);
	if (sysconf(_SC_NPROCESSORS_ONLN) >= 2)
		CHECKF(b.inflight > 0 && c.inflight > 0, "ended with %d and %d starts on their way",
		       b.inflight, c.inflight);
}

/* Its own session and group, led by the shell (the pid run_spawn gave),
 * stdin from /dev/null. */
static void test_session(void)
{
	RunSpec spec = { 0 };
	Got g = { 0 };
	int pid;
	spec.cmd = "echo $$; cut -d' ' -f5,6 /proc/$$/stat; readlink /proc/$$/fd/0";
	if (start(&spec, &g, &pid) < 0)
		return;
	spin(&g.gone, 10000);
	spin(NULL, 5);
	char want[128];
	snprintf(want, sizeof want, "%d\n%d %d\n/dev/null\n", pid, pid, pid);
	CHECKF(strcmp(g.out, want) == 0, "got %s, want %s", g.out, want);
}

static void no_op(int sig)
{
	(void)sig;
}

/* jobd ignores, handles and blocks signals; its runs get none of that. The
 * raw call also sets glibc's internal 32 (which glibc's sigaction refuses). */
static void test_signals_reset(void)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, hnd = { .sa_handler = no_op }, o1, o2, o3;
	sigaction(SIGUSR1, &ign, &o1);
	sigaction(SIGTERM, &hnd, &o2);
	sigaction(SIGRTMIN, &ign, &o3);
#if defined(__x86_64__) || defined(__aarch64__)
	unsigned long ka[16] = { (unsigned long)SIG_IGN }, kold[16];
	syscall(SYS_rt_sigaction, 32, ka, kold, (size_t)8);
#endif
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);

	RunSpec spec = { 0 };
	Got g = { 0 };
	run(&spec, "grep -E '^Sig(Blk|Ign):' /proc/$$/status | tr -d '\\t'", &g);
	CHECKF(strcmp(g.out, "SigBlk:0000000000000000\nSigIgn:0000000000000000\n") == 0, "%s", g.out);

	sigprocmask(SIG_SETMASK, &old, NULL);
#if defined(__x86_64__) || defined(__aarch64__)
	syscall(SYS_rt_sigaction, 32, kold, NULL, (size_t)8);
#endif
	sigaction(SIGUSR1, &o1, NULL);
	sigaction(SIGTERM, &o2, NULL);
	sigaction(SIGRTMIN, &o3, NULL);
}

static void test_limits(void)
{
	struct rlimit before, after;
	getrlimit(RLIMIT_NOFILE, &before);
	RunSpec spec = { .nlimits = 2 };
	spec.limits[0] = (RunLimit){ RLIMIT_NOFILE, 77 };
	spec.limits[1] = (RunLimit){ RLIMIT_CORE, 0 };
	Got g = { 0 };
	run(&spec, "ulimit -n; ulimit -c", &g);
	CHECKF(strcmp(g.out, "77\n0\n") == 0, "%s", g.out);
	getrlimit(RLIMIT_NOFILE, &after);
	CHECK(before.rlim_cur == after.rlim_cur && before.rlim_max == after.rlim_max);
}

/* A directory that cannot be entered: the run's first line says so, and it
 * exits 127; unless it is optional (a missing HOME), then "/". */
static void test_cannot_run(void)
{
	RunSpec spec = { .dir = "/nonexistent-jobd-t_run" };
	Got g = { 0 };
	run(&spec, "echo ran", &g);
	CHECKF(strcmp(g.out, "cannot run: chdir /nonexistent-jobd-t_run: No such file or directory\n") == 0,
	       "%s", g.out);
	CHECK(g.status == 127);
	Got o = { 0 };
	spec.dir_optional = 1;
	run(&spec, "pwd", &o);
	CHECKF(strcmp(o.out, "/\n") == 0 && o.status == 0, "%s %d", o.out, o.status);
}

static void *idle_thread(void *arg)
{
	int *fd = arg;
	char c;
	while (read(*fd, &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/* /proc/self/task/TID/status's line that starts with key. */
static void task_line(pid_t tid, const char *key, char *buf, size_t n)
{
	char path[64], line[512];
	snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)tid);
	FILE *f = fopen(path, "re");
	buf[0] = '\0';
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, key, strlen(key)) == 0) {
			size_t len = strlen(line) < n ? strlen(line) : n - 1;
			memcpy(buf, line, len);
			buf[len] = '\0';
		}
	if (f)
		fclose(f);
}

static pid_t idle_tid;

static void *idle_thread_tid(void *arg)
{
	idle_tid = (pid_t)syscall(SYS_gettid);
	return idle_thread(arg);
}

/* As root, a run is its owner: uid, gid and the groups initgroups would give.
 * The child changes them in jobd's memory (raw system calls, not glibc's
 * all-threads set*id), and only its own: jobd and its other threads (here: a
 * second one) keep theirs. */
static void test_identity(void)
{
	struct passwd *pw = getpwnam("nobody");
	int ctl[2];
	pthread_t th;
	CHECK(pipe(ctl) == 0);
	CHECK(pthread_create(&th, NULL, idle_thread_tid, &ctl[0]) == 0);
	while (!__atomic_load_n(&idle_tid, __ATOMIC_SEQ_CST))
		spin(NULL, 1);
	char uid_before[256], gid_before[256], uid_after[256], gid_after[256];
	task_line(idle_tid, "Uid:", uid_before, sizeof uid_before);
	task_line(idle_tid, "Groups:", gid_before, sizeof gid_before);

	RunSpec spec = { .user = "nobody", .uid = (uint32_t)pw->pw_uid, .gid = (uint32_t)pw->pw_gid, .dir = "/" };
	Got g = { 0 };
	run(&spec, "id -u; id -g; id -G", &g);
	gid_t groups[64];
	int ng = 64;
	CHECK(getgrouplist("nobody", pw->pw_gid, groups, &ng) >= 0);
	char want[1024];
	int len = snprintf(want, sizeof want, "%u\n%u\n", (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
	for (int i = 0; i < ng && len < (int)sizeof want - 16; i++)
		len += snprintf(want + len, sizeof want - (size_t)len, "%s%u", i ? " " : "", (unsigned)groups[i]);
	snprintf(want + len, sizeof want - (size_t)len, "\n");
	CHECKF(strcmp(g.out, want) == 0, "got %s, want %s", g.out, want);

	task_line(idle_tid, "Uid:", uid_after, sizeof uid_after);
	task_line(idle_tid, "Groups:", gid_after, sizeof gid_after);
	CHECKF(strcmp(uid_before, uid_after) == 0, "the other thread's ids changed: %s", uid_after);
	CHECKF(strcmp(gid_before, gid_after) == 0, "the other thread's groups changed: %s", gid_after);
	CHECK(getuid() == 0 && geteuid() == 0 && getgid() == 0);
	close(ctl[1]);
	pthread_join(th, NULL);
	close(ctl[0]);
}

static long minflt(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/* The pages of a large heap that are written again after one spawn: with a
 * copy of the address space (fork) every one of them faults (copy-on-write),
 * in place (clone(CLONE_VM)) none does. pam: run with this PAM handle (so,
 * forked). Returns the faults. */
static long faults_after_spawn(RunPam *pam)
{
	size_t size = 64u << 20, page = (size_t)sysconf(_SC_PAGESIZE);
	char *heap = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (heap == MAP_FAILED)
		return -1;
	madvise(heap, size, MADV_NOHUGEPAGE);  /* one fault per 4 KiB page, not per 2 MiB */
	memset(heap, 1, size);
	RunSpec spec = { .cmd = "true", .pam = pam, .user = pam ? "root" : NULL };
	Got g = { 0 };
	int pid;
	long before = minflt(), after = -1;
	if (start(&spec, &g, &pid) == 0) {
		for (size_t i = 0; i < size; i += page)
			heap[i] = 2;
		after = minflt();
		spin(&g.gone, 10000);
		spin(NULL, 5);
		CHECKF(g.status == 0 && g.outlen == 0, "%d %s", g.status, g.out);
	}
	munmap(heap, size);
	return after < 0 ? -1 : after - before;
}

static void test_memory_not_copied(void)
{
	long cloned = faults_after_spawn(NULL);
	CHECKF(cloned >= 0 && cloned < 1024, "%ld minor faults after a spawn", cloned);
	/* The same check sees the copy where there is one: a run with a PAM
	 * session (pam_permit, from a directory of this test's) is forked. */
	char dir[] = "/tmp/t_run.XXXXXX", path[64], why[256];
	RunPam *pam = NULL;
	if (geteuid() != 0 || !mkdtemp(dir)) {
		printf("# t_run/memory_not_copied: no forked peer (needs root)\n");
		return;
	}
	snprintf(path, sizeof path, "%s/t_run", dir);
	FILE *f = fopen(path, "w");
	if (f) {
		fputs("account required pam_permit.so\nsession required pam_permit.so\n", f);
		fclose(f);
	}
	if (run_pam_new("t_run", dir, "root", &pam, why, sizeof why) == 0) {
		long forked = faults_after_spawn(pam);
		CHECKF(forked >= 16000, "%ld minor faults after a forked spawn", forked);
		run_pam_free(pam);
	} else {
		printf("# t_run/memory_not_copied: no forked peer: %s\n", why);
	}
	unlink(path);
	rmdir(dir);
}

/* The leader's token from the clock around its start (run_token) is the
 * one /proc gives (run_proc_token), spawn after spawn. */
static void test_token(void)
{
	int same = 0, n = 20;
	for (int i = 0; i < n; i++) {
		RunSpec spec = { .cmd = "exec sleep 5" };
		Got g = { 0 };
		int pid;
		if (start(&spec, &g, &pid) < 0)
			return;
		char a[128] = "", b[128] = "";
		same += run_token(g.r, a, sizeof a) == 0 && run_proc_token(pid, b, sizeof b) == 0 &&
		        strcmp(a, b) == 0;
		run_kill(g.r, SIGKILL);
		CHECKF(spin(&g.gone, 10000), "run %d did not end", i);
		spin(NULL, 5);
	}
	CHECKF(same == n, "%d of %d tokens as /proc says", same, n);
}

static void got_errline(void *arg, const char *text, size_t len)
{
	char line[256];
	snprintf(line, sizeof line, "E:%.*s", (int)(len < 200 ? len : 200), text);
	got_line(arg, line, strlen(line));
}

/* With many descriptors open (a busy jobd), the child is started on jobd's
 * table and keeps only the few low ones it needs (run.c, "slots"): it sees
 * its stdin, stdout and stderr and none of the test's (which are not even
 * close-on-exec), and its output still reaches its end (jobd keeps no write
 * end of it), with stderr on the same pipe or on its own. */
static void test_shared_table(void)
{
	int extra[80], n;
	run_slots_init();
	for (n = 0; n < 80; n++)
		if ((extra[n] = open("/dev/null", O_RDONLY)) < 0)
			break;
	CHECKF(n == 80, "only %d descriptors", n);
	for (int split = 0; split < 2; split++) {
		RunSpec spec = { 0 };
		Got g = { 0 };
		RunCallbacks cb = { .line = got_line, .done = got_done, .gone = got_gone,
		                    .errline = split ? got_errline : NULL, .started = got_started };
		char why[256] = "";
		spec.cmd = "echo out; echo err >&2; ls /proc/self/fd | wc -l";
		int rc = run_spawn(&loop, &spec, &cb, &g, &g.r, why, sizeof why);
		CHECKF(rc == 0, "run_spawn: %s", why);
		if (rc < 0)
			continue;
		CHECKF(spin(&g.gone, 10000), "split %d: did not end", split);
		spin(NULL, 5);
		/* Every line (with stderr on its own pipe, in either order), and
		 * ls's count: its own 0, 1, 2 and the directory it reads, at most a
		 * few the test had below the slots (not close-on-exec), none of
		 * the 80. */
		int fds = -1;
		for (const char *l = g.out; *l; l = strchr(l, '\n') + 1)
			if (*l >= '0' && *l <= '9')
				fds = atoi(l);
		CHECKF(strstr(g.out, "out\n") && strstr(g.out, split ? "E:err\n" : "err\n") &&
		       fds >= 4 && fds < 16, "split %d: %s", split, g.out);
		CHECK(g.status == 0 && g.done == 1);
	}
	while (n-- > 0)
		close(extra[n]);
}

/* A paused run is not read: its child blocks on the full pipe, and it does
 * not end until resumed; then every line comes, and the end. */
static void test_pause_resume(void)
{
	RunSpec spec = { 0 };
	Got g = { .pause_at = 1 };
	int pid;
	spec.cmd = "seq 1 200000";
	if (start(&spec, &g, &pid) < 0)
		return;
	/* Paused at its first line; the rest of that one read still comes. */
	for (int i = 0; i < 10000 && g.lines == 0; i++)
		spin(NULL, 1);
	long seen = g.lines;
	run_output_pause(g.r);      /* again: a no-op */
	spin(&g.done, 500);
	CHECKF(g.done == 0 && g.lines == seen && seen < 20000, "paused: done %d after %ld, then %ld lines",
	       g.done, seen, g.lines);
	char st[64];
	snprintf(st, sizeof st, "/proc/%d/stat", pid);
	CHECK(access(st, F_OK) == 0);   /* alive (or at least unreaped) */
	run_output_resume(g.r);
	run_output_resume(g.r);     /* again: a no-op */
	CHECK(spin(&g.gone, 10000));
	spin(NULL, 5);
	CHECKF(g.lines == 200000 && g.status == 0 && g.late == 0, "%ld lines, status %d", g.lines,
	       g.status);
}

/* Killed while paused: still no end (the output has not reached its end)
 * until resumed; run_abandon of a paused run ends it at once. */
static void test_pause_kill_abandon(void)
{
	RunSpec spec = { .cmd = "seq 1 200000" };
	Got g = { .pause_at = 1 };
	int pid;
	if (start(&spec, &g, &pid) < 0)
		return;
	spin(NULL, 100);
	CHECK(run_kill(g.r, SIGKILL) == 0);
	spin(&g.done, 300);
	CHECKF(g.done == 0, "done while paused");
	run_output_resume(g.r);
	CHECK(spin(&g.gone, 10000));
	spin(NULL, 5);
	CHECKF(g.status == -SIGKILL, "%d", g.status);

	Got a = { .pause_at = 1 };
	if (start(&spec, &a, &pid) < 0)
		return;
	spin(NULL, 100);
	run_abandon(a.r);
	CHECK(a.done == 1 && a.gone == 1 && a.status == -SIGKILL);
	spin(NULL, 5);
	/* Abandoned, it is left alone: its pipe closed, it dies of SIGPIPE. */
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, NULL, 0) == pid);
}

/* Before its child has started (the spawner has it), a run can be killed
 * (the signal waits for the child) and abandoned (the start is cancelled,
 * or the child, if it came, is killed: nothing of it outlives the start). */
static void test_before_start(void)
{
	char why[256] = "";
	RunSpec spec = { .cmd = "exec sleep 100" };
	Got g = { 0 };
	int rc = run_spawn(&loop, &spec, &cbs, &g, &g.r, why, sizeof why);
	CHECKF(rc == 0, "run_spawn: %s", why);
	if (rc < 0)
		return;
	CHECK(run_kill(g.r, SIGKILL) == 0);
	CHECKF(spin(&g.gone, 10000), "killed before its start, it did not end");
	spin(NULL, 5);
	CHECKF(g.started == 1 && g.status == -SIGKILL, "started %d status %d", g.started, g.status);

	Got a = { 0 };
	rc = run_spawn(&loop, &spec, &cbs, &a, &a.r, why, sizeof why);
	CHECKF(rc == 0, "run_spawn: %s", why);
	if (rc < 0)
		return;
	run_abandon(a.r);
	CHECK(a.done == 1 && a.gone == 1 && a.status == -SIGKILL && a.started == 0);
	int64_t end = now_ms() + 10000;
	while (spawner_inflight() && now_ms() < end)
		uv_run(&loop, UV_RUN_ONCE);
	CHECKF(spawner_inflight() == 0, "the start never came back");
	CHECK(a.started == 0);
	/* Every child of this process is dead (a zombie, reaped here) or gone. */
	int live = 0, seen = 0;
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		char path[300];
		long pid;
		snprintf(path, sizeof path, "/proc/self/task/%s/children", e->d_name);
		FILE *f = e->d_name[0] == '.' ? NULL : fopen(path, "re");
		while (f && fscanf(f, "%ld", &pid) == 1) {
			seen++;
			/* SIGKILL was sent when the start came back: it dies at once
			 * (waited for 5 s at most; one still alive then is killed here
			 * and counted). */
			siginfo_t si = { 0 };
			int64_t until = now_ms() + 5000;
			while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG) == 0 && si.si_pid == 0 &&
			       now_ms() < until)
				spin(NULL, 1);
			if (si.si_pid == 0) {
				kill((pid_t)pid, SIGKILL);
				waitpid((pid_t)pid, NULL, 0);
			}
			if (si.si_pid == 0 || si.si_code != CLD_KILLED)
				live++;
		}
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	/* None if the spawner had not begun it (cancelled), else one, killed. */
	CHECKF(seen <= 1 && live == 0, "%d children, %d not killed", seen, live);
}

/* A start handed over ahead of its instant (not_before_ns) waits for it on
 * the spawner thread: run_spawn returns at once, the loop keeps turning, and
 * the child starts at the instant, not before. */
static void test_not_before(void)
{
	char why[256];
	Got g = { 0 };
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	RunSpec spec = { .cmd = "true", .not_before_ns = now + 300000000 };
	int64_t t0 = now_ms();
	int rc = run_spawn(&loop, &spec, &cbs, &g, &g.r, why, sizeof why);
	CHECKF(rc == 0, "run_spawn: %s", why);
	if (rc < 0)
		return;
	CHECKF(now_ms() - t0 < 100, "run_spawn waited %lld ms", (long long)(now_ms() - t0));
	/* The loop turns meanwhile (1 ms apart here) until the start comes back. */
	int ticks_before = -1, ticks = 0;
	int64_t end = now_ms() + 10000;
	while (!g.gone && now_ms() < end) {
		uv_run(&loop, UV_RUN_NOWAIT);
		if (!g.started)
			ticks++;
		else if (ticks_before < 0)
			ticks_before = ticks;
		struct timespec d = { 0, 1000000 };
		nanosleep(&d, NULL);
	}
	spin(NULL, 5);
	CHECKF(g.gone && g.status == 0, "gone %d status %d", g.gone, g.status);
	CHECKF(ticks_before >= 50, "the loop turned %d times before the start", ticks_before);
	/* The started callback's time is the child's birth, after the instant. */
	CHECKF(g.start_ns >= spec.not_before_ns, "started %lld ns early",
	       (long long)(spec.not_before_ns - g.start_ns));
	CHECKF(g.start_ns - spec.not_before_ns < 200000000, "started %lld ms late",
	       (long long)((g.start_ns - spec.not_before_ns) / 1000000));
}

/* A run's start time is when the child first ran by its own clock, not when
 * the starting thread got back to its own: a thread that comes back late (a
 * loaded machine) made a run of "sleep 0.3" end 0.3 s after a start stamped
 * late, "in 290ms". Without the child's reading (forked), the time before
 * the start: early rather than late. */
static void test_born(void)
{
	Spawn s;
	memset(&s, 0, sizeof s);
	spawn_before(&s);
	int64_t wall = s.wall_lo, lo = s.born_lo;
	CHECK(wall > 0 && lo > 0);
	s.c.born_ns = lo + 5000000;                 /* born 5 ms after */
	struct timespec d = { 0, 50000000 };        /* the thread back 50 ms later */
	nanosleep(&d, NULL);
	spawn_born(&s);
	CHECKF(s.start_ns == wall + 5000000, "start %lld ns after the clock before it",
	       (long long)(s.start_ns - wall));
	CHECK(s.born_hi == lo + 5000000);
	/* No reading (forked: its own memory): the time before the start. */
	spawn_before(&s);
	wall = s.wall_lo;
	nanosleep(&d, NULL);
	spawn_born(&s);
	CHECKF(s.start_ns == wall, "start %lld ns after the clock before it",
	       (long long)(s.start_ns - wall));
	CHECK(s.born_hi >= s.born_lo + 50000000);
	/* A real one: born between the two readings, its start no later than
	 * what its first command saw. */
	Got g = { 0 };
	RunSpec spec = { 0 };
	if (run(&spec, "exec date +%s%N", &g) < 0)
		return;
	long long saw = atoll(g.out);
	CHECKF(g.start_ns > 0 && g.start_ns <= saw, "started at %lld, its date said %lld",
	       (long long)g.start_ns, saw);
}

/* Many starts handed over in one go (a burst): each child starts once, in
 * order, and its run ends with its own output. */
static void test_burst(void)
{
	enum { N = 200 };
	static Got g[N];
	static char cmd[N][32];
	char why[256];
	int ok = 0, order = 1, distinct = 1;
	memset(g, 0, sizeof g);
	for (int i = 0; i < N; i++) {
		snprintf(cmd[i], sizeof cmd[i], "echo %d", i);
		RunSpec spec = { .cmd = cmd[i] };
		if (run_spawn(&loop, &spec, &cbs, &g[i], &g[i].r, why, sizeof why) < 0) {
			CHECKF(0, "run_spawn %d: %s", i, why);
			return;
		}
	}
	int64_t end = now_ms() + 30000;
	for (int i = 0; i < N; i++)
		while (!g[i].gone && now_ms() < end)
			uv_run(&loop, UV_RUN_ONCE);
	spin(NULL, 5);
	for (int i = 0; i < N; i++) {
		char want[32];
		snprintf(want, sizeof want, "%d\n", i);
		ok += g[i].started == 1 && g[i].done == 1 && g[i].gone == 1 && g[i].status == 0 &&
		      strcmp(g[i].out, want) == 0;
		if (i && g[i].pid == g[i - 1].pid)
			distinct = 0;
		(void)order;
	}
	CHECKF(ok == N && distinct, "%d of %d runs as expected", ok, N);
}

int main(void)
{
	unit_prog = "t_run";
	setvbuf(stdout, NULL, _IOLBF, 0);
	uv_loop_init(&loop);
	unit_run("output_and_status", test_output_and_status);
	unit_run("output_outlives_leader", test_output_outlives_leader);
	unit_run("ends_wait", test_ends_wait);
	unit_run("session", test_session);
	unit_run("signals_reset", test_signals_reset);
	unit_run("limits", test_limits);
	unit_run("cannot_run", test_cannot_run);
	if (geteuid() == 0 && getpwnam("nobody"))
		unit_run("identity", test_identity);
	else
		printf("ok - t_run/identity # SKIP needs root and a user nobody\n");
	unit_run("memory_not_copied", test_memory_not_copied);
	unit_run("pause_resume", test_pause_resume);
	unit_run("pause_kill_abandon", test_pause_kill_abandon);
	unit_run("shared_table", test_shared_table);
	unit_run("token", test_token);
	unit_run("before_start", test_before_start);
	unit_run("burst", test_burst);
	unit_run("born", test_born);
	unit_run("not_before", test_not_before);
	char why[256];
	CHECKF(run_fini(why, sizeof why) == 0, "%s", why);    /* its handles too */
	spin(NULL, 20);
	CHECK(uv_loop_close(&loop) == 0);
	return unit_done();
}
