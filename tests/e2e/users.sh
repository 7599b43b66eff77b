#!/bin/sh
# Owners and permissions (doc/security.md), with two local users made for the
# test: each creates jobs over the unix socket as itself (SO_PEERCRED), cannot
# touch the other's, can read them (not with -private); jobs run as their
# owner (uid, gid, supplementary groups, HOME, USER, LOGNAME, SHELL); a job
# whose owner was deleted does not run and its log says why; root controls
# every job; stat shows owners; what a root peer's attach names are worth;
# -allowusers, -denyusers; -sockmode, -sockgroup; a jobd that is
# not root. Needs root.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ] || ! command -v useradd >/dev/null || ! command -v setpriv >/dev/null; then
	ok "users # SKIP needs root, useradd and setpriv"
	finish
fi
UA=jda$$ UB=jdb$$ GX=jdg$$
ON_EXIT="userdel $UA; userdel $UB; groupdel $GX"
if ! { groupadd "$GX" && useradd -M -N -s /bin/sh "$UA" && useradd -M -N -s /bin/bash -G "$GX" "$UB"; } 2>"$T/useradd.err"; then
	ok "users # SKIP cannot create users: $(head -1 "$T/useradd.err")"
	finish
fi
IA=$(id -u "$UA") IB=$(id -u "$UB") GA=$(id -g "$UA") GB=$(id -g "$UB")
GXID=$(getent group "$GX" | cut -d: -f3)
chmod 755 "$T"
# The users run copies of the clients from a directory they can reach.
mkdir -p "$T/bin" && cp "$JOBCTL" "$BUILD/tools/p9probe" "$T/bin/" && chmod -R a+rX "$T/bin"
J=$T/bin/jobctl P=$T/bin/p9probe
as() { # as USER command...: run as that user, with its groups, from /
	u=$1; shift
	(cd / && setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --init-groups \
		env USER="$u" "$@")
}
never='0 0 1 1 * 2099'
ended() { [ "$("$J" read "jobs/$1/runs/$2/status" 2>/dev/null | tr ' ' '\n' | sed -n 's/^state=//p')" = done ]; }
out() { "$J" read "jobs/$1/runs/$2/output" | sed 's/^[^:]*:[^:]*:[^:]*://'; }

jobd_start -keep_runs 10
# ---- each user creates jobs as itself ----
check "a-creates" as "$UA" "$J" new ja "$never" 'id -u; id -g; id -G; echo "$HOME:$USER:$LOGNAME:$SHELL"; pwd'
check "b-creates" as "$UB" "$J" new jb "$never" 'id -u; id -G; echo "$HOME:$SHELL"; pwd'
stat_line() { "$P" "unix!$JOBD_SOCK" stat "$1" | sed -n "$2p"; }
expect "stat-owner-u" "U $UA users $UA $IA $GA 755" stat_line jobs/ja 1
expect "stat-owner-l" "L $IA $GA 755" stat_line jobs/ja 2
expect "stat-writable-file-owners" "L $IB $GB 644" sh -c "\"$P\" unix!$JOBD_SOCK stat jobs/jb/ctl | sed -n 2p"
expect "stat-readonly-file" "L $IB $GB 444" sh -c "\"$P\" unix!$JOBD_SOCK stat jobs/jb/log | sed -n 2p"
expect "stat-jobd-files-root" "L 0 0 666" sh -c "\"$P\" unix!$JOBD_SOCK stat clone | sed -n 2p"

