/* The non-blocking PostgreSQL connection of pgconn.h.
 *
 * States: CONNECTING (an attempt under way, or about to start: statements
 * are queued and sent when it succeeds), UP (statements are handed to libpq
 * as they come and flushed at each sync point), DOWN (waiting to try again:
 * statements are refused), CLOSED.
 *
 * One FIFO holds what is queued and in flight: statements (QUERY) and sync
 * points (SYNC). What has been handed to libpq is a prefix of it (sent); the
 * results come back in the same order, so the head is always the item the
 * next result belongs to.
 *
 * One timer does three jobs, one per state: in CONNECTING it is the attempt's
 * deadline (or, with no attempt yet, its start), in DOWN the backoff before
 * the next attempt, in UP the deferred handling of a failed send (a send
 * fails inside the caller's pgconn_query, where no callback may run).
 *
 * The socket is watched by a uv_poll_t. libpq closes and opens sockets on
 * its own (another address of the host, a lost connection): the watch is
 * stopped before every call that may do so during an attempt, and made
 * again for whatever PQsocket says afterwards; a stopped watch is no longer
 * in epoll, so a new socket that reuses the old number is watched afresh. */
#include "store/pgconn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/util.h"

enum { BACKOFF_FIRST_MS = 100, BACKOFF_MAX_MS = 2000 };
enum { ST_CONNECTING, ST_UP, ST_DOWN, ST_CLOSED };
enum { IT_QUERY, IT_SYNC };

typedef struct Item {
	struct Item *next;
	int kind;
	int sent;
	int lone;                   /* a QUERY that is its own batch */
	PgQueryDone *qdone;         /* a QUERY's; a lone query's, moved to its SYNC */
	PgBatchDone *bdone;         /* a batch's SYNC */
	void *arg;
	PGresult *res;              /* the statement's result so far */
	char *err;                  /* why it failed (owned), NULL if it has not */
	/* Copies, while not sent (the statement waits for a connection). */
	char *sql;
	char **params;
	int nparams;
} Item;

/* A uv_poll_t of its own allocation: closing one is asynchronous, and a new
 * socket may need watching before the old watch is freed. */
typedef struct Watch {
	uv_poll_t poll;
	int fd;
	int events;                 /* what it is started for; 0: stopped */
	PgConn *c;
} Watch;

struct PgConn {
	uv_loop_t *loop;
	char *conninfo;
	PgConnOpts o;
	PGconn *conn;
	Watch *watch;
	uv_timer_t timer;
	int state;
	int reported;               /* the state last told: -1 none yet, 0 down, 1 up */
	int backoff_ms;
	unsigned gen;               /* connections lost so far: a batch belongs to one */
	int in_batch;
	unsigned batch_gen;
	int broken;                 /* UP, but a send failed: lost at the next timer */
	Item *head, *tail, *unsent; /* unsent: the first item not handed to libpq */
	size_t n;
	char *seg_err;              /* the first error of the batch being answered */
	char why[512];
	void (*closed)(void *arg);
	void *closed_arg;
};

static void on_poll(uv_poll_t *h, int status, int events);
static void on_timer(uv_timer_t *h);

/* ---- small helpers ---- */

static int live(const PgConn *c)
{
	return c->state == ST_UP && c->conn != NULL;
}

/* libpq's messages span lines ("...\n\tThis probably means ...\n"): made
 * one line, as jobd's log and a 9P error string want them. */
static char *trimmed(const char *msg)
{
	char *out = xmalloc(strlen(msg) + 1), *o = out;
	for (const char *p = msg; *p; p++) {
		if (*p != '\n' && *p != '\t') {
			*o++ = *p;
			continue;
		}
		while (p[1] == '\n' || p[1] == '\t' || p[1] == ' ')
			p++;
		if (o > out && p[1])
			*o++ = ' ';
	}
	while (o > out && o[-1] == ' ')
		o--;
	*o = '\0';
	return out;
}

static void set_why(PgConn *c, const char *msg)
{
	char *t = trimmed(msg);
	strfmt(c->why, sizeof c->why, "%s", t[0] ? t : "unknown error");
	free(t);
}

