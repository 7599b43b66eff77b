/* The spawner: threads that start cloned children, so that the loop never
 * waits for an exec.
 *
 * A child cloned with CLONE_VM | CLONE_VFORK suspends the thread that cloned
 * it until it has exec'd (or failed): here 0.4 to 0.8 ms, most of a start.
 * Done on the loop, that wait came on top of the loop's own work for each
 * fire (its claim, records and output), and every client waited through it.
 * So the loop prepares a start (pipes, cgroup, a copy of what the child
 * reads), hands it here, and goes on; this thread clones, closes the child's
 * ends of the pipes, and hands the result back through a uv_async_t, where
 * run.c holds and watches the leader.
 *
 * One thread per CPU, at most SPAWN_LANES, whatever the number of jobs (no
 * thread per job): each thread's starts are serial, as in a posix_spawn
 * loop; the threads' waits overlap each other's and the loop's work. Starts
 * come back in about the order they were handed over, not exactly (two
 * threads may finish theirs in either order). Each thread blocks every
 * signal but SIGCHLD (they are the loop's, through libuv; make_threads
 * says why not SIGCHLD), and starts only clones: a fork (a PAM session, or
 * under valgrind) copies the thread that calls it, so the loop keeps doing
 * those itself. A forked child runs PAM's modules (malloc and all) in a
 * copy of a process with these threads: safe because they take no lock of
 * libc's or of a library's (only their own mutex, which the child never
 * touches; glibc's fork makes malloc safe in the child) and call only
 * clone, close, dup3, openat and clock_nanosleep. If no thread can be made,
 * starts are done on the loop, as before them. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "run_int.h"
#include "util/log.h"
#include "util/util.h"

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	Spawn *in, **in_tail;       /* handed over, not started yet */
	Spawn *out, **out_tail;     /* started, for the loop */
	int stopping;               /* spawner_close: the threads end when in is empty */
	int thread;                 /* 1 made, -1 could not be made, 0 not yet */
	pthread_t th[SPAWN_LANES];
	int nth;                    /* threads made */
	uv_async_t async;
	int made;                   /* async is initialised */
	unsigned inflight;          /* handed over (or posted), done not called yet */
	unsigned held;              /* back on out since the loop was last woken */
	int64_t held_since;         /* when the first of those came back (ns, monotonic) */
	void (*done)(Spawn *);
} sp = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

/* Starts s's child (a clone): in the spawner thread, or on the loop if there
 * is none. Closes the child's ends of its descriptors once it has its own. */
/* The child joins its cgroup by writing cgroup.procs, not born in it: the
 * kernel cannot (child.c, "clone3"). 0, or -errno with why. */
