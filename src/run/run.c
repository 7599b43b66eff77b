/* Spawning and output capture. stdout and stderr share one pipe so lines
 * interleave as the child wrote them. A run is finished only when the child
 * has exited AND the pipe reached EOF, so no output line is ever recorded
 * after the exit status. UV_PROCESS_DETACHED makes the child a session (and
 * process group) leader, so kill(-pid) reaches everything it started. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run.h"
#include "util/util.h"

struct Run {
	uv_process_t proc;
	uv_pipe_t out;
	RunCallbacks cb;
	void *arg;
	int pid;
	int exited, eof, status;
	int closing;                /* handles still open */
	char line[RUN_MAXLINE];
	size_t linelen;
};

static void emit(Run *r, const char *p, size_t n)
{
	if (r->cb.line)
		r->cb.line(r->arg, p, n);
}

static void handle_closed(uv_handle_t *h)
{
	Run *r = h->data;
	if (--r->closing == 0)
		free(r);
}

static void maybe_done(Run *r)
{
	if (!r->exited || !r->eof)
		return;
	if (r->linelen) {
		emit(r, r->line, r->linelen);
		r->linelen = 0;
	}
	if (r->cb.done)
		r->cb.done(r->arg, r->status);
	r->closing = 2;
	uv_close((uv_handle_t *)&r->proc, handle_closed);
	uv_close((uv_handle_t *)&r->out, handle_closed);
}

static void on_exit_cb(uv_process_t *p, int64_t exit_status, int term_signal)
{
	Run *r = p->data;
	r->exited = 1;
	r->status = term_signal ? -term_signal : (int)exit_status;
	maybe_done(r);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	static char chunk[65536]; /* one loop thread: the chunk is consumed before the next read */
	*buf = uv_buf_init(chunk, sizeof chunk);
}

static void on_out(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	Run *r = s->data;
	if (nread < 0) {
		uv_read_stop(s);
		r->eof = 1;
		maybe_done(r);
		return;
	}
	const char *p = buf->base, *end = buf->base + nread;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t take = (size_t)((nl ? nl : end) - p);
		size_t room = RUN_MAXLINE - r->linelen;
		if (take >= room) {
			/* Split an over-long line at the bound. */
			memcpy(r->line + r->linelen, p, room);
			emit(r, r->line, RUN_MAXLINE);
			r->linelen = 0;
			p += room;
			continue;
		}
		memcpy(r->line + r->linelen, p, take);
		r->linelen += take;
		p += take;
		if (nl) {
			emit(r, r->line, r->linelen);
			r->linelen = 0;
			p++;
		}
	}
}

int run_spawn(uv_loop_t *loop, const RunSpec *spec, const RunCallbacks *cb, void *arg,
              Run **out, int *pid, char *why, size_t n)
{
	uv_file fds[2];
	int rc = uv_pipe(fds, 0, 0);   /* both ends close-on-exec */
	if (rc < 0) {
		strfmt(why, n, "pipe: %s", uv_strerror(rc));
		return rc;
	}
	Run *r = xcalloc(1, sizeof *r);
	r->cb = *cb;
	r->arg = arg;
	char *args[] = { "/bin/sh", "-c", (char *)spec->cmd, NULL };
	uv_stdio_container_t stdio[3] = {
		{ .flags = UV_IGNORE },                          /* /dev/null */
		{ .flags = UV_INHERIT_FD, .data.fd = fds[1] },
		{ .flags = UV_INHERIT_FD, .data.fd = fds[1] },
	};
	uv_process_options_t o = {
		.exit_cb = on_exit_cb,
		.file = "/bin/sh",
		.args = args,
		.env = spec->env,
		.cwd = spec->dir,
		.flags = UV_PROCESS_DETACHED,
		.stdio_count = 3,
		.stdio = stdio,
	};
	rc = uv_spawn(loop, &r->proc, &o);
	close(fds[1]);
	r->proc.data = r;
	if (rc < 0) {
		close(fds[0]);
		strfmt(why, n, "cannot run /bin/sh: %s", uv_strerror(rc));
		r->closing = 1;
		uv_close((uv_handle_t *)&r->proc, handle_closed);
		return rc;
	}
	uv_pipe_init(loop, &r->out, 0);
	r->out.data = r;
	uv_pipe_open(&r->out, fds[0]);
	uv_read_start((uv_stream_t *)&r->out, alloc_cb, on_out);
	r->pid = r->proc.pid;
	*pid = r->pid;
	*out = r;
	return 0;
}

int run_kill(Run *r, int sig)
{
	if (r->exited && r->eof)
		return -ESRCH;
	/* The group outlives its leader while grandchildren hold it. */
	if (kill(-r->pid, sig) < 0)
		return -errno;
	return 0;
}

void run_detach(Run *r)
{
	r->cb.line = NULL;
	r->cb.done = NULL;
}
