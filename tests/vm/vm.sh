#!/usr/bin/env bash
# vm.sh - run a busybox shell script in a throw-away Linux guest whose kernel
# 9p client (v9fs) has mounted a 9P server listening on this host's loopback.
#
#   tests/vm/vm.sh --port P [--version V] [--opts O] SCRIPT
#   tests/vm/vm.sh --port P --mount NAME:V[:O] [--mount ...] SCRIPT
#   tests/vm/vm.sh --prepare
#
#   --port P        the server's TCP port on 127.0.0.1 (the guest dials 10.0.2.2:P)
#   --version V     dialect of the single default mount /mnt/9: 9p2000.L (default),
#                   9p2000.u or 9p2000
#   --opts O        extra mount options for every mount (e.g. cache=loose,msize=8192)
#   --mount N:V[:O] mount at /mnt/N with version V (and options O); repeatable,
#                   replaces the default mount. N is [A-Za-z0-9_]+.
#   --timeout S     hard limit on boot + script, in seconds (default 120, or
#                   $JOBD_VM_TIMEOUT); the one-time preparation is not counted
#   --console       also copy the guest's kernel console to stderr
#   --prepare       only fill the cache
#
# SCRIPT runs as root under busybox sh, cwd = the first mount, stdin /dev/null.
# Its environment: VM_PORT, VM_MOUNTS (the mount names, in order), VM_MNT (first
# mount point), VM_MNT_<N> (mount point of each), VM_VERSION_<N>.
# Its stdout+stderr are printed byte-exactly; vm.sh exits with its status, or
# 124 when the time limit hit, 125 when the harness failed (preparation, boot,
# module or mount failure), 2 on a usage error. Diagnostics go to stderr.
#
# Environment: JOBD_VM_CACHE (cache dir, default ${XDG_CACHE_HOME:-~/.cache}/jobd-vm),
# JOBD_VM_KERNEL (kernel package, default the one linux-image-amd64 depends on),
# JOBD_VM_ACCEL (auto|kvm|tcg), JOBD_VM_MEM (MiB, default 256), JOBD_VM_TIMEOUT.
set -uo pipefail

me=vm.sh
say() { printf '%s: %s\n' "$me" "$*" >&2; }
fail() { say "$*"; exit 125; }
usage() { say "$*"; sed -n '4,6s/^#  */usage: /p' "$0" >&2; exit 2; }

# Bump when the cache layout changes; the guest init and module list are hashed
# into the cache key anyway.
REV=1
MODULES="virtio_pci virtio_net 9pnet_fd 9p"
CACHE=${JOBD_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/jobd-vm}
MEM=${JOBD_VM_MEM:-256}
ACCEL=${JOBD_VM_ACCEL:-auto}
TIMEOUT=${JOBD_VM_TIMEOUT:-120}

port='' version=9p2000.L opts='' console=0 prepare_only=0 script=''
mounts=()
while [ $# -gt 0 ]; do
	case $1 in
	--port|--version|--opts|--mount|--timeout)
		[ $# -ge 2 ] || usage "$1 needs a value"
		case $1 in
		--port) port=$2 ;; --version) version=$2 ;; --opts) opts=$2 ;;
		--mount) mounts+=("$2") ;; --timeout) TIMEOUT=$2 ;;
		esac
		shift 2 ;;
	--console) console=1; shift ;;
	--prepare) prepare_only=1; shift ;;
	-h|--help) sed -n '2,/^set /{/^set /d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	--) shift; break ;;
	-*) usage "unknown option $1" ;;
	*) break ;;
	esac