static void item_free(Item *it)
{
	if (it->res)
		PQclear(it->res);
	free(it->err);
	free(it->sql);
	for (int i = 0; i < it->nparams; i++)
		free(it->params[i]);
	free(it->params);
	free(it);
}

/* Keeps the statement for later: the caller's strings are not ours to hold. */
static void item_copy(Item *it, const char *sql, int nparams, const char *const *params)
{
	it->sql = xstrdup(sql);
	if (nparams <= 0)
		return;
	it->params = xcalloc((size_t)nparams, sizeof *it->params);
	it->nparams = nparams;
	for (int i = 0; i < nparams; i++)
		it->params[i] = params[i] ? xstrdup(params[i]) : NULL;
}

static void push(PgConn *c, Item *it)
{
	if (c->tail)
		c->tail->next = it;
	else
		c->head = it;
	c->tail = it;
	if (c->unsent == NULL && !it->sent)
		c->unsent = it;
	c->n++;
}

static Item *pop(PgConn *c)
{
	Item *it = c->head;
	c->head = it->next;
	if (c->head == NULL)
		c->tail = NULL;
	if (c->unsent == it)
		c->unsent = it->next;
	it->next = NULL;
	c->n--;
	return it;
}

/* Takes the whole queue out, so that callbacks run on it may queue anew. */
static Item *detach(PgConn *c)
{
	Item *list = c->head;
	c->head = c->tail = c->unsent = NULL;
	c->n = 0;
	free(c->seg_err);
	c->seg_err = NULL;
	return list;
}

/* ---- the socket watch ---- */

static void watch_closed(uv_handle_t *h)
{
	free(h->data);
}

static void watch_drop(PgConn *c)
{
	Watch *w = c->watch;
	if (w == NULL)
		return;
	c->watch = NULL;
	uv_close((uv_handle_t *)&w->poll, watch_closed);
}

/* Stops watching before libpq may close the socket: epoll must not keep a
 * registration for a number that a new socket could take. */
static void watch_stop(PgConn *c)
{
	if (c->watch && c->watch->events) {
		uv_poll_stop(&c->watch->poll);
		c->watch->events = 0;
	}
}

/* Watches fd for events, with a new handle when the socket has changed.
 * 0, or a libuv error. */
static int watch_set(PgConn *c, int fd, int events)
{
	if (fd < 0)
		return UV_EBADF;
	if (c->watch && c->watch->fd != fd) {
		watch_stop(c);
		watch_drop(c);
	}
	if (c->watch == NULL) {
		Watch *w = xcalloc(1, sizeof *w);
		int r = uv_poll_init_socket(c->loop, &w->poll, fd);
		if (r < 0) {
			free(w);
			return r;
		}
		w->fd = fd;
		w->c = c;
		w->poll.data = w;
		c->watch = w;
	}
	if (c->watch->events == events)
		return 0;
	c->watch->events = events;
	return uv_poll_start(&c->watch->poll, events, on_poll);
}

/* ---- reporting ---- */

static void report(PgConn *c, int up)
{
	if (c->reported == up)
		return;
	c->reported = up;
	if (c->o.state)
		c->o.state(c->o.arg, up, up ? "" : c->why);
}

/* Reports an item that will get no answer: rc -ECONNRESET (lost; -ENOTCONN
 * for one never sent) or -ECANCELED (closed). */
static void fail_item(Item *it, int rc, const char *why)
{
	char msg[700];
	if (rc == -ECONNRESET && !it->sent)
		rc = -ENOTCONN;
	if (rc == -ECANCELED)
		strfmt(msg, sizeof msg, "closed before it was answered%s",
		       it->sent ? " (it may have run)" : " (not sent)");
	else if (rc == -ENOTCONN)
		strfmt(msg, sizeof msg, "not sent: %s", why);
	else
		strfmt(msg, sizeof msg, "connection lost before the answer (it may have run): %s", why);
	if (it->qdone)
		it->qdone(it->arg, NULL, msg);
	else if (it->bdone)
		it->bdone(it->arg, rc, msg);
	item_free(it);
}

