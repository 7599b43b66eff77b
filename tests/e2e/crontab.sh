#!/bin/sh
# jobctl import and export against a real jobd: Debian's /etc/crontab
# (tests/e2e/fixtures/debian-crontab, as the cron package installs it), a
# user crontab with every feature import reads (user-crontab), one with lines
# it refuses (bad-crontab); each job made checked file by file; the round
# trip export | import | export; exit statuses.
. "$(dirname "$0")/lib.sh"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
FIX=$TOP/tests/e2e/fixtures
PATH=$BUILD:$PATH
export PATH
ME=$(id -un)

# file_is NAME JOB FILE WANT: jobs/JOB/FILE holds WANT (a started job's
# schedule without its ":<next run>").
file_is() {
	if [ "$3" = schedule ]; then
		expect "$1" "$4" sh -c "v=\$(jobctl read 'jobs/$2/schedule') && echo \"\${v%%:*}\""
	else
		expect "$1" "$4" jobctl read "jobs/$2/$3"
	fi
}
# dump FILE: every job's settings and state, one "job file: value" line each
# (a started job's schedule without its ":<next run>": it depends on the
# moment; a schedule holds no other ':').
dump() {
	for j in $(jobctl ls-files jobs); do
		for f in schedule cmd env timeout overlap misfire orphan dir limits ctl; do
			v=$(jobctl read "jobs/$j/$f")
			[ "$f" = schedule ] && v=${v%%:*}
			printf '%s %s: %s\n' "$j" "$f" "$v"
		done
	done >"$1"
}

# ---- no daemon: -check ----
rc_is "check-debian-exit-0" 0 jobctl import -check -u root "$FIX/debian-crontab"
expect "check-debian-jobs" "line 19: run_parts_cron_hourly: 17 * * * *: cd / && run-parts --report /etc/cron.hourly
line 20: run_parts_cron_daily: 25 6 * * *: test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }
line 21: run_parts_cron_weekly: 47 6 * * 7: test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.weekly; }
line 22: run_parts_cron_monthly: 52 6 1 * *: test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.monthly; }" cat "$T/out"
expect "check-debian-silent" "" cat "$T/err"
# The user column read as a command without -u: a cron line still, but
# "root" becomes the program, which -check shows.
rc_is "check-debian-without-u" 0 jobctl import -check "$FIX/debian-crontab"
check "check-debian-without-u-shows-root" grep -q '^line 19: root: 17 \* \* \* \*: root ' "$T/out"
rc_is "check-bad-exit-1" 1 jobctl import -check "$FIX/bad-crontab"
# Each refused line named, with its number and reason.
refused() { grep -q "^jobctl: $FIX/bad-crontab:$1: .*$2" "$T/err" || { echo "line $1: no /$2/"; return 1; }; }
check "check-refuses-reboot" refused 2 '@reboot: jobd has schedules, not start-up jobs'
check "check-refuses-bad-minute" refused 3 "bad schedule '61 \\* \\* \\* \\*': minute"
check "check-refuses-short-line" refused 4 'want five time fields'
check "check-refuses-jobd-vars" refused 5 'JOBD_\* variables are set by jobd'
check "check-refuses-junk" refused 6 'neither an entry'
check "check-warns-day-rule" refused 7 'warning: .*cron runs it on days that match both'
check "check-refuses-bad-set" refused 8 "'colour' is not a setting"
check "check-refuses-after-bad-set" refused 9 "not imported"
check "check-refuses-unknown-macro" refused 13 "unknown macro"
expect "check-bad-takes-the-rest" "line 7: echo_differ: 0 0 */2 * 1: echo days differ
line 12: explicit-name: 0 2 * * *: echo named" cat "$T/out"
# What import says quotes the file (a schedule, a user column): its control
# bytes are shown as \xHH, never sent raw to the terminal.
ESC=$(printf '\033')
printf '61\033[2J * * * * x\n0 0 * * * us\033]0;t\007er echo hi\n' >"$T/esc"
rc_is "check-escapes-exit-1" 1 jobctl import -check -u "$ME" "$T/esc"
check "check-escapes-schedule" grep -qF "esc:1: bad schedule '61\x1b[2J * * * *'" "$T/err"
check "check-escapes-user" grep -qF 'esc:2: for user us\x1b]0;t\x07er, not' "$T/err"
check_fails "check-escapes-no-esc" grep -q "$ESC" "$T/err"
# A file that cannot be read says why.
rc_is "import-directory-1" 1 jobctl import -check /
check "import-directory-says-why" grep -qx 'jobctl: /: Is a directory' "$T/err"
rc_is "import-missing-file-4" 4 jobctl import -check "$T/nosuch"
rc_is "import-missing-arg-2" 2 jobctl import
# -u is who the jobs are for: jobd makes a job its creator's, so only that
# user may import them (-check aside, which makes nothing).
other=nobody; [ "$ME" = nobody ] && other=root
rc_is "import-u-other-user-2" 2 jobctl import -u "$other" "$FIX/debian-crontab"
check "import-u-other-user-says-why" grep -q "only $other can import $other's lines (you are $ME)" "$T/err"

