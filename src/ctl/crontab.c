/* Crontabs in and out (jobctl import and export): the text only, no I/O.
 *
 * Read as cron reads it (Vixie cron and cronie, crontab(5)): blank lines and
 * '#' comments; NAME=value environment lines, which apply to every entry
 * below them; CRON_TZ=Zone, the zone of the schedules below it; entries of
 * five time fields or a macro, then (in /etc/crontab's format) a user, then
 * the command, in which the first unescaped '%' ends the command and the
 * rest, with '%' as newlines, is its standard input ("\%" is a '%').
 *
 * jobd keeps what a crontab cannot say (a job's name, its timeout and other
 * settings, a stopped job), so export writes it in comments that cron
 * ignores and import reads back, directly above the entry:
 *
 *     # jobctl name backup
 *     # jobctl set timeout 1h
 *     # jobctl stopped
 *     #30 2 * * * tar czf /var/backups/etc.tgz /etc
 *
 * (a stopped job's entry is commented out, so cron would not run it either),
 * and "# jobctl unset KEY" where the next job lacks a variable the one before
 * it had: cron has no way to unset one. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cron/cron.h"
#include "ctl/ctl.h"
#include "jobs/jobs.h"

static const char directive[] = "# jobctl ";

/* ---- environment lines in force ---- */

static int env_is(const char *line, const char *key, size_t klen)
{
	return !strncmp(line, key, klen) && line[klen] == '=';
}

/* The index of KEY in env (lines "KEY=value"), or -1. */
static int env_find(const CronEnv *e, const char *key, size_t klen)
{
	for (size_t i = 0; i < e->n; i++)
		if (env_is(e->v[i], key, klen))
			return (int)i;
	return -1;
}

/* The same, looking at index `hint` first: where two environments list
 * their variables in the same order, that is where KEY is, and comparing
 * two of hundreds of lines does not take hundreds of lookups of each. */
static int env_find_at(const CronEnv *e, const char *key, size_t klen, size_t hint)
{
	if (hint < e->n && env_is(e->v[hint], key, klen))
		return (int)hint;
	return env_find(e, key, klen);
}

static void env_append(CronEnv *e, const char *line)
{
	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 8;
		e->v = xrealloc(e->v, e->cap * sizeof *e->v);
	}
	e->v[e->n++] = xstrdup(line);
}

/* KEY=value replaces KEY's line where it is, or is added at the end: the
 * order cron's environment would list them in. */
static void env_assign(CronEnv *e, const char *line)
{
	size_t klen = strcspn(line, "=");
	int i = env_find(e, line, klen);
	if (i >= 0) {
		free(e->v[i]);
		e->v[i] = xstrdup(line);
		return;
	}
	env_append(e, line);
}

static void env_unset(CronEnv *e, const char *key)
{
	int i = env_find(e, key, strlen(key));
	if (i < 0)
		return;
	free(e->v[i]);
	memmove(e->v + i, e->v + i + 1, (e->n - (size_t)i - 1) * sizeof *e->v);
	e->n--;
}

void cronenv_free(CronEnv *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
	memset(e, 0, sizeof *e);
}

/* The lines of an env setting ("A=1\nB=2"), blank ones dropped. */
static void env_from_text(CronEnv *e, const char *text)
{
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n");
		if (len) {
			char *line = xstrndup(p, len);
			if (e->n == e->cap) {
				e->cap = e->cap ? e->cap * 2 : 8;
				e->v = xrealloc(e->v, e->cap * sizeof *e->v);
			}
			e->v[e->n++] = line;
		}
		p += len + (p[len] == '\n');
	}
}

static char *env_text(const CronEnv *e)
{
	Buf b = {0};
	for (size_t i = 0; i < e->n; i++)
		buf_printf(&b, "%s%s", i ? "\n" : "", e->v[i]);
	return b.data ? b.data : xstrdup("");
}

/* Two env lines by their keys. */
static int key_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	size_t xl = strcspn(x, "="), yl = strcspn(y, "=");
	int c = memcmp(x, y, xl < yl ? xl : yl);
	return c ? c : (xl > yl) - (xl < yl);
}

