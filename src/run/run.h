/* Child processes: spawn a command with /bin/sh -c in a session and, where
 * jobd has cgroups, a cgroup of its own; capture stdout and stderr line by
 * line (through one pipe, interleaved as produced, or one each, told apart:
 * RunCallbacks.errline); reap it; signal everything it started, and nothing
 * else. Knows nothing of jobs or 9P. */
#ifndef JOBD_RUN_H
#define JOBD_RUN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

typedef struct Run Run;
typedef struct RunPam RunPam;

typedef struct RunCallbacks {
	/* One line of output (no newline; long lines arrive split at RUN_MAXLINE). */
	void (*line)(void *arg, const char *text, size_t len);
	/* The run ended: the child exited and its output reached end of file (or
	 * run_abandon). status >= 0 is an exit code, < 0 the negated signal number. */
	void (*done)(void *arg, int status);
	/* Nothing of the run is left: after done, at once without a cgroup, or
	 * when its cgroup has emptied (processes it left behind have exited), or
	 * at run_abandon. The Run must not be used after this. */
	void (*gone)(void *arg);
	/* One line of stderr, as line is of stdout. NULL: stderr shares stdout's
	 * pipe, and its lines come to line, interleaved exactly as written. Set:
	 * stderr has a pipe of its own; each stream's lines keep their order, but
	 * a stdout and a stderr line written in the same instant may come in
	 * either order (the kernel does not say which pipe was written first). */
	void (*errline)(void *arg, const char *text, size_t len);
	/* The child has started (exec'd, or failed in between and will exit
	 * 127): its pid, and the wall clock in ns just after. Comes after
	 * run_spawn has returned, from the loop, before any done; never for a
	 * child that could not be started at all (its run ends with exit 127
	 * and a line that says why). */
	void (*started)(void *arg, int pid, int64_t start_ns);
} RunCallbacks;

enum { RUN_MAXLINE = 4096 };

/* One resource limit for a run: setrlimit(resource) to value, both soft and
 * hard (RUN_UNLIMITED: none), never above the hard limit the child has. */
#define RUN_LIMITS_MAX 8
#define RUN_UNLIMITED UINT64_MAX
typedef struct RunLimit {
	int resource;               /* RLIMIT_* */
	uint64_t value;
} RunLimit;

typedef struct RunSpec {
	const char *cmd;
	const char *dir;            /* working directory, NULL = inherit */
	int dir_optional;           /* if dir cannot be entered, use "/" (a HOME that is missing) */
	char **env;                 /* NULL = inherit */
	/* Run as this user (jobd is root): the supplementary groups initgroups(3)
	 * would give user with gid, then gid, then uid. NULL: stay as jobd is. */
	const char *user;
	uint32_t uid, gid;
	/* With user: those groups, if known (run_owner); NULL: looked up. */
	const gid_t *groups;
	size_t ngroups;
	/* With user: the PAM session opened in the child before the ids change
	 * (pam.c), NULL for none; its variables go after the first env_keep
	 * entries of env and override those that come later. */
	RunPam *pam;
	size_t env_keep;
	/* Resource limits set in the child (limits.c). */
	RunLimit limits[RUN_LIMITS_MAX];
	int nlimits;
	/* Wall clock (ns): the child is not started before this instant (0: at
	 * once). The wait is the spawner thread's, never the loop's, so the loop
	 * may hand a start over a little ahead of its time and the child still
	 * starts on the dot (run_spawns_wait says whether starts can wait). */
	int64_t not_before_ns;
} RunSpec;

/* How run_init set up the tracking of what runs start. */
typedef struct RunTracking {
	char cgroup[512];           /* jobd's directory of run cgroups; "" = none: subreaper */
	char none_why[256];         /* "auto" found no cgroup to use: why */
	int stale_dirs;             /* run_recover: directories of dead jobds removed */
	int stale_procs;            /* and processes killed in them */
} RunTracking;

/* ---- track.c ---- */
/* Sets up, once for the process, how runs are tracked. cgroup is a cgroup v2
 * directory, "auto" (jobd's own cgroup, if writable) or "none"; in it jobd
 * makes jobd.<pid>, and one cgroup per run in that. Without one jobd becomes
 * a subreaper and reaps the orphans it adopts. 0, or -errno with why (a DIR
 * that cannot be used). Without run_init, runs have no cgroup and orphans go
 * to init. */
int run_init(uv_loop_t *loop, const char *cgroup, RunTracking *t, char *why, size_t n);
/* After a crash: what the runs of jobds that died left in their cgroups
 * beside jobd's own is killed (cgroup.kill), and those directories removed;
 * counted in t. Blocks a moment (at most a second) for them to exit. */
void run_recover(RunTracking *t);
/* Closes what run_init opened and removes jobd's cgroup directory; after
 * every run is gone. 0, or -errno with why (something was left in it). */
int run_fini(char *why, size_t n);
/* Shutdown without cgroups: SIGTERM to every process jobd adopted as
 * subreaper (and to each adopted from now on), SIGKILL to those left after
 * grace_ms. Returns 0 if there is nothing to wait for; else 1, and done(arg)
 * comes when none is left or SIGKILL has been sent. */
int run_stop_adopted(int64_t grace_ms, void (*done)(void *), void *arg);

/* ---- run.c ---- */
/* Starts spec->cmd under /bin/sh -c with stdin from /dev/null, in a session
 * (and cgroup) of its own, as spec->user if set. Returns 0 and the Run, whose
 * child starts shortly after (on the spawner thread; cb.started says when),
 * or -errno with why (what failed before that: pipes, the cgroup, the
 * owner's groups). spec and its strings may be freed on return. What fails
 * in the child before exec, or in starting it, is the run's first line
 * ("cannot run: chdir /x: No such file or directory") and exit status 127. */
