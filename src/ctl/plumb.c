/* Plumbing (read, write, ls-files: any file of the name space), next (no
 * daemon needed) and help. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron/cron.h"
#include "ctl/ctl.h"

int ctl_cmd_read(Ctl *x, int argc, char **argv)
{
	Flag flags[] = {
		{ "raw", FLAG_BOOL, &x->raw, "control characters as they are, on a terminal too", "false" },
		{ 0 },
	};
	int first, rc = ctl_args(x, flags, argc, argv, 1, 1, &first);
	if (rc >= 0)
		return rc;
	if (!ctl_client(x))
		return EX_CONNECT;
	char why[512], *data;
	size_t len;
	if (client_read_file(x->c, argv[first], &data, &len, why, sizeof why) < 0)
		return ctl_refused(argv[first], why);
	ctl_print(x, data, len);
	free(data);
	return EX_OK;
}

int ctl_cmd_write(Ctl *x, int argc, char **argv)
{
	int first, rc = ctl_args(x, NULL, argc, argv, 1, 2, &first);
	if (rc >= 0)
		return rc;
	const char *path = argv[first];
	Buf b = {0};
	if (first + 1 < argc) {
		buf_addstr(&b, argv[first + 1]);
	} else {
		char chunk[4096];
		size_t n;
		while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
			buf_add(&b, chunk, n);
	}
	if (!ctl_client(x)) {
		buf_free(&b);
		return EX_CONNECT;
	}
	char why[512];
	rc = client_write_file(x->c, path, b.data ? b.data : "", b.len, why, sizeof why);
	buf_free(&b);
	return rc < 0 ? ctl_refused(path, why) : EX_OK;
}

int ctl_cmd_lsfiles(Ctl *x, int argc, char **argv)
{
	int first, rc = ctl_args(x, NULL, argc, argv, 0, 1, &first);
	if (rc >= 0)
		return rc;
	const char *path = first < argc ? argv[first] : "/";
	if (!ctl_client(x))
		return EX_CONNECT;
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
int ctl_cmd_next(Ctl *x, int argc, char **argv)
{
	int count = 5;
	const char *from = NULL, *tz = NULL;
	Flag flags[] = {
		{ "n", FLAG_INT, &count, "how many fire times", "5" },
		{ "from", FLAG_STRING, &from, "start after this RFC 3339 time", "now" },
		{ "tz", FLAG_STRING, &tz, "IANA time zone", "local" },
		{ 0 },
	};
	int first, rc = ctl_args(x, flags, argc, argv, 1, 1, &first);
	if (rc >= 0)
		return rc;
	if (count < 1)
		return ctl_usage(x, "-n: want at least 1");
	char why[512];
	Cron cr;
	if (cron_parse(argv[first], &cr, why, sizeof why) < 0) {
		fprintf(stderr, "jobctl next: %s\n", why);
		return EX_REFUSED;
	}
	int64_t sec;
	long nsec = 0;
	if (from) {
		if (time_parse_rfc3339(from, &sec, &nsec) < 0)
			return ctl_usage(x, "-from: '%s' is not an RFC 3339 time", from);
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		sec = ts.tv_sec;
		nsec = ts.tv_nsec;
	}
	Zone *z = zone_load(tz, why, sizeof why);
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

int ctl_cmd_help(Ctl *x, int argc, char **argv)
{
	int first, rc = ctl_args(x, NULL, argc, argv, 0, 1, &first);
	if (rc >= 0)
		return rc;
	if (first == argc) {
		ctl_help(stdout);
		return EX_OK;
	}
	const CtlCmd *c = ctl_cmd_find(argv[first]);
	if (!c)
		return ctl_usage(x, "no command '%s'", argv[first]);
	ctl_help_cmd(c, stdout);
	return EX_OK;
}
