#!/bin/sh
# The real Linux 9p client (v9fs) against jobd: one guest boot (tests/vm/vm.sh)
# mounts jobd three times, as 9P2000.L, 9P2000.u and 9P2000, and runs the seed
# walkthrough (guest-walkthrough.sh) through each mount. The guest's ok/not ok
# lines are reported here under this test's name. The first run downloads and
# prepares the guest kernel (see tests/vm/README.md).
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/report.sh"
here=$(cd "$(dirname "$0")" && pwd)

[ -x "$JOBD" ] || { nok "jobd-built (no $JOBD)"; finish; }
jobd_start

bash "$here/vm.sh" --port "$JOBD_PORT" --timeout "${JOBD_VM_TIMEOUT:-300}" \
	--mount L:9p2000.L --mount u:9p2000.u --mount 9:9p2000 \
	"$here/guest-walkthrough.sh" >"$T/vm.out" 2>"$T/vm.err"
vm_report $? 80
jobd_stop
finish