# ---- B may read A's job, not change it ----
expect "b-reads-a" 'id -u; id -g; id -G; echo "$HOME:$USER:$LOGNAME:$SHELL"; pwd' as "$UB" "$J" read jobs/ja/cmd
check "b-lists-a" sh -c "$(printf '%s' "cd / && setpriv --reuid=$IB --regid=$GB --init-groups $J ls-files jobs") | grep -qx ja"
# Every refusal must be this one (a job with no run, say, refuses a kill
# from anyone): B's kill gets a run of A's in progress to hit.
not_b="belongs to $UA \(uid $IA\): only its owner and root may change it \(you are $UB \(uid $IB\)\)"
st_state() { "$J" read "jobs/$1/runs/$2/status" | tr ' ' '\n' | sed -n 's/^state=//p'; }
running() { [ "$(st_state "$1" "$2")" = running ]; }
check "a-creates-long" as "$UA" "$J" new jl "$never" 'sleep 300'
check "a-runs-long" as "$UA" "$J" write jobs/jl/ctl run
check "a-long-running" wait_for 10 running jl 1
check_fails_with "b-cannot-start" "job ja $not_b" as "$UB" "$J" start ja
check_fails_with "b-cannot-stop" "job ja $not_b" as "$UB" "$J" stop ja
check_fails_with "b-cannot-run" "job jl $not_b" as "$UB" "$J" run jl
check_fails_with "b-cannot-kill" "job jl $not_b" as "$UB" "$J" kill jl
check_fails_with "b-cannot-kill-signal" "job jl $not_b" as "$UB" "$J" write jobs/jl/ctl "kill KILL"
check "a-run-survives-b" running jl 1
expect "b-started-no-run" "1" sh -c "\"$J\" ls-files jobs/jl/runs | wc -l"
check_fails_with "b-cannot-set" "job ja $not_b" as "$UB" "$J" set ja cmd 'echo owned'
check_fails_with "b-cannot-write-setting" "job ja $not_b" as "$UB" "$J" write jobs/ja/cmd 'echo owned'
check_fails_with "b-cannot-write-env" "job ja $not_b" as "$UB" "$J" write jobs/ja/env 'X=1'
check_fails_with "b-cannot-delete" "job ja $not_b" as "$UB" "$J" rm ja
check_fails_with "b-cannot-delete-running" "job jl $not_b" as "$UB" "$J" rm jl
expect "a-untouched" 'id -u; id -g; id -G; echo "$HOME:$USER:$LOGNAME:$SHELL"; pwd' "$J" read jobs/ja/cmd
expect "a-still-there" "stopped" "$J" read jobs/ja/ctl
check "a-kills-own" as "$UA" "$J" kill jl
ended_state() { [ "$(st_state "$1" "$2")" = done ]; }
check "a-long-ends" wait_for 20 ended_state jl 1
check "a-deletes-own" as "$UA" "$J" rm jl
check_fails_with "a-cannot-touch-b" "job jb belongs to $UB \(uid $IB\): only its owner and root may change it \(you are $UA \(uid $IA\)\)" \
	as "$UA" "$J" set jb timeout 5
# A root peer (a kernel mount made by root) may name the user it acts for;
# any other peer is who the kernel says, whatever it claims.
expect "claim-ignored-from-user" "job ja belongs to $UA (uid $IA): only its owner and root may change it (you are $UB (uid $IB))" \
	as "$UB" env P9PROBE_NUNAME=$IA "$P" "unix!$JOBD_SOCK" write jobs/ja/ctl start
expect "claim-root-ignored-from-user" "job ja belongs to $UA (uid $IA): only its owner and root may change it (you are $UB (uid $IB))" \
	as "$UB" env P9PROBE_NUNAME=0 P9PROBE_UNAME=root "$P" "unix!$JOBD_SOCK" write jobs/ja/ctl start
expect "root-peer-n_uname-trusted" "job jb belongs to $UB (uid $IB): only its owner and root may change it (you are $UA (uid $IA))" \
	env P9PROBE_NUNAME=$IA "$P" "unix!$JOBD_SOCK" write jobs/jb/ctl start
expect "root-peer-uname-trusted" "job jb belongs to $UB (uid $IB): only its owner and root may change it (you are $UA (uid $IA))" \
	env P9PROBE_NUNAME=4294967295 P9PROBE_UNAME=$UA "$P" "unix!$JOBD_SOCK" write jobs/jb/ctl start
expect "root-peer-creates-for-user" "ok" env P9PROBE_NUNAME=$IA "$P" "unix!$JOBD_SOCK" write clone "jmount:$never:true"
expect "root-peer-creation-owned" "L $IA $GA 755" sh -c "\"$P\" unix!$JOBD_SOCK stat jobs/jmount | sed -n 2p"
expect "aname-ignored" "L $IA $GA 755" sh -c \
	"P9PROBE_ANAME=/some/tree \"$P\" unix!$JOBD_SOCK stat jobs/jmount | sed -n 2p"
check_fails_with "unknown-uname-refused" "^p9probe: connect: unknown user 'nosuchuser$$'$" \
	env P9PROBE_NUNAME=4294967295 P9PROBE_UNAME=nosuchuser$$ "$P" "unix!$JOBD_SOCK" write clone x:@daily:true

