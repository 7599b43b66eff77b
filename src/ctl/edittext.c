/* The text `jobctl edit` puts in front of the user, and reading it back:
 *
 *     schedule: 0 9 * * 1-5
 *     cmd: echo hello
 *     env:
 *       A=1
 *       B=2
 *
 * A key, a colon, the value on the same line; or nothing after the colon and
 * the value on the lines below, indented (their common indentation, that of
 * the first, is removed). Lines starting with '#' and blank lines are
 * ignored. Pure code: no I/O. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "jobs/settings.h"

void settings_from_file(int key, char *v)
{
	size_t len = strlen(v);
	if (key == SET_SCHEDULE) {
		/* "expr:<next run>" while started; neither the expression nor a
		 * TZ= zone name holds a colon. */
		char *colon = strchr(v, ':');
		if (colon)
			*colon = 0;
	} else if (setting_tab[key].flags & SETF_LINES) {
		while (len > 0 && v[len - 1] == '\n')
			v[--len] = 0;
	}
}

void settings_render(const Settings *s, const char *job, Buf *out)
{
	buf_printf(out,
	           "# Settings of job %s: change what you want, save and quit.\n"
	           "# Only what changed is applied, in the order of this file; jobd checks\n"
	           "# each value and the first it refuses stops the rest. A deleted line\n"
	           "# leaves its setting as it is. A value of several lines (env, one\n"
	           "# KEY=value a line) goes on indented lines under its key.\n"
	           "# See jobd-namespace(5) for the values.\n", job);
	for (int i = 0; i < SET_N; i++) {
		const char *v = s->v[i];
		if (!v)
			continue;
		const char *name = setting_tab[i].name;
		if (!(setting_tab[i].flags & SETF_LINES) && !strchr(v, '\n')) {
			buf_printf(out, "%s:%s%s\n", name, *v ? " " : "", v);
			continue;
		}
		buf_printf(out, "%s:\n", name);
		while (*v) {
			size_t len = strcspn(v, "\n");
			buf_printf(out, "  %.*s\n", (int)len, v);
			v += len;
			if (*v == '\n')
				v++;
		}
	}
}

void settings_free(Settings *s)
{
	for (int i = 0; i < SET_N; i++) {
		free(s->v[i]);
		s->v[i] = NULL;
	}
}

static int blank(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return 0;
	return 1;
}

/* Ends the value under construction: drops the newline after its last line. */
static void settle(Buf *b, char **slot)
{
	while (b->len > 0 && b->data[b->len - 1] == '\n')
		b->data[--b->len] = 0;
	*slot = xstrdup(b->data ? b->data : "");
	buf_free(b);
}

int settings_parse(const char *text, Settings *out, char *why, size_t n)
{
	memset(out, 0, sizeof *out);
	Buf block = {0};
	int key = -1;               /* the key whose indented block is being read */
	size_t indent = 0;          /* that block's indentation, once its first line is seen */
	int lineno = 0;
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n");
		const char *line = p;
		p += len;
		if (*p == '\n')
			p++;
		lineno++;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (blank(line, len))
			continue;
		if (line[0] == ' ' || line[0] == '\t') {
			if (key < 0) {
				strfmt(why, n, "line %d: an indented line continues the value of the "
				       "key above it, and there is none", lineno);
				goto fail;
			}
			size_t ws = strspn(line, " \t");
			if (indent == 0)
				indent = ws;
			size_t cut = ws < indent ? ws : indent;
			buf_add(&block, line + cut, len - cut);
			buf_addstr(&block, "\n");
			continue;
		}
		if (key >= 0) {
			settle(&block, &out->v[key]);
			key = -1;
		}
		if (line[0] == '#')
			continue;
		const char *colon = memchr(line, ':', len);
		if (!colon) {
			strfmt(why, n, "line %d: want 'key: value', got '%.*s'", lineno, (int)len, line);
			goto fail;
		}
		size_t klen = (size_t)(colon - line);
		while (klen > 0 && (line[klen - 1] == ' ' || line[klen - 1] == '\t'))
			klen--;
		int k = setting_find(line, klen);
		if (k < 0) {
			char names[128];
			strfmt(why, n, "line %d: unknown setting '%.*s' (settings: %s)", lineno, (int)klen,
			       line, setting_names(names, sizeof names));
			goto fail;
		}
		if (out->v[k]) {
			strfmt(why, n, "line %d: %s is set twice", lineno, setting_tab[k].name);
			goto fail;
		}
		const char *v = colon + 1;
		size_t vlen = len - (size_t)(v - line);
		while (vlen > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			vlen--;
		}
		if (vlen > 0) {
			out->v[k] = xstrndup(v, vlen);
			continue;
		}
		key = k;        /* empty here: the value, if any, is on the indented lines below */
		indent = 0;
	}
	if (key >= 0)
		settle(&block, &out->v[key]);
	return 0;
fail:
	buf_free(&block);
	settings_free(out);
	return -EINVAL;
}

/* The parsers jobd itself uses (setting_tab), so jobctl refuses exactly
 * what jobd would; the first value refused stops the check. */
int settings_check(const Settings *s, char *why, size_t n)
{
	for (int i = 0; i < SET_N; i++)
		if (s->v[i] && setting_parse(i, s->v[i], NULL, why, n) < 0)
			return -EINVAL;
	return 0;
}
