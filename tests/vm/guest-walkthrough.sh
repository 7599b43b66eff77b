# The seed walkthrough, run by busybox sh inside the vm.sh guest once per
# mount in $VM_MOUNTS (each mount is jobd through one 9P dialect). Prints one
# "ok - DIALECT/check" or "not ok - DIALECT/check" line per check (the host
# test prefixes the test name) and exits with the number of failures.
fails=0
ok() { echo "ok - $V/$1"; }
nok() { echo "not ok - $V/$1"; fails=$((fails + 1)); }
note() { sed 's/^/#   /'; }

# is NAME WANT FILE: FILE's content is exactly WANT (no trailing newline)
is() {
	got=$(cat "$3" 2>&1; echo .)
	got=${got%.}
	if [ "$got" = "$2" ]; then ok "$1"; else
		nok "$1"; printf 'wanted: [%s]\ngot:    [%s]\n' "$2" "$got" | note
	fi
}
# has NAME FILE PATTERN: some line of FILE matches the grep -E PATTERN
has() {
	if grep -Eq "$3" "$2" 2>/dev/null; then ok "$1"; else
		nok "$1"; { echo "no line matching $3 in $2:"; cat "$2"; } 2>&1 | note
	fi
}
# put NAME TEXT FILE: echo -n TEXT > FILE succeeds; bad NAME ...: it fails
put() {
	if (echo -n "$2" >"$3") 2>/tmp/err; then ok "$1"; else nok "$1"; note </tmp/err; fi
}
bad() {
	if (echo -n "$2" >"$3") 2>/tmp/err; then nok "$1 (the write succeeded)"; else
		ok "$1"; note </tmp/err
	fi
}

# waitfor CMD: CMD succeeds within 15 s (checked every 0.2 s).
waitfor() {
	n=0
	while [ $n -lt 75 ]; do eval "$1" && return 0; sleep 0.2; n=$((n + 1)); done
	return 1
}
# blocked PID: PID has a file open as fd 3 and sleeps (in a read of it), within 15 s.
blocked() {
	waitfor "[ -e /proc/$1/fd/3 ] && grep -q '^State:[[:space:]]*[SD]' /proc/$1/status"
}

for m in $VM_MOUNTS; do
	eval "dir=\$VM_MNT_$m V=\$VM_VERSION_$m"
	j=hello_$m
	cd "$dir" || { nok "cd $dir"; continue; }

	ls >/tmp/ls 2>&1
	has root-has-clone /tmp/ls '^clone$'
	has root-has-jobs /tmp/ls '^jobs$'
	put clone-create "$j:* * * * * * *:echo hello world" clone
	ls jobs >/tmp/ls 2>&1
	has jobs-lists-job /tmp/ls "^$j\$"
	is cmd "echo hello world" "jobs/$j/cmd"
	is ctl-stopped stopped "jobs/$j/ctl"
	put ctl-start start "jobs/$j/ctl"
	is ctl-started started "jobs/$j/ctl"

	s=$(cat "jobs/$j/schedule" 2>&1)
	case $s in
	'* * * * * * *:'[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]' '[0-2][0-9]:[0-5][0-9]:[0-6][0-9]' '[+-][0-9][0-9][0-9][0-9]' '?*)
		ok schedule-next ;;
	*) nok schedule-next; echo "got: [$s]" | note ;;
	esac

	n=0
	while [ $n -lt 30 ] && ! grep -q ':hello world$' "jobs/$j/log" 2>/dev/null; do
		sleep 0.5; n=$((n + 1))
	done
	has log-ran "jobs/$j/log" ':hello world$'

	put ctl-stop "stop
" "jobs/$j/ctl"
	is ctl-stopped-again stopped "jobs/$j/ctl"
	has log-started "jobs/$j/log" ':started$'
	has log-stopped "jobs/$j/log" ':stopped$'

	bad clone-bad-expression "${j}_x:99 * * * * * *:echo no" clone
	if [ -e "jobs/${j}_x" ]; then nok bad-expression-created-nothing; else ok bad-expression-created-nothing; fi
	bad ctl-bogus-verb bogus "jobs/$j/ctl"
	# Every dialect shows a real message (9P2000's text is the kernel's own
	# word for the errno, which it maps back; not "Unknown error 526").
	has error-text-is-real /tmp/err 'Invalid argument'
	is ctl-unchanged stopped "jobs/$j/ctl"

	# Run controls through ordinary file operations.
	# The scheduled runs so far are recorded too; the manual one comes last.
	before=$(ls "jobs/$j/runs" 2>/dev/null | wc -l)
	put run-verb "run
