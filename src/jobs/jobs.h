/* The job table and its policy: create, start, stop; a heap of next fire
 * times with one timer armed for the earliest; fire -> claim -> spawn ->
 * record. Uses cron (arithmetic), run (children) and store (rows); knows
 * nothing of 9P. */
#ifndef JOBD_JOBS_H
#define JOBD_JOBS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "cron/cron.h"
#include "run/run.h"
#include "store/store.h"
#include "util/util.h"

typedef struct Jobs Jobs;

typedef struct Job {
	int64_t id;                 /* store id: unique per incarnation */
	char *name, *schedule, *cmd;
	Cron cron;
	const Zone *zone;           /* the schedule's zone (TZ= prefix), else the daemon's */
	int started;
	int64_t next;               /* next fire (unix s), CRON_NEVER if none */
	int64_t last_sched;
	size_t heapi;               /* index in the fire heap, or SIZE_MAX */
	size_t listi;               /* index in creation order */
	Run *run;                   /* current run, or NULL */
	int run_pid;
	int64_t run_id;
	uint32_t vers_ctl, vers_sched, vers_log;  /* qid versions of the job's files */
	int64_t ctime, mtime;       /* unix s: created, last changed */
	struct Job *hnext;          /* name hash chain */
} Job;

enum { JOB_NAME_MAX = 128, JOB_CMD_MAX = 8192, JOB_SCHEDULE_MAX = 512 };

typedef struct JobsConfig {
	int64_t kill_grace_ms;      /* SIGTERM -> SIGKILL at shutdown */
} JobsConfig;

/* ---- jobs.c ---- */
Jobs *jobs_new(uv_loop_t *loop, Store *store, Zone *zone, const JobsConfig *cfg);
/* Loads every job from the store and schedules the started ones. */
int jobs_load(Jobs *js, char *why, size_t n);
/* Validates and creates a stopped job. -EEXIST, -EINVAL with why. */
int jobs_create(Jobs *js, const char *name, const char *schedule, const char *cmd,
                Job **out, char *why, size_t n);
int jobs_start(Jobs *js, Job *j, char *why, size_t n);
int jobs_stop(Jobs *js, Job *j, char *why, size_t n);
Job *jobs_lookup(Jobs *js, const char *name, size_t len);
Job *jobs_nth(Jobs *js, size_t i);   /* creation order; NULL past the end */
size_t jobs_count(Jobs *js);
uint32_t jobs_dir_version(Jobs *js);
const Zone *jobs_zone(Jobs *js);
/* Renders the job's log ("<time>:<text>\n" lines) into out. */
int jobs_render_log(Jobs *js, Job *j, Buf *out, char *why, size_t n);
/* Renders the schedule file: the expression, plus ":<next run>" while started. */
void jobs_render_schedule(Jobs *js, Job *j, Buf *out);
/* Stops scheduling, SIGTERMs running children, SIGKILLs them after the grace
 * period, and calls done(arg) once every run is recorded. */
void jobs_shutdown(Jobs *js, void (*done)(void *), void *arg);
/* Frees the table; the memory goes once the loop has run the timers' close callbacks. */
void jobs_free(Jobs *js);

/* ---- schedule.c ---- */
/* Parses a job's schedule: an optional "TZ=Area/City " (or "CRON_TZ=") prefix,
 * then a cron expression. *zone is the named zone (loaded once and kept in
 * the table's cache) or NULL for the daemon's zone. -EINVAL with why. */
int jobs_parse_schedule(Jobs *js, const char *spec, Cron *c, const Zone **zone, char *why, size_t n);

/* ---- recover.c ---- */
/* For each run a dead jobd left in progress (store_runs_interrupted): ends
 * what is left of its process session (SIGTERM, SIGKILL after grace_ms;
 * blocks at most that long), then settles it with "interrupted: ..." in its
 * job's log. Call after jobs_load, before serving. Returns the number of
 * such runs. */
int jobs_recover(Jobs *js, Store *store, int64_t grace_ms);

/* ---- import.c ---- */
/* Imports the original jobd's dbdir/jobs.db (`name:cronexpr:cmd` lines) once:
 * each line becomes a stopped job through jobs_create; a line that fails is
 * logged with its number and skipped; then the file is renamed
 * jobs.db.imported-<UTC time> beside the database and kept. Returns the
 * number of jobs created (0 if there is no jobs.db), or -errno and why if the
 * file cannot be read. */
int jobs_import_legacy(Jobs *js, const char *dbdir, char *why, size_t n);

/* ---- name.c ---- */
/* Job names: letters, digits and '_' (the original's rule), 1..JOB_NAME_MAX bytes. */
int job_name_valid(const char *name, size_t len, char *why, size_t n);

#endif
