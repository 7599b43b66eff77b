/* Tests of the order in which live nodes try an instant (cluster/rank.c):
 * one order that every node computes alike, spread evenly, moved as little
 * as possible when a node comes or goes. Pure: no database. */
#include "cluster/node.h"
#include "unit.h"

#include <stdio.h>
#include <string.h>

enum { INSTANTS = 30000 };

static void test_permutation(void)
{
	/* For each instant the nodes' ranks are 0..n-1, each once, whether a
	 * node is in the list it is given or not. */
	static const char live[] = "a b node-c d.4";
	static const char *const names[] = { "a", "b", "node-c", "d.4" };
	for (int64_t i = 0; i < 2000; i++) {
		int64_t job = 1 + i % 97, sched = 1796000000 + i;
		unsigned seen = 0;
		for (int k = 0; k < 4; k++) {
			unsigned r = cnode_rank_of(names[k], live, job, sched);
			CHECKF(r < 4, "rank %u", r);
			if (r < 4)
				seen |= 1u << r;
		}
		CHECKF(seen == 15, "instant %lld: ranks %x", (long long)sched, seen);
		if (seen != 15)
			break;
	}
	/* Not in the list (its lease lapsed at the renewal): it still counts
	 * itself among the others. */
	CHECK(cnode_rank_of("z", "", 5, 6) == 0);
	unsigned r = cnode_rank_of("z", "a b", 5, 6);
	CHECK(r <= 2);
	CHECK(cnode_rank_of("z", "a b", 5, 6) == r);
}

static void test_even(void)
{
	/* Each of three nodes goes first for about a third of the instants
	 * (of one job, and across jobs). */
	static const char live[] = "a b c";
	static const char *const names[] = { "a", "b", "c" };
	int first[3] = { 0 };
	for (int64_t i = 0; i < INSTANTS; i++)
		for (int k = 0; k < 3; k++)
			if (cnode_rank_of(names[k], live, 1 + i % 200, 1796000000 + i / 200) == 0)
				first[k]++;
	for (int k = 0; k < 3; k++)
		CHECKF(first[k] > INSTANTS / 3 * 95 / 100 && first[k] < INSTANTS / 3 * 105 / 100,
		       "%s first for %d of %d", names[k], first[k], INSTANTS);
	int one[3] = { 0 };
	for (int64_t s = 0; s < 3000; s++)
		for (int k = 0; k < 3; k++)
			one[k] += cnode_rank_of(names[k], live, 42, 1796000000 + s) == 0;
	for (int k = 0; k < 3; k++)
		CHECKF(one[k] > 900 && one[k] < 1100, "one job: %s first for %d of 3000", names[k],
		       one[k]);
}

static void test_stable(void)
{
	/* c leaves: the instants a or b led, they still lead; c's go to the
	 * other two, about half each. */
	int moved = 0, c_led = 0, to_a = 0;
	for (int64_t i = 0; i < INSTANTS; i++) {
		int64_t job = 1 + i % 50, sched = 1796000000 + i / 50;
		int a3 = cnode_rank_of("a", "a b c", job, sched) == 0;
		int b3 = cnode_rank_of("b", "a b c", job, sched) == 0;
		int a2 = cnode_rank_of("a", "a b", job, sched) == 0;
		int b2 = cnode_rank_of("b", "a b", job, sched) == 0;
		CHECKF(a2 + b2 == 1, "two first at %lld", (long long)sched);
		if (a3 || b3) {
			moved += a3 != a2;
		} else {
			c_led++;
			to_a += a2;
		}
	}
	CHECKF(moved == 0, "%d instants changed leader although theirs stayed", moved);
	CHECKF(to_a > c_led * 45 / 100 && to_a < c_led * 55 / 100, "%d of c's %d went to a", to_a,
	       c_led);
}

int main(void)
{
	unit_prog = "t_rank";
	unit_run("ranks-are-a-permutation", test_permutation);
	unit_run("first-spread-evenly", test_even);
	unit_run("a-node-leaving-moves-only-its-own", test_stable);
	return unit_done();
}
