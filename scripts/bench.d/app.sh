# shellcheck shell=bash
# scripts/bench app — issue 22, point 5: the release desktop app beside a
# hello-world Tauri window (bench/hello-tauri) built in the same run with the
# same toolchain, release profile, Tauri version and npm CLI:
#   - cold start: process spawn → the first frame showing the home screen
#     (signed in, ~100,000 records cached, the saved session resumed), measured
#     in the page; the hello-world: spawn → its page's first frame. Median of
#     APP_BENCH_RUNS, alternating, both launched through WebKitWebDriver;
#   - memory: PSS of the process and its WebKit processes, settled, after the
#     first sync of ~100,000 records (and after each restart);
#   - the release .deb sizes.
# Targets: cold start ≤ 1.0 s and ≤ 2× the hello-world; memory ≤ 1.5× the
# hello-world. A missed target still exits 0 (scripts/bench).
#   env: APP_BENCH_ORGS (generated orgs, default 1400: ~100k records for sam),
#        APP_BENCH_USER (default sam), APP_BENCH_RUNS (default 5),
#        APP_BENCH_SETTLE_MS (wait before reading memory, default 5000)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
# shellcheck source=scripts/bench.d/lib.sh
. "$root/scripts/bench.d/lib.sh"
orgs=${APP_BENCH_ORGS:-1400}
user=${APP_BENCH_USER:-sam}
bench_need_tools

bench_stack_up "$orgs"

say "bench: building the release app (.deb; UI + Rust)"
nice -n 5 scripts/bundle-deb --release >"$bench_logs/bundle.log" 2>&1 || { cat "$bench_logs/bundle.log" >&2; exit 1; }
app_deb=$(tail -1 "$bench_logs/bundle.log")
app_bin=$root/target/release/countersign-desktop

# The hello-world is built from a copy under target/: the root's Cargo.lock
# (cargo keeps the versions of what it uses, so tauri, wry and WebKitGTK's
# bindings are the app's) and the root's release profile, if it has one.
say "bench: building the hello-world Tauri window (release, .deb)"
hello=$root/target/hello-tauri
mkdir -p "$hello"
cp -a "$root/bench/hello-tauri/." "$hello/"  # mtimes kept: an unchanged source rebuilds nothing
cp "$root/Cargo.lock" "$hello/Cargo.lock"
awk '/^\[/ {p = ($0 ~ /^\[profile\.release[].]/)} p' "$root/Cargo.toml" >"$hello/profile.toml"
if [ -s "$hello/profile.toml" ]; then printf '\n' | cat - "$hello/profile.toml" >>"$hello/Cargo.toml"; fi
rm -rf "$hello/target/release/bundle"
if ! (cd "$hello" && nice -n 5 "$root/ui/node_modules/.bin/tauri" build --bundles deb --ci) >"$bench_logs/hello-build.log" 2>&1; then
  cat "$bench_logs/hello-build.log" >&2
  exit 1
