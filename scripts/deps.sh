#!/bin/sh
# Installs the Debian packages jobd needs to build (and, with "test", to test).
# Idempotent: only missing packages are installed; apt-get update runs only when needed.
set -eu
# libpq-dev: the PostgreSQL client library, for the cluster store's connection
# (src/store/pgconn.c).
build="gcc make pkg-config libuv1-dev libsqlite3-dev libmicrohttpd-dev libpam0g-dev libpq-dev"
# What each test package is for, where it is not plain: groff-base (groff:
# the man pages render cleanly and name every command and flag), man-db
# (man -w: the unit's Documentation= pages are installed), systemd
# (systemd-analyze verify on the installed unit; only the package, which
# does not make systemd init nor start anything in a container), bsdutils
# (script(1): jobctl on a terminal), util-linux (setpriv), passwd (useradd),
# postgresql-15 (the server binaries, /usr/lib/postgresql/15/bin: each test
# that needs PostgreSQL runs a private server, tests/tools/pgtmp.sh; the
# cluster the package may make and start is not used).
test="clang diod zsh fish qemu-system-x86 cpio busybox-static faketime tzdata procps iproute2 sqlite3 libclang-rt-dev valgrind passwd util-linux bsdutils groff-base man-db systemd strace postgresql-15"
want=$build
[ "${1:-}" = test ] && want="$build $test"
missing=
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing" >&2
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y --no-install-recommends $missing >&2 ||
	{ $SUDO apt-get update >&2 && $SUDO apt-get install -y --no-install-recommends $missing >&2; }