/* Whether no key is in e twice (a job's env may hold one twice). */
static int env_unique(const CronEnv *e)
{
	if (e->n < 2)
		return 1;               /* (and memcpy from no lines: e->v is NULL) */
	const char **k = xcalloc(e->n + 1, sizeof *k);
	memcpy(k, e->v, e->n * sizeof *k);
	qsort(k, e->n, sizeof *k, key_cmp);
	int unique = 1;
	for (size_t i = 1; i < e->n && unique; i++)
		unique = key_cmp(&k[i - 1], &k[i]) != 0;
	free(k);
	return unique;
}

static int env_same(const CronEnv *a, const CronEnv *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]))
			return 0;
	return 1;
}

/* ---- reading ---- */

typedef struct Reader {
	Crontab *ct;
	int system;
	int line;                   /* the line being read */
	CronEnv env;                /* the environment lines in force */
	size_t env_bytes;           /* their length, a newline after each */
	char *zone;                 /* CRON_TZ in force; NULL: jobd's zone */
	int zone_bad;               /* the CRON_TZ in force was refused */
	CronJob block;              /* what "# jobctl" lines above the next entry said */
	int block_line;             /* where that block started; 0: none */
	int mailto_told;
} Reader;

__attribute__((format(printf, 3, 4)))
static void note(Reader *r, int error, const char *fmt, ...)
{
	Crontab *ct = r->ct;
	if (ct->nnotes == ct->notescap) {
		ct->notescap = ct->notescap ? ct->notescap * 2 : 8;
		ct->notes = xrealloc(ct->notes, ct->notescap * sizeof *ct->notes);
	}
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	/* In line order, which import prints them in: a block's note, said when
	 * the block ends, goes before those of the lines below its start. */
	size_t at = ct->nnotes;
	while (at > 0 && ct->notes[at - 1].line > r->line)
		at--;
	memmove(ct->notes + at + 1, ct->notes + at, (ct->nnotes - at) * sizeof *ct->notes);
	ct->notes[at] = (CronNote){ r->line, error, xstrdup(text) };
	ct->nnotes++;
}

static void job_clear(CronJob *j)
{
	free(j->name);
	free(j->schedule);
	free(j->cmd);
	free(j->user);
	free(j->env);
	for (int i = 0; i < SET_N; i++)
		free(j->set[i]);
	memset(j, 0, sizeof *j);
}

/* A "# jobctl" block that no entry follows is dropped, and said so: the
 * name or setting it gave would otherwise vanish without a word. */
static void block_drop(Reader *r)
{
	if (!r->block_line)
		return;
	int at = r->line;
	r->line = r->block_line;
	note(r, 0, "'# jobctl' lines not directly above an entry: ignored");
	r->line = at;
	job_clear(&r->block);
	r->block_line = 0;
}

int crontab_setting(int i)
{
	return i >= 0 && i < SET_N && i != SET_SCHEDULE && i != SET_CMD && i != SET_ENV;
}

/* "# jobctl WORD ARGS" lines: name, set, stopped (which belong to the entry
 * below) and unset (which changes the environment in force). */
static void read_directive(Reader *r, const char *s)
{
	size_t wl = strcspn(s, " \t");
	const char *arg = s + wl + strspn(s + wl, " \t");
	if (wl == 5 && !strncmp(s, "unset", 5)) {
		char key[256];
		strfmt(key, sizeof key, "%.*s", (int)strcspn(arg, " \t"), arg);
		int i = env_find(&r->env, key, strlen(key));
		if (i >= 0)
			r->env_bytes -= strlen(r->env.v[i]) + 1;
		env_unset(&r->env, key);
		return;
	}
	if (!r->block_line)
		r->block_line = r->line;
	char why[256];
	if (wl == 4 && !strncmp(s, "name", 4)) {
		/* The name goes first in the clone line, which jobd splits at its
		 * first two ':': one in it would make the rest of the name the
		 * schedule and the command. Checked as jobd checks a name. */
		size_t nl = strlen(arg);
		while (nl && (arg[nl - 1] == ' ' || arg[nl - 1] == '\t'))
			nl--;
		if (job_name_valid(arg, nl, why, sizeof why) < 0) {
			note(r, 1, "# jobctl name: %s", why);
			r->block.bad = 1;
			return;
		}
		free(r->block.name);
		r->block.name = xstrndup(arg, nl);
	} else if (wl == 7 && !strncmp(s, "stopped", 7)) {
		r->block.stopped = 1;
	} else if (wl == 3 && !strncmp(s, "set", 3)) {
		size_t kl = strcspn(arg, " \t");
		const char *v = arg + kl + strspn(arg + kl, " \t");
		int k = setting_find(arg, kl);
		char *canon = NULL;
		if (k < 0 || !crontab_setting(k)) {
			Buf names = {0};
			for (int i = 0; i < SET_N; i++)
				if (crontab_setting(i))
					buf_printf(&names, "%s%s", names.len ? ", " : "", setting_tab[i].name);
			note(r, 1, "# jobctl set: '%.*s' is not a setting a crontab line lacks (%s)",
			     (int)kl, arg, names.data);
			buf_free(&names);
			r->block.bad = 1;
		} else if (setting_parse(k, v, &canon, why, sizeof why) < 0) {
			note(r, 1, "%s", why);
			r->block.bad = 1;
		} else {
			free(r->block.set[k]);
			r->block.set[k] = canon;
		}
	} else {
		note(r, 0, "'# jobctl %.*s': unknown, ignored (name, set, stopped, unset)", (int)wl, s);
	}
}

