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
running() { [ "$(rfield "$1" "$2" state)" = running ]; }
# A job's shell leads its own process group. group_alive: the group has a
# member; group_gone: it has none. An empty or non-numeric id passes neither.
# (No "--": dash's kill refuses it, so "! kill -0 -- -N" holds whatever N is.)
is_pgid() { case $1 in ''|*[!0-9]*) echo "no process group id: '$1'"; return 1 ;; esac; }
group_alive() { is_pgid "$1" && kill -0 "-$1" 2>/dev/null; }
group_gone() { is_pgid "$1" && ! kill -0 "-$1" 2>/dev/null; }
# pgid_of JOB RUN: the "pgid=N" the run printed, once it has.
pgid_printed() { "$J" read "jobs/$1/runs/$2/output" | grep -q ':pgid=[0-9]'; }
pgid_of() { "$J" read "jobs/$1/runs/$2/output" | sed -n 's/.*:pgid=//p' | head -1; }
epoch() { date -d "$1" +%s; }

# ---- run, status, runs/N ----
mk r1 'echo out; echo err >&2; exit 3'
expect "status-before" "state=stopped next=- last_start=- last_end=- last_status=- runs=0 failures=0 pid=- active=0 log_first=0 log_end=0" st r1
check "run-verb" "$J" write jobs/r1/ctl run
check "run-1-ends" wait_for 10 ended r1 1
expect "runs-listed" "1" "$J" ls-files jobs/r1/runs
expect "run-status-exit" "exit:3" rfield r1 1 status
expect "run-manual" "1" rfield r1 1 manual
expect "run-sched-manual" "-" rfield r1 1 sched
check "run-output" sh -c "\"$J\" read jobs/r1/runs/1/output | grep -Eq '^[0-9-]{10} [0-9:.]+ [+-][0-9]{4} [A-Z]+:out$'"
check "run-output-stderr" sh -c "\"$J\" read jobs/r1/runs/1/output | grep -q ':stderr: err$'"
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
check "k1-running" wait_for 10 running k1 1
check "k1-says-pgid" wait_for 10 pgid_printed k1 1
pgid=$(pgid_of k1 1)
check "k1-group-alive-before-kill" group_alive "$pgid"
check "kill-verb" "$J" write jobs/k1/ctl kill
check "ignores-term-killed-after-grace" wait_for 10 ended k1 1
expect "killed-flag" "1" rfield k1 1 killed
expect "killed-by-sigkill" "signal:KILL" rfield k1 1 status
# The background "sleep 60" is in the group too: only a kill of the whole
# group ends it.
check "no-process-left" wait_for 10 group_gone "$pgid"
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
# (3 s: time enough to see the group alive before the timeout ends it.)
mk t1 'echo pgid=$$; sleep 300 & sleep 300'
"$J" write jobs/t1/timeout 3s
"$J" write jobs/t1/ctl run
check "t1-says-pgid" wait_for 10 pgid_printed t1 1
pgid=$(pgid_of t1 1)
check "t1-group-alive-before-timeout" group_alive "$pgid"
check "timeout-ends-run" wait_for 20 ended t1 1
expect "timed-out-flag" "1" rfield t1 1 timed_out
check "timeout-logged" sh -c "\"$J\" log t1 | grep -q ':timed out after 3s$'"
check "timeout-no-process-left" wait_for 10 group_gone "$pgid"

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
# Times are whole seconds: a queued run that started with the other (and so
# before it ended, a second later at least) starts in an earlier second.
queued_after() {
	e3=$(rfield o1 3 end) s4=$(rfield o1 4 start)
	echo "run 3 ended $e3, run 4 started $s4"
	[ "$(epoch "$s4")" -ge "$(epoch "$e3")" ]
}
check "queue-after-previous" queued_after
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

