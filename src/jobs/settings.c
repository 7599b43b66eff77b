#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#include "cron/cron.h"
#include "jobs/settings.h"
#include "util/util.h"

/* 30 days: above INT_MAX, so not an enum constant (C17 wants those in int). */
#define MAX_DURATION_MS (30LL * 24 * 3600 * 1000)

int duration_parse(const char *s, int64_t *ms, char *why, size_t n)
{
	static const struct { char unit; int64_t ms; } units[] = {
		{ 'd', 86400000 }, { 'h', 3600000 }, { 'm', 60000 }, { 's', 1000 },
	};
	int64_t total = 0;
	const char *p = s;
	int last = -1;              /* index of the previous unit: units must descend */
	if (!*p)
		goto bad;
	while (*p) {
		if (!isdigit((unsigned char)*p))
			goto bad;
		int64_t v = 0;
		while (isdigit((unsigned char)*p)) {
			v = v * 10 + (*p++ - '0');
			if (v > MAX_DURATION_MS)
				goto toolong;
		}
		int u = 3;              /* a bare number is seconds */
		if (*p) {
			for (u = 0; u < 4 && units[u].unit != *p; u++)
				;
			if (u == 4)
				goto bad;
			p++;
		} else if (last >= 0) {
			goto bad;           /* "1h30" is ambiguous */
		}
		if (u <= last)
			goto bad;
		last = u;
		total += v * units[u].ms;
		if (total > MAX_DURATION_MS)
			goto toolong;
	}
	*ms = total;
	return 0;
bad:
	strfmt(why, n, "'%s' is not a duration (want e.g. 90, 90s, 5m, 1h30m, 2d; 0 for none)", s);
	return -EINVAL;
toolong:
	strfmt(why, n, "'%s' is longer than 30 days", s);
	return -EINVAL;
}

void duration_format(int64_t ms, char *out, size_t n)
{
	if (ms <= 0) {
		strfmt(out, n, "0");
		return;
	}
	int64_t s = ms / 1000;
	int64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
	char buf[64] = "";
	size_t len = 0;
	if (d) len += (size_t)snprintf(buf + len, sizeof buf - len, "%lldd", (long long)d);
	if (h) len += (size_t)snprintf(buf + len, sizeof buf - len, "%lldh", (long long)h);
	if (m) len += (size_t)snprintf(buf + len, sizeof buf - len, "%lldm", (long long)m);
	if (sec || !len) snprintf(buf + len, sizeof buf - len, "%llds", (long long)sec);
	strfmt(out, n, "%s", buf);
}

/* Truncated, not rounded: 59.96 s is "59s", never "60s" (nor "1m0s"). The
 * larger unit leads; the smaller follows only when it is not zero. */
void duration_short(int64_t ns, char *out, size_t n)
{
	static const struct { int64_t s; char unit, sub; int64_t sub_s; } big[] = {
		{ 86400, 'd', 'h', 3600 }, { 3600, 'h', 'm', 60 }, { 60, 'm', 's', 1 },
	};
	if (ns < 0)
		ns = 0;
	int64_t ms = ns / 1000000, s = ns / 1000000000;
	if (ms < 1000) {
		strfmt(out, n, "%lldms", (long long)ms);
		return;
	}
	if (s < 10) {
		strfmt(out, n, "%lld.%llds", (long long)s, (long long)(ms % 1000 / 100));
		return;
	}
	for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
		if (s < big[i].s)
			continue;
		long long whole = (long long)(s / big[i].s);
		long long rest = (long long)(s % big[i].s / big[i].sub_s);
		if (rest)
			strfmt(out, n, "%lld%c%lld%c", whole, big[i].unit, rest, big[i].sub);
		else
			strfmt(out, n, "%lld%c", whole, big[i].unit);
		return;
	}
	strfmt(out, n, "%llds", (long long)s);
}

