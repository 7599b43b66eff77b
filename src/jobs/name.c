#include <errno.h>

#include "jobs.h"

/* What systemd unit names and Kubernetes object names allow, so that a job
 * can be named after the service or CronJob it replaces. No '/' (a job is a
 * directory), no ':' (clone splits at it), no blanks or control bytes (names
 * are printed in columns and logs); a leading '.' would hide the directory
 * and make "." and "..", a leading '-' would read as a flag to jobctl. */
static int name_byte_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

int job_name_valid(const char *name, size_t len, char *why, size_t n)
{
	int shown = (int)(len > 64 ? 64 : len);
	if (len == 0) {
		strfmt(why, n, "job name is empty");
		return -EINVAL;
	}
	if (len > JOB_NAME_MAX) {
		strfmt(why, n, "job name is longer than %d bytes", JOB_NAME_MAX);
		return -EINVAL;
	}
	if (name[0] == '.' || name[0] == '-') {
		strfmt(why, n, "invalid job name '%.*s': it may not start with '%c'", shown, name,
		       name[0]);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++)
		if (!name_byte_ok((unsigned char)name[i])) {
			strfmt(why, n, "invalid job name '%.*s': use letters, digits, '_', '-' and '.'",
			       shown, name);
			return -EINVAL;
		}
	return 0;
}
