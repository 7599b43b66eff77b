#!/bin/sh
# jobctl against a real jobd: every command, its output formats (aligned on
# a terminal, tab-separated when piped, -o wide, -o json), times in the
# user's zone, its errors and exit codes (1 refused, 2 usage,
# 3 cannot connect, 4 not found), jobd's replies (run numbers,
# warnings), edit through a scripted $EDITOR, log -f, the help texts, the
# bash, zsh and fish completions, the man pages, make install, make run's
# script and -version. (import and export: crontab.sh.)
. "$(dirname "$0")/lib.sh"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
PATH=$BUILD:$PATH
export PATH

# on_tty CMD...: runs CMD with a terminal as stdout (util-linux script), \r dropped.
HAVE_SCRIPT=0
script -qec true /dev/null </dev/null >/dev/null 2>&1 && HAVE_SCRIPT=1
on_tty() { script -qec "$*" /dev/null </dev/null | tr -d '\r'; }
# check_each NAME FUNC ITEM...: one check that FUNC succeeds for every ITEM
# (not one per item); a failure names the items that failed, with what FUNC
# said. No items at all is a failure too: a loop over nothing checks nothing.
check_each() {
	name=$1 fn=$2; shift 2
	failed= n=0
	: >"$T/.each.out"
	for item in "$@"; do
		n=$((n + 1))
		if ! "$fn" "$item" >"$T/.each.one" 2>&1; then
			failed="$failed $item"
			sed "s|^|$item: |" "$T/.each.one" | head -3 >>"$T/.each.out"
		fi
	done
	if [ "$n" -eq 0 ]; then nok "$name (nothing to check)"
	elif [ -z "$failed" ]; then ok "$name"
	else
		nok "$name ($(echo $failed | wc -w) of $n)"; echo "#   failed for:$failed"
		sed 's/^/#   /' "$T/.each.out" | head -20
	fi
}

# ---- no daemon needed ----
"$JOBCTL" -version >"$T/v"; rc=$?
check "version-exit-0" test "$rc" -eq 0
check "version-format" grep -Eq '^jobctl [0-9]+\.[0-9]+\.[0-9]+ \(revision [^ )]+\)$' "$T/v"
check "jobd-version-format" sh -c "\"$JOBD\" -version | grep -Eq '^jobd [0-9.]+ \\(revision [^ )]+\\)\$'"
check "same-version" sh -c "test \"\$(\"$JOBD\" -version | cut -d' ' -f2-)\" = \"\$(cut -d' ' -f2- \"$T/v\")\""

"$JOBCTL" --help >"$T/help"; rc=$?
check "help-exit-0" test "$rc" -eq 0
check "help-usage-line" grep -q '^usage: jobctl \[-a ADDR\] \[-utc\] COMMAND' "$T/help"
# The commands, from the help text: the lines "  NAME ARGS   summary".
sed -n 's/^  \([a-z][a-z-]*\)\( .*\)\{0,1\}$/\1/p' "$T/help" | sort -u >"$T/cmds"
expect "help-lists-commands" "edit events export help import kill log ls ls-files new next nodes output read rm run runs set start status stop write" \
	sh -c "tr '\n' ' ' <\"$T/cmds\" | sed 's/ \$//'"
expect "help-commands-topic" "$(cat "$T/cmds")" sh -c "\"$JOBCTL\" help commands | sort"
# help settings: every setting, one a line, and the words of those that take one.
"$JOBCTL" help settings >"$T/settings"
expect "help-settings-names" "schedule cmd timeout overlap misfire orphan dir env limits" \
	sh -c "cut -d' ' -f1 \"$T/settings\" | tr '\n' ' ' | sed 's/ \$//'"
check "help-settings-words" grep -q '^overlap .*; one of: skip queue replace allow$' "$T/settings"
check "help-settings-orphan" grep -q '^orphan .*cluster.*; one of: lost rerun$' "$T/settings"
expect "help-command-same" "$(cat "$T/help")" "$JOBCTL" help
expect "-h-same" "$(cat "$T/help")" "$JOBCTL" -h
# Every command's --help: exit 0, its own usage line first (without connecting).
cmd_help() {
	"$JOBCTL" -a 127.0.0.1:1 "$1" --help >"$T/out" 2>&1 || { echo "exit status $?"; return 1; }
	head -1 "$T/out" | grep -Eq "^usage: jobctl $1( |\$)" || { head -1 "$T/out"; return 1; }
}
check_each "help-every-command" cmd_help $(cat "$T/cmds")
# (log --help itself is checked just above.)
expect "help-topic" "$("$JOBCTL" log --help)" "$JOBCTL" help log
check "help-log-flags" sh -c "\"$JOBCTL\" log --help | grep -q -- '-f '"

# Usage errors: 2, without connecting.
rc_is "usage-no-command" 2 "$JOBCTL"
rc_is "usage-unknown-command" 2 "$JOBCTL" frobnicate
check "usage-unknown-message" grep -q "unknown command 'frobnicate'" "$T/err"
rc_is "usage-bad-flag" 2 "$JOBCTL" -bogus ls
rc_is "usage-missing-arg" 2 "$JOBCTL" -a 127.0.0.1:1 start
check "usage-shows-synopsis" grep -q '^usage: jobctl start NAME' "$T/err"
rc_is "usage-extra-arg" 2 "$JOBCTL" -a 127.0.0.1:1 status a b
rc_is "usage-flag-after-arg" 2 "$JOBCTL" -a 127.0.0.1:1 log hello -f
check "usage-flag-after-arg-says-so" grep -q "flags go before the arguments" "$T/err"
rc_is "usage-unknown-setting" 2 "$JOBCTL" -a 127.0.0.1:1 set hello colour blue
rc_is "usage-bad-run-number" 2 "$JOBCTL" -a 127.0.0.1:1 output hello last
rc_is "usage-bad-signal" 2 "$JOBCTL" -a 127.0.0.1:1 kill -s NOPE hello
rc_is "usage-bad-name" 2 "$JOBCTL" -a 127.0.0.1:1 new 'a:b' '* * * * *' true
rc_is "usage-bad-o" 2 "$JOBCTL" -a 127.0.0.1:1 ls -o yaml
check "usage-bad-o-says" grep -q "^jobctl ls: -o: want wide or json, not 'yaml'" "$T/err"

