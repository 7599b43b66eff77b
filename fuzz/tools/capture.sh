#!/bin/sh
# Rebuilds fuzz/corpus/9p/ from real sessions (see fuzz/README.md):
#   fuzz/tools/capture.sh [OUTDIR]        (default fuzz/corpus/9p; needs make all)
# Starts build/jobd on a temporary database, puts capture9p.py's TCP proxy in
# front of it, and drives it with jobctl (9P2000.u), diodls/diodcat (9P2000.L)
# and, unless NOVM=1, the Linux kernel's own client in all three dialects
# (tests/vm/vm.sh, one boot, tools/capture-guest.sh run in each mount). Then
# cuts the recorded streams into one corpus file per chosen frame.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$top/fuzz/corpus/9p}
T=$(mktemp -d /tmp/jobd-capture.XXXXXX)
JP= PP=
trap 'kill $PP $JP 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT

mkdir -p "$T/db" "$T/raw"
"$top/build/jobd" -dbdir "$T/db" -fsaddr 'tcp!127.0.0.1!0' -logtostderr 2>"$T/jobd.log" &
JP=$!
for i in $(seq 100); do grep -q 'listening on tcp!' "$T/jobd.log" && break; sleep 0.1; done
port=$(sed -n 's/.*listening on tcp!127\.0\.0\.1!\([0-9]*\).*/\1/p' "$T/jobd.log" | head -1)
[ -n "$port" ] || { echo "capture: jobd did not start" >&2; cat "$T/jobd.log" >&2; exit 1; }
P=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 "$top/fuzz/tools/capture9p.py" proxy "$P" "$port" "$T/raw" &
PP=$!
for i in $(seq 50); do
	python3 -c "import socket; socket.create_connection(('127.0.0.1', $P)).close()" 2>/dev/null && break
	sleep 0.1
done

# Errors are part of the point: a refused write or a missing file is a frame too.
C="$top/build/jobctl -a tcp!127.0.0.1!$P"
$C ls
$C new hello '0 0 1 1 * 2099' 'echo hello world'
$C start hello
$C ls
$C status hello
$C write jobs/hello/ctl run
sleep 1
$C log hello
$C read jobs/hello/schedule
$C read stats
$C ls-files /
$C ls-files jobs/hello
$C ls-files jobs/hello/runs
$C read jobs/hello/runs/1/output
$C write jobs/hello/env 'A=1
B=two'
$C write jobs/hello/ctl bogus
$C read jobs/nosuch/cmd
$C write clone 'bad:61 * * * *:x'
$C new u2 '@hourly' 'date'
$C write jobs/u2/ctl delete
$C stop hello

S=127.0.0.1:$P
PATH=$PATH:/usr/sbin
diodls -s "$S" -a / /
diodls -l -s "$S" -a / /jobs/hello
diodcat -s "$S" -a / /jobs/hello/cmd
diodcat -s "$S" -a / /jobs/hello/log
diodcat -s "$S" -a / /stats
diodcat -s "$S" -a / /jobs/nosuch/cmd

if [ "${NOVM:-0}" != 1 ]; then
	"$top/tests/vm/vm.sh" --port "$P" --mount L:9p2000.L --mount u:9p2000.u \
		--mount p:9p2000 "$top/fuzz/tools/capture-guest.sh"
fi
sleep 0.5
rm -rf "$out"
python3 "$top/fuzz/tools/capture9p.py" split -per-type 3 "$T/raw" "$out"
