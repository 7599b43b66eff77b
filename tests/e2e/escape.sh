#!/bin/sh
# Signals reach only a run's own processes, and processes that escape a run's
# process group are still the run's: a leader that exited is held as a zombie
# while its run lives, so its pid (and group) cannot be handed to anyone
# else's process (tools/pidsquat tries, as another user); kill, timeout,
# delete and shutdown end what left the run's session (setsid, double forks)
# through the run's cgroup; what an ended run left behind is still reached
# by kill, delete and shutdown; a dead jobd's cgroups are cleared by the
# next; shutdown is bounded. Then the same without cgroups (-cgroup none,
# jobd a subreaper): shutdown still ends escaped processes and never hangs.
# Needs root (users, cgroups, clone3 with a chosen pid).
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ] || ! command -v useradd >/dev/null || ! command -v setpriv >/dev/null; then
	skip "all" "needs root, useradd and setpriv"
	finish
fi
UA=jde$$
# Every process the test starts or learns of is written to $T/pids (subshells
# too) and killed at exit, before the user goes.
track() { echo "$@" >>"$T/pids"; }
ON_EXIT='kill -9 $(cat "$T/pids"); wait_for 5 sh -c "! pgrep -u $UA"; userdel $UA'
if ! useradd -M -N -s /bin/sh "$UA" 2>"$T/useradd.err"; then
	skip "all" "cannot create a user: $(head -1 "$T/useradd.err")"
	finish
