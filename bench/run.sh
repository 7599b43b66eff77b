#!/bin/sh
# bench/run.sh: jobd's benchmarks (`make bench`; `make bench QUICK=1` for a
# pass of about 90 s). Every server runs on loopback, on an ephemeral port,
# out of one temporary directory; every process started here is ended on exit.
#
# Output: one line per figure, "name value unit [ratio=R vs PEER ...]", where
# PEER is measured in the same run (these machines are noisy: ratios measured
# side by side hold, absolute times do not) or is a stated limit. Lines
# starting with '#' are commentary. The figures also go to $B/bench/results.txt.
#
# Environment: B (build directory, default build), QUICK (non-empty: short
# phases), BENCH_ONLY (space-separated phase names to run: rt create scale
# fire spawn burst output runs cron cluster; default all). The cluster phase
# needs PostgreSQL 15 (tests/tools/pgtmp.sh; package postgresql-15).
set -u
B=${B:-build}
QUICK=${QUICK:-}
BB=$B/bench
JOBD=$B/jobd
OUT=$B/bench/results.txt
ONLY=${BENCH_ONLY:-rt create scale fire spawn burst output runs cron cluster}

if [ -n "$QUICK" ]; then
	RT_SECS=1; RT_ROUNDS=1; LOG_LINES=5000; READ_SECS=1; RT_WARM=0.2
	CREATES=1000; CREATE_MAX=10
	SCALE_SIZES="10000 100000"; STARTED_JOBS=10000; IDLE_SECS=5
	FIRE_JOBS=; FIRE_SECS=3
	SPAWN_SECS=1; SPAWN_ROUNDS=1; CRON_MS=10
	BURST_SIZES="100 1000"; BURST_ROUNDS=1; BURST_ROUNDS_SMALL=1
	CL_LOADS="50 200"; CL_SECS=5; CL_LAT_SECS=5
else
	RT_SECS=3; RT_ROUNDS=3; LOG_LINES=50000; READ_SECS=5; RT_WARM=0.3
	CREATES=10000; CREATE_MAX=90
	SCALE_SIZES="10000 100000 1000000"; STARTED_JOBS=100000; IDLE_SECS=60
	FIRE_JOBS=1000; FIRE_SECS=30
	SPAWN_SECS=5; SPAWN_ROUNDS=3; CRON_MS=100
	BURST_SIZES="100 1000"; BURST_ROUNDS=3
	# A p99 of 3 bursts of 100 is about the largest of 300 (each burst's
	# last children): 10 bursts make it the tenth of 1,000 stamps.
	BURST_ROUNDS_SMALL=10
	CL_LOADS="50 200 400"; CL_SECS=15; CL_LAT_SECS=20
fi

T=$(mktemp -d /tmp/jobd-bench.XXXXXX)
# A private copy of the binaries: the build directory is shared, and a
# rebuild in the middle of a run must not mix two versions of jobd.
mkdir -p "$T/bin"
cp "$JOBD" "$B/jobctl" "$BB/p9load" "$BB/echo_server" "$BB/spawn_bench" "$BB/dbtool" "$BB/cron_bench" "$BB/stamp" "$T/bin/" ||
	{ echo "bench: build first (make bench-build)" >&2; rm -rf "$T"; exit 1; }
JOBD=$T/bin/jobd
BB=$T/bin
JOBD_PIDS=        # jobd processes (each the child of a "p9load startup" helper)
HELPER_PIDS=      # helpers, diod, echo_server
PGD=              # the cluster phase's private PostgreSQL (its directory) while it runs
PGTMP=$(cd "$(dirname "$0")/.." && pwd)/tests/tools/pgtmp.sh

# stop_pid PID [SECONDS]: ends a process we started: TERM, then KILL after
# SECONDS (10). jobd answers TERM once its loop turns, which a batch of
# spawns can delay.
stop_pid() {
	local i=0
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null || return 0
	while kill -0 "$1" 2>/dev/null && [ $i -lt $((${2:-10} * 10)) ]; do sleep 0.1; i=$((i + 1)); done
	kill -KILL "$1" 2>/dev/null
	return 0
}
cleanup() {
	for p in $JOBD_PIDS; do stop_pid "$p"; done
	for p in $HELPER_PIDS; do stop_pid "$p"; done
	wait 2>/dev/null
	if [ -n "$PGD" ]; then
		sh "$PGTMP" stop "$PGD" >/dev/null 2>&1
		rm -rf "$PGD"
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

: >"$OUT"

# ---- output ----

say() { printf '%s\n' "$*" | tee -a "$OUT"; }
hdr() { say ""; say "# ---- $* ----"; }
# fig NAME VALUE UNIT [RATIO...]: one figure line; also kept for the summary.
fig() {
	local _n=$1 _v=$2 _u=$3; shift 3
	printf '%-34s %12s %-9s %s\n' "$_n" "$_v" "$_u" "$*" | sed 's/ *$//' | tee -a "$OUT"
	echo "$_n $_v" >>"$T/figs"
}
# kv KEY "k=v k=v ...": the value of KEY.
kv() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1; }
# calc EXPR: awk arithmetic, printed with the given format (default %.2f).
calc() {
	case $1 in *n/a*) echo n/a; return;; esac
	awk "BEGIN { printf \"${2:-%.2f}\", ($1) }" 2>/dev/null || echo n/a
}
# ratio A B: A/B to two decimals, "n/a" when B is zero or missing.
ratio() { awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a == "" || a == "n/a" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
getfig() { awk -v k="$1" '$1 == k { v = $2 } END { print v }' "$T/figs" 2>/dev/null; }
# sleep_until UNIXSECONDS (at most 10 minutes)
sleep_until() {
	local d=$(($1 - $(date +%s)))
	[ "$d" -gt 600 ] && d=600
	[ "$d" -gt 0 ] && sleep "$d"
	return 0
}
want() { case " $ONLY " in *" $1 "*) return 0;; esac; return 1; }

# ---- servers ----

# start_jobd DBDIR [FLAGS...]: starts jobd through "p9load startup" (which
# times process start to first Rversion and stays its parent). Sets JPID,
# JTCP, JSOCK, STARTUP_MS.
start_jobd() {
	local db=$1 line i=0; shift
	JSOCK=$T/jobd.sock
	: >"$T/jobd.log"
	: >"$T/startup.out"
	"$BB/p9load" startup -sock "$JSOCK" -log "$T/jobd.log" -timeout 120 -- \
		"$JOBD" -dbdir "$db" -fsaddr "tcp!127.0.0.1!0" -fsaddr "unix!$JSOCK" -logtostderr "$@" \
		>"$T/startup.out" 2>>"$T/jobd.log" &
	SPID=$!
	HELPER_PIDS="$HELPER_PIDS $SPID"
	while ! grep -q startup_ms "$T/startup.out" && kill -0 "$SPID" 2>/dev/null && [ $i -lt 2400 ]; do
		sleep 0.05; i=$((i + 1))
	done
	line=$(cat "$T/startup.out")
	JPID=$(kv pid "$line")
	STARTUP_MS=$(kv startup_ms "$line")
	if [ -z "$JPID" ]; then
		say "# jobd did not start:"; sed 's/^/#   /' "$T/jobd.log" | tail -5 | tee -a "$OUT"
		return 1
	fi
	JOBD_PIDS="$JOBD_PIDS $JPID"
	JPORT=$(sed -n 's/.*listening on tcp!127\.0\.0\.1!\([0-9]*\).*/\1/p' "$T/jobd.log" | head -1)
	JTCP="tcp!127.0.0.1!$JPORT"
	return 0
}

# stop_jobd: SIGTERM, and wait (bounded) until it has exited.
stop_jobd() {
	stop_pid "$JPID" 60
	wait "$SPID" 2>/dev/null
	JPID=
}

# A TCP port diod (pid $1) listens on, once it does.
listen_port() {
	local i=0 p
	while [ $i -lt 100 ]; do
		p=$(ss -ltnpH 2>/dev/null | grep "pid=$1," | awk '{ print $4 }' | sed 's/.*://' | head -1)
		[ -n "$p" ] && { echo "$p"; return 0; }
		sleep 0.05; i=$((i + 1))
	done
	return 1
}

# ---- the machine ----

say "# jobd benchmarks $(date -u '+%Y-%m-%d %H:%M UTC')${QUICK:+ (QUICK)}"
say "# machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs, $(free -g | awk '/^Mem:/ { print $2 " GiB RAM" }'), $(uname -sr)"
say "# jobd $("$JOBD" -version 2>/dev/null | sed 's/^jobd //'), libuv $(pkg-config --modversion libuv 2>/dev/null), SQLite $(pkg-config --modversion sqlite3 2>/dev/null), diod $(dpkg-query -W -f '${Version}' diod 2>/dev/null || echo none)"
say "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine moves absolute figures; side-by-side ratios less)"
say "# temporary files in $T ($(df -T "$T" | awk 'NR == 2 { print $2 }'))"

