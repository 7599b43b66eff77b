/* Time zones read from TZif files (RFC 8536) and POSIX TZ strings, without
 * touching the C library's TZ state. See zone.h for the interface and
 * zoneint.h for the table layout. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cron/zoneint.h"
#include "util/util.h"

enum {
	MAX_FILE = 1 << 20,            /* largest TZif file we read */
	MAX_TRANS = 1 << 16,
	MAX_NAME = 255,
	MAX_ABBR = 32,
};

/* Instants whose civil form we compute are clamped to about ±1.1e9 years. */
#define ZONE_T_LIMIT ((int64_t)1 << 55)
/* Transition instants beyond ±2^60 are refused (tzdata's earliest is -2^59), so
 * that arithmetic on them cannot overflow. */
#define ZONE_AT_LIMIT ((int64_t)1 << 60)

static void *fail(char *why, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void *fail(char *why, size_t n, const char *fmt, ...)
{
	if (why != NULL && n > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, n, fmt, ap);
		va_end(ap);
	}
	return NULL;
}

void zone_free(Zone *z)
{
	if (z == NULL)
		return;
	free(z->name);
	free(z->at);            /* and ti, in the same block */
	free(z->types);
	free(z->chars);
	free(z);
}

const char *zone_name(const Zone *z)
{
	return z->name;
}

/* ---- the transition table ---- */

/* Room for n transitions: at[] and ti[], always as long as each other, in
 * one block that at points to. */
static void trans_alloc(int n, int64_t **at, uint16_t **ti)
{
	*at = xcalloc((size_t)n * (sizeof **at + sizeof **ti), 1);
	*ti = (uint16_t *)(*at + n);
}

/* ---- types and abbreviations ---- */

static int type_same(const Zone *z, int a, int b)
{
	const ZoneType *x = &z->types[a], *y = &z->types[b];
	return x->off == y->off && x->isdst == y->isdst &&
	       strcmp(z->chars + x->abbr, z->chars + y->abbr) == 0;
}

/* Index of a type with these properties, added if the zone has none yet. */
static int type_intern(Zone *z, int32_t off, int isdst, const char *abbr)
{
	for (int i = 0; i < z->ntypes; i++) {
		ZoneType *t = &z->types[i];
		if (t->off == off && t->isdst == isdst && strcmp(z->chars + t->abbr, abbr) == 0)
			return i;
	}
	size_t len = strlen(abbr) + 1;
	char *chars = xcalloc((size_t)z->nchars + len, 1);
	if (z->nchars > 0)
		memcpy(chars, z->chars, (size_t)z->nchars);
	memcpy(chars + z->nchars, abbr, len);
	free(z->chars);
	z->chars = chars;
	ZoneType *types = xcalloc((size_t)z->ntypes + 1, sizeof *types);
	if (z->ntypes > 0)
		memcpy(types, z->types, (size_t)z->ntypes * sizeof *types);
	free(z->types);
	z->types = types;
	z->types[z->ntypes] = (ZoneType){ off, (uint8_t)(isdst != 0), (uint16_t)z->nchars };
	z->nchars += (int)len;
	return z->ntypes++;
}

/* ---- POSIX TZ strings: std offset [dst [offset] [,start[/time],end[/time]]] ---- */

typedef struct Posix {
	char std[MAX_ABBR], dst[MAX_ABBR];
	int32_t std_off, dst_off;      /* seconds east */
	int has_dst;
	ZoneDate start, end;
} Posix;

static const char *posix_name(const char *p, char *out)
{
	size_t n = 0;
	if (*p == '<') {
		p++;
		while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		       (*p >= '0' && *p <= '9') || *p == '+' || *p == '-') {
			if (n + 1 >= MAX_ABBR)
				return NULL;
			out[n++] = *p++;
		}
		if (*p != '>' || n == 0)
			return NULL;
		p++;
	} else {
		while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')) {
			if (n + 1 >= MAX_ABBR)
				return NULL;
			out[n++] = *p++;
		}
		if (n < 3)
			return NULL;
	}
	out[n] = 0;
	return p;
}

static const char *posix_num(const char *p, int maxdigits, int *v)
{
	int n = 0, x = 0;
	while (*p >= '0' && *p <= '9') {
		if (++n > maxdigits)
			return NULL;
		x = x * 10 + (*p++ - '0');
	}
	if (n == 0)
		return NULL;
	*v = x;
	return p;
}