fi
hello_deb=$(ls "$hello"/target/release/bundle/deb/*.deb)
hello_bin=$hello/target/release/hello-tauri
tauri_app=$(awk '/^name = "tauri"$/ {getline; print $3}' "$root/Cargo.lock" | tr -d '"')
tauri_hello=$(awk '/^name = "tauri"$/ {getline; print $3}' "$hello/Cargo.lock" | tr -d '"')
[ "$tauri_app" = "$tauri_hello" ] || { broken "tauri $tauri_app in the app, $tauri_hello in the hello-world"; bench_exit; }

# Launchers: the wall clock (µs) and the pid just before the binary starts.
for t in app hello; do
  bin_var=${t}_bin
  cat >"$bench_logs/launch-$t" <<EOF
#!/bin/bash
echo "\$EPOCHREALTIME \$\$" >"$bench_logs/spawn-$t"
exec "${!bin_var}" "\$@"
EOF
  chmod +x "$bench_logs/launch-$t"
done

# A fresh profile: the user's home, config and data (cache, session.toml).
profile=$(mktemp -d /tmp/countersign-bench-app.XXXXXX)
export HOME=$profile XDG_CONFIG_HOME=$profile/config XDG_DATA_HOME=$profile/data XDG_CACHE_HOME=$profile/cache
export TAURI_WEBVIEW_AUTOMATION=true BROWSER=$root/dev/idp/browser.js
export COUNTERSIGN_E2E_USER=$user COUNTERSIGN_E2E_BROWSER_LOG=$bench_logs/browser.log
export APP_BENCH_APP_LAUNCHER=$bench_logs/launch-app APP_BENCH_APP_STAMP=$bench_logs/spawn-app
export APP_BENCH_HELLO_LAUNCHER=$bench_logs/launch-hello APP_BENCH_HELLO_STAMP=$bench_logs/spawn-hello
say "bench: $user signs in through the window and syncs; then cold starts of both windows, alternating"
if ! scripts/with-keyring xvfb-run -a -s "-screen 0 1280x800x24" node "$root/scripts/bench.d/app.mjs" "$bench_logs/app.json" >"$bench_logs/run.out" 2>"$bench_logs/run.log"; then
  cat "$bench_logs/run.log" >&2
  broken "the window runs failed"
  bench_exit
fi
grep '^app:' "$bench_logs/run.log" >&2 || true
rm -rf "$profile"

node - "$bench_logs/app.json" "$app_deb" "$hello_deb" "$app_bin" "$hello_bin" "$tauri_app" <<'JS'
const fs = require('fs');
const [file, appDeb, helloDeb, appBin, helloBin, tauri] = process.argv.slice(2);
const r = JSON.parse(fs.readFileSync(file));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const of = (t, k) => r.runs.filter((x) => x.target === t).map((x) => x[k]);
const range = (xs) => `${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)}`;
const mib = (kb) => (kb / 1024).toFixed(1);
const mb = (f) => (fs.statSync(f).size / 1e6).toFixed(2);
const verdict = (ok) => (ok ? 'met' : 'MISSED');
const n = of('app', 'cold_ms').length;
const appCold = median(of('app', 'cold_ms')), helloCold = median(of('hello', 'cold_ms'));
console.log(`app: release builds, tauri ${tauri}, ${r.after_sync.records} records cached; ${n} cold starts of each (median, range)`);
console.log(`  cold start, spawn → first frame of the screen (WebKitWebDriver launches both)`);
console.log(`    app (home, session resumed)   ${appCold.toFixed(0)} ms   (${range(of('app', 'cold_ms'))})`);
console.log(`    hello-world                   ${helloCold.toFixed(0)} ms   (${range(of('hello', 'cold_ms'))})`);
console.log(`    ratio ${(appCold / helloCold).toFixed(2)}×   target ≤ 1.0 s: ${verdict(appCold <= 1000)}   target ≤ 2× hello-world: ${verdict(appCold <= 2 * helloCold)}`);
console.log(`    (spawn → WebDriver session: app ${median(of('app', 'session_ms')).toFixed(0)} ms, hello ${median(of('hello', 'session_ms')).toFixed(0)} ms; home in the DOM ${median(of('app', 'seen_ms')).toFixed(0)} ms)`);
const procs = (ps) => ps.map((p) => `${p.name} ${mib(p.pss_kb)}`).join(' + ');
const last = (t) => r.runs.filter((x) => x.target === t).at(-1);
const appMem = r.after_sync.pss_kb, helloMem = median(of('hello', 'pss_kb'));
console.log(`  memory, PSS of the process and its WebKit processes, ${r.settle_ms / 1000} s after the screen`);
console.log(`    app after the first sync      ${mib(appMem)} MiB   (${procs(r.after_sync.procs)})`);
console.log(`    app after a restart           ${mib(median(of('app', 'pss_kb')))} MiB   (last: ${procs(last('app').procs)})`);
console.log(`    hello-world                   ${mib(helloMem)} MiB   (last: ${procs(last('hello').procs)})`);
console.log(`    ratio after the sync ${(appMem / helloMem).toFixed(2)}×, after a restart ${(median(of('app', 'pss_kb')) / helloMem).toFixed(2)}×   target ≤ 1.5×: ${verdict(appMem <= 1.5 * helloMem)}`);
console.log(`  release .deb: app ${mb(appDeb)} MB, hello-world ${mb(helloDeb)} MB (${(fs.statSync(appDeb).size / fs.statSync(helloDeb).size).toFixed(2)}×); binaries ${mb(appBin)} MB and ${mb(helloBin)} MB`);
JS
bench_exit
