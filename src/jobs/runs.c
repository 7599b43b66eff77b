/* A fire, from claim to record: the overlap policy, the child, its output,
 * its timeout, kill, and its end. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs_int.h"
#include "util/log.h"

extern char **environ;

static void run_end_record(JobRun *r, int status);
_Static_assert(LIMIT_N <= RUN_LIMITS_MAX, "a job's limits must fit in a RunSpec");

/* ---- the child's environment ---- */

/* A run's environment, first come first kept: JOBD_JOB, JOBD_SCHEDULED,
 * JOBD_RUN; the job's env lines; for a run as its owner, the owner's HOME,
 * USER, LOGNAME and SHELL from the passwd database; then jobd's own
 * environment (without JOBD_*). The strings are borrowed: from environ, the
 * job's env copy in hold, the owner's in own, and the caller's buffers. */
typedef struct Env {
	char **v;
	size_t n, cap;
} Env;

static void env_add(Env *e, char *kv)
{
	size_t klen = strcspn(kv, "=");
	for (size_t i = 0; i < e->n; i++)
		if (strncmp(e->v[i], kv, klen) == 0 && e->v[i][klen] == '=')
			return;         /* set already, by something that comes first */
	if (e->n + 1 >= e->cap) {
		e->cap = e->cap ? e->cap * 2 : 64;
		e->v = xrealloc(e->v, e->cap * sizeof *e->v);
	}
	e->v[e->n++] = kv;
	e->v[e->n] = NULL;
}

/* jobd's own environment without JOBD_* and without a second value of a
 * name (the first is kept): what ends every run's environment. Worked out
 * once (jobd does not change its environment; if environ is replaced, again):
 * a run then checks each of these names only against the few set before
 * them (env_own), not against each other. */
static char **own_env(size_t *count)
{
	static char **v, **from;
	static size_t n;
	if (v && from == environ) {
		*count = n;
		return v;
	}
	Env e = { 0 };
	for (char **p = environ; p && *p; p++)
		if (strncmp(*p, "JOBD_", 5) != 0)
			env_add(&e, *p);
	free(v);
	v = e.v;
	n = e.n;
	from = environ;
	*count = n;
	return v;
}

/* jobd's own environment after what the run sets first (the first n0
 * entries of e, which own_env's names do not repeat among themselves). */
static void env_own(Env *e)
{
	size_t n0 = e->n, n;
	char **own = own_env(&n);
	size_t klen[n0 ? n0 : 1];
	for (size_t i = 0; i < n0; i++)
		klen[i] = strcspn(e->v[i], "=");
	for (size_t k = 0; k < n; k++) {
		const char *kv = own[k];
		size_t len = strcspn(kv, "=");
		size_t i = 0;
		while (i < n0 && (klen[i] != len || memcmp(e->v[i], kv, len) != 0))
			i++;
		if (i < n0)
			continue;       /* set already, by something that comes first */
		if (e->n + 1 >= e->cap) {
			e->cap = e->cap ? e->cap * 2 : 64;
			e->v = xrealloc(e->v, e->cap * sizeof *e->v);
		}
		e->v[e->n++] = (char *)kv;
		e->v[e->n] = NULL;
	}
}

/* KEY=value lines, each ending in a newline (env_parse's canonical text);
 * the newlines become NULs. */
static void env_add_lines(Env *e, char *lines)
{
	for (char *p = lines; *p;) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = 0;
		env_add(e, p);
		if (!nl)
			break;
		p = nl + 1;
	}
}

/* ---- output (text.c) ---- */

static void on_line(void *arg, const char *text, size_t len)
{
	text_run_line(arg, 0, text, len);
}

static void on_errline(void *arg, const char *text, size_t len)
{
	text_run_line(arg, 1, text, len);
}

/* ---- timers: timeout, the grace period before SIGKILL, giving up ---- */

enum { RUN_LIVE, RUN_GRACE, RUN_KILLED };

/* Shutting down, how long after SIGKILL a run's output may still be held
 * open (by something out of reach: a process that left its cgroup, or one
 * stuck in the kernel) before jobd records the run's end anyway and goes on:
 * the grace period again, at least a second. So a shutdown takes at most
 * about twice -killgrace. */
static uint64_t giveup_ms(const Jobs *js)
{
	return js->cfg.kill_grace_ms > 1000 ? (uint64_t)js->cfg.kill_grace_ms : 1000;
}

