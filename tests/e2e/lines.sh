#!/bin/sh
# How a run's output becomes lines (doc/namespace.md, runs/N/output): a line
# longer than 4096 bytes is split at 4096; a line of exactly 4096 bytes is one
# line (its newline is not an empty line of its own), also when its newline
# arrives in a later write; text without a final newline is a last line.
. "$(dirname "$0")/lib.sh"
J=$JOBCTL
never='0 0 1 1 * 2099'
ended() { [ "$("$J" read "jobs/$1/runs/1/status" 2>/dev/null | tr ' ' '\n' | sed -n 's/^state=//p')" = done ]; }
# lengths JOB: the length of each output line, one a line.
lengths() { "$J" read "jobs/$1/runs/1/output" | sed 's/^[^:]*:[^:]*:[^:]*://' | awk '{ print length($0) }'; }
x() { echo "head -c $1 /dev/zero | tr '\\\\0' x"; }

jobd_start
mk() { # NAME CMD: make, run, wait
	"$J" new "$1" "$never" "$2" >/dev/null && "$J" run "$1" >/dev/null && wait_for 20 ended "$1"
}
check "run-4096" mk l4096 "$(x 4096); echo"
expect "exactly-4096-is-one-line" "4096" lengths l4096
check "run-4097" mk l4097 "$(x 4097); echo"
expect "4097-is-split-once" "$(printf '4096\n1')" lengths l4097
check "run-8192" mk l8192 "$(x 8192); echo"
expect "8192-is-two-lines" "$(printf '4096\n4096')" lengths l8192
# The newline in a write of its own, after the 4096 bytes were read.
check "run-late-newline" mk late "$(x 4096); sleep 0.2; echo; echo after"
expect "late-newline-ends-the-line" "$(printf '4096\n5')" lengths late
check "run-no-final-newline" mk nofinal "printf 'a\nlast'"
expect "no-final-newline-kept" "$(printf '1\n4')" lengths nofinal
jobd_stop
finish
