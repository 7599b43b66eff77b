/* Unit tests for src/cron/cron.c: the parser (every accepted form, every class of
 * rejection), next() worked out by hand in UTC and in zones with daylight saving,
 * and a property test against an independent brute-force model. */
#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "cron/cron.h"
#include "unit.h"

/* ---- helpers ---- */

enum { NZONES = 32 };
static struct {
	const char *name;
	Zone *z;
} zones[NZONES];

/* A zone by name, loaded once. A missing zone fails the test loudly. */
static const Zone *zone(const char *name)
{
	int i;
	for (i = 0; i < NZONES && zones[i].name != NULL; i++)
		if (strcmp(zones[i].name, name) == 0)
			return zones[i].z;
	if (i == NZONES) {
		unit_fail(__FILE__, __LINE__, "zone table full");
		return NULL;
	}
	char why[256];
	Zone *z = zone_load(name, why, sizeof why);
	CHECKF(z != NULL, "zone %s not available (is tzdata installed?): %s", name, why);
	zones[i].name = name;
	zones[i].z = z;
	return z;
}

static int64_t instant(const char *s, long *nsec)
{
	int64_t sec;
	long ns;
	if (time_parse_rfc3339(s, &sec, &ns) != 0) {
		unit_fail(__FILE__, __LINE__, "bad time in test table: %s", s);
		return 0;
	}
	if (nsec != NULL)
		*nsec = ns;
	return sec;
}

static const char *show(const Zone *z, int64_t t, char *buf, size_t n)
{
	if (t == CRON_NEVER)
		snprintf(buf, n, "never");
	else
		zone_format_rfc3339(z, t, buf, n);
	return buf;
}

/* Renders a bitset [lo, hi] as "1-5,7,9-10". */
static void bits_fmt(char *out, size_t n, const uint64_t *w, int base, int lo, int hi)
{
	size_t k = 0;
	out[0] = 0;
	for (int v = lo; v <= hi;) {
		int b = v - base;
		if (!(w[b / 64] >> (b % 64) & 1)) {
			v++;
			continue;
		}
		int e = v;
		while (e + 1 <= hi && (w[(e + 1 - base) / 64] >> ((e + 1 - base) % 64) & 1))
			e++;
		if (e == v)
			k += (size_t)snprintf(out + k, n - k, "%s%d", k ? "," : "", v);
		else
			k += (size_t)snprintf(out + k, n - k, "%s%d-%d", k ? "," : "", v, e);
		v = e + 1;
	}
	if (k == 0)
		snprintf(out, n, "-");
}

/* "sec min hour dom mon dow year", dom and dow with their special forms, "*" for
 * an unrestricted day field, "H" at the end when hourly or finer. */
static void cron_fmt(const Cron *c, char *out, size_t n)
{
	char f[7][256];
	uint64_t w[3];
	w[0] = c->sec;
	bits_fmt(f[0], 256, w, 0, 0, 59);
	w[0] = c->min;
	bits_fmt(f[1], 256, w, 0, 0, 59);
	w[0] = c->hour;
	bits_fmt(f[2], 256, w, 0, 0, 23);
	if (!c->dom_restricted) {
		snprintf(f[3], 256, "*");
	} else {
		w[0] = c->dom;
		bits_fmt(f[3], 256, w, 0, 1, 31);
		if (strcmp(f[3], "-") == 0 && (c->dom_l || c->dom_lw || c->dom_w))
			f[3][0] = 0;
		size_t k = strlen(f[3]);
		if (c->dom_l)
			k += (size_t)snprintf(f[3] + k, 256 - k, "%sL", k ? "," : "");
		if (c->dom_lw)
			k += (size_t)snprintf(f[3] + k, 256 - k, "%sLW", k ? "," : "");
		for (int d = 1; d <= 31; d++)
			if (c->dom_w >> d & 1)
				k += (size_t)snprintf(f[3] + k, 256 - k, "%s%dW", k ? "," : "", d);
	}
	w[0] = c->mon;
	bits_fmt(f[4], 256, w, 0, 1, 12);
	if (!c->dow_restricted) {
		snprintf(f[5], 256, "*");
	} else {
		w[0] = c->dow;
		bits_fmt(f[5], 256, w, 0, 0, 6);
		int special = c->dow_last != 0;
		for (int d = 0; d < 7; d++)
			special |= c->dow_nth[d] != 0;
		if (strcmp(f[5], "-") == 0 && special)
			f[5][0] = 0;
		size_t k = strlen(f[5]);
		for (int d = 0; d < 7; d++)
			if (c->dow_last >> d & 1)
				k += (size_t)snprintf(f[5] + k, 256 - k, "%s%dL", k ? "," : "", d);
		for (int d = 0; d < 7; d++)
			for (int q = 1; q <= 5; q++)
				if (c->dow_nth[d] >> q & 1)
					k += (size_t)snprintf(f[5] + k, 256 - k, "%s%d#%d", k ? "," : "", d, q);
	}
	bits_fmt(f[6], 256, c->year, 1970, 1970, 2099);
	snprintf(out, n, "%s %s %s %s %s %s %s%s", f[0], f[1], f[2], f[3], f[4], f[5], f[6],
	         c->hourly ? " H" : "");
}

/* ---- parser: accepted forms ---- */

