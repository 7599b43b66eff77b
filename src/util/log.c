/* glog-compatible logging. One process-wide logger: logging is the one piece of
 * state every layer may touch, and glog's flags are process-wide too. */
#include <errno.h>
#include <execinfo.h>
#include <fnmatch.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

enum { MAX_VMODULE = 32 };

static struct {
	LogConfig c;
	FILE *file;
	struct { char pat[64]; int level; } vmod[MAX_VMODULE];
	int nvmod;
	char bt_file[128];
	int bt_line;
} L = { .c = { .stderrthreshold = LOG_INFO } };

static const char sevchar[] = "IWEF";
static const char *sevname[] = { "INFO", "WARNING", "ERROR", "FATAL" };

static const char *base(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static int parse_vmodule(const char *spec, char *why, size_t n)
{
	L.nvmod = 0;
	if (!spec || !*spec)
		return 0;
	char *copy = xstrdup(spec), *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		char *end;
		long lv = eq ? strtol(eq + 1, &end, 10) : 0;
		if (!eq || eq == tok || *end || end == eq + 1 || lv < 0 || lv > INT_MAX ||
		    (size_t)(eq - tok) >= sizeof L.vmod[0].pat || L.nvmod == MAX_VMODULE) {
			strfmt(why, n, "-vmodule: bad entry '%s' (want pattern=N)", tok);
			free(copy);
			return -EINVAL;
		}
		memcpy(L.vmod[L.nvmod].pat, tok, (size_t)(eq - tok));
		L.vmod[L.nvmod].pat[eq - tok] = 0;
		L.vmod[L.nvmod].level = (int)lv;
		L.nvmod++;
	}
	free(copy);
	return 0;
}

int log_init(const LogConfig *c, const char *prog, char *why, size_t n)
{
	L.c = *c;
	if (L.c.stderrthreshold < LOG_INFO || L.c.stderrthreshold > LOG_FATAL) {
		strfmt(why, n, "-stderrthreshold: %d is not a severity (0 INFO .. 3 FATAL)", L.c.stderrthreshold);
		return -EINVAL;
	}
	if (parse_vmodule(c->vmodule, why, n) < 0)
		return -EINVAL;
	L.bt_line = 0;
	if (c->backtrace_at && *c->backtrace_at && strcmp(c->backtrace_at, ":0") != 0) {
		const char *colon = strrchr(c->backtrace_at, ':');
		char *end;
		long ln = colon ? strtol(colon + 1, &end, 10) : 0;
		if (!colon || colon == c->backtrace_at || *end || ln <= 0 || ln > INT_MAX ||
		    (size_t)(colon - c->backtrace_at) >= sizeof L.bt_file) {
			strfmt(why, n, "-log_backtrace_at: '%s' is not file:N", c->backtrace_at);
			return -EINVAL;
		}
		memcpy(L.bt_file, c->backtrace_at, (size_t)(colon - c->backtrace_at));
		L.bt_file[colon - c->backtrace_at] = 0;
		L.bt_line = (int)ln;
	}
	if (!c->tostderr && c->dir && *c->dir) {
		/* glog's naming: prog.host.user.log.INFO.yyyymmdd-hhmmss.pid, plus a
		 * prog.INFO symlink to the newest. One file holds every severity. */
		char host[64] = "localhost", path[PATH_MAX], link[PATH_MAX], stamp[32];
		gethostname(host, sizeof host - 1);
		struct passwd *pw = getpwuid(getuid());
		time_t now = time(NULL);
		struct tm tm;
		localtime_r(&now, &tm);
		strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
		snprintf(path, sizeof path, "%s/%s.%s.%s.log.INFO.%s.%d", c->dir, prog, host,
		         pw ? pw->pw_name : "unknown", stamp, (int)getpid());
		L.file = fopen(path, "ae");
		if (!L.file) {
			strfmt(why, n, "-log_dir: cannot create %s: %s", path, strerror(errno));
			return -errno;
		}
		snprintf(link, sizeof link, "%s/%s.INFO", c->dir, prog);
		unlink(link);
		if (symlink(base(path), link) < 0) { /* a missing convenience link is not fatal */ }
	}
	return 0;
}

void log_fini(void)
{
	if (L.file)
		fclose(L.file);
	L.file = NULL;
}

int log_v_on(int level, const char *file)
{
	if (L.nvmod) {
		char name[128];
		const char *b = base(file);
		size_t len = strcspn(b, ".");
		if (len >= sizeof name)
			len = sizeof name - 1;
		memcpy(name, b, len);
		name[len] = 0;
		for (int i = 0; i < L.nvmod; i++)
			if (fnmatch(L.vmod[i].pat, name, 0) == 0)
				return level <= L.vmod[i].level;
	}
	return level <= L.c.v;
}

void log_msg(int sev, const char *file, int line, const char *fmt, ...)
{
	char msg[2048], head[96];
	struct timeval tv;
	struct tm tm;
	va_list ap;

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	snprintf(head, sizeof head, "%c%02d%02d %02d:%02d:%02d.%06ld %d %s:%d] ",
	         sevchar[sev], tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	         (long)tv.tv_usec, (int)getpid(), base(file), line);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);

	int to_file = L.file != NULL;
	int to_err = L.c.tostderr || L.c.alsotostderr || !to_file || sev >= L.c.stderrthreshold;
	if (!L.c.tostderr && !L.c.alsotostderr && to_file && sev < L.c.stderrthreshold)
		to_err = 0;
	if (!to_file && !L.c.tostderr && !L.c.alsotostderr && sev < L.c.stderrthreshold)
		to_err = 0;
	if (to_err)
		fprintf(stderr, "%s%s\n", head, msg);
	if (to_file) {
		fprintf(L.file, "%s%s\n", head, msg);
		fflush(L.file);
	}
	if (L.bt_line == line && strcmp(L.bt_file, base(file)) == 0) {
		void *frames[32];
		int nf = backtrace(frames, 32);
		backtrace_symbols_fd(frames, nf, STDERR_FILENO);
	}
	if (sev == LOG_FATAL) {
		fprintf(stderr, "%s: fatal (%s)\n", sevname[sev], msg);
		exit(1);
	}
}