# Cannot connect: 3, naming the address, the reason and where it came from.
rc_is "connect-exit-3" 3 "$JOBCTL" -a 127.0.0.1:1 ls
check "connect-names-address" grep -q '^jobctl: cannot connect to 127.0.0.1:1: ' "$T/err"
check "connect-hint" grep -q '^hint: .*-a ADDR' "$T/err"
rc_is "connect-env-exit-3" 3 env JOBD_ADDR="unix!$T/nosuch.sock" "$JOBCTL" ls
check "connect-env-named" grep -q 'came from \$JOBD_ADDR' "$T/err"

# next: evaluated in the schedule's zone (TZ= first, else -tz, else the
# local one), printed in the user's ($TZ, or UTC with -utc).
expect "next" "2021-01-02T00:00:00+00:00" "$JOBCTL" -utc next -n 1 -tz UTC -from 2021-01-01T00:00:00Z '0 0 * * *'
expect "next-tz-prefix" "2026-12-01T14:00:00+00:00" \
	"$JOBCTL" -utc next -n 1 -from 2026-12-01T00:00:00Z 'TZ=America/New_York 0 9 * * *'
expect "next-cron-tz-prefix" "2026-12-01T14:00:00+00:00" \
	"$JOBCTL" -utc next -n 1 -from 2026-12-01T00:00:00Z 'CRON_TZ=America/New_York 0 9 * * *'
expect "next-in-user-zone" "2026-12-01T23:00:00+09:00" \
	env TZ=Asia/Tokyo "$JOBCTL" next -n 1 -from 2026-12-01T00:00:00Z 'TZ=America/New_York 0 9 * * *'
expect "next-local-zone" "2026-07-01T09:00:00+02:00
2026-07-02T09:00:00+02:00" env TZ=Europe/Paris "$JOBCTL" next -n 2 -from 2026-07-01T00:00:00Z '0 9 * * *'
expect "next-never" "2099-12-31T00:00:00+00:00
never" "$JOBCTL" -utc next -n 3 -from 2099-12-30T12:00:00Z '0 0 31 12 *'
expect "next-json" '{
  "schedule":"TZ=America/New_York 0 9 * * *",
  "zone":"America/New_York",
  "times":["2026-12-01T14:00:00+00:00","2026-12-02T14:00:00+00:00"]
}' "$JOBCTL" -utc next -n 2 -o json -from 2026-12-01T00:00:00Z 'TZ=America/New_York 0 9 * * *'
expect "next-wide" "2026-12-01T14:00:00+00:00	2026-12-01T09:00:00-05:00" sh -c \
	"\"$JOBCTL\" -utc next -n 1 -o wide -from 2026-12-01T00:00:00Z 'TZ=America/New_York 0 9 * * *' | cut -f1,2"
# -tz is the zone asked about: the times are shown in it.
expect "next-tz-shows" "2026-12-01T23:00:00+09:00" \
	"$JOBCTL" next -n 1 -tz Asia/Tokyo -from 2026-12-01T00:00:00Z 'TZ=America/New_York 0 9 * * *'
rc_is "next-bad-expr-1" 1 "$JOBCTL" next '61 * * * *'
check "next-bad-expr-says" grep -q "^jobctl next: minute: '61'" "$T/err"

# An unknown zone is refused, exit 1, wherever it is met: here (next, -tz,
# $TZ) or by jobd (new, set, import: below).
rc_is "zone-next-tz-1" 1 "$JOBCTL" next -tz Mars/Olympus '0 9 * * *'
rc_is "zone-next-prefix-1" 1 "$JOBCTL" next 'TZ=Mars/Olympus 0 9 * * *'
check "zone-next-prefix-says" grep -q "^jobctl: next: unknown time zone 'Mars/Olympus'" "$T/err"
rc_is "zone-env-1" 1 env TZ=Mars/Olympus "$JOBCTL" next '0 9 * * *'
check "zone-env-says" grep -q "Mars/Olympus.*(from \$TZ: unset it, or use -utc)" "$T/err"

# ---- against a daemon ----
jobd_start

# Addresses: every -fsaddr form, and ./.jobd/jobd.sock when nothing is said.
expect "addr-unix" "clone" sh -c "\"$JOBCTL\" -a \"unix!$JOBD_SOCK\" ls-files / | head -1"
expect "addr-path" "clone" sh -c "\"$JOBCTL\" -a \"$JOBD_SOCK\" ls-files / | head -1"
expect "addr-tcp-bang" "clone" sh -c "\"$JOBCTL\" -a \"$JOBD_TCP\" ls-files / | head -1"
expect "addr-host-port" "clone" sh -c "\"$JOBCTL\" -a 127.0.0.1:$JOBD_PORT ls-files / | head -1"
mkdir -p "$T/cwd/.jobd" && ln -s "$JOBD_SOCK" "$T/cwd/.jobd/jobd.sock"
expect "addr-local-socket" "clone" sh -c "cd \"$T/cwd\" && env -u JOBD_ADDR \"$JOBCTL\" ls-files / | head -1"

# new, ls
check "new" "$JOBCTL" new hello '* * * * * * *' echo hello world
check "new-second" "$JOBCTL" new other '0 9 * * *' true
expect "new-joins-words" "echo hello world" "$JOBCTL" read jobs/hello/cmd
rc_is "new-duplicate-refused" 1 "$JOBCTL" new hello '* * * * *' true
check "refused-prefixed-with-job" grep -q '^jobctl: hello: ' "$T/err"
rc_is "new-bad-schedule-1" 1 "$JOBCTL" new bad '61 * * * *' true
check "refused-shows-server-text" grep -q '^jobctl: bad: .*minute' "$T/err"
rc_is "zone-new-1" 1 "$JOBCTL" new mars 'TZ=Mars/Olympus 0 9 * * *' true
rc_is "zone-set-1" 1 "$JOBCTL" set other schedule 'TZ=Mars/Olympus 0 9 * * *'
rc_is "zone-ls-1" 1 env TZ=Mars/Olympus "$JOBCTL" ls
printf 'CRON_TZ=Mars/Olympus\n0 9 * * * true\n' >"$T/mars"
rc_is "zone-import-1" 1 "$JOBCTL" import "$T/mars"
expect "ls-piped" "hello	* * * * * * *	stopped	0	-	-
other	0 9 * * *	stopped	0	-	-" "$JOBCTL" ls
expect "ls-json-stopped" '  {"name":"other","schedule":"0 9 * * *","cmd":"true","state":"stopped","active":0,"next":null,"last_start":null,"last_end":null,"last_status":null,"runs":0,"failures":0,"pid":null}' \
	sh -c "\"$JOBCTL\" ls -o json | grep '\"other\"' | sed 's/,\$//'"
