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
	set(&a, SET_LIMITS, "nproc=64 as=512M");
	Buf t = {0};
	settings_render(&a, "job", &t);
	char why[256] = "";
	CHECKF(settings_parse(t.data, &b, why, sizeof why) == 0, "%s", why);
	for (int i = 0; i < SET_N; i++)
		CHECKF(b.v[i] && !strcmp(a.v[i], b.v[i]), "%s: '%s' came back '%s'", setting_tab[i].name,
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
		{ SET_LIMITS, "nofile=77 cpu=unlimited", NULL },
		{ SET_LIMITS, "files=10", "limits: unknown limit 'files' (known: nproc" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		Settings s = {0};
		char why[256] = "";
		set(&s, cases[i].key, cases[i].value);
		int rc = settings_check(&s, why, sizeof why);
		if (!cases[i].msg)
			CHECKF(rc == 0, "%s '%s' refused: %s", setting_tab[cases[i].key].name, cases[i].value,
			       why);
		else
			CHECKF(rc < 0 && strncmp(why, cases[i].msg, strlen(cases[i].msg)) == 0,
			       "%s '%s': got '%s', want '%s...'", setting_tab[cases[i].key].name,
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

/* Escaping a job's text for a terminal: what is escaped, what is left. */
static void test_escape(void)
{
	static const struct {
		const char *in;
		size_t len;            /* 0: strlen(in) */
		const char *want;
	} cases[] = {
		{ "plain text\n\tindented\n", 0, "plain text\n\tindented\n" },
		{ "", 0, "" },
		{ "\x1b[31mred\x1b[0m\n", 0, "\\x1b[31mred\\x1b[0m\n" },
		{ "\x1b]0;owned\x07", 0, "\\x1b]0;owned\\x07" },      /* window title, BEL */
		{ "safe\rfake", 0, "safe\\x0dfake" },                    /* CR would overprint */
		{ "a\0b", 3, "a\\x00b" },
		{ "\x01\x08\x0b\x0c\x1f", 0, "\\x01\\x08\\x0b\\x0c\\x1f" },
		{ "del\x7f", 0, "del\\x7f" },
		{ " ~", 0, " ~" },                                        /* 0x20, 0x7e: printable */
		{ "back\\slash \\x1b", 0, "back\\slash \\x1b" },       /* as it is */
		/* UTF-8 passes, from U+00A0 up, 2, 3 and 4 bytes. */
		{ "caf\xc3\xa9 \xc2\xa0 \xe2\x82\xac \xf0\x9f\x98\x80", 0,
		  "caf\xc3\xa9 \xc2\xa0 \xe2\x82\xac \xf0\x9f\x98\x80" },
		{ "\xef\xbf\xbd\xf4\x8f\xbf\xbf", 0, "\xef\xbf\xbd\xf4\x8f\xbf\xbf" },
		/* C1 controls: as UTF-8 (U+009B, U+0085, U+0080) and as lone bytes. */
		{ "\xc2\x9b" "2J", 0, "\\xc2\\x9b2J" },
		{ "\xc2\x85\xc2\x80", 0, "\\xc2\\x85\\xc2\\x80" },
		{ "x\x9b" "31m", 0, "x\\x9b31m" },
		{ "\x80\x9f", 0, "\\x80\\x9f" },
		/* Not UTF-8: Latin-1, truncated, overlong (ESC as C0 9B), surrogates,
		 * past U+10FFFF, bytes never used. */
		{ "caf\xe9", 0, "caf\\xe9" },
		{ "\xe2\x82", 0, "\\xe2\\x82" },
		{ "\xe2\x9bx", 0, "\\xe2\\x9bx" },
		{ "\xc0\x9b", 0, "\\xc0\\x9b" },
		{ "\xe0\x80\x9b", 0, "\\xe0\\x80\\x9b" },
		{ "\xed\xa0\x80", 0, "\\xed\\xa0\\x80" },
		{ "\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80" },
		{ "\xfe\xff", 0, "\\xfe\\xff" },
		{ "\xc3", 0, "\\xc3" },                                  /* cut at the end */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		Buf b = {0};
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
		ctl_escape(&b, cases[i].in, len);
		CHECKF(b.data && !strcmp(b.data, cases[i].want), "case %zu: got '%s', want '%s'", i,
		       b.data ? b.data : "(null)", cases[i].want);
		buf_free(&b);
	}
	/* What comes out has no control byte left but \t and \n, whatever goes in. */
	char all[256];
	for (int c = 0; c < 256; c++)
		all[c] = (char)c;
	Buf b = {0};
	ctl_escape(&b, all, sizeof all);
	int bad = 0;
	for (size_t i = 0; i < b.len; i++) {
		unsigned char c = (unsigned char)b.data[i];
		bad += (c < 0x20 && c != '\t' && c != '\n') || c >= 0x7f;
	}
	CHECKF(bad == 0, "%d control or non-ASCII bytes left in %s", bad, b.data);
	buf_free(&b);
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
	unit_run("escape", test_escape);
	return unit_done();
}