/* [+-]hh[:mm[:ss]] with hh <= maxh; the value in seconds. */
static const char *posix_hms(const char *p, int maxh, int32_t *secs)
{
	int sign = 1, h, m = 0, s = 0;
	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if ((p = posix_num(p, 3, &h)) == NULL || h > maxh)
		return NULL;
	if (*p == ':') {
		if ((p = posix_num(p + 1, 2, &m)) == NULL || m > 59)
			return NULL;
		if (*p == ':' && ((p = posix_num(p + 1, 2, &s)) == NULL || s > 59))
			return NULL;
	}
	*secs = sign * (h * 3600 + m * 60 + s);
	return p;
}

static const char *posix_date(const char *p, ZoneDate *d)
{
	int v, w, wd;
	if (*p == 'J') {
		if ((p = posix_num(p + 1, 3, &v)) == NULL || v < 1 || v > 365)
			return NULL;
		*d = (ZoneDate){ .kind = 'J', .day = (int16_t)v };
	} else if (*p == 'M') {
		if ((p = posix_num(p + 1, 2, &v)) == NULL || v < 1 || v > 12 || *p != '.')
			return NULL;
		if ((p = posix_num(p + 1, 1, &w)) == NULL || w < 1 || w > 5 || *p != '.')
			return NULL;
		if ((p = posix_num(p + 1, 1, &wd)) == NULL || wd > 6)
			return NULL;
		*d = (ZoneDate){ .kind = 'M', .day = (int16_t)wd, .mon = (uint8_t)v, .week = (uint8_t)w };
	} else {
		if ((p = posix_num(p, 3, &v)) == NULL || v > 365)
			return NULL;
		*d = (ZoneDate){ .kind = 'n', .day = (int16_t)v };
	}
	d->time = 2 * 3600;
	if (*p == '/' && (p = posix_hms(p + 1, 167, &d->time)) == NULL)
		return NULL;
	return p;
}

/* Parses a whole POSIX TZ string; 0 or -EINVAL. */
static int posix_parse(const char *s, Posix *x)
{
	const char *p = s;
	memset(x, 0, sizeof *x);
	if ((p = posix_name(p, x->std)) == NULL || (p = posix_hms(p, 24, &x->std_off)) == NULL)
		return -EINVAL;
	x->std_off = -x->std_off;
	if (*p == 0)
		return 0;
	if ((p = posix_name(p, x->dst)) == NULL)
		return -EINVAL;
	x->has_dst = 1;
	x->dst_off = x->std_off + 3600;
	if (*p != ',' && *p != 0) {
		if ((p = posix_hms(p, 24, &x->dst_off)) == NULL)
			return -EINVAL;
		x->dst_off = -x->dst_off;
	}
	if (*p == 0) {
		/* No rule: POSIX leaves it to the implementation; use the US one. */
		x->start = (ZoneDate){ .kind = 'M', .mon = 3, .week = 2, .day = 0, .time = 7200 };
		x->end = (ZoneDate){ .kind = 'M', .mon = 11, .week = 1, .day = 0, .time = 7200 };
		return 0;
	}
	if (*p != ',' || (p = posix_date(p + 1, &x->start)) == NULL)
		return -EINVAL;
	if (*p != ',' || (p = posix_date(p + 1, &x->end)) == NULL)
		return -EINVAL;
	return *p == 0 ? 0 : -EINVAL;
}

/* Day of the year (0 = January 1st) that a rule date names in year y. */
static int64_t rule_yday(const ZoneDate *d, int64_t y)
{
	switch (d->kind) {
	case 'J':
		return d->day - 1 + (civil_is_leap(y) && d->day >= 60);
	case 'n':
		return d->day;
	default: {
		int64_t first = civil_to_days(y, d->mon, 1);
		int mdays = civil_month_days(y, d->mon);
		int day = (d->day - civil_weekday(first) + 7) % 7 + 7 * (d->week - 1);
		while (day >= mdays)
			day -= 7;
		return first - civil_to_days(y, 1, 1) + day;
	}
	}
}

/* The instant of a rule date in year y, given the offset in force before it. */
static int64_t rule_instant(const ZoneDate *d, int64_t y, int32_t off_before)
{
	return (civil_to_days(y, 1, 1) + rule_yday(d, y)) * 86400 + d->time - off_before;
}

typedef struct RuleEvent {
	int64_t at;
	int dst;                       /* 1: DST starts, 0: DST ends */
} RuleEvent;

