/* Listeners, connections and framing. One libuv loop; each connection
 * accumulates bytes until a whole frame (size[4] first) is present, then hands
 * a private copy of it to dispatch. Replies are queued with uv_write; when a
 * client stops reading and the queue passes max_wqueue, we stop reading from
 * it until it drains, so no client can make us buffer without bound. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sockdiag.h"
#include "srv_int.h"
#include "util/log.h"
#include "util/util.h"

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

Srv *srv_new(uv_loop_t *loop, const SrvConfig *cfg, const SrvOps *ops)
{
	Srv *s = xcalloc(1, sizeof *s);
	s->loop = loop;
	s->cfg = *cfg;
	s->ops = *ops;
	if (s->cfg.max_msize < 4096)
		s->cfg.max_msize = 4096;
	if (s->cfg.max_conns_per_user == 0)
		s->cfg.max_conns_per_user = s->cfg.max_conns;
	s->diagfd = -1;
	return s;
}

void *srv_ops_aux(Srv *s) { return s->ops.aux; }
uint64_t srv_messages(Srv *s) { return s->messages; }
unsigned srv_connections(Srv *s) { return s->nconns; }
Srv *conn_srv(const Conn *c) { return c->srv; }

void srv_handle_closed(Srv *s)
{
	s->open_handles--;
	if (s->shutting && s->open_handles == 0 && s->done) {
		void (*done)(void *) = s->done;
		s->done = NULL;
		done(s->done_arg);
	}
}

/* ---- each identity's share of the connections ---- */

static unsigned share_hash(const uint8_t *key)
{
	unsigned h = 2166136261u;
	for (int i = 0; i < 17; i++)
		h = (h ^ key[i]) * 16777619u;
	return h % SHAREHASH;
}

/* The share of the identity `key`, made if new (count 0). */
static Share *share_get(Srv *s, const uint8_t *key)
{
	Share **b = &s->shares[share_hash(key)];
	for (Share *sh = *b; sh; sh = sh->next)
		if (memcmp(sh->key, key, sizeof sh->key) == 0)
			return sh;
	Share *sh = xcalloc(1, sizeof *sh);
	memcpy(sh->key, key, sizeof sh->key);
	sh->next = *b;
	*b = sh;
	return sh;
}

/* One connection fewer; the share goes when it counts none. */
static void share_put(Srv *s, Share *sh)
{
	if (--sh->count > 0)
		return;
	for (Share **p = &s->shares[share_hash(sh->key)]; *p; p = &(*p)->next)
		if (*p == sh) {
			*p = sh->next;
			free(sh);
			return;
		}
}

/* ---- the attach deadline ----
 * Accepted connections wait on one list, oldest first, until their first
 * successful Tattach; one timer fires at the oldest one's deadline. So an
 * idle connection that never attaches holds its slot for at most
 * attach_timeout_ms, at the cost of one timer for all of them. */

static void attach_timer_closed(uv_handle_t *h)
{
	Srv *s = h->data;
	free(h);
	srv_handle_closed(s);
}

static void on_attach_timer(uv_timer_t *t);

static void pending_arm(Srv *s)
{
	if (!s->attach_timer)
		return;
	if (!s->phead) {
		uv_timer_stop(s->attach_timer);
		return;
	}
	uint64_t now = uv_now(s->loop);
	uint64_t at = s->phead->attach_by;
	uv_timer_start(s->attach_timer, on_attach_timer, at > now ? at - now : 0, 0);
}

static void pending_add(Conn *c)
{
	Srv *s = c->srv;
	if (!s->cfg.attach_timeout_ms)
		return;
	if (!s->attach_timer) {
		s->attach_timer = xmalloc(sizeof *s->attach_timer);
		uv_timer_init(s->loop, s->attach_timer);
		s->attach_timer->data = s;
		s->open_handles++;
	}
	c->attach_by = uv_now(s->loop) + s->cfg.attach_timeout_ms;
	c->pending = 1;
	c->pnext = NULL;
	c->pprev = s->ptail;
	if (s->ptail) s->ptail->pnext = c; else s->phead = c;
	s->ptail = c;
	if (s->phead == c)
		pending_arm(s);
}

