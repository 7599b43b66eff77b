/* jobctl's commands and the helpers only jobctl uses; src/cmd/jobctl.c is
 * just main. Every command is a row of the table in cmds.c: its name, the
 * flags it takes, how many arguments, whether it needs jobd, its help.
 * ctl_run parses the flags into the Ctl, checks the arguments (a usage error
 * is told before any connection is tried), connects, and runs the command,
 * which returns jobctl's exit status. Messages go to stderr as
 * "jobctl: WHO: text", where WHO is the job (or the path) and text is what
 * jobd wrote. */
#ifndef JOBD_CTL_H
#define JOBD_CTL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "client/client.h"
#include "cron/zone.h"
#include "jobs/settings.h"
#include "util/flags.h"
#include "util/util.h"

/* Exit statuses, one per kind of failure whichever command meets it (the
 * table in jobctl(1)); ctl_exit_for maps jobd's errno to them. EX_REFUSED
 * also covers a value that jobctl's own check refuses before it is sent (a
 * schedule, a time zone, a crontab line), as jobd would: so an unknown zone
 * is 1 everywhere. EX_USAGE is for the command line's form only. */
enum { EX_OK = 0, EX_REFUSED = 1, EX_USAGE = 2, EX_CONNECT = 3, EX_NOTFOUND = 4 };

/* -o: how ls, status, runs and next print. */
enum { OUT_TABLE, OUT_WIDE, OUT_JSON };

/* Ctl.n when -n was not given. */
enum { CTL_UNSET = INT_MIN };

typedef struct CtlCmd CtlCmd;

/* One invocation. */
typedef struct Ctl {
	const char *addr;           /* the address to dial */
	const char *addr_from;      /* where addr came from, for the hint: "-a", "$JOBD_ADDR", ... */
	Client *c;                  /* NULL until ctl_client connects */
	const CtlCmd *cmd;          /* the command running */
	int tty;                    /* standard output is a terminal */
	char **args;                /* the arguments after the command's flags */
	int nargs;
	/* The command's flags (CtlCmd.flags names which it takes). */
	int raw;                    /* -raw: job text as it is, even on a terminal */
	int follow;                 /* -f: follow a log or a run's output */
	int wait;                   /* -w: wait for the run to end */
	int n;                      /* -n N: a count (CTL_UNSET when not given) */
	const char *sig;            /* -s SIGNAL */
	const char *from, *tz;      /* -from TIME, -tz ZONE */
	int out;                    /* -o: OUT_TABLE, OUT_WIDE or OUT_JSON */
	int start;                  /* new -s: create it started */
	const char *user;           /* import/export -u USER: the system crontab format */
	int check;                  /* import -check: parse and print, create nothing */
	/* Global flags and state. */
	int utc;                    /* -utc: print times in UTC */
	Zone *zone;                 /* the zone times are printed in (ctl_zone); main frees it */
	Buf warned;                 /* warnings printed, one a line: each is said once */
} Ctl;

/* A command's body, or its check of x->args: returns an exit status (a
 * check returns -1 to go on). */
typedef int CtlRun(Ctl *x);

struct CtlCmd {
	const char *name;
	CtlRun *run;
	const char *flags;          /* the flags it takes, space-separated: "f n raw" */
	int min, max;               /* how many arguments follow them */
	CtlRun *check;              /* checks the arguments before connecting; may be NULL */
	int dial;                   /* needs jobd: connected before run */
	const char *usage;          /* synopsis after the name: "[-f] [-n N] NAME" */
	const char *summary;        /* one line for `jobctl help` */
	const char *help;           /* the rest of `jobctl help NAME` (-raw's lines are added) */
	int section;                /* in `jobctl help`: 0 jobs, 1 a cluster, 2 any file, 3 help */
};

