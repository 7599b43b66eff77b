#!/bin/sh
# The operator's paper cuts of issue 14, daemon side, against a real jobd:
# job names with '-' and '.'; the log's run lines ("run N started, pid P",
# "run N ended: exit S in D"), "stopped", stderr's lines marked; schedules
# that never fire accepted with a warning; `dir` checked when set, as the
# job's owner would find it; -maxjobs not binding root; active=N in status.
# Files are read and written with jobctl read/write (the files as they are)
# and p9probe (mkdir, and errors as jobd words them).
. "$(dirname "$0")/lib.sh"
J=$JOBCTL
P=$BUILD/tools/p9probe
never='0 0 1 1 * 2099'
# field FILE KEY: the value of KEY=... in a status file.
field() { "$J" read "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p"; }
ended() { [ "$(field "jobs/$1/runs/$2/status" state)" = done ]; }
logged() { "$J" read "jobs/$1/log" | grep -Eq -- "$2"; }
# text JOB [RUN]: the log (or run RUN's output) without the times.
text() {
	if [ $# -eq 1 ]; then "$J" read "jobs/$1/log"; else "$J" read "jobs/$1/runs/$2/output"; fi |
		sed 's/^[^:]*:[^:]*:[^:]*://'
}
mkdir_job() { "$P" "unix!$JOBD_SOCK" do 9P2000.u mkdir "jobs/$1"; }
# wr PATH DATA: "ok" or jobd's message; errno PATH DATA: "ok" or the errno's name.
wr() { "$P" "unix!$JOBD_SOCK" write "$1" "$2"; }
errno() { "$P" "unix!$JOBD_SOCK" do 9P2000.L write "$1" "$2"; }
last_line() { text "$1" | tail -1; }

jobd_start -maxjobs 3

# ---- names: letters, digits, '_', '-', '.'; not starting with '.' or '-' ----
check "name-dash-clone" "$J" write clone "my-job:$never:echo named"
check "name-dot-clone" "$J" write clone "db.backup:$never:true"
expect "name-dash-mkdir" "ok" mkdir_job "web-1.conf_x"
expect "name-listed" "db.backup my-job web-1.conf_x" sh -c \
	"\"$J\" ls-files jobs | sort | tr '\n' ' ' | sed 's/ \$//'"
check "name-old-style-still" "$J" write clone "old_style_9:$never:true"
check "name-dash-runs" "$J" write jobs/my-job/ctl run
check "name-dash-ran" wait_for 20 ended my-job 1
expect "name-dash-output" "named" text my-job 1
expect "name-leading-dot" "invalid job name '.x': it may not start with '.'" wr clone ".x:$never:true"
expect "name-leading-dash" "invalid job name '-x': it may not start with '-'" wr clone "-x:$never:true"
expect "name-dotdot" "invalid job name '..': it may not start with '.'" wr clone "..:$never:true"
expect "name-slash" "invalid job name 'a/b': use letters, digits, '_', '-' and '.'" \
	wr clone "a/b:$never:true"
expect "name-refused-einval" "EINVAL" errno clone "-x:$never:true"
expect "name-colon-mkdir" "EINVAL: invalid job name 'a:b': use letters, digits, '_', '-' and '.'" \
	mkdir_job "a:b"
expect "name-dot-mkdir" "EINVAL: invalid job name '.hidden': it may not start with '.'" \
	mkdir_job ".hidden"
expect "name-refused-made-nothing" "4" sh -c "\"$J\" ls-files jobs | wc -l | tr -d ' '"
"$J" write jobs/web-1.conf_x/ctl delete
"$J" write jobs/old_style_9/ctl delete

# ---- -maxjobs binds users, not root ----
# Root owns db.backup and my-job; -maxjobs is 3. Four more are fine.
for i in 1 2 3 4; do "$J" write clone "root$i:$never:true" || nok "root-job-$i"; done
expect "maxjobs-not-for-root" "6" sh -c "\"$J\" ls-files jobs | wc -l | tr -d ' '"
for i in 1 2 3 4; do "$J" write jobs/root$i/ctl delete; done

# ---- the log: run N started / ended, stopped, stderr marked ----
check "lines-made" "$J" write clone "lines:$never:echo out; echo err >&2; sleep 0.3; exit 3"
"$J" write jobs/lines/ctl run
check "lines-ran" wait_for 20 ended lines 1
pid=$(field jobs/lines/runs/1/status pid)
# A run's status may say it ended a moment before its "ended" line is in the
# log: the lines a turn writes are stored at the turn's end, and a read can
# be served within the turn that ended the run.
check "log-run-started" wait_for 10 logged lines ":run 1 started, pid $pid\$"
check "log-run-ended" wait_for 10 logged lines ':run 1 ended: exit 3 in ([3-9][0-9][0-9]ms|[0-9]+(\.[0-9])?s)$'
check "log-stderr-marked" logged lines ':stderr: err$'
check "log-stdout-unmarked" logged lines 'UTC:out$'
expect "log-order" "run 1 started, pid $pid|out|stderr: err|exit status 3|run 1 ended: exit 3" \
	sh -c "\"$J\" read jobs/lines/log | sed 's/^[^:]*:[^:]*:[^:]*://; s/ in [0-9.]*m*s\$//' | tr '\n' '|' | sed 's/|\$//'"
# A run's "started" line waits (at most 100 ms) to be stored with its end
# (text.c, "held"): a run that outlasts the wait has it in the log while it
# runs, not only once it ends. Stored by the wait's own timer, which nothing
# else can stand in for here: the database is read directly, so no request
# wakes jobd meanwhile (any would end a turn, which stores what is due).
check "held-made" "$J" write clone "held:$never:sleep 30"
"$J" write jobs/held/ctl run
held_stored() {
	[ "$(sqlite3 "$T/db/jobd.sqlite" "SELECT count(*) FROM chunks c JOIN jobs j ON j.id = c.job_id
		WHERE j.name = 'held' AND instr(CAST(c.text AS TEXT), 'run 1 started') > 0")" = 1 ]
}
check "held-stored-by-its-timer" wait_for 10 held_stored
check "held-started-while-running" logged held ':run 1 started, pid [0-9]+$'
expect "held-still-running" "running" field jobs/held/runs/1/status state
"$J" write jobs/held/ctl delete
# The run lines are the job's, not the run's: its output is what it printed.
expect "output-has-no-run-lines" "out|stderr: err|exit status 3" \
	sh -c "\"$J\" read jobs/lines/runs/1/output | sed 's/^[^:]*:[^:]*:[^:]*://' | tr '\n' '|' | sed 's/|\$//'"
# The cap counts what is stored, the mark included.
expect "output-bytes-count-the-mark" "$("$J" read jobs/lines/runs/1/output | wc -c | tr -d ' ')" \
	field jobs/lines/runs/1/status output_bytes
# Each stream keeps its order.
"$J" write clone "streams:$never:for i in 1 2 3 4 5 6 7 8; do echo o\$i; echo e\$i >&2; done"
"$J" write jobs/streams/ctl run
check "streams-ran" wait_for 20 ended streams 1
expect "stdout-in-order" "o1 o2 o3 o4 o5 o6 o7 o8" sh -c \
	"\"$J\" read jobs/streams/runs/1/output | sed -n 's/.*UTC:\(o[0-9]\)\$/\1/p' | tr '\n' ' ' | sed 's/ \$//'"
expect "stderr-in-order" "e1 e2 e3 e4 e5 e6 e7 e8" sh -c \
	"\"$J\" read jobs/streams/runs/1/output | sed -n 's/.*UTC:stderr: \(e[0-9]\)\$/\1/p' | tr '\n' ' ' | sed 's/ \$//'"
# 2>&1 in the command: stderr joins stdout, unmarked.
"$J" write clone "joined:$never:{ echo joined >&2; } 2>&1"
"$J" write jobs/joined/ctl run
check "joined-ran" wait_for 20 ended joined 1
expect "joined-unmarked" "joined" text joined 1
# A signal.
check "sig-made" "$J" write clone "sig:$never:kill -KILL \$\$"
"$J" write jobs/sig/ctl run
check "sig-ran" wait_for 20 ended sig 1
check "log-run-ended-signal" logged sig ':run 1 ended: signal KILL in [0-9.]+m?s$'
# stop writes "stopped" (the original's "completed" read like a run's end).
check "stop-start" "$J" write jobs/lines/ctl start
expect "start-line" "started" last_line lines
check "stop-writes-stopped" "$J" write jobs/lines/ctl stop
expect "stop-line" "stopped" last_line lines
check_fails "no-completed" logged lines ':completed$'

# ---- schedules that never fire: accepted, warned, listed, never run ----
check "never-clone-accepted" "$J" write clone "feb31:0 0 31 2 *:echo never"
check "never-warned-in-log" logged feb31 ":warning: schedule '0 0 31 2 \*' never fires: no time from now on matches it\$"
check "never-start-accepted" "$J" write jobs/feb31/ctl start
expect "never-started" "started" "$J" read jobs/feb31/ctl
expect "never-schedule-shows-never" "0 0 31 2 *:never" "$J" read jobs/feb31/schedule
expect "never-status-next" "-" field jobs/feb31/status next
expect "never-start-warned-too" "2" sh -c "\"$J\" read jobs/feb31/log | grep -c ':warning: schedule'"
expect "never-no-runs" "" "$J" ls-files jobs/feb31/runs
check "never-past-year" "$J" write clone "y2001:0 0 1 1 * 2001:true"
check "never-past-year-warned" logged y2001 ":warning: schedule '0 0 1 1 \* 2001' never fires"
check "never-set-accepted" "$J" write jobs/my-job/schedule "0 0 1 1 * 2001"
check "never-set-warned" logged my-job ":warning: schedule '0 0 1 1 \* 2001' never fires"
expect "never-set-applied" "0 0 1 1 * 2001" "$J" read jobs/my-job/schedule
# A schedule that fires says nothing.
check "fires-set" "$J" write jobs/my-job/schedule "$never"
expect "fires-not-warned" "1" sh -c "\"$J\" read jobs/my-job/log | grep -c ':warning:'"
# Running one by hand works as ever.
"$J" write jobs/feb31/ctl run
check "never-runs-by-hand" wait_for 20 ended feb31 1
"$J" write jobs/feb31/ctl stop

# ---- active=N: runs in progress, appended to the status line ----
"$J" write clone "busy:$never:while [ ! -e $T/go ]; do sleep 0.05; done"
"$J" write jobs/busy/overlap allow
expect "active-0" "0" field jobs/busy/status active
# After the fields that were there before it (later ones may follow).
check "status-active-after-pid" sh -c "\"$J\" read jobs/busy/status | grep -Eq '^state=stopped next=- last_start=- last_end=- last_status=- runs=0 failures=0 pid=- active=0( |\$)'"
"$J" write jobs/busy/ctl run
"$J" write jobs/busy/ctl run
two() { [ "$(field jobs/busy/status active)" = 2 ]; }
check "active-2" wait_for 20 two
pid_is_number() { field jobs/busy/status pid | grep -Eq '^[0-9]+$'; }
check "active-pid-kept" pid_is_number
touch "$T/go"
zero() { [ "$(field jobs/busy/status active)" = 0 ] && ended busy 1 && ended busy 2; }
check "active-back-to-0" wait_for 20 zero

# ---- dir: checked when set ----
expect "dir-missing" "dir: /nonexistent-$$ does not exist" wr jobs/lines/dir "/nonexistent-$$"
expect "dir-missing-enoent" "ENOENT" errno jobs/lines/dir "/nonexistent-$$"
expect "dir-missing-on-the-way" "dir: /nonexistent-$$/x does not exist (there is no /nonexistent-$$)" \
	wr jobs/lines/dir "/nonexistent-$$/x"
expect "dir-not-a-directory" "dir: /etc/passwd is not a directory" wr jobs/lines/dir /etc/passwd
expect "dir-not-a-directory-enotdir" "ENOTDIR" errno jobs/lines/dir /etc/passwd
expect "dir-refused-unchanged" "" "$J" read jobs/lines/dir
mkdir -p "$T/d/sub"
check "dir-accepted" "$J" set lines dir "$T/d/sub"
expect "dir-set" "$T/d/sub" "$J" read jobs/lines/dir
# A lone newline is an empty value: unset (nothing to check).
expect "dir-unset" "ok" "$P" "unix!$JOBD_SOCK" do 9P2000.u write jobs/lines/dir '\n'
expect "dir-unset-read" "" "$J" read jobs/lines/dir
# Still checked at run time: a directory removed after it was set.
mkdir "$T/vanish"
"$J" write clone "vanish:$never:pwd"
check "dir-vanish-set" "$J" set vanish dir "$T/vanish"
rmdir "$T/vanish"
"$J" write jobs/vanish/ctl run
check "dir-vanish-ran" wait_for 20 ended vanish 1
check "dir-vanish-run-fails" logged vanish ":cannot run: chdir $T/vanish: No such file or directory\$"
check "dir-vanish-run-ended" logged vanish ':run 1 ended: exit 127 in [0-9.]+m?s$'

# ---- as other users: dir as the owner would find it, -maxjobs ----
if [ "$(id -u)" != 0 ] || ! command -v useradd >/dev/null || ! command -v setpriv >/dev/null; then
	skip "owners" "needs root, useradd and setpriv"
	jobd_stop
	finish
fi
UA=jpa$$ UB=jpb$$ GX=jpg$$
ON_EXIT="userdel $UA; userdel $UB; groupdel $GX"
if ! { groupadd "$GX" && useradd -M -N -s /bin/sh -G "$GX" "$UA" && useradd -M -N -s /bin/sh "$UB"; } 2>"$T/useradd.err"; then
	skip "owners" "cannot create users: $(head -1 "$T/useradd.err")"
	jobd_stop
	finish
fi
IA=$(id -u "$UA") IB=$(id -u "$UB")
chmod 755 "$T"
mkdir -p "$T/bin" && cp "$J" "$T/bin/" && chmod -R a+rX "$T/bin"
as() { # as USER command...: run as that user, with its groups, from /
	u=$1; shift
	(cd / && setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --init-groups "$@")
}
UJ=$T/bin/jobctl
check "user-creates" as "$UA" "$UJ" write clone "ua:$never:pwd"
# Directories with owner, group and other bits; the first class that matches decides.
mkdir -p "$T/p/root700" "$T/p/grp710" "$T/p/own070" "$T/p/oth701" "$T/p/locked/open"
chmod 700 "$T/p/root700"
chgrp "$GX" "$T/p/grp710" && chmod 710 "$T/p/grp710"
chown "$UA" "$T/p/own070" && chgrp "$GX" "$T/p/own070" && chmod 070 "$T/p/own070"
chmod 701 "$T/p/oth701"
chmod 700 "$T/p/locked" && chmod 777 "$T/p/locked/open"
ln -s "$T/p/locked/open" "$T/p/link"
chmod 755 "$T/p"
check_fails_with "dir-owner-may-not" \
	"dir: $UA \(uid $IA\) may not enter $T/p/root700 \(mode 0700, owner uid 0, group 0\)" \
	as "$UA" "$UJ" set ua dir "$T/p/root700"
expect "dir-owner-may-not-eacces" "EACCES" errno jobs/ua/dir "$T/p/root700"
# Judged as the owner, whoever writes: root's write is refused all the same.
check_fails_with "dir-judged-as-owner" "dir: $UA \(uid $IA\) may not enter $T/p/root700" \
	"$J" set ua dir "$T/p/root700"
check "dir-supplementary-group" as "$UA" "$UJ" set ua dir "$T/p/grp710"
check_fails_with "dir-owner-bits-decide" "dir: $UA \(uid $IA\) may not enter $T/p/own070 \(mode 0070" \
	as "$UA" "$UJ" set ua dir "$T/p/own070"
check "dir-other-bits" as "$UA" "$UJ" set ua dir "$T/p/oth701"
check_fails_with "dir-component" "dir: $UA \(uid $IA\) may not enter $T/p/locked \(on the way to it\)" \
	as "$UA" "$UJ" set ua dir "$T/p/locked/open"
check_fails_with "dir-symlink-target" "dir: $UA \(uid $IA\) may not enter $T/p/locked \(where its symbolic links lead\)" \
	as "$UA" "$UJ" set ua dir "$T/p/link"
check "dir-root-owner-any" "$J" set lines dir "$T/p/root700"
# The one it accepts is where the run goes.
check "dir-user-set" as "$UA" "$UJ" set ua dir "$T/p/grp710"
"$J" write jobs/ua/ctl run
check "dir-user-ran" wait_for 20 ended ua 1
expect "dir-user-run-there" "$T/p/grp710" text ua 1

# -maxjobs 3: UA has ua; two more, then refused.
check "user-job-2" as "$UA" "$UJ" write clone "ua2:$never:true"
check "user-job-3" as "$UA" "$UJ" write clone "ua3:$never:true"
check_fails_with "maxjobs-binds-users" "uid $IA already owns 3 jobs, the limit; delete some first" \
	as "$UA" "$UJ" write clone "ua4:$never:true"

# A run whose owner is gone cannot start: its end says so.
check "userb-creates" as "$UB" "$UJ" write clone "ub:$never:true"
userdel "$UB"
"$J" write jobs/ub/ctl run
check "gone-owner-ran" wait_for 20 ended ub 1
check "gone-owner-cannot-run" logged ub ":cannot run: owner uid $IB no longer exists\$"
check "gone-owner-run-ended" logged ub ':run 1 ended: exit 127, not started$'
jobd_stop
finish
