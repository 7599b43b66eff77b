/* The job table and the scheduler. Where a job is fired: on_timer -> fire(). */
#include <errno.h>
#include <signal.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs_int.h"
#include "util/log.h"

struct Jobs {
	uv_loop_t *loop;
	Store *store;
	Zone *zone;
	JobsConfig cfg;
	Job **list;                 /* creation order, for directory listings */
	size_t nlist, caplist;
	Job **hash;                 /* by name */
	size_t nhash;
	FireHeap heap;
	ZoneCache zones;
	uv_timer_t timer;
	uv_timer_t killtimer;
	int stepfd;                 /* timerfd that reports wall-clock steps (-1 if none) */
	uv_poll_t steppoll;
	int64_t skew;               /* wall - monotonic (ns) when last checked */
	uint32_t dirvers;
	unsigned running;           /* runs in progress */
	int shutting;
	void (*done)(void *);
	void *done_arg;
	int closing_handles;
};

typedef struct RunCtx {
	Jobs *js;
	Job *job;
	int64_t run_id;
} RunCtx;

static void arm(Jobs *js);
static void step_watch_init(Jobs *js);

/* ---- table ---- */

static uint64_t hash_name(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static void hash_insert(Jobs *js, Job *j)
{
	if (js->nlist + 1 > js->nhash) {
		size_t nh = js->nhash ? js->nhash * 2 : 256;
		Job **t = xcalloc(nh, sizeof *t);
		for (size_t i = 0; i < js->nhash; i++)
			for (Job *p = js->hash[i], *next; p; p = next) {
				next = p->hnext;
				size_t b = hash_name(p->name, strlen(p->name)) & (nh - 1);
				p->hnext = t[b];
				t[b] = p;
			}
		free(js->hash);
		js->hash = t;
		js->nhash = nh;
	}
	size_t b = hash_name(j->name, strlen(j->name)) & (js->nhash - 1);
	j->hnext = js->hash[b];
	js->hash[b] = j;
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
size_t jobs_count(Jobs *js) { return js->nlist; }
uint32_t jobs_dir_version(Jobs *js) { return js->dirvers; }
const Zone *jobs_zone(Jobs *js) { return js->zone; }
ZoneCache *jobs_zonecache(Jobs *js) { return &js->zones; }

static const Zone *job_zone(Jobs *js, const Job *j) { return j->zone ? j->zone : js->zone; }

static Job *job_add(Jobs *js, const StoreJob *sj, const Cron *c, const Zone *z)
{
	Job *j = xcalloc(1, sizeof *j);
	j->zone = z;
	j->id = sj->id;
	j->name = xstrdup(sj->name);
	j->schedule = xstrdup(sj->schedule);
	j->cmd = xstrdup(sj->cmd);
	j->cron = *c;
	j->next = CRON_NEVER;
	j->last_sched = sj->last_sched;
	j->heapi = SIZE_MAX;
	j->ctime = j->mtime = sj->created_ns / 1000000000;
	if (js->nlist == js->caplist) {
		js->caplist = js->caplist ? js->caplist * 2 : 256;
		js->list = xrealloc(js->list, js->caplist * sizeof *js->list);
	}
	j->listi = js->nlist;
	js->list[js->nlist++] = j;
	hash_insert(js, j);
	js->dirvers++;
	return j;
}

static void job_free(Job *j)
{
	free(j->name);
	free(j->schedule);
	free(j->cmd);
	free(j);
}

Jobs *jobs_new(uv_loop_t *loop, Store *store, Zone *zone, const JobsConfig *cfg)
{
	Jobs *js = xcalloc(1, sizeof *js);
	js->loop = loop;
	js->store = store;
	js->zone = zone;
	js->cfg = *cfg;
	uv_timer_init(loop, &js->timer);
	uv_timer_init(loop, &js->killtimer);
	js->timer.data = js->killtimer.data = js;
	js->skew = wall_now_ns() - mono_now().ns;
	step_watch_init(js);
	return js;
}

/* ---- log ---- */

static void job_log(Jobs *js, Job *j, int64_t run_id, const char *text, size_t len)
{
	char why[256];
	if (store_log_append(js->store, j->id, run_id, wall_now_ns(), text, len, why, sizeof why) < 0)
		LOGE("job %s: cannot record log line: %s", j->name, why);
	j->vers_log++;
}

static void job_logf(Jobs *js, Job *j, int64_t run_id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void job_logf(Jobs *js, Job *j, int64_t run_id, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	job_log(js, j, run_id, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

typedef struct LogRender {
	Jobs *js;
	Buf *out;
} LogRender;

static int render_line(void *arg, int64_t t_ns, int64_t run_id, const char *text, size_t len)
{
	LogRender *lr = arg;
	char ts[80];
	(void)run_id;
	zone_format_go(lr->js->zone, t_ns / 1000000000, (long)(t_ns % 1000000000), 1, ts, sizeof ts);
	buf_addstr(lr->out, ts);
	buf_add(lr->out, ":", 1);
	buf_add(lr->out, text, len);
	buf_add(lr->out, "\n", 1);
	return 0;
}

int jobs_render_log(Jobs *js, Job *j, Buf *out, char *why, size_t n)
{
	LogRender lr = { js, out };
	return store_log_read(js->store, j->id, render_line, &lr, why, n);
}

void jobs_render_schedule(Jobs *js, Job *j, Buf *out)
{
	buf_addstr(out, j->schedule);
	if (!j->started)
		return;
	if (j->next == CRON_NEVER) {
		buf_addstr(out, ":never");
		return;
	}
	char ts[80];
	zone_format_go(job_zone(js, j), j->next, 0, 0, ts, sizeof ts);
	buf_add(out, ":", 1);
	buf_addstr(out, ts);
}

/* ---- scheduling ---- */

/* Where the next fire of a started job goes: strictly after `after`, and
 * never at or before a time already fired (the clock may have gone back). */
static void schedule_after(Jobs *js, Job *j, int64_t after)
{
	if (after < j->last_sched)
		after = j->last_sched;
	heap_remove(&js->heap, j);
	j->next = cron_next(&j->cron, after, 0, job_zone(js, j));
	if (j->next != CRON_NEVER)
		heap_push(&js->heap, j);
	j->vers_sched++;
}

static void on_timer(uv_timer_t *t);

/* ---- wall-clock steps ----
 * The wait for the next fire is measured on the monotonic clock, computed
 * from the wall clock at arming time. When someone steps the wall clock
 * (NTP step, date -s), a timerfd armed with TFD_TIMER_CANCEL_ON_SET wakes us
 * at once; and on every wake-up we compare wall minus monotonic with what it
 * was, which catches steps the timerfd cannot see. What we do per case:
 *  - no step (|change| <= 1 s, ordinary drift and slewing): nothing.
 *  - small forward step (<= 3 h, e.g. a suspended VM catching up): fire times
 *    that were skipped are due now; on_timer fires each job once for them
 *    (no lost fixed-time run) and continues after the new now.
 *  - large forward step (> 3 h): skipped times are dropped, not replayed; each
 *    job is rescheduled after the new now (cron's documented behaviour).
 *  - backward step: the fire times were computed for a future that is now
 *    further away, and the times between are coming round again. Each job is
 *    rescheduled after max(now, its last fired time), so no scheduled instant
 *    is ever fired twice (the store's (job, time) claim enforces it too). */
enum { STEP_TOLERANCE_NS = 1000000000, SMALL_FORWARD_S = 3 * 3600 };

static void reschedule_all(Jobs *js, int64_t now)
{
	for (size_t i = 0; i < js->nlist; i++)
		if (js->list[i]->started)
			schedule_after(js, js->list[i], now);
}

static void clock_check(Jobs *js)
{
	int64_t skew = wall_now_ns() - mono_now().ns;
	int64_t step = skew - js->skew;
	js->skew = skew;
	if (step >= -STEP_TOLERANCE_NS && step <= STEP_TOLERANCE_NS)
		return;
	int64_t now = wall_now_ns() / 1000000000;
	if (step > 0 && step <= (int64_t)SMALL_FORWARD_S * 1000000000) {
		LOGW("wall clock stepped forward %.3f s; running jobs whose times were skipped once",
		     (double)step / 1e9);
		return;   /* the heap already holds the skipped times: on_timer fires them */
	}
	if (step > 0)
		LOGW("wall clock stepped forward %.3f s (more than 3 h); skipped times are not replayed",
		     (double)step / 1e9);
	else
		LOGW("wall clock stepped back %.3f s; no scheduled time will run twice",
		     (double)-step / 1e9);
	reschedule_all(js, now);
}

static void step_rearm(Jobs *js)
{
	/* An absolute timer far in the future: it never expires, it only gets
	 * cancelled when the clock is set. */
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)1 << 40 } };
	if (timerfd_settime(js->stepfd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) < 0)
		LOGW("timerfd_settime: %s; clock steps are noticed at the next wake-up only",
		     strerror(errno));
}

static void on_step(uv_poll_t *p, int status, int events)
{
	Jobs *js = p->data;
	uint64_t n;
	(void)status; (void)events;
	if (read(js->stepfd, &n, sizeof n) < 0 && errno != ECANCELED && errno != EAGAIN)
		LOGW("clock-step timerfd: %s", strerror(errno));
	step_rearm(js);
	clock_check(js);
	arm(js);
}

static void step_watch_init(Jobs *js)
{
	js->stepfd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (js->stepfd < 0) {
		LOGW("timerfd_create: %s; clock steps are noticed at the next wake-up only", strerror(errno));
		return;
	}
	step_rearm(js);
	uv_poll_init(js->loop, &js->steppoll, js->stepfd);
	js->steppoll.data = js;
	uv_poll_start(&js->steppoll, UV_READABLE, on_step);
}

/* One timer for the earliest fire over all jobs. The delay comes from the
 * wall clock at arming time; if we wake early (timer granularity, or the
 * clock was stepped back) on_timer simply re-arms. */
static void arm(Jobs *js)
{
	Job *top = heap_top(&js->heap);
	if (!top || js->shutting) {
		uv_timer_stop(&js->timer);
		return;
	}
	int64_t now = wall_now_ns();
	int64_t due = top->next * 1000000000;
	uint64_t ms = due <= now ? 0 : (uint64_t)((due - now + 999999) / 1000000);
	uv_timer_start(&js->timer, on_timer, ms, 0);
}

static void run_line(void *arg, const char *text, size_t len)
{
	RunCtx *rc = arg;
	job_log(rc->js, rc->job, rc->run_id, text, len);
}

static void run_done(void *arg, int status)
{
	RunCtx *rc = arg;
	Jobs *js = rc->js;
	Job *j = rc->job;
	char why[256];
	if (status > 0)
		job_logf(js, j, rc->run_id, "exit status %d", status);
	else if (status < 0)
		job_logf(js, j, rc->run_id, "signal: %s", strsignal(-status));
	if (store_run_finish(js->store, rc->run_id, RUN_DONE, wall_now_ns(), status, why, sizeof why) < 0)
		LOGE("job %s: cannot record end of run %lld: %s", j->name, (long long)rc->run_id, why);
	VLOG(2, "job %s: run %lld (pid %d) ended with status %d", j->name, (long long)rc->run_id,
	     j->run_pid, status);
	j->run = NULL;
	j->run_pid = 0;
	j->run_id = 0;
	j->vers_ctl++;
	free(rc);
	js->running--;
	if (js->shutting && js->running == 0 && js->done) {
		uv_timer_stop(&js->killtimer);
		void (*done)(void *) = js->done;
		js->done = NULL;
		done(js->done_arg);
	}
}

extern char **environ;

/* The daemon's environment without any JOBD_* variables, plus the three given
 * (the array is malloc'ed; the strings are borrowed). */
static char **env_with(char *a, char *b, char *c)
{
	size_t n = 0, k = 0;
	while (environ[n])
		n++;
	char **env = xmalloc((n + 4) * sizeof *env);
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "JOBD_", 5) != 0)
			env[k++] = environ[i];
	env[k++] = a;
	env[k++] = b;
	env[k++] = c;
	env[k] = NULL;
	return env;
}