# ---- against a daemon ----
jobd_start

# Debian's /etc/crontab, as root's lines (or ours, when not root: the same
# file with our name in the user column).
if [ "$ME" = root ]; then cp "$FIX/debian-crontab" "$T/system"; else
	sed "s/\troot\(\s\)/\t$ME\1/" "$FIX/debian-crontab" >"$T/system"
fi
rc_is "import-debian" 0 jobctl import -u "$ME" "$T/system"
expect "import-debian-reports" "line 19: created run_parts_cron_hourly
line 20: created run_parts_cron_daily
line 21: created run_parts_cron_weekly
line 22: created run_parts_cron_monthly" cat "$T/out"
file_is "debian-daily-schedule" run_parts_cron_daily schedule "25 6 * * *"
file_is "debian-daily-cmd" run_parts_cron_daily cmd "test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }"
file_is "debian-weekly-schedule" run_parts_cron_weekly schedule "47 6 * * 7"
file_is "debian-env" run_parts_cron_monthly env "SHELL=/bin/sh"
expect "debian-started" "started started started started" sh -c \
	"for j in hourly daily weekly monthly; do jobctl read jobs/run_parts_cron_\$j/ctl; echo; done | tr '\n' ' ' | sed 's/ \$//'"
# Imported again: the names are taken, new ones are made.
rc_is "import-again" 0 jobctl import -u "$ME" "$T/system"
check "import-again-unique-names" grep -q '^line 19: created run_parts_cron_hourly_2$' "$T/out"
# Lines for other users are skipped, not failures.
printf '0 0 * * * %s echo mine\n0 0 * * * someone-else echo theirs\n' "$ME" >"$T/mixed"
rc_is "import-skips-other-users" 0 jobctl import -u "$ME" "$T/mixed"
check "import-skips-says-so" grep -q "mixed:2: for user someone-else, not $ME: skipped" "$T/err"
check "import-skips-made-mine" grep -q '^line 1: created echo_mine$' "$T/out"
jobctl rm $(jobctl ls-files jobs) 2>/dev/null

# The user crontab of every feature.
rc_is "import-user" 0 jobctl import "$FIX/user-crontab"
check "import-user-twelve-jobs" test "$(grep -c ': created ' "$T/out")" -eq 12
check "import-user-mailto-warning" grep -q 'user-crontab:3: warning: MAILTO: jobd sends no mail' "$T/err"
file_is "user-env" backup env "MAILTO=ops@example.com
PATH=/usr/local/bin:/usr/bin:/bin
GREETING=  hello, world  
QUOTED=single quoted"
file_is "user-cmd-as-written" backup cmd "/usr/local/bin/backup.sh --incremental >/dev/null 2>&1"
file_is "user-macro" manage_clearsessions schedule "@hourly"
file_is "user-escaped-percent" echo_week_done cmd 'echo "week % done"'
file_is "user-names-ranges" echo_working schedule "30 8-18/2 * jan-jun mon-fri"
file_is "user-cron-tz" mail_team_example_com schedule "TZ=America/New_York 0 9 * * 1-5"
file_is "user-stdin" mail_team_example_com cmd "printf 'Standup in 5 minutes.\\nBring coffee.\\n' | /bin/sh -c 'mail -s \"standup\" team@example.com'"
file_is "user-cron-tz-reset" printf_QUOTED schedule "15 3 * * *"
file_is "user-env-changed" printf_QUOTED env "MAILTO=ops@example.com
PATH=/bin
GREETING=  hello, world  
QUOTED=single quoted"
# What the % form gives a command, run: its input, cron's way.
printf '0 0 1 1 * cat%%line one%%line two: 100\\%%%%\n' >"$T/stdin"
jobctl import "$T/stdin" >/dev/null 2>&1
jobctl run -w cat >"$T/out" 2>&1
check "stdin-runs" sh -c "jobctl output cat >\"$T/out\" && grep -q ':line one\$' \"$T/out\" && grep -q ':line two: 100%\$' \"$T/out\""

