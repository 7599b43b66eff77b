/* Spawning, output capture and reaping. stdout and stderr share one pipe so
 * lines interleave as the child wrote them. A run is finished only when the
 * child has exited AND the pipe reached EOF, so no output line is ever
 * recorded after the exit status. The child calls setsid: it leads a session
 * and process group of its own, so kill(-pid) reaches everything it started.
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
 * Children are reaped by one SIGCHLD watcher for the process (signals are
 * process-wide), each live run by its own pid: never waitpid(-1), so children
 * that are not runs are left to whoever made them. The watcher exists only
 * while runs are alive, so an idle loop has no handle of ours. */
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

#include "run.h"
#include "util/util.h"

extern char **environ;

struct Run {
	uv_pipe_t out;
	uv_pipe_t err;              /* the child's report of a failure before exec */
	RunCallbacks cb;
	void *arg;
	int pid;
	int exited, eof, errdone, status;
	int closing;                /* handles still closing */
	int errmsg[2];              /* stage, errno */
	size_t errlen;
	char *dir;                  /* for the chdir failure message */
	struct Run *next;           /* the reaper's list of runs not yet reaped */
	char line[RUN_MAXLINE];
	size_t linelen;
};

/* The SIGCHLD watcher and the runs whose children have not been reaped. */
typedef struct Reaper {
	uv_signal_t sig;
	Run *live;
} Reaper;
static Reaper *reaper;      /* SIGCHLD is one per process; jobd has one loop */

static void emit(Run *r, const char *p, size_t n)
{
	if (r->cb.line)
		r->cb.line(r->arg, p, n);
}

static void handle_closed(uv_handle_t *h)
{
	Run *r = h->data;
	if (--r->closing == 0) {
		free(r->dir);
		free(r);
	}
}

static void maybe_done(Run *r)
{
	if (!r->exited || !r->eof || !r->errdone || r->closing)
		return;
	if (r->linelen) {
		emit(r, r->line, r->linelen);
		r->linelen = 0;
	}
	if (r->cb.done)
		r->cb.done(r->arg, r->status);
	r->closing = 2;
	uv_close((uv_handle_t *)&r->out, handle_closed);
	uv_close((uv_handle_t *)&r->err, handle_closed);
}

static void reaper_closed(uv_handle_t *h)
{
	free(h->data);
}

static void reaper_maybe_close(void)
{
	if (reaper && !reaper->live) {
		uv_close((uv_handle_t *)&reaper->sig, reaper_closed);
		reaper = NULL;
	}
}

static void on_sigchld(uv_signal_t *h, int signum)
{
	Reaper *rp = h->data;
	(void)signum;
	for (Run **p = &rp->live; *p;) {
		Run *r = *p;
		int st = 0;
		pid_t w;
		do
			w = waitpid(r->pid, &st, WNOHANG);
		while (w < 0 && errno == EINTR);
		if (w == 0 || (w < 0 && errno != ECHILD)) {
			p = &r->next;
			continue;
		}
		*p = r->next;
		r->exited = 1;
		if (w < 0)
			r->status = 127;        /* reaped by someone else: the status is lost */
		else if (WIFSIGNALED(st))
			r->status = -WTERMSIG(st);
		else
			r->status = WEXITSTATUS(st);
		/* done may spawn: a new run goes to the head of the list, before *p or at it. */
		maybe_done(r);
	}
	if (rp == reaper)
		reaper_maybe_close();
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
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t take = (size_t)((nl ? nl : end) - p);
		size_t room = RUN_MAXLINE - r->linelen;
		if (take >= room) {
			/* Split an over-long line at the bound. */
			memcpy(r->line + r->linelen, p, room);
			emit(r, r->line, RUN_MAXLINE);
			r->linelen = 0;
			p += room;
			continue;
		}
		memcpy(r->line + r->linelen, p, take);
		r->linelen += take;
		p += take;
		if (nl) {
			emit(r, r->line, r->linelen);
			r->linelen = 0;
			p++;
		}
	}
}

/* ---- the child, between fork and exec ---- */

