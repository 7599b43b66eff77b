/* jobd: flags, wiring, signals. Nothing else lives here. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "cmd/version.h"
#include "cluster/cluster.h"
#include "daemon/turn.h"
#include "cron/cron.h"
#include "fs/fs.h"
#include "jobs/jobs.h"
#include "metrics/metrics.h"
#include "run/run.h"
#include "srv/srv.h"
#include "store/store.h"
#include "util/flags.h"
#include "util/log.h"
#include "util/util.h"

typedef struct Daemon {
	uv_loop_t *loop;
	Store *store;
	Zone *zone;
	Jobs *jobs;
	Fs *fs;
	Srv *srv;
	Metrics *metrics;
	Turn *turn;                 /* the end of each loop turn: store, commit, reply */
	Cluster *cluster;           /* -store: this node of a cluster; NULL: SQLite alone */
	uv_signal_t sigterm, sigint, sighup;
	int stopping;
	int64_t started_ns;
} Daemon;

/* /stats: "key value" lines. */
static void render_stats(void *arg, Buf *out)
{
	Daemon *d = arg;
	JobsStats st;
	jobs_stats(d->jobs, &st);
	buf_printf(out, "uptime_seconds %lld\n", (long long)((wall_now_ns() - d->started_ns) / 1000000000));
	buf_printf(out, "jobs %llu\njobs_started %llu\nruns_running %llu\n",
	           (unsigned long long)st.jobs, (unsigned long long)st.started,
	           (unsigned long long)st.running);
	buf_printf(out, "runs_started %llu\nruns_failed %llu\n", (unsigned long long)st.runs_started,
	           (unsigned long long)st.runs_failed);
	buf_printf(out, "connections %u\nmessages %llu\n", srv_connections(d->srv),
	           (unsigned long long)srv_messages(d->srv));
	buf_printf(out, "store_commits %llu\nstore_commits_paced %llu\n",
	           (unsigned long long)(d->turn ? turn_commits(d->turn) : 0),
	           (unsigned long long)(d->turn ? turn_held_back(d->turn) : 0));
}

static void metric(Buf *out, const char *name, const char *type, const char *help, double v)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

