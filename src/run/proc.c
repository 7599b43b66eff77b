/* What a dead jobd left running: finding and ending the sessions of runs
 * that were in progress when it died, without touching anybody else's
 * processes. Linux-only (/proc).
 *
 * A run's process is named by a token taken when it was spawned: the boot it
 * ran in and its start time in clock ticks since boot, "<boot_id>/<ticks>".
 * The run's pid is also its session id (run_spawn makes it a session leader).
 * Later, for that pid and token:
 *   - another boot: nothing of the run can remain;
 *   - a live process with that pid but another start time: the pid was
 *     reused; leave it (and its session) alone;
 *   - the leader itself, or no process with that pid: every process whose
 *     session id is the pid is the run's. The kernel never hands out a pid
 *     that is still some live process's session or group id, so members of
 *     session `pid` that outlived their leader are still ours.
 * Each member is signalled through a pidfd opened before its identity is
 * checked again, so a member that exits meanwhile cannot be mistaken for a
 * process that reused its pid. Processes that left the session (setsid, as
 * daemons do) are beyond reach. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "run.h"

typedef struct ProcStat {
	char state;                 /* R, S, D, Z, ... */
	long session;
	unsigned long long start;   /* clock ticks since boot */
} ProcStat;

/* Reads /proc/PID/stat. 0, or -errno (-ENOENT: no such process). */
static int proc_stat(long pid, ProcStat *ps)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH ? -ENOENT : -errno;
	ssize_t k = read(fd, buf, sizeof buf - 1);
	int e = errno;
	close(fd);
	if (k < 0)
		return e == ESRCH ? -ENOENT : -e;
	buf[k] = '\0';
	/* "pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt
	 *  majflt cmajflt utime stime cutime cstime priority nice threads
	 *  itrealvalue starttime ..."; comm may hold spaces and parentheses. */
	char *p = strrchr(buf, ')');
	if (p == NULL || p[1] != ' ')
		return -EINVAL;
	p += 2;
	ps->state = *p;
	long ppid, pgrp;
	int used = 0;
	if (sscanf(p, "%*c %ld %ld %ld%n", &ppid, &pgrp, &ps->session, &used) != 3)
		return -EINVAL;
	p += used;
	/* Fields 7..21 (15 of them), then starttime. */
	for (int i = 0; i < 15; i++) {
		while (*p == ' ')
			p++;
		while (*p && *p != ' ')
			p++;
	}
	char *end;
	errno = 0;
	ps->start = strtoull(p, &end, 10);
	if (end == p || errno != 0)
		return -EINVAL;
	return 0;
}

/* This boot's id. Read once: a process lives in one boot. */
static int boot_id(char *buf, size_t n)
{
	static char id[64];
	if (!id[0]) {
		int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		ssize_t k = read(fd, id, sizeof id - 1);
		int e = errno;
		close(fd);
		if (k <= 0) {
			id[0] = '\0';
			return k < 0 ? -e : -EINVAL;
		}
		while (k > 0 && isspace((unsigned char)id[k - 1]))
			k--;
		id[k] = '\0';
		if (!id[0])
			return -EINVAL;
	}
	if (strlen(id) >= n)
		return -ENAMETOOLONG;
	strcpy(buf, id);
	return 0;
}

int run_proc_token(int pid, char *buf, size_t n)
{
	char boot[64];
	ProcStat ps;
	int r;
	if (pid <= 0)
		return -EINVAL;
	if ((r = boot_id(boot, sizeof boot)) < 0 || (r = proc_stat(pid, &ps)) < 0)
		return r;
	int k = snprintf(buf, n, "%s/%llu", boot, ps.start);
	return k < 0 || (size_t)k >= n ? -ENAMETOOLONG : 0;
}

int run_proc_token_born(int pid, int64_t lo_ns, int64_t hi_ns, char *buf, size_t n)
{
	/* /proc/PID/stat's start time is the process's start on CLOCK_BOOTTIME
	 * (in the reader's time namespace, as jobd's clock reads it), in ticks:
	 * ns / (1e9 / USER_HZ), rounded down. A start known to lie in [lo, hi]
	 * has that tick if lo and hi have. Reading /proc instead costs a path
	 * walk, the kernel's formatting of 52 fields, and a dentry that the
	 * kernel must flush again when the process is reaped. */
	static long hz;
	char boot[64];
	int r;
	if (!hz)
		hz = sysconf(_SC_CLK_TCK);
	if (pid <= 0)
		return -EINVAL;
	if (hz <= 0 || 1000000000 % hz != 0 || lo_ns <= 0 || hi_ns < lo_ns)
		return run_proc_token(pid, buf, n);
	int64_t q = 1000000000 / hz;
	if (lo_ns / q != hi_ns / q)
		return run_proc_token(pid, buf, n);
	if ((r = boot_id(boot, sizeof boot)) < 0)
		return r;
	int k = snprintf(buf, n, "%s/%llu", boot, (unsigned long long)(lo_ns / q));
	return k < 0 || (size_t)k >= n ? -ENAMETOOLONG : 0;
}

/* Sends sig to one member of the session through a pidfd, after checking
 * that what the pidfd holds is still that member. 1 if signalled. */
static int signal_member(long pid, long session, unsigned long long start, int sig)
{
#ifdef SYS_pidfd_open
	int fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (fd >= 0) {
		ProcStat ps;
		int r = 0;
		if (proc_stat(pid, &ps) == 0 && ps.session == session && ps.start == start &&
		    ps.state != 'Z')
			r = sig == 0 || syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) == 0;
		close(fd);
		return r;
	}
	if (errno != ENOSYS)
		return 0;           /* gone already */
#else
	(void)session;
	(void)start;
#endif
	/* No pidfds: the window between the scan and the kill is all we have. */
	return kill((pid_t)pid, sig) == 0;
}

int run_signal_left(int pid, const char *token, int sig)
{
	char boot[64], now[64];
	unsigned long long start;
	if (pid <= 1 || token == NULL)
		return -EINVAL;
	const char *slash = strrchr(token, '/');
	if (slash == NULL || (size_t)(slash - token) >= sizeof boot)
		return 0;           /* no token: cannot tell whose processes they are */
	memcpy(boot, token, (size_t)(slash - token));
	boot[slash - token] = '\0';
	char *end;
	errno = 0;
	start = strtoull(slash + 1, &end, 10);
	if (*end != '\0' || end == slash + 1 || errno != 0)
		return 0;
	int r = boot_id(now, sizeof now);
	if (r < 0)
		return r;
	if (strcmp(now, boot) != 0)
		return 0;           /* another boot */
	ProcStat ps;
	r = proc_stat(pid, &ps);
	if (r == 0 && ps.start != start)
		return 0;           /* the pid was reused */
	if (r < 0 && r != -ENOENT)
		return r;

	DIR *d = opendir("/proc");
	if (d == NULL)
		return -errno;
	int count = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		long q = strtol(e->d_name, NULL, 10);
		ProcStat qs;
		if (q <= 1 || proc_stat(q, &qs) < 0 || qs.session != pid || qs.state == 'Z')
			continue;
		count += signal_member(q, pid, qs.start, sig);
	}
	closedir(d);
	return count;
}
