# shellcheck shell=bash
# Shared by the suites in scripts/bench.d (sourced; expects $root). Progress
# goes to stderr, figures to stdout, raw tool output to $bench_logs (kept
# after the run, so a surprising figure can be looked into).

BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-"1 4 16 64"}
bench_lib_dir=$root/scripts/bench.d
# A private stack: a benchmark must not load (or be disturbed by) someone's
# .stack, and it wants its own seed size.
bench_stack_dir=$root/.stack-bench
bench_logs=${BENCH_LOG_DIR:-$(mktemp -d /tmp/countersign-bench.XXXXXX)}
mkdir -p "$bench_logs"
bench_broken=0
clk_tck=$(getconf CLK_TCK)

bench_t0=$(date +%s)
say() { printf '[+%3ds] %s\n' "$(($(date +%s) - bench_t0))" "$*" >&2; }
# Something that makes the figures meaningless (error responses, failed
# queries): reported, and the run exits non-zero at the end.
broken() {
  say "bench: BROKEN: $*"
  bench_broken=1
}
bench_exit() {
  say "bench: raw output in $bench_logs"
  exit "$bench_broken"
}

bench_need_tools() {
  # wrk is not in scripts/setup (yet); install it like setup would.
  if ! command -v wrk >/dev/null; then
    say "bench: installing wrk"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null
  fi
  local t
  for t in pgbench psql node curl python3 awk; do
    command -v "$t" >/dev/null || { say "bench: $t is missing (scripts/setup installs it)"; exit 1; }
  done
}

# ---------- the stack ----------

bench_stack_down() {
  COUNTERSIGN_STACK_DIR=$bench_stack_dir "$root/scripts/stack" down >/dev/null 2>&1 || true
}

# Brings up the private stack seeded with $1 generated orgs, then replaces its
# debug server with a release build: a debug server measures the compiler's
# debug codegen, not our request path. Leaves the stack's env in this shell.
bench_stack_up() {
  local orgs=$1 i
  # One benchmark at a time per checkout: a second run would tear down the
  # first one's stack, and two runs sharing two cores measure nothing. The
  # lock's fd is closed for everything started below, so that a server or
  # Postgres outliving this shell does not keep it.
  exec {bench_lock_fd}>"/tmp/countersign-bench-$(printf %s "$root" | md5sum | cut -c1-12).lock"
  if ! flock -n "$bench_lock_fd"; then
    say "bench: another scripts/bench run is using ${bench_stack_dir#"$root"/}; try again when it is done"
    rmdir "$bench_logs" 2>/dev/null || true
    exit 1
  fi
  # Leftovers of an interrupted run carry that run's audit rows; start clean.
  bench_stack_down
  trap 'bench_stack_down' EXIT
  say "bench: building the release server"
  (cd "$root" && cargo build -q --release -p countersign-server --bin countersign-server)
  say "bench: starting the stack in ${bench_stack_dir#"$root"/} with $orgs generated orgs"
  if ! COUNTERSIGN_STACK_DIR=$bench_stack_dir COUNTERSIGN_SEED_ORGS=$orgs "$root/scripts/stack" up >"$bench_logs/stack-up.log" 2>&1 {bench_lock_fd}>&-; then
    cat "$bench_logs/stack-up.log" >&2
    exit 1
  fi
  # shellcheck disable=SC1091
  . "$bench_stack_dir/env"

  # `scripts/stack down` stops whatever server.pid names, so the release
  # server takes over that file.
  local old
  old=$(cat "$bench_stack_dir/server.pid")
  kill "$old"
  for ((i = 0; i < 100; i++)); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$old" 2>/dev/null; then say "bench: the debug server did not stop"; exit 1; fi
  bench_server_bin=$root/target/release/countersign-server
  bench_server_start

  # pgbench connects like the server does: TCP loopback, as countersign_app.
  bench_pg_port=$(sed -E 's|.*:([0-9]+)/.*|\1|' <<<"$COUNTERSIGN_DATABASE_URL")
  bench_pg_pid=$(head -1 "$PGDATA_DIR/postmaster.pid")
  say "bench: stack up, release server ready"
}

