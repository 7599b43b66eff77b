/* Unit tests for src/cron/zone.c: loading (names, $TZ, corrupt files), offsets
 * and civil time cross-checked against glibc's independent implementation,
 * POSIX TZ rules, and the two time formats. */
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cron/zone.h"
#include "unit.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static int64_t rnd_range(int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}

static Zone *load(const char *name)
{
	char why[256] = "";
	Zone *z = zone_load(name, why, sizeof why);
	CHECKF(z != NULL, "zone_load(%s): %s (is tzdata installed?)", name ? name : "NULL", why);
	return z;
}

/* Compares z with glibc's view of the same zone (TZ already set) at instant t.
 * Returns 0 when they agree. */
static int compare_glibc(const Zone *z, const char *label, int64_t t)
{
	struct tm g, m;
	time_t tt = (time_t)t;
	if (localtime_r(&tt, &g) == NULL)
		return 0;
	zone_civil(z, t, &m);
	const char *abbr;
	int off = zone_offset(z, t, &abbr);
	int same = g.tm_year == m.tm_year && g.tm_mon == m.tm_mon && g.tm_mday == m.tm_mday &&
	           g.tm_hour == m.tm_hour && g.tm_min == m.tm_min && g.tm_sec == m.tm_sec &&
	           g.tm_wday == m.tm_wday && g.tm_yday == m.tm_yday && g.tm_isdst == m.tm_isdst &&
	           g.tm_gmtoff == m.tm_gmtoff && off == m.tm_gmtoff &&
	           strcmp(g.tm_zone, m.tm_zone) == 0 && strcmp(abbr, m.tm_zone) == 0;
	CHECKF(same,
	       "%s at %lld: glibc %04d-%02d-%02d %02d:%02d:%02d wd%d yd%d dst%d %ld %s, "
	       "ours %04d-%02d-%02d %02d:%02d:%02d wd%d yd%d dst%d %ld %s",
	       label, (long long)t, g.tm_year + 1900, g.tm_mon + 1, g.tm_mday, g.tm_hour, g.tm_min,
	       g.tm_sec, g.tm_wday, g.tm_yday, g.tm_isdst, g.tm_gmtoff, g.tm_zone, m.tm_year + 1900,
	       m.tm_mon + 1, m.tm_mday, m.tm_hour, m.tm_min, m.tm_sec, m.tm_wday, m.tm_yday,
	       m.tm_isdst, m.tm_gmtoff, m.tm_zone);
	return !same;
}

/* Checks instants of z against glibc: random ones over 1901-2400, and the
 * seconds around each of z's transitions (found by sampling). */
static int crosscheck(const Zone *z, const char *label, int64_t lo, int nrandom)
{
	int bad = 0;
	const int64_t hi = 13569465600;   /* 2400 */
	for (int i = 0; i < nrandom && bad < 3; i++)
		bad += compare_glibc(z, label, rnd_range(lo, hi));
	/* Around transitions between 1970 and 2100, every 6 hours. */
	int prev = zone_offset(z, 0, NULL);
	for (int64_t t = 21600; t < 4102444800 && bad < 3; t += 21600) {
		int o = zone_offset(z, t, NULL);
		if (o == prev)
			continue;
		prev = o;
		int64_t a = t - 21600, b = t;
		while (b - a > 1) {
			int64_t mid = a + (b - a) / 2;
			if (zone_offset(z, mid, NULL) == zone_offset(z, a, NULL))
				a = mid;
			else
				b = mid;
		}
		for (int64_t d = -2; d <= 1 && bad < 3; d++)
			bad += compare_glibc(z, label, b + d);
	}
	return bad;
}

static void set_tz(const char *tz)
{
	if (tz == NULL)
		unsetenv("TZ");
	else
		setenv("TZ", tz, 1);
	tzset();
}

