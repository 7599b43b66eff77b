/* Internals of the run module, shared by its files. */
#ifndef JOBD_RUN_INT_H
#define JOBD_RUN_INT_H

#include <stdint.h>
#include <sys/types.h>

#include "run.h"

/* Only to ask whether valgrind runs us (run_pidfds, child_must_fork, the
 * slots, run_spawns_wait); a no-op otherwise. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

/* A run's cgroup: run.<id> in jobd's directory. */
typedef struct RunCgroup {
	int on;                     /* the run has one (0: none, or no longer jobd's care) */
	unsigned id;
	int frozen;                 /* cgroup.events said so at its last read */
	int killed;                 /* cgroup.kill was written: never reused (cgroup_remove) */
	int dfd, efd;               /* held open while on: its directory, its cgroup.events;
	                             * -1 each when the budget had no room (cgroup.c, "the pool") */
} RunCgroup;

/* ---- cgroup.c ---- */
/* Sets up jobd's directory of run cgroups as -cgroup asks (see run_init).
 * 1 with cgroups, 0 without (t->none_why says why, for auto), -errno with why. */
int cgroup_init(const char *spec, RunTracking *t, char *why, size_t n);
/* Kills and removes what dead jobds left beside jobd's directory (see
 * run_recover). Returns the number of directories removed. */
int cgroup_clear_stale(RunTracking *t);
/* Removes jobd's directory (what is left in it must be empty). 0, or -errno with why. */
int cgroup_fini(char *why, size_t n);
int cgroup_on(void);
/* Makes the next run's cgroup; *fd is its cgroup.procs open for writing,
 * for the child to join, or with dir its directory, for the child to be
 * born in (clone3); the caller closes it. 0, or -errno with why. */
int cgroup_new(RunCgroup *c, int dir, int *fd, char *why, size_t n);
/* Sends sig to every process in the cgroup and below it. 0, or -errno. */
int cgroup_signal(RunCgroup *c, int sig);
/* 1 if some process is in the cgroup (or below), 0 if none, -errno. */
int cgroup_populated(RunCgroup *c);
/* The path of its cgroup.events, which changes when it empties (inotify). */
void cgroup_events_path(const RunCgroup *c, char *buf, size_t n);
/* Lets the (empty) cgroup go: kept for a later run (cgroup.c, "the pool")
 * or removed. 0, or -errno (still the run's). */
int cgroup_remove(RunCgroup *c);
/* Makes empty cgroups into the pool until it holds want of them (at most
 * its bound), at most max now; how many are still to make (0 if none, or if
 * one cannot be made). */
size_t cgroup_pool_fill(size_t want, size_t max);
/* Removes the pool's cgroups unused for too long; the ms until the next one
 * is due, or -1 if the pool is empty. */
int64_t cgroup_pool_trim(void);
/* Leaves the directory where it is, no longer the run's. */
void cgroup_forget(RunCgroup *c);

/* Pure helpers over the text of /proc/self/mountinfo (and /proc/self/cgroup),
 * kept apart from the files so that tests can give any text:
 * cgroup_locate_own: the directory of the process's own cgroup v2 (abs) and
 * its path as /proc/PID/cgroup shows it (rel); cgroup_locate_dir: rel for a
 * directory abs. 0, -ENOENT (no cgroup2 mount holds it), -ENAMETOOLONG. */
int cgroup_locate_own(const char *mountinfo, const char *cgroup, char *abs, size_t an,
                      char *rel, size_t rn);
int cgroup_locate_dir(const char *mountinfo, const char *abs, char *rel, size_t rn);

/* The spawner threads at most (spawner.c: one per CPU, up to this); each is
 * a lane with its own child stack and descriptor slots (child.c). */
enum { SPAWN_LANES = 4 };

/* ---- child.c ---- */
/* Where a child failed before exec (its report: stage, errno), and, for
 * ST_CLONE and ST_FORK, where it could not be started at all. */
enum Stage { ST_FILES, ST_CGROUP, ST_SETSID, ST_STDIO, ST_PAM, ST_LIMITS, ST_SETGROUPS,
             ST_SETGID, ST_SETUID, ST_CHDIR, ST_EXEC, ST_CLONE, ST_FORK, ST_COUNT };

/* Everything the child needs, prepared before it starts. Between start and
 * exec it allocates nothing, takes no lock and, started by clone in jobd's
 * memory, writes nothing of jobd's but its stack, stage and err, and errno. */
typedef struct Child {
	const RunSpec *spec;
	int outfd, nullfd, cgfd;    /* all above 2 (see lift); cgfd: its cgroup.procs, to write */
	int cgdir;                  /* or its cgroup's directory, to be born in (clone3); -1 */
	int stderrfd;               /* its stderr: its own pipe's end (split), else outfd */
	int errfd;                  /* forked: the report pipe; else -1 */
	int unshare_from;           /* >= 0: it shares jobd's table (see "slots") and keeps
	                             * only the descriptors below this one */
	const gid_t *groups;
	size_t ngroups;
	char **argv, **envp;
	int sighand_cleared;        /* born with handlers at SIG_DFL (child.c, "signals") */
	volatile int stage, err;    /* cloned: what failed (stage -1: nothing) */
	volatile int64_t born_ns;   /* cloned: CLOCK_BOOTTIME when it first ran (0: unknown) */
} Child;

/* Must the child be a fork (a copy of jobd) rather than a clone in jobd's
 * memory? With a PAM session, and under valgrind (child.c says why). */
