/* Spawning, output capture and reaping. stdout and stderr share one pipe, so
 * lines interleave exactly as the child wrote them, unless the caller wants
 * stderr's lines told apart (RunCallbacks.errline): then each has a pipe of
 * its own, and a line's stream is known at the cost of the exact order
 * between the two. A run is finished only when the child has exited AND
 * every output pipe reached EOF, so no output line is ever recorded after
 * the exit status. The child calls setsid: it leads a session
 * and process group of its own, so kill(-pid) reaches everything it started
 * that stayed in the group; where jobd has cgroups (cgroup.c) the child also
 * joins a cgroup of its own before exec, which nothing it starts can leave
 * (setsid, double forks) unless it is root and moves itself out.
 *
 * jobd starts the child itself rather than use uv_spawn or posix_spawn: a
 * run as its owner needs the owner's supplementary groups (what initgroups
 * sets; libuv drops them all, posix_spawn cannot set them), its rlimits and
 * its cgroup. The child is started with clone(CLONE_VM | CLONE_VFORK), as
 * glibc's posix_spawn does: it runs in jobd's memory, on a small stack of its
 * own, and the thread that cloned it is suspended until it has exec'd (or
 * exited), so no page table is copied and no copy-on-write fault follows,
 * whatever the size of jobd's heap. That thread is the spawner's
 * (spawner.c): the loop prepares the start, hands it over and goes on, and
 * hears when the child has started (RunCallbacks.started). Between clone and
 * exec the child makes system calls only (child.c): everything it needs
 * (argv, envp, the group list, the descriptors) is prepared before, in a
 * copy the spawner owns, and it writes nothing of jobd's but its own stack,
 * the Child it was given (where it says what failed) and errno (the spawner
 * thread's). Its identity changes are raw system calls: glibc's set*id
 * wrappers would run jobd's own multi-thread machinery in shared memory.
 * When clone returns the child has exec'd or failed, so a failure is known
 * then, without a pipe; it becomes the run's first line ("cannot run:
 * chdir /x: No such file or directory") and the child's exit status 127, as
 * does a start that failed (clone's own error).
 *
 * Until it has started, a Run has no pid: run_kill remembers the signal
 * and sends it once the child is there; run_abandon ends the Run at once and
 * the child, when it comes, is killed.
 *
 * Where the child must call code that is not async-signal-safe, jobd forks
 * instead: a PAM session (pam.c) runs arbitrary module code, with malloc, in
 * the child, which would corrupt jobd's heap in shared memory. There, and
 * under valgrind (which runs clone(CLONE_VM | CLONE_VFORK) as a fork, so the
 * child's report would not reach jobd's memory), the child is a copy of jobd
 * and reports a failure through a close-on-exec pipe read by the loop, not
 * waited for.
 *
 * The leader is held by a pidfd, from clone itself (CLONE_PIDFD), or opened
 * right after the fork (safe: it is our child and nobody else can reap it),
 * and watched by the loop: the pidfd becomes readable when it exits. It
 * stays an unreaped zombie until the run has ended (exit and EOF), when its
 * status is read and it is reaped in one waitid (where the status has to be
 * known sooner, it is read with WNOWAIT). While a zombie exists its pid
 * cannot be handed out again, and neither can its process group's and
 * session's (the same
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
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run_int.h"
#include "util/log.h"
#include "util/util.h"

extern char **environ;


/* One output pipe of the run and the line it is collecting. */
typedef struct Stream {
	struct Run *run;
	int fd;                     /* the read end, non-blocking; -1 once closed */
	int watched;                /* being read (see "the outputs"): not paused, not at its end */
	int armed;                  /* its entry in the outputs' set may report (one-shot) */
	int inset;                  /* it has an entry there (armed or spent) */
	int eof;                    /* at end of file, or never to be read again */
	int is_err;                 /* stderr's own pipe: lines go to cb.errline */
	char line[RUN_MAXLINE];
	size_t linelen;
} Stream;

struct Run {
	uv_loop_t *loop;
	Stream out[2];              /* stdout (and stderr, unless split); stderr if split */
	int nout;                   /* 1, or 2 when stderr has its own pipe (split) */
	uv_pipe_t err;              /* forked: the child's report of a failure before exec */
	int armed;                  /* its pidfd is watched (see "the leaders") */
	uv_fs_event_t events;       /* the cgroup's cgroup.events, while it outlives the run */
	RunCallbacks cb;
	void *arg;
	int pid, pidfd;             /* pidfd -1: none (run_pidfds) */
	int exited, errdone, status;
	int exit_seen;              /* its pidfd said it exited; status not read yet */
	int errpipe;                /* err is in use (forked) */
	int paused;                 /* run_output_pause: its pipes are not read */
	int ended;                  /* done was called; the leader is reaped */
	int reaped;                 /* the leader is reaped already (leader_exited) */
	int watching;               /* events is in use */
	int gone;                   /* gone was called: freed at the last close */
	int closing;                /* handles still closing */
	RunCgroup cg;
	int errmsg[2];              /* what failed before exec: stage, errno */
	size_t errlen;              /* bytes of errmsg known (all: it failed) */
	char *dir;                  /* for the chdir failure message */
	int64_t born_lo, born_hi;   /* CLOCK_BOOTTIME ns just before and after the start */
	Spawn *spawn;               /* while the child is being started: no pid yet */
	int pending_sig;            /* run_kill before the start: sent once it is there */
	struct Run *next, **pprev;  /* held: runs whose leader is not reaped yet */
	struct Run *dead_next;      /* gone during a batch of events: freed after it */
	int dead;                   /* on that list */
};

/* Runs whose leader jobd holds unreaped. O(runs in progress) to search:
 * only the SIGCHLD watcher does (as subreaper, or without pidfds). */
static Run *held;

/* ---- the leaders ----
 *
 * Each run's pidfd is in one epoll set of jobd's (EPOLLONESHOT), which the
 * loop watches as one descriptor: a run costs one epoll_ctl to watch, and
 * nothing to stop watching (its event comes once; closing the pidfd takes it
 * out of the set). A libuv poll handle per pidfd cost five or six system
 * calls a run (libuv checks each new descriptor with an add and a remove,
 * then adds, removes, and removes again at the close). The loop's handle is
 * referenced while any leader is watched, so a run whose output has ended
 * but whose leader lives keeps the loop alive, as its own handle did.
 *
 * While starts are on their way (a burst), ends wait: exits, and the
 * outputs' events too (see "the ends wait" below). */

