// The window half of `scripts/bench app` (issue 22, point 5); run by app.sh
// inside Xvfb and a private D-Bus session with the keyring.
//
// Both windows are launched by WebKitWebDriver (the only way to read a figure
// out of the page afterwards), each through a launcher that stamps the wall
// clock and its pid just before it execs the binary. The page stamps
// performance.timeOrigin + performance.now() in the task after the first frame
// that shows the screen (requestAnimationFrame, then setTimeout 0):
//   - the app: the frame after [data-testid=home] enters the DOM, seen by a
//     MutationObserver the bench installs as soon as the session exists (if
//     home is already there by then, the sample is refused, not guessed);
//   - the hello-world: its page stamps its own first frame (paint.js).
// Cold start = that stamp − the launcher's stamp. Memory = PSS
// (/proc/<pid>/smaps_rollup) of the launched process and every descendant
// (WebKitWebProcess, WebKitNetworkProcess, …) once the screen has settled.
//
// First the app signs in through the scripted browser and syncs (its memory
// after that sync is one figure), then RUNS cold starts of each, alternating
// (one unrecorded warm-up of each first): the app resumes the saved session.
//
//   node scripts/bench.d/app.mjs OUT.json
// env: APP_BENCH_APP_LAUNCHER / _APP_STAMP, APP_BENCH_HELLO_LAUNCHER / _HELLO_STAMP,
//      APP_BENCH_RUNS (default 5), APP_BENCH_SETTLE_MS (default 5000),
//      COUNTERSIGN_API_URL, COUNTERSIGN_E2E_USER, HOME/XDG_* (the profile)
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session, startDriver } from '../../tests/e2e/webdriver.js';

const [outFile] = process.argv.slice(2);
const runs = Number(process.env.APP_BENCH_RUNS ?? 5);
const settleMs = Number(process.env.APP_BENCH_SETTLE_MS ?? 5000);
const log = (m) => process.stderr.write(`app: ${m}\n`);
const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

const app = { name: 'app', launcher: process.env.APP_BENCH_APP_LAUNCHER, stamp: process.env.APP_BENCH_APP_STAMP };
const hello = { name: 'hello', launcher: process.env.APP_BENCH_HELLO_LAUNCHER, stamp: process.env.APP_BENCH_HELLO_STAMP };

// In the page: resolves with the wall-clock ms just after the first frame showing home.
app.paintedScript = `
  const done = arguments[0];
  const now = () => performance.timeOrigin + performance.now();
  const info = (extra) => ({ ...extra, skew: Date.now() - now(),
    fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null,
    dcl: performance.getEntriesByType('navigation')[0]?.domContentLoadedEventEnd ?? null });
  const home = () => document.querySelector('[data-testid=home]');
  const other = () => document.querySelector('[data-testid=sign-in-0], [data-testid=server-url]');
  if (home()) { done(info({ late: true, seen: now() })); return; }
  const seen = () => {
    if (home()) {
      mo.disconnect();
      const at = now();
      requestAnimationFrame(() => setTimeout(() => done(info({ painted: now(), seen: at })), 0));
    } else if (other()) {
      mo.disconnect();
      done(info({ error: 'the app did not resume its session: ' + document.body.innerText.slice(0, 200) }));
    }
  };
  const mo = new MutationObserver(seen);
  mo.observe(document, { subtree: true, childList: true });`;
