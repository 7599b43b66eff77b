/* jobctl: jobd's own 9P client. Everything it does, the file system can do;
 * it only makes it pleasant. Exit codes: 0 success, 1 the server refused,
 * 2 usage, 3 cannot connect. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client/client.h"
#include "cron/cron.h"
#include "util/flags.h"
#include "util/util.h"

enum { EX_OK = 0, EX_REFUSED = 1, EX_USAGE = 2, EX_CONNECT = 3 };

static const char *addr_flag;
static const char *addr_tried;

static void usage(void)
{
	fputs("usage: jobctl [-a ADDR] COMMAND [ARGS]\n"
	      "commands:\n"
	      "  ls                          list jobs: name, state, next run\n"
	      "  new NAME SCHEDULE COMMAND...  create a (stopped) job\n"
	      "  start NAME | stop NAME      start or stop a job\n"
	      "  status NAME                 state and schedule of a job\n"
	      "  log NAME                    the job's execution history\n"
	      "  next [-n N] [-from TIME] [-tz ZONE] EXPR\n"
	      "                              the next N fire times of a schedule (RFC 3339)\n"
	      "  read PATH                   print any file of the name space\n"
	      "  write PATH [DATA]           write DATA (or standard input) to a file\n"
	      "  ls-files PATH               list a directory of the name space\n"
	      "ADDR: tcp!host!port, host:port, unix!/path; default $JOBD_ADDR, then\n"
	      "./.jobd/jobd.sock or /run/jobd/jobd.sock if present, then 127.0.0.1:5640.\n",
	      stderr);
}

static const char *default_addr(void)
{
	const char *e = getenv("JOBD_ADDR");
	struct stat st;
	if (addr_flag)
		return addr_flag;
	if (e && *e)
		return e;
	if (stat(".jobd/jobd.sock", &st) == 0 && S_ISSOCK(st.st_mode))
		return "unix!.jobd/jobd.sock";
	if (stat("/run/jobd/jobd.sock", &st) == 0 && S_ISSOCK(st.st_mode))
		return "unix!/run/jobd/jobd.sock";
	return "127.0.0.1:5640";
}

static Client *connect_or_exit(void)
{
	char why[512];
	int fd;
	addr_tried = default_addr();
	if (client_dial(addr_tried, &fd, why, sizeof why) < 0) {
		fprintf(stderr, "jobctl: cannot connect to %s: %s\n"
		        "hint: is jobd running? set the address with -a or $JOBD_ADDR\n", addr_tried, why);
		exit(EX_CONNECT);
	}
	/* 9P2000.u: its Rerror carries the server's text as well as an errno,
	 * where 9P2000.L's Rlerror has only the errno. */
	Client *c = client_new(fd, P9_2000U, 0);
	const char *user = getenv("USER");
	if (client_version(c, why, sizeof why) < 0 ||
	    client_attach(c, user ? user : "", (uint32_t)getuid(), "", why, sizeof why) < 0) {
		fprintf(stderr, "jobctl: %s: %s\n", addr_tried, why);
		client_free(c);
		exit(EX_CONNECT);
	}
	return c;
}

static int refused(const char *what, const char *why)
{
	fprintf(stderr, "jobctl: %s: %s\n", what, why);
	return EX_REFUSED;
}

static int cmd_read(Client *c, const char *path)
{
	char why[512], *data;
	size_t len;
	if (client_read_file(c, path, &data, &len, why, sizeof why) < 0)
		return refused(path, why);
	fwrite(data, 1, len, stdout);
	free(data);
	return EX_OK;
}

static int write_path(Client *c, const char *who, const char *path, const char *data, size_t len)
{
	char why[512];
	if (client_write_file(c, path, data, len, why, sizeof why) < 0)
		return refused(who, why);
	return EX_OK;
}

