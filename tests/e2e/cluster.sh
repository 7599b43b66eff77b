#!/bin/sh
# Cluster mode (-store): three jobd nodes on one private PostgreSQL 15
# (tests/tools/pgtmp.sh, unix socket only), driven through jobctl.
#   - every node serves the whole name space: what is made or changed
#     through one reads back through the others; a run's status says
#     which node ran it;
#   - a job due every second runs each instant exactly once across the
#     nodes (each run appends its instant to a file opened O_APPEND);
#   - overlap=skip holds across the nodes: a slow job's runs never overlap;
#   - a node killed outright: the other nodes go on, no instant twice, and
#     the run it had going is recorded lost within the lease (10 s) plus a
#     reap (2 s); restarted, it registers again with the next epoch;
#   - a node stopped (SIGSTOP) past its lease and continued starts nothing
#     it no longer owns;
#   - SIGTERM: each node exits 0.
# The PostgreSQL binaries come from scripts/deps.sh (postgresql-15): their
# absence is a failure, not a skip.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/clusterlib.sh"
cluster_server cluster '*.log.*'

nodes_start a b c
expect "schema-at-version" "9" q "SELECT version FROM jobd_schema"
expect "nodes-registered" "a 1,b 1,c 1" q "SELECT string_agg(name || ' ' || epoch, ',' ORDER BY name) FROM nodes"

# ---- one name space ----
printf 'tick:* * * * * * *:echo $JOBD_SCHEDULED >>%s/marks\n' "$T" | on a write clone
# has NODE FILE PATTERN: the file of job reads back through NODE with a line
# matching PATTERN.
has() { on "$1" read "$2" 2>/dev/null | grep -Eq "$3"; }
check "created-on-a-seen-on-b" wait_for 5 has b jobs/tick/cmd marks
check "created-on-a-seen-on-c" wait_for 5 has c jobs/tick/cmd marks
on b write jobs/tick/timeout 30s
check "setting-on-b-seen-on-a" wait_for 5 has a jobs/tick/timeout '^30s$'
mkjob() { echo "$2" | on "$1" write clone; }
check_fails_with "same-name-refused-elsewhere" "exists" mkjob c 'tick:* * * * *:true'


# ---- every second, exactly once across the nodes ----
# lines FILE N: FILE has at least N lines.
lines() { [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]; }
on c write jobs/tick/ctl start
check "runs-happen" wait_for 15 lines "$T/marks" 6
on a write jobs/tick/ctl stop
# The stop is acknowledged once the database has it, and from then on no
# node claims an instant of the job, whether or not it has heard of the stop
# yet (the claim reads the job's state in the database): no run of an
# instant after the second in which the stop was acknowledged.
STOPPED_AT=$(date +%s)
# Stopped: what was claimed before the stop has started or been told not to.
sleep 1
expect "nothing-claimed-after-the-stop" "0" q "SELECT count(*) FROM runs r JOIN jobs j ON j.id = r.job_id
	WHERE j.name = 'tick' AND r.sched > $STOPPED_AT"
dups() { sort "$T/marks" | uniq -d | wc -l; }
expect "no-instant-twice" "0" dups
# Every instant between the first run and the stop ran (the first second
# may have gone before the start reached a node).
gaps() { sort -n "$T/marks" | awk 'NR > 1 && $1 != p + 1 { g++ } { p = $1 } END { print g + 0 }'; }
expect "no-instant-missed" "0" gaps
# Each run says which node ran it (any node claims any fire: no leader).
expect "runs-say-their-node" "0" q "SELECT count(*) FROM runs WHERE node NOT IN ('a', 'b', 'c')"
listed() { [ "$(on b runs tick | wc -l)" -ge 6 ]; }
check "runs-listed-everywhere" wait_for 5 listed
# A run's status says which node ran it, through any node.
ran_by() { q "SELECT r.node FROM runs r JOIN jobs j ON j.id = r.job_id WHERE j.name = 'tick' AND r.seq = 2"; }
status_node() { on c read jobs/tick/runs/2/status | sed -n 's/.* node=\([a-z]*\).*/\1/p'; }
expect "run-status-says-its-node" "$(ran_by)" status_node

# ---- overlap=skip across the nodes: never two runs of a job at once ----
printf 'slow:* * * * * * *:sleep 2.5\n' | on a write clone
check "slow-reaches-b" wait_for 5 has b jobs/slow/cmd sleep
on b write jobs/slow/ctl start
ended_runs() { [ "$(q "SELECT count(*) FROM runs r JOIN jobs j ON j.id = r.job_id WHERE j.name = 'slow' AND r.state = 2")" -ge 3 ]; }
check "slow-runs" wait_for 20 ended_runs
on c write jobs/slow/ctl stop
overlaps() { q "SELECT count(*) FROM runs a JOIN runs b ON a.job_id = b.job_id AND a.id < b.id JOIN jobs j ON j.id = a.job_id WHERE j.name = 'slow' AND a.state = 2 AND b.state = 2 AND a.start_ns < b.end_ns AND b.start_ns < a.end_ns"; }
expect "skip-no-overlap-across-nodes" "0" overlaps
skipped() { [ "$(q "SELECT count(*) FROM runs r JOIN jobs j ON j.id = r.job_id WHERE j.name = 'slow' AND r.state = 4")" -ge 2 ]; }
check "skip-skips" wait_for 5 skipped

