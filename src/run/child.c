/* The child, from its start to exec: what it does (system calls only), how
 * it is started (clone in jobd's memory, or fork), and the descriptors it is
 * given. run.c prepares a start; spawner.c (or, for a forked child, the loop
 * itself) performs it. Nothing here touches libuv or a Run.
 *
 * The cloned child runs in jobd's memory while the thread that cloned it is
 * suspended (CLONE_VFORK) until it has exec'd or failed. That thread is the
 * spawner's (spawner.c), so the loop goes on meanwhile: the child must write
 * nothing of jobd's but its own stack, its Child (stage, err, born_ns) and
 * errno, which is the spawner thread's (the child shares its TLS), and it
 * must read only what the spawner owns until the clone returns (the Spawn's
 * copy of the RunSpec, argv, the environment and the groups). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run_int.h"
#include "util/util.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000  /* Linux 5.2; older headers lack it */
#endif
#ifndef SYS_close_range
#define SYS_close_range 436     /* Linux 5.9, the same number on every architecture */
#endif
#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif

extern char **environ;

/* The child's code runs on a stack ASan does not know (the clone's): its
 * no-return bookkeeping there would print a warning into the run's output,
 * and the poison a child's frames leave on it would look like an overflow to
 * the next child. */
#if defined(__has_attribute)
#if __has_attribute(no_sanitize_address)
#define CHILD_CODE __attribute__((no_sanitize_address))
#endif
#endif
#ifndef CHILD_CODE
#define CHILD_CODE
#endif

/* The identity calls with 32-bit ids (i386 and 32-bit ARM have both kinds). */
#ifdef SYS_setgroups32
#define SYS_SETGROUPS SYS_setgroups32
#define SYS_SETGID SYS_setgid32
#define SYS_SETUID SYS_setuid32
#else
#define SYS_SETGROUPS SYS_setgroups
#define SYS_SETGID SYS_setgid
#define SYS_SETUID SYS_setuid
#endif

/* The kernel's sigset size (64 signals, 128 on MIPS). An all-zero kernel
 * sigaction is SIG_DFL with no flags and an empty mask whatever the
 * architecture's field order, and an all-zero sigset is empty; the buffer is
 * larger than either. */
#define KSIGSET_SIZE ((size_t)(NSIG - 1) / 8)
static const unsigned long kzero[16];

/* ---- signals the child resets ----
 *
 * A child born by clone3 with CLONE_CLEAR_SIGHAND has every handled signal
 * at SIG_DFL already; only the ignored ones are left to reset (SIG_IGN
 * outlives exec). Which those are is read once, at the first start: SIGPIPE,
 * which jobd ignores from the start (jobd.c), and whatever jobd's parent
 * left ignored. jobd ignores no signal later. glibc will not say what its
 * internal signals (32, 33) do, so those are always reset. Resetting all 62
 * took about 11 us of each child's CPU, a seventieth of a run of "true". */
static unsigned long sig_reset[(NSIG + 8 * sizeof(unsigned long) - 1) / (8 * sizeof(unsigned long))];
static pthread_once_t sig_reset_once = PTHREAD_ONCE_INIT;

CHILD_CODE static int sig_reset_bit(int s)
{
	return (int)(sig_reset[(unsigned)s / (8 * sizeof(unsigned long))] >>
	             ((unsigned)s % (8 * sizeof(unsigned long))) & 1);
}

static void sig_reset_init(void)
{
	for (int s = 1; s < NSIG; s++) {
		struct sigaction sa;
		if (s == SIGKILL || s == SIGSTOP)
			continue;
		if (sigaction(s, NULL, &sa) < 0 || sa.sa_handler == SIG_IGN)
			sig_reset[(unsigned)s / (8 * sizeof(unsigned long))] |=
				1UL << ((unsigned)s % (8 * sizeof(unsigned long)));
	}
}

