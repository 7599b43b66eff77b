#include <errno.h>

#include "jobs.h"

int job_name_valid(const char *name, size_t len, char *why, size_t n)
{
	if (len == 0) {
		strfmt(why, n, "job name is empty");
		return -EINVAL;
	}
	if (len > JOB_NAME_MAX) {
		strfmt(why, n, "job name is longer than %d bytes", JOB_NAME_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
			strfmt(why, n, "invalid job name '%.*s': use letters, digits and '_'",
			       (int)(len > 64 ? 64 : len), name);
			return -EINVAL;
		}
	}
	return 0;
}