/* Every zone of zone1970.tab plus some odd ones, against glibc. */
static void test_glibc_zones(void)
{
	static const char *const extra[] = {
		"UTC", "Etc/GMT+5", "Etc/GMT-14", "EST5EDT", "CST6CDT", "Europe/Dublin",
		"Africa/Casablanca", "America/Godthab", "Asia/Tehran", "Pacific/Chatham",
		"Antarctica/Troll", "America/Caracas", "Europe/Moscow", "Asia/Gaza",
		"America/Asuncion", "Pacific/Kiritimati", "Australia/Eucla", "Asia/Kolkata",
	};
	FILE *f = fopen("/usr/share/zoneinfo/zone1970.tab", "r");
	CHECKF(f != NULL, "no /usr/share/zoneinfo/zone1970.tab: is tzdata installed?");
	char line[512], names[600][64];
	int n = 0;
	for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
		snprintf(names[n++], sizeof names[0], "%s", extra[i]);
	while (f != NULL && n < 600 && fgets(line, sizeof line, f) != NULL) {
		if (line[0] == '#')
			continue;
		char *p = line;
		for (int col = 0; col < 2 && p != NULL; col++)
			if ((p = strchr(p, '\t')) != NULL)
				p++;
		if (p == NULL)
			continue;
		size_t l = strcspn(p, "\t\n");
		snprintf(names[n++], sizeof names[0], "%.*s", (int)l, p);
	}
	if (f != NULL)
		fclose(f);
	CHECKF(n > 300, "only %d zones listed", n);
	int checked = 0;
	for (int i = 0; i < n; i++) {
		Zone *z = load(names[i]);
		if (z == NULL)
			continue;
		char tz[80];
		snprintf(tz, sizeof tz, ":%.63s", names[i]);
		set_tz(tz);
		crosscheck(z, names[i], -(int64_t)2147483647, 300);  /* from 1901 */
		zone_free(z);
		checked++;
	}
	set_tz(NULL);
	printf("# glibc cross-check: %d zones\n", checked);
}

/* POSIX TZ strings given as $TZ (not files) against glibc. */
static void test_glibc_posix(void)
{
	static const char *const tzs[] = {
		"CET-1CEST,M3.5.0,M10.5.0/3",
		"<+0330>-3:30",
		"<-0245>2:45",
		"AEST-10AEDT,M10.1.0,M4.1.0/3",            /* southern hemisphere */
		"IST-2IDT,M3.4.4/26,M10.5.0",              /* hour 26 */
		"<-03>3<-02>,M3.5.0/-2,M10.5.0/-1",        /* negative times */
		"NZST-12NZDT,M9.5.0,M4.1.0/3",
		"XXX3YYY,J60/2,300/-1",                    /* Jn and n forms */
		"AAA-5BBB-6:30,59/0:30:15,J1/23:59:59",
		"PST8PDT,M3.2.0/2:00:00,M11.1.0/2:00:00",
		"<+14>-14",
		"UTC0",
		"AAA+3BBB,M4.1.0/-100,M9.5.6/150",         /* large times within the year */
	};
	/* Not compared: rules whose dates cross a year boundary, where glibc looks at
	 * the current UTC year's rule only ("EST5EDT4,0/0,J365/25", DST all year per
	 * RFC 8536 3.3.1, is standard time for glibc on December 31 evenings). Those
	 * are worked by hand in test_posix_rules. */
	char why[256];
	for (size_t i = 0; i < sizeof tzs / sizeof tzs[0]; i++) {
		set_tz(tzs[i]);
		Zone *z = zone_load(NULL, why, sizeof why);
		CHECKF(z != NULL, "TZ=%s: %s", tzs[i], why);
		if (z == NULL)
			continue;
		CHECK(strcmp(zone_name(z), "Local") == 0);
		/* glibc applies POSIX rules only from 1970 on; we apply them to all years. */
		crosscheck(z, tzs[i], 0, 3000);
		zone_free(z);
	}
	set_tz(NULL);
}

/* Worked by hand: the rule "EST5EDT4,0/0,J365/25" is DST all year; Jn never counts
 * February 29 while n does. */
