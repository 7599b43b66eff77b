/* Plumbing (read, write, ls-files: any file of the name space), next (no
 * daemon needed) and help. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron/cron.h"
#include "ctl/ctl.h"

int ctl_cmd_read(Ctl *x)
{
	const char *path = x->args[0];
	char why[512], *data;
	size_t len;
	if (client_read_file(x->c, path, &data, &len, why, sizeof why) < 0)
		return ctl_refused(path, why);
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
	return rc < 0 ? ctl_refused(path, why) : EX_OK;
}

int ctl_cmd_lsfiles(Ctl *x)
{
	const char *path = x->nargs > 0 ? x->args[0] : "/";
	char why[512], **names;
	size_t count;
	if (client_list_dir(x->c, path, &names, &count, why, sizeof why) < 0)
		return ctl_refused(path, why);
	for (size_t i = 0; i < count; i++)
		printf("%s\n", names[i]);
	client_free_names(names, count);
	return EX_OK;
}

/* next: computed here, with the daemon's own parser and arithmetic. */
int ctl_cmd_next(Ctl *x)
{
	int count = x->n == CTL_UNSET ? 5 : x->n;
	if (count < 1)
		return ctl_usage(x, "-n: want at least 1");
	char why[512];
	Cron cr;
	if (cron_parse(x->args[0], &cr, why, sizeof why) < 0) {
		fprintf(stderr, "jobctl next: %s\n", why);
		return EX_REFUSED;
	}
	int64_t sec;
	long nsec = 0;
	if (x->from) {
		if (time_parse_rfc3339(x->from, &sec, &nsec) < 0)
			return ctl_usage(x, "-from: '%s' is not an RFC 3339 time", x->from);
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		sec = ts.tv_sec;
		nsec = ts.tv_nsec;
	}
	Zone *z = zone_load(x->tz, why, sizeof why);
	if (!z)
		return ctl_usage(x, "-tz: %s", why);
	for (int i = 0; i < count; i++) {
		int64_t t = cron_next(&cr, sec, nsec, z);
		if (t == CRON_NEVER) {
			printf("never\n");
			break;
		}
		char buf[64];
		zone_format_rfc3339(z, t, buf, sizeof buf);
		printf("%s\n", buf);
		sec = t;
		nsec = 0;
	}
	zone_free(z);
	return EX_OK;
}

int ctl_cmd_help(Ctl *x)
{
	if (x->nargs == 0) {
		ctl_help(stdout);
		return EX_OK;
	}
	const CtlCmd *c = ctl_cmd_find(x->args[0]);
	if (!c)
		return ctl_usage(x, "no command '%s'", x->args[0]);
	ctl_help_cmd(c, stdout);
	return EX_OK;
}
