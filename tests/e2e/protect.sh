#!/bin/sh
# Protected mode over TCP. A network namespace joined to this one by a veth
# pair is a second host; its address is not loopback, so jobd refuses it with
# a message that says how to allow it, unless -allow names its network. An
# allowed host acts as -tcpuser, by default no one (read-only, owning
# nothing). -tcpreadonly lets such clients read but not write. -trust
# believes the host's root about its users, from a privileged port only, and
# squashes its root. A refused host's connect loop costs nobody a slot.
# Needs root (for the namespace); elsewhere only the loopback half runs.
. "$(dirname "$0")/lib.sh"

# Loopback is always accepted.
jobd_start
check "loopback-accepted" "$JOBCTL" -a "$JOBD_TCP" ls-files /
jobd_stop

if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
	skip "non-loopback" "needs root and iproute2 to build a network namespace"
	finish
fi
NS=jobdt$$
A=jva$$ B=jvb$$
NET=10.213.$(( $$ % 200 + 20 ))
ON_EXIT="ip netns del $NS; ip link del $A"
if ! { ip netns add "$NS" && ip link add "$A" type veth peer name "$B" &&
	ip link set "$B" netns "$NS" && ip addr add "$NET.1/30" dev "$A" && ip link set "$A" up &&
	ip netns exec "$NS" ip addr add "$NET.2/30" dev "$B" &&
	ip netns exec "$NS" ip link set "$B" up && ip netns exec "$NS" ip link set lo up; } 2>"$T/ns.err"; then
	skip "non-loopback" "cannot build a network namespace: $(head -1 "$T/ns.err")"
	finish
fi
remote() { ip netns exec "$NS" "$JOBCTL" -a "tcp!$NET.1!$PORT" "$@"; }
port_of() { sed -n "s/.*listening on tcp!$NET\.1!\([0-9]*\).*/\1/p" "$T/jobd.log" | head -1; }

jobd_start -fsaddr "tcp!$NET.1!0"
PORT=$(port_of)
remote ls-files / >"$T/out" 2>"$T/err"; rc=$?
check "remote-refused" test "$rc" -ne 0
check "refusal-says-how" grep -q "protected mode.*-allow $NET.2/32" "$T/err"
check "refusal-logged" grep -q "refusing tcp!$NET.2!" "$T/jobd.log"
check "still-serving-loopback" "$JOBCTL" ls-files /
# A local caller on this host's own non-loopback address is a local user,
# named by the kernel (sock_diag), not "another host": here, root.
check "local-caller-on-other-address-served" "$JOBCTL" -a "tcp!$NET.1!$PORT" new lo '0 0 1 1 * 2099' true
expect "local-caller-is-itself" "L 0" sh -c "\"$BUILD/tools/p9probe\" unix!$JOBD_SOCK stat jobs/lo | sed -n 2p | cut -d' ' -f1,2"
"$JOBCTL" rm lo >/dev/null
jobd_stop

# A refused host's connect loop: refusals never count against -maxconns.
jobd_start -fsaddr "tcp!$NET.1!0" -maxconns 4
PORT=$(port_of)
ip netns exec "$NS" "$BUILD/tools/connflood" "tcp!$NET.1!$PORT" loop 3000 >"$T/loop.out" &
LOOP=$!
ON_EXIT="kill $LOOP; $ON_EXIT"
check "refused-loop-running" wait_for 20 grep -q "refusing tcp!$NET.2!" "$T/jobd.log"
check "root-answers-during-refused-loop" "$JOBCTL" ls-files /
check "tcp-answers-during-refused-loop" "$JOBCTL" -a "$JOBD_TCP" ls-files /
expect "refused-not-counted" "1" sh -c "\"$JOBCTL\" read stats | sed -n 's/^connections //p'"
wait "$LOOP"
check "refused-loop-done" grep -q "looped 3000" "$T/loop.out"
check "refusals-logged-sparingly" test "$(grep -c "refusing tcp!$NET.2!" "$T/jobd.log")" -lt 1000
jobd_stop
# What was not logged one by one is counted, at the latest when jobd stops.
check "refusals-counted" grep -q "more connections refused in the last second" "$T/jobd.log"

