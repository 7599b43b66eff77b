/* Per-job settings: durations, policies, env, signals. */
#include <signal.h>

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
	unit_run("signals", test_signals);
	return unit_done();
}
