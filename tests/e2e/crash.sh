#!/bin/sh
# Crash consistency (README, "Durability"): tests/tools/crashloop.c runs jobd,
# sends random requests through 9P and kills the daemon with SIGKILL at random
# moments, a fixed number of times; after every restart the name space must
# be exactly what the acknowledged requests made. Then the store must hold no
# run still "running", every interrupted run settled, and no process of an
# interrupted run may be left behind. CRASH_SEED=N replays a run. The deadline
# is a backstop only a broken (hung or crawling) jobd misses; how fast the
# iterations go is for make bench.
. "$(dirname "$0")/lib.sh"
TESTNAME=durable

if [ -n "${JOBD_SANITIZED:-}" ]; then
	args="-iterations 300 -jobs 12"
else
	args="-iterations 800 -jobs 24"
fi
# The job the kills leave processes of sleeps this long: longer than the
# test, so that what recovery failed to end is still there at the end, and
# a number of its own, so that another test's crash loop on this machine is
# not mistaken for ours. (The brackets keep the pattern from matching the
# command lines of this shell and of pgrep.)
orphan=600.$(printf '%04d' $(($$ % 10000)))
pat="sleep ${orphan%%.*}[.]${orphan#*.}"
ON_EXIT="pids=\$(pgrep -f '$pat'); [ -z \"\$pids\" ] || kill \$pids"
"$BUILD/tools/crashloop" -jobd "$JOBD" -dir "$T" $args -deadline 600 -orphan "$orphan" \
	${CRASH_SEED:+-seed "$CRASH_SEED"}
[ $? -eq 0 ] || NFAIL=$((NFAIL + 1))

if command -v sqlite3 >/dev/null 2>&1; then
	q() { sqlite3 "$T/db/jobd.sqlite" "$1"; }
	expect "crash-no-run-left-running" 0 q "SELECT count(*) FROM runs WHERE state IN (0, 1)"
	expect "crash-interrupted-runs-settled" 0 q "SELECT count(*) FROM runs WHERE state = 3 AND end_ns = 0"
	n=$(q "SELECT count(*) FROM runs WHERE state = 3")
	echo "# $n runs were interrupted by the kills"
else
	skip "crash-no-run-left-running" "no sqlite3 command"
fi
# Recovery ends what a kill left of the orphan-making job.
check "crash-no-orphans" sh -c "! pgrep -af '$pat'"
finish