# ---- each job runs as its owner ----
check "a-runs" as "$UA" "$J" write jobs/ja/ctl run
check "a-run-ends" wait_for 10 ended ja 1
expect "runs-as-owner" "$IA
$GA
$GA
/home/$UA:$UA:$UA:/bin/sh
/" out ja 1
check "b-runs" as "$UB" "$J" write jobs/jb/ctl run
check "b-run-ends" wait_for 10 ended jb 1
expect "runs-with-groups" "$IB
$GB $GXID
/home/$UB:/bin/bash
/" out jb 1
# HOME that exists is the working directory; a dir setting wins.
mkdir -p "$T/home-b" && chown "$IB" "$T/home-b"
usermod -d "$T/home-b" "$UB"
as "$UB" "$J" write jobs/jb/ctl run
check "b-run-2-ends" wait_for 10 ended jb 2
expect "cwd-is-home" "$T/home-b" sh -c "\"$J\" read jobs/jb/runs/2/output | sed 's/^[^:]*:[^:]*:[^:]*://' | tail -1"
as "$UB" "$J" set jb dir /tmp
as "$UB" "$J" write jobs/jb/ctl run
check "b-run-3-ends" wait_for 10 ended jb 3
expect "dir-setting-wins" "/tmp" sh -c "\"$J\" read jobs/jb/runs/3/output | sed 's/^[^:]*:[^:]*:[^:]*://' | tail -1"

# ---- root may control anyone's job; its own run as root ----
check "root-sets-a" "$J" set ja timeout 30
check "root-starts-b" "$J" start jb
check "root-stops-b" "$J" stop jb
"$J" new jr "$never" 'id -u; echo "$HOME"'
"$J" write jobs/jr/ctl run
check "root-run-ends" wait_for 10 ended jr 1
expect "root-runs-as-root" "0
$(getent passwd root | cut -d: -f6)" out jr 1

# ---- a job whose owner is gone does not run ----
userdel "$UA"
"$J" write jobs/ja/ctl run
check "orphan-run-ends" wait_for 10 ended ja 2
check "orphan-not-run" sh -c "\"$J\" log ja | grep -q ':cannot run: owner uid $IA no longer exists\$'"
expect "orphan-status" "exit:127" sh -c "\"$J\" read jobs/ja/runs/2/status | tr ' ' '\n' | sed -n 's/^status=//p'"
jobd_stop
jobd_start
NOGROUP=$(getent group 65534 | cut -d: -f1); NOGROUP=${NOGROUP:-65534}
expect "orphan-stat-number" "U $IA $NOGROUP $IA $IA 65534 755" stat_line jobs/ja 1
jobd_stop
useradd -M -N -u "$IA" -s /bin/sh "$UA"

# ---- -private: others' jobs are not there at all ----
jobd_start -private
expect "private-b-sees-own" "jb" as "$UB" "$J" ls-files jobs
check_fails_with "private-b-cannot-read-a" "'ja' not found" as "$UB" "$J" read jobs/ja/cmd
expect "private-a-sees-own" "ja jmount" sh -c "cd / && setpriv --reuid=$IA --regid=$GA --init-groups $J ls-files jobs | tr '\n' ' ' | sed 's/ \$//'"
expect "private-root-sees-all" "ja jb jmount jr" sh -c "\"$J\" ls-files jobs | tr '\n' ' ' | sed 's/ \$//'"
expect "private-modes" "L $IB $GB 700" sh -c "\"$P\" unix!$JOBD_SOCK stat jobs/jb | sed -n 2p"
as "$UB" "$J" read stats >"$T/stats"
expect "private-stats-global" "jobs 4" grep '^jobs ' "$T/stats"
jobd_stop

# ---- -allowusers, -denyusers ----
printf '# who may use jobd\n%s\n\n' "$UA" >"$T/allow"
printf '%s\n' "$UA" >"$T/deny"
jobd_start -allowusers "$T/allow"
check "allowed-creates" as "$UA" "$J" new ja2 "$never" true
as "$UB" "$J" new jb2 "$never" true 2>"$T/err"
check "not-allowed-refused" grep -q "$UB (uid $IB) may not create or change jobs: not listed in $T/allow$" "$T/err"
check_fails_with "not-allowed-cannot-change-own" "$UB \(uid $IB\) may not create or change jobs: not listed in $T/allow$" \
	as "$UB" "$J" set jb timeout 5
