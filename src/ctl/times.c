/* Times as jobctl prints them: in the user's zone ($TZ, else
 * /etc/localtime; UTC with -utc), RFC 3339 to the second everywhere, with the
 * fraction in JSON; "in 3h12m" and "5m ago" next to them in status. jobd's
 * files carry RFC 3339 in jobd's own zone, which may not be the user's (a
 * daemon on another machine, a service with TZ=UTC): every time read from
 * them goes through here. Also the parsers of the status lines. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/ctl.h"

const Zone *ctl_zone(Ctl *x)
{
	char why[256];
	if (x->zone)
		return x->zone;
	/* zone_load(NULL) is the local zone: $TZ if set, else /etc/localtime. */
	x->zone = zone_load(x->utc ? "UTC" : NULL, why, sizeof why);
	if (!x->zone)
		fprintf(stderr, "jobctl: %s (from $TZ: unset it, or use -utc)\n", why);
	return x->zone;
}

int64_t ctl_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

const char *ctl_time_str(const Zone *z, CtlTime t, char *out, size_t n)
{
	if (!t.set)
		return strfmt(out, n, "-");
	zone_format_rfc3339(z, t.sec, out, n);
	return out;
}

const char *ctl_time_json(const Zone *z, CtlTime t, char *out, size_t n)
{
	char base[64];
	zone_format_rfc3339(z, t.sec, base, sizeof base);
	/* The offset is the last 6 bytes ("+05:30"): the seconds end before
	 * it, whatever the year's width ("10000-...", "-0001-..." in a zone
	 * ahead of or behind the UTC a time was given in). */
	size_t blen = strlen(base);
	if (t.nsec <= 0 || t.nsec > 999999999 || blen < 25)
		return strfmt(out, n, "%s", base);
	/* The fraction goes after the seconds, before the offset; trailing
	 * zeros go, as Go's RFC3339Nano does. */
	char frac[16];
	strfmt(frac, sizeof frac, "%09ld", t.nsec);
	for (size_t k = strlen(frac); k > 1 && frac[k - 1] == '0'; k--)
		frac[k - 1] = 0;
	return strfmt(out, n, "%.*s.%s%s", (int)(blen - 6), base, frac, base + blen - 6);
}

