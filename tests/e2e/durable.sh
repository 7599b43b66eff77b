#!/bin/sh
# Durability (README, "Durability"): one restart test per promise. What was
# acknowledged survives kill -9 (with -sync normal and full); runs cut off by
# a crash are marked interrupted, logged, and what is left of their processes
# ended; the last scheduled time is kept and no fire runs twice; the schema
# upgrades from version 1 in place and a newer one is refused untouched; a
# second jobd on the same -dbdir is refused and leaves the first alone; the
# original jobd's jobs.db is imported once; a corrupt or unreadable database
# is refused, untouched; -dbdir is created 0700, and an unusable one refused.
# The crash loop is crash.sh, the full disk diskfull.sh.
. "$(dirname "$0")/lib.sh"
TESTNAME=durable
J=$JOBCTL
FIXTURES=$(cd "$(dirname "$0")" && pwd)/fixtures

HAVE_SQLITE=
command -v sqlite3 >/dev/null 2>&1 && HAVE_SQLITE=1
q() { sqlite3 "$T/db/jobd.sqlite" "$1"; }
skip() { echo "ok - $TESTNAME/$1 # SKIP $2"; }

# kill9: SIGKILL the daemon and wait for it.
kill9() {
	kill -KILL "$JOBD_PID"
	wait "$JOBD_PID" 2>/dev/null
	JOBD_PID=
}

# fresh: a new, empty $T/db (no daemon running).
fresh() {
	rm -rf "$T/db"
	mkdir -p "$T/db"
}

# refuse NAME DBDIR PATTERN [jobd flags...]: jobd must exit non-zero at start,
# with PATTERN (grep -E) in what it says. Its message is shown.
refuse() {
	name=$1 dbdir=$2 pat=$3
	shift 3
	timeout 20 "$JOBD" -dbdir "$dbdir" -fsaddr "unix!$T/refuse.sock" -logtostderr "$@" \
		</dev/null >/dev/null 2>"$T/refuse.err"
	rc=$?
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && grep -Eq -- "$pat" "$T/refuse.err"; then
		ok "$name"
		sed 's/^/#   says: /' "$T/refuse.err" | tail -2
	else
		nok "$name (exit status $rc)"
		sed 's/^/#   /' "$T/refuse.err" | tail -5
	fi
}

# same_file NAME A B: byte-for-byte equal.
same_file() { check "$1" cmp "$2" "$3"; }

# sid_alive SID: some live (not zombie) process is in session SID.
sid_alive() { ps -e -o sid=,stat= | awk -v s="$1" '$1 == s && $2 !~ /^Z/ { f = 1 } END { exit !f }'; }

# exited PID: that child of ours is gone or a zombie (kill -0 still reaches a
# zombie until it is waited for).
exited() { st=$(ps -o stat= -p "$1" 2>/dev/null); [ -z "$st" ] || [ "${st#Z}" != "$st" ]; }

# term_wait PID: SIGTERM, then its exit status; SIGKILL and 124 if it is
# still there after 60 s. No wait here can hang the test.
term_wait() {
	kill -TERM "$1"
	if wait_for 60 exited "$1"; then wait "$1"; return; fi
	echo "# pid $1 ignored SIGTERM for 60 s; killed"
	kill -KILL "$1"; wait "$1"
	return 124
}

# ---- acknowledged changes survive kill -9 ----
for sync in normal full; do
	fresh
	jobd_start -sync "$sync"
	changes() {
		$J write clone 'nightly:0 3 * * *:backup --all' &&
		$J write clone 'colon:0 0 1 1 *:echo a:b:c' &&
		$J write clone 'flip:@yearly:true' &&
		$J write jobs/nightly/ctl start &&
		$J write jobs/flip/ctl start &&
		$J write jobs/flip/ctl stop &&
		$J write jobs/flip/ctl start &&
		$J write clone 'last:@monthly:echo last'
	}
	# acknowledged, then killed at once (whether or not all were)
	check "kill9-$sync-acked" changes
	kill9
	jobd_start -sync "$sync"
	expect "kill9-$sync-jobs" "nightly
