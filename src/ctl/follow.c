/* Following: log -f, output -f, run -w and events read jobd's live files
 * (doc/namespace.md, "Live files"), whose reads wait until there is more:
 * nothing polls. Each stream counts where it is (a byte position in the
 * log or the output, the number of the last event), so when the connection
 * is lost (jobd restarted) it dials again and resumes with "from POS":
 * nothing is printed twice and nothing is skipped, unless retention removed
 * it meanwhile, which is said. Only whole lines are printed. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "ctl/ctl.h"

static volatile sig_atomic_t stop_asked;
static volatile sig_atomic_t live_fd = -1;

/* SIGINT and SIGTERM end a follow: the connection is shut, so that a read
 * waiting in jobd returns at once, and the command ends cleanly. */
static void on_stop(int sig)
{
	(void)sig;
	stop_asked = 1;
	if (live_fd >= 0)
		shutdown(live_fd, SHUT_RDWR);
}

static void catch_stop(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	if (!stop_asked)
		nanosleep(&ts, NULL);
}

/* A stream of lines from one live file. */
typedef struct Stream {
	char path[256];
	int events;                 /* /events: pos is the last event's number */
	int64_t pos;                /* log, output: absolute position of the next byte */
	int positioned;             /* pos is known: an open says "from pos" */
	uint32_t fid;
	int open;
	uint64_t off;               /* offset in this open */
	int empty;                  /* the last read was empty */
	Buf carry;                  /* the start of a line not yet ended */
} Stream;

static int connected(Ctl *x)
{
	if (!x->c)
		return 0;
	live_fd = client_fd(x->c);
	return 1;
}

/* Dials again until it works or a stop is asked (then -EINTR); says once
 * that the connection was lost and once that it is back. */
static int redial(Ctl *x)
{
	char why[512];
	long wait = 100;
	int answered;
	live_fd = -1;
	if (x->c) {
		client_free(x->c);
		x->c = NULL;
	}
	fprintf(stderr, "jobctl: connection to jobd lost; dialling %s again\n", x->addr);
	while (!stop_asked) {
		if ((x->c = ctl_dial(x->addr, &answered, why, sizeof why)) && connected(x)) {
			fprintf(stderr, "jobctl: connected again\n");
			return 0;
		}
		nap(wait);
		wait = wait < 2000 ? wait * 2 : 2000;
	}
	return -EINTR;
}

/* Opens s on x's connection, at s->pos if it is known. */
static int stream_open(Ctl *x, Stream *s, char *why, size_t n)
{
	uint32_t iounit;
	int rc = client_open_fid(x->c, s->path, s->positioned ? ORDWR : OREAD, 0, &s->fid, &iounit,
	                         why, n);
	if (rc < 0)
		return rc;
	s->open = 1;
	s->off = 0;
	s->empty = 0;
	if (!s->positioned)
		return 0;
	char from[48];
	int len = snprintf(from, sizeof from, "from %lld", (long long)(s->events ? s->pos + 1 : s->pos));
	Fcall t = { .type = Twrite, .fid = s->fid, .count = (uint32_t)len, .data = (uint8_t *)from }, r;
	uint8_t *rb;
	rc = client_rpc(x->c, &t, &r, &rb, why, n);
	free(rb);
	return rc;
}

static void stream_close(Ctl *x, Stream *s)
{
	if (s->open && x->c)
		client_clunk(x->c, s->fid);
	s->open = 0;
}

/* The number an event line starts with. */
static int64_t event_seq(const char *line)
{
	return strtoll(line, NULL, 10);
}

/* Prints the whole lines of what was read (the rest waits in carry). */
static void emit(Ctl *x, Stream *s, const uint8_t *data, size_t len)
{
	buf_add(&s->carry, data, len);
	size_t end = s->carry.len;
	while (end > 0 && s->carry.data[end - 1] != '\n')
		end--;
	if (end == 0)
		return;
	if (s->events) {
		/* The last whole line's number: where a new connection goes on. */
		size_t ls = end - 1;
		while (ls > 0 && s->carry.data[ls - 1] != '\n')
			ls--;
		if (strncmp(s->carry.data + ls, "dropped ", 8) != 0)
			s->pos = event_seq(s->carry.data + ls);
		s->positioned = 1;
	}
	ctl_print_lines(x, s->carry.data, end, s->events);
	fflush(stdout);
	memmove(s->carry.data, s->carry.data + end, s->carry.len - end);
	s->carry.len -= end;
}

/* One read (it may wait in jobd): 1 more came, 0 end of file, -errno. */
static int stream_step(Ctl *x, Stream *s, char *why, size_t n)
{
	Fcall t = { .type = Tread, .fid = s->fid, .offset = s->off, .count = 8192 }, r;
	uint8_t *rb;
	int rc = client_rpc(x->c, &t, &r, &rb, why, n);
	if (rc < 0) {
		free(rb);
		return rc;
	}
	if (r.count == 0) {
		/* An empty reply ends a batch (what the kernel's read() needs);
		 * the end is two in a row. */
		free(rb);
		return s->empty++ ? 0 : 1;
	}
	s->empty = 0;
	s->off += r.count;
	if (!s->events)
		s->pos += r.count;
	emit(x, s, r.data, r.count);
	free(rb);
	return 1;
}