static void fail_all(Item *list, int rc, const char *why)
{
	while (list) {
		Item *next = list->next;
		fail_item(list, rc, why);
		list = next;
	}
}

/* ---- losing the connection ---- */

static void drop_conn(PgConn *c)
{
	watch_stop(c);
	watch_drop(c);
	if (c->conn) {
		PQfinish(c->conn);
		c->conn = NULL;
	}
	c->broken = 0;
}

/* The connection (or the attempt) is gone: everything queued fails, and the
 * next attempt is timed. The state is settled before any callback runs, so
 * that what they queue is refused rather than lost. */
static void lost(PgConn *c, const char *why)
{
	char reason[sizeof c->why];
	set_why(c, why);
	strfmt(reason, sizeof reason, "%s", c->why);
	drop_conn(c);
	c->state = ST_DOWN;
	c->gen++;                   /* cuts the batch open, if any */
	Item *list = detach(c);
	uv_timer_start(&c->timer, on_timer, (uint64_t)c->backoff_ms, 0);
	c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
	report(c, 0);
	fail_all(list, -ECONNRESET, reason);
}

/* A send failed inside a pgconn_* call, where no callback may run: the
 * connection is given up from the loop. */
static void broken(PgConn *c, const char *why)
{
	if (c->broken)
		return;
	c->broken = 1;
	set_why(c, why);
	uv_timer_start(&c->timer, on_timer, 0, 0);
}

/* ---- sending ---- */

/* Hands libpq everything it may send and watches for its answers; what libpq
 * cannot write now waits for the socket to be writable (watched only then). */
static void flush_and_watch(PgConn *c)
{
	if (!live(c) || c->broken)
		return;
	int r = PQflush(c->conn);
	if (r < 0) {
		broken(c, PQerrorMessage(c->conn));
		return;
	}
	int rc = watch_set(c, PQsocket(c->conn), UV_READABLE | (r == 1 ? UV_WRITABLE : 0));
	if (rc < 0)
		broken(c, uv_strerror(rc));
}

static int can_send(const PgConn *c)
{
	return live(c) && !c->broken && c->unsent == NULL;
}

/* Queues an item in libpq's output (not yet written). 1, or 0 if libpq
 * refused it: the connection is then given up. */
static int send_raw(PgConn *c, int kind, const char *sql, int nparams, const char *const *params)
{
	int ok = kind == IT_SYNC ? PQpipelineSync(c->conn)
	                         : PQsendQueryParams(c->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	if (!ok)
		broken(c, PQerrorMessage(c->conn));
	return ok;
}

/* Sends the items that waited for the connection, in order. */
static void pump(PgConn *c)
{
	while (c->unsent && live(c) && !c->broken) {
		Item *it = c->unsent;
		if (!send_raw(c, it->kind, it->sql, it->nparams, (const char *const *)it->params))
			return;
		it->sent = 1;
		free(it->sql);
		for (int i = 0; i < it->nparams; i++)
			free(it->params[i]);
		free(it->params);
		it->sql = NULL;
		it->params = NULL;
		it->nparams = 0;
		c->unsent = it->next;
	}
}

static void add_sync(PgConn *c, PgQueryDone *qdone, PgBatchDone *bdone, void *arg)
{
	Item *it = xcalloc(1, sizeof *it);
	it->kind = IT_SYNC;
	it->qdone = qdone;
	it->bdone = bdone;
	it->arg = arg;
	if (can_send(c))
		it->sent = send_raw(c, IT_SYNC, NULL, 0, NULL);
	push(c, it);
	flush_and_watch(c);
}

/* ---- receiving ---- */

/* The head statement's results are all in: report it, or for a lone one
 * hand its outcome to its sync point, which reports it once committed. */
static void query_end(PgConn *c)
{
	Item *it = pop(c);
	if (it->lone && c->head && c->head->kind == IT_SYNC) {
		Item *s = c->head;
		s->qdone = it->qdone;
		s->arg = it->arg;
		s->res = it->res;
		s->err = it->err;
		it->res = NULL;
		it->err = NULL;
	} else if (it->qdone) {
		if (it->err == NULL && it->res == NULL)
			it->err = xstrdup("no result");
		it->qdone(it->arg, it->err ? NULL : it->res, it->err ? it->err : "");
	}
	item_free(it);
}

static void query_result(PgConn *c, PGresult *r)
{
	Item *it = c->head;
	ExecStatusType st = PQresultStatus(r);
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK || st == PGRES_EMPTY_QUERY) {
		if (it->res == NULL && it->err == NULL) {
			it->res = r;
			return;
		}
	} else if (it->err == NULL) {
		if (st == PGRES_PIPELINE_ABORTED)
			it->err = xstrdup("not run: an earlier statement of its batch failed");
		else if (PQresultErrorMessage(r)[0])
			it->err = trimmed(PQresultErrorMessage(r));
		else
			it->err = xstrdup(PQresStatus(st));   /* COPY, say: not supported */
		if (c->seg_err == NULL)
			c->seg_err = xstrdup(it->err);
		if (it->res) {
			PQclear(it->res);
			it->res = NULL;
		}
	}
	PQclear(r);
}