" "jobs/$j/ctl"
	n=0
	while [ $n -lt 30 ]; do
		last=$(ls "jobs/$j/runs" 2>/dev/null | sort -n | tail -1)
		[ "$(ls "jobs/$j/runs" | wc -l)" -gt "$before" ] &&
			grep -q 'state=done' "jobs/$j/runs/$last/status" 2>/dev/null && break
		sleep 0.5; n=$((n + 1))
	done
	has run-status "jobs/$j/runs/$last/status" "^run=$last .*state=done status=exit:0 manual=1 "
	has run-output "jobs/$j/runs/$last/output" ':hello world$'
	has job-status "jobs/$j/status" '^state=stopped .*last_status=exit:0 runs=[0-9]+ failures=0 '
	put timeout-set "5s
" "jobs/$j/timeout"
	is timeout-read 5s "jobs/$j/timeout"
	bad timeout-bad soon "jobs/$j/timeout"
	is timeout-unchanged 5s "jobs/$j/timeout"
	put cmd-edit "echo edited" "jobs/$j/cmd"
	is cmd-edited "echo edited" "jobs/$j/cmd"
	# mkdir makes an empty job; it cannot start without a schedule.
	if mkdir "jobs/${j}_new" 2>/tmp/err; then ok mkdir-job; else nok mkdir-job; note </tmp/err; fi
	is mkdir-job-stopped stopped "jobs/${j}_new/ctl"
	bad mkdir-job-cannot-start start "jobs/${j}_new/ctl"
	put mkdir-job-schedule "@daily" "jobs/${j}_new/schedule"
	put mkdir-job-cmd "true" "jobs/${j}_new/cmd"
	put mkdir-job-start start "jobs/${j}_new/ctl"
	if rmdir "jobs/${j}_new" 2>/tmp/err; then ok rmdir-job; else nok rmdir-job; note </tmp/err; fi
	# rm -r empties the directory first (removing generated files is a no-op), then deletes.
	if rm -r "jobs/$j" 2>/tmp/err; then ok rm-r-job; else nok rm-r-job; note </tmp/err; fi
	ls jobs >/tmp/ls 2>&1
	if grep -q "^$j" /tmp/ls; then nok jobs-gone; cat /tmp/ls | note; else ok jobs-gone; fi
	put name-reusable "$j:@daily:true" clone

	# Live files: a read that waits is answered when there is something, and
	# Ctrl-C (SIGINT to a cat blocked in read: the kernel sends Tflush) ends it.
	lj=live_$m
	put live-create "$lj:0 0 1 1 * 2099:echo live-line" clone
	cat events >/tmp/ev 2>&1 &
	evpid=$!
	cat "jobs/$lj/log.follow" >/tmp/fol 2>&1 &
	folpid=$!
	blocked $evpid && ok events-blocks || nok events-blocks
	blocked $folpid && ok follow-blocks || nok follow-blocks
	put live-run run "jobs/$lj/ctl"
	waitfor "grep -q ':live-line$' /tmp/fol" && ok follow-gets-line || { nok follow-gets-line; note </tmp/fol; }
	waitfor "grep -q ' run.ended $lj ' /tmp/ev" && ok events-gets-run || { nok events-gets-run; note </tmp/ev; }
	cat "jobs/$lj/runs/1/status" >/tmp/st
	cat "jobs/$lj/runs/1/wait" >/tmp/wt 2>&1
	cmp -s /tmp/st /tmp/wt && ok wait-after-end || { nok wait-after-end; note </tmp/wt; }
	kill $evpid $folpid 2>/dev/null
	# Ctrl-C: cat in the foreground, SIGINT sent once it sleeps in read.
	( p=''; n=0
	  while [ $n -lt 100 ]; do
		p=$(pidof cat); [ -n "$p" ] && blocked "$p" && break
		sleep 0.1; n=$((n + 1))
	  done
	  kill -INT $p ) &
	killer=$!
	cat "jobs/$lj/log.follow" >/dev/null 2>&1
	rc=$?
	wait $killer
	[ $rc -eq 130 ] && ok ctrl-c-ends-follow || { nok ctrl-c-ends-follow; echo "cat exited $rc" | note; }
	is served-after-ctrl-c stopped "jobs/$lj/ctl"
	rm -r "jobs/$lj"
done
exit $((fails > 100 ? 100 : fails))
