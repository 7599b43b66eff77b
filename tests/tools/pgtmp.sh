#!/bin/sh
# A private PostgreSQL 15 server for a test: its own cluster in a directory,
# reachable only through a unix socket in that directory (no TCP port, so
# tests running at once never meet), durable enough for tests only (fsync
# off: a crash of the machine may lose it, a crash of the server may not).
#
#   pgtmp.sh start DIR [PID]  makes the cluster in DIR/data if it is not there
#                             (DIR is made if missing), starts the server,
#                             waits until it takes connections, and prints
#                             the libpq connection string on stdout. With PID,
#                             a watchdog stops the server (-m immediate) when
#                             that process is gone: a test killed outright
#                             leaves no server behind.
#   pgtmp.sh stop DIR [MODE]  stops it (MODE: immediate, the default, as a
#                             crash would; fast; smart); nothing if it is not
#                             running. Callers stop in their exit trap.
#   pgtmp.sh restart DIR      stop -m immediate, then start (crash recovery)
#   pgtmp.sh conninfo DIR     prints the connection string
#   pgtmp.sh running DIR      exit status 0 if the server runs
#   pgtmp.sh psql DIR ARG...  psql on it (-X -q -v ON_ERROR_STOP=1)
#
# PostgreSQL refuses to run as root: as root, the server runs as the system
# user jobd-pgtest (made here if missing) and DIR becomes its; the client,
# root or not, connects as the cluster's superuser "postgres" (trust
# authentication: only the socket, in a directory only its owner and root
# can enter, reaches it).
#
# PGBIN (default /usr/lib/postgresql/15/bin) holds initdb, pg_ctl, postgres.
# Exits non-zero, with the reason on stderr, when anything is missing or
# fails (the server's log is shown when it does not start).
set -eu

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
PGUSER_OS=jobd-pgtest
SUPER=postgres
PORT=5432

die() { printf 'pgtmp.sh: %s\n' "$*" >&2; exit 2; }

usage() { die "usage: pgtmp.sh start|stop|restart|conninfo|running|psql DIR [...]"; }

[ $# -ge 2 ] || usage
cmd=$1 dir=$2
shift 2
case $dir in
/*) ;;
*) dir=$(pwd)/$dir ;;
esac
# The directory is written into postgresql.conf between single quotes, and
# the socket's path must fit in sun_path (107 bytes).
case $dir in *"'"* | *\\*) die "$dir: a quote or backslash in the path is not supported" ;; esac
[ ${#dir} -le 90 ] || die "$dir: too long for a unix socket path (at most 90 bytes here)"
data=$dir/data

need_bins() {
	for b in initdb pg_ctl postgres; do
		[ -x "$PGBIN/$b" ] || die "PostgreSQL 15 is not installed: no $PGBIN/$b (install postgresql-15: sh scripts/deps.sh test)"
	done
}

# Runs a command as the server's user, from / (the caller's directory may be
# closed to that user, and initdb and pg_ctl look at theirs).
as_server() {
	if [ "$(id -u)" = 0 ]; then
		(cd / && setpriv --reuid="$(id -u $PGUSER_OS)" --regid="$(id -g $PGUSER_OS)" \
			--init-groups env -u PGDATA HOME=/ "$@")
	else
		(cd / && env -u PGDATA "$@")
	fi
}

# As root: the unprivileged user the server runs as. Tests make users as
# tests/e2e/identity.sh does (useradd -M -N); this one is a system user and
# is kept (several tests use it, perhaps at once: a lost race is fine).
server_user() {
	[ "$(id -u)" = 0 ] || return 0
	command -v setpriv >/dev/null || die "setpriv is missing (util-linux)"
	id -u $PGUSER_OS >/dev/null 2>&1 && return 0
	command -v useradd >/dev/null || die "useradd is missing (passwd): cannot make $PGUSER_OS to run the server as"
	i=0
	while ! useradd -r -M -N -d / -s /usr/sbin/nologin $PGUSER_OS 2>"$dir/useradd.err"; do
		id -u $PGUSER_OS >/dev/null 2>&1 && break   # made meanwhile by another test
		i=$((i + 1))
		[ $i -lt 20 ] || die "cannot make the user $PGUSER_OS: $(head -1 "$dir/useradd.err")"
		sleep 0.2   # /etc/passwd is locked by another useradd
	done
	rm -f "$dir/useradd.err"
}

conninfo() { printf 'host=%s port=%s dbname=postgres user=%s\n' "$dir" $PORT $SUPER; }

running() {
	[ -f "$data/postmaster.pid" ] && as_server "$PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1
}

make_cluster() {
	[ -f "$data/PG_VERSION" ] && return 0
	as_server "$PGBIN/initdb" -D "$data" -U $SUPER -A trust -E UTF8 --locale=C --no-sync \
		>"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed in $data"; }
	cat >>"$data/postgresql.conf" <<EOF
# pgtmp.sh: a unix socket only, in $dir; fast rather than crash-safe.
listen_addresses = ''
unix_socket_directories = '$dir'
port = $PORT
fsync = off
full_page_writes = off
shared_buffers = 16MB
max_connections = 40
log_min_messages = warning
EOF
}

# Stops the server when the process PID is gone (a test killed by a signal
# runs no trap). In its own session, so that a signal to the test's process
# group (tests/run.sh's timeout) does not end it first.
watchdog() {
	pid=$1
	if [ -f "$dir/watchdog.pid" ] && kill -0 "$(cat "$dir/watchdog.pid")" 2>/dev/null; then
		return 0
	fi
	# shellcheck disable=SC2016 # $1.. are the inner shell's
	(cd / && setsid sh -c '
		while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 0.5; done
		[ -f "$2/data/postmaster.pid" ] && "$3" stop "$2" immediate
		rm -f "$2/watchdog.pid"' watchdog "$pid" "$dir" "$self" \
		</dev/null >/dev/null 2>&1 &
	echo $! >"$dir/watchdog.pid")
}

start() {
	need_bins
	mkdir -p "$dir"
	server_user
	if [ "$(id -u)" = 0 ]; then
		chmod 0700 "$dir"
		chown $PGUSER_OS: "$dir"
		as_server test -w "$dir" ||
			die "$dir: $PGUSER_OS cannot write there (a directory above it is closed to others?)"
	fi
	make_cluster
	if ! running; then
		as_server "$PGBIN/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start >/dev/null 2>&1 || {
			tail -n 20 "$dir/server.log" >&2 2>/dev/null || true
			die "the server in $data did not start (its log: $dir/server.log)"
		}
	fi
	[ $# -ge 1 ] && watchdog "$1"
	conninfo
}

stop() {
	mode=${1:-immediate}
	need_bins
	[ -f "$data/postmaster.pid" ] || return 0
	as_server "$PGBIN/pg_ctl" -D "$data" -m "$mode" -w -t 60 stop >/dev/null 2>&1 ||
		{ running && die "the server in $data did not stop"; }
	return 0
}

case $cmd in
start) start "$@" ;;
stop) stop "$@" ;;
restart) stop immediate && start "$@" ;;
conninfo) conninfo ;;
running) need_bins && running ;;
psql)
	[ -x "$PGBIN/psql" ] || die "no $PGBIN/psql (install postgresql-client-15)"
	"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$(conninfo)" "$@" ;;
*) usage ;;
esac
