#!/bin/sh
# Crash consistency (README, "Durability"): tests/tools/crashloop.c runs jobd,
# sends random requests through 9P and kills the daemon with SIGKILL at random
# moments, hundreds of times; after every restart the name space must be
# exactly what the acknowledged requests made. Then the store must hold no run
# still "running", every interrupted run settled, and no process of an
# interrupted run may be left behind. CRASH_SEED=N replays a run.
. "$(dirname "$0")/lib.sh"
TESTNAME=durable

if [ -n "${JOBD_SANITIZED:-}" ]; then
	args="-seconds 45 -jobs 12 -min 60"
else
	args="-seconds 35 -jobs 24 -min 150"
fi
"$BUILD/tools/crashloop" -jobd "$JOBD" -dir "$T" $args ${CRASH_SEED:+-seed "$CRASH_SEED"}
[ $? -eq 0 ] || NFAIL=$((NFAIL + 1))

if command -v sqlite3 >/dev/null 2>&1; then
	q() { sqlite3 "$T/db/jobd.sqlite" "$1"; }
	expect "crash-no-run-left-running" 0 q "SELECT count(*) FROM runs WHERE state IN (0, 1)"
	expect "crash-interrupted-runs-settled" 0 q "SELECT count(*) FROM runs WHERE state = 3 AND end_ns = 0"
	n=$(q "SELECT count(*) FROM runs WHERE state = 3")
	echo "# $n runs were interrupted by the kills"
else
	ok "crash-no-run-left-running # SKIP no sqlite3 command"
fi
# The orphan-making job sleeps 2.4917 s; recovery ends what a kill left of it.
# (The brackets keep the pattern from matching this shell's own command line.)
check "crash-no-orphans" sh -c '! pgrep -af "sleep 2[.]4917|crashloop-orpha[n]"'
finish