# ---- 1. 9P round trips ----

phase_rt() {
	hdr "1. 9P round trips: walk+open+read+clunk of jobs/bench0/cmd (4 round trips = 1 op), ${RT_ROUNDS}x${RT_SECS}s per point, servers interleaved"
	db=$T/rt.db
	"$BB/dbtool" jobs "$db" -n 1 -prefix bench -cmd 'echo hello world' >/dev/null &&
	"$BB/dbtool" jobs "$db" -n 1 -prefix big >/dev/null &&
	"$BB/dbtool" log "$db" -job big0 -n "$LOG_LINES" -len 200 >/dev/null || { say "# n/a: cannot prepare the database"; return; }
	start_jobd "$db" || return
	exp=$T/export
	mkdir -p "$exp/jobs/bench0" "$exp/jobs/big0"
	printf 'echo hello world' >"$exp/jobs/bench0/cmd"
	DPID= DADDR=
	if command -v diod >/dev/null; then
		diod -f -n -S -U root -l 127.0.0.1:0 -e "$exp" >"$T/diod.log" 2>&1 &
		DPID=$!
		HELPER_PIDS="$HELPER_PIDS $DPID"
		dport=$(listen_port "$DPID") && DADDR="tcp!127.0.0.1!$dport"
	fi
	[ -n "$DADDR" ] || say "# diod is not installed or did not start: no diod figures (apt-get install diod)"
	"$BB/echo_server" -filesize 16 >"$T/echo.out" 2>&1 &
	EPID=$!
	HELPER_PIDS="$HELPER_PIDS $EPID"
	i=0
	while ! grep -q listening "$T/echo.out" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	EADDR=$(sed -n 's/^listening on //p' "$T/echo.out")

	: >"$T/rt.raw"
	for c in 1 4 16; do
		r=0
		while [ $r -lt "$RT_ROUNDS" ]; do
			for s in echo jobd diod; do
				case $s in
				echo) a=$EADDR; an=; p=$EPID;;
				jobd) a=$JTCP; an=; p=$JPID;;
				diod) a=$DADDR; an=$exp; p=$DPID;;
				esac
				[ -n "$a" ] || continue
				line=$("$BB/p9load" rt -a "$a" -aname "$an" -path jobs/bench0/cmd -c "$c" -d "$RT_SECS" -warm "$RT_WARM" -pid "$p" 2>&1) ||
					{ say "# $s at $c connections: $line"; continue; }
				echo "$s $line" >>"$T/rt.raw"
			done
			r=$((r + 1))
		done
	done
	# Per server and connection count: ops/s = all ops / all seconds, CPU per
	# op = all CPU / all ops, latency percentiles = the median over the rounds.
	awk '
	function kv(k,   i, a) { for (i = 2; i <= NF; i++) { split($i, a, "="); if (a[1] == k) return a[2] } return "" }
	{ s = $1; c = kv("conns"); key = s " " c
	  ops[key] += kv("ops"); secs[key] += kv("secs"); cpu[key] += kv("cpu_ms")
	  n[key]++; p50[key, n[key]] = kv("p50_us"); p99[key, n[key]] = kv("p99_us"); sizes[key] = kv("sizes") }
	function median(arr, key, m,   i, j, t, v) {
		for (i = 1; i <= m; i++) v[i] = arr[key, i]
		for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
		return v[int((m + 1) / 2)] }
	END { for (key in n) printf "%s %.1f %.2f %s %s %s\n", key, ops[key] / secs[key],
	      ops[key] ? cpu[key] * 1000 / ops[key] : 0, median(p50, key, n[key]), median(p99, key, n[key]), sizes[key] }
	' "$T/rt.raw" >"$T/rt.agg"
	for c in 1 4 16; do
		eo=$(awk -v c=$c '$1 == "echo" && $2 == c { print $3 }' "$T/rt.agg")
		ec=$(awk -v c=$c '$1 == "echo" && $2 == c { print $4 }' "$T/rt.agg")
		do_=$(awk -v c=$c '$1 == "diod" && $2 == c { print $3 }' "$T/rt.agg")
		dc=$(awk -v c=$c '$1 == "diod" && $2 == c { print $4 }' "$T/rt.agg")
		for s in echo jobd diod; do
			row=$(awk -v s=$s -v c=$c '$1 == s && $2 == c' "$T/rt.agg")
			[ -n "$row" ] || continue
			set -- $row
			ops=$3 cpu=$4 p50=$5 p99=$6
			case $s in
			echo) fig "p9.c$c.ops.echo" "$ops" ops/s "(the physical limit)"
			      fig "p9.c$c.cpu_per_op.echo" "$cpu" us/op;;
			jobd) fig "p9.c$c.ops.jobd" "$ops" ops/s "ratio=$(ratio "$ops" "$eo") vs echo; ratio=$(ratio "$ops" "$do_") vs diod"
			      fig "p9.c$c.cpu_per_op.jobd" "$cpu" us/op "ratio=$(ratio "$cpu" "$ec") vs echo; ratio=$(ratio "$cpu" "$dc") vs diod";;
			diod) fig "p9.c$c.ops.diod" "$ops" ops/s "ratio=$(ratio "$ops" "$eo") vs echo"
			      fig "p9.c$c.cpu_per_op.diod" "$cpu" us/op "ratio=$(ratio "$cpu" "$ec") vs echo";;
			esac
			fig "p9.c$c.p50.$s" "$p50" us
			fig "p9.c$c.p99.$s" "$p99" us
		done
	done
	say "# reply sizes (Rwalk/Rlopen/Rread/Rclunk): $(awk '{ print $1 " " $7 }' "$T/rt.agg" | sort -u | paste -sd';' | sed 's/;/; /g')"

	# One Tread of 64 KiB at a time from a large log, and from a file as large on diod.
	line=$("$BB/p9load" read -a "$JTCP" -path jobs/big0/log -count 65536 -d "$READ_SECS" -pid "$JPID" 2>&1) ||
		{ say "# log read: $line"; line=; }
	if [ -n "$line" ]; then
		jmb=$(kv mb_s "$line") size=$(kv file_bytes "$line")
		dmb=
		if [ -n "$DADDR" ]; then
			head -c "$size" /dev/urandom >"$exp/jobs/big0/log"
			dline=$("$BB/p9load" read -a "$DADDR" -aname "$exp" -path jobs/big0/log -count 65536 -d "$READ_SECS" -pid "$DPID" 2>&1) &&
				dmb=$(kv mb_s "$dline")
		fi
		fig p9.read64k.jobd "$jmb" MB/s "ratio=$(ratio "$jmb" "$dmb") vs diod (log of $(calc "$size / 1048576" %.1f) MiB)"
		[ -n "$dmb" ] && fig p9.read64k.diod "$dmb" MB/s "(a $(calc "$size / 1048576" %.1f) MiB file)"
		fig p9.read64k.open.jobd "$(kv open_ms "$line")" ms "(walk+open: the log's snapshot is rendered at open)"
	fi
	stop_jobd
	[ -n "$DPID" ] && stop_pid "$DPID"
	stop_pid "$EPID"
}

# ---- 2. creating jobs ----

phase_create() {
	local MAXJOBS=
	hdr "2. creating $CREATES jobs through /clone (walk, open, write name:expr:cmd, clunk), at most ${CREATE_MAX}s each"
	# All the jobs belong to one owner: lift the per-owner cap where there is one.
	"$JOBD" -help 2>&1 | grep -q -- '-maxjobs' && MAXJOBS="-maxjobs $((CREATES * 2))"
	for sync in normal full; do
		for c in 1 8; do
			db=$T/create.$sync.$c
			start_jobd "$db" -sync "$sync" $MAXJOBS || continue
			line=$("$BB/p9load" create -a "$JTCP" -c "$c" -n "$CREATES" -d "$CREATE_MAX" -prefix c \
				-sched '0 3 * * *' -cmd '/usr/local/bin/backup --quiet' 2>"$T/create.err") ||
				say "# $(cat "$T/create.err")"
			stop_jobd
			rate=$(kv creates_s "$line")
			[ -n "$rate" ] || continue
			extra="$(kv created "$line") created, p50 $(kv p50_us "$line") us, p99 $(kv p99_us "$line") us"
			if [ "$sync" = full ]; then
				extra="ratio=$(ratio "$rate" "$(getfig "create.c$c.normal")") vs -sync normal; $extra"
			fi
			fig "create.c$c.$sync" "$rate" creates/s "$extra"
			rm -rf "$db"
		done
	done
}

# ---- 3. scale, and 6. idle cost ----