static void pending_del(Conn *c)
{
	Srv *s = c->srv;
	if (!c->pending)
		return;
	int was_head = s->phead == c;
	if (c->pprev) c->pprev->pnext = c->pnext; else s->phead = c->pnext;
	if (c->pnext) c->pnext->pprev = c->pprev; else s->ptail = c->pprev;
	c->pending = 0;
	c->pnext = c->pprev = NULL;
	if (was_head)
		pending_arm(s);
}

static void on_attach_timer(uv_timer_t *t)
{
	Srv *s = t->data;
	uint64_t now = uv_now(s->loop);
	while (s->phead && s->phead->attach_by <= now) {
		Conn *c = s->phead;
		LOGW("conn %u (%s): no attach within %llu ms; closed", c->id, c->peer.addr,
		     (unsigned long long)s->cfg.attach_timeout_ms);
		pending_del(c);
		conn_close(c);
	}
	pending_arm(s);
}

void conn_attached(Conn *c)
{
	pending_del(c);
}

/* ---- connections ---- */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	Conn *c = h->data;
	(void)suggested;
	/* Read straight into the frame buffer; grow it up to one maximal frame. */
	size_t want = c->rlen + 65536;
	size_t limit = (size_t)(c->versioned ? c->msize : c->srv->cfg.max_msize) + 4;
	if (want > limit)
		want = limit;
	if (want <= c->rlen)
		want = c->rlen + 1;
	if (c->rcap < want) {
		c->rbuf = xrealloc(c->rbuf, want);
		c->rcap = want;
	}
	*buf = uv_buf_init((char *)c->rbuf + c->rlen, (unsigned)(c->rcap - c->rlen));
}

static void conn_closed(uv_handle_t *h)
{
	Conn *c = h->data;
	Srv *s = c->srv;
	free(c->refused);
	free(c->rbuf);
	free(c->hbuf);
	free(c);
	srv_handle_closed(s);
}

static void refused_timer_closed(uv_handle_t *h)
{
	Srv *s = h->data;
	free(h);
	srv_handle_closed(s);
}

/* The replies c holds are dropped, unsent, and c leaves the held list. */
static void held_drop(Conn *c)
{
	if (!c->nheld)
		return;
	for (Conn **p = &c->srv->held; *p; p = &(*p)->hnext)
		if (*p == c) {
			*p = c->hnext;
			break;
		}
	c->nheld = 0;
	c->hlen = 0;
	c->nsealed = 0;
	c->hsealed = 0;
}

void conn_close(Conn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	VLOG(3, "conn %u (%s) closed", c->id, c->peer.addr);
	if (c->refused_timer) {
		uv_timer_stop(c->refused_timer);
		c->refused_timer->data = c->srv;
		uv_close((uv_handle_t *)c->refused_timer, refused_timer_closed);
		c->refused_timer = NULL;
	}
	uv_read_stop(&c->u.s);
	req_cancel_all(c);
	fid_destroy_all(c);
	held_drop(c);               /* nobody is left to read them */
	if (c->prev) c->prev->next = c->next; else c->srv->conns = c->next;
	if (c->next) c->next->prev = c->prev;
	pending_del(c);
	if (c->share) {
		c->srv->nconns--;
		share_put(c->srv, c->share);
		c->share = NULL;
	} else if (c->refused_held) {
		Srv *s = c->srv;
		if (c->rprev) c->rprev->rnext = c->rnext; else s->rhead = c->rnext;
		if (c->rnext) c->rnext->rprev = c->rprev; else s->rtail = c->rprev;
		c->refused_held = 0;
		s->nrefused--;
	}
	uv_close(&c->u.h, conn_closed);
}

typedef struct Wreq {
	uv_write_t w;
	Conn *conn;
	size_t len;
	uint8_t data[];
} Wreq;