/* Says what failed and why (in jobd's memory when cloned, through the pipe
 * when forked), and exits. */
CHILD_CODE static _Noreturn void child_fail(Child *c, int stage, int err)
{
	c->stage = stage;
	c->err = err;
	if (c->errfd >= 0) {
		int msg[2] = { stage, err };
		ssize_t w = write(c->errfd, msg, sizeof msg);
		(void)w;
	}
	_exit(127);
}

/* System calls only; the exception is PAM's session, which is why a run with
 * one is forked (pam.c says why that is safe there). */
CHILD_CODE static _Noreturn void child(Child *c)
{
	const RunSpec *spec = c->spec;
	/* When it started, at the latest (run_proc_token_born): the raw call,
	 * which no sanitizer intercepts. */
	struct timespec born;
	if (syscall(SYS_clock_gettime, CLOCK_BOOTTIME, &born) == 0)
		c->born_ns = (int64_t)born.tv_sec * 1000000000 + born.tv_nsec;
	/* Started on jobd's descriptor table (CLONE_FILES): a table of its own
	 * with only the few low ones it needs, before anything else. */
	if (c->unshare_from >= 0 &&
	    syscall(SYS_close_range, (unsigned)c->unshare_from, ~0U, CLOSE_RANGE_UNSHARE) < 0)
		child_fail(c, ST_FILES, errno);
	/* Handlers first (jobd's would write to jobd's own signal pipe, and with
	 * CLONE_VM run on jobd's memory), then the mask jobd blocked for the
	 * start. Ignored signals are reset too. The raw call, because glibc
	 * refuses its internal signals (32, 33), which an ignoring parent can
	 * pass down to us; the kernel does not. */
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP && (!c->sighand_cleared || sig_reset_bit(s)))
			syscall(SYS_rt_sigaction, s, kzero, NULL, KSIGSET_SIZE);
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, kzero, NULL, KSIGSET_SIZE);
	/* Into the run's cgroup first, so that all it starts is born there. */
	if (c->cgfd >= 0 && write(c->cgfd, "0", 1) != 1)
		child_fail(c, ST_CGROUP, errno);
	if (setsid() < 0)
		child_fail(c, ST_SETSID, errno);
	/* The sources are all above 2 (see lift), so no dup2 clobbers another.
	 * The output pipes were made non-blocking at both ends (run.c, prepare:
	 * the loop's end must be, and one pipe2 is a call fewer than making it
	 * so afterwards): the child's end blocks again here, as a program's
	 * stdout is expected to. A pipe's write end has no other status flag. */
	if (dup2(c->nullfd, 0) < 0 || dup2(c->outfd, 1) < 0 || dup2(c->stderrfd, 2) < 0 ||
	    syscall(SYS_fcntl, 1, F_SETFL, 0) < 0 ||
	    (c->stderrfd != c->outfd && syscall(SYS_fcntl, 2, F_SETFL, 0) < 0))
		child_fail(c, ST_STDIO, errno);
	/* As root, before the ids change: they act on this process (pam.c, limits.c). */
	int prc;
	if (spec->pam && (prc = run_pam_session(spec->pam, &c->envp, spec->env_keep)) != 0)
		child_fail(c, ST_PAM, prc);     /* a PAM code: say_failure names it */
	if (run_limits_apply(spec->limits, spec->nlimits) < 0)
		child_fail(c, ST_LIMITS, errno);
	if (spec->user) {
		if (syscall(SYS_SETGROUPS, c->ngroups, c->groups) < 0)
			child_fail(c, ST_SETGROUPS, errno);
		if (syscall(SYS_SETGID, (gid_t)spec->gid) < 0)
			child_fail(c, ST_SETGID, errno);
		if (syscall(SYS_SETUID, (uid_t)spec->uid) < 0)
			child_fail(c, ST_SETUID, errno);
	}
	if (spec->dir && chdir(spec->dir) < 0 && (!spec->dir_optional || chdir("/") < 0))
		child_fail(c, ST_CHDIR, errno);
	execve("/bin/sh", c->argv, c->envp);
	child_fail(c, ST_EXEC, errno);
}