static void on_run_timer(uv_timer_t *t)
{
	JobRun *r = t->data;
	switch (r->phase) {
	case RUN_LIVE:
		/* The timeout. */
		r->timed_out = 1;
		if (r->job) {
			char d[32];
			duration_format(r->job->timeout_ms, d, sizeof d);
			job_logf(r->js, r->job, r->run_id, "timed out after %s", d);
		}
		run_kill(r->run, SIGTERM);
		r->phase = RUN_GRACE;
		uv_timer_start(&r->timer, on_run_timer, (uint64_t)r->js->cfg.kill_grace_ms, 0);
		return;
	case RUN_GRACE:
		LOGW("job %s: run %lld (pid %d)%s outlived the %lld ms grace period; SIGKILL", r->name,
		     (long long)r->seq, r->pid, r->ended ? ", what it left behind," : "",
		     (long long)r->js->cfg.kill_grace_ms);
		run_kill(r->run, SIGKILL);
		r->phase = RUN_KILLED;
		if (r->js->shutting)
			uv_timer_start(&r->timer, on_run_timer, giveup_ms(r->js), 0);
		return;
	default:
		/* Shutting down, and SIGKILL did not end it: its output or cgroup
		 * is held by something out of reach. done and gone come now. */
		LOGW("job %s: run %lld (pid %d): %s %llu ms after SIGKILL; recording %s and exiting",
		     r->name, (long long)r->seq, r->pid,
		     r->ended ? "processes it left are still there" : "its output is still held open",
		     (unsigned long long)giveup_ms(r->js), r->ended ? "nothing more" : "its end");
		if (r->job && !r->ended)
			job_logf(r->js, r->job, r->run_id, "jobd stopped: output still held open after "
			         "SIGKILL; end recorded without waiting for it");
		run_abandon(r->run);
	}
}

/* SIGTERM now, SIGKILL after the grace period unless it has ended by then.
 * Shutting down, a run that had SIGKILL already gets a last wait. */
static void terminate(JobRun *r)
{
	run_kill(r->run, SIGTERM);
	if (r->phase == RUN_LIVE) {
		r->phase = RUN_GRACE;
		uv_timer_start(&r->timer, on_run_timer, (uint64_t)r->js->cfg.kill_grace_ms, 0);
	} else if (r->phase == RUN_KILLED && r->js->shutting && !uv_is_active((uv_handle_t *)&r->timer)) {
		uv_timer_start(&r->timer, on_run_timer, giveup_ms(r->js), 0);
	}
}

/* ---- start and end ---- */

static void unlink_run(JobRun *r)
{
	JobRun **p = r->job ? &r->job->runs : &r->js->orphans;
	for (; *p; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			break;
		}
	if (r->job)
		r->job->nrunning--;
}

static void timer_closed(uv_handle_t *h)
{
	JobRun *r = h->data;
	free(r->name);
	free(r);
}

/* Nothing of the run is left. */
static void on_gone(void *arg)
{
	JobRun *r = arg;
	Jobs *js = r->js;
	for (JobRun **p = &js->left; *p; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			break;
		}
	uv_timer_stop(&r->timer);
	uv_close((uv_handle_t *)&r->timer, timer_closed);
	jobs_maybe_done(js);
}

static void spawn(Jobs *js, Job *j, int64_t run_id, int64_t seq, int64_t sched, int manual);

static void launch(Jobs *js, Job *j, int64_t run_id, int64_t seq, int64_t sched, int manual);

static void start_queued(Jobs *js, Job *j)
{
	while (j->nqueue && j->nrunning == 0 && j->launching == 0) {
		QueuedFire q = j->queue[0];
		memmove(&j->queue[0], &j->queue[1], (j->nqueue - 1) * sizeof j->queue[0]);
		j->nqueue--;
		launch(js, j, q.run_id, q.seq, q.sched, q.manual);
	}
}

/* Each ended run that left processes behind holds a directory, a descriptor
 * and an inotify watch (from root's budget, which every root daemon shares)
 * until they exit. One owner may have LEFT_MAX such runs; past that, what
 * the oldest of them left is killed (and logged): an owner who keeps
 * starting daemons cannot exhaust jobd, nor touch another owner's. O(runs
 * on the list), once per run end. */
enum { LEFT_MAX = 32 };

