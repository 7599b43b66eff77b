#!/bin/sh
# Cluster mode under chaos: three jobd nodes on one private PostgreSQL 15
# (tests/tools/pgtmp.sh), 50 jobs due every second for 3 minutes, and a
# random node killed outright (SIGKILL) every 5 to 15 s and started again
# at once (same -node, same -dbdir), until 15 s before the stop. Each run
# appends "INSTANT JOB" to one file opened O_APPEND. At the end the jobs are
# stopped, the runs settle, and the file and the database's runs and fires
# say, for every (job, instant) from the job's first run to the stop:
#   - ran once: in the file once (its row done, or lost if its node died
#     before the row said it ended);
#   - lost: not in the file, and a run recorded lost (state 5) whose node
#     died (at-most-once for the run its node died under);
#   - claimed, unstarted: not in the file, not lost, its fire claimed or
#     started by a node that died, with no run ended (allowed; counted);
#   - no node alive: no node was up at that instant (the promise holds
#     while at least one lives; only nodes dying on their own do that here);
#   - missing: none of these. None may be missing earlier than 15 s before
#     the stop (the reaper takes a dead node's claims over within lease 10 s
#     + reap 2 s; a node started again takes a new epoch at once).
# And: no (job, instant) twice in the file, nor two runs of one instant in
# the database; no claim or run left open; no node dies but those killed;
# each killed node starts again at the first try; no node's batch refused
# by the database; each node's epoch counts its starts; each exits 0 on
# SIGTERM. The summary line gives the counts.
# CHAOS_SEED=N repeats a run's choice of victims and delays (printed);
# CHAOS_SECONDS=N runs the chaos for N s instead of 180.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/clusterlib.sh"
NJOBS=50
DURATION=${CHAOS_SECONDS:-180}
NODES="a b c"
# JOBD_KEEP_LOGS=DIR: the nodes' logs, the file and the plan are copied there
# at the end (to look at a failure after the fact).
cluster_server chaos '*.log.*' marks kills plan life classes
# shellcheck disable=SC2034 # read by node_start (clusterlib.sh)
NODE_FLAGS="-keep_runs 1000"

# life_start NAME: node_start, and the time it came up in $T/life ("NAME up
# TIME": each node's life, to tell the instants at which none was up).
life_start() {
	node_start "$1" || return 1
	echo "$1 up $(date +%s.%N)" >>"$T/life"
}
# node_restart NAME: life_start until it starts (5 tries), as a supervisor
# would; each start that fails is a failure of the test (STARTFAIL).
STARTFAIL=0
node_restart() {
	nr_try=0
	while [ $nr_try -lt 5 ]; do
		life_start "$1" && return 0
		STARTFAIL=$((STARTFAIL + 1))
		nr_try=$((nr_try + 1))
	done
	return 1
}

: >"$T/life"
for nd in $NODES; do
	if life_start $nd; then ok "node-$nd-starts"; else nok "node-$nd-starts"; finish; fi
done

# ---- 50 jobs, every second, each run one line in one file ----
JOBS=
i=1
while [ $i -le $NJOBS ]; do
	JOBS="$JOBS $(printf 'c%02d' $i)"
	i=$((i + 1))
done
mkjobs() {
	for j in $JOBS; do
		# shellcheck disable=SC2016 # expanded by the run's shell
		printf '%s:* * * * * * *:echo "$JOBD_SCHEDULED $JOBD_JOB" >>%s/marks\n' "$j" "$T" |
			on a write clone || return 1
		# A run still starting (a round trip) when the next second is
		# claimed on the same node would be skipped under the default
		# policy: here every instant must run.
		on a write "jobs/$j/overlap" allow || return 1
	done
}
check "50-jobs-made" mkjobs
# shellcheck disable=SC2086
check "50-jobs-started" on a start $JOBS
lines() { [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]; }
check "runs-happen" wait_for 15 lines "$T/marks" $((NJOBS * 2))

# ---- chaos: a random node killed and started again every 5-15 s ----
SEED=${CHAOS_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "# chaos seed $SEED (CHAOS_SEED=$SEED repeats the choices)"
# The victims and delays, drawn ahead: "DELAY NODE" per line.
awk -v s="$SEED" 'BEGIN { srand(s); for (i = 0; i < 100; i++)
	printf "%d.%03d %s\n", 5 + int(rand() * 10), int(rand() * 1000), substr("abc", 1 + int(rand() * 3), 1) }' >"$T/plan"
