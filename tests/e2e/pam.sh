#!/bin/sh
# Account policy and limits for runs as their owners (doc/security.md), with
# a PAM configuration of the test's own in $T/pam (-pamdir; never the
# machine's /etc/pam.d) and two local users made for the test: the account
# stack decides whether a run starts (a locked password, by this test's
# policy, and an expired account stop it, with the reason as the run's
# output and once in jobd's log; the command never runs); the session's
# pam_limits and pam_env apply to the run and never to jobd; a job's limits
# setting lowers limits and cannot raise them past limits.conf; bad limits
# are refused; -pam none skips PAM; a named service without its file stops
# jobd at start-up; a session that fails stops the run. Needs root.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ] || ! command -v useradd >/dev/null || ! command -v setpriv >/dev/null ||
	! command -v bash >/dev/null; then
	skip "all" "needs root, useradd, setpriv and bash"
	finish
fi
UA=jpa$$ UB=jpb$$
ON_EXIT="userdel $UA; userdel $UB"
if ! { useradd -M -N -s /bin/sh "$UA" && useradd -M -N -s /bin/sh "$UB"; } 2>"$T/useradd.err"; then
	skip "all" "cannot create users: $(head -1 "$T/useradd.err")"
	finish
fi
# A password (unusable, but set): passwd -S says P, and usermod -L makes it L.
usermod -p x "$UA" && usermod -p x "$UB"
chmod 755 "$T"
mkdir -p "$T/bin" "$T/out" "$T/pam" && chmod 1777 "$T/out"
cp "$JOBCTL" "$T/bin/" && chmod -R a+rX "$T/bin"
J=$T/bin/jobctl

# ---- the private PAM configuration ----
# The account stack: pam_unix (expiry), then this test's stand-in for an
# administrator's policy on locked passwords (pam_unix has none).
cat >"$T/pam/notlocked" <<'EOF'
#!/bin/sh
PATH=/usr/sbin:/usr/bin:/sbin:/bin
if [ "$(passwd -S "$PAM_USER" | cut -d' ' -f2)" = L ]; then
	echo "account $PAM_USER is locked"
	exit 1
fi
exit 0
EOF
chmod 755 "$T/pam/notlocked"
cat >"$T/pam/jobd" <<EOF
account  required  pam_unix.so
account  required  pam_exec.so stdout $T/pam/notlocked
session  required  pam_env.so readenv=0 conffile=$T/pam/env.conf
session  required  pam_limits.so conf=$T/limits.conf
EOF
printf 'PAMVAR DEFAULT=from-pam\nSHARED DEFAULT=from-pam\n' >"$T/pam/env.conf"
cat >"$T/limits.conf" <<EOF
$UA soft nproc 57
$UA hard nproc 57
$UB soft nproc 58
$UB hard nproc 58
$UB soft nofile 1000
$UB hard nofile 1000
EOF