done
if [ "$prepare_only" = 0 ]; then
	[ $# -eq 1 ] || usage "exactly one SCRIPT expected"
	script=$1
	[ -r "$script" ] || usage "cannot read $script"
	[[ $port =~ ^[0-9]+$ ]] || usage "--port P (a number) is required"
fi
[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || usage "bad timeout $TIMEOUT"
[ ${#mounts[@]} -gt 0 ] || mounts=("9:$version")
# Everything below travels into the guest's shell: accept tame characters only.
for m in "${mounts[@]}"; do
	[[ $m =~ ^[A-Za-z0-9_]+:[A-Za-z0-9.]+(:[A-Za-z0-9.,=_/@+-]*)?$ ]] || usage "bad mount spec $m"
done
[[ $opts =~ ^[A-Za-z0-9.,=_/@+-]*$ ]] || usage "bad mount options $opts"

for t in qemu-system-x86_64 cpio flock timeout; do
	command -v $t >/dev/null || fail "$t is missing (run scripts/deps.sh test)"
done

build='' run='' tpid=''
cleanup() {
	if [ -n "$tpid" ]; then kill "$tpid" 2>/dev/null; wait "$tpid" 2>/dev/null; fi
	[ -n "$build" ] && rm -rf "$build"
	[ -n "$run" ] && rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# ---- the guest's /init (busybox sh, PID 1) ---------------------------------
# Serial ports: ttyS0 kernel console, ttyS1 the script's output, ttyS2 status
# lines for this harness ("ERROR ...", "EXIT n").
read -r -d '' GUEST_INIT <<'EOF'
#!/bin/sh
PATH=/bin; export PATH
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for t in ttyS1 ttyS2; do stty -F /dev/$t raw -echo -opost 2>/dev/null; done
exec 3>/dev/ttyS2 4>/dev/ttyS1
halt_with() {
	echo "EXIT $1" >&3
	exec 3>&- 4>&-   # the last close of a tty waits until it has drained
	poweroff -f; sleep 5; echo o >/proc/sysrq-trigger
}
die() { echo "ERROR $*" >&3; halt_with 125; }
[ -f /job/conf ] || halt_with 0   # base image alone: the KVM probe
. /job/conf
while read -r m; do
	insmod /lib/mods/$m.ko 2>/tmp/err || die "insmod $m: $(cat /tmp/err)"
done </lib/mods/order
ip link set lo up
ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 || die "no network"
VM_MOUNTS=
for spec in $MOUNT_SPECS; do
	name=${spec%%:*}; rest=${spec#*:}; ver=${rest%%:*}
	o=trans=tcp,port=$VM_PORT,version=$ver
	case $rest in *:?*) o=$o,${rest#*:} ;; esac
	[ -n "$EXTRA_OPTS" ] && o=$o,$EXTRA_OPTS
	mkdir -p /mnt/$name
	mount -t 9p -o "$o" 10.0.2.2 /mnt/$name 2>/tmp/err ||
		die "mount -o $o 10.0.2.2 /mnt/$name: $(tr '\n' ' ' </tmp/err)"
	eval "VM_MNT_$name=/mnt/$name VM_VERSION_$name=$ver; export VM_MNT_$name VM_VERSION_$name"
	[ -n "$VM_MOUNTS" ] || VM_MNT=/mnt/$name
	VM_MOUNTS="$VM_MOUNTS${VM_MOUNTS:+ }$name"
done
export VM_PORT VM_MOUNTS VM_MNT
cd "$VM_MNT" && sh /job/script </dev/null >&4 2>&1
rc=$?
cd /
halt_with $rc
EOF

KEY=$(printf '%s\n' "$REV" "$MODULES" "$GUEST_INIT" | cksum | cut -d' ' -f1)

# ---- cache preparation ------------------------------------------------------
kernel_pkg_from_apt() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1
}

# fetch PKG: print the path of PKG's .deb, kept in $CACHE/debs so that a new
# harness revision can be prepared offline too.
fetch() {
	local f sandbox=()
	f=$(ls "$CACHE/debs/$1"_*.deb 2>/dev/null | tail -n 1)
	if [ -z "$f" ]; then
		[ "$(id -u)" = 0 ] && sandbox=(-o APT::Sandbox::User=root)
		(cd "$build" && apt-get -q "${sandbox[@]}" download "$1" >&2) || return 1
		mkdir -p "$CACHE/debs" && mv "$build/$1"_*.deb "$CACHE/debs/" || return 1
		f=$(ls "$CACHE/debs/$1"_*.deb | tail -n 1)
	fi
	echo "$f"
}

# bzImage -> ELF vmlinux, so that qemu can start it through its PVH entry and
# the emulated CPU need not decompress the kernel on every boot. The setup
# header says where the compressed payload is (boot protocol >= 2.08).
unpack_vmlinux() { # BZIMAGE OUT
	local u8 off len magic
	u8=$(od -An -tu1 -j $((0x1f1)) -N1 "$1" | tr -d ' ')
	off=$(od -An -tu4 -j $((0x248)) -N4 "$1" | tr -d ' ')
	len=$(od -An -tu4 -j $((0x24c)) -N4 "$1" | tr -d ' ')
	off=$(((u8 + 1) * 512 + off))
	magic=$(od -An -tx1 -j "$off" -N4 "$1" | tr -d ' ')
	local unz
	case $magic in
	fd377a58) unz="xz -dc --single-stream" ;;
	1f8b08*) unz="gzip -dc" ;;
	28b52ffd) unz="zstd -dcq" ;;
	02214c18) unz="lz4 -dc" ;;
	*) return 1 ;;
	esac
	tail -c +$((off + 1)) "$1" | head -c "$len" | $unz >"$2" 2>/dev/null
	[ "$(od -An -tx1 -N4 "$2" | tr -d ' ')" = 7f454c46 ]
}