static int join_by_procs(Spawn *s)
{
	int fd = openat(s->c.cgdir, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	int rc = fd < 0 ? -errno : child_lift(&fd);
	if (rc < 0) {
		if (fd >= 0)
			close(fd);
		strfmt(s->why, sizeof s->why, "its cgroup.procs: %s", strerror(-rc));
		return rc;
	}
	s->fds[SPAWN_FDS - 1] = fd;
	s->c.cgfd = fd;
	s->c.cgdir = -1;
	return 0;
}

/* Sleeps until the start's instant, if it came ahead of it. */
static void wait_for_instant(const Spawn *s)
{
	int64_t at = s->spec.not_before_ns;
	if (at <= 0 || wall_now_ns() >= at)
		return;
	struct timespec ts = { .tv_sec = (time_t)(at / 1000000000), .tv_nsec = (long)(at % 1000000000) };
	/* Absolute, on the wall clock: a clock step moves the wake-up with it.
	 * The loop bounds how far ahead a start comes (sched.c, JOBS_LEAD_NS). */
	while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

void spawn_before(Spawn *s)
{
	s->c.born_ns = 0;
	s->wall_lo = wall_now_ns();
	s->born_lo = child_boottime_ns();
}

void spawn_born(Spawn *s)
{
	int64_t born = s->c.born_ns;
	if (born >= s->born_lo) {
		s->born_hi = born;
		s->start_ns = s->wall_lo + (born - s->born_lo);
	} else {
		s->born_hi = child_boottime_ns();
		s->start_ns = s->wall_lo;
	}
}

static void perform(Spawn *s, int lane)
{
	wait_for_instant(s);
	if (s->c.cgdir >= 0 && child_into_cgroup() < 0 && (s->pid = join_by_procs(s)) < 0)
		goto closed;
	child_slots_use(&s->c, 0, lane);
	spawn_before(s);
	s->pid = child_start(&s->c, 0, lane, &s->pidfd, s->why, sizeof s->why);
	if (s->pid == -ENOSYS && s->c.cgdir >= 0) {
		/* Said by the loop (on_spawned): logging is the loop's. */
		strfmt(s->note, sizeof s->note, "%s; runs join their cgroups by cgroup.procs",
		       s->why);
		if (s->c.unshare_from >= 0)
			child_slots_clear(lane);
		if ((s->pid = join_by_procs(s)) < 0)
			goto closed;
		child_slots_use(&s->c, 0, lane);
		spawn_before(s);
		s->pid = child_start(&s->c, 0, lane, &s->pidfd, s->why, sizeof s->why);
	}
	spawn_born(s);
	if (s->c.unshare_from >= 0)
		child_slots_clear(lane);
closed:
	for (int i = 0; i < SPAWN_FDS; i++)
		if (s->fds[i] >= 0) {
			close(s->fds[i]);
			s->fds[i] = -1;
		}
}

/* Not started: its run was abandoned, or jobd is stopping. */
static void cancel(Spawn *s)
{
	s->pid = -ECANCELED;
	strfmt(s->why, sizeof s->why, "not started: jobd is stopping");
	for (int i = 0; i < SPAWN_FDS; i++)
		if (s->fds[i] >= 0) {
			close(s->fds[i]);
			s->fds[i] = -1;
		}
}

static int64_t mono_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Puts s on the loop's list and wakes the loop: at once when nothing else
 * is waiting to start, else once HAND_BATCH starts are back or the oldest
 * has waited HAND_WAIT_NS. Each wake-up is a loop turn, and each turn a
 * commit: a burst of a thousand starts handed back one by one cost a
 * thousand commits of one start record each. The child runs meanwhile;
 * only the loop's bookkeeping of it (its pid recorded, its output read)
 * waits, 5 ms at most. */
enum { HAND_BATCH = 64 };
#define HAND_WAIT_NS 5000000

static void hand_back(Spawn *s)
{
	s->next = NULL;
	int64_t now = mono_now_ns();
	pthread_mutex_lock(&sp.mu);
	*sp.out_tail = s;
	sp.out_tail = &s->next;
	if (sp.held++ == 0)
		sp.held_since = now;
	int wake = !sp.in || sp.held >= HAND_BATCH || now - sp.held_since >= HAND_WAIT_NS;
	if (wake)
		sp.held = 0;
	pthread_mutex_unlock(&sp.mu);
	if (wake)
		uv_async_send(&sp.async);
}

static void *spawner_main(void *arg)
{
	int lane = (int)(intptr_t)arg;
	/* Named, so that ps, top and the tests can tell it from the loop. */
	pthread_setname_np(pthread_self(), "jobd-spawn");
	pthread_mutex_lock(&sp.mu);
	for (;;) {
		while (!sp.in && !sp.stopping)
			pthread_cond_wait(&sp.cv, &sp.mu);
		Spawn *s = sp.in;
		if (!s)
			break;
		if (!(sp.in = s->next))
			sp.in_tail = &sp.in;
		int cancelled = s->cancelled || sp.stopping;
		pthread_mutex_unlock(&sp.mu);
		if (cancelled)
			cancel(s);
		else
			perform(s, lane);
		hand_back(s);
		pthread_mutex_lock(&sp.mu);
	}
	pthread_mutex_unlock(&sp.mu);
	return NULL;
}

/* The loop's end: every finished start, in order. */
static void on_async(uv_async_t *h)
{
	(void)h;
	pthread_mutex_lock(&sp.mu);
	Spawn *list = sp.out;
	sp.out = NULL;
	sp.out_tail = &sp.out;
	pthread_mutex_unlock(&sp.mu);
	while (list) {
		Spawn *s = list;
		list = s->next;
		if (--sp.inflight == 0)
			uv_unref((uv_handle_t *)&sp.async);
		sp.done(s);
	}
}

int spawner_init(uv_loop_t *loop, void (*done)(Spawn *s))
{
	if (sp.made)
		return 0;
	int rc = uv_async_init(loop, &sp.async, on_async);
	if (rc < 0)
		return rc;
	/* Referenced only while a start is on its way: an idle jobd's loop is
	 * not kept alive by it. */
	uv_unref((uv_handle_t *)&sp.async);
	sp.in_tail = &sp.in;
	sp.out_tail = &sp.out;
	sp.done = done;
	sp.made = 1;
	return 0;
}

/* Makes the threads, one per CPU up to SPAWN_LANES, with every signal but
 * SIGCHLD blocked (they inherit the mask): signals are the loop's. A child's
 * exit signals its parent, the thread that started it, and the kernel drops
 * a signal whose action is to ignore it (SIGCHLD's default, where jobd has
 * no handler for it: pidfds, cgroups) at once unless the parent thread
 * blocks it; blocked, it would be queued for the process and interrupt the
 * loop's epoll_wait, a wake-up for nothing at every run's end. A start
 * (child_start) leaves it open too where the child is born without
 * handlers (clone3), and a thread is there most of the time. Where jobd
 * handles SIGCHLD (track.c), the handler (libuv's) may run here: it only
 * writes to libuv's signal pipe, and the child never runs it (it starts
 * with no handler, or with every signal blocked). 1, or -1 if not even one
 * could be made. */
static int make_threads(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int want = cpus < 1 ? 1 : cpus > SPAWN_LANES ? SPAWN_LANES : (int)cpus, rc = 0;
	sigset_t all, old;
	sigfillset(&all);
	sigdelset(&all, SIGCHLD);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	while (sp.nth < want &&
	       (rc = pthread_create(&sp.th[sp.nth], NULL, spawner_main, (void *)(intptr_t)sp.nth)) == 0)
		sp.nth++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (sp.nth == 0) {
		LOGW("cannot start a spawner thread: %s; children are started on the loop",
		     strerror(rc));
		return -1;
	}
	if (sp.nth < want)
		LOGW("started %d spawner threads of %d: %s", sp.nth, want, strerror(rc));
	return 1;
}

static void count_in(void)
{
	if (sp.inflight++ == 0)
		uv_ref((uv_handle_t *)&sp.async);
}

void spawner_submit(Spawn *s)
{
	count_in();
	if (sp.thread == 0)
		sp.thread = make_threads();
	if (sp.thread < 0) {
		perform(s, 0);
		hand_back(s);
		return;
	}
	s->next = NULL;
	pthread_mutex_lock(&sp.mu);
	*sp.in_tail = s;
	sp.in_tail = &s->next;
	pthread_cond_signal(&sp.cv);
	pthread_mutex_unlock(&sp.mu);
}

void spawner_post(Spawn *s)
{
	count_in();
	hand_back(s);
}

void spawner_cancel(Spawn *s)
{
	pthread_mutex_lock(&sp.mu);
	s->cancelled = 1;
	pthread_mutex_unlock(&sp.mu);
}

unsigned spawner_inflight(void)
{
	return sp.inflight;
}

void spawner_close(void)
{
	if (sp.thread > 0) {
		pthread_mutex_lock(&sp.mu);
		sp.stopping = 1;
		pthread_cond_broadcast(&sp.cv);
		pthread_mutex_unlock(&sp.mu);
		for (int i = 0; i < sp.nth; i++)
			pthread_join(sp.th[i], NULL);
		sp.nth = 0;
		sp.thread = 0;
		sp.stopping = 0;
	}
	if (sp.made) {
		/* What the thread finished last is handed back now. */
		on_async(&sp.async);
		uv_close((uv_handle_t *)&sp.async, NULL);
		sp.made = 0;
	}
}

/* ---- the spawn's own copy of what the child reads ---- */

static char *put(char **at, const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *p = memcpy(*at, s, n);
	*at += n;
	return p;
}

void spawn_copy_spec(Spawn *s, const RunSpec *spec, const gid_t *groups, size_t ngroups)
{
	extern char **environ;
	char **env = spec->env ? spec->env : environ;
	size_t nenv = 0, bytes = 0;
	for (char **e = env; e && *e; e++, nenv++)
		bytes += strlen(*e) + 1;
	bytes += strlen(spec->cmd) + 1;
	bytes += spec->dir ? strlen(spec->dir) + 1 : 0;
	bytes += spec->user ? strlen(spec->user) + 1 : 0;
	/* The pointers and groups first (aligned), then the strings. */
	size_t head = (nenv + 1) * sizeof(char *) + ngroups * sizeof(gid_t);
	s->block = xmalloc(head + bytes);
	char **envv = (char **)(void *)s->block;
	gid_t *gv = (gid_t *)(void *)(envv + nenv + 1);
	char *at = (char *)(gv + ngroups);
	if (ngroups)
		memcpy(gv, groups, ngroups * sizeof *gv);
	for (size_t i = 0; i < nenv; i++)
		envv[i] = put(&at, env[i]);
	envv[nenv] = NULL;
	s->spec = *spec;
	s->spec.cmd = put(&at, spec->cmd);
	s->spec.dir = put(&at, spec->dir);
	s->spec.user = put(&at, spec->user);
	s->spec.env = envv;
	s->spec.groups = gv;
	s->spec.ngroups = ngroups;
	s->spec.pam = NULL;         /* a run with PAM is forked, never cloned */
	s->argv[0] = "/bin/sh";
	s->argv[1] = "-c";
	s->argv[2] = (char *)s->spec.cmd;
	s->argv[3] = NULL;
	s->c.spec = &s->spec;
	s->c.argv = s->argv;
	s->c.envp = envv;
	s->c.groups = gv;
	s->c.ngroups = ngroups;
}

void spawn_free(Spawn *s)
{
	if (!s)
		return;
	for (int i = 0; i < SPAWN_FDS; i++)
		if (s->fds[i] >= 0)
			close(s->fds[i]);
	free(s->block);
	free(s);
}
