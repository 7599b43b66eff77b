/* p9load: the 9P load generator of `make bench`. Every mode speaks raw
 * 9P2000.L with pre-packed frames (benchlib.h), one request on the wire per
 * connection, so the client costs the same against jobd, diod and the echo
 * server. Each mode prints one line of key=value figures for bench/run.sh.
 *
 *   p9load rt -a ADDR [-aname A] [-c CONNS] [-d SECS] [-path P] [-pid PID]
 *       CONNS threads, each with its own connection, loop walk+open+read+clunk
 *       of P for SECS seconds (after a short warm-up). Figures: ops/s,
 *       p50/p99 latency of one op (four round trips), and with -pid the
 *       server's CPU time per op over the same window.
 *   p9load read -a ADDR [-aname A] -path P [-count N] [-d SECS] [-pid PID]
 *       One open of P, then Treads of N bytes (64 KiB) at successive offsets,
 *       from the start again at end of file: MB/s, and the open's time.
 *   p9load create -a ADDR [-c CONNS] -n TOTAL [-d MAXSECS] -prefix P -sched S -cmd C
 *       TOTAL jobs named P<t>_<i> created through /clone (walk, open, write,
 *       clunk) over CONNS connections, stopping early at MAXSECS: creates/s.
 *   p9load write -a ADDR [-c CONNS] -n COUNT -path FMT -data D
 *       Writes D to FMT with %d replaced by 0..COUNT-1 (e.g. jobs/f%d/ctl).
 *   p9load runloop -a ADDR -path P -data D -d SECS
 *       Keeps P open and writes D to it as fast as accepted for SECS.
 *   p9load startup -sock PATH [-timeout SECS] -log FILE -- PROGRAM ARGS...
 *       Starts PROGRAM (stdout and stderr to FILE), measures the time to the
 *       first Rversion on the unix socket PATH, prints it, then stays as its
 *       parent until it exits (exiting with its status).
 *   p9load watch -pid PID [-d SECS]
 *       CPU time, wake-ups (times scheduled in, from schedstat), context
 *       switches of PID over SECS (0: now), and its RSS.
 *   p9load runstatus -a ADDR -prefix P -n N -from S0 -to S1 [-d SECS]
 *       Lateness and missed ticks from jobs/P<i>/runs/K/status files
 *       (doc/namespace.md) of the ticks S0..S1; "unsupported=1" when the
 *       files do not exist; stops after SECS with "incomplete=1". */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchlib.h"

/* ---- options ---- */

typedef struct Opt {
	const char *addr, *aname, *path, *prefix, *sched, *cmd, *data, *sock, *log;
	int conns, pid, count;
	long n;
	double secs, warm, timeout;
	long long from, to;
	char **argv;                /* startup: the program */
} Opt;