/* ---- the ends wait ----
 *
 * While starts are on their way (a burst), what ends runs waits: the
 * leaders' exits and the outputs' events (most of them a pipe's end of
 * file). The sets are read again once the last start is back (but not before
 * END_WAIT_MS), or END_DEFER_MS after the first end waited, whichever comes
 * first; the outputs first, so that a run whose pipes are at their end ends
 * as its exit is read. Each wake-up is a loop turn and each turn a commit:
 * a burst's children, exiting about as fast as the spawner starts them,
 * ended one or two a turn, and their commits were about a sixth of jobd's
 * work per fire; taken every 5 ms, their ends still took the CPU from the
 * burst's later starts (p99 lateness 1.2-1.3x a bare burst's, 1.05-1.09x
 * with the ends after the starts). With the exits waiting, their pipes'
 * ends of file still woke the loop about once a run (938 wake-ups in a
 * burst of 1 000): they wait too, but only while the outputs' last read
 * found no data, only ends. So a run that prints is read as it prints,
 * however long starts go on (a steady load has one on its way most of the
 * time): its first lines may wait once, up to END_DEFER_MS (a pipe that
 * fills meanwhile holds its writer that long), then the reads that find
 * data keep the outputs from waiting. The wait saves the wake-ups of quiet
 * pipes, where it pays; a quiet run's end is taken up to END_DEFER_MS late
 * while a burst is being started, never later. The spawner hands its
 * starts back in batches too (spawner.c, HAND_WAIT_NS); an end when no
 * start is on its way is taken at once. */
enum { END_WAIT_MS = 5, END_DEFER_MS = 100 };

static struct {
	uv_timer_t timer;           /* armed while ends wait */
	int made;                   /* timer is initialised (and not closed) */
	int on;                     /* ends wait (timer armed) */
	int64_t since_ns;           /* when they began to (monotonic) */
	int leaders, outs;          /* that set's poll is stopped until they are taken */
	int outs_more;              /* the outputs' last read left some: no wait
	                             * until they are read */
	int outs_data;              /* the outputs' last read found data: no wait */
} ends;

/* An epoll set of jobd's that the loop watches as one descriptor (the
 * leaders', the outputs'): made at its first use, its handle referenced
 * while anything in it is watched. */
typedef struct EpSet {
	int ep;                     /* -1: not made yet */
	uv_poll_t poll;             /* the loop's watch on it */
	unsigned watched;
} EpSet;

static struct {
	EpSet set;                  /* watched: the leaders whose event has not come */
} lead = { .set.ep = -1 };

/* Makes the set if it is not made yet: 1 made now, 0 made before, -errno. */
static int epset_open(EpSet *s, uv_loop_t *loop, uv_poll_cb cb)
{
	if (s->ep >= 0)
		return 0;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return -errno;
	int rc = uv_poll_init(loop, &s->poll, ep);
	if (rc < 0) {
		close(ep);
		return rc;
	}
	if (!ends.made) {
		uv_timer_init(loop, &ends.timer);
		ends.made = 1;
	}
	s->ep = ep;
	s->poll.data = s;
	/* Cannot fail for a readable watch on a new handle. */
	uv_poll_start(&s->poll, UV_READABLE, cb);
	uv_unref((uv_handle_t *)&s->poll);
	return 1;
}

/* One more thing in s is watched. */
static void epset_watched(EpSet *s)
{
	if (s->watched++ == 0)
		uv_ref((uv_handle_t *)&s->poll);
}

/* epoll_ctl op (EPOLL_CTL_ADD, or MOD to watch again) for fd in s: 0, or
 * -errno. */
static int epset_ctl(EpSet *s, int op, int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };
	return epoll_ctl(s->ep, op, fd, &ev) < 0 ? -errno : 0;
}

/* epset_ctl, counted as watched. */
static int epset_watch(EpSet *s, int op, int fd, uint32_t events, void *ptr)
{
	int rc = epset_ctl(s, op, fd, events, ptr);
	if (rc == 0)
		epset_watched(s);
	return rc;
}

/* One watched less (its caller took it out of the set, or its one-shot
 * event came). */
static void epset_unwatched(EpSet *s)
{
	if (--s->watched == 0)
		uv_unref((uv_handle_t *)&s->poll);
}

static void epset_closed(uv_handle_t *h)
{
	EpSet *s = h->data;
	close(s->ep);
	s->ep = -1;
}

static void epset_close(EpSet *s)
{
	if (s->ep >= 0 && !uv_is_closing((uv_handle_t *)&s->poll))
		uv_close((uv_handle_t *)&s->poll, epset_closed);
}

static int leader_arm(Run *r, int op);
static int leader_exited(Run *r, int reap);

/* ---- the outputs ----
 *
 * Every run's output pipes are in one epoll set of jobd's, which the loop
 * watches as one descriptor, as the leaders' set (above). Each entry is
 * one-shot: an event disarms it, and the pipe is armed again (EPOLL_CTL_MOD)
 * after it was read, unless it reached its end. So a run that prints
 * nothing or little costs one epoll_ctl a pipe (the add): its last event
 * is its end of file, which leaves the entry spent, and a spent entry needs
 * no remove before the close (it can report nothing more, even while a
 * child being started keeps a copy of the descriptor until its exec; the
 * close, or that exec, takes it out). A pipe still armed when it is no
 * longer read (paused, abandoned) is removed first. libuv pipes cost
 * more system calls (its checks of each new descriptor, its mode and
 * flags, its adds and removes: about nine a run more than this set's first
 * form, bench/RESULTS.md), and a handle to close a turn later. Each
 * wake-up reads at most OUT_EVENTS pipes, each at most OUT_READS times
 * 64 KiB: what is left is read at the next turn, so one run's flood cannot
 * hold the loop. The loop's handle is referenced while a pipe is being
 * read. */
enum { OUT_EVENTS = 64, OUT_READS = 4, OUT_CHUNK = 65536 };

static EpSet outs = { .ep = -1 };  /* watched: the pipes being read */

static void on_outs(uv_poll_t *h, int status, int events);
static void stream_close(Stream *st);

