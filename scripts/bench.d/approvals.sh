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
BENCH_SERVER_PID=$bench_server_pid BENCH_PG_PID=$bench_pg_pid BENCH_SECONDS=$BENCH_SECONDS "$root/$driver" || broken "the approvals driver reported a failure"
bench_exit
