/* Internals shared by the engine's files; not for the name space. */
#ifndef JOBD_SRV_INT_H
#define JOBD_SRV_INT_H

#include "srv.h"

enum { FIDHASH = 64 };
/* Refused connections never count against -maxconns or anyone's share. The
 * REFUSED_HELD newest are held for at most REFUSED_HOLD_MS to answer their
 * first message with the reason; a newer one pushes the oldest out (closed
 * without a word), so a connect loop costs one accept and one close each and
 * the latest caller, the one a person is waiting on, is still told why. */
enum { REFUSED_HOLD_MS = 2000, REFUSED_HELD = 16, REFUSED_LOGS = 10 };
/* Connection slots that only root's unix-socket peers may take: the operator
 * can always get in to look and to stop things. */
enum { ROOT_RESERVE = 8 };
enum { SHAREHASH = 64 };

/* One identity's share of the connections: a uid, or another host's address. */
typedef struct Share {
	uint8_t key[17];            /* 'u' + uid, or 'a' + 16 address bytes */
	uint32_t count;
	struct Share *next;
} Share;

typedef struct Listener {
	union { uv_tcp_t tcp; uv_pipe_t pipe; uv_handle_t h; uv_stream_t s; } u;
	Srv *srv;
	int is_unix;
	char addr[128];
	char *unlink_path;          /* unix socket path we created */
	struct Listener *next;
} Listener;

struct Conn {
	union { uv_tcp_t tcp; uv_pipe_t pipe; uv_handle_t h; uv_stream_t s; } u;
	Srv *srv;
	Peer peer;
	unsigned id;
	int dialect;
	uint32_t msize;
	int versioned;
	uint8_t *rbuf;              /* frame assembly */
	size_t rlen, rcap;
	Fid *fids[FIDHASH];
	uint32_t nfids;
	Req *reqs;                  /* outstanding: not yet answered */
	uint32_t nreqs;
	uint32_t nparked;           /* of those, parked (req_park): not counted against max_reqs */
	uint32_t nunsent;           /* replies handed to uv_write, not yet written: outstanding too */
	size_t wqueued;             /* reply bytes handed to uv_write, not yet written */
	/* Replies held until srv_release: those that acknowledge a change (and,
	 * to keep the connection's order, every reply after the first held one). */
	uint8_t *hbuf;
	size_t hlen, hcap;
	uint32_t nheld;             /* replies in hbuf: outstanding too */
	size_t hsealed;             /* of hlen, what srv_seal marked for the next release */
	uint32_t nsealed;           /* and how many replies that is */
	Conn *hnext;                /* the server's list of connections holding replies */
	int reading, closing, in_take, draining;
	int logged_full;            /* said (once) that it reached max_reqs */
	char *refused;              /* protected mode, limits, unknown peer: why it is refused */
	uv_timer_t *refused_timer;  /* closes a refused connection that says nothing */
	int refused_held;           /* on the held list, counted in nrefused */
	Conn *rnext, *rprev;        /* the held list, oldest first */
	Share *share;               /* counted connection: its identity's share (NULL: refused) */
	uint64_t attach_by;         /* loop ms by which it must attach; on the pending list until */
	Conn *pnext, *pprev;        /* the pending list: accepted, not attached, oldest first */
	int pending;
	Conn *next, *prev;
};

struct Srv {
	uv_loop_t *loop;
	SrvConfig cfg;
	SrvOps ops;
	Listener *listeners;
	Conn *conns;
	unsigned nconns, nextid;    /* nconns: counted (not refused) connections */
	unsigned nrefused;          /* refused ones being held to be told why */
	Conn *rhead, *rtail;
	uint64_t refused_window;    /* loop ms when the current second of refusals began */
	unsigned refused_logged;    /* refusals logged in it */
	uint64_t refused_unlogged;  /* and not logged */
	Share *shares[SHAREHASH];
	Conn *phead, *ptail;        /* the pending list */
	Conn *held;                 /* connections with replies held (Conn.hnext) */
	uv_timer_t *attach_timer;   /* fires at phead's deadline */
	int diagfd;                 /* NETLINK_SOCK_DIAG, opened at the first loopback peer */
	uint64_t messages;
	int shutting;
	int open_handles;           /* listeners and connections not yet closed */
	void (*done)(void *);
	void *done_arg;
};

/* srv.c */
void conn_close(Conn *c);
void conn_send(Conn *c, const uint8_t *frame, size_t len);
/* Queues a reply to be sent at the next srv_release. */
void conn_hold(Conn *c, const uint8_t *frame, size_t len);
void conn_maybe_resume(Conn *c);
void conn_drain_close(Conn *c);
void srv_handle_closed(Srv *s);

/* fid.c */
Fid *fid_lookup(Conn *c, uint32_t fid);
Fid *fid_new(Conn *c, uint32_t fid);   /* NULL if in use or too many */
void fid_destroy(Conn *c, Fid *f);
void fid_destroy_all(Conn *c);

/* dispatch.c */
void dispatch(Req *r);

/* respond.c */
void req_free(Req *r);
void req_cancel_all(Conn *c);

#endif