phase_scale() {
	hdr "3. scale: stopped jobs ('0 3 * * *', '/usr/local/bin/backup --quiet'), RSS after start-up, start-up = process start to first Rversion"
	db=$T/scale.0
	"$BB/dbtool" jobs "$db" -n 0 >/dev/null
	start_jobd "$db" || return
	sleep 0.5
	rss0=$(kv rss_kb "$("$BB/p9load" watch -pid "$JPID" -d 0)")
	stop_jobd
	fig scale.rss.0 "$rss0" KiB "(no jobs: the baseline)"
	for n in $SCALE_SIZES; do
		db=$T/scale.$n
		k=$(calc "$n / 1000" %.0f)k
		pl=$("$BB/dbtool" jobs "$db" -n "$n" -prefix s -sched '0 3 * * *' -cmd '/usr/local/bin/backup --quiet') ||
			{ say "# cannot prepare $n jobs"; continue; }
		strings=$(kv strings_per_job "$pl")
		start_jobd "$db" || continue
		sleep 0.5
		w=$("$BB/p9load" watch -pid "$JPID" -d 0)
		stop_jobd
		rm -rf "$db"
		rss=$(kv rss_kb "$w") hwm=$(kv hwm_kb "$w")
		per=$(calc "($rss - $rss0) * 1024 / $n" %.0f)
		beyond=$(calc "$per - $strings" %.0f)
		fig "scale.rss.$k" "$(calc "$rss / 1024" %.1f)" MiB "(peak $(calc "$hwm / 1024" %.1f) MiB)"
		fig "scale.bytes_per_job.$k" "$per" B/job "($strings B of strings)"
		fig "scale.beyond_strings.$k" "$beyond" B/job "ratio=$(ratio "$beyond" 1024) vs limit 1 KiB"
		fig "scale.startup.$k" "$STARTUP_MS" ms "ratio=$(ratio "$STARTUP_MS" 5000) vs limit 5 s"
	done
	first=$(echo "$SCALE_SIZES" | awk '{ print $1 / 1000 "k" }')
	last=$(echo "$SCALE_SIZES" | awk '{ print $NF / 1000 "k" }')
	a=$(getfig "scale.bytes_per_job.$first") b=$(getfig "scale.bytes_per_job.$last")
	fig scale.growth "$(ratio "$b" "$a")" ratio "(bytes per job at $last / at $first: 1.00 is linear)"
	a=$(getfig "scale.startup.$first") b=$(getfig "scale.startup.$last")
	fig scale.startup_growth "$(ratio "$b" "$a")" ratio "(start-up at $last / at $first; $(ratio "$last" "$first" | sed 's/n\/a//') x the jobs)"

	# Started jobs on an hourly schedule whose next fire is about an hour away.
	m=$(( ($(date +%-M) + 59) % 60 ))
	n=$STARTED_JOBS
	k=$(calc "$n / 1000" %.0f)k
	db=$T/scale.started
	"$BB/dbtool" jobs "$db" -n "$n" -prefix h -started 1 -sched "$m * * * *" -cmd true >/dev/null || return
	start_jobd "$db" || return
	sleep 1
	w=$("$BB/p9load" watch -pid "$JPID" -d 0)
	rss=$(kv rss_kb "$w")
	fig "scale.rss.started_$k" "$(calc "$rss / 1024" %.1f)" MiB "($(calc "($rss - $rss0) * 1024 / $n" %.0f) B/job, schedule '$m * * * *')"
	fig "scale.startup.started_$k" "$STARTUP_MS" ms

	hdr "6. idle cost: $n started jobs, next fire about an hour away, over ${IDLE_SECS}s"
	w=$("$BB/p9load" watch -pid "$JPID" -d "$IDLE_SECS")
	fig idle.cpu "$(kv cpu_ms "$w")" ms "(schedstat: $(kv run_ms "$w") ms)"
	fig idle.wakeups "$(kv wakeups "$w")" count "(times scheduled in; voluntary switches $(kv vcsw "$w"), involuntary $(kv ivcsw "$w"); goal 0)"
	stop_jobd
	rm -rf "$db"
}

# ---- 4. firing precision ----

# fire_point N SECS NAME: N started jobs every second running true; the run
# records of the ticks in a SECS-second window.
fire_point() {
	local n=$1 secs=$2 name=$3 db s0 s1 w line check first
	db=$T/fire.$n
	"$BB/dbtool" jobs "$db" -n "$n" -prefix f -started 1 -sched '* * * * * * *' -cmd true >/dev/null || return
	start_jobd "$db" || return
	s0=$(($(date +%s) + 2))
	s1=$((s0 + secs - 1))
	sleep_until "$s0"
	w=$("$BB/p9load" watch -pid "$JPID" -d "$secs")
	sleep_until $((s1 + 2))
	# A cross-check through the name space: runs/N/status of the first ten
	# jobs (bounded: a jobd busy spawning answers slowly).
	check=$("$BB/p9load" runstatus -a "$JTCP" -prefix f -n 10 -from "$s0" -to "$s1" -d 15 2>&1)
	stop_jobd
	# The figures: every run record of the window, read from the store once
	# jobd has stopped. runs/N/status computes its lateness from the same
	# recorded start, so both ways give the same numbers.
	line=$("$BB/dbtool" fires "$db" -prefix f -from "$s0" -to "$s1" 2>&1) ||
		{ say "# $n jobs: cannot read the run records: $line"; line=; }
	first=$("$BB/dbtool" fires "$db" -prefix f -from "$s0" -to "$s1" -jobs 10 2>&1)
	say "# $n jobs: lateness = recorded start (taken when the spawn returns, after the exec) - scheduled second"
	fig "$name.lateness.p50" "$(kv lat_p50_ms "$line")" ms
	fig "$name.lateness.p99" "$(kv lat_p99_ms "$line")" ms
	fig "$name.lateness.max" "$(kv lat_max_ms "$line")" ms
	fig "$name.runs" "$(kv runs "$line")" runs "(expected $((n * secs)); $(kv skipped "$line") skipped as overlapping)"
	fig "$name.missed" "$(kv missed "$line")" ticks "(goal 0)"
	fig "$name.cpu" "$(calc "$(kv cpu_ms "$w") / $secs / 10" %.1f)" "%CPU" "(jobd itself, its children not counted)"
	if [ "$(kv unsupported "$check")" = 1 ]; then
		say "# runs/N/status: not served by this jobd"
	elif [ "$(kv jobs "$check")" = 0 ]; then
		say "# runs/N/status: no whole job read within 15 s (jobd busy spawning); no cross-check"
	elif [ -n "$(kv runs "$check")" ]; then
		say "# cross-check, the first $(kv jobs "$check") jobs (the earliest of each second's batch): runs/N/status says $(kv runs "$check") runs, lateness p50 $(kv lat_p50_ms "$check") / p99 $(kv lat_p99_ms "$check") / max $(kv lat_max_ms "$check") ms, $(kv missed "$check") missed$([ "$(kv incomplete "$check")" = 1 ] && echo ' (cut short after 15 s)'); the run records say $(kv runs "$first") runs, $(kv lat_p50_ms "$first") / $(kv lat_p99_ms "$first") / $(kv lat_max_ms "$first") ms, $(kv missed "$first") missed"
	else
		say "# runs/N/status: $check"
	fi
	rm -rf "$db"
}

phase_fire() {
	# A second point at a quarter of what this machine can spawn (10..100
	# jobs), where the scheduler's precision shows apart from spawn throughput.
	local low
	low=$(kv spawns_s "$("$BB/spawn_bench" -d 1 -k 8 -- /bin/true)")
	low=$(calc "$low / 4 < 10 ? 10 : ($low / 4 > 100 ? 100 : $low / 4)" %.0f)
	if [ -z "$FIRE_JOBS" ]; then
		say ""; say "# 4. firing precision at 1000 jobs: skipped in a QUICK pass"
	else
		hdr "4. firing precision: $FIRE_JOBS jobs every second ('* * * * * * *') running true, for ${FIRE_SECS}s"
		fire_point "$FIRE_JOBS" "$FIRE_SECS" fire
	fi
	hdr "4b. the same with $low jobs (a quarter of this machine's posix_spawn rate: the scheduler's precision alone)"
	fire_point "$low" "$FIRE_SECS" fire_low
}

# ---- 5. spawning ----

# cpu_per RUN_MS COUNT: microseconds of jobd's CPU per item.
cpu_per() { [ -n "$1" ] && [ "${2:-0}" -gt 0 ] 2>/dev/null && calc "$1 * 1000 / $2" %.1f || echo n/a; }

