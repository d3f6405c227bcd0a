#!/usr/bin/env bash
# scripts/bench server — throughput and latency of the API server against the
# same SQL run straight through pgbench, on loopback, with 1000 generated orgs.
#
# For each endpoint (GET /v1/orgs/{id}/invoices?limit=50, GET /v1/sync?limit=200):
#   1. wrk at each of $BENCH_CONNECTIONS for $BENCH_SECONDS: req/s, p50, p99;
#      the best is "peak".
#   2. wrk paced at 50 % and at 80 % of peak (see wrk.lua): p50/p99 there;
#      the 80 % row $BENCH_PACED_RUNS times (default 3), judged on the median;
#      then the peak's row again, to tell whether the host's speed changed.
#      Each row also says how busy the whole machine was ("machine", % of
#      all cores): a server that costs more CPU per request at a lower rate
#      (smaller batches, more wake-ups) is closer to saturation at "80 % of
#      peak" than 80 %, and its p99 is mostly queueing.
#   3. pgbench with the SQL one request runs (staff lookup + the endpoint's
#      transaction + the audit append), same client counts and duration:
#      tps, mean/p50/p99 latency, and API req/s ÷ pgbench tps.
# Targets (from the issue): ratio ≥ 0.5 and p99 < 10 ms at 80 % of peak.
# Postgres is the same in both, so the ratio is what the server adds per
# request: HTTP, token verification, JSON, and its round trips. Two
# differences in the server's favour: it group-commits audit events and
# reads its staff lookups in batches (one statement for all requests in
# flight), where the pgbench transaction appends its own event and looks up
# its own caller as a lone request would; under concurrency the server
# therefore does less database work per request than pgbench, and the ratio
# can exceed 1.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=scripts/bench.d/lib.sh
. "$root/scripts/bench.d/lib.sh"

BENCH_ORGS=${BENCH_ORGS:-1000}
BENCH_PACED_RUNS=${BENCH_PACED_RUNS:-3}
# The verdict is a median of these runs, so there is at least one.
if ! [[ $BENCH_PACED_RUNS =~ ^[0-9]+$ ]] || ((BENCH_PACED_RUNS < 1)); then BENCH_PACED_RUNS=1; fi
# The sync SQL to mirror; overridable to try a draft without editing sync.sql.
BENCH_SYNC_SQL=${BENCH_SYNC_SQL:-$bench_lib_dir/sync.sql}
# carl: finance_clerk, all-org scope — may read every org's invoices.
BENCH_USER=carl
started=$(date +%s)

bench_need_tools
bench_stack_up "$BENCH_ORGS"

# The seed is one big transaction and autovacuum has not looked at it yet;
# production tables have statistics, so the planner gets them here too.
bench_psql -c 'VACUUM ANALYZE'