colon
flip
last" "$J" ls-files jobs
	expect "kill9-$sync-started" "started stopped started stopped" sh -c \
		"for j in nightly colon flip last; do printf '%s ' \"\$(\"$J\" read jobs/\$j/ctl)\"; done | sed 's/ \$//'"
	expect "kill9-$sync-cmd" "echo a:b:c" "$J" read jobs/colon/cmd
	expect "kill9-$sync-schedule" "0 0 1 1 *" "$J" read jobs/colon/schedule
	expect "kill9-$sync-history" "started stopped started" sh -c \
		"\"$J\" log flip | sed 's/.*://' | tr '\n' ' ' | sed 's/ \$//'"
	jobd_stop
done

# ---- -sync full syncs every commit to disk; -sync normal does not ----
# A kill -9 keeps the page cache, so the restarts above cannot tell the two
# apart; the system calls can. Each change is one commit, acknowledged after
# it: with full, at least one fsync/fdatasync each; with normal, the WAL is
# synced only at checkpoints (none in so few changes).
NSYNC=20
# syncs SYNC: sets nsyncs to how many fsync/fdatasync calls jobd -sync SYNC
# made for NSYNC changes acknowledged one by one (empty if that failed); 2 if
# strace could not attach (no ptrace here), with the reason in nostrace.
syncs() {
	nsyncs=
	fresh
	jobd_start -sync "$1"
	$J write clone 'flip:@yearly:true' || { jobd_stop; return 1; }
	strace -f -e trace=fsync,fdatasync -o "$T/strace.$1" -p "$JOBD_PID" 2>"$T/strace.err" &
	spid=$!
	attached() { grep -q "Process $JOBD_PID attached" "$T/strace.err"; }
	attached_or_gone() { attached || exited "$spid"; }
	wait_for 20 attached_or_gone
	if ! attached; then
		nostrace=$(head -1 "$T/strace.err")
		kill -KILL "$spid"; wait "$spid"; jobd_stop; return 2
	fi
	i=0 rc=0
	while [ $i -lt $NSYNC ] && [ $rc -eq 0 ]; do
		if [ $((i % 2)) -eq 0 ]; then $J write jobs/flip/ctl start; else $J write jobs/flip/ctl stop; fi
		rc=$?
		i=$((i + 1))
	done
	kill -INT "$spid"
	wait_for 20 exited "$spid" || kill -KILL "$spid"
	wait "$spid"
	jobd_stop
	[ $rc -eq 0 ] || return 1
	nsyncs=$(grep -cE '(fsync|fdatasync)\(' "$T/strace.$1")
}
if ! command -v strace >/dev/null 2>&1; then
	skip "sync-full-syncs-each-commit" "no strace command (scripts/deps.sh test installs it)"
else
	syncs full; rc=$? nfull=$nsyncs
	if [ $rc -eq 2 ]; then
		skip "sync-full-syncs-each-commit" "strace cannot attach to jobd: $nostrace"
	else
		syncs normal; nnormal=$nsyncs
		echo "# fsync/fdatasync calls for $NSYNC acknowledged changes: -sync full ${nfull:-?}, -sync normal ${nnormal:-?}"
		check "sync-full-syncs-each-commit" test -n "$nfull" -a "${nfull:-0}" -ge $NSYNC
		check "sync-normal-syncs-fewer" test -n "$nnormal" -a "${nnormal:-0}" -le $((NSYNC / 4))
	fi
fi

# ---- a run cut off by a crash: interrupted, logged, its processes ended ----
fresh
jobd_start
$J write clone 'long:* * * * * * *:echo pid=$$; sleep 3613; echo never'
$J write jobs/long/ctl start
began() { "$J" log long | grep -q ':pid=[0-9]'; }
check "run-began" wait_for 10 began
$J write jobs/long/ctl stop          # no further runs; this one goes on
pid=$("$J" log long | sed -n 's/.*:pid=//p' | head -1)
kill9
check "run-outlives-daemon" sid_alive "$pid"
jobd_start
gone() { [ -n "$pid" ] && ! sid_alive "$pid"; }
check "interrupted-processes-ended" wait_for 10 gone
expect "interrupted-logged" 1 sh -c \
	"\"$J\" log long | grep -c ':interrupted: jobd stopped while this run was in progress\$'"
