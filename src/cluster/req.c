/* What node.c, fire.c and status.c share (node_int.h): the clock leases are
 * judged by, names, and the requests a node has sent and not had answered. */
#include "cluster/node_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t cnode_boot_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int cnode_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '.' || ch == '_' || ch == '-';
}

int cnode_name_ok(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > CNODE_NAME_MAX)
		return 0;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;               /* a directory of /nodes could not be named so */
	for (const char *p = name; *p; p++)
		if (!cnode_name_char(*p))
			return 0;
	return 1;
}

int cnode_refused(const ClusterNode *n)
{
	if (n->closing)
		return -ESHUTDOWN;
	if (n->state == CNODE_FENCED)
		return -ESTALE;
	if (!cnode_may_start(n))
		return -EAGAIN;
	return 0;
}

/* ---- requests ---- */

Req *cnode_req_new(ClusterNode *n, int kind)
{
	Req *r = xcalloc(1, sizeof *r);
	r->n = n;
	r->kind = kind;
	r->next = n->reqs;
	if (n->reqs)
		n->reqs->prev = r;
	n->reqs = r;
	/* Taken now, before the statement is queued: the earliest the
	 * database can have stamped its now() is after this. */
	r->sent_wall_ns = n->o.wall_ns();
	r->sent_ns = cnode_boot_ns();
	return r;
}

ClusterNode *cnode_req_take(Req *r)
{
	ClusterNode *n = r->n;
	if (n == NULL)
		return NULL;
	if (r->prev)
		r->prev->next = r->next;
	else
		n->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
	r->n = NULL;
	return n;
}

int cnode_req_send(Req *r, const char *sql, int nparams, const char *const *params,
                   PgQueryDone *done)
{
	/* The lease's own statements on its connection; the rest (claims,
	 * starts, reaps, status) on the work connection if there is one, so that
	 * a renewal never queues behind a burst of claims. */
	PgConn *c = r->kind == REQ_REGISTER || r->kind == REQ_RENEW || !r->n->work ? r->n->c
	                                                                            : r->n->work;
	int rc = pgconn_query(c, sql, nparams, params, done, r);
	if (rc < 0) {
		cnode_req_take(r);
		free(r);
	}
	return rc;
}

int64_t cnode_num(const PGresult *res, int row, int col, int *isnull)
{
	int null = PQgetisnull(res, row, col);
	if (isnull)
		*isnull = null;
	return null ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}