prepare() { # KPKG   (runs under the cache lock)
	local kpkg=$1 dest=$CACHE/$1-$KEY
	build=$(mktemp -d "$CACHE/.build.XXXXXX") || fail "cannot create a build dir in $CACHE"
	chmod 755 "$build"
	say "preparing $dest ..."
	local deb
	if ! deb=$(fetch "$kpkg"); then rm -rf "$build"; build=; return 1; fi
	dpkg-deb -x "$deb" "$build/k" || fail "cannot unpack $deb"
	local kver mdir
	kver=$(ls "$build/k/lib/modules")
	mdir=$build/k/lib/modules/$kver
	[ -d "$mdir/kernel" ] || fail "$kpkg has no modules"

	local root=$build/root
	mkdir -p "$root"/{bin,dev,proc,sys,tmp,mnt,lib/mods}
	# busybox-static is installed by scripts/deps.sh; else fetch it the same way.
	local bb=/bin/busybox
	if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed'; then
		if ! deb=$(fetch busybox-static); then rm -rf "$build"; build=; return 1; fi
		dpkg-deb -x "$deb" "$build/bb" || fail "cannot unpack $deb"
		bb=$build/bb/bin/busybox
	fi
	cp "$bb" "$root/bin/busybox" || fail "no busybox binary"
	for a in $("$root/bin/busybox" --list); do
		[ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"
	done
	printf '%s\n' "$GUEST_INIT" >"$root/init"
	chmod 755 "$root/init"

	# Copy the wanted modules and, depth first, what they depend on (the
	# "depends=" string of each .ko's modinfo), skipping built-in ones.
	declare -A where=() seen=()
	local f n
	while read -r f; do
		n=${f##*/}; n=${n%%.ko*}; where[${n//-/_}]=$f
	done < <(find "$mdir/kernel" -name '*.ko*')
	add_module() {
		local m=${1//-/_} d src
		[ -z "${seen[$m]:-}" ] || return 0
		seen[$m]=1
		src=${where[$m]:-}
		if [ -z "$src" ]; then
			grep -q "/${m//_/[-_]}\.ko" "$mdir/modules.builtin" 2>/dev/null && return 0
			fail "module $m is not in $kpkg"
		fi
		case $src in
		*.xz) xz -dc "$src" ;; *.zst) zstd -dcq "$src" ;; *.gz) gzip -dc "$src" ;; *) cat "$src" ;;
		esac >"$root/lib/mods/$m.ko" || fail "cannot copy $src"
		for d in $(tr '\0' '\n' <"$root/lib/mods/$m.ko" | sed -n 's/^depends=//p' | tr ',' ' '); do
			add_module "$d"
		done
		echo "$m" >>"$root/lib/mods/order"
	}
	: >"$root/lib/mods/order"
	for n in $MODULES; do add_module "$n"; done

	mkdir -p "$build/out"
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$build/out/base.cpio" ||
		fail "cpio failed"
	if grep -qx 'CONFIG_PVH=y' "$build"/k/boot/config-* && unpack_vmlinux "$build"/k/boot/vmlinuz-* "$build/out/kernel"; then
		:
	else
		say "no PVH-bootable vmlinux; booting the compressed kernel (slower)"
		cp "$build"/k/boot/vmlinuz-* "$build/out/kernel"
	fi
	echo "$kver" >"$build/out/kver"
	tr '\n' ' ' <"$root/lib/mods/order" >"$build/out/modules"
	rm -rf "$dest"
	mv "$build/out" "$dest" || fail "cannot install $dest"
	rm -rf "$build"; build=
	# Keep only this kernel's package around.
	for f in "$CACHE"/debs/linux-image-*.deb; do
		case ${f##*/} in "$kpkg"_*) ;; *) rm -f "$f" ;; esac
	done
	say "ready: kernel $kver; modules: $(cat "$dest/modules")"
}

