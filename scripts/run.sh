#!/bin/sh
# make run: jobd in the foreground on an embedded default — state in ./.jobd,
# listening on 127.0.0.1:$PORT (5640 unless make run PORT=N) and on the unix
# socket ./.jobd/jobd.sock. The banner comes once jobd has said it listens on
# both (so a port already taken shows jobd's error, not a banner), and its
# addresses are in single quotes: unix!/path pasted into bash must not meet
# history expansion.
set -eu
cd "$(dirname "$0")/.."
port=${PORT:-5640}
b=${B:-build}                   # the build directory: make run B=dir
case $port in
''|*[!0-9]*) echo "run.sh: PORT=$port: want a port number" >&2; exit 2 ;;
esac
# jobd makes it 0700 itself (and refuses it if it is a link or another
# user's); the mode here only spares a moment when it is open to others.
mkdir -m 700 -p .jobd
sock=$(pwd)/.jobd/jobd.sock
# 'text' with each ' as '\'': safe in a shell whatever the path holds.
q=$(printf '%s' "unix!$sock" | sed "s/'/'\\\\''/g")
addr="'$q'"

banner() {
	cat <<MSG
jobd: state in $(pwd)/.jobd, listening on 127.0.0.1:$port and $addr
Try, in another terminal:
  $b/jobctl -a $addr new -s hello '*/5 * * * * * *' 'echo hello world'
  $b/jobctl -a $addr ls
  $b/jobctl -a $addr log hello
or mount it (as root):
  mount -t 9p -o trans=tcp,port=$port 127.0.0.1 /mnt
  echo -n 'hello:0 0/5 * * * ? *:echo hello world' > /mnt/clone
  echo -n start > /mnt/jobs/hello/ctl; cat /mnt/jobs/hello/log
Stop with Ctrl-C.
MSG
}

# jobd's log goes through a reader that passes every line on and shows the
# banner after jobd's "listening on unix!" line, which comes after its TCP
# listener's. Ctrl-C is for jobd (it shuts down and says so): the shells
# around it catch it and do nothing, so they wait for jobd, and the reader
# prints jobd's last lines until the pipe closes. (A caught signal, unlike
# an ignored one, is not passed on to jobd.) jobd's exit status is handed
# over in a file: the pipeline's own would be the reader's.
status=$(mktemp)
trap 'rm -f "$status"' EXIT
trap : INT
{
	trap : INT
	rc=0
	"$b/jobd" -dbdir .jobd -fsaddr "127.0.0.1:$port" -fsaddr "unix!$sock" -logtostderr -v 1 2>&1 || rc=$?
	echo "$rc" >"$status"
} | {
	trap : INT
	up=0
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case $up:$line in
		0:*"listening on unix!"*) banner; up=1 ;;
		esac
	done
	[ "$up" = 1 ] || echo "jobd did not start: see its messages above." >&2
}
exit "$(cat "$status" 2>/dev/null || echo 1)"