static void cap_left(Jobs *js, uint32_t owner)
{
	unsigned count = 0;
	JobRun *oldest = NULL;
	for (JobRun *r = js->left; r; r = r->next)
		if (r->owner == owner && !r->killed) {
			count++;
			oldest = r;
		}
	if (count <= LEFT_MAX || !oldest)
		return;
	oldest->killed = 1;
	LOGW("job %s: uid %u has more than %d ended runs with processes left behind; killing "
	     "what run %lld left", oldest->name, owner, LEFT_MAX, (long long)oldest->seq);
	if (oldest->job)
		job_logf(js, oldest->job, 0, "killed the processes run %lld left behind: more than "
		         "%d ended runs of uid %u had processes left", (long long)oldest->seq,
		         LEFT_MAX, owner);
	run_kill(oldest->run, SIGKILL);
}

/* The run ended: recorded now. It stays on js->left until gone, as what it
 * leaves behind in its cgroup is still reached by kill, delete and shutdown;
 * its timeout is over (it was the run's), a grace period goes on. */
static void on_done(void *arg, int status)
{
	JobRun *r = arg;
	Jobs *js = r->js;
	Job *j = r->job;
	if (r->phase == RUN_LIVE)
		uv_timer_stop(&r->timer);
	run_end_record(r, status);
	unlink_run(r);
	js->running--;
	r->ended = 1;
	r->next = js->left;
	js->left = r;
	cap_left(js, r->owner);
	if (j) {
		j->changes.state++;
		j->changes.runs++;
		if (!js->shutting)
			start_queued(js, j);
	}
	jobs_maybe_done(js);
}

/* "run 7 ended: exit 0 in 1.2s", "run 7 ended: signal KILL in 3m2s": in the
 * job's log only, after the run's last output (text_end_run stored it). */
static void log_end(Jobs *js, Job *j, int64_t seq, int status, int64_t ns)
{
	char d[32];
	duration_short(ns, d, sizeof d);
	if (status >= 0)
		job_logf(js, j, 0, "run %lld ended: exit %d in %s", (long long)seq, status, d);
	else
		job_logf(js, j, 0, "run %lld ended: signal %s in %s", (long long)seq,
		         signal_name(-status), d);
	char st[32];
	if (status >= 0)
		snprintf(st, sizeof st, "exit:%d", status);
	else
		snprintf(st, sizeof st, "signal:%s", signal_name(-status));
	job_event(js, j, "run.ended", "run=%lld status=%s duration=%s", (long long)seq, st, d);
	job_touch(js, j);
}

static void run_end_record(JobRun *r, int status)
{
	Jobs *js = r->js;
	Job *j = r->job;
	char why[256];
	int64_t end = wall_now_ns();
	double secs = (double)(end - r->start_ns) / 1e9;
	js->stats.duration_count++;
	js->stats.duration_sum += secs;
	size_t b = 0;
	while (b < 11 && secs > jobs_duration_bounds[b])
		b++;
	js->stats.duration_buckets[b]++;
	if (status != 0)
		js->stats.runs_failed++;
	VLOG(2, "job %s: run %lld (pid %d) ended with status %d", r->name, (long long)r->seq, r->pid, status);
	if (!j) {
		text_end_run(r);        /* deleted: its rows are gone, its text goes */
		return;
	}
	if (r->dropped)
		job_logf(js, j, r->run_id, "output truncated: %lld bytes dropped (cap %lld bytes)",
		         (long long)r->dropped, (long long)js->cfg.max_output);
	if (status > 0)
		job_logf(js, j, r->run_id, "exit status %d", status);
	else if (status < 0)
		job_logf(js, j, r->run_id, "signal: %s", signal_name(-status));
	/* Its output, its end, its job's history and retention: one batch.
	 * The job's lines go to the store before its row is saved, which then
	 * writes where its log ends too (store_sqlite.c, "counts"). */
	text_end_run(r);
	log_end(js, j, r->seq, status, end - r->start_ns);
	text_flush_job(js, j);
	StoreRunEnd e = {
		.run_id = r->run_id, .state = RUN_DONE, .end_ns = end, .status = status,
		.flags = (r->timed_out ? RUNF_TIMEDOUT : 0) | (r->killed ? RUNF_KILLED : 0) |
		         (r->dropped ? RUNF_TRUNCATED : 0),
	};
	if (store_run_end(js->store, &e, why, sizeof why) < 0)
		LOGE("job %s: cannot record end of run %lld: %s", j->name, (long long)r->seq, why);
	j->runs_total++;
	j->failures_total += status != 0;
	j->last_end_ns = end;
	j->last_status = status;
	if (job_save(js, j, why, sizeof why) < 0)
		LOGE("job %s: cannot record its history: %s", j->name, why);
	if (j->kept.runs >= 0) {
		j->kept.runs++;
		j->kept.bytes += r->out_bytes;
	}
	if (store_runs_retain(js->store, j->id, js->cfg.keep_runs, js->cfg.keep_bytes, &j->kept,
	                      why, sizeof why) < 0) {
		j->kept.runs = -1;
		LOGE("job %s: cannot trim old runs: %s", j->name, why);
	}
}

