#!/bin/sh
# /nodes and `jobctl nodes` (doc/namespace.md, "/nodes"): three jobd nodes
# on one private PostgreSQL 15 (tests/tools/pgtmp.sh, unix socket only).
#   - each node's root has nodes/, listing every node, each with a status
#     file: the node's row (epoch, lease, clock offset, runs) read from the
#     database, and through the node itself a line of its own view;
#   - a node that does not exist: ENOENT; writes and removes refused;
#   - a node killed outright: its status shows the lease lapsed within the
#     lease (10 s) and a little more; jobctl nodes marks it;
#   - jobctl nodes: piped, wide and JSON (which parses);
#   - the database paused (SIGSTOP): a status read fails after 5 s saying so,
#     a read given up by its client goes, the listing is still served;
#   - SQLite mode (no -store): no /nodes, and jobctl nodes says why.
# The PostgreSQL binaries come from scripts/deps.sh (postgresql-15): their
# absence is a failure, not a skip.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/clusterlib.sh"
cluster_server nodes

nodes_start a b c

# ---- the name space ----
expect "root-has-nodes" "clone jobs stats events nodes" \
	sh -c "\"$JOBCTL\" -a 'unix!$T/a.sock' ls-files / | tr '\n' ' ' | sed 's/ \$//'"
# lists NODE: nodes/ through NODE lists a, b and c. The list is read from
# the database when a node starts and when it is used and 2 s old: a node
# that started after another may show there a moment later.
lists() { [ "$(on "$1" ls-files nodes | tr '\n' ' ')" = "a b c " ]; }
for nd in a b c; do
	check "ls-nodes-through-$nd" wait_for 10 lists $nd
done
expect "node-dir" "status" on b ls-files nodes/a
on b read nodes/a/status >"$T/a-via-b"
check "status-of-a-via-b" grep -Eq '^node=a state=up epoch=1 lease_left=[0-9]+\.[0-9]{3}s clock_offset=-?[0-9]+\.[0-9]{3}s clock=ok runs_started=0 started=20[0-9-]+T[0-9:]+Z$' "$T/a-via-b"
expect "status-via-another-is-one-line" "1" sh -c "wc -l <'$T/a-via-b'"
on a read nodes/a/status >"$T/a-via-a"
check "own-status-has-local-view" grep -Eq '^local node=a state=up epoch=1 lease_left=[0-9]+\.[0-9]{3}s clock_offset=-?[0-9]+\.[0-9]{3}s clock=(ok|off) rtt=[0-9]+\.[0-9]{3}s renewals=[1-9][0-9]* failures=0$' "$T/a-via-a"
check "own-status-row-first" sh -c "head -1 '$T/a-via-a' | grep -q '^node=a state=up epoch=1 '"

# Errors: a node that is not, a write.
rc_is "no-such-node" 4 on a read nodes/zzz/status
check "no-such-node-says" grep -q "zzz" "$T/err"
rc_is "no-such-node-file" 4 on a read nodes/a/other
check_fails_with "status-write-refused" "read-only" on a write nodes/a/status x

# ---- jobctl nodes ----
# Piped: tab-separated, one node a line, no header.
on c nodes >"$T/nodes"; rc=$?
check "jobctl-nodes-exit-0" test "$rc" -eq 0
expect "jobctl-nodes-names" "a b c" sh -c "cut -f1 '$T/nodes' | tr '\n' ' ' | sed 's/ \$//'"
check "jobctl-nodes-up" sh -c "awk -F'\t' '\$2 != \"up\" || \$3 != 1 || \$4 !~ /s left\$/ || \$6 != 0 { bad = 1 } END { exit bad || NR != 3 }' '$T/nodes'"
on c nodes -o wide >"$T/wide"
check "jobctl-nodes-wide-local" sh -c "awk -F'\t' '\$1 == \"c\" && \$8 ~ /^up [0-9.]+s left\$/ && \$10 == 0 { f = 1 } \$1 == \"a\" && \$8 != \"-\" { bad = 1 } END { exit !f || bad }' '$T/wide'"
on c nodes -o json >"$T/json"
if command -v python3 >/dev/null 2>&1; then
	check "jobctl-nodes-json-parses" python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
