/* A run's own resource limits (a job's limits setting), set in the child
 * between fork and exec: after PAM's session (so they have the last word
 * over limits.conf for what they name) and before the ids change (RLIMIT_NPROC
 * is checked against the new uid when setuid runs, and exec fails with EAGAIN
 * if the owner already has that many processes).
 *
 * They lower and never raise: a value above the hard limit the child has at
 * that point (jobd's own, then what PAM set) is cut to it. The child is still
 * root and could raise it, but a job's owner must not get past the limits
 * the administrator gave them in limits.conf by writing a setting. */
#include <errno.h>
#include <sys/resource.h>

#include "run.h"

int run_limits_apply(const RunLimit *v, int n)
{
	for (int i = 0; i < n; i++) {
		struct rlimit have, want;
		if (getrlimit(v[i].resource, &have) < 0)
			return -errno;
		rlim_t x = v[i].value == RUN_UNLIMITED ? RLIM_INFINITY : (rlim_t)v[i].value;
		if (have.rlim_max != RLIM_INFINITY && (x == RLIM_INFINITY || x > have.rlim_max))
			x = have.rlim_max;
		want.rlim_cur = want.rlim_max = x;
		if (setrlimit(v[i].resource, &want) < 0)
			return -errno;
	}
	return 0;
}