phase_spawn() {
	hdr "5. spawning: runs/s of true, against a plain posix_spawn loop in the same run (${SPAWN_SECS}s each)"
	# The machine's limit: the best of 1, 2 and 8 children in flight.
	plain=0 best=
	for k in 1 2 8; do
		r=$(kv spawns_s "$("$BB/spawn_bench" -d "$SPAWN_SECS" -k "$k" -- /bin/true)")
		fig "spawn.posix_spawn.true_k$k" "$r" spawns/s
		[ "$(calc "${r:-0} > $plain" %d)" = 1 ] && plain=$r best=$k
	done
	fig spawn.posix_spawn.true "$plain" spawns/s "(the machine's limit: the best of the above, $best in flight)"
	# What jobd runs (/bin/sh -c CMD), so the peer of jobd's runs/s.
	line=$("$BB/spawn_bench" -d "$SPAWN_SECS" -k "${best:-1}" -- /bin/sh -c true)
	shc=$(kv spawns_s "$line")
	fig spawn.posix_spawn.sh_c_true "$shc" spawns/s "ratio=$(ratio "$shc" "$plain") vs posix_spawn (what jobd runs: /bin/sh -c true; the peer below)"
	say "# jobd's CPU: time on CPU of its threads (schedstat) over the window, per run started; its children's not counted"

	# One job with overlap=allow, "run" written to its ctl as fast as accepted.
	db=$T/spawn1
	"$BB/dbtool" jobs "$db" -n 1 -prefix sp >/dev/null || return
	start_jobd "$db" || return
	if ! err=$("$BB/p9load" write -a "$JTCP" -n 1 -path jobs/sp0/overlap -data allow 2>&1 >/dev/null); then
		fig spawn.one_job_allow n/a "" "(overlap=allow not implemented: ${err#p9load: })"
	else
		"$BB/p9load" watch -pid "$JPID" -d "$SPAWN_SECS" >"$T/spawn1.watch" &
		wpid=$!
		line=$("$BB/p9load" runloop -a "$JTCP" -path jobs/sp0/ctl -data run -d "$SPAWN_SECS" 2>&1)
		wait "$wpid"
		if [ "$(kv accepted "$line")" = 0 ] || [ -z "$(kv accepted "$line")" ]; then
			fig spawn.one_job_allow n/a "" "(the run verb is refused: $(kv error "$line"))"
		else
			r=$(kv writes_s "$line")
			fig spawn.one_job_allow "$r" runs/s "ratio=$(ratio "$r" "$shc") vs posix_spawn of /bin/sh -c true; ratio=$(ratio "$r" "$plain") vs posix_spawn of /bin/true"
			fig spawn.one_job_allow.cpu_per_run "$(cpu_per "$(kv run_ms "$(cat "$T/spawn1.watch")")" "$(kv accepted "$line")")" us "(with the 9P write that asks for it)"
		fi
	fi
	stop_jobd
	rm -rf "$db"

	# Many jobs every second; more fires per second than the machine can
	# spawn. SPAWN_ROUNDS windows of jobd, each between two windows of the
	# peer (A-B-A-B-...-A): this machine's spawn rate drifts by a fifth from
	# one minute to the next, so each window of jobd's is set against the
	# mean of the peer just before and just after it, and the goal takes the
	# median of those ratios.
	m=$(calc "$plain * 1.25 < 50 ? 50 : ($plain * 1.25 > 20000 ? 20000 : $plain * 1.25)" %.0f)
	local i wm before=$shc after ratios= runs_sum=0 ms_sum=0 rsum=0 peers=$shc npeer=1
	for i in $(seq 1 "$SPAWN_ROUNDS"); do
		db=$T/spawnN
		rm -rf "$db"
		"$BB/dbtool" jobs "$db" -n "$m" -prefix sn -started 1 -sched '* * * * * * *' -cmd true >/dev/null || return
		start_jobd "$db" || return
		s0=$(($(date +%s) + 2))
		sleep_until "$s0"
		w=$("$BB/p9load" watch -pid "$JPID" -d "$SPAWN_SECS")
		sleep_until $((s0 + SPAWN_SECS + 1))
		stop_jobd
		line=$("$BB/dbtool" count "$db" -from "${s0}000000000" -to "$((s0 + SPAWN_SECS))000000000" 2>&1) ||
			{ say "# cannot count the runs: $line"; line=; }
		rm -rf "$db"
		after=$(kv spawns_s "$("$BB/spawn_bench" -d "$SPAWN_SECS" -k "${best:-1}" -- /bin/sh -c true)")
		r=n/a
		[ -n "$(kv runs "$line")" ] && r=$(calc "$(kv runs "$line") / $SPAWN_SECS" %.1f)
		around=$before
		[ -n "$after" ] && [ -n "$before" ] && around=$(calc "($before + $after) / 2" %.1f)
		fig "spawn.many_jobs.round$i" "$r" runs/s "ratio=$(ratio "$r" "$around") vs $around spawns/s of the peer around it ($before before, $after after)"
		ratios="$ratios $(ratio "$r" "$around")"
		if [ "$r" != n/a ]; then
			runs_sum=$((runs_sum + $(kv runs "$line")))
			rsum=$(calc "$rsum + $r" %.1f)
			wm=$(kv run_ms "$w")
			ms_sum=$(calc "$ms_sum + ${wm:-0}" %.1f)
		fi
		[ -n "$after" ] && { peers=$(calc "$peers + $after" %.1f); npeer=$((npeer + 1)); before=$after; }
	done
	fig spawn.posix_spawn.sh_c_true_around "$(calc "$peers / $npeer" %.1f)" spawns/s "(the peer's mean over its $npeer windows)"
	r=$(calc "$rsum / $SPAWN_ROUNDS" %.1f)
	fig spawn.many_jobs "$r" runs/s "the mean of $SPAWN_ROUNDS windows ($m jobs every second offered $m/s); ratio=$(ratio "$r" "$plain") vs posix_spawn of /bin/true"
	med=$(printf '%s\n' $ratios | grep -v n/a | sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "n/a" }')
	fig spawn.many_jobs.ratio "$med" ratio "the median of the windows' ratios:$ratios"
	fig spawn.many_jobs.cpu_per_run "$(cpu_per "$ms_sum" "$runs_sum")" us "(over the windows; claims and skips of the fires it could not start included)"
}

# ---- 8. bursts ----

# jstat KEY: the value of KEY in the running jobd's /stats ("" if unread).
jstat() { "$BB/jobctl" -a "unix!$JSOCK" read stats 2>/dev/null | sed -n "s/^$1 //p"; }

# burst_lat FILE [FROM TO]: lateness over the stamps (bench/stamp.c lines
# "SCHED LATE_NS") whose SCHED is in [FROM, TO]: "n= p50_ms= p99_ms= max_ms=".
burst_lat() {
	awk -v a="${2:-0}" -v b="${3:-99999999999}" '$1 >= a && $1 <= b { printf "%.3f\n", $2 / 1e6 }' "$1" |
		sort -n | awk '{ v[NR] = $1 }
		END { if (NR == 0) { print "n=0 p50_ms=n/a p99_ms=n/a max_ms=n/a"; exit }
		      printf "n=%d p50_ms=%s p99_ms=%s max_ms=%s\n", NR, v[int(NR / 2) + 1], v[int(NR * 0.99) + 1], v[NR] }'
}

# burst_point N: jobd's bursts of N runs, every 10 s, and between them (5 s
# after each) a bare burst of the same N children: both under the same load.
burst_point() {
	local n=$1 rounds=$BURST_ROUNDS r=0 f fj db now s0 last s w line bare jd runs missed stamps lost bpid c0 c1
	[ "$n" -le 100 ] && rounds=$BURST_ROUNDS_SMALL
	f=$T/burst.bare.$n
	fj=$T/burst.jobd.$n
	: >"$f"
	: >"$fj"
	db=$T/burst.$n
	"$BB/dbtool" jobs "$db" -n "$n" -prefix b -started 1 -sched '*/10 * * * * * *' -cmd "$BB/stamp $fj" >/dev/null || return
	start_jobd "$db" || return
	now=$(date +%s)
	s0=$(( (now + 3 + 9) / 10 * 10 ))
	last=$((s0 + 10 * (rounds - 1)))
	# The limit: N /bin/sh -c stamp children posix_spawn'ed back to back at
	# a whole second, the same command as the jobs'.
	(
		s=$((s0 + 5))
		while [ "$s" -le $((last + 5)) ]; do
			"$BB/spawn_bench" -burst "$n" -at "$s" -- /bin/sh -c "$BB/stamp $f" >/dev/null ||
				echo "spawn_bench -burst $n failed" >>"$T/burst.err"
			s=$((s + 10))
		done
	) &
	bpid=$!
	c0=$(jstat store_commits)
	sleep_until $((s0 - 1))
	# jobd's CPU from a second before the first burst to 9 s after the last
	# (it is idle during the bare bursts).
	w=$("$BB/p9load" watch -pid "$JPID" -d $((last - s0 + 10)))
	c1=$(jstat store_commits)
	wait "$bpid"
	stop_jobd
	[ -s "$T/burst.err" ] && say "# $(cat "$T/burst.err")"
	bare=$(burst_lat "$f")
	jd=$(burst_lat "$fj" "$s0" "$last")
	runs=0 missed=0 s=$s0
	while [ "$s" -le "$last" ]; do
		line=$("$BB/dbtool" fires "$db" -prefix b -from "$s" -to "$s" 2>&1) || { say "# the run records: $line"; line=; }
		runs=$((runs + ${line:+$(kv runs "$line")}+0)) missed=$((missed + ${line:+$(kv missed "$line")}+0))
		s=$((s + 10))
	done
	stamps=$(kv n "$jd")
	lost=$((n * rounds - stamps))
	fig "burst.$n.posix_spawn.p50" "$(kv p50_ms "$bare")" ms "(the limit: $n children at one instant, $rounds burst(s), $(kv n "$bare") stamps)"
	fig "burst.$n.posix_spawn.p99" "$(kv p99_ms "$bare")" ms
	fig "burst.$n.posix_spawn.max" "$(kv max_ms "$bare")" ms
	fig "burst.$n.jobd.p50" "$(kv p50_ms "$jd")" ms "ratio=$(ratio "$(kv p50_ms "$jd")" "$(kv p50_ms "$bare")") vs posix_spawn"
	fig "burst.$n.jobd.p99" "$(kv p99_ms "$jd")" ms "ratio=$(ratio "$(kv p99_ms "$jd")" "$(kv p99_ms "$bare")") vs posix_spawn"
	fig "burst.$n.jobd.max" "$(kv max_ms "$jd")" ms "ratio=$(ratio "$(kv max_ms "$jd")" "$(kv max_ms "$bare")") vs posix_spawn"
	fig "burst.$n.jobd.lost" "$lost" fires "(expected $((n * rounds)): $stamps commands started; the store has $runs runs, $missed fires missed or skipped; goal 0)"
	fig "burst.$n.jobd.cpu_per_fire" "$(cpu_per "$(kv run_ms "$w")" "$((n * rounds))")" us "(jobd's CPU over the bursts' window, per fire: claim, spawn, records, reaping)"
	[ -n "$c0" ] && [ -n "$c1" ] &&
		fig "burst.$n.jobd.commits_per_burst" "$(calc "($c1 - $c0) / $rounds" %.1f)" commits "(the store's commits, /stats store_commits; group commit)"
	rm -rf "$db"
}

