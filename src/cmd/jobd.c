/* jobd: flags, wiring, signals. Nothing else lives here. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

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

#ifndef JOBD_VERSION
#define JOBD_VERSION "0.1.0"
#endif
#ifndef JOBD_REVISION
#define JOBD_REVISION "unknown"     /* the Makefile passes git describe's answer */
#endif

typedef struct Daemon {
	uv_loop_t *loop;
	Store *store;
	Zone *zone;
	Jobs *jobs;
	Fs *fs;
	Srv *srv;
	Metrics *metrics;
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

static void jobs_stopped(void *arg)
{
	Daemon *d = arg;
	if (d->metrics)
		metrics_stop(d->metrics);
	d->metrics = NULL;
	uv_close((uv_handle_t *)&d->sigterm, closed_signal);
	uv_close((uv_handle_t *)&d->sigint, closed_signal);
	uv_close((uv_handle_t *)&d->sighup, closed_signal);
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

/* Refusing to start after the jobs were loaded: release everything, so leak
 * checkers see a clean exit, and exit 1. */
static int refuse_start(Daemon *d, Cidr *nets)
{
	jobs_free(d->jobs);
	tracking_fini();
	uv_run(d->loop, UV_RUN_DEFAULT);
	store_close(d->store);
	zone_free(d->zone);
	free(nets);
	uv_loop_close(d->loop);
	log_fini();
	return 1;
}

int main(int argc, char **argv)
{
	cloexec_inherited();
	FlagList fsaddr = {0}, allow = {0}, trust = {0};
	const char *dbdir = "/var/lib/jobd", *log_dir = "", *vmodule = "", *bt_at = ":0";
	const char *sync = "normal", *tcpuser = "", *metrics = "", *killgrace = "5s", *cgroup = "auto";
	const char *allowusers = "", *denyusers = "", *sockmode = "0666", *sockgroup = "";
	/* -pam's default, told from the same name given on the command line by
	 * its address: a service named there must exist (see below). */
	static const char pam_default[] = "jobd";
	const char *pam = pam_default, *pamdir = "";
	int keep_runs = 100, keep_bytes = 16 << 20, max_output = 1 << 20;
	int debug = 0, logtostderr = 0, alsologtostderr = 0, stderrthreshold = 0, v = 0;
	int maxmsize = 1 << 20, maxconns = 1024, maxfids = 4096, version = 0, tcpreadonly = 0;
	int maxconnsperuser = 64;
	const char *attachtimeout = "10s";
	int maxreqs = 256, maxjobs = 1000, maxwrite = 16384, maxcmd = JOB_CMD_MAX, private = 0;
	Flag flags[] = {
		{ "allow", FLAG_LIST, &allow, "networks whose TCP clients are accepted besides loopback (CIDR[,CIDR...]; repeatable)", "\"\"" },
		{ "allowusers", FLAG_STRING, &allowusers, "file of user names (one a line): only they (and root) may create and change jobs", "\"\"" },
		{ "attachtimeout", FLAG_STRING, &attachtimeout, "a connection that has not attached by then is closed (0: never)", "10s" },
		{ "alsologtostderr", FLAG_BOOL, &alsologtostderr, "log to standard error as well as files", "false" },
		{ "cgroup", FLAG_STRING, &cgroup, "where each run gets a cgroup of its own, which kill, timeout, delete and shutdown signal whole: a cgroup v2 directory, auto (jobd's own cgroup, if it may write there) or none (jobd is a subreaper instead)", "auto" },
		{ "dbdir", FLAG_STRING, &dbdir, "Location of the jobd jobs database", "\"/var/lib/jobd\"" },
		{ "debug", FLAG_BOOL, &debug, "9p debugging to stderr", "false" },
		{ "denyusers", FLAG_STRING, &denyusers, "file of user names (one a line) who may not create or change jobs", "\"\"" },
		{ "fsaddr", FLAG_LIST, &fsaddr, "Address where job file service listens for connections (host:port, tcp!host!port or unix!/path; repeatable)", "\"0.0.0.0:5640\"" },
		{ "keep_bytes", FLAG_INT, &keep_bytes, "bytes of run output kept per job (oldest runs go first)", "16777216" },
		{ "keep_runs", FLAG_INT, &keep_runs, "runs kept per job (oldest go first)", "100" },
		{ "killgrace", FLAG_STRING, &killgrace, "how long a run has between SIGTERM and SIGKILL (kill, timeout, delete, shutdown)", "5s" },
		{ "log_backtrace_at", FLAG_STRING, &bt_at, "when logging hits line file:N, emit a stack trace", ":0" },
		{ "log_dir", FLAG_STRING, &log_dir, "If non-empty, write log files in this directory", "\"\"" },
		{ "logtostderr", FLAG_BOOL, &logtostderr, "log to standard error instead of files", "false" },
		{ "max_output", FLAG_INT, &max_output, "bytes of output stored per run (more is counted, not kept)", "1048576" },
		{ "maxcmd", FLAG_INT, &maxcmd, "longest command of a job, in bytes", "8192" },
		{ "maxconns", FLAG_INT, &maxconns, "most concurrent 9P connections", "1024" },
		{ "maxconnsperuser", FLAG_INT, &maxconnsperuser, "most concurrent connections of one user, or of one other host (root: no limit)", "64" },
		{ "maxfids", FLAG_INT, &maxfids, "most fids per connection", "4096" },
		{ "maxjobs", FLAG_INT, &maxjobs, "most jobs one owner may have", "1000" },
		{ "maxreqs", FLAG_INT, &maxreqs, "most requests outstanding per connection (more wait unread)", "256" },
		{ "maxwrite", FLAG_INT, &maxwrite, "largest write to clone, ctl or a setting file, in bytes", "16384" },
		{ "metrics", FLAG_STRING, &metrics, "serve Prometheus metrics over HTTP at host:port (e.g. 127.0.0.1:9640); off when empty", "\"\"" },
		{ "msize", FLAG_INT, &maxmsize, "largest 9P message size negotiated", "1048576" },
		{ "pam", FLAG_STRING, &pam, "PAM service every run as its owner passes (account check, then session: limits.conf, pam_env); none: no PAM", "jobd" },
		{ "pamdir", FLAG_STRING, &pamdir, "directory of PAM service files (default: the system's, /etc/pam.d)", "\"\"" },
		{ "private", FLAG_BOOL, &private, "users see only their own jobs (root sees all)", "false" },
		{ "sockgroup", FLAG_STRING, &sockgroup, "group of the unix sockets (with -sockmode 0660: only its members connect)", "\"\"" },
		{ "sockmode", FLAG_STRING, &sockmode, "permission bits of the unix sockets (octal)", "0666" },
		{ "stderrthreshold", FLAG_INT, &stderrthreshold, "logs at or above this threshold go to stderr", "0" },
		{ "sync", FLAG_STRING, &sync, "store durability: normal (survives a crash of jobd) or full (fsync every change; survives power loss)", "\"normal\"" },
		{ "tcpreadonly", FLAG_BOOL, &tcpreadonly, "TCP clients may read but not change anything", "false" },
		{ "tcpuser", FLAG_STRING, &tcpuser, "the user that clients on other hosts (-allow) act as; default: no one (read-only, owning nothing)", "\"\"" },
		{ "trust", FLAG_LIST, &trust, "networks whose root, from a privileged source port, names its users in Tattach (like NFS sec=sys); implies -allow (CIDR[,CIDR...]; repeatable)", "\"\"" },
		{ "v", FLAG_INT, &v, "log level for V logs", "0" },
		{ "version", FLAG_BOOL, &version, "print the version and exit", "false" },
		{ "vmodule", FLAG_STRING, &vmodule, "comma-separated list of pattern=N settings for file-filtered logging", "" },
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
	if (version) {
		printf("jobd %s (revision %s)\n", JOBD_VERSION, JOBD_REVISION);
		return 0;
	}
	int syncmode;
	if (!strcmp(sync, "normal"))
		syncmode = STORE_SYNC_NORMAL;
	else if (!strcmp(sync, "full"))
		syncmode = STORE_SYNC_FULL;
	else {
		fprintf(stderr, "jobd: -sync: want normal or full, got '%s'\n", sync);
		return 2;
	}
	if (maxmsize < 4096 || maxconns < 1 || maxfids < 1 || maxreqs < 1 || maxjobs < 1 ||
	    maxwrite < 256 || maxcmd < 1 || maxconnsperuser < 1) {
		fprintf(stderr, "jobd: -msize must be >= 4096, -maxwrite >= 256, -maxconns, -maxfids, "
		        "-maxreqs, -maxjobs, -maxconnsperuser and -maxcmd >= 1\n");
		return 2;
	}
	char *end;
	long smode = strtol(sockmode, &end, 8);
	if (!*sockmode || *end || smode <= 0 || smode > 0777) {
		fprintf(stderr, "jobd: -sockmode: want octal permission bits such as 0660, got '%s'\n",
		        sockmode);
		return 2;
	}
	int64_t sgid = -1;
	if (*sockgroup) {
		struct group *gr = getgrnam(sockgroup);
		if (!gr) {
			fprintf(stderr, "jobd: -sockgroup: no group '%s'\n", sockgroup);
			return 2;
		}
		sgid = gr->gr_gid;
	}
	if (keep_runs < 1 || keep_bytes < 0 || max_output < 0) {
		fprintf(stderr, "jobd: -keep_runs must be >= 1, -keep_bytes and -max_output >= 0\n");
		return 2;
	}
	int64_t grace_ms;
	if (duration_parse(killgrace, &grace_ms, why, sizeof why) < 0) {
		fprintf(stderr, "jobd: -killgrace: %s\n", why);
		return 2;
	}
	/* PAM applies to a root jobd's runs (they are their owners'). A service
	 * named by -pam or -pamdir must have its file: Linux-PAM would otherwise
	 * use "other" (on Debian: every common-* file, pam_systemd's sessions
	 * too). The default applies when /etc/pam.d/jobd is there; when it is
	 * not, jobd runs jobs without PAM, as before it had it, and says so. */
	const char *pam_service = NULL, *pam_dir = *pamdir ? pamdir : NULL;
	char pam_why[512] = "";
	if (geteuid() == 0 && strcmp(pam, "none") != 0) {
		if (run_pam_check(pam, pam_dir, pam_why, sizeof pam_why) == 0) {
			pam_service = pam;
		} else if (pam != pam_default || pam_dir) {
			fprintf(stderr, "jobd: -pam %s: %s; install it (contrib/pam/jobd) or start jobd "
			        "with -pam none\n", pam, pam_why);
			return 2;
		}
	}
	LogConfig lc = { logtostderr, alsologtostderr, log_dir, stderrthreshold, v, vmodule, bt_at };
	if (log_init(&lc, "jobd", why, sizeof why) < 0) {
		fprintf(stderr, "jobd: %s\n", why);
		return 2;
	}
	if (pam_service)
		LOGI("PAM: runs as their owners pass service %s (%s/%s)", pam_service,
		     pam_dir ? pam_dir : "/etc/pam.d", pam_service);
	else if (*pam_why)
		LOGW("PAM: %s: runs as their owners go without it (an expired account's jobs run, "
		     "limits.conf does not apply to them); install contrib/pam/jobd there (make "
		     "install), or start jobd with -pam none", pam_why);
	if (fsaddr.n == 0)
		fsaddr.v[fsaddr.n++] = "0.0.0.0:5640";
	/* One array: the -trust networks first (they are allowed too), then -allow. */
	Cidr *nets = NULL;
	size_t nnets = 0;
	for (int i = 0; i < trust.n; i++)
		if (cidr_parse_list(trust.v[i], &nets, &nnets, why, sizeof why) < 0) {
			fprintf(stderr, "jobd: -trust: %s\n", why);
			return 2;
		}
	size_t ntrusted = nnets;
	for (size_t i = 0; i < ntrusted; i++)
		if (nets[i].bits == 0) {
			fprintf(stderr, "jobd: -trust: refusing to trust every host (a /0 network): any "
			        "machine's root could act as any of your users\n");
			free(nets);
			return 2;
		}
	for (int i = 0; i < allow.n; i++)
		if (cidr_parse_list(allow.v[i], &nets, &nnets, why, sizeof why) < 0) {
			fprintf(stderr, "jobd: -allow: %s\n", why);
			return 2;
		}
	int64_t attach_ms;
	if (duration_parse(attachtimeout, &attach_ms, why, sizeof why) < 0) {
		fprintf(stderr, "jobd: -attachtimeout: %s\n", why);
		return 2;
	}
	uint32_t tcp_uid = SRV_NOUSER;
	if (*tcpuser) {
		struct passwd *pw = getpwnam(tcpuser);
		if (!pw) {
			fprintf(stderr, "jobd: -tcpuser: no user '%s'\n", tcpuser);
			return 2;
		}
		tcp_uid = (uint32_t)pw->pw_uid;
	}

	signal(SIGPIPE, SIG_IGN);
	Daemon d = { .loop = uv_default_loop(), .started_ns = wall_now_ns() };
	d.zone = zone_load(NULL, why, sizeof why);
	if (!d.zone) {
		fprintf(stderr, "jobd: local time zone: %s\n", why);
		return 1;
	}
	RunTracking rt;
	if (run_init(d.loop, cgroup, &rt, why, sizeof why) < 0) {
		LOGE("-cgroup %s: %s", cgroup, why);
		zone_free(d.zone);
		free(nets);
		log_fini();
		return 2;
	}
	tracking_log(&rt, cgroup);
	int interrupted = 0;
	if (store_open(dbdir, syncmode, &d.store, &interrupted, why, sizeof why) < 0) {
		LOGE("cannot open the jobs database: %s", why);
		tracking_fini();
		zone_free(d.zone);
		free(nets);
		log_fini();
		return 1;
	}
	if (interrupted)
		LOGW("%d runs were in progress when jobd last stopped; marked interrupted", interrupted);
	JobsConfig jc = {
		.kill_grace_ms = grace_ms,
		.max_output = max_output,
		.keep_runs = keep_runs,
		.keep_bytes = keep_bytes,
		.max_cmd = (size_t)maxcmd,
		.max_per_owner = (size_t)maxjobs,
		.daemon_uid = (uint32_t)geteuid(),
		.run_as_owner = geteuid() == 0,
		.pam_service = pam_service,
		.pam_dir = pam_dir,
	};
	d.jobs = jobs_new(d.loop, d.store, d.zone, &jc);
	int rc = jobs_load(d.jobs, why, sizeof why);
	if (rc < 0)
		LOGE("cannot load jobs: %s", why);
	if (rc >= 0) {
		/* Runs a crash cut off, then the original jobd's jobs.db if there is one
		 * (in the directory the store checked, not by a path a link could move). */
		jobs_recover(d.jobs, d.store, jc.kill_grace_ms);
		/* Then what their sessions did not hold: all else in their cgroups. */
		run_recover(&rt);
		if (rt.stale_dirs)
			LOGW("removed %d cgroups of jobds that died, and killed the %d processes left "
			     "in them", rt.stale_dirs, rt.stale_procs);
		if ((rc = jobs_import_legacy(d.jobs, store_dir(d.store), why, sizeof why)) < 0)
			LOGE("%s", why);
	}
	if (rc < 0)
		return refuse_start(&d, nets);
	FsConfig fc = {
		.max_ctl_write = (size_t)maxwrite, .stats = render_stats, .stats_arg = &d,
		.daemon_uid = (uint32_t)geteuid(), .private_jobs = private,
		.allow_file = allowusers, .deny_file = denyusers,
	};
	d.fs = fs_new(d.jobs, &fc, why, sizeof why);
	if (!d.fs) {
		LOGE("%s", why);
		return refuse_start(&d, nets);
	}
	SrvOps ops = fs_ops(d.fs);
	SrvConfig sc = {
		.max_msize = (uint32_t)maxmsize,
		.max_fids = (uint32_t)maxfids,
		.max_reqs = (uint32_t)maxreqs,
		.max_conns = (uint32_t)maxconns,
		.max_wqueue = 4u << 20,
		.debug = debug,
		.allow = nets,
		.nallow = nnets,
		.tcp_uid = tcp_uid,
		.trust = nets,
		.ntrust = ntrusted,
		.max_conns_per_user = (uint32_t)maxconnsperuser,
		.attach_timeout_ms = (uint64_t)attach_ms,
		.tcp_readonly = tcpreadonly,
		.sock_mode = (uint32_t)smode,
		.sock_gid = sgid,
	};
	d.srv = srv_new(d.loop, &sc, &ops);
	for (int i = 0; i < fsaddr.n; i++) {
		if (srv_listen(d.srv, fsaddr.v[i], why, sizeof why) < 0) {
			LOGE("%s", why);
			tracking_fini();
			return 1;
		}
	}
	if (*metrics && metrics_start(d.loop, metrics, render_metrics, &d, &d.metrics, why, sizeof why) < 0) {
		LOGE("%s", why);
		tracking_fini();
		return 1;
	}
	jobs_begin(d.jobs);
	uv_signal_init(d.loop, &d.sigterm);
	uv_signal_init(d.loop, &d.sigint);
	uv_signal_init(d.loop, &d.sighup);
	d.sigterm.data = d.sigint.data = d.sighup.data = &d;
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	uv_signal_start(&d.sigint, on_signal, SIGINT);
	uv_signal_start(&d.sighup, on_sighup, SIGHUP);

	uv_run(d.loop, UV_RUN_DEFAULT);

	/* Everything has stopped: release memory so leak checkers see a clean exit. */
	jobs_free(d.jobs);
	tracking_fini();
	uv_run(d.loop, UV_RUN_DEFAULT);
	fs_free(d.fs);
	srv_free(d.srv);
	free(nets);
	store_close(d.store);
	zone_free(d.zone);
	uv_loop_close(d.loop);
	log_fini();
	return 0;
}