/* A sync point's answer: the batch before it committed, unless something
 * in it failed (or the commit itself did: an error then comes first). */
static void sync_result(PgConn *c, PGresult *r)
{
	if (PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
		if (c->seg_err == NULL)
			c->seg_err = trimmed(PQresultErrorMessage(r));
		PQclear(r);
		return;
	}
	PQclear(r);
	Item *it = pop(c);
	char *err = c->seg_err;
	c->seg_err = NULL;
	if (err == NULL && it->err)
		err = xstrdup(it->err);
	if (it->qdone)
		it->qdone(it->arg, err ? NULL : it->res, err ? err : "");
	else if (it->bdone)
		it->bdone(it->arg, err ? -EIO : 0, err ? err : "");
	free(err);
	item_free(it);
}

/* Takes every complete result libpq holds. In pipeline mode a statement's
 * results end with a NULL; a sync point's is one PGRES_PIPELINE_SYNC. Only
 * while the connection is sound: once it is not, what is in flight is failed
 * as a whole (lost). A done called here may queue more, or close. */
static void drain_results(PgConn *c)
{
	int nulls = 0;
	while (live(c) && c->head && c->head->sent && PQstatus(c->conn) == CONNECTION_OK &&
	       !PQisBusy(c->conn)) {
		PGresult *r = PQgetResult(c->conn);
		if (r == NULL) {
			if (c->head->kind == IT_QUERY) {
				query_end(c);
				nulls = 0;
			} else if (++nulls > 1) {
				break;      /* nothing more for the sync point yet */
			}
			continue;
		}
		nulls = 0;
		if (c->head->kind == IT_SYNC)
			sync_result(c, r);
		else
			query_result(c, r);
	}
}

static void drain_notifies(PgConn *c)
{
	PGnotify *n;
	while (live(c) && (n = PQnotifies(c->conn)) != NULL) {
		if (c->o.notify)
			c->o.notify(c->o.arg, n->relname, n->extra);
		PQfreemem(n);
	}
}

/* 1 if the connection is still up afterwards. */
static int read_input(PgConn *c)
{
	if (!PQconsumeInput(c->conn)) {
		lost(c, PQerrorMessage(c->conn));
		return 0;
	}
	drain_results(c);
	drain_notifies(c);
	if (!live(c))
		return 0;
	if (PQstatus(c->conn) == CONNECTION_BAD) {
		lost(c, PQerrorMessage(c->conn));
		return 0;
	}
	return 1;
}

/* ---- connecting ---- */

/* The server's notices (a WARNING, say) go to jobd's log, not to stderr. */
static void on_notice(void *arg, const PGresult *r)
{
	(void)arg;
	const char *sev = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
	char *msg = trimmed(PQresultErrorMessage(r));
	if (sev && strcmp(sev, "WARNING") == 0)
		LOGW("postgresql: %s", msg);
	else
		VLOG(1, "postgresql: %s", msg);
	free(msg);
}

