/* Schedule expressions: the parser and next-fire arithmetic of cron.md. */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cron/cron.h"
#include "cron/zoneint.h"

enum { F_SEC, F_MIN, F_HOUR, F_DOM, F_MON, F_DOW, F_YEAR, NFIELD };

typedef struct Field {
	const char *name;
	int min, max;          /* values; day-of-week accepts 7 for Sunday */
	int top;               /* where * and v/n end (6 for day-of-week) */
	int stepmax;
} Field;

static const Field fields[NFIELD] = {
	[F_SEC] = { "second", 0, 59, 59, 59 },
	[F_MIN] = { "minute", 0, 59, 59, 59 },
	[F_HOUR] = { "hour", 0, 23, 23, 23 },
	[F_DOM] = { "day-of-month", 1, 31, 31, 31 },
	[F_MON] = { "month", 1, 12, 12, 12 },
	[F_DOW] = { "day-of-week", 0, 7, 6, 6 },
	[F_YEAR] = { "year", CRON_YEAR_MIN, CRON_YEAR_MAX, CRON_YEAR_MAX, CRON_YEAR_MAX },
};

static const char *const month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
	"january", "february", "march", "april", "may", "june", "july", "august",
	"september", "october", "november", "december",
};

static const char *const dow_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat",
	"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
};

static uint16_t months_possible(const Cron *c);

/* ---- parsing ---- */

typedef struct Ctx {
	char *why;
	size_t n;
} Ctx;

