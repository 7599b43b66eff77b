/* Per-job settings: durations, policies, env, limits, signals; job names. */
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>

#include "jobs/jobs.h"
#include "jobs/settings.h"
#include "unit.h"

static void test_durations(void)
{
	struct { const char *in; int64_t ms; const char *canon; } ok[] = {
		{ "0", 0, "0" }, { "90", 90000, "1m30s" }, { "90s", 90000, "1m30s" },
		{ "5m", 300000, "5m" }, { "1h30m", 5400000, "1h30m" }, { "2d", 172800000, "2d" },
		{ "1d2h3m4s", 93784000, "1d2h3m4s" }, { "3600", 3600000, "1h" }, { "0s", 0, "0" },
		{ "30d", 2592000000, "30d" },
	};
	char why[200], canon[64];
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		int64_t ms = -1;
		CHECKF(duration_parse(ok[i].in, &ms, why, sizeof why) == 0 && ms == ok[i].ms,
		       "'%s' -> %lld (%s)", ok[i].in, (long long)ms, why);
		duration_format(ms, canon, sizeof canon);
		CHECKF(strcmp(canon, ok[i].canon) == 0, "'%s' formats as '%s'", ok[i].in, canon);
	}
	const char *bad[] = { "", "-5", "5x", "1.5h", "m", "1h30", "30m1h", "5mm", "31d", " 5", "5 ",
	                      "99999999999999999999" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int64_t ms;
		CHECKF(duration_parse(bad[i], &ms, why, sizeof why) < 0, "accepted '%s'", bad[i]);
	}
}

/* A run's duration in the log: short, truncated, at most two units. */
static void test_duration_short(void)
{
	static const struct { int64_t ns; const char *text; } cases[] = {
		{ -5, "0ms" }, { 0, "0ms" }, { 999999, "0ms" }, { 4300000, "4ms" },
		{ 999999999, "999ms" }, { 1000000000, "1.0s" }, { 1260000000, "1.2s" },
		{ 9999999999, "9.9s" }, { 10000000000, "10s" }, { 59999999999, "59s" },
		{ 60000000000, "1m" }, { 182000000000, "3m2s" }, { 3599999999999, "59m59s" },
		{ 3600000000000, "1h" }, { 7500000000000, "2h5m" }, { 86400000000000, "1d" },
		{ 97200000000000, "1d3h" }, { 40LL * 86400 * 1000000000, "40d" },
	};
	char out[32];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		duration_short(cases[i].ns, out, sizeof out);
		CHECKF(strcmp(out, cases[i].text) == 0, "%lld ns: '%s', want '%s'",
		       (long long)cases[i].ns, out, cases[i].text);
	}
}

/* Job names: systemd's and Kubernetes' characters; the old names unchanged. */
static void test_names(void)
{
	static const char *const good[] = { "hello", "my-job", "db.backup", "a", "A_b-c.d",
	                                    "x.", "x-", "0day", "_x", "a..b" };
	static const struct { const char *name, *msg; } bad[] = {
		{ "", "job name is empty" },
		{ ".x", "invalid job name '.x': it may not start with '.'" },
		{ "..", "invalid job name '..': it may not start with '.'" },
		{ ".", "invalid job name '.': it may not start with '.'" },
		{ "-x", "invalid job name '-x': it may not start with '-'" },
		{ "a/b", "invalid job name 'a/b': use letters, digits, '_', '-' and '.'" },
		{ "a:b", "invalid job name 'a:b': use letters, digits, '_', '-' and '.'" },
		{ "a b", "invalid job name 'a b': use letters, digits, '_', '-' and '.'" },
		{ "caf\xc3\xa9", "invalid job name 'caf\xc3\xa9': use letters, digits, '_', '-' and '.'" },
	};
	char why[200];
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		CHECKF(job_name_valid(good[i], strlen(good[i]), why, sizeof why) == 0, "'%s': %s",
		       good[i], why);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why[0] = 0;
		int rc = job_name_valid(bad[i].name, strlen(bad[i].name), why, sizeof why);
		CHECKF(rc == -EINVAL && strcmp(why, bad[i].msg) == 0, "'%s': %d '%s'", bad[i].name,
		       rc, why);
	}
	char longest[JOB_NAME_MAX + 2];
	memset(longest, 'n', sizeof longest);
	CHECK(job_name_valid(longest, JOB_NAME_MAX, why, sizeof why) == 0);
	CHECK(job_name_valid(longest, JOB_NAME_MAX + 1, why, sizeof why) == -EINVAL &&
	      strcmp(why, "job name is longer than 128 bytes") == 0);
	/* Only len bytes count: a name inside a longer path. */
	CHECK(job_name_valid("ab/cd", 2, why, sizeof why) == 0);
}