expect "ls-json-brackets" "[ ]" sh -c "\"$JOBCTL\" ls -o json | sed -n '1p;\$p' | tr '\n' ' ' | sed 's/ \$//'"
check "start" "$JOBCTL" start hello
expect "started" "started" "$JOBCTL" read jobs/hello/ctl
check "ls-piped-6-fields" sh -c "\"$JOBCTL\" ls | awk -F'\t' 'NF != 6 { exit 1 }'"
check "ls-wide-10-fields" sh -c "\"$JOBCTL\" ls -o wide | awk -F'\t' 'NF != 10 { exit 1 }'"
check "ls-next-when-started" sh -c "\"$JOBCTL\" ls | awk -F'\t' '\$1 == \"hello\" && \$3 == \"started\" && \$5 ~ /^20[0-9][0-9]-/ { f = 1 } END { exit !f }'"
# Times in the user's zone: UTC with -utc, else $TZ.
check "ls-next-utc" sh -c "\"$JOBCTL\" -utc ls | awk -F'\t' '\$1 == \"hello\" && \$5 ~ /\\+00:00\$/ { f = 1 } END { exit !f }'"
check "ls-next-tz" sh -c "TZ=Asia/Kolkata \"$JOBCTL\" ls | awk -F'\t' '\$1 == \"hello\" && \$5 ~ /\\+05:30\$/ { f = 1 } END { exit !f }'"
if [ "$HAVE_SCRIPT" = 1 ]; then
	on_tty "$JOBCTL" ls >"$T/tty"
	check "ls-tty-header" grep -Eq '^NAME +SCHEDULE +STATE +ACTIVE +NEXT +LAST RUN$' "$T/tty"
	# Aligned: STATE starts at the same column on every line.
	check "ls-tty-aligned" sh -c "awk 'NR == 1 { c = index(\$0, \"STATE\") } NR > 1 { s = substr(\$0, c, 7); if (s != \"started\" && s != \"stopped\") exit 1 }' \"$T/tty\""
	check "ls-tty-no-tabs" sh -c "! grep -q '	' \"$T/tty\""
else
	skip "ls-tty" "no script(1) (scripts/deps.sh test installs bsdutils)"
fi
# new -s makes it started; a schedule that never fires is said (jobd's
# warning, read back from the write), and is no failure; ls shows never.
"$JOBCTL" new -s leap '0 0 31 2 *' true >"$T/out" 2>"$T/err"; rc=$?
check "new-s-never-exit-0" test "$rc" -eq 0
check "new-s-never-warns" grep -q "^jobctl: leap: warning: .*never" "$T/err"
check "new-s-warns-once" test "$(wc -l <"$T/err")" -eq 1
expect "new-s-started" "started" "$JOBCTL" read jobs/leap/ctl
check "ls-never" sh -c "\"$JOBCTL\" ls | awk -F'\t' '\$1 == \"leap\" && \$5 == \"never\" { f = 1 } END { exit !f }'"
"$JOBCTL" stop leap
"$JOBCTL" start leap 2>"$T/err"
check "start-never-warns" grep -q "^jobctl: leap: warning: .*never" "$T/err"
"$JOBCTL" rm leap
check "start-many" "$JOBCTL" start hello other
expect "start-many-other" "started" "$JOBCTL" read jobs/other/ctl
check "stop-many" "$JOBCTL" stop other
rc_is "start-no-such-job-4" 4 "$JOBCTL" start nosuch
expect "no-such-job-message" "jobctl: nosuch: no such job" cat "$T/err"
# Not found is 4 in every command that names a job.
not_found() {
	"$JOBCTL" "$@" >/dev/null 2>"$T/nf.err"; rc=$?
	[ "$rc" -eq 4 ] && grep -q 'nosuch: no such job' "$T/nf.err" || { echo "exit $rc:" $(cat "$T/nf.err"); return 1; }
}
nf_status() { not_found status nosuch; }
nf_log() { not_found log nosuch; }
nf_runs() { not_found runs nosuch; }
nf_output() { not_found output nosuch; }
nf_set() { not_found set nosuch timeout 5; }
nf_rm() { not_found rm nosuch; }
nf_stop() { not_found stop nosuch; }
nf_run() { not_found run nosuch; }
nf_kill() { not_found kill nosuch; }
nf_next() { not_found next nosuch; }
nf_export() { not_found export nosuch; }
nf_edit() { EDITOR=true not_found edit nosuch; }
check_each "not-found-exit-4" eval nf_status nf_log nf_runs nf_output nf_set nf_rm nf_stop nf_run nf_kill \
	nf_next nf_export nf_edit

# log, log -n
ran() { "$JOBCTL" log hello | grep -q ':hello world$'; }
check "log-has-runs" wait_for 10 ran
"$JOBCTL" log -raw hello >"$T/log1"
TZ=Asia/Kolkata "$JOBCTL" log hello >"$T/log3"
"$JOBCTL" read jobs/hello/log >"$T/log2"
check "log-raw-is-the-file" sh -c "test -s \"$T/log1\" && head -n \$(wc -l <\"$T/log1\") \"$T/log2\" | cmp -s - \"$T/log1\""
# Without -raw, each line's time is in the user's zone, RFC 3339 to the
# second, and the rest of the line is the file's (log3 was read before
# log2: the job runs every second and its log only grows).
zoned() {
	sed 's/^[^:]*:[^:]*:[^:]*:\(.*\)$/\1/' "$T/log2" | head -n "$(wc -l <"$T/log3")" >"$T/text2"
	sed 's/^\([0-9-]*T[0-9:]*+05:30\):\(.*\)$/\2/' "$T/log3" >"$T/text3"
	! grep -vq '^[0-9-]*T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]+05:30:' "$T/log3" && cmp -s "$T/text2" "$T/text3"
}
check "log-times-in-user-zone" zoned
check "log-n-1" sh -c "test \$(\"$JOBCTL\" log -n 1 hello | wc -l) -eq 1"
expect "log-n-0" "" "$JOBCTL" log -n 0 hello
rc_is "log-no-such-job" 4 "$JOBCTL" log nosuch