static int event_cmp(const void *a, const void *b)
{
	const RuleEvent *x = a, *y = b;
	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return x->dst - y->dst;        /* an end and a start at once: the start wins */
}

/* Events of years y0..y1, sorted; returns the count (2 per year). */
static int rule_events(const Zone *z, int64_t y0, int64_t y1, RuleEvent *ev)
{
	int32_t soff = z->types[z->rule.std_type].off, doff = z->types[z->rule.dst_type].off;
	int n = 0;
	for (int64_t y = y0; y <= y1; y++) {
		ev[n++] = (RuleEvent){ rule_instant(&z->rule.start, y, soff), 1 };
		ev[n++] = (RuleEvent){ rule_instant(&z->rule.end, y, doff), 0 };
	}
	qsort(ev, (size_t)n, sizeof *ev, event_cmp);
	return n;
}

static int64_t clamp_t(int64_t t)
{
	return t > ZONE_T_LIMIT ? ZONE_T_LIMIT : t < -ZONE_T_LIMIT ? -ZONE_T_LIMIT : t;
}

static int64_t year_of(int64_t t)
{
	int64_t y;
	int m, d;
	civil_from_days(civil_floor_div(clamp_t(t), 86400), &y, &m, &d);
	return y;
}

/* Type of instant t under the rule alone. */
static int rule_type_at(const Zone *z, int64_t t)
{
	RuleEvent ev[6];
	t = clamp_t(t);
	int64_t y = year_of(t + z->types[z->rule.std_type].off);
	int n = rule_events(z, y - 1, y + 1, ev), dst = !ev[0].dst;
	for (int i = 0; i < n && ev[i].at <= t; i++)
		dst = ev[i].dst;
	return dst ? z->rule.dst_type : z->rule.std_type;
}

/* Installs a parsed POSIX TZ as the zone's rule (or only type, with no DST). */
static void posix_install(Zone *z, const Posix *x)
{
	int std = type_intern(z, x->std_off, 0, x->std);
	if (!x->has_dst) {
		if (z->nt == 0)
			z->type0 = (uint16_t)std;
		return;
	}
	z->has_rule = 1;
	z->rule.has_dst = 1;
	z->rule.std_type = (uint16_t)std;
	z->rule.dst_type = (uint16_t)type_intern(z, x->dst_off, 1, x->dst);
	z->rule.start = x->start;
	z->rule.end = x->end;
}

/* Appends the rule's transitions after the file's up to ZONE_TABLE_END_YEAR, drops
 * transitions that change nothing, and computes the offset bounds. */
static void table_finish(Zone *z)
{
	int64_t y0 = 1900, last = INT64_MIN;
	RuleEvent *ev = NULL;
	int nev = 0;
	if (z->nt > 0) {
		last = z->at[z->nt - 1];
		y0 = year_of(last) - 1;
	}
	z->dyn_lo = INT64_MIN;
	z->dyn_hi = INT64_MAX;
	if (z->has_rule) {
		if (y0 < 1900)
			y0 = 1900;
		z->dyn_hi = civil_to_days(ZONE_TABLE_END_YEAR, 1, 1) * 86400;
		if (last != INT64_MIN && last >= z->dyn_hi)
			z->dyn_hi = last + 1;
		if (y0 <= ZONE_TABLE_END_YEAR) {
			ev = xcalloc((size_t)(ZONE_TABLE_END_YEAR - y0 + 1) * 2, sizeof *ev);
			nev = rule_events(z, y0, ZONE_TABLE_END_YEAR, ev);
		}
		if (z->nt == 0) {
			/* Only a rule: the table starts a year in; before, evaluate it. */
			z->dyn_lo = civil_to_days(y0 + 1, 1, 1) * 86400;
			z->type0 = nev > 0 && !ev[0].dst ? z->rule.dst_type : z->rule.std_type;
		}
	}
	int64_t *at;
	uint16_t *ti;
	trans_alloc(z->nt + nev, &at, &ti);
	int n = 0, prev = z->type0;
	for (int k = 0; k < z->nt + nev; k++) {
		int64_t t;
		int ty;
		if (k < z->nt) {
			t = z->at[k];
			ty = z->ti[k];
		} else {
			const RuleEvent *e = &ev[k - z->nt];
			if (e->at <= last)
				continue;
			t = e->at;
			ty = e->dst ? z->rule.dst_type : z->rule.std_type;
		}
		if (n > 0 && at[n - 1] == t) {        /* same instant: the later entry wins */
			n--;
			prev = n > 0 ? ti[n - 1] : z->type0;
		}
		if (type_same(z, prev, ty))
			continue;
		at[n] = t;
		ti[n] = (uint16_t)ty;
		n++;
		prev = ty;
	}
	free(ev);
	free(z->at);
	z->at = at;
	z->ti = ti;
	z->nt = n;
	z->omin = z->omax = z->types[z->type0].off;
	for (int i = 0; i < n; i++) {
		int32_t o = z->types[ti[i]].off;
		if (o < z->omin)
			z->omin = o;
		if (o > z->omax)
			z->omax = o;
	}
}

