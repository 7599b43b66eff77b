# Shared helpers of the cluster-mode end-to-end tests (cluster.sh, nodes.sh,
# cluster-faults.sh, cluster-chaos.sh): a private PostgreSQL 15
# (tests/tools/pgtmp.sh, unix socket only) and jobd nodes on it, node NAME
# with its cache under $T/NAME and its socket $T/NAME.sock. Sourced after
# lib.sh; not a test (tests/run.sh passes it over):
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/clusterlib.sh"
#   cluster_server NAME [FILE...]   # the server, in /tmp/jobd-NAME.XXXXXX ($D);
#                         # sets CI (its connection string); check "server-started"
#                         # (the test ends if it did not)
#   q SQL                 # psql on it: unaligned, no header, fields space-separated
#   node_start NAME       # a node; fails, saying why, if it does not come up
#   nodes_start NAME...   # node_start each, checked (the test ends if one fails)
#   node_stop NAME        # SIGTERM; fails unless it exits 0 within 30 s
#   pid NAME, on NAME JOBCTL-ARGS..., gone PID, alive NAME
#   settled PREFIX, stuck PREFIX, refused   # the state of the runs, at the end
#
# The PostgreSQL binaries come from scripts/deps.sh (postgresql-15): their
# absence is a failure, not a skip.
TOP=$(cd "$(dirname "$0")/../.." && pwd)
PG=$TOP/tests/tools/pgtmp.sh

# cluster_server NAME [FILE...]: with JOBD_KEEP_LOGS=DIR, the FILEs ($T/FILE,
# globs allowed) and the server's log are copied there at the end, to look
# at a failure after the fact. On exit every node (a pid file $T/*.pid) is
# continued (one a test stopped) and killed, then the server is stopped.
cluster_server() {
	# Its own directory under /tmp: the server runs as another user
	# (pgtmp.sh), who cannot enter $T (0700).
	D=$(mktemp -d "/tmp/jobd-$1.XXXXXX")
	shift
	cs_keep=
	for cs_f in "$@"; do cs_keep="$cs_keep '$T'/$cs_f"; done
	ON_EXIT="${ON_EXIT:+$ON_EXIT; }${cs_keep:+${JOBD_KEEP_LOGS:+mkdir -p '$JOBD_KEEP_LOGS'; cp$cs_keep '$D'/server.log '$JOBD_KEEP_LOGS'/; }}for p in \$(cat '$T'/*.pid 2>/dev/null); do kill -CONT \$p; kill -KILL \$p; done; sh '$PG' stop '$D'; rm -rf '$D'"
	if ! sh "$PG" start "$D" $$ >"$T/conninfo" 2>"$T/pg.err"; then
		nok "server-started"; sed 's/^/#   /' "$T/pg.err" | tail -5; finish
	fi
	ok "server-started"
	CI=$(cat "$T/conninfo")
}
q() { sh "$PG" psql "$D" -At -F ' ' -c "$1"; }

# gone PID: exited, or a zombie (dead, only not yet waited for).
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
pid() { cat "$T/$1.pid"; }
alive() { ! gone "$(pid "$1")"; }
on() { node=$1; shift; "$JOBCTL" -a "unix!$T/$node.sock" "$@"; }

