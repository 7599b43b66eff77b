/* What node.c, fire.c, status.c and reap.c share: the node itself and its requests. */
#ifndef JOBD_CLUSTER_NODE_INT_H
#define JOBD_CLUSTER_NODE_INT_H

#include "cluster/node.h"

enum { REQ_REGISTER, REQ_RENEW, REQ_CLAIM, REQ_START, REQ_STATUS, REQ_LIST, REQ_REAP, REQ_RUN };

/* One statement sent for the node and not answered yet. pgconn holds it as
 * the callback's argument, and may answer after the node is closed: the
 * node then has forgotten it (n NULL) and the answer only frees it. */
typedef struct Req {
	struct Req *prev, *next;    /* the node's list of unanswered requests */
	ClusterNode *n;             /* NULL once the node is closed */
	int kind;
	int64_t sent_ns;            /* boot clock when queued (node.c: why) */
	int64_t sent_wall_ns;       /* the (injectable) wall clock then */
	CNodeDone *done;
	CNodeText *text;
	CNodeRunDone *run;
	CNodeAdoptDone *adopt;
	void *arg;
	char what[CNODE_NAME_MAX + 32];  /* for messages: the node asked about */
} Req;

struct ClusterNode {
	uv_loop_t *loop;
	PgConn *c;
	PgConn *work;               /* claims, starts, reaps, status; NULL: c (cnode_work) */
	char name[CNODE_NAME_MAX + 1];
	CNodeOpts o;
	uv_timer_t tick;            /* every renew_ms: register or renew */
	uv_timer_t expiry;          /* when the local lease runs out */
	int state;                  /* CNODE_*, as last reported */
	int closing, nclosed;
	void (*closed)(void *arg);
	void *closed_arg;
	Req *reqs;                  /* unanswered, newest first */
	int busy;                   /* a registration or renewal is unanswered */
	int64_t epoch;              /* 0 until registered */
	int64_t valid_until_ns;     /* boot clock: cnode_may_start's end */
	int64_t db_lease_until_us;
	int64_t offset_ms, rtt_ms;
	int clock_off;
	uint64_t renewals, failures;
	char *live;                 /* the live nodes at the last renewal, space-separated */
};

/* CLOCK_BOOTTIME in ns: the clock the local lease is judged by (node.c
 * says why not CLOCK_MONOTONIC). */
int64_t cnode_boot_ns(void);

/* Why n asks the database nothing now, if so: -ESHUTDOWN (closing),
 * -ESTALE (fenced), -EAGAIN (its lease lapsed locally: it may start
 * nothing, so it claims and takes over nothing); else 0. */
int cnode_refused(const ClusterNode *n);

/* A request for n, linked into its list. */
Req *cnode_req_new(ClusterNode *n, int kind);
/* Takes an answered request out of its node's list: the node, or NULL if it
 * was closed meanwhile (then nothing is to be done but free r). */
ClusterNode *cnode_req_take(Req *r);
/* Sends r's statement; on refusal unlinks and frees r and returns the error. */
int cnode_req_send(Req *r, const char *sql, int nparams, const char *const *params,
                   PgQueryDone *done);

/* A result column as a number; 0 for NULL (*isnull set if given). */
int64_t cnode_num(const PGresult *res, int row, int col, int *isnull);

#endif
