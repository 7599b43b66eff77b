/* libFuzzer target for schedule expressions (src/cron/cron.c) and the next-fire
 * arithmetic over real zones (src/cron/zone.c).
 *
 * Input: an expression (the bytes up to the first NUL, at most MAXLEN of them);
 * if the NUL is followed by 4 more bytes, they are one more start instant
 * (unsigned seconds, little-endian: 1970 to 2106) next to the fixed ones.
 *
 * Properties checked (abort() on a violation, so libFuzzer keeps the input):
 *   - cron_parse either succeeds or fails with -EINVAL and a terminated reason
 *     that names a field ("minute: ...", "expression: ...", "macro: ..."), also
 *     when the reason buffer is tiny;
 *   - the 5- and 6-field forms mean exactly the 7-field form with second 0
 *     (and year * for the 5-field form);
 *   - cron_next from eleven fixed instants (and the input's), in UTC,
 *     America/New_York and Australia/Lord_Howe (a 30-minute DST shift): the
 *     result is CRON_NEVER or strictly later; it matches the wall clock or is
 *     a spring-forward transition instant; repeated calls never go backwards;
 *     a later start never gives an earlier answer; sub-second starts agree
 *     with whole ones;
 *   - in UTC, no matching second is skipped: brute force over the first day
 *     after one fixed start and the input's finds nothing earlier than
 *     cron_next's answer.
 * cron.c's own asserts are live (no NDEBUG). Zones are loaded once. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron/cron.h"
#include "cron/zone.h"

enum {
	MAXLEN = 200,          /* longest expression tried */
	CHAIN = 4,             /* consecutive cron_next calls per start */
	BRUTE_MIN = 1440,      /* minutes brute-forced in UTC */
};

static const char *const zone_names[] = { "UTC", "America/New_York", "Australia/Lord_Howe" };
enum { NZONE = sizeof zone_names / sizeof zone_names[0] };
static Zone *zones[NZONE];

/* Ascending: monotonicity is checked between neighbours. */
static const int64_t starts[] = {
	-((int64_t)1 << 50),   /* long before 1970 (clamped inside) */
	-5 * 86400,            /* before 1970 */
	0,                     /* 1970-01-01 00:00:00 UTC */
	951782399,             /* 2000-02-28 23:59:59 UTC, before a leap day */
	1615654800,            /* 2021-03-13 12:00 EST, a day before spring forward */
	1615705200,            /* 2021-03-14 02:00 EST, the New York gap */
	1636262999,            /* 2021-11-07 01:29:59 EDT, in the fall-back hour to come */
	1648915200,            /* 2022-04-02 16:00 UTC, Lord Howe falls back that night */
	4102441200,            /* 2099-12-31 23:00:00 UTC, the last hour */
	4102876800,            /* 2100-01-06 00:00:00 UTC, past every schedule */
	INT64_MAX / 2,
};
enum { NSTART = sizeof starts / sizeof starts[0] };