/* Whether c has max_reqs requests outstanding: unanswered, or answered by a
 * reply still waiting to be written (a client that stops reading leaves its
 * replies queued, so this is what holds it to max_reqs). Parked reads are
 * not counted: they wait for the world, not for jobd, and one kernel mount
 * carries every process's `cat /events`; req_park bounds them apart. */
static int conn_reqs_full(const Conn *c)
{
	return c->nreqs - c->nparked + c->nunsent + c->nheld >= c->srv->cfg.max_reqs;
}

void conn_hold(Conn *c, const uint8_t *frame, size_t len)
{
	if (c->closing)
		return;
	if (c->hlen + len > c->hcap) {
		c->hcap = c->hcap ? c->hcap : 4096;
		while (c->hlen + len > c->hcap)
			c->hcap *= 2;
		c->hbuf = xrealloc(c->hbuf, c->hcap);
	}
	memcpy(c->hbuf + c->hlen, frame, len);
	c->hlen += len;
	if (c->nheld++ == 0) {
		c->hnext = c->srv->held;
		c->srv->held = c;
	}
	/* Held replies count as queued: reads behind a held write must not pile
	 * up a turn's worth of msize replies for one client. */
	if (c->reading && c->wqueued + c->hlen > c->srv->cfg.max_wqueue) {
		uv_read_stop(&c->u.s);
		c->reading = 0;
	}
}

/* Sends what c holds up to its seal; the rest (held after the seal) stays,
 * in order, and the buffer is kept for the next turn's. */
static void conn_unhold(Conn *c)
{
	size_t len = c->hsealed;
	c->nheld -= c->nsealed;
	c->nsealed = 0;
	c->hsealed = 0;
	if (len)
		conn_send(c, c->hbuf, len);
	c->hlen -= len;
	if (c->hlen) {
		memmove(c->hbuf, c->hbuf + len, c->hlen);
		return;
	}
	/* A burst of held replies should not pin its buffer for ever. */
	if (c->hcap > 64 * 1024) {
		free(c->hbuf);
		c->hbuf = NULL;
		c->hcap = 0;
	}
}

void srv_seal(Srv *s)
{
	for (Conn *c = s->held; c; c = c->hnext) {
		c->hsealed = c->hlen;
		c->nsealed = c->nheld;
	}
}

void srv_release(Srv *s)
{
	Conn *c = s->held;
	s->held = NULL;
	while (c) {
		Conn *next = c->hnext;
		c->hnext = NULL;
		conn_unhold(c);
		if (c->nheld) {
			c->hnext = s->held;     /* held after the seal: the next release's */
			s->held = c;
		}
		conn_maybe_resume(c);
		c = next;
	}
}

int srv_holding(const Srv *s)
{
	return s->held != NULL;
}

void srv_drop_sealed(Srv *s)
{
	Conn *c = s->held, *next;
	for (; c; c = next) {
		next = c->hnext;
		if (c->nsealed) {
			LOGW("conn %u (%s): closed: the changes its last replies acknowledge may not "
			     "have been stored", c->id, c->peer.addr);
			conn_close(c);
		}
	}
}

static void write_done(uv_write_t *w, int status)
{
	Wreq *wr = (Wreq *)w;
	Conn *c = wr->conn;
	c->wqueued -= wr->len;
	c->nunsent--;
	free(wr);
	if (status < 0) {
		if (status != UV_ECANCELED)
			conn_close(c);
		return;
	}
	conn_maybe_resume(c);
}

