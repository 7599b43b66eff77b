/* jobctl's pure helpers: the edit text (render, parse, check), status
 * fields, column output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "unit.h"

static void set(Settings *s, int k, const char *v)
{
	free(s->v[k]);
	s->v[k] = v ? xstrdup(v) : NULL;
}

static void test_roundtrip(void)
{
	Settings a = {0}, b;
	set(&a, SET_SCHEDULE, "TZ=Europe/Paris 0 9 * * 1-5");
	set(&a, SET_CMD, "echo a:b  c");
	set(&a, SET_TIMEOUT, "1h30m");
	set(&a, SET_OVERLAP, "skip");
	set(&a, SET_MISFIRE, "once");
	set(&a, SET_DIR, "");
	set(&a, SET_ENV, "A=1\nB=two words");
	Buf t = {0};
	settings_render(&a, "job", &t);
	char why[256] = "";
	CHECKF(settings_parse(t.data, &b, why, sizeof why) == 0, "%s", why);
	for (int i = 0; i < SET_N; i++)
		CHECKF(b.v[i] && !strcmp(a.v[i], b.v[i]), "%s: '%s' came back '%s'", settings_names[i],
		       a.v[i], b.v[i] ? b.v[i] : "(null)");
	CHECK(strstr(t.data, "\nenv:\n  A=1\n  B=two words\n") != NULL);
	CHECK(strstr(t.data, "\ndir:\n") != NULL);
	settings_free(&b);

	/* A command of several lines keeps its own indentation. */
	set(&a, SET_CMD, "for i in 1 2; do\n  echo $i\ndone");
	buf_free(&t);
	settings_render(&a, "job", &t);
	CHECK(settings_parse(t.data, &b, why, sizeof why) == 0);
	CHECKF(b.v[SET_CMD] && !strcmp(b.v[SET_CMD], a.v[SET_CMD]), "cmd came back '%s'",
	       b.v[SET_CMD] ? b.v[SET_CMD] : "(null)");
	settings_free(&b);
	settings_free(&a);
	buf_free(&t);
}