/* The first unescaped '%' ends the command; the rest is its standard input,
 * every other unescaped '%' a newline. A backslash pairs with the character
 * after it: "\%" is '%', any other pair stays as it is (cronie's rules). */
void crontab_percent(const char *s, Buf *cmd, Buf *input, int *has_input)
{
	Buf *out = cmd;
	*has_input = 0;
	for (size_t i = 0; s[i]; i++) {
		if (s[i] == '\\' && s[i + 1]) {
			if (s[i + 1] == '%') {
				buf_add(out, "%", 1);
			} else {
				buf_add(out, s + i, 2);
			}
			i++;
		} else if (s[i] == '%') {
			if (out == cmd) {
				out = input;
				*has_input = 1;
			} else {
				buf_add(out, "\n", 1);
			}
		} else {
			buf_add(out, s + i, 1);
		}
	}
	if (!cmd->data)
		buf_addstr(cmd, "");
	if (!input->data)
		buf_addstr(input, "");
}

/* s in single quotes for /bin/sh: ' becomes '\''. */
static void sh_quote(Buf *b, const char *s)
{
	buf_add(b, "'", 1);
	for (; *s; s++) {
		if (*s == '\'')
			buf_addstr(b, "'\\''");
		else
			buf_add(b, s, 1);
	}
	buf_add(b, "'", 1);
}

/* jobd runs a job with stdin from /dev/null and has no setting for one: a
 * command with input becomes `printf 'INPUT' | /bin/sh -c 'CMD'`, which is
 * what cron does (a shell running CMD, INPUT on its stdin, no newline
 * added). printf's format escapes keep it one line: a crontab line cannot
 * hold a newline, and export must write it back. */
void crontab_with_input(const char *cmd, const char *input, Buf *out)
{
	Buf fmt = {0};
	for (const char *p = input; *p; p++) {
		if (*p == '\\')
			buf_addstr(&fmt, "\\\\");
		else if (*p == '%')
			buf_addstr(&fmt, "%%");
		else if (*p == '\n')
			buf_addstr(&fmt, "\\n");
		else
			buf_add(&fmt, p, 1);
	}
	buf_addstr(out, "printf ");
	sh_quote(out, fmt.data ? fmt.data : "");
	buf_addstr(out, " | /bin/sh -c ");
	sh_quote(out, cmd);
	buf_free(&fmt);
}

/* The next blank-separated field of *p, or 0 at the end of the line. */
static size_t field(const char **p, const char **f)
{
	*p += strspn(*p, " \t");
	*f = *p;
	size_t len = strcspn(*p, " \t");
	*p += len;
	return len;
}

/* Vixie cron and cronie: a day matches both day fields when one of them
 * starts with '*' ("*" itself aside); jobd, as cronexpr: either, whenever
 * both are restricted. Different days: said, not refused. */
static void day_rule(Reader *r, const char *dom, size_t dl, const char *dow, size_t wl)
{
	int dom_all = (dl == 1 && (*dom == '*' || *dom == '?'));
	int dow_all = (wl == 1 && (*dow == '*' || *dow == '?'));
	if (dom_all || dow_all || (*dom != '*' && *dow != '*'))
		return;
	note(r, 0, "day-of-month '%.*s' and day-of-week '%.*s': cron runs it on days that match "
	     "both, jobd on days that match either", (int)dl, dom, (int)wl, dow);
}

