/* Child processes: spawn a command with /bin/sh -c in its own process group,
 * capture stdout and stderr (interleaved, as produced) line by line, reap it,
 * kill its whole group. Knows nothing of jobs or 9P. */
#ifndef JOBD_RUN_H
#define JOBD_RUN_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct Run Run;

typedef struct RunCallbacks {
	/* One line of output (no newline; long lines arrive split at RUN_MAXLINE). */
	void (*line)(void *arg, const char *text, size_t len);
	/* The child exited and its output reached end of file. status >= 0 is an
	 * exit code, < 0 the negated signal number. The Run is freed after this. */
	void (*done)(void *arg, int status);
} RunCallbacks;

enum { RUN_MAXLINE = 4096 };

typedef struct RunSpec {
	const char *cmd;
	const char *dir;            /* working directory, NULL = inherit */
	int dir_optional;           /* if dir cannot be entered, use "/" (a HOME that is missing) */
	char **env;                 /* NULL = inherit */
	/* Run as this user (jobd is root): the supplementary groups initgroups(3)
	 * would give user with gid, then gid, then uid. NULL: stay as jobd is. */
	const char *user;
	uint32_t uid, gid;
} RunSpec;

/* ---- run.c ---- */
/* Starts spec->cmd under /bin/sh -c with stdin from /dev/null, in a session of
 * its own, as spec->user if set. Returns 0 and the pid, or -errno with why
 * (what failed, in the child before exec too: "chdir /x: No such file or directory"). */
int run_spawn(uv_loop_t *loop, const RunSpec *spec, const RunCallbacks *cb, void *arg,
              Run **out, int *pid, char *why, size_t n);
/* Sends sig to the run's whole process group. */
int run_kill(Run *r, int sig);
/* Forgets the callbacks (the owner is going away); the child is left to finish
 * and is reaped silently. */
void run_detach(Run *r);

/* ---- proc.c ---- */
/* Names the process pid as it is now ("<boot id>/<start time in ticks>"), so
 * that run_signal_left can later tell it from a process that reused the pid.
 * 0, or -errno (-ENOENT: no such process). */
int run_proc_token(int pid, char *buf, size_t n);
/* What is left of a run a dead jobd started as pid, with the token taken at
 * spawn: sends sig (0 only counts) to every live process still in the run's
 * session, unless the pid now names another process or the machine has
 * rebooted since. Returns how many were signalled (0 if none, or if they are
 * not the run's), or -errno. */
int run_signal_left(int pid, const char *token, int sig);

#endif
