/* jobctl's pure helpers: the edit text (render, parse, check), status
 * fields, column output, jobd's replies, times, JSON, crontabs, nodes. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
	set(&a, SET_ORPHAN, "rerun");
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
		{ SET_ORPHAN, "rerun", NULL },
		{ SET_ORPHAN, "often", "orphan: 'often' is not one of lost, rerun" },
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

/* jobd's reply to a write, read back from the fid written. */
static void test_reply(void)
{
	const char *p = "run 7\nwarning: schedule '0 0 31 2 *' never fires\nrun x\nstarted";
	CtlReplyLine l;
	CHECK(ctl_reply_next(&p, &l) && l.kind == CTL_REPLY_RUN && l.run == 7);
	CHECK(ctl_reply_next(&p, &l) && l.kind == CTL_REPLY_WARNING &&
	      l.len == strlen("schedule '0 0 31 2 *' never fires") &&
	      !strncmp(l.text, "schedule '0 0 31 2 *' never fires", l.len));
	CHECK(ctl_reply_next(&p, &l) && l.kind == CTL_REPLY_OTHER && l.len == 5);   /* not a number */
	CHECK(ctl_reply_next(&p, &l) && l.kind == CTL_REPLY_OTHER && l.len == 7 &&
	      !strncmp(l.text, "started", 7));
	CHECK(!ctl_reply_next(&p, &l));
	p = "hello\nwarning: x";            /* a clone's: the name first */
	CHECK(ctl_reply_next(&p, &l) && l.kind == CTL_REPLY_OTHER && !strncmp(l.text, "hello", 5));
	CHECK(ctl_reply_next(&p, &l) && l.kind == CTL_REPLY_WARNING && l.len == 1);
	p = "run 12 skipped\nrun 3 later\n";
	CHECK(ctl_reply_next(&p, &l) && l.kind == CTL_REPLY_RUN && l.run == 12 && l.skipped);
	CHECK(ctl_reply_next(&p, &l) && l.kind == CTL_REPLY_OTHER);
	p = "run 0\nrun -3\n";
	CHECK(ctl_reply_next(&p, &l) && l.kind == CTL_REPLY_OTHER);
	CHECK(ctl_reply_next(&p, &l) && l.kind == CTL_REPLY_OTHER);
	CHECK(!ctl_reply_next(&p, &l));
}

/* One exit status per kind of failure, from jobd's errno or the client's. */
static void test_exit_for(void)
{
	CHECK(ctl_exit_for(0) == EX_OK);
	CHECK(ctl_exit_for(-ENOENT) == EX_NOTFOUND);
	CHECK(ctl_exit_for(-EINVAL) == EX_REFUSED);
	CHECK(ctl_exit_for(-EEXIST) == EX_REFUSED && ctl_exit_for(-EACCES) == EX_REFUSED);
	CHECK(ctl_exit_for(-ESRCH) == EX_REFUSED && ctl_exit_for(-EDQUOT) == EX_REFUSED);
	CHECK(ctl_exit_for(-EPIPE) == EX_CONNECT && ctl_exit_for(-ECONNRESET) == EX_CONNECT);
	CHECK(ctl_exit_for(-EPROTO) == EX_CONNECT);
}

