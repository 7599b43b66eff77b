#!/bin/sh
# Wall-clock steps (README, "Clock steps"): jobd runs under libfaketime with
# its wall clock driven from a file (the monotonic clock stays real, as on a
# machine whose clock is stepped). A forward step of up to 3 h runs each job
# once for the times it skipped (a fixed-time job too); a backward step never
# runs a scheduled time twice; a forward step of more than 3 h skips the
# missed times. Then misfire=all after jobd was down for 10 minutes (of the
# fake clock): at most 100 missed times are replayed.
. "$(dirname "$0")/lib.sh"
J=$JOBCTL
LIB=$(dpkg -L libfaketime 2>/dev/null | grep '/libfaketime.so.1$' | head -1)
[ -n "$LIB" ] || { nok "libfaketime-installed (apt-get install faketime)"; finish; }
echo "+0" >"$T/ft"
# The file is read again at most every 2 s (FAKETIME_CACHE_DURATION=1), not
# at every call (FAKETIME_NO_CACHE): libfaketime 0.9.10 reads it into static
# buffers without a lock, and two of jobd's threads reading the clock as the
# file changes got garbage times (a helper with 3 threads saw 1,833 readings
# off by up to 2^63 s over 1,500 changes; none with the cache). One such
# reading on the loop armed the timer minutes ahead: CI saw tick stop for a
# minute after a step. Every wait below is far longer than 2 s.
export FAKETIME_CACHE_DURATION=1 FAKETIME_DONT_FAKE_MONOTONIC=1
if [ -n "${JOBD_SANITIZED:-}" ]; then
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0"; export ASAN_OPTIONS
fi
# fake_jobd_start [flags...]: jobd_start with the wall clock from $T/ft.
fake_jobd_start() {
	export FAKETIME_TIMESTAMP_FILE="$T/ft"
	LD_PRELOAD=$LIB jobd_start "$@"
	unset FAKETIME_TIMESTAMP_FILE
}
# step OFFSET: jobd's wall clock is now the real one plus OFFSET seconds.
step() { echo "+$1" >"$T/ft"; }
# scheds JOB: the scheduled times its runs printed (each echoes $JOBD_SCHEDULED).
scheds() { "$J" log "$1" >"$T/log.$1" && sed -n 's/.*:\([0-9][0-9]*\)$/\1/p' "$T/log.$1"; }
nruns() { [ "$(scheds "$1" | wc -l)" -ge "$2" ]; }
# between JOB A B: how many of its scheduled times lie in [A, B].
between() { scheds "$1" >"$T/scheds" || return 1; awk -v a="$2" -v b="$3" '$1 >= a && $1 <= b { n++ } END { print n + 0 }' "$T/scheds"; }
# fires JOB: the number of its newest run. Every fire claims one, whether it
# runs or is skipped (a job still running skips the fires that come meanwhile,
# so a backlog shows here and not in the output).
fires() { "$J" ls-files "jobs/$1/runs" >"$T/runs.$1" && sort -n "$T/runs.$1" | tail -1; }
# fired_at_most JOB N0 T0 EXTRA: since run N0 (taken at T0), JOB fired at most
# once a second of real time, plus EXTRA.
fired_at_most() {
	n=$(fires "$1") t=$(date +%s)
	[ -n "$n" ] || return 1
	echo "$1 fired $((n - $2)) times in $((t - $3)) s"
	[ "$((n - $2))" -le "$((t - $3 + $4))" ]
}
# diag JOB: what a failed wait leaves to read (CI's log is all there is).
diag() {
	echo "#   real $(date +%s), fake offset $(cat "$T/ft"), jobd $(kill -0 "$JOBD_PID" 2>&1 && echo alive)"
	"$J" read "jobs/$1/ctl" "jobs/$1/schedule" 2>&1 | sed 's/^/#   /'
	"$J" log "$1" 2>&1 | tail -5 | sed 's/^/#   log: /'
	tail -15 "$T/jobd.log" | sed 's/^/#   jobd: /'
}
fake_jobd_start

# A fixed-time job two minutes ahead (exact date and year: it fires once, ever).
target=$(( $(date +%s) + 120 ))
expr=$(date -d "@$target" +'%-S %-M %-H %-d %-m * %Y')
"$J" write clone "fixed:$expr:echo \$JOBD_SCHEDULED"
"$J" write clone 'tick:* * * * * * *:echo $JOBD_SCHEDULED'
"$J" write jobs/fixed/ctl start
"$J" write jobs/tick/ctl start
check "ticking" wait_for 10 nruns tick 2

