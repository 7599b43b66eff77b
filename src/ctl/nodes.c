/* nodes: a cluster's nodes, from nodes/NAME/status (doc/namespace.md,
 * "/nodes"). The files are read one after the other, not in
 * client_read_many's pipeline: a read of one waits in jobd for the
 * database, and the pipeline's clunk, arriving meanwhile, would cancel it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

int ctl_secs_ms(const char *s, long long *ms)
{
	int neg = *s == '-', digits = 0;
	const char *p = s + neg;
	long long whole = 0, frac = 0;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++)
		if ((whole = whole * 10 + (*p - '0')) > 1000000000000LL)
			return -EINVAL;
	/* Milliseconds: the first three decimals, fewer padded. */
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 3)
				frac = frac * 10 + (*p - '0');
	for (; digits < 3; digits++)
		frac *= 10;
	if (strcmp(p, "s") != 0)
		return -EINVAL;
	*ms = (whole * 1000 + frac) * (neg ? -1 : 1);
	return 0;
}

/* A number field of line into *v; 0, or -1 when absent or not a number. */
static int num(const char *line, const char *key, long long *v)
{
	char s[32], *end;
	if (kv_get(line, key, s, sizeof s) < 0 || !*s)
		return -1;
	long long k = strtoll(s, &end, 10);
	if (*end)
		return -1;
	*v = k;
	return 0;
}

static void secs(const char *line, const char *key, long long *ms, int *set)
{
	char s[32];
	*set = kv_get(line, key, s, sizeof s) == 0 && ctl_secs_ms(s, ms) == 0;
	if (!*set)
		*ms = 0;
}

int node_status_parse(const char *text, NodeStatus *st)
{
	memset(st, 0, sizeof *st);
	int found = 0, set;
	char v[64];
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n");
		char line[512];
		strfmt(line, sizeof line, "%.*s", (int)len, p);
		p += len + (p[len] == '\n');
		if (!strncmp(line, "node=", 5)) {
			found = 1;
			kv_get(line, "node", st->name, sizeof st->name);
			kv_get(line, "state", st->state, sizeof st->state);
			num(line, "epoch", &st->epoch);
			secs(line, "lease_left", &st->lease_left_ms, &st->has_lease);
			secs(line, "clock_offset", &st->clock_offset_ms, &set);
			st->clock_off = kv_get(line, "clock", v, sizeof v) == 0 && !strcmp(v, "off");
			num(line, "runs_started", &st->runs_started);
			if (kv_get(line, "started", v, sizeof v) < 0 || ctl_time_parse(v, &st->started) < 0)
				memset(&st->started, 0, sizeof st->started);
		} else if (!strncmp(line, "local ", 6)) {
			NodeLocal *l = &st->local;
			l->set = 1;
			kv_get(line, "state", l->state, sizeof l->state);
			num(line, "epoch", &l->epoch);
			secs(line, "lease_left", &l->lease_left_ms, &set);
			secs(line, "clock_offset", &l->clock_offset_ms, &set);
			secs(line, "rtt", &l->rtt_ms, &set);
			num(line, "renewals", &l->renewals);
			num(line, "failures", &l->failures);
		}
	}
	return found ? 0 : -EINVAL;
}

int node_lapsed(const NodeStatus *st)
{
	return !st->has_lease || st->lease_left_ms <= 0;
}

void node_lease_text(const NodeStatus *st, char *out, size_t n)
{
	char rel[48];
	if (!st->has_lease) {
		strfmt(out, n, "-");
	} else if (st->lease_left_ms > 0) {
		strfmt(out, n, "%lld.%llds left", st->lease_left_ms / 1000,
		       st->lease_left_ms % 1000 / 100);
	} else {
		ctl_reltime(st->lease_left_ms / 1000, rel, sizeof rel);
		strfmt(out, n, "lapsed %s", rel);
	}
}

/* ms as "-0.004s", as jobd writes it. */
static const char *ms_text(long long ms, char *out, size_t n)
{
	unsigned long long mag = ms < 0 ? 0ULL - (unsigned long long)ms : (unsigned long long)ms;
	return strfmt(out, n, "%s%llu.%03llus", ms < 0 ? "-" : "", mag / 1000, mag % 1000);
}

