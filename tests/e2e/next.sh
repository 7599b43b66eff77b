#!/bin/sh
# jobctl next: the daemon's parser and next-time arithmetic on the command
# line. Expected values are the worked examples of the cron contract.
. "$(dirname "$0")/lib.sh"
NY="-tz America/New_York"

expect "dst-gap-fixed-time" "2021-03-14T03:00:00-04:00
2021-03-15T02:30:00-04:00" "$JOBCTL" next -n 2 $NY -from 2021-03-13T12:00:00-05:00 '30 2 * * *'
expect "dst-gap-hourly" "2021-03-14T01:00:00-05:00
2021-03-14T03:00:00-04:00
2021-03-14T04:00:00-04:00" "$JOBCTL" next -n 3 $NY -from 2021-03-14T00:30:00-05:00 '0 0 * * * ? *'
expect "dst-gap-quarter-hours" "2021-03-14T01:45:00-05:00
2021-03-14T03:00:00-04:00
2021-03-14T03:15:00-04:00" "$JOBCTL" next -n 3 $NY -from 2021-03-14T01:40:00-05:00 '*/15 * * * *'
# Fall back (2021-11-07 02:00 EDT -> 01:00 EST): hourly fires in both 01:00s,
# a fixed 01:30 only in the first.
expect "dst-overlap-hourly" "2021-11-07T01:00:00-04:00
2021-11-07T01:00:00-05:00
2021-11-07T02:00:00-05:00" "$JOBCTL" next -n 3 $NY -from 2021-11-07T00:30:00-04:00 '0 * * * *'
expect "dst-overlap-fixed" "2021-11-07T01:30:00-04:00
2021-11-08T01:30:00-05:00" "$JOBCTL" next -n 2 $NY -from 2021-11-07T00:00:00-04:00 '30 1 * * *'
expect "utc-six-field-is-minute-first" "2021-01-12T00:00:00+00:00" \
	"$JOBCTL" next -n 1 -tz UTC -from 2021-01-01T00:00:00Z '0 0 12 * * ?'
expect "dom-or-dow" "2021-01-01T04:30:00+00:00
2021-01-08T04:30:00+00:00
2021-01-15T04:30:00+00:00
2021-01-22T04:30:00+00:00" "$JOBCTL" next -n 4 -tz UTC -from 2020-12-31T12:00:00Z '30 4 1,15 * 5'
expect "never-after-last" "2096-02-29T00:00:00+00:00
never" "$JOBCTL" next -n 3 -tz UTC -from 1970-01-01T00:00:00Z '0 0 0 29 2 ? 2096'
expect "impossible-is-never" "never" "$JOBCTL" next -tz UTC '0 0 30 2 *'
expect "subsecond-start" "2021-01-01T00:00:01+00:00" "$JOBCTL" next -n 1 -tz UTC -from 2021-01-01T00:00:00.5Z '* * * * * * *'
"$JOBCTL" next '1-5#2 * * * *' 2>"$T/err"; rc=$?
check "bad-expr-exit-1" test "$rc" -eq 1
"$JOBCTL" next '0 0 * * 1-5#2' 2>"$T/err"
check "bad-expr-names-field" grep -q "day-of-week" "$T/err"
"$JOBCTL" next -tz Mars/Olympus '@daily' 2>"$T/err"; rc=$?
check "bad-zone-fails" test "$rc" -ne 0
"$JOBCTL" next -from yesterday '@daily' 2>"$T/err"; rc=$?
check "bad-from-exit-2" test "$rc" -eq 2
# The daemon and the client reject the same input with the same message.
jobd_start
"$JOBCTL" write clone 'x:0 0 * * 1-5#2:true' 2>"$T/daemon.err"
"$JOBCTL" next '0 0 * * 1-5#2' 2>"$T/client.err"
msg=$(sed 's/^jobctl next: //' "$T/client.err")
check "same-parser-same-message" grep -qF "$msg" "$T/daemon.err"
jobd_stop
finish
