#!/bin/sh
# Runs every test against one or more build directories and prints the total
# as its last line: "N passed, N failed".
#   tests/run.sh build [build-san]
# Each test program prints "ok - NAME" / "not ok - NAME" lines; a program that
# exits non-zero without printing a "not ok" line counts as one failure.
# TESTS="t_cron e2e/basic" limits the run to programs whose name contains a word.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
pass=0 fail=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

selected() {
	[ -z "${TESTS:-}" ] && return 0
	for w in $TESTS; do case $1 in *"$w"*) return 0 ;; esac; done
	return 1
}

run_one() { # label command...
	label=$1; shift
	selected "$label" || return 0
	echo "=== $label"
	"$@" >"$out" 2>&1
	rc=$?
	cat "$out"
	p=$(grep -c '^ok ' "$out")
	f=$(grep -c '^not ok ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $label exited with status $rc"
		f=1
	fi
	pass=$((pass + p)); fail=$((fail + f))
}

for b in "$@"; do
	bdir=$(cd "$top/$b" && pwd) || { echo "not ok - no build directory $b"; fail=$((fail+1)); continue; }
	export JOBD_BUILD="$bdir"
	case $b in
	*san*)
		export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
		export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
		export JOBD_SANITIZED=1 ;;
	*)	unset ASAN_OPTIONS UBSAN_OPTIONS JOBD_SANITIZED ;;
	esac
	for t in "$bdir"/tests/t_*; do
		[ -x "$t" ] || continue
		run_one "$b/$(basename "$t")" "$t"
	done
	for t in "$top"/tests/e2e/*.sh "$top"/tests/vm/test-*.sh; do
		[ -f "$t" ] || continue
		[ "$(basename "$t")" = lib.sh ] && continue   # the helpers, not a test
		run_one "$b/$(basename "$(dirname "$t")")/$(basename "$t" .sh)" sh "$t"
	done
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
