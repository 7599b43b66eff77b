/* Tests of src/run/proc.c: naming a run's process, and finding and ending
 * what is left of its session after the daemon that started it died, without
 * touching a process that merely has the same pid. */
#include "run/run.h"
#include "unit.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void test_token(void)
{
	char tok[128];
	CHECK(run_proc_token(getpid(), tok, sizeof tok) == 0);
	char *slash = strrchr(tok, '/');
	CHECKF(slash != NULL && slash - tok >= 32 && slash[1] >= '0' && slash[1] <= '9', "%s", tok);
	char again[128];
	CHECK(run_proc_token(getpid(), again, sizeof again) == 0 && strcmp(tok, again) == 0);
	CHECK(run_proc_token(0x3ffffff0, tok, sizeof tok) == -ENOENT);
	CHECK(run_proc_token(getpid(), tok, 8) == -ENAMETOOLONG);
	CHECK(run_proc_token(-1, tok, sizeof tok) == -EINVAL);
}

static int64_t boottime(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The token from the clock around a start (run_proc_token_born) is the one
 * /proc gives, whether the clock settles it or /proc is read. */
static void test_token_born(void)
{
	int64_t q = 1000000000 / sysconf(_SC_CLK_TCK);
	int same = 0, by_clock = 0, n = 40;
	for (int i = 0; i < n; i++) {
		int64_t lo = boottime();
		pid_t pid = fork();
		if (pid == 0) {
			pause();
			_exit(0);
		}
		int64_t hi = boottime();
		if (pid < 0)
			break;
		char a[128], b[128];
		by_clock += lo / q == hi / q;
		same += run_proc_token_born(pid, lo, hi, a, sizeof a) == 0 &&
		        run_proc_token(pid, b, sizeof b) == 0 && strcmp(a, b) == 0;
		/* Instants in different ticks: /proc is read. */
		same += run_proc_token_born(pid, lo - q, hi, a, sizeof a) == 0 && strcmp(a, b) == 0;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	CHECKF(same == 2 * n, "%d of %d", same, 2 * n);
	CHECKF(by_clock > 0, "no start fell within one tick in %d tries", n);
	char tok[128];
	CHECK(run_proc_token_born(-1, 1, 2, tok, sizeof tok) == -EINVAL);
	CHECK(run_proc_token_born(getpid(), 10, 10, tok, 8) == -ENAMETOOLONG);
}

/* Waits (bounded) until pid is reaped: 1 if it was. */
static int reaped(pid_t pid)
{
	for (int i = 0; i < 500; i++) {
		pid_t r = waitpid(pid, NULL, WNOHANG);
		if (r == pid)
			return 1;
		if (r < 0)
			return 0;
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* A session as run_spawn makes one: a leader (setsid) with a child of its own. */
static void test_session(void)
{
	/* Become the reaper of orphaned descendants, as init would be. */
	CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
	int fds[2];
	CHECK(pipe(fds) == 0);
	fflush(stdout);
	pid_t leader = fork();
	CHECK(leader >= 0);
	if (leader == 0) {
		setsid();
		pid_t member = fork();
		if (member == 0) {
			for (;;)
				pause();
		}
		if (write(fds[1], &member, sizeof member) != sizeof member)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	pid_t member = 0;
	CHECK(read(fds[0], &member, sizeof member) == sizeof member && member > 0);
	close(fds[0]);

	char tok[128], bad[160];
	CHECK(run_proc_token(leader, tok, sizeof tok) == 0);
	CHECKF(run_signal_left(leader, tok, 0) == 2, "%d", run_signal_left(leader, tok, 0));

	/* Not the run's: another start time (the pid was reused), another boot,
	 * no token at all. Nothing is signalled. */
	char *slash = strrchr(tok, '/');
	snprintf(bad, sizeof bad, "%.*s/%llu", (int)(slash - tok), tok,
	         strtoull(slash + 1, NULL, 10) + 1);
	CHECK(run_signal_left(leader, bad, SIGKILL) == 0);
	snprintf(bad, sizeof bad, "00000000-0000-0000-0000-000000000000%s", slash);
	CHECK(run_signal_left(leader, bad, SIGKILL) == 0);
	CHECK(run_signal_left(leader, "", SIGKILL) == 0);
	CHECK(run_signal_left(leader, "garbage", SIGKILL) == 0);
	CHECK(run_signal_left(leader, tok, 0) == 2);

	/* The leader dies; its member, orphaned, is still found through the
	 * session id and ended. */
	kill(leader, SIGKILL);
	CHECK(reaped(leader));
	CHECK(run_signal_left(leader, tok, 0) == 1);
	CHECK(run_signal_left(leader, tok, SIGTERM) == 1);
	CHECK(reaped(member));
	CHECK(run_signal_left(leader, tok, 0) == 0);
	prctl(PR_SET_CHILD_SUBREAPER, 0);
}

int main(void)
{
	unit_prog = "t_proc";
	unit_run("token", test_token);
	unit_run("token-born", test_token_born);
	unit_run("session", test_session);
	return unit_done();
}
