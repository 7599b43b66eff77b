#!/bin/sh
# Cluster mode (-store) under faults of the database and of the clocks: jobd
# nodes on one private PostgreSQL 15 (tests/tools/pgtmp.sh), jobs due every
# second, each run appending "INSTANT JOB [REAL-TIME]" to a file opened
# O_APPEND.
#   a. The database restarted under load (immediate stop, then start),
#      twice, under three nodes: they reconnect by themselves; a node that
#      exits (a batch in flight when the connection goes makes it exit:
#      doc/cluster.md, "Not built yet") is started again as a supervisor
#      would, and counted. No instant twice; after the database is back
#      every job runs again within 15 s; away from the outages no instant is
#      missed; nothing left claimed or running.
#   b. A node cut off from the database by its own proxy
#      (tests/tools/pgproxy), right after its claims of an instant reached
#      the database and before their answer came back, for 15 s: it starts
#      nothing once its lease is over (runs.node and start_ns against the
#      pause), the others take its claims over and run them (their rows and
#      the job's log say so) and every other instant, none twice; resumed,
#      it renews the same epoch (not fenced), stays up and runs again.
#   c. Clocks off: one node's wall clock 30 s ahead, another's 30 s behind
#      (libfaketime), beside one with the true time, then on their own: no
#      instant twice, none early (each run writes the real time, read with
#      the fake clock unloaded), none from before the jobs were made; each
#      off node logs its offset (~30 s) and it is in its row; and, alone,
#      they still run every instant on time (the database's clock decides).
# Throughout: no node's batch refused by the database, every node exits 0.
# The PostgreSQL binaries come from scripts/deps.sh (postgresql-15), and
# libfaketime from faketime: their absence is a failure, not a skip.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/clusterlib.sh"
PROXY=$BUILD/tools/pgproxy
# JOBD_KEEP_LOGS=DIR: the logs and files are copied there at the end.
cluster_server faults '*.log*' 'marks.*'

# ---- nodes, and a supervisor ----
# node_start NAME (clusterlib.sh): $T/NAME.ci and $T/NAME.env say on which
# database and in which environment, when the node is not to be like the
# others.
# shellcheck disable=SC2034 # read by node_start (clusterlib.sh)
NODE_FLAGS="-keep_runs 1000"
# The nodes a supervisor looks after; supervise starts again each that is
# gone, counting it in RESTARTS (and $T/restarts: "NAME STATUS WHY"). An
# exit other than the documented one (status 1, "exiting: what jobd holds
# is ahead of what is stored", for a batch lost with the connection) is a
# crash: counted in CRASHES.
SUPERVISED=
LOSERS=
RESTARTS=0 CRASHES=0
: >"$T/restarts"
supervise() {
	for sv in $SUPERVISED; do
		alive "$sv" && continue
		wait "$(pid "$sv")"; sv_rc=$?
		sv_why=$(grep -E '^[EF]' "$T/$sv.log" | tail -1 | cut -c1-300)
		echo "$sv $sv_rc $sv_why" >>"$T/restarts"
		echo "# node $sv exited with status $sv_rc: ${sv_why:-(nothing logged)}"
		RESTARTS=$((RESTARTS + 1))
		# A batch lost with the connection, not refused by the server
		# (an "ERROR:" of PostgreSQL's, a deadlock say, is a bug).
		if [ "$sv_rc" != 1 ] || ! grep "exiting: what jobd holds is ahead" "$T/$sv.log" | grep -qv "ERROR:"; then
			CRASHES=$((CRASHES + 1))
		fi
		node_start "$sv" || node_start "$sv" || echo "# node $sv did not start again"
	done
}
# sv_wait SECONDS CMD...: wait_for, supervising meanwhile.
sv_wait() {
	sv_end=$(( $(date +%s) + $1 )); shift
	while ! "$@" >/dev/null 2>&1; do
		supervise
		[ "$(date +%s)" -lt "$sv_end" ] || return 1
		sleep 0.1
	done
}
# sv_sleep SECONDS: a window in which something is to happen (or not).
sv_sleep() {
	sv_end=$(( $(date +%s) + $1 ))
	while [ "$(date +%s)" -lt "$sv_end" ]; do supervise; sleep 0.2; done
}