/* A run that never started: skipped (overlap) or impossible (spawn failed). */
static void end_unstarted(Jobs *js, Job *j, int64_t run_id, int state, int status)
{
	char why[256];
	StoreRunEnd e = { .run_id = run_id, .state = state, .end_ns = wall_now_ns(), .status = status };
	if (store_run_end(js->store, &e, why, sizeof why) < 0)
		LOGE("job %s: cannot record run: %s", j->name, why);
	/* One finished run more (its few bytes, a line of jobd's, are not
	 * counted: the next count from the store has them). */
	if (j->kept.runs >= 0)
		j->kept.runs++;
	j->changes.runs++;
	job_touch(js, j);
}

void runs_unstarted(Jobs *js, Job *j, int64_t run_id, int state, int status)
{
	end_unstarted(js, j, run_id, state, status);
}

/* What a child is started with, and what has to be freed after. */
typedef struct Launch {
	RunSpec spec;
	Env env;
	char e_job[JOB_NAME_MAX + 16], e_sched[48], e_run[48];
	char *hold, *own, *user, *home;
	int pam_rc;
} Launch;

/* The owner's identity and environment, for a run as its owner (jobd is
 * root): uid, gid, groups, HOME, USER, LOGNAME, SHELL, HOME as the directory
 * unless the job names one, and the PAM account check. The identity is the
 * passwd and group databases' as of this run: a user removed a moment ago
 * must not run (run_owner keeps an owner's only while their files are
 * unchanged, and for a second at most; run/owner.c). */
static int launch_owner(Jobs *js, Job *j, Launch *L, char *why, size_t n)
{
	const RunOwner *o;
	int rc = run_owner(j->owner, &o, why, n);
	if (rc < 0)
		return rc;
	L->home = xstrdup(*o->home ? o->home : "/");
	L->user = xstrdup(o->name);
	const char *shell = *o->shell ? o->shell : "/bin/sh";
	size_t len = strlen(L->home) + strlen(shell) + 2 * strlen(L->user) + 64;
	L->own = xmalloc(len);
	snprintf(L->own, len, "HOME=%s\nUSER=%s\nLOGNAME=%s\nSHELL=%s\n", L->home, L->user,
	         L->user, shell);
	L->spec.user = L->user;
	L->spec.uid = o->uid;
	L->spec.gid = o->gid;
	L->spec.groups = o->groups;
	L->spec.ngroups = o->ngroups;
	if (!*j->dir) {
		/* A HOME that cannot be entered (never created) gives "/". */
		L->spec.dir = L->home;
		L->spec.dir_optional = 1;
	}
	env_add_lines(&L->env, L->own);
	/* The administrator's account policy and session (run/pam.c). */
	if (js->cfg.pam_service)
		return L->pam_rc = run_pam_new(js->cfg.pam_service, js->cfg.pam_dir, L->user,
		                               &L->spec.pam, why, n);
	return 0;
}

/* The whole RunSpec: environment (first come first kept: JOBD_JOB,
 * JOBD_SCHEDULED in unix s, JOBD_RUN; the job's env; the owner's; PAM's;
 * jobd's own without JOBD_*), identity, directory, limits. */
static int launch_prepare(Jobs *js, Job *j, JobRun *r, Launch *L, char *why, size_t n)
{
	snprintf(L->e_job, sizeof L->e_job, "JOBD_JOB=%s", j->name);
	snprintf(L->e_sched, sizeof L->e_sched, "JOBD_SCHEDULED=%lld", (long long)r->sched);
	snprintf(L->e_run, sizeof L->e_run, "JOBD_RUN=%lld", (long long)r->seq);
	env_add(&L->env, L->e_job);
	env_add(&L->env, L->e_sched);
	env_add(&L->env, L->e_run);
	L->hold = xstrdup(j->env);
	env_add_lines(&L->env, L->hold);
	L->spec.cmd = j->cmd;
	L->spec.dir = *j->dir ? j->dir : "/";
	/* Claimed ahead of its instant (sched.c): the child waits for it. */
	/* On this host's wall clock (the spawner's): a cluster's instants are
	 * the database's clock's. */
	int64_t off = js->cluster.offset_ns ? js->cluster.offset_ns(js->cluster.arg) : 0;
	L->spec.not_before_ns = r->sched > 0 ? r->sched * 1000000000 - off : 0;
	int rc = js->cfg.run_as_owner ? launch_owner(js, j, L, why, n) : 0;
	/* PAM's variables (pam_env) come after the job's and the owner's, before jobd's own. */
	L->spec.env_keep = L->env.n;
	env_own(&L->env);
	L->spec.env = L->env.v;
	Limits lim;
	if (rc == 0 && (rc = limits_parse(j->limits, &lim, NULL, why, n)) == 0)
		for (int i = 0; i < LIMIT_N; i++)
			if (lim.set & 1u << i)
				L->spec.limits[L->spec.nlimits++] = (RunLimit){
					limit_resource(i), lim.v[i] == LIMIT_UNLIMITED ? RUN_UNLIMITED : lim.v[i] };
	return rc;
}

