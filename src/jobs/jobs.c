/* The job table and each job's lifecycle and settings. Where a job is fired:
 * sched.c on_timer -> runs.c runs_fire(). */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs_int.h"
#include "util/log.h"

const double jobs_duration_bounds[11] = { 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 3600 };

/* ---- the table ---- */

static uint64_t hash_name(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static size_t id_bucket(int64_t id, size_t nh)
{
	return (size_t)(((uint64_t)id * 0x9e3779b97f4a7c15ull) >> 20) & (nh - 1);
}

static void hash_insert(Jobs *js, Job *j)
{
	if (js->nlist + 1 > js->nhash) {
		size_t nh = js->nhash ? js->nhash * 2 : 256;
		Job **t = xcalloc(nh, sizeof *t), **it = xcalloc(nh, sizeof *it);
		for (size_t i = 0; i < js->nhash; i++) {
			for (Job *p = js->hash[i], *next; p; p = next) {
				next = p->hnext;
				size_t b = hash_name(p->name, strlen(p->name)) & (nh - 1);
				p->hnext = t[b];
				t[b] = p;
			}
			for (Job *p = js->ihash[i], *next; p; p = next) {
				next = p->inext;
				size_t b = id_bucket(p->id, nh);
				p->inext = it[b];
				it[b] = p;
			}
		}
		free(js->hash);
		free(js->ihash);
		js->hash = t;
		js->ihash = it;
		js->nhash = nh;
	}
	size_t b = hash_name(j->name, strlen(j->name)) & (js->nhash - 1);
	j->hnext = js->hash[b];
	js->hash[b] = j;
	b = id_bucket(j->id, js->nhash);
	j->inext = js->ihash[b];
	js->ihash[b] = j;
}

static void hash_remove(Jobs *js, Job *j)
{
	Job **p = &js->hash[hash_name(j->name, strlen(j->name)) & (js->nhash - 1)];
	for (; *p; p = &(*p)->hnext)
		if (*p == j) {
			*p = j->hnext;
			break;
		}
	for (p = &js->ihash[id_bucket(j->id, js->nhash)]; *p; p = &(*p)->inext)
		if (*p == j) {
			*p = j->inext;
			break;
		}
}

Job *jobs_by_id(Jobs *js, int64_t id)
{
	if (!js->nhash)
		return NULL;
	for (Job *j = js->ihash[id_bucket(id, js->nhash)]; j; j = j->inext)
		if (j->id == id)
			return j;
	return NULL;
}

Job *jobs_lookup(Jobs *js, const char *name, size_t len)
{
	if (!js->nhash)
		return NULL;
	for (Job *j = js->hash[hash_name(name, len) & (js->nhash - 1)]; j; j = j->hnext)
		if (strlen(j->name) == len && memcmp(j->name, name, len) == 0)
			return j;
	return NULL;
}

Job *jobs_nth(Jobs *js, size_t i) { return i < js->nlist ? js->list[i] : NULL; }

size_t jobs_owned(Jobs *js, uint32_t uid)
{
	size_t k = 0;
	for (size_t i = 0; i < js->nlist; i++)
		k += js->list[i]->owner == uid;
	return k;
}
uint32_t jobs_changes(Jobs *js) { return js->changes; }
ZoneCache *jobs_zonecache(Jobs *js) { return &js->zones; }

Job *job_add(Jobs *js, const StoreJob *sj, const Cron *c, int has_cron, const Zone *z)
{
	Job *j = xcalloc(1, sizeof *j);
	j->id = sj->id;
	j->name = xstrdup(sj->name);
	j->schedule = xstrdup(sj->schedule);
	j->cmd = xstrdup(sj->cmd);
	j->cron = *c;
	j->has_cron = has_cron;
	j->zone = z;
	j->next = CRON_NEVER;
	j->last_sched = sj->last_sched;
	j->heapi = SIZE_MAX;
	j->kept.runs = -1;          /* counted at its first retention */
	j->timeout_ms = sj->timeout_ms;
	j->overlap = sj->overlap;
	j->misfire = sj->misfire;
	j->orphan = sj->orphan;
	j->dir = xstrdup(sj->dir ? sj->dir : "");
	j->env = xstrdup(sj->env ? sj->env : "");
	j->limits = xstrdup(sj->limits ? sj->limits : "");
	j->runs_total = sj->runs_total;
	j->failures_total = sj->failures_total;
	j->last_start_ns = sj->last_start_ns;
	j->last_end_ns = sj->last_end_ns;
	j->last_status = sj->last_status;
	j->ctime = j->mtime = sj->created_ns / 1000000000;
	/* Jobs from before owners were recorded (-1) belong to jobd's user. */
	j->owner = sj->owner_uid < 0 || sj->owner_uid > UINT32_MAX ? js->cfg.daemon_uid
	                                                           : (uint32_t)sj->owner_uid;
	if (js->nlist == js->caplist) {
		js->caplist = js->caplist ? js->caplist * 2 : 256;
		js->list = xrealloc(js->list, js->caplist * sizeof *js->list);
	}
	j->listi = js->nlist;
	js->list[js->nlist++] = j;
	hash_insert(js, j);
	js->changes++;
	return j;
}

static void job_free(Job *j)
{
	text_drop_job(j);
	free(j->name);
	free(j->schedule);
	free(j->cmd);
	free(j->dir);
	free(j->env);
	free(j->limits);
	free(j->queue);
	free(j);
}

Jobs *jobs_new(uv_loop_t *loop, Store *store, Zone *zone, const JobsConfig *cfg)
{
	Jobs *js = xcalloc(1, sizeof *js);
	js->loop = loop;
	js->batch = 1;                  /* 0: the batch of what was loaded, durable */
	js->store = store;
	js->zone = zone;
	js->cfg = *cfg;
	/* Fires are claimed a little ahead where their starts can wait for the
	 * instant on the spawner thread (sched.c, JOBS_LEAD_NS); a PAM session
	 * is forked by the loop at once, so with -pam they are claimed on time. */
	js->lead_ns = !cfg->pam_service && run_spawns_wait() ? JOBS_LEAD_NS : 0;
	if (js->cfg.max_cmd == 0)
		js->cfg.max_cmd = JOB_CMD_MAX;
	if (js->cfg.max_per_owner == 0)
		js->cfg.max_per_owner = SIZE_MAX;
	js->events = events_new(wall_now_ns());
	sched_init(js);
	return js;
}

/* ---- the row ---- */

static StoreJob row_of(const Job *j)
{
	return (StoreJob){
		.id = j->id, .name = j->name, .schedule = j->schedule, .cmd = j->cmd,
		.started = j->started, .last_sched = j->last_sched,
		.timeout_ms = j->timeout_ms, .overlap = j->overlap, .misfire = j->misfire,
		.orphan = j->orphan,
		.dir = j->dir, .env = j->env, .limits = j->limits,
		.runs_total = j->runs_total, .failures_total = j->failures_total,
		.last_start_ns = j->last_start_ns, .last_end_ns = j->last_end_ns,
		.last_status = j->last_status, .owner_uid = j->owner,
	};
}

int job_save(Jobs *js, Job *j, char *why, size_t n)
{
	StoreJob row = row_of(j);
	return store_job_save(js->store, &row, why, n);
}

/* ---- loading ---- */

typedef struct LoadCtx {
	Jobs *js;
	int64_t now;
} LoadCtx;

static int load_one(void *arg, const StoreJob *sj)
{
	LoadCtx *lc = arg;
	job_from_row(lc->js, sj);
	return 0;
}

Job *job_from_row(Jobs *js, const StoreJob *sj)
{
	Cron c;
	memset(&c, 0, sizeof c);
	const Zone *z = NULL;
	char why[256];
	int has_cron = 0;
	if (*sj->schedule) {
		if (jobs_parse_schedule(js, sj->schedule, &c, &z, why, sizeof why) < 0) {
			/* Keep it listed (nothing is lost) but never run it. */
			LOGE("job %s: stored schedule '%s' does not parse (%s); leaving it stopped",
			     sj->name, sj->schedule, why);
			StoreJob copy = *sj;
			copy.started = 0;
			return job_add(js, &copy, &c, 0, NULL);
		}
		has_cron = 1;
	}
	Job *j = job_add(js, sj, &c, has_cron, z);
	if (sj->started && has_cron)
		j->started = 1;         /* scheduled by jobs_begin or by the caller */
	return j;
}

int jobs_load(Jobs *js, char *why, size_t n)
{
	LoadCtx lc = { js, 0 };
	int64_t lines = text_convert(js, why, n);
	if (lines < 0)
		return (int)lines;
	if (lines > 0)
		LOGI("converted %lld log lines of an older database into chunks", (long long)lines);
	int rc = store_jobs_load(js->store, load_one, &lc, why, n);
	if (rc < 0)
		return rc;
	size_t started = 0;
	for (size_t i = 0; i < js->nlist; i++)
		started += js->list[i]->started;
	LOGI("loaded %zu jobs (%zu started)", js->nlist, started);
	return 0;
}

/* Only now may anything run: misfire replays start children, and a start-up
 * refused after that would free the jobs under them; crash recovery (before
 * this) must also have ended what a dead jobd left before a new run begins. */
void jobs_begin(Jobs *js)
{
	int64_t now = jobs_clock_ns(js) / 1000000000;
	for (size_t i = 0; i < js->nlist; i++)
		if (js->list[i]->started)
			sched_resume(js, js->list[i], now);
	LOGI("%zu jobs scheduled", js->heap.n);
	sched_arm(js);
}

/* ---- creating ---- */

static int check_new_name(Jobs *js, const char *name, char *why, size_t n)
{
	int rc = job_name_valid(name, strlen(name), why, n);
	if (rc < 0)
		return rc;
	if (jobs_lookup(js, name, strlen(name))) {
		strfmt(why, n, "job '%s' already exists", name);
		return -EEXIST;
	}
	return 0;
}

static int check_schedule(Jobs *js, const char *schedule, Cron *c, const Zone **z, char *why, size_t n)
{
	char cwhy[256];
	if (strlen(schedule) > SETTING_SCHEDULE_MAX) {
		strfmt(why, n, "schedule is longer than %d bytes", SETTING_SCHEDULE_MAX);
		return -EINVAL;
	}
	if (jobs_parse_schedule(js, schedule, c, z, cwhy, sizeof cwhy) < 0) {
		strfmt(why, n, "bad schedule '%s': %s", schedule, cwhy);
		return -EINVAL;
	}
	return 0;
}

static int check_cmd(Jobs *js, const char *cmd, char *why, size_t n)
{
	if (!*cmd) {
		strfmt(why, n, "command is empty");
		return -EINVAL;
	}
	size_t len = strlen(cmd);
	if (len > js->cfg.max_cmd) {
		strfmt(why, n, "command of %zu bytes is longer than the %zu-byte limit",
		       len, js->cfg.max_cmd);
		return -EINVAL;
	}
	return 0;
}

/* Root is not bound: an administrator moving a large crontab in must not hit
 * the limit meant for users. jobs_owned is O(jobs): one scan per create. */
static int check_quota(Jobs *js, uint32_t owner, char *why, size_t n)
{
	if (owner != 0 && jobs_owned(js, owner) >= js->cfg.max_per_owner) {
		strfmt(why, n, "uid %u already owns %zu jobs, the limit; delete some first",
		       owner, js->cfg.max_per_owner);
		return -EDQUOT;
	}
	return 0;
}

static int create(Jobs *js, uint32_t owner, const char *name, const char *schedule,
                  const char *cmd, const Cron *c, int has_cron, const Zone *z, Job **out,
                  char *why, size_t n)
{
	StoreJob sj = { .name = name, .schedule = schedule, .cmd = cmd, .created_ns = wall_now_ns(),
	                .dir = "", .env = "", .owner_uid = owner, .limits = "" };
	int rc = store_job_create(js->store, &sj, why, n);
	if (rc < 0)
		return rc;
	*out = job_add(js, &sj, c, has_cron, z);
	job_event(js, *out, "job.created", "owner=%u", owner);
	VLOG(1, "job %s created by uid %u: '%s' '%s'", name, owner, schedule, cmd);
	return 0;
}

/* ---- schedules that never fire ---- */

/* Where the job's next fire would go if it were started now: as sched_after
 * puts it, after now and after its last fire. O(cron_next). */
static int64_t next_from_now(Jobs *js, const Job *j)
{
	int64_t after = jobs_clock_ns(js) / 1000000000;
	if (after < j->last_sched)
		after = j->last_sched;
	return cron_next(&j->cron, after, 0, job_zone(js, j));
}

/* A schedule with no time to come (0 0 31 2 *, a past year) is accepted: the
 * job is kept, listed, and runs when asked to, as before. But whoever wrote
 * or started it is told, or the first sign would be a run that never comes:
 * 1 with the warning in why (and, if log, in the job's log), or 0. */
static int warn_never(Jobs *js, Job *j, int log, char *why, size_t n)
{
	if (!j->has_cron)
		return 0;
	int64_t next = j->started ? j->next : next_from_now(js, j);
	if (next != CRON_NEVER)
		return 0;
	char w[SETTING_SCHEDULE_MAX + 64];
	strfmt(w, sizeof w, "schedule '%s' never fires: no time from now on matches it",
	       j->schedule);
	if (log)
		job_logf(js, j, 0, "warning: %s", w);
	strfmt(why, n, "%s", w);
	return 1;
}

int jobs_create(Jobs *js, uint32_t owner, const char *name, const char *schedule,
                const char *cmd, Job **out, char *why, size_t n)
{
	Cron c;
	const Zone *z = NULL;
	Job *j;
	int rc;
	if ((rc = check_new_name(js, name, why, n)) < 0 ||
	    (rc = check_schedule(js, schedule, &c, &z, why, n)) < 0 ||
	    (rc = check_cmd(js, cmd, why, n)) < 0 ||
	    (rc = check_quota(js, owner, why, n)) < 0 ||
	    (rc = create(js, owner, name, schedule, cmd, &c, 1, z, &j, why, n)) < 0)
		return rc;
	if (out)
		*out = j;
	return warn_never(js, j, 1, why, n);
}

int jobs_create_empty(Jobs *js, uint32_t owner, const char *name, Job **out, char *why,
                      size_t n)
{
	Cron c;
	memset(&c, 0, sizeof c);
	int rc;
	Job *j;
	if ((rc = check_new_name(js, name, why, n)) < 0 || (rc = check_quota(js, owner, why, n)) < 0 ||
	    (rc = create(js, owner, name, "", "", &c, 0, NULL, &j, why, n)) < 0)
		return rc;
	if (out)
		*out = j;
	return 0;
}

/* ---- lifecycle ---- */

/* The state and its log line in one batch: a crash leaves both or neither.
 * "started" is the original's word; for a stop it wrote "completed" (its
 * scheduling loop had ended), which reads like a run's end now that runs
 * have "run N ended" lines: "stopped", as ctl says. */
static int set_started(Jobs *js, Job *j, int on, char *why, size_t n)
{
	int rc = store_job_set_started(js->store, j->id, on, why, n);
	if (rc < 0)
		return rc;
	j->started_batch = js->batch;
	const char *word = on ? "started" : "stopped";
	job_log(js, j, 0, word, strlen(word));
	j->started = on;
	j->changes.state++;
	j->changes.schedule++;
	j->changes.log++;
	job_event(js, j, on ? "job.started" : "job.stopped", NULL);
	j->mtime = wall_now_ns() / 1000000000;
	VLOG(1, "job %s %s", j->name, on ? "started" : "stopped");
	return 0;
}

int jobs_start(Jobs *js, Job *j, char *why, size_t n)
{
	if (j->started)
		return warn_never(js, j, 0, why, n);   /* nothing changed: not logged again */
	if (!j->has_cron) {
		strfmt(why, n, "job %s has no schedule: write one to its schedule file", j->name);
		return -EINVAL;
	}
	if (!*j->cmd) {
		strfmt(why, n, "job %s has no command: write one to its cmd file", j->name);
		return -EINVAL;
	}
	int rc = set_started(js, j, 1, why, n);
	if (rc < 0)
		return rc;
	sched_after(js, j, jobs_clock_ns(js) / 1000000000);
	sched_arm(js);
	return warn_never(js, j, 1, why, n);
}

int jobs_stop(Jobs *js, Job *j, char *why, size_t n)
{
	if (!j->started)
		return 0;
	int rc = set_started(js, j, 0, why, n);
	if (rc == 0) {
		heap_remove(&js->heap, j);
		j->next = CRON_NEVER;
		sched_arm(js);
	}
	return rc;
}

int jobs_delete(Jobs *js, Job *j, char *why, size_t n)
{
	int rc = store_job_delete(js->store, j->id, why, n);
	if (rc < 0)
		return rc;
	VLOG(1, "job %s deleted", j->name);
	job_drop(js, j);
	return 0;
}

void job_drop(Jobs *js, Job *j)
{
	job_event(js, j, "job.deleted", NULL);
	job_gone(js, j);
	runs_orphan_all(js, j);
	heap_remove(&js->heap, j);
	hash_remove(js, j);
	memmove(&js->list[j->listi], &js->list[j->listi + 1],
	        (js->nlist - j->listi - 1) * sizeof *js->list);
	js->nlist--;
	for (size_t i = j->listi; i < js->nlist; i++)
		js->list[i]->listi = i;
	js->changes++;
	job_free(j);
	sched_arm(js);
}

/* ---- settings ---- */

/* jobd's own checks of a setting, beyond its parser's, on the job as it
 * would be: the schedule's zone (and its Cron), the command's length. */
static int check_schedule_field(Jobs *js, Job *next, char *why, size_t n)
{
	char sub[256];
	if (jobs_parse_schedule(js, next->schedule, &next->cron, &next->zone, sub, sizeof sub) < 0) {
		strfmt(why, n, "%s: %s", setting_tab[SET_SCHEDULE].name, sub);
		return -EINVAL;
	}
	next->has_cron = 1;
	return 0;
}

static int check_cmd_field(Jobs *js, Job *next, char *why, size_t n)
{
	return check_cmd(js, next->cmd, why, n);
}

/* The directory as the job's runs would find it: there, a directory, and
 * searchable by the run's user (the owner, when jobd is root; else jobd's
 * own user), so that a mistake shows now rather than at 3 a.m. It may still
 * vanish later: the run checks again (run.c: "cannot run: chdir ..."). */
static int check_dir_field(Jobs *js, Job *next, char *why, size_t n)
{
	if (!*next->dir)
		return 0;               /* unset: HOME, or "/" */
	if (!js->cfg.run_as_owner)
		return run_dir_check(next->dir, NULL, 0, 0, why, n);
	struct passwd *pw = getpwuid((uid_t)next->owner);
	if (!pw) {
		strfmt(why, n, "dir: cannot check %s for the job's owner: uid %u no longer exists",
		       next->dir, next->owner);
		return -EINVAL;
	}
	char *user = xstrdup(pw->pw_name);     /* pw is static: NSS may reuse it */
	int rc = run_dir_check(next->dir, user, (uint32_t)pw->pw_uid, (uint32_t)pw->pw_gid, why, n);
	free(user);
	return rc;
}

/* Where each setting lives in a Job, the one place that says so: a text
 * keeps its canonical text (char *), a duration its milliseconds (int64_t),
 * a choice the index of its word (int). check: jobd's own checks, as above;
 * render: its file, if not just the canonical text. */
enum { F_TEXT = 1, F_MS, F_WORD };
static const struct {
	int type;
	size_t off;
	int (*check)(Jobs *js, Job *next, char *why, size_t n);
	void (*render)(Jobs *js, Job *j, Buf *out);
} fields[SET_N] = {
	[SET_SCHEDULE] = { F_TEXT, offsetof(Job, schedule), check_schedule_field, jobs_render_schedule },
	[SET_CMD] = { F_TEXT, offsetof(Job, cmd), check_cmd_field, NULL },
	[SET_TIMEOUT] = { F_MS, offsetof(Job, timeout_ms), NULL, NULL },
	[SET_OVERLAP] = { F_WORD, offsetof(Job, overlap), NULL, NULL },
	[SET_MISFIRE] = { F_WORD, offsetof(Job, misfire), NULL, NULL },
	[SET_ORPHAN] = { F_WORD, offsetof(Job, orphan), NULL, NULL },
	[SET_DIR] = { F_TEXT, offsetof(Job, dir), check_dir_field, NULL },
	[SET_ENV] = { F_TEXT, offsetof(Job, env), NULL, NULL },
	[SET_LIMITS] = { F_TEXT, offsetof(Job, limits), NULL, NULL },
};

static void *field(Job *j, int i) { return (char *)j + fields[i].off; }

void jobs_render_setting(Jobs *js, Job *j, int i, Buf *out)
{
	char d[32];
	if (fields[i].render) {
		fields[i].render(js, j, out);
		return;
	}
	switch (fields[i].type) {
	case F_TEXT: buf_addstr(out, *(char **)field(j, i)); break;
	case F_MS:
		duration_format(*(int64_t *)field(j, i), d, sizeof d);
		buf_addstr(out, d);
		break;
	case F_WORD: buf_addstr(out, setting_word(i, *(int *)field(j, i))); break;
	}
}

/* Puts canon, setting i's canonical text, into j: a text field takes canon
 * and the text it held is returned; any other field takes canon's value and
 * canon is returned. Either way the caller frees what is returned. */
static char *field_put(Job *j, int i, char *canon)
{
	char *old = canon, why[8];
	switch (fields[i].type) {
	case F_TEXT:
		old = *(char **)field(j, i);
		*(char **)field(j, i) = canon;
		break;
	case F_MS: duration_parse(canon, field(j, i), why, sizeof why); break;
	case F_WORD: *(int *)field(j, i) = setting_word_index(i, canon); break;
	}
	return old;
}

/* Checks the value, then stores the whole row, then changes the job: a value
 * the store could not keep changes nothing. */
int jobs_set(Jobs *js, Job *j, int i, const char *value, char *why, size_t n)
{
	char *canon;
	int rc = setting_parse(i, value, &canon, why, n);
	if (rc < 0)
		return rc;
	Job next = *j;                  /* the job as it would be */
	char *old = field_put(&next, i, canon);
	if ((fields[i].check && (rc = fields[i].check(js, &next, why, n)) < 0) ||
	    (rc = job_save(js, &next, why, n)) < 0) {
		free(canon);
		return rc;
	}
	free(old);
	*j = next;                      /* nothing else changed j meanwhile */
	j->changes.settings++;
	j->mtime = wall_now_ns() / 1000000000;
	VLOG(1, "job %s: %s set", j->name, setting_tab[i].name);
	job_event(js, j, "job.changed", "what=%s", setting_tab[i].name);
	if (i != SET_SCHEDULE)
		return 0;
	j->changes.schedule++;
	if (j->started) {
		sched_after(js, j, jobs_clock_ns(js) / 1000000000);
		sched_arm(js);
	}
	return warn_never(js, j, 1, why, n);
}

/* ---- stats ---- */

void jobs_stats(Jobs *js, JobsStats *st)
{
	*st = js->stats;
	st->jobs = js->nlist;
	st->started = 0;
	/* O(n), but only when someone reads /stats or /metrics. */
	for (size_t i = 0; i < js->nlist; i++)
		st->started += js->list[i]->started != 0;
	st->running = js->running;
}

/* ---- shutdown ---- */

void jobs_maybe_done(Jobs *js)
{
	if (js->shutting && js->running == 0 && !js->left && !js->adopted && js->done) {
		void (*done)(void *) = js->done;
		js->done = NULL;
		done(js->done_arg);
	}
}

void jobs_shutdown(Jobs *js, void (*done)(void *), void *arg)
{
	js->shutting = 1;
	js->done = done;
	js->done_arg = arg;
	sched_fini(js);
	/* Running children, and what ended runs left, are asked to stop
	 * (SIGTERM), then killed after the grace period; each run's end is
	 * recorded before we exit, after a bounded wait at worst (runs.c). */
	runs_stop_all(js);
	jobs_maybe_done(js);
}

/* The table is freed once libuv has released its handles. */
void jobs_free(Jobs *js)
{
	if (!js->shutting) {            /* refusing to start: nothing ran the shutdown */
		js->shutting = 1;
		sched_fini(js);
	}
	text_fini(js);                  /* lines still buffered join the last commit */
	remote_fini(js);
	for (size_t i = 0; i < js->nlist; i++)
		job_free(js->list[i]);
	free(js->list);
	free(js->hash);
	free(js->ihash);
	free(js->heap.v);
	zonecache_free(&js->zones);
	events_free(js->events);
	js->events = NULL;
	js->list = NULL;
	js->hash = NULL;
	js->heap.v = NULL;
	js->nlist = 0;
	js->freed = 1;
	if (js->closing_handles == 0)
		free(js);
}