int run_spawn(uv_loop_t *loop, const RunSpec *spec, const RunCallbacks *cb, void *arg,
              Run **out, char *why, size_t n);
/* n runs are about to start at one instant (the scheduler says so in the
 * wait before it): what they need that can be made ahead is made now, a
 * little per loop turn (their cgroups, up to the pool's bound). */
void run_expect(uv_loop_t *loop, size_t n);
/* 1 if run_spawn's starts can honour not_before_ns without blocking the
 * loop: clones on the spawner thread (not under valgrind, whose runs are
 * forked). A run with a PAM session is forked by the loop and starts at
 * once whatever not_before_ns says. */
int run_spawns_wait(void);
/* Sends sig to everything of the run: its leader, its process group (until
 * done) and its cgroup (until gone). -ESRCH if nothing could be signalled.
 * Before the child has started, the signal is kept and sent when it has. */
int run_kill(Run *r, int sig);
/* Gives up waiting: done (if it has not come; with the leader's status, or
 * -SIGKILL if it has not exited) and gone are called now, and whatever still
 * holds the output or the cgroup is left alone. For shutdown only. */
void run_abandon(Run *r);
/* Stops reading the run's output until run_output_resume (its pipes stay
 * open; the child blocks when one fills). Lines of what was already read
 * (one read of each pipe, at most 64 KiB each) may still come. No-op if not reading. A paused
 * run does not end: done needs end of file, which needs reading again;
 * run_kill and run_abandon work as ever. */
void run_output_pause(Run *r);
/* Reads the output again (no-op if not paused or at end of file). If it
 * cannot, the output counts as at its end (said in jobd's log), and done may
 * come from within. */
void run_output_resume(Run *r);

/* ---- owner.c ---- */
/* A user as a run becomes them: the passwd entry and the groups initgroups(3)
 * would give. */
typedef struct RunOwner {
	uint32_t uid, gid;
	const char *name, *home, *shell;    /* home and shell "" if the entry has none */
	const gid_t *groups;
	size_t ngroups;
} RunOwner;
/* User uid's identity, kept from an earlier lookup while that is still what
 * a lookup would give (owner.c says when). 0 and *out (good until the next
 * call); -ESRCH (no such user) or -EINVAL with why. */
int run_owner(uint32_t uid, const RunOwner **out, char *why, size_t n);
/* Forgets every owner kept. */
void run_owner_forget(void);

/* ---- access.c ---- */
/* Could a run as user (uid, gid and the groups initgroups gives user; user
 * NULL: as jobd itself is now) make dir its working directory? Judged, as
 * the kernel would, from the mode bits of dir and of every directory on the
 * way to it (as given, and again resolved, for symbolic links): each must
 * be a directory the run may search (x). ACLs and security modules are not
 * consulted, and nothing runs as the user: no fork, no change of jobd's
 * identity. Root needs only that they are directories. O(components) stat
 * calls. 0, or -ENOENT, -ENOTDIR, -EACCES (or stat's -errno) with why. */
int run_dir_check(const char *dir, const char *user, uint32_t uid, uint32_t gid, char *why,
                  size_t n);

/* ---- pam.c ---- */
/* Is service a PAM service name with a file in dir (NULL: /etc/pam.d)? 0, or
 * -EINVAL/-ENOENT with why. */
int run_pam_check(const char *service, const char *dir, char *why, size_t n);
/* In jobd, before the fork: starts service for user and asks its account
 * stack whether user may run now. 0 and *out, or -errno with why (-EACCES: refused). */
int run_pam_new(const char *service, const char *dir, const char *user, RunPam **out,
                char *why, size_t n);
/* jobd's copy, after the fork (the child's lives on); NULL is a no-op. */
void run_pam_free(RunPam *p);
/* In the child, before the ids change: opens the session and adds PAM's
 * variables to *envp (after the first keep). 0, or a PAM code. */
int run_pam_session(RunPam *p, char ***envp, size_t keep);
const char *run_pam_strerror(int code);

/* ---- limits.c ---- */
/* In the child: sets each limit (lowering only). 0, or -errno. */
int run_limits_apply(const RunLimit *v, int n);

/* ---- proc.c ---- */
/* Names the process pid as it is now ("<boot id>/<start time in ticks>"), so
 * that run_signal_left can later tell it from a process that reused the pid.
 * 0, or -errno (-ENOENT: no such process). */
int run_proc_token(int pid, char *buf, size_t n);
/* The same token for a process known to have been started between the
 * CLOCK_BOOTTIME instants lo_ns and hi_ns (the kernel counts a process's
 * start time from that clock, in ticks): from the clock when both fall in
 * the same tick, so /proc is not read; else run_proc_token's. */
int run_proc_token_born(int pid, int64_t lo_ns, int64_t hi_ns, char *buf, size_t n);
/* The token of the run's leader (run_proc_token_born, around its start). */
int run_token(const Run *r, char *buf, size_t n);
/* What is left of a run a dead jobd started as pid, with the token taken at
 * spawn: sends sig (0 only counts) to every live process still in the run's
 * session, unless the pid now names another process or the machine has
 * rebooted since. Returns how many were signalled (0 if none, or if they are
 * not the run's), or -errno. */
int run_signal_left(int pid, const char *token, int sig);

#endif
