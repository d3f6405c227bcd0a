# shellcheck shell=bash
# scripts/bench client — the encrypted cache against plaintext SQLite in the
# same run (issue 6, point 9), with the real OS keyring.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
exec scripts/with-keyring cargo bench -q -p countersign-client --bench client
