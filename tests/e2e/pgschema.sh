#!/bin/sh
# The PostgreSQL dialect of the store's schema (src/store/schema.c), applied
# to a real PostgreSQL 15 (a private server: tests/tools/pgtmp.sh, unix
# socket only), and the statements cluster mode rests on (doc/cluster.md),
# tried on it: the claim of a fire is one row per (job, instant), a second
# claim of the same instant gets nothing, a start is fenced by the node's
# lease, and a job's delete takes its runs, text and fires with it.
# The PostgreSQL binaries come from scripts/deps.sh (postgresql-15): their
# absence is a failure, not a skip.
. "$(dirname "$0")/lib.sh"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
PG=$TOP/tests/tools/pgtmp.sh
DUMP=$BUILD/tools/schemadump
# Its own directory under /tmp: the server runs as another user (pgtmp.sh),
# who cannot enter $T (0700).
D=$(mktemp -d /tmp/jobd-pgschema.XXXXXX)
ON_EXIT="${ON_EXIT:+$ON_EXIT; }sh '$PG' stop '$D'; rm -rf '$D'"

if ! sh "$PG" start "$D" $$ >"$T/conninfo" 2>"$T/pg.err"; then
	nok "server-started"; sed 's/^/#   /' "$T/pg.err" | tail -5; finish
fi
ok "server-started"
q() { sh "$PG" psql "$D" -At -c "$1"; }

check "schema-applies" sh -c "'$DUMP' pg | sh '$PG' psql '$D' -f - >'$T/apply.out' 2>&1"
[ "$NFAIL" -eq 0 ] || sed 's/^/#   /' "$T/apply.out" | tail -5
expect "schema-version" "9" q "SELECT version FROM jobd_schema"
expect "schema-tables" "changes chunks fires jobd_schema jobs nodes runs" \
	sh -c "sh '$PG' psql '$D' -At -c \"SELECT string_agg(tablename, ' ' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'\""
# Applying it twice fails loudly (it is a base, not an upgrade): nothing half done.
check_fails "schema-not-twice" sh -c "'$DUMP' pg | sh '$PG' psql '$D' -f - >/dev/null 2>&1"
expect "schema-version-kept" "9" q "SELECT version FROM jobd_schema"

# A job, as a node would write it (ids are made by nodes).
q "INSERT INTO jobs (id, name, schedule, cmd, started, created_ns) VALUES (42, 'j', '* * * * * ? *', 'true'::bytea, 1, 0)" >/dev/null ||
	nok "job-inserted"
q "INSERT INTO nodes (name, epoch, lease_until) VALUES ('a', 1, now() + interval '10 s'), ('b', 1, now() - interval '1 s')" >/dev/null ||
	nok "nodes-inserted"

# Claims: the first node gets the row back, the second nothing.
claim() { q "INSERT INTO fires (job_id, sched, node, epoch, state) VALUES (42, 1000, '$1', 1, 'claimed') ON CONFLICT (job_id, sched) DO NOTHING RETURNING node"; }
expect "claim-first-wins" "a" claim a
expect "claim-second-gets-nothing" "" claim b
expect "claim-one-row" "1" q "SELECT count(*) FROM fires WHERE job_id = 42 AND sched = 1000"

# The fenced start: only the claim's own node, with a live lease.
start() { q "UPDATE fires SET state = 'started' WHERE job_id = 42 AND sched = $2 AND node = '$1' AND epoch = 1 AND state = 'claimed' AND EXISTS (SELECT 1 FROM nodes WHERE name = '$1' AND epoch = 1 AND lease_until > now()) RETURNING sched"; }
expect "fence-other-node-refused" "" start b 1000
expect "fence-own-node-starts" "1000" start a 1000
expect "fence-not-twice" "" start a 1000
# A node whose lease has run out starts nothing, even what it claimed.
q "INSERT INTO fires (job_id, sched, node, epoch, state) VALUES (42, 2000, 'b', 1, 'claimed')" >/dev/null
expect "fence-expired-lease-refused" "" start b 2000

# Deleting the job takes its fires with it.
q "DELETE FROM jobs WHERE id = 42" >/dev/null
expect "delete-cascades" "0" q "SELECT count(*) FROM fires"
finish