CHILD_CODE static int child_main(void *arg)
{
	child(arg);
}

/* ---- starting the child ---- */

/* A cloned child's stack, one per lane (spawner thread): made once and
 * reused, since only one child at a time runs on it (its spawner thread is
 * suspended until that one has exec'd). The child touches about 3.5 KiB of it (x86-64, -O2 and ASan builds alike: measured
 * by looking for the deepest byte written); 64 KiB leave a wide margin, and
 * a page below with no access turns an overflow into a crash of the child,
 * not of jobd's memory. Stacks grow down on every architecture jobd builds
 * for. */
enum { CHILD_STACK = 64 * 1024 };

static int child_stack(int lane, char **top, char *why, size_t n)
{
	static char *tops[SPAWN_LANES];
	char *stack_top = tops[lane];
	if (!stack_top) {
		size_t page = (size_t)sysconf(_SC_PAGESIZE);
		char *p = mmap(NULL, page + CHILD_STACK, PROT_READ | PROT_WRITE,
		               MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
		if (p == MAP_FAILED) {
			int e = errno;
			strfmt(why, n, "the child's stack: mmap: %s", strerror(e));
			return -e;
		}
		if (mprotect(p, page, PROT_NONE) < 0) {
			int e = errno;
			munmap(p, page + CHILD_STACK);
			strfmt(why, n, "the child's stack: mprotect: %s", strerror(e));
			return -e;
		}
		stack_top = tops[lane] = p + page + CHILD_STACK;
	}
	*top = stack_top;
	return 0;
}

/* ---- clone3: born in its cgroup ----
 *
 * A child that joins its cgroup by writing cgroup.procs is migrated, and a
 * migration takes the kernel's cgroup_threadgroup_rwsem for writing: where
 * nothing migrated for a while that waits for an RCU grace period, and it
 * waits for every fork and exit in progress. Measured here: 15 to 30 ms for
 * the first child of a burst, 1 to 5 ms for later ones, against 0.4 ms for a
 * whole posix_spawn. clone3(CLONE_INTO_CGROUP) (Linux 5.7) makes the child in
 * its cgroup instead, with no migration. glibc has no clone3 that runs a
 * function on a new stack, so the call is made here: the child starts on the
 * stack given with only its registers, and the few instructions below call
 * child_main(c) there and exit with its value (it never returns: it execs or
 * _exits). For x86-64 and arm64; elsewhere, and where the kernel lacks
 * clone3 or CLONE_INTO_CGROUP (ENOSYS, E2BIG, EINVAL at the first try: old
 * kernels, seccomp filters), the child writes cgroup.procs as before. */
struct clone3_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls,
	         set_tid, set_tid_size, cgroup;
};
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL  /* Linux 5.5, before CLONE_INTO_CGROUP */
#endif

#if defined(__x86_64__)
#define HAVE_CLONE3_TRAMPOLINE 1
/* long jobd_clone3(struct clone3_args *a, size_t size, int (*fn)(void *), void *arg):
 * the pid (parent), or -errno. fn and arg ride in r8 and r9, which the
 * syscall leaves alone and the child inherits. */
__asm__(".text\n"
        ".p2align 4\n"
        ".type jobd_clone3, @function\n"
        "jobd_clone3:\n"
        "\tmov %rdx, %r8\n"
        "\tmov %rcx, %r9\n"
        "\tmov $435, %eax\n"          /* __NR_clone3 */
        "\tsyscall\n"
        "\ttest %rax, %rax\n"
        "\tjnz 1f\n"
        "\txor %ebp, %ebp\n"          /* the child: an empty frame chain */
        "\tmov %r9, %rdi\n"
        "\tcall *%r8\n"
        "\tmov %eax, %edi\n"
        "\tmov $60, %eax\n"           /* __NR_exit */
        "\tsyscall\n"
        "\thlt\n"
        "1:\tret\n"
        ".size jobd_clone3, .-jobd_clone3\n");