static void test_posix_rules(void)
{
	char why[256];
	set_tz("EST5EDT4,0/0,J365/25");
	Zone *z = zone_load(NULL, why, sizeof why);
	CHECKF(z != NULL, "%s", why);
	if (z != NULL) {
		for (int64_t t = 0; t < 4102444800; t += 86400 * 37 + 3601)
			CHECKF(zone_offset(z, t, NULL) == -4 * 3600, "at %lld", (long long)t);
		zone_free(z);
	}
	/* J60 is March 1 even in leap years; 59 (zero-based) is Feb 29 in them.
	 * 2024: DST from Mar 1 02:00 std (05:00Z, std -3) to day 300 (zero-based, in
	 * a leap year: Oct 27) at -1:00, i.e. Oct 26 23:00 DST (-2) = Oct 27 01:00Z. */
	set_tz("XXX3YYY,J60/2,300/-1");
	z = zone_load(NULL, why, sizeof why);
	CHECKF(z != NULL, "%s", why);
	if (z != NULL) {
		const char *abbr;
		int64_t mar1 = 1709251200;         /* 2024-03-01T00:00:00Z */
		CHECK(zone_offset(z, mar1 + 5 * 3600 - 1, &abbr) == -3 * 3600 && strcmp(abbr, "XXX") == 0);
		CHECK(zone_offset(z, mar1 + 5 * 3600, &abbr) == -2 * 3600 && strcmp(abbr, "YYY") == 0);
		int64_t oct27 = 1729987200;        /* 2024-10-27T00:00:00Z */
		CHECK(zone_offset(z, oct27 + 3600 - 1, NULL) == -2 * 3600);
		CHECK(zone_offset(z, oct27 + 3600, NULL) == -3 * 3600);
		zone_free(z);
	}
	/* A start that falls in the previous year: "M1.1.0/-120" in 2025 is the
	 * first Sunday (Jan 5) minus 120 h = 2024-12-31 00:00 std (-12) = 12:00Z.
	 * Ends: first Saturday of December + 100 h, DST (-11): 2024-12-07 -> Dec 11
	 * 04:00 = 15:00Z; 2025-12-06 -> Dec 10 04:00 = 15:00Z. */
	set_tz("ABC+12DEF+11,M1.1.0/-120,M12.1.6/100");
	z = zone_load(NULL, why, sizeof why);
	CHECKF(z != NULL, "%s", why);
	if (z != NULL) {
		CHECK(zone_offset(z, 1733929200 - 1, NULL) == -11 * 3600);
		CHECK(zone_offset(z, 1733929200, NULL) == -12 * 3600);
		CHECK(zone_offset(z, 1735646400 - 1, NULL) == -12 * 3600);
		CHECK(zone_offset(z, 1735646400, NULL) == -11 * 3600);
		CHECK(zone_offset(z, 1765378800 - 1, NULL) == -11 * 3600);
		CHECK(zone_offset(z, 1765378800, NULL) == -12 * 3600);
		/* The same far in the future, where the rule is evaluated directly. */
		for (int64_t y = 2300; y < 2310; y++) {
			int64_t jun = (y - 1970) * 31556952;
			CHECK(zone_offset(z, jun + 180 * 86400, NULL) == -11 * 3600);
		}
		zone_free(z);
	}
	/* Overlapping years ("-167 .. 167") load and give one of the two offsets. */
	set_tz("ABC+12DEF+11,M1.1.0/-167,M12.5.6/167");
	z = zone_load(NULL, why, sizeof why);
	CHECKF(z != NULL, "%s", why);
	for (int i = 0; z != NULL && i < 1000; i++) {
		int o = zone_offset(z, rnd_range(-4000000000, 14000000000), NULL);
		CHECK(o == -12 * 3600 || o == -11 * 3600);
	}
	zone_free(z);
	set_tz(NULL);
}

