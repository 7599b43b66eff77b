/* The events ring (events.h): EVENTS_KEEP slots, the newest overwriting
 * the oldest, each line allocated once when it happens. */
#include "events.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/util.h"

struct Events {
	Event slot[EVENTS_KEEP];
	uint64_t base;              /* jobd's start, unix µs: this run's events are above it */
	uint64_t next;              /* seq of the next event */
};

Events *events_new(int64_t start_ns)
{
	Events *ev = xcalloc(1, sizeof *ev);
	ev->base = start_ns > 0 ? (uint64_t)start_ns / 1000 : 0;
	ev->next = ev->base + 1;
	return ev;
}

void events_free(Events *ev)
{
	if (!ev)
		return;
	for (size_t i = 0; i < EVENTS_KEEP; i++)
		free(ev->slot[i].line);
	free(ev);
}

/* 2026-12-02T04:10:00.123456Z. The part to the second is made once a
 * second and kept (events come in bursts: two a run). */
static size_t utc_stamp(int64_t t_ns, char *out, size_t cap)
{
	static int64_t ksec = INT64_MIN;
	static char head[32];
	static size_t hlen;
	int64_t sec = t_ns / 1000000000;
	long us = (long)((t_ns % 1000000000 + 1000000000) % 1000000000 / 1000);
	if (sec != ksec) {
		time_t s = (time_t)sec;
		struct tm tm;
		gmtime_r(&s, &tm);
		int n = snprintf(head, sizeof head, "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900,
		                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		if (n < 0 || (size_t)n >= sizeof head)
			return 0;
		hlen = (size_t)n;
		ksec = sec;
	}
	if (hlen + 8 > cap)
		return 0;
	memcpy(out, head, hlen);
	for (int i = 5; i >= 0; i--, us /= 10)
		out[hlen + (size_t)i] = (char)('0' + us % 10);
	out[hlen + 6] = 'Z';
	out[hlen + 7] = '\0';
	return hlen + 7;
}

void events_add(Events *ev, int64_t t_ns, uint32_t owner, const char *kind, const char *job,
                const char *fmt, ...)
{
	char line[EVENT_LINE_MAX], ts[64];
	utc_stamp(t_ns, ts, sizeof ts);
	int n = snprintf(line, sizeof line, "%llu %s %s %s", (unsigned long long)ev->next, ts, kind,
	                 job);
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
	if (fmt && len + 2 < sizeof line) {
		line[len++] = ' ';
		va_list ap;
		va_start(ap, fmt);
		int k = vsnprintf(line + len, sizeof line - len, fmt, ap);
		va_end(ap);
		if (k > 0)
			len += (size_t)k < sizeof line - len ? (size_t)k : sizeof line - len - 1;
	}
	if (len > sizeof line - 2)
		len = sizeof line - 2;  /* a cut line still ends the line */
	line[len++] = '\n';
	Event *e = &ev->slot[ev->next % EVENTS_KEEP];
	free(e->line);
	e->line = xmalloc(len);
	memcpy(e->line, line, len);
	e->len = (uint32_t)len;
	e->owner = owner;
	e->seq = ev->next++;
}

uint64_t events_next(const Events *ev)
{
	return ev->next;
}

uint64_t events_first(const Events *ev)
{
	return ev->next - ev->base > EVENTS_KEEP ? ev->next - EVENTS_KEEP : ev->base + 1;
}

uint64_t events_base(const Events *ev)
{
	return ev->base;
}

const Event *events_get(const Events *ev, uint64_t seq)
{
	if (seq < events_first(ev) || seq >= ev->next)
		return NULL;
	return &ev->slot[seq % EVENTS_KEEP];
}