/* An absolute directory path (or empty: "/"), no NUL, no newline. */
static int dir_valid(const char *s, char *why, size_t n)
{
	if (!*s)
		return 0;
	if (s[0] != '/') {
		strfmt(why, n, "dir: '%.80s' is not an absolute path", s);
		return -EINVAL;
	}
	if (strlen(s) > SETTING_DIR_MAX || strchr(s, '\n')) {
		strfmt(why, n, "dir: too long or contains a newline");
		return -EINVAL;
	}
	return 0;
}

/* KEY=value lines (an empty text is no variables); keys are [A-Za-z_][A-Za-z0-9_]*
 * and not JOBD_*; empty lines are ignored. Writes the canonical text (each line
 * ending in '\n') to out if out is not NULL; returns 0 or -EINVAL with why. */
static int env_parse(const char *s, char **out, char *why, size_t n)
{
	if (strlen(s) > SETTING_ENV_MAX) {
		strfmt(why, n, "env: more than %d bytes", SETTING_ENV_MAX);
		return -EINVAL;
	}
	Buf b = {0};
	const char *p = s;
	while (*p) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len && p[len - 1] == '\r')
			len--;
		if (len) {
			const char *eq = memchr(p, '=', len);
			int ok = eq && eq != p && (isalpha((unsigned char)p[0]) || p[0] == '_');
			for (const char *k = p; ok && k < eq; k++)
				ok = isalnum((unsigned char)*k) || *k == '_';
			if (!ok) {
				strfmt(why, n, "env: '%.*s' is not KEY=value (KEY: letters, digits, _)",
				       (int)(len > 60 ? 60 : len), p);
				buf_free(&b);
				return -EINVAL;
			}
			if (eq - p >= 5 && strncmp(p, "JOBD_", 5) == 0) {
				strfmt(why, n, "env: JOBD_* variables are set by jobd");
				buf_free(&b);
				return -EINVAL;
			}
			buf_add(&b, p, len);
			buf_add(&b, "\n", 1);
		}
		p += e ? (size_t)(e - p) + 1 : strlen(p);
	}
	if (out)
		*out = b.data ? b.data : xstrdup("");
	else
		buf_free(&b);
	return 0;
}

/* The limits a job may set, for what PAM's limits.conf does not cover per job.
 * bytes: the value takes K, M, G, T suffixes and is written back with one. */
static const struct { const char *name; int resource; int bytes; } limits[LIMIT_N] = {
	[LIMIT_NPROC] = { "nproc", RLIMIT_NPROC, 0 },
	[LIMIT_NOFILE] = { "nofile", RLIMIT_NOFILE, 0 },
	[LIMIT_AS] = { "as", RLIMIT_AS, 1 },
	[LIMIT_CPU] = { "cpu", RLIMIT_CPU, 0 },
	[LIMIT_CORE] = { "core", RLIMIT_CORE, 1 },
};
static const char limits_known[] = "known: nproc, nofile, as, cpu, core";
static const uint64_t LIMIT_VALUE_MAX = 1ULL << 62;  /* above: say "unlimited" */

const char *limit_name(int i) { return i >= 0 && i < LIMIT_N ? limits[i].name : "?"; }
int limit_resource(int i) { return i >= 0 && i < LIMIT_N ? limits[i].resource : -1; }

/* One value of limit i: p[0..len). */
static int limit_value(int i, const char *p, size_t len, uint64_t *v)
{
	if (len == 9 && strncasecmp(p, "unlimited", 9) == 0) {
		*v = LIMIT_UNLIMITED;
		return 0;
	}
	uint64_t x = 0, unit = 1;
	size_t k = 0;
	for (; k < len && isdigit((unsigned char)p[k]); k++) {
		uint64_t d = (uint64_t)(p[k] - '0');
		if (x > (LIMIT_VALUE_MAX - d) / 10)   /* before it can wrap */
			return -ERANGE;
		x = x * 10 + d;
	}
	if (k == 0)
		return -EINVAL;
	if (k < len && limits[i].bytes && k + 1 == len) {
		const char *u = strchr("KMGT", toupper((unsigned char)p[k]));
		if (!u || !*u)
			return -EINVAL;
		unit = 1ULL << (10 * (u - "KMGT" + 1));
		k++;
	}
	if (k != len)
		return -EINVAL;
	if (x > LIMIT_VALUE_MAX / unit)
		return -ERANGE;
	*v = x * unit;
	return 0;
}

