#!/bin/sh
# Promises of doc/namespace.md, doc/security.md and jobd-namespace(5) that no
# other test tries, each checked against a real jobd through a 9P client
# (tests/tools/p9probe.c, "do DIALECT OP PATH": "ok", or the error as each
# dialect carries it: the errno's name in 9P2000.L, "ENAME: text" in .u,
# "error: text" in 9P2000):
#  - NUL bytes in a write are refused (EINVAL) and change nothing;
#  - the sizes of env (8 KiB), dir (1 KiB) and a schedule (512 B): the limit
#    itself is accepted, a byte more refused with the reason (EINVAL);
#  - what is not supported (renames, links, symlinks, device nodes, locks,
#    extended attributes) fails with EOPNOTSUPP in 9P2000.L, EPERM in .u, an
#    error in 9P2000;
#  - every errno of the 9P2000.L error list (EINVAL, EEXIST, ENOENT, EFBIG,
#    EACCES, EPERM, EDQUOT, EROFS, ENOSPC) and ESRCH for kill;
#  - mkdir, rmdir and rm of a job, rm of a file, from a 9P client;
#  - a changed file gets a new qid version; files report their true length
#    (all but log, runs/N/output and the ever-changing stats and clone);
#  - starting a started job, stopping a stopped one, changes nothing;
#  - -private: a hidden job's name is still taken (EEXIST);
#  - -maxreqs: a client that sends more without reading is not read from
#    (others are served), and everything is answered once it reads;
#  - -maxconns: of the refused connections the 16 newest are held up to 2 s
#    and told why when they ask, older ones are closed without a word.
# The user checks need root and useradd, ENOSPC a tmpfs mount (root): they
# are skipped with the reason elsewhere.
. "$(dirname "$0")/lib.sh"
J=$JOBCTL
P=$BUILD/tools/p9probe
never='0 0 1 1 * 2099'
op() { "$P" "unix!$JOBD_SOCK" do "$@"; }   # op DIALECT OP PATH [ARG]
rep() { head -c "$1" /dev/zero | tr '\0' "$2"; }   # rep N CHAR

jobd_start

# ---- NUL bytes ----
$J new nul "$never" true
expect "nul-refused-einval" "EINVAL" op 9P2000.L write jobs/nul/cmd 'echo a\0b'
expect "nul-refusal-says-why" "EINVAL: NUL byte in write" op 9P2000.u write jobs/nul/cmd 'echo a\0b'
expect "nul-changed-nothing" "true" $J read jobs/nul/cmd