check "interrupted-warned" wait_for 10 grep -q "run 1 (pid $pid) was interrupted; sent SIGTERM" "$T/jobd.log"
jobd_stop
jobd_start
expect "interrupted-logged-once" 1 sh -c "\"$J\" log long | grep -c ':interrupted:'"
if [ -n "$HAVE_SQLITE" ]; then
	expect "interrupted-run-state" "3" q "SELECT state FROM runs WHERE id = 1"
	expect "no-run-left-running" 0 q "SELECT count(*) FROM runs WHERE state IN (0, 1)"
else
	skip "interrupted-run-state" "no sqlite3 command"
fi
jobd_stop

# ---- the last scheduled time survives, and no fire runs twice ----
fresh
jobd_start
$J write clone 'every:* * * * * * *:echo sched=$JOBD_SCHEDULED'
$J write jobs/every/ctl start
runs_at_least() { [ "$("$J" log every | grep -c ':sched=')" -ge "$1" ]; }
check "fires-before-crash" wait_for 10 runs_at_least 2
kill9
if [ -n "$HAVE_SQLITE" ]; then
	last=$(q "SELECT last_sched FROM jobs WHERE name = 'every'")
	seen=$(sqlite3 "$T/db/jobd.sqlite" "SELECT max(sched) FROM runs")
	check "last-sched-stored" test "$last" -gt 0 -a "$last" = "$seen"
fi
jobd_start
expect "started-after-crash" started "$J" read jobs/every/ctl
n0=$("$J" log every | grep -c ':sched=')
check "fires-after-restart" wait_for 10 runs_at_least $((n0 + 2))
jobd_stop
"$J" log every >/dev/null 2>&1
jobd_start
expect "no-fire-twice" "" sh -c "\"$J\" log every | sed -n 's/.*:sched=//p' | sort | uniq -d"
if [ -n "$HAVE_SQLITE" ]; then
	last2=$(q "SELECT last_sched FROM jobs WHERE name = 'every'")
	check "last-sched-advances" test "$last2" -gt "$last"
	check "last-sched-after-restart" test "$last2" -ge "$(q "SELECT max(sched) FROM runs")"
fi
jobd_stop

# ---- schema: versions 1 and 3 upgrade in place; a newer one is refused, untouched ----
if [ -n "$HAVE_SQLITE" ]; then
	fresh
	sqlite3 "$T/db/jobd.sqlite" <"$FIXTURES/jobd-v1.sql"
	jobd_start
	expect "v1-jobs" "nightly
colon
ticker" "$J" ls-files jobs
	expect "v1-states" "started stopped stopped" sh -c \
		"for j in nightly colon ticker; do printf '%s ' \"\$(\"$J\" read jobs/\$j/ctl)\"; done | sed 's/ \$//'"
	expect "v1-cmd" "echo a:b:c" "$J" read jobs/colon/cmd
	expect "v1-history" "started tick skipped: previous run (pid 7758) still running completed interrupted: jobd stopped while this run was in progress" \
		sh -c "\"$J\" log -raw ticker | sed 's/^[^:]*:[^:]*:[^:]*://' | tr '\n' ' ' | sed 's/ \$//'"
	expect "v1-upgraded" 9 q "PRAGMA user_version"
	# Its lines are in chunks now (the history above reads them), the old rows gone.
	expect "v1-lines-converted" 0 q "SELECT count(*) FROM log"
	check "v1-chunks-made" test "$(q "SELECT count(*) FROM chunks")" -gt 0
	expect "v1-run-numbers" "1 2" sh -c "\"$J\" ls-files jobs/ticker/runs | tr '\\n' ' ' | sed 's/ \$//'"
	expect "v1-last-sched" 1795853923 q "SELECT last_sched FROM jobs WHERE name = 'ticker'"
	jobd_stop
	jobd_start
	expect "v1-reopens" "nightly colon ticker" sh -c "\"$J\" ls-files jobs | tr '\n' ' ' | sed 's/ \$//'"
	jobd_stop

	# Version 3 (before owners): the jobs belong to the user jobd runs as.
	fresh
	sqlite3 "$T/db/jobd.sqlite" <"$FIXTURES/jobd-v3.sql"
	jobd_start
	expect "v3-upgraded" 9 q "PRAGMA user_version"
	expect "v3-jobs" "legacy second" sh -c "\"$J\" ls-files jobs | tr '\n' ' ' | sed 's/ \$//'"
	expect "v3-settings-kept" "started 1m30s A=1" sh -c \
		"echo \$(\"$J\" read jobs/legacy/ctl) \$(\"$J\" read jobs/legacy/timeout) \$(\"$J\" read jobs/legacy/env)"
	expect "v3-owner-unrecorded" "-1 -1" sh -c "echo \$(sqlite3 \"$T/db/jobd.sqlite\" 'SELECT owner_uid FROM jobs ORDER BY id')"
	check "v3-jobd-user-controls" "$J" write jobs/legacy/ctl stop
	check "v3-new-job-owned" "$J" write clone 'fresh4:@daily:true'
	expect "v3-new-owner-recorded" "$(id -u)" q "SELECT owner_uid FROM jobs WHERE name = 'fresh4'"
	jobd_stop

	sqlite3 "$T/db/jobd.sqlite" "PRAGMA user_version = 99"
	cp "$T/db/jobd.sqlite" "$T/newer.copy"
	refuse "newer-schema-refused" "$T/db" "schema version 99 is newer than this jobd supports \(9\); upgrade jobd"
	same_file "newer-schema-untouched" "$T/db/jobd.sqlite" "$T/newer.copy"
