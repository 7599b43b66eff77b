/* jobctl's command table: names, flags, argument counts, synopses and help
 * texts, and the parsing every command shares. The texts here, `jobctl help`,
 * jobctl(1) and the bash completion name the same commands;
 * tests/e2e/jobctl.sh checks so. */
#include <stdarg.h>
#include <string.h>

#include "ctl/ctl.h"

enum { MANY = 1 << 20 };       /* no upper bound on the arguments */

/* The end of the help of every command that takes -o. */
static const char o_help[] =
	"  -o wide  more columns (more fields, for status)\n"
	"  -o json  one JSON text; its fields are listed in jobctl(1), times RFC 3339\n";

/* The end of the help of every command that takes -raw. */
static const char raw_help[] =
	"  -raw  control characters as they are, on a terminal too (see ESCAPES in\n"
	"        jobctl(1)); piped, they always are\n";

/* A row: name, body, flags, least and most arguments, their check, needs
 * jobd; synopsis, summary, help; section. */
const CtlCmd ctl_cmds[] = {
	{ "ls", ctl_cmd_ls, "o", 0, 0, NULL, 1,
	  "[-o wide|json]", "list jobs: schedule, state, runs going, next and last run",
	  "One line per job: NAME, SCHEDULE, STATE (started or stopped), ACTIVE (runs\n"
	  "going), NEXT (the next run; never if the schedule has no time left, - when\n"
	  "stopped) and LAST RUN (when the last run started and how it ended: exit:N,\n"
	  "signal:NAME, running; - if none). -o wide adds RUNS, FAILURES, PID and CMD.\n"
	  "On a terminal the columns are aligned under a header; piped, they are\n"
	  "tab-separated, one job a line, without the header.\n", 0 },
	{ "new", ctl_cmd_new, "start", 3, MANY, ctl_check_new, 1,
	  "[-s] NAME SCHEDULE COMMAND...", "create a job (stopped, or started with -s)",
	  "Writes NAME:SCHEDULE:COMMAND to /clone. The words of COMMAND are joined with\n"
	  "spaces and run by /bin/sh -c. Quote SCHEDULE, e.g. '0 9 * * 1-5'; it may start\n"
	  "with a time zone: 'TZ=Europe/Paris 0 9 * * *'. jobd's warnings (a schedule\n"
	  "that never fires) go to standard error; they do not fail the command.\n"
	  "  -s    start it too\n", 0 },
	{ "start", ctl_cmd_verb, "", 1, MANY, NULL, 1,
	  "NAME...", "start scheduling jobs",
	  "Writes start to each job's ctl. Starting a started job changes nothing.\n", 0 },
	{ "stop", ctl_cmd_verb, "", 1, MANY, NULL, 1,
	  "NAME...", "stop scheduling jobs",
	  "Writes stop to each job's ctl; a run in progress finishes.\n", 0 },
	{ "run", ctl_cmd_run, "w raw", 1, 1, NULL, 1,
	  "[-w] [-raw] NAME", "run a job now, outside its schedule",
	  "Writes run to the job's ctl and prints the run's number; the job's overlap\n"
	  "setting decides what happens if a run is going (a run skipped exits 1). With\n"
	  "-w, waits for the run, prints its output as it comes and exits 1 unless it\n"
	  "ended with exit:0. On a terminal, control characters in the output are shown\n"
	  "escaped (\\x1b).\n"
	  "  -w    wait for the run to end\n", 0 },
	{ "kill", ctl_cmd_kill, "s", 1, 1, ctl_check_kill, 1,
	  "[-s SIGNAL] NAME", "signal a job's current run",
	  "Without -s: SIGTERM to the run's process group, SIGKILL after the grace period.\n"
	  "With -s: that signal, once (HUP, SIGUSR1, 9, ...). Fails if no run is going.\n"
	  "  -s SIGNAL  the signal to send\n", 0 },
	{ "rm", ctl_cmd_verb, "", 1, MANY, NULL, 1,
	  "NAME...", "delete jobs",
	  "Writes delete to each job's ctl: a running process group is killed, the job's\n"
	  "runs and log are removed and the name is free at once.\n", 0 },
	{ "status", ctl_cmd_status, "o raw", 1, 1, NULL, 1,
	  "[-o wide|json] [-raw] NAME", "a job's state, next run and last run",
	  "Piped, prints the job's status file: one line of key=value fields (state, next,\n"
	  "last_start, last_end, last_status, runs, failures, pid...), its times in your\n"
	  "zone. On a terminal, one field a line, with the schedule and the command,\n"
	  "each time followed by how far it is (in 3h12m, 5m ago); control characters\n"
	  "shown escaped (\\x1b). -o wide: that, with the settings, wherever it goes.\n", 0 },
	{ "log", ctl_cmd_log, "f n raw", 1, 1, ctl_check_last, 1,
	  "[-f] [-n N] [-raw] NAME", "a job's execution history",
	  "Prints the job's log: <time>:<text> lines, oldest first. On a terminal,\n"
	  "control characters in the text are shown escaped (\\x1b).\n"
	  "  -f    follow: print new lines as they come, until interrupted; if jobd\n"
	  "        restarts, dial it again and go on where it was\n"
	  "  -n N  print only the last N lines first\n", 0 },
	{ "events", ctl_cmd_events, "raw", 0, 0, NULL, 1,
	  "[-raw]", "what happens, as it happens",
	  "Prints jobd's events from now on, one line each, until interrupted: SEQ TIME\n"
	  "KIND JOB [key=value...], KIND one of job.created, job.changed, job.started,\n"
	  "job.stopped, job.deleted, run.queued, run.started, run.ended, run.skipped\n"
	  "(jobd(8)'s name space: /events). If jobd restarts, dials it again and goes on\n"
	  "with the new jobd's events, none twice; 'dropped N' says N were lost. Times\n"
	  "are in your zone, to the second (-raw: as jobd gives them, UTC).\n", 0 },
	{ "runs", ctl_cmd_runs, "n o", 1, 1, ctl_check_last, 1,
	  "[-n N] [-o wide|json] NAME", "a job's recorded runs",
	  "One line per recorded run, oldest first: RUN (its number), START, DURATION and\n"
	  "STATUS (exit:N, signal:NAME, or the state of a run that has not ended:\n"
	  "running, skipped, interrupted, lost; then timed-out, killed or manual if so).\n"
	  "Aligned under a header on a terminal, tab-separated when piped. -o wide adds\n"
	  "SCHEDULED, END, PID, OUTPUT (bytes) and LATENESS.\n"
	  "  -n N  only the last N runs\n", 0 },
	{ "output", ctl_cmd_output, "f raw", 1, 2, ctl_check_output, 1,
	  "[-f] [-raw] NAME [RUN]", "what a run printed",
	  "Prints runs/RUN/output: the run's stdout and stderr as <time>:<text> lines.\n"
	  "RUN defaults to the latest run. On a terminal, control characters in the text\n"
	  "are shown escaped (\\x1b).\n"
	  "  -f    follow the run until it ends (across restarts of jobd)\n", 0 },
	{ "edit", ctl_cmd_edit, "", 1, 1, ctl_check_edit, 1,
	  "NAME", "edit a job's settings with $EDITOR",
	  "Writes the job's settings (below) as 'key: value' lines to a temporary file\n"
	  "and opens $EDITOR on it (vi if unset).\n"
	  "When the editor exits 0, the file is read back and what changed is checked\n"
	  "with jobd's own parsers, then applied: one-line values in a single\n"
	  "write of 'set KEY VALUE' lines to ctl, which jobd applies in order, stopping at\n"
	  "the first value it refuses; values of several lines (env) after it, each in\n"
	  "one write of its file. Nothing changed, nothing written. If the file does not\n"
	  "check, it is kept and its path printed (on a terminal you may edit it again).\n", 0 },
	{ "set", ctl_cmd_set, "", 3, MANY, ctl_check_set, 1,
	  "NAME KEY VALUE...", "change one setting of a job",
	  "Writes VALUE to the job's setting file KEY (below). For cmd and limits the\n"
	  "words of VALUE are joined with spaces (set NAME limits nproc=64 nofile=1024);\n"
	  "for env each word is one KEY=value line (set NAME env A=1 B=2); an empty\n"
	  "VALUE ('') clears dir, env or limits.\n", 0 },
	{ "next", ctl_cmd_next, "n from tz o", 1, 1, NULL, 0,
	  "[-n N] [-from TIME] [-tz ZONE] [-o wide|json] EXPR|JOB", "when a schedule fires",
	  "Prints the next N fire times of EXPR, or of job JOB's schedule, computed here\n"
	  "with jobd's own parser and arithmetic (an EXPR needs no daemon). EXPR may start\n"
	  "with TZ=Zone (or CRON_TZ=Zone), as a job's schedule does: it is evaluated in\n"
	  "that zone, else in -tz's, else in the local one. The times are printed in your\n"
	  "zone (-tz's if given); never when there is none left. -o wide adds each time\n"
	  "in the schedule's zone and how far it is.\n"
	  "  -n N        how many (default 5)\n"
	  "  -from TIME  start after this RFC 3339 time (default now)\n"
	  "  -tz ZONE    show the times in this IANA zone, and evaluate a schedule\n"
	  "              without TZ= in it (default: $TZ, the local zone)\n", 0 },
	{ "import", ctl_cmd_import, "u check raw", 1, 1, ctl_check_import, 0,
	  "[-u USER] [-check] [-raw] FILE|-", "create jobs from a crontab",
	  "Reads a crontab (a user's, or with -u /etc/crontab's format, whose lines name a\n"
	  "user) and creates one started job per entry, named after its command unless a\n"
	  "'# jobctl name' line says; reports each job made and each line refused, with\n"
	  "its number. Environment lines become the jobs' env, CRON_TZ their zone; '%'\n"
	  "in a command starts its standard input, as in cron; @reboot is refused.\n"
	  "  -u USER  /etc/crontab's format: import USER's lines, as USER (jobd makes a\n"
	  "           job its creator's); the lines of other users are skipped\n"
	  "  -check   print what would be made, make nothing (needs no daemon)\n", 0 },
	{ "export", ctl_cmd_export, "u raw", 0, MANY, NULL, 1,
	  "[-u USER] [-raw] [JOB...]", "write jobs as a crontab",
	  "Writes the jobs named (all of them by default) as a crontab that import reads\n"
	  "back to the same jobs: what cron has no words for (names, settings, stopped\n"
	  "jobs) goes in '# jobctl' comment lines. A job whose schedule has seconds or a\n"
	  "year, or whose command has several lines, cannot be written (exit status 1).\n"
	  "  -u USER  /etc/crontab's format, with USER in the user column\n", 0 },
	{ "nodes", ctl_cmd_nodes, "o", 0, 0, NULL, 1,
	  "[-o wide|json]", "list a cluster's nodes: state, epoch, lease, clock offset, runs",
	  "One line per node of the cluster this jobd belongs to (jobd -store), from its\n"
	  "nodes/NAME/status: NAME, STATE (up while its lease has time left by the\n"
	  "database's clock, else down), EPOCH (bumped at each start of the node), LEASE\n"
	  "(how long it has left, or 'lapsed 2m ago': the node is dead, stopped or cut\n"
	  "off), CLOCK OFFSET (the database's clock less the node's; 'off' past 1 s) and\n"
	  "RUNS (started since the node's start). -o wide adds STARTED and, for the node\n"
	  "jobctl is connected to, its own view: LOCAL LEASE (the lease as it reckons it,\n"
	  "which ends before the database's), RTT (of its last renewal) and FAILURES\n"
	  "(renewals failed in a row). Each node's status is asked of the database: with\n"
	  "the database away, the command fails with jobd's reason. Exits 4 if jobd is\n"
	  "not a node of a cluster.\n", 1 },
	{ "read", ctl_cmd_read, "raw", 1, 1, NULL, 1,
	  "[-raw] PATH", "print a file of the name space",
	  "Prints the file at PATH (relative to the root: jobs/hello/cmd), byte for byte\n"
	  "when piped; on a terminal, control characters are shown escaped (\\x1b).\n", 2 },
	{ "write", ctl_cmd_write, "", 1, 2, NULL, 1,
	  "PATH [DATA]", "write to a file of the name space",
	  "Writes DATA, or standard input when DATA is absent, to PATH in one message, as\n"
	  "jobd's files want it.\n", 2 },
	{ "ls-files", ctl_cmd_lsfiles, "", 0, 1, NULL, 1,
	  "[PATH]", "list a directory of the name space",
	  "Prints the names in the directory PATH (default /), one a line, in jobd's order.\n", 2 },
	{ "help", ctl_cmd_help, "", 0, 1, NULL, 0,
	  "[COMMAND|commands|settings]", "this text, or a command's",
	  "jobctl help COMMAND is jobctl COMMAND --help. jobctl help commands lists the\n"
	  "commands, one a line; jobctl help settings the settings, one a line: its name,\n"
	  "what it is, and '; one of: WORDS' for those that take a word (the shell\n"
	  "completions read both).\n", 3 },
	{ 0 },
};

