/* Spawning, output capture and reaping. stdout and stderr share one pipe so
 * lines interleave as the child wrote them. A run is finished only when the
 * child has exited AND the pipe reached EOF, so no output line is ever
 * recorded after the exit status. The child calls setsid: it leads a session
 * and process group of its own, so kill(-pid) reaches everything it started
 * that stayed in the group; where jobd has cgroups (cgroup.c) the child also
 * joins a cgroup of its own before exec, which nothing it starts can leave
 * (setsid, double forks) unless it is root and moves itself out.
 *
 * jobd forks and execs itself rather than use uv_spawn: a run as its owner
 * needs the owner's supplementary groups (what initgroups sets), and libuv
 * drops them all (setgroups(0, NULL)). Between fork and exec the child calls
 * only async-signal-safe functions; everything it needs (argv, envp, the group
 * list) is prepared before the fork, and what goes wrong before exec is
 * reported through a close-on-exec pipe. That pipe is read by the loop like
 * the output, not waited for: waiting for the child's exec would block every
 * other client and fire for milliseconds per run. A failure arrives as the
 * run's first line ("cannot run: chdir /x: No such file or directory") and
 * the child's exit status 127.
 *
 * The leader is held by a pidfd opened right after the fork (safe: it is our
 * child and nobody else can reap it), and watched by the loop: the pidfd
 * becomes readable when it exits. Its status is read with WNOWAIT, so it
 * stays an unreaped zombie until the run has ended (exit and EOF), and only
 * then is it reaped. While a zombie exists its pid cannot be handed out
 * again, and neither can its process group's and session's (the same
 * number): so for as long as a run counts as live, kill(-pid) reaches the
 * run's group and no one else's, however long its leader has been dead. No
 * SIGCHLD watcher is needed for runs; track.c has one as subreaper, and for
 * where there are no pidfds (Linux < 5.3, or under valgrind, which does not
 * know them): there each SIGCHLD checks the held leaders with waitid(P_PID,
 * WNOWAIT), and a leader is signalled by its pid, which is as safe for our
 * own unreaped child, only less direct.
 *
 * A run ends when its leader has exited and its output reached EOF: that is
 * when its status and last line are known, and what is recorded. Processes
 * that escaped its group and closed the output may still live; with a
 * cgroup they are still the run's (its cgroup is kept until it empties,
 * watched through cgroup.events), so kill, delete and shutdown reach them
 * until then, and gone says when nothing is left. A daemon a job starts on
 * purpose therefore lives on after the run, as under any cron, and is
 * ended only when someone asks. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run_int.h"
#include "util/log.h"
#include "util/util.h"

/* Only to ask whether valgrind runs us (run_pidfds); a no-op otherwise. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

extern char **environ;

struct Run {
	uv_pipe_t out;
	uv_pipe_t err;              /* the child's report of a failure before exec */
	uv_poll_t leader;           /* its pidfd (if any): readable once the leader has exited */
	uv_fs_event_t events;       /* the cgroup's cgroup.events, while it outlives the run */
	RunCallbacks cb;
	void *arg;
	int pid, pidfd;             /* pidfd -1: none (run_pidfds) */
	int exited, eof, errdone, status;
	int ended;                  /* done was called; the leader is reaped */
	int watching;               /* events is in use */
	int gone;                   /* gone was called: freed at the last close */
	int closing;                /* handles still closing */
	RunCgroup cg;
	int errmsg[2];              /* stage, errno */
	size_t errlen;
	char *dir;                  /* for the chdir failure message */
	struct Run *next;           /* held: runs whose leader is not reaped yet */
	char line[RUN_MAXLINE];
	size_t linelen;
};

/* Runs whose leader jobd holds unreaped. O(runs in progress) to search:
 * only the SIGCHLD watcher does (as subreaper, or without pidfds). */
static Run *held;

static void emit(Run *r, const char *p, size_t n)
{
	if (r->cb.line)
		r->cb.line(r->arg, p, n);
}

