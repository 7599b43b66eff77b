#!/bin/sh
# Bounded libFuzzer passes over the 9P codec, the cron parser, jobctl's crontab
# reader and writer and its JSON writer (fuzz/README.md).
# Builds the targets (make fuzz-build, clang) unless FUZZ_NOBUILD is set, then runs
# each for FUZZ_SECONDS (default 10) on a temporary copy of its committed corpus,
# so the repository stays clean. A crash, leak, failed property or hang is
# "not ok" with the saved input's path and a hexdump; inputs are kept under
# build-fuzz/crashes/. `make test` gets the short pass (once: the sanitizer
# build skips it, the targets carry ASan+UBSan themselves); `make fuzz` a long one.
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
FB=${FUZZ_B:-build-fuzz}
case $FB in /*) ;; *) FB=$top/$FB ;; esac
secs=${FUZZ_SECONDS:-10}

if [ "${JOBD_SANITIZED:-}" = 1 ]; then
	skip "all" "runs once, in the plain build"
	finish
fi

if [ -z "${FUZZ_NOBUILD:-}" ]; then
	# Not a sub-make of the caller's (no jobserver to share): drop its flags.
	if ! (unset MAKEFLAGS MFLAGS MAKELEVEL; make -C "$top" --no-print-directory fuzz-build) \
		>"$T/build.log" 2>&1; then
		nok "build (make fuzz-build; needs clang and libclang-rt-dev: make deps-test)"
		sed 's/^/#   /' "$T/build.log" | tail -30
		finish
	fi
fi

# fuzz_one NAME MAX_LEN
fuzz_one() {
	t=$1
	bin=$FB/fuzz_$t
	if [ ! -x "$bin" ]; then
		nok "$t (no $bin)"
		return
	fi
	mkdir -p "$T/corpus-$t" "$FB/crashes/$t"
	cp "$top/fuzz/corpus/$t/"* "$T/corpus-$t/"
	"$bin" -max_total_time="$secs" -max_len="$2" -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$FB/crashes/$t/" "$T/corpus-$t" >"$T/$t.log" 2>&1
	rc=$?
	unit=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$T/$t.log" | tail -1)
	if [ "$rc" -eq 0 ] && [ -z "$unit" ]; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$T/$t.log")
		eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$T/$t.log")
		cov=$(grep -E '^#[0-9]+' "$T/$t.log" | tail -1 |
			sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\).*/cov \1, ft \2, corpus \3/p')
		ok "$t ($secs s: $runs runs, $eps exec/s, $cov)"
		return
	fi
	nok "$t: exit status $rc, input ${unit:-(none saved)}"
	if [ -n "$unit" ] && [ -f "$unit" ]; then
		echo "#   input, $(wc -c <"$unit") bytes:"
		od -A x -t x1z -v "$unit" | head -32 | sed 's/^/#   /'
		echo "#   reproduce: $bin $unit"
	fi
	grep -v -e '^#[0-9]' -e '^"' -e 'Uses: ' -e 'dictionary' -e 'in fuzzer::' -e '^stat::' \
		-e '__sanitizer_print_stack_trace' -e 'libc_start' -e ' in _start ' "$T/$t.log" |
		sed -n '/ERROR\|runtime error\|fuzz_[a-z0-9]*: \|ALARM\|deadly signal\|out-of-memory/,$p' |
		head -40 | sed 's/^/#   /'
}

fuzz_one 9p 4096
fuzz_one cron 200
fuzz_one crontab 4096
fuzz_one json 4096
finish