# ---- forward 5 minutes: each job runs once for the skipped times ----
n0=$(fires tick) r=$(date +%s)
step 300
fixed_ran() { "$J" log fixed | grep -q ":$target\$"; }
check "forward-step-runs-skipped-fixed-time" wait_for 30 fixed_ran
check "forward-step-logged" wait_for 10 grep -q "stepped forward .*; running jobs whose times were skipped once" "$T/jobd.log"
before=$(scheds tick | wc -l)
check "ticking-after-forward" wait_for 10 nruns tick $((before + 2))
# Once, not once per second skipped (300 more; 10 is margin).
check "forward-step-no-backlog" fired_at_most tick "$n0" "$r" 10

# ---- back 10 seconds, over seconds tick ran: none may run again ----
check "ticking-12s" wait_for 30 nruns tick $((before + 12)) || diag tick
step 290
stepped_back() { grep -q "stepped back" "$T/jobd.log"; }
check "backward-step-noticed" wait_for 30 stepped_back || diag tick
# tick now waits for the time it last ran (10 s ahead). A job made now fires
# at once: by its second run, a scheduler that forgot what tick ran would
# have run tick's old seconds again (they are due as early).
"$J" write clone 'tick2:* * * * * * *:echo $JOBD_SCHEDULED'
"$J" write jobs/tick2/ctl start
check "tick2-ticking" wait_for 20 nruns tick2 2
expect "no-second-runs-twice" "" sh -c "\"$J\" log tick | sed -n 's/.*:\([0-9]*\)\$/\1/p' | sort | uniq -d"
expect "fixed-ran-once" "1" sh -c "\"$J\" log fixed | grep -c ':$target\$'"
expect "fixed-never-again" "$expr:never" "$J" read jobs/fixed/schedule

# ---- forward 4 hours (more than 3): the skipped times are not run ----
far=$(( $(date +%s) + 290 + 3600 ))
fexpr=$(date -d "@$far" +'%-S %-M %-H %-d %-m * %Y')
"$J" write clone "far:$fexpr:echo \$JOBD_SCHEDULED"
"$J" write jobs/far/ctl start
check "far-scheduled" sh -c "\"$J\" read jobs/far/schedule | grep -qv ':never\$'"
n0=$(fires tick2) r=$(date +%s)
step 14400   # 14400 - 290 s: 3 h 55 min forward
check "large-step-logged" wait_for 30 grep -q "stepped forward .* (more than 3 h); skipped times are not replayed" "$T/jobd.log"
# tick2's runs after the step come after any run far would have had for it.
after_step() { [ "$(between tick2 $((r + 14400)) $((r + 99999)))" -ge 2 ]; }
check "ticking-after-large-step" wait_for 20 after_step
nfiles() { "$J" ls-files "$1" >"$T/ls" && wc -l <"$T/ls" | tr -d ' '; }
expect "large-step-skips-fixed-time" 0 nfiles jobs/far/runs
expect "large-step-fixed-never" "$fexpr:never" "$J" read jobs/far/schedule
check "large-step-no-backlog" fired_at_most tick2 "$n0" "$r" 10
"$J" write jobs/tick/ctl stop
"$J" write jobs/tick2/ctl stop

# ---- misfire=all: at most 100 missed times replayed ----
# mf (every second) misses 600 s of the fake clock while jobd is down; the
# store says which time it last claimed.
"$J" write clone 'mf:* * * * * * *:echo $JOBD_SCHEDULED'
"$J" write jobs/mf/misfire all
"$J" write jobs/mf/overlap allow
"$J" write jobs/mf/ctl start
check "mf-ticking" wait_for 10 nruns mf 2
jobd_stop
if command -v sqlite3 >/dev/null 2>&1; then
	last=$(sqlite3 "$T/db/jobd.sqlite" "SELECT last_sched FROM jobs WHERE name = 'mf'")
else
	last=
fi
step 15000
t_up=$(( $(date +%s) + 15000 ))
fake_jobd_start -keep_runs 1000
# (Replays are made once jobd listens: wait for them.)
limit_logged() { "$J" log mf | grep -q ':misfire: replayed 100 missed times (the limit; later ones dropped)$'; }
check "misfire-limit-logged" wait_for 30 limit_logged
if [ -n "$last" ]; then
	# The 100 replayed: the 100 seconds after the last one claimed.
	replayed() { scheds mf | awk -v a="$last" -v b="$t_up" '$1 > a && $1 <= b' | sort -n; }
	all_replayed() { [ "$(replayed | wc -l)" -ge 100 ]; }
	check "misfire-replays-run" wait_for 60 all_replayed
	summary() { replayed | awk 'NR == 1 { lo = $1 } { n++; hi = $1 } END { print n + 0, lo, hi }'; }
	expect "misfire-replays-100" "100 $((last + 1)) $((last + 100))" summary
else
	skip "misfire-replays-100" "no sqlite3 command to read the last time claimed"
fi
"$J" write jobs/mf/ctl stop
jobd_stop
finish