static const struct {
	const char *spec, *want;
} accepts[] = {
	/* 5 fields: second 0, year any. */
	{ "* * * * *", "0 0-59 0-23 * 1-12 * 1970-2099 H" },
	{ "  \t*\t* *  * *\t ", "0 0-59 0-23 * 1-12 * 1970-2099 H" },
	{ "30 4 1,15 * 5", "0 30 4 1,15 1-12 5 1970-2099" },
	{ "0 9-17 * * MON-FRI", "0 0 9-17 * 1-12 1-5 1970-2099" },
	/* 6 fields: minute .. year (NOT Quartz's seconds first). */
	{ "0 0 12 * * ?", "0 0 0 12 1-12 * 1970-2099" },
	{ "0 0 1 1 * 2030", "0 0 0 1 1 * 2030" },
	/* 7 fields: second first. */
	{ "*/20 * * * * * *", "0,20,40 0-59 0-23 * 1-12 * 1970-2099 H" },
	{ "0 0 0 29 2 ? 2096", "0 0 0 29 2 * 2096" },
	/* macros */
	{ "@yearly", "0 0 0 1 1 * 1970-2099" },
	{ "@annually", "0 0 0 1 1 * 1970-2099" },
	{ "@monthly", "0 0 0 1 1-12 * 1970-2099" },
	{ "@weekly", "0 0 0 * 1-12 0 1970-2099" },
	{ "@daily", "0 0 0 * 1-12 * 1970-2099" },
	{ "@midnight", "0 0 0 * 1-12 * 1970-2099" },
	{ "@hourly", "0 0 0-23 * 1-12 * 1970-2099 H" },
	{ "  @daily\t", "0 0 0 * 1-12 * 1970-2099" },
	/* ? is * everywhere */
	{ "? ? ? ? ? ? ?", "0-59 0-59 0-23 * 1-12 * 1970-2099 H" },
	/* steps */
	{ "5/15 * * * *", "0 5,20,35,50 0-23 * 1-12 * 1970-2099 H" },
	{ "*/15 * * * *", "0 0,15,30,45 0-23 * 1-12 * 1970-2099 H" },
	{ "10-20/30 * * * *", "0 10 0-23 * 1-12 * 1970-2099 H" },
	{ "0-59/59 */1 * * *", "0 0,59 0-23 * 1-12 * 1970-2099 H" },
	{ "0 0-23 * * *", "0 0 0-23 * 1-12 * 1970-2099 H" },
	{ "0 */2 * * *", "0 0 0,2,4,6,8,10,12,14,16,18,20,22 * 1-12 * 1970-2099" },
	{ "0 1-23/22 * * *", "0 0 1,23 * 1-12 * 1970-2099" },
	{ "0 0 */10 * *", "0 0 0 1,11,21,31 1-12 * 1970-2099" },
	{ "0 0 * */5 *", "0 0 0 * 1,6,11 * 1970-2099" },
	{ "0 0 * * */2", "0 0 0 * 1-12 0,2,4,6 1970-2099" },
	{ "0 0 * * */6", "0 0 0 * 1-12 0,6 1970-2099" },
	{ "0 0 1 1 * */50", "0 0 0 1 1 * 1970,2020,2070" },
	{ "0 0 1 1 * 2000/2099", "0 0 0 1 1 * 2000" },
	{ "0 0 1 1 * 2020-2030/5", "0 0 0 1 1 * 2020,2025,2030" },
	{ "0 0 * * 5/1", "0 0 0 * 1-12 5-6 1970-2099" },
	/* leading zeros */
	{ "05 00 01 01 00", "0 5 0 1 1 0 1970-2099" },
	{ "0 0 1 1 * 1970,2099", "0 0 0 1 1 * 1970,2099" },
	/* names, any case, short and long */
	{ "0 0 1 jan,FEB,Mar,april,MAY,June * *", "0 0 0 1 1-6 * 1970-2099" },
	{ "0 0 1 jul-DECEMBER *", "0 0 0 1 7-12 * 1970-2099" },
	{ "0 0 1 September,oct,NOVEMBER *", "0 0 0 1 9-11 * 1970-2099" },
	{ "0 0 * * sun,Monday,TUE,wednesday", "0 0 0 * 1-12 0-3 1970-2099" },
	{ "0 0 * * thu,FRIDAY,saturday", "0 0 0 * 1-12 4-6 1970-2099" },
	/* day-of-week 7 is Sunday; 7 ends a range as Sunday */
	{ "0 0 * * 7", "0 0 0 * 1-12 0 1970-2099" },
	{ "0 0 * * 1-7", "0 0 0 * 1-12 0-6 1970-2099" },
	{ "0 0 * * MON-SUN", "0 0 0 * 1-12 0-6 1970-2099" },
	{ "0 0 * * 5-7", "0 0 0 * 1-12 0,5-6 1970-2099" },
	{ "0 0 * * FRI-SUN", "0 0 0 * 1-12 0,5-6 1970-2099" },
	{ "0 0 * * 0-7", "0 0 0 * 1-12 0-6 1970-2099" },
	{ "0 0 * * SUN-SUN", "0 0 0 * 1-12 0 1970-2099" },
	{ "0 0 * * 0-SUN", "0 0 0 * 1-12 0-6 1970-2099" },
	{ "0 0 * * 7-SUN", "0 0 0 * 1-12 0 1970-2099" },
	{ "0 0 * * 1-7/2", "0 0 0 * 1-12 0-1,3,5 1970-2099" },
	/* special day forms */
	{ "0 0 L * *", "0 0 0 L 1-12 * 1970-2099" },
	{ "0 0 lw * *", "0 0 0 LW 1-12 * 1970-2099" },
	{ "0 0 15W * *", "0 0 0 15W 1-12 * 1970-2099" },
	{ "0 0 1w,31W * *", "0 0 0 1W,31W 1-12 * 1970-2099" },
	{ "0 0 15W,L * *", "0 0 0 L,15W 1-12 * 1970-2099" },
	{ "0 0 1,L * *", "0 0 0 1,L 1-12 * 1970-2099" },
	{ "0 0 ? * 5L", "0 0 0 * 1-12 5L 1970-2099" },
	{ "0 0 ? * FRIL", "0 0 0 * 1-12 5L 1970-2099" },
	{ "0 0 ? * 5l,7L,sundayl", "0 0 0 * 1-12 0L,5L 1970-2099" },
	{ "0 0 ? * 5#3", "0 0 0 * 1-12 5#3 1970-2099" },
	{ "0 0 ? * 5#3,5L", "0 0 0 * 1-12 5L,5#3 1970-2099" },
	{ "0 0 ? * 1#1,3,5L", "0 0 0 * 1-12 3,5L,1#1 1970-2099" },
	{ "0 0 ? * MON#5,7#1,0#2", "0 0 0 * 1-12 0#1,0#2,1#5 1970-2099" },
	/* restriction: any * or ? element makes a day field unrestricted */
	{ "0 0 */1 * *", "0 0 0 1-31 1-12 * 1970-2099" },
	{ "0 0 1-31 * 0-6", "0 0 0 1-31 1-12 0-6 1970-2099" },
	{ "0 0 1,* * *", "0 0 0 * 1-12 * 1970-2099" },
	{ "0 0 * * 1,?", "0 0 0 * 1-12 * 1970-2099" },
	{ "0 0 15 * */1", "0 0 0 15 1-12 0-6 1970-2099" },
};

static void test_parse_accept(void)
{
	for (size_t i = 0; i < sizeof accepts / sizeof accepts[0]; i++) {
		Cron c;
		char why[256] = "", got[2048];
		int r = cron_parse(accepts[i].spec, &c, why, sizeof why);
		CHECKF(r == 0, "'%s' rejected: %s", accepts[i].spec, why);
		if (r != 0)
			continue;
		cron_fmt(&c, got, sizeof got);
		CHECKF(strcmp(got, accepts[i].want) == 0, "'%s': got '%s', want '%s'", accepts[i].spec,
		       got, accepts[i].want);
		Cron copy = c;         /* a plain value */
		CHECK(memcmp(&copy, &c, sizeof c) == 0);
	}
}

/* ---- parser: rejections ---- */