# Starts the release server (the environment's extra variables apply) and
# waits until it is ready; it takes over server.pid for `scripts/stack down`.
bench_server_start() {
  nohup "$bench_server_bin" serve >>"$bench_stack_dir/server.log" 2>&1 {bench_lock_fd}>&- &
  echo $! >"$bench_stack_dir/server.pid"
  bench_server_pid=$!
  for ((i = 0; i < 300; i++)); do
    curl -fsS -o /dev/null "$COUNTERSIGN_API_URL/readyz" 2>/dev/null && break
    kill -0 "$bench_server_pid" 2>/dev/null || { say "bench: the release server exited; see $bench_stack_dir/server.log"; exit 1; }
    sleep 0.1
  done
  curl -fsS -o /dev/null "$COUNTERSIGN_API_URL/readyz" || { say "bench: the release server is not ready"; exit 1; }
}

# Stops the release server (SIGTERM: it drains) and starts it again.
bench_server_restart() {
  kill "$bench_server_pid"
  for ((i = 0; i < 150; i++)); do kill -0 "$bench_server_pid" 2>/dev/null || break; sleep 0.1; done
  bench_server_start
}

bench_psql() { psql "$COUNTERSIGN_DATABASE_URL" -v ON_ERROR_STOP=1 -qAtX "$@"; }

# A fresh access token per load run: tokens live 600 s, and a run that
# outlives its token measures 401s.
bench_token() { node "$root/dev/idp/token.js" "$1"; }

# ---------- where the CPU goes ----------

