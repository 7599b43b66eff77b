#!/bin/sh
# Live files (doc/namespace.md, "Live files"): reads that wait, and what ends
# them. A parked read must be answered when there is something, cancelled by
# Tflush, by a clunk of its fid, by a new Tversion and by a closed
# connection (the sanitizer pass catches a request that outlives its fid);
# /events streams what happens, /jobs/NAME/log.follow and
# runs/N/output.follow follow text as it is committed, runs/N/wait waits for
# the end of a run. p9probe's park command proves a read waits: a request
# sent after it is answered first.
. "$(dirname "$0")/lib.sh"
P=$BUILD/tools/p9probe
J=$JOBCTL
jobd_start
A=$JOBD_ADDR
never='0 0 1 1 * 2099'

$J new lj "$never" 'echo one; echo two >&2' >/dev/null
$J run lj >/dev/null
wait_for 20 sh -c "$J read jobs/lj/runs/1/status | grep -q 'state=done'" ||
	{ nok "first-run-ended"; finish; }

# ---- parking, and each way a parked read ends ----
# A follow read at the end of the log (a new job's is empty) waits; each way
# of ending it leaves the connection working (p9probe checks), and jobd
# keeps serving.
$J new lp "$never" 'echo one' >/dev/null
for mode in flush clunk version close; do
	out=$("$P" "$A" park jobs/lp/log.follow "$mode" 2>&1)
	want=$(case $mode in flush) echo flushed ;; clunk) echo clunked ;; version) echo reset ;; close) echo closed ;; esac)
	if [ "$out" = "parked
$want" ]; then ok "park-$mode"; else nok "park-$mode"; echo "$out" | sed 's/^/#   /'; fi
done
expect "served-after-cancels" "stopped" $J read jobs/lj/ctl

# A parked read is answered once there is something: the first run's lines.
"$P" "$A" park jobs/lp/log.follow wait >"$T/follow.out" 2>&1 &
pf=$!
wait_for 10 grep -q '^parked' "$T/follow.out" || nok "follow-parked"
$J run lp >/dev/null
if wait_for 20 grep -q ':run 1 started' "$T/follow.out"; then ok "follow-answered"; else
	nok "follow-answered"; sed 's/^/#   /' "$T/follow.out"; fi
wait "$pf" 2>/dev/null

# runs/N/wait: answered at once for an ended run, parked for a running one.
expect "wait-ended-run" "$($J read jobs/lj/runs/1/status)" $J read jobs/lj/runs/1/wait
$J new lw "$never" 'read x </dev/null; sleep 30' >/dev/null
$J run lw >/dev/null
"$P" "$A" park jobs/lw/runs/1/wait wait >"$T/wait.out" 2>&1 &
pw=$!
wait_for 10 grep -q '^parked' "$T/wait.out" || nok "wait-parked"
$J kill lw >/dev/null
if wait_for 20 grep -q 'state=done' "$T/wait.out"; then ok "wait-answered-at-end"; else
	nok "wait-answered-at-end"; sed 's/^/#   /' "$T/wait.out"; fi
wait "$pw" 2>/dev/null

# output.follow of an ended run reads to its end and stops (no wait).
expect "output-follow-ends" "$($J read jobs/lj/runs/1/output)" $J read jobs/lj/runs/1/output.follow

# "from POS": a follower resumes at an absolute position.
len=$($J read jobs/lj/log | wc -c)
expect "from-at-end" "ok" "$P" "$A" write jobs/lj/log.follow "from $len"
check_fails_with "from-past-end" "past the end" sh -c "$J write jobs/lj/log.follow 'from 999999999' 2>&1"

# ---- /events ----
"$P" "$A" park events wait >"$T/ev.out" 2>&1 &
pe=$!
wait_for 10 grep -q '^parked' "$T/ev.out" || nok "events-parked"
$J new le "$never" true >/dev/null
if wait_for 20 grep -Eq '^[0-9]+ [0-9T:.-]+Z job.created le' "$T/ev.out"; then ok "events-created"; else
	nok "events-created"; sed 's/^/#   /' "$T/ev.out"; fi
wait "$pe" 2>/dev/null

# ---- jobctl log -f and events across a restart of jobd ----
# Both dial again and go on where they were: the followed log is the log,
# no line twice, none missing; each event once.
$J new tick '* * * * * * *' 'echo tick' >/dev/null
$J log -f tick >"$T/logf.out" 2>"$T/logf.err" &
pl=$!
$J events >"$T/events.out" 2>"$T/events.err" &
pv=$!
ticks() { [ "$(grep -c ':tick$' "$T/logf.out")" -ge "$1" ]; }
$J start tick >/dev/null
wait_for 20 ticks 2 || nok "log-f-ticks"
$J new before "$never" true >/dev/null
wait_for 10 grep -q ' job.created before ' "$T/events.out" || nok "events-before"
jobd_stop
n=$(grep -c ':tick$' "$T/logf.out")
jobd_start
$J new after "$never" true >/dev/null
wait_for 20 ticks $((n + 2)) || nok "log-f-ticks-after-restart"
if wait_for 20 grep -q ' job.created after ' "$T/events.out"; then ok "events-after-restart"; else
	nok "events-after-restart"; sed 's/^/#   /' "$T/events.out" "$T/events.err"; fi
kill -INT $pl $pv
wait $pl; rl=$?
wait $pv; rv=$?
check "log-f-exit-0" test "$rl" -eq 0
check "events-exit-0" test "$rv" -eq 0
$J stop tick >/dev/null
$J log tick >"$T/log.all"
if [ -s "$T/logf.out" ] && head -n "$(wc -l <"$T/logf.out")" "$T/log.all" | cmp -s - "$T/logf.out"; then
	ok "log-f-across-restart-is-the-log"; else nok "log-f-across-restart-is-the-log"
	diff "$T/logf.out" "$T/log.all" | head -10 | sed 's/^/#   /'; fi
check "log-f-said-reconnect" grep -q "connected again" "$T/logf.err"
check "events-each-once" sh -c "test \$(grep -c ' job.created before ' '$T/events.out') -eq 1 &&
	test \$(grep -c ' job.created after ' '$T/events.out') -eq 1 && ! grep -q '^dropped' '$T/events.out'"
seqs_rise() { awk 'NR > 1 && $1 <= prev { exit 1 } { prev = $1 }' "$T/events.out"; }
check "events-seq-rises-across-restart" seqs_rise

# A slow reader loses the oldest events, told how many, and holds no memory
# for them: 5000 events while it does not read; the ring keeps 4096.
"$P" "$A" stream events "$T/go" 2 >"$T/slow.out" 2>&1 &
ps=$!
wait_for 10 grep -q '^open' "$T/slow.out" || nok "slow-open"
i=0
while [ $i -lt 5 ]; do
	v=$(awk 'BEGIN { for (k = 0; k < 1000; k++) printf "set timeout %ds\n", k % 50 + 1 }')
	$J write jobs/le/ctl "$v" >/dev/null || nok "slow-writes"
	i=$((i + 1))
done
touch "$T/go"
wait "$ps"
expect "slow-reader-dropped" "dropped 904" sed -n 2p "$T/slow.out"
if sed -n 3p "$T/slow.out" | grep -q ' job.changed le what=timeout$'; then ok "slow-reader-goes-on"; else
	nok "slow-reader-goes-on"; head -5 "$T/slow.out" | sed 's/^/#   /'; fi
jobd_stop

# Waiting reads do not count against -maxreqs: one kernel mount carries every
# process's reads, and 10 waiting must not stop the 11th request.
jobd_start -maxreqs 4
expect "waiting-reads-not-maxreqs" "parked 10" "$P" "$JOBD_ADDR" parkmany events 10
# At most one per fid the connection may hold (-maxfids).
jobd_stop
finish
