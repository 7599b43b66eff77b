# Per-user kernel mounts, run by busybox sh inside the vm.sh guest as root
# (test-users.sh prepends UA, IA, GA, UB, IB, GB: two users that exist with the
# same ids on the host). Root mounted jobd with access=user, so the kernel
# attaches once per local user and names each one (n_uname). For each mount
# in $VM_MOUNTS: each user creates a job through the mount; each job runs as
# its creator; neither user can write the other's ctl; ls -ln shows the owners.
fails=0
ok() { echo "ok - $V/$1"; }
nok() { echo "not ok - $V/$1"; fails=$((fails + 1)); }
note() { sed 's/^/#   /'; }

mkdir -p /etc
cat >/etc/passwd <<PW
root:x:0:0:root:/:/bin/sh
$UA:x:$IA:$GA::/:/bin/sh
$UB:x:$IB:$GB::/:/bin/sh
PW
cat >/etc/group <<GR
root:x:0:
g$IA:x:$GA:
g$IB:x:$GB:
GR
as() { who=$1; shift; su -s /bin/sh "$who" -c "$*"; }

for m in $VM_MOUNTS; do
	eval "dir=\$VM_MNT_$m V=\$VM_VERSION_$m"
	cd "$dir" || { nok "cd $dir"; continue; }
	ja=ua_$m jb=ub_$m
	if as "$UA" "echo -n '$ja:@daily:id -u' > clone" 2>/tmp/err; then ok a-creates; else nok a-creates; note </tmp/err; fi
	if as "$UB" "echo -n '$jb:@daily:id -u' > clone" 2>/tmp/err; then ok b-creates; else nok b-creates; note </tmp/err; fi
	own() { ls -ln jobs | awk -v j="$1" '$NF == j { print $3 }'; }
	[ "$(own "$ja")" = "$IA" ] && ok ls-shows-a || { nok ls-shows-a; ls -ln jobs | note; }
	[ "$(own "$jb")" = "$IB" ] && ok ls-shows-b || { nok ls-shows-b; ls -ln jobs | note; }
	if as "$UB" "echo -n stop > jobs/$ja/ctl" 2>/tmp/err; then nok b-cannot-write-a-ctl; else ok b-cannot-write-a-ctl; fi
	if as "$UA" "echo -n run > jobs/$jb/ctl" 2>/tmp/err; then nok a-cannot-write-b-ctl; else ok a-cannot-write-b-ctl; fi
	if as "$UB" "echo -n 'echo owned' > jobs/$ja/cmd" 2>/tmp/err; then nok b-cannot-edit-a; else ok b-cannot-edit-a; fi
	for u in A B; do
		eval "user=\$U$u id=\$I$u j=\$j$(echo $u | tr AB ab)"
		if as "$user" "echo -n run > jobs/$j/ctl" 2>/tmp/err; then ok "$u-runs-own"; else nok "$u-runs-own"; note </tmp/err; fi
		n=0
		while [ $n -lt 100 ] && ! grep -q 'state=done' "jobs/$j/runs/1/status" 2>/dev/null; do
			sleep 0.2; n=$((n + 1))
		done
		out=$(sed 's/^[^:]*:[^:]*:[^:]*://' "jobs/$j/runs/1/output" 2>&1)
		[ "$out" = "$id" ] && ok "$u-ran-as-creator" || { nok "$u-ran-as-creator"; echo "got [$out], want [$id]" | note; }
	done
	[ "$(cat jobs/$ja/cmd)" = "id -u" ] && ok a-cmd-unchanged || nok a-cmd-unchanged
	# Root on the same mount is root: it controls both.
	if echo -n stop > "jobs/$jb/ctl" 2>/tmp/err; then ok root-controls-b; else nok root-controls-b; note </tmp/err; fi
done
exit $((fails > 100 ? 100 : fails))