/* The Prometheus text exposition format (version 0.0.4). */
static void render_metrics(void *arg, Buf *out)
{
	Daemon *d = arg;
	JobsStats st;
	jobs_stats(d->jobs, &st);
	metric(out, "jobd_uptime_seconds", "gauge", "Seconds since jobd started.",
	       (double)(wall_now_ns() - d->started_ns) / 1e9);
	metric(out, "jobd_jobs", "gauge", "Jobs defined.", (double)st.jobs);
	metric(out, "jobd_jobs_started", "gauge", "Jobs started (scheduled).", (double)st.started);
	metric(out, "jobd_runs_running", "gauge", "Runs in progress.", (double)st.running);
	metric(out, "jobd_runs_started_total", "counter", "Runs started since jobd started.",
	       (double)st.runs_started);
	metric(out, "jobd_runs_failed_total", "counter",
	       "Runs that ended with a non-zero status or a signal, or could not start.",
	       (double)st.runs_failed);
	metric(out, "jobd_connections", "gauge", "9P connections open.", (double)srv_connections(d->srv));
	metric(out, "jobd_messages_total", "counter", "9P requests served.", (double)srv_messages(d->srv));
	metric(out, "jobd_store_commits_total", "counter", "Batches of changes committed to the store.",
	       (double)(d->turn ? turn_commits(d->turn) : 0));
	metric(out, "jobd_store_commits_paced_total", "counter",
	       "Loop turns whose changes waited to join a later commit (group commit).",
	       (double)(d->turn ? turn_held_back(d->turn) : 0));
	buf_printf(out, "# HELP jobd_run_duration_seconds How long runs took.\n"
	           "# TYPE jobd_run_duration_seconds histogram\n");
	uint64_t acc = 0;
	for (int i = 0; i < 11; i++) {
		acc += st.duration_buckets[i];
		buf_printf(out, "jobd_run_duration_seconds_bucket{le=\"%g\"} %llu\n", jobs_duration_bounds[i],
		           (unsigned long long)acc);
	}
	acc += st.duration_buckets[11];
	buf_printf(out, "jobd_run_duration_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)acc);
	buf_printf(out, "jobd_run_duration_seconds_sum %.17g\njobd_run_duration_seconds_count %llu\n",
	           st.duration_sum, (unsigned long long)st.duration_count);
}

static void closed_signal(uv_handle_t *h) { (void)h; }

/* The last commit is answered: a cluster's connections may go. */
static void turn_stopped(void *arg)
{
	Daemon *d = arg;
	if (d->cluster)
		cluster_close(d->cluster, NULL, NULL);
	d->cluster = NULL;
}

static void jobs_stopped(void *arg)
{
	Daemon *d = arg;
	if (d->metrics)
		metrics_stop(d->metrics);
	d->metrics = NULL;
	uv_close((uv_handle_t *)&d->sigterm, closed_signal);
	uv_close((uv_handle_t *)&d->sigint, closed_signal);
	uv_close((uv_handle_t *)&d->sighup, closed_signal);
	turn_stop(d->turn, turn_stopped, d);
	d->turn = NULL;
	LOGI("every run recorded; exiting");
}

static void srv_stopped(void *arg)
{
	Daemon *d = arg;
	jobs_shutdown(d->jobs, jobs_stopped, d);
}

/* SIGTERM/SIGINT: stop accepting, let queued replies go, stop running
 * children (SIGTERM, then SIGKILL after the grace period) and record their
 * ends, close the store, exit 0. A second signal is ignored while this runs. */
static void on_signal(uv_signal_t *h, int sig)
{
	Daemon *d = h->data;
	if (d->stopping)
		return;
	d->stopping = 1;
	LOGI("%s: shutting down", strsignal(sig));
	/* What this turn changed is committed before the connections close:
	 * their last replies may acknowledge it. */
	turn_end(d->turn);
	srv_shutdown(d->srv, srv_stopped, d);
}

/* SIGHUP: read the -allowusers and -denyusers files again. */
static void on_sighup(uv_signal_t *h, int sig)
{
	Daemon *d = h->data;
	char why[512];
	(void)sig;
	if (fs_reload_users(d->fs, why, sizeof why) < 0)
		LOGE("SIGHUP: %s; the user lists in force stay", why);
	else
		LOGI("SIGHUP: user lists read again");
}

/* Descriptors jobd inherited from whoever started it would otherwise pass on
 * to every job; mark them close-on-exec (everything jobd opens itself is). */
static void cloexec_inherited(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return;
	int self = dirfd(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		int fd = atoi(e->d_name);
		if (fd > 2 && fd != self) {
			int fl = fcntl(fd, F_GETFD);
			if (fl >= 0)
				fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
		}
	}
	closedir(d);
}

/* Says how runs are tracked (run_init). */
static void tracking_log(const RunTracking *t, const char *flag)
{
	if (*t->cgroup)
		LOGI("each run gets a cgroup of its own in %s", t->cgroup);
	else if (strcmp(flag, "none") != 0)
		LOGW("runs get no cgroups (%s): jobd is a subreaper instead, and what leaves a run's "
		     "session (setsid, double forks) is ended at shutdown but not by kill, timeout or "
		     "delete", t->none_why);
	else
		LOGI("-cgroup none: jobd is a subreaper; what leaves a run's session is ended at "
		     "shutdown only");
}

/* After the last run is gone: jobd's cgroup directory goes. */
static void tracking_fini(void)
{
	char why[768];
	if (run_fini(why, sizeof why) < 0)
		LOGW("%s", why);
}

/* Every flag as given; the defaults are in main's initializer. */
typedef struct Flags {
	FlagList fsaddr, allow, trust;
	const char *dbdir, *log_dir, *vmodule, *bt_at, *sync, *tcpuser, *metrics, *killgrace;
	const char *cgroup, *allowusers, *denyusers, *sockmode, *sockgroup, *pam, *pamdir;
	const char *attachtimeout, *store, *node;
	int keep_runs, keep_bytes, max_output;
	int debug, logtostderr, alsologtostderr, stderrthreshold, v, version;
	int msize, maxconns, maxconnsperuser, maxfids, maxreqs, maxjobs, maxwrite, maxcmd;
	int tcpreadonly, private;
} Flags;

/* -pam's default, told from the same name given on the command line by its
 * address: a service named there must exist (see check_pam). */
static const char pam_default[] = "jobd";

/* What the flags mean once checked: the values the layers are built with. */
typedef struct Config {
	int syncmode;               /* STORE_SYNC_* */
	int64_t grace_ms, attach_ms;
	uint32_t sock_mode;
	int64_t sock_gid;           /* -1: jobd's group */
	uint32_t tcp_uid;           /* SRV_NOUSER: no one */
	/* One array: the -trust networks first (they are allowed too), then -allow. */
	Cidr *nets;
	size_t nnets, ntrusted;
	const char *pam_service;    /* NULL: runs go without PAM */
	const char *pam_dir;        /* NULL: the system's */
	char pam_why[512];          /* why the default service is not used, if it is not */
} Config;

/* Parses the command line into f. Returns -1 to go on, or the exit status:
 * 0 after -help or -version, 2 after a usage message. */
static int parse_flags(int argc, char **argv, Flags *f)
{
	Flag flags[] = {
		{ "allow", FLAG_LIST, &f->allow, "networks whose TCP clients are accepted besides loopback (CIDR[,CIDR...]; repeatable)", "\"\"" },
		{ "allowusers", FLAG_STRING, &f->allowusers, "file of user names (one a line): only they (and root) may create and change jobs", "\"\"" },
		{ "attachtimeout", FLAG_STRING, &f->attachtimeout, "a connection that has not attached by then is closed (0: never)", "10s" },
		{ "alsologtostderr", FLAG_BOOL, &f->alsologtostderr, "log to standard error as well as files", "false" },
		{ "cgroup", FLAG_STRING, &f->cgroup, "where each run gets a cgroup of its own, which kill, timeout, delete and shutdown signal whole: a cgroup v2 directory, auto (jobd's own cgroup, if it may write there) or none (jobd is a subreaper instead)", "auto" },
		{ "dbdir", FLAG_STRING, &f->dbdir, "Location of the jobd jobs database", "\"/var/lib/jobd\"" },
		{ "debug", FLAG_BOOL, &f->debug, "9p debugging to stderr", "false" },
		{ "denyusers", FLAG_STRING, &f->denyusers, "file of user names (one a line) who may not create or change jobs", "\"\"" },
		{ "fsaddr", FLAG_LIST, &f->fsaddr, "Address where job file service listens for connections (host:port, tcp!host!port or unix!/path; repeatable)", "\"0.0.0.0:5640\"" },
		{ "keep_bytes", FLAG_INT, &f->keep_bytes, "bytes of run output kept per job (oldest runs go first)", "16777216" },
		{ "keep_runs", FLAG_INT, &f->keep_runs, "runs kept per job (oldest go first)", "100" },
		{ "killgrace", FLAG_STRING, &f->killgrace, "how long a run has between SIGTERM and SIGKILL (kill, timeout, delete, shutdown)", "5s" },
		{ "log_backtrace_at", FLAG_STRING, &f->bt_at, "when logging hits line file:N, emit a stack trace", ":0" },
		{ "log_dir", FLAG_STRING, &f->log_dir, "If non-empty, write log files in this directory", "\"\"" },
		{ "logtostderr", FLAG_BOOL, &f->logtostderr, "log to standard error instead of files", "false" },
		{ "max_output", FLAG_INT, &f->max_output, "bytes of output stored per run (more is counted, not kept)", "1048576" },
		{ "maxcmd", FLAG_INT, &f->maxcmd, "longest command of a job, in bytes", "8192" },
		{ "maxconns", FLAG_INT, &f->maxconns, "most concurrent 9P connections", "1024" },
		{ "maxconnsperuser", FLAG_INT, &f->maxconnsperuser, "most concurrent connections of one user, or of one other host (root: no limit)", "64" },
		{ "maxfids", FLAG_INT, &f->maxfids, "most fids per connection", "4096" },
		{ "maxjobs", FLAG_INT, &f->maxjobs, "most jobs one owner may have (root: no limit)", "1000" },
		{ "maxreqs", FLAG_INT, &f->maxreqs, "most requests outstanding per connection (more wait unread)", "256" },
		{ "maxwrite", FLAG_INT, &f->maxwrite, "largest write to clone, ctl or a setting file, in bytes", "16384" },
		{ "metrics", FLAG_STRING, &f->metrics, "serve Prometheus metrics over HTTP at host:port (e.g. 127.0.0.1:9640); off when empty", "\"\"" },
		{ "node", FLAG_STRING, &f->node, "this node's name in a cluster (-store): letters, digits, '.', '_' and '-'; default: the host name and the first -fsaddr's port", "\"\"" },
		{ "msize", FLAG_INT, &f->msize, "largest 9P message size negotiated", "1048576" },
		{ "pam", FLAG_STRING, &f->pam, "PAM service every run as its owner passes (account check, then session: limits.conf, pam_env); none: no PAM", "jobd" },
		{ "pamdir", FLAG_STRING, &f->pamdir, "directory of PAM service files (default: the system's, /etc/pam.d)", "\"\"" },
		{ "private", FLAG_BOOL, &f->private, "users see only their own jobs (root sees all)", "false" },
		{ "sockgroup", FLAG_STRING, &f->sockgroup, "group of the unix sockets (with -sockmode 0660: only its members connect)", "\"\"" },
		{ "sockmode", FLAG_STRING, &f->sockmode, "permission bits of the unix sockets (octal)", "0666" },
		{ "store", FLAG_STRING, &f->store, "where the jobs are kept: empty for SQLite under -dbdir; a PostgreSQL connection string (postgresql://... or host=... dbname=...) for a cluster of jobd nodes sharing one database (-dbdir then holds this node's cache)", "\"\"" },
		{ "stderrthreshold", FLAG_INT, &f->stderrthreshold, "logs at or above this threshold go to stderr", "0" },
		{ "sync", FLAG_STRING, &f->sync, "store durability: normal (survives a crash of jobd) or full (fsync every change; survives power loss)", "\"normal\"" },
		{ "tcpreadonly", FLAG_BOOL, &f->tcpreadonly, "TCP clients may read but not change anything", "false" },
		{ "tcpuser", FLAG_STRING, &f->tcpuser, "the user that clients on other hosts (-allow) act as; default: no one (read-only, owning nothing)", "\"\"" },
		{ "trust", FLAG_LIST, &f->trust, "networks whose root, from a privileged source port, names its users in Tattach (like NFS sec=sys); implies -allow (CIDR[,CIDR...]; repeatable)", "\"\"" },
		{ "v", FLAG_INT, &f->v, "log level for V logs", "0" },
		{ "version", FLAG_BOOL, &f->version, "print the version and exit", "false" },
		{ "vmodule", FLAG_STRING, &f->vmodule, "comma-separated list of pattern=N settings for file-filtered logging", "" },
		{ 0 },
	};
	char why[512] = "";
	int idx = flags_parse(flags, argc, argv, why, sizeof why);
	if (idx == -2) {
		flags_usage(flags, "jobd", NULL);
		return 0;
	}
	if (idx < 0 || idx != argc) {
		fprintf(stderr, "jobd: %s\n", idx < 0 ? why : "unexpected argument");
		flags_usage(flags, "jobd", NULL);
		return 2;
	}
	if (f->version) {
		puts(VERSION_LINE("jobd"));
		return 0;
	}
	if (f->fsaddr.n == 0)
		f->fsaddr.v[f->fsaddr.n++] = "0.0.0.0:5640";
	return -1;
}

/* A usage error in a flag's value: says so, returns 2 (jobd's exit status). */
__attribute__((format(printf, 1, 2)))
static int refuse_flag(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("jobd: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 2;
}

/* The numbers: limits, retention, durations. 0 or 2 after a message. */
static int check_numbers(const Flags *f, Config *c)
{
	char why[512];
	if (!strcmp(f->sync, "normal"))
		c->syncmode = STORE_SYNC_NORMAL;
	else if (!strcmp(f->sync, "full"))
		c->syncmode = STORE_SYNC_FULL;
	else
		return refuse_flag("-sync: want normal or full, got '%s'", f->sync);
	if (f->msize < 4096 || f->maxconns < 1 || f->maxfids < 1 || f->maxreqs < 1 ||
	    f->maxjobs < 1 || f->maxwrite < 256 || f->maxcmd < 1 || f->maxconnsperuser < 1)
		return refuse_flag("-msize must be >= 4096, -maxwrite >= 256, -maxconns, -maxfids, "
		                   "-maxreqs, -maxjobs, -maxconnsperuser and -maxcmd >= 1");
	if (f->keep_runs < 1 || f->keep_bytes < 0 || f->max_output < 0)
		return refuse_flag("-keep_runs must be >= 1, -keep_bytes and -max_output >= 0");
	if (duration_parse(f->killgrace, &c->grace_ms, why, sizeof why) < 0)
		return refuse_flag("-killgrace: %s", why);
	if (duration_parse(f->attachtimeout, &c->attach_ms, why, sizeof why) < 0)
		return refuse_flag("-attachtimeout: %s", why);
	return 0;
}

/* Who may connect and as whom: the unix sockets' mode and group, the -trust
 * and -allow networks, -tcpuser. 0 or 2 after a message. */
static int check_access(const Flags *f, Config *c)
{
	char why[512], *end;
	long smode = strtol(f->sockmode, &end, 8);
	if (!*f->sockmode || *end || smode <= 0 || smode > 0777)
		return refuse_flag("-sockmode: want octal permission bits such as 0660, got '%s'",
		                   f->sockmode);
	c->sock_mode = (uint32_t)smode;
	c->sock_gid = -1;
	if (*f->sockgroup) {
		struct group *gr = getgrnam(f->sockgroup);
		if (!gr)
			return refuse_flag("-sockgroup: no group '%s'", f->sockgroup);
		c->sock_gid = gr->gr_gid;
	}
	for (int i = 0; i < f->trust.n; i++)
		if (cidr_parse_list(f->trust.v[i], &c->nets, &c->nnets, why, sizeof why) < 0)
			return refuse_flag("-trust: %s", why);
	c->ntrusted = c->nnets;
	for (size_t i = 0; i < c->ntrusted; i++)
		if (c->nets[i].bits == 0)
			return refuse_flag("-trust: refusing to trust every host (a /0 network): any "
			                   "machine's root could act as any of your users");
	for (int i = 0; i < f->allow.n; i++)
		if (cidr_parse_list(f->allow.v[i], &c->nets, &c->nnets, why, sizeof why) < 0)
			return refuse_flag("-allow: %s", why);
	c->tcp_uid = SRV_NOUSER;
	if (*f->tcpuser) {
		struct passwd *pw = getpwnam(f->tcpuser);
		if (!pw)
			return refuse_flag("-tcpuser: no user '%s'", f->tcpuser);
		c->tcp_uid = (uint32_t)pw->pw_uid;
	}
	return 0;
}

/* PAM applies to a root jobd's runs (they are their owners'). A service
 * named by -pam or -pamdir must have its file: Linux-PAM would otherwise use
 * "other" (on Debian: every common-* file, pam_systemd's sessions too). The
 * default applies when /etc/pam.d/jobd is there; when it is not, jobd runs
 * jobs without PAM, as before it had it, and says so (start_logging). 0 or 2
 * after a message. */
static int check_pam(const Flags *f, Config *c)
{
	c->pam_service = NULL;
	c->pam_dir = *f->pamdir ? f->pamdir : NULL;
	c->pam_why[0] = 0;
	if (geteuid() != 0 || strcmp(f->pam, "none") == 0)
		return 0;
	if (run_pam_check(f->pam, c->pam_dir, c->pam_why, sizeof c->pam_why) == 0)
		c->pam_service = f->pam;
	else if (f->pam != pam_default || c->pam_dir)
		return refuse_flag("-pam %s: %s; install it (contrib/pam/jobd) or start jobd with "
		                   "-pam none", f->pam, c->pam_why);
	return 0;
}

/* The logs as the flags say, and the first lines in them: how runs pass PAM.
 * 0 or 2 after a message. */
static int start_logging(const Flags *f, const Config *c)
{
	char why[512];
	LogConfig lc = { f->logtostderr, f->alsologtostderr, f->log_dir, f->stderrthreshold, f->v,
	                 f->vmodule, f->bt_at };
	if (log_init(&lc, "jobd", why, sizeof why) < 0)
		return refuse_flag("%s", why);
	if (c->pam_service)
		LOGI("PAM: runs as their owners pass service %s (%s/%s)", c->pam_service,
		     c->pam_dir ? c->pam_dir : "/etc/pam.d", c->pam_service);
	else if (*c->pam_why)
		LOGW("PAM: %s: runs as their owners go without it (an expired account's jobs run, "
		     "limits.conf does not apply to them); install contrib/pam/jobd there (make "
		     "install), or start jobd with -pam none", c->pam_why);
	return 0;
}

/* Refusing to start before the jobs were loaded: what is open goes (see
 * open_state), then exit 1 or 2. */
static int refuse_early(Daemon *d, Config *c, int rc)
{
	zone_free(d->zone);
	free(c->nets);
	log_fini();
	return rc;
}

/* Everything has stopped, or never started: release memory so leak checkers
 * see a clean exit. The name space and the server may not have been made. */
static void release(Daemon *d, Config *c)
{
	jobs_free(d->jobs);
	tracking_fini();
	uv_run(d->loop, UV_RUN_DEFAULT);
	if (d->fs)
		fs_free(d->fs);
	if (d->srv)
		srv_free(d->srv);
	free(c->nets);
	store_close(d->store);
	zone_free(d->zone);
	uv_loop_close(d->loop);
	log_fini();
}

/* Refusing to start after the jobs were loaded: exit 1, cleanly. */
static int refuse_start(Daemon *d, Config *c)
{
	release(d, c);
	return 1;
}

/* ---- cluster mode (-store) ---- */

/* -node's default: the host name and the port of the first -fsaddr, with
 * what a node's name may not hold made '-'. */
static void node_default(const Flags *f, char *out, size_t n)
{
	char host[256] = "jobd", port[32] = "";
	gethostname(host, sizeof host - 1);
	host[sizeof host - 1] = '\0';
	const char *a = f->fsaddr.v[0], *p = strrchr(a, '!');
	if (!p)
		p = strrchr(a, ':');
	if (p && strncmp(a, "unix", 4) != 0 && p[1] != '0')
		snprintf(port, sizeof port, "-%s", p + 1);
	snprintf(out, n, "%.40s%.20s", host, port);    /* within CNODE_NAME_MAX */
	for (char *q = out; *q; q++)
		if (!cnode_name_char(*q))
			*q = '-';
}

static void on_cluster_job(void *arg, int64_t id, const StoreJob *j)
{
	Daemon *d = arg;
	if (d->jobs)
		jobs_apply(d->jobs, id, j);
}

static void on_cluster_adopt(void *arg, int64_t job_id, int64_t sched, int64_t run_id,
                             int64_t seq)
{
	Daemon *d = arg;
	if (d->jobs)
		jobs_adopt(d->jobs, job_id, sched, run_id, seq);
}

static void on_cluster_lost(void *arg, int64_t job_id, int64_t sched, const char *node)
{
	Daemon *d = arg;
	if (d->jobs)
		jobs_lost(d->jobs, job_id, sched, node);
}

/* A batch lost with the database's connection: taken up again from it. */
static void on_store_lost(void *arg)
{
	Daemon *d = arg;
	if (d->cluster)
		cluster_resync(d->cluster);
}

static void on_cluster_state(void *arg, int state, const char *why)
{
	Daemon *d = arg;
	if (state == CNODE_FENCED) {
		/* Another jobd took this node's name: this one must not go on. */
		LOGE("cluster: %s; stopping", why);
		uv_kill(getpid(), SIGTERM);
	} else if (state == CNODE_DOWN) {
		LOGW("cluster: this node's lease is not valid (%s): nothing starts until it is", why);
	} else {
		LOGI("cluster: this node's lease is valid again");
	}
	(void)d;
}

/* The node's cache (a SQLite store under -dbdir, made new at each start:
 * what it held is the database's anyway) and the node itself. */
static int open_cluster(Daemon *d, const Flags *f, const Config *c, char *why, size_t n)
{
	char node[CNODE_NAME_MAX + 1], dir[PATH_MAX];
	if (*f->node)
		snprintf(node, sizeof node, "%s", f->node);
	else
		node_default(f, node, sizeof node);
	if (!cnode_name_ok(node)) {
		strfmt(why, n, "-node %s: 1 to %d letters, digits, '.', '_' or '-'", node,
		       CNODE_NAME_MAX);
		return -EINVAL;
	}
	snprintf(dir, sizeof dir, "%s/cache-%s", f->dbdir, node);
	static const char *const files[] = { "jobd.sqlite", "jobd.sqlite-wal", "jobd.sqlite-shm" };
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char path[PATH_MAX + 32];
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		if (unlink(path) < 0 && errno != ENOENT) {
			strfmt(why, n, "cannot remove the old cache %s: %s", path, strerror(errno));
			return -errno;
		}
	}
	int rc = store_open(dir, c->syncmode, &d->store, NULL, why, n);
	if (rc < 0)
		return rc;
	ClusterOpts o = { .conninfo = f->store, .node = node, .cache = d->store,
	                  .job = on_cluster_job, .adopt = on_cluster_adopt, .lost = on_cluster_lost,
	                  .state = on_cluster_state, .arg = d };
	LOGI("cluster: node %s, cache in %s", node, dir);
	rc = cluster_open(d->loop, &o, CLUSTER_OPEN_MS, &d->cluster, why, n);
	if (rc < 0) {
		store_close(d->store);
		d->store = NULL;
	}
	return rc;
}

/* The daemon's state: the local zone, run tracking, the store, the jobs
 * (with the runs a crash cut off, and the original jobd's jobs.db), the name
 * space. Returns 0, or the exit status after logging why. */
static int open_state(Daemon *d, const Flags *f, Config *c)
{
	char why[512];
	d->zone = zone_load(NULL, why, sizeof why);
	if (!d->zone) {
		fprintf(stderr, "jobd: local time zone: %s\n", why);
		return 1;
	}
	RunTracking rt;
	if (run_init(d->loop, f->cgroup, &rt, why, sizeof why) < 0) {
		LOGE("-cgroup %s: %s", f->cgroup, why);
		return refuse_early(d, c, 2);
	}
	tracking_log(&rt, f->cgroup);
	int interrupted = 0;
	int rc = *f->store ? open_cluster(d, f, c, why, sizeof why)
	                   : store_open(f->dbdir, c->syncmode, &d->store, &interrupted, why, sizeof why);
	if (rc < 0) {
		if (*f->store)
			LOGE("-store: %s", why);
		else
			LOGE("cannot open the jobs database: %s%s", why,
			     rc == -EBUSY ? ", or give this one another -dbdir" : "");
		tracking_fini();
		return refuse_early(d, c, 1);
	}
	if (interrupted)
		LOGW("%d runs were in progress when jobd last stopped; marked interrupted", interrupted);
	JobsConfig jc = {
		.kill_grace_ms = c->grace_ms,
		.max_output = f->max_output,
		.keep_runs = f->keep_runs,
		.keep_bytes = f->keep_bytes,
		.max_cmd = (size_t)f->maxcmd,
		.max_per_owner = (size_t)f->maxjobs,
		.daemon_uid = (uint32_t)geteuid(),
		.run_as_owner = geteuid() == 0,
		.pam_service = c->pam_service,
		.pam_dir = c->pam_dir,
	};
	d->jobs = jobs_new(d->loop, d->store, d->zone, &jc);
	rc = jobs_load(d->jobs, why, sizeof why);
	if (rc < 0)
		LOGE("cannot load jobs: %s", why);
	if (rc >= 0) {
		/* Runs a crash cut off, then the original jobd's jobs.db if there is one
		 * (in the directory the store checked, not by a path a link could move).
		 * A node of a cluster has neither: its cache is new at each start, and
		 * the runs its last life left are the reaper's (lost, or run again). */
		if (!d->cluster)
			jobs_recover(d->jobs, d->store, jc.kill_grace_ms);
		/* Then what their sessions did not hold: all else in their cgroups. */
		run_recover(&rt);
		if (rt.stale_dirs)
			LOGW("removed %d cgroups of jobds that died, and killed the %d processes left "
			     "in them", rt.stale_dirs, rt.stale_procs);
		if (!d->cluster &&
		    (rc = jobs_import_legacy(d->jobs, store_dir(d->store), why, sizeof why)) < 0)
			LOGE("%s", why);
	}
	if (rc >= 0 && d->cluster) {
		JobsCluster ops;
		cluster_jobs_ops(d->cluster, &ops);
		jobs_cluster(d->jobs, &ops);
		cluster_observe(d->cluster, d->store);
	}
	if (rc < 0)
		return refuse_start(d, c);
	FsConfig fc = {
		.max_ctl_write = (size_t)f->maxwrite, .stats = render_stats, .stats_arg = d,
		.daemon_uid = (uint32_t)geteuid(), .private_jobs = f->private,
		.allow_file = f->allowusers, .deny_file = f->denyusers,
		.nodes_list = d->cluster ? cluster_nodes_list : NULL,
		.node_status = d->cluster ? cluster_node_status : NULL,
		.nodes_arg = d->cluster, .loop = d->loop,
	};
	d->fs = fs_new(d->jobs, &fc, why, sizeof why);
	if (!d->fs) {
		LOGE("%s", why);
		return refuse_start(d, c);
	}
	return 0;
}

/* The 9P server on every -fsaddr, the metrics endpoint, the schedule, the
 * end of each loop turn, the signals. Returns 0, or 1 after logging why (a
 * listener that cannot be had: nothing is released, the process ends). */
static int serve(Daemon *d, const Flags *f, const Config *c)
{
	char why[512];
	SrvOps ops = fs_ops(d->fs);
	SrvConfig sc = {
		.max_msize = (uint32_t)f->msize,
		.max_fids = (uint32_t)f->maxfids,
		.max_reqs = (uint32_t)f->maxreqs,
		.max_conns = (uint32_t)f->maxconns,
		.max_wqueue = 4u << 20,
		.debug = f->debug,
		.allow = c->nets,
		.nallow = c->nnets,
		.tcp_uid = c->tcp_uid,
		.trust = c->nets,
		.ntrust = c->ntrusted,
		.max_conns_per_user = (uint32_t)f->maxconnsperuser,
		.attach_timeout_ms = (uint64_t)c->attach_ms,
		.tcp_readonly = f->tcpreadonly,
		.sock_mode = c->sock_mode,
		.sock_gid = c->sock_gid,
		.knobs = {
			.allow = "start jobd with -allow to allow them, e.g. -allow",
			.max_conns = "-maxconns",
			.max_conns_per_user = "-maxconnsperuser",
		},
	};
	d->srv = srv_new(d->loop, &sc, &ops);
	for (int i = 0; i < f->fsaddr.n; i++) {
		if (srv_listen(d->srv, f->fsaddr.v[i], why, sizeof why) < 0) {
			LOGE("-fsaddr: %s", why);
			tracking_fini();
			return 1;
		}
	}
	if (*f->metrics && metrics_start(d->loop, f->metrics, render_metrics, d, &d->metrics, why,
	                                 sizeof why) < 0) {
		LOGE("-metrics: %s", why);
		tracking_fini();
		return 1;
	}
	jobs_begin(d->jobs);
	d->turn = turn_start(d->loop, d->jobs, d->store, d->srv, d->fs);
	if (d->cluster)
		turn_on_lost(d->turn, on_store_lost, d);
	uv_signal_init(d->loop, &d->sigterm);
	uv_signal_init(d->loop, &d->sigint);
	uv_signal_init(d->loop, &d->sighup);
	d->sigterm.data = d->sigint.data = d->sighup.data = d;
	uv_signal_start(&d->sigterm, on_signal, SIGTERM);
	uv_signal_start(&d->sigint, on_signal, SIGINT);
	uv_signal_start(&d->sighup, on_sighup, SIGHUP);
	return 0;
}

/* Parse and check the flags, start logging, open the state, serve until a
 * signal has stopped everything, release. */
int main(int argc, char **argv)
{
	cloexec_inherited();
	Flags f = {
		.dbdir = "/var/lib/jobd", .log_dir = "", .vmodule = "", .bt_at = ":0",
		.sync = "normal", .tcpuser = "", .metrics = "", .killgrace = "5s", .cgroup = "auto",
		.allowusers = "", .denyusers = "", .sockmode = "0666", .sockgroup = "",
		.pam = pam_default, .pamdir = "", .attachtimeout = "10s", .store = "", .node = "",
		.keep_runs = 100, .keep_bytes = 16 << 20, .max_output = 1 << 20,
		.msize = 1 << 20, .maxconns = 1024, .maxconnsperuser = 64, .maxfids = 4096,
		.maxreqs = 256, .maxjobs = 1000, .maxwrite = 16384, .maxcmd = JOB_CMD_MAX,
	};
	Config c = { 0 };
	int rc = parse_flags(argc, argv, &f);
	if (rc >= 0)
		return rc;
	if ((rc = check_numbers(&f, &c)) != 0 || (rc = check_access(&f, &c)) != 0 ||
	    (rc = check_pam(&f, &c)) != 0 || (rc = start_logging(&f, &c)) != 0) {
		free(c.nets);
		return rc;
	}
	signal(SIGPIPE, SIG_IGN);
	Daemon d = { .loop = uv_default_loop(), .started_ns = wall_now_ns() };
	if ((rc = open_state(&d, &f, &c)) != 0 || (rc = serve(&d, &f, &c)) != 0)
		return rc;
	uv_run(d.loop, UV_RUN_DEFAULT);
	release(&d, &c);
	return 0;
}