static void node_row(Table *t, const Zone *z, const NodeStatus *st, int wide)
{
	char epoch[24], lease[64], clock[48], runs[24], started[64], local[64], rtt[24], fails[24];
	strfmt(epoch, sizeof epoch, "%lld", st->epoch);
	node_lease_text(st, lease, sizeof lease);
	ms_text(st->clock_offset_ms, clock, sizeof clock);
	if (st->clock_off)
		strfmt(clock + strlen(clock), sizeof clock - strlen(clock), " off");
	strfmt(runs, sizeof runs, "%lld", st->runs_started);
	if (!wide) {
		table_row(t, st->name, st->state, epoch, lease, clock, runs);
		return;
	}
	const NodeLocal *l = &st->local;
	ctl_time_str(z, st->started, started, sizeof started);
	if (l->set && l->lease_left_ms > 0)
		strfmt(local, sizeof local, "%s %lld.%llds left", l->state, l->lease_left_ms / 1000,
		       l->lease_left_ms % 1000 / 100);
	else
		strfmt(local, sizeof local, "%s", l->set ? l->state : "-");
	ms_text(l->rtt_ms, rtt, sizeof rtt);
	strfmt(fails, sizeof fails, "%lld", l->failures);
	table_row(t, st->name, st->state, epoch, lease, clock, runs, started, local,
	          l->set ? rtt : "-", l->set ? fails : "-");
}

/* One JSON object: the fields jobctl(1) lists under nodes. */
static void node_json(Json *j, const Zone *z, const NodeStatus *st)
{
	const NodeLocal *l = &st->local;
	json_open(j, NULL, '{');
	json_str(j, "name", st->name);
	json_str(j, "state", st->state);
	json_int(j, "epoch", st->epoch);
	if (st->has_lease)
		json_int(j, "lease_left_ms", st->lease_left_ms);
	else
		json_str(j, "lease_left_ms", NULL);
	json_bool(j, "lapsed", node_lapsed(st));
	json_int(j, "clock_offset_ms", st->clock_offset_ms);
	json_str(j, "clock", st->clock_off ? "off" : "ok");
	json_int(j, "runs_started", st->runs_started);
	json_time(j, "started", z, st->started);
	if (!l->set) {
		json_str(j, "local", NULL);
	} else {
		json_open(j, "local", '{');
		json_str(j, "state", l->state);
		json_int(j, "epoch", l->epoch);
		json_int(j, "lease_left_ms", l->lease_left_ms);
		json_int(j, "clock_offset_ms", l->clock_offset_ms);
		json_int(j, "rtt_ms", l->rtt_ms);
		json_int(j, "renewals", l->renewals);
		json_int(j, "failures", l->failures);
		json_close(j, '}');
	}
	json_close(j, '}');
}

/* The nodes listed, their status read. */
typedef struct Nodes {
	const Zone *z;
	const NodeStatus *st;
	int wide;
} Nodes;

static void node_item(void *arg, size_t i, Table *t, Json *j)
{
	const Nodes *l = arg;
	if (t)
		node_row(t, l->z, &l->st[i], l->wide);
	else
		node_json(j, l->z, &l->st[i]);
}

/* Reads the status of each node named into st[]; *count becomes how many
 * were read (a node gone since the listing is left out). EX_OK, or the exit
 * status after saying why: a failure stops it (with the database away, every
 * other read would wait as long to fail the same way). */
static int read_all(Ctl *x, char **names, size_t n, NodeStatus *st, size_t *count)
{
	char path[128], why[512];
	int rc;
	*count = 0;
	for (size_t i = 0; i < n; i++) {
		strfmt(path, sizeof path, "nodes/%s/status", names[i]);
		char *text = ctl_read(x, path, &rc, why, sizeof why);
		if (!text && rc == -ENOENT)
			continue;
		if (!text)
			return client_broken(x->c) ? ctl_fail(path, rc, why) : ctl_refused(path, why);
		if (node_status_parse(text, &st[*count]) == 0)
			(*count)++;
		free(text);
	}
	return EX_OK;
}

int ctl_cmd_nodes(Ctl *x)
{
	const Zone *z = ctl_zone(x);
	if (!z)
		return EX_REFUSED;
	char why[512], **names;
	size_t n, count;
	int rc = client_list_dir(x->c, "nodes", &names, &n, why, sizeof why);
	if (rc == -ENOENT)
		return ctl_fail("nodes", rc, "this jobd is not a node of a cluster (jobd -store): it "
		                "has no nodes");
	if (rc < 0)
		return ctl_fail("nodes", rc, why);
	NodeStatus *st = xcalloc(n ? n : 1, sizeof *st);
	int ex = read_all(x, names, n, st, &count);
	client_free_names(names, n);
	if (ex != EX_OK) {
		free(st);
		return ex;
	}
	static const char *const head[] = {
		"NAME", "STATE", "EPOCH", "LEASE", "CLOCK OFFSET", "RUNS", NULL,
	};
	static const char *const wide_head[] = {
		"NAME", "STATE", "EPOCH", "LEASE", "CLOCK OFFSET", "RUNS", "STARTED", "LOCAL LEASE",
		"RTT", "FAILURES", NULL,
	};
	Nodes list = { z, st, x->out == OUT_WIDE };
	ctl_list(x, head, wide_head, count, node_item, &list);
	free(st);
	return EX_OK;
}