# log -f: follows new lines, each once, in order; stops on SIGINT with 0.
"$JOBCTL" new follow '* * * * * * *' 'echo tick'
"$JOBCTL" log -f follow >"$T/follow" 2>"$T/follow.err" &
fpid=$!
"$JOBCTL" start follow
ticks() { [ "$(grep -c ':tick$' "$T/follow")" -ge "$1" ]; }
check "log-f-prints-new-lines" wait_for 10 ticks 1
check "log-f-keeps-following" wait_for 10 ticks 3
kill -INT "$fpid"
gone() { ! kill -0 "$fpid" 2>/dev/null; }
check "log-f-stops-on-sigint" wait_for 5 gone
wait "$fpid"; rc=$?
check "log-f-exit-0" test "$rc" -eq 0
check "log-f-no-duplicates" sh -c "test -z \"\$(sort \"$T/follow\" | uniq -d)\""
"$JOBCTL" log follow >"$T/followall"
check "log-f-same-lines" sh -c "head -n \$(wc -l <\"$T/follow\") \"$T/followall\" | cmp -s - \"$T/follow\""
"$JOBCTL" stop follow

# status (the status file: server side of run controls)
# Piped, status prints the file as it is. The job runs every second and its
# file changes with each run: the two reads are retried until they agree.
status_same() {
	"$JOBCTL" read jobs/hello/status >"$T/st1" 2>/dev/null && "$JOBCTL" status hello >"$T/st2" &&
		test -s "$T/st1" && cmp -s "$T/st1" "$T/st2"
}
status_is_file() {
	wait_for 5 status_same || { echo "jobctl status piped differs from the file:"; diff "$T/st1" "$T/st2"; return 1; }
	grep -q '^state=started ' "$T/st2" || { echo "not started:"; cat "$T/st2"; return 1; }
}
check "status-is-the-file" status_is_file
# In another zone: the same fields, each time the same instant in that zone.
same_instants() {
	"$JOBCTL" stop hello
	"$JOBCTL" read jobs/hello/status >"$T/st1" && TZ=Asia/Tokyo "$JOBCTL" status hello >"$T/st2" || return 1
	"$JOBCTL" start hello
	for k in last_start last_end; do
		a=$(tr ' ' '\n' <"$T/st1" | sed -n "s/^$k=//p") b=$(tr ' ' '\n' <"$T/st2" | sed -n "s/^$k=//p")
		case $b in *+09:00) ;; *) echo "$k=$b: not in Tokyo's zone"; return 1 ;; esac
		[ "$(date -d "$a" +%s)" = "$(date -d "$b" +%s)" ] || { echo "$k: $a is not $b"; return 1; }
	done
	[ "$(sed 's/=[^ ]*//g' "$T/st1")" = "$(sed 's/=[^ ]*//g' "$T/st2")" ] || { echo "other fields"; return 1; }
}
check "status-piped-in-user-zone" same_instants
if [ "$HAVE_SCRIPT" = 1 ]; then
	on_tty "$JOBCTL" status hello >"$T/tty"
	check "status-tty-fields" sh -c "grep -q '^schedule: *\\* \\* \\* \\* \\* \\* \\*\$' \"$T/tty\" && grep -q '^state: *started\$' \"$T/tty\" && grep -q '^last status: ' \"$T/tty\""
	check "status-tty-relative-next" grep -Eq '^next: +20[0-9-]+T[0-9:]+[+-][0-9:]+ \((in [0-9dhms]+|now)\)$' "$T/tty"
	check "status-tty-relative-last" grep -Eq '^last start: +20[0-9-]+T[0-9:]+[+-][0-9:]+ \(([0-9dhms]+ ago|now)\)$' "$T/tty"
else
	skip "status-tty-fields" "no script(1) (scripts/deps.sh test installs bsdutils)"
fi
"$JOBCTL" status -o wide hello >"$T/wide"
check "status-wide-settings" sh -c "grep -q '^overlap: *skip\$' \"$T/wide\" && grep -q '^timeout: ' \"$T/wide\""
"$JOBCTL" status -o json other >"$T/json"
expect "status-json-keys" "name schedule cmd state active next last_start last_end last_status runs failures pid timeout overlap misfire orphan dir env limits" \
	sh -c "sed -n 's/^  \"\\([a-z_]*\\)\":.*/\\1/p' \"$T/json\" | tr '\n' ' ' | sed 's/ \$//'"
check "status-json-env-array" grep -q '^  "env":\[\],$' "$T/json"
rc_is "status-no-such-job" 4 "$JOBCTL" status nosuch
check "ls-last-run-column" sh -c "\"$JOBCTL\" ls | awk -F'\t' '\$1 == \"hello\" && \$6 ~ /^20[0-9-]+T[0-9:]+[+-][0-9:]+ (exit:0|running)\$/ { f = 1 } END { exit !f }'"
"$JOBCTL" stop hello

# set
check "set-timeout" "$JOBCTL" set hello timeout 90
expect "set-timeout-canonical" "1m30s" "$JOBCTL" read jobs/hello/timeout
rc_is "set-bad-value-1" 1 "$JOBCTL" set hello overlap sometimes
check "set-bad-value-message" grep -q "^jobctl: hello: .*sometimes" "$T/err"
check "set-env-words" "$JOBCTL" set hello env A=1 B=two
expect "set-env-lines" "A=1
B=two" "$JOBCTL" read jobs/hello/env
check "set-env-clear" "$JOBCTL" set hello env ''
expect "set-env-cleared" "" "$JOBCTL" read jobs/hello/env
check "set-cmd-words" "$JOBCTL" set hello cmd echo hello world
rc_is "set-no-such-job" 4 "$JOBCTL" set nosuch timeout 5
# A value jobd takes with a warning: said, exit 0.
rc_is "set-warning-exit-0" 0 "$JOBCTL" set other schedule '0 0 31 2 *'
check "set-warning-said" grep -q "^jobctl: other: warning: .*never" "$T/err"
"$JOBCTL" set other schedule '0 9 * * *'

