/* stamp: when a run's command starts, for bench/run.sh's burst phase. The
 * job's command (exec'd by /bin/sh -c, as jobd runs every command), it
 * appends one line "SCHED LATE" to FILE: SCHED from $JOBD_SCHEDULED (the
 * unix second the run was due), LATE its own CLOCK_REALTIME, read first
 * thing, minus that second, in nanoseconds. One write(2) of a short line with O_APPEND, so the lines of
 * concurrent runs do not mix. Linked statically (Makefile) so that starting
 * it costs as little as can be: its start stands for the run's exec, and
 * what it adds is the same for jobd's runs and the bare posix_spawn burst.
 *
 *   stamp FILE */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	const char *sched = getenv("JOBD_SCHEDULED");
	if (argc != 2 || !sched) {
		fprintf(stderr, "usage: JOBD_SCHEDULED=S stamp FILE\n");
		return 2;
	}
	char line[96];
	long long late = ((long long)ts.tv_sec - atoll(sched)) * 1000000000 + ts.tv_nsec;
	int len = snprintf(line, sizeof line, "%s %lld\n", sched, late);
	int fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || len <= 0 || write(fd, line, (size_t)len) != len) {
		perror(argv[1]);
		return 1;
	}
	return 0;
}
