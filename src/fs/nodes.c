/* /nodes: a cluster's nodes (doc/namespace.md, "/nodes"), asked of the
 * shared database through FsConfig's nodes_list and node_status. Outside a
 * cluster there is no /nodes, and nothing here runs.
 *
 * Walks and listings cannot wait (walk1 and dirent answer at once), so they
 * use a list of the nodes' names kept here: asked for when jobd starts, and
 * again, in the background, by any use that finds the last ask older than
 * NODES_FRESH_MS. That use gets the list as it is: a node registered since
 * shows from a later one on. Nodes are seldom added and their rows are never
 * removed by jobd, so the list is rarely behind, and never asked for when
 * nobody looks. While the database is away the last list stays (a status
 * read that fails says how old it is).
 *
 * A read of nodes/NAME/status asks the database (one statement on the
 * node's connection) and is parked until the answer comes, which is then
 * the open's content (later reads of the same open are served from it, as
 * other files' are from their snapshot). A timer fails the read after
 * NODES_WAIT_MS; Tflush, a clunk or a hang-up answers it through
 * nodes_flush. A question sent cannot be taken back: its Ask outlives the
 * read, and goes when the answer comes and its timer's handle is closed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs_int.h"

typedef struct ListAsk {
	Nodes *nd;                  /* NULL once the Fs is freed: the answer is dropped */
	int64_t asked_ns;
	struct ListAsk *next, *prev;
} ListAsk;

struct Nodes {
	Fs *fs;
	char **names;               /* the last list the database gave */
	size_t n;
	int64_t got_ns;             /* monotonic: when that list was asked for; 0 none yet */
	int64_t asked_ns;           /* when a list was last asked for; 0 never */
	ListAsk *asks;              /* unanswered, newest first */
};

/* One read's question to the database (see the top). */
typedef struct Ask {
	Req *r;                     /* the parked read; NULL once it is answered */
	uv_timer_t timer;
	int answered, closing, closed;
} Ask;

static void names_clear(Nodes *nd)
{
	nodes_names_free(nd->names, nd->n);
	nd->names = NULL;
	nd->n = 0;
}

/* A line of the list that names something a walk can reach: no "." or
 * "..", which walks take for themselves, nor a slash. */
static int name_servable(const char *s, size_t len)
{
	return len > 0 && !(len == 1 && s[0] == '.') && !(len == 2 && s[0] == '.' && s[1] == '.') &&
	       !memchr(s, '/', len);
}

/* The answer to a list: one name a line. A failure keeps the list held
 * (the status reads, failing too, say why), and so does an answer older
 * than it (one connection answers in order, but an ask may be retried
 * while one hangs). */
static void on_list(void *arg, int rc, const char *text)
{
	ListAsk *k = arg;
	Nodes *nd = k->nd;
	if (nd) {
		if (k->prev) k->prev->next = k->next; else nd->asks = k->next;
		if (k->next) k->next->prev = k->prev;
	}
	if (!nd || rc < 0 || k->asked_ns < nd->got_ns) {
		free(k);
		return;
	}
	names_clear(nd);
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n");
		if (name_servable(p, len)) {
			nd->names = xrealloc(nd->names, (nd->n + 1) * sizeof *nd->names);
			nd->names[nd->n++] = xstrndup(p, len);
		}
		p += len + (p[len] == '\n');
	}
	nd->got_ns = k->asked_ns;
	free(k);
}

/* Asks for the list again if the last ask is NODES_FRESH_MS old, or, with
 * an ask unanswered, NODES_WAIT_MS (a database that never answers does not
 * keep the list from being asked for). An ask is one statement reading the
 * whole table nodes: one row per node that ever registered. */
static void refresh(Nodes *nd)
{
	Fs *fs = nd->fs;
	int64_t now = mono_now().ns;
	int64_t wait = nd->asks ? NODES_WAIT_MS : NODES_FRESH_MS;
	if (nd->asked_ns && now - nd->asked_ns < wait * (int64_t)1000000)
		return;
	nd->asked_ns = now;
	ListAsk *k = xcalloc(1, sizeof *k);
	k->nd = nd;
	k->asked_ns = now;
	char why[200];
	if (fs->cfg.nodes_list(fs->cfg.nodes_arg, on_list, k, why, sizeof why) < 0) {
		free(k);        /* the list held stays; asked again NODES_FRESH_MS on */
		return;
	}
	k->next = nd->asks;
	if (nd->asks)
		nd->asks->prev = k;
	nd->asks = k;
}

Nodes *nodes_new(Fs *fs)
{
	if (!fs->cfg.nodes_list || !fs->cfg.node_status || !fs->cfg.loop)
		return NULL;
	Nodes *nd = xcalloc(1, sizeof *nd);
	nd->fs = fs;
	refresh(nd);    /* so that the first listing has the nodes registered by now */
	return nd;
}

void nodes_free(Nodes *nd)
{
	if (!nd)
		return;
	/* Every parked read was flushed with its connection; a list still
	 * unanswered is dropped when its answer comes. */
	for (ListAsk *k = nd->asks; k; k = k->next)
		k->nd = NULL;
	names_clear(nd);
	free(nd);
}