# edit, through scripted editors
cat >"$T/ed-timeout" <<'EOF'
#!/bin/sh
sed -i 's/^timeout:.*/timeout: 5m/' "$1"
EOF
cat >"$T/ed-env" <<'EOF'
#!/bin/sh
sed -i '/^env:/,$d' "$1"
printf 'env:\n  LANG=C\n  WHO=edit\n' >>"$1"
EOF
cat >"$T/ed-badsched" <<'EOF'
#!/bin/sh
sed -i 's/^schedule:.*/schedule: 61 * * * */' "$1"
EOF
cat >"$T/ed-badkey" <<'EOF'
#!/bin/sh
echo 'colour: blue' >>"$1"
EOF
cat >"$T/ed-copy" <<'EOF'
#!/bin/sh
cp "$1" "$EDITED_COPY"
EOF
chmod +x "$T"/ed-*
export TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"
EDITED_COPY=$T/edited EDITOR="$T/ed-copy" "$JOBCTL" edit hello >/dev/null 2>&1
check "edit-shows-settings" sh -c "grep -q '^schedule: \\* \\* \\* \\* \\* \\* \\*\$' \"$T/edited\" && grep -q '^cmd: echo hello world\$' \"$T/edited\""
check "edit-shows-all-settings" sh -c "for k in schedule cmd timeout overlap misfire orphan dir env; do grep -q \"^\$k:\" \"$T/edited\" || { echo \"no \$k:\"; exit 1; }; done"
EDITOR=true "$JOBCTL" edit hello >"$T/out" 2>"$T/err"; rc=$?
check "edit-unchanged-exit-0" test "$rc" -eq 0
check "edit-unchanged-says-so" grep -q 'no changes' "$T/err"
rc_is "edit-timeout" 0 env EDITOR="$T/ed-timeout" "$JOBCTL" edit hello
expect "edit-timeout-applied" "5m" "$JOBCTL" read jobs/hello/timeout
expect "edit-reports-change" "hello: changed timeout" cat "$T/out"
rc_is "edit-env" 0 env EDITOR="$T/ed-env" "$JOBCTL" edit hello
expect "edit-env-applied" "LANG=C
WHO=edit" "$JOBCTL" read jobs/hello/env
sched=$("$JOBCTL" read jobs/hello/schedule)
rc_is "edit-bad-schedule-refused" 1 env EDITOR="$T/ed-badsched" "$JOBCTL" edit hello
check "edit-bad-schedule-names-field" grep -q '^jobctl: hello: schedule: .*minute' "$T/err"
check "edit-bad-kept" grep -q 'your edit is kept in ' "$T/err"
expect "edit-bad-changed-nothing" "$sched" "$JOBCTL" read jobs/hello/schedule
rc_is "edit-unknown-key" 1 env EDITOR="$T/ed-badkey" "$JOBCTL" edit hello
check "edit-unknown-key-message" grep -q "unknown setting 'colour'" "$T/err"
rc_is "edit-editor-fails" 1 env EDITOR=false "$JOBCTL" edit hello
check "edit-editor-fails-message" grep -q 'nothing changed' "$T/err"
rc_is "edit-no-such-job" 4 env EDITOR=true "$JOBCTL" edit nosuch
expect "edit-no-such-job-message" "jobctl: nosuch: no such job" cat "$T/err"

# run, runs, output, kill (run controls and history)
"$JOBCTL" set hello cmd 'echo hello world' 2>/dev/null
"$JOBCTL" run -w hello >"$T/out" 2>"$T/err"; rc=$?
check "run-w-exit-0" test "$rc" -eq 0
check "run-w-prints-output" grep -q ':hello world$' "$T/out"
"$JOBCTL" new failing '0 0 1 1 *' 'echo oops; exit 3'
rc_is "run-w-failed-exit-1" 1 "$JOBCTL" run -w failing
check "run-w-failed-says-how" grep -Eq '^jobctl: failing: run [0-9]+: exit:3' "$T/err"
"$JOBCTL" runs hello >"$T/runs" 2>"$T/err"
check "runs-piped" sh -c "test -s \"$T/runs\" && awk -F'\t' 'NF != 4 || \$1 !~ /^[0-9]+\$/ { exit 1 }' \"$T/runs\""
check "runs-manual" sh -c "tail -1 \"$T/runs\" | grep -q '	exit:0 manual\$'"
check "runs-n" sh -c "test \$(\"$JOBCTL\" runs -n 1 hello | wc -l) -eq 1"
if [ "$HAVE_SCRIPT" = 1 ]; then
	on_tty "$JOBCTL" runs hello >"$T/tty"
	check "runs-tty-header" grep -Eq '^RUN +START +DURATION +STATUS$' "$T/tty"
else
	skip "runs-tty-header" "no script(1) (scripts/deps.sh test installs bsdutils)"