/* r's pidfd is no longer watched (its event came, or its run ended). */
static void leader_unwatch(Run *r)
{
	if (!r->armed)
		return;
	r->armed = 0;
	epset_unwatched(&lead.set);
}

static void emit(Run *r, const Stream *st, const char *p, size_t n)
{
	void (*cb)(void *, const char *, size_t) = st->is_err ? r->cb.errline : r->cb.line;
	if (cb)
		cb(r->arg, p, n);
}

/* Every output pipe is at its end. */
static int out_eof(const Run *r)
{
	for (int i = 0; i < r->nout; i++)
		if (!r->out[i].eof)
			return 0;
	return 1;
}

static void closefd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Runs freed while a batch of epoll events is handled wait on this list
 * until the batch is over: a later event of the batch may name one (its
 * stream or leader, unwatched by then, is skipped). */
static int batch_depth;
static Run *dead;

static void batch_begin(void)
{
	batch_depth++;
}

static void batch_end(void)
{
	if (--batch_depth > 0)
		return;
	while (dead) {
		Run *r = dead;
		dead = r->dead_next;
		free(r->dir);
		free(r);
	}
}

/* Frees r once gone, its handles closed and its start (if any) over. */
static void run_free(Run *r)
{
	if (!r->gone || r->closing || r->spawn || r->dead)
		return;
	if (batch_depth > 0) {
		r->dead = 1;
		r->dead_next = dead;
		dead = r;
		return;
	}
	free(r->dir);
	free(r);
}

static void handle_closed(uv_handle_t *h)
{
	Run *r = h->data;
	r->closing--;
	run_free(r);
}

static void close_handle(Run *r, uv_handle_t *h, uv_close_cb cb)
{
	r->closing++;
	uv_close(h, cb);
}


/* waitid on the leader, by pidfd where there is one. */
static int wait_leader(Run *r, siginfo_t *si, int options)
{
	int rc;
	memset(si, 0, sizeof *si);
	if (r->pid <= 0) {
		errno = ECHILD;         /* never started: nothing to wait for */
		return -1;
	}
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
	if (!r->pprev)
		return;
	*r->pprev = r->next;
	if (r->next)
		r->next->pprev = r->pprev;
	r->next = NULL;
	r->pprev = NULL;
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
	run_free(r);
}

/* The pool of empty cgroups (cgroup.c) is trimmed by a timer, armed while
 * the pool holds any (so never while jobd is idle with none), which never
 * keeps the loop alive. Entries that expire within a second of each other
 * go at one wake-up. */
static uv_timer_t pool_timer;
static uv_timer_t ahead_timer;  /* run_expect's, made with pool_timer */
static int pool_timer_made;

static void on_pool_timer(uv_timer_t *t)
{
	int64_t next = cgroup_pool_trim();
	if (next >= 0)
		uv_timer_start(t, on_pool_timer, (uint64_t)next + 1000, 0);
}

static void pool_watch(uv_loop_t *loop)
{
	if (!pool_timer_made) {
		uv_timer_init(loop, &pool_timer);
		uv_unref((uv_handle_t *)&pool_timer);
		uv_timer_init(loop, &ahead_timer);
		uv_unref((uv_handle_t *)&ahead_timer);
		pool_timer_made = 1;
	}
	if (!uv_is_active((uv_handle_t *)&pool_timer))
		on_pool_timer(&pool_timer);
}

/* Cgroups made ahead of a burst (run_expect): AHEAD_PER_TURN at a time, on
 * a zero timer, so that clients are served between (a thousand take about
 * 40 ms of the kernel's time). */
enum { AHEAD_PER_TURN = 32 };
static size_t ahead_want;

static void on_ahead(uv_timer_t *t)
{
	size_t left = cgroup_pool_fill(ahead_want, AHEAD_PER_TURN);
	pool_watch(uv_handle_get_loop((uv_handle_t *)t));
	if (left > 0)
		uv_timer_start(t, on_ahead, 0, 0);
}

void run_expect(uv_loop_t *loop, size_t n)
{
	if (!cgroup_on() || n == 0)
		return;
	if (!pool_timer_made)
		pool_watch(loop);       /* makes both timers */
	ahead_want = n;
	if (!uv_is_active((uv_handle_t *)&ahead_timer))
		on_ahead(&ahead_timer);
}

void run_pool_close(void)
{
	if (pool_timer_made) {
		uv_close((uv_handle_t *)&pool_timer, NULL);
		uv_close((uv_handle_t *)&ahead_timer, NULL);
		pool_timer_made = 0;
	}
}

/* cgroup.events changed: the cgroup of an ended run may have emptied. */
static void on_events(uv_fs_event_t *h, const char *name, int events, int status)
{
	Run *r = h->data;
	(void)name;
	(void)events;
	(void)status;
	if (cgroup_populated(&r->cg) == 0 && cgroup_remove(&r->cg) == 0) {
		pool_watch(uv_handle_get_loop((uv_handle_t *)h));
		go(r);
	}
}

/* After the end, the run is gone once its cgroup is empty: at once, or when
 * the kernel reports the change through cgroup.events (inotify; one watch
 * per cgroup that outlives its run). A cgroup still in use when abandoned,
 * or that cannot be watched, is left as it is; the next jobd clears it. */
static void linger(Run *r, int abandon)
{
	/* Most cgroups are empty by now (nothing is left once the leader is
	 * reaped), and nothing joins an empty one: those go at once, unwatched
	 * (to the pool, or removed). */
	uv_loop_t *loop = r->loop;
	int had = r->cg.on;
	/* A child still being started may join it yet: counted as in use. */
	int in_use = had ? (r->spawn ? 1 : cgroup_populated(&r->cg)) : 0;
	if (in_use > 0 && !abandon) {
		char path[640];
		cgroup_events_path(&r->cg, path, sizeof path);
		uv_fs_event_init(loop, &r->events);
		r->events.data = r;
		r->watching = 1;
		/* Armed, then looked at again: the last process may have left in between. */
		if (uv_fs_event_start(&r->events, on_events, path, 0) == 0 &&
		    (in_use = cgroup_populated(&r->cg)) > 0)
			return;
	}
	if (r->cg.on && (in_use != 0 || cgroup_remove(&r->cg) < 0)) {
		/* Said once, where it happens: kill and delete no longer reach it. */
		LOGW("run (pid %d): its cgroup still has processes but cannot be %s; leaving them "
		     "to the next jobd's clean-up", r->pid, abandon ? "waited for" : "watched");
		cgroup_forget(&r->cg);
	}
	if (had)
		pool_watch(loop);
	go(r);
}

