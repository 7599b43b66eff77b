#!/bin/sh
# Identity is the kernel's word on every path (doc/security.md), and no user
# can use up everyone's connections:
#  - loopback TCP: the uid that owns the peer's socket (sock_diag), IPv4 and
#    IPv6; a user's attach claims are ignored, root's name the user (what a
#    kernel mount with access=user sends); -denyusers holds over TCP;
#  - a peer whose address cannot be read is refused (fail closed);
#  - one user's flood of idle connections hits its own share only;
#    connections that never attach are closed; root keeps slots on the
#    unix socket. Other hosts (-tcpuser, -trust) are in protect.sh.
# Needs root (users are made for the test).
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ] || ! command -v useradd >/dev/null || ! command -v setpriv >/dev/null; then
	skip "all" "needs root, useradd and setpriv"
	finish
fi
UA=jia$$ UB=jib$$
ON_EXIT="userdel $UA; userdel $UB"
if ! { useradd -M -N -s /bin/sh "$UA" && useradd -M -N -s /bin/sh "$UB"; } 2>"$T/useradd.err"; then
	skip "all" "cannot create users: $(head -1 "$T/useradd.err")"
	finish
fi
IA=$(id -u "$UA") IB=$(id -u "$UB") GA=$(id -g "$UA")
chmod 755 "$T"
mkdir -p "$T/bin" && cp "$JOBCTL" "$BUILD/tools/p9probe" "$BUILD/tools/connflood" "$T/bin/" &&
	chmod -R a+rX "$T/bin"
J=$T/bin/jobctl P=$T/bin/p9probe F=$T/bin/connflood
as() { # as USER command...
	u=$1; shift
	(cd / && setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --init-groups \
		env USER="$u" "$@")
}
never='0 0 1 1 * 2099'
owner() { "$P" "unix!$JOBD_SOCK" stat "jobs/$1" | sed -n 2p | cut -d' ' -f2; }
ended() { [ "$("$J" read "jobs/$1/runs/$2/status" 2>/dev/null | tr ' ' '\n' | sed -n 's/^state=//p')" = done ]; }
out() { "$J" read "jobs/$1/runs/$2/output" | sed 's/^[^:]*:[^:]*:[^:]*://'; }

# ---- loopback TCP, IPv4 and IPv6 ----
echo "$UB" >"$T/deny"
jobd_start -fsaddr 'tcp![::1]!0' -denyusers "$T/deny"
PORT6=$(sed -n 's/.*listening on tcp!::1!\([0-9]*\).*/\1/p' "$T/jobd.log" | head -1)
check "user-creates-over-tcp" as "$UA" "$J" -a "$JOBD_TCP" new ta "$never" 'id -u'
expect "tcp-job-owned-by-creator" "$IA" owner ta
"$J" run ta >/dev/null
check "tcp-job-ran" wait_for 10 ended ta 1
expect "tcp-job-runs-as-creator" "$IA" out ta 1
check_fails_with "tcp-other-user-cannot-control" "job ta belongs to $UA \\(uid $IA\\): only its owner and root" \
	as "$UB" "$J" -a "$JOBD_TCP" run ta
expect "tcp-claims-ignored" \
	"job ta belongs to $UA (uid $IA): only its owner and root may change it (you are $UB (uid $IB))" \
	as "$UB" env P9PROBE_NUNAME=0 P9PROBE_UNAME=root "$P" "$JOBD_TCP" write jobs/ta/ctl start
as "$UB" "$J" -a "$JOBD_TCP" new tb "$never" true 2>"$T/err"
check "tcp-denyusers-holds" grep -q "listed in $T/deny$" "$T/err"
check_fails_with "tcp-denied-made-nothing" "'tb' not found" "$J" read jobs/tb/cmd
if [ -n "$PORT6" ]; then
	check "ipv6-user-creates" as "$UA" "$J" -a "tcp!::1!$PORT6" new t6 "$never" true
	expect "ipv6-owned-by-creator" "$IA" owner t6
else
	nok "ipv6-listener (no ::1 listener in the log)"
fi
# Root's peer names the user: what the kernel's access=user mount sends.
expect "root-attaches-as-user" "ok" env P9PROBE_NUNAME="$IA" P9PROBE_UNAME=x \
	"$P" "$JOBD_TCP" write clone "tr:$never:id -u"
expect "root-named-user-owns" "$IA" owner tr
expect "root-named-by-uname" "ok" env P9PROBE_NUNAME=4294967295 P9PROBE_UNAME="$UA" \
	"$P" "$JOBD_TCP" write clone "tu:$never:true"