/* The schedule at *p (five fields or a macro; *p moved past it), checked
 * with jobd's parser, fields one blank apart, with the CRON_TZ in force as
 * its TZ= prefix: malloc'ed, or NULL after an error note. */
static char *read_schedule(Reader *r, const char **p)
{
	const char *f[5];
	size_t fl[5];
	int nf = **p == '@' ? 1 : 5;
	Buf sched = {0};
	for (int i = 0; i < nf; i++) {
		if (!(fl[i] = field(p, &f[i]))) {
			note(r, 1, "want five time fields or a macro, then %sthe command",
			     r->system ? "the user, then " : "");
			buf_free(&sched);
			return NULL;
		}
		buf_printf(&sched, "%s%.*s", i ? " " : "", (int)fl[i], f[i]);
	}
	char why[256];
	Cron c;
	if (nf == 1 && !strcmp(sched.data, "@reboot"))
		note(r, 1, "@reboot: jobd has schedules, not start-up jobs (a systemd unit, "
		     "or cron, can run it at boot)");
	else if (cron_parse(sched.data, &c, why, sizeof why) < 0)
		note(r, 1, "bad schedule '%s': %s", sched.data, why);
	else {
		if (nf == 5)
			day_rule(r, f[2], fl[2], f[4], fl[4]);
		if (r->zone) {
			Buf z = {0};
			buf_printf(&z, "TZ=%s %s", r->zone, sched.data);
			buf_free(&sched);
			sched = z;
		}
		if (sched.len <= SETTING_SCHEDULE_MAX)
			return sched.data;
		note(r, 1, "schedule is longer than %d bytes (jobd's limit)", SETTING_SCHEDULE_MAX);
	}
	buf_free(&sched);
	return NULL;
}

/* The command at p, '%' handled (its input given it on one line), and a
 * name made from it into name: malloc'ed, or NULL after an error note. */
static char *read_command(Reader *r, const char *p, char *name, size_t n)
{
	p += strspn(p, " \t");
	if (!*p) {
		note(r, 1, "no command after the schedule");
		return NULL;
	}
	Buf cmd = {0}, input = {0};
	int has_input;
	crontab_percent(p, &cmd, &input, &has_input);
	if (strspn(cmd.data, " \t") == cmd.len) {
		note(r, 1, "the command is empty");
		buf_free(&cmd);
		buf_free(&input);
		return NULL;
	}
	crontab_name(cmd.data, name, n);
	if (has_input && input.len) {
		Buf w = {0};
		crontab_with_input(cmd.data, input.data, &w);
		buf_free(&cmd);
		cmd = w;
	}
	buf_free(&input);
	return cmd.data;
}

/* An entry: schedule, user (system format), command; with what the
 * "# jobctl" lines above it said, and the environment in force. s is the
 * line from its first field on (after the '#' of a stopped one). */
static void read_entry(Reader *r, const char *s)
{
	CronJob j = r->block;
	int bad = r->block.bad;
	memset(&r->block, 0, sizeof r->block);
	r->block_line = 0;
	j.line = r->line;
	j.bad = 0;
	const char *p = s;
	if (!(j.schedule = read_schedule(r, &p)))
		goto fail;
	if (r->system) {
		const char *u;
		size_t ul = field(&p, &u);
		if (!ul) {
			note(r, 1, "no user: /etc/crontab's format (-u) has a user before the command");
			goto fail;
		}
		j.user = xstrndup(u, ul);
	}
	if (!(j.cmd = read_command(r, p, j.auto_name, sizeof j.auto_name)))
		goto fail;
	if (bad) {
		note(r, 1, "not imported: a '# jobctl' line above it was refused");
		goto fail;
	}
	if (r->zone_bad) {
		/* Not in jobd's zone instead: it would run at other times. */
		note(r, 1, "not imported: the CRON_TZ line above it was refused");
		goto fail;
	}
	if (r->env_bytes > (size_t)SETTING_ENV_MAX + 1) {
		/* jobd would refuse it; and each entry keeps its own copy. */
		note(r, 1, "not imported: the environment lines above it are more than %d bytes "
		     "(jobd's limit for a job's env)", SETTING_ENV_MAX);
		goto fail;
	}
	j.env = env_text(&r->env);
	Crontab *ct = r->ct;
	if (ct->n == ct->cap) {
		ct->cap = ct->cap ? ct->cap * 2 : 16;
		ct->v = xrealloc(ct->v, ct->cap * sizeof *ct->v);
	}
	ct->v[ct->n++] = j;
	return;
fail:
	job_clear(&j);
}