static void launch_free(Launch *L)
{
	run_pam_free(L->spec.pam);  /* jobd's copy; the child has its own */
	free(L->env.v);
	free(L->hold);
	free(L->own);
	free(L->user);
	free(L->home);
}

/* jobd's log says when PAM starts refusing a job's owner, and when it
 * stops; in between, each refused run says so in its own output. */
static void pam_note(Jobs *js, Job *j, const Launch *L, const char *why)
{
	if (!js->cfg.pam_service || !L->spec.user)
		return;
	if (L->pam_rc < 0 && !j->pam_refused)
		LOGW("job %s: %s; its runs fail until that changes", j->name, why);
	else if (L->pam_rc == 0 && j->pam_refused)
		LOGI("job %s: PAM accepts %s again", j->name, L->user);
	j->pam_refused = L->pam_rc < 0;
}

static JobRun *jobrun_new(Jobs *js, Job *j, int64_t run_id, int64_t seq, int64_t sched,
                          int manual)
{
	JobRun *r = xcalloc(1, sizeof *r);
	r->js = js;
	r->job = j;
	r->owner = j->owner;
	r->name = xstrdup(j->name);
	r->run_id = run_id;
	r->seq = seq;
	r->sched = sched;
	r->manual = manual;
	uv_timer_init(js->loop, &r->timer);
	r->timer.data = r;
	return r;
}

/* The run is in progress from the spawn on (its child is being started):
 * counted, its timeout armed. */
static void running(Jobs *js, Job *j, JobRun *r)
{
	r->next = j->runs;
	j->runs = r;
	j->nrunning++;
	js->running++;
	js->stats.runs_started++;
	j->last_start_ns = r->start_ns;
	j->changes.state++;
	j->changes.runs++;
	if (j->timeout_ms > 0)
		uv_timer_start(&r->timer, on_run_timer, (uint64_t)j->timeout_ms, 0);
}

/* Its child has started (on the spawner thread, a moment after the spawn):
 * its pid and start are recorded. */
static void on_started(void *arg, int pid, int64_t start_ns)
{
	JobRun *r = arg;
	Jobs *js = r->js;
	Job *j = r->job;
	char why[256];
	r->pid = pid;
	r->start_ns = start_ns;
	if (!j)
		return;                 /* deleted meanwhile: its rows are gone */
	j->last_start_ns = start_ns;
	j->changes.state++;
	/* Who the process is, so that a jobd started after a crash can end what
	 * is left of this run without mistaking a process that reused the pid. */
	char proc[STORE_PROC_MAX];
	if (run_token(r->run, proc, sizeof proc) < 0)
		proc[0] = '\0';
	if (store_run_start(js->store, r->run_id, r->start_ns, r->pid, proc, why, sizeof why) < 0)
		LOGE("job %s: cannot record start of run %lld: %s", j->name, (long long)r->seq, why);
	/* The job's log only (run_id 0), not the run's output: what the run
	 * printed stays what it printed. */
	job_logf_held(js, j, "run %lld started, pid %d", (long long)r->seq, r->pid);
	job_event(js, j, "run.started", "run=%lld pid=%d", (long long)r->seq, r->pid);
	job_touch(js, j);
	VLOG(2, "job %s: run %lld started, pid %d", j->name, (long long)r->seq, r->pid);
}

