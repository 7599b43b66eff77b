/* Schedule expressions: parsing and next-fire arithmetic, per doc cron.md (the
 * contract). Pure code: no globals, time is always an argument, zones are
 * passed in (see zone.h).
 *
 * Field forms (beware the 6-field one, it is NOT Quartz's seconds-first form):
 *   5 fields: minute hour day-of-month month day-of-week
 *   6 fields: minute hour day-of-month month day-of-week year
 *   7 fields: second minute hour day-of-month month day-of-week year
 * plus the macros @yearly @annually @monthly @weekly @daily @midnight @hourly.
 * When day-of-month and day-of-week are both restricted, a day matches if
 * either does (cronexpr's rule; Vixie cron differs for fields starting with *). */
#ifndef JOBD_CRON_CRON_H
#define JOBD_CRON_CRON_H

#include <stddef.h>
#include <stdint.h>

#include "cron/zone.h"

#define CRON_NEVER INT64_MAX

enum {
	CRON_YEAR_MIN = 1970,
	CRON_YEAR_MAX = 2099,
};

/* A parsed expression: a plain value (no pointers), copyable with =. */
typedef struct Cron {
	uint64_t sec;          /* bit s: second s (0-59) */
	uint64_t min;          /* bit m: minute m (0-59) */
	uint32_t hour;         /* bit h: hour h (0-23) */
	uint32_t dom;          /* bit d: day d (1-31) */
	uint32_t dom_w;        /* bit n: nW, the weekday nearest day n */
	uint16_t mon;          /* bit m: month m (1-12) */
	uint8_t dow;           /* bit w: weekday w (0 = Sunday .. 6) */
	uint8_t dow_last;      /* bit w: wL, the last weekday w of the month */
	uint8_t dow_nth[7];    /* dow_nth[w] bit k: w#k, the k-th weekday w (1-5) */
	uint8_t dom_l;         /* L: last day of the month */
	uint8_t dom_lw;        /* LW: last weekday (Mon-Fri) of the month */
	uint8_t dom_restricted, dow_restricted;  /* no list element is * or ? */
	uint8_t hourly;        /* the hour field admits all 24 hours */
	uint16_t mon_ok;       /* bit m: month m has a matching day in some year */
	uint64_t year[3];      /* bit y-1970 over the three words: year y (1970-2099) */
} Cron;

/* ---- cron.c ---- */

/* Parses `spec`. Returns 0, or -EINVAL with the reason in why, naming the field:
 * "day-of-week: '1-5#2': '#' needs a single weekday". */
int cron_parse(const char *spec, Cron *out, char *why, size_t n);

/* The earliest fire instant (unix seconds) strictly after the instant
 * after_sec + after_nsec/1e9, evaluated on the wall clock of z with the
 * daylight-saving rules of cron.md section 6; CRON_NEVER if there is none
 * (schedules end with 2099). */
int64_t cron_next(const Cron *c, int64_t after_sec, long after_nsec, const Zone *z);

/* Whether the wall-clock time (y, mon 1-12, d, h, m, s) matches the expression's
 * fields (no daylight-saving logic). */
int cron_match_civil(const Cron *c, int y, int mon, int d, int h, int m, int s);

#endif
