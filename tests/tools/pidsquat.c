/* pidsquat [-u UID -g GID] PID PROG [ARG...]: starts PROG (an absolute path)
 * as process PID exactly, in a session of its own (so its process group is
 * PID too), as UID:GID if given, with stdin, stdout and stderr on /dev/null;
 * prints PID and exits without waiting for it. This is what a pid's reuse
 * would give another user, made deterministic: clone3 with set_tid (Linux
 * 5.5, CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE) instead of forking until the
 * pid comes round. Exit status: 0 started, 3 PID is in use (EEXIST), 4 this
 * kernel or user cannot choose pids, 2 anything else. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* struct clone_args up to set_tid_size (CLONE_ARGS_SIZE_VER1). */
struct cargs {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	uint64_t set_tid, set_tid_size;
};

int main(int argc, char **argv)
{
	long uid = -1, gid = -1;
	int i = 1;
	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (!strcmp(argv[i], "-u"))
			uid = strtol(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "-g"))
			gid = strtol(argv[i + 1], NULL, 10);
		else
			break;
	}
	if (argc - i < 2 || argv[i + 1][0] != '/') {
		fprintf(stderr, "usage: pidsquat [-u UID -g GID] PID /PROG [ARG...]\n");
		return 2;
	}
	pid_t want = (pid_t)strtol(argv[i], NULL, 10);
	char **cmd = argv + i + 1;
	int null = open("/dev/null", O_RDWR);
	fflush(stdout);
#ifdef SYS_clone3
	struct cargs ca;
	memset(&ca, 0, sizeof ca);
	ca.exit_signal = SIGCHLD;
	ca.set_tid = (uint64_t)(uintptr_t)&want;
	ca.set_tid_size = 1;
	long pid = syscall(SYS_clone3, &ca, sizeof ca);
#else
	long pid = -1;
	errno = ENOSYS;
#endif
	if (pid == 0) {
		/* A raw clone's child: system calls only, then exec. */
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		setsid();
		if (gid >= 0 && (setgroups(0, NULL) < 0 || setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) < 0))
			_exit(126);
		if (uid >= 0 && setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0)
			_exit(126);
		execv(cmd[0], cmd);
		_exit(127);
	}
	if (pid < 0) {
		int e = errno;
		if (e == EEXIST)
			return 3;
		fprintf(stderr, "pidsquat: clone3 with pid %ld: %s\n", (long)want, strerror(e));
		return e == ENOSYS || e == EPERM || e == E2BIG || e == EINVAL ? 4 : 2;
	}
	printf("%ld\n", pid);
	return 0;
}
