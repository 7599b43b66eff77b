#!/bin/sh
# jobctl against a real jobd: every command, its output formats (aligned on
# a terminal, tab-separated when piped), its errors and exit codes (1 refused,
# 2 usage, 3 cannot connect), edit through a scripted $EDITOR, log -f, the
# help texts, the bash completion, the man pages, make install and -version.
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
# rc_is NAME WANT CMD...: the command's exit status is WANT.
rc_is() {
	name=$1; want=$2; shift 2
	"$@" >"$T/out" 2>"$T/err"; got=$?
	if [ "$got" -eq "$want" ]; then ok "$name"; else
		nok "$name"; echo "#   exit status $got, wanted $want"
		sed 's/^/#   stderr: /' "$T/err" | head -5
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
check "help-usage-line" grep -q '^usage: jobctl \[-a ADDR\] COMMAND' "$T/help"
# The commands, from the help text: the lines "  NAME ARGS   summary".
sed -n 's/^  \([a-z][a-z-]*\)\( .*\)\{0,1\}$/\1/p' "$T/help" | sort -u >"$T/cmds"
expect "help-lists-commands" "edit help kill log ls ls-files new next output read rm run runs set start status stop write" \
	sh -c "tr '\n' ' ' <\"$T/cmds\" | sed 's/ \$//'"
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

# Cannot connect: 3, naming the address, the reason and where it came from.
rc_is "connect-exit-3" 3 "$JOBCTL" -a 127.0.0.1:1 ls
check "connect-names-address" grep -q '^jobctl: cannot connect to 127.0.0.1:1: ' "$T/err"
check "connect-hint" grep -q '^hint: .*-a ADDR' "$T/err"
rc_is "connect-env-exit-3" 3 env JOBD_ADDR="unix!$T/nosuch.sock" "$JOBCTL" ls
check "connect-env-named" grep -q 'came from \$JOBD_ADDR' "$T/err"

expect "next" "2021-01-02T00:00:00+00:00" "$JOBCTL" next -n 1 -tz UTC -from 2021-01-01T00:00:00Z '0 0 * * *'

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
rc_is "new-bad-schedule-refused" 1 "$JOBCTL" new bad '61 * * * *' true
check "refused-shows-server-text" grep -q '^jobctl: bad: .*minute' "$T/err"
expect "ls-piped" "hello	stopped	-	-
other	stopped	-	-" "$JOBCTL" ls
check "start" "$JOBCTL" start hello
expect "started" "started" "$JOBCTL" read jobs/hello/ctl
check "ls-piped-4-fields" sh -c "\"$JOBCTL\" ls | awk -F'\t' 'NF != 4 { exit 1 }'"
check "ls-next-when-started" sh -c "\"$JOBCTL\" ls | awk -F'\t' '\$1 == \"hello\" && \$2 == \"started\" && \$3 ~ /^20[0-9][0-9]-/ { f = 1 } END { exit !f }'"
if [ "$HAVE_SCRIPT" = 1 ]; then
	on_tty "$JOBCTL" ls >"$T/tty"
	check "ls-tty-header" grep -Eq '^NAME +STATE +NEXT +LAST$' "$T/tty"
	# Aligned: STATE starts at the same column on every line.
	check "ls-tty-aligned" sh -c "awk '{ i = index(\$0, \$2); if (NR > 1 && i != c) exit 1; c = i }' \"$T/tty\""
	check "ls-tty-no-tabs" sh -c "! grep -q '	' \"$T/tty\""
else
	skip "ls-tty" "no script(1) (scripts/deps.sh test installs bsdutils)"
fi
check "start-many" "$JOBCTL" start hello other
expect "start-many-other" "started" "$JOBCTL" read jobs/other/ctl
check "stop-many" "$JOBCTL" stop other
rc_is "start-no-such-job" 1 "$JOBCTL" start nosuch
expect "no-such-job-message" "jobctl: nosuch: no such job" cat "$T/err"

# log, log -n
ran() { "$JOBCTL" log hello | grep -q ':hello world$'; }
check "log-has-runs" wait_for 10 ran
"$JOBCTL" log hello >"$T/log1"
"$JOBCTL" read jobs/hello/log >"$T/log2"
check "log-is-the-file" sh -c "test -s \"$T/log1\" && head -n \$(wc -l <\"$T/log1\") \"$T/log2\" | cmp -s - \"$T/log1\""
check "log-n-1" sh -c "test \$(\"$JOBCTL\" log -n 1 hello | wc -l) -eq 1"
expect "log-n-0" "" "$JOBCTL" log -n 0 hello
rc_is "log-no-such-job" 1 "$JOBCTL" log nosuch

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
if [ "$HAVE_SCRIPT" = 1 ]; then
	on_tty "$JOBCTL" status hello >"$T/tty"
	check "status-tty-fields" sh -c "grep -q '^schedule: *\\* \\* \\* \\* \\* \\* \\*\$' \"$T/tty\" && grep -q '^state: *started\$' \"$T/tty\" && grep -q '^last status: ' \"$T/tty\""
else
	skip "status-tty-fields" "no script(1) (scripts/deps.sh test installs bsdutils)"
fi
rc_is "status-no-such-job" 1 "$JOBCTL" status nosuch
check "ls-last-column" sh -c "\"$JOBCTL\" ls | awk -F'\t' '\$1 == \"hello\" && \$4 == \"exit:0\" { f = 1 } END { exit !f }'"
"$JOBCTL" stop hello

# set
check "set-timeout" "$JOBCTL" set hello timeout 90
expect "set-timeout-canonical" "1m30s" "$JOBCTL" read jobs/hello/timeout
rc_is "set-bad-value-refused" 1 "$JOBCTL" set hello overlap sometimes
check "set-bad-value-message" grep -q "^jobctl: hello: .*sometimes" "$T/err"
check "set-env-words" "$JOBCTL" set hello env A=1 B=two
expect "set-env-lines" "A=1
B=two" "$JOBCTL" read jobs/hello/env
check "set-env-clear" "$JOBCTL" set hello env ''
expect "set-env-cleared" "" "$JOBCTL" read jobs/hello/env
check "set-cmd-words" "$JOBCTL" set hello cmd echo hello world
rc_is "set-no-such-job" 1 "$JOBCTL" set nosuch timeout 5

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
check "edit-shows-all-settings" sh -c "for k in schedule cmd timeout overlap misfire dir env; do grep -q \"^\$k:\" \"$T/edited\" || { echo \"no \$k:\"; exit 1; }; done"
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
rc_is "edit-no-such-job" 1 env EDITOR=true "$JOBCTL" edit nosuch
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
check "output-latest" sh -c "\"$JOBCTL\" output hello | grep -q ':hello world\$'"
first=$(head -1 "$T/runs" | cut -f1)
check "output-numbered" sh -c "\"$JOBCTL\" output hello '${first:-1}' | grep -q ':hello world\$'"
rc_is "output-no-such-run" 1 "$JOBCTL" output hello 99999
check "output-no-such-run-message" grep -q '^jobctl: hello: no run 99999$' "$T/err"
rc_is "output-no-runs" 1 "$JOBCTL" output other
"$JOBCTL" new sleeper '0 0 1 1 *' 'echo up; sleep 30'
up() { "$JOBCTL" output sleeper 2>/dev/null | grep -q ':up$'; }
killed() { "$JOBCTL" runs sleeper 2>/dev/null | tail -1 | grep -q "$1"; }
if "$JOBCTL" run sleeper 2>"$T/err"; then
	ok "run"
	check "run-started" wait_for 10 up
	check "kill-s" "$JOBCTL" kill -s HUP sleeper
	check "kill-s-signal-recorded" wait_for 10 killed 'signal:HUP'
	rc_is "kill-nothing-running" 1 "$JOBCTL" kill sleeper
	check "kill-nothing-running-prefixed" grep -q '^jobctl: sleeper: ' "$T/err"
	"$JOBCTL" run sleeper
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
rc_is "rm-no-such-job" 1 "$JOBCTL" rm other

# plumbing
expect "ls-files-root" "clone
jobs" sh -c "\"$JOBCTL\" ls-files | grep -v '^stats\$'"
check "write-stdin" sh -c "echo 'piped:0 0 1 1 *:true' | \"$JOBCTL\" write clone"
expect "read" "true" "$JOBCTL" read jobs/piped/cmd
rc_is "read-missing" 1 "$JOBCTL" read jobs/nosuch/cmd
check "read-missing-prefixed-with-path" grep -q '^jobctl: jobs/nosuch/cmd: ' "$T/err"

# bash completion
if command -v bash >/dev/null 2>&1; then
	COMP=$TOP/contrib/bash-completion/jobctl
	expect "completion-registered" "complete -F _jobctl jobctl" bash -c ". \"$COMP\"; complete -p jobctl"
	# comp WORDS...: what Tab offers after the words (the last one is being completed).
	cat >"$T/comp.bash" <<'EOF'
. "$COMP"
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
_jobctl
printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
EOF
	comp() { COMP=$COMP bash "$T/comp.bash" "$@"; }
	expect "completion-commands" "start status stop" comp jobctl st
	expect "completion-all-commands" "$(tr '\n' ' ' <"$T/cmds" | sed 's/ $//')" comp jobctl ''
	expect "completion-jobs" "hello" comp jobctl start he
	expect "completion-jobs-after-addr" "hello" comp jobctl -a "$JOBD_TCP" status h
	expect "completion-settings" "overlap" comp jobctl set hello ov
	expect "completion-overlap-values" "replace" comp jobctl set hello overlap r
	expect "completion-flags" "-f -help -n -raw" comp jobctl log -
	expect "completion-flags-read" "-help -raw" comp jobctl read -
	expect "completion-path-dir" "jobs/hello/" comp jobctl read jobs/hel
	expect "completion-path-file" "jobs/hello/cmd jobs/hello/ctl" comp jobctl read jobs/hello/c
else
	skip "completion" "no bash"
fi

# man pages: render without warnings; they name every command and flag.
MANS="jobctl.1 jobd.8 jobd-namespace.5"
if command -v groff >/dev/null 2>&1; then
	man_clean() { out=$(groff -man -ww -z "$TOP/doc/man/$1" 2>&1); [ -z "$out" ] || { echo "$out"; return 1; }; }
	check_each "man-pages-render-clean" man_clean $MANS
	# As rendered: a command or flag heads its own paragraph (7 spaces in).
	groff -man -Tascii -P-cbou "$TOP/doc/man/jobctl.1" 2>/dev/null >"$T/jobctl.txt"
	names_cmd() { grep -Eq "^       $1( |\$)" "$T/jobctl.txt"; }
	check_each "man-jobctl-names-every-command" names_cmd $(cat "$T/cmds")
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
	usr/share/bash-completion/completions/jobctl etc/pam.d/jobd
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

jobd_stop
finish