enum Stage { ST_SETSID, ST_STDIO, ST_SETGROUPS, ST_SETGID, ST_SETUID, ST_CHDIR, ST_EXEC };

/* Reports what failed and why to the parent, and exits. */
static _Noreturn void child_fail(int errfd, int stage)
{
	int msg[2] = { stage, errno };
	ssize_t w = write(errfd, msg, sizeof msg);
	(void)w;
	_exit(127);
}

/* Async-signal-safe calls only: the parent may have had other threads. */
static _Noreturn void child(const RunSpec *spec, int outfd, int nullfd, int errfd,
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
			struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } ka = { 0 };
			syscall(SYS_rt_sigaction, s, &ka, NULL, sizeof ka.mask);
		}
	}
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (setsid() < 0)
		child_fail(errfd, ST_SETSID);
	/* The sources are all above 2 (see lift), so no dup2 clobbers another. */
	if (dup2(nullfd, 0) < 0 || dup2(outfd, 1) < 0 || dup2(outfd, 2) < 0)
		child_fail(errfd, ST_STDIO);
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
	[ST_SETSID] = "setsid", [ST_STDIO] = "redirecting stdin, stdout and stderr",
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
		if (stage == ST_CHDIR)
			strfmt(line, sizeof line, "cannot run: chdir %s: %s", r->dir ? r->dir : "?", strerror(e));
		else
			strfmt(line, sizeof line, "cannot run: %s: %s", stages[stage], strerror(e));
		emit(r, line, strlen(line));
	}
	r->errdone = 1;
	maybe_done(r);
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
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, nullfd = -1, rc;
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
	if ((rc = lift(&outp[1])) < 0 || (rc = lift(&nullfd)) < 0 || (rc = lift(&errp[1])) < 0) {
		strfmt(why, n, "dup: %s", strerror(-rc));
		goto fail;
	}
	char *argv[] = { "/bin/sh", "-c", (char *)spec->cmd, NULL };
	char **envp = spec->env ? spec->env : environ;

	/* The watcher is in place before the child can exit. */
	if (!reaper) {
		reaper = xcalloc(1, sizeof *reaper);
		uv_signal_init(loop, &reaper->sig);
		reaper->sig.data = reaper;
		uv_signal_start(&reaper->sig, on_sigchld, SIGCHLD);
	}
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t child_pid = fork();
	if (child_pid == 0)
		child(spec, outp[1], nullfd, errp[1], groups, ngroups, argv, envp);
	int fork_errno = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	closefd(&outp[1]);
	closefd(&nullfd);
	closefd(&errp[1]);
	if (child_pid < 0) {
		rc = -fork_errno;
		strfmt(why, n, "fork: %s", strerror(fork_errno));
		goto fail;
	}
	free(groups);
	Run *r = xcalloc(1, sizeof *r);
	r->cb = *cb;
	r->arg = arg;
	r->pid = child_pid;
	r->dir = spec->dir ? xstrdup(spec->dir) : NULL;
	r->next = reaper->live;
	reaper->live = r;
	uv_pipe_init(loop, &r->out, 0);
	r->out.data = r;
	uv_pipe_open(&r->out, outp[0]);
	uv_read_start((uv_stream_t *)&r->out, alloc_cb, on_out);
	/* The child execs (the pipe closes: EOF) or says what failed, later. */
	uv_pipe_init(loop, &r->err, 0);
	r->err.data = r;
	uv_pipe_open(&r->err, errp[0]);
	uv_read_start((uv_stream_t *)&r->err, err_alloc, on_err);
	*pid = r->pid;
	*out = r;
	return 0;

fail:
	closefd(&outp[0]);
	closefd(&outp[1]);
	closefd(&errp[0]);
	closefd(&errp[1]);
	closefd(&nullfd);
	free(groups);
	reaper_maybe_close();
	return rc;
}

int run_kill(Run *r, int sig)
{
	if (r->exited && r->eof)
		return -ESRCH;
	/* The group outlives its leader while grandchildren hold it. */
	if (kill(-r->pid, sig) < 0)
		return -errno;
	return 0;
}

void run_detach(Run *r)
{
	r->cb.line = NULL;
	r->cb.done = NULL;
}
