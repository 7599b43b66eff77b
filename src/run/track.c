/* How jobd keeps hold of what its runs start, once for the whole process (the
 * subreaper flag, SIGCHLD and jobd's cgroup are per process).
 *
 * With cgroups (cgroup.c), every process a run starts is in the run's cgroup
 * whoever its parent becomes, and nothing here is needed beyond setting up.
 *
 * Without (-cgroup none, or auto found nothing writable), jobd makes itself a
 * child subreaper: a process of a run whose parent dies (the shell of
 * `setsid daemon &`, the middle of a double fork) is re-parented to jobd
 * instead of init. jobd reaps such adopted processes, and at shutdown signals
 * them (SIGTERM, SIGKILL after the grace period), so that shutdown never
 * waits for ever on one that holds a run's output open. The limit of this
 * fallback: an adopted process carries no mark of the run it came from, so
 * kill, timeout and delete, which act on one run, cannot reach what left
 * that run's session (setsid, double forks); only shutdown does, and what an
 * escaped process's live parent still holds is reached only once that
 * parent exits.
 *
 * Adopted processes are found by listing jobd's children on each SIGCHLD:
 * /proc/self/task/T/children where the kernel has it, else every
 * /proc/PID/stat, looking for jobd as the parent (O(processes on the
 * machine)). Run leaders that run.c holds are skipped; any other child is
 * not a run (jobd makes no other children) and is reaped once it has
 * exited. Signalling a child by pid is safe: only jobd can reap it, so its
 * pid cannot be reused in between. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run_int.h"
#include "util/util.h"

static struct {
	int sub;                    /* jobd is a subreaper */
	int watching;               /* sigchld is in use */
	uv_signal_t sigchld;
	uv_timer_t grace;           /* shutdown: SIGKILL when it fires */
	int stopsig;                /* shutdown: sent to each adopted process; 0 before */
	int children_file;          /* /proc/self/task/T/children: 1 works, -1 absent, 0 untried */
	int alive;                  /* adopted processes seen alive by the last sweep */
	int deferred;               /* a sweep left a child alone while starts were on their way */
	void (*done)(void *);
	void *arg;
} tr;

/* A child of jobd's: a held run leader is left alone; another is reaped if
 * it has exited, else counted and, at shutdown, signalled. */
static void visit(long pid)
{
	if (pid <= 0 || run_holds((int)pid))
		return;
	/* A run's leader the spawner has started but the loop not held yet
	 * looks like any other child: while starts are on their way, none is
	 * reaped (it would take a run's status); the sweep is done again when
	 * they are over (track_spawned). */
	if (spawner_inflight()) {
		tr.deferred = 1;
		tr.alive++;
		return;
	}
	int st;
	pid_t w = waitpid((pid_t)pid, &st, WNOHANG);
	if (w != 0)
		return;                 /* reaped now, or not ours any more */
	tr.alive++;
	if (tr.stopsig)
		kill((pid_t)pid, tr.stopsig);
}

/* Through /proc/self/task/T/children: 0, or -1 if the kernel lacks it. */
static int sweep_children_files(void)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return -1;
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char path[300];
		snprintf(path, sizeof path, "/proc/self/task/%s/children", e->d_name);
		FILE *f = fopen(path, "re");
		if (!f) {
			rc = errno == ENOENT && tr.children_file == 0 ? -1 : 0;
			continue;
		}
		tr.children_file = 1;
		long pid;
		while (fscanf(f, "%ld", &pid) == 1)
			visit(pid);
		fclose(f);
	}
	closedir(d);
	return rc;
}

/* Through every /proc/PID/stat: O(processes on the machine). */
static void sweep_proc(void)
{
	DIR *d = opendir("/proc");
	if (!d)
		return;
	long self = (long)getpid();
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		char path[300], buf[512];
		snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t k = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (k <= 0)
			continue;
		buf[k] = '\0';
		/* "pid (comm) state ppid ...": comm may hold anything, up to the last ')'. */
		char *p = strrchr(buf, ')');
		long ppid;
		if (p && sscanf(p + 1, " %*c %ld", &ppid) == 1 && ppid == self)
			visit(strtol(e->d_name, NULL, 10));
	}
	closedir(d);
}

/* Reaps and counts (and at shutdown signals) the adopted processes. */
static int sweep(void)
{
	tr.alive = 0;
	if (tr.children_file < 0 || sweep_children_files() < 0) {
		tr.children_file = -1;
		sweep_proc();
	}
	return tr.alive;
}

static void finish(void)
{
	void (*done)(void *) = tr.done;
	tr.done = NULL;
	uv_timer_stop(&tr.grace);
	if (done)
		done(tr.arg);
}

static void on_sigchld(uv_signal_t *h, int sig)
{
	(void)h;
	(void)sig;
	run_check_exits();
	if (tr.sub && sweep() == 0 && tr.done)
		finish();
}

void track_spawned(void)
{
	if (tr.deferred && tr.sub && !spawner_inflight()) {
		tr.deferred = 0;
		on_sigchld(&tr.sigchld, SIGCHLD);
	}
}

void track_sigchld(uv_loop_t *loop)
{
	if (tr.watching)
		return;
	uv_signal_init(loop, &tr.sigchld);
	uv_signal_start(&tr.sigchld, on_sigchld, SIGCHLD);
	uv_unref((uv_handle_t *)&tr.sigchld);   /* it never keeps the loop alive */
	tr.watching = 1;
}

static void on_grace(uv_timer_t *t)
{
	(void)t;
	tr.stopsig = SIGKILL;
	sweep();
	finish();
}

int run_stop_adopted(int64_t grace_ms, void (*done)(void *), void *arg)
{
	if (!tr.sub)
		return 0;
	tr.stopsig = SIGTERM;
	if (sweep() == 0)
		return 0;
	tr.done = done;
	tr.arg = arg;
	uv_timer_start(&tr.grace, on_grace, grace_ms > 0 ? (uint64_t)grace_ms : 0, 0);
	return 1;
}

int run_init(uv_loop_t *loop, const char *cgroup, RunTracking *t, char *why, size_t n)
{
	memset(t, 0, sizeof *t);
	run_slots_init();
	int rc = cgroup_init(cgroup, t, why, n);
	if (rc < 0)
		return rc;
	if (!run_pidfds())
		track_sigchld(loop);
	if (rc > 0)
		return 0;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		rc = -errno;
		strfmt(why, n, "prctl(PR_SET_CHILD_SUBREAPER): %s", strerror(-rc));
		return rc;
	}
	track_sigchld(loop);
	uv_timer_init(loop, &tr.grace);
	tr.sub = 1;
	return 0;
}

void run_recover(RunTracking *t)
{
	cgroup_clear_stale(t);
}

int run_fini(char *why, size_t n)
{
	if (tr.watching) {
		uv_close((uv_handle_t *)&tr.sigchld, NULL);
		tr.watching = 0;
	}
	if (tr.sub) {
		uv_close((uv_handle_t *)&tr.grace, NULL);
		tr.sub = 0;
	}
	spawner_close();
	run_pool_close();
	run_leaders_close();
	run_owner_forget();
	return cgroup_fini(why, n);
}