int64_t node_id(const char *name)
{
	/* FNV-1a, cut to the 56 bits a qid path has above the kind; never 0. */
	uint64_t h = 14695981039346656037ULL;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	h &= (1ULL << 56) - 1;
	return h ? (int64_t)h : 1;
}

int nodes_has(Fs *fs, const char *name, size_t len)
{
	Nodes *nd = fs->nodes;
	refresh(nd);
	for (size_t i = 0; i < nd->n; i++)
		if (strlen(nd->names[i]) == len && memcmp(nd->names[i], name, len) == 0)
			return 1;
	return 0;
}

char **nodes_names(Fs *fs, size_t *count)
{
	Nodes *nd = fs->nodes;
	refresh(nd);
	char **v = xmalloc((nd->n ? nd->n : 1) * sizeof *v);
	for (size_t i = 0; i < nd->n; i++)
		v[i] = xstrdup(nd->names[i]);
	*count = nd->n;
	return v;
}

void nodes_names_free(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

/* ---- reads of nodes/NAME/status ---- */

/* The read fails: ENOENT for a node the database does not have, ETIMEDOUT
 * when it did not answer in time, EIO for anything else the database did.
 * Those two also say how old the list of nodes is. */
static void fail(Fs *fs, Req *r, int rc, const char *why)
{
	Nodes *nd = fs->nodes;
	char msg[512];
	if (rc == -ENOENT) {
		req_error(r, ENOENT, why);
		return;
	}
	if (nd->got_ns)
		strfmt(msg, sizeof msg, "%s; /nodes lists the nodes the database had %llds ago", why,
		       (long long)((mono_now().ns - nd->got_ns) / 1000000000));
	else
		strfmt(msg, sizeof msg, "%s; /nodes lists none: the database has not said which "
		       "there are since jobd started", why);
	req_error(r, rc == -ETIMEDOUT ? ETIMEDOUT : EIO, msg);
}

/* Frees k once the database has answered and its timer is closed, and
 * starts closing the timer when that has not begun. */
static void ask_settle(Ask *k);

static void ask_closed(uv_handle_t *h)
{
	Ask *k = h->data;
	k->closed = 1;
	ask_settle(k);
}

static void ask_settle(Ask *k)
{
	if (!k->closing) {
		k->closing = 1;
		uv_close((uv_handle_t *)&k->timer, ask_closed);
		return;
	}
	if (k->closed && k->answered)
		free(k);
}

static void reply_snap(Req *r, Faux *a)
{
	srv_read_reply(r, a->snap.data ? a->snap.data : "", a->snap.len);
}

/* The database's answer. The read, if it still waits, is the fid's: a fid
 * with a parked read is flushed before it goes. The first answer of an open
 * is its content; a read parked beside it is served the same. */
static void on_status(void *arg, int rc, const char *text)
{
	Ask *k = arg;
	Req *r = k->r;
	k->answered = 1;
	if (r) {
		Faux *a = r->fid->aux;
		k->r = NULL;
		r->aux = NULL;
		if (rc == 0 && !a->answered) {
			buf_free(&a->snap);
			buf_addstr(&a->snap, text);
			a->answered = 1;
		}
		if (rc == 0)
			reply_snap(r, a);
		else
			fail(FS(r->fid), r, rc, text);
	}
	ask_settle(k);
}

static void on_timeout(uv_timer_t *t)
{
	Ask *k = t->data;
	Req *r = k->r;
	char why[96];
	if (!r)
		return;
	k->r = NULL;
	r->aux = NULL;
	strfmt(why, sizeof why, "the database did not answer within %d s", NODES_WAIT_MS / 1000);
	fail(FS(r->fid), r, -ETIMEDOUT, why);
	ask_settle(k);
}

void nodes_read(Req *r)
{
	Fs *fs = FS(r->fid);
	Faux *a = r->fid->aux;
	char why[256];
	if (a->answered) {
		reply_snap(r, a);
		return;
	}
	if (req_park(r) < 0) {
		req_error(r, EBUSY, "too many reads waiting on this connection; the limit is one "
		          "per fid it may hold");
		return;
	}
	Ask *k = xcalloc(1, sizeof *k);
	uv_timer_init(fs->cfg.loop, &k->timer);
	k->timer.data = k;
	int rc = fs->cfg.node_status(fs->cfg.nodes_arg, a->node, on_status, k, why, sizeof why);
	if (rc < 0) {
		k->answered = 1;        /* nothing will come */
		ask_settle(k);
		fail(fs, r, rc, why);
		return;
	}
	k->r = r;
	r->aux = k;
	uv_timer_start(&k->timer, on_timeout, NODES_WAIT_MS, 0);
}

void nodes_flush(Req *r)
{
	Ask *k = r->aux;
	if (k) {
		k->r = NULL;
		r->aux = NULL;
		ask_settle(k);
	}
	req_error(r, EINTR, "interrupted");
}