START=$(date +%s)
END=$((START + DURATION))
: >"$T/kills"
: >"$T/crashed"
CRASHES=0
DOWN=
# crashed NAME: NAME died on its own (not killed here): a failure. Its end
# is the time of its last line (glog's "E1202 11:50:35.852181").
crashed() {
	CRASHES=$((CRASHES + 1))
	echo "# node $1 died on its own:"; tail -3 "$T/$1.log" | cut -c1-400 | sed 's/^/#   /'
	cr_t=$(tail -1 "$T/$1.log" | sed -n 's/^.\([0-9][0-9]\)\([0-9][0-9]\) \([0-9:.]*\) .*/\1-\2 \3/p')
	cr_t=$(date -d "$(date +%Y)-$cr_t" +%s.%N 2>/dev/null || date +%s.%N)
	echo "$1 down $cr_t" >>"$T/life"
	echo "$1" >>"$T/crashed"
}
while read -r delay victim; do
	# The last kill leaves 15 s of calm before the stop, in which all three
	# nodes run (the failover window: nothing of the last kill is excused).
	[ $(( $(date +%s) + ${delay%.*} + 1 )) -le $((END - 15)) ] || break
	sleep "$delay"
	# A node that died on its own is a crash: said, and started again.
	for nd in $NODES; do
		if ! alive $nd; then
			crashed $nd
			node_restart $nd || echo "# node $nd did not start again"
		fi
	done
	kill -KILL "$(pid "$victim")"
	wait "$(pid "$victim")" 2>/dev/null
	echo "$victim $(date +%s.%N)" >>"$T/kills"
	echo "$victim down $(date +%s.%N)" >>"$T/life"
	if ! node_restart "$victim"; then
		echo "# node $victim did not start again in 5 tries: the chaos stops"
		DOWN=$victim
		break
	fi
done <"$T/plan"
KILLS=$(wc -l <"$T/kills")
echo "# $KILLS kills: $(awk '{ print $1 }' "$T/kills" | sort | uniq -c | awk '{ printf "%s%s x%d", s, $2, $1; s = ", " }')"
# Until the end of the window: every node up, the jobs firing.
while [ "$(date +%s)" -lt "$END" ]; do sleep 1; done
for nd in $NODES; do
	[ "$nd" = "$DOWN" ] || alive $nd || crashed $nd
done
check "kills-happened" test "$KILLS" -ge $((DURATION / 20))
expect "no-node-died-unkilled" "0" echo "$CRASHES"
# A node killed outright starts again, at the first try (same -node, same
# -dbdir), whatever the others are doing meanwhile.
expect "every-restart-starts" "0" echo "$STARTFAIL"

# ---- the stop, and the runs settle ----
# Every instant before STOP was due before any stop was sent.
STOP=$(date +%s)
LIVE=a
for nd in $NODES; do alive $nd && LIVE=$nd; done
# shellcheck disable=SC2086
check "jobs-stopped" on $LIVE stop $JOBS
# settled and stuck take a prefix: c__ (c01..c50, the only jobs here).
check "runs-settle" wait_for 30 settled c__
# What did not (the first 5): a claim never started, a run never ended.
expect "no-claim-or-run-left-open" "" stuck c__
# What ran after the database said so is in the file too (a run writes its
# line before it ends).
sleep 1

# ---- what ran, what was lost ----
q "SELECT j.name, r.sched, r.state, r.node FROM runs r JOIN jobs j ON j.id = r.job_id
   WHERE r.sched > 0 AND j.name LIKE 'c__'" >"$T/runs.txt"
q "SELECT j.name, f.sched, f.state, f.node, coalesce(r.state, -1) FROM fires f
   JOIN jobs j ON j.id = f.job_id LEFT JOIN runs r ON r.id = f.run_id
   WHERE j.name LIKE 'c__'" >"$T/fires.txt"