static const struct {
	const char *spec, *field, *reason;
} rejects[] = {
	/* whole expression */
	{ "", "expression", "empty" },
	{ " \t ", "expression", "empty" },
	{ "* * * *", "expression", "4 fields" },
	{ "* * * * * * * *", "expression", "8 fields" },
	{ "*", "expression", "1 field" },
	/* macros */
	{ "@reboot", "macro", "unknown macro" },
	{ "@every 5m", "macro", "unknown macro" },
	{ "@DAILY", "macro", "unknown macro" },
	{ "@daily 2020", "macro", "stands alone" },
	{ "@", "macro", "unknown macro" },
	/* empty list elements */
	{ "1,,2 * * * *", "minute", "empty list element" },
	{ ",1 * * * *", "minute", "empty list element" },
	{ "0 1, * * *", "hour", "empty list element" },
	/* out of range */
	{ "60 * * * *", "minute", "60 is out of range 0-59" },
	{ "0 24 * * *", "hour", "24 is out of range 0-23" },
	{ "0 0 0 * *", "day-of-month", "0 is out of range 1-31" },
	{ "0 0 32 * *", "day-of-month", "32 is out of range 1-31" },
	{ "0 0 * 0 *", "month", "0 is out of range 1-12" },
	{ "0 0 * 13 *", "month", "13 is out of range 1-12" },
	{ "0 0 * * 8", "day-of-week", "8 is out of range 0-7" },
	{ "60 * * * * * *", "second", "60 is out of range 0-59" },
	{ "0 0 0 1 1 * 1969", "year", "1969 is out of range 1970-2099" },
	{ "0 0 1 1 * 2100", "year", "2100 is out of range 1970-2099" },
	{ "0 0 1 1 * 20", "year", "exactly four digits" },
	{ "0 0 1 1 * 02020", "year", "exactly four digits" },
	{ "005 * * * *", "minute", "too many digits" },
	/* names */
	{ "0 0 1 Sept *", "month", "unknown name 'Sept'" },
	{ "0 0 * * Tues", "day-of-week", "unknown name 'Tues'" },
	{ "0 0 * * Mo", "day-of-week", "unknown name 'Mo'" },
	{ "0 0 1 jan-foo *", "month", "unknown name 'foo'" },
	{ "jan * * * *", "minute", "not a number" },
	{ "0 mon * * *", "hour", "not a number" },
	{ "0 0 1 1 * abcd", "year", "not a number" },
	{ "0 0 MON * *", "day-of-month", "not a number" },
	{ "0 0 * MON *", "month", "unknown name 'MON'" },
	{ "0 0 * * JAN", "day-of-week", "unknown name 'JAN'" },
	/* ranges */
	{ "20-5 * * * *", "minute", "reversed range 20-5" },
	{ "0 0 * * FRI-MON", "day-of-week", "reversed range 5-1" },
	{ "0 0 * * 7-1", "day-of-week", "reversed range 7-1" },
	{ "0 0 * DEC-JAN *", "month", "reversed range 12-1" },
	/* steps */
	{ "*/60 * * * *", "minute", "step 60 is out of range 1-59" },
	{ "*/0 * * * *", "minute", "step 0 is out of range 1-59" },
	{ "0 */24 * * *", "hour", "step 24 is out of range 1-23" },
	{ "0 0 * * */7", "day-of-week", "step 7 is out of range 1-6" },
	{ "0 0 */32 * *", "day-of-month", "step 32 is out of range 1-31" },
	{ "0 0 * */13 *", "month", "step 13 is out of range 1-12" },
	{ "0 0 1 1 * */2100", "year", "step 2100 is out of range 1-2099" },
	{ "*/60 * * * * * *", "second", "step 60" },
	{ "*/x * * * *", "minute", "step must be a number" },
	{ "5/ * * * *", "minute", "step needs a number" },
	/* malformed elements */
	{ "1-5-7 * * * *", "minute", "unexpected '-'" },
	{ "1/2/3 * * * *", "minute", "unexpected '/'" },
	{ "*/5/2 * * * *", "minute", "'*' takes only a step" },
	{ "-5 * * * *", "minute", "'-' where a value should be" },
	{ "5- * * * *", "minute", "range needs an end" },
	{ "*-5 * * * *", "minute", "'*' takes only a step" },
	{ "** * * * *", "minute", "'*' takes only a step" },
	{ "?/5 * * * *", "minute", "'?' stands alone" },
	{ "?? * * * *", "minute", "'?' stands alone" },
	{ "5! * * * *", "minute", "unexpected character '!'" },
	{ "0 0 1 1 * 2020-", "year", "range needs an end" },
	{ "1-2-3-4-5-6-7 * * * *", "minute", "malformed" },
	/* L, W, # in the wrong place */
	{ "5L * * * *", "minute", "'L' is only allowed in day-of-month and day-of-week" },
	{ "0 L * * *", "hour", "'L' is only allowed" },
	{ "0 0 * L *", "month", "unknown name 'L'" },
	{ "0 0 1 1 * 2020L", "year", "'L' is only allowed" },
	{ "5W * * * *", "minute", "'W' is only allowed in day-of-month" },
	{ "1#2 * * * *", "minute", "'#' is only allowed in day-of-week" },
	{ "0 0 1#2 * *", "day-of-month", "'#' is only allowed in day-of-week" },
	{ "0 0 * 1#2 *", "month", "'#' is only allowed" },
	/* day-of-month special forms */
	{ "0 0 1-5W * *", "day-of-month", "'W' follows a single day number" },
	{ "0 0 W * *", "day-of-month", "'W' follows a single day number" },
	{ "0 0 WL * *", "day-of-month", "'W' follows a single day number" },
	{ "0 0 */2W * *", "day-of-month", "'*' takes only a step" },
	{ "0 0 0W * *", "day-of-month", "0 is out of range 1-31" },
	{ "0 0 32W * *", "day-of-month", "32 is out of range 1-31" },
	{ "0 0 L-3 * *", "day-of-month", "'L' and 'LW' stand alone" },
	{ "0 0 L/2 * *", "day-of-month", "'L' and 'LW' stand alone" },
	{ "0 0 15L * *", "day-of-month", "'L' and 'LW' stand alone" },
	/* day-of-week special forms */
	{ "0 0 ? * L", "day-of-week", "'L' follows a single weekday" },
	{ "0 0 ? * 1-5L", "day-of-week", "'L' follows a single weekday" },
	{ "0 0 ? * 8L", "day-of-week", "8 is out of range 0-7" },
	{ "0 0 ? * FOOL", "day-of-week", "unknown name 'FOOL'" },
	{ "0 0 ? * 1-5#2", "day-of-week", "'#' needs a single weekday" },
	{ "0 0 ? * */2#2", "day-of-week", "'#' needs a single weekday" },
	{ "0 0 ? * #2", "day-of-week", "'#' needs a single weekday" },
	{ "0 0 ? * 5#0", "day-of-week", "week number from 1 to 5" },
	{ "0 0 ? * 5#6", "day-of-week", "week number from 1 to 5" },
	{ "0 0 ? * 5#", "day-of-week", "week number from 1 to 5" },
	{ "0 0 ? * 5#1#2", "day-of-week", "week number from 1 to 5" },
	{ "0 0 ? * 8#1", "day-of-week", "8 is out of range 0-7" },
	{ "0 0 ? * 5W", "day-of-week", "unknown name 'W'" },
	/* blanks are spaces and tabs only */
	{ "0 0 * * *\n", "day-of-week", "unexpected character '?'" },
};

static void test_parse_reject(void)
{
	for (size_t i = 0; i < sizeof rejects / sizeof rejects[0]; i++) {
		Cron c;
		char why[256] = "";
		int r = cron_parse(rejects[i].spec, &c, why, sizeof why);
		CHECKF(r == -EINVAL, "'%s' accepted (want %s: %s)", rejects[i].spec, rejects[i].field,
		       rejects[i].reason);
		if (r != -EINVAL)
			continue;
		size_t fl = strlen(rejects[i].field);
		CHECKF(strncmp(why, rejects[i].field, fl) == 0 && why[fl] == ':',
		       "'%s': reason '%s' does not start with field '%s'", rejects[i].spec, why,
		       rejects[i].field);
		CHECKF(strstr(why, rejects[i].reason) != NULL, "'%s': reason '%s' lacks '%s'",
		       rejects[i].spec, why, rejects[i].reason);
	}
	/* The contract's own example, verbatim. */
	Cron c;
	char why[256];
	CHECK(cron_parse("0 0 * * 1-5#2", &c, why, sizeof why) == -EINVAL);
	CHECKF(strcmp(why, "day-of-week: '1-5#2': '#' needs a single weekday") == 0, "%s", why);
	/* A small buffer truncates, never overflows; NULL is allowed. */
	char small[8];
	CHECK(cron_parse("61 * * * *", &c, small, sizeof small) == -EINVAL);
	CHECK(strlen(small) == 7);
	CHECK(cron_parse("61 * * * *", &c, NULL, 0) == -EINVAL);
}

/* ---- next(): hand-worked cases ---- */

typedef struct Case {
	const char *zone, *spec, *from;
	const char *want[5];           /* successive fires; "never" ends */
} Case;

static void run_cases(const Case *cs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const Case *k = &cs[i];
		const Zone *z = zone(k->zone);
		Cron c;
		char why[256], b1[64], b2[64];
		if (z == NULL)
			continue;
		if (cron_parse(k->spec, &c, why, sizeof why) != 0) {
			unit_fail(__FILE__, __LINE__, "'%s': %s", k->spec, why);
			continue;
		}
		long ns = 0;
		int64_t t = instant(k->from, &ns);
		for (int j = 0; j < 5 && k->want[j] != NULL; j++) {
			int64_t want = strcmp(k->want[j], "never") == 0 ? CRON_NEVER : instant(k->want[j], NULL);
			int64_t got = cron_next(&c, t, ns, z);
			CHECKF(got == want, "%s '%s' from %s, fire %d: got %s, want %s", k->zone, k->spec,
			       k->from, j + 1, show(z, got, b1, sizeof b1), show(z, want, b2, sizeof b2));
			if (got != want || got == CRON_NEVER)
				break;
			t = got;
			ns = 0;
		}
	}
}

