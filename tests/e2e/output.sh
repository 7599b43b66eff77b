#!/bin/sh
# Output that cannot stall the loop, and reads that cost a page (README,
# "Output and logs"): a run's lines are stored in chunks, once per loop turn;
# log and runs/N/output are read from the store by position, so an open
# costs no copy of the history; the per-run cap counts what is stored.
. "$(dirname "$0")/lib.sh"
J=$JOBCTL
P=$BUILD/tools/p9probe
never='0 0 1 1 * 2099'
state() { "$J" read "jobs/$1/runs/$2/status" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$3=//p"; }
ended() { [ "$(state "$1" "$2" state)" = done ]; }
rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$JOBD_PID/status"; }

# ---- a flood of short lines: every line kept, in order, and others served ----
jobd_start -max_output 134217728 -keep_bytes 1073741824
N=1000000
check "flood-created" "$J" new flood "$never" "yes '' | head -n $N; echo last"
check "flood-run" "$J" run flood
# While it prints, another client is answered: /stats read after read. The
# bound is generous (a loaded machine); the figure is `make bench`'s.
stats_reads() {
	i=0
	while [ $i -lt 50 ]; do "$J" read stats >/dev/null || return 1; i=$((i + 1)); done
}
start=$(date +%s)
check "stats-served-during-flood" stats_reads
took=$(($(date +%s) - start))
if [ "$took" -le 30 ]; then ok "stats-reads-not-stalled (${took}s for 50)"; else nok "stats-reads-not-stalled (${took}s for 50)"; fi
check "flood-ended" wait_for 120 ended flood 1
"$J" read jobs/flood/runs/1/output >"$T/out"
expect "flood-every-line-kept" "$((N + 1))" sh -c "wc -l <'$T/out' | tr -d ' '"
expect "flood-lines-in-order-and-whole" "ok" sh -c "awk -F: 'NR<=$N && \$NF!=\"\" {bad=1} NR==$((N + 1)) && \$NF!=\"last\" {bad=1} END {print bad ? \"bad\" : \"ok\"}' '$T/out'"
# The run's size is what was stored: the rendered lines.
expect "flood-out-bytes-is-stored-size" "$(wc -c <"$T/out" | tr -d ' ')" state flood 1 output_bytes
# The log: the output, and "run 1 started" and "run 1 ended" around it.
expect "flood-log-has-the-output" "$((N + 3))" sh -c "'$J' read jobs/flood/log | wc -l | tr -d ' '"

# ---- group commit (daemon/turn.c): a line every few ms, nobody waiting ----
# Each line comes in a turn of its own, and each such turn was a commit. As
# nobody waits for them, the turns share commits: at most one per 10 ms
# after the run's acknowledged start (and the last, by the timer).
stat() { "$J" read stats | sed -n "s/^$1 //p"; }
check "trickle-created" "$J" new trickle "$never" 'i=0; while [ $i -lt 300 ]; do echo $i; sleep 0.002; i=$((i + 1)); done'
c0=$(stat store_commits) p0=$(stat store_commits_paced) t0=$(date +%s%N)
check "trickle-run" "$J" run trickle
check "trickle-ended" wait_for 60 ended trickle 1
c1=$(stat store_commits) p1=$(stat store_commits_paced) t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
check "trickle-turns-share-commits" test "$((p1 - p0))" -gt 0
if [ $((c1 - c0)) -le $((ms / 10 + 5)) ]; then ok "trickle-commits-paced ($((c1 - c0)) commits in $ms ms)"
else nok "trickle-commits-paced ($((c1 - c0)) commits in $ms ms: more than one per 10 ms)"; fi
expect "trickle-every-line-kept" "300" sh -c "'$J' read jobs/trickle/runs/1/output | wc -l | tr -d ' '"

# ---- reading costs a page: 200 opens of a ~40 MB log ----
idle=$(rss_kb)
"$P" "unix!$JOBD_SOCK" opens jobs/flood/log 200 "$T/go" >"$T/opens" 2>&1 &
opens=$!
check "opens-200" wait_for 60 grep -q '^opened 200' "$T/opens"
held=$(rss_kb)
grow=$(((held - idle) / 1024))
if [ "$grow" -le 50 ]; then ok "opens-200-rss-within-50MB (grew ${grow} MB)"; else nok "opens-200-rss-within-50MB (grew ${grow} MB)"; fi
touch "$T/go"
wait "$opens"
size=$("$J" read jobs/flood/log | wc -c | tr -d ' ')
expect "opens-each-read-whole-log" "read $size bytes per open" sed -n 2p "$T/opens"
jobd_stop

# ---- the cap counts the stored (rendered) bytes ----
jobd_start -max_output 100000
check "cap-created" "$J" new capped "$never" "yes x | head -n 10000"
check "cap-run" "$J" run capped
check "cap-ended" wait_for 60 ended capped 1
bytes=$(state capped 1 output_bytes)
# Within the cap, the truncation line included, and close to it.
if [ "$bytes" -le 100000 ] && [ "$bytes" -ge 99000 ]; then ok "cap-stored-bytes ($bytes)"; else nok "cap-stored-bytes ($bytes)"; fi
expect "cap-read-is-stored-size" "$bytes" sh -c "'$J' read jobs/capped/runs/1/output | wc -c | tr -d ' '"
check "cap-says-truncated" sh -c "'$J' read jobs/capped/runs/1/output | tail -1 | grep -q 'output truncated: .* bytes dropped'"
# Whole lines only: no line cut in the middle.
expect "cap-whole-lines" "0" sh -c "'$J' read jobs/capped/runs/1/output | awk '!/:x\$/ && !/output truncated/ { n++ } END { print n + 0 }'"
jobd_stop
finish