static void limit_format(Buf *b, int i, uint64_t v)
{
	static const char suffix[] = "KMGT";
	if (v == LIMIT_UNLIMITED) {
		buf_printf(b, "%s=unlimited", limits[i].name);
		return;
	}
	int s = 0;
	while (limits[i].bytes && s < 4 && v != 0 && v % 1024 == 0) {
		v /= 1024;
		s++;
	}
	if (s)
		buf_printf(b, "%s=%llu%c", limits[i].name, (unsigned long long)v, suffix[s - 1]);
	else
		buf_printf(b, "%s=%llu", limits[i].name, (unsigned long long)v);
}

int limits_parse(const char *s, Limits *out, char **canon, char *why, size_t n)
{
	static const char blanks[] = " \t\r\n";
	Limits l = {0};
	if (strlen(s) > SETTING_LIMITS_MAX) {
		strfmt(why, n, "limits: more than %d bytes", SETTING_LIMITS_MAX);
		return -EINVAL;
	}
	for (const char *p = s + strspn(s, blanks); *p; p += strspn(p, blanks)) {
		size_t len = strcspn(p, blanks);
		const char *eq = memchr(p, '=', len);
		size_t klen = eq ? (size_t)(eq - p) : len;
		int i = 0;
		while (i < LIMIT_N && !(strlen(limits[i].name) == klen && strncmp(p, limits[i].name, klen) == 0))
			i++;
		if (i == LIMIT_N) {
			strfmt(why, n, "limits: unknown limit '%.*s' (%s)", (int)(klen > 40 ? 40 : klen), p,
			       limits_known);
			return -EINVAL;
		}
		if (!eq) {
			strfmt(why, n, "limits: '%s' wants a value: %s=N or %s=unlimited", limits[i].name,
			       limits[i].name, limits[i].name);
			return -EINVAL;
		}
		if (l.set & 1u << i) {
			strfmt(why, n, "limits: %s is given twice", limits[i].name);
			return -EINVAL;
		}
		const char *val = eq + 1;
		size_t vlen = len - klen - 1;
		int rc = limit_value(i, val, vlen, &l.v[i]);
		if (rc == -ERANGE) {
			strfmt(why, n, "limits: %s=%.*s is too large (say unlimited)", limits[i].name,
			       (int)(vlen > 40 ? 40 : vlen), val);
			return -EINVAL;
		}
		if (rc < 0) {
			strfmt(why, n, "limits: %s=%.*s: want %s or unlimited", limits[i].name,
			       (int)(vlen > 40 ? 40 : vlen), val,
			       limits[i].bytes ? "a size in bytes (e.g. 512M; K, M, G, T are 1024s)"
			       : i == LIMIT_CPU ? "a whole number of seconds" : "a whole number");
			return -EINVAL;
		}
		l.set |= 1u << i;
		p += len;
	}
	if (canon) {
		Buf b = {0};
		for (int i = 0; i < LIMIT_N; i++)
			if (l.set & 1u << i) {
				if (b.len)
					buf_add(&b, " ", 1);
				limit_format(&b, i, l.v[i]);
			}
		*canon = b.data ? b.data : xstrdup("");
	}
	if (out)
		*out = l;
	return 0;
}