static void test_times(void)
{
	static const struct { int64_t d; const char *want; } rel[] = {
		{ 0, "now" }, { 42, "in 42s" }, { -300, "5m ago" }, { 3 * 3600 + 12 * 60 + 5, "in 3h12m" },
		{ 3 * 3600 + 5, "in 3h" }, { -(2 * 86400 + 4 * 3600 + 59), "2d4h ago" }, { 61, "in 1m1s" },
		{ 400 * 86400, "in 400d" },
	};
	for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
		char out[48];
		ctl_reltime(rel[i].d, out, sizeof out);
		CHECKF(!strcmp(out, rel[i].want), "%lld: got '%s', want '%s'", (long long)rel[i].d, out,
		       rel[i].want);
	}
	char why[256], out[80];
	Zone *ny = zone_load("America/New_York", why, sizeof why);
	CHECKF(ny != NULL, "%s", why);
	if (!ny)
		return;
	CtlTime t;
	CHECK(ctl_time_parse("2026-12-02T14:00:00.5+00:00", &t) == 0 && t.set && t.nsec == 500000000);
	CHECK(!strcmp(ctl_time_str(ny, t, out, sizeof out), "2026-12-02T09:00:00-05:00"));
	CHECKF(!strcmp(ctl_time_json(ny, t, out, sizeof out), "2026-12-02T09:00:00.5-05:00"), "%s", out);
	t.nsec = 0;
	CHECK(!strcmp(ctl_time_json(ny, t, out, sizeof out), "2026-12-02T09:00:00-05:00"));
	CHECK(ctl_time_parse("-", &t) == 0 && !t.set);
	CHECK(!strcmp(ctl_time_str(ny, t, out, sizeof out), "-"));
	CHECK(ctl_time_parse("yesterday", &t) < 0);
	/* A status line from jobd in its zone, shown in another. */
	Buf b = {0};
	ctl_rezone("state=started next=2026-07-01T12:00:00+02:00 last_start=- runs=3 pid=12\n", ny, &b);
	CHECKF(!strcmp(b.data, "state=started next=2026-07-01T06:00:00-04:00 last_start=- runs=3 "
	               "pid=12\n"), "got '%s'", b.data);
	buf_free(&b);
	/* A time whose year is not four digits once in the zone shown: the
	 * fraction still goes after the seconds, before the offset. */
	Zone *utc = zone_load("UTC", why, sizeof why);
	CHECK(ctl_time_parse("9999-12-31T23:59:59.5-23:00", &t) == 0);
	CHECKF(!strcmp(ctl_time_json(utc, t, out, sizeof out), "10000-01-01T22:59:59.5+00:00"),
	       "got '%s'", out);
	CHECK(ctl_time_parse("0000-01-01T00:00:00.25+23:00", &t) == 0);
	CHECKF(!strcmp(ctl_time_json(utc, t, out, sizeof out), "-0001-12-31T01:00:00.25+00:00"),
	       "got '%s'", out);
	zone_free(utc);
	zone_free(ny);
}

/* ctl_print_lines to a file instead of stdout; the text printed (free it). */
static char *print_lines_to_file(Ctl *x, const char *s, size_t len, int events)
{
	char path[] = "/tmp/t_ctl.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	unlink(path);
	fflush(stdout);
	int saved = dup(1);
	dup2(fd, 1);
	ctl_print_lines(x, s, len, events);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	off_t size = lseek(fd, 0, SEEK_END);
	char *text = calloc(1, (size_t)size + 1);
	if (pread(fd, text, (size_t)size, 0) != size)
		text[0] = 0;
	close(fd);
	return text;
}

/* Log lines with jobd's Go times, shown in the user's zone; the time of each
 * line is found in that line alone, so a big log takes time in proportion
 * to its size (it used to be scanned to its end for every line). */
