/* A job's schedule as users write it: "[TZ=Zone ]expression". The zone
 * prefix is the syntax cronie uses (CRON_TZ=) shortened; both are accepted. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jobs_int.h"

const Zone *zonecache_get(ZoneCache *zc, const char *name, char *why, size_t n)
{
	for (size_t i = 0; i < zc->n; i++)
		if (strcmp(zone_name(zc->v[i]), name) == 0)
			return zc->v[i];
	Zone *z = zone_load(name, why, n);
	if (!z)
		return NULL;
	if (zc->n == zc->cap) {
		zc->cap = zc->cap ? zc->cap * 2 : 8;
		zc->v = xrealloc(zc->v, zc->cap * sizeof *zc->v);
	}
	zc->v[zc->n++] = z;
	return z;
}

void zonecache_free(ZoneCache *zc)
{
	for (size_t i = 0; i < zc->n; i++)
		zone_free(zc->v[i]);
	free(zc->v);
	zc->v = NULL;
	zc->n = zc->cap = 0;
}

int jobs_parse_schedule(Jobs *js, const char *spec, Cron *c, const Zone **zone, char *why, size_t n)
{
	const char *name, *expr;
	size_t len;
	*zone = NULL;
	if (schedule_split(spec, &name, &len, &expr, why, n) < 0)
		return -EINVAL;
	if (len) {
		char zname[128], zwhy[256];
		strfmt(zname, sizeof zname, "%.*s", (int)len, name);
		const Zone *z = zonecache_get(jobs_zonecache(js), zname, zwhy, sizeof zwhy);
		if (!z) {
			strfmt(why, n, "time zone: unknown zone '%s' (%s)", zname, zwhy);
			return -EINVAL;
		}
		*zone = z;
	}
	return cron_parse(expr, c, why, n);
}