ready() { [ -n "$1" ] && [ -s "$CACHE/$1-$KEY/kernel" ] && [ -s "$CACHE/$1-$KEY/base.cpio" ]; }

# choose_kernel: make sure $kpkg is prepared, or pick another that can be.
choose_kernel() {
	local old
	ready "$kpkg" && return 0
	[ -n "$kpkg" ] && prepare "$kpkg" && return 0
	[ -z "${JOBD_VM_KERNEL:-}" ] || return 1
	# Stale or missing apt lists: refresh them once and try again.
	say "retrying after apt-get update"
	apt-get -q update >&2
	kpkg=$(kernel_pkg_from_apt)
	ready "$kpkg" && return 0
	[ -n "$kpkg" ] && prepare "$kpkg" && return 0
	# Offline: what this cache already holds will do.
	old=$(cd "$CACHE" && ls -d linux-image-*-"$KEY" 2>/dev/null | sort -V | tail -n 1)
	if [ -n "$old" ]; then
		kpkg=${old%-"$KEY"}; say "using $kpkg, prepared earlier"; return 0
	fi
	old=$(cd "$CACHE/debs" 2>/dev/null && ls linux-image-*.deb 2>/dev/null | sort -V | tail -n 1)
	[ -n "$old" ] && kpkg=${old%%_*} && say "using $kpkg, downloaded earlier" && prepare "$kpkg"
}

mkdir -p "$CACHE" || fail "cannot create $CACHE"
kpkg=${JOBD_VM_KERNEL:-$(kernel_pkg_from_apt)}
if ! ready "$kpkg"; then
	exec 9>"$CACHE/.lock"
	flock 9 || fail "cannot lock $CACHE/.lock"
	rm -rf "$CACHE"/.build.*   # left by a killed preparation: we hold the lock
	choose_kernel || fail "cannot prepare a guest kernel (offline? set JOBD_VM_KERNEL?)"
	exec 9>&-
fi
img=$CACHE/$kpkg-$KEY
[ "$prepare_only" = 1 ] && { say "cache ready: $img (kernel $(cat "$img/kver"))"; exit 0; }

# ---- one boot ---------------------------------------------------------------
run=$(mktemp -d "${TMPDIR:-/tmp}/jobd-vm.XXXXXX") || fail "mktemp failed"