static void say_failure(Run *r);

/* The run has ended: its last line (and what failed before exec); its leader
 * reaped (the zombie kept its pid and group from being reused until now);
 * done; then linger. */
static void end(Run *r, int abandon)
{
	for (int i = 0; i < r->nout; i++) {
		Stream *st = &r->out[i];
		if (st->linelen) {
			emit(r, st, st->line, st->linelen);
			st->linelen = 0;
		}
	}
	say_failure(r);
	r->ended = 1;
	siginfo_t si;
	/* WNOHANG: an abandoned leader may not have exited; it is left behind. */
	if (!r->reaped)
		wait_leader(r, &si, WEXITED | WNOHANG);
	unhold(r);
	if (r->cb.done)
		r->cb.done(r->arg, r->status);
	for (int i = 0; i < r->nout; i++)
		stream_close(&r->out[i]);
	if (r->errpipe)
		close_handle(r, (uv_handle_t *)&r->err, handle_closed);
	if (r->pidfd >= 0) {
		/* Out of the leaders' set before the close: a forked child may
		 * hold a copy of the pidfd until it execs, which would keep it in. */
		if (r->armed)
			epoll_ctl(lead.set.ep, EPOLL_CTL_DEL, r->pidfd, NULL);
		leader_unwatch(r);
		close(r->pidfd);
		r->pidfd = -1;
	}
	linger(r, abandon);
}

static void maybe_done(Run *r)
{
	if (r->ended || !out_eof(r) || !r->errdone)
		return;
	if (!r->exited && r->exit_seen) {
		r->exit_seen = 0;
		if (!leader_exited(r, 1)) {
			/* Its pidfd said it had exited, waitid says not yet: watched
			 * again, or, failing that, lost. */
			if (leader_arm(r, EPOLL_CTL_MOD) == 0)
				return;
			r->exited = 1;
			r->status = 127;
		}
	}
	if (r->exited)
		end(r, 0);
}

/* Has the leader exited? Its status is read, and it is left a zombie
 * (WNOWAIT) until the run ends; reaped at once if reap (the run ends now:
 * its output is at its end), which saves end's wait. 1 if it has (or cannot
 * be waited for). */
static int leader_exited(Run *r, int reap)
{
	siginfo_t si;
	int rc = wait_leader(r, &si, WEXITED | WNOHANG | (reap ? 0 : WNOWAIT));
	if (rc == 0 && si.si_pid == 0)
		return 0;
	r->exited = 1;
	r->reaped = reap && rc == 0;
	if (rc < 0)
		r->status = 127;        /* cannot be waited for: the status is lost */
	else if (si.si_code == CLD_EXITED)
		r->status = si.si_status;
	else
		r->status = -si.si_status;
	return 1;
}

/* The leader's pidfd is readable: it has exited. Its status is read with the
 * reap, in one waitid, when the run ends: a run whose output is still open
 * (its last lines on their way, or a process that kept the pipe) waits for
 * that with its exit seen. */
static void on_leader(Run *r, uint32_t events)
{
	if (events & (EPOLLERR | EPOLLHUP)) {
		/* The pidfd failed: what waitid says, or as lost as it gets. */
		if (!leader_exited(r, out_eof(r) && r->errdone && !r->ended)) {
			r->exited = 1;
			r->status = 127;
		}
	} else {
		r->exit_seen = 1;
	}
	maybe_done(r);
}

static void leaders_read(void)
{
	struct epoll_event ev[64];
	int k;
	batch_begin();
	do {
		do
			k = epoll_wait(lead.set.ep, ev, 64, 0);
		while (k < 0 && errno == EINTR);
		/* A run whose event is in this batch may end while an earlier one
		 * is handled (its pidfd closed, unwatched): it is still allocated
		 * (batch_end frees it), and skipped. */
		for (int i = 0; i < k; i++) {
			Run *r = ev[i].data.ptr;
			if (r->armed) {
				leader_unwatch(r);
				on_leader(r, ev[i].events);
			}
		}
	} while (k == 64);
	batch_end();
}

static void on_leaders(uv_poll_t *h, int status, int events);
static void on_outs(uv_poll_t *h, int status, int events);
static void outs_read(void);

static void on_ends(uv_timer_t *t)
{
	/* Still starting: wait on until the last start is back (on_spawned)
	 * or END_DEFER_MS have passed since the first end waited, so that a
	 * burst's ends come after its starts, not between them. */
	int64_t left = ends.since_ns + END_DEFER_MS * 1000000LL - mono_now().ns;
	if (spawner_inflight() > 0 && left > 0 &&
	    uv_timer_start(t, on_ends, (uint64_t)(left / 1000000) + 1, 0) == 0)
		return;
	ends.on = 0;
	if (ends.outs) {
		ends.outs = 0;
		uv_poll_start(&outs.poll, UV_READABLE, on_outs);
		outs_read();
	}
	if (ends.leaders) {
		ends.leaders = 0;
		uv_poll_start(&lead.set.poll, UV_READABLE, on_leaders);
		leaders_read();
	}
}

/* s's poll reported: does its reading wait (starts on their way)? Then its
 * poll is stopped (*held) until the ends are taken. */
static int ends_wait(EpSet *s, int *held)
{
	if (spawner_inflight() == 0 || !ends.made)
		return 0;
	if (!ends.on) {
		/* Refused only once the timer is closing (run_leaders_close):
		 * then nothing waits. */
		if (uv_timer_start(&ends.timer, on_ends, END_WAIT_MS, 0) < 0)
			return 0;
		ends.on = 1;
		ends.since_ns = mono_now().ns;
	}
	uv_poll_stop(&s->poll);
	*held = 1;
	return 1;
}

/* The last start is back: the ends that waited for it are taken after at
 * least END_WAIT_MS, as before, or at once if that has passed. */
