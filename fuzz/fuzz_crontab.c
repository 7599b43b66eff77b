/* libFuzzer target for jobctl's crontab reader and writer (src/ctl/crontab.c):
 * what `jobctl import` does with a crontab someone gave it, and `jobctl
 * export` with the jobs read.
 *
 * Input: one control byte (bit 0: /etc/crontab's format, a user column),
 * then the crontab's text up to the first NUL (import refuses a file that
 * holds one).
 *
 * Properties checked (abort() on a violation, so libFuzzer keeps the input):
 *   - crontab_parse never fails as a whole; every note has a line of the
 *     text, in order, and a terminated text of printable length;
 *   - every entry taken is one jobd would take: its line is the text's, its
 *     schedule passes jobd's own check (setting_parse: length, TZ= prefix,
 *     expression), its command is one line and not empty, its env lines are
 *     KEY=value with keys jobd takes, a "# jobctl name" passes
 *     job_name_valid, the made-up name is [A-Za-z0-9_] (at most 40, no '_'
 *     at either end), the user column is there exactly in the system
 *     format, its "# jobctl set" values are canonical;
 *   - the clone line "name:schedule:cmd" jobctl writes splits, at its first
 *     two ':' as jobd splits it, into that name and schedule;
 *   - crontab_put writes every entry taken (a crontab held it, so one can),
 *     also with a one-byte reason buffer, and reading the result back gives
 *     the same entries (name, schedule, command, env, settings, stopped,
 *     user), with no error;
 *   - crontab_name is [A-Za-z0-9_] and never empty for any line of the text. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "jobs/jobs.h"
#include "jobs/settings.h"

enum { MAXLEN = 1 << 18 };   /* lines of 100 KB and more, by hand (-max_len) */

static void fail(const char *what, const char *a, const char *b)
{
	/* The first 400 bytes of each: a line may be 100 KB. */
	fprintf(stderr, "fuzz_crontab: %s\n  '%.400s'\n  '%.400s'\n", what, a ? a : "(null)",
	        b ? b : "(null)");
	abort();
}

static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static void check_made_name(const char *name, const char *from)
{
	size_t len = strlen(name);
	if (!len || len > 40 || name[0] == '_' || name[len - 1] == '_')
		fail("made-up name: empty, too long, or '_' at an end", name, from);
	for (size_t i = 0; i < len; i++)
		if (!name_char(name[i]))
			fail("made-up name: not [A-Za-z0-9_]", name, from);
	char why[256];
	if (job_name_valid(name, len, why, sizeof why) < 0)
		fail("made-up name: jobd refuses it", name, why);
}

static void check_env(const char *env)
{
	for (const char *p = env; *p;) {
		size_t len = strcspn(p, "\n");
		const char *eq = memchr(p, '=', len);
		if (!len || !eq || eq == p || (!(p[0] >= 'A' && p[0] <= 'Z') && !(p[0] >= 'a' && p[0] <= 'z') &&
		                               p[0] != '_'))
			fail("env: a line that is not KEY=value", env, p);
		for (const char *k = p; k < eq; k++)
			if (!name_char(*k))
				fail("env: a key jobd refuses", env, p);
		if ((eq - p >= 5 && !strncmp(p, "JOBD_", 5)) || (eq - p == 7 && !strncmp(p, "CRON_TZ", 7)))
			fail("env: JOBD_* or CRON_TZ taken as a variable", env, p);
		p += len + (p[len] == '\n');
	}
	if (*env && env[strlen(env) - 1] == '\n')
		fail("env: ends with a newline", env, NULL);
}