static void fire(Jobs *js, Job *j, int64_t sched)
{
	char why[256];
	int64_t run_id;
	int rc = store_fire_claim(js->store, j->id, sched, &run_id, why, sizeof why);
	if (rc == -EALREADY) {
		VLOG(2, "job %s: fire at %lld already claimed", j->name, (long long)sched);
		return;
	}
	if (rc < 0) {
		LOGE("job %s: cannot claim fire at %lld: %s", j->name, (long long)sched, why);
		return;
	}
	j->last_sched = sched;
	if (j->run) {
		/* overlap=skip: never run a job alongside itself. */
		job_logf(js, j, run_id, "skipped: previous run (pid %d) still running", j->run_pid);
		store_run_finish(js->store, run_id, RUN_SKIPPED, wall_now_ns(), 0, why, sizeof why);
		return;
	}
	RunCtx *ctx = xcalloc(1, sizeof *ctx);
	*ctx = (RunCtx){ js, j, run_id };
	/* The run learns who and when it is: JOBD_JOB, JOBD_SCHEDULED (unix s), JOBD_RUN. */
	char e_job[JOB_NAME_MAX + 16], e_sched[48], e_run[48];
	snprintf(e_job, sizeof e_job, "JOBD_JOB=%s", j->name);
	snprintf(e_sched, sizeof e_sched, "JOBD_SCHEDULED=%lld", (long long)sched);
	snprintf(e_run, sizeof e_run, "JOBD_RUN=%lld", (long long)run_id);
	char **env = env_with(e_job, e_sched, e_run);
	RunSpec spec = { .cmd = j->cmd, .env = env };
	RunCallbacks cb = { run_line, run_done };
	int pid = 0;
	rc = run_spawn(js->loop, &spec, &cb, ctx, &j->run, &pid, why, sizeof why);
	free(env);
	if (rc < 0) {
		job_logf(js, j, run_id, "cannot run: %s", why);
		store_run_finish(js->store, run_id, RUN_DONE, wall_now_ns(), 127, why, sizeof why);
		free(ctx);
		return;
	}
	j->run_pid = pid;
	j->run_id = run_id;
	j->vers_ctl++;
	js->running++;
	/* Who the process is, so that a jobd started after a crash can end what
	 * is left of this run without mistaking a process that reused the pid. */
	char proc[STORE_PROC_MAX];
	if (run_proc_token(pid, proc, sizeof proc) < 0)
		proc[0] = '\0';
	store_run_start(js->store, run_id, wall_now_ns(), pid, proc, why, sizeof why);
	VLOG(2, "job %s: run %lld started, pid %d", j->name, (long long)run_id, pid);
}

