#!/bin/sh
# make run: jobd in the foreground on an embedded default — state in ./.jobd,
# listening on 127.0.0.1:5640 and on the unix socket ./.jobd/jobd.sock.
set -eu
cd "$(dirname "$0")/.."
# jobd makes it 0700 itself (and refuses it if it is a link or another
# user's); the mode here only spares a moment when it is open to others.
mkdir -m 700 -p .jobd
sock=$(pwd)/.jobd/jobd.sock
cat <<MSG
jobd: state in $(pwd)/.jobd, listening on 127.0.0.1:5640 and unix!$sock
Try, in another terminal:
  build/jobctl -a unix!$sock new hello '*/5 * * * * * *' 'echo hello world'
  build/jobctl -a unix!$sock start hello
  build/jobctl -a unix!$sock log hello
or mount it (as root):
  mount -t 9p -o trans=tcp,port=5640 127.0.0.1 /mnt
  echo -n 'hello:0 0/5 * * * ? *:echo hello world' > /mnt/clone
  echo -n start > /mnt/jobs/hello/ctl; cat /mnt/jobs/hello/log
Stop with Ctrl-C.
MSG
exec build/jobd -dbdir .jobd -fsaddr 127.0.0.1:5640 -fsaddr "unix!$sock" -logtostderr -v 1