as() { # as USER command...
	u=$1; shift
	(cd / && setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --init-groups "$@")
}
never='0 0 1 1 * 2099'
st() { "$J" read "jobs/$1/runs/$2/status" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$3=//p"; }
ended() { [ "$(st "$1" "$2" state)" = done ]; }
out() { "$J" read "jobs/$1/runs/$2/output" | sed 's/^[^:]*:[^:]*:[^:]*://'; }
line() { out "$1" "$2" | sed -n "$3p"; }
# run JOB N: runs the job (its run number N) and waits for the run's end.
run() { "$J" write "jobs/$1/ctl" run && wait_for 10 ended "$1" "$2"; }
limits_of() { sed -n "s/^$1 *\([0-9a-z]*\) *\([0-9a-z]*\).*/\1 \2/p" "/proc/$JOBD_PID/limits"; }
refusals() { grep -c "job $1: PAM service jobd refuses user" "$T/jobd.log"; }

jobd_start -pamdir "$T/pam"
check "pam-announced" grep -q "PAM: runs as their owners pass service jobd ($T/pam/jobd)" "$T/jobd.log"
cat "/proc/$JOBD_PID/limits" >"$T/jobd-limits.before"
check "a-creates" as "$UA" "$J" new ja "$never" \
	'touch "$OUT/ja.$JOBD_RUN"; bash -c "ulimit -u; ulimit -n"; echo "PAMVAR=$PAMVAR SHARED=$SHARED"'
# $OUT is the job's: the marker tells whether the command ran.
check "a-sets-env" as "$UA" "$J" set ja env "OUT=$T/out" SHARED=from-job
check "b-creates" as "$UB" "$J" new jb "$never" 'bash -c "ulimit -u; ulimit -n"'

# ---- the session: pam_limits and pam_env in the run, not in jobd ----
check "a-run-1" run ja 1
expect "a-nproc-from-limits-conf" "57" line ja 1 1
check "a-ran" test -e "$T/out/ja.1"
expect "pam-env-joins" "PAMVAR=from-pam SHARED=from-job" line ja 1 3
check "b-run-1" run jb 1
expect "b-limits-from-limits-conf" "58 1000" sh -c "\"$J\" read jobs/jb/runs/1/output | sed 's/^[^:]*:[^:]*:[^:]*://' | tr '\n' ' ' | sed 's/ \$//'"
cat "/proc/$JOBD_PID/limits" >"$T/jobd-limits.after"
check "jobd-limits-untouched" cmp "$T/jobd-limits.before" "$T/jobd-limits.after"
JOBD_NPROC=$(limits_of 'Max processes' | cut -d' ' -f1)
check "jobd-nproc-not-a-users" test -n "$JOBD_NPROC" -a "$JOBD_NPROC" != 57
# The child runs PAM's session between fork and exec: safe only while jobd's
# other threads, if any, are its spawners, which hold no lock the child could
# need (src/run/spawner.c). (With -pam every run is forked: there are none.)
others() { for t in /proc/$JOBD_PID/task/*; do [ "$t" = "/proc/$JOBD_PID/task/$JOBD_PID" ] || cat "$t/comm"; done | grep -vx jobd-spawn || true; }
expect "jobd-threads-only-spawners" "" others

# ---- the limits setting ----
check "a-sets-nofile" as "$UA" "$J" set ja limits nofile=77
expect "limits-read-back" "nofile=77" "$J" read jobs/ja/limits
check "a-run-2" run ja 2
expect "limits-nofile-applies" "77" line ja 2 2
expect "limits-keep-pam-nproc" "57" line ja 2 1
# Above what limits.conf gives, a job's limit is cut to it: it lowers, never raises.
check "b-asks-more" as "$UB" "$J" set jb limits nofile=5000 nproc=unlimited
check "b-run-2" run jb 2
expect "limits-cannot-raise" "58 1000" sh -c "\"$J\" read jobs/jb/runs/2/output | sed 's/^[^:]*:[^:]*:[^:]*://' | tr '\n' ' ' | sed 's/ \$//'"
check "b-sets-the-rest" as "$UB" "$J" write jobs/jb/limits 'core=0 cpu=60 as=536870912'
expect "limits-canonical" "as=512M cpu=60 core=0" "$J" read jobs/jb/limits
check "b-cmd" as "$UB" "$J" set jb cmd 'bash -c "ulimit -c; ulimit -t; ulimit -v"'
check "b-run-3" run jb 3
expect "limits-as-cpu-core" "0 60 524288" sh -c "\"$J\" read jobs/jb/runs/3/output | sed 's/^[^:]*:[^:]*:[^:]*://' | tr '\n' ' ' | sed 's/ \$//'"
# nproc counts the owner's processes: with 1, the run itself may not fork.
check "b-nproc-1" as "$UB" "$J" set jb limits nproc=1
check "b-cmd-forks" as "$UB" "$J" set jb cmd 'echo start; (echo forked); echo end'
check "b-run-4" run jb 4
out jb 4 >"$T/nproc.out"
check "nproc-run-started" grep -qx start "$T/nproc.out"
check "nproc-applies" sh -c "! grep -qx forked \"$T/nproc.out\""
# Bad values are refused with the reason, and change nothing.
check_fails_with "bad-limit-refused" "^jobctl: ja: limits: unknown limit 'foo' \\(known: nproc, nofile, as, cpu, core\\)$" \
	"$J" set ja limits foo=1
check_fails_with "bad-value-refused" "limits: nofile=abc: want a whole number or unlimited$" \
	"$J" write jobs/ja/limits 'nofile=abc'
check_fails_with "bad-value-says" "limits: nofile=lots: want a whole number or unlimited$" \
	"$J" write jobs/ja/limits 'nofile=lots'
check_fails_with "bad-ctl-set-refused" "limits: as=5X: want a size in bytes" \
	"$J" write jobs/ja/ctl 'set limits as=5X'
check_fails_with "twice-refused" "limits: nofile is given twice$" "$J" write jobs/ja/limits 'nofile=1 nofile=2'
expect "bad-changed-nothing" "nofile=77" "$J" read jobs/ja/limits

# ---- a locked account (this test's policy) does not run ----
usermod -L "$UA"
check "locked-run-ends" run ja 3
expect "locked-status" "exit:127" st ja 3 status
check "locked-reason" sh -c "\"$J\" read jobs/ja/runs/3/output | head -1 | grep -q ':cannot run: PAM service jobd refuses user $UA: .*account $UA is locked'"
check "locked-never-ran" test ! -e "$T/out/ja.3"
check "locked-logged" test "$(refusals ja)" -eq 1
check "locked-run-again" run ja 4
check "locked-again-never-ran" test ! -e "$T/out/ja.4"
check "locked-again-reason" sh -c "\"$J\" read jobs/ja/runs/4/output | grep -q 'cannot run: PAM service jobd refuses user $UA'"
check "logged-once" test "$(refusals ja)" -eq 1
as "$UB" "$J" set jb limits '' && as "$UB" "$J" set jb cmd true
check "others-still-run" run jb 5
expect "others-status" "exit:0" st jb 5 status
usermod -U "$UA"
check "unlocked-runs" run ja 5
check "unlocked-ran" test -e "$T/out/ja.5"
check "unlocked-logged" grep -q "job ja: PAM accepts $UA again" "$T/jobd.log"

# ---- an expired account does not run ----
usermod -e 1 "$UA"
check "expired-run-ends" run ja 6
expect "expired-status" "exit:127" st ja 6 status
expect "expired-reason" "cannot run: PAM service jobd refuses user $UA: User account has expired (Your account has expired; please contact your system administrator.)" line ja 6 1
check "expired-never-ran" test ! -e "$T/out/ja.6"
check "expired-logged" test "$(refusals ja)" -eq 2
usermod -e '' "$UA"
check "unexpired-runs" run ja 7
check "unexpired-ran" test -e "$T/out/ja.7"
jobd_stop

# ---- -pam none: no account check, no session ----
usermod -e 1 "$UA"
jobd_start -pam none -pamdir "$T/pam"
check "none-runs-expired" run ja 8
check "none-ran" test -e "$T/out/ja.8"
# Without PAM's session the run keeps jobd's own process limit.
expect "none-no-pam-limits" "$JOBD_NPROC" line ja 8 1
expect "none-job-limits-still" "77" line ja 8 2
expect "none-no-pam-env" "PAMVAR= SHARED=from-job" line ja 8 3
check "none-not-announced" sh -c "! grep -q 'PAM:' \"$T/jobd.log\""
jobd_stop
usermod -e '' "$UA"

# ---- a session that fails: reported from the child, the command never runs ----
printf 'account required pam_permit.so\nsession required pam_deny.so\n' >"$T/pam/nosession"
jobd_start -pam nosession -pamdir "$T/pam"
check "nosession-run-ends" run ja 9
expect "nosession-status" "exit:127" st ja 9 status
expect "nosession-reason" "cannot run: PAM session: Cannot make/remove an entry for the specified session" line ja 9 1
check "nosession-never-ran" test ! -e "$T/out/ja.9"
jobd_stop

# ---- a service without its file: jobd does not start ----
"$JOBD" -dbdir "$T/db2" -fsaddr "unix!$T/x.sock" -pam nosuch -pamdir "$T/pam" -logtostderr 2>"$T/err"; rc=$?
check "missing-service-exit-2" test "$rc" -eq 2
expect "missing-service-says" "jobd: -pam nosuch: PAM service nosuch has no file $T/pam/nosuch; install it (contrib/pam/jobd) or start jobd with -pam none" cat "$T/err"
check "missing-service-no-db" test ! -e "$T/db2"
mkdir -p "$T/empty"
"$JOBD" -dbdir "$T/db2" -fsaddr "unix!$T/x.sock" -pamdir "$T/empty" -logtostderr 2>"$T/err"; rc=$?
check "missing-default-in-pamdir-exit-2" test "$rc" -eq 2
check "missing-default-in-pamdir-says" grep -q "PAM service jobd has no file $T/empty/jobd" "$T/err"
"$JOBD" -dbdir "$T/db2" -fsaddr "unix!$T/x.sock" -pam ../jobd -pamdir "$T/pam" -logtostderr 2>"$T/err"; rc=$?
check "service-name-checked" test "$rc" -eq 2
check "service-name-says" grep -q "'../jobd' is not a PAM service name" "$T/err"
# The default without -pamdir: the system's jobd service if installed; if
# not, jobd starts without PAM and says so (only looked at when absent).
if [ ! -e /etc/pam.d/jobd ]; then
	jobd_start
	check "default-missing-warns" grep -q "PAM: PAM service jobd has no file /etc/pam.d/jobd: runs as their owners go without it" "$T/jobd.log"
	jobd_stop
else
	skip "default-missing-warns" "/etc/pam.d/jobd is installed here"
fi
finish
