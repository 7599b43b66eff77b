#!/bin/sh
# Every limit on what a client controls, hit once with its error
# (doc/security.md): connections, fids per connection, msize, requests per
# connection, jobs per owner, write size, command length, output retention;
# a client that never reads its replies while others are served; settings
# that never reach a shell.
. "$(dirname "$0")/lib.sh"
J=$JOBCTL
P=$BUILD/tools/p9probe
never='0 0 1 1 * 2099'
rfield() { "$J" read "jobs/$1/runs/$2/status" | tr ' ' '\n' | sed -n "s/^$3=//p"; }
ended() { [ "$(rfield "$1" "$2" state 2>/dev/null)" = done ]; }

# ---- -maxconns: one over the limit is told why, then served once there is room ----
jobd_start -maxconns 2
# The holders stay until killed (600 s is only a backstop), however slow the machine.
"$P" "unix!$JOBD_SOCK" hold 600 >"$T/h1" & H1=$!
"$P" "unix!$JOBD_SOCK" hold 600 >"$T/h2" & H2=$!
ON_EXIT="kill $H1 $H2"
check "maxconns-held" wait_for 20 sh -c "grep -q held '$T/h1' && grep -q held '$T/h2'"
check_fails_with "maxconns-refused" "too many connections \(the limit is 2, -maxconns\); try again later" "$J" ls-files /
check "maxconns-logged" wait_for 20 grep -q "refusing unix!.*too many connections (the limit is 2, -maxconns)" "$T/jobd.log"
# One refused that says nothing is dropped after 2 s, so they cannot pile up.
t0=$(date +%s)
bash -c "exec 3<>/dev/tcp/127.0.0.1/$JOBD_PORT; cat <&3 >/dev/null" & SIL=$!
ON_EXIT="kill $H1 $H2 $SIL"
check "silent-refused-dropped" wait_for 20 sh -c "! kill -0 $SIL 2>/dev/null"
echo "# a silent refused connection was dropped after $(( $(date +%s) - t0 )) s"
kill "$H1" "$H2"; wait "$H1" "$H2" 2>/dev/null
ON_EXIT=
check "maxconns-room-again" wait_for 10 "$J" ls-files /
jobd_stop

# ---- -maxfids, -msize, -maxwrite, -maxcmd, -maxjobs ----
jobd_start -maxfids 8 -msize 8192 -maxwrite 1024 -maxcmd 100 -maxjobs 2 -maxreqs 1
expect "maxfids" "at 7: too many fids on this connection (the limit is 8); clunk some" \
	"$P" "unix!$JOBD_SOCK" fids 20
expect "msize-capped" "8192 9P2000.u" "$P" "unix!$JOBD_SOCK" version
check "maxreqs-1-serves" "$J" ls-files /
long=$(head -c 2000 /dev/zero | tr '\0' x)
"$J" write clone "big:$never:echo $long" 2>"$T/err"
check "maxwrite-says-why" grep -q "write of [0-9]* bytes is larger than the 1024-byte limit" "$T/err"
check_fails "maxwrite-nothing-created" "$J" read jobs/big/cmd
"$J" new c1 "$never" "echo $(head -c 200 /dev/zero | tr '\0' y)" 2>"$T/err"
check "maxcmd-says-why" grep -q "command of 205 bytes is longer than the 100-byte limit" "$T/err"
"$J" new c1 "$never" true
"$J" set c1 cmd "echo $(head -c 200 /dev/zero | tr '\0' y)" 2>"$T/err"
check "maxcmd-on-edit" grep -q "longer than the 100-byte limit" "$T/err"
expect "maxcmd-unchanged" "true" "$J" read jobs/c1/cmd
check "second-job" "$J" new c2 "$never" true
if [ "$(id -u)" = 0 ]; then
	# Root is not bound by -maxjobs; paper.sh and contract.sh check a user's limit.
	check "maxjobs-not-for-root" "$J" new c3 "$never" true
else
	"$J" new c3 "$never" true 2>"$T/err"
	check "maxjobs-says-why" grep -q "uid $(id -u) already owns 2 jobs, the limit; delete some first" "$T/err"
	"$J" rm c2
	check "maxjobs-room-after-delete" "$J" new c3 "$never" true
fi
jobd_stop

# ---- retention: -max_output, -keep_runs, -keep_bytes ----
jobd_start -max_output 1500 -keep_runs 3 -keep_bytes 2000
"$J" new r1 "$never" 'i=0; while [ $i -lt 40 ]; do echo line-$i-0123456789abcdef0123456789abcdef; i=$((i+1)); done'
for n in 1 2 3 4; do "$J" write jobs/r1/ctl run; wait_for 10 ended r1 $n; done
expect "max_output-truncated" "1" rfield r1 4 truncated
check "max_output-stored-within" test "$(rfield r1 4 output_bytes)" -le 1500
check "max_output-logged" sh -c "\"$J\" log r1 | grep -q 'output truncated: [0-9]* bytes dropped (cap 1500 bytes)'"
# Each run stores at most 1500 bytes (its lines, then jobd's about it), over 1000:
# -keep_bytes 2000 leaves one whole run, not -keep_runs' 3.
expect "keep_bytes-trims" "4" sh -c "\"$J\" ls-files jobs/r1/runs | tr '\n' ' ' | sed 's/ \$//'"
jobd_stop

