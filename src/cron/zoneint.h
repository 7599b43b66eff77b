/* Private to src/cron: the Zone layout, calendar arithmetic, and the view of a
 * zone as a sequence of segments that cron_next walks.
 *
 * A zone's timeline is cut by transitions at[0] < at[1] < ... < at[nt-1].
 * Segment i (0 <= i < nt) is [at[i], at[i+1]) (the last one is unbounded) and
 * has one offset; segment -1 is everything before at[0] (type0). The table holds
 * the file's transitions followed by those its footer rule generates up to
 * ZONE_TABLE_END, so between 1900 and 2200 every lookup is one binary search.
 * Consecutive entries always differ in offset, DST flag or abbreviation. */
#ifndef JOBD_CRON_ZONEINT_H
#define JOBD_CRON_ZONEINT_H

#include <stdint.h>

#include "cron/zone.h"

enum { ZONE_TABLE_END_YEAR = 2200 };

typedef struct ZoneType {
	int32_t off;           /* seconds east of UTC */
	uint8_t isdst;
	uint16_t abbr;         /* index into Zone.chars */
} ZoneType;

/* One date of a POSIX TZ rule: Jn, n or Mm.w.d, and the local time of day. */
typedef struct ZoneDate {
	char kind;             /* 'J', 'n' or 'M' */
	int16_t day;           /* J: 1-365, n: 0-365, M: d 0-6 */
	uint8_t mon, week;     /* M only */
	int32_t time;          /* seconds after local midnight, -167h..167h */
} ZoneDate;

/* A POSIX TZ string such as "CET-1CEST,M3.5.0,M10.5.0/3". */
typedef struct ZoneRule {
	int has_dst;
	uint16_t std_type, dst_type;   /* indexes into Zone.types */
	ZoneDate start, end;
} ZoneRule;

struct Zone {
	char *name;            /* as loaded, "Local" for the local zone */
	int64_t *at;           /* transition instants, ascending */
	uint16_t *ti;          /* type index in force from at[i] on; in at's block */
	int nt;
	ZoneType *types;
	int ntypes;
	uint16_t type0;        /* type before at[0] */
	char *chars;           /* NUL-terminated abbreviations */
	int nchars;
	int has_rule;
	ZoneRule rule;
	int64_t dyn_lo, dyn_hi;        /* with a rule, outside [dyn_lo, dyn_hi) evaluate it */
	int32_t omin, omax;            /* extreme offsets of the table's types */
};

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12). */
static inline int64_t civil_to_days(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;                                   /* [0, 399] */
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  /* [0, 365] */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
	return era * 146097 + doe - 719468;
}

/* Inverse of civil_to_days. */
static inline void civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
	days += 719468;
	int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	int64_t doe = days - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* 0 = Sunday. */
static inline int civil_weekday(int64_t days)
{
	int64_t w = (days + 4) % 7;
	return (int)(w < 0 ? w + 7 : w);
}

static inline int civil_is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static inline int civil_month_days(int64_t y, int m)
{
	static const unsigned char n[13] = { 0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && civil_is_leap(y) ? 29 : n[m];
}

/* Floor division of instants into days. */
static inline int64_t civil_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* ---- zone.c: segments ---- */

/* The segment holding instant t: the largest i with at[i] <= t, or -1. */
int zone_seg_find(const Zone *z, int64_t t);

static inline int64_t zone_seg_start(const Zone *z, int i)
{
	return i < 0 ? INT64_MIN : z->at[i];
}

static inline int64_t zone_seg_end(const Zone *z, int i)
{
	return i + 1 < z->nt ? z->at[i + 1] : INT64_MAX;
}

static inline int32_t zone_seg_off(const Zone *z, int i)
{
	return z->types[i < 0 ? z->type0 : z->ti[i]].off;
}

#endif
