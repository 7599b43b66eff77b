/* ls and status: what jobs are, when they run, how they last ran. Each
 * job's files are read in one pipeline (client_read_many): ls over 1,000
 * jobs costs a few dozen round trips, not thousands. Times come from the
 * status files in jobd's zone and are shown in the user's (times.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

/* The files of a job ls and status read; -o wide and json add the settings
 * after them, in setting_tab's order (from its table: a new setting is read
 * with the others). */
enum { F_STATUS, F_SCHEDULE, F_CMD, F_BASE, F_ALL = F_BASE + SET_N - SET_TIMEOUT };
_Static_assert(SET_SCHEDULE == 0 && SET_CMD == 1 && SET_TIMEOUT == 2,
               "schedule and cmd come first, the rest after them");

static const char *const *show_files(void)
{
	static const char *files[F_ALL];
	files[F_STATUS] = "status";
	for (int i = 0; i < SET_N; i++)
		files[F_SCHEDULE + i] = setting_tab[i].name;
	return files;
}

/* A job without a status file: the original jobd's, whose state is in ctl.
 * Its status line is made up from that; NULL if the job is gone. */
static char *status_from_ctl(Ctl *x, const char *name)
{
	char path[256], why[256];
	int rc;
	char *ctl = ctl_read(x, ctl_job_path(path, sizeof path, name, "ctl"), &rc, why, sizeof why);
	if (!ctl)
		return NULL;
	Buf b = {0};
	buf_printf(&b, "state=%s\n", ctl);
	free(ctl);
	return b.data;
}

/* One job, as ls and status know it. */
typedef struct Shown {
	const char *name;
	char *line;                 /* the status line (malloc'ed) */
	JobStatus st;
	char *schedule, *cmd;       /* borrowed; schedule without its ":<next run>" */
	char **settings;            /* borrowed: timeout ... limits, or NULL */
} Shown;

/* Fills s from a job's files (jf at job j); 0, or -ENOENT if it is gone. */
static int shown_fill(Ctl *x, JobFiles *jf, size_t j, const char *name, Shown *s)
{
	char **t = jf->text + j * jf->nfiles;
	memset(s, 0, sizeof *s);
	s->name = name;
	s->line = t[F_STATUS] ? xstrdup(t[F_STATUS]) : status_from_ctl(x, name);
	if (!s->line)
		return -ENOENT;
	job_status_parse(s->line, &s->st);
	if ((s->schedule = t[F_SCHEDULE]))
		settings_from_file(SET_SCHEDULE, s->schedule);
	if ((s->cmd = t[F_CMD]))
		settings_from_file(SET_CMD, s->cmd);
	if (jf->nfiles > F_BASE) {
		s->settings = t + F_BASE;
		for (size_t f = F_BASE; f < jf->nfiles; f++)
			if (t[f])
				settings_from_file((int)(f - F_BASE + SET_TIMEOUT), t[f]);
	}
	return 0;
}

/* NEXT: a time; "never" for a started job whose schedule has no time left;
 * "-" for a stopped one (it fires at nothing until started), or when jobd
 * does not say (the original one, without status files). */
static const char *next_text(const Zone *z, const JobStatus *st, char *out, size_t n)
{
	if (st->next.set)
		return ctl_time_str(z, st->next, out, n);
	return strfmt(out, n, "%s", st->has_next && !strcmp(st->state, "started") ? "never" : "-");
}

/* How the latest run went: "running" while it goes (it started after the
 * last one ended), else how the last one ended. */
static const char *last_status_text(const JobStatus *st)
{
	if (st->last_start.set && st->active > 0 &&
	    (!st->last_end.set || st->last_start.sec > st->last_end.sec))
		return "running";
	return *st->last_status ? st->last_status : "-";
}

static const char *cell(Buf *b, const char *s)
{
	b->len = 0;
	ctl_cell(b, s ? s : "-");
	return b->data;
}