/* Far beyond the files' 2037 horizon, the footer rule decides. */
static void test_footer(void)
{
	Zone *ny = load("America/New_York"), *syd = load("Australia/Sydney");
	if (ny != NULL) {
		const char *abbr;
		/* 2500-07-01T12:00:00Z: summer, EDT. */
		CHECK(zone_offset(ny, 16740907200, &abbr) == -4 * 3600 && strcmp(abbr, "EDT") == 0);
		/* 2500-01-01T12:00:00Z: EST. */
		CHECK(zone_offset(ny, 16725268800, &abbr) == -5 * 3600 && strcmp(abbr, "EST") == 0);
		/* Second Sunday of March 2090 (March 1 is a Wednesday): the 12th; 02:00 EST
		 * is 07:00Z = 3792985200. */
		CHECK(zone_offset(ny, 3792985200 - 1, NULL) == -5 * 3600);
		CHECK(zone_offset(ny, 3792985200, NULL) == -4 * 3600);
	}
	if (syd != NULL) {
		/* January 2500 is summer in Sydney: AEDT. */
		CHECK(zone_offset(syd, 16725268800, NULL) == 11 * 3600);
		CHECK(zone_offset(syd, 16740907200, NULL) == 10 * 3600);
	}
	zone_free(ny);
	zone_free(syd);
}

static void test_names(void)
{
	static const char *const bad[] = {
		"../etc/passwd", "/etc/localtime", "Europe/../Europe/Paris", "Europe//Paris",
		"Europe/", "./UTC", "Europe/./Paris", "Foo Bar", "Europe/Paris\n", "a;b", "..",
		"Europe/Paris/",
	};
	char why[256];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why[0] = 0;
		Zone *z = zone_load(bad[i], why, sizeof why);
		CHECKF(z == NULL, "'%s' accepted", bad[i]);
		CHECKF(strstr(why, "bad time zone name") != NULL, "'%s': %s", bad[i], why);
		zone_free(z);
	}
	static const char *const unknown[] = { "Mars/Olympus_Mons", "Europe", "Europe/Pariss" };
	for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
		why[0] = 0;
		Zone *z = zone_load(unknown[i], why, sizeof why);
		CHECKF(z == NULL, "'%s' accepted", unknown[i]);
		CHECKF(strstr(why, unknown[i]) != NULL, "'%s': %s", unknown[i], why);
		zone_free(z);
	}
	Zone *z = load("Europe/Paris");
	if (z != NULL) {
		CHECK(strcmp(zone_name(z), "Europe/Paris") == 0);
		zone_free(z);
	}
	z = load("UTC");
	if (z != NULL) {
		const char *abbr;
		CHECK(zone_offset(z, 1600000000, &abbr) == 0 && strcmp(abbr, "UTC") == 0);
		zone_free(z);
	}
}

static void test_local(void)
{
	char why[256];
	const char *abbr;
	/* TZ unset: /etc/localtime, or UTC without one. */
	set_tz(NULL);
	Zone *z = zone_load(NULL, why, sizeof why);
	CHECKF(z != NULL, "%s", why);
	if (z != NULL) {
		CHECK(strcmp(zone_name(z), "Local") == 0);
		struct tm g;
		time_t t = 1600000000;
		localtime_r(&t, &g);
		CHECK(zone_offset(z, t, NULL) == g.tm_gmtoff);
		zone_free(z);
	}
	static const struct {
		const char *tz;
		int off;                           /* at 2021-07-01T00:00:00Z */
	} ok[] = {
		{ "", 0 },
		{ ":", 0 },
		{ ":Europe/Paris", 7200 },
		{ "Europe/Paris", 7200 },
		{ ":/usr/share/zoneinfo/Asia/Tokyo", 9 * 3600 },
		{ "EST5EDT", -4 * 3600 },
		{ "UTC0", 0 },
		{ "<+03>-3", 3 * 3600 },
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		set_tz(ok[i].tz);
		z = zone_load(i % 2 ? "" : "Local", why, sizeof why);
		CHECKF(z != NULL, "TZ='%s': %s", ok[i].tz, why);
		if (z == NULL)
			continue;
		CHECK(strcmp(zone_name(z), "Local") == 0);
		CHECKF(zone_offset(z, 1625097600, &abbr) == ok[i].off, "TZ='%s'", ok[i].tz);
		zone_free(z);
	}
	static const char *const bad[] = { "garbage!!", "Mars/Olympus", ":/nonexistent/zone", "AB5",
		                           "EST5EDT,M3", "CET-1CEST,M13.1.0,M10.5.0" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		set_tz(bad[i]);
		why[0] = 0;
		z = zone_load(NULL, why, sizeof why);
		CHECKF(z == NULL, "TZ='%s' accepted", bad[i]);
		CHECKF(strstr(why, "TZ") != NULL, "TZ='%s': %s", bad[i], why);
		zone_free(z);
	}
	set_tz(NULL);
}

