#!/bin/sh
# diod's own 9P2000.L clients, diodls and diodcat, against jobd.
. "$(dirname "$0")/lib.sh"
PATH=$PATH:/usr/sbin
command -v diodcat >/dev/null || { nok "diodcat-installed (apt-get install diod)"; finish; }
jobd_start
S=127.0.0.1:$JOBD_PORT
"$JOBCTL" write clone 'hello:0 0 1 1 * 2099:echo hello world'
"$JOBCTL" write jobs/hello/ctl start
expect "diodls-root" "clone
events
jobs
stats" sh -c "diodls -s $S -a / / | sort"
expect "diodls-jobs" "hello" diodls -s "$S" -a / /jobs
expect "diodls-job" "cmd
ctl
dir
env
limits
log
log.follow
misfire
orphan
overlap
runs
schedule
status
timeout" sh -c "diodls -s $S -a / /jobs/hello | sort"
expect "diodcat-cmd" "echo hello world" diodcat -s "$S" -a / /jobs/hello/cmd
expect "diodcat-ctl" "started" diodcat -s "$S" -a / /jobs/hello/ctl
check "diodcat-schedule" sh -c "diodcat -s $S -a / /jobs/hello/schedule | grep -q '^0 0 1 1 \* 2099:2099-01-01 00:00:00 '"
check "diodcat-log" sh -c "diodcat -s $S -a / /jobs/hello/log | grep -q ':started$'"
# A live file through a client that reads to end of file: the batch there
# is, then the empty reply that ends a batch (doc/namespace.md) ends it.
check "diodcat-log-follow" sh -c "timeout 10 diodcat -s $S -a / /jobs/hello/log.follow | grep -q ':started$'"
check "diodls-long" sh -c "diodls -l -s $S -a / /jobs/hello | grep -q ctl"
check_fails_with "diodcat-missing" "open /jobs/nosuch/cmd: No such file or directory" \
	diodcat -s "$S" -a / /jobs/nosuch/cmd
jobd_stop
finish
