/* The job commands: ls, new, start, stop, rm, run, kill, status, set. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "jobs/settings.h"

/* ls: NAME STATE NEXT LAST from each job's status file. A jobd without
 * status files (the original one) still answers ctl and schedule, so those
 * are the fallback; LAST is then unknown. */
int ctl_cmd_ls(Ctl *x)
{
	char why[512], **names, path[256];
	size_t count;
	int rc;
	if ((rc = client_list_dir(x->c, "jobs", &names, &count, why, sizeof why)) < 0)
		return ctl_refused("jobs", why);
	Table t;
	table_init(&t, 4);
	table_row(&t, "NAME", "STATE", "NEXT", "LAST");
	for (size_t i = 0; i < count; i++) {
		char state[64] = "-", next[128] = "-", last[128] = "-";
		char *st = ctl_read(x, ctl_job_path(path, sizeof path, names[i], "status"), &rc, why,
		                    sizeof why);
		if (st) {
			kv_get(st, "state", state, sizeof state);
			kv_get(st, "next", next, sizeof next);
			kv_get(st, "last_status", last, sizeof last);
			free(st);
		} else {
			char *ctl = ctl_read(x, ctl_job_path(path, sizeof path, names[i], "ctl"), &rc, why,
			                     sizeof why);
			if (!ctl)
				continue;           /* deleted since the listing */
			strfmt(state, sizeof state, "%s", ctl);
			free(ctl);
			char *sched = ctl_read(x, ctl_job_path(path, sizeof path, names[i], "schedule"),
			                       &rc, why, sizeof why);
			char *colon = sched ? strchr(sched, ':') : NULL;
			if (colon)
				strfmt(next, sizeof next, "%s", colon + 1);
			free(sched);
		}
		table_row(&t, names[i], state, next, last);
	}
	client_free_names(names, count);
	table_print(&t, stdout, x->tty);
	table_free(&t);
	return EX_OK;
}

/* new NAME SCHEDULE: a ':' in either would cut the clone line elsewhere. */
int ctl_check_new(Ctl *x)
{
	char **a = x->args;
	if (strchr(a[0], ':'))
		return ctl_usage(x, "a job name cannot hold ':' ('%s')", a[0]);
	if (strchr(a[1], ':'))
		return ctl_usage(x, "a schedule cannot hold ':' ('%s')", a[1]);
	return -1;
}

int ctl_cmd_new(Ctl *x)
{
	char **a = x->args;
	Buf b = {0};
	buf_printf(&b, "%s:%s:", a[0], a[1]);
	for (int i = 2; i < x->nargs; i++)
		buf_printf(&b, "%s%s", i > 2 ? " " : "", a[i]);
	char why[512];
	int rc = client_write_file(x->c, "clone", b.data, b.len, why, sizeof why);
	buf_free(&b);
	return rc < 0 ? ctl_refused(a[0], why) : EX_OK;
}

/* Writes text to each named job's ctl; goes on past a failure, which sets
 * the exit status. */
static int ctl_each(Ctl *x, char **names, int n, const char *text)
{
	char why[512], path[256];
	int ex = EX_OK;
	for (int i = 0; i < n; i++) {
		int rc = client_write_file(x->c, ctl_job_path(path, sizeof path, names[i], "ctl"), text,
		                           strlen(text), why, sizeof why);
		if (rc < 0)
			ex = ctl_job_refused(x, names[i], rc, why);
	}
	return ex;
}

/* start, stop, rm: one verb to each job named. */
int ctl_cmd_verb(Ctl *x)
{
	const char *verb = !strcmp(x->cmd->name, "rm") ? "delete" : x->cmd->name;
	return ctl_each(x, x->args, x->nargs, verb);
}

/* Whether run N of a job is a manual one; a status without the field
 * counts as manual. */
static int is_manual(Ctl *x, const char *name, long run)
{
	char path[256], why[256], v[8];
	int rc;
	char *st = ctl_read(x, ctl_run_path(path, sizeof path, name, run, "status"), &rc, why,
	                    sizeof why);
	int manual = !st || kv_get(st, "manual", v, sizeof v) < 0 || strcmp(v, "0") != 0;
	free(st);
	return manual;
}

int ctl_cmd_run(Ctl *x)
{
	const char *name = x->args[0];
	char why[512];
	long *runs = NULL, before = 0;
	size_t n = 0;
	int rc;
	if (x->wait) {
		if ((rc = ctl_job_runs(x, name, &runs, &n, why, sizeof why)) < 0)
			return ctl_job_refused(x, name, rc, why);
		before = n ? runs[n - 1] : 0;
		free(runs);
	}
	if ((rc = ctl_each(x, x->args, 1, "run")) != EX_OK || !x->wait)
		return rc;
	/* The run is the first one numbered after the runs that were there: it
	 * shows up at once unless it waits its turn (overlap=queue). */
	long run = 0;
	while (!run) {
		if ((rc = ctl_job_runs(x, name, &runs, &n, why, sizeof why)) < 0)
			return ctl_job_refused(x, name, rc, why);
		for (size_t i = 0; i < n && !run; i++)
			if (runs[i] > before && is_manual(x, name, runs[i]))
				run = runs[i];
		free(runs);
		if (!run)
			ctl_nap(200);
	}
	char *st = ctl_follow_run(x, name, run, &rc);
	if (!st)
		return rc;
	char status[128] = "", what[256];
	kv_get(st, "status", status, sizeof status);
	run_describe(st, 0, what, sizeof what);
	free(st);
	if (!strcmp(status, "exit:0"))
		return EX_OK;
	fprintf(stderr, "jobctl: %s: run %ld: %s\n", name, run, what);
	return EX_REFUSED;
}

