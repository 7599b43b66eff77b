#!/bin/sh
# /stats and the Prometheus endpoint: the same counters, the text format
# checked line by line, the run-duration histogram consistent.
. "$(dirname "$0")/lib.sh"
GET=$BUILD/tools/httpget
jobd_start -metrics 127.0.0.1:0
PORT=$(sed -n 's|.*metrics on http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$T/jobd.log")
check "metrics-listening" test -n "$PORT" -a "$PORT" != 0

"$JOBCTL" write clone 'm1:0 0 1 1 * 2099:true' >/dev/null
"$JOBCTL" write clone 'm2:0 0 1 1 * 2099:exit 4' >/dev/null
"$JOBCTL" write jobs/m1/ctl start
"$JOBCTL" write jobs/m1/ctl run
"$JOBCTL" write jobs/m2/ctl run
two_runs() { "$JOBCTL" read stats | grep -q '^runs_started 2$' && ! "$JOBCTL" read stats | grep -q '^runs_running [1-9]'; }
check "stats-counts-runs" wait_for 10 two_runs
"$JOBCTL" read stats >"$T/stats"
for k in uptime_seconds jobs jobs_started runs_running runs_started runs_failed connections messages \
	store_commits store_commits_paced; do
	check "stats-has-$k" grep -Eq "^$k [0-9]+$" "$T/stats"
done
expect "stats-jobs" "jobs 2" grep '^jobs ' "$T/stats"
expect "stats-started" "jobs_started 1" grep '^jobs_started ' "$T/stats"
expect "stats-failed" "runs_failed 1" grep '^runs_failed ' "$T/stats"

check "metrics-200" sh -c "\"$GET\" 127.0.0.1 $PORT /metrics >\"$T/metrics\" 2>\"$T/status\""
# The header itself (httpget shows only the status line): Prometheus's text
# exposition format, version 0.0.4.
header() { # header NAME: its value in a GET of /metrics
	bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "GET /metrics HTTP/1.0\r\n\r\n" >&3 && cat <&3' \
		_ "$PORT" | tr -d '\r' | sed '/^$/q' | sed -n "s/^$1: *//Ip"
}
expect "metrics-content-type" "text/plain; version=0.0.4; charset=utf-8" header Content-Type
check_fails "metrics-404-elsewhere" "$GET" 127.0.0.1 $PORT /other
# The exposition format: every line is a comment (# HELP / # TYPE) or
# name{labels} value; every sample's family has a TYPE line before it.
awk '
	/^# HELP [a-z_]+ / { next }
	/^# TYPE [a-z_]+ (counter|gauge|histogram)$/ { typed[$3] = $4; next }
	/^[a-z_]+(\{le="[^"]+"\})? [-+0-9.eE]+$/ {
		name = $1; sub(/\{.*/, "", name); fam = name
		sub(/_(bucket|sum|count)$/, "", fam)
		if (!(name in typed) && !(fam in typed)) { print "untyped: " $0; bad = 1 }
		next
	}
	{ print "bad line: " $0; bad = 1 }
	END { exit bad }' "$T/metrics" >"$T/awk.out" 2>&1
check "metrics-format" test $? -eq 0
sed 's/^/#   /' "$T/awk.out" | head -5
val() { awk -v n="$1" '$1 == n { print $2 }' "$T/metrics"; }
expect "metrics-jobs" "2" val jobd_jobs
expect "metrics-runs" "2" val jobd_runs_started_total
expect "metrics-failed" "1" val jobd_runs_failed_total
expect "histogram-count" "2" val jobd_run_duration_seconds_count
expect "histogram-inf" "2" val 'jobd_run_duration_seconds_bucket{le="+Inf"}'
# Buckets are cumulative: never decreasing.
check "histogram-cumulative" sh -c "grep '^jobd_run_duration_seconds_bucket' \"$T/metrics\" | awk '\$2 < last { exit 1 } { last = \$2 }'"
jobd_stop
finish
