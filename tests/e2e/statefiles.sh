#!/bin/sh
# The state directory and its files are jobd's alone (doc/security.md): a
# -dbdir that exists already (as `mkdir -p` leaves it, 0755) becomes 0700;
# the database, its WAL and shm and the lock are 0600, and wider ones found
# are tightened, so another user cannot read a job's env; a directory that
# is a symbolic link, is another user's or sits below one anyone may write is
# refused, as are a link or another user's file in place of the database, the
# lock or the original jobd's jobs.db: jobd exits 1 naming the path, the owner
# and what to do, and leaves the link's target alone. A directory holding
# files not jobd's is refused rather than made 0700. A unix socket in the
# directory keeps its -sockmode. Another user is made for the test: needs root.
. "$(dirname "$0")/lib.sh"
J=$JOBCTL
umask 022

if [ "$(id -u)" != 0 ] || ! command -v useradd >/dev/null || ! command -v setpriv >/dev/null; then
	skip "all" "needs root, useradd and setpriv"
	finish
fi
U=jds$$
ON_EXIT="userdel $U"
if ! useradd -M -N -s /bin/sh "$U" 2>"$T/useradd.err"; then
	skip "all" "cannot create a user: $(head -1 "$T/useradd.err")"
	ON_EXIT=
	finish
fi
UID_U=$(id -u "$U")
chmod 755 "$T"
# as_user command...: run as the test's other user.
as_user() { (cd / && setpriv --reuid="$UID_U" --regid="$(id -g "$U")" --init-groups "$@"); }
mode() { stat -c %a "$1"; }

# refuse NAME DBDIR PATTERN...: jobd must exit 1 at start, saying each
# PATTERN (grep -E). What it said is shown.
refuse() {
	name=$1 dbdir=$2
	shift 2
	timeout 20 "$JOBD" -dbdir "$dbdir" -fsaddr "unix!$T/refuse.sock" -logtostderr \
		</dev/null >/dev/null 2>"$T/refuse.err"
	rc=$?
	said=1
	for pat in "$@"; do grep -Eq -- "$pat" "$T/refuse.err" || said=0; done
	if [ "$rc" -eq 1 ] && [ "$said" = 1 ]; then
		ok "$name"
		sed 's/^/#   says: /' "$T/refuse.err" | tail -1
	else
		nok "$name (exit status $rc)"
		sed 's/^/#   /' "$T/refuse.err" | tail -5
	fi
}

# ---- a -dbdir made beforehand with mkdir -p (0755) ----
mkdir -p "$T/db"
expect "precondition-dir-0755" 755 mode "$T/db"
jobd_start
expect "dir-tightened-0700" 700 mode "$T/db"
check "dir-tightening-logged" grep -q "$T/db was mode 0755; set it to 0700" "$T/jobd.log"
$J new secret '0 0 1 1 * 2099' true
$J set secret env 'SECRET=hunter2'
expect "env-stored" "SECRET=hunter2" $J read jobs/secret/env
expect "db-0600" 600 mode "$T/db/jobd.sqlite"
expect "wal-0600" 600 mode "$T/db/jobd.sqlite-wal"
expect "shm-0600" 600 mode "$T/db/jobd.sqlite-shm"
expect "lock-0600" 600 mode "$T/db/jobd.lock"
# What the modes are for: another user cannot read the env out of the files.
check_fails_with "other-user-cannot-list-dir" "Permission denied" as_user ls "$T/db"
check_fails_with "other-user-cannot-read-db" "Permission denied" as_user cat "$T/db/jobd.sqlite"
jobd_stop

# ---- files found wider are tightened ----
chmod 755 "$T/db"
chmod 644 "$T/db/jobd.sqlite"
chmod 666 "$T/db/jobd.lock"
expect "precondition-db-0644" 644 mode "$T/db/jobd.sqlite"
jobd_start
expect "dir-0700-again" 700 mode "$T/db"
expect "db-tightened-0600" 600 mode "$T/db/jobd.sqlite"
expect "lock-tightened-0600" 600 mode "$T/db/jobd.lock"
expect "wal-0600-again" 600 mode "$T/db/jobd.sqlite-wal"
expect "data-kept" "SECRET=hunter2" $J read jobs/secret/env
jobd_stop

# ---- a group-writable directory of jobd's own user: tightened ----
mkdir "$T/gw" && chmod 2775 "$T/gw"
"$JOBD" -dbdir "$T/gw" -fsaddr "unix!$T/gw.sock" -logtostderr 2>"$T/gw.err" &
gwpid=$!
wait_for 20 test -S "$T/gw.sock"
kill -TERM "$gwpid"
wait "$gwpid"; rc=$?
check "group-writable-dir-starts" test "$rc" -eq 0
expect "group-writable-dir-tightened" 700 mode "$T/gw"

# ---- a directory holding what is not jobd's (a mistaken -dbdir): not
# locked up, refused ----
mkdir "$T/mixed" && chmod 755 "$T/mixed" && echo hi >"$T/mixed/index.html"
refuse "foreign-files-refused" "$T/mixed" "$T/mixed is mode 0755" "holds 'index.html', which is not jobd's"
expect "foreign-files-mode-kept" 755 mode "$T/mixed"