# ---- sizes of env, dir, schedule: the limit passes, one byte more does not ----
# limit NAME FILE GOOD BAD PATTERN: GOOD is stored as written; BAD is refused
# (EINVAL, its reason matching PATTERN) and leaves GOOD in place.
limit() {
	$J write "jobs/lim/$2" "$3" || { echo "limit-sized $2 refused"; return 1; }
	[ "$($J read "jobs/lim/$2")" = "$3" ] || { echo "$2 not stored as written"; return 1; }
	got=$(op 9P2000.L write "jobs/lim/$2" "$4")
	[ "$got" = EINVAL ] || { echo "$2 one byte over: $got, want EINVAL"; return 1; }
	got=$(op 9P2000.u write "jobs/lim/$2" "$4")
	echo "$got" | grep -Eq "^EINVAL: $5" || { echo "$2 one byte over: $got"; return 1; }
	[ "$($J read "jobs/lim/$2")" = "$3" ] || { echo "$2 changed by a refused write"; return 1; }
}
$J new lim "$never" true
env_ok="A=$(rep 8190 x)"
check "env-8KiB" limit env env "$env_ok" "${env_ok}y" "env: more than 8192 bytes"
# A directory whose path is 1024 bytes: dir is checked when set, so it must exist.
dir_ok=$T/l
while [ ${#dir_ok} -lt 1024 ]; do
	left=$((1024 - ${#dir_ok} - 1))
	[ "$left" -gt 200 ] && left=200
	dir_ok=$dir_ok/$(rep "$left" d)
done
mkdir -p "$dir_ok"
check "dir-1KiB" limit dir dir "$dir_ok" "${dir_ok}d" "dir: too long"
# 0,0,...,0 0 1 1 * 2099: 512 bytes; a second space before the hour makes 513.
mins="0$(rep 249 x | sed 's/x/,0/g')"
check "schedule-512B" limit schedule schedule "$mins 0 1 1 * 2099" "$mins  0 1 1 * 2099" \
	"schedule is longer than 512 bytes"

# ---- what is not supported ----
$J new uns "$never" true
# unsupported DIALECT: every unsupported operation; says what each one that
# was not refused as documented gave.
unsupported() {
	D=$1 bad=0
	for o in "rename jobs/uns new" "symlink jobs/sl" "symlink jobs/uns/sl" "mknod jobs/dev" \
		"mknod jobs/uns/dev" "link jobs/uns/cmd hard" "renameat jobs/uns new" "lock jobs/uns/cmd" \
		"getlock jobs/uns/cmd" "xattrwalk jobs/uns/cmd" "xattrcreate jobs/uns/cmd"; do
		set -- $o
		case $1 in renameat|lock|getlock|xattr*) [ "$D" = 9P2000.L ] || continue ;; esac
		got=$(op "$D" "$@" 2>&1)
		case $D:$got in
		9P2000.L:EOPNOTSUPP | 9P2000.u:EPERM:\ ?* | 9P2000:error:\ ?*) ;;
		*) echo "$D $o: $got"; bad=1 ;;
		esac
	done
	return $bad
}
for d in 9P2000 9P2000.u 9P2000.L; do
	check "unsupported-$d-refused" unsupported "$d"
done
expect "unsupported-changed-nothing" "nul lim uns" sh -c "\"$J\" ls-files jobs | tr '\n' ' ' | sed 's/ \$//'"

# ---- the 9P2000.L errno list ----
expect "einval-bad-input" "EINVAL" op 9P2000.L write jobs/uns/overlap sometimes
expect "eexist-duplicate" "EEXIST" op 9P2000.L write clone "uns:$never:true"
expect "enoent-missing" "ENOENT" op 9P2000.L write jobs/nosuch/ctl start
expect "efbig-oversized" "EFBIG" op 9P2000.L write jobs/uns/cmd "echo $(rep 16400 x)"
expect "esrch-kill-no-run" "ESRCH" op 9P2000.L write jobs/uns/ctl kill

# ---- mkdir, rmdir, rm through a 9P client ----
emptyjob() { # NAME: an empty, stopped job (no schedule, no command) that will not start
	[ "$($J read "jobs/$1/ctl")" = stopped ] && [ -z "$($J read "jobs/$1/cmd")" ] &&
		[ -z "$($J read "jobs/$1/schedule")" ] && ! $J start "$1" 2>/dev/null
}
gone() { ! $J read "jobs/$1/ctl" >/dev/null 2>&1 && ! $J ls-files jobs | grep -qx "$1"; }
expect "mkdir-L" "ok" op 9P2000.L mkdir jobs/mkl
check "mkdir-L-made-empty-job" emptyjob mkl
expect "mkdir-u" "ok" op 9P2000.u mkdir jobs/mku
check "mkdir-u-made-empty-job" emptyjob mku
expect "mkdir-taken-name" "EEXIST" op 9P2000.L mkdir jobs/uns
expect "rmdir-L" "ok" op 9P2000.L rmdir jobs/mkl
check "rmdir-L-deleted" gone mkl
expect "remove-u" "ok" op 9P2000.u rmdir jobs/mku
check "remove-u-deleted" gone mku
expect "name-free-at-once" "ok" op 9P2000.L mkdir jobs/mkl
# Removing a file of a job is accepted and changes nothing (rm -r empties first).
expect "unlink-file-L" "ok" op 9P2000.L unlink jobs/uns/cmd
expect "remove-file-u" "ok" op 9P2000.u unlink jobs/uns/cmd
expect "file-removal-changed-nothing" "true" $J read jobs/uns/cmd

# ---- qid versions and lengths ----
vers() { op 9P2000.L stat "$1" | sed -n 's/^ok vers \([0-9]*\) length .*/\1/p'; }
$J new qv "$never" true
# Every file whose content a change makes different gets a new version.
change() { # FILE: changes what FILE reads
	case $1 in
	ctl) $J start qv ;;
	status) $J stop qv ;;
	log) $J start qv ;;
	schedule) $J write jobs/qv/schedule '0 0 2 1 * 2099' ;;
	cmd) $J write jobs/qv/cmd 'echo hi' ;;
	timeout) $J write jobs/qv/timeout 5m ;;
	overlap) $J write jobs/qv/overlap queue ;;
	misfire) $J write jobs/qv/misfire once ;;
	orphan) $J write jobs/qv/orphan rerun ;;
	dir) $J write jobs/qv/dir /tmp ;;
	env) $J write jobs/qv/env A=1 ;;
	limits) $J write jobs/qv/limits nofile=100 ;;
	esac
}
versions_follow() {
	bad=0
	for f in ctl status log schedule cmd timeout overlap misfire orphan dir env limits; do
		before=$(vers "jobs/qv/$f") text=$($J read "jobs/qv/$f")
		change "$f" >/dev/null || { echo "$f: change failed"; bad=1; continue; }
		after=$(vers "jobs/qv/$f")
		[ "$text" != "$($J read "jobs/qv/$f")" ] || { echo "$f: content did not change"; bad=1; }
		[ -n "$before" ] && [ "$before" != "$after" ] || { echo "$f: version $before, then $after"; bad=1; }
	done
	return $bad
}
check "qid-version-changes-with-content" versions_follow
$J write jobs/qv/ctl run
ended() { [ "$($J read jobs/qv/runs/1/status | tr ' ' '\n' | sed -n 's/^state=//p')" = done ]; }
check "run-ended" wait_for 20 ended
# Stat says how many bytes a read returns: every file but log and output.
true_lengths() {
	bad=0
	for f in ctl status schedule cmd timeout overlap misfire orphan dir env limits runs/1/status; do
		len=$(op 9P2000.L stat "jobs/qv/$f" | sed -n 's/^ok vers [0-9]* length //p')
		lenu=$(op 9P2000.u stat "jobs/qv/$f" | sed -n 's/^ok vers [0-9]* length //p')
		n=$($J read -raw "jobs/qv/$f" | wc -c)
		[ "$len" = "$n" ] && [ "$lenu" = "$n" ] || { echo "$f: stat says $len (.L), $lenu (.u); read $n bytes"; bad=1; }
	done
	return $bad
}
check "files-report-true-length" true_lengths

