/* Plumbing (read, write, ls-files: any file of the name space), next (no
 * daemon needed, unless it is asked about a job) and help. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron/cron.h"
#include "ctl/ctl.h"
#include "jobs/settings.h"

int ctl_cmd_read(Ctl *x)
{
	const char *path = x->args[0];
	char why[512], *data;
	size_t len;
	int rc = client_read_file(x->c, path, &data, &len, why, sizeof why);
	if (rc < 0)
		return ctl_fail(path, rc, why);
	ctl_print(x, data, len);
	free(data);
	return EX_OK;
}

int ctl_cmd_write(Ctl *x)
{
	const char *path = x->args[0];
	Buf b = {0};
	if (x->nargs > 1) {
		buf_addstr(&b, x->args[1]);
	} else {
		char chunk[4096];
		size_t n;
		while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
			buf_add(&b, chunk, n);
	}
	char why[512];
	int rc = client_write_file(x->c, path, b.data ? b.data : "", b.len, why, sizeof why);
	buf_free(&b);
	return rc < 0 ? ctl_fail(path, rc, why) : EX_OK;
}

int ctl_cmd_lsfiles(Ctl *x)
{
	const char *path = x->nargs > 0 ? x->args[0] : "/";
	char why[512], **names;
	size_t count;
	int rc = client_list_dir(x->c, path, &names, &count, why, sizeof why);
	if (rc < 0)
		return ctl_fail(path, rc, why);
	for (size_t i = 0; i < count; i++)
		printf("%s\n", names[i]);
	client_free_names(names, count);
	return EX_OK;
}

/* next's argument names a job when it is one word that is not a macro: an
 * expression has blanks between its fields. */
static int names_job(const char *arg)
{
	return *arg && *arg != '@' && !strpbrk(arg, " \t");
}

/* The schedule of job name, without its ":<next run>", and in *next the
 * time jobd computed for it (unset when stopped). NULL after a message,
 * with the exit status in *ex. */
static char *job_schedule(Ctl *x, const char *name, CtlTime *next, int *ex)
{
	char why[512], path[256];
	int rc;
	if (!ctl_client(x)) {
		*ex = EX_CONNECT;
		return NULL;
	}
	char *spec = ctl_read(x, ctl_job_path(path, sizeof path, name, "schedule"), &rc, why,
	                      sizeof why);
	if (!spec) {
		*ex = ctl_job_refused(x, name, rc, why);
		return NULL;
	}
	settings_from_file(SET_SCHEDULE, spec);
	char *st = ctl_read(x, ctl_job_path(path, sizeof path, name, "status"), &rc, why,
	                    sizeof why);
	JobStatus js;
	job_status_parse(st ? st : "", &js);
	*next = js.next;
	free(st);
	return spec;
}

/* jobd evaluates a schedule without TZ= in its own zone, which jobctl
 * cannot ask for: it uses its own, and says so when jobd's next time for
 * the job differs (a time already passing aside). */
static void cross_check(const char *name, CtlTime jobd_next, int64_t first, const Zone *z)
{
	if (!jobd_next.set || jobd_next.sec == first || jobd_next.sec <= ctl_now())
		return;
	char a[64], b[64];
	CtlTime t = { first, 0, 1 };
	fprintf(stderr, "jobctl: %s: jobd's next run is %s, not %s: jobd evaluates this schedule "
	        "in its own time zone; give it with -tz, or put TZ=Zone in the schedule\n", name,
	        ctl_time_str(z, jobd_next, a, sizeof a), ctl_time_str(z, t, b, sizeof b));
}

