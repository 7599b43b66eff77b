/* Changes made by other nodes of a cluster (doc/cluster.md, "One name
 * space"): the store's cache already holds the job as the database has it
 * (src/cluster/ put it there); the table follows it here, writing nothing
 * back. This node's own changes come back the same way, and applying one
 * again changes nothing but the counters that wake readers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jobs_int.h"
#include "util/log.h"

static int same(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* *field becomes v (a copy); 1 if it changed. */
static int take(char **field, const char *v)
{
	if (same(*field, v))
		return 0;
	free(*field);
	*field = xstrdup(v ? v : "");
	return 1;
}

/* The schedule, parsed here again (the node that took it parsed it too; a
 * zone this host lacks leaves the job unscheduled here, said once). */
static void take_schedule(Jobs *js, Job *j, const char *schedule)
{
	char why[256];
	Cron c;
	const Zone *z = NULL;
	memset(&c, 0, sizeof c);
	take(&j->schedule, schedule);
	if (!*schedule) {
		j->has_cron = 0;
		return;
	}
	if (jobs_parse_schedule(js, schedule, &c, &z, why, sizeof why) < 0) {
		LOGE("job %s: schedule '%s' from the cluster does not parse here (%s); not "
		     "scheduled on this node", j->name, schedule, why);
		j->has_cron = 0;
		return;
	}
	j->cron = c;
	j->zone = z;
	j->has_cron = 1;
}

/* A job this node did not know: made elsewhere (or the winner of a name
 * that this node's create lost: the loser goes). */
static void arrive(Jobs *js, const StoreJob *sj, int64_t now)
{
	Job *old = jobs_lookup(js, sj->name, strlen(sj->name));
	if (old) {
		LOGW("job %s: another node made a job of this name first; it takes this node's "
		     "place", sj->name);
		job_drop(js, old);
	}
	Job *j = job_from_row(js, sj);
	job_event(js, j, "job.created", "owner=%u", j->owner);
	if (j->started) {
		sched_after(js, j, now);
		sched_arm(js);
	}
}

void jobs_apply(Jobs *js, int64_t id, const StoreJob *sj)
{
	Job *j = jobs_by_id(js, id);
	int64_t now = jobs_clock_ns(js) / 1000000000;
	if (sj == NULL) {
		if (j) {
			VLOG(1, "job %s deleted on another node", j->name);
			job_drop(js, j);
		}
		return;
	}
	if (j == NULL) {
		arrive(js, sj, now);
		return;
	}
	int resched = 0, settings = 0;
	if (!same(j->schedule, sj->schedule)) {
		take_schedule(js, j, sj->schedule);
		resched = settings = 1;
	}
	settings |= take(&j->cmd, sj->cmd) | take(&j->dir, sj->dir) | take(&j->env, sj->env) |
	            take(&j->limits, sj->limits);
	if (j->timeout_ms != sj->timeout_ms || j->overlap != sj->overlap ||
	    j->misfire != sj->misfire || j->orphan != sj->orphan) {
		j->timeout_ms = sj->timeout_ms;
		j->overlap = sj->overlap;
		j->misfire = sj->misfire;
		j->orphan = sj->orphan;
		settings = 1;
	}
	/* The history is the cluster's: every node's runs count. */
	j->runs_total = sj->runs_total;
	j->failures_total = sj->failures_total;
	j->last_start_ns = sj->last_start_ns;
	j->last_end_ns = sj->last_end_ns;
	j->last_status = sj->last_status;
	if (sj->last_sched > j->last_sched)
		j->last_sched = sj->last_sched;
	int started = sj->started && j->has_cron;
	if (started != j->started) {
		j->started = started;
		j->changes.state++;
		job_event(js, j, started ? "job.started" : "job.stopped", NULL);
		resched = 1;
	}
	if (resched) {
		if (j->started) {
			sched_after(js, j, now);
		} else {
			heap_remove(&js->heap, j);
			j->next = CRON_NEVER;
			j->changes.schedule++;
		}
		sched_arm(js);
	}
	if (settings) {
		j->changes.settings++;
		j->mtime = now;
	}
	/* Its log or runs may have grown elsewhere: readers look again. */
	j->changes.log++;
	j->changes.runs++;
	job_touch(js, j);
}

/* ---- fires in a cluster ----
 *
 * A fire is claimed by the database, with its run's row and number, in one
 * statement (cluster/fire.c); the claim's answer comes a round trip later,
 * and the job may be gone by then: it is looked up by id again. A fire not
 * yet due by the database's clock (this host's runs a little ahead) is asked
 * again shortly. The start of a claimed fire is asked of the database too
 * (the claim still this node's, its lease valid); meanwhile the job counts
 * the start as under way (Job.launching), so the overlap policy sees it. */

enum { NOT_DUE_RETRY_MS = 20, NOT_DUE_TRIES = 100 };