static void handle_closed(uv_handle_t *h)
{
	Run *r = h->data;
	if (--r->closing == 0 && r->gone) {
		free(r->dir);
		free(r);
	}
}

static void close_handle(Run *r, uv_handle_t *h, uv_close_cb cb)
{
	r->closing++;
	uv_close(h, cb);
}

static void leader_closed(uv_handle_t *h)
{
	Run *r = h->data;
	close(r->pidfd);
	r->pidfd = -1;
	handle_closed(h);
}

/* waitid on the leader, by pidfd where there is one. */
static int wait_leader(Run *r, siginfo_t *si, int options)
{
	int rc;
	memset(si, 0, sizeof *si);
	do
		rc = r->pidfd >= 0 ? waitid(P_PIDFD, (id_t)r->pidfd, si, options)
		                   : waitid(P_PID, (id_t)r->pid, si, options);
	while (rc < 0 && errno == EINTR);
	return rc;
}

int run_holds(int pid)
{
	for (Run *r = held; r; r = r->next)
		if (r->pid == pid)
			return 1;
	return 0;
}

static void unhold(Run *r)
{
	for (Run **p = &held; *p; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			return;
		}
}

/* Nothing of the run is left to signal: the owner hears so, and the Run
 * goes with its last handle. */
static void go(Run *r)
{
	if (r->watching) {
		r->watching = 0;
		close_handle(r, (uv_handle_t *)&r->events, handle_closed);
	}
	r->gone = 1;
	if (r->cb.gone)
		r->cb.gone(r->arg);
	if (r->closing == 0) {
		free(r->dir);
		free(r);
	}
}

/* cgroup.events changed: the cgroup of an ended run may have emptied. */
static void on_events(uv_fs_event_t *h, const char *name, int events, int status)
{
	Run *r = h->data;
	(void)name;
	(void)events;
	(void)status;
	if (cgroup_populated(&r->cg) == 0 && cgroup_remove(&r->cg) == 0)
		go(r);
}

/* After the end, the run is gone once its cgroup is empty: at once, or when
 * the kernel reports the change through cgroup.events (inotify; one watch
 * per cgroup that outlives its run). A cgroup still in use when abandoned,
 * or that cannot be watched, is left as it is; the next jobd clears it. */
static void linger(Run *r, int abandon)
{
	if (r->cg.fd >= 0 && !abandon) {
		char path[640];
		cgroup_events_path(&r->cg, path, sizeof path);
		uv_fs_event_init(uv_handle_get_loop((uv_handle_t *)&r->out), &r->events);
		r->events.data = r;
		r->watching = 1;
		/* Armed first: the last process may leave between the two. */
		if (uv_fs_event_start(&r->events, on_events, path, 0) == 0 &&
		    cgroup_populated(&r->cg) > 0)
			return;
	}
	if (r->cg.fd >= 0 && (cgroup_populated(&r->cg) != 0 || cgroup_remove(&r->cg) < 0)) {
		/* Said once, where it happens: kill and delete no longer reach it. */
		LOGW("run (pid %d): its cgroup still has processes but cannot be %s; leaving them "
		     "to the next jobd's clean-up", r->pid, abandon ? "waited for" : "watched");
		cgroup_forget(&r->cg);
	}
	go(r);
}

/* The run has ended: its last line; its leader reaped (the zombie kept its
 * pid and group from being reused until now); done; then linger. */
static void end(Run *r, int abandon)
{
	if (r->linelen) {
		emit(r, r->line, r->linelen);
		r->linelen = 0;
	}
	r->ended = 1;
	siginfo_t si;
	/* WNOHANG: an abandoned leader may not have exited; it is left behind. */
	wait_leader(r, &si, WEXITED | WNOHANG);
	unhold(r);
	if (r->cb.done)
		r->cb.done(r->arg, r->status);
	close_handle(r, (uv_handle_t *)&r->out, handle_closed);
	close_handle(r, (uv_handle_t *)&r->err, handle_closed);
	if (r->pidfd >= 0)
		close_handle(r, (uv_handle_t *)&r->leader, leader_closed);
	linger(r, abandon);
}