/* One JSON object: the documented fields of ls and status (jobctl(1)). */
static void job_json(Json *j, const Zone *z, const Shown *s)
{
	const JobStatus *st = &s->st;
	json_open(j, NULL, '{');
	json_str(j, "name", s->name);
	json_str(j, "schedule", s->schedule);
	json_str(j, "cmd", s->cmd);
	json_str(j, "state", st->state);
	json_int(j, "active", st->active);
	json_time(j, "next", z, st->next);
	json_time(j, "last_start", z, st->last_start);
	json_time(j, "last_end", z, st->last_end);
	json_str(j, "last_status", *st->last_status ? st->last_status : NULL);
	json_int(j, "runs", st->runs);
	json_int(j, "failures", st->failures);
	if (st->pid)
		json_int(j, "pid", st->pid);
	else
		json_str(j, "pid", NULL);
	if (s->settings) {
		for (int i = SET_TIMEOUT; i < SET_N; i++) {
			const char *v = s->settings[i - SET_TIMEOUT];
			if (i != SET_ENV) {
				json_str(j, setting_tab[i].name, v);
				continue;
			}
			json_open(j, "env", '[');
			for (const char *p = v ? v : ""; *p;) {
				size_t len = strcspn(p, "\n");
				Buf line = {0};
				buf_add(&line, p, len);
				if (len)
					json_str(j, NULL, line.data);
				buf_free(&line);
				p += len + (p[len] == '\n');
			}
			json_close(j, ']');
		}
	}
	json_close(j, '}');
}

static void ls_row(Table *t, const Zone *z, const Shown *s, int wide)
{
	const JobStatus *st = &s->st;
	char next[64], last[128], active[16], runs[32], fails[32], pid[16];
	Buf sched = {0}, cmd = {0};
	if (st->last_start.set) {
		char ts[64];
		strfmt(last, sizeof last, "%s %s", ctl_time_str(z, st->last_start, ts, sizeof ts),
		       last_status_text(st));
	} else {
		strfmt(last, sizeof last, "-");
	}
	strfmt(active, sizeof active, "%d", st->active);
	next_text(z, st, next, sizeof next);
	if (!wide) {
		table_row(t, s->name, cell(&sched, s->schedule), st->state, active, next, last);
	} else {
		strfmt(runs, sizeof runs, "%lld", st->runs);
		strfmt(fails, sizeof fails, "%lld", st->failures);
		strfmt(pid, sizeof pid, st->pid ? "%d" : "-", st->pid);
		table_row(t, s->name, cell(&sched, s->schedule), st->state, active, next, last, runs,
		          fails, pid, cell(&cmd, s->cmd));
	}
	buf_free(&sched);
	buf_free(&cmd);
}

/* The jobs ls lists, their files read. */
typedef struct Ls {
	Ctl *x;
	const Zone *z;
	JobFiles *jf;
	char **names;
} Ls;

static void ls_item(void *arg, size_t i, Table *t, Json *j)
{
	const Ls *l = arg;
	Shown s;
	if (shown_fill(l->x, l->jf, i, l->names[i], &s) < 0)
		return;                 /* deleted since the listing */
	if (t)
		ls_row(t, l->z, &s, l->x->out == OUT_WIDE);
	else
		job_json(j, l->z, &s);
	free(s.line);
}

int ctl_cmd_ls(Ctl *x)
{
	const Zone *z = ctl_zone(x);
	if (!z)
		return EX_REFUSED;
	char why[512], **names;
	size_t count;
	int rc;
	if ((rc = client_list_dir(x->c, "jobs", &names, &count, why, sizeof why)) < 0)
		return ctl_fail("jobs", rc, why);
	JobFiles jf;
	if ((rc = ctl_read_jobs(x, names, count, show_files(), F_BASE, &jf, why, sizeof why)) < 0) {
		ctl_jobfiles_free(&jf);
		client_free_names(names, count);
		return ctl_fail("jobs", rc, why);
	}
	static const char *const head[] = {
		"NAME", "SCHEDULE", "STATE", "ACTIVE", "NEXT", "LAST RUN", NULL,
	};
	static const char *const wide_head[] = {
		"NAME", "SCHEDULE", "STATE", "ACTIVE", "NEXT", "LAST RUN", "RUNS", "FAILURES", "PID",
		"CMD", NULL,
	};
	Ls list = { x, z, &jf, names };
	ctl_list(x, head, wide_head, count, ls_item, &list);
	ctl_jobfiles_free(&jf);
	client_free_names(names, count);
	return EX_OK;
}

/* One field of status's one-field-a-line form: "last start:  TIME (5m ago)". */
static void status_field(const Zone *z, const Shown *s, const char *k, size_t kl,
                         const char *v, size_t vl, int64_t now, Buf *out)
{
	char key[64], val[128], shown[192];
	strfmt(key, sizeof key, "%.*s:", (int)kl, k);
	for (char *c = key; *c; c++)
		if (*c == '_')
			*c = ' ';
	strfmt(val, sizeof val, "%.*s", (int)vl, v);
	CtlTime t;
	if (strcmp(val, "-") && ctl_time_parse(val, &t) == 0 && t.set) {
		char ts[64], rel[48];
		ctl_reltime(t.sec - now, rel, sizeof rel);
		strfmt(shown, sizeof shown, "%s (%s)", ctl_time_str(z, t, ts, sizeof ts), rel);
	} else if (!strcmp(key, "next:")) {
		next_text(z, &s->st, shown, sizeof shown);
	} else {
		strfmt(shown, sizeof shown, "%s", val);
	}
	buf_printf(out, "%-12s %s\n", key, shown);
}