static void spawn(Jobs *js, Job *j, int64_t run_id, int64_t seq, int64_t sched, int manual)
{
	char why[256];
	JobRun *r = jobrun_new(js, j, run_id, seq, sched, manual);
	Launch L = { 0 };
	RunCallbacks cb = { .line = on_line, .done = on_done, .gone = on_gone,
	                    .errline = on_errline, .started = on_started };
	int rc = launch_prepare(js, j, r, &L, why, sizeof why);
	if (rc == 0)
		rc = run_spawn(js->loop, &L.spec, &cb, r, &r->run, why, sizeof why);
	/* Until the child says when it started (on_started). */
	r->start_ns = wall_now_ns();
	pam_note(js, j, &L, why);
	launch_free(&L);
	if (rc < 0) {
		job_logf(js, j, run_id, "cannot run: %s", why);
		job_logf(js, j, 0, "run %lld ended: exit 127, not started", (long long)seq);
		job_event(js, j, "run.ended", "run=%lld status=exit:127 duration=0s", (long long)seq);
		end_unstarted(js, j, run_id, RUN_DONE, 127);
		j->runs_total++;
		j->failures_total++;
		js->stats.runs_failed++;
		uv_close((uv_handle_t *)&r->timer, timer_closed);
		return;
	}
	running(js, j, r);
}

/* The start of a claimed fire: where a cluster's node asks first whether
 * the claim is still its own (remote.c), and then spawns. */
static void launch(Jobs *js, Job *j, int64_t run_id, int64_t seq, int64_t sched, int manual)
{
	if (js->cluster.start)
		cluster_launch(js, j, run_id, seq, sched, manual);
	else
		spawn(js, j, run_id, seq, sched, manual);
}

/* A fire recorded skipped at its claim (runs_fire): what runs_claimed and
 * end_unstarted do for one, beyond its rows and line. */
static int64_t skipped(Jobs *js, Job *j, int64_t seq, int64_t sched)
{
	if (sched > j->last_sched)
		j->last_sched = sched;
	job_event(js, j, "run.skipped", "run=%lld", (long long)seq);
	if (j->kept.runs >= 0)
		j->kept.runs++;
	j->changes.runs++;
	job_touch(js, j);
	return seq;
}

void runs_launch_now(Jobs *js, Job *j, int64_t run_id, int64_t seq, int64_t sched, int manual)
{
	spawn(js, j, run_id, seq, sched, manual);
}

int64_t runs_fire(Jobs *js, Job *j, int64_t sched)
{
	char why[256];
	int64_t run_id, seq;
	if (js->cluster.claim) {
		cluster_fire(js, j, sched);             /* claimed by the database: remote.c */
		return 0;
	}
	/* Skipped at once (overlap skip, a run in progress): claimed, said and
	 * ended in one go, as runs_claimed would in three. Where jobs fire
	 * faster than they start, most fires are these. */
	int skip = j->overlap == OVERLAP_SKIP && (j->nrunning || j->nqueue || j->launching);
	int rc;
	if (skip) {
		char text[96];
		int k = snprintf(text, sizeof text, "skipped: previous run (pid %d) still running",
		                 j->runs ? j->runs->pid : 0);
		rc = job_log_skip(js, j, sched, text, (size_t)k, &run_id, &seq, why, sizeof why);
	} else {
		rc = store_fire_claim(js->store, j->id, sched, &run_id, &seq, why, sizeof why);
		/* Committed before its child starts (a lead ahead of the instant):
		 * a crash then cannot lose the claim of a run that went ahead, which
		 * the next start would replay. */
		js->claims_unsealed |= rc >= 0;
	}
	if (rc == -EALREADY) {
		VLOG(2, "job %s: fire at %lld already claimed", j->name, (long long)sched);
		return 0;
	}
	if (rc < 0) {
		LOGE("job %s: cannot %s fire at %lld: %s", j->name, skip ? "record skipped" : "claim",
		     (long long)sched, why);
		return 0;
	}
	return skip ? skipped(js, j, seq, sched) : runs_claimed(js, j, run_id, seq, sched, NULL);
}