# ---- a node killed outright ----
: >"$T/marks"
printf 'long:*/3 * * * * * *:echo $JOBD_SCHEDULED >>%s/long; sleep 5\n' "$T" | on a write clone
on a write jobs/long/overlap allow
on a write jobs/tick/ctl start
check "long-reaches-b" wait_for 5 has b jobs/long/overlap allow
on b write jobs/long/ctl start
# Wait for a run of long that is going on, and kill its node.
running_node() { q "SELECT r.node FROM runs r JOIN jobs j ON j.id = r.job_id WHERE j.name = 'long' AND r.state = 1 ORDER BY r.sched LIMIT 1"; }
long_running() { [ -n "$(running_node)" ]; }
check "long-runs" wait_for 10 long_running
V=$(running_node)
[ -n "$V" ] || V=a
LOSTSCHED=$(q "SELECT r.sched FROM runs r JOIN jobs j ON j.id = r.job_id WHERE j.name = 'long' AND r.state = 1 AND r.node = '$V' ORDER BY r.sched LIMIT 1")
kill -KILL "$(pid $V)"; wait "$(pid $V)" 2>/dev/null
killed=$(date +%s)
lost() { [ "$(q "SELECT r.state FROM runs r JOIN jobs j ON j.id = r.job_id WHERE j.name = 'long' AND r.sched = ${LOSTSCHED:-0}")" = 5 ]; }
check "killed-run-recorded-lost" wait_for 20 lost
took=$(( $(date +%s) - killed ))
check "lost-within-lease-and-reap" test "$took" -le 13
OTHER=a; [ "$V" = a ] && OTHER=b
check "lost-in-the-log" wait_for 5 has "$OTHER" jobs/long/log "lost: node $V stopped"
# The others went on meanwhile: instants after the kill ran.
after_kill() { [ "$(awk -v k="$killed" '$1 > k' "$T/marks" | wc -l)" -ge 3 ]; }
check "others-go-on" wait_for 5 after_kill
echo "# killed node $V"
node_start "$V" || nok "killed-node-restarts"
expect "restarted-node-next-epoch" "2" q "SELECT epoch FROM nodes WHERE name = '$V'"
sleep 2
expect "no-instant-twice-across-kill" "0" dups

# ---- a node paused past its lease ----
P=c; [ "$V" = c ] && P=b
kill -STOP "$(pid $P)"
paused=$(date +%s)
# The lease (10 s) ends, the others take over: wait until the database says
# its lease is over, and a reap has had its turn.
lease_over() { [ "$(q "SELECT lease_until < now() FROM nodes WHERE name = '$P'")" = t ]; }
check "paused-lease-ends" wait_for 20 lease_over
sleep 3
kill -CONT "$(pid $P)"
sleep 3
on a write jobs/tick/ctl stop
on a write jobs/long/ctl stop
sleep 1
expect "no-instant-twice-across-pause" "0" dups
# Nothing the paused node claimed ran after its lease ended, by it.
late() { q "SELECT count(*) FROM runs r WHERE r.node = '$P' AND r.start_ns > 0 AND r.start_ns / 1000000000 > $paused AND r.start_ns / 1000000000 < $paused + 12"; }
expect "paused-node-started-nothing-while-out" "0" late

# ---- a start's claims wait for the start to be committed ----
# The database refuses claims of a job it holds stopped, so a node must not
# claim a job's instants before its own start of the job is committed. Here
# a's batch before the start is held in flight (the table of log text is
# locked, and starting zfar writes a line to it), so the start of every2
# joins the next batch, committed only after the lock goes, 6 s later.
# every2's instants due meanwhile wait on a, then are claimed: the first
# or second after its start runs (the start is acted on within a second of
# STARTED_AT), not only those after the lock went (without the wait each
# such claim is refused as a stopped job's: those instants are lost).
mkjob a 'zfar:0 0 0 1 1 ? 2099:true'
mkjob a 'every2:* * * * * * *:true'
check "every2-reaches-a" wait_for 5 has a jobs/every2/cmd true
sh "$PG" psql "$D" -c "BEGIN; LOCK TABLE chunks IN EXCLUSIVE MODE; SELECT pg_sleep(6); COMMIT" \
	>/dev/null 2>&1 &
LOCKER=$!
locked() { [ "$(q "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
	WHERE c.relname = 'chunks' AND l.mode = 'ExclusiveLock' AND l.granted")" = 1 ]; }
waiting() { [ "$(q "SELECT count(*) FROM pg_locks WHERE NOT granted")" -ge 1 ]; }
check "chunks-locked" wait_for 5 locked
on a write jobs/zfar/ctl start &
ZFAR=$!
check "a-batch-held" wait_for 5 waiting
STARTED_AT=$(date +%s)
on a write jobs/every2/ctl start &
EVERY2=$!
check "start-acknowledged-after-the-lock" wait "$EVERY2"
wait "$ZFAR"
wait "$LOCKER"
first_run() { q "SELECT coalesce(min(r.sched), 0) FROM runs r JOIN jobs j ON j.id = r.job_id
	WHERE j.name = 'every2'"; }
# The instants a waited with are claimed once the start is committed (each a
# turn of the claim's order later: 250 ms a step), after the others' first.
early_run() { f=$(first_run); [ "$f" -gt 0 ] && [ "$f" -le $((STARTED_AT + 2)) ]; }
check "first-instant-after-the-start-not-lost" wait_for 10 early_run
echo "# started at $STARTED_AT, first instant run $(first_run)"
on a write jobs/every2/ctl stop

# ---- a clean stop ----
for nd in a b c; do
	check "node-$nd-exits-0" node_stop $nd
done
finish
