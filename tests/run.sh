#!/bin/sh
# Runs every test against one or more build directories and prints the total
# as its last line: "N passed, N failed, N skipped".
#   tests/run.sh build [build-san]
# Each test program prints "ok - NAME" / "not ok - NAME" lines; "ok - NAME #
# SKIP reason" is a skip, counted apart and listed at the end with its reason.
# A program fails (one "not ok" more) if it exits non-zero without printing a
# "not ok" line, if it prints no line at all, or if it runs longer than its
# time limit ($JOBD_TEST_TIMEOUT seconds, default 900; it is then killed).
# With JOBD_STRICT=1 (.ci/run sets it: CI's machine can run everything) a skip
# is a failure too.
# TESTS="t_cron e2e/basic" limits the run to programs whose name contains a word.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
pass=0 fail=0 nskip=0
limit=${JOBD_TEST_TIMEOUT:-900}
out=$(mktemp) skips=$(mktemp)
trap 'rm -f "$out" "$skips"' EXIT

selected() {
	[ -z "${TESTS:-}" ] && return 0
	for w in $TESTS; do case $1 in *"$w"*) return 0 ;; esac; done
	return 1
}

run_one() { # label command...
	label=$1; shift
	selected "$label" || return 0
	echo "=== $label"
	start=$(date +%s)
	# timeout signals its whole process group: whatever the test started ends too.
	timeout -k 10 "$limit" "$@" >"$out" 2>&1 </dev/null
	rc=$?
	cat "$out"
	s=$(grep -c '^ok .*# SKIP' "$out")
	p=$(($(grep -c '^ok ' "$out") - s))
	f=$(grep -c '^not ok ' "$out")
	grep '^ok .*# SKIP' "$out" | sed 's/^ok - /  /' >>"$skips"
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		echo "not ok - $label ran longer than its limit of $limit s and was killed"
		f=$((f + 1))
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $label exited with status $rc"
		f=1
	elif [ $((p + s + f)) -eq 0 ]; then
		echo "not ok - $label printed no check"
		f=1
	fi
	if [ "$s" -gt 0 ] && [ "${JOBD_STRICT:-0}" = 1 ]; then
		echo "not ok - $label skipped $s check(s), and JOBD_STRICT=1 says this machine can run them all"
		f=$((f + 1))
	fi
	echo "# $label: $p passed, $f failed, $s skipped in $(($(date +%s) - start)) s"
	pass=$((pass + p)); fail=$((fail + f)); nskip=$((nskip + s))
}

for b in "$@"; do
	bdir=$(cd "$top/$b" && pwd) || { echo "not ok - no build directory $b"; fail=$((fail+1)); continue; }
	export JOBD_BUILD="$bdir"
	san=0
	case $b in
	*san*)
		san=1
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
		n=$(basename "$t" .sh)
		case $n in lib|clusterlib) continue ;; esac   # the helpers, not tests
		# valgrind cannot run ASan binaries, and the fuzzers are built once
		# (for the plain pass): neither has anything to do in a sanitizer pass.
		if [ "$san" = 1 ] && { [ "$n" = valgrind ] || [ "$n" = fuzz ]; }; then
			selected "$b/e2e/$n" && echo "=== $b/e2e/$n: not run in a sanitizer build (it runs in the plain one)"
			continue
		fi
		run_one "$b/$(basename "$(dirname "$t")")/$n" sh "$t"
	done
done
if [ -s "$skips" ]; then
	echo "Skipped ($nskip):"
	cat "$skips"
fi
echo "$pass passed, $fail failed, $nskip skipped"
[ "$fail" -eq 0 ]
