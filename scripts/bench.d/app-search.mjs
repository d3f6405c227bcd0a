// The window half of `scripts/bench app-search` (issue 18, point 11); run by
// app-search.sh inside Xvfb and a private D-Bus session with the keyring.
//
// Signs the user in through the real window (the scripted $BROWSER), waits for
// the first sync, opens Ctrl+K and, for each query, types all but its last
// character, waits for those results, then sends the last key through
// WebDriver. The page stamps performance.now() at that keydown (a capturing
// listener) and again in the first animation frame after the palette's list
// says it shows this query's own results (data-results-for): keystroke →
// IPC → Rust search → React render → the frame that paints it.
//
//   node scripts/bench.d/app-search.mjs QUERIES.json OUT.json
// env: COUNTERSIGN_APP_BIN, COUNTERSIGN_API_URL, COUNTERSIGN_E2E_USER, HOME/XDG_* (the profile)
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session, startDriver } from '../../tests/e2e/webdriver.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const [queriesFile, outFile] = process.argv.slice(2);
const queries = JSON.parse(readFileSync(queriesFile, 'utf8'));
const CTRL = '\uE009';
const BACKSPACE = '\uE003';
const log = (m) => process.stderr.write(`app-search: ${m}\n`);

const driver = await startDriver(process.env);
const session = await Session.start(driver.base, process.env.COUNTERSIGN_APP_BIN);
try {
  const t0 = Date.now();
  await session.click('[data-testid=sign-in-0]', { timeout: 30_000 });
  await session.find('[data-testid=home]', { timeout: 600_000 });
  log(`signed in and first sync done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  // The palette marks each search command's start and end (User Timing), so
  // the figure splits into: keydown → invoke (React schedules the query),
  // invoke → answer (IPC + Rust), answer → painted.
  await session.exec(`
    window.__bench = { down: 0, echo: null, trace: ${process.env.APP_SEARCH_TRACE === '1'}, pings: [], frames: [] };
    // APP_SEARCH_TRACE=1: where the main thread goes between keydown and the
    // results — a message-loop heartbeat (a gap is the thread busy) and every
    // animation frame. Off by default: the heartbeat costs the page a little.
    const beat = new MessageChannel();
    beat.port1.onmessage = () => { const b = window.__bench; if (b.tracing) { b.pings.push(performance.now()); beat.port2.postMessage(0); } };
    const frame = (t, id) => { const b = window.__bench; if (b.tracing && b.loop === id) { b.frames.push(performance.now()); requestAnimationFrame((t) => frame(t, id)); } };
    // The baseline in the same window and run: keydown → the next frame,
    // which shows the typed character (the fastest any keystroke can answer).
    window.addEventListener('keydown', () => {
      const down = performance.now(), b = window.__bench;
      b.down = down;
      b.echo = null;
      requestAnimationFrame(() => { b.echo = performance.now() - down; });
      if (b.trace) { b.pings = []; b.frames = []; b.tracing = true; b.loop = (b.loop ?? 0) + 1; const id = b.loop; beat.port2.postMessage(0); requestAnimationFrame((t) => frame(t, id)); }
    }, true);
  `);
  await session.keys([CTRL, 'k']);
  const input = await session.find('[data-testid=search-input]');
  const typeInto = (text) => session.cmd('POST', `/element/${input}/value`, { text });
  // Resolves with ms from the last keydown to the first frame showing `term`'s results.
  const rendered = `
    const [term, done] = arguments;
    const list = () => document.querySelector('[data-slot=command-list]');
    const check = () => {
      if (list()?.dataset.resultsFor !== term) return false;
      requestAnimationFrame(() => {
        const now = performance.now(), b = window.__bench;
        const mark = (k) => performance.getEntriesByName('search:' + k + ':' + term).filter((e) => e.startTime >= b.down).at(-1);
        const call = mark('start') && mark('end') ? { start: mark('start').startTime, end: mark('end').startTime } : null;
        b.tracing = false;
        const busy = [b.down, ...b.pings, now].map((t, i, a) => (i ? t - a[i - 1] : 0)).filter((g) => g > 4).map((g) => Math.round(g));
        const frames = b.frames.map((t) => Math.round(t - b.down));
        done({ ms: now - b.down, echo: b.echo, ...(b.trace ? { busy, frames } : {}), hits: document.querySelectorAll('[data-testid=search-result]').length,
               toInvoke: call ? call.start - b.down : null, invoke: call ? call.end - call.start : null, toPaint: call ? now - call.end : null });
      });
      return true;
    };
    if (!check()) {
      const mo = new MutationObserver(() => { if (check()) mo.disconnect(); });
      mo.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-results-for'] });
    }`;
  const waitFor = (term) => session.execAsync(rendered, [term]);

  const run = async (q) => {
    await session.keys([CTRL, 'a']);
    await session.keys([BACKSPACE]);
    const prefix = q.slice(0, -1);
    if (prefix.trim()) {
      await typeInto(prefix);
      await waitFor(prefix.trim());
    }
    const pending = typeInto(q.slice(-1));
    await pending;
    return waitFor(q.trim());
  };

  // Warm-up: the first searches pay for code paths and caches being cold.
  for (const q of queries.slice(0, 10)) await run(q);
  // How the window paints when nobody types: animation frames in 2 s with the
  // palette open on a result list, and the longest gap between two.
  const idle = await session.execAsync(`
    const done = arguments[0], times = [];
    const tick = (t) => { times.push(t); if (t - times[0] < 2000) requestAnimationFrame(tick); else done(times); };
    requestAnimationFrame(tick);`);
  const gaps = idle.slice(1).map((t, i) => t - idle[i]);
  const running = await session.exec('return document.getAnimations().filter((a) => a.playState === "running").map((a) => a.animationName || a.constructor.name)');
  log(`idle: ${idle.length - 1} frames in 2 s, longest gap ${Math.max(...gaps).toFixed(0)} ms; animations running: ${running.length ? running.join(', ') : 'none'}`);
  // APP_SEARCH_VARIANTS="name=css||name=css": before the timed run, each
  // stylesheet is tried on the same window over the first 60 queries (what
  // a style costs the keystroke), and reported on stderr.
  for (const v of (process.env.APP_SEARCH_VARIANTS ?? '').split('||').filter(Boolean)) {
    const [name, css] = [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)];
    await session.exec('let s = document.getElementById("bench-variant"); if (!s) { s = document.createElement("style"); s.id = "bench-variant"; document.head.appendChild(s); } s.textContent = arguments[0];', [css]);
    const xs = [];
    for (const q of queries.slice(0, 60)) xs.push(await run(q));
    const pct = (a, p) => a.sort((x, y) => x - y)[Math.ceil(a.length * p) - 1];
    const busy = xs.map((x) => (x.busy ?? []).reduce((a, b) => a + b, 0));
    log(`variant ${name}: p50 ${pct(xs.map((x) => x.ms), 0.5).toFixed(0)} ms  p95 ${pct(xs.map((x) => x.ms), 0.95).toFixed(0)} ms  busy p50 ${pct(busy, 0.5)} ms`);
  }
  await session.exec('document.getElementById("bench-variant")?.remove()');
  const samples = [];
  for (const q of queries) samples.push({ q, ...(await run(q)) });
  writeFileSync(join(root, 'target/app-search.png'), await session.screenshot());
  writeFileSync(outFile, JSON.stringify(samples));
  log(`${samples.length} queries timed`);
} finally {
  await session.quit().catch(() => {});
  await driver.stop();
}
