/* Per-connection fid table: a small chained hash, bounded by max_fids. */
#include <stdlib.h>

#include "srv_int.h"
#include "util/util.h"

Fid *fid_lookup(Conn *c, uint32_t fid)
{
	for (Fid *f = c->fids[fid % FIDHASH]; f; f = f->hnext)
		if (f->fid == fid)
			return f;
	return NULL;
}

Fid *fid_new(Conn *c, uint32_t fid)
{
	if (fid == P9_NOFID || fid_lookup(c, fid) || c->nfids >= c->srv->cfg.max_fids)
		return NULL;
	Fid *f = xcalloc(1, sizeof *f);
	f->fid = fid;
	f->conn = c;
	f->omode = -1;
	f->hnext = c->fids[fid % FIDHASH];
	c->fids[fid % FIDHASH] = f;
	c->nfids++;
	return f;
}

void fid_destroy(Conn *c, Fid *f)
{
	for (Fid **p = &c->fids[f->fid % FIDHASH]; *p; p = &(*p)->hnext) {
		if (*p == f) {
			*p = f->hnext;
			break;
		}
	}
	c->nfids--;
	/* A parked read on this fid must not outlive it. The flush answers it,
	 * which frees it and changes the list: start again from the head (each
	 * request is flushed once, so this ends). */
	for (Req *r = c->reqs; r;) {
		if (r->fid == f && r->parked && !r->responded && !r->flushed && c->srv->ops.flush) {
			r->flushed = 1;
			c->srv->ops.flush(r);
			r = c->reqs;
			continue;
		}
		r = r->next;
	}
	if (c->srv->ops.destroyfid)
		c->srv->ops.destroyfid(f);
	free(f);
}

void fid_destroy_all(Conn *c)
{
	for (int i = 0; i < FIDHASH; i++)
		while (c->fids[i])
			fid_destroy(c, c->fids[i]);
}