int child_must_fork(const RunSpec *spec);
/* Can a cloned child be born in its cgroup (clone3 with CLONE_INTO_CGROUP)?
 * 1 yes, -1 no, 0 not known until the first try: child_start returns
 * -ENOSYS then, once, and the child must join by cgroup.procs instead. */
int child_into_cgroup(void);
/* Starts the child of c, cloned (by the spawner thread) or forked (by the
 * loop), with every signal blocked in the calling thread meanwhile. Returns
 * its pid and *pidfd (-1 without pidfds), or -errno with why. A cloned child
 * has exec'd or failed when this returns (c->stage says). */
int child_start(Child *c, int fork_it, int lane, int *pidfd, char *why, size_t n);
/* Moves *fd above 2 (keeping close-on-exec): 0, or -errno. */
int child_lift(int *fd);
/* CLOCK_BOOTTIME in ns (0 if it cannot be read). */
int64_t child_boottime_ns(void);
/* The child's stdin, /dev/null, opened once: the descriptor, or -errno with why. */
int child_dev_null(char *why, size_t n);
/* Sets c up to start on jobd's table with only the slots ("slots" in
 * child.c), where that is worth it; child_slots_clear after the start. Only
 * the thread that starts cloned children uses the slots. */
void child_slots_use(Child *c, int fork_it, int lane);
void child_slots_clear(int lane);
/* Reserves the low descriptors a child started on jobd's table keeps
 * ("slots"); run_init calls it while few descriptors are open. */
void run_slots_init(void);

/* ---- spawner.c ---- */
enum { SPAWN_FDS = 5 };
/* One start of a child, handed from the loop to the spawner thread and back.
 * While the spawner has it, the loop touches nothing in it: the child reads
 * c, spec, argv and what block holds, in jobd's memory, until it execs. */
typedef struct Spawn {
	struct Spawn *next;
	void *owner;                /* the Run it starts (run.c) */
	Child c;                    /* c.spec is &spec and c.argv is argv, for a clone */
	RunSpec spec;               /* the caller's, copied: its strings may go meanwhile */
	char *argv[4];
	char *block;                /* the copies of the strings, the environment and the groups */
	int fds[SPAWN_FDS];         /* the child's ends: closed once it has its own (-1: none) */
	int fork_it;                /* started by the loop itself (fork): nothing for the thread */
	int cancelled;              /* spawner_cancel (under the spawner's lock) */
	/* The result: */
	int pid;                    /* > 0, or -errno: it could not be started */
	int pidfd;                  /* -1: none */
	char why[160];              /* with pid < 0 */
	char note[200];             /* for jobd's log, said by the loop ("": nothing) */
	int64_t born_lo, born_hi;   /* CLOCK_BOOTTIME ns just before and after the start */
	int64_t wall_lo;            /* the wall clock read with born_lo */
	int64_t start_ns;           /* wall clock when it was born (spawn_born) */
} Spawn;
/* Reads the clocks just before a start (born_lo, wall_lo). */
void spawn_before(Spawn *s);
/* Sets born_hi and start_ns once the start has returned. start_ns is the
 * wall clock when the child first ran, by its own reading (cloned), or just
 * before the start (forked, or no reading): never later than its first
 * instruction, so a run's duration is never less than the time it ran,
 * however late the starting thread gets back to its clock. */
void spawn_born(Spawn *s);
/* Makes the loop's end of the spawner (once): done(s) is called on the loop
 * for each finished start (in about the order they were handed over: the
 * threads run side by side). 0 or -errno. */
int spawner_init(uv_loop_t *loop, void (*done)(Spawn *s));
/* Hands a prepared clone start to the spawner thread (started on first use;
 * if it cannot be, the start is done here, on the loop). */
void spawner_submit(Spawn *s);
/* A start the loop did itself (a fork): done(s) comes like the others'. */
void spawner_post(Spawn *s);
/* The start is not wanted any more: if the thread has not begun it, it
 * never will (done still comes, with pid -ECANCELED). */
void spawner_cancel(Spawn *s);
/* Starts handed over whose done has not come yet. */
unsigned spawner_inflight(void);
/* Stops the thread (after the starts it holds) and closes the loop's end. */
void spawner_close(void);
/* Copies spec and its strings into s (s->spec, s->argv, s->block), with
 * groups as the group list, and points s->c at the copies. */
void spawn_copy_spec(Spawn *s, const RunSpec *spec, const gid_t *groups, size_t ngroups);
void spawn_free(Spawn *s);

/* ---- access.c ---- */
/* The groups initgroups(user, gid) would set, as a malloc'ed list (the
 * passwd and group databases: NSS, which may be slow). 0, or -EINVAL with why. */
int run_user_groups(const char *user, uint32_t gid, gid_t **out, size_t *count, char *why,
                    size_t n);

/* ---- run.c ---- */
/* Is pid the leader of a run, not reaped yet? O(runs in progress). */
int run_holds(int pid);
/* 1 if jobd can use pidfds: Linux 5.3, and not under valgrind (3.19 does not
 * know the calls and says so in its report). Probed once. */
int run_pidfds(void);
/* Without pidfds, on SIGCHLD: which held leaders have exited. O(runs in progress). */
void run_check_exits(void);
/* Closes the timer that trims the pool of empty cgroups (run_fini). */
void run_pool_close(void);
/* Closes the loop's watch on the runs' leaders (run_fini). */
void run_leaders_close(void);

/* ---- track.c ---- */
/* Starts the SIGCHLD watcher if it is not running (runs without pidfds). */
void track_sigchld(uv_loop_t *loop);
/* After a start is over: a sweep that left children alone meanwhile is done again. */
void track_spawned(void);

#endif
