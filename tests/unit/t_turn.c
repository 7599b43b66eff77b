/* Group commit's rule (daemon/turn.c): when a batch is committed. */
#include "daemon/turn.h"
#include "unit.h"

enum { MS = 1000000 };

static void test_waited_commits_now(void)
{
	/* A held reply, a parked read or a deferred claim: at once, however
	 * soon after the last commit. */
	CHECK(turn_pace(1, 0) == -1);
	CHECK(turn_pace(1, 1 * MS) == -1);
	CHECK(turn_pace(1, 9 * MS) == -1);
}

static void test_gap(void)
{
	/* Nobody waits: the first turn 10 ms or more after the last commit
	 * commits; before that the batch is held, the timer set for 50 ms
	 * after the last commit (rounded up to whole ms). */
	CHECK(turn_pace(0, 10 * MS) == -1);
	CHECK(turn_pace(0, 3600ULL * 1000 * MS) == -1);
	CHECK(turn_pace(0, 0) == 50);
	CHECK(turn_pace(0, 1) == 50);
	CHECK(turn_pace(0, 1 * MS) == 49);
	CHECK(turn_pace(0, 1 * MS + 1) == 49);
	CHECK(turn_pace(0, 10 * MS - 1) == 41);
}

int main(void)
{
	unit_prog = "t_turn";
	unit_run("waited-commits-now", test_waited_commits_now);
	unit_run("gap", test_gap);
	return unit_done();
}
