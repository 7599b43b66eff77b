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

#include "cron/cron.h"
#include "ctl/ctl.h"
#include "jobs/settings.h"

const char *const settings_names[SET_N] = {
	[SET_SCHEDULE] = "schedule", [SET_CMD] = "cmd", [SET_TIMEOUT] = "timeout",
	[SET_OVERLAP] = "overlap", [SET_MISFIRE] = "misfire", [SET_DIR] = "dir", [SET_ENV] = "env",
	[SET_LIMITS] = "limits",
};

int settings_key(const char *name, size_t len)
{
	for (int i = 0; i < SET_N; i++)
		if (strlen(settings_names[i]) == len && memcmp(settings_names[i], name, len) == 0)
			return i;
	return -1;
}

void settings_from_file(int key, char *v)
{
	size_t len = strlen(v);
	if (key == SET_SCHEDULE) {
		/* "expr:<next run>" while started; neither the expression nor a
		 * TZ= zone name holds a colon. */
		char *colon = strchr(v, ':');
		if (colon)
			*colon = 0;
	} else if (key == SET_ENV) {
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
		if (i != SET_ENV && !strchr(v, '\n')) {
			buf_printf(out, "%s:%s%s\n", settings_names[i], *v ? " " : "", v);
			continue;
		}
		buf_printf(out, "%s:\n", settings_names[i]);
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
		int k = settings_key(line, klen);
		if (k < 0) {
			strfmt(why, n, "line %d: unknown setting '%.*s' (settings: schedule, cmd, timeout, "
			       "overlap, misfire, dir, env, limits)", lineno, (int)klen, line);
			goto fail;
		}
		if (out->v[k]) {
			strfmt(why, n, "line %d: %s is set twice", lineno, settings_names[k]);
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

/* Checks use the parsers jobd itself uses (cron/, jobs/settings.h), so
 * jobctl refuses exactly what jobd would. */

/* The server's rule for a schedule (jobs_parse_schedule): "TZ=Zone " or
 * "CRON_TZ=Zone " first, then the expression. The zone is jobd's to check:
 * its time zone database may differ from this machine's. */
static int check_schedule(const char *spec, char *why, size_t n)
{
	const char *p = spec + strspn(spec, " \t");
	size_t plen = strncmp(p, "TZ=", 3) == 0 ? 3 : strncmp(p, "CRON_TZ=", 8) == 0 ? 8 : 0;
	if (plen) {
		p += plen;
		size_t zlen = strcspn(p, " \t");
		if (zlen == 0 || !p[zlen]) {
			strfmt(why, n, "time zone: want 'TZ=Area/City expression'");
			return -EINVAL;
		}
		p += zlen;
	}
	Cron c;
	return cron_parse(p, &c, why, n);
}

int settings_check(const Settings *s, char *why, size_t n)
{
	char sub[256] = "";
	int64_t ms;
	int v, rc = 0, key = -1;
	for (int i = 0; i < SET_N && rc == 0; i++) {
		const char *val = s->v[i];
		if (!val)
			continue;
		key = i;
		switch (i) {
		case SET_SCHEDULE: rc = check_schedule(val, sub, sizeof sub); break;
		case SET_TIMEOUT: rc = duration_parse(val, &ms, sub, sizeof sub); break;
		case SET_OVERLAP: rc = overlap_parse(val, &v, sub, sizeof sub); break;
		case SET_MISFIRE: rc = misfire_parse(val, &v, sub, sizeof sub); break;
		case SET_DIR: rc = dir_valid(val, sub, sizeof sub); break;
		case SET_ENV: rc = env_parse(val, NULL, sub, sizeof sub); break;
		case SET_LIMITS: rc = limits_parse(val, NULL, NULL, sub, sizeof sub); break;
		default: break;
		}
	}
	if (rc == 0)
		return 0;
	/* The shared parsers name some settings themselves ("overlap: ..."). */
	size_t klen = strlen(settings_names[key]);
	if (strncmp(sub, settings_names[key], klen) == 0 && sub[klen] == ':')
		strfmt(why, n, "%s", sub);
	else
		strfmt(why, n, "%s: %s", settings_names[key], sub);
	return -EINVAL;
}
