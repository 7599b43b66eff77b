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
#include "jobs/settings.h"
#include "util/flags.h"
#include "util/util.h"

/* Exit statuses. EX_REFUSED also covers jobctl's own checks of a value
 * before it is sent (a bad cron expression in `edit`). */
enum { EX_OK = 0, EX_REFUSED = 1, EX_USAGE = 2, EX_CONNECT = 3 };

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
	int section;                /* in `jobctl help`: 0 jobs, 1 any file, 2 help */
};

/* ---- cmds.c ---- */
extern const CtlCmd ctl_cmds[];                /* ends with a zero entry */
const CtlCmd *ctl_cmd_find(const char *name);
/* The overview (`jobctl help`) and one command's help, to f. */
void ctl_help(FILE *f);
void ctl_help_cmd(const CtlCmd *cmd, FILE *f);
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
/* Prints "jobctl: who: why" and returns EX_REFUSED. */
int ctl_refused(const char *who, const char *why);
/* The same for a failure on one of job `name`'s files: a -ENOENT from a job
 * that does not exist becomes "no such job". */
int ctl_job_refused(Ctl *x, const char *name, int rc, const char *why);
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

/* ---- the commands, and the checks of their arguments: jobcmds.c ---- */
CtlRun ctl_cmd_ls, ctl_cmd_new, ctl_cmd_run, ctl_cmd_kill, ctl_cmd_status, ctl_cmd_set;
CtlRun ctl_cmd_verb;                                /* start, stop, rm */
CtlRun ctl_check_new, ctl_check_kill, ctl_check_set;

/* ---- runs.c ---- */
CtlRun ctl_cmd_log, ctl_cmd_runs, ctl_cmd_output;
CtlRun ctl_check_last, ctl_check_output;           /* -n N of log and runs; RUN */
/* How a run ended, from its runs/N/status line: "exit:0", "signal:TERM
 * timed-out", "running", "skipped"..., then " manual" if asked and so. */
void run_describe(const char *status, int manual, char *out, size_t n);
/* Sleeps ms milliseconds, less if SIGINT or SIGTERM ends a follow. */
void ctl_nap(long ms);
/* Follows run `run` of job `name`: prints its output as it comes until the
 * run has ended, then returns its runs/N/status line (free it) or NULL. */
char *ctl_follow_run(Ctl *x, const char *name, long run, int *rc);

/* ---- edit.c ---- */
CtlRun ctl_cmd_edit, ctl_check_edit;

/* ---- plumb.c ---- */
CtlRun ctl_cmd_read, ctl_cmd_write, ctl_cmd_lsfiles, ctl_cmd_next, ctl_cmd_help;

#endif