void conn_send(Conn *c, const uint8_t *frame, size_t len)
{
	if (c->closing)
		return;
	/* Most replies fit the socket buffer at once: write them directly, which
	 * spares a copy and libuv's arming and disarming of the write watcher. */
	if (c->wqueued == 0) {
		uv_buf_t b = uv_buf_init((char *)frame, (unsigned)len);
		int w = uv_try_write(&c->u.s, &b, 1);
		if (w == (int)len)
			return;
		if (w > 0) {
			frame += w;
			len -= (size_t)w;
		} else if (w != UV_EAGAIN && w != UV_ENOSYS) {
			conn_close(c);
			return;
		}
	}
	Wreq *wr = xmalloc(sizeof *wr + len);
	memcpy(wr->data, frame, len);
	wr->conn = c;
	wr->len = len;
	uv_buf_t b = uv_buf_init((char *)wr->data, (unsigned)len);
	c->wqueued += len;
	c->nunsent++;
	int rc = uv_write(&wr->w, &c->u.s, &b, 1, write_done);
	if (rc < 0) {
		c->wqueued -= len;
		c->nunsent--;
		free(wr);
		conn_close(c);
		return;
	}
	if (c->reading && c->wqueued > c->srv->cfg.max_wqueue) {
		uv_read_stop(&c->u.s);
		c->reading = 0;
		VLOG(3, "conn %u: %zu bytes of replies unread; pausing its requests", c->id, c->wqueued);
	}
}

static int take_frames(Conn *c);

void conn_maybe_resume(Conn *c)
{
	if (c->closing || c->draining || c->reading || c->srv->shutting)
		return;
	if (c->wqueued + c->hlen > c->srv->cfg.max_wqueue / 2 || conn_reqs_full(c))
		return;
	if (uv_read_start(&c->u.s, alloc_cb, on_read) == 0)
		c->reading = 1;
	/* Frames that arrived while we were paused are already in the buffer. */
	if (c->reading && !c->in_take)
		take_frames(c);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void shutdown_done(uv_shutdown_t *req, int status)
{
	(void)status;
	Conn *c = req->data;
	free(req);
	conn_close(c);
}

/* Stops reading; closes once every queued reply has been written. */
void conn_drain_close(Conn *c)
{
	if (c->closing || c->draining)
		return;
	/* Replies still held acknowledge changes not committed (shutdown
	 * commits first; this is a commit that failed): they are not sent. */
	held_drop(c);
	c->draining = 1;
	uv_read_stop(&c->u.s);
	c->reading = 0;
	uv_shutdown_t *req = xmalloc(sizeof *req);
	req->data = c;
	if (uv_shutdown(req, &c->u.s, shutdown_done) < 0) {
		free(req);
		conn_close(c);
	}
}

/* Takes every whole frame out of the read buffer. Returns -1 if the
 * connection was closed (a frame size we cannot accept). */
static int take_frames(Conn *c)
{
	size_t off = 0;
	c->in_take = 1;
	while (!c->closing && !c->draining && c->reading && c->rlen - off >= 4) {
		uint32_t size = get32(c->rbuf + off);
		uint32_t limit = c->versioned ? c->msize : c->srv->cfg.max_msize;
		if (size < P9_HDRSZ || size > limit) {
			/* The stream cannot be resynchronised after a bad size: drop it. */
			LOGW("conn %u (%s): frame size %u outside [7, %u]; closing", c->id,
			     c->peer.addr, size, limit);
			c->in_take = 0;
			conn_close(c);
			return -1;
		}
		if (c->rlen - off < size)
			break;
		Req *r = xcalloc(1, sizeof *r);
		r->conn = c;
		r->buf = xmalloc(size);
		memcpy(r->buf, c->rbuf + off, size);
		off += size;
		c->srv->messages++;
		dispatch(r);
		if (!c->closing && c->reading && conn_reqs_full(c)) {
			uv_read_stop(&c->u.s);
			c->reading = 0;
			if (!c->logged_full)
				VLOG(3, "conn %u: %u requests outstanding, the limit; pausing its requests "
				     "(said once per connection)", c->id, c->nreqs + c->nunsent);
			c->logged_full = 1;
		}
	}
	c->in_take = 0;
	if (c->closing)
		return -1;
	if (off && c->rlen > off)
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
	c->rlen -= off;
	return 0;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	Conn *c = st->data;
	(void)buf;
	if (nread < 0) {
		if (nread != UV_EOF)
			VLOG(3, "conn %u: read: %s", c->id, uv_strerror((int)nread));
		conn_close(c);
		return;
	}
	c->rlen += (size_t)nread;
	take_frames(c);
}

/* ", <how to change it>" for a refusal, from SrvConfig.knobs, or "". */
static const char *knob(const char *how)
{
	static char buf[4][96];     /* one refusal formats at most three */
	static int next;
	if (!how)
		return "";
	char *b = buf[next++ % 4];
	snprintf(b, sizeof buf[0], ", %s", how);
	return b;
}

/* An IPv4 or IPv6 socket address: its address bytes, port and (if name)
 * text. Returns its family, or 0 for another. */
static int ip_port(const struct sockaddr_storage *ss, uint8_t *ip, uint16_t *port, char *name,
                   size_t n)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	int v4 = ss->ss_family == AF_INET;
	if (!v4 && ss->ss_family != AF_INET6)
		return 0;
	const void *addr = v4 ? (const void *)&sin->sin_addr : (const void *)&sin6->sin6_addr;
	memcpy(ip, addr, v4 ? 4 : 16);
	*port = ntohs(v4 ? sin->sin_port : sin6->sin6_port);
	if (name && !inet_ntop(ss->ss_family, addr, name, (socklen_t)n))
		snprintf(name, n, "?");
	return ss->ss_family;
}