/* Where a job's log begins now (status's log_first). */
static int log_first(Ctl *x, const char *name, int64_t *first, char *why, size_t n)
{
	char path[256], v[32];
	int rc;
	char *st = ctl_read(x, ctl_job_path(path, sizeof path, name, "status"), &rc, why, n);
	if (!st)
		return rc;
	rc = kv_get(st, "log_first", v, sizeof v) == 0 ? 0 : -EPROTO;
	*first = rc == 0 ? strtoll(v, NULL, 10) : 0;
	free(st);
	if (rc < 0)
		strfmt(why, n, "jobd's status has no log_first: it is older than this jobctl");
	return rc;
}

/* Follows s until end of file (0), a stop (-EINTR), or an error jobd gave
 * (-errno, why). A lost connection is dialled again; then on_reopen (if
 * any) may reposition s before it is opened again. */
static int stream_run(Ctl *x, Stream *s, int (*on_reopen)(Ctl *, Stream *, void *), void *arg,
                      char *why, size_t n)
{
	catch_stop();
	connected(x);
	int rc = 0;
	while (!stop_asked) {
		rc = s->open ? 0 : stream_open(x, s, why, n);
		if (rc >= 0)
			rc = stream_step(x, s, why, n);
		if (rc == 0)
			break;
		if (rc > 0)
			continue;
		if (rc == -ESTALE && on_reopen) {
			/* Retention removed where we were: say so, go on from what is kept. */
			stream_close(x, s);
			if ((rc = on_reopen(x, s, arg)) < 0)
				break;
			continue;
		}
		if (stop_asked)
			break;
		if (!client_broken(x->c))
			break;          /* jobd said no: the job is gone, say */
		s->open = 0;
		if ((rc = redial(x)) < 0)
			break;
	}
	stream_close(x, s);
	if (s->carry.len)
		ctl_print_lines(x, s->carry.data, s->carry.len, s->events);  /* a last line without its newline */
	fflush(stdout);
	buf_free(&s->carry);
	return stop_asked ? -EINTR : rc;
}

/* log -f: retention removed the place it was at; go on from the log's start. */
static int log_skip(Ctl *x, Stream *s, void *arg)
{
	char why[256];
	int64_t first;
	if (log_first(x, arg, &first, why, sizeof why) < 0)
		return -ESTALE;
	fprintf(stderr, "jobctl: %s: %lld bytes of log were removed (retention) before they were "
	        "read\n", (const char *)arg, (long long)(first - s->pos));
	s->pos = first;
	return 0;
}

size_t ctl_tail_start(const char *s, size_t len, long tail)
{
	long k = 0;
	if (tail == 0)
		return len;
	for (size_t p = len; p > 0; p--)
		if (s[p - 1] == '\n' && p != len && ++k == tail)
			return p;
	return 0;
}

/* The last `tail` lines of the log before following it: the log is read
 * from its first kept byte and only the end is printed. */
int ctl_follow_log(Ctl *x, const char *name, long tail)
{
	char why[512];
	Stream s = { .positioned = 1 };
	ctl_job_path(s.path, sizeof s.path, name, "log.follow");
	int rc = log_first(x, name, &s.pos, why, sizeof why);
	if (rc == 0 && tail >= 0) {
		/* Start at the last `tail` lines of what is there now. (The log
		 * file begins where status said, unless a run ended in between and
		 * retention moved it: then the first lines printed may be others.) */
		char path[256], *all;
		size_t len;
		rc = client_read_file(x->c, ctl_job_path(path, sizeof path, name, "log"), &all, &len, why,
		                      sizeof why);
		if (rc == 0) {
			/* Its length, not strlen: a run's output in it may hold a NUL. */
			s.pos += (int64_t)ctl_tail_start(all, len, tail);
			free(all);
		}
	}
	if (rc == 0)
		rc = stream_run(x, &s, log_skip, (void *)name, why, sizeof why);
	if (rc == -EINTR)
		return EX_OK;
	return rc < 0 ? ctl_job_refused(x, name, rc, why) : EX_OK;
}

char *ctl_follow_run(Ctl *x, const char *name, long run, int *ex)
{
	char why[512], path[256];
	Stream s = { .positioned = 1, .pos = 0 };
	ctl_run_path(s.path, sizeof s.path, name, run, "output.follow");
	int rc = stream_run(x, &s, NULL, NULL, why, sizeof why);
	if (rc == -EINTR) {
		*ex = 128 + SIGINT;
		return NULL;
	}
	char *st = NULL;
	/* The output has ended, so has the run: wait answers at once. */
	if (rc == 0)
		st = ctl_read(x, ctl_run_path(path, sizeof path, name, run, "wait"), &rc, why, sizeof why);
	if (!st) {
		*ex = ctl_job_refused(x, name, rc, why);
		return NULL;
	}
	*ex = EX_OK;
	return st;
}

int ctl_cmd_events(Ctl *x)
{
	char why[512];
	Stream s = { .events = 1 };
	strfmt(s.path, sizeof s.path, "events");
	int rc = stream_run(x, &s, NULL, NULL, why, sizeof why);
	if (rc == -EINTR || rc == 0)
		return EX_OK;
	return ctl_refused("events", why);
}