# ---- another user's directory: refused, left as it was ----
mkdir "$T/theirs" && chown "$U" "$T/theirs" && chmod 755 "$T/theirs"
refuse "other-users-dir-refused" "$T/theirs" \
	"$T/theirs is owned by $U \\(uid $UID_U\\), not by root \\(uid 0\\)" "chown it to root"
expect "other-users-dir-mode-kept" 755 mode "$T/theirs"
check "other-users-dir-empty" test -z "$(ls -A "$T/theirs")"

# ---- the directory is a symbolic link ----
ln -s "$T/db" "$T/dblink"
refuse "dir-symlink-refused" "$T/dblink" "$T/dblink is a symbolic link \\(to $T/db\\)"
refuse "dir-symlink-slash-refused" "$T/dblink/" "$T/dblink is a symbolic link"

# ---- below a directory anyone may write, without the sticky bit ----
mkdir -p "$T/open/db" && chmod 777 "$T/open"
refuse "world-writable-parent-refused" "$T/open/db" \
	"$T/open/db is below $T/open, which every user may write \\(mode 0777, no sticky bit\\)"
chmod 1777 "$T/open"
"$JOBD" -dbdir "$T/open/db" -fsaddr "unix!$T/open.sock" -logtostderr 2>"$T/open.err" &
opid=$!
check "sticky-parent-accepted" wait_for 20 test -S "$T/open.sock"
kill -TERM "$opid"
wait "$opid"

# ---- a link where the database goes: refused, its target untouched ----
mkdir -m 700 "$T/sl"
printf 'not jobd, someone else' >"$T/elsewhere"
chmod 644 "$T/elsewhere"
cp -p "$T/elsewhere" "$T/elsewhere.orig"
ln -s "$T/elsewhere" "$T/sl/jobd.sqlite"
refuse "db-symlink-refused" "$T/sl" "$T/sl/jobd.sqlite is a symbolic link \\(to $T/elsewhere\\)"
check "db-symlink-target-untouched" cmp "$T/elsewhere" "$T/elsewhere.orig"
expect "db-symlink-target-mode-kept" 644 mode "$T/elsewhere"
check "db-symlink-target-mtime-kept" test ! "$T/elsewhere" -nt "$T/elsewhere.orig" -a ! "$T/elsewhere" -ot "$T/elsewhere.orig"
rm "$T/sl/jobd.sqlite" "$T/sl/jobd.lock"
ln -s "$T/elsewhere" "$T/sl/jobd.lock"
refuse "lock-symlink-refused" "$T/sl" "$T/sl/jobd.lock is a symbolic link"
rm "$T/sl/jobd.lock"
ln -s "$T/elsewhere" "$T/sl/jobd.sqlite-wal"
refuse "wal-symlink-refused" "$T/sl" "$T/sl/jobd.sqlite-wal is a symbolic link"
check "wal-symlink-target-untouched" cmp "$T/elsewhere" "$T/elsewhere.orig"
rm "$T/sl/jobd.sqlite-wal"

# ---- another user's database: refused, left as it was ----
cp -p "$T/db/jobd.sqlite" "$T/sl/jobd.sqlite"
chown "$U" "$T/sl/jobd.sqlite" && chmod 644 "$T/sl/jobd.sqlite"
refuse "other-users-db-refused" "$T/sl" \
	"$T/sl/jobd.sqlite is owned by $U \\(uid $UID_U\\)" "move it aside"
expect "other-users-db-mode-kept" 644 mode "$T/sl/jobd.sqlite"
expect "other-users-db-owner-kept" "$U" stat -c %U "$T/sl/jobd.sqlite"

# ---- the original jobd's jobs.db: a link or another user's is not imported ----
mkdir -m 700 "$T/legacy"
printf 'evil:@daily:id\n' >"$T/legacy.jobs"
ln -s "$T/legacy.jobs" "$T/legacy/jobs.db"
refuse "legacy-symlink-refused" "$T/legacy" "jobs.db is a symbolic link"
rm "$T/legacy/jobs.db"
cp "$T/legacy.jobs" "$T/legacy/jobs.db" && chown "$U" "$T/legacy/jobs.db"
refuse "legacy-other-user-refused" "$T/legacy" "$T/legacy/jobs.db is owned by $U"
check "legacy-other-user-left" test -f "$T/legacy/jobs.db"

# ---- a unix socket in the directory keeps -sockmode ----
mkdir -p "$T/sock"
"$JOBD" -dbdir "$T/sock" -fsaddr "unix!$T/sock/jobd.sock" -logtostderr 2>"$T/sock.err" &
spid=$!
wait_for 20 test -S "$T/sock/jobd.sock"
expect "socket-keeps-sockmode" 666 mode "$T/sock/jobd.sock"
expect "socket-dir-0700" 700 mode "$T/sock"
kill -TERM "$spid"
wait "$spid"
finish
