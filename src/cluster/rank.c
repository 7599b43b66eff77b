/* Which live node tries an instant first (node.h, cnode_rank). Pure.
 *
 * Every node would claim every due instant at once; one claim wins and the
 * others are wasted statements that queue behind each other on the job's
 * row at the busiest moment. Instead each instant has an order over the
 * live nodes, the same on every node without a word exchanged: rendezvous
 * (highest random weight) hashing of (node name, job, instant). The first
 * claims at once, the second a moment later, and so on (jobs/remote.c),
 * so a claim that is not first usually finds the instant taken. The order
 * moves little when a node comes or goes (only the instants it led), and
 * spreads the instants evenly over the nodes. Exactly-once does not depend
 * on it: the database's key on (job, instant) still decides. */
#include "cluster/node.h"

#include <string.h>

static uint64_t mix(uint64_t x)
{
	/* splitmix64's finaliser: every input bit moves every output bit. */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t weight(const char *name, size_t len, uint64_t key)
{
	uint64_t h = 0xcbf29ce484222325ull;         /* FNV-1a of the name */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 0x100000001b3ull;
	return mix(h ^ key);
}

unsigned cnode_rank_of(const char *self, const char *live, int64_t job_id, int64_t sched)
{
	uint64_t key = mix((uint64_t)job_id * 0x9e3779b97f4a7c15ull + (uint64_t)sched);
	size_t slen = strlen(self);
	uint64_t mine = weight(self, slen, key);
	unsigned rank = 0;
	for (const char *p = live; *p;) {
		size_t len = strcspn(p, " ");
		if (len && !(len == slen && memcmp(p, self, len) == 0)) {
			uint64_t w = weight(p, len, key);
			/* Equal weights: the smaller name goes first. */
			int cmp = memcmp(p, self, len < slen ? len : slen);
			if (w > mine || (w == mine && (cmp < 0 || (cmp == 0 && len < slen))))
				rank++;
		}
		p += len;
		p += *p == ' ';
	}
	return rank;
}
