/* libFuzzer target for jobctl's JSON writer (src/ctl/json.c): -o json
 * prints job names, commands, environments and times that a job's owner
 * wrote, and must be valid JSON whatever their bytes.
 *
 * Input: any bytes. The whole input is one string (json_quote); it is also
 * cut at its NUL bytes into the keys and values of an object, with nested
 * arrays, integers, numbers (8 input bytes as a double: NaN, infinities,
 * subnormals) and times (8 bytes as unix seconds, clamped to what jobd's
 * RFC 3339 parser gives, 4 as nanoseconds) written with the Json API.
 *
 * Properties checked (abort() on a violation, so libFuzzer keeps the input):
 *   - json_quote's output is one JSON string (RFC 8259, checked by the
 *     validator below, written apart from json.c and escape.c) whose value
 *     is the input with every byte that is not part of valid UTF-8 (RFC 3629)
 *     replaced by U+FFFD;
 *   - the document written with json_open/str/int/num/bool/time/close is one
 *     JSON value, ending with a newline, and nothing follows it. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

enum { MAXLEN = 1 << 14 };

static void fail(const char *what, const Buf *b)
{
	fprintf(stderr, "fuzz_json: %s\n%.*s\n", what, b ? (int)b->len : 0, b ? b->data : "");
	abort();
}

/* ---- a strict JSON validator ---- */

typedef struct P {
	const unsigned char *s;
	size_t i, n;
	Buf *val;                   /* a string's value is decoded into this, if not NULL */
} P;

/* The UTF-8 sequence at p (n bytes left): its length, 0 if not valid. */
static size_t utf8_len(const unsigned char *p, size_t n, uint32_t *cp)
{
	unsigned char c = p[0];
	size_t k;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		k = 2, v = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		k = 3, v = c & 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		k = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < k)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (p[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return k;
}

static void put_utf8(Buf *b, uint32_t cp)
{
	unsigned char u[4];
	size_t k;
	if (cp < 0x80)
		u[0] = (unsigned char)cp, k = 1;
	else if (cp < 0x800)
		u[0] = (unsigned char)(0xc0 | cp >> 6), u[1] = (unsigned char)(0x80 | (cp & 0x3f)), k = 2;
	else if (cp < 0x10000)
		u[0] = (unsigned char)(0xe0 | cp >> 12), u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f)),
		u[2] = (unsigned char)(0x80 | (cp & 0x3f)), k = 3;
	else
		u[0] = (unsigned char)(0xf0 | cp >> 18), u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f)),
		u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f)), u[3] = (unsigned char)(0x80 | (cp & 0x3f)),
		k = 4;
	buf_add(b, u, k);
}

static void ws(P *p)
{
	while (p->i < p->n && strchr(" \t\n\r", p->s[p->i]) && p->s[p->i])
		p->i++;
}

static int hex4(P *p, uint32_t *v)
{
	*v = 0;
	if (p->i + 4 > p->n)
		return 0;
	for (int k = 0; k < 4; k++) {
		unsigned char c = p->s[p->i++];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
		        c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return 0;
		*v = *v << 4 | (uint32_t)d;
	}
	return 1;
}

static int string(P *p)
{
	if (p->i >= p->n || p->s[p->i] != '"')
		return 0;
	p->i++;
	while (p->i < p->n) {
		unsigned char c = p->s[p->i];
		if (c == '"') {
			p->i++;
			return 1;
		}
		if (c < 0x20)
			return 0;
		if (c == '\\') {
			if (++p->i >= p->n)
				return 0;
			unsigned char e = p->s[p->i++];
			const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
			const char *at = e ? strchr(from, e) : NULL;
			uint32_t cp;
			if (at) {
				cp = (unsigned char)to[at - from];
			} else if (e == 'u') {
				if (!hex4(p, &cp))
					return 0;
				if (cp >= 0xdc00 && cp <= 0xdfff)
					return 0;           /* a lone low surrogate */
				if (cp >= 0xd800 && cp <= 0xdbff) {
					uint32_t lo;
					if (p->i + 2 > p->n || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u')
						return 0;
					p->i += 2;
					if (!hex4(p, &lo) || lo < 0xdc00 || lo > 0xdfff)
						return 0;
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				}
			} else {
				return 0;
			}
			if (p->val)
				put_utf8(p->val, cp);
			continue;
		}
		uint32_t cp;
		size_t k = utf8_len(p->s + p->i, p->n - p->i, &cp);
		if (!k)
			return 0;
		if (p->val)
			buf_add(p->val, p->s + p->i, k);
		p->i += k;
	}
	return 0;
}

static int digits(P *p)
{
	size_t start = p->i;
	while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
		p->i++;
	return p->i > start;
}

static int number(P *p)
{
	if (p->i < p->n && p->s[p->i] == '-')
		p->i++;
	if (p->i < p->n && p->s[p->i] == '0')
		p->i++;
	else if (!(p->i < p->n && p->s[p->i] >= '1' && p->s[p->i] <= '9') || !digits(p))
		return 0;
	if (p->i < p->n && p->s[p->i] == '.') {
		p->i++;
		if (!digits(p))
			return 0;
	}
	if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
		p->i++;
		if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-'))
			p->i++;
		if (!digits(p))
			return 0;
	}
	return 1;
}

static int literal(P *p, const char *w)
{
	size_t l = strlen(w);
	if (p->i + l > p->n || memcmp(p->s + p->i, w, l))
		return 0;
	p->i += l;
	return 1;
}

static int value(P *p, int depth);