static void ends_starts_back(void)
{
	if (ends.on && spawner_inflight() == 0) {
		int64_t left = ends.since_ns + END_WAIT_MS * 1000000LL - mono_now().ns;
		uv_timer_start(&ends.timer, on_ends, left > 0 ? (uint64_t)(left / 1000000) + 1 : 0, 0);
	}
}

static void on_leaders(uv_poll_t *h, int status, int events)
{
	(void)h;
	(void)status;
	(void)events;
	if (!ends_wait(&lead.set, &ends.leaders))
		leaders_read();
}

/* Watches r's pidfd (or watches it again: op EPOLL_CTL_MOD). 0, or -errno. */
static int leader_arm(Run *r, int op)
{
	int rc = epset_watch(&lead.set, op, r->pidfd, EPOLLIN | EPOLLONESHOT, r);
	if (rc == 0)
		r->armed = 1;
	return rc;
}

/* Starts watching the leader of a new run: 0, or -errno. */
static int leader_watch(uv_loop_t *loop, Run *r)
{
	int rc = epset_open(&lead.set, loop, on_leaders);
	if (rc < 0)
		return rc;
	return leader_arm(r, EPOLL_CTL_ADD);
}

static void ends_closed(uv_handle_t *h)
{
	(void)h;
	ends.made = 0;
}

void run_leaders_close(void)
{
	/* Nothing waits any more. A set made again after this (a test's loop
	 * after run_fini) reads its events at once until the timer is closed,
	 * then makes it again. */
	if (ends.made && !uv_is_closing((uv_handle_t *)&ends.timer))
		uv_close((uv_handle_t *)&ends.timer, ends_closed);
	ends.on = ends.leaders = ends.outs = ends.outs_more = ends.outs_data = 0;
	epset_close(&lead.set);
	epset_close(&outs);
}

void run_check_exits(void)
{
	/* done may spawn or end other runs: one at a time, from the top. */
	for (;;) {
		Run *r = held;
		while (r && (r->pidfd >= 0 || r->exited || !leader_exited(r, 0)))
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

/* Cuts what was read from one pipe into lines, each emitted as it ends. */
static void take_lines(Run *r, Stream *st, const char *p, const char *end)
{
	while (p < end) {
		if (st->linelen == RUN_MAXLINE) {
			/* A full line is split here, unless its newline is what comes
			 * next: a line of exactly RUN_MAXLINE bytes is one line. */
			emit(r, st, st->line, RUN_MAXLINE);
			st->linelen = 0;
			if (*p == '\n') {
				p++;
				continue;
			}
		}
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t take = (size_t)((nl ? nl : end) - p);
		size_t room = RUN_MAXLINE - st->linelen;
		if (take > room)
			take = room;
		memcpy(st->line + st->linelen, p, take);
		st->linelen += take;
		p += take;
		if (nl && p == nl) {
			emit(r, st, st->line, st->linelen);
			st->linelen = 0;
			p++;
		}
	}
}


/* Arms st's entry in the outputs' set (adds it, the first time): 0, or
 * -errno. */
static int stream_arm(Stream *st)
{
	int rc = epset_ctl(&outs, st->inset ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, st->fd,
	                   EPOLLIN | EPOLLONESHOT, st);
	if (rc == 0)
		st->inset = st->armed = 1;
	return rc;
}

/* Starts reading st: 0, or -errno. */
static int stream_watch(Stream *st)
{
	if (st->watched || st->fd < 0)
		return 0;
	int rc = epset_open(&outs, st->run->loop, on_outs);
	if (rc < 0 || (rc = stream_arm(st)) < 0)
		return rc;
	st->watched = 1;
	epset_watched(&outs);
	return 0;
}

/* Stops reading st (paused, at its end, or abandoned). An entry still
 * armed is removed: it could report after st is gone. */
static void stream_unwatch(Stream *st)
{
	if (!st->watched)
		return;
	if (st->armed) {
		epoll_ctl(outs.ep, EPOLL_CTL_DEL, st->fd, NULL);
		st->armed = st->inset = 0;
	}
	st->watched = 0;
	epset_unwatched(&outs);
}

static void stream_close(Stream *st)
{
	stream_unwatch(st);
	closefd(&st->fd);
}

/* st is at its end (or failed): nothing more will come. */
static void stream_ended(Stream *st)
{
	stream_close(st);
	st->eof = 1;
	maybe_done(st->run);
}

/* Reads what st holds, as much as one wake-up allows; events: what its
 * entry reported. EPOLLHUP on a pipe's read end means that no write end is
 * left (none can be made again: jobd holds only this end), so a pipe that
 * reports it and is empty, or emptied by a short read, is at its end
 * without the read that would return 0. Most runs print nothing: their
 * pipes' only event is that one, and their end costs no read at all. */
static void stream_read(Stream *st, uint32_t events)
{
	static char chunk[OUT_CHUNK]; /* one loop thread: consumed before the next read */
	Run *r = st->run;
	int hup = (events & EPOLLHUP) != 0;
	if (hup && !(events & (EPOLLIN | EPOLLERR))) {
		stream_ended(st);
		return;
	}
	for (int i = 0; i < OUT_READS; i++) {
		ssize_t k = read(st->fd, chunk, sizeof chunk);
		if (k > 0) {
			take_lines(r, st, chunk, chunk + k);
			if (!st->watched)
				return;         /* paused or ended by what its lines did */
			if ((size_t)k < sizeof chunk) {
				if (hup) {
					stream_ended(st);
					return;
				}
				break;          /* emptied */
			}
			continue;
		}
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		/* End of file, or an error: nothing more will come. */
		stream_ended(st);
		return;
	}
	/* More may come: armed again (at once ready if more is there). */
	int rc = st->armed ? 0 : stream_arm(st);
	if (rc < 0) {
		LOGE("run (pid %d): cannot read its %s: %s", r->pid,
		     st->is_err ? "stderr" : "output", strerror(-rc));
		stream_ended(st);
	}
}

static void on_outs(uv_poll_t *h, int status, int events)
{
	(void)h;
	(void)status;
	(void)events;
	/* No wait while runs print (their data is read as it comes), nor for
	 * what a wait left unread (more than OUT_EVENTS pipes, read a turn at a
	 * time): else it would come at OUT_EVENTS per END_DEFER_MS while starts
	 * go on. */
	if (ends.outs_more || ends.outs_data || !ends_wait(&outs, &ends.outs))
		outs_read();
}

/* Reads the pipes that reported, at most OUT_EVENTS of them: the set, still
 * readable if more did, is read again at the next turn. Notes whether any
 * had data, and whether OUT_EVENTS did (some may be left). */
static void outs_read(void)
{
	struct epoll_event ev[OUT_EVENTS];
	int k;
	do
		k = epoll_wait(outs.ep, ev, OUT_EVENTS, 0);
	while (k < 0 && errno == EINTR);
	batch_begin();
	/* Each event disarmed its entry. A stream closed or paused by an
	 * earlier event of the batch is no longer armed (stream_unwatch), and
	 * is skipped; one still armed is being read, and open. */
	ends.outs_more = k == OUT_EVENTS;
	ends.outs_data = 0;
	for (int i = 0; i < k; i++) {
		Stream *st = ev[i].data.ptr;
		if (ev[i].events & EPOLLIN)
			ends.outs_data = 1;
		if (st->armed) {
			st->armed = 0;
			stream_read(st, ev[i].events);
		}
	}
	batch_end();
}

/* ---- what failed before exec ---- */

static const char *const stages[ST_COUNT] = {
	[ST_FILES] = "a descriptor table of its own",
	[ST_CGROUP] = "joining its cgroup",
	[ST_SETSID] = "setsid", [ST_STDIO] = "redirecting stdin, stdout and stderr",
	[ST_PAM] = "PAM session", [ST_LIMITS] = "setrlimit",
	[ST_SETGROUPS] = "setgroups", [ST_SETGID] = "setgid", [ST_SETUID] = "setuid",
	[ST_CHDIR] = "chdir", [ST_EXEC] = "exec /bin/sh",
	[ST_CLONE] = "clone", [ST_FORK] = "fork",
};

/* The child failed before exec (errmsg is whole): the run's line that says
 * where and why. Before done, after whatever the child wrote (nothing, as a
 * rule: it had not exec'd). */
static void say_failure(Run *r)
{
	if (r->errlen != sizeof r->errmsg)
		return;
	int stage = r->errmsg[0] >= 0 && r->errmsg[0] < ST_COUNT ? r->errmsg[0] : ST_EXEC;
	int e = r->errmsg[1] > 0 ? r->errmsg[1] : EIO;
	char line[512];
	if (stage == ST_PAM)
		strfmt(line, sizeof line, "cannot run: PAM session: %s", run_pam_strerror(e));
	else if (stage == ST_CHDIR)
		strfmt(line, sizeof line, "cannot run: chdir %s: %s", r->dir ? r->dir : "?", strerror(e));
	else
		strfmt(line, sizeof line, "cannot run: %s: %s", stages[stage], strerror(e));
	r->errlen = 0;
	emit(r, &r->out[0], line, strlen(line));   /* jobd's line: stdout's, unmarked */
}

static void err_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	Run *r = h->data;
	(void)suggested;
	*buf = uv_buf_init((char *)r->errmsg + r->errlen, (unsigned)(sizeof r->errmsg - r->errlen));
}

/* Forked: EOF on the error pipe, the child exec'd (or died); a whole message
 * before it, the child failed (said at the end, by say_failure). */
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
	if (r->errlen != sizeof r->errmsg)
		r->errlen = 0;          /* a partial message: as good as none */
	r->errdone = 1;
	maybe_done(r);
}