assert [n["name"] for n in v] == ["a", "b", "c"], v
for n in v:
    assert n["state"] == "up" and n["epoch"] == 1 and not n["lapsed"], n
    assert isinstance(n["lease_left_ms"], int) and n["lease_left_ms"] > 0, n
    assert n["clock"] in ("ok", "off") and isinstance(n["clock_offset_ms"], int), n
    assert (n["local"] is not None) == (n["name"] == "c"), n
assert v[2]["local"]["state"] == "up" and v[2]["local"]["renewals"] >= 1, v[2]
' "$T/json"
else
	skip "jobctl-nodes-json-parses" "no python3"
fi

# ---- a node killed outright ----
kill -KILL "$(pid c)"; wait "$(pid c)" 2>/dev/null; rm -f "$T/c.pid"
killed=$(date +%s)
lapsed() { on a read nodes/c/status | grep -Eq '^node=c state=down epoch=1 lease_left=-[0-9]+\.[0-9]{3}s '; }
check "killed-node-lapses" wait_for 20 lapsed
took=$(( $(date +%s) - killed ))
check "lapsed-within-lease" test "$took" -le 12
lapsed_in_list() { on b nodes | awk -F'\t' '$1 == "c" && $2 == "down" && $4 ~ /^lapsed / { f = 1 } END { exit !f }'; }
check "jobctl-nodes-marks-lapsed" wait_for 5 lapsed_in_list
check "jobctl-nodes-others-up" sh -c "\"$JOBCTL\" -a 'unix!$T/b.sock' nodes | awk -F'\t' '\$1 != \"c\" && \$2 != \"up\" { bad = 1 } END { exit bad }'"

# ---- the database paused: reads wait, then fail; the listing stays ----
PM=$(head -1 "$D/data/postmaster.pid" 2>/dev/null)
if [ -n "$PM" ] && kill -0 "$PM" 2>/dev/null; then
	PGPIDS="$PM $(pgrep -P "$PM" | tr '\n' ' ')"
	# Continued first on exit: the server is stopped after, and a stopped
	# server would not stop.
	ON_EXIT="kill -CONT $PGPIDS; $ON_EXIT"
	# A read whose client gives up (killed after 1 s) is dropped with its
	# connection; the next one waits its 5 s and fails saying why.
	kill -STOP $PGPIDS
	timeout -s KILL 1 "$JOBCTL" -a "unix!$T/a.sock" read nodes/b/status >/dev/null 2>&1
	start=$(date +%s)
	check_fails_with "status-fails-when-database-paused" "did not answer within 5 s" on a read nodes/b/status
	waited=$(( $(date +%s) - start ))
	check "status-waits-5s" test "$waited" -ge 4 -a "$waited" -le 7
	expect "listing-served-while-paused" "a b c" sh -c "\"$JOBCTL\" -a 'unix!$T/a.sock' ls-files nodes | tr '\n' ' ' | sed 's/ \$//'"
	kill -CONT $PGPIDS
	back() { on a read nodes/b/status | grep -q '^node=b state=up '; }
	check "status-back-with-database" wait_for 10 back
else
	nok "postmaster-pid"
fi

for nd in a b; do
	check "node-$nd-exits-0" node_stop $nd
done

# ---- SQLite mode: no /nodes ----
jobd_start -pam none
expect "sqlite-root" "clone events jobs stats" sh -c "\"$JOBCTL\" ls-files / | sort | tr '\n' ' ' | sed 's/ \$//'"
rc_is "sqlite-no-nodes" 4 "$JOBCTL" read nodes/a/status
rc_is "sqlite-jobctl-nodes-4" 4 "$JOBCTL" nodes
check "sqlite-jobctl-nodes-says" grep -q "not a node of a cluster" "$T/err"
jobd_stop
finish