expect "uname-owner" "$IA" owner tu
expect "root-itself" "0" sh -c "\"$J\" -a \"$JOBD_TCP\" new t0 '$never' true && \"$P\" unix!$JOBD_SOCK stat jobs/t0 | sed -n 2p | cut -d' ' -f2"

# ---- fail closed: a peer that is gone before it is accepted ----
kill -STOP "$JOBD_PID"
"$BUILD/tools/connflood" "$JOBD_TCP" rst >/dev/null
kill -CONT "$JOBD_PID"
check "reset-peer-refused" wait_for 10 grep -q "refusing tcp!?!0: jobd: cannot read the peer's address; refused" "$T/jobd.log"
check "serving-after-reset" "$J" ls
# A user sends a whole root session and closes before jobd accepts: the
# kernel then keeps only a closed socket with no owner (it would say uid 0
# of a TIME_WAIT entry). jobd must refuse, never run the queued requests.
kill -STOP "$JOBD_PID"
as "$UA" "$F" "$JOBD_TCP" closeburst "evil:$never:id -u" >"$T/burst" 2>&1
kill -CONT "$JOBD_PID"
check "closed-peer-burst-sent" grep -qx sent "$T/burst"
check "closed-peer-refused" wait_for 10 grep -q "cannot learn which local user is calling" "$T/jobd.log"
check "serving-after-closed-peer" "$J" ls
check_fails_with "closed-peer-made-nothing" "'evil' not found" "$J" read jobs/evil/cmd
jobd_stop

# ---- connection limits ----
# One user's flood: 1,024 idle connections over TCP and the unix socket.
# The attach deadline is long enough for the checks below to run within it
# on a loaded machine (under the sanitizers they took over 2 s).
jobd_start -maxconns 200 -maxconnsperuser 20 -attachtimeout 8s
mkfifo "$T/hold1" "$T/hold2"
as "$UA" "$F" "$JOBD_TCP" hold 512 <"$T/hold1" >"$T/flood1" &
F1=$!
as "$UA" "$F" "unix!$JOBD_SOCK" hold 512 <"$T/hold2" >"$T/flood2" &
F2=$!
exec 7>"$T/hold1" 8>"$T/hold2"
ON_EXIT="exec 7>&- 8>&-; kill $F1 $F2; $ON_EXIT"
check "flood-opened" wait_for 60 sh -c "grep -q opened '$T/flood1' && grep -q opened '$T/flood2'"
conns() { "$J" read stats | sed -n 's/^connections //p'; }
check "flood-capped-per-user" test "$(conns)" -le 21
check "flood-refusal-logged" grep -q "uid $IA already has 20 connections (the limit per user, -maxconnsperuser)" "$T/jobd.log"
check "root-answers-during-flood" "$J" ls
check "root-tcp-answers-during-flood" "$J" -a "$JOBD_TCP" ls
check "other-user-answers-during-flood" as "$UB" "$J" -a "$JOBD_TCP" ls
as "$UA" "$J" ls 2>"$T/err"
check "flooder-told-why" grep -q "already has 20 connections" "$T/err"
# Never attached: closed after -attachtimeout, and the user gets in again.
check "idle-unattached-closed" wait_for 30 grep -q "no attach within 8000 ms; closed" "$T/jobd.log"
check "flooder-slots-freed" wait_for 20 sh -c "[ \"\$(\"$J\" read stats | sed -n 's/^connections //p')\" -le 1 ]"
check "flooder-back-in" as "$UA" "$J" ls
exec 7>&- 8>&-
wait "$F1" "$F2"
jobd_stop

# Every slot but root's reserve taken (root is not limited per user):
# root still gets in on the unix socket, others are told to wait.
jobd_start -maxconns 40 -attachtimeout 0
mkfifo "$T/hold3"
"$F" "$JOBD_TCP" hold 100 <"$T/hold3" >"$T/flood3" &
F3=$!
exec 7>"$T/hold3"
ON_EXIT="exec 7>&-; kill $F3; $ON_EXIT"
check "root-flood-opened" wait_for 60 grep -q opened "$T/flood3"
# 32 = 40 less the reserve of 8, all the flood's; the reading jobctl (root,
# unix socket) takes one of the reserve: 33.
expect "reserve-left" "33" conns
check "root-unix-gets-reserve" "$J" ls
as "$UB" "$J" ls 2>"$T/err"
check "others-told-too-many" grep -q "too many connections (the limit is 40, -maxconns; 8 more are kept for root on the unix socket)" "$T/err"
exec 7>&-
wait "$F3"
jobd_stop
finish