# ---- starting a started job (stopping a stopped one) changes nothing ----
snapshot() {
	for f in ctl status schedule log; do $J read "jobs/st/$f"; echo; vers "jobs/st/$f"; done
}
$J new st '*/5 * * * *' true
$J start st
snapshot >"$T/st.1"
expect "start-started-ok" "ok" op 9P2000.L write jobs/st/ctl start
snapshot >"$T/st.2"
check "start-started-changed-nothing" cmp "$T/st.1" "$T/st.2"
$J stop st
snapshot >"$T/st.3"
expect "stop-stopped-ok" "ok" op 9P2000.L write jobs/st/ctl stop
snapshot >"$T/st.4"
check "stop-stopped-changed-nothing" cmp "$T/st.3" "$T/st.4"
diff "$T/st.1" "$T/st.2" | sed 's/^/#   /' | head -10
jobd_stop

# ---- -maxreqs: a client that sends and never reads is held to it ----
jobd_start -maxreqs 4 -vmodule 'srv*=3'
$J new fl "$never" true
"$P" "unix!$JOBD_SOCK" flood jobs/fl/ctl 20000 "$T/go" >"$T/flood" 2>&1 & FL=$!
ON_EXIT="kill $FL"
check "maxreqs-pauses-reading" wait_for 30 grep -q "conn [0-9]*: 4 requests outstanding, the limit; pausing its requests" "$T/jobd.log"
check "maxreqs-others-served" timeout 10 "$J" ls-files jobs
touch "$T/go"
wait "$FL"; rc=$?
ON_EXIT=
sed 's/^/#   flood: /' "$T/flood"
# Before it read anything, it got only a few hundred requests in (what the
# socket buffers hold, plus 4), not all 20000.
held_back() {
	k=$(sed -n 's/^sent \([0-9]*\) of 20000 before reading$/\1/p' "$T/flood")
	[ -n "$k" ] && [ "$k" -lt 20000 ]
}
check "maxreqs-held-flood-back" held_back
check "maxreqs-flood-answered-once-it-reads" sh -c "[ $rc -eq 0 ] && grep -qx 'answered 20000 of 20000' \"$T/flood\""
jobd_stop

# ---- -maxconns: which refused connections are told why ----
jobd_start -maxconns 1
"$P" "unix!$JOBD_SOCK" hold 120 >"$T/hold" 2>&1 & H=$!
ON_EXIT="kill $H"
check "maxconns-slot-taken" wait_for 20 grep -q held "$T/hold"
"$P" "unix!$JOBD_SOCK" refusals 20 >"$T/refusals" 2>"$T/refusals.err"
sed 's/^/#   /' "$T/refusals.err"
expect "refused-oldest-closed-without-a-word" "oldest 4: 4 closed without a word within 1.9 s" sed -n 1p "$T/refusals"
expect "refused-newest-16-told-why" "newest 16: 16 told why" sed -n 2p "$T/refusals"
expect "refused-silent-closed-after-2s" "silent 16: 16 closed without a word within 4 s" sed -n 3p "$T/refusals"
kill "$H" 2>/dev/null; wait "$H" 2>/dev/null
ON_EXIT=
jobd_stop