dups() { awk '{ print $2, $1 }' "$T/marks" | sort | uniq -d | head -5; }
expect "no-instant-twice-in-file" "" dups
rundups() { q "SELECT j.name || ' ' || r.sched FROM runs r JOIN jobs j ON j.id = r.job_id
   WHERE r.sched > 0 AND j.name LIKE 'c__' GROUP BY j.name, r.sched HAVING count(*) > 1 LIMIT 5"; }
expect "no-instant-two-runs-in-db" "" rundups
# The nodes that died: killed here, or on their own.
awk '{ print $1 }' "$T/kills" "$T/crashed" | sort -u >"$T/died"

# classify: one line per (job, instant) from the job's first to STOP - 1,
# "CLASS JOB INSTANT", then the summary's numbers on a last line "#". An
# instant at which no node was up (each node's life: from "listening" to its
# kill, or to its last log line if it died on its own) is "no node alive":
# the promise holds while at least one node lives.
awk -v stop="$STOP" '
	FILENAME ~ /died$/ { died[$1] = 1; next }
	FILENAME ~ /life$/ { if ($2 == "up") { nl++; lnode[nl] = $1; lup[nl] = $3; ldown[nl] = 1e12; cur[$1] = nl }
		else if ($1 in cur) { ldown[cur[$1]] = $3; delete cur[$1] }; next }
	FILENAME ~ /marks$/ { k = $2 " " $1; ran[k]++; first($2, $1); next }
	FILENAME ~ /runs.txt$/ { k = $1 " " $2; first($1, $2)
		if ($3 == 5) { lostnode[k] = $4 } else if ($3 == 2) done[k] = 1; next }
	FILENAME ~ /fires.txt$/ { k = $1 " " $2
		if ($5 != 2 && $5 != 3 && $5 != 4) { fnode[k] = $4; fstate[k] = $3 }; next }
	function first(j, s) { if (!(j in lo) || s + 0 < lo[j]) lo[j] = s + 0 }
	function someone(s,   i) { for (i = 1; i <= nl; i++) if (lup[i] <= s + 0.5 && ldown[i] >= s + 0.5) return 1; return 0 }
	END {
		for (j in lo) for (s = lo[j]; s < stop; s++) {
			k = j " " s; n++
			if (ran[k] == 1) { once++; if (k in lostnode) ranlost++
				else if (!(k in done)) { nodone++; print "ran-no-done-row", k } }
			else if (ran[k] > 1) { print "twice", k; twice++ }
			else if ((k in lostnode) && (lostnode[k] in died)) lost++
			else if ((k in fnode) && (fnode[k] in died)) { print "claimed-unstarted", k, fstate[k], fnode[k]; unstarted++ }
			else if (!someone(s)) { print "no-node-alive", k; nobody++ }
			else { print ((k in lostnode) ? "lost-by-live-node " lostnode[k] : "missing"), k
				miss++; if (s < stop - 15) early++ }
		}
		printf "# %d %d %d %d %d %d %d %d %d\n", n, once, lost, unstarted, miss, early, ranlost, nodone, nobody
	}' "$T/died" "$T/life" "$T/marks" "$T/runs.txt" "$T/fires.txt" >"$T/classes"
# shellcheck disable=SC2046 # the numbers, one a word
set -- $(tail -1 "$T/classes" | cut -c3-)
echo "# summary: $1 instants, $2 ran once, $3 lost, $4 claimed-unstarted, $5 missing ($6 older than 15 s before the stop), $9 with no node alive; of those that ran, $7 recorded lost (ended while their node died), $8 with no done row; $KILLS kills, $CRASHES crashes, $STARTFAIL failed starts"
# The first few of each class but "ran once" (all in $T/classes).
grep -v '^#' "$T/classes" | sort | awk '{ c[$1]++ } c[$1] <= 5' | sed 's/^/#   /'
check "instants-checked" test "$1" -ge $((NJOBS * (DURATION - 20)))
expect "none-missing-before-failover-window" "0" echo "$6"
# A run in the file has its row done, or lost (its node died before the
# row said it ended).
expect "runs-rows-agree-with-file" "0" echo "$8"
expect "lost-only-by-nodes-that-died" "0" sh -c "grep -c '^lost-by-live-node' '$T/classes' || true"
# Each start took the next epoch: 1 + the node's kills.
epochs() {
	for nd in $NODES; do
		printf '%s %s,' $nd "$(cat "$T/$nd.starts")"
	done
}
expect "epoch-per-start" "$(epochs)" q "SELECT string_agg(name || ' ' || epoch, ',' ORDER BY name) || ',' FROM nodes"

# No batch of a node's was refused by the database.
expect "no-batch-refused-by-the-database" "" refused
for nd in $NODES; do
	[ "$nd" = "$DOWN" ] && continue
	check "node-$nd-exits-0" node_stop $nd
done
finish