static void maybe_done(Run *r)
{
	if (r->exited && r->eof && r->errdone && !r->ended)
		end(r, 0);
}

/* Has the leader exited? Its status is read, and it is left a zombie
 * (WNOWAIT) until the run ends. 1 if it has (or cannot be waited for). */
static int leader_exited(Run *r)
{
	siginfo_t si;
	int rc = wait_leader(r, &si, WEXITED | WNOHANG | WNOWAIT);
	if (rc == 0 && si.si_pid == 0)
		return 0;
	r->exited = 1;
	if (rc < 0)
		r->status = 127;        /* cannot be waited for: the status is lost */
	else if (si.si_code == CLD_EXITED)
		r->status = si.si_status;
	else
		r->status = -si.si_status;
	return 1;
}

/* The pidfd is readable: the leader has exited. */
static void on_leader(uv_poll_t *h, int status, int events)
{
	Run *r = h->data;
	(void)events;
	if (!leader_exited(r)) {
		if (status == 0)
			return;             /* not yet */
		r->exited = 1;          /* the pidfd failed: as lost as it gets */
		r->status = 127;
	}
	uv_poll_stop(h);
	maybe_done(r);
}

void run_check_exits(void)
{
	/* done may spawn or end other runs: one at a time, from the top. */
	for (;;) {
		Run *r = held;
		while (r && (r->pidfd >= 0 || r->exited || !leader_exited(r)))
			r = r->next;
		if (!r)
			return;
		maybe_done(r);
	}
}

int run_pidfds(void)
{
	static int have = -1;
	if (have < 0) {
		int fd = RUNNING_ON_VALGRIND ? -1 : (int)syscall(SYS_pidfd_open, getpid(), 0);
		have = fd >= 0;
		if (fd >= 0)
			close(fd);
	}
	return have;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	static char chunk[65536]; /* one loop thread: the chunk is consumed before the next read */
	*buf = uv_buf_init(chunk, sizeof chunk);
}

static void on_out(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	Run *r = s->data;
	if (nread < 0) {
		uv_read_stop(s);
		r->eof = 1;
		maybe_done(r);
		return;
	}
	const char *p = buf->base, *end = buf->base + nread;
	while (p < end) {
		if (r->linelen == RUN_MAXLINE) {
			/* A full line is split here, unless its newline is what comes
			 * next: a line of exactly RUN_MAXLINE bytes is one line. */
			emit(r, r->line, RUN_MAXLINE);
			r->linelen = 0;
			if (*p == '\n') {
				p++;
				continue;
			}
		}
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t take = (size_t)((nl ? nl : end) - p);
		size_t room = RUN_MAXLINE - r->linelen;
		if (take > room)
			take = room;
		memcpy(r->line + r->linelen, p, take);
		r->linelen += take;
		p += take;
		if (nl && p == nl) {
			emit(r, r->line, r->linelen);
			r->linelen = 0;
			p++;
		}
	}
}

/* ---- the child, between fork and exec ---- */

enum Stage { ST_CGROUP, ST_SETSID, ST_STDIO, ST_PAM, ST_LIMITS, ST_SETGROUPS, ST_SETGID, ST_SETUID, ST_CHDIR, ST_EXEC };

/* Reports what failed and why to the parent, and exits. */
static _Noreturn void child_fail(int errfd, int stage)
{
	int msg[2] = { stage, errno };
	ssize_t w = write(errfd, msg, sizeof msg);
	(void)w;
	_exit(127);
}

/* Async-signal-safe calls only: the parent may have had other threads. The
 * exception is PAM's session, which jobd's single thread makes safe (pam.c). */