int64_t runs_claimed(Jobs *js, Job *j, int64_t run_id, int64_t seq, int64_t sched,
                     const char *elsewhere)
{
	int manual = sched == 0;
	if (sched > j->last_sched)
		j->last_sched = sched;
	j->changes.runs++;
	/* A run of the job on another node of a cluster keeps a skip from
	 * starting; the other policies look at this node's runs only. */
	int busy_elsewhere = elsewhere && *elsewhere && j->overlap == OVERLAP_SKIP;
	if (j->nrunning == 0 && j->nqueue == 0 && j->launching == 0 && !busy_elsewhere) {
		launch(js, j, run_id, seq, sched, manual);
		return seq;
	}
	switch (j->overlap) {
	case OVERLAP_ALLOW:
		launch(js, j, run_id, seq, sched, manual);
		return seq;
	case OVERLAP_REPLACE:
		for (JobRun *r = j->runs; r; r = r->next) {
			r->killed = 1;
			terminate(r);
		}
		job_logf(js, j, run_id, "replacing the run in progress (pid %d)", j->runs ? j->runs->pid : 0);
		/* Only the newest waits: what it replaces is older. */
		for (unsigned i = 0; i < j->nqueue; i++) {
			job_event(js, j, "run.skipped", "run=%lld", (long long)j->queue[i].seq);
			end_unstarted(js, j, j->queue[i].run_id, RUN_SKIPPED, 0);
		}
		j->nqueue = 0;
		/* wait for the old run to end, as a queued fire */
		__attribute__((fallthrough));
	case OVERLAP_QUEUE:
		if (j->nqueue < JOB_QUEUE_MAX) {
			/* Most jobs never queue: the room is made the first time one does. */
			if (!j->queue)
				j->queue = xmalloc(JOB_QUEUE_MAX * sizeof *j->queue);
			j->queue[j->nqueue++] = (QueuedFire){ run_id, seq, sched, manual };
			job_event(js, j, "run.queued", "run=%lld", (long long)seq);
			if (j->overlap == OVERLAP_QUEUE)
				job_logf(js, j, run_id, "queued: previous run (pid %d) still running",
				         j->runs ? j->runs->pid : 0);
			start_queued(js, j);
			return seq;
		}
		job_logf(js, j, run_id, "skipped: %d runs already waiting", JOB_QUEUE_MAX);
		job_event(js, j, "run.skipped", "run=%lld", (long long)seq);
		end_unstarted(js, j, run_id, RUN_SKIPPED, 0);
		return seq;
	default:
		/* overlap=skip, the original's behaviour: never run a job alongside itself. */
		if (j->runs || !busy_elsewhere)
			job_logf(js, j, run_id, "skipped: previous run (pid %d) still running",
			         j->runs ? j->runs->pid : 0);
		else
			job_logf(js, j, run_id, "skipped: previous run still running on node %s",
			         elsewhere);
		job_event(js, j, "run.skipped", "run=%lld", (long long)seq);
		end_unstarted(js, j, run_id, RUN_SKIPPED, 0);
		return seq;
	}
}

int jobs_run_now(Jobs *js, Job *j, int64_t *seq, char *why, size_t n)
{
	if (!*j->cmd) {
		strfmt(why, n, "job %s has no command: write one to its cmd file", j->name);
		return -EINVAL;
	}
	if (js->shutting) {
		strfmt(why, n, "jobd is shutting down");
		return -ESHUTDOWN;
	}
	if (js->cluster.claim) {
		/* The number comes with the database's claim, a round trip later. */
		*seq = 0;
		int rc = cluster_fire(js, j, 0);
		if (rc < 0)
			strfmt(why, n, "job %s: the run cannot be claimed now: %s", j->name,
			       strerror(-rc));
		return rc;
	}
	*seq = runs_fire(js, j, 0);
	if (*seq == 0) {
		strfmt(why, n, "job %s: the run could not be recorded (jobd's log says why)", j->name);
		return -EIO;
	}
	return 0;
}

int jobs_kill(Jobs *js, Job *j, int sig, char *why, size_t n)
{
	int any = j->runs != NULL;
	for (JobRun *r = j->runs; r; r = r->next) {
		if (sig == 0) {
			r->killed = 1;
			job_logf(js, j, r->run_id, "killed on request (SIGTERM, then SIGKILL after %lld ms)",
			         (long long)js->cfg.kill_grace_ms);
			terminate(r);
		} else {
			run_kill(r->run, sig);
		}
	}
	/* What ended runs left in their cgroups. O(such runs, all jobs). */
	for (JobRun *r = js->left; r; r = r->next) {
		if (r->job != j)
			continue;
		any = 1;
		if (sig == 0) {
			job_logf(js, j, 0, "killed on request: the processes run %lld left behind "
			         "(SIGTERM, then SIGKILL after %lld ms)", (long long)r->seq,
			         (long long)js->cfg.kill_grace_ms);
			terminate(r);
		} else {
			run_kill(r->run, sig);
		}
	}
	if (!any) {
		strfmt(why, n, "job %s has no run in progress", j->name);
		return -ESRCH;
	}
	return 0;
}