# ---- users: EACCES, EPERM, EDQUOT, EROFS; -private keeps hidden names taken ----
if [ "$(id -u)" != 0 ] || ! command -v useradd >/dev/null || ! command -v setpriv >/dev/null; then
	skip "users" "needs root, useradd and setpriv"
else
	UA=jca$$ UB=jcb$$
	ON_EXIT="userdel $UA; userdel $UB"
	if ! { useradd -M -N -s /bin/sh "$UA" && useradd -M -N -s /bin/sh "$UB"; } 2>"$T/useradd.err"; then
		skip "users" "cannot create users: $(head -1 "$T/useradd.err")"
	else
		chmod 755 "$T"
		mkdir -p "$T/bin" && cp "$JOBCTL" "$P" "$T/bin/" && chmod -R a+rX "$T/bin"
		as() { # as USER command...: run as that user, with its groups, from /
			u=$1; shift
			(cd / && setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --init-groups \
				env USER="$u" "$@")
		}
		asop() { u=$1; shift; as "$u" "$T/bin/p9probe" "unix!$JOBD_SOCK" do "$@"; }
		printf '%s\n' "$UB" >"$T/deny"
		jobd_start -maxjobs 2 -denyusers "$T/deny" -tcpreadonly
		as "$UA" "$T/bin/jobctl" new ja "$never" true
		as "$UA" "$T/bin/jobctl" new ja2 "$never" true
		expect "eacces-not-owner" "EACCES" asop "$UB" 9P2000.L write jobs/ja/cmd 'echo owned'
		expect "eperm-denied-user" "EPERM" asop "$UB" 9P2000.L write clone "jb:$never:true"
		expect "edquot-maxjobs" "EDQUOT" asop "$UA" 9P2000.L write clone "ja3:$never:true"
		expect "erofs-tcpreadonly" "EROFS" "$P" "$JOBD_TCP" do 9P2000.L write jobs/ja/cmd 'echo ro'
		expect "refused-changed-nothing" "ja ja2 true" sh -c \
			"printf '%s ' \$(\"$J\" ls-files jobs | grep '^j'); \"$J\" read jobs/ja/cmd"
		jobd_stop
		jobd_start -private
		expect "private-hidden" "ENOENT" asop "$UB" 9P2000.L stat jobs/ja
		expect "private-name-taken-clone" "EEXIST" asop "$UB" 9P2000.L write clone "ja:$never:true"
		expect "private-name-taken-mkdir" "EEXIST" asop "$UB" 9P2000.L mkdir jobs/ja
		expect "private-refusals-changed-nothing" "ja ja2" sh -c "\"$J\" ls-files jobs | grep '^j' | tr '\n' ' ' | sed 's/ \$//'"
		jobd_stop
	fi
fi

# ---- ENOSPC: -dbdir on a full 2 MiB tmpfs ----
small=$T/small
mkdir -p "$small"
if [ "$(id -u)" != 0 ]; then
	skip "enospc" "cannot mount a tmpfs: not root"
elif ! mount -t tmpfs -o size=2m,mode=0700 tmpfs "$small" 2>"$T/mount.err"; then
	skip "enospc" "cannot mount a tmpfs: $(head -1 "$T/mount.err")"
else
	ON_EXIT="${ON_EXIT:+$ON_EXIT; }umount -l '$small'"
	rm -rf "$T/db" && mkdir "$small/db" "$T/db"
	mount --bind "$small/db" "$T/db"
	ON_EXIT="umount -l '$T/db'; $ON_EXIT"
	jobd_start
	dd if=/dev/zero of="$small/filler" bs=16k 2>/dev/null
	# Creates until one is refused: the refusal is ENOSPC.
	first_refusal() {
		i=0
		while [ $i -lt 300 ]; do
			got=$(op 9P2000.L write clone "full$i:$never:echo $(rep 6000 x)")
			[ "$got" = ok ] || { echo "$got"; return 0; }
			i=$((i + 1))
		done
		echo "300 creates, none refused"
	}
	expect "enospc-disk-full" "ENOSPC" first_refusal
	jobd_stop
fi
finish