static void check_job(const CronJob *e, int system, int nlines, int prev_line)
{
	char why[512], *canon = NULL;
	if (e->line < 1 || e->line > nlines || e->line <= prev_line)
		fail("entry: line out of range or order", e->schedule, e->cmd);
	if (!e->schedule || !e->cmd || !e->env)
		fail("entry: schedule, cmd or env missing", e->schedule, e->cmd);
	if (setting_parse(SET_SCHEDULE, e->schedule, &canon, why, sizeof why) < 0)
		fail("entry: jobd refuses the schedule", e->schedule, why);
	free(canon);
	if (strchr(e->schedule, ':') || strchr(e->schedule, '\n'))
		fail("entry: ':' or newline in the schedule", e->schedule, NULL);
	if (!*e->cmd || strchr(e->cmd, '\n'))
		fail("entry: empty command, or one of several lines", e->schedule, e->cmd);
	check_env(e->env);
	if (e->name && job_name_valid(e->name, strlen(e->name), why, sizeof why) < 0)
		fail("entry: '# jobctl name' jobd refuses", e->name, why);
	check_made_name(e->auto_name, e->cmd);
	if (system != (e->user != NULL) || (e->user && (!*e->user || strpbrk(e->user, " \t\n"))))
		fail("entry: user column", e->user, e->cmd);
	if (e->bad)
		fail("entry: taken with a refused '# jobctl' line", e->schedule, e->cmd);
	for (int k = 0; k < SET_N; k++) {
		if (!e->set[k])
			continue;
		if (k == SET_SCHEDULE || k == SET_CMD || k == SET_ENV)
			fail("entry: '# jobctl set' of a setting the line has", setting_tab[k].name, e->set[k]);
		if (setting_parse(k, e->set[k], &canon, why, sizeof why) < 0 || strcmp(canon, e->set[k]))
			fail("entry: setting not canonical", e->set[k], canon);
		free(canon);
		canon = NULL;
	}
	/* The clone line, split as jobd's write_clone splits it. */
	const char *name = e->name ? e->name : e->auto_name;
	Buf line = {0};
	buf_printf(&line, "%s:%s:%s", name, e->schedule, e->cmd);
	char *c1 = strchr(line.data, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (!c2 || (size_t)(c1 - line.data) != strlen(name) ||
	    (size_t)(c2 - c1 - 1) != strlen(e->schedule) || strcmp(c2 + 1, e->cmd))
		fail("clone line: splits elsewhere", line.data, name);
	buf_free(&line);
}

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* The entries of ct written by crontab_put and read back. */
static void check_roundtrip(const Crontab *ct, int system)
{
	Buf out = {0};
	CronOut w = { .system = system };
	crontab_header(&out, system);
	for (size_t i = 0; i < ct->n; i++) {
		CronJob j = ct->v[i];
		j.name = j.name ? j.name : j.auto_name;
		w.user = j.user;
		char why[512] = "", tiny[1] = { 'x' };
		/* A one-byte reason buffer first, on a copy of the writer. */
		CronOut w2 = { .system = system, .user = j.user };
		Buf scratch = {0};
		if (crontab_put(&w2, &j, &scratch, tiny, sizeof tiny) < 0 && tiny[0])
			fail("crontab_put: reason not terminated in a tiny buffer", j.schedule, j.cmd);
		buf_free(&scratch);
		cronout_free(&w2);
		if (crontab_put(&w, &j, &out, why, sizeof why) < 0)
			fail("crontab_put: refused an entry a crontab held", j.cmd, why);
	}
	cronout_free(&w);
	Crontab back;
	crontab_parse(out.data, system, &back);
	for (size_t i = 0; i < back.nnotes; i++)
		if (back.notes[i].error)
			fail("read back: an error", back.notes[i].text, out.data);
	if (back.n != ct->n)
		fail("read back: another number of entries", out.data, NULL);
	for (size_t i = 0; i < ct->n; i++) {
		const CronJob *a = &ct->v[i], *b = &back.v[i];
		const char *an = a->name ? a->name : a->auto_name;
		if (!same(an, b->name))
			fail("read back: name", an, b->name);
		if (!same(a->schedule, b->schedule))
			fail("read back: schedule", a->schedule, b->schedule);
		if (!same(a->cmd, b->cmd))
			fail("read back: command", a->cmd, b->cmd);
		if (!same(a->env, b->env))
			fail("read back: env", a->env, b->env);
		if (!same(a->user, b->user))
			fail("read back: user", a->user, b->user);
		if (a->stopped != b->stopped)
			fail("read back: stopped", a->cmd, out.data);
		for (int k = 0; k < SET_N; k++)
			if (!same(a->set[k], b->set[k]))
				fail("read back: a setting", a->set[k], b->set[k]);
	}
	crontab_free(&back);
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > MAXLEN)
		return 0;
	int system = data[0] & 1;
	size_t len = strnlen((const char *)data + 1, size - 1);
	char *text = malloc(len + 1);
	memcpy(text, data + 1, len);
	text[len] = 0;

	/* Lines as the reader counts them: a last one without a newline too. */
	int nlines = 0;
	for (const char *p = text; *p; nlines++)
		p += strcspn(p, "\n") + (p[strcspn(p, "\n")] == '\n');

	Crontab ct;
	crontab_parse(text, system, &ct);
	int prev = 0;
	for (size_t i = 0; i < ct.nnotes; i++) {
		const CronNote *nt = &ct.notes[i];
		if (nt->line < 1 || nt->line > nlines || nt->line < prev || !nt->text || !*nt->text ||
		    strlen(nt->text) >= 512)
			fail("note: line out of range or order, or no text", nt->text, text);
		prev = nt->line;
	}
	prev = 0;
	for (size_t i = 0; i < ct.n; i++) {
		check_job(&ct.v[i], system, nlines, prev);
		prev = ct.v[i].line;
	}
	check_roundtrip(&ct, system);
	crontab_free(&ct);

	/* Any line as a command: the name made from it. */
	for (const char *p = text; *p;) {
		size_t l = strcspn(p, "\n");
		char *cmd = strndup(p, l), name[48];
		crontab_name(cmd, name, sizeof name);
		check_made_name(name, cmd);
		free(cmd);
		p += l + (p[l] == '\n');
	}
	free(text);
	return 0;
}