static const Case utc_cases[] = {
	/* Strictly after: from 00:00:00 exactly, the first quarter is 00:15. */
	{ "UTC", "*/15 * * * *", "2021-01-01T00:00:00Z",
	  { "2021-01-01T00:15:00Z", "2021-01-01T00:30:00Z" } },
	/* Sub-second parts count: every second from 00:00:00.5 is 00:00:01. */
	{ "UTC", "* * * * * * *", "2021-01-01T00:00:00.5Z",
	  { "2021-01-01T00:00:01Z", "2021-01-01T00:00:02Z" } },
	{ "UTC", "* * * * * * *", "2021-01-01T00:00:00.999999999Z", { "2021-01-01T00:00:01Z" } },
	{ "UTC", "*/20 * * * * * *", "2021-01-01T00:00:00Z",
	  { "2021-01-01T00:00:20Z", "2021-01-01T00:00:40Z", "2021-01-01T00:01:00Z" } },
	/* 6 fields = minute..year: 00:00 on the 12th of every month. */
	{ "UTC", "0 0 12 * * ?", "2021-01-01T00:00:00Z",
	  { "2021-01-12T00:00:00Z", "2021-02-12T00:00:00Z" } },
	/* OR rule. 2021-01-01 is a Friday: the 1st and a Friday at 04:30, then Fridays
	 * 8, 15 (also the 15th), 22, 29, then Monday Feb 1 (the 1st). */
	{ "UTC", "30 4 1,15 * 5", "2021-01-01T00:00:00Z",
	  { "2021-01-01T04:30:00Z", "2021-01-08T04:30:00Z", "2021-01-15T04:30:00Z",
	    "2021-01-22T04:30:00Z", "2021-01-29T04:30:00Z" } },
	{ "UTC", "30 4 1,15 * 5", "2021-01-29T04:30:00Z", { "2021-02-01T04:30:00Z" } },
	/* A step of 1 over all weekdays still restricts day-of-week: the 15th OR any
	 * weekday, so every day. */
	{ "UTC", "0 0 15 * */1", "2021-01-01T00:00:00Z",
	  { "2021-01-02T00:00:00Z", "2021-01-03T00:00:00Z" } },
	/* Only day-of-week restricted: Sundays. 2021-01-03 is a Sunday; 7 = 0. */
	{ "UTC", "0 0 * * 7", "2021-01-01T00:00:00Z",
	  { "2021-01-03T00:00:00Z", "2021-01-10T00:00:00Z" } },
	/* Fri-Sun: Jan 1 2021 (Fri) 12:00 is past midnight, so Sat 2, Sun 3, Fri 8. */
	{ "UTC", "0 0 * * 5-7", "2021-01-01T12:00:00Z",
	  { "2021-01-02T00:00:00Z", "2021-01-03T00:00:00Z", "2021-01-08T00:00:00Z" } },
	/* L: last day; February 2021 has 28 days, 2024 has 29. */
	{ "UTC", "0 0 L * *", "2021-02-01T00:00:00Z",
	  { "2021-02-28T00:00:00Z", "2021-03-31T00:00:00Z", "2021-04-30T00:00:00Z" } },
	{ "UTC", "0 0 L 2 *", "2023-03-01T00:00:00Z", { "2024-02-29T00:00:00Z", "2025-02-28T00:00:00Z" } },
	/* LW: Jan 31 2021 is a Sunday -> Fri 29; Feb 28 Sunday -> Fri 26; Mar 31 is a
	 * Wednesday -> 31. */
	{ "UTC", "0 0 LW * *", "2021-01-01T00:00:00Z",
	  { "2021-01-29T00:00:00Z", "2021-02-26T00:00:00Z", "2021-03-31T00:00:00Z" } },
	/* LW when the last day is a Saturday: Jul 31 2021 -> Fri 30. */
	{ "UTC", "0 0 LW 7 *", "2021-01-01T00:00:00Z", { "2021-07-30T00:00:00Z" } },
	/* 15W: May 15 2021 is a Saturday -> Fri 14; Aug 15 2021 a Sunday -> Mon 16. */
	{ "UTC", "0 0 15W 5,8 *", "2021-01-01T00:00:00Z",
	  { "2021-05-14T00:00:00Z", "2021-08-16T00:00:00Z" } },
	/* 1W: May 1 2021 is a Saturday -> Monday 3 (not Friday Apr 30); Aug 1 2021 is
	 * a Sunday -> Monday 2. */
	{ "UTC", "0 0 1W 5,8 *", "2021-01-01T00:00:00Z",
	  { "2021-05-03T00:00:00Z", "2021-08-02T00:00:00Z" } },
	/* 31W: only months with a 31st; Oct 31 2021 is a Sunday and the last day ->
	 * Friday 29; Dec 31 2021 is a Friday. */
	{ "UTC", "0 0 31W * *", "2021-09-01T00:00:00Z",
	  { "2021-10-29T00:00:00Z", "2021-12-31T00:00:00Z" } },
	/* 30W in February never fires: the next is March 30 2021 (a Tuesday). */
	{ "UTC", "0 0 30W 2,3 *", "2021-02-01T00:00:00Z", { "2021-03-30T00:00:00Z" } },
	/* 5L: last Friday; Jan 2021: 29, Feb 2021: 26. */
	{ "UTC", "0 0 ? * 5L", "2021-01-01T00:00:00Z",
	  { "2021-01-29T00:00:00Z", "2021-02-26T00:00:00Z" } },
	/* 1#1: first Monday; Feb 1 and Mar 1 2021 are Mondays, Apr 1 a Thursday -> 5. */
	{ "UTC", "0 0 ? * MON#1", "2021-01-05T00:00:00Z",
	  { "2021-02-01T00:00:00Z", "2021-03-01T00:00:00Z", "2021-04-05T00:00:00Z" } },
	/* 5#5: fifth Friday; Jan 2021 Fridays 1..29 -> 29; Feb and Mar have four;
	 * April's are 2..30 -> 30. */
	{ "UTC", "0 0 ? * 5#5", "2021-01-01T00:00:00Z",
	  { "2021-01-29T00:00:00Z", "2021-04-30T00:00:00Z" } },
	/* Leap day far away, then never. */
	{ "UTC", "0 0 0 29 2 ? 2096", "1970-01-01T00:00:00Z", { "2096-02-29T00:00:00Z", "never" } },
	{ "UTC", "0 0 29 2 *", "2021-03-01T00:00:00Z", { "2024-02-29T00:00:00Z", "2028-02-29T00:00:00Z" } },
	/* Never: Feb 30, a past year, and after the last year. */
	{ "UTC", "0 0 30 2 *", "1970-01-01T00:00:00Z", { "never" } },
	{ "UTC", "0 0 31 2,4,6,9,11 *", "1970-01-01T00:00:00Z", { "never" } },
	{ "UTC", "0 0 1 1 * 2020", "2021-01-01T00:00:00Z", { "never" } },
	{ "UTC", "* * * * *", "2100-01-01T00:00:00Z", { "never" } },
	{ "UTC", "59 23 31 12 * 2099", "2099-12-31T00:00:00Z", { "2099-12-31T23:59:00Z", "never" } },
	/* Years with a step. */
	{ "UTC", "0 0 1 1 * 2030-2040/5", "2021-01-01T00:00:00Z",
	  { "2030-01-01T00:00:00Z", "2035-01-01T00:00:00Z", "2040-01-01T00:00:00Z", "never" } },
	/* Before 1970 the first fire is the first matching second of 1970. */
	{ "UTC", "@yearly", "1900-01-01T00:00:00Z", { "1970-01-01T00:00:00Z", "1971-01-01T00:00:00Z" } },
	/* @weekly: Sunday midnight; 2021-01-03 is a Sunday. */
	{ "UTC", "@weekly", "2021-01-01T00:00:00Z", { "2021-01-03T00:00:00Z", "2021-01-10T00:00:00Z" } },
	{ "UTC", "@hourly", "2021-01-01T00:59:59Z", { "2021-01-01T01:00:00Z", "2021-01-01T02:00:00Z" } },
	/* Across a year end. */
	{ "UTC", "0 0 * * *", "2021-12-31T00:00:00Z", { "2022-01-01T00:00:00Z" } },
};

static void test_next_utc(void)
{
	run_cases(utc_cases, sizeof utc_cases / sizeof utc_cases[0]);
}