boot() { # INITRD TIMEOUT ACCEL-ARGS...: runs qemu, leaves ttyS* in $run/s0..s2
	local initrd=$1 limit=$2
	shift 2
	: >"$run/s0"; : >"$run/s1"; : >"$run/s2"
	timeout -k 3 "$limit" qemu-system-x86_64 -nodefaults -no-user-config \
		-display none -monitor none -no-reboot -smp 1 -m "$MEM" "$@" \
		-kernel "$img/kernel" -initrd "$initrd" \
		-append "console=ttyS0 quiet panic=-1 mitigations=off nokaslr tsc=reliable cryptomgr.notests" \
		-nic user,model=virtio-net-pci \
		-serial "file:$run/s0" -serial "file:$run/s1" -serial "file:$run/s2" \
		</dev/null >"$run/qemu.err" 2>&1 &
	tpid=$!
	wait "$tpid"
	local rc=$?
	tpid=
	return $rc
}

# Accelerator: TCG unless /dev/kvm is usable. An openable /dev/kvm can still
# fail to run a stock kernel (nested or unusual hosts), so the first time on a
# given host kernel boot the bare image under KVM and remember the verdict.
tcg=(-accel tcg -cpu max)
kvm=(-accel kvm -cpu host)
case $ACCEL in
tcg) accel=("${tcg[@]}") ;;
kvm) accel=("${kvm[@]}") ;;
auto)
	accel=("${tcg[@]}")
	if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		verdict=$CACHE/kvm-$(uname -r)-$KEY
		if [ ! -f "$verdict" ]; then
			if boot "$img/base.cpio" 20 "${kvm[@]}" && grep -q '^EXIT 0' "$run/s2"; then
				echo yes >"$verdict"
			else
				echo no >"$verdict"; say "KVM unusable here, using TCG"
			fi
		fi
		[ "$(cat "$verdict")" = yes ] && accel=("${kvm[@]}")
	fi ;;
*) usage "bad JOBD_VM_ACCEL $ACCEL" ;;
esac

# The per-run files go in a second cpio archive after the cached one: the
# kernel unpacks concatenated archives one after the other.
mkdir -p "$run/job/job"
cp "$script" "$run/job/job/script"
specs=
for m in "${mounts[@]}"; do specs="$specs $m"; done
printf 'VM_PORT=%s\nMOUNT_SPECS="%s"\nEXTRA_OPTS="%s"\n' "$port" "${specs# }" "$opts" >"$run/job/job/conf"
(cd "$run/job" && find job | cpio -o -H newc -R 0:0 --quiet) >"$run/job.cpio" || fail "cpio failed"
cat "$img/base.cpio" "$run/job.cpio" >"$run/initrd"

boot "$run/initrd" "$TIMEOUT" "${accel[@]}"
qrc=$?
cat "$run/s1"
showlog() {
	say "---- guest console ----"; tr -d '\r' <"$run/s0" | sed 's/^/| /' >&2
	[ -s "$run/qemu.err" ] && { say "---- qemu ----"; sed 's/^/| /' "$run/qemu.err" >&2; }
}
[ "$console" = 1 ] && showlog
sed -n 's/^ERROR /guest: /p' "$run/s2" | tr -d '\r' >&2
rc=$(sed -n 's/^EXIT \([0-9]*\)\r\{0,1\}$/\1/p' "$run/s2" | tail -n 1)
if [ -z "$rc" ]; then
	[ "$console" = 1 ] || showlog
	if [ $qrc = 124 ] || [ $qrc = 137 ]; then say "timed out after ${TIMEOUT}s"; exit 124; fi
	fail "the guest stopped without a status (qemu status $qrc)"
fi
[ "$rc" = 125 ] && grep -q '^ERROR' "$run/s2" && [ "$console" = 0 ] && showlog
exit "$rc"
