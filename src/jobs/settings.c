#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jobs/settings.h"
#include "util/util.h"

enum { MAX_DURATION_MS = 30LL * 24 * 3600 * 1000 };

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

static const char *const overlaps[] = { "skip", "queue", "replace", "allow" };
static const char *const misfires[] = { "skip", "once", "all" };

static int pick(const char *s, const char *const *names, int count, int *v)
{
	for (int i = 0; i < count; i++)
		if (strcasecmp(s, names[i]) == 0) {
			*v = i;
			return 0;
		}
	return -EINVAL;
}

int overlap_parse(const char *s, int *v, char *why, size_t n)
{
	if (pick(s, overlaps, 4, v) == 0)
		return 0;
	strfmt(why, n, "overlap: '%.40s' is not one of skip, queue, replace, allow", s);
	return -EINVAL;
}

const char *overlap_name(int v) { return v >= 0 && v < 4 ? overlaps[v] : "?"; }

int misfire_parse(const char *s, int *v, char *why, size_t n)
{
	if (pick(s, misfires, 3, v) == 0)
		return 0;
	strfmt(why, n, "misfire: '%.40s' is not one of skip, once, all", s);
	return -EINVAL;
}

const char *misfire_name(int v) { return v >= 0 && v < 3 ? misfires[v] : "?"; }

int dir_valid(const char *s, char *why, size_t n)
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

int env_parse(const char *s, char **out, char *why, size_t n)
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