#elif defined(__aarch64__)
#define HAVE_CLONE3_TRAMPOLINE 1
__asm__(".text\n"
        ".p2align 2\n"
        ".type jobd_clone3, %function\n"
        "jobd_clone3:\n"
        "\tmov x10, x2\n"
        "\tmov x11, x3\n"
        "\tmov x8, #435\n"            /* __NR_clone3 */
        "\tsvc #0\n"
        "\tcbnz x0, 1f\n"
        "\tmov x29, xzr\n"            /* the child: an empty frame chain */
        "\tmov x0, x11\n"
        "\tblr x10\n"
        "\tmov x8, #93\n"             /* __NR_exit */
        "\tsvc #0\n"
        "1:\tret\n"
        ".size jobd_clone3, .-jobd_clone3\n");
#else
#define HAVE_CLONE3_TRAMPOLINE 0
#endif

#if HAVE_CLONE3_TRAMPOLINE
long jobd_clone3(struct clone3_args *a, size_t size, int (*fn)(void *), void *arg);
#endif

/* 1: clone3 into cgroups works, -1: it does not (or no trampoline here), 0:
 * not tried yet. Set by the spawner threads, read by them and the loop
 * (prepare asks): atomic. */
static int into_cgroup = HAVE_CLONE3_TRAMPOLINE ? 0 : -1;

int child_into_cgroup(void)
{
	return __atomic_load_n(&into_cgroup, __ATOMIC_RELAXED);
}

/* Must the child be a fork (a copy of jobd) rather than a clone in jobd's
 * memory? With a PAM session, and under valgrind (run.c says why). */
int child_must_fork(const RunSpec *spec)
{
	return spec->pam != NULL || RUNNING_ON_VALGRIND;
}

/* Starts the child of c, cloned or forked (child_must_fork), with every
 * signal blocked in the calling thread meanwhile (but SIGCHLD where the
 * child is born without handlers): a handler must not run in the child (it
 * would act on jobd's memory and signal pipe) before the child has reset
 * them.
 * Returns its pid and *pidfd (-1 without pidfds), or -errno with why. A
 * cloned child has exec'd or failed when this returns (c->stage says). */