static _Noreturn void child(const RunSpec *spec, int outfd, int nullfd, int errfd, int cgfd,
                            const gid_t *groups, size_t ngroups, char **argv, char **envp)
{
	/* Handlers first (jobd's would write to jobd's own signal pipe), then the
	 * mask the parent blocked for the fork. Ignored signals are reset too. */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (int s = 1; s < NSIG; s++) {
		if (s == SIGKILL || s == SIGSTOP)
			continue;
		if (sigaction(s, &sa, NULL) < 0) {
			/* glibc refuses its internal signals (32, 33), which an ignoring
			 * parent can pass down to us: the kernel does not. */
			/* An all-zero kernel sigaction is SIG_DFL with no flags and
			 * an empty mask whatever the architecture's field order; the
			 * buffer is larger than any of them, and the mask size is the
			 * kernel's (64 signals, 128 on MIPS). */
			static const unsigned long zero_ka[16];
			syscall(SYS_rt_sigaction, s, zero_ka, NULL, (size_t)(NSIG - 1) / 8);
		}
	}
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Into the run's cgroup first, so that all it starts is born there. */
	if (cgfd >= 0 && write(cgfd, "0", 1) != 1)
		child_fail(errfd, ST_CGROUP);
	if (setsid() < 0)
		child_fail(errfd, ST_SETSID);
	/* The sources are all above 2 (see lift), so no dup2 clobbers another. */
	if (dup2(nullfd, 0) < 0 || dup2(outfd, 1) < 0 || dup2(outfd, 2) < 0)
		child_fail(errfd, ST_STDIO);
	/* As root, before the ids change: they act on this process (pam.c, limits.c). */
	int prc;
	if (spec->pam && (prc = run_pam_session(spec->pam, &envp, spec->env_keep)) != 0) {
		errno = prc;            /* a PAM code: on_err names it */
		child_fail(errfd, ST_PAM);
	}
	if (run_limits_apply(spec->limits, spec->nlimits) < 0)
		child_fail(errfd, ST_LIMITS);
	if (spec->user) {
		if (setgroups(ngroups, groups) < 0)
			child_fail(errfd, ST_SETGROUPS);
		if (setgid((gid_t)spec->gid) < 0)
			child_fail(errfd, ST_SETGID);
		if (setuid((uid_t)spec->uid) < 0)
			child_fail(errfd, ST_SETUID);
	}
	if (spec->dir && chdir(spec->dir) < 0 && (!spec->dir_optional || chdir("/") < 0))
		child_fail(errfd, ST_CHDIR);
	execve("/bin/sh", argv, envp);
	child_fail(errfd, ST_EXEC);
}

/* Moves *fd above 2 (keeping close-on-exec) so the child's dup2 onto 0, 1
 * and 2 cannot overwrite it. Only when jobd was started with those closed. */
static int lift(int *fd)
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

/* The groups initgroups(user, gid) would set, as a malloc'ed list. */
static int user_groups(const char *user, uint32_t gid, gid_t **out, size_t *count,
                       char *why, size_t n)
{
	int ng = 32;
	gid_t *g = xmalloc((size_t)ng * sizeof *g);
	for (int tries = 0; getgrouplist(user, (gid_t)gid, g, &ng) < 0; tries++) {
		if (tries > 8 || ng <= 0 || ng > 65536) {
			free(g);
			strfmt(why, n, "cannot list the groups of user %s", user);
			return -EINVAL;
		}
		g = xrealloc(g, (size_t)ng * sizeof *g);
	}
	*out = g;
	*count = (size_t)ng;
	return 0;
}

static const char *const stages[] = {
	[ST_CGROUP] = "joining its cgroup",
	[ST_SETSID] = "setsid", [ST_STDIO] = "redirecting stdin, stdout and stderr",
	[ST_PAM] = "PAM session", [ST_LIMITS] = "setrlimit",
	[ST_SETGROUPS] = "setgroups", [ST_SETGID] = "setgid", [ST_SETUID] = "setuid",
	[ST_CHDIR] = "chdir", [ST_EXEC] = "exec /bin/sh",
};