static const struct { const char *name; int sig; } signals[] = {
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "KILL", SIGKILL },
	{ "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "TERM", SIGTERM }, { "CONT", SIGCONT },
	{ "STOP", SIGSTOP }, { "ALRM", SIGALRM }, { "ABRT", SIGABRT }, { "PIPE", SIGPIPE },
	{ "TSTP", SIGTSTP }, { "WINCH", SIGWINCH }, { "SEGV", SIGSEGV },
};

int signal_parse(const char *s, int *sig, char *why, size_t n)
{
	const char *p = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
	char *end;
	long v = strtol(p, &end, 10);
	if (*p && !*end) {
		if (v >= 1 && v < 65) {
			*sig = (int)v;
			return 0;
		}
	} else {
		for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
			if (strcasecmp(p, signals[i].name) == 0) {
				*sig = signals[i].sig;
				return 0;
			}
	}
	strfmt(why, n, "'%.20s' is not a signal (e.g. TERM, KILL, HUP, USR1, 9)", s);
	return -EINVAL;
}

const char *signal_name(int sig)
{
	for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
		if (signals[i].sig == sig)
			return signals[i].name;
	static char buf[16];   /* one loop thread; the name is used at once */
	snprintf(buf, sizeof buf, "%d", sig);
	return buf;
}

/* ---- the table ---- */

int schedule_split(const char *spec, const char **zone, size_t *zlen, const char **expr,
                   char *why, size_t n)
{
	const char *p = spec + strspn(spec, " \t");
	size_t plen = strncmp(p, "TZ=", 3) == 0 ? 3 : strncmp(p, "CRON_TZ=", 8) == 0 ? 8 : 0;
	*zone = p + plen;
	*zlen = 0;
	if (plen) {
		*zlen = strcspn(*zone, " \t");
		if (*zlen == 0 || *zlen > 127 || !(*zone)[*zlen]) {
			strfmt(why, n, "time zone: want 'TZ=Area/City expression'");
			return -EINVAL;
		}
		p = *zone + *zlen;
	}
	*expr = p;
	return 0;
}

/* The expression is checked here, the zone by jobd (jobs_parse_schedule):
 * its time zone database may differ from this machine's. */
static int schedule_canon(const Setting *s, const char *v, char **canon, char *why, size_t n)
{
	const char *zone, *expr;
	size_t zlen;
	char sub[256];
	Cron c;
	if (strlen(v) > SETTING_SCHEDULE_MAX) {
		strfmt(why, n, "%s is longer than %d bytes", s->name, SETTING_SCHEDULE_MAX);
		return -EINVAL;
	}
	if (schedule_split(v, &zone, &zlen, &expr, sub, sizeof sub) < 0 ||
	    cron_parse(expr, &c, sub, sizeof sub) < 0) {
		strfmt(why, n, "%s: %s", s->name, sub);
		return -EINVAL;
	}
	*canon = xstrdup(v);
	return 0;
}

/* Its length is jobd's to limit (JobsConfig.max_cmd). */
static int cmd_canon(const Setting *s, const char *v, char **canon, char *why, size_t n)
{
	(void)s;
	if (!*v) {
		strfmt(why, n, "command is empty");
		return -EINVAL;
	}
	*canon = xstrdup(v);
	return 0;
}

static int duration_canon(const Setting *s, const char *v, char **canon, char *why, size_t n)
{
	int64_t ms;
	char sub[200], d[32];
	if (duration_parse(v, &ms, sub, sizeof sub) < 0) {
		strfmt(why, n, "%s: %s", s->name, sub);
		return -EINVAL;
	}
	duration_format(ms, d, sizeof d);
	*canon = xstrdup(d);
	return 0;
}