int child_start(Child *c, int fork_it, int lane, int *pidfd, char *why, size_t n)
{
	char *stack = NULL;
	int rc;
	*pidfd = -1;
	c->sighand_cleared = 0;
	if (!fork_it && (rc = child_stack(lane, &stack, why, n)) < 0)
		return rc;
	int flags = CLONE_VM | CLONE_VFORK | SIGCHLD | (run_pidfds() ? CLONE_PIDFD : 0) |
	            (c->unshare_from >= 0 ? CLONE_FILES : 0);
	int saved = errno;          /* a cloned child's calls set jobd's errno */
	int into = !fork_it && c->cgdir >= 0;   /* cloned into its cgroup (clone3) */
	sigset_t all, old;
	sigfillset(&all);
	/* Born with no handler of jobd's (CLONE_CLEAR_SIGHAND), the child may
	 * take SIGCHLD (it has no child of its own; its default is to ignore
	 * it). Left open here, an earlier child's SIGCHLD is dropped by the
	 * kernel as it is sent (make_threads, spawner.c); blocked, it was queued
	 * for the process and woke the loop: about half the runs of a burst,
	 * since a spawner thread is in here most of the time. */
	if (HAVE_CLONE3_TRAMPOLINE && into)
		sigdelset(&all, SIGCHLD);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t pid;
	int e;
	if (into) {
#if HAVE_CLONE3_TRAMPOLINE
		int fd = -1;
		pthread_once(&sig_reset_once, sig_reset_init);
		c->sighand_cleared = 1;
		struct clone3_args a = {
			.flags = (uint64_t)(flags & ~0xff) | CLONE_INTO_CGROUP | CLONE_CLEAR_SIGHAND,
			.pidfd = (uint64_t)(uintptr_t)&fd,
			.exit_signal = SIGCHLD,
			.stack = (uint64_t)(uintptr_t)(stack - CHILD_STACK),
			.stack_size = CHILD_STACK,
			.cgroup = (uint64_t)c->cgdir,
		};
		long r = jobd_clone3(&a, sizeof a, child_main, c);
		pid = r < 0 ? -1 : (pid_t)r;
		e = r < 0 ? (int)-r : 0;
		if (pid > 0)
			*pidfd = fd;
#else
		pid = -1;
		e = ENOSYS;
#endif
	} else {
		pid = fork_it ? fork() : clone(child_main, stack, flags, c, pidfd);
		if (pid == 0)
			child(c);           /* forked */
		e = errno;              /* clone's or fork's own, if it failed */
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	if (into) {
		if (pid < 0 && child_into_cgroup() == 0 && (e == ENOSYS || e == E2BIG || e == EINVAL)) {
			__atomic_store_n(&into_cgroup, -1, __ATOMIC_RELAXED);
			strfmt(why, n, "clone3 into a cgroup: %s", strerror(e));
			return -ENOSYS;     /* said once; the caller joins by cgroup.procs */
		}
		if (pid > 0 && child_into_cgroup() == 0)
			__atomic_store_n(&into_cgroup, 1, __ATOMIC_RELAXED);
	}
	if (pid < 0) {
		strfmt(why, n, "%s: %s", fork_it ? "fork" : c->cgdir >= 0 ? "clone3" : "clone",
		       strerror(e));
		return -e;
	}
	/* Our unreaped child: the pid cannot name anyone else yet. */
	if (fork_it && run_pidfds() && (*pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0) {
		e = errno;
		strfmt(why, n, "pidfd_open: %s", strerror(e));
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return -e;
	}
	return pid;
}

/* Moves *fd above 2 (keeping close-on-exec) so the child's dup2 onto 0, 1
 * and 2 cannot overwrite it. Only when jobd was started with those closed. */
int child_lift(int *fd)
{
	if (*fd > 2)
		return 0;
	int nfd = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
	if (nfd < 0)
		return -errno;
	close(*fd);
	*fd = nfd;
	return 0;
}

/* CLOCK_BOOTTIME in ns (0 if it cannot be read). */
int64_t child_boottime_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_BOOTTIME, &ts) < 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The child's stdin: /dev/null, opened once and kept (close-on-exec, above 2). */
int child_dev_null(char *why, size_t n)
{
	static int fd = -1;
	int rc;
	if (fd < 0) {
		int nfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (nfd < 0 || (rc = child_lift(&nfd)) < 0) {
			rc = nfd < 0 ? -errno : rc;
			if (nfd >= 0)
				close(nfd);
			strfmt(why, n, "/dev/null: %s", strerror(-rc));
			return rc;
		}
		fd = nfd;
	}
	return fd;
}

/* ---- slots: not copying jobd's descriptor table ----
 *
 * A child started without CLONE_FILES gets a copy of jobd's whole table,
 * made by jobd in clone (a reference taken on every open file), which exec
 * then closes again in the child: with a thousand runs in progress (three or
 * four descriptors each) that copy is the dearest part of a spawn. So where
 * jobd holds many descriptors (SLOTS_FROM: a new pipe numbered that high),
 * the child is started on jobd's table itself (CLONE_FILES) and its first
 * call, close_range(from, ~0, CLOSE_RANGE_UNSHARE) (Linux 5.9), gives it a
 * copy of only the descriptors below `from`. What it needs is put there
 * first: a few slots just above 2, reserved at start-up (run_init, when few
 * descriptors are open) and holding /dev/null between spawns; before the
 * clone the pipe ends and cgroup.procs are dup3'ed into them, and after it
 * /dev/null again, so that jobd holds no copy of a write end (the run's
 * output must reach end of file). Each spawner thread (lane) has slots of
 * its own, and is suspended until its child has its own table (vfork); the
 * loop goes on meanwhile, on the shared table, but never at numbers that low
 * (the slots and /dev/null hold them): what it opens lies above `from`, and
 * the child's copy has none of it. A child may keep, until its exec, a copy
 * of what another lane's slots hold below its `from` (close-on-exec, so only
 * until then). */
enum { SLOT_OUT, SLOT_ERR, SLOT_CG, NSLOT, SLOTS_FROM = 64 };
static int lanes[SPAWN_LANES][NSLOT];
static int lanes_made;

void run_slots_init(void)
{
	char why[128];
	int null = child_dev_null(why, sizeof why);
	if (lanes_made || null < 0)
		return;
	lanes_made = 1;
	for (int l = 0; l < SPAWN_LANES; l++)
		for (int i = 0; i < NSLOT; i++)
			lanes[l][i] = -1;
	/* close_range came with CLOSE_RANGE_UNSHARE: closing nothing tells. */
	if (RUNNING_ON_VALGRIND || syscall(SYS_close_range, ~0U, ~0U, 0) < 0)
		return;
	for (int l = 0; l < SPAWN_LANES; l++)
		for (int i = 0; i < NSLOT; i++)
			if ((lanes[l][i] = fcntl(null, F_DUPFD_CLOEXEC, 3)) < 0) {
				while (i-- > 0) {
					close(lanes[l][i]);
					lanes[l][i] = -1;
				}
				return;
			}
}

/* Puts fd in slot i of the lane for the child: the slot's number, or -1. */
static int slot_put(int *slots, int i, int fd)
{
	return dup3(fd, slots[i], O_CLOEXEC) < 0 ? -1 : slots[i];
}

/* /dev/null in the lane's slots again (after the clone). */
void child_slots_clear(int lane)
{
	char why[128];
	int *slots = lanes[lane];
	int null = child_dev_null(why, sizeof why);
	for (int i = 0; i < NSLOT; i++)
		if (null < 0 || dup3(null, slots[i], O_CLOEXEC) < 0) {
			/* Cannot happen (dup3 onto an open descriptor allocates
			 * nothing); if it did, the slot would hold a pipe's write end:
			 * closed, and given up. */
			close(slots[i]);
			slots[i] = -1;
		}
}

/* Sets the child up to start on jobd's table with only the slots (see
 * above), if jobd holds many descriptors and the slots are there. */
void child_slots_use(Child *c, int fork_it, int lane)
{
	int null = c->nullfd, top = null;
	int *slots = lanes[lane];
	c->unshare_from = -1;
	if (fork_it || !lanes_made || slots[0] < 0 || c->outfd < SLOTS_FROM)
		return;
	for (int i = 0; i < NSLOT; i++)
		if (slots[i] < 0 || slots[i] >= SLOTS_FROM)
			return;
	int out = slot_put(slots, SLOT_OUT, c->outfd);
	int err = c->stderrfd == c->outfd ? out : slot_put(slots, SLOT_ERR, c->stderrfd);
	int cgf = c->cgfd < 0 ? -1 : slot_put(slots, SLOT_CG, c->cgfd);
	if (out < 0 || err < 0 || (c->cgfd >= 0 && cgf < 0)) {
		child_slots_clear(lane);
		return;
	}
	c->outfd = out;
	c->stderrfd = err;
	c->cgfd = cgf;
	for (int i = 0; i < NSLOT; i++)
		if (slots[i] > top)
			top = slots[i];
	c->unshare_from = top + 1;
}

