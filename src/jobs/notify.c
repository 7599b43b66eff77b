/* What the jobs table tells the outside as it happens: events for /events
 * (events.h) and, for the live files, which jobs changed (JobsWatch). */
#include <stdarg.h>
#include <stdio.h>

#include "jobs_int.h"
#include "util/util.h"

void jobs_watch(Jobs *js, const JobsWatch *w)
{
	js->watch = *w;
}

struct Events *jobs_events(Jobs *js)
{
	return js->events;
}

void job_gone(Jobs *js, Job *j)
{
	if (js->watch.gone)
		js->watch.gone(js->watch.arg, j);
}

void job_event(Jobs *js, const Job *j, const char *kind, const char *fmt, ...)
{
	char detail[EVENT_LINE_MAX / 2];
	if (!fmt) {
		events_add(js->events, wall_now_ns(), j->owner, kind, j->name, NULL);
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	events_add(js->events, wall_now_ns(), j->owner, kind, j->name, "%s", detail);
}