static int error(Ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int error(Ctx *x, const char *fmt, ...)
{
	if (x->why != NULL && x->n > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(x->why, x->n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A printable copy of s[0..len) for messages: at most 40 bytes, controls as '?'. */
static const char *shown(char *buf, const char *s, size_t len)
{
	size_t k = 0;
	for (size_t i = 0; i < len && k < 40; i++)
		buf[k++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (len > 40) {
		memcpy(buf + k, "...", 3);
		k += 3;
	}
	buf[k] = 0;
	return buf;
}

/* Reports an error about one element of field f. */
static int elem_error(Ctx *x, int f, const char *e, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int elem_error(Ctx *x, int f, const char *e, size_t len, const char *fmt, ...)
{
	char buf[48], reason[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	return error(x, "%s: '%s': %s", fields[f].name, shown(buf, e, len), reason);
}

enum { T_NUM, T_WORD, T_SYM };

typedef struct Tok {
	int kind;
	const char *s;
	int len;
	int val;               /* T_NUM: value (capped), T_SYM: the character */
} Tok;

enum { MAXTOK = 8 };

/* Splits an element into numbers, words and single symbols; the count or -1. */
static int tokenize(const char *e, size_t len, Tok *t)
{
	int n = 0;
	for (size_t i = 0; i < len;) {
		if (n == MAXTOK)
			return -1;
		Tok *k = &t[n++];
		char ch = e[i];
		k->s = e + i;
		if (ch >= '0' && ch <= '9') {
			k->kind = T_NUM;
			k->val = 0;
			while (i < len && e[i] >= '0' && e[i] <= '9') {
				if (k->val < 100000)
					k->val = k->val * 10 + (e[i] - '0');
				i++;
			}
		} else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) {
			k->kind = T_WORD;
			while (i < len && ((e[i] >= 'a' && e[i] <= 'z') || (e[i] >= 'A' && e[i] <= 'Z')))
				i++;
		} else {
			k->kind = T_SYM;
			k->val = ch;
			i++;
		}
		k->len = (int)(e + i - k->s);
	}
	return n;
}

static int tok_is(const Tok *t, int n, int i, int sym)
{
	return i < n && t[i].kind == T_SYM && t[i].val == sym;
}

static int word_eq(const Tok *t, const char *w)
{
	return (int)strlen(w) == t->len && strncasecmp(t->s, w, (size_t)t->len) == 0;
}

/* Index of a name in a table whose first half are short forms, or -1. */
static int name_find(const Tok *t, const char *const *names, int count, int len)
{
	for (int i = 0; i < count; i++)
		if ((int)strlen(names[i]) == len && strncasecmp(t->s, names[i], (size_t)len) == 0)
			return i % (count / 2);
	return -1;
}

/* A day-of-week word that is not a name but ends in L: "L", "FRIL", "5l"'s "l". */
static int ends_in_l(const Tok *t)
{
	return t->kind == T_WORD && (t->s[t->len - 1] | 0x20) == 'l' &&
	       name_find(t, dow_names, 14, t->len) < 0;
}

typedef struct Elem {
	int f;
	const char *e;
	size_t len;
	Ctx *x;
} Elem;

/* A value of field f from a number or name token. is_end: the end of a range
 * (where day-of-week Sunday is 7). Returns 0 or -EINVAL. */
static int value(const Elem *el, const Tok *t, int is_end, int *v)
{
	const Field *fd = &fields[el->f];
	if (t->kind == T_NUM) {
		if (el->f == F_YEAR) {
			if (t->len != 4)
				return elem_error(el->x, el->f, el->e, el->len,
				                  "a year has exactly four digits");
		} else if (t->len > 2) {
			return elem_error(el->x, el->f, el->e, el->len, "'%.*s': too many digits",
			                  t->len, t->s);
		}
		if (t->val < fd->min || t->val > fd->max)
			return elem_error(el->x, el->f, el->e, el->len, "%d is out of range %d-%d",
			                  t->val, fd->min, fd->max);
		*v = t->val;
		return 0;
	}
	if (t->kind == T_WORD) {
		int i = -1;
		if (el->f == F_MON && (i = name_find(t, month_names, 24, t->len)) >= 0) {
			*v = i + 1;
			return 0;
		}
		if (el->f == F_DOW && (i = name_find(t, dow_names, 14, t->len)) >= 0) {
			*v = i == 0 && is_end ? 7 : i;
			return 0;
		}
		if (el->f == F_MON || el->f == F_DOW)
			return elem_error(el->x, el->f, el->e, el->len, "unknown name '%.*s'", t->len, t->s);
		for (int k = 0; k < t->len && el->f != F_DOM; k++) {
			char ch = (char)(t->s[k] | 0x20);
			if (ch == 'l' || ch == 'w')
				return elem_error(el->x, el->f, el->e, el->len,
				                  "'%c' is only allowed in %s", t->s[k] & ~0x20,
				                  ch == 'l' ? "day-of-month and day-of-week" : "day-of-month");
		}
		return elem_error(el->x, el->f, el->e, el->len, "'%.*s' is not a number", t->len, t->s);
	}
	return elem_error(el->x, el->f, el->e, el->len, "'%c' where a value should be", t->val);
}

static int step(const Elem *el, const Tok *t, int *v)
{
	const Field *fd = &fields[el->f];
	if (t->kind != T_NUM)
		return elem_error(el->x, el->f, el->e, el->len, "the step must be a number");
	if (t->len > 4 || t->val < 1 || t->val > fd->stepmax)
		return elem_error(el->x, el->f, el->e, el->len, "step %.*s is out of range 1-%d",
		                  t->len, t->s, fd->stepmax);
	*v = t->val;
	return 0;
}

typedef struct Set {
	uint64_t w[3];         /* bit v - min */
} Set;

static void set_add(Set *s, int f, int v)
{
	if (f == F_DOW && v == 7)
		v = 0;
	int b = v - fields[f].min;
	s->w[b / 64] |= (uint64_t)1 << (b % 64);
}

static void set_range(Set *s, int f, int a, int b, int st)
{
	for (int v = a; v <= b; v += st)
		set_add(s, f, v);
}

/* The steps of parse_elem each take the element's tokens t[0..n) and return
 * 0 when they have parsed it, -EINVAL after an error, or NOT_MINE when the
 * element is not of their form, for the next step to try. */
enum { NOT_MINE = 1 };

/* Only '*', '?', '-', '/' and '#' are symbols of an element, and '#' only in
 * day-of-week. Sets *hash to the first '#' token, -1 if none. */
static int check_symbols(const Elem *el, const Tok *t, int n, int *hash)
{
	*hash = -1;
	for (int i = 0; i < n; i++) {
		if (t[i].kind != T_SYM)
			continue;
		int ch = t[i].val;
		if (ch == '#' && el->f != F_DOW)
			return elem_error(el->x, el->f, el->e, el->len, "'#' is only allowed in day-of-week");
		if (ch == '#' && *hash < 0)
			*hash = i;
		if (ch != '*' && ch != '?' && ch != '-' && ch != '/' && ch != '#')
			return elem_error(el->x, el->f, el->e, el->len, "unexpected character '%c'",
			                  ch < 0x20 || ch >= 0x7f ? '?' : ch);
	}
	return 0;
}

/* w#k: the k-th weekday w of the month (day-of-week only, hash found). */
static int parse_nth(const Elem *el, const Tok *t, int n, int hash, Cron *c)
{
	int a;
	if (hash != 1 || (t[0].kind != T_NUM && t[0].kind != T_WORD))
		return elem_error(el->x, el->f, el->e, el->len, "'#' needs a single weekday");
	if (n != 3 || t[2].kind != T_NUM || t[2].len != 1 || t[2].val < 1 || t[2].val > 5)
		return elem_error(el->x, el->f, el->e, el->len, "'#' needs a week number from 1 to 5");
	if (value(el, &t[0], 0, &a) != 0)
		return -EINVAL;
	c->dow_nth[a % 7] |= (uint8_t)(1u << t[2].val);
	return 0;
}

/* A star or a question mark, alone: every value of the field up to its top;
 * a star with a step n: every n-th of them. *all is set when alone: the
 * field is then unrestricted. */
static int parse_star(const Elem *el, const Tok *t, int n, Set *s, int *all)
{
	const Field *fd = &fields[el->f];
	int st;
	if (!tok_is(t, n, 0, '*') && !tok_is(t, n, 0, '?'))
		return NOT_MINE;
	if (n == 1) {
		set_range(s, el->f, fd->min, fd->top, 1);
		*all = 1;
		return 0;
	}
	if (t[0].val == '?')
		return elem_error(el->x, el->f, el->e, el->len, "'?' stands alone");
	if (n == 3 && tok_is(t, n, 1, '/')) {
		if (step(el, &t[2], &st) != 0)
			return -EINVAL;
		set_range(s, el->f, fd->min, fd->top, st);
		return 0;
	}
	return elem_error(el->x, el->f, el->e, el->len, "'*' takes only a step, as in '*/5'");
}

/* Day-of-month's L (the last day), LW (the last weekday) and nW (the weekday
 * nearest day n); W or L anywhere else in the element is an error. */
static int parse_dom_special(const Elem *el, const Tok *t, int n, Cron *c)
{
	int has_w = 0, has_l = 0, a;
	for (int i = 0; i < n; i++)
		if (t[i].kind == T_WORD) {
			has_w |= word_eq(&t[i], "w") || word_eq(&t[i], "lw") || word_eq(&t[i], "wl");
			has_l |= word_eq(&t[i], "l") || word_eq(&t[i], "lw") || word_eq(&t[i], "wl");
		}
	if (n == 1 && word_eq(&t[0], "l")) {
		c->dom_l = 1;
		return 0;
	}
	if (n == 1 && word_eq(&t[0], "lw")) {
		c->dom_lw = 1;
		return 0;
	}
	if (n == 2 && t[0].kind == T_NUM && word_eq(&t[1], "w")) {
		if (value(el, &t[0], 0, &a) != 0)
			return -EINVAL;
		c->dom_w |= (uint32_t)1 << a;
		return 0;
	}
	if (has_w)
		return elem_error(el->x, el->f, el->e, el->len,
		                  "'W' follows a single day number, as in '15W'");
	if (has_l)
		return elem_error(el->x, el->f, el->e, el->len, "'L' and 'LW' stand alone");
	return NOT_MINE;
}

/* Day-of-week's nL, the last weekday n of the month: a number followed by L,
 * or a name with L glued on (FRIL); an L anywhere else is an error. */
static int parse_dow_last(const Elem *el, const Tok *t, int n, Cron *c)
{
	int a;
	if (n == 2 && t[0].kind == T_NUM && word_eq(&t[1], "l")) {
		if (value(el, &t[0], 0, &a) != 0)
			return -EINVAL;
		c->dow_last |= (uint8_t)(1u << (a % 7));
		return 0;
	}
	if (n == 1 && ends_in_l(&t[0]) && t[0].len > 1) {
		int i = name_find(&t[0], dow_names, 14, t[0].len - 1);
		if (i < 0)
			return elem_error(el->x, el->f, el->e, el->len, "unknown name '%.*s'", t[0].len,
			                  t[0].s);
		c->dow_last |= (uint8_t)(1u << i);
		return 0;
	}
	for (int i = 0; i < n; i++)
		if (ends_in_l(&t[i]))
			return elem_error(el->x, el->f, el->e, el->len,
			                  "'L' follows a single weekday, as in '5L'");
	return NOT_MINE;
}

/* v, a-b, v/n and a-b/n: what is left once the special forms are ruled out. */
static int parse_range(const Elem *el, const Tok *t, int n, Set *s)
{
	const Field *fd = &fields[el->f];
	int f = el->f, a, b, st = 0;
	for (int k = 0; k < n; k++)
		if (t[k].kind == T_WORD && value(el, &t[k], 0, &a) != 0)
			return -EINVAL;
	if (t[0].kind == T_SYM)
		return elem_error(el->x, f, el->e, el->len, "'%c' where a value should be", t[0].val);
	int i = 1;
	if (value(el, &t[0], 0, &a) != 0)
		return -EINVAL;
	b = a;
	if (tok_is(t, n, i, '-')) {
		if (i + 1 >= n)
			return elem_error(el->x, f, el->e, el->len, "a range needs an end");
		if (value(el, &t[i + 1], 1, &b) != 0)
			return -EINVAL;
		if (f == F_DOW && a == 0 && b == 7 && t[0].kind == T_WORD && t[i + 1].kind == T_WORD)
			b = 0;                 /* SUN-SUN is Sunday; 0-SUN and 0-7 are all week */
		if (b < a)
			return elem_error(el->x, f, el->e, el->len, "reversed range %d-%d", a, b);
		i += 2;
	}
	if (tok_is(t, n, i, '/')) {
		if (i + 1 >= n)
			return elem_error(el->x, f, el->e, el->len, "a step needs a number");
		if (step(el, &t[i + 1], &st) != 0)
			return -EINVAL;
		if (i == 1)            /* v/n: up to the field's top */
			b = a > fd->top ? a : fd->top;
		i += 2;
	}
	if (i < n) {
		if (tok_is(t, n, i, '-') || tok_is(t, n, i, '/') || tok_is(t, n, i, '*') || tok_is(t, n, i, '?'))
			return elem_error(el->x, f, el->e, el->len, "unexpected '%c'", t[i].val);
		return elem_error(el->x, f, el->e, el->len, "malformed element");
	}
	set_range(s, f, a, b, st ? st : 1);
	return 0;
}

/* Parses one list element of field f into s or the special day forms of c.
 * *all is set for * and ?. The forms are tried in an order where each rules
 * out what the later ones would misread: '#' first, then * and ?, the day
 * letters, and last the plain values and ranges. */
static int parse_elem(Elem *el, Set *s, Cron *c, int *all)
{
	Tok t[MAXTOK];
	int n = tokenize(el->e, el->len, t), hash, rc;
	if (n < 0)
		return elem_error(el->x, el->f, el->e, el->len, "malformed element");
	if (check_symbols(el, t, n, &hash) != 0)
		return -EINVAL;
	if (hash >= 0)
		return parse_nth(el, t, n, hash, c);
	if ((rc = parse_star(el, t, n, s, all)) != NOT_MINE)
		return rc;
	if (el->f == F_DOM && (rc = parse_dom_special(el, t, n, c)) != NOT_MINE)
		return rc;
	if (el->f == F_DOW && (rc = parse_dow_last(el, t, n, c)) != NOT_MINE)
		return rc;
	return parse_range(el, t, n, s);
}

/* Parses the field text fs[0..len) as field f into c. */
static int parse_field(Ctx *x, int f, const char *fs, size_t len, Cron *c)
{
	Set s = { { 0, 0, 0 } };
	int all = 0;
	char buf[48];
	for (size_t i = 0; i <= len;) {
		size_t j = i;
		while (j < len && fs[j] != ',')
			j++;
		if (j == i)
			return error(x, "%s: '%s': empty list element", fields[f].name, shown(buf, fs, len));
		Elem el = { f, fs + i, j - i, x };
		if (parse_elem(&el, &s, c, &all) != 0)
			return -EINVAL;
		i = j + 1;
	}
	switch (f) {
	case F_SEC: c->sec = s.w[0]; break;
	case F_MIN: c->min = s.w[0]; break;
	case F_HOUR: c->hour = (uint32_t)s.w[0]; break;
	case F_DOM: c->dom = (uint32_t)(s.w[0] << 1); c->dom_restricted = !all; break;
	case F_MON: c->mon = (uint16_t)(s.w[0] << 1); break;
	case F_DOW: c->dow = (uint8_t)s.w[0]; c->dow_restricted = !all; break;
	case F_YEAR: memcpy(c->year, s.w, sizeof c->year); break;
	}
	return 0;
}

static const struct {
	const char *name, *expr;
} macros[] = {
	{ "@yearly", "0 0 0 1 1 * *" }, { "@annually", "0 0 0 1 1 * *" },
	{ "@monthly", "0 0 0 1 * * *" }, { "@weekly", "0 0 0 * * 0 *" },
	{ "@daily", "0 0 0 * * * *" }, { "@midnight", "0 0 0 * * * *" },
	{ "@hourly", "0 0 * * * * *" },
};

static int blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

int cron_parse(const char *spec, Cron *out, char *why, size_t n)
{
	Ctx x = { why, n };
	char buf[48];
	if (spec == NULL)
		return error(&x, "expression: empty");
	const char *p = spec, *end;
	while (blank(*p))
		p++;
	end = p + strlen(p);
	while (end > p && blank(end[-1]))
		end--;
	if (p == end)
		return error(&x, "expression: empty");
	if (*p == '@') {
		size_t wl = 0;
		while (p + wl < end && !blank(p[wl]))
			wl++;
		for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++) {
			if (strlen(macros[i].name) != wl || strncmp(p, macros[i].name, wl) != 0)
				continue;
			if (p + wl != end)
				return error(&x, "macro: '%s': a macro stands alone",
				             shown(buf, p, (size_t)(end - p)));
			return cron_parse(macros[i].expr, out, why, n);
		}
		return error(&x, "macro: '%s': unknown macro (known: @yearly @annually @monthly "
		             "@weekly @daily @midnight @hourly)", shown(buf, p, wl));
	}
	const char *fs[8];
	size_t fl[8];
	int nf = 0;
	for (const char *q = p; q < end;) {
		const char *s = q;
		while (q < end && !blank(*q))
			q++;
		if (nf < 8) {
			fs[nf] = s;
			fl[nf] = (size_t)(q - s);
		}
		nf++;
		while (q < end && blank(*q))
			q++;
	}
	if (nf < 5 || nf > 7)
		return error(&x, "expression: %d field%s; want 5 (minute hour day-of-month month "
		             "day-of-week), 6 (the same and year) or 7 (second first, then the 6)",
		             nf, nf == 1 ? "" : "s");
	static const int order5[] = { F_MIN, F_HOUR, F_DOM, F_MON, F_DOW };
	static const int order6[] = { F_MIN, F_HOUR, F_DOM, F_MON, F_DOW, F_YEAR };
	static const int order7[] = { F_SEC, F_MIN, F_HOUR, F_DOM, F_MON, F_DOW, F_YEAR };
	const int *order = nf == 5 ? order5 : nf == 6 ? order6 : order7;
	Cron c;
	memset(&c, 0, sizeof c);
	c.sec = 1;
	if (nf == 5 && parse_field(&x, F_YEAR, "*", 1, &c) != 0)
		return -EINVAL;
	for (int i = 0; i < nf; i++)
		if (parse_field(&x, order[i], fs[i], fl[i], &c) != 0)
			return -EINVAL;
	c.hourly = c.hour == 0xffffffu;
	c.mon_ok = months_possible(&c);
	*out = c;
	return 0;
}

/* ---- matching ---- */

static int bit_next32(uint32_t mask, int from)
{
	if (from >= 32)
		return -1;
	uint32_t m = mask & (~(uint32_t)0 << from);
	return m ? __builtin_ctz(m) : -1;
}

static int bit_next64(uint64_t mask, int from)
{
	if (from >= 64)
		return -1;
	uint64_t m = mask & (~(uint64_t)0 << from);
	return m ? __builtin_ctzll(m) : -1;
}

/* The first year >= y in the expression, or -1. */
static int year_next(const Cron *c, int y)
{
	if (y < CRON_YEAR_MIN)
		y = CRON_YEAR_MIN;
	for (int b = y - CRON_YEAR_MIN; b <= CRON_YEAR_MAX - CRON_YEAR_MIN;) {
		int k = bit_next64(c->year[b / 64], b % 64);
		if (k >= 0)
			return CRON_YEAR_MIN + b / 64 * 64 + k;
		b = (b / 64 + 1) * 64;
	}
	return -1;
}

/* Bits 1..31: the days matching both day fields in a month of nd days whose
 * 1st is weekday wd1. */
static uint32_t days_mask(const Cron *c, int nd, int wd1)
{
	uint32_t full = (uint32_t)(((uint64_t)1 << (nd + 1)) - 2);
	if (!c->dom_restricted && !c->dow_restricted)
		return full;
	uint32_t dm = 0, wm = 0;
	if (c->dom_restricted) {
		dm = c->dom & full;
		if (c->dom_l)
			dm |= (uint32_t)1 << nd;
		if (c->dom_lw) {
			int wl = (wd1 + nd - 1) % 7;
			dm |= (uint32_t)1 << (wl == 6 ? nd - 1 : wl == 0 ? nd - 2 : nd);
		}
		for (uint32_t w = c->dom_w & full; w != 0; w &= w - 1) {
			int d = __builtin_ctz(w), wd = (wd1 + d - 1) % 7;
			if (wd == 6)
				d = d == 1 ? 3 : d - 1;
			else if (wd == 0)
				d = d == nd ? d - 2 : d + 1;
			dm |= (uint32_t)1 << d;
		}
	}
	if (c->dow_restricted) {
		/* Bit k of rot: day k+1, whose weekday is (wd1 + k) % 7. */
		uint32_t rot = ((uint32_t)c->dow >> wd1 | (uint32_t)c->dow << (7 - wd1)) & 0x7f;
		uint64_t w1 = (uint64_t)rot << 1;
		wm = (uint32_t)((w1 | w1 << 7 | w1 << 14 | w1 << 21 | w1 << 28) & full);
		for (int w = 0; w < 7; w++) {
			if (!(c->dow_last >> w & 1) && c->dow_nth[w] == 0)
				continue;
			int first = 1 + (w - wd1 + 7) % 7;
			if (c->dow_last >> w & 1)
				wm |= (uint32_t)1 << (first + (nd - first) / 7 * 7);
			for (int k = 1; k <= 5; k++)
				if (c->dow_nth[w] >> k & 1 && first + 7 * (k - 1) <= nd)
					wm |= (uint32_t)1 << (first + 7 * (k - 1));
		}
	}
	if (c->dom_restricted && c->dow_restricted)
		return dm | wm;
	return c->dom_restricted ? dm : wm;
}

/* The matching days of month m of year y. */
static uint32_t month_mask(const Cron *c, int y, int m)
{
	return days_mask(c, civil_month_days(y, m), civil_weekday(civil_to_days(y, m, 1)));
}

/* The months that match on some day in some year (Feb 30 never does). */
static uint16_t months_possible(const Cron *c)
{
	static const int nd[13] = { 0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	uint16_t ok = 0;
	for (int m = 1; m <= 12; m++)
		for (int wd1 = 0; wd1 < 7; wd1++)
			if (days_mask(c, nd[m], wd1) != 0 || (m == 2 && days_mask(c, 29, wd1) != 0))
				ok |= (uint16_t)(1u << m);
	return ok;
}

int cron_match_civil(const Cron *c, int y, int mon, int d, int h, int m, int s)
{
	if (y < CRON_YEAR_MIN || y > CRON_YEAR_MAX || mon < 1 || mon > 12 || d < 1 || d > 31 ||
	    h < 0 || h > 23 || m < 0 || m > 59 || s < 0 || s > 59)
		return 0;
	int b = y - CRON_YEAR_MIN;
	return (c->year[b / 64] >> (b % 64) & 1) && (c->mon >> mon & 1) &&
	       (month_mask(c, y, mon) >> d & 1) && (c->hour >> h & 1) && (c->min >> m & 1) &&
	       (c->sec >> s & 1);
}

/* ---- next fire ---- */

/* Wall-clock times are counted in "wall seconds": seconds since 1970-01-01
 * 00:00:00 of the zone's calendar, as if it were UTC. */
#define WALL_END ((int64_t)47482 * 86400)   /* 2100-01-01 00:00:00 */
#define GAP_MAX (3 * 3600)
#define DAY 86400

/* The smallest matching wall time >= lo, or CRON_NEVER: field by field, each
 * field jumping to its next allowed value and resetting the smaller ones. */
static int64_t next_wall(const Cron *c, int64_t lo)
{
	if (lo < 0)
		lo = 0;
	uint16_t months = c->mon & c->mon_ok;
	if (lo >= WALL_END || months == 0)
		return CRON_NEVER;
	int64_t yy, days = lo / DAY;
	int rem = (int)(lo % DAY), mo, d;
	civil_from_days(days, &yy, &mo, &d);
	int y = (int)yy, h = rem / 3600, mi = rem / 60 % 60, s = rem % 60;
	int mask_y = 0, mask_m = 0;
	uint32_t mask = 0;
	for (;;) {
		int ny = year_next(c, y);
		if (ny < 0)
			return CRON_NEVER;
		if (ny != y) {
			y = ny;
			mo = d = 1;
			h = mi = s = 0;
		}
		int nmo = bit_next32(months, mo);
		if (nmo < 0) {
			y++;
			mo = d = 1;
			h = mi = s = 0;
			continue;
		}
		if (nmo != mo) {
			mo = nmo;
			d = 1;
			h = mi = s = 0;
		}
		if (mask_y != y || mask_m != mo) {
			mask = month_mask(c, y, mo);
			mask_y = y;
			mask_m = mo;
		}
		int nd = bit_next32(mask, d);
		if (nd < 0) {
			if (++mo > 12) {
				mo = 1;
				y++;
			}
			d = 1;
			h = mi = s = 0;
			continue;
		}
		if (nd != d) {
			d = nd;
			h = mi = s = 0;
		}
		int nh = bit_next32(c->hour, h);
		if (nh < 0) {
			d++;
			h = mi = s = 0;
			continue;
		}
		if (nh != h) {
			h = nh;
			mi = s = 0;
		}
		int nmi = bit_next64(c->min, mi);
		if (nmi < 0) {
			h++;
			mi = s = 0;
			continue;
		}
		if (nmi != mi) {
			mi = nmi;
			s = 0;
		}
		int ns = bit_next64(c->sec, s);
		if (ns < 0) {
			mi++;
			s = 0;
			continue;
		}
		return civil_to_days(y, mo, d) * DAY + h * 3600 + mi * 60 + ns;
	}
}

/* next_wall with a memo: w = next_wall(lo) answers every query in [lo, w]. */
typedef struct Memo {
	const Cron *c;
	int64_t lo, w;
} Memo;

static int64_t memo_next(Memo *m, int64_t lo)
{
	if (lo >= m->lo && lo <= m->w)
		return m->w;
	m->lo = lo;
	m->w = next_wall(m->c, lo);
	return m->w;
}

/* If wall time w, met in segment i, already occurred in an earlier segment,
 * the end of that earlier stretch of wall time (walls of segment i below it are
 * repeats too); else INT64_MIN. */
static int64_t repeat_end(const Zone *z, int i, int64_t w)
{
	int64_t end = INT64_MIN;
	for (int j = i - 1; j >= -1; j--) {
		int64_t bj = zone_seg_end(z, j);
		if (bj + z->omax <= w)         /* every wall before bj is below w */
			break;
		int32_t oj = zone_seg_off(z, j);
		if (w - oj >= zone_seg_start(z, j) && w - oj < bj && bj + oj > end)
			end = bj + oj;
	}
	return end;
}

static int64_t check(const Cron *c, const Zone *z, int64_t first, int64_t x)
{
#ifndef NDEBUG
	assert(x >= first);
	struct tm tm;
	zone_civil(z, x, &tm);
	int i = zone_seg_find(z, x);
	int gap = i >= 0 && z->at[i] == x && zone_seg_off(z, i - 1) < zone_seg_off(z, i);
	assert(gap || cron_match_civil(c, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	                               tm.tm_min, tm.tm_sec));
#else
	(void)c, (void)z, (void)first;
#endif
	return x;
}

/* Walks the zone's segments (stretches of constant offset) forward from the
 * first candidate second. In each, the next matching wall time either falls
 * inside (fire, unless it is a repeat of a fall-back overlap and the schedule is
 * coarser than hourly), or not (go on to the next segment, or jump far ahead
 * when the next match is far away). Entering a segment through a spring-forward
 * gap, a coarser-than-hourly schedule with a match inside the gap fires at the
 * transition instant. */
int64_t cron_next(const Cron *c, int64_t after_sec, long after_nsec, const Zone *z)
{
	const int64_t t_lo = -3 * DAY, t_hi = WALL_END + 3 * DAY;
	assert(c != NULL && z != NULL);
	if (after_sec >= t_hi)
		return CRON_NEVER;
	if (after_sec < -((int64_t)1 << 40))
		after_sec = -((int64_t)1 << 40);
	int64_t t = after_sec + civil_floor_div(after_nsec, 1000000000L);
	if (t >= t_hi)
		return CRON_NEVER;
	if (t < t_lo)
		t = t_lo;
	t++;                                   /* the first whole second after */
	const int64_t first = t;
	Memo m = { c, 1, 0 };                  /* empty */
	int i = zone_seg_find(z, t);
	for (int iter = 0; iter < 100000; iter++) {
		int64_t a = zone_seg_start(z, i), b = zone_seg_end(z, i);
		int32_t o = zone_seg_off(z, i);
		if (t >= b) {
			i = zone_seg_find(z, t);
			continue;
		}
		if (t == a) {
			int32_t op = zone_seg_off(z, i - 1);
			if (op < o && !c->hourly && o - op <= GAP_MAX && memo_next(&m, a + op) < a + o)
				return check(c, z, first, a);
		}
		int64_t w = memo_next(&m, t + o);
		if (w != CRON_NEVER && (b == INT64_MAX || w < b + o)) {
			if (!c->hourly) {
				int64_t end = repeat_end(z, i, w);
				if (end > w) {
					t = end - o;
					continue;
				}
			}
			return check(c, z, first, w - o);
		}
		if (b == INT64_MAX)
			return CRON_NEVER;
		/* Nothing more in this segment. If every instant from b on shows a wall
		 * time of at least m.lo, nothing before the instant w - omax can fire
		 * (its wall time would lie in [m.lo, w), where nothing matches). */
		if (m.lo <= b + z->omin) {
			if (w == CRON_NEVER)
				return CRON_NEVER;
			int64_t j = w - z->omax;
			if (j > b) {
				t = j;
				i = zone_seg_find(z, t);
				continue;
			}
		}
		i++;
		t = b;
	}
	assert(!"cron_next: no progress");
	return CRON_NEVER;
}