/* ---- hand-made TZif files under a private TZDIR ---- */

typedef struct Buf {
	unsigned char b[4096];
	size_t n;
} Buf;

static void put(Buf *b, const void *p, size_t n)
{
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void put32(Buf *b, int64_t v)
{
	uint32_t u = (uint32_t)v;
	unsigned char x[4] = { (unsigned char)(u >> 24), (unsigned char)(u >> 16), (unsigned char)(u >> 8),
		               (unsigned char)u };
	put(b, x, 4);
}

static void put64(Buf *b, int64_t v)
{
	put32(b, (int64_t)((uint64_t)v >> 32));
	put32(b, v);
}

static void put_hdr(Buf *b, char version, int isut, int isstd, int leap, int time, int type, int chr)
{
	put(b, "TZif", 4);
	put(b, &version, 1);
	static const unsigned char zero[15];
	put(b, zero, 15);
	put32(b, isut);
	put32(b, isstd);
	put32(b, leap);
	put32(b, time);
	put32(b, type);
	put32(b, chr);
}

/* A zone with transitions at 1000000000 (-> type 1) and 2000000000 (-> type 0). */
static void put_block(Buf *b, char version, int wide)
{
	put_hdr(b, version, 0, 0, 0, 2, 2, 8);
	if (wide) {
		put64(b, 1000000000);
		put64(b, 2000000000);
	} else {
		put32(b, 1000000000);
		put32(b, 2000000000);
	}
	put(b, "\1\0", 2);
	put32(b, -3600);
	put(b, "\0\0", 2);                 /* -3600, std, "AAA" */
	put32(b, 7200);
	put(b, "\1\4", 2);                 /* +7200, dst, "BBB" */
	put(b, "AAA\0BBB\0", 8);
}

static char tzdir[64];

static void write_zone(const char *name, const Buf *b)
{
	char path[128];
	snprintf(path, sizeof path, "%s/%s", tzdir, name);
	FILE *f = fopen(path, "wb");
	CHECKF(f != NULL, "cannot write %s", path);
	if (f != NULL) {
		fwrite(b->b, 1, b->n, f);
		fclose(f);
	}
}

static void test_tzif_files(void)
{
	snprintf(tzdir, sizeof tzdir, "/tmp/t_zone.%d", (int)getpid());
	CHECK(mkdir(tzdir, 0700) == 0);
	setenv("TZDIR", tzdir, 1);
	Buf b;
	char why[256];
	const char *abbr;

	/* Version 1: 32-bit data, no footer. Before the first transition: type 0. */
	b.n = 0;
	put_block(&b, 0, 0);
	write_zone("v1", &b);
	Zone *z = zone_load("v1", why, sizeof why);
	CHECKF(z != NULL, "v1: %s", why);
	if (z != NULL) {
		CHECK(zone_offset(z, 999999999, &abbr) == -3600 && strcmp(abbr, "AAA") == 0);
		CHECK(zone_offset(z, 1000000000, &abbr) == 7200 && strcmp(abbr, "BBB") == 0);
		CHECK(zone_offset(z, 2000000000, &abbr) == -3600);
		CHECK(zone_offset(z, INT64_MAX, NULL) == -3600);
		CHECK(zone_offset(z, INT64_MIN, NULL) == -3600);
		struct tm tm;
		zone_civil(z, 1000000000, &tm);     /* 2001-09-09T01:46:40Z + 2h */
		CHECK(tm.tm_year == 101 && tm.tm_mon == 8 && tm.tm_mday == 9 && tm.tm_hour == 3 &&
		      tm.tm_min == 46 && tm.tm_sec == 40 && tm.tm_isdst == 1 && tm.tm_wday == 0);
		zone_free(z);
	}

	/* Version 2 with a footer rule taking over after 2000000000 (2033-05-18). */
	b.n = 0;
	put_block(&b, '2', 0);
	put_block(&b, '2', 1);
	put(&b, "\nAAA1BBB-2,M3.5.0,M10.5.0/3\n", 29);
	write_zone("v2", &b);
	z = zone_load("v2", why, sizeof why);
	CHECKF(z != NULL, "v2: %s", why);
	if (z != NULL) {
		/* 2040-07-01T00:00:00Z: summer: BBB +2; 2040-01-01: AAA -1. */
		CHECK(zone_offset(z, 2224713600, &abbr) == 7200 && strcmp(abbr, "BBB") == 0);
		CHECK(zone_offset(z, 2208988800, &abbr) == -3600 && strcmp(abbr, "AAA") == 0);
		zone_free(z);
	}

	/* Version 2 with no transitions at all: the footer alone (like slim files). */
	b.n = 0;
	put_hdr(&b, '2', 0, 0, 0, 0, 1, 4);
	put32(&b, 0);
	put(&b, "\0\0", 2);
	put(&b, "UTC\0", 4);
	put_hdr(&b, '2', 0, 0, 0, 0, 1, 4);
	put32(&b, 3600);
	put(&b, "\0\0", 2);
	put(&b, "CET\0", 4);
	put(&b, "\nCET-1CEST,M3.5.0,M10.5.0/3\n", 29);
	write_zone("slim", &b);
	z = zone_load("slim", why, sizeof why);
	CHECKF(z != NULL, "slim: %s", why);
	if (z != NULL) {
		set_tz("CET-1CEST,M3.5.0,M10.5.0/3");
		crosscheck(z, "slim", 0, 2000);
		set_tz(NULL);
		zone_free(z);
	}

	/* Corrupt files: each fails with a reason that names the zone. */
	static const struct {
		const char *name;
		size_t cut;                     /* bytes of the v2 file kept, 0 = special */
		const char *reason;
	} bad[] = {
		{ "empty", 1, "not a TZif file" },
		{ "short", 30, "truncated" },
		{ "halfv2", 100, "truncated" },
		{ "leap", 0, "leap-second" },
		{ "junk", 0, "not a TZif file" },
		{ "footer", 0, "bad footer" },
		{ "order", 0, "out of order" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		b.n = 0;
		if (bad[i].cut > 0) {
			put_block(&b, '3', 0);
			put_block(&b, '3', 1);
			put(&b, "\nAAA1\n", 6);
			b.n = bad[i].cut - 1;
		} else if (strcmp(bad[i].name, "leap") == 0) {
			put_hdr(&b, 0, 0, 0, 1, 0, 1, 4);
			put32(&b, 0);
			put(&b, "\0\0", 2);
			put(&b, "UTC\0", 4);
			put32(&b, 78796800);
			put32(&b, 1);
		} else if (strcmp(bad[i].name, "junk") == 0) {
			put(&b, "hello, world\n", 13);
		} else if (strcmp(bad[i].name, "footer") == 0) {
			put_block(&b, '2', 0);
			put_block(&b, '2', 1);
			put(&b, "\nAAA1BBB,M13\n", 13);
		} else {
			put_hdr(&b, 0, 0, 0, 0, 2, 1, 4);
			put32(&b, 2000);
			put32(&b, 1000);
			put(&b, "\0\0", 2);
			put32(&b, 0);
			put(&b, "\0\0", 2);
			put(&b, "UTC\0", 4);
		}
		write_zone(bad[i].name, &b);
		why[0] = 0;
		z = zone_load(bad[i].name, why, sizeof why);
		CHECKF(z == NULL, "%s accepted", bad[i].name);
		CHECKF(strstr(why, bad[i].reason) != NULL && strstr(why, bad[i].name) != NULL, "%s: %s",
		       bad[i].name, why);
		zone_free(z);
	}
	/* A directory is not a zone. */
	char path[128];
	snprintf(path, sizeof path, "%s/dir", tzdir);
	CHECK(mkdir(path, 0700) == 0);
	why[0] = 0;
	z = zone_load("dir", why, sizeof why);
	CHECKF(z == NULL && strstr(why, "unknown time zone") != NULL, "dir: %s", why);
	zone_free(z);
	rmdir(path);
	static const char *const files[] = { "v1", "v2", "slim", "empty", "short", "halfv2",
		                             "leap", "junk", "footer", "order" };
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", tzdir, files[i]);
		unlink(path);
	}
	rmdir(tzdir);
	unsetenv("TZDIR");
}

static void test_format(void)
{
	Zone *chi = load("America/Chicago"), *utc = load("UTC"), *ktm = load("Asia/Kathmandu");
	Zone *ny = load("America/New_York");
	if (chi == NULL || utc == NULL || ktm == NULL || ny == NULL)
		goto out;
	char out[128];
	/* 2014-02-11T15:42:33Z is 09:42:33 CST. */
	int64_t t = 1392133353;
	size_t n = zone_format_go(chi, t, 454707331, 1, out, sizeof out);
	CHECKF(strcmp(out, "2014-02-11 09:42:33.454707331 -0600 CST") == 0, "%s", out);
	CHECK(n == strlen(out));
	zone_format_go(chi, t, 500000000, 1, out, sizeof out);
	CHECKF(strcmp(out, "2014-02-11 09:42:33.5 -0600 CST") == 0, "%s", out);
	zone_format_go(chi, t, 120, 1, out, sizeof out);
	CHECKF(strcmp(out, "2014-02-11 09:42:33.00000012 -0600 CST") == 0, "%s", out);
	zone_format_go(chi, t, 0, 1, out, sizeof out);
	CHECKF(strcmp(out, "2014-02-11 09:42:33 -0600 CST") == 0, "%s", out);
	zone_format_go(chi, t, 454707331, 0, out, sizeof out);
	CHECKF(strcmp(out, "2014-02-11 09:42:33 -0600 CST") == 0, "%s", out);
	zone_format_go(chi, t, -1, 1, out, sizeof out);
	CHECKF(strcmp(out, "2014-02-11 09:42:33 -0600 CST") == 0, "%s", out);
	zone_format_go(utc, 0, 0, 1, out, sizeof out);
	CHECKF(strcmp(out, "1970-01-01 00:00:00 +0000 UTC") == 0, "%s", out);
	zone_format_go(ktm, 1609459200, 0, 1, out, sizeof out);
	CHECKF(strcmp(out, "2021-01-01 05:45:00 +0545 +0545") == 0, "%s", out);
	/* Truncation: like snprintf. */
	char small[11];
	n = zone_format_go(chi, t, 0, 1, small, sizeof small);
	CHECK(n == strlen("2014-02-11 09:42:33 -0600 CST") && strcmp(small, "2014-02-11") == 0);

	/* RFC 3339: 2021-03-14T07:00:00Z is 03:00 EDT. */
	zone_format_rfc3339(ny, 1615705200, out, sizeof out);
	CHECKF(strcmp(out, "2021-03-14T03:00:00-04:00") == 0, "%s", out);
	zone_format_rfc3339(ny, 1615705199, out, sizeof out);
	CHECKF(strcmp(out, "2021-03-14T01:59:59-05:00") == 0, "%s", out);
	zone_format_rfc3339(utc, 1615705200, out, sizeof out);
	CHECKF(strcmp(out, "2021-03-14T07:00:00+00:00") == 0, "%s", out);
	zone_format_rfc3339(ktm, 1609459200, out, sizeof out);
	CHECKF(strcmp(out, "2021-01-01T05:45:00+05:45") == 0, "%s", out);
	/* Extremes do not crash. */
	zone_format_rfc3339(ny, INT64_MAX, out, sizeof out);
	zone_format_rfc3339(ny, INT64_MIN, out, sizeof out);
	zone_format_go(ny, INT64_MAX, 999999999, 1, out, sizeof out);
	zone_format_go(ny, INT64_MIN, 999999999999L, 1, out, sizeof out);
	struct tm tm;
	zone_civil(ny, INT64_MAX, &tm);
	zone_civil(ny, INT64_MIN, &tm);
	zone_civil(utc, -1, &tm);
	CHECK(tm.tm_year == 69 && tm.tm_mon == 11 && tm.tm_mday == 31 && tm.tm_hour == 23 &&
	      tm.tm_sec == 59 && tm.tm_wday == 3 && tm.tm_yday == 364);
out:
	zone_free(chi);
	zone_free(utc);
	zone_free(ktm);
	zone_free(ny);
}

static void test_rfc3339_parse(void)
{
	static const struct {
		const char *s;
		int64_t sec;
		long nsec;
	} ok[] = {
		{ "2021-03-14T03:00:00-04:00", 1615705200, 0 },
		{ "2021-03-14T07:00:00Z", 1615705200, 0 },
		{ "2021-03-14t07:00:00z", 1615705200, 0 },
		{ "2021-03-14T12:45:00+05:45", 1615705200, 0 },
		{ "1970-01-01T00:00:00Z", 0, 0 },
		{ "1969-12-31T23:59:59.5Z", -1, 500000000 },
		{ "2014-02-11T09:42:33.454707331-06:00", 1392133353, 454707331 },
		{ "2024-02-29T00:00:00.1+00:00", 1709164800, 100000000 },
		{ "2099-12-31T23:59:59Z", 4102444799, 0 },
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		int64_t sec = -7;
		long ns = -7;
		int r = time_parse_rfc3339(ok[i].s, &sec, &ns);
		CHECKF(r == 0 && sec == ok[i].sec && ns == ok[i].nsec, "%s: r=%d %lld %ld", ok[i].s, r,
		       (long long)sec, ns);
	}
	static const char *const bad[] = {
		"", "2021-03-14", "2021-03-14T03:00:00", "2021-03-14 03:00:00Z", "2021-3-14T03:00:00Z",
		"2021-13-01T00:00:00Z", "2021-00-01T00:00:00Z", "2021-02-29T00:00:00Z",
		"2021-04-31T00:00:00Z", "2021-01-01T24:00:00Z", "2021-01-01T00:60:00Z",
		"2021-01-01T00:00:60Z", "2021-01-01T00:00:00.Z", "2021-01-01T00:00:00.1234567890Z",
		"2021-01-01T00:00:00+24:00", "2021-01-01T00:00:00+05", "2021-01-01T00:00:00+0500",
		"2021-01-01T00:00:00Zjunk", "2021-01-01T00:00:00 Z", "x021-01-01T00:00:00Z",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int64_t sec;
		long ns;
		CHECKF(time_parse_rfc3339(bad[i], &sec, &ns) == -EINVAL, "'%s' accepted", bad[i]);
	}
	/* Round trip through the formatter in a few zones. */
	static const char *const zn[] = { "UTC", "America/New_York", "Asia/Kathmandu", "Pacific/Apia" };
	for (size_t k = 0; k < sizeof zn / sizeof zn[0]; k++) {
		Zone *z = load(zn[k]);
		if (z == NULL)
			continue;
		for (int i = 0; i < 500; i++) {
			int64_t t = rnd_range(0, 4102444799), back;
			long ns;
			char out[64];
			zone_format_rfc3339(z, t, out, sizeof out);
			CHECKF(time_parse_rfc3339(out, &back, &ns) == 0 && back == t && ns == 0, "%s %lld %s",
			       zn[k], (long long)t, out);
		}
		zone_free(z);
	}
}

int main(void)
{
	unit_prog = "t_zone";
	unit_run("names", test_names);
	unit_run("local", test_local);
	unit_run("tzif_files", test_tzif_files);
	unit_run("posix_rules", test_posix_rules);
	unit_run("footer", test_footer);
	unit_run("glibc_zones", test_glibc_zones);
	unit_run("glibc_posix", test_glibc_posix);
	unit_run("format", test_format);
	unit_run("rfc3339_parse", test_rfc3339_parse);
	return unit_done();
}
