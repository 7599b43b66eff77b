/* The events ring (src/jobs/events.c): numbering from jobd's start, the
 * line format, what is kept, what a slow reader is told it lost. */
#include "jobs/events.h"
#include "unit.h"

static const int64_t start = 1764648600LL * 1000000000LL;

static void test_numbering(void)
{
	Events *ev = events_new(start);
	uint64_t base = (uint64_t)(start / 1000);
	CHECK(events_base(ev) == base);
	CHECK(events_next(ev) == base + 1);
	CHECK(events_get(ev, base + 1) == NULL);     /* not yet */
	events_add(ev, start + 123456789, 1000, "job.created", "backup", "owner=%u", 1000u);
	const Event *e = events_get(ev, base + 1);
	CHECK(e != NULL);
	if (e) {
		char want[128];
		snprintf(want, sizeof want, "%llu 2025-12-02T04:10:00.123456Z job.created backup owner=1000\n",
		         (unsigned long long)(base + 1));
		CHECKF(e->len == strlen(want) && memcmp(e->line, want, e->len) == 0, "got %.*s",
		       (int)e->len, e->line);
		CHECK(e->owner == 1000);
	}
	events_add(ev, start, 0, "job.started", "backup", NULL);
	e = events_get(ev, base + 2);
	CHECK(e && e->line[e->len - 1] == '\n' && strstr(e->line, " job.started backup\n"));
	events_free(ev);
}

static void test_ring(void)
{
	Events *ev = events_new(start);
	uint64_t base = events_base(ev);
	for (int i = 0; i < EVENTS_KEEP + 10; i++)
		events_add(ev, start, 0, "job.changed", "j", "what=timeout");
	CHECK(events_next(ev) == base + EVENTS_KEEP + 11);
	CHECK(events_first(ev) == base + 11);          /* the 10 oldest are gone */
	CHECK(events_get(ev, base + 10) == NULL);
	CHECK(events_get(ev, base + 11) != NULL && events_get(ev, base + 11)->seq == base + 11);
	CHECK(events_get(ev, base + EVENTS_KEEP + 10) != NULL);
	events_free(ev);
}

static void test_long_line(void)
{
	Events *ev = events_new(start);
	char big[2 * EVENT_LINE_MAX];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	events_add(ev, start, 0, "job.changed", "j", "what=%s", big);
	const Event *e = events_get(ev, events_base(ev) + 1);
	CHECK(e && e->len <= EVENT_LINE_MAX && e->line[e->len - 1] == '\n');
	events_free(ev);
}

int main(void)
{
	unit_run("numbering", test_numbering);
	unit_run("ring", test_ring);
	unit_run("long_line", test_long_line);
	return unit_done();
}
