/* The nodes as the name space shows them (doc/namespace.md, "/nodes"): the
 * rows of the table nodes through this node's connection (status.c), and,
 * for this node, what it believes of itself (cnode_info). The name space
 * gets these as FsConfig's callbacks: it knows nothing of PostgreSQL, and
 * this file nothing of 9P. */
#include "cluster/cluster.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A question of the name space's, while the database answers it. */
typedef struct Ask {
	Cluster *cl;
	char name[CNODE_NAME_MAX + 1];  /* cluster_node_status's node; "" for the list */
	CNodeText *done;
	void *arg;
} Ask;

/* The reason of a refusal by cnode_list or cnode_status. */
static void refusal(int rc, char *why, size_t n)
{
	switch (rc) {
	case -ENOTCONN: strfmt(why, n, "the database is unreachable"); break;
	case -ENOBUFS: strfmt(why, n, "too many statements wait for the database; try again"); break;
	case -ESHUTDOWN: strfmt(why, n, "jobd is stopping"); break;
	case -EINVAL: strfmt(why, n, "not a node's name"); break;
	default: strfmt(why, n, "the database cannot be asked: %s", strerror(-rc)); break;
	}
}

/* ms as seconds with three decimals, as status.c writes them. */
static void add_secs(Buf *b, int64_t ms)
{
	uint64_t mag = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
	buf_printf(b, "%s%llu.%03llus", ms < 0 ? "-" : "", (unsigned long long)(mag / 1000),
	           (unsigned long long)(mag % 1000));
}

/* This node's view of itself: its lease as it reckons it locally (what
 * cnode_may_start says), which ends before the database's. */
static void local_line(Buf *b, ClusterNode *n)
{
	static const char *const states[] = {
		[CNODE_DOWN] = "down", [CNODE_UP] = "up", [CNODE_FENCED] = "fenced",
	};
	CNodeInfo i;
	cnode_info(n, &i);
	const char *state = i.state >= 0 && i.state <= CNODE_FENCED ? states[i.state] : "?";
	buf_printf(b, "local node=%s state=%s epoch=%lld lease_left=", cnode_name(n), state,
	           (long long)i.epoch);
	add_secs(b, i.lease_left_ms);
	buf_addstr(b, " clock_offset=");
	add_secs(b, i.clock_offset_ms);
	buf_printf(b, " clock=%s rtt=", i.clock_off ? "off" : "ok");
	add_secs(b, i.rtt_ms);
	buf_printf(b, " renewals=%llu failures=%llu\n", (unsigned long long)i.renewals,
	           (unsigned long long)i.failures);
}

/* The answer's failure, in the name space's words. */
static void answer_error(Ask *k, int rc, const char *err)
{
	char why[256];
	if (rc == -ENOENT || rc == -ECANCELED)
		strfmt(why, sizeof why, "%s", rc == -ENOENT ? err : "jobd is stopping");
	else
		strfmt(why, sizeof why, "the database did not answer: %s", err);
	k->done(k->arg, rc, why);
}

static void on_status(void *arg, int rc, const char *text)
{
	Ask *k = arg;
	if (rc < 0) {
		answer_error(k, rc, text);
	} else if (strcmp(k->name, cluster_name(k->cl)) == 0) {
		Buf b = { 0 };
		buf_addstr(&b, text);
		local_line(&b, cluster_node(k->cl));
		k->done(k->arg, 0, b.data);
		buf_free(&b);
	} else {
		k->done(k->arg, 0, text);
	}
	free(k);
}

int cluster_node_status(void *cl, const char *name, CNodeText *done, void *arg, char *why,
                        size_t n)
{
	Ask *k = xcalloc(1, sizeof *k);
	k->cl = cl;
	strfmt(k->name, sizeof k->name, "%s", name);
	k->done = done;
	k->arg = arg;
	int rc = cnode_status(cluster_node(cl), name, on_status, k);
	if (rc < 0) {
		refusal(rc, why, n);
		free(k);
	}
	return rc;
}

/* The names from the lines of cnode_list, each "node=NAME ...". A name
 * cnode_render_row had to mend (it holds '?' then) is left out: nothing
 * could ask for it. */
static void on_list(void *arg, int rc, const char *text)
{
	Ask *k = arg;
	if (rc < 0) {
		answer_error(k, rc, text);
		free(k);
		return;
	}
	Buf b = { 0 };
	char name[CNODE_NAME_MAX + 1];
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n");
		size_t nlen = len > 5 && strncmp(p, "node=", 5) == 0 ? strcspn(p + 5, " \n") : 0;
		if (nlen > 0 && nlen < sizeof name) {
			memcpy(name, p + 5, nlen);
			name[nlen] = '\0';
			if (cnode_name_ok(name))
				buf_printf(&b, "%s\n", name);
		}
		p += len + (p[len] == '\n');
	}
	k->done(k->arg, 0, b.data ? (const char *)b.data : "");
	buf_free(&b);
	free(k);
}

int cluster_nodes_list(void *cl, CNodeText *done, void *arg, char *why, size_t n)
{
	Ask *k = xcalloc(1, sizeof *k);
	k->cl = cl;
	k->done = done;
	k->arg = arg;
	int rc = cnode_list(cluster_node(cl), on_list, k);
	if (rc < 0) {
		refusal(rc, why, n);
		free(k);
	}
	return rc;
}
