/* One-line renderings of 9P messages for debug traces, in the manner of
 * plan9port's fcallfmt: "Twalk tag 1 fid 0 newfid 1 nwname 2 0:jobs 1:x".
 * The fields are those of the message's layout (fcall_int.h), in wire order.
 * String fields are quoted; walk elements are bare unless they need quoting;
 * all-ones values (NOFID, NONUNAME, "don't touch" wstat fields) print as ~0. */
#include <stdarg.h>
#include <stdio.h>

#include "9p/fcall_int.h"

enum { DATA_PREFIX = 32 };   /* bytes of Rread/Twrite data shown */

const char *p9_typename(uint8_t type)
{
	return p9_msgs[type].name;
}

/* An appender that truncates silently and keeps out NUL-terminated. */
typedef struct Out {
	char *buf;
	size_t cap, len;
} Out;

__attribute__((format(printf, 2, 3)))
static void put(Out *o, const char *fmt, ...)
{
	if (o->len + 1 >= o->cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	o->len += (size_t)k;
	if (o->len >= o->cap)
		o->len = o->cap - 1;
}

static void escaped(Out *o, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t ch = p[i];
		if (ch == '\'' || ch == '\\')
			put(o, "\\%c", ch);
		else if (ch == '\n')
			put(o, "\\n");
		else if (ch == '\t')
			put(o, "\\t");
		else if (ch >= 0x20 && ch < 0x7f)
			put(o, "%c", ch);
		else
			put(o, "\\x%02x", ch);
	}
}

static void str(Out *o, const char *label, P9str s)
{
	put(o, " %s '", label);
	escaped(o, (const uint8_t *)s.s, s.s ? s.n : 0);
	put(o, "'");
}

/* A walk element is shown bare when nothing in it could be misread. */
static void elem(Out *o, P9str s)
{
	int bare = s.n > 0 && s.s;
	for (size_t i = 0; bare && i < s.n; i++) {
		uint8_t ch = (uint8_t)s.s[i];
		bare = ch > 0x20 && ch < 0x7f && ch != '\'' && ch != '\\';
	}
	if (bare) {
		put(o, "%.*s", (int)s.n, s.s);
	} else {
		put(o, "'");
		escaped(o, (const uint8_t *)s.s, s.s ? s.n : 0);
		put(o, "'");
	}
}

/* A qid as "(path vers type)", the type as letters: d a l A. */
static void qidval(Out *o, const Qid *q)
{
	char t[8];
	size_t k = 0;
	if (q->type & QTDIR)
		t[k++] = 'd';
	if (q->type & QTAPPEND)
		t[k++] = 'a';
	if (q->type & QTEXCL)
		t[k++] = 'l';
	if (q->type & QTAUTH)
		t[k++] = 'A';
	t[k] = '\0';
	put(o, "(%016llx %u %s)", (unsigned long long)q->path, q->vers, t);
}

/* 9P2000 permissions as ls(1) would show them, with the DM flags in front. */
static void dirmode(Out *o, const char *label, uint32_t m)
{
	if (m == 0xffffffffu) {
		put(o, " %s ~0", label);
		return;
	}
	char b[16];
	size_t k = 0;
	if (m & DMDIR)
		b[k++] = 'd';
	if (m & DMAPPEND)
		b[k++] = 'a';
	if (m & DMAUTH)
		b[k++] = 'A';
	if (m & DMEXCL)
		b[k++] = 'l';
	if (k == 0)
		b[k++] = '-';
	for (int i = 8; i >= 0; i--)
		b[k++] = (m >> i) & 1 ? "xwr"[i % 3] : '-';
	b[k] = '\0';
	put(o, " %s %s", label, b);
}

static void data(Out *o, uint32_t count, const uint8_t *d)
{
	put(o, " count %u", count);
	if (count == 0 || d == NULL)
		return;
	put(o, " '");
	escaped(o, d, count < DATA_PREFIX ? count : DATA_PREFIX);
	put(o, count > DATA_PREFIX ? "'..." : "'");
}

/* An integer field of `size` bytes as its layout says to show it. */
static void integer(Out *o, const char *label, uint64_t v, int size, int show)
{
	uint64_t ones = size == 8 ? UINT64_MAX : ((uint64_t)1 << (8 * size)) - 1;
	switch (show) {
	case SHOW_ID:
		if (v == ones) {
			put(o, " %s ~0", label);
			break;
		}
		/* fall through */
	case SHOW_NUM:
		put(o, " %s %llu", label, (unsigned long long)v);
		break;
	case SHOW_OCT:
		put(o, " %s 0%llo", label, (unsigned long long)v);
		break;
	case SHOW_HEX:
		put(o, " %s %#llx", label, (unsigned long long)v);
		break;
	case SHOW_MODE:
		dirmode(o, label, (uint32_t)v);
		break;
	}
}

/* The fields of layout fl, whose values are at base, as p9_fmt shows them. */
static void fields(Out *o, int dialect, const Field *fl, const void *base)
{
	int ext = dialect != P9_2000;
	const Fcall *f = base;
	for (; fl->kind != K_END; fl++) {
		const void *v = (const char *)base + fl->off;
		switch (fl->kind) {
		case K_U8: integer(o, fl->label, *(const uint8_t *)v, 1, fl->show); break;
		case K_U16: integer(o, fl->label, *(const uint16_t *)v, 2, fl->show); break;
		case K_U32: integer(o, fl->label, *(const uint32_t *)v, 4, fl->show); break;
		case K_U64: integer(o, fl->label, *(const uint64_t *)v, 8, fl->show); break;
		case K_EXT32:
		case K_EXT32Z:
			if (ext)
				integer(o, fl->label, *(const uint32_t *)v, 4, fl->show);
			break;
		case K_STR: str(o, fl->label, *(const P9str *)v); break;
		case K_EXTSTR:
			if (ext)
				str(o, fl->label, *(const P9str *)v);
			break;
		case K_QID:
			put(o, " %s ", fl->label);
			qidval(o, v);
			break;
		case K_TIME: {
			const uint64_t *t = v;
			put(o, " %s %llu.%09llu", fl->label, (unsigned long long)t[0],
			    (unsigned long long)t[1]);
			break;
		}
		case K_DATA: data(o, f->count, f->data); break;
		case K_WNAMES:
			put(o, " nwname %u", f->nwname);
			for (int i = 0; i < f->nwname && i < P9_MAXWELEM; i++) {
				put(o, " %d:", i);
				elem(o, f->wname[i]);
			}
			break;
		case K_WQIDS:
			put(o, " nwqid %u", f->nwqid);
			for (int i = 0; i < f->nwqid && i < P9_MAXWELEM; i++) {
				put(o, " %d:", i);
				qidval(o, &f->wqid[i]);
			}
			break;
		case K_STAT: fields(o, dialect, p9_stat_fields, v); break;
		}
	}
}

void p9_fmt(char *out, size_t n, int dialect, const Fcall *f)
{
	if (n == 0)
		return;
	Out o = { out, n, 0 };
	out[0] = '\0';
	const Msg *m = &p9_msgs[f->type];
	if (m->name == NULL) {
		put(&o, "unknown type %u tag %u", f->type, f->tag);
		return;
	}
	if (f->tag == P9_NOTAG)
		put(&o, "%s tag ~0", m->name);
	else
		put(&o, "%s tag %u", m->name, f->tag);
	fields(&o, dialect, m->fields, f);
}