/* ---- TZif ---- */

typedef struct Cur {
	const unsigned char *p, *end;
	int bad;                       /* sticky: set by any read past the end */
} Cur;

static const unsigned char *cur_take(Cur *c, size_t n)
{
	if (c->bad || (size_t)(c->end - c->p) < n) {
		c->bad = 1;
		return NULL;
	}
	const unsigned char *r = c->p;
	c->p += n;
	return r;
}

static uint32_t cur_u32(Cur *c)
{
	const unsigned char *b = cur_take(c, 4);
	return b ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3] : 0;
}

static int64_t cur_i64(Cur *c)
{
	uint64_t hi = cur_u32(c), lo = cur_u32(c);
	uint64_t u = hi << 32 | lo;
	return u <= INT64_MAX ? (int64_t)u : -(int64_t)(~u) - 1;
}

static int32_t cur_i32(Cur *c)
{
	uint32_t u = cur_u32(c);
	return u <= INT32_MAX ? (int32_t)u : -(int32_t)(~u) - 1;
}

typedef struct Hdr {
	int version;
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
} Hdr;

static int hdr_read(Cur *c, Hdr *h)
{
	const unsigned char *b = cur_take(c, 20);
	if (b == NULL || memcmp(b, "TZif", 4) != 0)
		return -1;
	h->version = b[4];
	h->isutcnt = cur_u32(c);
	h->isstdcnt = cur_u32(c);
	h->leapcnt = cur_u32(c);
	h->timecnt = cur_u32(c);
	h->typecnt = cur_u32(c);
	h->charcnt = cur_u32(c);
	return c->bad ? -1 : 0;
}

