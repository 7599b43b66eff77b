# Shared helpers for end-to-end tests (sourced by tests/e2e/*.sh and tests/vm/*.sh).
# Each test starts its own jobd on a temporary -dbdir, a unix socket inside it and
# an ephemeral loopback TCP port; everything is removed and killed on exit.
#
#   . "$(dirname "$0")/lib.sh"
#   jobd_start            # sets JOBD_PID, JOBD_TCP (host!port), JOBD_PORT, JOBD_SOCK, T (temp dir)
#   check "name" command args...     # ok/not ok by exit status
#   check_fails "name" command...     # ok if the command fails (any way: prefer the next)
#   check_fails_with "name" PATTERN command...
#                         # ok if the command fails and its output (stdout and
#                         # stderr) has a line matching the grep -E PATTERN: the
#                         # reason it was refused, not just any failure
#   expect "name" "wanted" command... # ok if the command exits 0 and its stdout equals wanted
#   rc_is "name" WANT command...      # ok if the command exits with status WANT
#   skip "name" "reason"  # a check that cannot run here: counted as skipped, not passed
#   jobd_stop             # SIGTERM and wait; says nothing unless jobd fails to exit 0
#   finish                # exit status: 0 if nothing failed

set -u
BUILD=${JOBD_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
JOBD=$BUILD/jobd
JOBCTL=$BUILD/jobctl
T=$(mktemp -d /tmp/jobd-test.XXXXXX)
JOBD_PID=
NFAIL=0
TESTNAME=$(basename "$0" .sh)

ON_EXIT=           # extra cleanup commands a test adds: ON_EXIT="$ON_EXIT; cmd"
cleanup() {
	# "${ON_EXIT#; }": the first "; " of ON_EXIT="$ON_EXIT; cmd" would be a
	# syntax error, which ends the shell (status 2) with the rest undone.
	[ -n "$ON_EXIT" ] && eval "${ON_EXIT#; }" >/dev/null 2>&1
	if [ -n "$JOBD_PID" ]; then
		kill "$JOBD_PID" 2>/dev/null
		wait "$JOBD_PID" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { echo "ok - $TESTNAME/$1"; }
nok() { echo "not ok - $TESTNAME/$1"; NFAIL=$((NFAIL + 1)); }
# tests/run.sh counts these apart from passes and lists their reasons.
skip() { echo "ok - $TESTNAME/$1 # SKIP $2"; }

# (check's status is the command's: a test may say more when it failed.)
check() {
	name=$1; shift
	if "$@" >"$T/.check.out" 2>&1; then ok "$name"; else
		nok "$name"; sed 's/^/#   /' "$T/.check.out" | head -20
		return 1
	fi
}

# check that a command fails
check_fails() {
	name=$1; shift
	if "$@" >"$T/.check.out" 2>&1; then
		nok "$name (succeeded, should fail)"; sed 's/^/#   /' "$T/.check.out" | head -20
	else ok "$name"; fi
}

# check that a command fails for the reason given (a grep -E pattern that
# some line of its stdout or stderr must match)
check_fails_with() {
	name=$1; pat=$2; shift 2
	if "$@" >"$T/.check.out" 2>&1; then
		nok "$name (succeeded, should fail)"; sed 's/^/#   /' "$T/.check.out" | head -20
	elif grep -Eq -- "$pat" "$T/.check.out"; then ok "$name"; else
		nok "$name (failed, but not with /$pat/)"; sed 's/^/#   /' "$T/.check.out" | head -20
	fi
}

expect() {
	name=$1; want=$2; shift 2
	got=$("$@" 2>"$T/.expect.err")
	rc=$?
	if [ "$rc" -eq 0 ] && [ "$got" = "$want" ]; then ok "$name"; else
		nok "$name"
		[ "$rc" -eq 0 ] || echo "#   exit status $rc"
		printf '#   wanted: %s\n#   got:    %s\n' "$want" "$got" | head -20
		sed 's/^/#   stderr: /' "$T/.expect.err" | head -5
	fi
}

# wait_for SECONDS command...: runs command until it succeeds (a readiness wait,
# not a timing assumption: it fails the test only if the deadline passes).
# rc_is NAME WANT CMD...: the command's exit status is WANT (its stdout is
# left in $T/out, its stderr in $T/err).
rc_is() {
	name=$1; want=$2; shift 2
	"$@" >"$T/out" 2>"$T/err"; got=$?
	if [ "$got" -eq "$want" ]; then ok "$name"; else
		nok "$name"; echo "#   exit status $got, wanted $want"
		sed 's/^/#   stderr: /' "$T/err" | head -5
	fi
}

wait_for() {
	limit=$1; shift
	n=0
	while ! "$@" >/dev/null 2>&1; do
		n=$((n + 1))
		[ "$n" -ge $((limit * 20)) ] && return 1
		sleep 0.05
	done
	return 0
}

# pgrp_alive PGID: some process of group PGID is alive, not a zombie (a
# zombie is dead, only not yet reaped by whoever adopted it). 1 for an empty
# or nonsensical PGID: the caller's check must not pass by accident.
pgrp_alive() {
	case ${1:-} in ''|*[!0-9]*|0|1) return 1 ;; esac
	for st in /proc/[0-9]*/stat; do
		# After the command name: state ppid pgrp ...
		f=$(sed 's/.*) //' "$st" 2>/dev/null) || continue
		set -- "$1" $f
		[ $# -ge 4 ] && [ "$4" = "$1" ] && [ "$2" != Z ] && return 0
	done
	return 1
}

# jobd_start [extra jobd flags...]: starts jobd on $T/db with a unix socket and an
# ephemeral TCP port, and waits until it says it is listening.
jobd_start() {
	mkdir -p "$T/db"
	JOBD_SOCK=$T/jobd.sock
	: >"$T/jobd.log"
	"$JOBD" -dbdir "$T/db" -fsaddr "tcp!127.0.0.1!0" -fsaddr "unix!$JOBD_SOCK" \
		-logtostderr "$@" 2>>"$T/jobd.log" &
	JOBD_PID=$!
	# The unix socket is made after the TCP listener: wait for both.
	if ! wait_for 20 sh -c "grep -q 'listening on tcp!' '$T/jobd.log' && grep -q 'listening on unix!' '$T/jobd.log'"; then
		echo "# jobd did not start:"; sed 's/^/#   /' "$T/jobd.log"
		nok "jobd-start"; finish
	fi
	JOBD_PORT=$(sed -n 's/.*listening on tcp!127\.0\.0\.1!\([0-9]*\).*/\1/p' "$T/jobd.log" | head -1)
	JOBD_TCP="tcp!127.0.0.1!$JOBD_PORT"
	export JOBD_ADDR="unix!$JOBD_SOCK"
}

# jobd_stop: SIGTERM and wait; fails the test if jobd does not exit 0. A
# clean exit is not a check of its own (it would count once per restart):
# only a failure is reported.
jobd_stop() {
	[ -n "$JOBD_PID" ] || return 0
	kill -TERM "$JOBD_PID"
	# Bounded: a jobd that will not stop is a failure, not a hung test
	# (shutdown takes at most about twice -killgrace).
	if ! wait_for 60 sh -c "! kill -0 $JOBD_PID 2>/dev/null || grep -q '^State:.*Z' /proc/$JOBD_PID/status"; then
		nok "jobd-exit-0 (still running 60 s after SIGTERM; killed)"
		kill -KILL "$JOBD_PID"
	fi
	wait "$JOBD_PID"; rc=$?
	JOBD_PID=
	if [ "$rc" -ne 0 ]; then
		nok "jobd-exit-0 (status $rc)"; sed 's/^/#   /' "$T/jobd.log" | tail -20
	fi
}

finish() {
	if [ -n "$JOBD_PID" ] && ! kill -0 "$JOBD_PID" 2>/dev/null; then
		nok "jobd-still-running"; sed 's/^/#   /' "$T/jobd.log" | tail -20
	fi
	exit $((NFAIL > 0))
}