else
	skip "v1-upgrade" "no sqlite3 command"
fi

# ---- a second jobd on the same -dbdir ----
fresh
jobd_start
$J write clone 'keep:@daily:echo kept'
refuse "second-jobd-refused" "$T/db" "another jobd \(pid $JOBD_PID\) is using $T/db"
# Even told to listen on the first one's socket, it touches nothing.
timeout 20 "$JOBD" -dbdir "$T/db" -fsaddr "unix!$JOBD_SOCK" -fsaddr "$JOBD_TCP" -logtostderr \
	</dev/null >/dev/null 2>"$T/second.err"
check "second-jobd-exit-1" test $? -eq 1
expect "first-still-serves" "echo kept" "$J" read jobs/keep/cmd
check "first-still-writes" "$J" write clone 'more:@daily:true'
expect "first-tcp-still-serves" "keep
more" "$J" -a "$JOBD_TCP" ls-files jobs
jobd_stop
jobd_start
expect "first-data-intact" "keep
more" "$J" ls-files jobs
jobd_stop

# ---- the original jobd's jobs.db: imported once, kept as a backup ----
fresh
cat >"$T/db/jobs.db" <<'EOF'
hello:0 0/5 * * * ? *:echo hello world
colons:0 0 1 1 *:echo a:b:c; printf '%s\n' x:y

this line has no fields
bad/name:* * * * *:true
badexpr:61 * * * *:true
nightly:0 3 * * *:/usr/local/bin/backup --all
EOF
cp "$T/db/jobs.db" "$T/jobs.db.orig"
jobd_start
expect "import-jobs" "hello
colons
nightly" "$J" ls-files jobs
expect "import-stopped" "stopped stopped stopped" sh -c \
	"for j in hello colons nightly; do printf '%s ' \"\$(\"$J\" read jobs/\$j/ctl)\"; done | sed 's/ \$//'"
expect "import-cmd-with-colons" "echo a:b:c; printf '%s\n' x:y" "$J" read jobs/colons/cmd
expect "import-schedule" "0 0/5 * * * ? *" "$J" read jobs/hello/schedule
check "import-bad-line-4" grep -q "jobs.db:4: want name:cronexpr:command" "$T/jobd.log"
check "import-bad-line-5" grep -q "jobs.db:5: .*bad/name" "$T/jobd.log"
check "import-bad-line-6" grep -q "jobs.db:6: bad schedule '61 \* \* \* \*'" "$T/jobd.log"
check "import-summary" grep -q "imported 3 jobs (stopped) .* 3 lines skipped" "$T/jobd.log"
check "import-text-file-moved" test ! -e "$T/db/jobs.db"
backup=$(ls "$T/db" | grep '^jobs\.db\.imported-' | head -1)
check "import-backup-kept" test -n "$backup"
[ -n "$backup" ] && same_file "import-backup-identical" "$T/db/$backup" "$T/jobs.db.orig"
$J write jobs/hello/ctl start
jobd_stop
jobd_start
check "import-once" sh -c "! grep -q 'jobs.db' \"$T/jobd.log\""
expect "import-state-kept" "started" "$J" read jobs/hello/ctl
jobd_stop
# A jobs.db put back (or left by an import cut short) adds nothing twice.
cp "$T/jobs.db.orig" "$T/db/jobs.db"
jobd_start
check "reimport-nothing-twice" grep -q "imported 0 jobs (stopped) .*(3 lines were jobs already there, 3 lines skipped)" "$T/jobd.log"
expect "reimport-jobs" "hello colons nightly" sh -c "\"$J\" ls-files jobs | tr '\n' ' ' | sed 's/ \$//'"
jobd_stop