fi
check "runs-start-utc" sh -c "\"$JOBCTL\" -utc runs hello | awk -F'\t' '\$2 !~ /\\+00:00\$/ { exit 1 }'"
check "runs-start-tz" sh -c "TZ=America/St_Johns \"$JOBCTL\" runs hello | awk -F'\t' '\$2 !~ /-0[23]:30\$/ { exit 1 }'"
check "runs-wide-9-fields" sh -c "\"$JOBCTL\" runs -o wide hello | awk -F'\t' 'NF != 9 { exit 1 }'"
"$JOBCTL" -utc runs -o json -n 1 hello >"$T/json"
check "runs-json" grep -Eq '^  \{"run":[0-9]+,"scheduled":null,"start":"20[0-9-]+T[0-9:.]+\+00:00","end":"[^"]+","duration":[0-9.]+,"state":"done","status":"exit:0","manual":true,"timed_out":false,"killed":false,"pid":[0-9]+,"output_bytes":[0-9]+,"truncated":false,"lateness":null\}$' "$T/json"
check "output-latest" sh -c "\"$JOBCTL\" output hello | grep -q ':hello world\$'"
first=$(head -1 "$T/runs" | cut -f1)
check "output-numbered" sh -c "\"$JOBCTL\" output hello '${first:-1}' | grep -q ':hello world\$'"
rc_is "output-no-such-run" 4 "$JOBCTL" output hello 99999
check "output-no-such-run-message" grep -q '^jobctl: hello: no run 99999$' "$T/err"
rc_is "output-no-runs" 4 "$JOBCTL" output other
# A run's output may hold any byte, NUL too: output and log print it whole,
# as run -w does (piped: as it is).
"$JOBCTL" new nul '0 0 1 1 *' "printf 'a\\000b\\n'; echo after" 2>/dev/null
"$JOBCTL" run -w nul >/dev/null 2>&1
rc_is "output-nul-exit-0" 0 "$JOBCTL" output nul
check "output-nul-whole" sh -c "tr '\\000' @ <\"$T/out\" | grep -q ':a@b\$'"
check "output-nul-after" grep -q ':after$' "$T/out"
rc_is "log-nul-exit-0" 0 "$JOBCTL" log nul
check "log-nul-after" grep -q ':after$' "$T/out"
rc_is "log-nul-n" 0 "$JOBCTL" log -n 1 nul
check "log-nul-n-last-line" test "$(wc -l <"$T/out")" -eq 1
# log -f -n 1 finds where its last line starts in the bytes, NUL included.
"$JOBCTL" log -f -n 1 nul >"$T/nulf" 2>"$T/nulf.err" &
fpid=$!
nulf_line() { [ -s "$T/nulf" ]; }
check "log-f-nul-starts" wait_for 10 nulf_line
kill -INT "$fpid"; wait "$fpid"; rc=$?
check "log-f-nul-exit-0" test "$rc" -eq 0
check "log-f-nul-last-line" sh -c "test \"\$(\"$JOBCTL\" log -n 1 nul)\" = \"\$(cat \"$T/nulf\")\""
"$JOBCTL" new sleeper '0 0 1 1 *' 'echo up; sleep 30'
up() { "$JOBCTL" output sleeper 2>/dev/null | grep -q ':up$'; }
killed() { "$JOBCTL" runs sleeper 2>/dev/null | grep -v '	skipped' | tail -1 | grep -q "$1"; }
if "$JOBCTL" run sleeper >"$T/run" 2>"$T/err"; then
	ok "run"
	# jobd's reply to the run verb, read back from the ctl written: the number.
	check "run-prints-number" grep -Eqx '[0-9]+' "$T/run"
	check "run-number-is-the-run" sh -c "\"$JOBCTL\" runs sleeper | tail -1 | cut -f1 | grep -qx \"\$(cat \"$T/run\")\""
	check "run-started" wait_for 10 up
	# Another while it runs: overlap skip records it skipped, which is no run.
	rc_is "run-skipped-1" 1 "$JOBCTL" run sleeper
	check "run-skipped-says" grep -Eq '^jobctl: sleeper: run [0-9]+ skipped: a run is going' "$T/err"
	check "run-skipped-number" grep -Eqx '[0-9]+' "$T/out"
	check "kill-s" "$JOBCTL" kill -s HUP sleeper
	check "kill-s-signal-recorded" wait_for 10 killed 'signal:HUP'
	rc_is "kill-nothing-running" 1 "$JOBCTL" kill sleeper
	check "kill-nothing-running-prefixed" grep -q '^jobctl: sleeper: ' "$T/err"
	"$JOBCTL" run sleeper >/dev/null
	check "run-again" wait_for 10 killed running
	check "kill" "$JOBCTL" kill sleeper
	check "kill-recorded" wait_for 10 killed 'signal:TERM'
else
	# The rest (kill, kill -s and what they record) needs a run going: one failure.
	nok "run (so kill and kill -s were not tried)"; sed 's/^/#   /' "$T/err"
fi

# rm
check "rm" "$JOBCTL" rm other sleeper
# Gone from a listing that still has the others.
rm_gone() {
	"$JOBCTL" ls-files jobs >"$T/jobs" || return 1
	grep -qx hello "$T/jobs" && ! grep -Eq '^(other|sleeper)$' "$T/jobs" || { echo "jobs:" $(cat "$T/jobs"); return 1; }
}
check "rm-gone" rm_gone
rc_is "rm-no-such-job" 4 "$JOBCTL" rm other

# plumbing
expect "ls-files-root" "clone
jobs" sh -c "\"$JOBCTL\" ls-files | grep -E '^(clone|jobs)\$'"
check "write-stdin" sh -c "echo 'piped:0 0 1 1 *:true' | \"$JOBCTL\" write clone"
expect "read" "true" "$JOBCTL" read jobs/piped/cmd
rc_is "read-missing" 4 "$JOBCTL" read jobs/nosuch/cmd
check "read-missing-prefixed-with-path" grep -q '^jobctl: jobs/nosuch/cmd: ' "$T/err"

# Completions: bash, zsh and fish offer the same things, each taking the
# commands, flags and settings from jobctl itself.
COMP=$TOP/contrib/bash-completion/jobctl
if command -v bash >/dev/null 2>&1; then
	expect "completion-registered" "complete -F _jobctl jobctl" bash -c ". \"$COMP\"; complete -p jobctl"
	# comp WORDS...: what Tab offers after the words (the last one is being completed).
	cat >"$T/comp.bash" <<'EOF'
. "$COMP"
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
_jobctl
printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
EOF
	comp() { COMP=$COMP bash "$T/comp.bash" jobctl "$@"; }
fi
if command -v zsh >/dev/null 2>&1; then
	# zsh's completion system needs a terminal; its builtins are stood in for
	# here by functions that print what they are given, and _jobctl runs as
	# compinit would run it.
	cat >"$T/comp.zsh" <<'EOF'