# mkjobs NODE PREFIX N FILE [CMD]: N jobs PREFIX01.. every second, each run
# appending "$JOBD_SCHEDULED $JOBD_JOB" (or CMD) to FILE, overlap allowed
# (a run still starting when the next second is claimed on the same node
# would be skipped under the default policy: here every instant must run),
# and started. Sets JOBS.
mkjobs() {
	JOBS=
	mk_i=1
	# shellcheck disable=SC2016 # expanded by the run's shell
	mk_cmd=${5:-'echo "$JOBD_SCHEDULED $JOBD_JOB"'}
	while [ $mk_i -le "$3" ]; do
		mk_j=$(printf '%s%02d' "$2" $mk_i)
		JOBS="$JOBS $mk_j"
		printf '%s:* * * * * * *:%s >>%s\n' "$mk_j" "$mk_cmd" "$4" | on "$1" write clone || return 1
		on "$1" write "jobs/$mk_j/overlap" allow || return 1
		mk_i=$((mk_i + 1))
	done
	# shellcheck disable=SC2086
	on "$1" start $JOBS
}
# each_ran_since FILE T JOBS...: every job has a line in FILE for an
# instant at or after T.
each_ran_since() {
	er_f=$1 er_t=$2; shift 2
	[ -f "$er_f" ] || return 1
	er_n=$(awk -v t="$er_t" '$1 >= t { print $2 }' "$er_f" | sort -u | wc -l)
	[ "$er_n" -ge $# ]
}
# dups FILE: (instant, job) pairs written more than once (the first 5).
dups() { awk '{ print $1, $2 }' "$1" | sort | uniq -d | head -5; }
# gaps FILE STOP [FROM TO]...: "JOB INSTANT" for every instant, from the
# job's first line to STOP - 1, missing from FILE, leaving out the windows
# [FROM, TO] given, and the runs recorded lost (state 5) by the nodes in
# $LOSERS (a node that died, or was cut off, while they ran).
gaps() {
	gp_f=$1 gp_stop=$2; shift 2
	q "SELECT j.name, r.sched FROM runs r JOIN jobs j ON j.id = r.job_id
	   WHERE r.state = 5 AND r.node = ANY(string_to_array('$(echo $LOSERS)', ' '))" >"$T/lost"
	awk -v stop="$gp_stop" -v win="$*" '
		BEGIN { nw = split(win, w, " ") }
		FILENAME ~ /lost$/ { lost[$1 " " $2] = 1; next }
		{ seen[$2 " " $1] = 1; if (!($2 in lo) || $1 < lo[$2]) lo[$2] = $1 }
		END {
			for (j in lo) for (s = lo[j]; s < stop; s++) {
				out = 0
				for (i = 1; i < nw; i += 2) if (s >= w[i] && s <= w[i + 1]) out = 1
				if (!out && !((j " " s) in seen) && !((j " " s) in lost)) print j, s
			}
		}' "$T/lost" "$gp_f" | sort
}

# Node p reaches the database only through its own proxy.
if [ -x "$PROXY" ]; then ok "pgproxy-built"; else nok "pgproxy-built (no $PROXY: make unit)"; finish; fi
mkdir -p "$T/px"
"$PROXY" "$T/px/.s.PGSQL.5432" "$D/.s.PGSQL.5432" "INSERT INTO fires" 2>"$T/proxy.log" &
echo $! >"$T/proxy.pid"
check "pgproxy-listens" wait_for 10 grep -q "listening on" "$T/proxy.log"
echo "host=$T/px port=5432 dbname=postgres user=postgres" >"$T/p.ci"
nodes_start a b p
SUPERVISED="a b p"

# ==== a. the database restarted under load ====
check "a-10-jobs-started" mkjobs a fa 10 "$T/marks.a"
FA=$JOBS
# shellcheck disable=SC2086
check "a-runs-happen" wait_for 15 each_ran_since "$T/marks.a" 0 $FA
WINDOWS=
r=1
while [ $r -le 2 ]; do
	sv_sleep 5
	down=$(date +%s)
	if sh "$PG" restart "$D" >/dev/null 2>"$T/pg.err"; then ok "a-db-restart-$r"; else
		nok "a-db-restart-$r"; sed 's/^/#   /' "$T/pg.err" | tail -5; finish
	fi
	back=$(date +%s)
	# shellcheck disable=SC2086
	check "a-db-restart-$r-every-job-runs-again-within-15s" sv_wait 15 each_ran_since "$T/marks.a" "$back" $FA
	echo "# database restart $r: down at $down, back at $back; every job ran again $(( $(date +%s) - back )) s after"
	WINDOWS="$WINDOWS $down $((back + 15))"
	# Every node holds its lease again before the next restart.
	leases() { [ "$(q "SELECT count(*) FROM nodes WHERE lease_until > now()")" = 3 ]; }
	check "a-db-restart-$r-leases-renewed" sv_wait 20 leases
	r=$((r + 1))
done
sv_sleep 5
STOP=$(date +%s)
# shellcheck disable=SC2086
check "a-jobs-stopped" on b stop $FA
# A run whose end was in a batch lost with the connection, or that ended
# while the database was away, is recorded when the database is back: no
# claim or run stays open.
if sv_wait 30 settled fa; then ok "a-runs-settle"; else
	nok "a-runs-settle"; stuck fa | sed 's/^/#   /'
fi
LOSERS=$(awk '{ print $1 }' "$T/restarts" | sort -u)
expect "a-no-instant-twice" "" dups "$T/marks.a"
# Away from the outages (from the restart to 15 s after the database is
# back), every instant ran.
# shellcheck disable=SC2086
expect "a-no-instant-missed-away-from-the-restarts" "" gaps "$T/marks.a" "$STOP" $WINDOWS
echo "# missed during the restarts: $(gaps "$T/marks.a" "$STOP" | wc -l) (job, instant) pairs"
echo "# nodes started again by the supervisor: $RESTARTS$(awk '{ printf "%s%s (status %s)", NR == 1 ? ": " : ", ", $1, $2 }' "$T/restarts")"
expect "a-node-exits-only-as-documented" "0" echo "$CRASHES"

# ==== b. a node cut off from the database by its proxy ====
check "b-10-jobs-started" mkjobs a fb 10 "$T/marks.b"
FB=$JOBS
# p takes its share: a run of its own, done.
p_ran_since() { [ "$(q "SELECT count(*) FROM runs r JOIN jobs j ON j.id = r.job_id WHERE j.name LIKE 'fb%' AND r.node = 'p' AND r.state = 2 AND r.start_ns > ${1}000000000")" -gt 0 ]; }
check "b-cut-node-runs-before" sv_wait 20 p_ran_since 0
EPOCH=$(q "SELECT epoch FROM nodes WHERE name = 'p'")
RESTARTS0=$RESTARTS
# The cut comes right after p's claims of an instant reach the database,
# before their answer reaches p: claims the others must take over. So that
# the instant's claims are p's, a and b are stopped (SIGSTOP, far less than
# a lease) until the proxy has paused.
kill -STOP "$(pid a)" "$(pid b)"
kill -USR2 "$(pid proxy)"
check "b-proxy-paused-after-a-claim" wait_for 5 grep -q "paused after" "$T/proxy.log"
kill -CONT "$(pid a)" "$(pid b)"
PAUSE=$(date +%s)
p_claims() { q "SELECT j.name, f.sched FROM fires f JOIN jobs j ON j.id = f.job_id WHERE f.node = 'p' AND f.state = 'claimed'" >"$T/p-claims" && test -s "$T/p-claims"; }
check "b-cut-node-holds-claims" wait_for 5 p_claims
# The lease (10 s) ends in the database; the others reap it (2 s).
lease_over() { [ "$(q "SELECT lease_until < now() FROM nodes WHERE name = 'p'")" = t ]; }
check "b-cut-node-lease-ends" sv_wait 15 lease_over
LEASE_END=$(q "SELECT extract(epoch from lease_until)::bigint FROM nodes WHERE name = 'p'")
# 15 s cut off in all: meanwhile the others run every instant.
sv_sleep $((PAUSE + 15 - $(date +%s)))
expect "b-cut-node-claims-taken-over" "0" q "SELECT count(*) FROM fires WHERE node = 'p' AND state = 'claimed'"
RESUME=$(date +%s)
kill -USR1 "$(pid proxy)"
check "b-proxy-resumed" wait_for 5 grep -q "resumed" "$T/proxy.log"
echo "# proxy paused at $PAUSE with $(wc -l <"$T/p-claims") claims of p's in the database, p's lease ended at $LEASE_END by the database, resumed at $RESUME"
# Back: the same epoch renewed (not fenced), and p runs again.
renewed() { [ "$(q "SELECT epoch, lease_until > now() FROM nodes WHERE name = 'p'")" = "$EPOCH t" ]; }
check "b-cut-node-renews-same-epoch" sv_wait 20 renewed
check "b-cut-node-runs-again" sv_wait 30 p_ran_since "$RESUME"
expect "b-cut-node-stays-up" "$RESTARTS0" echo "$RESTARTS"
sv_sleep 3
STOP=$(date +%s)
# shellcheck disable=SC2086
check "b-jobs-stopped" on a stop $FB
check "b-runs-settle" sv_wait 30 settled fb
expect "b-no-claim-or-run-left-open" "" stuck fb
LOSERS=p
expect "b-no-instant-twice" "" dups "$T/marks.b"
# Nothing started by p from its lease's end (by the database) to the resume
# (a run's start_ns is p's clock, which is the database's host's here): no
# run of p's running, done or interrupted (1, 2, 3) that started then.
started_by_p() { q "SELECT count(*) FROM runs r JOIN jobs j ON j.id = r.job_id WHERE j.name LIKE 'fb%' AND r.node = 'p' AND r.state IN (1, 2, 3) AND r.start_ns >= ${1}000000000 AND r.start_ns < ${2}000000000"; }
late() { started_by_p "$LEASE_END" "$RESUME"; }
expect "b-cut-node-started-nothing-after-its-lease" "0" late
# Nor from a second into the pause (a start needs the database's word,
# which cannot come through): what p ran then was started before.
cutoff() { started_by_p $((PAUSE + 1)) "$RESUME"; }
expect "b-cut-node-started-nothing-while-cut-off" "0" cutoff
# Every instant ran, once, or was lost by p (a run going when it was cut
# off, whose end could not be recorded: the file has it anyway).
expect "b-no-instant-missed" "" gaps "$T/marks.b" "$STOP"
# p's claims at the cut were run by the others, after p's lease ended, and
# their rows say so (p, back, must not write over them): for each, "NODE
# STATE WHEN" of its runs.
taken() {
	while read -r tj ts; do
		q "SELECT r.node || ' ' || r.state || ' ' || CASE WHEN r.start_ns >= ${LEASE_END}000000000
		   THEN 'after-the-lease' ELSE 'before' END FROM runs r JOIN jobs j ON j.id = r.job_id
		   WHERE j.name = '$tj' AND r.sched = $ts"
	done <"$T/p-claims"
}
taken >"$T/taken"
# The job's log says so too (the node that took the claim over).
TJ=$(head -1 "$T/p-claims" | cut -d' ' -f1)
said_taken() { on a log "$TJ" | grep -q "taken over from a node that stopped"; }
check "b-cut-node-claims-taken-over-in-the-log" said_taken
# Run by the others and ended (when, against p's lease, is the check on p
# above: p started nothing after it; the lease's end as read here can move
# with a renewal p makes when it is back).
not_taken() { grep -v -E '^(a|b) 2 ' "$T/taken" | head -5; }
expect "b-cut-node-claims-run-by-the-others" "" not_taken
expect "b-cut-node-claims-one-run-each" "$(wc -l <"$T/p-claims")" sh -c "wc -l <'$T/taken'"
echo "# p's claims at the cut: $(wc -l <"$T/p-claims"), their rows: $(awk '{ print $1 " " $2 }' "$T/taken" | sort | uniq -c | awk '{ printf "%s%s state %s x%d", (NR > 1 ? ", " : ""), $2, $3, $1 }')"

# ==== c. clocks 30 s ahead and behind ====
for nd in b p; do
	SUPERVISED=$(echo "$SUPERVISED" | sed "s/ *$nd//")
	check "c-node-$nd-exits-0" node_stop $nd
done
LIB=$(dpkg -L libfaketime 2>/dev/null | grep '/libfaketime.so.1$' | head -1)
[ -n "$LIB" ] || { nok "libfaketime-installed (apt-get install faketime)"; finish; }
ASAN_EXTRA=
[ -n "${JOBD_SANITIZED:-}" ] && ASAN_EXTRA="ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0"
# FAKETIME offsets the wall clock only (the monotonic and boot-time clocks
# stay real, as on a machine whose clock is set wrong).
printf '%s\n' "LD_PRELOAD=$LIB" FAKETIME=+30s FAKETIME_DONT_FAKE_MONOTONIC=1 $ASAN_EXTRA >"$T/ahead.env"
printf '%s\n' "LD_PRELOAD=$LIB" FAKETIME=-30s FAKETIME_DONT_FAKE_MONOTONIC=1 $ASAN_EXTRA >"$T/behind.env"
for nd in ahead behind; do
	if node_start $nd; then ok "c-node-$nd-starts"; else nok "c-node-$nd-starts"; finish; fi
done
SUPERVISED="a ahead behind"
# shellcheck disable=SC2046
check "c-faketime-works" test "$(( $(env $(cat "$T/ahead.env") date +%s) - $(date +%s) ))" -ge 29
CSTART=$(date +%s)
# The real time, with the fake clock unloaded (a run inherits jobd's
# environment, LD_PRELOAD and FAKETIME included).
# shellcheck disable=SC2016
check "c-10-jobs-started" mkjobs a fc 10 "$T/marks.c" \
	'echo "$JOBD_SCHEDULED $JOBD_JOB $(env -u LD_PRELOAD -u FAKETIME date +%s.%N)"'
FC=$JOBS
# shellcheck disable=SC2086
check "c-runs-happen" wait_for 15 each_ran_since "$T/marks.c" 0 $FC
# Each off node says how far off it is (node.c's warning at a renewal).
offset_logged() { grep -Eq "wall clock is (29|30|31)\.[0-9]* s $2 the database's" "$T/$1.log"; }
check "c-ahead-node-logs-its-offset" wait_for 10 offset_logged ahead "ahead of"
check "c-behind-node-logs-its-offset" wait_for 10 offset_logged behind "behind"
grep -h "wall clock is" "$T/ahead.log" "$T/behind.log" | head -2 | sed 's/^/#   /'
# ... and writes it into its row (database - local, ms) at the renewal after.
offsets() { [ "$(q "SELECT string_agg(name || ' ' || round(clock_offset_ms / 1000.0), ',' ORDER BY name) FROM nodes WHERE name IN ('ahead', 'behind')")" = "ahead -30,behind 30" ]; }
check "c-offsets-recorded" wait_for 10 offsets
# With the true clock beside them, then the two off clocks on their own.
sv_sleep 15
SUPERVISED="ahead behind"
check "c-node-a-exits-0" node_stop a
ALONE=$(date +%s)
sv_sleep 40
STOP=$(date +%s)
# shellcheck disable=SC2086
check "c-jobs-stopped" on behind stop $FC
check "c-runs-settle" sv_wait 30 settled fc
expect "c-no-claim-or-run-left-open" "" stuck fc
expect "c-no-instant-twice" "" dups "$T/marks.c"
# Early: the real time the run wrote is before its instant.
early() { awk '$3 < $1 { print }' "$T/marks.c" | head -5; }
expect "c-no-instant-early" "" early
# Nor any instant from before the jobs were made (a clock behind must not
# take the instants its own clock is at for due ones).
before_start() { awk -v t="$CSTART" '$1 < t' "$T/marks.c" | head -5; }
expect "c-no-instant-from-before-the-jobs-started" "" before_start
echo "# by node: $(q "SELECT string_agg(node || ' ' || n, ', ' ORDER BY node) FROM (SELECT r.node, count(*) n FROM runs r JOIN jobs j ON j.id = r.job_id WHERE j.name LIKE 'fc%' AND r.state = 2 GROUP BY r.node) x")"
# lateness FROM TO: the runs of instants in [FROM, TO): how many, and how
# late they started (the real time they wrote, less their instant).
lateness() { awk -v from="$1" -v to="$2" '$1 >= from && $1 < to { d = $3 - $1; n++; s += d; if (d > m) m = d }
	END { printf "%d runs, started late by %.3f s on average, %.3f s at most", n, n ? s / n : 0, m }' "$T/marks.c"; }
echo "# beside a true clock: $(lateness 0 "$ALONE")"
echo "# the off clocks alone: $(lateness "$ALONE" "$STOP")"
# Alone, the off clocks run each instant on time all the same: a node
# schedules by its clock corrected with the offset its lease measures, and
# due-ness is the database's now() (doc/cluster.md, "Claiming").
on_time() { awk -v from=$((ALONE + 2)) -v to=$((STOP - 2)) '$1 >= from && $1 < to && $3 - $1 < 5 { n++ } END { print n + 0 }' "$T/marks.c"; }
expect "c-off-clocks-alone-run-every-instant-on-time" "$((10 * (STOP - ALONE - 4)))" on_time
expect "c-node-exits-only-as-documented" "0" echo "$CRASHES"

# No batch of a node's was refused by the database.
expect "no-batch-refused-by-the-database" "" refused
for nd in ahead behind; do
	check "node-$nd-exits-0" node_stop $nd
done
proxy_stop() { kill -TERM "$(pid proxy)" && wait_for 10 gone "$(pid proxy)" && wait "$(pid proxy)"; }
check "pgproxy-exits-0" proxy_stop
finish