// APP_BENCH_TRACE=1: where the app's start goes, per run (stderr): each command
// the page invokes (from the bench's first look on), the page's main thread
// busy for ≥ 30 ms at a stretch (a heartbeat's gaps), the frames, and the
// page's own resources; times in ms since the page's navigation start.
if (process.env.APP_BENCH_TRACE) {
  app.paintedScript = `
    const t = (window.__benchTrace = { invokes: [], busy: [], frames: [], at: performance.now(), origin: performance.timeOrigin });
    const inner = window.__TAURI_INTERNALS__.invoke;
    window.__TAURI_INTERNALS__.invoke = (cmd, ...rest) => {
      const e = { cmd, start: performance.now() };
      t.invokes.push(e);
      const p = inner(cmd, ...rest);
      p.finally(() => { e.end = performance.now(); }).catch(() => {});
      return p;
    };
    let last = performance.now();
    const beat = () => { const now = performance.now(); if (now - last >= 30) t.busy.push([last, now]); last = now; if (!t.stop) setTimeout(beat, 0); };
    beat();
    const frame = (ts) => { t.frames.push(ts); if (!t.stop) requestAnimationFrame(frame); };
    requestAnimationFrame(frame);
    const done0 = arguments[0];
    const finish = (r) => { t.stop = true;
      t.resources = performance.getEntriesByType('resource').map((e) => [e.name.split('/').pop(), e.startTime, e.responseEnd]);
      done0({ ...r, trace: t }); };
    ` + app.paintedScript.replace('const done = arguments[0];', 'const done = finish;');
}
hello.paintedScript = `
  const done = arguments[0];
  const now = () => performance.timeOrigin + performance.now();
  const check = () => {
    if (!window.__benchPainted) { setTimeout(check, 10); return; }
    done({ painted: window.__benchPainted, skew: Date.now() - now(),
      fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null,
      dcl: performance.getEntriesByType('navigation')[0]?.domContentLoadedEventEnd ?? null });
  };
  check();`;

/** PSS (kB) of `pid` and all its descendants, by process name. */
function pssTree(pid) {
  const parent = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch { /* gone */ }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i += 1) for (const [p, pp] of parent) if (pp === tree[i]) tree.push(p);
  const procs = [];
  for (const p of tree) {
    try {
      const kb = Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'))[1]);
      const rss = Number(/^Rss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'))[1]);
      procs.push({ pid: p, name: readFileSync(`/proc/${p}/comm`, 'utf8').trim(), pss_kb: kb, rss_kb: rss });
    } catch { /* gone */ }
  }
  return { pss_kb: procs.reduce((a, p) => a + p.pss_kb, 0), procs };
}

function instanceNameOwned() {
  const out = execFileSync('dbus-send', ['--session', '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus',
    'org.freedesktop.DBus.NameHasOwner', 'string:com.countersign.desktop.SingleInstance']).toString();
  return out.includes('boolean true');
}

const alive = (pid) => existsSync(`/proc/${pid}`) && !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));

/** Ends the session and waits until the process (and the app's single-instance name) are gone. */
async function stop(session, pid) {
  await session.quit().catch(() => {});
  for (let i = 0; i < 150 && alive(pid); i += 1) await sleep(100);
  if (alive(pid)) { log(`pid ${pid} outlived its WebDriver session: SIGTERM`); process.kill(pid, 'SIGTERM'); }
  for (let i = 0; i < 50 && alive(pid); i += 1) await sleep(100);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 150 && instanceNameOwned(); i += 1) await sleep(100);
}

/** Starts `target` through WebDriver; returns the session, its pid and the spawn time (ms). */
async function launch(target) {
  rmSync(target.stamp, { force: true });
  const posted = Date.now();
  const session = await Session.start(driver.base, target.launcher);
  const started = Date.now();
  const [at, pid] = readFileSync(target.stamp, 'utf8').trim().split(' ');
  await session.cmd('POST', '/timeouts', { script: 600_000 });
  return { session, pid: Number(pid), spawned: Number(at) * 1000, posted, started };
}

async function syncIdle(session) {
  for (let i = 0; i < 1200; i += 1) {
    const s = await session.execAsync(`const done = arguments[0];
      window.__TAURI_INTERNALS__.invoke('sync_status').then(done, (e) => done({ error: String(e?.message ?? e) }));`);
    if (s.error) throw new Error(`sync_status: ${s.error}`);
    if (!s.syncing) return s;
    await sleep(250);
  }
  throw new Error('the sync did not end within 5 minutes');
}