static const Case dst_cases[] = {
	/* America/New_York, cron.md section 6 verbatim: 2021-03-14 02:00 EST -> 03:00 EDT. */
	{ "America/New_York", "30 2 * * *", "2021-03-13T12:00:00-05:00",
	  { "2021-03-14T03:00:00-04:00", "2021-03-15T02:30:00-04:00" } },
	{ "America/New_York", "0 0 * * * ? *", "2021-03-14T00:30:00-05:00",
	  { "2021-03-14T01:00:00-05:00", "2021-03-14T03:00:00-04:00", "2021-03-14T04:00:00-04:00" } },
	{ "America/New_York", "*/15 * * * *", "2021-03-14T01:40:00-05:00",
	  { "2021-03-14T01:45:00-05:00", "2021-03-14T03:00:00-04:00", "2021-03-14T03:15:00-04:00" } },
	/* Gap times 02:00 and 02:30 collapse into one fire at 03:00 EDT, which also is
	 * the regular 03:00; then 03:30. */
	{ "America/New_York", "0,30 2,3 * * *", "2021-03-14T00:00:00-05:00",
	  { "2021-03-14T03:00:00-04:00", "2021-03-14T03:30:00-04:00", "2021-03-15T02:00:00-04:00" } },
	/* Fall back 2021-11-07 02:00 EDT -> 01:00 EST: 01:30 happens twice. Hour 1 only
	 * is not hourly: the first only. */
	{ "America/New_York", "30 1 * * *", "2021-11-06T12:00:00-04:00",
	  { "2021-11-07T01:30:00-04:00", "2021-11-08T01:30:00-05:00" } },
	{ "America/New_York", "*/30 1 * * *", "2021-11-07T00:00:00-04:00",
	  { "2021-11-07T01:00:00-04:00", "2021-11-07T01:30:00-04:00", "2021-11-08T01:00:00-05:00" } },
	/* Starting inside the second 01:xx, the first 01:30 was already in the past. */
	{ "America/New_York", "30 1 * * *", "2021-11-07T01:10:00-05:00", { "2021-11-08T01:30:00-05:00" } },
	/* Hourly: both 01:30s. */
	{ "America/New_York", "30 * * * *", "2021-11-07T00:00:00-04:00",
	  { "2021-11-07T00:30:00-04:00", "2021-11-07T01:30:00-04:00", "2021-11-07T01:30:00-05:00",
	    "2021-11-07T02:30:00-05:00" } },
	{ "America/New_York", "0 * * * *", "2021-11-07T00:30:00-04:00",
	  { "2021-11-07T01:00:00-04:00", "2021-11-07T01:00:00-05:00", "2021-11-07T02:00:00-05:00" } },
	/* Beyond the file's last transition (2037) the footer rule EST5EDT,M3.2.0,M11.1.0
	 * decides: second Sunday of March 2090 is March 12 (March 1 2090 is a Wednesday). */
	{ "America/New_York", "30 2 * * *", "2090-03-11T12:00:00-05:00",
	  { "2090-03-12T03:00:00-04:00", "2090-03-13T02:30:00-04:00" } },

	/* Europe/London 2021-03-28 01:00 GMT -> 02:00 BST: 01:30 fires at 02:00 BST. */
	{ "Europe/London", "30 1 * * *", "2021-03-27T12:00:00Z",
	  { "2021-03-28T02:00:00+01:00", "2021-03-29T01:30:00+01:00" } },
	/* 2021-10-31 02:00 BST -> 01:00 GMT: first 01:30 only. */
	{ "Europe/London", "30 1 * * *", "2021-10-30T12:00:00Z",
	  { "2021-10-31T01:30:00+01:00", "2021-11-01T01:30:00+00:00" } },
	{ "Europe/London", "0 0 * * *", "2021-03-27T12:00:00Z",
	  { "2021-03-28T00:00:00+00:00", "2021-03-29T00:00:00+01:00" } },

	/* Europe/Berlin 2021-03-28 02:00 CET -> 03:00 CEST: 02:15 fires at 03:00 CEST. */
	{ "Europe/Berlin", "15 2 * * *", "2021-03-27T12:00:00+01:00",
	  { "2021-03-28T03:00:00+02:00", "2021-03-29T02:15:00+02:00" } },
	/* 2021-10-31 03:00 CEST -> 02:00 CET: 02:00 and 02:30 of the first pass only. */
	{ "Europe/Berlin", "*/30 2 * * *", "2021-10-31T00:00:00+02:00",
	  { "2021-10-31T02:00:00+02:00", "2021-10-31T02:30:00+02:00", "2021-11-01T02:00:00+01:00" } },
	/* Hours 2-3: 02:00 first pass (CEST), then 03:00 (CET, once). */
	{ "Europe/Berlin", "0 2-3 * * *", "2021-10-30T12:00:00Z",
	  { "2021-10-31T02:00:00+02:00", "2021-10-31T03:00:00+01:00", "2021-11-01T02:00:00+01:00" } },

	/* Australia/Sydney 2021-04-04 03:00 AEDT -> 02:00 AEST: 02:30 twice. */
	{ "Australia/Sydney", "30 2 * * *", "2021-04-03T12:00:00+11:00",
	  { "2021-04-04T02:30:00+11:00", "2021-04-05T02:30:00+10:00" } },
	{ "Australia/Sydney", "30 * * * *", "2021-04-04T01:00:00+11:00",
	  { "2021-04-04T01:30:00+11:00", "2021-04-04T02:30:00+11:00", "2021-04-04T02:30:00+10:00",
	    "2021-04-04T03:30:00+10:00" } },
	/* 2021-10-03 02:00 AEST -> 03:00 AEDT. */
	{ "Australia/Sydney", "30 2 * * *", "2021-10-02T12:00:00+10:00",
	  { "2021-10-03T03:00:00+11:00", "2021-10-04T02:30:00+11:00" } },

	/* Australia/Lord_Howe, half-hour shifts. 2021-10-03 02:00 +1030 -> 02:30 +11:
	 * 02:15 is in the gap (fires at 02:30 +11), 02:45 is not. */
	{ "Australia/Lord_Howe", "15 2 * * *", "2021-10-02T12:00:00+10:30",
	  { "2021-10-03T02:30:00+11:00", "2021-10-04T02:15:00+11:00" } },
	{ "Australia/Lord_Howe", "45 2 * * *", "2021-10-02T12:00:00+10:30",
	  { "2021-10-03T02:45:00+11:00" } },
	/* Hourly or finer skips 02:00, 02:10 and 02:20. */
	{ "Australia/Lord_Howe", "*/10 * * * *", "2021-10-03T01:50:00+10:30",
	  { "2021-10-03T02:30:00+11:00", "2021-10-03T02:40:00+11:00" } },
	/* 2021-04-04 02:00 +11 -> 01:30 +1030: 01:30-01:59 twice. */
	{ "Australia/Lord_Howe", "45 1 * * *", "2021-04-03T12:00:00+11:00",
	  { "2021-04-04T01:45:00+11:00", "2021-04-05T01:45:00+10:30" } },
	{ "Australia/Lord_Howe", "45 * * * *", "2021-04-04T01:00:00+11:00",
	  { "2021-04-04T01:45:00+11:00", "2021-04-04T01:45:00+10:30", "2021-04-04T02:45:00+10:30" } },
	/* Starting in the first pass of the overlap, at 01:50 +11: the second 01:40
	 * (+1030, 15:10Z) is still ahead, and hourly schedules fire it. */
	{ "Australia/Lord_Howe", "40 * * * *", "2021-04-04T01:50:00+11:00",
	  { "2021-04-04T01:40:00+10:30", "2021-04-04T02:40:00+10:30" } },
	/* 01:15 is before the overlap: once. */
	{ "Australia/Lord_Howe", "15 * * * *", "2021-04-04T01:00:00+11:00",
	  { "2021-04-04T01:15:00+11:00", "2021-04-04T02:15:00+10:30" } },

	/* America/Santiago changes at midnight. 2021-09-05 00:00 -04 -> 01:00 -03: the
	 * midnight of Sep 5 does not exist and fires at 01:00 -03. */
	{ "America/Santiago", "0 0 * * *", "2021-09-04T12:00:00-04:00",
	  { "2021-09-05T01:00:00-03:00", "2021-09-06T00:00:00-03:00" } },
	{ "America/Santiago", "30 0 * * *", "2021-09-04T12:00:00-04:00", { "2021-09-05T01:00:00-03:00" } },
	{ "America/Santiago", "0 * * * *", "2021-09-04T23:30:00-04:00",
	  { "2021-09-05T01:00:00-03:00", "2021-09-05T02:00:00-03:00" } },
	/* 2021-04-04 00:00 -03 -> Apr 3 23:00 -04: 23:30 of Apr 3 twice, first only. */
	{ "America/Santiago", "30 23 * * *", "2021-04-03T12:00:00-03:00",
	  { "2021-04-03T23:30:00-03:00", "2021-04-04T23:30:00-04:00" } },
	/* Hourly on the 3rd only: from 23:40 -03 the repeated 23:30 (-04) is still
	 * ahead, though the next match on the wall clock after 23:40 is May 3. */
	{ "America/Santiago", "30 * 3 * *", "2021-04-03T23:40:00-03:00",
	  { "2021-04-03T23:30:00-04:00", "2021-05-03T00:30:00-04:00" } },
	/* Midnight of Apr 4 is reached once, after the repeated hour. */
	{ "America/Santiago", "0 0 * * *", "2021-04-03T12:00:00-03:00", { "2021-04-04T00:00:00-04:00" } },

	/* America/Sao_Paulo: 2018-11-04 00:00 -03 -> 01:00 -02. */
	{ "America/Sao_Paulo", "0 0 * * *", "2018-11-03T12:00:00-03:00",
	  { "2018-11-04T01:00:00-02:00", "2018-11-05T00:00:00-02:00" } },
	/* 2019-02-17 00:00 -02 -> Feb 16 23:00 -03. */
	{ "America/Sao_Paulo", "30 23 * * *", "2019-02-16T12:00:00-02:00",
	  { "2019-02-16T23:30:00-02:00", "2019-02-17T23:30:00-03:00" } },
	/* No DST since 2019: November 2019 midnights are plain -03. */
	{ "America/Sao_Paulo", "0 0 * * *", "2019-11-02T12:00:00-03:00",
	  { "2019-11-03T00:00:00-03:00", "2019-11-04T00:00:00-03:00" } },

	/* Pacific/Apia skipped 2011-12-30 (Dec 29 24:00 -10 -> Dec 31 00:00 +14): a
	 * 24-hour gap, skipped by everyone. */
	{ "Pacific/Apia", "0 12 * * *", "2011-12-28T00:00:00Z",
	  { "2011-12-28T12:00:00-10:00", "2011-12-29T12:00:00-10:00", "2011-12-31T12:00:00+14:00" } },
	{ "Pacific/Apia", "0 0 30 12 *", "2011-12-01T00:00:00Z", { "2012-12-30T00:00:00+14:00" } },
	/* An ordinary 1-hour gap there: 2011-09-24 03:00 -11 -> 04:00 -10. */
	{ "Pacific/Apia", "30 3 * * *", "2011-09-23T12:00:00-11:00",
	  { "2011-09-24T04:00:00-10:00", "2011-09-25T03:30:00-10:00" } },

	/* Asia/Kolkata, +05:30 all year: midnight is 18:30 UTC the day before. */
	{ "Asia/Kolkata", "0 0 * * *", "2021-01-01T00:00:00+05:30",
	  { "2021-01-01T18:30:00Z", "2021-01-02T18:30:00Z" } },
	/* Minutes 0 and 45 of the +05:30 wall clock: 00:00Z is 05:30 IST, so 05:45 IST
	 * (00:15Z), then 06:00 IST (00:30Z). */
	{ "Asia/Kolkata", "*/45 * * * *", "2021-01-01T00:00:00Z",
	  { "2021-01-01T00:15:00Z", "2021-01-01T00:30:00Z" } },

	/* Asia/Kathmandu, +05:45; on 1986-01-01 00:00 +0530 -> 00:15 +0545. */
	{ "Asia/Kathmandu", "0 0 * * *", "2021-01-01T00:00:00+05:45",
	  { "2021-01-01T18:15:00Z", "2021-01-02T18:15:00Z" } },
	{ "Asia/Kathmandu", "0 0 * * *", "1985-12-31T12:00:00+05:30",
	  { "1986-01-01T00:15:00+05:45", "1986-01-02T00:00:00+05:45" } },
	{ "Asia/Kathmandu", "20 0 * * *", "1985-12-31T12:00:00+05:30",
	  { "1986-01-01T00:20:00+05:45" } },
	{ "Asia/Kathmandu", "*/5 * * * *", "1985-12-31T23:50:00+05:30",
	  { "1985-12-31T23:55:00+05:30", "1986-01-01T00:15:00+05:45", "1986-01-01T00:20:00+05:45" } },
};