/* Parses a TZif file into z (types, file transitions, footer rule). */
static Zone *tzif_parse(Zone *z, const unsigned char *buf, size_t len, const char *what,
                        char *why, size_t n)
{
	Cur c = { buf, buf + len, 0 };
	Hdr h;
	if (len < 4 || memcmp(buf, "TZif", 4) != 0)
		return fail(why, n, "zone '%s': not a TZif file", what);
	if (hdr_read(&c, &h) != 0)
		return fail(why, n, "zone '%s': truncated TZif file", what);
	int wide = 0;
	if (h.version >= '2') {
		/* Skip the 32-bit block; the 64-bit one follows with its own header. */
		uint64_t skip = (uint64_t)h.timecnt * 5 + (uint64_t)h.typecnt * 6 + h.charcnt +
		                (uint64_t)h.leapcnt * 8 + h.isstdcnt + h.isutcnt;
		if (skip > len || cur_take(&c, (size_t)skip) == NULL || hdr_read(&c, &h) != 0)
			return fail(why, n, "zone '%s': truncated TZif file", what);
		wide = 1;
	} else if (h.version != 0) {
		return fail(why, n, "zone '%s': unknown TZif version", what);
	}
	if (h.leapcnt != 0)
		return fail(why, n, "zone '%s': leap-second zone files are not supported", what);
	if (h.typecnt == 0 || h.typecnt > 256 || h.charcnt == 0 || h.charcnt > 65535 ||
	    h.timecnt > MAX_TRANS || (h.isstdcnt != 0 && h.isstdcnt != h.typecnt) ||
	    (h.isutcnt != 0 && h.isutcnt != h.typecnt))
		return fail(why, n, "zone '%s': bad TZif header", what);

	z->nt = (int)h.timecnt;
	trans_alloc((int)h.timecnt, &z->at, &z->ti);
	for (uint32_t i = 0; i < h.timecnt; i++) {
		z->at[i] = wide ? cur_i64(&c) : cur_i32(&c);
		if (z->at[i] < -ZONE_AT_LIMIT || z->at[i] > ZONE_AT_LIMIT)
			return fail(why, n, "zone '%s': transition out of range", what);
		if (i > 0 && z->at[i] <= z->at[i - 1] && !c.bad)
			return fail(why, n, "zone '%s': transitions out of order", what);
	}
	for (uint32_t i = 0; i < h.timecnt; i++) {
		const unsigned char *b = cur_take(&c, 1);
		if (b != NULL && *b >= h.typecnt)
			return fail(why, n, "zone '%s': bad transition type", what);
		z->ti[i] = b ? *b : 0;
	}
	z->ntypes = (int)h.typecnt;
	z->types = xcalloc(h.typecnt, sizeof *z->types);
	for (uint32_t i = 0; i < h.typecnt; i++) {
		int32_t off = cur_i32(&c);
		const unsigned char *b = cur_take(&c, 2);
		if (b == NULL)
			break;
		if (off < -89999 || off > 93599 || b[0] > 1 || b[1] >= h.charcnt)
			return fail(why, n, "zone '%s': bad local time type", what);
		z->types[i] = (ZoneType){ off, b[0], b[1] };
	}
	const unsigned char *chars = cur_take(&c, h.charcnt);
	if (chars != NULL) {
		if (chars[h.charcnt - 1] != 0)
			return fail(why, n, "zone '%s': unterminated abbreviation", what);
		z->nchars = (int)h.charcnt;
		z->chars = xcalloc(h.charcnt, 1);
		memcpy(z->chars, chars, h.charcnt);
	}
	cur_take(&c, (size_t)h.isstdcnt + h.isutcnt);
	if (c.bad)
		return fail(why, n, "zone '%s': truncated TZif file", what);

	if (wide && c.p < c.end) {
		const unsigned char *nl;
		if (*c.p != '\n' || (nl = memchr(c.p + 1, '\n', (size_t)(c.end - c.p - 1))) == NULL)
			return fail(why, n, "zone '%s': bad TZif footer", what);
		size_t flen = (size_t)(nl - c.p - 1);
		if (flen > 0) {
			char tz[256];
			Posix x;
			if (flen >= sizeof tz)
				return fail(why, n, "zone '%s': bad TZif footer", what);
			memcpy(tz, c.p + 1, flen);
			tz[flen] = 0;
			if (posix_parse(tz, &x) != 0)
				return fail(why, n, "zone '%s': bad footer TZ string '%s'", what, tz);
			posix_install(z, &x);
		}
	}
	table_finish(z);
	return z;
}

/* ---- loading ---- */

static Zone *zone_new(const char *name)
{
	Zone *z = xcalloc(1, sizeof *z);
	z->name = xstrdup(name);
	return z;
}

static Zone *zone_utc(const char *name)
{
	Zone *z = zone_new(name);
	z->type0 = (uint16_t)type_intern(z, 0, 0, "UTC");
	table_finish(z);
	return z;
}

static Zone *zone_from_posix(const char *name, const char *tz)
{
	Posix x;
	if (posix_parse(tz, &x) != 0)
		return NULL;
	Zone *z = zone_new(name);
	posix_install(z, &x);
	table_finish(z);
	return z;
}

/* 0 and the file in *buf, or -errno. */
static int read_file(const char *path, unsigned char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > MAX_FILE) {
		int e = S_ISDIR(st.st_mode) ? -EISDIR : -EFBIG;
		close(fd);
		return e;
	}
	unsigned char *b = xcalloc((size_t)st.st_size + 1, 1);
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, b + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	*buf = b;
	*len = got;
	return 0;
}

static Zone *zone_from_file(const char *name, const char *source, const char *path,
                            char *why, size_t n, int *err)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	*err = read_file(path, &buf, &len);
	if (*err != 0)
		return NULL;
	Zone *z = zone_new(name);
	Zone *ok = tzif_parse(z, buf, len, source, why, n);
	free(buf);
	if (ok == NULL) {
		zone_free(z);
		*err = -EINVAL;
	}
	return ok;
}

/* An IANA-style relative name: no "..", no empty or "." components, plain characters. */
static int name_ok(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len > MAX_NAME || s[0] == '/' || s[len - 1] == '/')
		return 0;
	const char *comp = s;
	for (const char *p = s;; p++) {
		if (*p == '/' || *p == 0) {
			size_t cl = (size_t)(p - comp);
			if (cl == 0 || (cl == 1 && comp[0] == '.') || (cl == 2 && comp[0] == '.' && comp[1] == '.'))
				return 0;
			if (*p == 0)
				return 1;
			comp = p + 1;
			continue;
		}
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '+' || *p == '-' || *p == '.'))
			return 0;
	}
}

