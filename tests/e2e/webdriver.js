// The few W3C WebDriver commands the end-to-end test needs, spoken directly
// to WebKitWebDriver (DESIGN.md: tauri-driver's proxy drops sessions here).
import { spawn } from 'node:child_process';
import net from 'node:net';

export async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

const keyringWrapper = new URL('../../scripts/with-keyring', import.meta.url).pathname;

/**
 * Starts WebKitWebDriver with `env` (which the app it launches inherits). With `ownBus`, inside
 * a D-Bus session and keyring of its own (scripts/with-keyring): a second user's app on the
 * same display, as on a colleague's computer (the single-instance plugin and the keyring are
 * per session bus).
 */
export async function startDriver(env, { ownBus = false } = {}) {
  const port = await freePort();
  const [cmd, args] = ownBus ? [keyringWrapper, ['WebKitWebDriver', `--port=${port}`]] : ['WebKitWebDriver', [`--port=${port}`]];
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: ownBus });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i += 1) {
    try {
      const r = await fetch(`${base}/status`);
      if (r.ok) {
        const exited = new Promise((done) => { child.once('exit', done); });
        // With its own bus, the whole group goes (the wrapper, the bus, the keyring, the driver).
        const kill = () => (ownBus ? process.kill(-child.pid, 'SIGTERM') : child.kill('SIGTERM'));
        return { base, child, get output() { return output; }, stop: async () => { if (child.exitCode === null && child.signalCode === null) { kill(); await exited; } } };
      }
    } catch { /* not up yet */ }
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`WebKitWebDriver did not start: ${output}`);
}

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

export class Session {
  constructor(base, id) { this.base = base; this.id = id; }

  /** Launches the app binary in a new session. */
  static async start(base, binary) {
    const r = await call(base, 'POST', '/session', { capabilities: { alwaysMatch: { 'webkitgtk:browserOptions': { binary, args: [] } } } });
    return new Session(base, r.sessionId);
  }

  cmd(method, path, body) { return call(this.base, method, `/session/${this.id}${path}`, body); }

  async quit() { await this.cmd('DELETE', ''); }

  /** Runs `script` in the page (`arguments` as in WebDriver); returns its value. */
  exec(script, args = []) { return this.cmd('POST', '/execute/sync', { script, args }); }

  execAsync(script, args = []) { return this.cmd('POST', '/execute/async', { script, args }); }

  async find(css, { timeout = 15_000 } = {}) {
    const deadline = Date.now() + timeout;
    for (;;) {
      try {
        const el = await this.cmd('POST', '/element', { using: 'css selector', value: css });
        return el[ELEMENT];
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`no element ${css} within ${timeout} ms: ${e.message}`);
      }
      await sleep(100);
    }
  }

  async findAll(css) {
    const els = await this.cmd('POST', '/elements', { using: 'css selector', value: css });
    return els.map((e) => e[ELEMENT]);
  }

  /** Waits until `predicate` (a page script returning a truthy value) holds. */
  async until(what, script, args = [], timeout = 20_000) {
    const deadline = Date.now() + timeout;
    for (;;) {
      const v = await this.exec(script, args).catch(() => null);
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(100);
    }
  }

  /**
   * Waits (at most 2 s) until no finite animation runs: a sheet or dialog still sliding in
   * moves its buttons, and a click at the old place would land on a neighbour.
   */
  async settled() {
    await this.until('animations to finish', `return document.getAnimations().every((a) =>
      a.playState !== 'running' || a.effect?.getComputedTiming().endTime === Infinity)`, [], 2_000).catch(() => {});
  }

  /** Clicks like a person: waits while the element is still animating in or covered. */
  async click(css, { timeout = 10_000 } = {}) {
    const deadline = Date.now() + timeout;
    for (;;) {
      await this.settled();
      const el = await this.find(css);
      try {
        // WebKitWebDriver scrolls only the page, not a scrolled pane inside it.
        await this.exec('arguments[0].scrollIntoView({ block: "center" })', [{ [ELEMENT]: el }]);
        await this.cmd('POST', `/element/${el}/click`, {});
        return;
      } catch (e) {
        if (!/not interactable|click intercepted|stale/.test(e.message) || Date.now() > deadline) throw new Error(`click ${css}: ${e.message}`);
      }
      await sleep(200);
    }
  }

  /** Clicks `css` until `then` appears (a control still sliding in can miss a click, as a person's would). */
  async clickUntil(css, then, { tries = 5 } = {}) {
    for (let i = 1; ; i += 1) {
      await this.click(css);
      try {
        return await this.find(then, { timeout: 2_000 });
      } catch (e) {
        if (i >= tries) throw e;
      }
    }
  }

  async type(css, text) { const el = await this.find(css); await this.cmd('POST', `/element/${el}/value`, { text }); }

  async text(css) { const el = await this.find(css); return this.cmd('GET', `/element/${el}/text`); }

  /** Key presses to the focused element (e.g. Ctrl+K: keys(['\uE009', 'k'])). */
  async keys(chord) {
    const down = chord.map((value) => ({ type: 'keyDown', value }));
    const up = [...chord].reverse().map((value) => ({ type: 'keyUp', value }));
    await this.cmd('POST', '/actions', { actions: [{ type: 'key', id: 'keyboard', actions: [...down, ...up] }] });
    await this.cmd('DELETE', '/actions');
  }

  /**
   * A PNG of the window. WebKitGTK answers a screenshot after the page's next
   * paint, and without accelerated compositing (the app turns it off, see
   * src-tauri/src/lib.rs) an idle page — no caret blinking, nothing moving —
   * does not paint again: the request would wait forever. So a pixel in the
   * corner changes, nearly transparent, for the next second, then goes.
   */
  async screenshot() {
    await this.exec(`
      const dot = document.createElement('div');
      dot.style.cssText = 'position:fixed;left:0;top:0;width:1px;height:1px;opacity:0.02;pointer-events:none;z-index:2147483647';
      document.documentElement.appendChild(dot);
      let n = 0;
      const tick = () => { dot.style.background = n % 2 ? '#000' : '#fff'; if (++n < 60) requestAnimationFrame(tick); else dot.remove(); };
      requestAnimationFrame(tick);`);
    return Buffer.from(await this.cmd('GET', '/screenshot'), 'base64');
  }
}

async function call(base, method, path, body) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    // A launch that never connects (e.g. handed over to a running instance) fails, not hangs.
    signal: AbortSignal.timeout(60_000),
  }).catch((e) => { throw new Error(`${method} ${path}: ${e.message}`); });
  const json = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${json.value?.error ?? ''} ${json.value?.message ?? ''}`);
  return json.value;
}
