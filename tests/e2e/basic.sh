#!/bin/sh
# The seed's walkthrough through our own client, plus the name space's rules:
# clone validation, ctl verbs, schedule and log formats, runs at the scheduled
# second, no overlap, persistence of started state across a restart.
. "$(dirname "$0")/lib.sh"
jobd_start

expect "root-listing" "clone
jobs
stats
events" "$JOBCTL" ls-files /
expect "no-jobs" "" "$JOBCTL" ls-files jobs

check "clone-create" "$JOBCTL" write clone 'hello:* * * * * * *:echo hello world'
expect "listed" "hello" "$JOBCTL" ls-files jobs
expect "cmd" "echo hello world" "$JOBCTL" read jobs/hello/cmd
expect "ctl-stopped" "stopped" "$JOBCTL" read jobs/hello/ctl
expect "schedule-stopped" "* * * * * * *" "$JOBCTL" read jobs/hello/schedule

# Validation: each bad clone line fails with its own reason and creates nothing.
check_fails_with "dup-name" "^jobctl: clone: job 'hello' already exists$" \
	"$JOBCTL" write clone 'hello:* * * * *:true'
check_fails_with "bad-name" "^jobctl: clone: invalid job name 'he/llo'" \
	"$JOBCTL" write clone 'he/llo:* * * * *:true'
check_fails_with "bad-expr-names-field" "^jobctl: clone: bad schedule '61 \* \* \* \*': minute: " \
	"$JOBCTL" write clone 'x:61 * * * *:true'
check_fails_with "missing-field" "^jobctl: clone: want name:cronexpr:command, got 'onlyname:\* \* \* \* \*'$" \
	"$JOBCTL" write clone 'onlyname:* * * * *'
check_fails_with "empty-cmd" "^jobctl: clone: command is empty$" "$JOBCTL" write clone 'y:* * * * *:'
expect "nothing-created" "hello" "$JOBCTL" ls-files jobs

# Commands may contain colons; a trailing newline (as echo writes) is accepted.
printf 'colon:0 0 1 1 *:echo a:b:c\n' | "$JOBCTL" write clone
expect "cmd-with-colons" "echo a:b:c" "$JOBCTL" read jobs/colon/cmd

# ctl verbs: case-insensitive, trailing newline allowed, unknown rejected with the verb list.
check "start" "$JOBCTL" write jobs/hello/ctl "START
"
expect "ctl-started" "started" "$JOBCTL" read jobs/hello/ctl
check_fails_with "bogus-verb-lists-verbs" "unknown ctl verb 'bogus' \(verbs: start, stop, " \
	"$JOBCTL" write jobs/hello/ctl bogus
sched=$("$JOBCTL" read jobs/hello/schedule)
case $sched in
"* * * * * * *:"[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]\ [0-9][0-9]:[0-9][0-9]:[0-9][0-9]\ [+-][0-9][0-9][0-9][0-9]\ *)
	ok "schedule-started-format" ;;
*) nok "schedule-started-format"; echo "#   got: $sched" ;;
esac

# Runs happen: wait (bounded) for two output lines.
has_runs() { [ "$("$JOBCTL" log hello | grep -c ':hello world$')" -ge 2 ]; }
check "runs-happen" wait_for 10 has_runs
"$JOBCTL" log -raw hello >"$T/log"   # the file as stored: the original's format
check "log-started-line" grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)? [+-][0-9]{4} [A-Z0-9+-]+:started$' "$T/log"
# Each output line: the time it was read, the zone, the line.
check "log-line-format" grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}(\.[0-9]+)? [+-][0-9]{4} [A-Z0-9+-]+:hello world$' "$T/log"

check "stop" "$JOBCTL" write jobs/hello/ctl stop
expect "ctl-stopped-again" "stopped" "$JOBCTL" read jobs/hello/ctl
# The last state line says stopped (a run's end may still come after it).
check "log-stopped" sh -c "\"$JOBCTL\" log hello | grep -E ':(started|stopped)$' | tail -1 | grep -q ':stopped$'"
n1=$("$JOBCTL" log hello | grep -c ':hello world$')

# Exit status and signals are recorded.
"$JOBCTL" write clone 'fails:* * * * * * *:echo out; echo err >&2; exit 3'
"$JOBCTL" write jobs/fails/ctl start
has_status() { "$JOBCTL" log fails | grep -q ':exit status 3$'; }
check "exit-status-logged" wait_for 10 has_status
check "stderr-captured" sh -c "\"$JOBCTL\" log fails | grep -q ':stderr: err$'"
check "stdout-unmarked" sh -c "\"$JOBCTL\" log -raw fails | grep -q 'UTC:out$'"
"$JOBCTL" write jobs/fails/ctl stop

# Overlap: a run still going when the next second comes is skipped, and logged.
"$JOBCTL" write clone 'slow:* * * * * * *:sleep 2.5; echo done'
"$JOBCTL" write jobs/slow/ctl start
has_skip() { "$JOBCTL" log slow | grep -q ':skipped: previous run'; }
check "overlap-skipped" wait_for 10 has_skip
"$JOBCTL" write jobs/slow/ctl stop

# Per-job time zones: a TZ= prefix; the next run is shown in that zone.
check "tz-create" "$JOBCTL" write clone 'paris:TZ=Europe/Paris 0 9 * * *:true'
"$JOBCTL" write jobs/paris/ctl start
check "tz-next-in-zone" sh -c "\"$JOBCTL\" read jobs/paris/schedule | grep -Eq '^TZ=Europe/Paris 0 9 \* \* \*:[0-9-]{10} 09:00:00 \+0[12]00 CES?T$'"
check_fails_with "tz-unknown-rejected" "unknown zone 'Mars/Olympus'" \
	"$JOBCTL" write clone 'mars:TZ=Mars/Olympus 0 9 * * *:true'
"$JOBCTL" write jobs/paris/ctl stop

# Persistence: definitions and started state survive a restart.
"$JOBCTL" write jobs/colon/ctl start
jobd_stop
jobd_start
expect "jobs-survive" "hello
colon
fails
slow
paris" "$JOBCTL" ls-files jobs
expect "started-survives" "started" "$JOBCTL" read jobs/colon/ctl
expect "stopped-survives" "stopped" "$JOBCTL" read jobs/hello/ctl
expect "log-survives" "$n1" sh -c "\"$JOBCTL\" log hello | grep -c ':hello world$'"
jobd_stop
finish