static void fail(const char *spec, const char *zone, int64_t t, int64_t r, const char *what)
{
	fprintf(stderr, "fuzz_cron: '%s' in %s from %lld: got %lld: %s\n", spec, zone,
	        (long long)t, (long long)r, what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	for (int i = 0; i < NZONE; i++) {
		char why[256];
		zones[i] = zone_load(zone_names[i], why, sizeof why);
		if (zones[i] == NULL) {
			fprintf(stderr, "fuzz_cron: zone_load(%s): %s (is tzdata installed?)\n",
			        zone_names[i], why);
			exit(1);
		}
	}
	return 0;
}

static int cron_eq(const Cron *a, const Cron *b)
{
	return a->sec == b->sec && a->min == b->min && a->hour == b->hour && a->dom == b->dom &&
	       a->dom_w == b->dom_w && a->mon == b->mon && a->dow == b->dow &&
	       a->dow_last == b->dow_last && memcmp(a->dow_nth, b->dow_nth, sizeof a->dow_nth) == 0 &&
	       a->dom_l == b->dom_l && a->dom_lw == b->dom_lw &&
	       a->dom_restricted == b->dom_restricted && a->dow_restricted == b->dow_restricted &&
	       a->hourly == b->hourly && a->mon_ok == b->mon_ok &&
	       memcmp(a->year, b->year, sizeof a->year) == 0;
}

static int names_field(const char *why)
{
	static const char *const prefixes[] = {
		"second: ", "minute: ", "hour: ", "day-of-month: ", "month: ", "day-of-week: ",
		"year: ", "expression: ", "macro: ",
	};
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
		if (strncmp(why, prefixes[i], strlen(prefixes[i])) == 0)
			return 1;
	return 0;
}

/* cron_parse with a reason buffer of exactly n bytes on the heap. */
static int parse_small_why(const char *spec, Cron *c, size_t n)
{
	char *why = malloc(n);
	if (why == NULL)
		abort();
	memset(why, 'x', n);
	int rc = cron_parse(spec, c, why, n);
	if (rc != 0 && strnlen(why, n) >= n)
		fail(spec, "-", 0, rc, "reason left unterminated in a small buffer");
	free(why);
	return rc;
}

/* The 5- or 6-field expression spec, rewritten as 7 fields. */
static void check_short_forms(const char *spec, const Cron *c)
{
	const char *p = spec;
	int nf = 0;
	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		nf++;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
	if (nf != 5 && nf != 6)
		return;
	char buf[MAXLEN + 16];
	snprintf(buf, sizeof buf, "0 %s%s", spec, nf == 5 ? " *" : "");
	Cron c7;
	char why[256];
	if (cron_parse(buf, &c7, why, sizeof why) != 0)
		fail(spec, "-", 0, 0, "its 7-field form does not parse");
	if (!cron_eq(c, &c7))
		fail(spec, "-", 0, 0, "its 7-field form means something else");
}

/* Whether instant r is a spring-forward transition of z. */
static int gap_instant(const Zone *z, int64_t r)
{
	return zone_offset(z, r - 1, NULL) < zone_offset(z, r, NULL);
}

static void check_fire(const char *spec, const Cron *c, int zi, int64_t t, int64_t r)
{
	if (r == CRON_NEVER)
		return;
	if (r <= t)
		fail(spec, zone_names[zi], t, r, "not after the start");
	struct tm tm;
	zone_civil(zones[zi], r, &tm);
	if (!cron_match_civil(c, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	                      tm.tm_min, tm.tm_sec) && !gap_instant(zones[zi], r))
		fail(spec, zone_names[zi], t, r, "neither matches nor is a gap transition");
}

/* UTC: no second in (t, r) matches, for the first BRUTE_MIN minutes after t. */
static void brute_utc(const char *spec, const Cron *c, int64_t t, int64_t r)
{
	const Zone *z = zones[0];
	int64_t m0 = t - ((t % 60) + 60) % 60;     /* the minute holding t */
	for (int64_t k = 0; k < BRUTE_MIN; k++) {
		int64_t m = m0 + 60 * k;
		if (m >= r)
			return;
		struct tm tm;
		zone_civil(z, m, &tm);
		int y = tm.tm_year + 1900;
		if (!cron_match_civil(c, y, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		                      __builtin_ctzll(c->sec)))
			continue;   /* the minute does not match at all */
		for (int s = 0; s < 60; s++) {
			int64_t x = m + s;
			if (x <= t || !(c->sec >> s & 1))
				continue;
			if (x >= r)
				return;
			fail(spec, "UTC", t, r, "an earlier matching second was skipped");
		}
	}
}

/* The checks from one start t in zone zi; returns cron_next's first answer. */
static int64_t from(const char *spec, const Cron *c, int zi, int64_t t, int brute)
{
	const Zone *z = zones[zi];
	int64_t r = cron_next(c, t, 0, z);
	check_fire(spec, c, zi, t, r);
	/* (t, t+1) holds no whole second, so any fraction past t gives r... */
	if (cron_next(c, t, 500000000, z) != r)
		fail(spec, zone_names[zi], t, r, "start t.5 disagrees with start t");
	/* ...and t+1 - 1ns is t.999999999. */
	if (cron_next(c, t + 1, -1, z) != r)
		fail(spec, zone_names[zi], t, r, "start (t+1)-1ns disagrees with start t");
	if (brute)
		brute_utc(spec, c, t, r);
	int64_t first = r;
	for (int k = 1; k < CHAIN && r != CRON_NEVER; k++) {
		int64_t r2 = cron_next(c, r, 0, z);
		check_fire(spec, c, zi, r, r2);
		r = r2;
	}
	return first;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char spec[MAXLEN + 1];
	size_t n = size < MAXLEN ? size : MAXLEN;
	memcpy(spec, data, n);
	spec[n] = '\0';
	/* Four bytes after the expression's NUL: one more start, chosen by the fuzzer. */
	int64_t extra = -1;
	const uint8_t *nul = memchr(data, 0, size);
	if (nul != NULL && (size_t)(data + size - nul) > 4)
		extra = (int64_t)nul[1] | (int64_t)nul[2] << 8 | (int64_t)nul[3] << 16 |
		        (int64_t)nul[4] << 24;

	Cron c;
	char why[256];
	memset(why, 'x', sizeof why);
	int rc = cron_parse(spec, &c, why, sizeof why);
	if (rc != 0) {
		if (rc != -EINVAL)
			fail(spec, "-", 0, rc, "cron_parse failed with something other than -EINVAL");
		if (strnlen(why, sizeof why) >= sizeof why)
			fail(spec, "-", 0, rc, "reason left unterminated");
		if (!names_field(why)) {
			fprintf(stderr, "reason: %s\n", why);
			fail(spec, "-", 0, rc, "reason does not name a field");
		}
		parse_small_why(spec, &c, 1 + size % 12);
		return 0;
	}
	Cron c2;
	if (parse_small_why(spec, &c2, 1 + size % 12) != 0 || !cron_eq(&c, &c2))
		fail(spec, "-", 0, 0, "parses differently the second time");
	check_short_forms(spec, &c);

	for (int zi = 0; zi < NZONE; zi++) {
		int64_t prev = INT64_MIN;
		for (int si = 0; si < NSTART; si++) {
			int64_t r = from(spec, &c, zi, starts[si], zi == 0 && starts[si] == 1615654800);
			if (r < prev)
				fail(spec, zone_names[zi], starts[si], r, "a later start gave an earlier answer");
			prev = r;
		}
		if (extra >= 0)
			from(spec, &c, zi, extra, zi == 0);
	}
	return 0;
}
