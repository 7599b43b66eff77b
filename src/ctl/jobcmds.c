/* The job commands: new, start, stop, rm, run, kill, set (ls and status: show.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "jobs/settings.h"

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

/* new: the clone write; with -s, a start on the new job's ctl. jobd's
 * warnings (a schedule that never fires) go to stderr, once. */
int ctl_cmd_new(Ctl *x)
{
	char **a = x->args;
	Buf b = {0};
	buf_printf(&b, "%s:%s:", a[0], a[1]);
	for (int i = 2; i < x->nargs; i++)
		buf_printf(&b, "%s%s", i > 2 ? " " : "", a[i]);
	char why[512];
	CtlReply r;
	int rc = ctl_command(x, a[0], "clone", b.data, &r, why, sizeof why);
	buf_free(&b);
	if (rc < 0)
		return ctl_fail(a[0], rc, why);
	return x->start ? ctl_each(x, a, 1, "start") : EX_OK;
}

int ctl_each(Ctl *x, char **names, int n, const char *text)
{
	char why[512], path[256];
	int ex = EX_OK;
	for (int i = 0; i < n; i++) {
		CtlReply r;
		int rc = ctl_command(x, names[i], ctl_job_path(path, sizeof path, names[i], "ctl"),
		                     text, &r, why, sizeof why);
		if (rc < 0) {
			int e = ctl_job_refused(x, names[i], rc, why);
			if (ex == EX_OK)
				ex = e;
			if (e == EX_CONNECT)
				break;          /* the others would only say so again */
		}
	}
	return ex;
}

/* start, stop, rm: one verb to each job named. */
int ctl_cmd_verb(Ctl *x)
{
	const char *verb = !strcmp(x->cmd->name, "rm") ? "delete" : x->cmd->name;
	return ctl_each(x, x->args, x->nargs, verb);
}

/* run without -w: the verb, then the number jobd gave the run, alone on a
 * line, for scripts (jobctl output NAME "$(jobctl run NAME)"). A jobd that
 * does not say prints nothing. A run its overlap setting skipped (one is
 * going and overlap is skip) has a number and a record, but did not run:
 * that is a refusal. */
static int run_now(Ctl *x, const char *name)
{
	char why[512], path[256];
	CtlReply r;
	int rc = ctl_command(x, name, ctl_job_path(path, sizeof path, name, "ctl"), "run", &r, why,
	                     sizeof why);
	if (rc < 0)
		return ctl_job_refused(x, name, rc, why);
	if (r.run)
		printf("%ld\n", r.run);
	if (!r.skipped)
		return EX_OK;
	fprintf(stderr, "jobctl: %s: run %ld skipped: a run is going, and the job's overlap "
	        "setting is skip\n", name, r.run);
	return EX_REFUSED;
}

int ctl_cmd_run(Ctl *x)
{
	const char *name = x->args[0];
	char why[512], path[256];
	CtlReply r;
	int rc;
	if (!x->wait)
		return run_now(x, name);
	rc = ctl_command(x, name, ctl_job_path(path, sizeof path, name, "ctl"), "run", &r, why,
	                 sizeof why);
	if (rc < 0)
		return ctl_job_refused(x, name, rc, why);
	if (!r.run)
		return ctl_refused(name, "jobd did not say which run it started (it is older than this "
		                   "jobctl): use jobctl output -f");
	if (r.skipped) {
		fprintf(stderr, "jobctl: %s: run %ld skipped: a run is going, and the job's overlap "
		        "setting is skip\n", name, r.run);
		return EX_REFUSED;
	}
	char *st = ctl_follow_run(x, name, r.run, &rc);
	if (!st)
		return rc;
	char status[128] = "", what[256];
	kv_get(st, "status", status, sizeof status);
	run_describe(st, 0, what, sizeof what);
	free(st);
	if (!strcmp(status, "exit:0"))
		return EX_OK;
	fprintf(stderr, "jobctl: %s: run %ld: %s\n", name, r.run, what);
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
 * are its lines (empty ones dropped). A value of one line goes as a ctl
 * "set KEY VALUE", whose reply carries jobd's warnings (a schedule that
 * never fires); one that a ctl line cannot carry (several lines, none, or
 * blanks at either end, which jobd trims from a ctl line) to its file. */
static int ctl_line_holds(const Buf *b)
{
	return b->len && !memchr(b->data, '\n', b->len) && !strchr(" \t", b->data[0]) &&
	       !strchr(" \t", b->data[b->len - 1]);
}

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
	int rc;
	if (ctl_line_holds(&b)) {
		CtlReply r;
		Buf line = {0};
		buf_printf(&line, "set %s %s", a[1], b.data);
		rc = ctl_command(x, a[0], ctl_job_path(path, sizeof path, a[0], "ctl"), line.data, &r, why,
		                 sizeof why);
		buf_free(&line);
	} else {
		rc = ctl_write(x, ctl_job_path(path, sizeof path, a[0], a[1]), b.data ? b.data : "",
		               b.len, why, sizeof why);
	}
	buf_free(&b);
	return rc < 0 ? ctl_job_refused(x, a[0], rc, why) : EX_OK;
}