/* Reads what the transport says of the peer: SO_PEERCRED on a unix socket;
 * both ends' addresses on TCP. Anything unreadable stays unset (has_cred 0,
 * family 0), and admit() refuses such a peer: we never guess. */
static void peer_describe(Conn *c, int is_unix, const char *laddr)
{
	Peer *p = &c->peer;
	p->is_unix = is_unix;
	if (is_unix) {
		uv_os_fd_t fd;
		struct ucred cr;
		socklen_t len = sizeof cr;
		if (uv_fileno(&c->u.h, &fd) == 0 &&
		    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 && len == sizeof cr) {
			p->has_cred = 1;
			p->uid = cr.uid;
			p->gid = cr.gid;
			p->pid = (uint32_t)cr.pid;
		}
		snprintf(p->addr, sizeof p->addr, "%s", laddr);
		return;
	}
	struct sockaddr_storage ss, ls;
	int len = sizeof ss, llen = sizeof ls;
	char host[64] = "?";
	if (uv_tcp_getpeername(&c->u.tcp, (struct sockaddr *)&ss, &len) == 0 &&
	    uv_tcp_getsockname(&c->u.tcp, (struct sockaddr *)&ls, &llen) == 0 &&
	    ss.ss_family == ls.ss_family) {
		p->family = ip_port(&ss, p->ip, &p->port, host, sizeof host);
		ip_port(&ls, p->lip, &p->lport, NULL, 0);
		if (p->family)
			p->loopback = addr_is_loopback(p->family, p->ip);
	}
	snprintf(p->addr, sizeof p->addr, "tcp!%s!%d", host, p->port);
}