/* The fields of a status line in the order status shows them; those it
 * does not know (a newer jobd's) follow, but the log positions, which are
 * for programs following the log, not for people. */
static const char *const field_order[] = {
	"state", "active", "next", "last_start", "last_end", "last_status", "runs", "failures",
	"pid", NULL,
};

static int field_known(const char *k, size_t kl)
{
	for (int i = 0; field_order[i]; i++)
		if (strlen(field_order[i]) == kl && !strncmp(field_order[i], k, kl))
			return 1;
	return kl > 4 && !strncmp(k, "log_", 4);
}

/* status, one field a line (a terminal, or -o wide): the schedule and the
 * command, then the status line's fields, times with how far they are;
 * with -o wide, the settings. */
static void status_fields(const Zone *z, const Shown *s, int wide, Buf *out)
{
	int64_t now = ctl_now();
	char v[128];
	buf_printf(out, "%-12s %s\n", "job:", s->name);
	if (s->schedule)
		buf_printf(out, "%-12s %s\n", "schedule:", s->schedule);
	if (s->cmd)
		buf_printf(out, "%-12s %s\n", "cmd:", s->cmd);
	for (int i = 0; field_order[i]; i++)
		if (kv_get(s->line, field_order[i], v, sizeof v) == 0)
			status_field(z, s, field_order[i], strlen(field_order[i]), v, strlen(v), now, out);
	for (const char *p = s->line; *p;) {
		p += strspn(p, " \t\n");
		size_t len = strcspn(p, " \t\n");
		const char *eq = memchr(p, '=', len);
		if (eq && !field_known(p, (size_t)(eq - p)))
			status_field(z, s, p, (size_t)(eq - p), eq + 1, (size_t)(p + len - eq - 1), now,
			             out);
		p += len;
	}
	for (int i = SET_TIMEOUT; wide && s->settings && i < SET_N; i++) {
		const char *val = s->settings[i - SET_TIMEOUT];
		char key[32];
		strfmt(key, sizeof key, "%s:", setting_tab[i].name);
		if (i != SET_ENV || !val || !*val) {
			buf_printf(out, "%-12s %s\n", key, val && *val ? val : "-");
			continue;
		}
		buf_printf(out, "%s\n", key);
		for (const char *q = val; *q;) {
			size_t len = strcspn(q, "\n");
			buf_printf(out, "  %.*s\n", (int)len, q);
			q += len + (q[len] == '\n');
		}
	}
}

/* status: piped, the status line as jobd has it, times in the user's zone;
 * on a terminal (or -o wide, which adds the settings) one field a line;
 * -o json one object. Text the job's owner wrote goes through ctl_print. */
int ctl_cmd_status(Ctl *x)
{
	const Zone *z = ctl_zone(x);
	if (!z)
		return EX_REFUSED;
	char *name = x->args[0], why[512];
	size_t nfiles = x->out == OUT_TABLE ? F_BASE : F_ALL;
	JobFiles jf;
	int rc = ctl_read_jobs(x, &name, 1, show_files(), nfiles, &jf, why, sizeof why);
	Shown s;
	if (rc == 0 && jf.rc[F_STATUS] < 0 && jf.rc[F_STATUS] != -ENOENT) {
		rc = jf.rc[F_STATUS];
		strfmt(why, sizeof why, "%s", jf.why);
	}
	if (rc == 0 && shown_fill(x, &jf, 0, name, &s) < 0)
		rc = -ENOENT;
	if (rc < 0) {
		ctl_jobfiles_free(&jf);
		return ctl_job_refused(x, name, rc, rc == -ENOENT ? "no such job" : why);
	}
	Buf out = {0};
	if (x->out == OUT_JSON) {
		Json j;
		json_init(&j, &out);
		job_json(&j, z, &s);
		fwrite(out.data, 1, out.len, stdout);
	} else if (x->tty || x->out == OUT_WIDE) {
		status_fields(z, &s, x->out == OUT_WIDE, &out);
		ctl_print(x, out.data, out.len);
	} else {
		ctl_rezone(s.line, z, &out);
		fwrite(out.data, 1, out.len, stdout);
	}
	buf_free(&out);
	free(s.line);
	ctl_jobfiles_free(&jf);
	return EX_OK;
}