/* ---- cmds.c ---- */
extern const CtlCmd ctl_cmds[];                /* ends with a zero entry */
const CtlCmd *ctl_cmd_find(const char *name);
/* The overview (`jobctl help`) and one command's help, to f. */
void ctl_help(FILE *f);
void ctl_help_cmd(const CtlCmd *cmd, FILE *f);
/* `jobctl help settings`: one setting a line, "NAME ABOUT[; one of: WORDS]". */
void ctl_settings_list(FILE *f);
/* Runs x->cmd with argv (argv[0] is its name): parses the flags it takes
 * into x, checks that between min and max arguments follow them and calls
 * its check, connects if it needs jobd, and runs it. Returns its exit status,
 * EX_OK after printing the help (-h, -help, --help), EX_USAGE after a usage
 * message, or EX_CONNECT after saying why jobd could not be reached. */
int ctl_run(Ctl *x, int argc, char **argv);
/* Prints "jobctl CMD: <message>" and the command's synopsis; returns EX_USAGE. */
int ctl_usage(Ctl *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- conn.c ---- */
/* The address: -a, else $JOBD_ADDR, else ./.jobd/jobd.sock or
 * /run/jobd/jobd.sock if either is a socket, else 127.0.0.1:5640. *from says
 * which, for messages. */
const char *ctl_default_addr(const char *flag, const char **from);
/* The connection, dialled, versioned (9P2000.u, whose errors carry jobd's
 * text) and attached on first use. NULL after printing "cannot connect" and a
 * hint (ctl_run then returns EX_CONNECT). */
Client *ctl_client(Ctl *x);
/* Dials addr, versions and attaches, quietly: NULL with why (*answered: the
 * address was reached but did not answer as jobd does). */
Client *ctl_dial(const char *addr, int *answered, char *why, size_t n);
/* Prints "jobctl: who: why" and returns EX_REFUSED. */
int ctl_refused(const char *who, const char *why);
/* jobctl's exit status for -errno rc from jobd or the connection: EX_CONNECT
 * for a connection lost, EX_NOTFOUND for ENOENT, EX_REFUSED for the rest. */
int ctl_exit_for(int rc);
/* Prints "jobctl: who: why" (saying so when the connection was lost) and
 * returns ctl_exit_for(rc). */
int ctl_fail(const char *who, int rc, const char *why);
/* The same for a failure on one of job `name`'s files: a -ENOENT from a job
 * that does not exist becomes "no such job". */
int ctl_job_refused(Ctl *x, const char *name, int rc, const char *why);

/* jobd's reply to a write, read back from the fid written (a ctl or
 * /clone): lines "run N" (a run verb's run), "warning: TEXT", and others (the
 * job's state after a ctl write; the new job's name first after a clone). */
enum { CTL_REPLY_OTHER, CTL_REPLY_RUN, CTL_REPLY_WARNING };
typedef struct CtlReplyLine {
	int kind;
	const char *text;           /* the line (a warning: its TEXT), not terminated */
	size_t len;
	long run;                   /* CTL_REPLY_RUN: N */
	int skipped;                /* ... "run N skipped": its overlap setting kept it from starting */
} CtlReplyLine;
/* The line at *p into l, *p moved past it; 0 at the end of the text. */
int ctl_reply_next(const char **p, CtlReplyLine *l);
typedef struct CtlReply {
	long run;                   /* the run a run verb started or queued; 0 if jobd did not say */
	int skipped;                /* ... or recorded as skipped */
} CtlReply;
/* Writes text to path and reads jobd's reply from the same open file:
 * prints its warnings (each once per invocation) to stderr as "jobctl: who:
 * warning: TEXT" and fills r. A jobd without replies answers with the state
 * or the name alone; r then has no run. Returns the write's 0 or -errno. */
int ctl_command(Ctl *x, const char *who, const char *path, const char *text, CtlReply *r,
                char *why, size_t n);
/* Whether jobs/name exists (1), not (0), or the question failed (-errno). */
int ctl_job_exists(Ctl *x, const char *name);
/* "jobs/NAME/FILE" into out (FILE may be NULL: the directory). */
const char *ctl_job_path(char *out, size_t n, const char *name, const char *file);
/* "jobs/NAME/runs/RUN/FILE" into out. */
const char *ctl_run_path(char *out, size_t n, const char *name, long run, const char *file);
/* The whole file as a NUL-terminated string (free it), or NULL with rc and why. */
char *ctl_read(Ctl *x, const char *path, int *rc, char *why, size_t n);
/* Writes data to path in one message (an empty value is sent as "\n", which
 * jobd reads as empty: a write of no bytes would not reach it). */
int ctl_write(Ctl *x, const char *path, const char *data, size_t len, char *why, size_t n);
/* Files of many jobs, read in one pipeline (client_read_many). */
typedef struct JobFiles {
	char **text;                /* [job * nfiles + file]: its text, or NULL */
	int *rc;                    /* the read's 0 or -errno */
	size_t nfiles, total;
	char why[256];              /* why the first read that failed did */
} JobFiles;
/* Reads files[0..nfiles) of each job named; a file missing is a NULL text
 * and its -errno. 0, or -errno if the connection failed (free jf anyway). */
int ctl_read_jobs(Ctl *x, char **names, size_t count, const char *const *files, size_t nfiles,
                  JobFiles *jf, char *why, size_t n);
void ctl_jobfiles_free(JobFiles *jf);
/* Names of runs/ of a job, as numbers, ascending. *runs is malloc'ed. */
int ctl_job_runs(Ctl *x, const char *name, long **runs, size_t *count, char *why, size_t n);

/* ---- escape.c ---- */
/* Appends s[0..len) to out with the bytes that could drive a terminal shown
 * as \xHH: C0 controls but \t and \n, DEL, C1 controls (U+0080-U+009F) and
 * any byte outside valid UTF-8. The rest, as it is. */
void ctl_escape(Buf *out, const char *s, size_t len);
/* Writes text a job controls (output, log, cmd, a file) to stdout: escaped
 * with ctl_escape on a terminal, as it is with -raw or when piped. */
void ctl_print(Ctl *x, const char *s, size_t len);
/* Appends s as one table cell: ctl_escape, and tab and newline as \x09 and
 * \x0a too, whatever the output (they would split the columns). */
void ctl_cell(Buf *out, const char *s);
/* The length of the valid UTF-8 sequence at p (n bytes left), with its code
 * point in *cp; 0 if the bytes there are not one (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF). */
size_t ctl_utf8_seq(const unsigned char *p, size_t n, uint32_t *cp);

/* ---- times.c ---- */
/* A time read from jobd: set is 0 for none ("-"). */
typedef struct CtlTime {
	int64_t sec;
	long nsec;
	int set;
} CtlTime;
/* The zone times are printed in: UTC with -utc, else the local one ($TZ,
 * /etc/localtime). Loaded on first use; NULL after saying why (an unknown
 * $TZ): the command then exits EX_REFUSED, as for any unknown zone. */
const Zone *ctl_zone(Ctl *x);
int64_t ctl_now(void);
/* t in z as RFC 3339 to the second ("2026-12-02T09:00:00-05:00"), "-" if
 * not set; returns out. */
const char *ctl_time_str(const Zone *z, CtlTime t, char *out, size_t n);
/* The same with the fraction of a second, if any, for JSON. */
const char *ctl_time_json(const Zone *z, CtlTime t, char *out, size_t n);
/* Log, output or event lines (jobd's), printed with ctl_print, each line's
 * time in the user's zone, RFC 3339 to the second; a log line keeps its
 * form, <time>:<text>: "2026-11-28T09:00:01+01:00:hello". With -raw, as
 * jobd wrote them (Go's time.String(), in jobd's zone, to the nanosecond).
 * events: lines of /events ("SEQ TIME ..."); else "<Go time>:<text>". */
void ctl_print_lines(Ctl *x, const char *s, size_t len, int events);
/* delta seconds from now, as systemctl list-timers shows it: "in 3h12m",
 * "5m ago", "now" (the two largest units). */
void ctl_reltime(int64_t delta, char *out, size_t n);
/* "-" or "" (unset) or RFC 3339 into *t; -EINVAL for anything else. */
int ctl_time_parse(const char *s, CtlTime *t);
/* A job's status line (jobs/NAME/status). */
typedef struct JobStatus {
	char state[16];             /* started, stopped */
	CtlTime next, last_start, last_end;
	int has_next;               /* the line has next= (not a status made up from ctl) */
	char last_status[64];       /* exit:0, signal:TERM; "" before any run ended */
	long long runs, failures;
	int pid;                    /* the newest run going; 0: none */
	int active;                 /* runs going: active=N, else 1 if a pid */
} JobStatus;
void job_status_parse(const char *line, JobStatus *st);
/* A run's status line (jobs/NAME/runs/N/status). */
typedef struct RunStatus {
	long run;
	CtlTime sched, start, end;
	double duration, lateness;  /* seconds; -1: none */
	char state[16];             /* waiting, running, done, interrupted, skipped */
	char status[64];            /* exit:0, signal:TERM; "" while not ended */
	int manual, timed_out, killed, truncated;
	int pid;                    /* 0: none */
	long long output_bytes;
} RunStatus;
void run_status_parse(const char *line, RunStatus *r);
/* Copies a line of key=value fields to out with every RFC 3339 value shown
 * in z instead (jobd writes its own zone). */
void ctl_rezone(const char *line, const Zone *z, Buf *out);

/* ---- json.c ---- */
enum { JSON_DEPTH = 8 };
typedef struct Json {
	Buf *out;
	int depth;
	int count[JSON_DEPTH];      /* values written so far in each open container */
} Json;
void json_init(Json *j, Buf *out);
/* Opens '{' or '[' (a member named key of an object; key NULL in an array
 * or at the top) and closes it with '}' or ']'. */
void json_open(Json *j, const char *key, char bracket);
void json_close(Json *j, char bracket);
/* Values: a string (NULL: null), an integer, a number (negative: null), a
 * boolean, a time in z (RFC 3339 with the fraction; unset: null). */
void json_str(Json *j, const char *key, const char *v);
void json_int(Json *j, const char *key, long long v);
void json_num(Json *j, const char *key, double v);
void json_bool(Json *j, const char *key, int v);
void json_time(Json *j, const char *key, const Zone *z, CtlTime t);
/* s[0..len) as a JSON string, quoted. */
void json_quote(Buf *out, const char *s, size_t len);

/* ---- table.c ---- */
/* Rows of text cells, printed aligned under a header on a terminal, or as
 * tab-separated lines without the header when piped. */
typedef struct Table {
	char **cell;                /* nrows * ncols, malloc'ed strings */
	size_t ncols, nrows, cap;
} Table;
void table_init(Table *t, size_t ncols);
/* Adds a row of exactly t->ncols strings (NULL prints as "-"); the first
 * row added is the header. */
void table_row(Table *t, ...);
void table_print(const Table *t, FILE *f, int aligned);
void table_free(Table *t);
/* A listing (ls, nodes) as -o asks: -o json an array of an object per
 * item; else a table, a row per item under the header head, or wide_head
 * for -o wide (NULL-ended lists of column names), printed aligned on a
 * terminal. each(arg, i, t, j) adds item i (0 to n - 1): a row to t, or an
 * object to j when t is NULL; or nothing, for an item gone meanwhile. */
typedef void CtlListItem(void *arg, size_t i, Table *t, Json *j);
void ctl_list(Ctl *x, const char *const *head, const char *const *wide_head, size_t n,
              CtlListItem *each, void *arg);
/* The value of key in a line of space-separated key=value fields (jobd's
 * status files), copied into out; 0, or -1 if the key is absent. */
int kv_get(const char *line, const char *key, char *out, size_t n);

/* ---- edittext.c ---- */
/* A job's settings (setting_tab) as `jobctl edit` shows them: "key: value"
 * lines, a value of several lines (env, a multi-line cmd) continued on
 * indented lines. */
typedef struct Settings {
	char *v[SET_N];             /* malloc'ed values as the files hold them; NULL = absent */
} Settings;
void settings_render(const Settings *s, const char *job, Buf *out);
/* Parses an edited text into out (all NULL first). -EINVAL with "line N: ..."
 * in why for a syntax error, an unknown or repeated key. */
int settings_parse(const char *text, Settings *out, char *why, size_t n);
/* Checks every value with the daemon's own parsers (setting_parse; the
 * schedule's TZ= zone excepted: jobd's zone database may differ from this
 * machine's). -EINVAL with the reason, which names the setting, in why. */
int settings_check(const Settings *s, char *why, size_t n);
/* Strips a value as read from its file: a started job's ":<next run>" after
 * the schedule, the newline ending env's lines. */
void settings_from_file(int key, char *value);
void settings_free(Settings *s);

/* ---- crontab.c ---- */
/* Environment lines in force ("KEY=value"), in the order cron lists them. */
typedef struct CronEnv {
	char **v;
	size_t n, cap;
} CronEnv;
void cronenv_free(CronEnv *e);
/* A job as a crontab holds it (import) or is to hold it (export). */
typedef struct CronJob {
	int line;                   /* import: its line, from 1 */
	char *name;                 /* "# jobctl name" above it; export: the job's name */
	char auto_name[48];         /* import: a name made from the command (crontab_name) */
	char *schedule;             /* "[TZ=Zone ]expression": CRON_TZ becomes the prefix */
	char *cmd;                  /* the command, '%' handled (crontab_percent) */
	char *user;                 /* the user column of the system format, or NULL */
	char *env;                  /* KEY=value lines in force at its line */
	char *set[SET_N];           /* "# jobctl set KEY VALUE" (crontab_setting), canonical */
	int stopped;                /* "# jobctl stopped", the entry commented out */
	int bad;                    /* import: a "# jobctl" line above it was refused */
} CronJob;
/* What import says about a line: an error refuses it, a warning does not. */
typedef struct CronNote {
	int line;
	int error;
	char *text;
} CronNote;
typedef struct Crontab {
	CronJob *v;                 /* the entries taken, in order */
	size_t n, cap;
	CronNote *notes;            /* in line order */
	size_t nnotes, notescap;
} Crontab;
/* Reads a crontab; system: /etc/crontab's format, a user column after the
 * schedule. Never fails as a whole: a line it cannot take is an error note,
 * the rest goes on. The schedules are checked with jobd's parser (not their
 * zones: jobd's zone database may differ from this machine's). */
void crontab_parse(const char *text, int system, Crontab *ct);
void crontab_free(Crontab *ct);
/* 1 if setting i (SET_*) goes in a "# jobctl set" line: every one but what
 * a crontab line holds itself (schedule, cmd, env). */
int crontab_setting(int i);
/* A command field split as cron does: up to the first unescaped '%' into
 * cmd, the rest into input with '%' as newlines; "\%" is '%'. */
void crontab_percent(const char *s, Buf *cmd, Buf *input, int *has_input);
/* cmd with input on its standard input, in /bin/sh on one line. */
void crontab_with_input(const char *cmd, const char *input, Buf *out);
/* A job name made from a command: [A-Za-z0-9_], at most 40, never empty. */
void crontab_name(const char *cmd, char *out, size_t n);
/* Export: the CRON_TZ and environment in force between jobs. */
typedef struct CronOut {
	int system;                 /* write the user column */
	const char *user;           /* ... as this */
	char *zone;
	CronEnv env;
} CronOut;
void crontab_header(Buf *out, int system);
/* Appends job j (name, schedule, cmd, env, set, stopped) as crontab lines:
 * what changes CRON_TZ and the environment to its, its "# jobctl" lines, its
 * entry. -EINVAL with why if a crontab cannot hold it (seconds or years in
 * the schedule, a command of several lines). */
int crontab_put(CronOut *w, const CronJob *j, Buf *out, char *why, size_t n);
void cronout_free(CronOut *w);

/* ---- the commands, and the checks of their arguments: jobcmds.c ---- */
CtlRun ctl_cmd_new, ctl_cmd_run, ctl_cmd_kill, ctl_cmd_set;
CtlRun ctl_cmd_verb;                                /* start, stop, rm */
CtlRun ctl_check_new, ctl_check_kill, ctl_check_set;
/* Writes text to each named job's ctl with ctl_command (jobd's warnings
 * printed); goes on past a failure (not past a lost connection) and returns
 * the first one's exit status. */
int ctl_each(Ctl *x, char **names, int n, const char *text);

/* ---- show.c ---- */
CtlRun ctl_cmd_ls, ctl_cmd_status;

/* ---- nodes.c ---- */
CtlRun ctl_cmd_nodes;
/* A node's own view of itself: the "local" line of its status, read
 * through it. */
typedef struct NodeLocal {
	int set;                    /* the line was there */
	char state[16];             /* up, down, fenced */
	long long epoch, lease_left_ms, clock_offset_ms, rtt_ms, renewals, failures;
} NodeLocal;
/* A cluster node's status (nodes/NAME/status): its row in the database. */
typedef struct NodeStatus {
	char name[72];
	char state[16];             /* up or down, by the database's clock */
	long long epoch;
	int has_lease;              /* lease_left is a time, not "-" (never renewed) */
	long long lease_left_ms;    /* <= 0: the lease ended that long ago */
	long long clock_offset_ms;  /* the database's clock less the node's */
	int clock_off;              /* clock=off: more than 1 s */
	long long runs_started;
	CtlTime started;
	NodeLocal local;
} NodeStatus;
/* The text of nodes/NAME/status into st; 0, or -EINVAL without a node line. */
int node_status_parse(const char *text, NodeStatus *st);
/* Whether its lease is over (or never was). */
int node_lapsed(const NodeStatus *st);
/* The LEASE column: "8.2s left", "lapsed 3m ago", or "-" for none. */
void node_lease_text(const NodeStatus *st, char *out, size_t n);
/* Seconds as jobd writes them ("8.213s", "-0.004s") in milliseconds;
 * -EINVAL for anything else. */
int ctl_secs_ms(const char *s, long long *ms);

/* ---- import.c ---- */
CtlRun ctl_cmd_import, ctl_cmd_export, ctl_check_import;

/* ---- runs.c ---- */
CtlRun ctl_cmd_log, ctl_cmd_runs, ctl_cmd_output;
CtlRun ctl_check_last, ctl_check_output;           /* -n N of log and runs; RUN */
/* How a run ended, from its runs/N/status line: "exit:0", "signal:TERM
 * timed-out", "running", "skipped"..., then " manual" if asked and so. */
void run_describe(const char *status, int manual, char *out, size_t n);

/* ---- follow.c: log -f, output -f, run -w, events ---- */
/* log -f: the last `tail` lines (all: -1), then each line as it comes,
 * until SIGINT or SIGTERM (EX_OK); across restarts of jobd. */
int ctl_follow_log(Ctl *x, const char *name, long tail);
CtlRun ctl_cmd_events;
/* Where the last `tail` lines of s[0..len) begin. */
size_t ctl_tail_start(const char *s, size_t len, long tail);
/* Follows run `run` of job `name`: prints its output as it comes until the
 * run has ended, then returns its runs/N/status line (free it) or NULL. */
char *ctl_follow_run(Ctl *x, const char *name, long run, int *rc);

/* ---- edit.c ---- */
CtlRun ctl_cmd_edit, ctl_check_edit;

/* ---- plumb.c ---- */
CtlRun ctl_cmd_read, ctl_cmd_write, ctl_cmd_lsfiles, ctl_cmd_next, ctl_cmd_help;

#endif