jobd_start -fsaddr "tcp!$NET.1!0" -allow "$NET.0/30"
PORT=$(port_of)
check "allowed-network-accepted" remote ls-files /
remote write clone 'remote:@daily:true' 2>"$T/err"
check "default-tcpuser-no-one" grep -q "clients on other hosts act as no one here" "$T/err"
check_fails_with "no-one-made-nothing" "'remote' not found" "$JOBCTL" read jobs/remote/cmd
jobd_stop

jobd_start -fsaddr "tcp!$NET.1!0" -allow "$NET.0/30" -tcpuser nobody
PORT=$(port_of)
check "tcpuser-can-write" remote write clone 'remote:@daily:true'
expect "written" "remote" "$JOBCTL" ls-files jobs
expect "tcpuser-owns" "L 65534" sh -c "\"$BUILD/tools/p9probe\" unix!$JOBD_SOCK stat jobs/remote | sed -n 2p | cut -d' ' -f1,2"
remote write jobs/remote/ctl start >/dev/null 2>&1
jobd_stop

# -trust: the host's root (privileged source port) names its users; its
# root is squashed; an unprivileged port is any user of that host: no one.
jobd_start -fsaddr "tcp!$NET.1!0" -trust "$NET.0/30"
PORT=$(port_of)
never='0 0 1 1 * 2099'
expect "trusted-root-names-user" "ok" ip netns exec "$NS" env CONNFLOOD_CLONE="tn:$never:true" \
	"$BUILD/tools/connflood" "tcp!$NET.1!$PORT" privport nobody
expect "trusted-named-user-owns" "L 65534" sh -c "\"$BUILD/tools/p9probe\" unix!$JOBD_SOCK stat jobs/tn | sed -n 2p | cut -d' ' -f1,2"
ip netns exec "$NS" env CONNFLOOD_CLONE="tr:$never:true" \
	"$BUILD/tools/connflood" "tcp!$NET.1!$PORT" privport root >"$T/out"
# 9P2000.L carries only the errno: EROFS.
check "trusted-root-squashed" grep -qi "read-only file system" "$T/out"
check_fails_with "squashed-made-nothing" "'tr' not found" "$JOBCTL" read jobs/tr/cmd
remote write clone "tp:$never:true" 2>"$T/err"
check "trusted-unprivileged-port-no-one" grep -q "act as no one" "$T/err"
check "trusted-is-allowed" remote ls-files /
jobd_stop
"$JOBD" -dbdir "$T/db" -fsaddr "unix!$T/t.sock" -trust 0.0.0.0/0 -logtostderr 2>"$T/err"; rc=$?
check "trust-everyone-refused" test "$rc" -eq 2
check "trust-everyone-says-why" grep -q "refusing to trust every host" "$T/err"

jobd_start -fsaddr "tcp!$NET.1!0" -allow "192.0.2.0/24,$NET.2"
PORT=$(port_of)
check "allow-list-with-address" remote ls-files /
jobd_stop

jobd_start -fsaddr "tcp!$NET.1!0" -allow "$NET.0/30" -tcpreadonly -tcpuser nobody
PORT=$(port_of)
check "readonly-can-read" sh -c "ip netns exec $NS \"$JOBCTL\" -a tcp!$NET.1!$PORT ls-files jobs | grep -qx remote"
remote write clone 'nope:@daily:true' 2>"$T/err"
check "readonly-cannot-write" grep -q "read-only connection" "$T/err"
check_fails_with "readonly-cannot-ctl" "read-only connection" remote write jobs/remote/ctl start
check "unix-socket-not-readonly" "$JOBCTL" write jobs/remote/ctl start
jobd_stop
finish