# ---- a client that never reads its replies ----
# slowreader asks for a 1 MB log thousands of times and reads nothing. jobd
# queues at most about 4 MiB of replies for it, then stops reading its
# requests, so its memory stays flat while everyone else is served.
jobd_start -vmodule 'srv*=3'
"$J" new big "$never" 'head -c 1000000 /dev/zero | tr "\0" x | fold -w 4000'
"$J" write jobs/big/ctl run
check "big-log-made" wait_for 20 ended big 1
rss0=$(awk '/^VmRSS:/ { print $2 }' /proc/$JOBD_PID/status)
# It holds its connection until killed (600 s is only a backstop): while it
# does, others must be served; 60 s is a deadline only a jobd that waits for
# the slow reader misses.
"$BUILD/tools/slowreader" "unix!$JOBD_SOCK" jobs/big/log 4000 600 >"$T/slow" & SR=$!
ON_EXIT="kill $SR"
check "slowreader-blocked" wait_for 60 grep -q "; blocked" "$T/slow"
sed 's/^/# /' "$T/slow"
check "paused-logged" grep -q "bytes of replies unread; pausing its requests" "$T/jobd.log"
t0=$(date +%s%N)
check "others-served" timeout 60 "$J" ls-files jobs
check "others-write" timeout 60 "$J" new other "$never" true
check "others-read-big" timeout 60 sh -c "\"$J\" read jobs/big/log | grep -v ':run 1 ended: ' | tail -1 | grep -q 'UTC:x'"
t1=$(date +%s%N)
echo "# others served in $(( (t1 - t0) / 1000000 )) ms while the slow reader waits"
rss=$(awk '/^VmRSS:/ { print $2 }' /proc/$JOBD_PID/status)
echo "# RSS before ${rss0} kB, with the slow reader ${rss} kB"
check "rss-bounded" test "$rss" -lt $((rss0 + 65536))
kill "$SR"; wait "$SR" 2>/dev/null
# The same behind a write: the write's reply is held until the turn's commit
# and every reply after it waits behind it; what waits counts as queued, so
# jobd stops taking the flood's requests there too.
rss0=$(awk '/^VmRSS:/ { print $2 }' /proc/$JOBD_PID/status)
SLOWREADER_WRITE="jobs/other/ctl:stop" "$BUILD/tools/slowreader" "unix!$JOBD_SOCK" jobs/big/log 4000 600 >"$T/slow2" & SR=$!
ON_EXIT="kill $SR"
check "held-slowreader-blocked" wait_for 60 grep -q "; blocked" "$T/slow2"
sed 's/^/# /' "$T/slow2"
check "held-others-served" timeout 60 "$J" ls-files jobs
rss=$(awk '/^VmRSS:/ { print $2 }' /proc/$JOBD_PID/status)
echo "# RSS before ${rss0} kB, with the slow reader behind a write ${rss} kB"
check "held-rss-bounded" test "$rss" -lt $((rss0 + 65536))
kill "$SR"; wait "$SR" 2>/dev/null
ON_EXIT=
check "served-after-slow-reader" "$J" ls-files /
jobd_stop

# ---- settings never reach a shell; only the job's own /bin/sh -c runs ----
jobd_start
"$J" new inj "$never" 'echo "[$X]"; pwd'
"$J" write jobs/inj/env "X=\$(touch $T/pwned-env); \`touch $T/pwned-env2\`"
"$J" write jobs/inj/ctl run
wait_for 10 ended inj 1
check "env-not-interpolated" sh -c "\"$J\" read jobs/inj/runs/1/output | grep -qF '[\$(touch $T/pwned-env); \`touch $T/pwned-env2\`]'"
check "env-ran-nothing" sh -c "! ls $T/pwned-env* 2>/dev/null"
# dir is checked when set (it must exist then), and again at each run: set
# while it exists, then removed.
mkdir -p "$T/gone; touch $T/pwned-dir"
"$J" write jobs/inj/dir "$T/gone; touch $T/pwned-dir"
rm -r "$T/gone; touch "
"$J" write jobs/inj/ctl run
wait_for 10 ended inj 2
check "dir-not-interpolated" sh -c "\"$J\" log inj | grep -qF 'cannot run: chdir $T/gone; touch $T/pwned-dir: No such file or directory'"
check "dir-ran-nothing" test ! -e "$T/pwned-dir"
check_fails "env-key-validated" "$J" write jobs/inj/env 'A B=1'
check_fails "env-jobd-reserved" "$J" write jobs/inj/env 'JOBD_JOB=x'
check_fails "dir-relative-refused" "$J" write jobs/inj/dir 'tmp'
check_fails "name-validated" "$J" write clone 'a;b:@daily:true'
jobd_stop
finish