/** One cold start of `target`: spawn → first frame of its screen; then settled memory. */
async function coldStart(target) {
  const { session, pid, spawned, posted, started } = await launch(target);
  try {
    const page = await session.execAsync(target.paintedScript);
    if (page.error) throw new Error(page.error);
    if (page.late) throw new Error(`home was already on screen when the bench looked (${(page.seen - spawned).toFixed(0)} ms after spawn)`);
    if (page.trace) {
      const f = (x) => (x === undefined ? '…' : x.toFixed(0));
      const tr = page.trace;
      log(`trace ${target.name}: looked at ${f(tr.at)}, dcl ${f(page.dcl)}, fcp ${f(page.fcp)}, home seen ${f(page.seen - tr.origin)}, painted ${f(page.painted - tr.origin)}; page origin ${f(tr.origin - spawned)} after spawn`);
      log(`  invokes: ${tr.invokes.map((e) => `${e.cmd} ${f(e.start)}→${f(e.end)}`).join(', ')}`);
      log(`  busy ≥30 ms: ${tr.busy.map(([a, b]) => `${f(a)}-${f(b)}`).join(', ')}`);
      log(`  frames: ${tr.frames.slice(0, 40).map(f).join(' ')}`);
      log(`  resources: ${tr.resources.map(([n, a, b]) => `${n} ${f(a)}→${f(b)}`).join(', ')}`);
    }
    let records = null;
    if (target === app) records = (await syncIdle(session)).records;
    await sleep(settleMs);
    const mem = pssTree(pid);
    return {
      cold_ms: page.painted - spawned,
      seen_ms: page.seen ? page.seen - spawned : null,
      from_post_ms: page.painted - posted,
      session_ms: started - spawned,
      fcp_ms: page.fcp,
      dcl_ms: page.dcl,
      skew_ms: page.skew,
      records,
      ...mem,
    };
  } finally {
    await stop(session, pid);
  }
}

const driver = await startDriver(process.env);
const out = { runs: [], settle_ms: settleMs };
try {
  // The first start: sign-in through the scripted browser and the first sync of ~100k records.
  {
    const { session, pid } = await launch(app);
    try {
      const t0 = Date.now();
      await session.click('[data-testid=sign-in-0]', { timeout: 30_000 });
      await session.find('[data-testid=home]', { timeout: 600_000 });
      const status = await syncIdle(session);
      out.first_sync_s = (Date.now() - t0) / 1000;
      log(`signed in and synced ${status.records} records in ${out.first_sync_s.toFixed(1)} s`);
      await sleep(settleMs);
      out.after_sync = { records: status.records, ...pssTree(pid) };
      log(`after the sync: PSS ${(out.after_sync.pss_kb / 1024).toFixed(1)} MiB (${out.after_sync.procs.map((p) => `${p.name} ${(p.pss_kb / 1024).toFixed(1)}`).join(', ')})`);
    } finally {
      await stop(session, pid);
    }
  }
  // Warm-up (the binaries and WebKit into the page cache), then alternating runs.
  for (const target of [hello, app]) {
    const r = await coldStart(target);
    log(`warm-up ${target.name}: ${r.cold_ms.toFixed(0)} ms`);
  }
  for (let i = 0; i < runs; i += 1) {
    for (const target of [hello, app]) {
      const r = await coldStart(target);
      out.runs.push({ target: target.name, ...r });
      log(`run ${i + 1} ${target.name}: cold start ${r.cold_ms.toFixed(0)} ms (WebDriver session after ${r.session_ms.toFixed(0)} ms), PSS ${(r.pss_kb / 1024).toFixed(1)} MiB`);
    }
  }
} finally {
  await driver.stop();
}
writeFileSync(outFile, JSON.stringify(out, null, 1));
