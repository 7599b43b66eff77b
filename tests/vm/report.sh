# vm_report RC MIN_OK: reports a guest run of vm.sh (sourced by tests/vm/test-*.sh
# after tests/e2e/lib.sh). Its output, $T/vm.out, holds the guest's ok/not ok
# lines, shown under this test's name; RC is vm.sh's status. Fails when the
# guest failed a check, ran fewer than MIN_OK, or the harness failed or timed
# out; then shows what vm.sh and jobd said.
vm_report() {
	rc=$1 min=$2
	sed "s|^\(not \)\{0,1\}ok - |&$TESTNAME/|" "$T/vm.out"
	guest_fail=$(grep -c '^not ok ' "$T/vm.out")
	guest_ok=$(grep -c '^ok ' "$T/vm.out")
	NFAIL=$((NFAIL + guest_fail))
	case $rc in
	0)	[ "$guest_fail" -eq 0 ] || nok "guest (status 0 despite failures)"
		[ "$guest_ok" -ge "$min" ] || nok "guest ran too few checks ($guest_ok of $min)" ;;
	124) nok "vm (timed out)" ;;
	125) nok "vm (harness failure)" ;;
	*)	[ "$guest_fail" -gt 0 ] || nok "vm (guest script status $rc)" ;;
	esac
	if [ "$rc" -ne 0 ] || [ "$guest_fail" -gt 0 ]; then
		echo "# vm.sh said:"; sed 's/^/#   /' "$T/vm.err" | tail -40
		echo "# jobd log:"; sed 's/^/#   /' "$T/jobd.log" | tail -20
	fi
}
