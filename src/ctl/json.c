/* -o json: a small writer. The members of the outermost object or array go
 * one a line, indented by two; what is nested in them stays on that line.
 * So a list of jobs is one job a line (grep-able), and still one JSON text
 * for jq. Text from jobs (commands, env) may hold any byte: what is not
 * valid UTF-8 becomes U+FFFD, so the output is always valid JSON. */
#include <math.h>
#include <string.h>

#include "ctl/ctl.h"

void json_init(Json *j, Buf *out)
{
	memset(j, 0, sizeof *j);
	j->out = out;
}

/* The comma and line break before a value, and its key. */
static void sep(Json *j, const char *key)
{
	int d = j->depth;
	if (d > 0 && d <= JSON_DEPTH) {
		if (j->count[d - 1]++)
			buf_add(j->out, ",", 1);
		if (d == 1)
			buf_add(j->out, "\n  ", 3);
	}
	if (key) {
		json_quote(j->out, key, strlen(key));
		buf_add(j->out, ":", 1);
	}
}

void json_open(Json *j, const char *key, char bracket)
{
	sep(j, key);
	buf_add(j->out, &bracket, 1);
	if (j->depth < JSON_DEPTH)
		j->count[j->depth] = 0;
	j->depth++;
}

void json_close(Json *j, char bracket)
{
	j->depth--;
	if (j->depth == 0 && j->count[0])
		buf_add(j->out, "\n", 1);
	buf_add(j->out, &bracket, 1);
	if (j->depth == 0)
		buf_add(j->out, "\n", 1);
}

void json_quote(Buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	buf_add(out, "\"", 1);
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		uint32_t cp;
		size_t k = ctl_utf8_seq((const unsigned char *)s + i, len - i, &cp);
		if (k == 0) {
			buf_addstr(out, "\xef\xbf\xbd");     /* U+FFFD for a byte that is not UTF-8 */
			i++;
			continue;
		}
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			buf_add(out, e, 2);
		} else if (c == '\n') {
			buf_add(out, "\\n", 2);
		} else if (c == '\t') {
			buf_add(out, "\\t", 2);
		} else if (c < 0x20 || c == 0x7f) {
			char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			buf_add(out, e, 6);
		} else {
			buf_add(out, s + i, k);
		}
		i += k;
	}
	buf_add(out, "\"", 1);
}

void json_str(Json *j, const char *key, const char *v)
{
	sep(j, key);
	if (v)
		json_quote(j->out, v, strlen(v));
	else
		buf_addstr(j->out, "null");
}

void json_int(Json *j, const char *key, long long v)
{
	sep(j, key);
	buf_printf(j->out, "%lld", v);
}

void json_num(Json *j, const char *key, double v)
{
	sep(j, key);
	/* NaN and infinities have no JSON spelling (strtod reads "nan" and
	 * "inf", and "1e999" as an infinity, from a status line). */
	if (!isfinite(v) || v < 0) {
		buf_addstr(j->out, "null");
		return;
	}
	/* jobd gives durations to the millisecond or tenth of one: %.6f keeps
	 * them, then trailing zeros go. From 1e15 on, %.6f would not fit: %.17g
	 * (an exponent, which JSON allows; never "inf" or "nan" here). */
	char num[64];
	if (v >= 1e15) {
		strfmt(num, sizeof num, "%.17g", v);
		buf_addstr(j->out, num);
		return;
	}
	strfmt(num, sizeof num, "%.6f", v);
	size_t k = strlen(num);
	while (k > 1 && num[k - 1] == '0')
		num[--k] = 0;
	if (num[k - 1] == '.')
		num[k - 1] = 0;
	buf_addstr(j->out, num);
}

void json_bool(Json *j, const char *key, int v)
{
	sep(j, key);
	buf_addstr(j->out, v ? "true" : "false");
}

void json_time(Json *j, const char *key, const Zone *z, CtlTime t)
{
	char ts[80];
	json_str(j, key, t.set ? ctl_time_json(z, t, ts, sizeof ts) : NULL);
}