static void came_up(PgConn *c)
{
	uv_timer_stop(&c->timer);
	/* Non-blocking: a send never waits for the socket. Pipeline mode: a
	 * statement goes without waiting for the answer to the one before. */
	if (PQsetnonblocking(c->conn, 1) != 0 || !PQenterPipelineMode(c->conn)) {
		lost(c, PQerrorMessage(c->conn));
		return;
	}
	c->state = ST_UP;
	c->backoff_ms = BACKOFF_FIRST_MS;
	pump(c);                    /* first what waited, in order */
	flush_and_watch(c);
	report(c, 1);
}

/* One step of the attempt, each time the socket is ready as libpq asked. */
static void connect_step(PgConn *c)
{
	watch_stop(c);              /* PQconnectPoll may close it and open another */
	PostgresPollingStatusType st = PQconnectPoll(c->conn);
	int rc = 0;
	switch (st) {
	case PGRES_POLLING_READING:
		rc = watch_set(c, PQsocket(c->conn), UV_READABLE);
		break;
	case PGRES_POLLING_WRITING:
		rc = watch_set(c, PQsocket(c->conn), UV_WRITABLE);
		break;
	case PGRES_POLLING_OK:
		came_up(c);
		return;
	default:
		lost(c, PQerrorMessage(c->conn));
		return;
	}
	if (rc < 0)
		lost(c, uv_strerror(rc));
}

static void start_attempt(PgConn *c)
{
	/* Keepalives (TCP only) find a server that went away silently; the
	 * caller's conninfo, expanded from dbname, comes last and wins. */
	static const char *const keys[] = {
		"fallback_application_name", "keepalives_idle", "keepalives_interval",
		"keepalives_count", "dbname", NULL,
	};
	const char *vals[] = { "jobd", "10", "5", "3", c->conninfo, NULL };
	c->conn = PQconnectStartParams(keys, vals, 1);
	if (c->conn == NULL) {
		lost(c, "out of memory");
		return;
	}
	if (PQstatus(c->conn) == CONNECTION_BAD) {
		lost(c, PQerrorMessage(c->conn));
		return;
	}
	PQsetNoticeReceiver(c->conn, on_notice, c);
	uv_timer_start(&c->timer, on_timer, (uint64_t)c->o.connect_timeout_ms, 0);
	/* libpq's first step waits for the socket to be writable (connected). */
	int rc = watch_set(c, PQsocket(c->conn), UV_WRITABLE);
	if (rc < 0)
		lost(c, uv_strerror(rc));
}

/* ---- the loop's callbacks ---- */

static void on_timer(uv_timer_t *h)
{
	PgConn *c = h->data;
	char msg[128];
	switch (c->state) {
	case ST_CONNECTING:
		if (c->conn == NULL) {
			start_attempt(c);
		} else {
			strfmt(msg, sizeof msg, "no connection after %d ms", c->o.connect_timeout_ms);
			lost(c, msg);
		}
		break;
	case ST_DOWN:
		c->state = ST_CONNECTING;
		start_attempt(c);
		break;
	case ST_UP:
		if (c->broken) {
			char why[sizeof c->why];
			strfmt(why, sizeof why, "%s", c->why);
			lost(c, why);
		}
		break;
	}
}

/* libuv says the socket has an error (EPOLLERR, which it reports as
 * UV_EBADF) and has stopped the watch. libpq, reading, says what the error
 * is ("server closed the connection unexpectedly", a reset): it is asked
 * first, and libuv's word is the reason only if libpq finds nothing. */
static void poll_failed(PgConn *c, Watch *w, int status)
{
	char msg[128];
	w->events = 0;
	strfmt(msg, sizeof msg, "the socket failed: %s", uv_strerror(status));
	if (c->state == ST_CONNECTING) {
		PGconn *attempt = c->conn;
		connect_step(c);
		if (c->state == ST_CONNECTING && c->conn == attempt)
			lost(c, msg);
		return;
	}
	/* What is left to read first, then the error: a few reads at most. */
	for (int i = 0; i < 4; i++)
		if (!live(c) || !read_input(c))
			return;
	lost(c, msg);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	Watch *w = h->data;
	PgConn *c = w->c;
	if (c->watch != w)
		return;
	if (status < 0) {
		if (c->state == ST_CONNECTING || (live(c) && !c->broken))
			poll_failed(c, w, status);
		return;
	}
	if (c->state == ST_CONNECTING) {
		connect_step(c);
		return;
	}
	if (!live(c) || c->broken)
		return;
	if ((events & UV_READABLE) && !read_input(c))
		return;
	flush_and_watch(c);         /* writable, or more to send after reading */
}