/* One of the row's words, in any case; canonical in lower case. */
static int word_canon(const Setting *s, const char *v, char **canon, char *why, size_t n)
{
	for (int i = 0; s->words[i]; i++)
		if (strcasecmp(v, s->words[i]) == 0) {
			*canon = xstrdup(s->words[i]);
			return 0;
		}
	Buf b = {0};
	for (int i = 0; s->words[i]; i++)
		buf_printf(&b, "%s%s", i ? ", " : "", s->words[i]);
	strfmt(why, n, "%s: '%.40s' is not one of %s", s->name, v, b.data);
	buf_free(&b);
	return -EINVAL;
}

static int dir_canon(const Setting *s, const char *v, char **canon, char *why, size_t n)
{
	(void)s;
	if (dir_valid(v, why, n) < 0)
		return -EINVAL;
	*canon = xstrdup(v);
	return 0;
}

static int env_canon(const Setting *s, const char *v, char **canon, char *why, size_t n)
{
	(void)s;
	return env_parse(v, canon, why, n);
}

static int limits_canon(const Setting *s, const char *v, char **canon, char *why, size_t n)
{
	(void)s;
	return limits_parse(v, NULL, canon, why, n);
}

static const char *const overlap_words[] = { "skip", "queue", "replace", "allow", NULL };
static const char *const misfire_words[] = { "skip", "once", "all", NULL };
static const char *const orphan_words[] = { "lost", "rerun", NULL };

const Setting setting_tab[SET_N] = {
	[SET_SCHEDULE] = { "schedule", schedule_canon, NULL, 0,
	                   "when it runs: a cron expression, TZ=Area/City first for a zone" },
	[SET_CMD] = { "cmd", cmd_canon, NULL, SETF_WORDS, "what it runs, with /bin/sh -c" },
	[SET_TIMEOUT] = { "timeout", duration_canon, NULL, 0,
	                  "how long a run may last: 90, 5m, 1h30m, 2d; 0 for no limit" },
	[SET_OVERLAP] = { "overlap", word_canon, overlap_words, 0,
	                  "what a fire does while a run is going" },
	[SET_MISFIRE] = { "misfire", word_canon, misfire_words, 0,
	                  "what to run for times missed while jobd was down" },
	/* Only a cluster has another node to run a dead node's fire: a single
	 * jobd keeps the setting and shows it, and its runs are interrupted. */
	[SET_ORPHAN] = { "orphan", word_canon, orphan_words, 0,
	                 "a run whose node died: lost, or rerun once (used in cluster mode)" },
	[SET_DIR] = { "dir", dir_canon, NULL, 0, "the run's working directory: an absolute path" },
	[SET_ENV] = { "env", env_canon, NULL, SETF_LINES, "KEY=value lines added to the run's environment" },
	[SET_LIMITS] = { "limits", limits_canon, NULL, SETF_WORDS,
	                 "resource limits, e.g. nproc=64 nofile=1024 as=512M cpu=60 core=0" },
};

int setting_find(const char *name, size_t len)
{
	for (int i = 0; i < SET_N; i++)
		if (strlen(setting_tab[i].name) == len && memcmp(setting_tab[i].name, name, len) == 0)
			return i;
	return -1;
}

int setting_parse(int i, const char *value, char **canon, char *why, size_t n)
{
	char *c = NULL;
	int rc = setting_tab[i].parse(&setting_tab[i], value, &c, why, n);
	if (rc == 0 && canon)
		*canon = c;
	else
		free(c);
	return rc;
}

const char *setting_names(char *buf, size_t n)
{
	size_t len = 0;
	buf[0] = 0;
	for (int i = 0; i < SET_N && len < n; i++)
		len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? ", " : "", setting_tab[i].name);
	return buf;
}

const char *setting_word(int i, int v)
{
	const char *const *w = setting_tab[i].words;
	for (int k = 0; w && w[k]; k++)
		if (k == v)
			return w[k];
	return "?";
}

int setting_word_index(int i, const char *word)
{
	const char *const *w = setting_tab[i].words;
	for (int k = 0; w && w[k]; k++)
		if (strcmp(w[k], word) == 0)
			return k;
	return -1;
}