static void usage(void)
{
	die("usage: p9load rt|read|create|write|runloop|startup|watch|runstatus [options] (see the source)");
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- rt: walk+open+read+clunk ---- */

typedef struct Worker {
	pthread_t th;
	const Opt *o;
	Wire w;
	Hist *h;
	_Atomic uint64_t ops;
	int err;
	uint32_t sizes[4];          /* reply sizes of the four messages of an op */
	int nwname;                 /* elements in the walk */
} Worker;

static pthread_barrier_t barrier;
static _Atomic int measuring, stopping;

static void *rt_worker(void *arg)
{
	Worker *wk = arg;
	uint8_t walk[512], lopen[64], rd[64], clunk[64];
	size_t nwalk = pack_walk(walk, sizeof walk, 0, 1, wk->o->path);
	wk->nwname = walk[15] | walk[16] << 8;
	size_t nopen = pack_lopen(lopen, sizeof lopen, 1, L_RDONLY);
	size_t nread = pack_read(rd, sizeof rd, 1, 0, 8192);
	size_t nclunk = pack_clunk(clunk, sizeof clunk, 1);
	pthread_barrier_wait(&barrier);
	while (!atomic_load_explicit(&stopping, memory_order_relaxed)) {
		int64_t t0 = mono_ns();
		long a = wire_rpc(&wk->w, walk, nwalk, Rwalk);
		long b = a < 0 ? a : wire_rpc(&wk->w, lopen, nopen, Rlopen);
		long c = b < 0 ? b : wire_rpc(&wk->w, rd, nread, Rread);
		long d = wire_rpc(&wk->w, clunk, nclunk, Rclunk);
		if (a < 0 || b < 0 || c < 0 || d < 0) {
			wk->err = (int)(a < 0 ? a : b < 0 ? b : c < 0 ? c : d);
			break;
		}
		if (a != (long)(P9_HDRSZ + 2 + 13 * wk->nwname)) {   /* a partial walk */
			wk->err = -ENOENT;
			break;
		}
		if (c <= 11) {               /* an empty file: not what we meant to read */
			wk->err = -ENODATA;
			break;
		}
		wk->sizes[0] = (uint32_t)a, wk->sizes[1] = (uint32_t)b;
		wk->sizes[2] = (uint32_t)c, wk->sizes[3] = (uint32_t)d;
		if (atomic_load_explicit(&measuring, memory_order_relaxed)) {
			hist_add(wk->h, mono_ns() - t0);
			atomic_fetch_add_explicit(&wk->ops, 1, memory_order_relaxed);
		}
	}
	return NULL;
}

static int mode_rt(const Opt *o)
{
	char why[256];
	Worker *wk = calloc((size_t)o->conns, sizeof *wk);
	for (int i = 0; i < o->conns; i++) {
		wk[i].o = o;
		wk[i].h = calloc(1, sizeof(Hist));
		if (!wk[i].h)
			die("out of memory");
		if (wire_open(&wk[i].w, o->addr, 65536 + P9_IOHDRSZ, o->aname, why, sizeof why) < 0)
			die("connection %d to %s: %s", i, o->addr, why);
	}
	pthread_barrier_init(&barrier, NULL, (unsigned)o->conns + 1);
	for (int i = 0; i < o->conns; i++)
		pthread_create(&wk[i].th, NULL, rt_worker, &wk[i]);
	pthread_barrier_wait(&barrier);
	sleep_s(o->warm);
	ProcSample p0 = {0}, p1 = {0};
	if (o->pid)
		proc_sample(o->pid, &p0);
	int64_t t0 = mono_ns();
	atomic_store(&measuring, 1);
	sleep_s(o->secs);
	atomic_store(&measuring, 0);
	int64_t t1 = mono_ns();
	if (o->pid)
		proc_sample(o->pid, &p1);
	atomic_store(&stopping, 1);
	Hist *all = calloc(1, sizeof(Hist));
	uint64_t ops = 0;
	int err = 0;
	for (int i = 0; i < o->conns; i++) {
		pthread_join(wk[i].th, NULL);
		hist_merge(all, wk[i].h);
		ops += atomic_load(&wk[i].ops);
		if (wk[i].err && !err)
			err = wk[i].err;
		wire_close(&wk[i].w);
		free(wk[i].h);
	}
	if (err)
		die("rt against %s: %s", o->addr, strerror(-err));
	double secs = (double)(t1 - t0) / 1e9;
	printf("conns=%d ops=%llu secs=%.3f ops_s=%.1f p50_us=%.0f p99_us=%.0f mean_us=%.1f"
	       " sizes=%u/%u/%u/%u",
	       o->conns, (unsigned long long)ops, secs, (double)ops / secs,
	       hist_quantile_us(all, 0.50), hist_quantile_us(all, 0.99),
	       all->n ? all->sum_ns / (double)all->n / 1000 : 0.0,
	       wk[0].sizes[0], wk[0].sizes[1], wk[0].sizes[2], wk[0].sizes[3]);
	if (o->pid && ops)
		printf(" cpu_ms=%.1f run_ms=%.1f cpu_per_op_us=%.2f run_per_op_us=%.2f",
		       (double)(p1.cpu_ns - p0.cpu_ns) / 1e6, (double)(p1.run_ns - p0.run_ns) / 1e6,
		       (double)(p1.cpu_ns - p0.cpu_ns) / 1e3 / (double)ops,
		       (double)(p1.run_ns - p0.run_ns) / 1e3 / (double)ops);
	printf("\n");
	free(all);
	free(wk);
	return 0;
}

/* ---- read: 64 KiB Treads of a large file ---- */

static int mode_read(const Opt *o)
{
	char why[256];
	Wire w;
	uint32_t count = (uint32_t)o->count;
	if (wire_open(&w, o->addr, count + P9_IOHDRSZ, o->aname, why, sizeof why) < 0)
		die("%s: %s", o->addr, why);
	if (w.msize < count + P9_IOHDRSZ)
		count = w.msize - P9_IOHDRSZ;
	uint8_t t[512];
	int64_t t0 = mono_ns();
	size_t n = pack_walk(t, sizeof t, 0, 1, o->path);
	if (wire_rpc(&w, t, n, Rwalk) < 0)
		die("walk %s failed", o->path);
	n = pack_lopen(t, sizeof t, 1, L_RDONLY);
	long rc = wire_rpc(&w, t, n, Rlopen);
	if (rc < 0)
		die("open %s: %s", o->path, strerror((int)-rc));
	double open_ms = (double)(mono_ns() - t0) / 1e6;
	ProcSample p0 = {0}, p1 = {0};
	if (o->pid)
		proc_sample(o->pid, &p0);
	uint64_t off = 0, bytes = 0, reads = 0, size = 0;
	Hist *h = calloc(1, sizeof(Hist));
	int64_t start = mono_ns(), end = start + (int64_t)(o->secs * 1e9), now = start;
	while (now < end) {
		n = pack_read(t, sizeof t, 1, off, count);
		rc = wire_rpc(&w, t, n, Rread);
		int64_t t1 = mono_ns();
		if (rc < 0)
			die("read %s: %s", o->path, strerror((int)-rc));
		uint32_t got = (uint32_t)w.buf[7] | (uint32_t)w.buf[8] << 8 |
		               (uint32_t)w.buf[9] << 16 | (uint32_t)w.buf[10] << 24;
		hist_add(h, t1 - now);
		now = t1;
		if (got == 0) {          /* end of file: from the start again */
			if (off == 0)
				die("%s is empty", o->path);
			size = off;
			off = 0;
			continue;
		}
		off += got;
		bytes += got;
		reads++;
	}
	if (o->pid)
		proc_sample(o->pid, &p1);
	double secs = (double)(now - start) / 1e9;
	if (!size)
		size = off;
	printf("bytes=%llu reads=%llu secs=%.3f mb_s=%.1f read_p50_us=%.0f read_p99_us=%.0f"
	       " open_ms=%.1f file_bytes=%llu count=%u",
	       (unsigned long long)bytes, (unsigned long long)reads, secs,
	       (double)bytes / secs / 1e6, hist_quantile_us(h, 0.5), hist_quantile_us(h, 0.99),
	       open_ms, (unsigned long long)size, count);
	if (o->pid && reads)
		printf(" cpu_per_read_us=%.1f", (double)(p1.cpu_ns - p0.cpu_ns) / 1e3 / (double)reads);
	printf("\n");
	n = pack_clunk(t, sizeof t, 1);
	wire_rpc(&w, t, n, Rclunk);
	wire_close(&w);
	free(h);
	return 0;
}

/* ---- create: jobs through /clone ---- */

typedef struct Creator {
	pthread_t th;
	const Opt *o;
	int idx;
	long todo, done;
	Hist *h;
	int err;
	char errmsg[400];
	int64_t deadline;
} Creator;

static void *create_worker(void *arg)
{
	Creator *cr = arg;
	const Opt *o = cr->o;
	char why[256];
	Wire w;
	if (wire_open(&w, o->addr, 65536, "", why, sizeof why) < 0) {
		snprintf(cr->errmsg, sizeof cr->errmsg, "%s", why);
		cr->err = -1;
		pthread_barrier_wait(&barrier);
		return NULL;
	}
	uint8_t walk[128], lopen[64], clunk[64];
	size_t nwalk = pack_walk(walk, sizeof walk, 0, 1, "clone");
	size_t nopen = pack_lopen(lopen, sizeof lopen, 1, L_RDWR);
	size_t nclunk = pack_clunk(clunk, sizeof clunk, 1);
	size_t cap = strlen(o->sched) + strlen(o->cmd) + 256;
	char *line = malloc(cap);
	uint8_t *wbuf = malloc(cap + 64);
	pthread_barrier_wait(&barrier);
	for (long i = 0; i < cr->todo; i++) {
		if (mono_ns() > cr->deadline)
			break;
		int len = snprintf(line, cap, "%s%d_%ld:%s:%s", o->prefix, cr->idx, i, o->sched, o->cmd);
		size_t nw = pack_write(wbuf, cap + 64, 1, line, (uint32_t)len);
		int64_t t0 = mono_ns();
		long a = wire_rpc(&w, walk, nwalk, Rwalk);
		long b = a < 0 ? a : wire_rpc(&w, lopen, nopen, Rlopen);
		long c = b < 0 ? b : wire_rpc(&w, wbuf, nw, Rwrite);
		long d = a < 0 ? 0 : wire_rpc(&w, clunk, nclunk, Rclunk);
		if (a < 0 || b < 0 || c < 0 || d < 0) {
			cr->err = (int)(a < 0 ? a : b < 0 ? b : c < 0 ? c : d);
			snprintf(cr->errmsg, sizeof cr->errmsg, "create %.60s: %s", line,
			         strerror(-cr->err));
			break;
		}
		hist_add(cr->h, mono_ns() - t0);
		cr->done++;
	}
	free(line);
	free(wbuf);
	wire_close(&w);
	return NULL;
}

static int mode_create(const Opt *o)
{
	Creator *cr = calloc((size_t)o->conns, sizeof *cr);
	pthread_barrier_init(&barrier, NULL, (unsigned)o->conns + 1);
	int64_t deadline = mono_ns() + (int64_t)(o->secs * 1e9);
	for (int i = 0; i < o->conns; i++) {
		cr[i] = (Creator){ .o = o, .idx = i, .todo = o->n / o->conns + (i < o->n % o->conns),
		                   .h = calloc(1, sizeof(Hist)), .deadline = deadline };
		pthread_create(&cr[i].th, NULL, create_worker, &cr[i]);
	}
	pthread_barrier_wait(&barrier);
	int64_t t0 = mono_ns();
	long done = 0;
	Hist *all = calloc(1, sizeof(Hist));
	const char *err = NULL;
	for (int i = 0; i < o->conns; i++)
		pthread_join(cr[i].th, NULL);
	int64_t t1 = mono_ns();
	for (int i = 0; i < o->conns; i++) {
		done += cr[i].done;
		hist_merge(all, cr[i].h);
		if (cr[i].err && !err)
			err = cr[i].errmsg;
	}
	double secs = (double)(t1 - t0) / 1e9;
	printf("conns=%d created=%ld secs=%.3f creates_s=%.1f p50_us=%.0f p99_us=%.0f complete=%d\n",
	       o->conns, done, secs, (double)done / secs, hist_quantile_us(all, 0.5),
	       hist_quantile_us(all, 0.99), done == o->n);
	if (err)
		fprintf(stderr, "p9load: %s\n", err);
	return err ? 1 : 0;
}

/* ---- write: one value to many files ---- */

typedef struct Writer {
	pthread_t th;
	const Opt *o;
	int idx;
	long ok;
	int err;
	char errmsg[800];
} Writer;

/* path with its first "%d" replaced by i (a format from the command line:
 * expanded by hand, so that nothing else in it is interpreted). */
static void path_expand(char *buf, size_t n, const char *path, long i)
{
	const char *d = strstr(path, "%d");
	if (!d)
		snprintf(buf, n, "%s", path);
	else
		snprintf(buf, n, "%.*s%ld%s", (int)(d - path), path, i, d + 2);
}

static void *write_worker(void *arg)
{
	Writer *wr = arg;
	const Opt *o = wr->o;
	char why[256], path[512];
	Wire w;
	if (wire_open(&w, o->addr, 65536, "", why, sizeof why) < 0) {
		snprintf(wr->errmsg, sizeof wr->errmsg, "%s", why);
		wr->err = -1;
		return NULL;
	}
	for (long i = wr->idx; i < o->n; i += o->conns) {
		path_expand(path, sizeof path, o->path, i);
		int rc = wire_write_file(&w, path, o->data, strlen(o->data));
		if (rc < 0) {
			wr->err = rc;
			snprintf(wr->errmsg, sizeof wr->errmsg, "write %s: %s", path, strerror(-rc));
			break;
		}
		wr->ok++;
	}
	wire_close(&w);
	return NULL;
}

static int mode_write(const Opt *o)
{
	Writer *wr = calloc((size_t)o->conns, sizeof *wr);
	int64_t t0 = mono_ns();
	for (int i = 0; i < o->conns; i++) {
		wr[i] = (Writer){ .o = o, .idx = i };
		pthread_create(&wr[i].th, NULL, write_worker, &wr[i]);
	}
	long ok = 0;
	const char *err = NULL;
	for (int i = 0; i < o->conns; i++) {
		pthread_join(wr[i].th, NULL);
		ok += wr[i].ok;
		if (wr[i].err && !err)
			err = wr[i].errmsg;
	}
	printf("written=%ld secs=%.3f\n", ok, (double)(mono_ns() - t0) / 1e9);
	if (err)
		fprintf(stderr, "p9load: %s\n", err);
	return err ? 1 : 0;
}

/* ---- runloop: the same write, as fast as it is accepted ---- */

static int mode_runloop(const Opt *o)
{
	char why[256];
	Wire w;
	if (wire_open(&w, o->addr, 65536, "", why, sizeof why) < 0)
		die("%s: %s", o->addr, why);
	uint8_t t[512];
	size_t n = pack_walk(t, sizeof t, 0, 1, o->path);
	long rc = wire_rpc(&w, t, n, Rwalk);
	n = pack_lopen(t, sizeof t, 1, L_WRONLY);
	if (rc < 0 || (rc = wire_rpc(&w, t, n, Rlopen)) < 0) {
		printf("accepted=0 secs=0 writes_s=0 error=%d\n", (int)-rc);
		return 1;
	}
	size_t nw = pack_write(t, sizeof t, 1, o->data, (uint32_t)strlen(o->data));
	long ok = 0, refused = 0, first_err = 0;
	int64_t t0 = mono_ns(), end = t0 + (int64_t)(o->secs * 1e9), now = t0;
	while ((now = mono_ns()) < end) {
		rc = wire_rpc(&w, t, nw, Rwrite);
		if (rc >= 0)
			ok++;
		else {
			refused++;
			if (!first_err)
				first_err = -rc;
			if (refused > 1000 && ok == 0)
				break;
		}
	}
	double secs = (double)(now - t0) / 1e9;
	printf("accepted=%ld refused=%ld secs=%.3f writes_s=%.1f error=%ld\n", ok, refused, secs,
	       (double)ok / secs, first_err);
	n = pack_clunk(t, sizeof t, 1);
	wire_rpc(&w, t, n, Rclunk);
	wire_close(&w);
	return 0;
}

/* ---- startup: process start to first Rversion ---- */

extern char **environ;

static int try_version(const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	uint8_t t[64], r[256];
	Fcall f = { .type = Tversion, .tag = P9_NOTAG, .msize = 8192, .version = p9_str("9P2000.L") };
	size_t n = p9_pack(t, sizeof t, P9_2000L, &f);
	int ok = -1;
	struct timeval tv = { 30, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (write(fd, t, n) == (ssize_t)n) {
		ssize_t k = read(fd, r, sizeof r);
		if (k >= 7 && r[4] == Rversion)
			ok = 0;
	}
	close(fd);
	return ok;
}

static int mode_startup(const Opt *o)
{
	if (!o->argv || !o->argv[0] || !o->sock || !o->log)
		usage();
	unlink(o->sock);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, o->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	int64_t t0 = mono_ns();
	pid_t pid;
	int rc = posix_spawn(&pid, o->argv[0], &fa, NULL, o->argv, environ);
	if (rc != 0)
		die("cannot start %s: %s", o->argv[0], strerror(rc));
	int64_t deadline = t0 + (int64_t)(o->timeout * 1e9);
	for (;;) {
		if (try_version(o->sock) == 0)
			break;
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid)
			die("%s exited during start-up (see %s)", o->argv[0], o->log);
		if (mono_ns() > deadline) {
			kill(pid, SIGKILL);
			die("no Rversion on %s within %.0f s", o->sock, o->timeout);
		}
		sleep_s(0.0005);
	}
	printf("startup_ms=%.1f pid=%d\n", (double)(mono_ns() - t0) / 1e6, (int)pid);
	fflush(stdout);
	/* Stay its parent, so that it is reaped the moment it exits. */
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- watch: what a process spends over an interval ---- */

static int mode_watch(const Opt *o)
{
	ProcSample a, b;
	if (proc_sample(o->pid, &a) < 0)
		die("no process %d", o->pid);
	int64_t t0 = mono_ns();
	sleep_s(o->secs);
	if (proc_sample(o->pid, &b) < 0)
		die("process %d went away", o->pid);
	printf("secs=%.3f cpu_ms=%.1f run_ms=%.3f wakeups=%lld vcsw=%lld ivcsw=%lld rss_kb=%lld"
	       " hwm_kb=%lld\n", (double)(mono_ns() - t0) / 1e9, (double)(b.cpu_ns - a.cpu_ns) / 1e6,
	       (double)(b.run_ns - a.run_ns) / 1e6, (long long)(b.slices - a.slices),
	       (long long)(b.vcsw - a.vcsw), (long long)(b.ivcsw - a.ivcsw), (long long)b.rss_kb,
	       (long long)b.hwm_kb);
	return 0;
}

/* ---- runstatus: lateness from runs/N/status ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Parses one "key=value ..." line; returns the value of key or NULL. */
static const char *field(const char *line, const char *key, char *out, size_t n)
{
	size_t kl = strlen(key);
	for (const char *p = line; (p = strstr(p, key)) != NULL; p += kl) {
		if ((p == line || p[-1] == ' ') && p[kl] == '=') {
			size_t i = 0;
			p += kl + 1;
			while (p[i] && p[i] != ' ' && p[i] != '\n' && i + 1 < n) {
				out[i] = p[i];
				i++;
			}
			out[i] = '\0';
			return out;
		}
	}
	return NULL;
}

/* An RFC 3339 time ("2026-11-28T08:15:00+00:00") as unix seconds. */
static long long rfc3339(const char *s)
{
	struct tm tm = {0};
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return 0;
	long long t = (long long)timegm(&tm);
	while (*p == '.' || (*p >= '0' && *p <= '9'))
		p++;
	if (*p == '+' || *p == '-') {
		int hh = 0, mm = 0;
		sscanf(p + 1, "%d:%d", &hh, &mm);
		t -= (*p == '+' ? 1 : -1) * (hh * 3600LL + mm * 60LL);
	}
	return t;
}

static int mode_runstatus(const Opt *o)
{
	char why[256], path[512], v[128];
	Wire w;
	if (wire_open(&w, o->addr, 65536, "", why, sizeof why) < 0)
		die("%s: %s", o->addr, why);
	size_t cap = 1024, nlat = 0;
	double *lat = malloc(cap * sizeof *lat);
	long missed = 0, runs = 0, skipped = 0, jobs = 0;
	int64_t deadline = mono_ns() + (int64_t)(o->secs * 1e9);
	int incomplete = 0;
	for (long i = 0; i < o->n && !incomplete; i++) {
		/* Each job's runs/K, K = 1, 2, ... until one is missing (fewer than
		 * -keep_runs here, so none were trimmed). */
		long long prev = 0;
		for (int k = 1; k <= 100000; k++) {
			if (mono_ns() > deadline) {
				incomplete = 1;
				break;
			}
			char *text;
			snprintf(path, sizeof path, "jobs/%s%ld/runs/%d/status", o->prefix, i, k);
			long len = wire_read_file(&w, path, &text);
			if (len < 0) {
				if (k == 1 && i == 0) {
					printf("unsupported=1\n");
					return 0;
				}
				break;
			}
			long long sched = field(text, "sched", v, sizeof v) ? rfc3339(v) : 0;
			const char *state = field(text, "state", v, sizeof v) ? v : "";
			int is_skipped = strcmp(state, "skipped") == 0;
			double l = field(text, "lateness", v, sizeof v) ? atof(v) : -1;
			free(text);
			if (sched < o->from || sched > o->to)
				continue;
			if (!prev)
				missed += sched - o->from;
			else if (sched > prev + 1)
				missed += sched - prev - 1;
			prev = sched;
			if (is_skipped || l < 0) {
				skipped++;
				missed++;
				continue;
			}
			runs++;
			if (nlat == cap)
				lat = realloc(lat, (cap *= 2) * sizeof *lat);
			lat[nlat++] = l * 1e3;
		}
		if (incomplete)
			break;
		jobs++;
		if (!prev)
			missed += o->to - o->from + 1;
		else if (prev < o->to)
			missed += o->to - prev;
	}
	qsort(lat, nlat, sizeof *lat, cmp_double);
	printf("jobs=%ld runs=%ld missed=%ld skipped=%ld incomplete=%d source=runs_status", jobs, runs,
	       missed, skipped, incomplete);
	if (nlat)
		printf(" lat_p50_ms=%.3f lat_p99_ms=%.3f lat_max_ms=%.3f\n", lat[nlat / 2],
		       lat[(size_t)((double)nlat * 0.99)], lat[nlat - 1]);
	else
		printf(" lat_p50_ms=n/a lat_p99_ms=n/a lat_max_ms=n/a\n");
	wire_close(&w);
	free(lat);
	return 0;
}

int main(int argc, char **argv)
{
	progname = "p9load";
	if (argc < 2)
		usage();
	Opt o = { .aname = "", .conns = 1, .secs = 5, .warm = 0.3, .count = 65536, .n = 1,
	          .path = "jobs/bench/cmd", .timeout = 120, .prefix = "b", .sched = "@yearly",
	          .cmd = "true", .data = "" };
	const char *mode = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--")) {
			o.argv = argv + i + 1;
			break;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "-a")) o.addr = v;
		else if (!strcmp(a, "-aname")) o.aname = v;
		else if (!strcmp(a, "-path")) o.path = v;
		else if (!strcmp(a, "-prefix")) o.prefix = v;
		else if (!strcmp(a, "-sched")) o.sched = v;
		else if (!strcmp(a, "-cmd")) o.cmd = v;
		else if (!strcmp(a, "-data")) o.data = v;
		else if (!strcmp(a, "-sock")) o.sock = v;
		else if (!strcmp(a, "-log")) o.log = v;
		else if (!strcmp(a, "-c")) o.conns = atoi(v);
		else if (!strcmp(a, "-pid")) o.pid = atoi(v);
		else if (!strcmp(a, "-count")) o.count = atoi(v);
		else if (!strcmp(a, "-n")) o.n = atol(v);
		else if (!strcmp(a, "-d")) o.secs = atof(v);
		else if (!strcmp(a, "-warm")) o.warm = atof(v);
		else if (!strcmp(a, "-timeout")) o.timeout = atof(v);
		else if (!strcmp(a, "-from")) o.from = atoll(v);
		else if (!strcmp(a, "-to")) o.to = atoll(v);
		else
			usage();
	}
	if (o.conns < 1 || o.conns > 256 || o.secs < 0 || o.secs > 600 || o.n < 0)
		die("bad -c, -d or -n");
	if (strcmp(mode, "startup") != 0 && strcmp(mode, "watch") != 0 && !o.addr)
		usage();
	if (!strcmp(mode, "rt")) return mode_rt(&o);
	if (!strcmp(mode, "read")) return mode_read(&o);
	if (!strcmp(mode, "create")) return mode_create(&o);
	if (!strcmp(mode, "write")) return mode_write(&o);
	if (!strcmp(mode, "runloop")) return mode_runloop(&o);
	if (!strcmp(mode, "startup")) return mode_startup(&o);
	if (!strcmp(mode, "runstatus")) return mode_runstatus(&o);
	if (!strcmp(mode, "watch") && o.pid > 0) return mode_watch(&o);
	usage();
}