static int refuse(Conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(Conn *c, const char *fmt, ...)
{
	char msg[320];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	c->refused = xstrdup(msg);
	return -1;
}

static int in_nets(const Cidr *nets, size_t n, const Peer *p)
{
	for (size_t i = 0; i < n; i++)
		if (cidr_match(&nets[i], p->family, p->ip))
			return 1;
	return 0;
}

/* Who is calling, and may it take a slot? Identity is always the kernel's:
 * SO_PEERCRED on a unix socket; on loopback TCP the uid that owns the peer's
 * socket (sock_diag). Another host proves nothing, so it must be inside an allowed network
 * (or -trust) and acts as -tcpuser (see identify in dispatch.c). Then the
 * limits: max_conns less a reserve only root's unix-socket peers may use, and
 * each identity's share (max_conns_per_user; root has none). 0 and c->share
 * set, or -1 and c->refused says why. Refused peers never count. */
static int admit(Conn *c)
{
	Srv *s = c->srv;
	const SrvConfig *cfg = &s->cfg;
	Peer *p = &c->peer;
	char why[200];
	if (p->is_unix) {
		if (!p->has_cred)
			return refuse(c, "jobd: cannot learn who is on the other end of the socket "
			              "(SO_PEERCRED failed); refused");
	} else if (p->family == 0) {
		return refuse(c, "jobd: cannot read the peer's address; refused");
	} else {
		/* Every TCP peer is asked about, not only loopback ones: a local
		 * user may call on one of this host's other addresses, and is
		 * still who the kernel says, not "another host". */
		uint32_t uid;
		if (s->diagfd < 0)
			s->diagfd = sockdiag_open(why, sizeof why);
		if (s->diagfd >= 0 && sockdiag_peer_uid(s->diagfd, p->family, p->ip, p->port, p->lip,
		                                        p->lport, &uid, why, sizeof why) == 0) {
			p->has_cred = 1;
			p->uid = uid;
		} else if (p->loopback) {
			return refuse(c, "jobd: cannot learn which local user is calling from %s: %s; "
			              "refused (use the unix socket)", p->addr, why);
		}
	}
	if (!p->is_unix && !p->has_cred) {
		int trusted = in_nets(cfg->trust, cfg->ntrust, p);
		if (!trusted && !in_nets(cfg->allow, cfg->nallow, p)) {
			char host[64] = "?";
			inet_ntop(p->family, p->ip, host, sizeof host);
			return refuse(c, "jobd: connections from %s are refused (protected mode: not an "
			              "allowed network)%s%s%s%s", host, knob(cfg->knobs.allow),
			              cfg->knobs.allow ? " " : "", cfg->knobs.allow ? host : "",
			              !cfg->knobs.allow ? "" : p->family == AF_INET ? "/32" : "/128");
		}
		/* Only a privileged source port shows the caller is that host's root
		 * (or its kernel), as NFS's "secure" does. */
		p->trusted = trusted && p->port < 1024;
	}
	int root = p->has_cred && p->uid == 0;
	uint32_t reserve = cfg->max_conns / 4 < ROOT_RESERVE ? cfg->max_conns / 4 : ROOT_RESERVE;
	uint32_t cap = root && p->is_unix ? cfg->max_conns : cfg->max_conns - reserve;
	if (s->nconns >= cap && reserve)
		return refuse(c, "jobd: too many connections (the limit is %u%s; %u more are "
		              "kept for root on the unix socket); try again later", cfg->max_conns,
		              knob(cfg->knobs.max_conns), reserve);
	if (s->nconns >= cap)
		return refuse(c, "jobd: too many connections (the limit is %u%s); try again "
		              "later", cfg->max_conns, knob(cfg->knobs.max_conns));
	uint8_t key[17] = { 0 };
	if (p->has_cred) {
		key[0] = 'u';
		memcpy(key + 1, &p->uid, sizeof p->uid);
	} else {
		/* Another host: by address, and an IPv6 host by its /64, since one
		 * host has a whole /64 to call from. */
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		key[0] = 'a';
		memcpy(key + 1, p->ip, p->family == AF_INET ? 4 : 16);
		if (p->family == AF_INET6 && memcmp(p->ip, mapped, 12) != 0)
			memset(key + 1 + 8, 0, 8);
	}
	Share *sh = share_get(s, key);
	if (!root && sh->count >= cfg->max_conns_per_user) {
		if (p->has_cred)
			return refuse(c, "jobd: uid %u already has %u connections (the limit per "
			              "user%s); close some and try again", p->uid, sh->count,
			              knob(cfg->knobs.max_conns_per_user));
		return refuse(c, "jobd: %s already has %u connections (the limit per host, or per "
		              "IPv6 /64%s); close some and try again", p->addr, sh->count,
		              knob(cfg->knobs.max_conns_per_user));
	}
	sh->count++;
	s->nconns++;
	c->share = sh;
	return 0;
}

static void on_refused_silent(uv_timer_t *t)
{
	Conn *c = t->data;
	VLOG(3, "conn %u (%s): refused and silent for %d ms; closing", c->id, c->peer.addr,
	     REFUSED_HOLD_MS);
	conn_close(c);
}

/* A refused peer is told why in its first reply; one that never asks is
 * dropped after a while, or sooner when newer refusals push it out:
 * refusals cost nobody else a slot. At most REFUSED_LOGS a second are
 * logged, then a count of the rest, so a connect loop cannot flood the log. */
static void refuse_conn(Conn *c)
{
	Srv *s = c->srv;
	uint64_t now = uv_now(s->loop);
	if (now >= s->refused_window + 1000) {
		if (s->refused_unlogged)
			LOGW("%llu more connections refused in the last second (not logged one by one)",
			     (unsigned long long)s->refused_unlogged);
		s->refused_window = now;
		s->refused_logged = 0;
		s->refused_unlogged = 0;
	}
	if (s->refused_logged < REFUSED_LOGS) {
		LOGW("refusing %s: %s", c->peer.addr, c->refused);
		s->refused_logged++;
	} else {
		s->refused_unlogged++;
	}
	if (s->nrefused >= REFUSED_HELD)
		conn_close(s->rhead);
	s->nrefused++;
	c->refused_held = 1;
	c->rnext = NULL;
	c->rprev = s->rtail;
	if (s->rtail) s->rtail->rnext = c; else s->rhead = c;
	s->rtail = c;
	c->refused_timer = xmalloc(sizeof *c->refused_timer);
	uv_timer_init(s->loop, c->refused_timer);
	c->refused_timer->data = c;
	s->open_handles++;
	uv_timer_start(c->refused_timer, on_refused_silent, REFUSED_HOLD_MS, 0);
	conn_maybe_resume(c);
}

static void on_connection(uv_stream_t *server, int status)
{
	Listener *l = server->data;
	Srv *s = l->srv;
	if (status < 0) {
		LOGW("accept on %s: %s", l->addr, uv_strerror(status));
		return;
	}
	Conn *c = xcalloc(1, sizeof *c);
	c->srv = s;
	c->id = ++s->nextid;
	c->msize = s->cfg.max_msize;
	int rc = l->is_unix ? uv_pipe_init(s->loop, &c->u.pipe, 0) : uv_tcp_init(s->loop, &c->u.tcp);
	if (rc < 0) {
		free(c);
		return;
	}
	c->u.h.data = c;
	s->open_handles++;
	if (uv_accept(server, &c->u.s) < 0) {
		c->closing = 1;
		uv_close(&c->u.h, conn_closed);
		return;
	}
	if (!l->is_unix)
		uv_tcp_nodelay(&c->u.tcp, 1);
	peer_describe(c, l->is_unix, l->addr);
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	if (admit(c) < 0) {
		refuse_conn(c);
		return;
	}
	VLOG(3, "conn %u from %s%s", c->id, c->peer.addr, c->peer.has_cred ? "" : " (unidentified)");
	pending_add(c);
	conn_maybe_resume(c);
}

/* ---- listeners ---- */

/* Splits "tcp!host!port", "host:port", "[v6]:port", "unix!/path" or "/path". */
static void listener_closed(uv_handle_t *h)
{
	Listener *l = h->data;
	Srv *s = l->srv;
	if (l->unlink_path) {
		unlink(l->unlink_path);
		free(l->unlink_path);
	}
	free(l);
	srv_handle_closed(s);
}

int srv_listen(Srv *s, const char *addr, char *why, size_t n)
{
	NetAddr na;
	int rc;
	if ((rc = net_addr_parse(addr, &na, why, n)) < 0)
		return rc;
	char *host = na.host;
	int is_unix = na.is_unix, port = na.port;
	if (!is_unix && (!*host || strcmp(host, "*") == 0))
		snprintf(na.host, sizeof na.host, "0.0.0.0");       /* every address */
	Listener *l = xcalloc(1, sizeof *l);
	l->srv = s;
	l->is_unix = is_unix;
	if (is_unix) {
		uv_pipe_init(s->loop, &l->u.pipe, 0);
		/* A stale socket from a dead jobd would make bind fail; the store's
		 * lock already guarantees no live jobd owns this state. Only remove a socket. */
		struct stat st;
		if (lstat(host, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(host);
		rc = uv_pipe_bind(&l->u.pipe, host);
		if (rc == 0) {
			/* Identity comes from SO_PEERCRED, not the mode: by default every
			 * local user may connect (and is who the kernel says). */
			l->unlink_path = xstrdup(host);
			if (s->cfg.sock_gid >= 0 && chown(host, (uid_t)-1, (gid_t)s->cfg.sock_gid) < 0)
				rc = -errno;
			else if (chmod(host, s->cfg.sock_mode ? s->cfg.sock_mode : 0666) < 0)
				rc = -errno;
		}
		snprintf(l->addr, sizeof l->addr, "unix!%s", host);
	} else {
		struct sockaddr_storage ss;
		uv_tcp_init(s->loop, &l->u.tcp);
		if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
		    uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0) {
			strfmt(why, n, "'%s': '%s' is not an IP address", addr, host);
			l->u.h.data = l;
			s->open_handles++;
			uv_close(&l->u.h, listener_closed);
			return -EINVAL;
		}
		rc = uv_tcp_bind(&l->u.tcp, (struct sockaddr *)&ss, 0);
	}
	l->u.h.data = l;
	s->open_handles++;
	if (rc == 0)
		rc = uv_listen(&l->u.s, 128, on_connection);
	if (rc < 0) {
		strfmt(why, n, "cannot listen on %s: %s", addr, uv_strerror(rc));
		uv_close(&l->u.h, listener_closed);
		return rc;
	}
	if (!is_unix) {
		struct sockaddr_storage ss;
		int len = sizeof ss;
		char name[64] = "?";
		uv_tcp_getsockname(&l->u.tcp, (struct sockaddr *)&ss, &len);
		if (ss.ss_family == AF_INET) {
			uv_ip4_name((struct sockaddr_in *)&ss, name, sizeof name);
			port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		} else {
			uv_ip6_name((struct sockaddr_in6 *)&ss, name, sizeof name);
			port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		}
		snprintf(l->addr, sizeof l->addr, "tcp!%s!%d", name, port);
	}
	l->next = s->listeners;
	s->listeners = l;
	LOGI("listening on %s", l->addr);
	return 0;
}


void srv_shutdown(Srv *s, void (*done)(void *), void *arg)
{
	if (s->refused_unlogged)
		LOGW("%llu more connections refused in the last second (not logged one by one)",
		     (unsigned long long)s->refused_unlogged);
	s->refused_unlogged = 0;
	s->shutting = 1;
	s->done = done;
	s->done_arg = arg;
	for (Listener *l = s->listeners, *next; l; l = next) {
		next = l->next;
		uv_close(&l->u.h, listener_closed);
	}
	s->listeners = NULL;
	if (s->attach_timer) {
		uv_close((uv_handle_t *)s->attach_timer, attach_timer_closed);
		s->attach_timer = NULL;
	}
	/* Replies already queued are written before each connection closes. */
	for (Conn *c = s->conns, *next; c; c = next) {
		next = c->next;
		conn_drain_close(c);
	}
	if (s->open_handles == 0 && s->done) {
		s->done = NULL;
		done(arg);
	}
}

void srv_free(Srv *s)
{
	for (int i = 0; i < SHAREHASH; i++)
		while (s->shares[i]) {
			Share *sh = s->shares[i];
			s->shares[i] = sh->next;
			free(sh);
		}
	if (s->diagfd >= 0)
		close(s->diagfd);
	free(s);
}
