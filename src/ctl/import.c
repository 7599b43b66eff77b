/* jobctl import and export: crontabs in and out (the text: crontab.c).
 *
 * Who owns an imported job: jobd gives a job to the user who creates it and
 * runs it as that user; there is no way, root's included, to create a job
 * for someone else. So a user crontab is imported by its user, and a line of
 * /etc/crontab's format (-u USER) is imported only by USER: its user column
 * picks the lines, and jobctl refuses a USER it is not running as, rather
 * than make root's jobs out of www-data's lines. */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/ctl.h"

/* The whole of path ("-": stdin) as a string; NULL after a message, with
 * the exit status in *ex. */
static char *read_input(const char *path, int *ex)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!f) {
		int e = errno;
		*ex = ctl_fail(path, -e, strerror(e));
		return NULL;
	}
	Buf b = {0};
	char chunk[4096];
	size_t k;
	errno = 0;
	while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, k);
	int bad = ferror(f), e = errno;
	if (f != stdin)
		fclose(f);
	if (bad || (b.data && memchr(b.data, 0, b.len))) {
		/* A directory opens but cannot be read: say why (EISDIR). */
		ctl_refused(path, bad ? (e ? strerror(e) : "read error") :
		                        "holds a NUL byte: not a crontab");
		*ex = EX_REFUSED;
		buf_free(&b);
		return NULL;
	}
	return b.data ? b.data : xstrdup("");
}

/* The user jobctl runs as: who jobd will make the jobs' owner. */
static const char *me(void)
{
	struct passwd *pw = getpwuid(geteuid());
	return pw ? pw->pw_name : NULL;
}

int ctl_check_import(Ctl *x)
{
	const char *self = me();
	if (x->user && !x->check && (!self || strcmp(self, x->user)))
		return ctl_usage(x, "-u %s: jobd makes a job its creator's and runs it as them, so "
		                 "only %s can import %s's lines (you are %s): sudo -u %s jobctl import "
		                 "-u %s ...", x->user, x->user, x->user, self ? self : "unknown",
		                 x->user, x->user);
	return -1;
}

/* Names taken: the jobs there are and those made so far. */
typedef struct Taken {
	char **v;
	size_t n;
} Taken;

static int taken(const Taken *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->v[i], name))
			return 1;
	return 0;
}

static void take(Taken *t, const char *name)
{
	t->v = xrealloc(t->v, (t->n + 1) * sizeof *t->v);
	t->v[t->n++] = xstrdup(name);
}

/* A generated name nobody has: base, else base_2, base_3, ... */
static void unique_name(const Taken *t, const char *base, char *out, size_t n)
{
	strfmt(out, n, "%s", base);
	for (int k = 2; taken(t, out); k++)
		strfmt(out, n, "%s_%d", base, k);
}

/* Creates the job of entry e as name: the clone line, its env, then its
 * other settings and its start in one ctl write. A line is taken whole or
 * not at all: a job made but not finished is deleted again. 0, or -errno
 * with why. */
static int create(Ctl *x, const CronJob *e, const char *name, char *why, size_t n)
{
	Buf b = {0};
	char ctl[256], env[256], uwhy[256];
	CtlReply r;
	buf_printf(&b, "%s:%s:%s", name, e->schedule, e->cmd);
	int rc = ctl_command(x, name, "clone", b.data, &r, why, n);
	buf_free(&b);
	if (rc < 0)
		return rc;
	ctl_job_path(ctl, sizeof ctl, name, "ctl");
	if (e->env && *e->env)
		rc = ctl_write(x, ctl_job_path(env, sizeof env, name, "env"), e->env, strlen(e->env),
		               why, n);
	for (int i = 0; i < SET_N; i++)
		if (e->set[i])
			buf_printf(&b, "set %s %s\n", setting_tab[i].name, e->set[i]);
	if (!e->stopped)
		buf_addstr(&b, "start\n");
	if (rc == 0 && b.len)
		rc = ctl_command(x, name, ctl, b.data, &r, why, n);
	buf_free(&b);
	if (rc < 0 && ctl_exit_for(rc) != EX_CONNECT)
		client_write_file(x->c, ctl, "delete", 6, uwhy, sizeof uwhy);
	return rc;
}

