/* Internals shared by the engine's files; not for the name space. */
#ifndef JOBD_SRV_INT_H
#define JOBD_SRV_INT_H

#include "srv.h"

enum { FIDHASH = 64 };
/* Refused connections are held (to answer their first message with the
 * reason) for at most REFUSED_HOLD_MS, and at most REFUSED_EXTRA of them
 * beyond -maxconns; past that they are closed at once, without a word. */
enum { REFUSED_HOLD_MS = 10000, REFUSED_EXTRA = 64 };

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
	Req *reqs;                  /* outstanding */
	uint32_t nreqs;
	size_t wqueued;             /* reply bytes handed to uv_write, not yet written */
	int reading, closing, in_take, draining;
	char *refused;              /* protected mode, -maxconns: why this peer is refused */
	uv_timer_t *refused_timer;  /* closes a refused connection that says nothing */
	Conn *next, *prev;
};

struct Srv {
	uv_loop_t *loop;
	SrvConfig cfg;
	SrvOps ops;
	Listener *listeners;
	Conn *conns;
	unsigned nconns, nextid;
	uint64_t messages;
	int shutting;
	int open_handles;           /* listeners and connections not yet closed */
	void (*done)(void *);
	void *done_arg;
};

/* srv.c */
void conn_close(Conn *c);
void conn_send(Conn *c, const uint8_t *frame, size_t len);
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