/* setting_parse: value -> canonical text, or the reason, naming the setting. */
static void test_table(void)
{
	static const struct { int key; const char *in, *canon, *msg; } cases[] = {
		{ SET_OVERLAP, "skip", "skip", NULL },
		{ SET_OVERLAP, "Queue", "queue", NULL },
		{ SET_OVERLAP, "REPLACE", "replace", NULL },
		{ SET_OVERLAP, "allow", "allow", NULL },
		{ SET_OVERLAP, "sometimes", NULL, "overlap: 'sometimes' is not one of skip, queue, replace, allow" },
		{ SET_MISFIRE, "once", "once", NULL },
		{ SET_MISFIRE, "All", "all", NULL },
		{ SET_MISFIRE, "never", NULL, "misfire: 'never' is not one of skip, once, all" },
		{ SET_ORPHAN, "lost", "lost", NULL },
		{ SET_ORPHAN, "ReRun", "rerun", NULL },
		{ SET_ORPHAN, "twice", NULL, "orphan: 'twice' is not one of lost, rerun" },
		{ SET_ORPHAN, "", NULL, "orphan: '' is not one of lost, rerun" },
		{ SET_TIMEOUT, "90", "1m30s", NULL },
		{ SET_TIMEOUT, "0s", "0", NULL },
		{ SET_TIMEOUT, "soon", NULL, "timeout: 'soon' is not a duration" },
		{ SET_TIMEOUT, "31d", NULL, "timeout: '31d' is longer than 30 days" },
		{ SET_ENV, "A=1\nB_2=x=y\n\nC=\n", "A=1\nB_2=x=y\nC=\n", NULL },
		{ SET_ENV, "A=1\r\nB=2", "A=1\nB=2\n", NULL },
		{ SET_ENV, "", "", NULL },
		{ SET_ENV, "1A=x", NULL, "env: '1A=x' is not KEY=value" },
		{ SET_ENV, "A-B=x", NULL, "env: " },
		{ SET_ENV, "novalue", NULL, "env: " },
		{ SET_ENV, "=x", NULL, "env: " },
		{ SET_ENV, "JOBD_JOB=x", NULL, "env: JOBD_* variables are set by jobd" },
		{ SET_DIR, "", "", NULL },
		{ SET_DIR, "/tmp", "/tmp", NULL },
		{ SET_DIR, "tmp", NULL, "dir: 'tmp' is not an absolute path" },
		{ SET_DIR, "/a\nb", NULL, "dir: too long or contains a newline" },
		{ SET_SCHEDULE, " TZ=Europe/Paris 0 9 * * *", " TZ=Europe/Paris 0 9 * * *", NULL },
		{ SET_SCHEDULE, "TZ=Mars/Olympus @daily", "TZ=Mars/Olympus @daily", NULL },
		{ SET_SCHEDULE, "61 * * * *", NULL, "schedule: minute" },
		{ SET_SCHEDULE, "CRON_TZ=UTC", NULL, "schedule: time zone: want 'TZ=Area/City expression'" },
		{ SET_CMD, "echo  hi", "echo  hi", NULL },
		{ SET_CMD, "", NULL, "command is empty" },
		{ SET_LIMITS, "as=524288K nproc=64", "nproc=64 as=512M", NULL },
		{ SET_LIMITS, "files=1", NULL, "limits: unknown limit 'files'" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char why[256] = "", *canon = NULL;
		int rc = setting_parse(cases[i].key, cases[i].in, &canon, why, sizeof why);
		const char *name = setting_tab[cases[i].key].name;
		if (cases[i].canon)
			CHECKF(rc == 0 && canon && strcmp(canon, cases[i].canon) == 0,
			       "%s '%s' -> '%s' (%s)", name, cases[i].in, canon ? canon : "(null)", why);
		else
			CHECKF(rc == -EINVAL && !canon && strncmp(why, cases[i].msg, strlen(cases[i].msg)) == 0,
			       "%s '%s': got '%s', want '%s...'", name, cases[i].in, why, cases[i].msg);
		free(canon);
	}
	CHECK(setting_parse(SET_ENV, "A=1", NULL, NULL, 0) == 0);
	/* The rows: names found, words both ways. */
	for (int i = 0; i < SET_N; i++)
		CHECKF(setting_find(setting_tab[i].name, strlen(setting_tab[i].name)) == i, "%d", i);
	CHECK(setting_find("env", 3) == SET_ENV && setting_find("envx", 4) < 0 &&
	      setting_find("en", 2) < 0);
	char names[128];
	CHECK(strcmp(setting_names(names, sizeof names),
	             "schedule, cmd, timeout, overlap, misfire, orphan, dir, env, limits") == 0);
	CHECK(strcmp(setting_word(SET_OVERLAP, OVERLAP_ALLOW), "allow") == 0);
	CHECK(strcmp(setting_word(SET_MISFIRE, MISFIRE_SKIP), "skip") == 0);
	CHECK(strcmp(setting_word(SET_MISFIRE, 7), "?") == 0 && strcmp(setting_word(SET_DIR, 0), "?") == 0);
	CHECK(setting_word_index(SET_OVERLAP, "replace") == OVERLAP_REPLACE);
	CHECK(setting_word_index(SET_MISFIRE, "ALL") < 0 && setting_word_index(SET_ENV, "x") < 0);
	/* orphan's words are its values as stored: lost 0 (the default), rerun 1. */
	CHECK(strcmp(setting_word(SET_ORPHAN, ORPHAN_LOST), "lost") == 0 &&
	      strcmp(setting_word(SET_ORPHAN, ORPHAN_RERUN), "rerun") == 0);
	CHECK(setting_word_index(SET_ORPHAN, "rerun") == ORPHAN_RERUN &&
	      setting_word_index(SET_ORPHAN, "lost") == ORPHAN_LOST && ORPHAN_LOST == 0);
	CHECK(strstr(setting_tab[SET_ORPHAN].about, "cluster") != NULL);
}

static void test_limits(void)
{
	static const struct { const char *in, *canon; } ok[] = {
		{ "", "" },
		{ "  \n", "" },
		{ "nproc=64 nofile=1024 as=512M cpu=60 core=0", "nproc=64 nofile=1024 as=512M cpu=60 core=0" },
		{ "core=0 nproc=64", "nproc=64 core=0" },                 /* table order */
		{ "as=536870912", "as=512M" },                            /* canonical unit */
		{ "as=1048576k", "as=1G" },
		{ "as=1025K", "as=1025K" },
		{ "core=3T", "core=3T" },
		{ "as=1000", "as=1000" },
		{ "nofile=77\n", "nofile=77" },                          /* a trailing newline */
		{ "\tnproc=unlimited  cpu=UNLIMITED", "nproc=unlimited cpu=unlimited" },
		{ "nofile=0", "nofile=0" },
	};
	char why[200];
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		Limits l;
		char *canon = NULL;
		why[0] = 0;
		int rc = limits_parse(ok[i].in, &l, &canon, why, sizeof why);
		CHECKF(rc == 0 && canon && strcmp(canon, ok[i].canon) == 0, "'%s' -> %d '%s' (%s)",
		       ok[i].in, rc, canon ? canon : "(null)", why);
		/* The canonical text means the same. */
		Limits again;
		CHECKF(canon && limits_parse(canon, &again, NULL, why, sizeof why) == 0 &&
		       again.set == l.set && memcmp(again.v, l.v, sizeof l.v) == 0, "'%s' reparsed", canon);
		free(canon);
	}
	Limits l;
	CHECK(limits_parse("nproc=64 as=512M cpu=unlimited", &l, NULL, why, sizeof why) == 0);
	CHECK(l.set == (1u << LIMIT_NPROC | 1u << LIMIT_AS | 1u << LIMIT_CPU));
	CHECK(l.v[LIMIT_NPROC] == 64 && l.v[LIMIT_AS] == 512ULL << 20 && l.v[LIMIT_CPU] == LIMIT_UNLIMITED);
	CHECK(limits_parse("", &l, NULL, why, sizeof why) == 0 && l.set == 0);
	CHECK(limit_resource(LIMIT_NPROC) == RLIMIT_NPROC && limit_resource(LIMIT_NOFILE) == RLIMIT_NOFILE &&
	      limit_resource(LIMIT_AS) == RLIMIT_AS && limit_resource(LIMIT_CPU) == RLIMIT_CPU &&
	      limit_resource(LIMIT_CORE) == RLIMIT_CORE);
	CHECK(strcmp(limit_name(LIMIT_NOFILE), "nofile") == 0);

	static const struct { const char *in, *msg; } bad[] = {
		{ "foo=1", "limits: unknown limit 'foo' (known: nproc, nofile, as, cpu, core)" },
		{ "nproc=1 foo", "limits: unknown limit 'foo' (known: nproc, nofile, as, cpu, core)" },
		{ "=5", "limits: unknown limit '' (known: nproc, nofile, as, cpu, core)" },
		{ "NPROC=5", "limits: unknown limit 'NPROC'" },
		{ "nproc", "limits: 'nproc' wants a value: nproc=N or nproc=unlimited" },
		{ "nproc=", "limits: nproc=: want a whole number or unlimited" },
		{ "nofile=abc", "limits: nofile=abc: want a whole number or unlimited" },
		{ "nofile=10K", "limits: nofile=10K: want a whole number or unlimited" },  /* counts take no unit */
		{ "nproc=-1", "limits: nproc=-1: want a whole number" },
		{ "cpu=1m", "limits: cpu=1m: want a whole number of seconds or unlimited" },
		{ "as=5X", "limits: as=5X: want a size in bytes (e.g. 512M; K, M, G, T are 1024s) or unlimited" },
		{ "as=5MB", "limits: as=5MB: want a size in bytes" },
		{ "as=M", "limits: as=M: want a size" },
		{ "core=1.5G", "limits: core=1.5G: want a size" },
		{ "nproc=1 nproc=2", "limits: nproc is given twice" },
		{ "nproc=99999999999999999999", "limits: nproc=99999999999999999999 is too large (say unlimited)" },
		{ "as=9999999999T", "limits: as=9999999999T is too large (say unlimited)" },
		/* 2^64 + 1: wraps to 1 if the range is checked after multiplying. */
		{ "nproc=18446744073709551617", "limits: nproc=18446744073709551617 is too large" },
		{ "nofile=46116860184273879040", "limits: nofile=46116860184273879040 is too large" },
		{ "nproc=5,nofile=6", "limits: nproc=5,nofile=6: want a whole number" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *canon = NULL;
		why[0] = 0;
		CHECKF(limits_parse(bad[i].in, &l, &canon, why, sizeof why) < 0 && canon == NULL,
		       "accepted '%s'", bad[i].in);
		CHECKF(strncmp(why, bad[i].msg, strlen(bad[i].msg)) == 0, "'%s': got '%s', want '%s'",
		       bad[i].in, why, bad[i].msg);
	}
	char big[SETTING_LIMITS_MAX + 16];
	memset(big, ' ', sizeof big - 1);
	big[sizeof big - 1] = 0;
	CHECK(limits_parse(big, &l, NULL, why, sizeof why) < 0 && strstr(why, "more than 512 bytes"));
}

static void test_signals(void)
{
	char why[200];
	int s;
	CHECK(signal_parse("TERM", &s, why, sizeof why) == 0 && s == SIGTERM);
	CHECK(signal_parse("sigkill", &s, why, sizeof why) == 0 && s == SIGKILL);
	CHECK(signal_parse("SIGUSR1", &s, why, sizeof why) == 0 && s == SIGUSR1);
	CHECK(signal_parse("9", &s, why, sizeof why) == 0 && s == 9);
	CHECK(signal_parse("0", &s, why, sizeof why) < 0);
	CHECK(signal_parse("BOGUS", &s, why, sizeof why) < 0);
	CHECK(signal_parse("", &s, why, sizeof why) < 0);
	CHECK(strcmp(signal_name(SIGHUP), "HUP") == 0);
}

int main(void)
{
	unit_prog = "t_settings";
	unit_run("durations", test_durations);
	unit_run("duration_short", test_duration_short);
	unit_run("names", test_names);
	unit_run("table", test_table);
	unit_run("limits", test_limits);
	unit_run("signals", test_signals);
	return unit_done();
}
