#!/bin/sh
# Run controls and history: every ctl verb, every setting, status, runs/,
# overlap and misfire policies, timeouts and kills that leave nothing
# behind, bounded output, what children inherit.
. "$(dirname "$0")/lib.sh"
jobd_start -killgrace 1s -max_output 4096 -keep_runs 5
J=$JOBCTL
never='0 0 1 1 * 2099'     # a schedule that never fires during the test
mk() { "$J" write clone "$1:$never:$2" >/dev/null; }
st() { "$J" read "jobs/$1/status"; }
field() { st "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
rfield() { "$J" read "jobs/$1/runs/$2/status" | tr ' ' '\n' | sed -n "s/^$3=//p"; }
ended() { [ "$(rfield "$1" "$2" state)" = done ]; }

# ---- run, status, runs/N ----
mk r1 'echo out; echo err >&2; exit 3'
expect "status-before" "state=stopped next=- last_start=- last_end=- last_status=- runs=0 failures=0 pid=-" st r1
check "run-verb" "$J" write jobs/r1/ctl run
check "run-1-ends" wait_for 10 ended r1 1
expect "runs-listed" "1" "$J" ls-files jobs/r1/runs
expect "run-status-exit" "exit:3" rfield r1 1 status
expect "run-manual" "1" rfield r1 1 manual
expect "run-sched-manual" "-" rfield r1 1 sched
check "run-output" sh -c "\"$J\" read jobs/r1/runs/1/output | grep -Eq '^[0-9-]{10} [0-9:.]+ [+-][0-9]{4} [A-Z]+:out$'"
check "run-output-stderr" sh -c "\"$J\" read jobs/r1/runs/1/output | grep -q ':err$'"
check "log-derived" sh -c "\"$J\" log r1 | grep -q ':exit status 3$'"
expect "status-after" "1 1 exit:3 -" echo "$(field r1 runs) $(field r1 failures) $(field r1 last_status) $(field r1 pid)"
check "status-times" sh -c "\"$J\" read jobs/r1/status | grep -Eq 'last_start=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}[+-][0-9]{2}:[0-9]{2} last_end=[0-9]{4}'"
# Two verbs in one write, applied in order: the second run comes while the
# first is going and overlap=skip (the default) skips it.
"$J" write jobs/r1/ctl 'run
run'
check "two-runs-one-write" wait_for 10 ended r1 2
expect "second-skipped" "skipped" rfield r1 3 state
check_fails "walk-missing-run" "$J" read jobs/r1/runs/99/status

# ---- settings: validated, applied, persisted ----
expect "timeout-default" "0" "$J" read jobs/r1/timeout
check "timeout-set" "$J" write jobs/r1/timeout "1h30m
"
expect "timeout-canonical" "1h30m" "$J" read jobs/r1/timeout
check_fails "timeout-bad" "$J" write jobs/r1/timeout "soon"
expect "timeout-unchanged" "1h30m" "$J" read jobs/r1/timeout
"$J" write jobs/r1/overlap sometimes 2>"$T/err"
check "overlap-bad-says-values" grep -q "skip, queue, replace, allow" "$T/err"
check "overlap-set" "$J" write jobs/r1/overlap queue
check "misfire-set" "$J" write jobs/r1/misfire once
check_fails "dir-relative" "$J" write jobs/r1/dir tmp
check "dir-set" "$J" write jobs/r1/dir "$T"
check "env-set" "$J" write jobs/r1/env "A=1
B=two words"
expect "env-read" "A=1
B=two words" "$J" read jobs/r1/env
check_fails "env-bad" "$J" write jobs/r1/env "1A=x"
check "set-verb" "$J" write jobs/r1/ctl "set timeout 90"
expect "set-verb-applied" "1m30s" "$J" read jobs/r1/timeout
check_fails "set-verb-unknown" "$J" write jobs/r1/ctl "set colour blue"
check "cmd-write" "$J" write jobs/r1/cmd 'pwd; echo "$A/$B/$JOBD_JOB/$JOBD_RUN"'
"$J" write jobs/r1/ctl run
check "run-4-ends" wait_for 10 ended r1 4
check "dir-applied" sh -c "\"$J\" read jobs/r1/runs/4/output | grep -q ':$T\$'"
check "env-applied" sh -c "\"$J\" read jobs/r1/runs/4/output | grep -q ':1/two words/r1/4\$'"
check "schedule-write" "$J" write jobs/r1/schedule '*/5 * * * * * *'
"$J" write jobs/r1/ctl start
check "schedule-rescheduled" sh -c "\"$J\" read jobs/r1/schedule | grep -q '^\*/5 \* \* \* \* \* \*:'"
"$J" write jobs/r1/ctl stop
check_fails "schedule-bad" "$J" write jobs/r1/schedule '61 * * * *'

# ---- kill: the whole group, SIGTERM then SIGKILL after the grace period ----
mk k1 'trap "" TERM; echo pgid=$$; sleep 60 & sleep 60; wait'
"$J" write jobs/k1/ctl run
running() { [ "$(rfield "$1" "$2" state)" = running ]; }
check "k1-running" wait_for 10 running k1 1
started_out() { "$J" read jobs/k1/runs/1/output | grep -q pgid=; }
wait_for 10 started_out
pgid=$("$J" read jobs/k1/runs/1/output | sed -n 's/.*:pgid=//p')
check "kill-verb" "$J" write jobs/k1/ctl kill
check "ignores-term-killed-after-grace" wait_for 10 ended k1 1
expect "killed-flag" "1" rfield k1 1 killed
expect "killed-by-sigkill" "signal:KILL" rfield k1 1 status
check "no-process-left" sh -c "! kill -0 -- -$pgid 2>/dev/null"
"$J" write jobs/k1/ctl kill 2>"$T/err"
check "kill-nothing-running" grep -q "no run in progress" "$T/err"
mk k2 'trap "echo got-hup" HUP; echo ready; while :; do sleep 0.1; done'
"$J" write jobs/k2/ctl run
ready() { "$J" read jobs/k2/runs/1/output | grep -q ready; }
wait_for 10 ready
check "kill-signame" "$J" write jobs/k2/ctl "kill HUP"
got_hup() { "$J" read jobs/k2/runs/1/output | grep -q got-hup; }
check "signal-delivered" wait_for 10 got_hup
check_fails "kill-bad-signal" "$J" write jobs/k2/ctl "kill BOGUS"
"$J" write jobs/k2/ctl "kill KILL"
wait_for 10 ended k2 1

# ---- timeout ----
mk t1 'echo pgid=$$; sleep 30 & sleep 30'
"$J" write jobs/t1/timeout 1s
"$J" write jobs/t1/ctl run
check "timeout-ends-run" wait_for 10 ended t1 1
expect "timed-out-flag" "1" rfield t1 1 timed_out
check "timeout-logged" sh -c "\"$J\" log t1 | grep -q ':timed out after 1s$'"
pgid=$("$J" read jobs/t1/runs/1/output | sed -n 's/.*:pgid=//p')
check "timeout-no-process-left" sh -c "! kill -0 -- -$pgid 2>/dev/null"

# ---- overlap policies ----
mk o1 'sleep 1'
"$J" write jobs/o1/ctl 'run
run'
check "skip-second" wait_for 10 ended o1 1
expect "skip-recorded" "skipped" rfield o1 2 state
"$J" write jobs/o1/overlap queue
"$J" write jobs/o1/ctl 'run
run'
check "queue-runs-later" wait_for 10 ended o1 4
s3=$(rfield o1 3 end); s4=$(rfield o1 4 start)
check "queue-after-previous" test "$(rfield o1 4 start)" ">" "$(rfield o1 3 start)"
"$J" write jobs/o1/overlap allow
"$J" write jobs/o1/cmd 'sleep 2'
"$J" write jobs/o1/ctl 'run
run
run'
three_ran() { ended o1 5 && ended o1 6 && ended o1 7; }
check "allow-runs-all" wait_for 15 three_ran
overlapped() { [ "$(rfield o1 7 start)" \< "$(rfield o1 5 end)" ] || [ "$(rfield o1 7 start)" = "$(rfield o1 5 end)" ]; }
check "allow-runs-together" overlapped
"$J" write jobs/o1/overlap replace
"$J" write jobs/o1/cmd 'sleep 30'
"$J" write jobs/o1/ctl run
check "replace-first-running" wait_for 10 running o1 8
"$J" write jobs/o1/ctl run
check "replace-kills-old" wait_for 10 ended o1 8
expect "replaced-killed" "1" rfield o1 8 killed
check "replacement-runs" wait_for 10 running o1 9
"$J" write jobs/o1/ctl "kill KILL"
wait_for 10 ended o1 9
: "$s3$s4"

# ---- retention: the newest -keep_runs runs ----
expect "keep-runs" "5" sh -c "\"$J\" ls-files jobs/o1/runs | wc -l"
expect "keep-runs-newest" "9" sh -c "\"$J\" ls-files jobs/o1/runs | tail -1"

# ---- output is bounded ----
rss0=$(awk '/^VmRSS:/ { print $2 }' /proc/$JOBD_PID/status)
mk big 'yes 0123456789abcdef | head -c 1073741824; echo done'
"$J" write jobs/big/ctl run
check "big-ends" wait_for 120 ended big 1
expect "big-truncated" "1" rfield big 1 truncated
check "big-stored-within-cap" test "$(rfield big 1 output_bytes)" -le 4096
check "big-logged" sh -c "\"$J\" log big | grep -q 'output truncated'"
rss=$(awk '/^VmRSS:/ { print $2 }' /proc/$JOBD_PID/status)
echo "# RSS before ${rss0} kB, after 1 GiB of output ${rss} kB"
check "rss-flat-after-1GiB-of-output" test "$rss" -lt $((rss0 + 20000))

# ---- what children get: no inherited descriptors, /dev/null stdin, clean signals ----
# (ls's own directory is descriptor 3: a job gets exactly 0, 1 and 2.)
mk env1 'ls /proc/self/fd | tr "\n" " "; echo; cat; grep -E "^(SigBlk|SigIgn)" /proc/$$/status'
"$J" write jobs/env1/ctl run
wait_for 10 ended env1 1
expect "only-std-fds" "0 1 2 3 " sh -c "\"$J\" read jobs/env1/runs/1/output | sed -n '1s/^[^:]*:[^:]*:[^:]*://p'"
# The job's own process, exec'ed straight from jobd's child (the shell's mask
# while it forks is its own business): nothing blocked, nothing ignored.
mk sig1 'exec grep -E "^(SigBlk|SigIgn)" /proc/self/status'
"$J" write jobs/sig1/ctl run
wait_for 10 ended sig1 1
expect "no-blocked-signals" "0000000000000000" sh -c "\"$J\" read jobs/sig1/runs/1/output | sed -n 's/.*:SigBlk:[[:space:]]*//p'"
expect "no-ignored-signals" "0000000000000000" sh -c "\"$J\" read jobs/sig1/runs/1/output | sed -n 's/.*:SigIgn:[[:space:]]*//p'"

# ---- mkdir, rm -r, delete ----
check_fails "mkdir-via-clone-name-rules" "$J" write clone 'bad name:* * * * *:true'
mk d1 'sleep 60'
"$J" write jobs/d1/ctl run
wait_for 10 running d1 1
check "delete-verb" "$J" write jobs/d1/ctl delete
check_fails "deleted-gone" "$J" read jobs/d1/cmd
check "name-free-again" "$J" write clone "d1:$never:true"
check_fails "old-incarnation-not-back" sh -c "\"$J\" read jobs/d1/runs/1/status"
jobd_stop
jobd_start -killgrace 1s
check_fails "deleted-stays-deleted" "$J" read jobs/k1/status.missing
check_fails "d1-old-runs-gone" "$J" read jobs/d1/runs/1/status

# ---- misfire on restart ----
"$J" write clone 'mf:* * * * * * *:echo $JOBD_SCHEDULED'
"$J" write jobs/mf/misfire once
"$J" write jobs/mf/ctl start
ran_once() { [ "$("$J" ls-files jobs/mf/runs | wc -l)" -ge 1 ]; }
wait_for 10 ran_once
jobd_stop
sleep 3   # jobd is down for a few scheduled seconds: those are the misfires
jobd_start -killgrace 1s
check "misfire-once-logged" sh -c "\"$J\" log mf | grep -q 'misfire: running once'"
"$J" write jobs/mf/ctl stop
# misfire=all replays each missed second (with overlap=allow they all run).
"$J" write jobs/mf/misfire all
"$J" write jobs/mf/overlap allow
"$J" write jobs/mf/ctl start
wait_for 10 sh -c "[ \$(\"$J\" ls-files jobs/mf/runs | wc -l) -ge 3 ]"
jobd_stop
sleep 3
jobd_start -killgrace 1s
check "misfire-all-logged" sh -c "\"$J\" log mf | grep -Eq 'misfire: replayed [2-9] missed times'"
"$J" write jobs/mf/ctl stop
jobd_stop
finish
