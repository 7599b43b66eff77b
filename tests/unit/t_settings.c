/* Per-job settings: durations, policies, env, limits, signals. */
#include <signal.h>
#include <sys/resource.h>

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

static void test_policies(void)
{
	char why[200];
	int v;
	CHECK(overlap_parse("skip", &v, why, sizeof why) == 0 && v == OVERLAP_SKIP);
	CHECK(overlap_parse("Queue", &v, why, sizeof why) == 0 && v == OVERLAP_QUEUE);
	CHECK(overlap_parse("replace", &v, why, sizeof why) == 0 && v == OVERLAP_REPLACE);
	CHECK(overlap_parse("allow", &v, why, sizeof why) == 0 && v == OVERLAP_ALLOW);
	CHECK(overlap_parse("sometimes", &v, why, sizeof why) < 0 && strstr(why, "skip, queue"));
	CHECK(misfire_parse("once", &v, why, sizeof why) == 0 && v == MISFIRE_ONCE);
	CHECK(misfire_parse("all", &v, why, sizeof why) == 0 && v == MISFIRE_ALL);
	CHECK(misfire_parse("never", &v, why, sizeof why) < 0);
	CHECK(strcmp(overlap_name(OVERLAP_ALLOW), "allow") == 0);
	CHECK(strcmp(misfire_name(MISFIRE_SKIP), "skip") == 0);
}

static void test_env_dir(void)
{
	char why[200], *out = NULL;
	CHECK(env_parse("A=1\nB_2=x=y\n\nC=\n", &out, why, sizeof why) == 0);
	CHECK(out && strcmp(out, "A=1\nB_2=x=y\nC=\n") == 0);
	free(out);
	CHECK(env_parse("", &out, why, sizeof why) == 0 && strcmp(out, "") == 0);
	free(out);
	CHECK(env_parse("1A=x", NULL, why, sizeof why) < 0);
	CHECK(env_parse("A-B=x", NULL, why, sizeof why) < 0);
	CHECK(env_parse("novalue", NULL, why, sizeof why) < 0);
	CHECK(env_parse("=x", NULL, why, sizeof why) < 0);
	CHECK(env_parse("JOBD_JOB=x", NULL, why, sizeof why) < 0);
	CHECK(dir_valid("", why, sizeof why) == 0);
	CHECK(dir_valid("/tmp", why, sizeof why) == 0);
	CHECK(dir_valid("tmp", why, sizeof why) < 0);
	CHECK(dir_valid("/a\nb", why, sizeof why) < 0);
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
	unit_run("policies", test_policies);
	unit_run("env-dir", test_env_dir);
	unit_run("limits", test_limits);
	unit_run("signals", test_signals);
	return unit_done();
}