static int container(P *p, int depth, char open, char close, int members)
{
	if (depth > 64)
		return 0;
	p->i++;                     /* open */
	(void)open;
	ws(p);
	if (p->i < p->n && p->s[p->i] == close) {
		p->i++;
		return 1;
	}
	for (;;) {
		ws(p);
		if (members) {
			if (!string(p))
				return 0;
			ws(p);
			if (p->i >= p->n || p->s[p->i++] != ':')
				return 0;
		}
		if (!value(p, depth + 1))
			return 0;
		ws(p);
		if (p->i >= p->n)
			return 0;
		unsigned char c = p->s[p->i++];
		if (c == close)
			return 1;
		if (c != ',')
			return 0;
	}
}

static int value(P *p, int depth)
{
	Buf *val = p->val;
	p->val = NULL;              /* only the top string's value is decoded */
	ws(p);
	int ok = 0;
	if (p->i < p->n) {
		unsigned char c = p->s[p->i];
		if (c == '{')
			ok = container(p, depth, '{', '}', 1);
		else if (c == '[')
			ok = container(p, depth, '[', ']', 0);
		else if (c == '"')
			ok = (p->val = val, string(p));
		else if (c == '-' || (c >= '0' && c <= '9'))
			ok = number(p);
		else
			ok = literal(p, "true") || literal(p, "false") || literal(p, "null");
	}
	p->val = NULL;
	return ok;
}

/* The whole of b is one JSON text (whitespace around it). */
static int json_text(const Buf *b, Buf *val)
{
	P p = { (const unsigned char *)b->data, 0, b->len, val };
	if (!value(&p, 0))
		return 0;
	ws(&p);
	return p.i == p.n;
}

/* ---- the target ---- */

static uint64_t take(const uint8_t **d, size_t *n, size_t k)
{
	uint64_t v = 0;
	for (size_t i = 0; i < k && *n; i++, (*d)++, (*n)--)
		v = v << 8 | **d;
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static Zone *utc, *ny;
	if (!utc) {
		char why[256];
		utc = zone_load("UTC", why, sizeof why);
		ny = zone_load("America/New_York", why, sizeof why);
		if (!utc)
			fail("no UTC zone", NULL);
	}
	if (size > MAXLEN)
		return 0;

	/* One string: valid JSON, and the input with U+FFFD for bytes not UTF-8. */
	Buf out = {0}, got = {0}, want = {0};
	json_quote(&out, (const char *)data, size);
	if (!json_text(&out, &got))
		fail("json_quote: not a JSON string", &out);
	for (size_t i = 0; i < size;) {
		uint32_t cp;
		size_t k = utf8_len(data + i, size - i, &cp);
		if (k)
			buf_add(&want, data + i, k);
		else
			buf_add(&want, "\xef\xbf\xbd", 3);
		i += k ? k : 1;
	}
	if (got.len != want.len || (got.len && memcmp(got.data, want.data, got.len)))
		fail("json_quote: the string's value is not the input's text", &out);
	buf_free(&out);
	buf_free(&got);
	buf_free(&want);

	/* A document: the input cut at its NULs into keys and values, and
	 * numbers and times from its bytes; containers opened and closed as
	 * its bytes say, all closed at the end. */
	char stack[JSON_DEPTH];     /* the closing bracket of each container open */
	int depth = 0;
	Json j;
	json_init(&j, &out);
	stack[depth++] = size && (data[0] & 1) ? ']' : '}';
	json_open(&j, NULL, stack[0] == ']' ? '[' : '{');
	const uint8_t *d = data + (size ? 1 : 0);
	size_t n = size ? size - 1 : 0;
	while (n) {
		unsigned op = (unsigned)take(&d, &n, 1);
		char *key = NULL;
		if (stack[depth - 1] == '}') {
			size_t kl = strnlen((const char *)d, n);
			key = strndup((const char *)d, kl);
			d += kl < n ? kl + 1 : kl;
			n -= kl < n ? kl + 1 : kl;
		}
		switch (op % 8) {
		case 0: case 7: {
			size_t vl = strnlen((const char *)d, n);
			char *v = strndup((const char *)d, vl);
			json_str(&j, key, op & 8 ? NULL : v);
			free(v);
			d += vl < n ? vl + 1 : vl;
			n -= vl < n ? vl + 1 : vl;
			break;
		}
		case 1:
			json_int(&j, key, (long long)take(&d, &n, 8));
			break;
		case 2: {
			uint64_t bits = take(&d, &n, 8);
			double v;
			memcpy(&v, &bits, sizeof v);
			json_num(&j, key, v);
			break;
		}
		case 3:
			json_bool(&j, key, (int)(op >> 3 & 1));
			break;
		case 4: {
			/* 0000-01-01 .. 9999-12-31 (what time_parse_rfc3339 gives), and
			 * a day either side of it (its offsets). */
			int64_t lo = -62167219200 - 86400, span = 253402300800 + 86400 - lo;
			int64_t sec = lo + (int64_t)(take(&d, &n, 8) % (uint64_t)span);
			long nsec = (long)(take(&d, &n, 4) % 1000000000u);
			CtlTime t = { sec, nsec, !(op & 8) };
			json_time(&j, key, (op & 16) && ny ? ny : utc, t);
			break;
		}
		case 5:
			if (depth < JSON_DEPTH) {
				stack[depth++] = op & 8 ? ']' : '}';
				json_open(&j, key, op & 8 ? '[' : '{');
			} else {
				json_bool(&j, key, 0);
			}
			break;
		case 6:
			if (depth > 1) {
				json_close(&j, stack[--depth]);
			} else {
				json_str(&j, key, "");
			}
			break;
		}
		free(key);
	}
	while (depth > 0)
		json_close(&j, stack[--depth]);
	if (!out.len || out.data[out.len - 1] != '\n')
		fail("document: does not end with a newline", &out);
	if (!json_text(&out, NULL))
		fail("document: not one JSON value", &out);
	buf_free(&out);
	return 0;
}