static int cmd_write(Client *c, int argc, char **argv)
{
	if (argc >= 2)
		return write_path(c, argv[0], argv[0], argv[1], strlen(argv[1]));
	Buf b = {0};
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
		buf_add(&b, chunk, n);
	int rc = write_path(c, argv[0], argv[0], b.data ? b.data : "", b.len);
	buf_free(&b);
	return rc;
}

static int cmd_lsfiles(Client *c, const char *path)
{
	char why[512], **names;
	size_t count;
	if (client_list_dir(c, path, &names, &count, why, sizeof why) < 0)
		return refused(path, why);
	for (size_t i = 0; i < count; i++)
		printf("%s\n", names[i]);
	client_free_names(names, count);
	return EX_OK;
}

static char *read_or_null(Client *c, const char *path)
{
	char why[512], *data;
	size_t len;
	if (client_read_file(c, path, &data, &len, why, sizeof why) < 0)
		return NULL;
	return data;
}

static int cmd_ls(Client *c)
{
	char why[512], **names, path[512];
	size_t count;
	if (client_list_dir(c, "jobs", &names, &count, why, sizeof why) < 0)
		return refused("jobs", why);
	int tty = isatty(STDOUT_FILENO);
	if (tty && count)
		printf("%-24s %-8s %s\n", "NAME", "STATE", "NEXT");
	for (size_t i = 0; i < count; i++) {
		snprintf(path, sizeof path, "jobs/%s/ctl", names[i]);
		char *state = read_or_null(c, path);
		snprintf(path, sizeof path, "jobs/%s/schedule", names[i]);
		char *sched = read_or_null(c, path);
		/* schedule is "expr" or "expr:next"; the expression has no ':' */
		const char *next = sched && strchr(sched, ':') ? strchr(sched, ':') + 1 : "-";
		if (tty)
			printf("%-24s %-8s %s\n", names[i], state ? state : "?", next);
		else
			printf("%s\t%s\t%s\n", names[i], state ? state : "?", next);
		free(state);
		free(sched);
	}
	client_free_names(names, count);
	return EX_OK;
}

static int cmd_new(Client *c, int argc, char **argv)
{
	Buf b = {0};
	buf_printf(&b, "%s:%s:", argv[0], argv[1]);
	for (int i = 2; i < argc; i++)
		buf_printf(&b, "%s%s", i > 2 ? " " : "", argv[i]);
	int rc = write_path(c, argv[0], "clone", b.data, b.len);
	buf_free(&b);
	return rc;
}

static int cmd_ctl(Client *c, const char *name, const char *verb)
{
	char path[512];
	snprintf(path, sizeof path, "jobs/%s/ctl", name);
	return write_path(c, name, path, verb, strlen(verb));
}

static int cmd_status(Client *c, const char *name)
{
	char path[512];
	snprintf(path, sizeof path, "jobs/%s/ctl", name);
	char *state = read_or_null(c, path);
	snprintf(path, sizeof path, "jobs/%s/schedule", name);
	char *sched = read_or_null(c, path);
	snprintf(path, sizeof path, "jobs/%s/cmd", name);
	char *cmd = read_or_null(c, path);
	int rc = EX_OK;
	if (!state || !sched || !cmd) {
		fprintf(stderr, "jobctl: %s: no such job\n", name);
		rc = EX_REFUSED;
	} else {
		printf("state=%s\nschedule=%s\ncmd=%s\n", state, sched, cmd);
	}
	free(state);
	free(sched);
	free(cmd);
	return rc;
}