static void test_print_lines(void)
{
	Ctl x = { .utc = 1 };
	const char *log = "2026-11-28 08:00:01.518811023 +0100 CET:hello\n"
	                  "2026-11-28 08:00:01 -0530 X:no fraction\n"
	                  "2026-11-28 08:00:01.5 +0100 CET no colon after the zone\n"
	                  "2026-11-28 08:00:01.5 +01 CET:short offset\n"
	                  "2026-1x-28 08:00:01.5 +0100 CET:not a date\n"
	                  "short\n"
	                  "2026-11-28 08:00:01 +0000 UTC:no newline";
	char *got = print_lines_to_file(&x, log, strlen(log), 0);
	const char *want = "2026-11-28T07:00:01+00:00:hello\n"
	                   "2026-11-28T13:30:01+00:00:no fraction\n"
	                   "2026-11-28 08:00:01.5 +0100 CET no colon after the zone\n"
	                   "2026-11-28 08:00:01.5 +01 CET:short offset\n"
	                   "2026-1x-28 08:00:01.5 +0100 CET:not a date\n"
	                   "short\n"
	                   "2026-11-28T08:00:01+00:00:no newline";
	CHECKF(got && !strcmp(got, want), "got '%s'", got ? got : "(nothing)");
	free(got);
	/* Only the line is read: a time cut off at the line's end is none. */
	const char cut[] = "2026-11-28 08:00:01 +0000 UTC:x";
	got = print_lines_to_file(&x, cut, 29, 0);
	CHECKF(got && !strcmp(got, "2026-11-28 08:00:01 +0000 UTC"), "cut: '%s'", got ? got : "");
	free(got);
	zone_free(x.zone);
	x.zone = NULL;

	size_t line = strlen("2026-11-28 08:00:01.518811023 +0000 UTC:hello\n"), n = 8 << 20;
	char *big = malloc(n + 1);
	for (size_t i = 0; i + line <= n; i += line)
		memcpy(big + i, "2026-11-28 08:00:01.518811023 +0000 UTC:hello\n", line);
	n -= n % line;
	big[n] = 0;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	got = print_lines_to_file(&x, big, n, 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	CHECKF(secs < 2, "8 MB of log lines took %.1f s", secs);
	CHECK(got && strlen(got) == n / line * strlen("2026-11-28T08:00:01+00:00:hello\n"));
	free(got);
	free(big);
	zone_free(x.zone);
}

static void test_status_parse(void)
{
	JobStatus st;
	job_status_parse("state=started next=2026-12-02T09:00:00-05:00 last_start=2026-12-02T08:00:00"
	                 "-05:00 last_end=- last_status=- runs=12 failures=3 pid=4242 active=2\n", &st);
	CHECK(!strcmp(st.state, "started") && st.next.set && st.last_start.set && !st.last_end.set);
	CHECK(!st.last_status[0] && st.runs == 12 && st.failures == 3 && st.pid == 4242);
	CHECK(st.active == 2 && st.has_next);
	job_status_parse("state=started\n", &st);      /* made up from ctl: no next= */
	CHECK(!st.has_next && !st.next.set);
	/* Without active=, a pid is one run going. */
	job_status_parse("state=stopped next=- pid=99", &st);
	CHECK(st.active == 1 && !st.next.set);
	job_status_parse("state=stopped pid=-", &st);
	CHECK(st.active == 0 && st.pid == 0);
	RunStatus r;
	run_status_parse("run=3 sched=- start=2026-12-02T08:00:00+00:00 end=2026-12-02T08:00:01+00:00 "
	                 "duration=1.503s state=done status=signal:TERM manual=1 timed_out=1 killed=0 "
	                 "pid=- output_bytes=77 output_cap=1048576 truncated=0 lateness=-\n", &r);
	CHECK(r.run == 3 && !r.sched.set && r.start.set && r.end.set);
	CHECK(r.duration > 1.502 && r.duration < 1.504 && r.lateness < 0);
	CHECK(!strcmp(r.state, "done") && !strcmp(r.status, "signal:TERM"));
	CHECK(r.manual && r.timed_out && !r.killed && !r.pid && r.output_bytes == 77);
}

static void test_json(void)
{
	Buf b = {0};
	Json j;
	json_init(&j, &b);
	json_open(&j, NULL, '[');
	json_open(&j, NULL, '{');
	json_str(&j, "s", "a\"b\\c\nd\te\x01 \xc3\xa9 \xff");
	json_int(&j, "i", -42);
	json_num(&j, "n", 1.5);
	json_num(&j, "none", -1);
	json_num(&j, "nan", NAN);
	json_num(&j, "inf", INFINITY);
	json_num(&j, "big", 1e300);
	json_num(&j, "k", 123456789012345.0);
	json_bool(&j, "t", 1);
	json_str(&j, "null", NULL);
	json_open(&j, "list", '[');
	json_str(&j, NULL, "x");
	json_str(&j, NULL, "y");
	json_close(&j, ']');
	json_close(&j, '}');
	json_open(&j, NULL, '{');
	json_close(&j, '}');
	json_close(&j, ']');
	const char *want = "[\n  {\"s\":\"a\\\"b\\\\c\\nd\\te\\u0001 \xc3\xa9 \xef\xbf\xbd\",\"i\":-42,"
	                   "\"n\":1.5,\"none\":null,\"nan\":null,\"inf\":null,"
	                   "\"big\":1.0000000000000001e+300,\"k\":123456789012345,\"t\":true,\"null\":null,\"list\":[\"x\",\"y\"]},"
	                   "\n  {}\n]\n";
	CHECKF(!strcmp(b.data, want), "got '%s'", b.data);
	b.len = 0;
	json_init(&j, &b);
	json_open(&j, NULL, '[');
	json_close(&j, ']');
	CHECKF(!strcmp(b.data, "[]\n"), "empty: '%s'", b.data);
	buf_free(&b);
}

/* A crontab of every feature. */
static const char crontab_text[] =
	"# comment\n"
	"MAILTO=ops@example.com\n"
	"GREETING = \"  hi  \"\n"
	"Q='single'\n"
	"\n"
	"*/5 * * * * /usr/local/bin/backup.sh --full >/dev/null 2>&1\n"
	"  @daily   pg_dump mydb > /var/backups/mydb.sql\r\n"
	"CRON_TZ=America/New_York\n"
	"0 9 * * 1-5 mail -s \"standup\" team%Standup in 5.%Coffee: 100\\%.%\n"
	"CRON_TZ=\n"
	"GREETING=bye\n"
	"# jobctl name keep\n"
	"# jobctl set timeout 90\n"
	"# jobctl set overlap queue\n"
	"# jobctl stopped\n"
	"#15 3 * * * echo \"100\\% \\\\d\"\n"
	"# jobctl unset Q\n"
	"0 0 1 1 * true\n";

static void test_crontab_parse(void)
{
	Crontab ct;
	crontab_parse(crontab_text, 0, &ct);
	CHECKF(ct.n == 5, "%zu entries", ct.n);
	for (size_t i = 0; i < ct.nnotes; i++)
		CHECKF(ct.notes[i].line == 2, "line %d: %s", ct.notes[i].line, ct.notes[i].text);
	if (ct.n != 5) {
		crontab_free(&ct);
		return;
	}
	const CronJob *e = ct.v;
	CHECK(e[0].line == 6 && !strcmp(e[0].schedule, "*/5 * * * *"));
	CHECK(!strcmp(e[0].cmd, "/usr/local/bin/backup.sh --full >/dev/null 2>&1"));
	CHECK(!strcmp(e[0].auto_name, "backup") && !e[0].name && !e[0].stopped);
	CHECKF(!strcmp(e[0].env, "MAILTO=ops@example.com\nGREETING=  hi  \nQ=single"), "env '%s'",
	       e[0].env);
	CHECK(!strcmp(e[1].schedule, "@daily") && !strcmp(e[1].auto_name, "pg_dump_mydb"));
	CHECK(!strcmp(e[1].cmd, "pg_dump mydb > /var/backups/mydb.sql"));
	CHECK(!strcmp(e[2].schedule, "TZ=America/New_York 0 9 * * 1-5"));
	CHECKF(!strcmp(e[2].cmd, "printf 'Standup in 5.\\nCoffee: 100%%.\\n' | /bin/sh -c "
	               "'mail -s \"standup\" team'"), "cmd '%s'", e[2].cmd);
	CHECK(!strcmp(e[3].schedule, "15 3 * * *") && e[3].stopped && !strcmp(e[3].name, "keep"));
	CHECKF(!strcmp(e[3].cmd, "echo \"100% \\\\d\""), "cmd '%s'", e[3].cmd);
	CHECK(e[3].set[SET_TIMEOUT] && !strcmp(e[3].set[SET_TIMEOUT], "1m30s"));
	CHECK(e[3].set[SET_OVERLAP] && !strcmp(e[3].set[SET_OVERLAP], "queue"));
	CHECK(!strcmp(e[3].env, "MAILTO=ops@example.com\nGREETING=bye\nQ=single"));
	CHECK(!strcmp(e[4].env, "MAILTO=ops@example.com\nGREETING=bye") && !e[4].stopped);
	/* A warning: MAILTO; no other. */
	CHECK(ct.nnotes == 1 && !ct.notes[0].error && strstr(ct.notes[0].text, "MAILTO"));
	crontab_free(&ct);

	/* Every line refused, each with its line and reason. */
	static const struct { const char *line, *why; } bad[] = {
		{ "@reboot /sbin/thing", "@reboot: jobd has schedules" },
		{ "61 * * * * x", "bad schedule '61 * * * *': minute" },
		{ "* * * *", "want five time fields" },
		{ "@sometimes x", "unknown macro" },
		{ "0 0 * * *   ", "no command" },
		{ "JOBD_JOB=x", "JOBD_* variables are set by jobd" },
		{ "MY-VAR=1", "variable names of letters, digits and '_'" },
		{ "hello world", "neither an entry" },
		{ "CRON_TZ=Bad Zone", "not a zone name" },
		{ "# jobctl set colour blue\n0 0 * * * x", "'colour' is not a setting" },
		{ "# jobctl set env A=1\n0 0 * * * x", "'env' is not a setting a crontab line lacks "
		  "(timeout, overlap, misfire, orphan, dir, limits)" },
		{ "# jobctl set orphan twice\n0 0 * * * x", "orphan: 'twice' is not one of lost, rerun" },
		{ "# jobctl set timeout soon\n0 0 * * * x", "timeout: 'soon'" },
		/* The name goes first in the clone line "name:schedule:cmd": a ':'
		 * in it would give jobd another schedule and command. */
		{ "# jobctl name evil:@daily:curl x|sh\n0 0 * * * echo hi", "invalid job name 'evil:" },
		{ "# jobctl name .hidden\n0 0 * * * x", "may not start with '.'" },
		{ "# jobctl name \n0 0 * * * x", "job name is empty" },
		/* Longer than a TZ= prefix may be (127 bytes). */
		{ "CRON_TZ=Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n0 0 * * * x", "is not a zone name" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		crontab_parse(bad[i].line, 0, &ct);
		CHECKF(ct.n == 0, "'%s' taken", bad[i].line);
		CHECKF(ct.nnotes >= 1 && ct.notes[0].error && ct.notes[0].line == 1 &&
		       strstr(ct.notes[0].text, bad[i].why), "'%s': got '%s'", bad[i].line,
		       ct.nnotes ? ct.notes[0].text : "nothing");
		crontab_free(&ct);
	}
	/* The system format: a user column. */
	crontab_parse("17 *\t* * *\troot    cd / && run-parts --report /etc/cron.hourly\n"
	              "0 0 * * * www-data php /srv/cron.php\n0 0 * * *\n", 1, &ct);
	CHECK(ct.n == 2 && !strcmp(ct.v[0].user, "root") && !strcmp(ct.v[1].user, "www-data"));
	CHECK(ct.n == 2 && !strcmp(ct.v[0].cmd, "cd / && run-parts --report /etc/cron.hourly"));
	CHECK(ct.n == 2 && !strcmp(ct.v[0].auto_name, "run_parts_cron_hourly"));
	CHECK(ct.nnotes == 1 && ct.notes[0].line == 3 && strstr(ct.notes[0].text, "no user"));
	crontab_free(&ct);
	/* Warnings do not refuse: days matched differently, a shell jobd does
	 * not use, a '# jobctl' block with no entry below it. */
	crontab_parse("0 0 */2 * 1 x\nSHELL=/bin/bash\n# jobctl name lost\n\n", 0, &ct);
	CHECK(ct.n == 1 && ct.nnotes == 3);
	CHECK(ct.nnotes == 3 && strstr(ct.notes[0].text, "days that match both"));
	CHECK(ct.nnotes == 3 && strstr(ct.notes[1].text, "/bin/sh"));
	CHECK(ct.nnotes == 3 && ct.notes[2].line == 3 && strstr(ct.notes[2].text, "ignored"));
	crontab_free(&ct);
	/* A schedule cron_parse takes but jobd would not: longer than 512 bytes. */
	Buf longer = {0};
	for (int i = 0; i < 200; i++)
		buf_printf(&longer, "%s%d", i ? "," : "", i % 60);
	buf_addstr(&longer, " * * * * echo long\n");
	crontab_parse(longer.data, 0, &ct);
	CHECKF(ct.n == 0 && ct.nnotes == 1 && strstr(ct.notes[0].text, "longer than 512 bytes"),
	       "%zu taken: %s", ct.n, ct.nnotes ? ct.notes[0].text : "no note");
	crontab_free(&ct);
	buf_free(&longer);
	/* An environment jobd would refuse (more than 8192 bytes): the entries
	 * under it are not taken; an unset brings it back under. */
	Buf big = {0};
	for (int i = 0; i < 1000; i++)
		buf_printf(&big, "V%03d=value\n", i);       /* 11 bytes a line, 11,000 */
	buf_addstr(&big, "0 0 * * * too much\n");
	for (int i = 0; i < 400; i++)
		buf_printf(&big, "# jobctl unset V%03d\n", i);
	buf_addstr(&big, "0 0 * * * fits\n");
	crontab_parse(big.data, 0, &ct);
	CHECKF(ct.n == 1 && !strcmp(ct.v[0].cmd, "fits") && strlen(ct.v[0].env) == 6600 - 1,
	       "%zu taken", ct.n);
	CHECKF(ct.nnotes == 1 && ct.notes[0].line == 1001 && strstr(ct.notes[0].text, "8192 bytes"),
	       "%zu notes: %s", ct.nnotes, ct.nnotes ? ct.notes[0].text : "");
	crontab_free(&ct);
	buf_free(&big);
	/* Notes in line order: a '# jobctl' block's, said when it ends, comes
	 * before those of the lines in it (import prints them before the
	 * entries below them). */
	crontab_parse("# jobctl name keep\n# jobctl set timeout soon\n# jobctl frob\n", 0, &ct);
	CHECKF(ct.nnotes == 3 && ct.notes[0].line == 1 && ct.notes[1].line == 2 &&
	       ct.notes[2].line == 3, "%zu notes, lines %d %d", ct.nnotes,
	       ct.nnotes ? ct.notes[0].line : 0, ct.nnotes > 1 ? ct.notes[1].line : 0);
	crontab_free(&ct);
	/* Under a CRON_TZ refused, entries are not taken in jobd's zone instead;
	 * the next CRON_TZ ends that. */
	crontab_parse("CRON_TZ=Bad Zone\n0 0 * * * x\nCRON_TZ=UTC\n0 0 * * * y\n", 0, &ct);
	CHECKF(ct.n == 1 && !strcmp(ct.v[0].schedule, "TZ=UTC 0 0 * * *"), "%zu taken", ct.n);
	CHECKF(ct.nnotes == 2 && ct.notes[1].line == 2 && ct.notes[1].error &&
	       strstr(ct.notes[1].text, "CRON_TZ line above it was refused"), "%zu notes", ct.nnotes);
	crontab_free(&ct);
	/* A name with blanks after it (an editor's leftovers): they go. */
	crontab_parse("# jobctl name db-backup.v2 \t\n0 0 * * * x\n", 0, &ct);
	CHECKF(ct.n == 1 && ct.nnotes == 0 && !strcmp(ct.v[0].name, "db-backup.v2"), "%zu, '%s'",
	       ct.n, ct.n ? ct.v[0].name : "");
	crontab_free(&ct);
}

static void test_crontab_percent(void)
{
	static const struct { const char *in, *cmd, *input; int has; } cases[] = {
		{ "echo hi", "echo hi", "", 0 },
		{ "echo 100\\%", "echo 100%", "", 0 },
		{ "cat%a%b", "cat", "a\nb", 1 },
		{ "cat%a%b%", "cat", "a\nb\n", 1 },
		{ "cat%", "cat", "", 1 },
		{ "echo \\\\%x", "echo \\\\", "x", 1 },      /* the pair "\\", then the % */
		{ "echo \\n \\%", "echo \\n %", "", 0 },       /* other pairs stay */
		{ "x%50\\% off", "x", "50% off", 1 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		Buf cmd = {0}, input = {0};
		int has;
		crontab_percent(cases[i].in, &cmd, &input, &has);
		CHECKF(!strcmp(cmd.data, cases[i].cmd) && !strcmp(input.data, cases[i].input) &&
		       has == cases[i].has, "'%s': got '%s' '%s' %d", cases[i].in, cmd.data, input.data,
		       has);
		buf_free(&cmd);
		buf_free(&input);
	}
	/* The input through printf's format, both in single quotes. */
	Buf b = {0};
	crontab_with_input("echo 'x'", "a'b\\c%d\ne", &b);
	const char *want = "printf 'a'\\''b\\\\c%%d\\ne' | /bin/sh -c 'echo '\\''x'\\'''";
	CHECKF(!strcmp(b.data, want), "got %s", b.data);
	buf_free(&b);
}

static void test_crontab_name(void)
{
	static const struct { const char *cmd, *want; } cases[] = {
		{ "cd / && run-parts --report /etc/cron.daily", "run_parts_cron_daily" },
		{ "test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.weekly; }",
		  "run_parts_cron_weekly" },
		{ "/usr/local/bin/backup.sh --full >/dev/null 2>&1", "backup" },
		{ "cd /srv/app && ./manage.py clearsessions", "manage_clearsessions" },
		{ "pg_dump mydb > /var/backups/mydb.sql", "pg_dump_mydb" },
		{ "LANG=C nice -n 10 ionice -c3 rsync -a /home/ /backup/home/", "rsync_home" },
		{ "[ -x /usr/lib/php/sessionclean ] && if [ ! -d /run/systemd/system ]; then "
		  "/usr/lib/php/sessionclean; fi", "sessionclean" },
		{ "echo 'hello world'", "echo_hello_world" },
		{ "true", "job" },
		{ ">/tmp/x", "job" },
		{ "caf\xc3\xa9.sh", "caf" },
		{ "x123456789012345678901234567890123456789_ y", "x123456789012345678901234567890123456789" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char out[64];
		crontab_name(cases[i].cmd, out, sizeof out);
		CHECKF(!strcmp(out, cases[i].want), "'%s': got '%s', want '%s'", cases[i].cmd, out,
		       cases[i].want);
		for (char *c = out; *c; c++)
			CHECKF((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
			       *c == '_', "'%s': '%c' in '%s'", cases[i].cmd, *c, out);
	}
}

/* Jobs written by crontab_put and read back by crontab_parse are the same
 * jobs, whatever their environments do from one to the next. */
static void test_crontab_roundtrip(void)
{
	CronJob in[] = {
		{ .name = "a", .schedule = "*/5 * * * *", .cmd = "echo 100% \\\\% a\\b", .env = "" },
		{ .name = "b", .schedule = "TZ=Europe/Paris @daily", .cmd = "x",
		  .env = "A=1\nB= two \nC=\"q\"" },
		{ .name = "c", .schedule = "0  9 * * 1-5", .cmd = "y", .env = "B= two \nA=1", .stopped = 1 },
		{ .name = "d", .schedule = "CRON_TZ=UTC 0 0 1 1 *", .cmd = "z", .env = "A=2" },
		{ .name = "e", .schedule = "0 0 1 1 *", .cmd = "w", .env = "" },
		/* What import would trim or unquote: a zone in quotes, carriage
		 * returns ending a command and a value. */
		{ .name = "f", .schedule = "TZ='odd' 0 0 * * *", .cmd = "x\r", .env = "R=v\r" },
	};
	in[2].set[SET_TIMEOUT] = "1h";
	in[2].set[SET_DIR] = "/srv/my dir";
	in[2].set[SET_ORPHAN] = "rerun";
	size_t n = sizeof in / sizeof in[0];
	/* Schedules come back with fields one blank apart, TZ= for either prefix. */
	static const char *const sched[] = {
		"*/5 * * * *", "TZ=Europe/Paris @daily", "0 9 * * 1-5", "TZ=UTC 0 0 1 1 *", "0 0 1 1 *",
		"TZ='odd' 0 0 * * *",
	};
	for (int system = 0; system < 2; system++) {
		Buf out = {0};
		CronOut w = { .system = system, .user = "alice" };
		char why[256];
		crontab_header(&out, system);
		for (size_t i = 0; i < n; i++)
			CHECKF(crontab_put(&w, &in[i], &out, why, sizeof why) == 0, "%s: %s", in[i].name, why);
		cronout_free(&w);
		Crontab ct;
		crontab_parse(out.data, system, &ct);
		CHECKF(ct.n == n && ct.nnotes == 0, "%zu entries, %zu notes in\n%s", ct.n, ct.nnotes,
		       out.data);
		for (size_t i = 0; i < ct.n && i < n; i++) {
			const CronJob *a = &in[i], *b = &ct.v[i];
			CHECKF(b->name && !strcmp(a->name, b->name) && !strcmp(a->cmd, b->cmd) &&
			       !strcmp(a->env, b->env) && a->stopped == b->stopped,
			       "%s came back %s '%s' env '%s'", a->name, b->name, b->cmd, b->env);
			CHECKF(!strcmp(b->schedule, sched[i]), "%s: '%s'", a->name, b->schedule);
			CHECKF(!system || (b->user && !strcmp(b->user, "alice")), "%s: no user", a->name);
			for (int k = 0; k < SET_N; k++)
				CHECKF(!a->set[k] == !b->set[k] && (!a->set[k] || !strcmp(a->set[k], b->set[k])),
				       "%s: %s", a->name, setting_tab[k].name);
		}
		crontab_free(&ct);
		buf_free(&out);
	}
	/* What a crontab cannot hold. */
	static const CronJob cannot[] = {
		{ .name = "s", .schedule = "*/5 * * * * * *", .cmd = "x", .env = "" },
		{ .name = "y", .schedule = "0 0 1 1 * 2030", .cmd = "x", .env = "" },
		{ .name = "l", .schedule = "0 0 * * *", .cmd = "a\nb", .env = "" },
		{ .name = "p", .schedule = "0 0 * * *", .cmd = "echo \\%", .env = "" },
		/* Read back, a CRON_TZ line is the schedules' zone, not a variable. */
		{ .name = "z", .schedule = "0 0 * * *", .cmd = "x", .env = "A=1\nCRON_TZ=UTC" },
	};
	for (size_t i = 0; i < sizeof cannot / sizeof cannot[0]; i++) {
		Buf out = {0};
		CronOut w = {0};
		char why[256] = "";
		CHECKF(crontab_put(&w, &cannot[i], &out, why, sizeof why) < 0 && *why, "%s written",
		       cannot[i].name);
		CHECKF(out.len == 0, "%s: wrote '%s'", cannot[i].name, out.data);
		cronout_free(&w);
		buf_free(&out);
	}
}

/* nodes: the seconds jobd writes, a node's status text, the LEASE column. */
static void test_nodes(void)
{
	static const struct { const char *s; int rc; long long ms; } secs[] = {
		{ "8.213s", 0, 8213 }, { "-0.004s", 0, -4 }, { "0.000s", 0, 0 }, { "12s", 0, 12000 },
		{ "1.5s", 0, 1500 }, { "2.12345s", 0, 2123 }, { "-", -EINVAL, 0 }, { "8.2", -EINVAL, 0 },
		{ "s", -EINVAL, 0 }, { "-s", -EINVAL, 0 }, { "1.0ms", -EINVAL, 0 }, { "", -EINVAL, 0 },
		{ "99999999999999999s", -EINVAL, 0 },
	};
	for (size_t i = 0; i < sizeof secs / sizeof secs[0]; i++) {
		long long ms = 0;
		int rc = ctl_secs_ms(secs[i].s, &ms);
		CHECKF(rc == secs[i].rc && (rc < 0 || ms == secs[i].ms), "'%s': rc %d, %lld ms", secs[i].s,
		       rc, ms);
	}
	NodeStatus st;
	char lease[64];
	CHECK(node_status_parse("node=a state=up epoch=2 lease_left=8.213s clock_offset=-0.004s "
	                        "clock=ok runs_started=3 started=2026-01-02T03:04:05Z\n", &st) == 0);
	CHECK(!strcmp(st.name, "a") && !strcmp(st.state, "up") && st.epoch == 2);
	CHECK(st.has_lease && st.lease_left_ms == 8213 && !node_lapsed(&st));
	CHECK(st.clock_offset_ms == -4 && !st.clock_off && st.runs_started == 3);
	CHECK(st.started.set && st.started.sec == 1767323045 && !st.local.set);
	node_lease_text(&st, lease, sizeof lease);
	CHECKF(!strcmp(lease, "8.2s left"), "%s", lease);
	/* Through the node itself: its own view after its row. */
	CHECK(node_status_parse("node=b state=down epoch=1 lease_left=-75.500s clock_offset=1.204s "
	                        "clock=off runs_started=0 started=-\nlocal node=b state=fenced "
	                        "epoch=1 lease_left=0.000s clock_offset=1.204s clock=off "
	                        "rtt=0.003s renewals=40 failures=2\n", &st) == 0);
	CHECK(node_lapsed(&st) && st.lease_left_ms == -75500 && st.clock_off && !st.started.set);
	CHECK(st.local.set && !strcmp(st.local.state, "fenced") && st.local.rtt_ms == 3);
	CHECK(st.local.renewals == 40 && st.local.failures == 2 && st.local.clock_offset_ms == 1204);
	node_lease_text(&st, lease, sizeof lease);
	CHECKF(!strcmp(lease, "lapsed 1m15s ago"), "%s", lease);
	/* A lease never renewed; and no node line at all. */
	CHECK(node_status_parse("node=c state=down epoch=1 lease_left=- clock_offset=0.000s "
	                        "clock=ok runs_started=0 started=-\n", &st) == 0);
	CHECK(!st.has_lease && node_lapsed(&st));
	node_lease_text(&st, lease, sizeof lease);
	CHECKF(!strcmp(lease, "-"), "%s", lease);
	CHECK(node_status_parse("", &st) == -EINVAL);
	CHECK(node_status_parse("local node=c state=up\n", &st) == -EINVAL);
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
	unit_run("reply", test_reply);
	unit_run("exit-for", test_exit_for);
	unit_run("times", test_times);
	unit_run("print-lines", test_print_lines);
	unit_run("status-parse", test_status_parse);
	unit_run("json", test_json);
	unit_run("crontab-parse", test_crontab_parse);
	unit_run("crontab-percent", test_crontab_percent);
	unit_run("crontab-name", test_crontab_name);
	unit_run("crontab-roundtrip", test_crontab_roundtrip);
	unit_run("nodes", test_nodes);
	return unit_done();
}