void runs_orphan_all(Jobs *js, Job *j)
{
	JobRun *r = j->runs;
	while (r) {
		JobRun *next = r->next;
		r->job = NULL;
		text_end_run(r);        /* what it buffered goes with the job */
		r->killed = 1;
		terminate(r);
		r->next = js->orphans;
		js->orphans = r;
		r = next;
	}
	j->runs = NULL;
	j->nrunning = 0;
	j->nqueue = 0;
	/* What its ended runs left. O(such runs, all jobs). */
	for (r = js->left; r; r = r->next)
		if (r->job == j) {
			r->job = NULL;
			terminate(r);
		}
}

static void adopted_stopped(void *arg)
{
	Jobs *js = arg;
	js->adopted = 0;
	jobs_maybe_done(js);
}

/* Shutdown. Every run, in progress or ended with processes left in its
 * cgroup, gets SIGTERM and, after the grace period, SIGKILL; then, if its
 * output or cgroup is still held by something SIGKILL cannot reach, a last
 * wait (giveup_ms) before its end is recorded anyway. Without cgroups the
 * processes jobd adopted get the same (run_stop_adopted), which is what
 * reaches a run's escaped processes there. */
void runs_stop_all(Jobs *js)
{
	for (size_t i = 0; i < js->nlist; i++) {
		Job *j = js->list[i];
		for (JobRun *r = j->runs; r; r = r->next)
			terminate(r);
		for (unsigned q = 0; q < j->nqueue; q++)
			end_unstarted(js, j, j->queue[q].run_id, RUN_SKIPPED, 0);
		j->nqueue = 0;
	}
	for (JobRun *r = js->orphans; r; r = r->next)
		terminate(r);
	for (JobRun *r = js->left; r; r = r->next)
		terminate(r);
	js->adopted = run_stop_adopted(js->cfg.kill_grace_ms, adopted_stopped, js);
}

/* ---- looking at runs ---- */

static RunInfo live_info(const JobRun *r)
{
	RunInfo ri = {
		.run_id = r->run_id, .seq = r->seq, .sched = r->sched, .state = RUN_RUNNING,
		.start_ns = r->start_ns, .pid = r->pid, .manual = r->manual,
		.flags = (r->timed_out ? RUNF_TIMEDOUT : 0) | (r->killed ? RUNF_KILLED : 0) |
		         (r->dropped ? RUNF_TRUNCATED : 0),
		.out_bytes = r->out_bytes,
	};
	if (r->js->cluster.node)
		snprintf(ri.node, sizeof ri.node, "%s", r->js->cluster.node);
	return ri;
}

typedef struct Collect {
	Job *j;
	RunInfo *v;
	size_t n, cap;
} Collect;

static int collect(void *arg, const StoreRun *sr)
{
	Collect *c = arg;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->v = xrealloc(c->v, c->cap * sizeof *c->v);
	}
	RunInfo ri = {
		.run_id = sr->id, .seq = sr->seq, .sched = sr->sched, .state = sr->state,
		.start_ns = sr->start_ns, .end_ns = sr->end_ns, .status = sr->status, .pid = sr->pid,
		.manual = sr->manual, .flags = sr->flags, .out_bytes = sr->out_bytes,
	};
	snprintf(ri.node, sizeof ri.node, "%s", sr->node);
	for (JobRun *r = c->j->runs; r; r = r->next)
		if (r->run_id == sr->id)
			ri = live_info(r);
	c->v[c->n++] = ri;
	return 0;
}

int jobs_runs(Jobs *js, Job *j, RunInfo **v, size_t *count, char *why, size_t n)
{
	Collect c = { j, NULL, 0, 0 };
	int rc = store_runs_read(js->store, j->id, collect, &c, why, n);
	if (rc < 0) {
		free(c.v);
		return rc;
	}
	*v = c.v;
	*count = c.n;
	return 0;
}

int jobs_run_get(Jobs *js, Job *j, int64_t seq, RunInfo *out, char *why, size_t n)
{
	for (JobRun *r = j->runs; r; r = r->next)
		if (r->seq == seq) {
			*out = live_info(r);
			return 0;
		}
	StoreRun sr;
	char swhy[256];
	int rc = store_run_get(js->store, j->id, seq, &sr, swhy, sizeof swhy);
	if (rc == -ENOENT) {
		strfmt(why, n, "job %s has no run %lld", j->name, (long long)seq);
		return rc;
	}
	if (rc < 0) {
		strfmt(why, n, "%s", swhy);
		return rc;
	}
	Collect c = { j, NULL, 0, 0 };
	collect(&c, &sr);             /* the row, or the live run it still is */
	*out = c.v[0];
	free(c.v);
	return 0;
}