fi
IA=$(id -u "$UA") GA=$(id -g "$UA")
J=$JOBCTL
SQUAT=$BUILD/tools/pidsquat
never='0 0 1 1 * 2099'
mk() { "$J" write clone "$1:$never:$2" >/dev/null; }
rfield() { "$J" read "jobs/$1/runs/$2/status" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$3=//p"; }
ended() { [ "$(rfield "$1" "$2" state)" = done ]; }
# The pid a run printed as KEY=pid.
said() { "$J" read "jobs/$1/runs/$2/output" 2>/dev/null | sed -n "s/.*:$3=//p" | head -1; }
has() { [ -n "$(said "$@")" ]; }
# /proc/PID/stat after the command name: state, ppid, pgrp, session...
stat_of() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null; }
state() { stat_of "$1" | cut -d' ' -f1; }
ppid() { stat_of "$1" | cut -d' ' -f2; }
# Both false for an empty pid (a process the test never learnt of): a
# check on it fails rather than passes.
alive() { [ -n "$1" ] && [ -e "/proc/$1" ] && [ "$(state "$1")" != Z ]; }
gone() { [ -n "$1" ] && ! alive "$1"; }
all_alive() { [ $# -gt 0 ] || return 1; for p in "$@"; do alive "$p" || return 1; done; }
all_gone() { [ $# -gt 0 ] || return 1; for p in "$@"; do gone "$p" || return 1; done; }
# ended_all NAME PID...: one check that every PID is gone within 5 s; a
# failure names those still alive.
ended_all() {
	name=$1; shift
	if [ $# -gt 0 ] && wait_for 5 all_gone "$@"; then ok "$name"; else
		nok "$name"; echo "#   of $# processes ($*), still alive:"
		for p in "$@"; do alive "$p" && echo "#   $p: $(tr '\0' ' ' <"/proc/$p/cmdline")"; done
	fi
}
zombie_of() { [ "$(state "$1")" = Z ] && [ "$(ppid "$1")" = "$2" ]; }
# An unrelated process in a session (and group) of its own, as user $1 (or root).
bystander() {
	if [ -n "${1:-}" ]; then
		setpriv --reuid="$IA" --regid="$GA" --clear-groups setsid sleep 1000 </dev/null >/dev/null 2>&1 &
	else
		setsid sleep 1000 </dev/null >/dev/null 2>&1 &
	fi
	b=$!
	track "$b"
	echo "$b"
}
# Starts job NAME with CMD, waits for the pid it says as esc=, sets ESC.
escape() {
	mk "$1" "$2"
	"$J" write "jobs/$1/ctl" run
	ESC=
	if wait_for 10 has "$1" 1 esc; then ESC=$(said "$1" 1 esc); track "$ESC"; fi
	[ -n "$ESC" ] && alive "$ESC"
}
# jobd's SIGTERM, waited for at most $1 seconds: 0 if it exited 0 in time.
stop_within() {
	t0=$(date +%s%N)
	kill -TERM "$JOBD_PID"
	if ! wait_for "$1" sh -c "! [ -e /proc/$JOBD_PID ] || [ \"\$(sed 's/^.*) //' /proc/$JOBD_PID/stat | cut -c1)\" = Z ]"; then
		kill -9 "$JOBD_PID"; wait "$JOBD_PID"; JOBD_PID=
		echo "# jobd did not exit within $1 s"
		return 1
	fi
	wait "$JOBD_PID"; rc=$?; JOBD_PID=
	echo $(( ($(date +%s%N) - t0) / 1000000 )) >"$T/stop.ms"
	[ "$rc" -eq 0 ]
}

# Two ways out of a run's session that keep its output open.
SETSID='setsid sleep 1000 & echo esc=$!; exit 0'
DOUBLE='sh -c "(setsid sleep 1000 & echo esc=\$!) &"'

# Can this process make a cgroup v2 directory beside its own? What jobd's
# -cgroup auto should find (this test's mount-root-"/" case of it).
cgroup_probe() {
	own=$(sed -n 's/^0:://p' /proc/self/cgroup)
	mnt=$(awk '/ - cgroup2 / && $4 == "/" { print $5; exit }' /proc/self/mountinfo)
	[ -n "$own" ] && [ -n "$mnt" ] || { echo "no cgroup v2 hierarchy mounted"; return; }
	echo "$mnt" >"$T/cgmnt"
	probe="${mnt%/}${own%/}/jobd-escape-probe.$$"
	if mkdir "$probe" 2>"$T/probe.err"; then rmdir "$probe"; echo yes; else head -1 "$T/probe.err"; fi
}
CGW=$(cgroup_probe)
CGMNT=$(cat "$T/cgmnt" 2>/dev/null)

# ======== with cgroups (the default, -cgroup auto) ========
jobd_start -killgrace 1s
CG=$(sed -n 's/.*each run gets a cgroup of its own in //p' "$T/jobd.log" | head -1)

# ---- a leader that exits while its run goes on is held, unreaped ----
# Its child leaves the session (so nothing else keeps the number in use) and
# keeps the output open: the run goes on without its leader.
mk reuse 'setsid sleep 1000 & echo kid=$!; exit 0'
"$J" write jobs/reuse/ctl run
wait_for 10 has reuse 1 kid
L=$(rfield reuse 1 pid) KID=$(said reuse 1 kid)
track "$KID"
check "reuse-run-live" test "$(rfield reuse 1 state)" = running
check "leader-held-as-zombie-of-jobd" wait_for 10 zombie_of "$L" "$JOBD_PID"
# Another user's process asks for the leader's pid (and, as a session
# leader, its group): the kernel must refuse while the zombie holds it.
"$SQUAT" -u "$IA" -g "$GA" "$L" /bin/sleep 1000 >"$T/squat" 2>"$T/squat.err"; rc=$?
[ "$rc" -eq 0 ] && track "$L"
SQUATTER=; [ "$rc" -eq 0 ] && SQUATTER=$L
if [ "$rc" -eq 4 ]; then
	skip "leader-pid-not-reusable" "$(head -1 "$T/squat.err")"
else
	check "leader-pid-not-reusable-by-another-user" test "$rc" -eq 3
	"$SQUAT" "$L" /bin/sleep 1000 >/dev/null 2>&1; rc=$?
	[ "$rc" -eq 0 ] && { track "$L"; SQUATTER=$L; }
	check "leader-pid-not-reusable-by-root" test "$rc" -eq 3
fi
B1=$(bystander "$UA") B2=$(bystander)
check "reuse-kill" "$J" kill reuse
[ -z "$CG" ] && kill "$KID"     # without cgroups kill cannot reach it (see track.c)
check "reuse-run-ends" wait_for 10 ended reuse 1
check "reuse-kid-gone" wait_for 5 gone "$KID"
check "bystander-user-survives" alive "$B1"
check "bystander-root-survives" alive "$B2"
if [ -n "$SQUATTER" ]; then
	check "squatter-survives" alive "$SQUATTER"
fi
check "leader-reaped-after-end" wait_for 5 sh -c "! [ -e /proc/$L ] || [ \"\$(sed 's/^.*) //' /proc/$L/stat | cut -d' ' -f2)\" != $JOBD_PID ]"

# ---- kill while the leader lives: its processes die, nobody else's ----
# live_kill JOB PREFIX: a run whose leader lives, with a child in
# its group, is killed: both die, the bystanders do not.
live_kill() {
	job=$1 pre=$2; shift 2
	mk "$job" 'sleep 1000 & echo kid=$!; echo leader=$$; sleep 1000'
	"$J" write "jobs/$job/ctl" run
	wait_for 10 has "$job" 1 leader
	KID=$(said "$job" 1 kid) LEAD=$(said "$job" 1 leader)
	track "$KID" "$LEAD"
	check "${pre}live-kill" "$J" kill "$job"
	check "${pre}live-run-ends" wait_for 10 ended "$job" 1
	check "${pre}live-leader-gone" wait_for 5 gone "$LEAD"
	check "${pre}live-kid-gone" wait_for 5 gone "$KID"
}
live_kill live ""
check "live-bystanders-survive" all_alive "$B1" "$B2"

if [ -z "$CG" ] && [ "$CGW" = yes ]; then
	nok "cgroups-used (cgroup v2 is writable here, but jobd made none)"
elif [ -z "$CG" ]; then
	skip "cgroups" "no writable cgroup v2 here: $CGW"
else
	check "cgroup-dir-made" test -d "$CG"
	# Run cgroups with processes in them. An empty one may be kept for a
	# later run (run/cgroup.c, "the pool"): what matters is that nothing is
	# left in it, and the later runs here (escapes included) use such ones.
	runcgs() {
		_cgn=0
		for _cgd in "$CG"/run.*; do
			grep -q '^populated 1' "$_cgd/cgroup.events" 2>/dev/null && _cgn=$((_cgn + 1))
		done
		echo "$_cgn"
	}
	no_runcgs() { [ "$(runcgs)" -eq 0 ]; }

	# ---- setsid and double fork, holding the run's output: kill, timeout, delete ----
	for kind in setsid double; do
		if [ $kind = setsid ]; then cmd=$SETSID; else cmd=$DOUBLE; fi
		check "$kind-escapes" escape "k$kind" "$cmd"
		sess=$(stat_of "$ESC" | cut -d' ' -f4)
		check "$kind-left-session" test -n "$sess" -a "$sess" != "$(rfield "k$kind" 1 pid)"
		check "$kind-run-live" test "$(rfield "k$kind" 1 state)" = running
		check "$kind-kill" "$J" kill "k$kind"
		check "$kind-kill-ends-run" wait_for 10 ended "k$kind" 1
		check "$kind-kill-ends-escapee" wait_for 5 gone "$ESC"

		mk "t$kind" "$cmd"
		"$J" write "jobs/t$kind/timeout" 1s
		"$J" write "jobs/t$kind/ctl" run
		wait_for 10 has "t$kind" 1 esc; ESC=$(said "t$kind" 1 esc); track "$ESC"
		check "$kind-timeout-ends-run" wait_for 10 ended "t$kind" 1
		expect "$kind-timed-out" 1 rfield "t$kind" 1 timed_out
		check "$kind-timeout-ends-escapee" wait_for 5 gone "$ESC"

		check "$kind-escapes-again" escape "d$kind" "$cmd"
		check "$kind-delete" "$J" rm "d$kind"
		check "$kind-delete-ends-escapee" wait_for 10 gone "$ESC"
	done
	check "bystanders-survive-all" all_alive "$B1" "$B2"
	check "run-cgroups-emptied" wait_for 10 no_runcgs

	# ---- what an ended run left behind (output closed) is still its ----
	check "left-escapes" escape left 'setsid sleep 1000 >/dev/null 2>&1 & echo esc=$!'
	check "left-run-ends-at-once" wait_for 10 ended left 1
	check "left-lives-on" alive "$ESC"
	check "left-cgroup-kept" test "$(runcgs)" -eq 1
	check "left-kill" "$J" kill left
	check "left-kill-ends-it" wait_for 10 gone "$ESC"
	check "left-cgroup-emptied" wait_for 10 no_runcgs
	# jobd hears of it (inotify on cgroup.events) just after: then nothing is left to kill.
	kill_refused() { ! "$J" kill "$1" >/dev/null 2>&1; }
	check "left-forgotten" wait_for 10 kill_refused left
	check_fails_with "left-kill-nothing-left" "job left has no run in progress" "$J" kill left
	"$J" write jobs/left/ctl run
	wait_for 10 has left 2 esc; ESC=$(said left 2 esc); track "$ESC"
	check "left-2-ended" wait_for 10 ended left 2
	check "left-delete" "$J" rm left
	check "left-delete-ends-it" wait_for 10 gone "$ESC"

	# ---- shutdown: escaped processes holding output, left behind, ignoring SIGTERM ----
	escape s1 "$SETSID"; S1=$ESC
	escape s2 "$DOUBLE"; S2=$ESC
	escape s3 'setsid sleep 1000 >/dev/null 2>&1 & echo esc=$!'; S3=$ESC
	escape s4 'setsid sh -c "trap \"\" TERM; echo esc=\$\$; while :; do sleep 1; done" & exit 0'; S4=$ESC
	check "shutdown-escapees-up" all_alive "$S1" "$S2" "$S3" "$S4"
	OLDPID=$JOBD_PID
	check "shutdown-bounded" stop_within 10
	echo "# shutdown with 4 escaped processes (one ignoring SIGTERM), -killgrace 1s: $(cat "$T/stop.ms") ms"
	# s4's escapee ignores SIGTERM: SIGKILL after the grace period ended it.
	check "shutdown-sigkilled-sigterm-ignorer" grep -q 'job s4: run 1 .*outlived the 1000 ms grace period; SIGKILL' "$T/jobd.log"
	ended_all "shutdown-ended-escapees" "$S1" "$S2" "$S3" "$S4"
	check "shutdown-removes-cgroup-dir" test ! -d "$CG"
	check "shutdown-bystanders-survive" all_alive "$B1" "$B2"
	jobd_start -killgrace 1s
	expect "shutdown-recorded-sigterm-ignorer" "done" rfield s4 1 state
	expect "shutdown-recorded-setsid" "done" rfield s1 1 state

	# ---- a jobd that dies: the next one kills what its runs left in cgroups ----
	CG=$(sed -n 's/.*each run gets a cgroup of its own in //p' "$T/jobd.log" | tail -1)
	escape c1 "$SETSID"; C1=$ESC
	escape c2 'setsid sleep 1000 >/dev/null 2>&1 & echo esc=$!'; C2=$ESC
	kill -9 "$JOBD_PID"; wait "$JOBD_PID" 2>/dev/null; JOBD_PID=
	check "crash-leaves-escapees" all_alive "$C1" "$C2"
	jobd_start -killgrace 1s
	check "crash-c1-gone" wait_for 5 gone "$C1"
	check "crash-c2-gone" wait_for 5 gone "$C2"
	check "crash-cgroup-dir-removed" wait_for 5 test ! -d "$CG"
	expect "crash-run-settled" "interrupted" rfield c1 1 state

	# ---- shutdown gives up on output held by something out of reach ----
	# A root job can move a process out of its cgroup: the one place left
	# that holds the output open and that no signal of jobd's reaches.
	CG=$(sed -n 's/.*each run gets a cgroup of its own in //p' "$T/jobd.log" | tail -1)
	escape g1 "setsid sleep 1000 & echo esc=\$!; echo \$! >${CG%/*}/cgroup.procs; exit 0"; G1=$ESC
	out_of_cgroup() { alive "$1" && [ -r "/proc/$1/cgroup" ] && ! grep -q '/jobd[.]' "/proc/$1/cgroup"; }
	# The shell moves it right after saying esc=: wait for that.
	check "giveup-holder-out-of-cgroup" wait_for 5 out_of_cgroup "$G1"
	check "giveup-shutdown-bounded" stop_within 10
	echo "# shutdown giving up on an unreachable holder (-killgrace 1s): $(cat "$T/stop.ms") ms"
	check "giveup-after-grace-and-wait" test "$(cat "$T/stop.ms")" -ge 1900
	check "giveup-logged" grep -q 'job g1: run 1 .*its output is still held open 1000 ms after SIGKILL' "$T/jobd.log"
	check "giveup-holder-untouched" alive "$G1"
	kill "$G1"
	jobd_start -killgrace 1s
	expect "giveup-run-recorded" done rfield g1 1 state
	check "giveup-run-says-why" sh -c "\"$J\" read jobs/g1/runs/1/output | grep -q 'jobd stopped: output still held open after SIGKILL'"
	jobd_stop

	# ---- -cgroup DIR: a directory of the administrator's choosing ----
	D=$CGMNT/jobd-escape-test.$$
	mkdir "$D" && ON_EXIT="$ON_EXIT; rmdir $D"
	jobd_start -cgroup "$D" -killgrace 1s
	check "dir-used" grep -q "each run gets a cgroup of its own in $D/jobd.$JOBD_PID\$" "$T/jobd.log"
	check "dir-escapes" escape x1 "$SETSID"
	check "dir-run-cgroup" grep -q "^0::/jobd-escape-test.$$/jobd.$JOBD_PID/run[.]" "/proc/$ESC/cgroup"
	check "dir-kill" "$J" kill x1
	check "dir-kill-ends-escapee" wait_for 10 gone "$ESC"
	jobd_stop
	check "dir-cleaned" sh -c "! ls -d $D/jobd.* 2>/dev/null"

	# ---- a burst's cgroups are made in the wait before its instant ----
	# (sched.c, "ahead of an instant"; run/cgroup.c, cgroup_pool_fill): 40
	# jobs due at one fixed second; their cgroups exist, empty, before it,
	# and the burst makes none of its own (those 40 serve it, and come back).
	jobd_start -cgroup "$D"
	CG=$D/jobd.$JOBD_PID
	at=$(( $(date +%s) + 12 ))
	aexpr=$(date -d "@$at" +'%-S %-M %-H %-d %-m * %Y')
	i=0
	while [ $i -lt 40 ]; do
		"$J" write clone "ah$i:$aexpr:true" && "$J" write "jobs/ah$i/ctl" start
		i=$((i + 1))
	done
	ncg() { ls -d "$CG"/run.* 2>/dev/null | wc -l; }
	made_ahead() { [ "$(ncg)" -ge 40 ] && [ "$(date +%s)" -lt "$at" ]; }
	check "ahead-started-in-time" test "$(date +%s)" -lt $((at - 3))
	check "ahead-cgroups-before-instant" wait_for 15 made_ahead
	ahead_done() { [ "$("$J" ls-files jobs/ah39/runs 2>/dev/null | wc -l)" -eq 1 ] &&
		[ "$(rfield ah39 1 state)" = done ]; }
	check "ahead-burst-ran" wait_for 20 ahead_done
	all_done() { i=0; while [ $i -lt 40 ]; do [ "$(rfield "ah$i" 1 state)" = done ] || return 1; i=$((i + 1)); done; }
	check "ahead-all-ran" wait_for 20 all_done
	expect "ahead-no-more-made" 40 ncg
	# Each pooled cgroup's directory and cgroup.events stay open (cgroup.c,
	# fds_hold): a run opens neither. 40 cgroups, two descriptors each.
	held() { ls -l "/proc/$JOBD_PID/fd" 2>/dev/null | grep -c -- "-> $CG/run[.]"; }
	expect "ahead-descriptors-held" 80 held
	jobd_stop

	# Within a quarter of the soft descriptor limit: with 256, at most 64
	# held, and the same burst of 40 still runs whole (the rest reached by
	# name).
	old_nofile=$(ulimit -S -n)
	ulimit -S -n 256
	jobd_start -cgroup "$D"
	ulimit -S -n "$old_nofile"
	CG=$D/jobd.$JOBD_PID
	at=$(( $(date +%s) + 8 ))
	aexpr=$(date -d "@$at" +'%-S %-M %-H %-d %-m * %Y')
	i=0
	while [ $i -lt 40 ]; do
		"$J" write "jobs/ah$i/schedule" "$aexpr"
		i=$((i + 1))
	done
	budget_done() { i=0; while [ $i -lt 40 ]; do [ "$("$J" ls-files "jobs/ah$i/runs" | wc -l)" -eq 2 ] || return 1; i=$((i + 1)); done; }
	check "budget-all-ran" wait_for 25 budget_done
	check "budget-descriptors-bounded" test "$(held)" -le 64
	check "budget-descriptors-used" test "$(held)" -ge 2
	jobd_stop
	"$JOBD" -dbdir "$T/db2" -fsaddr "unix!$T/bad.sock" -cgroup "$T" -logtostderr 2>"$T/bad.err"; rc=$?
	check "dir-not-cgroup2-exit-2" test "$rc" -eq 2
	check "dir-not-cgroup2-says-why" grep -q "$T is not on a cgroup v2 file system" "$T/bad.err"
fi

# ======== without cgroups: jobd a subreaper ========
jobd_start -cgroup none -killgrace 1s
check "none-says-subreaper" grep -q -- '-cgroup none: jobd is a subreaper' "$T/jobd.log"
mk nreuse 'setsid sleep 1000 & echo kid=$!; exit 0'
"$J" write jobs/nreuse/ctl run
wait_for 10 has nreuse 1 kid
L=$(rfield nreuse 1 pid) KID=$(said nreuse 1 kid)
track "$KID"
check "none-leader-held-as-zombie-of-jobd" wait_for 10 zombie_of "$L" "$JOBD_PID"
"$SQUAT" -u "$IA" -g "$GA" "$L" /bin/sleep 1000 >/dev/null 2>&1; rc=$?
[ "$rc" -eq 0 ] && track "$L"
if [ "$rc" -eq 4 ]; then
	skip "none-leader-pid-not-reusable" "pidsquat cannot try here (exit status 4)"
else
	check "none-leader-pid-not-reusable" test "$rc" -eq 3
fi
B3=$(bystander "$UA")
check "none-reuse-kill" "$J" kill nreuse
# The documented limit of -cgroup none: kill reaches the run's group, not
# what left it; the escapee is ended by hand (or by shutdown, below).
kill "$KID"
check "none-reuse-run-ends" wait_for 10 ended nreuse 1
check "none-reuse-kid-gone" wait_for 5 gone "$KID"
check "none-bystander-survives" alive "$B3"
live_kill nlive none-
check "none-live-bystander-survives" alive "$B3"
# Adopted: the escapee's parent exited, so jobd (the subreaper) is its parent.
check "none-setsid-escapes" escape n1 "$SETSID"; N1=$ESC
check "none-setsid-adopted" wait_for 5 sh -c "[ \"\$(sed 's/^.*) //' /proc/$N1/stat | cut -d' ' -f2)\" = $JOBD_PID ]"
check "none-double-escapes" escape n2 "$DOUBLE"; N2=$ESC
check "none-left-escapes" escape n3 'setsid sh -c "trap \"\" TERM; while :; do sleep 1; done" >/dev/null 2>&1 & echo esc=$!'; N3=$ESC
check "none-shutdown-bounded" stop_within 10
echo "# shutdown without cgroups, 3 adopted processes (one ignoring SIGTERM), -killgrace 1s: $(cat "$T/stop.ms") ms"
ended_all "none-shutdown-ended-escapees" "$N1" "$N2" "$N3"
check "none-bystander-survives-shutdown" alive "$B3"
jobd_start -cgroup none -killgrace 1s
expect "none-shutdown-recorded" "done" rfield n1 1 state
jobd_stop
finish