static void err_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	Run *r = h->data;
	(void)suggested;
	*buf = uv_buf_init((char *)r->errmsg + r->errlen, (unsigned)(sizeof r->errmsg - r->errlen));
}

/* EOF on the error pipe: the child exec'ed (or died). A whole message first:
 * it failed before exec, and says where. */
static void on_err(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	Run *r = s->data;
	(void)buf;
	if (nread == 0)
		return;                 /* libuv's "nothing now" (EAGAIN), not end of file */
	if (nread > 0) {
		r->errlen += (size_t)nread;
		if (r->errlen < sizeof r->errmsg)
			return;
	}
	uv_read_stop(s);
	if (r->errlen == sizeof r->errmsg) {
		int stage = r->errmsg[0] >= 0 && r->errmsg[0] <= ST_EXEC ? r->errmsg[0] : ST_EXEC;
		int e = r->errmsg[1] > 0 ? r->errmsg[1] : EIO;
		char line[512];
		if (stage == ST_PAM)
			strfmt(line, sizeof line, "cannot run: PAM session: %s", run_pam_strerror(e));
		else if (stage == ST_CHDIR)
			strfmt(line, sizeof line, "cannot run: chdir %s: %s", r->dir ? r->dir : "?", strerror(e));
		else
			strfmt(line, sizeof line, "cannot run: %s: %s", stages[stage], strerror(e));
		emit(r, line, strlen(line));
	}
	r->errdone = 1;
	maybe_done(r);
}

/* A leader's pid is held by its zombie, which exists only while SIGCHLD is
 * not ignored (nor SA_NOCLDWAIT set): a parent may have left it so. */
static void keep_zombies(void)
{
	struct sigaction sa;
	if (sigaction(SIGCHLD, NULL, &sa) == 0 &&
	    (sa.sa_handler == SIG_IGN || (sa.sa_flags & SA_NOCLDWAIT))) {
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = SIG_DFL;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGCHLD, &sa, NULL);
	}
}

