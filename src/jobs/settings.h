/* Per-job settings as users write them: parsing, validation and canonical
 * text. Pure code, shared by the daemon and jobctl. */
#ifndef JOBD_SETTINGS_H
#define JOBD_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

enum { OVERLAP_SKIP = 0, OVERLAP_QUEUE, OVERLAP_REPLACE, OVERLAP_ALLOW };
enum { MISFIRE_SKIP = 0, MISFIRE_ONCE, MISFIRE_ALL };
enum { SETTING_ENV_MAX = 8192, SETTING_DIR_MAX = 1024, SETTING_LIMITS_MAX = 512 };

/* A job's resource limits (the limits setting), in the order the canonical
 * text lists them. */
enum { LIMIT_NPROC, LIMIT_NOFILE, LIMIT_AS, LIMIT_CPU, LIMIT_CORE, LIMIT_N };
#define LIMIT_UNLIMITED UINT64_MAX
typedef struct Limits {
	unsigned set;               /* bit i: limit i is given */
	uint64_t v[LIMIT_N];        /* its value (LIMIT_UNLIMITED: none) */
} Limits;

/* ---- settings.c ---- */
/* "90", "90s", "5m", "1h30m", "2d", "0" -> milliseconds (0 = none); at most 30 days.
 * Fractions are not accepted. -EINVAL with why. */
int duration_parse(const char *s, int64_t *ms, char *why, size_t n);
/* Canonical text: "0", "45s", "1h30m", "2d3h". */
void duration_format(int64_t ms, char *out, size_t n);
int overlap_parse(const char *s, int *v, char *why, size_t n);
const char *overlap_name(int v);
int misfire_parse(const char *s, int *v, char *why, size_t n);
const char *misfire_name(int v);
/* An absolute directory path (or empty: "/"), no NUL, no newline. */
int dir_valid(const char *s, char *why, size_t n);
/* KEY=value lines (an empty text is no variables); keys are [A-Za-z_][A-Za-z0-9_]*
 * and not JOBD_*; empty lines are ignored. Writes the canonical text (each line
 * ending in '\n') to out if out is not NULL; returns 0 or -EINVAL with why. */
int env_parse(const char *s, char **out, char *why, size_t n);
/* "nproc=64 nofile=1024 as=512M cpu=60 core=0": name=value pairs apart by
 * blanks, any order, each name once; a value is a whole number (as and core
 * in bytes, with an optional K, M, G or T of 1024s; cpu in seconds) or
 * "unlimited". An empty text is no limits. Fills out and, if canon is not
 * NULL, the canonical text (names in enum order, one space apart, "512M"),
 * malloc'ed; returns 0 or -EINVAL with why. */
int limits_parse(const char *s, Limits *out, char **canon, char *why, size_t n);
const char *limit_name(int i);
/* The RLIMIT_* resource that limit i sets. */
int limit_resource(int i);
/* A signal name or number: "TERM", "SIGTERM", "term", "15". */
int signal_parse(const char *s, int *sig, char *why, size_t n);
const char *signal_name(int sig);

#endif