static void on_timer(uv_timer_t *t)
{
	Jobs *js = t->data;
	clock_check(js);
	int64_t now_ns = wall_now_ns();
	int64_t now = now_ns / 1000000000;
	Job *j;
	while ((j = heap_top(&js->heap)) && j->next <= now) {
		int64_t sched = j->next;
		fire(js, j, sched);
		/* Fire each scheduled second once. If we are late (the loop was
		 * blocked or the clock jumped forward), run at most one missed time:
		 * resume from one second before now rather than replaying a backlog. */
		int64_t after = sched > now - 1 ? sched : now - 1;
		schedule_after(js, j, after);
	}
	arm(js);
}

/* ---- lifecycle ---- */

typedef struct LoadCtx {
	Jobs *js;
	int bad;
} LoadCtx;

static int load_one(void *arg, const StoreJob *sj)
{
	LoadCtx *lc = arg;
	Jobs *js = lc->js;
	Cron c;
	const Zone *z = NULL;
	char why[256];
	if (jobs_parse_schedule(js, sj->schedule, &c, &z, why, sizeof why) < 0) {
		/* Keep it listed (nothing is lost) but never run it. */
		LOGE("job %s: stored schedule '%s' does not parse (%s); leaving it stopped",
		     sj->name, sj->schedule, why);
		memset(&c, 0, sizeof c);
		StoreJob copy = *sj;
		copy.started = 0;
		job_add(js, &copy, &c, NULL);
		lc->bad++;
		return 0;
	}
	Job *j = job_add(js, sj, &c, z);
	if (sj->started) {
		j->started = 1;
		schedule_after(js, j, wall_now_ns() / 1000000000);
	}
	return 0;
}

