#!/bin/sh
# Per-user kernel mounts (doc/security.md): root in a guest mounts jobd with
# access=user, as 9P2000.L and 9P2000.u; the guest's kernel attaches once per
# local user, naming each (n_uname), over a TCP connection that jobd knows to
# be root's (sock_diag: the qemu process runs as root). Two users made on the
# host, with the same ids in the guest, each create and run a job through the
# mount (guest-users.sh). Needs root (users are made for the test).
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/report.sh"
here=$(cd "$(dirname "$0")" && pwd)

[ -x "$JOBD" ] || { nok "jobd-built (no $JOBD)"; finish; }
if [ "$(id -u)" != 0 ] || ! command -v useradd >/dev/null; then
	skip users "needs root and useradd"
	finish
fi
UA=jka$$ UB=jkb$$
ON_EXIT="userdel $UA; userdel $UB"
if ! { useradd -M -N -s /bin/sh "$UA" && useradd -M -N -s /bin/sh "$UB"; } 2>"$T/useradd.err"; then
	skip users "cannot create users: $(head -1 "$T/useradd.err")"
	finish
fi
jobd_start
{
	echo "UA=$UA IA=$(id -u "$UA") GA=$(id -g "$UA") UB=$UB IB=$(id -u "$UB") GB=$(id -g "$UB")"
	cat "$here/guest-users.sh"
} >"$T/guest.sh"
bash "$here/vm.sh" --port "$JOBD_PORT" --timeout "${JOBD_VM_TIMEOUT:-90}" \
	--mount L:9p2000.L:access=user --mount u:9p2000.u:access=user \
	"$T/guest.sh" >"$T/vm.out" 2>"$T/vm.err"
vm_report $? 24
jobd_stop
finish
