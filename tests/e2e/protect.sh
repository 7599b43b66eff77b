#!/bin/sh
# Protected mode over TCP. A network namespace joined to this one by a veth
# pair is a second host; its address is not loopback, so jobd refuses it with
# a message that says how to allow it, unless -allow names its network.
# -tcpreadonly lets such clients read but not write. Needs root (for the
# namespace); elsewhere only the loopback half runs.
. "$(dirname "$0")/lib.sh"

# Loopback is always accepted.
jobd_start
check "loopback-accepted" "$JOBCTL" -a "$JOBD_TCP" ls-files /
jobd_stop

if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
	ok "non-loopback # SKIP needs root and iproute2 to build a network namespace"
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
	ok "non-loopback # SKIP cannot build a network namespace: $(head -1 "$T/ns.err")"
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
jobd_stop

jobd_start -fsaddr "tcp!$NET.1!0" -allow "$NET.0/30"
PORT=$(port_of)
check "allowed-network-accepted" remote ls-files /
check "allowed-can-write" remote write clone 'remote:@daily:true'
expect "written" "remote" "$JOBCTL" ls-files jobs
jobd_stop

jobd_start -fsaddr "tcp!$NET.1!0" -allow "192.0.2.0/24,$NET.2"
PORT=$(port_of)
check "allow-list-with-address" remote ls-files /
jobd_stop

jobd_start -fsaddr "tcp!$NET.1!0" -allow "$NET.0/30" -tcpreadonly
PORT=$(port_of)
expect "readonly-can-read" "remote" remote ls-files jobs
remote write clone 'nope:@daily:true' 2>"$T/err"
check "readonly-cannot-write" grep -q "read-only connection" "$T/err"
check "readonly-cannot-ctl" sh -c "! ip netns exec $NS \"$JOBCTL\" -a tcp!$NET.1!$PORT write jobs/remote/ctl start 2>/dev/null"
check "unix-socket-not-readonly" "$JOBCTL" write jobs/remote/ctl start
jobd_stop
finish
