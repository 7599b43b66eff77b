#!/bin/sh
# Start-up order (src/cmd/jobd.c): nothing runs until start-up can no longer
# be refused, and what a dead jobd left is ended before any new run begins.
#  - A crash leaves a run's process; the restarted jobd's misfire run must
#    not find it alive (crash recovery comes first).
#  - A start-up refused (its port is taken) after loading a job due for a
#    misfire run exits 1 without having run anything (before, the run was
#    spawned and its output reached freed memory: ASan catches that).
. "$(dirname "$0")/lib.sh"
J=$JOBCTL
ran() { "$J" read "jobs/$1/runs" >/dev/null 2>&1 && [ -n "$("$J" ls-files "jobs/$1/runs" 2>/dev/null)" ]; }

jobd_start
# Every second; a run records its shell's pid, says whether the previous
# run's process is still alive, then stays, deaf to SIGTERM, so that crash
# recovery has to wait out the grace period and SIGKILL it.
# (A process that is gone but not yet reaped by whoever adopted it is a
# zombie: it counts as gone.)
"$J" new m '* * * * * * *' "p=\$(cat $T/old.pid 2>/dev/null); if [ -n \"\$p\" ] && [ -r /proc/\$p/stat ] && ! grep -q ') Z ' /proc/\$p/stat; then echo overlap; else echo clean; fi; echo \$\$ > $T/old.pid; trap '' TERM; exec sleep 1000" >/dev/null
"$J" set m misfire once >/dev/null
"$J" set m overlap allow >/dev/null
"$J" start m >/dev/null
check "first-run-started" wait_for 20 test -s "$T/old.pid"
OLD=$(cat "$T/old.pid")
kill -9 "$JOBD_PID"; wait "$JOBD_PID" 2>/dev/null; JOBD_PID=
ON_EXIT="kill -9 $OLD"
check "crashed-run-still-alive" kill -0 "$OLD"
# Down over at least one whole second: a fire time is missed for certain.
t0=$(date +%s)
wait_for 10 sh -c "[ \$(date +%s) -ge $((t0 + 2)) ]"
: >"$T/jobd.log"
jobd_start -killgrace 1s
newrun() { [ "$(cat "$T/old.pid" 2>/dev/null)" != "$OLD" ] && [ -s "$T/old.pid" ]; }
check "misfire-run-started" wait_for 20 newrun
gone() { [ ! -r "/proc/$1/stat" ] || grep -q ') Z ' "/proc/$1/stat"; }
check "old-process-ended-by-recovery" wait_for 20 gone "$OLD"
# The first run after the restart saw no process of the crashed run.
first_after() { "$J" read jobs/m/runs/2/output | sed 's/^[^:]*:[^:]*:[^:]*://' | head -1; }
check "misfire-run-was-the-misfire" sh -c "\"$J\" read jobs/m/log | grep -q 'misfire: running once'"
expect "misfire-run-saw-no-leftover" "clean" first_after
"$J" stop m >/dev/null
"$J" kill m >/dev/null 2>&1
jobd_stop
# Refused start-up: the TCP port is taken by another listener.
rm -f "$T/old.pid"
"$JOBD" -dbdir "$T/db2" -fsaddr "tcp!127.0.0.1!0" -logtostderr 2>"$T/holder.log" &
HOLDER=$!
ON_EXIT="kill $HOLDER; $ON_EXIT"
wait_for 20 grep -q "listening on tcp!" "$T/holder.log"
busy=$(sed -n 's/.*listening on tcp!127\.0\.0\.1!\([0-9]*\).*/\1/p' "$T/holder.log" | head -1)
"$JOBD" -dbdir "$T/db" -fsaddr "tcp!127.0.0.1!$busy" -logtostderr 2>"$T/refused.log"; rc=$?
check "refused-start-exits-1" test "$rc" -eq 1
check "refused-start-says-why" grep -q "cannot listen on tcp!127.0.0.1!$busy" "$T/refused.log"
check_fails "refused-start-ran-nothing" test -e "$T/old.pid"
kill "$HOLDER"; wait "$HOLDER" 2>/dev/null
finish