# A jobs.db that cannot be read is not skipped over: jobd refuses to start.
fresh
mkdir "$T/db/jobs.db"
refuse "import-unreadable-refused" "$T/db" "$T/db/jobs.db is not a regular file; jobd will not use it: move it aside"

# ---- a corrupt or unreadable database is refused, untouched ----
mkdir -p "$T/junk"
printf 'these are my only jobs, honest\n' >"$T/junk/jobd.sqlite"
cp "$T/junk/jobd.sqlite" "$T/junk.copy"
refuse "garbage-refused" "$T/junk" "not a SQLite database.*move it .* aside, or restore it from a backup"
same_file "garbage-untouched" "$T/junk/jobd.sqlite" "$T/junk.copy"

# Damage past the header (the pages holding the rows).
fresh
jobd_start
long=$(head -c 1500 /dev/zero | tr '\0' y)
i=0
while [ $i -lt 10 ]; do $J write clone "job$i:@daily:echo $long"; i=$((i + 1)); done
jobd_stop
size=$(stat -c %s "$T/db/jobd.sqlite")
check "corrupt-db-has-pages" test "$size" -ge 12288
head -c 8192 /dev/zero | tr '\0' '\253' |
	dd of="$T/db/jobd.sqlite" bs=4096 seek=1 count=2 conv=notrunc 2>/dev/null
cp "$T/db/jobd.sqlite" "$T/corrupt.copy"
refuse "corrupt-refused" "$T/db" "corrupt|not a database|malformed"
same_file "corrupt-untouched" "$T/db/jobd.sqlite" "$T/corrupt.copy"

# Unreadable: the database path is a directory.
mkdir -p "$T/unread/jobd.sqlite"
refuse "unreadable-refused" "$T/unread" "cannot open $T/unread/jobd.sqlite"

# ---- -dbdir: created 0700 (with its parents); unusable ones refused ----
"$JOBD" -dbdir "$T/new/deeper/db" -fsaddr "unix!$T/new.sock" -logtostderr 2>"$T/new.err" &
newpid=$!
wait_for 20 test -S "$T/new.sock"
term_wait "$newpid"
check "dbdir-created" test -f "$T/new/deeper/db/jobd.sqlite"
expect "dbdir-mode-0700" 700 stat -c %a "$T/new/deeper/db"
: >"$T/plainfile"
refuse "dbdir-under-a-file" "$T/plainfile/db" "cannot create $T/plainfile/db: .*not a directory"
refuse "dbdir-is-a-file" "$T/plainfile" "$T/plainfile exists and is not a directory"
mkdir -p "$T/ro"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=1m tmpfs "$T/ro" 2>"$T/mount.err"; then
	ON_EXIT="${ON_EXIT:+$ON_EXIT; }umount -l '$T/ro' 2>/dev/null"
	mkdir "$T/ro/db"
	if mount -o remount,ro "$T/ro" 2>>"$T/mount.err"; then
		refuse "dbdir-read-only" "$T/ro/db" "$T/ro/db is not writable by this user: Read-only file system"
		refuse "dbdir-read-only-create" "$T/ro/new" "cannot create $T/ro/new: read-only file system"
	else
		skip "dbdir-read-only" "cannot remount tmpfs read-only: $(head -1 "$T/mount.err")"
	fi
	umount "$T/ro"
else
	skip "dbdir-read-only" "cannot mount tmpfs: $(head -1 "$T/mount.err" 2>/dev/null)"
fi
finish