/* How much later than the node before it in the instant's order
 * (JobsCluster.rank, cluster/rank.c) a node claims a scheduled instant.
 * The first node's claim has usually won by then, and the later ones find
 * the instant taken without waiting on the job's row. An instant whose
 * first node died (its lease not yet over) starts this much later. */
enum { CLAIM_STEP_MS = 250, CLAIM_STEP_MAX = 3 };

typedef struct Pending {
	Jobs *js;
	int64_t job_id, sched, run_id, seq;
	int manual, tries;
	uv_timer_t retry;
} Pending;

static void pending_closed(uv_handle_t *h)
{
	free(h->data);
}

static void pending_free(Pending *p)
{
	uv_close((uv_handle_t *)&p->retry, pending_closed);
}

static int ask_claim(Pending *p);

static void on_retry(uv_timer_t *t)
{
	Pending *p = t->data;
	/* jobd is stopping: its claims are not made, and the cluster's
	 * connections may be gone already (a claim waiting its turn when
	 * SIGTERM came; before, this called into a closed cluster). */
	if (p->js->shutting) {
		pending_free(p);
		return;
	}
	/* A claim that waited (its turn, or the database's clock) for an
	 * instant the cache already knows a run of: another node has it, and
	 * the statement would only say so. */
	if (p->sched != 0 && store_fire_known(p->js->store, p->job_id, p->sched)) {
		VLOG(2, "job %lld: fire at %lld taken by another node (known here)",
		     (long long)p->job_id, (long long)p->sched);
		pending_free(p);
		return;
	}
	if (ask_claim(p) < 0)
		pending_free(p);
}

static void on_claim(void *arg, int rc, int64_t seq, const char *busy, const char *why)
{
	Pending *p = arg;
	Jobs *js = p->js;
	Job *j = jobs_by_id(js, p->job_id);
	char w[256];
	if (j == NULL || js->shutting) {
		pending_free(p);                /* deleted, or stopping: nothing to start */
		return;
	}
	if (rc == -EAGAIN && ++p->tries < NOT_DUE_TRIES) {
		uv_timer_start(&p->retry, on_retry, NOT_DUE_RETRY_MS, 0);
		return;
	}
	if (rc == 0) {
		VLOG(2, "job %s: fire at %lld not claimed: %s", j->name, (long long)p->sched,
		     why && *why ? why : "taken by another node");
	} else if (rc < 0) {
		LOGE("job %s: cannot claim fire at %lld: %s", j->name, (long long)p->sched, why);
	} else if (store_fire_put(js->store, j->id, p->sched, p->run_id, seq, w, sizeof w) < 0) {
		LOGE("job %s: cannot record the fire at %lld: %s", j->name, (long long)p->sched, w);
	} else {
		runs_claimed(js, j, p->run_id, seq, p->sched, busy);
	}
	pending_free(p);
}

static int ask_claim(Pending *p)
{
	Jobs *js = p->js;
	return js->cluster.claim(js->cluster.arg, p->job_id, p->sched, p->run_id, on_claim, p);
}

/* ---- claims after the start is durable ----
 * The database refuses claims of a job it holds stopped (cluster/fire.c):
 * that is how a stop reaches every node at once. So a claim must not reach
 * the database before the start that allows it: a start is written with the
 * turn's batch, and while an earlier batch is in flight it is not even
 * sent; an instant due meanwhile (the first after the start, a clock step's)
 * would be refused, and lost. Such a claim waits here, in order, until the
 * start's batch has committed, and is then made if the job is still started
 * (it may have been stopped meanwhile). A stop's batch needs no wait: the
 * job is stopped here at once and claims nothing. */

typedef struct Deferred {
	int64_t job_id, sched;
	struct Deferred *next;
} Deferred;

static void defer(Jobs *js, Job *j, int64_t sched)
{
	Deferred *d = xcalloc(1, sizeof *d);
	d->job_id = j->id;
	d->sched = sched;
	*(js->deferred_tail ? js->deferred_tail : &js->deferred) = d;
	js->deferred_tail = &d->next;
	VLOG(2, "job %s: fire at %lld waits for the job's start to be committed", j->name,
	     (long long)sched);
}

void jobs_sealed(Jobs *js)
{
	js->sealed = js->batch++;
	js->claims_unsealed = 0;
}

void jobs_durable(Jobs *js)
{
	js->durable = js->sealed;
	Deferred *d = js->deferred;
	js->deferred = NULL;
	js->deferred_tail = NULL;
	while (d) {
		Deferred *next = d->next;
		Job *j = jobs_by_id(js, d->job_id);
		if (j && j->started && !js->shutting)
			cluster_fire(js, j, d->sched);
		free(d);
		d = next;
	}
}

int jobs_awaiting_durable(const Jobs *js)
{
	return js->deferred != NULL || js->claims_unsealed;
}