static const char *tzdir(void)
{
	const char *d = getenv("TZDIR");
	return d != NULL && *d != 0 ? d : "/usr/share/zoneinfo";
}

static Zone *zone_named(const char *label, const char *name, char *why, size_t n, int *err)
{
	char path[4096];
	if (snprintf(path, sizeof path, "%s/%s", tzdir(), name) >= (int)sizeof path) {
		*err = -ENAMETOOLONG;
		return fail(why, n, "zone '%s': name too long", name);
	}
	Zone *z = zone_from_file(label, name, path, why, n, err);
	if (z == NULL && *err != -EINVAL)
		fail(why, n, "unknown time zone '%s'", name);
	return z;
}

static Zone *zone_local(char *why, size_t n)
{
	const char *tz = getenv("TZ");
	int err;
	if (tz != NULL) {
		const char *p = *tz == ':' ? tz + 1 : tz;
		if (*p == 0)
			return zone_utc("Local");
		if (*p == '/') {
			Zone *z = zone_from_file("Local", p, p, why, n, &err);
			if (z == NULL && err != -EINVAL)
				fail(why, n, "TZ: cannot read '%s': %s", p, strerror(-err));
			return z;
		}
		if (name_ok(p)) {
			Zone *z = zone_named("Local", p, why, n, &err);
			if (z != NULL || err == -EINVAL)
				return z;
		}
		Zone *z = zone_from_posix("Local", p);
		if (z == NULL)
			fail(why, n, "TZ: unknown time zone '%s'", tz);
		return z;
	}
	const char *lt = "/etc/localtime";
	char link[4096], source[4096];
	snprintf(source, sizeof source, "%s", lt);
	ssize_t ll = readlink(lt, link, sizeof link - 1);
	if (ll > 0) {
		link[ll] = 0;
		const char *zi = strstr(link, "zoneinfo/");
		if (zi != NULL && name_ok(zi + 9))
			snprintf(source, sizeof source, "%s", zi + 9);
	}
	Zone *z = zone_from_file("Local", source, lt, why, n, &err);
	if (z == NULL && err == -ENOENT)
		return zone_utc("Local");
	if (z == NULL && err != -EINVAL)
		fail(why, n, "%s: %s", lt, strerror(-err));
	return z;
}

Zone *zone_load(const char *name, char *why, size_t n)
{
	if (name == NULL || *name == 0 || strcmp(name, "Local") == 0)
		return zone_local(why, n);
	if (!name_ok(name))
		return fail(why, n, "bad time zone name '%.64s'", name);
	int err;
	Zone *z = zone_named(name, name, why, n, &err);
	if (z == NULL && err == -ENOENT && strcmp(name, "UTC") == 0)
		return zone_utc("UTC");
	return z;
}

/* ---- lookups ---- */