# overlap=queue holds at most 16 waiting runs (doc/namespace.md): a fire that
# finds 16 waiting is skipped, recorded and logged. q1 runs until told to end.
mk q1 "while [ ! -e '$T/q1.go' ]; do sleep 0.1; done"
"$J" write jobs/q1/overlap queue
"$J" write jobs/q1/ctl run
check "queue-first-running" wait_for 10 running q1 1
"$J" write jobs/q1/ctl "$(i=0; while [ $i -lt 17 ]; do echo run; i=$((i + 1)); done)"
states() { i=$1; while [ "$i" -le "$2" ]; do rfield q1 "$i" state; i=$((i + 1)); done | sort | uniq -c | sed 's/^ *//' | tr '\n' ' ' | sed 's/ $//'; }
expect "queue-holds-16" "16 waiting" states 2 17
expect "queue-full-skips" "skipped" rfield q1 18 state
check "queue-full-logged" sh -c "\"$J\" log q1 | grep -q ':skipped: 16 runs already waiting\$'"
touch "$T/q1.go"
check "queue-drains" wait_for 60 ended q1 17
expect "queued-ran" "exit:0" rfield q1 17 status

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
# Its stdout and stderr block, as a program expects (jobd makes the pipes
# non-blocking at both ends, and the child its own ends blocking again):
# O_NONBLOCK (04000) is clear in both descriptors' flags.
mk nb1 'exec grep -h "^flags" /proc/self/fdinfo/1 /proc/self/fdinfo/2'
"$J" write jobs/nb1/ctl run
wait_for 10 ended nb1 1
expect "stdout-stderr-block" "2 of 2" sh -c "\"$J\" read jobs/nb1/runs/1/output | sed -n 's/.*flags:[[:space:]]*//p' |
	awk '{ v = 0; for (i = 1; i <= length(\$1); i++) v = v * 8 + substr(\$1, i, 1); if (int(v / 2048) % 2 == 0) b++ } END { print b + 0, \"of\", NR }'"

# ---- mkdir, rm -r, delete ----
check_fails "mkdir-via-clone-name-rules" "$J" write clone 'bad name:* * * * *:true'
mk d1 'sleep 60'
"$J" write jobs/d1/ctl run
wait_for 10 running d1 1
check "delete-verb" "$J" write jobs/d1/ctl delete
check_fails_with "deleted-gone" "'d1' not found" "$J" read jobs/d1/cmd
check "name-free-again" "$J" write clone "d1:$never:true"
check_fails_with "old-incarnation-not-back" "'1' not found" "$J" read jobs/d1/runs/1/status
# k2 (with a run in its history) is deleted and stays so across a restart.
check "k2-there-before-delete" "$J" read jobs/k2/runs/1/status
check "delete-k2" "$J" write jobs/k2/ctl delete
jobd_stop
jobd_start -killgrace 1s
check_fails_with "deleted-stays-deleted" "'k2' not found" "$J" read jobs/k2/status
check "deleted-not-listed" sh -c "\"$J\" ls-files jobs >'$T/jobs' && grep -qx d1 '$T/jobs' && ! grep -qx k2 '$T/jobs'"
check_fails_with "d1-old-runs-gone" "'1' not found" "$J" read jobs/d1/runs/1/status

# ---- misfire on restart ----
# jobd is down from t_down to t_up (whole seconds, as date says them): every
# second strictly between was certainly missed.
"$J" write clone 'mf:* * * * * * *:echo $JOBD_SCHEDULED'
"$J" write jobs/mf/misfire once
"$J" write jobs/mf/ctl start
mf_runs_at_least() { [ "$("$J" ls-files jobs/mf/runs | wc -l)" -ge "$1" ]; }
# missed_runs: how many runs of mf were scheduled strictly between t_down and t_up.
missed_runs() {
	"$J" ls-files jobs/mf/runs >"$T/mf.runs" || return 1
	: >"$T/mf.sched"
	while read -r r; do
		s=$(rfield mf "$r" sched)
		[ -n "$s" ] && epoch "$s" >>"$T/mf.sched" || { echo "run $r: no sched"; return 1; }
	done <"$T/mf.runs"
	awk -v a="$t_down" -v b="$t_up" '$1 > a && $1 < b { n++ } END { print n + 0 }' "$T/mf.sched"
}
wait_for 10 mf_runs_at_least 1
jobd_stop
t_down=$(date +%s)
sleep 3   # jobd is down for a few scheduled seconds: those are the misfires
t_up=$(date +%s)
jobd_start -killgrace 1s
# (Misfires are run once jobd listens: wait for them.)
logged() { "$J" log mf | grep -Eq "$1"; }
check "misfire-once-logged" wait_for 30 logged 'misfire: running once'
n=$(missed_runs)
echo "# misfire=once: $n runs for the $((t_up - t_down - 1)) seconds missed"
check "misfire-once-not-each" test "$n" -le 1
"$J" write jobs/mf/ctl stop
# misfire=all replays each missed second (with overlap=allow they all run).
"$J" write jobs/mf/misfire all
"$J" write jobs/mf/overlap allow
"$J" write jobs/mf/ctl start
n0=$("$J" ls-files jobs/mf/runs | wc -l)
wait_for 10 mf_runs_at_least $((n0 + 2))
jobd_stop
t_down=$(date +%s)
sleep 3
t_up=$(date +%s)
jobd_start -killgrace 1s
check "misfire-all-logged" wait_for 30 logged 'misfire: replayed [0-9]+ missed times$'
expect "misfire-all-replays-each" "$((t_up - t_down - 1))" missed_runs
"$J" write jobs/mf/ctl stop
jobd_stop
finish