/* kill -s SIGNAL: a signal jobd knows (its parser, here). */
int ctl_check_kill(Ctl *x)
{
	char why[256];
	int signo;
	if (x->sig && signal_parse(x->sig, &signo, why, sizeof why) < 0)
		return ctl_usage(x, "-s: %s", why);
	return -1;
}

int ctl_cmd_kill(Ctl *x)
{
	char text[64] = "kill";
	if (x->sig)
		strfmt(text, sizeof text, "kill %s", x->sig);
	return ctl_each(x, x->args, 1, text);
}

/* status: the file as it is when piped; on a terminal one field a line,
 * with the schedule and the command, which the status line does not hold
 * (and which the job's owner wrote: ctl_print escapes it). */
int ctl_cmd_status(Ctl *x)
{
	const char *name = x->args[0];
	char why[512], path[256];
	int rc;
	char *st = ctl_read(x, ctl_job_path(path, sizeof path, name, "status"), &rc, why,
	                    sizeof why);
	if (!st) {
		if (rc != -ENOENT || ctl_job_exists(x, name) != 1)
			return ctl_job_refused(x, name, rc, why);
		/* A jobd without status files: the state is in ctl. */
		char *ctl = ctl_read(x, ctl_job_path(path, sizeof path, name, "ctl"), &rc, why,
		                     sizeof why);
		if (!ctl)
			return ctl_job_refused(x, name, rc, why);
		Buf b = {0};
		buf_printf(&b, "state=%s\n", ctl);
		free(ctl);
		st = b.data;
	}
	if (!x->tty) {
		fputs(st, stdout);
		free(st);
		return EX_OK;
	}
	Buf out = {0};
	buf_printf(&out, "%-12s %s\n", "job:", name);
	static const char *const files[] = { "schedule", "cmd" };
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char *v = ctl_read(x, ctl_job_path(path, sizeof path, name, files[i]), &rc, why,
		                   sizeof why);
		if (!v)
			continue;
		if (i == 0)
			settings_from_file(SET_SCHEDULE, v);
		char key[32];
		buf_printf(&out, "%-12s %s\n", strfmt(key, sizeof key, "%s:", files[i]), v);
		free(v);
	}
	for (const char *p = st; *p;) {
		p += strspn(p, " \t\n");
		size_t len = strcspn(p, " \t\n");
		const char *eq = memchr(p, '=', len);
		if (eq) {
			char key[64];
			int klen = (int)(eq - p);
			strfmt(key, sizeof key, "%.*s:", klen, p);
			for (char *k = key; *k; k++)
				if (*k == '_')
					*k = ' ';
			buf_printf(&out, "%-12s %.*s\n", key, (int)(len - (size_t)klen - 1), eq + 1);
		}
		p += len;
	}
	free(st);
	ctl_print(x, out.data, out.len);
	buf_free(&out);
	return EX_OK;
}

/* set NAME KEY VALUE...: a setting jobctl knows, and one value unless the
 * setting takes words or lines. */
int ctl_check_set(Ctl *x)
{
	char **a = x->args;
	int key = setting_find(a[1], strlen(a[1]));
	char names[128];
	if (key < 0)
		return ctl_usage(x, "unknown setting '%s' (settings: %s)", a[1],
		                 setting_names(names, sizeof names));
	if (x->nargs > 3 && !(setting_tab[key].flags & (SETF_WORDS | SETF_LINES)))
		return ctl_usage(x, "%s takes one value (quote it)", a[1]);
	return -1;
}

/* The words of a value are joined with spaces, or, for a value of lines,
 * are its lines (empty ones dropped). */
int ctl_cmd_set(Ctl *x)
{
	char **a = x->args;
	int nv = x->nargs - 2, key = setting_find(a[1], strlen(a[1]));
	int lines = setting_tab[key].flags & SETF_LINES;
	Buf b = {0};
	for (int i = 0; i < nv; i++) {
		if (lines && !*a[2 + i])
			continue;
		if (b.len)
			buf_addstr(&b, lines ? "\n" : " ");
		buf_addstr(&b, a[2 + i]);
	}
	char why[512], path[256];
	int rc = ctl_write(x, ctl_job_path(path, sizeof path, a[0], a[1]), b.data ? b.data : "", b.len,
	               why, sizeof why);
	buf_free(&b);
	return rc < 0 ? ctl_job_refused(x, a[0], rc, why) : EX_OK;
}