static void test_next_dst(void)
{
	run_cases(dst_cases, sizeof dst_cases / sizeof dst_cases[0]);
}

/* Extreme and odd arguments: no crash, no overflow, sane answers. */
static void test_next_edges(void)
{
	const Zone *z = zone("America/New_York");
	Cron c;
	char why[256];
	if (z == NULL || cron_parse("* * * * *", &c, why, sizeof why) != 0)
		return;
	CHECK(cron_next(&c, INT64_MAX, 0, z) == CRON_NEVER);
	CHECK(cron_next(&c, INT64_MAX, 999999999, z) == CRON_NEVER);
	CHECK(cron_next(&c, CRON_NEVER - 1, 0, z) == CRON_NEVER);
	/* 1970-01-01 00:00 EST = 05:00 UTC. */
	CHECK(cron_next(&c, INT64_MIN, 0, z) == 5 * 3600);
	CHECK(cron_next(&c, INT64_MIN, -999999999, z) == 5 * 3600);
	/* Out-of-range nanoseconds are carried. */
	int64_t t = instant("2021-06-01T12:00:00Z", NULL);
	CHECK(cron_next(&c, t, 60L * 1000000000L, z) == t + 120);
	CHECK(cron_next(&c, t, -1, z) == t);          /* 1 ns before t: t itself matches */
	CHECK(cron_next(&c, t - 1, 999999999, z) == t);
	/* The wall-clock matcher: 2021-01-08 is a Friday, 2021-01-09 a Saturday. */
	Cron d;
	CHECK(cron_parse("30 4 1,15 * 5", &d, why, sizeof why) == 0);
	CHECK(cron_match_civil(&d, 2021, 1, 8, 4, 30, 0));
	CHECK(cron_match_civil(&d, 2021, 1, 15, 4, 30, 0));
	CHECK(!cron_match_civil(&d, 2021, 1, 9, 4, 30, 0));
	CHECK(!cron_match_civil(&d, 2021, 1, 8, 4, 30, 1));
	CHECK(!cron_match_civil(&d, 2100, 1, 1, 4, 30, 0));
	CHECK(cron_parse(NULL, &d, why, sizeof why) == -EINVAL);
	/* Many calls in a row never go backwards and are minute-spaced. */
	int64_t prev = t;
	for (int i = 0; i < 2000; i++) {
		int64_t x = cron_next(&c, prev, 0, z);
		CHECK(x == prev + 60);
		prev = x;
	}
}

/* ---- property test: random expressions against a brute-force model ---- */

/* A deterministic generator (xorshift64*). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static int rn(int n) /* [0, n) */
{
	return (int)(rnd() % (uint64_t)n);
}

static int rr(int a, int b) /* [a, b] */
{
	return a + rn(b - a + 1);
}

/* What the generator meant, kept independently of the parser. */
typedef struct Model {
	uint8_t sec[60], min[60], hour[24], mon[13], dom[32], dow[7], year[130];
	int dom_all, dow_all, dom_l, dom_lw;
	uint8_t dom_w[32], dow_l[7], dow_nth[7][6];
} Model;

static const char *const mnames[] = { "", "jan", "FEB", "Mar", "apr", "May", "JUN", "jul",
	                              "August", "september", "OCT", "nov", "December" };
static const char *const dnames[] = { "sun", "Mon", "TUE", "wed", "Thursday", "fri", "SAT" };

typedef struct Gen {
	char buf[256];
	size_t n;
} Gen;