check "root-always-allowed" "$J" new jr2 "$never" true
jobd_stop
jobd_start -denyusers "$T/deny"
as "$UA" "$J" new ja3 "$never" true 2>"$T/err"
check "denied-refused" grep -q "$UA (uid $IA) may not create or change jobs: listed in $T/deny$" "$T/err"
check_fails_with "denied-cannot-change-own" "$UA \(uid $IA\) may not create or change jobs: listed in $T/deny$" \
	as "$UA" "$J" stop ja
check "not-denied-creates" as "$UB" "$J" new jb3 "$never" true
# SIGHUP reads the lists again.
printf '%s\n' "$UB" >"$T/deny"
kill -HUP "$JOBD_PID"
check "reloaded-logged" wait_for 10 grep -q "user lists read again" "$T/jobd.log"
check "reload-lifts-denial" as "$UA" "$J" new ja3 "$never" true
check_fails_with "reload-denies" "$UB \(uid $IB\) may not create or change jobs: listed in $T/deny$" \
	as "$UB" "$J" new jb4 "$never" true
jobd_stop
"$JOBD" -dbdir "$T/db" -fsaddr "unix!$T/x.sock" -allowusers "$T/nosuchfile" -logtostderr 2>"$T/err"; rc=$?
check "unreadable-allowfile-refused" test "$rc" -eq 1
check "unreadable-allowfile-says" grep -q "cannot read $T/nosuchfile" "$T/err"

# Loopback TCP identity (sock_diag) is in identity.sh; -tcpuser and -trust,
# which apply to other hosts only, in protect.sh.

# ---- -sockmode, -sockgroup: only the group's members connect ----
jobd_start -sockmode 0660 -sockgroup "$GX"
expect "socket-mode-group" "660 $GX" stat -c '%a %G' "$JOBD_SOCK"
check "group-member-connects" as "$UB" "$J" ls-files /
check_fails_with "non-member-cannot-connect" "Permission denied" as "$UA" "$J" ls-files /
jobd_stop
"$JOBD" -dbdir "$T/db" -fsaddr "unix!$T/y.sock" -sockmode 999 -logtostderr 2>"$T/err"; rc=$?
check "bad-sockmode-exit-2" test "$rc" -eq 2

# ---- jobd not root: only its user and root create jobs; all run as jobd's user ----
mkdir -p "$T/nr" && chown "$IA:$GA" "$T/nr"
setpriv --reuid="$IA" --regid="$GA" --init-groups "$JOBD" -dbdir "$T/nr/db" \
	-fsaddr "unix!$T/nr/s" -logtostderr 2>"$T/nr.log" &
NRPID=$!
ON_EXIT="kill $NRPID; $ON_EXIT"
wait_for 20 test -S "$T/nr/s"
NR="unix!$T/nr/s"
check "nonroot-own-user-creates" as "$UA" "$J" -a "$NR" new na "$never" 'id -u'
as "$UB" "$J" -a "$NR" new nb "$never" true 2>"$T/err"
check "nonroot-others-refused" grep -q "$UB (uid $IB) may not create or change jobs: jobd runs as $UA (uid $IA), not as root, so only that user and root may" "$T/err"
check "nonroot-root-creates" "$J" -a "$NR" new nr "$never" 'id -u'
check_fails_with "nonroot-others-cannot-control" "job na belongs to $UA \(uid $IA\): only its owner and root may change it" \
	as "$UB" "$J" -a "$NR" run na
"$J" -a "$NR" write jobs/nr/ctl run
nr_ended() { [ "$("$J" -a "$NR" read jobs/nr/runs/1/status | tr ' ' '\n' | sed -n 's/^state=//p')" = done ]; }
check "nonroot-run-ends" wait_for 10 nr_ended
expect "nonroot-runs-as-jobd-user" "$IA" sh -c "\"$J\" -a \"$NR\" read jobs/nr/runs/1/output | sed 's/^[^:]*:[^:]*:[^:]*://'"
kill -TERM "$NRPID"; wait "$NRPID"; rc=$?
check "nonroot-exit-0" test "$rc" -eq 0
finish
