#!/bin/sh
# jobd under valgrind memcheck for a whole session: jobs created, edited,
# started, run (one that cannot start, one killed), every kind of file read
# over both transports, hostile input, connections refused, a restart over
# the same store, delete, SIGTERM. Memcheck must report no errors and no definite or indirect
# leaks, and jobd must exit 0. Skipped in the sanitizer pass (valgrind and
# ASan do not mix) and where valgrind is missing.
. "$(dirname "$0")/lib.sh"
if [ -n "${JOBD_SANITIZED:-}" ]; then
	ok "valgrind # SKIP sanitizer build (ASan and valgrind do not mix)"
	finish
fi
if ! command -v valgrind >/dev/null; then
	skip valgrind "valgrind is not installed"
	finish
fi
J=$JOBCTL
never='0 0 1 1 * 2099'
rfield() { "$J" read "jobs/$1/runs/$2/status" | tr ' ' '\n' | sed -n "s/^$3=//p"; }
ended() { [ "$(rfield "$1" "$2" state 2>/dev/null)" = done ]; }
running() { [ "$(rfield "$1" "$2" state 2>/dev/null)" = running ]; }

# vg_start N [jobd flags]: jobd under memcheck, its report in $T/vg.N.
vg_start() {
	n=$1; shift
	mkdir -p "$T/db"
	JOBD_SOCK=$T/jobd.sock
	: >"$T/jobd.log"
	# --child-silent-after-fork: a run's child between fork and exec (killed
	# there by a test) is a copy of jobd whose heap is not a leak of jobd's.
	valgrind --quiet --child-silent-after-fork=yes --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--show-leak-kinds=definite,indirect --error-exitcode=99 --log-file="$T/vg.$n" \
		"$JOBD" -dbdir "$T/db" -fsaddr "tcp!127.0.0.1!0" -fsaddr "unix!$JOBD_SOCK" \
		-logtostderr -killgrace 1s -maxconns 4 "$@" 2>>"$T/jobd.log" &
	JOBD_PID=$!
	# Both listeners: the unix socket is the second one made.
	if ! wait_for 120 grep -q 'listening on unix!' "$T/jobd.log"; then
		nok "valgrind-start-$n"; sed 's/^/#   /' "$T/jobd.log" "$T/vg.$n"; finish
	fi
	JOBD_PORT=$(sed -n 's/.*listening on tcp!127\.0\.0\.1!\([0-9]*\).*/\1/p' "$T/jobd.log" | head -1)
	JOBD_TCP="tcp!127.0.0.1!$JOBD_PORT"
	export JOBD_ADDR="unix!$JOBD_SOCK"
}

# vg_stop N: SIGTERM; jobd exits 0 and memcheck found nothing.
vg_stop() {
	kill -TERM "$JOBD_PID"
	wait "$JOBD_PID"; rc=$?
	JOBD_PID=
	if [ "$rc" -eq 0 ]; then ok "valgrind-exit-0-$1"; else
		nok "valgrind-exit-0-$1 (status $rc)"; sed 's/^/#   /' "$T/vg.$1" | head -60
	fi
	# --quiet: the report holds only errors and leaks (it exists: valgrind ran).
	if [ -f "$T/vg.$1" ] && [ ! -s "$T/vg.$1" ]; then ok "valgrind-clean-$1"; else
		nok "valgrind-clean-$1"; sed 's/^/#   /' "$T/vg.$1" | head -60
	fi
}

vg_start 1
check "create" "$J" new a "$never" 'echo hello; echo err >&2; exit 3'
check "mkdir-style" "$J" write clone "b:$never:sleep 30"
check "set" "$J" set a timeout 90
check "env" "$J" write jobs/a/env 'A=1
B=two'
check "run" "$J" write jobs/a/ctl run
check "run-ends" wait_for 60 ended a 1
"$J" write jobs/a/ctl 'run
run'
check "runs-end" wait_for 60 ended a 2
check "start" "$J" start a
check "status" "$J" status a
check "log" "$J" log a
check "runs" "$J" runs a
check "output" "$J" output a 1
check "ls" "$J" ls
check "stats" "$J" read stats
check "tcp-read" "$J" -a "$JOBD_TCP" read jobs/a/schedule
check "ls-files" "$J" ls-files jobs/a/runs
# Set while it exists (dir is checked then), gone by the run (checked again).
mkdir "$T/vanishing"
check "bad-dir-set" "$J" set a dir "$T/vanishing"
rmdir "$T/vanishing"
"$J" write jobs/a/ctl run
check "cannot-start-recorded" wait_for 60 ended a 4
check_fails "bad-write" "$J" write jobs/a/overlap sometimes
"$J" write jobs/b/ctl run
check "b-running" wait_for 60 running b 1
check "kill" "$J" kill b
check "b-killed" wait_for 60 ended b 1
check "stop" "$J" stop a
# p9wire's status counts, not only its lines: it exits 0 only when every case
# ran ("ran N of N") and passed; a missing p9wire fails here too.
"$BUILD/tools/p9wire" "unix!$JOBD_SOCK" >"$T/wire" 2>&1; rc=$?
check "hostile-input" sh -c '[ "$1" -eq 0 ] && grep -q "^# p9wire: ran \([0-9][0-9]*\) of \1 cases$" "$2" &&
	! grep -q "^not ok" "$2" || { echo "p9wire exit status $1"; cat "$2"; exit 1; }' _ "$rc" "$T/wire"
# -maxconns 4: a fifth connection is refused with a reason; one refused and
# silent is dropped when jobd stops.
for i in 1 2 3 4; do "$BUILD/tools/p9probe" "unix!$JOBD_SOCK" hold 60 >"$T/hold$i" & eval H$i=\$!; done
ON_EXIT="kill $H1 $H2 $H3 $H4"
for i in 1 2 3 4; do wait_for 60 grep -q held "$T/hold$i"; done
"$J" ls-files / 2>"$T/err"
check "conn-refused" grep -q "too many connections" "$T/err"
bash -c "exec 3<>/dev/tcp/127.0.0.1/$JOBD_PORT; sleep 60" & H5=$!
ON_EXIT="kill $H1 $H2 $H3 $H4 $H5"
check "silent-refused-held" wait_for 60 grep -q "refusing tcp!127.0.0.1" "$T/jobd.log"
kill "$H1" "$H2" "$H3" "$H4"
wait "$H1" "$H2" "$H3" "$H4" 2>/dev/null
vg_stop 1
kill "$H5" 2>/dev/null; wait "$H5" 2>/dev/null; ON_EXIT=

vg_start 2
expect "restart-kept" "a b" sh -c "\"$J\" ls-files jobs | tr '\n' ' ' | sed 's/ \$//'"
"$J" write jobs/b/ctl run
check "b-running-again" wait_for 60 running b 2
check "delete-while-running" "$J" rm b
check "delete" "$J" rm a
vg_stop 2
finish