void remote_fini(Jobs *js)
{
	while (js->deferred) {
		Deferred *next = js->deferred->next;
		free(js->deferred);
		js->deferred = next;
	}
	js->deferred_tail = NULL;
}

int cluster_fire(Jobs *js, Job *j, int64_t sched)
{
	if (sched != 0 && j->started_batch > js->durable) {
		defer(js, j, sched);
		return 0;
	}
	int64_t run_id = js->cluster.new_id(js->cluster.arg);
	if (run_id == 0) {
		LOGE("job %s: cannot claim fire at %lld: no id for its run (the database is "
		     "unreachable)", j->name, (long long)sched);
		return -ENOTCONN;
	}
	Pending *p = xcalloc(1, sizeof *p);
	p->js = js;
	p->job_id = j->id;
	p->sched = sched;
	p->run_id = run_id;
	p->manual = sched == 0;
	uv_timer_init(js->loop, &p->retry);
	p->retry.data = p;
	unsigned rank = sched != 0 && js->cluster.rank ? js->cluster.rank(js->cluster.arg, j->id,
	                                                                   sched) : 0;
	if (rank > 0) {
		/* Not this node's turn first: tried later (on_retry). A manual run
		 * is this node's alone, and never waits. */
		if (rank > CLAIM_STEP_MAX)
			rank = CLAIM_STEP_MAX;
		uv_timer_start(&p->retry, on_retry, (uint64_t)rank * CLAIM_STEP_MS, 0);
		return 0;
	}
	int rc = ask_claim(p);
	if (rc < 0) {
		/* A node without a lease claims nothing: not an error of the job's. */
		VLOG(1, "job %s: fire at %lld not claimed here: %s", j->name, (long long)sched,
		     strerror(-rc));
		pending_free(p);
	}
	return rc;
}

static void on_fenced(void *arg, int ok, const char *why)
{
	Pending *p = arg;
	Jobs *js = p->js;
	Job *j = jobs_by_id(js, p->job_id);
	if (j)
		j->launching--;
	if (j && ok == 1 && !js->shutting) {
		runs_launch_now(js, j, p->run_id, p->seq, p->sched, p->manual);
	} else if (j && ok != 0) {
		/* Still this node's claim (jobd is stopping), or no answer that
		 * counts (the lease ran out before the database's yes came, or no
		 * answer came): never started, and recorded so, at most once. */
		job_logf(js, j, p->run_id, "not started: %s",
		         ok == 1 ? "jobd is shutting down" : why);
		runs_unstarted(js, j, p->run_id, RUN_SKIPPED, 0);
	} else if (j) {
		/* Refused: the claim is not this node's any more (it was cut off or
		 * paused past its lease, and another node took it over and may have
		 * run it): its run's row is that node's to write now. */
		LOGW("job %s: run %lld not started here: %s", j->name, (long long)p->seq, why);
	}
	pending_free(p);
}

void cluster_launch(Jobs *js, Job *j, int64_t run_id, int64_t seq, int64_t sched, int manual)
{
	Pending *p = xcalloc(1, sizeof *p);
	p->js = js;
	p->job_id = j->id;
	p->sched = sched;
	p->run_id = run_id;
	p->seq = seq;
	p->manual = manual;
	uv_timer_init(js->loop, &p->retry);
	p->retry.data = p;
	j->launching++;
	int rc = js->cluster.start(js->cluster.arg, j->id, sched, on_fenced, p);
	if (rc < 0)
		on_fenced(p, rc, strerror(-rc));
}

void jobs_cluster(Jobs *js, const JobsCluster *c)
{
	js->cluster = *c;
	js->lead_ns = 0;            /* claims are judged by the database's clock, on the dot */
}

/* ---- what the reaper found ---- */

void jobs_adopt(Jobs *js, int64_t job_id, int64_t sched, int64_t run_id, int64_t seq)
{
	char why[256];
	Job *j = jobs_by_id(js, job_id);
	if (j == NULL || js->shutting)
		return;                 /* gone meanwhile: nothing to run */
	if (store_fire_put(js->store, j->id, sched, run_id, seq, why, sizeof why) < 0) {
		LOGE("job %s: cannot record the fire at %lld taken over: %s", j->name, (long long)sched,
		     why);
		return;
	}
	job_logf(js, j, 0, "run %lld: taken over from a node that stopped", (long long)seq);
	runs_claimed(js, j, run_id, seq, sched, NULL);
}

void jobs_lost(Jobs *js, int64_t job_id, int64_t sched, const char *node)
{
	Job *j = jobs_by_id(js, job_id);
	if (j == NULL)
		return;
	job_logf(js, j, 0, "the run of %lld was lost: node %s stopped while it ran", (long long)sched,
	         node);
	job_event(js, j, "run.lost", "sched=%lld node=%s", (long long)sched, node);
	j->changes.runs++;
	job_touch(js, j);
}