compadd() {
  local -a out
  while (( $# )); do
    case $1 in
      (-a) shift; local n; for n in "$@"; do out+=(${(P)n}); done; break ;;
      (-S) shift ;;
      (--) shift; out+=("$@"); break ;;
      (*) out+=("$1") ;;
    esac
    shift
  done
  out=(${(M)out:#${PREFIX}*})
  (( $#out )) && print -rl -- $out
  return 0
}
_message() { : }
_files() { print -r -- '(files)' }
_directories() { print -r -- '(dirs)' }
_users() { print -r -- '(users)' }
file=$1; shift
words=(jobctl "$@"); CURRENT=$#words; PREFIX=${words[CURRENT]}
source $file
EOF
	zcomp() { zsh -f "$T/comp.zsh" "$TOP/contrib/zsh-completion/_jobctl" "$@" | sort -u | tr '\n' ' ' | sed 's/ $//'; }
fi
fcomp() {
	fish -N -c "source '$TOP/contrib/fish-completion/jobctl.fish'; complete -C \"jobctl \$argv\"" -- "$*" |
		cut -f1 | sort -u | tr '\n' ' ' | sed 's/ $//'
}
# The same checks in each shell.
for sh in bash zsh fish; do
	case $sh in bash) f=comp ;; zsh) f=zcomp ;; fish) f=fcomp ;; esac
	if ! command -v $sh >/dev/null 2>&1; then
		skip "completion-$sh" "no $sh (scripts/deps.sh test would install it)"
		continue
	fi
	expect "completion-$sh-commands" "start status stop" $f st
	expect "completion-$sh-all-commands" "$(tr '\n' ' ' <"$T/cmds" | sed 's/ $//')" $f ''
	expect "completion-$sh-jobs" "hello" $f start he
	expect "completion-$sh-jobs-after-addr" "hello" $f -a "$JOBD_TCP" status h
	expect "completion-$sh-settings" "overlap" $f set hello ov
	expect "completion-$sh-all-settings" "cmd dir env limits misfire orphan overlap schedule timeout" $f set hello ''
	expect "completion-$sh-overlap-values" "replace" $f set hello overlap r
	expect "completion-$sh-misfire-values" "all once skip" $f set hello misfire ''
	expect "completion-$sh-orphan-values" "lost rerun" $f set hello orphan ''
	expect "completion-$sh-flags" "-f -help -n -raw" $f log -
	expect "completion-$sh-flags-next" "-from -help -n -o -tz" $f next -
	expect "completion-$sh-flags-read" "-help -raw" $f read -
	expect "completion-$sh-o-values" "json wide" $f ls -o ''
	expect "completion-$sh-after-valued-flag" "hello" $f runs -n 5 h
	expect "completion-$sh-global-flags" "-a -help -utc -version" $f -
	expect "completion-$sh-path-file" "jobs/hello/cmd jobs/hello/ctl" $f read jobs/hello/c
done
command -v bash >/dev/null 2>&1 && expect "completion-bash-path-dir" "jobs/hello/" comp read jobs/hel
command -v fish >/dev/null 2>&1 && expect "completion-fish-path-dir" "jobs/hello/" fcomp read jobs/hel

# man pages: render without warnings; they name every command and flag.
MANS="jobctl.1 jobd.8 jobd-namespace.5"
if command -v groff >/dev/null 2>&1; then
	man_clean() { out=$(groff -man -ww -z "$TOP/doc/man/$1" 2>&1); [ -z "$out" ] || { echo "$out"; return 1; }; }
	check_each "man-pages-render-clean" man_clean $MANS
	# As rendered: a command or flag heads its own paragraph (7 spaces in).
	groff -man -Tascii -P-cbou "$TOP/doc/man/jobctl.1" 2>/dev/null >"$T/jobctl.txt"
	names_cmd() { grep -Eq "^       $1( |\$)" "$T/jobctl.txt"; }
	check_each "man-jobctl-names-every-command" names_cmd $(cat "$T/cmds")
	# The exit status table: an entry for each status jobctl --help lists.
	exit_entry() { grep -Eq "^       $1( |\$)" "$T/jobctl.txt"; }
	check_each "man-jobctl-exit-statuses" exit_entry 0 1 2 3 4
	# Every JSON field jobctl prints is documented (as "name" in the text).
	json_keys() { sed 's/"\([a-z_]*\)":/\n\1\n/g' "$@" | grep -x '[a-z_][a-z_]*' | sort -u; }
	"$JOBCTL" ls -o json >"$T/j1"; "$JOBCTL" status -o json hello >"$T/j2"
	"$JOBCTL" runs -o json hello >"$T/j3"; "$JOBCTL" next -o json hello >"$T/j4"
	documented() { grep -q "\"$1\"" "$T/jobctl.txt"; }
	check_each "man-jobctl-json-fields" documented $(json_keys "$T/j1" "$T/j2" "$T/j3" "$T/j4")
	groff -man -Tascii -P-cbou "$TOP/doc/man/jobd.8" 2>/dev/null >"$T/jobd.txt"
	"$JOBD" -help 2>&1 | sed -n 's/^  -\([a-z_]*\)=.*/\1/p' >"$T/flags"
	names_flag() { grep -Eq -- "^       -$1( |\$)" "$T/jobd.txt"; }
	check_each "man-jobd-names-every-flag" names_flag $(cat "$T/flags")
else
	for c in man-pages-render-clean man-jobctl-names-every-command man-jobd-names-every-flag; do
		skip "$c" "no groff (scripts/deps.sh test installs groff-base)"
	done
fi

# make install, into a staging root
rm -rf "$T/root"
make -s -C "$TOP" -o all install DESTDIR="$T/root" PREFIX=/usr B="$BUILD" >"$T/install.out" 2>&1
check "install" test $? -eq 0
installed() { test -s "$T/root/$1"; }
check_each "installed-files" installed usr/sbin/jobd usr/bin/jobctl usr/share/man/man1/jobctl.1 \
	usr/share/man/man5/jobd-namespace.5 usr/share/man/man8/jobd.8 usr/lib/systemd/system/jobd.service \
	usr/share/bash-completion/completions/jobctl usr/share/zsh/site-functions/_jobctl \
	usr/share/fish/vendor_completions.d/jobctl.fish etc/pam.d/jobd
check "installed-binaries-executable" test -x "$T/root/usr/bin/jobctl" -a -x "$T/root/usr/sbin/jobd"
check "installed-jobctl-runs" "$T/root/usr/bin/jobctl" -version
check "unit-execstart-prefix" grep -q '^ExecStart=/usr/sbin/jobd ' "$T/root/usr/lib/systemd/system/jobd.service"
check "unit-state-directory" grep -q '^StateDirectory=jobd$' "$T/root/usr/lib/systemd/system/jobd.service"
if command -v systemd-analyze >/dev/null 2>&1; then
	# The unit as installed, its binary found in the staging root. Silent:
	# verify exits 0 on a setting it cannot parse ("..., ignoring").
	mkdir -p "$T/unit"
	sed "s|^ExecStart=/usr/sbin/|ExecStart=$T/root/usr/sbin/|" \
		"$T/root/usr/lib/systemd/system/jobd.service" >"$T/unit/jobd.service"
	expect "systemd-analyze-verify" "" sh -c "systemd-analyze verify --man=no \"$T/unit/jobd.service\" 2>&1"
else
	skip "systemd-analyze-verify" "no systemd-analyze (scripts/deps.sh test installs systemd)"
fi
# The unit's Documentation= man pages are among those installed.
if command -v man >/dev/null 2>&1; then
	man_installed() { # SECTION:PAGE
		p=$(MANPATH="$T/root/usr/share/man" man -w "${1%%:*}" "${1#*:}") || return 1
		case $p in "$T/root/"*) ;; *) echo "found $p, outside the staging root"; return 1 ;; esac
	}
	check_each "unit-documentation-installed" man_installed $(sed -n 's/^Documentation=//p' \
		"$T/root/usr/lib/systemd/system/jobd.service" | tr ' ' '\n' | sed -n 's/^man:\(.*\)(\(.*\))$/\2:\1/p')
else
	skip "unit-documentation-installed" "no man(1) (scripts/deps.sh test installs man-db)"
fi
make -s -C "$TOP" uninstall DESTDIR="$T/root" PREFIX=/usr >/dev/null 2>&1
check "uninstall" sh -c "test -z \"\$(find \"$T/root\" -type f)\""

# make run's script, in a scratch tree whose build directory is this build
# (B=bld): PORT= honoured, the banner only once jobd listens, its address in
# single quotes (bash's history expansion would eat an unquoted unix!/path
# pasted from it), Ctrl-C ends jobd cleanly, a port taken gives no banner.
mkdir -p "$T/rt/scripts" "$T/rt2/scripts"
cp "$TOP/scripts/run.sh" "$T/rt/scripts/" && cp "$TOP/scripts/run.sh" "$T/rt2/scripts/"
ln -s "$BUILD" "$T/rt/bld" && ln -s "$BUILD" "$T/rt2/bld"
# run_sh DIR PORT OUT: run.sh in the background, in a session of its own
# (its pid is its process group's: Ctrl-C is a SIGINT to the group).
run_sh() {
	(cd "$1" && B=bld PORT=$2 exec setsid sh scripts/run.sh) >"$3" 2>&1 &
	RT_PID=$!
	ON_EXIT="${ON_EXIT:+$ON_EXIT; }kill -KILL -$RT_PID"     # if the test stops half-way
}
settled() { grep -q 'Stop with Ctrl-C\|did not start' "$1"; }
# A free port: a few tries, in case one is taken by someone else.
for try in 1 2 3 4 5; do
	port=$((20000 + ($$ * 7 + try * 1013) % 30000))
	run_sh "$T/rt" "$port" "$T/rt.out"
	wait_for 30 settled "$T/rt.out"
	grep -q 'Stop with Ctrl-C' "$T/rt.out" && break
	wait "$RT_PID"
done
rt1=$RT_PID
check "run-sh-banner" grep -q 'Stop with Ctrl-C' "$T/rt.out"
banner_after_listening() {
	l=$(grep -n 'listening on unix!' "$T/rt.out" | head -1 | cut -d: -f1)
	b=$(grep -n '^jobd: state in ' "$T/rt.out" | head -1 | cut -d: -f1)
	[ -n "$l" ] && [ -n "$b" ] && [ "$l" -lt "$b" ] || { cat "$T/rt.out"; return 1; }
}
check "run-sh-banner-after-listening" banner_after_listening
check "run-sh-port" grep -q "listening on 127.0.0.1:$port and 'unix!$T/rt/.jobd/jobd.sock'\$" "$T/rt.out"
expect "run-sh-listens-on-port" "clone" sh -c "\"$JOBCTL\" -a 127.0.0.1:$port ls-files / | head -1"
line=$(sed -n 's/^  \(bld\/jobctl .* ls\)$/\1/p' "$T/rt.out")
check "run-sh-address-quoted" test "$line" = "bld/jobctl -a 'unix!$T/rt/.jobd/jobd.sock' ls"
# Pasted into an interactive bash, where history expansion is on.
printf 'cd %s && %s\n' "$T/rt" "$line" | HISTFILE=/dev/null bash --norc -i >"$T/paste" 2>&1
rc=$?
check "run-sh-paste-into-bash" sh -c "test $rc -eq 0 && ! grep -q 'event not found' \"$T/paste\""
# The same port again: jobd cannot listen, says why; no banner, not 0.
run_sh "$T/rt2" "$port" "$T/rt2.out"
rt2=$RT_PID
wait_for 30 settled "$T/rt2.out"
wait "$rt2"; rc=$?
check "run-sh-port-taken-fails" test "$rc" -ne 0
check "run-sh-port-taken-no-banner" sh -c "! grep -q 'Stop with Ctrl-C' \"$T/rt2.out\" && grep -q 'did not start' \"$T/rt2.out\""
# Ctrl-C: jobd shuts down as on SIGINT, the script exits with its 0.
kill -INT "-$rt1"
wait "$rt1"; rc=$?
check "run-sh-ctrl-c-exit-0" test "$rc" -eq 0
check "run-sh-ctrl-c-jobd-exits" grep -q 'shutting down' "$T/rt.out"
rc_is "run-sh-bad-port" 2 env PORT=http sh "$T/rt/scripts/run.sh"

jobd_stop
finish