void ctl_reltime(int64_t delta, char *out, size_t n)
{
	static const struct { int64_t sec; char unit; } units[] = {
		{ 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' },
	};
	int64_t a = delta < 0 ? -delta : delta;
	if (a == 0) {
		strfmt(out, n, "now");
		return;
	}
	/* The two largest units, as systemctl list-timers shows them:
	 * "3h12m", "2d4h", "42s"; the second only when it is not zero. */
	char text[48] = "";
	size_t len = 0;
	for (size_t i = 0, shown = 0; i < sizeof units / sizeof units[0] && shown < 2; i++) {
		int64_t v = a / units[i].sec;
		if (!v && !shown)
			continue;
		a -= v * units[i].sec;
		if (v)
			len += (size_t)snprintf(text + len, sizeof text - len, "%lld%c", (long long)v,
			                        units[i].unit);
		shown++;
	}
	if (delta > 0)
		strfmt(out, n, "in %s", text);
	else
		strfmt(out, n, "%s ago", text);
}

int ctl_time_parse(const char *s, CtlTime *t)
{
	memset(t, 0, sizeof *t);
	if (!*s || !strcmp(s, "-"))
		return 0;
	if (time_parse_rfc3339(s, &t->sec, &t->nsec) < 0)
		return -EINVAL;
	t->set = 1;
	return 0;
}

/* A key's time field into *t; a missing or unreadable one stays unset. */
static void time_field(const char *line, const char *key, CtlTime *t)
{
	char v[64];
	if (kv_get(line, key, v, sizeof v) < 0 || ctl_time_parse(v, t) < 0)
		memset(t, 0, sizeof *t);
}

/* A number field, or dflt when absent or "-". */
static long long num_field(const char *line, const char *key, long long dflt)
{
	char v[32], *end;
	if (kv_get(line, key, v, sizeof v) < 0 || !*v)
		return dflt;
	long long k = strtoll(v, &end, 10);
	return *end ? dflt : k;
}

/* A duration field ("0.0043s") in seconds, or -1 when absent or "-". */
static double secs_field(const char *line, const char *key)
{
	char v[32], *end;
	if (kv_get(line, key, v, sizeof v) < 0)
		return -1;
	double d = strtod(v, &end);
	return end == v || (*end && strcmp(end, "s")) ? -1 : d;
}

void job_status_parse(const char *line, JobStatus *st)
{
	memset(st, 0, sizeof *st);
	kv_get(line, "state", st->state, sizeof st->state);
	time_field(line, "next", &st->next);
	st->has_next = kv_get(line, "next", NULL, 0) == 0;
	time_field(line, "last_start", &st->last_start);
	time_field(line, "last_end", &st->last_end);
	if (kv_get(line, "last_status", st->last_status, sizeof st->last_status) == 0 &&
	    !strcmp(st->last_status, "-"))
		st->last_status[0] = 0;
	st->runs = num_field(line, "runs", 0);
	st->failures = num_field(line, "failures", 0);
	st->pid = (int)num_field(line, "pid", 0);
	/* active=N counts every run going; a jobd before it shows one pid. */
	st->active = (int)num_field(line, "active", st->pid > 0);
}

void run_status_parse(const char *line, RunStatus *r)
{
	memset(r, 0, sizeof *r);
	r->run = (long)num_field(line, "run", 0);
	time_field(line, "sched", &r->sched);
	time_field(line, "start", &r->start);
	time_field(line, "end", &r->end);
	r->duration = secs_field(line, "duration");
	r->lateness = secs_field(line, "lateness");
	kv_get(line, "state", r->state, sizeof r->state);
	if (kv_get(line, "status", r->status, sizeof r->status) == 0 && !strcmp(r->status, "-"))
		r->status[0] = 0;
	r->manual = num_field(line, "manual", 0) == 1;
	r->timed_out = num_field(line, "timed_out", 0) == 1;
	r->killed = num_field(line, "killed", 0) == 1;
	r->truncated = num_field(line, "truncated", 0) == 1;
	r->pid = (int)num_field(line, "pid", 0);
	r->output_bytes = num_field(line, "output_bytes", 0);
}

void ctl_rezone(const char *line, const Zone *z, Buf *out)
{
	for (const char *p = line; *p;) {
		size_t blank = strspn(p, " \t\n");
		buf_add(out, p, blank);
		p += blank;
		size_t len = strcspn(p, " \t\n");
		const char *eq = memchr(p, '=', len);
		char v[80];
		CtlTime t;
		if (eq && (size_t)(p + len - eq - 1) < sizeof v) {
			strfmt(v, sizeof v, "%.*s", (int)(p + len - eq - 1), eq + 1);
			if (strcmp(v, "-") && ctl_time_parse(v, &t) == 0 && t.set) {
				char ts[64];
				buf_add(out, p, (size_t)(eq + 1 - p));
				buf_addstr(out, ctl_time_str(z, t, ts, sizeof ts));
				p += len;
				continue;
			}
		}
		buf_add(out, p, len);
		p += len;
	}
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* n decimal digits at s, or -1. */
static int digits_at(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* The time a log line starts with, as jobd writes it (Go's time.String():
 * "2026-11-28 08:00:01.518811023 +0000 UTC:"): its unix seconds, and how
 * long the time is with the ':' after it. 0 if the line does not start so.
 * Only s[0..len) is read: the line is one of many in a buffer (sscanf would
 * measure the rest of it, for every line: quadratic in a log's size). */
static size_t go_time(const char *s, size_t len, int64_t *sec)
{
	if (len < 26 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':')
		return 0;
	int y = digits_at(s, 4), mo = digits_at(s + 5, 2), d = digits_at(s + 8, 2);
	int h = digits_at(s + 11, 2), mi = digits_at(s + 14, 2), se = digits_at(s + 17, 2);
	if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || se < 0)
		return 0;
	size_t p = 19;
	if (s[p] == '.')
		for (p++; p < len && s[p] >= '0' && s[p] <= '9'; p++)
			;
	/* " +HHMM ZONE:" */
	if (p + 7 > len || s[p] != ' ' || (s[p + 1] != '+' && s[p + 1] != '-'))
		return 0;
	char sign = s[p + 1];
	int off = digits_at(s + p + 2, 4);
	if (off < 0)
		return 0;
	p += 6;
	if (p >= len || s[p] != ' ')
		return 0;
	const char *colon = memchr(s + p + 1, ':', len - p - 1);
	if (!colon || memchr(s + p + 1, ' ', (size_t)(colon - s - p - 1)))
		return 0;
	int64_t offs = (off / 100) * 3600 + (off % 100) * 60;
	*sec = days_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - (sign == '+' ? offs : -offs);
	return (size_t)(colon - s) + 1;
}

void ctl_print_lines(Ctl *x, const char *s, size_t len, int events)
{
	const Zone *z = x->raw ? NULL : ctl_zone(x);
	if (!z) {
		ctl_print(x, s, len);
		return;
	}
	Buf out = {0};
	char ts[64];
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - s) + 1 : len, n = end - i;
		const char *line = s + i;
		int64_t sec;
		size_t k;
		if (events) {
			/* SEQ TIME ...: the time in the user's zone. */
			const char *sp = memchr(line, ' ', n), *sp2 = NULL;
			if (sp)
				sp2 = memchr(sp + 1, ' ', n - (size_t)(sp + 1 - line));
			char v[64];
			CtlTime t;
			if (sp2 && (size_t)(sp2 - sp - 1) < sizeof v) {
				strfmt(v, sizeof v, "%.*s", (int)(sp2 - sp - 1), sp + 1);
				if (ctl_time_parse(v, &t) == 0 && t.set) {
					buf_add(&out, line, (size_t)(sp + 1 - line));
					buf_addstr(&out, ctl_time_str(z, t, ts, sizeof ts));
					buf_add(&out, sp2, (size_t)(line + n - sp2));
					i = end;
					continue;
				}
			}
		} else if ((k = go_time(line, n, &sec)) > 0) {
			/* <time>:<text> as the file has it, the time in the user's words. */
			buf_addstr(&out, ctl_time_str(z, (CtlTime){ .sec = sec, .set = 1 }, ts, sizeof ts));
			buf_add(&out, ":", 1);
			buf_add(&out, line + k, n - k);
			i = end;
			continue;
		}
		buf_add(&out, line, n);
		i = end;
	}
	ctl_print(x, out.data ? out.data : "", out.len);
	buf_free(&out);
}