phase_burst() {
	hdr "8. bursts: N jobs due at the same instant ('*/10 * * * * * *'), $BURST_ROUNDS_SMALL bursts of 100 or fewer, $BURST_ROUNDS of more; lateness = the command's start (bench/stamp, exec'd by /bin/sh -c) - the scheduled instant; the limit: a bare posix_spawn burst of the same N children 5 s after each of jobd's"
	for n in $BURST_SIZES; do
		burst_point "$n"
	done
}

# ---- 7. cron arithmetic ----

phase_cron() {
	hdr "7. cron arithmetic: cron_next from random instants, ${CRON_MS} ms per expression"
	"$BB/cron_bench" "$CRON_MS" >"$T/cron.out" || { say "# cron_bench failed"; return; }
	while read -r name value unit; do
		case $name in
		worst_is_*) say "# slowest expression: ${name#worst_is_}";;
		*) fig "cron.$name" "$value" "$unit" "ratio=$(ratio "$value" 1000) vs limit 1 us";;
		esac
	done <"$T/cron.out"
}

# ---- 9. cluster mode ----

# Nodes of a cluster (jobd -store) on one private PostgreSQL 15
# (tests/tools/pgtmp.sh: a unix socket in a directory of its own, fsync off),
# all on this machine: the database, every node and every run share its
# CPUs. Each step has a database of its own (CREATE DATABASE) and nodes
# started afresh on it, so that no step inherits another's backlog. Jobs are
# made and started through 9P on a node, as a client would; the figures
# come from the database's run records (each run's row says its node,
# instant and start) and, for lateness, from the commands themselves
# (bench/stamp). The nodes and the SQLite reference run with the same flags.
CL_FLAGS="-pam none -killgrace 1s"
CL_BLOCK=50       # jobs per block: a load of L fires/s is L/50 blocks started
CL_LAT_N=200      # jobs of the lateness step: 200 fires/s
PSQL=${PGBIN:-/usr/lib/postgresql/15/bin}/psql

# q SQL: statements on the step's database, unaligned.
q() { "$PSQL" -X -q -At -v ON_ERROR_STOP=1 "$CI" -c "$1" 2>>"$T/cl.psql.err"; }

# cl_start NAME: node NAME of the step (cache in $T/cl.STEP.NAME, a unix
# socket only), once it serves 9P (its cache filled from the database by
# then). Sets CLPID_NAME; its log is $CLLOG.STEP.NAME.log.
cl_start() {
	local i=0 p log=$CLLOG.$CL_STEP.$1.log
	mkdir -p "$T/cl.$CL_STEP.$1"
	rm -f "$T/cl.$1.sock"
	"$JOBD" -dbdir "$T/cl.$CL_STEP.$1" -store "$CI" -node "$1" -fsaddr "unix!$T/cl.$1.sock" \
		$CL_FLAGS -logtostderr 2>>"$log" &
	p=$!
	JOBD_PIDS="$JOBD_PIDS $p"
	eval "CLPID_$1=$p"
	while ! grep -q 'listening on unix!' "$log" 2>/dev/null && kill -0 "$p" 2>/dev/null && [ $i -lt 1200 ]; do
		sleep 0.05; i=$((i + 1))
	done
	grep -q 'listening on unix!' "$log" && return 0
	say "# node $1 did not start:"; grep -E '^[EFW][0-9]{4} ' "$log" | tail -3 | cut -c1-300 | sed 's/^/#   /' | tee -a "$OUT"
	return 1
}
clpid() { eval "echo \${CLPID_$1:-}"; }
# cl_stop NAME: SIGTERM, and wait (bounded); says so unless it exits 0.
cl_stop() {
	local p rc
	p=$(clpid "$1")
	[ -n "$p" ] || return 0
	stop_pid "$p" 30
	wait "$p" 2>/dev/null; rc=$?
	[ "$rc" = 0 ] || say "# node $1 exited with status $rc on SIGTERM"
	eval "CLPID_$1="
}
# cl_dead: nodes that exited by themselves since the last look: each said
# (its last error) and counted in CL_EXITS.
cl_dead() {
	local nd p rc
	for nd in a b c; do
		p=$(clpid "$nd")
		[ -n "$p" ] && ! kill -0 "$p" 2>/dev/null || continue
		wait "$p" 2>/dev/null; rc=$?
		eval "CLPID_$nd="
		CL_EXITS=$((CL_EXITS + 1))
		say "# node $nd exited by itself (status $rc); its last error:"
		grep -E '^[EF][0-9]{4} ' "$CLLOG.$CL_STEP.$nd.log" | tail -1 | cut -c1-400 | sed 's/^/#   /' | tee -a "$OUT"
	done
}
# cl_step NAME K: the last step's nodes stopped; a new database NAME and K
# nodes (a, b, c) on it. Sets CI, CL_STEP, CLW (the node jobs are made and
# started through).
cl_step() {
	local nd
	cl_dead
	for nd in a b c; do cl_stop "$nd"; done
	"$PSQL" -X -q -v ON_ERROR_STOP=1 "$CI0" -c "CREATE DATABASE $1" 2>>"$T/cl.psql.err" ||
		{ say "# cannot make the database $1: $(tail -1 "$T/cl.psql.err")"; return 1; }
	CI=$(echo "$CI0" | sed "s/dbname=postgres/dbname=$1/")
	CL_STEP=$1 CL_CUR=0 CLW=a
	for nd in $(echo a b c | cut -d' ' -f1-"$2"); do cl_start "$nd" || return 1; done
}
# cl_j ARGS...: jobctl through node $CLW, tried three times (a node drops
# the connections whose replies waited for a batch it lost).
cl_j() {
	local i=0
	while [ $i -lt 3 ]; do
		"$BB/jobctl" -a "unix!$T/cl.$CLW.sock" "$@" 2>>"$T/cl.err" && return 0
		sleep 1; i=$((i + 1))
	done
	say "# jobctl $*: $(tail -1 "$T/cl.err")"
	return 1
}
# cl_ctl VERB PREFIX [N]: VERB (start, stop) to the ctl of the jobs
# PREFIX0_0..PREFIX0_<N-1> (N: CL_BLOCK) through node $CLW.
cl_ctl() {
	"$BB/p9load" write -a "unix!$T/cl.$CLW.sock" -c 4 -n "${3:-$CL_BLOCK}" -path "jobs/${2}0_%d/ctl" \
		-data "$1" >/dev/null 2>>"$T/cl.err" || say "# $1 $2*: $(tail -1 "$T/cl.err")"
}
# cl_make PREFIX N CMD: N jobs every second, made (stopped) through node $CLW.
cl_make() {
	"$BB/p9load" create -a "unix!$T/cl.$CLW.sock" -c 1 -n "$2" -d 120 -prefix "$1" \
		-sched '* * * * * * *' -cmd "$3" >/dev/null 2>>"$T/cl.err" ||
		{ say "# cannot make the jobs $1*: $(tail -1 "$T/cl.err")"; return 1; }
}
# cl_load L: the first L/50 blocks k1, k2... started, the others stopped.
cl_load() {
	local nb=$(($1 / CL_BLOCK))
	while [ "$CL_CUR" -lt "$nb" ]; do CL_CUR=$((CL_CUR + 1)); cl_ctl start "k$CL_CUR"; done
	while [ "$CL_CUR" -gt "$nb" ]; do cl_ctl stop "k$CL_CUR"; CL_CUR=$((CL_CUR - 1)); done
}
# CPU ticks: the machine's (busy total), PostgreSQL's (every process of the
# server), the live nodes' (their own, not their children's).
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat; }
pids_ticks() { for p in "$@"; do cat "/proc/$p/stat" 2>/dev/null; done | awk '{ t += $14 + $15 } END { print t + 0 }'; }
pg_ticks() {
	local pm
	pm=$(head -1 "$PGD/data/postmaster.pid" 2>/dev/null)
	[ -n "$pm" ] || { echo 0; return; }
	pids_ticks "$pm" $(pgrep -P "$pm")
}
node_ticks() { pids_ticks $(clpid a) $(clpid b) $(clpid c); }
# cl_trouble: "deadlocks=N lapses=M": in the nodes' logs so far, batches
# and claims refused by PostgreSQL's deadlock detection, and leases run out.
cl_trouble() {
	cat "$CLLOG".*.log 2>/dev/null | awk '/deadlock detected/ { d++ } /the lease ran out/ && /node\.c/ { l++ }
		END { printf "deadlocks=%d lapses=%d\n", d, l }'
}

