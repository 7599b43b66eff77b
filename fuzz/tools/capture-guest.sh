# Runs in the tests/vm/vm.sh guest (busybox sh, as root) for fuzz/tools/capture.sh:
# the same walk through jobd's name space in each kernel mount, one per dialect.
# Many steps fail on purpose; the frames of the failures are wanted too.
for m in $VM_MOUNTS; do
	eval "cd \$VM_MNT_$m"
	j=k$m
	ls -la
	cat stats
	echo -n "$j:*/5 * * * *:echo hi from $j" > clone
	ls -la jobs jobs/$j
	cat jobs/$j/schedule jobs/$j/cmd jobs/$j/status jobs/$j/ctl
	stat jobs/$j/cmd jobs/$j
	echo start > jobs/$j/ctl
	echo run > jobs/$j/ctl
	sleep 1
	cat jobs/$j/log
	ls -la jobs/$j/runs jobs/$j/runs/1
	cat jobs/$j/runs/1/output jobs/$j/runs/1/status
	echo 90s > jobs/$j/timeout; cat jobs/$j/timeout
	echo 'A=1' >> jobs/$j/env; cat jobs/$j/env
	echo 'TZ=America/New_York 30 2 * * *' > jobs/$j/schedule; cat jobs/$j/schedule
	echo bogus > jobs/$j/ctl
	echo 'x:not a cron:y' > clone
	cat nosuch
	mkdir jobs/m$m
	mv jobs/m$m jobs/n$m
	ln -s a jobs/l$m
	touch jobs/newfile
	dd if=jobs/$j/log bs=7 count=3 2>/dev/null | od -c | head -2
	df . ; stat -f .
	sync jobs/$j/cmd; sync -d jobs/$j/ctl
	ln jobs/$j/cmd jobs/$j/cmd2
	mknod jobs/$j/fifo p
	mv jobs/$j/cmd jobs/$j/cmd3
	rm jobs/$j/log
	echo -n "d$m:@daily:true" > clone
	rm -r jobs/d$m jobs/m$m
	echo stop > jobs/$j/ctl
	echo delete > jobs/$j/ctl
	ls -la jobs
done
exit 0