int jobs_load(Jobs *js, char *why, size_t n)
{
	LoadCtx lc = { js, 0 };
	int rc = store_jobs_load(js->store, load_one, &lc, why, n);
	if (rc < 0)
		return rc;
	LOGI("loaded %zu jobs (%zu started)", js->nlist, js->heap.n);
	arm(js);
	return 0;
}

int jobs_create(Jobs *js, const char *name, const char *schedule, const char *cmd,
                Job **out, char *why, size_t n)
{
	Cron c;
	const Zone *z = NULL;
	char cwhy[256];
	int rc;
	if ((rc = job_name_valid(name, strlen(name), why, n)) < 0)
		return rc;
	if (jobs_lookup(js, name, strlen(name))) {
		strfmt(why, n, "job '%s' already exists", name);
		return -EEXIST;
	}
	if (strlen(schedule) > JOB_SCHEDULE_MAX) {
		strfmt(why, n, "schedule is longer than %d bytes", JOB_SCHEDULE_MAX);
		return -EINVAL;
	}
	if (jobs_parse_schedule(js, schedule, &c, &z, cwhy, sizeof cwhy) < 0) {
		strfmt(why, n, "bad schedule '%s': %s", schedule, cwhy);
		return -EINVAL;
	}
	if (!*cmd) {
		strfmt(why, n, "command is empty");
		return -EINVAL;
	}
	if (strlen(cmd) > JOB_CMD_MAX) {
		strfmt(why, n, "command is longer than %d bytes", JOB_CMD_MAX);
		return -EINVAL;
	}
	StoreJob sj = { .name = name, .schedule = schedule, .cmd = cmd,
	                .created_ns = wall_now_ns() };
	if ((rc = store_job_create(js->store, &sj, why, n)) < 0)
		return rc;
	Job *j = job_add(js, &sj, &c, z);
	VLOG(1, "job %s created: '%s' '%s'", name, schedule, cmd);
	if (out)
		*out = j;
	return 0;
}

