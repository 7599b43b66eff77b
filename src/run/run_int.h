/* Internals of the run module, shared by its files. */
#ifndef JOBD_RUN_INT_H
#define JOBD_RUN_INT_H

#include <sys/types.h>

#include "run.h"

/* A run's cgroup: run.<id> in jobd's directory. */
typedef struct RunCgroup {
	int on;                     /* the run has one (0: none, or no longer jobd's care) */
	unsigned id;
	int frozen;                 /* cgroup.events said so at its last read */
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
/* Makes the next run's cgroup; *procs is its cgroup.procs open for writing,
 * for the child to join (the caller closes it). 0, or -errno with why. */
int cgroup_new(RunCgroup *c, int *procs, char *why, size_t n);
/* Sends sig to every process in the cgroup and below it. 0, or -errno. */
int cgroup_signal(const RunCgroup *c, int sig);
/* 1 if some process is in the cgroup (or below), 0 if none, -errno. */
int cgroup_populated(RunCgroup *c);
/* The path of its cgroup.events, which changes when it empties (inotify). */
void cgroup_events_path(const RunCgroup *c, char *buf, size_t n);
/* Lets the (empty) cgroup go: kept for a later run (cgroup.c, "the pool")
 * or removed. 0, or -errno (still the run's). */
int cgroup_remove(RunCgroup *c);
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
/* Reserves the low descriptors a child started on jobd's table keeps
 * (run.c, "slots"); run_init calls it while few descriptors are open. */
void run_slots_init(void);

/* ---- track.c ---- */
/* Starts the SIGCHLD watcher if it is not running (runs without pidfds). */
void track_sigchld(uv_loop_t *loop);

#endif