int zone_seg_find(const Zone *z, int64_t t)
{
	int lo = 0, hi = z->nt;        /* answer in [lo - 1, hi - 1] */
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (z->at[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo - 1;
}

static int type_at(const Zone *z, int64_t t)
{
	if (z->has_rule && (t < z->dyn_lo || t >= z->dyn_hi))
		return rule_type_at(z, t);
	int i = zone_seg_find(z, t);
	return i < 0 ? z->type0 : z->ti[i];
}

int zone_offset(const Zone *z, int64_t t, const char **abbr)
{
	const ZoneType *ty = &z->types[type_at(z, t)];
	if (abbr != NULL)
		*abbr = z->chars + ty->abbr;
	return ty->off;
}

void zone_civil(const Zone *z, int64_t t, struct tm *out)
{
	const char *abbr;
	t = clamp_t(t);
	int ty = type_at(z, t);
	int32_t off = z->types[ty].off;
	abbr = z->chars + z->types[ty].abbr;
	int64_t w = t + off;
	int64_t days = civil_floor_div(w, 86400), secs = w - days * 86400, y;
	int m, d;
	civil_from_days(days, &y, &m, &d);
	memset(out, 0, sizeof *out);
	out->tm_year = (int)(y - 1900);
	out->tm_mon = m - 1;
	out->tm_mday = d;
	out->tm_hour = (int)(secs / 3600);
	out->tm_min = (int)(secs / 60 % 60);
	out->tm_sec = (int)(secs % 60);
	out->tm_wday = civil_weekday(days);
	out->tm_yday = (int)(days - civil_to_days(y, 1, 1));
	out->tm_isdst = z->types[ty].isdst;
	out->tm_gmtoff = off;
	out->tm_zone = abbr;
}

/* ---- formatting and parsing ---- */

static size_t put_result(int r)
{
	return r < 0 ? 0 : (size_t)r;
}

static void fmt_year(char *b, size_t n, int year)
{
	if (year < 0)
		snprintf(b, n, "-%04d", -year);
	else
		snprintf(b, n, "%04d", year);
}

size_t zone_format_go(const Zone *z, int64_t sec, long nsec, int with_frac, char *out, size_t n)
{
	if (nsec >= 1000000000L) {
		sec = clamp_t(sec) + nsec / 1000000000L;
		nsec %= 1000000000L;
	}
	struct tm tm;
	zone_civil(z, sec, &tm);
	char frac[16] = "", year[16];
	if (with_frac && nsec > 0) {
		snprintf(frac, sizeof frac, ".%09ld", nsec);
		size_t l = strlen(frac);
		while (frac[l - 1] == '0')
			frac[--l] = 0;
	}
	long off = tm.tm_gmtoff;
	char sign = off < 0 ? '-' : '+';
	if (off < 0)
		off = -off;
	char name[MAX_ABBR + 8];
	if (tm.tm_zone != NULL && *tm.tm_zone != 0)
		snprintf(name, sizeof name, "%s", tm.tm_zone);
	else
		snprintf(name, sizeof name, "%c%02ld%02ld", sign, off / 3600, off / 60 % 60);
	fmt_year(year, sizeof year, tm.tm_year + 1900);
	return put_result(snprintf(out, n, "%s-%02d-%02d %02d:%02d:%02d%s %c%02ld%02ld %s", year,
	                           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac,
	                           sign, off / 3600, off / 60 % 60, name));
}

size_t zone_format_rfc3339(const Zone *z, int64_t sec, char *out, size_t n)
{
	struct tm tm;
	char year[16];
	zone_civil(z, sec, &tm);
	long off = tm.tm_gmtoff;
	char sign = off < 0 ? '-' : '+';
	if (off < 0)
		off = -off;
	fmt_year(year, sizeof year, tm.tm_year + 1900);
	return put_result(snprintf(out, n, "%s-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld", year,
	                           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	                           sign, off / 3600, off / 60 % 60));
}

/* Exactly n decimal digits, or -1. */
static int digits(const char **p, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char ch = (*p)[i];
		if (ch < '0' || ch > '9')
			return -1;
		v = v * 10 + (ch - '0');
	}
	*p += n;
	return v;
}

static int expect(const char **p, char ch)
{
	if (**p != ch)
		return 0;
	(*p)++;
	return 1;
}

int time_parse_rfc3339(const char *s, int64_t *sec, long *nsec)
{
	const char *p = s;
	int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
	long frac = 0;
	if ((y = digits(&p, 4)) < 0 || !expect(&p, '-') || (mo = digits(&p, 2)) < 0 ||
	    !expect(&p, '-') || (d = digits(&p, 2)) < 0 || (*p != 'T' && *p != 't'))
		return -EINVAL;
	p++;
	if ((h = digits(&p, 2)) < 0 || !expect(&p, ':') || (mi = digits(&p, 2)) < 0 ||
	    !expect(&p, ':') || (se = digits(&p, 2)) < 0)
		return -EINVAL;
	if (*p == '.') {
		int nd = 0;
		p++;
		while (*p >= '0' && *p <= '9') {
			if (++nd > 9)
				return -EINVAL;
			frac = frac * 10 + (*p++ - '0');
		}
		if (nd == 0)
			return -EINVAL;
		for (; nd < 9; nd++)
			frac *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if ((oh = digits(&p, 2)) < 0 || !expect(&p, ':') || (om = digits(&p, 2)) < 0 ||
		    oh > 23 || om > 59)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (*p != 0 || mo < 1 || mo > 12 || d < 1 || d > civil_month_days(y, mo) || h > 23 ||
	    mi > 59 || se > 59)
		return -EINVAL;
	*sec = civil_to_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + se -
	       (int64_t)sign * (oh * 3600 + om * 60);
	*nsec = frac;
	return 0;
}
