/* jobctl: jobd's own 9P client. Everything it does, the file system can do;
 * it only makes it pleasant. Flags and dispatch; the commands are in
 * src/ctl/. Exit codes (ctl.h): 0 success, 1 refused or failed, 2 usage or
 * invalid input, 3 cannot connect or connection lost, 4 not found. */
#include <string.h>
#include <unistd.h>

#include "cmd/version.h"
#include "ctl/ctl.h"

int main(int argc, char **argv)
{
	const char *addr = NULL;
	int version = 0, utc = 0;
	Flag flags[] = {
		{ "a", FLAG_STRING, &addr, "jobd's address", "$JOBD_ADDR" },
		{ "utc", FLAG_BOOL, &utc, "print times in UTC", "false" },
		{ "version", FLAG_BOOL, &version, "print the version and exit", "false" },
		{ 0 },
	};
	char why[512];
	int idx = flags_parse(flags, argc, argv, why, sizeof why);
	if (idx == -2) {
		ctl_help(stdout);
		return EX_OK;
	}
	if (idx < 0) {
		fprintf(stderr, "jobctl: %s\n(jobctl --help for usage)\n", why);
		return EX_USAGE;
	}
	if (version) {
		puts(VERSION_LINE("jobctl"));
		return EX_OK;
	}
	if (idx >= argc) {
		ctl_help(stderr);
		return EX_USAGE;
	}
	const CtlCmd *cmd = ctl_cmd_find(argv[idx]);
	if (!cmd) {
		fprintf(stderr, "jobctl: unknown command '%s' (jobctl help lists them)\n", argv[idx]);
		return EX_USAGE;
	}
	Ctl x = { .cmd = cmd, .tty = isatty(STDOUT_FILENO), .utc = utc };
	x.addr = ctl_default_addr(addr, &x.addr_from);
	int rc = ctl_run(&x, argc - idx, argv + idx);
	if (x.c)
		client_free(x.c);
	if (x.zone)
		zone_free(x.zone);
	buf_free(&x.warned);
	if (fflush(stdout) != 0 && rc == EX_OK)
		rc = EX_REFUSED;
	return rc;
}
