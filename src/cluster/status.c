/* The nodes' status lines (node.h), read from the table nodes: what
 * /nodes/NAME/status and `jobctl nodes` show (nodes.c). Times are the
 * database's: the lease left is lease_until - now() computed there, so no
 * node's wall clock enters the picture. */
#include "cluster/node_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* name, epoch, lease left (ms; NULL for a lease that is not a time), clock
 * offset (ms), runs started, started_at (unix s; NULL if not a time). */
#define SQL_NODES \
	"SELECT name, epoch," \
	" CASE WHEN isfinite(lease_until)" \
	" THEN (extract(epoch from lease_until - now()) * 1000)::bigint END," \
	" clock_offset_ms, runs_started," \
	" CASE WHEN isfinite(started_at) THEN floor(extract(epoch from started_at))::bigint END" \
	" FROM nodes"

static const char SQL_ONE[] = SQL_NODES " WHERE name = $1::text";
static const char SQL_ALL[] = SQL_NODES " ORDER BY name LIMIT $1::bigint";

/* ms as seconds with three decimals, the sign kept (-0.5 s is "-0.500s"). */
static void add_secs(Buf *b, int64_t ms)
{
	uint64_t mag = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
	buf_printf(b, "%s%llu.%03llus", ms < 0 ? "-" : "", (unsigned long long)(mag / 1000),
	           (unsigned long long)(mag % 1000));
}

void cnode_render_row(Buf *b, const CNodeRow *r)
{
	/* Names come from the database, where anything may have written one:
	 * a space or newline in it would break the line's fields. */
	char name[sizeof r->name];
	size_t i;
	for (i = 0; r->name[i] && i + 1 < sizeof name; i++)
		name[i] = cnode_name_char(r->name[i]) ? r->name[i] : '?';
	name[i] = '\0';
	int up = r->has_lease && r->lease_left_ms > 0;
	int64_t mag = r->clock_offset_ms < 0 ? -r->clock_offset_ms : r->clock_offset_ms;
	buf_printf(b, "node=%s state=%s epoch=%lld lease_left=", name[0] ? name : "?",
	           up ? "up" : "down", (long long)r->epoch);
	if (r->has_lease)
		add_secs(b, r->lease_left_ms);
	else
		buf_addstr(b, "-");
	buf_addstr(b, " clock_offset=");
	add_secs(b, r->clock_offset_ms);
	buf_printf(b, " clock=%s runs_started=%lld started=", mag > CNODE_CLOCK_WARN_MS ? "off" : "ok",
	           (long long)r->runs_started);
	struct tm tm;
	time_t t = (time_t)r->started_at;
	char ts[32];
	if (r->started_at > 0 && gmtime_r(&t, &tm) && strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm))
		buf_addstr(b, ts);
	else
		buf_addstr(b, "-");
	buf_addstr(b, "\n");
}

static void row_at(const PGresult *res, int i, CNodeRow *r)
{
	int null;
	memset(r, 0, sizeof *r);
	strfmt(r->name, sizeof r->name, "%s", PQgetvalue(res, i, 0));
	r->epoch = cnode_num(res, i, 1, NULL);
	r->lease_left_ms = cnode_num(res, i, 2, &null);
	r->has_lease = !null;
	r->clock_offset_ms = cnode_num(res, i, 3, NULL);
	r->runs_started = cnode_num(res, i, 4, NULL);
	r->started_at = cnode_num(res, i, 5, NULL);
}

static void on_rows(void *arg, PGresult *res, const char *err)
{
	Req *r = arg;
	ClusterNode *n = cnode_req_take(r);
	if (n && r->text) {
		if (res == NULL) {
			r->text(r->arg, -EIO, err);
		} else if (PQnfields(res) != 6) {
			r->text(r->arg, -EIO, "an unexpected answer about the nodes");
		} else if (r->kind == REQ_STATUS && PQntuples(res) == 0) {
			char msg[sizeof r->what + 16];
			strfmt(msg, sizeof msg, "no node %s", r->what);
			r->text(r->arg, -ENOENT, msg);
		} else {
			Buf b = { 0 };
			CNodeRow row;
			for (int i = 0; i < PQntuples(res); i++) {
				row_at(res, i, &row);
				cnode_render_row(&b, &row);
			}
			buf_add(&b, "", 0);         /* "" for no node at all */
			r->text(r->arg, 0, b.data);
			buf_free(&b);
		}
	}
	free(r);
}

int cnode_status(ClusterNode *n, const char *name, CNodeText *done, void *arg)
{
	if (n->closing)
		return -ESHUTDOWN;
	if (!cnode_name_ok(name))
		return -EINVAL;
	Req *r = cnode_req_new(n, REQ_STATUS);
	r->text = done;
	r->arg = arg;
	strfmt(r->what, sizeof r->what, "%s", name);
	const char *p[] = { name };
	return cnode_req_send(r, SQL_ONE, 1, p, on_rows);
}

int cnode_list(ClusterNode *n, CNodeText *done, void *arg)
{
	if (n->closing)
		return -ESHUTDOWN;
	char max[16];
	strfmt(max, sizeof max, "%d", CNODE_LIST_MAX);
	Req *r = cnode_req_new(n, REQ_LIST);
	r->text = done;
	r->arg = arg;
	const char *p[] = { max };
	return cnode_req_send(r, SQL_ALL, 1, p, on_rows);
}