static void emit(Gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void emit(Gen *g, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vsnprintf(g->buf + g->n, sizeof g->buf - g->n, fmt, ap);
	va_end(ap);
	if (r > 0)
		g->n += (size_t)r;
}

/* A value of a field as text: a number, sometimes zero-padded, or a name.
 * Returns 1 for a day-of-week name. */
static int emit_val(Gen *g, int kind, int v, int end)
{
	if (kind == 4 && v >= 1 && rn(3) == 0) {
		emit(g, "%s", mnames[v]);
	} else if (kind == 5 && rn(3) == 0 && (v != 7 || end)) {
		emit(g, "%s", dnames[v % 7]);
		return 1;
	} else if (v < 10 && kind != 6 && rn(6) == 0) {
		emit(g, "0%d", v);
	} else {
		emit(g, "%d", v);
	}
	return 0;
}

/* a-b of day-of-week as text; the model's idea of its end: a SUN at the end is
 * 7, except in SUN-SUN. */
static int emit_range(Gen *g, int kind, int a, int b)
{
	int na = emit_val(g, kind, a, 0);
	emit(g, "-");
	int nb = emit_val(g, kind, b, 1);
	if (kind == 5 && nb && b % 7 == 0)
		b = na && a == 0 ? 0 : 7;      /* "sun-sun" is Sunday, "0-sun" all week */
	return b;
}

/* One field (kind 0..6 = second..year) of the model, as text. dense: favour
 * values that make the schedule fire often. */
static void gen_field(Gen *g, Model *m, int kind)
{
	static const int lo[] = { 0, 0, 0, 1, 1, 0, 1970 }, hi[] = { 59, 59, 23, 31, 12, 6, 2099 };
	uint8_t *set = kind == 0 ? m->sec : kind == 1 ? m->min : kind == 2 ? m->hour :
	               kind == 3 ? m->dom : kind == 4 ? m->mon : kind == 5 ? m->dow : m->year;
	int base = kind == 6 ? 1970 : 0;
	int nel = rn(4) == 0 ? rr(2, 3) : 1;
	for (int e = 0; e < nel; e++) {
		if (e > 0)
			emit(g, ",");
		int r = rn(100);
		int a = rr(lo[kind], hi[kind]), b = rr(a, hi[kind]), st = rr(1, kind == 6 ? 40 : hi[kind]);
		if (kind == 2 && rn(2) == 0) { /* hours around typical transitions */
			a = rr(0, 3);
			b = rr(a, 4);
		}
		if (kind == 6) {         /* years around the start times */
			a = rr(1971, 2060);
			b = rr(a, 2099);
		}
		if (r < 30 || (kind >= 3 && r < 60)) {
			emit(g, "%s", rn(4) == 0 ? "?" : "*");
			for (int v = lo[kind]; v <= hi[kind]; v++)
				set[v - base] = 1;
			if (kind == 3)
				m->dom_all = 1;
			if (kind == 5)
				m->dow_all = 1;
			continue;
		}
		if (kind == 3 && r < 70) {
			int s = rn(3);
			if (s == 0) {
				emit(g, "L");
				m->dom_l = 1;
			} else if (s == 1) {
				emit(g, "LW");
				m->dom_lw = 1;
			} else {
				int d = rr(1, 31);
				emit(g, "%dW", d);
				m->dom_w[d] = 1;
			}
			continue;
		}
		if (kind == 5 && r < 75) {
			int d = rr(0, 7);
			if (rn(2) == 0) {
				if (rn(2) == 0)
					emit(g, "%dL", d);
				else
					emit(g, "%sL", dnames[d % 7]);
				m->dow_l[d % 7] = 1;
			} else {
				int k = rr(1, 5);
				emit(g, "%d#%d", d, k);
				m->dow_nth[d % 7][k] = 1;
			}
			continue;
		}
		if (kind == 5) {         /* day-of-week values run 0-7 */
			a = rr(0, 7);
			b = rr(a, 7);
			st = rr(1, 6);
		}
		if (r < 75) {
			emit_val(g, kind, a, 0);
			set[kind == 5 ? a % 7 : a - base] = 1;
		} else if (r < 85) {
			b = emit_range(g, kind, a, b);
			for (int v = a; v <= b; v++)
				set[kind == 5 ? v % 7 : v - base] = 1;
		} else if (r < 90) {
			emit(g, "*/%d", st);
			for (int v = lo[kind]; v <= hi[kind]; v += st)
				set[v - base] = 1;
		} else if (r < 95) {
			if (kind == 5 && a == 7)
				a = 6;
			emit_val(g, kind, a, 0);
			emit(g, "/%d", st);
			for (int v = a; v <= hi[kind]; v += st)
				set[v - base] = 1;
		} else {
			b = emit_range(g, kind, a, b);
			emit(g, "/%d", st);
			for (int v = a; v <= b; v += st)
				set[kind == 5 ? v % 7 : v - base] = 1;
		}
	}
}

/* A random expression in one of the three forms. *minutes_only: second is 0. */
static void gen_expr(Gen *g, Model *m, int *minutes_only)
{
	memset(m, 0, sizeof *m);
	g->n = 0;
	g->buf[0] = 0;
	int form = rn(10) < 6 ? 5 : rn(2) ? 6 : 7;
	*minutes_only = form != 7;
	if (form == 7) {
		if (rn(2) == 0) {
			emit(g, "0");
			m->sec[0] = 1;
			*minutes_only = 1;
		} else {
			gen_field(g, m, 0);
		}
		emit(g, " ");
	} else {
		m->sec[0] = 1;
	}
	for (int k = 1; k <= 5; k++) {
		gen_field(g, m, k);
		emit(g, k < 5 ? " " : "");
	}
	if (form >= 6) {
		emit(g, " ");
		if (rn(3) == 0)
			gen_field(g, m, 6);
		else {
			emit(g, "*");
			memset(m->year, 1, sizeof m->year);
		}
	} else {
		memset(m->year, 1, sizeof m->year);
	}
}

/* Independent calendar: days in month and weekday (Sakamoto's method). */
static int mdays(int y, int mo)
{
	static const int d[] = { 0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0) ? 29 : d[mo];
}

static int wday(int y, int mo, int d)
{
	static const int t[] = { 0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4 };
	if (mo < 3)
		y -= 1;
	return (y + y / 4 - y / 100 + y / 400 + t[mo - 1] + d) % 7;
}

static int model_day(const Model *m, int y, int mo, int d)
{
	int nd = mdays(y, mo), wd = wday(y, mo, d);
	int dom = m->dom[d] || (m->dom_l && d == nd);
	if (m->dom_lw) {
		int l = nd, lw = wday(y, mo, nd);
		if (lw == 6)
			l = nd - 1;
		else if (lw == 0)
			l = nd - 2;
		dom |= d == l;
	}
	for (int n = 1; n <= nd; n++) {
		if (!m->dom_w[n])
			continue;
		int w = wday(y, mo, n), t = n;
		if (w == 6)
			t = n == 1 ? 3 : n - 1;
		else if (w == 0)
			t = n == nd ? n - 2 : n + 1;
		dom |= d == t;
	}
	int dow = m->dow[wd] || (m->dow_l[wd] && d + 7 > nd) || m->dow_nth[wd][(d - 1) / 7 + 1];
	if (!m->dom_all && !m->dow_all)
		return dom || dow;
	if (!m->dom_all)
		return dom;
	if (!m->dow_all)
		return dow;
	return 1;
}

static int model_wall(const Model *m, const struct tm *tm)
{
	int y = tm->tm_year + 1900;
	return y >= 1970 && y <= 2099 && m->year[y - 1970] && m->mon[tm->tm_mon + 1] &&
	       m->hour[tm->tm_hour] && m->min[tm->tm_min] && m->sec[tm->tm_sec] &&
	       model_day(m, y, tm->tm_mon + 1, tm->tm_mday);
}

static int model_hourly(const Model *m)
{
	for (int h = 0; h < 24; h++)
		if (!m->hour[h])
			return 0;
	return 1;
}

/* Transitions of z in [from, to], found by sampling every 30 minutes and
 * bisecting (all zones used here change on whole minutes after 1970). */
typedef struct Trans {
	int64_t at;
	int before, after;
} Trans;

static int find_trans(const Zone *z, int64_t from, int64_t to, Trans *out, int max)
{
	int n = 0;
	int prev = zone_offset(z, from, NULL);
	for (int64_t t = from + 1800; t <= to + 1800 && n < max; t += 1800) {
		int o = zone_offset(z, t, NULL);
		if (o == prev)
			continue;
		int64_t a = t - 1800, b = t;   /* offset(a) == prev, offset(b) != prev */
		while (b - a > 1) {
			int64_t mid = a + (b - a) / 2;
			if (zone_offset(z, mid, NULL) == prev)
				a = mid;
			else
				b = mid;
		}
		out[n++] = (Trans){ b, prev, zone_offset(z, b, NULL) };
		prev = o;
	}
	return n;
}

/* Whether instant x fires, by the contract, given the transitions around it. */
static int model_fires(const Model *m, const Zone *z, int64_t x, const Trans *tr, int ntr)
{
	struct tm tm;
	int hourly = model_hourly(m);
	zone_civil(z, x, &tm);
	if (model_wall(m, &tm)) {
		if (hourly)
			return 1;
		/* A repeat: within a fall-back's overlap after its transition. */
		int repeat = 0;
		for (int i = 0; i < ntr; i++)
			if (tr[i].before > tr[i].after && x >= tr[i].at &&
			    x < tr[i].at + (tr[i].before - tr[i].after))
				repeat = 1;
		if (!repeat)
			return 1;
	}
	for (int i = 0; i < ntr; i++) {
		if (tr[i].at != x || tr[i].after <= tr[i].before || hourly ||
		    tr[i].after - tr[i].before > 3 * 3600)
			continue;
		/* The gap's wall times are those of [x + before, x + after): shown by
		 * the UTC breakdown of x + offset. */
		for (int64_t w = x + tr[i].before; w < x + tr[i].after; w++) {
			struct tm g;
			time_t tt = (time_t)w;
			gmtime_r(&tt, &g);
			if (model_wall(m, &g))
				return 1;
		}
	}
	return 0;
}

static void test_property(void)
{
	static const char *const names[] = {
		"UTC", "America/New_York", "Europe/London", "Europe/Berlin", "Australia/Sydney",
		"Australia/Lord_Howe", "America/Santiago", "America/Sao_Paulo", "Pacific/Apia",
		"Asia/Kathmandu", "Antarctica/Troll", "Africa/Casablanca", "Europe/Dublin",
		"Pacific/Chatham",
	};
	enum { NNAMES = sizeof names / sizeof names[0] };
	int cases = 0, fired_in_window = 0, near_transition = 0;
	const char *env = getenv("JOBD_SANITIZED");
	int total = env != NULL && *env == '1' ? 4000 : 12000;
	for (int it = 0; it < total; it++) {
		const char *zn = names[rn(NNAMES)];
		const Zone *z = zone(zn);
		if (z == NULL)
			return;
		Model m;
		Gen g;
		int minutes_only;
		gen_expr(&g, &m, &minutes_only);
		Cron c;
		char why[256], b1[64], b2[64];
		if (cron_parse(g.buf, &c, why, sizeof why) != 0) {
			unit_fail(__FILE__, __LINE__, "generated '%s' rejected: %s", g.buf, why);
			continue;
		}
		/* The start: anywhere, or close to one of the zone's transitions. */
		int64_t start;
		Trans tr[16];
		int year = rr(1972, 2095);
		int64_t y0 = (int64_t)(year - 1970) * 31556952;
		if (rn(2) == 0 && strcmp(zn, "UTC") != 0) {
			int n = find_trans(z, y0, y0 + 366 * 86400LL, tr, 16);
			if (n > 0) {
				start = tr[rn(n)].at + rr(-2 * 86400, 6 * 3600);
				near_transition++;
			} else {
				start = y0 + rn(365 * 86400);
			}
		} else {
			start = y0 + rn(365 * 86400);
		}
		if (minutes_only && rn(2) == 0)
			start -= start % 60;   /* whole minutes are a common start */
		long nsec = rn(4) == 0 ? rn(1000000000) : 0;
		int64_t got = cron_next(&c, start, nsec, z);
		cases++;
		CHECKF(got > start, "'%s' %s from %s: %s is not after", g.buf, zn,
		       show(z, start, b1, sizeof b1), show(z, got, b2, sizeof b2));
		/* Brute force over a window after start. */
		int64_t window = minutes_only ? 4 * 86400 : 8 * 3600;
		int64_t end = got < start + window ? got : start + window;
		int ntr = find_trans(z, start - 3 * 86400, end, tr, 16);
		int64_t step = minutes_only ? 60 : 1;
		int64_t x = start + 1;
		if (minutes_only)
			x = start - ((start % 60) + 60) % 60 + 60;
		int bad = 0;
		for (; x < end && !bad; x += step) {
			if (model_fires(&m, z, x, tr, ntr)) {
				char b3[64];
				unit_fail(__FILE__, __LINE__, "'%s' %s from %s: got %s but %s fires earlier",
				          g.buf, zn, show(z, start, b1, sizeof b1), show(z, got, b2, sizeof b2),
				          show(z, x, b3, sizeof b3));
				bad = 1;
			}
		}
		/* Transition instants inside the window that are not on the step grid. */
		for (int i = 0; i < ntr && !bad; i++)
			if (tr[i].at > start && tr[i].at < end && model_fires(&m, z, tr[i].at, tr, ntr)) {
				unit_fail(__FILE__, __LINE__, "'%s' %s: gap fire at %s missed (got %s)", g.buf,
				          zn, show(z, tr[i].at, b1, sizeof b1), show(z, got, b2, sizeof b2));
				bad = 1;
			}
		if (got != CRON_NEVER) {
			/* The result itself fires (a regular match or a gap transition). */
			Trans tr2[16];
			int n2 = find_trans(z, got - 3 * 86400, got + 3600, tr2, 16);
			CHECKF(model_fires(&m, z, got, tr2, n2), "'%s' %s from %s: %s does not fire",
			       g.buf, zn, show(z, start, b1, sizeof b1), show(z, got, b2, sizeof b2));
			if (got < start + window)
				fired_in_window++;
			/* And the next call goes forward. */
			int64_t again = cron_next(&c, got, 0, z);
			CHECKF(again > got, "'%s' %s: next after %s is %s", g.buf, zn,
			       show(z, got, b1, sizeof b1), show(z, again, b2, sizeof b2));
		}
	}
	/* The generator must actually exercise things. */
	CHECKF(fired_in_window > cases / 3, "only %d of %d cases fired within the window",
	       fired_in_window, cases);
	CHECKF(near_transition > cases / 4, "only %d of %d cases near a transition", near_transition,
	       cases);
	printf("# property: %d cases, %d fired within the window, %d near a transition\n", cases,
	       fired_in_window, near_transition);
}

/* The parser never crashes on junk and always explains itself. */
static void test_parse_fuzz(void)
{
	static const char alphabet[] = "0123456789*/-,?#LWlw \tJANmonSUNfri@x";
	for (int i = 0; i < 20000; i++) {
		char s[40];
		int n = rn(sizeof s - 1);
		for (int k = 0; k < n; k++)
			s[k] = alphabet[rn(sizeof alphabet - 1)];
		s[n] = 0;
		Cron c;
		char why[256] = "";
		int r = cron_parse(s, &c, why, sizeof why);
		CHECKF(r == 0 || (r == -EINVAL && why[0] != 0 && strchr(why, ':') != NULL),
		       "'%s': r=%d why='%s'", s, r, why);
		if (r == 0) {
			/* Whatever parses can be asked for its next fire. */
			int64_t x = cron_next(&c, 1600000000, 0, zone("UTC"));
			CHECK(x > 1600000000);
		}
	}
}

int main(void)
{
	unit_prog = "t_cron";
	unit_run("parse_accept", test_parse_accept);
	unit_run("parse_reject", test_parse_reject);
	unit_run("parse_fuzz", test_parse_fuzz);
	unit_run("next_utc", test_next_utc);
	unit_run("next_dst", test_next_dst);
	unit_run("next_edges", test_next_edges);
	unit_run("property", test_property);
	for (int i = 0; i < NZONES; i++)
		zone_free(zones[i].z);
	return unit_done();
}