# "<seconds> <server ticks> <postgres ticks> <busy ticks> <all ticks>".
# Postgres = postmaster + live backends + backends already reaped (cutime),
# so pgbench's short-lived backends are counted too. Busy = the whole
# machine (includes the load tool and anyone else's work).
bench_cpu_snap() {
  local now pg_pids
  now=$(date +%s.%N)
  pg_pids=$(pgrep -P "$bench_pg_pid" | tr '\n' ' ' || true)
  local srv pg
  srv=$(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$bench_server_pid/stat" 2>/dev/null || echo 0)
  # shellcheck disable=SC2086
  pg=$(cd /proc && cat "$bench_pg_pid/stat" $(printf '%s/stat ' $pg_pids) 2>/dev/null | awk '{sub(/^.*\) /, ""); t += $12 + $13 + $14 + $15} END {print t + 0}' || true)
  awk -v now="$now" -v srv="$srv" -v pg="$pg" '/^cpu / {all = 0; for (i = 2; i <= NF; i++) all += $i; print now, srv, pg, all - $5 - $6, all; exit}' /proc/stat
}
# Percent of one core between two snaps (so up to 100 x cores): sets
# CPU_SRV CPU_PG CPU_OTHER. "Other" is the load tool plus whatever else the
# machine is doing; when it is high, the figures are a shared machine's.
# CPU_MACHINE is the whole machine's busy time in percent of all its cores:
# how close to saturation a run was, whatever its request rate.
bench_cpu_diff() {
  read -r CPU_SRV CPU_PG CPU_OTHER CPU_MACHINE < <(awk -v hz="$clk_tck" -v cores="$(nproc)" -v a="$1" -v b="$2" 'BEGIN {
    split(a, x, " "); split(b, y, " "); s = (y[1] - x[1]) * hz
    srv = (y[2] - x[2]) / s * 100; pg = (y[3] - x[3]) / s * 100; busy = (y[4] - x[4]) / s * 100
    other = busy - srv - pg; if (other < 0) other = 0
    printf "%.0f %.0f %.0f %.0f\n", srv, pg, other, busy / cores }')
}

# ---------- load tools ----------

# bench_wrk <tag> <connections> <seconds> <url> [rate req/s, 0 = flat out]
# Sets W_RPS W_P50 W_P99 (ms) and CPU_*. One wrk thread: on this 2-core
# machine a thread is far faster than the server, and every core wrk takes
# is taken from the server and Postgres.
bench_wrk() {
  local tag=$1 conns=$2 secs=$3 url=$4 rate=${5:-0} out token a b line
  out=$bench_logs/wrk-$tag.txt
  token=$(bench_token "$BENCH_USER") || { broken "no token for $BENCH_USER"; return 1; }
  a=$(bench_cpu_snap)
  if ! BENCH_TOKEN=$token BENCH_RATE=$rate wrk -t1 -c"$conns" -d"${secs}s" --timeout 5s --latency \
    -s "$bench_lib_dir/wrk.lua" "$url" >"$out" 2>&1; then
    broken "wrk failed ($out)"
    return 1
  fi
  b=$(bench_cpu_snap)
  bench_cpu_diff "$a" "$b"
  line=$(grep '^BENCH ' "$out") || { broken "wrk printed no figures ($out)"; return 1; }
  local requests duration_us p50_us p99_us non2xx sockerr
  read -r _ requests duration_us p50_us p99_us non2xx sockerr <<<"$line"
  if ((non2xx > 0 || sockerr > 0)); then
    broken "$tag: $non2xx error responses, $sockerr socket errors ($out)"
  fi
  W_RPS=$(awk -v r="$requests" -v d="$duration_us" 'BEGIN {printf "%.0f", r / (d / 1e6)}')
  W_P50=$(awk -v v="$p50_us" 'BEGIN {printf "%.2f", v / 1000}')
  W_P99=$(awk -v v="$p99_us" 'BEGIN {printf "%.2f", v / 1000}')
}

# bench_pgbench <tag> <clients> <seconds> <script> [-D var=value ...]
# Sets P_TPS P_MEAN P_P50 P_P99 (ms) and CPU_*. -M prepared because sqlx
# prepares every statement; one pgbench thread, like wrk.
bench_pgbench() {
  local tag=$1 clients=$2 secs=$3 script=$4 out a b failed
  shift 4
  out=$bench_logs/pgbench-$tag.txt
  rm -f "$bench_logs/pgbench-$tag.log".*
  a=$(bench_cpu_snap)
  if ! pgbench -n -M prepared -c "$clients" -j 1 -T "$secs" -f "$script" -l --log-prefix="$bench_logs/pgbench-$tag.log" \
    -h 127.0.0.1 -p "$bench_pg_port" -U countersign_app "$@" countersign >"$out" 2>&1; then
    broken "pgbench failed ($out)"
    return 1
  fi
  b=$(bench_cpu_snap)
  bench_cpu_diff "$a" "$b"
  failed=$(sed -nE 's/^number of failed transactions: ([0-9]+).*/\1/p' "$out")
  if [ "${failed:-0}" != 0 ]; then broken "$tag: $failed failed transactions ($out)"; fi
  P_TPS=$(sed -nE 's/^tps = ([0-9.]+).*/\1/p' "$out" | head -1)
  P_TPS=$(awk -v v="${P_TPS:-0}" 'BEGIN {printf "%.0f", v}')
  P_MEAN=$(sed -nE 's/^latency average = ([0-9.]+) ms.*/\1/p' "$out")
  P_MEAN=$(awk -v v="${P_MEAN:-0}" 'BEGIN {printf "%.2f", v}')
  # pgbench prints only the mean; its per-transaction log (3rd field = µs) gives the rest.
  read -r P_P50 P_P99 < <(cat "$bench_logs/pgbench-$tag.log".* | awk '{print $3}' | sort -n | awk '
    {v[NR] = $1} END {
      if (NR == 0) {print "0 0"; exit}
      i50 = int(NR * 0.50); if (i50 < 1) i50 = 1; i99 = int(NR * 0.99 + 0.999); if (i99 > NR) i99 = NR
      printf "%.2f %.2f\n", v[i50] / 1000, v[i99] / 1000 }')
  rm -f "$bench_logs/pgbench-$tag.log".*
}

# One pgbench transaction = one API request: staff lookup, the endpoint's
# SQL, the audit append (with what the handler records filled in).
# bench_pgbench_script <out> <endpoint sql> <org_id expr> <action> <target_type expr> <target_id expr>
bench_pgbench_script() {
  local out=$1 body=$2 org=$3 action=$4 ttype=$5 tid=$6
  {
    cat "$bench_lib_dir/staff.sql"
    cat "$body"
    sed -e "s|@ORG_ID@|$org|" -e "s|@ACTION@|'$action'|" -e "s|@TARGET_TYPE@|$ttype|" -e "s|@TARGET_ID@|$tid|" "$bench_lib_dir/audit.sql"
  } >"$out"
}

# True when a pgbench script file has a statement (not only comments/blank lines).
# One grep: piped into `grep -q`, which exits at its first match, the first
# grep dies of SIGPIPE on a long file and pipefail turns that into false.
bench_sql_has_statements() { grep -qvE '^[[:space:]]*(--.*)?$' "$1"; }

# CPU microseconds per request from a CPU % (of one core) and a rate.
bench_us_per() { awk -v pct="$1" -v rate="$2" 'BEGIN {printf "%.0f", (rate > 0 ? pct / 100 * 1e6 / rate : 0)}'; }
