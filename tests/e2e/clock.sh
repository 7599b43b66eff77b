#!/bin/sh
# Wall-clock steps: jobd runs under libfaketime with its wall clock driven
# from a file (the monotonic clock stays real, as on a machine whose clock is
# stepped). A small forward step past a fixed-time job runs it once; a
# backward step never runs a scheduled time twice.
. "$(dirname "$0")/lib.sh"
LIB=$(dpkg -L libfaketime 2>/dev/null | grep '/libfaketime.so.1$' | head -1)
[ -n "$LIB" ] || { nok "libfaketime-installed (apt-get install faketime)"; finish; }
echo "+0" >"$T/ft"
export FAKETIME_TIMESTAMP_FILE="$T/ft" FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1
if [ -n "${JOBD_SANITIZED:-}" ]; then
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0"; export ASAN_OPTIONS
fi
LD_PRELOAD=$LIB jobd_start
unset FAKETIME_TIMESTAMP_FILE

# A fixed-time job two minutes ahead (exact date and year: it fires once, ever).
target=$(( $(date +%s) + 120 ))
expr=$(date -d "@$target" +'%-S %-M %-H %-d %-m * %Y')
"$JOBCTL" write clone "fixed:$expr:echo \$JOBD_SCHEDULED"
"$JOBCTL" write clone 'tick:* * * * * * *:echo $JOBD_SCHEDULED'
"$JOBCTL" write jobs/fixed/ctl start
"$JOBCTL" write jobs/tick/ctl start
ticks() { [ "$("$JOBCTL" log tick | grep -c ':[0-9]*$')" -ge "$1" ]; }
check "ticking" wait_for 10 ticks 2

# Forward 5 minutes: the fixed time was skipped by the step and must run once.
echo "+5m" >"$T/ft"
fixed_ran() { "$JOBCTL" log fixed | grep -q ":$target\$"; }
check "forward-step-runs-skipped-fixed-time" wait_for 15 fixed_ran
check "forward-step-logged" grep -q "stepped forward" "$T/jobd.log"
before=$("$JOBCTL" log tick | grep -c ':[0-9]*$')
check "ticking-after-forward" wait_for 10 ticks $((before + 2))

# Back 5 minutes: no scheduled second may run again.
echo "+0" >"$T/ft"
stepped_back() { grep -q "stepped back" "$T/jobd.log"; }
check "backward-step-noticed" wait_for 15 stepped_back
sleep 3   # give a wrongly-implemented scheduler time to re-run old seconds
"$JOBCTL" log tick | sed -n 's/.*:\([0-9]*\)$/\1/p' >"$T/sched"
dups=$(sort "$T/sched" | uniq -d | wc -l)
check "no-second-runs-twice" test "$dups" -eq 0
expect "fixed-ran-once" "1" sh -c "\"$JOBCTL\" log fixed | grep -c ':$target\$'"
expect "fixed-never-again" "$expr:never" "$JOBCTL" read jobs/fixed/schedule
jobd_stop
finish