/* An entry starts with a macro or a minute field. */
static int starts_entry(const char *s)
{
	return *s == '@' || *s == '*' || *s == '?' || isdigit((unsigned char)*s);
}

/* NAME=value: cron allows blanks around '=' and quotes around the value. */
static int is_env_line(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return 0;
	size_t k = strcspn(s, "= \t");
	return s[k + strspn(s + k, " \t")] == '=';
}

static void read_env(Reader *r, const char *s)
{
	size_t kl = strcspn(s, "= \t");
	const char *v = s + kl + strspn(s + kl, " \t") + 1;
	v += strspn(v, " \t");
	size_t vl = strlen(v);
	while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		vl--;
	if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
		v++;
		vl -= 2;
	}
	for (size_t i = 0; i < kl; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_') {
			note(r, 1, "'%.*s': jobd takes variable names of letters, digits and '_'",
			     (int)kl, s);
			return;
		}
	if (kl == 7 && !strncmp(s, "CRON_TZ", 7)) {
		free(r->zone);
		r->zone = vl ? xstrndup(v, vl) : NULL;
		r->zone_bad = 0;
		if (r->zone && (strpbrk(r->zone, " \t:") || vl > 127)) {
			/* 127: the longest zone jobd takes in a TZ= prefix (schedule_split). */
			note(r, 1, "CRON_TZ: '%s' is not a zone name", r->zone);
			free(r->zone);
			r->zone = NULL;
			r->zone_bad = 1;
		}
		return;
	}
	if (kl >= 5 && !strncmp(s, "JOBD_", 5)) {
		note(r, 1, "%.*s: JOBD_* variables are set by jobd", (int)kl, s);
		return;
	}
	if (kl == 5 && !strncmp(s, "SHELL", 5) && !(vl == 7 && !strncmp(v, "/bin/sh", 7)))
		note(r, 0, "SHELL=%.*s: jobd runs every command with /bin/sh; SHELL is only passed "
		     "to the jobs' environment", (int)vl, v);
	if (kl == 6 && !strncmp(s, "MAILTO", 6) && vl && !r->mailto_told++)
		note(r, 0, "MAILTO: jobd sends no mail; a run's output is in its log (jobctl output)");
	Buf line = {0};
	buf_printf(&line, "%.*s=%.*s", (int)kl, s, (int)vl, v);
	int i = env_find(&r->env, s, kl);
	if (i >= 0)
		r->env_bytes -= strlen(r->env.v[i]) + 1;
	r->env_bytes += line.len + 1;
	env_assign(&r->env, line.data);
	buf_free(&line);
}

void crontab_parse(const char *text, int system, Crontab *ct)
{
	memset(ct, 0, sizeof *ct);
	Reader r = { .ct = ct, .system = system };
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n");
		char *line = xstrndup(p, len);
		p += len + (p[len] == '\n');
		r.line++;
		size_t l = strlen(line);
		while (l && (line[l - 1] == '\r'))
			line[--l] = 0;
		const char *s = line + strspn(line, " \t");
		if (!strncmp(s, directive, sizeof directive - 1)) {
			read_directive(&r, s + sizeof directive - 1);
		} else if (r.block.stopped && *s == '#' && starts_entry(s + 1)) {
			read_entry(&r, s + 1);
		} else if (!*s || *s == '#') {
			block_drop(&r);
		} else if (starts_entry(s)) {
			read_entry(&r, s);
		} else if (is_env_line(s)) {
			block_drop(&r);
			read_env(&r, s);
		} else {
			block_drop(&r);
			note(&r, 1, "neither an entry (five time fields or a macro, then the command) "
			     "nor a NAME=value line");
		}
		free(line);
	}
	block_drop(&r);
	cronenv_free(&r.env);
	free(r.zone);
}

void crontab_free(Crontab *ct)
{
	for (size_t i = 0; i < ct->n; i++)
		job_clear(&ct->v[i]);
	free(ct->v);
	for (size_t i = 0; i < ct->nnotes; i++)
		free(ct->notes[i].text);
	free(ct->notes);
	memset(ct, 0, sizeof *ct);
}

/* ---- names ---- */

