# bench/phases_io.sh: the write path's phases of `make bench`, sourced by
# bench/run.sh (its helpers: start_jobd, stop_jobd, fig, say, hdr, ratio).
#
#   output   another client's /stats round trips while 4 jobs each print
#            1M empty lines (goal: p99 under 20 ms), against the same client
#            on an idle jobd in the same run
#   runs     `jobctl runs` of a job with 10,000 runs kept (goal: under 1 s)

phase_output() {
	local lines=1000000 secs=${OUTPUT_SECS:-8} t0 t1
	[ -n "$QUICK" ] && lines=200000 secs=3
	hdr "output: /stats walk+open+read+clunk on one connection, idle, then while 4 jobs each print $lines empty lines"
	db=$T/output.db
	start_jobd "$db" -max_output 268435456 -keep_bytes 1073741824 || return
	J="$T/bin/jobctl -a unix!$JSOCK"
	for i in 1 2 3 4; do
		$J new "flood$i" '0 0 1 1 * 2099' "yes '' | head -n $lines" >/dev/null ||
			{ say "# n/a: cannot create the jobs"; stop_jobd; return; }
	done
	idle=$("$BB/p9load" rt -a "$JTCP" -path stats -c 1 -d 2 -warm 0.2 2>&1)
	t0=$(date +%s%N)
	for i in 1 2 3 4; do $J run "flood$i" >/dev/null; done
	busy=$("$BB/p9load" rt -a "$JTCP" -path stats -c 1 -d "$secs" -warm 0 -pid "$JPID" 2>&1)
	# How long the four runs took to be stored whole.
	i=0
	while [ $i -lt 600 ]; do
		n=0
		for k in 1 2 3 4; do
			$J read "jobs/flood$k/runs/1/status" 2>/dev/null | grep -q 'state=done' && n=$((n + 1))
		done
		[ $n -eq 4 ] && break
		sleep 0.2; i=$((i + 1))
	done
	t1=$(date +%s%N)
	kept=0
	for k in 1 2 3 4; do
		c=$($J read "jobs/flood$k/runs/1/output" | wc -l)
		kept=$((kept + c))
	done
	fig output.stats.p50.idle "$(kv p50_us "$idle")" us
	fig output.stats.p99.idle "$(kv p99_us "$idle")" us
	fig output.stats.p50.flood "$(kv p50_us "$busy")" us "ratio=$(ratio "$(kv p50_us "$busy")" "$(kv p50_us "$idle")") vs idle"
	fig output.stats.p99.flood "$(kv p99_us "$busy")" us "ratio=$(ratio "$(kv p99_us "$busy")" 20000) vs the 20 ms goal"
	fig output.lines.kept "$kept" lines "of $((4 * lines)) printed"
	fig output.store.secs "$(calc "($t1 - $t0) / 1e9")" s "4 x $lines lines rendered and stored"
	stop_jobd
}

phase_runs() {
	local n=10000 t0 t1
	hdr "runs: jobctl runs of a job with $n runs kept"
	db=$T/runs.db
	start_jobd "$db" -keep_runs 20000 || return
	J="$T/bin/jobctl -a unix!$JSOCK"
	$J new many '0 0 1 1 * 2099' true >/dev/null || { say "# n/a: cannot create the job"; stop_jobd; return; }
	stop_jobd
	# The runs are made in the database directly: spawning 10,000 processes
	# is another phase's figure.
	sqlite3 "$db/jobd.sqlite" "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $n)
		INSERT INTO runs(job_id, sched, state, start_ns, end_ns, pid, status, manual, seq)
		SELECT (SELECT id FROM jobs WHERE name = 'many'), 0, 2, i * 1000000000, i * 1000000000 + 5000000,
		       1000 + i, i % 3, 1, i FROM c;
		UPDATE jobs SET run_seq = $n WHERE name = 'many';" ||
		{ say "# n/a: cannot make the runs (sqlite3)"; return; }
	start_jobd "$db" -keep_runs 20000 || return
	best=
	for r in 1 2 3; do
		t0=$(date +%s%N)
		got=$($J runs many | wc -l)
		t1=$(date +%s%N)
		ms=$(((t1 - t0) / 1000000))
		[ -z "$best" ] || [ "$ms" -lt "$best" ] && best=$ms
	done
	fig runs.list.10k "$best" ms "ratio=$(ratio "$best" 1000) vs the 1 s goal; $got runs listed"
	t0=$(date +%s%N)
	$J runs -n 100 many >/dev/null
	t1=$(date +%s%N)
	fig runs.list.last100 "$(((t1 - t0) / 1000000))" ms
	stop_jobd
}