/* A leader's pid is held by its zombie, which exists only while SIGCHLD is
 * not ignored (nor SA_NOCLDWAIT set): a parent may have left it so. Checked
 * at the first spawn: jobd itself never ignores SIGCHLD later. */
static void keep_zombies(void)
{
	static int done;
	struct sigaction sa;
	if (done++)
		return;
	if (sigaction(SIGCHLD, NULL, &sa) == 0 &&
	    (sa.sa_handler == SIG_IGN || (sa.sa_flags & SA_NOCLDWAIT))) {
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = SIG_DFL;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGCHLD, &sa, NULL);
	}
}

/* A spawn's descriptors and lists, from before the child starts until the
 * Run holds what it keeps. */
typedef struct Prep {
	int outp[2], errp[2];       /* errp: forked only */
	int stderrp[2];             /* split only: stderr's own pipe */
	int cgfd;
	RunCgroup cg;
	gid_t *groups;
	size_t ngroups;
} Prep;

/* Makes what the child needs: the output pipe (split: and stderr's; forked:
 * and the report pipe), the run's cgroup, the owner's groups. 0, or -errno
 * with why. */
static int prepare(const RunSpec *spec, int fork_it, int split, Prep *p, Child *c, char *why,
                   size_t n)
{
	int rc;
	if (spec->user && !spec->groups &&
	    (rc = run_user_groups(spec->user, spec->gid, &p->groups, &p->ngroups, why, n)) < 0)
		return rc;
	if ((rc = child_dev_null(why, n)) < 0)
		return rc;
	c->nullfd = rc;
	/* Non-blocking at both ends: the loop's end must be (open_stream), the
	 * child makes its own end blocking again (child.c). */
	if (pipe2(p->outp, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    (split && pipe2(p->stderrp, O_CLOEXEC | O_NONBLOCK) < 0) ||
	    (fork_it && pipe2(p->errp, O_CLOEXEC) < 0)) {
		rc = -errno;
		strfmt(why, n, "pipe: %s", strerror(-rc));
		return rc;
	}
	/* A clone is born in its cgroup where the kernel can (child.c, "clone3");
	 * a fork, or a clone where it cannot, joins it by writing cgroup.procs. */
	int into = !fork_it && child_into_cgroup() >= 0;
	if (cgroup_on() && (rc = cgroup_new(&p->cg, into, &p->cgfd, why, n)) < 0)
		return rc;
	if ((rc = child_lift(&p->outp[1])) < 0 || (p->errp[1] >= 0 && (rc = child_lift(&p->errp[1])) < 0) ||
	    (p->stderrp[1] >= 0 && (rc = child_lift(&p->stderrp[1])) < 0) ||
	    (p->cgfd >= 0 && !into && (rc = child_lift(&p->cgfd)) < 0)) {
		strfmt(why, n, "dup: %s", strerror(-rc));
		return rc;
	}
	c->outfd = p->outp[1];
	c->stderrfd = p->stderrp[1] >= 0 ? p->stderrp[1] : p->outp[1];
	c->errfd = p->errp[1];
	c->cgfd = into ? -1 : p->cgfd;
	c->cgdir = into ? p->cgfd : -1;
	c->stage = -1;
	return 0;
}

static void prep_fini(Prep *p)
{
	closefd(&p->outp[0]);
	closefd(&p->outp[1]);
	closefd(&p->stderrp[0]);
	closefd(&p->stderrp[1]);
	closefd(&p->errp[0]);
	closefd(&p->errp[1]);
	closefd(&p->cgfd);
	if (p->cg.on && cgroup_remove(&p->cg) < 0)
		cgroup_forget(&p->cg);
	free(p->groups);
}

/* Takes *fd, a pipe's non-blocking read end (prepare), as st's, to be
 * read once the child has started (start_reading). */
static void open_stream(Run *r, Stream *st, int *fd)
{
	st->run = r;
	st->fd = *fd;
	*fd = -1;
}

/* Opens *fd as pipe p (which owns the descriptor from now on), to be read
 * once the child has started (start_reading). A pipe libuv will not take
 * would never reach end of file, and the run would never end: -1 then, said
 * in jobd's log, and what it carries is lost. */
static int open_pipe(Run *r, uv_loop_t *loop, uv_pipe_t *p, int *fd, const char *what)
{
	uv_pipe_init(loop, p, 0);
	p->data = r;
	int rc = uv_pipe_open(p, *fd);
	if (rc < 0) {
		close(*fd);
		LOGE("run: cannot read its %s: %s", what, uv_strerror(rc));
	}
	*fd = -1;
	return rc < 0 ? -1 : 0;
}

/* Reads the pipes, from when the child has started: what it prints comes
 * after its start (RunCallbacks.started), never before. Unless paused
 * meanwhile (run_output_resume reads them then). */
static void start_reading(Run *r)
{
	for (int i = 0; i < r->nout && !r->paused; i++) {
		Stream *st = &r->out[i];
		int rc = st->eof ? 0 : stream_watch(st);
		if (rc < 0) {
			LOGE("run (pid %d): cannot read its %s: %s", r->pid,
			     st->is_err ? "stderr" : "output", uv_strerror(rc));
			stream_close(st);
			st->eof = 1;
		}
	}
	if (!r->errdone) {
		int rc = uv_read_start((uv_stream_t *)&r->err, err_alloc, on_err);
		if (rc < 0) {
			LOGE("run (pid %d): cannot read its start-up report: %s", r->pid, uv_strerror(rc));
			r->errdone = 1;
		}
	}
}

/* The Run of a child about to start: its pipes opened (the child's ends
 * are the spawn's until it has its own), its cgroup taken. Not held: it has no
 * pid yet (on_spawned). */
static Run *run_new(uv_loop_t *loop, const RunSpec *spec, const RunCallbacks *cb, void *arg,
                    Prep *p)
{
	Run *r = xcalloc(1, sizeof *r);
	r->loop = loop;
	r->out[0].fd = r->out[1].fd = -1;
	r->cb = *cb;
	r->arg = arg;
	r->pidfd = -1;
	r->cg = p->cg;
	p->cg = (RunCgroup){ 0 };
	r->dir = spec->dir ? xstrdup(spec->dir) : NULL;
	r->nout = p->stderrp[0] >= 0 ? 2 : 1;
	r->out[1].is_err = 1;
	open_stream(r, &r->out[0], &p->outp[0]);
	if (r->nout == 2)
		open_stream(r, &r->out[1], &p->stderrp[0]);
	if (p->errp[0] >= 0) {
		/* The child execs (the pipe closes: EOF) or says what failed, later. */
		r->errpipe = 1;
		if (open_pipe(r, loop, &r->err, &p->errp[0], "start-up report") < 0)
			r->errdone = 1;
	} else {
		r->errdone = 1;
	}
	return r;
}

/* The started child's leader: held (unreaped until the run ends), watched. */
static void hold(uv_loop_t *loop, Run *r)
{
	r->next = held;
	r->pprev = &held;
	if (held)
		held->pprev = &r->next;
	held = r;
	if (r->pidfd >= 0 && leader_watch(loop, r) < 0) {
		/* Cannot be watched (no memory for it): waited for on SIGCHLD, as
		 * without pidfds; it may have exited already. */
		LOGW("run (pid %d): cannot watch its pidfd; waiting for SIGCHLD", r->pid);
		close(r->pidfd);
		r->pidfd = -1;
		track_sigchld(loop);
		leader_exited(r, 0);
	} else if (r->pidfd < 0) {
		/* Its exit may have been signalled before it was held. */
		track_sigchld(loop);
		leader_exited(r, 0);
	}
}

/* The start of r's child is over (spawner.c): it runs, or it could not be
 * started, or r was abandoned meanwhile. */
static void spawned(Spawn *s)
{
	Run *r = s->owner;
	uv_loop_t *loop = r->loop;
	r->spawn = NULL;
	if (s->note[0])
		LOGI("%s", s->note);
	if (s->pid > 0) {
		r->pid = s->pid;
		r->pidfd = s->pidfd;
		r->born_lo = s->born_lo;
		r->born_hi = s->born_hi;
		if (s->c.stage >= 0) {
			/* Cloned, it failed before exec and exits 127: said at the end. */
			r->errmsg[0] = s->c.stage;
			r->errmsg[1] = s->c.err;
			r->errlen = sizeof r->errmsg;
		}
	} else {
		if (s->pid != -ECANCELED)
			LOGE("cannot start a run: %s", s->why);
		r->errmsg[0] = s->fork_it ? ST_FORK : ST_CLONE;
		r->errmsg[1] = -s->pid;
		r->errlen = sizeof r->errmsg;
	}
	int64_t start_ns = s->start_ns;
	spawn_free(s);
	if (r->gone) {
		/* Abandoned while it started (shutdown): what started is killed,
		 * and left to the next jobd's clean-up if it lingers. */
		if (r->pid > 0) {
			if (r->pidfd >= 0)
				syscall(SYS_pidfd_send_signal, r->pidfd, SIGKILL, NULL, 0);
			kill(-r->pid, SIGKILL);
			closefd(&r->pidfd);
		}
		run_free(r);
		return;
	}
	if (r->pid <= 0) {
		/* Its ends of the pipes are closed: end of file comes, then the end. */
		r->exited = 1;
		r->status = 127;
		start_reading(r);
		maybe_done(r);
		return;
	}
	hold(loop, r);
	start_reading(r);
	int sig = r->pending_sig;
	r->pending_sig = 0;
	if (r->cb.started)
		r->cb.started(r->arg, r->pid, start_ns);
	if (sig && !r->ended)
		run_kill(r, sig);
	maybe_done(r);
}

static void on_spawned(Spawn *s)
{
	spawned(s);
	track_spawned();
	ends_starts_back();
}

int run_spawn(uv_loop_t *loop, const RunSpec *spec, const RunCallbacks *cb, void *arg,
              Run **out, char *why, size_t n)
{
	Prep p = { .outp = { -1, -1 }, .errp = { -1, -1 }, .stderrp = { -1, -1 }, .cgfd = -1,
	           .cg = { 0 } };
	Spawn *s = xcalloc(1, sizeof *s);
	s->c = (Child){ .errfd = -1, .cgfd = -1, .cgdir = -1, .stage = -1, .unshare_from = -1 };
	s->fork_it = child_must_fork(spec);
	s->pidfd = -1;
	for (int i = 0; i < SPAWN_FDS; i++)
		s->fds[i] = -1;
	int rc = spawner_init(loop, on_spawned);
	if (rc < 0) {
		strfmt(why, n, "the spawner: %s", uv_strerror(rc));
		goto fail;
	}
	if ((rc = prepare(spec, s->fork_it, cb->errline != NULL, &p, &s->c, why, n)) < 0)
		goto fail;
	keep_zombies();
	Run *r = run_new(loop, spec, cb, arg, &p);
	r->spawn = s;
	s->owner = r;
	/* The child's ends go with the start, which closes them once the child
	 * has its own copies (or has exec'd: cloned). */
	s->fds[0] = p.outp[1];
	s->fds[1] = p.stderrp[1];
	s->fds[2] = p.errp[1];
	s->fds[3] = p.cgfd;
	p.outp[1] = p.stderrp[1] = p.errp[1] = p.cgfd = -1;
	if (s->fork_it) {
		/* A copy of jobd: it reads the caller's spec in its own memory. */
		s->c.spec = spec;
		s->c.argv = s->argv;
		s->argv[0] = "/bin/sh";
		s->argv[1] = "-c";
		s->argv[2] = (char *)spec->cmd;
		s->c.envp = spec->env ? spec->env : environ;
		s->c.groups = spec->groups ? spec->groups : p.groups;
		s->c.ngroups = spec->groups ? spec->ngroups : p.ngroups;
		spawn_before(s);
		s->pid = child_start(&s->c, 1, 0, &s->pidfd, s->why, sizeof s->why);
		spawn_born(s);
		for (int i = 0; i < SPAWN_FDS; i++)
			closefd(&s->fds[i]);
		spawner_post(s);
	} else {
		spawn_copy_spec(s, spec, spec->groups ? spec->groups : p.groups,
		                spec->groups ? spec->ngroups : p.ngroups);
		spawner_submit(s);
	}
	prep_fini(&p);
	*out = r;
	return 0;

fail:
	spawn_free(s);
	prep_fini(&p);
	return rc;
}

int run_spawns_wait(void)
{
	return !RUNNING_ON_VALGRIND;
}

int run_token(const Run *r, char *buf, size_t n)
{
	return run_proc_token_born(r->pid, r->born_lo, r->born_hi, buf, n);
}

int run_kill(Run *r, int sig)
{
	int hit = 0;
	if (r->spawn && !r->ended) {
		/* Not started yet: sent when it is (SIGKILL outranks the rest). */
		if (r->pending_sig != SIGKILL)
			r->pending_sig = sig;
		return 0;
	}
	if (!r->ended && r->pid > 0) {
		/* The leader, and its group: held unreaped, it keeps the number from
		 * naming anyone else's process or group. */
		hit += (r->pidfd >= 0 ? syscall(SYS_pidfd_send_signal, r->pidfd, sig, NULL, 0)
		                      : kill(r->pid, sig)) == 0;
		hit += kill(-r->pid, sig) == 0;
	}
	/* What left the group (setsid, double forks) is still in the cgroup. */
	if (r->cg.on)
		hit += cgroup_signal(&r->cg, sig) == 0;
	return hit ? 0 : -ESRCH;
}

void run_abandon(Run *r)
{
	if (r->gone)
		return;
	if (r->spawn)
		spawner_cancel(r->spawn);
	if (r->ended) {
		linger(r, 1);
		return;
	}
	/* Its exit may be known (exit_seen), or be waiting unread in the
	 * leaders' set (the ends wait): its status, if it has one. */
	if (!r->exited && r->pid > 0)
		leader_exited(r, 0);
	if (!r->exited)
		r->status = -SIGKILL;   /* what it was last sent; it has not gone yet */
	for (int i = 0; i < r->nout; i++) {
		stream_unwatch(&r->out[i]);
		r->out[i].eof = 1;
	}
	if (r->errpipe)
		uv_read_stop((uv_stream_t *)&r->err);
	r->exited = r->errdone = 1;
	end(r, 1);
}

void run_output_pause(Run *r)
{
	if (r->paused || out_eof(r) || r->ended)
		return;
	for (int i = 0; i < r->nout; i++)
		if (!r->out[i].eof)
			stream_unwatch(&r->out[i]);
	r->paused = 1;
}

void run_output_resume(Run *r)
{
	if (!r->paused)
		return;
	r->paused = 0;
	if (r->ended || r->spawn)
		return;                 /* not started: read from its start on */
	int lost = 0;
	for (int i = 0; i < r->nout; i++) {
		Stream *st = &r->out[i];
		int rc = st->eof ? 0 : stream_watch(st);
		if (rc < 0) {
			/* As at the spawn: the run must still end (this pipe's output is
			 * lost; said). */
			LOGE("run (pid %d): cannot read its %s again: %s", r->pid,
			     st->is_err ? "stderr" : "output", uv_strerror(rc));
			stream_close(st);
			st->eof = 1;
			lost = 1;
		}
	}
	if (lost)
		maybe_done(r);
}