/* What import says of line N of `what`: "jobctl: FILE:N: text". The text
 * quotes the file (a schedule, a user, a variable) or jobd's answer, which
 * may quote it too: the crontab is someone's text, so its control bytes and
 * what is not UTF-8 are shown as \xHH (ctl_escape), on a terminal or not. */
static void say(const char *what, int line, const char *kind, const char *text)
{
	Buf b = {0};
	ctl_escape(&b, text, strlen(text));
	fprintf(stderr, "jobctl: %s:%d: %s%s\n", what, line, kind, b.data ? b.data : "");
	buf_free(&b);
}

/* The notes of lines up to `line` (all: INT_MAX), in order; the first
 * error's exit status goes to *ex. */
static void say_notes(const Crontab *ct, size_t *k, int line, const char *what, int *ex)
{
	for (; *k < ct->nnotes && ct->notes[*k].line <= line; (*k)++) {
		const CronNote *nt = &ct->notes[*k];
		say(what, nt->line, nt->error ? "" : "warning: ", nt->text);
		if (nt->error && *ex == EX_OK)
			*ex = EX_REFUSED;
	}
}

/* Whether -u's user is not entry e's: its line is skipped, and said so
 * (no failure: the file holds other users' lines too). */
static int other_users(Ctl *x, const CronJob *e, const char *what)
{
	if (!e->user || !strcmp(e->user, x->user))
		return 0;
	char msg[256];
	say(what, e->line, "", strfmt(msg, sizeof msg, "for user %s, not %s: skipped", e->user,
	                              x->user));
	return 1;
}

/* import -check: what would be made, nothing sent. */
static int import_check(Ctl *x, const Crontab *ct, const char *what)
{
	size_t k = 0;
	int ex = EX_OK;
	for (size_t i = 0; i < ct->n; i++) {
		const CronJob *e = &ct->v[i];
		say_notes(ct, &k, e->line, what, &ex);
		if (other_users(x, e, what))
			continue;
		Buf b = {0};
		buf_printf(&b, "line %d: %s%s: %s: %s\n", e->line, e->name ? e->name : e->auto_name,
		           e->stopped ? " (stopped)" : "", e->schedule, e->cmd);
		ctl_print(x, b.data, b.len);    /* the file's text: escaped on a terminal */
		fflush(stdout);
		buf_free(&b);
	}
	say_notes(ct, &k, INT_MAX, what, &ex);
	return ex;
}

/* Makes entry e's job, says how it went; its exit status. A name from
 * "# jobctl name" is used as it is (jobd says if it is taken); a made one
 * is made unique. */
static int import_entry(Ctl *x, const CronJob *e, Taken *t, const char *what)
{
	char name[160], why[512], msg[700];
	if (e->name)
		strfmt(name, sizeof name, "%s", e->name);
	else
		unique_name(t, e->auto_name, name, sizeof name);
	int rc = create(x, e, name, why, sizeof why);
	if (rc < 0) {
		say(what, e->line, "", strfmt(msg, sizeof msg, "%s: %s", name, why));
		return ctl_exit_for(rc);
	}
	take(t, name);
	printf("line %d: created %s%s\n", e->line, name, e->stopped ? " (stopped)" : "");
	return EX_OK;
}

int ctl_cmd_import(Ctl *x)
{
	const char *file = x->args[0], *what = strcmp(file, "-") ? file : "stdin";
	int ex = EX_OK, rc;
	char *text = read_input(file, &ex);
	if (!text)
		return ex;
	Crontab ct;
	crontab_parse(text, x->user != NULL, &ct);
	free(text);
	if (x->check) {
		ex = import_check(x, &ct, what);
		crontab_free(&ct);
		return ex;
	}
	/* The names taken, so that made ones are new: one listing, then the
	 * names made are added as they are. */
	char why[512], **names = NULL;
	size_t count = 0, k = 0;
	Taken t = {0};
	if (!ctl_client(x))
		ex = EX_CONNECT;
	else if ((rc = client_list_dir(x->c, "jobs", &names, &count, why, sizeof why)) < 0)
		ex = ctl_fail("jobs", rc, why);
	for (size_t i = 0; i < count; i++)
		take(&t, names[i]);
	client_free_names(names, count);
	int listed = ex == EX_OK;   /* without the names taken, nothing is made */
	for (size_t i = 0; listed && i < ct.n; i++) {
		const CronJob *e = &ct.v[i];
		say_notes(&ct, &k, e->line, what, &ex);
		if (other_users(x, e, what))
			continue;
		int e_ex = import_entry(x, e, &t, what);
		if (ex == EX_OK)
			ex = e_ex;
		if (e_ex == EX_CONNECT)
			break;              /* the other lines would only say so again */
	}
	if (listed)
		say_notes(&ct, &k, INT_MAX, what, &ex);
	for (size_t i = 0; i < t.n; i++)
		free(t.v[i]);
	free(t.v);
	crontab_free(&ct);
	return ex;
}