# node_start NAME: starts the node NAME on the database $T/NAME.ci names (a
# connection string), or $CI if there is no such file, with the variables
# of $T/NAME.env (one a line) if there is one in its environment, and
# $NODE_FLAGS (more of jobd's flags). Each start logs to a file of its own,
# $T/NAME.log.N (N the start's number, counted in $T/NAME.starts; $T/NAME.log
# links to the newest), so that what a killed node said is kept. Fails if
# the node exits or is not listening within 30 s.
NODE_FLAGS=
node_start() {
	mkdir -p "$T/$1"
	ns_n=$(( $(cat "$T/$1.starts" 2>/dev/null || echo 0) + 1 ))
	echo "$ns_n" >"$T/$1.starts"
	ns_log=$T/$1.log.$ns_n
	: >"$ns_log"
	ln -sf "$ns_log" "$T/$1.log"
	ns_ci=$CI
	[ -f "$T/$1.ci" ] && ns_ci=$(cat "$T/$1.ci")
	# shellcheck disable=SC2046,SC2086 # one variable a line, no spaces; flags are words
	env $(cat "$T/$1.env" 2>/dev/null) "$JOBD" -dbdir "$T/$1" -store "$ns_ci" \
		-node "$1" -fsaddr "unix!$T/$1.sock" -pam none -killgrace 1s $NODE_FLAGS \
		-logtostderr 2>>"$ns_log" &
	ns_pid=$!
	echo $ns_pid >"$T/$1.pid"
	wait_for 30 sh -c "grep -q 'listening on unix!' '$ns_log' || ! kill -0 $ns_pid 2>/dev/null || grep -q '^State:.*Z' /proc/$ns_pid/status"
	grep -q "listening on unix!" "$ns_log" && ! gone $ns_pid && return 0
	echo "# node $1 did not start (its start $ns_n):"; sed 's/^/#   /' "$ns_log" | tail -5
	kill -KILL $ns_pid 2>/dev/null; wait $ns_pid 2>/dev/null
	return 1
}
# nodes_start NAME...: node_start each, with a check node-NAME-starts; the
# test ends at the first that does not start.
nodes_start() {
	for nd in "$@"; do
		if node_start "$nd"; then ok "node-$nd-starts"; else nok "node-$nd-starts"; finish; fi
	done
}
# node_stop NAME: its pid file goes with it (the pid is no node's any more:
# nothing is to kill it on exit).
node_stop() {
	p=$(pid "$1")
	kill -TERM "$p" || { echo "# node $1 (pid $p): cannot be signalled"; return 1; }
	if ! wait_for 30 gone "$p"; then
		echo "# node $1 (pid $p): still running 30 s after SIGTERM; its log ends:"
		tail -15 "$T/$1.log" | cut -c1-300 | sed 's/^/#   /'
		return 1
	fi
	wait "$p"; ns_rc=$?
	if [ "$ns_rc" -ne 0 ]; then
		# A sanitizer's report: its first lines and stacks (the tail is
		# its shadow map, which says nothing of where).
		if grep -q "ERROR: .*Sanitizer" "$T/$1.log"; then
			echo "# node $1 (pid $p): exit status $ns_rc; the sanitizer's report:"
			sed -n '/ERROR: .*Sanitizer/,/^SUMMARY/p' "$T/$1.log" |
				grep -E "Sanitizer|^ *#[0-9]+ |freed by|allocated by|^SUMMARY" | head -60 |
				cut -c1-300 | sed 's/^/#   /'
			return 1
		fi
		echo "# node $1 (pid $p): exit status $ns_rc; its log ends:"
		tail -25 "$T/$1.log" | cut -c1-300 | sed 's/^/#   /'
		return 1
	fi
	rm -f "$T/$1.pid"
}

# settled PREFIX: no claim waiting and no run going for jobs PREFIX*.
settled() {
	st_sel="SELECT id FROM jobs WHERE name LIKE '$1%'"
	[ "$(q "SELECT count(*) FROM fires WHERE state = 'claimed' AND job_id IN ($st_sel)")" = 0 ] &&
	[ "$(q "SELECT count(*) FROM runs WHERE state IN (0, 1) AND job_id IN ($st_sel)")" = 0 ]
}
# stuck PREFIX: claims waiting and runs going of jobs PREFIX* (the first 5).
stuck() {
	q "SELECT 'fire', j.name, f.sched, f.node, f.epoch, f.state FROM fires f JOIN jobs j ON j.id = f.job_id
	   WHERE f.state = 'claimed' AND j.name LIKE '$1%'
	   UNION ALL SELECT 'run', j.name, r.sched, r.node, r.id, r.state::text FROM runs r JOIN jobs j ON j.id = r.job_id
	   WHERE r.state IN (0, 1) AND j.name LIKE '$1%' LIMIT 5"
}
# refused: a node's batch refused by the database (a deadlock between two
# nodes' batches, say: the node loses what the batch held), from any start's
# log (the first 3).
refused() { cat "$T"/*.log.[0-9]* | grep -E "store: .*ERROR:" | cut -c1-300 | head -3; }
