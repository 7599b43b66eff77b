/* spawn_bench: the machine's limit for starting processes. A plain
 * posix_spawn loop (glibc: clone(CLONE_VM|CLONE_VFORK), no page-table copy)
 * of PROGRAM, keeping up to K children alive and reaping each as it ends,
 * for SECS seconds.
 *
 *   spawn_bench [-d SECS] [-k K] -- PROGRAM [ARGS...]
 * prints "spawns=N secs=S spawns_s=R inflight=K". */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchlib.h"

extern char **environ;

int main(int argc, char **argv)
{
	progname = "spawn_bench";
	double secs = 5;
	int k = 8, i = 1;
	for (; i < argc && strcmp(argv[i], "--") != 0; i += 2) {
		if (i + 1 >= argc)
			die("usage: spawn_bench [-d SECS] [-k K] -- PROGRAM [ARGS...]");
		if (!strcmp(argv[i], "-d"))
			secs = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "-k"))
			k = atoi(argv[i + 1]);
		else
			die("unknown option %s", argv[i]);
	}
	if (i + 1 >= argc || k < 1 || k > 1024 || secs <= 0 || secs > 600)
		die("usage: spawn_bench [-d SECS] [-k K] -- PROGRAM [ARGS...]");
	char **args = argv + i + 1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	int64_t t0 = mono_ns(), end = t0 + (int64_t)(secs * 1e9);
	long done = 0, alive = 0;
	while (mono_ns() < end) {
		while (alive < k) {
			pid_t pid;
			int rc = posix_spawn(&pid, args[0], &fa, NULL, args, environ);
			if (rc != 0)
				die("posix_spawn %s: %s", args[0], strerror(rc));
			alive++;
		}
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