/* Commands that say nothing about what a line does: control words that
 * end or head a compound command, and commands that only prepare for the
 * one that matters. The rest of their simple command is skipped. */
static int noise(const char *w)
{
	static const char *const words[] = {
		"fi", "done", "esac", "for", "case", "cd", "test", "[", "[[", "true", "false", ":",
		"sleep", "set", "export", "umask", "ulimit", NULL,
	};
	for (int i = 0; words[i]; i++)
		if (!strcmp(words[i], w))
			return 1;
	return 0;
}

/* Words that run the command after them: skipped alone, with their options
 * and numbers (nice -n 10, timeout 5m), so the command after them counts. */
static int wrapper(const char *w)
{
	static const char *const words[] = {
		"if", "then", "else", "elif", "do", "while", "until", "!", "exec", "env", "nice",
		"ionice", "nohup", "chronic", "setsid", "timeout", "time", "command", NULL,
	};
	for (int i = 0; words[i]; i++)
		if (!strcmp(words[i], w))
			return 1;
	return 0;
}

/* The part of a path after its last '/' (trailing slashes ignored). */
static const char *base_name(char *w)
{
	size_t len = strlen(w);
	while (len > 1 && w[len - 1] == '/')
		w[--len] = 0;
	char *slash = strrchr(w, '/');
	return slash ? slash + 1 : w;
}

/* Appends w to out as name characters: ASCII letters and digits as they
 * are, anything else as one '_' between them. */
static void name_add(Buf *out, const char *w)
{
	if (out->len && out->data[out->len - 1] != '_')
		buf_add(out, "_", 1);
	for (; *w; w++) {
		unsigned char c = (unsigned char)*w;
		if (c < 0x80 && isalnum(c))
			buf_add(out, w, 1);
		else if (out->len && out->data[out->len - 1] != '_')
			buf_add(out, "_", 1);
	}
}

static const char ops[] = ";&|(){}";

/* The next word of a command at *p, quotes removed, into w; 0 at the end.
 * A run of operator characters is a word of its own: it ends a simple
 * command. */
static size_t word(const char **p, char *w, size_t n)
{
	*p += strspn(*p, " \t");
	const char *s = *p;
	size_t k = 0;
	if (*s && strchr(ops, *s)) {
		size_t ol = strspn(s, ops);
		*p = s + ol;
		strfmt(w, n, "%.*s", (int)ol, s);
		return ol;
	}
	while (*s && !strchr(" \t", *s) && !strchr(ops, *s)) {
		const char *close = (*s == '\'' || *s == '"') ? strchr(s + 1, *s) : NULL;
		for (const char *q = close ? s + 1 : s; q < (close ? close : s + 1); q++)
			if (k + 1 < n)
				w[k++] = *q;
		s = close ? close + 1 : s + 1;
	}
	w[k] = 0;
	size_t used = (size_t)(s - *p);
	*p = s;
	return used;                /* '' is a word too, if an empty one */
}

static int is_redirect(const char *w)
{
	return w[0] == '>' || w[0] == '<' || (isdigit((unsigned char)w[0]) && strchr(w, '>'));
}

static int is_assignment(const char *w)
{
	return (isalpha((unsigned char)w[0]) || w[0] == '_') && strchr(w, '=');
}

/* The program of the first simple command that does something (not cd,
 * test, a variable assignment...), its basename without an extension, and
 * its last argument's basename when it has one: "run-parts --report
 * /etc/cron.daily" gives run_parts_cron_daily. Only [A-Za-z0-9_], which
 * every jobd accepts (older ones refuse '-' and '.'). */