static void test_parse(void)
{
	Settings s;
	char why[256] = "";
	const char *text = "# comment\r\n\nschedule:   @daily  \r\ntimeout :5m\nenv:\n\tX=1\n\n\tY=2\n"
	                   "# a comment ends the block\ncmd:\n";
	CHECKF(settings_parse(text, &s, why, sizeof why) == 0, "%s", why);
	CHECK(s.v[SET_SCHEDULE] && !strcmp(s.v[SET_SCHEDULE], "@daily  "));
	CHECK(s.v[SET_TIMEOUT] && !strcmp(s.v[SET_TIMEOUT], "5m"));
	CHECK(s.v[SET_ENV] && !strcmp(s.v[SET_ENV], "X=1\nY=2"));
	CHECK(s.v[SET_CMD] && !strcmp(s.v[SET_CMD], ""));
	CHECK(!s.v[SET_OVERLAP] && !s.v[SET_DIR]);      /* absent: left as it is */
	settings_free(&s);

	static const struct { const char *text, *msg; } bad[] = {
		{ "colour: blue\n", "line 1: unknown setting 'colour'" },
		{ "cmd: a\ncmd: b\n", "line 2: cmd is set twice" },
		{ "\n  stray\n", "line 2: an indented line" },
		{ "timeout 5m\n", "line 1: want 'key: value'" },
		{ "dir: /\nenv:\n  A=1\ncmd x\n", "line 4: want" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why[0] = 0;
		CHECKF(settings_parse(bad[i].text, &s, why, sizeof why) < 0, "accepted '%s'", bad[i].text);
		CHECKF(strstr(why, bad[i].msg) != NULL, "'%s': got '%s'", bad[i].text, why);
		for (int k = 0; k < SET_N; k++)
			CHECK(s.v[k] == NULL);
	}
}

static void test_check(void)
{
	static const struct { int key; const char *value, *msg; } cases[] = {
		{ SET_SCHEDULE, "*/5 * * * *", NULL },
		{ SET_SCHEDULE, "TZ=Mars/Olympus 0 9 * * *", NULL },   /* the zone is jobd's to check */
		{ SET_SCHEDULE, "CRON_TZ=UTC @daily", NULL },
		{ SET_SCHEDULE, "61 * * * *", "schedule: minute" },
		{ SET_SCHEDULE, "TZ=UTC", "schedule: time zone" },
		{ SET_SCHEDULE, "", "schedule: " },
		{ SET_TIMEOUT, "1h30m", NULL },
		{ SET_TIMEOUT, "soon", "timeout: 'soon' is not a duration" },
		{ SET_OVERLAP, "queue", NULL },
		{ SET_OVERLAP, "maybe", "overlap: 'maybe'" },
		{ SET_MISFIRE, "all", NULL },
		{ SET_MISFIRE, "twice", "misfire: " },
		{ SET_DIR, "", NULL },
		{ SET_DIR, "relative", "dir: 'relative'" },
		{ SET_ENV, "A=1\nB_2=x y", NULL },
		{ SET_ENV, "A=1\nnot a var", "env: 'not a var'" },
		{ SET_CMD, "anything at all", NULL },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		Settings s = {0};
		char why[256] = "";
		set(&s, cases[i].key, cases[i].value);
		int rc = settings_check(&s, why, sizeof why);
		if (!cases[i].msg)
			CHECKF(rc == 0, "%s '%s' refused: %s", settings_names[cases[i].key], cases[i].value,
			       why);
		else
			CHECKF(rc < 0 && strncmp(why, cases[i].msg, strlen(cases[i].msg)) == 0,
			       "%s '%s': got '%s', want '%s...'", settings_names[cases[i].key],
			       cases[i].value, why, cases[i].msg);
		settings_free(&s);
	}
}

static void test_from_file(void)
{
	char a[] = "TZ=Europe/Paris 0 9 * * *:2026-11-30 09:00:00 +0100 CET";
	settings_from_file(SET_SCHEDULE, a);
	CHECK(!strcmp(a, "TZ=Europe/Paris 0 9 * * *"));
	char b[] = "A=1\nB=2\n";
	settings_from_file(SET_ENV, b);
	CHECK(!strcmp(b, "A=1\nB=2"));
	char c[] = "echo a:b\n";
	settings_from_file(SET_CMD, c);
	CHECK(!strcmp(c, "echo a:b\n"));
	CHECK(settings_key("env", 3) == SET_ENV && settings_key("envx", 4) < 0);
}

static void test_kv(void)
{
	const char *line = "run=3 runs=12 state=done status=exit:0 empty= pid=-\n";
	char v[32];
	CHECK(kv_get(line, "runs", v, sizeof v) == 0 && !strcmp(v, "12"));
	CHECK(kv_get(line, "run", v, sizeof v) == 0 && !strcmp(v, "3"));
	CHECK(kv_get(line, "status", v, sizeof v) == 0 && !strcmp(v, "exit:0"));
	CHECK(kv_get(line, "pid", v, sizeof v) == 0 && !strcmp(v, "-"));
	CHECK(kv_get(line, "empty", v, sizeof v) == 0 && !strcmp(v, ""));
	CHECK(kv_get(line, "stat", v, sizeof v) < 0);
	CHECK(kv_get(line, "next", v, sizeof v) < 0);
	char small[4];
	CHECK(kv_get(line, "state", small, sizeof small) == 0 && !strcmp(small, "don"));
}

static char *printed(const Table *t, int aligned)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);
	table_print(t, f, aligned);
	fclose(f);
	return s;
}

static void test_table(void)
{
	Table t;
	table_init(&t, 3);
	table_row(&t, "NAME", "STATE", "LAST");
	char *s = printed(&t, 1);
	CHECKF(!strcmp(s, ""), "a header alone printed '%s'", s);
	free(s);
	table_row(&t, "hello", "started", "exit:0");
	table_row(&t, "a", NULL, "-");
	s = printed(&t, 1);
	CHECKF(!strcmp(s, "NAME   STATE    LAST\nhello  started  exit:0\na      -        -\n"), "got '%s'", s);
	free(s);
	s = printed(&t, 0);
	CHECKF(!strcmp(s, "hello\tstarted\texit:0\na\t-\t-\n"), "got '%s'", s);
	free(s);
	table_free(&t);
}

int main(void)
{
	unit_prog = "t_ctl";
	unit_run("roundtrip", test_roundtrip);
	unit_run("parse", test_parse);
	unit_run("check", test_check);
	unit_run("from-file", test_from_file);
	unit_run("kv", test_kv);
	unit_run("table", test_table);
	return unit_done();
}
