#!/bin/sh
# A full disk (README, "Durability"): -dbdir on a 2 MiB tmpfs, filled up.
# Writes then fail with a clear error to the client, the daemon stays up and
# serves reads, and nothing already stored is lost; once there is room again
# everything works. Needs root to mount; skipped with the reason otherwise.
. "$(dirname "$0")/lib.sh"
TESTNAME=durable
J=$JOBCTL

small=$T/small
mkdir -p "$small"
if [ "$(id -u)" -ne 0 ]; then
	echo "ok - durable/disk-full # SKIP cannot mount tmpfs: not root"
	finish
fi
if ! mount -t tmpfs -o size=2m,mode=0700 tmpfs "$small" 2>"$T/mount.err"; then
	echo "ok - durable/disk-full # SKIP cannot mount tmpfs: $(head -1 "$T/mount.err")"
	finish
fi
# Lazy: detaches at once even while files on it are still open.
ON_EXIT="${ON_EXIT:+$ON_EXIT; }umount -l '$small'"
mkdir "$small/db" "$T/db"
# A bind mount, not a link: jobd refuses a -dbdir that is a symbolic link.
mount --bind "$small/db" "$T/db"
ON_EXIT="umount -l '$T/db'; $ON_EXIT"

jobd_start
i=0
while [ $i -lt 5 ]; do
	$J write clone "keep$i:@daily:echo keep $i" || nok "create-keep$i"
	i=$((i + 1))
done
$J write jobs/keep1/ctl start
$J write jobs/keep3/ctl start
# A job whose output lines find the disk full too.
$J write clone 'chatty:* * * * * * *:echo chatter'
$J write jobs/chatty/ctl start

# Fill it, then give back a little so that some writes succeed before one fails.
dd if=/dev/zero of="$small/slack" bs=16k count=6 2>/dev/null
dd if=/dev/zero of="$small/filler" bs=16k 2>/dev/null
check "disk-is-full" sh -c "! dd if=/dev/zero of='$small/more' bs=4k count=1 2>/dev/null"
rm -f "$small/more" "$small/slack"

# Creates until one is refused; each acknowledged one is remembered.
big=$(head -c 6000 /dev/zero | tr '\0' x)
acked=""
refused=0
i=0
while [ $i -lt 300 ]; do
	if $J write clone "full$i:@daily:echo $big" 2>"$T/err"; then
		acked="$acked full$i"
	else
		refused=1
		break
	fi
	i=$((i + 1))
done
check "write-refused-when-full" test "$refused" -eq 1
check "error-says-disk-full" grep -qi "disk full" "$T/err"
sed 's/^/#   client got: /' "$T/err"
check "daemon-stays-up" kill -0 "$JOBD_PID"
expect "reads-served" "echo keep 2" "$J" read jobs/keep2/cmd
check "listing-served" sh -c "\"$J\" ls-files jobs | grep -qx keep4"
# ctl writes fail or succeed, never crash the daemon; a log line that cannot
# be written is reported in jobd's own log.
$J write jobs/keep4/ctl start 2>"$T/err4" || check "ctl-error-says-disk-full" grep -qi "disk full" "$T/err4"
# chatty fires every second onto the full disk: each write that fails is
# reported in jobd's own log (a refused request is not: its client is told),
# and jobd goes on to the next fire.
reported() { [ "$(grep -c "disk full" "$T/jobd.log")" -ge "$1" ]; }
check "failed-writes-reported" wait_for 30 reported 1
check "goes-on-after-failed-write" wait_for 30 reported 2
check "daemon-up-after-runs" kill -0 "$JOBD_PID"
expect "state-still-served" "started" "$J" read jobs/keep1/ctl
keep4=$("$J" read jobs/keep4/ctl)

# Restart while still full: either it starts and serves everything, or it
# refuses with a message that says so. Never an empty start.
jobd_stop
"$JOBD" -dbdir "$T/db" -fsaddr "unix!$T/full.sock" -logtostderr 2>"$T/full.err" &
fpid=$!
if wait_for 20 sh -c "test -S '$T/full.sock' || ! kill -0 $fpid"; then :; fi
if kill -0 "$fpid" 2>/dev/null; then
	expect "restart-full-serves" "keep0" sh -c "\"$J\" -a 'unix!$T/full.sock' ls-files jobs | head -1"
	kill -TERM "$fpid"
	wait "$fpid"
else
	wait "$fpid"
	check "restart-full-says-why" grep -Eqi "disk full|no space left" "$T/full.err"
fi
sed 's/^/#   restart on a full disk: /' "$T/full.err" | grep -Ei "disk full|no space|listening" | head -2

# Room again: everything acknowledged is there, and writes work.
rm -f "$small/filler"
jobd_start
want="keep0 keep1 keep2 keep3 keep4 chatty$acked"
expect "nothing-lost" "$want" sh -c "\"$J\" ls-files jobs | tr '\n' ' ' | sed 's/ \$//'"
expect "state-kept" "started stopped started $keep4" sh -c \
	"for j in keep1 keep2 keep3 keep4; do printf '%s ' \"\$(\"$J\" read jobs/\$j/ctl)\"; done | sed 's/ \$//'"
check "writes-work-again" "$J" write clone 'after:@daily:true'
n=$(echo $acked | wc -w)
echo "# $n creates were acknowledged on the full disk before the first refusal"
jobd_stop
finish