void crontab_name(const char *cmd, char *out, size_t n)
{
	char w[256], prog[256] = "", arg[256] = "";
	const char *p = cmd;
	int skip = 0;               /* the rest of this simple command names nothing */
	while (word(&p, w, sizeof w)) {
		if (strchr(ops, w[0]) && w[0]) {
			if (*prog)
				break;
			skip = 0;
			continue;
		}
		if (skip)
			continue;
		if (*prog) {
			if (is_redirect(w))
				break;          /* what follows names a file, not the job */
			if (w[0] != '-')
				strfmt(arg, sizeof arg, "%s", w);
			continue;
		}
		if (is_redirect(w) || is_assignment(w))
			continue;
		const char *b = base_name(w);
		if (noise(w) || !*b) {
			skip = 1;
			continue;
		}
		if (wrapper(b) || w[0] == '-' || isdigit((unsigned char)w[0]))
			continue;
		strfmt(prog, sizeof prog, "%s", b);
		char *dot = strrchr(prog, '.');
		if (dot && dot != prog)
			*dot = 0;       /* backup.sh: backup */
	}
	Buf b = {0};
	name_add(&b, prog);
	const char *a = *arg ? base_name(arg) : "";
	if (*a && strcmp(a, prog))
		name_add(&b, a);
	/* Up to 40 characters, no '_' at either end: "job" if nothing is left. */
	const char *s = b.data ? b.data + strspn(b.data, "_") : "";
	size_t len = strlen(s) > 40 ? 40 : strlen(s);
	while (len && s[len - 1] == '_')
		len--;
	strfmt(out, n, "%.*s", (int)len, len ? s : "job");
	if (!len)
		strfmt(out, n, "job");
	buf_free(&b);
}

/* ---- writing ---- */

void crontab_header(Buf *out, int system)
{
	buf_printf(out, "# jobd jobs as a %scrontab, written by jobctl export; jobctl import%s "
	           "reads it back.\n# The '# jobctl' lines keep what cron has no words for.\n",
	           system ? "system " : "", system ? " -u USER" : "");
}

/* The value of an env line as cron will read it back: quoted when cron
 * would otherwise trim its blanks or strip its quotes, or import the
 * carriage returns ending a line. */
static void put_env_line(Buf *out, const char *line)
{
	size_t kl = strcspn(line, "=");
	const char *v = line + kl + (line[kl] == '=');
	size_t vl = strlen(v);
	int quote = vl && (v[0] == ' ' || v[0] == '\t' || v[vl - 1] == ' ' || v[vl - 1] == '\t' ||
	                   v[vl - 1] == '\r' ||
	                   (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]));
	if (quote)
		buf_printf(out, "%.*s=\"%s\"\n", (int)kl, line, v);
	else
		buf_printf(out, "%s\n", line);
}

/* The lines that take the environment in force (w->env) to want: unset
 * what want lacks and assign what differs, when that gives want's order;
 * else unset everything and assign want line by line. */
static void put_env(CronOut *w, const CronEnv *want, Buf *out)
{
	if (env_same(&w->env, want))
		return;
	/* sim: what cron will hold after the lines written (w->env has each
	 * variable once: a copy). */
	CronEnv sim = { .n = w->env.n, .cap = w->env.n };
	Buf lines = {0};
	sim.v = xcalloc(sim.cap + 1, sizeof *sim.v);
	for (size_t i = 0; i < w->env.n; i++)
		sim.v[i] = xstrdup(w->env.v[i]);
	for (size_t i = 0; i < sim.n;) {
		size_t kl = strcspn(sim.v[i], "=");
		if (env_find_at(want, sim.v[i], kl, i) >= 0) {
			i++;
			continue;
		}
		buf_printf(&lines, "%sunset %.*s\n", directive, (int)kl, sim.v[i]);
		free(sim.v[i]);
		memmove(sim.v + i, sim.v + i + 1, (sim.n - i - 1) * sizeof *sim.v);
		sim.n--;
	}
	/* With want's keys unique, a key of want not among the lines kept is
	 * not in sim at all (those appended are want's other keys): only the
	 * kept ones are looked through, so that writing a job of many
	 * variables after none does not take a look through all for each. */
	size_t kept = sim.n;
	int unique = env_unique(want);
	for (size_t i = 0; i < want->n; i++) {
		size_t kl = strcspn(want->v[i], "=");
		CronEnv part = { sim.v, unique ? kept : sim.n, 0 };
		int k = env_find_at(&part, want->v[i], kl, i);
		if (k >= 0 && !strcmp(sim.v[k], want->v[i]))
			continue;
		if (k >= 0) {
			free(sim.v[k]);
			sim.v[k] = xstrdup(want->v[i]);
		} else {
			env_append(&sim, want->v[i]);
		}
		put_env_line(&lines, want->v[i]);
	}
	if (!env_same(&sim, want)) {
		/* Kept lines would stay where they were, out of want's order:
		 * start again from nothing. */
		lines.len = 0;
		for (size_t i = 0; i < w->env.n; i++)
			buf_printf(&lines, "%sunset %.*s\n", directive,
			           (int)strcspn(w->env.v[i], "="), w->env.v[i]);
		cronenv_free(&sim);
		for (size_t i = 0; i < want->n; i++) {
			put_env_line(&lines, want->v[i]);
			env_assign(&sim, want->v[i]);
		}
	}
	if (lines.len)
		buf_add(out, lines.data, lines.len);
	buf_free(&lines);
	cronenv_free(&w->env);
	w->env = sim;               /* what cron holds now */
}

