# shellcheck shell=bash
# scripts/bench approvals — decisions per second and the exactly-once race
# at 100 concurrent deciders (issue 4, point 11), against the release server
# with the baseline (GET /v1/me) measured in the same run.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib.sh
. "$root/scripts/bench.d/lib.sh"
bench_need_tools
bench_stack_up 0
say "bench: building the approvals driver"
(cd "$root" && cargo build -q --release -p countersign-server --bench approvals)
driver=$(cd "$root" && ls -t target/release/deps/approvals-* | grep -v '\.d$' | head -1)
for u in carl ana andy cora; do
  export "BENCH_TOKEN_${u^^}=$(bench_token "$u")"
done
BENCH_SERVER_PID=$bench_server_pid BENCH_PG_PID=$bench_pg_pid BENCH_SECONDS=$BENCH_SECONDS "$root/$driver" | tee "$bench_logs/driver.txt" ||
  broken "the approvals driver reported a failure"
# Issue 25, point 4: what durable commits cost. The same driver again with
# synchronous_commit = off (how the stack ran before), the server restarted
# with the development flag that allows it; then back to on for the rest.
if [ "${BENCH_COMMIT_COST:-1}" = 1 ]; then
  say "bench: approvals: again with synchronous_commit = off"
  bench_psql -c "ALTER SYSTEM SET synchronous_commit = off" -c "SELECT pg_reload_conf()" >/dev/null
  COUNTERSIGN_DEV_ALLOW_ASYNC_COMMIT=1 bench_server_restart
  BENCH_SERVER_PID=$bench_server_pid BENCH_PG_PID=$bench_pg_pid BENCH_SECONDS=$BENCH_SECONDS "$root/$driver" >"$bench_logs/driver-async.txt" ||
    broken "the approvals driver reported a failure (synchronous_commit = off)"
  bench_psql -c "ALTER SYSTEM RESET synchronous_commit" -c "SELECT pg_reload_conf()" >/dev/null
  bench_server_restart
  line() { sed -nE 's/^ *decisions \(each executes\) +([0-9]+) \/s +p50 ([0-9.]+) ms +p99 ([0-9.]+) ms.*/\1 \2 \3/p' "$1"; }
  read -r on_rate _ on_p99 < <(line "$bench_logs/driver.txt")
  read -r off_rate _ off_p99 < <(line "$bench_logs/driver-async.txt")
  echo "  durable commits (synchronous_commit on, as served) against off (before issue 25), same run:"
  printf '    on  %6s decisions/s  p99 %6s ms\n    off %6s decisions/s  p99 %6s ms   on/off %s\n' "$on_rate" "$on_p99" "$off_rate" "$off_p99" \
    "$(awk -v a="${on_rate:-0}" -v b="${off_rate:-0}" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')"
fi
api_rate=$(sed -nE 's/^ *decisions \(each executes\) +([0-9]+) .*/\1/p' "$bench_logs/driver.txt")
per_tx=$(sed -nE 's/^ *decisions per transaction \(group commit\): ([0-9.]+).*/\1/p' "$bench_logs/driver.txt")

# The reference, in the same run: what the server asks of PostgreSQL per
# decision, through pgbench (decision.sql: a batch of as many decisions as
# the server's batches held on average, each with its staff lookup, and the
# batch's audit append), as ana, with as many clients as the server has
# database connections; the clients' concurrent refunds are of different
# invoices, like the driver's. If PostgreSQL alone cannot do 1,000 of these
# a second on this machine, no server can.
b=$(awk -v v="${per_tx:-1}" 'BEGIN {b = int(v + 0.5); print (b < 1 ? 1 : b)}')
clients=$((2 * $(nproc))) # the server's default pool (config.rs): twice the cores, 4..64
clients=$((clients < 4 ? 4 : clients > 64 ? 64 : clients))
per_client=$(((BENCH_SECONDS * 4000 / clients / b + 100) * b))
say "bench: approvals: $((clients * per_client)) pending refunds for pgbench, in batches of $b"
read -r a_iss a_sub a_staff a_person < <(bench_psql -F ' ' -c "SELECT issuer, subject, id, person_id FROM staff WHERE subject = 'staff-ana'")
bench_psql -c "INSERT INTO approval_requests (id, org_id, region, kind, target_id, amount_minor, currency, reason, status, requester_staff_id, requester_person_id, policy_version, required, expires_at)
  SELECT md5('pgb-' || c || '-' || n)::uuid, i.org_id, i.region, 'refund', i.id, 1000, i.currency, 'pgbench refund', 'pending', s.id, s.person_id, 'bench',
         '[{\"approvals\": 1, \"one_of_role\": null, \"permission\": \"approvals:decide\", \"description\": \"1 approver\"}]', now() + interval '1 hour'
  FROM generate_series(0, $clients - 1) c CROSS JOIN generate_series(1, $per_client) n
  JOIN (SELECT *, row_number() OVER (ORDER BY id) - 1 AS k, count(*) OVER () AS cnt FROM invoices) i ON i.k = (n * $clients + c) % i.cnt
  CROSS JOIN (SELECT * FROM staff WHERE subject = 'staff-carl') s" && bench_psql -c 'VACUUM ANALYZE' || broken "could not create pgbench's requests"
{
  for _ in $(seq "$b"); do cat "$bench_lib_dir/staff.sql"; done
  cat "$bench_lib_dir/decision.sql"
} >"$bench_logs/decision.pgbench.sql"
say "bench: approvals: pgbench, $clients clients"
if bench_pgbench decision "$clients" "$BENCH_SECONDS" "$bench_logs/decision.pgbench.sql" -D "issuer=$a_iss" -D "subject=$a_sub" \
  -D "staff_id=$a_staff" -D "person_id=$a_person" -D scope_all=on -D 'scope_orgs={}' -D 'scope_regions={}' -D i=0 -D "b=$b"; then
  done_tx=$(sed -nE 's/^number of transactions actually processed: ([0-9]+).*/\1/p' "$bench_logs/pgbench-decision.txt")
  executed=$(bench_psql -c "SELECT count(*) FROM approval_requests WHERE reason = 'pgbench refund' AND status = 'executed'")
  # A client that ran out of requests would decide nothing, quickly.
  [ "$executed" = "$((done_tx * b))" ] || broken "pgbench: $done_tx batches of $b but $executed requests executed ($bench_logs/pgbench-decision.txt)"
  rate=$(awk -v t="$P_TPS" -v b="$b" 'BEGIN {printf "%.0f", t * b}')
  echo "  PostgreSQL alone, pgbench ($clients clients; batches of $b decisions, each with its staff lookup, and the batch's audit append)"
  printf '    %8s decisions/s  p50 %s ms  p99 %s ms per batch   PostgreSQL CPU per decision %s µs   API/pgbench %s\n' "$rate" "$P_P50" "$P_P99" \
    "$(bench_us_per "$CPU_PG" "$rate")" "$(awk -v a="${api_rate:-0}" -v b="$rate" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')"
fi
bench_exit