# cl_window PATTERN S0 S1: the run records of jobs named like PATTERN (SQL
# LIKE) for the instants S0..S1: instants run (distinct job and instant, any
# state a started run has), run twice, skipped, claimed and never started,
# lost, the runs by node, and lateness by the records (start - instant).
cl_window() {
	q "WITH r AS (SELECT r.* FROM runs r JOIN jobs j ON j.id = r.job_id
	      WHERE j.name LIKE '$1' AND r.sched BETWEEN $2 AND $3),
	  ran AS (SELECT * FROM r WHERE state IN (1, 2, 3, 5) AND start_ns > 0),
	  lat AS (SELECT (start_ns - sched * 1000000000) / 1e6 AS ms FROM ran)
	SELECT 'ran=' || (SELECT count(*) FROM (SELECT DISTINCT job_id, sched FROM ran) d)
	 || ' twice=' || (SELECT count(*) FROM (SELECT 1 FROM ran WHERE state <> 5 GROUP BY job_id, sched HAVING count(*) > 1) d)
	 || ' skipped=' || (SELECT count(*) FROM r WHERE state = 4)
	 || ' unstarted=' || (SELECT count(*) FROM r WHERE state IN (0, 1) AND start_ns = 0)
	 || ' lost=' || (SELECT count(*) FROM r WHERE state = 5)
	 || ' nodes=' || coalesce((SELECT string_agg(node || ':' || c, ',' ORDER BY node)
	      FROM (SELECT node, count(*) c FROM ran GROUP BY node) x), '-')
	 || ' p50_ms=' || coalesce((SELECT round(percentile_disc(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1) FROM lat)::text, 'n/a')
	 || ' p99_ms=' || coalesce((SELECT round(percentile_disc(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1) FROM lat)::text, 'n/a')
	 || ' max_ms=' || coalesce((SELECT round(max(ms)::numeric, 1) FROM lat)::text, 'n/a')"
}
# cl_open: runs of the step still claimed or running 10 s after their
# instant (every job stopped by then), into $CLLOG.db.txt; prints their
# count, and the count of instants run twice (lost runs apart).
cl_open() {
	{
		echo "---- step $CL_STEP: runs by state and node"
		q "SELECT state, node, count(*) FROM runs GROUP BY 1, 2 ORDER BY 1, 2"
		echo "---- step $CL_STEP: runs still claimed (0) or running (1) 10 s after their instant (job, run id, seq, instant, state, node, start; the fire's node and state)"
		q "SELECT j.name, r.id, r.seq, r.sched, r.state, r.node, r.start_ns, f.node, f.state FROM runs r JOIN jobs j ON j.id = r.job_id
		   LEFT JOIN fires f ON f.job_id = r.job_id AND f.sched = r.sched
		   WHERE r.state IN (0, 1) AND r.sched > 0 AND r.sched < extract(epoch from now()) - 10 ORDER BY r.sched LIMIT 30"
	} >>"$CLLOG.db.txt" 2>&1
	q "SELECT (SELECT count(*) FROM runs WHERE state IN (0, 1) AND sched > 0 AND sched < extract(epoch from now()) - 10)
	   || ' ' || (SELECT count(*) FROM (SELECT 1 FROM runs WHERE sched > 0 AND state IN (1, 2, 3) GROUP BY job_id, sched HAVING count(*) > 1) d)"
}

cl_count() { open=$((open + ${1:-0})) twice=$((twice + ${2:-0})); }

# cl_point K L: L fires/s (the first L/50 blocks started) on K nodes, over
# CL_SECS instants.
cl_point() {
	local k=$1 l=$2 s0 s1 m0 m1 p0 p1 j0 j1 line ran exp tck t0 t1 secs=$CL_SECS
	t0=$(cl_trouble)
	s0=$(($(date +%s) + 2))
	s1=$((s0 + secs - 1))
	sleep_until "$s0"
	m0=$(machine_ticks) p0=$(pg_ticks) j0=$(node_ticks)
	sleep_until $((s1 + 1))
	m1=$(machine_ticks) p1=$(pg_ticks) j1=$(node_ticks)
	sleep 3     # the window's last runs end and are recorded
	line=$(cl_window 'k%' "$s0" "$s1")
	t1=$(cl_trouble)
	ran=$(kv ran "$line")
	exp=$((l * secs))
	tck=$(getconf CLK_TCK)
	fig "cluster.claims.n$k.at$l" "$(calc "${ran:-n/a} / $secs" %.1f)" runs/s "(offered $l/s over ${secs}s; by node $(kv nodes "$line"))"
	fig "cluster.claims.n$k.at$l.fraction" "$(calc "${ran:-n/a} / $exp" %.4f)" ratio "(of the $exp instants; $(kv twice "$line") run twice, $(kv skipped "$line") skipped, $(kv unstarted "$line") claimed and never started; goal 1, 0, 0, 0)"
	say "#   CPU over the window: the nodes $(calc "($j1 - $j0) * 100 / $tck / $secs" %.0f)%, PostgreSQL $(calc "($p1 - $p0) * 100 / $tck / $secs" %.0f)% (of one CPU), the machine $(echo "$m0 $m1" | awk '{ printf "%.0f", ($3 - $1) * 100 / ($4 - $2) }')% busy; lateness by the run records p50 $(kv p50_ms "$line") / p99 $(kv p99_ms "$line") / max $(kv max_ms "$line") ms; the nodes' logs meanwhile: $(($(kv deadlocks "$t1") - $(kv deadlocks "$t0"))) deadlocks, $(($(kv lapses "$t1") - $(kv lapses "$t0"))) leases run out"
}

# The failover step: fol and for (orphan rerun), every second, 'sleep 4',
# overlap allow, with 50 fires/s of true; a node running both is killed
# 15 ms after an instant (when it may hold claims not yet started).
cl_failover() {
	local V p kt ks i n_lost n_rerun n_claimed left t_lost t_rerun t_take t_next nd
	cl_make k1 "$CL_BLOCK" true || return
	cl_j new fol '* * * * * * *' 'sleep 4' >/dev/null && cl_j new for '* * * * * * *' 'sleep 4' >/dev/null &&
	cl_j set fol overlap allow >/dev/null && cl_j set for overlap allow >/dev/null &&
	cl_j set for orphan rerun >/dev/null || { say "# n/a: cannot make the failover jobs"; return; }
	cl_load "$CL_BLOCK"
	cl_j start fol for >/dev/null
	sleep 6
	cl_dead
	V=$(q "SELECT r.node FROM runs r JOIN jobs j ON j.id = r.job_id WHERE j.name IN ('fol', 'for') AND r.state = 1
	       GROUP BY r.node ORDER BY count(DISTINCT j.name) DESC, r.node DESC LIMIT 1")
	p=$(clpid "${V:-none}")
	if [ -z "$p" ]; then
		say "# n/a: no node runs the failover jobs: their runs by state and node: $(q "SELECT string_agg(x, ' ') FROM (SELECT j.name || ':' || r.state || ':' || r.node || '=' || count(*) x FROM runs r JOIN jobs j ON j.id = r.job_id WHERE j.name IN ('fol', 'for') GROUP BY j.name, r.state, r.node) y")"
		return
	fi
	for nd in a b c; do
		[ "$nd" != "$V" ] && [ -n "$(clpid "$nd")" ] && { CLW=$nd; break; }
	done
	ks=$(date +%s%N)
	sleep "$(calc "(($ks / 1000000000 + 1) * 1000000000 + 15000000 - $ks) / 1e9" %.3f)"
	kill -KILL "$p"
	kt=$(date +%s%N)
	wait "$p" 2>/dev/null
	eval "CLPID_$V="
	sleep 0.5   # what the node had sent before it died is committed (or not) by now
	q "CREATE TABLE bench_fo AS SELECT r.id, r.job_id, r.sched, r.state, j.name, j.orphan FROM runs r JOIN jobs j ON j.id = r.job_id
	   WHERE r.node = '$V' AND r.state IN (0, 1) AND r.sched > 0;
	   CREATE TABLE bench_claims AS SELECT job_id, sched FROM fires WHERE node = '$V' AND state = 'claimed'" >/dev/null
	n_lost=$(q "SELECT count(*) FROM bench_fo WHERE state = 1")
	n_rerun=$(q "SELECT count(*) FROM bench_fo WHERE state = 1 AND orphan = 1")
	n_claimed=$(q "SELECT count(*) FROM bench_claims")
	i=0
	while [ $i -lt 160 ]; do
		left=$(q "SELECT (SELECT count(*) FROM bench_fo b JOIN runs r ON r.id = b.id WHERE b.state = 1 AND r.state <> 5)
		  + (SELECT count(*) FROM bench_fo b WHERE b.state = 1 AND b.orphan = 1 AND NOT EXISTS (SELECT 1 FROM runs r
		      WHERE r.job_id = b.job_id AND r.sched = b.sched AND r.id <> b.id AND r.start_ns > 0))
		  + (SELECT count(*) FROM bench_claims c JOIN fires f USING (job_id, sched) LEFT JOIN runs r ON r.id = f.run_id
		      WHERE f.node = '$V' OR f.state <> 'started' OR coalesce(r.start_ns, 0) = 0)")
		[ "$left" = 0 ] && break
		sleep 0.25; i=$((i + 1))
	done
	[ "$left" = 0 ] || say "# after 40 s: $left of the dead node's runs and claims not yet recorded lost, run again or taken over and started"
	t_lost=$(q "SELECT round((max(r.end_ns) - $kt) / 1e9, 2) FROM bench_fo b JOIN runs r ON r.id = b.id WHERE b.state = 1 AND r.state = 5")
	t_rerun=$(q "SELECT round((max(r.start_ns) - $kt) / 1e9, 2) FROM bench_fo b JOIN runs r ON r.job_id = b.job_id AND r.sched = b.sched
	             AND r.id <> b.id WHERE b.state = 1 AND b.orphan = 1 AND r.start_ns > 0")
	t_take=$(q "SELECT round((max(r.start_ns) - $kt) / 1e9, 2) FROM bench_claims c JOIN fires f USING (job_id, sched)
	            JOIN runs r ON r.id = f.run_id WHERE r.start_ns > 0")
	t_next=$(q "SELECT round((min(r.start_ns) - $kt) / 1e9, 2) FROM runs r JOIN jobs j ON j.id = r.job_id
	            WHERE j.name = 'fol' AND r.sched > $kt / 1000000000 AND r.start_ns > 0")
	say "# killed node $V; it had $n_lost runs going ($n_rerun of them orphan=rerun) and $n_claimed fires claimed, not started"
	fig cluster.failover.lost_s "${t_lost:-n/a}" s "(kill to the last of its $n_lost runs recorded lost, by the database's clock; lease 10 s, reap every 2 s)"
	fig cluster.failover.rerun_s "${t_rerun:-n/a}" s "(kill to the start, on another node, of the last of its $n_rerun orphan=rerun runs run again)"
	if [ "${n_claimed:-0}" -gt 0 ]; then
		fig cluster.failover.takeover_s "${t_take:-n/a}" s "(kill to the start of the last of its $n_claimed claimed fires, taken over by another node)"
	else
		say "# no fire was claimed and not yet started at the kill: no takeover figure"
	fi
	fig cluster.failover.next_run_s "${t_next:-n/a}" s "(kill to the next instant of 'fol' run, by a live node: no failover needed)"
	cl_j stop fol for >/dev/null
}

phase_cluster() {
	local CI CI0 CLW=a CLPID_a= CLPID_b= CLPID_c= CL_STEP= CL_CUR=0 CL_EXITS=0 CL_T0 k l b s0 s1 line sq lat rec db
	local nd n w open=0 twice=0
	CLLOG=$(dirname "$OUT")/cluster
	CL_T0=$(date +%s)
	rm -f "$CLLOG".*.log "$CLLOG.db.txt"
	hdr "9. cluster mode: nodes on one PostgreSQL 15 (private, unix socket, fsync off) on this machine, a database and fresh nodes per step; jobs every second ('* * * * * * *'), made and started through 9P"
	if [ ! -x "${PGBIN:-/usr/lib/postgresql/15/bin}/postgres" ]; then
		say "# n/a: PostgreSQL 15 is not installed (sh scripts/deps.sh test)"; return
	fi

	# The reference first: the lateness step's 200 jobs with the same
	# command on one jobd with SQLite.
	db=$T/cl.sqlite
	: >"$T/sq.stamps"
	"$BB/dbtool" jobs "$db" -n "$CL_LAT_N" -prefix st -started 1 -sched '* * * * * * *' \
		-cmd "$BB/stamp $T/sq.stamps" >/dev/null || { say "# n/a: cannot prepare the database"; return; }
	start_jobd "$db" $CL_FLAGS || return
	s0=$(($(date +%s) + 2))
	s1=$((s0 + CL_LAT_SECS - 1))
	sleep_until $((s1 + 3))
	stop_jobd
	sq=$(burst_lat "$T/sq.stamps" "$s0" "$s1")
	line=$("$BB/dbtool" fires "$db" -prefix st -from "$s0" -to "$s1" 2>&1)
	rm -rf "$db"

	PGD=$(mktemp -d /tmp/jobd-bench-pg.XXXXXX)
	if ! CI0=$(sh "$PGTMP" start "$PGD" $$ 2>"$T/pg.err"); then
		say "# n/a: PostgreSQL did not start:"; tail -5 "$T/pg.err" | sed 's/^/#   /' | tee -a "$OUT"
		rm -rf "$PGD"; PGD=; return
	fi
	CI=$CI0

	# 1. Failover, on three fresh nodes with a light load.
	say ""
	say "# failover: jobs 'fol' and 'for' every second running 'sleep 4' (overlap allow; orphan lost, and rerun) and $CL_BLOCK jobs of 'true' every second; a node running both is killed (SIGKILL) 15 ms after an instant"
	if cl_step fo 3; then
		cl_failover
		cl_load 0
		sleep 2
		cl_count $(cl_open)
	fi

	# 2. End-to-end lateness at 200 fires/s across the three nodes, against
	# the SQLite node above.
	say ""
	say "# lateness: $CL_LAT_N jobs every second running bench/stamp (its exec's wall time - \$JOBD_SCHEDULED), ${CL_LAT_SECS}s, three nodes; the reference: the same jobs on one jobd with SQLite, measured first"
	if cl_step lat 3 && cl_make st "$CL_LAT_N" "$BB/stamp $T/cl.stamps"; then
		: >"$T/cl.stamps"
		cl_ctl start st "$CL_LAT_N"
		s0=$(($(date +%s) + 3))
		s1=$((s0 + CL_LAT_SECS - 1))
		sleep_until $((s1 + 3))
		cl_ctl stop st "$CL_LAT_N"
		cl_dead
		lat=$(burst_lat "$T/cl.stamps" "$s0" "$s1")
		rec=$(cl_window 'st%' "$s0" "$s1")
		fig cluster.lateness.sqlite.p50 "$(kv p50_ms "$sq")" ms "(one node, SQLite: $(kv n "$sq") of $((CL_LAT_N * CL_LAT_SECS)) commands started)"
		fig cluster.lateness.sqlite.p99 "$(kv p99_ms "$sq")" ms
		fig cluster.lateness.sqlite.max "$(kv max_ms "$sq")" ms "(its run records: p50 $(kv lat_p50_ms "$line") / p99 $(kv lat_p99_ms "$line") ms, $(kv missed "$line") missed)"
		fig cluster.lateness.p50 "$(kv p50_ms "$lat")" ms "ratio=$(ratio "$(kv p50_ms "$lat")" "$(kv p50_ms "$sq")") vs sqlite ($(kv n "$lat") of $((CL_LAT_N * CL_LAT_SECS)) commands started; by node $(kv nodes "$rec"))"
		fig cluster.lateness.p99 "$(kv p99_ms "$lat")" ms "ratio=$(ratio "$(kv p99_ms "$lat")" "$(kv p99_ms "$sq")") vs sqlite"
		fig cluster.lateness.max "$(kv max_ms "$lat")" ms "ratio=$(ratio "$(kv max_ms "$lat")" "$(kv max_ms "$sq")") vs sqlite (run records: p50 $(kv p50_ms "$rec") / p99 $(kv p99_ms "$rec") ms; $(kv twice "$rec") twice, $(kv skipped "$rec") skipped, $(kv unstarted "$rec") never started)"
		fig cluster.lateness.lost "$((CL_LAT_N * CL_LAT_SECS - $(kv n "$lat")))" fires "(commands that did not start; goal 0)"
		sleep 2
		cl_count $(cl_open)
	fi

	# 3. Claims per second with 1, 2 and 3 nodes: every node schedules every
	# job and tries to claim each instant; one claim wins, its node runs it.
	say ""
	say "# claims: $CL_LOADS fires/s of 'true' (blocks of $CL_BLOCK jobs), ${CL_SECS}s per point; runs/s = instants of the window run (the run records), over its length"
	for k in 1 2 3; do
		cl_step "claims$k" "$k" || continue
		b=1
		while [ $b -le "$(echo "$CL_LOADS" | awk '{ m = 0; for (i = 1; i <= NF; i++) if ($i > m) m = $i; print int((m + 49) / 50) }')" ]; do
			cl_make "k$b" "$CL_BLOCK" true || break
			b=$((b + 1))
		done
		for l in $CL_LOADS; do
			cl_load "$l"
			cl_point "$k" "$l"
			cl_dead
		done
		cl_load 0
		sleep 2
		cl_count $(cl_open)
	done

	cl_dead
	for nd in a b c; do cl_stop "$nd"; done
	fig cluster.node_exits "$CL_EXITS" nodes "(nodes that exited by themselves; goal 0)"
	fig cluster.twice "$twice" instants "(instants run twice, lost runs apart, over every step; goal 0)"
	fig cluster.open_runs "$open" runs "(runs still claimed or running 10 s after their instant at the end of each step, every job stopped; goal 0; $CLLOG.db.txt)"
	for nd in a b c; do
		ls "$CLLOG".*."$nd".log >/dev/null 2>&1 || continue
		n=$(cat "$CLLOG".*."$nd".log | grep -cE '^[EF][0-9]{4} ')
		w=$(cat "$CLLOG".*."$nd".log | grep -cE '^W[0-9]{4} ')
		[ "$n$w" = 00 ] && continue
		say "# node $nd logged $n errors, $w warnings over the steps ($CLLOG.STEP.$nd.log), most often:"
		cat "$CLLOG".*."$nd".log | grep -E '^[EFW][0-9]{4} ' | grep -v 'cgroups of jobds that died' |
			sed -E 's/^([EFW])[0-9]{4} [0-9:.]+ [0-9]+ /\1 /; s/[0-9]+/N/g' | cut -c1-200 |
			sort | uniq -c | sort -rn | head -6 | sed 's/^ */#   /' | tee -a "$OUT"
	done
	line=$(cl_trouble)
	say "# over the phase, the nodes' logs: $(kv deadlocks "$line") batches or claims refused by PostgreSQL's deadlock detection, $(kv lapses "$line") leases run out; phase time $(($(date +%s) - CL_T0)) s"
	[ -s "$T/cl.psql.err" ] && say "# psql: $(head -1 "$T/cl.psql.err")"
	sh "$PGTMP" stop "$PGD" >/dev/null 2>&1
	rm -rf "$PGD"
	PGD=
}

start=$(date +%s)
want rt && phase_rt
want create && phase_create
want scale && phase_scale
want fire && phase_fire
want spawn && phase_spawn
want burst && phase_burst
. "$(dirname "$0")/phases_io.sh"
want output && phase_output
want runs && phase_runs
want cron && phase_cron
want cluster && phase_cluster

# ---- headline ratios and goals ----

hdr "headline ratios (same run) and goals"
g() {   # g VALUE OP LIMIT: met/missed
	local v=$1 op=$2 lim=$3
	[ -n "$v" ] && [ "$v" != n/a ] || { echo "n/a"; return; }
	awk -v v="$v" -v l="$lim" -v op="$op" 'BEGIN { ok = (op == "<=") ? (v + 0 <= l + 0) : (v + 0 >= l + 0); print ok ? "met" : "missed" }'
}
for c in 4 16; do
	r=$(ratio "$(getfig p9.c$c.ops.jobd)" "$(getfig p9.c$c.ops.echo)")
	fig "goal.p9.c$c.ops_vs_echo" "$r" ratio ">= 0.80: $(g "$r" '>=' 0.8); diod $(ratio "$(getfig p9.c$c.ops.diod)" "$(getfig p9.c$c.ops.echo)")"
done
for c in 1 4 16; do
	r=$(ratio "$(getfig p9.c$c.cpu_per_op.jobd)" "$(getfig p9.c$c.cpu_per_op.echo)")
	fig "goal.p9.c$c.cpu_vs_echo" "$r" ratio "<= 1.25: $(g "$r" '<=' 1.25); diod $(ratio "$(getfig p9.c$c.cpu_per_op.diod)" "$(getfig p9.c$c.cpu_per_op.echo)")"
done
r=$(getfig scale.beyond_strings.1000k); [ -n "$r" ] || r=$(getfig scale.beyond_strings.100k)
fig goal.scale.beyond_strings "${r:-n/a}" B/job "<= 1024: $(g "$r" '<=' 1024)"
r=$(getfig scale.startup.1000k)
fig goal.scale.startup_1M "${r:-n/a}" ms "< 5000: $(g "$r" '<=' 5000)"
r=$(getfig fire.missed); fig goal.fire.missed "${r:-n/a}" ticks "= 0: $(g "$r" '<=' 0)"
r=$(getfig fire_low.missed); fig goal.fire_low.missed "${r:-n/a}" ticks "= 0: $(g "$r" '<=' 0) (the lower load)"
# Runs/s against posix_spawn of what jobd runs (/bin/sh -c true), in the same run.
r=$(getfig spawn.many_jobs.ratio)
fig goal.spawn.many_vs_posix_spawn "${r:-n/a}" ratio ">= 0.85: $(g "$r" '>=' 0.85) (the median of $SPAWN_ROUNDS windows, each against the peer before and after it)"
r=$(ratio "$(getfig spawn.one_job_allow)" "$(getfig spawn.posix_spawn.sh_c_true)")
fig goal.spawn.one_job_vs_posix_spawn "$r" ratio ">= 0.85: $(g "$r" '>=' 0.85)"
for n in $BURST_SIZES; do
	r=$(getfig "burst.$n.jobd.cpu_per_fire"); fig "goal.burst.$n.cpu_per_fire" "${r:-n/a}" us "<= 150: $(g "$r" '<=' 150)"
	r=$(ratio "$(getfig "burst.$n.jobd.p99")" "$(getfig "burst.$n.posix_spawn.p99")")
	fig "goal.burst.$n.p99_vs_posix_spawn" "$r" ratio "<= 1.10: $(g "$r" '<=' 1.1)"
	r=$(getfig "burst.$n.jobd.lost"); fig "goal.burst.$n.lost" "${r:-n/a}" fires "= 0: $(g "$r" '<=' 0)"
done
r=$(getfig output.stats.p99.flood); fig goal.output.stats_p99_flood "${r:-n/a}" us "< 20000: $(g "$r" '<=' 20000) (4 jobs printing short lines)"
r=$(getfig runs.list.10k); fig goal.runs.list_10k "${r:-n/a}" ms "< 1000: $(g "$r" '<=' 1000)"
r=$(getfig idle.wakeups); fig goal.idle.wakeups "${r:-n/a}" count "= 0: $(g "$r" '<=' 0)"
r=$(getfig cron.mix_mean); fig goal.cron.mix_mean "${r:-n/a}" ns/call "< 1000: $(g "$r" '<=' 1000)"
for f in lost rerun takeover; do
	r=$(getfig "cluster.failover.${f}_s"); fig "goal.cluster.failover_$f" "${r:-n/a}" s "<= 12: $(g "$r" '<=' 12)"
done
r=$(awk '$1 ~ /^cluster\.claims\..*\.fraction$/ && $2 != "n/a" { if (m == "" || $2 + 0 < m) m = $2 + 0 } END { print m }' "$T/figs" 2>/dev/null)
fig goal.cluster.instants_run "${r:-n/a}" ratio "= 1 (the lowest fraction of the claims points): $(g "$r" '>=' 1)"
r=$(getfig cluster.twice); fig goal.cluster.twice "${r:-n/a}" instants "= 0: $(g "$r" '<=' 0)"
r=$(ratio "$(getfig cluster.lateness.p99)" "$(getfig cluster.lateness.sqlite.p99)")
fig goal.cluster.lateness_p99_vs_sqlite "$r" ratio "(200 fires/s on three nodes against one SQLite node; no goal set)"
say "# total $(($(date +%s) - start)) s; figures in $OUT"
