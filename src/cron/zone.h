/* Time zones without the C library's global state: IANA zones read from TZif
 * files (RFC 8536, versions 1 to 3, footer POSIX TZ rules included), the
 * daemon's local zone, wall-clock breakdown and the two time formats jobd
 * prints. Many zones can be loaded and used at once; a Zone is immutable once
 * loaded, so any number of callers may share it.
 *
 * Instants are unix seconds (int64_t). Offsets are seconds east of UTC. */
#ifndef JOBD_CRON_ZONE_H
#define JOBD_CRON_ZONE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct Zone Zone;

/* ---- zone.c ---- */

/* Loads a zone. `name` is an IANA name ("Europe/Paris", "UTC", "EST5EDT") looked up
 * under $TZDIR or /usr/share/zoneinfo; names that are absolute, contain "..",
 * empty components or characters outside [A-Za-z0-9/_+-.] are refused.
 * NULL, "" or "Local" mean the daemon's local zone: $TZ if set (":Area/City",
 * "Area/City", ":/path/file", or a POSIX TZ string such as "CET-1CEST,M3.5.0,M10.5.0/3";
 * an empty $TZ is UTC), else /etc/localtime, else UTC. An unusable $TZ is an error.
 * Returns NULL with the reason in `why` for an unknown zone or a corrupt file.
 * The caller owns the result (zone_free). */
Zone *zone_load(const char *name, char *why, size_t n);
void zone_free(Zone *z);

/* The name the zone was loaded by ("Europe/Paris"), "Local" for the local zone. */
const char *zone_name(const Zone *z);

/* UTC offset (seconds east) in force at instant t; *abbr (if abbr is not NULL)
 * gets its abbreviation ("CST"), owned by z. */
int zone_offset(const Zone *z, int64_t t, const char **abbr);

/* Wall-clock breakdown of instant t in z, like localtime_r but pure: tm_year ..
 * tm_yday, tm_isdst, tm_gmtoff; tm_zone points into z. Instants beyond about
 * a billion years either way are clamped. */
void zone_civil(const Zone *z, int64_t t, struct tm *out);

/* Formats instant (sec, nsec) like Go's time.Time.String() did in the original
 * jobd: "2014-02-11 09:42:33.454707331 -0600 CST" — fraction with trailing zeros
 * trimmed, omitted when nsec is 0, negative or with_frac is 0. Returns the length
 * of the whole text, like snprintf; out is always terminated when n > 0. */
size_t zone_format_go(const Zone *z, int64_t sec, long nsec, int with_frac, char *out, size_t n);
/* RFC 3339 with a numeric offset, never "Z": "2021-03-14T03:00:00-04:00",
 * "...+00:00" for UTC. Returns like zone_format_go. */
size_t zone_format_rfc3339(const Zone *z, int64_t sec, char *out, size_t n);

/* Parses RFC 3339 ("2021-03-14T03:00:00-04:00", "...Z", optional fraction of up to
 * nine digits; 't' and 'z' accepted) into unix seconds and nanoseconds.
 * Returns 0 or -EINVAL. */
int time_parse_rfc3339(const char *s, int64_t *sec, long *nsec);

#endif
