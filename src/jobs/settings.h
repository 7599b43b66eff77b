/* Per-job settings as users write them: parsing, validation and canonical
 * text. Pure code, shared by the daemon and jobctl.
 *
 * setting_tab is the one list of settings. A new setting is a SET_* here, a
 * row in setting_tab (name, parser, about), and, in the jobs layer, its
 * field in Job and its row in jobs.c's fields[] (and a column in the store).
 * The name space, `set`, `jobctl set` and `jobctl edit` take it from there. */
#ifndef JOBD_SETTINGS_H
#define JOBD_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

/* A job's settings, one row each in setting_tab: what the name space shows
 * as files (in this order), what `set` and `jobctl edit` take, and what
 * their messages list. */
enum { SET_SCHEDULE, SET_CMD, SET_TIMEOUT, SET_OVERLAP, SET_MISFIRE, SET_ORPHAN, SET_DIR, SET_ENV,
       SET_LIMITS, SET_N };
/* The values of overlap, misfire and orphan: indexes into their rows' words. */
enum { OVERLAP_SKIP = 0, OVERLAP_QUEUE, OVERLAP_REPLACE, OVERLAP_ALLOW };
enum { MISFIRE_SKIP = 0, MISFIRE_ONCE, MISFIRE_ALL };
enum { ORPHAN_LOST = 0, ORPHAN_RERUN };
enum {
	SETTING_SCHEDULE_MAX = 512, SETTING_ENV_MAX = 8192, SETTING_DIR_MAX = 1024,
	SETTING_LIMITS_MAX = 512,
};

/* What a value is made of, for jobctl: words joined by spaces (cmd,
 * limits), or lines (env: one KEY=value a word, a line each). */
enum { SETF_WORDS = 1, SETF_LINES = 2 };

typedef struct Setting Setting;
struct Setting {
	const char *name;           /* its file, its key in `set` and in `jobctl edit` */
	/* The text a user writes -> the canonical text (malloc'ed in *canon),
	 * or -EINVAL with why, which names the setting. */
	int (*parse)(const Setting *s, const char *value, char **canon, char *why, size_t n);
	const char *const *words;   /* a choice of words (NULL-ended), or NULL */
	int flags;                  /* SETF_* */
	const char *about;          /* what it is, for help texts */
};
extern const Setting setting_tab[SET_N];

/* A job's resource limits (the limits setting), in the order the canonical
 * text lists them. */
enum { LIMIT_NPROC, LIMIT_NOFILE, LIMIT_AS, LIMIT_CPU, LIMIT_CORE, LIMIT_N };
#define LIMIT_UNLIMITED UINT64_MAX
typedef struct Limits {
	unsigned set;               /* bit i: limit i is given */
	uint64_t v[LIMIT_N];        /* its value (LIMIT_UNLIMITED: none) */
} Limits;

/* ---- settings.c ---- */
/* SET_* of the setting called name[0..len), or -1. */
int setting_find(const char *name, size_t len);
/* setting_tab[i].parse; canon may be NULL (only checking). */
int setting_parse(int i, const char *value, char **canon, char *why, size_t n);
/* "schedule, cmd, ..., limits": every setting's name, for messages; returns buf. */
const char *setting_names(char *buf, size_t n);
/* Word v of setting i ("?" if none); the index of word w, or -1. */
const char *setting_word(int i, int v);
int setting_word_index(int i, const char *w);
/* A schedule's parts: an optional "TZ=Zone " (or "CRON_TZ=Zone ") first,
 * then the cron expression. *zone is the zone's name, *zlen bytes (0: none),
 * not NUL-terminated. -EINVAL with why for a malformed prefix. */
int schedule_split(const char *spec, const char **zone, size_t *zlen, const char **expr,
                   char *why, size_t n);
/* "90", "90s", "5m", "1h30m", "2d", "0" -> milliseconds (0 = none); at most 30 days.
 * Fractions are not accepted. -EINVAL with why. */
int duration_parse(const char *s, int64_t *ms, char *why, size_t n);
/* Canonical text: "0", "45s", "1h30m", "2d3h". */
void duration_format(int64_t ms, char *out, size_t n);
/* A measured duration, short and truncated, never more than two units:
 * "0ms", "850ms", "1.2s", "42s", "3m2s", "3m", "2h5m", "1d3h". */
void duration_short(int64_t ns, char *out, size_t n);
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