/* ---- the interface ---- */

PgConn *pgconn_new(uv_loop_t *loop, const char *conninfo, const PgConnOpts *o)
{
	PgConn *c = xcalloc(1, sizeof *c);
	c->loop = loop;
	c->conninfo = xstrdup(conninfo);
	if (o)
		c->o = *o;
	if (c->o.max_queued == 0)
		c->o.max_queued = PGCONN_MAX_QUEUED;
	if (c->o.connect_timeout_ms <= 0)
		c->o.connect_timeout_ms = PGCONN_CONNECT_TIMEOUT_MS;
	c->state = ST_CONNECTING;
	c->reported = -1;
	c->backoff_ms = BACKOFF_FIRST_MS;
	uv_timer_init(loop, &c->timer);
	c->timer.data = c;
	uv_timer_start(&c->timer, on_timer, 0, 0); /* the attempt starts from the loop */
	return c;
}

int pgconn_query(PgConn *c, const char *sql, int nparams, const char *const *params,
                 PgQueryDone *done, void *arg)
{
	if (c->state == ST_CLOSED)
		return -ESHUTDOWN;
	if (c->in_batch) {
		if (c->batch_gen != c->gen)
			return -ENOTCONN;
	} else {
		if (c->state == ST_DOWN)
			return -ENOTCONN;
		if (c->n + 2 > c->o.max_queued)
			return -ENOBUFS;
	}
	Item *it = xcalloc(1, sizeof *it);
	it->kind = IT_QUERY;
	it->lone = !c->in_batch;
	it->qdone = done;
	it->arg = arg;
	if (can_send(c))
		it->sent = send_raw(c, IT_QUERY, sql, nparams, params);
	else
		item_copy(it, sql, nparams, params);
	push(c, it);
	if (it->lone)
		add_sync(c, NULL, NULL, NULL);
	return 0;
}

int pgconn_batch_begin(PgConn *c)
{
	if (c->state == ST_CLOSED)
		return -ESHUTDOWN;
	if (c->in_batch)
		return -EBUSY;
	if (c->state == ST_DOWN)
		return -ENOTCONN;
	if (c->n + 1 >= c->o.max_queued)
		return -ENOBUFS;
	c->in_batch = 1;
	c->batch_gen = c->gen;
	return 0;
}

int pgconn_batch_commit(PgConn *c, PgBatchDone *done, void *arg)
{
	if (c->state == ST_CLOSED)
		return -ESHUTDOWN;
	if (!c->in_batch)
		return -EINVAL;
	c->in_batch = 0;
	if (c->batch_gen != c->gen)
		return -ENOTCONN;
	add_sync(c, NULL, done, arg);
	return 0;
}

size_t pgconn_queued(const PgConn *c)
{
	return c->n;
}

int pgconn_up(const PgConn *c)
{
	return live(c) && !c->broken;
}

const char *pgconn_why(const PgConn *c)
{
	return c->why;
}

static void timer_closed(uv_handle_t *h)
{
	PgConn *c = h->data;
	if (c->closed)
		c->closed(c->closed_arg);
	free(c->conninfo);
	free(c);
}

void pgconn_close(PgConn *c, void (*closed)(void *arg), void *arg)
{
	if (c->state == ST_CLOSED)
		return;
	c->state = ST_CLOSED;
	c->closed = closed;
	c->closed_arg = arg;
	c->in_batch = 0;
	drop_conn(c);
	c->gen++;
	Item *list = detach(c);
	uv_close((uv_handle_t *)&c->timer, timer_closed);
	fail_all(list, -ECANCELED, "closed");
}
