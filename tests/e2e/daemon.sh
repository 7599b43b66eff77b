#!/bin/sh
# The daemon's command line and lifecycle: usage, bad flags, -debug traces,
# glog files under -log_dir, SIGTERM with a job still running.
. "$(dirname "$0")/lib.sh"

"$JOBD" -help 2>"$T/usage"; rc=$?
check "help-exit-0" test "$rc" -eq 0
# One check for the list; a failure names the flags missing from -help.
missing=
for f in fsaddr dbdir debug logtostderr alsologtostderr log_dir stderrthreshold v vmodule log_backtrace_at; do
	grep -q -- "^  -$f=" "$T/usage" || missing="$missing -$f"
done
if [ -z "$missing" ]; then ok "help-lists-flags"; else
	nok "help-lists-flags"; echo "#   missing from jobd -help:$missing"
fi
"$JOBD" -nosuchflag 2>"$T/err"; rc=$?
check "bad-flag-exit-2" test "$rc" -eq 2
check "bad-flag-message" grep -q "flag provided but not defined: -nosuchflag" "$T/err"
"$JOBD" -dbdir "$T/x" -fsaddr 'tcp!127.0.0.1!notaport' -logtostderr 2>"$T/err"; rc=$?
check "bad-fsaddr-fails" test "$rc" -ne 0
check "bad-fsaddr-message" grep -q "bad port" "$T/err"
"$JOBD" -dbdir "$T/y" -fsaddr=unix!"$T/y.sock" -sync=bogus 2>"$T/err"; rc=$?
check "bad-sync-exit-2" test "$rc" -eq 2

# -debug: one line per request and per reply on stderr.
jobd_start -debug
"$JOBCTL" ls-files / >/dev/null
check "debug-traces-requests" grep -q '^<- [0-9]* Tversion' "$T/jobd.log"
check "debug-traces-replies" grep -q '^-> [0-9]* Rversion' "$T/jobd.log"
check "debug-traces-walk" grep -q 'Twalk' "$T/jobd.log"

# SIGTERM while a job runs: the child's group gets SIGTERM, the run is recorded, exit 0.
"$JOBCTL" write clone 'long:* * * * * * *:echo begin; echo pgid=$$; trap "echo got-term; exit 7" TERM; sleep 30 & wait'
"$JOBCTL" write jobs/long/ctl start
began() { "$JOBCTL" log long | grep -q ':begin$'; }
check "long-job-began" wait_for 10 began
jobd_stop
jobd_start
check "child-got-sigterm" sh -c "\"$JOBCTL\" log long | grep -q ':got-term$'"
check "run-end-recorded" sh -c "\"$JOBCTL\" log long | grep -q ':exit status 7$'"
pgid=$("$JOBCTL" log long | sed -n 's/.*:pgid=//p' | head -1)
check "pgid-known" test -n "$pgid"
check_fails "no-child-left" pgrp_alive "$pgid"
jobd_stop

# Children start with every signal at its default, even when jobd itself was
# started with signals ignored that glibc will not reset (32, 33).
JOBD_REAL=$JOBD
jobd_start_wrapped() {
	mkdir -p "$T/db3"
	: >"$T/jobd.log"
	"$BUILD/tools/ignsig" "$JOBD_REAL" -dbdir "$T/db3" -fsaddr "unix!$T/w.sock" -logtostderr 2>>"$T/jobd.log" &
	JOBD_PID=$!
	wait_for 20 test -S "$T/w.sock"
}
jobd_start_wrapped
ign=$(awk '/^SigIgn:/ { print $2 }' /proc/$JOBD_PID/status)
check "wrapped-jobd-ignores-32-33" test $(( 0x$ign & 0x180000000 )) -eq $(( 0x180000000 ))
W="$JOBCTL -a unix!$T/w.sock"
$W write clone 'sig:0 0 1 1 * 2099:exec grep -E "^(SigBlk|SigIgn)" /proc/self/status'
$W write jobs/sig/ctl run
sig_done() { $W read jobs/sig/runs/1/status | grep -q state=done; }
wait_for 10 sig_done
expect "child-signals-default" "0000000000000000" sh -c "$W read jobs/sig/runs/1/output | sed -n 's/.*:SigIgn:[[:space:]]*//p'"
expect "child-signals-unblocked" "0000000000000000" sh -c "$W read jobs/sig/runs/1/output | sed -n 's/.*:SigBlk:[[:space:]]*//p'"
jobd_stop

# -log_dir writes glog-style files.
mkdir -p "$T/logs"
"$JOBD" -dbdir "$T/db2" -fsaddr "unix!$T/l.sock" -log_dir "$T/logs" -stderrthreshold 2 2>"$T/l.err" &
pid=$!
wait_for 10 test -S "$T/l.sock"
kill -TERM $pid; wait $pid
check "log-dir-file" sh -c "grep -q 'listening on unix!' \"$T\"/logs/jobd.*.log.INFO.*"
check "log-dir-link" test -L "$T/logs/jobd.INFO"
check "stderr-threshold-quiet" sh -c "! grep -q listening \"$T/l.err\""
finish
