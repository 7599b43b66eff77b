/* Replies. Every request leaves through req_respond exactly once: it is
 * encoded, queued, unlinked from the outstanding list, and any Tflush waiting
 * on it is answered after it (flush(5): Rflush only once the flushed
 * request's reply, if any, has gone). A flushed request's reply is discarded. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv_int.h"
#include "util/log.h"
#include "util/util.h"

void req_free(Req *r)
{
	free(r->buf);
	free(r);
}

static void unlink_req(Req *r)
{
	Conn *c = r->conn;
	if (r->prev) r->prev->next = r->next; else c->reqs = r->next;
	if (r->next) r->next->prev = r->prev;
	r->next = r->prev = NULL;
	c->nreqs--;
}

static void trace(Conn *c, const char *dir, const Fcall *f)
{
	char line[512];
	p9_fmt(line, sizeof line, c->dialect, f);
	fprintf(stderr, "%s %u %s\n", dir, c->id, line);
}

/* Encodes and queues f; the frame is at most msize, which the engine
 * guarantees by clamping counts before calling handlers. */
/* Requests whose reply may acknowledge a change: held until srv_release. */
static int acknowledges_change(uint8_t type)
{
	switch (type) {
	case Twrite: case Tcreate: case Tlcreate: case Tmkdir: case Tremove: case Tunlinkat:
	case Twstat: case Tsetattr: case Trename: case Trenameat: case Tsymlink: case Tmknod:
	case Tlink:
		return 1;
	default:
		return 0;
	}
}

static void send_fcall(Conn *c, const Fcall *f, int hold)
{
	uint32_t cap = c->msize > 8192 ? c->msize : 8192;
	uint8_t *out = xmalloc(cap);
	size_t len = p9_pack(out, cap, c->dialect, f);
	Fcall e = { .tag = f->tag };
	if (len == 0) {
		/* Cannot happen for well-formed replies; never leave the client hanging. */
		LOGE("conn %u: reply %s does not encode; sending an error", c->id,
		     p9_typename(f->type) ? p9_typename(f->type) : "?");
		if (c->dialect == P9_2000L) {
			e.type = Rlerror;
		} else {
			e.type = Rerror;
			e.ename = p9_str("reply too large");
		}
		e.ecode = EIO;
		len = p9_pack(out, cap, c->dialect, &e);
		f = &e;
	}
	if (c->srv->cfg.debug)
		trace(c, "->", f);
	/* Behind a held reply, every reply waits its turn: the order stays. */
	if (hold || c->nheld)
		conn_hold(c, out, len);
	else
		conn_send(c, out, len);
	free(out);
}

void req_respond(Req *r)
{
	Conn *c = r->conn;
	assert(!r->responded);
	r->responded = 1;
	if (r->parked)
		c->nparked--;
	r->ofcall.tag = r->ifcall.tag;
	if (r->ofcall.type == 0)
		r->ofcall.type = (uint8_t)(r->ifcall.type + 1);
	if (!r->flushed && !c->closing)
		send_fcall(c, &r->ofcall, acknowledges_change(r->ifcall.type));
	unlink_req(r);
	for (Req *f = r->flushers, *next; f; f = next) {
		next = f->flushnext;
		f->ofcall.type = Rflush;
		req_respond(f);
	}
	req_free(r);
	conn_maybe_resume(c);
}

void req_error(Req *r, int err, const char *why)
{
	if (err < 0)
		err = -err;
	if (err == 0)
		err = EIO;
	memset(&r->ofcall, 0, sizeof r->ofcall);
	int d = r->conn->dialect;
	if (d == P9_2000L) {
		r->ofcall.type = Rlerror;
	} else if (d == P9_2000 && r->conn->versioned) {
		/* Text only: the kernel's word for err, which it maps back (errstr.c).
		 * Before a Tversion (a refused connection's reason) the text is for
		 * a person, and stays. */
		r->ofcall.type = Rerror;
		r->ofcall.ename = p9_str(p9_errstr(err));
		if (why && *why)
			VLOG(2, "conn %u: %s (sent as \"%s\")", r->conn->id, why, p9_errstr(err));
	} else {
		r->ofcall.type = Rerror;
		r->ofcall.ename = p9_str(why && *why ? why : strerror(err));
	}
	r->ofcall.ecode = (uint32_t)err;
	if (why && *why && d != P9_2000U && r->conn->srv->cfg.debug)
		fprintf(stderr, "-- %u %s\n", r->conn->id, why);
	req_respond(r);
}

void srv_read_reply(Req *r, const void *content, size_t len)
{
	uint64_t off = r->ifcall.offset;
	size_t n = 0;
	if (off < len) {
		n = len - (size_t)off;
		if (n > r->ifcall.count)
			n = r->ifcall.count;
	}
	r->ofcall.count = (uint32_t)n;
	r->ofcall.data = n ? (const uint8_t *)content + off : NULL;
	req_respond(r);
}

void srv_reply_data(Req *r, const void *data, size_t len)
{
	r->ofcall.count = (uint32_t)len;
	r->ofcall.data = len ? data : NULL;
	req_respond(r);
}

int req_park(Req *r)
{
	Conn *c = r->conn;
	/* Bounded apart from max_reqs (conn_reqs_full): a parked read holds a
	 * fid, and a connection holds at most max_fids of those. */
	if (c->nparked >= c->srv->cfg.max_fids)
		return -EBUSY;
	r->parked = 1;
	c->nparked++;
	return 0;
}

/* The connection is going away (or Tversion reset it): every parked request
 * is cancelled through the flush op; nothing more will be sent. */
void req_cancel_all(Conn *c)
{
	Req *r = c->reqs;
	while (r) {
		if (r->parked && !r->responded && !r->flushed) {
			r->flushed = 1;
			if (c->srv->ops.flush)
				c->srv->ops.flush(r);
			else
				req_respond(r);
			r = c->reqs;    /* r is answered and freed: the list changed under us */
			continue;
		}
		r = r->next;
	}
}