static void next_print(Ctl *x, const char *job, const char *spec, const Zone *ez,
                       const int64_t *t, int got, int count)
{
	const Zone *z = x->zone;
	char ts[64], zt[64], rel[48];
	int64_t now = ctl_now();
	if (x->out == OUT_JSON) {
		Buf out = {0};
		Json j;
		json_init(&j, &out);
		json_open(&j, NULL, '{');
		if (job)
			json_str(&j, "job", job);
		json_str(&j, "schedule", spec);
		json_str(&j, "zone", zone_name(ez));
		json_open(&j, "times", '[');
		for (int i = 0; i < got; i++)
			json_time(&j, NULL, z, (CtlTime){ t[i], 0, 1 });
		json_close(&j, ']');
		json_close(&j, '}');
		fwrite(out.data, 1, out.len, stdout);
		buf_free(&out);
		return;
	}
	if (x->out == OUT_WIDE) {
		Table tb;
		table_init(&tb, 3);
		table_row(&tb, "TIME", "IN THE SCHEDULE'S ZONE", "WHEN");
		for (int i = 0; i < got; i++) {
			CtlTime ct = { t[i], 0, 1 };
			ctl_reltime(t[i] - now, rel, sizeof rel);
			table_row(&tb, ctl_time_str(z, ct, ts, sizeof ts), ctl_time_str(ez, ct, zt, sizeof zt),
			          rel);
		}
		if (got < count)
			table_row(&tb, "never", "-", "-");
		table_print(&tb, stdout, x->tty);
		table_free(&tb);
		return;
	}
	for (int i = 0; i < got; i++)
		printf("%s\n", ctl_time_str(z, (CtlTime){ t[i], 0, 1 }, ts, sizeof ts));
	if (got < count)
		printf("never\n");
}

/* next: computed here, with the daemon's own parser and arithmetic. The
 * schedule is evaluated in its zone (TZ= first, else -tz, else the local
 * one) and its times printed in the user's, as every time jobctl prints;
 * -tz names the zone the user asks about, so it is the user's here. */
int ctl_cmd_next(Ctl *x)
{
	int count = x->n == CTL_UNSET ? 5 : x->n, ex = EX_OK;
	if (count < 1)
		return ctl_usage(x, "-n: want at least 1");
	if (count > 10000)
		return ctl_usage(x, "-n: at most 10000");
	int64_t sec;
	long nsec = 0;
	if (x->from && time_parse_rfc3339(x->from, &sec, &nsec) < 0)
		return ctl_usage(x, "-from: '%s' is not an RFC 3339 time", x->from);
	if (!x->from) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		sec = ts.tv_sec;
		nsec = ts.tv_nsec;
	}
	char why[512], zname[128] = "";
	if (x->tz && !(x->zone = zone_load(x->tz, why, sizeof why))) {
		fprintf(stderr, "jobctl: -tz: %s\n", why);
		return EX_REFUSED;
	}
	if (!ctl_zone(x))
		return EX_REFUSED;
	const char *arg = x->args[0], *job = names_job(arg) ? arg : NULL;
	CtlTime jobd_next = {0};
	char *spec = job ? job_schedule(x, job, &jobd_next, &ex) : xstrdup(arg);
	if (!spec)
		return ex;
	const char *zone, *expr;
	size_t zlen;
	Cron cr;
	Zone *ez = NULL;
	if (schedule_split(spec, &zone, &zlen, &expr, why, sizeof why) < 0 ||
	    cron_parse(expr, &cr, why, sizeof why) < 0) {
		if (job)
			ctl_refused(job, why);
		else
			fprintf(stderr, "jobctl next: %s\n", why);
		ex = EX_REFUSED;        /* refused as jobd would refuse it */
	} else {
		strfmt(zname, sizeof zname, "%.*s", (int)zlen, zone);
		if (!(ez = zone_load(zlen ? zname : x->tz, why, sizeof why))) {
			fprintf(stderr, "jobctl: %s: %s\n", job ? job : "next", why);
			ex = EX_REFUSED;
		}
	}
	if (ez) {
		int64_t *t = xcalloc((size_t)count, sizeof *t);
		int got = 0;
		for (; got < count; got++) {
			if ((t[got] = cron_next(&cr, sec, nsec, ez)) == CRON_NEVER)
				break;
			sec = t[got];
			nsec = 0;
		}
		if (job && got && !x->from && !zlen && !x->tz)
			cross_check(job, jobd_next, t[0], x->zone);
		next_print(x, job, spec, ez, t, got, count);
		free(t);
		zone_free(ez);
	}
	free(spec);
	return ex;
}

int ctl_cmd_help(Ctl *x)
{
	if (x->nargs == 0) {
		ctl_help(stdout);
		return EX_OK;
	}
	if (!strcmp(x->args[0], "commands")) {
		for (const CtlCmd *c = ctl_cmds; c->name; c++)
			printf("%s\n", c->name);
		return EX_OK;
	}
	if (!strcmp(x->args[0], "settings")) {
		ctl_settings_list(stdout);
		return EX_OK;
	}
	const CtlCmd *c = ctl_cmd_find(x->args[0]);
	if (!c)
		return ctl_usage(x, "no command '%s'", x->args[0]);
	ctl_help_cmd(c, stdout);
	return EX_OK;
}