const CtlCmd *ctl_cmd_find(const char *name)
{
	for (const CtlCmd *c = ctl_cmds; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

void ctl_help(FILE *f)
{
	fputs("usage: jobctl [-a ADDR] [-utc] COMMAND [ARGS]\n"
	      "       jobctl COMMAND --help\n"
	      "       jobctl -version\n"
	      "\n"
	      "jobctl drives jobd, cron served as a 9P file system. Everything it does, the\n"
	      "files of the name space can do (see jobd-namespace(5)).\n", f);
	static const char *const sections[] = { "Jobs", "A cluster", "Any file of the name space",
	                                        "Help" };
	for (int sec = 0; sec < 4; sec++) {
		fprintf(f, "\n%s:\n", sections[sec]);
		for (const CtlCmd *c = ctl_cmds; c->name; c++) {
			if (c->section != sec)
				continue;
			char syn[128];
			strfmt(syn, sizeof syn, "%s %s", c->name, c->usage);
			if (strlen(syn) > 30)
				fprintf(f, "  %s\n  %-30s  %s\n", syn, "", c->summary);
			else
				fprintf(f, "  %-30s  %s\n", syn, c->summary);
		}
	}
	fputs("\nOptions:\n"
	      "  -a ADDR   jobd's address: host:port, tcp!host!port, unix!/path, or a socket\n"
	      "            path; default $JOBD_ADDR, then ./.jobd/jobd.sock or\n"
	      "            /run/jobd/jobd.sock if present, then 127.0.0.1:5640\n"
	      "  -utc      print times in UTC (default: $TZ, else the local zone)\n"
	      "  -version  print the version and exit\n"
	      "\n"
	      "Exit status: 0 done, 1 refused or failed (jobd's message is printed, or\n"
	      "jobctl's when it refuses a value itself), 2 usage, 3 cannot connect or\n"
	      "connection lost, 4 not found.\n", f);
}

/* Whether the space-separated list names holds name. */
static int listed(const char *names, const char *name)
{
	size_t len = strlen(name);
	for (const char *p = names; *p;) {
		size_t k = strcspn(p, " ");
		if (k == len && !strncmp(p, name, len))
			return 1;
		p += k;
		p += strspn(p, " ");
	}
	return 0;
}

/* The settings, from their table, one a line after indent: for the help of
 * set and edit, and for `jobctl help settings`, which the completions read. */
static void settings_list(FILE *f, const char *indent)
{
	for (int i = 0; i < SET_N; i++) {
		const Setting *s = &setting_tab[i];
		fprintf(f, "%s%-9s %s", indent, s->name, s->about);
		for (int k = 0; s->words && s->words[k]; k++)
			fprintf(f, "%s%s", k ? " " : "; one of: ", s->words[k]);
		fputs("\n", f);
	}
}

void ctl_settings_list(FILE *f)
{
	settings_list(f, "");
}

void ctl_help_cmd(const CtlCmd *c, FILE *f)
{
	fprintf(f, "usage: jobctl %s%s%s\n\n%s.\n\n%s%s%s", c->name, *c->usage ? " " : "",
	        c->usage, c->summary, c->help, listed(c->flags, "o") ? o_help : "",
	        listed(c->flags, "raw") ? raw_help : "");
	if (c->run == ctl_cmd_set || c->run == ctl_cmd_edit) {
		fputs("\nSettings:\n", f);
		settings_list(f, "  ");
	}
}

int ctl_usage(Ctl *x, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "jobctl %s: ", x->cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: jobctl %s %s (jobctl %s --help for more)\n", x->cmd->name,
	        x->cmd->usage, x->cmd->name);
	return EX_USAGE;
}

int ctl_run(Ctl *x, int argc, char **argv)
{
	const CtlCmd *cmd = x->cmd;
	/* Every flag of every command, by the name a row lists it under (new's
	 * -s is "start", kill's "s"); each command takes those its row names. */
	const char *out = NULL;
	const struct { const char *id; Flag f; } all[] = {
		{ "f", { "f", FLAG_BOOL, &x->follow, "follow", "false" } },
		{ "n", { "n", FLAG_INT, &x->n, "how many", "all" } },
		{ "raw", { "raw", FLAG_BOOL, &x->raw, "control characters as they are", "false" } },
		{ "w", { "w", FLAG_BOOL, &x->wait, "wait for the run to end", "false" } },
		{ "s", { "s", FLAG_STRING, &x->sig, "signal", "TERM, then KILL" } },
		{ "start", { "s", FLAG_BOOL, &x->start, "start it too", "false" } },
		{ "from", { "from", FLAG_STRING, &x->from, "start after this RFC 3339 time", "now" } },
		{ "tz", { "tz", FLAG_STRING, &x->tz, "IANA time zone", "local" } },
		{ "o", { "o", FLAG_STRING, &out, "output format: wide or json", "table" } },
		{ "u", { "u", FLAG_STRING, &x->user, "the user column's user", "none" } },
		{ "check", { "check", FLAG_BOOL, &x->check, "make nothing", "false" } },
	};
	Flag mine[sizeof all / sizeof all[0] + 1];
	size_t k = 0;
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		if (listed(cmd->flags, all[i].id))
			mine[k++] = all[i].f;
	mine[k] = (Flag){ 0 };
	x->n = CTL_UNSET;
	char why[256];
	int idx = flags_parse(mine, argc, argv, why, sizeof why);
	if (idx == -2) {
		ctl_help_cmd(cmd, stdout);
		return EX_OK;
	}
	if (idx < 0)
		return ctl_usage(x, "%s", why);
	if (out && !strcmp(out, "wide"))
		x->out = OUT_WIDE;
	else if (out && !strcmp(out, "json"))
		x->out = OUT_JSON;
	else if (out && strcmp(out, "table"))
		return ctl_usage(x, "-o: want wide or json, not '%s'", out);
	int n = argc - idx;
	if (n < cmd->min || n > cmd->max) {
		/* Flags stop at the first argument, as in Go: "log NAME -f" is a
		 * common slip, worth naming. */
		for (int i = idx; i < argc; i++)
			if (argv[i][0] == '-' && argv[i][1])
				return ctl_usage(x, "flags go before the arguments ('%s')", argv[i]);
		return ctl_usage(x, n < cmd->min ? "missing arguments" : "too many arguments");
	}
	x->args = argv + idx;
	x->nargs = n;
	int rc = cmd->check ? cmd->check(x) : -1;
	if (rc >= 0)
		return rc;
	if (cmd->dial && !ctl_client(x))
		return EX_CONNECT;
	return cmd->run(x);
}
