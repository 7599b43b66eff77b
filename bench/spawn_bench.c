/* spawn_bench: the machine's limit for starting processes, with glibc's
 * posix_spawn (clone(CLONE_VM|CLONE_VFORK), no page-table copy).
 *
 *   spawn_bench [-d SECS] [-k K] -- PROGRAM [ARGS...]
 *       A loop of PROGRAM, keeping up to K children alive and reaping each
 *       as it ends, for SECS seconds. Prints "spawns=N secs=S spawns_s=R
 *       inflight=K".
 *   spawn_bench -burst N -at UNIXSEC -- PROGRAM [ARGS...]
 *       At the unix second UNIXSEC (CLOCK_REALTIME, to the nanosecond), N
 *       children back to back, then reaps them all: what a cron daemon with
 *       N jobs due at that second could at best do. The children get
 *       JOBD_SCHEDULED=UNIXSEC, as jobd's runs do. Prints "burst=N
 *       spawn_ms=T" (the first spawn to the return of the last). */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchlib.h"

extern char **environ;

static const char usage[] = "usage: spawn_bench [-d SECS] [-k K] | -burst N -at UNIXSEC -- PROGRAM [ARGS...]";

static pid_t spawn_one(char **args, const posix_spawn_file_actions_t *fa)
{
	pid_t pid;
	int rc = posix_spawn(&pid, args[0], fa, NULL, args, environ);
	if (rc != 0)
		die("posix_spawn %s: %s", args[0], strerror(rc));
	return pid;
}

static int loop(char **args, const posix_spawn_file_actions_t *fa, double secs, int k)
{
	int64_t t0 = mono_ns(), end = t0 + (int64_t)(secs * 1e9);
	long done = 0, alive = 0;
	while (mono_ns() < end) {
		for (; alive < k; alive++)
			spawn_one(args, fa);
		int st;
		if (waitpid(-1, &st, 0) > 0) {
			alive--;
			done++;
		}
	}
	int64_t t1 = mono_ns();
	while (alive > 0 && wait(NULL) > 0)
		alive--;
	double s = (double)(t1 - t0) / 1e9;
	printf("spawns=%ld secs=%.3f spawns_s=%.1f inflight=%d\n", done, s, (double)done / s, k);
	return 0;
}

static int burst(char **args, const posix_spawn_file_actions_t *fa, long n, long long at)
{
	char sched[64];
	snprintf(sched, sizeof sched, "%lld", at);
	if (setenv("JOBD_SCHEDULED", sched, 1) < 0)
		die("setenv: %s", strerror(errno));
	struct timespec ts = { .tv_sec = (time_t)at, .tv_nsec = 0 };
	while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
	int64_t t0 = mono_ns();
	for (long i = 0; i < n; i++)
		spawn_one(args, fa);
	int64_t t1 = mono_ns();
	for (long i = 0; i < n; i++)
		if (wait(NULL) < 0)
			die("wait: %s", strerror(errno));
	printf("burst=%ld spawn_ms=%.3f\n", n, (double)(t1 - t0) / 1e6);
	return 0;
}

int main(int argc, char **argv)
{
	progname = "spawn_bench";
	double secs = 5;
	int k = 8, i = 1;
	long n = 0;
	long long at = 0;
	for (; i < argc && strcmp(argv[i], "--") != 0; i += 2) {
		if (i + 1 >= argc)
			die("%s", usage);
		if (!strcmp(argv[i], "-d"))
			secs = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "-k"))
			k = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "-burst"))
			n = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "-at"))
			at = atoll(argv[i + 1]);
		else
			die("unknown option %s", argv[i]);
	}
	if (i + 1 >= argc || k < 1 || k > 1024 || secs <= 0 || secs > 600 || n < 0 || n > 100000 ||
	    (n > 0) != (at > 0))
		die("%s", usage);
	char **args = argv + i + 1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	return n > 0 ? burst(args, &fa, n, at) : loop(args, &fa, secs, k);
}
