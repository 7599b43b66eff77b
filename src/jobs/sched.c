/* The scheduler: one timer armed for the earliest fire over all jobs (a heap,
 * not a scan), wall-clock steps handled out loud, misfires at start-up. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "jobs_int.h"
#include "util/log.h"

const Zone *job_zone(Jobs *js, const Job *j) { return j->zone ? j->zone : js->zone; }

/* Where the next fire of a started job goes: strictly after `after`, and
 * never at or before a time already fired (the clock may have gone back). */
void sched_after(Jobs *js, Job *j, int64_t after)
{
	if (after < j->last_sched)
		after = j->last_sched;
	heap_remove(&js->heap, j);
	j->next = j->has_cron ? cron_next(&j->cron, after, 0, job_zone(js, j)) : CRON_NEVER;
	if (j->next <= after) {
		/* cron_next's contract; a violation would fire in a loop. */
		LOGE("job %s: next fire %lld not after %lld; not scheduling", j->name,
		     (long long)j->next, (long long)after);
		j->next = CRON_NEVER;
	}
	if (j->next != CRON_NEVER)
		heap_push(&js->heap, j);
	j->changes.schedule++;
}

/* Misfires: times a started job missed while jobd was down, i.e. scheduled
 * after its last claimed fire and not after now.
 *   skip: none run (cron's behaviour);
 *   once: one run now, claimed under the first missed time;
 *   all:  each missed time, oldest first, at most MISFIRE_REPLAY_MAX of them
 *         (through the overlap policy: use overlap=queue to run them in turn). */
enum { MISFIRE_REPLAY_MAX = 100 };

void sched_resume(Jobs *js, Job *j, int64_t now)
{
	if (j->last_sched > 0 && j->misfire != MISFIRE_SKIP && j->has_cron) {
		const Zone *z = job_zone(js, j);
		int64_t t = cron_next(&j->cron, j->last_sched, 0, z);
		if (t != CRON_NEVER && t <= now) {
			if (j->misfire == MISFIRE_ONCE) {
				/* Claimed under the first missed time: O(1) however long jobd was down. */
				job_logf(js, j, 0, "misfire: running once for the times missed while jobd was down");
				runs_fire(js, j, t);
			} else {
				int count = 0;
				while (t != CRON_NEVER && t <= now && count < MISFIRE_REPLAY_MAX) {
					runs_fire(js, j, t);
					count++;
					t = cron_next(&j->cron, t, 0, z);
				}
				/* The oldest are replayed: what is dropped is the later ones. */
				job_logf(js, j, 0, "misfire: replayed %d missed times%s", count,
				         t != CRON_NEVER && t <= now ? " (the limit; later ones dropped)" : "");
			}
		}
	}
	sched_after(js, j, now);
}

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
			sched_after(js, js->list[i], now);
}

static void clock_check(Jobs *js)
{
	int64_t skew = wall_now_ns() - mono_now().ns;
	int64_t step = skew - js->skew;
	js->skew = skew;
	if (step >= -STEP_TOLERANCE_NS && step <= STEP_TOLERANCE_NS)
		return;
	int64_t now = jobs_clock_ns(js) / 1000000000;
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

/* ---- firing on the dot ----
 * A fire is claimed and its child prepared JOBS_LEAD_NS before its instant,
 * and handed to the spawner thread, which starts it at the instant (the
 * RunSpec's not_before_ns). So the child execs within a fraction of a
 * millisecond of its time, however long the loop's wake-up, the claim and
 * the preparation take; a burst's first child as soon as a bare posix_spawn
 * would. Never early: the spawner waits on the wall clock. What changes for
 * a job: the overlap policy is applied at the claim, so a run that ends
 * within the lead of the next fire counts as still running then. */
static void on_timer(uv_timer_t *t)
{
	Jobs *js = t->data;
	clock_check(js);
	int64_t wall = jobs_clock_ns(js);
	int64_t now = wall / 1000000000;
	/* Due: at or before now, or within the lead. */
	int64_t due = (wall + js->lead_ns) / 1000000000;
	Job *j;
	while ((j = heap_top(&js->heap)) && j->next <= due) {
		int64_t sched = j->next;
		runs_fire(js, j, sched);
		/* runs_fire may not delete the job; it is still here. Fire each
		 * scheduled second once. If we are late (the loop was blocked or the
		 * clock jumped forward), run at most one missed time: resume from one
		 * second before now rather than replaying a backlog. */
		sched_after(js, j, sched > now - 1 ? sched : now - 1);
	}
	sched_arm(js);
}

/* ---- ahead of an instant ----
 * Within AHEAD_NS of an instant, the runner is told how many runs it starts
 * (run_expect), once per instant, to make their cgroups in the wait rather
 * than between one start and the next. A longer wait is cut there: one more
 * wake-up per instant, only where instants are that far apart. Counting is
 * O(the instant's fires), bounded by AHEAD_MAX (what the runner can keep). */
enum { AHEAD_MAX = 4096 };
#define AHEAD_NS 2000000000LL

/* The delay comes from the wall clock at arming time; if we wake early (timer
 * granularity, the clock was stepped back, or the wake-up was to look ahead)
 * on_timer simply re-arms. */
void sched_arm(Jobs *js)
{
	Job *top = heap_top(&js->heap);
	if (!top || js->shutting) {
		uv_timer_stop(&js->timer);
		return;
	}
	int64_t now = jobs_clock_ns(js);
	int64_t due = top->next * 1000000000 - js->lead_ns;
	if (top->next != js->ahead_for) {
		if (due - now <= AHEAD_NS) {
			js->ahead_for = top->next;
			run_expect(js->loop, heap_count_top(&js->heap, AHEAD_MAX));
		} else {
			due -= AHEAD_NS;
		}
	}
	uint64_t ms = due <= now ? 0 : (uint64_t)((due - now + 999999) / 1000000);
	uv_timer_start(&js->timer, on_timer, ms, 0);
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
	sched_arm(js);
}

void sched_init(Jobs *js)
{
	uv_timer_init(js->loop, &js->timer);
	js->timer.data = js;
	uv_timer_init(js->loop, &js->hold);     /* text.c's, for held lines */
	js->hold.data = js;
	js->skew = wall_now_ns() - mono_now().ns;
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

static void handle_closed(uv_handle_t *h)
{
	Jobs *js = h->data;
	if (--js->closing_handles == 0 && js->freed)
		free(js);
}

void sched_fini(Jobs *js)
{
	js->closing_handles += 2;
	uv_close((uv_handle_t *)&js->timer, handle_closed);
	uv_close((uv_handle_t *)&js->hold, handle_closed);
	if (js->stepfd >= 0) {
		js->closing_handles++;
		uv_close((uv_handle_t *)&js->steppoll, handle_closed);
		close(js->stepfd);
		js->stepfd = -1;
	}
}