/* export's files of a job, in this order: what a crontab line holds, the
 * status, then each setting of a "# jobctl set" line (crontab_setting), in
 * setting_tab's order; export_set[k] is the setting of file E_SET + k. */
enum { E_SCHEDULE, E_CMD, E_ENV, E_STATUS, E_SET, E_MAX = E_SET + SET_N };
static const char *export_files[E_MAX];
static int export_set[SET_N];

/* Fills the lists from the table; returns how many files. */
static size_t export_list(void)
{
	size_t n = 0;
	export_files[n++] = setting_tab[SET_SCHEDULE].name;
	export_files[n++] = setting_tab[SET_CMD].name;
	export_files[n++] = setting_tab[SET_ENV].name;
	export_files[n++] = "status";
	for (int i = 0; i < SET_N; i++)
		if (crontab_setting(i)) {
			export_set[n - E_SET] = i;
			export_files[n++] = setting_tab[i].name;
		}
	return n;
}

/* What a new job has (jobd's defaults): export leaves such a setting out. */
static int is_default(int k, const char *v)
{
	if (!*v)
		return 1;
	if (k == SET_TIMEOUT)
		return !strcmp(v, "0");
	return setting_tab[k].words && !strcmp(v, setting_tab[k].words[0]);
}

/* One job's crontab lines into out; the exit status. */
static int export_job(Ctl *x, CronOut *w, const char *name, char **t, int *rcs, size_t nfiles,
                      Buf *out)
{
	char why[512];
	for (int f = E_SCHEDULE; f <= E_STATUS; f++)
		if (!t[f])
			return ctl_job_refused(x, name, rcs[f], "cannot read its files");
	CronJob j = { .name = (char *)name, .schedule = t[E_SCHEDULE], .cmd = t[E_CMD],
	              .env = t[E_ENV] };
	settings_from_file(SET_SCHEDULE, j.schedule);
	settings_from_file(SET_ENV, j.env);
	JobStatus st;
	job_status_parse(t[E_STATUS], &st);
	j.stopped = strcmp(st.state, "started") != 0;
	for (size_t f = E_SET; f < nfiles; f++) {
		char *v = t[f];
		if (v && !is_default(export_set[f - E_SET], v))
			j.set[export_set[f - E_SET]] = v;
	}
	if (crontab_put(w, &j, out, why, sizeof why) < 0) {
		char msg[600];
		return ctl_refused(name, strfmt(msg, sizeof msg, "a crontab cannot hold it: %s", why));
	}
	return EX_OK;
}

int ctl_cmd_export(Ctl *x)
{
	char why[512], **names = x->args;
	size_t count = (size_t)x->nargs;
	int rc, ex = EX_OK;
	if (!count && (rc = client_list_dir(x->c, "jobs", &names, &count, why, sizeof why)) < 0)
		return ctl_fail("jobs", rc, why);
	size_t nfiles = export_list();
	JobFiles jf;
	rc = ctl_read_jobs(x, names, count, export_files, nfiles, &jf, why, sizeof why);
	Buf out = {0};
	CronOut w = { .system = x->user != NULL, .user = x->user };
	crontab_header(&out, w.system);
	for (size_t i = 0; rc == 0 && i < count; i++) {
		int e = export_job(x, &w, names[i], jf.text + i * nfiles, jf.rc + i * nfiles, nfiles,
		                   &out);
		if (ex == EX_OK)
			ex = e;
	}
	if (rc < 0)
		ex = ctl_fail("jobs", rc, why);
	else
		ctl_print(x, out.data, out.len);     /* the jobs' text: escaped on a terminal */
	buf_free(&out);
	cronout_free(&w);
	ctl_jobfiles_free(&jf);
	if (!x->nargs)
		client_free_names(names, count);
	return ex;
}