/* next: runs locally with the daemon's own parser and arithmetic. */
static int cmd_next(int argc, char **argv)
{
	int count = 5;
	const char *from = NULL, *tz = NULL;
	Flag flags[] = {
		{ "n", FLAG_INT, &count, "how many fire times", "5" },
		{ "from", FLAG_STRING, &from, "start after this RFC 3339 time", "now" },
		{ "tz", FLAG_STRING, &tz, "IANA time zone", "local" },
		{ 0 },
	};
	char why[512];
	int idx = flags_parse(flags, argc, argv, why, sizeof why);
	if (idx == -2) {
		flags_usage(flags, "jobctl next", "EXPR");
		return EX_OK;
	}
	if (idx < 0 || idx != argc - 1 || count < 1) {
		fprintf(stderr, "jobctl next: %s\n", idx < 0 ? why : "want one expression (quote it)");
		flags_usage(flags, "jobctl next", "EXPR");
		return EX_USAGE;
	}
	Cron cr;
	if (cron_parse(argv[idx], &cr, why, sizeof why) < 0) {
		fprintf(stderr, "jobctl next: %s\n", why);
		return EX_REFUSED;
	}
	Zone *z = zone_load(tz, why, sizeof why);
	if (!z) {
		fprintf(stderr, "jobctl next: %s\n", why);
		return EX_USAGE;
	}
	int64_t sec;
	long nsec = 0;
	if (from) {
		if (time_parse_rfc3339(from, &sec, &nsec) < 0) {
			fprintf(stderr, "jobctl next: -from: '%s' is not an RFC 3339 time\n", from);
			zone_free(z);
			return EX_USAGE;
		}
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		sec = ts.tv_sec;
		nsec = ts.tv_nsec;
	}
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

int main(int argc, char **argv)
{
	int help = 0;
	Flag flags[] = {
		{ "a", FLAG_STRING, &addr_flag, "jobd address", "$JOBD_ADDR" },
		{ "help", FLAG_BOOL, &help, "this text", "false" },
		{ 0 },
	};
	char why[512];
	int idx = flags_parse(flags, argc, argv, why, sizeof why);
	if (idx == -2) {
		usage();
		return EX_OK;
	}
	if (idx < 0) {
		fprintf(stderr, "jobctl: %s\n", why);
		usage();
		return EX_USAGE;
	}
	if (idx >= argc) {
		usage();
		return EX_USAGE;
	}
	const char *cmd = argv[idx];
	int nargs = argc - idx - 1;
	char **args = argv + idx + 1;
	if (!strcmp(cmd, "next"))
		return cmd_next(argc - idx, argv + idx);

	struct { const char *name; int min, max; } table[] = {
		{ "ls", 0, 0 }, { "new", 3, 1000 }, { "start", 1, 1 }, { "stop", 1, 1 },
		{ "status", 1, 1 }, { "log", 1, 1 }, { "read", 1, 1 }, { "write", 1, 2 },
		{ "ls-files", 1, 1 },
	};
	size_t i;
	for (i = 0; i < sizeof table / sizeof table[0]; i++)
		if (!strcmp(cmd, table[i].name))
			break;
	if (i == sizeof table / sizeof table[0]) {
		fprintf(stderr, "jobctl: unknown command '%s'\n", cmd);
		usage();
		return EX_USAGE;
	}
	if (nargs < table[i].min || nargs > table[i].max) {
		fprintf(stderr, "jobctl %s: wrong number of arguments\n", cmd);
		usage();
		return EX_USAGE;
	}
	Client *c = connect_or_exit();
	int rc;
	char path[512];
	if (!strcmp(cmd, "ls"))
		rc = cmd_ls(c);
	else if (!strcmp(cmd, "new"))
		rc = cmd_new(c, nargs, args);
	else if (!strcmp(cmd, "start") || !strcmp(cmd, "stop"))
		rc = cmd_ctl(c, args[0], cmd);
	else if (!strcmp(cmd, "status"))
		rc = cmd_status(c, args[0]);
	else if (!strcmp(cmd, "log")) {
		snprintf(path, sizeof path, "jobs/%s/log", args[0]);
		rc = cmd_read(c, path);
	} else if (!strcmp(cmd, "read"))
		rc = cmd_read(c, args[0]);
	else if (!strcmp(cmd, "write"))
		rc = cmd_write(c, nargs, args);
	else
		rc = cmd_lsfiles(c, args[0]);
	client_free(c);
	return rc;
}