/* The command as a crontab field: '%' escaped. A backslash pairs with the
 * character after it when cron reads it back, so a '\' right before a '%'
 * cannot be written, nor a newline. */
static int put_cmd(Buf *out, const char *cmd, char *why, size_t n)
{
	for (size_t i = 0; cmd[i]; i++) {
		if (cmd[i] == '\n') {
			strfmt(why, n, "its command has several lines; a crontab line holds one");
			return -EINVAL;
		}
		if (cmd[i] == '\\' && cmd[i + 1] == '%') {
			strfmt(why, n, "its command has '\\%%', which cron always reads as '%%'");
			return -EINVAL;
		}
		if (cmd[i] == '\\' && cmd[i + 1]) {
			buf_add(out, cmd + i, 2);
			i++;
		} else if (cmd[i] == '%') {
			buf_addstr(out, "\\%");
		} else {
			buf_add(out, cmd + i, 1);
		}
	}
	/* Import drops the carriage returns that end a line (CRLF files): an
	 * empty input after them keeps them, and cron reads the same command. */
	size_t len = strlen(cmd);
	if (len && cmd[len - 1] == '\r')
		buf_add(out, "%", 1);
	return 0;
}

int crontab_put(CronOut *w, const CronJob *j, Buf *out, char *why, size_t n)
{
	const char *zone, *expr;
	size_t zlen;
	if (schedule_split(j->schedule, &zone, &zlen, &expr, why, n) < 0)
		return -EINVAL;
	/* Five fields or a macro: cron has no seconds and no years. */
	Buf sched = {0}, cmd = {0};
	int nf = 0;
	for (const char *p = expr, *f; field(&p, &f); nf++)
		buf_printf(&sched, "%s%.*s", nf ? " " : "", (int)strcspn(f, " \t"), f);
	int macro = nf == 1 && sched.data[0] == '@';
	int rc = 0;
	if (!macro && nf != 5) {
		strfmt(why, n, "its schedule '%s' has %d fields; a crontab has 5 (no seconds, no "
		       "year)", expr, nf);
		rc = -EINVAL;
	} else if (!j->cmd || put_cmd(&cmd, j->cmd, why, n) < 0) {
		rc = -EINVAL;
	} else if (j->env && (!strncmp(j->env, "CRON_TZ=", 8) || strstr(j->env, "\nCRON_TZ="))) {
		/* Cron reads a CRON_TZ line as the zone of the schedules below it. */
		strfmt(why, n, "its environment sets CRON_TZ, which a crontab takes for the zone of "
		       "its schedules");
		rc = -EINVAL;
	}
	if (rc < 0) {
		buf_free(&sched);
		buf_free(&cmd);
		return rc;
	}
	buf_add(out, "\n", 1);
	char *z = zlen ? xstrndup(zone, zlen) : NULL;
	if ((z == NULL) != (w->zone == NULL) || (z && strcmp(z, w->zone))) {
		Buf line = {0};
		buf_printf(&line, "CRON_TZ=%s", z ? z : "");
		put_env_line(out, line.data);
		buf_free(&line);
	}
	free(w->zone);
	w->zone = z;
	CronEnv want = {0};
	env_from_text(&want, j->env ? j->env : "");
	put_env(w, &want, out);
	cronenv_free(&want);
	buf_printf(out, "%sname %s\n", directive, j->name);
	for (int i = 0; i < SET_N; i++)
		if (j->set[i])
			buf_printf(out, "%sset %s %s\n", directive, setting_tab[i].name, j->set[i]);
	if (j->stopped)
		buf_printf(out, "%sstopped\n#", directive);
	buf_printf(out, "%s", sched.data);
	if (w->system)
		buf_printf(out, " %s", w->user);
	buf_printf(out, " %s\n", cmd.data ? cmd.data : "");
	buf_free(&sched);
	buf_free(&cmd);
	return 0;
}

void cronout_free(CronOut *w)
{
	free(w->zone);
	cronenv_free(&w->env);
	w->zone = NULL;
}