int jobs_start(Jobs *js, Job *j, char *why, size_t n)
{
	if (j->started)
		return 0;
	/* The state and its log line in one transaction: a crash leaves both or neither. */
	int rc = store_job_set_started_log(js->store, j->id, 1, wall_now_ns(), "started", 7, why, n);
	if (rc < 0)
		return rc;
	j->started = 1;
	j->vers_ctl++;
	j->vers_log++;
	j->mtime = wall_now_ns() / 1000000000;
	schedule_after(js, j, wall_now_ns() / 1000000000);
	arm(js);
	VLOG(1, "job %s started", j->name);
	return 0;
}

int jobs_stop(Jobs *js, Job *j, char *why, size_t n)
{
	if (!j->started)
		return 0;
	int rc = store_job_set_started_log(js->store, j->id, 0, wall_now_ns(), "completed", 9, why,
	                                   n);
	if (rc < 0)
		return rc;
	j->started = 0;
	j->vers_ctl++;
	j->vers_sched++;
	j->vers_log++;
	j->mtime = wall_now_ns() / 1000000000;
	heap_remove(&js->heap, j);
	j->next = CRON_NEVER;
	arm(js);
	VLOG(1, "job %s stopped", j->name);
	return 0;
}

static void on_kill_timer(uv_timer_t *t)
{
	Jobs *js = t->data;
	for (size_t i = 0; i < js->nlist; i++)
		if (js->list[i]->run) {
			LOGW("job %s: run (pid %d) outlived the %lld ms grace period; killing it",
			     js->list[i]->name, js->list[i]->run_pid, (long long)js->cfg.kill_grace_ms);
			run_kill(js->list[i]->run, SIGKILL);
		}
}

void jobs_shutdown(Jobs *js, void (*done)(void *), void *arg)
{
	js->shutting = 1;
	uv_timer_stop(&js->timer);
	if (js->stepfd >= 0)
		uv_poll_stop(&js->steppoll);
	js->done = done;
	js->done_arg = arg;
	if (js->running == 0) {
		js->done = NULL;
		done(arg);
		return;
	}
	/* Running children are asked to stop (SIGTERM to the group), then killed
	 * after the grace period; each run's end is recorded before we exit. */
	for (size_t i = 0; i < js->nlist; i++)
		if (js->list[i]->run)
			run_kill(js->list[i]->run, SIGTERM);
	uv_timer_start(&js->killtimer, on_kill_timer, (uint64_t)js->cfg.kill_grace_ms, 0);
}

/* The table is freed once libuv has released both timers. */
static void handle_closed(uv_handle_t *h)
{
	Jobs *js = h->data;
	if (--js->closing_handles == 0)
		free(js);
}

void jobs_free(Jobs *js)
{
	for (size_t i = 0; i < js->nlist; i++) {
		if (js->list[i]->run)
			run_detach(js->list[i]->run);
		job_free(js->list[i]);
	}
	free(js->list);
	free(js->hash);
	free(js->heap.v);
	zonecache_free(&js->zones);
	js->list = NULL;
	js->hash = NULL;
	js->heap.v = NULL;
	js->closing_handles = 2;
	if (js->stepfd >= 0) {
		js->closing_handles++;
		uv_close((uv_handle_t *)&js->steppoll, handle_closed);
		close(js->stepfd);
	}
	uv_close((uv_handle_t *)&js->timer, handle_closed);
	uv_close((uv_handle_t *)&js->killtimer, handle_closed);
}