# Lines refused: reported with their numbers, the rest made, exit 1.
rc_is "import-bad-exit-1" 1 jobctl import "$FIX/bad-crontab"
check "import-bad-line-numbers" sh -c "grep -c '^jobctl: $FIX/bad-crontab:[0-9]*: ' \"$T/err\" | grep -qx 9"
expect "import-bad-made-the-rest" "line 7: created echo_differ
line 12: created explicit-name" cat "$T/out"
file_is "import-bad-set-applied" explicit-name timeout "1h"
# A line jobd refuses (a zone it does not know, a name taken): not made,
# exit 1, a job there left alone.
printf 'CRON_TZ=Mars/Olympus\n0 9 * * * echo mars\n' >"$T/mars"
rc_is "import-unknown-zone-1" 1 jobctl import "$T/mars"
check "import-unknown-zone-says-why" grep -q "mars:2: echo_mars: .*Mars/Olympus" "$T/err"
check "import-unknown-zone-made-nothing" sh -c '! jobctl ls-files jobs | grep -qx echo_mars'
# A name with a ':' would be cut by jobd's clone line "name:schedule:cmd",
# the rest of it taken for the schedule and the command: refused here.
printf '# jobctl name evil:@daily:echo owned\n0 0 * * * echo hi\n' >"$T/colon"
rc_is "import-name-colon-1" 1 jobctl import "$T/colon"
check "import-name-colon-says-why" grep -q "colon:1: # jobctl name: invalid job name 'evil:" "$T/err"
check "import-name-colon-made-nothing" sh -c '! jobctl ls-files jobs | grep -qx evil'
printf '# jobctl name explicit-name\n0 0 * * * echo other\n' >"$T/taken"
rc_is "import-name-taken-1" 1 jobctl import "$T/taken"
file_is "import-name-taken-untouched" explicit-name cmd "echo named"
# A setting jobd refuses after the job is made: the job goes again.
printf '# jobctl set dir /nonexistent/dir\n0 0 * * * echo nodir\n' >"$T/nodir"
jobctl import "$T/nodir" >"$T/out" 2>"$T/err"; rc=$?
if [ "$rc" -eq 0 ]; then
	skip "import-refused-setting-undone" "this jobd accepts a dir that does not exist"
else
	check "import-refused-setting-undone" sh -c '! jobctl ls-files jobs | grep -qx echo_nodir'
fi
rc_is "import-stdin" 0 sh -c 'echo "0 0 * * * echo from stdin" | jobctl import -'
check "import-stdin-made" grep -q '^line 1: created echo_stdin$' "$T/out"

# Round trip: export, import into a fresh jobd, export again: the same
# text, and every job the same, file by file.
jobctl stop echo_working >/dev/null
jobctl set echo_working overlap queue
jobctl set echo_working limits nofile=1024
jobctl set echo_working orphan rerun
rc_is "export" 0 jobctl export
cp "$T/out" "$T/export1"
check "export-stopped-commented" grep -q '^#30 8-18/2 \* jan-jun mon-fri echo working$' "$T/export1"
check "export-settings-in-comments" sh -c "grep -q '^# jobctl set overlap queue\$' \"$T/export1\" && grep -q '^# jobctl set limits nofile=1024\$' \"$T/export1\""
check "export-orphan-in-comments" grep -q '^# jobctl set orphan rerun$' "$T/export1"
check "export-percent-escaped" grep -q "^@weekly echo \"week \\\\% done\"\$" "$T/export1"
check "export-cron-tz" grep -q '^CRON_TZ=America/New_York$' "$T/export1"
dump "$T/dump1"
jobd_stop
rm -rf "$T/db"
jobd_start
rc_is "roundtrip-import" 0 jobctl import "$T/export1"
rc_is "roundtrip-export" 0 jobctl export
check "roundtrip-same-crontab" cmp "$T/export1" "$T/out"
dump "$T/dump2"
check "roundtrip-same-jobs" cmp "$T/dump1" "$T/dump2"
check "roundtrip-nothing-missing" test "$(wc -l <"$T/dump1")" -ge 100

# export: the jobs named, the system format, what cannot be written, errors.
rc_is "export-named" 0 jobctl export date
check "export-named-one" test "$(grep -c '^# jobctl name ' "$T/out")" -eq 1
rc_is "export-u" 0 jobctl export -u "$ME" date
check "export-u-user-column" grep -q "^@midnight $ME date\$" "$T/out"
jobctl export -u "$ME" date >"$T/sys"
jobctl rm date
rc_is "export-u-reimport" 0 jobctl import -u "$ME" "$T/sys"
file_is "export-u-reimported" date cmd "date"
rc_is "export-no-such-job-4" 4 jobctl export nosuch
jobctl new seconds '*/10 * * * * * *' true
rc_is "export-seconds-1" 1 jobctl export seconds
check "export-seconds-says-why" grep -q '^jobctl: seconds: a crontab cannot hold it: its schedule' "$T/err"

jobd_stop
finish
