#!/bin/sh
# Hostile and odd input over TCP and the unix socket (tests/tools/p9wire.c).
# p9wire prints one ok/not ok line per case, then "# p9wire: ran N of M
# cases", and exits 0 only if all M ran and passed. Its output goes to a file
# first (a pipe would hide its exit status), then out with each case named
# after the transport; each transport's run is one more check, and both must
# have run the same full number of cases.
. "$(dirname "$0")/lib.sh"
jobd_start
# wire NAME ADDR: runs p9wire against ADDR; its case count in $T/NAME.count.
wire() {
	"$BUILD/tools/p9wire" "$2" >"$T/$1.out" 2>"$T/$1.err"
	rc=$?
	sed "s#^\(\(not \)\{0,1\}ok - \)wire/#\1wire-$1/#" "$T/$1.out"
	sed 's/^/# stderr: /' "$T/$1.err"
	sed -n 's/^# p9wire: ran \([0-9][0-9]*\) of \1 cases$/\1/p' "$T/$1.out" >"$T/$1.count"
	check "p9wire-$1-exit-0" test "$rc" -eq 0
	check "p9wire-$1-ran-all" test -s "$T/$1.count"
}
wire tcp "$JOBD_TCP"
wire unix "unix!$JOBD_SOCK"
check "both-transports-ran-the-same-cases" sh -c \
	'[ -s "$1" ] && [ "$(cat "$1")" -gt 0 ] && [ "$(cat "$1")" = "$(cat "$2")" ]' _ "$T/tcp.count" "$T/unix.count"
check "daemon-alive" kill -0 "$JOBD_PID"
jobd_stop
finish