# Who carl is to the database: the (issuer, subject) of his tokens.
token=$(bench_token "$BENCH_USER")
read -r tok_iss tok_sub < <(python3 -c '
import base64, json, sys
p = sys.argv[1].split(".")[1]
c = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
print(c["iss"], c["sub"])' "$token")

# The org with the most invoices, so that a page is full (50 of them).
read -r org_id org_invoices < <(bench_psql -F ' ' -c \
  "SELECT org_id, count(*) FROM invoices GROUP BY org_id ORDER BY count(*) DESC, org_id LIMIT 1")

# What the server binds as parameters is bound here too (pgbench -M prepared
# turns :variables into parameters): a literal instead would let the planner
# pick a plan for that one value, where after five executions the server
# runs a generic plan. Scope as db::begin sets it for carl; page sizes are
# limit + 1; sync: first page (after change 0) of the record types carl reads.
pg_vars=(-D "issuer=$tok_iss" -D "subject=$tok_sub" -D "org_id=$org_id"
  -D scope_all=on -D 'scope_orgs={}' -D 'scope_regions={}'
  -D inv_fetch=51 -D sync_after=0 -D sync_limit=200 -D 'sync_types={org,invoice,vendor,payment}'
  -D 'sync_tables={orgs,invoices,vendors,payments}')

bench_psql -c "SELECT to_regclass('audit_chain_head') IS NOT NULL" | grep -qx t || {
  say "bench: no audit_chain_head table: the audit write changed; update scripts/bench.d/audit.sql"
  exit 1
}

# Figures for the closing summary.
summary=()

fmt_ms() { printf '%6.2f ms' "$1"; }
verdict() { if awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN {exit !(op == ">=" ? a >= b : a < b)}'; then echo met; else echo MISSED; fi; }
# "cpu/request" columns: where the time goes. Server and Postgres CPU per
# request in µs, everything else on the machine in % of one core, and how
# busy the whole machine was (% of all cores).
cpu_cols() {
  printf '%6s %6s %6s%% %6s%%' "$(bench_us_per "$CPU_SRV" "$1")" "$(bench_us_per "$CPU_PG" "$1")" "$CPU_OTHER" "$CPU_MACHINE"
}

# The server reads its requests' staff lookups in batches (principal.rs,
# lookup_batch): "<sum> <count>" of its histogram, and the average between two.
lookups_snap() {
  curl -fsS "$COUNTERSIGN_METRICS_URL/metrics" | awk '/^countersign_staff_lookups_per_statement_sum/ {s = $2} /^countersign_staff_lookups_per_statement_count/ {c = $2} END {print s + 0, c + 0}'
}
lookups_per() { awk -v a="$1" -v b="$2" 'BEGIN {split(a, x, " "); split(b, y, " "); n = y[2] - x[2]; printf "%.1f", (n > 0 ? (y[1] - x[1]) / n : 0)}'; }

# The busiest "other" load seen during API runs, for the closing note.
max_other=0
note_other() { if ((CPU_OTHER > max_other)); then max_other=$CPU_OTHER; fi; }

# run_endpoint <tag> <title> <url> <pgbench script, or "" to skip pgbench>
run_endpoint() {
  local tag=$1 title=$2 url=$3 script=$4 c
  local -A rps
  local peak=0 peak_c=0

  echo
  echo "== $title"
  echo "   API (wrk, 1 thread, ${BENCH_SECONDS} s per row)            cpu µs/request   other   busy"
  printf '   %-9s %9s %10s %10s   %6s %6s %7s %7s\n' conns 'req/s' p50 p99 server pg load machine
  # Unreported warm-up: connection pool, statement caches, JWKS, Postgres buffers.
  say "bench: $tag: warm-up"
  bench_wrk "$tag-warmup" 4 2 "$url" || return 0
  for c in $BENCH_CONNECTIONS; do
    say "bench: $tag: wrk, $c connections"
    bench_wrk "$tag-c$c" "$c" "$BENCH_SECONDS" "$url" || return 0
    rps[$c]=$W_RPS
    note_other
    printf '   %-9s %9s %s %s   %s\n' "$c" "$W_RPS" "$(fmt_ms "$W_P50")" "$(fmt_ms "$W_P99")" "$(cpu_cols "$W_RPS")"
    if ((W_RPS > peak)); then peak=$W_RPS peak_c=$c; fi
  done

  # Latency at 80 % of peak throughput (not at 80 % of the connections): at
  # peak the server is saturated and p99 is mostly queueing. Twice the peak's
  # connections, so that pacing, not a busy connection, sets the rate. The
  # 50 % row has no target: it shows the latency where the machine is not
  # close to saturation ("machine" column), for comparison.
  # The 80 % row runs $BENCH_PACED_RUNS times: one run's p99 is its 1 % worst
  # requests, and on these shared cores a single stall of the host moves it
  # by several ms (seen: 9.9 and 16.5 ms for the same build minutes apart).
  # Every run is printed; the verdict is on their median.
  local pace_c=$((peak_c * 2)) pct target p99_80 lookups0
  local -a p99s=()
  for pct in 50 $(printf '80 %.0s' $(seq "$BENCH_PACED_RUNS")); do
    target=$((peak * pct / 100))
    # The closed-loop rows above appended tens of thousands of audit events
    # to a young table, which starts autovacuum and autoanalyze in the paced
    # run (a core busy for about a second, which is the p99). Vacuum first,
    # as pgbench does before it measures; a table of production size
    # reaches those thresholds far less often.
    bench_psql -c 'VACUUM ANALYZE' || broken "VACUUM before the paced run failed"
    say "bench: $tag: wrk paced at $target req/s"
    lookups0=$(lookups_snap)
    bench_wrk "$tag-${pct}pct" "$pace_c" "$BENCH_SECONDS" "$url" "$target" || return 0
    if ((pct == 80)); then p99s+=("$W_P99"); fi
    note_other
    printf '   %-9s %9s %s %s   %s   <- paced at %s req/s (%s %% of %s), %s conns, %s staff lookups per statement\n' \
      "$pct%" "$W_RPS" "$(fmt_ms "$W_P50")" "$(fmt_ms "$W_P99")" "$(cpu_cols "$W_RPS")" "$target" "$pct" "$peak" "$pace_c" \
      "$(lookups_per "$lookups0" "$(lookups_snap)")"
    if ((W_RPS < target * 95 / 100)); then
      echo "   note: the paced run reached only $W_RPS of $target req/s; its latency is that of a lower load"
    fi
  done
  p99_80=$(printf '%s\n' "${p99s[@]}" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')

  # The host's speed drifts (seen: the same build's peak 2,650 and 3,250 req/s
  # within an hour). The peak measured again after the paced rows says
  # whether they ran on the machine the peak was measured on.
  say "bench: $tag: wrk, $peak_c connections again"
  bench_psql -c 'VACUUM ANALYZE' || broken "VACUUM before the second peak run failed"
  bench_wrk "$tag-c$peak_c-again" "$peak_c" "$BENCH_SECONDS" "$url" || return 0
  note_other
  printf '   %-9s %9s %s %s   %s   <- peak again, after the paced rows\n' "$peak_c" "$W_RPS" "$(fmt_ms "$W_P50")" "$(fmt_ms "$W_P99")" "$(cpu_cols "$W_RPS")"
  if ((W_RPS * 10 < peak * 9 || W_RPS * 10 > peak * 11)); then
    echo "   note: the peak moved by more than 10 % ($peak, then $W_RPS req/s): the host's speed changed during this run, and the paced rows were not at the share of peak they name"
  fi

  local ratio="n/a" ratio_verdict="no pgbench SQL"
  if [ -n "$script" ]; then
    local pg_peak=0
    echo "   pgbench (same SQL, -M prepared, countersign_app, 1 thread, ${BENCH_SECONDS} s per row)"
    printf '   %-9s %9s %10s %10s %10s   %6s %6s %7s %7s   %s\n' clients tps mean p50 p99 '' pg load machine 'api/pgbench'
    for c in $BENCH_CONNECTIONS; do
      say "bench: $tag: pgbench, $c clients"
      bench_pgbench "$tag-c$c" "$c" "$BENCH_SECONDS" "$script" "${pg_vars[@]}" || return 0
      printf '   %-9s %9s %s %s %s   %6s %6s %6s%% %6s%%   %s\n' "$c" "$P_TPS" "$(fmt_ms "$P_MEAN")" "$(fmt_ms "$P_P50")" "$(fmt_ms "$P_P99")" \
        '' "$(bench_us_per "$CPU_PG" "$P_TPS")" "$CPU_OTHER" "$CPU_MACHINE" "$(awk -v a="${rps[$c]}" -v b="$P_TPS" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')"
      if ((P_TPS > pg_peak)); then pg_peak=$P_TPS; fi
    done
    ratio=$(awk -v a="$peak" -v b="$pg_peak" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
    ratio_verdict=$(verdict "$ratio" ">=" 0.5)
    echo "   ratio API/pgbench = peak $peak req/s / peak $pg_peak tps = $ratio      target >= 0.5: $ratio_verdict"
  else
    echo "   pgbench: skipped — scripts/bench.d/sync.sql is still a placeholder"
  fi
  local p99_verdict
  p99_verdict=$(verdict "$p99_80" "<" 10)
  echo "   p99 at 80 % of peak = $p99_80 ms (median of ${#p99s[@]} runs: ${p99s[*]})      target < 10 ms: $p99_verdict"
  summary+=("$(printf '%-9s peak %5s req/s @ %-3s conns   p99@80%% %6s ms (%s)   API/pgbench %4s (%s)' \
    "$tag" "$peak" "$peak_c" "$p99_80" "$p99_verdict" "$ratio" "$ratio_verdict")")
}

echo "scripts/bench server — $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "seed: $BENCH_ORGS generated orgs; caller: $BENCH_USER ($tok_sub), all-org scope; release server; loopback"
echo "pgbench transaction = one request: staff lookup; BEGIN, scope, page, COMMIT;"
echo "  audit append as of the hash-chained log (BEGIN, lock chain head, INSERT, UPDATE head, COMMIT)"

# ---------- invoices ----------
inv_url="$COUNTERSIGN_API_URL/v1/orgs/$org_id/invoices?limit=50"
# A benchmark of error pages would be fast and meaningless: check one response.
code=$(curl -s -o "$bench_logs/invoices-probe.json" -w '%{http_code}' -H "Authorization: Bearer $token" "$inv_url")
if [ "$code" != 200 ]; then
  broken "GET invoices answered $code: $(head -c 300 "$bench_logs/invoices-probe.json")"
  bench_exit
fi
items=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["items"]))' "$bench_logs/invoices-probe.json")
bench_pgbench_script "$bench_logs/invoices.pgbench.sql" "$bench_lib_dir/invoices.sql" ":org_id" 'GET /v1/orgs/{org_id}/invoices' "'org'" ":org_id"
run_endpoint invoices "GET /v1/orgs/{id}/invoices?limit=50   (org $org_id: $org_invoices invoices, $items per page)" \
  "$inv_url" "$bench_logs/invoices.pgbench.sql"

# ---------- sync ----------
sync_url="$COUNTERSIGN_API_URL/v1/sync?limit=200"
token=$(bench_token "$BENCH_USER")
code=$(curl -s -o "$bench_logs/sync-probe.json" -w '%{http_code}' -H "Authorization: Bearer $token" "$sync_url")
case "$code" in
  404)
    echo
    echo "== GET /v1/sync?limit=200"
    echo "   sync: endpoint not available yet"
    summary+=("sync      endpoint not available yet")
    ;;
  200)
    changes=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["changes"]))' "$bench_logs/sync-probe.json")
    sync_script=""
    if bench_sql_has_statements "$BENCH_SYNC_SQL"; then
      sync_script=$bench_logs/sync.pgbench.sql
      bench_pgbench_script "$sync_script" "$BENCH_SYNC_SQL" NULL 'GET /v1/sync' NULL NULL
    fi
    run_endpoint sync "GET /v1/sync?limit=200   (first page: $changes changes)" "$sync_url" "$sync_script"
    ;;
  *)
    broken "GET /v1/sync answered $code: $(head -c 300 "$bench_logs/sync-probe.json")"
    ;;
esac

echo
echo "== summary ($(($(date +%s) - started)) s)"
for line in "${summary[@]}"; do echo "   $line"; done
# wrk needs well under half a core here; more "other" load is someone else's
# work, and then server and Postgres had less CPU than the machine has.
if ((max_other > 50)); then
  echo "   note: up to ${max_other} % of a core went to other work during API runs (see \"load\"): shared-machine figures"
fi
bench_exit