static void closefd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int run_spawn(uv_loop_t *loop, const RunSpec *spec, const RunCallbacks *cb, void *arg,
              Run **out, int *pid, char *why, size_t n)
{
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, nullfd = -1, cgfd = -1, pidfd = -1, rc;
	RunCgroup cg = { -1, 0 };
	gid_t *groups = NULL;
	size_t ngroups = 0;
	if (spec->user && (rc = user_groups(spec->user, spec->gid, &groups, &ngroups, why, n)) < 0)
		return rc;
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
	    (nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		rc = -errno;
		strfmt(why, n, "pipe: %s", strerror(-rc));
		goto fail;
	}
	if (cgroup_on() && (rc = cgroup_new(&cg, &cgfd, why, n)) < 0)
		goto fail;
	if ((rc = lift(&outp[1])) < 0 || (rc = lift(&nullfd)) < 0 || (rc = lift(&errp[1])) < 0 ||
	    (cgfd >= 0 && (rc = lift(&cgfd)) < 0)) {
		strfmt(why, n, "dup: %s", strerror(-rc));
		goto fail;
	}
	char *argv[] = { "/bin/sh", "-c", (char *)spec->cmd, NULL };
	char **envp = spec->env ? spec->env : environ;
	keep_zombies();

	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t child_pid = fork();
	if (child_pid == 0)
		child(spec, outp[1], nullfd, errp[1], cgfd, groups, ngroups, argv, envp);
	int fork_errno = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	closefd(&outp[1]);
	closefd(&nullfd);
	closefd(&errp[1]);
	closefd(&cgfd);
	if (child_pid < 0) {
		rc = -fork_errno;
		strfmt(why, n, "fork: %s", strerror(fork_errno));
		goto fail;
	}
	/* Our unreaped child: the pid cannot name anyone else yet. */
	if (run_pidfds() && (pidfd = (int)syscall(SYS_pidfd_open, child_pid, 0)) < 0) {
		rc = -errno;
		strfmt(why, n, "pidfd_open: %s", strerror(-rc));
		kill(child_pid, SIGKILL);
		while (waitpid(child_pid, NULL, 0) < 0 && errno == EINTR)
			;
		goto fail;
	}
	free(groups);
	Run *r = xcalloc(1, sizeof *r);
	r->cb = *cb;
	r->arg = arg;
	r->pid = child_pid;
	r->pidfd = pidfd;
	r->cg = cg;
	r->dir = spec->dir ? xstrdup(spec->dir) : NULL;
	r->next = held;
	held = r;
	if (pidfd >= 0) {
		uv_poll_init(loop, &r->leader, pidfd);
		r->leader.data = r;
		uv_poll_start(&r->leader, UV_READABLE, on_leader);
	} else {
		track_sigchld(loop);    /* in place before the loop can see the exit */
	}
	/* A pipe libuv will not watch would never reach end of file, and the
	 * run would never end: it counts as ended (its output is lost; said). */
	uv_pipe_init(loop, &r->out, 0);
	r->out.data = r;
	if ((rc = uv_pipe_open(&r->out, outp[0])) < 0)
		closefd(&outp[0]);
	if (rc < 0 || (rc = uv_read_start((uv_stream_t *)&r->out, alloc_cb, on_out)) < 0) {
		LOGE("run (pid %d): cannot read its output: %s", r->pid, uv_strerror(rc));
		r->eof = 1;
	}
	/* The child execs (the pipe closes: EOF) or says what failed, later. */
	uv_pipe_init(loop, &r->err, 0);
	r->err.data = r;
	if ((rc = uv_pipe_open(&r->err, errp[0])) < 0)
		closefd(&errp[0]);
	if (rc < 0 || (rc = uv_read_start((uv_stream_t *)&r->err, err_alloc, on_err)) < 0) {
		LOGE("run (pid %d): cannot read its start-up report: %s", r->pid, uv_strerror(rc));
		r->errdone = 1;
	}
	*pid = r->pid;
	*out = r;
	return 0;

fail:
	closefd(&outp[0]);
	closefd(&outp[1]);
	closefd(&errp[0]);
	closefd(&errp[1]);
	closefd(&nullfd);
	closefd(&cgfd);
	if (cg.fd >= 0 && cgroup_remove(&cg) < 0)
		cgroup_forget(&cg);
	free(groups);
	return rc;
}

int run_kill(Run *r, int sig)
{
	int hit = 0;
	if (!r->ended) {
		/* The leader, and its group: held unreaped, it keeps the number from
		 * naming anyone else's process or group. */
		hit += (r->pidfd >= 0 ? syscall(SYS_pidfd_send_signal, r->pidfd, sig, NULL, 0)
		                      : kill(r->pid, sig)) == 0;
		hit += kill(-r->pid, sig) == 0;
	}
	/* What left the group (setsid, double forks) is still in the cgroup. */
	if (r->cg.fd >= 0)
		hit += cgroup_signal(&r->cg, sig) == 0;
	return hit ? 0 : -ESRCH;
}

void run_abandon(Run *r)
{
	if (r->gone)
		return;
	if (r->ended) {
		linger(r, 1);
		return;
	}
	if (!r->exited) {
		if (r->pidfd >= 0)
			uv_poll_stop(&r->leader);
		r->status = -SIGKILL;   /* what it was last sent; it has not gone yet */
	}
	uv_read_stop((uv_stream_t *)&r->out);
	uv_read_stop((uv_stream_t *)&r->err);
	r->exited = r->eof = r->errdone = 1;
	end(r, 1);
}

void run_detach(Run *r)
{
	r->cb.line = NULL;
	r->cb.done = NULL;
	r->cb.gone = NULL;
}
